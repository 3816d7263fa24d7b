"""The figures of WORKFLOW.md section 7: processing times, returns, outcomes and counts.

Pure: the input is plain `CaseHistory` values (built by the storage layer from the audit log), the
output is one JSON-serialisable dict whose keys match API.md (`GET /statistikk`). No clock, no
database, no file system; the XLSX export is returned as bytes.

Definitions (the choices are ours; the XLSX sheet "Om tallene" states them in Norwegian):

- **Dates.** Every timestamp is reduced to its date in Europe/Oslo (aware datetimes are converted,
  naive ones are taken to be Oslo time already). Durations count dates, not hours.
- **Calendar days** from `a` to `b` are `(b - a).days`. **Working days** are
  `processor.workdays.working_days_between(a, b)`: the working days in the half-open interval
  `(a, b]` (Monday to Friday, not a Norwegian public holiday). Received Friday and decided Monday
  took 3 calendar days and 1 working day; the same day took 0 of both.
- **Received** is the first entry into `mottatt` (the case's `created` time when the history holds
  no such transition). **Decided** is the first entry into `avgjort` (applications) or `besluttet`
  (mini-HTA) after that. The total processing time is received → decided, so the time an HF
  spends on a return counts (it is the applicant's time too); the per-stage figures show it apart.
  Cases that are not decided (open or withdrawn) have no total time.
- **Time per stage** is, per case, the time spent in a state summed over all visits (a case
  returned twice has two stays in `mottatt`). Only stays that ended are counted: the current
  state of an open case has no end without a clock. The figures per stage are over the cases that
  completed at least one stay in that state.
- **Median** is `statistics.median` (the mean of the two middle values for an even count).
  **90th percentile** is `statistics.quantiles(values, n=10, method="inclusive")[8]`: linear
  interpolation between the closest ranks, the same as Excel's PERCENTILE.INC (PERSENTIL.INK) and
  numpy's default, so a reader can check a figure from the raw list. One value is its own median
  and percentile. Both are rounded to one decimal.
- **Returns** per case are the transitions into `returnert`.
- **Outcome** of a case: `trukket` when it was withdrawn, its `outcome` (`innvilget`, `avslatt`,
  the mini-HTA decision ...) when decided, `under_behandling` otherwise. The outcome's period
  (year, month) is the date of the decision or the withdrawal.
- **Year** of a case is the year it was received; the date filters apply to the received date.

Public figures (`public_filters`, `public_figures`) count published mini-HTAs only and suppress
every cell below 5 cases, and complementary cells, so that no hidden cell follows by subtraction.
"""

from __future__ import annotations

import copy
import io
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from itertools import combinations
from operator import itemgetter
from typing import Any

from forms.catalog import get_form
from processor.domain import FormType, Outcome, State
from processor.timefmt import OSLO, date_text

__all__ = [
    "CaseFigures",
    "CaseHistory",
    "Filters",
    "MIN_CELL",
    "ONE_PER_CASE",
    "OUTCOME_LABELS",
    "STATE_LABELS",
    "Transition",
    "CounterKey",
    "aggregate",
    "aggregate_counters",
    "counted_regions",
    "counter_keys",
    "counter_scope",
    "counter_scopes",
    "case_figures",
    "compute",
    "flow",
    "passes",
    "public_figures",
    "public_filters",
    "is_public_scope",
    "PUBLISHED",
    "PUBLIC_FORM_TYPE",
    "summarise",
    "summarise_counts",
    "summed_counters",
    "to_xlsx",
]

MIN_CELL = 5

RECEIVED = State.MOTTATT
RETURNED = State.RETURNERT
WITHDRAWN = State.TRUKKET
DECIDED = (State.AVGJORT, State.BESLUTTET)
OPEN = "under_behandling"
UNKNOWN = "ukjent"
NO_SPECIALTY = "ikke_oppgitt"

# WORKFLOW.md sections 2 and 6, in workflow order (applications, then the mini-HTA branch), the
# withdrawn cases last.
_IN_ORDER = sorted(State, key=lambda s: s is State.TRUKKET)
STATE_LABELS: dict[str, str] = {s: s.label for s in _IN_ORDER}
_STATE_ORDER = {s: i for i, s in enumerate(STATE_LABELS)}

# WORKFLOW.md section 5 (applications) and MINIHTA.md skjema 3 `beslutning.utfall` (mini-HTA).
OUTCOME_LABELS: dict[str, str] = {
    **{o: o.label for o in Outcome},
    **{
        c.code: c.label
        for c in get_form(FormType.MINIHTA_BESLUTNING).field("beslutning.utfall").choices
    },
    "trukket": State.TRUKKET.short,
    "under_behandling": "Under behandling",
    "ukjent": "Ukjent",
}
_OUTCOME_ORDER = {s: i for i, s in enumerate(OUTCOME_LABELS)}

# Node labels of the flow picture: short state names; decided cases are split by outcome.
FLOW_LABELS: dict[str, str] = {s: s.short for s in _IN_ORDER}

GROUPINGS = ("hf", "region", "ar", "fagomrade", "type")
"""Keys of `grupper`; each matches the count table `per_<key>`."""

WorkingDays = Callable[[date, date], int]


@dataclass(frozen=True)
class Transition:
    at: datetime
    from_: str | None
    to: str


@dataclass(frozen=True)
class CaseHistory:
    id: str
    form_type: str
    hf: str
    fagomrade: str | None
    created: datetime
    transitions: list[Transition] = field(default_factory=list)
    outcome: str | None = None


@dataclass(frozen=True)
class Filters:
    """Which cases the figures cover; `None` means no restriction. Dates are inclusive."""

    hf: str | None = None
    region: str | None = None
    year: int | None = None
    fagomrade: str | None = None
    form_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    state: str | None = None  # the case's current state (`public_filters`: published only)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (
            ("hf", self.hf),
            ("region", self.region),
            ("ar", self.year),
            ("fagomrade", self.fagomrade),
            ("type", self.form_type),
            ("fra", self.date_from),
            ("til", self.date_to),
            ("status", self.state),
        ):
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, date) else value
        return out


# ---- per case ------------------------------------------------------------------------------------


def _wall(dt: datetime) -> datetime:
    """Oslo wall-clock time without tzinfo, so aware and naive timestamps compare."""
    return dt if dt.tzinfo is None else dt.astimezone(OSLO).replace(tzinfo=None)


