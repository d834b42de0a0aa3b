"""一链办理: tasks wait for their materials, become ready with a deadline on the
working-day calendar, and cremation issues the 火化证明 that readies the rest."""

import datetime
import io
import os
import re

import pytest

from app.domain import chain
from app.domain.workdays import load_calendar
from app.extensions import db
from app.models import AuditLog, Case, CaseMaterial, DepartmentUser, Material, Task
from tests.conftest import jwt_headers, login
from tests.factories import ORIGINALS, PDF, SCANS, hand_in_papers, make_case

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
FACTS = ["pension_enterprise", "medical_employee", "disability_certificate"]


def cst(y, m, d, hour=10):
    """A naive UTC timestamp for a time of day in China Standard Time."""
    return datetime.datetime(y, m, d, hour) - datetime.timedelta(hours=8)


def user(name):
    return db.session.query(DepartmentUser).filter_by(username=name).one()


def material(code):
    return db.session.query(Material).filter_by(code=code).one()


def statuses(case):
    return {t.item.code: t.status for t in case.tasks}


def deadlines(case):
    return {t.item.code: t.deadline for t in case.tasks}


def test_the_chain_across_the_national_day_holiday(ctx):
    case = make_case("window", FACTS, name="国庆")
    assert set(statuses(case).values()) == {"waiting"}
    hand_in_papers(case, cst(2026, 9, 30))
    assert statuses(case) == {
        "MZ01": "ready", "GA01": "ready", "RS02": "waiting", "YB01": "ready", "YB02": "ready", "CL01": "ready",
    }
    # Ready on Wednesday 09-30: 10-01..10-07 are off, Saturday 10-10 is worked.
    assert deadlines(case) == {
        "MZ01": datetime.date(2026, 9, 30), "GA01": datetime.date(2026, 10, 9), "RS02": None,
        "YB01": datetime.date(2026, 10, 8), "YB02": datetime.date(2026, 10, 9), "CL01": datetime.date(2026, 10, 9),
    }
    mz01 = next(t for t in case.tasks if t.item.code == "MZ01")
    # Cremation on Thursday 10-08: the certificate readies RS02 (4 working days).
    chain.complete_task(db.session, mz01, user("window"), now=cst(2026, 10, 8))
    db.session.commit()
    assert statuses(case)["MZ01"] == "completed" and statuses(case)["RS02"] == "ready"
    assert deadlines(case)["RS02"] == datetime.date(2026, 10, 13)  # 10-09, 10-10 (Saturday, worked), 10-12, 10-13
    assert case.status == "in_progress"
    cert = [m for m in case.materials if m.material.code == "CREMATION_CERT"]
    assert len(cert) == 1 and cert[0].content_type == "application/pdf" and cert[0].sha256


def test_a_supplement_handed_in_later_readies_the_task_that_waited_for_it(ctx):
    case = make_case("window", ["housing_fund"], name="补交")
    window = user("window")
    for code in ("DEATH_PROOF", "DECEASED_ID", "BANK_CARD_CLASS1", "APPLICANT_ID"):
        chain.add_material(db.session, case, material(code), window, content=PNG, now=cst(2026, 12, 1))
    gjj = next(t for t in case.tasks if t.item.code == "GJJ01")
    assert gjj.status == "waiting"
    chain.add_material(db.session, case, material("APPLICANT_PHOTO"), window, content=JPEG, now=cst(2026, 12, 4))
    assert gjj.status == "ready" and gjj.deadline == datetime.date(2026, 12, 8)  # Friday + 2 working days
    db.session.commit()


def test_an_original_does_not_stand_in_for_a_scan(ctx):
    case = make_case("window", ["disability_certificate"], name="原件")
    chain.add_material(db.session, case, material("DEATH_PROOF"), user("window"), original_checked=True)
    assert statuses(case)["CL01"] == "waiting"
    db.session.rollback()


