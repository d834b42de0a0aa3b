"""Admin screens for the notice's reference data and the organisation."""

from urllib.parse import urlsplit

from flask import flash
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from app.domain.clock import today_cst
from app.domain.workdays import load_calendar
from app.extensions import db
from app.models import CalendarDay, Department, Fact, Item, Material, Region, Requirement, Rule
from app.models.calendar import HOLIDAY, WORKDAY
from app.security.manager import blank_to_none
from app.views.base import (
    FACT_CATEGORY_LABELS,
    FORM_LABELS,
    REGION_LEVEL_LABELS,
    ScopedModelView,
    business_date,
    label_of,
)
from app.views.registry import KIND_LABELS as CERTIFICATE_KIND_LABELS


class RequirementView(ScopedModelView):
    datamodel = SQLAInterface(Requirement)
    list_title = _l("Material requirements")
    show_title = _l("Material requirement")
    add_title = _l("Add a material requirement")
    edit_title = _l("Edit material requirement")
    list_columns = ["item", "group_no", "material", "form", "condition_fact", "note"]
    add_columns = edit_columns = ["item", "group_no", "material", "form", "condition_fact", "note"]
    label_columns = {
        "item": _l("Item"),
        "group_no": _l("Requirement group"),
        "material": _l("Material"),
        "form": _l("Form"),
        "condition_fact": _l("Only when"),
        "note": _l("Note"),
    }
    description_columns = {
        "group_no": _l("Materials of one item in the same group are alternatives (A 或 B)."),
        "form": _l("original = checked at the window; scan = shared with the department"),
        "condition_fact": _l("Leave empty when the material is always needed."),
    }
    formatters_columns = {"form": label_of(FORM_LABELS)}


class RuleView(ScopedModelView):
    datamodel = SQLAInterface(Rule)
    list_title = _l("Rules")
    show_title = _l("Rule")
    add_title = _l("Add a rule")
    edit_title = _l("Edit rule")
    list_columns = ["item", "fact", "note"]
    add_columns = edit_columns = ["item", "fact", "note"]
    label_columns = {"item": _l("Item"), "fact": _l("Fact"), "note": _l("Note")}
    description_columns = {"fact": _l("Leave empty for an item every case gets.")}


class ItemView(ScopedModelView):
    datamodel = SQLAInterface(Item)
    list_title = _l("Items")
    show_title = _l("Item details")
    add_title = _l("Add an item")
    edit_title = _l("Edit item")
    related_views = [RequirementView, RuleView]
    list_columns = ["code", "name", "department_code", "time_limit_days", "payout_days", "note"]
    add_columns = edit_columns = [
        "code", "name", "name_en", "department_code", "time_limit_days", "payout_days",
        "note", "produces_material", "sort_order",
    ]
    show_columns = add_columns
    order_columns = ["code", "department_code", "time_limit_days", "sort_order"]
    base_order = ("sort_order", "asc")
    search_columns = ["code", "name", "department_code"]
    label_columns = {
        "code": _l("Code"),
        "name": _l("Name"),
        "name_en": _l("English name"),
        "department_code": _l("Handling department code"),
        "time_limit_days": _l("Time limit (working days)"),
        "payout_days": _l("Payout (working days)"),
        "note": _l("Note"),
        "produces_material": _l("Produces material"),
        "sort_order": _l("Order"),
    }
    description_columns = {"time_limit_days": _l("0 means handled at once (即时办理).")}


class MaterialView(ScopedModelView):
    datamodel = SQLAInterface(Material)
    list_title = _l("Materials")
    show_title = _l("Material")
    add_title = _l("Add a material")
    edit_title = _l("Edit material")
    list_columns = ["code", "name", "personal", "note"]
    add_columns = edit_columns = show_columns = ["code", "name", "name_en", "personal", "note"]
    search_columns = ["code", "name"]
    label_columns = {
        "code": _l("Code"),
        "name": _l("Name"),
        "name_en": _l("English name"),
        "personal": _l("Personal data"),
        "note": _l("Note"),
    }


