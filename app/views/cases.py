"""Cases and tasks: screens and REST reads, scoped by the one row filter."""

import time

from flask import abort, flash, g, has_request_context, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.widgets import ListWidget
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.domain import chain, clock, intake, rules, statistics
from app.domain.labels import FORM_LABELS
from app.domain.workdays import load_calendar
from app.extensions import db
from app.models import CalendarDay, Case, CaseMaterial, Material, Task, TaskUrging
from app.models.case import ACCEPTED, OPEN_TASK_STATES, READY, TASK_STATES
from app.security.filters import SCOPED
from app.security.scope import current_scope, scope_query
from app.views.api_schemas import TaskDetailSchema, TaskRowSchema
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
from app.views.case_panel import case_panel
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


# The material whose presence among an item's needs lets its department read the
# deceased's full ID number (everyone else sees it masked).
DECEASED_ID = "DECEASED_ID"
RUNNING = (READY, ACCEPTED)  # the states in which a task's clock runs

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


# The calendar the screens show days left with: read at most every DISPLAY_CALENDAR_TTL
# seconds per process (and at once after this process changes a calendar day).
# Deadlines themselves are always computed on the calendar read in their transaction.
DISPLAY_CALENDAR_TTL = 30.0
_display_calendar = {"calendar": None, "read_at": 0.0}


def _forget_display_calendar(session, _context):
    if any(isinstance(obj, CalendarDay) for obj in (*session.new, *session.dirty, *session.deleted)):
        _display_calendar["calendar"] = None


event.listen(Session, "after_flush", _forget_display_calendar)


def request_calendar():
    """The working-day calendar for showing days left (the work queue's column)."""
    now = time.monotonic()
    if _display_calendar["calendar"] is None or now - _display_calendar["read_at"] > DISPLAY_CALENDAR_TTL:
        _display_calendar.update(calendar=load_calendar(db.session), read_at=now)
    return _display_calendar["calendar"]


def time_left(task):
    """The work queue's "working days left" cell: negative and marked once overdue."""
    today = clock.today_cst()
    left = task.working_days_left(request_calendar(), today)
    if left is None:
        return ""
    if task.is_overdue(today):
        label = _l("Overdue by %(n)s working days", n=-left) if left < 0 else _l("Overdue")
        return Markup('{} <span class="label label-danger">{}</span>').format(left, label)
    if task.status not in RUNNING:
        return Markup('{} <span class="label label-default">{}</span>').format(left, _l("Clock stopped"))
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
            return query.filter(Task.status.in_(OPEN_TASK_STATES))
        behind = statistics.figure_filter(request.args)
        if behind is not None:
            return query.filter(behind)
        status, due, days = queue_choice(request.args)
        if status == "":
            query = query.filter(Task.status.in_(OPEN_TASK_STATES))
        elif status != ALL_STATES:
            query = query.filter(Task.status == status)
        today = clock.today_cst()
        if due:
            query = query.filter(Task.status.in_(RUNNING))
        if due == "today":
            query = query.filter(Task.deadline == today)
        elif due == "soon":
            query = query.filter(Task.deadline >= today,
                                 Task.deadline <= request_calendar().add_working_days(today, days))
        elif due == "overdue":
            query = query.filter(Task.deadline < today)
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
        # many-to-one outer joins: they change no count, and cost most of it.
        return super().query_count(query, filters, select_columns=None)

    def apply_order_by(self, query, order_column, order_direction, aliases_mapping=None,
                       bypass_many_to_many=False, add_pk=False):
        if order_column == "deadline" and order_direction == "asc":
            # ASC NULLS LAST is PostgreSQL's own order: its deadline indexes still serve it.
            return query.order_by(Task.deadline.asc().nulls_last(), Task.id.asc())
        return super().apply_order_by(query, order_column, order_direction, aliases_mapping,
                                      bypass_many_to_many, add_pk)


def mask_id_number(value):
    """361125********1237: the region and the last four digits."""
    value = value or ""
    return value[:6] + "*" * max(len(value) - 10, 0) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_phone(value):
    value = value or ""
    return value[:3] + "*" * max(len(value) - 7, 0) + value[-4:] if len(value) > 7 else "*" * len(value)


