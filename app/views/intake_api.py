"""The window's side of the integration API (SPEC "Integration API"):
``POST /api/v1/case/`` registers a case, ``POST /api/v1/case/<id>/materials`` adds a
material, ``GET /api/v1/case/<id>/registration-form`` prints the 联办登记表,
``GET /api/v1/case/<id>/completion-notice`` the 办结告知书 of a completed case, and
``POST /api/v1/case/<id>/cancel`` cancels a case (the window, with a reason) and
``POST /api/v1/task/<id>/transition`` moves a task: accept, complete, reject,
request_supplement."""

from flask import g, request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from app import storage
from app.domain import chain, intake
from app.domain.cases import CaseError, intake_department
from app.extensions import db
from app.models import Case, Material, Task
from app.security.scope import AccessDenied, check_writable, scope_query


def task_json(task):
    answer = {
        "id": task.id,
        "item_code": task.item.code,
        "department_code": task.department.code,
        "status": task.status,
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "version": task.version,
        "result_note": task.result_note,
        "payout_amount": str(task.payout_amount) if task.payout_amount is not None else None,
        "payout_expected_date": task.payout_expected_date.isoformat() if task.payout_expected_date else None,
    }
    if task.status == "supplement_requested":
        answer["supplement"] = {
            "note": task.supplement_note,
            "materials": chain.supplement_codes(task),
            "working_days_left": task.supplement_days_left,
        }
    return answer


def case_json(case):
    return {
        "id": case.id,
        "case_no": case.case_no,
        "status": case.status,
        "region_code": case.region.code,
        "death_proof_checked": case.death_certificate_id is not None,
        "death_proof_status": intake.death_proof_status(case),
        "tasks": [task_json(t) for t in case.tasks],
    }


def _strings(errors):
    return {name: [str(m) for m in messages] for name, messages in errors.items()}


def visible(model, pk):
    """The row if the caller may see it, else None (which answers 404)."""
    return scope_query(model, db.session.query(model)).filter(model.id == pk).one_or_none()


class CaseIntakeApi(BaseApi):
    resource_name = "case"
    allow_browser_login = False  # JWT only: no CSRF token travels with these writes

    def _own_case(self, pk):
        """(case, None) when the caller may write the case, else (None, a 404 or 403)."""
        case = visible(Case, pk)
        if case is None:
            return None, self.response_404()
        try:
            check_writable(case)
        except AccessDenied as exc:
            return None, self._refuse(403, exc)
        return case, None

    def _refuse(self, status, message, errors=None):
        body = {"message": str(message)}
        if errors:
            body["errors"] = _strings(errors)
        return self.response(status, **body)

    @expose("/", methods=["POST"])
    @protect()
    def register(self):
        """Register a case (window clerks).
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
          responses:
            201:
              description: The case with its tasks
            409:
              description: The deceased already has an open case (existing_case_no)
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            422:
              $ref: '#/components/responses/422'
        """
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return self._refuse(400, _l("The request body must be a JSON object."))
        try:
            window = intake_department(g.user)
        except CaseError as exc:
            return self._refuse(403, exc.message)
        application = intake.Application(
            deceased=body.get("deceased") if isinstance(body.get("deceased"), dict) else {},
            applicant=body.get("applicant") if isinstance(body.get("applicant"), dict) else {},
            facts=body.get("facts") if isinstance(body.get("facts"), list) else [],
            region_code=body.get("region_code"),
        )
        try:
            case = intake.register(db.session, application, g.user, window,
                                   accept_differences=body.get("accept_registry_differences") is True)
            answer = case_json(case)  # before the commit expires what was just written
            db.session.commit()
        except intake.IntakeRefused as exc:
            db.session.rollback()
            message = (gettext("This deceased already has an open case: %(no)s.", no=exc.existing.case_no)
                       if exc.existing is not None else gettext("The application has errors; nothing was saved."))
            answer = {"message": message, "errors": _strings(exc.errors)}
            if exc.existing is not None:
                answer["existing_case_no"] = exc.existing.case_no
            return self.response(exc.status, **answer)
        return self.response(201, **answer)

    @expose("/<int:pk>/materials", methods=["POST"])
    @protect()
    def add_material(self, pk):
        """Add a material: multipart ``material_code``, ``file``, ``original_checked``.
        ---
        post:
          parameters:
          - in: path
            name: pk
            required: true
            schema:
              type: integer
          requestBody:
            required: true
            content:
              multipart/form-data:
                schema:
                  type: object
          responses:
            201:
              description: The material recorded, with the case
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            422:
              $ref: '#/components/responses/422'
        """
        case, refusal = self._own_case(pk)
        if refusal is not None:
            return refusal
        code = (request.form.get("material_code") or "").strip()
        material = db.session.query(Material).filter_by(code=code).one_or_none()
        if material is None:
            return self._refuse(422, _l("Unknown material."), {"material_code": [_l("Unknown material.")]})
        upload = request.files.get("file")
        content = upload.read() if upload else None
        original_checked = (request.form.get("original_checked") or "").lower() in ("true", "1", "on", "yes")
        try:
            row = chain.hand_in_material(db.session, case, material, g.user, original_checked=original_checked,
                                         content=content, filename=upload.filename if upload else None)
            db.session.commit()
        except (storage.UploadError, chain.ChainError) as exc:
            db.session.rollback()  # and with it any file stored (app.storage)
            field = getattr(exc, "field", None) or "file"
            return self._refuse(422, exc, {field: [str(exc)]})
        return self.response(201, id=row.id, material_code=material.code, original_checked=row.original_checked,
                             sha256=row.sha256, size=row.size, case=case_json(case))

    @expose("/<int:pk>/registration-form", methods=["GET"])
    @protect()
    def registration_form(self, pk):
        """The 联办登记表 as a PDF.
        ---
        get:
          parameters:
          - in: path
            name: pk
            required: true
            schema:
              type: integer
          responses:
            200:
              description: The registration form (application/pdf)
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        case = visible(Case, pk)
        if case is None:
            return self.response_404()
        from app.views.documents import registration_form_response

        return registration_form_response(case)

    @expose("/<int:pk>/completion-notice", methods=["GET"])
    @protect()
    def completion_notice(self, pk):
        """The 办结告知书 as a PDF; 409 while the case is not completed.
        ---
        get:
          parameters:
          - in: path
            name: pk
            required: true
            schema:
              type: integer
          responses:
            200:
              description: The completion notice (application/pdf)
            409:
              description: The case is not completed yet
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        case = visible(Case, pk)
        if case is None:
            return self.response_404()
        from app.views.documents import completion_notice_response, not_completed_message

        response = completion_notice_response(case)
        if response is None:
            return self._refuse(409, not_completed_message(case))
        return response

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    def cancel(self, pk):
        """Cancel a case (the window that registered it): ``{"reason"}``. Its open tasks are closed.
        ---
        post:
          parameters:
          - in: path
            name: pk
            required: true
            schema:
              type: integer
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
          responses:
            200:
              description: The cancelled case with its tasks
            409:
              description: The case is closed already
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            422:
              $ref: '#/components/responses/422'
        """
        case, refusal = self._own_case(pk)
        if refusal is not None:
            return refusal
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else {}
        try:
            chain.cancel_case(db.session, case, g.user, body.get("reason"))
            answer = case_json(case)
            db.session.commit()
        except chain.ChainError as exc:
            db.session.rollback()
            if exc.field:
                return self._refuse(422, exc.message, {exc.field: [exc.message]})
            return self._refuse(409, exc.message)
        except StaleDataError:
            db.session.rollback()
            return self._refuse(409, chain.stale_error().message)
        return self.response(200, **answer)


