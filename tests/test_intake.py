"""The window's intake: which items a case gets, one material checklist, every
validation named by its field (screen and API), nothing half-written, case numbers."""


import datetime

import pytest

from app.domain import intake, rules
from app.extensions import db
from app.models import Case, Item, Task
from tests.conftest import jwt_headers, login
from tests.factories import id_number

ALWAYS = {"MZ01", "GA01"}

# SPEC "Which items a case gets": fact set → item set.
RULE_TABLE = [
    ([], ALWAYS),
    (["urban_hardship"], ALWAYS | {"MZ02"}),
    (["dibao"], ALWAYS | {"MZ02"}),
    (["tekun"], ALWAYS | {"MZ02"}),
    (["elderly_allowance"], ALWAYS | {"MZ02"}),
    (["disability_two_subsidies"], ALWAYS | {"MZ02"}),
    (["pension_institution"], ALWAYS | {"RS01"}),
    (["pension_enterprise"], ALWAYS | {"RS02"}),
    (["pension_resident"], ALWAYS | {"RS03"}),
    (["institution_staff"], ALWAYS | {"CZ01"}),
    (["housing_fund"], ALWAYS | {"GJJ01"}),
    (["medical_resident"], ALWAYS | {"YB01"}),
    (["medical_employee"], ALWAYS | {"YB01", "YB02"}),
    (["disability_certificate"], ALWAYS | {"CL01"}),
    (["entitled_group"], ALWAYS | {"TY01"}),
    (["pension_enterprise", "medical_employee", "disability_certificate"],
     ALWAYS | {"RS02", "YB01", "YB02", "CL01"}),
    (["insured_before_2010_12_in_service"], ALWAYS),  # a material condition, not an item
]


@pytest.mark.parametrize("facts, expected", RULE_TABLE, ids=[",".join(f) or "none" for f, _ in RULE_TABLE])
def test_each_rule_of_the_spec(ctx, facts, expected):
    items = rules.items_for(db.session.query(Item).all(), facts)
    assert {i.code for i in items} == expected


def _needs(code, facts=()):
    item = db.session.query(Item).filter_by(code=code).one()
    return [set(n.materials) for n in rules.needs_for(item, facts)]


def test_either_or_requirements(ctx):
    assert {("DEATH_PROOF", "scan"), ("CREMATION_CERT", "scan")} in _needs("CL01")
    item = db.session.query(Item).filter_by(code="CL01").one()
    assert rules.is_ready(item, [], {("CREMATION_CERT", "scan")})
    assert rules.is_ready(item, [], {("DEATH_PROOF", "scan")})
    assert not rules.is_ready(item, [], {("DEATH_PROOF", "original")})  # an original is not a shared scan


def test_both_requirements(ctx):
    item = db.session.query(Item).filter_by(code="CZ01").one()
    assert not rules.is_ready(item, [], {("DEATH_PROOF", "scan")})
    assert rules.is_ready(item, [], {("DEATH_PROOF", "scan"), ("CREMATION_CERT", "scan")})


def test_the_pension_handbook_is_asked_only_under_its_fact(ctx):
    without = _needs("RS02", ["pension_enterprise"])
    with_fact = _needs("RS02", ["pension_enterprise", "insured_before_2010_12_in_service"])
    assert {("PENSION_HANDBOOK", "scan")} not in without
    assert {("PENSION_HANDBOOK", "scan")} in with_fact


def test_the_checklist_asks_each_material_once(ctx):
    facts = ["pension_enterprise", "medical_employee", "disability_certificate"]
    items = rules.items_for(db.session.query(Item).all(), facts)
    checklist = rules.material_checklist(items, facts)
    assert checklist["DEATH_PROOF"]["forms"] == {"original", "scan"}
    assert set(checklist["DEATH_PROOF"]["items"]) >= {"MZ01", "GA01", "RS02", "YB01", "CL01"}
    assert checklist["BANK_OR_SSC_CARD"]["items"] == ["RS02"]
    assert "PENSION_HANDBOOK" not in checklist


