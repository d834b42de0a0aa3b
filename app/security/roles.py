"""Roles as data. Each role lists (view-menu regex, permission regex) pairs that FAB
checks as built-in roles, and a scope kind that decides which rows the role sees.

View and API names are the class names of ``app/views``; FAB's permission names are
``can_list``, ``can_show``, ``can_add``, ``can_edit``, ``can_delete`` (screens),
``can_get`` (REST reads) and ``menu_access``.
"""

ADMIN = "Admin"
WINDOW = "Window"
CLERK = "Clerk"
CERT_ISSUER = "CertIssuer"
SUPERVISOR = "Supervisor"
MANAGER = "Manager"

# Scope kinds: what part of the data a role's holder sees.
SCOPE_ALL = "all"  # everything (administrators)
SCOPE_REGION = "region"  # the subtree of the regions of the user's departments, read-only
SCOPE_DEPARTMENT = "department"  # the rows of the user's own departments

# A region-scoped role reads its region's case materials only when ``region_materials``
# says so: the notice shares scans with the window, the supervising office (督办) and the
# departments whose tasks need them; leadership reads figures, not death certificates.

# Every signed-in user may see and edit their own profile (with how to be notified),
# switch the language, and read their own in-app notifications (the row filter of
# NotificationView keeps it to their own).
_SELF_SERVICE = [
    # (the user screen is our DepartmentUserView; FAB's name is kept for its own use)
    ["^(UserDBModelView|DepartmentUserView)$", "^(can_userinfo|userinfoedit)$"],
    ["ResetMyPasswordView", "can_this_form_(get|post)"],
    ["UserInfoEditView", "can_this_form_(get|post)"],
    ["^NotificationView$", "^can_(list|show|open|unread|mark_read)$"],
    ["^NotificationApi$", "^can_(get_list|read)$"],
    ["^Notifications$", "^menu_access$"],
]

_READ_CASES = [
    ["^CaseView$", "^can_(list|show)$"],
    ["^TaskView$", "^can_(list|show)$"],
    ["^(CaseApi|TaskApi)$", "^can_get$"],
    ["^(Cases|Tasks|Case handling)$", "^menu_access$"],
    # The integration API describes itself (served by the app, no CDN).
    ["^OpenApi$", "^can_get$"],
    ["^SwaggerView$", "^can_show$"],
]

# Handling one's own department's tasks and reading the materials they need.
_HANDLE_TASKS = [
    ["^TaskTransitionApi$", "^can_transition$"],
    ["^CaseDocumentsView$", "^can_(accept|complete|reject|request_supplement|download)$"],
    ["^CaseMaterialApi$", "^can_download$"],
]

_READ_CERTIFICATES = [
    ["^DeathCertificateView$", "^can_(list|show)$"],
    ["^DeathCertificateApi$", "^can_get$"],
    ["^(Death certificates|Death-certificate registry)$", "^menu_access$"],
]

# The dashboard, the statistics report and the overdue supervision list of the region.
_REPORTS = [
    ["^ReportsView$", "^can_(dashboard|statistics|overdue|jobs|job|job_status|job_download)$"],
    ["^(Reports|Dashboard|Overdue supervision list|Generated reports)$", "^menu_access$"],
]

ROLES = {
    ADMIN: {"scope": SCOPE_ALL, "permissions": [[".*", ".*"]]},
    WINDOW: {
        "scope": SCOPE_DEPARTMENT,
        "permissions": _SELF_SERVICE
        + _READ_CASES
        + _HANDLE_TASKS
        + [
            ["^CaseView$", "^can_edit$"],
            ["^IntakeView$", "^can_intake$"],
            ["^Register a case$", "^menu_access$"],
            ["^CaseIntakeApi$", "^can_(register|add_material|registration_form|completion_notice|cancel)$"],
            ["^CaseDocumentsView$", "^can_(add_material|registration_form|completion_notice|cancel)$"],
            ["^DeathCertificateLookupApi$", "^can_lookup$"],
        ],
    },
    CLERK: {"scope": SCOPE_DEPARTMENT, "permissions": _SELF_SERVICE + _READ_CASES + _HANDLE_TASKS},
    CERT_ISSUER: {
        "scope": SCOPE_DEPARTMENT,
        "permissions": _SELF_SERVICE + _READ_CERTIFICATES + [["^DeathCertificateView$", "^can_(add|edit)$"]],
    },
    SUPERVISOR: {
        "scope": SCOPE_REGION,
        "region_materials": True,
        "permissions": _SELF_SERVICE
        + _READ_CASES
        + _READ_CERTIFICATES
        + _REPORTS
        + [
            ["^AuditLogView$", "^can_(list|show)$"],
            ["^(Audit log|Supervision|Overdue tasks)$", "^menu_access$"],
            # 督办: urging a task of the region is the supervisor's one write.
            ["^TaskView$", "^can_urge$"],
            ["^CaseDocumentsView$", "^can_(download|registration_form|completion_notice)$"],
            ["^CaseMaterialApi$", "^can_download$"],
            ["^CaseIntakeApi$", "^can_(registration_form|completion_notice)$"],
        ],
    },
    MANAGER: {"scope": SCOPE_REGION, "permissions": _SELF_SERVICE + _READ_CASES + _REPORTS},
}


def fab_roles():
    """The ``FAB_ROLES`` configuration: role name → permission pairs."""
    return {name: [list(p) for p in role["permissions"]] for name, role in ROLES.items()}


def scope_kinds(role_names):
    """The scope kinds a user with these roles has; unknown roles give nothing."""
    return {ROLES[name]["scope"] for name in role_names if name in ROLES}


def reads_region_materials(role_names):
    """Whether one of these roles reads the case materials of its region subtree."""
    return any(ROLES[name].get("region_materials", False) for name in role_names if name in ROLES)
