"""A real OpenID provider for the single sign-on tests, and the steps a browser takes with it.

The provider is npm `oidc-provider` run by `tests/oidc/provider.mjs` (two clients: one
`private_key_jwt`, one `client_secret_basic`; any `sub` can log in through a one-field form). The
app side runs in the Flask test client; the browser's part at the provider is played with
`requests`; the app's token request and key fetch go to the provider over real HTTP.

Without node or the installed package the provider tests skip (run `npm ci --prefix tests/oidc`);
with `CI=true` they fail instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import RSAKey

from services import users
from tests.web.conftest import make_app, st
from web.oidc_config import OidcConfig

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc"
PUBLIC_URL = "http://127.0.0.1:5000"  # the app is reached through the test client
REDIRECT_URI = f"{PUBLIC_URL}/logg-inn/oidc/tilbake"
AFTER_LOGOUT = f"{PUBLIC_URL}/logg-inn"
SECRET = "en-lang-testhemmelighet-for-client-secret-basic"
KNOWN_SUB = "helseid-sub-ola"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_provider() -> str:
    node = shutil.which("node")
    installed = (PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json").exists()
    if node and installed:
        return node
    reason = (
        "node mangler"
        if not node
        else "oidc-provider er ikke installert: npm ci --prefix tests/oidc"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"the OpenID provider cannot run in CI: {reason}")
    pytest.skip(reason)


@dataclass
class Provider:
    issuer: str
    jwk_file: Path  # the private JWK of the private_key_jwt client


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    node = need_provider()
    folder = tmp_path_factory.mktemp("oidc")
    key = RSAKey.generate_key(2048, parameters={"kid": "skjemamottak-test-1", "alg": "RS256"})
    jwk_file = folder / "klient.jwk"
    jwk_file.write_text(json.dumps(key.as_dict(private=True)), "utf-8")
    port = free_port()
    config = {
        "port": port,
        "redirect_uri": REDIRECT_URI,
        "post_logout_redirect_uri": AFTER_LOGOUT,
        "client_secret": SECRET,
        "jwks": {"keys": [key.as_dict(private=False)]},
    }
    config_file = folder / "provider.json"
    config_file.write_text(json.dumps(config), "utf-8")
    log = (folder / "provider.log").open("wb")
    proc = subprocess.Popen(
        [node, str(PROVIDER_DIR / "provider.mjs"), str(config_file)],
        cwd=PROVIDER_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                doc = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
                if doc.status_code == 200 and doc.json()["issuer"] == issuer:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "the OpenID provider did not start: "
                    + (folder / "provider.log").read_text("utf-8", "replace")
                )
            time.sleep(0.1)
        yield Provider(issuer, jwk_file)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def config_for(provider: Provider, method: str, **env: str) -> OidcConfig:
    environ = {
        "SKJEMAMOTTAK_OIDC_ISSUER": provider.issuer,
        "SKJEMAMOTTAK_PUBLIC_URL": PUBLIC_URL,
        **env,
    }
    if method == "private_key_jwt":
        environ["SKJEMAMOTTAK_OIDC_CLIENT_ID"] = "skjemamottak-jwt"
        environ["SKJEMAMOTTAK_OIDC_PRIVATE_KEY"] = str(provider.jwk_file)
    else:
        environ["SKJEMAMOTTAK_OIDC_CLIENT_ID"] = "skjemamottak-secret"
        environ["SKJEMAMOTTAK_OIDC_CLIENT_SECRET"] = SECRET
    config = OidcConfig.from_environ(environ)
    assert config.auth_method == method
    return config


def oidc_app(tmp_path: Path, config: OidcConfig) -> Flask:
    app = make_app(tmp_path / "instance", OIDC=config)
    users.add_user(
        st(app).uow(), "ola", roles=["hf"], hf="OUS", oidc_sub=KNOWN_SUB, epost="ola@example.no"
    )
    return app


def to_app(resp: Any) -> str:
    """The path and query of a redirect to the app (the browser would go there next)."""
    location = resp.headers["Location"]
    assert location.startswith(PUBLIC_URL + "/"), location
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def at_provider(url: str, sub: str) -> requests.Response:
    """Play the browser at the provider from the authorization URL until it sends the browser
    back to the app: the login form gets `sub`."""
    browser = requests.Session()
    resp = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(10):
        if resp.status_code in (302, 303) and resp.headers["Location"].startswith(PUBLIC_URL):
            return resp
        if resp.status_code in (302, 303):
            nxt = requests.compat.urljoin(resp.url, resp.headers["Location"])
            resp = browser.get(nxt, allow_redirects=False, timeout=10)
            continue
        assert resp.status_code == 200, resp.text
        action = re.search(r'action="([^"]+)"', resp.text)
        assert action, resp.text
        target = requests.compat.urljoin(resp.url, action.group(1))
        resp = browser.post(target, data={"sub": sub}, allow_redirects=False, timeout=10)
    raise AssertionError("the provider never sent the browser back")


def start_login(client: FlaskClient, neste: str | None = None) -> str:
    resp = client.get("/logg-inn/oidc" + (f"?neste={quote(neste, safe='')}" if neste else ""))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp.headers["Location"]


def callback(client: FlaskClient, sub: str = KNOWN_SUB, neste: str | None = None) -> Any:
    back = at_provider(start_login(client, neste), sub)
    return client.get(to_app(back))


def audit_events(app: Flask, action: str) -> list[Any]:
    uow = st(app).uow()
    with uow:
        return [(e.actor, e.details) for e in uow.audit.list() if e.action == action]


def user_names(app: Flask) -> list[str]:
    uow = st(app).uow()
    with uow:
        return [u.username for u in uow.users.list()]


def logged_in(client: FlaskClient) -> bool:
    resp = client.get("/saker")
    assert resp.status_code in (200, 302), resp.status_code
    return resp.status_code == 200


def local_login_off(**env: str) -> OidcConfig:
    """Single sign-on on and the local password login off (`SKJEMAMOTTAK_LOCAL_LOGIN=0`), with
    a provider that is never asked (nothing here reaches it)."""
    return OidcConfig.from_environ(
        {
            "SKJEMAMOTTAK_OIDC_ISSUER": "https://helseid-sts.test.nhn.no",
            "SKJEMAMOTTAK_OIDC_CLIENT_ID": "skjemamottak",
            "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": SECRET,
            "SKJEMAMOTTAK_LOCAL_LOGIN": "0",
            **env,
        }
    )


def provider_down() -> OidcConfig:
    """Single sign-on set up against an address where nobody listens."""
    return OidcConfig.from_environ(
        {
            "SKJEMAMOTTAK_OIDC_ISSUER": f"http://127.0.0.1:{free_port()}",
            "SKJEMAMOTTAK_OIDC_CLIENT_ID": "skjemamottak-secret",
            "SKJEMAMOTTAK_OIDC_CLIENT_SECRET": SECRET,
        }
    )
