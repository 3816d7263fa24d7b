"""The outbox use cases (CONNECTIONS.md sections 2 and 3, issue 24).

Enqueueing: each function below is called by the service that makes the change, inside its
`with uow:` block and before its `uow.commit()`, so the row exists exactly when the change
committed (a refused or rolled-back change leaves none):

- `case_returned` (`services.cases.transition` → `returnert`): the uploader of the latest version;
- `case_decided` (`services.committee.record_decision`): each active `hf` user of the case's HF,
  and the `arkiv_vedtak` message;
- `meeting_planned` (`services.committee.plan_meeting`, when it placed cases): one
  `motepakke_klar` per member taking part;
- `reviewer_assigned` (`services.minihta.assign_reviewer`): the reviewer;
- `version_accepted` (`services.upload`): `arkiv_mottatt` for each accepted `tilgang-del2`
  version;
- `notify_draft` (drafts, PORTAL.md): `utkast_til_godkjenning` / `utkast_returnert`.

A user without an e-mail address (or not active) gets no row. A mail row keeps the address, the
username and what the subject needs (the meeting's date and time); an archive row the folder name
and the version number. Never a field value of the case.

Delivering (`skjemamottak worker`, `web.worker`): `claim_next` takes one due row (committed at
once), the worker delivers it outside any transaction, then `delivered` or `failed` records the
outcome: a temporary failure (4xx, no connection) is tried again after 5 s, 10 s, 20 s … at most
15 min apart; a permanent one (5xx), or 24 h of failures, makes the row `feilet`. `retry` puts a
`feilet` row back (`skjemamottak outbox retry`, the admin page). The archive message of a row is
built from the stored data when it is delivered (`archive_message`), as `export` builds every
message of a case: same names, same bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import make_msgid
from typing import Any

from processor import arkiv
from processor.domain import DEL2, Principal, State
from processor.errors import DomainError, Forbidden, NotFound
from processor.render import hf_name
from storage.models import Case, User
from storage.models_committee import Meeting
from storage.models_outbox import STATUSES, OutboxRow
from storage.uow import AbstractUnitOfWork

__all__ = [
    "ARCHIVE",
    "BACKOFF_CAP",
    "DRAFT_EVENTS",
    "GIVE_UP_AFTER",
    "MAIL",
    "STALE_WORKER",
    "Claimed",
    "DeliveryError",
    "archive_message",
    "backoff",
    "case_decided",
    "case_returned",
    "claim_next",
    "delivered",
    "export",
    "failed",
    "handle_one",
    "ROW_KEYS",
    "list_rows",
    "row_dict",
    "meeting_planned",
    "notify_draft",
    "retry",
    "reviewer_assigned",
    "version_accepted",
    "worker_beat",
    "worker_stale",
]

log = logging.getLogger(__name__)

MAIL = "epost"
ARCHIVE = "arkiv"
DRAFT_EVENTS = ("utkast_til_godkjenning", "utkast_returnert")
FIRST_DELAY = 5  # seconds before the first retry; doubled after each failure
BACKOFF_CAP = timedelta(minutes=15)
GIVE_UP_AFTER = timedelta(hours=24)
STALE_WORKER = timedelta(minutes=5)
OPERATORS = frozenset({"admin"})


# ---- enqueueing ---------------------------------------------------------------------------------


def _row(uow: AbstractUnitOfWork, art: str, hendelse: str, mottaker: str, **kw: Any) -> OutboxRow:
    now = uow.now()
    row = OutboxRow(
        art=art,
        hendelse=hendelse,
        mottaker=mottaker,
        status="venter",
        forsok=0,
        neste_forsok=now,
        opprettet=now,
        **kw,
    )
    uow.outbox.add(row)
    return row


def _mail(
    uow: AbstractUnitOfWork,
    hendelse: str,
    users: Iterable[User | None],
    *,
    sak: str | None = None,
    mote: int | None = None,
    data: dict[str, Any] | None = None,
) -> list[OutboxRow]:
    """One mail row per distinct active user with an address; none for the others."""
    rows, seen = [], set()
    for user in users:
        if user is None or not user.active or not (user.epost or "").strip():
            continue
        if user.username in seen:
            continue
        seen.add(user.username)
        payload = {**(data or {}), "bruker": user.username}
        rows.append(_row(uow, MAIL, hendelse, user.epost.strip(), sak=sak, mote=mote, data=payload))
    return rows


def case_returned(uow: AbstractUnitOfWork, case: Case) -> list[OutboxRow]:
    """`returnert`: to the uploader of the case's latest version."""
    latest = case.latest
    uploader = uow.users.get(latest.uploaded_by) if latest is not None else None
    return _mail(uow, State.RETURNERT, [uploader], sak=case.id)


