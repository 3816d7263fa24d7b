"""The figures of WORKFLOW.md section 7 (issue 7): coordinator page and API, public aggregates.

- `/statistikk` (page, koordinator) and `GET /api/v1/statistikk` (bearer, koordinator) show the
  same dict (`services.figures.figures`, the structure of `processor.statistics.compute`);
  `.xlsx` of either is `processor.statistics.to_xlsx` of that dict.
- `/tall` and `GET /api/v1/tall` (no login) show `public_figures` only: published mini-HTAs
  only (`public_filters`: applications and unpublished mini-HTAs are never counted in public),
  no cell under 5 cases nor one that would reveal one, no case ids; filtered by year only
  (`type` accepts `minihta`, the one public type; finer public filters would let small groups
  be found by subtraction).

Charts are rendered once per cached figures (they cost more than the aggregation). The filter
choices come from the unfiltered figures when there are any, else from the distinct values of
the rows: a filtered page does not compute the unfiltered figures just for its choices.

Stale while revalidate (issue 9, `services.figures`): when the cases changed since the last
figures, the pages and the JSON show those at once while new ones are computed in the background
(config `FIGURES_BACKGROUND`, default on; off, every request waits for fresh figures). The JSON
says when its figures were computed (`"beregnet"`, ISO 8601) and whether newer ones are on their
way (`"oppdateres"`); the pages say it in a status line. The XLSX exports always wait for fresh
figures: a downloaded file is kept and passed on without the page's notice that the figures are
being updated, and exports are rare enough that their cost (up to a few seconds) does not matter.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request

from processor import charts, timefmt
from processor.domain import CASE_FORM_TYPES
from processor.errors import DomainError
from processor.statistics import (
    FLOW_LABELS,
    HIDDEN,
    OUTCOME_LABELS,
    PUBLIC_FORM_TYPE,
    STATE_LABELS,
    Filters,
    is_public_scope,
    public_figures,
    public_filters,
    to_xlsx,
)
from services import figures as store
from web.app import storage
from web.auth import api_login_required, login_required, require_role

api_bp = Blueprint("figures_api", __name__, url_prefix="/api/v1")
bp = Blueprint("figures", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OSLO = ZoneInfo("Europe/Oslo")
PUBLIC_MAX_AGE = 60  # seconds a public answer may be cached; a stale one only briefly
STALE_MAX_AGE = 5
# The SVG charts carry pygal's own <style> and style attributes: allowed on these pages only.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'"
)
MAX_TEXT = 200
TYPE_LABELS = {"tilgang-del2": "Søknad om individuell tilgang", "minihta": "Mini-metodevurdering"}
GROUP_LABELS = {
    "hf": "helseforetak",
    "region": "region",
    "ar": "år",
    "fagomrade": "fagområde",
    "type": "skjematype",
}


# ---- input --------------------------------------------------------------------------------------


def _text(name: str) -> str | None:
    value = (request.args.get(name) or "").strip()
    if len(value) > MAX_TEXT:
        raise DomainError("INVALID_VALUE", f"«{name}» er for lang.")
    return value or None


def _year() -> int | None:
    try:
        return store.parse_year(request.args.get("ar"))
    except ValueError:
        raise DomainError("INVALID_VALUE", "«ar» må være et årstall med fire sifre.") from None


def _type() -> str | None:
    value = _text("type")
    if value is not None and value not in CASE_FORM_TYPES:
        choices = ", ".join(CASE_FORM_TYPES)
        raise DomainError("INVALID_VALUE", f"«type» må være en av: {choices}.")
    return value


PUBLIC_TYPE_MESSAGE = (
    "Offentlige tall gjelder bare publiserte mini-metodevurderinger: «type» kan bare være "
    f"{PUBLIC_FORM_TYPE}."
)


def request_filters(public: bool = False) -> Filters:
    """The filters of the query string (`hf`, `region`, `ar`, `fagomrade`, `type`); public:
    `public_filters` of the year (`type`, when given, must be the public one)."""
    if public:
        year, form_type = _year(), _type()
        if form_type not in (None, PUBLIC_FORM_TYPE):
            raise DomainError("INVALID_VALUE", PUBLIC_TYPE_MESSAGE)
        return public_filters(year)
    hf = _text("hf")
    return Filters(
        hf=hf.upper() if hf else None,
        region=(_text("region") or "").upper() or None,
        year=_year(),
        fagomrade=_text("fagomrade"),
        form_type=_type(),
    )


# ---- derived, cached per figures --------------------------------------------------------------


class _Memo:
    def __init__(self, size: int = 32) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...], make: Any) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_memo = _Memo()


def _figures(
    filters: Filters, *, fresh: bool = False, prepare: store.Prepare | None = None
) -> store.Figures:
    """The figures; stale ones while newer are computed (and then `prepare`d, in the same
    background thread), unless `fresh` is asked for."""
    background = bool(current_app.config.get("FIGURES_BACKGROUND", True)) and not fresh
    return store.figures(
        storage().uow(), filters, background=background, prepare=prepare, marker=_marker()
    )


def _marker() -> str:
    """The cases marker, read once per request (`/tall` asks for two filters)."""
    if "figures_marker" not in g:
        g.figures_marker = store.cases_marker_of(storage().uow())
    return g.figures_marker  # type: ignore[no-any-return]


def _public_of(found: store.Figures) -> dict[str, Any]:
    """What every public answer shows of `found`: its `public_figures`. The one gate of the
    public paths: figures that count anything but published mini-HTAs are refused here."""
    if not is_public_scope(found.stats.get("filter", {})):
        raise RuntimeError("public figures must count published mini-HTAs only")
    return _memo.get(("public", *found.key), lambda: public_figures(found.stats))  # type: ignore[no-any-return]


def _page_charts(found: store.Figures) -> dict[str, str]:
    return _charts(found.key, found.stats)


def _public_charts(found: store.Figures) -> dict[str, str]:
    return _charts(("public", *found.key), _public_of(found))


def _body(found: store.Figures, stats: dict[str, Any]) -> dict[str, Any]:
    """The JSON: the figures, when they were computed and whether newer are being computed."""
    return {**stats, "beregnet": found.computed_at.isoformat(), "oppdateres": found.updating}


def computed_text(when: datetime) -> str:
    """«23.11.2026 kl. 14:05», Norwegian time."""
    return timefmt.dato_tid(when)


def _status(found: store.Figures) -> dict[str, Any]:
    return {"beregnet": computed_text(found.computed_at), "oppdateres": found.updating}


def _charts(key: tuple[Any, ...], stats: dict[str, Any]) -> dict[str, str]:
    def make() -> dict[str, str]:
        return {
            "behandlingstid": charts.stage_time_chart(stats),
            "utfall": charts.outcomes_chart(stats),
            "flyt": charts.flow_chart(stats),
        }

    return _memo.get(("charts", *key), make)


def _facets() -> dict[str, list[str]]:
    """The filter choices (from the unfiltered figures when there are any)."""
    return store.filter_choices(storage().uow())


def _xlsx(stats: dict[str, Any], name: str) -> Response:
    resp = Response(to_xlsx(stats), mimetype=XLSX)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return resp


def _labels() -> dict[str, Any]:
    return {
        "states": STATE_LABELS,
        "outcomes": OUTCOME_LABELS,
        "types": TYPE_LABELS,
        "flow": FLOW_LABELS,
        "groups": GROUP_LABELS,
        "hidden": HIDDEN,
        "number": charts.number,
    }


def _page(html: str) -> Response:
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = CSP
    return resp


# ---- API ----------------------------------------------------------------------------------------


@api_bp.get("/statistikk")
@api_login_required
def statistikk_api() -> Response:
    require_role(g.actor, "koordinator")
    found = _figures(request_filters())
    return jsonify(_body(found, found.stats))


@api_bp.get("/statistikk.xlsx")
@api_login_required
def statistikk_xlsx_api() -> Response:
    require_role(g.actor, "koordinator")
    return _xlsx(_figures(request_filters(), fresh=True).stats, "statistikk")


def _public_cache(resp: Response, found: store.Figures) -> Response:
    age = STALE_MAX_AGE if found.updating else PUBLIC_MAX_AGE
    resp.headers["Cache-Control"] = f"public, max-age={age}"
    return resp


@api_bp.get("/tall")
def tall_api() -> Response:
    found = _figures(request_filters(public=True), prepare=_public_of)
    return _public_cache(jsonify(_body(found, _public_of(found))), found)


# ---- pages --------------------------------------------------------------------------------------


@bp.get("/statistikk")
@login_required("koordinator")
def statistikk() -> Response:
    filters = request_filters()
    found = _figures(filters, prepare=_page_charts)
    return _page(
        render_template(
            "statistikk.html",
            stats=found.stats,
            filters=filters,
            facets=_facets(),
            charts=_page_charts(found),
            query=request.query_string.decode("ascii", "replace"),
            status=_status(found),
            **_labels(),
        )
    )


@bp.get("/statistikk.xlsx")
@login_required("koordinator")
def statistikk_xlsx() -> Response:
    return _xlsx(_figures(request_filters(), fresh=True).stats, "statistikk")


@bp.get("/tall")
def tall() -> Response:
    filters = request_filters(public=True)
    found = _figures(filters, prepare=_public_charts)
    everything = public_filters()
    unfiltered = found if filters == everything else _figures(everything, prepare=_public_of)
    all_years = _public_of(unfiltered)["per_ar"]
    resp = _page(
        render_template(
            "tall.html",
            stats=_public_of(found),
            filters=filters,
            years=[y for y in all_years if y != HIDDEN],
            charts=_public_charts(found),
            status=_status(found),
            **_labels(),
            public_types={PUBLIC_FORM_TYPE: TYPE_LABELS[PUBLIC_FORM_TYPE]},
        )
    )
    return _public_cache(resp, found)
