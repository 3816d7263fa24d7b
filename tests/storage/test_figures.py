"""WORKFLOW.md section 7 from the database: the `case_figures` rows, their incremental refresh,
and aggregation that equals `processor.statistics.compute` (SQLite and PostgreSQL). The tests that
need nothing but the repository and the services run on the in-memory fake too (`service_uow`:
`tests/fakes.py: FakeFiguresRepository`)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Engine, delete, select, text, update

from benchmarks.figures import synthetic_cases
from benchmarks.figures_http import ACTOR, BLOB, insert_histories, storable
from forms.helseforetak import registry
from processor import charts
from processor.domain import Actor, FormType, Role
from processor.errors import DomainError
from processor.statistics import (
    HIDDEN,
    ONE_PER_CASE,
    CaseHistory,
    Filters,
    Transition,
    aggregate,
    compute,
    counter_keys,
    counter_scope,
    counter_scopes,
    public_figures,
    public_filters,
)
from services import figures
from storage import db, repository_figures
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
from storage.repository_figures import AbstractFiguresRepository, SqlAlchemyFiguresRepository
from storage.uow import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from tests.fakes import FakeFiguresRepository, FakeUnitOfWork

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


def _store(uow: AbstractUnitOfWork, cases: list[CaseHistory]) -> list[CaseHistory]:
    """`_seed` on any unit of work: on the fake, the rows `insert_histories` writes, as objects
    (the case's transitions and mini-HTA version on it, a committee decision or a mini-HTA's
    decision form through the repositories)."""
    if not isinstance(uow, FakeUnitOfWork):
        return _seed(uow.session_factory.kw["bind"], cases)  # type: ignore[attr-defined]
    cases = storable(cases)
    with uow:
        uow.cases.add_blob(BLOB, 0, "application/json", _at(0))
        for history in cases:
            last = history.transitions[-1].at if history.transitions else history.created
            state = history.transitions[-1].to if history.transitions else "mottatt"
            case = Case(
                history.id,
                form_type=history.form_type,
                hf=history.hf,
                state=state,
                created_at=history.created,
            )
            case.updated_at, case.version = last, 1 + len(history.transitions)
            case.transitions.extend(
                TransitionRow(
                    case_id=case.id, from_state=t.from_, to_state=t.to, actor=ACTOR, at=t.at
                )
                for t in history.transitions
            )
            uow.cases.add(case)
            stored = {"file_sha256": BLOB, "file_suffix": ".json", "uploaded_by": ACTOR}
            if history.form_type == "minihta":
                case.versions.append(
                    CaseVersion(
                        case_id=case.id,
                        number=1,
                        data={"metode": {"fagomrade": history.fagomrade}},
                        received_at=history.created,
                        warnings=[],
                        **stored,
                    )
                )
                if history.outcome:
                    uow.attachments.add(
                        MinihtaAttachment(
                            case_id=case.id,
                            form_type="minihta-beslutning",
                            number=1,
                            data={"beslutning": {"utfall": history.outcome}},
                            received_at=last,
                            warnings=[],
                            **stored,
                        )
                    )
            elif history.outcome:
                uow.decisions.add(
                    Decision(
                        case_id=case.id,
                        outcome=history.outcome,
                        body={},
                        reasoning="",
                        decided_on=last.date(),
                        recorded_by=ACTOR,
                        recorded_at=last,
                        pdf_sha256=BLOB,
                        docx_sha256=BLOB,
                    )
                )
        uow.commit()
    return cases


def _touch(uow: AbstractUnitOfWork, case_id: str) -> None:
    """A change of a case that leaves its history as it is: only its `version` rises."""
    with uow:
        case = uow.cases.get(case_id)
        assert case is not None
        case.version += 1
        uow.commit()


def _repository_class(uow: AbstractUnitOfWork) -> type[AbstractFiguresRepository]:
    return FakeFiguresRepository if isinstance(uow, FakeUnitOfWork) else SqlAlchemyFiguresRepository


FILTERS = [
    Filters(),
    Filters(hf="OUS"),
    Filters(region="HSO"),
    Filters(year=2025),
    Filters(fagomrade="Onkologi"),
    Filters(form_type="minihta"),
    Filters(hf="OUS", year=2024),
    Filters(region="HSO", form_type="minihta"),
    Filters(hf="OUS", region="HSO"),
    Filters(hf="OUS", region="HV", year=2024),  # an HF and another region: no case
    Filters(hf="OUS", year=2024, form_type="tilgang-del2"),
    Filters(region="HSO", year=2025, fagomrade="Onkologi"),
    Filters(hf="SSHF", year=2025, form_type="tilgang-del2", fagomrade="Onkologi"),  # four filters
    Filters(date_from=date(2025, 1, 1), date_to=date(2025, 6, 30)),
    public_filters(),  # published mini-HTAs: the public figures
    public_filters(2025),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: repr(f.as_dict()))
def test_figures_from_rows_equal_compute_over_histories(
    service_uow: AbstractUnitOfWork, filters: Filters
) -> None:
    cases = _store(service_uow, hand_made() + synthetic_cases(400, seed=11))
    got = figures.figures(service_uow, filters, cache=False).stats
    assert got == compute(cases, filters)


def test_hand_made_cases_have_the_expected_rows(service_uow: AbstractUnitOfWork) -> None:
    uow = service_uow
    _store(uow, hand_made())
    assert figures.refresh(uow).refreshed == 4
    with uow:
        rows = {fig.id: fig for fig in uow.figures.load()}
    assert rows["A-1"].returns == 2
    assert rows["A-1"].outcome == "innvilget"
    assert rows["A-1"].total_cal == 40
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


def test_cached_figures_follow_a_refresh(service_uow: AbstractUnitOfWork) -> None:
    uow = service_uow
    _store(uow, hand_made())
    before = figures.figures(uow).stats
    assert before["per_status"]["mottatt"] == 1
    _add_step(uow, "A-3", Transition(_at(31), "mottatt", "priskontroll"))
    after = figures.figures(uow).stats
    assert "mottatt" not in after["per_status"]
    assert after["per_status"]["priskontroll"] == 1


@pytest.mark.parametrize("filters", [Filters(), Filters(hf="OUS")], ids=["all", "OUS"])
def test_rows_read_back_per_case_give_the_same_figures(
    service_uow: AbstractUnitOfWork, filters: Filters
) -> None:
    cases = _store(service_uow, hand_made() + synthetic_cases(100, seed=2))
    figures.refresh(service_uow)
    with service_uow:
        loaded = service_uow.figures.load(filters)
    assert aggregate(loaded, filters, prefiltered=True) == compute(cases, filters)


def _counting_stale_check(
    monkeypatch: pytest.MonkeyPatch,
    repository: type[AbstractFiguresRepository] = SqlAlchemyFiguresRepository,
) -> list[int]:
    """Count the calls of `stale_case_ids` (the join over every case) from here on."""
    calls: list[int] = []
    check = repository.stale_case_ids

    def counted(repo):  # type: ignore[no-untyped-def]
        calls.append(1)
        return check(repo)

    monkeypatch.setattr(repository, "stale_case_ids", counted)
    return calls


def test_nothing_changed_means_no_search_for_stale_rows(
    service_uow: AbstractUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = service_uow
    _store(uow, hand_made())
    first = figures.refresh(uow)
    calls = _counting_stale_check(monkeypatch, _repository_class(uow))
    before = figures.figures(uow).stats
    again = figures.refresh(uow)
    assert (again.refreshed, again.generation) == (0, first.generation)
    assert calls == []
    _touch(uow, "A-3")  # only the version rises (no audit, no updated_at)
    after = figures.refresh(uow)
    assert calls == [1]
    assert (after.refreshed, after.generation) == (1, first.generation + 1)
    assert figures.figures(uow).stats == before  # same history, the same figures
    assert figures.refresh(uow).refreshed == 0
    assert calls == [1]


def _delete_case(uow: AbstractUnitOfWork, case_id: str) -> None:
    """The case goes (no service deletes one), and its figures rows with it (ON DELETE CASCADE;
    the fake does the same)."""
    with uow:
        if isinstance(uow, SqlAlchemyUnitOfWork):
            uow.session.execute(delete(TransitionRow).where(TransitionRow.case_id == case_id))
            uow.session.execute(delete(Case).where(Case.id == case_id))
        else:
            assert isinstance(uow, FakeUnitOfWork)
            del uow.cases.cases[case_id]
        uow.commit()


def test_a_deleted_case_leaves_the_cached_figures(service_uow: AbstractUnitOfWork) -> None:
    uow = service_uow
    cases = _store(uow, hand_made())
    assert figures.figures(uow).stats["saker_totalt"] == 4
    _delete_case(uow, "A-2")
    got = figures.figures(uow).stats
    assert got == compute([c for c in cases if c.id != "A-2"])


def test_a_refresh_racing_another_keeps_no_marker(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh that committed in between may have written rows from an older read of the
    cases: the marker is not kept, so the next request looks for stale rows again."""
    _seed(engine, hand_made())
    figures.refresh(sql_uow)
    with sql_uow:
        generation, marker = sql_uow.figures.state()
        assert marker == sql_uow.figures.cases_marker()
        sql_uow.session.execute(
            update(FiguresGeneration).values(generation=FiguresGeneration.generation + 1)
        )  # the other refresh
        assert sql_uow.figures.record(generation, marker, bump=1) == generation + 2
        assert sql_uow.figures.state() == (generation + 2, None)
        sql_uow.commit()
    calls = _counting_stale_check(monkeypatch)
    assert figures.refresh(sql_uow).refreshed == 0
    assert calls == [1]
    assert figures.refresh(sql_uow).refreshed == 0
    assert calls == [1]


