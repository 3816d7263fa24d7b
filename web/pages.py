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

from processor.domain import CASE_FORM_TYPES, STATE_LABELS, State
from processor.errors import DomainError
from services import queries
from services.cases import price_check, set_urgent, transition
from services.users import authenticate_password
from web import oidc, views
from web.api import do_upload
from web.auth import log_in, log_out, login_required, safe_next, session_actor
from web.context import error_response, storage
from web.http import MOVED_ON, act, error_body, field_errors, page_actor, show_refusal, typed_form
from web.limits import login_limits, upload_limits

bp = Blueprint("pages", __name__)


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
        return redirect(url_for("pages.inbox"))
    if "hf" in roles:
        return redirect(url_for("pages.cases"))
    if "priskontroll" in roles:
        return redirect(url_for("pages.price_check_page"))
    if "komite" in roles:
        return redirect(url_for("committee.meetings_page"))
    if "fagfelle" in roles:
        return redirect(url_for("minihta.reviewer_page"))
    return Response(render_template("home.html"), mimetype="text/html")


# ---- login --------------------------------------------------------------------------------------


def refuse_disabled_login() -> Response | None:
    """`SKJEMAMOTTAK_LOCAL_LOGIN=0`: `POST /logg-inn` is 403 LOCAL_LOGIN_DISABLED (CONNECTIONS.md
    section 1), answered before the CSRF check: the page then has no form, so no token to send.
    The app registers this ahead of CSRFProtect; refusing reads no input and changes nothing."""
    if (
        request.method == "POST"
        and request.endpoint == "pages.login"
        and not oidc.settings().local_login
    ):
        return error_response("LOCAL_LOGIN_DISABLED")
    return None


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


def _upload_templates() -> list[dict[str, Any]]:
    """The templates of the forms the signed-in user sends: an HF's, a reviewer's skjema 2."""
    roles = set(page_actor().roles)
    ids = (views.HF_FORMS if "hf" in roles else ()) + (
        views.REVIEWER_FORMS if "fagfelle" in roles else ()
    )
    return views.template_links(ids)


@bp.route("/innsending", methods=["GET", "POST"])
@login_required("hf", "fagfelle")
@upload_limits()
def upload() -> Any:
    if request.method == "GET":
        return render_template(
            "upload.html", resultat=None, sak=request.args.get("sak"), maler=_upload_templates()
        )
    try:
        body, status = do_upload(page_actor())
    except DomainError as e:
        body, status = error_body(e.code, e.message), e.http_status
    if status == 201:
        flash(f"Skjemaet er mottatt som sak {body['sak']}, versjon {body['versjon']}.", "ok")
    # a refused file keeps the case number that was typed; an accepted one starts afresh
    typed = None if status == 201 else (request.form.get("sak") or "").strip() or None
    page = render_template("upload.html", resultat=body, sak=typed, maler=_upload_templates())
    return Response(page, status=status, mimetype="text/html")


@bp.get("/saker")
@login_required()
def cases() -> str:
    st = storage()
    try:
        page = int(request.args.get("side", "1"))
    except ValueError:
        page = 1
    # the same names as `GET /api/v1/saker`; the form sends them back, and the page links keep them
    chosen = {k: (request.args.get(k) or "").strip() for k in ("status", "type", "hf", "sok")}
    data = queries.list_cases(
        page_actor(),
        st.uow(),
        st.today(),
        state=chosen["status"] or None,
        form_type=chosen["type"] or None,
        hf=chosen["hf"] or None,
        search=chosen["sok"] or None,
        page=page,
        per_page=current_app.config["PER_PAGE"],
    )
    return render_template(
        "cases.html",
        data=data,
        valgt=chosen,
        filtre={k: v for k, v in chosen.items() if v},
        statuser=STATE_LABELS,
        typer={str(t): t.label for t in CASE_FORM_TYPES},
    )


@bp.get("/saker/<case_id>")
@login_required()
def case(case_id: str) -> str:
    return _case_page(case_id)


