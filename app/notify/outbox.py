"""Writing notifications (the outbox) in the caller's transaction, and handing them to
the worker once that transaction has committed.

``emit`` decides who is told of an event and on which channels:

- a department is told through each of its clerks (in the app, and by e-mail or SMS
  where the clerk asked for it), its mailbox and its own system's webhook;
- the family (the applicant, who has no account) by SMS;
- the region's supervisors (overdue tasks, the daily digest) like clerks.

Each row's key makes it unique: an event's occurrence (a random id, or the business
day for the daily scans: at most one reminder per task, kind and day), its channel
and its recipient.
"""

import json
import logging
import uuid
from typing import NamedTuple

from flask import current_app, has_app_context
from sqlalchemy import event, select

from app.models import Department, DepartmentUser, Region, user_department
from app.models.case import OPEN_TASK_STATES
from app.models.notify import (
    CASE_COMPLETED,
    EMAIL,
    IN_APP,
    OVERDUE,
    SMS,
    SUPPLEMENT_REQUESTED,
    TASK_CANCELLED,
    TASK_COMPLETED,
    TASK_READY,
    TASK_REJECTED,
    TASK_URGED,
    WEBHOOK,
    Notification,
)
from app.notify.channels import travels_outside
from app.security.roles import CLERK, SUPERVISOR, WINDOW

log = logging.getLogger(__name__)

# Who hears of what: the department that handles the task (or only if it is not the
# window's own task), the window that registered the case, the family, the region's
# supervisors.
TASK_DEPARTMENT, WINDOW_DEPARTMENT, FAMILY, SUPERVISORS = "department", "window", "family", "supervisors"
OTHER_DEPARTMENT = "department_not_window"
AUDIENCES = {
    TASK_READY: (TASK_DEPARTMENT,),
    SUPPLEMENT_REQUESTED: (WINDOW_DEPARTMENT, FAMILY),
    TASK_COMPLETED: (WINDOW_DEPARTMENT, FAMILY),
    TASK_REJECTED: (WINDOW_DEPARTMENT, FAMILY),
    TASK_URGED: (TASK_DEPARTMENT,),
    OVERDUE: (TASK_DEPARTMENT, SUPERVISORS),
    CASE_COMPLETED: (WINDOW_DEPARTMENT, FAMILY),
    # The window cancelled the case (and knows it); the family was told at the window.
    TASK_CANCELLED: (OTHER_DEPARTMENT,),
}
DEFAULT_AUDIENCE = (TASK_DEPARTMENT,)  # due soon

_NEW_IDS = "notify_new_ids"
_SUPPRESSED = "notify_suppressed"


def enabled(session):
    return not session.info.get(_SUPPRESSED)


class suppressed:
    """``with suppressed(session): …`` writes no notifications (bulk loads, imports)."""

    def __init__(self, session):
        self.session = session

    def __enter__(self):
        self.session.info[_SUPPRESSED] = True
        return self

    def __exit__(self, *exc):
        self.session.info.pop(_SUPPRESSED, None)


def occurrence():
    return uuid.uuid4().hex[:12]


def task_params(task, **extra):
    case = task.case
    params = {
        "case_no": case.case_no,
        "deceased": case.deceased_name,
        "item_code": task.item.code,
        "item": task.item.name,
        "department": task.department.name if task.department else "",
        "department_code": task.department.code if task.department else "",
        "status": task.status,
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "window": case.department.name if case.department else "",
        # The case's tasks still open after this event (the family's SMS says whether
        # anything remains to be done).
        "open_tasks": sum(1 for t in case.tasks if t.status in OPEN_TASK_STATES),
    }
    params.update(extra)
    return params


def case_params(case, **extra):
    params = {
        "case_no": case.case_no,
        "deceased": case.deceased_name,
        "status": case.status,
        "window": case.department.name if case.department else "",
    }
    params.update(extra)
    return params


def material_names(session, codes):
    from app.models import Material

    names = dict(session.execute(select(Material.code, Material.name).where(Material.code.in_(codes))).all())
    return "、".join(names.get(code, code) for code in codes)


def department_clerks(session, department_id):
    """The active users who handle a department's rows (clerks and window clerks)."""
    users = session.execute(
        select(DepartmentUser)
        .join(user_department, user_department.c.user_id == DepartmentUser.id)
        .where(user_department.c.department_id == department_id, DepartmentUser.active.is_(True))
        .order_by(DepartmentUser.id)
    ).scalars().all()
    return [u for u in users if {r.name for r in u.roles} & {CLERK, WINDOW}]


def region_supervisors(session, region_id):
    """The active supervisors whose region (that of one of their departments) is the
    given region or one above it."""
    ancestors = set()
    region = session.get(Region, region_id)
    while region is not None:
        ancestors.add(region.id)
        region = region.parent
    users = session.execute(
        select(DepartmentUser)
        .join(user_department, user_department.c.user_id == DepartmentUser.id)
        .join(Department, Department.id == user_department.c.department_id)
        .where(Department.region_id.in_(ancestors), DepartmentUser.active.is_(True))
        .order_by(DepartmentUser.id)
        .distinct()
    ).scalars().all()
    return [u for u in users if SUPERVISOR in {r.name for r in u.roles}]


