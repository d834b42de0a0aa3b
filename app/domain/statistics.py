"""How the county is doing: the figures of the managers' dashboard, the monthly
statistics report and the overdue supervision list (超时督办清单), for a region and a
period, as plain data.

Everything here is a function of ``(session, region, period, scope)``: every query
restricts tasks to the region's departments *and* to what ``scope`` may see (the one
row filter, ``app.security.scope.visibility_clause``), so a 横峰县 manager's figures
never include 弋阳县 even if asked for it. Counting happens in the database (GROUP BY);
Python only applies the working-day calendar to the grouped (ready day, finish day)
pairs, which are few (a department's items times the days of a period). The functions
take a ``progress(done, total)`` callback so that a long report can run as a
background task that reports how far it has got.

Dates are business dates in China Standard Time; a period is a range of them, both
ends included. The figures, per department and item (a department's row is the sum of
its items', the total row the sum of the departments'):

``received`` (受理)
    Tasks of the cases the window registered in the period. For an item this is the
    number of cases that got the item. The report's headline "cases received" counts
    those cases once each (``Statistics.cases_received``).
``completed`` (办结)
    Tasks completed (status *completed*) on a day of the period, whenever received.
``on_time`` (按期办结)
    Of those, the ones completed on or before their deadline (the deadline as it
    stands: a supplement request moves it by the time the clock stood still).
``on_time_rate``
    ``on_time / completed``; none when nothing was completed.
``overdue_now`` (当前超期)
    Tasks being handled (ready or accepted) whose deadline is before today (``as_of``):
    a snapshot at the time the figures are made, whatever the period, and exactly the
    tasks of the overdue supervision list. A task awaiting a supplement is not overdue:
    its clock stands still.
``rejected`` (不予办理)
    Tasks a department rejected on a day of the period. Tasks closed by the
    window's cancellation of their case are not counted (no department refused
    them); a department's own refusal counts even if the case is cancelled later.
``average_days`` and ``longest_days`` (办理用时)
    Over the completed tasks counted above: the working days from the day the task
    became ready to the day it was completed (the ready day itself not counted, so a
    task done the day it arrived took 0), minus the working days its clock stood still
    for supplements (补正): from each ``supplement_requested`` to the following
    ``supplement_received`` in the audit log (or to completion if none followed).
    The average has one decimal.

Change on the previous period (环比): for a calendar month the previous calendar month,
for any other range the same number of days just before it; received, completed and
average days as a difference and a percentage, the on-time rate in percentage points.
"""

import calendar as month_calendar
import datetime
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, String, and_, case, exists, false, func, literal, or_, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.domain.chain import CANCELLED_NOTE
from app.domain.clock import now_cst, to_cst_date, today_cst
from app.domain.workdays import load_calendar
from app.models import AuditLog, Case, Department, Item, Region, Task, TaskUrging
from app.models.case import ACCEPTED, CASE_CANCELLED, COMPLETED, READY, REJECTED
from app.security.scope import region_subtree_ids, visibility_clause

RUNNING = (READY, ACCEPTED)  # the states in which a task's clock runs
SUPPLEMENT_REQUESTED_ACTION = "supplement_requested"
SUPPLEMENT_RECEIVED_ACTION = "supplement_received"
CST_OFFSET = datetime.timedelta(hours=8)  # Asia/Shanghai, no daylight saving since 1991

# What ``chain.cancel_case`` writes on the tasks it closes, before the case's reason.
CANCELLED_NOTE_PREFIX = CANCELLED_NOTE.split("{reason}", 1)[0]

# The figures a dashboard cell links to: the tasks behind each (see ``figure_clause``).
FIGURE_LABELS = {
    "received": _l("Received"),
    "completed": _l("Completed"),
    "on_time": _l("Completed on time"),
    "late": _l("Completed late"),
    "overdue": _l("Overdue now"),
    "rejected": _l("Rejected"),
}
FIGURES = tuple(FIGURE_LABELS)


class cst_day(FunctionElement):  # noqa: N801 (an SQL function, named as one)
    """The China Standard Time business day of a naive UTC timestamp column, in SQL."""

    type = Date()
    name = "cst_day"
    inherit_cache = True


