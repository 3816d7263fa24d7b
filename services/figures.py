"""The figures of WORKFLOW.md section 7 from the database, kept cheap for 100,000 cases.

`processor.statistics.compute` over full case histories takes seconds for 100,000 cases, so the
histories are not read per request. Instead:

- `refresh(uow)` keeps one `case_figures` row per case (`processor.statistics.CaseFigures`:
  form type, HF, region, specialty, received date, state, outcome and its date, total and
  per-stage durations, returns, flow links). One query finds the cases whose row is missing or
  older than the case (its `version` or `updated_at` differs from what the row was computed
  from); only their histories are read, in chunks, and their rows rewritten, in one unit of work.
  Every service that changes a case raises its `version` and sets `updated_at` (transitions,
  new versions, decisions, mini-HTA attachments), so a row is stale exactly when it must be.
  That query is a join over every case (100 ms and more for 100,000), so it runs only when the
  cases changed: `cases_marker` (number of cases, sum of their versions: one scan of `cases`) is
  kept in `figures_generation` by the refresh that checked it, and a request whose marker is the
  same has nothing to look for.
- to compute figures, `figures(uow, filters)` refreshes, then counts the rows that pass the
  filters in SQL: a few `GROUP BY` queries give the counts per state, type, HF, region, year,
  specialty, outcome and number of returns, and the processing times (total and per stage, from the narrow
  `case_figure_stages`) as `{days: cases}` tables; only these group rows, a few thousand at most,
  come to Python, where `processor.statistics.aggregate_grouped` finds the medians and
  percentiles from them (`summarise_counts`: from the count tables, no lists). The dict is the
  same as `compute` would give over the histories
  (tested on SQLite and PostgreSQL). The result is kept with the refresh generation (a counter
  in the database raised by every refresh that found the cases changed) and the cases marker
  that refresh found current: while the cases give that marker, they are fresh. A refresh that
  wrote rows computes the unfiltered figures at once (`warm`), so they are ready for the next
  request. `filter_choices` gives a filtered page its choices without the unfiltered figures.

Counts kept at write time (issue 9, migrations `0006` and `0007`). Counting 100,000 rows in SQL
took 0.2 to 1.4 s per filter the first time it was asked for, and up to 0.3 s for three.
`figures_counts` holds the figures of all cases, of the cases of each single filter (one HF,
region, year, specialty or type) and of each combination of them (an HF, a year and a type ...:
`processor.statistics.counter_scopes`; an HF with a region is read from the HF's), as counts
(`counter_keys`: per grouping and key, per outcome and number of returns, the totals and stage
times per number of days, the outcome months, the flow links): a few thousand rows per scope. The
refresh that rewrites a case's rows takes its old keys off (`DELETE ... RETURNING`: exactly the
rows this transaction removed) and adds the new ones, in the same transaction, and one refresh
writes at a time (the `figures_generation` row is locked; without the lock two refreshes on
PostgreSQL could both take off the same rows). `count` reads such figures from the counts of their
scope (`aggregate_counters`, equal to `compute`); dates (`Filters.date_from/date_to`, which no page
or command offers) are counted over the rows as before, and so is an HF with a region when the
registry has moved the HF and its cases lie in two regions. The counts are checked against the
rows: when the cases counted differ from the rows (a case deleted with its rows, or a database from
before the table) they are not used, and the next refresh counts them all anew (`recount`, once).

Stale while revalidate (issue 9). Counting 100,000 rows again takes 0.2 to 3 seconds, and every
change of any case makes the last figures old, so a request does not wait for that when it has
figures to show:

- every computation is kept in `figures_snapshots` (one row per filter: the figures as JSON, the
  generation and cases marker they were computed for, when; at most `SNAPSHOTS` rows, the least
  recently computed go), so every worker process can use what another one computed and a restart
  starts warm; and in this process's cache;
- a request reads the cases marker (one scan of `cases`). Figures computed for that marker, in
  the cache or in the database, are fresh and returned. Older figures are returned at once too,
  marked stale (`Figures.stale`, `updating`), with `background=True`: one daemon thread per
  filter and process (single flight: a set of the filters being computed, under a lock)
  refreshes the rows and computes them anew, in a unit of work of its own, after looking once
  more for a snapshot another process may have written meanwhile. Its errors are logged; the next
  request starts another. Without `background` (the XLSX export, the CLI, the tests), and when
  there are no figures at all for the filter, the request computes them itself as before.
  `wait_for_background` waits for the threads (tests, benchmarks).

Results are shared between callers through the cache: treat them as read-only
(`public_figures` copies before it changes anything).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import traceback
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import repeat
from typing import Any

from sqlalchemy import Text, case, cast, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from forms.text import encodable
from processor.statistics import (
    NO_SPECIALTY,
    ONE_PER_CASE,
    CaseFigures,
    CaseHistory,
    CounterKey,
    Filters,
    GroupedFigures,
    Transition,
    WorkingDays,
    aggregate_counters,
    aggregate_grouped,
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
    FiguresSnapshot,
)
from storage.models_minihta import MinihtaAttachment
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate, SqlAlchemyUnitOfWork

log = logging.getLogger(__name__)

__all__ = [
    "Figures",
    "Prepare",
    "RefreshResult",
    "clear_cache",
    "cases_marker",
    "cases_marker_of",
    "count",
    "facets",
    "figures",
    "filter_choices",
    "filter_key",
    "grouped",
    "histories",
    "load",
    "parse_year",
    "recount",
    "refresh",
    "stale_case_ids",
    "stale_case_ids_of",
    "wait_for_background",
]

MINIHTA = "minihta"
DECISION_FORM = "minihta-beslutning"  # skjema 3 (MINIHTA.md), `beslutning.utfall`
CHUNK = 500
CACHE_SIZE = 32
ATTEMPTS = 3
SNAPSHOTS = 200  # rows of `figures_snapshots` kept
TEXT_LIMIT = 200  # `case_figures.fagomrade`, `figures_counts.key` and `.item`
OUTCOME_LIMIT = 40  # `case_figures.outcome`
UNFILTERED = "{}"  # `filter_key(Filters())`


@dataclass(frozen=True)
class RefreshResult:
    refreshed: int
    generation: int


@dataclass(frozen=True)
class Figures:
    """The figures (`compute`'s dict) and a key that names them (for derived caches).

    `computed_at` (aware UTC) is when they were computed; `stale` when the cases changed since,
    and `updating` when a computation of new figures runs meanwhile (in this process)."""

    stats: dict[str, Any]
    key: tuple[Any, ...]
    computed_at: datetime
    stale: bool = False
    updating: bool = False


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
    drop the figures stored from the old counts. One refresh at a time, as for every writer of
    the counts. Returns the number of cases counted. A running worker may show the figures it
    holds in memory until any case changes."""
    with uow:
        session = _session(uow)
        _lock(session)
        recount(session)
        session.execute(delete(FiguresSnapshot))
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
    warm: bool = True,
) -> RefreshResult:
    """Recompute the figures rows of the cases that changed since their row was written.

    Two processes refreshing at once: the one that loses the race retries (it then finds
    nothing or less to do). With `warm`, a refresh that wrote rows computes and caches the
    unfiltered figures (the page's filter choices need them on every request).
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
    if warm and result.refreshed:
        figures(uow, Filters(), refresh_first=False)
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


def grouped(session: Session, filters: Filters | None = None) -> GroupedFigures:
    """The cases that pass `filters` counted in groups by SQL (`GroupedFigures`): six
    `GROUP BY` queries; what comes back is group rows and their counts, never a row per case."""
    where = _where(filters or Filters())
    f = CaseFigure
    dims = (f.form_type, f.hf, f.region, f.received_year, f.fagomrade)
    n = func.count()
    per_case = (f.state, f.outcome, f.returns)
    cases = session.execute(select(*dims, *per_case, n).where(*where).group_by(*dims, *per_case))
    decided = (f.total_calendar_days.is_not(None), f.total_working_days.is_not(None))
    totals_cal, totals_work = (
        session.execute(select(*dims, days, n).where(*where, *decided).group_by(*dims, days))
        for days in (f.total_calendar_days, f.total_working_days)
    )
    # the date as text: the same on both backends, parsed once per date
    outcome_on = cast(f.outcome_on, Text)
    outcomes = session.execute(
        select(outcome_on, f.outcome, n)
        .where(*where, f.outcome_on.is_not(None))
        .group_by(outcome_on, f.outcome)
    )
    s = CaseFigureStage
    stage_cols = (s.state, s.calendar_days, s.working_days)
    stmt = select(*stage_cols, n).group_by(*stage_cols)
    if where:
        stmt = stmt.join(f, f.case_id == s.case_id).where(*where)
    stages = session.execute(stmt)
    links = session.execute(select(f.links, n).where(*where).group_by(f.links))
    return GroupedFigures(
        cases=cases.all(),  # type: ignore[arg-type]
        totals_cal=totals_cal.all(),  # type: ignore[arg-type]
        totals_work=totals_work.all(),  # type: ignore[arg-type]
        outcomes=[(_day(day), outcome, count) for day, outcome, count in outcomes],
        stages=stages.all(),  # type: ignore[arg-type]
        links=[([(a, b) for a, b in json.loads(text)], count) for text, count in links],
    )


def count(session: Session, filters: Filters, checked: str | None = None) -> dict[str, Any]:
    """The figures of the cases that pass `filters`, counted now from the rows as they are: with
    any filters but dates (`counter_scope`, `_counted`) from `figures_counts` (a few thousand
    rows), otherwise by `grouped`. `checked`: the cases marker the last refresh checked the rows
    at, if known."""
    stats = _counted(session, filters, checked)
    if stats is None:
        stats = aggregate_grouped(grouped(session, filters), filters)
    return stats


def load(session: Session, filters: Filters | None = None) -> list[CaseFigures]:
    """The per-case figures of the cases that pass `filters` (selected in SQL), one per row;
    for checks and exports (the figures themselves are counted in SQL, see `grouped`)."""
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


class _Cache:
    """A small LRU shared by the threads of one process: `_Entry`s under `(url, filter key)`,
    and filter choices."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_cache = _Cache(CACHE_SIZE)


