"""Time from a transaction's commit to the delivery of its notifications, in-app and
by webhook to a local receiver, with one real Celery worker; then deliveries per
second with that worker.

    .venv/bin/python benchmarks/notify_latency.py --broker redis://127.0.0.1:6379/0
    .venv/bin/python benchmarks/notify_latency.py --broker embedded

Each event is a supervisor's urging of one task of 人社 (one transaction), which writes
an in-app row for the clerk ``rs`` and a webhook row for the department. Events are
committed at ``--rate`` per second; latency is the in-app row's ``sent_at`` (in-app)
or the receiver's clock (webhook) minus the time the commit returned. Then the
worker's throughput is measured on a backlog of ``--burst`` events' rows handed to it
at once, as the sweep does; the worker's own sweep is off (``NOTIFY_SWEEP_SECONDS``
very large) so that it does not deliver rows of the backlog while it is being written,
and only rows claimed after the hand-over are counted. The worker is the one run.py
starts (both queues, a threads pool). The database is a fresh SQLite file in a
temporary directory unless ``--database`` names an empty one (it is migrated and seeded).
"""

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.celery_app import worker_argv  # noqa: E402
from app.domain import chain  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Department, DepartmentUser, Notification, Region  # noqa: E402
from app.notify import outbox  # noqa: E402
from app.seeding import seed_all  # noqa: E402
from tests.factories import make_case  # noqa: E402
from tests.notify_support import Receiver, Worker, wait_for  # noqa: E402

SECRET = "benchmark-webhook-secret-0123456789"  # noqa: S105 (a local receiver's)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def epoch(naive_utc):
    return naive_utc.replace(tzinfo=datetime.UTC).timestamp()


def summary(name, latencies):
    ms = [x * 1000 for x in latencies]
    print(f"  {name:8s} n={len(ms)}  median {statistics.median(ms):7.1f} ms   p95 {percentile(ms, 95):7.1f} ms   "
          f"max {max(ms):7.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", default="embedded", help="redis://… / amqp://… or 'embedded' (filesystem)")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="events committed per second")
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="notify-bench-")
    url = args.database or "sqlite:///" + os.path.join(tmp, "bench.sqlite")
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    broker = "" if args.broker == "embedded" else args.broker
    # No sweep during the run: every delivery is the one its commit (or the burst) queued.
    settings = {"DATABASE_URL": url, "INSTANCE_DIR": tmp, "CELERY_BROKER_URL": broker, "CELERY_QUEUE": queue,
                "CELERY_BROKER_DIR": os.path.join(tmp, "celery"), "NOTIFY_SWEEP_SECONDS": "86400"}
    os.environ.update(settings)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CELERY_BROKER_URL": broker, "CELERY_QUEUE": queue,
                      "CELERY_BROKER_DIR": settings["CELERY_BROKER_DIR"], "MATERIALS_DIR": os.path.join(tmp, "m")})
    receiver = Receiver(SECRET)
    with app.app_context():
        upgrade()
        seed_all(demo=True)
        rs = db.session.query(Department).join(Region).filter(Region.code == "361125", Department.code == "RS").one()
        rs.webhook_url, rs.webhook_secret = receiver.url, SECRET
        db.session.commit()
        case = make_case("window", ["pension_enterprise"], name="基准测试")
        task_id = next(t.id for t in case.tasks if t.item.code == "RS02")
        supervisor_id = db.session.query(DepartmentUser.id).filter_by(username="supervisor").scalar()
        db.session.remove()

    worker = Worker(dict(os.environ, PYTHONPATH=ROOT), os.path.join(tmp, "worker.log")).start()
    print(f"broker: {args.broker}  database: {url.split('@')[-1]}  worker: 1 process, "
          f"{' '.join(a for a in worker_argv(settings) if a.startswith('--'))}")
    try:
        with app.app_context():
            from app.models import Task

            def urge(n):
                task = db.session.get(Task, task_id)
                chain.urge_task(db.session, task, db.session.get(DepartmentUser, supervisor_id), f"督办 {n}")
                db.session.commit()
                return time.time()

            # Latency at a steady rate.
            first_id = (db.session.query(db.func.max(Notification.id)).scalar() or 0)
            db.session.rollback()
            committed = []
            start = time.time()
            for n in range(args.events):
                delay = start + n / args.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                committed.append(urge(n))
            expected = 2 * args.events

            def delivered():
                count = db.session.query(Notification).filter(Notification.id > first_id,
                                                              Notification.status == "sent").count()
                db.session.rollback()
                return count >= expected

            wait_for(delivered, timeout=120, message="every delivery")
            rows = db.session.query(Notification).filter(Notification.id > first_id).order_by(Notification.id).all()
            in_app, webhook = [], []
            # Each urging wrote its rows in order: in-app for rs, then the webhook.
            occurrence = {}
            for row in rows:
                occurrence.setdefault(row.key.split(":")[2], []).append(row)
            for n, (_occ, group) in enumerate(sorted(occurrence.items(), key=lambda kv: kv[1][0].id)):
                for row in group:
                    if row.channel == "in_app":
                        in_app.append(epoch(row.sent_at) - committed[n])
                    elif row.channel == "webhook":
                        call = next(c for c in receiver.calls if c["key"] == row.key)
                        webhook.append(call["at"] - committed[n])
            db.session.rollback()
            print(f"latency, commit → delivery, {args.events} events at {args.rate:g}/s:")
            summary("in-app", in_app)
            summary("webhook", webhook)

            # Throughput: a backlog of rows handed to the worker at once (as the sweep does).
            first_id = rows[-1].id
            app.config["NOTIFY_DISPATCH"] = False
            for n in range(args.burst):
                urge(n)
            app.config["NOTIFY_DISPATCH"] = True
            rows = db.session.query(Notification.id, Notification.channel).filter(Notification.id > first_id).all()
            db.session.rollback()
            expected = len(rows)
            burst_start = time.time()
            for chunk in range(0, len(rows), 50):
                outbox.dispatch(rows[chunk:chunk + 50])
            wait_for(delivered, timeout=600, message="the backlog")
            backlog = db.session.query(Notification.claimed_at, Notification.sent_at).filter(
                Notification.id > first_id).all()
            db.session.rollback()
            # Only what the worker claimed after the hand-over counts.
            counted = [sent for claimed, sent in backlog if epoch(claimed) >= burst_start]
            early = expected - len(counted)
            span = epoch(max(counted)) - burst_start
            print(f"backlog: {len(counted)} deliveries ({args.burst} events) done in {span:.2f} s: "
                  f"{len(counted) / span:.0f} deliveries/s with one worker"
                  + (f" ({early} claimed before the hand-over, not counted)" if early else ""))
    finally:
        worker.stop()
        receiver.close()


if __name__ == "__main__":
    main()
