"""The notifier with real parts: Celery workers in their own processes on Redis (beat
in them, both queues, a few threads), delivering to an SMTP server on
loopback and to a webhook receiver that checks the signature; and the faults: a
webhook held open or hanging, a webhook answering 500, an SMTP server refusing for good
or for now, the broker stopped while a case is registered, a worker killed in the
middle of a webhook call or of an e-mail."""

import datetime
import email
import email.policy
import re
import threading
import time

import pytest

from app.domain import chain
from app.extensions import db
from app.models import Department, DepartmentUser, Material, Notification, Region, SmsMessage, Task
from app.notify import channels
from app.views.notifications import mark_read
from tests.conftest import login
from tests.factories import PDF, make_case
from tests.notify_support import (
    REDIS_URL,
    SETTINGS,
    PrivateRedis,
    Receiver,
    Smtp,
    Stack,
    require_redis,
    wait_for,
)

SECRET = "rs-webhook-secret-of-the-test-0123456789"
MATERIALS = ["DECEASED_ID", "DEATH_PROOF", "HUKOU_BOOK", "APPLICANT_ID", "BANK_OR_SSC_CARD"]


@pytest.fixture(scope="module")
def parts(app):
    require_redis()
    receiver, smtp = Receiver(SECRET), Smtp()
    yield receiver, smtp
    receiver.close()
    smtp.close()


@pytest.fixture(scope="module")
def rs_channels(app, parts):
    """横峰县 人社 has its own system (a webhook) and its clerk ``rs`` wants e-mail."""
    receiver, _smtp = parts
    with app.app_context():
        rs = _department("361125", "RS")
        rs.webhook_url, rs.webhook_secret = receiver.url, SECRET
        clerk = _user("rs")
        clerk.email, clerk.notify_by_email = "rs@hengfeng.gov.cn", True
        db.session.commit()
    yield
    with app.app_context():
        rs = _department("361125", "RS")
        rs.webhook_url = rs.webhook_secret = None
        _user("rs").notify_by_email = False
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="module")
def stack(app, db_url, parts, rs_channels, tmp_path_factory):
    return Stack(db_url, str(tmp_path_factory.mktemp("notify")), REDIS_URL, parts[1].port)


@pytest.fixture(scope="module")
def module_worker(stack):
    running = stack.worker()
    yield running
    running.stop()


@pytest.fixture
def worker(module_worker):
    """The module's worker, started again if a test before stopped it."""
    if not module_worker.running():
        module_worker.start()
    return module_worker


@pytest.fixture
def alone(module_worker):
    """The module's worker stopped for the test: no beat but the test's own sweeps the
    outbox (a sweep sends every due row of the database, whatever its queue)."""
    module_worker.stop()


def _department(region_code, code):
    return db.session.query(Department).join(Region).filter(Region.code == region_code, Department.code == code).one()


def _user(username):
    return db.session.query(DepartmentUser).filter_by(username=username).one()


def _material(code):
    return db.session.query(Material).filter_by(code=code).one()


def _task(case, item_code):
    return next(t for t in case.tasks if t.item.code == item_code)


def _rows(**filters):
    """The outbox rows, read in a transaction that ends at once (on SQLite every
    transaction holds the write lock the worker needs)."""
    rows = [(n.id, n.event, n.channel, n.status, n.attempts, n.user_id, n.last_error, n.key)
            for n in db.session.query(Notification).filter_by(**filters).order_by(Notification.id)]
    db.session.rollback()
    return rows


def _parse(message):
    return email.message_from_string(message["data"], policy=email.policy.default)


def _epoch(naive_utc):
    return naive_utc.replace(tzinfo=datetime.UTC).timestamp()


def _sent_at(row_id):
    value = db.session.get(Notification, row_id).sent_at
    db.session.rollback()
    return value


def _retry_from_the_outbox_screen(app, row_id):
    """The admin opens the failed row's page and presses 重试, as the screen's form posts."""
    client = app.test_client()
    login(client, "admin")
    page = client.get(f"/outboxview/show/{row_id}").get_data(as_text=True)
    form = re.search(r'<form id="action_form" action="(/outboxview/action/retry/\d+)" method="POST"', page)
    assert form, "the failed row's page has no retry action"
    answer = client.post(form.group(1), data={"action": ""}, follow_redirects=True)
    assert "1 条通知已重新排队发送" in answer.get_data(as_text=True)


def _urge(case, item_code="RS02", note="请尽快办理"):
    task = _task(case, item_code)
    task_id = task.id
    chain.urge_task(db.session, task, _user("supervisor"), note)
    db.session.commit()
    return task_id


