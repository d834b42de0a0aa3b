"""The append-only audit log. Updates and deletes are refused by database triggers
(see the migration), so neither a screen, the API nor a bug can rewrite history."""

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text

from app.models.case import utcnow


class AuditLog(Model):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id"),
        # The supervisors' audit screen: their region's rows, newest first.
        Index("ix_audit_log_region_at", "region_id", "at"),
    )

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"))
    username = Column(String(128), index=True)
    action = Column(String(48), nullable=False, index=True)
    object_type = Column(String(32))
    object_id = Column(Integer)
    case_id = Column(Integer, ForeignKey("case.id"), index=True)
    region_id = Column(Integer, ForeignKey("region.id"), index=True)
    from_state = Column(String(32))
    to_state = Column(String(32))
    reason = Column(Text)
    detail = Column(JSON)
