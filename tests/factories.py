"""Building cases in tests the way the window does: through the domain."""

import datetime
import itertools

from sqlalchemy import delete

from app.domain import chain
from app.domain.cases import register_case
from app.domain.identity import make_id_number
from app.extensions import db
from app.models import Case, CaseNumberSequence, DepartmentUser, Fact, Material, Task, case_fact

_serial = itertools.count(1)
# The smallest file the material store takes as a PDF scan.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def id_number(region_code="361125", birth="19500101", serial=None):
    """A GB 11643 number with a correct check digit."""
    serial = next(_serial) % 1000 if serial is None else serial
    return make_id_number(region_code, datetime.datetime.strptime(birth, "%Y%m%d").date(), serial)


def make_case(window_username, facts=(), name="测试逝者", death_date=None, circumstance="in_hospital"):
    """Register a case as the given window clerk would, committed."""
    user = db.session.query(DepartmentUser).filter_by(username=window_username).one()
    region_code = next(d for d in user.departments if d.accepts_cases).region.code
    case = Case(
        deceased_name=name,
        deceased_id_number=id_number(region_code),
        deceased_gender="男",
        hukou_local=True,
        hukou_address="江西省上饶市",
        death_date=death_date or datetime.date(2026, 11, 30),
        death_circumstance=circumstance,
        applicant_name="测试家属",
        applicant_id_number=id_number(region_code, "19800101"),
        applicant_phone="13800138000",
        applicant_relationship="子女",
        facts=db.session.query(Fact).filter(Fact.code.in_(list(facts))).all(),
    )
    register_case(db.session, case, user)
    db.session.commit()
    return case


# What a family brings to the window: the originals checked there and the scans.
ORIGINALS = ["DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID"]
SCANS = ["DECEASED_ID", "DEATH_PROOF", "BANK_OR_SSC_CARD", "HUKOU_BOOK", "APPLICANT_ID", "BANK_CARD"]


def hand_in_papers(case, when=None, window_username="window"):
    """The window checks the originals and uploads the scans (not committed)."""
    window = db.session.query(DepartmentUser).filter_by(username=window_username).one()
    for code in ORIGINALS:
        material = db.session.query(Material).filter_by(code=code).one()
        chain.add_material(db.session, case, material, window, original_checked=True, now=when)
    for code in SCANS:
        material = db.session.query(Material).filter_by(code=code).one()
        chain.add_material(db.session, case, material, window, content=PDF, filename=f"{code}.pdf", now=when)


def case_number_sequences():
    """The case-number sequences as they stand, to put back with ``remove_cases``."""
    return {(s.region_id, s.year): s.last_number for s in db.session.query(CaseNumberSequence)}


def remove_cases(case_ids, sequences):
    """Delete generated cases and put the case-number sequences back (committed)."""
    db.session.execute(delete(case_fact).where(case_fact.c.case_id.in_(case_ids)))
    db.session.execute(delete(Task).where(Task.case_id.in_(case_ids)))
    db.session.execute(delete(Case).where(Case.id.in_(case_ids)))
    for seq in db.session.query(CaseNumberSequence):
        if (seq.region_id, seq.year) in sequences:
            seq.last_number = sequences[(seq.region_id, seq.year)]
        else:
            db.session.delete(seq)
    db.session.commit()