def test_filter_choices_are_the_facets_of_the_unfiltered_figures(
    service_uow: AbstractUnitOfWork,
) -> None:
    cases = _store(service_uow, hand_made() + synthetic_cases(200, seed=4))
    choices = figures.filter_choices(service_uow)
    assert choices == figures.facets(compute(cases))
    assert "ikke_oppgitt" not in choices["fagomrade"]
    assert choices["ar"] == sorted({str(c.created.year) for c in cases})


def test_cached_figures_are_those_of_the_current_cases_marker(
    service_uow: AbstractUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = service_uow
    cases = _store(uow, hand_made())
    first = figures.figures(uow)
    counted: list[int] = []
    real = figures.count
    monkeypatch.setattr(figures, "count", lambda *a: counted.append(1) or real(*a))
    assert figures.figures(uow) is first  # the same marker: from the cache
    assert counted == []
    _touch(uow, "A-3")
    again = figures.figures(uow)  # a new marker: counted again (the same history)
    assert counted == [1] and again is not first and again.stats == compute(cases)
    figures.clear_cache()  # as a new process
    assert figures.figures(uow).stats == compute(cases)
    assert counted == [1, 1]


# ---- the counts of the unfiltered figures (`figures_counts`, issue 9) ------------------------------


def _counts(uow: AbstractUnitOfWork) -> dict[tuple, int]:
    """Every row of `figures_counts` (the fake's `kept`)."""
    if isinstance(uow, FakeUnitOfWork):
        return dict(uow.figures.kept)
    assert isinstance(uow, SqlAlchemyUnitOfWork)
    with uow:
        c = FiguresCount
        rows = uow.session.execute(select(c.scope, c.kind, c.grouping, c.key, c.item, c.value, c.n))
        return {tuple(row[:6]): row[6] for row in rows}


def _counted_anew(uow: AbstractUnitOfWork) -> dict[tuple, int]:
    """The counts as the `case_figures` rows give them now."""
    with uow:
        figs = uow.figures.load()
    counts = Counter(
        (scope, *key) for fig in figs for scope in counter_scopes(fig) for key in counter_keys(fig)
    )
    return {key: n for key, n in counts.items() if n}


def _without_grouped(
    monkeypatch: pytest.MonkeyPatch,
    repository: type[AbstractFiguresRepository] = SqlAlchemyFiguresRepository,
) -> list[Filters]:
    """`uow.figures.load` records the filters it counts over the rows, and refuses those the
    counts hold (any but dates); `recount` (no filters) is let through."""
    calls: list[Filters] = []
    real = repository.load

    def checked(repo, filters=None):  # type: ignore[no-untyped-def]
        if filters is not None:
            calls.append(filters)
            assert counter_scope(filters) is None, "figures the counts hold were read per case"
        return real(repo, filters)

    monkeypatch.setattr(repository, "load", checked)
    return calls


def test_the_counts_follow_every_refresh(
    service_uow: AbstractUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = service_uow
    cases = _store(uow, hand_made() + synthetic_cases(300, seed=5))

    def no_recount(repo):  # type: ignore[no-untyped-def]
        raise AssertionError("the counts were counted anew instead of kept")

    monkeypatch.setattr(figures, "recount", no_recount)
    figures.refresh(uow)
    first = _counts(uow)
    assert first == _counted_anew(uow)
    assert sum(
        n for (scope, kind, *_), n in first.items() if (scope, kind) == ("{}", "status")
    ) == len(cases)
    moved = _move_a3(uow, cases)  # a case moves on: its old counts off, its new ones on
    decided = next(c for c in moved if c.id.startswith("SAK-") and c.outcome)
    withdrawn = Transition(
        decided.transitions[-1].at + timedelta(days=3), decided.transitions[-1].to, "trukket"
    )
    _add_step(uow, decided.id, withdrawn, moves_on=False)  # withdrawn after all
    now = [
        replace(c, transitions=[*c.transitions, withdrawn]) if c.id == decided.id else c
        for c in moved
    ]
    figures.refresh(uow)
    counts = _counts(uow)
    assert counts == _counted_anew(uow) and counts != first
    calls = _without_grouped(monkeypatch, _repository_class(uow))
    both = Filters(hf="OUS", year=2025)
    three = Filters(hf="OUS", year=2025, form_type="tilgang-del2")
    four = replace(three, fagomrade="Onkologi")
    with uow:
        stats = figures.count(uow.figures, Filters())
        ous = figures.count(uow.figures, Filters(hf="OUS"))
        ous_2025 = figures.count(uow.figures, both)
        ous_2025_del2 = figures.count(uow.figures, three)
        ous_2025_del2_onko = figures.count(uow.figures, four)
    assert calls == []
    assert stats == compute(now) != compute(moved)
    assert ous == compute(now, Filters(hf="OUS"))
    assert ous_2025 == compute(now, both)
    assert ous_2025_del2 == compute(now, three)
    assert ous_2025_del2_onko == compute(now, four)


@pytest.mark.parametrize("by_key", [0, 100_000])
def test_counts_that_reach_zero_go_however_they_are_found(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork, monkeypatch: pytest.MonkeyPatch, by_key: int
) -> None:
    monkeypatch.setattr(repository_figures, "LOWERED_BY_KEY", by_key)
    cases = _seed(engine, hand_made() + synthetic_cases(40, seed=14))
    figures.refresh(sql_uow)
    moved = _move_a3(sql_uow, cases)  # A-3's old keys lowered, some to 0
    figures.refresh(sql_uow)
    counts = _counts(sql_uow)
    assert 0 not in counts.values()
    assert counts == _counted_anew(sql_uow)
    assert figures.figures(sql_uow, cache=False).stats == compute(moved)


def test_the_counts_stay_exact_when_refreshes_run_at_once(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    """Worker processes refresh at the same time, each after changing cases of its own."""
    cases = _seed(engine, synthetic_cases(120, seed=12))
    figures.refresh(sql_uow)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        uow = SqlAlchemyUnitOfWork(sql_uow.session_factory, sql_uow.blobs, sql_uow.clock)
        try:
            for i in range(5):
                case = cases[(n * 5 + i) * 3]
                with uow:
                    uow.session.execute(
                        update(Case).where(Case.id == case.id).values(version=Case.version + 1)
                    )
                    uow.session.add(
                        TransitionRow(
                            case_id=case.id,
                            from_state=case.transitions[-1].to,
                            to_state="trukket",
                            actor="k",
                            at=case.transitions[-1].at + timedelta(days=1),
                        )
                    )
                    uow.commit()
                figures.refresh(uow)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    figures.refresh(sql_uow)
    assert _counts(sql_uow) == _counted_anew(sql_uow)
    with sql_uow:
        assert figures.count(sql_uow.figures, Filters()) == aggregate(sql_uow.figures.load())
        ids = list(sql_uow.session.scalars(select(Case.id)))
        now = [h for h, _, _ in sql_uow.figures.histories(ids)]
    assert figures.figures(sql_uow, cache=False).stats == compute(now) != compute(cases)


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: repr(f.as_dict()))
def test_figures_of_any_filters_but_dates_are_read_from_the_counts(
    service_uow: AbstractUnitOfWork, monkeypatch: pytest.MonkeyPatch, filters: Filters
) -> None:
    uow = service_uow
    cases = _store(uow, hand_made() + synthetic_cases(200, seed=9))
    figures.refresh(uow)
    calls = _without_grouped(monkeypatch, _repository_class(uow))
    assert figures.figures(uow, filters, cache=False).stats == compute(cases, filters)
    assert calls == ([] if _counted_scope(filters) else [filters])


def _counted_scope(filters: Filters) -> bool:
    """Whether `figures.count` reads `filters` from the counts: any filters but dates (an HF with
    a region: the HF's counts, its cases all in one region)."""
    if counter_scope(filters) is not None:
        return True
    both = filters.hf is not None and filters.region is not None
    return both and counter_scope(replace(filters, region=None)) is not None


def test_an_hf_and_a_region_are_the_hf_counts_unless_its_cases_lie_in_two_regions(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = _seed(engine, hand_made() + synthetic_cases(200, seed=4))
    figures.refresh(sql_uow)
    regions = {code: t.region for code, t in registry().trusts.items()}  # HF → region
    home = regions["OUS"]
    here = Filters(hf="OUS", region=home, year=2025)
    away = Filters(hf="OUS", region=next(r for r in regions.values() if r != home))
    calls = _without_grouped(monkeypatch)
    with sql_uow:
        assert figures.count(sql_uow.figures, here) == compute(cases, here)
        assert figures.count(sql_uow.figures, away) == compute(cases, away)
        assert compute(cases, here)["saker_totalt"] > 0 == compute(cases, away)["saker_totalt"]
        moved = sql_uow.session.scalars(
            select(CaseFigure.case_id).where(
                CaseFigure.hf == "OUS", CaseFigure.received_year == 2025
            )
        ).first()
        sql_uow.session.execute(
            update(Case).where(Case.id == moved).values(version=Case.version + 1)
        )
        sql_uow.commit()
    assert calls == []
    # the registry moves the HF: the case that changed is counted in the new region, the others
    # are not, and the HF's counts no longer tell which of its cases lie where
    figures.refresh(sql_uow, regions={**regions, "OUS": away.region})
    with sql_uow:
        repo = sql_uow.figures
        assert figures.count(repo, here) == aggregate(repo.load(here), here)
        assert figures.count(repo, here)["saker_totalt"] == compute(cases, here)["saker_totalt"] - 1
    assert calls == [here, here, here]  # both counts read the rows (and so does the check)


def test_counts_short_of_the_cases_are_not_used_and_the_next_refresh_counts_anew(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    """As after migration 0006 on a database with figures rows: no counts, no marker."""
    cases = _seed(engine, hand_made() + synthetic_cases(100, seed=3))
    figures.refresh(sql_uow)
    with sql_uow:
        sql_uow.session.execute(delete(FiguresCount))
        sql_uow.session.execute(update(FiguresGeneration).values(cases_marker=None))
        sql_uow.commit()
    with sql_uow:  # the rows are counted instead of the missing counts
        assert figures.count(sql_uow.figures, Filters()) == compute(cases)
    assert figures.refresh(sql_uow).refreshed == 0
    assert _counts(sql_uow) == _counted_anew(sql_uow) != {}
    figures.clear_cache()
    assert figures.figures(sql_uow, cache=False).stats == compute(cases)


def test_migration_0007_leaves_the_counts_to_be_counted_anew_with_three_filters(
    tmp_path: Path,
) -> None:
    """Counts made before 0007 hold no scope of three filters: the migration empties them and
    forgets the marker, and the first refresh after it counts every case under every scope."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(db.alembic_config(url), "0006_figures_counts")
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO figures_counts (scope, kind, grouping, key, item, value, n)"
                    " VALUES ('{}', 'tilstand', '', 'mottatt', '', 0, 7)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO figures_generation (id, generation, cases_marker)"
                    " VALUES (1, 3, 'x')"
                )
            )
        db.upgrade(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM figures_counts")).scalar() == 0
            marker = conn.execute(text("SELECT cases_marker FROM figures_generation")).scalar()
            assert marker is None
    finally:
        engine.dispose()


def test_counts_short_of_the_checked_cases_are_not_used(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    """The marker says every row is current, but the counts are missing (a database put back
    from elsewhere): the figures are counted over the rows, right all the same."""
    cases = _seed(engine, hand_made() + synthetic_cases(60, seed=13))
    figures.refresh(sql_uow)
    with sql_uow:
        sql_uow.session.execute(delete(FiguresCount))
        sql_uow.commit()
    assert figures.figures(sql_uow, cache=False).stats == compute(cases)
    assert figures.figures(sql_uow, Filters(hf="OUS"), cache=False).stats == compute(
        cases, Filters(hf="OUS")
    )


def test_recount_all_mends_counts_that_drifted_unseen_and_drops_their_figures(
    engine: Engine, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    """A count edited by hand (their total unchanged, so the automatic check passes): the
    figures are wrong until `recount_all` (`stats --recount`) counts everything anew."""
    cases = _seed(engine, hand_made() + synthetic_cases(80, seed=6))
    figures.refresh(sql_uow)
    ous = Filters(hf="OUS")
    c = FiguresCount
    with sql_uow:
        sql_uow.session.execute(
            update(FiguresCount)
            .where(c.scope == counter_scope(ous), c.kind != ONE_PER_CASE)
            .values(n=c.n + 3)
        )
        sql_uow.commit()
    drifted = figures.figures(sql_uow, ous).stats  # cached
    assert drifted != compute(cases, ous)
    assert figures.recount_all(sql_uow) == len(cases)
    assert _counts(sql_uow) == _counted_anew(sql_uow)
    assert figures.figures(sql_uow, ous).stats == compute(cases, ous)


def test_a_deleted_case_is_counted_out(service_uow: AbstractUnitOfWork) -> None:
    uow = service_uow
    cases = _store(uow, hand_made() + synthetic_cases(50, seed=2))
    figures.refresh(uow)
    _delete_case(uow, "A-1")
    figures.refresh(uow)
    assert _counts(uow) == _counted_anew(uow)
    with uow:
        assert uow.figures.rows() == len(cases) - 1
    assert figures.figures(uow, cache=False).stats == compute([c for c in cases if c.id != "A-1"])


def _add_step(
    uow: AbstractUnitOfWork, case_id: str, step: Transition, *, moves_on: bool = True
) -> None:
    """`step` added to the case's history and its `version` raised; with `moves_on` its state
    and `updated_at` too (as `services.transition` records a step)."""
    with uow:
        case = uow.cases.get(case_id)
        assert case is not None
        case.transitions.append(
            TransitionRow(
                case_id=case_id, from_state=step.from_, to_state=step.to, actor="k", at=step.at
            )
        )
        if moves_on:
            case.state, case.updated_at = step.to, step.at
        case.version += 1
        uow.commit()


def _move_a3(uow: AbstractUnitOfWork, cases: list[CaseHistory]) -> list[CaseHistory]:
    """A-3 moves on to price control (as `services.transition` would record it); the histories
    as they are after that."""
    moved = Transition(_at(33), "mottatt", "priskontroll")
    _add_step(uow, "A-3", moved)
    return [replace(c, transitions=[*c.transitions, moved]) if c.id == "A-3" else c for c in cases]


# ---- the use cases of the pages and the API ------------------------------------------------------


def test_only_the_coordinator_sees_the_figures(service_uow: AbstractUnitOfWork) -> None:
    uow = service_uow
    cases = _store(uow, hand_made())
    coordinator = Actor("koord", frozenset({Role.KOORDINATOR}))
    got = figures.coordinator_figures(uow, coordinator, Filters(hf="OUS"))
    assert got.stats == compute(cases, Filters(hf="OUS"))
    assert figures.coordinator_workbook(uow, coordinator, Filters()).startswith(b"PK")
    for user in (Actor("hf-bruker", frozenset({Role.HF}), "OUS"), Actor("ingen")):
        with pytest.raises(DomainError) as refused:
            figures.coordinator_figures(uow, user, Filters())
        assert refused.value.code == "FORBIDDEN"
        with pytest.raises(DomainError):
            figures.coordinator_workbook(uow, user, Filters())
    with pytest.raises(DomainError) as refused:
        figures.coordinator_figures(uow, coordinator, Filters(form_type=FormType.MINIHTA_OKONOMI))
    assert refused.value.code == "INVALID_VALUE"


def test_public_figures_are_those_of_published_mini_htas_with_small_cells_hidden(
    service_uow: AbstractUnitOfWork,
) -> None:
    uow = service_uow
    cases = _store(uow, hand_made() + synthetic_cases(400, seed=5))
    for year in (None, 2025):
        got = figures.public(uow, year)
        assert got.filters == public_filters(year)
        assert got.stats == public_figures(compute(cases, public_filters(year)))
    assert figures.public(uow, 2025, FormType.MINIHTA).stats == figures.public(uow, 2025).stats
    for wrong in (FormType.TILGANG_DEL2, "noe annet"):
        with pytest.raises(DomainError) as refused:
            figures.public(uow, form_type=wrong)
        assert refused.value.code == "INVALID_VALUE"
    every_year = public_figures(compute(cases, public_filters()))["per_ar"]
    page = figures.public_page(uow, 2025)
    assert page.years == [y for y in every_year if y != HIDDEN]
    assert page.found.stats == figures.public(uow, 2025).stats


def test_charts_are_drawn_once_per_figures_until_the_cache_is_cleared(
    service_uow: AbstractUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = service_uow
    _store(uow, hand_made() + synthetic_cases(100, seed=6))
    drawn: list[dict] = []
    monkeypatch.setattr(charts, "stage_time_chart", lambda stats: drawn.append(stats) or "<svg/>")
    coordinator = Actor("koord", frozenset({Role.KOORDINATOR}))
    figures.clear_cache()
    first = figures.coordinator_page(uow, coordinator, Filters(year=2025))
    again = figures.coordinator_page(uow, coordinator, Filters(year=2025))
    assert len(drawn) == 1 and again.charts == first.charts
    assert drawn[0] == first.found.stats
    figures.public_page(uow)
    assert len(drawn) == 2 and drawn[1] == figures.public(uow).stats
    figures.clear_cache()  # as a new process
    figures.coordinator_page(uow, coordinator, Filters(year=2025))
    assert len(drawn) == 3
