"""Task transitions (SPEC "One chain"): accept, complete, reject with a reason, request
a supplement that stops the clock until the window adds what was asked for; the case
rolls up and the window may cancel it. On the screens, through the API, and under two
clerks completing the same task at once (meaningful on PostgreSQL; CI runs it there)."""

import datetime
import io
import re
import threading

import pytest

from app.domain import chain
from app.extensions import db
from app.models import AuditLog, Case, DepartmentUser, Material, Task
from tests.conftest import jwt_headers, login
from tests.factories import make_case

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STALE = "该任务已被他人修改，请刷新后重试。"
ALREADY_COMPLETED = "任务处于“已办结”状态，不能办结。"


def cst(y, m, d, hour=10):
    """A naive UTC timestamp for a time of day in China Standard Time."""
    return datetime.datetime(y, m, d, hour) - datetime.timedelta(hours=8)


def user(name):
    return db.session.query(DepartmentUser).filter_by(username=name).one()


def material(code):
    return db.session.query(Material).filter_by(code=code).one()


def task_of(case, code):
    return next(t for t in case.tasks if t.item.code == code)


def scan(case, code, when=None):
    chain.add_material(db.session, case, material(code), user("window"), content=PDF, filename=f"{code}.pdf",
                       now=when)


def audit_actions(task_id):
    rows = db.session.query(AuditLog).filter_by(object_type="task", object_id=task_id).order_by(AuditLog.id).all()
    return [(r.action, r.from_state, r.to_state, r.reason) for r in rows]


def rs01_case(name, when=None):
    """A case whose RS01 (人社, 4 working days) is ready: death proof and card scanned."""
    case = make_case("window", ["pension_institution"], name=name)
    scan(case, "DEATH_PROOF", when)
    scan(case, "BANK_OR_SSC_CARD", when)
    db.session.commit()
    return case


@pytest.fixture
def rs01(app):
    """(case id, RS01 task id, its version), committed."""
    with app.app_context():
        case = rs01_case("转办")
        task = task_of(case, "RS01")
        ids = (case.id, task.id, task.version)
        db.session.remove()
    return ids


def load(app, task_id):
    with app.app_context():
        task = db.session.get(Task, task_id)
        answer = {"status": task.status, "version": task.version, "deadline": task.deadline,
                  "case_status": task.case.status, "result_note": task.result_note}
        db.session.remove()
    return answer


# --- the domain ---------------------------------------------------------------------


def test_a_supplement_stops_the_clock_and_it_runs_on_from_where_it_stopped(ctx):
    case = rs01_case("补正", when=cst(2026, 9, 25))  # Friday
    rs01 = task_of(case, "RS01")
    # 09-28, 09-29, 09-30, then 10-01..10-07 off, 10-08.
    assert rs01.status == "ready" and rs01.deadline == datetime.date(2026, 10, 8)
    chain.request_supplement(db.session, rs01, user("rs"), "银行卡扫描件不清晰", ["BANK_OR_SSC_CARD"],
                             now=cst(2026, 9, 29))
    db.session.commit()
    assert rs01.status == "supplement_requested" and case.status == "in_progress"
    assert rs01.supplement_days_left == 2  # 09-30 and 10-08 were left of 4
    assert rs01.supplement_materials == "BANK_OR_SSC_CARD"
    # Another material does not answer the request.
    chain.add_material(db.session, case, material("DECEASED_ID"), user("window"), original_checked=True,
                       now=cst(2026, 10, 8))
    assert rs01.status == "supplement_requested"
    # The card arrives on Friday 10-09: two working days from then, Saturday 10-10 is worked.
    scan(case, "BANK_OR_SSC_CARD", cst(2026, 10, 9))
    db.session.commit()
    assert rs01.status == "ready" and rs01.deadline == datetime.date(2026, 10, 12)
    assert rs01.supplement_days_left is None and rs01.supplement_materials is None
    assert audit_actions(rs01.id)[-2:] == [
        ("supplement_requested", "ready", "supplement_requested", "银行卡扫描件不清晰"),
        ("supplement_received", "supplement_requested", "ready", None),
    ]
    chain.accept_task(db.session, rs01, user("rs"))
    chain.complete_task(db.session, rs01, user("rs"), note="已支付", amount="1000.00")
    db.session.commit()
    assert rs01.status == "completed"


