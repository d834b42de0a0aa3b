"""Writing the append-only audit log, in the caller's transaction."""

from app.models import AuditLog


def record(session, user, action, *, case=None, obj=None, from_state=None, to_state=None, reason=None, **detail):
    entry = AuditLog(
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", None),
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else None,
        object_id=getattr(obj, "id", None),
        case_id=case.id if case is not None else None,
        region_id=case.region_id if case is not None else None,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        detail=detail or None,
    )
    session.add(entry)
    return entry
