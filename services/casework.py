"""Service functions (cosmicpython style): typed arguments, a unit of work, one transaction.

Each function checks everything before it changes anything, changes the case, appends the audit
event in the same transaction and commits. A refusal is a `DomainError` with a code and a
Norwegian message. Nothing here imports Flask or the web layer.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from processor.domain import BY_ACTION, DEL2, MINIHTA, ROLES, RULES, Actor, Principal
from processor.errors import (
    IDENTITY_IN_TEXT,
    CaseDecided,
    DomainError,
    Forbidden,
    NotFound,
    StaleState,
)
from processor.findings import Finding, Limits, Result
from processor.identity import contains_identity
from processor.ingest import file_suffix, ingest
from services.access import can_see
from storage.models import ApiToken, Case, CaseVersion, PriceCheck, Transition, User
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate

__all__ = [
    "Actor",
    "FieldChange",
    "UploadResult",
    "add_user",
    "authenticate_password",
    "authenticate_token",
    "create_token",
    "diff",
    "price_check",
    "set_urgent",
    "transition",
    "upload",
]

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".json": "application/json",
}
# where each case-opening form names its HF
HF_FIELD = {DEL2: ("soknad", "helseforetak"), MINIHTA: ("generelt", "helseforetak")}
UPLOAD_ATTEMPTS = 3
# `last_used_at` of a bearer token is written at most this often (see authenticate_token)
TOKEN_USE_RESOLUTION = timedelta(minutes=5)
DECIDED = "avgjort"  # a decided case is read-only (WORKFLOW.md section 5)
MAX_REASON_CHARS = 5000


# ---- upload -------------------------------------------------------------------------------------


@dataclass
class UploadResult:
    """The outcome of `upload`: `accepted` with the case and version, or the findings."""

    status: str
    form_type: str | None = None
    case_id: str | None = None
    version: int | None = None
    state: str | None = None
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    # the SHA-256 (hex) of the uploaded file, on an accepted upload's receipt
    file_sha256: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    def to_dict(self) -> dict[str, Any]:
        """The API body (API.md, `POST /innsendinger`)."""
        warnings = [f.to_dict() for f in self.warnings]
        if self.accepted:
            return {
                "sak": self.case_id,
                "versjon": self.version,
                "status": self.status,
                "fil_sha256": self.file_sha256,
                "warnings": warnings,
            }
        return {
            "status": self.status,
            "errors": [f.to_dict() for f in self.errors],
            "warnings": warnings,
        }


def stored_suffix(filename: str) -> str:
    """The suffix kept with a version: a supported one in lower case, else ""."""
    suffix = file_suffix(filename.replace("\\", "/")).lower()
    return suffix if suffix in CONTENT_TYPES else ""


def _form_hf(form_type: str, data: dict[str, Any]) -> str | None:
    section, key = HF_FIELD[form_type]
    value = (data.get(section) or {}).get(key)
    return value if isinstance(value, str) else None


def _already_received(case_id: str) -> str:
    """REFERENCE_IN_USE for the uploader's own case: the same application, not another case."""
    return (
        f"Denne søknaden er allerede mottatt som sak {case_id}. Vil du sende en ny versjon, "
        "må koordinatoren først returnere saken."
    )


