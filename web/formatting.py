"""The Jinja filters of `processor.timefmt`, registered once on the app (`init_app`).

In templates: `{{ sak.mottatt|dato }}` (07.12.2026), `{{ v.mottatt|dato_tid }}`
(07.12.2026 kl. 07:50, Europe/Oslo), `{{ m.tid|klokke }}`, `{{ sak.alder_dager|dager_siden }}`
(i dag, i går, for 3 dager siden), `{{ p.belop|belop }}` (85 000,50).
"""

from __future__ import annotations

from flask import Flask

from processor import timefmt

FILTERS = {
    "dato": timefmt.dato,
    "dato_tid": timefmt.dato_tid,
    "klokke": timefmt.klokke,
    "dager_siden": timefmt.dager_siden,
    "belop": timefmt.belop,
}


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(FILTERS)
