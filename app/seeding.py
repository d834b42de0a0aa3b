"""Loads the notice (``seed/*.yaml``), the working-day calendar and, in demo mode, the
demo accounts. Every loader matches rows by natural key, so running the seed twice
duplicates nothing, and rows that are not in the seed files are never touched.

The catalogue and the calendar are data that administrators maintain: by default the
seed only adds what is missing and leaves existing rows as the administrators left
them; ``restore=True`` (``flask seed all --restore``) brings the seed rows back to the
notice. ``python run.py`` loads the notice into an empty database only, so a restart
never undoes an administrator's edit or deletion (``seed_on_start``)."""

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


def _upsert(model, key, restore=True, **values):
    """The row of ``model`` matching ``key``: created with ``values`` when missing;
    an existing row is set to ``values`` only when ``restore``."""
    session = db.session
    row = session.query(model).filter_by(**key).one_or_none()
    if row is None:
        row = model(**key)
        session.add(row)
    elif not restore:
        return row
    for name, value in values.items():
        setattr(row, name, value)
    return row


def load_regions(data, restore=True):
    regions = {}
    for spec in data["regions"]:
        parent = regions.get(spec.get("parent"))
        region = _upsert(Region, {"code": spec["code"]}, restore, name=spec["name"], level=spec["level"],
                         parent=parent, notice=spec.get("notice"))
        regions[spec["code"]] = region
        db.session.flush()
        departments = {}
        for dept in spec.get("departments", []):
            departments[dept["code"]] = _upsert(
                Department,
                {"region_id": region.id, "code": dept["code"]},
                restore,
                name=dept["name"],
                region=region,
                parent=departments.get(dept.get("parent")),
                accepts_cases=bool(dept.get("accepts_cases", False)),
                certificate_kind=dept.get("certificate_kind"),
            )
        db.session.flush()
    return regions


def load_catalogue(data, restore=True):
    materials = {
        m["code"]: _upsert(Material, {"code": m["code"]}, restore, name=m["name"], name_en=m.get("name_en"),
                           note=m.get("note"))
        for m in data["materials"]
    }
    facts = {
        f["code"]: _upsert(
            Fact, {"code": f["code"]}, restore, name=f["name"], name_en=f.get("name_en"),
            category=f.get("category", "other"), sort_order=n,
        )
        for n, f in enumerate(data["facts"], start=1)
    }
    db.session.flush()
    for order, spec in enumerate(data["items"], start=1):
        item = _upsert(
            Item, {"code": spec["code"]}, restore,
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
                    restore,
                    group_no=group_no, condition_fact=condition, note=group.get("note"),
                )
        for fact_code in spec["rules"]:
            fact = None if fact_code == "always" else facts[fact_code]
            _upsert(Rule, {"item_id": item.id, "fact_id": fact.id if fact else None}, restore)
    db.session.flush()


def load_calendar_from_package(restore=True):
    """Holidays and make-up working days for every year ``chinesecalendar`` knows.
    A day an administrator already entered is left as it is; unless ``restore``, so is
    every year that already has rows (what an administrator deleted stays deleted)."""
    from chinese_calendar import constants

    existing = {day for (day,) in db.session.query(CalendarDay.day)}
    maintained_years = set() if restore else {day.year for day in existing}

    def wanted(day):
        return day not in existing and day.year not in maintained_years

    rows = [
        CalendarDay(day=day, kind="holiday", name=HOLIDAY_NAMES_ZH.get(name, name))
        for day, name in constants.holidays.items() if wanted(day)
    ] + [
        CalendarDay(day=day, kind="workday", name="调休上班（" + HOLIDAY_NAMES_ZH.get(name, name) + "）")
        for day, name in constants.workdays.items() if wanted(day)
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


def catalogue_loaded():
    return db.session.query(Item.id).first() is not None


def seed_all(demo, restore=False, catalogue=True):
    """The one idempotent seed: regions, departments, the catalogue, the calendar,
    roles, and in demo mode the demo accounts. One transaction. Without ``restore``
    existing rows are kept as they are; ``catalogue=False`` leaves the regions,
    departments and catalogue alone and adds only calendar years with no rows."""
    try:
        if catalogue:
            load_regions(read_seed("regions.yaml"), restore)
            load_catalogue(read_seed("catalogue.yaml"), restore)
        added_days = load_calendar_from_package(restore)
        ensure_roles()
        if demo:
            load_demo_users(read_seed("demo_users.yaml"), current_app.config["DEMO_PASSWORD"])
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return added_days


def seed_on_start(demo):
    """What ``python run.py`` seeds: the whole notice into an empty database; later
    starts only the roles, the demo accounts and calendar years nobody has entered."""
    return seed_all(demo=demo, catalogue=not catalogue_loaded())