def case_decided(uow: AbstractUnitOfWork, case: Case) -> list[OutboxRow]:
    """`avgjort` to each active `hf` user of the case's HF; the `arkiv_vedtak` message of a
    `tilgang-del2` case."""
    hf_users = [u for u in uow.users.list(role="hf", active_only=True) if u.hf == case.hf]
    rows = _mail(uow, State.AVGJORT, hf_users, sak=case.id)
    if case.form_type == DEL2:
        rows.append(
            _row(uow, ARCHIVE, arkiv.VEDTAK, arkiv.decision_folder(case.id), sak=case.id, data={})
        )
    return rows


def meeting_planned(
    uow: AbstractUnitOfWork, meeting: Meeting, members: Iterable[str]
) -> list[OutboxRow]:
    """`motepakke_klar`: one mail per member taking part (usernames), for a planning run that
    placed cases in the meeting."""
    data = {"dato": meeting.meeting_date.isoformat(), "tid": f"{meeting.meeting_time:%H:%M}"}
    users = [uow.users.get(name) for name in members]
    return _mail(uow, "motepakke_klar", users, mote=meeting.id, data=data)


def reviewer_assigned(uow: AbstractUnitOfWork, case: Case, reviewer: str) -> list[OutboxRow]:
    """`fagfelle_tildelt`: to the reviewer."""
    return _mail(uow, "fagfelle_tildelt", [uow.users.get(reviewer)], sak=case.id)


def version_accepted(
    uow: AbstractUnitOfWork, case_id: str, form_type: str, number: int
) -> list[OutboxRow]:
    """`arkiv_mottatt` for version `number` of a `tilgang-del2` case (other kinds: nothing)."""
    if form_type != DEL2:
        return []
    folder = arkiv.mottatt_folder(case_id, number)
    return [_row(uow, ARCHIVE, arkiv.MOTTATT, folder, sak=case_id, data={"versjon": number})]


def notify_draft(
    uow: AbstractUnitOfWork, hendelse: str, draft_id: int | str, recipients: Iterable[str]
) -> list[OutboxRow]:
    """`utkast_til_godkjenning` (each active user of the draft's HF with the approving function)
    or `utkast_returnert` (the draft's author): one mail per username in `recipients` that has an
    address. The caller (the drafts service) chooses the recipients; the link is
    `PUBLIC_URL/utkast/ID`."""
    if hendelse not in DRAFT_EVENTS:
        raise ValueError(f"not a draft event: {hendelse!r}")
    users = [uow.users.get(name) for name in recipients]
    return _mail(uow, hendelse, users, data={"utkast": str(draft_id)})


# ---- delivering ---------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A delivery that did not happen. `message` is Norwegian and holds no secret (it is shown
    to operators); `permanent` (a 5xx answer, a message that cannot be built): no retry."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Claimed:
    """A claimed row, detached from the unit of work: what delivery needs."""

    id: int
    art: str
    hendelse: str
    sak: str | None
    mote: int | None
    mottaker: str
    data: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    forsok: int = 0


def backoff(failures: int) -> timedelta:
    """The wait after the `failures`-th failure in a row: 5 s, 10 s, 20 s … at most 15 min."""
    if failures < 1:
        return timedelta(0)
    seconds = FIRST_DELAY * 2 ** min(failures - 1, 20)
    return min(timedelta(seconds=seconds), BACKOFF_CAP)


