"""Loads the notice (``seed/*.yaml``), the working-day calendar and, in demo mode, the
demo accounts. Every loader upserts by natural key, so running the seed twice
duplicates nothing, and rows that are not in the seed files are never touched."""

import os

import yaml
from flask import current_app

from app.extensions import db
from app.models import (
    CalendarDay,
    Department,
    DepartmentUser,
    Fact,
    Item,
    Material,
    Region,
    Requirement,
    Rule,
)
from app.security.roles import ROLES

SEED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "seed")

HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def read_seed(name):
    with open(os.path.join(SEED_DIR, name), encoding="utf-8") as f:
        return yaml.safe_load(f)


def _upsert(model, key, **values):
    """The row of ``model`` matching ``key``, created or updated to ``values``."""
    session = db.session
    row = session.query(model).filter_by(**key).one_or_none()
    if row is None:
        row = model(**key)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    return row


def load_regions(data):
    regions = {}
    for spec in data["regions"]:
        parent = regions.get(spec.get("parent"))
        region = _upsert(Region, {"code": spec["code"]}, name=spec["name"], level=spec["level"], parent=parent,
                         notice=spec.get("notice"))
        regions[spec["code"]] = region
        db.session.flush()
        departments = {}
        for dept in spec.get("departments", []):
            departments[dept["code"]] = _upsert(
                Department,
                {"region_id": region.id, "code": dept["code"]},
                name=dept["name"],
                region=region,
                parent=departments.get(dept.get("parent")),
                accepts_cases=bool(dept.get("accepts_cases", False)),
                certificate_kind=dept.get("certificate_kind"),
            )
        db.session.flush()
    return regions


def load_catalogue(data):
    materials = {
        m["code"]: _upsert(Material, {"code": m["code"]}, name=m["name"], name_en=m.get("name_en"), note=m.get("note"))
        for m in data["materials"]
    }
    facts = {
        f["code"]: _upsert(
            Fact, {"code": f["code"]}, name=f["name"], name_en=f.get("name_en"),
            category=f.get("category", "other"), sort_order=n,
        )
        for n, f in enumerate(data["facts"], start=1)
    }
    db.session.flush()
    for order, spec in enumerate(data["items"], start=1):
        item = _upsert(
            Item, {"code": spec["code"]},
            name=spec["name"], name_en=spec.get("name_en"), department_code=spec["department"],
            time_limit_days=spec["time_limit_days"], payout_days=spec.get("payout_days"),
            note=spec.get("note"), sort_order=order,
            produces_material=materials[spec["produces"]] if spec.get("produces") else None,
        )
        db.session.flush()
        for group_no, group in enumerate(spec["requirements"], start=1):
            if isinstance(group, list):
                group = {"materials": group}
            condition = facts[group["when"]] if group.get("when") else None
            for material_code, form in group["materials"]:
                _upsert(
                    Requirement,
                    {"item_id": item.id, "material_id": materials[material_code].id, "form": form},
                    group_no=group_no, condition_fact=condition, note=group.get("note"),
                )
        for fact_code in spec["rules"]:
            fact = None if fact_code == "always" else facts[fact_code]
            _upsert(Rule, {"item_id": item.id, "fact_id": fact.id if fact else None})
    db.session.flush()


def load_calendar_from_package():
    """Holidays and make-up working days for every year ``chinesecalendar`` knows.
    Rows an administrator already entered for a day are left as they are."""
    from chinese_calendar import constants

    existing = {day for (day,) in db.session.query(CalendarDay.day)}
    rows = [
        CalendarDay(day=day, kind="holiday", name=HOLIDAY_NAMES_ZH.get(name, name))
        for day, name in constants.holidays.items() if day not in existing
    ] + [
        CalendarDay(day=day, kind="workday", name="调休上班（" + HOLIDAY_NAMES_ZH.get(name, name) + "）")
        for day, name in constants.workdays.items() if day not in existing
    ]
    db.session.add_all(rows)
    db.session.flush()
    return len(rows)


def ensure_roles():
    sm = current_app.appbuilder.sm
    for name in ROLES:
        if sm.find_role(name) is None:
            sm.add_role(name)
    if sm.find_role(sm.auth_role_public) is None:
        sm.add_role(sm.auth_role_public)


def load_demo_users(data, password):
    """The demo accounts of SPEC.md; their password is reset to ``password``."""
    from werkzeug.security import generate_password_hash

    sm = current_app.appbuilder.sm
    for spec in data["users"]:
        region = db.session.query(Region).filter_by(code=spec["region"]).one()
        departments = [
            db.session.query(Department).filter_by(region_id=region.id, code=code).one()
            for code in spec["departments"]
        ]
        user = _upsert(
            DepartmentUser, {"username": spec["username"]},
            first_name=spec["name"], last_name="", email=f"{spec['username']}@demo.invalid",
            active=True, password=generate_password_hash(password),
        )
        user.roles = [sm.find_role(name) for name in spec.get("roles") or [spec["role"]]]
        user.departments = departments
    db.session.flush()


def demo_usernames():
    return [u["username"] for u in read_seed("demo_users.yaml")["users"]]


def seed_all(demo):
    """The one idempotent seed: regions, departments, the catalogue, the calendar,
    roles, and in demo mode the demo accounts. One transaction."""
    try:
        load_regions(read_seed("regions.yaml"))
        load_catalogue(read_seed("catalogue.yaml"))
        added_days = load_calendar_from_package()
        ensure_roles()
        if demo:
            load_demo_users(read_seed("demo_users.yaml"), current_app.config["DEMO_PASSWORD"])
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return added_days