def test_a_supplement_of_two_materials_resumes_once_both_arrived(ctx):
    case = rs01_case("两项补正", when=cst(2026, 12, 1))  # Tuesday: deadline Monday 12-07
    rs01 = task_of(case, "RS01")
    assert rs01.deadline == datetime.date(2026, 12, 7)
    chain.accept_task(db.session, rs01, user("rs"), now=cst(2026, 12, 2))
    chain.request_supplement(db.session, rs01, user("rs"), "均不清晰", ["DEATH_PROOF", "BANK_OR_SSC_CARD"],
                             now=cst(2026, 12, 3))
    assert rs01.supplement_days_left == 2  # 12-04, 12-07
    scan(case, "DEATH_PROOF", cst(2026, 12, 7))
    assert rs01.status == "supplement_requested" and rs01.supplement_materials == "BANK_OR_SSC_CARD"
    scan(case, "BANK_OR_SSC_CARD", cst(2026, 12, 8))
    assert rs01.status == "ready" and rs01.deadline == datetime.date(2026, 12, 10)
    db.session.commit()


def test_a_supplement_needs_a_note_and_materials_of_the_item(ctx):
    case = rs01_case("补正校验")
    rs01 = task_of(case, "RS01")
    for note, codes, field in [
        ("", ["BANK_OR_SSC_CARD"], "note"),
        ("   ", ["BANK_OR_SSC_CARD"], "note"),
        ("缺材料", [], "materials"),
        ("缺材料", ["APPLICANT_PHOTO"], "materials"),  # GJJ01's material, not RS01's
        ("缺材料", ["NO_SUCH"], "materials"),
    ]:
        with pytest.raises(chain.ChainError) as refused:
            chain.request_supplement(db.session, rs01, user("rs"), note, codes)
        assert refused.value.field == field
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(refused.value))  # said in Chinese
        assert rs01.status == "ready" and rs01.supplement_note is None
    db.session.rollback()


def test_rejecting_needs_a_reason_and_a_task_in_hand(ctx):
    case = rs01_case("不予办理")
    rs01 = task_of(case, "RS01")
    mz01 = task_of(case, "MZ01")  # waiting for the originals
    with pytest.raises(chain.ChainError) as refused:
        chain.reject_task(db.session, rs01, user("rs"), "  ")
    assert refused.value.field == "reason" and "原因" in str(refused.value)
    with pytest.raises(chain.ChainError) as refused:
        chain.reject_task(db.session, mz01, user("window"), "不符合条件")
    assert refused.value.field is None and "不能" in str(refused.value)
    chain.reject_task(db.session, rs01, user("rs"), "非机关事业单位人员")
    db.session.commit()
    assert rs01.status == "rejected" and rs01.result_note == "非机关事业单位人员" and rs01.finished_at
    assert audit_actions(rs01.id)[-1] == ("task_rejected", "ready", "rejected", "非机关事业单位人员")
    for move in (lambda t: chain.accept_task(db.session, t, user("rs")),
                 lambda t: chain.complete_task(db.session, t, user("rs"), amount="1000.00"),
                 lambda t: chain.reject_task(db.session, t, user("rs"), "再次"),
                 lambda t: chain.request_supplement(db.session, t, user("rs"), "补", ["DEATH_PROOF"])):
        with pytest.raises(chain.ChainError):
            move(rs01)
    db.session.rollback()


