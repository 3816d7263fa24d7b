"""WORKFLOW.md sections 3–5 through the Flask test client: the API's answers and the pages."""

from __future__ import annotations

import re
from datetime import date, time

from flask import Flask
from flask.testing import FlaskClient

from processor.domain import Actor
from services import committee
from services.cases import price_check, transition
from services.users import add_user
from tests.web.conftest import PASSWORD, REFERENCE, Users, csrf_token, del2, login, st, upload

KOORDINATOR = Actor("koordinator", frozenset({"koordinator"}))
PRISKONTROLL = Actor("priskontroll", frozenset({"priskontroll"}))
MEMBERS = {"k-ahus": "AHUS", "k-hbe": "HBE", "k-unn": "UNN", "k-hmr": "HMR"}


def add_members(app: Flask, password: str | None = None) -> None:
    for name, hf in MEMBERS.items():
        add_user(
            st(app).uow(),
            name,
            roles=["komite"],
            hf=hf,
            beslutningstaker=True,
            password=password if name == "k-ahus" else None,
        )


def placed_case(app: Flask, client: FlaskClient, users: Users) -> int:
    """The OUS case placed in a meeting on 2026-12-10; returns the meeting id."""
    assert upload(client, users.auth("hf-ous"), del2()).status_code == 201
    uow = st(app).uow
    transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, uow())
    price_check(PRISKONTROLL, REFERENCE, 62500, None, uow())
    today = st(app).today()
    meeting_id = committee.create_meeting(KOORDINATOR, uow(), date(2026, 12, 10), time(9), today)
    assert committee.plan_meeting(KOORDINATOR, uow(), meeting_id, today).placed == [REFERENCE]
    return meeting_id


# ---- API ----------------------------------------------------------------------------------------


