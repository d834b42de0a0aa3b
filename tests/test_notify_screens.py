"""The notifier's screens: each user's own inbox with the menu's unread count, the
administrators' outbox with its retry, the recorded SMS, and the channel settings of
departments and users. Rows are written directly (as the worker leaves them)."""

import json
import re
import uuid

import pytest
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Department, DepartmentUser, Region, Task
from app.models.notify import EMAIL, FAILED, IN_APP, PENDING, SENT, TASK_READY, WEBHOOK, Notification, SmsMessage
from app.notify.outbox import task_params
from tests.conftest import DEMO_PASSWORD, login
from tests.factories import make_case

GA, RS = "n-ga", "n-rs"


def _user(username, role, dept_code, email=True):
    user = db.session.query(DepartmentUser).filter_by(username=username).first()
    if user is None:
        from flask import current_app

        region = db.session.query(Region).filter_by(code="361125").one()
        dept = db.session.query(Department).filter_by(region_id=region.id, code=dept_code).one()
        user = DepartmentUser(
            username=username, first_name=username, last_name="测试",
            email=f"{username}@test.invalid" if email else "", active=True,
            password=generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000"),
            roles=[current_app.appbuilder.sm.find_role(role)], departments=[dept],
        )
        db.session.add(user)
    return user


@pytest.fixture(scope="module")
def people(app):
    """Two clerks of 横峰县 (公安, 人社) and a GA task of a fresh case."""
    with app.app_context():
        ga, rs = _user(GA, "Clerk", "GA"), _user(RS, "Clerk", "RS")
        db.session.commit()
        case = make_case("window", [], name="通知测试")
        task = next(t for t in case.tasks if t.department.code == "GA")
        ids = {"ga": ga.id, "rs": rs.id, "case": case.id, "task": task.id, "case_no": case.case_no}
        db.session.remove()
        return ids


@pytest.fixture
def inbox(app, people):
    """Empty inboxes for both clerks; ``inbox.add(user_key, **fields)`` writes a row."""
    with app.app_context():
        db.session.query(Notification).filter(Notification.user_id.in_([people["ga"], people["rs"]])).delete()
        db.session.commit()

    class Inbox:
        def add(self, who, *, status=SENT, channel=IN_APP, task=True, read=False, event=TASK_READY, **fields):
            with app.app_context():
                task_row = db.session.get(Task, people["task"])
                row = Notification(
                    key=uuid.uuid4().hex, event=event, channel=channel, user_id=people[who],
                    case_id=people["case"], task_id=people["task"] if task else None,
                    params=json.dumps(task_params(task_row), ensure_ascii=False, default=str), status=status,
                    **fields,
                )
                if read:
                    from app.models.case import utcnow

                    row.read_at = utcnow()
                db.session.add(row)
                db.session.commit()
                pk = row.id
                db.session.remove()
                return pk

        def read_at(self, pk):
            with app.app_context():
                value = db.session.get(Notification, pk).read_at
                db.session.remove()
                return value

    return Inbox()


def _listed(page):
    return {int(pk) for pk in re.findall(r"/notificationview/show/(\d+)", page)}


def _badge(page):
    match = re.search(r'id="notification-unread"[^>]*>(\d+)<', page)
    return int(match.group(1)) if match else None


def test_a_user_sees_only_their_own_delivered_in_app_notifications(client, inbox, people):
    mine = inbox.add("ga")
    theirs = inbox.add("rs")
    not_yet = inbox.add("ga", status=PENDING)
    by_email = inbox.add("ga", channel=EMAIL)
    login(client, GA)
    page = client.get("/notificationview/list/").get_data(as_text=True)
    assert _listed(page) == {mine}
    assert "新任务" in page and people["case_no"] in page  # the title and case number, in Chinese
    for pk in (theirs, not_yet, by_email):
        assert client.get(f"/notificationview/show/{pk}").status_code == 404
        assert client.get(f"/notificationview/open/{pk}").status_code == 404
        assert client.post(f"/notificationview/action/mark_read/{pk}").status_code == 404
    answer = client.post("/notificationview/action_post", data={"action": "mark_read", "rowid": [mine, theirs]})
    assert answer.status_code == 404
    assert inbox.read_at(theirs) is None and inbox.read_at(mine) is None


