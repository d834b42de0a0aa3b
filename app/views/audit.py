"""The audit log screen: read-only for everyone, administrators included."""

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from app.models import AuditLog
from app.views.base import ScopedModelView, business_datetime


class AuditLogView(ScopedModelView):
    datamodel = SQLAInterface(AuditLog)
    list_title = _l("Audit log")
    show_title = _l("Audit entry")
    base_permissions = ["can_list", "can_show"]
    list_columns = ["at", "username", "action", "object_type", "object_id", "from_state", "to_state", "reason"]
    show_columns = list_columns + ["case_id", "detail"]
    search_columns = ["action", "username", "at", "object_type"]
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
    formatters_columns = {"at": business_datetime}
