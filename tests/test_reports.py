"""Managers' statistics and the overdue supervision list: the figures agree with a
count made here, task by task, from synthetic cases and a hand-made case with a
supplement and urgings; a county's manager never gets another county's figures, the
city's supervisor gets both; the PDFs read back as text with the chart drawn, the CSV
opens in Excel (UTF-8 with BOM), and the command line writes the files.

The synthetic cases are registered in May–July 2025, a period no other test uses,
and removed again afterwards."""

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

from app import reporting
from app.domain import chain
from app.domain.statistics import (
    DepartmentRef,
    ItemRef,
    OverdueList,
    OverdueTask,
    Period,
    RegionRef,
    compute_statistics,
    overdue_list,
)
from app.extensions import db
from app.models import (
    AuditLog,
    CalendarDay,
    Case,
    Department,
    DepartmentUser,
    Region,
    Task,
    TaskUrging,
)
from app.models.case import ACCEPTED, CASE_CANCELLED, COMPLETED, READY, REJECTED
from app.security.scope import Scope, scope_for
from app.synthetic import generate
from tests.factories import case_number_sequences, make_case, remove_cases
from tests.test_pdf import assert_chinese_font_embedded, drawn_text

NOW = dt.datetime(2025, 7, 20, 6, 0)  # naive UTC
JUNE = Period.month(2025, 6)
HENGFENG, YIYANG, SHANGRAO = "361125", "361126", "361100"
EIGHT_HOURS = dt.timedelta(hours=8)


def utc(day, hour=10):
    """A naive UTC timestamp at ``hour`` o'clock CST on ``day``."""
    return dt.datetime.combine(day, dt.time(hour)) - EIGHT_HOURS


APRIL = Period.month(2025, 4)  # a month no other test uses


@pytest.fixture(scope="module")
def refused_then_cancelled(app):
    """A 横峰县 case of April 2025: 人社 refuses RS02 on the 15th, then on the 16th the
    window cancels the case, which closes its other open tasks."""
    with app.app_context():
        case = make_case("window", ["pension_enterprise", "medical_employee"], name="先拒后撤")
        case.registered_at = utc(dt.date(2025, 4, 14), 9)
        for task in case.tasks:
            task.status, task.ready_at, task.deadline = READY, utc(dt.date(2025, 4, 14)), dt.date(2025, 4, 18)
        db.session.commit()
        refused = next(t for t in case.tasks if t.item.code == "RS02")
        users = {u.username: u for u in db.session.query(DepartmentUser).filter(
            DepartmentUser.username.in_(("rs", "window")))}
        chain.reject_task(db.session, refused, users["rs"], "不符合支付条件", now=utc(dt.date(2025, 4, 15)))
        chain.cancel_case(db.session, case, users["window"], "家属撤回申请", now=utc(dt.date(2025, 4, 16)))
        db.session.commit()
        ids = {"case": case.id, "refused": refused.id,
               "closed": [t.id for t in case.tasks if t.id != refused.id]}
        db.session.remove()
        return ids


