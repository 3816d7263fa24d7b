"""Attack pass over single sign-on, against the real provider of `test_oidc.py`.

- A callback replayed with the session cookie from before it (the pending state is in the signed
  cookie, so the server cannot forget it) is refused: the code is spent at the provider.
- A code obtained in one browser and delivered to another browser's callback with that browser's
  own state is refused (PKCE: the other browser's verifier does not match).
- The provider's `error_description` is neither shown nor logged; the page holds the catalogue's
  message only.
- A password login after a single sign-on login replaces it: logging out then stays local.
- Failed single sign-on attempts (start and callback) are throttled per address.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from processor import codes
from services import users
from tests.web.conftest import csrf_token, make_app, st
from tests.web.oidc_provider import (
    KNOWN_SUB,
    Provider,
    at_provider,
    config_for,
    logged_in,
    oidc_app,
    provider,
    provider_down,
    start_login,
    to_app,
)
from web.limits import LOGIN_PER_ADDRESS

__all__ = ["provider"]  # the fixture

COOKIE = "skjemamottak"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_replayed_callback_is_refused(provider: Provider, tmp_path: Path) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    client = app.test_client()
    back = to_app(at_provider(start_login(client), KNOWN_SUB))
    before = client.get_cookie(COOKIE)
    assert before is not None
    assert client.get(back).status_code == 303
    client.post("/logg-ut", data={"csrf_token": csrf_token(client.get("/saker").text)})
    assert not logged_in(client)

    client.set_cookie(COOKIE, before.value)  # the pending login, state and all
    resp = client.get(back)
    assert resp.status_code == 400
    assert codes.message("OIDC_FAILED") in resp.get_data(as_text=True)
    assert not logged_in(client)


def test_a_code_from_another_browser_is_refused(provider: Provider, tmp_path: Path) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    attacker, victim = app.test_client(), app.test_client()
    code = _query(at_provider(start_login(attacker), KNOWN_SUB).headers["Location"])["code"]
    state = _query(start_login(victim))["state"]
    resp = victim.get(
        "/logg-inn/oidc/tilbake?"
        + urlencode({"code": code, "state": state, "iss": provider.issuer})
    )
    assert resp.status_code == 400
    assert not logged_in(victim)


def test_the_providers_error_description_is_neither_shown_nor_logged(
    provider: Provider, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    client = app.test_client()
    state = _query(start_login(client))["state"]
    said = "<script>alert(1)</script> hemmelig-kode-123"
    resp = client.get(
        "/logg-inn/oidc/tilbake?"
        + urlencode({"state": state, "error": "access_denied<b>", "error_description": said})
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "hemmelig-kode-123" not in page and "<script>alert" not in page
    assert "hemmelig-kode-123" not in caplog.text and "<b>" not in caplog.text
    assert "access_denied" in caplog.text  # the error code itself is kept, cleaned


def test_a_password_login_after_single_sign_on_logs_out_locally(
    provider: Provider, tmp_path: Path
) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    users.add_user(st(app).uow(), "kari", roles=["hf"], hf="OUS", password="et-langt-passord")
    client = app.test_client()
    assert client.get(to_app(at_provider(start_login(client), KNOWN_SUB))).status_code == 303
    token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
    resp = client.post(
        "/logg-inn",
        data={"brukernavn": "kari", "passord": "et-langt-passord", "csrf_token": token},
    )
    assert resp.status_code == 303
    resp = client.post("/logg-ut", data={"csrf_token": csrf_token(client.get("/saker").text)})
    assert resp.headers["Location"] == "/logg-inn"  # not the provider, no id_token_hint
    assert not logged_in(client)


def test_failed_single_sign_on_attempts_are_throttled_per_address(tmp_path: Path) -> None:
    """Each start while the provider is down waits for it (up to the request timeout), and each
    callback with a fresh state makes a token request with the app's client credentials: without a
    limit one address could tie up the workers or get the client blocked at the provider. Failed
    attempts count as failed password logins do; a successful one counts nothing."""
    config = provider_down()
    app = make_app(tmp_path / "instance", OIDC=config)
    client = app.test_client()
    per_minute = int(LOGIN_PER_ADDRESS.split()[0])
    elsewhere = {"REMOTE_ADDR": "127.0.0.10"}
    for path, status in (("/logg-inn/oidc", 503), ("/logg-inn/oidc/tilbake?state=x", 400)):
        answers = [
            client.get(path, environ_base={"REMOTE_ADDR": "127.0.0.9"}).status_code
            for _ in range(per_minute + 1)
        ]
        assert answers[:per_minute] == [status] * per_minute and answers[-1] == 429, answers
        assert client.get(path, environ_base=elsewhere).status_code == status
        elsewhere = {"REMOTE_ADDR": "127.0.0.11"}
