"""Committee use cases (WORKFLOW.md sections 3-5) on the fake unit of work: meetings, planning,
who sees a placed case, decisions and their letters, and what a refused decision leaves."""

from __future__ import annotations

from datetime import date, time

import pytest

from processor.domain import Actor
from processor.errors import DomainError
from services import committee
from services.access import can_see
from services.cases import price_check, set_urgent, transition
from services.upload import upload
from services.users import add_user
from tests.fakes import FakeUnitOfWork
from tests.services.helpers import refusal_decision
from tests.storage.helpers import HF_OUS, HF_STO, KOORDINATOR, PRISKONTROLL, TODAY, del2_for

MEETING_DAY = date(2026, 12, 10)
CASE_OUS = "2026-09-14-OUS-KREFT"
CASE_STO = "2026-09-14-STO-KREFT"
# five decision-makers from five HFs
MEMBERS = {"k-ous": "OUS", "k-ahus": "AHUS", "k-hbe": "HBE", "k-unn": "UNN", "k-hmr": "HMR"}
PARTICIPANTS = ["k-ahus", "k-hbe", "k-unn", "k-hmr"]


def member(username: str) -> Actor:
    return Actor(username, frozenset({"komite"}), MEMBERS[username])


def ready(uow: FakeUnitOfWork, hf_user: Actor, case_id: str) -> None:
    data = del2_for(case_id.split("-")[3], **{"pasient.opptaksomrade": case_id.split("-")[3]})
    assert upload(hf_user, "soknad.json", data, uow, TODAY).accepted
    transition(KOORDINATOR, case_id, "mottatt", "priskontroll", None, uow)
    price_check(PRISKONTROLL, case_id, 62500, None, uow)


@pytest.fixture
def setup(uow: FakeUnitOfWork) -> FakeUnitOfWork:
    for name, hf in MEMBERS.items():
        add_user(uow, name, roles=["komite"], hf=hf, beslutningstaker=True)
    ready(uow, HF_OUS, CASE_OUS)
    ready(uow, HF_STO, CASE_STO)
    return uow


def state(uow: FakeUnitOfWork, case_id: str) -> str:
    case = uow.cases.get(case_id)
    assert case is not None
    return case.state


def decision(deltakere: list[str] = PARTICIPANTS, **overrides: object) -> committee.DecisionInput:
    return refusal_decision(deltakere, **overrides)


def test_a_meeting_is_created_once_per_date_and_time(setup: FakeUnitOfWork) -> None:
    first = committee.create_meeting(KOORDINATOR, setup, MEETING_DAY, time(9), TODAY)
    second = committee.create_meeting(KOORDINATOR, setup, MEETING_DAY, time(13), TODAY)
    assert first != second
    with pytest.raises(DomainError) as e:
        committee.create_meeting(KOORDINATOR, setup, MEETING_DAY, time(9), TODAY)
    assert e.value.code == "MEETING_EXISTS"
    rows = committee.list_meetings(KOORDINATOR, setup, TODAY)
    assert [(r["id"], r["tid"]) for r in rows] == [(first, "09:00"), (second, "13:00")]
    assert {d["brukernavn"] for d in rows[0]["deltakere"]} == set(MEMBERS)
    assert setup.audit.list(object=f"meeting:{first}")[0].action == "meeting.create"


def test_planning_fills_the_meeting_urgent_first_and_members_see_what_they_may(
    setup: FakeUnitOfWork,
) -> None:
    uow = setup
    set_urgent(KOORDINATOR, CASE_OUS, True, "Rask progresjon.", uow)
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    committee.update_meeting(KOORDINATOR, uow, meeting_id, case_limit=1)
    outcome = committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    assert outcome.placed == [CASE_OUS] and [c for c, _ in outcome.not_placed] == [CASE_STO]
    assert state(uow, CASE_OUS) == "satt_opp" and state(uow, CASE_STO) == "klar"
    committee.update_meeting(KOORDINATOR, uow, meeting_id, case_limit=2)
    assert committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY).placed == [CASE_STO]
    detail = committee.meeting_detail(KOORDINATOR, uow, meeting_id, TODAY)
    assert [r["sak"] for r in detail["plasserte"]] == [CASE_OUS, CASE_STO]
    assert detail["klare"] == []
    # the OUS member is recused from the OUS case: not in the meeting's list, not visible
    [mine] = committee.list_meetings(member("k-ous"), uow, TODAY)
    assert mine["saker"] == [CASE_STO]
    ous_case, sto_case = uow.cases.get(CASE_OUS), uow.cases.get(CASE_STO)
    assert ous_case is not None and sto_case is not None
    assert not can_see(member("k-ous"), ous_case) and can_see(member("k-ous"), sto_case)
    # a member removed from the meeting sees neither
    committee.update_meeting(KOORDINATOR, uow, meeting_id, absent={"k-ahus": True})
    assert committee.list_meetings(member("k-ahus"), uow, TODAY) == []
    assert not can_see(member("k-ahus"), sto_case)


def test_a_decision_is_stored_with_both_letters_and_the_case_is_decided(
    setup: FakeUnitOfWork,
) -> None:
    uow = setup
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    committee.record_decision(KOORDINATOR, uow, CASE_STO, decision(), TODAY)
    assert state(uow, CASE_STO) == "avgjort"
    stored = uow.decisions.get(CASE_STO)
    assert stored is not None and stored.outcome == "avslatt"
    assert uow.blobs.get(stored.pdf_sha256).startswith(b"%PDF")
    assert uow.blobs.get(stored.docx_sha256).startswith(b"PK")
    assert {stored.pdf_sha256, stored.docx_sha256} <= uow.cases.blob_shas()
    view = committee.decision_view(HF_STO, uow, CASE_STO)
    assert (view["utfall"], view["deltakere"]) == ("avslatt", PARTICIPANTS)
    with pytest.raises(DomainError) as e:
        committee.record_decision(KOORDINATOR, uow, CASE_STO, decision(), TODAY)
    assert e.value.http_status == 409
    with pytest.raises(DomainError) as e:
        committee.decision_view(HF_STO, uow, CASE_OUS)  # placed, not decided
    assert e.value.code == "NOT_FOUND"


def test_a_refused_decision_leaves_no_decision_no_letter_and_the_case_placed(
    setup: FakeUnitOfWork,
) -> None:
    uow = setup
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    events = len(uow.audit.events)
    recused = decision(deltakere=["k-ous", "k-ahus", "k-hbe", "k-unn"])
    with pytest.raises(DomainError) as e:
        committee.record_decision(KOORDINATOR, uow, CASE_OUS, recused, TODAY)
    assert e.value.code == "INVALID_VALUE"
    assert uow.decisions.get(CASE_OUS) is None and uow.cases.blob_shas() == set()
    assert state(uow, CASE_OUS) == "satt_opp" and len(uow.audit.events) == events


def test_member_attributes_name_the_deputy_seat(setup: FakeUnitOfWork) -> None:
    uow = setup
    add_user(uow, "k-vara", roles=["komite"], hf="SIHF", beslutningstaker=False)
    info = committee.set_member(KOORDINATOR, uow, "k-vara", vara_for="k-hmr", fagdirektor=True)
    assert (info.vara_for, info.fagdirektor) == ("k-hmr", True)
    assert uow.audit.list(object="user:k-vara")[-1].details["vara_for"] == "k-hmr"
    info = committee.set_member(KOORDINATOR, uow, "k-vara", vara_for="")
    assert info.vara_for is None and info.fagdirektor is True
