"""Delivering outbox rows, once each.

A worker claims a row (``pending`` → ``sending``, one conditional UPDATE: of two
workers handed the same row, one wins), sends it, and records it ``sent``. Each of
those is a short transaction of its own, and none is open while the message travels:
on SQLite a transaction holds the database's write lock (``BEGIN IMMEDIATE``), so a
webhook answering slowly would otherwise hold up every clerk's request. In-app rows
and recorded SMS have nothing to send and are recorded in the transaction that reads
them.

A failure puts the row back to ``pending`` with the next attempt after an
exponentially growing delay, and after ``NOTIFY_MAX_ATTEMPTS`` (at once for a
permanent refusal) leaves it ``failed`` for an admin to retry. A worker that dies
while sending leaves its claim; after ``NOTIFY_LEASE_SECONDS`` the sweep takes it back
and the row is sent again, with the same key (see channels).
"""

import datetime
import logging

from flask import current_app
from sqlalchemy import or_, select, update

from app.extensions import db
from app.models.case import utcnow
from app.models.notify import FAILED, PENDING, SENDING, SENT, Notification
from app.notify import channels, outbox
from app.notify.channels import DeliveryError, PermanentDeliveryError

log = logging.getLogger(__name__)

SWEEP_BATCH = 500
# A row younger than this is left to the dispatch of its own commit.
SWEEP_GRACE = datetime.timedelta(seconds=2)


def retry_delay(attempts):
    """Seconds before attempt ``attempts + 1``: the base, doubled at each attempt."""
    return current_app.config["NOTIFY_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0)


def claim(session, notification_id, now):
    """Take the row if it is due (in the caller's transaction); whether this worker won it."""
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == PENDING,
               or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now))
        .values(status=SENDING, claimed_at=now, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _status(session, notification_id):
    status = session.execute(select(Notification.status).where(Notification.id == notification_id)).scalar()
    session.rollback()
    return status


def _record_sent(session, notification_id):
    session.execute(
        update(Notification).where(Notification.id == notification_id)
        .values(status=SENT, sent_at=utcnow(), last_error=None)
        .execution_options(synchronize_session=False)
    )


def deliver_one(notification_id, now=None):
    """Deliver one notification if it is due; returns its state afterwards (None when
    there is no such row).

    One transaction claims the row and reads what its channel needs; an in-app row or
    a recorded SMS is recorded sent in it too. Otherwise the claim is committed, the
    message travels with no transaction open, and a second one records it."""
    session = db.session
    now = now or utcnow()
    if not claim(session, notification_id, now):
        return _status(session, notification_id)
    try:
        notification = session.get(Notification, notification_id)
        outgoing = channels.prepare(notification)
        if not channels.travels_outside(notification.channel):
            outgoing.record(session)
            _record_sent(session, notification_id)
            session.commit()
            return SENT
    except Exception as exc:  # noqa: BLE001 (any failure of a channel is retried, then recorded)
        session.rollback()  # the claim with it: take the row again to count the attempt
        if not claim(session, notification_id, now):
            return _status(session, notification_id)
        session.commit()
        return _failed(session, notification_id, exc)
    session.commit()  # the claim, before the message travels
    try:
        outgoing.send()
    except Exception as exc:  # noqa: BLE001
        return _failed(session, notification_id, exc)
    try:
        outgoing.record(session)
        _record_sent(session, notification_id)
        session.commit()
    except Exception:  # noqa: BLE001
        # Sent but not recorded: the claim stays, and after the lease the sweep sends
        # it again with the same key (at least once).
        session.rollback()
        log.exception("Notification %s was sent but could not be recorded", notification_id)
        return SENDING
    return SENT


def _failed(session, notification_id, exc):
    notification = session.get(Notification, notification_id)
    error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    notification.last_error = error[:2000]
    if isinstance(exc, PermanentDeliveryError) or notification.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"]:
        notification.status = FAILED
        notification.next_attempt_at = None
        session.commit()
        log.warning("Notification %s failed for good after %s attempt(s): %s", notification_id,
                    notification.attempts, error)
        return FAILED
    delay = retry_delay(notification.attempts)
    notification.status = PENDING
    notification.next_attempt_at = utcnow() + datetime.timedelta(seconds=delay)
    session.commit()
    log.info("Notification %s: attempt %s failed (%s); next in %.1f s", notification_id, notification.attempts,
             error, delay)
    _queue_retry(notification_id, delay)
    return PENDING


def _queue_retry(notification_id, delay):
    celery = current_app.extensions.get("celery")
    try:
        celery.send_task("app.notify.tasks.deliver", args=([notification_id],), countdown=delay, retry=False)
    except Exception as exc:  # noqa: BLE001 (the sweep will find the row when it is due)
        log.warning("Could not queue the retry of notification %s (%s)", notification_id, exc)


def sweep(now=None):
    """Take back deliveries whose worker died, and queue every due pending row.
    Returns how many rows were queued."""
    session = db.session
    now = now or utcnow()
    lease = datetime.timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    taken_back = session.execute(
        update(Notification)
        .where(Notification.status == SENDING, Notification.claimed_at < now - lease)
        .values(status=PENDING, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if taken_back:
        log.warning("Took back %s notification(s) from a worker that stopped while sending", taken_back)
    rows = session.execute(
        select(Notification.id, Notification.channel)
        .where(Notification.status == PENDING,
               or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
               Notification.created_at <= now - SWEEP_GRACE)
        .order_by(Notification.id)
        .limit(SWEEP_BATCH)
    ).all()
    session.rollback()
    return outbox.dispatch(rows)


def retry_failed(session, ids):
    """An admin's retry: failed rows start again from their first attempt. Returns
    the rows retried, as ``(id, channel)`` for ``outbox.dispatch`` once committed."""
    rows = session.execute(select(Notification).where(Notification.id.in_(ids), Notification.status == FAILED))
    retried = []
    for notification in rows.scalars():
        notification.status = PENDING
        notification.attempts = 0
        notification.next_attempt_at = None
        notification.claimed_at = None
        retried.append(outbox.Queued(notification.id, notification.channel))
    return retried