_Step = tuple[datetime, str | None, str]  # (at as Oslo wall time, from, to)


def _steps(case: CaseHistory) -> list[_Step]:
    """The history in time order (stable for equal times), every timestamp as Oslo wall time."""
    steps = [
        (t.at if t.at.tzinfo is None else _wall(t.at), t.from_, t.to) for t in case.transitions
    ]
    steps.sort(key=itemgetter(0))
    return steps


def _received(case: CaseHistory, steps: list[_Step]) -> datetime:
    for at, _, to in steps:
        if to == RECEIVED:
            return at
    return _wall(case.created)


def _stays(case: CaseHistory, steps: list[_Step]) -> list[tuple[str, date]]:
    """(state, date entered) in time order; the first state is implied when the history omits it."""
    stays = [(to, at.date()) for at, _, to in steps]
    first = steps[0][1] if steps else RECEIVED
    if first is not None:
        stays.insert(0, (first, _wall(case.created).date()))
    return stays


@dataclass(slots=True)
class CaseFigures:
    """What the aggregation needs of one case (see `case_figures`); no history, no clock.

    The storage layer keeps one of these per case (table `case_figures`) so the figures of many
    cases are aggregated without reading their histories again.
    """

    id: str
    form_type: str
    hf: str
    fagomrade: str | None
    region: str
    received: date
    state: str
    total_cal: int | None
    total_work: int | None
    stage_cal: dict[str, int]
    stage_work: dict[str, int]
    returns: int
    outcome: str
    outcome_date: date | None
    links: list[tuple[str, str]]

    def group_key(self, grouping: str) -> str:
        if grouping == "hf":
            return self.hf
        if grouping == "region":
            return self.region
        if grouping == "ar":
            return str(self.received.year)
        if grouping == "fagomrade":
            return self.fagomrade or NO_SPECIALTY
        return self.form_type


_Derived = CaseFigures


class _WorkingDayIndex:
    """Working days between any two of a known set of dates, by prefix sums.

    `working_days_between` counts the half-open interval `(a, b]`, so it is additive:
    `wd(a, c) == wd(a, b) + wd(b, c)`. The index calls it once per pair of neighbouring distinct
    dates, which keeps 100,000 cases cheap however the function itself counts.
    """

    def __init__(self, dates: Iterable[date], between: WorkingDays) -> None:
        ordered = sorted(set(dates))
        self._cum: dict[date, int] = {}
        running = 0
        previous: date | None = None
        for d in ordered:
            if previous is not None:
                running += between(previous, d)
            self._cum[d] = running
            previous = d

    def between(self, a: date, b: date) -> int:
        return self._cum[b] - self._cum[a]


def _derive(
    case: CaseHistory,
    steps: list[_Step],
    stays: list[tuple[str, date]],
    received_at: datetime,
    region: str,
    index: _WorkingDayIndex,
) -> _Derived:
    stage_cal: dict[str, int] = {}
    stage_work: dict[str, int] = {}
    for (state, a), (_, b) in zip(stays, stays[1:], strict=False):
        stage_cal[state] = stage_cal.get(state, 0) + (b - a).days
        stage_work[state] = stage_work.get(state, 0) + index.between(a, b)

    received = received_at.date()
    decided: date | None = None
    withdrawn: date | None = None
    returns = 0
    links: list[tuple[str, str]] = []
    ended = OUTCOME_LABELS.get(case.outcome, case.outcome) if case.outcome else None
    for at, from_, to in steps:
        if decided is None and to in DECIDED and at >= received_at:
            decided = at.date()
        elif withdrawn is None and to == WITHDRAWN:
            withdrawn = at.date()
        elif to == RETURNED:
            returns += 1
        if from_ is not None:
            links.append(
                (
                    ended if from_ in DECIDED and ended else FLOW_LABELS.get(from_, from_),
                    ended if to in DECIDED and ended else FLOW_LABELS.get(to, to),
                )
            )

    if withdrawn is not None and decided is None:
        outcome, outcome_date = WITHDRAWN, withdrawn
    elif decided is not None:
        outcome, outcome_date = case.outcome or UNKNOWN, decided
    else:
        outcome, outcome_date = OPEN, None

    return CaseFigures(
        id=case.id,
        form_type=case.form_type,
        hf=case.hf,
        fagomrade=case.fagomrade,
        region=region,
        received=received,
        state=stays[-1][0],
        total_cal=None if decided is None else (decided - received).days,
        total_work=None if decided is None else index.between(received, decided),
        stage_cal=stage_cal,
        stage_work=stage_work,
        returns=returns,
        outcome=outcome,
        outcome_date=outcome_date,
        links=links,
    )


# ---- aggregation ---------------------------------------------------------------------------------


def summarise(values: list[int] | list[float]) -> dict[str, Any]:
    """`{"median", "p90", "antall"}` of a list (see the module docstring for the method)."""
    n = len(values)
    if n == 0:
        return {"median": None, "p90": None, "antall": 0}
    if n == 1:
        only = round(float(values[0]), 1)
        return {"median": only, "p90": only, "antall": 1}
    return {
        "median": round(float(statistics.median(values)), 1),
        "p90": round(float(statistics.quantiles(values, n=10, method="inclusive")[8]), 1),
        "antall": n,
    }


def _sorted_counts(counter: Counter[str], order: Mapping[str, int] | None = None) -> dict[str, int]:
    if order is None:
        keys = sorted(counter)
    else:
        keys = sorted(counter, key=lambda k: (order.get(k, len(order)), k))
    return {k: counter[k] for k in keys}


_DECIDED_IN = dict.fromkeys(Outcome, State.AVGJORT)  # other outcomes: mini-HTA


def _sorted_links(counts: Mapping[tuple[str, str], int]) -> list[tuple[str, str, int]]:
    rank = {label: _STATE_ORDER[state] for state, label in FLOW_LABELS.items()}
    for code, label in OUTCOME_LABELS.items():
        rank.setdefault(label, _STATE_ORDER[_DECIDED_IN.get(code, State.BESLUTTET)])

    def key(item: tuple[tuple[str, str], int]) -> tuple[int, int, str, str]:
        (a, b), _ = item
        return (rank.get(a, len(rank)), rank.get(b, len(rank)), a, b)

    return [(a, b, n) for (a, b), n in sorted(counts.items(), key=key)]


