"""The isolation matrix: for every role and for a clerk of each department of both
counties, every screen operation and REST read, on rows of their own department,
another department and another county. What a user must not see never appears and
answers 404 (or 403 where the role lacks the permission outright)."""

import re

import pytest
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Case, Department, DepartmentUser, Region, Task
from tests.conftest import DEMO_PASSWORD, jwt_headers, login
from tests.factories import make_case

ALL_FACTS = [
    "dibao", "pension_enterprise", "institution_staff", "housing_fund", "medical_employee",
    "disability_certificate", "entitled_group",
]
HANDLING_DEPARTMENTS = ["BYG", "MZ", "RS", "GJJ", "YB", "CL", "TY", "CZ", "GA"]
COUNTIES = {"361125": "hf", "361126": "yy"}


def _clerk_username(region_code, dept_code):
    return f"t-{COUNTIES[region_code]}-{dept_code.lower()}"


@pytest.fixture(scope="module")
def world(app):
    """Two full cases (one per county), a small case in 横峰县, and a clerk for each
    handling department of both counties."""
    with app.app_context():
        sm = app.appbuilder.sm
        clerk_role, window_role = sm.find_role("Clerk"), sm.find_role("Window")
        for region_code in COUNTIES:
            region = db.session.query(Region).filter_by(code=region_code).one()
            for code in HANDLING_DEPARTMENTS:
                username = _clerk_username(region_code, code)
                if db.session.query(DepartmentUser).filter_by(username=username).first():
                    continue
                dept = db.session.query(Department).filter_by(region_id=region.id, code=code).one()
                db.session.add(DepartmentUser(
                    username=username, first_name=username, last_name="", email=f"{username}@test.invalid",
                    active=True, password=generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000"),
                    roles=[window_role if code == "BYG" else clerk_role], departments=[dept],
                ))
        db.session.commit()
        full_hf = make_case("window", ALL_FACTS, name="横峰逝者")
        small_hf = make_case("window", [], name="横峰简单")
        full_yy = make_case("yy-window", ALL_FACTS, name="弋阳逝者")
        ids = {
            "cases": {c.id: (c.region.code, {t.department.code for t in c.tasks}) for c in (full_hf, small_hf, full_yy)},
            "tasks": {
                t.id: (t.case.region.code, t.department.code, t.case_id)
                for c in (full_hf, small_hf, full_yy) for t in c.tasks
            },
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
    }
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

USERS = [
    "admin", "window", "mz", "rs", "gjj", "yb", "cl", "ty", "cz", "ga", "wj", "supervisor", "manager",
    "yy-window", "yy-ga", "sr-supervisor",
] + [_clerk_username(r, c) for r in COUNTIES for c in HANDLING_DEPARTMENTS]
USERS = list(dict.fromkeys(USERS))


def _listed_ids(page, view):
    return {int(pk) for pk in re.findall(rf'/{view}/show/(\d+)', page)}


@pytest.mark.parametrize("username", USERS)
def test_task_screens_show_only_what_the_user_may_see(client, world, username):
    login(client, username)
    role = _who(username)[0]
    listing = client.get("/taskview/list/?psize_TaskView=1000")
    if role not in CAN_READ_CASES:
        assert listing.status_code in (302, 403)
        for task_id in world["tasks"]:
            assert client.get(f"/taskview/show/{task_id}").status_code in (302, 403)
        return
    assert listing.status_code == 200
    listed = _listed_ids(listing.get_data(as_text=True), "taskview")
    expected = {tid for tid, t in world["tasks"].items() if may_see_task(username, t)}
    assert listed & set(world["tasks"]) == expected
    for task_id, task in world["tasks"].items():
        show = client.get(f"/taskview/show/{task_id}")
        assert show.status_code == (200 if may_see_task(username, task) else 404), (task_id, task)
        # No one edits, deletes or adds tasks through the generic screens.
        assert client.get(f"/taskview/edit/{task_id}").status_code in (302, 403, 404)
        assert client.post(f"/taskview/delete/{task_id}").status_code in (302, 403, 404)
    assert client.get("/taskview/add").status_code in (302, 403, 404)


@pytest.mark.parametrize("username", USERS)
def test_case_screens_show_only_what_the_user_may_see(client, world, username):
    login(client, username)
    role = _who(username)[0]
    listing = client.get("/caseview/list/?psize_CaseView=1000")
    if role not in CAN_READ_CASES:
        assert listing.status_code in (302, 403)
        for case_id in world["cases"]:
            assert client.get(f"/caseview/show/{case_id}").status_code in (302, 403)
        return
    listed = _listed_ids(listing.get_data(as_text=True), "caseview")
    expected = {cid for cid, c in world["cases"].items() if may_see_case(username, c)}
    assert listed & set(world["cases"]) == expected
    for case_id, case in world["cases"].items():
        visible = may_see_case(username, case)
        assert client.get(f"/caseview/show/{case_id}").status_code == (200 if visible else 404)
        edit = client.get(f"/caseview/edit/{case_id}")
        if role in ("Admin", "Window") and visible:
            assert edit.status_code == 200
        elif role in ("Admin", "Window"):
            assert edit.status_code == 404
        else:
            assert edit.status_code in (302, 403)
        delete = client.post(f"/caseview/delete/{case_id}")
        assert delete.status_code in (302, 403, 404)
    with client.application.app_context():
        assert {c.id for c in db.session.query(Case).filter(Case.id.in_(world["cases"]))} == set(world["cases"])
        db.session.remove()


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
        assert client.get(url).status_code in (302, 403), url
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
    assert client.get("/auditlogview/list/").status_code in (302, 403)


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
    assert client.get("/intake/").status_code in (302, 403)
    assert client.get("/caseview/add").status_code in (302, 403, 404)


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
    assert client.get("/taskview/list/").status_code in (302, 403)
    assert client.get("/caseview/list/").status_code in (302, 403)
    headers = jwt_headers(client, "t-norole")
    assert client.get("/api/v1/task/", headers=headers).status_code == 403


