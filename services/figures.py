"""The figures of WORKFLOW.md section 7 from the database, kept cheap for 100,000 cases.

One design (issue 12, measured in docs/performance.md): rows per case, counts kept at refresh
time, one aggregation, one small cache.

- `refresh(uow)` keeps one `case_figures` row per case (`processor.statistics.CaseFigures`:
  form type, HF, region, specialty, received date, state, outcome and its date, total and
  per-stage durations in `case_figure_stages`, returns, flow links). One query finds the cases
  whose row is missing or older than the case (its `version` or `updated_at` differs from what
  the row was computed from); only their histories are read, in chunks, and their rows
  rewritten, in one unit of work. Every service that changes a case raises its `version`, so a
  row is stale exactly when it must be. That query is a join over every case, so it runs only
  when the cases changed: `cases_marker` (number of cases, sum of their versions: one scan of
  `cases`) is kept in `figures_generation` by the refresh that checked it.
- The same refresh keeps `figures_counts`: `processor.statistics.counter_keys` of every case
  summed under each of its `counter_scopes` (all cases, every combination of HF, region, year,
  specialty and type the pages offer but an HF with a region, and the public figures' scopes).
  It takes a rewritten case's old keys off (`DELETE ... RETURNING`: exactly the rows this
  transaction removed) and adds its new ones; one refresh writes at a time (the
  `figures_generation` row is locked). Counting 100,000 rows per request with `GROUP BY` took
  0.1 to 6 s per filter at 100,000 cases, so the counts are what holds p95 <= 100 ms.
- `count` reads the figures of a filter from its scope's counts (a few thousand rows) with
  `processor.statistics.aggregate_counters`, the one aggregation. Filters no scope holds (dates,
  which no page offers, and an HF with a region when the registry moved the HF and its cases
  lie in two regions) are counted from the rows in Python with the same function
  (`aggregate`). When the counts hold fewer cases than there are rows (a case deleted with its
  rows, a database from before the table), they are not used and the next refresh counts them
  all anew (`recount`).
- `figures(uow, filters)` reads the cases marker, answers from a small LRU cache
  (`cachetools`) keyed by database, filters and the marker the figures were counted at, and
  otherwise refreshes (when the marker moved) and counts. Any change of a case changes the
  marker, so a cached answer is never older than the cases.

Results are shared between callers through the cache: treat them as read-only
(`public_figures` copies before it changes anything).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import repeat
from typing import Any

from cachetools import LRUCache
from sqlalchemy import Text, case, cast, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from forms.text import encodable
from processor.statistics import (
    ONE_PER_CASE,
    CaseFigures,
    CaseHistory,
    CounterKey,
    Filters,
    Transition,
    WorkingDays,
    aggregate,
    aggregate_counters,
    case_figures,
    counted_regions,
    counter_keys,
    counter_scope,
    counter_scopes,
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
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate

log = logging.getLogger(__name__)

__all__ = [
    "Figures",
    "RefreshResult",
    "clear_cache",
    "cases_marker",
    "cases_marker_of",
    "count",
    "facets",
    "figures",
    "filter_choices",
    "filter_key",
    "histories",
    "load",
    "parse_year",
    "recount",
    "refresh",
    "stale_case_ids",
    "stale_case_ids_of",
]

MINIHTA = "minihta"
DECISION_FORM = "minihta-beslutning"  # skjema 3 (MINIHTA.md), `beslutning.utfall`
CHUNK = 500
CACHE_SIZE = 32
ATTEMPTS = 3
TEXT_LIMIT = 200  # `case_figures.fagomrade`, `figures_counts.key` and `.item`
OUTCOME_LIMIT = 40  # `case_figures.outcome`


@dataclass(frozen=True)
class RefreshResult:
    refreshed: int
    generation: int


@dataclass(frozen=True)
class Figures:
    """The figures (`compute`'s dict), a key that names them (database, filters, cases marker:
    for derived caches) and when they were computed (aware UTC)."""

    stats: dict[str, Any]
    key: tuple[Any, ...]
    computed_at: datetime


def _session(uow: AbstractUnitOfWork) -> Session:
    session = getattr(uow, "session", None)
    if session is None:
        raise RuntimeError("the figures need the SQLAlchemy unit of work")
    return session


def _regions() -> dict[str, str]:
    from forms.catalog import registry

    return {code: t.region for code, t in registry().trusts.items()}


def _get(data: Any, section: str, key: str) -> Any:
    value = data.get(section) if isinstance(data, dict) else None
    return value.get(key) if isinstance(value, dict) else None


def _text(value: Any, limit: int) -> str | None:
    """A stored JSON text as the figures keep it: stripped, within the column's `limit`, and
    with every lone surrogate made U+FFFD (a mended or legacy row; issue 11), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return encodable(value.strip())[:limit]