@pytest.fixture(scope="module")
def world(app, refused_then_cancelled):
    """Synthetic cases over both counties, and one hand-made 横峰县 case registered on
    2 June 2025 whose GA01 was completed after a supplement and whose RS02 is overdue
    and urged twice. (The April case is made first: the case-number sequences put back
    afterwards must keep its number taken.)"""
    with app.app_context():
        case = make_case("window", ["pension_enterprise", "medical_employee"], name="统计测试")
        case.registered_at = utc(dt.date(2025, 6, 2), 9)
        tasks = {t.item.code: t for t in case.tasks}
        done = tasks["GA01"]
        # Ready on Tuesday 3 June, supplement asked on 5 June and received on 10 June,
        # completed on 17 June (the Dragon Boat Festival was Monday 2 June).
        done.status, done.ready_at, done.deadline = COMPLETED, utc(dt.date(2025, 6, 3)), dt.date(2025, 6, 12)
        done.finished_at = utc(dt.date(2025, 6, 17), 15)
        for action, day in (("supplement_requested", dt.date(2025, 6, 5)), ("supplement_received", dt.date(2025, 6, 10))):
            db.session.add(AuditLog(action=action, object_type="task", object_id=done.id, case_id=case.id,
                                    region_id=case.region_id, at=utc(day, 11)))
        late = tasks["RS02"]
        late.status, late.ready_at, late.deadline = ACCEPTED, utc(dt.date(2025, 6, 3)), dt.date(2025, 6, 9)
        db.session.commit()
        supervisor = db.session.query(DepartmentUser).filter_by(username="supervisor").one()
        chain.urge_task(db.session, late, supervisor, "请尽快办结")
        chain.urge_task(db.session, late, supervisor, "再次督办")
        db.session.commit()
        # After the hand-made case, so that putting the sequences back keeps its number taken.
        sequences = case_number_sequences()
        before = db.session.scalar(select(func.max(Case.id))) or 0
        generate(160, months=2, random_seed=6, now=NOW)
        synthetic_ids = list(db.session.scalars(select(Case.id).where(Case.id > before)))
        ids = {"synthetic": synthetic_ids, "case": case.id, "done": done.id, "late": late.id}
        db.session.remove()
    yield ids
    with app.app_context():
        remove_cases(synthetic_ids, sequences)
        db.session.remove()


def scope_of(username):
    return scope_for(db.session.query(DepartmentUser).filter_by(username=username).one())


def region(code):
    return db.session.query(Region).filter_by(code=code).one()


# --- the independent count: task by task, day by day -----------------------------------


def cst(ts):
    return (ts + EIGHT_HOURS).date()


def is_working_day(day, exceptions):
    return exceptions[day] == "workday" if day in exceptions else day.weekday() < 5


def working_days_after(start, end, exceptions):
    """Working days after ``start`` up to and including ``end``, counted one by one."""
    days, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        days += is_working_day(day, exceptions)
    return days


def closed_by_cancellation(task):
    """Whether the window's cancellation closed this task, rather than a department
    refusing it: the audit log says so (the chain's cancellation), or, for generated
    cases, which have no audit log, its note is the cancellation's, word for word."""
    if task.status != REJECTED or task.case.status != CASE_CANCELLED:
        return False
    audited = {entry.action for entry in db.session.query(AuditLog).filter_by(object_type="task", object_id=task.id)}
    if audited:
        return "task_closed_by_cancellation" in audited
    return task.result_note == f"案件已撤销：{task.case.cancel_reason}"


def expected_figures(counties, period, today):
    """{(department code, item code): {...}} and the cases received, counted from the rows."""
    exceptions = {row.day: row.kind for row in db.session.query(CalendarDay)}
    stood_still = {}
    rows = db.session.query(AuditLog).filter(AuditLog.object_type == "task").order_by(AuditLog.at, AuditLog.id)
    for entry in rows:
        if entry.action == "supplement_requested":
            stood_still.setdefault(entry.object_id, []).append([cst(entry.at), None])
        elif entry.action == "supplement_received" and stood_still.get(entry.object_id):
            stood_still[entry.object_id][-1][1] = cst(entry.at)
    figures, cases = {}, set()
    for task in db.session.query(Task).join(Task.department).join(Department.region):
        if task.department.region.code not in counties:
            continue
        row = figures.setdefault((task.department.code, task.item.code), {
            "received": 0, "completed": 0, "on_time": 0, "overdue_now": 0, "rejected": 0, "days": []})
        if period.start <= cst(task.case.registered_at) <= period.end:
            row["received"] += 1
            cases.add(task.case_id)
        finished = cst(task.finished_at) if task.finished_at else None
        in_period = finished is not None and period.start <= finished <= period.end
        if task.status == COMPLETED and in_period:
            row["completed"] += 1
            row["on_time"] += finished <= task.deadline
            days = working_days_after(cst(task.ready_at), finished, exceptions)
            for stopped, resumed in stood_still.get(task.id, []):
                days -= working_days_after(stopped, resumed or finished, exceptions)
            row["days"].append(days)
        if task.status == REJECTED and in_period and not closed_by_cancellation(task):
            row["rejected"] += 1
        if task.status in (READY, ACCEPTED) and task.deadline < today:
            row["overdue_now"] += 1
    return figures, len(cases)


