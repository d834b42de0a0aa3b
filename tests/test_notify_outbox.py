"""Who is told of what, in which transaction, and the daily reminders (no worker:
these read the outbox rows the events write)."""

import datetime
import json

import pytest
from sqlalchemy import func

from app.domain import chain
from app.extensions import db
from app.models import Case, Department, DepartmentUser, Notification, Region, Task
from app.models.case import OPEN_TASK_STATES
from app.notify import messages, outbox, schedule
from tests.factories import hand_in_papers, make_case

FACTS = ["pension_enterprise", "disability_certificate"]
FAMILY_PHONE = "13800138000"


def user(name):
    return db.session.query(DepartmentUser).filter_by(username=name).one()


def rows(case=None, **filters):
    query = db.session.query(Notification).filter_by(**filters)
    if case is not None:
        query = query.filter(Notification.case_id == case.id)
    return query.order_by(Notification.id).all()


def recipients(notifications):
    """(event, channel, username or address) of each row."""
    return {(n.event, n.channel, n.user.username if n.user else n.address) for n in notifications}


def clerks(code, region="361125"):
    """The usernames of a department's active clerks (other tests add clerks too)."""
    department = db.session.query(Department).join(Region).filter(Region.code == region,
                                                                  Department.code == code).one()
    return {u.username for u in outbox.department_clerks(db.session, department.id)}


def task(case, code):
    return next(t for t in case.tasks if t.item.code == code)


@pytest.fixture
def case(ctx):
    case = make_case("window", FACTS, name="告知测试")
    hand_in_papers(case)
    db.session.commit()
    return case


def test_the_notifications_are_written_in_the_transaction_of_the_change(ctx):
    case = make_case("window", FACTS, name="同一事务")
    case_id = case.id
    assert rows(case) == []
    hand_in_papers(case)  # cremation (MZ01, the window's) becomes ready
    assert ("task_ready", "in_app", "window") in recipients(rows(case))
    db.session.rollback()  # the change is undone: so are its notifications
    assert db.session.query(Notification).filter_by(case_id=case_id).count() == 0


def test_each_department_hears_of_its_own_tasks_and_the_family_of_the_results(case):
    window = user("window")
    chain.complete_task(db.session, task(case, "MZ01"), window, note="火化完成")
    db.session.commit()
    told = recipients(rows(case))
    # The 火化证明 readied 人社, 残联 and 公安; the window is not told of its own task.
    assert {("task_ready", "in_app", name) for name in ("rs", "cl", "ga")} <= told
    assert ("task_completed", "in_app", "window") not in told
    assert ("task_completed", "sms", FAMILY_PHONE) in told
    # No one of another department or county hears of the case.
    assert not any(name in {"mz", "gjj", "yb", "ty", "cz", "yy-ga", "yy-window", "sr-supervisor"}
                   for _e, _c, name in told)

    chain.reject_task(db.session, task(case, "CL01"), user("cl"), reason="残疾证已注销")
    chain.request_supplement(db.session, task(case, "GA01"), user("ga"), "户口簿扫描件不清晰", ["HUKOU_BOOK"])
    chain.urge_task(db.session, task(case, "RS02"), user("supervisor"), "请加快办理")
    db.session.commit()
    told = recipients(rows(case))
    assert {("task_rejected", "in_app", "window"), ("task_rejected", "sms", FAMILY_PHONE),
            ("supplement_requested", "in_app", "window"), ("supplement_requested", "sms", FAMILY_PHONE),
            ("task_urged", "in_app", "rs")} <= told
    assert ("task_urged", "in_app", "cl") not in told

    sms = {n.event: messages.sms_text(n) for n in rows(case, channel="sms")}
    assert sms["task_rejected"] == (f"【身后一件事】您好，案件{case.case_no}的“残疾证注销”不予办理，原因：残疾证已注销。"
                                    "如有疑问请联系殡仪馆联办窗口。")
    assert "逝者户口簿" in sms["supplement_requested"] and "补交" in sms["supplement_requested"]
    in_app = next(n for n in rows(case, channel="in_app", event="supplement_requested"))
    assert messages.title(in_app) == "要求补正：户口注销"
    assert case.case_no in messages.text(in_app) and "逝者户口簿" in messages.text(in_app)


