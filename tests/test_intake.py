"""The window's intake: which items a case gets, one material checklist, every
validation named by its field (screen and API), nothing half-written, case numbers."""


import datetime
import html
import re

import pytest

from app.domain import intake, rules
from app.domain.cases import plan_items
from app.domain.clock import today_cst
from app.extensions import db
from app.models import AuditLog, Case, Item, Region, Task
from tests.conftest import jwt_headers, login
from tests.factories import id_number


def this_years_prefix(region="361125"):
    """Case numbers carry the year they are registered in (China's)."""
    return f"{region}-{today_cst().year}-"

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
    # Registration plans from the rules' rows: the same items, in the catalogue's order.
    county = db.session.query(Region).filter_by(code="361125").one()
    planned = [item for item, _department in plan_items(db.session, county, facts)]
    assert planned == items


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
    assert {("PENSION_HANDBOOK", "original")} not in without
    # The scan is shared; the original is checked at the window and kept by the funeral home.
    assert {("PENSION_HANDBOOK", "scan")} in with_fact
    assert {("PENSION_HANDBOOK", "original")} in with_fact


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
    assert body["case_no"].startswith(this_years_prefix()) and body["status"] == "registered"
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
    # Closed again, so that the factories' numbers (the same birth date) never meet an open case.
    cancelled = client.post(f"/api/v1/case/{answer.get_json()['id']}/cancel", json={"reason": "测试"}, headers=headers)
    assert cancelled.status_code == 200


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
    materials = page.split('id="preview-materials"', 1)[1].split("</table>", 1)[0]
    # YB01 and CL01 take the death proof or the cremation certificate: not both.
    assert "MZ01、RS02、YB01（或火化证明）、CL01（或火化证明）、GA01" in materials
    assert "RS02、YB01（或死亡证明）、CL01（或死亡证明）" in materials
    with app.app_context():
        assert count_cases() == before
        db.session.remove()


def test_the_screen_registers_and_opens_the_case(app, client):
    login(client, "window")
    answer = client.post("/intake/", data=_form(action="save"))
    assert answer.status_code == 302 and "/caseview/show/" in answer.headers["Location"]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert this_years_prefix() in page and "等待材料" in page


def field_errors(page, field_id):
    """The messages shown under one field of the intake form (its error block)."""
    block = re.search(rf'id="{field_id}-errors">(.*?)</div>', page, re.S)
    assert block, f"the page has no error block for {field_id}"
    return [html.unescape(m).strip() for m in re.findall(r'<p class="help-block text-danger">(.*?)</p>',
                                                            block.group(1), re.S)]


def post_screen(app, client, data):
    """Post the intake form as the window; (page, cases before, cases after)."""
    login(client, "window")
    with app.app_context():
        before = count_cases()
        db.session.remove()
    answer = client.post("/intake/", data=data)
    with app.app_context():
        after = count_cases()
        db.session.remove()
    return answer, before, after


SCREEN_ERRORS = {
    "bad check character": ({"deceased_id_number": "361125195001011236"}, "deceased_id_number",
                            "不是有效的居民身份证号码（校验码或出生日期有误）。"),
    "phone": ({"applicant_phone": "1234"}, "applicant_phone", "请输入以1开头的11位大陆手机号码。"),
    "not local": ({"hukou_local": None}, "hukou_local",
                  "只有本县户籍逝者可在此联办；非本县户籍的，请家属到户籍地各部门办理。"),
    "future death": ({"death_date": "2099-01-01"}, "death_date", "死亡日期不能晚于今天。"),
    "death before birth": ({"deceased_id_number": lambda: _male_id(birth="19500101"), "death_date": "1949-12-31"},
                           "death_date", "死亡日期早于身份证号码中的出生日期。"),
    "gender against the ID number": ({"deceased_id_number": lambda: _male_id(birth="19440404"), "deceased_gender": "女"},
                                     "deceased_gender", "性别与身份证号码不符。"),
    "unknown circumstance": ({"death_circumstance": "at_sea"}, "death_circumstance",
                             "未知的死亡情形：联办范围为在医疗卫生机构内、外或来院途中死亡，以及未经救治的非正常死亡。"),
    "unknown fact": ({"facts": ["lottery_winner"]}, "facts", "未知的逝者情形：lottery_winner。"),
    "no name": ({"deceased_name": ""}, "deceased_name", "请输入逝者姓名。"),
    "applicant's ID": ({"applicant_id_number": "110105194912310021"}, "applicant_id_number",
                       "不是有效的居民身份证号码（校验码或出生日期有误）。"),
    "impossible date": ({"death_date": "2026-13-45"}, "death_date",
                        "请按“年-月-日”（YYYY-MM-DD）格式输入死亡日期。"),
}


