"""Deadlines in working days on real dates of the Chinese calendar."""

import datetime
import re

import pytest

from app.domain.workdays import WorkdayCalendar, load_calendar
from app.extensions import db
from app.models import CalendarDay
from tests.conftest import login

D = datetime.date


@pytest.fixture
def calendar(ctx):
    return load_calendar(db.session)


@pytest.mark.parametrize(
    "start, n, deadline",
    [
        (D(2026, 9, 30), 2, D(2026, 10, 9)),  # National Day week: 10-01..10-07 are off
        (D(2026, 9, 30), 3, D(2026, 10, 10)),  # Saturday 10-10 is a make-up working day
        (D(2026, 9, 29), 1, D(2026, 9, 30)),
        (D(2026, 9, 18), 1, D(2026, 9, 20)),  # Sunday 09-20 is a make-up working day
        (D(2026, 10, 1), 1, D(2026, 10, 8)),  # ready on a holiday: the clock starts after it
        (D(2026, 2, 13), 1, D(2026, 2, 14)),  # Spring Festival: Saturday 02-14 is worked
        (D(2026, 2, 13), 2, D(2026, 2, 24)),  # 02-15..02-23 are off
        (D(2026, 2, 14), 5, D(2026, 2, 28)),  # Saturday 02-28 is worked too
        (D(2026, 2, 27), 1, D(2026, 2, 28)),
        (D(2026, 12, 3), 0, D(2026, 12, 3)),  # 即时办理: the same day
        (D(2026, 10, 3), 0, D(2026, 10, 3)),  # even on a holiday
        (D(2026, 12, 4), 1, D(2026, 12, 7)),  # an ordinary weekend
        (D(2026, 12, 4), 15, D(2026, 12, 25)),  # a payout of 15 working days
    ],
)
def test_add_working_days_on_the_2026_calendar(calendar, start, n, deadline):
    assert calendar.add_working_days(start, n) == deadline


def test_the_start_day_does_not_count(calendar):
    assert calendar.add_working_days(D(2026, 12, 1), 1) == D(2026, 12, 2)


def test_a_deadline_crossing_into_an_unmaintained_year_falls_back_to_monday_to_friday(calendar):
    # 2027 has no calendar rows: 2027-01-01 (a Friday) counts as a working day.
    assert 2027 not in calendar.years
    assert calendar.add_working_days(D(2026, 12, 30), 4) == D(2027, 1, 5)
    assert calendar.missing_years(D(2026, 12, 30), D(2027, 1, 5)) == [2027]


def test_a_year_entered_by_an_administrator_is_used(app):
    with app.app_context():
        db.session.add(CalendarDay(day=D(2027, 1, 1), kind="holiday", name="元旦"))
        db.session.commit()
        try:
            calendar = load_calendar(db.session)
            assert calendar.add_working_days(D(2026, 12, 30), 4) == D(2027, 1, 6)
            assert calendar.missing_years(D(2026, 12, 30), D(2027, 1, 6)) == []
        finally:
            db.session.query(CalendarDay).filter_by(day=D(2027, 1, 1)).delete()
            db.session.commit()


def test_the_seeded_calendar_knows_2026s_make_up_working_days(calendar):
    assert {d for d in calendar.workdays if d.year == 2026} == {
        D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10),
    }


def test_working_days_between(calendar):
    assert calendar.working_days_between(D(2026, 9, 30), D(2026, 10, 9)) == 2
    assert calendar.working_days_between(D(2026, 10, 9), D(2026, 9, 30)) == -2


def test_negative_limits_are_refused():
    with pytest.raises(ValueError):
        WorkdayCalendar().add_working_days(D(2026, 1, 5), -1)


def test_admin_is_warned_that_next_year_must_be_entered(client, monkeypatch):
    monkeypatch.setattr("app.views.catalogue.today_cst", lambda: D(2026, 12, 3))
    login(client, "admin")
    page = client.get("/calendardayview/list/").get_data(as_text=True)
    assert "2027" in page and "工作日" in page
    # In the warning itself: the home page also says what day it is, which may be in 2027.
    assert re.search(r'role="alert">[^<]*2027', client.get("/").get_data(as_text=True))


def test_clerks_are_not_shown_the_calendar_warning(client, monkeypatch):
    monkeypatch.setattr("app.views.catalogue.today_cst", lambda: D(2026, 12, 3))
    login(client, "rs")
    assert 'role="alert"' not in client.get("/").get_data(as_text=True)


def test_an_admin_enters_a_holiday_in_the_calendar_screen(client, app):
    login(client, "admin")
    form = client.get("/calendardayview/add").get_data(as_text=True)
    assert "调休上班日" in form
    answer = client.post("/calendardayview/add", data={"day": "2027-02-08", "kind": "holiday", "name": "春节"})
    assert answer.status_code == 302
    with app.app_context():
        try:
            assert not load_calendar(db.session).is_working_day(D(2027, 2, 8))
        finally:
            db.session.query(CalendarDay).filter_by(day=D(2027, 2, 8)).delete()
            db.session.commit()
            db.session.remove()


def test_a_calendar_kind_other_than_holiday_or_workday_is_refused(client, app):
    login(client, "admin")
    page = client.post("/calendardayview/add", data={"day": "2027-02-09", "kind": "party", "name": "x"})
    assert page.status_code == 200 and "不是有效的选择" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(CalendarDay).filter_by(day=D(2027, 2, 9)).count() == 0
        db.session.remove()


def test_counting_working_days_agrees_with_walking_the_calendar(calendar):
    import random

    def walk(start, end):
        sign, lo, hi = (1, start, end) if end >= start else (-1, end, start)
        days = (hi - lo).days
        return sign * sum(calendar.is_working_day(lo + datetime.timedelta(days=i)) for i in range(1, days + 1))

    rng = random.Random(42)
    for _ in range(300):
        start = D(2024, 1, 1) + datetime.timedelta(days=rng.randrange(1200))
        end = start + datetime.timedelta(days=rng.randrange(-800, 800))
        assert calendar.working_days_between(start, end) == walk(start, end), (start, end)


def test_a_calendar_remembers_its_counts_up_to_a_bound(calendar, monkeypatch):
    import app.domain.workdays as workdays

    monkeypatch.setattr(workdays, "_MAX_REMEMBERED", 5)
    today = D(2026, 9, 30)
    for days in range(12):
        end = today + datetime.timedelta(days=days)
        assert calendar.working_days_between(today, end) == calendar._count_between(today, end)
        assert calendar.working_days_between(today, end) == calendar._count_between(today, end)  # remembered
        assert len(calendar._counted) <= 5
    other = WorkdayCalendar()  # Monday–Friday only: nothing of the first calendar's counts
    assert other.working_days_between(D(2026, 9, 30), D(2026, 10, 9)) == 7
    assert calendar.working_days_between(D(2026, 9, 30), D(2026, 10, 9)) == 2