def test_a_payout_and_the_completed_case_are_told_to_the_family(case):
    chain.complete_task(db.session, task(case, "MZ01"), user("window"))
    chain.reject_task(db.session, task(case, "CL01"), user("cl"), reason="已注销")
    chain.reject_task(db.session, task(case, "GA01"), user("ga"), reason="已注销")
    chain.complete_task(db.session, task(case, "RS02"), user("rs"), note="已支付", amount="12345.60")
    db.session.commit()
    paid = next(n for n in rows(case, channel="sms", event="task_completed") if n.task.item.code == "RS02")
    arrival = task(case, "RS02").payout_expected_date
    assert (f"，12345.60元预计{arrival.year}年{arrival.month}月{arrival.day}日前到账"
            in messages.sms_text(paid))
    assert case.status == "completed"
    assert {("case_completed", "in_app", "window"), ("case_completed", "sms", FAMILY_PHONE)} <= recipients(
        rows(case, event="case_completed"))


def test_the_familys_sms_says_other_items_remain_only_while_they_do(case):
    chain.complete_task(db.session, task(case, "MZ01"), user("window"))
    chain.complete_task(db.session, task(case, "GA01"), user("ga"), note="已注销户口")
    chain.reject_task(db.session, task(case, "CL01"), user("cl"), reason="已注销")
    chain.complete_task(db.session, task(case, "RS02"), user("rs"), note="已支付", amount="800")  # the last one
    db.session.commit()
    sms = {n.task.item.code: messages.sms_text(n) for n in rows(case, channel="sms", event="task_completed")}
    for earlier in ("MZ01", "GA01"):
        assert "其余事项仍在办理" in sms[earlier], earlier
    assert "其余事项仍在办理" not in sms["RS02"]
    assert sms["RS02"].startswith(f"【身后一件事】您好，案件{case.case_no}的“企业养老保险参保人员") and "800.00元" in sms["RS02"]
    # What comes next is in the case-completed SMS that follows.
    assert case.status == "completed"
    (done,) = rows(case, channel="sms", event="case_completed")
    assert "全部事项已办结" in messages.sms_text(done)


def test_cancelling_a_case_tells_each_department_whose_open_task_it_closes(ctx):
    rs = db.session.query(Department).join(Region).filter(Region.code == "361125", Department.code == "RS").one()
    rs.notify_email, rs.webhook_url = "rs-office@hengfeng.gov.cn", "http://127.0.0.1:9/hook"
    try:
        case = make_case("window", FACTS, name="撤销测试")
        hand_in_papers(case)
        chain.complete_task(db.session, task(case, "MZ01"), user("window"))
        chain.reject_task(db.session, task(case, "CL01"), user("cl"), reason="已注销")  # finished before
        db.session.commit()
        chain.cancel_case(db.session, case, user("window"), "家属撤回申请")
        cancelled = rows(case, event="task_cancelled")
        told = recipients(cancelled)
        # 人社 and 公安 had open tasks: their clerks, 人社's mailbox and its own system hear of it.
        assert {("task_cancelled", "in_app", "rs"), ("task_cancelled", "in_app", "ga"),
                ("task_cancelled", "email", "rs-office@hengfeng.gov.cn"),
                ("task_cancelled", "webhook", "http://127.0.0.1:9/hook")} <= told
        assert {n.task.item.code for n in cancelled} == {"RS02", "GA01"}
        # Not 残联 (its task was finished), not the window (it cancelled), not the family (told at the window).
        assert not any(name in {"cl", "window", FAMILY_PHONE} for _e, _c, name in told)
        assert all(n.user is not None or n.department is not None for n in cancelled)  # no one by phone alone
        ga = next(n for n in cancelled if n.user is not None and n.user.username == "ga")
        assert messages.title(ga) == "已撤销：户口注销"
        assert case.case_no in messages.text(ga) and "家属撤回申请" in messages.text(ga)
        webhook = next(n for n in cancelled if n.channel == "webhook")
        assert json.loads(webhook.params)["item_code"] == "RS02"
        case_id = case.id
        db.session.rollback()  # the cancellation is undone: so are its notifications
        assert db.session.query(Notification).filter_by(case_id=case_id, event="task_cancelled").count() == 0
    finally:
        db.session.rollback()
        rs.notify_email = rs.webhook_url = None
        db.session.commit()


