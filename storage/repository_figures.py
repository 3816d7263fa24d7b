"""The figures tables (WORKFLOW.md section 7, issue 12): `case_figures` and its stages,
`figures_counts` and the `figures_generation` row, behind a repository reached as `uow.figures`.

The interface and its SQLAlchemy adapter. What the rows and counts mean, when they are refreshed
and how figures are counted from them is `services.figures` (with the pure rules in
`processor.statistics`); this module only reads and writes them. Like every repository it never
commits (the unit of work does). No fake: the figures services are tested against SQLite and
PostgreSQL (`tests/storage/test_figures.py`).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, case, cast, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from forms.text import encodable
from processor.domain import FormType
from processor.statistics import (
    ONE_PER_CASE,
    CaseFigures,
    CaseHistory,
    Filters,
    Transition,
    counter_scope,
)
from storage.models import Case, CaseVersion
from storage.models import Transition as TransitionRow
from storage.models_committee import Decision
from storage.models_figures import (
    CaseFigure,
    CaseFigureStage,
    FiguresCount,
    FiguresGeneration,
)
from storage.models_minihta import MinihtaAttachment

# A key of `figures_counts`: the scope, then `processor.statistics.CounterKey`.
ScopedKey = tuple[str, str, str, str, str, int]
# A case's history as read for its figures row: `(history, version, updated_at)` of the case.
SourcedHistory = tuple[CaseHistory, int, Any]

DECISION_FORM = FormType.MINIHTA_BESLUTNING  # skjema 3 (MINIHTA.md), `beslutning.utfall`
TEXT_LIMIT = 200  # `case_figures.fagomrade`, `figures_counts.key` and `.item`
OUTCOME_LIMIT = 40  # `case_figures.outcome`
LOWERED_BY_KEY = 3000  # counts lowered in one `add_counts` that are checked for 0 one by one
ALL_CASES = counter_scope(Filters())  # the scope of all cases


def lost_race(error: BaseException) -> bool:
    """Whether `error`, raised by a refresh of the figures (besides `ConcurrentUpdate`), means
    another writer held the database: a lock the database gave up waiting for (SQLite's
    "database is locked", a PostgreSQL lock or deadlock). The refresh is then tried again."""
    return isinstance(error, OperationalError)


# ---- interface ----------------------------------------------------------------------------------


class AbstractFiguresRepository(ABC):
    """The per-case figures rows, the kept counts and the refresh's state."""

    @abstractmethod
    def database(self) -> str:
        """The database's address without a password (part of the figures' cache key)."""

    @abstractmethod
    def cases_marker(self) -> str:
        """A fingerprint of the cases: their number and the sum of their versions."""

    @abstractmethod
    def state(self) -> tuple[int, str | None]:
        """`(generation, cases marker)` as the last refresh left them."""

    @abstractmethod
    def lock(self) -> None:
        """Hold the refresh's state until commit: one writer of the counts at a time."""

    @abstractmethod
    def record(self, seen: int, marker: str, bump: int) -> int:
        """Raise the generation by `bump` and remember `marker` as checked, unless another
        refresh committed since generation `seen` was read (the marker is cleared then).
        Returns the new generation."""

    @abstractmethod
    def stale_case_ids(self) -> list[str]:
        """Cases whose figures row is missing or was computed from an older state of the case."""

    @abstractmethod
    def histories(self, ids: Sequence[str]) -> list[SourcedHistory]:
        """`(history, version, updated_at)` of the cases `ids`."""

    @abstractmethod
    def take_off(self, ids: Sequence[str]) -> list[CaseFigures]:
        """Delete the figures rows of `ids`; returns exactly what this transaction removed."""

    @abstractmethod
    def put(self, figures: Iterable[tuple[CaseFigures, int, Any]], now: datetime) -> None:
        """Write the figures rows of `(figures, version, updated_at)` (rows taken off first)."""

    @abstractmethod
    def load(self, filters: Filters | None = None) -> list[CaseFigures]:
        """The per-case figures of the rows that pass `filters`."""

    @abstractmethod
    def add_counts(self, counts: Mapping[ScopedKey, int]) -> None:
        """Add `counts` (negative: take off) to the kept counts; counts that reach 0 go."""

    @abstractmethod
    def clear_counts(self) -> None:
        """Forget every kept count."""

    @abstractmethod
    def counts(self, scope: str) -> list[tuple[str, str, str, str, int, int]]:
        """The kept counts of `scope`: `(*CounterKey, n)` rows."""

    @abstractmethod
    def cases_counted(self) -> int:
        """The number of cases the counts hold."""

    @abstractmethod
    def rows(self) -> int:
        """The number of figures rows."""


