"""The window's intake screen: one form for the deceased, the circumstance, the facts
(a checklist in plain Chinese) and the applicant. "Preview" shows the items the case
will get and the single material checklist; "Look up" fills the form from the
death-certificate registry; "Register" saves, after the clerk has seen any difference
from the registry. The same checks as ``POST /api/v1/case/``: ``app.domain.intake``."""

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from app.domain import intake, registry, rules
from app.domain.cases import CaseError, intake_department
from app.domain.labels import CIRCUMSTANCE_LABELS, FORM_LABELS
from app.extensions import db
from app.models import Fact, Material
from app.models.case import CIRCUMSTANCES

# API field → form field.
FIELDS = {
    "deceased.name": "deceased_name", "deceased.id_number": "deceased_id_number",
    "deceased.gender": "deceased_gender", "deceased.hukou_local": "hukou_local",
    "deceased.hukou_address": "hukou_address", "deceased.death_date": "death_date",
    "deceased.death_circumstance": "death_circumstance", "deceased.death_certificate_no": "death_certificate_no",
    "facts": "facts", "applicant.name": "applicant_name", "applicant.id_number": "applicant_id_number",
    "applicant.phone": "applicant_phone", "applicant.relationship": "applicant_relationship",
    "region_code": "deceased_name",
}


REGISTRY_LABELS = {
    "deceased_name": _l("Name of the deceased"), "deceased_id_number": _l("ID number of the deceased"),
    "death_date": _l("Date of death"), "death_circumstance": _l("Circumstance of death"),
    "death_certificate_no": _l("Death proof number"),
}


def needed_by_labels(entry, names):
    """The items of a checklist entry on the screens: ``CL01（或火化证明）`` for an item
    that takes another material instead."""
    return rules.needed_by_text(entry, names, either=gettext("{item} (or {others})"))


class FactsField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        """Unknown codes are reported by the domain check, with the others."""


class IntakeForm(FlaskForm):
    deceased_name = StringField(_l("Name of the deceased"))
    deceased_id_number = StringField(_l("ID number of the deceased"))
    deceased_gender = SelectField(_l("Gender"), choices=[("", ""), ("男", "男"), ("女", "女")], validate_choice=False)
    hukou_local = BooleanField(_l("Local household registration"), default=True)
    hukou_address = StringField(_l("Household registration address"))
    # Text, not a DateField: a date it cannot parse must not hide the other errors; the
    # domain check reads it and says what is wrong with it, beside every other field.
    death_date = StringField(_l("Date of death"))
    death_circumstance = SelectField(
        _l("Circumstance of death"), choices=[(c, CIRCUMSTANCE_LABELS[c]) for c in CIRCUMSTANCES], validate_choice=False,
    )
    death_certificate_no = StringField(_l("Death proof number"))
    facts = FactsField(_l("Facts about the deceased"), choices=[])
    applicant_name = StringField(_l("Applicant"))
    applicant_id_number = StringField(_l("ID number of the applicant"))
    applicant_phone = StringField(_l("Applicant's mobile"))
    applicant_relationship = StringField(_l("Relationship to the deceased"))
    accept_differences = BooleanField(_l("I have checked the differences from the registry with the family"))

    def application(self):
        return intake.Application(
            deceased={
                "name": self.deceased_name.data, "id_number": self.deceased_id_number.data,
                "gender": self.deceased_gender.data or None, "hukou_local": self.hukou_local.data,
                "hukou_address": self.hukou_address.data,
                "death_date": self.death_date.data,
                "death_circumstance": self.death_circumstance.data,
                "death_certificate_no": self.death_certificate_no.data,
            },
            applicant={
                "name": self.applicant_name.data, "id_number": self.applicant_id_number.data,
                "phone": self.applicant_phone.data, "relationship": self.applicant_relationship.data,
            },
            facts=list(self.facts.data or []),
        )


def _fact_choices():
    return [(f.code, f.name) for f in db.session.query(Fact).order_by(Fact.sort_order)]