def assert_figures_agree(stats, counties):
    expected, cases = expected_figures(counties, stats.period, stats.as_of)
    actual = {}  # (department code, item code) → its figures in each county
    for dept in stats.departments:
        for item in dept.items:
            actual.setdefault((dept.department.code, item.item.code), []).append(item.figures)
    assert stats.cases_received == cases
    for key in set(actual) - set(expected):
        assert all(f.received == f.completed == f.overdue_now == f.rejected == 0 for f in actual[key]), key
    for key, want in expected.items():
        got = actual.get(key, [])
        total = {name: sum(getattr(f, name) for f in got)
                 for name in ("received", "completed", "on_time", "overdue_now", "rejected", "handling_days")}
        assert total == {
            "received": want["received"], "completed": want["completed"], "on_time": want["on_time"],
            "overdue_now": want["overdue_now"], "rejected": want["rejected"], "handling_days": sum(want["days"]),
        }, key
        longest = max((f.longest_days for f in got if f.longest_days is not None), default=None)
        assert longest == (max(want["days"]) if want["days"] else None), key
    return expected


@pytest.fixture
def hengfeng_stats(world, ctx):
    return compute_statistics(db.session, region(HENGFENG), JUNE, scope=scope_of("manager"))


def test_the_figures_of_a_county_agree_with_a_count_task_by_task(hengfeng_stats):
    expected = assert_figures_agree(hengfeng_stats, (HENGFENG,))
    totals = hengfeng_stats.totals
    assert totals.received == sum(r["received"] for r in expected.values()) > 100
    assert totals.completed > totals.on_time > 0 and totals.rejected > 0
    assert totals.overdue_now >= 1
    assert totals.handled == totals.completed
    assert totals.average_days == round(totals.handling_days / totals.handled, 1)


def test_the_previous_month_is_compared(hengfeng_stats):
    assert hengfeng_stats.previous_period == Period.month(2025, 5)
    expected, cases = expected_figures((HENGFENG,), Period.month(2025, 5), hengfeng_stats.as_of)
    assert hengfeng_stats.previous_cases_received == cases
    assert hengfeng_stats.previous_totals.received == sum(r["received"] for r in expected.values())
    assert hengfeng_stats.previous_totals.completed == sum(r["completed"] for r in expected.values())
    change = hengfeng_stats.changes()["received"]
    assert change.difference == hengfeng_stats.totals.received - hengfeng_stats.previous_totals.received


def test_a_supplement_period_does_not_count_as_handling_time(world, hengfeng_stats):
    ga01 = next(i for d in hengfeng_stats.departments for i in d.items if i.item.code == "GA01")
    exceptions = {row.day: row.kind for row in db.session.query(CalendarDay)}
    # 3 → 17 June is 10 working days; the clock stood still 5 → 10 June, 3 of them.
    assert working_days_after(dt.date(2025, 6, 3), dt.date(2025, 6, 17), exceptions) == 10
    assert working_days_after(dt.date(2025, 6, 5), dt.date(2025, 6, 10), exceptions) == 3
    expected, _cases = expected_figures((HENGFENG,), JUNE, hengfeng_stats.as_of)
    assert 7 in expected[("GA", "GA01")]["days"]
    assert ga01.figures.handling_days == sum(expected[("GA", "GA01")]["days"])