def test_the_show_page_has_the_text_and_the_links(client, inbox, people):
    pk = inbox.add("ga")
    login(client, GA)
    page = client.get(f"/notificationview/show/{pk}").get_data(as_text=True)
    assert "已可办理" in page and people["case_no"] in page
    assert f"/notificationview/open/{pk}" in page and f"/caseview/show/{people['case']}" in page
    assert inbox.read_at(pk) is None  # reading the page is not following the link


def test_nobody_edits_adds_or_deletes_notifications(client, inbox):
    pk = inbox.add("ga")
    login(client, GA)
    assert client.get(f"/notificationview/edit/{pk}").status_code in (302, 403, 404)
    assert client.post(f"/notificationview/delete/{pk}").status_code in (302, 403, 404)
    assert client.get("/notificationview/add").status_code in (302, 403, 404)


def test_the_menu_and_the_poll_give_the_unread_count(client, inbox):
    inbox.add("ga")
    inbox.add("ga")
    inbox.add("ga", read=True)
    inbox.add("rs")
    login(client, GA)
    assert _badge(client.get("/taskview/list/").get_data(as_text=True)) == 2
    answer = client.get("/notificationview/unread")
    assert answer.status_code == 200 and answer.get_json() == {"unread": 2}
    assert answer.headers["Cache-Control"] == "no-store"
    inbox.add("ga")  # a new task arrives: the next poll sees it
    assert client.get("/notificationview/unread").get_json() == {"unread": 3}


def test_signed_out_there_is_no_bell_and_no_count(client):
    client.get("/logout/")
    assert _badge(client.get("/login/").get_data(as_text=True)) is None
    assert client.get("/notificationview/unread").status_code in (302, 401, 403)


def test_mark_read_one_several_and_all(client, inbox):
    one, two, three, four = (inbox.add("ga") for _ in range(4))
    other = inbox.add("rs")
    login(client, GA)
    answer = client.post(f"/notificationview/action/mark_read/{one}", follow_redirects=True)
    assert "1 条通知已标为已读" in answer.get_data(as_text=True)
    assert inbox.read_at(one) is not None and inbox.read_at(two) is None
    client.post("/notificationview/action_post", data={"action": "mark_read", "rowid": [two, three]})
    assert inbox.read_at(two) is not None and inbox.read_at(three) is not None and inbox.read_at(four) is None
    assert client.get("/notificationview/unread").get_json() == {"unread": 1}
    answer = client.post("/notificationview/mark_all_read", follow_redirects=True)
    assert "1 条通知已标为已读" in answer.get_data(as_text=True)
    assert inbox.read_at(four) is not None
    assert inbox.read_at(other) is None  # another user's inbox is untouched
    assert client.get("/notificationview/unread").get_json() == {"unread": 0}
    assert "全部标为已读" in client.get("/notificationview/list/").get_data(as_text=True)


def test_the_unread_filter_lists_unread_ones_only(client, inbox):
    unread, read = inbox.add("ga"), inbox.add("ga", read=True)
    login(client, GA)
    assert _listed(client.get("/notificationview/list/?unread=1").get_data(as_text=True)) == {unread}
    assert _listed(client.get("/notificationview/list/").get_data(as_text=True)) == {unread, read}


def test_opening_a_notification_marks_it_read_and_leads_to_the_task(client, inbox, people):
    pk = inbox.add("ga")
    on_case = inbox.add("ga", task=False)
    login(client, GA)
    answer = client.get(f"/notificationview/open/{pk}")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/taskview/show/{people['task']}")
    assert inbox.read_at(pk) is not None
    assert client.get(answer.headers["Location"]).status_code == 200  # the clerk may open that task
    answer = client.get(f"/notificationview/open/{on_case}")
    assert answer.headers["Location"].endswith(f"/caseview/show/{people['case']}")