class IntakeView(BaseView):
    route_base = "/intake"
    default_view = "intake"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def intake(self):
        try:
            window = intake_department(g.user)
        except CaseError as exc:
            flash(str(exc.message), "danger")
            return redirect(url_for("CaseView.list"))
        form = IntakeForm()
        form.facts.choices = _fact_choices()
        action = request.form.get("action", "preview")
        context = {"form": form, "window": window, "plan": None, "checklist": None, "differences": [],
                   "unknown_number": None, "certificate": None, "material_names": {}, "needed_by": {},
                   "form_labels": FORM_LABELS}
        if request.method == "POST":
            # Only the CSRF token can fail here; every field is checked by the domain.
            if not form.validate_on_submit():
                flash(gettext("The form expired; please try again."), "danger")
            elif action == "lookup":
                self._fill_from_registry(form, window, context)
            else:
                saved = self._preview_or_save(form, window, action, context)
                if saved is not None:
                    return saved
        return self.render_template("intake.html", **context)

    def _fill_from_registry(self, form, window, context):
        number = (form.death_certificate_no.data or "").strip() or None
        id_number = (form.deceased_id_number.data or "").strip().upper() or None
        cert = None
        if number or id_number:
            cert = registry.look_up_certificate(db.session, g.user, [window.region], number=number,
                                                id_number=id_number)
            db.session.commit()  # the look-up is recorded, found or not
        if cert is None:
            flash(gettext("No death proof with this number or ID number is registered in %(region)s.",
                          region=window.region.name), "warning")
            return
        form.death_certificate_no.data = cert.number
        form.deceased_name.data = cert.deceased_name
        form.deceased_id_number.data = cert.deceased_id_number
        form.death_date.data = cert.death_date.isoformat()
        form.death_circumstance.data = cert.death_circumstance
        context["certificate"] = cert
        flash(gettext("Filled in from death proof %(no)s.", no=cert.number), "success")

    @staticmethod
    def _show_errors(form, errors):
        for name, messages in errors.items():
            field = getattr(form, FIELDS.get(name, "deceased_name"))
            field.errors = list(field.errors or []) + [str(m) for m in messages]

    def _preview_or_save(self, form, window, action, context):
        application = form.application()
        try:
            values = intake.check(db.session, application, window)
            plan, checklist = intake.preview(db.session, window, values["facts"])
        except intake.IntakeRefused as exc:
            self._show_errors(form, exc.errors)
            if exc.existing is not None:
                flash(gettext("This deceased already has an open case: %(no)s.", no=exc.existing.case_no), "danger")
            else:
                flash(gettext("The application has errors; nothing was saved."), "danger")
            return None
        except CaseError as exc:
            flash(str(exc.message), "danger")
            return None
        names = {m.code: m.name for m in db.session.query(Material).filter(Material.code.in_(list(checklist)))}
        context.update(plan=plan, checklist=checklist, material_names=names,
                       needed_by={code: needed_by_labels(entry, names) for code, entry in checklist.items()})
        match = intake.registry_match(db.session, window, values)
        context["certificate"] = match.certificate
        context["unknown_number"] = match.unknown_number
        context["differences"] = [
            (REGISTRY_LABELS[name], intake.shown(name, theirs), intake.shown(name, ours))
            for name, theirs, ours in match.differences
        ]
        if action != "save":
            return None
        if match.needs_confirmation and not form.accept_differences.data:
            flash(gettext("The application differs from the registered death proof: check the differences.")
                  if match.differences else
                  gettext("Death proof %(no)s is not in the registry: check the number with the family.",
                          no=match.unknown_number), "warning")
            return None
        try:
            case = intake.register(db.session, application, g.user, window,
                                   accept_differences=bool(form.accept_differences.data))
            db.session.commit()
        except intake.IntakeRefused as exc:
            db.session.rollback()
            self._show_errors(form, exc.errors)
            flash(gettext("The application has errors; nothing was saved."), "danger")
            return None
        flash(gettext("Case %(no)s registered.", no=case.case_no), "success")
        return redirect(url_for("CaseView.show", pk=case.id))


class CaseEditChecks:
    """The case edit form (CaseView) runs the domain's check of the editable fields
    after the field validators, so each error is shown under its field."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators=extra_validators)
        values = {name: self._fields[name].data for name in intake.EDITABLE if name in self._fields}
        try:
            intake.check_edit(values)
        except intake.IntakeRefused as exc:
            for name, messages in exc.errors.items():
                field = self._fields.get(name)
                if field is not None:
                    field.errors = list(field.errors or []) + [str(m) for m in messages]
            return False
        return valid


def with_edit_checks(form_class):
    return type(f"Checked{form_class.__name__}", (CaseEditChecks, form_class), {})


def update_case(item, user):
    """CaseView's ``pre_update``: the edited values checked and cleaned by the domain,
    and the change written to the audit log in the edit's transaction."""
    cleaned = intake.check_edit({name: getattr(item, name) for name in intake.EDITABLE})
    for name, value in cleaned.items():
        setattr(item, name, value)
    intake.record_edit(db.session, item, user)
