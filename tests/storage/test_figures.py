"""WORKFLOW.md section 7 from the database: the `case_figures` rows, their incremental refresh,
and aggregation that equals `processor.statistics.compute` (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, select, update

from benchmarks.figures import synthetic_cases
from benchmarks.figures_http import insert_histories, storable
from processor.statistics import CaseHistory, Filters, Transition, aggregate, compute
from storage import figures
from storage.models import Case
from storage.models import Transition as TransitionRow
from storage.models_figures import CaseFigure, CaseFigureStage, FiguresGeneration
from storage.uow import SqlAlchemyUnitOfWork

OSLO = ZoneInfo("Europe/Oslo")


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 3, 1, hour, tzinfo=OSLO) + timedelta(days=day)


def hand_made() -> list[CaseHistory]:
    """Edge cases: two returns, a withdrawal, an open case, a mini-HTA and a weekend."""
    return [
        CaseHistory(
            "A-1",
            "tilgang-del2",
            "OUS",
            None,
            _at(0),
            [
                Transition(_at(0), None, "mottatt"),
                Transition(_at(2), "mottatt", "returnert"),
                Transition(_at(9), "returnert", "mottatt"),
                Transition(_at(10), "mottatt", "returnert"),
                Transition(_at(12), "returnert", "mottatt"),
                Transition(_at(13), "mottatt", "priskontroll"),
                Transition(_at(20), "priskontroll", "klar"),
                Transition(_at(27), "klar", "satt_opp"),
                Transition(_at(40), "satt_opp", "avgjort"),
            ],
            "innvilget",
        ),
        CaseHistory(
            "A-2",
            "tilgang-del2",
            "STO",
            None,
            _at(5),
            [
                Transition(_at(5), None, "mottatt"),
                Transition(_at(6), "mottatt", "trukket"),
            ],
        ),
        CaseHistory(
            "A-3", "tilgang-del2", "UNN", None, _at(30), [Transition(_at(30), None, "mottatt")]
        ),
        CaseHistory(
            "MMV-2025-001",
            "minihta",
            "HBE",
            "Onkologi",
            _at(1),
            [
                Transition(_at(1), None, "mottatt"),
                Transition(_at(3), "mottatt", "til_fagfelle"),
                Transition(_at(30), "til_fagfelle", "fagfellevurdert"),
                Transition(_at(50), "fagfellevurdert", "besluttet"),
                Transition(_at(51), "besluttet", "publisert"),
            ],
            "innfort_med_vilkar",
        ),
    ]


def _rows(uow: SqlAlchemyUnitOfWork) -> dict[str, CaseFigure]:
    with uow:
        rows = {r.case_id: r for r in uow.session.scalars(select(CaseFigure))}
        uow.session.expunge_all()
    return rows


def _seed(engine: Engine, cases: list[CaseHistory]) -> list[CaseHistory]:
    cases = storable(cases)
    insert_histories(engine, cases)
    return cases


FILTERS = [
    Filters(),
    Filters(hf="OUS"),
    Filters(region="HSO"),
    Filters(year=2025),
    Filters(fagomrade="Onkologi"),
    Filters(form_type="minihta"),
    Filters(hf="OUS", year=2024),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: repr(f.as_dict()))
def test_figures_from_rows_equal_compute_over_histories(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork, filters: Filters
) -> None:
    cases = _seed(engine, hand_made() + synthetic_cases(400, seed=11))
    got = figures.figures(sql_uow, filters, cache=False).stats
    assert got == compute(cases, filters)


def test_hand_made_cases_have_the_expected_rows(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    _seed(engine, hand_made())
    assert figures.refresh(sql_uow).refreshed == 4
    rows = _rows(sql_uow)
    assert rows["A-1"].returns == 2
    assert rows["A-1"].outcome == "innvilget"
    assert rows["A-1"].total_calendar_days == 40
    assert rows["A-2"].outcome == "trukket"
    assert rows["A-3"].outcome == "under_behandling"
    assert rows["MMV-2025-001"].outcome == "innfort_med_vilkar"
    assert rows["MMV-2025-001"].fagomrade == "Onkologi"
    assert rows["MMV-2025-001"].region == "HV"


def test_refresh_recomputes_only_the_cases_that_changed(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    _seed(engine, hand_made() + synthetic_cases(50, seed=3))
    first = figures.refresh(sql_uow)
    assert first.refreshed == 54
    again = figures.refresh(sql_uow)
    assert again.refreshed == 0
    assert again.generation == first.generation

    with sql_uow:
        session = sql_uow.session
        stamp = {r.case_id: r.refreshed_at for r in session.scalars(select(CaseFigure))}
        # A-3 moves on, as services.transition would record it
        case = session.get(Case, "A-3")
        assert case is not None
        session.add(
            TransitionRow(
                case_id="A-3",
                from_state="mottatt",
                to_state="priskontroll",
                actor="koordinator",
                at=_at(33),
            )
        )
        session.execute(
            update(Case)
            .where(Case.id == "A-3")
            .values(state="priskontroll", version=case.version + 1, updated_at=_at(33))
        )
        sql_uow.commit()

    assert figures.stale_case_ids_of(sql_uow) == ["A-3"]
    sql_uow.clock = lambda: datetime(2030, 1, 1, tzinfo=OSLO)
    third = figures.refresh(sql_uow)
    assert third.refreshed == 1
    assert third.generation == first.generation + 1
    rows = _rows(sql_uow)
    changed = {k for k, r in rows.items() if r.refreshed_at != stamp[k]}
    assert changed == {"A-3"}
    assert rows["A-3"].state == "priskontroll"
    with sql_uow:
        stages = sql_uow.session.execute(
            select(
                CaseFigureStage.state, CaseFigureStage.calendar_days, CaseFigureStage.working_days
            ).where(CaseFigureStage.case_id == "A-3")
        ).all()
    assert [tuple(s) for s in stages] == [("mottatt", 3, 3)]


def test_cached_figures_follow_a_refresh(engine: Engine, sql_uow: SqlAlchemyUnitOfWork) -> None:
    _seed(engine, hand_made())
    before = figures.figures(sql_uow).stats
    assert before["per_status"]["mottatt"] == 1
    with sql_uow:
        sql_uow.session.execute(
            update(Case).where(Case.id == "A-3").values(state="priskontroll", version=9)
        )
        sql_uow.session.add(
            TransitionRow(
                case_id="A-3", from_state="mottatt", to_state="priskontroll", actor="k", at=_at(31)
            )
        )
        sql_uow.commit()
    after = figures.figures(sql_uow).stats
    assert "mottatt" not in after["per_status"]
    assert after["per_status"]["priskontroll"] == 1


@pytest.mark.parametrize("filters", [Filters(), Filters(hf="OUS")], ids=["all", "OUS"])
def test_rows_read_back_per_case_give_the_same_figures(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork, filters: Filters
) -> None:
    cases = _seed(engine, hand_made() + synthetic_cases(100, seed=2))
    figures.refresh(sql_uow, warm=False)
    with sql_uow:
        loaded = figures.load(sql_uow.session, filters)
    assert aggregate(loaded, filters, prefiltered=True) == compute(cases, filters)


def test_a_refresh_that_wrote_rows_warms_the_unfiltered_figures(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    cases = _seed(engine, hand_made())
    figures.clear_cache()
    assert figures.refresh(sql_uow).refreshed == 4
    assert list(figures._cache.items.values()) == [compute(cases)]
    assert figures.refresh(sql_uow).refreshed == 0


def _counting_stale_check(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the calls of `stale_case_ids` (the join over every case) from here on."""
    calls: list[int] = []
    check = figures.stale_case_ids

    def counted(session):  # type: ignore[no-untyped-def]
        calls.append(1)
        return check(session)

    monkeypatch.setattr(figures, "stale_case_ids", counted)
    return calls


