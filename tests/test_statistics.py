"""WORKFLOW.md section 7: processing times, returns, outcomes, counts, public figures and XLSX.

Every expected value is computed by hand in the comments. Working days use
`processor.workdays.working_days_between`: the working days in `(a, b]`, Monday to Friday that are
not Norwegian public holidays. Easter 2026: Easter Sunday is 5 April, so Skjærtorsdag (Thu 2 April),
Langfredag (Fri 3 April) and 2. påskedag (Mon 6 April) are holidays.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from processor.statistics import (
    CaseHistory,
    Filters,
    Transition,
    compute,
    flow,
    public_figures,
    summarise,
    summarise_counts,
    to_xlsx,
)

REGIONS = {"OUS": "HSO", "AHUS": "HSO", "HBE": "HV", "UNN": "HN"}


def history(
    case_id: str,
    steps: list[tuple[str, str]],
    *,
    form_type: str = "tilgang-del2",
    hf: str = "OUS",
    fagomrade: str | None = "Onkologi",
    outcome: str | None = None,
) -> CaseHistory:
    """`steps` are (YYYY-MM-DD, state) in order; the first one enters `mottatt` from nothing."""
    transitions = []
    previous: str | None = None
    for day, state in steps:
        at = datetime.fromisoformat(day + "T10:00")
        transitions.append(Transition(at, previous, state))
        previous = state
    return CaseHistory(
        id=case_id,
        form_type=form_type,
        hf=hf,
        fagomrade=fagomrade,
        created=transitions[0].at,
        transitions=transitions,
        outcome=outcome,
    )


# Through every state of an application, once returned, over weekends and Easter 2026.
#   Fri 20 Mar  mottatt
#   Mon 23 Mar  → returnert        mottatt:      3 calendar days, 1 working day (Mon 23)
#   Wed 25 Mar  → mottatt          returnert:    2 cal, 2 wd (Tue 24, Wed 25)
#   Fri 27 Mar  → priskontroll     mottatt:      2 cal, 2 wd (Thu 26, Fri 27)
#   Wed  8 Apr  → klar             priskontroll: 12 cal, 5 wd (Mon 30, Tue 31 Mar, Wed 1, Tue 7,
#                                  Wed 8 Apr; Thu 2, Fri 3, Mon 6 Apr are Easter holidays)
#   Fri 10 Apr  → satt_opp         klar:         2 cal, 2 wd (Thu 9, Fri 10)
#   Thu 16 Apr  → avgjort          satt_opp:     6 cal, 4 wd (Mon 13 … Thu 16)
# mottatt in total: 3 + 2 = 5 cal, 1 + 2 = 3 wd.
# Received 20 Mar → decided 16 Apr: 27 calendar days, 1+2+2+5+2+4 = 16 working days.
EVERY_STATE = history(
    "2026-03-20-OUS-ONK1",
    [
        ("2026-03-20", "mottatt"),
        ("2026-03-23", "returnert"),
        ("2026-03-25", "mottatt"),
        ("2026-03-27", "priskontroll"),
        ("2026-04-08", "klar"),
        ("2026-04-10", "satt_opp"),
        ("2026-04-16", "avgjort"),
    ],
    outcome="innvilget",
)

# Returned twice, then refused.
#   Mon 5 Jan 2026 mottatt → Wed 7 Jan returnert → Mon 12 Jan mottatt → Tue 13 Jan returnert
#   → Fri 16 Jan mottatt → Mon 19 Jan priskontroll → Tue 20 Jan klar → Thu 22 Jan satt_opp
#   → Thu 29 Jan avgjort (avslått).
# Total 5 Jan → 29 Jan: 24 calendar days; working days (5 Jan, 29 Jan] = 18 (no holidays in
# January after the 1st: weeks of 6–9, 12–16, 19–23, 26–29 → 4 + 5 + 5 + 4).
RETURNED_TWICE = history(
    "2026-01-05-AHUS-NEV1",
    [
        ("2026-01-05", "mottatt"),
        ("2026-01-07", "returnert"),
        ("2026-01-12", "mottatt"),
        ("2026-01-13", "returnert"),
        ("2026-01-16", "mottatt"),
        ("2026-01-19", "priskontroll"),
        ("2026-01-20", "klar"),
        ("2026-01-22", "satt_opp"),
        ("2026-01-29", "avgjort"),
    ],
    hf="AHUS",
    fagomrade="Nevrologi",
    outcome="avslatt",
)

# Withdrawn from price check: an outcome "trukket", no decision time.
WITHDRAWN = history(
    "2025-11-03-HBE-REV1",
    [("2025-11-03", "mottatt"), ("2025-11-05", "priskontroll"), ("2025-11-10", "trukket")],
    hf="HBE",
    fagomrade="Revmatologi",
)

# A mini-HTA, decided (besluttet) and published.
#   Mon 2 Feb 2026 mottatt → Wed 4 Feb til_fagfelle → Wed 18 Feb fagfellevurdert
#   → Fri 27 Feb besluttet → Mon 2 Mar publisert.
# Total 2 Feb → 27 Feb: 25 calendar days, 19 working days (3–6, 9–13, 16–20, 23–27 Feb).
MINIHTA = history(
    "MMV-2026-001",
    [
        ("2026-02-02", "mottatt"),
        ("2026-02-04", "til_fagfelle"),
        ("2026-02-18", "fagfellevurdert"),
        ("2026-02-27", "besluttet"),
        ("2026-03-02", "publisert"),
    ],
    form_type="minihta",
    hf="UNN",
    fagomrade=None,
    outcome="innfort",
)

# Still open: received, waiting in price check.
OPEN = history(
    "2026-04-20-OUS-ONK2",
    [("2026-04-20", "mottatt"), ("2026-04-21", "priskontroll")],
)

ALL = [EVERY_STATE, RETURNED_TWICE, WITHDRAWN, MINIHTA, OPEN]


def figures(cases=ALL, filters: Filters | None = None) -> dict:
    return compute(cases, filters, regions=REGIONS)


# ---- processing time -----------------------------------------------------------------------------


def test_stage_times_over_weekends_and_easter_2026():
    stages = figures([EVERY_STATE])["behandlingstid"]["per_steg"]
    cal = {s: t["kalenderdager"]["median"] for s, t in stages.items()}
    work = {s: t["arbeidsdager"]["median"] for s, t in stages.items()}
    assert cal == {"mottatt": 5, "returnert": 2, "priskontroll": 12, "klar": 2, "satt_opp": 6}
    assert work == {"mottatt": 3, "returnert": 2, "priskontroll": 5, "klar": 2, "satt_opp": 4}
    assert list(stages) == ["mottatt", "returnert", "priskontroll", "klar", "satt_opp"]


def test_total_time_runs_from_first_receipt_to_decision():
    total = figures([EVERY_STATE])["behandlingstid"]["total"]
    assert total["kalenderdager"] == {"median": 27.0, "p90": 27.0, "antall": 1}
    assert total["arbeidsdager"] == {"median": 16.0, "p90": 16.0, "antall": 1}


def test_weekend_only_friday_to_monday_is_three_calendar_days_and_one_working_day():
    case = history("W", [("2026-03-06", "mottatt"), ("2026-03-09", "priskontroll")], fagomrade=None)
    stage = figures([case])["behandlingstid"]["per_steg"]["mottatt"]
    assert stage["kalenderdager"]["median"] == 3
    assert stage["arbeidsdager"]["median"] == 1


def test_aware_timestamps_count_in_oslo_dates():
    # 23:30 UTC on Thu 19 March is 00:30 on Fri 20 March in Oslo (CET, UTC+1): the same dates
    # as EVERY_STATE, so the same 27 / 16 days.
    first = Transition(datetime(2026, 3, 19, 23, 30, tzinfo=UTC), None, "mottatt")
    case = CaseHistory(
        id="UTC",
        form_type="tilgang-del2",
        hf="OUS",
        fagomrade=None,
        created=first.at,
        transitions=[first, *EVERY_STATE.transitions[1:]],
        outcome="innvilget",
    )
    total = figures([case])["behandlingstid"]["total"]
    assert total["kalenderdager"]["median"] == 27
    assert total["arbeidsdager"]["median"] == 16


def test_mini_hta_is_decided_when_besluttet():
    total = figures([MINIHTA])["behandlingstid"]["total"]
    assert total["kalenderdager"]["median"] == 25
    assert total["arbeidsdager"]["median"] == 19
    stages = figures([MINIHTA])["behandlingstid"]["per_steg"]
    # besluttet 27 Feb → publisert 2 Mar: 3 calendar days, 1 working day (Mon 2 Mar).
    assert stages["besluttet"]["kalenderdager"]["median"] == 3
    assert stages["besluttet"]["arbeidsdager"]["median"] == 1
    assert "publisert" not in stages  # the current state has no end


def test_total_over_several_cases_uses_only_decided_ones():
    total = figures()["behandlingstid"]["total"]["kalenderdager"]
    # Decided: EVERY_STATE 27, RETURNED_TWICE 24, MINIHTA 25 → sorted 24, 25, 27.
    # Median 25; p90 inclusive: position 0.9 * 2 = 1.8 → 25 + 0.8 * (27 - 25) = 26.6.
    assert total == {"median": 25.0, "p90": 26.6, "antall": 3}
    work = figures()["behandlingstid"]["total"]["arbeidsdager"]
    # 16, 18, 19 → median 18; p90 = 18 + 0.8 * 1 = 18.8.
    assert work == {"median": 18.0, "p90": 18.8, "antall": 3}


def test_withdrawn_case_counts_as_trukket_and_not_in_decision_times():
    stats = figures([WITHDRAWN])
    assert stats["utfall"] == {"trukket": 1}
    assert stats["behandlingstid"]["total"]["kalenderdager"]["antall"] == 0
    assert stats["behandlingstid"]["total"]["kalenderdager"]["median"] is None
    assert stats["per_status"] == {"trukket": 1}
    # Its completed stays still count per stage: mottatt 3–5 Nov (2 days), priskontroll 5–10 Nov.
    assert stats["behandlingstid"]["per_steg"]["priskontroll"]["kalenderdager"]["median"] == 5
    assert stats["utfall_per_maned"] == {"2025-11": {"trukket": 1}}


# ---- returns, outcomes, counts -------------------------------------------------------------------


def test_case_returned_twice():
    returns = figures([RETURNED_TWICE])["returer"]
    assert returns["totalt"] == 2
    assert returns["saker_med_retur"] == 1
    assert returns["fordeling"] == {"2": 1}
    stages = figures([RETURNED_TWICE])["behandlingstid"]["per_steg"]
    # Two stays in returnert: 7 → 12 Jan (5 days) and 13 → 16 Jan (3 days) = 8 calendar days;
    # working days 8, 9, 12 Jan and 14, 15, 16 Jan = 6.
    assert stages["returnert"]["kalenderdager"]["median"] == 8
    assert stages["returnert"]["arbeidsdager"]["median"] == 6
    total = figures([RETURNED_TWICE])["behandlingstid"]["total"]
    assert (total["kalenderdager"]["median"], total["arbeidsdager"]["median"]) == (24, 18)


def test_return_distribution_over_all_cases():
    returns = figures()["returer"]
    # EVERY_STATE 1, RETURNED_TWICE 2, the others 0.
    assert returns["fordeling"] == {"0": 3, "1": 1, "2": 1}
    assert returns["totalt"] == 3
    assert returns["saker_med_retur"] == 2
    # 0, 0, 0, 1, 2: median 0; p90 position 3.6 → 1 + 0.6 * (2 - 1) = 1.6.
    assert returns["per_sak"] == {"median": 0.0, "p90": 1.6, "antall": 5}


def test_outcomes_and_counts():
    stats = figures()
    assert stats["saker_totalt"] == 5
    assert stats["utfall"] == {
        "innvilget": 1,
        "avslatt": 1,
        "innfort": 1,
        "trukket": 1,
        "under_behandling": 1,
    }
    assert stats["per_status"] == {
        "priskontroll": 1,
        "avgjort": 2,
        "publisert": 1,
        "trukket": 1,
    }
    assert stats["per_type"] == {"minihta": 1, "tilgang-del2": 4}
    assert stats["per_hf"] == {"AHUS": 1, "HBE": 1, "OUS": 2, "UNN": 1}
    assert stats["per_region"] == {"HN": 1, "HSO": 3, "HV": 1}
    assert stats["per_ar"] == {"2025": 1, "2026": 4}
    assert stats["per_fagomrade"] == {
        "Nevrologi": 1,
        "Onkologi": 2,
        "Revmatologi": 1,
        "ikke_oppgitt": 1,
    }
    assert stats["utfall_per_ar"] == {
        "2025": {"trukket": 1},
        "2026": {"innvilget": 1, "avslatt": 1, "innfort": 1},
    }
    assert stats["utfall_per_maned"]["2026-04"] == {"innvilget": 1}


def test_grouped_breakdowns():
    groups = figures()["grupper"]
    assert set(groups) == {"hf", "region", "ar", "fagomrade", "type"}
    ous = groups["hf"]["OUS"]
    assert ous["saker"] == 2
    assert ous["behandlingstid"]["kalenderdager"] == {"median": 27.0, "p90": 27.0, "antall": 1}
    assert ous["returer"] == {"totalt": 1, "saker_med_retur": 1}
    assert ous["utfall"] == {"innvilget": 1, "under_behandling": 1}
    assert groups["region"]["HSO"]["saker"] == 3
    assert groups["type"]["minihta"]["behandlingstid"]["arbeidsdager"]["median"] == 19
    assert groups["ar"]["2025"]["utfall"] == {"trukket": 1}
    assert groups["fagomrade"]["ikke_oppgitt"]["saker"] == 1


def test_the_figures_are_json_and_hold_no_case_ids():
    text = json.dumps(figures(), ensure_ascii=False)
    for case in ALL:
        assert case.id not in text


# ---- median and percentile -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [
        # 1..10: median (5 + 6) / 2; p90 position 0.9 * 9 = 8.1 → 9 + 0.1 * (10 - 9) = 9.1
        (list(range(1, 11)), 5.5, 9.1),
        # two values: p90 = 1 + 0.9 * (100 - 1) = 90.1
        ([1, 100], 50.5, 90.1),
        # eleven values, position 0.9 * 10 = 9 → the 10th sorted value exactly
        ([30, 2, 4, 4, 5, 7, 9, 10, 12, 15, 60], 9.0, 30.0),
        ([3], 3.0, 3.0),
    ],
)
def test_median_and_inclusive_p90(values, median, p90):
    assert summarise(values) == {"median": median, "p90": p90, "antall": len(values)}


def test_summary_of_nothing_is_empty():
    assert summarise([]) == {"median": None, "p90": None, "antall": 0}
    assert summarise_counts({}) == summarise([])
    assert summarise_counts({4: 0}) == summarise([])


@pytest.mark.parametrize(
    "values",
    [list(range(1, 11)), [1, 100], [30, 2, 4, 4, 5, 7, 9, 10, 12, 15, 60], [3], [0, 0, 7]],
)
def test_summary_of_a_count_table_is_the_summary_of_its_values(values):
    assert summarise_counts(Counter(values)) == summarise(values)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.integers(0, 400), st.integers(0, 40), max_size=30))
def test_summary_of_any_count_table_equals_the_expanded_list(counts):
    values = [value for value, n in counts.items() for _ in range(n)]
    assert summarise_counts(counts) == summarise(values)


# ---- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(hf="OUS"), 2),
        (Filters(region="HSO"), 3),
        (Filters(region="HV"), 1),
        (Filters(year=2025), 1),
        (Filters(fagomrade="Onkologi"), 2),
        (Filters(form_type="minihta"), 1),
        # received dates: 20 Mar, 5 Jan, 3 Nov 2025, 2 Feb, 20 Apr 2026 (inclusive bounds)
        (Filters(date_from=date(2026, 1, 5), date_to=date(2026, 3, 20)), 3),
        (Filters(date_from=date(2026, 4, 20)), 1),
        (Filters(hf="OUS", year=2026, form_type="tilgang-del2"), 2),
        (Filters(hf="OUS", form_type="minihta"), 0),
    ],
)
def test_filters(filters, expected):
    stats = figures(filters=filters)
    assert stats["saker_totalt"] == expected
    assert sum(stats["per_status"].values()) == expected


def test_filter_is_echoed_and_applies_to_times():
    stats = figures(filters=Filters(hf="AHUS", date_to=date(2026, 12, 31)))
    assert stats["filter"] == {"hf": "AHUS", "til": "2026-12-31"}
    assert stats["behandlingstid"]["total"]["kalenderdager"]["median"] == 24


def test_default_region_mapping_is_the_hf_registry():
    stats = compute(ALL)
    assert stats["per_region"] == {"HN": 1, "HSO": 3, "HV": 1}


# ---- flow ----------------------------------------------------------------------------------------


def test_flow_includes_returns_withdrawals_and_outcomes():
    links = {(a, b): n for a, b, n in flow(ALL, regions=REGIONS)}
    assert links[("Mottatt", "Returnert")] == 3
    assert links[("Returnert", "Mottatt")] == 3
    assert links[("Mottatt", "Til priskontroll")] == 4
    assert links[("Til priskontroll", "Trukket")] == 1
    assert links[("Satt opp til møte", "Innvilget")] == 1
    assert links[("Satt opp til møte", "Avslått")] == 1
    assert links[("Fagfellevurdert", "Innført")] == 1
    assert links[("Innført", "Publisert")] == 1
    stats = figures()
    assert [(x["fra"], x["til"], x["antall"]) for x in stats["flyt"]] == flow(ALL, regions=REGIONS)


# ---- public figures ------------------------------------------------------------------------------


def many(n: int, *, hf: str = "OUS", fagomrade: str = "Onkologi", year: int = 2026) -> list:
    """`n` decided applications with totals of 10, 11, 12 … calendar days."""
    out = []
    for i in range(n):
        day = date(year, 2, 2)
        out.append(
            history(
                f"{hf}-{year}-{i}",
                [
                    (day.isoformat(), "mottatt"),
                    (date(year, 2, 3).isoformat(), "priskontroll"),
                    (date(year, 2, 12 + i % 10).isoformat(), "avgjort"),
                ],
                hf=hf,
                fagomrade=fagomrade,
                outcome="innvilget",
            )
        )
    return out


def test_public_figures_hide_cells_under_five_and_the_next_smallest():
    cases = many(12, hf="OUS") + many(6, hf="HBE") + many(3, hf="AHUS")
    stats = figures(cases)
    public = public_figures(stats)
    # AHUS (3) is hidden; HBE (6) is hidden too, or AHUS = 21 − 12 − 6. Region HSO holds OUS
    # and AHUS (15), so OUS is hidden too (else AHUS = 15 − 12); HV holds HBE alone (6 = HBE),
    # so HV is hidden, and then HSO (else HV = 21 − 15).
    assert public["per_hf"] == {"AHUS": None, "HBE": None, "OUS": None, "skjult": True}
    assert public["per_region"] == {"HSO": None, "HV": None, "skjult": True}
    assert public["saker_totalt"] == 21
    # The groups follow their count table, whole: no median over a hidden HF.
    assert public["grupper"]["hf"]["AHUS"]["saker"] is None
    assert public["grupper"]["hf"]["AHUS"]["skjult"] is True
    assert public["grupper"]["hf"]["AHUS"]["behandlingstid"]["kalenderdager"]["median"] is None
    assert public["grupper"]["hf"]["HBE"]["behandlingstid"]["arbeidsdager"]["p90"] is None
    assert public["grupper"]["hf"]["OUS"]["behandlingstid"]["kalenderdager"]["antall"] is None
    # The input is not changed.
    assert stats["per_hf"]["AHUS"] == 3


def test_median_over_fewer_than_five_cases_is_hidden():
    stats = figures(many(4) + many(1, hf="HBE"))
    public = public_figures(stats)
    # 5 cases in all, so the totals are published, but the stage and group medians over 4 and 1
    # are not.
    assert public["behandlingstid"]["total"]["kalenderdager"]["antall"] == 5
    assert public["grupper"]["hf"]["OUS"]["behandlingstid"]["kalenderdager"] == {
        "median": None,
        "p90": None,
        "antall": None,
        "skjult": True,
    }


def test_returns_under_five_are_hidden():
    public = public_figures(figures(ALL + many(10)))
    assert public["returer"]["totalt"] is None
    assert public["returer"]["saker_med_retur"] is None
    assert public["returer"]["skjult"] is True
    # fordeling: 0 → 13 cases, 1 → 1, 2 → 1; the two small cells are hidden, and so is the 13:
    # else 15 − 13 = 2 cases in two listed cells would give each away as 1.
    assert public["returer"]["fordeling"] == {"0": None, "1": None, "2": None, "skjult": True}


def test_everything_is_hidden_when_there_are_fewer_than_five_cases():
    public = public_figures(figures(ALL[:4]))
    assert public["saker_totalt"] is None
    assert public["skjult"] is True
    numbers = []

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            numbers.append(value)

    for key in ("per_status", "per_hf", "behandlingstid", "returer", "utfall", "flyt", "grupper"):
        walk(public[key])
    assert numbers == []


def test_public_figures_have_no_small_cell_and_no_case_id():
    cases = many(12) + many(7, hf="HBE", fagomrade="Nevrologi") + ALL
    public = public_figures(figures(cases))
    text = json.dumps(public, ensure_ascii=False)
    assert all(c.id not in text for c in cases)

    def small_cells(value, path=""):
        if isinstance(value, dict):
            for k, v in value.items():
                if k in ("median", "p90"):
                    continue  # days, not cases
                yield from small_cells(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from small_cells(v, f"{path}[{i}]")
        elif isinstance(value, int) and not isinstance(value, bool) and value < 5:
            yield path

    assert list(small_cells(public)) == []


def test_hidden_flow_links_are_null():
    public = public_figures(figures(many(6) + [WITHDRAWN]))
    link = next(x for x in public["flyt"] if x["til"] == "Trukket")
    assert link == {"fra": "Til priskontroll", "til": "Trukket", "antall": None, "skjult": True}


# ---- XLSX ----------------------------------------------------------------------------------------


def _rows(wb, title: str) -> list[tuple]:
    return list(wb[title].iter_rows(min_row=2, values_only=True))


def test_xlsx_holds_the_same_numbers_as_the_dict():
    stats = figures()
    data = to_xlsx(stats)
    wb = load_workbook(io.BytesIO(data))
    assert all(len(name) <= 31 for name in wb.sheetnames)
    assert "Behandlingstid" in wb.sheetnames and "Status" in wb.sheetnames

    overview = {r[0]: r[1] for r in wb["Om tallene"].iter_rows(values_only=True)}
    assert overview["Saker totalt"] == stats["saker_totalt"]
    assert {r[1]: r[3] for r in _rows(wb, "Status")} == stats["per_status"]
    assert {r[1]: r[3] for r in _rows(wb, "Skjematype")} == stats["per_type"]
    assert {r[1]: r[3] for r in _rows(wb, "Helseforetak")} == stats["per_hf"]
    assert {r[1]: r[3] for r in _rows(wb, "Utfall")} == stats["utfall"]
    assert ("Mottatt", "Mottatt", None, 0) not in _rows(wb, "Status")

    times = {(r[1], r[2]): (r[3], r[4], r[5]) for r in _rows(wb, "Behandlingstid")}
    total = stats["behandlingstid"]["total"]["kalenderdager"]
    assert times[("total", "Kalenderdager")] == (total["median"], total["p90"], total["antall"])
    for stage, block in stats["behandlingstid"]["per_steg"].items():
        work = block["arbeidsdager"]
        assert times[(stage, "Arbeidsdager")] == (work["median"], work["p90"], work["antall"])

    assert {str(r[0]): r[1] for r in _rows(wb, "Returer per sak")} == stats["returer"]["fordeling"]
    links = [tuple(r) for r in _rows(wb, "Flyt")]
    assert links == [(x["fra"], x["til"], x["antall"]) for x in stats["flyt"]]

    hf_rows = {r[0]: r for r in _rows(wb, "Per helseforetak")}
    ous = stats["grupper"]["hf"]["OUS"]
    assert hf_rows["OUS"][1] == "Oslo universitetssykehus HF"
    assert hf_rows["OUS"][2:8] == (
        ous["saker"],
        ous["behandlingstid"]["kalenderdager"]["antall"],
        ous["behandlingstid"]["kalenderdager"]["median"],
        ous["behandlingstid"]["kalenderdager"]["p90"],
        ous["behandlingstid"]["arbeidsdager"]["median"],
        ous["behandlingstid"]["arbeidsdager"]["p90"],
    )


def test_xlsx_shows_norwegian_names_and_ids_only_in_code_columns():
    """Issue #13: no raw ids (`minihta`, `tilgang-del2`, `til_fagfelle`) where people read. A
    form-type or state id stands only in a column headed "Kode", beside its Norwegian name."""
    from processor.domain import FormType, State

    ids = {str(x) for x in (*FormType, *State)}
    for stats in (figures(), figures(filters=Filters(form_type="minihta", hf="OUS"))):
        wb = load_workbook(io.BytesIO(to_xlsx(stats)))
        coded = 0
        for ws in wb.worksheets:
            header = [c.value for c in ws[1]]
            for row in ws.iter_rows(min_row=2, values_only=True):
                for name, value in zip(header, row, strict=False):
                    if value in ids:
                        assert name == "Kode", (ws.title, name, value)
                        coded += 1
                        assert row[0] and row[0] not in ids, (ws.title, row)  # named first
        assert coded >= len(stats["per_type"])  # the check above saw ids, so it can fail
        types = {code: name for name, code, *_ in _rows(wb, "Skjematype")}
        assert set(types) <= ids and all(name not in ids for name in types.values())


def test_xlsx_bytes_are_deterministic():
    stats = figures()
    assert to_xlsx(stats) == to_xlsx(stats)


def test_xlsx_carries_the_time_the_figures_were_taken_out():
    from datetime import UTC, datetime

    made = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    props = load_workbook(io.BytesIO(to_xlsx(figures(), created=made))).properties
    assert props.created == props.modified == made.replace(tzinfo=None)  # UTC, W3CDTF Z


def test_public_xlsx_leaves_hidden_cells_empty():
    public = public_figures(figures(many(12) + many(3, hf="HBE") + many(6, hf="UNN")))
    wb = load_workbook(io.BytesIO(to_xlsx(public)))
    assert {r[1]: r[3] for r in _rows(wb, "Helseforetak")} == {
        "HBE": None,
        "OUS": 12,
        "UNN": None,
    }
    overview = {r[0]: r[1] for r in wb["Om tallene"].iter_rows(values_only=True)}
    assert "Skjulte celler" in overview
