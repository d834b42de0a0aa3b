"""The isolation matrix: for every role and for a clerk of each department of both
counties (and a clerk serving two departments, and 弋阳县's own supervisor and manager),
every screen operation, REST read, document, material download and the audit log, on
rows of their own department, another department and another county. What a user must
not see never appears and answers 404; a signed-in user whose role lacks the permission
outright gets 403 (an anonymous one is sent to the login page); nothing the matrix
tries changes a row."""

import re

import pytest
from werkzeug.security import generate_password_hash

from app import storage
from app.extensions import db
from app.models import AuditLog, Case, CaseMaterial, Department, DepartmentUser, Material, Region, Task
from tests.conftest import DEMO_PASSWORD, jwt_headers, login
from tests.factories import PDF, make_case

ALL_FACTS = [
    "dibao", "pension_enterprise", "institution_staff", "housing_fund", "medical_employee",
    "disability_certificate", "entitled_group",
]
HANDLING_DEPARTMENTS = ["BYG", "MZ", "RS", "GJJ", "YB", "CL", "TY", "CZ", "GA"]
COUNTIES = {"361125": "hf", "361126": "yy"}
TWO_DEPARTMENTS = "t-hf-rs+yb"  # a clerk of 横峰县 serving 人社局 and 医保局
# 弋阳县's own supervisor and manager (the demo seeds none).
YY_REGION_USERS = {"t-yy-supervisor": "Supervisor", "t-yy-manager": "Manager"}

# The scans each item of the attachment shares with its department (原件 are checked at
# the window and share nothing). PENSION_HANDBOOK only for the deceased insured before
# 2010-12 who died in service, which no case of the matrix is.
SCANS_OF_ITEM = {
    "MZ01": set(),
    "MZ02": {"DEATH_PROOF", "CREMATION_CERT"},
    "RS01": {"DEATH_PROOF", "BANK_OR_SSC_CARD"},
    "RS02": {"DECEASED_ID", "DEATH_PROOF", "CREMATION_CERT", "BANK_OR_SSC_CARD"},
    "RS03": {"DECEASED_ID", "DEATH_PROOF", "CREMATION_CERT", "BANK_OR_SSC_CARD"},
    "GJJ01": {"DEATH_PROOF", "DECEASED_ID", "BANK_CARD_CLASS1", "APPLICANT_ID", "APPLICANT_PHOTO"},
    "YB01": {"DECEASED_ID", "DEATH_PROOF", "CREMATION_CERT"},
    "YB02": {"BANK_CARD"},
    "CL01": {"DEATH_PROOF", "CREMATION_CERT"},
    "TY01": {"DEATH_PROOF", "BANK_CARD"},
    "CZ01": {"DEATH_PROOF", "CREMATION_CERT"},
    "GA01": {"HUKOU_BOOK", "DECEASED_ID", "APPLICANT_ID"},
}


ORIGINALS_OF_ITEM = {
    "MZ01": {"DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID"},
    "GA01": {"DEATH_PROOF"},
}


def _clerk_username(region_code, dept_code):
    return f"t-{COUNTIES[region_code]}-{dept_code.lower()}"


def _add_user(username, role, departments):
    if db.session.query(DepartmentUser).filter_by(username=username).first():
        return
    db.session.add(DepartmentUser(
        username=username, first_name=username, last_name="", email=f"{username}@test.invalid",
        active=True, password=generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000"),
        roles=[role], departments=departments,
    ))


def _store_every_material(case):
    """A scan of every material of the catalogue on the case, stored as the window
    stores them but written directly, so that no task moves (the matrix expects every
    task to stay waiting)."""
    rows = []
    for material in db.session.query(Material).order_by(Material.id):
        stored_name, content_type, size, sha256 = storage.store(PDF, db.session)
        row = CaseMaterial(case=case, material=material, original_checked=True, stored_name=stored_name,
                           content_type=content_type, size=size, sha256=sha256,
                           original_filename=f"{material.code}.pdf")
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    return rows


