"""The notifier's Celery settings: the beat schedule's times come from configuration
(China Standard Time), reports have a queue of their own, and run.py starts a worker
for each queue (beat in the notifier's), with a few threads each."""

import datetime
import os
import subprocess
import sys

import pytest
from celery import Celery

from app import report_jobs
from app.celery_app import celery_settings, embedded_workers, report_queue, worker_argv
from tests.notify_support import ROOT

UTC = datetime.UTC


def celery_of(app, **changes):
    """A Celery app on these settings (not made the process's default)."""
    celery = Celery("settings-test")
    celery.conf.update(celery_settings(dict(app.config, **changes)))
    return celery


def schedule_of(celery, name):
    schedule = celery.conf.beat_schedule[name]["schedule"]
    schedule.app = celery  # as beat binds it
    return schedule


def due_at(schedule, now, last_run):
    schedule.nowfun = lambda: now
    return schedule.is_due(last_run).is_due


def test_the_daily_scan_and_digest_run_at_the_configured_times_in_china_standard_time(app):
    celery = celery_of(app, NOTIFY_SCAN_TIME="07:45", NOTIFY_DIGEST_TIME="18:05")
    scan, digest = schedule_of(celery, "notify-deadline-scan"), schedule_of(celery, "notify-daily-digest")
    assert (scan.hour, scan.minute) == ({7}, {45})
    assert (digest.hour, digest.minute) == ({18}, {5})
    assert str(scan.tz) == "Asia/Shanghai" and celery.conf.timezone == "Asia/Shanghai"
    # Last run at 20:00 CST on 6 December: the next scan is at 07:45 CST on the 7th, 23:45 UTC on the 6th.
    evening = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert not due_at(scan, datetime.datetime(2026, 12, 6, 23, 44, tzinfo=UTC), evening)
    assert due_at(scan, datetime.datetime(2026, 12, 6, 23, 46, tzinfo=UTC), evening)
    # Last run at 08:00 CST on the 7th: the digest is next due at 18:05 CST, 10:05 UTC.
    morning = datetime.datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    assert not due_at(digest, datetime.datetime(2026, 12, 7, 10, 4, tzinfo=UTC), morning)
    assert due_at(digest, datetime.datetime(2026, 12, 7, 10, 6, tzinfo=UTC), morning)


def test_the_sweep_runs_every_configured_number_of_seconds(app):
    celery = celery_of(app, NOTIFY_SWEEP_SECONDS=7)
    assert celery.conf.beat_schedule["notify-sweep"]["schedule"].total_seconds() == 7


def test_a_schedule_time_that_is_not_hh_mm_is_refused_with_its_name(app):
    with pytest.raises(ValueError, match="NOTIFY_SCAN_TIME must be HH:MM"):
        celery_settings(dict(app.config, NOTIFY_SCAN_TIME="half past eight"))


def test_the_schedule_times_are_read_from_the_environment():
    env = dict(os.environ, NOTIFY_SCAN_TIME="06:10", NOTIFY_DIGEST_TIME="17:30", CELERY_REPORT_QUEUE="pdfs")
    printed = subprocess.run([sys.executable, "-c", "import config; print(config.NOTIFY_SCAN_TIME, "  # noqa: S603
                              "config.NOTIFY_DIGEST_TIME, config.CELERY_REPORT_QUEUE)"],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert printed == ["06:10", "17:30", "pdfs"]


def test_reports_are_generated_on_a_queue_of_their_own(app):
    celery = celery_of(app, CELERY_QUEUE="hengfeng", CELERY_REPORT_QUEUE="")
    route = celery.amqp.router.route({}, report_jobs.TASK_NAME)
    assert route["queue"].name == "hengfeng-reports"
    assert celery.amqp.router.route({}, "app.notify.tasks.deliver")["queue"].name == "hengfeng"
    assert report_queue(dict(app.config, CELERY_QUEUE="hengfeng", CELERY_REPORT_QUEUE="pdf")) == "pdf"


def test_run_py_starts_a_notifier_worker_with_beat_and_a_reports_worker_with_threads(app):
    config = dict(app.config, CELERY_QUEUE="hengfeng", CELERY_REPORT_QUEUE="")
    (notifier_name, notifier), (reports_name, reports) = embedded_workers(config)
    assert (notifier_name, reports_name) == ("notifier", "reports")
    assert notifier[notifier.index("-Q") + 1] == "hengfeng"  # no report ever takes a notifier's thread
    assert reports[reports.index("-Q") + 1] == "hengfeng-reports"
    assert "--beat" in notifier and "--beat" not in reports  # beat: exactly one
    for argv in (notifier, reports):
        assert "--pool=threads" in argv
        concurrency = int(next(a for a in argv if a.startswith("--concurrency=")).split("=")[1])
        assert concurrency >= 2  # a slow send (or report) takes one thread; the others go on
    assert notifier[notifier.index("-n") + 1] != reports[reports.index("-n") + 1]
    # The tests' own workers (and a one-worker deployment) serve both queues.
    assert worker_argv(config)[worker_argv(config).index("-Q") + 1] == "hengfeng,hengfeng-reports"
    assert "--beat" not in worker_argv(app.config, beat=False)


def test_the_embedded_broker_never_shows_a_worker_a_half_written_message(app, tmp_path, monkeypatch):
    """kombu's own filesystem channel creates the queue's file and then writes it; a
    worker polling in between read it empty and stopped. Ours renames a finished file in."""
    from kombu import Connection
    from kombu.transport import filesystem

    from app import celery_app

    settings = celery_settings(dict(app.config, CELERY_BROKER_URL="", CELERY_BROKER_DIR=str(tmp_path)))
    assert settings["broker_transport"] == "app.celery_app:FilesystemTransport"
    folder = settings["broker_transport_options"]["data_folder_in"]
    seen_while_writing = []
    real_dumps = celery_app.dumps

    def dumps_and_look(payload):  # called while the message is being written
        seen_while_writing.extend(os.listdir(folder))
        return real_dumps(payload)

    monkeypatch.setattr(celery_app, "dumps", dumps_and_look)
    monkeypatch.setattr(filesystem, "dumps", dumps_and_look)  # kombu's own channel, were it used
    with Connection(settings["broker_url"], transport=settings["broker_transport"],
                    transport_options=settings["broker_transport_options"]) as connection:
        assert isinstance(connection.transport, celery_app.FilesystemTransport)
        channel = connection.channel()
        channel._put("lianban", {"body": "hello"})
        assert not [name for name in seen_while_writing if name.endswith(".lianban.msg")]
        assert [name for name in os.listdir(folder) if name.endswith(".lianban.msg")]
        assert channel._get("lianban") == {"body": "hello"}
