"""As a new user would, in a real browser: Debian's Chromium driven by Playwright
against the app served on loopback, through the generated screens in Chinese."""

import datetime
import io
import os

import pytest
from pypdf import PdfReader

from app.domain import chain, clock
from app.domain.clock import to_cst_date
from app.domain.identity import make_id_number
from app.domain.workdays import load_calendar
from app.extensions import db
from app.models import Case
from tests.browser_support import chromium, served, sign_in

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
# The screenshots kept in docs/ are rewritten only when asked: DOCS_SCREENSHOTS=1.
WRITE_SCREENSHOTS = os.environ.get("DOCS_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def server(guarded_app):
    """The app as deployed (CSRF protection on: the screens' forms post their tokens) on a
    free loopback port, in a thread."""
    with served(guarded_app) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def test_the_window_registers_a_retiree_prints_the_form_and_completes_cremation(app, server, browser, tmp_path):
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    deceased_id = make_id_number("361125", datetime.date(1947, 7, 7), 71)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    sign_in(page, server, "window")
    assert "联办业务" in page.content()

    page.goto(server + "/intake/")
    page.fill("#deceased_name", "王建国")
    page.fill("#deceased_id_number", deceased_id)
    page.fill("#hukou_address", "江西省上饶市横峰县兴安街道")
    page.fill("#death_date", "2026-12-02")
    page.select_option("#death_circumstance", "in_hospital")
    for fact in ("pension_enterprise", "medical_employee", "disability_certificate"):
        page.check(f"input[name=facts][value={fact}]")
    page.fill("#applicant_name", "王丽华")
    page.fill("#applicant_id_number", make_id_number("361125", datetime.date(1975, 6, 1), 42))
    page.fill("#applicant_phone", "13907930001")
    page.fill("#applicant_relationship", "女儿")
    page.click("button[value=preview]")
    page.wait_for_load_state()
    preview = page.inner_text("#preview-items")
    assert "RS02" in preview and "CL01" in preview and "4个工作日" in preview
    page.click("button[value=save]")
    page.wait_for_load_state()
    assert "/caseview/show/" in page.url and "已登记" in page.content()

    for code in ("DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID", "BANK_OR_SSC_CARD", "BANK_CARD"):
        page.select_option("select[name=material_code]", code)
        if code in ("DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID"):
            page.check("input[name=original_checked]")
        page.set_input_files("input[name=file]", str(scan))
        page.click("form[enctype] button[type=submit]")
        page.wait_for_load_state()

    with page.expect_popup() as popup:
        page.click("text=打印联办登记表")
    form = popup.value
    assert "registration-form" in form.url

    page.click("form:has(input[value]) button:has-text('办结') >> nth=0")
    page.wait_for_load_state()
    assert "办理火化事项已办结" in page.content()

    with app.app_context():
        case = db.session.query(Case).filter_by(deceased_id_number=deceased_id).one()
        calendar = load_calendar(db.session)
        tasks = {t.item.code: t for t in case.tasks}
        assert tasks["MZ01"].status == "completed"
        assert any(m.material.code == "CREMATION_CERT" for m in case.materials)
        # The notice's limits: 人社 4 working days, 残联 2; counted from the day the task
        # became ready in China, which is today there.
        for code, limit in (("RS02", 4), ("CL01", 2)):
            task = tasks[code]
            assert task.status == "ready" and task.item.time_limit_days == limit, code
            ready_day = to_cst_date(task.ready_at)
            assert ready_day == clock.today_cst(), code
            assert task.deadline == calendar.add_working_days(ready_day, limit), code
        rs02_deadline = tasks["RS02"].deadline
        db.session.remove()
    assert f"{rs02_deadline.year}年{rs02_deadline.month}月{rs02_deadline.day}日" in page.content()
    page.close()


def test_a_clerk_of_the_other_county_sees_none_of_it(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, server, "yy-ga")
    page.goto(server + "/taskview/list/")
    assert "王建国" not in page.content() and "361125-" not in page.content()
    page.close()


def _case_ready_for_departments(app):
    """A registered case whose papers are in and whose cremation is done (the window's
    part, through the domain), so the departments' tasks are ready."""
    from app.domain import chain
    from app.models import DepartmentUser, Material
    from tests.factories import make_case

    with app.app_context():
        case = make_case("window", ["pension_resident", "institution_staff"], name="李秀英")
        window = db.session.query(DepartmentUser).filter_by(username="window").one()
        pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        for code in ("DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID", "BANK_OR_SSC_CARD"):
            material = db.session.query(Material).filter_by(code=code).one()
            chain.add_material(db.session, case, material, window, original_checked=True, content=pdf)
        chain.complete_task(db.session, next(t for t in case.tasks if t.item.code == "MZ01"), window)
        db.session.commit()
        ids = case.id, case.case_no, {t.item.code: t.id for t in case.tasks}
        db.session.remove()
        return ids


def _row_form(page, item_code, action):
    """The form of one task's action on the case page."""
    return page.locator(f"tr:has(td:has-text('{item_code}')) form[action*='/{action}']")


def _is_completion_notice(response):
    return "/completion-notice" in response.url


def _task_state(app, task_id):
    from app.models import Task

    with app.app_context():
        task = db.session.get(Task, task_id)
        state = task.status, task.deadline, task.supplement_days_left
        db.session.remove()
    return state


def test_departments_handle_their_items_and_the_case_completes(app, server, browser, tmp_path, monkeypatch):
    case_id, case_no, tasks = _case_ready_for_departments(app)
    scan = tmp_path / "card.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    case_url = f"{server}/caseview/show/{case_id}"

    ga = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(ga, server, "ga")
    ga.goto(server + "/taskview/list/")
    assert case_no in ga.content() and "户口注销" in ga.content()
    if WRITE_SCREENSHOTS:
        ga.screenshot(path=os.path.join(DOCS, "work-queue.png"), full_page=True)
    ga.goto(case_url)
    form = _row_form(ga, "GA01", "complete")
    form.locator("input[name=note]").fill("已注销户口")
    form.locator("button").click()
    ga.wait_for_load_state()
    assert "已办结" in ga.content()

    rs = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(rs, server, "rs")
    rs.goto(case_url)
    form = _row_form(rs, "RS03", "supplement")
    form.locator("input[name=materials][value=BANK_OR_SSC_CARD]").check()
    form.locator("input[name=note]").fill("社保卡照片不清晰，请重新提供")
    form.locator("button").click()
    rs.wait_for_load_state()
    assert "待补正" in rs.content()
    status, deadline_before, days_left = _task_state(app, tasks["RS03"])
    assert status == "supplement_requested" and days_left == 4  # asked on the day it became ready

    # The window answers two working days later: the clock runs on from where it stopped.
    with app.app_context():
        calendar = load_calendar(db.session)
        db.session.remove()
    answered_on = calendar.add_working_days(clock.today_cst(), 2)
    answered_at = datetime.datetime.combine(answered_on, datetime.time(10)) - datetime.timedelta(hours=8)
    monkeypatch.setattr(chain, "utcnow", lambda: answered_at)
    window = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(window, server, "window")
    window.goto(case_url)
    window.select_option("select[name=material_code]", "BANK_OR_SSC_CARD")
    window.set_input_files("input[name=file]", str(scan))
    window.click("form[enctype] button[type=submit]")
    window.wait_for_load_state()
    status, deadline, _left = _task_state(app, tasks["RS03"])
    assert status == "ready"
    assert deadline == calendar.add_working_days(answered_on, days_left) and deadline > deadline_before

    rs.goto(case_url)
    form = _row_form(rs, "RS03", "complete")
    form.locator("input[name=note]").fill("已支付个人账户余额")
    form.locator("input[name=amount]").fill("8650.00")
    form.locator("button").click()
    rs.wait_for_load_state()

    cz = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(cz, server, "cz")
    cz.goto(case_url)
    form = _row_form(cz, "CZ01", "reject")
    form.locator("input[name=reason]").fill("逝者生前单位已自行发放丧葬费")
    form.locator("button").click()
    cz.wait_for_load_state()

    window.goto(case_url)
    assert "已办结" in window.content()
    with window.context.expect_event("response", _is_completion_notice) as printed, window.expect_popup():
        window.click("text=打印办结告知书")
    notice = printed.value
    assert notice.status == 200 and notice.headers["content-type"] == "application/pdf"
    # Chromium shows the PDF in its viewer (the popup's body is the viewer's page): read
    # the same address again with the window's session for the file itself.
    again = window.context.request.get(notice.url)
    assert again.status == 200 and again.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(again.body())).pages)
    assert case_no in text and "办结告知书" in text

    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == "completed"
        states = {t.item.code: t.status for t in case.tasks}
        assert states == {"MZ01": "completed", "GA01": "completed", "RS03": "completed", "CZ01": "rejected"}
        rs03 = next(t for t in case.tasks if t.item.code == "RS03")
        assert str(rs03.payout_amount) == "8650.00" and rs03.payout_expected_date is not None
        db.session.remove()

    outsider = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(outsider, server, "yy-ga")
    outsider.goto(server + "/taskview/list/")
    assert case_no not in outsider.content()
    assert outsider.goto(case_url).status == 404
    for page in (ga, rs, window, cz, outsider):
        page.close()
