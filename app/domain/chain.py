"""一链办理: materials arrive once per case; a task waits until every material its item
needs is present, then becomes ready and its deadline runs on the working-day calendar;
completing an item that produces a material (cremation → 火化证明) issues it, which
readies the tasks that waited for it. Views, the API and the CLI call these functions;
each works in the caller's transaction and writes its audit rows there."""

from flask_babel import lazy_gettext as _l

from app import storage
from app.domain import audit, rules
from app.domain.clock import to_cst_date
from app.domain.labels import STATUS_LABELS
from app.domain.workdays import load_calendar
from app.models import CaseMaterial
from app.models.case import (
    ACCEPTED,
    CASE_COMPLETED,
    CASE_IN_PROGRESS,
    CASE_REGISTERED,
    COMPLETED,
    READY,
    REJECTED,
    WAITING,
    utcnow,
)
from app.models.catalogue import ORIGINAL, SCAN

OPEN_CASE_STATES = (CASE_REGISTERED, CASE_IN_PROGRESS)
FINISHED_TASK_STATES = (COMPLETED, REJECTED)


class ChainError(ValueError):
    """An operation the case's or task's state does not allow, with a message."""

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def state_label(task):
    return STATUS_LABELS.get(task.status, task.status)


def present_pairs(case):
    """The (material code, form) pairs a case has: an original once the window checked
    it, a scan once a file is stored."""
    pairs = set()
    for row in case.materials:
        if row.original_checked:
            pairs.add((row.material.code, ORIGINAL))
        if row.stored_name:
            pairs.add((row.material.code, SCAN))
    return pairs


def fact_codes(case):
    return [fact.code for fact in case.facts]


def ready_waiting_tasks(session, case, user, now=None, calendar=None):
    """Every waiting task whose materials are now all present becomes ready; its
    deadline counts the item's working days from the day it became ready (CST)."""
    now = now or utcnow()
    calendar = calendar or load_calendar(session)
    facts, present = fact_codes(case), present_pairs(case)
    readied = []
    for task in case.tasks:
        if task.status == WAITING and rules.is_ready(task.item, facts, present):
            task.status = READY
            task.ready_at = now
            task.deadline = calendar.add_working_days(to_cst_date(now), task.item.time_limit_days)
            audit.record(session, user, "task_ready", case=case, obj=task, from_state=WAITING, to_state=READY)
            readied.append(task)
    return readied


def add_material(session, case, material, user, *, original_checked=False, content=None, filename=None,
                 now=None, calendar=None):
    """Record a material of a case: its original checked at the window and/or a scan.
    Tasks that were waiting for it become ready. A file stored for a transaction that
    then fails is removed by the caller through ``storage.remove``."""
    if case.status not in OPEN_CASE_STATES:
        raise ChainError(_l("Case %(no)s is closed; materials can no longer be added.", no=case.case_no))
    if not original_checked and content is None:
        raise ChainError(_l("Check the original or attach a scan."), field="file")
    row = CaseMaterial(case=case, material=material, original_checked=bool(original_checked),
                       added_by_id=getattr(user, "id", None), added_at=now or utcnow())
    if content is not None:
        row.stored_name, row.content_type, row.size, row.sha256 = storage.store(content)
        row.original_filename = (filename or "")[:256] or None
    session.add(row)
    session.flush()
    audit.record(session, user, "material_added", case=case, obj=row, material=material.code,
                 original_checked=row.original_checked, sha256=row.sha256, size=row.size)
    ready_waiting_tasks(session, case, user, now=now, calendar=calendar)
    roll_up(case)
    return row


def roll_up(case):
    """A case is in progress once any task has moved past waiting for or being ready,
    and completed when every task is completed or rejected."""
    if case.status not in OPEN_CASE_STATES:
        return
    states = [task.status for task in case.tasks]
    if states and all(state in FINISHED_TASK_STATES for state in states):
        case.status = CASE_COMPLETED
        case.completed_at = utcnow()
    elif any(state not in (WAITING, READY) for state in states):
        case.status = CASE_IN_PROGRESS


def complete_task(session, task, user, note=None, now=None, calendar=None, produce=None):
    """Complete a ready or accepted task. If its item produces a material (cremation
    produces the 火化证明), the document is issued as a case material, which readies
    the tasks waiting for it. ``produce(material, case, issued_on)`` renders it."""
    if task.status not in (READY, ACCEPTED):
        raise ChainError(_l("This task cannot be completed while it is %(state)s.", state=state_label(task)))
    now = now or utcnow()
    before = task.status
    task.status = COMPLETED
    task.finished_at = now
    task.result_note = note
    audit.record(session, user, "task_completed", case=task.case, obj=task, from_state=before, to_state=COMPLETED,
                 reason=note)
    material = task.item.produces_material
    if material is not None:
        if produce is None:
            from app import pdf

            produce = pdf.produce
        content = produce(material, task.case, to_cst_date(now))
        add_material(session, task.case, material, user, content=content,
                     filename=f"{task.case.case_no}-{material.code}.pdf", now=now, calendar=calendar)
    roll_up(task.case)
    return task


def accept_task(session, task, user, note=None, now=None):
    """The department takes a ready task in hand."""
    if task.status != READY:
        raise ChainError(_l("This task cannot be accepted while it is %(state)s.", state=state_label(task)))
    task.status = ACCEPTED
    task.accepted_at = now or utcnow()
    audit.record(session, user, "task_accepted", case=task.case, obj=task, from_state=READY, to_state=ACCEPTED,
                 reason=note)
    roll_up(task.case)
    return task
