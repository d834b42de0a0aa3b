"""Case actions on the screens: print the 联办登记表 and the 办结告知书, add a material, download one
(recorded in the audit log), move a task (accept, complete, reject, request a
supplement) and cancel a case. Each action finds its row through the row filter, so
what a user may not see answers 404; a refused action changes nothing."""

from flask import Response, abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError

from app import storage
from app.domain import audit, chain
from app.extensions import db
from app.models import Case, CaseMaterial, Material, Task
from app.models.case import CASE_COMPLETED
from app.security.scope import AccessDenied, check_writable, scope_query


def visible_or_404(model, pk):
    row = scope_query(model, db.session.query(model)).filter(model.id == pk).one_or_none()
    if row is None:
        abort(404)
    return row


def pdf_response(content, filename):
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename={filename}"
    response.headers["Cache-Control"] = "no-store"
    return response


def registration_form_response(case):
    """The 联办登记表 of a case (personal data: the printing is recorded)."""
    from app import pdf

    content = pdf.registration_form(case)
    audit.record(db.session, g.user, "registration_form_printed", case=case, obj=case)
    db.session.commit()
    return pdf_response(content, f"{case.case_no}-registration-form.pdf")


def completion_notice_response(case):
    """The 办结告知书 of a completed case (personal data: the printing is recorded).
    None when the case is not completed yet."""
    from app import pdf

    if case.status != CASE_COMPLETED:
        return None
    content = pdf.completion_notice(case)
    audit.record(db.session, g.user, "completion_notice_printed", case=case, obj=case)
    db.session.commit()
    return pdf_response(content, f"{case.case_no}-completion-notice.pdf")


def material_download(row):
    """The stored scan of a case material the user may see (the screen's download and
    the API's), recorded in the audit log; 404 when only the original was checked."""
    if not row.stored_name:
        abort(404)
    audit.record(db.session, g.user, "material_downloaded", case=row.case, obj=row,
                 material=row.material.code, sha256=row.sha256)
    db.session.commit()
    return send_file(storage.path_of(row.stored_name), mimetype=row.content_type, as_attachment=True,
                     download_name=f"{row.case.case_no}-{row.material.code}{_extension(row)}")


def not_completed_message(case):
    return _l("Case %(no)s is not completed yet; the completion notice prints once every item is handled.",
              no=case.case_no)


class CaseDocumentsView(BaseView):
    route_base = "/case-actions"
    default_view = "registration_form"

    def _case_to_write(self, pk):
        """(case, None) when the user may act on the case with this form; (case, a
        redirect back) when the form expired. 404 unseen, 403 not the user's."""
        case = visible_or_404(Case, pk)
        if not _form_is_fresh():
            return case, self._back(case)
        try:
            check_writable(case)
        except AccessDenied as exc:
            abort(403, str(exc))
        return case, None

    def _back(self, case):
        return redirect(url_for("CaseView.show", pk=case.id))

    @expose("/<int:pk>/registration-form")
    @has_access
    def registration_form(self, pk):
        return registration_form_response(visible_or_404(Case, pk))

    @expose("/<int:pk>/completion-notice")
    @has_access
    def completion_notice(self, pk):
        case = visible_or_404(Case, pk)
        response = completion_notice_response(case)
        if response is None:
            flash(str(not_completed_message(case)), "danger")
            return self._back(case)
        return response

    @expose("/<int:pk>/material", methods=["POST"])
    @has_access
    def add_material(self, pk):
        case, refusal = self._case_to_write(pk)
        if refusal is not None:
            return refusal
        material = db.session.query(Material).filter_by(code=request.form.get("material_code", "")).one_or_none()
        upload = request.files.get("file")
        content = upload.read() if upload and upload.filename else None
        try:
            if material is None:
                raise chain.ChainError(_l("Unknown material."))
            chain.hand_in_material(db.session, case, material, g.user,
                                   original_checked=bool(request.form.get("original_checked")),
                                   content=content, filename=upload.filename if upload else None)
            db.session.commit()
        except (storage.UploadError, chain.ChainError) as exc:
            db.session.rollback()  # and with it any file stored (app.storage)
            flash(str(exc), "danger")
            return self._back(case)
        flash(str(_l("%(material)s recorded.", material=material.name)), "success")
        return self._back(case)

    @expose("/material/<int:pk>/download")
    @has_access
    def download(self, pk):
        return material_download(visible_or_404(CaseMaterial, pk))

    def _move_task(self, pk, move, done):
        """Apply ``move(task, version)`` to a task the user may see and write, with the
        version the form was drawn with; on refusal roll back and flash why."""
        task = visible_or_404(Task, pk)
        case_id, item_name = task.case_id, task.item.name
        back = redirect(url_for("CaseView.show", pk=case_id))
        if not _form_is_fresh():
            return back
        try:
            check_writable(task)
            move(task, request.form.get("version"))
            db.session.commit()
        except AccessDenied as exc:
            db.session.rollback()
            abort(403, str(exc))
        except chain.ChainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return back
        except StaleDataError:
            db.session.rollback()
            flash(str(chain.stale_error().message), "danger")
            return back
        flash(str(done(item_name)), "success")
        return back

    @expose("/task/<int:pk>/accept", methods=["POST"])
    @has_access
    def accept(self, pk):
        return self._move_task(
            pk, lambda task, version: chain.accept_task(db.session, task, g.user, note=request.form.get("note") or None,
                                                        version=version),
            lambda item: _l("%(item)s accepted.", item=item))

    @expose("/task/<int:pk>/complete", methods=["POST"])
    @has_access
    def complete(self, pk):
        return self._move_task(
            pk, lambda task, version: chain.complete_task(db.session, task, g.user, note=request.form.get("note"),
                                                          amount=request.form.get("amount"), version=version),
            lambda item: _l("%(item)s completed.", item=item))

    @expose("/task/<int:pk>/reject", methods=["POST"])
    @has_access
    def reject(self, pk):
        return self._move_task(
            pk, lambda task, version: chain.reject_task(db.session, task, g.user, request.form.get("reason"),
                                                        version=version),
            lambda item: _l("%(item)s: not handled, with the reason recorded.", item=item))

    @expose("/task/<int:pk>/supplement", methods=["POST"])
    @has_access
    def request_supplement(self, pk):
        return self._move_task(
            pk, lambda task, version: chain.request_supplement(db.session, task, g.user, request.form.get("note"),
                                                               request.form.getlist("materials"), version=version),
            lambda item: _l("%(item)s: supplement requested; the clock is stopped.", item=item))

    @expose("/<int:pk>/cancel", methods=["POST"])
    @has_access
    def cancel(self, pk):
        case, refusal = self._case_to_write(pk)
        if refusal is not None:
            return refusal
        case_id, case_no = case.id, case.case_no
        try:
            chain.cancel_case(db.session, case, g.user, request.form.get("reason"))
            db.session.commit()
        except chain.ChainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return redirect(url_for("CaseView.show", pk=case_id))
        except StaleDataError:
            db.session.rollback()
            flash(str(chain.stale_error().message), "danger")
            return redirect(url_for("CaseView.show", pk=case_id))
        flash(str(_l("Case %(no)s cancelled.", no=case_no)), "success")
        return redirect(url_for("CaseView.show", pk=case_id))


def _form_is_fresh():
    """The posted form's CSRF token is valid; otherwise say so to the user."""
    if FlaskForm().validate_on_submit():
        return True
    flash(str(_l("The form expired; please try again.")), "danger")
    return False


def _extension(row):
    return {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}.get(row.content_type, "")