def clear_cache() -> None:
    """Forget this process's figures (as a new process would start); the snapshots stay."""
    _cache.clear()


@dataclass(frozen=True)
class _Entry:
    """Computed figures and the state of the cases they were computed from."""

    stats: dict[str, Any]
    generation: int
    marker: str | None  # None: unknown (the refresh raced another), never fresh
    computed_at: datetime

    def fresh_for(self, marker: str) -> bool:
        return self.marker is not None and self.marker == marker

    def same(self, other: _Entry | _Snapshot) -> bool:
        return (self.generation, self.marker, self.computed_at) == (
            other.generation,
            other.marker,
            other.computed_at,
        )

    def result(self, url: str, key: str, *, stale: bool = False) -> Figures:
        name = (url, key, self.generation, self.marker, self.computed_at.isoformat())
        return Figures(self.stats, name, self.computed_at, stale=stale, updating=stale)


@dataclass(frozen=True)
class _Snapshot:
    """A row of `figures_snapshots`, its payload not yet parsed."""

    generation: int
    marker: str | None
    computed_at: datetime
    payload: str

    def entry(self) -> _Entry:
        return _Entry(json.loads(self.payload), self.generation, self.marker, self.computed_at)


def filter_key(filters: Filters) -> str:
    """The filters as compact JSON with sorted keys: the same filters, the same text."""
    return json.dumps(filters.as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _snapshot_id(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _url(session: Session) -> str:
    bind = session.get_bind()
    return bind.url.render_as_string(hide_password=True)  # type: ignore[union-attr]


def _read_snapshot(session: Session, key: str) -> _Snapshot | None:
    s = FiguresSnapshot
    row = session.execute(
        select(s.generation, s.cases_marker, s.computed_at, s.payload, s.filters).where(
            s.filter_key == _snapshot_id(key)
        )
    ).one_or_none()
    if row is None or row[4] != key:
        return None
    return _Snapshot(int(row[0]), row[1], row[2], row[3])


def _upsert(session: Session, values: dict[str, Any]) -> None:
    """Insert the snapshot, or replace one computed from the same or an older generation (a
    slower computation of older rows that finishes last leaves the newer snapshot)."""
    s = FiguresSnapshot
    dialect = session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):  # pragma: no cover - the two supported backends
        raise RuntimeError(f"figures snapshots: unsupported database {dialect}")
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(s).values(**values)
    columns = ("filters", "generation", "cases_marker", "computed_at", "payload")
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[s.filter_key],
            set_={name: stmt.excluded[name] for name in columns},
            where=s.generation <= stmt.excluded.generation,
        )
    )


