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
