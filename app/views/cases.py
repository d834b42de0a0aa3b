"""Cases and tasks: screens and REST reads, scoped by the one row filter."""

from flask_appbuilder import expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import Case, Task
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


class TaskView(ScopedModelView):
    datamodel = SQLAInterface(Task)
    list_title = _l("Tasks")
    show_title = _l("Task details")
    base_permissions = ["can_list", "can_show"]
    list_columns = ["case.case_no", "item", "case.deceased_name", "department", "status", "deadline"]
    show_columns = ["case", "item", "department", "status", "ready_at", "deadline", "result_note"]
    search_columns = ["status", "deadline", "item"]
    order_columns = ["deadline", "status"]
    base_order = ("deadline", "asc")
    label_columns = TASK_LABELS
    formatters_columns = {
        "status": label_of(STATUS_LABELS),
        "deadline": business_date,
        "ready_at": business_datetime,
    }


class CaseView(ScopedModelView):
    datamodel = SQLAInterface(Case)
    list_title = _l("Cases")
    show_title = _l("Case details")
    add_title = _l("Register a case")
    edit_title = _l("Edit case")
    # Cases are registered through the intake screen (IntakeView), not a generic form.
    base_permissions = ["can_list", "can_show", "can_edit"]
    list_columns = ["case_no", "deceased_name", "death_date", "status", "region", "registered_at"]
    show_columns = [
        "case_no", "region", "department", "status", "deceased_name", "deceased_id_number",
        "deceased_gender", "hukou_local", "hukou_address", "death_date", "death_circumstance",
        "death_certificate_no", "facts", "applicant_name", "applicant_id_number", "applicant_phone",
        "applicant_relationship", "registered_at",
    ]
    edit_columns = [
        "deceased_gender", "hukou_address", "death_certificate_no",
        "applicant_name", "applicant_phone", "applicant_relationship",
    ]
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
    resource_name = "task"
    datamodel = SQLAInterface(Task)
    list_columns = ["id", "case.case_no", "item.code", "department.code", "status", "deadline"]
    show_columns = list_columns + ["ready_at", "result_note", "version"]
    order_columns = ["deadline", "status", "id"]
