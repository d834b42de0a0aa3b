"""一链办理: materials arrive once per case; a task waits until every material its item
needs is present, then becomes ready and its deadline runs on the working-day calendar;
completing an item that produces a material (cremation → 火化证明) issues it, which
readies the tasks that waited for it. Views, the API and the CLI call these functions;
each works in the caller's transaction and writes its audit rows there."""

import decimal

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import object_session
from sqlalchemy.orm.exc import StaleDataError

from app import storage
from app.domain import audit, rules
from app.domain.clock import to_cst_date
from app.domain.labels import STATUS_LABELS
from app.domain.workdays import load_calendar
from app.models import Case, CaseMaterial, Item, Task
from app.models.case import (
    ACCEPTED,
    CASE_CANCELLED,
    CASE_COMPLETED,
    CASE_IN_PROGRESS,
    CASE_REGISTERED,
    COMPLETED,
    OPEN_TASK_STATES,
    READY,
    REJECTED,
    SUPPLEMENT_REQUESTED,
    WAITING,
    utcnow,
)
from app.models.catalogue import ORIGINAL, SCAN
from app.models.notify import CASE_COMPLETED as CASE_COMPLETED_EVENT
from app.models.notify import SUPPLEMENT_REQUESTED as SUPPLEMENT_EVENT
from app.models.notify import TASK_COMPLETED, TASK_READY, TASK_REJECTED, TASK_URGED
from app.models.urging import TaskUrging
from app.notify import outbox

OPEN_CASE_STATES = (CASE_REGISTERED, CASE_IN_PROGRESS)
FINISHED_TASK_STATES = (COMPLETED, REJECTED)
# The states in which a department may accept, complete, reject or ask for a supplement.
IN_HAND_STATES = (READY, ACCEPTED)
# Stored on the tasks a cancellation closes (data, in the language of the notice).
CANCELLED_NOTE = "案件已撤销：{reason}"


class ChainError(ValueError):
    """An operation the case's or task's state does not allow, with a message."""

    def __init__(self, message, field=None, stale=False):
        super().__init__(str(message))
        self.message = message
        self.field = field  # set when a required input is missing or wrong (422 in the API)
        self.stale = stale  # the row was changed by someone else meanwhile


def stale_error():
    return ChainError(_l("The task was changed by someone else; reload it."), stale=True)