# ---- refresh ------------------------------------------------------------------------------------


def stale_case_ids(session: Session) -> list[str]:
    """Cases whose figures row is missing or was computed from an older state of the case."""
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
    return list(session.scalars(stmt))


def stale_case_ids_of(uow: AbstractUnitOfWork) -> list[str]:
    """`stale_case_ids` in a unit of work of its own (for the CLI and the tests)."""
    with uow:
        return stale_case_ids(_session(uow))


def histories(session: Session, ids: list[str]) -> list[tuple[CaseHistory, int, Any]]:
    """`(history, version, updated_at)` of the cases `ids`, read with five queries."""
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
    minihta = [c.id for c in cases if c.form_type == MINIHTA]
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


def cases_marker_of(uow: AbstractUnitOfWork) -> str:
    """`cases_marker` in a unit of work of its own."""
    with uow:
        return cases_marker(_session(uow))


def cases_marker(session: Session) -> str:
    """A fingerprint of the `cases` table: the number of cases and the sum of their versions.

    Any change of a case changes it: `version` is the optimistic-concurrency counter that every
    change of a case raises (never lowers: services, and the direct writes of the benchmarks and
    tests too), and a new case adds to the count. Cases are never deleted by the services; a
    deleted case takes from the count. One scan of `cases` without a join (a few milliseconds
    for 100,000 cases), instead of the join of `stale_case_ids`.
    """
    count, versions = session.execute(
        select(func.count(), func.coalesce(func.sum(Case.version), 0))
    ).one()
    return f"{int(count)}:{int(versions)}"


def _state(session: Session) -> tuple[int, str | None]:
    """`(generation, cases marker)` as the last refresh left them."""
    row = session.execute(
        select(FiguresGeneration.generation, FiguresGeneration.cases_marker).where(
            FiguresGeneration.id == 1
        )
    ).one_or_none()
    return (int(row[0]), row[1]) if row is not None else (0, None)