def test_a_region_period_is_any_date_range_compared_with_as_many_days_before(world, ctx):
    period = Period(dt.date(2025, 6, 10), dt.date(2025, 6, 24))
    stats = compute_statistics(db.session, region(HENGFENG), period, scope=scope_of("manager"))
    assert stats.previous_period == Period(dt.date(2025, 5, 26), dt.date(2025, 6, 9))
    assert_figures_agree(stats, (HENGFENG,))


def test_a_county_manager_never_gets_the_other_countys_figures(world, ctx):
    manager = scope_of("manager")
    stats = compute_statistics(db.session, region(HENGFENG), JUNE, scope=manager)
    assert {d.department.region_name for d in stats.departments} == {"横峰县"}
    # Asked for 弋阳县 or the whole city, the row filter leaves nothing of 弋阳县.
    elsewhere = compute_statistics(db.session, region(YIYANG), JUNE, scope=manager)
    assert elsewhere.departments == [] and elsewhere.cases_received == 0 and elsewhere.totals.received == 0
    city = compute_statistics(db.session, region(SHANGRAO), JUNE, scope=manager)
    assert {d.department.region_name for d in city.departments} <= {"横峰县"}
    assert overdue_list(db.session, region(YIYANG), scope=manager).rows == []


def test_the_city_supervisor_gets_both_counties(world, ctx):
    stats = compute_statistics(db.session, region(SHANGRAO), JUNE, scope=scope_of("sr-supervisor"))
    assert {d.department.region_name for d in stats.departments} == {"横峰县", "弋阳县"}
    assert {d.department.label for d in stats.departments if d.department.code == "GA"} == {"横峰县公安局", "弋阳县公安局"}
    expected_hf, cases_hf = expected_figures((HENGFENG,), JUNE, stats.as_of)
    expected_yy, cases_yy = expected_figures((YIYANG,), JUNE, stats.as_of)
    assert stats.cases_received == cases_hf + cases_yy > cases_hf > 0
    assert stats.totals.received == sum(r["received"] for r in (*expected_hf.values(), *expected_yy.values()))
    assert stats.totals.overdue_now == sum(r["overdue_now"] for r in (*expected_hf.values(), *expected_yy.values()))


def test_a_refusal_still_counts_when_the_case_is_cancelled_later(refused_then_cancelled, ctx):
    stats = compute_statistics(db.session, region(HENGFENG), APRIL, scope=scope_of("manager"))
    rejected = {(d.department.code, i.item.code): i.figures.rejected for d in stats.departments for i in d.items}
    assert rejected[("RS", "RS02")] == 1  # 人社's own refusal
    closed = db.session.query(Task).filter(Task.id.in_(refused_then_cancelled["closed"])).all()
    assert closed and all(t.status == REJECTED for t in closed)
    assert db.session.query(AuditLog).filter(AuditLog.action == "task_closed_by_cancellation",
                                             AuditLog.object_id.in_([t.id for t in closed])).count() == len(closed)
    assert all(rejected.get((t.department.code, t.item.code), 0) == 0 for t in closed)  # no one refused them
    assert stats.totals.rejected == 1
    assert_figures_agree(stats, (HENGFENG,))


def test_the_overdue_list_names_every_overdue_task_with_its_urgings(world, ctx):
    listed = overdue_list(db.session, region(HENGFENG), scope=scope_of("supervisor"))
    exceptions = {row.day: row.kind for row in db.session.query(CalendarDay)}
    overdue = [
        t for t in db.session.query(Task).join(Task.department).join(Department.region)
        .filter(Region.code == HENGFENG, Task.status.in_((READY, ACCEPTED)), Task.deadline < listed.as_of)
    ]
    assert {row.task_id for row in listed.rows} == {t.id for t in overdue}
    by_id = {row.task_id: row for row in listed.rows}
    for task in overdue:
        row = by_id[task.id]
        assert (row.case_no, row.department.code, row.item.code, row.deadline) == (
            task.case.case_no, task.department.code, task.item.code, task.deadline)
        assert row.days_over == working_days_after(task.deadline, listed.as_of, exceptions)
        assert row.urgings == db.session.query(TaskUrging).filter_by(task_id=task.id).count()
    assert by_id[world["late"]].urgings == 2
    # Most overdue first within a department.
    for _department, rows in listed.by_department():
        assert [r.days_over for r in rows] == sorted((r.days_over for r in rows), reverse=True)