# ---- SQLAlchemy ---------------------------------------------------------------------------------


def _get(data: Any, section: str, key: str) -> Any:
    value = data.get(section) if isinstance(data, dict) else None
    return value.get(key) if isinstance(value, dict) else None


def _text(value: Any, limit: int) -> str | None:
    """A stored JSON text as the figures keep it: stripped, within the column's `limit`, and
    with every lone surrogate made U+FFFD (a mended or legacy row; issue 11), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return encodable(value.strip())[:limit]


def _links_text(links: list[tuple[str, str]]) -> str:
    return json.dumps([list(link) for link in links], ensure_ascii=False, separators=(",", ":"))


def _row(fig: CaseFigures, version: int, updated_at: Any, now: Any) -> dict[str, Any]:
    return {
        "case_id": fig.id,
        "form_type": fig.form_type,
        "hf": fig.hf,
        "region": fig.region,
        "fagomrade": fig.fagomrade,
        "received_on": fig.received,
        "received_year": fig.received.year,
        "state": fig.state,
        "outcome_on": fig.outcome_date,
        "outcome": fig.outcome,
        "total_calendar_days": fig.total_cal,
        "total_working_days": fig.total_work,
        "returns": fig.returns,
        "links": _links_text(fig.links),
        "source_version": version,
        "source_updated_at": updated_at,
        "refreshed_at": now,
    }


def _stage_rows(fig: CaseFigures) -> list[dict[str, Any]]:
    return [
        {
            "case_id": fig.id,
            "state": state,
            "calendar_days": days,
            "working_days": fig.stage_work[state],
        }
        for state, days in fig.stage_cal.items()
    ]


def _where(filters: Filters) -> list[Any]:
    conditions: list[Any] = []
    if filters.hf is not None:
        conditions.append(CaseFigure.hf == filters.hf)
    if filters.region is not None:
        conditions.append(CaseFigure.region == filters.region)
    if filters.form_type is not None:
        conditions.append(CaseFigure.form_type == filters.form_type)
    if filters.fagomrade is not None:
        conditions.append(CaseFigure.fagomrade == filters.fagomrade)
    if filters.year is not None:
        conditions.append(CaseFigure.received_year == filters.year)
    if filters.date_from is not None:
        conditions.append(CaseFigure.received_on >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(CaseFigure.received_on <= filters.date_to)
    if filters.state is not None:
        conditions.append(CaseFigure.state == filters.state)
    return conditions


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


_FIGURE_COLUMNS = (
    CaseFigure.case_id,
    CaseFigure.form_type,
    CaseFigure.hf,
    CaseFigure.fagomrade,
    CaseFigure.region,
    cast(CaseFigure.received_on, Text),  # as text: the same on both backends, parsed once
    CaseFigure.state,
    CaseFigure.total_calendar_days,
    CaseFigure.total_working_days,
    CaseFigure.returns,
    CaseFigure.outcome,
    cast(CaseFigure.outcome_on, Text),
    CaseFigure.links,
)


def _figure(
    row: Any, stage_cal: Mapping[str, dict[str, int]], stage_work: Mapping[str, dict[str, int]]
) -> CaseFigures:
    """A `case_figures` row (`_FIGURE_COLUMNS`) and its stages as `CaseFigures`."""
    return CaseFigures(
        id=row[0],
        form_type=row[1],
        hf=row[2],
        fagomrade=row[3],
        region=row[4],
        received=_day(row[5]),
        state=row[6],
        total_cal=row[7],
        total_work=row[8],
        stage_cal=stage_cal.get(row[0], {}),
        stage_work=stage_work.get(row[0], {}),
        returns=row[9],
        outcome=row[10],
        outcome_date=_day(row[11]) if row[11] else None,
        links=[(a, b) for a, b in json.loads(row[12])],
    )


class SqlAlchemyFiguresRepository(AbstractFiguresRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def database(self) -> str:
        bind = self.session.get_bind()
        return bind.url.render_as_string(hide_password=True)  # type: ignore[union-attr]

    def cases_marker(self) -> str:
        """Any change of a case changes it: `version` is the optimistic-concurrency counter that
        every change of a case raises (never lowers: services, and the direct writes of the
        benchmarks and tests too), and a new case adds to the count. Cases are never deleted by
        the services; a deleted case takes from the count. One scan of `cases` without a join (a
        few milliseconds for 100,000 cases), instead of the join of `stale_case_ids`."""
        count, versions = self.session.execute(
            select(func.count(), func.coalesce(func.sum(Case.version), 0))
        ).one()
        return f"{int(count)}:{int(versions)}"

    def state(self) -> tuple[int, str | None]:
        row = self.session.execute(
            select(FiguresGeneration.generation, FiguresGeneration.cases_marker).where(
                FiguresGeneration.id == 1
            )
        ).one_or_none()
        return (int(row[0]), row[1]) if row is not None else (0, None)

    def lock(self) -> None:
        """Hold the `figures_generation` row until commit (PostgreSQL; no-op on SQLite, which
        has one writer anyway)."""
        g = FiguresGeneration
        self.session.execute(select(g.id).where(g.id == 1).with_for_update())

    def record(self, seen: int, marker: str, bump: int) -> int:
        """In one statement: the marker is kept only when no other refresh committed since this
        one read generation `seen`: that refresh may have written rows from an older read of the
        cases than this one's check, and then the next request must check again."""
        g = FiguresGeneration
        done = self.session.execute(
            update(g)
            .where(g.id == 1)
            .values(
                generation=g.generation + bump,
                cases_marker=case((g.generation == seen, marker), else_=None),
            )
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            self.session.add(FiguresGeneration(id=1, generation=bump, cases_marker=marker))
            self.session.flush()
        return self.state()[0]

    def stale_case_ids(self) -> list[str]:
        """The row is stale when its case's `version` or `updated_at` differs from what the row
        was computed from: a join over every case."""
        row = CaseFigure
        stmt = (
            select(Case.id)
            .outerjoin(row, row.case_id == Case.id)
            .where(
                or_(
                    row.case_id.is_(None),
                    row.source_version != Case.version,
                    row.source_updated_at < Case.updated_at,
                )
            )
            .order_by(Case.id)
        )
        return list(self.session.scalars(stmt))

    def histories(self, ids: Sequence[str]) -> list[SourcedHistory]:
        """Read with five queries: the cases, their transitions, decisions, and for mini-HTAs
        the specialty of the latest version and the outcome of the latest decision form."""
        session = self.session
        cases = session.execute(
            select(
                Case.id, Case.form_type, Case.hf, Case.created_at, Case.version, Case.updated_at
            ).where(Case.id.in_(ids))
        ).all()
        steps: dict[str, list[Transition]] = {i: [] for i in ids}
        for case_id, at, from_, to in session.execute(
            select(
                TransitionRow.case_id,
                TransitionRow.at,
                TransitionRow.from_state,
                TransitionRow.to_state,
            )
            .where(TransitionRow.case_id.in_(ids))
            .order_by(TransitionRow.case_id, TransitionRow.id)
        ):
            steps[case_id].append(Transition(at, from_, to))
        outcomes: dict[str, str] = dict(
            (case_id, outcome)
            for case_id, outcome in session.execute(
                select(Decision.case_id, Decision.outcome).where(Decision.case_id.in_(ids))
            )
        )
        minihta = [c.id for c in cases if c.form_type == FormType.MINIHTA]
        specialties: dict[str, str | None] = {}
        if minihta:
            latest: dict[str, tuple[int, Any]] = {}
            for case_id, number, data in session.execute(
                select(CaseVersion.case_id, CaseVersion.number, CaseVersion.data).where(
                    CaseVersion.case_id.in_(minihta)
                )
            ):
                if case_id not in latest or number > latest[case_id][0]:
                    latest[case_id] = (number, data)
            specialties = {
                k: _text(_get(d, "metode", "fagomrade"), TEXT_LIMIT) for k, (_, d) in latest.items()
            }
            decided: dict[str, tuple[int, Any]] = {}
            for case_id, number, data in session.execute(
                select(
                    MinihtaAttachment.case_id, MinihtaAttachment.number, MinihtaAttachment.data
                ).where(
                    MinihtaAttachment.case_id.in_(minihta),
                    MinihtaAttachment.form_type == DECISION_FORM,
                )
            ):
                if case_id not in decided or number > decided[case_id][0]:
                    decided[case_id] = (number, data)
            for case_id, (_, data) in decided.items():
                utfall = _text(_get(data, "beslutning", "utfall"), OUTCOME_LIMIT)
                if utfall:
                    outcomes[case_id] = utfall
        return [
            (
                CaseHistory(
                    id=c.id,
                    form_type=c.form_type,
                    hf=c.hf,
                    fagomrade=specialties.get(c.id),
                    created=c.created_at,
                    transitions=steps[c.id],
                    outcome=outcomes.get(c.id),
                ),
                c.version,
                c.updated_at,
            )
            for c in cases
        ]

    def take_off(self, ids: Sequence[str]) -> list[CaseFigures]:
        """`DELETE ... RETURNING`: exactly the rows this transaction removed, so their counts are
        taken off once."""
        stage_cal: dict[str, dict[str, int]] = {}
        stage_work: dict[str, dict[str, int]] = {}
        s = CaseFigureStage
        for case_id, state, cal, work in self.session.execute(
            delete(s)
            .where(s.case_id.in_(ids))
            .returning(s.case_id, s.state, s.calendar_days, s.working_days)
        ):
            stage_cal.setdefault(case_id, {})[state] = cal
            stage_work.setdefault(case_id, {})[state] = work
        f = CaseFigure
        rows = self.session.execute(delete(f).where(f.case_id.in_(ids)).returning(*_FIGURE_COLUMNS))
        return [_figure(row, stage_cal, stage_work) for row in rows]

    def put(self, figures: Iterable[tuple[CaseFigures, int, Any]], now: datetime) -> None:
        rows = []
        stages = []
        for fig, version, updated_at in figures:
            rows.append(_row(fig, version, updated_at, now))
            stages.extend(_stage_rows(fig))
        if rows:
            self.session.execute(insert(CaseFigure), rows)
        if stages:
            self.session.execute(insert(CaseFigureStage), stages)

    def load(self, filters: Filters | None = None) -> list[CaseFigures]:
        """Selected in SQL, one per row."""
        where = _where(filters or Filters())
        stage_cal: dict[str, dict[str, int]] = {}
        stage_work: dict[str, dict[str, int]] = {}
        s = CaseFigureStage
        stmt = select(s.case_id, s.state, s.calendar_days, s.working_days)
        if where:
            stmt = stmt.join(CaseFigure, CaseFigure.case_id == s.case_id).where(*where)
        for case_id, state, cal, work in self.session.execute(stmt):
            stage_cal.setdefault(case_id, {})[state] = cal
            stage_work.setdefault(case_id, {})[state] = work
        rows = self.session.execute(select(*_FIGURE_COLUMNS).where(*where))
        return [_figure(row, stage_cal, stage_work) for row in rows]

    def add_counts(self, counts: Mapping[ScopedKey, int]) -> None:
        """In key order, so that two writers lock the rows in the same order."""
        changes = sorted((key, n) for key, n in counts.items() if n)
        if not changes:
            return
        c = FiguresCount
        session = self.session
        dialect = session.get_bind().dialect.name
        if dialect not in ("sqlite", "postgresql"):  # pragma: no cover - the two backends
            raise RuntimeError(f"figures counts: unsupported database {dialect}")
        stmt = (postgresql if dialect == "postgresql" else sqlite).insert(c.__table__)
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.scope, c.kind, c.grouping, c.key, c.item, c.value],
            set_={"n": c.n + stmt.excluded.n},
        )
        session.connection().execute(  # Core: executemany without the ORM's bulk bookkeeping
            stmt,
            [
                {
                    "scope": scope,
                    "kind": k,
                    "grouping": g,
                    "key": key,
                    "item": item,
                    "value": value,
                    "n": n,
                }
                for (scope, k, g, key, item, value), n in changes
            ],
        )
        # only a count that was lowered can have reached 0: a few are looked up by key (a delete
        # of every 0 reads all 617,000 rows of 100,000 cases, 80 ms on SQLite); many, by that
        # delete
        lowered = [key for key, n in changes if n < 0]
        if len(lowered) > LOWERED_BY_KEY:
            session.execute(delete(c).where(c.n == 0))
            return
        columns = tuple_(c.scope, c.kind, c.grouping, c.key, c.item, c.value)
        for start in range(0, len(lowered), 300):
            session.execute(delete(c).where(c.n == 0, columns.in_(lowered[start : start + 300])))

    def clear_counts(self) -> None:
        self.session.execute(delete(FiguresCount))

    def counts(self, scope: str) -> list[tuple[str, str, str, str, int, int]]:
        c = FiguresCount
        return list(
            self.session.connection().execute(  # Core: half the time of the ORM for these rows
                select(c.kind, c.grouping, c.key, c.item, c.value, c.n).where(c.scope == scope)
            )
        )

    def cases_counted(self) -> int:
        """Each case is counted once under all cases (`ONE_PER_CASE`)."""
        c = FiguresCount
        counted = self.session.scalar(
            select(func.coalesce(func.sum(c.n), 0)).where(
                c.scope == ALL_CASES, c.kind == ONE_PER_CASE
            )
        )
        return int(counted or 0)

    def rows(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(CaseFigure)) or 0)
