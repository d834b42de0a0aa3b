"""Chinese of the admin screens' labels for codes: region levels, fact categories, roles."""

ZH = {
    "Province": "省",
    "City": "市",
    "County": "县",
    "Civil-affairs benefits": "民政待遇",
    "Pension insurance": "养老保险",
    "Employment": "机关事业单位",
    "Housing provident fund": "住房公积金",
    "Medical insurance": "医疗保险",
    "Disability": "残疾人",
    "Veterans' benefits": "优抚",
    "Other": "其他",
    "Administrator": "系统管理员",
    "Joint-handling window": "联办窗口",
    "Department clerk": "部门经办人",
    "Death-certificate issuer": "死亡证明开具",
    "Supervisor": "督办",
    "Manager": "领导",
    "Public (not signed in)": "未登录用户",
    "Every item": "全部事项",
    "The case went into handling": "案件转为办理中",
    "Every item finished: the case completed": "全部事项办结，案件办结",
    "Corrected the case's contact details": "更正案件联系信息",
    "Registered despite differences from the death proof": "与死亡证明登记不一致，经确认后登记",
    "The form had expired or did not come from this back office, so nothing was saved. Please fill it in and send it again.":
        "表单已过期或并非来自本系统，未保存任何内容。请重新填写后再提交。",
}
