"""Norwegian working days (WORKFLOW.md section 3 "Meetings", section 7 "Figures").

A working day is Monday to Friday that is not a Norwegian public holiday ("helligdag" or
"høytidsdag" under helligdagsloven, plus 1 and 17 May), as listed by `holidays.Norway()`:
1 January, Skjærtorsdag, Langfredag, 1. and 2. påskedag, 1 May, Kristi himmelfartsdag, 17 May,
1. and 2. pinsedag, 1. and 2. juledag. Easter is computed by the package, never by hand.

Decisions taken explicitly:

- Sundays: `holidays.Norway` can list every Sunday as a holiday (`include_sundays=True`). We ask
  for `include_sundays=False` and treat Saturday and Sunday as non-working days ourselves, so the
  answer does not depend on that flag or its default.
- Christmas Eve (24 December) and New Year's Eve (31 December) are *not* public holidays in Norway
  and are not in `holidays.Norway()` (the package has no optional category for them). They count as
  working days here. Offices that close on those days move a meeting or its deadline by hand.
- Pure: no clock, no file system. The holiday list per year is computed once and cached.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays

__all__ = [
    "add_working_days",
    "holiday_name",
    "is_working_day",
    "meeting_dates",
    "papers_deadline",
    "suggested_meeting_dates",
    "working_days_between",
]

PAPERS_DAYS = 2
"""WORKFLOW.md section 3: papers go out no later than 2 working days before the meeting."""
DEFAULT_MEETING_WEEKDAY = 3
"""Thursday (Monday is 0): the committee's meeting day unless configured (`MEETING_WEEKDAY`)."""
MEETING_EVERY_WEEKS = 2


@cache
def _public_holidays(year: int) -> dict[date, str]:
    return dict(holidays.Norway(years=year, include_sundays=False, language="no").items())


def holiday_name(d: date) -> str | None:
    """The Norwegian name of the public holiday on `d`, or None (weekends are not named)."""
    return _public_holidays(d.year).get(d)


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a Norwegian public holiday."""
    return d.weekday() < 5 and d not in _public_holidays(d.year)


def add_working_days(d: date, n: int) -> date:
    """The date `n` working days after `d` (before it when `n` is negative).

    `d` itself is never counted, so it need not be a working day: `add_working_days(saturday, 1)`
    is the next working Monday, `add_working_days(saturday, -1)` the Friday before.
    `n == 0` returns `d` unchanged.
    """
    step = timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    while remaining:
        d += step
        if is_working_day(d):
            remaining -= 1
    return d


def working_days_between(a: date, b: date) -> int:
    """Working days after `a` up to and including `b` (the half-open interval `(a, b]`).

    This is the convention for processing times: a case received on a Monday and decided on the
    Tuesday took 1 working day; received and decided the same day took 0; received on a Saturday and
    decided on the Monday took 1.

    Counted the way `add_working_days` steps: every working day landed on when walking from `a` to
    `b`, the start excluded and the end included. When `b` is before `a` the result is negative,
    minus the working days in `[b, a)`. So `working_days_between(d, add_working_days(d, n)) == n`
    for every `d` and `n`.
    """
    step = timedelta(days=1 if b >= a else -1)
    sign = 1 if b >= a else -1
    count = 0
    d = a
    while d != b:
        d += step
        if is_working_day(d):
            count += sign
    return count


def papers_deadline(meeting_date: date, days: int = PAPERS_DAYS) -> date:
    """The last day the papers may go out: the working day `days` working days before the meeting.

    A meeting on Thursday has its deadline on Tuesday (Wednesday is 1 working day before, Tuesday
    2). Holidays in between push the deadline further back: a meeting on Tuesday 7 April 2026, the
    day after Easter, has its deadline on Tuesday 31 March 2026, because 2, 3 and 6 April are public
    holidays and Wednesday 1 April is only 1 working day before the meeting.
    """
    if days < 0:
        raise ValueError("days must be 0 or more")
    return add_working_days(meeting_date, -days)


def meeting_dates(
    first: date, until: date, every_weeks: int = 2, *, skip_non_working: bool = False
) -> list[date]:
    """Meeting dates from `first` every `every_weeks` weeks, up to and including `until`.

    The cadence keeps the weekday of `first`. A date that falls on a public holiday is kept by
    default (the coordinator decides whether to move or cancel that meeting); with
    `skip_non_working=True` it is left out and the cadence continues unchanged.
    """
    if every_weeks < 1:
        raise ValueError("every_weeks must be 1 or more")
    step = timedelta(weeks=every_weeks)
    out: list[date] = []
    d = first
    while d <= until:
        if not skip_non_working or is_working_day(d):
            out.append(d)
        d += step
    return out


def suggested_meeting_dates(
    existing: list[date], today: date, weekday: int = DEFAULT_MEETING_WEEKDAY, count: int = 4
) -> list[date]:
    """The next `count` meeting dates, every second week on `weekday` (0 = Monday): from two
    weeks after the last meeting in `existing`, or, without one, from the first such weekday
    whose papers deadline has not passed `today`."""
    weekday %= 7
    if existing:
        first = max(existing) + timedelta(weeks=MEETING_EVERY_WEEKS)
    else:
        first = today + timedelta(days=(weekday - today.weekday()) % 7)
        while papers_deadline(first) < today:
            first += timedelta(weeks=1)
    while first.weekday() != weekday:
        first += timedelta(days=1)
    last = first + timedelta(weeks=MEETING_EVERY_WEEKS * (count - 1))
    return meeting_dates(first, last, MEETING_EVERY_WEEKS)
