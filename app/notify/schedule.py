"""The daily schedule: due-soon and overdue reminders (at most one per task, kind and
business day) and the supervisors' digest. Run by beat at the configured CST times; on
a day that is not a working day nothing is sent."""

import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from app.domain.clock import CST, today_cst
from app.domain.workdays import load_calendar
from app.extensions import db
from app.models import Case, DepartmentUser, Task
from app.models.case import ACCEPTED, COMPLETED, OPEN_TASK_STATES, READY
from app.models.notify import DAILY_DIGEST, DUE_SOON, OVERDUE, Notification
from app.notify import outbox
from app.security.roles import SUPERVISOR
from app.security.scope import scope_for, visibility_clause

RUNNING = (READY, ACCEPTED)
BATCH = 200


def _utc_bounds(day):
    """The naive-UTC [start, end) of a CST business day."""
    start = datetime.datetime.combine(day, datetime.time(), CST).astimezone(datetime.UTC).replace(tzinfo=None)
    return start, start + datetime.timedelta(days=1)


def _already_told(session, event_name, task_ids, day):
    """The tasks that had this day's reminder of this kind already."""
    marker = f":{day.isoformat()}:"
    keys = session.execute(
        select(Notification.task_id, Notification.key).where(Notification.task_id.in_(task_ids),
                                                             Notification.event == event_name)
    ).all()
    return {task_id for task_id, key in keys if marker in key}


def remind(session, event_name, query, day):
    """Emit ``event_name`` for every task of ``query`` not yet reminded today. Each
    task's reminder is written under a savepoint: when another scan of the same day
    (two beats overlapping) wrote it first, only that task is skipped, not its chunk."""
    task_ids = session.execute(query.with_only_columns(Task.id).order_by(Task.id)).scalars().all()
    told = 0
    for start in range(0, len(task_ids), BATCH):
        chunk = task_ids[start:start + BATCH]
        skip = _already_told(session, event_name, chunk, day)
        tasks = session.execute(select(Task).where(Task.id.in_([t for t in chunk if t not in skip]))).scalars().all()
        for task in tasks:
            try:
                with session.begin_nested():
                    outbox.emit(session, event_name, task=task, occurrence_id=day.isoformat())
            except IntegrityError:  # another scan of the same day got there first
                continue
            told += 1
        session.commit()
    return told


def scan_deadlines(day=None):
    """Due soon: a running task whose deadline is the next working day. Overdue: a
    running task past its deadline (told to the department and the region's
    supervisors). Returns the number of tasks reminded of each."""
    session = db.session
    day = day or today_cst()
    calendar = load_calendar(session)
    if not calendar.is_working_day(day):
        return {DUE_SOON: 0, OVERDUE: 0}
    next_day = calendar.add_working_days(day, 1)
    running = select(Task).where(Task.status.in_(RUNNING))
    due_soon = running.where(Task.deadline > day, Task.deadline <= next_day)
    overdue = running.where(Task.deadline < day)
    return {DUE_SOON: remind(session, DUE_SOON, due_soon, day), OVERDUE: remind(session, OVERDUE, overdue, day)}


def digest_figures(session, scope, day, calendar):
    """What a supervisor's digest says, for the tasks and cases their scope sees."""
    tasks = visibility_clause(Task, scope)
    cases = visibility_clause(Case, scope)
    yesterday_start, yesterday_end = _utc_bounds(day - datetime.timedelta(days=1))
    next_day = calendar.add_working_days(day, 1)

    def count_tasks(*conditions):
        where = [c for c in (tasks, *conditions) if c is not None]
        return session.execute(select(func.count(Task.id)).where(and_(*where))).scalar_one()

    registered_where = [c for c in (cases, Case.registered_at >= yesterday_start, Case.registered_at < yesterday_end)
                        if c is not None]
    return {
        "date": day.isoformat(),
        "open": count_tasks(Task.status.in_(OPEN_TASK_STATES)),
        "overdue": count_tasks(Task.status.in_(RUNNING), Task.deadline < day),
        "due_soon": count_tasks(Task.status.in_(RUNNING), Task.deadline >= day, Task.deadline <= next_day),
        "completed": count_tasks(Task.status == COMPLETED, Task.finished_at >= yesterday_start,
                                 Task.finished_at < yesterday_end),
        "registered": session.execute(select(func.count(Case.id)).where(and_(*registered_where))).scalar_one(),
    }


def daily_digest(day=None):
    """Each active supervisor is told their region's figures; once a day."""
    session = db.session
    day = day or today_cst()
    calendar = load_calendar(session)
    if not calendar.is_working_day(day):
        return 0
    supervisors = [
        user for user in session.execute(select(DepartmentUser).where(DepartmentUser.active.is_(True))).scalars()
        if SUPERVISOR in {role.name for role in user.roles}
    ]
    told = 0
    for user in supervisors:
        key_prefix = f"{DAILY_DIGEST}:-:{day.isoformat()}:"
        exists = session.execute(
            select(Notification.id).where(Notification.user_id == user.id, Notification.event == DAILY_DIGEST,
                                          Notification.key.startswith(key_prefix)).limit(1)
        ).first()
        if exists:
            continue
        params = digest_figures(session, scope_for(user), day, calendar)
        if outbox.emit(session, DAILY_DIGEST, users=[user], audience=(), params=params,
                       occurrence_id=day.isoformat()):
            told += 1
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
    return told