def user_rows(user):
    """(channel, address) pairs on which a user asked to be told."""
    rows = []
    if user.notify_in_app:
        rows.append((IN_APP, None))
    if user.notify_by_email and user.email:
        rows.append((EMAIL, user.email))
    if user.notify_by_sms and user.phone:
        rows.append((SMS, user.phone))
    return rows


def department_rows(department):
    rows = []
    if department.notify_email:
        rows.append((EMAIL, department.notify_email))
    if department.webhook_url:
        rows.append((WEBHOOK, department.webhook_url))
    return rows


def _key(event_name, subject, occurrence_id, channel, recipient):
    return f"{event_name}:{subject}:{occurrence_id}:{channel}:{recipient}"[:200]


def emit(session, event_name, *, case=None, task=None, occurrence_id=None, audience=None, params=None,
         users=None):
    """Write the notifications of one event in the caller's transaction; returns them.
    ``users`` names the recipients outright (the daily digest)."""
    if not enabled(session):
        return []
    case = case if case is not None else (task.case if task is not None else None)
    if (task is not None and task.id is None) or (case is not None and case.id is None):
        session.flush()
    occurrence_id = occurrence_id or occurrence()
    subject = f"t{task.id}" if task is not None else (f"c{case.id}" if case is not None else "-")
    if params is None:
        params = task_params(task) if task is not None else case_params(case)
    body = json.dumps(params, ensure_ascii=False, default=str)
    rows, seen = [], set()

    def add(channel, *, user=None, department=None, address=None):
        recipient = f"u{user.id}" if user is not None else (f"d{department.id}" if department is not None
                                                            else f"a{address}")
        key = _key(event_name, subject, occurrence_id, channel, recipient)
        if key in seen:
            return
        seen.add(key)
        rows.append(Notification(
            key=key, event=event_name, channel=channel, user=user, department=department, address=address,
            case=case, task=task, params=body,
        ))

    def tell_users(people):
        for user in people:
            for channel, address in user_rows(user):
                add(channel, user=user, address=address)

    def tell_department(department):
        if department is None:
            return
        tell_users(department_clerks(session, department.id))
        for channel, address in department_rows(department):
            add(channel, department=department, address=address)

    if users is not None:
        tell_users(users)
    for who in (audience or AUDIENCES.get(event_name, DEFAULT_AUDIENCE)):
        if who == TASK_DEPARTMENT and task is not None:
            tell_department(task.department)
        elif who == OTHER_DEPARTMENT and task is not None and case is not None:
            if task.department_id != case.department_id:
                tell_department(task.department)
        elif who == WINDOW_DEPARTMENT and case is not None:
            if task is None or task.department_id != case.department_id:  # not the window's own task
                tell_department(case.department)
        elif who == FAMILY and case is not None and case.applicant_phone:
            add(SMS, address=case.applicant_phone)
        elif who == SUPERVISORS and case is not None:
            tell_users(region_supervisors(session, case.region_id))
    session.add_all(rows)
    return rows


# --- handing committed notifications to the worker ---------------------------------

class Queued(NamedTuple):
    """A notification to hand to the worker: its id and its channel."""

    id: int
    channel: str


DISPATCH_CHUNK = 50


def _collect(session, _flush_context):
    new = [Queued(obj.id, obj.channel) for obj in session.new if isinstance(obj, Notification)]
    if new:
        session.info.setdefault(_NEW_IDS, []).extend(new)


def _forget(session, *_args):
    session.info.pop(_NEW_IDS, None)


def _dispatch_committed(session):
    rows = session.info.pop(_NEW_IDS, None)
    if rows:
        dispatch(rows)


def delivery_batches(rows):
    """The ``deliver`` tasks for these rows: the in-app rows and recorded SMS first, in
    chunks (they only write to the database), then each row that travels outside in a
    task of its own, so that a slow or dead receiver holds up nothing but itself."""
    local = [row.id for row in rows if not travels_outside(row.channel)]
    outside = [row.id for row in rows if travels_outside(row.channel)]
    return [local[i:i + DISPATCH_CHUNK] for i in range(0, len(local), DISPATCH_CHUNK)] + [[i] for i in outside]


def dispatch(rows):
    """Queue the delivery of these notifications (``Queued`` rows, or anything with
    ``id`` and ``channel``); returns how many were queued. A broker that cannot be
    reached is not an error here: the rows are committed and the sweep sends them later."""
    if not rows or not has_app_context() or not current_app.config.get("NOTIFY_DISPATCH", True):
        return 0
    celery = current_app.extensions.get("celery")
    if celery is None:
        return 0
    queued = 0
    for ids in delivery_batches(rows):
        try:
            celery.send_task("app.notify.tasks.deliver", args=(ids,), retry=False)
        except Exception as exc:  # the broker is down: the sweep catches up
            log.warning("Could not queue %d notification(s) (%s); the sweep will send them.", len(rows) - queued,
                        exc)
            break
        queued += len(ids)
    return queued


def install(session_factory):
    """Listen on the application's sessions (once per process)."""
    if event.contains(session_factory, "after_flush", _collect):
        return
    event.listen(session_factory, "after_flush", _collect)
    event.listen(session_factory, "after_commit", _dispatch_committed)
    event.listen(session_factory, "after_rollback", _forget)