def test_the_department_dropdown_lists_only_the_users_rows(app, world):
    """Related-field dropdowns go through the same filter: a supervisor's scope yields
    only the departments of their county."""
    from app.security.scope import scope_for, scope_query

    with app.app_context():
        sup = db.session.query(DepartmentUser).filter_by(username="supervisor").one()
        rows = scope_query(Department, db.session.query(Department), scope_for(sup)).all()
        assert rows and {d.region.code for d in rows} == {"361125"}
        view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "DepartmentView")
        assert view.add_form_query_rel_fields["region"][0][1].__name__ == "ScopeFilter"
        db.session.remove()


def test_a_department_sees_only_the_materials_its_items_need(app, world):
    """Data minimisation: each material of a case is shared with the window, the
    region's supervisors and the departments whose tasks need it, and no one else."""
    from app.models import CaseMaterial, Material
    from app.security.scope import scope_for, scope_query

    full_hf = next(cid for cid, (region, depts) in world["cases"].items() if region == "361125" and "RS" in depts)
    with app.app_context():
        ids = {}
        for code in ("DEATH_PROOF", "BANK_OR_SSC_CARD", "HUKOU_BOOK", "APPLICANT_PHOTO"):
            material = db.session.query(Material).filter_by(code=code).one()
            row = CaseMaterial(case_id=full_hf, material=material, original_checked=True)
            db.session.add(row)
            db.session.flush()
            ids[code] = row.id
        db.session.commit()
        expected = {
            "rs": {"DEATH_PROOF", "BANK_OR_SSC_CARD"},
            "ga": {"DEATH_PROOF", "HUKOU_BOOK"},
            "gjj": {"DEATH_PROOF", "APPLICANT_PHOTO"},
            "cl": {"DEATH_PROOF"},
            "window": set(ids), "supervisor": set(ids), "sr-supervisor": set(ids), "admin": set(ids),
            "yy-ga": set(), "yy-window": set(), "wj": set(), "t-yy-rs": set(),
        }
        for username, codes in expected.items():
            user = db.session.query(DepartmentUser).filter_by(username=username).one()
            query = db.session.query(CaseMaterial.id).filter(CaseMaterial.id.in_(ids.values()))
            seen = {i for (i,) in scope_query(CaseMaterial, query, scope_for(user))}
            assert seen == {ids[c] for c in codes}, username
        db.session.query(CaseMaterial).filter(CaseMaterial.id.in_(ids.values())).delete()
        db.session.commit()
        db.session.remove()


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
            else:
                assert screen.status_code in (302, 403), (username, task_id, action)
        urge = client.post(f"/taskview/urge/{task_id}", data={"note": "请加快办理"})
        if role == "Supervisor" and may_see_task(username, task):
            assert urge.status_code in (200, 302)
        elif role in ("Supervisor", "Admin"):
            assert urge.status_code in (302, 404)
        else:
            assert urge.status_code in (302, 403)
    with client.application.app_context():
        states = {t.id: t.status for t in db.session.query(Task).filter(Task.id.in_(world["tasks"]))}
        db.session.remove()
    assert set(states.values()) == {"waiting"}


@pytest.mark.parametrize("username", USERS)
def test_case_documents_follow_the_same_rows(client, world, username):
    role = _who(username)[0]
    headers = jwt_headers(client, username)
    login(client, username)
    for case_id, case in world["cases"].items():
        visible = may_see_case(username, case)
        api = client.get(f"/api/v1/case/{case_id}/completion-notice", headers=headers)
        form = client.get(f"/api/v1/case/{case_id}/registration-form", headers=headers)
        if role in ("Window", "Supervisor", "Admin"):
            assert api.status_code == (409 if visible else 404)  # not completed yet
            assert form.status_code == (200 if visible else 404)
        else:
            assert api.status_code == form.status_code == 403
        screen = client.get(f"/case-actions/{case_id}/registration-form")
        if role in ("Window", "Supervisor", "Admin"):
            assert screen.status_code == (200 if visible else 404)
        else:
            assert screen.status_code in (302, 403)
        cancel = client.post(f"/api/v1/case/{case_id}/cancel", headers=headers, json={})
        if role in ("Window", "Admin"):
            assert cancel.status_code in ((422, 403) if visible else (404,))
        else:
            assert cancel.status_code == 403


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
