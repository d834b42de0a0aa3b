"""The domain's tables. Every model subclasses FAB's ``Model`` so that one metadata
(and one Alembic history) holds both our tables and FAB's security tables."""

from app.models.audit import AuditLog
from app.models.calendar import CalendarDay
from app.models.case import Case, CaseMaterial, CaseNumberSequence, Task, case_fact
from app.models.catalogue import Fact, Item, Material, Requirement, Rule
from app.models.notify import Notification, SmsMessage
from app.models.org import Department, Region
from app.models.registry import DeathCertificate
from app.models.report import ReportJob
from app.models.urging import TaskUrging
from app.models.user import DepartmentUser, user_department

__all__ = [
    "AuditLog",
    "CalendarDay",
    "Case",
    "CaseMaterial",
    "CaseNumberSequence",
    "DeathCertificate",
    "Department",
    "DepartmentUser",
    "Fact",
    "Item",
    "Material",
    "Notification",
    "Region",
    "ReportJob",
    "Requirement",
    "Rule",
    "SmsMessage",
    "Task",
    "TaskUrging",
    "case_fact",
    "user_department",
]