def test_the_case_completes_when_every_task_is_completed_or_rejected(ctx):
    case = make_case("window", ["pension_institution"], name="办结")
    window = user("window")
    for code in ("DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID"):
        chain.add_material(db.session, case, material(code), window, original_checked=True)
    for code in ("DEATH_PROOF", "BANK_OR_SSC_CARD", "HUKOU_BOOK", "DECEASED_ID", "APPLICANT_ID"):
        scan(case, code)
    assert {t.item.code: t.status for t in case.tasks} == {"MZ01": "ready", "RS01": "ready", "GA01": "ready"}
    assert case.status == "registered"  # ready is not yet a move
    chain.accept_task(db.session, task_of(case, "RS01"), user("rs"))
    assert case.status == "in_progress"
    chain.reject_task(db.session, task_of(case, "RS01"), user("rs"), "不符合条件")
    assert case.status == "in_progress"
    chain.complete_task(db.session, task_of(case, "MZ01"), window)
    assert case.status == "in_progress"
    chain.complete_task(db.session, task_of(case, "GA01"), user("ga"), note="已注销户口")
    db.session.commit()
    assert {t.status for t in case.tasks} == {"completed", "rejected"}
    assert case.status == "completed" and case.completed_at


def test_cancelling_closes_the_open_tasks_and_the_case(ctx):
    case = rs01_case("撤销")
    window = user("window")
    with pytest.raises(chain.ChainError) as refused:
        chain.cancel_case(db.session, case, window, "")
    assert refused.value.field == "reason"
    assert case.status == "registered"
    chain.cancel_case(db.session, case, window, "家属申请撤回")
    db.session.commit()
    assert case.status == "cancelled" and case.cancel_reason == "家属申请撤回" and case.cancelled_at
    assert {t.status for t in case.tasks} == {"rejected"}
    assert {t.result_note for t in case.tasks} == {"案件已撤销：家属申请撤回"}
    entries = db.session.query(AuditLog).filter_by(case_id=case.id, action="case_cancelled").all()
    assert [(e.from_state, e.to_state, e.reason) for e in entries] == [("registered", "cancelled", "家属申请撤回")]
    with pytest.raises(chain.ChainError):
        chain.cancel_case(db.session, case, window, "再次")
    with pytest.raises(chain.ChainError):
        scan(case, "DECEASED_ID")
    db.session.rollback()


# --- the API ------------------------------------------------------------------------


def _move(client, headers, task_id, **body):
    return client.post(f"/api/v1/task/{task_id}/transition", headers=headers, json=body)


def test_every_transition_through_the_api(app, client, rs01):
    case_id, task_id, version = rs01
    rs = jwt_headers(client, "rs")
    assert _move(client, rs, task_id, action="sign", version=version).status_code == 400
    refused = _move(client, rs, task_id, action="reject", version=version)
    assert refused.status_code == 422 and "原因" in refused.get_json()["errors"]["reason"][0]
    refused = _move(client, rs, task_id, action="request_supplement", note="缺", materials=[], version=version)
    assert refused.status_code == 422 and "materials" in refused.get_json()["errors"]
    refused = _move(client, rs, task_id, action="request_supplement", materials=["DEATH_PROOF"], version=version)
    assert refused.status_code == 422 and "note" in refused.get_json()["errors"]
    assert load(app, task_id)["version"] == version  # nothing was written

    accepted = _move(client, rs, task_id, action="accept", version=version)
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    version = accepted.get_json()["version"]
    again = _move(client, rs, task_id, action="accept", version=version)
    assert again.status_code == 409 and "受理" in again.get_json()["message"]
    stale = _move(client, rs, task_id, action="complete", version=version - 1)
    assert stale.status_code == 409 and stale.get_json()["message"] == STALE

    asked = _move(client, rs, task_id, action="request_supplement", note="死亡证明模糊", materials=["DEATH_PROOF"],
                  version=version)
    assert asked.status_code == 200, asked.get_json()
    body = asked.get_json()
    assert body["status"] == "supplement_requested" and body["supplement"]["materials"] == ["DEATH_PROOF"]
    assert _move(client, rs, task_id, action="complete", version=body["version"]).status_code == 409
    assert load(app, task_id)["case_status"] == "in_progress"

    window = jwt_headers(client, "window")
    added = client.post(f"/api/v1/case/{case_id}/materials", headers=window, content_type="multipart/form-data",
                        data={"material_code": "DEATH_PROOF", "file": (io.BytesIO(PDF), "proof.pdf")})
    assert added.status_code == 201
    task = next(t for t in added.get_json()["case"]["tasks"] if t["id"] == task_id)
    assert task["status"] == "ready"
    done = _move(client, rs, task_id, action="complete", note="已支付", amount="1000.00", version=task["version"])
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    assert done.get_json()["result_note"] == "已支付"


