"""The audit log screen (issue 4 "Audit"): every row in the words of the screens, and
each county's supervisors reading their county's rows, sign-ins included."""

import glob
import json
import os
import re

from app.domain import audit, chain, registry
from app.extensions import db
from app.models import AuditLog, Department, DepartmentUser, Material, Region
from app.models.case import CASE_COMPLETED, CASE_IN_PROGRESS
from app.views.audit import ACTION_LABELS
from tests.conftest import login
from tests.factories import PDF, make_case


def _listed_ids(page):
    return {int(pk) for pk in re.findall(r"/auditlogview/show/(\d+)", page)}


def _rows(page):
    """Entry id → the row's text."""
    rows = {}
    for match in re.finditer(r"<tr[^>]*>(.*?)</tr>", page, re.S):
        found = re.search(r"/auditlogview/show/(\d+)", match.group(1))
        if found:
            rows[int(found.group(1))] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()
    return rows


def _search_widget(page):
    """The search form as the page hands it to FAB's script: each column's field (its
    HTML) and the filters offered for it."""
    arguments = page.split("new AdminFilters(", 1)[1].split(");", 1)[0].splitlines()
    _labels, fields, filters, _active = (line.strip().rstrip(",") for line in arguments
                                         if line.strip().startswith(("{", "[")))
    return json.loads(fields), json.loads(filters)


def _latest(app, username, action):
    with app.app_context():
        entry_id = (db.session.query(AuditLog.id).filter_by(username=username, action=action)
                    .order_by(AuditLog.id.desc()).limit(1).scalar())
        db.session.remove()
    return entry_id


def test_the_audit_log_speaks_chinese_not_codes(app, client):
    with app.app_context():
        case = make_case("window", [], name="审计逝者")
        window = db.session.query(DepartmentUser).filter_by(username="window").one()
        proof = db.session.query(Material).filter_by(code="DEATH_PROOF").one()
        chain.add_material(db.session, case, proof, window, content=PDF, filename="proof.pdf")
        for code in ("DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID"):
            material = db.session.query(Material).filter_by(code=code).one()
            chain.add_material(db.session, case, material, window, original_checked=True)
        chain.complete_task(db.session, next(t for t in case.tasks if t.item.code == "MZ01"), window)
        db.session.commit()
        case_id = case.id
        db.session.remove()
    login(client, "supervisor")
    page = client.get("/auditlogview/list/?psize_AuditLogView=100").get_data(as_text=True)
    with app.app_context():
        entries = {e.action: e.id for e in db.session.query(AuditLog).filter_by(case_id=case_id)}
        db.session.remove()
    rows, table = _rows(page), page.split("<table", 1)[1].split("</table>", 1)[0]
    assert "添加材料 案件材料" in rows[entries["material_added"]]
    assert "办结任务 任务" in rows[entries["task_completed"]] and "待办理 已办结" in rows[entries["task_completed"]]
    assert "登记案件 案件" in rows[entries["case_registered"]]
    for code in ("material_added", "casematerial", "task_completed", "case_registered", ">ready<", ">completed<"):
        assert code not in table, code  # (the search form's choices carry the codes as their values)
    assert not re.search(r">\s*None\s*<", page)
    shown = client.get(f"/auditlogview/show/{entries['case_registered']}").get_data(as_text=True)
    assert "登记案件" in shown and not re.search(r">\s*None\s*<", shown)


def test_a_supervisor_sees_its_countys_sign_ins_and_not_the_other_countys(app, client):
    login(client, "ga")
    login(client, "yy-ga")
    login(client, "supervisor")
    ga, yy_ga, own = (_latest(app, name, "login") for name in ("ga", "yy-ga", "supervisor"))
    listed = _rows(client.get("/auditlogview/list/?psize_AuditLogView=100").get_data(as_text=True))
    assert ga in listed and own in listed and yy_ga not in listed
    assert "ga" in listed[ga] and "登录" in listed[ga]
    login(client, "sr-supervisor")  # the city's supervisor oversees both counties
    listed = _listed_ids(client.get("/auditlogview/list/?psize_AuditLogView=100").get_data(as_text=True))
    assert {ga, yy_ga} <= listed


def test_a_failed_sign_in_of_a_known_user_is_seen_in_its_county(app, client):
    client.get("/logout/")
    client.post("/login/", data={"username": "ga", "password": "wrong"})
    failed = _latest(app, "ga", "login_failed")
    login(client, "supervisor")
    rows = _rows(client.get("/auditlogview/list/?psize_AuditLogView=100").get_data(as_text=True))
    assert failed in rows and "登录失败" in rows[failed]