def _record(session: Session, seen: int, marker: str, bump: int) -> int:
    """Raise the generation by `bump` and remember `marker` as checked, in one statement.

    The marker is kept only when no other refresh committed since this one read generation
    `seen`: that refresh may have written rows from an older read of the cases than this one's
    check, and then the next request must check again (the marker is cleared)."""
    g = FiguresGeneration
    done = session.execute(
        update(g)
        .where(g.id == 1)
        .values(
            generation=g.generation + bump,
            cases_marker=case((g.generation == seen, marker), else_=None),
        )
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        session.add(FiguresGeneration(id=1, generation=bump, cases_marker=marker))
        session.flush()
    return _state(session)[0]


def _refresh_once(
    uow: AbstractUnitOfWork,
    regions: Mapping[str, str],
    working_days: WorkingDays | None,
    chunk: int,
) -> RefreshResult:
    with uow:
        session = _session(uow)
        # the marker is read before the check: a change made after it changes the marker again
        marker = cases_marker(session)
        generation, checked = _state(session)
        if checked == marker:
            return RefreshResult(0, generation)
        # One refresh writes at a time (PostgreSQL; SQLite has one writer anyway): the counts
        # are changed by what each one takes off and adds, and checked against the rows.
        _lock(session)
        generation, checked = _state(session)
        if checked == marker:  # another refresh did it while this one waited
            return RefreshResult(0, generation)
        ids = stale_case_ids(session)
        now = uow.now()
        counts = _Counts()
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            found = histories(session, part)
            figs = case_figures(
                [h for h, _, _ in found], regions=regions, working_days=working_days
            )
            rows = [
                _row(fig, version, updated_at, now)
                for fig, (_, version, updated_at) in zip(figs, found, strict=True)
            ]
            stages = [stage for fig in figs for stage in _stage_rows(fig)]
            for fig in _take_off(session, part):
                counts.add(fig, -1)
            for fig in figs:
                counts.add(fig, 1)
            if rows:
                session.execute(insert(CaseFigure), rows)
            if stages:
                session.execute(insert(CaseFigureStage), stages)
        _add_counts(session, counts.expanded())
        if not _counts_complete(session):  # a deleted case, or counts older than the table
            recount(session)
        # A new generation also when no row was written: the cases changed in a way that left
        # no row stale (a deleted case takes its row along), and the cached figures must go.
        generation = _record(session, generation, marker, bump=1)
        uow.commit()
        return RefreshResult(len(ids), generation)


_Key = tuple[str, str, str, str, str, int]  # scope, then `processor.statistics.CounterKey`
_ALL = counter_scope(Filters())  # the scope of all cases
_LOWERED_BY_KEY = 3000  # counts lowered in one refresh that are checked for 0 one by one


class _Counts:
    """The changes of `figures_counts` from cases taken off and added: each case's
    `counter_keys` under each of its `counter_scopes`. Counted per set of scopes first (cases
    share their sets: a number stands for each) and spread over the scopes once at the end, about
    fifteen times fewer steps than counting every key under every scope."""

    def __init__(self) -> None:
        self.sets: dict[tuple[str, ...], int] = {}
        self.base: Counter[tuple[int, CounterKey]] = Counter()

    def add(self, fig: CaseFigures, sign: int) -> None:
        scopes = tuple(counter_scopes(fig))
        number = self.sets.setdefault(scopes, len(self.sets))
        pairs = zip(repeat(number), counter_keys(fig))
        if sign > 0:
            self.base.update(pairs)  # counted in C
        else:
            self.base.subtract(pairs)

    def expanded(self) -> Counter[_Key]:
        sets = {number: scopes for scopes, number in self.sets.items()}
        out: Counter[_Key] = Counter()
        for (number, key), n in self.base.items():
            if n:
                for scope in sets[number]:
                    out[(scope, *key)] += n
        return out


def _lock(session: Session) -> None:
    """Hold the `figures_generation` row until commit (PostgreSQL; no-op on SQLite)."""
    g = FiguresGeneration
    session.execute(select(g.id).where(g.id == 1).with_for_update())


def _take_off(session: Session, ids: list[str]) -> list[CaseFigures]:
    """Delete the figures rows of `ids`; returns what they held (`DELETE ... RETURNING`: exactly
    the rows this transaction removed, so their counts are taken off once)."""
    stage_cal: dict[str, dict[str, int]] = {}
    stage_work: dict[str, dict[str, int]] = {}
    s = CaseFigureStage
    for case_id, state, cal, work in session.execute(
        delete(s)
        .where(s.case_id.in_(ids))
        .returning(s.case_id, s.state, s.calendar_days, s.working_days)
    ):
        stage_cal.setdefault(case_id, {})[state] = cal
        stage_work.setdefault(case_id, {})[state] = work
    f = CaseFigure
    rows = session.execute(delete(f).where(f.case_id.in_(ids)).returning(*_FIGURE_COLUMNS))
    return [_figure(row, stage_cal, stage_work) for row in rows]


def _add_counts(session: Session, counts: Mapping[_Key, int]) -> None:
    """Add `counts` (negative: take off) to `figures_counts`; counts that reach 0 go. In key
    order, so that two writers lock the rows in the same order."""
    changes = sorted((key, n) for key, n in counts.items() if n)
    if not changes:
        return
    c = FiguresCount
    dialect = session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):  # pragma: no cover - the two supported backends
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
    # only a count that was lowered can have reached 0: a few are looked up by key (a delete of
    # every 0 reads all 617,000 rows of 100,000 cases, 80 ms on SQLite); many, by that delete
    lowered = [key for key, n in changes if n < 0]
    if len(lowered) > _LOWERED_BY_KEY:
        session.execute(delete(c).where(c.n == 0))
        return
    columns = tuple_(c.scope, c.kind, c.grouping, c.key, c.item, c.value)
    for start in range(0, len(lowered), 300):
        session.execute(delete(c).where(c.n == 0, columns.in_(lowered[start : start + 300])))


