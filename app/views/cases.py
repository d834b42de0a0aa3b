"""Cases and tasks: screens and REST reads, scoped by the one row filter."""

import math
import time
from functools import lru_cache
from operator import attrgetter

from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.api import BaseApi
from flask_appbuilder.api import expose as expose_api
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import protect
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from app import speedups
from app.domain import chain, clock, intake, statistics
from app.domain.workdays import load_calendar
from app.extensions import db
from app.models import CalendarDay, Case, CaseMaterial, Department, Item, Region, Task, TaskUrging
from app.models.case import ACCEPTED, OPEN_TASK_STATES, READY, TASK_STATES, is_overdue, working_days_left
from app.security import personal_data
from app.security.filters import SCOPED
from app.security.scope import current_scope, scope_query
from app.views.api_schemas import CaseDetailSchema, TaskDetailSchema, TaskRowSchema
from app.views.base import (
    CIRCUMSTANCE_LABELS,
    STATUS_LABELS,
    ReadOnlyScopedApi,
    ScopedModelView,
    business_date,
    business_datetime,
    label_of,
    yes_no,
)
from app.views.case_panel import case_panel, task_needs
from app.views.documents import material_download
from app.views.intake import update_case, with_edit_checks

CASE_LABELS = {
    "case_no": _l("Case number"),
    "region": _l("Region"),
    "department": _l("Registered at"),
    "status": _l("Status"),
    "deceased_name": _l("Name of the deceased"),
    "deceased_id_number": _l("ID number of the deceased"),
    "deceased_gender": _l("Gender"),
    "hukou_local": _l("Local household registration"),
    "hukou_address": _l("Household registration address"),
    "death_date": _l("Date of death"),
    "death_circumstance": _l("Circumstance of death"),
    "death_certificate_no": _l("Death proof number"),
    "facts": _l("Facts about the deceased"),
    "applicant_name": _l("Applicant"),
    "applicant_id_number": _l("ID number of the applicant"),
    "applicant_phone": _l("Applicant's mobile"),
    "applicant_relationship": _l("Relationship to the deceased"),
    "registered_at": _l("Registered on"),
    "tasks": _l("Tasks"),
}

TASK_LABELS = {
    "case": _l("Case"),
    "case.case_no": _l("Case number"),
    "case.deceased_name": _l("Name of the deceased"),
    "item": _l("Item"),
    "department": _l("Department"),
    "status": _l("Status"),
    "ready_at": _l("Ready since"),
    "deadline": _l("Deadline"),
    "result_note": _l("Result"),
}


RUNNING = (READY, ACCEPTED)  # the states in which a task's clock runs
# The queue's state conditions, built once (they are the same on every page).
IS_OPEN = Task.status.in_(OPEN_TASK_STATES)
IS_RUNNING = Task.status.in_(RUNNING)

# The status choice of the work queue (``?status=``): its open tasks by default; a state
# lists the tasks in it, finished ones included; ``all`` lists every state.
ALL_STATES = "all"
STATUS_CHOICES = {
    "": _l("All open tasks"),
    **{state: STATUS_LABELS[state] for state in TASK_STATES},
    ALL_STATES: _l("All states"),
}

# Quick filters of the work queue (``?due=``), on the tasks whose clock runs: in hand,
# due today, due within the next ``?days=`` working days (today included), overdue.
DUE_WINDOWS = {
    "todo": _l("To do"),
    "today": _l("Due today"),
    "soon": _l("Due soon"),
    "overdue": _l("Overdue"),
}
DUE_SOON_DAYS, DUE_SOON_MAX_DAYS = 1, 30


def queue_choice(args):
    """The work queue's (status, due window, working days of "due soon") from the
    request's arguments; anything unknown falls back to the default."""
    status = args.get("status", "")
    due = args.get("due", "")
    days = args.get("days", "")
    days = int(days) if days.isdigit() and 1 <= int(days) <= DUE_SOON_MAX_DAYS else DUE_SOON_DAYS
    return (status if status in STATUS_CHOICES else "", due if due in DUE_WINDOWS else "", days)


