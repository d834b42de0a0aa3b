"""The window's intake: one application, checked field by field, then registered in
one transaction (the case, one task per item, the audit row), or refused with every
error named by its field and nothing written.

Field names are those of the API contract (``deceased.id_number``); the screen maps
them onto its form fields.
"""

import datetime
import re
from dataclasses import dataclass, field

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from app.domain import audit, identity, registry, rules
from app.domain.cases import CaseError, plan_items, register_case
from app.domain.clock import today_cst
from app.domain.labels import CIRCUMSTANCE_LABELS
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


PHONE_MESSAGE = _l("Enter a mainland mobile number of 11 digits starting with 1.")


def normalise_phone(value):
    """138 0013 8000 and 138-0013-8000 are 13800138000."""
    return re.sub(r"[\s-]", "", _text(value, 20))


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
    if isinstance(death_date, str) and not death_date.strip():
        death_date = None
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
    phone = normalise_phone(a.get("phone"))
    if not MOBILE.match(phone):
        error("applicant.phone", PHONE_MESSAGE)

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
    "death_certificate_no": "deceased.death_certificate_no",
}


@dataclass
class RegistryMatch:
    """What the registry says of an application: the death proof found (by its number,
    else by the deceased's ID number), how the application differs from it (a list of
    (Case column, registry value, application value)), and a number the application
    gives that the county's registry does not hold."""

    certificate: object = None
    differences: list = field(default_factory=list)
    unknown_number: str | None = None

    @property
    def agrees(self):
        return self.certificate is not None and not self.differences

    @property
    def needs_confirmation(self):
        """The clerk must have seen the differences, or the unknown number, with the family."""
        return bool(self.differences) or self.unknown_number is not None


def registry_match(session, window, values):
    """Compare an application with the county's death-certificate registry. A number
    finds its certificate; a number that finds none, or no number, falls back to the
    deceased's ID number (the clerk may have mistyped or skipped it), and then a given
    number that is not the registry's is itself a difference."""
    number = values.get("death_certificate_no")
    cert = registry.find_certificate(session, window.region, number=number) if number else None
    diffs = []
    if cert is None:
        cert = registry.find_certificate(session, window.region, id_number=values["deceased_id_number"])
        if cert is None:
            return RegistryMatch(unknown_number=number or None)
        if number:
            diffs.append(("death_certificate_no", cert.number, number))
    diffs += registry.differences(cert, values["deceased_name"], values["deceased_id_number"],
                                  values["death_date"], values["death_circumstance"])
    return RegistryMatch(cert, diffs)


def shown(field_name, value):
    """A registry or application value as the clerk reads it: dates the Chinese way,
    circumstances by their label."""
    if field_name == "death_date" and isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime.date):
        return format_date(value, "long")
    if field_name == "death_circumstance":
        return CIRCUMSTANCE_LABELS.get(value, value)
    return value


def registry_errors(match):
    """The API's errors for what the clerk must confirm, by field."""
    if match.unknown_number is not None:
        return {"deceased.death_certificate_no": [_l(
            "No death proof numbered %(no)s is registered in this county; check the number, or confirm that "
            "the family's proof is not in the registry.", no=match.unknown_number)]}
    errors = {}
    for name, theirs, _ours in match.differences:
        message = (_l("The death proof registered for this ID number is %(no)s.", no=theirs)
                   if name == "death_certificate_no" else
                   _l("The registered death proof %(no)s says %(value)s.", no=match.certificate.number,
                      value=shown(name, theirs)))
        errors.setdefault(REGISTRY_FIELDS[name], []).append(message)
    return errors


def register(session, application, user, window, accept_differences=False):
    """Check and register; commits nothing (the caller commits). Raises
    ``IntakeRefused`` with nothing flushed. A case that agrees with its registered
    death proof is linked to it (checked) and takes its number; one that differs, or
    that names a number the registry does not hold, is refused unless the clerk has
    seen that (``accept_differences``), and is then saved unchecked, the acceptance
    recorded in the audit log."""
    values = check(session, application, window)
    match = registry_match(session, window, values)
    if match.needs_confirmation and not accept_differences:
        raise IntakeRefused(registry_errors(match))
    case = Case(**values)
    if match.agrees:
        case.death_certificate = match.certificate
        case.death_certificate_no = match.certificate.number
    elif match.certificate is not None:
        case.registry_differences_accepted = True
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
    if match.needs_confirmation:
        # Which fields, not their values: the audit row names the certificate, not the person.
        audit.record(session, user, "registry_differences_accepted", case=case, obj=case,
                     certificate=match.certificate.number if match.certificate is not None else None,
                     unknown_number=match.unknown_number, fields=[name for name, _r, _a in match.differences])
    return case


def death_proof_status(case):
    """The case against the registry: ``checked`` (it agrees), ``differs`` (the clerk
    registered it despite differences) or ``not_found``."""
    if case.death_certificate_id is not None:
        return "checked"
    return "differs" if case.registry_differences_accepted else "not_found"


# --- Editing a registered case ----------------------------------------------------------
# Identity and registry fields are fixed at intake (they decide the items, the registry
# link and the one open case per deceased); the window corrects the contact details.
EDITABLE = ("hukou_address", "applicant_phone", "applicant_relationship")
LIMITS = {"hukou_address": 256, "applicant_relationship": 32}


def check_edit(values):
    """Check the editable fields of a case (Case columns → values); return them cleaned
    or raise ``IntakeRefused`` keyed by column."""
    errors, cleaned = {}, {}
    phone = normalise_phone(values.get("applicant_phone"))
    if not MOBILE.match(phone):
        errors["applicant_phone"] = [PHONE_MESSAGE]
    cleaned["applicant_phone"] = phone
    for name, limit in LIMITS.items():
        text = "" if values.get(name) is None else str(values[name]).strip()
        if len(text) > limit:
            errors[name] = [_l("At most %(n)d characters.", n=limit)]
        cleaned[name] = text or None
    if errors:
        raise IntakeRefused(errors)
    return cleaned


def _masked_phone(value):
    value = value or ""
    return value[:3] + "*" * max(len(value) - 7, 0) + value[-4:] if len(value) > 7 else value


def record_edit(session, case, user):
    """Write what changed on a case being edited (flushed or not) to the audit log:
    each field from → to, the phone masked as elsewhere in the log. None if nothing changed."""
    changes = {}
    state = inspect(case)
    for name in EDITABLE:
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before == after:
            continue
        if name == "applicant_phone":
            before, after = _masked_phone(before), _masked_phone(after)
        changes[name] = {"from": before, "to": after}
    if not changes:
        return None
    return audit.record(session, user, "case_edited", case=case, obj=case, fields=sorted(changes), changes=changes)
