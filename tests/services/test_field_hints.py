"""A refusal of what was typed names its form field (`DomainError.context`), so a page can show
the message at the field (issue 22); the decision form's members carry their recusal ground."""

from __future__ import annotations

from datetime import date, time

import pytest

from processor.errors import DomainError
from services import committee
from services.cases import price_check, transition
from services.upload import upload
from services.users import add_user
from tests.fakes import FakeUnitOfWork
from tests.fillers import synthetic_fodselsnummer
from tests.services.helpers import refusal_decision
from tests.storage.helpers import HF_OUS, KOORDINATOR, PRISKONTROLL, TODAY, del2_for

CASE = "2026-09-14-OUS-KREFT"
MEETING_DAY = date(2026, 12, 10)
# the patient's catchment is AHUS: k-ous and k-ahus are recused
MEMBERS = {
    "k-ous": "OUS",
    "k-ahus": "AHUS",
    "k-hbe": "HBE",
    "k-unn": "UNN",
    "k-hmr": "HMR",
    "k-sshf": "SSHF",
}
ELIGIBLE = ["k-hbe", "k-unn", "k-hmr", "k-sshf"]


def in_price_check(uow: FakeUnitOfWork) -> None:
    data = del2_for("OUS", **{"pasient.opptaksomrade": "AHUS"})
    assert upload(HF_OUS, "soknad.json", data, uow, TODAY).accepted
    transition(KOORDINATOR, CASE, "mottatt", "priskontroll", None, uow)


@pytest.fixture
def placed(uow: FakeUnitOfWork) -> FakeUnitOfWork:
    for name, hf in MEMBERS.items():
        add_user(
            uow, name, roles=["komite"], hf=hf, display_name=f"Navn {name}", beslutningstaker=True
        )
    in_price_check(uow)
    price_check(PRISKONTROLL, CASE, 62500, None, uow)
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    assert committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY).placed == [CASE]
    return uow


def decision(deltakere: list[str] = ELIGIBLE, **overrides: object) -> committee.DecisionInput:
    return refusal_decision(deltakere, **overrides)


def refusal(call, *args) -> DomainError:
    with pytest.raises(DomainError) as e:
        call(*args)
    return e.value


def test_decision_refusals_name_their_fields(placed: FakeUnitOfWork) -> None:
    record = committee.record_decision
    e = refusal(record, KOORDINATOR, placed, CASE, decision(deltakere=[*ELIGIBLE, "k-ahus"]), TODAY)
    assert e.context == {"field": "deltakere"} and "Navn k-ahus er inhabil" in e.message
    e = refusal(
        record, KOORDINATOR, placed, CASE, decision(begrunnelse="", deltakere=ELIGIBLE[:3]), TODAY
    )
    assert e.code == "INVALID_DECISION"
    assert set(e.context["fields"]) == {"begrunnelse", "deltakere"}
    assert e.message == " ".join(e.context["fields"].values())
    number = synthetic_fodselsnummer()
    e = refusal(record, KOORDINATOR, placed, CASE, decision(gruppevurdering_tekst=number), TODAY)
    assert (e.code, e.context) == ("IDENTITY_FOUND", {"field": "gruppevurdering_tekst"})


def test_the_decision_form_members_carry_their_recusal_ground(placed: FakeUnitOfWork) -> None:
    members = committee.decision_members(KOORDINATOR, placed, CASE, TODAY)
    grounds = {m["brukernavn"]: m["inhabil"] for m in members}
    assert grounds == {
        "k-ous": "eget helseforetak",
        "k-ahus": "pasientens opptaksområde",
        **dict.fromkeys(ELIGIBLE),
    }


def test_the_meeting_view_lists_each_members_recusals(placed: FakeUnitOfWork) -> None:
    [meeting] = committee.list_meetings(KOORDINATOR, placed, TODAY)
    detail = committee.meeting_detail(KOORDINATOR, placed, meeting["id"], TODAY)
    marks = {m["brukernavn"]: m["inhabil"] for m in detail["alle_medlemmer"] if m["inhabil"]}
    assert marks == {
        "k-ous": [{"sak": CASE, "grunn": "eget helseforetak"}],
        "k-ahus": [{"sak": CASE, "grunn": "pasientens opptaksområde"}],
    }


def test_price_check_refusals_name_their_fields(uow: FakeUnitOfWork) -> None:
    in_price_check(uow)
    e = refusal(price_check, PRISKONTROLL, CASE, 99999.5, None, uow)
    assert (e.code, e.context) == ("REASON_REQUIRED", {"field": "merknad"})
    e = refusal(price_check, PRISKONTROLL, CASE, -1, "Ny avtale.", uow)
    assert e.context == {"field": "legemiddel_per_maned"}
    e = refusal(price_check, PRISKONTROLL, CASE, 99999.5, synthetic_fodselsnummer(), uow)
    assert (e.code, e.context) == ("IDENTITY_FOUND", {"field": "merknad"})


def test_a_withdrawal_reason_passes_the_identity_check_and_is_stored(uow: FakeUnitOfWork) -> None:
    in_price_check(uow)
    e = refusal(
        transition,
        HF_OUS,
        CASE,
        "priskontroll",
        "trukket",
        f"Gjelder {synthetic_fodselsnummer()}",
        uow,
    )
    assert e.code == "IDENTITY_FOUND"
    case = transition(HF_OUS, CASE, "priskontroll", "trukket", "Pasienten er flyttet.", uow)
    assert case.transitions[-1].reason == "Pasienten er flyttet."


def test_a_nul_inside_a_reason_hides_no_identity_number(uow: FakeUnitOfWork) -> None:
    """The case services' reasons go through the same guard as a draft's: a NUL between the
    digits (which an HTML parser drops) does not hide the number."""
    in_price_check(uow)
    number = synthetic_fodselsnummer()
    split = f"Gjelder {number[:6]}\x00{number[6:]}"
    e = refusal(transition, HF_OUS, CASE, "priskontroll", "trukket", split, uow)
    assert e.code == "IDENTITY_FOUND"
    e = refusal(price_check, PRISKONTROLL, CASE, 99999.5, split, uow)
    assert (e.code, e.context) == ("IDENTITY_FOUND", {"field": "merknad"})


def test_a_reason_that_is_not_a_text_is_an_invalid_request(uow: FakeUnitOfWork) -> None:
    in_price_check(uow)
    e = refusal(price_check, PRISKONTROLL, CASE, 99999.5, ["Ny avtale."], uow)
    assert (e.code, e.context) == ("INVALID_REQUEST", {"field": "merknad"})
    assert e.message == "«merknad» må være en tekst."