# --- the files ---------------------------------------------------------------------------


def test_the_statistics_report_prints_the_countys_figures_with_a_chart(hengfeng_stats, tmp_path):
    content = reporting.render_statistics_pdf(hengfeng_stats)
    assert content.startswith(b"%PDF")
    text = drawn_text(content, tmp_path)
    assert "横峰县“身后一件事”联办工作统计报表" in text
    assert "统计期间：2025年6月1日至2025年6月30日" in text and "2025年5月1日至2025年5月31日" in text
    assert "各部门按期办结率" in text and "公安局" in text and "GA01户口注销" in text
    assert f"受理案件（件）{hengfeng_stats.cases_received}{hengfeng_stats.previous_cases_received}" in text
    assert "合计" in text and "第1页，共" in text and "生成时间" in text
    assert "弋阳" not in text
    assert_chinese_font_embedded(content, tmp_path)
    assert bar_pixels(content, tmp_path) > 2000, "the on-time-rate chart is not drawn"


def bar_pixels(content, tmp_path):
    """How many pixels of page 1 have the chart's bar colour."""
    import subprocess

    from PIL import Image

    (tmp_path / "report.pdf").write_bytes(content)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-singlefile", "-f", "1", "-l", "1",
                    str(tmp_path / "report.pdf"), str(tmp_path / "page")], check=True)
    image = Image.open(tmp_path / "page.png").convert("RGB")
    return sum(1 for pixel in image.getdata() if abs(pixel[0] - 0x2F) < 12 and abs(pixel[1] - 0x6D) < 12
               and abs(pixel[2] - 0xB5) < 12)


def test_the_overdue_list_prints_every_overdue_task(world, ctx, tmp_path):
    listed = overdue_list(db.session, region(HENGFENG), scope=scope_of("manager"))
    content = reporting.render_overdue_pdf(listed)
    text = drawn_text(content, tmp_path)
    assert "横峰县“身后一件事”联办超时督办清单" in text
    assert f"超过办理期限尚未办结的事项共{len(listed.rows)}项" in text
    late = db.session.get(Task, world["late"])
    assert late.case.case_no in text and "2次，最近" in text and "2025年6月9日" in text
    assert "第1页" in text and "弋阳" not in text
    assert_chinese_font_embedded(content, tmp_path)


def read_csv(content):
    assert content.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_statistics_csv_opens_in_excel(hengfeng_stats):
    rows = read_csv(reporting.statistics_csv(hengfeng_stats))
    assert rows[0][:4] == ["部门", "事项编码", "事项", "受理"]
    items = [r for r in rows[1:] if r[1]]
    assert sum(int(r[3]) for r in items) == hengfeng_stats.totals.received
    assert rows[-1][:4] == ["横峰县", "", "合计", str(hengfeng_stats.totals.received)]
    assert rows[-1][6] == reporting.percent(hengfeng_stats.totals.on_time_rate)
    assert all(len(r) == len(rows[0]) for r in rows)


def test_the_overdue_csv_opens_in_excel(world, ctx):
    listed = overdue_list(db.session, region(HENGFENG), scope=scope_of("manager"))
    rows = read_csv(reporting.overdue_csv(listed))
    assert rows[0][:3] == ["部门", "案件编号", "事项编码"]
    assert len(rows) == len(listed.rows) + 1
    late = db.session.get(Task, world["late"])
    row = next(r for r in rows if r[1] == late.case.case_no and r[2] == "RS02")
    assert row[6] == "2025-06-09" and row[8] == "2"


