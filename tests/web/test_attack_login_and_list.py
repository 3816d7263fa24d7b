"""Attack pass over the login and the case list (after single sign-on was added).

- A password login writes the audit event `innlogging` (method `passord`), as a single sign-on
  login writes it with method `oidc` (CONNECTIONS.md section 1); a refused one writes none.
- The session is fresh after a login: the CSRF token of the anonymous session is refused after it.
- `neste` is followed only to a local path: a backslash (`/\\host` is `//host` to a browser) or a
  control character never reaches the `Location` as such.
- `/saker?side=` with a number no database takes is not a 500.
- The case search (`sok`) takes `%`, `_` and `\\` as letters, and a very long or NUL-holding text
  calmly (it is never logged nor stored: no log line reads the query string).
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import PASSWORD, Users, csrf_token, del2, login, st, upload


def _logins(app: Flask) -> list[tuple[str, dict | None]]:
    uow = st(app).uow()
    with uow:
        return [(e.actor, e.details) for e in uow.audit.list() if e.action == "innlogging"]


def test_a_password_login_writes_innlogging_with_method_passord(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
    refused = client.post(
        "/logg-inn", data={"brukernavn": "hf-ous", "passord": "feil-passord", "csrf_token": token}
    )
    assert refused.status_code == 401
    assert _logins(app) == []
    login(client, "hf-ous")
    assert _logins(app) == [("hf-ous", {"method": "passord"})]


def test_the_session_is_fresh_after_a_login(app: Flask) -> None:
    client = app.test_client()
    before = csrf_token(client.get("/logg-inn").get_data(as_text=True))
    resp = client.post(
        "/logg-inn", data={"brukernavn": "hf-ous", "passord": PASSWORD, "csrf_token": before}
    )
    assert resp.status_code == 303
    after = csrf_token(client.get("/saker").get_data(as_text=True))
    assert after != before
    # a token planted before the login (login CSRF, fixation) is worth nothing after it
    assert client.post("/logg-ut", data={"csrf_token": before}).status_code == 400
    assert client.get("/saker").status_code == 200


def test_neste_never_leaves_the_site(client: FlaskClient) -> None:
    for neste in ("/\\angriper.example/", "/\t/angriper.example/", "/\\/angriper.example"):
        token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
        resp = client.post(
            "/logg-inn",
            data={"brukernavn": "hf-ous", "passord": PASSWORD, "csrf_token": token, "neste": neste},
        )
        assert resp.status_code == 303
        location = resp.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), location
        assert "\\" not in location and "\t" not in location, location
        client.post("/logg-ut", data={"csrf_token": csrf_token(client.get("/saker").text)})


def test_a_page_number_beyond_any_database_is_not_a_500(app: Flask, users: Users) -> None:
    client = app.test_client()
    login(client, "koordinator")
    for side in ("100000000000000000000", "-100000000000000000000", "9" * 4000, "x"):
        resp = client.get(f"/saker?side={side}")
        assert resp.status_code == 200, (side[:30], resp.status_code)


def test_the_case_search_takes_wildcards_literally_and_odd_input_calmly(
    app: Flask, users: Users
) -> None:
    resp = upload(app.test_client(), users.auth("hf-ous"), del2())
    assert resp.status_code == 201
    case_id = resp.get_json()["sak"]
    api = app.test_client()

    def found(sok: str) -> list[str]:
        resp = api.get(
            "/api/v1/saker", query_string={"sok": sok}, headers=users.auth("koordinator")
        )
        assert resp.status_code == 200, resp.get_json()
        return [s["sak"] for s in resp.get_json()["saker"]]

    assert found(case_id.lower()[-8:]) == [case_id]
    for wildcard in ("%", "_", "%OUS%", "2026_09", "\\"):
        assert found(wildcard) == [], wildcard
    assert found("x" * 5000) == []
    client = app.test_client()
    login(client, "koordinator")
    assert client.get("/saker", query_string={"sok": "a\x00b"}).status_code == 422
    assert client.get("/saker", query_string={"sok": "%"}).status_code == 200
