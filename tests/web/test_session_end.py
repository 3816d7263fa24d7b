"""Issue 11, finding 6: logging out, a password change and deactivation end the user's sessions.

The session cookie is signed, not stored: a copy taken before the logout would stay valid for
its lifetime unless the server refuses it. Each test captures the cookie of a real login, ends
the session one of the three ways, and replays the captured cookie in a fresh client.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from services.users import deactivate_user, set_password
from tests.web.conftest import PASSWORD, Users, csrf_token, login, st

COOKIE = "skjemamottak"
PAGE = "/saker"  # any page behind the login


def _logged_in(app: Flask, username: str = "hf-ous") -> tuple[FlaskClient, str]:
    client = app.test_client()
    login(client, username)
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    assert client.get(PAGE).status_code == 200
    return client, cookie.value


def _replay(app: Flask, cookie: str) -> int:
    """The status of a page request with nothing but the captured cookie."""
    fresh = app.test_client()
    fresh.set_cookie(COOKIE, cookie)
    resp = fresh.get(PAGE)
    if resp.status_code in (302, 303):
        assert "/logg-inn" in resp.headers["Location"]
    return resp.status_code


def _log_out(client: FlaskClient) -> None:
    token = csrf_token(client.get(PAGE).get_data(as_text=True))
    assert client.post("/logg-ut", data={"csrf_token": token}).status_code == 303


def test_a_cookie_captured_before_logout_is_refused_after_it(app: Flask) -> None:
    client, cookie = _logged_in(app)
    assert _replay(app, cookie) == 200  # the copy works while the session lives
    _log_out(client)
    assert _replay(app, cookie) == 302
    # logging in again gives a new session that works
    _, again = _logged_in(app)
    assert _replay(app, again) == 200 and _replay(app, cookie) == 302


def test_logging_out_ends_the_sessions_on_every_device(app: Flask) -> None:
    laptop, laptop_cookie = _logged_in(app)
    _, phone_cookie = _logged_in(app)
    _log_out(laptop)
    assert _replay(app, phone_cookie) == 302
    assert _replay(app, laptop_cookie) == 302


def test_a_password_change_ends_the_sessions(app: Flask) -> None:
    _, cookie = _logged_in(app)
    other_user_client, other_cookie = _logged_in(app, "koordinator")
    set_password(st(app).uow(), "hf-ous", "nytt-langt-passord")
    assert _replay(app, cookie) == 302
    assert _replay(app, other_cookie) == 200  # another user's session is untouched
    client = app.test_client()
    login(client, "hf-ous", "nytt-langt-passord")
    assert client.get(PAGE).status_code == 200


def test_deactivation_ends_the_sessions_and_refuses_the_tokens(app: Flask, users: Users) -> None:
    _, cookie = _logged_in(app)
    api = app.test_client()
    assert api.get("/api/v1/saker", headers=users.auth("hf-ous")).status_code == 200
    deactivate_user(st(app).uow(), "hf-ous")
    assert _replay(app, cookie) == 302
    resp = api.get("/api/v1/saker", headers=users.auth("hf-ous"))
    assert resp.status_code == 401
    # and the password no longer logs in
    client = app.test_client()
    token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
    resp = client.post(
        "/logg-inn", data={"brukernavn": "hf-ous", "passord": PASSWORD, "csrf_token": token}
    )
    assert resp.status_code == 401


def test_a_short_password_is_refused(app: Flask) -> None:
    import pytest

    from processor.errors import DomainError

    with pytest.raises(DomainError) as e:
        set_password(st(app).uow(), "hf-ous", "kort")
    assert e.value.code == "INVALID_VALUE"
    _, cookie = _logged_in(app)  # the old password still works
    assert _replay(app, cookie) == 200