def _default_working_days() -> WorkingDays:
    from processor.workdays import working_days_between  # lazy: written alongside this module

    return working_days_between


def _prepare(
    cases: Iterable[CaseHistory],
    filters: Filters,
    regions: Mapping[str, str] | None,
    working_days: WorkingDays | None,
) -> list[_Derived]:
    if regions is None:
        from forms.helseforetak import registry

        regions = {code: t.region for code, t in registry().trusts.items()}
    selected: list[tuple[CaseHistory, list[_Step], list[tuple[str, date]], datetime, str]] = []
    dates: set[date] = set()
    for case in cases:
        region = regions.get(case.hf, UNKNOWN)
        if filters.hf is not None and case.hf != filters.hf:
            continue
        if filters.region is not None and region != filters.region:
            continue
        if filters.form_type is not None and case.form_type != filters.form_type:
            continue
        if filters.fagomrade is not None and case.fagomrade != filters.fagomrade:
            continue
        steps = _steps(case)
        received_at = _received(case, steps)
        received = received_at.date()
        if filters.year is not None and received.year != filters.year:
            continue
        if filters.date_from is not None and received < filters.date_from:
            continue
        if filters.date_to is not None and received > filters.date_to:
            continue
        stays = _stays(case, steps)
        dates.add(received)
        dates.update(d for _, d in stays)
        selected.append((case, steps, stays, received_at, region))

    index = _WorkingDayIndex(dates, working_days or _default_working_days())
    derived = [_derive(*item[:4], item[4], index) for item in selected]
    if filters.state is not None:
        derived = [d for d in derived if d.state == filters.state]
    return derived


# ---- public API ----------------------------------------------------------------------------------


def compute(
    cases: Iterable[CaseHistory],
    filters: Filters | None = None,
    *,
    regions: Mapping[str, str] | None = None,
    working_days: WorkingDays | None = None,
) -> dict[str, Any]:
    """The full figures of WORKFLOW.md section 7 for the cases that pass `filters`.

    `regions` maps HF code → region code (default: the HF registry, `forms.helseforetak`);
    `working_days` defaults to `processor.workdays.working_days_between`. Internal figures: small
    cells are kept; pass the result through `public_figures` before showing it outside the
    secretariat.
    """
    filters = filters or Filters()
    return aggregate(_prepare(cases, filters, regions, working_days), filters, prefiltered=True)


def case_figures(
    cases: Iterable[CaseHistory],
    *,
    regions: Mapping[str, str] | None = None,
    working_days: WorkingDays | None = None,
) -> list[CaseFigures]:
    """The per-case part of `compute`, for every case (no filter): `aggregate(case_figures(c),
    f) == compute(c, f)`. A case's figures depend on its own history only."""
    return _prepare(cases, Filters(), regions, working_days)


def passes(figures: CaseFigures, filters: Filters) -> bool:
    """Whether a case's figures are covered by `filters` (the same tests as `compute`)."""
    received = figures.received
    return not (
        (filters.hf is not None and figures.hf != filters.hf)
        or (filters.region is not None and figures.region != filters.region)
        or (filters.form_type is not None and figures.form_type != filters.form_type)
        or (filters.fagomrade is not None and figures.fagomrade != filters.fagomrade)
        or (filters.year is not None and received.year != filters.year)
        or (filters.date_from is not None and received < filters.date_from)
        or (filters.date_to is not None and received > filters.date_to)
        or (filters.state is not None and figures.state != filters.state)
    )


def aggregate(
    figures: Iterable[CaseFigures], filters: Filters | None = None, *, prefiltered: bool = False
) -> dict[str, Any]:
    """The figures of `compute` from per-case figures; `prefiltered=True` when the caller has
    already selected the cases that pass `filters` (e.g. in SQL) and they are only echoed."""
    filters = filters or Filters()
    selected = figures if prefiltered else (f for f in figures if passes(f, filters))
    return aggregate_counters(summed_counters(selected), filters)