def test_the_window_flow_through_the_api(app, client):
    """Register, upload, print, complete cremation: 人社 and 残联 ready with deadlines."""
    headers = jwt_headers(client, "window")
    from tests.test_intake import _male_id, payload

    registered = client.post("/api/v1/case/", json=payload(**{"deceased.id_number": _male_id(birth="19380303")}),
                             headers=headers).get_json()
    case_id = registered["id"]
    for code in ORIGINALS:
        answer = client.post(f"/api/v1/case/{case_id}/materials", headers=headers,
                             data={"material_code": code, "original_checked": "true"})
        assert answer.status_code == 201, answer.get_json()
    for code in SCANS:
        answer = client.post(f"/api/v1/case/{case_id}/materials", headers=headers,
                             data={"material_code": code, "file": (io.BytesIO(PDF), f"{code}.pdf")},
                             content_type="multipart/form-data")
        assert answer.status_code == 201, answer.get_json()
    form = client.get(f"/api/v1/case/{case_id}/registration-form", headers=headers)
    assert form.status_code == 200 and form.mimetype == "application/pdf" and form.data.startswith(b"%PDF")
    tasks = {t["item_code"]: t for t in answer.get_json()["case"]["tasks"]}
    mz01 = tasks["MZ01"]
    done = client.post(f"/api/v1/task/{mz01['id']}/transition", headers=headers,
                       json={"action": "complete", "note": "已火化", "version": mz01["version"]})
    assert done.status_code == 200, done.get_json()
    with app.app_context():
        case = db.session.get(Case, case_id)
        calendar = load_calendar(db.session)
        states = statuses(case)
        assert states["RS02"] == "ready" and states["CL01"] == "ready"
        for task in case.tasks:
            if task.status == "ready":
                ready_day = (task.ready_at + datetime.timedelta(hours=8)).date()
                assert task.deadline == calendar.add_working_days(ready_day, task.item.time_limit_days)
        db.session.remove()
    again = client.post(f"/api/v1/task/{mz01['id']}/transition", headers=headers,
                        json={"action": "complete", "version": mz01["version"]})
    assert again.status_code == 409


