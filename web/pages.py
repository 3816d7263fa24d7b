"""Server-rendered pages (Norwegian, accessible, no JavaScript needed).

Each page renders the data of one function in `services.queries`; the same data is the JSON twin in the
API (`/saker/<id>` and `/api/v1/saker/<id>`). Every form carries a CSRF token (CSRFProtect).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import NotFound as HTTPNotFound

from processor.domain import STATE_LABELS
from processor.errors import DomainError, NotFound
from services import queries
from services.cases import price_check, set_urgent, transition
from services.users import authenticate_password
from web import oidc, views
from web.api import do_upload
from web.app import error_response, storage
from web.auth import log_in, log_out, login_required, safe_next, session_actor
from web.limits import login_limits, upload_limits

bp = Blueprint("pages", __name__)


def _actor() -> Any:
    actor = session_actor()
    assert actor is not None  # login_required ran first
    return actor


@bp.app_context_processor
def _context() -> dict[str, Any]:
    actor = session_actor()
    return {
        "actor": actor,
        "roles": set(actor.roles) if actor else set(),
        "role_labels": views.ROLE_LABELS,
        "hf_name": views.hf_name,
    }


@bp.get("/")
def index() -> Response:
    """Each role's start page: the inbox, own cases, the price queue, meetings or reviews."""
    actor = session_actor()
    if actor is None:
        return redirect(url_for("pages.login"))
    roles = set(actor.roles)
    if "koordinator" in roles:
        return redirect(url_for("pages.innboks"))
    if "hf" in roles:
        return redirect(url_for("pages.saker"))
    if "priskontroll" in roles:
        return redirect(url_for("pages.priskontroll"))
    if "komite" in roles:
        return redirect(url_for("committee.meetings_page"))
    if "fagfelle" in roles:
        return redirect(url_for("minihta.fagfelle"))
    return Response(render_template("home.html"), mimetype="text/html")


# ---- login --------------------------------------------------------------------------------------


@bp.route("/logg-inn", methods=["GET", "POST"])
@login_limits()
def login() -> Any:
    target = safe_next(request.values.get("neste"))
    if request.method == "GET":
        return render_template("login.html", neste=target, feil=None)
    if not oidc.settings().local_login:
        return error_response("LOCAL_LOGIN_DISABLED")
    username = (request.form.get("brukernavn") or "").strip()[:100]
    password = request.form.get("passord") or ""
    actor = None
    if username and password and len(password) <= 1000:
        actor = authenticate_password(storage().uow(), username, password)
    if actor is None:
        page = render_template(
            "login.html",
            neste=target,
            brukernavn=username,
            feil="Feil brukernavn eller passord.",
        )
        return Response(page, status=401, mimetype="text/html")
    log_in(actor)
    return redirect(target or url_for("pages.index"), code=303)


@bp.post("/logg-ut")
def logout() -> Response:
    method, id_token = session.get(oidc.SESSION_METHOD), session.get(oidc.SESSION_ID_TOKEN)
    log_out()
    flash("Du er logget ut.", "info")
    # a single sign-on login also ends at the provider, which then sends the browser back here
    return redirect(oidc.logout_target(method, id_token) or url_for("pages.login"), code=303)


# ---- HF: upload and own cases ---------------------------------------------------------------------


@bp.route("/innsending", methods=["GET", "POST"])
@login_required("hf", "fagfelle")
@upload_limits()
def innsending() -> Any:
    if request.method == "GET":
        return render_template("upload.html", resultat=None, sak=request.args.get("sak"))
    try:
        body, status = do_upload(_actor())
    except DomainError as e:
        body, status = e.to_dict(), e.http_status
    if status == 201:
        flash(f"Skjemaet er mottatt som sak {body['sak']}, versjon {body['versjon']}.", "ok")
    # a refused file keeps the case number that was typed; an accepted one starts afresh
    typed = None if status == 201 else (request.form.get("sak") or "").strip() or None
    page = render_template("upload.html", resultat=body, sak=typed)
    return Response(page, status=status, mimetype="text/html")