def test_every_role_has_an_inbox_in_the_menu(client):
    for username in ("window", "rs", "wj", "supervisor", "manager", "admin"):
        login(client, username)
        page = client.get("/").get_data(as_text=True)
        assert "/notificationview/list/" in page, username
        assert client.get("/notificationview/list/").status_code == 200, username
        assert client.get("/notificationview/unread").status_code == 200, username


@pytest.mark.parametrize("username", ["rs", "window", "supervisor", "manager", "wj"])
def test_only_admins_open_the_outbox_and_the_sms(client, inbox, username):
    failed = inbox.add("ga", status=FAILED, channel=WEBHOOK, attempts=5, last_error="HTTP 500")
    login(client, username)
    page = client.get("/").get_data(as_text=True)
    assert "/outboxview/list/" not in page and "/smsmessageview/list/" not in page
    for url in ("/outboxview/list/", f"/outboxview/show/{failed}", "/smsmessageview/list/"):
        assert client.get(url).status_code in (302, 403), url
    assert client.post(f"/outboxview/action/retry/{failed}").status_code in (302, 403)
    with client.application.app_context():
        assert db.session.get(Notification, failed).status == FAILED
        db.session.remove()


def _outbox_row(app, **fields):
    with app.app_context():
        row = Notification(key=uuid.uuid4().hex, event=TASK_READY, channel=WEBHOOK, params="{}", **fields)
        db.session.add(row)
        db.session.commit()
        pk = row.id
        db.session.remove()
        return pk


def _row(app, pk):
    with app.app_context():
        row = db.session.get(Notification, pk)
        db.session.expunge(row)
        db.session.remove()
        return row


def test_admin_retries_failed_notifications_and_leaves_the_others(app, client):
    first = _outbox_row(app, status=FAILED, attempts=5, last_error="HTTP 500 from the receiver")
    second = _outbox_row(app, status=FAILED, attempts=5, last_error="SMTP 550")
    sent = _outbox_row(app, status=SENT, attempts=1)
    login(client, "admin")
    listing = client.get("/outboxview/list/?_flt_3_status=failed&psize_OutboxView=100").get_data(as_text=True)
    assert "HTTP 500 from the receiver" in listing and f"/outboxview/show/{sent}" not in listing
    page = client.post(f"/outboxview/action/retry/{first}", follow_redirects=True).get_data(as_text=True)
    assert "1 条通知已重新排队发送" in page
    row = _row(app, first)
    assert (row.status, row.attempts, row.next_attempt_at) == (PENDING, 0, None)
    page = client.post("/outboxview/action_post", data={"action": "retry", "rowid": [second, sent]},
                       follow_redirects=True).get_data(as_text=True)
    assert "1 条通知已重新排队发送" in page and "1 条通知并未失败，保持不变" in page
    assert _row(app, second).status == PENDING and _row(app, sent).status == SENT
    # Nothing is lost: no delete, no edit, no add.
    assert client.post(f"/outboxview/delete/{sent}").status_code in (302, 403, 404)
    assert client.get(f"/outboxview/edit/{sent}").status_code in (302, 403, 404)
    assert client.get("/outboxview/add").status_code in (302, 403, 404)
    assert _row(app, sent) is not None


def test_admin_reads_the_recorded_sms_newest_first(app, client):
    with app.app_context():
        for text in ("【横峰县身后一件事】较早的短信", "【横峰县身后一件事】较新的短信"):
            db.session.add(SmsMessage(key=uuid.uuid4().hex, phone="13800138000", text=text))
            db.session.commit()
        db.session.remove()
    login(client, "admin")
    page = client.get("/smsmessageview/list/").get_data(as_text=True)
    assert page.index("较新的短信") < page.index("较早的短信")
    assert client.get("/smsmessageview/add").status_code in (302, 403, 404)


