"""Mini-HTA services (WORKFLOW.md section 6, API.md): attachments, peer reviewers, publication.

Plain functions in the style of `services.cases`: a unit of work, one transaction, the audit
event in it, a `DomainError` for every refusal. The rules for picking a reviewer are the pure
functions of `processor.routing`; the packet is `processor.packets.peer_review_packet`.

The tables of this module are reached through the repositories of the unit of work
(`uow.attachments`, `uow.reviews`, `uow.publications`; full-text search is the publication
repository's), so the services run the same on the SQL unit of work and on the in-memory one of
the service tests (`tests/fakes.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from processor import routing
from processor.domain import MINIHTA, FormType, Principal, State, case_key, hf_code
from processor.errors import DomainError, Forbidden, NotFound, StaleState
from processor.findings import Result
from processor.packets import peer_review_packet
from processor.render import render_case_pdf
from services import outbox, steps
from services.access import can_see
from storage.models import Case, User
from storage.models_minihta import (
    CONFLICT_LABELS,
    CONFLICT_LEVELS,
    CONFLICT_RANK,
    FAGOMRADE_CHARS,
    MinihtaAttachment,
    PeerAssignment,
    Publication,
)
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate

OKONOMI = FormType.MINIHTA_OKONOMI
FAGFELLE = FormType.MINIHTA_FAGFELLE
BESLUTNING = FormType.MINIHTA_BESLUTNING
ATTACH_STATES = {
    OKONOMI: (State.MOTTATT, State.RETURNERT, State.TIL_FAGFELLE),
    FAGFELLE: (State.TIL_FAGFELLE,),
    BESLUTNING: (State.FAGFELLEVURDERT,),
}
CASE_ID = re.compile(r"^MMV-[0-9]{4}-[0-9]{3}$")
UTFALL_LABELS = {
    "innfort": "Innført",
    "innfort_med_vilkar": "Innført med vilkår",
    "ikke_innfort": "Ikke innført",
    "utfaset": "Utfaset",
}
SEARCH_FIELDS = (
    ("generelt", "tittel"),
    ("sammendrag", None),
    ("metode", "beskrivelse"),
    ("metode", "fagomrade"),
    ("metode", "dagens_praksis"),
    ("metode", "pico_populasjon"),
    ("metode", "pico_intervensjon"),
    ("effekt", "klinisk_effekt"),
    ("konklusjon", "begrunnelse"),
)
MAX_QUERY_CHARS = 200


def _get(data: dict[str, Any], section: str, key: str | None) -> Any:
    value = data.get(section)
    if key is None:
        return value
    return (value or {}).get(key) if isinstance(value, dict) else None


def _mismatch(message: str) -> DomainError:
    return DomainError("CASE_MISMATCH", message)


# ---- attachments (skjema økonomi, 2 and 3) ----------------------------------------------------


def attachments(uow: AbstractUnitOfWork, case_id: str, form_type: str) -> list[MinihtaAttachment]:
    return uow.attachments.list(case_id, form_type)


def latest_attachment(
    uow: AbstractUnitOfWork, case_id: str, form_type: str
) -> MinihtaAttachment | None:
    found = attachments(uow, case_id, form_type)
    return found[-1] if found else None


def _target(form_type: str, data: dict[str, Any], case_id: str | None) -> str:
    named = _get(data, "sak", "id")
    named = (case_key(named) or None) if isinstance(named, str) else None
    given = (case_key(case_id) or None) if case_id else None
    if named and given and named != given:
        raise _mismatch(f"Skjemaet gjelder sak {named}, men ble sendt inn til sak {given}.")
    target = given or named
    if target is None:
        raise _mismatch(
            "Skriv inn Saks-ID-en til mini-metodevurderingen i skjemaet, og send det inn på nytt."
        )
    if not CASE_ID.match(target):
        raise _mismatch("Saks-ID-en er ikke en mini-metodevurdering (MMV-ÅÅÅÅ-NNN).")
    return target


def _active_assignment(
    uow: AbstractUnitOfWork, case_id: str, reviewer: str
) -> PeerAssignment | None:
    return next(
        (a for a in uow.reviews.for_case(case_id) if a.reviewer == reviewer and a.active), None
    )


def _reviewing(
    user: Principal, case_id: str, uow: AbstractUnitOfWork
) -> tuple[Case, PeerAssignment]:
    """The case and the reviewer's own active assignment on it (inside the caller's `with uow:`);
    NOT_FOUND for anyone else: a case they do not review does not exist for them."""
    case = uow.cases.get(case_key(case_id))
    assignment = (
        _active_assignment(uow, case.id, user.username)
        if case is not None and "fagfelle" in set(user.roles)
        else None
    )
    if case is None or assignment is None:
        raise NotFound()
    return case, assignment


def _check_attachment(
    user: Principal,
    form_type: str,
    data: dict[str, Any],
    case: Case | None,
    uow: AbstractUnitOfWork,
) -> PeerAssignment | None:
    """Raise CASE_MISMATCH unless the uploader may attach this form to the case."""
    roles = set(user.roles)
    if case is None or case.form_type != MINIHTA:
        raise _mismatch("Skjemaet viser til en sak som ikke finnes eller ikke er din.")
    if form_type == FAGFELLE:
        assignment = (
            _active_assignment(uow, case.id, user.username) if "fagfelle" in roles else None
        )
        if assignment is None:
            raise _mismatch("Saken er ikke tildelt deg som fagfelle.")
        reviewer_hf = _get(data, "fagfelle", "helseforetak")
        if reviewer_hf == case.hf or (user.hf is not None and user.hf == case.hf):
            raise _mismatch(
                "Fagfellen kan ikke være fra helseforetaket som har laget mini-metodevurderingen."
            )
        if not routing.may_download_packet(_conflict_of(assignment)):
            raise DomainError(
                "CONFLICT_NOT_CLEARED",
                "Habiliteten din må være erklært grønn (eller gul og godkjent) før du sender inn "
                "fagfellevurderingen.",
            )
    else:
        if "hf" not in roles or user.hf is None or case.hf != user.hf:
            raise _mismatch("Skjemaet viser til en sak som ikke finnes eller ikke er din.")
        assignment = None
    if case.state not in ATTACH_STATES[form_type]:
        raise _mismatch(
            f"Saken {case.id} har status «{case.state}» og kan ikke ta imot dette skjemaet nå."
        )
    return assignment


@dataclass(frozen=True)
class Attached:
    """Where `upload_attachment` put the form: the case, the form's number there, the case's
    state after it (`services.upload` turns this into its `UploadResult`)."""

    case_id: str
    version: int
    state: str


def upload_attachment(
    user: Principal,
    filename: str,
    file_sha256: str,
    result: Result,
    uow: AbstractUnitOfWork,
    *,
    case_id: str | None = None,
) -> Attached:
    """Attach an accepted økonomi, skjema 2 or skjema 3 to its mini-HTA case.

    Skjema 2 moves the case to `fagfellevurdert`, skjema 3 to `besluttet`. Raises CASE_MISMATCH
    (HTTP 422) when the form names a case that is not the uploader's, CONFLICT when it kept losing
    the race (`steps.retry_on_conflict`). Kept: the canonical JSON and `file_sha256`, the SHA-256
    of the uploaded file; never the file (FORMS.md 6, rule 3).
    """
    form_type = str(result.form_type)
    data = result.data or {}
    target = _target(form_type, data, case_id)
    return steps.retry_on_conflict(
        lambda: _store_attachment(user, filename, file_sha256, data, form_type, target, result, uow)
    )


def _store_attachment(
    user: Principal,
    filename: str,
    file_sha256: str,
    data: dict[str, Any],
    form_type: str,
    case_id: str,
    result: Result,
    uow: AbstractUnitOfWork,
) -> Attached:
    warnings = [f.to_dict() for f in result.warnings]
    with uow:
        case = uow.cases.get(case_id)
        assignment = _check_attachment(user, form_type, data, case, uow)
        assert case is not None
        now = uow.now()
        suffix = steps.stored_suffix(filename)
        number = len(attachments(uow, case.id, form_type)) + 1
        uow.attachments.add(
            MinihtaAttachment(
                case_id=case.id,
                form_type=form_type,
                number=number,
                data=data,
                file_sha256=file_sha256,
                file_suffix=suffix,
                uploaded_by=user.username,
                received_at=now,
                warnings=warnings,
            )
        )
        details = {
            "form_type": form_type,
            "version": number,
            "file_sha256": file_sha256,
            "file_suffix": suffix,
            "warnings": sorted({w["code"] for w in warnings}),
        }
        if form_type == OKONOMI:
            steps.record_change(uow, case, user.username, "case.attach", now, details)
        else:
            if assignment is not None:
                assignment.completed_at = now
            to = State.FAGFELLEVURDERT if form_type == FAGFELLE else State.BESLUTTET
            steps.move_case(user, case, to, None, uow, action="case.attach", extra=details)
        state = case.state
        uow.commit()
    return Attached(case_id=case_id, version=number, state=state)


# ---- peer reviewers ---------------------------------------------------------------------------


def _conflict_of(a: PeerAssignment) -> routing.Conflict | None:
    if a.conflict_level is None:
        return None
    return routing.Conflict(
        a.reviewer,
        a.case_id,
        a.conflict_level,
        approved=a.approved_by is not None,  # type: ignore[arg-type]
    )


def _conflicts(uow: AbstractUnitOfWork, case_id: str) -> list[routing.Conflict]:
    """The latest declaration per reviewer for this case."""
    latest: dict[str, routing.Conflict] = {}
    for row in uow.reviews.for_case(case_id):
        conflict = _conflict_of(row)
        if conflict is not None:
            latest[row.reviewer] = conflict
    return list(latest.values())


def open_reviews(uow: AbstractUnitOfWork) -> dict[str, int]:
    return uow.reviews.open_counts()


def _reviewer(user: User, counts: dict[str, int]) -> routing.Reviewer:
    return routing.Reviewer(
        username=user.username,
        name=user.display_name or user.username,
        hf=user.hf or "",
        fagomrader=tuple(user.fagomrader or ()),
        open_reviews=counts.get(user.username, 0),
    )


def _fagomrade(case: Case) -> str:
    value = _get(case.latest.data if case.latest else {}, "metode", "fagomrade")
    return value if isinstance(value, str) else ""


def _minihta_case(user: Principal, case_id: str, uow: AbstractUnitOfWork) -> Case:
    case = uow.cases.get(case_key(case_id))
    if case is None or not can_see(user, case):
        raise NotFound()
    steps.ensure_open(case)  # a decided case is read-only, whatever its type
    if case.form_type != MINIHTA:
        raise NotFound()
    return case


@dataclass(frozen=True)
class Assignment:
    case_id: str
    reviewer: str
    override: bool
    state: str


def assign_reviewer(
    user: Principal,
    case_id: str,
    reviewer: str | None,
    reason: str | None,
    uow: AbstractUnitOfWork,
) -> Assignment:
    """The coordinator assigns a peer reviewer; the case goes `mottatt` → `til_fagfelle`.

    Without `reviewer` the rules pick one (specialty, not the proposing HF nor its region, no red
    conflict, fewest open reviews). Naming someone else than the rules would pick is an override
    and needs `reason` (REASON_REQUIRED); a red conflict or the proposing HF is never allowed
    (OVERRIDE_NOT_ALLOWED). A case in `til_fagfelle` whose reviewer withdrew (red) gets a new one.
    """
    if "koordinator" not in set(user.roles):
        raise DomainError("FORBIDDEN", "Bare koordinatoren kan tildele fagfeller.")
    try:
        with uow:
            case = _minihta_case(user, case_id, uow)
            active = [a for a in uow.reviews.for_case(case.id) if a.active]
            if case.state == State.TIL_FAGFELLE and active:
                raise DomainError("ALREADY_ASSIGNED", "Saken har allerede en fagfelle.")
            if case.state not in (State.MOTTATT, State.TIL_FAGFELLE):
                raise StaleState(
                    "Fagfelle kan bare tildeles en mini-metodevurdering med status «Mottatt».",
                    current=case.state,
                )
            counts = open_reviews(uow)
            pool = [_reviewer(u, counts) for u in uow.users.list(role="fagfelle", active_only=True)]
            conflicts = _conflicts(uow, case.id)
            fagomrade = _fagomrade(case)
            pick = routing.pick_reviewer(case.hf, fagomrade, pool, conflicts)
            clean = steps.clean_reason(reason)
            if reviewer is None or not reviewer.strip():
                if pick.reviewer is None:
                    raise DomainError("NO_REVIEWER", pick.reason)
                chosen, override = pick.reviewer, False
            else:
                chosen_user = next((r for r in pool if r.username == reviewer.strip()), None)
                if chosen_user is None:
                    raise DomainError("INVALID_VALUE", "Fant ingen aktiv fagfelle med det navnet.")
                chosen = chosen_user
                try:
                    why = routing.check_override(chosen, case.hf, conflicts, fagomrade=fagomrade)
                except routing.OverrideNotAllowed as e:
                    raise DomainError("OVERRIDE_NOT_ALLOWED", " ".join(e.reasons)) from None
                if not why and (
                    pick.reviewer is None or chosen.open_reviews > pick.reviewer.open_reviews
                ):
                    why = [f"{chosen.name} har flere åpne fagfellevurderinger enn andre."]
                override = bool(why)
                if override and clean is None:
                    raise DomainError(
                        "REASON_REQUIRED",
                        "Tildelingen følger ikke reglene og må begrunnes: " + " ".join(why),
                    )
            now = uow.now()
            uow.reviews.add(
                PeerAssignment(
                    case_id=case.id,
                    reviewer=chosen.username,
                    assigned_by=user.username,
                    assigned_at=now,
                    override=override,
                    reason=clean if override else None,
                    active=True,
                )
            )
            outbox.reviewer_assigned(uow, case, chosen.username)
            extra = {"reviewer": chosen.username, "override": override}
            if case.state == State.MOTTATT:
                steps.move_case(
                    user, case, State.TIL_FAGFELLE, clean, uow, action="case.assign", extra=extra
                )
            else:
                steps.record_change(
                    uow,
                    case,
                    user.username,
                    "case.assign",
                    now,
                    {**extra, "reason_sha256": steps.reason_digest(clean)},
                )
            state = case.state
            uow.commit()
    except ConcurrentUpdate:
        raise StaleState() from None
    return Assignment(case.id, chosen.username, override, state)


def reviewer_choices(user: Principal, case_id: str, uow: AbstractUnitOfWork) -> dict[str, Any]:
    """For the coordinator's assignment page: every reviewer (fagfelle role) with whether they can
    be chosen and why not (`routing.reviewer_options`), inactive ones last and never choosable;
    `regelvalg`: whom the rules would pick, or why no one."""
    if "koordinator" not in set(user.roles):
        raise Forbidden()
    with uow:
        case = _minihta_case(user, case_id, uow)
        counts = open_reviews(uow)
        users = uow.users.list(role="fagfelle")
        pool = [_reviewer(u, counts) for u in users if u.active]
        conflicts = _conflicts(uow, case.id)
        fagomrade = _fagomrade(case)
        pick = routing.pick_reviewer(case.hf, fagomrade, pool, conflicts)
        rows = [
            {
                "brukernavn": o.reviewer.username,
                "navn": o.reviewer.name,
                "helseforetak": o.reviewer.hf,
                "fagomrader": list(o.reviewer.fagomrader),
                "apne_vurderinger": o.reviewer.open_reviews,
                "regelvalg": o.rules_pick,
                "kan_velges": o.selectable,
                "folger_reglene": o.follows_rules,
                "hindringer": list(o.blocked),
                "krever_begrunnelse": list(o.needs_reason),
            }
            for o in routing.reviewer_options(case.hf, fagomrade, pool, conflicts)
        ]
        rows += [
            {
                "brukernavn": u.username,
                "navn": u.display_name or u.username,
                "helseforetak": u.hf or "",
                "fagomrader": list(u.fagomrader or ()),
                "apne_vurderinger": counts.get(u.username, 0),
                "regelvalg": False,
                "kan_velges": False,
                "folger_reglene": False,
                "hindringer": [f"{u.display_name or u.username} er ikke aktiv."],
                "krever_begrunnelse": [],
            }
            for u in users
            if not u.active
        ]
        return {
            "sak": case.id,
            "fagomrade": fagomrade,
            "regelvalg": pick.reviewer.username if pick.reviewer else None,
            "regelvalg_grunn": pick.reason,
            "fagfeller": rows,
        }


@steps.retried
def set_name_consent(
    user: Principal, case_id: str, consent: bool, uow: AbstractUnitOfWork
) -> PeerAssignment:
    """The assigned reviewer says whether their name may be published with the review (until the
    case is published; default: not named)."""
    with uow:
        case = uow.cases.get(case_key(case_id))
        mine = (
            [a for a in uow.reviews.for_case(case.id) if a.reviewer == user.username]
            if case is not None and "fagfelle" in set(user.roles)
            else []
        )
        assignment = next((a for a in reversed(mine) if a.active), None)
        if case is None or assignment is None:
            raise NotFound()
        if case.state == State.PUBLISERT:
            raise DomainError("INVALID_TRANSITION", "Saken er allerede publisert.")
        assignment.name_consent = consent
        steps.record_change(
            uow, case, user.username, "case.name_consent", uow.now(), {"consent": consent}
        )
        uow.commit()
    return assignment


def _check_level(level: str) -> None:
    if level not in CONFLICT_LEVELS:
        raise DomainError("INVALID_VALUE", "Habilitet må være «gronn», «gul» eller «rod».")


def _set_level(assignment: PeerAssignment, level: str) -> None:
    """A declared or lowered level: it voids the coordinator's approval of the one before."""
    assignment.conflict_level = level
    assignment.approved_by = None
    assignment.approved_at = None


