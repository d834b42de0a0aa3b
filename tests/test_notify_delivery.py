"""The notifier with real parts: Celery workers in their own processes on Redis,
delivering to an SMTP server on loopback and to a webhook receiver that checks the
signature; and the faults: a webhook answering 500, an SMTP server refusing, the broker
stopped while a case is registered, a worker killed in the middle of a delivery."""

import email
import email.policy
import time

import pytest

from app.domain import chain
from app.extensions import db
from app.models import Department, DepartmentUser, Material, Notification, Region, SmsMessage, Task
from app.notify import delivery, outbox
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
def worker(stack):
    running = stack.worker()
    yield running
    running.stop()


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
        payload = wait_for(lambda: next((p for p in receiver.processed.values()
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


def test_a_webhook_answering_500_is_retried_with_backoff_then_failed_then_retried(stack, worker, parts):
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
    finally:
        receiver.mode = "ok"
    with stack.app.app_context():
        retried = delivery.retry_failed(db.session, [row_id])
        db.session.commit()
        assert retried == [row_id] and outbox.dispatch(retried)
        wait_for(lambda: _rows(id=row_id)[0][3] == "sent", message="the retried webhook")
        assert key in receiver.processed


def test_an_smtp_server_refusing_is_retried_then_failed_then_retried(stack, worker, parts):
    _receiver, smtp = parts
    sent_before = len(smtp.messages)
    smtp.refuse = True
    try:
        with stack.app.app_context():
            case = make_case("window", facts=["pension_enterprise"])
            task_id = _urge(case)
            failed = wait_for(lambda: [r for r in _rows(task_id=task_id, channel="email") if r[3] == "failed"],
                              message="the e-mail row to fail")
            row_id, error = failed[0][0], failed[0][6]
            assert failed[0][4] == 3 and "550" in error
    finally:
        smtp.refuse = False
    with stack.app.app_context():
        outbox.dispatch(delivery.retry_failed(db.session, [row_id]))  # queued before commit: not yet due
        db.session.commit()
        outbox.dispatch([row_id])
        wait_for(lambda: _rows(id=row_id)[0][3] == "sent", message="the retried e-mail")
        assert len(smtp.messages) == sent_before + 1


def test_with_the_broker_down_the_case_saves_and_its_notifications_arrive_later(app, db_url, parts, rs_channels,
                                                                              tmp_path):
    receiver, smtp = parts
    broker = PrivateRedis(tmp_path).start()
    down = Stack(db_url, str(tmp_path), broker.url, smtp.port)
    running = down.worker("broker-down")
    try:
        broker.stop()
        with down.app.app_context():
            started = time.monotonic()
            case = make_case("window", facts=["pension_enterprise"], name="断线测试")
            task_id = _urge(case)
            saved_in = time.monotonic() - started
            assert saved_in < 5, f"saving took {saved_in:.1f} s with the broker down"
            rows = _rows(task_id=task_id)
            assert rows and {r[3] for r in rows} == {"pending"}

            broker.start()  # same port: the worker reconnects, beat's sweep finds the rows
            wait_for(lambda: {r[3] for r in _rows(task_id=task_id)} == {"sent"}, timeout=60,
                     message="the notifications after the broker came back")
            keys = [r[7] for r in rows if r[2] == "webhook"]
            assert keys and all(receiver.keys().count(k) == 1 for k in keys)
    finally:
        running.stop()
        broker.stop()


def test_a_worker_killed_in_the_middle_of_a_delivery_delivers_once(app, db_url, parts, rs_channels, tmp_path):
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
            assert list(receiver.processed).count(key) == 1  # … which processed it once
            assert db.session.get(Task, task_id) is not None
            db.session.rollback()
    finally:
        receiver.mode = "ok"
        receiver.release.set()
        first.stop()
