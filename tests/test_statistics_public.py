"""Public figures (issue 11): published mini-HTAs only, and no hidden cell follows by subtraction.

Property test over random small counts: whatever the counts, a hidden cell of a public table
cannot be found as the published total minus the shown cells (a reader who knows that every
listed key counts at least one case). A reader who also knows the suppression rule's order can
in edge cases narrow a hidden cell down further; public figures count published cases only, each
of which the national database shows with its HF, specialty and conclusion, so that reader learns
nothing the database does not publish.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.statistics import (
    HIDDEN,
    MIN_CELL,
    PUBLISHED,
    CaseHistory,
    Filters,
    Transition,
    _suppress_counts,
    compute,
    public_figures,
    public_filters,
)

OSLO = ZoneInfo("Europe/Oslo")
REGIONS = {"OUS": "HSO", "AHUS": "HSO", "HBE": "HV", "UNN": "HN", "STO": "HMN"}
HFS = sorted(REGIONS)
SPECIALTIES = ["Kreft", "Nevrologi", "Hjerte", "Hud", "Øye"]
PATH = ["til_fagfelle", "fagfellevurdert", "besluttet", "publisert"]
# the count tables whose cells add up to `saker_totalt` (every case once)
TOTAL_TABLES = ("per_status", "per_type", "per_hf", "per_region", "per_ar", "per_fagomrade")


def _case(i: int, hf: str, specialty: str, year: int, published: bool = True) -> CaseHistory:
    at = datetime(year, 2, 1, 9, 0, tzinfo=OSLO) + timedelta(days=i % 200)
    transitions = [Transition(at, None, "mottatt")]
    for to in PATH if published else PATH[:1]:
        at += timedelta(days=7)
        transitions.append(Transition(at, transitions[-1].to, to))
    return CaseHistory(
        id=f"MMV-{year}-{i:03d}",
        form_type="minihta",
        hf=hf,
        fagomrade=specialty,
        created=transitions[0].at,
        transitions=transitions,
        outcome="innfort" if published else None,
    )


def _residual_gives_away(table: dict, total: int) -> list[str]:
    """Hidden keys whose count follows from `total` minus the shown cells, each listed key being
    at least 1: the hidden cells' share is `total − shown`; a hidden key can be anything from 1
    to that share minus one for each other hidden key."""
    hidden = [k for k, v in table.items() if k != HIDDEN and v is None]
    if not hidden:
        return []
    share = total - sum(v for k, v in table.items() if k != HIDDEN and v is not None)
    largest = share - (len(hidden) - 1)
    if largest <= 1 or share < MIN_CELL:
        return hidden
    return []


cells = st.lists(st.integers(min_value=1, max_value=14), min_size=1, max_size=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(per_hf=cells, per_specialty=cells, years=st.lists(st.integers(2024, 2026), min_size=1))
def test_no_hidden_cell_of_public_figures_is_total_minus_shown_cells(
    per_hf: list[int], per_specialty: list[int], years: list[int]
) -> None:
    n = sum(per_hf)
    hfs = [hf for hf, count in zip(HFS, per_hf, strict=False) for _ in range(count)]
    hfs += [HFS[0]] * (n - len(hfs))
    specialties = [s for s, c in zip(SPECIALTIES, per_specialty, strict=False) for _ in range(c)]
    specialties = (specialties + [SPECIALTIES[0]] * n)[:n]
    cases = [_case(i, hfs[i], specialties[i], years[i % len(years)]) for i in range(n)] + [
        _case(1000 + i, "UNN", "Hemmelig", 2026, published=False) for i in range(3)
    ]
    stats = compute(cases, public_filters(), regions=REGIONS)
    public = public_figures(stats)
    assert stats["saker_totalt"] == n  # the unpublished cases are not counted
    assert "Hemmelig" not in str(public)
    total = public["saker_totalt"]
    if total is None:
        return  # fewer than MIN_CELL cases: everything is hidden
    for name in TOTAL_TABLES:
        assert _residual_gives_away(public[name], total) == [], (name, stats[name], public[name])
    # a region's count is the sum of its HFs': it gives none of them away either
    for region in stats["per_region"]:
        hfs = {h: public["per_hf"].get(h) for h in stats["per_hf"] if REGIONS[h] == region}
        shown = public["per_region"].get(region)
        if public["per_hf"] == {HIDDEN: True}:
            continue  # not even the HFs are listed
        if shown is None:
            assert None in hfs.values(), (region, stats["per_hf"], public["per_hf"])
        else:
            assert _residual_gives_away(hfs, shown) == [], (region, stats["per_hf"], public)


def test_the_attack_of_issue_11_total_16_one_shown_13_three_hidden() -> None:
    table = {"Kreft": 13, "A": 1, "B": 1, "C": 1}
    _suppress_counts(table, MIN_CELL)
    # 16 − 13 = 3 over three hidden keys would make each 1: the 13 is hidden too.
    assert table == {"Kreft": None, "A": None, "B": None, "C": None, HIDDEN: True}


def test_public_filters_count_published_mini_htas_only() -> None:
    cases = [_case(i, "OUS", "Kreft", 2025) for i in range(6)]
    cases += [_case(100 + i, "OUS", "Hemmelig", 2025, published=False) for i in range(4)]
    application = CaseHistory(
        id="2026-09-14-OUS-KREFT",
        form_type="tilgang-del2",
        hf="OUS",
        fagomrade=None,
        created=datetime(2025, 3, 1, tzinfo=OSLO),
        transitions=[Transition(datetime(2025, 3, 1, tzinfo=OSLO), None, "mottatt")],
    )
    stats = compute([*cases, application], public_filters(), regions=REGIONS)
    assert stats["saker_totalt"] == 6
    assert stats["per_status"] == {PUBLISHED: 6}
    assert stats["per_type"] == {"minihta": 6}
    assert set(stats["per_fagomrade"]) == {"Kreft"}
    assert stats["filter"] == {"type": "minihta", "status": PUBLISHED}
    # the internal figures still count every case
    assert compute([*cases, application], Filters(), regions=REGIONS)["saker_totalt"] == 11
