"""Our security manager: FAB's, with users who serve departments and the built-in
roles of ``app.security.roles``. A test checks that FAB loaded this class (FAB falls
back to its own manager silently when the import fails)."""

from flask import request
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import lazy_gettext as _l

from app.models import DepartmentUser


class DepartmentUserView(UserDBModelView):
    """FAB's user screen, plus the departments the user serves."""

    label_columns = dict(UserDBModelView.label_columns, departments=_l("Departments"))
    description_columns = dict(
        UserDBModelView.description_columns,
        departments=_l("The departments whose rows this user sees and handles"),
    )
    list_columns = ["first_name", "last_name", "username", "email", "active", "roles", "departments"]
    show_fieldsets = [
        (_l("User info"), {"fields": ["username", "active", "roles", "departments", "login_count"]}),
        *UserDBModelView.show_fieldsets[1:],
    ]
    add_columns = [
        "first_name", "last_name", "username", "active", "email", "roles", "departments",
        "password", "conf_password",
    ]
    edit_columns = ["first_name", "last_name", "username", "active", "email", "roles", "departments"]
    search_columns = ["first_name", "last_name", "username", "email", "active", "roles", "departments"]


class CaseSecurityManager(SecurityManager):
    user_model = DepartmentUser
    userdbmodelview = DepartmentUserView

    def on_user_login(self, user):
        """Every sign-in (screen or API) is an audit row."""
        super().on_user_login(user)
        self._audit_login(user, "login")

    def on_user_login_failed(self, user):
        super().on_user_login_failed(user)
        self._audit_login(user, "login_failed")

    def _audit_login(self, user, action):
        from app.domain import audit

        audit.record(self.session, user, action, obj=None, via="api" if request.path.startswith("/api/") else "screen")
        self.session.commit()
