"""The figures of WORKFLOW.md section 7 (issue 7): coordinator page and API, public aggregates.

Each route reads its query (`web.http`), calls one use case of `services.figures` and shapes
one response; the rules (who may see what, which figures are public, the charts and their cache)
are the service's.

- `/statistikk` (page) and `GET /api/v1/statistikk` (bearer) show the coordinator the same dict
  (`services.figures.coordinator_figures`, the structure of `processor.statistics.compute`);
  `.xlsx` of either is `services.figures.coordinator_workbook`.
- `/tall` and `GET /api/v1/tall` (no login) show `services.figures.public` only: published
  mini-HTAs only, no cell under 5 cases nor one that would reveal one, no case ids; filtered by
  year only (`type` accepts `minihta`, the one public type).

The figures are always those of the cases as they are (`services.figures`). The JSON says when
they were computed (`"beregnet"`, ISO 8601); `"oppdateres"` (figures being renewed in the
background, issue 9) is kept for API clients and is always false now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, render_template, request

from processor import charts, timefmt
from processor.domain import CASE_FORM_TYPES
from processor.statistics import (
    FLOW_LABELS,
    HIDDEN,
    OUTCOME_LABELS,
    PUBLIC_FORM_TYPE,
    STATE_LABELS,
    Filters,
)
from services import figures as service
from web.auth import api_login_required, login_required
from web.context import storage
from web.http import download, page_actor, query_field, query_year

api_bp = Blueprint("figures_api", __name__, url_prefix="/api/v1")
bp = Blueprint("figures", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORKBOOK = "statistikk.xlsx"
PUBLIC_MAX_AGE = 60  # seconds a public answer may be cached
# The SVG charts carry pygal's own <style> and style attributes: allowed on these pages only.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'"
)
TYPE_LABELS = {t: t.label for t in CASE_FORM_TYPES}
GROUP_LABELS = {
    "hf": "helseforetak",
    "region": "region",
    "ar": "år",
    "fagomrade": "fagområde",
    "type": "skjematype",
}


# ---- input --------------------------------------------------------------------------------------


def request_filters() -> Filters:
    """The filters of the query string (`hf`, `region`, `ar`, `fagomrade`, `type`)."""
    hf = query_field("hf")
    return Filters(
        hf=hf.upper() if hf else None,
        region=(query_field("region") or "").upper() or None,
        year=query_year("ar"),
        fagomrade=query_field("fagomrade"),
        form_type=query_field("type"),
    )


# ---- output -------------------------------------------------------------------------------------


def _body(stats: dict[str, Any], computed_at: datetime) -> dict[str, Any]:
    """The JSON: the figures and when they were computed (`oppdateres`: always false now)."""
    return {**stats, "beregnet": computed_at.isoformat(), "oppdateres": False}


def computed_text(when: datetime) -> str:
    """«23.11.2026 kl. 14:05», Norwegian time."""
    return timefmt.date_time_text(when)


def _status(computed_at: datetime) -> dict[str, Any]:
    return {"beregnet": computed_text(computed_at)}


def _workbook(data: bytes) -> Response:
    return download(data, WORKBOOK, XLSX)


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


def _public_cache(resp: Response) -> Response:
    resp.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    return resp


# ---- API ----------------------------------------------------------------------------------------


@api_bp.get("/statistikk")
@api_login_required
def statistics_api() -> Response:
    found = service.coordinator_figures(storage().uow(), g.actor, request_filters())
    return jsonify(_body(found.stats, found.computed_at))


@api_bp.get("/statistikk.xlsx")
@api_login_required
def statistics_xlsx_api() -> Response:
    return _workbook(service.coordinator_workbook(storage().uow(), g.actor, request_filters()))


@api_bp.get("/tall")
def public_figures_api() -> Response:
    found = service.public(storage().uow(), query_year("ar"), query_field("type"))
    return _public_cache(jsonify(_body(found.stats, found.computed_at)))


# ---- pages --------------------------------------------------------------------------------------


@bp.get("/statistikk")
@login_required()
def statistics() -> Response:
    filters = request_filters()
    page = service.coordinator_page(storage().uow(), page_actor(), filters)
    return _page(
        render_template(
            "statistikk.html",
            stats=page.found.stats,
            filters=filters,
            facets=page.facets,
            charts=page.charts,
            query=request.query_string.decode("ascii", "replace"),
            status=_status(page.found.computed_at),
            **_labels(),
        )
    )


@bp.get("/statistikk.xlsx")
@login_required()
def statistics_xlsx() -> Response:
    return _workbook(service.coordinator_workbook(storage().uow(), page_actor(), request_filters()))


@bp.get("/tall")
def public_figures() -> Response:
    page = service.public_page(storage().uow(), query_year("ar"), query_field("type"))
    resp = _page(
        render_template(
            "tall.html",
            stats=page.found.stats,
            filters=page.found.filters,
            years=page.years,
            charts=page.charts,
            status=_status(page.found.computed_at),
            **_labels(),
            public_types={PUBLIC_FORM_TYPE: TYPE_LABELS[PUBLIC_FORM_TYPE]},
        )
    )
    return _public_cache(resp)