def test_one_case_reaches_the_app_the_mailbox_the_webhook_and_the_family(stack, worker, parts):
    receiver, smtp = parts
    with stack.app.app_context():
        case = make_case("window", facts=["pension_enterprise"], name="通知测试")
        window = _user("window")
        for code in MATERIALS:
            chain.add_material(db.session, case, _material(code), window, original_checked=True, content=PDF,
                               filename=f"{code}.pdf")
        db.session.commit()
        chain.complete_task(db.session, _task(case, "MZ01"), window, note="火化完成")
        db.session.commit()  # the 火化证明 readies 人社's RS02
        rs02 = _task(case, "RS02")
        assert rs02.status == "ready"
        case_no, rs02_id, case_id, id_number = case.case_no, rs02.id, case.id, case.deceased_id_number
        db.session.rollback()  # end the read: on SQLite a transaction holds the lock the worker needs

        # The department's own system: one signed call with codes, not personal data.
        payload = wait_for(lambda: next((p for p in receiver.processed_payloads()
                                         if p["task_id"] == rs02_id and p["event"] == "task_ready"), None),
                           message="the webhook")
        assert payload["case_number"] == case_no and payload["item_code"] == "RS02"
        assert payload["department_code"] == "RS" and payload["deadline"]
        assert "通知测试" not in str(payload) and id_number not in str(payload)
        assert all(call["verified"] for call in receiver.calls)

        # The clerk's mailbox: in Chinese, with the case number and a link to the task.
        parsed = wait_for(lambda: next((_parse(m) for m in smtp.messages if m["to"] == ["rs@hengfeng.gov.cn"]
                                        and case_no in _parse(m).get_content()), None), message="the e-mail")
        assert parsed["Subject"].startswith("[身后一件事] 新任务：")
        body = parsed.get_content()
        assert case_no in body and f"/taskview/show/{rs02_id}" in body

        # The clerk's in-app list: delivered; nobody of 弋阳县 hears of it.
        rs_id, yy_id = _user("rs").id, _user("yy-ga").id
        db.session.rollback()
        wait_for(lambda: any(r[3] == "sent" for r in _rows(task_id=rs02_id, user_id=rs_id, channel="in_app",
                                                             event="task_ready")), message="the in-app row")
        assert _rows(user_id=yy_id, case_id=case_id) == []

        # The family: an SMS that cremation is done, through the default gateway.
        sms = wait_for(lambda: db.session.query(SmsMessage).filter(SmsMessage.text.contains(case_no)).first()
                       or db.session.rollback(), message="the family's SMS")
        assert sms.phone == "13800138000" and "已办结" in sms.text and sms.text.startswith("【身后一件事】")
        db.session.rollback()


HOLD_SECONDS = 2.5


def test_a_webhook_held_open_does_not_hold_up_writes_to_the_database(stack, worker, parts):
    """On SQLite every transaction takes the one write lock: none may be open while a
    department's system takes its time to answer."""
    receiver, _smtp = parts
    receiver.arrived.clear()
    receiver.release.clear()
    receiver.mode = "hold"
    release = threading.Timer(HOLD_SECONDS, receiver.release.set)
    try:
        with stack.app.app_context():
            task_id = _urge(make_case("window", facts=["pension_enterprise"]))
            assert receiver.arrived.wait(30), "the webhook call never arrived"
            release.start()  # the receiver answers HOLD_SECONDS after the call arrived
            started = time.monotonic()
            make_case("window", facts=["medical_employee"], name="锁等待测试")  # the window registers a case
            mark_read(db.session, _user("rs").id)  # a clerk reads their notifications
            db.session.commit()
            took = time.monotonic() - started
            assert took < 1.0, f"the writes waited {took:.2f} s for a webhook call held open {HOLD_SECONDS} s"
            assert _rows(task_id=task_id, channel="webhook")[0][3] == "sending"  # the call was still open
    finally:
        receiver.mode = "ok"
        receiver.release.set()
        release.cancel()
    with stack.app.app_context():
        wait_for(lambda: _rows(task_id=task_id, channel="webhook")[0][3] == "sent", message="the held webhook")