def upload(
    user: Principal,
    filename: str,
    data: bytes,
    uow: AbstractUnitOfWork,
    today: date,
    *,
    limits: Limits | None = None,
    case_id: str | None = None,
) -> UploadResult:
    """Process one uploaded file; an accepted `tilgang-del2` or `minihta` opens or resumes a case.

    The later mini-HTA forms (økonomi, skjema 2, skjema 3) go to `services.minihta`, which attaches
    them to the case they name (or `case_id`, the API's `?sak=`). A `minihta` with `case_id` is the
    resubmission of that returned case.

    The uploaded bytes are read in memory and never written anywhere (FORMS.md section 6, rule
    3): an accepted form is kept as its canonical JSON and the SHA-256 of the file (on the
    receipt). A rejected or incomplete file writes nothing at all (no row, no audit event) and
    gives the findings back. Raises `DomainError`: FORBIDDEN, UPLOADER_HF_MISMATCH (before any
    case is looked up), REFERENCE_IN_USE, CASE_MISMATCH, SEQUENCE_EXHAUSTED, CONFLICT.
    """
    roles = set(user.roles)
    if not roles & {"hf", "fagfelle"}:
        raise Forbidden("Du har ikke tilgang til å sende inn skjema.")
    result = ingest(filename, data, limits=limits, today=today)
    if result.status != "accepted":
        log.info("Innsending ikke godtatt: %s", ",".join(sorted(f.code for f in result.errors)))
        return UploadResult(
            status=result.status,
            form_type=result.form_type,
            errors=list(result.errors),
            warnings=list(result.warnings),
        )
    form_type = result.form_type
    assert form_type is not None and result.data is not None
    # what is kept of the file: its canonical JSON (`result.data`) and this hash, never the bytes
    digest = hashlib.sha256(data).hexdigest()
    if form_type not in HF_FIELD:
        from services import minihta

        return minihta.upload_attachment(user, filename, digest, result, uow, case_id=case_id)
    if case_id and form_type != MINIHTA:
        raise DomainError("CASE_MISMATCH", "Dette skjemaet kan ikke knyttes til en annen sak.")
    if "hf" not in roles:
        raise Forbidden("Bare brukere ved et helseforetak kan sende inn dette skjemaet.")
    form_hf = _form_hf(form_type, result.data)
    if user.hf is None or form_hf != user.hf:
        raise DomainError("UPLOADER_HF_MISMATCH")
    for attempt in range(1, UPLOAD_ATTEMPTS + 1):
        try:
            return _store_upload(
                user, filename, digest, result.data, form_type, result, uow, today, case_id
            )
        except ConcurrentUpdate:
            if attempt == UPLOAD_ATTEMPTS:
                raise DomainError("CONFLICT") from None
    raise AssertionError("unreachable")


def _store_upload(
    user: Principal,
    filename: str,
    file_sha256: str,
    data: dict[str, Any],
    form_type: str,
    result: Result,
    uow: AbstractUnitOfWork,
    today: date,
    resubmit: str | None = None,
) -> UploadResult:
    warnings = [f.to_dict() for f in result.warnings]
    suffix = stored_suffix(filename)
    with uow:
        now = uow.now()

        def arrival(number: int, from_state: str | None) -> tuple[CaseVersion, Transition]:
            version = CaseVersion(
                number=number,
                data=data,
                file_sha256=file_sha256,
                file_suffix=suffix,
                uploaded_by=user.username,
                received_at=now,
                warnings=warnings,
            )
            moved = Transition(
                from_state=from_state, to_state="mottatt", actor=user.username, reason=None, at=now
            )
            return version, moved

        def new_case(case_id: str) -> Case:
            case = Case(
                case_id, form_type=form_type, hf=str(user.hf), state="mottatt", created_at=now
            )
            version, moved = arrival(1, None)
            case.versions.append(version)
            case.transitions.append(moved)
            return case

        case: Case | None = None  # a case that exists: this upload is its next version
        if form_type == DEL2:
            case_id = str(result.reference).upper()
            # Mostly a new reference: the database creates the case unless the id is taken
            # (written now, with its version and transition); only then is it loaded. No
            # question first: with no file to write before the first write, asking would only
            # cost a statement on every upload for the rare resubmission.
            if not uow.cases.create(new_case(case_id)):
                case = uow.cases.get(case_id)
                if case is None:  # deleted since: start again
                    raise ConcurrentUpdate("the case went away")
                if case.hf != user.hf:
                    raise DomainError("REFERENCE_IN_USE")  # another HF's case: say no more
                if case.state != "returnert":
                    raise DomainError("REFERENCE_IN_USE", _already_received(case.id))
        elif resubmit:
            # a returned mini-HTA comes back as a new version of its case (`?sak=`)
            case_id = resubmit.strip().upper()
            case = uow.cases.get(case_id)
            if case is None or case.form_type != MINIHTA or case.hf != user.hf:
                raise DomainError("CASE_MISMATCH", "Saken finnes ikke eller er ikke din.")
            if case.state != "returnert":
                raise DomainError(
                    "CASE_MISMATCH",
                    "Bare en returnert mini-metodevurdering kan sendes inn på nytt.",
                )
        else:
            number = uow.cases.next_minihta_number(today.year)
            if number > 999:
                raise DomainError("SEQUENCE_EXHAUSTED")
            case_id = f"MMV-{today.year:04d}-{number:03d}"
            if not uow.cases.create(new_case(case_id)):
                raise ConcurrentUpdate("the number is taken")

        if case is None:
            hf, number, from_state, action = str(user.hf), 1, None, "case.create"
        else:
            hf, number, from_state = case.hf, len(case.versions) + 1, case.state
            action = "case.resubmit"
            case.state = "mottatt"
            case.version += 1
            case.updated_at = now
            version, moved = arrival(number, from_state)
            case.versions.append(version)
            case.transitions.append(moved)
        uow.audit.append(
            actor=user.username,
            action=action,
            object=f"case:{case_id}",
            at=now,
            details={
                "form_type": form_type,
                "hf": hf,
                "version": number,
                "from": from_state,
                "to": "mottatt",
                "file_sha256": file_sha256,
                "file_suffix": suffix,
                "warnings": sorted({w["code"] for w in warnings}),
            },
        )
        uow.commit()
    log.info("Innsending mottatt: sak %s, versjon %d", case_id, number)
    return UploadResult(
        status="accepted",
        form_type=form_type,
        case_id=case_id,
        version=number,
        state="mottatt",
        warnings=list(result.warnings),
        file_sha256=file_sha256,
    )


