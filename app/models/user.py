"""FAB's user, extended with the departments the user serves."""

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, UniqueConstraint, false, true
from sqlalchemy.orm import relationship

user_department = Table(
    "ab_user_department",
    Model.metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False),
    Column("department_id", Integer, ForeignKey("department.id", ondelete="CASCADE"), nullable=False, index=True),
    UniqueConstraint("user_id", "department_id", name="uq_user_department"),
)


class DepartmentUser(User):
    """A user who serves one or more departments (a clerk may serve two)."""

    __tablename__ = "ab_user"

    departments = relationship("Department", secondary=user_department, lazy="selectin")
    # How the user wants to be told (the in-app list, and on top of it e-mail to
    # ``email`` and SMS to ``phone``).
    phone = Column(String(20))
    notify_in_app = Column(Boolean, nullable=False, default=True, server_default=true())
    notify_by_email = Column(Boolean, nullable=False, default=False, server_default=false())
    notify_by_sms = Column(Boolean, nullable=False, default=False, server_default=false())