_item, _department = Item.__table__.c, Department.__table__.c  # plain statements: no ORM step
# The items of the queue's choice, built once (SQLAlchemy works a statement's cache
# key out once per statement object): every item, or those of some departments.
ALL_ITEMS = select(_item.code, _item.name).order_by(_item.sort_order, _item.code)
DEPARTMENTS_ITEMS = ALL_ITEMS.where(_item.department_code.in_(
    select(_department.code).where(_department.id.in_(bindparam("department_ids", expanding=True))).scalar_subquery()
))


def queue_items():
    """The items a user's work queue can be narrowed to (``?item=``): those its
    departments handle; every item for those who follow whole cases (a window, a
    region's supervisor or manager, an administrator)."""
    scope = current_scope()
    if scope.sees_all or scope.window_ids or scope.region_ids:
        rows = db.session.connection().execute(ALL_ITEMS)
    else:
        rows = db.session.connection().execute(DEPARTMENTS_ITEMS, {"department_ids": list(scope.department_ids)})
    return {code: f"{code} {name}" for code, name in rows}


class ShownCache:
    """Something the screens show that changes rarely, read at most every ``ttl`` seconds
    per process, and again at once after this process changes a row of ``models``."""

    def __init__(self, load, models, ttl=30.0):
        self.load, self.models, self.ttl = load, tuple(models), ttl
        self.value, self.read_at = None, 0.0
        event.listen(Session, "after_flush", self.forget_changed)

    def forget_changed(self, session, _context):
        if any(isinstance(obj, self.models) for obj in (*session.new, *session.dirty, *session.deleted)):
            self.value = None

    def get(self, fresh=False):
        now = time.monotonic()
        if fresh or self.value is None or now - self.read_at > self.ttl:
            self.value, self.read_at = self.load(db.session), now
        return self.value


# The calendar the screens show days left with. Deadlines themselves are always
# computed on the calendar read in their transaction.
DISPLAY_CALENDAR = ShownCache(load_calendar, [CalendarDay])


def request_calendar():
    """The working-day calendar for showing days left (the work queue's column)."""
    return DISPLAY_CALENDAR.get()


def _catalogue_labels(session):
    return {
        "item_id": {item.id: str(item) for item in session.query(Item)},
        "department_id": {department.id: str(department)
                          for department in session.query(Department).options(joinedload(Department.region))},
    }


# What the work queue's item and department cells say (an item's code and name, a
# department's county and name), by id: the page's query reads no catalogue rows.
CATALOGUE_LABELS = ShownCache(_catalogue_labels, [Item, Department, Region])


def catalogue_label(column):
    """The formatter of the queue's ``item_id`` or ``department_id`` cell: the row's
    name, read again if the id is new to this process."""

    def label(row_id):
        labels = CATALOGUE_LABELS.get()[column]
        if row_id not in labels:
            labels = CATALOGUE_LABELS.get(fresh=True)[column]
        return labels.get(row_id, "")

    return label


def time_left(task):
    """The work queue's "working days left" cell: negative and marked once overdue.
    It depends on the task's state, deadline and stopped clock only (``time_left_key``),
    with today, the calendar and the language: written once for each of those."""
    return _time_left(speedups.locale_name(), clock.today_cst(), request_calendar(), *time_left_key(task))


@lru_cache(maxsize=4096)
def _time_left(_locale, today, calendar, status, deadline, supplement_days_left):
    """``time_left`` in the request's language (``_locale`` only keeps the languages'
    cells apart). Translated at once, not lazily: a lazy label is translated again each
    time the cell's markup is built and escaped."""
    left = working_days_left(status, deadline, supplement_days_left, calendar, today)
    if left is None:
        return ""
    if is_overdue(status, deadline, today):
        label = gettext("Overdue by %(n)s working days", n=-left) if left < 0 else gettext("Overdue")
        return Markup(f'{left:d} <span class="label label-danger">{escape(label)}</span>')  # noqa: S704 (escaped)
    if status not in RUNNING:
        stopped = escape(gettext("Clock stopped"))
        return Markup(f'{left:d} <span class="label label-default">{stopped}</span>')  # noqa: S704 (escaped)
    return str(left)


