"""Time the managers' figures and reports against an existing database.

Uses the normal configuration (``DATABASE_URL``); fill a PostgreSQL database first, e.g.
a month of 30,000 cases on top of two years of 70,000::

    createdb bench30 && export FLASK_APP=app:create_app DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench30
    .venv/bin/flask db upgrade && .venv/bin/flask seed all
    .venv/bin/flask seed synthetic --cases 70000 && .venv/bin/flask seed synthetic --cases 30000 --months 1 --seed 7
    .venv/bin/python benchmarks/monthly_report.py --region 361100 --celery

(``--months 1`` spreads the 30,000 over the month up to today: pass ``--from``/``--to``
for those 30 days if the last calendar month holds only part of them; the case count
printed first says which.)

For a region (``--region``, default 上饶市 361100, both demo counties) and a period
(``--month YYYY-MM`` or ``--from``/``--to``, default the last calendar month, CST: "the
monthly report") it prints the database kind and the number of cases registered in the
period (with a warning when the database is not PostgreSQL, which the targets are for),
then times, ``--runs`` times each, as the city supervisor sees them (``--user``):

- the dashboard's figures (``compute_statistics``: this period and the previous one);
- the dashboard page over HTTP (signed in, figures and rendering);
- the statistics report PDF (figures and rendering);
- the overdue supervision list's figures (and with ``--overdue-pdf`` its PDF once: it
  grows with the backlog, some 7 ms a task);
- the background job (``--celery``, once): ``report_jobs.run``, what the Celery worker
  executes for a queued statistics PDF (the figures in one snapshot, progress written
  beside, the file stored in ``report_job``), called in this process: the broker's
  hand-over (about 2 ms on Redis, up to 1 s on the embedded transport's polling) is
  not included. The job row it creates is deleted afterwards;

and prints the median and 95th percentile in milliseconds against the targets
(figures under 1 s, the PDF under 5 s).
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import func, select  # noqa: E402

from app import create_app, report_jobs, reporting  # noqa: E402
from app.domain.clock import today_cst  # noqa: E402
from app.domain.statistics import Period, compute_statistics, overdue_list  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Case, DepartmentUser, Region, ReportJob  # noqa: E402
from app.models.report import QUEUED, STATISTICS  # noqa: E402
from app.security.scope import Scope, scope_for  # noqa: E402

FIGURES_TARGET_MS = 1000
PDF_TARGET_MS = 5000


def percentile(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def timed(runs, fn):
    times = []
    result = None
    for _ in range(runs):
        db.session.expire_all()
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def report(label, times, target=None):
    line = f"{label:<34} median {statistics.median(times):8.1f} ms   p95 {percentile(times, 95):8.1f} ms   (n={len(times)})"
    if target is not None:
        line += "   " + ("within" if percentile(times, 95) < target else "OVER") + f" {target} ms"
    print(line)


def time_background_job(region, period, user):
    """One run of what the worker does for a queued statistics PDF; the job is removed."""
    job = ReportJob(kind=STATISTICS, fmt="pdf", region=region, user_id=user.id, status=QUEUED, progress=0,
                    period_start=period.start, period_end=period.end)
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    try:
        started = time.perf_counter()
        state = report_jobs.run(job_id)
        elapsed = (time.perf_counter() - started) * 1000
        if state != "done":
            print(f"(the background job ended {state}: {db.session.get(ReportJob, job_id).error})")
        return [elapsed]
    finally:
        db.session.rollback()
        db.session.query(ReportJob).filter(ReportJob.id == job_id).delete()
        db.session.commit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", default="361100", help="region code (its whole subtree)")
    parser.add_argument("--month", help="YYYY-MM")
    parser.add_argument("--from", dest="start", help="YYYY-MM-DD")
    parser.add_argument("--to", dest="end", help="YYYY-MM-DD")
    parser.add_argument("--user", default="sr-supervisor", help="whose scope (default: the city supervisor)")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "hengfeng-demo"))
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--overdue-pdf", action="store_true",
                        help="also render the overdue list's PDF once (about 7 ms a task)")
    parser.add_argument("--celery", action="store_true",
                        help="also time the background job once (report_jobs.run, without the broker)")
    args = parser.parse_args()

    if args.month or args.start:
        period = Period.parse(month=args.month, start=args.start, end=args.end)
    else:
        period = Period.last_month(today_cst())

    app = create_app({"WTF_CSRF_ENABLED": False})
    with app.app_context():
        region = db.session.query(Region).filter_by(code=args.region).one()
        region_id = region.id
        user = db.session.query(DepartmentUser).filter_by(username=args.user).one_or_none()
        scope = scope_for(user) if user is not None else Scope(sees_all=True)
        low, high = period.utc_bounds()
        cases = db.session.scalar(select(func.count()).select_from(Case).where(
            Case.registered_at >= low, Case.registered_at < high))
        dialect = db.engine.dialect.name
        print(f"database: {dialect} ({db.engine.url.render_as_string(hide_password=True)})")
        print(f"{region.name} {region.code}, {period.start} – {period.end}: {cases:,} cases registered "
              f"(as {args.user if user else 'an administrator'})")
        if dialect != "postgresql":
            print(f"WARNING: this is {dialect}, not PostgreSQL: the targets are for PostgreSQL; "
                  "these timings say little about them.")

        figures, stats = timed(args.runs, lambda: compute_statistics(db.session, region, period, scope=scope))
        print(f"  {stats.cases_received:,} cases and {stats.totals.received:,} tasks received, "
              f"{stats.totals.completed:,} completed, {stats.totals.overdue_now:,} overdue now")
        report("dashboard figures", figures, FIGURES_TARGET_MS)

        pdf_times, content = timed(args.runs, lambda: reporting.render_statistics_pdf(
            compute_statistics(db.session, region, period, scope=scope)))
        report(f"statistics PDF ({len(content) // 1024} KiB)", pdf_times, PDF_TARGET_MS)

        overdue_times, listed = timed(args.runs, lambda: overdue_list(db.session, region, scope=scope))
        report(f"overdue list figures ({len(listed.rows):,} tasks)", overdue_times)
        if args.overdue_pdf:
            overdue_pdf, content = timed(1, lambda: reporting.render_overdue_pdf(listed))
            report(f"overdue list PDF ({len(content) // 1024} KiB)", overdue_pdf)
        if args.celery:
            if user is None:
                print("(the background job needs --user to exist: not timed)")
            else:
                report("background job, statistics PDF", time_background_job(region, period, user), PDF_TARGET_MS)
        db.session.remove()

    if user is not None:
        client = app.test_client()
        response = client.post("/login/", data={"username": args.user, "password": args.password})
        if response.status_code != 302:
            print(f"(could not sign in as {args.user}: the dashboard page is not timed)")
            return
        url = f"/reports/dashboard?region={region_id}&from={period.start}&to={period.end}"
        page_times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(url)
            page_times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        report("dashboard page (HTTP)", page_times, FIGURES_TARGET_MS)


if __name__ == "__main__":
    main()