def _counts_complete(session: Session, checked: str | None = None) -> bool:
    """Whether the counts hold as many cases as `case_figures` has rows. `checked`: the cases
    marker at which the last refresh found every row current (`_state`); the rows then number
    the cases of that marker, and the rows are not counted (PostgreSQL counts by a scan)."""
    if checked is not None:
        rows = int(checked.partition(":")[0])
    else:
        rows = session.scalar(select(func.count()).select_from(CaseFigure)) or 0
    return int(rows) == _cases_counted(session)


def _cases_counted(session: Session) -> int:
    """The number of cases the counts hold (each counted once under all cases)."""
    c = FiguresCount
    counted = session.scalar(
        select(func.coalesce(func.sum(c.n), 0)).where(c.scope == _ALL, c.kind == ONE_PER_CASE)
    )
    return int(counted or 0)


def recount(session: Session) -> None:
    """Count `figures_counts` anew from every `case_figures` row (after a case was deleted with
    its rows, or once after the table was added)."""
    log.info("Teller opp tallene for alle saker på nytt.")
    session.execute(delete(FiguresCount))
    counts = _Counts()
    for fig in load(session):
        counts.add(fig, 1)
    _add_counts(session, counts.expanded())


def recount_all(uow: AbstractUnitOfWork) -> int:
    """Count `figures_counts` anew from every `case_figures` row (`stats --recount`: after a
    restore, or when a count is suspected; the automatic check compares only their total) and
    forget the figures cached from the old counts. One refresh at a time, as for every writer of
    the counts. Returns the number of cases counted. A running worker may show the figures it
    holds in memory until any case changes."""
    with uow:
        session = _session(uow)
        _lock(session)
        recount(session)
        counted = _cases_counted(session)
        uow.commit()
    clear_cache()
    return counted


def _counted(
    session: Session, filters: Filters, checked: str | None = None
) -> dict[str, Any] | None:
    """The figures of `filters` from `figures_counts`; None when no scope holds them (dates, an
    HF whose cases lie in two regions) or the counts are not complete (a database whose counts
    no refresh has made yet)."""
    scope = counter_scope(filters)
    region = None
    if scope is None and filters.hf is not None and filters.region is not None:
        # an HF with a region: the HF's counts, when its cases lie in that region (all or none)
        region = filters.region
        scope = counter_scope(replace(filters, region=None))
    if scope is None or not _counts_complete(session, checked):
        return None
    c = FiguresCount
    rows: list[Any] = list(
        session.connection().execute(  # Core: half the time of the ORM for these rows
            select(c.kind, c.grouping, c.key, c.item, c.value, c.n).where(c.scope == scope)
        )
    )
    if region is not None:
        regions = counted_regions(rows)
        if regions - {region}:  # cases of the HF lie in another region
            if region in regions:
                return None  # some here, some elsewhere (the registry moved the HF): the rows
            rows = []  # none of its cases lie in that region
    return aggregate_counters(rows, filters)


def refresh(
    uow: AbstractUnitOfWork,
    *,
    regions: Mapping[str, str] | None = None,
    working_days: WorkingDays | None = None,
    chunk: int = CHUNK,
) -> RefreshResult:
    """Recompute the figures rows of the cases that changed since their row was written.

    Two processes refreshing at once: the one that loses the race retries (it then finds
    nothing or less to do).
    """
    regions = regions if regions is not None else _regions()
    for attempt in range(ATTEMPTS):
        try:
            result = _refresh_once(uow, regions, working_days, chunk)
            break
        except (ConcurrentUpdate, OperationalError):
            if attempt == ATTEMPTS - 1:
                raise
    else:  # pragma: no cover
        raise AssertionError("unreachable")
    return result


# ---- aggregation --------------------------------------------------------------------------------


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


def count(session: Session, filters: Filters, checked: str | None = None) -> dict[str, Any]:
    """The figures of the cases that pass `filters`, counted now: from the counts of their scope
    (`counter_scope`, `_counted`: a few thousand rows), else from the rows that pass them
    (`load`: dates, or an HF whose cases lie in two regions). `checked`: the cases marker the
    last refresh checked the rows at, if known."""
    stats = _counted(session, filters, checked)
    if stats is None:
        stats = aggregate(load(session, filters), filters, prefiltered=True)
    return stats


