"""The committee's pages and API (issue 5): members, meetings, planning, packets, decisions.

Two blueprints: `api` (bearer tokens, under /api/v1, exempt from CSRF) and `pages` (session,
CSRF on every form). Each route is one call of a function in `services.committee`; a page renders
the same data as its JSON twin.

App config: `MEETING_WEEKDAY` (0 = Monday … 6 = Sunday, default 3: Thursday) and `MEETING_TIME`
("09:00") set the suggested meeting dates (every second week) and the default time.

A decided case is read-only: the services refuse every later change of it with `CASE_DECIDED`
(409); a new upload with its reference is `REFERENCE_IN_USE` (409).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from forms.helseforetak import registry
from processor.decisions import CRITERIA, criterion_label
from processor.errors import DomainError, NotFound
from processor.render import format_weekday_date
from processor.workdays import DEFAULT_MEETING_WEEKDAY, papers_deadline, suggested_meeting_dates
from services import committee, queries
from web import views
from web.auth import api_login_required, login_required, session_actor
from web.context import storage
from web.http import (
    act,
    download,
    field_errors,
    flag_field,
    json_body,
    page_actor,
    page_not_found,
    show_refusal,
    text_field,
    typed_form,
)

api = Blueprint("committee_api", __name__, url_prefix="/api/v1")
pages = Blueprint("committee", __name__)

pages.register_error_handler(NotFound, page_not_found)

DEFAULT_TIME = "09:00"


# ---- API ----------------------------------------------------------------------------------------


@api.get("/komite")
@api_login_required
def api_members() -> Response:
    st = storage()
    members = committee.list_members(g.actor, st.uow(), st.today())
    return jsonify({"medlemmer": [m.to_dict() for m in members]})


def _member_changes(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("beslutningstaker", "fagdirektor"):
        if key in data:
            out[key] = flag_field(data, key)
    if "vara_for" in data:
        if data["vara_for"] is not None and not isinstance(data["vara_for"], str):
            raise DomainError("INVALID_REQUEST", "Feltet «vara_for» må være et brukernavn.")
        out["vara_for"] = data["vara_for"]
    for key, arg in (("aktiv_fra", "active_from"), ("aktiv_til", "active_to")):
        if key in data:
            value = data[key]
            if value in (None, ""):
                out[arg] = None
            elif isinstance(value, str):
                out[arg] = committee.parse_date(value, f"«{key}»")
            else:
                raise DomainError("INVALID_REQUEST", f"Feltet «{key}» må være en dato.")
    return out


@api.post("/komite/<username>")
@api_login_required
def api_set_member(username: str) -> Response:
    info = committee.set_member(g.actor, storage().uow(), username, **_member_changes(json_body()))
    return jsonify(info.to_dict())


@api.get("/moter")
@api_login_required
def api_meetings() -> Response:
    st = storage()
    return jsonify({"moter": committee.list_meetings(g.actor, st.uow(), st.today())})


def _meeting_args(data: dict[str, Any]) -> dict[str, Any]:
    dato, tid = data.get("dato"), data.get("tid", current_app.config.get("MEETING_TIME"))
    if not isinstance(dato, str) or not isinstance(tid, str):
        raise DomainError("INVALID_REQUEST", "Møtet må ha «dato» (ÅÅÅÅ-MM-DD) og «tid» (TT:MM).")
    limit = data.get("saksgrense", committee.DEFAULT_CASE_LIMIT)
    return {
        "on": committee.parse_date(dato),
        "at": committee.parse_time(tid),
        "case_limit": limit,
    }


def decision_input(body: dict[str, Any]) -> committee.DecisionInput:
    """A decision's JSON body (API.md) as the service's input: checks the types; the content
    rules are the service's (`committee.validate_decision`)."""

    def text(key: str) -> str:
        value = text_field(body, key) or ""
        if len(value) > committee.MAX_TEXT:
            raise DomainError(
                "INVALID_VALUE",
                f"«{key}» kan være på høyst {committee.MAX_TEXT} tegn.",
                field=key,
            )
        return value

    raw = body.get("kriterier", {})
    if not isinstance(raw, dict):
        raise DomainError("INVALID_REQUEST", "Feltet «kriterier» må være et objekt.")
    kriterier: dict[str, tuple[bool, str]] = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict):
            raise DomainError(
                "INVALID_REQUEST", f"Kriteriet «{key}» må være et objekt med «oppfylt»."
            )
        met = entry.get("oppfylt")
        reason = entry.get("begrunnelse") or ""
        if not isinstance(reason, str) or len(reason) > committee.MAX_TEXT:
            raise DomainError(
                "INVALID_REQUEST",
                f"Begrunnelsen for «{key}» må være en tekst.",
                field=f"{key}_begrunnelse",
            )
        kriterier[str(key)] = (met, reason)  # type: ignore[assignment]
    deltakere = body.get("deltakere", [])
    if not isinstance(deltakere, list) or not all(isinstance(d, str) for d in deltakere):
        raise DomainError("INVALID_REQUEST", "Feltet «deltakere» må være en liste med brukernavn.")
    proposal = flag_field(body, "foreslar_gruppevurdering", False)
    return committee.DecisionInput(
        utfall=text("utfall"),
        kriterier=kriterier,
        begrunnelse=text("begrunnelse"),
        deltakere=[d.strip() for d in deltakere if d.strip()],
        foreslar_gruppevurdering=proposal,
        gruppevurdering_tekst=text("gruppevurdering_tekst"),
    )


