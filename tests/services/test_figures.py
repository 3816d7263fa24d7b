"""The figures use cases (WORKFLOW.md section 7, `services.figures`) on the fake unit of work:
cases uploaded and moved through the services are counted as a person would count them, a change
moves the cases marker and is counted by the next call, the filters narrow the counts, a refresh
that fails leaves nothing behind, and the coordinator's figures are the coordinator's only.

Every expected figure is counted from `Ledger`, the test's own note of what it did."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from forms.helseforetak import registry
from processor.domain import Actor
from processor.errors import DomainError
from processor.statistics import OPEN, Filters, public_filters
from services import figures
from services.cases import price_check, transition
from services.upload import upload
from storage.blobs import MemoryBlobStore
from tests.fakes import FakeUnitOfWork
from tests.storage.helpers import (
    HF_OUS,
    HF_STO,
    KOORDINATOR,
    PRISKONTROLL,
    TODAY,
    del2_for,
    minihta,
)

HF_HBE = Actor("hf-hbe", frozenset({"hf"}), "HBE")
LAST_YEAR = datetime(2025, 5, 5, 9, 0, tzinfo=UTC)
THIS_YEAR = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    """The unit of work's clock, moved on by the test."""

    at: datetime = THIS_YEAR

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Noted:
    hf: str
    form_type: str
    year: int
    state: str = "mottatt"
    returns: int = 0
    outcome: str = OPEN


@dataclass
class Ledger:
    """What the test did to the cases, as a person would note it."""

    cases: dict[str, Noted] = field(default_factory=dict)

    def where(self, keep: Callable[[Noted], bool]) -> list[Noted]:
        return [n for n in self.cases.values() if keep(n)]


def region(hf: str) -> str:
    return registry().trusts[hf].region


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def uow(clock: Clock) -> FakeUnitOfWork:
    figures.clear_cache()
    return FakeUnitOfWork(blobs=MemoryBlobStore(), clock=clock)


def application(uow: FakeUnitOfWork, ledger: Ledger, user: Actor, year: int) -> str:
    assert user.hf is not None
    result = upload(user, "soknad.json", del2_for(user.hf), uow, TODAY)
    assert result.accepted and result.case_id
    ledger.cases[result.case_id] = Noted(user.hf, "tilgang-del2", year)
    return result.case_id


def mini_hta(uow: FakeUnitOfWork, ledger: Ledger, year: int) -> str:
    result = upload(HF_OUS, "m.json", minihta(), uow, TODAY)
    assert result.accepted and result.case_id
    ledger.cases[result.case_id] = Noted("OUS", "minihta", year)
    return result.case_id


@pytest.fixture
def ledger(uow: FakeUnitOfWork, clock: Clock) -> Ledger:
    """Three applications and a mini-HTA, through the services: one OUS application from last
    year in price control and then ready, one STO application returned and sent again, one HBE
    application withdrawn, one OUS mini-HTA, all of this year but the first."""
    noted = Ledger()
    clock.at = LAST_YEAR
    ous = application(uow, noted, HF_OUS, LAST_YEAR.year)
    transition(KOORDINATOR, ous, "mottatt", "priskontroll", None, uow)
    price_check(PRISKONTROLL, ous, 62500, None, uow)
    noted.cases[ous].state = "klar"
    clock.at = THIS_YEAR
    sto = application(uow, noted, HF_STO, THIS_YEAR.year)
    transition(KOORDINATOR, sto, "mottatt", "returnert", "Mangler vedlegg.", uow)
    assert upload(HF_STO, "soknad.json", del2_for("STO"), uow, TODAY).state == "mottatt"
    noted.cases[sto].returns += 1
    hbe = application(uow, noted, HF_HBE, THIS_YEAR.year)
    transition(HF_HBE, hbe, "mottatt", "trukket", None, uow)
    noted.cases[hbe].state = noted.cases[hbe].outcome = "trukket"
    mini_hta(uow, noted, THIS_YEAR.year)
    return noted


def expected(cases: list[Noted]) -> dict[str, object]:
    """The figures a person counts from the cases noted."""
    return {
        "saker_totalt": len(cases),
        "per_status": dict(Counter(n.state for n in cases)),
        "per_hf": dict(Counter(n.hf for n in cases)),
        "per_region": dict(Counter(region(n.hf) for n in cases)),
        "per_ar": dict(Counter(str(n.year) for n in cases)),
        "per_type": dict(Counter(n.form_type for n in cases)),
        "utfall": dict(Counter(n.outcome for n in cases)),
        "returer": sum(n.returns for n in cases),
    }


def seen(stats: dict[str, object]) -> dict[str, object]:
    """The same figures as `services.figures` gives them."""
    out = {key: stats[key] for key in expected([]) if key != "returer"}
    out["returer"] = stats["returer"]["totalt"]  # type: ignore[index]
    return out