def payload(**overrides):
    body = {
        "region_code": "361125",
        "deceased": {
            "name": "张三", "id_number": id_number("361125", "19500101"), "gender": "男",
            "hukou_local": True, "hukou_address": "横峰县兴安街道", "death_date": "2026-11-30",
            "death_circumstance": "in_hospital", "death_certificate_no": "",
        },
        "facts": ["pension_enterprise", "medical_employee", "disability_certificate"],
        "applicant": {"name": "张小三", "id_number": id_number("361125", "19800101"), "phone": "13800138000",
                      "relationship": "子女"},
    }
    for path, value in overrides.items():
        part, _, key = path.partition(".")
        if key:
            body[part][key] = value
        else:
            body[part] = value
    return body


def _male_id(region="361125", birth="19500101"):
    """A man's number (odd 17th digit) for the gender check."""
    while True:
        number = id_number(region, birth)
        if int(number[16]) % 2:
            return number


def count_cases():
    return db.session.query(Case).count()


def test_the_api_registers_a_case_as_the_contract_says(app, client):
    headers = jwt_headers(client, "window")
    answer = client.post("/api/v1/case/", json=payload(**{"deceased.id_number": _male_id()}), headers=headers)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["case_no"].startswith("361125-2026-") and body["status"] == "registered"
    assert {t["item_code"] for t in body["tasks"]} == ALWAYS | {"RS02", "YB01", "YB02", "CL01"}
    assert {t["department_code"] for t in body["tasks"]} == {"BYG", "GA", "RS", "YB", "CL"}
    assert all(t["status"] == "waiting" and t["deadline"] is None for t in body["tasks"])


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"deceased.id_number": "361125195001011236"}, "deceased.id_number"),  # bad check character
        ({"deceased.id_number": "36112519500230123X"}, "deceased.id_number"),  # 30 February
        ({"deceased.name": ""}, "deceased.name"),
        ({"deceased.death_date": "2099-01-01"}, "deceased.death_date"),
        ({"deceased.death_date": "1949-12-31"}, "deceased.death_date"),  # before birth
        ({"deceased.death_date": "30/11/2026"}, "deceased.death_date"),
        ({"deceased.hukou_local": False}, "deceased.hukou_local"),
        ({"deceased.death_circumstance": "at_sea"}, "deceased.death_circumstance"),
        ({"applicant.phone": "12345"}, "applicant.phone"),
        ({"applicant.phone": "23800138000"}, "applicant.phone"),
        ({"applicant.id_number": "110105194912310021"}, "applicant.id_number"),
        ({"facts": ["dibao", "lottery_winner"]}, "facts"),
        ({"region_code": "361126"}, "region_code"),
        ({"deceased.gender": "女"}, "deceased.gender"),  # the number is a man's
    ],
)
def test_bad_input_is_refused_naming_its_field_and_writes_nothing(app, client, overrides, field):
    headers = jwt_headers(client, "window")
    body = payload(**{"deceased.id_number": _male_id(birth="19500101")})
    for path, value in overrides.items():
        part, _, key = path.partition(".")
        if key:
            body[part][key] = value
        else:
            body[part] = value
    with app.app_context():
        before = count_cases()
        db.session.remove()
    answer = client.post("/api/v1/case/", json=body, headers=headers)
    assert answer.status_code in (400, 422)
    errors = answer.get_json()["errors"]
    assert field in errors and all(errors[field])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in errors[field][0]), "errors are in Chinese by default"
    with app.app_context():
        assert count_cases() == before
        db.session.remove()


def test_an_elderly_persons_number_with_an_old_region_code_is_accepted(client):
    headers = jwt_headers(client, "window")
    answer = client.post("/api/v1/case/", json=payload(**{"deceased.id_number": "361125195001011237"}),
                         headers=headers)
    assert answer.status_code == 201, answer.get_json()


def test_a_second_open_case_for_the_same_deceased_is_refused_with_its_number(client):
    headers = jwt_headers(client, "window")
    number = _male_id(birth="19400101")
    first = client.post("/api/v1/case/", json=payload(**{"deceased.id_number": number}), headers=headers)
    assert first.status_code == 201
    second = client.post("/api/v1/case/", json=payload(**{"deceased.id_number": number}), headers=headers)
    assert second.status_code == 409
    assert first.get_json()["case_no"] in second.get_json()["message"]
    assert second.get_json()["existing_case_no"] == first.get_json()["case_no"]