def test_the_command_line_writes_each_report(app, world, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["report", "statistics", "--region", HENGFENG, "--month", "2025-06",
                                 "-o", str(tmp_path / "june.pdf")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "june.pdf").read_bytes().startswith(b"%PDF")
    result = runner.invoke(args=["report", "statistics", "--region", SHANGRAO, "--from", "2025-06-01",
                                 "--to", "2025-06-15", "-o", str(tmp_path / "half.csv")])
    assert result.exit_code == 0, result.output
    rows = read_csv((tmp_path / "half.csv").read_bytes())
    assert any(r[0].startswith("弋阳县") for r in rows[1:])
    result = runner.invoke(args=["report", "overdue", "--region", HENGFENG, "--format", "csv",
                                 "-o", str(tmp_path / "overdue.txt")])
    assert result.exit_code == 0, result.output
    assert len(read_csv((tmp_path / "overdue.txt").read_bytes())) > 1
    result = runner.invoke(args=["report", "overdue", "--region", "999999", "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0 and "999999" in result.output


def test_progress_is_reported_to_the_end(world, ctx):
    seen = []
    reporting.statistics_report(db.session, region(HENGFENG), JUNE, scope=Scope(sees_all=True), fmt="csv",
                                progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] and [d for d, _t in seen] == sorted(d for d, _t in seen)


def long_overdue_list(n, departments=3):
    """An overdue list of ``n`` tasks over a few departments, made up (no database)."""
    refs = [DepartmentRef(i, f"D{i}", f"第{i}部门", "横峰县", f"第{i}部门") for i in range(1, departments + 1)]
    item = ItemRef(1, "RS02", "企业养老保险参保人员丧葬费、抚恤金、个人账户一次性支付")
    rows = [OverdueTask(task_id=i, case_id=i, case_no=f"361125-2025-{i:06d}", department=refs[i * departments // n],
                        item=item, status="ready", ready_on=dt.date(2025, 6, 3), deadline=dt.date(2025, 6, 9),
                        days_over=n - i, urgings=0, last_urged_on=None) for i in range(n)]
    return OverdueList(RegionRef(1, HENGFENG, "横峰县"), dt.date(2025, 7, 1), dt.datetime(2025, 7, 1, 8), rows)


def test_a_long_overdue_list_reports_progress_while_it_renders(tmp_path):
    listed = long_overdue_list(400)
    seen = []
    content = reporting.render_overdue_pdf(listed, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) >= 3 and [d for d, _t in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][0] == seen[-1][1]
    # Rendered in parts, it reads as one document: every task once, numbered within its
    # department, the pages numbered on from part to part, the heading and note once.
    text = drawn_text(content, tmp_path)
    assert all(text.count(row.case_no) == 1 for row in listed.rows)
    assert text.count("横峰县“身后一件事”联办超时督办清单截至") == 1 and text.count("超期工作日：办理期限之后") == 1
    numbers = [int(n) for n in re.findall(r"第(\d+)页", text)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= len(seen)
    assert "（续）" in text  # a department longer than a part goes on in the next
    assert_chinese_font_embedded(content, tmp_path)


def test_a_background_overdue_list_moves_through_intermediate_progress(world, ctx, monkeypatch):
    listed = overdue_list(db.session, region(HENGFENG), scope=scope_of("manager"))
    assert len(listed.rows) >= 6
    monkeypatch.setattr(reporting, "OVERDUE_PART_ROWS", 3)
    seen = []
    reporting.overdue_report(db.session, region(HENGFENG), scope=scope_of("manager"), fmt="pdf",
                             progress=lambda done, total: seen.append(100 * done // total))
    intermediate = sorted(set(seen) - {0, 100})
    assert len([p for p in intermediate if p > 25]) >= 2, seen  # the render's share moves too
    assert seen == sorted(seen) and seen[-1] == 100
