"""CONNECTIONS.md section 1, the statements `test_oidc.py` leaves open, against the same real
OpenID provider: an `iss` in the answer that is not the issuer, a token endpoint that does not
answer at the callback, logging out of a single sign-on login when the provider has no
`end_session_endpoint`, the metadata fetched once, `SKJEMAMOTTAK_OIDC_SCOPES`, and
`SKJEMAMOTTAK_LOCAL_LOGIN=0` (tokens unaffected; without OIDC `serve` exits 2)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from processor import codes
from services import users
from tests.web.conftest import csrf_token, make_app, st
from tests.web.oidc_provider import (
    KNOWN_SUB,
    SECRET,
    Provider,
    at_provider,
    callback,
    config_for,
    free_port,
    local_login_off,
    logged_in,
    oidc_app,
    provider,
    start_login,
    to_app,
)
from web.oidc_config import OidcConfig

__all__ = ["provider"]  # the fixture


def _with_query(path: str, **changes: str) -> str:
    parts = urlsplit(path)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.path}?{urlencode(query)}"


def test_an_iss_that_is_not_the_issuer_is_400(provider: Provider, tmp_path: Path) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    client = app.test_client()
    back = to_app(at_provider(start_login(client), KNOWN_SUB))
    sent = parse_qs(urlsplit(back).query).get("iss")
    assert sent in (None, [provider.issuer])  # the provider's own iss (if sent) is the issuer
    resp = client.get(_with_query(back, iss="https://angriper.example"))
    assert resp.status_code == 400
    assert "OIDC_FAILED" in resp.get_data(as_text=True)
    assert not logged_in(client)
    # the same answer with the right iss goes through
    back = to_app(at_provider(start_login(client), KNOWN_SUB))
    assert client.get(_with_query(back, iss=provider.issuer)).status_code == 303
    assert logged_in(client)


def test_a_token_endpoint_that_does_not_answer_is_503(provider: Provider, tmp_path: Path) -> None:
    app = oidc_app(tmp_path, config_for(provider, "private_key_jwt"))
    client = app.test_client()
    back = to_app(at_provider(start_login(client), KNOWN_SUB))
    rp = app.extensions["oidc"]
    metadata = rp.cached_metadata()
    assert metadata is not None
    rp._metadata = {**metadata, "token_endpoint": f"http://127.0.0.1:{free_port()}/token"}
    resp = client.get(back)
    assert resp.status_code == 503
    assert codes.message("OIDC_UNAVAILABLE") in resp.get_data(as_text=True)
    assert not logged_in(client)


def test_without_end_session_endpoint_a_single_sign_on_logout_goes_to_logg_inn(
    provider: Provider, tmp_path: Path
) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    client = app.test_client()
    assert callback(client).status_code == 303
    rp = app.extensions["oidc"]
    metadata = dict(rp.cached_metadata())
    assert metadata.pop("end_session_endpoint")  # the real provider has one: take it away
    rp._metadata = metadata
    token = csrf_token(client.get("/saker").get_data(as_text=True))
    resp = client.post("/logg-ut", data={"csrf_token": token})
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/logg-inn"
    assert not logged_in(client)


def test_the_metadata_is_fetched_at_first_use_and_kept(
    provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    rp = app.extensions["oidc"]
    assert rp.cached_metadata() is None  # nothing fetched when the app was made
    fetched: list[str] = []
    real = rp._get_json

    def counting(url: str) -> dict[str, Any]:
        fetched.append(url)
        return real(url)

    monkeypatch.setattr(rp, "_get_json", counting)
    for _ in range(2):
        assert callback(app.test_client()).status_code == 303
    discovery = f"{provider.issuer}/.well-known/openid-configuration"
    assert fetched.count(discovery) == 1
    assert rp.cached_metadata()["issuer"] == provider.issuer


def test_the_scopes_setting_is_what_the_provider_is_asked_for(
    provider: Provider, tmp_path: Path
) -> None:
    config = config_for(provider, "client_secret_basic", SKJEMAMOTTAK_OIDC_SCOPES="openid  email")
    app = oidc_app(tmp_path, config)
    query = parse_qs(urlsplit(start_login(app.test_client())).query)
    assert query["scope"] == ["openid email"]


def test_local_login_off_leaves_api_tokens_working(tmp_path: Path) -> None:
    config = local_login_off()
    app = make_app(tmp_path / "instance", OIDC=config)
    users.add_user(st(app).uow(), "ola", roles=["hf"], hf="OUS", password="et-langt-passord")
    token = users.create_token(st(app).uow(), "ola")
    client = app.test_client()
    assert client.get("/api/v1/saker").status_code == 401
    resp = client.get("/api/v1/saker", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200


def test_serve_exits_2_with_local_login_off_and_no_oidc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from web.cli import main

    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("SKJEMAMOTTAK_OIDC_ISSUER", raising=False)
    monkeypatch.setenv("SKJEMAMOTTAK_LOCAL_LOGIN", "0")
    assert main(["serve"]) == 2
    assert "SKJEMAMOTTAK_OIDC_ISSUER" in capsys.readouterr().err


def test_the_login_page_links_to_the_single_sign_on_start(
    provider: Provider, tmp_path: Path
) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    page = app.test_client().get("/logg-inn").get_data(as_text=True)
    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*>Logg inn med HelseID</a>', page)
    assert link is not None and link.group(1) == "/logg-inn/oidc"
    page = app.test_client().get("/logg-inn?neste=/saker").get_data(as_text=True)
    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*>Logg inn med HelseID</a>', page)
    assert link is not None and link.group(1).startswith("/logg-inn/oidc?neste=")


def test_a_successful_login_logs_neither_the_code_nor_the_tokens(
    provider: Provider, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = oidc_app(tmp_path, config_for(provider, "private_key_jwt"))
    client = app.test_client()
    back = to_app(at_provider(start_login(client), KNOWN_SUB))
    code = parse_qs(urlsplit(back).query)["code"][0]
    with caplog.at_level(logging.DEBUG):
        assert client.get(back).status_code == 303
        token = csrf_token(client.get("/saker").get_data(as_text=True))
        logout = client.post("/logg-ut", data={"csrf_token": token})
    id_token = parse_qs(urlsplit(logout.headers["Location"]).query)["id_token_hint"][0]
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert code not in logged
    for part in id_token.split("."):  # header, claims, signature: none of them
        assert part not in logged


def test_metadata_naming_another_issuer_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "metadata from ISSUER/.well-known/openid-configuration (same `issuer`)": a document
    that names another issuer is not used; the browser is not sent to its endpoints."""
    issuer = "https://idp.example"
    config = OidcConfig.from_environ(
        {
            "SKJEMAMOTTAK_OIDC_ISSUER": issuer,
            "SKJEMAMOTTAK_OIDC_CLIENT_ID": "skjemamottak",
            "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": SECRET,
        }
    )
    app = make_app(tmp_path / "instance", OIDC=config)
    foreign = {
        "issuer": "https://angriper.example",
        "authorization_endpoint": "https://angriper.example/auth",
        "token_endpoint": "https://angriper.example/token",
        "jwks_uri": "https://angriper.example/jwks",
    }
    rp = app.extensions["oidc"]
    monkeypatch.setattr(rp, "_get_json", lambda url: foreign)
    resp = app.test_client().get("/logg-inn/oidc")
    assert resp.status_code == 503
    assert "angriper" not in resp.headers.get("Location", "")
    assert rp.cached_metadata() is None


