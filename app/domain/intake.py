"""The window's intake: one application, checked field by field, then registered in
one transaction (the case, one task per item, the audit row), or refused with every
error named by its field and nothing written.

Field names are those of the API contract (``deceased.id_number``); the screen maps
them onto its form fields.
"""

import datetime
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from app.domain import identity, registry, rules
from app.domain.cases import CaseError, plan_items, register_case
from app.domain.clock import today_cst
from app.models import Case, Fact
from app.models.case import CASE_IN_PROGRESS, CASE_REGISTERED

MOBILE = re.compile(r"^1[3-9]\d{9}$")
GENDERS = {"男": "男", "女": "女", "male": "男", "female": "女", "m": "男", "f": "女"}
TRUE_WORDS = {True, "true", "1", "y", "yes", "on"}


class IntakeRefused(ValueError):
    """The application cannot be registered. ``errors`` maps fields to messages;
    ``status`` is the HTTP status the API answers with; ``existing`` names the open
    case of the same deceased, if that is the reason."""

    def __init__(self, errors, status=422, existing=None):
        super().__init__("; ".join(f"{k}: {', '.join(str(m) for m in v)}" for k, v in errors.items()))
        self.errors = errors
        self.status = status
        self.existing = existing


@dataclass
class Application:
    """What the window enters, before it is checked."""

    deceased: dict = field(default_factory=dict)
    applicant: dict = field(default_factory=dict)
    facts: list = field(default_factory=list)
    region_code: str | None = None


def _text(value, limit):
    value = "" if value is None else str(value).strip()
    return value[:limit] if value else ""


def check(session, application, window):
    """Check an application; return the cleaned values or raise ``IntakeRefused``
    listing every error at once."""
    errors = {}

    def error(name, message):
        errors.setdefault(name, []).append(message)

    d, a = application.deceased or {}, application.applicant or {}
    if application.region_code and application.region_code != window.region.code:
        error("region_code", _l("Your window registers cases of %(region)s only.", region=window.region.name))

    name = _text(d.get("name"), 64)
    if not name:
        error("deceased.name", _l("Enter the name of the deceased."))
    id_number = _text(d.get("id_number"), 18).upper()
    birth = None
    if not id_number:
        error("deceased.id_number", _l("Enter the ID number of the deceased."))
    elif not identity.is_valid_id_number(id_number):
        error("deceased.id_number", _l("This is not a valid resident ID number (check character or birth date)."))
    else:
        birth = identity.birth_date(id_number)

    gender = GENDERS.get(_text(d.get("gender"), 8).lower()) if d.get("gender") else None
    if d.get("gender") and gender is None:
        error("deceased.gender", _l("Gender is 男 or 女."))
    if birth is not None:
        carried = "男" if int(id_number[16]) % 2 else "女"
        if gender and gender != carried:
            error("deceased.gender", _l("The ID number belongs to a person of the other gender."))
        gender = gender or carried

    if d.get("hukou_local") not in TRUE_WORDS:
        error("deceased.hukou_local", _l(
            "Only a deceased with local household registration is handled jointly here; "
            "the family applies to each department of the place of registration."))

    death_date = d.get("death_date")
    if isinstance(death_date, str):
        try:
            death_date = datetime.date.fromisoformat(death_date.strip())
        except ValueError:
            death_date = None
            error("deceased.death_date", _l("Enter the date of death as YYYY-MM-DD."))
    if death_date is None and "deceased.death_date" not in errors:
        error("deceased.death_date", _l("Enter the date of death."))
    elif isinstance(death_date, datetime.date):
        if death_date > today_cst():
            error("deceased.death_date", _l("The date of death cannot be in the future."))
        elif birth is not None and death_date < birth:
            error("deceased.death_date", _l("The date of death is before the birth date in the ID number."))

    circumstance = _text(d.get("death_circumstance"), 32)
    if circumstance not in rules.IN_SCOPE_CIRCUMSTANCES:
        error("deceased.death_circumstance", _l(
            "Unknown circumstance of death: joint handling covers deaths inside or outside a medical "
            "institution, on the way to one, and unnatural deaths without treatment."))

    codes = [str(c) for c in (application.facts or [])]
    facts = session.query(Fact).filter(Fact.code.in_(codes)).all() if codes else []
    unknown = sorted(set(codes) - {f.code for f in facts})
    if unknown:
        error("facts", _l("Unknown facts: %(codes)s.", codes=", ".join(unknown)))

    applicant_name = _text(a.get("name"), 64)
    if not applicant_name:
        error("applicant.name", _l("Enter the applicant's name."))
    applicant_id = _text(a.get("id_number"), 18).upper()
    if not identity.is_valid_id_number(applicant_id):
        error("applicant.id_number", _l("This is not a valid resident ID number (check character or birth date)."))
    phone = re.sub(r"[\s-]", "", _text(a.get("phone"), 20))
    if not MOBILE.match(phone):
        error("applicant.phone", _l("Enter a mainland mobile number of 11 digits starting with 1."))

    if errors:
        raise IntakeRefused(errors)

    existing = open_case_of(session, id_number)
    if existing is not None:
        raise IntakeRefused(
            {"deceased.id_number": [_l("This deceased already has an open case: %(no)s.", no=existing.case_no)]},
            status=409, existing=existing,
        )
    return {
        "deceased_name": name, "deceased_id_number": id_number, "deceased_gender": gender,
        "hukou_local": True, "hukou_address": _text(d.get("hukou_address"), 256) or None,
        "death_date": death_date, "death_circumstance": circumstance,
        "death_certificate_no": _text(d.get("death_certificate_no"), 64) or None,
        "applicant_name": applicant_name, "applicant_id_number": applicant_id, "applicant_phone": phone,
        "applicant_relationship": _text(a.get("relationship"), 32) or None,
        "facts": facts,
    }