def claim_next(
    uow: AbstractUnitOfWork,
    kinds: Iterable[str],
    worker: str,
    *,
    lease: timedelta,
    mail_domain: str | None = None,
) -> Claimed | None:
    """Take the oldest due row of `kinds` for `worker` (held for `lease`) and commit the claim;
    a mail row gets its Message-ID here the first time (kept for every later attempt)."""
    kinds = tuple(kinds)
    if not kinds:
        return None
    with uow:
        row = uow.outbox.claim(kinds, worker, uow.now(), lease)
        if row is None:
            return None
        if row.art == MAIL and not row.message_id:
            row.message_id = make_msgid(domain=mail_domain or "skjemamottak.invalid")
        claimed = Claimed(
            id=row.id,
            art=row.art,
            hendelse=row.hendelse,
            sak=row.sak,
            mote=row.mote,
            mottaker=row.mottaker,
            data=dict(row.data or {}),
            message_id=row.message_id,
            forsok=row.forsok,
        )
        uow.commit()
    return claimed


def delivered(uow: AbstractUnitOfWork, row_id: int) -> None:
    """The server accepted the mail (or the folder is written): `sendt`."""
    with uow:
        row = uow.outbox.get(row_id)
        if row is None:
            return
        row.status = "sendt"
        row.sendt = uow.now()
        row.claimed_by = row.claimed_until = None
        row.siste_feil = None
        uow.commit()


def failed(uow: AbstractUnitOfWork, row_id: int, error: DeliveryError) -> str:
    """Record a failed attempt; the row's new status (`venter` with the next attempt set, or
    `feilet` for a permanent failure or after 24 h of failures)."""
    with uow:
        row = uow.outbox.get(row_id)
        if row is None:
            return "feilet"
        now = uow.now()
        row.forsok += 1
        row.forste_feil = row.forste_feil or now
        row.siste_feil = error.message
        row.claimed_by = row.claimed_until = None
        if error.permanent or now - row.forste_feil >= GIVE_UP_AFTER:
            row.status = "feilet"
        else:
            row.neste_forsok = now + backoff(row.forsok)
        status = row.status
        uow.commit()
    return status


def _versions(case: Case) -> list[arkiv.AcceptedVersion]:
    return [arkiv.AcceptedVersion(v.number, v.received_at, v.data) for v in case.versions]


def _decision(uow: AbstractUnitOfWork, case: Case) -> arkiv.RecordedDecision | None:
    decision = uow.decisions.get(case.id)
    if decision is None:
        return None
    letter = uow.blobs.get(decision.pdf_sha256)
    return arkiv.RecordedDecision(decision.decided_on, decision.recorded_at, letter)


def archive_message(uow: AbstractUnitOfWork, claimed: Claimed) -> arkiv.ArchiveMessage:
    """The archive message of an `arkiv` row, built now from the stored case: the same bytes as
    `export` writes. DeliveryError (permanent) when the case, version or decision is gone."""
    with uow:
        case = uow.cases.get(claimed.sak or "")
        if case is None or case.form_type != DEL2:
            raise DeliveryError("Saken finnes ikke (lenger).", permanent=True)
        name = hf_name(case.hf)
        try:
            if claimed.hendelse == arkiv.MOTTATT:
                number = int(claimed.data.get("versjon") or 0)
                version = next((v for v in _versions(case) if v.number == number), None)
                if version is None:
                    raise DeliveryError(f"Versjon {number} finnes ikke.", permanent=True)
                return arkiv.version_message(case.id, name, version)
            if claimed.hendelse == arkiv.VEDTAK:
                decision = _decision(uow, case)
                if decision is None:
                    raise DeliveryError("Saken har ikke noe vedtak.", permanent=True)
                return arkiv.decision_message(case.id, name, decision)
        except ValueError:
            raise DeliveryError(
                "Arkivmeldingen kan ikke lages for denne saken.", permanent=True
            ) from None
    raise DeliveryError(f"Ukjent arkivhendelse «{claimed.hendelse}».", permanent=True)


def export(uow: AbstractUnitOfWork, case_id: str) -> list[arkiv.ArchiveMessage]:
    """Every archive message due for the case so far (`skjemamottak arkiv eksport`): NOT_FOUND
    for an unknown case; a case of another kind has none. The outbox is left alone."""
    with uow:
        case = uow.cases.get(case_id.strip())
        if case is None:
            raise NotFound(f"Fant ingen sak med id {case_id.strip()}.")
        if case.form_type != DEL2:
            return []
        return arkiv.due_messages(case.id, hf_name(case.hf), _versions(case), _decision(uow, case))