@bp.get("/saker")
@login_required()
def saker() -> str:
    st = storage()
    try:
        page = int(request.args.get("side", "1"))
    except ValueError:
        page = 1
    data = queries.list_cases(
        _actor(),
        st.uow(),
        st.today(),
        state=request.args.get("status") or None,
        page=page,
        per_page=current_app.config["PER_PAGE"],
    )
    return render_template("cases.html", data=data)


@bp.get("/saker/<case_id>")
@login_required()
def sak(case_id: str) -> str:
    st = storage()
    data = queries.case_detail(_actor(), case_id, st.uow(), st.today())
    return render_template("case.html", sak=data)


def _back(case_id: str) -> Response:
    return redirect(url_for("pages.sak", case_id=case_id), code=303)


def _act(case_id: str, action: Any, ok: str, then: str | None = None) -> Response:
    """Run a change; a refusal is shown on the case page. Access control is not a refusal to
    flash: a hidden case is still 404, a forbidden change 403 (the error page says why).
    `then`: where to go after the change, or after a refusal because the case moved on (the
    case may have left the caller's sight); default: back to the case page."""
    try:
        action()
    except NotFound:
        raise HTTPNotFound() from None
    except DomainError as e:
        if e.code == "FORBIDDEN":
            raise
        flash(e.message, "feil")
        if then and e.code in ("STALE_STATE", "CASE_DECIDED"):
            return redirect(then, code=303)
        return _back(case_id)
    flash(ok, "ok")
    return redirect(then, code=303) if then else _back(case_id)


@bp.post("/saker/<case_id>/overgang")
@login_required()
def overgang(case_id: str) -> Response:
    form = request.form
    reasons = [r.strip() for r in form.getlist("grunn") if r.strip()]
    free = (form.get("begrunnelse") or "").strip()
    if free:
        reasons.append(free)
    reason = "\n".join(reasons) or None
    to = form.get("til", "")
    label = STATE_LABELS.get(to, to)
    return _act(
        case_id,
        lambda: transition(_actor(), case_id, form.get("fra", ""), to, reason, storage().uow()),
        f"Saken har fått status «{label}».",
    )


@bp.post("/saker/<case_id>/hast")
@login_required("koordinator")
def hast(case_id: str) -> Response:
    urgent = request.form.get("hast") == "ja"
    reason = request.form.get("begrunnelse")
    return _act(
        case_id,
        lambda: set_urgent(_actor(), case_id, urgent, reason, storage().uow()),
        "Saken er merket som hastesak." if urgent else "Hastemerkingen er fjernet.",
    )


def parse_amount(text: str) -> float | None:
    """A Norwegian amount: "61 250", "61250,50", "61.250" is not accepted (ambiguous)."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace("kr", "").strip()
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value


@bp.post("/saker/<case_id>/priskontroll")
@login_required("priskontroll")
def priskontroll_registrer(case_id: str) -> Response:
    amount = parse_amount(request.form.get("legemiddel_per_maned", ""))
    note = request.form.get("merknad")

    def run() -> None:
        if amount is None:
            raise DomainError("INVALID_VALUE", "Skriv legemiddelkostnaden som et tall.")
        price_check(_actor(), case_id, amount, note, storage().uow())

    # the checked case has left the price check, and with it the price check's view: back to
    # the queue (WORKFLOW.md section 1)
    return _act(
        case_id,
        run,
        "Priskontrollen er registrert, og saken er klar for vurdering.",
        then=url_for("pages.priskontroll"),
    )


# ---- coordinator and price check ------------------------------------------------------------------


@bp.get("/innboks")
@login_required("koordinator")
def innboks() -> str:
    st = storage()
    return render_template("inbox.html", data=queries.inbox(_actor(), st.uow(), st.today()))


@bp.get("/priskontroll")
@login_required("priskontroll")
def priskontroll() -> str:
    st = storage()
    return render_template(
        "price_queue.html", data=queries.price_queue(_actor(), st.uow(), st.today())
    )
