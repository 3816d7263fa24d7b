"""Issue 11, finding 4: a peer reviewer raises a declaration of interests, never lowers it.

Over HTTP (the API with bearer tokens, the reviewer's page with a session): a yellow declaration
re-declared green is refused with 403 FORBIDDEN and a Norwegian message, and the packet stays
refused; the coordinator lowers it (API and page), after which the packet is served.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.users import add_user, create_token
from tests.fillers import fill_json, sample_values
from tests.web.conftest import PASSWORD, Users, csrf_token, login, st

API = "/api/v1"


@pytest.fixture
def mmv(app: Flask, users: Users) -> tuple[str, Users]:
    """A mini-HTA of OUS with ff-hbe assigned and a yellow declaration."""
    uow = st(app).uow
    add_user(
        uow(), "ff-hbe", roles=["fagfelle"], hf="HBE", fagomrader=["Gastrokirurgi"],
        password=PASSWORD,
    )  # fmt: skip
    tokens = dict(users.tokens, **{"ff-hbe": create_token(uow(), "ff-hbe")})
    all_users = Users(tokens)
    client = app.test_client()
    resp = client.post(
        f"{API}/innsendinger",
        data={"fil": (io.BytesIO(fill_json("minihta", sample_values("minihta"))), "m.json")},
        headers=all_users.auth("hf-ous"),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
    sak = resp.get_json()["sak"]
    resp = client.post(
        f"{API}/saker/{sak}/fagfelle", json={"fagfelle": "ff-hbe"}, headers=all_users.auth("koordinator")
    )  # fmt: skip
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(
        f"{API}/saker/{sak}/habilitet",
        json={"niva": "gul", "beskrivelse": "Foredrag for produsenten i 2024"},
        headers=all_users.auth("ff-hbe"),
    )
    assert resp.status_code == 200 and resp.get_json()["niva"] == "gul"
    return sak, all_users


def _level(client: FlaskClient, sak: str, users: Users) -> dict[str, Any]:
    resp = client.get(f"{API}/saker/{sak}/fagfelle", headers=users.auth("koordinator"))
    [active] = [t for t in resp.get_json()["tildelinger"] if t["aktiv"]]
    return active


def test_the_api_refuses_lowering_by_the_reviewer_and_the_packet_stays_refused(
    app: Flask, mmv: tuple[str, Users]
) -> None:
    sak, users = mmv
    client = app.test_client()
    resp = client.post(
        f"{API}/saker/{sak}/habilitet", json={"niva": "gronn"}, headers=users.auth("ff-hbe")
    )
    assert resp.status_code == 403
    error = resp.get_json()["error"]
    assert error["code"] == "FORBIDDEN"
    assert "kan ikke senke" in error["message"] and "koordinatoren" in error["message"]
    assert _level(client, sak, users)["habilitet"] == "gul"
    packet = client.get(f"{API}/saker/{sak}/fagfellepakke.zip", headers=users.auth("ff-hbe"))
    assert packet.status_code == 403
    # raising is allowed
    resp = client.post(
        f"{API}/saker/{sak}/habilitet",
        json={"niva": "rod", "beskrivelse": "Ansatt hos produsenten"},
        headers=users.auth("ff-hbe"),
    )
    assert resp.status_code == 200 and resp.get_json()["aktiv"] is False


def test_the_page_refuses_lowering_by_the_reviewer(app: Flask, mmv: tuple[str, Users]) -> None:
    sak, users = mmv
    client = app.test_client()
    login(client, "ff-hbe")
    token = csrf_token(client.get("/fagfelle").get_data(as_text=True))
    resp = client.post(
        f"/fagfelle/{sak}/habilitet",
        data={"niva": "gronn", "csrf_token": token},
        follow_redirects=True,
    )
    html = resp.get_data(as_text=True)
    assert "kan ikke senke" in html and "Habiliteten er registrert" not in html
    assert _level(client, sak, users)["habilitet"] == "gul"
    assert client.get(f"/fagfelle/{sak}/pakke.zip").status_code == 403


def test_the_coordinator_lowers_over_the_api_and_then_the_packet_is_served(
    app: Flask, mmv: tuple[str, Users]
) -> None:
    sak, users = mmv
    client = app.test_client()
    path = f"{API}/saker/{sak}/habilitet/senk"
    resp = client.post(
        path, json={"niva": "gronn", "begrunnelse": "x"}, headers=users.auth("ff-hbe")
    )
    assert resp.status_code == 403
    resp = client.post(path, json={"niva": "gronn"}, headers=users.auth("koordinator"))
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "REASON_REQUIRED"
    resp = client.post(
        path,
        json={"niva": "gronn", "begrunnelse": "Foredraget var en åpen fagdag."},
        headers=users.auth("koordinator"),
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"sak": sak, "fagfelle": "ff-hbe", "niva": "gronn"}
    packet = client.get(f"{API}/saker/{sak}/fagfellepakke.zip", headers=users.auth("ff-hbe"))
    assert packet.status_code == 200 and packet.data[:2] == b"PK"


def test_the_coordinator_lowers_on_the_page(app: Flask, mmv: tuple[str, Users]) -> None:
    sak, users = mmv
    client = app.test_client()
    login(client, "koordinator")
    page = client.get(f"/minihta/{sak}/fagfelle").get_data(as_text=True)
    assert "Senk til grønn" in page
    resp = client.post(
        f"/minihta/{sak}/habilitet/senk",
        data={"niva": "gronn", "begrunnelse": "Åpen fagdag.", "csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    assert "er senket til «Grønn»" in resp.get_data(as_text=True)
    assert _level(client, sak, users)["habilitet"] == "gronn"
