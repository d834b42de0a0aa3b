"""Long reports run in Celery: a real worker on Redis generates them with their
progress on the screen; a closed period's report is served again from what was
generated; a job is seen only by those who may see its region."""

import re

import pytest

from app import report_jobs
from app.extensions import db
from app.models import Region, ReportJob
from app.models.report import DONE, FAILED, QUEUED, STATISTICS
from tests.conftest import login
from tests.notify_support import REDIS_URL, Stack, require_redis, wait_for
from tests.test_pdf import drawn_text

LONG_PERIOD = "from=2026-01-01&to=2026-06-30"  # closed, and longer than REPORT_SYNC_MAX_DAYS


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
    assert "横峰县" in text and "2026年1月1日" in text

    # The same closed period again: straight to the file generated, no new job.
    again = client.get(url)
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/reports/jobs/{job_id}/download")
    with reports.app.app_context():
        assert db.session.query(ReportJob).count() == jobs_before + 1
        db.session.remove()
    listing = client.get("/reports/jobs/").get_data(as_text=True)
    assert f"/reports/jobs/{job_id}/download" in listing


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
    clerk = reports.app.test_client()
    login(clerk, "ga")
    assert clerk.get(f"/reports/jobs/{job_id}").status_code in (302, 403)


def test_a_job_that_cannot_run_says_why(ctx):
    region = db.session.query(Region).filter_by(code="361125").one()
    job = ReportJob(kind=STATISTICS, fmt="pdf", region=region, user_id=None, status=QUEUED, progress=0)
    db.session.add(job)
    db.session.commit()
    assert report_jobs.run(job.id) == FAILED
    db.session.refresh(job)
    assert job.status == FAILED and "no longer exists" in job.error
    assert report_jobs.run(job.id) == FAILED  # a finished job is not run twice
