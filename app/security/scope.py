"""The one row filter. Every screen, REST endpoint, related-field dropdown and file
download asks ``scope_query`` what a user may see and ``check_writable`` whether a row
may be written. Deny by default: a model not named here shows nothing to anyone but
an administrator, and a user without a known role sees nothing.
"""

from dataclasses import dataclass, field
from functools import lru_cache

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, false, or_, select

from app.extensions import db
from app.models import (
    AuditLog,
    CalendarDay,
    Case,
    CaseMaterial,
    DeathCertificate,
    Department,
    Fact,
    Item,
    Material,
    Notification,
    Region,
    ReportJob,
    Requirement,
    Rule,
    Task,
    TaskUrging,
    case_fact,
)
from app.models.catalogue import SCAN
from app.models.notify import IN_APP, SENT
from app.security.roles import SCOPE_ALL, SCOPE_DEPARTMENT, SCOPE_REGION, reads_region_materials, scope_kinds

# Reference data from the notice: readable by every signed-in user, written by admins
# (write access to these screens is a permission only the Admin role holds).
REFERENCE_MODELS = (CalendarDay, Fact, Item, Material, Requirement, Rule)


class AccessDenied(Exception):
    """Raised when a user tries to write a row outside their scope."""


@dataclass(frozen=True)
class Scope:
    sees_all: bool = False
    department_ids: frozenset = field(default_factory=frozenset)  # departments served
    window_ids: frozenset = field(default_factory=frozenset)  # those of them that register cases
    region_ids: frozenset = field(default_factory=frozenset)  # region subtree, read-only
    # The region subtree whose case materials the user reads (supervisors, not managers).
    material_region_ids: frozenset = field(default_factory=frozenset)

    @property
    def is_empty(self):
        return not (self.sees_all or self.department_ids or self.region_ids)


NOTHING = Scope()


def region_subtree_ids(root_ids):
    """The ids of the given regions and all their descendants."""
    found = set(root_ids)
    frontier = set(root_ids)
    while frontier:
        rows = db.session.execute(select(Region.id).where(Region.parent_id.in_(frontier))).scalars()
        frontier = set(rows) - found
        found |= frontier
    return frozenset(found)


def scope_for(user):
    """Compute the scope of a user from their roles and departments."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return NOTHING
    role_names = [role.name for role in user.roles]
    kinds = scope_kinds(role_names)
    if SCOPE_ALL in kinds:
        return Scope(sees_all=True)
    departments = list(getattr(user, "departments", []) or [])
    served = departments if SCOPE_DEPARTMENT in kinds else []
    region_ids = (
        region_subtree_ids({d.region_id for d in departments}) if SCOPE_REGION in kinds else frozenset()
    )
    return Scope(
        department_ids=frozenset(d.id for d in served),
        window_ids=frozenset(d.id for d in served if d.accepts_cases),
        region_ids=region_ids,
        material_region_ids=region_ids if reads_region_materials(role_names) else frozenset(),
    )


def current_scope():
    """The scope of the request's user, computed once per request."""
    if not has_request_context():
        return NOTHING
    user = getattr(g, "user", None)
    cached = getattr(g, "_scope", None)
    if cached is not None and cached[0] is user:
        return cached[1]
    scope = scope_for(user)
    g._scope = (user, scope)
    return scope


def _departments_in(region_ids):
    return select(Department.id).where(Department.region_id.in_(region_ids))


def _case_clause(scope):
    """Cases of the user's region subtree, cases their window registered and cases
    with a task of their department."""
    clauses = []
    if scope.region_ids:
        clauses.append(Case.region_id.in_(scope.region_ids))
    if scope.window_ids:
        clauses.append(Case.department_id.in_(scope.window_ids))
    if scope.department_ids:
        # Served by ix_task_case_department: one index probe per case.
        clauses.append(
            exists().where(and_(Task.case_id == Case.id, Task.department_id.in_(scope.department_ids)))
        )
    return or_(*clauses)


def _case_material_clause(scope):
    """Data minimisation: a case's material is shared with the window that registered
    the case, the supervisors of its region and each department one of whose tasks on
    the case asks for its scan, under the requirement's condition (the pension handbook
    only for the deceased who has the fact); an original checked at the window shares
    nothing."""
    clauses = []
    if scope.material_region_ids:
        clauses.append(
            exists().where(and_(Case.id == CaseMaterial.case_id, Case.region_id.in_(scope.material_region_ids)))
        )
    if scope.window_ids:
        clauses.append(CaseMaterial.case_id.in_(select(Case.id).where(Case.department_id.in_(scope.window_ids))))
    if scope.department_ids:
        condition_holds = or_(
            Requirement.condition_fact_id.is_(None),
            # (correlated explicitly: the case material is two levels up)
            exists().where(and_(case_fact.c.case_id == CaseMaterial.case_id,
                                case_fact.c.fact_id == Requirement.condition_fact_id)).correlate_except(case_fact),
        )
        clauses.append(
            exists().where(
                and_(
                    Task.case_id == CaseMaterial.case_id,
                    Task.department_id.in_(scope.department_ids),
                    Requirement.item_id == Task.item_id,
                    Requirement.material_id == CaseMaterial.material_id,
                    Requirement.form == SCAN,
                    condition_holds,
                )
            )
        )
    return or_(*clauses) if clauses else false()