def _upload(client, headers, case_id, content, name="x.pdf", code="DEATH_PROOF"):
    return client.post(f"/api/v1/case/{case_id}/materials", headers=headers,
                       data={"material_code": code, "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


@pytest.fixture
def open_case(app):
    with app.app_context():
        case = make_case("window", ["disability_certificate"], name="上传")
        case_id = case.id
        db.session.remove()
    return case_id


def test_file_types_are_judged_from_the_content(app, client, open_case):
    headers = jwt_headers(client, "window")
    refused = _upload(client, headers, open_case, b"MZ\x90\x00 not a pdf", name="scan.pdf")
    assert refused.status_code == 422
    assert "PDF" in refused.get_json()["errors"]["file"][0] and "内容" in refused.get_json()["errors"]["file"][0]
    assert _upload(client, headers, open_case, PNG, name="scan.pdf").status_code == 201  # a PNG named .pdf is a PNG
    with app.app_context():
        rows = db.session.query(CaseMaterial).filter_by(case_id=open_case).all()
        assert [r.content_type for r in rows] == ["image/png"]
        db.session.remove()


def test_the_size_limit_is_configurable_and_said_clearly(app, client, open_case, monkeypatch):
    monkeypatch.setitem(app.config, "MATERIAL_MAX_BYTES", 1024 * 1024)
    headers = jwt_headers(client, "window")
    answer = _upload(client, headers, open_case, PDF + b"0" * (1024 * 1024 + 10))
    assert answer.status_code == 422 and "1 MB" in answer.get_json()["errors"]["file"][0]
    with app.app_context():
        assert db.session.query(CaseMaterial).filter_by(case_id=open_case).count() == 0
        db.session.remove()


def test_files_are_stored_outside_served_folders_under_random_names(app, client, open_case):
    headers = jwt_headers(client, "window")
    body = _upload(client, headers, open_case, PDF, name="../../etc/passwd.pdf").get_json()
    with app.app_context():
        row = db.session.get(CaseMaterial, body["id"])
        path = os.path.join(app.config["MATERIALS_DIR"], row.stored_name)
        assert os.path.isfile(path) and "passwd" not in row.stored_name
        assert not path.startswith(os.path.join(app.root_path, "static"))
        import hashlib

        with open(path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == row.sha256 == body["sha256"]
        db.session.remove()


def test_material_downloads_are_scoped_and_recorded(app, client, open_case):
    headers = jwt_headers(client, "window")
    row_id = _upload(client, headers, open_case, PDF).get_json()["id"]
    login(client, "cl")  # 残联 needs the death proof for CL01
    got = client.get(f"/case-actions/material/{row_id}/download")
    assert got.status_code == 200 and got.data == PDF
    with app.app_context():
        entry = db.session.query(AuditLog).filter_by(action="material_downloaded", object_id=row_id).one()
        assert entry.username == "cl"
        db.session.remove()
    for outsider in ("rs", "yy-ga", "yy-window"):  # no task of theirs needs it
        login(client, outsider)
        assert client.get(f"/case-actions/material/{row_id}/download").status_code == 404
    login(client, "supervisor")
    assert client.get(f"/case-actions/material/{row_id}/download").status_code == 200


def test_only_the_cases_window_adds_materials(app, client, open_case):
    for outsider in ("rs", "supervisor"):
        answer = _upload(client, jwt_headers(client, outsider), open_case, PDF)
        assert answer.status_code in (403, 404)
    assert _upload(client, jwt_headers(client, "yy-window"), open_case, PDF).status_code == 404


def test_a_department_cannot_complete_another_departments_task(app, client):
    with app.app_context():
        case = make_case("window", [], name="越权办结")
        window = user("window")
        for code in ORIGINALS:
            chain.add_material(db.session, case, material(code), window, original_checked=True)
        db.session.commit()
        mz01 = next(t.id for t in case.tasks if t.item.code == "MZ01")
        db.session.remove()
    assert client.post(f"/api/v1/task/{mz01}/transition", headers=jwt_headers(client, "ga"),
                       json={"action": "complete"}).status_code == 404  # ga cannot see the window's task
    with app.app_context():
        assert db.session.get(Task, mz01).status == "ready"
        db.session.remove()


def test_the_window_completes_cremation_on_the_case_screen(app, client):
    with app.app_context():
        case = make_case("window", ["disability_certificate"], name="火化")
        window = user("window")
        for code in ORIGINALS:
            chain.add_material(db.session, case, material(code), window, original_checked=True)
        db.session.commit()
        case_id = case.id
        mz01 = next(t for t in case.tasks if t.item.code == "MZ01")
        mz01_id, version = mz01.id, mz01.version
        db.session.remove()
    login(client, "window")
    page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
    assert "办结" in page and "打印联办登记表" in page and "材料清单" in page
    answer = client.post(f"/case-actions/task/{mz01_id}/complete", data={"version": version})
    assert answer.status_code == 302
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert statuses(case)["MZ01"] == "completed" and statuses(case)["CL01"] == "ready"
        db.session.remove()


# --- What the window may hand in ----------------------------------------------------------------


def _register(app, facts, name):
    with app.app_context():
        case = make_case("window", facts, name=name)
        case_id = case.id
        db.session.remove()
    return case_id


def _rows(app, case_id):
    with app.app_context():
        found = sorted(r.material.code for r in db.session.query(CaseMaterial).filter_by(case_id=case_id))
        states = statuses(db.session.get(Case, case_id))
        db.session.remove()
    return found, states


def test_the_cremation_certificate_cannot_be_uploaded_before_cremation(app, client):
    case_id = _register(app, ["institution_staff"], "火化证明上传")
    headers = jwt_headers(client, "window")
    assert _upload(client, headers, case_id, PDF, code="DEATH_PROOF").status_code == 201
    refused = _upload(client, headers, case_id, PDF, code="CREMATION_CERT")
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["material_code"] == [
        "火化证明由系统在“办理火化事项”办结时出具，不能由窗口上传或登记。"]
    materials, states = _rows(app, case_id)
    assert materials == ["DEATH_PROOF"] and states["CZ01"] == "waiting"  # 财政 waits for cremation


@pytest.mark.parametrize("code, name", [("PENSION_HANDBOOK", "个人账户养老手册"), ("APPLICANT_PHOTO", "经办人现场拍照")])
def test_a_material_no_item_of_the_case_needs_is_refused(app, client, code, name):
    case_id = _register(app, ["institution_staff"], "多余材料")
    with app.app_context():
        case_no = db.session.get(Case, case_id).case_no
        db.session.remove()
    refused = client.post(f"/api/v1/case/{case_id}/materials", headers=jwt_headers(client, "window"),
                          data={"material_code": code, "original_checked": "true",
                                "file": (io.BytesIO(PDF), "x.pdf")}, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["material_code"] == [
        f"案件 {case_no} 的联办事项不需要{name}，只收取材料清单中的材料。"]
    assert _rows(app, case_id)[0] == []


def test_the_case_screen_offers_and_takes_only_what_the_window_hands_in(app, client):
    case_id = _register(app, ["institution_staff"], "窗口下拉")
    login(client, "window")
    page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
    offered = re.findall(r'<option value="([A-Z_0-9]+)">', page.split('name="material_code"', 1)[1].split("</select>")[0])
    assert "CREMATION_CERT" not in offered and {"DEATH_PROOF", "DECEASED_ID"} <= set(offered)
    assert "PENSION_HANDBOOK" not in offered  # not on this case's checklist
    answer = client.post(f"/case-actions/{case_id}/material", data={
        "material_code": "CREMATION_CERT", "file": (io.BytesIO(PDF), "cert.pdf")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert "火化证明由系统在“办理火化事项”办结时出具，不能由窗口上传或登记。" in answer.get_data(as_text=True)
    assert _rows(app, case_id)[0] == []


def test_either_or_materials_are_marked_on_the_case_page(app, client):
    case_id = _register(app, ["disability_certificate"], "或")
    login(client, "window")
    page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
    table = page.split("材料清单", 1)[1].split("</table>", 1)[0]
    rows = {re.sub(r"<[^>]+>|\s", "", cells[0]): re.sub(r"<[^>]+>|\s", "", cells[2])
            for cells in (re.findall(r"<td>(.*?)</td>", row, re.S) for row in table.split("<tr>")[2:]) if cells}
    assert rows["死亡证明"] == "MZ01、CL01（或火化证明）、GA01"
    assert rows["火化证明"] == "CL01（或死亡证明）"


# --- Files follow their transaction -------------------------------------------------------------


def _files(app):
    directory = app.config["MATERIALS_DIR"]
    return set(os.listdir(directory)) if os.path.isdir(directory) else set()


def test_a_failure_after_the_file_is_stored_leaves_no_file(app, client, monkeypatch):
    case_id = _register(app, ["disability_certificate"], "存储失败")
    headers = jwt_headers(client, "window")
    before = _files(app)

    def broken(*args, **kwargs):
        raise RuntimeError("the readiness check failed")

    monkeypatch.setattr(chain, "ready_waiting_tasks", broken)
    with pytest.raises(RuntimeError):
        _upload(client, headers, case_id, PDF, code="DEATH_PROOF")
    assert _files(app) == before
    assert _rows(app, case_id)[0] == []


def test_a_failed_commit_after_cremation_leaves_no_certificate_file(app):
    with app.app_context():
        case = make_case("window", ["disability_certificate"], name="提交失败")
        for code in ORIGINALS:
            chain.add_material(db.session, case, material(code), user("window"), original_checked=True)
        db.session.commit()
        before = _files(app)
        mz01 = next(t for t in case.tasks if t.item.code == "MZ01")
        chain.complete_task(db.session, mz01, user("window"))
        assert len(_files(app) - before) == 1  # the 火化证明 is written…
        db.session.add(AuditLog(action=None))  # …and the commit fails (NOT NULL)
        with pytest.raises(Exception):  # noqa: B017 (whichever driver error)
            db.session.commit()
        db.session.rollback()
        assert _files(app) == before
        db.session.remove()


def test_a_file_of_a_rolled_back_savepoint_goes_and_the_rest_stays(app):
    from app import storage

    with app.app_context():
        before = _files(app)
        kept, _type, _size, _sha = storage.store(PDF, db.session)
        with pytest.raises(RuntimeError), db.session.begin_nested():
            storage.store(PNG, db.session)
            raise RuntimeError("undo the savepoint")
        assert _files(app) - before == {kept}
        db.session.commit()
        assert _files(app) - before == {kept}
        storage.remove(kept)
        db.session.remove()


# --- A request above the server's limit ---------------------------------------------------------


@pytest.fixture
def small_limits(app, monkeypatch):
    """A 1 MB file limit and a 2 MB request limit, as MAX_UPLOAD_MB=1 would give."""
    monkeypatch.setitem(app.config, "MATERIAL_MAX_BYTES", 1024 * 1024)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2 * 1024 * 1024)


OVERSIZE = PDF + b"0" * (3 * 1024 * 1024)  # 3 MB: above the request limit, not only the file's


def test_an_upload_above_the_request_limit_answers_the_api_in_chinese_json(app, client, open_case, small_limits):
    answer = _upload(client, jwt_headers(client, "window"), open_case, OVERSIZE)
    assert answer.status_code == 413 and answer.is_json
    body = answer.get_json()
    assert body["message"].startswith("文件大小为 3.0 MB，超过 1 MB 的限制")
    assert body["errors"] == {"file": [body["message"]]}
    assert _rows(app, open_case)[0] == []


def test_an_upload_above_the_request_limit_is_flashed_on_the_case_screen(app, client, open_case, small_limits):
    login(client, "window")
    answer = client.post(f"/case-actions/{open_case}/material", data={
        "material_code": "DEATH_PROOF", "file": (io.BytesIO(OVERSIZE), "big.pdf")}, content_type="multipart/form-data")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/caseview/show/{open_case}")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "文件大小为 3.0 MB，超过 1 MB 的限制。" in page
    assert "Request Entity Too Large" not in page
    assert _rows(app, open_case)[0] == []
