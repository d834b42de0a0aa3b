"""Chinese for the notifier's screens: the inbox and its bell, the outbox, the recorded
SMS and the channel settings of departments and users (app/views/notifications.py,
app/security/manager.py, app/views/catalogue.py, app/templates/appbuilder/navbar_right.html)."""

ZH = {
    # The inbox and the menu's bell.
    "Notifications": "通知",
    "Notification": "通知",
    "Kind": "类型",
    "Title": "标题",
    "Message": "内容",
    "Read": "已读",
    "Unread": "未读",
    "Read at": "阅读时间",
    "Mark as read": "标为已读",
    "Mark all as read": "全部标为已读",
    "%(n)s notification(s) marked as read.": "%(n)s 条通知已标为已读。",
    "All notifications": "全部通知",
    "Unread only": "仅看未读",
    "Open the task": "打开任务",
    "Task": "任务",
    # FAB's own menu entries, repeated by our copy of navbar_right.html.
    "Login": "登录",
    "Logout": "注销",
    "Profile": "用户信息",
    # The outbox and the recorded SMS.
    "Notification outbox": "通知发件箱",
    "Recorded SMS": "短信记录",
    "SMS": "短信",
    "E-mail": "电子邮件",
    "In the app": "站内",
    "Webhook": "Webhook",
    "Channel": "渠道",
    "Recipient": "接收方",
    "Address": "地址",
    "Delivery": "投递状态",
    "Pending": "待发送",
    "Sending": "发送中",
    "Sent": "已发送",
    "Failed": "发送失败",
    "Attempts": "尝试次数",
    "Last error": "最近错误",
    "Sent at": "发送时间",
    "Next attempt": "下次尝试",
    "Idempotency key": "幂等键",
    "Mobile": "手机号",
    "Template": "模板",
    "Retry": "重新发送",
    "Queue the selected failed notifications again?": "将选中的发送失败的通知重新排队发送？",
    "%(n)s notification(s) queued again.": "%(n)s 条通知已重新排队发送。",
    "%(n)s notification(s) set to pending; the broker could not be reached, so the sweep will send them.":
        "%(n)s 条通知已改为待发送；消息队列暂时无法连接，将由定时巡检补发。",
    "%(n)s notification(s) had not failed and were left as they are.": "%(n)s 条通知并未失败，保持不变。",
    # A department's channels.
    "Notification e-mail": "通知邮箱",
    "Webhook URL": "Webhook 地址",
    "Webhook secret": "Webhook 密钥",
    "Set": "已设置",
    "Not set": "未设置",
    "The department's mailbox; every notification to the department is copied there.":
        "部门的公共邮箱；发给本部门的每条通知都会抄送至此。",
    "The department's own system: each notification is POSTed there as signed JSON.":
        "部门自有业务系统的接收地址：每条通知以签名的 JSON 通过 POST 推送至此。",
    "At least 16 characters; signs the webhook's calls (HMAC-SHA256). Leave empty to keep the current secret.":
        "至少 16 个字符，用于对推送签名（HMAC-SHA256）。留空则保留现有密钥。",
    "The webhook URL must start with http:// or https:// and name a host.":
        "Webhook 地址须以 http:// 或 https:// 开头，并包含主机名。",
    "The webhook secret must be at least %(n)s characters long.": "Webhook 密钥至少 %(n)s 个字符。",
    "A webhook needs a secret of at least %(n)s characters: its calls are signed with it.":
        "配置 Webhook 须设置至少 %(n)s 个字符的密钥：推送要用它签名。",
    "Enter a valid e-mail address.": "请输入有效的电子邮箱地址。",
    # A user's channels (the admin's user screen and the profile form).
    "Notify in the app": "站内通知",
    "Notify by e-mail": "邮件通知",
    "Notify by SMS": "短信通知",
    "A mainland mobile number (11 digits), for SMS notifications": "中国大陆手机号（11 位），用于短信通知",
    "Sent to the e-mail address of the account": "发送到账户登记的电子邮箱",
    "Sent to the mobile number above": "发送到上面的手机号",
    "Enter a mainland mobile number: 11 digits starting with 13 to 19.":
        "请输入中国大陆手机号：以 13 至 19 开头的 11 位数字。",
    "E-mail notifications need an e-mail address on the account.": "邮件通知需要账户登记电子邮箱。",
    "SMS notifications need a mobile number.": "短信通知需要手机号。",
}