@pytest.mark.parametrize("case", list(SCREEN_ERRORS), ids=list(SCREEN_ERRORS))
def test_the_screen_names_each_error_under_its_field_in_chinese_and_writes_nothing(app, client, case):
    overrides, field_id, message = SCREEN_ERRORS[case]
    overrides = {name: value() if callable(value) else value for name, value in overrides.items()}
    data = _form(action="save", **overrides)
    data = {name: value for name, value in data.items() if value is not None}  # an unticked box is not sent
    answer, before, after = post_screen(app, client, data)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert message in field_errors(page, field_id)
    assert "申请信息有误，未保存任何内容。" in page
    assert after == before


def test_a_date_the_form_cannot_read_does_not_hide_the_other_errors(app, client):
    data = _form(action="save", death_date="30/11/2026", applicant_phone="1234", deceased_name="")
    answer, before, after = post_screen(app, client, data)
    page = answer.get_data(as_text=True)
    assert field_errors(page, "death_date") == ["请按“年-月-日”（YYYY-MM-DD）格式输入死亡日期。"]
    assert field_errors(page, "applicant_phone") == ["请输入以1开头的11位大陆手机号码。"]
    assert field_errors(page, "deceased_name") == ["请输入逝者姓名。"]
    assert field_errors(page, "applicant_id_number") == []  # a correct field shows nothing
    assert after == before


def test_the_screen_refuses_a_second_open_case_naming_the_first(app, client):
    number = _male_id(birth="19450505")
    login(client, "window")
    first = client.post("/intake/", data=_form(action="save", deceased_id_number=number))
    assert first.status_code == 302
    with app.app_context():
        existing = db.session.query(Case).filter_by(deceased_id_number=number).one().case_no
        db.session.remove()
    answer, before, after = post_screen(app, client, _form(action="save", deceased_id_number=number))
    page = answer.get_data(as_text=True)
    assert field_errors(page, "deceased_id_number") == [f"该逝者已有未办结的案件：{existing}。"]
    assert after == before


def test_a_name_with_markup_registered_on_the_screen_is_shown_escaped(app, client):
    number = _male_id(birth="19460606")
    login(client, "window")
    answer = client.post("/intake/", data=_form(action="save", deceased_id_number=number,
                                                deceased_name="<b onmouseover=alert(1)>李</b>"))
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.query(Case).filter_by(deceased_id_number=number).one().deceased_name == \
            "<b onmouseover=alert(1)>李</b>"
        db.session.remove()
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "<b onmouseover=alert(1)>" not in page
    assert "&lt;b onmouseover=alert(1)&gt;李&lt;/b&gt;" in page


def test_case_numbers_are_readable_and_consecutive(app):
    with app.app_context():
        from tests.factories import make_case

        a = make_case("window", [], name="甲")
        b = make_case("window", [], name="乙")
        y = make_case("yy-window", [], name="丙")
        na, nb = int(a.case_no.rsplit("-", 1)[1]), int(b.case_no.rsplit("-", 1)[1])
        assert nb == na + 1 and a.case_no[:12] == this_years_prefix()
        assert y.case_no.startswith(this_years_prefix("361126"))
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


def _certificate(app, number, name, id_no, death_date=datetime.date(2026, 11, 30), region="361125",
                 circumstance="in_hospital"):
    from app.models import DeathCertificate, Department, Region

    with app.app_context():
        region_row = db.session.query(Region).filter_by(code=region).one()
        wj = db.session.query(Department).filter_by(region_id=region_row.id, code="WJ").one()
        db.session.add(DeathCertificate(number=number, kind="medical", deceased_name=name, deceased_id_number=id_no,
                                        death_date=death_date, death_circumstance=circumstance, department=wj))
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
    # Dates as the screen shows them, not ISO.
    assert errors["deceased.death_date"] == ["已登记的死亡证明WJ-2026-0002记载为：2026年11月28日。"]
    body["accept_registry_differences"] = True
    accepted = client.post("/api/v1/case/", json=body, headers=headers)
    assert accepted.status_code == 201 and accepted.get_json()["death_proof_checked"] is False
    assert accepted.get_json()["death_proof_status"] == "differs"


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