class WorkQueueFilter(BaseFilter):
    """The work queue lists open tasks, or those of the state chosen (``?status=``),
    narrowed by the quick filter ``?due=``; or, with ``?figure=``, the tasks behind a
    figure of the dashboard, open or not (``statistics.figure_filter``). The row
    filter applies either way."""

    name = "work queue"
    arg_name = None

    def apply(self, query, value):
        if not has_request_context():
            return query.filter(IS_OPEN)
        behind = statistics.figure_filter(request.args)
        if behind is not None:
            return query.filter(behind)
        status, due, days = queue_choice(request.args)
        if status == "":
            query = query.filter(IS_OPEN)
        elif status != ALL_STATES:
            query = query.filter(Task.status == status)
        today = clock.today_cst()
        if due:
            query = query.filter(IS_RUNNING)
        if due == "today":
            query = query.filter(Task.deadline == today)
        elif due == "soon":
            query = query.filter(Task.deadline >= today,
                                 Task.deadline <= request_calendar().add_working_days(today, days))
        elif due == "overdue":
            query = query.filter(Task.deadline < today)
        item = request.args.get("item", "")
        if item:
            query = query.filter(Task.item_id.in_(db.session.query(Item.id).filter(Item.code == item).scalar_subquery()))
        return query


class CaseFigureFilter(BaseFilter):
    """With ``?figure=received``, the cases behind the dashboard's "cases received"
    (``statistics.case_figure_filter``). The row filter applies either way."""

    name = "dashboard figure"
    arg_name = None

    def apply(self, query, value):
        behind = statistics.case_figure_filter(request.args) if has_request_context() else None
        return query if behind is None else query.filter(behind)


class TaskInterface(SQLAInterface):
    """Tasks without a deadline yet (waiting for materials) come after those with one;
    the row count is taken on the task table alone."""

    def query_count(self, query, filters=None, select_columns=None):
        # The joins FAB adds for the listed columns (case, item, department) are
        # many-to-one outer joins: they change no count, and cost most of it. The
        # subquery counted selects the key alone (FAB's selects every task column).
        counted = self._apply_inner_all(query, filters, select_columns=None, aliases_mapping={})
        return counted.order_by(None).with_entities(Task.id).count()

    def apply_order_by(self, query, order_column, order_direction, aliases_mapping=None,
                       bypass_many_to_many=False, add_pk=False):
        if order_column == "deadline" and order_direction == "asc":
            # ASC NULLS LAST is PostgreSQL's own order: its deadline indexes still serve it.
            return query.order_by(Task.deadline.asc().nulls_last(), Task.id.asc())
        return super().apply_order_by(query, order_column, order_direction, aliases_mapping,
                                      bypass_many_to_many, add_pk)


def _the_value(value):
    return value


# The queue's row of a task: its cells' columns, read as plain rows (no ORM object is
# built for a page), each list column by what it is read from: a task column, one of its
# case's, or for the time left, the row itself (``time_left_key`` reads its state,
# deadline and stopped clock).
QUEUE_CASE = aliased(Case, name="queue_case")
QUEUE_ROW_COLUMNS = (Task.id, Task.item_id, Task.department_id, Task.status, Task.deadline,
                     Task.supplement_days_left, QUEUE_CASE.case_no, QUEUE_CASE.deceased_name)
QUEUE_CELLS = {
    "case.case_no": attrgetter("case_no"),
    "case.deceased_name": attrgetter("deceased_name"),
    "item_id": attrgetter("item_id"),
    "department_id": attrgetter("department_id"),
    "status": attrgetter("status"),
    "deadline": attrgetter("deadline"),
    "clock": _the_value,
}


# Statements a process keeps for the work queue (``TaskQueueInterface.statements``)
# before it starts afresh.
MAX_KEPT_STATEMENTS = 512


def _frozen(value):
    return tuple(value) if isinstance(value, list) else value


