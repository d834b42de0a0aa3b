"""Chinese for the departments' side: transitions, the work queue, a task's page and
the audit log (app/domain/chain.py, app/views/cases.py TaskView, app/views/audit.py)."""

ZH = {
    "Give the version of the task you read, as a whole number.": "请提供所读取任务的版本号（整数）。",
    "Write the result of handling the item.": "请填写办理结果。",
}
