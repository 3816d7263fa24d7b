"""The figures of WORKFLOW.md section 7 (issue 7): coordinator page and API, public aggregates.

- `/statistikk` (page, koordinator) and `GET /api/v1/statistikk` (bearer, koordinator) show the
  same dict (`services.figures.figures`, the structure of `processor.statistics.compute`);
  `.xlsx` of either is `processor.statistics.to_xlsx` of that dict.
- `/tall` and `GET /api/v1/tall` (no login) show `public_figures` only: published mini-HTAs
  only (`public_filters`: applications and unpublished mini-HTAs are never counted in public),
  no cell under 5 cases nor one that would reveal one, no case ids; filtered by year only
  (`type` accepts `minihta`, the one public type; finer public filters would let small groups
  be found by subtraction).

Charts and public figures are made once per figures (`services.figures.Figures.key`: database,
filters, cases marker) and kept in a small LRU cache (`cachetools`); they cost more than reading
the counts. The filter choices are those of the unfiltered figures.

The figures are always those of the cases as they are (`services.figures`). The JSON says when
they were computed (`"beregnet"`, ISO 8601); `"oppdateres"` (figures being renewed in the
background, issue 9) is kept for API clients and is always false now.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cachetools import LRUCache
from flask import Blueprint, Response, g, jsonify, render_template, request

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
PUBLIC_MAX_AGE = 60  # seconds a public answer may be cached
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


_derived: LRUCache[tuple[Any, ...], Any] = LRUCache(maxsize=32)
_derived_lock = threading.Lock()


def _memo(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """`make()`, kept under `key` (a `Figures.key` and what is made of it)."""
    with _derived_lock:
        if key in _derived:
            return _derived[key]
    value = make()
    with _derived_lock:
        _derived[key] = value
    return value


def _figures(filters: Filters) -> store.Figures:
    """The figures of `filters`, as the cases are now."""
    return store.figures(storage().uow(), filters, marker=_marker())


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
    return _memo(("public", *found.key), lambda: public_figures(found.stats))  # type: ignore[no-any-return]


def _page_charts(found: store.Figures) -> dict[str, str]:
    return _charts(found.key, found.stats)


def _public_charts(found: store.Figures) -> dict[str, str]:
    return _charts(("public", *found.key), _public_of(found))


def _body(found: store.Figures, stats: dict[str, Any]) -> dict[str, Any]:
    """The JSON: the figures and when they were computed (`oppdateres`: always false now)."""
    return {**stats, "beregnet": found.computed_at.isoformat(), "oppdateres": False}


def computed_text(when: datetime) -> str:
    """«23.11.2026 kl. 14:05», Norwegian time."""
    return timefmt.dato_tid(when)


def _status(found: store.Figures) -> dict[str, Any]:
    return {"beregnet": computed_text(found.computed_at)}


def _charts(key: tuple[Any, ...], stats: dict[str, Any]) -> dict[str, str]:
    def make() -> dict[str, str]:
        return {
            "behandlingstid": charts.stage_time_chart(stats),
            "utfall": charts.outcomes_chart(stats),
            "flyt": charts.flow_chart(stats),
        }

    return _memo(("charts", *key), make)


def _facets() -> dict[str, list[str]]:
    """The filter choices (those of the unfiltered figures)."""
    return store.filter_choices(storage().uow(), marker=_marker())


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
    return _xlsx(_figures(request_filters()).stats, "statistikk")


def _public_cache(resp: Response) -> Response:
    resp.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    return resp


@api_bp.get("/tall")
def tall_api() -> Response:
    found = _figures(request_filters(public=True))
    return _public_cache(jsonify(_body(found, _public_of(found))))


# ---- pages --------------------------------------------------------------------------------------


@bp.get("/statistikk")
@login_required("koordinator")
def statistikk() -> Response:
    filters = request_filters()
    found = _figures(filters)
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
    return _xlsx(_figures(request_filters()).stats, "statistikk")


@bp.get("/tall")
def tall() -> Response:
    filters = request_filters(public=True)
    found = _figures(filters)
    everything = public_filters()
    unfiltered = found if filters == everything else _figures(everything)
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
    return _public_cache(resp)