class TaskQueueInterface(TaskInterface):
    """The work queue's page of tasks as rows of ``QUEUE_ROW_COLUMNS`` (each with its
    case's number and name, joined), in one query; the item and department cells are
    named from ``CATALOGUE_LABELS``. FAB's filters, order and page are applied to a
    ``select`` rather than a legacy ``Query``, and the page is read as rows: the ORM
    spent more time building 50 objects than the database spent finding them.

    The count and the page's statements are kept, for the user, by what they are made
    of (``statements_key``): a clerk reloads the same queue all day, and SQLAlchemy
    worked out each new statement's cache key again (a tenth of the page's time). So a
    filter of this list may read nothing but its value, the request's arguments, the
    user's scope, today and the display calendar."""

    def __init__(self, obj, session=None):
        super().__init__(obj, session)
        self._kept_statements = {}

    def query(self, filters=None, order_column="", order_direction="", page=None, page_size=None,
              select_columns=None, outer_default_load=False):
        """FAB's ``query`` for a list without select columns (the screen's): the rows
        its filters leave, counted, and the page of them in its order. The filters are
        applied once for both (FAB applies them for each)."""
        if select_columns:
            return super().query(filters, order_column, order_direction, page, page_size, select_columns,
                                 outer_default_load)
        counted, paged = self.statements(filters, order_column, order_direction, page, page_size)
        # Plain statements (no ORM object stands for a row) on the session's connection;
        # a list request has nothing pending to flush first.
        connection = self.session.connection()
        return connection.execute(counted).scalar_one(), connection.execute(paged).all()

    def statements(self, filters, order_column, order_direction, page, page_size):
        """The count of the rows ``filters`` leave and the page of them, as kept for
        ``statements_key`` (built when it is new, or when there is none)."""
        key = self.statements_key(filters, order_column, order_direction, page, page_size)
        kept = self._kept_statements.get(key) if key is not None else None
        if kept is None:
            filtered = self.apply_filters(select(Task), self.get_inner_filters(filters))
            counted = select(func.count()).select_from(filtered.with_only_columns(Task.id).subquery())
            ordered = self.apply_order_by(filtered, order_column, order_direction, aliases_mapping={},
                                          bypass_many_to_many=True, add_pk=True)
            paged = (self.apply_pagination(ordered, page, page_size).with_only_columns(*QUEUE_ROW_COLUMNS)
                     .join(QUEUE_CASE, QUEUE_CASE.id == Task.case_id))
            kept = counted, paged
            if key is not None:
                if len(self._kept_statements) >= MAX_KEPT_STATEMENTS:
                    self._kept_statements.clear()
                self._kept_statements[key] = kept
        return kept

    @staticmethod
    def statements_key(filters, order_column, order_direction, page, page_size):
        """Everything the queue's statements are made of: the user and their scope (the
        row filter), today and the display calendar (the due windows), the request's
        arguments (the queue's choices), each filter with its value, the order and the
        page. None, and nothing kept, outside a request and for a dashboard figure's
        tasks (they depend on the time of day)."""
        if not has_request_context() or "figure" in request.args:
            return None
        user = getattr(g, "user", None)
        try:
            key = (
                getattr(user, "id", None), current_scope(), clock.today_cst(), request_calendar(),
                tuple(request.args.items(multi=True)),
                tuple((type(flt), flt.column_name, _frozen(value))
                      for flt, value in (filters.get_filters_values() if filters is not None else ())),
                order_column, order_direction, page, page_size,
            )
            hash(key)
        except TypeError:  # a filter value that cannot be a key: built each time
            return None
        return key

    def get_values(self, lst, list_columns):
        """The rows' cell values (see ``QUEUE_CELLS``)."""
        getters = [(column, QUEUE_CELLS[column]) for column in list_columns]
        for row in lst:
            yield {column: getter(row) for column, getter in getters}


def task_page(task):
    """What one item needs of its case, as its department may see it: the facts that
    gave the case this item, the materials this item (and no other) requires with what
    is present, the files of them the user may download, and the case's personal data
    as the one rule of ``app.security.personal_data`` discloses it."""
    case = task.case
    shown = personal_data.disclosure(case)
    today = clock.today_cst()
    return dict(
        task_needs(task),
        task=task,
        case=case,
        status=STATUS_LABELS.get(task.status, task.status),
        deceased_id=shown.deceased_id_number(case),
        applicant_phone=shown.applicant_phone(case),
        days_left=task.working_days_left(request_calendar(), today),
        overdue=task.is_overdue(today),
        urgings=scope_query(TaskUrging, db.session.query(TaskUrging))
        .filter(TaskUrging.task_id == task.id).order_by(TaskUrging.created_at, TaskUrging.id).all(),
    )


