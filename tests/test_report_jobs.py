"""Long reports run in Celery: a real worker on Redis generates them with their
progress on the screen; a closed period's report, generated after the period ended,
is served again from what was generated (in the background or in the request) to the
same scope and language only; a job is seen only by those who may see its region."""

import datetime as dt
import re

import pytest
from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app import report_jobs
from app.domain.statistics import Period
from app.extensions import db
from app.models import Department, DepartmentUser, Region, ReportJob
from app.models.case import utcnow
from app.models.report import DONE, FAILED, QUEUED, STATISTICS
from app.security.scope import scope_for
from tests.conftest import DEMO_PASSWORD, login
from tests.notify_support import REDIS_URL, Stack, require_redis, wait_for
from tests.test_pdf import drawn_text
from tests.test_reports import read_csv

# Closed (a fixed past period, whatever today is), and longer than REPORT_SYNC_MAX_DAYS.
LONG_PERIOD = "from=2025-01-01&to=2025-06-30"


@pytest.fixture(scope="module")
def reports(app, db_url, tmp_path_factory):
    require_redis()
    # Every overdue-list PDF goes to the background here (even an empty list).
    stack = Stack(db_url, str(tmp_path_factory.mktemp("reports")), REDIS_URL, REPORT_SYNC_MAX_ROWS=-1)
    worker = stack.worker("reports")
    yield stack
    worker.stop()


def region_id(code):
    return db.session.query(Region.id).filter_by(code=code).scalar()


def job_of(answer):
    assert answer.status_code == 302, answer.status_code
    return int(re.search(r"/reports/jobs/(\d+)", answer.headers["Location"]).group(1))


def finished(client, job_id):
    def done():
        status = client.get(f"/reports/jobs/{job_id}/status").get_json()
        return status if status["status"] in (DONE, FAILED) else None

    return wait_for(done, timeout=60, interval=0.2, message=f"report job {job_id}")


def test_a_long_period_is_generated_in_the_background_then_served_from_what_was_generated(reports, tmp_path):
    with reports.app.app_context():
        hengfeng = region_id("361125")
        jobs_before = db.session.query(ReportJob).count()
        db.session.remove()
    client = reports.app.test_client()
    login(client, "manager")
    url = f"/reports/statistics.pdf?region={hengfeng}&{LONG_PERIOD}"
    job_id = job_of(client.get(url))
    page = client.get(f"/reports/jobs/{job_id}").get_data(as_text=True)
    assert "统计报表" in page and "横峰县" in page

    status = finished(client, job_id)
    assert status["status"] == DONE and status["progress"] == 100
    pdf = client.get(status["download"])
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    text = drawn_text(pdf.data, tmp_path)
    assert "横峰县" in text and "2025年1月1日至2025年6月30日" in text

    # The same closed period again: straight to the file generated, no new job.
    again = client.get(url)
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/reports/jobs/{job_id}/download")
    with reports.app.app_context():
        assert db.session.query(ReportJob).count() == jobs_before + 1
        db.session.remove()
    listing = client.get("/reports/jobs/").get_data(as_text=True)
    assert f"/reports/jobs/{job_id}/download" in listing

    # The city's supervisor picks 横峰县 too: figures computed under another scope are
    # not handed over; that scope gets a job of its own.
    city = reports.app.test_client()
    login(city, "sr-supervisor")
    theirs = job_of(city.get(url))
    assert theirs != job_id
    assert finished(city, theirs)["status"] == DONE
    with reports.app.app_context():
        jobs = {job.id: job for job in db.session.query(ReportJob).filter(ReportJob.id.in_((job_id, theirs)))}
        assert jobs[job_id].scope_key != jobs[theirs].scope_key
        db.session.remove()


