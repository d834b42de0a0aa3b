"""Cases (one per deceased), their tasks (one per item) and their materials."""

import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.orm import relationship

# Case states (SPEC "One chain").
CASE_REGISTERED = "registered"
CASE_IN_PROGRESS = "in_progress"
CASE_COMPLETED = "completed"
CASE_CANCELLED = "cancelled"
CASE_STATES = (CASE_REGISTERED, CASE_IN_PROGRESS, CASE_COMPLETED, CASE_CANCELLED)

# Task states.
WAITING = "waiting"
READY = "ready"
ACCEPTED = "accepted"
SUPPLEMENT_REQUESTED = "supplement_requested"
COMPLETED = "completed"
REJECTED = "rejected"
TASK_STATES = (WAITING, READY, ACCEPTED, SUPPLEMENT_REQUESTED, COMPLETED, REJECTED)
OPEN_TASK_STATES = (WAITING, READY, ACCEPTED, SUPPLEMENT_REQUESTED)
_OPEN_STATES_SQL = "status IN ('waiting', 'ready', 'accepted', 'supplement_requested')"

CIRCUMSTANCES = ("in_hospital", "outside_hospital", "en_route", "unnatural")


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


case_fact = Table(
    "case_fact",
    Model.metadata,
    Column("case_id", Integer, ForeignKey("case.id", ondelete="CASCADE"), primary_key=True),
    Column("fact_id", Integer, ForeignKey("fact.id"), primary_key=True),
)


class Case(Model):
    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_region_registered", "region_id", "registered_at"),
        Index("ix_case_status_registered", "status", "registered_at"),
        Index("ix_case_registered_at", "registered_at"),
        Index("ix_case_death_date", "death_date"),
        # The window's view of its cases' tasks reads the case ids of a window from the
        # index alone.
        Index("ix_case_department_id_id", "department_id", "id"),
        # One open case per deceased: a second registration is refused (also under a race).
        Index(
            "uq_case_open_deceased", "deceased_id_number", unique=True,
            sqlite_where=text("status IN ('registered', 'in_progress')"),
            postgresql_where=text("status IN ('registered', 'in_progress')"),
        ),
    )

    id = Column(Integer, primary_key=True)
    case_no = Column(String(32), unique=True, nullable=False)
    region_id = Column(Integer, ForeignKey("region.id"), nullable=False)
    region = relationship("Region")
    # The department that took the application: the funeral home's window.
    department_id = Column(Integer, ForeignKey("department.id"), nullable=False, index=True)
    department = relationship("Department")
    status = Column(String(16), nullable=False, default=CASE_REGISTERED)

    deceased_name = Column(String(64), nullable=False, index=True)
    deceased_id_number = Column(String(18), nullable=False, index=True)
    deceased_gender = Column(String(8))
    hukou_local = Column(Boolean, nullable=False, default=True)
    hukou_address = Column(String(256))
    death_date = Column(Date, nullable=False)
    death_circumstance = Column(String(32), nullable=False)
    death_certificate_no = Column(String(64))
    # Set when the death proof was found in the registry and agrees with the case.
    death_certificate_id = Column(Integer, ForeignKey("death_certificate.id", name="fk_case_death_certificate"))
    death_certificate = relationship("DeathCertificate")
    # The registry holds a death proof for this deceased that the case contradicts, and
    # the clerk registered the case after seeing the differences.
    registry_differences_accepted = Column(Boolean, nullable=False, default=False, server_default=false())

    applicant_name = Column(String(64), nullable=False)
    applicant_id_number = Column(String(18), nullable=False)
    applicant_phone = Column(String(20), nullable=False)
    applicant_relationship = Column(String(32))

    registered_at = Column(DateTime, nullable=False, default=utcnow)
    registered_by_id = Column(Integer, ForeignKey("ab_user.id"))
    registered_by = relationship("DepartmentUser", foreign_keys=[registered_by_id])
    completed_at = Column(DateTime)
    cancel_reason = Column(Text)
    cancelled_at = Column(DateTime)

    facts = relationship("Fact", secondary=case_fact)
    tasks = relationship("Task", back_populates="case", order_by="Task.id")
    materials = relationship("CaseMaterial", back_populates="case", order_by="CaseMaterial.id")

    def __repr__(self):
        return self.case_no


