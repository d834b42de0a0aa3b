"""Our security manager: FAB's, with users who serve departments and the built-in
roles of ``app.security.roles``. A test checks that FAB loaded this class (FAB falls
back to its own manager silently when the import fails)."""

from flask import g, request
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.security.forms import UserInfoEdit
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import RoleModelView, UserDBModelView, UserInfoEditView
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, StringField
from wtforms.validators import Optional, Regexp, ValidationError

from app.domain.labels import ROLE_LABELS
from app.models import DepartmentUser

# How a user is told of their tasks (see app/notify/outbox.py).
NOTIFY_FIELDS = ["phone", "notify_in_app", "notify_by_email", "notify_by_sms"]
NOTIFY_LABELS = {
    "phone": _l("Mobile"),
    "notify_in_app": _l("Notify in the app"),
    "notify_by_email": _l("Notify by e-mail"),
    "notify_by_sms": _l("Notify by SMS"),
}
NOTIFY_DESCRIPTIONS = {
    "phone": _l("A mainland mobile number (11 digits), for SMS notifications"),
    "notify_by_email": _l("Sent to the e-mail address of the account"),
    "notify_by_sms": _l("Sent to the mobile number above"),
}
MOBILE = Regexp(r"^1[3-9]\d{9}$", message=_l("Enter a mainland mobile number: 11 digits starting with 13 to 19."))


def blank_to_none(value):
    value = value.strip() if isinstance(value, str) else value
    return value or None


def role_label(name):
    """A role as administrators read it: 联办窗口（Window）. The English name is FAB's key."""
    label = ROLE_LABELS.get(name)
    return f"{label}（{name}）" if label else name


def role_labels(roles):
    return "、".join(role_label(role.name) for role in roles or ())


def department_names(departments):
    return "、".join(str(department) for department in departments or ())


def needs_email(form, field):
    email = form.email.data if "email" in form else getattr(g.user, "email", None)
    if field.data and not email:
        raise ValidationError(_l("E-mail notifications need an e-mail address on the account."))


def needs_phone(form, field):
    if field.data and not form.phone.data:
        raise ValidationError(_l("SMS notifications need a mobile number."))


def notify_fields():
    """The form fields of a user's channels (FAB would make the switches required:
    their columns are NOT NULL, and an unticked box sends nothing)."""
    return {
        "phone": StringField(
            NOTIFY_LABELS["phone"], filters=[blank_to_none], validators=[Optional(), MOBILE],
            widget=BS3TextFieldWidget(), description=NOTIFY_DESCRIPTIONS["phone"],
        ),
        "notify_in_app": BooleanField(NOTIFY_LABELS["notify_in_app"]),
        "notify_by_email": BooleanField(
            NOTIFY_LABELS["notify_by_email"], validators=[needs_email],
            description=NOTIFY_DESCRIPTIONS["notify_by_email"],
        ),
        "notify_by_sms": BooleanField(
            NOTIFY_LABELS["notify_by_sms"], validators=[needs_phone], description=NOTIFY_DESCRIPTIONS["notify_by_sms"],
        ),
    }


