"""``python run.py``: bring the database up to date, load the notice into an empty
database (and the demo accounts in demo mode; a restart keeps administrators' edits),
start the notifier's Celery worker and beat beside the web server, then serve the back
office on http://127.0.0.1:5000.

On the embedded defaults the worker's broker needs no server (kombu's filesystem
transport under ``instance/celery``). ``RUN_WORKER=0`` serves the web only, for a
deployment that runs workers and beat as processes of their own (see the README).
"""

import atexit
import os
import signal
import subprocess
import sys

from flask_migrate import upgrade

from app import create_app
from app.seeding import seed_on_start


def start_worker(app):
    """``celery worker --beat`` as a child process, on the notifier's and the reports'
    queues with a few threads; stopped when this one ends."""
    from app.celery_app import worker_argv

    command = [sys.executable, "-m", "celery", *worker_argv(app.config)]
    log_path = os.path.join(app.config["CELERY_BROKER_DIR"], "worker.log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 (open for the life of the child)
    worker = subprocess.Popen(command, cwd=os.path.dirname(os.path.abspath(__file__)),  # noqa: S603
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    print(f"Notifier: Celery worker and beat started (pid {worker.pid}, log {log_path}).", flush=True)

    def stop():
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        log.close()

    atexit.register(stop)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return worker


def main():
    app = create_app()
    with app.app_context():
        upgrade()
        seed_on_start(demo=app.config["DEMO_MODE"])
    if os.environ.get("RUN_WORKER", "1") != "0":
        start_worker(app)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    app.run(host=host, port=port, debug=False, threaded=True)


if __name__ == "__main__":
    main()