def _evict(session: Session, keep: str) -> None:
    """Keep at most `SNAPSHOTS` rows: the least recently computed go (never `keep`)."""
    s = FiguresSnapshot
    count = session.scalar(select(func.count()).select_from(s)) or 0
    if count <= SNAPSHOTS:
        return
    old = session.scalars(
        select(s.filter_key)
        .where(s.filter_key != keep)
        .order_by(s.computed_at, s.filter_key)
        .limit(count - SNAPSHOTS)
    ).all()
    session.execute(delete(s).where(s.filter_key.in_(old)))


def _store(uow: AbstractUnitOfWork, key: str, entry: _Entry) -> None:
    """Keep `entry` as the snapshot of `key`, in a transaction of its own. A snapshot only saves
    work: when it cannot be written (the database busy), the figures are still returned."""
    ident = _snapshot_id(key)
    values = {
        "filter_key": ident,
        "filters": key,
        "generation": entry.generation,
        "cases_marker": entry.marker,
        "computed_at": entry.computed_at,
        "payload": json.dumps(entry.stats, ensure_ascii=False, separators=(",", ":")),
    }
    try:
        with uow:
            session = _session(uow)
            _upsert(session, values)
            _evict(session, ident)
            uow.commit()
    except (SQLAlchemyError, ConcurrentUpdate) as e:
        log.warning("Tallene ble beregnet, men ikke lagret i databasen (%s).", type(e).__name__)