class DepartmentUserView(UserDBModelView):
    """FAB's user screen, plus the departments the user serves and how they are notified."""

    label_columns = dict(UserDBModelView.label_columns, departments=_l("Departments"), **NOTIFY_LABELS)
    description_columns = dict(
        UserDBModelView.description_columns,
        departments=_l("The departments whose rows this user sees and handles"),
        **NOTIFY_DESCRIPTIONS,
    )
    list_columns = ["first_name", "last_name", "username", "email", "active", "roles", "departments"]
    show_fieldsets = [
        (_l("User info"), {"fields": ["username", "active", "roles", "departments", "login_count"]}),
        *UserDBModelView.show_fieldsets[1:2],
        (_l("Notifications"), {"fields": NOTIFY_FIELDS, "expanded": True}),
        *UserDBModelView.show_fieldsets[2:],
    ]
    add_columns = [
        "first_name", "last_name", "username", "active", "email", "roles", "departments",
        "password", "conf_password", *NOTIFY_FIELDS,
    ]
    edit_columns = ["first_name", "last_name", "username", "active", "email", "roles", "departments", *NOTIFY_FIELDS]
    search_columns = ["first_name", "last_name", "username", "email", "active", "roles", "departments"]
    user_show_fieldsets = [
        *UserDBModelView.user_show_fieldsets,
        (_l("Notifications"), {"fields": NOTIFY_FIELDS, "expanded": True}),
    ]
    formatters_columns = {
        "phone": lambda value: value or "",
        "roles": role_labels,
        "departments": department_names,
        "active": lambda value: _l("Yes") if value else _l("No"),
        **{name: lambda value: _l("Yes") if value else _l("No") for name in NOTIFY_FIELDS[1:]},
    }
    add_form_extra_fields = dict(UserDBModelView.add_form_extra_fields or {}, **notify_fields())
    edit_form_extra_fields = dict(UserDBModelView.edit_form_extra_fields or {}, **notify_fields())


class RoleView(RoleModelView):
    """FAB's role screen, with each role's name in Chinese beside FAB's key."""

    formatters_columns = {"name": role_label}


class NotifyUserInfoEdit(UserInfoEdit):
    """The self-service profile form: FAB's, plus the user's own notification channels."""

    phone, notify_in_app, notify_by_email, notify_by_sms = (notify_fields()[name] for name in NOTIFY_FIELDS)


class NotifyUserInfoEditView(UserInfoEditView):
    form = NotifyUserInfoEdit
    # The permission every role's self-service already grants (app/security/roles.py).
    class_permission_name = "UserInfoEditView"


# The signed-in user with what every permission check and row filter reads of them: the
# roles, groups and departments, in one statement (the departments' own, then a lazy load
# each of the roles and groups, would be four). Built once: SQLAlchemy keys its compiled
# form by the statement, and works that key out once per statement object (a new one
# each request, as ``Session.get`` builds, cost more than its own SQL).
USER_WITH_ACCESS = (
    select(DepartmentUser)
    .options(joinedload(DepartmentUser.roles), joinedload(DepartmentUser.groups),
             joinedload(DepartmentUser.departments))
    .where(DepartmentUser.id == bindparam("pk"))
)


class CaseSecurityManager(SecurityManager):
    user_model = DepartmentUser
    userdbmodelview = DepartmentUserView
    rolemodelview = RoleView
    userinfoeditview = NotifyUserInfoEditView

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        self._builtin_access = {}  # (built-in role names, permission, view) → allowed

    def get_user_by_id(self, pk):
        """The signed-in user of each request (screen or API), by id, with their roles,
        groups and departments (``USER_WITH_ACCESS``); None for no such user."""
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            return None
        return self.session.execute(USER_WITH_ACCESS, {"pk": pk}).unique().scalar_one_or_none()

    def _has_view_access(self, user, permission_name, view_name):
        """FAB's check, remembered for users whose roles are all built in (``FAB_ROLES``,
        fixed at start): FAB matches the roles' patterns again on every check, some
        fifteen times a page for the menu. Roles kept in the database are asked as FAB
        does."""
        roles = self.get_user_roles(user)
        if not all(role.name in self.builtin_roles for role in roles):
            return super()._has_view_access(user, permission_name, view_name)
        key = (frozenset(role.name for role in roles), permission_name, view_name)
        allowed = self._builtin_access.get(key)
        if allowed is None:
            allowed = self._builtin_access[key] = super()._has_view_access(user, permission_name, view_name)
        return allowed

    def on_user_login(self, user):
        """Every sign-in (screen or API) is an audit row."""
        super().on_user_login(user)
        self._audit_login(user, "login")

    def on_user_login_failed(self, user):
        super().on_user_login_failed(user)
        self._audit_login(user, "login_failed")

    def _audit_login(self, user, action):
        from app.domain import audit

        audit.record(self.session, user, action, obj=None, region_id=audit.user_region_id(user),
                     via="api" if request.path.startswith("/api/") else "screen")
        self.session.commit()