@api.post("/moter")
@api_login_required
def api_create_meeting() -> tuple[Response, int]:
    st = storage()
    meeting_id = committee.create_meeting(
        g.actor, st.uow(), today=st.today(), **_meeting_args(json_body())
    )
    resp = jsonify({"id": meeting_id})
    resp.headers["Location"] = f"/api/v1/moter/{meeting_id}"
    return resp, 201


@api.get("/moter/<int:meeting_id>")
@api_login_required
def api_meeting(meeting_id: int) -> Response:
    st = storage()
    return jsonify(committee.meeting_detail(g.actor, st.uow(), meeting_id, st.today()))


@api.patch("/moter/<int:meeting_id>")
@api_login_required
def api_update_meeting(meeting_id: int) -> Response:
    data = json_body()
    absent = data.get("fjernet")
    if absent is not None and (
        not isinstance(absent, dict) or not all(isinstance(v, bool) for v in absent.values())
    ):
        raise DomainError(
            "INVALID_REQUEST", "Feltet «fjernet» må være et objekt {brukernavn: true/false}."
        )
    st = storage()
    committee.update_meeting(
        g.actor, st.uow(), meeting_id, case_limit=data.get("saksgrense"), absent=absent
    )
    return jsonify(committee.meeting_detail(g.actor, st.uow(), meeting_id, st.today()))


@api.post("/moter/<int:meeting_id>/planlegg")
@api_login_required
def api_plan(meeting_id: int) -> Response:
    st = storage()
    return jsonify(
        views.plan_outcome(committee.plan_meeting(g.actor, st.uow(), meeting_id, st.today()))
    )


@api.get("/moter/<int:meeting_id>/pakke.zip")
@api_login_required
def api_packet(meeting_id: int) -> Response:
    st = storage()
    data, name = committee.meeting_packet(g.actor, st.uow(), meeting_id, st.today())
    return download(data, name, "application/zip")


@api.get("/saker/<case_id>/vedtak")
@api_login_required
def api_decision(case_id: str) -> Response:
    return jsonify(committee.decision_view(g.actor, storage().uow(), case_id))


@api.post("/saker/<case_id>/vedtak")
@api_login_required
def api_record_decision(case_id: str) -> tuple[Response, int]:
    st = storage()
    decision = decision_input(json_body())
    case = committee.record_decision(g.actor, st.uow(), case_id, decision, st.today())
    resp = jsonify(committee.decision_view(g.actor, st.uow(), case.id) | {"status": case.state})
    resp.headers["Location"] = f"/api/v1/saker/{case.id}/vedtak"
    return resp, 201


@api.get("/saker/<case_id>/vedtak.<fmt>")
@api_login_required
def api_letter(case_id: str, fmt: str) -> Response:
    data, name, kind = committee.decision_letter(g.actor, storage().uow(), case_id, fmt)
    return download(data, name, kind)


# ---- pages --------------------------------------------------------------------------------------


def _date_nb(iso: str) -> str:
    return format_weekday_date(date.fromisoformat(iso))