class FactView(ScopedModelView):
    datamodel = SQLAInterface(Fact)
    list_title = _l("Facts")
    show_title = _l("Fact")
    add_title = _l("Add a fact")
    edit_title = _l("Edit fact")
    list_columns = ["code", "name", "category"]
    add_columns = edit_columns = show_columns = ["code", "name", "name_en", "category", "sort_order"]
    base_order = ("sort_order", "asc")
    label_columns = {
        "code": _l("Code"),
        "name": _l("Name"),
        "name_en": _l("English name"),
        "category": _l("Category"),
        "sort_order": _l("Order"),
    }
    formatters_columns = {"category": label_of(FACT_CATEGORY_LABELS)}
    add_form_extra_fields = edit_form_extra_fields = {
        "category": SelectField(
            _l("Category"), choices=list(FACT_CATEGORY_LABELS.items()), validators=[DataRequired()],
            widget=Select2Widget(),
        ),
    }


class RegionView(ScopedModelView):
    datamodel = SQLAInterface(Region)
    list_title = _l("Regions")
    show_title = _l("Region")
    add_title = _l("Add a region")
    edit_title = _l("Edit region")
    list_columns = ["code", "name", "level", "parent"]
    add_columns = edit_columns = show_columns = ["code", "name", "level", "parent", "notice"]
    search_columns = ["code", "name"]
    label_columns = {
        "code": _l("Code"), "name": _l("Name"), "level": _l("Level"), "parent": _l("Parent region"),
        "notice": _l("Notice"),
    }
    description_columns = {"notice": _l("The notice that set up joint handling here, cited on the forms.")}
    formatters_columns = {"level": label_of(REGION_LEVEL_LABELS)}
    add_form_extra_fields = edit_form_extra_fields = {
        "level": SelectField(
            _l("Level"), choices=list(REGION_LEVEL_LABELS.items()), validators=[DataRequired()], widget=Select2Widget(),
        ),
    }


WEBHOOK_SECRET_MIN = 16


def webhook_url_rule(form, field):
    parts = urlsplit(field.data or "")
    if field.data and (parts.scheme not in ("http", "https") or not parts.netloc):
        raise ValidationError(_l("The webhook URL must start with http:// or https:// and name a host."))


def stored_webhook_secret(form):
    """The secret the department has now (an edit form leaves an empty secret as it is)."""
    pk = getattr(form, "_id", None)
    department = db.session.get(Department, pk) if pk is not None else None
    return department.webhook_secret if department is not None else None


def webhook_secret_rule(form, field):
    if field.data and len(field.data) < WEBHOOK_SECRET_MIN:
        raise ValidationError(_l("The webhook secret must be at least %(n)s characters long.", n=WEBHOOK_SECRET_MIN))
    if form.webhook_url.data and not field.data and not stored_webhook_secret(form):
        raise ValidationError(
            _l("A webhook needs a secret of at least %(n)s characters: its calls are signed with it.", n=WEBHOOK_SECRET_MIN)
        )


