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
    # The audit log
    "Signed in": "登录",
    "Failed to sign in": "登录失败",
    "Registered the case": "登记案件",
    "Cancelled the case": "撤销案件",
    "Added a material": "添加材料",
    "Downloaded a material": "下载材料",
    "Printed the registration form": "打印联办登记表",
    "Printed the completion notice": "打印办结告知书",
    "Looked up a death proof": "查询死亡证明",
    "Task became ready": "任务转为待办理",
    "Accepted the task": "受理任务",
    "Completed the task": "办结任务",
    "Rejected the task": "不予办理",
    "Closed the task with its case": "随案件撤销关闭任务",
    "Requested a supplement": "要求补正",
    "Supplement received": "补正材料已到",
    "Urged the task": "督办任务",
    "Case material": "案件材料",
    "Death proof": "死亡证明",
    "Urging": "督办",
    # FAB's list header, written by the work queue itself (app.views.cases.queue_header):
    # as FAB's own catalogue says them.
    "Page size": "显示行数",
    "Back": "后退",
    "Record Count": "记录数目",
}