@pages.app_context_processor
def _context() -> dict[str, Any]:
    return {
        "dato_nb": _date_nb,
        "vedtak_for": _decision_for_page,
        "maks_saksgrense": committee.MAX_CASE_LIMIT,  # the meeting forms' case limit field
    }


def _decision_for_page(case_id: str) -> dict[str, Any] | None:
    """The decision shown on the case page, or None (no decision, or not for this user)."""
    actor = session_actor()
    if actor is None:
        return None
    try:
        return committee.decision_view(actor, storage().uow(), case_id)
    except DomainError:
        return None


@pages.get("/komite")
@login_required("koordinator", "admin")
def members_page() -> str:
    st = storage()
    members = committee.list_members(page_actor(), st.uow(), st.today())
    return render_template(
        "komite_medlemmer.html",
        medlemmer=[m.to_dict() | {"rolle": m.role_nb} for m in members],
        helseforetak=sorted(registry().trusts.items()),
    )


def _form_date(name: str) -> date | None:
    value = (request.form.get(name) or "").strip()
    return committee.parse_date(value, "Datoen") if value else None


def _form_int(name: str, default: int) -> int:
    value = request.form.get(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise DomainError("INVALID_VALUE", "Antall saker må være et heltall.") from None


def _member_form() -> dict[str, Any]:
    """The member settings of the members page's forms, as `committee.set_member` takes them."""
    form = request.form
    return {
        "fagdirektor": form.get("fagdirektor") == "ja",
        "vara_for": form.get("vara_for") or None,
        "active_from": _form_date("aktiv_fra"),
        "active_to": _form_date("aktiv_til"),
    }


@pages.post("/komite")
@login_required("koordinator", "admin")
def members_add() -> Response:
    from services.users import add_user

    form = request.form
    username = (form.get("brukernavn") or "").strip()

    def run() -> None:
        add_user(
            storage().uow(),
            username,
            roles=["komite"],
            hf=(form.get("hf") or "").strip() or None,
            display_name=(form.get("navn") or "").strip(),
            beslutningstaker=form.get("beslutningstaker") == "ja",
            actor=page_actor().username,
        )
        committee.set_member(page_actor(), storage().uow(), username, **_member_form())

    return act(run, f"{username} er lagt til i komitéen.", url_for("committee.members_page"))


@pages.post("/komite/<username>")
@login_required("koordinator", "admin")
def members_update(username: str) -> Response:
    return act(
        lambda: committee.set_member(
            page_actor(),
            storage().uow(),
            username,
            beslutningstaker=request.form.get("beslutningstaker") == "ja",
            **_member_form(),
        ),
        f"{username} er oppdatert.",
        url_for("committee.members_page"),
    )


@pages.get("/moter")
@login_required("koordinator", "komite")
def meetings_page() -> str:
    st = storage()
    today = st.today()
    meetings = committee.list_meetings(page_actor(), st.uow(), today)
    existing = [date.fromisoformat(m["dato"]) for m in meetings]
    weekday = int(current_app.config.get("MEETING_WEEKDAY", DEFAULT_MEETING_WEEKDAY))
    forslag = [
        {"dato": d.isoformat(), "frist": papers_deadline(d).isoformat()}
        for d in suggested_meeting_dates(existing, today, weekday)
    ]
    return render_template(
        "moter.html",
        moter=meetings,
        forslag=forslag,
        tid=current_app.config.get("MEETING_TIME", DEFAULT_TIME),
        saksgrense=committee.DEFAULT_CASE_LIMIT,
    )


@pages.post("/moter")
@login_required("koordinator")
def meetings_create() -> Response:
    form = request.form

    def run() -> int:
        st = storage()
        return committee.create_meeting(
            page_actor(),
            st.uow(),
            committee.parse_date(form.get("dato", "")),
            committee.parse_time(form.get("tid", "")),
            st.today(),
            case_limit=_form_int("saksgrense", committee.DEFAULT_CASE_LIMIT),
        )

    return act(
        run,
        "Møtet er opprettet.",
        url_for("committee.meetings_page"),
        done=lambda meeting_id: url_for("committee.meeting_page", meeting_id=meeting_id),
    )


@pages.get("/moter/<int:meeting_id>")
@login_required("koordinator")
def meeting_page(meeting_id: int) -> str:
    st = storage()
    data = committee.meeting_detail(page_actor(), st.uow(), meeting_id, st.today())
    return render_template("moter_planlegg.html", mote=data, plan=None)


@pages.post("/moter/<int:meeting_id>/planlegg")
@login_required("koordinator")
def meeting_plan(meeting_id: int) -> Any:
    st = storage()
    try:
        outcome = committee.plan_meeting(page_actor(), st.uow(), meeting_id, st.today())
    except DomainError as e:
        show_refusal(e)
        return redirect(url_for("committee.meeting_page", meeting_id=meeting_id), code=303)
    flash(f"{len(outcome.placed)} saker er satt opp til møtet.", "ok")
    data = committee.meeting_detail(page_actor(), st.uow(), meeting_id, st.today())
    return render_template("moter_planlegg.html", mote=data, plan=views.plan_outcome(outcome))


@pages.post("/moter/<int:meeting_id>/innstillinger")
@login_required("koordinator")
def meeting_settings(meeting_id: int) -> Response:
    form = request.form
    present = set(form.getlist("deltar"))
    known = [u for u in form.getlist("medlem") if u]
    return act(
        lambda: committee.update_meeting(
            page_actor(),
            storage().uow(),
            meeting_id,
            case_limit=_form_int("saksgrense", 0) or None,
            absent={u: u not in present for u in known},
        ),
        "Møtet er oppdatert.",
        url_for("committee.meeting_page", meeting_id=meeting_id),
    )


@pages.get("/moter/<int:meeting_id>/pakke.zip")
@login_required("komite")
def meeting_packet(meeting_id: int) -> Response:
    st = storage()
    data, name = committee.meeting_packet(page_actor(), st.uow(), meeting_id, st.today())
    return download(data, name, "application/zip")


def _criteria() -> list[dict[str, str]]:
    return [{"id": key, "navn": criterion_label(key)} for key in CRITERIA]


def _decision_form(
    case_id: str, typed: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> str:
    st = storage()
    sak = queries.case_detail(page_actor(), case_id, st.uow(), st.today())
    return render_template(
        "vedtak_registrer.html",
        sak=sak,
        kriterier=_criteria(),
        medlemmer=committee.decision_members(page_actor(), st.uow(), case_id, st.today()),
        skjema=typed,
        feil=errors,
    )


@pages.get("/saker/<case_id>/vedtak")
@login_required("koordinator")
def decision_page(case_id: str) -> str:
    return _decision_form(case_id)


def _typed_decision() -> dict[str, Any]:
    """The decision form as typed: the values shown again when it is refused."""
    typed: dict[str, Any] = typed_form(
        "utfall",
        "begrunnelse",
        "foreslar_gruppevurdering",
        "gruppevurdering_tekst",
        *(f"{key}_{part}" for key in CRITERIA for part in ("oppfylt", "begrunnelse")),
    )
    typed["deltakere"] = request.form.getlist("deltakere")
    return typed


@pages.post("/saker/<case_id>/vedtak")
@login_required("koordinator")
def decision_record(case_id: str) -> Response | tuple[str, int]:
    typed = _typed_decision()
    body = {
        "utfall": typed["utfall"],
        "kriterier": {
            key: {
                "oppfylt": typed[f"{key}_oppfylt"] == "ja",
                "begrunnelse": typed[f"{key}_begrunnelse"],
            }
            for key in CRITERIA
        },
        "begrunnelse": typed["begrunnelse"],
        "deltakere": typed["deltakere"],
        "foreslar_gruppevurdering": typed["foreslar_gruppevurdering"] == "ja",
        "gruppevurdering_tekst": typed["gruppevurdering_tekst"],
    }
    st = storage()
    try:
        committee.record_decision(page_actor(), st.uow(), case_id, decision_input(body), st.today())
    except DomainError as e:
        errors = field_errors(e)
        if errors is None:
            show_refusal(e)
            return redirect(url_for("pages.case", case_id=case_id), code=303)
        return _decision_form(case_id, typed, errors), e.http_status
    flash("Vedtaket er registrert.", "ok")
    return redirect(url_for("pages.case", case_id=case_id), code=303)


@pages.get("/saker/<case_id>/vedtak.<fmt>")
@login_required("hf", "koordinator")
def decision_letter(case_id: str, fmt: str) -> Response:
    data, name, kind = committee.decision_letter(page_actor(), storage().uow(), case_id, fmt)
    return download(data, name, kind)