def test_channels_follow_each_users_and_departments_settings(ctx):
    rs = user("rs")
    department = db.session.query(Department).join(Region).filter(Region.code == "361125",
                                                                  Department.code == "RS").one()
    rs.notify_in_app, rs.notify_by_sms, rs.phone = False, True, "13900001111"
    department.notify_email, department.webhook_url = "rs-office@hengfeng.gov.cn", "http://127.0.0.1:9/hook"
    try:
        case = make_case("window", FACTS)
        chain.urge_task(db.session, task(case, "RS02"), user("supervisor"), "请办理")
        told = recipients(rows(case, event="task_urged"))
        assert {("task_urged", "sms", "rs"), ("task_urged", "email", "rs-office@hengfeng.gov.cn"),
                ("task_urged", "webhook", "http://127.0.0.1:9/hook")} <= told
        assert ("task_urged", "in_app", "rs") not in told
        # Users told are 人社's clerks only (other tests add clerks with settings of their own).
        assert {n.user.username for n in rows(case, event="task_urged") if n.user} <= clerks("RS")
        assert rows(case, channel="sms")[0].address == "13900001111"
        webhook = rows(case, channel="webhook")[0]
        assert webhook.department == department and json.loads(webhook.params)["item_code"] == "RS02"
    finally:  # make_case committed the settings: put them back
        db.session.rollback()
        rs.notify_in_app, rs.notify_by_sms, rs.phone = True, False, None
        department.notify_email = department.webhook_url = None
        db.session.commit()


# --- the daily schedule --------------------------------------------------------------

MONDAY = datetime.date(2026, 12, 7)


@pytest.fixture
def running(case):
    """Three running tasks of 横峰县: one due the next working day, one overdue, one not due."""
    chain.complete_task(db.session, task(case, "MZ01"), user("window"))
    db.session.commit()
    due, late, later = task(case, "RS02"), task(case, "CL01"), task(case, "GA01")
    due.deadline, late.deadline, later.deadline = MONDAY + datetime.timedelta(days=1), datetime.date(2026, 12, 2), \
        MONDAY + datetime.timedelta(days=5)
    db.session.commit()
    return due.id, late.id, later.id


def test_due_soon_and_overdue_are_told_once_a_day(running):
    due, late, later = running
    schedule.scan_deadlines(MONDAY)
    assert ("due_soon", "in_app", "rs") in recipients(rows(task_id=due, event="due_soon"))
    assert {n.user.username for n in rows(task_id=due, event="due_soon")} <= clerks("RS")
    # Overdue: the department and the region's supervisors (the county's and the city's).
    late_rows = rows(task_id=late, event="overdue")
    assert {("overdue", "in_app", name) for name in ("cl", "supervisor", "sr-supervisor")} <= recipients(late_rows)
    assert {n.user.username for n in late_rows} <= clerks("CL") | {"supervisor", "sr-supervisor"}
    assert rows(task_id=later) == [] or all(n.event not in ("due_soon", "overdue") for n in rows(task_id=later))
    counted = db.session.query(func.count(Notification.id)).scalar()
    schedule.scan_deadlines(MONDAY)  # the same day again: nothing new
    assert db.session.query(func.count(Notification.id)).scalar() == counted
    schedule.scan_deadlines(MONDAY + datetime.timedelta(days=1))  # the next working day: told again
    assert len(rows(task_id=late, event="overdue", channel="in_app", user=user("cl"))) == 2
    # Sunday is not a working day: no reminders.
    assert schedule.scan_deadlines(datetime.date(2026, 12, 13)) == {"due_soon": 0, "overdue": 0}


