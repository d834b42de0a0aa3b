"""Rows of the integration API as SPEC.md spells them: flat keys (``case_no``,
``item_code``, ``department_code``), not FAB's nested relations. Personal data goes
through ``app.security.personal_data``; tasks and material files through the row
filter, as on the screens."""

from flask import url_for
from marshmallow import Schema, fields

from app.extensions import db
from app.models import Task
from app.security import personal_data
from app.security.scope import scope_query
from app.views.case_panel import task_needs


def _iso(value):
    return value.isoformat() if value is not None else None


def task_ref(task):
    """A task as a case lists it."""
    return {
        "id": task.id,
        "item_code": task.item.code,
        "department_code": task.department.code,
        "status": task.status,
        "deadline": _iso(task.deadline),
        "version": task.version,
    }


def visible_tasks(case):
    """The case's tasks the caller may see (a department: its own)."""
    return scope_query(Task, db.session.query(Task)).filter(Task.case_id == case.id).order_by(Task.id).all()


def fact_ref(fact):
    return {"code": fact.code, "name": fact.name}


def material_file(row):
    """A stored scan the caller may download, and where."""
    return {
        "id": row.id,
        "form": "scan",
        "original_checked": row.original_checked,
        "uploaded_at": _iso(row.added_at),
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "download_url": url_for("CaseMaterialApi.download", pk=row.id, _external=True),
    }


def required_materials(task):
    """The materials the task's item requires of its case (one entry per requirement:
    entries of one ``group`` are alternatives), each with whether it is present and the
    files of it the caller may download."""
    return [
        {
            "group": group["group_no"],
            "code": material["code"],
            "name": material["name"],
            "form": material["form"],
            "present": material["present"],
            "files": [material_file(row) for row in material["files"]],
        }
        for group in task_needs(task)["groups"]
        for material in group["materials"]
    ]


def deceased(task):
    case = task.case
    shown = personal_data.disclosure(case)
    return {
        "name": case.deceased_name,
        "id_number": shown.deceased_id_number(case),
        "death_date": _iso(case.death_date),
        "death_circumstance": case.death_circumstance,
    }


def item_facts(task):
    """The case's facts that drive this item (its rules and its conditional needs)."""
    codes = personal_data.item_facts(task.item, [f.code for f in task.case.facts])
    return [fact_ref(f) for f in task.case.facts if f.code in codes]


class TaskRowSchema(Schema):
    id = fields.Integer()
    case_no = fields.Function(lambda task: task.case.case_no)
    item_code = fields.Function(lambda task: task.item.code)
    department_code = fields.Function(lambda task: task.department.code)
    status = fields.String()
    deadline = fields.Date(allow_none=True)
    version = fields.Integer()


class TaskDetailSchema(TaskRowSchema):
    """One task with what a department's own system needs to handle it, as the task's
    page shows it: the case, the deceased (ID number masked unless the item needs it),
    the facts behind the item, and the materials it requires with their files."""

    case_id = fields.Integer()
    item_name = fields.Function(lambda task: task.item.name)
    ready_at = fields.DateTime(allow_none=True)
    result_note = fields.String(allow_none=True)
    payout_amount = fields.Decimal(as_string=True, allow_none=True)
    payout_expected_date = fields.Date(allow_none=True)
    deceased = fields.Function(deceased)
    facts = fields.Function(item_facts)
    materials = fields.Function(required_materials)


class CaseDetailSchema(Schema):
    """SPEC's "the case with its tasks": the tasks the caller sees, and the personal
    data the caller may read (``app.security.personal_data``)."""

    id = fields.Integer()
    case_no = fields.String()
    status = fields.String()
    region_code = fields.Function(lambda case: case.region.code)
    death_proof_checked = fields.Function(lambda case: case.death_certificate_id is not None)
    deceased_name = fields.String()
    deceased_id_number = fields.Function(lambda case: personal_data.disclosure(case).deceased_id_number(case))
    deceased_gender = fields.String(allow_none=True)
    death_date = fields.Date()
    death_circumstance = fields.String()
    facts = fields.Function(lambda case: [f.code for f in personal_data.disclosure(case).facts(case)])
    applicant_name = fields.String()
    applicant_id_number = fields.Function(lambda case: personal_data.disclosure(case).applicant_id_number(case))
    applicant_phone = fields.Function(lambda case: personal_data.disclosure(case).applicant_phone(case))
    applicant_relationship = fields.String(allow_none=True)
    registered_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    tasks = fields.Function(lambda case: [task_ref(t) for t in visible_tasks(case)])
