"""The notice's catalogue: materials, items, each item's material requirements,
facts about the deceased and the rules that map facts to items. All of it is data that
admins edit in the generated screens; nothing here is evaluated as code."""

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

ORIGINAL = "original"
SCAN = "scan"
FORMS = (ORIGINAL, SCAN)


class Material(Model):
    __tablename__ = "material"

    id = Column(Integer, primary_key=True)
    code = Column(String(32), unique=True, nullable=False)
    name = Column(String(64), nullable=False)
    name_en = Column(String(128))
    # Personal data (ID numbers, bank cards, death proofs): shown only to those whose work needs it.
    personal = Column(Boolean, nullable=False, default=True)
    note = Column(Text)

    def __repr__(self):
        return self.name


class Item(Model):
    """One item of the attachment. ``department_code`` names the handling department
    in every county that adopts the list; a case's task goes to that county's department."""

    __tablename__ = "item"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), unique=True, nullable=False)
    name = Column(String(128), nullable=False)
    name_en = Column(String(256))
    department_code = Column(String(16), nullable=False, index=True)
    time_limit_days = Column(Integer, nullable=False, default=0)  # 0 = 即时办理
    payout_days = Column(Integer)  # working days until the money arrives, if a payout
    note = Column(Text)
    sort_order = Column(Integer, nullable=False, default=0)
    produces_material_id = Column(Integer, ForeignKey("material.id"))
    produces_material = relationship("Material")
    requirements = relationship(
        "Requirement", back_populates="item", cascade="all, delete-orphan",
        order_by="Requirement.group_no",
    )
    rules = relationship("Rule", back_populates="item", cascade="all, delete-orphan")

    def __repr__(self):
        return f"{self.code} {self.name}"


class Fact(Model):
    """A fact about the deceased that the window records, such as 领取最低生活保障."""

    __tablename__ = "fact"

    id = Column(Integer, primary_key=True)
    code = Column(String(48), unique=True, nullable=False)
    name = Column(String(64), nullable=False)
    name_en = Column(String(128))
    category = Column(String(32), nullable=False, default="other")
    sort_order = Column(Integer, nullable=False, default=0)

    def __repr__(self):
        return self.name


class Requirement(Model):
    """A material an item needs. Requirements of one item sharing a ``group_no`` are
    alternatives ("死亡证明 或 火化证明"); distinct groups are all needed. A requirement
    with ``condition_fact`` applies only to a deceased with that fact."""

    __tablename__ = "requirement"
    __table_args__ = (
        UniqueConstraint("item_id", "material_id", "form", name="uq_requirement_item_material_form"),
    )

    id = Column(Integer, primary_key=True)
    item_id = Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), nullable=False, index=True)
    item = relationship("Item", back_populates="requirements")
    group_no = Column(Integer, nullable=False, default=1)
    material_id = Column(Integer, ForeignKey("material.id"), nullable=False, index=True)
    material = relationship("Material")
    form = Column(String(16), nullable=False, default=SCAN)  # original | scan
    condition_fact_id = Column(Integer, ForeignKey("fact.id"))
    condition_fact = relationship("Fact")
    note = Column(Text)

    def __repr__(self):
        return f"{self.item.code if self.item else ''} {self.material.name if self.material else ''}"


class Rule(Model):
    """An item is on a case when any of its rules matches: a rule with no fact always
    matches, otherwise it matches when the case has the fact."""

    __tablename__ = "rule"
    __table_args__ = (UniqueConstraint("item_id", "fact_id", name="uq_rule_item_fact"),)

    id = Column(Integer, primary_key=True)
    item_id = Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), nullable=False, index=True)
    item = relationship("Item", back_populates="rules")
    fact_id = Column(Integer, ForeignKey("fact.id"), index=True)
    fact = relationship("Fact")
    note = Column(Text)

    def __repr__(self):
        return f"{self.item.code if self.item else ''} ← {self.fact.code if self.fact else '*'}"
