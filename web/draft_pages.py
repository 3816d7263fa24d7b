"""The HF portal's pages (PORTAL.md section 6): the drafts of an HF, the draft form generated from
the field catalogue, sending, the approvers' inbox and sign-off, the receipt and deleting.

Each route reads its form, calls one function of `services.drafts` and renders or redirects;
the form itself is built and read by `web.draftform`. Without JavaScript every step is a plain
form post; with it (`static/utkast.js`) the form asks the same service for the findings of a
field as it is left (`/sjekk`) and saves itself now and then (`/autolagring`), both JSON routes
of the session (CSRF token in the posted form). Every route needs role `hf`; another HF's draft
is the 404 page.
"""

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
from werkzeug.exceptions import RequestEntityTooLarge

from forms.catalog import catalogue
from forms.fields import FormDef
from processor.domain import DRAFT_FORM_TYPES, DraftState, FormType, HfFunction
from processor.errors import DomainError
from processor.identity import contains_identity, one_text
from services import drafts, queries
from web import draftform
from web.api import limits
from web.auth import login_required
from web.context import storage
from web.http import download, field_errors, page_actor, query_field, show_refusal, typed_form
from web.limits import upload_limits

bp = Blueprint("draft_pages", __name__)

STATE_LABELS = {str(s): s.label for s in DraftState}
FUNCTION_LABELS = {str(f): f.label for f in HfFunction}
# the function a draft waits for in each state of the sign-off, and the inbox of each function
WAITING_FOR = {
    DraftState.TIL_LINJELEDER: HfFunction.LINJELEDER,
    DraftState.TIL_FAGDIREKTOR: HfFunction.FAGDIREKTOR,
}
INBOX_OF = {f: s for s, f in WAITING_FOR.items()}
CONFLICT = "STALE_STATE"


# ---- shared -----------------------------------------------------------------------------------


def functions() -> frozenset[str]:
    """The HF functions of the logged-in user (`web.auth.session_actor` reads them)."""
    return frozenset(g.get("hf_functions") or ())


@bp.app_context_processor
def _context() -> dict[str, Any]:
    """The approver's inbox in the menu: "Til godkjenning" for a linjeleder or fagdirektør."""
    mine = functions()
    inbox = next(
        (INBOX_OF[f] for f in (HfFunction.LINJELEDER, HfFunction.FAGDIREKTOR) if f in mine), None
    )
    return {"godkjenning_status": str(inbox) if inbox else None}


def _posted_form(draft_id: str) -> FormDef:
    """The form of a posted draft form (its hidden `skjema`); a post without a known one asks
    the service, so another HF's draft is still the 404 page before anything is read."""
    form_id = request.form.get("skjema", "")
    if form_id not in DRAFT_FORM_TYPES:
        form_id = drafts.get(storage().uow(), page_actor(), draft_id).skjema
    return catalogue()[form_id]


