"""The audit log screen (issue 4 "Audit"): every row in the words of the screens, and
each county's supervisors reading their county's rows, sign-ins included."""

import re

from app.domain import audit, chain
from app.extensions import db
from app.models import AuditLog, Department, DepartmentUser, Material, Region
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
    rows = _rows(page)
    assert "添加材料 案件材料" in rows[entries["material_added"]]
    assert "办结任务 任务" in rows[entries["task_completed"]] and "待办理 已办结" in rows[entries["task_completed"]]
    assert "登记案件 案件" in rows[entries["case_registered"]]
    for code in ("material_added", "casematerial", "task_completed", "case_registered", ">ready<", ">completed<"):
        assert code not in page, code
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
