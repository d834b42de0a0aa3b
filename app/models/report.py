"""Reports generated in the background (a Celery task), kept so that the same report
of a closed period is served again from what was generated."""

from flask_appbuilder import Model
from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import relationship

from app.models.case import utcnow

STATISTICS = "statistics"
OVERDUE = "overdue"
KINDS = (STATISTICS, OVERDUE)

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"


class ReportJob(Model):
    """One report asked for: what (kind, format, region, period), by whom, how far
    it got, and, once done, the file itself (in the database, so that web servers
    and workers on several machines share it)."""

    __tablename__ = "report_job"
    __table_args__ = (Index("ix_report_job_lookup", "kind", "fmt", "region_id", "period_start", "period_end",
                            "status"),)

    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False)
    fmt = Column(String(8), nullable=False)
    region_id = Column(Integer, ForeignKey("region.id"), nullable=False)
    region = relationship("Region")
    period_start = Column(Date)
    period_end = Column(Date)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    user = relationship("DepartmentUser")
    # Whose figures: a fingerprint of the scope they were computed under
    # (``report_jobs.scope_key``), and the language of a CSV's headers.
    scope_key = Column(String(64))
    locale = Column(String(8))
    status = Column(String(16), nullable=False, default=QUEUED)
    progress = Column(Integer, nullable=False, default=0)  # percent
    error = Column(Text)
    filename = Column(String(128))
    content = Column(LargeBinary)
    size = Column(Integer)
    sha256 = Column(String(64))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    started_at = Column(DateTime)
    updated_at = Column(DateTime)
    finished_at = Column(DateTime)