@compiles(cst_day)
def _cst_day_postgresql(element, compiler, **kw):
    return f"CAST(({compiler.process(element.clauses, **kw)} + INTERVAL '8 hours') AS DATE)"


@compiles(cst_day, "sqlite")
def _cst_day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


# --- periods ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Business days from ``start`` to ``end``, both included (CST)."""

    start: datetime.date
    end: datetime.date

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("a period ends on or after the day it starts")

    @classmethod
    def month(cls, year, month):
        return cls(datetime.date(year, month, 1),
                   datetime.date(year, month, month_calendar.monthrange(year, month)[1]))

    @classmethod
    def parse(cls, month=None, start=None, end=None):
        """A period from ``YYYY-MM`` or from two ISO dates (``YYYY-MM-DD``); ValueError
        for anything else."""
        if month:
            try:
                year, number = (int(part) for part in str(month).split("-"))
                return cls.month(year, number)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"not a month: {month!r}") from exc
        if start and end:
            try:
                first = start if isinstance(start, datetime.date) else datetime.date.fromisoformat(str(start))
                last = end if isinstance(end, datetime.date) else datetime.date.fromisoformat(str(end))
            except ValueError as exc:
                raise ValueError(f"not dates: {start!r}, {end!r}") from exc
            return cls(first, last)
        raise ValueError("give a month or both ends of a period")

    @classmethod
    def last_month(cls, today=None):
        first = (today or today_cst()).replace(day=1) - datetime.timedelta(days=1)
        return cls.month(first.year, first.month)

    @property
    def is_month(self):
        return self.start.day == 1 and self == Period.month(self.start.year, self.start.month)

    @property
    def days(self):
        return (self.end - self.start).days + 1

    def previous(self):
        """The period to compare with: the previous calendar month for a month, else
        the same number of days just before."""
        if self.is_month:
            day = self.start - datetime.timedelta(days=1)
            return Period.month(day.year, day.month)
        return Period(self.start - datetime.timedelta(days=self.days), self.start - datetime.timedelta(days=1))

    def utc_bounds(self):
        """[from, to) as naive UTC timestamps, as the database stores them."""
        return (datetime.datetime.combine(self.start, datetime.time()) - CST_OFFSET,
                datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time()) - CST_OFFSET)

    def is_closed(self, today=None):
        """Whether the period is over, so that its period figures will not change."""
        return self.end < (today or today_cst())

    def key(self):
        return f"{self.start.isoformat()}_{self.end.isoformat()}"


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionRef:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class DepartmentRef:
    id: int
    code: str
    name: str
    region_name: str
    label: str  # the name, preceded by its region's when a report spans several


@dataclass(frozen=True)
class ItemRef:
    id: int
    code: str
    name: str