def test_markup_in_names_is_stored_as_text_and_shown_escaped(app, client):
    headers = jwt_headers(client, "window")
    answer = client.post("/api/v1/case/", json=payload(**{
        "deceased.name": "<script>alert(1)</script>", "deceased.id_number": _male_id(birth="19410101")}),
        headers=headers)
    assert answer.status_code == 201
    case_id = answer.get_json()["id"]
    with app.app_context():
        assert db.session.get(Case, case_id).deceased_name == "<script>alert(1)</script>"
        db.session.remove()
    login(client, "window")
    page = client.get(f"/caseview/show/{case_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_only_a_window_registers_cases(client):
    for user in ("rs", "supervisor", "wj"):
        answer = client.post("/api/v1/case/", json=payload(), headers=jwt_headers(client, user))
        assert answer.status_code == 403


def _form(**overrides):
    form = {
        "deceased_name": "李四", "deceased_id_number": _male_id(birth="19420202"), "deceased_gender": "",
        "hukou_local": "y", "hukou_address": "横峰县", "death_date": "2026-11-29",
        "death_circumstance": "in_hospital", "death_certificate_no": "",
        "facts": ["pension_enterprise", "medical_employee", "disability_certificate"],
        "applicant_name": "李小四", "applicant_id_number": id_number("361125", "19790101"),
        "applicant_phone": "13900139000", "applicant_relationship": "子女",
    }
    form.update(overrides)
    return form


def test_the_screen_previews_items_and_the_checklist_before_saving(app, client):
    login(client, "window")
    with app.app_context():
        before = count_cases()
        db.session.remove()
    page = client.post("/intake/", data=_form(action="preview")).get_data(as_text=True)
    assert "RS02" in page and "残疾证注销" in page and "横峰县残疾人联合会" not in page  # names, no region prefix
    assert "残疾人联合会" in page and "4个工作日" in page and "即时办理" in page
    assert "死亡证明" in page and "原件" in page and "扫描件" in page
    with app.app_context():
        assert count_cases() == before
        db.session.remove()


def test_the_screen_registers_and_opens_the_case(app, client):
    login(client, "window")
    answer = client.post("/intake/", data=_form(action="save"))
    assert answer.status_code == 302 and "/caseview/show/" in answer.headers["Location"]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "361125-2026-" in page and "等待材料" in page


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"deceased_id_number": "361125195001011236"}, "不是有效的居民身份证号码"),
        ({"applicant_phone": "1234"}, "11位"),
        ({"hukou_local": ""}, "本县户籍"),
        ({"death_date": "2099-01-01"}, "不能晚于今天"),
    ],
)
def test_the_screen_names_each_error_in_chinese_and_writes_nothing(app, client, overrides, message):
    login(client, "window")
    with app.app_context():
        before = count_cases()
        db.session.remove()
    data = _form(action="save", **overrides)
    if overrides.get("hukou_local") == "":
        data.pop("hukou_local")
    page = client.post("/intake/", data=data)
    assert page.status_code == 200
    assert message in page.get_data(as_text=True)
    with app.app_context():
        assert count_cases() == before
        db.session.remove()


def test_case_numbers_are_readable_and_consecutive(app):
    with app.app_context():
        from tests.factories import make_case

        a = make_case("window", [], name="甲")
        b = make_case("window", [], name="乙")
        y = make_case("yy-window", [], name="丙")
        na, nb = int(a.case_no.rsplit("-", 1)[1]), int(b.case_no.rsplit("-", 1)[1])
        assert nb == na + 1 and a.case_no[:12] == "361125-2026-" and y.case_no.startswith("361126-2026-")
        db.session.remove()


def test_tasks_wait_until_their_materials_arrive(ctx):
    from tests.factories import make_case

    case = make_case("window", ["disability_certificate"], name="等待")
    assert {t.status for t in case.tasks} == {"waiting"}
    assert db.session.query(Task).filter(Task.case_id == case.id, Task.deadline.isnot(None)).count() == 0


def test_intake_check_refuses_without_writing(ctx):
    from app.models import DepartmentUser

    window = db.session.query(DepartmentUser).filter_by(username="window").one().departments[0]
    with pytest.raises(intake.IntakeRefused) as refused:
        intake.check(db.session, intake.Application(deceased={"hukou_local": True}), window)
    assert {"deceased.name", "deceased.id_number", "deceased.death_date", "applicant.phone"} <= set(
        refused.value.errors)


