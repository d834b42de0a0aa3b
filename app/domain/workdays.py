"""Working days as Chinese administrative time limits count them.

A limit of N working days ends at the end of the Nth working day after the start day
(the start day itself does not count); 0 (即时办理) is the start day itself. Weekends
are rest days and Monday–Friday working days, except where the calendar says otherwise:
public holidays on weekdays and make-up working days (调休) on weekends. A year with no
calendar rows falls back to Monday–Friday; ``missing_years`` names such years so that
administrators are warned to enter them.
"""

import bisect
import datetime
from dataclasses import dataclass, field
from functools import cached_property

HOLIDAY = "holiday"
WORKDAY = "workday"
_ONE_DAY = datetime.timedelta(days=1)
# Far enough for any limit of the notice (at most 15 + a few weeks of holidays).
_MAX_SCAN_DAYS = 3660
# Counts a calendar remembers (``working_days_between``) before it starts afresh.
_MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class WorkdayCalendar:
    holidays: frozenset = field(default_factory=frozenset)
    workdays: frozenset = field(default_factory=frozenset)
    years: frozenset = field(default_factory=frozenset)  # years with calendar rows

    @classmethod
    def from_rows(cls, rows):
        """Build from (day, kind) pairs."""
        holidays, workdays = set(), set()
        for day, kind in rows:
            (holidays if kind == HOLIDAY else workdays).add(day)
        years = {d.year for d in holidays | workdays}
        return cls(frozenset(holidays), frozenset(workdays), frozenset(years))

    def is_working_day(self, day):
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        return day.weekday() < 5

    def add_working_days(self, day, n):
        """The date by which a limit of ``n`` working days starting on ``day`` ends."""
        if n < 0:
            raise ValueError("a time limit cannot be negative")
        current = day
        remaining = n
        for _ in range(_MAX_SCAN_DAYS):
            if remaining == 0:
                return current
            current += _ONE_DAY
            if self.is_working_day(current):
                remaining -= 1
        raise ValueError("time limit too long for the calendar")

    @cached_property
    def _exceptions(self):
        """The calendar's rows, sorted, each with its effect on Monday–Friday counting."""
        days = sorted(self.holidays | self.workdays)
        return days, [int(self.is_working_day(d)) - int(d.weekday() < 5) for d in days]

    @cached_property
    def _counted(self):
        """(start, end) → working days between, as counted on this calendar so far."""
        return {}

    def working_days_between(self, start, end):
        """Working days after ``start`` up to and including ``end`` (negative if end < start).
        A calendar kept for the screens is asked the same (today, deadline) pairs all
        day, and remembers its answers (up to ``_MAX_REMEMBERED`` of them)."""
        counted = self._counted
        key = (start, end)
        found = counted.get(key)
        if found is None:
            if len(counted) >= _MAX_REMEMBERED:
                counted.clear()
            found = counted[key] = self._count_between(start, end)
        return found

    def _count_between(self, start, end):
        """Counted by whole weeks plus the calendar's exceptions, so a task two years
        overdue costs no more than one due tomorrow."""
        if end == start:
            return 0
        sign, lo, hi = (1, start, end) if end > start else (-1, end, start)
        weeks, rest = divmod((hi - lo).days, 7)
        count = weeks * 5 + sum(
            1 for i in range(1, rest + 1) if (lo + datetime.timedelta(days=weeks * 7 + i)).weekday() < 5
        )
        days, effects = self._exceptions
        for i in range(bisect.bisect_right(days, lo), bisect.bisect_right(days, hi)):
            count += effects[i]
        return sign * count

    def missing_years(self, start, end):
        """Years between two dates (inclusive) for which no calendar rows exist."""
        return [y for y in range(start.year, end.year + 1) if y not in self.years]


def load_calendar(session):
    """The calendar as the administrators maintain it in the ``calendar_day`` table."""
    from app.models import CalendarDay

    return WorkdayCalendar.from_rows(session.query(CalendarDay.day, CalendarDay.kind).all())
