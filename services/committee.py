"""Committee services (issue 5): members, meetings, planning, packets and decisions.

Plain functions in the style of `services.cases`: a principal, a unit of work, one transaction,
pure rules from `processor.routing` / `processor.packets` / `processor.decisions`, an audit event
in the same transaction, and a `DomainError` with a Norwegian message on refusal.

The committee tables are reached through the repositories of the unit of work (`uow.members`,
`uow.meetings`, `uow.decisions`): the services run the same on the SQL unit of work (SQLite or
PostgreSQL) and on the in-memory one of the service tests (`tests/fakes.py`).

Interpretations:
- `POST /moter/{id}/planlegg` plans that meeting only: the cases in `klar` (urgent first, oldest
  first) go into it while it has room and its papers deadline has not passed, and a case that
  would lack quorum there is not placed, with the planner's reason.
- Members taking part in a meeting: every user with the role `komite` who is active on the
  meeting date, except those the coordinator removed from it.
- The decision's `deltakere` are usernames of committee members; a member who is recused from
  the case cannot take part in its decision.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from processor import routing, timefmt
from processor.decisions import (
    CRITERIA,
    OUTCOMES,
    criterion_label,
    decision_letter_docx,
    decision_letter_pdf,
    decision_problems,
)
from processor.decisions import Decision as LetterDecision
from processor.domain import DEL2, Actor, Principal, State, case_key, recusal_ground
from processor.errors import (
    IDENTITY_IN_TEXT,
    CaseDecided,
    DomainError,
    Forbidden,
    NotFound,
    StaleState,
)
from processor.identity import contains_identity
from processor.packets import MeetingInfo, PacketCase
from processor.packets import meeting_packet as build_packet
from processor.render import hf_name
from processor.timefmt import OSLO
from processor.workdays import papers_deadline
from services import outbox
from services.access import can_see
from services.steps import CONTENT_TYPES, clean_reason, move_case, visible_case
from storage.models import Case, PriceCheck, User
from storage.models_committee import (
    DEFAULT_CASE_LIMIT,
    CommitteeMember,
    Decision,
    Meeting,
    MeetingAbsence,
)
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate

MANAGERS = frozenset({"koordinator", "admin"})
MAX_CASE_LIMIT = 50
MAX_TEXT = 5000
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
PDF = CONTENT_TYPES[".pdf"]
DOCX = CONTENT_TYPES[".docx"]


def _require(user: Principal, roles: frozenset[str] | set[str]) -> None:
    if not set(user.roles) & set(roles):
        raise Forbidden()


# ---- members ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberInfo:
    """A committee member as pages and the API show them."""

    username: str
    name: str
    hf: str
    beslutningstaker: bool
    fagdirektor: bool
    vara_for: str | None
    active_from: date | None
    active_to: date | None
    active: bool

    def to_rule(self) -> routing.Member:
        return routing.Member(
            username=self.username,
            name=self.name,
            hf=self.hf,
            beslutningstaker=self.beslutningstaker,
            fagdirektor=self.fagdirektor,
            vara_for=self.vara_for,
            active_from=self.active_from,
            active_to=self.active_to,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "brukernavn": self.username,
            "navn": self.name,
            "helseforetak": self.hf,
            "beslutningstaker": self.beslutningstaker,
            "fagdirektor": self.fagdirektor,
            "vara_for": self.vara_for,
            "aktiv_fra": self.active_from.isoformat() if self.active_from else None,
            "aktiv_til": self.active_to.isoformat() if self.active_to else None,
            "aktiv": self.active,
        }

    @property
    def role_nb(self) -> str:
        parts = ["Beslutningstaker" if self.beslutningstaker else "Medlem"]
        if self.fagdirektor:
            parts.append("fagdirektør")
        if self.vara_for:
            parts.append(f"vara for {self.vara_for}")
        return ", ".join(parts)


def _members(uow: AbstractUnitOfWork, on: date | None = None) -> list[MemberInfo]:
    users = uow.users.list(role="komite")
    by_id = {u.id: u for u in users}
    rows = {r.user_id: r for r in uow.members.list()}
    out = []
    for u in users:
        row = rows.get(u.id)
        vara = _username(uow, by_id, row.vara_for_id) if row is not None else None
        info = MemberInfo(
            username=u.username,
            name=u.display_name or u.username,
            hf=u.hf or "",
            beslutningstaker=u.beslutningstaker,
            fagdirektor=bool(row and row.fagdirektor),
            vara_for=vara,
            active_from=row.active_from if row else None,
            active_to=row.active_to if row else None,
            active=u.active,
        )
        if on is not None and not (u.active and routing.is_active(info.to_rule(), on)):
            info = MemberInfo(**{**info.__dict__, "active": False})
        out.append(info)
    return out


def _username(uow: AbstractUnitOfWork, by_id: dict[int, User], user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = by_id.get(user_id) or uow.users.get_by_id(user_id)
    return user.username if user is not None else None


def list_members(user: Principal, uow: AbstractUnitOfWork, today: date) -> list[MemberInfo]:
    """Every committee member (users with the role `komite`), `active` as of `today`."""
    _require(user, MANAGERS)
    with uow:
        return _members(uow, today)


_UNSET: Any = object()


def set_member(
    user: Principal,
    uow: AbstractUnitOfWork,
    username: str,
    *,
    beslutningstaker: bool | None = None,
    fagdirektor: bool | None = None,
    vara_for: str | None = _UNSET,
    active_from: date | None = _UNSET,
    active_to: date | None = _UNSET,
) -> MemberInfo:
    """Change a member's committee attributes; arguments left out keep their value.

    `vara_for=None` (or "") clears the deputy seat; dates likewise.
    """
    _require(user, MANAGERS)
    with uow:
        member = uow.users.get(username.strip())
        if member is None or "komite" not in member.roles:
            raise DomainError("USER_NOT_FOUND", "Fant ikke komitémedlemmet.")
        row = uow.members.get(member.id)
        if row is None:
            row = CommitteeMember(user_id=member.id, fagdirektor=False, updated_at=uow.now())
            uow.members.add(row)
        new_from = row.active_from if active_from is _UNSET else active_from
        new_to = row.active_to if active_to is _UNSET else active_to
        if new_from is not None and new_to is not None and new_to < new_from:
            raise DomainError("INVALID_VALUE", "«Aktiv til» kan ikke være før «aktiv fra».")
        if vara_for is not _UNSET:
            name = (vara_for or "").strip()
            if not name:
                row.vara_for_id = None
            else:
                principal = uow.users.get(name)
                if principal is None or "komite" not in principal.roles:
                    raise DomainError("INVALID_VALUE", f"{name} er ikke et komitémedlem.")
                if principal.id == member.id:
                    raise DomainError("INVALID_VALUE", "Et medlem kan ikke være vara for seg selv.")
                row.vara_for_id = principal.id
        if fagdirektor is not None:
            row.fagdirektor = fagdirektor
        if beslutningstaker is not None:
            member.beslutningstaker = beslutningstaker
        row.active_from, row.active_to = new_from, new_to
        row.updated_at = uow.now()
        uow.audit.append(
            actor=user.username,
            action="committee.member",
            object=f"user:{member.username}",
            at=uow.now(),
            details={
                "beslutningstaker": member.beslutningstaker,
                "fagdirektor": row.fagdirektor,
                "vara_for": _username(uow, {}, row.vara_for_id),
                "active_from": new_from.isoformat() if new_from else None,
                "active_to": new_to.isoformat() if new_to else None,
            },
        )
        uow.commit()
        info = next(m for m in _members(uow) if m.username == member.username)
    return info


# ---- meetings -----------------------------------------------------------------------------------


def parse_time(text: str) -> time:
    match = _TIME.match((text or "").strip().replace(".", ":"))
    if not match:
        raise DomainError(
            "INVALID_VALUE", "Klokkeslettet må skrives som TT:MM, for eksempel 09:00."
        )
    return time(int(match.group(1)), int(match.group(2)))


def parse_date(text: str, what: str = "Datoen") -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise DomainError("INVALID_VALUE", f"{what} må skrives som ÅÅÅÅ-MM-DD.") from None


def _case_limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CASE_LIMIT:
        raise DomainError(
            "INVALID_VALUE", f"Antall saker per møte må være et heltall fra 1 til {MAX_CASE_LIMIT}."
        )
    return value


def create_meeting(
    user: Principal,
    uow: AbstractUnitOfWork,
    on: date,
    at: time,
    today: date,
    *,
    case_limit: int = DEFAULT_CASE_LIMIT,
) -> int:
    """A new meeting (koordinator); every active member sits in it. Returns its id."""
    _require(user, {"koordinator"})
    _case_limit(case_limit)
    if on < today:
        raise DomainError("INVALID_VALUE", "Møtedatoen kan ikke være passert.")
    with uow:
        if uow.meetings.at(on, at) is not None:
            raise DomainError(
                "MEETING_EXISTS",
                f"Det finnes allerede et møte {timefmt.date_text(on)} kl. {at:%H:%M}.",
            )
        meeting = Meeting(
            meeting_date=on,
            meeting_time=at,
            case_limit=case_limit,
            created_by=user.username,
            created_at=uow.now(),
        )
        uow.meetings.add(meeting)
        uow.audit.append(
            actor=user.username,
            action="meeting.create",
            object=f"meeting:{meeting.id}",
            at=uow.now(),
            details={"date": on.isoformat(), "time": f"{at:%H:%M}", "case_limit": case_limit},
        )
        uow.commit()
        return meeting.id


def update_meeting(
    user: Principal,
    uow: AbstractUnitOfWork,
    meeting_id: int,
    *,
    case_limit: int | None = None,
    absent: dict[str, bool] | None = None,
) -> None:
    """Change a meeting's case limit, and remove members from it (True) or put them back."""
    _require(user, {"koordinator"})
    if case_limit is not None:
        _case_limit(case_limit)
    with uow:
        meeting = _meeting(uow, meeting_id)
        if case_limit is not None:
            if case_limit < len(meeting.cases):
                raise DomainError(
                    "INVALID_VALUE",
                    f"Møtet har allerede {len(meeting.cases)} saker; grensen kan ikke være lavere.",
                )
            meeting.case_limit = case_limit
        known = {m.username for m in _members(uow)}
        for username, remove in (absent or {}).items():
            if username not in known:
                raise DomainError("INVALID_VALUE", f"{username} er ikke et komitémedlem.")
            row = next((a for a in meeting.absences if a.username == username), None)
            if remove and row is None:
                meeting.absences.append(MeetingAbsence(username=username))
            elif not remove and row is not None:
                meeting.absences.remove(row)
        uow.audit.append(
            actor=user.username,
            action="meeting.update",
            object=f"meeting:{meeting.id}",
            at=uow.now(),
            details={"case_limit": meeting.case_limit, "absent": sorted(meeting.absent_usernames)},
        )
        uow.commit()


