"""The death-certificate registry: what a certificate must satisfy when an issuer
registers it, and how the window finds one and compares it with a case.

卫健's medical institutions issue the 死亡医学证明 (``medical``); 公安 issues the
非正常死亡证明 (``unnatural``) for an unnatural death without treatment, and nothing else.
Which department issues which kind is data: ``Department.certificate_kind`` (seeded on
卫健 and 公安 of each county), inherited by its units (a hospital under 卫健, a 派出所
under 公安); any other department issues none.
"""

import datetime

from flask_babel import lazy_gettext as _l

from app.domain import audit
from app.domain.clock import today_cst
from app.domain.identity import birth_date, is_valid_id_number
from app.models import DeathCertificate, Department
from app.models.case import CIRCUMSTANCES
from app.models.registry import MEDICAL, UNNATURAL

KINDS = (MEDICAL, UNNATURAL)

LOOKUP_ACTION = "death_certificate_lookup"


class CertificateError(ValueError):
    """A certificate that cannot be written, with messages for the issuer by field."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("; ".join(str(m) for messages in errors.values() for m in messages))


def issuing_department(user):
    """The department a user issues certificates for: the first one they serve."""
    departments = list(getattr(user, "departments", None) or [])
    if not departments:
        raise CertificateError(
            {"department": [_l("You serve no department, so you cannot issue death certificates.")]}
        )
    return departments[0]


def kind_for(department):
    """The one kind of certificate a department issues: its own ``certificate_kind`` or
    that of the department it is a unit of; None for a department that issues none."""
    seen = set()
    while department is not None and department.id not in seen:
        if department.certificate_kind:
            return department.certificate_kind
        seen.add(department.id)
        department = department.parent
    return None


def normalise_id_number(value):
    return (value or "").strip().upper()


def certificate_errors(session, department, *, number, kind, deceased_name, deceased_id_number,
                       death_date, death_circumstance, certificate_id=None, today=None):
    """Everything wrong with a certificate the ``department`` would issue, as
    ``{field: [message]}``; empty when it may be written. ``certificate_id`` is the
    certificate being edited (its own number is not a duplicate)."""
    errors = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    today = today or today_cst()
    number = (number or "").strip()
    if not number:
        add("number", _l("Fill in this field."))
    else:
        duplicate = session.query(DeathCertificate.id).filter(DeathCertificate.number == number)
        if certificate_id is not None:
            duplicate = duplicate.filter(DeathCertificate.id != certificate_id)
        # The edited row may hold the duplicate already: do not flush it to ask.
        with session.no_autoflush:
            if duplicate.first() is not None:
                add("number", _l("Death certificate number %(number)s is already registered.", number=number))

    if not (deceased_name or "").strip():
        add("deceased_name", _l("Fill in this field."))

    issues = kind_for(department) if department is not None else None
    if kind not in KINDS:
        add("kind", _l("Choose the kind of death certificate."))
    elif department is not None and issues is None:
        add("kind", _l("%(department)s does not issue death certificates: medical death certificates "
                       "(死亡医学证明) come from 卫健's medical institutions, unnatural-death certificates "
                       "(非正常死亡证明) from the police (公安).", department=department.name))
    elif department is not None and kind != issues:
        add("kind", _l("Only the police (公安) issue unnatural-death certificates (非正常死亡证明); "
                       "your department issues medical death certificates (死亡医学证明).")
            if kind == UNNATURAL else
            _l("A police department issues only unnatural-death certificates (非正常死亡证明)."))

    id_number = normalise_id_number(deceased_id_number)
    born = None
    if not is_valid_id_number(id_number):
        add("deceased_id_number", _l("Not a valid resident ID number: the check digit or the birth date is wrong."))
    else:
        born = birth_date(id_number)

    if death_date is None:
        add("death_date", _l("Fill in this field."))
    elif death_date > today:
        add("death_date", _l("The date of death cannot be in the future."))
    elif born is not None and death_date < born:
        add("death_date", _l("The date of death cannot be before the birth date in the ID number (%(birth)s).",
                             birth=born.isoformat()))

    if death_circumstance not in CIRCUMSTANCES:
        add("death_circumstance", _l("Choose one of the four circumstances of death."))
    elif kind == UNNATURAL and death_circumstance != UNNATURAL:
        add("death_circumstance", _l("An unnatural-death certificate records an unnatural death without treatment."))
    elif kind == MEDICAL and death_circumstance == UNNATURAL:
        add("death_circumstance", _l("An unnatural death without treatment is certified by the police "
                                     "(非正常死亡证明), not by a medical death certificate."))
    return errors


def _check(session, cert, department, today=None):
    cert.number = (cert.number or "").strip()
    cert.deceased_name = (cert.deceased_name or "").strip()
    cert.deceased_id_number = normalise_id_number(cert.deceased_id_number)
    errors = certificate_errors(
        session, department, number=cert.number, kind=cert.kind, deceased_name=cert.deceased_name,
        deceased_id_number=cert.deceased_id_number, death_date=cert.death_date,
        death_circumstance=cert.death_circumstance, certificate_id=cert.id, today=today,
    )
    if errors:
        raise CertificateError(errors)


def issue_certificate(session, cert, user, today=None):
    """Fill in what the issuer does not choose (their department, themselves) and check
    the rest. Raises ``CertificateError`` before anything is added to the session."""
    department = issuing_department(user)
    _check(session, cert, department, today)
    cert.department = department
    cert.issued_by_id = user.id
    return cert


def check_certificate(session, cert, today=None):
    """Check an edited certificate against the rules of its issuing department."""
    _check(session, cert, cert.department, today)
    return cert


def find_certificate(session, region, number=None, id_number=None):
    """The certificate with that exact number and/or deceased ID number, issued by a
    department of ``region`` (the county); the newest if several match, else None."""
    number = (number or "").strip()
    id_number = normalise_id_number(id_number)
    if region is None or not (number or id_number):
        return None
    query = session.query(DeathCertificate).join(DeathCertificate.department).filter(
        Department.region_id == region.id
    )
    if number:
        query = query.filter(DeathCertificate.number == number)
    if id_number:
        query = query.filter(DeathCertificate.deceased_id_number == id_number)
    return query.order_by(DeathCertificate.created_at.desc(), DeathCertificate.id.desc()).first()


def look_up_certificate(session, user, regions, number=None, id_number=None):
    """The window's lookup: the certificate found in one of the user's counties, or
    None. Each lookup is audited (it shows personal data), found or not, in the
    caller's transaction."""
    cert, region = None, None
    for region in regions:
        cert = find_certificate(session, region, number=number, id_number=id_number)
        if cert is not None:
            break
    entry = audit.record(
        session, user, LOOKUP_ACTION, obj=cert,
        number=(number or "").strip() or None, id_number=normalise_id_number(id_number) or None,
        found=cert is not None,
    )
    # The county's supervisors see who looked up what in their audit log.
    entry.region_id = region.id if region is not None else None
    return cert


def _as_date(value):
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def differences(cert, name, id_number, death_date, circumstance):
    """What a case says that the registry does not: a list of (field, registry value,
    case value), fields named as on ``Case``. A value the case leaves empty is not a
    difference."""
    pairs = [
        ("deceased_name", cert.deceased_name, name, lambda v: (v or "").strip()),
        ("deceased_id_number", cert.deceased_id_number, id_number, normalise_id_number),
        ("death_date", cert.death_date, death_date, _as_date),
        ("death_circumstance", cert.death_circumstance, circumstance, lambda v: v),
    ]
    return [
        (field, registry, case)
        for field, registry, case, norm in pairs
        if case not in (None, "") and norm(registry) != norm(case)
    ]
