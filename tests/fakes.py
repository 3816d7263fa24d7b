"""In-memory repositories and unit of work for service tests (DESIGN.md: fakes live in tests/).

Each fake keeps the same model classes as its SQLAlchemy adapter (`storage/repository*.py`) in
dictionaries and answers the same questions the same way, so a service runs unchanged on
`FakeUnitOfWork` and a test of it takes milliseconds. Where the adapter's answer comes from a
relationship the database fills in (`case.peer_assignments`, `case.meeting_slot`), the fake sets
it on the object itself. The public search matches every word of the query as a case-insensitive
prefix of the Norwegian stems of the search text, as the adapters do (`query_stems`).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Self

from sqlalchemy import inspect

from processor.domain import Actor
from processor.statistics import ONE_PER_CASE, CaseFigures, Filters, passes
from storage import audit as audit_log
from storage.blobs import BlobStore, MemoryBlobStore
from storage.models import ApiToken, AuditEvent, Blob, Case, User
from storage.models_committee import CommitteeMember, Decision, Meeting, MeetingCase
from storage.models_drafts import Draft
from storage.models_figures import CaseFigure, CaseFigureStage
from storage.models_minihta import MinihtaAttachment, PeerAssignment, Publication
from storage.models_outbox import OutboxRow
from storage.repository import (
    AbstractAuditRepository,
    AbstractCaseRepository,
    AbstractTokenRepository,
    AbstractUserRepository,
    TokenOwner,
)
from storage.repository_committee import (
    AbstractDecisionRepository,
    AbstractMeetingRepository,
    AbstractMemberRepository,
)
from storage.repository_drafts import AbstractDraftRepository
from storage.repository_figures import (
    ALL_CASES,
    DECISION_FORM,
    FIGURE_FIELDS,
    AbstractFiguresRepository,
    ScopedKey,
    SourcedHistory,
    figure_of,
    figure_row,
    marker_of,
    sourced_histories,
    stage_rows,
    stages_of,
)
from storage.repository_minihta import (
    FACETS,
    AbstractAttachmentRepository,
    AbstractPublicationRepository,
    AbstractReviewRepository,
    query_stems,
)
from storage.repository_outbox import AbstractOutboxRepository, due
from storage.uow import AbstractUnitOfWork, Clock, ConcurrentUpdate, utc_clock

# ---- cases, users, tokens, audit ----------------------------------------------------------------


class FakeCaseRepository(AbstractCaseRepository):
    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.sequences: dict[int, int] = {}
        self.blobs: dict[str, Blob] = {}

    def add(self, case: Case) -> None:
        if case.id in self.cases:
            raise KeyError(f"case {case.id} exists")
        self.cases[case.id] = case

    def get(self, case_id: str) -> Case | None:
        return self.cases.get(case_id)

    def exists(self, case_id: str) -> bool:
        return case_id in self.cases

    def create(self, case: Case) -> bool:
        if case.id in self.cases:
            return False
        self.add(case)
        return True

    def list(
        self,
        *,
        hf: str | None = None,
        state: str | None = None,
        form_type: str | None = None,
        id_contains: str | None = None,
    ) -> list[Case]:
        out = [
            c
            for c in self.cases.values()
            if (hf is None or c.hf == hf)
            and (state is None or c.state == state)
            and (form_type is None or c.form_type == form_type)
            and (not id_contains or id_contains.upper() in c.id.upper())
        ]
        return sorted(out, key=lambda c: (c.created_at, c.id), reverse=True)

    def next_minihta_number(self, year: int) -> int:
        self.sequences[year] = self.sequences.get(year, 0) + 1
        return self.sequences[year]

    def add_blob(self, sha256: str, size: int, content_type: str, at: datetime) -> None:
        if sha256 not in self.blobs:
            self.blobs[sha256] = Blob(
                sha256=sha256, size=size, content_type=content_type, created_at=at
            )

    def blob_shas(self) -> set[str]:
        return set(self.blobs)


class FakeUserRepository(AbstractUserRepository):
    def __init__(self) -> None:
        self.users: dict[str, User] = {}

    def add(self, user: User) -> None:
        if user.username in self.users:
            raise KeyError(f"user {user.username} exists")
        if user.id is None:
            user.id = max((u.id for u in self.users.values()), default=0) + 1
        self.users[user.username] = user

    def get(self, username: str) -> User | None:
        return self.users.get(username)

    def get_by_id(self, user_id: int) -> User | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    def by_oidc_sub(self, sub: str) -> User | None:
        return next((u for u in self.users.values() if u.oidc_sub == sub), None)

    def list(self, *, role: str | None = None, active_only: bool = False) -> list[User]:
        return sorted(
            (
                u
                for u in self.users.values()
                if (role is None or role in u.roles) and (u.active or not active_only)
            ),
            key=lambda u: u.username,
        )

    def with_function(self, hf: str, *, role: str, function: str) -> list[User]:
        return [
            u
            for u in self.list(role=role, active_only=True)
            if u.hf == hf and function in (u.funksjoner or ())
        ]


class FakeTokenRepository(AbstractTokenRepository):
    def __init__(self) -> None:
        self.tokens: dict[str, ApiToken] = {}

    def add(self, token: ApiToken) -> None:
        self.tokens[token.token_sha256] = token

    def owner(self, token_sha256: str) -> TokenOwner | None:
        token = self.tokens.get(token_sha256)
        if token is None:
            return None
        return TokenOwner(Actor.of(token.user), token.user.active, token.last_used_at)

    def mark_used(self, token_sha256: str, at: datetime) -> None:
        self.tokens[token_sha256].last_used_at = at


class FakeAuditRepository(AbstractAuditRepository):
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(
        self,
        *,
        actor: str,
        action: str,
        object: str,
        details: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        prev = self.events[-1].hash if self.events else audit_log.GENESIS
        ev = audit_log.make_event(
            len(self.events) + 1,
            prev,
            at=at,
            actor=actor,
            action=action,
            object=object,
            details=details,
        )
        row = AuditEvent(**ev.columns())
        self.events.append(row)
        return row

    def list(self, *, object: str | None = None) -> list[AuditEvent]:
        return [e for e in self.events if object is None or e.object == object]

    def verify(self) -> tuple[bool, int | None]:
        return audit_log.verify_events(self.events)


# ---- committee ----------------------------------------------------------------------------------


class FakeMemberRepository(AbstractMemberRepository):
    def __init__(self) -> None:
        self.members: dict[int, CommitteeMember] = {}

    def add(self, member: CommitteeMember) -> None:
        if member.user_id in self.members:
            raise ConcurrentUpdate("committee member exists")
        self.members[member.user_id] = member

    def get(self, user_id: int) -> CommitteeMember | None:
        return self.members.get(user_id)

    def list(self) -> list[CommitteeMember]:
        return list(self.members.values())


class FakeMeetingRepository(AbstractMeetingRepository):
    def __init__(self, cases: FakeCaseRepository) -> None:
        self.meetings: dict[int, Meeting] = {}
        self._cases = cases

    def add(self, meeting: Meeting) -> None:
        meeting.id = max(self.meetings, default=0) + 1
        self.meetings[meeting.id] = meeting

    def get(self, meeting_id: int) -> Meeting | None:
        return self.meetings.get(meeting_id)

    def at(self, on: date, at: time) -> Meeting | None:
        return next((m for m in self.list() if m.meeting_date == on and m.meeting_time == at), None)

    def list(self) -> list[Meeting]:
        return sorted(self.meetings.values(), key=lambda m: (m.meeting_date, m.meeting_time))

    def place(
        self, meeting: Meeting, case_id: str, *, position: int, by: str, at: datetime
    ) -> MeetingCase:
        case = self._cases.get(case_id)
        if case is not None and case.meeting_slot is not None:  # type: ignore[attr-defined]
            raise ConcurrentUpdate("case placed already")  # the primary key of meeting_cases
        slot = MeetingCase(case_id=case_id, position=position, placed_by=by, placed_at=at)
        meeting.cases.append(slot)  # sets slot.meeting
        if case is not None:
            case.meeting_slot = slot  # type: ignore[attr-defined]
        return slot


class FakeDecisionRepository(AbstractDecisionRepository):
    def __init__(self, cases: FakeCaseRepository) -> None:
        self.decisions: dict[str, Decision] = {}
        self._cases = cases

    def add(self, decision: Decision) -> None:
        if decision.case_id in self.decisions:
            raise ConcurrentUpdate("case decided already")  # the primary key of decisions
        self.decisions[decision.case_id] = decision
        case = self._cases.get(decision.case_id)
        if case is not None:
            case.decision = decision  # type: ignore[attr-defined]

    def get(self, case_id: str) -> Decision | None:
        return self.decisions.get(case_id)


# ---- mini-HTA -----------------------------------------------------------------------------------


class FakeAttachmentRepository(AbstractAttachmentRepository):
    def __init__(self) -> None:
        self.attachments: list[MinihtaAttachment] = []

    def add(self, attachment: MinihtaAttachment) -> None:
        if any(
            a.number == attachment.number
            for a in self.list(attachment.case_id, attachment.form_type)
        ):
            raise ConcurrentUpdate("attachment number taken")  # the unique constraint
        attachment.id = len(self.attachments) + 1
        self.attachments.append(attachment)

    def list(self, case_id: str, form_type: str) -> list[MinihtaAttachment]:
        return sorted(
            (a for a in self.attachments if a.case_id == case_id and a.form_type == form_type),
            key=lambda a: a.number,
        )


class FakeReviewRepository(AbstractReviewRepository):
    def __init__(self, cases: FakeCaseRepository) -> None:
        self.assignments: list[PeerAssignment] = []
        self._cases = cases

    def add(self, assignment: PeerAssignment) -> None:
        assignment.id = len(self.assignments) + 1
        self.assignments.append(assignment)
        case = self._cases.get(assignment.case_id)
        if case is not None:
            case.peer_assignments.append(assignment)  # type: ignore[attr-defined]

    def for_case(self, case_id: str) -> list[PeerAssignment]:
        return [a for a in self.assignments if a.case_id == case_id]

    def of_reviewer(self, reviewer: str) -> list[PeerAssignment]:
        return [a for a in reversed(self.assignments) if a.reviewer == reviewer]

    def open_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a in self.assignments:
            if a.active and a.completed_at is None:
                counts[a.reviewer] = counts.get(a.reviewer, 0) + 1
        return counts


class FakePublicationRepository(AbstractPublicationRepository):
    def __init__(self) -> None:
        self.publications: dict[str, Publication] = {}

    def get(self, case_id: str) -> Publication | None:
        return self.publications.get(case_id)

    def save(self, publication: Publication) -> None:
        self.publications[publication.case_id] = publication

    def search(
        self,
        *,
        q: str = "",
        hf: str | None = None,
        year: int | None = None,
        fagomrade: str | None = None,
        konklusjon: str | None = None,
        limit: int = 200,
    ) -> list[Publication]:
        words = query_stems(q)
        if q and not words:
            return []
        found = [
            p
            for p in self.publications.values()
            if (not hf or p.hf == hf)
            and (year is None or p.year == year)
            and (not fagomrade or p.fagomrade.lower() == fagomrade.lower())
            and (not konklusjon or p.konklusjon == konklusjon)
            and all(any(t.startswith(w) for t in query_stems(p.search_text)) for w in words)
        ]
        found.sort(key=lambda p: (p.published_at, p.case_id), reverse=True)
        return found[:limit]

    def facets(self) -> dict[str, list[Any]]:
        return {
            name: sorted({v for p in self.publications.values() if (v := getattr(p, name))})
            for name in FACETS
        }


# ---- outbox -------------------------------------------------------------------------------------


class FakeOutboxRepository(AbstractOutboxRepository):
    def __init__(self) -> None:
        self.rows: dict[int, OutboxRow] = {}
        self.beats: dict[str, datetime] = {}

    def add(self, row: OutboxRow) -> None:
        row.id = max(self.rows, default=0) + 1
        for name, default in (("data", {}), ("status", "venter"), ("forsok", 0)):
            if getattr(row, name) is None:
                setattr(row, name, default)
        self.rows[row.id] = row

    def get(self, row_id: int) -> OutboxRow | None:
        return self.rows.get(row_id)

    def list(
        self, *, status: str | None = None, case_id: str | None = None, limit: int | None = None
    ) -> list[OutboxRow]:
        out = [
            r
            for r in sorted(self.rows.values(), key=lambda r: r.id, reverse=True)
            if (status is None or r.status == status) and (case_id is None or r.sak == case_id)
        ]
        return out[:limit] if limit is not None else out

    def claim(
        self, kinds: Collection[str], worker: str, now: datetime, lease: timedelta
    ) -> OutboxRow | None:
        ready = sorted(
            (r for r in self.rows.values() if due(r, kinds, now)),
            key=lambda r: (r.neste_forsok, r.id),
        )
        if not ready:
            return None
        row = ready[0]
        row.claimed_by, row.claimed_until = worker, now + lease
        return row

    def beat(self, worker: str, at: datetime) -> None:
        self.beats[worker] = at

    def last_beat(self) -> datetime | None:
        return max(self.beats.values(), default=None)

    def oldest_waiting(self, kinds: Collection[str]) -> datetime | None:
        return min(
            (r.opprettet for r in self.rows.values() if r.status == "venter" and r.art in kinds),
            default=None,
        )


# ---- drafts -------------------------------------------------------------------------------------


class FakeDraftRepository(AbstractDraftRepository):
    def __init__(self) -> None:
        self.drafts: dict[str, Draft] = {}

    def add(self, draft: Draft) -> None:
        if draft.id in self.drafts:
            raise ConcurrentUpdate("draft id taken")  # the primary key
        self.drafts[draft.id] = draft

    def get(self, draft_id: str) -> Draft | None:
        return self.drafts.get(draft_id)

    def list(
        self,
        *,
        hf: str,
        state: str | None = None,
        form_type: str | None = None,
        unchanged_since: datetime | None = None,
    ) -> list[Draft]:
        out = [
            d
            for d in self.drafts.values()
            if d.hf == hf
            and (state is None or d.state == state)
            and (form_type is None or d.form_type == form_type)
            and (unchanged_since is None or d.updated_at <= unchanged_since)
        ]
        return sorted(out, key=lambda d: (d.updated_at, d.id), reverse=True)

    def for_case(self, case_id: str) -> list[Draft]:
        out = [d for d in self.drafts.values() if d.case_id == case_id]
        return sorted(out, key=lambda d: (d.submitted_at or d.updated_at, d.id), reverse=True)

    def delete(self, draft: Draft) -> None:
        self.drafts.pop(draft.id, None)


# ---- figures ------------------------------------------------------------------------------------

_databases = itertools.count(1)


class FakeFiguresRepository(AbstractFiguresRepository):
    """The figures rows, counts and refresh state over the fake's own cases, transitions,
    decisions and mini-HTA attachments. Rows are kept as the adapter writes them
    (`figure_row`, `stage_rows`) and read back as it reads them (`figure_of`); a case's history is
    built by the adapter's `sourced_histories`. What the database does by itself is done here:
    a case deleted from the fake takes its figures row along (ON DELETE CASCADE)."""

    def __init__(
        self,
        cases: FakeCaseRepository,
        decisions: FakeDecisionRepository,
        attachments: FakeAttachmentRepository,
    ) -> None:
        self._cases = cases
        self._decisions = decisions
        self._attachments = attachments
        self.figure_rows: dict[str, CaseFigure] = {}
        self.stages: dict[str, list[CaseFigureStage]] = {}
        self.kept: dict[ScopedKey, int] = {}  # `figures_counts`
        self.generation: tuple[int, str | None] | None = None  # `figures_generation`, if any
        # a database of its own: `services.figures` caches per database and cases marker
        self.address = f"memory://figures-{next(_databases)}"

    # the fake unit of work's snapshot and rollback: rows are replaced, never changed in place
    def snapshot(self) -> tuple[Any, ...]:
        return (dict(self.figure_rows), dict(self.stages), dict(self.kept), self.generation)

    def restore(self, mark: tuple[Any, ...]) -> None:
        rows, stages, kept, self.generation = mark
        for mine, saved in ((self.figure_rows, rows), (self.stages, stages), (self.kept, kept)):
            mine.clear()
            mine.update(saved)

    def _cascade(self) -> None:
        """Rows of cases no longer stored go, as ON DELETE CASCADE takes them."""
        for case_id in [k for k in self.figure_rows if k not in self._cases.cases]:
            del self.figure_rows[case_id]
            self.stages.pop(case_id, None)

    def _figures(self, ids: Iterable[str]) -> list[CaseFigures]:
        stages = stages_of(
            (s.case_id, s.state, s.calendar_days, s.working_days)
            for case_id in ids
            for s in self.stages.get(case_id, [])
        )
        return [
            figure_of([getattr(self.figure_rows[case_id], name) for name in FIGURE_FIELDS], stages)
            for case_id in ids
        ]

    def database(self) -> str:
        return self.address

    def cases_marker(self) -> str:
        cases = self._cases.cases.values()
        return marker_of(len(cases), sum(c.version for c in cases))

    def state(self) -> tuple[int, str | None]:
        return self.generation if self.generation is not None else (0, None)

    def lock(self) -> None:
        """Nothing to wait for: one writer in memory."""

    def record(self, seen: int, marker: str, bump: int) -> int:
        if self.generation is None:
            self.generation = (bump, marker)
        else:
            generation = self.generation[0]
            self.generation = (generation + bump, marker if generation == seen else None)
        return self.generation[0]

    def stale_case_ids(self) -> list[str]:
        self._cascade()
        stale = []
        for case in self._cases.cases.values():
            row = self.figure_rows.get(case.id)
            if (
                row is None
                or row.source_version != case.version
                or row.source_updated_at < case.updated_at
            ):
                stale.append(case.id)
        return sorted(stale)

    def histories(self, ids: Sequence[str]) -> list[SourcedHistory]:
        cases = [c for i in ids if (c := self._cases.cases.get(i)) is not None]
        found = {c.id for c in cases}
        return sourced_histories(
            cases,
            ((c.id, t.at, t.from_state, t.to_state) for c in cases for t in c.transitions),
            (
                (d.case_id, d.outcome)
                for d in self._decisions.decisions.values()
                if d.case_id in found
            ),
            ((c.id, v.number, v.data) for c in cases for v in c.versions),
            (
                (a.case_id, a.number, a.data)
                for a in self._attachments.attachments
                if a.case_id in found and a.form_type == DECISION_FORM
            ),
        )

    def take_off(self, ids: Sequence[str]) -> list[CaseFigures]:
        self._cascade()
        gone = [i for i in dict.fromkeys(ids) if i in self.figure_rows]
        out = self._figures(gone)
        for case_id in gone:
            del self.figure_rows[case_id]
            self.stages.pop(case_id, None)
        return out

    def put(self, figures: Iterable[tuple[CaseFigures, int, Any]], now: datetime) -> None:
        for fig, version, updated_at in figures:
            if fig.id in self.figure_rows:  # the primary key
                raise ConcurrentUpdate(f"figures row of {fig.id} exists")
            self.figure_rows[fig.id] = CaseFigure(**figure_row(fig, version, updated_at, now))
            self.stages[fig.id] = [CaseFigureStage(**row) for row in stage_rows(fig)]

    def load(self, filters: Filters | None = None) -> list[CaseFigures]:
        self._cascade()
        filters = filters or Filters()
        return [fig for fig in self._figures(list(self.figure_rows)) if passes(fig, filters)]

    def add_counts(self, counts: Mapping[ScopedKey, int]) -> None:
        """As the adapter: a count lowered to 0 goes; others stay, whatever they are."""
        for key, n in counts.items():
            if not n:
                continue
            total = self.kept.get(key, 0) + n
            if n < 0 and total == 0:
                self.kept.pop(key, None)
            else:
                self.kept[key] = total

    def clear_counts(self) -> None:
        self.kept.clear()

    def counts(self, scope: str) -> list[tuple[str, str, str, str, int, int]]:
        return [(*key[1:], n) for key, n in self.kept.items() if key[0] == scope]

    def cases_counted(self) -> int:
        return sum(
            n
            for (scope, kind, *_), n in self.kept.items()
            if (scope, kind) == (ALL_CASES, ONE_PER_CASE)
        )

    def rows(self) -> int:
        self._cascade()
        return len(self.figure_rows)


# ---- unit of work -------------------------------------------------------------------------------


def _state(obj: Any) -> dict[str, Any]:
    """What rollback puts back into an object that existed before: its columns, and the
    relationships loaded on it (a list copied: the collection is refilled in place)."""
    mapper = inspect(obj).mapper
    out = {a.key: getattr(obj, a.key) for a in mapper.column_attrs}
    for rel in mapper.relationships:
        if rel.key in obj.__dict__:
            value = obj.__dict__[rel.key]
            out[rel.key] = list(value) if rel.uselist else value
    return out


def _restore(obj: Any, state: dict[str, Any]) -> None:
    relationships = inspect(obj).mapper.relationships
    for key, value in state.items():
        if key in relationships and relationships[key].uselist:
            getattr(obj, key)[:] = value
        else:
            setattr(obj, key, value)
    for rel in relationships:  # loaded since the mark: as if never loaded
        if rel.key in obj.__dict__ and rel.key not in state:
            if rel.uselist:
                getattr(obj, rel.key)[:] = []
            else:
                setattr(obj, rel.key, None)


class FakeUnitOfWork(AbstractUnitOfWork):
    """In-memory repositories for service tests; records whether it committed.

    Rolling back does what the database's rollback does: objects added since `__enter__` (cases,
    users, tokens, audit events, blobs, committee and mini-HTA rows) are forgotten, numbers taken
    from the mini-HTA sequences are not spent, and the objects that existed before get back their
    columns and the relationships that were loaded on them (a case moved in place before a later
    step refused is back in its old state). The figures rows, counts and refresh state
    (`FakeFiguresRepository`) are put back as they were. Values changed inside a JSON column are
    not undone.
    """

    def __init__(self, blobs: BlobStore | None = None, clock: Clock | None = None) -> None:
        self.cases = FakeCaseRepository()
        self.users = FakeUserRepository()
        self.tokens = FakeTokenRepository()
        self.audit = FakeAuditRepository()
        self.members = FakeMemberRepository()
        self.meetings = FakeMeetingRepository(self.cases)
        self.decisions = FakeDecisionRepository(self.cases)
        self.reviews = FakeReviewRepository(self.cases)
        self.attachments = FakeAttachmentRepository()
        self.publications = FakePublicationRepository()
        self.figures = FakeFiguresRepository(self.cases, self.decisions, self.attachments)
        self.outbox = FakeOutboxRepository()

        self.drafts = FakeDraftRepository()
        self.blobs = blobs if blobs is not None else MemoryBlobStore()
        self.clock = clock or utc_clock
        self.committed = False
        self.commits = 0
        self._mark: dict[str, Any] | None = None

    def _stores(self) -> dict[str, dict[Any, Any] | list[Any]]:
        """Every collection of stored objects."""
        return {
            "cases": self.cases.cases,
            "users": self.users.users,
            "tokens": self.tokens.tokens,
            "events": self.audit.events,
            "blobs": self.cases.blobs,
            "members": self.members.members,
            "meetings": self.meetings.meetings,
            "decisions": self.decisions.decisions,
            "assignments": self.reviews.assignments,
            "attachments": self.attachments.attachments,
            "publications": self.publications.publications,
            "outbox": self.outbox.rows,
            "drafts": self.drafts.drafts,
        }

    def _objects(self) -> list[Any]:
        """Every stored object, with the objects hanging off cases and meetings."""
        out: list[Any] = []
        for store in self._stores().values():
            out.extend(store.values() if isinstance(store, dict) else store)
        for case in self.cases.cases.values():
            out.extend([*case.versions, *case.transitions, *case.price_checks])
        for meeting in self.meetings.meetings.values():
            out.extend([*meeting.cases, *meeting.absences])
        for draft in self.drafts.drafts.values():
            out.extend(draft.steps)
        return out

    def __enter__(self) -> Self:
        self.committed = False
        self._mark = self._snapshot()
        return super().__enter__()

    def _snapshot(self) -> dict[str, Any]:
        mark: dict[str, Any] = {
            name: set(store) if isinstance(store, dict) else len(store)
            for name, store in self._stores().items()
        }
        # a number taken in a rolled-back upload is not spent
        mark["sequences"] = dict(self.cases.sequences)
        mark["figures"] = self.figures.snapshot()
        mark["objects"] = [(obj, _state(obj)) for obj in self._objects()]
        return mark

    def commit(self) -> None:
        self.committed = True
        self.commits += 1
        self._mark = self._snapshot()

    def rollback(self) -> None:
        if self._mark is None:
            return
        self.cases.sequences.clear()
        self.cases.sequences.update(self._mark["sequences"])
        self.figures.restore(self._mark["figures"])
        for name, store in self._stores().items():
            kept = self._mark[name]
            if isinstance(store, dict):
                for key in set(store) - kept:
                    del store[key]
            else:
                del store[kept:]
        for obj, state in self._mark["objects"]:
            _restore(obj, state)
