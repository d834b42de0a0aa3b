"""The notice as data: the attachment's table, row by row, and an idempotent seed."""

import datetime

import pytest
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.models import CalendarDay, Department, DepartmentUser, Fact, Item, Material, Region, Requirement, Rule
from app.seeding import seed_all, seed_on_start
from tests.conftest import app_config

# The attachment of 横府办字〔2021〕42号, transcribed from the notice independently of
# seed/: (code, attachment department, item name, requirement groups, limit, note).
# A group is a tuple of (material name, form); several materials in one group are
# "A 或 B". The limit is the attachment's text; the note its 备注.
S, ORIG = "scan", "original"
ATTACHMENT = [
    ("MZ01", "民政局", "办理火化事项",
     [(("逝者身份证", ORIG),), (("逝者户口簿", ORIG),), (("死亡证明", ORIG),), (("经办人身份证", ORIG),)], "即时办理", None),
    ("MZ02", "民政局", "享受相关政策待遇终止", [(("死亡证明", S),), (("火化证明", S),)], "2个工作日", None),
    ("RS01", "人社局", "机关事业单位人员个人账户余额一次性支付",
     [(("死亡证明", S),), (("逝者银行卡或社保卡", S),)], "4个工作日", "15个工作日到账"),
    ("RS02", "人社局", "企业养老保险参保人员丧葬费、抚恤金、个人账户一次性支付",
     [(("逝者身份证", S),), (("死亡证明", S),), (("火化证明", S),), (("逝者银行卡或社保卡", S),),
      (("个人账户养老手册", S),), (("个人账户养老手册", ORIG),)], "4个工作日", "15个工作日到账"),
    ("RS03", "人社局", "城乡居民养老保险个人账户余额一次性支付",
     [(("逝者身份证", S),), (("死亡证明", S),), (("火化证明", S),), (("逝者银行卡或社保卡", S),)],
     "4个工作日", "15个工作日到账"),
    ("GJJ01", "住房公积金", "提取缴存职工住房公积金账户余额",
     [(("死亡证明", S),), (("逝者身份证", S),), (("逝者正常一类银行卡", S),), (("经办人身份证", S),),
      (("经办人现场拍照", S),)], "2个工作日", None),
    ("YB01", "医保局", "基本医疗保险参保终止",
     [(("逝者身份证", S),), (("死亡证明", S), ("火化证明", S))], "1个工作日", None),
    ("YB02", "医保局", "参保职工个人账户一次性支取", [(("逝者银行卡", S),)], "2个工作日", "15个工作日到账"),
    ("CL01", "残联", "残疾证注销", [(("死亡证明", S), ("火化证明", S))], "2个工作日", None),
    ("TY01", "退役军人事务局", "优抚对象丧葬补助费支付",
     [(("死亡证明", S),), (("逝者银行卡", S),)], "2个工作日", "15个工作日到账"),
    ("CZ01", "财政局和相关单位", "机关事业单位人员丧葬费、抚恤金验审并一次性支付",
     [(("死亡证明", S),), (("火化证明", S),)], "3个工作日", "5个工作日到账"),
    ("GA01", "公安局", "户口注销",
     [(("死亡证明", ORIG),), (("逝者户口簿", S),), (("逝者身份证", S),), (("经办人身份证", S),)], "2个工作日", None),
]

# The attachment's department column → the department code that handles the item
# (the funeral home's window is a unit of 民政).
ATTACHMENT_DEPARTMENTS = {
    "民政局": {"MZ", "BYG"}, "人社局": {"RS"}, "住房公积金": {"GJJ"}, "医保局": {"YB"}, "残联": {"CL"},
    "退役军人事务局": {"TY"}, "财政局和相关单位": {"CZ"}, "公安局": {"GA"},
}
# Within 民政, SPEC.md gives cremation to the funeral home's window (section 3 (一) of the
# notice: 殡仪馆…办理火化事项) and the benefits' termination to 民政局 itself.
HANDLED_BY = {"MZ01": "BYG", "MZ02": "MZ"}