@steps.retried
def declare_conflict(
    user: Principal,
    case_id: str,
    level: str,
    description: str | None,
    uow: AbstractUnitOfWork,
) -> PeerAssignment:
    """The assigned reviewer declares conflicts of interest: `rod` ends the assignment, `gul`
    (described) waits for the coordinator's approval before the packet can be downloaded.

    A declaration can be raised (or repeated), never lowered by the reviewer: `gul` followed by
    `gronn` would skip the coordinator's approval (FORBIDDEN). Only the coordinator lowers one,
    with a reason (`lower_conflict`)."""
    _check_level(level)
    with uow:
        case, assignment = _reviewing(user, case_id, uow)
        if assignment.completed_at is not None:
            raise DomainError("INVALID_TRANSITION", "Fagfellevurderingen er allerede sendt inn.")
        clean = steps.clean_reason(description)
        if level == "gul" and clean is None:
            raise DomainError("REQUIRED", "Beskriv bindingene når habiliteten er gul.")
        previous = assignment.conflict_level
        if previous is not None and CONFLICT_RANK[level] < CONFLICT_RANK[previous]:
            raise DomainError(
                "FORBIDDEN",
                f"Du har erklært habiliteten som «{CONFLICT_LABELS[previous]}» og kan ikke senke "
                f"den til «{CONFLICT_LABELS[level]}» selv. Bare koordinatoren kan senke en "
                "erklært habilitet.",
            )
        now = uow.now()
        _set_level(assignment, level)
        assignment.conflict_description = clean
        assignment.declared_at = now
        if level == "rod":
            assignment.active = False
            assignment.ended_at = now
        steps.record_change(
            uow,
            case,
            user.username,
            "case.conflict",
            now,
            {"level": level, "description_sha256": steps.reason_digest(clean)},
        )
        uow.commit()
    return assignment