def test_the_audit_log_is_searched_by_choosing_an_action_not_by_typing_its_code(app, client):
    login(client, "ga")
    client.get("/logout/")
    client.post("/login/", data={"username": "ga", "password": "wrong"})
    signed_in, failed = _latest(app, "ga", "login"), _latest(app, "ga", "login_failed")
    login(client, "supervisor")
    fields, filters = _search_widget(client.get("/auditlogview/list/").get_data(as_text=True))
    assert re.search(r'<option value="task_completed">\s*办结任务\s*</option>', fields["action"])
    assert re.search(r'<option value="casematerial">\s*案件材料\s*</option>', fields["object_type"])
    assert filters["action"] == filters["object_type"] == ["等于", "不等于"]
    # The one action chosen: a sign-in is not a failed sign-in (as "starts with" would have it).
    listed = _listed_ids(client.get("/auditlogview/list/?_flt_0_action=login&psize_AuditLogView=100")
                         .get_data(as_text=True))
    assert signed_in in listed and failed not in listed
    listed = _listed_ids(client.get("/auditlogview/list/?_flt_1_action=login&psize_AuditLogView=100")
                         .get_data(as_text=True))
    assert failed in listed and signed_in not in listed


def test_a_user_of_two_counties_signs_in_under_their_city(ctx):
    def department(region_code, code):
        region = db.session.query(Region).filter_by(code=region_code).one()
        return db.session.query(Department).filter_by(region_id=region.id, code=code).one()

    hf, yy = department("361125", "GA"), department("361126", "GA")
    city = db.session.query(Region).filter_by(code="361100").one()
    assert audit.user_region_id(DepartmentUser(departments=[hf])) == hf.region_id
    assert audit.user_region_id(DepartmentUser(departments=[hf, department("361125", "RS")])) == hf.region_id
    assert audit.user_region_id(DepartmentUser(departments=[hf, yy])) == city.id
    assert audit.user_region_id(DepartmentUser(departments=[])) is None
    assert audit.user_region_id(None) is None
    db.session.rollback()


APP_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app")


def test_every_action_the_code_records_reads_in_chinese():
    """Each action code the code writes into the audit log has its words on the screen."""
    recorded = {registry.LOOKUP_ACTION, *(f"case_{state}" for state in (CASE_IN_PROGRESS, CASE_COMPLETED))}
    for path in glob.glob(os.path.join(APP_DIR, "**", "*.py"), recursive=True):
        with open(path, encoding="utf-8") as f:
            source = f.read()
        recorded |= set(re.findall(r'audit\.record\(\s*[\w.]+,\s*[\w.]+,\s*"(\w+)"', source))
        recorded |= set(re.findall(r'_audit_login\(user, "(\w+)"\)', source))
    assert {"case_edited", "task_completed", "login"} <= recorded  # the scan finds them
    assert not recorded - set(ACTION_LABELS), sorted(recorded - set(ACTION_LABELS))


def test_a_case_moving_on_its_own_is_audited_with_who_made_it_move(app):
    with app.app_context():
        case = make_case("window", [], name="案件流转")
        window = db.session.query(DepartmentUser).filter_by(username="window").one()
        ga = db.session.query(DepartmentUser).filter_by(username="ga").one()
        for code in ("DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID"):
            material = db.session.query(Material).filter_by(code=code).one()
            chain.add_material(db.session, case, material, window, original_checked=True)
        for code in ("HUKOU_BOOK", "DECEASED_ID", "APPLICANT_ID"):
            material = db.session.query(Material).filter_by(code=code).one()
            chain.add_material(db.session, case, material, window, content=PDF, filename=f"{code}.pdf")
        chain.complete_task(db.session, next(t for t in case.tasks if t.item.code == "MZ01"), window)
        chain.complete_task(db.session, next(t for t in case.tasks if t.item.code == "GA01"), ga, note="已注销户口")
        db.session.commit()
        moves = [(e.action, e.username, e.from_state, e.to_state)
                 for e in db.session.query(AuditLog).filter_by(case_id=case.id, object_type="case").order_by(AuditLog.id)]
        db.session.remove()
    assert moves == [
        ("case_registered", "window", None, "registered"),
        ("case_in_progress", "window", "registered", "in_progress"),
        ("case_completed", "ga", "in_progress", "completed"),
    ]