def test_meetings_are_listed_for_the_coordinator_and_for_members_their_own(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    resp = client.post(
        "/api/v1/moter", json={"dato": "2026-12-10", "tid": "09:00"}, headers=users.auth("komite")
    )
    assert resp.status_code == 403
    resp = client.post(
        "/api/v1/moter",
        json={"dato": "2026-12-10", "tid": "09:00", "saksgrense": 6},
        headers=users.auth("koordinator"),
    )
    assert resp.status_code == 201 and resp.headers["Location"].endswith(f"/{resp.json['id']}")
    meeting_id = resp.json["id"]
    [row] = client.get("/api/v1/moter", headers=users.auth("koordinator")).json["moter"]
    assert row["saksgrense"] == 6 and row["sakspapirfrist"] == "2026-12-08"
    mine = client.get("/api/v1/moter", headers=users.auth("komite")).json["moter"]
    assert [m["id"] for m in mine] == [meeting_id]
    assert client.get("/api/v1/moter", headers=users.auth("hf-ous")).status_code == 403
    resp = client.patch(
        f"/api/v1/moter/{meeting_id}",
        json={"fjernet": {"komite": True}},
        headers=users.auth("koordinator"),
    )
    assert resp.status_code == 200 and resp.json["fjernet"] == ["komite"]
    assert client.get("/api/v1/moter", headers=users.auth("komite")).json["moter"] == []
    assert client.get("/api/v1/moter/77", headers=users.auth("koordinator")).status_code == 404


def test_a_second_meeting_at_the_same_time_is_409_meeting_exists(
    client: FlaskClient, users: Users
) -> None:
    auth = users.auth("koordinator")
    body = {"dato": "2026-12-10", "tid": "09:00"}
    assert client.post("/api/v1/moter", json=body, headers=auth).status_code == 201
    resp = client.post("/api/v1/moter", json=body, headers=auth)
    assert resp.status_code == 409 and resp.json["error"]["code"] == "MEETING_EXISTS"
    assert "10.12.2026" in resp.json["error"]["message"]


def test_bad_meeting_input_is_422_never_500(client: FlaskClient, users: Users) -> None:
    auth = users.auth("koordinator")
    for body in (
        {"dato": "10.12.2026", "tid": "09:00"},
        {"dato": "2026-12-10", "tid": "9"},
        {"dato": "2026-12-10", "tid": "09:00", "saksgrense": 0},
        {"dato": "2026-12-10", "tid": "09:00", "saksgrense": "8"},
        {"dato": 20261210},
    ):
        resp = client.post("/api/v1/moter", json=body, headers=auth)
        assert resp.status_code == 422, body
        assert resp.json["error"]["message"]
    assert client.post("/api/v1/moter", data="x", headers=auth).status_code == 422
    resp = client.post("/api/v1/saker/X/vedtak", json={"kriterier": "nei"}, headers=auth)
    assert resp.status_code == 422


def test_members_are_managed_through_the_api(client: FlaskClient, users: Users) -> None:
    auth = users.auth("koordinator")
    resp = client.post(
        "/api/v1/komite/komite",
        json={"fagdirektor": True, "aktiv_fra": "2026-01-01", "aktiv_til": None},
        headers=auth,
    )
    assert resp.status_code == 200 and resp.json["fagdirektor"] is True
    [member] = client.get("/api/v1/komite", headers=auth).json["medlemmer"]
    assert member["aktiv_fra"] == "2026-01-01" and member["helseforetak"] == "SIHF"
    assert client.get("/api/v1/komite", headers=users.auth("komite")).status_code == 403
    resp = client.post("/api/v1/komite/hf-ous", json={"fagdirektor": True}, headers=auth)
    assert resp.status_code == 404


def test_decision_endpoints_check_role_and_state(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    add_members(app)
    placed_case(app, client, users)
    body = {
        "utfall": "avslatt",
        "kriterier": {
            "okt_nytte": {"oppfylt": False, "begrunnelse": "Ikke dokumentert."},
            "hoyere_alvorlighet": {"oppfylt": False},
            "sarskilte_medisinske_arsaker": {"oppfylt": False},
        },
        "begrunnelse": "Ingen av kriteriene er oppfylt.",
        "deltakere": list(MEMBERS),
        "foreslar_gruppevurdering": True,
        "gruppevurdering_tekst": "",
    }
    path = f"/api/v1/saker/{REFERENCE}/vedtak"
    assert client.post(path, json=body, headers=users.auth("hf-ous")).status_code == 403
    resp = client.post(path, json=body, headers=users.auth("koordinator"))
    assert resp.status_code == 422 and resp.json["error"]["code"] == "INVALID_DECISION"
    assert "gruppenivå" in resp.json["error"]["message"]
    body["gruppevurdering_tekst"] = "Metoden bør vurderes for en bredere gruppe."
    resp = client.post(path, json=body, headers=users.auth("koordinator"))
    assert resp.status_code == 201, resp.json
    resp = client.get(path, headers=users.auth("hf-ous"))
    assert resp.status_code == 200 and resp.json["utfall_navn"] == "Avslått"
    assert client.get(path, headers=users.auth("hf-ahus")).status_code == 404
    resp = client.post(
        f"/api/v1/saker/{REFERENCE}/hast",
        json={"hast": True, "begrunnelse": "x"},
        headers=users.auth("koordinator"),
    )
    assert resp.status_code == 409
    assert client.get(f"{path}.txt", headers=users.auth("hf-ous")).status_code == 404


def test_openapi_describes_the_committee_endpoints(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    for path in (
        "/moter",
        "/moter/{id}/planlegg",
        "/moter/{id}/pakke.zip",
        "/saker/{id}/vedtak",
        "/saker/{id}/vedtak.pdf",
        "/saker/{id}/vedtak.docx",
    ):
        assert path in paths, path


# ---- pages --------------------------------------------------------------------------------------


def test_the_coordinator_creates_a_meeting_from_the_suggested_dates(
    client: FlaskClient,
) -> None:
    login(client, "koordinator")
    page = client.get("/moter")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("<h1") == 1
    # every second Thursday (the default weekday), from the first with time for the papers
    assert "torsdag 26.11.2026" in html and "torsdag 10.12.2026" in html
    assert 'for="dato"' in html and 'for="tid"' in html
    resp = client.post(
        "/moter",
        data={
            "dato": "2026-12-10",
            "tid": "09:00",
            "saksgrense": "8",
            "csrf_token": csrf_token(html),
        },
    )
    assert resp.status_code == 303
    planner = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Møte torsdag 10.12.2026 kl. 09:00" in planner
    assert "Saker klare for vurdering" in planner
    resp = client.post("/moter", data={"dato": "2026-12-10", "tid": "09:00"})
    assert resp.status_code == 400  # no CSRF token


def test_the_planner_page_shows_eligible_decision_makers_and_places_cases(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    add_members(app)
    assert upload(client, users.auth("hf-ous"), del2()).status_code == 201
    transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, st(app).uow())
    price_check(PRISKONTROLL, REFERENCE, 62500, None, st(app).uow())
    meeting_id = committee.create_meeting(
        KOORDINATOR, st(app).uow(), date(2026, 12, 10), time(9), st(app).today()
    )
    login(client, "koordinator")
    html = client.get(f"/moter/{meeting_id}").get_data(as_text=True)
    assert REFERENCE in html and "4 av minst 4" in html
    resp = client.post(f"/moter/{meeting_id}/planlegg", data={"csrf_token": csrf_token(html)})
    assert resp.status_code == 200
    assert f"Satt opp: {REFERENCE}" in resp.get_data(as_text=True)


def test_members_page_adds_a_member(client: FlaskClient) -> None:
    login(client, "koordinator")
    html = client.get("/komite").get_data(as_text=True)
    assert html.count("<h1") == 1 and "komite" in html
    resp = client.post(
        "/komite",
        data={
            "brukernavn": "k-ny",
            "navn": "Kari Ny",
            "hf": "UNN",
            "beslutningstaker": "ja",
            "fagdirektor": "ja",
            "vara_for": "komite",
            "aktiv_fra": "2026-01-01",
            "csrf_token": csrf_token(html),
        },
    )
    assert resp.status_code == 303
    html = client.get("/komite").get_data(as_text=True)
    assert "Kari Ny" in html and "vara for komite" in html


def test_a_member_downloads_the_packet_from_the_meetings_page(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    add_members(app, password=PASSWORD)
    meeting_id = placed_case(app, client, users)
    login(client, "k-ahus")
    html = client.get("/moter").get_data(as_text=True)
    link = re.search(r'href="(/moter/\d+/pakke\.zip)"', html)
    assert link and link.group(1) == f"/moter/{meeting_id}/pakke.zip"
    resp = client.get(link.group(1))
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert client.get(f"/moter/{meeting_id}").status_code == 403


def test_the_hf_case_page_shows_the_decision_with_links(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    add_members(app)
    placed_case(app, client, users)
    login(client, "koordinator")
    html = client.get(f"/saker/{REFERENCE}").get_data(as_text=True)
    assert f"/saker/{REFERENCE}/vedtak" in html
    form = client.get(f"/saker/{REFERENCE}/vedtak").get_data(as_text=True)
    assert form.count("<h1") == 1 and 'for="begrunnelse"' in form
    data = {
        "utfall": "innvilget",
        "okt_nytte_oppfylt": "ja",
        "okt_nytte_begrunnelse": "Tydelig nytte.",
        "begrunnelse": "Vilkårene er oppfylt.",
        "deltakere": list(MEMBERS),
        "csrf_token": csrf_token(form),
    }
    resp = client.post(f"/saker/{REFERENCE}/vedtak", data=data)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/saker/{REFERENCE}")
    client.post("/logg-ut", data={"csrf_token": csrf_token(html)})
    login(client, "hf-ous")
    html = client.get(f"/saker/{REFERENCE}").get_data(as_text=True)
    assert "Vedtak: Innvilget" in html
    assert f"/saker/{REFERENCE}/vedtak.pdf" in html and f"/saker/{REFERENCE}/vedtak.docx" in html
    resp = client.get(f"/saker/{REFERENCE}/vedtak.pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