# action → how it moves a task, given the request body
TRANSITIONS = {
    "accept": lambda task, body: chain.accept_task(db.session, task, g.user, note=body.get("note"),
                                                   version=body.get("version")),
    "complete": lambda task, body: chain.complete_task(db.session, task, g.user, note=body.get("note"),
                                                       amount=body.get("amount"), version=body.get("version")),
    "reject": lambda task, body: chain.reject_task(db.session, task, g.user, body.get("reason"),
                                                   version=body.get("version")),
    "request_supplement": lambda task, body: chain.request_supplement(
        db.session, task, g.user, body.get("note"),
        body.get("materials") if isinstance(body.get("materials"), list) else [], version=body.get("version")),
}


class TaskTransitionApi(BaseApi):
    resource_name = "task"
    allow_browser_login = False

    @expose("/<int:pk>/transition", methods=["POST"])
    @protect()
    def transition(self, pk):
        """Move a task (accept, complete, reject, request a supplement).
        ---
        post:
          summary: Move a task
          description: >-
            ``version`` is required: the task's ``version`` as read (an integer; its digits as a
            string are accepted), so that a move made on a stale read is refused (409). ``note``
            is required to ``complete`` (the result; not for an item that issues a document) and
            to ``request_supplement`` (what is missing), ``reason`` to ``reject``, ``amount`` (元)
            to ``complete`` a payout item, ``materials`` (material codes) to
            ``request_supplement``.
          parameters:
          - in: path
            name: pk
            required: true
            schema:
              type: integer
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [action, version]
                  properties:
                    action:
                      type: string
                      enum: [accept, complete, reject, request_supplement]
                    version:
                      type: integer
                      description: the task's version as read
                    note:
                      type: string
                    reason:
                      type: string
                    amount:
                      type: string
                      example: "1234.50"
                    materials:
                      type: array
                      items:
                        type: string
          responses:
            200:
              description: the task as it now is
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: the task's state does not allow the action, or ``version`` is stale
            422:
              description: >-
                a required field is missing or wrong: ``errors`` names it (``version``,
                ``note``, ``reason``, ``amount``, ``materials``)
        """
        task = visible(Task, pk)
        if task is None:
            return self.response_404()
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else {}
        try:
            check_writable(task)
        except AccessDenied as exc:
            return self.response(403, message=str(exc))
        move = TRANSITIONS.get(body.get("action"))
        if move is None:
            return self.response(400, message=gettext("Unknown action."))
        try:
            move(task, body)
            db.session.commit()
        except chain.ChainError as exc:
            db.session.rollback()
            if exc.field:
                return self.response(422, message=str(exc.message), errors={exc.field: [str(exc.message)]})
            return self.response(409, message=str(exc.message), task=task_json(task))
        except StaleDataError:
            db.session.rollback()
            return self.response(409, message=gettext("The task was changed by someone else; reload it."),
                                 task=task_json(task))
        return self.response(200, **task_json(task))