def time_left_key(task):
    """What ``time_left`` reads of a task."""
    return task.status, task.deadline, task.supplement_days_left


# The queue's cells that repeat from row to row, each written once a page, by what they
# depend on: their value alone (item, department, state, deadline), or for the time
# left, part of its task.
QUEUE_REPEATED_COLUMNS = {"item_id": _the_value, "department_id": _the_value, "status": _the_value,
                          "deadline": _the_value, "clock": time_left_key}


def queue_rows(value_columns, pks, include_columns, formatters_columns, today, show_prefix=None, show_title=""):
    """The work queue's table rows: each cell formatted and escaped as FAB's list does
    (``{{ formatter(value) }}``), an overdue task's row marked, and with
    ``show_prefix`` the button to its page. Written in Python, not Jinja: with 25 rows of
    eight cells, Jinja's per-cell calls were a tenth of the page's time."""
    if show_prefix is not None:
        show_title = escape(show_title)
        button_start = ('<td><center><div class="btn-group btn-group-xs" style="display: flex;">'
                        f'<a href="{escape(show_prefix)}')
        button_end = (f'" class="btn btn-sm btn-default" data-toggle="tooltip" rel="tooltip" title="{show_title}">'
                      f'<span class="sr-only">{show_title}</span><i class="fa fa-search"></i></a></div></center></td>')
    formatters = [(column, formatters_columns.get(column), QUEUE_REPEATED_COLUMNS.get(column))
                  for column in include_columns]
    written = {}  # (column, key) → its cell, for the cells that repeat down the queue
    rows = []
    for pk, row in zip(pks, value_columns, strict=True):
        task = row["clock"]
        cells = ['<tr class="danger overdue">' if is_overdue(task.status, task.deadline, today) else "<tr>"]
        if show_prefix is not None:
            cells.append(f"{button_start}{escape(pk)}{button_end}")
        for column, formatter, key_of in formatters:
            value = row[column]
            if key_of is None:
                cells.append(f"<td>{escape(formatter(value) if formatter else value)}</td>")
                continue
            key = (column, key_of(value))
            cell = written.get(key)
            if cell is None:
                cell = written[key] = f"<td>{escape(formatter(value) if formatter else value)}</td>"
            cells.append(cell)
        cells.append("</tr>")
        rows.append("".join(cells))
    return Markup("\n".join(rows))  # noqa: S704 (every value escaped above)


def queue_header(page, page_size, count, modelview_name):
    """FAB's list header (``lib.render_list_header`` of a list without add button or
    actions): pagination, page size, back and the record count, the same markup written
    in Python (as Jinja macros it was a twentieth of the work queue's time)."""
    page_link, size_link = speedups.page_link, speedups.page_size_link
    page = page or 0
    pages = math.ceil(count / page_size) if page_size else 0
    parts = []
    if pages > 1:
        low, high = page - 3, page + 3 + 1
        if low < 0:
            high -= low
        if high >= pages:
            low = low - high + pages
        low, high = max(low, 0), min(high, pages)

        def item(label, target=None, css=""):
            attributes = f' class="{css}"' if css else ""
            href = escape(page_link(target, modelview_name)) if target is not None else "#"
            return f'<li{attributes}><a href="{href}">{label}</a></li>'

        parts.append('<ul class="pagination pagination-sm" style="display:inherit;">')
        parts.append(item("&laquo;", 0) if low > 0 else item("&laquo;", css="disabled"))
        parts.append(item("&lt;", page - 1) if page > 0 else item("&lt;", css="disabled"))
        for number in range(low, high):
            parts.append(item(number + 1, css="active") if number == page else item(number + 1, number))
        parts.append(item("&gt;", page + 1) if page + 1 < pages else item("&gt;", css="disabled"))
        parts.append(item("&raquo;", pages - 1) if high < pages else item("&raquo;", css="disabled"))
        parts.append("</ul>")
        active = ' class="active"'
        sizes = "".join(
            f'<li{active if size == page_size else ""}><a href="{escape(size_link(size, modelview_name))}">{size}</a></li>'
            for size in range(25, 125, 25) if page * size <= count
        )
        page_size_label = escape(gettext("Page size"))
        parts.append(
            '<div class="btn-group"><button type="button" class="btn btn-default btn-sm dropdown-toggle" '
            f'data-toggle="dropdown">\n{page_size_label}<span class="caret"></span></button>'
            f'<ul class="dropdown-menu" role="menu">{sizes}</ul></div>'
        )
    back, record_count = escape(gettext("Back")), escape(gettext("Record Count"))
    parts.append(
        f'<a href="{escape(url_for("UtilView.back"))}" class="btn btn-sm btn-default" data-toggle="tooltip" '
        f'rel="tooltip" title="{back}"><span class="sr-only">{back}</span><i class="fa fa-arrow-left"></i></a>'
    )
    parts.append(f'<div class="pull-right"><strong>{record_count}:</strong> {count}\n</div>')
    return Markup("\n".join(parts))  # noqa: S704 (every value escaped above)