def test_the_overdue_list_goes_to_the_background_and_is_never_cached(reports, tmp_path):
    with reports.app.app_context():
        hengfeng = region_id("361125")
        db.session.remove()
    client = reports.app.test_client()
    login(client, "supervisor")
    first = job_of(client.get(f"/reports/overdue.pdf?region={hengfeng}"))
    status = finished(client, first)
    assert status["status"] == DONE
    assert "超时督办清单" in drawn_text(client.get(status["download"]).data, tmp_path)
    second = job_of(client.get(f"/reports/overdue.pdf?region={hengfeng}"))
    assert second != first  # "now" changes: generated again


def test_a_job_is_seen_only_by_those_who_may_see_its_region(reports):
    with reports.app.app_context():
        yiyang = region_id("361126")
        db.session.remove()
    city = reports.app.test_client()
    login(city, "sr-supervisor")
    job_id = job_of(city.get(f"/reports/statistics.csv?region={yiyang}&{LONG_PERIOD}"))
    assert finished(city, job_id)["status"] == DONE
    assert city.get(f"/reports/jobs/{job_id}/download").data.startswith("\ufeff".encode())

    county = reports.app.test_client()
    login(county, "manager")  # 横峰县's manager: not 弋阳县's report
    for path in ("", "/status", "/download"):
        assert county.get(f"/reports/jobs/{job_id}{path}").status_code == 404
    assert f"/reports/jobs/{job_id}" not in county.get("/reports/jobs/").get_data(as_text=True)


# --- without a worker: the cache's rules, a report rendered in the request, failures ----


def user(username):
    return db.session.query(DepartmentUser).filter_by(username=username).one()


def yiyang_manager():
    """A manager of 弋阳县 (the demo accounts have none)."""
    found = db.session.query(DepartmentUser).filter_by(username="yy-manager").one_or_none()
    if found is None:
        yiyang = db.session.query(Region).filter_by(code="361126").one()
        found = DepartmentUser(username="yy-manager", first_name="弋阳县分管领导", last_name="",
                               email="yy-manager@demo.invalid", active=True,
                               password=generate_password_hash(DEMO_PASSWORD))
        db.session.add(found)
        found.roles = [current_app.appbuilder.sm.find_role("Manager")]
        found.departments = [db.session.query(Department).filter_by(region_id=yiyang.id, code="ZW").one()]
        db.session.commit()
    return found


def done_job(username, fmt, period, finished_at, content=b"an old file", locale=None):
    job = ReportJob(kind=STATISTICS, fmt=fmt, region=db.session.query(Region).filter_by(code="361125").one(),
                    user_id=user(username).id, status=DONE, progress=100, content=content, size=len(content),
                    filename=f"old.{fmt}", scope_key=report_jobs.scope_key(scope_for(user(username))),
                    locale=locale, period_start=period.start, period_end=period.end,
                    created_at=finished_at, finished_at=finished_at)
    db.session.add(job)
    db.session.commit()
    return job


def kept_jobs(period, fmt):
    return db.session.scalars(select(ReportJob).where(
        ReportJob.period_start == period.start, ReportJob.period_end == period.end, ReportJob.fmt == fmt)
        .order_by(ReportJob.id)).all()


def test_a_report_generated_while_its_period_ran_is_not_served_as_final(client, app):
    year = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    with app.app_context():
        hengfeng = db.session.query(Region).filter_by(code="361125").one()
        key = report_jobs.scope_key(scope_for(user("manager")))
        done_job("manager", "pdf", year, dt.datetime(2025, 6, 1, 2))
        assert report_jobs.cached(db.session, STATISTICS, "pdf", hengfeng, year, key, None) is None
        # The period ends on 31 December CST, that is 16:00 UTC that day.
        done_job("manager", "pdf", year, dt.datetime(2025, 12, 31, 15, 59))
        assert report_jobs.cached(db.session, STATISTICS, "pdf", hengfeng, year, key, None) is None
        final = done_job("manager", "pdf", year, dt.datetime(2026, 1, 5, 2))
        assert report_jobs.cached(db.session, STATISTICS, "pdf", hengfeng, year, key, None).id == final.id
        db.session.delete(final)
        db.session.commit()
        region_id = hengfeng.id
        db.session.remove()
    # Through the screen: a month's report finished before the month ended is rendered anew.
    february = Period.month(2025, 2)
    with app.app_context():
        stale = done_job("manager", "pdf", february, dt.datetime(2025, 2, 20, 2)).id
        db.session.remove()
    login(client, "manager")
    answer = client.get(f"/reports/statistics.pdf?month=2025-02&region={region_id}")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    with app.app_context():
        kept = kept_jobs(february, "pdf")[-1].id
        db.session.remove()
    assert kept != stale
    again = client.get(f"/reports/statistics.pdf?month=2025-02&region={region_id}")
    assert again.status_code == 200 and again.headers["X-Report-Job"] == str(kept)