@dataclass
class Figures:
    received: int = 0
    completed: int = 0
    on_time: int = 0
    overdue_now: int = 0
    rejected: int = 0
    handled: int = 0  # completed tasks with a handling time (every completed task that was ready)
    handling_days: int = 0  # their working days, summed
    longest_days: int | None = None

    @property
    def on_time_rate(self):
        return self.on_time / self.completed if self.completed else None

    @property
    def average_days(self):
        return round(self.handling_days / self.handled, 1) if self.handled else None

    @property
    def late(self):
        return self.completed - self.on_time

    def add(self, other):
        for name in ("received", "completed", "on_time", "overdue_now", "rejected", "handled", "handling_days"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.longest_days is not None:
            self.longest_days = max(self.longest_days or 0, other.longest_days)
        return self

    def handled_in(self, days, count=1):
        self.handled += count
        self.handling_days += days * count
        self.longest_days = days if self.longest_days is None else max(self.longest_days, days)

    def as_dict(self):
        return dict(asdict(self), on_time_rate=self.on_time_rate, average_days=self.average_days, late=self.late)


@dataclass(frozen=True)
class Change:
    """A figure against the previous period: the difference, and as a share of the
    previous value (none when that was zero)."""

    current: float | None
    previous: float | None

    @property
    def difference(self):
        if self.current is None or self.previous is None:
            return None
        return round(self.current - self.previous, 4)

    @property
    def ratio(self):
        if self.difference is None or not self.previous:
            return None
        return self.difference / self.previous


@dataclass
class ItemStatistics:
    item: ItemRef
    figures: Figures
    previous: Figures


@dataclass
class DepartmentStatistics:
    department: DepartmentRef
    items: list
    figures: Figures = field(default_factory=Figures)
    previous: Figures = field(default_factory=Figures)

    def changes(self):
        return changes(self.figures, self.previous)


def changes(current, previous):
    """The 环比 of a row: received, completed, on-time rate and average days."""
    return {
        "received": Change(current.received, previous.received),
        "completed": Change(current.completed, previous.completed),
        "on_time_rate": Change(current.on_time_rate, previous.on_time_rate),
        "average_days": Change(current.average_days, previous.average_days),
    }


@dataclass
class Statistics:
    region: RegionRef
    period: Period
    previous_period: Period
    as_of: datetime.date  # "today" of the overdue-now figure
    generated_at: datetime.datetime  # CST, aware
    departments: list
    totals: Figures
    previous_totals: Figures
    cases_received: int
    previous_cases_received: int

    def changes(self):
        return changes(self.totals, self.previous_totals)

    def as_dict(self):
        """Plain JSON-friendly data (for the dashboard's charts and stored results)."""
        return {
            "region": asdict(self.region),
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "previous_period": {"start": self.previous_period.start.isoformat(),
                                "end": self.previous_period.end.isoformat()},
            "as_of": self.as_of.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "cases_received": self.cases_received,
            "previous_cases_received": self.previous_cases_received,
            "totals": self.totals.as_dict(),
            "previous_totals": self.previous_totals.as_dict(),
            "departments": [
                {
                    "department": asdict(d.department),
                    "figures": d.figures.as_dict(),
                    "previous": d.previous.as_dict(),
                    "items": [{"item": asdict(i.item), "figures": i.figures.as_dict(),
                               "previous": i.previous.as_dict()} for i in d.items],
                }
                for d in self.departments
            ],
        }


@dataclass(frozen=True)
class OverdueTask:
    task_id: int
    case_id: int
    case_no: str
    department: DepartmentRef
    item: ItemRef
    status: str
    ready_on: datetime.date | None
    deadline: datetime.date
    days_over: int  # working days after the deadline, up to today
    urgings: int
    last_urged_on: datetime.date | None


@dataclass
class OverdueList:
    region: RegionRef
    as_of: datetime.date
    generated_at: datetime.datetime
    rows: list

    def by_department(self):
        """(department, its rows) in the list's order."""
        groups = {}
        for row in self.rows:
            groups.setdefault(row.department, []).append(row)
        return list(groups.items())


# --- shared building blocks ---------------------------------------------------------------


class _Progress:
    def __init__(self, callback, total):
        self.callback, self.total, self.done = callback, total, 0

    def step(self, n=1):
        self.done = min(self.total, self.done + n)
        if self.callback is not None:
            self.callback(self.done, self.total)


def _region_ref(session, region):
    if not isinstance(region, Region):
        region = session.get(Region, int(region))
    return RegionRef(region.id, region.code, region.name)


def _departments(session, region_id, scope):
    """The departments of the region's subtree that ``scope`` may see, in the notice's
    order of their items (the window first), each with its items."""
    region_ids = region_subtree_ids({region_id})
    query = select(Department).where(Department.region_id.in_(region_ids))
    clause = visibility_clause(Department, scope)
    if clause is not None:
        query = query.where(clause)
    departments = list(session.scalars(query))
    items = list(session.scalars(select(Item).order_by(Item.sort_order, Item.code)))
    order = {}
    for index, item in enumerate(items):
        order.setdefault(item.department_code, index)
    several = len({d.region_id for d in departments}) > 1
    refs = {}
    for dept in sorted(departments, key=lambda d: (d.region.code, order.get(d.code, len(items)), d.code)):
        label = f"{dept.region.name}{dept.name}" if several else dept.name
        refs[dept.id] = DepartmentRef(dept.id, dept.code, dept.name, dept.region.name, label)
    by_code = defaultdict(list)
    for item in items:
        by_code[item.department_code].append(ItemRef(item.id, item.code, item.name))
    return refs, {dept_id: list(by_code.get(ref.code, [])) for dept_id, ref in refs.items()}, {
        item.id: ItemRef(item.id, item.code, item.name) for item in items
    }


def _task_scope(department_ids, scope):
    """Tasks of these departments that ``scope`` may see."""
    clauses = [Task.department_id.in_(department_ids)]
    clause = visibility_clause(Task, scope)
    if clause is not None:
        clauses.append(clause)
    return and_(*clauses)


def _registered_in(period):
    low, high = period.utc_bounds()
    return and_(Case.registered_at >= low, Case.registered_at < high)


def _finished_in(period):
    low, high = period.utc_bounds()
    return and_(Task.finished_at >= low, Task.finished_at < high)


def _closed_by_cancellation():
    """A rejected task that the window's cancellation closed (``chain.cancel_case``):
    its case is cancelled and its note is that cancellation's, word for word. A
    department's refusal made before the case was cancelled keeps its own reason."""
    return and_(Case.id == Task.case_id, Case.status == CASE_CANCELLED,
                Task.result_note == literal(CANCELLED_NOTE_PREFIX, String) + Case.cancel_reason)


def figure_clause(figure, period, as_of=None):
    """The tasks behind one figure, as a WHERE clause on ``Task`` (the task list's
    filter for the dashboard's links; the counts above are the same conditions)."""
    as_of = as_of or today_cst()
    if figure == "received":
        return Task.case_id.in_(select(Case.id).where(_registered_in(period)))
    if figure == "completed":
        return and_(Task.status == COMPLETED, _finished_in(period))
    if figure == "on_time":
        return and_(Task.status == COMPLETED, _finished_in(period), cst_day(Task.finished_at) <= Task.deadline)
    if figure == "late":
        return and_(Task.status == COMPLETED, _finished_in(period),
                    or_(Task.deadline.is_(None), cst_day(Task.finished_at) > Task.deadline))
    if figure == "overdue":
        return and_(Task.status.in_(RUNNING), Task.deadline < as_of)
    if figure == "rejected":
        return and_(Task.status == REJECTED, _finished_in(period), ~exists().where(_closed_by_cancellation()))
    raise ValueError(f"unknown figure {figure!r}")


@dataclass(frozen=True)
class FigureQuery:
    """Which tasks a dashboard link asks for: a figure, its period (none for overdue
    now) and optionally a region's subtree, a department and an item."""

    figure: str
    period: Period | None
    region_id: int | None = None
    department_id: int | None = None
    item_id: int | None = None

    @property
    def label(self):
        return FIGURE_LABELS[self.figure]

    def args(self):
        """The query-string arguments of the task list's link."""
        args = {"figure": self.figure}
        if self.period is not None:
            args.update({"from": self.period.start.isoformat(), "to": self.period.end.isoformat()})
        for name in ("region_id", "department_id", "item_id"):
            if getattr(self, name) is not None:
                args[name.removesuffix("_id")] = getattr(self, name)
        return args


def _int_arg(args, name):
    value = args.get(name)
    if value in (None, ""):
        return None
    return int(value)


def parse_figure_query(args):
    """The FigureQuery of request arguments (``figure``, ``from``, ``to``, ``region``,
    ``department``, ``item``); None without ``figure``; ValueError when they are wrong."""
    figure = args.get("figure")
    if not figure:
        return None
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}")
    period = None if figure == "overdue" else Period.parse(start=args.get("from"), end=args.get("to"))
    return FigureQuery(figure, period, _int_arg(args, "region"), _int_arg(args, "department"),
                       _int_arg(args, "item"))