@pytest.fixture(scope="module")
def world(app):
    """Two full cases (one per county) with a scan of every material, a small case in
    横峰县, a clerk for each handling department of both counties, a clerk serving two
    departments and 弋阳县's supervisor and manager."""
    with app.app_context():
        sm = app.appbuilder.sm
        clerk_role, window_role = sm.find_role("Clerk"), sm.find_role("Window")
        regions = {code: db.session.query(Region).filter_by(code=code).one() for code in COUNTIES}

        def department(region_code, code):
            return db.session.query(Department).filter_by(region_id=regions[region_code].id, code=code).one()

        for region_code in COUNTIES:
            for code in HANDLING_DEPARTMENTS:
                _add_user(_clerk_username(region_code, code), window_role if code == "BYG" else clerk_role,
                          [department(region_code, code)])
        _add_user(TWO_DEPARTMENTS, clerk_role, [department("361125", "RS"), department("361125", "YB")])
        for username, role in YY_REGION_USERS.items():
            _add_user(username, sm.find_role(role), [department("361126", "ZW")])
        db.session.commit()
        full_hf = make_case("window", ALL_FACTS, name="横峰逝者")
        small_hf = make_case("window", [], name="横峰简单")
        full_yy = make_case("yy-window", ALL_FACTS, name="弋阳逝者")
        materials = {case.id: _store_every_material(case) for case in (full_hf, full_yy)}
        db.session.commit()
        cases = (full_hf, small_hf, full_yy)
        registered = {
            c.id: db.session.query(AuditLog.id).filter_by(action="case_registered", case_id=c.id).scalar()
            for c in cases
        }
        ids = {
            "cases": {c.id: (c.region.code, {t.department.code for t in c.tasks}) for c in cases},
            "tasks": {t.id: (t.case.region.code, t.department.code, t.case_id) for c in cases for t in c.tasks},
            "items": {c.id: {(t.department.code, t.item.code) for t in c.tasks} for c in cases},
            "materials": {
                row.id: (case_id, row.material.code) for case_id, rows in materials.items() for row in rows
            },
            "audit": {registered[c.id]: c.region.code for c in cases},
            "applicants": {c.id: c.applicant_name for c in cases},
        }
        db.session.remove()
        return ids


def _who(username):
    """(role, region code, department codes) of a user, for the expectations."""
    demo = {
        "admin": ("Admin", "361125", {"DSJ"}), "window": ("Window", "361125", {"BYG"}),
        "wj": ("CertIssuer", "361125", {"WJ"}), "supervisor": ("Supervisor", "361125", {"ZW"}),
        "manager": ("Manager", "361125", {"ZW"}), "yy-window": ("Window", "361126", {"BYG"}),
        "yy-ga": ("Clerk", "361126", {"GA"}), "sr-supervisor": ("Supervisor", "361100", {"ZW"}),
        TWO_DEPARTMENTS: ("Clerk", "361125", {"RS", "YB"}),
    }
    demo.update({username: (role, "361126", {"ZW"}) for username, role in YY_REGION_USERS.items()})
    for code in ("mz", "rs", "gjj", "yb", "cl", "ty", "cz", "ga"):
        demo[code] = ("Clerk", "361125", {code.upper()})
    if username in demo:
        return demo[username]
    _, county, code = username.split("-")
    region = next(r for r, short in COUNTIES.items() if short == county)
    return ("Window" if code == "byg" else "Clerk", region, {code.upper()})


def _in_region(user_region, row_region):
    return user_region == "361100" or user_region == row_region


def may_see_task(username, task):
    role, region, depts = _who(username)
    task_region, task_dept, _case_id = task
    if role == "Admin":
        return True
    if role in ("Supervisor", "Manager"):
        return _in_region(region, task_region)
    if role == "Window":
        return region == task_region  # the window follows every task of its cases
    if role == "Clerk":
        return region == task_region and task_dept in depts
    return False


def may_see_case(username, case):
    role, region, depts = _who(username)
    case_region, task_depts = case
    if role == "Admin":
        return True
    if role in ("Supervisor", "Manager"):
        return _in_region(region, case_region)
    if role in ("Window", "Clerk"):
        return region == case_region and bool(depts & (task_depts | {"BYG"} if role == "Window" else task_depts))
    return False


CAN_READ_CASES = {"Admin", "Window", "Clerk", "Supervisor", "Manager"}


def may_download(username, world, material_id):
    """The window that registered the case, the supervisors of its region and each
    department whose items on the case ask for the material's scan; nobody else."""
    role, region, depts = _who(username)
    case_id, code = world["materials"][material_id]
    case_region = world["cases"][case_id][0]
    if role == "Admin":
        return True
    if role == "Supervisor":
        return _in_region(region, case_region)
    if role == "Window":
        return region == case_region
    if role == "Clerk":
        return region == case_region and any(
            dept in depts and code in SCANS_OF_ITEM[item] for dept, item in world["items"][case_id]
        )
    return False