def test_supervisors_get_a_daily_digest_of_their_region_once(running):
    schedule.daily_digest(MONDAY)
    digests = {n.user.username: n for n in rows(event="daily_digest") if n.key.startswith("daily_digest:-:2026-12-07")}
    assert {"supervisor", "sr-supervisor"} <= set(digests)

    def open_tasks(region_codes):  # counted independently of the digest's own query
        return (db.session.query(func.count(Task.id)).join(Case, Case.id == Task.case_id).join(Region)
                .filter(Region.code.in_(region_codes), Task.status.in_(OPEN_TASK_STATES)).scalar())

    county = json.loads(digests["supervisor"].params)
    city = json.loads(digests["sr-supervisor"].params)
    assert county["open"] == open_tasks(["361125"])
    assert city["open"] == open_tasks(["361125", "361126"])
    assert county["overdue"] >= 1
    assert "在办任务" in messages.text(digests["supervisor"])
    schedule.daily_digest(MONDAY)  # once a day
    assert len([n for n in rows(event="daily_digest") if n.key.startswith("daily_digest:-:2026-12-07")]) == len(digests)


def test_a_reminder_another_scan_wrote_first_skips_only_that_task(running, monkeypatch):
    """Two beats overlapping: the other scan wrote one task's reminder after this one
    looked; the other tasks of the chunk are still reminded."""
    _due, late, later = running
    db.session.get(Task, later).deadline = datetime.date(2026, 12, 3)  # overdue too
    outbox.emit(db.session, "overdue", task=db.session.get(Task, late), occurrence_id=MONDAY.isoformat())
    db.session.commit()
    before = len(rows(task_id=late, event="overdue"))
    monkeypatch.setattr(schedule, "_already_told", lambda *_args: set())  # it looked before that commit
    schedule.scan_deadlines(MONDAY)
    assert len(rows(task_id=late, event="overdue")) == before
    assert ("overdue", "in_app", "ga") in recipients(rows(task_id=later, event="overdue"))


def test_in_app_rows_are_queued_first_and_each_outside_send_in_a_task_of_its_own(app, ctx, monkeypatch):
    rows = [outbox.Queued(1, "webhook"), outbox.Queued(2, "in_app"), outbox.Queued(3, "email"),
            outbox.Queued(4, "sms"), outbox.Queued(5, "in_app")]
    # Recorded SMS only write to the database, like in-app rows.
    assert outbox.delivery_batches(rows) == [[2, 4, 5], [1], [3]]
    monkeypatch.setitem(app.config, "SMS_GATEWAY", "http")  # an SMS provider is called: outside
    assert outbox.delivery_batches(rows) == [[2, 5], [1], [3], [4]]
    many = [outbox.Queued(i, "in_app") for i in range(120)]
    assert [len(batch) for batch in outbox.delivery_batches(many)] == [50, 50, 20]


def test_a_delivery_that_cannot_even_be_prepared_counts_its_attempts_then_fails(app, ctx, monkeypatch):
    from app.notify import delivery

    monkeypatch.setitem(app.config, "MAIL_SERVER", "")  # no SMTP server configured
    monkeypatch.setitem(app.config, "NOTIFY_DISPATCH", False)  # the retry is driven here, not queued
    row = Notification(key=f"prepare-fails-{datetime.datetime.now().timestamp()}", event="task_ready",
                       channel="email", address="rs@hengfeng.gov.cn", params="{}")
    db.session.add(row)
    db.session.commit()
    later = datetime.datetime(2100, 1, 1)
    states = [delivery.deliver_one(row.id, now=later) for _ in range(app.config["NOTIFY_MAX_ATTEMPTS"])]
    assert states == ["pending"] * (app.config["NOTIFY_MAX_ATTEMPTS"] - 1) + ["failed"]
    db.session.refresh(row)
    assert row.attempts == app.config["NOTIFY_MAX_ATTEMPTS"] and "MAIL_SERVER" in row.last_error
