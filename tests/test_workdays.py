"""WORKFLOW.md section 3 "Meetings": papers go out no later than 2 working days before a meeting;
Norwegian public holidays (Easter included) and weekends are not working days.

Holiday dates are checked against `holidays.Norway()` itself, so the tests fail if our
assumptions about the package (or about the calendar) are wrong.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from processor.workdays import (
    add_working_days,
    holiday_name,
    is_working_day,
    meeting_dates,
    papers_deadline,
    suggested_meeting_dates,
    working_days_between,
)

NO_2026 = holidays.Norway(years=2026)
NO_2027 = holidays.Norway(years=2027)


def test_saturday_and_sunday_are_not_working_days():
    assert not is_working_day(date(2026, 3, 7))  # Saturday
    assert not is_working_day(date(2026, 3, 8))  # Sunday
    assert is_working_day(date(2026, 3, 9))  # Monday


def test_sundays_are_non_working_whatever_the_package_says_about_them():
    sunday = date(2026, 3, 8)
    assert sunday in holidays.Norway(years=2026, include_sundays=True)
    assert sunday not in holidays.Norway(years=2026, include_sundays=False)
    assert not is_working_day(sunday)


def test_easter_week_2026_holidays_come_from_the_package():
    for d in (date(2026, 4, 2), date(2026, 4, 3), date(2026, 4, 6)):  # Thu, Fri, Mon
        assert d in NO_2026
        assert not is_working_day(d)
    assert date(2026, 4, 5) in NO_2026  # Easter Sunday
    assert is_working_day(date(2026, 4, 1))  # Wednesday before Easter
    assert is_working_day(date(2026, 4, 7))  # Tuesday after Easter


def test_holiday_name_is_norwegian():
    assert holiday_name(date(2026, 4, 3)) == "Langfredag"
    assert holiday_name(date(2026, 4, 8)) is None


def test_christmas_eve_2026_is_a_working_day_because_it_is_not_a_public_holiday():
    # Decision: 24 and 31 December are not public holidays in Norway, and `holidays.Norway` has
    # no category that adds them; they count as working days.
    assert holidays.Norway.supported_categories == ("public",)
    assert date(2026, 12, 24) not in NO_2026
    assert date(2026, 12, 31) not in NO_2026
    assert is_working_day(date(2026, 12, 24))
    assert is_working_day(date(2026, 12, 31))


def test_christmas_days_2026_are_not_working_days():
    assert date(2026, 12, 25) in NO_2026  # Friday
    assert date(2026, 12, 26) in NO_2026  # Saturday
    assert not is_working_day(date(2026, 12, 25))
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)


def test_17_may_2027_is_a_monday_holiday():
    d = date(2027, 5, 17)
    assert d.weekday() == 0
    assert d in NO_2027
    assert not is_working_day(d)


def test_add_working_days_forward_skips_easter_2026():
    assert add_working_days(date(2026, 4, 1), 1) == date(2026, 4, 7)


def test_add_working_days_negative_goes_back():
    assert add_working_days(date(2026, 4, 7), -1) == date(2026, 4, 1)
    assert add_working_days(date(2026, 4, 7), -2) == date(2026, 3, 31)


def test_add_working_days_zero_returns_the_same_day():
    assert add_working_days(date(2026, 4, 4), 0) == date(2026, 4, 4)


def test_add_working_days_does_not_count_the_start_day():
    saturday = date(2026, 3, 7)
    assert add_working_days(saturday, 1) == date(2026, 3, 9)
    assert add_working_days(saturday, -1) == date(2026, 3, 6)


def test_working_days_between_counts_after_first_up_to_and_including_last():
    assert working_days_between(date(2026, 3, 9), date(2026, 3, 10)) == 1  # Mon -> Tue
    assert working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1  # Fri -> Mon
    assert working_days_between(date(2026, 3, 30), date(2026, 4, 10)) == 6  # over Easter


def test_working_days_between_same_day_is_zero():
    assert working_days_between(date(2026, 3, 9), date(2026, 3, 9)) == 0


def test_working_days_between_backwards_is_negative():
    assert working_days_between(date(2026, 4, 7), date(2026, 3, 31)) == -2


def test_working_days_between_is_the_inverse_of_add_working_days():
    start = date(2026, 3, 20)
    for offset in range(30):
        d = start + timedelta(days=offset)
        for n in range(-6, 7):
            assert working_days_between(d, add_working_days(d, n)) == n


def test_papers_deadline_for_thursday_meeting_is_tuesday():
    assert papers_deadline(date(2026, 3, 12)) == date(2026, 3, 10)


def test_papers_deadline_for_tuesday_after_easter_2026_is_tuesday_before_easter():
    # Wed 1 April is only 1 working day before Tue 7 April (2, 3 and 6 April are holidays).
    assert {date(2026, 4, 2), date(2026, 4, 3), date(2026, 4, 6)} <= set(NO_2026)
    assert papers_deadline(date(2026, 4, 7)) == date(2026, 3, 31)


def test_papers_deadline_for_monday_after_a_friday_holiday():
    assert date(2026, 5, 1) in NO_2026  # Friday
    assert papers_deadline(date(2026, 5, 4)) == date(2026, 4, 29)


def test_papers_deadline_for_monday_after_christmas_counts_christmas_eve():
    assert papers_deadline(date(2026, 12, 28)) == date(2026, 12, 23)


def test_papers_deadline_for_meeting_the_day_after_ascension_day():
    ascension = date(2026, 5, 14)
    assert ascension in NO_2026
    assert papers_deadline(ascension + timedelta(days=1)) == date(2026, 5, 12)


def test_papers_deadline_for_meeting_after_17_may_2027():
    assert papers_deadline(date(2027, 5, 18)) == date(2027, 5, 13)
    assert papers_deadline(date(2027, 5, 19)) == date(2027, 5, 14)


def test_papers_deadline_is_always_two_working_days_before_a_working_day_meeting():
    d = date(2026, 1, 1)
    while d < date(2028, 1, 1):
        if is_working_day(d):
            deadline = papers_deadline(d)
            assert is_working_day(deadline)
            assert working_days_between(deadline, d) == 2
        d += timedelta(days=1)


def test_papers_deadline_with_other_number_of_days_and_negative_refused():
    assert papers_deadline(date(2026, 3, 12), days=3) == date(2026, 3, 9)
    with pytest.raises(ValueError):
        papers_deadline(date(2026, 3, 12), days=-1)


def test_meeting_dates_every_second_week_up_to_and_including_until():
    assert meeting_dates(date(2026, 3, 5), date(2026, 4, 2)) == [
        date(2026, 3, 5),
        date(2026, 3, 19),
        date(2026, 4, 2),
    ]
    assert meeting_dates(date(2026, 3, 5), date(2026, 3, 18), every_weeks=1) == [
        date(2026, 3, 5),
        date(2026, 3, 12),
    ]


def test_meeting_dates_keep_holidays_unless_asked_to_skip_them():
    thursdays = meeting_dates(date(2026, 4, 30), date(2026, 5, 28))
    assert date(2026, 5, 14) in thursdays  # Ascension Day
    skipped = meeting_dates(date(2026, 4, 30), date(2026, 5, 28), skip_non_working=True)
    assert skipped == [date(2026, 4, 30), date(2026, 5, 28)]


def test_meeting_dates_need_a_positive_interval():
    with pytest.raises(ValueError):
        meeting_dates(date(2026, 3, 5), date(2026, 4, 2), every_weeks=0)


def test_suggested_meeting_dates_start_at_the_first_thursday_with_time_for_the_papers():
    tuesday = date(2026, 11, 24)
    # Thursday 26 November: its papers go out on Tuesday 24 November, today, so it is still on
    first, *rest = suggested_meeting_dates([], tuesday)
    assert first == tuesday + timedelta(days=2) and papers_deadline(first) == tuesday
    assert [d - first for d in rest] == [timedelta(weeks=2 * n) for n in (1, 2, 3)]
    # a day later the papers of that Thursday are late: the next Thursday is the first
    wednesday = tuesday + timedelta(days=1)
    later = suggested_meeting_dates([], wednesday)
    assert papers_deadline(first) < wednesday and later[0] == first + timedelta(weeks=1)
    assert all(d.weekday() == 3 for d in [*later, first, *rest])


def test_suggested_meeting_dates_follow_the_last_meeting_on_the_configured_weekday():
    last = date(2026, 12, 10)  # a Thursday
    assert suggested_meeting_dates([date(2026, 11, 26), last], date(2026, 11, 1), count=2) == [
        last + timedelta(weeks=2),
        last + timedelta(weeks=4),
    ]
    # Monday meetings: two weeks after the last meeting, then on to the next Monday
    mondays = suggested_meeting_dates([last], date(2026, 11, 1), weekday=0, count=1)
    assert mondays == [last + timedelta(weeks=2, days=4)] and mondays[0].weekday() == 0
