"""Chinese for the notifier's messages (app/notify)."""

ZH = {
    "Task ready": "任务就绪",
    "Task completed": "事项办结",
    "Task rejected": "不予办理",
    "Due soon": "即将到期",
    "Urged": "督办",
    "Case completed": "案件办结",
    "Daily digest": "每日汇总",
    "New task: %(item)s": "新任务：%(item)s",
    "Supplement requested: %(item)s": "要求补正：%(item)s",
    "Completed: %(item)s": "已办结：%(item)s",
    "Rejected: %(item)s": "不予办理：%(item)s",
    "Due soon: %(item)s": "即将到期：%(item)s",
    "Overdue: %(item)s": "已超时：%(item)s",
    "Urged: %(item)s": "督办：%(item)s",
    "Case %(case_no)s completed": "案件%(case_no)s已办结",
    "Daily digest for %(date)s": "%(date)s每日汇总",
    "Case %(case_no)s (%(deceased)s): %(item)s is ready for %(department)s, due %(deadline)s.":
        "案件%(case_no)s（%(deceased)s）：%(department)s的“%(item)s”已可办理，办结期限%(deadline)s。",
    "Case %(case_no)s: %(department)s asks for a supplement to %(item)s: %(materials)s. %(note)s":
        "案件%(case_no)s：%(department)s就“%(item)s”要求补正：%(materials)s。%(note)s",
    "Case %(case_no)s: %(department)s completed %(item)s.": "案件%(case_no)s：%(department)s已办结“%(item)s”。",
    "Case %(case_no)s: %(department)s will not handle %(item)s. Reason: %(reason)s":
        "案件%(case_no)s：%(department)s对“%(item)s”不予办理。原因：%(reason)s",
    "Case %(case_no)s: %(item)s is due %(deadline)s, one working day from now.":
        "案件%(case_no)s：“%(item)s”将于%(deadline)s到期，仅剩一个工作日。",
    "Case %(case_no)s: %(item)s of %(department)s was due %(deadline)s and is overdue.":
        "案件%(case_no)s：%(department)s的“%(item)s”办结期限为%(deadline)s，现已超时。",
    "Case %(case_no)s: %(user)s urges %(item)s: %(note)s": "案件%(case_no)s：%(user)s督办“%(item)s”：%(note)s",
    "Every item of case %(case_no)s (%(deceased)s) is finished; the completion notice can be printed.":
        "案件%(case_no)s（%(deceased)s）的全部事项已办结，可打印办结告知书。",
    "Open tasks: %(open)s; overdue: %(overdue)s; due within one working day: %(due_soon)s; completed yesterday: "
    "%(completed)s; cases registered yesterday: %(registered)s.":
        "在办任务%(open)s件；已超时%(overdue)s件；一个工作日内到期%(due_soon)s件；昨日办结%(completed)s件；"
        "昨日受理案件%(registered)s件。",
    "Open: %(link)s": "查看：%(link)s",
    "page must be 0 or more and page_size 1 to 100.": "page 须为 0 或更大的整数，page_size 须为 1 至 100。",
    # The window cancelled the case: the departments whose open tasks it closed.
    "Task cancelled": "事项撤销",
    "Cancelled: %(item)s": "已撤销：%(item)s",
    "Case %(case_no)s was cancelled by %(window)s; %(item)s is closed and needs nothing more from "
    "%(department)s. Reason: %(reason)s":
        "案件%(case_no)s已由%(window)s撤销，“%(item)s”已关闭，%(department)s无需再办理。撤销原因：%(reason)s",
}