def _active_of(uow: AbstractUnitOfWork, case: Case) -> PeerAssignment | None:
    """The case's active reviewer assignment (at most one), for the coordinator."""
    return next((a for a in uow.reviews.for_case(case.id) if a.active), None)


@steps.retried
def approve_conflict(user: Principal, case_id: str, uow: AbstractUnitOfWork) -> PeerAssignment:
    """The coordinator approves the active reviewer's yellow declaration."""
    if "koordinator" not in set(user.roles):
        raise DomainError("FORBIDDEN", "Bare koordinatoren kan godkjenne habilitet.")
    with uow:
        case = _minihta_case(user, case_id, uow)
        assignment = _active_of(uow, case)
        if assignment is None or assignment.conflict_level != "gul":
            raise DomainError("NOTHING_TO_APPROVE", "Det finnes ingen gul habilitet å godkjenne.")
        if assignment.approved_by is not None:
            return assignment
        now = uow.now()
        assignment.approved_by = user.username
        assignment.approved_at = now
        steps.record_change(
            uow,
            case,
            user.username,
            "case.conflict_approve",
            now,
            {"reviewer": assignment.reviewer},
        )
        uow.commit()
    return assignment


@steps.retried
def lower_conflict(
    user: Principal, case_id: str, level: str, reason: str | None, uow: AbstractUnitOfWork
) -> PeerAssignment:
    """The coordinator lowers the active reviewer's declaration (e.g. `gul` → `gronn`), with a
    reason; the new level counts as the coordinator's own judgement. Raising is the reviewer's
    to do (`declare_conflict`): a level that is not lower is refused (INVALID_VALUE)."""
    if "koordinator" not in set(user.roles):
        raise DomainError("FORBIDDEN", "Bare koordinatoren kan senke en erklært habilitet.")
    _check_level(level)
    clean = steps.clean_reason(reason)
    if clean is None:
        raise DomainError("REASON_REQUIRED", "Begrunn hvorfor habiliteten senkes.")
    with uow:
        case = _minihta_case(user, case_id, uow)
        assignment = _active_of(uow, case)
        if assignment is None or assignment.conflict_level is None:
            raise DomainError(
                "INVALID_TRANSITION", "Fagfellen har ingen erklært habilitet å senke."
            )
        previous = assignment.conflict_level
        if CONFLICT_RANK[level] >= CONFLICT_RANK[previous]:
            raise DomainError(
                "INVALID_VALUE",
                f"Habiliteten er «{CONFLICT_LABELS[previous]}»; koordinatoren kan bare senke "
                "den til et lavere nivå.",
            )
        now = uow.now()
        # an active assignment is `gronn` or `gul` (`rod` ends it): lowering gives `gronn`
        _set_level(assignment, level)
        steps.record_change(
            uow,
            case,
            user.username,
            "case.conflict_lower",
            now,
            {
                "reviewer": assignment.reviewer,
                "from": previous,
                "to": level,
                "reason_sha256": steps.reason_digest(clean),
            },
        )
        uow.commit()
    return assignment