class UnshownSearchForm:
    """FAB's search form of a list whose template shows its own filters instead (the
    work queue's ``list_search``): FAB builds the form on every list request for a
    search widget nothing renders. The form class is kept (``form``); a list request
    builds nothing."""

    def __init__(self, form):
        self.form = form

    def refresh(self, *_args, **_kwargs):
        return None


class TaskListWidget(ListWidget):
    """The work queue's table: FAB's list widget with its header and rows written by
    ``queue_header`` and ``queue_rows`` (see the template)."""

    template = "task_list_widget.html"

    def __call__(self, **kwargs):
        return super().__call__(queue_rows=queue_rows, queue_header=queue_header, **kwargs)


class TaskView(ScopedModelView):
    """The department's work queue (open tasks, most urgent first) and a task's page."""

    datamodel = TaskQueueInterface(Task)
    list_title = _l("Tasks")
    show_title = _l("Task details")
    base_permissions = ["can_list", "can_show", "can_urge"]
    # The item and department cells are named by id from CATALOGUE_LABELS (no catalogue
    # row is read for a page).
    list_columns = ["case.case_no", "item_id", "case.deceased_name", "department_id", "status", "deadline", "clock"]
    show_columns = ["case", "item", "department", "status", "ready_at", "deadline", "result_note"]
    # The state is chosen from the queue's own labelled list (``?status=``), not typed.
    search_columns = ["deadline", "item"]
    order_columns = ["deadline", "status"]
    base_order = ("deadline", "asc")  # most urgent first: overdue, then due soonest
    label_columns = dict(TASK_LABELS, clock=_l("Working days left"), item_id=TASK_LABELS["item"],
                         department_id=TASK_LABELS["department"])
    formatters_columns = {
        "item_id": catalogue_label("item_id"),
        "department_id": catalogue_label("department_id"),
        "status": label_of(STATUS_LABELS),
        "deadline": business_date,
        "ready_at": business_datetime,
        "result_note": lambda value: value or "",
        "clock": time_left,
    }
    list_template = "task_list.html"
    list_widget = TaskListWidget
    show_template = "task_show.html"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._queue_filters = self.datamodel.get_filters().add_filter_list([["id", WorkQueueFilter, None]])
        self.search_form = UnshownSearchForm(self.search_form)  # task_list.html has its own filters

    def _get_list_widget(self, filters, **kwargs):
        # Only the list is the work queue: a finished task's page still opens.
        sorted_by_default = f"_oc_{self.__class__.__name__}" not in request.args
        return super()._get_list_widget(filters.get_joined_filters(self._queue_filters), today=clock.today_cst(),
                                        default_order=self.base_order if sorted_by_default else None, **kwargs)

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            status, due, days = queue_choice(request.args)
            kwargs.update(status_choices=STATUS_CHOICES, status=status, due_windows=DUE_WINDOWS, due=due, days=days,
                          max_days=DUE_SOON_MAX_DAYS, figure=statistics.figure_description(request.args),
                          item_choices=queue_items(), item=request.args.get("item", ""))
        return super().render_template(template, **kwargs)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)  # 404 when the row filter hides the task
        task = db.session.get(Task, int(pk))
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets, related_views=self._related_views,
            page=task_page(task), csrf_form=FlaskForm(),
            can_urge=task.status in OPEN_TASK_STATES and self.appbuilder.sm.has_access("can_urge", "TaskView"),
        )

    @expose("/urge/<int:pk>", methods=["POST"])
    @has_access
    def urge(self, pk):
        task = scope_query(Task, db.session.query(Task)).filter(Task.id == pk).one_or_none()
        if task is None:
            abort(404)
        back = redirect(url_for("TaskView.show", pk=pk))
        if not FlaskForm().validate_on_submit():
            flash(str(_l("The form expired; please try again.")), "danger")
            return back
        note = (request.form.get("note") or "").strip()
        if not note:
            flash(str(_l("Write what the department is urged to do.")), "danger")
            return back
        if task.status not in OPEN_TASK_STATES:
            flash(str(_l("Only an open task can be urged.")), "danger")
            return back
        chain.urge_task(db.session, task, g.user, note)
        db.session.commit()
        flash(str(_l("Urging recorded.")), "success")
        return back


