"""Registers every screen and API with Flask-AppBuilder. View names stay English
(they become permission names); what users read goes through ``label``."""

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.views.audit import AuditLogView
from app.views.cases import CaseApi, CaseMaterialApi, CaseView, TaskApi, TaskView
from app.views.catalogue import (
    CalendarDayView,
    DepartmentView,
    FactView,
    ItemView,
    MaterialView,
    RegionView,
    RequirementView,
    RuleView,
)
from app.views.documents import CaseDocumentsView
from app.views.intake import IntakeView
from app.views.intake_api import CaseIntakeApi, TaskTransitionApi
from app.views.notification_api import NotificationApi
from app.views.notifications import NotificationView, OutboxView, SmsMessageView, unread_notifications
from app.views.registry import DeathCertificateApi, DeathCertificateLookupApi, DeathCertificateView
from app.views.reports import ReportsView


def register_views(appbuilder):
    handling = {"category": "Case handling", "category_label": _l("Case handling"), "category_icon": "fa-folder-open"}
    appbuilder.add_view(IntakeView, "Register a case", label=_l("Register a case"), icon="fa-plus", **handling)
    appbuilder.add_view(CaseView, "Cases", label=_l("Cases"), icon="fa-address-card", **handling)
    appbuilder.add_view(TaskView, "Tasks", label=_l("Tasks"), icon="fa-tasks", **handling)

    appbuilder.add_view(
        DeathCertificateView, "Death certificates", label=_l("Death certificates"), icon="fa-id-card",
        category="Death-certificate registry", category_label=_l("Death-certificate registry"),
        category_icon="fa-file-text",
    )

    catalogue = {"category": "Catalogue", "category_label": _l("Catalogue"), "category_icon": "fa-book"}
    appbuilder.add_view(ItemView, "Items", label=_l("Items"), icon="fa-list", **catalogue)
    appbuilder.add_view(MaterialView, "Materials", label=_l("Materials"), icon="fa-file", **catalogue)
    appbuilder.add_view(RequirementView, "Requirements", label=_l("Material requirements"), icon="fa-paperclip", **catalogue)
    appbuilder.add_view(FactView, "Facts", label=_l("Facts"), icon="fa-check-square", **catalogue)
    appbuilder.add_view(RuleView, "Rules", label=_l("Rules"), icon="fa-random", **catalogue)

    organisation = {"category": "Organisation", "category_label": _l("Organisation"), "category_icon": "fa-sitemap"}
    appbuilder.add_view(RegionView, "Regions", label=_l("Regions"), icon="fa-map", **organisation)
    appbuilder.add_view(DepartmentView, "Departments", label=_l("Departments"), icon="fa-building", **organisation)
    appbuilder.add_view(CalendarDayView, "Calendar", label=_l("Working-day calendar"), icon="fa-calendar", **organisation)

    appbuilder.add_view(
        AuditLogView, "Audit log", label=_l("Audit log"), icon="fa-history",
        category="Supervision", category_label=_l("Supervision"), category_icon="fa-eye",
    )
    # 超时督办: the work queue's overdue filter; the row filter keeps it to the region.
    appbuilder.add_link(
        "Overdue tasks", href="/taskview/list/?due=overdue", label=_l("Overdue tasks"), icon="fa-bell",
        category="Supervision",
    )

    # Everyone's inbox, with the unread count the menu's bell shows (a template global).
    appbuilder.add_view(NotificationView, "Notifications", label=_l("Notifications"), icon="fa-bell")
    current_app.add_template_global(unread_notifications, "unread_notifications")
    # The delivery log and the recorded SMS: beside the departments, whose channels they show.
    appbuilder.add_view(
        OutboxView, "Notification outbox", label=_l("Notification outbox"), icon="fa-inbox", **organisation,
    )
    appbuilder.add_view(SmsMessageView, "Recorded SMS", label=_l("Recorded SMS"), icon="fa-mobile", **organisation)

    # Managers' and supervisors' dashboard, statistics report and overdue supervision list.
    reports = {"category": "Reports", "category_label": _l("Reports"), "category_icon": "fa-bar-chart"}
    appbuilder.add_view(ReportsView, "Dashboard", label=_l("Dashboard"), icon="fa-line-chart", **reports)
    appbuilder.add_link(
        "Overdue supervision list", href="/reports/overdue.pdf", label=_l("Overdue supervision list (PDF)"),
        icon="fa-file-pdf-o", category="Reports",
    )
    appbuilder.add_link(
        "Generated reports", href="/reports/jobs/", label=_l("Generated reports"), icon="fa-tasks",
        category="Reports",
    )

    appbuilder.add_api(CaseApi)
    appbuilder.add_api(TaskApi)
    appbuilder.add_api(CaseMaterialApi)
    appbuilder.add_api(DeathCertificateApi)
    appbuilder.add_api(DeathCertificateLookupApi)
    appbuilder.add_api(CaseIntakeApi)
    appbuilder.add_api(TaskTransitionApi)
    appbuilder.add_api(NotificationApi)
    appbuilder.add_view_no_menu(CaseDocumentsView)
