"""Drafts and sign-off inside the HF (spec/PORTAL.md): online drafts of `tilgang-del2` and
`minihta`, the sign-off lege → linjeleder → fagdirektør, and the receipt.

Every function takes the unit of work and the logged-in user (`actor`: anything with `username`,
`roles` and `hf`; the user's HF functions and display name are read from `uow.users`) and raises
`processor.errors.DomainError` with a catalogue code. The order of the checks is PORTAL.md
section 3's: FORBIDDEN (role) → NOT_FOUND → FUNCTION_REQUIRED → STALE_STATE → INVALID_TRANSITION
→ FOUR_EYES → content (INVALID_REQUEST, INVALID_VALUE, REASON_REQUIRED, IDENTITY_FOUND,
DRAFT_INCOMPLETE, UPLOADER_HF_MISMATCH, REFERENCE_IN_USE).

A refusal for content carries the findings in `DomainError.context`: `errors` (and `warnings`),
lists of `{"code", "field", "message"}`, and `fields` (field id → Norwegian message) for a page.
An IDENTITY_FOUND refusal never repeats the number and keeps nothing of the call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from forms.catalog import catalogue
from forms.fields import FormDef
from processor import timefmt
from processor.domain import (
    DRAFT_FORM_TYPES,
    MINIHTA,
    DraftState,
    FormType,
    HfFunction,
    Principal,
    Role,
    case_key,
    draft_step,
    hf_code,
)
from processor.errors import DomainError, Forbidden, NotFound, StaleState
from processor.extracted import Extracted
from processor.findings import Finding, Result
from processor.identity import one_text
from processor.ingest import check_fields, guard, ingest
from processor.receipt import ReceiptStep
from processor.receipt import receipt_pdf as render_receipt
from services import outbox
from services import upload as upload_service
from services.cases import flatten
from services.steps import IDENTITY_IN_REASON, clean_reason, findings_context
from storage.models_drafts import Draft, DraftApproval
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate

__all__ = [
    "Approval",
    "DraftSummary",
    "DraftView",
    "Findings",
    "IDENTITY_IN_REASON",
    "approve",
    "check",
    "create",
    "delete",
    "get",
    "import_file",
    "listing",
    "reachable",
    "receipt_pdf",
    "save",
    "send",
    "stale",
    "STALE_AFTER_DAYS",
    "canonical_bytes",
    "case_approvals",
]

log = logging.getLogger(__name__)

STALE_AFTER_DAYS = 90
# the fields only the sign-off fills (PORTAL.md section 1); the service sets `skjema.*`
SIGNOFF_PREFIX = "forankring."
SERVICE_PREFIX = "skjema."
HF_FIELD = upload_service.HF_FIELD
NOT_FOUND_MESSAGE = "Fant ikke utkastet."
FILENAME = "utkast.json"  # the name a submitted draft is stored under (its suffix: .json)
MAX_VALUE_CHARS = 20_000
T = TypeVar("T")


# ---- what the functions answer ---------------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    """One step of the sign-off: a send (`lege`), an approval or a return (`godkjent` false)."""

    funksjon: str  # "lege", "linjeleder" or "fagdirektor"
    bruker: str  # username
    navn: str  # display name at the time of the step
    godkjent: bool
    begrunnelse: str | None
    tidspunkt: datetime  # aware UTC

    def to_dict(self) -> dict[str, Any]:
        return {
            "funksjon": self.funksjon,
            "bruker": self.bruker,
            "navn": self.navn,
            "godkjent": self.godkjent,
            "begrunnelse": self.begrunnelse,
            "tidspunkt": self.tidspunkt.isoformat(),
        }


@dataclass(frozen=True)
class DraftView:
    """One draft, as `GET /utkast/{id}` shows it (`to_dict` gives PORTAL.md section 5's keys).

    `verdier`: field id → value as saved; `errors`/`warnings`: the findings of an upload of
    these values (`{"code", "field", "message"}`; the `forankring.*` fields the sign-off fills
    are left out); `godkjenninger`: every step in order, returns included; `sak` and `sha256`
    once `sendt_inn`. `forfatter`: the users who created, imported, saved or sent it (none of
    them may approve it); `oppdatert`: the last change."""

    id: str
    skjema: str
    status: str
    status_navn: str
    versjon: int
    helseforetak: str
    verdier: dict[str, Any]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    godkjenninger: list[Approval]
    sak: str | None
    sha256: str | None
    forfatter: tuple[str, ...] = ()
    opprettet: datetime | None = None
    oppdatert: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "skjema": self.skjema,
            "status": self.status,
            "status_navn": self.status_navn,
            "versjon": self.versjon,
            "helseforetak": self.helseforetak,
            "verdier": dict(self.verdier),
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "godkjenninger": [a.to_dict() for a in self.godkjenninger],
            "sak": self.sak,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class DraftSummary:
    """One line of `GET /utkast` (`to_dict`: PORTAL.md section 5's keys)."""

    id: str
    skjema: str
    status: str
    versjon: int
    tittel: str
    referanse: str | None
    oppdatert: datetime
    status_navn: str = ""
    forfatter: tuple[str, ...] = ()
    returnert: Approval | None = None  # the return that sent it back, while it is `utkast`

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "skjema": self.skjema,
            "status": self.status,
            "versjon": self.versjon,
            "tittel": self.tittel,
            "referanse": self.referanse,
            "oppdatert": self.oppdatert.isoformat(),
        }


@dataclass(frozen=True)
class Findings:
    """What `check` finds in typed values: `{"code", "field", "message"}` each."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def canonical_bytes(data: Mapping[str, Any]) -> bytes:
    """`C(data)` (PORTAL.md section 3): UTF-8 JSON, keys sorted, separators `,` `:`, no ASCII
    escaping. A submitted draft stores exactly these bytes; its `sha256` is theirs."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


# ---- shared steps --------------------------------------------------------------------------------


def _today(uow: AbstractUnitOfWork) -> date:
    return timefmt.as_oslo(uow.now()).date()


def _form(form_type: str) -> FormDef:
    return catalogue()[form_type]


def _hf_key(form_type: str) -> str:
    return ".".join(HF_FIELD[FormType(form_type)])


def _require_hf(actor: Principal) -> str:
    """FORBIDDEN for anyone but an `hf` user with an HF, whatever the draft."""
    if "hf" not in set(actor.roles) or not actor.hf:
        raise Forbidden("Bare brukere ved et helseforetak kan bruke utkast.")
    return str(actor.hf)


def _visible(uow: AbstractUnitOfWork, actor: Principal, draft_id: object) -> Draft:
    """The draft if it belongs to the actor's HF; for anyone else it does not exist."""
    draft = uow.drafts.get(draft_id) if isinstance(draft_id, str) and draft_id else None
    if draft is None or draft.hf != actor.hf:
        raise NotFound(NOT_FOUND_MESSAGE)
    return draft


def _functions(uow: AbstractUnitOfWork, actor: Principal) -> frozenset[str]:
    user = uow.users.get(actor.username)
    if user is None or not user.active:
        return frozenset()
    return frozenset(user.funksjoner or ())


def _display_name(uow: AbstractUnitOfWork, username: str) -> str:
    user = uow.users.get(username)
    return (user.display_name if user is not None else "") or username


def _check_version(draft: Draft, versjon: object) -> None:
    if isinstance(versjon, bool) or not isinstance(versjon, int):
        raise DomainError("INVALID_REQUEST", "«versjon» må være et heltall.", field="versjon")
    if versjon != draft.version:
        raise StaleState(
            f"Utkastet er endret siden du åpnet det (nå versjon {draft.version}). "
            "Last det på nytt og prøv igjen."
        )


def _gate(
    uow: AbstractUnitOfWork, actor: Principal, draft_id: object, action: str, versjon: object
) -> Draft:
    """PORTAL.md section 3's order: FORBIDDEN → NOT_FOUND → FUNCTION_REQUIRED → STALE_STATE →
    INVALID_TRANSITION (the four-eyes rule and the content are the caller's, in that order)."""
    _require_hf(actor)
    draft = _visible(uow, actor, draft_id)
    step = draft_step(action, draft.form_type)
    if step is not None and step.needs is not None and step.needs not in _functions(uow, actor):
        raise DomainError(
            "FUNCTION_REQUIRED",
            f"Dette steget krever funksjonen «{step.needs.label}» ved helseforetaket.",
        )
    _check_version(draft, versjon)
    if step is None or draft.state != step.from_:
        state = DraftState(draft.state).label
        raise DomainError(
            "INVALID_TRANSITION", f"Dette kan ikke gjøres med et utkast med status «{state}»."
        )
    return draft


def _signoff(fid: str | None) -> bool:
    return (fid or "").startswith(SIGNOFF_PREFIX)


def _fillable(form: FormDef, fid: str) -> bool:
    """A field of the form that the people writing the draft fill in (not `skjema.*`, which the
    service sets, nor `forankring.*`, which the sign-off fills)."""
    return form.lookup(fid) is not None and not fid.startswith((SERVICE_PREFIX, SIGNOFF_PREFIX))


def _typed_over(values: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The draft's values with `changes` typed over them: "" or None clears a field."""
    out = dict(values)
    for fid, value in changes.items():
        if value is None or value == "":
            out.pop(fid, None)
        else:
            out[fid] = value
    return out


def _fields(values: Mapping[str, Any]) -> dict[str, object]:
    """The typed values an upload's check reads: empties and `skjema.*` left out."""
    return {
        k: v
        for k, v in values.items()
        if v is not None and v != "" and not k.startswith(SERVICE_PREFIX)
    }


def _evaluate(form: FormDef, values: Mapping[str, Any], today: date) -> Result:
    return check_fields(form, _fields(values), today=today, filename=FILENAME)


def _open_findings(result: Result) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The findings a person filling in the draft can act on: those of `forankring.*` left out
    (the sign-off fills those fields)."""
    errors = [f.to_dict() for f in result.errors if not _signoff(f.field)]
    warnings = [f.to_dict() for f in result.warnings if not _signoff(f.field)]
    return errors, warnings


def _identity_hits(verdier: Mapping[Any, Any]) -> list[Finding]:
    """The identity guard (FORMS.md section 6) over the keys and values of one call."""
    ex = Extracted(kind="json")
    for key, value in verdier.items():
        name = str(key)
        ex.texts.append(("document", one_text(name)))
        if value is None or isinstance(value, str | bool | int | float):
            ex.fields[name] = value
        else:
            ex.texts.append(
                ("document", one_text(json.dumps(value, ensure_ascii=False, default=str)))
            )
    return guard("", ex)


def _identity_refusal(hits: list[Finding]) -> DomainError:
    return DomainError(
        "IDENTITY_FOUND",
        "Det du skrev inneholder et fødselsnummer, D-nummer eller annet personnummer. Ingenting "
        "er lagret. Fjern nummeret og prøv igjen.",
        **findings_context(hits),
    )


def _clean_changes(form: FormDef, draft: Draft, verdier: object) -> dict[str, Any]:
    """The fields a save changes, checked: INVALID_REQUEST, IDENTITY_FOUND (first: nothing of
    the call is kept or repeated), INVALID_VALUE, UPLOADER_HF_MISMATCH."""
    if not isinstance(verdier, Mapping) or not verdier:
        raise DomainError(
            "INVALID_REQUEST", "«verdier» må være et objekt med felt-id-er og verdier."
        )
    hits = _identity_hits(verdier)
    if hits:
        raise _identity_refusal(hits)
    out: dict[str, Any] = {}
    for key, value in verdier.items():
        fid = str(key)
        shown = fid if len(fid) <= 80 else fid[:80] + "…"
        if not _fillable(form, fid):
            raise DomainError(
                "INVALID_VALUE",
                f"Feltet «{shown}» finnes ikke i skjemaet eller fylles ut av tjenesten.",
                field=fid,
            )
        if not (value is None or isinstance(value, str | bool | int | float)) or (
            isinstance(value, float) and value != value  # NaN
        ):
            raise DomainError(
                "INVALID_VALUE",
                f"«{form.label(fid)}» må være en tekst, et tall, true/false eller null.",
                field=fid,
            )
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            raise DomainError(
                "INVALID_VALUE",
                f"«{form.label(fid)}» kan være på høyst {MAX_VALUE_CHARS} tegn.",
                field=fid,
            )
        out[fid] = value
    hf_value = out.get(_hf_key(draft.form_type))
    if hf_value not in (None, "") and hf_code(str(hf_value)) != draft.hf:
        raise DomainError(
            "UPLOADER_HF_MISMATCH",
            "Helseforetaket i utkastet kan bare være ditt eget.",
            field=_hf_key(draft.form_type),
        )
    return out


def _touch(
    uow: AbstractUnitOfWork,
    draft: Draft,
    actor: Principal,
    action: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """What every change of a draft does besides the change: versjon + 1, the time, the audit
    event (field ids and states only: never a typed value)."""
    now = uow.now()
    draft.version += 1
    draft.updated_at = now
    _audit(uow, draft, actor, action, details)


def _audit(
    uow: AbstractUnitOfWork,
    draft: Draft,
    actor: Principal,
    action: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    uow.audit.append(
        actor=actor.username,
        action=action,
        object=f"draft:{draft.id}",
        at=uow.now(),
        details={
            "form_type": draft.form_type,
            "hf": draft.hf,
            "version": draft.version,
            "state": draft.state,
            **(details or {}),
        },
    )


def _authored(draft: Draft, actor: Principal) -> None:
    if actor.username not in draft.authors:
        draft.authors = [*draft.authors, actor.username]


def _round(draft: Draft) -> int:
    return max((s.round for s in draft.steps), default=0)


def _step(
    uow: AbstractUnitOfWork,
    draft: Draft,
    actor: Principal,
    function: str,
    approved: bool,
    reason: str | None,
    *,
    new_round: bool = False,
) -> None:
    draft.steps.append(
        DraftApproval(
            seq=len(draft.steps) + 1,
            round=_round(draft) + (1 if new_round else 0),
            function=str(function),
            username=actor.username,
            name=_display_name(uow, actor.username),
            approved=approved,
            reason=reason,
            at=uow.now(),
        )
    )


def _notify_approvers(uow: AbstractUnitOfWork, draft: Draft, function: str) -> None:
    """CONNECTIONS.md section 2 `utkast_til_godkjenning`: each active user of the draft's HF
    with the function whose turn it is (mail rows in the same transaction as the step)."""
    approvers = [
        u.username for u in uow.users.with_function(draft.hf, role=Role.HF, function=function)
    ]
    outbox.notify_draft(uow, "utkast_til_godkjenning", draft.id, approvers)


def _notify_sender(uow: AbstractUnitOfWork, draft: Draft) -> None:
    """`utkast_returnert`: to the author who sent the draft (the last round's lege)."""
    sender = next(
        (s.username for s in reversed(draft.steps) if s.function == HfFunction.LEGE), None
    )
    if sender is not None:
        outbox.notify_draft(uow, "utkast_returnert", draft.id, [sender])


def _approval(step: DraftApproval) -> Approval:
    return Approval(
        funksjon=step.function,
        bruker=step.username,
        navn=step.name,
        godkjent=step.approved,
        begrunnelse=step.reason,
        tidspunkt=step.at,
    )


def _current_approvals(draft: Draft) -> list[DraftApproval]:
    """The steps of the last round that approved (the lege's send included); a round ended by
    a return has none."""
    last = _round(draft)
    steps = [s for s in draft.steps if s.round == last]
    if any(not s.approved for s in steps):
        return []
    return steps


def _view(uow: AbstractUnitOfWork, draft: Draft) -> DraftView:
    result = _evaluate(_form(draft.form_type), draft.values, _today(uow))
    errors, warnings = _open_findings(result)
    return DraftView(
        id=draft.id,
        skjema=draft.form_type,
        status=draft.state,
        status_navn=DraftState(draft.state).label,
        versjon=draft.version,
        helseforetak=draft.hf,
        verdier=dict(draft.values),
        errors=errors,
        warnings=warnings,
        godkjenninger=[_approval(s) for s in draft.steps],
        sak=draft.case_id,
        sha256=draft.sha256,
        forfatter=tuple(draft.authors),
        opprettet=draft.created_at,
        oppdatert=draft.updated_at,
    )


def _summary(draft: Draft) -> DraftSummary:
    values = draft.values
    title_field = "generelt.tittel" if draft.form_type == MINIHTA else "behandling.legemiddel"
    reference_field = _form(draft.form_type).reference_field
    reference = values.get(reference_field) if reference_field else None
    return DraftSummary(
        id=draft.id,
        skjema=draft.form_type,
        status=draft.state,
        versjon=draft.version,
        tittel=str(values.get(title_field) or ""),
        referanse=str(reference) if reference not in (None, "") else draft.case_id,
        oppdatert=draft.updated_at,
        status_navn=DraftState(draft.state).label,
        forfatter=tuple(draft.authors),
        returnert=_last_return(draft),
    )


def _last_return(draft: Draft) -> Approval | None:
    """Why an `utkast` came back: its last step, when that step was a return."""
    if draft.state != DraftState.UTKAST or not draft.steps:
        return None
    last = max(draft.steps, key=lambda s: s.seq)
    return None if last.approved else _approval(last)


def _stale_on_race(work: Callable[[], T]) -> T:
    """A change that lost a race with another change of the same draft: it was made on a
    versjon that is no longer the current one."""
    try:
        return work()
    except ConcurrentUpdate:
        raise StaleState(
            "Utkastet ble endret av noen andre samtidig. Last det på nytt og prøv igjen."
        ) from None


def _new_draft(
    uow: AbstractUnitOfWork,
    actor: Principal,
    form: FormDef,
    values: dict[str, Any],
    action: str,
    details: Mapping[str, Any] | None = None,
) -> DraftView:
    with uow:
        draft = Draft(
            secrets.token_urlsafe(12),
            hf=str(actor.hf),
            form_type=form.id,
            state=DraftState.UTKAST,
            created_by=actor.username,
            created_at=uow.now(),
            values={"skjema.type": form.id, "skjema.versjon": form.version, **values},
        )
        uow.drafts.add(draft)
        _audit(uow, draft, actor, action, details)
        view = _view(uow, draft)
        uow.commit()
    return view


# ---- the use cases -----------------------------------------------------------------------------


def create(uow: AbstractUnitOfWork, actor: Principal, skjema: str) -> DraftView:
    """A new, empty draft of `skjema` (`tilgang-del2` or `minihta`, else INVALID_VALUE) for the
    actor's HF, versjon 1, its HF field filled in; audit `draft.create`."""
    hf = _require_hf(actor)
    if not isinstance(skjema, str) or skjema not in DRAFT_FORM_TYPES:
        raise DomainError(
            "INVALID_VALUE",
            "Et utkast kan være «tilgang-del2» (søknad om individuell tilgang) eller «minihta» "
            "(mini-metodevurdering).",
            field="skjema",
        )
    form = _form(skjema)
    return _new_draft(uow, actor, form, {_hf_key(form.id): hf}, "draft.create")


def import_file(
    uow: AbstractUnitOfWork, actor: Principal, filename: str, data: bytes, *, limits: Any = None
) -> DraftView:
    """A draft of the values of an uploaded file (through an upload's intake; nothing of the file
    is kept). Rejected → the upload's first error code (422) with `status`, `errors` and
    `warnings`; another form → UPLOAD_NOT_SUPPORTED; another HF → UPLOADER_HF_MISMATCH;
    `forankring.*` dropped; audit `draft.import`."""
    hf = _require_hf(actor)
    if not filename:
        raise DomainError("FILE_MISSING", "Velg en fil å importere (feltet «fil»).")
    result = ingest(filename, data, limits=limits, today=_today(uow))
    if result.status == "rejected":
        first = result.errors[0].code if result.errors else "FILE_CORRUPT"
        raise DomainError(
            first,
            "Skjemaet er avvist. Se feilene under.",
            status="rejected",
            **findings_context(result.errors, result.warnings),
        )
    if result.form_type not in DRAFT_FORM_TYPES:
        raise DomainError("UPLOAD_NOT_SUPPORTED")
    form = _form(str(result.form_type))
    values = {
        k: v
        for k, v in flatten(result.data or {}).items()
        if v is not None
        and v != ""
        and not k.startswith(SIGNOFF_PREFIX)
        and not k.startswith(SERVICE_PREFIX)
    }
    stated = values.get(_hf_key(form.id))
    if stated not in (None, "") and hf_code(str(stated)) != hf:
        raise DomainError("UPLOADER_HF_MISMATCH")
    log.info("Utkast importert: %s, %d felt", form.id, len(values))
    return _new_draft(
        uow,
        actor,
        form,
        values,
        "draft.import",
        {"status": result.status, "fields": len(values)},
    )


def listing(
    uow: AbstractUnitOfWork,
    actor: Principal,
    status: str | None = None,
    skjema: str | None = None,
) -> list[DraftSummary]:
    """The drafts of the actor's HF, newest change first; `status=til_linjeleder` is the
    linjeleder's inbox. An unknown status or form is INVALID_VALUE."""
    hf = _require_hf(actor)
    if status is not None and status not in set(DraftState):
        raise DomainError("INVALID_VALUE", "Ukjent status for utkast.", field="status")
    if skjema is not None and skjema not in DRAFT_FORM_TYPES:
        raise DomainError("INVALID_VALUE", "Ukjent skjema for utkast.", field="skjema")
    with uow:
        return [_summary(d) for d in uow.drafts.list(hf=hf, state=status, form_type=skjema)]


def reachable(uow: AbstractUnitOfWork, actor: Principal, draft_id: str | None = None) -> None:
    """The checks that come before a request's content (PORTAL.md section 3): FORBIDDEN for a
    user without role `hf`, NOT_FOUND for a draft (when named) the user cannot see."""
    _require_hf(actor)
    if draft_id is not None:
        with uow:
            _visible(uow, actor, draft_id)


def get(uow: AbstractUnitOfWork, actor: Principal, draft_id: str) -> DraftView:
    """One draft of the actor's HF (NOT_FOUND for any other)."""
    _require_hf(actor)
    with uow:
        return _view(uow, _visible(uow, actor, draft_id))


def save(
    uow: AbstractUnitOfWork,
    actor: Principal,
    draft_id: str,
    versjon: int,
    verdier: dict[str, Any],
) -> DraftView:
    """Change the named fields (`""`/None clears one) of a draft in `utkast`; versjon + 1;
    audit `draft.save` (the field ids, never the values). The identity guard runs before
    anything is written: a hit keeps nothing of the call (IDENTITY_FOUND)."""

    def work() -> DraftView:
        with uow:
            draft = _gate(uow, actor, draft_id, "save", versjon)
            changes = _clean_changes(_form(draft.form_type), draft, verdier)
            draft.values = _typed_over(draft.values, changes)
            _authored(draft, actor)
            _touch(uow, draft, actor, "draft.save", {"fields": sorted(changes)})
            view = _view(uow, draft)
            uow.commit()
        return view

    return _stale_on_race(work)


def _incomplete(errors: list[Finding], warnings: list[Finding]) -> DomainError:
    return DomainError(
        "DRAFT_INCOMPLETE",
        "Utkastet er ikke ferdig utfylt. Rett feilene under før du sender det videre.",
        **findings_context(errors, warnings),
    )


def _reference_free(uow: AbstractUnitOfWork, hf: str, result: Result) -> None:
    """REFERENCE_IN_USE as an upload's (`services.upload.check_reference`)."""
    case = uow.cases.get(case_key(result.reference)) if result.reference else None
    if case is not None:
        upload_service.check_reference(case, hf)


def send(uow: AbstractUnitOfWork, actor: Principal, draft_id: str, versjon: int) -> DraftView:
    """`tilgang-del2` (needs `lege`): → `til_linjeleder` (DRAFT_INCOMPLETE while an error is
    outside `forankring.*`; REFERENCE_IN_USE); `minihta` (any hf user): submitted at once as
    `MMV-…`. Audit `draft.send`."""
    with uow:
        draft = _gate(uow, actor, draft_id, "send", versjon)
        form = _form(draft.form_type)
        today = _today(uow)
        result = _evaluate(form, draft.values, today)
        blocking = [f for f in result.errors if not _signoff(f.field)]
        if blocking:
            raise _incomplete(blocking, result.warnings)
        at_once = draft.form_type == MINIHTA
        if at_once:
            values = dict(draft.values)
        else:
            _reference_free(uow, draft.hf, result)
    if at_once:
        return _submit(uow, actor, str(draft_id), versjon, values, None, "draft.send", None)

    def work() -> DraftView:
        with uow:
            current = _gate(uow, actor, draft_id, "send", versjon)
            current.state = DraftState.TIL_LINJELEDER
            _authored(current, actor)
            _step(uow, current, actor, HfFunction.LEGE, True, None, new_round=True)
            _touch(uow, current, actor, "draft.send")
            _notify_approvers(uow, current, HfFunction.LINJELEDER)
            view = _view(uow, current)
            uow.commit()
        return view

    return _stale_on_race(work)


def _four_eyes(draft: Draft, actor: Principal, funksjon: str) -> None:
    """The author (everyone who created, imported, saved or sent it), the approving linjeleder
    and the approving fagdirektør are three different users."""
    if actor.username in draft.authors:
        raise DomainError(
            "FOUR_EYES", "Du har selv skrevet eller sendt dette utkastet og kan ikke godkjenne det."
        )
    if funksjon == HfFunction.FAGDIREKTOR and any(
        s.function == HfFunction.LINJELEDER and s.username == actor.username
        for s in _current_approvals(draft)
    ):
        raise DomainError(
            "FOUR_EYES",
            "Du har godkjent utkastet som linjeleder og kan ikke også godkjenne det som "
            "fagdirektør.",
        )


def approve(
    uow: AbstractUnitOfWork,
    actor: Principal,
    draft_id: str,
    versjon: int,
    funksjon: str,
    godkjent: bool,
    begrunnelse: str | None,
) -> DraftView:
    """The linjeleder's or the fagdirektør's step. `godkjent` false returns the draft to
    `utkast` and voids the approvals so far (audit `draft.return`); the linjeleder's approval
    moves it to `til_fagdirektor`, the fagdirektør's submits the case in one transaction (audit
    `draft.approve`, and the case's `case.create` or `case.resubmit`)."""
    _require_hf(actor)
    with uow:
        found = _visible(uow, actor, draft_id)
        approving = (HfFunction.LINJELEDER, HfFunction.FAGDIREKTOR)
        if funksjon not in approving:
            # `funksjon` is content: the function and the versjon are checked before it
            if not _functions(uow, actor) & set(approving):
                raise DomainError(
                    "FUNCTION_REQUIRED",
                    f"Dette steget krever funksjonen «{HfFunction.LINJELEDER.label}» eller "
                    f"«{HfFunction.FAGDIREKTOR.label}» ved helseforetaket.",
                )
            _check_version(found, versjon)
            raise DomainError(
                "INVALID_VALUE",
                "«funksjon» må være «linjeleder» eller «fagdirektor».",
                field="funksjon",
            )
        action = f"{'return' if godkjent is False else 'approve'}_{funksjon}"
        draft = _gate(uow, actor, draft_id, action, versjon)
        if godkjent is True:
            _four_eyes(draft, actor, funksjon)
        if not isinstance(godkjent, bool):
            raise DomainError(
                "INVALID_REQUEST", "«godkjent» må være true eller false.", field="godkjent"
            )
        reason = clean_reason(begrunnelse, field="begrunnelse", required=True)
        final = godkjent and funksjon == HfFunction.FAGDIREKTOR
        if final:
            today = _today(uow)
            linjeleder = next(
                s for s in _current_approvals(draft) if s.function == HfFunction.LINJELEDER
            )
            values = {
                **draft.values,
                "forankring.linjeleder_navn": linjeleder.name,
                "forankring.linjeleder_begrunnelse": linjeleder.reason,
                "forankring.linjeleder_godkjent": True,
                "forankring.fagdirektor_navn": _display_name(uow, actor.username),
                "forankring.fagdirektor_begrunnelse": reason,
                "forankring.fagdirektor_godkjent": True,
                "forankring.fagdirektor_bekrefter_komplett": True,
                "forankring.dato": today.isoformat(),
            }
    if final:
        return _submit(
            uow, actor, str(draft_id), versjon, values, reason, "draft.approve", funksjon
        )

    def work() -> DraftView:
        with uow:
            current = _gate(uow, actor, draft_id, action, versjon)
            if godkjent:
                current.state = DraftState.TIL_FAGDIREKTOR
            else:
                current.state = DraftState.UTKAST
            _step(uow, current, actor, funksjon, bool(godkjent), reason)
            _touch(
                uow,
                current,
                actor,
                "draft.approve" if godkjent else "draft.return",
                {"function": str(funksjon)},
            )
            if godkjent:
                _notify_approvers(uow, current, HfFunction.FAGDIREKTOR)
            else:
                _notify_sender(uow, current)
            view = _view(uow, current)
            uow.commit()
        return view

    return _stale_on_race(work)


def _submit(
    uow: AbstractUnitOfWork,
    actor: Principal,
    draft_id: str,
    versjon: int,
    values: dict[str, Any],
    reason: str | None,
    action: str,
    funksjon: str | None,
) -> DraftView:
    """PORTAL.md section 3 step 3 (and a mini-HTA's send): the case made as by an accepted
    upload of these values, the draft `sendt_inn` with `sak` and `sha256` of the stored bytes
    `C(data)`, in one transaction. A finding or a reference taken meanwhile changes nothing."""
    with uow:
        draft = _visible(uow, actor, draft_id)
        form = _form(draft.form_type)
        today = _today(uow)
        state_before = draft.state
    result = _evaluate(form, values, today)
    if result.status == "rejected":  # a display name or a reason holding an identity number
        raise _identity_refusal([f for f in result.errors if f.code == "IDENTITY_FOUND"])
    if result.errors:
        raise _incomplete(list(result.errors), list(result.warnings))
    assert result.data is not None
    stored = canonical_bytes(result.data)
    digest = hashlib.sha256(stored).hexdigest()

    def within(case_id: str, number: int) -> None:
        current = uow.drafts.get(draft_id)
        if current is None or current.version != versjon or current.state != state_before:
            raise StaleState("Utkastet er endret siden du åpnet det. Last det på nytt.")
        current.values = dict(values)
        current.state = DraftState.SENDT_INN
        current.case_id = case_id
        current.sha256 = digest
        current.stored = stored
        current.submitted_at = uow.now()
        if funksjon is not None:
            _step(uow, current, actor, funksjon, True, reason)
        else:
            _authored(current, actor)
        _touch(
            uow, current, actor, action, {"sak": case_id, "case_version": number, "sha256": digest}
        )

    upload_service.accept(actor, FILENAME, digest, result, uow, today, within=within)
    log.info("Utkast sendt inn: %s", form.id)
    return get(uow, actor, draft_id)


def receipt_pdf(uow: AbstractUnitOfWork, actor: Principal, draft_id: str) -> bytes:
    """The receipt of a submitted draft (PDF, text extractable; PORTAL.md section 4): NOT_FOUND
    until `sendt_inn`. The SHA-256 is computed from the stored bytes `C(data)`."""
    _require_hf(actor)
    with uow:
        draft = _visible(uow, actor, draft_id)
        if draft.state != DraftState.SENDT_INN or draft.stored is None or draft.case_id is None:
            raise NotFound("Kvitteringen finnes først når utkastet er sendt inn.")
        steps = [
            ReceiptStep(HfFunction(s.function).label, s.name, s.at, s.reason)
            for s in _current_approvals(draft)
        ]
        authors = [_display_name(uow, name) for name in draft.authors]
        return render_receipt(
            form_name=_form(draft.form_type).name,
            case_id=draft.case_id,
            hf=draft.hf,
            submitted_at=draft.submitted_at or draft.updated_at,
            authors=authors,
            steps=steps,
            sha256=hashlib.sha256(draft.stored).hexdigest(),
        )


def delete(uow: AbstractUnitOfWork, actor: Principal, draft_id: str, versjon: int) -> None:
    """Delete a draft in `utkast` with its steps: only the audit event `draft.delete` remains."""

    def work() -> None:
        with uow:
            draft = _gate(uow, actor, draft_id, "delete", versjon)
            _audit(uow, draft, actor, "draft.delete")
            uow.drafts.delete(draft)
            uow.commit()

    _stale_on_race(work)


def stale(
    uow: AbstractUnitOfWork, actor: Principal, days: int = STALE_AFTER_DAYS
) -> list[DraftSummary]:
    """The actor's own drafts (as an author) in `utkast` unchanged for `days` days or more,
    oldest first."""
    hf = _require_hf(actor)
    with uow:
        cutoff = uow.now() - timedelta(days=days)
        drafts = uow.drafts.list(hf=hf, state=DraftState.UTKAST, unchanged_since=cutoff)
        return [_summary(d) for d in reversed(drafts) if actor.username in d.authors]


def check(
    uow: AbstractUnitOfWork, actor: Principal, draft_id: str, verdier: dict[str, Any]
) -> Findings:
    """The findings of the draft's values with `verdier` typed over them, without saving (the
    page's on-blur findings). The identity guard runs too: a hit is an IDENTITY_FOUND finding
    naming the field, and nothing else is checked; nothing is kept either way."""
    _require_hf(actor)
    with uow:
        draft = _visible(uow, actor, draft_id)
        if not isinstance(verdier, Mapping):
            raise DomainError("INVALID_REQUEST", "«verdier» må være et objekt.")
        hits = _identity_hits(verdier)
        if hits:
            return Findings(errors=[f.to_dict() for f in hits])
        form = _form(draft.form_type)
        typed = {str(k): v for k, v in verdier.items()}
        unknown = [
            {
                "code": "INVALID_VALUE",
                "field": fid,
                "message": "Feltet finnes ikke i skjemaet eller fylles ut av tjenesten.",
            }
            for fid in typed
            if not _fillable(form, fid)
        ]
        values = _typed_over(draft.values, {f: v for f, v in typed.items() if _fillable(form, f)})
        errors, warnings = _open_findings(_evaluate(form, values, _today(uow)))
        return Findings(errors=unknown + errors, warnings=warnings)


def case_approvals(
    uow: AbstractUnitOfWork, case_id: str, file_sha256: str | None
) -> tuple[str | None, list[dict[str, Any]]]:
    """For `GET /saker/{id}` (inside the caller's `with uow:`): the draft that submitted the
    case's latest version (its stored bytes have that SHA-256), and the approvals that submitted
    it, `{"funksjon", "bruker", "navn", "begrunnelse", "tidspunkt"}`; (None, []) for an upload."""
    for draft in uow.drafts.for_case(case_id):
        if draft.stored is None or hashlib.sha256(draft.stored).hexdigest() != file_sha256:
            continue
        approvals = [_approval(s).to_dict() for s in _current_approvals(draft)]
        # an approval's keys but `godkjent`: every step that submitted a case approved it
        return draft.id, [{k: v for k, v in a.items() if k != "godkjent"} for a in approvals]
    return None, []
