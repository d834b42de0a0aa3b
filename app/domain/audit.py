"""Writing the append-only audit log, in the caller's transaction."""

from app.models import AuditLog


def record(session, user, action, *, case=None, obj=None, from_state=None, to_state=None, reason=None,
           region_id=None, **detail):
    """One audit row. Its region (whose supervisors read it) is the case's, else
    ``region_id`` (a sign-in: ``user_region_id``)."""
    entry = AuditLog(
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", None),
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else None,
        object_id=getattr(obj, "id", None),
        case_id=case.id if case is not None else None,
        region_id=case.region_id if case is not None else region_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        detail=detail or None,
    )
    session.add(entry)
    return entry


def user_region_id(user):
    """The region whose supervisors see a user's sign-ins: that of the departments the
    user serves or, serving departments of several regions, the nearest region above
    them all (a county's supervisor oversees its county's clerks, the city's all of
    them). None for a user of no department (an administrator: admins see it)."""
    regions = {d.region for d in getattr(user, "departments", None) or [] if d.region is not None}
    if not regions:
        return None

    def upwards(region):
        chain = []
        while region is not None and region not in chain:
            chain.append(region)
            region = region.parent
        return chain

    chains = [upwards(region) for region in regions]
    common = set(chains[0]).intersection(*chains[1:])
    return next((region.id for region in chains[0] if region in common), None)