def peer_packet(user: Principal, case_id: str, uow: AbstractUnitOfWork, today: date) -> bytes:
    """The assigned reviewer's packet (green, or approved yellow); the download is audited."""
    with uow:
        case, assignment = _reviewing(user, case_id, uow)
        if case.latest is None:
            raise NotFound()
        if not routing.may_download_packet(_conflict_of(assignment)):
            raise DomainError(
                "FORBIDDEN",
                "Du kan laste ned pakken når habiliteten er erklært grønn, eller gul og godkjent "
                "av koordinatoren.",
            )
        okonomi = latest_attachment(uow, case.id, OKONOMI)
        packet = peer_review_packet(
            case.id, case.latest.data, okonomi.data if okonomi else None, today, uow.now()
        )
        uow.audit.append(
            actor=user.username,
            action="packet.peer_download",
            object=f"case:{case.id}",
            at=uow.now(),
            details={"size": len(packet)},
        )
        uow.commit()
    return packet


def reviewer_cases(user: Principal, uow: AbstractUnitOfWork) -> list[dict[str, Any]]:
    """The reviewer's assignments, newest first, as plain data (FORBIDDEN for anyone but a
    reviewer)."""
    if "fagfelle" not in set(user.roles):
        raise Forbidden()
    with uow:
        out = []
        for a in uow.reviews.of_reviewer(user.username):
            case = uow.cases.get(a.case_id)
            data = case.latest.data if case is not None and case.latest else {}
            out.append(
                {
                    "sak": a.case_id,
                    "tittel": _get(data, "generelt", "tittel") or "",
                    "status": case.state if case else None,
                    "aktiv": a.active,
                    "habilitet": a.conflict_level,
                    "godkjent": a.approved_by is not None,
                    "kan_laste_ned": a.active and routing.may_download_packet(_conflict_of(a)),
                    "levert": a.completed_at is not None,
                    "navn_publiseres": bool(a.name_consent),
                }
            )
    return out


