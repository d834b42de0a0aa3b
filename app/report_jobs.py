"""Long reports run in Celery. A request names a report (kind, format, region,
period); the same report of a closed period that was generated after the period
ended, for the same scope and language, is served from what was generated; one
already on its way for the same user is followed; otherwise a job is queued and a
worker generates it, recording its progress as it goes. A closed period's report
rendered in the request is kept the same way (``keep``).

The figures are computed under the scope of the user who asked (``scope_for``), as on
the screen; a job is shown only to users who may see its region, and served from the
cache only to a user whose scope is the one it was computed under (``scope_key``).
"""

import datetime
import hashlib
import json
import logging

from celery import shared_task
from flask import current_app, has_request_context
from flask_babel import force_locale, get_locale
from sqlalchemy import or_, select, update

from app import reporting
from app.domain.clock import today_cst
from app.domain.statistics import Period
from app.extensions import READ_SNAPSHOT, db
from app.models import DepartmentUser
from app.models.case import utcnow
from app.models.report import DONE, FAILED, OVERDUE, QUEUED, RUNNING, STATISTICS, ReportJob
from app.security.scope import scope_for

log = logging.getLogger(__name__)

MIMETYPES = {"pdf": "application/pdf", "csv": reporting.CSV_MIMETYPE}
TASK_NAME = "app.report_jobs.generate"


