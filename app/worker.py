"""The Celery entry point: ``celery -A app.worker worker --beat``.

Started by ``run.py`` (``RUN_PY_PID`` set to its pid), a worker ends itself when run.py
is gone, however it went: killed with SIGKILL, run.py has no chance to stop its
children, and a worker left behind would go on sending beside the next run.py's.
"""

import os
import signal
import threading
import time

from app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]

PARENT_CHECK_SECONDS = 1.0


def _end_with(parent_pid):
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)  # a warm shutdown: what the worker holds is finished


if os.environ.get("RUN_PY_PID", "").isdigit() and os.getppid() == int(os.environ["RUN_PY_PID"]):
    threading.Thread(target=_end_with, args=(int(os.environ["RUN_PY_PID"]),), name="end-with-run.py",
                     daemon=True).start()
