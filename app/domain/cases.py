"""Registering a case: its number, its items (from the rules) and one task per item,
sent to the department of the case's county that handles the item."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain import audit, rules
from app.domain.clock import today_cst
from app.models import CaseNumberSequence, Department, Fact, Item, Rule, Task
from app.models.case import CASE_REGISTERED, WAITING
from app.security.scope import registering_window


class CaseError(ValueError):
    """A case that cannot be registered, with a message for the clerk."""

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def allocate_case_no(session, region, year):
    """The next case number of a region and year, such as ``361125-2026-000123``.
    The sequence row is locked (``FOR UPDATE``), so concurrent registrations wait for
    each other instead of taking the same number."""
    key = {"region_id": region.id, "year": year}
    seq = session.query(CaseNumberSequence).filter_by(**key).with_for_update().one_or_none()
    if seq is None:
        try:
            with session.begin_nested():
                session.add(CaseNumberSequence(last_number=0, **key))
        except IntegrityError:
            pass  # another transaction created it first
        seq = session.query(CaseNumberSequence).filter_by(**key).with_for_update().one()
    seq.last_number += 1
    session.flush()
    return f"{region.code}-{year}-{seq.last_number:06d}"


def plan_items(session, region, fact_codes):
    """The items a case with these facts gets, each with its handling department in
    the case's region. A region lacking a department for an item is a set-up error."""
    rule_rows = session.execute(select(Rule.item_id, Fact.code).outerjoin(Fact, Rule.fact_id == Fact.id)).all()
    chosen = rules.item_ids_for(rule_rows, fact_codes)
    items = sorted(session.query(Item).filter(Item.id.in_(chosen)).all() if chosen else [],
                   key=lambda item: (item.sort_order, item.code))  # the catalogue's order, as items_for
    departments = {d.code: d for d in session.query(Department).filter_by(region_id=region.id, active=True)}
    plan = []
    for item in items:
        department = departments.get(item.department_code)
        if department is None:
            raise CaseError(
                _l("%(region)s has no department %(code)s for item %(item)s.",
                   region=region.name, code=item.department_code, item=item.code)
            )
        plan.append((item, department))
    return plan


def open_tasks(session, case):
    """One task per item of the case, waiting for its materials."""
    fact_codes = [f.code for f in case.facts]
    tasks = [
        Task(case=case, item=item, department=department, status=WAITING)
        for item, department in plan_items(session, case.region, fact_codes)
    ]
    session.add_all(tasks)
    return tasks


def intake_department(user):
    """The department through which a user registers cases: the one window they serve
    (decided by the security package)."""
    window = registering_window(user)
    if window is None:
        raise CaseError(_l("You do not serve a joint-handling window, so you cannot register cases."))
    return window


def prepare_new_case(session, case, user):
    """Fill in what the clerk does not choose: the window, the county, the number."""
    department = intake_department(user)
    case.department = department
    case.region = department.region
    case.status = CASE_REGISTERED
    case.registered_by_id = user.id
    case.case_no = allocate_case_no(session, department.region, today_cst().year)


def register_case(session, case, user):
    """Register a new case in the caller's transaction: number, window, county, one
    task per item, and the audit row. Raises ``CaseError`` with nothing flushed for
    the clerk's mistakes."""
    prepare_new_case(session, case, user)
    open_tasks(session, case)
    session.flush()
    audit.record(session, user, "case_registered", case=case, obj=case, to_state=case.status)
    return case