USERS = [
    "admin", "window", "mz", "rs", "gjj", "yb", "cl", "ty", "cz", "ga", "wj", "supervisor", "manager",
    "yy-window", "yy-ga", "sr-supervisor", TWO_DEPARTMENTS, *YY_REGION_USERS,
] + [_clerk_username(r, c) for r in COUNTIES for c in HANDLING_DEPARTMENTS]
USERS = list(dict.fromkeys(USERS))


def _task_rows(world):
    with db.session.no_autoflush:
        rows = {(t.id, t.status, t.version) for t in db.session.query(Task).filter(Task.id.in_(world["tasks"]))}
    db.session.remove()
    return rows


def _case_rows(world):
    rows = {(c.id, c.status, c.applicant_name) for c in db.session.query(Case).filter(Case.id.in_(world["cases"]))}
    db.session.remove()
    return rows


def _listed_ids(page, view):
    return {int(pk) for pk in re.findall(rf'/{view}/show/(\d+)', page)}


@pytest.mark.parametrize("username", USERS)
def test_task_screens_show_only_what_the_user_may_see(client, world, username):
    login(client, username)
    role = _who(username)[0]
    with client.application.app_context():
        before = _task_rows(world)
    listing = client.get("/taskview/list/?psize_TaskView=1000")
    if role not in CAN_READ_CASES:
        assert listing.status_code == 403
        for task_id in world["tasks"]:
            assert client.get(f"/taskview/show/{task_id}").status_code == 403
    else:
        assert listing.status_code == 200
        listed = _listed_ids(listing.get_data(as_text=True), "taskview")
        expected = {tid for tid, t in world["tasks"].items() if may_see_task(username, t)}
        assert listed & set(world["tasks"]) == expected
        for task_id, task in world["tasks"].items():
            show = client.get(f"/taskview/show/{task_id}")
            assert show.status_code == (200 if may_see_task(username, task) else 404), (task_id, task)
    # No one edits, deletes or adds tasks through the generic screens: the view has no
    # such permission, so even an administrator is refused outright.
    for task_id in world["tasks"]:
        assert client.get(f"/taskview/edit/{task_id}").status_code == 403
        assert client.post(f"/taskview/edit/{task_id}", data={"status": "completed"}).status_code == 403
        assert client.post(f"/taskview/delete/{task_id}").status_code == 403
        assert client.get(f"/taskview/delete/{task_id}").status_code == 403
    assert client.get("/taskview/add").status_code == 403
    assert client.post("/taskview/add", data={"status": "ready"}).status_code == 403
    with client.application.app_context():
        assert _task_rows(world) == before
        assert db.session.query(Task).filter(Task.case_id.in_(world["cases"])).count() == len(world["tasks"])
        db.session.remove()


@pytest.mark.parametrize("username", USERS)
def test_case_screens_show_only_what_the_user_may_see(client, world, username):
    login(client, username)
    role = _who(username)[0]
    with client.application.app_context():
        before = _case_rows(world)
    listing = client.get("/caseview/list/?psize_CaseView=1000")
    if role not in CAN_READ_CASES:
        assert listing.status_code == 403
        for case_id in world["cases"]:
            assert client.get(f"/caseview/show/{case_id}").status_code == 403
    else:
        listed = _listed_ids(listing.get_data(as_text=True), "caseview")
        expected = {cid for cid, c in world["cases"].items() if may_see_case(username, c)}
        assert listed & set(world["cases"]) == expected
    for case_id, case in world["cases"].items():
        visible = may_see_case(username, case)
        if role in CAN_READ_CASES:
            assert client.get(f"/caseview/show/{case_id}").status_code == (200 if visible else 404)
        edit = client.get(f"/caseview/edit/{case_id}")
        if role in ("Admin", "Window"):
            assert edit.status_code == (200 if visible else 404)
        else:
            assert edit.status_code == 403
        if not (role in ("Admin", "Window") and visible):
            # The window's own case is edited by the window's tests; here every other
            # edit must be refused before anything is written.
            post = client.post(f"/caseview/edit/{case_id}", data={"applicant_name": "篡改", "applicant_phone": "13900000000"})
            assert post.status_code == (404 if role in ("Admin", "Window") else 403)
        assert client.post(f"/caseview/delete/{case_id}").status_code == 403
    assert client.get("/caseview/add").status_code == 403
    with client.application.app_context():
        assert _case_rows(world) == before
        assert {cid for cid, _status, name in before if name == world["applicants"][cid]} == set(world["cases"])


