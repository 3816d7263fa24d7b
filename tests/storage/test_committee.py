"""WORKFLOW.md sections 3–5 on the storage layer: members, meetings, planning, packets, decisions.

Runs on SQLite, on PostgreSQL when SKJEMAMOTTAK_TEST_POSTGRES_URL is set, and on the fake unit of
work (tests/fakes.py), which must answer alike.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, time

import pytest
from pypdf import PdfReader

from processor.domain import Actor
from processor.errors import DomainError
from services import committee
from services.cases import price_check, set_urgent, transition
from services.upload import upload
from services.users import add_user
from storage.uow import AbstractUnitOfWork
from tests.services.helpers import decision_body
from tests.storage.helpers import HF_OUS, HF_STO, KOORDINATOR, PRISKONTROLL, TODAY, del2_for

MEETING_DAY = date(2026, 12, 10)
CASE_OUS = "2026-09-14-OUS-KREFT"
CASE_STO = "2026-09-14-STO-KREFT"

# five decision-makers from five HFs, and one deputy (not a decision-maker) for the OUS member
MEMBERS = {
    "k-ous": ("OUS", True),
    "k-ahus": ("AHUS", True),
    "k-hbe": ("HBE", True),
    "k-unn": ("UNN", True),
    "k-hmr": ("HMR", True),
    "k-vara": ("SIHF", False),
}


def sto_case() -> bytes:
    return del2_for("STO", **{"pasient.opptaksomrade": "STO"})


def member(username: str) -> Actor:
    hf, _ = MEMBERS[username]
    return Actor(username, frozenset({"komite"}), hf)


def add_members(uow: AbstractUnitOfWork, names: dict[str, tuple[str, bool]] = MEMBERS) -> None:
    for name, (hf, dm) in names.items():
        add_user(
            uow,
            name,
            roles=["komite"],
            hf=hf,
            beslutningstaker=dm,
            display_name=f"Medlem {name[2:].upper()}",
        )


def ready_case(uow: AbstractUnitOfWork, hf_user: Actor, data: bytes, case_id: str) -> None:
    result = upload(hf_user, "soknad.json", data, uow, TODAY)
    assert result.accepted, result.errors
    transition(KOORDINATOR, case_id, "mottatt", "priskontroll", None, uow)
    price_check(PRISKONTROLL, case_id, 62500, None, uow)


@pytest.fixture
def setup(service_uow: AbstractUnitOfWork) -> AbstractUnitOfWork:
    add_members(service_uow)
    ready_case(service_uow, HF_OUS, del2_for("OUS"), CASE_OUS)
    ready_case(service_uow, HF_STO, sto_case(), CASE_STO)
    return service_uow


def state(uow: AbstractUnitOfWork, case_id: str) -> str:
    with uow:
        case = uow.cases.get(case_id)
        assert case is not None
        return case.state


# ---- members ------------------------------------------------------------------------------------


def test_a_komite_user_is_a_member_with_defaults_until_the_coordinator_sets_attributes(
    service_uow: AbstractUnitOfWork,
) -> None:
    add_members(service_uow)
    [ous] = [m for m in committee.list_members(KOORDINATOR, service_uow, TODAY) if m.hf == "OUS"]
    assert (ous.fagdirektor, ous.vara_for, ous.active) == (False, None, True)
    info = committee.set_member(
        KOORDINATOR,
        service_uow,
        "k-vara",
        fagdirektor=True,
        vara_for="k-ous",
        active_from=date(2026, 1, 1),
        active_to=date(2026, 11, 30),
    )
    assert info.vara_for == "k-ous" and info.fagdirektor
    committee.set_member(KOORDINATOR, service_uow, "k-hmr", active_to=date(2026, 11, 1))
    by_name = {m.username: m for m in committee.list_members(KOORDINATOR, service_uow, TODAY)}
    assert by_name["k-vara"].active and not by_name["k-hmr"].active
    with service_uow:
        assert [e.action for e in service_uow.audit.list(object="user:k-vara")][-1] == (
            "committee.member"
        )


def test_member_attributes_are_checked(service_uow: AbstractUnitOfWork) -> None:
    add_members(service_uow)
    with pytest.raises(DomainError) as e:
        committee.set_member(KOORDINATOR, service_uow, "k-ous", vara_for="k-ous")
    assert e.value.code == "INVALID_VALUE"
    with pytest.raises(DomainError) as e:
        committee.set_member(KOORDINATOR, service_uow, "k-ous", vara_for="ukjent")
    assert e.value.code == "INVALID_VALUE"
    with pytest.raises(DomainError) as e:
        committee.set_member(
            KOORDINATOR,
            service_uow,
            "k-ous",
            active_from=date(2026, 5, 1),
            active_to=date(2026, 1, 1),
        )
    assert e.value.code == "INVALID_VALUE"
    with pytest.raises(DomainError) as e:
        committee.set_member(HF_OUS, service_uow, "k-ous", fagdirektor=True)
    assert e.value.code == "FORBIDDEN"


# ---- meetings and planning ----------------------------------------------------------------------


def test_meetings_are_created_by_the_coordinator_with_papers_deadline(
    service_uow: AbstractUnitOfWork,
) -> None:
    add_members(service_uow)
    meeting_id = committee.create_meeting(KOORDINATOR, service_uow, MEETING_DAY, time(9), TODAY)
    [row] = committee.list_meetings(KOORDINATOR, service_uow, TODAY)
    assert row["id"] == meeting_id and row["tid"] == "09:00" and row["saksgrense"] == 8
    assert row["sakspapirfrist"] == "2026-12-08"
    assert len(row["deltakere"]) == len(MEMBERS)
    with pytest.raises(DomainError) as e:
        committee.create_meeting(KOORDINATOR, service_uow, MEETING_DAY, time(9), TODAY)
    assert e.value.code == "MEETING_EXISTS"
    with pytest.raises(DomainError) as e:
        committee.create_meeting(KOORDINATOR, service_uow, date(2026, 11, 1), time(9), TODAY)
    assert e.value.code == "INVALID_VALUE"
    with pytest.raises(DomainError) as e:
        committee.create_meeting(member("k-ous"), service_uow, MEETING_DAY, time(10), TODAY)
    assert e.value.code == "FORBIDDEN"


def test_planning_places_urgent_first_up_to_the_limit_and_moves_cases_to_satt_opp(
    setup: AbstractUnitOfWork,
) -> None:
    uow = setup
    set_urgent(KOORDINATOR, CASE_STO, True, "Rask progresjon.", uow)
    meeting_id = committee.create_meeting(
        KOORDINATOR, uow, MEETING_DAY, time(9), TODAY, case_limit=1
    )
    outcome = committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    assert outcome.placed == [CASE_STO]
    assert [c for c, _ in outcome.not_placed] == [CASE_OUS]
    assert "fullt" in outcome.not_placed[0][1]
    assert state(uow, CASE_STO) == "satt_opp" and state(uow, CASE_OUS) == "klar"
    with uow:
        assert uow.audit.list(object=f"case:{CASE_STO}")[-1].action == "case.plan"
    committee.update_meeting(KOORDINATOR, uow, meeting_id, case_limit=2)
    assert committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY).placed == [CASE_OUS]


def test_a_case_lacking_quorum_is_not_placed_and_the_planner_names_the_deputy(
    setup: AbstractUnitOfWork,
) -> None:
    uow = setup
    committee.set_member(KOORDINATOR, uow, "k-vara", vara_for="k-ahus")
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    # two decision-makers removed: the OUS case keeps 3 eligible (k-ous is recused)
    committee.update_meeting(
        KOORDINATOR, uow, meeting_id, absent={"k-ahus": True, "k-hbe": True, "k-vara": False}
    )
    detail = committee.meeting_detail(KOORDINATOR, uow, meeting_id, TODAY)
    rows = {r["sak"]: r for r in detail["klare"]}
    assert rows[CASE_OUS]["beslutningstakere"] == 2
    assert rows[CASE_STO]["beslutningstakere"] == 3
    outcome = committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    assert outcome.placed == []
    reasons = dict(outcome.not_placed)
    assert "beslutningsdyktighet" in reasons[CASE_OUS]
    # the deputy's principal is back: STO has 4 with k-ahus, OUS has 3 + nobody
    committee.update_meeting(KOORDINATOR, uow, meeting_id, absent={"k-ahus": False})
    detail = committee.meeting_detail(KOORDINATOR, uow, meeting_id, TODAY)
    rows = {r["sak"]: r for r in detail["klare"]}
    assert rows[CASE_STO]["beslutningsdyktig"] is True
    outcome = committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    assert outcome.placed == [CASE_STO]
    assert CASE_OUS in dict(outcome.not_placed)


def test_a_deputy_who_would_restore_the_quorum_is_named(service_uow: AbstractUnitOfWork) -> None:
    add_members(service_uow)
    committee.set_member(KOORDINATOR, service_uow, "k-vara", vara_for="k-hmr")
    ready_case(service_uow, HF_STO, sto_case(), CASE_STO)
    meeting_id = committee.create_meeting(KOORDINATOR, service_uow, MEETING_DAY, time(9), TODAY)
    committee.update_meeting(
        KOORDINATOR, service_uow, meeting_id, absent={"k-hmr": True, "k-ahus": True}
    )
    detail = committee.meeting_detail(KOORDINATOR, service_uow, meeting_id, TODAY)
    [row] = detail["klare"]
    assert row["beslutningstakere"] == 3
    assert [d["brukernavn"] for d in row["vara"]] == ["k-vara"]


# ---- packets ------------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_packet_goes_to_members_of_the_meeting_only_and_leaves_out_recused_cases(
    setup: AbstractUnitOfWork,
) -> None:
    uow = setup
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    assert committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY).placed == [
        CASE_OUS,
        CASE_STO,
    ]
    data, name = committee.meeting_packet(member("k-ous"), uow, meeting_id, TODAY)
    assert name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        assert f"sak-{CASE_STO}.pdf" in names
        assert not any("OUS-KREFT" in n for n in names)
        notice = _pdf_text(zf.read("innkalling.pdf"))
        merged = _pdf_text(zf.read("samlet.pdf"))
        case_text = _pdf_text(zf.read(f"sak-{CASE_STO}.pdf"))
    assert CASE_STO in notice and CASE_OUS not in notice and CASE_OUS not in merged
    assert "Medlem OUS" in case_text  # the footer names the member
    data, _ = committee.meeting_packet(member("k-ahus"), uow, meeting_id, TODAY)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {f"sak-{CASE_OUS}.pdf", f"sak-{CASE_STO}.pdf"} <= set(zf.namelist())
    with uow:
        events = uow.audit.list(object=f"meeting:{meeting_id}")
        downloads = [(e.actor, e.details["cases"]) for e in events if e.action == "meeting.packet"]
    assert downloads == [("k-ous", [CASE_STO]), ("k-ahus", [CASE_OUS, CASE_STO])]

    committee.update_meeting(KOORDINATOR, uow, meeting_id, absent={"k-unn": True})
    for who in (member("k-unn"), KOORDINATOR, HF_OUS):
        with pytest.raises(DomainError) as e:
            committee.meeting_packet(who, uow, meeting_id, TODAY)
        assert e.value.code == "FORBIDDEN"
    with pytest.raises(DomainError) as e:
        committee.meeting_packet(member("k-ous"), uow, 9999, TODAY)
    assert e.value.code == "NOT_FOUND"


def test_a_member_sees_own_meetings_and_the_cases_they_are_not_recused_from(
    setup: AbstractUnitOfWork,
) -> None:
    uow = setup
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    [row] = committee.list_meetings(member("k-ous"), uow, TODAY)
    assert row["saker"] == [CASE_STO]
    committee.update_meeting(KOORDINATOR, uow, meeting_id, absent={"k-ous": True})
    assert committee.list_meetings(member("k-ous"), uow, TODAY) == []


# ---- decisions ----------------------------------------------------------------------------------


def _placed(uow: AbstractUnitOfWork) -> int:
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    return meeting_id


def test_a_decision_makes_the_case_avgjort_and_read_only(setup: AbstractUnitOfWork) -> None:
    uow = setup
    with pytest.raises(DomainError) as e:  # still in klar
        committee.record_decision(KOORDINATOR, uow, CASE_OUS, decision_body(), TODAY)
    assert e.value.code == "INVALID_TRANSITION"
    _placed(uow)
    case = committee.record_decision(KOORDINATOR, uow, CASE_OUS, decision_body(), TODAY)
    assert case.state == "avgjort" == state(uow, CASE_OUS)
    with pytest.raises(DomainError) as e:
        committee.record_decision(KOORDINATOR, uow, CASE_OUS, decision_body(), TODAY)
    assert e.value.http_status == 409
    with pytest.raises(DomainError):
        transition(HF_OUS, CASE_OUS, "avgjort", "trukket", None, uow)
    assert committee.decided(HF_OUS, uow, CASE_OUS) is True
    assert committee.decided(HF_STO, uow, CASE_OUS) is False
    with uow:
        assert uow.audit.list(object=f"case:{CASE_OUS}")[-1].action == "case.decision"


def test_the_same_reference_cannot_be_uploaded_after_the_decision(
    setup: AbstractUnitOfWork,
) -> None:
    uow = setup
    _placed(uow)
    committee.record_decision(KOORDINATOR, uow, CASE_OUS, decision_body(), TODAY)
    with pytest.raises(DomainError) as e:
        upload(HF_OUS, "soknad.json", del2_for("OUS"), uow, TODAY)
    assert e.value.code == "REFERENCE_IN_USE" and e.value.http_status == 409


def test_an_incomplete_decision_or_a_recused_participant_is_refused(
    setup: AbstractUnitOfWork,
) -> None:
    uow = setup
    _placed(uow)
    with pytest.raises(DomainError) as e:
        committee.record_decision(
            KOORDINATOR, uow, CASE_OUS, decision_body(deltakere=["k-ahus", "k-hbe"]), TODAY
        )
    assert e.value.code == "INVALID_DECISION" and "vedtaksfør" in e.value.message
    with pytest.raises(DomainError) as e:
        committee.record_decision(
            KOORDINATOR,
            uow,
            CASE_OUS,
            decision_body(deltakere=["k-ous", "k-ahus", "k-hbe", "k-unn"]),
            TODAY,
        )
    assert e.value.code == "INVALID_VALUE" and "inhabil" in e.value.message
    assert state(uow, CASE_OUS) == "satt_opp"


def test_the_letter_is_for_the_cases_hf_and_the_coordinator(setup: AbstractUnitOfWork) -> None:
    uow = setup
    _placed(uow)
    committee.record_decision(KOORDINATOR, uow, CASE_OUS, decision_body(), TODAY)
    pdf, name, kind = committee.decision_letter(HF_OUS, uow, CASE_OUS, "pdf")
    assert pdf.startswith(b"%PDF") and kind == "application/pdf" and name.endswith(".pdf")
    assert CASE_OUS in _pdf_text(pdf)
    case = uow.cases.get(CASE_OUS)
    assert case is not None and case.latest is not None
    medicine = case.latest.data["behandling"]["legemiddel"]
    assert medicine and medicine in " ".join(_pdf_text(pdf).split())  # the letter names it
    docx, _, _ = committee.decision_letter(KOORDINATOR, uow, CASE_OUS, "docx")
    assert docx.startswith(b"PK")
    view = committee.decision_view(HF_OUS, uow, CASE_OUS)
    assert view["utfall"] == "innvilget" and view["brev"]["pdf"].endswith("vedtak.pdf")
    with pytest.raises(DomainError) as e:
        committee.decision_letter(HF_STO, uow, CASE_OUS, "pdf")
    assert e.value.code == "NOT_FOUND"
    # a member of the meeting (not recused) sees the case but does not get the letter
    with pytest.raises(DomainError) as e:
        committee.decision_letter(member("k-ahus"), uow, CASE_OUS, "pdf")
    assert e.value.code == "FORBIDDEN"
    with pytest.raises(DomainError) as e:
        committee.decision_letter(HF_STO, uow, CASE_STO, "pdf")
    assert e.value.code == "NOT_FOUND"  # no decision yet