def case_assignments(
    user: Principal, uow: AbstractUnitOfWork, case_id: str
) -> list[dict[str, Any]]:
    """A case's reviewer assignments, for the coordinator (FORBIDDEN for anyone else; NOT_FOUND
    for an id that is no mini-HTA)."""
    if "koordinator" not in set(user.roles):
        raise Forbidden()
    with uow:
        case = uow.cases.get(case_key(case_id))
        if case is None or case.form_type != MINIHTA:
            raise NotFound()
        found = case.id
    return assignments_of(uow, found)


def assignments_of(uow: AbstractUnitOfWork, case_id: str) -> list[dict[str, Any]]:
    """A case's reviewer assignments as plain data (for the coordinator)."""
    with uow:
        return [
            {
                "fagfelle": a.reviewer,
                "aktiv": a.active,
                "overstyrt": a.override,
                "begrunnelse": a.reason,
                "habilitet": a.conflict_level,
                "habilitet_beskrivelse": a.conflict_description,
                "godkjent_av": a.approved_by,
                "levert": a.completed_at is not None,
                "navn_publiseres": bool(a.name_consent),
                "tildelt": a.assigned_at.isoformat(),
            }
            for a in uow.reviews.for_case(case_id)
        ]


# ---- publication and the public database ------------------------------------------------------