def test_cases_moved_through_the_services_are_counted(uow: FakeUnitOfWork, ledger: Ledger) -> None:
    found = figures.coordinator_figures(uow, KOORDINATOR, Filters())
    assert seen(found.stats) == expected(ledger.where(lambda n: True))
    with uow:
        assert uow.figures.rows() == len(ledger.cases)
        assert uow.figures.cases_counted() == len(ledger.cases)


def test_a_change_moves_the_marker_and_the_next_call_counts_it(
    uow: FakeUnitOfWork, ledger: Ledger
) -> None:
    first = figures.figures(uow)
    assert figures.figures(uow) is first  # nothing changed: the cached figures
    marker = figures.cases_marker_of(uow)
    ready = next(i for i, n in ledger.cases.items() if n.state == "mottatt" and n.hf == "STO")
    transition(KOORDINATOR, ready, "mottatt", "priskontroll", None, uow)
    ledger.cases[ready].state = "priskontroll"
    assert figures.cases_marker_of(uow) != marker
    assert figures.stale_case_ids_of(uow) == [ready]
    again = figures.figures(uow)
    assert again is not first
    assert seen(again.stats) == expected(ledger.where(lambda n: True)) != seen(first.stats)
    assert figures.stale_case_ids_of(uow) == []
    assert figures.refresh(uow).refreshed == 0


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        (Filters(hf="OUS"), lambda n: n.hf == "OUS"),
        (Filters(hf="STO"), lambda n: n.hf == "STO"),
        (Filters(region=region("HBE")), lambda n: region(n.hf) == region("HBE")),
        (Filters(region=region("OUS")), lambda n: region(n.hf) == region("OUS")),
        (Filters(year=LAST_YEAR.year), lambda n: n.year == LAST_YEAR.year),
        (Filters(year=THIS_YEAR.year), lambda n: n.year == THIS_YEAR.year),
        (Filters(form_type="minihta"), lambda n: n.form_type == "minihta"),
        (Filters(form_type="tilgang-del2"), lambda n: n.form_type == "tilgang-del2"),
        (
            Filters(hf="OUS", year=THIS_YEAR.year, form_type="tilgang-del2"),
            lambda n: (n.hf, n.year, n.form_type) == ("OUS", THIS_YEAR.year, "tilgang-del2"),
        ),
        (
            Filters(hf="OUS", region=region("OUS")),
            lambda n: n.hf == "OUS" and region(n.hf) == region("OUS"),
        ),
    ],
    ids=lambda v: repr(v.as_dict()) if isinstance(v, Filters) else "",
)
def test_filters_narrow_the_counts(
    uow: FakeUnitOfWork, ledger: Ledger, filters: Filters, keep: Callable[[Noted], bool]
) -> None:
    got = figures.coordinator_figures(uow, KOORDINATOR, filters).stats
    assert seen(got) == expected(ledger.where(keep))
    assert got["saker_totalt"] < len(ledger.cases)  # each filter leaves some case out


def test_the_coordinator_functions_refuse_anyone_else(uow: FakeUnitOfWork, ledger: Ledger) -> None:
    others = [
        HF_OUS,
        PRISKONTROLL,
        Actor("komite", frozenset({"komite"}), "AHUS"),
        Actor("drift", frozenset({"admin"})),
        Actor("ingen"),
    ]
    for user in others:
        for call in (
            figures.coordinator_figures,
            figures.coordinator_workbook,
            figures.coordinator_page,
        ):
            with pytest.raises(DomainError) as refused:
                call(uow, user, Filters())
            assert refused.value.code == "FORBIDDEN"
    page = figures.coordinator_page(uow, KOORDINATOR, Filters(hf="OUS"))
    assert set(page.facets["hf"]) == {n.hf for n in ledger.cases.values()}
    assert page.found.stats["saker_totalt"] == len(ledger.where(lambda n: n.hf == "OUS"))
    assert figures.coordinator_workbook(uow, KOORDINATOR, Filters()).startswith(b"PK")
    # anyone may see the public figures (no user asked): those of published mini-HTAs only
    assert figures.public(uow).filters == public_filters()
    published = figures.figures(uow, public_filters()).stats["saker_totalt"]
    assert published == len(ledger.where(lambda n: n.state == "publisert"))


def test_a_refresh_that_fails_leaves_no_rows_and_no_counts(
    uow: FakeUnitOfWork, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the refresh stops before it commits")

    with monkeypatch.context() as patched:
        patched.setattr(uow.figures, "record", fails)
        with pytest.raises(RuntimeError):
            figures.refresh(uow)
    with uow:
        assert (uow.figures.rows(), uow.figures.cases_counted()) == (0, 0)
        assert uow.figures.state() == (0, None)
        assert len(uow.figures.stale_case_ids()) == len(ledger.cases)
    done = figures.refresh(uow)  # the first refresh that commits: generation 0 + 1
    assert (done.refreshed, done.generation) == (len(ledger.cases), 1)
    with uow:
        assert uow.figures.cases_counted() == len(ledger.cases)
