"""Issue 11, finding 7 (c): Sykehusinnkjøp sees the cases in price check and no others.

WORKFLOW.md section 1: the `priskontroll` role "sees: cases in price check". A case it has
checked moves on to `klar` and out of its sight, as do placed, decided and withdrawn cases: the
case page, its JSON twin, the case list and the decision letter answer as for a case that does
not exist (404), and the lists leave them out.
"""

from __future__ import annotations

from datetime import date, time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from processor.domain import Actor
from services import committee
from services.cases import price_check, transition
from services.users import add_user
from tests.web.conftest import TODAY, Users, del2, login, st, upload

API = "/api/v1"
KOORDINATOR = Actor("koordinator", frozenset({"koordinator"}))
PRIS = Actor("priskontroll", frozenset({"priskontroll"}))
IN_CHECK = "2026-09-14-OUS-KREFT"
CHECKED = "2026-09-14-OUS-HJERTE"  # price-checked, now `klar`
DECIDED = "2026-09-14-OUS-LUNGE"  # price-checked, placed and decided
WITHDRAWN = "2026-09-14-OUS-NEVRO"  # price-checked, then withdrawn by the HF
MEMBERS = ("k-hbe", "k-hmr", "k-sihf", "k-sto")
DECISION = {
    "utfall": "innvilget",
    "kriterier": {
        "okt_nytte": {"oppfylt": True, "begrunnelse": "Klar nytte i fase 2-data."},
        "hoyere_alvorlighet": {"oppfylt": False, "begrunnelse": ""},
        "sarskilte_medisinske_arsaker": {"oppfylt": False, "begrunnelse": ""},
    },
    "begrunnelse": "Komitéen finner at vilkårene er oppfylt.",
    "deltakere": list(MEMBERS),
    "foreslar_gruppevurdering": False,
    "gruppevurdering_tekst": "",
}


@pytest.fixture
def cases(app: Flask, users: Users) -> Users:
    s = st(app)
    client = app.test_client()
    hf = Actor("hf-ous", frozenset({"hf"}), "OUS")
    for case_id in (IN_CHECK, CHECKED, DECIDED, WITHDRAWN):
        department = case_id.rsplit("-", 1)[1]
        assert upload(client, users.auth("hf-ous"), del2("OUS", department)).status_code == 201
        transition(KOORDINATOR, case_id, "mottatt", "priskontroll", None, s.uow())
    for case_id in (CHECKED, DECIDED, WITHDRAWN):
        price_check(PRIS, case_id, 62500, "Bekreftet", s.uow())
    transition(hf, WITHDRAWN, "klar", "trukket", "Pasienten flyttet.", s.uow())
    for name, code in zip(MEMBERS, ("HBE", "HMR", "SIHF", "STO"), strict=True):
        add_user(s.uow(), name, roles=["komite"], hf=code, beslutningstaker=True)
    meeting = committee.create_meeting(KOORDINATOR, s.uow(), date(2026, 12, 10), time(9), TODAY)
    placed = committee.plan_meeting(KOORDINATOR, s.uow(), meeting, TODAY)
    assert set(placed.placed) == {CHECKED, DECIDED}, placed.to_dict()
    decision = committee.DecisionInput.from_json(DECISION)
    committee.record_decision(KOORDINATOR, s.uow(), DECIDED, decision, TODAY)
    return users


def _states(client: FlaskClient, users: Users) -> dict[str, str]:
    resp = client.get(f"{API}/saker", headers=users.auth("koordinator"))
    return {c["sak"]: c["status"] for c in resp.get_json()["saker"]}


def test_the_api_shows_the_price_check_only_cases_in_price_check(app: Flask, cases: Users) -> None:
    client = app.test_client()
    states = _states(client, cases)
    assert states[IN_CHECK] == "priskontroll" and states[DECIDED] == "avgjort"
    assert states[WITHDRAWN] == "trukket" and states[CHECKED] != "priskontroll"
    auth = cases.auth("priskontroll")
    listed = client.get(f"{API}/saker", headers=auth).get_json()
    assert [c["sak"] for c in listed["saker"]] == [IN_CHECK] and listed["totalt"] == 1
    assert client.get(f"{API}/saker/{IN_CHECK}", headers=auth).status_code == 200
    for case_id in (CHECKED, DECIDED, WITHDRAWN):
        resp = client.get(f"{API}/saker/{case_id}", headers=auth)
        assert resp.status_code == 404, case_id
        assert resp.get_json()["error"]["code"] == "NOT_FOUND"
    for path in ("vedtak", "vedtak.pdf", "vedtak.docx"):
        assert client.get(f"{API}/saker/{DECIDED}/{path}", headers=auth).status_code == 404
    # the coordinator and the HF still read the decided case and its letter
    assert (
        client.get(f"{API}/saker/{DECIDED}/vedtak.pdf", headers=cases.auth("hf-ous")).status_code
        == 200
    )
    queue = client.get(f"{API}/priskontroll", headers=auth).get_json()
    assert [c["sak"] for c in queue["saker"]] == [IN_CHECK]


def test_the_pages_show_the_price_check_only_cases_in_price_check(app: Flask, cases: Users) -> None:
    client = app.test_client()
    login(client, "priskontroll")
    assert client.get(f"/saker/{IN_CHECK}").status_code == 200
    for case_id in (CHECKED, DECIDED, WITHDRAWN):
        assert client.get(f"/saker/{case_id}").status_code == 404, case_id
    for path in ("vedtak", "vedtak.pdf", "vedtak.docx"):  # role-gated pages: 403 first
        assert client.get(f"/saker/{DECIDED}/{path}").status_code in (403, 404)
    listing = client.get("/saker").get_data(as_text=True)
    assert IN_CHECK in listing
    for case_id in (CHECKED, DECIDED, WITHDRAWN):
        assert case_id not in listing


def test_a_second_price_check_learns_only_that_the_case_moved_on(app: Flask, cases: Users) -> None:
    client = app.test_client()
    auth = cases.auth("priskontroll")
    body = {"legemiddel_per_maned": 62500, "merknad": "Bekreftet"}
    resp = client.post(f"{API}/saker/{CHECKED}/priskontroll", json=body, headers=auth)
    assert resp.status_code == 409 and set(resp.get_json()) == {"error"}
    assert resp.get_json()["error"]["code"] == "STALE_STATE"
    resp = client.post(f"{API}/saker/{DECIDED}/priskontroll", json=body, headers=auth)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "CASE_DECIDED"
    # a case that never was in price check stays unknown
    resp = client.post(f"{API}/saker/2026-09-14-OUS-FINNES/priskontroll", json=body, headers=auth)
    assert resp.status_code == 404


def test_the_page_sends_a_late_price_checker_back_to_the_queue(app: Flask, cases: Users) -> None:
    from tests.web.conftest import csrf_token

    client = app.test_client()
    login(client, "priskontroll")
    token = csrf_token(client.get("/priskontroll").get_data(as_text=True))
    resp = client.post(
        f"/saker/{CHECKED}/priskontroll",
        data={"csrf_token": token, "legemiddel_per_maned": "62500", "merknad": "Bekreftet"},
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/priskontroll")
    assert "ikke lenger til priskontroll" in client.get("/priskontroll").get_data(as_text=True)