def test_local_login_off_refuses_a_password_post_with_403_before_the_csrf_check(
    tmp_path: Path,
) -> None:
    """`SKJEMAMOTTAK_LOCAL_LOGIN=0`: `POST /logg-inn` → 403 LOCAL_LOGIN_DISABLED with CSRF on, as
    the app runs (the page has no form, so a client has no token to send)."""
    config = local_login_off()
    app = make_app(tmp_path / "instance", OIDC=config)
    assert app.config.get("WTF_CSRF_ENABLED", True)
    users.add_user(st(app).uow(), "ola", roles=["hf"], hf="OUS", password="et-langt-passord")
    client = app.test_client()
    client.get("/logg-inn")
    for body in ({"brukernavn": "ola", "passord": "et-langt-passord"}, {}):
        resp = client.post("/logg-inn", data=body)
        assert resp.status_code == 403
        assert "LOCAL_LOGIN_DISABLED" in resp.get_data(as_text=True)
        assert not logged_in(client)
    # with local login on, the CSRF check still guards the form
    on = make_app(tmp_path / "on", OIDC=OidcConfig())
    resp = on.test_client().post("/logg-inn", data={"brukernavn": "ola", "passord": "x"})
    assert resp.status_code == 400


def test_user_set_with_an_empty_value_removes_the_address_and_the_sub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.cli import main
    from web.runtime import open_storage
    from web.settings import Settings

    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("SKJEMAMOTTAK_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    add = ["user", "add", "ola", "--role", "hf", "--hf", "OUS"]
    assert main([*add, "--epost", "ola@example.no", "--oidc-sub", "s1"]) == 0
    assert main(["user", "set", "ola", "--epost", "", "--oidc-sub", ""]) == 0
    storage = open_storage(Settings.from_environment())
    with storage.uow() as uow:
        ola = uow.users.get("ola")
        assert ola is not None and (ola.epost, ola.oidc_sub) == (None, None)
        assert uow.users.by_oidc_sub("s1") is None
    storage.engine.dispose()


def test_a_pem_private_key_logs_in_against_the_provider(provider: Provider, tmp_path: Path) -> None:
    """`SKJEMAMOTTAK_OIDC_PRIVATE_KEY`: "JWK (`kid` used) or PEM": the same client key as a PEM
    file (no `kid`) authenticates at the real provider too."""
    import json

    from joserfc.jwk import RSAKey

    key = RSAKey.import_key(json.loads(provider.jwk_file.read_text("utf-8")))
    pem = tmp_path / "klient.pem"
    pem.write_bytes(key.as_pem(private=True))
    config = OidcConfig.from_environ(
        {
            "SKJEMAMOTTAK_OIDC_ISSUER": provider.issuer,
            "SKJEMAMOTTAK_OIDC_CLIENT_ID": "skjemamottak-jwt",
            "SKJEMAMOTTAK_OIDC_PRIVATE_KEY": str(pem),
            "SKJEMAMOTTAK_PUBLIC_URL": "http://127.0.0.1:5000",
        }
    )
    assert config.private_key is not None and config.private_key.kid is None
    app = oidc_app(tmp_path, config)
    client = app.test_client()
    assert callback(client).status_code == 303
    assert logged_in(client)