@pytest.mark.parametrize("username", USERS)
def test_rest_reads_follow_the_same_rows(client, world, username):
    headers = jwt_headers(client, username)
    role = _who(username)[0]
    tasks = client.get("/api/v1/task/?q=(page_size:100,order_column:id,order_direction:desc)", headers=headers)
    cases = client.get("/api/v1/case/?q=(page_size:100,order_column:id,order_direction:desc)", headers=headers)
    if role not in CAN_READ_CASES:
        assert tasks.status_code == cases.status_code == 403
        for task_id in world["tasks"]:
            assert client.get(f"/api/v1/task/{task_id}", headers=headers).status_code == 403
        return
    assert tasks.status_code == cases.status_code == 200
    seen_tasks = set(tasks.get_json()["ids"])
    seen_cases = set(cases.get_json()["ids"])
    assert seen_tasks & set(world["tasks"]) == {
        tid for tid, t in world["tasks"].items() if may_see_task(username, t)
    }
    assert seen_cases & set(world["cases"]) == {
        cid for cid, c in world["cases"].items() if may_see_case(username, c)
    }
    for task_id, task in world["tasks"].items():
        answer = client.get(f"/api/v1/task/{task_id}", headers=headers)
        assert answer.status_code == (200 if may_see_task(username, task) else 404)
    for case_id, case in world["cases"].items():
        answer = client.get(f"/api/v1/case/{case_id}", headers=headers)
        assert answer.status_code == (200 if may_see_case(username, case) else 404)
    # The generic write routes do not exist on these APIs.
    some_task = next(iter(world["tasks"]))
    assert client.put(f"/api/v1/task/{some_task}", json={"status": "completed"}, headers=headers).status_code in (404, 405)
    assert client.delete(f"/api/v1/task/{some_task}", headers=headers).status_code in (404, 405)


@pytest.mark.parametrize("username", [u for u in USERS if u != "admin"])
def test_only_admins_open_the_reference_and_user_screens(client, username):
    login(client, username)
    for url in (
        "/itemview/list/", "/materialview/list/", "/requirementview/list/", "/factview/list/",
        "/ruleview/list/", "/regionview/list/", "/departmentview/list/", "/calendardayview/list/",
        "/users/list/", "/roles/list/", "/itemview/add", "/departmentview/add",
        "/outboxview/list/", "/smsmessageview/list/",
    ):
        assert client.get(url).status_code == 403, url
    # Each user's own inbox is the one notification screen they open.
    assert client.get("/notificationview/list/").status_code == 200


def test_admin_opens_every_screen(client):
    login(client, "admin")
    for url in (
        "/itemview/list/", "/materialview/list/", "/requirementview/list/", "/factview/list/",
        "/ruleview/list/", "/regionview/list/", "/departmentview/list/", "/calendardayview/list/",
        "/users/list/", "/roles/list/", "/caseview/list/", "/taskview/list/", "/auditlogview/list/",
        "/users/add", "/itemview/show/1", "/outboxview/list/", "/smsmessageview/list/", "/notificationview/list/",
    ):
        assert client.get(url).status_code == 200, url


def test_the_audit_log_is_shown_to_supervisors_of_their_region_only(client, world):
    login(client, "supervisor")
    page = client.get("/auditlogview/list/?psize_AuditLogView=100").get_data(as_text=True)
    assert client.get("/auditlogview/list/").status_code == 200
    with client.application.app_context():
        from app.models import AuditLog

        yy_entries = db.session.query(AuditLog.id).filter(
            AuditLog.region_id == db.session.query(Region.id).filter_by(code="361126").scalar_subquery()
        ).all()
        db.session.remove()
    listed = _listed_ids(page, "auditlogview")
    assert yy_entries and not ({i for (i,) in yy_entries} & listed)
    login(client, "rs")
    assert client.get("/auditlogview/list/").status_code == 403


def test_a_window_cannot_register_a_case_into_another_county(client, world):
    """Form fields the intake does not offer (department, region) are ignored: the
    case belongs to the clerk's own window and county."""
    login(client, "window")
    with client.application.app_context():
        yy = db.session.query(Region).filter_by(code="361126").one()
        yy_window = db.session.query(Department).filter_by(region_id=yy.id, code="BYG").one()
        yy_id, yy_window_id = yy.id, yy_window.id
        db.session.remove()
    from tests.factories import id_number

    form = {
        "deceased_name": "越权测试", "deceased_id_number": id_number("361125"), "hukou_local": "y",
        "hukou_address": "横峰县", "death_date": "2026-11-29", "death_circumstance": "in_hospital",
        "applicant_name": "家属", "applicant_id_number": id_number("361125", "19800101"),
        "applicant_phone": "13900000000", "applicant_relationship": "子女",
        "department": str(yy_window_id), "region": str(yy_id), "department_id": str(yy_window_id),
        "region_code": "361126", "action": "save",
    }
    assert client.post("/intake/", data=form).status_code == 302
    with client.application.app_context():
        case = db.session.query(Case).filter_by(deceased_name="越权测试").one()
        assert case.region.code == "361125" and case.department.code == "BYG"
        assert case.case_no.startswith("361125-")
        assert all(t.department.region_id == case.region_id for t in case.tasks)
        db.session.remove()


