"""Chinese for who sees what: the integration API's case, task and material reads
(app/views/cases.py, app/views/api_schemas.py) and the personal-data rule
(app/security/personal_data.py)."""

ZH = {
    "Id": "记录号",
    "Case id": "案件记录号",
    "Region code": "行政区划代码",
    "Department code": "部门编码",
    "Completed on": "办结时间",
    "Version": "版本号",
    "Expected arrival date": "预计到账日期",
}
