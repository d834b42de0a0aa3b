"""Who reads which personal data of a case: the one rule behind the case page, the
task page, the case and task APIs and anything else that shows these fields.

- the window that registered the case, and administrators: everything;
- a department clerk: the deceased's ID number only if one of its tasks on the case
  needs the deceased's ID card, the applicant's only if one needs the applicant's ID
  card, the mobile masked, and only the facts that drive its own items;
- supervisors and managers (their region, read-only): ID numbers and mobile masked,
  every fact.

A user holding several of these grants reads the union of them.
"""

from dataclasses import dataclass

from app.domain import rules
from app.security.scope import current_scope

DECEASED_ID = "DECEASED_ID"
APPLICANT_ID = "APPLICANT_ID"

# The columns of a case this rule governs; every other column is shown as it is.
PERSONAL_COLUMNS = ("deceased_id_number", "applicant_id_number", "applicant_phone", "facts")


def mask_id_number(value):
    """361125********1237: the region and the last four digits."""
    value = value or ""
    return value[:6] + "*" * max(len(value) - 10, 0) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_phone(value):
    """139****0001."""
    value = value or ""
    return value[:3] + "*" * max(len(value) - 7, 0) + value[-4:] if len(value) > 7 else "*" * len(value)


@dataclass(frozen=True)
class Disclosure:
    """What one user reads of one case. ``fact_codes`` None means every fact."""

    deceased_id: bool = False
    applicant_id: bool = False
    phone: bool = False
    fact_codes: frozenset | None = frozenset()

    def deceased_id_number(self, case):
        return case.deceased_id_number if self.deceased_id else mask_id_number(case.deceased_id_number)

    def applicant_id_number(self, case):
        return case.applicant_id_number if self.applicant_id else mask_id_number(case.applicant_id_number)

    def applicant_phone(self, case):
        return case.applicant_phone if self.phone else mask_phone(case.applicant_phone)

    def facts(self, case):
        """The case's facts this user may read, in the case's order."""
        return [f for f in case.facts if self.fact_codes is None or f.code in self.fact_codes]

    def value(self, case, column):
        """A column of the case as this user may read it."""
        if column == "deceased_id_number":
            return self.deceased_id_number(case)
        if column == "applicant_id_number":
            return self.applicant_id_number(case)
        if column == "applicant_phone":
            return self.applicant_phone(case)
        if column == "facts":
            return self.facts(case)
        return getattr(case, column)


EVERYTHING = Disclosure(deceased_id=True, applicant_id=True, phone=True, fact_codes=None)
NOTHING = Disclosure()
REGION_READ_ONLY = Disclosure(fact_codes=None)


def _union(a, b):
    facts = None if a.fact_codes is None or b.fact_codes is None else a.fact_codes | b.fact_codes
    return Disclosure(a.deceased_id or b.deceased_id, a.applicant_id or b.applicant_id, a.phone or b.phone, facts)


def item_facts(item, fact_codes):
    """The facts of a case that drive one of its items: those of the rules that gave
    the case the item, and those that make one of the item's requirements apply."""
    facts = set(fact_codes)
    driving = {rule.fact.code for rule in item.rules if rule.fact is not None}
    driving |= {req.condition_fact.code for req in item.requirements if req.condition_fact is not None}
    return driving & facts


def _department_disclosure(case, tasks):
    facts = [f.code for f in case.facts]
    needed = {code for task in tasks for need in rules.needs_for(task.item, facts) for code, _form in need.materials}
    return Disclosure(
        deceased_id=DECEASED_ID in needed,
        applicant_id=APPLICANT_ID in needed,
        phone=False,
        fact_codes=frozenset(code for task in tasks for code in item_facts(task.item, facts)),
    )


def disclosure(case, scope=None):
    """What the user of ``scope`` (by default the request's) reads of ``case``. The
    caller has already found the case through the row filter."""
    scope = current_scope() if scope is None else scope
    if scope.sees_all or case.department_id in scope.window_ids:
        return EVERYTHING
    granted = NOTHING
    if case.region_id in scope.region_ids:
        granted = _union(granted, REGION_READ_ONLY)
    own_tasks = [t for t in case.tasks if t.department_id in scope.department_ids]
    if own_tasks:
        granted = _union(granted, _department_disclosure(case, own_tasks))
    return granted