def test_a_clerk_cannot_register_cases(client):
    login(client, "rs")
    assert client.get("/intake/").status_code == 403
    assert client.get("/caseview/add").status_code == 403


def test_writes_outside_the_users_departments_are_refused(app, world):
    from app.security.scope import AccessDenied, check_writable, scope_for

    with app.app_context():
        rs = db.session.query(DepartmentUser).filter_by(username="rs").one()
        supervisor = db.session.query(DepartmentUser).filter_by(username="supervisor").one()
        rs_scope, sup_scope = scope_for(rs), scope_for(supervisor)
        for task_id in world["tasks"]:
            task = db.session.get(Task, task_id)
            with pytest.raises(AccessDenied):
                check_writable(task, sup_scope)  # supervisors read only
            if task.department_id in rs_scope.department_ids:
                check_writable(task, rs_scope)
            else:
                with pytest.raises(AccessDenied):
                    check_writable(task, rs_scope)
        db.session.remove()


def test_a_user_without_a_known_role_sees_nothing(app, client, world):
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("Public")
        dept = db.session.query(Department).filter_by(code="RS").first()
        user = db.session.query(DepartmentUser).filter_by(username="t-norole").first()
        if user is None:
            db.session.add(DepartmentUser(
                username="t-norole", first_name="x", last_name="", email="t-norole@test.invalid", active=True,
                password=generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000"),
                roles=[role], departments=[dept],
            ))
            db.session.commit()
        db.session.remove()
    login(client, "t-norole")
    assert client.get("/taskview/list/").status_code == 403
    assert client.get("/caseview/list/").status_code == 403
    headers = jwt_headers(client, "t-norole")
    assert client.get("/api/v1/task/", headers=headers).status_code == 403