def load(session: Session, filters: Filters | None = None) -> list[CaseFigures]:
    """The per-case figures of the cases that pass `filters` (selected in SQL), one per row:
    for `recount`, and for the filters no counts hold."""
    where = _where(filters or Filters())
    stage_cal: dict[str, dict[str, int]] = {}
    stage_work: dict[str, dict[str, int]] = {}
    s = CaseFigureStage
    stmt = select(s.case_id, s.state, s.calendar_days, s.working_days)
    if where:
        stmt = stmt.join(CaseFigure, CaseFigure.case_id == s.case_id).where(*where)
    for case_id, state, cal, work in session.execute(stmt):
        stage_cal.setdefault(case_id, {})[state] = cal
        stage_work.setdefault(case_id, {})[state] = work
    rows = session.execute(select(*_FIGURE_COLUMNS).where(*where))
    return [_figure(row, stage_cal, stage_work) for row in rows]


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


_cache: LRUCache[tuple[str, str, str], Figures] = LRUCache(maxsize=CACHE_SIZE)
_cache_lock = threading.Lock()  # cachetools' caches are not thread-safe


def clear_cache() -> None:
    """Forget this process's figures (as a new process would start)."""
    with _cache_lock:
        _cache.clear()


def filter_key(filters: Filters) -> str:
    """The filters as compact JSON with sorted keys: the same filters, the same text."""
    return json.dumps(filters.as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _url(session: Session) -> str:
    bind = session.get_bind()
    return bind.url.render_as_string(hide_password=True)  # type: ignore[union-attr]


def figures(
    uow: AbstractUnitOfWork,
    filters: Filters | None = None,
    *,
    refresh_first: bool = True,
    cache: bool = True,
    marker: str | None = None,
) -> Figures:
    """The figures of `processor.statistics.compute` for the cases that pass `filters`, as the
    cases are now: from the cache when counted at the current cases marker, else counted (after
    refreshing the rows when the cases changed, with `refresh_first`). `cache=False` neither
    reads nor fills the cache (the CLI's `stats`). `marker` is `cases_marker` when the caller
    has just read it (a request that asks for two filters)."""
    filters = filters or Filters()
    key = filter_key(filters)
    with uow:
        session = _session(uow)
        url = _url(session)
        if marker is None:
            marker = cases_marker(session)
        checked = _state(session)[1]
    if cache:
        with _cache_lock:
            found = _cache.get((url, key, marker))
        if found is not None:
            return found
    if refresh_first and checked != marker:
        refresh(uow)
    with uow:
        session = _session(uow)
        # the state is read before the counts: they are the same or newer, never older, so
        # figures are at worst cached under an older marker (and counted once more)
        checked = _state(session)[1]
        stats = count(session, filters, checked)
        computed_at = uow.now()
    found = Figures(stats, (url, key, checked), computed_at)
    if cache and checked is not None:  # None: a refresh raced another, the rows are unchecked
        with _cache_lock:
            _cache[(url, key, checked)] = found
    return found


def filter_choices(uow: AbstractUnitOfWork, marker: str | None = None) -> dict[str, list[str]]:
    """`facets` of the unfiltered figures (the filter form's choices)."""
    return facets(figures(uow, Filters(), marker=marker).stats)


def facets(stats: Mapping[str, Any]) -> dict[str, list[str]]:
    """The values the filter form offers, from unfiltered figures."""
    return {
        "hf": [k for k in stats["per_hf"] if k != "skjult"],
        "region": [k for k in stats["per_region"] if k != "skjult"],
        "ar": [k for k in stats["per_ar"] if k != "skjult"],
        "fagomrade": [k for k in stats["per_fagomrade"] if k not in ("skjult", "ikke_oppgitt")],
        "type": [k for k in stats["per_type"] if k != "skjult"],
    }


def parse_year(value: str | None) -> int | None:
    """`ar` as a year, or None when empty; ValueError when not four digits."""
    raw = (value or "").strip()
    if not raw:
        return None
    if not (raw.isdigit() and len(raw) == 4):
        raise ValueError(raw)
    return int(raw)
