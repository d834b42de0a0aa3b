"""Regions (行政区划) and departments."""

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship


class Region(Model):
    """A node of the administrative tree: 江西省 › 上饶市 › 横峰县."""

    __tablename__ = "region"

    id = Column(Integer, primary_key=True)
    code = Column(String(12), unique=True, nullable=False)
    name = Column(String(64), nullable=False)
    level = Column(String(16), nullable=False, default="county")  # province, city, county
    parent_id = Column(Integer, ForeignKey("region.id"), index=True)
    parent = relationship("Region", remote_side=[id], backref="children")
    # The notice that set up joint handling here, cited on the region's forms.
    notice = Column(String(256))

    def __repr__(self):
        return self.name


class Department(Model):
    """A government department (or a unit of one) of one region."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("region_id", "code", name="uq_department_region_code"),)

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, index=True)
    name = Column(String(128), nullable=False)
    region_id = Column(Integer, ForeignKey("region.id"), nullable=False, index=True)
    region = relationship("Region", backref="departments")
    parent_id = Column(Integer, ForeignKey("department.id"), index=True)
    parent = relationship("Department", remote_side=[id], backref="units")
    # The joint-handling window (殡仪馆联办窗口) takes applications and registers cases.
    accepts_cases = Column(Boolean, nullable=False, default=False)
    # The death proof the department (and its units) issues: "medical" (卫健's
    # 死亡医学证明) or "unnatural" (公安's 非正常死亡证明); empty: none.
    certificate_kind = Column(String(16))
    active = Column(Boolean, nullable=False, default=True)
    # Notifications (the clerks get theirs in the app and by their own channels):
    # the department's mailbox, and its own system's webhook, signed with the secret.
    notify_email = Column(String(256))
    webhook_url = Column(String(512))
    webhook_secret = Column(String(128))

    def __repr__(self):
        return f"{self.region.name if self.region else ''}{self.name}"