def _option_values(page, field):
    """The values a rendered form's <select> offers for one field."""
    select = re.search(rf'<select[^>]*name="{field}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no dropdown {field}"
    return {int(v) for v in re.findall(r'<option[^>]*value="(\d+)"', select.group(1))}


@pytest.fixture(scope="module")
def department_editor(app):
    """A manager of 横峰县, also given (by an administrator, as a database role) the
    department screen's add and edit permissions: the forms render for a user whose
    row filter is the county's. (A manager, not a supervisor: supervisors are told of
    overdue tasks, and the notifier's tests count them.)"""
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("t-department-editor") or sm.add_role("t-department-editor")
        for permission in ("can_add", "can_edit", "can_list", "can_show"):
            sm.add_permission_role(role, sm.add_permission_view_menu(permission, "DepartmentView"))
        zw = (db.session.query(Department).join(Region)
              .filter(Region.code == "361125", Department.code == "ZW").one())
        _add_user("t-hf-dept-editor", sm.find_role("Manager"), [zw])
        user = db.session.query(DepartmentUser).filter_by(username="t-hf-dept-editor").one()
        if role not in user.roles:
            user.roles.append(role)
        db.session.commit()
        ids = {
            "hf": db.session.query(Region.id).filter_by(code="361125").scalar(),
            "hf_departments": {d.id for d in db.session.query(Department).filter_by(region_id=zw.region_id)},
            "own": zw.id,
        }
        db.session.remove()
        return ids


def test_every_relation_dropdown_goes_through_the_row_filter(app):
    """No view has to ask: each relation of every scoped screen lists its choices
    through the one row filter, in the add, edit and search forms alike."""
    from app.security.filters import ScopeFilter
    from app.views.base import ScopedModelView

    checked = 0
    for view in app.appbuilder.baseviews:
        if not isinstance(view, ScopedModelView):
            continue
        relations = [c for c in view.datamodel.get_columns_list() if view.datamodel.is_relation(c)]
        for rel_fields in (view.add_form_query_rel_fields, view.edit_form_query_rel_fields,
                           view.search_form_query_rel_fields):
            for column in relations:
                assert rel_fields[column][0][1] is ScopeFilter, (type(view).__name__, column)
                checked += 1
    assert checked > 10


def test_a_scoped_users_forms_offer_only_the_rows_of_its_region(client, department_editor):
    """DepartmentView declares no dropdown filter: its region and parent dropdowns
    still list only 横峰县 and 横峰县's departments to 横峰县's manager."""
    login(client, "t-hf-dept-editor")
    with client.application.app_context():
        every_region = {r.id for r in db.session.query(Region)}
        every_department = {d.id for d in db.session.query(Department)}
        db.session.remove()
    for url in ("/departmentview/add", f"/departmentview/edit/{department_editor['own']}"):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.get_data(as_text=True)
        assert _option_values(html, "region") == {department_editor["hf"]} != every_region
        parents = _option_values(html, "parent")
        assert parents and parents <= department_editor["hf_departments"] and parents != every_department
    # The department list is the county's too, and the row filter still refuses a write
    # into another county's department.
    with client.application.app_context():
        yy_department = (db.session.query(Department.id).join(Region)
                         .filter(Region.code == "361126").first()[0])
        db.session.remove()
    assert client.get(f"/departmentview/edit/{yy_department}").status_code == 404


@pytest.mark.parametrize("username", ["rs", "supervisor", "manager", "window", "yy-ga"])
def test_the_apis_open_no_related_or_info_endpoint(client, username):
    """FAB's ``/related/<column>``, ``/distinct/<column>`` and ``/_info`` would list rows
    of a relation outside the row filter: the read-only APIs do not serve them."""
    headers = jwt_headers(client, username)
    for api in ("case", "task", "death-certificate"):
        for tail in ("related/region", "related/department", "related/case", "distinct/status", "_info"):
            assert client.get(f"/api/v1/{api}/{tail}", headers=headers).status_code in (404, 405), (api, tail)


def test_a_department_sees_only_the_materials_its_items_need(app, world):
    """Data minimisation: each material of a case is shared with the window, the
    region's supervisors and the departments whose tasks need its scan, and no one
    else: not managers, not a department whose item asks only for the original (GA01's
    death proof is checked at the window), not a department whose requirement's
    condition the deceased lacks (the pension handbook)."""
    from app.security.scope import scope_for, scope_query

    with app.app_context():
        handbook_case = make_case("window", ["pension_enterprise", "insured_before_2010_12_in_service"], name="手册")
        plain_case = make_case("window", ["pension_enterprise"], name="无手册")
        ids = {}
        for case in (handbook_case, plain_case):
            for row in _store_every_material(case):
                ids[(case.id, row.material.code)] = row.id
        db.session.commit()
        hb, plain = handbook_case.id, plain_case.id
        rs02 = SCANS_OF_ITEM["RS02"]
        ga01 = SCANS_OF_ITEM["GA01"]
        every = set(ids)
        expected = {
            "rs": {(hb, c) for c in rs02 | {"PENSION_HANDBOOK"}} | {(plain, c) for c in rs02},
            "ga": {(cid, c) for cid in (hb, plain) for c in ga01},
            "cl": set(), "gjj": set(), "manager": set(), "wj": set(),
            "window": every, "supervisor": every, "sr-supervisor": every, "admin": every,
            "yy-ga": set(), "yy-window": set(), "t-yy-rs": set(), "t-yy-supervisor": set(),
        }
        assert "DEATH_PROOF" not in ga01 and ("DEATH_PROOF", "original") in {
            (r.material.code, r.form) for t in handbook_case.tasks if t.item.code == "GA01" for r in t.item.requirements
        }
        for username, keys in expected.items():
            user = db.session.query(DepartmentUser).filter_by(username=username).one()
            query = db.session.query(CaseMaterial.id).filter(CaseMaterial.id.in_(ids.values()))
            seen = {i for (i,) in scope_query(CaseMaterial, query, scope_for(user))}
            assert seen == {ids[k] for k in keys}, username
        db.session.remove()


@pytest.mark.parametrize("username", USERS)
def test_material_downloads_follow_the_same_rows(client, world, username):
    """Every material of both full cases, downloaded on the screen and through the
    API: 200 (and one audit row each) where the user may, 404 where the row filter
    hides it, 403 for a role without downloads (managers, issuers)."""
    role = _who(username)[0]
    headers = jwt_headers(client, username)
    login(client, username)
    with client.application.app_context():
        before = db.session.query(AuditLog).filter_by(action="material_downloaded", username=username).count()
        db.session.remove()
    allowed = 0
    for material_id in world["materials"]:
        downloads = role not in ("Manager", "CertIssuer")
        expected = (200 if may_download(username, world, material_id) else 404) if downloads else 403
        screen = client.get(f"/case-actions/material/{material_id}/download")
        api = client.get(f"/api/v1/case-material/{material_id}", headers=headers)
        assert (screen.status_code, api.status_code) == (expected, expected), (username, world["materials"][material_id])
        if expected == 200:
            assert screen.data == api.data == PDF
            allowed += 2
    with client.application.app_context():
        after = db.session.query(AuditLog).filter_by(action="material_downloaded", username=username).count()
        db.session.remove()
    assert after - before == allowed


@pytest.mark.parametrize("username", USERS)
def test_the_case_page_lists_only_the_files_the_user_may_download(client, world, username):
    role = _who(username)[0]
    if role not in CAN_READ_CASES:
        return
    login(client, username)
    for case_id, case in world["cases"].items():
        if not may_see_case(username, case):
            continue
        page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
        linked = {int(pk) for pk in re.findall(r"/case-actions/material/(\d+)/download", page)}
        # The page lists the files of the materials on the checklist of the tasks the
        # user sees, and of those only the ones the user may download.
        role_items = {item for dept, item in world["items"][case_id]
                      if may_see_task(username, (case[0], dept, case_id))}
        checklist = set().union(*(SCANS_OF_ITEM[i] | ORIGINALS_OF_ITEM.get(i, set()) for i in role_items))
        expected = {
            m for m, (cid, code) in world["materials"].items()
            if cid == case_id and code in checklist and role != "Manager" and may_download(username, world, m)
        }
        assert linked == expected, (username, case_id)


HANDLES_TASKS = {"Admin", "Window", "Clerk"}


def may_write_task(username, task):
    role, region, depts = _who(username)
    if role == "Admin":
        return True
    return role in ("Window", "Clerk") and region == task[0] and task[1] in depts


@pytest.mark.parametrize("username", USERS)
def test_task_actions_are_refused_outside_the_users_rows(client, world, username):
    """Every action on a task: 404 where the row is not visible, 403 where it is
    visible but not the user's to act on (or the role lacks the action outright); on
    the user's own waiting task the action is refused by the state (409), so the
    matrix changes nothing."""
    role = _who(username)[0]
    headers = jwt_headers(client, username)
    login(client, username)
    for task_id, task in world["tasks"].items():
        answer = client.post(f"/api/v1/task/{task_id}/transition", headers=headers, json={"action": "accept"})
        if role not in HANDLES_TASKS:
            expected = 403
        elif not may_see_task(username, task):
            expected = 404
        elif not may_write_task(username, task):
            expected = 403
        else:
            expected = 409
        assert answer.status_code == expected, (username, task, answer.get_json())
        for action in ("accept", "complete", "reject", "supplement"):
            screen = client.post(f"/case-actions/task/{task_id}/{action}", data={"reason": "x", "note": "x"})
            if role in HANDLES_TASKS and not may_see_task(username, task):
                assert screen.status_code == 404, (username, task_id, action)
            elif role in HANDLES_TASKS and not may_write_task(username, task):
                assert screen.status_code == 403, (username, task_id, action)
            elif role in HANDLES_TASKS:
                assert screen.status_code == 302, (username, task_id, action)  # refused by the state
            else:
                assert screen.status_code == 403, (username, task_id, action)
        urge = client.post(f"/taskview/urge/{task_id}", data={"note": "请加快办理"})
        if role in ("Supervisor", "Admin"):
            assert urge.status_code == (302 if may_see_task(username, task) else 404)
        else:
            assert urge.status_code == 403
    with client.application.app_context():
        states = {t.id: t.status for t in db.session.query(Task).filter(Task.id.in_(world["tasks"]))}
        db.session.remove()
    assert set(states.values()) == {"waiting"}


@pytest.mark.parametrize("username", USERS)
def test_case_documents_follow_the_same_rows(client, world, username):
    role = _who(username)[0]
    headers = jwt_headers(client, username)
    login(client, username)
    with client.application.app_context():
        before = _case_rows(world), _task_rows(world)
    prints = role in ("Window", "Supervisor", "Admin")
    for case_id, case in world["cases"].items():
        visible = may_see_case(username, case)
        api = client.get(f"/api/v1/case/{case_id}/completion-notice", headers=headers)
        form = client.get(f"/api/v1/case/{case_id}/registration-form", headers=headers)
        if prints:
            assert api.status_code == (409 if visible else 404)  # not completed yet
            assert form.status_code == (200 if visible else 404)
        else:
            assert api.status_code == form.status_code == 403
        screen = client.get(f"/case-actions/{case_id}/registration-form")
        notice = client.get(f"/case-actions/{case_id}/completion-notice")
        if prints:
            assert screen.status_code == (200 if visible else 404)
            # Not completed yet: back to the case page, saying so.
            assert notice.status_code == (302 if visible else 404)
        else:
            assert screen.status_code == notice.status_code == 403
        # Cancelling without a reason: refused by the rule where the user may cancel,
        # by the row filter or the permission elsewhere; nothing is cancelled.
        cancel = client.post(f"/api/v1/case/{case_id}/cancel", headers=headers, json={})
        cancel_screen = client.post(f"/case-actions/{case_id}/cancel", data={"reason": ""})
        if role in ("Window", "Admin"):
            assert cancel.status_code == (422 if visible else 404)
            assert cancel_screen.status_code == (302 if visible else 404)
        else:
            assert cancel.status_code == cancel_screen.status_code == 403
    with client.application.app_context():
        assert (_case_rows(world), _task_rows(world)) == before


@pytest.mark.parametrize("username", USERS)
def test_the_audit_log_is_for_supervisors_of_their_region_and_admins(client, world, username):
    role, region, _departments = _who(username)
    login(client, username)
    listing = client.get("/auditlogview/list/?psize_AuditLogView=1000")
    if role not in ("Supervisor", "Admin"):
        assert listing.status_code == 403
        for entry in world["audit"]:
            assert client.get(f"/auditlogview/show/{entry}").status_code == 403
        return
    assert listing.status_code == 200
    listed = _listed_ids(listing.get_data(as_text=True), "auditlogview")
    for entry, entry_region in world["audit"].items():
        readable = role == "Admin" or _in_region(region, entry_region)
        assert client.get(f"/auditlogview/show/{entry}").status_code == (200 if readable else 404)
        if not readable:
            assert entry not in listed
    # Append-only: no screen edits or deletes an entry.
    for entry in world["audit"]:
        assert client.get(f"/auditlogview/edit/{entry}").status_code == 403
        assert client.post(f"/auditlogview/delete/{entry}").status_code == 403


# One user of each role (the description takes seconds to build).
ONE_OF_EACH_ROLE = ["admin", "window", "rs", "wj", "supervisor", "manager", "t-yy-manager"]


@pytest.mark.parametrize("username", ONE_OF_EACH_ROLE)
def test_the_api_description_is_for_those_who_read_cases(client, username):
    role = _who(username)[0]
    headers = jwt_headers(client, username)
    login(client, username)
    expected = 200 if role in CAN_READ_CASES else 403
    spec = client.get("/api/v1/_openapi", headers=headers)
    assert spec.status_code == expected
    assert client.get("/swagger/v1").status_code == expected
    if expected == 200:
        assert "/api/v1/case-material/{pk}" in spec.get_json()["paths"]


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    client.get("/logout/")
    some_case, some_task = next(iter(world["cases"])), next(iter(world["tasks"]))
    some_material = next(iter(world["materials"]))
    for url in ("/taskview/list/", f"/taskview/show/{some_task}", f"/caseview/show/{some_case}",
                f"/case-actions/material/{some_material}/download", "/auditlogview/list/", "/swagger/v1"):
        answer = client.get(url)
        assert answer.status_code == 302 and "/login/" in answer.headers["Location"], url
    assert client.get(f"/api/v1/case-material/{some_material}").status_code == 401


REPORT_ROLES = {"Admin", "Supervisor", "Manager"}
REPORT_URLS = ("/reports/dashboard", "/reports/statistics.csv", "/reports/overdue.csv")


@pytest.mark.parametrize("username", USERS)
def test_reports_are_for_managers_and_supervisors_of_their_region(client, world, username):
    role, user_region, _departments = _who(username)
    login(client, username)
    if role not in REPORT_ROLES:
        for url in REPORT_URLS + ("/reports/statistics.pdf", "/reports/overdue.pdf"):
            assert client.get(url).status_code == 403, url
        return
    with client.application.app_context():
        regions = {r.code: r.id for r in db.session.query(Region)}
        db.session.remove()
    for code in COUNTIES:
        for url in REPORT_URLS:
            response = client.get(f"{url}?region={regions[code]}")
            assert response.status_code == (200 if role == "Admin" or _in_region(user_region, code) else 404), url