def _case_of(app, number):
    with app.app_context():
        case = db.session.query(Case).filter_by(deceased_id_number=number).one()
        found = {"id": case.id, "no": case.death_certificate_no, "linked": case.death_certificate_id is not None,
                 "status": intake.death_proof_status(case)}
        db.session.remove()
    return found


def test_without_a_number_the_registry_is_searched_by_the_id_number(app, client):
    number = _male_id(birth="19320707")
    _certificate(app, "WJ-2026-0101", "张三", number)  # payload's name, date and circumstance
    answer = client.post("/api/v1/case/", json=payload(**{"deceased.id_number": number}),
                         headers=jwt_headers(client, "window"))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["death_proof_checked"] is True
    assert _case_of(app, number) == {"id": answer.get_json()["id"], "no": "WJ-2026-0101", "linked": True,
                                     "status": "checked"}


def test_a_difference_found_by_the_id_number_is_shown_with_the_circumstances_label(app, client):
    number = _male_id(birth="19320808")
    _certificate(app, "WJ-2026-0102", "张三", number, circumstance="outside_hospital")
    headers = jwt_headers(client, "window")
    refused = client.post("/api/v1/case/", json=payload(**{"deceased.id_number": number}), headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "deceased.death_circumstance": ["已登记的死亡证明WJ-2026-0102记载为：在医疗卫生机构外死亡。"]}
    body = dict(payload(**{"deceased.id_number": number}), accept_registry_differences=True)
    assert client.post("/api/v1/case/", json=body, headers=headers).status_code == 201
    case = _case_of(app, number)
    assert (case["linked"], case["status"]) == (False, "differs")
    with app.app_context():
        accepted = db.session.query(AuditLog).filter_by(action="registry_differences_accepted",
                                                        case_id=case["id"]).one()
        assert accepted.username == "window" and accepted.detail["fields"] == ["death_circumstance"]
        db.session.remove()
    login(client, "window")
    page = client.get(f"/caseview/show/{case['id']}").get_data(as_text=True)
    badge = re.search(r'id="death-proof-status">([^<]*)<', page).group(1)
    assert badge == "与死亡证明登记不一致（经办人已确认）"


def test_a_mistyped_number_is_a_difference_from_the_deceaseds_registered_proof(app, client):
    number = _male_id(birth="19320909")
    _certificate(app, "WJ-2026-0103", "张三", number)
    body = payload(**{"deceased.id_number": number, "deceased.death_certificate_no": "WJ-2026-0130"})
    refused = client.post("/api/v1/case/", json=body, headers=jwt_headers(client, "window"))
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "deceased.death_certificate_no": ["该身份证号码登记的死亡证明编号为 WJ-2026-0103。"]}


def test_a_number_the_registry_does_not_hold_is_refused_until_the_clerk_confirms(app, client):
    number = _male_id(birth="19321010")
    body = payload(**{"deceased.id_number": number, "deceased.death_certificate_no": "NO-SUCH-0001"})
    headers = jwt_headers(client, "window")
    refused = client.post("/api/v1/case/", json=body, headers=headers)
    assert refused.status_code == 422
    assert "NO-SUCH-0001" in refused.get_json()["errors"]["deceased.death_certificate_no"][0]
    with app.app_context():
        assert db.session.query(Case).filter_by(deceased_id_number=number).count() == 0
        db.session.remove()
    accepted = client.post("/api/v1/case/", json=dict(body, accept_registry_differences=True), headers=headers)
    assert accepted.status_code == 201 and accepted.get_json()["death_proof_status"] == "not_found"
    case = _case_of(app, number)
    login(client, "window")
    page = client.get(f"/caseview/show/{case['id']}").get_data(as_text=True)
    assert re.search(r'id="death-proof-status">([^<]*)<', page).group(1) == "登记库中未找到死亡证明"


def test_the_screen_warns_of_a_number_the_registry_does_not_hold(app, client):
    number = _male_id(birth="19321111")
    data = _form(deceased_id_number=number, death_certificate_no="NO-SUCH-0002", action="save")
    answer, before, after = post_screen(app, client, data)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and after == before
    assert 'id="registry-unknown-number"' in page and "NO-SUCH-0002" in page
    assert "登记库中没有编号为 NO-SUCH-0002 的死亡证明：请与家属核对编号。" in page
    data["accept_differences"] = "y"
    assert client.post("/intake/", data=data).status_code == 302
    assert _case_of(app, number)["status"] == "not_found"


