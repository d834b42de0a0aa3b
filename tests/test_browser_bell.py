"""The menu's bell in a real browser (Debian's Chromium driven by Playwright): while a
clerk's page stays open, a task that becomes ready for their department shows in the
unread count within seconds, without reloading the page. A real Celery worker delivers
the in-app row, as in production."""

import time

import pytest

from app.extensions import db
from app.models import DepartmentUser, Notification
from app.models.notify import PENDING, SENDING
from app.views.notifications import mark_read
from tests.browser_support import chromium, served, sign_in
from tests.factories import hand_in_papers, make_case
from tests.notify_support import REDIS_URL, Stack, require_redis, wait_for

BADGE = "document.getElementById('notification-unread')"


@pytest.fixture(scope="module")
def stack(app, db_url, tmp_path_factory):
    require_redis()
    stack = Stack(db_url, str(tmp_path_factory.mktemp("bell")), REDIS_URL)
    worker = stack.worker("bell")
    yield stack
    worker.stop()


@pytest.fixture(scope="module")
def server(stack):
    with served(stack.app) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def test_the_bell_shows_a_new_task_within_seconds_without_reloading(stack, server, browser):
    with stack.app.app_context():
        ga_id = db.session.query(DepartmentUser.id).filter_by(username="ga").scalar()

        def nothing_on_its_way():  # earlier tests' rows, which the worker's sweep delivers first
            waiting = db.session.query(Notification.id).filter(
                Notification.user_id == ga_id, Notification.status.in_((PENDING, SENDING))).count()
            db.session.rollback()
            return waiting == 0

        wait_for(nothing_on_its_way, timeout=60, message="ga's earlier notifications to be delivered")
        mark_read(db.session, ga_id)  # nothing unread: the badge is hidden
        db.session.commit()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        sign_in(page, server, "ga")
        page.goto(server + "/taskview/list/")
        assert page.evaluate(f"{BADGE}.style.display") == "none"
        page.evaluate("window.notReloaded = true")

        with stack.app.app_context():  # the window hands in the papers: 户口注销 (GA01) is ready for 公安
            case = make_case("window", [], name="铃铛测试")
            hand_in_papers(case)
            db.session.commit()
            case_no = case.case_no
            assert next(t for t in case.tasks if t.item.code == "GA01").status == "ready"
            db.session.rollback()
        committed = time.monotonic()

        page.wait_for_function(f"{BADGE}.style.display !== 'none' && {BADGE}.textContent.trim() === '1'",
                               timeout=15_000)
        shown_after = time.monotonic() - committed
        assert page.evaluate("window.notReloaded") is True  # the same page, not reloaded
        assert shown_after < 12, f"the bell showed the task after {shown_after:.1f} s"
        page.click("li.notification-bell a")  # the bell leads to the inbox, with the new task
        page.wait_for_load_state()
        assert case_no in page.content() and "户口注销" in page.content()
    finally:
        page.close()
