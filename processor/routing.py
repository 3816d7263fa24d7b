"""Routing rules: recusal, quorum, meeting planning and peer reviewer assignment.

WORKFLOW.md section 3 (the committee and its meetings) and section 6 (mini-HTA peer reviewers).
Pure: plain frozen dataclasses in, plain values out; `today` is a parameter and the region of an HF
comes from `forms.helseforetak.registry()` unless the caller passes `region_of`.

Interpretations chosen where the spec leaves room:

- HF codes are compared trimmed and upper-cased; an empty or missing `opptaksomrade` means the
  patient belongs to the applying HF.
- A member is active on a date when `active_from <= date <= active_to` (both ends inclusive, a
  missing end is open).
- A meeting with `members=None` has every active member taking part; otherwise only the usernames
  listed. Deputies who are called in are added to that list by the coordinator.
- Deputies (`vara_for`) sit in their principal's seat: a deputy counts as a decision-maker when
  they are a decision-maker themselves *or* their principal is. One seat is filled by at most one
  deputy, so two deputies for the same principal restore one decision-maker, not two.
- The planner places only the cases it is given (the caller passes the cases in `klar`) and skips a
  case already placed in one of the meetings.
- Peer reviewers: a yellow conflict does not remove a reviewer from `candidates` (the coordinator may
  approve it), but `pick_reviewer` never picks an unapproved yellow one on its own. A reviewer who
  has not declared anything for the case counts as no conflict for assignment, but may not download
  the packet before declaring.
- Overrides: the coordinator may assign a reviewer outside the rules with a reason, except a red
  conflict (the spec: "Red blocks the assignment") and a reviewer from the proposing HF (the spec
  says such a reviewer "is not from the proposing HF", without "by default", unlike the region).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Literal

from forms.helseforetak import registry
from processor import domain, timefmt
from processor.domain import hf_code
from processor.workdays import PAPERS_DAYS, papers_deadline

__all__ = [
    "QUORUM",
    "CaseRef",
    "Conflict",
    "ConflictLevel",
    "Meeting",
    "Member",
    "OverrideNotAllowed",
    "Pick",
    "PlanResult",
    "QuorumResult",
    "Reviewer",
    "candidates",
    "check_override",
    "eligible_decision_makers",
    "is_active",
    "may_download_packet",
    "member_cases",
    "override_blockers",
    "pick_reviewer",
    "plan",
    "quorum",
    "recused",
    "takes_part",
]

QUORUM = 4
"""WORKFLOW.md section 3: at least 4 decision-makers who take part and are not recused."""

NO_ROOM = "Ingen møte med ledig plass før fristen for sakspapirer"


# ---- the committee ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    username: str
    name: str
    hf: str
    beslutningstaker: bool
    fagdirektor: bool = False
    vara_for: str | None = None
    active_from: date | None = None
    active_to: date | None = None


@dataclass(frozen=True)
class CaseRef:
    id: str
    hf: str
    opptaksomrade: str | None
    received: date
    urgent: bool = False
    urgent_reason: str | None = None


@dataclass(frozen=True)
class Meeting:
    id: str
    date: date
    time: time
    case_limit: int = 8
    members: tuple[str, ...] | None = None
    """Usernames taking part; None means every member active on the meeting date."""
    placed: tuple[str, ...] = ()
    """Case ids already placed in this meeting, in agenda order."""


@dataclass(frozen=True)
class QuorumResult:
    ok: bool
    count: int
    deputies_who_would_restore: list[Member] = field(default_factory=list)
    recused: list[Member] = field(default_factory=list)
    """Decision-makers taking part who are recused from the case (for the planner's message)."""
    minimum: int = QUORUM


@dataclass(frozen=True)
class PlanResult:
    placed: dict[str, list[str]]
    """Meeting id -> case ids newly placed there (every meeting that was open gets a key)."""
    not_placed: list[tuple[str, str]]
    """(case id, Norwegian reason), in the order the planner considered the cases."""
    quorum: dict[str, QuorumResult] = field(default_factory=dict)
    """Case id -> quorum in the meeting it was placed in, or in the first meeting with room it
    was tried against (the planner shows per case how many eligible decision-makers it has)."""


def is_active(member: Member, on: date) -> bool:
    """Active on `on`: both ends inclusive, a missing end is open."""
    if member.active_from is not None and on < member.active_from:
        return False
    return member.active_to is None or on <= member.active_to


def takes_part(member: Member, taking_part: Collection[str] | None) -> bool:
    """In the meeting's member list; `None` means every (active) member takes part."""
    return taking_part is None or member.username in taking_part


def recused(member: Member, case: CaseRef) -> bool:
    """The member's HF is the applying HF or the patient's catchment HF (`domain.recused`)."""
    return domain.recused(member.hf, case.hf, case.opptaksomrade)


def eligible_decision_makers(
    case: CaseRef,
    members: Iterable[Member],
    on: date,
    taking_part: Collection[str] | None = None,
) -> list[Member]:
    """Decision-makers active on `on`, taking part (see `Meeting.members`), not recused."""
    return [
        m
        for m in members
        if m.beslutningstaker
        and is_active(m, on)
        and takes_part(m, taking_part)
        and not recused(m, case)
    ]


def quorum(
    case: CaseRef,
    members: Iterable[Member],
    on: date,
    minimum: int = QUORUM,
    taking_part: Collection[str] | None = None,
) -> QuorumResult:
    """Whether the case can be decided, and which deputies would restore the quorum if not.

    Deputies named are active members with `vara_for` set, not already counted, not recused, whose
    principal is recused, not taking part or not active, and who act as decision-makers (their own
    flag or their principal's). They are listed, sorted by name, only when the seats they can fill
    bring the count up to `minimum`; otherwise the list is empty.
    """
    members = list(members)
    eligible = eligible_decision_makers(case, members, on, taking_part)
    count = len(eligible)
    recused_dm = [
        m
        for m in members
        if m.beslutningstaker
        and is_active(m, on)
        and takes_part(m, taking_part)
        and recused(m, case)
    ]
    if count >= minimum:
        return QuorumResult(True, count, [], recused_dm, minimum)

    by_username = {m.username: m for m in members}
    counted = {m.username for m in eligible}
    seats: dict[str, list[Member]] = {}
    for deputy in members:
        principal = by_username.get(deputy.vara_for or "")
        if (
            principal is None
            or deputy.username in counted
            or not is_active(deputy, on)
            or recused(deputy, case)
            or not (deputy.beslutningstaker or principal.beslutningstaker)
        ):
            continue
        principal_absent = (
            recused(principal, case)
            or not takes_part(principal, taking_part)
            or not is_active(principal, on)
        )
        if principal_absent:
            seats.setdefault(principal.username, []).append(deputy)
    if count + len(seats) < minimum:
        return QuorumResult(False, count, [], recused_dm, minimum)
    deputies = sorted(
        (d for group in seats.values() for d in group), key=lambda m: (m.name, m.username)
    )
    return QuorumResult(False, count, deputies, recused_dm, minimum)


def _quorum_reason(meeting: Meeting, q: QuorumResult, members: Mapping[str, Member]) -> str:
    inhabile = ", ".join(f"{m.name} ({m.hf})" for m in q.recused) or "ingen"
    text = (
        f"Mangler beslutningsdyktighet i møtet {timefmt.date_text(meeting.date)}: bare {q.count} av "
        f"{q.minimum} nødvendige beslutningstakere deltar og er ikke inhabile "
        f"(inhabile: {inhabile})."
    )
    if not q.deputies_who_would_restore:
        return text + " Ingen vara kan gjenopprette beslutningsdyktigheten."
    deputies = ", ".join(
        f"{d.name} (vara for {members[d.vara_for].name if d.vara_for in members else d.vara_for})"
        for d in q.deputies_who_would_restore
    )
    return f"{text} Vara som kan gjenopprette: {deputies}."


def _case_order(case: CaseRef) -> tuple[bool, date, str]:
    return (not case.urgent, case.received, case.id)


def plan(
    meetings: Iterable[Meeting],
    ready_cases: Iterable[CaseRef],
    members: Iterable[Member],
    today: date,
    *,
    minimum: int = QUORUM,
    papers_days: int = PAPERS_DAYS,
) -> PlanResult:
    """Place the cases in `klar` in the earliest meeting that can take them.

    A meeting is open when its papers deadline (`papers_days` working days before it) is today or
    later and it has room (`case_limit` minus cases already placed, minus cases placed now). Cases
    go urgent first, then oldest received, then by id. A case that would lack quorum in a meeting is
    not placed there; the next open meeting is tried. A case placed nowhere gets a Norwegian reason:
    the quorum message of the first meeting with room it failed in, or `NO_ROOM`.
    """
    members = list(members)
    by_username = {m.username: m for m in members}
    open_meetings = sorted(
        (m for m in meetings if papers_deadline(m.date, papers_days) >= today),
        key=lambda m: (m.date, m.time, m.id),
    )
    already = {case_id for m in meetings for case_id in m.placed}
    room = {m.id: m.case_limit - len(m.placed) for m in open_meetings}
    placed: dict[str, list[str]] = {m.id: [] for m in open_meetings}
    not_placed: list[tuple[str, str]] = []
    quorums: dict[str, QuorumResult] = {}

    for case in sorted(ready_cases, key=_case_order):
        if case.id in already:
            continue
        first_failure: tuple[Meeting, QuorumResult] | None = None
        for meeting in open_meetings:
            if room[meeting.id] <= 0:
                continue
            q = quorum(case, members, meeting.date, minimum, meeting.members)
            if not q.ok:
                first_failure = first_failure or (meeting, q)
                continue
            placed[meeting.id].append(case.id)
            room[meeting.id] -= 1
            quorums[case.id] = q
            break
        else:
            if first_failure is None:
                not_placed.append((case.id, NO_ROOM))
            else:
                meeting, q = first_failure
                quorums[case.id] = q
                not_placed.append((case.id, _quorum_reason(meeting, q, by_username)))
    return PlanResult(placed, not_placed, quorums)


def member_cases(member: Member, meeting: Meeting, cases: Iterable[CaseRef]) -> list[str]:
    """The case ids of the meeting that the member sees, in agenda order.

    Empty when the member does not take part in the meeting or is not active on its date. Cases
    the member is recused from are left out, and so is a placed case missing from `cases` (its
    recusal cannot be checked, so it is withheld).
    """
    if not takes_part(member, meeting.members) or not is_active(member, meeting.date):
        return []
    by_id = {c.id: c for c in cases}
    return [
        case_id
        for case_id in meeting.placed
        if case_id in by_id and not recused(member, by_id[case_id])
    ]


# ---- peer reviewers (mini-HTA) ------------------------------------------------------------------

ConflictLevel = Literal["gronn", "gul", "rod"]
CONFLICT_LEVELS: tuple[str, ...] = ("gronn", "gul", "rod")


@dataclass(frozen=True)
class Reviewer:
    username: str
    name: str
    hf: str
    fagomrader: tuple[str, ...]
    open_reviews: int = 0


@dataclass(frozen=True)
class Conflict:
    """A reviewer's declaration of interests for one case."""

    reviewer: str
    case_id: str
    level: ConflictLevel
    approved: bool = False
    """The coordinator's approval; only meaningful for `gul`."""

    def __post_init__(self) -> None:
        if self.level not in CONFLICT_LEVELS:
            raise ValueError(f"unknown conflict level {self.level!r}")


@dataclass(frozen=True)
class Pick:
    reviewer: Reviewer | None
    reason: str | None = None
    """Norwegian, set when no reviewer was picked."""


class OverrideNotAllowed(ValueError):
    """An assignment that no reason can justify; `reasons` are Norwegian."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


RegionOf = Callable[[str], str | None]


def _default_region_of(hf: str) -> str | None:
    return registry().region_of(hf)


def _specialty(text: str) -> str:
    return " ".join(text.split()).casefold()


def _conflict_map(conflicts: Iterable[Conflict]) -> dict[str, Conflict]:
    """Declarations for one case by reviewer username; more than one per reviewer is an error."""
    out: dict[str, Conflict] = {}
    case_ids: set[str] = set()
    for c in conflicts:
        if c.reviewer in out:
            raise ValueError(f"more than one declaration from {c.reviewer!r}: pass one case only")
        out[c.reviewer] = c
        case_ids.add(c.case_id)
    if len(case_ids) > 1:
        raise ValueError("conflicts for more than one case: pass the declarations for one case")
    return out


def _same_region(a: str, b: str, region_of: RegionOf) -> bool:
    ra, rb = region_of(hf_code(a)), region_of(hf_code(b))
    return ra is not None and ra == rb


# Exclusion keys, in the order they are checked, with the Norwegian wording used in reasons.
_EXCLUSIONS = {
    "fagomrade": "dekker ikke fagområdet",
    "samme_hf": "er fra helseforetaket som foreslår metoden",
    "samme_region": "er fra samme region",
    "rod": "har erklært rød interessekonflikt",
}


def _exclusion(
    reviewer: Reviewer,
    case_hf: str,
    fagomrade: str,
    conflicts: Mapping[str, Conflict],
    allow_same_region: bool,
    region_of: RegionOf,
) -> str | None:
    wanted = _specialty(fagomrade)
    if not wanted or wanted not in {_specialty(f) for f in reviewer.fagomrader}:
        return "fagomrade"
    if hf_code(reviewer.hf) == hf_code(case_hf):
        return "samme_hf"
    if not allow_same_region and _same_region(reviewer.hf, case_hf, region_of):
        return "samme_region"
    conflict = conflicts.get(reviewer.username)
    if conflict is not None and conflict.level == "rod":
        return "rod"
    return None


def candidates(
    case_hf: str,
    fagomrade: str,
    reviewers: Iterable[Reviewer],
    conflicts: Iterable[Conflict],
    allow_same_region: bool = False,
    *,
    region_of: RegionOf | None = None,
) -> list[Reviewer]:
    """Reviewers who may review the case, fewest open reviews first, then by username.

    Excluded: no specialty matching `fagomrade` (trimmed, case-insensitive), the proposing HF, the
    proposing HF's region unless `allow_same_region`, a red conflict. `conflicts` are the
    declarations for this case. Unapproved yellow conflicts stay in the list (see module notes).
    """
    region_of = region_of or _default_region_of
    cmap = _conflict_map(conflicts)
    kept = [
        r
        for r in reviewers
        if _exclusion(r, case_hf, fagomrade, cmap, allow_same_region, region_of) is None
    ]
    return sorted(kept, key=lambda r: (r.open_reviews, r.username))


def pick_reviewer(
    case_hf: str,
    fagomrade: str,
    reviewers: Iterable[Reviewer],
    conflicts: Iterable[Conflict],
    allow_same_region: bool = False,
    *,
    region_of: RegionOf | None = None,
) -> Pick:
    """The first candidate who needs no approval, or None with a Norwegian reason."""
    region_of = region_of or _default_region_of
    reviewers = list(reviewers)
    conflicts = list(conflicts)
    cmap = _conflict_map(conflicts)
    found = candidates(
        case_hf, fagomrade, reviewers, conflicts, allow_same_region, region_of=region_of
    )
    waiting: list[Reviewer] = []
    for r in found:
        c = cmap.get(r.username)
        if c is not None and c.level == "gul" and not c.approved:
            waiting.append(r)
            continue
        return Pick(r)
    if waiting:
        names = ", ".join(r.name for r in waiting)
        return Pick(
            None,
            "Ingen fagfelle kan tildeles uten godkjenning: gul interessekonflikt venter på "
            f"koordinatorens godkjenning ({names}).",
        )
    counts: dict[str, int] = {}
    for r in reviewers:
        key = _exclusion(r, case_hf, fagomrade, cmap, allow_same_region, region_of)
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
    if not reviewers:
        return Pick(None, "Ingen fagfeller er registrert.")
    detail = ", ".join(
        f"{counts[key]} {text}" for key, text in _EXCLUSIONS.items() if key in counts
    )
    return Pick(None, f"Ingen fagfelle oppfyller kravene for fagområdet «{fagomrade}»: {detail}.")


def override_blockers(reviewer: Reviewer, case_hf: str, conflicts: Iterable[Conflict]) -> list[str]:
    """Reasons no override can get past: a red conflict, or the proposing HF."""
    out: list[str] = []
    if hf_code(reviewer.hf) == hf_code(case_hf):
        out.append(f"{reviewer.name} er fra helseforetaket som foreslår metoden.")
    c = _conflict_map(conflicts).get(reviewer.username)
    if c is not None and c.level == "rod":
        out.append(f"{reviewer.name} har erklært rød interessekonflikt for saken.")
    return out


def check_override(
    reviewer: Reviewer,
    case_hf: str,
    conflicts: Iterable[Conflict],
    *,
    fagomrade: str | None = None,
    allow_same_region: bool = False,
    region_of: RegionOf | None = None,
) -> list[str]:
    """Why assigning `reviewer` by hand needs the coordinator's written reason (Norwegian).

    An empty list means the assignment follows the rules. Raises `OverrideNotAllowed` for a red
    conflict or a reviewer from the proposing HF, which no reason can justify. The specialty is
    checked only when `fagomrade` is given. Having more open reviews than another candidate is not
    a reason here: the coordinator choosing among candidates is the point of an override.
    """
    conflicts = list(conflicts)
    blockers = override_blockers(reviewer, case_hf, conflicts)
    if blockers:
        raise OverrideNotAllowed(blockers)
    region_of = region_of or _default_region_of
    out: list[str] = []
    if fagomrade is not None and _specialty(fagomrade) not in {
        _specialty(f) for f in reviewer.fagomrader
    }:
        out.append(f"{reviewer.name} dekker ikke fagområdet «{fagomrade}».")
    if not allow_same_region and _same_region(reviewer.hf, case_hf, region_of):
        out.append(f"{reviewer.name} er fra samme region som helseforetaket som foreslår metoden.")
    c = _conflict_map(conflicts).get(reviewer.username)
    if c is not None and c.level == "gul" and not c.approved:
        out.append(f"{reviewer.name} har gul interessekonflikt som ikke er godkjent.")
    return out


def may_download_packet(conflict: Conflict | None) -> bool:
    """Green, or yellow approved by the coordinator. No declaration yet means no download."""
    if conflict is None:
        return False
    return conflict.level == "gronn" or (conflict.level == "gul" and conflict.approved)


@dataclass(frozen=True)
class ReviewerOption:
    """One reviewer as the coordinator's assignment list shows them (Norwegian reasons).

    `blocked`: what no written reason can get past (the proposing HF, a red conflict);
    `needs_reason`: what makes choosing them an override (`check_override`), more open reviews
    than the rules' pick included; `rules_pick`: the one the rules would choose."""

    reviewer: Reviewer
    blocked: tuple[str, ...]
    needs_reason: tuple[str, ...]
    rules_pick: bool

    @property
    def selectable(self) -> bool:
        return not self.blocked

    @property
    def follows_rules(self) -> bool:
        return not self.blocked and not self.needs_reason


def reviewer_options(
    case_hf: str,
    fagomrade: str,
    reviewers: Iterable[Reviewer],
    conflicts: Iterable[Conflict],
    *,
    region_of: RegionOf | None = None,
) -> list[ReviewerOption]:
    """Every reviewer with whether and why they can be assigned to the case, rules' pick first,
    then those who follow the rules, then those needing a reason, then the blocked; each group
    by fewest open reviews. The same rules as `pick_reviewer` and `check_override`."""
    reviewers = list(reviewers)
    conflicts = list(conflicts)
    pick = pick_reviewer(case_hf, fagomrade, reviewers, conflicts, region_of=region_of).reviewer
    out: list[ReviewerOption] = []
    for r in reviewers:
        blocked = override_blockers(r, case_hf, conflicts)
        why: list[str] = []
        if not blocked:
            why = check_override(r, case_hf, conflicts, fagomrade=fagomrade, region_of=region_of)
            if not why and (pick is None or r.open_reviews > pick.open_reviews):
                why = [f"{r.name} har flere åpne fagfellevurderinger enn andre."]
        out.append(ReviewerOption(r, tuple(blocked), tuple(why), pick is not None and r == pick))

    def order(o: ReviewerOption) -> tuple[int, int, str]:
        group = 0 if o.rules_pick else 1 if o.follows_rules else 2 if o.selectable else 3
        return (group, o.reviewer.open_reviews, o.reviewer.username)

    return sorted(out, key=order)