def test_the_api_requires_the_version_read_as_an_integer(app, client, rs01):
    _case_id, task_id, version = rs01
    rs = jwt_headers(client, "rs")
    for bad in ({}, {"version": None}, {"version": "abc"}, {"version": 1.5}, {"version": True}, {"version": [version]}):
        refused = _move(client, rs, task_id, action="accept", **bad)
        assert refused.status_code == 422, (bad, refused.get_json())
        assert list(refused.get_json()["errors"]) == ["version"] and "版本" in refused.get_json()["errors"]["version"][0]
    stale = _move(client, rs, task_id, action="accept", version=str(version + 1))
    assert stale.status_code == 409 and stale.get_json()["message"] == STALE
    assert load(app, task_id)["status"] == "ready" and load(app, task_id)["version"] == version
    accepted = _move(client, rs, task_id, action="accept", version=str(version))  # digits as text, as forms post
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"


def test_the_openapi_description_requires_the_version(client):
    spec = client.get("/api/v1/_openapi", headers=jwt_headers(client, "rs")).get_json()
    post = spec["paths"]["/api/v1/task/{pk}/transition"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"action", "version"} and body["properties"]["version"]["type"] == "integer"
    assert {"200", "409", "422"} <= set(post["responses"])


def test_completing_needs_a_result_note(app, client, rs01):
    _case_id, task_id, version = rs01
    rs = jwt_headers(client, "rs")
    for note in (None, "", "   "):
        refused = _move(client, rs, task_id, action="complete", amount="1000.00", version=version, note=note)
        assert refused.status_code == 422, refused.get_json()
        assert list(refused.get_json()["errors"]) == ["note"] and "办理结果" in refused.get_json()["errors"]["note"][0]
    assert load(app, task_id)["status"] == "ready"
    done = _move(client, rs, task_id, action="complete", amount="1000.00", version=version, note=" 已支付 ")
    assert done.status_code == 200 and done.get_json()["result_note"] == "已支付"


def test_completing_cremation_needs_no_note_its_result_is_the_certificate(ctx):
    case = make_case("window", [], name="火化无备注")
    for code in ("DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID"):
        chain.add_material(db.session, case, material(code), user("window"), original_checked=True)
    mz01 = task_of(case, "MZ01")
    chain.complete_task(db.session, mz01, user("window"))
    assert mz01.status == "completed" and mz01.result_note is None
    assert any(m.material.code == "CREMATION_CERT" for m in case.materials)
    db.session.rollback()


def test_reject_through_the_api(app, client, rs01):
    _case_id, task_id, version = rs01
    answer = _move(client, jwt_headers(client, "rs"), task_id, action="reject", reason="不符合条件", version=version)
    assert answer.status_code == 200 and answer.get_json()["status"] == "rejected"
    assert load(app, task_id)["result_note"] == "不符合条件"