def _meeting(uow: AbstractUnitOfWork, meeting_id: int) -> Meeting:
    meeting = uow.meetings.get(meeting_id) if isinstance(meeting_id, int) else None
    if meeting is None:
        raise NotFound("Fant ikke møtet.")
    return meeting


def _taking_part(meeting: Meeting, members: list[MemberInfo]) -> list[MemberInfo]:
    absent = meeting.absent_usernames
    return [
        m
        for m in members
        if m.active
        and m.username not in absent
        and routing.is_active(m.to_rule(), meeting.meeting_date)
    ]


def _rule_meeting(meeting: Meeting, members: list[MemberInfo]) -> routing.Meeting:
    return routing.Meeting(
        id=str(meeting.id),
        date=meeting.meeting_date,
        time=meeting.meeting_time,
        case_limit=meeting.case_limit,
        members=tuple(m.username for m in _taking_part(meeting, members)),
        placed=tuple(mc.case_id for mc in meeting.cases),
    )


def case_ref(case: Case) -> routing.CaseRef:
    data = case.latest.data if case.latest else {}
    catchment = (data.get("pasient") or {}).get("opptaksomrade")
    return routing.CaseRef(
        id=case.id,
        hf=case.hf,
        opptaksomrade=catchment if isinstance(catchment, str) else None,
        received=case.created_at.astimezone(OSLO).date(),
        urgent=case.urgent,
        urgent_reason=case.urgent_reason,
    )


