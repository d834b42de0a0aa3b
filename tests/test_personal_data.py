"""Personal data shown only to those whose work needs it, by one rule on every page and
API that shows a case (app/security/personal_data.py): the window that registered the
case and administrators read everything; a department clerk reads the deceased's ID
number only if one of its items needs the deceased's ID card, the applicant's only if
one needs the applicant's ID card, the mobile masked and only the facts behind its own
items; supervisors and managers read ID numbers and the mobile masked and every fact.
The API cannot be used to guess what it masks."""

import pytest

from app.extensions import db
from app.security.personal_data import mask_id_number, mask_phone
from tests.conftest import jwt_headers, login
from tests.factories import make_case

FACTS = {
    "pension_enterprise": "企业职工养老保险",  # RS02, which needs the deceased's ID card
    "disability_certificate": "持有残疾证",  # CL01, which needs no ID card
    "dibao": "最低生活保障",  # MZ02
    "medical_resident": "城乡居民基本医疗保险",  # YB01
}
EVERY_FACT = set(FACTS)
# The facts behind each item of the case (its rules).
ITEM_FACTS = {"MZ01": set(), "GA01": set(), "RS02": {"pension_enterprise"}, "CL01": {"disability_certificate"}}

# user → (deceased's ID in full, applicant's ID in full, mobile in full, facts read, the item of the task page)
MATRIX = {
    "window": (True, True, True, EVERY_FACT, "MZ01"),
    "admin": (True, True, True, EVERY_FACT, "RS02"),
    "rs": (True, False, False, {"pension_enterprise"}, "RS02"),
    "ga": (True, True, False, set(), "GA01"),  # GA01 takes both ID cards' scans
    "cl": (False, False, False, {"disability_certificate"}, "CL01"),
    # RS02 needs the ID card, but a supervisor reads it masked all the same.
    "supervisor": (False, False, False, EVERY_FACT, "RS02"),
    "manager": (False, False, False, EVERY_FACT, "RS02"),
}


@pytest.fixture(scope="module")
def case(app):
    with app.app_context():
        row = make_case("window", list(FACTS), name="个人信息")
        answer = {
            "id": row.id,
            "deceased_id": row.deceased_id_number,
            "applicant_id": row.applicant_id_number,
            "phone": row.applicant_phone,
            "tasks": {t.item.code: t.id for t in row.tasks},
            "departments": {t.item.code: t.department.code for t in row.tasks},
        }
        db.session.remove()
        return answer


def _shown(text, full, value, mask):
    """The value appears in full, or masked and never in full."""
    if full:
        return value in text
    return mask(value) in text and value not in text


@pytest.mark.parametrize("username", list(MATRIX))
def test_the_case_page_shows_personal_data_by_the_one_rule(client, case, username):
    deceased, applicant, phone, facts, _item = MATRIX[username]
    page = login(client, username).get(f"/caseview/show/{case['id']}").get_data(as_text=True)
    assert _shown(page, deceased, case["deceased_id"], mask_id_number)
    assert _shown(page, applicant, case["applicant_id"], mask_id_number)
    assert _shown(page, phone, case["phone"], mask_phone)
    assert {code for code, name in FACTS.items() if name in page} == facts


@pytest.mark.parametrize("username", list(MATRIX))
def test_the_task_page_shows_personal_data_by_the_same_rule(client, case, username):
    deceased, _applicant, phone, facts, item = MATRIX[username]
    page = login(client, username).get(f"/taskview/show/{case['tasks'][item]}").get_data(as_text=True)
    assert _shown(page, deceased, case["deceased_id"], mask_id_number)
    assert _shown(page, phone, case["phone"], mask_phone)
    assert case["applicant_id"] not in page
    # The page names the facts that gave the case this item, and no other.
    assert {code for code, name in FACTS.items() if name in page} <= facts


