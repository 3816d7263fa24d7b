"""The counters of the unfiltered figures (`counter_keys`, `aggregate_counters`): summed over the
cases they give exactly `compute` with no filters, and they stay exact when cases change, which
is how the storage layer keeps them (`figures_counts`: old keys off, new keys on)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.figures import synthetic_cases
from processor.statistics import (
    PUBLIC_FORM_TYPE,
    PUBLISHED,
    CaseFigures,
    Filters,
    aggregate,
    aggregate_counters,
    case_figures,
    compute,
    counter_keys,
    counter_scope,
    counter_scopes,
    public_filters,
)
from tests.test_statistics import REGIONS, history

CASES = synthetic_cases(600, seed=11)
FIGURES = case_figures(CASES)


def _rows(counts: Counter) -> list[tuple]:
    return [(*key, n) for key, n in counts.items()]


def _counts(figures: list[CaseFigures]) -> Counter:
    return Counter(key for fig in figures for key in counter_keys(fig))


def _text(stats: dict) -> str:
    """As stored and served: the order of the keys counts too (the pages list them in order)."""
    return json.dumps(stats, ensure_ascii=False)


def test_counters_of_all_cases_give_compute_without_filters() -> None:
    expected = compute(CASES)
    assert _text(aggregate_counters(_rows(_counts(FIGURES)))) == _text(expected)
    assert expected["saker_totalt"] == 600 and expected["grupper"]["hf"]


def test_counters_of_hand_made_cases_with_returns_withdrawals_and_no_specialty() -> None:
    cases = [
        history(
            "A",
            [("2026-03-02", "mottatt"), ("2026-03-04", "returnert"), ("2026-03-09", "mottatt")],
            fagomrade=None,
        ),
        history(
            "B",
            [("2026-03-02", "mottatt"), ("2026-03-05", "trukket")],
            hf="UNN",
        ),
        history(
            "C",
            [
                ("2026-02-27", "mottatt"),
                ("2026-03-03", "priskontroll"),
                ("2026-03-10", "klar"),
                ("2026-03-12", "satt_opp"),
                ("2026-03-20", "avgjort"),
            ],
            hf="HBE",
            outcome="avslatt",
        ),
    ]
    figures = case_figures(cases, regions=REGIONS)
    got = aggregate_counters(_rows(_counts(figures)))
    assert _text(got) == _text(compute(cases, regions=REGIONS))
    assert got["utfall_per_maned"] == {"2026-03": {"avslatt": 1, "trukket": 1}}
    assert got["returer"]["fordeling"] == {"0": 2, "1": 1}


def _scoped(figures: list[CaseFigures]) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for fig in figures:
        keys = counter_keys(fig)
        for scope in counter_scopes(fig):
            out.setdefault(scope, Counter()).update(keys)
    return out


SCOPED_FILTERS = [
    Filters(hf="OUS"),
    Filters(region="HSO"),
    Filters(year=2025),
    Filters(fagomrade="Onkologi"),
    Filters(form_type="minihta"),
    Filters(hf="NOPE"),  # no case: the empty figures
    Filters(fagomrade="ikke_oppgitt"),  # the label of no specialty is no specialty filter
    Filters(hf="OUS", year=2025),
    Filters(region="HSO", form_type="minihta"),
    Filters(fagomrade="Onkologi", year=2024),
    Filters(hf="UNN", year=2030),  # no case
    Filters(hf="OUS", year=2025, form_type="minihta"),
    Filters(region="HSO", year=2025, fagomrade="Onkologi"),
    Filters(region="HN", form_type="tilgang-del2", year=2026),
    Filters(hf="OUS", year=2031, fagomrade="Onkologi"),  # no case
    Filters(region="HSO", year=2025, fagomrade="Onkologi", form_type="minihta"),
    Filters(hf="OUS", year=2025, fagomrade="Onkologi", form_type="minihta"),
    public_filters(),
    public_filters(2025),
]


def test_counts_kept_per_filter_give_compute_with_that_filter() -> None:
    scoped = _scoped(FIGURES)
    assert _text(aggregate_counters(_rows(scoped["{}"]))) == _text(compute(CASES))
    for filters in SCOPED_FILTERS:
        scope = counter_scope(filters)
        assert scope is not None
        got = aggregate_counters(_rows(scoped.get(scope, Counter())), filters)
        assert _text(got) == _text(compute(CASES, filters)), filters
    assert compute(CASES, Filters(fagomrade="Onkologi"))["saker_totalt"] > 0
    assert 0 < compute(CASES, public_filters())["saker_totalt"] < len(CASES)


def test_scopes_are_named_by_their_filters() -> None:
    assert counter_scope(Filters()) == "{}"
    assert counter_scope(Filters(year=2025)) == '{"ar":"2025"}'
    assert counter_scope(Filters(year=2025, hf="OUS")) == '{"hf":"OUS","ar":"2025"}'
    assert counter_scope(Filters(hf="OUS", region="HSO")) is None
    three = Filters(hf="OUS", year=2025, form_type="minihta")
    assert counter_scope(three) == '{"hf":"OUS","ar":"2025","type":"minihta"}'
    four = replace(three, fagomrade="Onkologi")
    assert counter_scope(four) == '{"hf":"OUS","ar":"2025","fagomrade":"Onkologi","type":"minihta"}'
    assert counter_scope(Filters(hf="OUS", region="HSO", year=2025)) is None
    assert counter_scope(Filters(date_from=date(2025, 1, 1))) is None
    fig = next(f for f in FIGURES if f.fagomrade is not None and f.state != PUBLISHED)
    scopes = counter_scopes(fig)
    # none, five single filters, ten pairs, ten threes, five fours and all five, but those with
    # an HF and its region
    assert len(scopes) == len(set(scopes)) == 1 + 5 + (10 - 1) + (10 - 3) + (5 - 3) + (1 - 1)
    # a published mini-HTA also has the two scopes of the public figures (all years, its year)
    published = replace(fig, form_type=PUBLIC_FORM_TYPE, state=PUBLISHED)
    public = [counter_scope(public_filters()), counter_scope(public_filters(fig.received.year))]
    assert public[0] == '{"type":"minihta","status":"publisert"}'
    assert None not in public and not set(public) & set(scopes)
    assert set(counter_scopes(published)) - set(counter_scopes(replace(published, state="x"))) == {
        *public
    }
    assert counter_scope(Filters(form_type=PUBLIC_FORM_TYPE, state="innsendt")) is None
    assert counter_scope(replace(public_filters(), hf="OUS")) is None
    assert counter_scope(Filters(hf=fig.hf, year=fig.received.year)) in scopes
    assert (
        counter_scope(Filters(region=fig.region, year=fig.received.year, fagomrade=fig.fagomrade))
        in scopes
    )
    # no specialty: four groupings, six pairs, four threes and all four, less those with HF and
    # region
    assert len(counter_scopes(replace(fig, fagomrade=None))) == 1 + 4 + (6 - 1) + (4 - 2) + 0
    assert counter_scope(Filters(hf=fig.hf, year=fig.received.year, form_type="x", fagomrade="y"))
    every = Filters(fig.hf, fig.region, fig.received.year, fig.fagomrade, fig.form_type)
    assert counter_scope(every) is None  # an HF and a region: `services.figures` reads the HF's


def test_a_specialty_named_like_two_filters_has_a_scope_of_its_own() -> None:
    one = counter_scope(Filters(fagomrade='A","type":"minihta'))
    assert one != counter_scope(Filters(fagomrade="A", form_type="minihta"))


def test_no_cases_give_the_empty_figures() -> None:
    assert _text(aggregate_counters([])) == _text(compute([]))


def test_rows_counted_to_zero_count_nothing() -> None:
    rows = _rows(_counts(FIGURES[:50])) + [("sak", "hf", "XYZ", "innvilget", 0, 0)]
    assert "XYZ" not in aggregate_counters(rows)["per_hf"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, len(FIGURES) - 1), max_size=40, unique=True),
    st.lists(st.integers(0, len(FIGURES) - 1), max_size=40, unique=True),
)
def test_counters_kept_by_changes_equal_counters_counted_anew(removed, changed) -> None:
    """Cases go and cases change (another state, outcome, HF, dates, stages, links): taking each
    one's old keys off and adding its new ones gives the counts of the new set of cases, and so
    its figures."""
    counts = _counts(FIGURES)
    current = {fig.id: fig for fig in FIGURES}
    for i in removed:
        fig = FIGURES[i]
        counts.subtract(counter_keys(fig))
        del current[fig.id]
    for i in changed:
        old = FIGURES[(i * 7 + 3) % len(FIGURES)]
        if old.id not in current:
            continue
        new = replace(
            FIGURES[i],
            id=old.id,
            hf="UNN" if old.hf != "UNN" else "OUS",
            region="HN" if old.hf != "UNN" else "HSO",
            outcome_date=date(2026, 1, 1 + i % 28) if i % 3 else None,
        )
        counts.subtract(counter_keys(old))
        counts.update(counter_keys(new))
        current[old.id] = new
    figures = list(current.values())
    assert all(n >= 0 for n in counts.values())
    assert _text(aggregate_counters(_rows(counts))) == _text(aggregate(figures, Filters()))