# ---- transitions --------------------------------------------------------------------------------


def clean_reason(reason: str | None) -> str | None:
    """A typed reason without surrounding space, or None; INVALID_VALUE when too long,
    IDENTITY_FOUND when it holds an identity number."""
    text = (reason or "").strip()
    if not text:
        return None
    if len(text) > MAX_REASON_CHARS:
        raise DomainError(
            "INVALID_VALUE", f"Begrunnelsen kan være på høyst {MAX_REASON_CHARS} tegn."
        )
    if contains_identity(text):
        raise DomainError("IDENTITY_FOUND", IDENTITY_IN_TEXT)
    return text


def visible_case(user: Principal, case_id: str, uow: AbstractUnitOfWork) -> Case:
    case = uow.cases.get(case_id.strip().upper())
    if case is None or not can_see(user, case):
        raise NotFound()
    return case


def ensure_open(case: Case) -> None:
    """Refuse every change of a decided case (CASE_DECIDED, 409): it is read-only.

    Checked once the case is known to be visible to the user, before any role or state check,
    so the answer is the same whoever asks.
    """
    if case.state == DECIDED:
        raise CaseDecided()


def _open_case(user: Principal, case_id: str, uow: AbstractUnitOfWork) -> Case:
    """A case the user may see and that may still change (NOT_FOUND, CASE_DECIDED)."""
    case = visible_case(user, case_id, uow)
    ensure_open(case)
    return case


def reason_digest(reason: str | None) -> str | None:
    """The hash of a reason for the audit chain (the text itself stays with the case)."""
    return hashlib.sha256(reason.encode("utf-8")).hexdigest() if reason else None


def record_change(
    uow: AbstractUnitOfWork,
    case: Case,
    actor: str,
    action: str,
    at: datetime,
    details: Mapping[str, Any] | None = None,
) -> None:
    """What every change of a case does besides the change itself, in the same transaction: a
    new `version` (the optimistic-concurrency check, and what tells the figures the case changed),
    `updated_at`, and the audit event."""
    case.version += 1
    case.updated_at = at
    uow.audit.append(actor=actor, action=action, object=f"case:{case.id}", at=at, details=details)