# What the notice says of an item beyond its materials and limit: section 3 (八) for
# the housing fund, (十一) for veterans' affairs, and cremation's certificate.
ITEM_NOTES = {
    "MZ01": ("火化证明",),
    "GJJ01": ("其他法定程序完备",),
    "TY01": ("15个工作日到账", "停发抚恤金", "减员"),
}


def limit_days(text):
    return 0 if text == "即时办理" else int(text.removesuffix("个工作日"))


def payout_days(note):
    return int(note.removesuffix("个工作日到账")) if note else None


def requirement_groups(item):
    groups = {}
    for req in item.requirements:
        groups.setdefault(req.group_no, set()).add((req.material.name, req.form))
    return sorted(frozenset(g) for g in groups.values())


@pytest.mark.parametrize("row", ATTACHMENT, ids=[r[0] for r in ATTACHMENT])
def test_loaded_item_matches_the_attachment_row(ctx, row):
    code, department, name, groups, limit, note = row
    item = db.session.query(Item).filter_by(code=code).one()
    assert item.name == name
    assert item.department_code in ATTACHMENT_DEPARTMENTS[department]
    assert item.department_code == HANDLED_BY.get(code, item.department_code)
    for phrase in ITEM_NOTES.get(code, ()):
        assert phrase in (item.note or ""), f"{code}'s note lacks {phrase}"
    if item.payout_days:
        assert f"{item.payout_days}个工作日到账" in (item.note or "")
    assert item.time_limit_days == limit_days(limit)
    assert item.payout_days == payout_days(note)
    assert requirement_groups(item) == sorted(frozenset(g) for g in groups)


def test_the_catalogue_holds_exactly_the_attachments_items(ctx):
    assert sorted(code for (code,) in db.session.query(Item.code)) == sorted(r[0] for r in ATTACHMENT)


def test_the_pension_handbook_is_needed_only_for_those_insured_before_2010_12_in_service(ctx):
    reqs = db.session.query(Requirement).join(Material).filter(Material.code == "PENSION_HANDBOOK").all()
    # The scan is shared; the original is checked and kept by the funeral home.
    assert sorted(req.form for req in reqs) == ["original", "scan"]
    assert {(req.item.code, req.condition_fact.code) for req in reqs} == {("RS02", "insured_before_2010_12_in_service")}


def test_no_requirement_but_the_pension_handbooks_depends_on_a_fact(ctx):
    conditional = db.session.query(Requirement).filter(Requirement.condition_fact_id.isnot(None)).all()
    assert conditional and {r.material.code for r in conditional} == {"PENSION_HANDBOOK"}


def test_cremation_produces_the_cremation_certificate(ctx):
    item = db.session.query(Item).filter_by(code="MZ01").one()
    assert item.produces_material.code == "CREMATION_CERT"


def test_the_funeral_home_is_a_unit_of_civil_affairs_in_both_counties(ctx):
    for region_code in ("361125", "361126"):
        region = db.session.query(Region).filter_by(code=region_code).one()
        byg = db.session.query(Department).filter_by(region_id=region.id, code="BYG").one()
        assert byg.parent.code == "MZ" and byg.parent.region_id == region.id
        assert byg.accepts_cases


def test_the_region_tree(ctx):
    county = db.session.query(Region).filter_by(code="361125").one()
    assert [county.name, county.parent.name, county.parent.parent.name] == ["横峰县", "上饶市", "江西省"]


RULES = {
    "MZ01": {None}, "GA01": {None},
    "MZ02": {"urban_hardship", "dibao", "tekun", "elderly_allowance", "disability_two_subsidies"},
    "RS01": {"pension_institution"}, "RS02": {"pension_enterprise"}, "RS03": {"pension_resident"},
    "CZ01": {"institution_staff"}, "GJJ01": {"housing_fund"},
    "YB01": {"medical_employee", "medical_resident"}, "YB02": {"medical_employee"},
    "CL01": {"disability_certificate"}, "TY01": {"entitled_group"},
}


def test_rules_are_those_of_the_spec(ctx):
    loaded = {}
    for rule in db.session.query(Rule):
        loaded.setdefault(rule.item.code, set()).add(rule.fact.code if rule.fact else None)
    assert loaded == RULES