class CaseView(ScopedModelView):
    datamodel = SQLAInterface(Case)
    list_title = _l("Cases")
    show_title = _l("Case details")
    add_title = _l("Register a case")
    edit_title = _l("Edit case")
    # Cases are registered through the intake screen (IntakeView), not a generic form.
    base_permissions = ["can_list", "can_show", "can_edit"]
    base_filters = [*SCOPED, ["id", CaseFigureFilter, lambda: None]]
    list_columns = ["case_no", "deceased_name", "death_date", "status", "region", "registered_at"]
    show_columns = [
        "case_no", "region", "department", "status", "deceased_name", "deceased_id_number",
        "deceased_gender", "hukou_local", "hukou_address", "death_date", "death_circumstance",
        "death_certificate_no", "facts", "applicant_name", "applicant_id_number", "applicant_phone",
        "applicant_relationship", "registered_at",
    ]
    # The window corrects contact details only; identity and registry fields are fixed
    # at intake (app.domain.intake.EDITABLE), where they are checked.
    edit_columns = list(intake.EDITABLE)
    search_columns = ["case_no", "deceased_name", "status", "death_date"]
    order_columns = ["case_no", "death_date", "registered_at", "status"]
    base_order = ("registered_at", "desc")
    label_columns = CASE_LABELS
    formatters_columns = {
        "status": label_of(STATUS_LABELS),
        "death_circumstance": label_of(CIRCUMSTANCE_LABELS),
        "death_date": business_date,
        "registered_at": business_datetime,
        "hukou_local": yes_no,
        "facts": lambda facts: "、".join(f.name for f in facts or []),
        "death_certificate_no": lambda value: value or "",
        "hukou_address": lambda value: value or "",
        "applicant_relationship": lambda value: value or "",
    }
    show_template = "case_show.html"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.edit_form = with_edit_checks(self.edit_form)

    def pre_update(self, item):
        try:
            super().pre_update(item)
            update_case(item, g.user)
        except Exception:
            db.session.rollback()  # FAB flashes the error; nothing of the edit may be written later
            raise

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        """FAB's show widget, with the case's personal data as the one rule discloses
        it to this user (``app.security.personal_data``)."""
        widgets = widgets or {}
        shown = personal_data.disclosure(item)
        widgets["show"] = self.show_widget(
            pk=pk,
            label_columns=self.label_columns,
            include_columns=self.show_columns,
            value_columns=[shown.value(item, column) for column in self.show_columns],
            formatters_columns=self.formatters_columns,
            actions=actions or self.actions,
            fieldsets=show_fieldsets or self.show_fieldsets,
            modelview_name=self.__class__.__name__,
        )
        return widgets

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)  # 404 when the row filter hides the case
        case = db.session.get(Case, int(pk))
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets, related_views=self._related_views,
            case=case, panel=case_panel(case),
            can_print=self.appbuilder.sm.has_access("can_registration_form", "CaseDocumentsView"),
        )


