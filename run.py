"""``python run.py``: bring the database up to date, load the notice into an empty
database (and the demo accounts in demo mode; a restart keeps administrators' edits),
start the notifier's Celery worker (with beat) and the reports' worker beside the web
server, each started again if it dies, then serve the back office on
http://127.0.0.1:5000.

On the embedded defaults the worker's broker needs no server (kombu's filesystem
transport under ``instance/celery``). ``RUN_WORKER=0`` serves the web only, for a
deployment that runs workers and beat as processes of their own (see the README).
"""

import atexit
import os
import signal
import sys

from flask_migrate import upgrade

from app import create_app
from app.seeding import seed_on_start


def start_workers(app):
    """The notifier's worker (with beat) and the reports' worker as child processes,
    each started again if it dies (``app.embedded``), stopped when this one ends."""
    from app.celery_app import embedded_workers
    from app.embedded import Supervised

    folder = app.config["CELERY_BROKER_DIR"]
    env = dict(os.environ, RUN_PY_PID=str(os.getpid()))  # a worker ends itself when run.py is gone
    workers = [
        Supervised(f"{name} worker", [sys.executable, "-m", "celery", *argv], os.path.join(folder, f"{name}.log"),
                   cwd=os.path.dirname(os.path.abspath(__file__)), env=env, say=lambda text: print(text, flush=True)).start()
        for name, argv in embedded_workers(app.config)
    ]

    def stop():
        for worker in workers:  # all told at once, then waited for: their warm shutdowns overlap
            worker.terminate()
        for worker in workers:
            worker.wait()

    atexit.register(stop)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return workers


def main():
    app = create_app()
    with app.app_context():
        upgrade()
        seed_on_start(demo=app.config["DEMO_MODE"])
    if os.environ.get("RUN_WORKER", "1") != "0":
        start_workers(app)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    app.run(host=host, port=port, debug=False, threaded=True)


if __name__ == "__main__":
    main()
