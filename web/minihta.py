"""Mini-HTA peer review (WORKFLOW.md section 6): API endpoints and pages for the coordinator and
the peer reviewers. Each route is one call of `services.minihta`; refusals are `DomainError`s."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, render_template, request, url_for

from processor.domain import Actor, State, case_key
from processor.errors import DomainError
from services import minihta
from services.cases import transition
from storage.models_minihta import CONFLICT_LABELS
from web import views
from web.auth import api_login_required, login_required
from web.context import storage
from web.http import act, download, json_body, page_actor, text_field

api_bp = Blueprint("minihta_api", __name__, url_prefix="/api/v1")
bp = Blueprint("minihta", __name__)


def _peer_packet(actor: Actor, case_id: str) -> Response:
    """The peer packet as a download, for the API and the reviewer's page alike."""
    st = storage()
    body = minihta.peer_packet(actor, case_id, st.uow(), st.today())
    return download(body, f"fagfellepakke-{case_key(case_id)}.zip", "application/zip")


# ---- API --------------------------------------------------------------------------------------


@api_bp.post("/saker/<case_id>/fagfelle")
@api_login_required
def assign(case_id: str) -> Response:
    data = json_body()
    done = minihta.assign_reviewer(
        g.actor,
        case_id,
        text_field(data, "fagfelle"),
        text_field(data, "begrunnelse"),
        storage().uow(),
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
def assignments(case_id: str) -> Response:
    rows = minihta.case_assignments(g.actor, storage().uow(), case_id)
    return jsonify({"sak": case_key(case_id), "tildelinger": rows})


@api_bp.post("/saker/<case_id>/habilitet")
@api_login_required
def declare_conflict(case_id: str) -> Response:
    data = json_body()
    level = text_field(data, "niva") or ""
    a = minihta.declare_conflict(
        g.actor, case_id, level, text_field(data, "beskrivelse"), storage().uow()
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
def approve_conflict(case_id: str) -> Response:
    a = minihta.approve_conflict(g.actor, case_id, storage().uow())
    return jsonify(
        {"sak": a.case_id, "fagfelle": a.reviewer, "niva": a.conflict_level, "godkjent": True}
    )


@api_bp.post("/saker/<case_id>/habilitet/senk")
@api_login_required
def lower_conflict(case_id: str) -> Response:
    data = json_body()
    a = minihta.lower_conflict(
        g.actor,
        case_id,
        text_field(data, "niva") or "",
        text_field(data, "begrunnelse"),
        storage().uow(),
    )
    return jsonify({"sak": a.case_id, "fagfelle": a.reviewer, "niva": a.conflict_level})


@api_bp.get("/saker/<case_id>/fagfellepakke.zip")
@api_login_required
def reviewer_packet(case_id: str) -> Response:
    return _peer_packet(g.actor, case_id)


@api_bp.get("/fagfelle/saker")
@api_login_required
def my_cases() -> Response:
    return jsonify({"saker": minihta.reviewer_cases(g.actor, storage().uow())})


# ---- pages ------------------------------------------------------------------------------------
# A refusal of the service is flashed on the page, FORBIDDEN too: here it is a rule of the peer
# review (a reviewer may not lower their own conflict level), the pages' roles are checked first.


@bp.get("/fagfelle")
@login_required("fagfelle")
def reviewer_page() -> str:
    saker = minihta.reviewer_cases(page_actor(), storage().uow())
    return render_template(
        "minihta_fagfelle.html",
        saker=saker,
        nivaer=CONFLICT_LABELS,
        maler=views.template_links(views.REVIEWER_FORMS),
    )


@bp.post("/fagfelle/<case_id>/habilitet")
@login_required("fagfelle")
def reviewer_conflict(case_id: str) -> Response:
    return act(
        lambda: minihta.declare_conflict(
            page_actor(),
            case_id,
            request.form.get("niva", ""),
            request.form.get("beskrivelse"),
            storage().uow(),
        ),
        "Habiliteten er registrert.",
        url_for("minihta.reviewer_page"),
        flash_forbidden=True,
    )


@bp.post("/fagfelle/<case_id>/navn")
@login_required("fagfelle")
def reviewer_name_consent(case_id: str) -> Response:
    consent = request.form.get("navn") == "ja"
    return act(
        lambda: minihta.set_name_consent(page_actor(), case_id, consent, storage().uow()),
        "Navnet ditt publiseres med fagfellevurderingen."
        if consent
        else "Fagfellevurderingen publiseres uten navnet ditt.",
        url_for("minihta.reviewer_page"),
        flash_forbidden=True,
    )


@bp.get("/fagfelle/<case_id>/pakke.zip")
@login_required("fagfelle")
def reviewer_packet_zip(case_id: str) -> Response:
    return _peer_packet(page_actor(), case_id)


@bp.get("/minihta/<case_id>/fagfelle")
@login_required("koordinator")
def coordinator_page(case_id: str) -> str:
    rows = minihta.case_assignments(page_actor(), storage().uow(), case_id)
    # the list of reviewers is offered while a reviewer can be assigned (the service's states)
    valg = None
    if not any(r["aktiv"] for r in rows):
        try:
            valg = minihta.reviewer_choices(page_actor(), case_id, storage().uow())
        except DomainError:
            valg = None  # a decided (read-only) case: the assignments only
    return render_template(
        "minihta_tildeling.html",
        sak=case_key(case_id),
        tildelinger=rows,
        nivaer=CONFLICT_LABELS,
        valg=valg,
    )


def _coordinator_page(case_id: str) -> str:
    return url_for("minihta.coordinator_page", case_id=case_key(case_id))


@bp.post("/minihta/<case_id>/fagfelle")
@login_required("koordinator")
def coordinator_assign(case_id: str) -> Response:
    return act(
        lambda: minihta.assign_reviewer(
            page_actor(),
            case_id,
            request.form.get("fagfelle") or None,
            request.form.get("begrunnelse"),
            storage().uow(),
        ),
        lambda done: f"{done.reviewer} er tildelt som fagfelle.",
        _coordinator_page(case_id),
        flash_forbidden=True,
    )


@bp.post("/minihta/<case_id>/godkjenn")
@login_required("koordinator")
def coordinator_approve(case_id: str) -> Response:
    return act(
        lambda: minihta.approve_conflict(page_actor(), case_id, storage().uow()),
        "Den gule habiliteten er godkjent.",
        _coordinator_page(case_id),
        flash_forbidden=True,
    )


@bp.post("/minihta/<case_id>/habilitet/senk")
@login_required("koordinator")
def coordinator_lower(case_id: str) -> Response:
    return act(
        lambda: minihta.lower_conflict(
            page_actor(),
            case_id,
            request.form.get("niva", ""),
            request.form.get("begrunnelse"),
            storage().uow(),
        ),
        lambda a: (
            f"Habiliteten til {a.reviewer} er senket til «{CONFLICT_LABELS[a.conflict_level]}»."
        ),
        _coordinator_page(case_id),
        flash_forbidden=True,
    )


@bp.get("/minihta/<case_id>/forhandsvisning")
@login_required("koordinator")
def preview(case_id: str) -> str:
    data = minihta.publication_preview(page_actor(), case_id, storage().uow())
    return render_template(
        "publisert_sak.html", sak=data, dokumenter=minihta.DOCUMENTS, forhandsvisning=True
    )


@bp.post("/minihta/<case_id>/publiser")
@login_required("koordinator")
def publish(case_id: str) -> Response:
    key = case_key(case_id)
    return act(
        lambda: transition(
            page_actor(), key, State.BESLUTTET, State.PUBLISERT, None, storage().uow()
        ),
        "Mini-metodevurderingen er publisert.",
        url_for("minihta.preview", case_id=key),
        done=url_for("public.published_case", case_id=key),
        moved_on=url_for("pages.case", case_id=key),
    )
