"""The figures of WORKFLOW.md section 7 from the database, kept cheap for 100,000 cases.

One design (issue 12, measured in docs/performance.md): rows per case, counts kept at refresh
time, one aggregation, one small cache. This module holds the use cases and their policy; the
rules are pure functions of `processor.statistics`, and the tables are read and written through
`uow.figures` (`storage/repository_figures.py`), so no SQL is written here.

- `refresh(uow)` keeps one `case_figures` row per case (`processor.statistics.CaseFigures`:
  form type, HF, region, specialty, received date, state, outcome and its date, total and
  per-stage durations in `case_figure_stages`, returns, flow links). One query finds the cases
  whose row is missing or older than the case (its `version` or `updated_at` differs from what
  the row was computed from); only their histories are read, in chunks, and their rows
  rewritten, in one unit of work. Every service that changes a case raises its `version`, so a
  row is stale exactly when it must be. That query (`uow.figures.stale_case_ids`) is a join over
  every case, so it runs only when the cases changed: the cases marker (number of cases, sum of
  their versions: one scan of `cases`, `uow.figures.cases_marker`) is kept in
  `figures_generation` by the refresh that checked it.
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
  lie in two regions) are counted from the rows (`uow.figures.load`) in Python with the same
  function (`aggregate`). When the counts hold fewer cases than there are rows (a case deleted
  with its rows, a database from before the table), they are not used and the next refresh
  counts them all anew (`recount`).
- `figures(uow, filters)` reads the cases marker, answers from a small LRU cache
  (`cachetools`) keyed by database, filters and the marker the figures were counted at, and
  otherwise refreshes (when the marker moved) and counts. Any change of a case changes the
  marker, so a cached answer is never older than the cases.
- The use cases of the pages and the API (WORKFLOW.md section 7): `coordinator_figures`,
  `coordinator_workbook` and `coordinator_page` for the coordinator (FORBIDDEN for anyone
  else), `public` and `public_page` for anyone: `public_figures` of published mini-HTAs only,
  filtered by year only. What is made of figures (public figures, charts) is kept in a second
  small cache per `Figures.key`; `clear_cache` forgets both.

Results are shared between callers through the cache: treat them as read-only
(`public_figures` copies before it changes anything).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import repeat
from typing import Any

from cachetools import LRUCache

from forms.helseforetak import registry
from processor import charts
from processor.domain import CASE_FORM_TYPES, Principal, Role
from processor.errors import DomainError, Forbidden
from processor.statistics import (
    HIDDEN,
    PUBLIC_FORM_TYPE,
    CaseFigures,
    CounterKey,
    Filters,
    WorkingDays,
    aggregate,
    aggregate_counters,
    case_figures,
    counted_regions,
    counter_keys,
    counter_scope,
    counter_scopes,
    is_public_scope,
    public_figures,
    public_filters,
    to_xlsx,
)
from storage.repository_figures import AbstractFiguresRepository, ScopedKey, lost_race
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate

log = logging.getLogger(__name__)

__all__ = [
    "CoordinatorPage",
    "Figures",
    "PublicFigures",
    "PublicPage",
    "RefreshResult",
    "clear_cache",
    "cases_marker_of",
    "coordinator_figures",
    "coordinator_page",
    "coordinator_workbook",
    "count",
    "facets",
    "figures",
    "filter_choices",
    "filter_key",
    "public",
    "public_page",
    "recount",
    "recount_all",
    "refresh",
    "stale_case_ids_of",
]

CHUNK = 500
CACHE_SIZE = 32
ATTEMPTS = 3


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


def _regions() -> dict[str, str]:
    return {code: t.region for code, t in registry().trusts.items()}


# ---- refresh ------------------------------------------------------------------------------------


def stale_case_ids_of(uow: AbstractUnitOfWork) -> list[str]:
    """`uow.figures.stale_case_ids` in a unit of work of its own (for the CLI and the tests)."""
    with uow:
        return uow.figures.stale_case_ids()


def cases_marker_of(uow: AbstractUnitOfWork) -> str:
    """`uow.figures.cases_marker` (number of cases, sum of their versions) in a unit of work of
    its own."""
    with uow:
        return uow.figures.cases_marker()


def _refresh_once(
    uow: AbstractUnitOfWork,
    regions: Mapping[str, str],
    working_days: WorkingDays | None,
    chunk: int,
) -> RefreshResult:
    with uow:
        repo = uow.figures
        # the marker is read before the check: a change made after it changes the marker again
        marker = repo.cases_marker()
        generation, checked = repo.state()
        if checked == marker:
            return RefreshResult(0, generation)
        # One refresh writes at a time (PostgreSQL; SQLite has one writer anyway): the counts
        # are changed by what each one takes off and adds, and checked against the rows.
        repo.lock()
        generation, checked = repo.state()
        if checked == marker:  # another refresh did it while this one waited
            return RefreshResult(0, generation)
        ids = repo.stale_case_ids()
        now = uow.now()
        counts = _Counts()
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            found = repo.histories(part)
            figs = case_figures(
                [h for h, _, _ in found], regions=regions, working_days=working_days
            )
            for fig in repo.take_off(part):
                counts.add(fig, -1)
            for fig in figs:
                counts.add(fig, 1)
            repo.put(
                [
                    (fig, version, updated_at)
                    for fig, (_, version, updated_at) in zip(figs, found, strict=True)
                ],
                now,
            )
        repo.add_counts(counts.expanded())
        if not _counts_complete(repo):  # a deleted case, or counts older than the table
            recount(repo)
        # A new generation also when no row was written: the cases changed in a way that left
        # no row stale (a deleted case takes its row along), and the cached figures must go.
        generation = repo.record(generation, marker, bump=1)
        uow.commit()
        return RefreshResult(len(ids), generation)


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

    def expanded(self) -> Counter[ScopedKey]:
        sets = {number: scopes for scopes, number in self.sets.items()}
        out: Counter[ScopedKey] = Counter()
        for (number, key), n in self.base.items():
            if n:
                for scope in sets[number]:
                    out[(scope, *key)] += n
        return out


def _counts_complete(repo: AbstractFiguresRepository, checked: str | None = None) -> bool:
    """Whether the counts hold as many cases as `case_figures` has rows. `checked`: the cases
    marker at which the last refresh found every row current (`state`); the rows then number
    the cases of that marker, and the rows are not counted (PostgreSQL counts by a scan)."""
    rows = int(checked.partition(":")[0]) if checked is not None else repo.rows()
    return rows == repo.cases_counted()


def recount(repo: AbstractFiguresRepository) -> None:
    """Count `figures_counts` anew from every `case_figures` row (after a case was deleted with
    its rows, or once after the table was added)."""
    log.info("Teller opp tallene for alle saker på nytt.")
    repo.clear_counts()
    counts = _Counts()
    for fig in repo.load():
        counts.add(fig, 1)
    repo.add_counts(counts.expanded())


def recount_all(uow: AbstractUnitOfWork) -> int:
    """Count `figures_counts` anew from every `case_figures` row (`stats --recount`: after a
    restore, or when a count is suspected; the automatic check compares only their total) and
    forget the figures cached from the old counts. One refresh at a time, as for every writer of
    the counts. Returns the number of cases counted. A running worker may show the figures it
    holds in memory until any case changes."""
    with uow:
        uow.figures.lock()
        recount(uow.figures)
        counted = uow.figures.cases_counted()
        uow.commit()
    clear_cache()
    return counted


def _counted(
    repo: AbstractFiguresRepository, filters: Filters, checked: str | None = None
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
    if scope is None or not _counts_complete(repo, checked):
        return None
    rows: list[Any] = repo.counts(scope)
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
            return _refresh_once(uow, regions, working_days, chunk)
        except Exception as e:  # a lost race is tried again; anything else is raised
            if attempt == ATTEMPTS - 1 or not (isinstance(e, ConcurrentUpdate) or lost_race(e)):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# ---- aggregation --------------------------------------------------------------------------------


def count(
    repo: AbstractFiguresRepository, filters: Filters, checked: str | None = None
) -> dict[str, Any]:
    """The figures of the cases that pass `filters`, counted now: from the counts of their scope
    (`counter_scope`, `_counted`: a few thousand rows), else from the rows that pass them
    (`repo.load`: dates, or an HF whose cases lie in two regions). `checked`: the cases marker
    the last refresh checked the rows at, if known."""
    stats = _counted(repo, filters, checked)
    if stats is None:
        stats = aggregate(repo.load(filters), filters, prefiltered=True)
    return stats


# The figures cache is policy, not an adapter detail: which answers are kept, and that an answer
# counted at a cases marker is good as long as the marker stands. So it lives here, not in
# storage (which only tells the database's name and the marker).
_cache: LRUCache[tuple[str, str, str], Figures] = LRUCache(maxsize=CACHE_SIZE)
# What is made of figures (their public figures, their charts) costs more than reading the
# counts: kept per `Figures.key`, as long as the figures are.
_derived: LRUCache[tuple[Any, ...], Any] = LRUCache(maxsize=CACHE_SIZE)
_cache_lock = threading.Lock()  # cachetools' caches are not thread-safe


def clear_cache() -> None:
    """Forget this process's figures and what was made of them (as a new process would start)."""
    with _cache_lock:
        _cache.clear()
        _derived.clear()