def _case_page(
    case_id: str, typed: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> str:
    """The case page; after a refused form on it, with what was typed and the errors."""
    st = storage()
    data = queries.case_detail(page_actor(), case_id, st.uow(), st.today())
    return render_template("case.html", sak=data, skjema=typed, feil=errors)


def _change_case(case_id: str, action: Any, ok: str, then: str | None = None) -> Response:
    """A change of the case page (`web.http.act`): a refusal is shown on the case page; `then`:
    where to go after the change, or after a refusal because the case moved on (it may have
    left the caller's sight)."""
    back = url_for("pages.case", case_id=case_id)
    return act(action, ok, back, done=then, moved_on=then)


@bp.post("/saker/<case_id>/overgang")
@login_required()
def post_transition(case_id: str) -> Response:
    form = request.form
    reasons = [r.strip() for r in form.getlist("grunn") if r.strip()]
    free = (form.get("begrunnelse") or "").strip()
    if free:
        reasons.append(free)
    reason = "\n".join(reasons) or None
    to = form.get("til", "")
    label = STATE_LABELS.get(to, to)
    return _change_case(
        case_id,
        lambda: transition(page_actor(), case_id, form.get("fra", ""), to, reason, storage().uow()),
        f"Saken har fått status «{label}».",
    )


@bp.post("/saker/<case_id>/hast")
@login_required("koordinator")
def urgent(case_id: str) -> Response:
    urgent = request.form.get("hast") == "ja"
    reason = request.form.get("begrunnelse")
    return _change_case(
        case_id,
        lambda: set_urgent(page_actor(), case_id, urgent, reason, storage().uow()),
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
def record_price_check(case_id: str) -> Response | tuple[str, int]:
    typed = typed_form("legemiddel_per_maned", "merknad")
    amount = parse_amount(typed["legemiddel_per_maned"])
    try:
        if amount is None:
            raise DomainError(
                "INVALID_VALUE",
                "Skriv legemiddelkostnaden som et tall.",
                field="legemiddel_per_maned",
            )
        price_check(page_actor(), case_id, amount, typed["merknad"], storage().uow())
    except DomainError as e:
        errors = field_errors(e)
        if errors is None:
            # the checked case has left the price check, and with it the price check's view
            return _refused(case_id, e, then=url_for("pages.price_check_page"))
        return _case_page(case_id, typed, errors), e.http_status
    flash("Priskontrollen er registrert, og saken er klar for vurdering.", "ok")
    # back to the queue (WORKFLOW.md section 1)
    return redirect(url_for("pages.price_check_page"), code=303)


def _refused(case_id: str, e: DomainError, then: str | None = None) -> Response:
    """A refusal that is not about what was typed, shown as `act` shows it."""
    show_refusal(e)
    moved_on = then and e.code in MOVED_ON
    return redirect(then if moved_on else url_for("pages.case", case_id=case_id), code=303)


@bp.get("/saker/<case_id>/trekk")
@login_required("hf")
def withdraw(case_id: str) -> Response | str:
    """The confirmation step of "Trekk søknaden" (no JavaScript needed): the reason, then the
    button that withdraws the application for good."""
    return _withdraw_page(case_id)


def _withdraw_page(
    case_id: str, typed: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> Response | str:
    st = storage()
    data = queries.case_detail(page_actor(), case_id, st.uow(), st.today())
    if not any(h["til"] == State.TRUKKET for h in data["handlinger"]):
        flash("Søknaden kan ikke trekkes nå.", "feil")
        return redirect(url_for("pages.case", case_id=case_id), code=303)
    return render_template("trekk.html", sak=data, skjema=typed, feil=errors)


@bp.post("/saker/<case_id>/trekk")
@login_required("hf")
def confirm_withdraw(case_id: str) -> Response | tuple[str, int]:
    typed = typed_form("fra", "begrunnelse")
    try:
        # the page asks for a reason; the API does not (other systems withdraw without one)
        if not typed["begrunnelse"].strip():
            raise DomainError(
                "REASON_REQUIRED", "Skriv hvorfor søknaden trekkes.", field="begrunnelse"
            )
        transition(
            page_actor(),
            case_id,
            typed["fra"],
            State.TRUKKET,
            typed["begrunnelse"],
            storage().uow(),
        )
    except DomainError as e:
        errors = field_errors(e, default="begrunnelse")
        if errors is None:
            return _refused(case_id, e)
        page = _withdraw_page(case_id, typed, errors)
        return page if isinstance(page, Response) else (page, e.http_status)
    flash("Søknaden er trukket.", "ok")
    return redirect(url_for("pages.case", case_id=case_id), code=303)


# ---- coordinator and price check ------------------------------------------------------------------


@bp.get("/innboks")
@login_required("koordinator")
def inbox() -> str:
    st = storage()
    return render_template("inbox.html", data=queries.inbox(page_actor(), st.uow(), st.today()))


@bp.get("/priskontroll")
@login_required("priskontroll")
def price_check_page() -> str:
    st = storage()
    return render_template(
        "price_queue.html", data=queries.price_queue(page_actor(), st.uow(), st.today())
    )