def _certificate(app, number, name, id_no, death_date=datetime.date(2026, 11, 30), region="361125"):
    from app.models import DeathCertificate, Department, Region

    with app.app_context():
        region_row = db.session.query(Region).filter_by(code=region).one()
        wj = db.session.query(Department).filter_by(region_id=region_row.id, code="WJ").one()
        db.session.add(DeathCertificate(number=number, kind="medical", deceased_name=name, deceased_id_number=id_no,
                                        death_date=death_date, death_circumstance="in_hospital", department=wj))
        db.session.commit()
        db.session.remove()


def test_a_case_that_agrees_with_its_registered_death_proof_is_marked_checked(app, client):
    number = _male_id(birth="19330303")
    _certificate(app, "WJ-2026-0001", "赵六", number)
    body = payload(**{"deceased.id_number": number, "deceased.name": "赵六",
                      "deceased.death_certificate_no": "WJ-2026-0001"})
    answer = client.post("/api/v1/case/", json=body, headers=jwt_headers(client, "window"))
    assert answer.status_code == 201 and answer.get_json()["death_proof_checked"] is True


def test_a_case_that_contradicts_the_registry_is_refused_until_the_clerk_accepts(app, client):
    number = _male_id(birth="19330404")
    _certificate(app, "WJ-2026-0002", "钱七", number, death_date=datetime.date(2026, 11, 28))
    body = payload(**{"deceased.id_number": number, "deceased.name": "钱八",
                      "deceased.death_certificate_no": "WJ-2026-0002"})
    headers = jwt_headers(client, "window")
    refused = client.post("/api/v1/case/", json=body, headers=headers)
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]
    assert set(errors) == {"deceased.name", "deceased.death_date"} and "钱七" in errors["deceased.name"][0]
    body["accept_registry_differences"] = True
    accepted = client.post("/api/v1/case/", json=body, headers=headers)
    assert accepted.status_code == 201 and accepted.get_json()["death_proof_checked"] is False


def test_the_screen_fills_the_form_from_the_registry_and_shows_differences(app, client):
    number = _male_id(birth="19330505")
    _certificate(app, "WJ-2026-0003", "孙九", number)
    login(client, "window")
    filled = client.post("/intake/", data={"death_certificate_no": "WJ-2026-0003", "action": "lookup"})
    page = filled.get_data(as_text=True)
    assert "孙九" in page and number in page and "2026-11-30" in page
    with app.app_context():
        from app.models import AuditLog

        assert db.session.query(AuditLog).filter_by(action="death_certificate_lookup", username="window").count()
        db.session.remove()
    data = _form(deceased_name="孙十", deceased_id_number=number, death_date="2026-11-30",
                 death_certificate_no="WJ-2026-0003", action="save")
    page = client.post("/intake/", data=data).get_data(as_text=True)
    assert "孙九" in page and "孙十" in page and "不一致" in page  # the difference, before saving
    with app.app_context():
        assert db.session.query(Case).filter_by(deceased_id_number=number).count() == 0
        db.session.remove()
    data["accept_differences"] = "y"
    assert client.post("/intake/", data=data).status_code == 302
    with app.app_context():
        case = db.session.query(Case).filter_by(deceased_id_number=number).one()
        assert case.death_certificate_id is None  # saved, but not counted as checked
        db.session.remove()


def test_another_countys_death_proof_is_not_found(app, client):
    number = _male_id(birth="19330606")
    _certificate(app, "YY-WJ-0001", "周一", number, region="361126")
    login(client, "window")
    page = client.post("/intake/", data={"death_certificate_no": "YY-WJ-0001", "action": "lookup"})
    assert "周一" not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"death_circumstance": "at_sea"}, "未知的死亡情形"),
        ({"facts": ["lottery_winner"]}, "未知的逝者情形"),
        ({"deceased_name": ""}, "请输入逝者姓名"),
        ({"applicant_id_number": "110105194912310021"}, "不是有效的居民身份证号码"),
        ({"death_date": "2026-13-45"}, "日期"),
    ],
)
def test_more_screen_errors_in_chinese(app, client, overrides, message):
    login(client, "window")
    with app.app_context():
        before = count_cases()
        db.session.remove()
    page = client.post("/intake/", data=_form(action="save", **overrides))
    assert page.status_code == 200 and message in page.get_data(as_text=True)
    with app.app_context():
        assert count_cases() == before
        db.session.remove()
