"""Completing payout items (amount and expected arrival date on the working-day
calendar) and the 办结告知书 of a completed case: one A4 page in an embedded Chinese
font with every item's result, printed on the screens and through the API to those
who may see the case, once the case is completed."""

import datetime
import decimal

import pytest

from app import pdf
from app.domain import chain, rules
from app.extensions import db
from app.models import AuditLog, Case, DepartmentUser, Material, Task
from app.models.catalogue import ORIGINAL, SCAN
from tests.conftest import jwt_headers, login
from tests.factories import make_case
from tests.test_pdf import assert_chinese_font_embedded, assert_one_a4_page, drawn_text

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
RETIREE_FACTS = ["pension_enterprise", "medical_employee", "disability_certificate"]
PRODUCED = {"CREMATION_CERT"}  # issued when MZ01 is completed, not brought by the family
CLERKS = {"BYG": "window"}  # the funeral home's window handles cremation; others by department code


def cst(y, m, d, hour=10):
    """A naive UTC timestamp for a time of day in China Standard Time."""
    return datetime.datetime(y, m, d, hour) - datetime.timedelta(hours=8)


def user(name):
    return db.session.query(DepartmentUser).filter_by(username=name).one()


def clerk_of(task):
    return user(CLERKS.get(task.department.code, task.department.code.lower()))


def task_of(case, code):
    return next(t for t in case.tasks if t.item.code == code)


def furnish(case, when):
    """The window adds every material the case's items ask for, as each asks for it."""
    facts = chain.fact_codes(case)
    checklist = rules.material_checklist([t.item for t in case.tasks], facts)
    for code, entry in checklist.items():
        if code in PRODUCED:
            continue
        material = db.session.query(Material).filter_by(code=code).one()
        scan = SCAN in entry["forms"]
        chain.add_material(db.session, case, material, user("window"), original_checked=ORIGINAL in entry["forms"],
                           content=PDF if scan else None, filename=f"{code}.pdf" if scan else None, now=when)


AMOUNTS = {"RS02": "12345.6", "YB02": "1,830.25"}
NOTES = {"MZ01": "已火化，火化证明已出具", "RS02": "丧葬费、抚恤金及个人账户余额已核定",
         "YB01": "医保参保关系已终止", "YB02": "个人账户余额已核定", "GA01": "户口已注销"}
REJECTED = {"CL01": "残疾证原件未交回，请补交后重新申请"}


def complete_case(case, when):
    """Every task of the case completed (payouts with their amounts) or rejected, on ``when``."""
    chain.complete_task(db.session, task_of(case, "MZ01"), user("window"), note=NOTES["MZ01"], now=when)
    for task in case.tasks:
        if task.status not in chain.IN_HAND_STATES:
            continue
        if task.item.code in REJECTED:
            chain.reject_task(db.session, task, clerk_of(task), REJECTED[task.item.code], now=when)
        else:
            chain.complete_task(db.session, task, clerk_of(task), note=NOTES.get(task.item.code), now=when,
                                amount=AMOUNTS.get(task.item.code))
    db.session.commit()
    return case


def retiree_completed(name="李秀英", when=None):
    when = when or cst(2026, 9, 30)
    case = make_case("window", facts=RETIREE_FACTS, name=name)
    furnish(case, when - datetime.timedelta(days=2))
    return complete_case(case, when)