def test_only_the_tasks_department_moves_it_through_the_api(app, client, rs01):
    _case_id, task_id, version = rs01
    for outsider in ("yb", "yy-ga", "ga"):  # other departments: the task does not exist for them
        answer = _move(client, jwt_headers(client, outsider), task_id, action="accept", version=version)
        assert answer.status_code == 404, outsider
    for reader in ("supervisor", "manager"):
        answer = _move(client, jwt_headers(client, reader), task_id, action="accept", version=version)
        assert answer.status_code in (403, 404), reader
    # The window follows the case but RS01 is not its department's task.
    answer = _move(client, jwt_headers(client, "window"), task_id, action="accept", version=version)
    assert answer.status_code == 403
    assert load(app, task_id)["status"] == "ready"


def test_the_window_cancels_a_case_through_the_api(app, client, rs01):
    case_id, task_id, _version = rs01
    url = f"/api/v1/case/{case_id}/cancel"
    for outsider, expected in (("rs", (403, 404)), ("supervisor", (403, 404)), ("yy-window", (404,))):
        answer = client.post(url, headers=jwt_headers(client, outsider), json={"reason": "越权"})
        assert answer.status_code in expected, outsider
    window = jwt_headers(client, "window")
    refused = client.post(url, headers=window, json={})
    assert refused.status_code == 422 and "原因" in refused.get_json()["errors"]["reason"][0]
    assert load(app, task_id)["case_status"] == "registered"
    done = client.post(url, headers=window, json={"reason": "家属撤回申请"})
    assert done.status_code == 200 and done.get_json()["status"] == "cancelled"
    assert {t["status"] for t in done.get_json()["tasks"]} == {"rejected"}
    assert client.post(url, headers=window, json={"reason": "再次"}).status_code == 409
    assert load(app, task_id)["result_note"] == "案件已撤销：家属撤回申请"


# --- the screens --------------------------------------------------------------------


def test_a_department_moves_its_task_on_the_case_screen(app, client, rs01):
    case_id, task_id, version = rs01
    login(client, "rs")
    page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
    for label in ("受理", "办结", "不予办理", "要求补正", "逝者银行卡或社保卡"):
        assert label in page, label
    assert "撤销案件" not in page

    url = f"/case-actions/task/{task_id}"
    refused = client.post(f"{url}/reject", data={"version": version, "reason": ""}, follow_redirects=True)
    assert "请填写不予办理的原因" in refused.get_data(as_text=True)
    assert load(app, task_id)["status"] == "ready"
    refused = client.post(f"{url}/supplement", data={"version": version, "note": "缺"}, follow_redirects=True)
    assert "请至少选择一项需要补正的材料" in refused.get_data(as_text=True)

    assert client.post(f"{url}/accept", data={"version": version}).status_code == 302
    state = load(app, task_id)
    assert state["status"] == "accepted" and state["case_status"] == "in_progress"
    stale = client.post(f"{url}/complete", data={"version": version}, follow_redirects=True)
    assert STALE in stale.get_data(as_text=True) and load(app, task_id)["status"] == "accepted"

    asked = client.post(f"{url}/supplement", follow_redirects=True, data={
        "version": state["version"], "note": "卡号不清", "materials": ["BANK_OR_SSC_CARD"]})
    assert "已要求补正" in asked.get_data(as_text=True)
    assert load(app, task_id)["status"] == "supplement_requested"

    login(client, "window")
    page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
    assert "待补正" in page and "卡号不清" in page and "撤销案件" in page
    client.post(f"/case-actions/{case_id}/material", content_type="multipart/form-data",
                data={"material_code": "BANK_OR_SSC_CARD", "file": (io.BytesIO(PDF), "card.pdf")})
    state = load(app, task_id)
    assert state["status"] == "ready"

    login(client, "rs")
    done = client.post(f"{url}/reject", data={"version": state["version"], "reason": "非本县参保"},
                       follow_redirects=True)
    assert "不予办理" in done.get_data(as_text=True)
    assert load(app, task_id)["status"] == "rejected"