def _linked_figure(args):
    """A dashboard link's figure query; ``false()`` when its arguments are wrong (the
    link shows nothing at all), None when there is no ``figure``."""
    try:
        return parse_figure_query(args)
    except ValueError:
        return false()


def figure_filter(args, as_of=None):
    """The task list's filter for a dashboard link: the tasks behind the figure, or
    none at all when the arguments are wrong; None when there is no ``figure``."""
    query = _linked_figure(args)
    if not isinstance(query, FigureQuery):
        return query
    clauses = [figure_clause(query.figure, query.period, as_of)]
    if query.region_id is not None:
        clauses.append(Task.department_id.in_(
            select(Department.id).where(Department.region_id.in_(region_subtree_ids({query.region_id})))))
    if query.department_id is not None:
        clauses.append(Task.department_id == query.department_id)
    if query.item_id is not None:
        clauses.append(Task.item_id == query.item_id)
    return and_(*clauses)


def case_figure_filter(args):
    """The case list's filter for the dashboard's "cases received" (``?figure=received``
    with ``from``, ``to`` and ``region``): the cases the window registered in the
    period in the region's subtree, the condition ``Statistics.cases_received`` counts;
    none at all when the arguments are wrong; None when there is no ``figure``."""
    query = _linked_figure(args)
    if not isinstance(query, FigureQuery):
        return query
    if query.figure != "received" or query.department_id is not None or query.item_id is not None:
        return false()
    clauses = [_registered_in(query.period)]
    if query.region_id is not None:
        clauses.append(Case.region_id.in_(region_subtree_ids({query.region_id})))
    return and_(*clauses)


