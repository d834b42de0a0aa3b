"""The death-certificate registry: the issuers' screens, a scoped REST read, and the
window's lookup by number or ID number. The rules are ``app.domain.registry``'s."""

from flask import request
from flask_appbuilder import expose
from flask_appbuilder.api import BaseApi, safe
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import protect
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.domain.registry import (
    CertificateError,
    certificate_errors,
    check_certificate,
    issue_certificate,
    issuing_department,
    kind_for,
    look_up_certificate,
)
from app.extensions import db
from app.models import DeathCertificate, DepartmentUser
from app.models.case import CIRCUMSTANCES
from app.models.registry import MEDICAL, UNNATURAL
from app.security.scope import check_writable, window_regions
from app.views.base import (
    CIRCUMSTANCE_LABELS,
    ReadOnlyScopedApi,
    ScopedModelView,
    business_date,
    business_datetime,
    current_user,
    label_of,
)

KIND_LABELS = {
    MEDICAL: _l("Medical death certificate (死亡医学证明)"),
    UNNATURAL: _l("Unnatural-death certificate (非正常死亡证明)"),
}

CERTIFICATE_LABELS = {
    "number": _l("Death proof number"),
    "kind": _l("Kind"),
    "deceased_name": _l("Name of the deceased"),
    "deceased_id_number": _l("ID number of the deceased"),
    "death_date": _l("Date of death"),
    "death_circumstance": _l("Circumstance of death"),
    "department": _l("Issuing department"),
    "issued_by_id": _l("Issued by"),
    "created_at": _l("Registered on"),
    "note": _l("Note"),
}


def _default_kind():
    """The kind the issuer's department issues, preselected on a new certificate."""
    try:
        return kind_for(issuing_department(current_user())) or MEDICAL
    except CertificateError:
        return MEDICAL


def _username(user_id):
    user = db.session.get(DepartmentUser, user_id) if user_id else None
    return user.username if user is not None else ""


class RegistryChecks:
    """Runs the registry's rules after the field validators, so that each error is
    shown under its field and the issuer's input stays in the form."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators=extra_validators)
        cert_id = getattr(self, "_id", None)  # FAB sets it on the edit form only
        if cert_id is None:
            try:
                department = issuing_department(current_user())
            except CertificateError:
                department = None  # pre_add refuses, saying why
        else:
            department = db.session.get(DeathCertificate, cert_id).department
        errors = certificate_errors(
            db.session, department, number=self.number.data, kind=self.kind.data,
            deceased_name=self.deceased_name.data, deceased_id_number=self.deceased_id_number.data,
            death_date=self.death_date.data, death_circumstance=self.death_circumstance.data,
            certificate_id=cert_id,
        )
        for name, messages in errors.items():
            field = self._fields.get(name)
            if field is not None and not field.errors:
                field.errors.extend(messages)
        return valid and not errors


def with_registry_checks(form_class):
    return type(f"Checked{form_class.__name__}", (RegistryChecks, form_class), {})


class DeathCertificateView(ScopedModelView):
    datamodel = SQLAInterface(DeathCertificate)
    list_title = _l("Death certificates")
    show_title = _l("Death certificate")
    add_title = _l("Register a death certificate")
    edit_title = _l("Edit death certificate")
    # A registered proof is corrected, never deleted: cases may refer to it.
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    list_columns = ["number", "kind", "deceased_name", "death_date", "death_circumstance", "department", "created_at"]
    show_columns = [
        "number", "kind", "deceased_name", "deceased_id_number", "death_date", "death_circumstance",
        "department", "issued_by_id", "created_at", "note",
    ]
    add_columns = edit_columns = [
        "number", "kind", "deceased_name", "deceased_id_number", "death_date", "death_circumstance", "note",
    ]
    search_columns = ["number", "deceased_id_number", "deceased_name"]
    order_columns = ["number"]
    base_order = ("id", "desc")
    label_columns = CERTIFICATE_LABELS
    formatters_columns = {
        "kind": label_of(KIND_LABELS),
        "death_circumstance": label_of(CIRCUMSTANCE_LABELS),
        "death_date": business_date,
        "created_at": business_datetime,
        "issued_by_id": _username,
        "note": lambda value: value or "",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        # Replaces FAB's generic "Already exists." with the registry's message naming the number.
        "number": StringField(
            _l("Death proof number"), validators=[DataRequired(), Length(max=64)], widget=BS3TextFieldWidget(),
        ),
        "kind": SelectField(
            _l("Kind"), choices=list(KIND_LABELS.items()), default=_default_kind, widget=Select2Widget(),
        ),
        "death_circumstance": SelectField(
            _l("Circumstance of death"),
            choices=[(c, CIRCUMSTANCE_LABELS[c]) for c in CIRCUMSTANCES],
            widget=Select2Widget(),
        ),
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_form = with_registry_checks(self.add_form)
        self.edit_form = with_registry_checks(self.edit_form)

    def pre_add(self, item):
        try:
            issue_certificate(db.session, item, current_user())
            check_writable(item)
        except Exception:
            db.session.rollback()
            raise

    def pre_update(self, item):
        try:
            check_writable(item)
            check_certificate(db.session, item)
        except Exception:
            db.session.rollback()
            raise


class DeathCertificateApi(ReadOnlyScopedApi):
    """The issuers' and supervisors' REST read of the certificates they may see."""

    resource_name = "death-certificate"
    datamodel = SQLAInterface(DeathCertificate)
    list_columns = [
        "id", "number", "kind", "deceased_name", "deceased_id_number", "death_date",
        "death_circumstance", "department.code", "created_at",
    ]
    show_columns = list_columns + ["note"]
    order_columns = ["number", "id"]
    search_columns = ["number", "deceased_id_number", "deceased_name"]  # indexed


def certificate_json(cert):
    return {
        "id": cert.id,
        "number": cert.number,
        "kind": cert.kind,
        "deceased_name": cert.deceased_name,
        "deceased_id_number": cert.deceased_id_number,
        "death_date": cert.death_date.isoformat(),
        "death_circumstance": cert.death_circumstance,
        "department": cert.department.name,
        "department_code": cert.department.code,
    }


class DeathCertificateLookupApi(BaseApi):
    """The window finds a death proof in its county's registry."""

    resource_name = "death-certificate"
    openapi_spec_tag = "Death certificates"

    @expose("/lookup", methods=["GET"])
    # A read that changes nothing but the audit log: the window's browser page may call it.
    @protect(allow_browser_login=True)
    @safe
    def lookup(self):
        """The certificate with this number or deceased ID number in the caller's county.
        ---
        get:
          parameters:
          - in: query
            name: number
            schema: {type: string}
          - in: query
            name: id_number
            schema: {type: string}
          responses:
            200:
              description: the certificate
            400:
              $ref: '#/components/responses/400'
            404:
              $ref: '#/components/responses/404'
        """
        number = request.args.get("number", "").strip()
        id_number = request.args.get("id_number", "").strip()
        if not (number or id_number):
            return self.response_400(message=str(_l("Give a death proof number or an ID number.")))
        user = current_user()
        cert = look_up_certificate(db.session, user, window_regions(user), number=number, id_number=id_number)
        db.session.commit()
        if cert is None:
            return self.response(404, message=str(_l("No death certificate with this number or ID number "
                                                     "was found in your county.")))
        return self.response(200, **certificate_json(cert))
