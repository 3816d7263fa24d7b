"""The shared steps of the services: what every use case that changes a case does the same way.

Look a case up for a user (`visible_case`, `open_case`), clean a typed reason (`clean_reason`),
shape a refusal's findings (`findings_context`), move a case with its transition row and audit
event (`move_case`), record any other change (`record_change`), and run a transaction again when
it lost a race (`retry_on_conflict`; as a decorator: `retried`). Used by `services.upload`,
`services.cases`, `services.committee`, `services.minihta` and `services.drafts`; imports none of
them.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from processor.domain import Principal, State, case_key
from processor.errors import IDENTITY_IN_TEXT, CaseDecided, DomainError, NotFound
from processor.findings import Finding
from processor.identity import contains_identity, one_text
from processor.ingest import file_suffix
from services.access import can_see
from storage.models import Case, Transition
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate

__all__ = [
    "ATTEMPTS",
    "CONTENT_TYPES",
    "DECIDED",
    "IDENTITY_IN_REASON",
    "MAX_REASON_CHARS",
    "clean_reason",
    "ensure_open",
    "findings_context",
    "move_case",
    "open_case",
    "reason_digest",
    "record_change",
    "retried",
    "retry_on_conflict",
    "stored_suffix",
    "visible_case",
]

T = TypeVar("T")
P = ParamSpec("P")

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".json": "application/json",
}
# how often a transaction that lost a race is tried in all (see retry_on_conflict)
ATTEMPTS = 3
DECIDED = State.AVGJORT  # a decided case is read-only (WORKFLOW.md section 5)
MAX_REASON_CHARS = 5000
IDENTITY_IN_REASON = (
    "Begrunnelsen inneholder et fødselsnummer, D-nummer eller annet personnummer. Ingenting er "
    "lagret. Fjern nummeret og prøv igjen."
)


def stored_suffix(filename: str) -> str:
    """The suffix kept with a version: a supported one in lower case, else ""."""
    suffix = file_suffix(filename.replace("\\", "/")).lower()
    return suffix if suffix in CONTENT_TYPES else ""


def retry_on_conflict(work: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """Run `work`, one transaction, again when another transaction changed the same rows first
    (`ConcurrentUpdate`: it rolled back, so trying again starts clean); CONFLICT (409) after
    `attempts` tries. A `DomainError` from `work` is never retried."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except ConcurrentUpdate:
            if attempt == attempts:
                raise DomainError("CONFLICT") from None
    raise AssertionError("unreachable")


def retried(use_case: Callable[P, T]) -> Callable[P, T]:
    """A use case that is one transaction, run under `retry_on_conflict` (as a decorator)."""

    @functools.wraps(use_case)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return retry_on_conflict(lambda: use_case(*args, **kwargs))

    return run


def findings_context(
    errors: Iterable[Finding | Mapping[str, Any]], warnings: Iterable[Finding] = ()
) -> dict[str, Any]:
    """The context of a refusal for content that a page or the API shows finding by finding:
    `errors` and `warnings` (`{"code", "field", "message"}` each) for the API body, `fields`
    (field id → message) and the first `field` for a page."""
    listed = [f.to_dict() if isinstance(f, Finding) else dict(f) for f in errors]
    fields = {str(f["field"]): str(f["message"]) for f in listed if f.get("field")}
    context: dict[str, Any] = {"errors": listed, "warnings": [f.to_dict() for f in warnings]}
    if fields:
        context["fields"] = fields
        context["field"] = next(iter(fields))
    return context


def clean_reason(reason: object, *, field: str | None = None, required: bool = False) -> str | None:
    """A typed reason without surrounding space, or None; INVALID_REQUEST when it is not a
    text, INVALID_VALUE when too long, IDENTITY_FOUND when it holds an identity number (a NUL
    in it hides none). `field`: the form field the refusal names (`DomainError.context`).

    `required` (a sign-off step's reason, PORTAL.md section 3): REASON_REQUIRED when empty, and
    the identity refusal says nothing was kept and carries its finding (`findings_context`)."""
    hint = {"field": field} if field else {}
    if reason is not None and not isinstance(reason, str):
        raise DomainError(
            "INVALID_REQUEST", f"«{field or 'begrunnelse'}» må være en tekst.", **hint
        )
    text = (reason or "").strip()
    if not text:
        if required:
            raise DomainError("REASON_REQUIRED", **hint)
        return None
    if len(text) > MAX_REASON_CHARS:
        raise DomainError(
            "INVALID_VALUE", f"Begrunnelsen kan være på høyst {MAX_REASON_CHARS} tegn.", **hint
        )
    if contains_identity(one_text(text)):
        if not required:
            raise DomainError("IDENTITY_FOUND", IDENTITY_IN_TEXT, **hint)
        finding = {"code": "IDENTITY_FOUND", "field": field, "message": IDENTITY_IN_REASON}
        raise DomainError("IDENTITY_FOUND", IDENTITY_IN_REASON, **findings_context([finding]))
    return text


def visible_case(user: Principal, case_id: str, uow: AbstractUnitOfWork) -> Case:
    case = uow.cases.get(case_key(case_id))
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


def open_case(user: Principal, case_id: str, uow: AbstractUnitOfWork) -> Case:
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
    the case, committee and mini-HTA services)."""
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