def figure_description(args):
    """The FigureQuery a task list shows, or None (also for wrong arguments)."""
    try:
        return parse_figure_query(args)
    except ValueError:
        return None


# --- the statistics -------------------------------------------------------------------


def _figures(session, region_id, department_ids, scope, periods, calendar, progress):
    """For each of ``periods`` (adjacent, in order): {(department id, item id): Figures}
    without overdue-now, and the number of cases received. One query per kind of
    figure covers all the periods, grouped by day; the days are sorted into periods here."""
    span = Period(periods[0].start, periods[-1].end)
    figures = [defaultdict(Figures) for _ in periods]
    cases = [0 for _ in periods]

    def period_of(day):
        for index, period in enumerate(periods):
            if period.start <= day <= period.end:
                return index
        return None

    tasks = _task_scope(department_ids, scope)
    registered_on = cst_day(Case.registered_at)
    received = session.execute(
        select(Task.department_id, Task.item_id, registered_on, func.count())
        .join(Case, Case.id == Task.case_id)
        .where(_registered_in(span), tasks)
        .group_by(Task.department_id, Task.item_id, registered_on)
    )
    for dept_id, item_id, day, n in received:
        index = period_of(day)
        if index is not None:
            figures[index][(dept_id, item_id)].received += n
    case_clause = visibility_clause(Case, scope)
    registered = session.execute(
        select(registered_on, func.count())
        .where(Case.region_id.in_(region_subtree_ids({region_id})), _registered_in(span),
               *([case_clause] if case_clause is not None else []))
        .group_by(registered_on)
    )
    for day, n in registered:
        index = period_of(day)
        if index is not None:
            cases[index] += n
    progress.step()

    ready_day, finish_day = cst_day(Task.ready_at), cst_day(Task.finished_at)
    on_time = func.sum(case((finish_day <= Task.deadline, 1), else_=0))
    finished = session.execute(
        select(Task.department_id, Task.item_id, Task.status, ready_day, finish_day, func.count(), on_time)
        .where(Task.status.in_((COMPLETED, REJECTED)), _finished_in(span), tasks)
        .group_by(Task.department_id, Task.item_id, Task.status, ready_day, finish_day)
    )
    # Completed tasks by (period, department, item, ready day, finish day): how many.
    spans = defaultdict(int)
    for dept_id, item_id, status, ready_on, finished_on, n, n_on_time in finished:
        index = period_of(finished_on)
        if index is None:
            continue
        row = figures[index][(dept_id, item_id)]
        if status == COMPLETED:
            row.completed += n
            row.on_time += int(n_on_time or 0)
            if ready_on is not None:
                spans[(index, dept_id, item_id, ready_on, finished_on)] += n
        else:
            row.rejected += n
    # Tasks closed by a cancellation are no department's refusal. (Few: counted apart,
    # so that the query above need not join every finished task to its case.)
    closed = session.execute(
        select(Task.department_id, Task.item_id, finish_day, func.count())
        .join(Case, _closed_by_cancellation())
        .where(Task.status == REJECTED, _finished_in(span), tasks)
        .group_by(Task.department_id, Task.item_id, finish_day)
    )
    for dept_id, item_id, finished_on, n in closed:
        index = period_of(finished_on)
        if index is not None:
            figures[index][(dept_id, item_id)].rejected -= n
    progress.step()

    working_days = cache(calendar.working_days_between)
    for (dept_id, item_id, ready_on, finished_on), still in _supplemented(session, tasks, span, working_days):
        key = (period_of(finished_on), dept_id, item_id, ready_on, finished_on)
        if spans.get(key):
            spans[key] -= 1
            figures[key[0]][(dept_id, item_id)].handled_in(max(0, working_days(ready_on, finished_on) - still))
    for (index, dept_id, item_id, ready_on, finished_on), n in spans.items():
        if n:
            figures[index][(dept_id, item_id)].handled_in(max(0, working_days(ready_on, finished_on)), n)
    progress.step()
    return figures, cases


