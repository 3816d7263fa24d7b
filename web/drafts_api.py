"""The drafts API under `/api/v1/utkast` (spec/PORTAL.md section 5): one `services.drafts` call
per route. Bearer tokens only, so the blueprint is exempt from CSRF. The order of the checks
(401 → 403 → 404 → 403 FUNCTION_REQUIRED → 409 → 422 …) is the service's: a route hands the
body's values over as they came and refuses nothing itself but a body that is not JSON (and
that only after the role and the draft's existence)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from processor.errors import DomainError
from services import drafts
from web.api import limits
from web.auth import api_login_required
from web.context import storage
from web.http import download, json_body, query_text
from web.limits import upload_limits

api_bp = Blueprint("drafts_api", __name__, url_prefix="/api/v1")


def _body(view: drafts.DraftView, status: int = 200) -> tuple[Response, int]:
    return jsonify(view.to_dict()), status


def _created(view: drafts.DraftView) -> tuple[Response, int]:
    resp, status = _body(view, 201)
    resp.headers["Location"] = f"/api/v1/utkast/{view.id}"
    return resp, status


def _json(draft_id: str | None = None) -> dict[str, Any]:
    """The JSON body. A body that is not JSON is content: refused (INVALID_REQUEST) only after
    the role and the draft's existence are checked, as PORTAL.md section 3 orders them."""
    try:
        return json_body()
    except DomainError:
        drafts.reachable(storage().uow(), g.actor, draft_id)
        raise


def _version_arg() -> Any:
    """`?versjon=N` as an integer; anything else is handed on as it came (the service refuses it
    with INVALID_REQUEST in its turn, after access and existence)."""
    raw = request.args.get("versjon", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else raw


@api_bp.post("/utkast")
@api_login_required
def create() -> tuple[Response, int]:
    data = _json()
    return _created(drafts.create(storage().uow(), g.actor, data.get("skjema")))


@api_bp.post("/utkast/import")
@api_login_required
@upload_limits()
def import_file() -> tuple[Response, int]:
    upload = request.files.get("fil")
    lim = limits()
    data = upload.read(lim.max_file_bytes + 1) if upload is not None else b""
    if len(data) > lim.max_file_bytes:
        raise RequestEntityTooLarge()
    filename = upload.filename if upload is not None else None
    view = drafts.import_file(storage().uow(), g.actor, filename or "", data, limits=lim)
    return _created(view)


@api_bp.get("/utkast")
@api_login_required
def list_drafts() -> Response:
    found = drafts.listing(
        storage().uow(), g.actor, status=query_text("status"), skjema=query_text("skjema")
    )
    return jsonify({"utkast": [d.to_dict() for d in found]})


@api_bp.get("/utkast/<draft_id>")
@api_login_required
def show(draft_id: str) -> tuple[Response, int]:
    return _body(drafts.get(storage().uow(), g.actor, draft_id))


@api_bp.patch("/utkast/<draft_id>")
@api_login_required
def save(draft_id: str) -> tuple[Response, int]:
    data = _json(draft_id)
    view = drafts.save(storage().uow(), g.actor, draft_id, data.get("versjon"), data.get("verdier"))
    return _body(view)


@api_bp.post("/utkast/<draft_id>/send")
@api_login_required
def send(draft_id: str) -> tuple[Response, int]:
    data = _json(draft_id)
    return _body(drafts.send(storage().uow(), g.actor, draft_id, data.get("versjon")))


@api_bp.post("/utkast/<draft_id>/godkjenning")
@api_login_required
def approval(draft_id: str) -> tuple[Response, int]:
    data = _json(draft_id)
    view = drafts.approve(
        storage().uow(),
        g.actor,
        draft_id,
        data.get("versjon"),
        data.get("funksjon"),
        data.get("godkjent"),
        data.get("begrunnelse"),
    )
    return _body(view)


@api_bp.get("/utkast/<draft_id>/kvittering.pdf")
@api_login_required
def receipt(draft_id: str) -> Response:
    body = drafts.receipt_pdf(storage().uow(), g.actor, draft_id)
    return download(body, f"kvittering-{draft_id}.pdf", "application/pdf")


@api_bp.delete("/utkast/<draft_id>")
@api_login_required
def delete(draft_id: str) -> Response:
    drafts.delete(storage().uow(), g.actor, draft_id, _version_arg())
    return Response(status=204)
