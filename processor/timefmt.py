"""Dates, times and amounts as a person reads them: Europe/Oslo, one style everywhere.

Everything a person reads (pages, receipts, history, the PDFs and workbooks the service makes)
goes through these functions; the JSON API keeps ISO 8601 with offsets, for machines.

- A date is `07.12.2026` (`date_text`), a time `kl. 07:50` (`clock_text`), both `07.12.2026 kl. 07:50`
  (`date_time_text`). A timestamp is shown in Europe/Oslo, whatever zone it was stored in; a naive
  timestamp is taken to be UTC (the storage layer keeps UTC).
- An age in days is `i dag`, `i går`, `for 3 dager siden` (`days_ago_text`).
- An amount is `85 000,50` (øre kept when there are any, `85 000` when there are none).

Inputs may be `date`, `datetime` or the ISO strings the read functions give (`2026-12-07`,
`2026-12-07T06:50:00+00:00`). Pure functions: no Flask, no database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

__all__ = [
    "OSLO",
    "as_oslo",
    "amount_text",
    "days_ago_text",
    "date_text",
    "date_time_text",
    "format_number",
    "clock_text",
    "oslo_naive",
]

OSLO = ZoneInfo("Europe/Oslo")
NBSP = "\u00a0"
MINUS = "\u2212"  # a real minus sign

Moment = datetime | date | str


def _parse(value: Moment) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def as_oslo(value: datetime | str) -> datetime:
    """The moment in Europe/Oslo (aware). A naive datetime is UTC."""
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        raise TypeError("et tidspunkt trengs, ikke bare en dato")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(OSLO)


def oslo_naive(value: datetime | str) -> datetime:
    """Oslo wall-clock time without tzinfo (for files that store no zone: XLSX, PDF metadata)."""
    return as_oslo(value).replace(tzinfo=None)


def _day(value: Moment) -> date:
    parsed = _parse(value)
    if isinstance(parsed, datetime):
        return as_oslo(parsed).date()
    return parsed


def date_text(value: Moment | None) -> str:
    """`07.12.2026`: the date (of a timestamp: its date in Oslo). None gives ""."""
    if value is None or value == "":
        return ""
    d = _day(value)
    return f"{d.day:02d}.{d.month:02d}.{d.year:04d}"


def clock_text(value: datetime | time | str | None) -> str:
    """`kl. 07:50`: the time of day in Oslo (a `time` is shown as it is)."""
    if value is None or value == "":
        return ""
    if isinstance(value, time):
        return f"kl. {value.hour:02d}:{value.minute:02d}"
    if isinstance(value, str) and len(value.strip()) == 5 and value.strip()[2] == ":":
        return f"kl. {value.strip()}"  # "09:00", a meeting's time of day
    at = as_oslo(value)
    return f"kl. {at.hour:02d}:{at.minute:02d}"


def date_time_text(value: datetime | str | None) -> str:
    """`07.12.2026 kl. 07:50`, in Oslo."""
    if value is None or value == "":
        return ""
    at = as_oslo(value)
    return f"{date_text(at)} {clock_text(at)}"


def days_ago_text(days: int | None) -> str:
    """`i dag`, `i går`, `for 3 dager siden` (a negative count, a clock skew, is `i dag`)."""
    if days is None:
        return ""
    if days <= 0:
        return "i dag"
    if days == 1:
        return "i går"
    return f"for {days} dager siden"


def format_number(value: float, *, group_from: int = 10_000, decimals: int | None = None) -> str:
    """Norwegian notation: non-breaking-space digit groups, decimal comma, a real minus sign.

    Whole numbers below `group_from` are not grouped (Språkrådet: four digits may stand together,
    so a year stays `1985`). `decimals=None` shows up to two decimals, trailing zeros dropped.
    """
    negative = value < 0
    magnitude = abs(value)
    if decimals is None:
        rounded = round(float(magnitude), 2)
        if rounded.is_integer():
            whole, frac = int(rounded), ""
        else:
            whole_text, frac = f"{rounded:.2f}".split(".")
            whole, frac = int(whole_text), frac.rstrip("0")
    else:
        text = f"{float(magnitude):.{decimals}f}"
        whole_text, _, frac = text.partition(".")
        whole = int(whole_text)
    grouped = f"{whole:,}".replace(",", NBSP) if whole >= group_from else str(whole)
    out = grouped + ("," + frac if frac else "")
    return (MINUS if negative and (whole or frac.strip("0")) else "") + out


def amount_text(value: float | int | None, *, blank: str = "") -> str:
    """`85 000,50` or `85 000` (no øre shown when there are none; groups always); None gives
    `blank`."""
    if value is None or isinstance(value, bool):
        return blank
    rounded = round(float(value), 2)
    return format_number(rounded, group_from=0, decimals=None if rounded.is_integer() else 2)