def test_nothing_changed_means_no_search_for_stale_rows(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(engine, hand_made())
    first = figures.refresh(sql_uow)
    calls = _counting_stale_check(monkeypatch)
    before = figures.figures(sql_uow).stats
    again = figures.refresh(sql_uow)
    assert (again.refreshed, again.generation) == (0, first.generation)
    assert calls == []
    # a write straight to `cases` that only raises the version (no audit, no updated_at)
    with sql_uow:
        sql_uow.session.execute(
            update(Case).where(Case.id == "A-3").values(version=Case.version + 1)
        )
        sql_uow.commit()
    after = figures.refresh(sql_uow)
    assert calls == [1]
    assert (after.refreshed, after.generation) == (1, first.generation + 1)
    assert figures.figures(sql_uow).stats == before  # same history, the same figures
    assert figures.refresh(sql_uow).refreshed == 0
    assert calls == [1]


def test_a_deleted_case_leaves_the_cached_figures(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    cases = _seed(engine, hand_made())
    assert figures.figures(sql_uow).stats["saker_totalt"] == 4
    with sql_uow:
        sql_uow.session.execute(delete(CaseFigure).where(CaseFigure.case_id == "A-2"))
        sql_uow.session.execute(delete(TransitionRow).where(TransitionRow.case_id == "A-2"))
        sql_uow.session.execute(delete(Case).where(Case.id == "A-2"))
        sql_uow.commit()
    got = figures.figures(sql_uow).stats
    assert got == compute([c for c in cases if c.id != "A-2"])


def test_a_refresh_racing_another_keeps_no_marker(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh that committed in between may have written rows from an older read of the
    cases: the marker is not kept, so the next request looks for stale rows again."""
    _seed(engine, hand_made())
    figures.refresh(sql_uow)
    with sql_uow:
        generation, marker = figures._state(sql_uow.session)
        assert marker == figures.cases_marker(sql_uow.session)
        sql_uow.session.execute(
            update(FiguresGeneration).values(generation=FiguresGeneration.generation + 1)
        )  # the other refresh
        assert figures._record(sql_uow.session, generation, marker, bump=1) == generation + 2
        assert figures._state(sql_uow.session) == (generation + 2, None)
        sql_uow.commit()
    calls = _counting_stale_check(monkeypatch)
    assert figures.refresh(sql_uow).refreshed == 0
    assert calls == [1]
    assert figures.refresh(sql_uow).refreshed == 0
    assert calls == [1]


def test_filter_choices_are_the_facets_of_the_unfiltered_figures(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    cases = _seed(engine, hand_made() + synthetic_cases(200, seed=4))
    figures.refresh(sql_uow, warm=False)
    figures.clear_cache()
    from_rows = figures.filter_choices(sql_uow)  # the unfiltered figures are not cached
    cached = list(figures._cache.items)
    assert cached == [("filter_choices", *figures.figures(sql_uow).key)]
    assert from_rows == figures.facets(compute(cases))
    assert figures.filter_choices(sql_uow) == from_rows  # now from the unfiltered figures
    assert "ikke_oppgitt" not in from_rows["fagomrade"]
    assert from_rows["ar"] == sorted({str(c.created.year) for c in cases})