# The integration API's labels: the keys of its rows (app/views/api_schemas.py).
API_LABELS = dict(
    CASE_LABELS,
    id=_l("Id"),
    region_code=_l("Region code"),
    death_proof_checked=_l("Death proof checked against the registry"),
    completed_at=_l("Completed on"),
    case_id=_l("Case id"),
    case_no=_l("Case number"),
    item_code=_l("Item code"),
    item_name=_l("Item"),
    department_code=_l("Department code"),
    deadline=_l("Deadline"),
    version=_l("Version"),
    ready_at=_l("Ready since"),
    result_note=_l("Result"),
    payout_amount=_l("Amount paid (yuan)"),
    payout_expected_date=_l("Expected arrival date"),
    deceased=_l("The deceased"),
    materials=_l("Materials this item requires"),
)
# Searchable and sortable through the API: numbers, states, dates and codes, never a
# column a caller may read only masked (a prefix search would unmask it digit by digit).
CASE_API_SEARCH = ["case_no", "status", "death_date", "registered_at"]
TASK_API_SEARCH = ["status", "deadline", "ready_at", "item"]


class CaseApi(ReadOnlyScopedApi):
    """SPEC's ``GET /api/v1/case/<id>``: the case with its tasks (those the caller sees)
    and its personal data as ``app.security.personal_data`` discloses it."""

    resource_name = "case"
    datamodel = SQLAInterface(Case)
    list_title = _l("Cases")
    show_title = _l("Case details")
    list_columns = ["id", "case_no", "status", "deceased_name", "death_date", "region.code", "registered_at"]
    show_model_schema = CaseDetailSchema()
    show_columns = list(CaseDetailSchema._declared_fields)
    show_select_columns = [
        "id", "case_no", "status", "region_id", "department_id", "deceased_name", "deceased_id_number",
        "deceased_gender", "death_date", "death_circumstance", "death_certificate_id", "applicant_name",
        "applicant_id_number", "applicant_phone", "applicant_relationship", "registered_at", "completed_at",
    ]
    search_columns = CASE_API_SEARCH
    order_columns = ["case_no", "registered_at", "death_date", "id"]
    label_columns = dict(API_LABELS, **{"region.code": _l("Region code")})


class TaskApi(ReadOnlyScopedApi):
    """SPEC's rows: ``id``, ``case_no``, ``item_code``, ``department_code``, ``status``,
    ``deadline`` (flat, by the schemas; the select columns drive the query's joins). One
    task adds what its item needs of the case (``TaskDetailSchema``)."""

    resource_name = "task"
    datamodel = TaskInterface(Task)
    list_title = _l("Tasks")
    show_title = _l("Task details")
    list_model_schema = TaskRowSchema()
    show_model_schema = TaskDetailSchema()
    list_columns = list(TaskRowSchema._declared_fields)
    list_select_columns = ["id", "case.case_no", "item.code", "department.code", "status", "deadline", "version"]
    show_columns = list(TaskDetailSchema._declared_fields)
    show_select_columns = list_select_columns + ["ready_at", "result_note", "payout_amount", "payout_expected_date"]
    search_columns = TASK_API_SEARCH
    order_columns = ["deadline", "status", "id"]
    label_columns = API_LABELS


class CaseMaterialApi(BaseApi):
    """``GET /api/v1/case-material/<id>``: the stored scan of a case material, for a
    department's own system, under the row filter of the screen's download (404 for a
    material the caller may not see) and recorded in the audit log like it."""

    resource_name = "case-material"
    allow_browser_login = False

    @expose_api("/<int:pk>", methods=["GET"])
    @protect()
    def download(self, pk):
        """The stored scan of a case material.
        ---
        get:
          description: >-
            The file (PDF, JPEG or PNG) of a case material the caller may see, as an
            attachment; its SHA-256 is in the task's ``materials``. Each download is
            recorded in the audit log.
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
            description: the case material's id (``materials[].files[].id`` of a task)
          responses:
            200:
              description: The file
              content:
                application/pdf:
                  schema:
                    type: string
                    format: binary
                image/jpeg:
                  schema:
                    type: string
                    format: binary
                image/png:
                  schema:
                    type: string
                    format: binary
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        row = scope_query(CaseMaterial, db.session.query(CaseMaterial)).filter(CaseMaterial.id == pk).one_or_none()
        if row is None or not row.stored_name:
            return self.response_404()
        return material_download(row)
