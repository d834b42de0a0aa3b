"""What users read for the codes of states, circumstances and forms."""

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "registered": _l("Registered"),
    "in_progress": _l("In progress"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "waiting": _l("Waiting for materials"),
    "ready": _l("Ready"),
    "accepted": _l("Accepted"),
    "supplement_requested": _l("Supplement requested"),
    "rejected": _l("Rejected"),
}

CIRCUMSTANCE_LABELS = {
    "in_hospital": _l("Died in a medical institution"),
    "outside_hospital": _l("Died outside a medical institution"),
    "en_route": _l("Died on the way to a medical institution"),
    "unnatural": _l("Unnatural death without treatment"),
}

FORM_LABELS = {"original": _l("Original"), "scan": _l("Scan")}

REGION_LEVEL_LABELS = {"province": _l("Province"), "city": _l("City"), "county": _l("County")}

# The kinds of facts about the deceased, as the intake form groups them.
FACT_CATEGORY_LABELS = {
    "civil_affairs": _l("Civil-affairs benefits"),
    "pension": _l("Pension insurance"),
    "employment": _l("Employment"),
    "housing": _l("Housing provident fund"),
    "medical": _l("Medical insurance"),
    "disability": _l("Disability"),
    "veterans": _l("Veterans' benefits"),
    "other": _l("Other"),
}

# The role names of app/security/roles.py are FAB's permission keys and stay English;
# users read these.
ROLE_LABELS = {
    "Admin": _l("Administrator"),
    "Window": _l("Joint-handling window"),
    "Clerk": _l("Department clerk"),
    "CertIssuer": _l("Death-certificate issuer"),
    "Supervisor": _l("Supervisor"),
    "Manager": _l("Manager"),
    "Public": _l("Public (not signed in)"),
}