def test_a_hanging_webhook_does_not_delay_another_departments_in_app_notification(stack, worker, parts):
    receiver, _smtp = parts
    receiver.arrived.clear()
    receiver.release.clear()
    receiver.mode = "hold"  # 人社's system hangs until the end of the test
    try:
        with stack.app.app_context():
            case = make_case("window", facts=["pension_enterprise", "disability_certificate"])
            rs_task = _urge(case, "RS02")
            assert receiver.arrived.wait(30), "the webhook call never arrived"
            cl_task = _urge(case, "CL01")  # 残联's task, while 人社's call hangs
            committed = time.time()
            (row_id, *_rest), = [r for r in _rows(task_id=cl_task, channel="in_app", event="task_urged")
                                 if r[5] == _user("cl").id]
            db.session.rollback()
            wait_for(lambda: _rows(id=row_id)[0][3] == "sent", timeout=30, message="残联's in-app notification")
            latency = _epoch(_sent_at(row_id)) - committed
            assert [r[3] for r in _rows(task_id=rs_task, channel="webhook")] == ["sending"]  # still hanging
            assert latency < 1.5, f"残联's in-app notification took {latency:.2f} s behind a hanging webhook"
    finally:
        receiver.mode = "ok"
        receiver.release.set()


def test_a_webhook_answering_500_is_retried_with_backoff_then_failed_then_retried_from_the_screen(stack, worker,
                                                                                                 parts):
    receiver, _smtp = parts
    receiver.mode = "fail"
    try:
        with stack.app.app_context():
            case = make_case("window", facts=["pension_enterprise"])
            task_id = _urge(case)
            failed = wait_for(lambda: [r for r in _rows(task_id=task_id, channel="webhook") if r[3] == "failed"],
                              message="the webhook row to fail")
            (row_id, _event, _channel, _status, attempts, _user_id, error, key), = failed
            assert attempts == SETTINGS["NOTIFY_MAX_ATTEMPTS"] and "500" in error
            times = [c["at"] for c in receiver.calls if c["key"] == key]
            assert len(times) == 3
            # Exponential backoff: about 0.3 s, then about 0.6 s.
            assert times[1] - times[0] >= 0.25 and times[2] - times[1] >= 0.5
            assert key not in [k for k, _payload in receiver.processed]
    finally:
        receiver.mode = "ok"
    _retry_from_the_outbox_screen(stack.app, row_id)
    with stack.app.app_context():
        wait_for(lambda: _rows(id=row_id)[0][3] == "sent", message="the webhook retried from the screen")
        assert [k for k, _payload in receiver.processed].count(key) == 1


def test_an_smtp_server_refusing_for_good_fails_at_once_and_is_retried_from_the_screen(stack, worker, parts):
    _receiver, smtp = parts
    sent_before = len(smtp.messages)
    smtp.refuse = "550 5.1.1 Mailbox unavailable"
    try:
        with stack.app.app_context():
            case = make_case("window", facts=["pension_enterprise"])
            task_id = _urge(case)
            failed = wait_for(lambda: [r for r in _rows(task_id=task_id, channel="email") if r[3] == "failed"],
                              message="the e-mail row to fail")
            row_id, attempts, error = failed[0][0], failed[0][4], failed[0][6]
            assert attempts == 1 and "550" in error  # a permanent refusal is not tried again
    finally:
        smtp.refuse = None
    _retry_from_the_outbox_screen(stack.app, row_id)
    with stack.app.app_context():
        wait_for(lambda: _rows(id=row_id)[0][3] == "sent", message="the e-mail retried from the screen")
        assert len(smtp.messages) == sent_before + 1


def test_an_smtp_server_refusing_for_now_is_retried_with_backoff_then_failed(stack, worker, parts):
    _receiver, smtp = parts
    smtp.refuse = "451 4.3.0 Try again later"
    try:
        with stack.app.app_context():
            case = make_case("window", facts=["pension_enterprise"])
            task_id = _urge(case)
            failed = wait_for(lambda: [r for r in _rows(task_id=task_id, channel="email") if r[3] == "failed"],
                              message="the e-mail row to fail")
            assert failed[0][4] == SETTINGS["NOTIFY_MAX_ATTEMPTS"] and "451" in failed[0][6]
    finally:
        smtp.refuse = None