def test_the_screen_refuses_a_move_without_the_version_or_a_result(app, client, rs01):
    case_id, task_id, version = rs01
    login(client, "rs")
    page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
    complete_form = page.split(f"/case-actions/task/{task_id}/complete", 1)[1].split("</form>", 1)[0]
    assert re.search(r'<input[^>]*name="note"[^>]*required', complete_form)  # the browser asks first
    url = f"/case-actions/task/{task_id}"
    refused = client.post(f"{url}/accept", data={}, follow_redirects=True)
    assert "请提供所读取任务的版本号" in refused.get_data(as_text=True)
    refused = client.post(f"{url}/complete", data={"version": version, "amount": "1000.00", "note": " "},
                          follow_redirects=True)
    assert "请填写办理结果" in refused.get_data(as_text=True)
    assert load(app, task_id)["status"] == "ready" and load(app, task_id)["version"] == version
    done = client.post(f"{url}/complete", data={"version": version, "amount": "1000.00", "note": "已支付"},
                       follow_redirects=True)
    assert "已办结" in done.get_data(as_text=True) and load(app, task_id)["result_note"] == "已支付"


def test_others_cannot_move_a_task_on_the_screens(app, client, rs01):
    _case_id, task_id, version = rs01
    for outsider in ("yb", "yy-ga", "ga"):
        login(client, outsider)
        for action, data in (("accept", {}), ("complete", {}), ("reject", {"reason": "x"}),
                             ("supplement", {"note": "x", "materials": ["DEATH_PROOF"]})):
            answer = client.post(f"/case-actions/task/{task_id}/{action}", data={"version": version, **data})
            assert answer.status_code == 404, (outsider, action)
    for reader in ("supervisor", "manager"):
        login(client, reader)
        answer = client.post(f"/case-actions/task/{task_id}/accept", data={"version": version})
        assert answer.status_code in (302, 403, 404)  # FAB redirects a user without the permission
    login(client, "window")
    assert client.post(f"/case-actions/task/{task_id}/accept", data={"version": version}).status_code == 403
    assert load(app, task_id)["status"] == "ready" and load(app, task_id)["version"] == version


