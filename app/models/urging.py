"""督办: a supervisor urges a department to finish a task, with a note kept on the task."""

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from app.models.case import utcnow


class TaskUrging(Model):
    __tablename__ = "task_urging"

    id = Column(Integer, primary_key=True)
    task_id = Column(Integer, ForeignKey("task.id", ondelete="CASCADE"), nullable=False, index=True)
    task = relationship("Task")
    user_id = Column(Integer, ForeignKey("ab_user.id"))
    username = Column(String(128))
    note = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