def filter_key(filters: Filters) -> str:
    """The filters as compact JSON with sorted keys: the same filters, the same text."""
    return json.dumps(filters.as_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


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
    reads nor fills the cache (the CLI's `stats`). `marker` is the cases marker when the caller
    has just read it (a request that asks for two filters)."""
    filters = filters or Filters()
    key = filter_key(filters)
    with uow:
        url = uow.figures.database()
        if marker is None:
            marker = uow.figures.cases_marker()
        checked = uow.figures.state()[1]
    if cache:
        with _cache_lock:
            found = _cache.get((url, key, marker))
        if found is not None:
            return found
    if refresh_first and checked != marker:
        refresh(uow)
    with uow:
        # the state is read before the counts: they are the same or newer, never older, so
        # figures are at worst cached under an older marker (and counted once more)
        checked = uow.figures.state()[1]
        stats = count(uow.figures, filters, checked)
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


# ---- use cases of the pages and the API (WORKFLOW.md section 7) ---------------------------------
#
# The coordinator sees every figure (`coordinator_*`: FORBIDDEN for anyone else); anyone sees the
# public figures (`public*`): published mini-HTAs only, small cells hidden (`public_figures`),
# filtered by year only (finer public filters would let small groups be found by subtraction).

PUBLIC_TYPE_MESSAGE = (
    "Offentlige tall gjelder bare publiserte mini-metodevurderinger: «type» kan bare være "
    f"{PUBLIC_FORM_TYPE}."
)


@dataclass(frozen=True)
class PublicFigures:
    """The public figures of `filters` (`public_figures` of their figures) and when the figures
    were computed (aware UTC)."""

    stats: dict[str, Any]
    filters: Filters
    key: tuple[Any, ...]
    computed_at: datetime


@dataclass(frozen=True)
class CoordinatorPage:
    """The coordinator's page: the figures, the filter choices and the charts (SVG by name)."""

    found: Figures
    facets: dict[str, list[str]]
    charts: dict[str, str]


@dataclass(frozen=True)
class PublicPage:
    """The public page: the public figures, the years one may choose and the charts."""

    found: PublicFigures
    years: list[str]
    charts: dict[str, str]


def _memo(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """`make()`, kept under `key` (a `Figures.key` and what is made of it)."""
    with _cache_lock:
        if key in _derived:
            return _derived[key]
    value = make()
    with _cache_lock:
        _derived[key] = value
    return value


def _charts(key: tuple[Any, ...], stats: dict[str, Any]) -> dict[str, str]:
    def make() -> dict[str, str]:
        return {
            "behandlingstid": charts.stage_time_chart(stats),
            "utfall": charts.outcomes_chart(stats),
            "flyt": charts.flow_chart(stats),
        }

    return _memo(("charts", *key), make)  # type: ignore[no-any-return]


def _form_type(value: str | None) -> None:
    if value is not None and value not in CASE_FORM_TYPES:
        choices = ", ".join(CASE_FORM_TYPES)
        raise DomainError("INVALID_VALUE", f"«type» må være en av: {choices}.")


def _coordinator(user: Principal) -> None:
    if Role.KOORDINATOR not in set(user.roles):
        raise Forbidden()


def coordinator_figures(
    uow: AbstractUnitOfWork, user: Principal, filters: Filters, *, marker: str | None = None
) -> Figures:
    """The figures of `filters` for the coordinator (FORBIDDEN for anyone else; INVALID_VALUE
    for a form type that makes no case)."""
    _coordinator(user)
    _form_type(filters.form_type)
    return figures(uow, filters, marker=marker)


def coordinator_workbook(uow: AbstractUnitOfWork, user: Principal, filters: Filters) -> bytes:
    """`coordinator_figures` as an Excel workbook (`processor.statistics.to_xlsx`)."""
    return to_xlsx(coordinator_figures(uow, user, filters).stats, created=uow.now())


def coordinator_page(uow: AbstractUnitOfWork, user: Principal, filters: Filters) -> CoordinatorPage:
    """`coordinator_figures`, the filter choices (those of the unfiltered figures) and the
    charts, all at one cases marker."""
    _coordinator(user)
    marker = cases_marker_of(uow)
    found = coordinator_figures(uow, user, filters, marker=marker)
    return CoordinatorPage(
        found, filter_choices(uow, marker=marker), _charts(found.key, found.stats)
    )


def _public_of(found: Figures) -> dict[str, Any]:
    """`public_figures` of `found`. The one gate of the public paths: figures that count anything
    but published mini-HTAs are refused here."""
    if not is_public_scope(found.stats.get("filter", {})):
        raise RuntimeError("public figures must count published mini-HTAs only")
    return _memo(("public", *found.key), lambda: public_figures(found.stats))  # type: ignore[no-any-return]


def public(
    uow: AbstractUnitOfWork,
    year: int | None = None,
    form_type: str | None = None,
    *,
    marker: str | None = None,
) -> PublicFigures:
    """The public figures of `year` (all years when None). `form_type`, when given, must be the
    public one (INVALID_VALUE otherwise)."""
    _form_type(form_type)
    if form_type not in (None, PUBLIC_FORM_TYPE):
        raise DomainError("INVALID_VALUE", PUBLIC_TYPE_MESSAGE)
    filters = public_filters(year)
    found = figures(uow, filters, marker=marker)
    return PublicFigures(_public_of(found), filters, found.key, found.computed_at)


def public_page(
    uow: AbstractUnitOfWork, year: int | None = None, form_type: str | None = None
) -> PublicPage:
    """`public`, the years one may choose (those the unfiltered public figures show) and the
    charts, all at one cases marker."""
    marker = cases_marker_of(uow)
    found = public(uow, year, form_type, marker=marker)
    unfiltered = found if year is None else public(uow, marker=marker)
    years = [y for y in unfiltered.stats["per_ar"] if y != HIDDEN]
    return PublicPage(found, years, _charts(("public", *found.key), found.stats))
