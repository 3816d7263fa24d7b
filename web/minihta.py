"""Mini-HTA peer review (WORKFLOW.md section 6): API endpoints and pages for the coordinator and
the peer reviewers. Each route is one call of `services.minihta`; refusals are `DomainError`s."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from processor.domain import case_key
from processor.errors import DomainError
from services import minihta
from storage.models_minihta import CONFLICT_LABELS
from web.app import storage
from web.auth import api_login_required, login_required, require_role, session_actor
from web.jsonbody import json_body

api_bp = Blueprint("minihta_api", __name__, url_prefix="/api/v1")
bp = Blueprint("minihta", __name__)


def _json_body() -> dict[str, Any]:
    return json_body()


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise DomainError("INVALID_REQUEST", f"Feltet «{key}» må være en tekst.")
    return value


def _zip(body: bytes, case_id: str) -> Response:
    resp = Response(body, mimetype="application/zip")
    resp.headers["Content-Disposition"] = f'attachment; filename="fagfellepakke-{case_id}.zip"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ---- API --------------------------------------------------------------------------------------


@api_bp.post("/saker/<case_id>/fagfelle")
@api_login_required
def tildel(case_id: str) -> Response:
    data = _json_body()
    done = minihta.assign_reviewer(
        g.actor, case_id, _text(data, "fagfelle"), _text(data, "begrunnelse"), storage().uow()
    )
    return jsonify(
        {
            "sak": done.case_id,
            "fagfelle": done.reviewer,
            "overstyrt": done.override,
            "status": done.state,
        }
    )


@api_bp.get("/saker/<case_id>/fagfelle")
@api_login_required
def tildelinger(case_id: str) -> Response:
    require_role(g.actor, "koordinator")
    return jsonify(
        {
            "sak": case_key(case_id),
            "tildelinger": minihta.assignments_of(storage().uow(), case_key(case_id)),
        }
    )


@api_bp.post("/saker/<case_id>/habilitet")
@api_login_required
def habilitet(case_id: str) -> Response:
    data = _json_body()
    level = _text(data, "niva") or ""
    a = minihta.declare_conflict(
        g.actor, case_id, level, _text(data, "beskrivelse"), storage().uow()
    )
    return jsonify(
        {
            "sak": a.case_id,
            "niva": a.conflict_level,
            "aktiv": a.active,
            "godkjent": a.approved_by is not None,
        }
    )


@api_bp.post("/saker/<case_id>/habilitet/godkjenn")
@api_login_required
def godkjenn(case_id: str) -> Response:
    a = minihta.approve_conflict(g.actor, case_id, storage().uow())
    return jsonify(
        {"sak": a.case_id, "fagfelle": a.reviewer, "niva": a.conflict_level, "godkjent": True}
    )


@api_bp.post("/saker/<case_id>/habilitet/senk")
@api_login_required
def senk(case_id: str) -> Response:
    data = _json_body()
    a = minihta.lower_conflict(
        g.actor, case_id, _text(data, "niva") or "", _text(data, "begrunnelse"), storage().uow()
    )
    return jsonify({"sak": a.case_id, "fagfelle": a.reviewer, "niva": a.conflict_level})


@api_bp.get("/saker/<case_id>/fagfellepakke.zip")
@api_login_required
def fagfellepakke(case_id: str) -> Response:
    st = storage()
    return _zip(minihta.peer_packet(g.actor, case_id, st.uow(), st.today()), case_key(case_id))


@api_bp.get("/fagfelle/saker")
@api_login_required
def mine_saker() -> Response:
    require_role(g.actor, "fagfelle")
    return jsonify({"saker": minihta.reviewer_cases(g.actor, storage().uow())})


# ---- pages ------------------------------------------------------------------------------------


def _actor() -> Any:
    actor = session_actor()
    assert actor is not None
    return actor


@bp.get("/fagfelle")
@login_required("fagfelle")
def fagfelle() -> str:
    saker = minihta.reviewer_cases(_actor(), storage().uow())
    return render_template("minihta_fagfelle.html", saker=saker, nivaer=CONFLICT_LABELS)


@bp.post("/fagfelle/<case_id>/habilitet")
@login_required("fagfelle")
def fagfelle_habilitet(case_id: str) -> Response:
    try:
        minihta.declare_conflict(
            _actor(),
            case_id,
            request.form.get("niva", ""),
            request.form.get("beskrivelse"),
            storage().uow(),
        )
        flash("Habiliteten er registrert.", "ok")
    except DomainError as e:
        if e.code == "NOT_FOUND":
            raise
        flash(e.message, "feil")
    return redirect(url_for("minihta.fagfelle"), 303)


@bp.get("/fagfelle/<case_id>/pakke.zip")
@login_required("fagfelle")
def fagfelle_pakke(case_id: str) -> Response:
    st = storage()
    return _zip(minihta.peer_packet(_actor(), case_id, st.uow(), st.today()), case_key(case_id))


@bp.get("/minihta/<case_id>/fagfelle")
@login_required("koordinator")
def koordinator_side(case_id: str) -> str:
    case_id = case_key(case_id)
    rows = minihta.assignments_of(storage().uow(), case_id)
    return render_template(
        "minihta_tildeling.html", sak=case_id, tildelinger=rows, nivaer=CONFLICT_LABELS
    )


@bp.post("/minihta/<case_id>/fagfelle")
@login_required("koordinator")
def koordinator_tildel(case_id: str) -> Response:
    try:
        done = minihta.assign_reviewer(
            _actor(),
            case_id,
            request.form.get("fagfelle") or None,
            request.form.get("begrunnelse"),
            storage().uow(),
        )
        flash(f"{done.reviewer} er tildelt som fagfelle.", "ok")
    except DomainError as e:
        if e.code == "NOT_FOUND":
            raise
        flash(e.message, "feil")
    return redirect(url_for("minihta.koordinator_side", case_id=case_key(case_id)), 303)


@bp.post("/minihta/<case_id>/godkjenn")
@login_required("koordinator")
def koordinator_godkjenn(case_id: str) -> Response:
    try:
        minihta.approve_conflict(_actor(), case_id, storage().uow())
        flash("Den gule habiliteten er godkjent.", "ok")
    except DomainError as e:
        if e.code == "NOT_FOUND":
            raise
        flash(e.message, "feil")
    return redirect(url_for("minihta.koordinator_side", case_id=case_key(case_id)), 303)


@bp.post("/minihta/<case_id>/habilitet/senk")
@login_required("koordinator")
def koordinator_senk(case_id: str) -> Response:
    try:
        a = minihta.lower_conflict(
            _actor(),
            case_id,
            request.form.get("niva", ""),
            request.form.get("begrunnelse"),
            storage().uow(),
        )
        flash(
            f"Habiliteten til {a.reviewer} er senket til «{CONFLICT_LABELS[a.conflict_level]}».",
            "ok",
        )
    except DomainError as e:
        if e.code == "NOT_FOUND":
            raise
        flash(e.message, "feil")
    return redirect(url_for("minihta.koordinator_side", case_id=case_key(case_id)), 303)
