"""The formats people read (processor.timefmt): Europe/Oslo, around DST changes and midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from processor import timefmt
from processor.timefmt import amount_text, clock_text, date_text, date_time_text, days_ago_text


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        # spring forward, last Sunday of March 2026 (29th): 01:00 UTC is 02:00 CET → 03:00 CEST
        (utc(2026, 3, 29, 0, 59), "29.03.2026 kl. 01:59"),
        (utc(2026, 3, 29, 1, 0), "29.03.2026 kl. 03:00"),
        # fall back, last Sunday of October 2026 (25th): 01:00 UTC is 03:00 CEST → 02:00 CET
        (utc(2026, 10, 25, 0, 59), "25.10.2026 kl. 02:59"),
        (utc(2026, 10, 25, 1, 0), "25.10.2026 kl. 02:00"),
        # midnight UTC is 01:00 (winter) or 02:00 (summer) in Oslo: the same day
        (utc(2026, 12, 7, 0, 0), "07.12.2026 kl. 01:00"),
        (utc(2026, 7, 1, 0, 0), "01.07.2026 kl. 02:00"),
        # late evening UTC is already the next day in Oslo
        (utc(2026, 12, 6, 23, 30), "07.12.2026 kl. 00:30"),
        (utc(2026, 6, 30, 22, 30), "01.07.2026 kl. 00:30"),
        (utc(2026, 6, 30, 21, 59), "30.06.2026 kl. 23:59"),
        (utc(2026, 12, 31, 23, 0), "01.01.2027 kl. 00:00"),
    ],
)
def test_a_moment_is_shown_in_oslo(moment: datetime, shown: str) -> None:
    assert date_time_text(moment) == shown
    # the ISO text the read functions give (and the JSON keeps) reads the same
    assert date_time_text(moment.isoformat()) == shown
    assert date_time_text(moment.isoformat().replace("+00:00", "Z")) == shown
    # and in any other zone it was stored in
    assert date_time_text(moment.astimezone(timezone(timedelta(hours=-5)))) == shown
    assert date_text(moment) == shown.split(" kl. ")[0]
    assert clock_text(moment) == "kl. " + shown.split(" kl. ")[1]


def test_a_naive_timestamp_is_utc() -> None:
    assert date_time_text(datetime(2026, 12, 6, 23, 30)) == "07.12.2026 kl. 00:30"


def test_a_date_is_not_shifted() -> None:
    assert date_text(date(2026, 12, 7)) == "07.12.2026"
    assert date_text("2026-12-07") == "07.12.2026"
    assert date_text(date(987, 1, 2)) == "02.01.0987"
    assert date_text(None) == "" and date_text("") == "" and date_time_text(None) == ""


def test_a_time_of_day_is_shown_as_it_is() -> None:
    assert clock_text(time(9, 5)) == "kl. 09:05"
    assert clock_text("13:00") == "kl. 13:00"


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (0, "i dag"),
        (1, "i går"),
        (2, "for 2 dager siden"),
        (30, "for 30 dager siden"),
        (-1, "i dag"),
    ],
)
def test_days_ago(days: int, text: str) -> None:
    assert days_ago_text(days) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (85000.5, "85\u00a0000,50"),
        (85000.0, "85\u00a0000"),
        (85000, "85\u00a0000"),
        (1234567.891, "1\u00a0234\u00a0567,89"),
        (0.5, "0,50"),
        (85000.004, "85\u00a0000"),  # rounds to whole kroner: no ",00"
        (-1250.5, "\u22121\u00a0250,50"),  # a real minus sign
        (999, "999"),
    ],
)
def test_amounts_keep_their_ore(value: float, text: str) -> None:
    assert amount_text(value) == text


def test_no_amount() -> None:
    assert amount_text(None) == "" and amount_text(None, blank="ikke oppgitt") == "ikke oppgitt"


def test_oslo_naive_is_wall_time() -> None:
    assert timefmt.oslo_naive(utc(2026, 7, 1, 0, 0)) == datetime(2026, 7, 1, 2, 0)


@pytest.mark.parametrize("value", [0, 999, 1234.5, 85000.004, -1250.5, 12500])
def test_amounts_read_alike_on_pages_and_in_pdfs(value: float) -> None:
    """One notation: the PDFs' kroner (`processor.render.format_nok`) are the pages' amounts."""
    from processor.render import format_nok

    assert format_nok(value) == f"{amount_text(value)}\u00a0kr"
