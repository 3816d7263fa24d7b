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

from collections.abc import Callable
from datetime import date, timedelta
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
from werkzeug.exceptions import NotFound as HTTPNotFound

from forms.catalog import registry
from processor import timefmt
from processor.decisions import CRITERIA, criterion_label
from processor.errors import DomainError, NotFound
from processor.workdays import meeting_dates, papers_deadline
from services import committee, queries
from web.app import storage
from web.auth import api_login_required, login_required, session_actor
from web.jsonbody import json_body

api = Blueprint("committee_api", __name__, url_prefix="/api/v1")
pages = Blueprint("committee", __name__)

DEFAULT_WEEKDAY = 3  # Thursday (Monday is 0)
DEFAULT_TIME = "09:00"
WEEKDAYS_NB = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
SUGGESTIONS = 4


def _json_body() -> dict[str, Any]:
    return json_body()


def _download(data: bytes, name: str, mimetype: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


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
            if not isinstance(data[key], bool):
                raise DomainError("INVALID_REQUEST", f"Feltet «{key}» må være true eller false.")
            out[key] = data[key]
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
    info = committee.set_member(g.actor, storage().uow(), username, **_member_changes(_json_body()))
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


@api.post("/moter")
@api_login_required
def api_create_meeting() -> tuple[Response, int]:
    st = storage()
    meeting_id = committee.create_meeting(
        g.actor, st.uow(), today=st.today(), **_meeting_args(_json_body())
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
    data = _json_body()
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
    return jsonify(committee.plan_meeting(g.actor, st.uow(), meeting_id, st.today()).to_dict())


@api.get("/moter/<int:meeting_id>/pakke.zip")
@api_login_required
def api_packet(meeting_id: int) -> Response:
    st = storage()
    data, name = committee.meeting_packet(g.actor, st.uow(), meeting_id, st.today())
    return _download(data, name, "application/zip")


@api.get("/saker/<case_id>/vedtak")
@api_login_required
def api_decision(case_id: str) -> Response:
    return jsonify(committee.decision_view(g.actor, storage().uow(), case_id))


@api.post("/saker/<case_id>/vedtak")
@api_login_required
def api_record_decision(case_id: str) -> tuple[Response, int]:
    st = storage()
    decision = committee.DecisionInput.from_json(_json_body())
    case = committee.record_decision(g.actor, st.uow(), case_id, decision, st.today())
    resp = jsonify(committee.decision_view(g.actor, st.uow(), case.id) | {"status": case.state})
    resp.headers["Location"] = f"/api/v1/saker/{case.id}/vedtak"
    return resp, 201


@api.get("/saker/<case_id>/vedtak.<fmt>")
@api_login_required
def api_letter(case_id: str, fmt: str) -> Response:
    data, name, kind = committee.decision_letter(g.actor, storage().uow(), case_id, fmt)
    return _download(data, name, kind)


# ---- pages --------------------------------------------------------------------------------------


def _actor() -> Any:
    actor = session_actor()
    assert actor is not None  # login_required ran first
    return actor


def _act(action: Callable[[], Any], ok: str, back: str) -> Response:
    """Run a change; a refusal is flashed on the page it came from (unknown objects are 404)."""
    try:
        action()
    except NotFound:
        raise HTTPNotFound() from None
    except DomainError as e:
        flash(e.message, "feil")
        return redirect(back, code=303)
    flash(ok, "ok")
    return redirect(back, code=303)


def _date_nb(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{WEEKDAYS_NB[d.weekday()]} {timefmt.dato(d)}"


@pages.app_context_processor
def _context() -> dict[str, Any]:
    return {"dato_nb": _date_nb, "vedtak_for": _decision_for_page}


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
    members = committee.list_members(_actor(), st.uow(), st.today())
    return render_template(
        "komite_medlemmer.html",
        medlemmer=[m.to_dict() | {"rolle": m.role_nb} for m in members],
        helseforetak=sorted(registry().trusts.items()),
    )


def _form_date(name: str) -> date | None:
    value = (request.form.get(name) or "").strip()
    return committee.parse_date(value, "Datoen") if value else None


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
            actor=_actor().username,
        )
        committee.set_member(
            _actor(),
            storage().uow(),
            username,
            fagdirektor=form.get("fagdirektor") == "ja",
            vara_for=form.get("vara_for") or None,
            active_from=_form_date("aktiv_fra"),
            active_to=_form_date("aktiv_til"),
        )

    return _act(run, f"{username} er lagt til i komitéen.", url_for("committee.members_page"))


@pages.post("/komite/<username>")
@login_required("koordinator", "admin")
def members_update(username: str) -> Response:
    form = request.form

    def run() -> None:
        committee.set_member(
            _actor(),
            storage().uow(),
            username,
            beslutningstaker=form.get("beslutningstaker") == "ja",
            fagdirektor=form.get("fagdirektor") == "ja",
            vara_for=form.get("vara_for") or None,
            active_from=_form_date("aktiv_fra"),
            active_to=_form_date("aktiv_til"),
        )

    return _act(run, f"{username} er oppdatert.", url_for("committee.members_page"))


def suggested_dates(existing: list[date], today: date) -> list[date]:
    """The next meeting dates: every second week on the configured weekday, after the last
    meeting (or from the first such weekday whose papers deadline has not passed)."""
    weekday = int(current_app.config.get("MEETING_WEEKDAY", DEFAULT_WEEKDAY)) % 7
    if existing:
        first = max(existing) + timedelta(weeks=2)
    else:
        first = today + timedelta(days=(weekday - today.weekday()) % 7)
        while papers_deadline(first) < today:
            first += timedelta(weeks=1)
    while first.weekday() != weekday:
        first += timedelta(days=1)
    return meeting_dates(first, first + timedelta(weeks=2 * (SUGGESTIONS - 1)))


@pages.get("/moter")
@login_required("koordinator", "komite")
def meetings_page() -> str:
    st = storage()
    today = st.today()
    meetings = committee.list_meetings(_actor(), st.uow(), today)
    existing = [date.fromisoformat(m["dato"]) for m in meetings]
    forslag = [
        {"dato": d.isoformat(), "frist": papers_deadline(d).isoformat()}
        for d in suggested_dates(existing, today)
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
    created: list[int] = []

    def run() -> None:
        st = storage()
        try:
            limit = int(form.get("saksgrense") or committee.DEFAULT_CASE_LIMIT)
        except ValueError:
            raise DomainError("INVALID_VALUE", "Antall saker må være et heltall.") from None
        created.append(
            committee.create_meeting(
                _actor(),
                st.uow(),
                committee.parse_date(form.get("dato", "")),
                committee.parse_time(form.get("tid", "")),
                st.today(),
                case_limit=limit,
            )
        )

    resp = _act(run, "Møtet er opprettet.", url_for("committee.meetings_page"))
    if created:
        return redirect(url_for("committee.meeting_page", meeting_id=created[0]), code=303)
    return resp


@pages.get("/moter/<int:meeting_id>")
@login_required("koordinator")
def meeting_page(meeting_id: int) -> str:
    st = storage()
    try:
        data = committee.meeting_detail(_actor(), st.uow(), meeting_id, st.today())
    except NotFound:
        raise HTTPNotFound() from None
    return render_template("moter_planlegg.html", mote=data, plan=None)


@pages.post("/moter/<int:meeting_id>/planlegg")
@login_required("koordinator")
def meeting_plan(meeting_id: int) -> Any:
    st = storage()
    back = url_for("committee.meeting_page", meeting_id=meeting_id)
    try:
        outcome = committee.plan_meeting(_actor(), st.uow(), meeting_id, st.today())
    except NotFound:
        raise HTTPNotFound() from None
    except DomainError as e:
        flash(e.message, "feil")
        return redirect(back, code=303)
    flash(f"{len(outcome.placed)} saker er satt opp til møtet.", "ok")
    data = committee.meeting_detail(_actor(), st.uow(), meeting_id, st.today())
    return render_template("moter_planlegg.html", mote=data, plan=outcome.to_dict())


@pages.post("/moter/<int:meeting_id>/innstillinger")
@login_required("koordinator")
def meeting_settings(meeting_id: int) -> Response:
    form = request.form
    present = set(form.getlist("deltar"))
    known = [u for u in form.getlist("medlem") if u]

    def run() -> None:
        try:
            limit = int(form.get("saksgrense") or 0) or None
        except ValueError:
            raise DomainError("INVALID_VALUE", "Antall saker må være et heltall.") from None
        committee.update_meeting(
            _actor(),
            storage().uow(),
            meeting_id,
            case_limit=limit,
            absent={u: u not in present for u in known},
        )

    return _act(
        run, "Møtet er oppdatert.", url_for("committee.meeting_page", meeting_id=meeting_id)
    )


@pages.get("/moter/<int:meeting_id>/pakke.zip")
@login_required("komite")
def meeting_packet(meeting_id: int) -> Response:
    st = storage()
    try:
        data, name = committee.meeting_packet(_actor(), st.uow(), meeting_id, st.today())
    except NotFound:
        raise HTTPNotFound() from None
    return _download(data, name, "application/zip")


def _criteria() -> list[dict[str, str]]:
    return [{"id": key, "navn": criterion_label(key)} for key in CRITERIA]


@pages.get("/saker/<case_id>/vedtak")
@login_required("koordinator")
def decision_page(case_id: str) -> str:
    st = storage()
    try:
        sak = queries.case_detail(_actor(), case_id, st.uow(), st.today())
    except NotFound:
        raise HTTPNotFound() from None
    members = committee.list_members(_actor(), st.uow(), st.today())
    return render_template(
        "vedtak_registrer.html",
        sak=sak,
        kriterier=_criteria(),
        medlemmer=[m.to_dict() for m in members if m.beslutningstaker],
    )


@pages.post("/saker/<case_id>/vedtak")
@login_required("koordinator")
def decision_record(case_id: str) -> Response:
    form = request.form
    body = {
        "utfall": form.get("utfall", ""),
        "kriterier": {
            key: {
                "oppfylt": form.get(f"{key}_oppfylt") == "ja",
                "begrunnelse": form.get(f"{key}_begrunnelse", ""),
            }
            for key in CRITERIA
        },
        "begrunnelse": form.get("begrunnelse", ""),
        "deltakere": form.getlist("deltakere"),
        "foreslar_gruppevurdering": form.get("foreslar_gruppevurdering") == "ja",
        "gruppevurdering_tekst": form.get("gruppevurdering_tekst", ""),
    }

    st = storage()
    try:
        decision = committee.DecisionInput.from_json(body)
        committee.record_decision(_actor(), st.uow(), case_id, decision, st.today())
    except NotFound:
        raise HTTPNotFound() from None
    except DomainError as e:
        flash(e.message, "feil")
        return redirect(url_for("committee.decision_page", case_id=case_id), code=303)
    flash("Vedtaket er registrert.", "ok")
    return redirect(url_for("pages.sak", case_id=case_id), code=303)


@pages.get("/saker/<case_id>/vedtak.<fmt>")
@login_required("hf", "koordinator")
def decision_letter(case_id: str, fmt: str) -> Response:
    try:
        data, name, kind = committee.decision_letter(_actor(), storage().uow(), case_id, fmt)
    except NotFound:
        raise HTTPNotFound() from None
    return _download(data, name, kind)