@pytest.fixture
def required(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAYOUT_AMOUNT_REQUIRED", True)


@pytest.fixture(scope="module")
def completed(app):
    """(case id, case no) of a completed retiree case, committed."""
    with app.app_context():
        case = retiree_completed("赵德明")
        ids = (case.id, case.case_no)
        db.session.remove()
    return ids


@pytest.fixture
def open_rs01(app):
    """(case id, RS01 task id, version) of a case whose RS01 (a payout) is ready."""
    with app.app_context():
        case = make_case("window", ["pension_institution"], name="待办结")
        furnish(case, cst(2026, 12, 1))
        db.session.commit()
        task = task_of(case, "RS01")
        ids = (case.id, task.id, task.version)
        db.session.remove()
    return ids


# --- the domain ---------------------------------------------------------------------


def test_payouts_record_the_amount_and_the_arrival_date_across_national_day(ctx):
    case = retiree_completed()

    assert case.status == "completed" and case.completed_at == cst(2026, 9, 30)
    rs02, yb02 = task_of(case, "RS02"), task_of(case, "YB02")
    assert rs02.payout_amount == decimal.Decimal("12345.60")
    assert yb02.payout_amount == decimal.Decimal("1830.25")
    # Completed Wednesday 2026-09-30: 10-01..10-07 are off, Saturday 10-10 is worked;
    # the 15th working day after is Tuesday 10-27.
    assert rs02.payout_expected_date == datetime.date(2026, 10, 27)
    assert yb02.payout_expected_date == datetime.date(2026, 10, 27)
    for code in ("MZ01", "YB01", "GA01"):
        assert task_of(case, code).payout_amount is None and task_of(case, code).payout_expected_date is None
    cl01 = task_of(case, "CL01")
    assert cl01.status == "rejected" and cl01.result_note == REJECTED["CL01"]
    entry = db.session.query(AuditLog).filter_by(action="task_completed", object_id=rs02.id).one()
    assert entry.detail == {"amount": "12345.60", "expected": "2026-10-27"}


def test_a_payout_counts_its_working_days_from_the_completion_day_in_china(ctx):
    case = make_case("window", ["pension_institution"], name="跨日办结")
    furnish(case, cst(2026, 12, 1))
    rs01 = task_of(case, "RS01")
    # 23:30 UTC on Thursday 12-03 is Friday 12-04 in China: 15 working days → Friday 12-25.
    chain.complete_task(db.session, rs01, user("rs"), note="已支付", amount="800",
                        now=datetime.datetime(2026, 12, 3, 23, 30))
    assert rs01.payout_amount == decimal.Decimal("800.00")
    assert rs01.payout_expected_date == datetime.date(2026, 12, 25)
    db.session.rollback()


@pytest.mark.parametrize("amount, message", [
    (None, "请填写支付金额"),
    ("  ", "请填写支付金额"),
    ("0", "大于零"),
    ("-12.00", "大于零"),
    ("12.345", "两位小数"),
    ("十二元", "请按元填写金额"),
    ("NaN", "大于零"),
    ("12345678901.00", "金额过大"),
])
def test_a_payout_needs_a_positive_amount_in_yuan_and_fen(ctx, required, amount, message):
    case = make_case("window", ["pension_institution"], name="金额校验")
    furnish(case, cst(2026, 12, 1))
    rs01 = task_of(case, "RS01")
    with pytest.raises(chain.ChainError) as refused:
        chain.complete_task(db.session, rs01, user("rs"), amount=amount)
    assert refused.value.field == "amount" and message in str(refused.value)
    assert rs01.status == "ready" and rs01.payout_amount is None
    db.session.rollback()


def test_an_item_that_pays_nothing_takes_no_amount(ctx, required):
    case = make_case("window", ["pension_institution"], name="无支付")
    furnish(case, cst(2026, 12, 1))
    ga01 = task_of(case, "GA01")
    with pytest.raises(chain.ChainError) as refused:
        chain.complete_task(db.session, ga01, user("ga"), amount="10")
    assert refused.value.field == "amount" and "不涉及支付" in str(refused.value)
    chain.complete_task(db.session, ga01, user("ga"), note="已注销户口", amount="")
    assert ga01.status == "completed" and ga01.payout_amount is None
    db.session.rollback()


# --- completing on the API and the screens --------------------------------------------


def test_the_api_refuses_a_payout_without_an_amount_and_answers_it(app, client, required, open_rs01):
    _case_id, task_id, version = open_rs01
    rs = jwt_headers(client, "rs")
    url = f"/api/v1/task/{task_id}/transition"
    refused = client.post(url, headers=rs, json={"action": "complete", "version": version})
    assert refused.status_code == 422 and "请填写支付金额" in refused.get_json()["errors"]["amount"][0]
    refused = client.post(url, headers=rs, json={"action": "complete", "version": version, "amount": "1.001"})
    assert refused.status_code == 422 and "两位小数" in refused.get_json()["message"]
    done = client.post(url, headers=rs, json={"action": "complete", "version": version, "amount": "3200.5",
                                              "note": "已支付"})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["status"] == "completed" and body["payout_amount"] == "3200.50"
    assert datetime.date.fromisoformat(body["payout_expected_date"]) > datetime.date(2026, 12, 1)
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.payout_amount == decimal.Decimal("3200.50")
        db.session.remove()


def test_the_screen_asks_for_the_amount_of_a_payout(app, client, required, open_rs01):
    case_id, task_id, version = open_rs01
    login(client, "rs")
    page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
    assert 'name="amount"' in page and "支付金额（元）" in page
    refused = client.post(f"/case-actions/task/{task_id}/complete", data={"version": version, "note": "已支付"},
                          follow_redirects=True)
    assert "请填写支付金额" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Task, task_id).status == "ready"
        db.session.remove()
    done = client.post(f"/case-actions/task/{task_id}/complete",
                       data={"version": version, "note": "已支付", "amount": "4,100.00"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "支付4100.00元" in page
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.status == "completed" and task.payout_amount == decimal.Decimal("4100.00")
        db.session.remove()


# --- the notice ---------------------------------------------------------------------


def test_the_notice_prints_every_items_result(ctx, tmp_path):
    case = retiree_completed("孙桂兰")
    content = pdf.completion_notice(case)
    drawn = drawn_text(content, tmp_path)

    assert "横峰县“身后一件事”联办办结告知书" in drawn
    assert case.case_no in drawn and "孙桂兰" in drawn and "测试家属" in drawn
    for task in case.tasks:
        assert f"{task.item.code}{task.item.name}" in drawn, task.item.code
        assert task.department.name in drawn
    assert "已办结" in drawn and "不予办理" in drawn and REJECTED["CL01"] in drawn
    assert NOTES["GA01"] in drawn
    assert "12,345.60" in drawn and "1,830.25" in drawn and "合计14,175.85元" in drawn
    assert "2026年10月27日" in drawn  # the expected arrival of both payouts
    assert "办结日期：2026年9月30日" in drawn  # the case, and each item's finish date
    assert drawn.count("2026年9月30日") >= 1 + len(case.tasks)
    assert "横府办字〔2021〕42号" in drawn
    assert_one_a4_page(content)
    assert_chinese_font_embedded(content, tmp_path)


def test_markup_in_a_note_is_printed_as_text(ctx, tmp_path):
    case = make_case("window", ["pension_institution"], name="<b>标记</b>")
    furnish(case, cst(2026, 12, 1))
    chain.complete_task(db.session, task_of(case, "MZ01"), user("window"))
    for task in case.tasks:
        if task.status in chain.IN_HAND_STATES:
            chain.reject_task(db.session, task, clerk_of(task), "<script>alert(1)</script>")
    assert case.status == "completed"
    html = pdf.render_html("completion_notice.html", **pdf.completion_context(case))
    assert "&lt;script&gt;" in html and "&lt;b&gt;标记" in html and "<script>" not in html
    assert "<script>alert(1)</script>" in drawn_text(pdf.completion_notice(case), tmp_path)
    db.session.rollback()


def _audited(app, case_id):
    with app.app_context():
        count = db.session.query(AuditLog).filter_by(case_id=case_id, action="completion_notice_printed").count()
        db.session.remove()
    return count


def test_the_window_and_the_supervisor_print_the_notice(app, client, completed):
    case_id, case_no = completed
    before = _audited(app, case_id)
    for username in ("window", "supervisor"):
        answer = client.get(f"/api/v1/case/{case_id}/completion-notice", headers=jwt_headers(client, username))
        assert answer.status_code == 200 and answer.mimetype == "application/pdf", username
        assert answer.data.startswith(b"%PDF") and case_no in answer.headers["Content-Disposition"]
        login(client, username)
        answer = client.get(f"/case-actions/{case_id}/completion-notice")
        assert answer.status_code == 200 and answer.data.startswith(b"%PDF"), username
    assert _audited(app, case_id) == before + 4

    login(client, "window")
    page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
    assert "打印办结告知书" in page and f"/case-actions/{case_id}/completion-notice" in page


def test_another_county_sees_no_notice(app, client, completed):
    case_id, _case_no = completed
    before = _audited(app, case_id)
    for username in ("yy-window", "yy-ga"):
        answer = client.get(f"/api/v1/case/{case_id}/completion-notice", headers=jwt_headers(client, username))
        assert answer.status_code in ((404,) if username == "yy-window" else (403, 404)), username
    login(client, "yy-window")
    assert client.get(f"/case-actions/{case_id}/completion-notice").status_code == 404
    # A department clerk handles its items; printing the notice is the window's.
    assert client.get(f"/api/v1/case/{case_id}/completion-notice",
                      headers=jwt_headers(client, "rs")).status_code in (403, 404)
    assert _audited(app, case_id) == before


def test_no_notice_before_the_case_completes(app, client, open_rs01):
    case_id, _task_id, _version = open_rs01
    answer = client.get(f"/api/v1/case/{case_id}/completion-notice", headers=jwt_headers(client, "window"))
    assert answer.status_code == 409 and "尚未办结" in answer.get_json()["message"]
    login(client, "window")
    page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
    assert "打印办结告知书" not in page
    answer = client.get(f"/case-actions/{case_id}/completion-notice", follow_redirects=True)
    assert answer.status_code == 200 and "尚未办结" in answer.get_data(as_text=True)
    assert _audited(app, case_id) == 0
    with app.app_context():
        assert db.session.get(Case, case_id).status != "completed"
        db.session.remove()