def _quorum_dict(q: routing.QuorumResult) -> dict[str, Any]:
    return {
        "beslutningsdyktig": q.ok,
        "beslutningstakere": q.count,
        "minimum": q.minimum,
        "inhabile": [m.username for m in q.recused],
        "vara": [
            {"brukernavn": d.username, "navn": d.name, "vara_for": d.vara_for}
            for d in q.deputies_who_would_restore
        ],
    }


def _case_row(case: Case) -> dict[str, Any]:
    data = case.latest.data if case.latest else {}
    return {
        "sak": case.id,
        "helseforetak": case.hf,
        "legemiddel": str((data.get("behandling") or {}).get("legemiddel") or ""),
        "status": case.state,
        "hast": case.urgent,
        "mottatt": case.created_at.astimezone(OSLO).date().isoformat(),
    }


def _meeting_dict(
    meeting: Meeting, members: list[MemberInfo], today: date, *, full: bool
) -> dict[str, Any]:
    deadline = papers_deadline(meeting.meeting_date)
    taking = _taking_part(meeting, members)
    out: dict[str, Any] = {
        "id": meeting.id,
        "dato": meeting.meeting_date.isoformat(),
        "tid": f"{meeting.meeting_time:%H:%M}",
        "saksgrense": meeting.case_limit,
        "antall_saker": len(meeting.cases),
        "sakspapirfrist": deadline.isoformat(),
        "frist_passert": deadline < today,
        "deltakere": [m.to_dict() | {"rolle": m.role_nb} for m in taking],
    }
    if full:
        out["fjernet"] = sorted(meeting.absent_usernames)
        out["saker"] = [mc.case_id for mc in meeting.cases]
    return out


