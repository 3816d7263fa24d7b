"""Mini-HTA use cases (WORKFLOW.md section 6) on the fake unit of work: assigning a peer
reviewer, declarations of interest, attachments, publication and the public search."""

from __future__ import annotations

import pytest

from processor.domain import Actor
from processor.errors import DomainError
from services import minihta
from services.access import can_see
from services.cases import transition
from services.upload import upload
from services.users import add_user
from tests.fakes import FakeUnitOfWork
from tests.fillers import fill_json, sample_values
from tests.storage.helpers import HF_OUS, KOORDINATOR, TODAY

REVIEWERS = {
    # username: (hf, fagomrader)
    "ff-hbe": ("HBE", ["Gastrokirurgi"]),
    "ff-unn": ("UNN", ["gastrokirurgi"]),
    "ff-ous": ("OUS", ["Gastrokirurgi"]),
    "ff-sto": ("STO", ["Kardiologi"]),
}


def reviewer(name: str) -> Actor:
    return Actor(name, frozenset({"fagfelle"}), REVIEWERS[name][0])


def form(form_id: str, **overrides: object) -> bytes:
    return fill_json(form_id, sample_values(form_id, **overrides))


def code_of(call: object) -> str:
    with pytest.raises(DomainError) as e:
        call()  # type: ignore[operator]
    return e.value.code


@pytest.fixture
def reviewers(uow: FakeUnitOfWork) -> FakeUnitOfWork:
    for name, (hf, fag) in REVIEWERS.items():
        add_user(uow, name, roles=["fagfelle"], hf=hf, fagomrader=fag)
    return uow


def new_case(uow: FakeUnitOfWork, **overrides: object) -> str:
    result = upload(HF_OUS, "m.json", form("minihta", **overrides), uow, TODAY)
    assert result.accepted and result.case_id
    return result.case_id


def state(uow: FakeUnitOfWork, case_id: str) -> str:
    case = uow.cases.get(case_id)
    assert case is not None
    return case.state


def test_the_rules_pick_a_reviewer_who_then_sees_the_case(reviewers: FakeUnitOfWork) -> None:
    uow = reviewers
    first, second = new_case(uow), new_case(uow)
    # ff-ous is the proposing HF, ff-sto another specialty: ff-hbe, then the one with fewer open
    assert minihta.assign_reviewer(KOORDINATOR, first, None, None, uow).reviewer == "ff-hbe"
    assert uow.reviews.open_counts() == {"ff-hbe": 1}
    done = minihta.assign_reviewer(KOORDINATOR, second, None, None, uow)
    assert (done.reviewer, done.override, done.state) == ("ff-unn", False, "til_fagfelle")
    case = uow.cases.get(first)
    assert case is not None
    assert can_see(reviewer("ff-hbe"), case) and not can_see(reviewer("ff-unn"), case)
    assert [r["sak"] for r in minihta.reviewer_cases(reviewer("ff-hbe"), uow)] == [first]
    assert code_of(lambda: minihta.assign_reviewer(KOORDINATOR, first, None, None, uow)) == (
        "ALREADY_ASSIGNED"
    )
    own_hf = lambda: minihta.assign_reviewer(KOORDINATOR, second, "ff-ous", "Trengs", uow)  # noqa: E731
    assert code_of(own_hf) in {"ALREADY_ASSIGNED", "OVERRIDE_NOT_ALLOWED"}


def test_an_override_needs_a_reason_and_a_refusal_assigns_nobody(
    reviewers: FakeUnitOfWork,
) -> None:
    uow = reviewers
    case_id = new_case(uow)
    call = lambda: minihta.assign_reviewer(KOORDINATOR, case_id, "ff-sto", None, uow)  # noqa: E731
    assert code_of(call) == "REASON_REQUIRED"
    own = lambda: minihta.assign_reviewer(KOORDINATOR, case_id, "ff-ous", "Trengs", uow)  # noqa: E731
    assert code_of(own) == "OVERRIDE_NOT_ALLOWED"
    assert uow.reviews.for_case(case_id) == [] and state(uow, case_id) == "mottatt"
    done = minihta.assign_reviewer(KOORDINATOR, case_id, "ff-sto", "Eneste ledige", uow)
    assert done.override is True
    assert minihta.assignments_of(uow, case_id)[0]["begrunnelse"] == "Eneste ledige"