def move_case(
    user: Principal,
    case: Case,
    to: str,
    reason: str | None,
    uow: AbstractUnitOfWork,
    *,
    action: str = "case.transition",
    extra: dict[str, Any] | None = None,
) -> Transition:
    """Move `case` to `to` and record the step in its history and the audit chain (shared by
    the committee and mini-HTA services)."""
    now = uow.now()
    from_state = case.state
    step = Transition(
        from_state=from_state, to_state=to, actor=user.username, reason=reason, at=now
    )
    case.transitions.append(step)
    case.state = to
    record_change(
        uow,
        case,
        user.username,
        action,
        now,
        {
            "from": from_state,
            "to": to,
            # the reason lives with the case; the chain holds only its hash
            "reason_sha256": reason_digest(reason),
            **(extra or {}),
        },
    )
    return step


def transition(
    user: Principal,
    case_id: str,
    from_: str,
    to: str,
    reason: str | None,
    uow: AbstractUnitOfWork,
) -> Case:
    """Move a case from `from_` (the state the actor saw) to `to` (WORKFLOW.md sections 2, 6).

    Raises NOT_FOUND (also for a case the user may not know of), CASE_DECIDED (a decided case is
    read-only), INVALID_TRANSITION, FORBIDDEN, REASON_REQUIRED, and STALE_STATE when the case is
    no longer in `from_`.
    """
    try:
        with uow:
            case = _open_case(user, case_id, uow)
            key = (case.form_type, from_, to)
            rule = RULES.get(key)
            if rule is None:
                raise DomainError("INVALID_TRANSITION", BY_ACTION.get(key))
            if not (set(user.roles) & rule.roles) or (rule.own_hf and case.hf != user.hf):
                raise Forbidden("Du har ikke tilgang til å gjøre denne statusendringen.")
            clean = clean_reason(reason)
            if rule.needs_reason and clean is None:
                raise DomainError("REASON_REQUIRED", "En retur må ha minst én begrunnelse.")
            if case.state != from_:
                raise StaleState(current=case.state)
            move_case(user, case, to, clean, uow)
            if case.form_type == MINIHTA and to == "publisert":
                from services import minihta

                minihta.publish(case, uow)
            uow.commit()
    except ConcurrentUpdate:
        raise StaleState() from None
    return case


def _left_price_check(user: Principal, case_id: str, uow: AbstractUnitOfWork) -> None:
    """The second of two price checkers at once: the case has left the price check (and with it
    their sight, `can_see`) but they did see it there. They get the answer of WORKFLOW.md
    section 2 for a case that moved on (CASE_DECIDED or STALE_STATE, 409), no data of it."""
    if "priskontroll" not in set(user.roles):
        return
    case = uow.cases.get(case_id.strip().upper())
    if case is None or not case.price_checks or can_see(user, case):
        return
    ensure_open(case)
    raise StaleState(
        "Saken er ikke lenger til priskontroll (noen andre har registrert den). "
        "Gå tilbake til køen."
    )


def price_check(
    user: Principal,
    case_id: str,
    monthly_cost: float,
    note: str | None,
    uow: AbstractUnitOfWork,
) -> Case:
    """Sykehusinnkjøp confirms or corrects the monthly drug cost; the case becomes `klar`.

    A corrected amount needs a note. CASE_DECIDED for a decided case, STALE_STATE when the case is
    no longer in `priskontroll`.
    """
    if (
        isinstance(monthly_cost, bool)
        or not isinstance(monthly_cost, int | float)
        or not math.isfinite(monthly_cost)
        or monthly_cost < 0
    ):
        raise DomainError(
            "INVALID_VALUE", "Legemiddelkostnaden må være et tall som ikke er negativt."
        )
    try:
        with uow:
            _left_price_check(user, case_id, uow)
            case = _open_case(user, case_id, uow)
            if case.form_type != DEL2:
                raise DomainError("INVALID_TRANSITION", "Saken skal ikke til priskontroll.")
            if "priskontroll" not in set(user.roles):
                raise Forbidden()
            clean = clean_reason(note)
            latest = case.latest
            stated = (
                (latest.data.get("kostnader") or {}).get("legemiddel_per_maned") if latest else None
            )
            stated = stated if isinstance(stated, int | float) else None
            corrected = stated is None or float(stated) != float(monthly_cost)
            if corrected and clean is None:
                raise DomainError(
                    "REASON_REQUIRED", "Skriv en merknad når legemiddelkostnaden korrigeres."
                )
            if case.state != "priskontroll":
                raise StaleState(current=case.state)
            now = uow.now()
            case.price_checks.append(
                PriceCheck(
                    stated_per_month=stated,
                    confirmed_per_month=float(monthly_cost),
                    corrected=corrected,
                    note=clean or "",
                    actor=user.username,
                    at=now,
                )
            )
            move_case(
                user,
                case,
                "klar",
                clean,
                uow,
                action="case.price_check",
                extra={"corrected": corrected},
            )
            uow.commit()
    except ConcurrentUpdate:
        raise StaleState() from None
    return case