def _counts():
    return {
        model.__name__: db.session.query(model).count()
        for model in (Region, Department, Material, Fact, Item, Requirement, Rule, CalendarDay)
    }


def test_seeding_twice_duplicates_nothing_and_keeps_admin_rows(ctx):
    admin_fact = Fact(code="test_admin_fact", name="管理员新增的情形", category="other")
    db.session.add(admin_fact)
    item = db.session.query(Item).filter_by(code="CL01").one()
    db.session.add(Rule(item=item, fact=admin_fact, note="管理员新增"))
    db.session.commit()
    before = _counts()
    seed_all(demo=True)
    seed_all(demo=True)
    assert _counts() == before
    kept = db.session.query(Rule).join(Fact).filter(Fact.code == "test_admin_fact").one()
    assert kept.note == "管理员新增"
    db.session.delete(kept)
    db.session.delete(db.session.query(Fact).filter_by(code="test_admin_fact").one())
    db.session.commit()


def _edit_the_notice_as_an_administrator():
    """GA01's limit raised, one of YB01's rules and one 2026 holiday deleted."""
    ga01 = db.session.query(Item).filter_by(code="GA01").one()
    ga01.time_limit_days = 3
    yb01_rule = (db.session.query(Rule).join(Item).join(Fact, Rule.fact_id == Fact.id)
                 .filter(Item.code == "YB01", Fact.code == "medical_resident").one())
    db.session.delete(yb01_rule)
    db.session.query(CalendarDay).filter_by(day=datetime.date(2026, 10, 7)).delete()
    db.session.commit()


def _notice_state():
    ga01 = db.session.query(Item).filter_by(code="GA01").one()
    yb01_facts = {r.fact.code for r in db.session.query(Rule).join(Item).filter(Item.code == "YB01")}
    holiday = db.session.query(CalendarDay).filter_by(day=datetime.date(2026, 10, 7)).one_or_none()
    return ga01.time_limit_days, yb01_facts, holiday is not None


def test_a_restart_keeps_what_administrators_changed_in_the_notice(app, ctx):
    _edit_the_notice_as_an_administrator()
    try:
        seed_on_start(demo=True)  # what python run.py does at every start
        assert _notice_state() == (3, {"medical_employee"}, False)

        runner = app.test_cli_runner()
        result = runner.invoke(args=["seed", "all", "--demo"])
        assert result.exit_code == 0, result.output
        db.session.expire_all()
        # An explicit seed adds what is missing and keeps what was edited.
        assert _notice_state() == (3, {"medical_employee", "medical_resident"}, False)

        result = runner.invoke(args=["seed", "all", "--demo", "--restore"])
        assert result.exit_code == 0, result.output
        db.session.expire_all()
        assert _notice_state() == (2, {"medical_employee", "medical_resident"}, True)
    finally:
        seed_all(demo=True, restore=True)


def test_the_first_start_loads_the_notice_and_no_demo_accounts_outside_demo_mode(tmp_path):
    app = create_app(app_config(str(tmp_path), "sqlite:///" + str(tmp_path / "fresh.sqlite"), DEMO_MODE=False))
    with app.app_context():
        upgrade()
        seed_on_start(demo=False)
        assert db.session.query(Item).count() == len(ATTACHMENT)
        assert db.session.query(CalendarDay).filter(CalendarDay.day >= datetime.date(2026, 1, 1)).count() > 0
        assert db.session.query(DepartmentUser).count() == 0
        db.session.remove()
        db.engine.dispose()


def test_production_refuses_to_seed_demo_accounts(tmp_path):
    config = app_config(str(tmp_path), "sqlite:///" + str(tmp_path / "prod.sqlite"), APP_ENV="production",
                        DEMO_MODE=False, SECRET_KEY="a-real-production-secret-of-some-length")
    app = create_app(config)
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["seed", "all", "--demo"])
        assert result.exit_code != 0 and "never created in production" in result.output
        assert db.session.query(DepartmentUser).count() == 0
        db.session.remove()
        db.engine.dispose()