def flush(session):
    """Write now, so that a concurrent change of the same task (``version_id_col``)
    surfaces here as a ChainError rather than later at commit."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise stale_error() from exc


# ``version=UNCHECKED``: the caller (the CLI, a bulk load, a test) holds no version a
# client read; the screens and the API always pass the one they were given.
UNCHECKED = object()


def check_version(task, version):
    """Refuse a move made on a version of the task other than its current one: the
    version must be given, as an integer (or its digits as text, as a form posts it)."""
    if version is UNCHECKED:
        return
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version.strip())
    if isinstance(version, bool) or not isinstance(version, int):
        raise ChainError(_l("Give the version of the task you read, as a whole number."), field="version")
    if version != task.version:
        raise stale_error()


def lock_case(session, case, moving=None):
    """Lock the case's row (SELECT … FOR UPDATE) and read its other tasks again under
    the lock, before a transition reads or changes them. Two departments finishing a
    case's last two tasks at once then roll it up one after the other, the second
    seeing the first's commit. Every transition takes the case first and its tasks
    after (at flush), so two never wait on each other in opposite orders. The moving
    task is not read again: a concurrent change of it must fail its version check."""
    if case.id is None:
        return  # not written yet: no other transaction can see it
    session.execute(select(Case).where(Case.id == case.id).with_for_update()
                    .execution_options(populate_existing=True))
    others = select(Task).where(Task.case_id == case.id)
    if moving is not None:
        others = others.where(Task.id != moving.id)
    session.execute(others.execution_options(populate_existing=True)).scalars().all()


def _required(value, field, message):
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise ChainError(message, field=field)
    return text


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
    for task in readied:
        outbox.emit(session, TASK_READY, task=task)
    return readied


def add_material(session, case, material, user, *, original_checked=False, content=None, filename=None,
                 now=None, calendar=None):
    """Record a material of a case: its original checked at the window and/or a scan.
    Tasks that were waiting for it become ready. A file stored for a transaction that
    then rolls back is removed with it (``storage``)."""
    lock_case(session, case)
    if case.status not in OPEN_CASE_STATES:
        raise ChainError(_l("Case %(no)s is closed; materials can no longer be added.", no=case.case_no))
    if not original_checked and content is None:
        raise ChainError(_l("Check the original or attach a scan."), field="file")
    row = CaseMaterial(case=case, material=material, original_checked=bool(original_checked),
                       added_by_id=getattr(user, "id", None), added_at=now or utcnow())
    if content is not None:
        row.stored_name, row.content_type, row.size, row.sha256 = storage.store(content, session)
        row.original_filename = (filename or "")[:256] or None
    session.add(row)
    session.flush()
    audit.record(session, user, "material_added", case=case, obj=row, material=material.code,
                 original_checked=row.original_checked, sha256=row.sha256, size=row.size)
    calendar = calendar or load_calendar(session)
    resume_supplemented_tasks(session, case, material, user, now=now, calendar=calendar)
    ready_waiting_tasks(session, case, user, now=now, calendar=calendar)
    roll_up(case, user, now)
    return row


def handed_in_refusal(session, case, material):
    """Why the window may not hand in this material for this case, or None: a material
    an item produces (the 火化证明 is issued by completing cremation, never uploaded,
    or it would ready tasks before cremation), or one no item of the case asks for
    (it would be shared with no one who needs it)."""
    producer = session.query(Item).filter(Item.produces_material_id == material.id).order_by(Item.id).first()
    if producer is not None:
        return _l("%(material)s is issued by the system when %(item)s is completed; it cannot be handed in.",
                  material=material.name, item=producer.name)
    checklist = rules.material_checklist([task.item for task in case.tasks], fact_codes(case))
    if material.code not in checklist:
        return _l("No item of case %(no)s needs %(material)s; only the materials of its checklist are taken.",
                  no=case.case_no, material=material.name)
    return None


def hand_in_material(session, case, material, user, **kwargs):
    """The window hands in a material (its original checked and/or a scan): refused
    with a ChainError on ``material_code`` unless the case's checklist asks for it and
    no item produces it; then ``add_material``."""
    refusal = handed_in_refusal(session, case, material)
    if refusal is not None:
        raise ChainError(refusal, field="material_code")
    return add_material(session, case, material, user, **kwargs)


def supplement_codes(task):
    return (task.supplement_materials or "").split()


def resume_supplemented_tasks(session, case, material, user, now=None, calendar=None):
    """A material arrived: each task that asked for it as a supplement crosses it off;
    a task with nothing outstanding is ready again, and its clock runs on from where it
    stopped: the deadline is the working days that were left, counted from today (CST).
    A task that was already overdue when it stopped keeps its deadline."""
    now = now or utcnow()
    resumed = []
    for task in case.tasks:
        if task.status != SUPPLEMENT_REQUESTED or material.code not in supplement_codes(task):
            continue
        outstanding = [code for code in supplement_codes(task) if code != material.code]
        task.supplement_materials = " ".join(outstanding) or None
        if outstanding:
            continue
        calendar = calendar or load_calendar(session)
        left = task.supplement_days_left
        before_deadline = task.deadline
        if left is not None and left >= 0:
            task.deadline = calendar.add_working_days(to_cst_date(now), left)
        task.status = READY
        audit.record(session, user, "supplement_received", case=case, obj=task, from_state=SUPPLEMENT_REQUESTED,
                     to_state=READY, material=material.code, days_left=left,
                     deadline_before=before_deadline.isoformat() if before_deadline else None,
                     deadline=task.deadline.isoformat() if task.deadline else None)
        task.supplement_requested_at = None
        task.supplement_days_left = None
        resumed.append(task)
        outbox.emit(session, TASK_READY, task=task)
    return resumed


def roll_up(case, user, now=None):
    """A case is in progress once any task has moved past waiting for or being ready,
    and completed (at ``now``, the time of the last move) when every task is completed
    or rejected. The caller holds the case's lock (``lock_case``), so the tasks read
    here are those other transactions committed. The case's own move is audited as
    made by ``user``, whose action moved its last task."""
    if case.status not in OPEN_CASE_STATES:
        return
    session = object_session(case)
    before = case.status
    states = [task.status for task in case.tasks]
    if states and all(state in FINISHED_TASK_STATES for state in states):
        case.status = CASE_COMPLETED
        case.completed_at = now or utcnow()
        outbox.emit(session, CASE_COMPLETED_EVENT, case=case)
    elif any(state not in (WAITING, READY) for state in states):
        case.status = CASE_IN_PROGRESS
    if case.status != before:
        audit.record(session, user, f"case_{case.status}", case=case, obj=case, from_state=before,
                     to_state=case.status)


# Task.payout_amount is Numeric(12, 2): at most ten digits before the point.
MAX_PAYOUT_AMOUNT = decimal.Decimal("9999999999.99")
_CENT = decimal.Decimal("0.01")


def payout_amount_required():
    """Whether completing a payout item refuses a missing amount (``PAYOUT_AMOUNT_REQUIRED``,
    on by default: the family's completion notice states what is paid and when)."""
    return bool(has_app_context() and current_app.config.get("PAYOUT_AMOUNT_REQUIRED", True))


def parse_amount(value):
    """An amount in 元 as entered (``"1234.5"``, ``"1,234.50"``, 1234.5) → a Decimal
    with two places, or None for nothing entered. Positive, at most two decimals."""
    if value is None or isinstance(value, bool):
        text = ""
    elif isinstance(value, (int, float, decimal.Decimal)):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "").removesuffix("元").strip()
    else:
        raise ChainError(_l("Enter the amount in yuan, for example 1234.50."), field="amount")
    if not text:
        return None
    try:
        amount = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise ChainError(_l("Enter the amount in yuan, for example 1234.50."), field="amount") from None
    if not amount.is_finite() or amount <= 0:
        raise ChainError(_l("The amount must be more than zero."), field="amount")
    if amount != amount.quantize(_CENT, rounding=decimal.ROUND_DOWN):
        raise ChainError(_l("The amount has at most two decimals (fen)."), field="amount")
    if amount > MAX_PAYOUT_AMOUNT:
        raise ChainError(_l("The amount is too large."), field="amount")
    return amount.quantize(_CENT)