def test_a_closed_months_report_rendered_at_once_is_kept_and_served_again(client, app):
    january = Period.month(2025, 1)
    with app.app_context():
        hengfeng = db.session.query(Region).filter_by(code="361125").one().id
        before = len(kept_jobs(january, "pdf"))
        db.session.remove()
    login(client, "manager")
    url = f"/reports/statistics.pdf?month=2025-01&region={hengfeng}"
    first = client.get(url)
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    with app.app_context():
        jobs = kept_jobs(january, "pdf")
        assert len(jobs) == before + 1
        kept = jobs[-1]
        assert kept.status == DONE and kept.content == first.data and kept.user_id == user("manager").id
        assert kept.scope_key == report_jobs.scope_key(scope_for(user("manager")))
        kept_id = kept.id
        db.session.remove()
    again = client.get(url)  # the same file, served from the job, not rendered again
    assert again.status_code == 200 and again.headers["X-Report-Job"] == str(kept_id)
    assert again.data == first.data and "X-Report-Job" not in first.headers

    # The city's supervisor asks for the same region and month: its own figures, its own file.
    login(client, "sr-supervisor")
    theirs = client.get(url)
    assert theirs.status_code == 200 and theirs.data.startswith(b"%PDF")
    with app.app_context():
        jobs = kept_jobs(january, "pdf")
        assert len(jobs) == before + 2 and jobs[-1].scope_key != kept.scope_key
        city_job = jobs[-1].id
        db.session.remove()
    assert client.get(url).headers["X-Report-Job"] == str(city_job)

    # 弋阳县's manager gets neither 横峰县's report nor its file.
    with app.app_context():
        yiyang_manager()
        db.session.remove()
    login(client, "yy-manager")
    assert client.get(url).status_code == 404
    for job_id in (kept_id, city_job):
        for path in ("", "/status", "/download"):
            assert client.get(f"/reports/jobs/{job_id}{path}").status_code == 404


def test_a_running_periods_report_is_not_kept(client, app):
    this_month = Period.month(utcnow().year, utcnow().month)
    with app.app_context():
        before = len(kept_jobs(this_month, "csv"))
        db.session.remove()
    login(client, "manager")
    assert client.get(f"/reports/statistics.csv?month={this_month.start:%Y-%m}").status_code == 200
    with app.app_context():
        assert len(kept_jobs(this_month, "csv")) == before
        db.session.remove()


def test_a_csv_is_served_in_the_language_it_was_asked_in(client, app):
    login(client, "manager")
    url = "/reports/statistics.csv?month=2024-12"
    english = read_csv(client.get(url + "&_l_=en", follow_redirects=True).data)
    assert english[0][:4] == ["Department", "Item code", "Item", "Received"]
    chinese = read_csv(client.get(url + "&_l_=zh", follow_redirects=True).data)
    assert chinese[0][:4] == ["部门", "事项编码", "事项", "受理"]
    again = client.get(url + "&_l_=en")
    assert "X-Report-Job" in again.headers and read_csv(again.data)[0][0] == "Department"