def list_meetings(user: Principal, uow: AbstractUnitOfWork, today: date) -> list[dict[str, Any]]:
    """`GET /moter`: every meeting for the coordinator; a member's own meetings (the cases they
    see in each, recused ones left out)."""
    roles = set(user.roles)
    if not roles & {"koordinator", "komite"}:
        raise Forbidden()
    with uow:
        members = _members(uow)
        meetings = uow.meetings.list()
        if "koordinator" in roles:
            return [_meeting_dict(m, members, today, full=True) for m in meetings]
        me = next((m for m in members if m.username == user.username), None)
        out = []
        for meeting in meetings:
            if me is None or me not in _taking_part(meeting, members):
                continue
            row = _meeting_dict(meeting, members, today, full=False)
            row["saker"] = _member_case_ids(uow, me, meeting, members)
            out.append(row)
        return out


def _member_case_ids(
    uow: AbstractUnitOfWork, me: MemberInfo, meeting: Meeting, members: list[MemberInfo]
) -> list[str]:
    refs = [case_ref(mc_case) for mc_case in _placed_cases(uow, meeting)]
    return routing.member_cases(me.to_rule(), _rule_meeting(meeting, members), refs)


def _placed_cases(uow: AbstractUnitOfWork, meeting: Meeting) -> list[Case]:
    return [c for mc in meeting.cases if (c := uow.cases.get(mc.case_id)) is not None]


