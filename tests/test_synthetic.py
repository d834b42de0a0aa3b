"""``app.synthetic``: plausible cases, consistent with the rules, the calendar and the
case-number sequences, and safe to run twice. The generated rows are removed again
afterwards, so the shared test database is left as the other tests expect it."""

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.domain import rules
from app.domain.clock import to_cst_date
from app.domain.identity import is_valid_id_number
from app.domain.workdays import load_calendar
from app.extensions import db
from app.models import Case, Department, DepartmentUser, Item, Region, Task
from app.models.case import CASE_COMPLETED, CASE_IN_PROGRESS, TASK_STATES
from app.synthetic import generate
from tests.factories import case_number_sequences, remove_cases

NOW = dt.datetime(2026, 11, 20, 6, 30)  # naive UTC, a Friday afternoon in China
COUNT = 200
CASE_NO = re.compile(r"^(361125|361126)-(\d{4})-(\d{6})$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def _new_case_ids(before):
    return list(db.session.scalars(select(Case.id).where(Case.id > before).order_by(Case.id)))


@pytest.fixture(scope="module")
def synthetic(app):
    """One generated batch: the counts it reported, its case ids and the sequences before."""
    with app.app_context():
        sequences = case_number_sequences()
        before = db.session.scalar(select(func.max(Case.id))) or 0
        progress = []
        made = generate(COUNT, months=1, random_seed=42, progress=progress.append, now=NOW)
        case_ids = _new_case_ids(before)
        db.session.remove()
    yield {"made": made, "case_ids": case_ids, "progress": progress, "sequences": sequences}
    with app.app_context():
        remove_cases(case_ids, sequences)
        db.session.remove()


@pytest.fixture
def cases(synthetic, ctx):
    return db.session.query(Case).filter(Case.id.in_(synthetic["case_ids"])).order_by(Case.id).all()


@pytest.fixture
def tasks(synthetic, ctx):
    return db.session.query(Task).filter(Task.case_id.in_(synthetic["case_ids"])).order_by(Task.id).all()


def test_counts_match_what_was_written(synthetic, cases, tasks):
    assert synthetic["made"] == {"cases": COUNT, "tasks": len(tasks)}
    assert len(cases) == COUNT
    assert sum(synthetic["progress"]) == COUNT
    assert len(tasks) >= 3 * COUNT
    assert all(case.facts for case in cases)


def test_cases_are_spread_over_both_counties_and_registered_by_their_windows(cases):
    by_region = {}
    for case in cases:
        by_region.setdefault(case.region.code, []).append(case)
    assert set(by_region) == {"361125", "361126"}
    assert len(by_region["361125"]) > len(by_region["361126"]) > COUNT // 5
    users = {u.username: u.id for u in db.session.query(DepartmentUser)}
    for case in cases:
        assert case.department.accepts_cases and case.department.region_id == case.region_id
        assert case.registered_by_id == users[{"361125": "window", "361126": "yy-window"}[case.region.code]]
        assert NOW - dt.timedelta(days=32) < case.registered_at < NOW


def test_people_are_plausible(cases):
    for case in cases:
        number = case.deceased_id_number
        assert is_valid_id_number(number) and number.startswith(case.region.code)
        birth = dt.datetime.strptime(number[6:14], "%Y%m%d").date()
        assert dt.date(1925, 1, 1) <= birth <= dt.date(1985, 12, 31)
        assert case.deceased_gender == ("男" if int(number[16]) % 2 else "女")
        assert birth < case.death_date <= to_cst_date(case.registered_at)
        assert (to_cst_date(case.registered_at) - case.death_date).days <= 10
        assert is_valid_id_number(case.applicant_id_number)
        assert MOBILE.match(case.applicant_phone)
        assert 2 <= len(case.deceased_name) <= 4 and 2 <= len(case.applicant_name) <= 4
        assert case.hukou_local and case.hukou_address.startswith("江西省上饶市" + case.region.name)
    circumstances = [case.death_circumstance for case in cases]
    assert circumstances.count("in_hospital") > COUNT / 2
    assert len({case.deceased_id_number for case in cases}) == COUNT


def test_every_fact_set_is_plausible(cases):
    pensions = {"pension_institution", "pension_enterprise", "pension_resident"}
    seen = set()
    for case in cases:
        codes = {f.code for f in case.facts}
        seen |= codes
        assert len(codes & pensions) == 1
        assert ("institution_staff" in codes) == ("pension_institution" in codes)
        assert not {"medical_employee", "medical_resident"} <= codes
    assert {"disability_certificate", "housing_fund", "medical_employee", "medical_resident"} <= seen


def test_tasks_follow_the_rules_and_go_to_the_case_county(cases):
    items = db.session.query(Item).all()
    departments = {d.id: d for d in db.session.query(Department)}
    for case in cases:
        expected = [i.code for i in rules.items_for(items, [f.code for f in case.facts])]
        assert sorted(t.item.code for t in case.tasks) == sorted(expected)
        for task in case.tasks:
            department = departments[task.department_id]
            assert department.region_id == case.region_id
            assert department.code == task.item.department_code


def test_every_state_appears(cases, tasks):
    assert {t.status for t in tasks} == set(TASK_STATES)
    assert {CASE_COMPLETED, CASE_IN_PROGRESS} <= {c.status for c in cases}


def test_timestamps_and_deadlines_are_consistent(cases, tasks):
    calendar = load_calendar(db.session)
    today = to_cst_date(NOW)
    overdue = 0
    for task in tasks:
        assert task.created_at == task.case.registered_at
        if task.status == "waiting":
            assert task.ready_at is None and task.deadline is None and task.finished_at is None
            continue
        if task.ready_at is not None:
            assert task.created_at <= task.ready_at <= NOW
            assert task.deadline == calendar.add_working_days(to_cst_date(task.ready_at), task.item.time_limit_days)
        if task.accepted_at is not None:
            assert task.ready_at is None or task.accepted_at >= task.ready_at
        if task.status in ("completed", "rejected"):
            assert task.finished_at is not None and task.finished_at <= NOW
            assert task.accepted_at is None or task.finished_at >= task.accepted_at
        else:
            assert task.finished_at is None
            assert task.ready_at is not None
        if task.status == "rejected":
            assert task.result_note
        if task.status == "completed" and task.item.payout_days:
            assert task.payout_amount > 0
            assert task.payout_expected_date == calendar.add_working_days(
                to_cst_date(task.finished_at), task.item.payout_days
            )
        else:
            assert task.payout_amount is None and task.payout_expected_date is None
        if task.status in ("ready", "accepted") and task.deadline < today:
            overdue += 1
    assert overdue > 0
    for case in cases:
        states = {t.status for t in case.tasks}
        if case.status == "completed":
            assert states <= {"completed", "rejected"}
            assert case.completed_at == max(t.finished_at for t in case.tasks)
        elif case.status == "cancelled":
            assert case.cancel_reason and states <= {"completed", "rejected"}
        else:
            assert case.completed_at is None and states - {"completed", "rejected"}


def test_case_numbers_follow_the_format_and_the_sequences(cases):
    regions = {r.id: r.code for r in db.session.query(Region)}
    sequences = case_number_sequences()
    numbers = [case.case_no for case in cases]
    assert len(set(numbers)) == COUNT
    for case in cases:
        match = CASE_NO.match(case.case_no)
        assert match, case.case_no
        region_code, year, number = match.group(1), int(match.group(2)), int(match.group(3))
        assert region_code == regions[case.region_id]
        assert year == to_cst_date(case.registered_at).year
        assert 0 < number <= sequences[(case.region_id, year)]
    # Within a region and year, numbers follow registration order.
    ordered = sorted(cases, key=lambda c: (c.region_id, c.registered_at))
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.region_id == later.region_id and earlier.case_no[7:11] == later.case_no[7:11]:
            assert earlier.case_no < later.case_no


def test_a_second_run_adds_more_without_collisions_and_is_deterministic(app, synthetic):
    with app.app_context():
        sequences = case_number_sequences()
        before = db.session.scalar(select(func.max(Case.id)))
        before_task = db.session.scalar(select(func.max(Task.id)))
        made = generate(50, months=1, random_seed=42, now=NOW)
        ids = _new_case_ids(before)
        assert made["cases"] == 50 and ids == list(range(before + 1, before + 51))
        assert db.session.scalar(select(func.count()).select_from(Task).where(Task.id > before_task)) == made["tasks"]
        all_numbers = list(db.session.scalars(select(Case.case_no)))
        assert len(all_numbers) == len(set(all_numbers))
        first_batch = set(db.session.scalars(
            select(Case.deceased_id_number).where(Case.id.in_(synthetic["case_ids"]))
        ))
        second = db.session.query(Case).filter(Case.id.in_(ids)).order_by(Case.id).all()
        assert not first_batch & {c.deceased_id_number for c in second}
        snapshot = [(c.case_no, c.deceased_name, c.deceased_id_number, c.registered_at, c.status) for c in second]
        task_snapshot = list(db.session.execute(
            select(Task.id, Task.item_id, Task.status, Task.ready_at, Task.deadline).where(Task.case_id.in_(ids))
            .order_by(Task.id)
        ))
        db.session.remove()

        # The same seed on the same database state gives the same cases.
        remove_cases(ids, sequences)
        again = generate(50, months=1, random_seed=42, now=NOW)
        assert again == made
        replay = db.session.query(Case).filter(Case.id.in_(ids)).order_by(Case.id).all()
        assert [(c.case_no, c.deceased_name, c.deceased_id_number, c.registered_at, c.status) for c in replay] == snapshot
        assert list(db.session.execute(
            select(Task.id, Task.item_id, Task.status, Task.ready_at, Task.deadline).where(Task.case_id.in_(ids))
            .order_by(Task.id)
        )) == task_snapshot
        remove_cases(ids, sequences)
        db.session.remove()

