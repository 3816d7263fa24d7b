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
- `figures(uow, filters)` refreshes, then counts the rows that pass the filters in SQL: a few
  `GROUP BY` queries give the counts per state, type, HF, region, year, specialty, outcome and
  number of returns, and the processing times (total and per stage, from the narrow
  `case_figure_stages`) as `{days: cases}` tables; only these group rows, a few thousand at most,
  come to Python, where `processor.statistics.aggregate_grouped` finds the medians and
  percentiles from them (`summarise_counts`: from the count tables, no lists). The dict is the
  same as `compute` would give over the histories
  (tested on SQLite and PostgreSQL). The result is cached in this process under the filters and
  the refresh generation (a counter in the database raised by every refresh that found the
  cases changed) and the marker, so another process's refresh is seen at once. A refresh that
  wrote rows computes the unfiltered figures at once (`warm`), so they are ready for the next
  request. `filter_choices` gives a filtered page its choices without the unfiltered figures.

Results are shared between callers through the cache: treat them as read-only
(`public_figures` copies before it changes anything).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Text, case, cast, delete, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from processor.statistics import (
    NO_SPECIALTY,
    CaseFigures,
    CaseHistory,
    Filters,
    GroupedFigures,
    Transition,
    WorkingDays,
    aggregate_grouped,
    case_figures,
)
from storage.models import Case, CaseVersion
from storage.models import Transition as TransitionRow
from storage.models_committee import Decision
from storage.models_figures import CaseFigure, CaseFigureStage, FiguresGeneration
from storage.models_minihta import MinihtaAttachment
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate

__all__ = [
    "Figures",
    "RefreshResult",
    "clear_cache",
    "cases_marker",
    "facets",
    "figures",
    "filter_choices",
    "grouped",
    "histories",
    "load",
    "parse_year",
    "refresh",
    "stale_case_ids",
    "stale_case_ids_of",
]

MINIHTA = "minihta"
DECISION_FORM = "minihta-beslutning"  # skjema 3 (MINIHTA.md), `beslutning.utfall`
CHUNK = 500
CACHE_SIZE = 32
ATTEMPTS = 3


@dataclass(frozen=True)
class RefreshResult:
    refreshed: int
    generation: int


@dataclass(frozen=True)
class Figures:
    """The figures (`compute`'s dict) and the key they are cached under (for derived caches)."""

    stats: dict[str, Any]
    key: tuple[Any, ...]


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


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


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
        specialties = {k: _text(_get(d, "metode", "fagomrade")) for k, (_, d) in latest.items()}
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
            utfall = _text(_get(data, "beslutning", "utfall"))
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
        ids = stale_case_ids(session)
        now = uow.now()
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
            session.execute(delete(CaseFigureStage).where(CaseFigureStage.case_id.in_(part)))
            session.execute(delete(CaseFigure).where(CaseFigure.case_id.in_(part)))
            if rows:
                session.execute(insert(CaseFigure), rows)
            if stages:
                session.execute(insert(CaseFigureStage), stages)
        # A new generation also when no row was written: the cases changed in a way that left
        # no row stale (a deleted case takes its row along), and the cached figures must go.
        generation = _record(session, generation, marker, bump=1)
        uow.commit()
        return RefreshResult(len(ids), generation)


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
    f = CaseFigure
    out: list[CaseFigures] = []
    for row in session.execute(
        select(
            f.case_id,
            f.form_type,
            f.hf,
            f.fagomrade,
            f.region,
            cast(f.received_on, Text),
            f.state,
            f.total_calendar_days,
            f.total_working_days,
            f.returns,
            f.outcome,
            cast(f.outcome_on, Text),
            f.links,
        ).where(*where)
    ):
        out.append(
            CaseFigures(
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
        )
    return out


class _Cache:
    """A small LRU of aggregated figures, shared by the threads of one process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: dict[str, Any]) -> None:
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
    _cache.clear()


def _filter_key(filters: Filters) -> tuple[Any, ...]:
    return tuple(sorted(filters.as_dict().items()))


def _key(session: Session, filters: Filters) -> tuple[Any, ...]:
    # the generation changes with every refresh that found the cases changed; the marker
    # tells apart two databases behind one URL (in-memory SQLite) at the same generation
    generation, marker = _state(session)
    bind = session.get_bind()
    url = bind.url.render_as_string(hide_password=True)  # type: ignore[union-attr]
    return (url, _filter_key(filters), generation, marker)


def figures(
    uow: AbstractUnitOfWork,
    filters: Filters | None = None,
    *,
    refresh_first: bool = True,
    cache: bool = True,
) -> Figures:
    """The figures of `processor.statistics.compute` for the cases that pass `filters`."""
    filters = filters or Filters()
    if refresh_first:
        refresh(uow, warm=cache)  # unfiltered: warming is the work below, cached once
    with uow:
        session = _session(uow)
        key = _key(session, filters)
        stats = _cache.get(key) if cache else None
        if stats is None:
            stats = aggregate_grouped(grouped(session, filters), filters)
            if cache:
                _cache.put(key, stats)
    return Figures(stats, key)


def filter_choices(uow: AbstractUnitOfWork) -> dict[str, list[str]]:
    """`facets` of the unfiltered figures, without computing them when they are not cached:
    the distinct values of the figures rows (one pass over `ix_case_figures_counts`), cached
    under the same generation. For a filtered page whose unfiltered figures are not at hand."""
    with uow:
        session = _session(uow)
        key = _key(session, Filters())
        stats = _cache.get(key)
        if stats is not None:
            return facets(stats)
        choices_key = ("filter_choices", *key)
        cached = _cache.get(choices_key)
        if cached is not None:
            return cached  # type: ignore[return-value]
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
        _cache.put(choices_key, choices)  # type: ignore[arg-type]
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