def test_with_the_broker_down_the_case_saves_and_its_notifications_arrive_later(app, db_url, parts, rs_channels,
                                                                              alone, tmp_path):
    receiver, smtp = parts
    broker = PrivateRedis(tmp_path).start()
    down = Stack(db_url, str(tmp_path), broker.url, smtp.port)
    running = down.worker("broker-down")
    try:
        broker.stop()
        with down.app.app_context():
            started = time.monotonic()
            # The window registers the case, checks the originals and uploads the scans,
            # and completes cremation: every department's task becomes ready.
            case = make_case("window", facts=["pension_enterprise"], name="断线测试")
            window = _user("window")
            for code in MATERIALS:
                chain.add_material(db.session, case, _material(code), window, original_checked=True, content=PDF,
                                   filename=f"{code}.pdf")
            db.session.commit()
            chain.complete_task(db.session, _task(case, "MZ01"), window, note="火化完成")
            db.session.commit()
            case_id, rs02_id = case.id, _task(case, "RS02").id
            saved_in = time.monotonic() - started
            assert saved_in < 10, f"saving took {saved_in:.1f} s with the broker down"
            ready = _rows(case_id=case_id, event="task_ready")
            assert {r[3] for r in ready} == {"pending"}
            assert any(r[2] == "webhook" for r in _rows(task_id=rs02_id, event="task_ready"))

            broker.start()  # same port: the worker reconnects, beat's sweep finds the rows
            wait_for(lambda: {r[3] for r in _rows(case_id=case_id)} == {"sent"}, timeout=60,
                     message="the notifications after the broker came back")
            keys = [r[7] for r in ready if r[2] == "webhook"]
            assert keys and all(receiver.keys().count(k) == 1 for k in keys)
            assert {p["task_id"] for p in receiver.processed_payloads() if p["event"] == "task_ready"} >= {rs02_id}
    finally:
        running.stop()
        broker.stop()


def test_a_worker_killed_in_the_middle_of_a_webhook_call_delivers_it_once(app, db_url, parts, rs_channels, alone,
                                                                         tmp_path):
    receiver, smtp = parts
    killed = Stack(db_url, str(tmp_path), REDIS_URL, smtp.port)
    first = killed.worker("killed")
    receiver.arrived.clear()
    receiver.release.clear()
    receiver.mode = "hold"
    try:
        with killed.app.app_context():
            case = make_case("window", facts=["pension_enterprise"])
            task_id = _urge(case)
            assert receiver.arrived.wait(30), "the webhook call never arrived"
            first.kill()  # in the middle of the call: the worker never learns the answer
            receiver.mode = "ok"
            receiver.release.set()
            (row_id, *_rest, key), = _rows(task_id=task_id, channel="webhook")
            assert _rows(id=row_id)[0][3] == "sending"

            second = killed.worker("after-kill")  # the sweep takes the row back after the lease
            try:
                wait_for(lambda: _rows(id=row_id)[0][3] == "sent", timeout=60, message="the delivery after the kill")
            finally:
                second.stop()
            assert _rows(id=row_id)[0][4] == 2  # two attempts …
            assert receiver.keys().count(key) == 2  # … both reached the receiver with the same key …
            assert [k for k, _payload in receiver.processed].count(key) == 1  # … which processed it once
            assert db.session.get(Task, task_id) is not None
            db.session.rollback()
    finally:
        receiver.mode = "ok"
        receiver.release.set()
        first.stop()


def test_a_worker_killed_in_the_middle_of_an_email_sends_it_again_with_the_same_message_id(app, db_url, parts,
                                                                                           rs_channels, alone,
                                                                                           tmp_path):
    _receiver, smtp = parts
    killed = Stack(db_url, str(tmp_path), REDIS_URL, smtp.port)
    first = killed.worker("killed-mail")
    smtp.arrived.clear()
    smtp.release.clear()
    smtp.hold = True  # the server has the message and keeps its answer
    try:
        with killed.app.app_context():
            case = make_case("window", facts=["pension_enterprise"])
            task_id = _urge(case)
            assert smtp.arrived.wait(30), "the e-mail never arrived"
            first.kill()
            smtp.hold = False
            smtp.release.set()
            (row_id, *_rest, key), = _rows(task_id=task_id, channel="email")
            assert _rows(id=row_id)[0][3] == "sending"

            second = killed.worker("after-kill-mail")
            try:
                wait_for(lambda: _rows(id=row_id)[0][3] == "sent", timeout=60, message="the e-mail after the kill")
            finally:
                second.stop()
            message_id = channels.message_id(key, killed.app.config["MAIL_FROM"])
            copies = [m for m in smtp.messages if _parse(m)["Message-ID"] == message_id]
            assert len(copies) == 2 and _rows(id=row_id)[0][4] == 2  # sent twice, the same Message-ID …
            assert [m["message_id"] for m in smtp.processed].count(message_id) == 1  # … and kept once
    finally:
        smtp.hold = False
        smtp.release.set()
        first.stop()