def complete_task(session, task, user, note=None, now=None, calendar=None, produce=None, amount=None,
                  version=UNCHECKED):
    """Complete a ready or accepted task with its result: a note (required, as a
    rejection's reason is, except for an item whose result is the document it issues).
    A payout item (``item.payout_days``) records the amount paid (元) and the expected
    arrival date: the item's payout working days from the completion day (CST). If its
    item produces a material (cremation produces the 火化证明), the document is issued
    as a case material, which readies the tasks waiting for it.
    ``produce(material, case, issued_on)`` renders it."""
    lock_case(session, task.case, moving=task)
    if task.status not in IN_HAND_STATES:
        raise ChainError(_l("This task cannot be completed while it is %(state)s.", state=state_label(task)))
    check_version(task, version)
    payout_days = task.item.payout_days
    amount = parse_amount(amount)
    if payout_days is None and amount is not None:
        raise ChainError(_l("This item pays nothing out; leave the amount empty."), field="amount")
    if payout_days is not None and amount is None and payout_amount_required():
        raise ChainError(_l("Enter the amount paid out, in yuan."), field="amount")
    material = task.item.produces_material
    if material is None:
        note = _required(note, "note", _l("Write the result of handling the item."))
    else:
        note = (note.strip() or None) if isinstance(note, str) else None
    now = now or utcnow()
    if payout_days is not None and amount is not None:
        # Read before changing the task: a query autoflushes, and a concurrent change
        # must surface in ``flush`` below as a ChainError, not here.
        calendar = calendar or load_calendar(session)
    before = task.status
    task.status = COMPLETED
    task.finished_at = now
    task.result_note = note
    if payout_days is not None and amount is not None:
        task.payout_amount = amount
        task.payout_expected_date = calendar.add_working_days(to_cst_date(now), payout_days)
    payout = ({"amount": str(task.payout_amount), "expected": task.payout_expected_date.isoformat()}
              if task.payout_expected_date is not None else {})
    audit.record(session, user, "task_completed", case=task.case, obj=task, from_state=before, to_state=COMPLETED,
                 reason=note, **payout)
    flush(session)  # a concurrent completion loses here, before any document is issued
    outbox.emit(session, TASK_COMPLETED, task=task,
                params=outbox.task_params(task, note=note, amount=payout.get("amount"),
                                          payout_expected_date=payout.get("expected")))
    if material is not None:
        if produce is None:
            from app import pdf

            produce = pdf.produce
        content = produce(material, task.case, to_cst_date(now))
        add_material(session, task.case, material, user, content=content,
                     filename=f"{task.case.case_no}-{material.code}.pdf", now=now, calendar=calendar)
    roll_up(task.case, user, now)
    flush(session)
    return task


def accept_task(session, task, user, note=None, now=None, version=UNCHECKED):
    """The department takes a ready task in hand."""
    lock_case(session, task.case, moving=task)
    if task.status != READY:
        raise ChainError(_l("This task cannot be accepted while it is %(state)s.", state=state_label(task)))
    check_version(task, version)
    task.status = ACCEPTED
    task.accepted_at = now or utcnow()
    audit.record(session, user, "task_accepted", case=task.case, obj=task, from_state=READY, to_state=ACCEPTED,
                 reason=note)
    roll_up(task.case, user, now)
    flush(session)
    return task