def _search_text(data: dict[str, Any], decision: dict[str, Any]) -> str:
    parts = [_get(data, s, k) for s, k in SEARCH_FIELDS]
    parts.append(_get(decision, "beslutning", "begrunnelse"))
    return "\n".join(p for p in parts if isinstance(p, str) and p.strip())


ANONYMOUS_REVIEWER = "en uavhengig fagfelle"


def _reviewer_consented(uow: AbstractUnitOfWork, case_id: str) -> bool:
    """The reviewer whose skjema 2 was received agreed to be named (default: not)."""
    done = [a for a in uow.reviews.for_case(case_id) if a.completed_at is not None]
    return bool(done) and bool(done[-1].name_consent)


def _public_review(data: dict[str, Any], named: bool) -> tuple[dict[str, Any], str]:
    """Skjema 2 as the public sees it, and who it says reviewed: the name only with consent."""
    reviewer = dict(data.get("fagfelle") or {})
    name = reviewer.get("navn") if named else None
    if not isinstance(name, str) or not name.strip():
        reviewer["navn"] = ANONYMOUS_REVIEWER
        reviewer.pop("stilling", None)
        return {**data, "fagfelle": reviewer}, ANONYMOUS_REVIEWER
    return data, name


def _fill(pub: Publication, case: Case, uow: AbstractUnitOfWork) -> Publication:
    """Set the publication's fields from the case and its decision (skjema 3)."""
    data = case.latest.data if case.latest else {}
    decision = latest_attachment(uow, case.id, BESLUTNING)
    if decision is None:
        raise DomainError("INVALID_TRANSITION", "Saken har ingen beslutning (skjema 3).")
    pub.title = str(_get(data, "generelt", "tittel") or case.id)
    pub.hf = case.hf
    pub.year = case.created_at.year
    # the filter value fits its column (a form's text may be far longer): the first characters
    pub.fagomrade = str(_get(data, "metode", "fagomrade") or "")[:FAGOMRADE_CHARS]
    pub.konklusjon = str(_get(decision.data, "beslutning", "utfall") or "")
    pub.summary = str(_get(data, "sammendrag", None) or "")
    pub.search_text = _search_text(data, decision.data)
    pub.published_at = uow.now()
    return pub