def _supplemented(session, tasks, period, working_days):
    """For each completed task of the period whose clock stood still for supplements:
    ((department, item, ready day, finish day), working days stood still)."""
    rows = session.execute(
        select(Task.id, Task.department_id, Task.item_id, cst_day(Task.ready_at), cst_day(Task.finished_at),
               AuditLog.action, AuditLog.at)
        .join(AuditLog, and_(AuditLog.object_type == "task", AuditLog.object_id == Task.id))
        .where(AuditLog.action.in_((SUPPLEMENT_REQUESTED_ACTION, SUPPLEMENT_RECEIVED_ACTION)),
               Task.status == COMPLETED, Task.ready_at.isnot(None), _finished_in(period), tasks)
        .order_by(Task.id, AuditLog.at, AuditLog.id)
    ).all()
    result = []
    index = 0
    while index < len(rows):
        task_id, dept_id, item_id, ready_on, finished_on = rows[index][:5]
        stopped, still = None, 0
        while index < len(rows) and rows[index][0] == task_id:
            action, at = rows[index][5], rows[index][6]
            if action == SUPPLEMENT_REQUESTED_ACTION and stopped is None:
                stopped = to_cst_date(at)
            elif action == SUPPLEMENT_RECEIVED_ACTION and stopped is not None:
                still += max(0, working_days(stopped, to_cst_date(at)))
                stopped = None
            index += 1
        if stopped is not None:
            still += max(0, working_days(stopped, finished_on))
        result.append(((dept_id, item_id, ready_on, finished_on), still))
    return result


def _overdue_counts(session, department_ids, scope, as_of):
    rows = session.execute(
        select(Task.department_id, Task.item_id, func.count())
        .where(figure_clause("overdue", None, as_of), _task_scope(department_ids, scope))
        .group_by(Task.department_id, Task.item_id)
    )
    return {(dept_id, item_id): n for dept_id, item_id, n in rows}


# PostgreSQL sorts the grouped rows of a busy month (some 200,000 tasks) on disk with
# the default 4 MB; in memory the figures take a third less time.
REPORT_WORK_MEM = "64MB"