def test_the_screen_finds_the_proof_by_the_id_number_and_links_it(app, client):
    number = _male_id(birth="19321212")
    _certificate(app, "WJ-2026-0104", "李四", number, death_date=datetime.date(2026, 11, 29))
    login(client, "window")
    preview = client.post("/intake/", data=_form(deceased_id_number=number, action="preview")).get_data(as_text=True)
    assert "死亡证明WJ-2026-0104已登记，与本次申请一致。" in preview
    assert client.post("/intake/", data=_form(deceased_id_number=number, action="save")).status_code == 302
    assert _case_of(app, number)["status"] == "checked"


# --- Editing a registered case (CaseView) ---------------------------------------------------


@pytest.fixture
def registered(app):
    """A case the window registered, as (id, deceased ID number)."""
    with app.app_context():
        from tests.factories import make_case

        case = make_case("window", ["disability_certificate"], name="编辑")
        found = case.id, case.deceased_id_number
        db.session.remove()
    return found


def _edits(app, case_id):
    with app.app_context():
        rows = db.session.query(AuditLog).filter_by(action="case_edited", case_id=case_id).all()
        found = [(r.username, r.detail) for r in rows]
        db.session.remove()
    return found


def _row(app, case_id):
    with app.app_context():
        case = db.session.get(Case, case_id)
        found = {name: getattr(case, name) for name in (
            "applicant_phone", "hukou_address", "applicant_relationship", "deceased_gender",
            "death_certificate_no", "death_certificate_id", "applicant_name")}
        db.session.remove()
    return found


def test_the_edit_form_offers_only_the_contact_details(app, client, registered):
    case_id, _number = registered
    login(client, "window")
    page = client.get(f"/caseview/edit/{case_id}").get_data(as_text=True)
    for name in intake.EDITABLE:
        assert f'name="{name}"' in page
    for fixed in ("deceased_gender", "death_certificate_no", "deceased_id_number", "applicant_name", "death_date"):
        assert f'name="{fixed}"' not in page, fixed


def test_an_edit_cannot_change_identity_or_registry_fields(app, client, registered):
    case_id, _number = registered
    before = _row(app, case_id)
    login(client, "window")
    answer = client.post(f"/caseview/edit/{case_id}", data={
        "hukou_address": before["hukou_address"], "applicant_phone": before["applicant_phone"],
        "applicant_relationship": before["applicant_relationship"],
        "deceased_gender": "女", "death_certificate_no": "FORGED-1", "applicant_name": "冒名"})
    assert answer.status_code == 302
    assert _row(app, case_id) == before
    assert _edits(app, case_id) == []  # nothing changed, nothing recorded


@pytest.mark.parametrize("field, value, message", [
    ("applicant_phone", "not-a-phone", "请输入以1开头的11位大陆手机号码。"),
    ("applicant_phone", "23800138000", "请输入以1开头的11位大陆手机号码。"),
    ("applicant_relationship", "很" * 33, "最多 32 个字。"),
])
def test_a_bad_edit_is_refused_under_its_field_and_changes_nothing(app, client, registered, field, value, message):
    case_id, _number = registered
    before = _row(app, case_id)
    data = {name: before[name] or "" for name in intake.EDITABLE}
    data[field] = value
    login(client, "window")
    answer = client.post(f"/caseview/edit/{case_id}", data=data)
    assert answer.status_code == 200  # the form again, with the error
    page = answer.get_data(as_text=True)
    assert message in page
    assert _row(app, case_id) == before and _edits(app, case_id) == []


def test_an_edit_is_cleaned_saved_and_audited_with_the_phone_masked(app, client, registered):
    case_id, _number = registered
    before = _row(app, case_id)
    login(client, "window")
    answer = client.post(f"/caseview/edit/{case_id}", data={
        "hukou_address": "横峰县岑阳镇", "applicant_phone": "139 0793 0001",
        "applicant_relationship": before["applicant_relationship"]})
    assert answer.status_code == 302
    after = _row(app, case_id)
    assert (after["hukou_address"], after["applicant_phone"]) == ("横峰县岑阳镇", "13907930001")
    [(username, detail)] = _edits(app, case_id)
    assert username == "window"
    assert detail["fields"] == ["applicant_phone", "hukou_address"]
    assert detail["changes"]["hukou_address"] == {"from": before["hukou_address"], "to": "横峰县岑阳镇"}
    assert detail["changes"]["applicant_phone"] == {"from": "138****8000", "to": "139****0001"}
    assert "13907930001" not in str(detail)