def _versjon() -> int:
    """The `versjon` the page was made from; a missing or broken one is 0, which the service
    refuses as stale (STALE_STATE) after its access checks (PORTAL.md section 3's order)."""
    raw = (request.form.get("versjon") or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


def _posted_values(form: FormDef) -> dict[str, Any]:
    return draftform.read_posted(form, request.form, page_actor().hf)


def _typed_list(form: FormDef | None, typed: dict[str, Any]) -> list[tuple[str, str]]:
    """What was typed in a refused form, to copy from the conflict page: the filled values with
    their labels; a value that may hold an identity number is not shown again."""
    out = []
    for fid, value in typed.items():
        if value in ("", None, False):
            continue
        text = "Ja" if value is True else str(value)
        label = form.label(fid) if form else fid
        if contains_identity(text):
            text = "(vises ikke: teksten kan inneholde et fødselsnummer)"
        out.append((label, text))
    return out


def conflict_page(draft_id: str, form: FormDef | None, typed: dict[str, Any]) -> tuple[str, int]:
    """409: the draft was changed after the page was opened (STALE_STATE). Nothing is written;
    the person reloads, and may copy what they typed first."""
    page = render_template(
        "utkast_konflikt.html",
        utkast_id=draft_id,
        skrevet=_typed_list(form, typed),
    )
    return page, 409


def _refused(e: DomainError, draft_id: str) -> Response:
    """A refusal that is not about what was typed: flashed on the draft's page."""
    show_refusal(e)
    return redirect(url_for("draft_pages.draft", draft_id=draft_id), code=303)


def _labelled(form_type: str | None, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return queries.findings(form_type, list(items))


def _returned(view: drafts.DraftView) -> drafts.Approval | None:
    """The step that sent the draft back, when that is the last thing that happened to it."""
    if view.status != DraftState.UTKAST or not view.godkjenninger:
        return None
    last = view.godkjenninger[-1]
    return None if last.godkjent else last


# ---- the list and the inbox -----------------------------------------------------------------


@bp.get("/utkast")
@login_required("hf")
def drafts_page() -> str:
    status = query_field("status")
    actor, st = page_actor(), storage()
    rows = drafts.listing(st.uow(), actor, status=status)
    waiting = WAITING_FOR.get(status or "")  # type: ignore[call-overload]
    old = [] if status else drafts.stale(st.uow(), actor)
    return render_template(
        "utkast_liste.html",
        utkast=rows,
        gamle=old,
        status=status or "",
        statuser=STATE_LABELS,
        skjemaer={f: catalogue()[f].short_name for f in DRAFT_FORM_TYPES},
        innboks=waiting,
        kan_godkjenne=waiting is not None and waiting in functions(),
        funksjoner=FUNCTION_LABELS,
    )


# ---- a new draft: pick a form or import a file ----------------------------------------------


def _new_page(errors: dict[str, str] | None = None, findings: list[dict[str, Any]] | None = None):
    forms = [catalogue()[f] for f in DRAFT_FORM_TYPES]
    return render_template("utkast_ny.html", skjemaer=forms, feil=errors, funn=findings or [])


@bp.get("/utkast/ny")
@login_required("hf")
def new() -> str:
    return _new_page()


@bp.post("/utkast/ny")
@login_required("hf")
def create() -> Response | tuple[str, int]:
    chosen = request.form.get("skjema", "")
    try:
        view = drafts.create(storage().uow(), page_actor(), chosen)
    except DomainError as e:
        errors = field_errors(e, default="skjema")
        if errors is None:
            raise
        return _new_page({"skjema": "Velg hvilket skjema du vil fylle ut."}), e.http_status
    flash(f"Utkastet er opprettet: {catalogue()[view.skjema].name}.", "ok")
    return redirect(url_for("draft_pages.draft", draft_id=view.id), code=303)


@bp.post("/utkast/import")
@login_required("hf")
@upload_limits()
def import_file() -> Response | tuple[str, int]:
    upload = request.files.get("fil")
    if upload is None or not upload.filename:
        return _new_page({"fil": "Velg en fil å importere."}), 422
    lim = limits()
    data = upload.read(lim.max_file_bytes + 1)
    if len(data) > lim.max_file_bytes:
        raise RequestEntityTooLarge()
    try:
        view = drafts.import_file(storage().uow(), page_actor(), upload.filename, data, limits=lim)
    except DomainError as e:
        if e.http_status not in (403, 409, 413, 422) or e.code == "FORBIDDEN":
            raise
        found = list(e.context.get("errors") or []) + list(e.context.get("warnings") or [])
        return _new_page({"fil": e.message}, _labelled(None, found)), e.http_status
    flash(
        f"Filen er importert som et utkast av {catalogue()[view.skjema].name}. "
        "Kontroller verdiene og rett det som mangler.",
        "ok",
    )
    return redirect(url_for("draft_pages.draft", draft_id=view.id), code=303)


# ---- the draft: the form, or where it is ----------------------------------------------------


def _form_page(
    view: drafts.DraftView,
    values: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    warnings: list[dict[str, Any]] | None = None,
) -> str:
    form = catalogue()[view.skjema]
    model = draftform.build(
        form,
        view.verdier if values is None else values,
        view.errors if errors is None else errors,
        view.warnings if warnings is None else warnings,
        rows=draftform.rows_param(form, request.args),
        refused=errors is not None,
    )
    return render_template(
        "utkast_skjema.html",
        utkast=view,
        skjema=form,
        modell=model,
        retur=_returned(view),
        funksjoner=FUNCTION_LABELS,
        retting=errors is not None,
    )


def _status_page(view: drafts.DraftView) -> str:
    waiting = WAITING_FOR.get(view.status)  # type: ignore[call-overload]
    return render_template(
        "utkast_status.html",
        utkast=view,
        skjema=catalogue()[view.skjema],
        gjennomgang=queries.form_review(view.skjema, view.verdier),
        funksjoner=FUNCTION_LABELS,
        venter_pa=waiting,
        kan_godkjenne=waiting is not None and waiting in functions(),
    )


@bp.get("/utkast/<draft_id>")
@login_required("hf")
def draft(draft_id: str) -> str:
    view = drafts.get(storage().uow(), page_actor(), draft_id)
    if view.status == DraftState.UTKAST:
        return _form_page(view)
    return _status_page(view)


def _action() -> tuple[str, str]:
    """The button that posted the form: ("lagre" | "send" | "legg-til" | "fjern", its target)."""
    raw = request.form.get(draftform.ACTION) or "lagre"
    for prefix in (draftform.ADD_ROW, draftform.REMOVE_ROW):
        if raw.startswith(prefix):
            return prefix.rstrip(":"), raw[len(prefix) :]
    return ("send", "") if raw == "send" else ("lagre", "")


@bp.post("/utkast/<draft_id>")
@login_required("hf")
def save(draft_id: str) -> Response | tuple[str, int]:
    """Save the form (no JavaScript needed): "Lagre", "Legg til rad", "Fjern rad N" and
    "Lagre og gå videre" all save what was typed first."""
    form = _posted_form(draft_id)
    values = _posted_values(form)
    action, target = _action()
    rows = draftform.rows_param(form, request.form)
    anchor = None
    if action == "legg-til" and target in rows:
        rows[target] += 1
        rep = next(r for r in form.repeats() if r.id == target)
        anchor = rep.field_id(min(rows[target], rep.count), rep.fields[0])
    elif action == "fjern" and "." in target:
        group, _, n = target.rpartition(".")
        if n.isdigit() and group in rows:
            values = draftform.shift_rows(form, values, group, int(n))
            rows[group] = max(1, rows[group] - 1)
            anchor = group
    st = storage()
    try:
        view = drafts.save(st.uow(), page_actor(), draft_id, _versjon(), values)
    except DomainError as e:
        return _save_refused(e, draft_id, form, values)
    if action == "send":
        return redirect(url_for("draft_pages.send", draft_id=view.id), code=303)
    if action == "lagre":
        flash("Utkastet er lagret.", "ok")
    query = {f"{draftform.ROWS_PREFIX}{k}": v for k, v in rows.items() if v > 1}
    target_url = url_for("draft_pages.draft", draft_id=view.id, **query)
    return redirect(target_url + (f"#{anchor}" if anchor else ""), code=303)


def _save_refused(
    e: DomainError, draft_id: str, form: FormDef, values: dict[str, Any]
) -> Response | tuple[str, int]:
    """A refused save: a stale version is the conflict page; a refusal of what was typed shows
    the form again with what was typed, except the refused fields (an identity number is never
    shown again), which keep their saved value; anything else is flashed on the draft's page."""
    if e.code == CONFLICT:
        return conflict_page(draft_id, form, values)
    errors = field_errors(e)
    if errors is None or e.code == "INVALID_TRANSITION":
        return _refused(e, draft_id)
    view = drafts.get(storage().uow(), page_actor(), draft_id)
    items = list(e.context.get("errors") or []) or [
        {"code": e.code, "field": fid or None, "message": msg} for fid, msg in errors.items()
    ]
    refused = {str(f.get("field")) for f in items if f.get("field")}
    shown = dict(values)
    for fid in refused:
        shown[fid] = view.verdier.get(fid, "")
    return _form_page(view, shown, items, []), e.http_status


# ---- the page's script: findings as a field is left, and saving now and then ----------------


def _findings_json(
    form: FormDef, errors: list[dict], warnings: list[dict], values: dict[str, Any] | None
) -> dict[str, Any]:
    at, _summary = draftform.findings_by_input(form, errors, warnings, values)
    return {k: [{"tekst": m.text, "type": m.kind} for m in v] for k, v in at.items()}


@bp.post("/utkast/<draft_id>/sjekk")
@login_required("hf")
def check(draft_id: str) -> Response:
    """The findings of the typed form, by field (the same validation as a save; nothing kept)."""
    form = _posted_form(draft_id)
    values = _posted_values(form)
    found = drafts.check(storage().uow(), page_actor(), draft_id, values)
    return jsonify({"funn": _findings_json(form, found.errors, found.warnings, values)})


@bp.post("/utkast/<draft_id>/autolagring")
@login_required("hf")
def autosave(draft_id: str) -> tuple[Response, int]:
    """Save the typed form; JSON: the new `versjon`, or the refusal (409: changed elsewhere,
    nothing saved; 422: what was refused, at its field)."""
    form = _posted_form(draft_id)
    values = _posted_values(form)
    try:
        view = drafts.save(storage().uow(), page_actor(), draft_id, _versjon(), values)
    except DomainError as e:
        errors = list(e.context.get("errors") or [])
        body = {
            "feil": {"kode": e.code, "melding": e.message},
            "funn": _findings_json(form, errors, [], None),  # refused: each one is wrong
        }
        return jsonify(body), e.http_status
    found = _findings_json(form, view.errors, view.warnings, view.verdier)
    return jsonify({"versjon": view.versjon, "funn": found}), 200


# ---- sending --------------------------------------------------------------------------------


def _send_page(view: drafts.DraftView, errors: list[dict] | None = None, status: int = 200):
    form = catalogue()[view.skjema]
    blocking = view.errors if errors is None else errors
    page = render_template(
        "utkast_send.html",
        utkast=view,
        skjema=form,
        feil=[
            {**f, "lenke": (draftform.place(form, f) or (None, None))[1]}
            for f in _labelled(view.skjema, blocking)
        ],
        advarsler=_labelled(view.skjema, view.warnings),
        signoff=view.skjema == FormType.TILGANG_DEL2,
        kan_sende=view.skjema != FormType.TILGANG_DEL2 or HfFunction.LEGE in functions(),
    )
    return page, status


@bp.get("/utkast/<draft_id>/send")
@login_required("hf")
def send(draft_id: str) -> Response | tuple[str, int]:
    view = drafts.get(storage().uow(), page_actor(), draft_id)
    if view.status != DraftState.UTKAST:
        flash("Utkastet er allerede sendt videre.", "info")
        return redirect(url_for("draft_pages.draft", draft_id=draft_id), code=303)
    return _send_page(view)


@bp.post("/utkast/<draft_id>/send")
@login_required("hf")
def submit(draft_id: str) -> Response | tuple[str, int]:
    st = storage()
    try:
        view = drafts.send(st.uow(), page_actor(), draft_id, _versjon())
    except DomainError as e:
        if e.code == CONFLICT:
            return conflict_page(draft_id, None, {})
        if e.code in ("DRAFT_INCOMPLETE", "REFERENCE_IN_USE"):
            current = drafts.get(st.uow(), page_actor(), draft_id)
            items = list(e.context.get("errors") or []) or [
                {"code": e.code, "field": e.context.get("field"), "message": e.message}
            ]
            return _send_page(current, items, e.http_status)
        return _refused(e, draft_id)
    if view.status == DraftState.SENDT_INN:
        flash(f"Skjemaet er sendt inn som sak {view.sak}.", "ok")
    else:
        flash(
            "Søknaden er sendt til linjeleder for godkjenning. Sendes den tilbake, finner du "
            "begrunnelsen under «Utkast».",
            "ok",
        )
    return redirect(url_for("draft_pages.draft", draft_id=view.id), code=303)


# ---- the approvers --------------------------------------------------------------------------


def _approval_page(
    view: drafts.DraftView,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    waiting = WAITING_FOR.get(view.status)  # type: ignore[call-overload]
    review = queries.form_review(view.skjema, view.verdier)
    page = render_template(
        "utkast_godkjenning.html",
        utkast=view,
        skjema=catalogue()[view.skjema],
        gjennomgang=review,
        sjekkliste=_labelled(view.skjema, view.errors + view.warnings) + review["signaler"],
        funksjon=waiting,
        funksjoner=FUNCTION_LABELS,
        har_funksjon=waiting in functions(),
        forfatter=page_actor().username in view.forfatter,
        valgt=typed or {},
        feil=errors,
    )
    return page, status


@bp.get("/utkast/<draft_id>/godkjenning")
@login_required("hf")
def approval(draft_id: str) -> Response | tuple[str, int]:
    view = drafts.get(storage().uow(), page_actor(), draft_id)
    if view.status not in WAITING_FOR:
        flash("Utkastet venter ikke på godkjenning.", "info")
        return redirect(url_for("draft_pages.draft", draft_id=draft_id), code=303)
    return _approval_page(view)


APPROVE, RETURN = "godkjenn", "returner"


@bp.post("/utkast/<draft_id>/godkjenning")
@login_required("hf")
def approve(draft_id: str) -> Response | tuple[str, int]:
    typed = typed_form("valg", "begrunnelse")
    function = request.form.get("funksjon", "")
    st = storage()
    try:
        if typed["valg"] not in (APPROVE, RETURN):
            drafts.get(st.uow(), page_actor(), draft_id)  # another HF's draft: 404 first
            raise DomainError(
                "INVALID_REQUEST",
                "Velg om du godkjenner søknaden eller sender den tilbake.",
                field="valg",
            )
        view = drafts.approve(
            st.uow(),
            page_actor(),
            draft_id,
            _versjon(),
            function,
            typed["valg"] == APPROVE,
            typed["begrunnelse"],
        )
    except DomainError as e:
        if e.code == CONFLICT:
            return conflict_page(draft_id, None, {})
        errors = field_errors(e, default="begrunnelse")
        if errors is None or e.code in ("INVALID_TRANSITION", "DRAFT_INCOMPLETE"):
            return _refused(e, draft_id)
        if e.code == "IDENTITY_FOUND" or contains_identity(one_text(typed["begrunnelse"])):
            typed["begrunnelse"] = ""  # the number is never shown again, whatever was refused
            errors["begrunnelse"] = drafts.IDENTITY_IN_REASON
        current = drafts.get(st.uow(), page_actor(), draft_id)
        if current.status not in WAITING_FOR:
            flash("Utkastet venter ikke på godkjenning.", "info")
            return redirect(url_for("draft_pages.draft", draft_id=draft_id), code=303)
        return _approval_page(current, typed, errors, e.http_status)
    if typed["valg"] != APPROVE:
        flash("Søknaden er sendt tilbake til legen som sendte den, med begrunnelsen din.", "ok")
    elif view.status == DraftState.SENDT_INN:
        flash(
            f"Du har godkjent søknaden. Den er sendt inn til Nye metoder som sak {view.sak}.", "ok"
        )
        # where the receipt and the case are
        return redirect(url_for("draft_pages.draft", draft_id=view.id), code=303)
    else:
        flash("Du har godkjent søknaden. Den er sendt videre til fagdirektør.", "ok")
    inbox = INBOX_OF.get(function)  # type: ignore[call-overload]
    target = (
        url_for("draft_pages.drafts_page", status=str(inbox))
        if inbox
        else url_for("draft_pages.drafts_page")
    )
    return redirect(target, code=303)


# ---- the receipt and deleting ---------------------------------------------------------------


@bp.get("/utkast/<draft_id>/kvittering.pdf")
@login_required("hf")
def receipt(draft_id: str) -> Response:
    data = drafts.receipt_pdf(storage().uow(), page_actor(), draft_id)
    return download(data, f"kvittering-{draft_id}.pdf", "application/pdf")


@bp.get("/utkast/<draft_id>/slett")
@login_required("hf")
def delete(draft_id: str) -> Response | str:
    view = drafts.get(storage().uow(), page_actor(), draft_id)
    if view.status != DraftState.UTKAST:
        flash("Bare et utkast som ikke er sendt videre, kan slettes.", "feil")
        return redirect(url_for("draft_pages.draft", draft_id=draft_id), code=303)
    return render_template("utkast_slett.html", utkast=view, skjema=catalogue()[view.skjema])


@bp.post("/utkast/<draft_id>/slett")
@login_required("hf")
def confirm_delete(draft_id: str) -> Response | tuple[str, int]:
    try:
        drafts.delete(storage().uow(), page_actor(), draft_id, _versjon())
    except DomainError as e:
        if e.code == CONFLICT:
            return conflict_page(draft_id, None, {})
        return _refused(e, draft_id)
    flash("Utkastet er slettet.", "ok")
    return redirect(url_for("draft_pages.drafts_page"), code=303)


__all__ = ["bp", "conflict_page", "functions"]