def set_urgent(
    user: Principal, case_id: str, urgent: bool, reason: str | None, uow: AbstractUnitOfWork
) -> Case:
    """The coordinator marks a case urgent (`hast`, with a reason) or not urgent.

    CASE_DECIDED for a decided case (read-only)."""
    try:
        with uow:
            case = _open_case(user, case_id, uow)
            if "koordinator" not in set(user.roles):
                raise Forbidden()
            clean = clean_reason(reason)
            if urgent and clean is None:
                raise DomainError("REASON_REQUIRED", "En hastesak må ha en begrunnelse.")
            case.urgent = urgent
            case.urgent_reason = clean if urgent else None
            record_change(
                uow,
                case,
                user.username,
                "case.urgent",
                uow.now(),
                {"urgent": urgent, "reason_sha256": reason_digest(clean)},
            )
            uow.commit()
    except ConcurrentUpdate:
        raise StaleState() from None
    return case


# ---- versions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Canonical JSON to field ids: nested keys joined by dots, array rows numbered from 1."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list):
        for i, value in enumerate(data, 1):
            out.update(flatten(value, f"{prefix}.{i}"))
    else:
        out[prefix] = data
    return out


def diff(case: Case, v1: int, v2: int) -> list[FieldChange]:
    """The fields that differ between two versions of a case, in the order of the newer form."""
    a, b = case.get_version(v1), case.get_version(v2)
    if a is None or b is None:
        raise DomainError("VERSION_NOT_FOUND")
    old, new = flatten(a.data), flatten(b.data)
    keys = list(new) + [k for k in old if k not in new]
    return [
        FieldChange(k, old.get(k), new.get(k))
        for k in keys
        if k not in old or k not in new or old[k] != new[k]
    ]