def scope_key(scope):
    """A fingerprint of the scope a report's figures are computed under: two users
    with the same key see the same rows, so get the same figures."""
    canonical = json.dumps({
        "all": scope.sees_all,
        "regions": sorted(scope.region_ids),
        "departments": sorted(scope.department_ids),
        "windows": sorted(scope.window_ids),
    }, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def report_locale(fmt):
    """The language a report's words depend on: a CSV's headers are in the requester's
    language; a PDF is a Chinese government document whatever the screen's (None)."""
    if fmt != "csv":
        return None
    if has_request_context():
        return str(get_locale())
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")


def job_period(job):
    return Period(job.period_start, job.period_end) if job.period_start else None


def filename_for(kind, fmt, region, period, as_of):
    return f"{kind}-{region.code}-{period.key() if period else as_of.isoformat()}.{fmt}"


def _same_report(kind, fmt, region, period, key, locale):
    clauses = [ReportJob.kind == kind, ReportJob.fmt == fmt, ReportJob.region_id == region.id,
               ReportJob.scope_key == key,
               ReportJob.locale.is_(None) if locale is None else ReportJob.locale == locale]
    if period is None:
        clauses += [ReportJob.period_start.is_(None), ReportJob.period_end.is_(None)]
    else:
        clauses += [ReportJob.period_start == period.start, ReportJob.period_end == period.end]
    return clauses


def cacheable(kind, period, today=None):
    """Whether this report is served again from what was generated: a statistics
    report of a closed period (the overdue list is "as of today")."""
    return kind == STATISTICS and period is not None and period.is_closed(today)


def cached(session, kind, fmt, region, period, key, locale, today=None):
    """A statistics report of a closed period generated after the period ended (CST),
    for the same scope and language, if there is one: its period figures will not
    change (the "overdue now" column says as of which day). One generated while the
    period ran is not final."""
    if not cacheable(kind, period, today):
        return None
    _start, period_over = period.utc_bounds()
    return session.execute(
        select(ReportJob).where(*_same_report(kind, fmt, region, period, key, locale), ReportJob.status == DONE,
                                ReportJob.finished_at >= period_over)
        .order_by(ReportJob.finished_at.desc()).limit(1)
    ).scalar_one_or_none()


def request_report(session, user, scope, kind, fmt, region, period=None, locale=None):
    """The job that answers this request of ``user`` (whose scope is ``scope``):
    (job, how) where how is ``cached``, ``running`` (the user's same report on its
    way) or ``queued`` (a new job; the caller commits, then calls ``dispatch``)."""
    if kind not in (STATISTICS, OVERDUE) or fmt not in MIMETYPES:
        raise ValueError(f"unknown report {kind}.{fmt}")
    key = scope_key(scope)
    hit = cached(session, kind, fmt, region, period, key, locale)
    if hit is not None:
        return hit, "cached"
    since = utcnow() - datetime.timedelta(hours=1)
    on_its_way = session.execute(
        select(ReportJob).where(*_same_report(kind, fmt, region, period, key, locale), ReportJob.user_id == user.id,
                                ReportJob.status.in_((QUEUED, RUNNING)), ReportJob.created_at >= since)
        .order_by(ReportJob.id.desc()).limit(1)
    ).scalar_one_or_none()
    if on_its_way is not None:
        return on_its_way, "running"
    job = ReportJob(kind=kind, fmt=fmt, region=region, user_id=user.id, status=QUEUED, progress=0,
                    scope_key=key, locale=locale,
                    period_start=period.start if period else None, period_end=period.end if period else None)
    session.add(job)
    session.flush()
    return job, "queued"


def keep(session, user, scope, kind, fmt, region, period, content, locale=None):
    """Record a report rendered in the request as a done job, so that the same report
    of a closed period is served from it next time. Returns the job (not committed)."""
    now = utcnow()
    job = ReportJob(kind=kind, fmt=fmt, region=region, user_id=user.id, status=DONE, progress=100,
                    scope_key=scope_key(scope), locale=locale, content=content, size=len(content),
                    sha256=hashlib.sha256(content).hexdigest(),
                    filename=filename_for(kind, fmt, region, period, today_cst()),
                    period_start=period.start if period else None, period_end=period.end if period else None,
                    created_at=now, started_at=now, updated_at=now, finished_at=now)
    session.add(job)
    session.flush()
    return job


def dispatch(job_id):
    """Queue the job; a broker that cannot be reached leaves it queued for the sweep."""
    celery = current_app.extensions.get("celery")
    try:
        celery.send_task(TASK_NAME, args=(job_id,), retry=False)
    except Exception as exc:  # noqa: BLE001
        log.warning("Could not queue report job %s (%s); the sweep will.", job_id, exc)
        return False
    return True


def _progress_writer(job_id):
    """Record progress while the report's own queries run, through a connection of
    its own: the report's transaction is neither committed nor disturbed, so all its
    figures come from one snapshot."""
    last = [-1]

    def write(done, total):
        percent = min(99, int(100 * done / max(total, 1)))
        if percent == last[0]:
            return
        last[0] = percent
        with db.engine.begin() as connection:
            connection.execute(update(ReportJob).where(ReportJob.id == job_id)
                               .values(progress=percent, updated_at=utcnow()))

    return write


def _start_snapshot(session):
    """Begin the report's read transaction. On SQLite a plain (deferred) BEGIN: under
    WAL it reads one snapshot without holding the write lock that the progress
    writer needs (every other transaction there begins IMMEDIATE)."""
    session.rollback()
    session.connection(execution_options=READ_SNAPSHOT)


def run(job_id):
    """Generate one queued job (a worker's part). Returns its state."""
    session = db.session
    claimed = session.execute(
        update(ReportJob).where(ReportJob.id == job_id, ReportJob.status == QUEUED)
        .values(status=RUNNING, started_at=utcnow(), updated_at=utcnow(), progress=0)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if claimed != 1:
        job = session.get(ReportJob, job_id)
        return job.status if job is not None else None
    _start_snapshot(session)
    job = session.get(ReportJob, job_id)
    region, period, kind, fmt = job.region, job_period(job), job.kind, job.fmt
    locale = job.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")
    user = session.get(DepartmentUser, job.user_id) if job.user_id else None
    try:
        if user is None or not user.is_active:
            raise PermissionError("the user who asked for the report no longer exists or is inactive")
        scope = scope_for(user)
        progress = _progress_writer(job_id)
        with force_locale(locale):
            if kind == STATISTICS:
                content = reporting.statistics_report(session, region, period, scope=scope, fmt=fmt,
                                                      progress=progress)
            else:
                content = reporting.overdue_report(session, region, scope=scope, fmt=fmt, progress=progress)
    except Exception as exc:  # noqa: BLE001 (recorded on the job for administrators; users see a message)
        session.rollback()
        log.exception("Report job %s failed", job_id)
        session.execute(update(ReportJob).where(ReportJob.id == job_id).values(
            status=FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=utcnow(), updated_at=utcnow()))
        session.commit()
        return FAILED
    session.rollback()  # end the report's reads
    job = session.get(ReportJob, job_id)
    job.status, job.progress, job.content = DONE, 100, content
    job.scope_key = scope_key(scope)  # the scope the figures were computed under
    job.size, job.sha256 = len(content), hashlib.sha256(content).hexdigest()
    job.filename = filename_for(kind, fmt, region, period, today_cst())
    job.finished_at = job.updated_at = utcnow()
    session.commit()
    return DONE


def sweep(now=None):
    """Queue again the jobs whose dispatch was lost and those whose worker died (no
    progress for ``NOTIFY_LEASE_SECONDS``). Returns how many were queued."""
    session = db.session
    now = now or utcnow()
    lease = datetime.timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    session.execute(
        update(ReportJob).where(ReportJob.status == RUNNING,
                                or_(ReportJob.updated_at < now - lease, ReportJob.updated_at.is_(None)))
        .values(status=QUEUED).execution_options(synchronize_session=False)
    )
    session.commit()
    stale = session.execute(
        select(ReportJob.id).where(ReportJob.status == QUEUED, ReportJob.created_at <= now - datetime.timedelta(
            seconds=current_app.config["NOTIFY_SWEEP_SECONDS"]))
    ).scalars().all()
    session.rollback()
    return sum(1 for job_id in stale if dispatch(job_id))


@shared_task(name=TASK_NAME)
def generate(job_id):
    return run(job_id)


@shared_task(name="app.report_jobs.sweep")
def sweep_task():
    return sweep()


def visible_job(session, job_id, regions):
    """The job if its region is one the user may report on, else None."""
    job = session.get(ReportJob, job_id)
    if job is None or job.region_id not in {r.id for r in regions}:
        return None
    return job
