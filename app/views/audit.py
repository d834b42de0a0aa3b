"""The audit log screen: read-only for everyone, administrators included. Codes are
shown as what they mean (an action, the kind of object, a state), an empty cell as
nothing."""

from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterNotEqual, SQLAFilterConverter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from app.domain.labels import STATUS_LABELS
from app.models import AuditLog
from app.views.base import ScopedModelView, business_datetime

ACTION_LABELS = {
    "login": _l("Signed in"),
    "login_failed": _l("Failed to sign in"),
    "case_registered": _l("Registered the case"),
    "case_cancelled": _l("Cancelled the case"),
    "case_in_progress": _l("The case went into handling"),
    "case_completed": _l("Every item finished: the case completed"),
    "case_edited": _l("Corrected the case's contact details"),
    "registry_differences_accepted": _l("Registered despite differences from the death proof"),
    "material_added": _l("Added a material"),
    "material_downloaded": _l("Downloaded a material"),
    "registration_form_printed": _l("Printed the registration form"),
    "completion_notice_printed": _l("Printed the completion notice"),
    "death_certificate_lookup": _l("Looked up a death proof"),
    "task_ready": _l("Task became ready"),
    "task_accepted": _l("Accepted the task"),
    "task_completed": _l("Completed the task"),
    "task_rejected": _l("Rejected the task"),
    "task_closed_by_cancellation": _l("Closed the task with its case"),
    "supplement_requested": _l("Requested a supplement"),
    "supplement_received": _l("Supplement received"),
    "task_urged": _l("Urged the task"),
}

# ``object_type`` is the model's class name, lower-cased (app/domain/audit.py).
OBJECT_LABELS = {
    "case": _l("Case"),
    "task": _l("Task"),
    "casematerial": _l("Case material"),
    "deathcertificate": _l("Death proof"),
    "taskurging": _l("Urging"),
}


def label_or_blank(labels):
    """The label of a code; an unknown code as it is; nothing for none."""
    return lambda value: labels.get(value, value) if value is not None else ""


def blank(value):
    return "" if value is None else value


# The coded columns are searched by choosing what they mean, never by typing a code.
CODED_COLUMNS = {"action": ACTION_LABELS, "object_type": OBJECT_LABELS}


class AuditFilterConverter(SQLAFilterConverter):
    """A coded column is searched for one code (is / is not): "starts with" 登录 would
    also find the failed sign-ins."""

    def convert(self, col_name):
        if col_name in CODED_COLUMNS:
            return [flt(col_name, self.datamodel) for flt in (FilterEqual, FilterNotEqual)]
        return super().convert(col_name)


class AuditInterface(SQLAInterface):
    filter_converter_class = AuditFilterConverter


def coded_choice(label, labels):
    return SelectField(label, choices=list(labels.items()), widget=Select2Widget())


class AuditLogView(ScopedModelView):
    datamodel = AuditInterface(AuditLog)
    list_title = _l("Audit log")
    show_title = _l("Audit entry")
    base_permissions = ["can_list", "can_show"]
    list_columns = ["at", "username", "action", "object_type", "object_id", "from_state", "to_state", "reason"]
    show_columns = list_columns + ["case_id", "detail"]
    search_columns = ["action", "username", "at", "object_type"]
    order_columns = ["at"]  # what is indexed of a table that grows with every action
    base_order = ("at", "desc")
    label_columns = {
        "at": _l("Time"),
        "username": _l("User"),
        "action": _l("Action"),
        "object_type": _l("Object"),
        "object_id": _l("Object id"),
        "case_id": _l("Case"),
        "from_state": _l("From"),
        "to_state": _l("To"),
        "reason": _l("Reason"),
        "detail": _l("Detail"),
    }
    search_form_extra_fields = {
        "action": coded_choice(_l("Action"), ACTION_LABELS),
        "object_type": coded_choice(_l("Object"), OBJECT_LABELS),
    }
    formatters_columns = {
        "at": business_datetime,
        "username": blank,
        "action": label_or_blank(ACTION_LABELS),
        "object_type": label_or_blank(OBJECT_LABELS),
        "object_id": blank,
        "case_id": blank,
        "from_state": label_or_blank(STATUS_LABELS),
        "to_state": label_or_blank(STATUS_LABELS),
        "reason": blank,
        "detail": blank,
    }