def _department_form(app, code, **changes):
    with app.app_context():
        region = db.session.query(Region).filter_by(code="361125").one()
        dept = db.session.query(Department).filter_by(region_id=region.id, code=code).one()
        form = {
            "region": str(dept.region_id), "code": dept.code, "name": dept.name,
            "parent": str(dept.parent_id or ""), "active": "y", "notify_email": "", "webhook_url": "",
            "webhook_secret": "",
        }
        if dept.accepts_cases:
            form["accepts_cases"] = "y"
        pk = dept.id
        db.session.remove()
    form.update(changes)
    return pk, form


def _department(app, pk):
    with app.app_context():
        dept = db.session.get(Department, pk)
        values = (dept.notify_email, dept.webhook_url, dept.webhook_secret)
        db.session.remove()
        return values


def test_a_webhook_needs_an_http_url_and_a_long_secret(app, client):
    login(client, "admin")
    pk, form = _department_form(app, "CL", webhook_url="ftp://cl.example.invalid/hook", webhook_secret="s" * 20)

    def refused(message):
        return message in client.post(f"/departmentview/edit/{pk}", data=form).get_data(as_text=True)

    assert refused("Webhook 地址须以 http:// 或 https:// 开头")
    form.update(webhook_url="https://cl.example.invalid/hook", webhook_secret="short")
    assert refused("Webhook 密钥至少 16 个字符")
    form.update(webhook_secret="")
    assert refused("配置 Webhook 须设置至少 16 个字符的密钥")
    form.update(notify_email="not-an-address")
    assert refused("请输入有效的电子邮箱地址")
    assert _department(app, pk) == (None, None, None)

    secret = "0123456789abcdef-cl"
    form.update(notify_email="cl@example.com", webhook_secret=secret)
    assert client.post(f"/departmentview/edit/{pk}", data=form).status_code == 302
    assert _department(app, pk) == ("cl@example.com", "https://cl.example.invalid/hook", secret)
    # The secret is never shown, only that there is one; an empty field keeps it.
    show = client.get(f"/departmentview/show/{pk}").get_data(as_text=True)
    assert secret not in show and "已设置" in show
    assert secret not in client.get(f"/departmentview/edit/{pk}").get_data(as_text=True)
    assert secret not in client.get("/departmentview/list/?psize_DepartmentView=100").get_data(as_text=True)
    form.update(webhook_secret="", webhook_url="http://cl.example.invalid/v2")
    assert client.post(f"/departmentview/edit/{pk}", data=form).status_code == 302
    assert _department(app, pk) == ("cl@example.com", "http://cl.example.invalid/v2", secret)
    form.update(webhook_url="", webhook_secret="", notify_email="")
    assert client.post(f"/departmentview/edit/{pk}", data=form).status_code == 302


def _user_row(app, username):
    with app.app_context():
        user = db.session.query(DepartmentUser).filter_by(username=username).one()
        values = (user.phone, user.notify_in_app, user.notify_by_email, user.notify_by_sms)
        db.session.remove()
        return values


def test_the_admin_sets_a_users_phone_and_channels(app, client, people):
    with app.app_context():
        user = db.session.get(DepartmentUser, people["rs"])
        form = {
            "first_name": user.first_name, "last_name": user.last_name, "username": user.username, "active": "y",
            "email": user.email, "roles": [str(r.id) for r in user.roles],
            "departments": [str(d.id) for d in user.departments], "notify_in_app": "y",
        }
        db.session.remove()
    login(client, "admin")
    page = client.post(f"/users/edit/{people['rs']}", data=dict(form, phone="12345678901")).get_data(as_text=True)
    assert "请输入中国大陆手机号" in page
    page = client.post(f"/users/edit/{people['rs']}", data=dict(form, notify_by_sms="y")).get_data(as_text=True)
    assert "短信通知需要手机号" in page
    answer = client.post(f"/users/edit/{people['rs']}", data=dict(form, phone="13912345678", notify_by_sms="y"))
    assert answer.status_code == 302
    assert _user_row(app, RS) == ("13912345678", True, False, True)
    show = client.get(f"/users/show/{people['rs']}").get_data(as_text=True)
    assert "13912345678" in show and "短信通知" in show