def test_a_worker_writes_a_csv_in_the_language_of_whoever_asked(ctx):
    region = db.session.query(Region).filter_by(code="361125").one()
    job = ReportJob(kind=STATISTICS, fmt="csv", region=region, user_id=user("manager").id, status=QUEUED,
                    progress=0, locale="en", period_start=dt.date(2024, 11, 1), period_end=dt.date(2024, 11, 30))
    db.session.add(job)
    db.session.commit()
    state = report_jobs.run(job.id)
    db.session.refresh(job)
    assert state == DONE, job.error
    assert read_csv(job.content)[0][:2] == ["Department", "Item code"]


def test_progress_is_written_beside_the_reports_one_transaction(ctx, monkeypatch):
    """The worker's progress is visible to others while the report reads, and the
    report's reads stay in one transaction (one snapshot) from start to end."""
    region = db.session.query(Region).filter_by(code="361125").one()
    job = ReportJob(kind=STATISTICS, fmt="csv", region=region, user_id=user("manager").id, status=QUEUED,
                    progress=0, locale="zh", period_start=dt.date(2024, 10, 1), period_end=dt.date(2024, 10, 31))
    db.session.add(job)
    db.session.commit()
    job_id, real, seen, transactions = job.id, report_jobs.reporting.statistics_report, [], set()

    def spying(session, *args, progress, **kwargs):
        def spy(done, total):
            progress(done, total)
            transactions.add(id(session().get_transaction()))
            with db.engine.connect() as other:
                seen.append(other.scalar(select(ReportJob.progress).where(ReportJob.id == job_id)))
        return real(session, *args, progress=spy, **kwargs)

    monkeypatch.setattr(report_jobs.reporting, "statistics_report", spying)
    state = report_jobs.run(job_id)
    assert state == DONE, db.session.get(ReportJob, job_id).error
    assert len(seen) >= 4 and seen == sorted(seen) and 0 < seen[1] < 99
    assert len(transactions) == 1


def test_a_job_that_cannot_run_says_why(app):
    with app.app_context():
        region = db.session.query(Region).filter_by(code="361125").one()
        job = ReportJob(kind=STATISTICS, fmt="pdf", region=region, user_id=None, status=QUEUED, progress=0)
        db.session.add(job)
        db.session.commit()
        assert report_jobs.run(job.id) == FAILED
        db.session.refresh(job)
        assert job.status == FAILED and "no longer exists" in job.error
        assert report_jobs.run(job.id) == FAILED  # a finished job is not run twice
        db.session.remove()
    # The user reads a message in their language; the exception is for administrators.
    manager = app.test_client()
    login(manager, "manager")
    status = manager.get(f"/reports/jobs/{job.id}/status").get_json()
    assert status["status"] == FAILED and status["error"] == "报表生成失败，请重试或联系管理员。"
    page = manager.get(f"/reports/jobs/{job.id}").get_data(as_text=True)
    assert "报表生成失败，请重试或联系管理员。" in page and "PermissionError" not in page
    assert "no longer exists" not in page
    admin = app.test_client()
    login(admin, "admin")
    assert "PermissionError" in admin.get(f"/reports/jobs/{job.id}").get_data(as_text=True)
    assert manager.get(f"/reports/jobs/{job.id}/status?_l_=en").get_json()["error"] == (
        "The report could not be generated; please try again or contact the administrator.")


@pytest.mark.parametrize("username", ["ga", "window", "yy-ga"])
def test_clerks_cannot_list_follow_or_download_generated_reports(client, app, username):
    with app.app_context():
        job = done_job("manager", "csv", Period.month(2024, 9), dt.datetime(2024, 10, 2))
        job_id = job.id
        db.session.remove()
    login(client, username)
    for path in ("/reports/jobs/", f"/reports/jobs/{job_id}", f"/reports/jobs/{job_id}/status",
                 f"/reports/jobs/{job_id}/download"):
        assert client.get(path).status_code == 403, path
