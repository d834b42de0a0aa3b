"""As a new user would, in a real browser: Debian's Chromium driven by Playwright
against the app served on loopback, through the generated screens in Chinese."""

import datetime
import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from app.domain.identity import make_id_number
from app.extensions import db
from app.models import Case
from tests.conftest import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


@pytest.fixture(scope="module")
def server(app):
    """The app on a free loopback port, in a thread."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run ./install.sh --dev (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def sign_in(page, base, username):
    page.goto(base + "/login/")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state()


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
        states = {t.item.code: (t.status, t.deadline) for t in case.tasks}
        assert states["MZ01"][0] == "completed"
        assert states["RS02"][0] == "ready" and states["RS02"][1] is not None
        assert states["CL01"][0] == "ready" and states["CL01"][1] is not None
        assert any(m.material.code == "CREMATION_CERT" for m in case.materials)
        db.session.remove()
    page.close()


def test_a_clerk_of_the_other_county_sees_none_of_it(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, server, "yy-ga")
    page.goto(server + "/taskview/list/")
    assert "王建国" not in page.content() and "361125-" not in page.content()
    page.close()