@pytest.mark.parametrize("username", list(MATRIX))
def test_the_case_api_answers_by_the_same_rule(client, case, username):
    deceased, applicant, phone, facts, _item = MATRIX[username]
    answer = client.get(f"/api/v1/case/{case['id']}", headers=jwt_headers(client, username))
    assert answer.status_code == 200
    result = answer.get_json()["result"]
    assert result["deceased_id_number"] == (case["deceased_id"] if deceased else mask_id_number(case["deceased_id"]))
    assert result["applicant_id_number"] == (
        case["applicant_id"] if applicant else mask_id_number(case["applicant_id"]))
    assert result["applicant_phone"] == (case["phone"] if phone else mask_phone(case["phone"]))
    assert set(result["facts"]) == facts
    for value, full in ((case["deceased_id"], deceased), (case["applicant_id"], applicant), (case["phone"], phone)):
        assert (value in answer.get_data(as_text=True)) == full


@pytest.mark.parametrize("username", list(MATRIX))
def test_the_task_api_answers_by_the_same_rule(client, case, username):
    deceased, _applicant, _phone, _facts, item = MATRIX[username]
    answer = client.get(f"/api/v1/task/{case['tasks'][item]}", headers=jwt_headers(client, username))
    assert answer.status_code == 200
    result = answer.get_json()["result"]
    assert result["deceased"]["id_number"] == (
        case["deceased_id"] if deceased else mask_id_number(case["deceased_id"]))
    assert {f["code"] for f in result["facts"]} == ITEM_FACTS[item]
    # The task carries no applicant: neither ID number nor mobile, masked or not.
    text = answer.get_data(as_text=True)
    assert case["applicant_id"] not in text and mask_phone(case["phone"]) not in text and case["phone"] not in text


@pytest.mark.parametrize("username", list(MATRIX))
def test_the_case_api_lists_the_tasks_the_user_sees(client, case, username):
    result = client.get(f"/api/v1/case/{case['id']}", headers=jwt_headers(client, username)).get_json()["result"]
    listed = {t["item_code"] for t in result["tasks"]}
    departments = {"rs": {"RS"}, "ga": {"GA"}, "cl": {"CL"}}
    if username in departments:
        assert listed == {i for i, d in case["departments"].items() if d in departments[username]}
    else:
        assert listed == set(case["tasks"])
    assert all(set(t) == {"id", "item_code", "department_code", "status", "deadline", "version"}
               for t in result["tasks"])
    # The case page's task table agrees.
    page = login(client, username).get(f"/caseview/show/{case['id']}").get_data(as_text=True)
    assert {code for code in case["tasks"] if f"<td>{code} " in page} == listed


def test_a_clerk_serving_two_departments_reads_what_either_needs(app, client):
    """人社 and 残联 at once: the ID card RS02 needs is read in full, and the facts
    behind both items."""
    from werkzeug.security import generate_password_hash

    from app.models import Department, DepartmentUser, Region
    from tests.conftest import DEMO_PASSWORD

    with app.app_context():
        hf = db.session.query(Region).filter_by(code="361125").one()
        departments = db.session.query(Department).filter(Department.region_id == hf.id,
                                                          Department.code.in_(["RS", "CL"])).all()
        if not db.session.query(DepartmentUser).filter_by(username="t-hf-rs+cl").first():
            db.session.add(DepartmentUser(
                username="t-hf-rs+cl", first_name="rs+cl", last_name="", email="rscl@test.invalid", active=True,
                password=generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000"),
                roles=[app.appbuilder.sm.find_role("Clerk")], departments=departments,
            ))
        row = make_case("window", ["pension_enterprise", "disability_certificate", "dibao"], name="两部门")
        case_id, deceased_id = row.id, row.deceased_id_number
        db.session.commit()
        db.session.remove()
    result = client.get(f"/api/v1/case/{case_id}", headers=jwt_headers(client, "t-hf-rs+cl")).get_json()["result"]
    assert result["deceased_id_number"] == deceased_id
    assert set(result["facts"]) == {"pension_enterprise", "disability_certificate"}
    assert {t["item_code"] for t in result["tasks"]} == {"RS02", "CL01"}


