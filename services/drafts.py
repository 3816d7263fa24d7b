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

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Approval",
    "DraftSummary",
    "DraftView",
    "Findings",
    "approve",
    "check",
    "create",
    "delete",
    "get",
    "import_file",
    "listing",
    "receipt_pdf",
    "save",
    "send",
    "stale",
]


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


# ---- the use cases ---------------------------------------------------------------------------


def create(uow: Any, actor: Any, skjema: str) -> DraftView:
    """A new, empty draft of `skjema` (`tilgang-del2` or `minihta`, else INVALID_VALUE) for the
    actor's HF, versjon 1, its HF field filled in; audit `draft.create`."""
    raise NotImplementedError


def import_file(uow: Any, actor: Any, filename: str, data: bytes) -> DraftView:
    """A draft of the values of an uploaded file (through an upload's intake; nothing of the file
    is kept). Rejected → the upload's first error code (422) with `errors`/`warnings`; another
    form → UPLOAD_NOT_SUPPORTED; another HF → UPLOADER_HF_MISMATCH; `forankring.*` dropped;
    audit `draft.import`."""
    raise NotImplementedError


def listing(
    uow: Any, actor: Any, status: str | None = None, skjema: str | None = None
) -> list[DraftSummary]:
    """The drafts of the actor's HF, newest change first; `status=til_linjeleder` is the
    linjeleder's inbox. An unknown status or form is INVALID_VALUE."""
    raise NotImplementedError


def get(uow: Any, actor: Any, draft_id: str) -> DraftView:
    """One draft of the actor's HF (NOT_FOUND for any other)."""
    raise NotImplementedError


def save(uow: Any, actor: Any, draft_id: str, versjon: int, verdier: dict[str, Any]) -> DraftView:
    """Change the named fields (`""`/None clears one) of a draft in `utkast`; versjon + 1;
    audit `draft.save`. The identity guard runs first: a hit keeps nothing (IDENTITY_FOUND)."""
    raise NotImplementedError


def send(uow: Any, actor: Any, draft_id: str, versjon: int) -> DraftView:
    """`tilgang-del2` (needs `lege`): → `til_linjeleder` (DRAFT_INCOMPLETE, REFERENCE_IN_USE);
    `minihta` (any hf user): submitted at once as `MMV-…`. Audit `draft.send`."""
    raise NotImplementedError


def approve(
    uow: Any,
    actor: Any,
    draft_id: str,
    versjon: int,
    funksjon: str,
    godkjent: bool,
    begrunnelse: str | None,
) -> DraftView:
    """The linjeleder's or the fagdirektør's step. `godkjent` false returns the draft to
    `utkast` (audit `draft.return`); the fagdirektør's approval submits the case in one
    transaction (audit `draft.approve` and the case's `case.create`/`case.resubmit`)."""
    raise NotImplementedError


def receipt_pdf(uow: Any, actor: Any, draft_id: str) -> bytes:
    """The receipt of a submitted draft (PDF, text extractable); NOT_FOUND until `sendt_inn`."""
    raise NotImplementedError


def delete(uow: Any, actor: Any, draft_id: str, versjon: int) -> None:
    """Delete a draft in `utkast`: only the audit event `draft.delete` remains."""
    raise NotImplementedError


def stale(uow: Any, actor: Any, days: int = 90) -> list[DraftSummary]:
    """The actor's drafts in `utkast` unchanged for `days` days or more, oldest first."""
    raise NotImplementedError


def check(uow: Any, actor: Any, draft_id: str, verdier: dict[str, Any]) -> Findings:
    """The findings of the draft's values with `verdier` typed over them, without saving (the
    page's on-blur findings). The identity guard runs too: a hit is an IDENTITY_FOUND finding
    naming the field; nothing is kept either way."""
    raise NotImplementedError