def meeting_detail(
    user: Principal, uow: AbstractUnitOfWork, meeting_id: int, today: date
) -> dict[str, Any]:
    """The planner's view of one meeting (koordinator): members, placed cases and the cases in
    `klar` with, per case, the eligible decision-makers and the deputies who would restore
    the quorum."""
    _require(user, {"koordinator"})
    with uow:
        meeting = _meeting(uow, meeting_id)
        members = _members(uow)
        out = _meeting_dict(meeting, members, today, full=True)
        rules = [m.to_rule() for m in members if m.active]
        taking = tuple(m.username for m in _taking_part(meeting, members))
        placed = _placed_cases(uow, meeting)
        out["alle_medlemmer"] = [
            m.to_dict()
            | {
                "deltar": m.username in taking,
                "rolle": m.role_nb,
                "inhabil": _recusals(m, placed),
            }
            for m in members
        ]
        names = {m.username: m.name for m in members}

        def row(case: Case) -> dict[str, Any]:
            q = routing.quorum(case_ref(case), rules, meeting.meeting_date, taking_part=taking)
            return _case_row(case) | _quorum_dict(q)

        out["plasserte"] = [row(c) for c in placed]
        ready = sorted(
            uow.cases.list(state=State.KLAR, form_type=DEL2),
            key=lambda c: (not c.urgent, c.created_at, c.id),
        )
        out["klare"] = [row(c) for c in ready]
        for r in out["plasserte"] + out["klare"]:
            for v in r["vara"]:
                v["vara_for_navn"] = names.get(v["vara_for"], v["vara_for"])
    return out


def _recusals(member: MemberInfo, cases: list[Case]) -> list[dict[str, str]]:
    """The cases the member is recused from (`domain.recused`), each with its ground."""
    out = []
    for case in cases:
        ref = case_ref(case)
        ground = recusal_ground(member.hf, ref.hf, ref.opptaksomrade)
        if ground is not None:
            out.append({"sak": case.id, "grunn": ground})
    return out


def decision_members(
    user: Principal, uow: AbstractUnitOfWork, case_id: str, today: date
) -> list[dict[str, Any]]:
    """The decision-makers the decision form offers, each with `inhabil`: the ground on which
    the member is recused from this case (`domain.recused`), or None."""
    _require(user, {"koordinator"})
    with uow:
        case = visible_case(user, case_id, uow)
        ref = case_ref(case)
        return [
            m.to_dict() | {"inhabil": recusal_ground(m.hf, ref.hf, ref.opptaksomrade)}
            for m in _members(uow, today)
            if m.beslutningstaker
        ]


@dataclass
class PlanOutcome:
    placed: list[str] = field(default_factory=list)
    not_placed: list[tuple[str, str]] = field(default_factory=list)
    quorum: dict[str, dict[str, Any]] = field(default_factory=dict)


def plan_meeting(
    user: Principal, uow: AbstractUnitOfWork, meeting_id: int, today: date
) -> PlanOutcome:
    """Place the cases in `klar` in this meeting by the planning rules (processor.routing.plan);
    placed cases become `satt_opp` (a transition and an audit event each)."""
    _require(user, {"koordinator"})
    try:
        with uow:
            meeting = _meeting(uow, meeting_id)
            members = _members(uow)
            ready = [c for c in uow.cases.list(state=State.KLAR, form_type=DEL2)]
            by_id = {c.id: c for c in ready}
            result = routing.plan(
                [_rule_meeting(meeting, members)],
                [case_ref(c) for c in ready],
                [m.to_rule() for m in members if m.active],
                today,
            )
            outcome = PlanOutcome()
            deadline = papers_deadline(meeting.meeting_date)
            for case_id, reason in result.not_placed:
                if deadline < today and reason == routing.NO_ROOM:
                    reason = (
                        f"Fristen for sakspapirer til møtet {timefmt.date_text(meeting.meeting_date)} "
                        f"var {timefmt.date_text(deadline)}."
                    )
                elif reason == routing.NO_ROOM:
                    reason = f"Møtet {timefmt.date_text(meeting.meeting_date)} er fullt."
                outcome.not_placed.append((case_id, reason))
            for case_id, q in result.quorum.items():
                outcome.quorum[case_id] = _quorum_dict(q)
            position = len(meeting.cases)
            for case_id in result.placed.get(str(meeting.id), []):
                case = by_id[case_id]
                position += 1
                uow.meetings.place(
                    meeting, case_id, position=position, by=user.username, at=uow.now()
                )
                move_case(
                    user,
                    case,
                    State.SATT_OPP,
                    f"Satt opp til møtet {timefmt.date_text(meeting.meeting_date)}.",
                    uow,
                    action="case.plan",
                    extra={"meeting": meeting.id},
                )
                outcome.placed.append(case_id)
            if outcome.placed:
                taking_part = [m.username for m in _taking_part(meeting, members)]
                outbox.meeting_planned(uow, meeting, taking_part)
            uow.commit()
    except ConcurrentUpdate:
        raise StaleState() from None
    return outcome