@lru_cache(maxsize=1024)
def visibility_clause(model, scope):
    """A WHERE clause restricting ``model`` to the rows ``scope`` may see, or None for
    no restriction. It depends on the two alone (a scope is a frozen value, computed
    for each request from the user's roles and departments as they are then): the
    clause is built once for each, not on every page."""
    if scope.sees_all:
        return None
    if scope.is_empty:
        return false()
    if model in REFERENCE_MODELS:
        return None
    if model is Case:
        return _case_clause(scope)
    if model is Task:
        clauses = []
        if scope.region_ids:
            clauses.append(Task.department_id.in_(_departments_in(scope.region_ids)))
        if scope.department_ids:
            clauses.append(Task.department_id.in_(scope.department_ids))
        if scope.window_ids:
            # The window that registered a case follows all of its tasks.
            # (A correlated EXISTS lets the planner walk the deadline index for a page.)
            clauses.append(exists().where(and_(Case.id == Task.case_id, Case.department_id.in_(scope.window_ids))))
        return or_(*clauses)
    if model is CaseMaterial:
        return _case_material_clause(scope)
    if model is Department:
        clauses = []
        if scope.region_ids:
            clauses.append(Department.region_id.in_(scope.region_ids))
        if scope.department_ids:
            clauses.append(Department.id.in_(scope.department_ids))
        return or_(*clauses)
    if model is Region:
        clauses = []
        if scope.region_ids:
            clauses.append(Region.id.in_(scope.region_ids))
        if scope.department_ids:
            clauses.append(
                Region.id.in_(select(Department.region_id).where(Department.id.in_(scope.department_ids)))
            )
        return or_(*clauses)
    if model is DeathCertificate:
        # Issuers see their own departments' certificates; supervisors their region's.
        clauses = []
        if scope.region_ids:
            clauses.append(DeathCertificate.department_id.in_(_departments_in(scope.region_ids)))
        if scope.department_ids:
            clauses.append(DeathCertificate.department_id.in_(scope.department_ids))
        return or_(*clauses)
    if model is TaskUrging:
        # An urging is seen by whoever sees its task: the department, the window, the region.
        return TaskUrging.task_id.in_(select(Task.id).where(visibility_clause(Task, scope)))
    if model is AuditLog:
        return AuditLog.region_id.in_(scope.region_ids) if scope.region_ids else false()
    if model is ReportJob:
        # A generated report is seen by whoever may report on its region.
        return ReportJob.region_id.in_(select(Region.id).where(visibility_clause(Region, scope)))
    return false()


def scope_query(model, query, scope=None):
    """Apply the visibility rule to a legacy ``Query`` or a ``Select`` of ``model``."""
    clause = visibility_clause(model, current_scope() if scope is None else scope)
    if clause is None:
        return query
    return query.filter(clause) if hasattr(query, "filter") else query.where(clause)


def _row_department_ids(row):
    if isinstance(row, Department):
        return {row.id}
    if isinstance(row, (Case, Task, DeathCertificate)):
        dept = row.department
        return {dept.id if dept is not None else row.department_id}
    return None


def check_writable(row, scope=None):
    """Refuse to write a row that does not belong to one of the user's departments.
    Region-scoped users (supervisors, managers) write nothing here."""
    scope = current_scope() if scope is None else scope
    if scope.sees_all:
        return
    if isinstance(row, REFERENCE_MODELS):
        raise AccessDenied(_l("Only administrators may change reference data."))
    departments = _row_department_ids(row)
    if not departments or None in departments or not departments <= scope.department_ids:
        raise AccessDenied(_l("You may only write rows of your own department."))


def inbox_clause(user_id, columns=Notification):
    """A user's inbox: the in-app notifications the worker has delivered to them,
    whatever their roles (an administrator's inbox is theirs too; served by
    ix_notification_inbox). On the mapped class, or on ``Notification.__table__.c``
    for a plain statement."""
    return and_(columns.user_id == user_id, columns.channel == IN_APP, columns.status == SENT)


def window_regions(user):
    """The counties whose death-certificate registry a user may search: those of the
    windows they serve."""
    regions = []
    for department in getattr(user, "departments", None) or []:
        if department.accepts_cases and department.region not in regions:
            regions.append(department.region)
    return regions


def registering_window(user):
    """The department a case the user registers belongs to: the (first) joint-handling
    window they serve, whatever the form says; None when they serve none."""
    return next((d for d in getattr(user, "departments", []) if d.accepts_cases), None)
