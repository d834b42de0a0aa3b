"""The notifier's tables: the outbox (one row per notification, channel and
recipient, written in the transaction of the change that causes it) and the SMS
messages recorded by the default gateway."""

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from app.models.case import utcnow

# Events (SPEC.md "Notifications").
TASK_READY = "task_ready"
SUPPLEMENT_REQUESTED = "supplement_requested"
TASK_COMPLETED = "task_completed"
TASK_REJECTED = "task_rejected"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
TASK_URGED = "task_urged"
CASE_COMPLETED = "case_completed"
DAILY_DIGEST = "daily_digest"
TASK_CANCELLED = "task_cancelled"  # the window cancelled the case: the task is closed
EVENTS = (TASK_READY, SUPPLEMENT_REQUESTED, TASK_COMPLETED, TASK_REJECTED, DUE_SOON, OVERDUE, TASK_URGED,
          CASE_COMPLETED, DAILY_DIGEST, TASK_CANCELLED)

# Channels.
IN_APP = "in_app"
EMAIL = "email"
SMS = "sms"
WEBHOOK = "webhook"
CHANNELS = (IN_APP, EMAIL, SMS, WEBHOOK)

# Delivery states: pending → sending (claimed by a worker) → sent | pending again
# (a retry, at next_attempt_at) | failed (attempts used up; an admin may retry).
PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"


class Notification(Model):
    """One notification on one channel to one recipient. ``key`` is its idempotency
    key: unique, so the same reminder is never written twice, and sent with the
    message (webhook header, e-mail Message-ID, SMS request id) so that a receiver
    can drop a repeat after a worker died between sending and recording it."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_inbox", "user_id", "channel", "status", "read_at"),
        Index("ix_notification_user_created", "user_id", "created_at"),  # a user's inbox, newest first
        # The administrators' outbox screen: by time, department and address.
        Index("ix_notification_created_at", "created_at"),
        Index("ix_notification_department", "department_id"),
        Index("ix_notification_address", "address"),
        # The admin's outbox filters by kind and channel.
        Index("ix_notification_event", "event"),
        Index("ix_notification_channel", "channel"),
    )

    id = Column(Integer, primary_key=True)
    key = Column(String(200), nullable=False, unique=True)
    event = Column(String(32), nullable=False)
    channel = Column(String(16), nullable=False)
    # The recipient: a user (in-app, e-mail, SMS to a clerk), a department (its
    # mailbox, its webhook) or, for the family, only the address (a phone number).
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"))
    user = relationship("DepartmentUser")
    department_id = Column(Integer, ForeignKey("department.id"))
    department = relationship("Department")
    address = Column(String(512))
    case_id = Column(Integer, ForeignKey("case.id", ondelete="CASCADE"), index=True)
    case = relationship("Case")
    task_id = Column(Integer, ForeignKey("task.id", ondelete="CASCADE"), index=True)
    task = relationship("Task")
    params = Column(Text, nullable=False, default="{}")  # JSON: what the message says
    status = Column(String(16), nullable=False, default=PENDING)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime)
    claimed_at = Column(DateTime)
    last_error = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime)
    read_at = Column(DateTime)

    def __repr__(self):
        return f"{self.event}/{self.channel}#{self.id}"


class SmsMessage(Model):
    """An SMS as the default gateway records it (no SMS provider configured)."""

    __tablename__ = "sms_message"

    id = Column(Integer, primary_key=True)
    key = Column(String(200), nullable=False, unique=True)
    phone = Column(String(20), nullable=False, index=True)
    template = Column(String(64))
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
