"""The public database of published mini-HTAs (no login): search, one publication, PDFs, feed.

Only published content is reachable here: `services.minihta.published_case` answers NOT_FOUND for
any case that is not `publisert`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, jsonify, render_template, request

from forms.text import xml_text
from processor.domain import case_key
from processor.errors import DomainError
from services import minihta
from web.context import external_url, storage
from web.http import download, query_text

api_bp = Blueprint("public_api", __name__, url_prefix="/api/v1")
bp = Blueprint("public", __name__)

ATOM = "application/atom+xml"
FEED_TITLE = "Publiserte mini-metodevurderinger – Nye metoder"
PUBLIC_CACHE = "public, max-age=60"
SEARCH_PARAMS = ("q", "hf", "ar", "fagomrade", "konklusjon")  # the query names `_filters` reads


def _filters() -> dict[str, Any]:
    raw_year = (request.args.get("ar") or "").strip()
    year = None
    if raw_year:
        if not raw_year.isdigit() or len(raw_year) != 4:
            raise DomainError("INVALID_VALUE", "«ar» må være et årstall med fire sifre.")
        year = int(raw_year)
    return {
        "q": query_text("q"),
        "hf": query_text("hf"),
        "year": year,
        "fagomrade": query_text("fagomrade"),
        "konklusjon": query_text("konklusjon"),
    }


def _public(resp: Response) -> Response:
    resp.headers["Cache-Control"] = PUBLIC_CACHE
    return resp


def feed() -> Response:
    items = minihta.search_published(storage().uow(), limit=50)
    fg = FeedGenerator()
    # links on the configured base URL: the feed is cached publicly, and the Host header of
    # whoever asked first is not to be trusted (a forged one would reach every later reader)
    page = external_url("public.published")
    fg.id(page)
    fg.title(FEED_TITLE)
    fg.subtitle("Nye publiseringer i den nasjonale databasen for mini-metodevurderinger.")
    fg.author({"name": "Nye metoder"})
    fg.language("nb")
    fg.link(href=page, rel="alternate", type="text/html")
    fg.link(href=external_url("public_api.feed_api"), rel="self", type=ATOM)
    newest = max((datetime.fromisoformat(i["publisert"]) for i in items), default=None)
    fg.updated(newest or datetime(2026, 1, 1, tzinfo=UTC))
    for item in reversed(items):
        at = datetime.fromisoformat(item["publisert"])
        url = external_url("public.published_case", case_id=item["sak"])
        entry = fg.add_entry()
        entry.id(url)
        # stored text as XML can hold it (no NUL, no lone surrogate: lxml refuses them)
        entry.title(xml_text(f"{item['tittel']} ({item['sak']})"))
        entry.link(href=url, rel="alternate", type="text/html")
        entry.published(at)
        entry.updated(at)
        entry.summary(
            xml_text(
                f"{item['konklusjon_tekst']}. {item['fagomrade']}, {item['helseforetak']}. "
                f"{item['sammendrag']}".strip()
            )
        )
    return _public(Response(fg.atom_str(pretty=True), mimetype=ATOM))


# ---- API --------------------------------------------------------------------------------------


@api_bp.get("/publisert")
def published_api() -> Response:
    items = minihta.search_published(storage().uow(), **_filters())
    return _public(jsonify({"antall": len(items), "publisert": items}))


@api_bp.get("/publisert.atom")
def feed_api() -> Response:
    return feed()


@api_bp.get("/publisert/<case_id>")
def published_case_api(case_id: str) -> Response:
    return _public(jsonify(minihta.published_case(storage().uow(), case_id)))


# ---- pages ------------------------------------------------------------------------------------


@bp.get("/publisert")
def published() -> str:
    filters = _filters()
    uow = storage().uow()
    items = minihta.search_published(uow, **filters)
    # the «Som JSON» link carries the search's own parameters only (never a name `url_for` reads)
    asked = {name: request.args[name] for name in SEARCH_PARAMS if request.args.get(name)}
    return render_template(
        "publisert.html",
        items=items,
        filters=filters,
        sok=asked,
        facets=minihta.facets(uow),
        utfall=minihta.UTFALL_LABELS,
    )


@bp.get("/publisert.atom")
def feed_page() -> Response:
    return feed()


@bp.get("/publisert/<case_id>")
def published_case(case_id: str) -> str:
    data = minihta.published_case(storage().uow(), case_id)
    return render_template("publisert_sak.html", sak=data, dokumenter=minihta.DOCUMENTS)


@bp.get("/publisert/<case_id>/<document>.pdf")
def published_pdf(case_id: str, document: str) -> Response:
    body = minihta.published_pdf(storage().uow(), case_id, document)
    name = f"{document}-{case_key(case_id)}.pdf"
    return download(body, name, "application/pdf", cache=PUBLIC_CACHE)