def test_yellow_waits_for_approval_and_red_ends_the_assignment(reviewers: FakeUnitOfWork) -> None:
    uow = reviewers
    case_id = new_case(uow)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    hbe = reviewer("ff-hbe")
    minihta.declare_conflict(hbe, case_id, "gul", "Foredrag for produsenten", uow)
    assert code_of(lambda: minihta.peer_packet(hbe, case_id, uow, TODAY)) == "FORBIDDEN"
    assert code_of(lambda: minihta.declare_conflict(hbe, case_id, "gronn", None, uow)) == (
        "FORBIDDEN"
    )
    minihta.approve_conflict(KOORDINATOR, case_id, uow)
    assert minihta.peer_packet(hbe, case_id, uow, TODAY)[:2] == b"PK"
    minihta.declare_conflict(hbe, case_id, "rod", "Eier aksjer", uow)
    case = uow.cases.get(case_id)
    assert case is not None and not can_see(hbe, case)
    assert uow.reviews.open_counts() == {}
    # the red reviewer is never picked again; the case stays til_fagfelle with a new one
    assert minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow).reviewer == "ff-unn"
    assert [(a["fagfelle"], a["aktiv"]) for a in minihta.assignments_of(uow, case_id)] == [
        ("ff-hbe", False),
        ("ff-unn", True),
    ]


def _reviewed(uow: FakeUnitOfWork, **overrides: object) -> str:
    case_id = new_case(uow, **overrides)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    ff = reviewer(minihta.assignments_of(uow, case_id)[0]["fagfelle"])
    minihta.declare_conflict(ff, case_id, "gronn", None, uow)
    skjema2 = form("minihta-fagfelle", **{"sak.id": case_id, "fagfelle.helseforetak": ff.hf})
    assert upload(ff, "s2.json", skjema2, uow, TODAY).state == "fagfellevurdert"
    return case_id


def _published(uow: FakeUnitOfWork, utfall: str, **overrides: object) -> str:
    case_id = _reviewed(uow, **overrides)
    values: dict[str, object] = {"sak.id": case_id, "beslutning.utfall": utfall}
    if utfall != "innfort_med_vilkar":
        values["beslutning.vilkar"] = None
    skjema3 = form("minihta-beslutning", **values)
    assert upload(HF_OUS, "s3.json", skjema3, uow, TODAY).state == "besluttet"
    transition(KOORDINATOR, case_id, "besluttet", "publisert", None, uow)
    return case_id


def test_published_minihtas_are_found_by_words_and_filters(reviewers: FakeUnitOfWork) -> None:
    uow = reviewers
    robot = _published(uow, "innfort", **{"generelt.tittel": "Robotkirurgi i Blåbærdalen"})
    hjerte = _published(
        uow,
        "ikke_innfort",
        **{"generelt.tittel": "Hjerteklaff for eldre", "sammendrag": "Gjelder øyboere."},
    )
    unpublished = new_case(uow, **{"generelt.tittel": "Ikke publisert kirurgi"})

    def ids(**kw: object) -> list[str]:
        return [i["sak"] for i in minihta.search_published(uow, **kw)]  # type: ignore[arg-type]

    assert ids() == [hjerte, robot]  # newest first (same clock: by case id, descending)
    assert ids(q="BLÅBÆR") == [robot] and ids(q="blabaer") == []
    assert ids(q="øyboere hjerteklaff") == [hjerte] and ids(q="øyboere blåbærdalen") == []
    assert ids(q="  ?! ") == ids(q="?!") == []  # words only
    assert unpublished not in ids(q="kirurgi")
    assert ids(konklusjon="ikke_innfort") == [hjerte] and ids(hf="ous", year=2025) == []
    assert set(ids(hf="ous", fagomrade="GASTROKIRURGI")) == {robot, hjerte}
    facets = minihta.facets(uow)
    assert facets["konklusjon"] == ["ikke_innfort", "innfort"] and facets["helseforetak"] == ["OUS"]
    found = minihta.published_case(uow, robot)
    assert set(found["dokumenter"]) == {"minihta", "fagfellevurdering", "beslutning"}
    assert code_of(lambda: minihta.published_case(uow, unpublished)) == "NOT_FOUND"


def test_publishing_without_skjema_3_is_refused_and_rolled_back(reviewers: FakeUnitOfWork) -> None:
    uow = reviewers
    case_id = _reviewed(uow)
    case = uow.cases.get(case_id)
    assert case is not None
    case.state = "besluttet"  # as if skjema 3 had come: it has not
    transitions = len(case.transitions)
    call = lambda: transition(KOORDINATOR, case_id, "besluttet", "publisert", None, uow)  # noqa: E731
    assert code_of(call) == "INVALID_TRANSITION"
    # the move to publisert came before the refusal; the rollback undid it, as a database does
    assert state(uow, case_id) == "besluttet" and len(case.transitions) == transitions
    assert uow.publications.get(case_id) is None and minihta.search_published(uow) == []