def reject_task(session, task, user, reason, now=None, version=UNCHECKED):
    """The department refuses a ready or accepted task (不予办理), with a reason."""
    lock_case(session, task.case, moving=task)
    if task.status not in IN_HAND_STATES:
        raise ChainError(_l("This task cannot be rejected while it is %(state)s.", state=state_label(task)))
    check_version(task, version)
    reason = _required(reason, "reason", _l("Give the reason why the item cannot be handled."))
    before = task.status
    task.status = REJECTED
    task.finished_at = now = now or utcnow()
    task.result_note = reason
    audit.record(session, user, "task_rejected", case=task.case, obj=task, from_state=before, to_state=REJECTED,
                 reason=reason)
    flush(session)  # a concurrent change loses here
    outbox.emit(session, TASK_REJECTED, task=task, params=outbox.task_params(task, reason=reason))
    roll_up(task.case, user, now)
    flush(session)
    return task


def supplement_choices(task):
    """The materials a supplement may ask for: those this task's item needs for its case."""
    codes = []
    for need in rules.needs_for(task.item, fact_codes(task.case)):
        for code, _form in need.materials:
            if code not in codes:
                codes.append(code)
    return codes


def request_supplement(session, task, user, note, material_codes, now=None, calendar=None, version=UNCHECKED):
    """The department asks for a supplement (补正) naming the missing material(s). The
    clock stops: the working days left until the deadline are kept until the window
    adds what was asked for (see ``resume_supplemented_tasks``)."""
    lock_case(session, task.case, moving=task)
    if task.status not in IN_HAND_STATES:
        raise ChainError(_l("A supplement cannot be requested while the task is %(state)s.", state=state_label(task)))
    check_version(task, version)
    note = _required(note, "note", _l("Say what is missing or wrong."))
    codes = []
    for code in material_codes or []:
        code = (code or "").strip() if isinstance(code, str) else ""
        if code and code not in codes:
            codes.append(code)
    if not codes:
        raise ChainError(_l("Name at least one missing material."), field="materials")
    allowed = supplement_choices(task)
    unknown = [code for code in codes if code not in allowed]
    if unknown:
        raise ChainError(_l("This item does not need %(codes)s.", codes="、".join(unknown)), field="materials")
    now = now or utcnow()
    today = to_cst_date(now)
    if task.deadline is not None:
        calendar = calendar or load_calendar(session)
        left = calendar.working_days_between(today, task.deadline)
    else:
        left = task.item.time_limit_days
    before = task.status
    task.status = SUPPLEMENT_REQUESTED
    task.supplement_requested_at = now
    task.supplement_days_left = left
    task.supplement_note = note
    task.supplement_materials = " ".join(codes)
    audit.record(session, user, "supplement_requested", case=task.case, obj=task, from_state=before,
                 to_state=SUPPLEMENT_REQUESTED, reason=note, materials=codes, days_left=left,
                 deadline=task.deadline.isoformat() if task.deadline else None)
    roll_up(task.case, user, now)
    flush(session)  # a concurrent change loses here
    outbox.emit(session, SUPPLEMENT_EVENT, task=task,
                params=outbox.task_params(task, note=note, materials=outbox.material_names(session, codes)))
    return task


def cancel_case(session, case, user, reason, now=None):
    """The window cancels a case (撤销), with a reason: its open tasks are closed as
    rejected with a note saying so, and the case is cancelled."""
    lock_case(session, case)
    if case.status not in OPEN_CASE_STATES:
        raise ChainError(_l("Case %(no)s is %(state)s and cannot be cancelled.", no=case.case_no,
                            state=STATUS_LABELS.get(case.status, case.status)))
    reason = _required(reason, "reason", _l("Give the reason for cancelling the case."))
    now = now or utcnow()
    for task in case.tasks:
        if task.status in OPEN_TASK_STATES:
            before = task.status
            task.status = REJECTED
            task.finished_at = now
            task.result_note = CANCELLED_NOTE.format(reason=reason)
            task.supplement_materials = None
            audit.record(session, user, "task_closed_by_cancellation", case=case, obj=task, from_state=before,
                         to_state=REJECTED, reason=reason)
            outbox.emit(session, outbox.TASK_CANCELLED, task=task, params=outbox.task_params(task, reason=reason))
    before = case.status
    case.status = CASE_CANCELLED
    case.cancel_reason = reason
    case.cancelled_at = now
    audit.record(session, user, "case_cancelled", case=case, obj=case, from_state=before, to_state=CASE_CANCELLED,
                 reason=reason)
    flush(session)
    return case


def urge_task(session, task, user, note):
    """督办: record a supervisor's urging on the task and in the audit log."""
    urging = TaskUrging(task=task, user_id=user.id, username=user.username, note=note)
    session.add(urging)
    session.flush()
    audit.record(session, user, "task_urged", case=task.case, obj=task, from_state=task.status,
                 to_state=task.status, reason=note, urging_id=urging.id)
    outbox.emit(session, TASK_URGED, task=task, params=outbox.task_params(task, note=note, user=user.username))
    return urging