class DepartmentView(ScopedModelView):
    datamodel = SQLAInterface(Department)
    list_title = _l("Departments")
    show_title = _l("Department")
    add_title = _l("Add a department")
    edit_title = _l("Edit department")
    list_columns = ["region", "code", "name", "parent", "accepts_cases", "active"]
    add_columns = edit_columns = [
        "region", "code", "name", "parent", "accepts_cases", "certificate_kind", "active", "notify_email",
        "webhook_url", "webhook_secret",
    ]
    # The secret itself is never shown: only whether there is one.
    show_columns = add_columns
    search_columns = ["region", "code", "name"]
    label_columns = {
        "region": _l("Region"),
        "code": _l("Code"),
        "name": _l("Name"),
        "parent": _l("Unit of"),
        "accepts_cases": _l("Joint-handling window"),
        "certificate_kind": _l("Issues death proofs"),
        "active": _l("Active"),
        "notify_email": _l("Notification e-mail"),
        "webhook_url": _l("Webhook URL"),
        "webhook_secret": _l("Webhook secret"),
    }
    description_columns = {
        "notify_email": _l("The department's mailbox; every notification to the department is copied there."),
        "webhook_url": _l("The department's own system: each notification is POSTed there as signed JSON."),
        "webhook_secret": _l("At least 16 characters; signs the webhook's calls (HMAC-SHA256). "
                             "Leave empty to keep the current secret."),
    }
    formatters_columns = {
        "certificate_kind": label_of(CERTIFICATE_KIND_LABELS),
        "notify_email": lambda value: value or "",
        "webhook_url": lambda value: value or "",
        "webhook_secret": lambda value: _l("Set") if value else _l("Not set"),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        # NOT NULL booleans: FAB would require them ticked.
        "accepts_cases": BooleanField(_l("Joint-handling window")),
        # Inherited by the department's units (a hospital under 卫健, a 派出所 under 公安).
        "certificate_kind": SelectField(
            _l("Issues death proofs"), choices=[("", _l("None")), *CERTIFICATE_KIND_LABELS.items()],
            coerce=lambda value: value or None, widget=Select2Widget(),  # "" (none) is stored as NULL
        ),
        "active": BooleanField(_l("Active"), default=True),
        "notify_email": StringField(
            _l("Notification e-mail"), filters=[blank_to_none], widget=BS3TextFieldWidget(),
            validators=[Optional(), Length(max=256), Email(message=_l("Enter a valid e-mail address."))],
        ),
        "webhook_url": StringField(
            _l("Webhook URL"), filters=[blank_to_none], widget=BS3TextFieldWidget(),
            validators=[Optional(), Length(max=512), webhook_url_rule],
        ),
        "webhook_secret": PasswordField(
            _l("Webhook secret"), filters=[blank_to_none], widget=BS3PasswordFieldWidget(),
            validators=[Length(max=128), webhook_secret_rule],
        ),
    }

    def process_form(self, form, is_created):
        # An empty secret field keeps the stored secret (the form never shows it).
        if not form.webhook_secret.data:
            del form.webhook_secret


def calendar_warnings():
    """Years around today that have no calendar rows (deadlines there fall back to
    Monday–Friday), for the administrators' attention."""
    today = today_cst()
    missing = load_calendar(db.session).missing_years(today, today.replace(year=today.year + 1, day=1))
    return [
        _l("The working-day calendar has no entries for %(year)s: deadlines in %(year)s are "
           "counted Monday to Friday until its holidays and make-up working days are entered.", year=year)
        for year in missing
    ]


CALENDAR_KINDS = {HOLIDAY: _l("Holiday"), WORKDAY: _l("Make-up working day")}


class CalendarDayView(ScopedModelView):
    datamodel = SQLAInterface(CalendarDay)
    list_title = _l("Working-day calendar")
    show_title = _l("Calendar day")
    add_title = _l("Add a calendar day")
    edit_title = _l("Edit calendar day")
    list_columns = ["day", "kind", "name"]
    add_columns = edit_columns = show_columns = ["day", "kind", "name"]
    base_order = ("day", "desc")
    search_columns = ["day", "kind", "name"]
    label_columns = {"day": _l("Date"), "kind": _l("Kind"), "name": _l("Name")}
    description_columns = {"kind": _l("holiday = a day off; workday = a make-up working day (调休)")}
    formatters_columns = {"day": business_date, "kind": label_of(CALENDAR_KINDS)}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField(
            _l("Kind"), choices=list(CALENDAR_KINDS.items()), validators=[DataRequired()], widget=Select2Widget(),
        ),
    }

    def _list(self, **kwargs):
        for warning in calendar_warnings():
            flash(str(warning), "warning")
        return super()._list(**kwargs)


__all__ = [
    "CalendarDayView",
    "DepartmentView",
    "FactView",
    "ItemView",
    "MaterialView",
    "RegionView",
    "RequirementView",
    "RuleView",
    "calendar_warnings",
]