# ---- users and tokens ---------------------------------------------------------------------------

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so both paths cost the same."""
    return _hasher.hash(secrets.token_hex(16))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(
    uow: AbstractUnitOfWork,
    username: str,
    *,
    roles: list[str] | tuple[str, ...],
    hf: str | None = None,
    display_name: str = "",
    beslutningstaker: bool = False,
    fagomrader: list[str] | tuple[str, ...] = (),
    password: str | None = None,
    epost: str | None = None,
    oidc_sub: str | None = None,
    actor: str = "system",
) -> User:
    """Create a user; `password=None` makes an API-only user (bearer tokens only); `epost` and
    `oidc_sub` as in `services.accounts`."""
    from services import accounts

    epost, oidc_sub = accounts.clean_epost(epost), accounts.clean_sub(oidc_sub)
    username = username.strip()
    if not username or len(username) > 100 or contains_identity(username):
        raise DomainError("INVALID_VALUE", "Ugyldig brukernavn.")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise DomainError("INVALID_VALUE", f"Ukjent rolle: {', '.join(unknown) or 'ingen'}.")
    if hf is not None:
        from forms.catalog import registry

        hf = hf.strip().upper()
        if hf not in registry().trusts:
            raise DomainError("INVALID_VALUE", f"Ukjent helseforetak: {hf}.")
    if "hf" in roles and hf is None:
        raise DomainError("INVALID_VALUE", "En bruker med rollen hf må høre til et helseforetak.")
    password_hash = _hasher.hash(password) if password else None
    with uow:
        if uow.users.get(username) is not None:
            raise DomainError("USER_EXISTS")
        user = User(
            username,
            display_name=display_name,
            roles=list(roles),
            hf=hf,
            beslutningstaker=beslutningstaker,
            fagomrader=list(fagomrader),
            password_hash=password_hash,
            created_at=uow.now(),
        )
        accounts.apply(uow, user, epost=epost, oidc_sub=oidc_sub)
        uow.users.add(user)
        uow.audit.append(
            actor=actor,
            action="user.add",
            object=f"user:{username}",
            at=uow.now(),
            details={"roles": sorted(set(roles)), "hf": hf, "beslutningstaker": beslutningstaker},
        )
        uow.commit()
    return user


def create_token(uow: AbstractUnitOfWork, username: str, *, actor: str = "system") -> str:
    """A new bearer token for the user; only its SHA-256 is stored. Returns the token."""
    token = secrets.token_urlsafe(32)
    with uow:
        user = uow.users.get(username)
        if user is None:
            raise DomainError("USER_NOT_FOUND")
        uow.tokens.add(ApiToken(user=user, token_sha256=hash_token(token), created_at=uow.now()))
        uow.audit.append(
            actor=actor, action="token.create", object=f"user:{username}", at=uow.now()
        )
        uow.commit()
    return token


def authenticate_token(uow: AbstractUnitOfWork, token: str) -> Actor | None:
    """The active user the bearer token belongs to, or None.

    Marks the token used at most once per `TOKEN_USE_RESOLUTION`: writing `last_used_at` on
    every request would make every API call a write transaction (on SQLite one writer at a time,
    with an fsync), for a time nobody needs to the second.

    One query and at most one update, each complete on its own: the web layer runs this on a
    unit of work without a surrounding transaction (`Storage.statement_uow`).
    """
    if not token:
        return None
    sha = hash_token(token)
    with uow:
        owner = uow.tokens.owner(sha)
        if owner is None or not owner.active:
            return None
        now = uow.now()
        last = owner.last_used_at
        if last is None or now - last >= TOKEN_USE_RESOLUTION or now < last:
            uow.tokens.mark_used(sha, now)
            uow.commit()
    return owner.actor


# ---- sessions, passwords, deactivation -----------------------------------------------------------

MIN_PASSWORD_CHARS = 8


def session_generation(uow: AbstractUnitOfWork, username: str) -> int | None:
    """The user's current session generation, or None for an unknown or inactive user."""
    with uow:
        user = uow.users.get(username)
        return user.session_generation if user is not None and user.active else None


def _end_sessions(uow: AbstractUnitOfWork, username: str, action: str, actor: str) -> User:
    """Move the user's session generation on (every session ends) and audit `action`."""
    user = uow.users.get(username)
    if user is None:
        raise DomainError("USER_NOT_FOUND")
    user.session_generation = (user.session_generation or 0) + 1
    uow.audit.append(actor=actor, action=action, object=f"user:{username}", at=uow.now())
    return user


def end_sessions(uow: AbstractUnitOfWork, username: str, *, actor: str | None = None) -> None:
    """End every session of the user (logging out ends them all, on every device)."""
    with uow:
        _end_sessions(uow, username, "user.logout", actor or username)
        uow.commit()


def set_password(
    uow: AbstractUnitOfWork, username: str, password: str, *, actor: str = "system"
) -> None:
    """A new password for the user; every session of the user ends."""
    if len(password) < MIN_PASSWORD_CHARS or len(password) > 1000:
        raise DomainError(
            "INVALID_VALUE", f"Passordet må ha minst {MIN_PASSWORD_CHARS} og høyst 1000 tegn."
        )
    password_hash = _hasher.hash(password)
    with uow:
        _end_sessions(uow, username, "user.password", actor).password_hash = password_hash
        uow.commit()


def deactivate_user(uow: AbstractUnitOfWork, username: str, *, actor: str = "system") -> None:
    """The user can no longer log in nor use a token; every session of the user ends."""
    with uow:
        _end_sessions(uow, username, "user.deactivate", actor).active = False
        uow.commit()


def authenticate_password(uow: AbstractUnitOfWork, username: str, password: str) -> Actor | None:
    """The active user with this username and password, or None (same work either way)."""
    with uow:
        user = uow.users.get(username)
        stored = user.password_hash if user is not None and user.active else None
        try:
            _hasher.verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or stored is None:
            return None
        if _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
            uow.commit()
        return Actor.of(user)
