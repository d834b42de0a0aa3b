"""The death-certificate registry: proofs registered by their issuers (卫健's medical
institutions, or 公安 for an unnatural death), which the window looks up."""

from flask_appbuilder import Model
from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from app.models.case import utcnow

MEDICAL = "medical"  # 死亡医学证明
UNNATURAL = "unnatural"  # 非正常死亡证明 (公安)


class DeathCertificate(Model):
    __tablename__ = "death_certificate"

    id = Column(Integer, primary_key=True)
    number = Column(String(64), unique=True, nullable=False)
    kind = Column(String(16), nullable=False, default=MEDICAL)
    deceased_name = Column(String(64), nullable=False, index=True)
    deceased_id_number = Column(String(18), nullable=False, index=True)
    death_date = Column(Date, nullable=False)
    death_circumstance = Column(String(32), nullable=False)
    # The issuing department (a medical institution of 卫健, or 公安).
    department_id = Column(Integer, ForeignKey("department.id"), nullable=False, index=True)
    department = relationship("Department")
    issued_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    note = Column(Text)

    def __repr__(self):
        return self.number