PERSONAL_CASE_COLUMNS = ["deceased_id_number", "applicant_id_number", "applicant_phone", "deceased_name", "applicant_name"]


@pytest.mark.parametrize("column", PERSONAL_CASE_COLUMNS)
def test_the_case_api_cannot_be_searched_or_sorted_by_personal_data(client, case, column):
    """A prefix search counting 1 or 0 would recover a masked number digit by digit."""
    headers = jwt_headers(client, "cl")
    prefix = case["deceased_id"][:8]
    for operator in ("sw", "eq", "ct", "ew"):
        answer = client.get(f"/api/v1/case/?q=(filters:!((col:{column},opr:{operator},value:'{prefix}')))",
                            headers=headers)
        assert answer.status_code == 400, (column, operator)
    assert client.get(f"/api/v1/case/?q=(order_column:{column},order_direction:asc)",
                      headers=headers).status_code == 400


@pytest.mark.parametrize("column", ["case", "case.deceased_id_number", "deceased_id_number", "department", "result_note"])
def test_the_task_api_cannot_be_searched_by_the_case_behind_it(client, case, column):
    headers = jwt_headers(client, "cl")
    answer = client.get(f"/api/v1/task/?q=(filters:!((col:{column},opr:sw,value:'3611')))", headers=headers)
    assert answer.status_code == 400
    assert client.get(f"/api/v1/task/?q=(order_column:{column},order_direction:asc)",
                      headers=headers).status_code == 400


def test_the_apis_still_search_numbers_states_and_dates(client, app, case):
    with app.app_context():
        from app.models import Case

        case_no = db.session.get(Case, case["id"]).case_no
        db.session.remove()
    headers = jwt_headers(client, "cl")
    found = client.get(f"/api/v1/case/?q=(filters:!((col:case_no,opr:eq,value:'{case_no}')))", headers=headers)
    assert found.status_code == 200 and found.get_json()["ids"] == [case["id"]]
    tasks = client.get("/api/v1/task/?q=(filters:!((col:status,opr:eq,value:waiting)),page_size:100)", headers=headers)
    assert tasks.status_code == 200 and case["tasks"]["CL01"] in tasks.get_json()["ids"]


def test_asking_for_raw_columns_does_not_unmask_them(client, case):
    """FAB would build a schema from the model for ``columns``: the API ignores it."""
    headers = jwt_headers(client, "cl")
    for url in (f"/api/v1/case/{case['id']}?q=(columns:!(applicant_phone,deceased_id_number,applicant_id_number))",
                "/api/v1/case/?q=(columns:!(applicant_phone,deceased_id_number),page_size:100)",
                f"/api/v1/task/{case['tasks']['CL01']}?q=(columns:!(case.deceased_id_number))"):
        text = client.get(url, headers=headers).get_data(as_text=True)
        assert case["phone"] not in text and case["deceased_id"] not in text and case["applicant_id"] not in text, url
    shown = client.get(f"/api/v1/case/{case['id']}?q=(columns:!(applicant_phone))", headers=headers).get_json()
    assert shown["result"]["applicant_phone"] == mask_phone(case["phone"]) and "tasks" in shown["result"]


def _chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in str(text))


def test_the_api_labels_and_titles_are_translated(client, case):
    headers = jwt_headers(client, "window")
    for url, title in ((f"/api/v1/case/{case['id']}", "show_title"), ("/api/v1/case/", "list_title"),
                       (f"/api/v1/task/{case['tasks']['MZ01']}", "show_title"), ("/api/v1/task/", "list_title")):
        body = client.get(url, headers=headers).get_json()
        assert _chinese(body[title]), (url, body[title])
        labels = body["label_columns"]
        assert labels and all(_chinese(label) for label in labels.values()), (url, labels)