def test_each_user_sets_their_own_phone_and_channels(app, client):
    with app.app_context():
        _user("n-self", "Clerk", "MZ")
        db.session.commit()
        db.session.remove()
    login(client, "n-self")
    form = client.get("/notifyuserinfoeditview/form").get_data(as_text=True)
    assert "手机号" in form and "短信通知" in form
    base = {"first_name": "自助", "last_name": "测试"}
    page = client.post("/notifyuserinfoeditview/form", data=dict(base, notify_by_sms="y")).get_data(as_text=True)
    assert "短信通知需要手机号" in page
    page = client.post("/notifyuserinfoeditview/form", data=dict(base, phone="1391234567")).get_data(as_text=True)
    assert "请输入中国大陆手机号" in page
    assert _user_row(app, "n-self") == (None, True, False, False)
    answer = client.post("/notifyuserinfoeditview/form",
                         data=dict(base, phone=" 13912345678 ", notify_by_email="y", notify_by_sms="y"))
    assert answer.status_code == 302
    assert _user_row(app, "n-self") == ("13912345678", False, True, True)
    assert "13912345678" in client.get("/users/userinfo/").get_data(as_text=True)


def test_e_mail_notifications_need_an_address_on_the_account(app, client):
    with app.app_context():
        _user("n-nomail", "Clerk", "MZ", email=False)
        db.session.commit()
        db.session.remove()
    login(client, "n-nomail")
    page = client.post("/notifyuserinfoeditview/form",
                       data={"first_name": "无邮箱", "last_name": "测试", "notify_by_email": "y"}).get_data(as_text=True)
    assert "邮件通知需要账户登记电子邮箱" in page
    assert _user_row(app, "n-nomail")[2] is False


def test_the_language_menu_defaults_to_chinese(client):
    login(client, "rs")
    with client.session_transaction() as session:
        session.pop("locale", None)
    page = client.get("/").get_data(as_text=True)
    # The menu offers the other language (English), not the one in use.
    assert "/lang/en" in page and "/lang/zh" not in page


# --- the integration API: GET /api/v1/notification/ ---------------------------------

def test_the_api_lists_the_callers_own_notifications_newest_first(app, client, people, inbox):
    from tests.conftest import jwt_headers

    first = inbox.add("ga")
    second = inbox.add("ga", read=True)
    inbox.add("ga", status=PENDING)  # not delivered yet: not in the list
    others = inbox.add("rs")
    headers = jwt_headers(client, GA)
    answer = client.get("/api/v1/notification/", headers=headers)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["ids"] == [second, first] and body["count"] == 2 and body["unread"] == 1
    row = body["result"][1]
    assert row["case_no"] == people["case_no"] and row["task_id"] == people["task"] and row["event"] == "task_ready"
    assert row["title"].startswith("新任务：") and row["read_at"] is None
    assert client.get("/api/v1/notification/?unread=1", headers=headers).get_json()["ids"] == [first]
    assert client.get("/api/v1/notification/?page_size=500", headers=headers).status_code == 400

    assert client.post(f"/api/v1/notification/{others}/read", headers=headers).status_code == 404
    marked = client.post(f"/api/v1/notification/{first}/read", headers=headers)
    assert marked.status_code == 200 and marked.get_json()["unread"] == 0
    # JWT only: no token, no answer; a signed-in browser session is not enough.
    assert client.get("/api/v1/notification/").status_code == 401
    login(client, GA)
    assert client.get("/api/v1/notification/").status_code == 401