class Task(Model):
    """One item of one case, handled by one department."""

    __tablename__ = "task"
    __table_args__ = (
        # The department work queue: its tasks by state, ordered by deadline.
        Index("ix_task_department_status_deadline", "department_id", "status", "deadline"),
        Index("ix_task_department_deadline", "department_id", "deadline"),
        # The work queue lists open tasks only: most of a department's tasks are finished
        # and their deadlines are the older ones, so a partial index lets the page stop at 25.
        Index(
            "ix_task_open_department_deadline", "department_id", "deadline",
            sqlite_where=text(_OPEN_STATES_SQL), postgresql_where=text(_OPEN_STATES_SQL),
        ),
        Index("ix_task_status_deadline", "status", "deadline"),
        Index("ix_task_deadline", "deadline"),  # everyone's default order
        # A case's tasks, and "has this case a task of my department" (the clerk's case list).
        Index("ix_task_case_department", "case_id", "department_id"),
    )

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id", ondelete="CASCADE"), nullable=False)
    # The work queue shows each task with its case: load them together.
    case = relationship("Case", back_populates="tasks", lazy="joined", innerjoin=True)
    item_id = Column(Integer, ForeignKey("item.id"), nullable=False, index=True)
    item = relationship("Item")
    department_id = Column(Integer, ForeignKey("department.id"), nullable=False)
    department = relationship("Department")
    status = Column(String(24), nullable=False, default=WAITING)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    ready_at = Column(DateTime, index=True)  # departments' systems poll for tasks ready since
    deadline = Column(Date)
    accepted_at = Column(DateTime)
    finished_at = Column(DateTime, index=True)  # reports count what finished in a period
    result_note = Column(Text)
    payout_amount = Column(Numeric(12, 2))
    payout_expected_date = Column(Date)
    # A supplement request (补正) stops the clock: when it stopped, the working days that
    # were left until the deadline, what the department asked for and the material codes
    # (space-separated) still outstanding. Cleared when the last of them arrives.
    supplement_requested_at = Column(DateTime)
    supplement_days_left = Column(Integer)
    supplement_note = Column(Text)
    supplement_materials = Column(String(256))
    version = Column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    def working_days_left(self, calendar, today):
        return working_days_left(self.status, self.deadline, self.supplement_days_left, calendar, today)

    def is_overdue(self, today):
        return is_overdue(self.status, self.deadline, today)

    def __repr__(self):
        return f"{self.case.case_no if self.case else ''} {self.item.code if self.item else ''}"


def working_days_left(status, deadline, supplement_days_left, calendar, today):
    """A task's working days until its deadline, negative once it has passed; while a
    supplement is awaited the clock stands at what was left when it stopped. None for
    a task without a running limit (waiting, finished)."""
    if status == SUPPLEMENT_REQUESTED:
        return supplement_days_left
    if status not in (READY, ACCEPTED) or deadline is None:
        return None
    return calendar.working_days_between(today, deadline)


def is_overdue(status, deadline, today):
    return status in (READY, ACCEPTED) and deadline is not None and deadline < today


class CaseMaterial(Model):
    """A material collected once for a case: an original checked at the window and/or
    a scan stored outside any served folder."""

    __tablename__ = "case_material"

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id", ondelete="CASCADE"), nullable=False, index=True)
    case = relationship("Case", back_populates="materials")
    material_id = Column(Integer, ForeignKey("material.id"), nullable=False, index=True)
    material = relationship("Material")
    original_checked = Column(Boolean, nullable=False, default=False)
    stored_name = Column(String(64))
    original_filename = Column(String(256))
    content_type = Column(String(64))
    size = Column(Integer)
    sha256 = Column(String(64))
    added_at = Column(DateTime, nullable=False, default=utcnow)
    added_by_id = Column(Integer, ForeignKey("ab_user.id"))


class CaseNumberSequence(Model):
    """The last case number given per region and year. Allocation locks this row, so two
    clerks saving at the same moment get distinct numbers."""

    __tablename__ = "case_number_sequence"

    region_id = Column(Integer, ForeignKey("region.id"), primary_key=True)
    year = Column(Integer, primary_key=True, autoincrement=False)
    last_number = Column(Integer, nullable=False, default=0)
