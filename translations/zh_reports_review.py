"""Chinese for the review's fixes of the reports (failed jobs)."""

ZH = {
    "The report could not be generated; please try again or contact the administrator.":
        "报表生成失败，请重试或联系管理员。",
}
