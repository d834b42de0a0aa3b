"""Celery bound to the Flask app: every task runs in an application context.

On the embedded defaults (no ``CELERY_BROKER_URL``) the broker is kombu's filesystem
transport under ``instance/celery``: no server, polled every ``CELERY_POLL_SECONDS``.
Setting ``CELERY_BROKER_URL`` to Redis or RabbitMQ moves to that broker, nothing else.
No result backend: the outbox rows themselves say what was delivered.

Two queues: ``CELERY_QUEUE`` for the notifier (deliveries, sweeps, the daily scans)
and ``CELERY_REPORT_QUEUE`` for generating reports, so that a long PDF never stands
in front of a department's notification.
"""

import os
import time
import uuid
from datetime import timedelta

from celery import Celery, Task
from celery.schedules import crontab
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps


def _hour_minute(text, name):
    try:
        hour, minute = (int(part) for part in text.split(":"))
    except ValueError:
        raise ValueError(f"{name} must be HH:MM, not {text!r}") from None
    return hour, minute


# Routed by name (app/report_jobs.py queues it with ``send_task``).
REPORT_TASK = "app.report_jobs.generate"
# Threads of the embedded notifier worker: a slow webhook or e-mail takes one of them
# while the others go on delivering (SQLite waits on its busy timeout for the lock).
EMBEDDED_THREADS = 4
# Threads of the embedded reports worker: a second report asked meanwhile is not kept
# waiting behind a long one; more would only share the same CPU.
EMBEDDED_REPORT_THREADS = 2


def report_queue(config):
    return config.get("CELERY_REPORT_QUEUE") or f"{config['CELERY_QUEUE']}-reports"


def worker_argv(config, beat=True, queues=None, threads=EMBEDDED_THREADS, name=None):
    """``celery -A app.worker …`` for a worker with a few threads, on ``queues`` (both
    queues unless told), with beat in it unless ``beat`` is False."""
    queues = queues or [config["CELERY_QUEUE"], report_queue(config)]
    argv = ["-A", "app.worker", "worker", "--pool=threads", f"--concurrency={threads}",
            "-Q", ",".join(queues), "--without-gossip", "--without-mingle", "--loglevel=INFO"]
    if name:
        argv += ["-n", f"{name}@%h"]
    if beat:
        argv.insert(3, "--beat")
    return argv


def embedded_workers(config):
    """What ``run.py`` starts beside the web server, as (name, argv): the notifier's
    worker with beat in it, and the reports' worker on its own queue, so that however
    many reports are being generated, notifications never wait for a free thread."""
    return [
        ("notifier", worker_argv(config, queues=[config["CELERY_QUEUE"]], name="notifier")),
        ("reports", worker_argv(config, beat=False, queues=[report_queue(config)], threads=EMBEDDED_REPORT_THREADS,
                                name="reports")),
    ]


class FilesystemChannel(filesystem.Channel):
    """kombu's filesystem channel, except that a message is written under a temporary
    name and renamed into the queue (atomic): kombu writes the queue's file in place,
    and a worker that polls at that moment reads it empty and stops for good
    ("Unrecoverable error: JSONDecodeError"), as the benchmark showed."""

    def _put(self, queue, payload, **kwargs):
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        temporary = os.path.join(self.data_folder_out, f".{uuid.uuid4()}.tmp")  # not a queue's name
        try:
            with open(temporary, "wb") as f:
                f.write(dumps(payload).encode())
            os.replace(temporary, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add {name!r} to the queue folder") from exc


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel


def broker_settings(config):
    url = config.get("CELERY_BROKER_URL") or ""
    if url:
        return {"broker_url": url}
    folder = config["CELERY_BROKER_DIR"]
    queue_dir = os.path.join(folder, "queue")
    processed = os.path.join(folder, "processed")
    control = os.path.join(folder, "control")
    for path in (queue_dir, processed, control):
        os.makedirs(path, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport": f"{__name__}:FilesystemTransport",
        "broker_transport_options": {
            "data_folder_in": queue_dir,
            "data_folder_out": queue_dir,
            "processed_folder": processed,
            "control_folder": control,
            "store_processed": False,
            "polling_interval": config["CELERY_POLL_SECONDS"],
        },
        # The filesystem transport has no fan-out exchange for remote control.
        "worker_enable_remote_control": False,
    }


def celery_settings(config):
    os.makedirs(config["CELERY_BROKER_DIR"], exist_ok=True)  # beat's schedule file lives there
    scan_hour, scan_minute = _hour_minute(config["NOTIFY_SCAN_TIME"], "NOTIFY_SCAN_TIME")
    digest_hour, digest_minute = _hour_minute(config["NOTIFY_DIGEST_TIME"], "NOTIFY_DIGEST_TIME")
    queue = config["CELERY_QUEUE"]
    settings = {
        "task_default_queue": queue,
        "task_routes": {REPORT_TASK: {"queue": report_queue(config)}},
        "task_ignore_result": True,
        # A delivery is acknowledged when done, so a worker that dies mid-way leaves it
        # to be taken again; the outbox row's claim keeps two workers from both sending.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 4,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2,
        "timezone": config["BUSINESS_TIMEZONE"],
        "enable_utc": True,
        "beat_schedule_filename": os.path.join(config["CELERY_BROKER_DIR"], "beat-schedule"),
        "beat_schedule": {
            "notify-sweep": {
                "task": "app.notify.tasks.sweep",
                "schedule": timedelta(seconds=config["NOTIFY_SWEEP_SECONDS"]),
                "options": {"queue": queue, "expires": max(config["NOTIFY_SWEEP_SECONDS"], 1)},
            },
            "report-jobs-sweep": {
                "task": "app.report_jobs.sweep",
                "schedule": timedelta(seconds=config["NOTIFY_SWEEP_SECONDS"]),
                "options": {"queue": queue, "expires": max(config["NOTIFY_SWEEP_SECONDS"], 1)},
            },
            "notify-deadline-scan": {
                "task": "app.notify.tasks.scan_deadlines",
                "schedule": crontab(hour=scan_hour, minute=scan_minute),
                "options": {"queue": queue},
            },
            "notify-daily-digest": {
                "task": "app.notify.tasks.daily_digest",
                "schedule": crontab(hour=digest_hour, minute=digest_minute),
                "options": {"queue": queue},
            },
        },
    }
    settings.update(broker_settings(config))
    return settings


def celery_init_app(flask_app):
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(flask_app.name, task_cls=FlaskTask)
    celery.conf.update(celery_settings(flask_app.config))
    celery.set_default()
    flask_app.extensions["celery"] = celery
    import app.notify.tasks  # noqa: F401  (registers the tasks)
    import app.report_jobs  # noqa: F401

    return celery