def _compute(
    uow: AbstractUnitOfWork,
    filters: Filters,
    *,
    refresh_first: bool,
    keep: bool,
    marker: str | None = None,
) -> Figures:
    """Count the figures now (after refreshing the rows); with `keep`, cache and store them.
    `marker`: the cases marker the caller has just read; when the last refresh checked the rows
    at that marker, they need no refresh (which would read the marker again: a scan of `cases`).
    Cases changed since are no matter: the figures are kept for the marker that was checked."""
    if refresh_first and not (marker is not None and _checked_at(uow, marker)):
        refresh(uow, warm=False)  # this computation is the work that warming would do
    with uow:
        session = _session(uow)
        # the state is read before the rows: the rows are the same or newer, never older, so a
        # snapshot is at worst taken for older than it is (and computed once more)
        generation, marker = _state(session)
        computed_at = uow.now()
        stats = count(session, filters, marker)
        url = _url(session)
    entry = _Entry(stats, generation, marker, computed_at)
    key = filter_key(filters)
    if keep:
        _cache.put((url, key), entry)
        _store(uow, key, entry)
    return entry.result(url, key)


def _checked_at(uow: AbstractUnitOfWork, marker: str) -> bool:
    """Whether the last refresh found every row current at cases marker `marker`."""
    with uow:
        return _state(_session(uow))[1] == marker


# ---- background computations ---------------------------------------------------------------------

_running: set[tuple[str, str]] = set()  # (url, filter key) being computed in this process
_done = threading.Condition()


def _detached(uow: AbstractUnitOfWork) -> SqlAlchemyUnitOfWork:
    """A unit of work of its own (its own sessions) on the same database, for a thread."""
    if not isinstance(uow, SqlAlchemyUnitOfWork):
        raise RuntimeError("the figures need the SQLAlchemy unit of work")
    return SqlAlchemyUnitOfWork(uow.session_factory, uow.blobs, uow.clock)


Prepare = Callable[[Figures], object]


def _schedule(
    uow: AbstractUnitOfWork, filters: Filters, slot: tuple[str, str], prepare: Prepare | None
) -> bool:
    """Start computing the figures of `slot` in a daemon thread unless one already does;
    True when this call started it."""
    with _done:
        if slot in _running:
            return False
        _running.add(slot)
    try:
        thread = threading.Thread(
            target=_background,
            args=(_detached(uow), filters, slot, prepare),
            name="figures-refresh",
            daemon=True,
        )
        thread.start()
    except BaseException:
        _finished(slot)
        raise
    return True


def _finished(slot: tuple[str, str]) -> None:
    with _done:
        _running.discard(slot)
        _done.notify_all()


