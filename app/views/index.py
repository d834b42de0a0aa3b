"""The landing page: who you are, what you serve, and warnings for administrators."""

from flask import g
from flask_appbuilder import IndexView, expose

from app.security.roles import ADMIN


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        from app.views.catalogue import calendar_warnings

        user = g.user
        is_admin = user.is_authenticated and any(r.name == ADMIN for r in user.roles)
        return self.render_template(
            self.index_template,
            appbuilder=self.appbuilder,
            warnings=calendar_warnings() if is_admin else [],
        )
