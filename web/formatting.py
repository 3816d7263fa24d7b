"""The Jinja filters of `processor.timefmt`, registered once on the app (`init_app`).

In templates: `{{ sak.mottatt|date }}` (07.12.2026), `{{ v.mottatt|date_time }}`
(07.12.2026 kl. 07:50, Europe/Oslo), `{{ m.tid|clock }}`, `{{ sak.alder_dager|days_ago }}`
(i dag, i går, for 3 dager siden), `{{ p.belop|amount }}` (85 000,50).
"""

from __future__ import annotations

from flask import Flask

from processor import timefmt

FILTERS = {
    "date": timefmt.date_text,
    "date_time": timefmt.date_time_text,
    "clock": timefmt.clock_text,
    "days_ago": timefmt.days_ago_text,
    "amount": timefmt.amount_text,
}


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(FILTERS)