def task_page(task):
    """What one item needs of its case, as its department may see it: the facts that
    gave the case this item, the materials this item (and no other) requires with what
    is present, the files of them the user may download, and personal data masked
    where the item does not need it."""
    case = task.case
    facts = set(chain.fact_codes(case))
    present = chain.present_pairs(case)
    reasons = [rule.fact for rule in task.item.rules if rule.fact is not None and rule.fact.code in facts]
    needs = rules.needs_for(task.item, facts)
    codes = list(dict.fromkeys(code for need in needs for code, _form in need.materials))
    materials = {m.code: m for m in db.session.query(Material).filter(Material.code.in_(codes))} if codes else {}
    files = (
        scope_query(CaseMaterial, db.session.query(CaseMaterial))
        .filter(CaseMaterial.case_id == case.id, CaseMaterial.material_id.in_([m.id for m in materials.values()]))
        .filter(CaseMaterial.stored_name.isnot(None))
        .order_by(CaseMaterial.id).all()
    ) if materials else []
    groups = []
    for need in needs:
        groups.append({
            "satisfied": need.satisfied_by(present),
            "materials": [
                {
                    "code": code,
                    "name": materials[code].name if code in materials else code,
                    "form": FORM_LABELS.get(form, form),
                    "present": (code, form) in present,
                    "files": [f for f in files if f.material_id == materials[code].id] if code in materials else [],
                }
                for code, form in need.materials
            ],
        })
    scope = current_scope()
    today = clock.today_cst()
    return {
        "task": task,
        "case": case,
        "status": STATUS_LABELS.get(task.status, task.status),
        "facts": reasons,
        "always": any(rule.fact is None for rule in task.item.rules),
        "groups": groups,
        "deceased_id": case.deceased_id_number if DECEASED_ID in codes else mask_id_number(case.deceased_id_number),
        "applicant_phone": case.applicant_phone if scope.sees_all or case.department_id in scope.window_ids
        else mask_phone(case.applicant_phone),
        "days_left": task.working_days_left(request_calendar(), today),
        "overdue": task.is_overdue(today),
        "urgings": scope_query(TaskUrging, db.session.query(TaskUrging))
        .filter(TaskUrging.task_id == task.id).order_by(TaskUrging.created_at, TaskUrging.id).all(),
    }


class TaskListWidget(ListWidget):
    """The work queue's table, without per-row macros (see the template)."""

    template = "task_list_widget.html"


class TaskView(ScopedModelView):
    """The department's work queue (open tasks, most urgent first) and a task's page."""

    datamodel = TaskInterface(Task)
    list_title = _l("Tasks")
    show_title = _l("Task details")
    base_permissions = ["can_list", "can_show", "can_urge"]
    list_columns = ["case.case_no", "item", "case.deceased_name", "department", "status", "deadline", "clock"]
    show_columns = ["case", "item", "department", "status", "ready_at", "deadline", "result_note"]
    # The state is chosen from the queue's own labelled list (``?status=``), not typed.
    search_columns = ["deadline", "item"]
    order_columns = ["deadline", "status"]
    base_order = ("deadline", "asc")  # most urgent first: overdue, then due soonest
    label_columns = dict(TASK_LABELS, clock=_l("Working days left"))
    formatters_columns = {
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

    def _get_list_widget(self, filters, **kwargs):
        # Only the list is the work queue: a finished task's page still opens.
        sorted_by_default = f"_oc_{self.__class__.__name__}" not in request.args
        return super()._get_list_widget(filters.get_joined_filters(self._queue_filters), today=clock.today_cst(),
                                        default_order=self.base_order if sorted_by_default else None, **kwargs)

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            status, due, days = queue_choice(request.args)
            kwargs.update(status_choices=STATUS_CHOICES, status=status, due_windows=DUE_WINDOWS, due=due, days=days,
                          max_days=DUE_SOON_MAX_DAYS, figure=statistics.figure_description(request.args))
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


class CaseApi(ReadOnlyScopedApi):
    resource_name = "case"
    datamodel = SQLAInterface(Case)
    list_columns = ["id", "case_no", "status", "deceased_name", "death_date", "region.code", "registered_at"]
    show_columns = list_columns + [
        "death_circumstance", "applicant_name", "applicant_phone", "tasks.id",
    ]
    order_columns = ["case_no", "registered_at", "death_date", "id"]


class TaskApi(ReadOnlyScopedApi):
    """SPEC's rows: ``id``, ``case_no``, ``item_code``, ``department_code``, ``status``,
    ``deadline`` (flat, by the schemas; the columns below drive the query's joins)."""

    resource_name = "task"
    datamodel = TaskInterface(Task)
    list_columns = ["id", "case.case_no", "item.code", "department.code", "status", "deadline", "version"]
    show_columns = list_columns + ["ready_at", "result_note", "payout_amount", "payout_expected_date"]
    list_model_schema = TaskRowSchema()
    show_model_schema = TaskDetailSchema()
    order_columns = ["deadline", "status", "id"]