def handle_one(
    uow: AbstractUnitOfWork,
    worker: str,
    *,
    send_mail: Callable[[Claimed], None] | None,
    write_archive: Callable[[arkiv.ArchiveMessage], None] | None,
    lease: timedelta,
    mail_domain: str | None = None,
) -> Claimed | None:
    """Claim one due row of the kinds that have a connection (`send_mail`, `write_archive`;
    None: that kind waits), deliver it and record the outcome; the row handled, or None when
    nothing was due. A mail is `sendt` only after the server accepted it: a worker killed in
    between sends it again on the next claim, with the same Message-ID."""
    kinds = [k for k, on in ((MAIL, send_mail), (ARCHIVE, write_archive)) if on is not None]
    claimed = claim_next(uow, kinds, worker, lease=lease, mail_domain=mail_domain)
    if claimed is None:
        return None
    try:
        if claimed.art == MAIL:
            assert send_mail is not None
            send_mail(claimed)
        else:
            assert write_archive is not None
            write_archive(archive_message(uow, claimed))
    except DeliveryError as e:
        status = failed(uow, claimed.id, e)
        log.warning("Utboks %d (%s) ikke levert: %s [%s]", claimed.id, claimed.hendelse, e, status)
        return claimed
    delivered(uow, claimed.id)
    log.info("Utboks %d (%s) levert", claimed.id, claimed.hendelse)
    return claimed


def worker_beat(uow: AbstractUnitOfWork, worker: str) -> None:
    with uow:
        uow.outbox.beat(worker, uow.now())
        uow.commit()


def worker_stale(uow: AbstractUnitOfWork) -> bool:
    """No worker ran in the last 5 minutes (or none ever ran)."""
    with uow:
        last = uow.outbox.last_beat()
        return last is None or uow.now() - last > STALE_WORKER


# ---- operators ----------------------------------------------------------------------------------


ROW_KEYS = (
    "id",
    "art",
    "hendelse",
    "sak",
    "mote",
    "mottaker",
    "status",
    "forsok",
    "opprettet",
    "sendt",
)
MORE_KEYS = ("neste_forsok", "siste_feil")


def row_dict(row: OutboxRow) -> dict[str, Any]:
    """A row with the keys CONNECTIONS.md section 2 lists (`ROW_KEYS`, what `outbox list --json`
    prints) and, for the operator's page, `neste_forsok` and `siste_feil`; times in ISO 8601."""
    out: dict[str, Any] = {k: getattr(row, k) for k in (*ROW_KEYS, *MORE_KEYS)}
    out["hendelse"] = str(out["hendelse"])
    for key in ("opprettet", "sendt", "neste_forsok"):
        out[key] = out[key].isoformat() if out[key] is not None else None
    return out


def list_rows(
    uow: AbstractUnitOfWork, *, status: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """The rows (`row_dict`), newest first; `status` one of venter/sendt/feilet (INVALID_VALUE
    otherwise)."""
    if status is not None and status not in STATUSES:
        raise DomainError("INVALID_VALUE", "Status må være venter, sendt eller feilet.")
    with uow:
        return [row_dict(r) for r in uow.outbox.list(status=status, limit=limit)]


def retry(uow: AbstractUnitOfWork, ids: Sequence[int], actor: Principal | None = None) -> list[int]:
    """`feilet` → `venter` (due now, failures forgotten) for each id; the ids that changed.
    NOT_FOUND for an id that does not exist; a row that is not `feilet` is left as it is."""
    if actor is not None and not set(actor.roles) & OPERATORS:
        raise Forbidden()
    changed = []
    with uow:
        now = uow.now()
        for row_id in ids:
            row = uow.outbox.get(row_id)
            if row is None:
                raise NotFound(f"Fant ingen rad {row_id} i utboksen.")
            if row.status != "feilet":
                continue
            row.status = "venter"
            row.neste_forsok = now
            row.forste_feil = None
            row.claimed_by = row.claimed_until = None
            changed.append(row_id)
        uow.audit.append(
            actor=actor.username if actor is not None else "cli",
            action="outbox.retry",
            object="outbox",
            at=now,
            details={"ids": changed},
        )
        uow.commit()
    return changed