def _record(uow: AbstractUnitOfWork, case: Case, pub: Publication) -> dict[str, Any]:
    """What the public sees of a mini-HTA: the publication's fields, who reviewed it (named only
    with consent) and its documents. The one builder of both the published record and the
    coordinator's preview, so they cannot differ."""
    docs: dict[str, dict[str, Any]] = {"minihta": case.latest.data if case.latest else {}}
    reviewer = None
    review = latest_attachment(uow, case.id, FAGFELLE)
    if review is not None:
        docs["fagfellevurdering"], reviewer = _public_review(
            review.data, _reviewer_consented(uow, case.id)
        )
    decision = latest_attachment(uow, case.id, BESLUTNING)
    if decision is not None:
        docs["beslutning"] = decision.data
    return {
        **_item(pub),
        "fagfelle": reviewer,
        "fagfellevurdert_av": f"Fagfellevurdert av {reviewer}" if reviewer else None,
        "dokumenter": {k: docs[k] for k in DOCUMENTS if k in docs},
    }


def publish(case: Case, uow: AbstractUnitOfWork) -> Publication:
    """Called by `cases.transition` inside its transaction when a mini-HTA is published:
    the case, its peer review and decision go into the public database and its search index."""
    pub = _fill(uow.publications.get(case.id) or Publication(case_id=case.id), case, uow)
    uow.publications.save(pub)
    return pub