def test_the_window_cancels_a_case_on_the_screen(app, client, rs01):
    case_id, task_id, _version = rs01
    for outsider in ("rs", "supervisor", "yy-window"):
        login(client, outsider)
        answer = client.post(f"/case-actions/{case_id}/cancel", data={"reason": "越权"})
        assert answer.status_code in (302, 403, 404), outsider
        assert load(app, task_id)["case_status"] == "registered"
    login(client, "window")
    refused = client.post(f"/case-actions/{case_id}/cancel", data={"reason": " "}, follow_redirects=True)
    assert "请填写撤销案件的原因" in refused.get_data(as_text=True)
    assert load(app, task_id)["case_status"] == "registered"
    done = client.post(f"/case-actions/{case_id}/cancel", data={"reason": "家属撤回"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "已撤销" in page and "家属撤回" in page
    assert load(app, task_id)["case_status"] == "cancelled" and load(app, task_id)["status"] == "rejected"


# --- two clerks at once -------------------------------------------------------------


def _complete_at_once(app, task_id, version, results, barrier):
    """Each clerk read the task (its own session and transaction, which then ends, as a
    page view does); both then complete it with the version they read."""
    with app.app_context():
        task = db.session.get(Task, task_id)
        clerk = user("rs")
        assert task.version == version
        _ = [(t.status, t.item.produces_material) for t in task.case.tasks]  # what completing reads
        db.session().expire_on_commit = False  # keep what was read, as the other clerk's page does
        db.session.commit()  # end the read: on SQLite every transaction holds the write lock
        barrier.wait(timeout=30)
        try:
            chain.complete_task(db.session, task, clerk, note=threading.current_thread().name, amount="1000.00")
            db.session.commit()
            results.append("won")
        except chain.ChainError as exc:
            db.session.rollback()
            results.append("stale" if exc.stale else str(exc))
        finally:
            db.session.remove()


def test_exactly_one_of_two_concurrent_completions_wins(app, rs01):
    _case_id, task_id, version = rs01
    results, barrier = [], threading.Barrier(2)
    threads = [threading.Thread(target=_complete_at_once, args=(app, task_id, version, results, barrier),
                                name=f"clerk-{n}") for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["stale", "won"]
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.status == "completed" and task.version == version + 1
        assert db.session.query(AuditLog).filter_by(action="task_completed", object_id=task_id).count() == 1
        db.session.remove()


def test_exactly_one_of_two_concurrent_api_completions_wins(app, rs01):
    _case_id, task_id, version = rs01
    clients = [app.test_client() for _ in range(2)]
    headers = [jwt_headers(c, "rs") for c in clients]
    answers, barrier = [], threading.Barrier(2)

    def complete(n):
        barrier.wait(timeout=30)
        answer = _move(clients[n], headers[n], task_id, action="complete", version=version, amount="1000.00",
                       note="已支付")
        answers.append((answer.status_code, answer.get_json().get("message")))

    threads = [threading.Thread(target=complete, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(code for code, _m in answers) == [200, 409]
    # Told its version is stale, or (where the loser read the task after the winner's
    # commit, as SQLite's serialised transactions make it) that it is completed already.
    assert next(m for code, m in answers if code == 409) in (STALE, ALREADY_COMPLETED)
    with app.app_context():
        assert db.session.get(Task, task_id).status == "completed"
        assert db.session.get(Case, _case_id).status == "in_progress"
        db.session.remove()


# --- two departments finishing a case's last two tasks at once -----------------------


def _case_with_two_tasks_left(app):
    """A case whose cremation is done and whose last two tasks, GA01 (公安) and CL01
    (残联), are ready: (case id, {item code: task id})."""
    with app.app_context():
        case = make_case("window", ["disability_certificate"], name="同时办结")
        window = user("window")
        for code in ("DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID"):
            chain.add_material(db.session, case, material(code), window, original_checked=True)
        for code in ("DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID"):
            scan(case, code)
        chain.complete_task(db.session, task_of(case, "MZ01"), window)
        db.session.commit()
        assert {t.item.code: t.status for t in case.tasks} == {"MZ01": "completed", "GA01": "ready", "CL01": "ready"}
        ids = case.id, {t.item.code: t.id for t in case.tasks}
        db.session.remove()
    return ids


def _finish_at_once(app, task_id, username, results, barrier):
    """A clerk has the case's page open (its tasks read, the reading transaction
    ended); then both clerks complete their task at the same moment."""
    with app.app_context():
        task = db.session.get(Task, task_id)
        clerk = user(username)
        _ = [(t.status, t.version) for t in task.case.tasks]  # what the page showed
        db.session().expire_on_commit = False  # keep what was read, as a page does
        db.session.commit()  # end the read: on SQLite every transaction holds the write lock
        barrier.wait(timeout=30)
        try:
            chain.complete_task(db.session, task, clerk, note=f"{username}已办结", version=task.version)
            db.session.commit()
            results.append(username)
        except Exception as exc:  # noqa: BLE001  (the assertion below names it)
            db.session.rollback()
            results.append(repr(exc))
        finally:
            db.session.remove()


def test_a_case_whose_last_two_tasks_finish_at_once_completes_exactly_once(app):
    from app.models import Notification
    from app.models.notify import CASE_COMPLETED

    case_id, tasks = _case_with_two_tasks_left(app)
    results, barrier = [], threading.Barrier(2)
    threads = [threading.Thread(target=_finish_at_once, args=(app, tasks[code], username, results, barrier))
               for code, username in (("GA01", "ga"), ("CL01", "cl"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["cl", "ga"]
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert {t.status for t in case.tasks} == {"completed"}
        assert case.status == "completed" and case.completed_at is not None
        # One event: every notification of the case's completion carries one occurrence.
        keys = [n.key for n in db.session.query(Notification).filter_by(case_id=case_id, event=CASE_COMPLETED)]
        assert keys and len({key.split(":")[2] for key in keys}) == 1, keys
        db.session.remove()