def open_case_of(session, id_number):
    return (
        session.query(Case)
        .filter(Case.deceased_id_number == id_number, Case.status.in_((CASE_REGISTERED, CASE_IN_PROGRESS)))
        .first()
    )


def preview(session, window, fact_list):
    """What a case with these facts will get, before it is saved: its items with their
    departments and limits, and the single material checklist."""
    codes = [f.code for f in fact_list]
    plan = plan_items(session, window.region, codes)
    items = [item for item, _department in plan]
    return plan, rules.material_checklist(items, codes)


# Case column → API field, for differences from the registry.
REGISTRY_FIELDS = {
    "deceased_name": "deceased.name", "deceased_id_number": "deceased.id_number",
    "death_date": "deceased.death_date", "death_circumstance": "deceased.death_circumstance",
}


def registry_match(session, window, values):
    """The registered death proof the application names, and how the application
    differs from it: (certificate or None, [(field, registry value, case value)])."""
    if not values.get("death_certificate_no"):
        return None, []
    cert = registry.find_certificate(session, window.region, number=values["death_certificate_no"])
    if cert is None:
        return None, []
    return cert, registry.differences(cert, values["deceased_name"], values["deceased_id_number"],
                                      values["death_date"], values["death_circumstance"])


def register(session, application, user, window, accept_differences=False):
    """Check and register; commits nothing (the caller commits). Raises
    ``IntakeRefused`` with nothing flushed. A case that agrees with its registered
    death proof is linked to it (checked); one that differs is refused unless the
    clerk has seen the differences (``accept_differences``), and is then saved
    unchecked."""
    values = check(session, application, window)
    certificate, diffs = registry_match(session, window, values)
    if diffs and not accept_differences:
        raise IntakeRefused({
            REGISTRY_FIELDS[field]: [_l("The registered death proof %(no)s says %(value)s.",
                                        no=certificate.number, value=theirs)]
            for field, theirs, _ours in diffs
        })
    case = Case(**values)
    if certificate is not None and not diffs:
        case.death_certificate = certificate
    try:
        with session.begin_nested():
            register_case(session, case, user)
    except CaseError as exc:
        raise IntakeRefused({exc.field or "region_code": [exc.message]}) from exc
    except IntegrityError as exc:
        # Another window registered the same deceased a moment ago.
        existing = open_case_of(session, values["deceased_id_number"])
        if existing is None:
            raise
        raise IntakeRefused(
            {"deceased.id_number": [_l("This deceased already has an open case: %(no)s.", no=existing.case_no)]},
            status=409, existing=existing,
        ) from exc
    return case