# ---- packets ------------------------------------------------------------------------------------


def _notes(case: Case) -> list[str]:
    notes = []
    if case.urgent and case.urgent_reason:
        notes.append(f"Hastesak: {case.urgent_reason}")
    for t in case.transitions:
        if t.to_state == State.RETURNERT and t.reason:
            notes.append(f"Returnert {timefmt.date_text(t.at.astimezone(OSLO).date())}: {t.reason}")
    return notes


def _price_check(checks: list[PriceCheck]) -> dict[str, Any] | None:
    if not checks:
        return None
    p = checks[-1]
    return {
        "confirmed_per_month": p.confirmed_per_month,
        "stated_per_month": p.stated_per_month,
        "corrected": p.corrected,
        "note": p.note,
        "at": p.at.astimezone(OSLO).date(),
    }


def meeting_packet(
    user: Principal, uow: AbstractUnitOfWork, meeting_id: int, today: date
) -> tuple[bytes, str]:
    """The caller's own meeting packet (ZIP bytes, file name). Only a committee member taking
    part in the meeting gets one; cases they are recused from are absent. Audited."""
    _require(user, {"komite"})
    with uow:
        meeting = _meeting(uow, meeting_id)
        members = _members(uow)
        me = next((m for m in members if m.username == user.username), None)
        taking = _taking_part(meeting, members)
        if me is None or me not in taking:
            raise Forbidden("Du deltar ikke i dette møtet.")
        ids = _member_case_ids(uow, me, meeting, members)
        cases = [uow.cases.get(i) for i in ids]
        packet_cases = [
            PacketCase(
                id=c.id,
                form_id=c.form_type,
                data=c.latest.data if c.latest else {},
                price_check=_price_check(list(c.price_checks)),
                notes=_notes(c),
                urgent=c.urgent,
            )
            for c in cases
            if c is not None
        ]
        info = MeetingInfo(
            id=str(meeting.id),
            date=meeting.meeting_date,
            time=meeting.meeting_time,
            members=[(m.name, m.hf, m.role_nb) for m in taking],
        )
        data = build_packet(info, me.name, me.username, packet_cases, today, uow.now())
        uow.audit.append(
            actor=user.username,
            action="meeting.packet",
            object=f"meeting:{meeting.id}",
            at=uow.now(),
            details={
                "cases": [c.id for c in packet_cases],
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        )
        uow.commit()
        name = f"motepakke-{meeting.meeting_date.isoformat()}-{me.username}.zip"
    return data, name  # the web layer makes a header-safe file name of it


# ---- decisions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionInput:
    utfall: str
    kriterier: dict[str, tuple[bool, str]]
    begrunnelse: str
    deltakere: list[str]
    foreslar_gruppevurdering: bool
    gruppevurdering_tekst: str

    def texts(self) -> list[str]:
        return [text for _, text in self.named_texts()]

    def named_texts(self) -> list[tuple[str, str]]:
        """The typed texts, each with the name of its form field."""
        return [
            ("begrunnelse", self.begrunnelse),
            ("gruppevurdering_tekst", self.gruppevurdering_tekst),
            *((f"{key}_begrunnelse", reason) for key, (_, reason) in self.kriterier.items()),
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "utfall": self.utfall,
            "kriterier": {
                k: {"oppfylt": met, "begrunnelse": reason}
                for k, (met, reason) in self.kriterier.items()
            },
            "begrunnelse": self.begrunnelse,
            "deltakere": self.deltakere,
            "foreslar_gruppevurdering": self.foreslar_gruppevurdering,
            "gruppevurdering_tekst": self.gruppevurdering_tekst,
        }


def _letter(case: Case, body: dict[str, Any], names: list[str], decided: date) -> LetterDecision:
    latest = case.latest
    treatment = (latest.data.get("behandling") or {}) if latest else {}
    return LetterDecision(
        reference=case.id,
        utfall=body["utfall"],
        kriterier={
            k: (v.get("oppfylt"), v.get("begrunnelse") or "")
            for k, v in (body.get("kriterier") or {}).items()
        },
        begrunnelse=body["begrunnelse"],
        deltakere=names,
        foreslar_gruppevurdering=body["foreslar_gruppevurdering"],
        gruppevurdering_tekst=body["gruppevurdering_tekst"],
        decided=decided,
        hf_name=hf_name(case.hf),
        legemiddel=str(treatment.get("legemiddel") or ""),
        nye_metoder_id=str(treatment.get("nye_metoder_id") or ""),
    )


def record_decision(
    user: Principal,
    uow: AbstractUnitOfWork,
    case_id: str,
    decision: DecisionInput,
    today: date,
) -> Case:
    """The coordinator records the committee's decision: the case must be `satt_opp`; it becomes
    `avgjort` (read-only), and the letters (PDF and DOCX) are stored as blobs."""
    _require(user, {"koordinator"})
    for name, text in decision.named_texts():
        if text and contains_identity(text):
            raise DomainError("IDENTITY_FOUND", IDENTITY_IN_TEXT, field=name)
    try:
        with uow:
            case = visible_case(user, case_id, uow)
            if case.form_type != DEL2:
                raise DomainError("INVALID_TRANSITION", "Denne sakstypen får ikke vedtak her.")
            if case.state == State.AVGJORT:
                raise CaseDecided("Saken er allerede avgjort og kan ikke endres.")
            if case.state != State.SATT_OPP:
                raise DomainError(
                    "INVALID_TRANSITION",
                    "Saken må være satt opp til møte før vedtaket kan registreres.",
                )
            members = {m.username: m for m in _members(uow)}
            ref = case_ref(case)
            names = []
            for username in decision.deltakere:
                member = members.get(username)
                if member is None:
                    raise DomainError(
                        "INVALID_VALUE",
                        f"{username} er ikke et komitémedlem.",
                        field="deltakere",
                    )
                if routing.recused(member.to_rule(), ref):
                    raise DomainError(
                        "INVALID_VALUE",
                        f"{member.name} er inhabil i saken og kan ikke delta.",
                        field="deltakere",
                    )
                names.append(member.name)
            body = decision.to_json()
            letter = _letter(case, body, names, today)
            problems = decision_problems(letter)
            if problems:
                fields: dict[str, str] = {}
                for name, message in problems:
                    fields[name] = f"{fields[name]} {message}" if name in fields else message
                raise DomainError(
                    "INVALID_DECISION", " ".join(m for _, m in problems), fields=fields
                )
            now = uow.now()
            pdf = decision_letter_pdf(letter, created=now)
            docx = decision_letter_docx(letter, created=now)
            shas = []
            for data, kind in ((pdf, PDF), (docx, DOCX)):
                sha = uow.blobs.put(data)
                uow.cases.add_blob(sha, len(data), kind, now)
                shas.append(sha)
            uow.decisions.add(
                Decision(
                    case_id=case.id,
                    outcome=decision.utfall,
                    body=body,
                    reasoning=decision.begrunnelse,
                    decided_on=today,
                    recorded_by=user.username,
                    recorded_at=now,
                    pdf_sha256=shas[0],
                    docx_sha256=shas[1],
                )
            )
            move_case(
                user,
                case,
                State.AVGJORT,
                clean_reason(f"Vedtak: {OUTCOMES[decision.utfall]}."),
                uow,
                action="case.decision",
                extra={"outcome": decision.utfall, "pdf_sha256": shas[0], "docx_sha256": shas[1]},
            )
            outbox.case_decided(uow, case)
            uow.commit()
    except ConcurrentUpdate:
        raise StaleState() from None
    return case


def _decision_for(user: Principal, uow: AbstractUnitOfWork, case_id: str) -> tuple[Case, Decision]:
    case = visible_case(user, case_id, uow)
    decision = uow.decisions.get(case.id)
    if decision is None:
        raise NotFound("Saken har ikke noe vedtak.")
    return case, decision


def _may_read_letter(user: Principal, case: Case) -> bool:
    roles = set(user.roles)
    return "koordinator" in roles or ("hf" in roles and user.hf == case.hf)


def decision_view(user: Principal, uow: AbstractUnitOfWork, case_id: str) -> dict[str, Any]:
    """The decision as the case page shows it (JSON twin: `GET /saker/{id}/vedtak`)."""
    with uow:
        case, decision = _decision_for(user, uow, case_id)
        if not _may_read_letter(user, case):
            raise Forbidden()
        body = dict(decision.body)
        return {
            "sak": case.id,
            "utfall": decision.outcome,
            "utfall_navn": OUTCOMES.get(decision.outcome, decision.outcome),
            "vedtaksdato": decision.decided_on.isoformat(),
            "registrert_av": decision.recorded_by,
            **{k: body[k] for k in body if k != "utfall"},
            "kriterier_navn": _criteria_names(body),
            "brev": {
                "pdf": f"/api/v1/saker/{case.id}/vedtak.pdf",
                "docx": f"/api/v1/saker/{case.id}/vedtak.docx",
            },
        }


def _criteria_names(body: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key in CRITERIA:
        entry = (body.get("kriterier") or {}).get(key) or {}
        out.append(
            {
                "kriterium": key,
                "navn": criterion_label(key),
                "oppfylt": entry.get("oppfylt") is True,
                "begrunnelse": entry.get("begrunnelse") or "",
            }
        )
    return out


def decision_letter(
    user: Principal, uow: AbstractUnitOfWork, case_id: str, fmt: str
) -> tuple[bytes, str, str]:
    """The decision letter (bytes, file name, content type) for the case's HF or the
    coordinator; `fmt` is "pdf" or "docx". Every download is recorded in the audit log."""
    if fmt not in ("pdf", "docx"):
        raise NotFound()
    with uow:
        case, decision = _decision_for(user, uow, case_id)
        if not _may_read_letter(user, case):
            raise Forbidden()
        sha = decision.pdf_sha256 if fmt == "pdf" else decision.docx_sha256
        data = uow.blobs.get(sha)
        name = f"vedtak-{case.id}.{fmt}"
        # who read the letter is recorded, like every packet download
        uow.audit.append(
            actor=user.username,
            action="decision.letter_download",
            object=f"case:{case.id}",
            at=uow.now(),
            details={"format": fmt, "blob_sha256": sha},
        )
        uow.commit()
    return data, name, PDF if fmt == "pdf" else DOCX


def decided(user: Principal, uow: AbstractUnitOfWork, case_id: str) -> bool:
    """Whether the case is one the user may see and it is decided (read-only)."""
    with uow:
        case = uow.cases.get(case_key(case_id))
        if case is None:
            return False
        return can_see(user, case) and case.state == State.AVGJORT


def member_of(uow: AbstractUnitOfWork, username: str) -> Actor | None:
    """The committee member with this username as a principal (for the CLI), or None."""
    with uow:
        user = uow.users.get(username)
        return Actor.of(user) if user is not None and "komite" in user.roles else None