def _reporting_session(session):
    """Settings for the report's queries, for the current transaction only."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))


def compute_statistics(session, region, period, *, scope, as_of=None, progress=None, calendar=None):
    """The statistics of ``region`` (a Region or its id; its whole subtree) for
    ``period``, as far as ``scope`` may see, with the previous period for comparison.
    ``as_of`` is "today" for the overdue-now figure (default: today, CST)."""
    steps = _Progress(progress, 5)
    _reporting_session(session)
    as_of = as_of or today_cst()
    calendar = calendar or load_calendar(session)
    region_ref = _region_ref(session, region)
    departments, items_of, items_by_id = _departments(session, region_ref.id, scope)
    steps.step()
    department_ids = list(departments) or [-1]
    previous_period = period.previous()
    (previous, current), (previous_cases, cases) = _figures(
        session, region_ref.id, department_ids, scope, (previous_period, period), calendar, steps)
    overdue = _overdue_counts(session, department_ids, scope, as_of)
    steps.step()

    result = []
    totals, previous_totals = Figures(), Figures()
    for dept_id, ref in departments.items():
        items = list(items_of[dept_id])
        # An item handled here that the catalogue assigns elsewhere still shows.
        known = {item.id for item in items}
        for key in sorted(set(current) | set(previous) | set(overdue)):
            if key[0] == dept_id and key[1] not in known and key[1] in items_by_id:
                items.append(items_by_id[key[1]])
                known.add(key[1])
        dept = DepartmentStatistics(ref, [])
        for item in items:
            figures = current.get((dept_id, item.id)) or Figures()
            figures.overdue_now = overdue.get((dept_id, item.id), 0)
            before = previous.get((dept_id, item.id)) or Figures()
            dept.items.append(ItemStatistics(item, figures, before))
            dept.figures.add(figures)
            dept.previous.add(before)
        if dept.items:
            result.append(dept)
            totals.add(dept.figures)
            previous_totals.add(dept.previous)
    return Statistics(
        region=region_ref, period=period, previous_period=previous_period, as_of=as_of,
        generated_at=now_cst(), departments=result, totals=totals, previous_totals=previous_totals,
        cases_received=cases, previous_cases_received=previous_cases,
    )


# --- the overdue supervision list --------------------------------------------------------


def overdue_count(session, region, *, scope, as_of=None):
    """How many tasks ``overdue_list`` lists (with no deadline range), counted in the
    database: whether the list is long enough to be generated in the background."""
    departments, _items_of, _items = _departments(session, _region_ref(session, region).id, scope)
    return session.scalar(
        select(func.count(Task.id))
        .where(figure_clause("overdue", None, as_of or today_cst()), _task_scope(list(departments) or [-1], scope))
    )


def overdue_list(session, region, *, scope, as_of=None, deadline_from=None, deadline_to=None, progress=None,
                 calendar=None):
    """Every overdue task of ``region``'s subtree that ``scope`` may see (being handled,
    deadline before ``as_of``), optionally only those with a deadline in
    [``deadline_from``, ``deadline_to``]: department, case number, item, deadline,
    working days over and the urgings (督办) so far, by department (the notice's order)
    and then the most overdue first."""
    steps = _Progress(progress, 3)
    as_of = as_of or today_cst()
    calendar = calendar or load_calendar(session)
    region_ref = _region_ref(session, region)
    departments, _items_of, items = _departments(session, region_ref.id, scope)
    steps.step()
    urgings = (select(func.count()).where(TaskUrging.task_id == Task.id)
               .correlate(Task).scalar_subquery())
    last_urged = (select(func.max(TaskUrging.created_at)).where(TaskUrging.task_id == Task.id)
                  .correlate(Task).scalar_subquery())
    query = (
        select(Task.id, Task.case_id, Case.case_no, Task.department_id, Task.item_id, Task.status, Task.ready_at,
               Task.deadline, urgings, last_urged)
        .join(Case, Case.id == Task.case_id)
        .where(figure_clause("overdue", None, as_of), _task_scope(list(departments) or [-1], scope))
    )
    if deadline_from is not None:
        query = query.where(Task.deadline >= deadline_from)
    if deadline_to is not None:
        query = query.where(Task.deadline <= deadline_to)
    fetched = session.execute(query).all()
    steps.step()
    order = {dept_id: index for index, dept_id in enumerate(departments)}
    working_days = cache(calendar.working_days_between)
    rows = [
        OverdueTask(
            task_id=task_id, case_id=case_id, case_no=case_no, department=departments[dept_id],
            item=items[item_id], status=status, ready_on=to_cst_date(ready_at) if ready_at else None,
            deadline=deadline, days_over=working_days(deadline, as_of), urgings=n_urgings or 0,
            last_urged_on=to_cst_date(urged_at) if urged_at else None,
        )
        for task_id, case_id, case_no, dept_id, item_id, status, ready_at, deadline, n_urgings, urged_at in fetched
    ]
    rows.sort(key=lambda r: (order[r.department.id], -r.days_over, r.deadline, r.case_no, r.item.code))
    steps.step()
    return OverdueList(region=region_ref, as_of=as_of, generated_at=now_cst(), rows=rows)

