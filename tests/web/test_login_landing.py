"""After login each person lands on the page of their role (pages.py `index`).

The coordinator gets the inbox, an HF its cases, the price check its queue; a committee member
who holds no other role the meetings (`/moter`), a peer reviewer the assigned reviews
(`/fagfelle`).
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import PASSWORD, add_users, login

LANDING_USERS = {
    "komite-eneste": {"roles": ["komite"], "hf": "HBE", "password": PASSWORD},
    "fagfelle-eneste": {"roles": ["fagfelle"], "hf": "UNN", "password": PASSWORD},
    "drift": {"roles": ["admin"], "password": PASSWORD},
}


@pytest.fixture
def landing(app: Flask) -> Flask:
    add_users(app, LANDING_USERS)
    return app


@pytest.mark.parametrize(
    ("username", "page"),
    [
        ("koordinator", "/innboks"),
        ("hf-ous", "/saker"),
        ("priskontroll", "/priskontroll"),
        ("komite-eneste", "/moter"),
        ("fagfelle-eneste", "/fagfelle"),
    ],
)
def test_after_login_each_role_lands_on_its_own_page(
    landing: Flask, client: FlaskClient, username: str, page: str
) -> None:
    login(client, username)
    resp = client.get("/")
    assert resp.status_code == 302
    assert resp.headers["Location"] == page
    assert client.get(page).status_code == 200


def test_the_login_form_leads_a_committee_member_to_the_meetings(
    landing: Flask, client: FlaskClient
) -> None:
    login(client, "komite-eneste")
    resp = client.get("/", follow_redirects=True)
    assert resp.status_code == 200 and resp.request.path == "/moter"


def test_the_operator_gets_the_home_page(landing: Flask, client: FlaskClient) -> None:
    login(client, "drift")
    resp = client.get("/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"


def test_without_a_session_the_start_page_is_the_login_form(client: FlaskClient) -> None:
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/logg-inn")
