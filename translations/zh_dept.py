"""Chinese for the departments' side: transitions, the work queue, a task's page and
the audit log (app/domain/chain.py, app/views/cases.py TaskView, app/views/audit.py)."""

ZH = {
    "Give the version of the task you read, as a whole number.": "请提供所读取任务的版本号（整数）。",
    "Write the result of handling the item.": "请填写办理结果。",
    # The work queue
    "All states": "全部状态",
    "Due soon": "即将到期",
    "Due": "到期",
    "Any deadline": "不限",
    "Due soon: within": "即将到期：",
    "working days": "个工作日内",
    "Filter": "筛选",
    "Default order: earliest deadline first (most urgent first)": "默认排序：办理期限由近到远，最紧急的在前",
}
