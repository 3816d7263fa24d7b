"""WORKFLOW.md section 5: a decided case is read-only, refused by the services (CASE_DECIDED, 409).

The fake unit of work holds a case that is put in `avgjort` directly: these tests are about the
refusal, not about how the decision was reached (tests/storage/test_committee.py does that).
"""

from __future__ import annotations

import pytest

from processor.domain import Actor
from processor.errors import CaseDecided, DomainError
from services.cases import price_check, set_urgent, transition
from services.upload import upload
from tests.fakes import FakeUnitOfWork
from tests.storage.helpers import HF_OUS, HF_STO, KOORDINATOR, PRISKONTROLL, REFERENCE, TODAY, del2


@pytest.fixture
def decided(fake_uow: FakeUnitOfWork) -> FakeUnitOfWork:
    result = upload(HF_OUS, "soknad.json", del2(), fake_uow, TODAY)
    assert result.accepted, result.errors
    transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, fake_uow)
    price_check(PRISKONTROLL, REFERENCE, 62500, None, fake_uow)
    with fake_uow:
        case = fake_uow.cases.get(REFERENCE)
        assert case is not None
        case.state = "avgjort"
        fake_uow.commit()
    return fake_uow


def _events(uow: FakeUnitOfWork) -> int:
    with uow:
        return len(uow.audit.list(object=f"case:{REFERENCE}"))


def test_case_decided_is_a_409_with_a_norwegian_message() -> None:
    error = CaseDecided()
    assert (error.code, error.http_status) == ("CASE_DECIDED", 409)
    assert error.message == "Saken er avgjort og kan ikke endres."


@pytest.mark.parametrize(
    ("actor", "from_", "to"),
    [
        (HF_OUS, "avgjort", "trukket"),
        (HF_OUS, "satt_opp", "trukket"),
        (KOORDINATOR, "mottatt", "returnert"),
        (KOORDINATOR, "avgjort", "priskontroll"),
    ],
)
def test_a_decided_case_refuses_every_transition(
    decided: FakeUnitOfWork, actor: Actor, from_: str, to: str
) -> None:
    before = _events(decided)
    with pytest.raises(CaseDecided):
        transition(actor, REFERENCE, from_, to, "Grunn til endring.", decided)
    assert _events(decided) == before


def test_a_decided_case_refuses_a_price_check(decided: FakeUnitOfWork) -> None:
    with pytest.raises(CaseDecided):
        price_check(PRISKONTROLL, REFERENCE, 70000, "Ny pris.", decided)


def test_a_decided_case_cannot_be_marked_urgent(decided: FakeUnitOfWork) -> None:
    with pytest.raises(CaseDecided):
        set_urgent(KOORDINATOR, REFERENCE, True, "Pasienten venter.", decided)
    with decided:
        case = decided.cases.get(REFERENCE)
        assert case is not None and not case.urgent


def test_another_hfs_decided_case_is_still_not_found(decided: FakeUnitOfWork) -> None:
    with pytest.raises(DomainError) as e:
        transition(HF_STO, REFERENCE, "avgjort", "trukket", None, decided)
    assert e.value.code == "NOT_FOUND"


def test_a_new_upload_with_the_reference_of_a_decided_case_is_reference_in_use(
    decided: FakeUnitOfWork,
) -> None:
    # WORKFLOW.md section 2: a reference names one case for ever
    with pytest.raises(DomainError) as e:
        upload(HF_OUS, "soknad.json", del2(), decided, TODAY)
    assert (e.value.code, e.value.http_status) == ("REFERENCE_IN_USE", 409)
