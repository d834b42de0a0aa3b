"""Rows of the integration API as SPEC.md spells them: flat keys (``case_no``,
``item_code``, ``department_code``), not FAB's nested relations."""

from marshmallow import Schema, fields


class TaskRowSchema(Schema):
    id = fields.Integer()
    case_no = fields.Function(lambda task: task.case.case_no)
    item_code = fields.Function(lambda task: task.item.code)
    department_code = fields.Function(lambda task: task.department.code)
    status = fields.String()
    deadline = fields.Date(allow_none=True)
    version = fields.Integer()


class TaskDetailSchema(TaskRowSchema):
    case_id = fields.Integer()
    item_name = fields.Function(lambda task: task.item.name)
    ready_at = fields.DateTime(allow_none=True)
    result_note = fields.String(allow_none=True)
    payout_amount = fields.Decimal(as_string=True, allow_none=True)
    payout_expected_date = fields.Date(allow_none=True)