def summarise_counts(counts: Mapping[int, int]) -> dict[str, Any]:
    """`summarise` of the values of a `{value: how many}` table, without building the list.

    The median and the 90th percentile need at most four ranks of the sorted values; they are
    found by walking the distinct values in order, and combined with the same integer arithmetic
    as `statistics.median` and `statistics.quantiles(method="inclusive")`, so the result is
    exactly `summarise` of the expanded list (tested), in time linear in the distinct values.
    """
    n = sum(counts.values())
    if n == 0:
        return {"median": None, "p90": None, "antall": 0}
    values = sorted(v for v, k in counts.items() if k)
    # quantiles: i = 9 of n = 10 over m = n - 1 gaps; median: one or two middle ranks
    j, delta = divmod(9 * (n - 1), 10)
    wanted = sorted({(n - 1) // 2, n // 2, j, min(j + 1, n - 1)})
    at: dict[int, int] = {}
    seen = 0
    pending = iter(wanted)
    rank = next(pending)
    for value in values:
        seen += counts[value]
        while rank is not None and rank < seen:
            at[rank] = value
            rank = next(pending, None)
        if rank is None:
            break
    if n == 1:
        only = round(float(at[0]), 1)
        return {"median": only, "p90": only, "antall": 1}
    median = at[n // 2] if n % 2 else (at[n // 2 - 1] + at[n // 2]) / 2
    p90 = (at[j] * (10 - delta) + at[j + 1] * delta) / 10
    return {"median": round(float(median), 1), "p90": round(float(p90), 1), "antall": n}


def _summary(cal: Mapping[int, int], work: Mapping[int, int]) -> dict[str, Any]:
    return {"kalenderdager": summarise_counts(cal), "arbeidsdager": summarise_counts(work)}


def _by_grouping(make: Callable[[], Any]) -> Callable[[], dict[str, Any]]:
    return lambda: {g: make() for g in GROUPINGS}


@dataclass
class _Tables:
    """The count tables the figures are made of (`aggregate_counters`)."""

    filters: Filters
    total: int = 0
    states: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    per: dict[str, Counter[str]] = field(default_factory=_by_grouping(Counter))  # cases per key
    returns: Counter[int] = field(default_factory=Counter)  # cases per number of returns
    # per grouping and key: [cases, returns, cases with a return]
    groups: dict[str, dict[str, list[int]]] = field(default_factory=_by_grouping(dict))
    group_outcomes: dict[str, dict[str, Counter[str]]] = field(
        default_factory=_by_grouping(lambda: defaultdict(Counter))
    )
    group_cal: dict[str, dict[str, Counter[int]]] = field(
        default_factory=_by_grouping(lambda: defaultdict(Counter))
    )
    group_work: dict[str, dict[str, Counter[int]]] = field(
        default_factory=_by_grouping(lambda: defaultdict(Counter))
    )
    total_cal: Counter[int] = field(default_factory=Counter)
    total_work: Counter[int] = field(default_factory=Counter)
    stage_cal: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    stage_work: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    per_year: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    per_month: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    links: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add_group(self, g: str, key: str, outcome: str, returns: int, n: int) -> None:
        """`n` cases of group `key` of grouping `g`, with this outcome and number of returns."""
        cell = self.groups[g].get(key)
        if cell is None:
            cell = self.groups[g][key] = [0, 0, 0]
        cell[0] += n
        if returns:
            cell[1] += returns * n
            cell[2] += n
        self.group_outcomes[g][key][outcome] += n


def _assemble(t: _Tables) -> dict[str, Any]:
    """The figures' dict (the keys of API.md, in order) from their count tables."""
    stages = sorted(t.stage_cal, key=lambda s: (_STATE_ORDER.get(s, len(_STATE_ORDER)), s))
    empty: Counter[int] = Counter()

    def group(g: str, key: str) -> dict[str, Any]:
        cases, returned, with_return = t.groups[g][key]
        return {
            "saker": cases,
            "behandlingstid": _summary(
                t.group_cal[g].get(key, empty), t.group_work[g].get(key, empty)
            ),
            "returer": {"totalt": returned, "saker_med_retur": with_return},
            "utfall": _sorted_counts(t.group_outcomes[g][key], _OUTCOME_ORDER),
        }

    returns = t.returns
    return {
        "saker_totalt": t.total,
        "filter": t.filters.as_dict(),
        "per_status": _sorted_counts(t.states, _STATE_ORDER),
        "per_type": _sorted_counts(t.per["type"]),
        "per_hf": _sorted_counts(t.per["hf"]),
        "per_region": _sorted_counts(t.per["region"]),
        "per_ar": _sorted_counts(t.per["ar"]),
        "per_fagomrade": _sorted_counts(t.per["fagomrade"]),
        "behandlingstid": {
            "total": _summary(t.total_cal, t.total_work),
            "per_steg": {s: _summary(t.stage_cal[s], t.stage_work[s]) for s in stages},
        },
        "returer": {
            "totalt": sum(k * v for k, v in returns.items()),
            "saker_med_retur": sum(v for k, v in returns.items() if k),
            "per_sak": summarise_counts(returns),
            "fordeling": {str(k): returns[k] for k in sorted(returns)},
        },
        "utfall": _sorted_counts(t.outcomes, _OUTCOME_ORDER),
        "utfall_per_ar": {
            p: _sorted_counts(t.per_year[p], _OUTCOME_ORDER) for p in sorted(t.per_year)
        },
        "utfall_per_maned": {
            p: _sorted_counts(t.per_month[p], _OUTCOME_ORDER) for p in sorted(t.per_month)
        },
        "flyt": [{"fra": a, "til": b, "antall": n} for a, b, n in _sorted_links(t.links)],
        "grupper": {g: {key: group(g, key) for key in sorted(t.groups[g])} for g in GROUPINGS},
    }


# ---- counters kept at write time ------------------------------------------------------------

CounterKey = tuple[str, str, str, str, int]
"""`(kind, grouping, key, item, value)`: one count the unfiltered figures are made of."""

_CASE = "sak"  # (grouping, group key, outcome, returns): every case once per grouping
_STATE = "status"  # ("", state, "", 0)
_TOTAL_CAL = "total_kal"  # (grouping, group key, "", days) of a decided case
_TOTAL_WORK = "total_arb"
_STAGE_CAL = "steg_kal"  # ("", state, "", days): one per state the case left
_STAGE_WORK = "steg_arb"
_OUTCOME_MONTH = "utfall_mnd"  # ("", "YYYY-MM", outcome, year) of a case with an outcome date
_LINK = "lenke"  # ("", from, to, 0): one per link of the case's flow
ONE_PER_CASE = _STATE
"""The kind of counter key every case has exactly one of: its counts sum to the cases counted."""


def counter_keys(fig: CaseFigures) -> list[CounterKey]:
    """The counts one case adds 1 to; the unfiltered figures are `aggregate_counters` of their
    sums over all cases. A change of a case takes its old keys off and adds its new ones, so the
    counts are kept current without counting all cases again (storage: `figures_counts`)."""
    keys: list[CounterKey] = [(_STATE, "", fig.state, "", 0)]
    decided = fig.total_cal is not None and fig.total_work is not None
    for g in GROUPINGS:
        key = fig.group_key(g)
        keys.append((_CASE, g, key, fig.outcome, fig.returns))
        if decided:
            keys.append((_TOTAL_CAL, g, key, "", fig.total_cal))  # type: ignore[arg-type]
            keys.append((_TOTAL_WORK, g, key, "", fig.total_work))  # type: ignore[arg-type]
    for state, days in fig.stage_cal.items():
        keys.append((_STAGE_CAL, "", state, "", days))
        keys.append((_STAGE_WORK, "", state, "", fig.stage_work[state]))
    if fig.outcome_date is not None:
        day = fig.outcome_date
        keys.append((_OUTCOME_MONTH, "", day.strftime("%Y-%m"), fig.outcome, day.year))
    keys.extend((_LINK, "", a, b, 0) for a, b in fig.links)
    return keys


# Every combination of two or more groupings, but those of an HF and a region: the region is
# given by the HF (with the HF's region, the figures are the HF's; `services.figures` reads them).
_SCOPE_SETS = [
    combo
    for size in range(2, len(GROUPINGS) + 1)
    for combo in combinations(GROUPINGS, size)
    if not {"hf", "region"} <= set(combo)
]


@cache
def _scope(pairs: tuple[tuple[str, str], ...]) -> str:
    """A scope's name: its filters as compact JSON, in the order of `GROUPINGS` (any text of a
    specialty gives a name of its own). Few distinct ones, each named once."""
    return json.dumps(dict(pairs), ensure_ascii=False, separators=(",", ":"))


def counter_scopes(fig: CaseFigures) -> list[str]:
    """The filters a case's counts are kept under (`counter_scope`): none, each single filter the
    case passes (its HF, region, year, specialty and type), and each combination of them but an
    HF with a region: 24 scopes, 12 for a case without a specialty."""
    values = {g: fig.group_key(g) for g in GROUPINGS}
    if fig.fagomrade is None:  # no specialty: no specialty filter passes it
        del values["fagomrade"]
    return (
        [_scope(())]
        + [_scope(((g, v),)) for g, v in values.items()]
        + [
            _scope(tuple((g, values[g]) for g in combo))
            for combo in _SCOPE_SETS
            if all(g in values for g in combo)
        ]
        + _public_scopes(fig)
    )


def _public_scope(year: str | None) -> str:
    """The scope of `public_filters(year)`: published mini-HTAs, of one year or all."""
    pairs = (("type", PUBLIC_FORM_TYPE), ("status", PUBLISHED))
    return _scope(((("ar", year),) if year is not None else ()) + pairs)


def _public_scopes(fig: CaseFigures) -> list[str]:
    """The public figures' scopes a case is counted under: none unless a published mini-HTA."""
    if fig.form_type != PUBLIC_FORM_TYPE or fig.state != PUBLISHED:
        return []
    return [_public_scope(None), _public_scope(fig.group_key("ar"))]


def counter_scope(filters: Filters) -> str | None:
    """The scope of `counter_scopes` whose counts are the figures of `filters`: for no filter,
    for any filters of `GROUPINGS` (`{"hf":"OUS","ar":"2025"}`) and for `public_filters`; None
    for an HF with a region, for dates and for any other state."""
    chosen = filters.as_dict()
    if "status" in chosen:
        year = chosen.pop("ar", None)
        if chosen != {"type": PUBLIC_FORM_TYPE, "status": PUBLISHED}:
            return None
        return _public_scope(None if year is None else str(year))
    if not set(chosen) <= set(GROUPINGS) or {"hf", "region"} <= set(chosen):
        return None
    return _scope(tuple((g, str(chosen[g])) for g in GROUPINGS if g in chosen))


def counted_regions(rows: Iterable[tuple[str, str, str, str, int, int]]) -> set[str]:
    """The regions of the cases whose summed `counter_keys` are `rows` (as for
    `aggregate_counters`): those counted more than 0 times."""
    return {key for kind, g, key, _, _, n in rows if kind == _CASE and g == "region" and n}


def summed_counters(
    figures: Iterable[CaseFigures],
) -> list[tuple[str, str, str, str, int, int]]:
    """The `counter_keys` of `figures` summed, as the rows `aggregate_counters` reads."""
    counts = Counter(key for fig in figures for key in counter_keys(fig))
    return [(*key, n) for key, n in counts.items()]


def aggregate_counters(
    rows: Iterable[tuple[str, str, str, str, int, int]], filters: Filters | None = None
) -> dict[str, Any]:
    """The figures of the cases that pass `filters` (`compute`) from the summed `counter_keys`
    of those cases (the counts kept under `counter_scope(filters)`), given as `(kind, grouping,
    key, item, value, n)` rows; rows of `n == 0` count nothing. The filters are only echoed.
    Reads a few thousand rows, never one per case."""
    t = _Tables(filters or Filters())
    per, states, outcomes, returns = t.per, t.states, t.outcomes, t.returns
    group_cal, group_work = t.group_cal, t.group_work
    stage_cal, stage_work, per_year, per_month = t.stage_cal, t.stage_work, t.per_year, t.per_month
    links = t.links
    for kind, g, key, item, value, n in rows:
        if not n:
            continue
        if kind == _CASE:
            per[g][key] += n
            t.add_group(g, key, item, value, n)
            if g == "type":  # every case has one type: the overall counts
                outcomes[item] += n
                returns[value] += n
        elif kind == _TOTAL_CAL:
            group_cal[g][key][value] += n
        elif kind == _TOTAL_WORK:
            group_work[g][key][value] += n
        elif kind == _STATE:
            states[key] += n
        elif kind == _STAGE_CAL:
            stage_cal[key][value] += n
        elif kind == _STAGE_WORK:
            stage_work[key][value] += n
        elif kind == _OUTCOME_MONTH:
            per_year[str(value)][item] += n
            per_month[key][item] += n
        elif kind == _LINK:
            links[(key, item)] += n
    for table in group_cal["type"].values():
        t.total_cal.update(table)
    for table in group_work["type"].values():
        t.total_work.update(table)
    t.total = sum(per["type"].values())
    return _assemble(t)


def flow(
    cases: Iterable[CaseHistory],
    filters: Filters | None = None,
    *,
    regions: Mapping[str, str] | None = None,
) -> list[tuple[str, str, int]]:
    """Links of the flow picture as `(from_node, to_node, number of transitions)`.

    Nodes carry Norwegian labels: "Mottatt", "Returnert", "Til priskontroll" ... A decided case
    ends in its outcome ("Innvilget", "Avslått", "Innført" ...), a withdrawn one in "Trukket".
    Returns appear as "Mottatt" → "Returnert" and "Returnert" → "Mottatt", so the picture has a
    loop. The same links are in `compute(...)["flyt"]`.
    """
    derived = _prepare(cases, filters or Filters(), regions, _no_working_days)
    return _sorted_links(Counter(link for d in derived for link in d.links))


def _no_working_days(a: date, b: date) -> int:
    return 0  # the flow needs no durations


# ---- suppression of small cells ------------------------------------------------------------------

HIDDEN = "skjult"
_COUNT_TABLES = (
    "per_status",
    "per_type",
    "per_hf",
    "per_region",
    "per_ar",
    "per_fagomrade",
    "utfall",
)


def _derivable(hidden: Iterable[int], min_cell: int) -> bool:
    """Whether hidden counts of one table (known to sum to the total minus the shown cells)
    give themselves away: a single hidden cell is that difference; hidden cells summing to fewer
    than `min_cell` make the difference a small cell of its own; and when they sum to no more
    than their number, every one is 1 (a listed key counts at least one case)."""
    values = list(hidden)
    total = sum(values)
    return len(values) < 2 or total < min_cell or total <= len(values)


def _complete(cells: Mapping[str, int], hidden: set[str], min_cell: int) -> bool:
    """Complementary suppression within one table: while the `hidden` cells could be told from
    the total and the shown cells (`_derivable`), hide the next smallest shown one too. Returns
    whether `hidden` grew."""
    if not hidden:
        return False
    grew = False
    rest = sorted((v, k) for k, v in cells.items() if k not in hidden)
    while rest and _derivable((cells[k] for k in hidden), min_cell):
        hidden.add(rest.pop(0)[1])
        grew = True
    return grew


def _apply(
    table: dict[str, Any], cells: Mapping[str, int], hidden: set[str], min_cell: int
) -> None:
    """Null the `hidden` cells of `table`; when even all of them hidden would give themselves
    away (five keys of one case each under a total of five), the keys go too: the table becomes
    `{"skjult": true}`."""
    if not hidden:
        return
    if len(hidden) > 1 and _derivable((cells[k] for k in hidden), min_cell):
        table.clear()
    else:
        table.update(dict.fromkeys(hidden))
    table[HIDDEN] = True


def _counts_of(table: Mapping[str, Any]) -> dict[str, int]:
    return {k: v for k, v in table.items() if k != HIDDEN and v is not None}


def _suppress_counts(table: dict[str, Any], min_cell: int) -> set[str]:
    """Null every count below `min_cell`, then hide the next smallest counts too (complementary
    suppression, `_complete`) until the hidden ones cannot be told from the total and the shown
    cells. Returns the hidden keys."""
    cells = _counts_of(table)
    hidden = {k for k, v in cells.items() if v < min_cell}
    _complete(cells, hidden, min_cell)
    _apply(table, cells, hidden, min_cell)
    return hidden


def _link(
    parent: Mapping[str, int],
    parent_hidden: set[str],
    key: str,
    children: Mapping[str, int],
    child_hidden: set[str],
    members: Iterable[str],
    min_cell: int,
) -> bool:
    """Keep a cell that is the sum of cells of another table (a region: its HFs) from giving a
    hidden one away: a hidden sum needs a hidden part (else it is the sum of the shown parts),
    and the hidden parts of a shown sum must not be derivable from it. Returns whether anything
    more was hidden."""
    parts = sorted((children[m], m) for m in members if m in children)
    if not parts or key not in parent:
        return False
    hidden_parts = [m for _, m in parts if m in child_hidden]
    shown = [m for _, m in parts if m not in child_hidden]
    if key in parent_hidden:
        if hidden_parts or not shown:
            return False
        child_hidden.add(shown[0])
        return True
    if not hidden_parts or not _derivable((children[m] for m in hidden_parts), min_cell):
        return False
    if shown:
        child_hidden.add(shown[0])
    else:
        parent_hidden.add(key)
    return True


def _suppress_hf_and_region(
    out: dict[str, Any], regions: Mapping[str, str], min_cell: int
) -> dict[str, set[str]]:
    """`per_hf` and `per_region` suppressed together: each complementary in itself, and a
    region's hidden HFs (or a hidden region) not derivable from the region's count and its
    shown HFs (or from its HFs). Returns the hidden keys of both."""
    cells = {name: _counts_of(out[name]) for name in ("per_hf", "per_region")}
    hidden = {name: {k for k, v in c.items() if v < min_cell} for name, c in cells.items()}
    members: dict[str, list[str]] = defaultdict(list)
    for hf in cells["per_hf"]:
        members[regions.get(hf, UNKNOWN)].append(hf)
    changed = True
    while changed:
        changed = False
        for name in ("per_hf", "per_region"):
            changed |= _complete(cells[name], hidden[name], min_cell)
        for region, hfs in members.items():
            changed |= _link(
                cells["per_region"],
                hidden["per_region"],
                region,
                cells["per_hf"],
                hidden["per_hf"],
                hfs,
                min_cell,
            )
    for name in ("per_hf", "per_region"):
        _apply(out[name], cells[name], hidden[name], min_cell)
    return hidden


def _suppress_block(block: dict[str, Any], min_cell: int) -> None:
    """A `{"median", "p90", "antall"}` over fewer than `min_cell` cases is hidden whole."""
    if block.get("antall") is None or block["antall"] < min_cell:
        block.update({"median": None, "p90": None, "antall": None, HIDDEN: True})


def _suppress_times(times: dict[str, Any], min_cell: int) -> None:
    for block in times.values():
        _suppress_block(block, min_cell)


def _suppress_returns(returns: dict[str, Any], min_cell: int) -> None:
    if returns["saker_med_retur"] is None or returns["saker_med_retur"] < min_cell:
        returns.update({"totalt": None, "saker_med_retur": None, HIDDEN: True})


def _hide_group(group: dict[str, Any]) -> None:
    group["saker"] = None
    group[HIDDEN] = True
    for block in group["behandlingstid"].values():
        block.update({"median": None, "p90": None, "antall": None, HIDDEN: True})
    group["returer"].update({"totalt": None, "saker_med_retur": None, HIDDEN: True})
    group["utfall"] = {k: None for k in group["utfall"]} | {HIDDEN: True}


PUBLISHED = State.PUBLISERT
PUBLIC_FORM_TYPE = FormType.MINIHTA
"""Public figures cover published mini-HTAs only: they alone are public case by case (WORKFLOW.md
section 6: the national database). Applications (Del 2) concern one patient each and are never
published, nor are mini-HTAs before publication (their free text, e.g. `metode.fagomrade`, is
not public until then): neither is counted in any public figure."""


def public_filters(year: int | None = None) -> Filters:
    """The filters of every public figure: published mini-HTAs, optionally of one year."""
    return Filters(year=year, form_type=PUBLIC_FORM_TYPE, state=PUBLISHED)


def is_public_scope(filters: Mapping[str, Any]) -> bool:
    """Whether figures whose `filter` echo is `filters` cover published mini-HTAs only."""
    return filters.get("status") == PUBLISHED and filters.get("type") == PUBLIC_FORM_TYPE


def _registry_regions() -> dict[str, str]:
    from forms.helseforetak import registry

    return {code: t.region for code, t in registry().trusts.items()}


def public_figures(
    stats: dict[str, Any], min_cell: int = MIN_CELL, regions: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A copy of `stats` fit for publication: no cell describes fewer than `min_cell` cases.

    Only figures of `public_filters` may be published (`is_public_scope`): nothing unpublished
    is counted in them, so no unpublished text becomes a key. This function hides small cells.

    - A count below `min_cell` becomes `null` and the table (dict) holding it gets
      `"skjult": true`. The next smallest cells are hidden too until the hidden ones cannot be
      derived from the published total and the shown cells (`_suppress_counts`).
    - A median/percentile block over fewer than `min_cell` cases is nulled whole (median, p90 and
      count), as are the return totals when fewer than `min_cell` cases were returned.
    - `per_hf` and `per_region` are suppressed together (`_suppress_hf_and_region`, with the
      HF registry's regions or `regions`): a region's count does not give its hidden HFs away.
    - A group (per HF, region, year ...) is hidden whole when its count is hidden in the matching
      `per_*` table; flow links below `min_cell` are nulled.
    - When `saker_totalt` itself is below `min_cell`, every figure is hidden.
    The figures never hold case ids; neither does the result.
    """
    out = copy.deepcopy(stats)
    if out["saker_totalt"] < min_cell:
        out["saker_totalt"] = None
        out[HIDDEN] = True  # every cell is at most the total, so every cell is hidden below
    hidden_keys = _suppress_hf_and_region(out, regions or _registry_regions(), min_cell)
    for name in _COUNT_TABLES:
        if name not in hidden_keys:
            hidden_keys[name] = _suppress_counts(out[name], min_cell)

    _suppress_times(out["behandlingstid"]["total"], min_cell)
    for times in out["behandlingstid"]["per_steg"].values():
        _suppress_times(times, min_cell)

    _suppress_returns(out["returer"], min_cell)
    _suppress_block(out["returer"]["per_sak"], min_cell)
    _suppress_counts(out["returer"]["fordeling"], min_cell)
    if out["returer"]["per_sak"].get(HIDDEN):
        out["returer"]["fordeling"] = {k: None for k in out["returer"]["fordeling"]} | {
            HIDDEN: True
        }

    for period_table in ("utfall_per_ar", "utfall_per_maned"):
        for counts in out[period_table].values():
            _suppress_counts(counts, min_cell)

    for link in out["flyt"]:
        if link["antall"] < min_cell:
            link["antall"] = None
            link[HIDDEN] = True

    for grouping, groups in out["grupper"].items():
        hidden = hidden_keys.get(f"per_{grouping}", set())
        if out.get(f"per_{grouping}") == {HIDDEN: True}:  # not even the keys are published
            groups.clear()
        for key, group in groups.items():
            if key in hidden or group["saker"] < min_cell:
                _hide_group(group)
                continue
            _suppress_times(group["behandlingstid"], min_cell)
            _suppress_returns(group["returer"], min_cell)
            _suppress_counts(group["utfall"], min_cell)
    return out


# ---- XLSX ------------------------------------------------------------------------------------------

_UNIT_LABELS = {"kalenderdager": "Kalenderdager", "arbeidsdager": "Arbeidsdager"}
_GROUP_SHEETS = {
    "hf": ("Per helseforetak", "Helseforetak"),
    "region": ("Per region", "Region"),
    "ar": ("Per år", "År"),
    "fagomrade": ("Per fagområde", "Fagområde"),
    "type": ("Per skjematype", "Skjematype"),
}
_COUNT_SHEETS = {
    "per_status": ("Status", "Status"),
    "per_type": ("Skjematype", "Skjematype"),
    "per_hf": ("Helseforetak", "Helseforetak"),
    "per_region": ("Region", "Region"),
    "per_ar": ("År", "År"),
    "per_fagomrade": ("Fagområde", "Fagområde"),
    "utfall": ("Utfall", "Utfall"),
}
_METHOD_TEXT = (
    (
        "Behandlingstid",
        "Fra første gang saken ble mottatt til den ble avgjort (søknader) eller besluttet "
        "(mini-metodevurderinger). Trukne og åpne saker har ingen behandlingstid.",
    ),
    (
        "Tid per steg",
        "Tiden saken har ligget i hvert steg, summert over alle opphold. Bare avsluttede "
        "opphold telles.",
    ),
    ("Kalenderdager", "Antall datoer fra start til slutt (samme dag = 0)."),
    (
        "Arbeidsdager",
        "Mandag til fredag som ikke er offentlig høytidsdag i Norge, fra dagen etter start til "
        "og med sluttdagen.",
    ),
    ("Median", "Midterste verdi (snittet av de to midterste ved et partall verdier)."),
    (
        "90-persentil",
        "Lineær interpolasjon mellom nærmeste rangeringer, som PERSENTIL.INK i Excel.",
    ),
    (
        "Tomme celler",
        "Ingen data, eller skjult fordi tallet gjelder færre enn 5 saker (offentlige tall).",
    ),
)


def _label(table: str, key: str) -> str:
    if table == "per_status":
        return STATE_LABELS.get(key, key)
    if table == "utfall":
        return OUTCOME_LABELS.get(key, key)
    if key == NO_SPECIALTY:
        return "Ikke oppgitt"
    if key == UNKNOWN:
        return "Ukjent"
    if table in ("per_type", "type"):
        return _form_name(key)
    return key


def _form_name(form_id: str) -> str:
    """A form type as a person reads it (the catalogue's Norwegian name), never its id."""
    from forms.catalog import catalogue

    form = catalogue().get(form_id)
    return form.short_name if form else form_id


# the filter rows of the workbook's first sheet: Norwegian names, values as people read them
_FILTER_NAMES = {
    "hf": "Helseforetak",
    "region": "Region",
    "ar": "År",
    "fagomrade": "Fagområde",
    "type": "Skjematype",
    "fra": "Mottatt fra og med",
    "til": "Mottatt til og med",
}


def _filter_row(key: str, value: Any) -> list[Any]:
    shown = value
    if key in ("hf", "region"):
        shown = _names(key).get(value, value)
    elif key == "type":
        shown = _form_name(value)
    elif key in ("fra", "til"):
        shown = date_text(value)
    return [f"Filter: {_FILTER_NAMES.get(key, key)}", shown]


def _cells(table: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in table.items() if k != HIDDEN]


def _names(stats_key: str) -> dict[str, str]:
    from forms.helseforetak import registry

    reg = registry()
    if stats_key in ("per_hf", "hf"):
        return {code: t.name for code, t in reg.trusts.items()}
    if stats_key in ("per_region", "region"):
        return dict(reg.regions)
    return {}


def to_xlsx(stats: dict[str, Any], created: datetime | None = None) -> bytes:
    """The figures as a workbook, one sheet per table, the same numbers as `stats`.

    Works on internal and public figures alike (a hidden cell is an empty cell). Every sheet has
    a header row; columns "Kode" hold the ids the JSON uses. The bytes are deterministic: the
    workbook's creation time is `created` (an aware time: when the figures were taken out).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from forms.templates.xlsx import append_row, normalise_zip, workbook_time

    wb = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], rows: Iterable[list[Any]], widths: list[int]):
        ws = wb.create_sheet(title[:31])
        append_row(ws, header)
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            append_row(ws, row)
        for i, width in enumerate(widths):
            ws.column_dimensions[get_column_letter(i + 1)].width = width
        ws.freeze_panes = "A2"
        return ws

    about = wb.active
    about.title = "Om tallene"
    append_row(about, ["Nøkkeltall fra skjemamottaket", None])
    about["A1"].font = bold
    append_row(about, ["Saker totalt", stats.get("saker_totalt")])
    for key, value in stats.get("filter", {}).items():
        append_row(about, _filter_row(key, value))
    if stats.get(HIDDEN) or _any_hidden(stats):
        append_row(about, ["Skjulte celler", "Ja: celler med færre enn 5 saker er tomme"])
    append_row(about, [None, None])
    for name, text in _METHOD_TEXT:
        append_row(about, [name, text])
    about.column_dimensions["A"].width = 30
    about.column_dimensions["B"].width = 100

    for key, (title, header) in _COUNT_SHEETS.items():
        names = _names(key)
        rows = [[_label(key, k), k, names.get(k), v] for k, v in _cells(stats[key])]
        sheet(title, [header, "Kode", "Navn", "Antall saker"], rows, [34, 22, 40, 14])

    times = stats["behandlingstid"]
    rows = []
    for stage, label, block in [("total", "Totalt (mottatt til avgjort)", times["total"])] + [
        (s, STATE_LABELS.get(s, s), t) for s, t in times["per_steg"].items()
    ]:
        for unit in ("kalenderdager", "arbeidsdager"):
            b = block[unit]
            rows.append([label, stage, _UNIT_LABELS[unit], b["median"], b["p90"], b["antall"]])
    sheet(
        "Behandlingstid",
        ["Steg", "Kode", "Enhet", "Median", "90-persentil", "Antall saker"],
        rows,
        [32, 16, 16, 12, 14, 14],
    )

    returns = stats["returer"]
    per_case = returns["per_sak"]
    sheet(
        "Returer",
        ["Mål", "Kode", "Verdi"],
        [
            ["Returer totalt", "totalt", returns["totalt"]],
            ["Saker med minst én retur", "saker_med_retur", returns["saker_med_retur"]],
            ["Median returer per sak", "per_sak.median", per_case["median"]],
            ["90-persentil returer per sak", "per_sak.p90", per_case["p90"]],
            ["Antall saker", "per_sak.antall", per_case["antall"]],
        ],
        [34, 20, 12],
    )
    sheet(
        "Returer per sak",
        ["Antall returer", "Antall saker"],
        [[int(k), v] for k, v in _cells(returns["fordeling"])],
        [16, 14],
    )

    for key, title in (
        ("utfall_per_ar", "Utfall per år"),
        ("utfall_per_maned", "Utfall per måned"),
    ):
        table = stats[key]
        codes = sorted(
            {c for counts in table.values() for c, _ in _cells(counts)},
            key=lambda c: (_OUTCOME_ORDER.get(c, 99), c),
        )
        sheet(
            title,
            ["Periode"] + [OUTCOME_LABELS.get(c, c) for c in codes],
            [[p] + [counts.get(c) for c in codes] for p, counts in table.items()],
            [12] + [16] * len(codes),
        )

    sheet(
        "Flyt",
        ["Fra", "Til", "Antall overganger"],
        [[link["fra"], link["til"], link["antall"]] for link in stats["flyt"]],
        [24, 24, 18],
    )

    for grouping, (title, header) in _GROUP_SHEETS.items():
        groups = stats["grupper"][grouping]
        names = _names(grouping)
        codes = sorted(
            {c for g in groups.values() for c, _ in _cells(g["utfall"])},
            key=lambda c: (_OUTCOME_ORDER.get(c, 99), c),
        )
        rows = []
        for key, g in groups.items():
            cal, work = g["behandlingstid"]["kalenderdager"], g["behandlingstid"]["arbeidsdager"]
            rows.append(
                [_label(grouping, key), names.get(key), g["saker"], cal["antall"]]
                + [cal["median"], cal["p90"], work["median"], work["p90"]]
                + [g["returer"]["totalt"], g["returer"]["saker_med_retur"]]
                + [g["utfall"].get(c) for c in codes]
            )
        sheet(
            title,
            [header, "Navn", "Saker", "Avgjorte saker"]
            + ["Median kalenderdager", "90-persentil kalenderdager"]
            + ["Median arbeidsdager", "90-persentil arbeidsdager"]
            + ["Returer", "Saker med retur"]
            + [f"Utfall: {OUTCOME_LABELS.get(c, c)}" for c in codes],
            rows,
            [24, 36] + [14] * (8 + len(codes)),
        )

    wb.properties.title = "Nøkkeltall fra skjemamottaket"
    wb.properties.creator = "Nye metoder"
    wb.properties.lastModifiedBy = "Nye metoder"
    wb.properties.language = "nb-NO"
    wb.properties.created = wb.properties.modified = workbook_time(created)
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_zip(buf.getvalue())


def _any_hidden(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get(HIDDEN) is True or any(_any_hidden(v) for v in value.values())
    if isinstance(value, list):
        return any(_any_hidden(v) for v in value)
    return False