def _item(pub: Publication) -> dict[str, Any]:
    return {
        "sak": pub.case_id,
        "tittel": pub.title,
        "helseforetak": pub.hf,
        "ar": pub.year,
        "fagomrade": pub.fagomrade,
        "konklusjon": pub.konklusjon,
        "konklusjon_tekst": UTFALL_LABELS.get(pub.konklusjon, pub.konklusjon),
        "sammendrag": pub.summary,
        "publisert": pub.published_at.isoformat(),
    }


def publication_preview(user: Principal, case_id: str, uow: AbstractUnitOfWork) -> dict[str, Any]:
    """For the coordinator: the public record of a case about to be published (`besluttet`),
    built as `published_case` builds it, dated now."""
    if "koordinator" not in set(user.roles):
        raise Forbidden()
    with uow:
        case = _minihta_case(user, case_id, uow)
        if case.state != State.BESLUTTET:
            raise StaleState(
                "Bare en mini-metodevurdering med status «Besluttet» kan forhåndsvises for "
                "publisering.",
                current=case.state,
            )
        return _record(uow, case, _fill(Publication(case_id=case.id), case, uow))


def search_published(
    uow: AbstractUnitOfWork,
    *,
    q: str | None = None,
    hf: str | None = None,
    year: int | None = None,
    fagomrade: str | None = None,
    konklusjon: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Published mini-HTAs matching every given filter, newest first (no login needed)."""
    q = (q or "").strip()[:MAX_QUERY_CHARS]
    with uow:
        found = uow.publications.search(
            q=q,
            hf=hf_code(hf) or None,
            year=year,
            fagomrade=fagomrade.strip() if fagomrade else None,
            konklusjon=konklusjon.strip() if konklusjon else None,
            limit=limit,
        )
        return [_item(p) for p in found]


def facets(uow: AbstractUnitOfWork) -> dict[str, list[Any]]:
    """The values the filters of the public search offer."""
    with uow:
        values = uow.publications.facets()
    return {
        "helseforetak": values["hf"],
        "ar": values["year"],
        "fagomrade": values["fagomrade"],
        "konklusjon": values["konklusjon"],
    }


DOCUMENTS = {
    "minihta": (MINIHTA.label, MINIHTA),
    "fagfellevurdering": (FAGFELLE.label, FAGFELLE),
    "beslutning": (BESLUTNING.label, BESLUTNING),
}


def published_case(uow: AbstractUnitOfWork, case_id: str) -> dict[str, Any]:
    """A published mini-HTA with its documents' data; NOT_FOUND unless it is published."""
    with uow:
        case_id = case_key(case_id)
        pub = uow.publications.get(case_id)
        case = uow.cases.get(case_id)
        if pub is None or case is None or case.state != State.PUBLISERT or case.latest is None:
            raise NotFound("Fant ikke den publiserte mini-metodevurderingen.")
        return _record(uow, case, pub)


def published_pdf(uow: AbstractUnitOfWork, case_id: str, document: str) -> bytes:
    """One document of a published mini-HTA rendered as PDF."""
    if document not in DOCUMENTS:
        raise NotFound()
    found = published_case(uow, case_id)
    data = found["dokumenter"].get(document)
    if data is None:
        raise NotFound()
    label, form_type = DOCUMENTS[document]
    return render_case_pdf(
        form_type,
        data,
        title=f"{label} – {found['tittel']}",
        footer=f"Publisert mini-metodevurdering {found['sak']} – Nye metoder",
        case_id=found["sak"],
        created=datetime.fromisoformat(found["publisert"]),  # the document's date: published
    )
