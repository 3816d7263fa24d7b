"""The JSON API under `/api/v1` (spec/API.md): a request becomes one service call, a result JSON.

Bearer tokens only (never the session cookie), so the blueprint is exempt from CSRF.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from forms.catalog import catalogue
from processor import codes
from processor.errors import DomainError
from processor.findings import Limits
from services import queries
from services.cases import price_check, set_urgent, transition
from services.upload import upload as upload_form
from web import views
from web.auth import api_login_required
from web.context import storage
from web.http import download, error_body, flag_field, json_body, query_text, text_field
from web.limits import upload_limits

bp = Blueprint("api", __name__, url_prefix="/api/v1")

TEMPLATE_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/schema+json",
}


def limits() -> Limits:
    from flask import current_app

    return Limits(max_file_bytes=int(current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024))


def do_upload(actor: Any) -> tuple[dict[str, Any], int]:
    """Shared by the API and the upload page: the body and the HTTP status."""
    upload = request.files.get("fil")
    if upload is None or not upload.filename:
        raise DomainError("FILE_MISSING", "Velg en fil å sende inn (feltet «fil»).")
    lim = limits()
    data = upload.read(lim.max_file_bytes + 1)
    if len(data) > lim.max_file_bytes:
        raise RequestEntityTooLarge()
    st = storage()
    case_id = (request.args.get("sak") or request.form.get("sak") or "").strip() or None
    if case_id and "\x00" in case_id:
        raise DomainError("INVALID_REQUEST", "Saksnummeret inneholder et ugyldig tegn.")
    result = upload_form(
        actor, upload.filename, data, st.uow(), st.today(), limits=lim, case_id=case_id
    )
    body = views.upload_result(result)
    if result.accepted:
        return body, 201
    status_nb = "ufullstendig" if result.status == "incomplete" else "avvist"
    # the first error names the answer; its status is the catalogue's (422, or 413 for a file
    # found too large while it was read)
    first = body["errors"][0]["code"] if body["errors"] else "INVALID_VALUE"
    body = error_body(first, f"Skjemaet er {status_nb}. Se feilene under.") | body
    return body, codes.http_status(first)


@bp.post("/innsendinger")
@api_login_required
@upload_limits()
def submissions() -> tuple[Response, int]:
    # `?sak=` attaches an economics workbook to its mini-HTA, or resubmits a returned one
    body, status = do_upload(g.actor)
    resp = jsonify(body)
    if status == 201:
        resp.headers["Location"] = f"/api/v1/saker/{body['sak']}"
    return resp, status


def _page_arg() -> int:
    raw = request.args.get("side", "1")
    try:
        page = int(raw)
    except ValueError:
        raise DomainError("INVALID_VALUE", "«side» må være et heltall.") from None
    if page < 1 or page > queries.MAX_PAGE:
        raise DomainError("INVALID_VALUE", "«side» må være 1 eller mer.")
    return page


@bp.get("/saker")
@api_login_required
def cases() -> Response:
    from flask import current_app

    st = storage()
    return jsonify(
        queries.list_cases(
            g.actor,
            st.uow(),
            st.today(),
            form_type=query_text("type"),
            state=query_text("status"),
            hf=query_text("hf"),
            search=query_text("sok"),
            page=_page_arg(),
            per_page=current_app.config["PER_PAGE"],
        )
    )


@bp.get("/saker/<case_id>")
@api_login_required
def case(case_id: str) -> Response:
    st = storage()
    return jsonify(queries.case_detail(g.actor, case_id, st.uow(), st.today()))


@bp.post("/saker/<case_id>/overgang")
@api_login_required
def post_transition(case_id: str) -> Response:
    data = json_body()
    from_ = text_field(data, "fra", required=True)
    to = text_field(data, "til", required=True)
    reason = text_field(data, "begrunnelse")
    case = transition(g.actor, case_id, str(from_), str(to), reason, storage().uow())
    return jsonify(views.case_state(case))


@bp.post("/saker/<case_id>/hast")
@api_login_required
def urgent(case_id: str) -> Response:
    data = json_body()
    urgent = flag_field(data, "hast", True)
    reason = text_field(data, "begrunnelse")
    case = set_urgent(g.actor, case_id, urgent, reason, storage().uow())
    return jsonify(views.case_state(case))


@bp.post("/saker/<case_id>/priskontroll")
@api_login_required
def record_price_check(case_id: str) -> Response:
    data = json_body()
    amount = data.get("legemiddel_per_maned")
    note = text_field(data, "merknad")
    case = price_check(g.actor, case_id, amount, note, storage().uow())  # type: ignore[arg-type]
    return jsonify(views.case_state(case))


@bp.get("/innboks")
@api_login_required
def inbox() -> Response:
    st = storage()
    return jsonify(queries.inbox(g.actor, st.uow(), st.today()))


@bp.get("/priskontroll")
@api_login_required
def price_check_queue() -> Response:
    st = storage()
    return jsonify(queries.price_queue(g.actor, st.uow(), st.today()))


@bp.get("/maler/<form_id>.<fmt>")
def template(form_id: str, fmt: str) -> Response:
    """Blank templates for anyone; `.json` is the form's JSON Schema."""
    form = catalogue().get(form_id)
    if form is None or fmt not in TEMPLATE_TYPES:
        raise NotFound()
    if fmt == "json":
        from schemas import load

        try:
            schema = load(form.id, form.version)
        except FileNotFoundError:
            raise NotFound() from None
        body = json.dumps(schema, ensure_ascii=False, indent=2).encode("utf-8")
    else:
        if fmt not in form.formats:
            raise NotFound()
        from forms.templates import build

        body = build(form.id, fmt)
    return download(body, f"{form.id}.{fmt}", TEMPLATE_TYPES[fmt], cache="public, max-age=3600")


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    ok = storage().healthy()
    return jsonify({"status": "ok" if ok else "feil"}), 200 if ok else 503