def _background(
    uow: SqlAlchemyUnitOfWork,
    filters: Filters,
    slot: tuple[str, str],
    prepare: Prepare | None = None,
) -> None:
    try:
        with uow:
            session = _session(uow)
            marker = cases_marker(session)
            snapshot = _read_snapshot(session, slot[1])
        if snapshot is not None and snapshot.marker == marker:
            entry = snapshot.entry()  # another process computed them meanwhile
            _cache.put(slot, entry)
            found = entry.result(*slot)
        else:
            found = _compute(uow, filters, refresh_first=True, keep=True)
        if prepare is not None:
            prepare(found)
    except Exception as e:
        # type and frames only (like the app's handler of unexpected errors): never the worker
        frames = "".join(traceback.format_tb(e.__traceback__))
        log.error("Beregningen av tallene i bakgrunnen feilet (%s)\n%s", type(e).__name__, frames)
    finally:
        _finished(slot)


def wait_for_background(timeout: float | None = None) -> bool:
    """Wait until no figures are being computed in the background in this process; False when
    `timeout` (seconds) ran out first."""
    with _done:
        return _done.wait_for(lambda: not _running, timeout)


def figures(
    uow: AbstractUnitOfWork,
    filters: Filters | None = None,
    *,
    refresh_first: bool = True,
    cache: bool = True,
    background: bool = False,
    prepare: Prepare | None = None,
    marker: str | None = None,
) -> Figures:
    """The figures of `processor.statistics.compute` for the cases that pass `filters`.

    Fresh figures (computed for the cases as they are) from the cache or the snapshots when
    there are; else, with `background` and older figures at hand, those, marked stale, while a
    thread computes new ones; else computed now (after refreshing the rows, with
    `refresh_first`). `cache=False` computes now and keeps nothing (the CLI's `stats`).
    `prepare` is called with the new figures at the end of a background computation, so what
    the caller derives from them (charts) is ready before the next request. `marker` is
    `cases_marker` when the caller has just read it (a request that asks for two filters)."""
    filters = filters or Filters()
    if not cache:
        return _compute(uow, filters, refresh_first=refresh_first, keep=False)
    key = filter_key(filters)
    with uow:
        session = _session(uow)
        url = _url(session)
        slot = (url, key)
        if marker is None:
            marker = cases_marker(session)
        entry: _Entry | None = _cache.get(slot)
        if entry is not None and entry.fresh_for(marker):
            return entry.result(url, key)
        snapshot = _read_snapshot(session, key)
    if snapshot is not None and (entry is None or entry.generation <= snapshot.generation):
        if entry is None or not entry.same(snapshot):
            entry = snapshot.entry()
            _cache.put(slot, entry)
        if entry.fresh_for(marker):
            return entry.result(url, key)
    if entry is not None and background:
        _schedule(uow, filters, slot, prepare)
        return entry.result(url, key, stale=True)
    return _compute(uow, filters, refresh_first=refresh_first, keep=True, marker=marker)


def filter_choices(uow: AbstractUnitOfWork) -> dict[str, list[str]]:
    """`facets` of the unfiltered figures, without computing them when there are none: those of
    the cache or the snapshot (also when stale, like the figures on the page beside them), else
    the distinct values of the figures rows (one pass over `ix_case_figures_counts`), cached
    under the generation. For a filtered page whose unfiltered figures are not at hand."""
    with uow:
        session = _session(uow)
        url = _url(session)
        entry: _Entry | None = _cache.get((url, UNFILTERED))
        if entry is None:
            snapshot = _read_snapshot(session, UNFILTERED)
            if snapshot is not None:
                entry = snapshot.entry()
                _cache.put((url, UNFILTERED), entry)
        if entry is not None:
            return facets(entry.stats)
        choices_key = ("filter_choices", url, *_state(session))
        cached = _cache.get(choices_key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        f = CaseFigure
        rows = session.execute(
            select(f.form_type, f.hf, f.region, f.received_year, f.fagomrade).distinct()
        ).all()
        # the keys of `per_type`, `per_hf` ... as `aggregate_grouped` makes them, sorted alike
        present = {
            "per_type": sorted({r[0] for r in rows}),
            "per_hf": sorted({r[1] for r in rows}),
            "per_region": sorted({r[2] for r in rows}),
            "per_ar": sorted({str(r[3]) for r in rows}),
            "per_fagomrade": sorted({r[4] or NO_SPECIALTY for r in rows}),
        }
        choices = facets(present)
        _cache.put(choices_key, choices)
        return choices


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
