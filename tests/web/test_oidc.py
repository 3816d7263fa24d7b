"""Single sign-on (CONNECTIONS.md section 1) against a real OpenID provider on 127.0.0.1
(`tests/web/oidc_provider.py`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc.jwk import RSAKey

from processor import codes
from services import users
from tests.web.conftest import csrf_token, make_app, st
from tests.web.oidc_provider import (
    AFTER_LOGOUT,
    KNOWN_SUB,
    PUBLIC_URL,
    REDIRECT_URI,
    SECRET,
    Provider,
    at_provider,
    audit_events,
    callback,
    config_for,
    local_login_off,
    logged_in,
    oidc_app,
    provider,
    provider_down,
    start_login,
    to_app,
    user_names,
)

__all__ = ["provider"]  # the fixture
from web.oidc_config import OidcConfig, OidcConfigError

# ---- the flow against the real provider ---------------------------------------------------------


@pytest.mark.parametrize("method", ["private_key_jwt", "client_secret_basic"])
def test_both_client_authentications_end_in_a_logged_in_session(
    provider: Provider, tmp_path: Path, method: str
) -> None:
    app = oidc_app(tmp_path, config_for(provider, method))
    client = app.test_client()
    url = start_login(client, "/saker?side=1")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{provider.issuer}/auth?")
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [config_for(provider, method).client_id]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["code_challenge_method"] == ["S256"]
    assert set(query["scope"][0].split()) == {"openid", "profile"}
    for name in ("state", "nonce", "code_challenge"):
        assert len(query[name][0]) >= 43, name
    assert not logged_in(client)

    resp = client.get(to_app(at_provider(url, KNOWN_SUB)))
    assert resp.status_code == 303, resp.get_data(as_text=True)
    assert resp.headers["Location"] == "/saker?side=1"
    assert logged_in(client)
    assert audit_events(app, "innlogging") == [("ola", {"method": "oidc"})]


def test_an_unknown_sub_gets_403_and_nothing_is_created(provider: Provider, tmp_path: Path) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    client = app.test_client()
    before = user_names(app)
    resp = callback(client, sub="helseid-sub-ukjent")
    assert resp.status_code == 403
    page = resp.get_data(as_text=True)
    assert "OIDC_UNKNOWN_USER" in page and "sekretariatet for Nye metoder" in page
    assert client.get_cookie("skjemamottak") is None or not logged_in(client)
    assert user_names(app) == before
    assert audit_events(app, "innlogging") == []


def test_a_deactivated_user_gets_403(provider: Provider, tmp_path: Path) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    users.deactivate_user(st(app).uow(), "ola")
    client = app.test_client()
    assert callback(client).status_code == 403
    assert not logged_in(client)


def test_a_forged_or_used_state_is_400_oidc_failed(provider: Provider, tmp_path: Path) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    client = app.test_client()
    back = to_app(at_provider(start_login(client), KNOWN_SUB))
    forged = re.sub(r"state=[^&]+", "state=forfalsket", back)
    assert forged != back
    resp = client.get(forged)
    assert resp.status_code == 400
    assert "OIDC_FAILED" in resp.get_data(as_text=True)
    assert not logged_in(client)

    # a fresh login works; the same answer a second time is refused (the state was used)
    back = to_app(at_provider(start_login(client), KNOWN_SUB))
    assert client.get(back).status_code == 303
    assert client.get(back).status_code == 400
    other = app.test_client()
    assert other.get(back).status_code == 400  # another browser has no login under way
    assert not logged_in(other)


def test_an_error_from_the_provider_is_400(provider: Provider, tmp_path: Path) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    client = app.test_client()
    state = parse_qs(urlsplit(start_login(client)).query)["state"][0]
    resp = client.get(f"/logg-inn/oidc/tilbake?error=access_denied&state={state}")
    assert resp.status_code == 400
    assert not logged_in(client)


def test_a_wrong_client_secret_is_400_not_500(
    provider: Provider, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = OidcConfig.from_environ(
        {
            "SKJEMAMOTTAK_OIDC_ISSUER": provider.issuer,
            "SKJEMAMOTTAK_OIDC_CLIENT_ID": "skjemamottak-secret",
            "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": "feil-hemmelighet",
            "SKJEMAMOTTAK_PUBLIC_URL": PUBLIC_URL,
        }
    )
    app = oidc_app(tmp_path, config)
    client = app.test_client()
    back = to_app(at_provider(start_login(client), KNOWN_SUB))
    code = parse_qs(urlsplit(back).query)["code"][0]
    with caplog.at_level(logging.DEBUG):
        resp = client.get(back)
    assert resp.status_code == 400
    assert "OIDC_FAILED" in resp.get_data(as_text=True)
    assert audit_events(app, "innlogging") == []
    assert "OIDC-innlogging avvist" in caplog.text  # the refusal is logged ...
    assert code not in caplog.text and "feil-hemmelighet" not in caplog.text  # ... not the secrets


@pytest.mark.parametrize(
    "neste", ["https://angriper.example/", "//angriper.example/x", "javascript:alert(1)"]
)
def test_neste_is_followed_only_for_local_paths(
    provider: Provider, tmp_path: Path, neste: str
) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    client = app.test_client()
    resp = callback(client, neste=neste)
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/"


def test_logout_ends_the_session_and_reaches_end_session(
    provider: Provider, tmp_path: Path
) -> None:
    app = oidc_app(tmp_path, config_for(provider, "private_key_jwt"))
    client = app.test_client()
    assert callback(client).status_code == 303
    token = csrf_token(client.get("/saker").get_data(as_text=True))
    resp = client.post("/logg-ut", data={"csrf_token": token})
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert location.startswith(f"{provider.issuer}/session/end?")
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == ["skjemamottak-jwt"]
    assert query["post_logout_redirect_uri"] == [AFTER_LOGOUT]
    assert query["id_token_hint"][0].count(".") == 2
    assert not logged_in(client)

    # the provider accepts the hint and the address, asks to confirm, then sends the browser back
    browser = requests.Session()
    page = browser.get(location, timeout=10)
    assert page.status_code == 200, page.text
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
    action = re.search(r'action="([^"]+)"', page.text)
    assert xsrf and action, page.text
    done = browser.post(
        requests.compat.urljoin(page.url, action.group(1)),
        data={"xsrf": xsrf.group(1), "logout": "yes"},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code in (302, 303)
    assert done.headers["Location"].startswith(AFTER_LOGOUT)


def test_a_password_login_logs_out_locally_only(provider: Provider, tmp_path: Path) -> None:
    app = oidc_app(tmp_path, config_for(provider, "client_secret_basic"))
    users.set_password(st(app).uow(), "ola", "et-langt-passord")
    client = app.test_client()
    token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
    resp = client.post(
        "/logg-inn", data={"brukernavn": "ola", "passord": "et-langt-passord", "csrf_token": token}
    )
    assert resp.status_code == 303
    token = csrf_token(client.get("/saker").get_data(as_text=True))
    resp = client.post("/logg-ut", data={"csrf_token": token})
    assert resp.headers["Location"] == "/logg-inn"


# ---- without the provider ------------------------------------------------------------------------


def test_the_service_starts_while_the_provider_is_down_and_answers_503(tmp_path: Path) -> None:
    config = provider_down()
    app = make_app(tmp_path / "instance", OIDC=config)
    client = app.test_client()
    page = client.get("/logg-inn")
    assert page.status_code == 200
    assert "Logg inn med HelseID" in page.get_data(as_text=True)
    resp = client.get("/logg-inn/oidc")
    assert resp.status_code == 503
    assert codes.message("OIDC_UNAVAILABLE") in resp.get_data(as_text=True)


def test_without_oidc_the_routes_are_absent_and_the_page_has_only_the_form(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path / "instance", OIDC=OidcConfig())
    client = app.test_client()
    assert client.get("/logg-inn/oidc").status_code == 404
    page = client.get("/logg-inn").get_data(as_text=True)
    assert "HelseID" not in page and 'name="passord"' in page


def test_local_login_off_removes_the_form_and_refuses_the_post(tmp_path: Path) -> None:
    config = local_login_off()
    app = make_app(tmp_path / "instance", OIDC=config)
    users.add_user(st(app).uow(), "ola", roles=["hf"], hf="OUS", password="et-langt-passord")
    client = app.test_client()
    page = client.get("/logg-inn").get_data(as_text=True)
    assert "Logg inn med HelseID" in page and 'name="passord"' not in page
    # without the form there is no CSRF token to send; the refusal is the view's own, not CSRF's
    app.config["WTF_CSRF_ENABLED"] = False
    resp = client.post("/logg-inn", data={"brukernavn": "ola", "passord": "et-langt-passord"})
    assert resp.status_code == 403
    assert "LOCAL_LOGIN_DISABLED" in resp.get_data(as_text=True)
    assert not logged_in(client)


# ---- settings --------------------------------------------------------------------------------------

BASE = {
    "SKJEMAMOTTAK_OIDC_ISSUER": "https://helseid-sts.nhn.no",
    "SKJEMAMOTTAK_OIDC_CLIENT_ID": "skjemamottak",
}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({**BASE, "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": "x", "SKJEMAMOTTAK_OIDC_PRIVATE_KEY": "k"}, "ikke begge"),
        (BASE, "SKJEMAMOTTAK_OIDC_CLIENT_SECRET"),
        ({**BASE, "SKJEMAMOTTAK_OIDC_ISSUER": "http://idp.example", "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": "x"}, "SKJEMAMOTTAK_OIDC_ISSUER"),
        ({"SKJEMAMOTTAK_OIDC_ISSUER": "https://idp.example", "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": "x"}, "SKJEMAMOTTAK_OIDC_CLIENT_ID"),
        ({"SKJEMAMOTTAK_LOCAL_LOGIN": "0"}, "SKJEMAMOTTAK_OIDC_ISSUER"),
        ({"SKJEMAMOTTAK_LOCAL_LOGIN": "kanskje"}, "SKJEMAMOTTAK_LOCAL_LOGIN"),
        ({**BASE, "SKJEMAMOTTAK_OIDC_PRIVATE_KEY": "/finnes/ikke.jwk"}, "SKJEMAMOTTAK_OIDC_PRIVATE_KEY"),
        ({**BASE, "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": "x", "SKJEMAMOTTAK_OIDC_SCOPES": "profile"}, "SKJEMAMOTTAK_OIDC_SCOPES"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(OidcConfigError, match=named):
        OidcConfig.from_environ(env)


def test_the_private_key_may_be_a_pem_file_and_never_shows_in_repr(tmp_path: Path) -> None:
    key = RSAKey.generate_key(2048)
    pem = tmp_path / "klient.pem"
    pem.write_bytes(key.as_pem(private=True))
    config = OidcConfig.from_environ({**BASE, "SKJEMAMOTTAK_OIDC_PRIVATE_KEY": str(pem)})
    assert config.auth_method == "private_key_jwt" and config.private_key_alg == "RS256"
    public = tmp_path / "offentlig.pem"
    public.write_bytes(key.as_pem(private=False))
    with pytest.raises(OidcConfigError, match="offentlig"):
        OidcConfig.from_environ({**BASE, "SKJEMAMOTTAK_OIDC_PRIVATE_KEY": str(public)})
    secret = OidcConfig.from_environ({**BASE, "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": SECRET})
    assert SECRET not in repr(secret)


def test_serve_exits_2_on_bad_oidc_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from web.cli import main

    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(tmp_path / "instance"))
    for name, value in {**BASE, "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": "x"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SKJEMAMOTTAK_OIDC_PRIVATE_KEY", str(tmp_path / "k.jwk"))
    assert main(["serve"]) == 2
    assert "ikke begge" in capsys.readouterr().err


# ---- users: e-mail and sub ---------------------------------------------------------------------------


def test_user_add_and_set_keep_a_sub_to_one_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from web.cli import main

    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("SKJEMAMOTTAK_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    args = ["--role", "hf", "--hf", "OUS"]
    assert main(["user", "add", "ola", *args, "--epost", "ola@example.no", "--oidc-sub", "s1"]) == 0
    assert main(["user", "add", "kari", *args, "--oidc-sub", "s1"]) == 1
    assert "hører allerede til brukeren ola" in capsys.readouterr().err
    assert main(["user", "add", "kari", *args, "--epost", "ikke en adresse"]) == 1
    assert main(["user", "add", "kari", *args]) == 0
    assert main(["user", "set", "kari", "--oidc-sub", "s1"]) == 1
    assert main(["user", "set", "ola", "--oidc-sub", ""]) == 0
    assert main(["user", "set", "kari", "--oidc-sub", "s1", "--epost", "kari@example.no"]) == 0
    assert main(["user", "set", "finnes-ikke", "--epost", "x@example.no"]) == 1
    assert main(["user", "set", "kari"]) == 2

    from web.runtime import open_storage
    from web.settings import Settings

    uow = open_storage(Settings.from_environment()).uow()
    with uow:
        ola, kari = uow.users.get("ola"), uow.users.get("kari")
        assert (ola.epost, ola.oidc_sub) == ("ola@example.no", None)
        assert (kari.epost, kari.oidc_sub) == ("kari@example.no", "s1")
        assert uow.users.by_oidc_sub("s1").username == "kari"


def test_a_new_sub_ends_the_users_sessions(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", OIDC=OidcConfig())
    users.add_user(st(app).uow(), "ola", roles=["hf"], hf="OUS")
    before = users.session_generation(st(app).uow(), "ola")
    assert users.set_contact(st(app).uow(), "ola", oidc_sub="ny") == ["oidc_sub"]
    assert users.session_generation(st(app).uow(), "ola") == before + 1
    assert users.set_contact(st(app).uow(), "ola", epost="ola@example.no") == ["epost"]
    assert users.session_generation(st(app).uow(), "ola") == before + 1


# ---- the ID token checks (Authlib/joserfc), with tokens made here -------------------------------

ISSUER = "https://idp.example"


@pytest.fixture
def checker(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, RSAKey]:
    from web.oidc import OidcClient

    key = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})
    config = OidcConfig.from_environ(
        {**BASE, "SKJEMAMOTTAK_OIDC_ISSUER": ISSUER, "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": SECRET}
    )
    rp = OidcClient(config, REDIRECT_URI, AFTER_LOGOUT)
    documents = {
        f"{ISSUER}/.well-known/openid-configuration": {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/auth",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks",
        },
        f"{ISSUER}/jwks": {"keys": [key.as_dict(private=False)]},
    }
    monkeypatch.setattr(rp, "_get_json", lambda url: documents[url])
    return rp, key


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "skjemamottak",
        "sub": KNOWN_SUB,
        "nonce": "n-1",
        "iat": now,
        "exp": now + 300,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(key: Any, claims: dict[str, Any], alg: str = "RS256") -> str:
    from joserfc import jwt

    header = {"alg": alg, **({"kid": key.kid} if getattr(key, "kid", None) else {})}
    return jwt.encode(header, claims, key, algorithms=[alg])


def test_a_good_id_token_passes(checker: tuple[Any, RSAKey]) -> None:
    rp, key = checker
    assert rp.verify_id_token(_sign(key, _claims()), "n-1", None)["sub"] == KNOWN_SUB
    now = int(time.time())
    # 60 s leeway both ways for the clocks of the provider and the service
    late = _claims(exp=now - 30, iat=now - 400)
    assert rp.verify_id_token(_sign(key, late), "n-1", None)["sub"] == KNOWN_SUB
    early = _claims(iat=now + 30)
    assert rp.verify_id_token(_sign(key, early), "n-1", None)["sub"] == KNOWN_SUB


@pytest.mark.parametrize(
    "changes",
    [
        {"nonce": "n-2"},
        {"nonce": None},
        {"aud": "en-annen-klient"},
        {"iss": "https://angriper.example"},
        {"exp": -120},  # seconds from now: made when the test runs, not when it is collected
        {"iat": +120},
        {"iat": None},
        {"sub": None},
    ],
    ids=["nonce", "no-nonce", "aud", "iss", "exp", "iat-future", "no-iat", "no-sub"],
)
def test_a_bad_claim_fails(checker: tuple[Any, RSAKey], changes: dict[str, Any]) -> None:
    from web.oidc import Failed

    rp, key = checker
    now = int(time.time())
    changes = {
        k: now + v if k in ("exp", "iat") and v is not None else v for k, v in changes.items()
    }
    with pytest.raises(Failed):
        rp.verify_id_token(_sign(key, _claims(**changes)), "n-1", None)


def test_a_foreign_signature_none_and_a_shared_secret_fail(checker: tuple[Any, RSAKey]) -> None:
    import base64
    import hashlib
    import hmac

    from web.oidc import Failed

    rp, key = checker
    stranger = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})  # same kid, other key

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def unsigned(alg: str) -> str:
        parts = ({"alg": alg, "kid": "idp-1"}, _claims())
        return ".".join(b64(json.dumps(p).encode()) for p in parts)

    # HS256 with the provider's public key as the shared secret (the algorithm confusion attack)
    body = unsigned("HS256")
    mac = hmac.new(key.as_pem(private=False), body.encode(), hashlib.sha256).digest()
    confused = f"{body}.{b64(mac)}"
    for token in (_sign(stranger, _claims()), unsigned("none") + ".", confused):
        with pytest.raises(Failed):
            rp.verify_id_token(token, "n-1", None)


def test_the_client_assertion_is_short_lived_unique_and_names_the_key() -> None:
    from types import SimpleNamespace

    from joserfc import jwt

    from web.oidc import ASSERTION_LIFETIME, _ShortPrivateKeyJWT

    key = RSAKey.generate_key(2048, parameters={"kid": "klient-1"})
    endpoint = f"{ISSUER}/token"
    method = _ShortPrivateKeyJWT(endpoint, headers={"kid": "klient-1"}, alg="RS256")
    auth = SimpleNamespace(client_id="skjemamottak", client_secret=key)
    tokens = [jwt.decode(method.sign(auth, endpoint), key) for _ in range(2)]
    for token in tokens:
        assert (token.header["alg"], token.header["kid"]) == ("RS256", "klient-1")
        claims = token.claims
        assert claims["iss"] == claims["sub"] == "skjemamottak"
        assert claims["aud"] == endpoint
        assert 0 < claims["exp"] - claims["iat"] <= ASSERTION_LIFETIME <= 120
    assert tokens[0].claims["jti"] != tokens[1].claims["jti"]
