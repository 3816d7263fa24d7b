"""The upload service: one uploaded file in, an `UploadResult` out (API.md `POST /innsendinger`).

An accepted `tilgang-del2` or `minihta` opens a case or is the next version of a returned one; the
later mini-HTA forms (økonomi, skjema 2, skjema 3) are handed to `services.minihta`, which attaches
them to their case. Nothing here imports Flask or the web layer.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from processor.domain import DEL2, MINIHTA, Principal, State, case_key
from processor.errors import DomainError, Forbidden
from processor.findings import Finding, Limits, Result
from processor.ingest import ingest
from services import minihta, outbox
from services.steps import retry_on_conflict, stored_suffix
from storage.models import Case, CaseVersion, Transition
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate

__all__ = ["HF_FIELD", "UploadResult", "accept", "check_reference", "upload"]

log = logging.getLogger(__name__)

# where each case-opening form names its HF
HF_FIELD = {DEL2: ("soknad", "helseforetak"), MINIHTA: ("generelt", "helseforetak")}


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


def _form_hf(form_type: str, data: dict[str, Any]) -> str | None:
    section, key = HF_FIELD[form_type]
    value = (data.get(section) or {}).get(key)
    return value if isinstance(value, str) else None


def check_reference(case: Case, hf: str | None) -> None:
    """A `tilgang-del2` whose reference names an existing case: REFERENCE_IN_USE unless the case
    is the submitting HF's own and returned (then the submission is its next version). Another
    HF's case is named no further; the HF's own is the same application, not another case."""
    if case.hf != hf:
        raise DomainError("REFERENCE_IN_USE")
    if case.state != State.RETURNERT:
        raise DomainError(
            "REFERENCE_IN_USE",
            f"Denne søknaden er allerede mottatt som sak {case.id}. Vil du sende en ny versjon, "
            "må koordinatoren først returnere saken.",
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
        attached = minihta.upload_attachment(user, filename, digest, result, uow, case_id=case_id)
        return _accepted(result, digest, attached.case_id, attached.version, attached.state)
    if case_id and form_type != MINIHTA:
        raise DomainError("CASE_MISMATCH", "Dette skjemaet kan ikke knyttes til en annen sak.")
    return accept(user, filename, digest, result, uow, today, case_id=case_id)


def accept(
    user: Principal,
    filename: str,
    file_sha256: str,
    result: Result,
    uow: AbstractUnitOfWork,
    today: date,
    *,
    case_id: str | None = None,
    within: Callable[[str, int], None] | None = None,
) -> UploadResult:
    """Store an accepted `tilgang-del2` or `minihta` as a new case or the next version of a
    returned one: what `upload` does with an accepted form, and what a submitted draft does
    (`services.drafts`). `within(case_id, version)` runs in the same transaction just before
    its commit (a refusal from it, or a lost race, keeps nothing; a race is run again)."""
    form_type = result.form_type
    assert form_type in HF_FIELD and result.data is not None
    if "hf" not in set(user.roles):
        raise Forbidden("Bare brukere ved et helseforetak kan sende inn dette skjemaet.")
    form_hf = _form_hf(form_type, result.data)
    if user.hf is None or form_hf != user.hf:
        raise DomainError("UPLOADER_HF_MISMATCH")
    canonical = result.data
    return retry_on_conflict(
        lambda: _store_upload(
            user, filename, file_sha256, canonical, form_type, result, uow, today, case_id, within
        )
    )


def _accepted(
    result: Result, file_sha256: str, case_id: str, version: int, state: str
) -> UploadResult:
    return UploadResult(
        status="accepted",
        form_type=result.form_type,
        case_id=case_id,
        version=version,
        state=state,
        warnings=list(result.warnings),
        file_sha256=file_sha256,
    )


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
    within: Callable[[str, int], None] | None = None,
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
                from_state=from_state,
                to_state=State.MOTTATT,
                actor=user.username,
                reason=None,
                at=now,
            )
            return version, moved

        def new_case(case_id: str) -> Case:
            case = Case(
                case_id, form_type=form_type, hf=str(user.hf), state=State.MOTTATT, created_at=now
            )
            version, moved = arrival(1, None)
            case.versions.append(version)
            case.transitions.append(moved)
            return case

        case: Case | None = None  # a case that exists: this upload is its next version
        if form_type == DEL2:
            case_id = case_key(str(result.reference))
            # Mostly a new reference: the database creates the case unless the id is taken
            # (written now, with its version and transition); only then is it loaded. No
            # question first: with no file to write before the first write, asking would only
            # cost a statement on every upload for the rare resubmission.
            if not uow.cases.create(new_case(case_id)):
                case = uow.cases.get(case_id)
                if case is None:  # deleted since: start again
                    raise ConcurrentUpdate("the case went away")
                check_reference(case, user.hf)
        elif resubmit:
            # a returned mini-HTA comes back as a new version of its case (`?sak=`)
            case_id = case_key(resubmit)
            case = uow.cases.get(case_id)
            if case is None or case.form_type != MINIHTA or case.hf != user.hf:
                raise DomainError("CASE_MISMATCH", "Saken finnes ikke eller er ikke din.")
            if case.state != State.RETURNERT:
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
            case.state = State.MOTTATT
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
                "to": State.MOTTATT,
                "file_sha256": file_sha256,
                "file_suffix": suffix,
                "warnings": sorted({w["code"] for w in warnings}),
            },
        )
        outbox.version_accepted(uow, case_id, form_type, number)
        if within is not None:
            within(case_id, number)
        uow.commit()
    log.info("Innsending mottatt: sak %s, versjon %d", case_id, number)
    return _accepted(result, file_sha256, case_id, number, State.MOTTATT)
