"""Single sign-on with OpenID Connect, shaped like HelseID (CONNECTIONS.md section 1).

Code flow with PKCE (S256), `state` and `nonce`; the client authenticates with `private_key_jwt`
(HelseID) or `client_secret_basic`; the ID token is checked with Authlib/joserfc (signature by a
key of the provider's `jwks_uri`, never `none` nor a shared-secret algorithm; `iss`, `aud`, `exp`,
`iat` with 60 s leeway, `nonce`). No JWT or OIDC code is written here by hand.

The provider's metadata is fetched at first use and kept; the service starts while the provider
is down (the login then answers 503 OIDC_UNAVAILABLE). Codes, tokens and secrets are never
logged.

The settings are read in ONE place, `OidcConfig.from_environ`; `create_app` takes the result.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc.core import CodeIDToken
from flask import Blueprint, Response, current_app, redirect, request, session, url_for
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from werkzeug.exceptions import NotFound

from processor.errors import DomainError
from services import users
from web.auth import log_in, safe_next
from web.context import error_response, storage
from web.limits import failed_sso_limits
from web.oidc_config import ID_TOKEN_ALGORITHMS, OidcConfig, local_or_https

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 10  # seconds, for every request to the provider
LEEWAY = 60  # seconds, for exp and iat
ASSERTION_LIFETIME = 120  # seconds: the private_key_jwt client assertion's exp
PENDING_MAX_AGE = 15 * 60  # seconds a started login may take
SESSION_PENDING = "oidc_pending"  # state, nonce, verifier, neste of a login under way
SESSION_METHOD = "login_method"  # "oidc" after a single sign-on login
SESSION_ID_TOKEN = "oidc_id_token"  # the id_token_hint for logging out at the provider


class Unavailable(Exception):
    """The provider did not answer (or answered nonsense): 503 OIDC_UNAVAILABLE."""


class Failed(Exception):
    """The login cannot go on (bad state, provider error, failed token request or check): 400
    OIDC_FAILED. The message is for the log and holds no code, token or secret."""


class _ShortPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's `private_key_jwt` with `exp` at most two minutes ahead and the key's `kid`."""

    def sign(self, auth: Any, token_endpoint: str) -> Any:
        from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign

        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            header=dict(self.headers or {}),
            alg=self.alg,
            expires_in=ASSERTION_LIFETIME,
        )


class OidcClient:
    """The relying party of one app: metadata and keys fetched at first use and kept."""

    def __init__(self, config: OidcConfig, redirect_uri: str, post_logout_uri: str) -> None:
        self.config = config
        self.redirect_uri = redirect_uri
        self.post_logout_uri = post_logout_uri
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            resp = requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False)
        except requests.RequestException as e:
            raise Unavailable(f"{type(e).__name__} ved {url}") from None
        if resp.status_code != 200:
            raise Unavailable(f"HTTP {resp.status_code} fra {url}")
        try:
            data = resp.json()
        except ValueError:
            raise Unavailable(f"ikke JSON fra {url}") from None
        if not isinstance(data, dict):
            raise Unavailable(f"ikke et JSON-objekt fra {url}")
        return data

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is not None:
                return self._metadata
        issuer = self.config.issuer
        assert issuer is not None
        data = self._get_json(f"{issuer}/.well-known/openid-configuration")
        if data.get("issuer") != issuer:
            raise Unavailable("issuer i metadataene er ikke SKJEMAMOTTAK_OIDC_ISSUER")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = data.get(name)
            if not isinstance(value, str) or not local_or_https(value):
                raise Unavailable(f"{name} mangler eller er ikke https i metadataene")
        end = data.get("end_session_endpoint")
        if end is not None and (not isinstance(end, str) or not local_or_https(end)):
            data.pop("end_session_endpoint")
        with self._lock:
            self._metadata = data
        return data

    def cached_metadata(self) -> dict[str, Any] | None:
        with self._lock:
            return self._metadata

    def keys(self, refresh: bool = False) -> KeySet:
        with self._lock:
            jwks = None if refresh else self._jwks
        if jwks is None:
            jwks = self._get_json(self.metadata()["jwks_uri"])
            with self._lock:
                self._jwks = jwks
        try:
            return KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise Unavailable("jwks_uri gir ikke et gyldig nøkkelsett") from None

    def _session(self) -> OAuth2Session:
        """An Authlib OAuth 2 session with the client authentication of the settings and PKCE."""
        cfg = self.config
        key = cfg.private_key
        sess = OAuth2Session(
            cfg.client_id,
            key if key is not None else cfg.client_secret,
            token_endpoint_auth_method=cfg.auth_method,
            redirect_uri=self.redirect_uri,
            scope=cfg.scopes,
            code_challenge_method="S256",
        )
        if key is not None:
            sess.register_client_auth_method(
                _ShortPrivateKeyJWT(
                    self.metadata()["token_endpoint"],
                    headers={"kid": key.kid} if key.kid else None,
                    alg=cfg.private_key_alg,
                )
            )
        return sess

    def authorization_url(self, state: str, nonce: str, verifier: str) -> str:
        endpoint = self.metadata()["authorization_endpoint"]
        with self._session() as sess:
            url, _ = sess.create_authorization_url(
                endpoint, state=state, nonce=nonce, code_verifier=verifier
            )
        return url

    def redeem(self, code: str, verifier: str) -> dict[str, Any]:
        """The token response for `code` (client authentication and the PKCE verifier)."""
        endpoint = self.metadata()["token_endpoint"]
        try:
            with self._session() as sess:
                token = sess.fetch_token(
                    endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=verifier,
                    timeout=HTTP_TIMEOUT,
                )
        except requests.RequestException as e:
            raise Unavailable(f"tokenforespørselen feilet ({type(e).__name__})") from None
        except OAuthError as e:
            raise Failed(f"tokenforespørselen ble avvist ({e.error})") from None
        except (ValueError, TypeError, KeyError) as e:
            raise Failed(f"ugyldig tokensvar ({type(e).__name__})") from None
        return dict(token)

    def verify_id_token(self, id_token: str, nonce: str, access_token: str | None) -> CodeIDToken:
        """The checked claims of the ID token (Authlib/joserfc), or `Failed`."""
        cfg = self.config
        supported = self.metadata().get("id_token_signing_alg_values_supported")
        algorithms = [a for a in ID_TOKEN_ALGORITHMS if not supported or a in supported]
        registry = JWSRegistry(algorithms=algorithms)
        try:
            try:
                token = jwt.decode(id_token, self.keys(), registry=registry)
            except InvalidKeyIdError:
                # a key the provider rotated in since the keys were fetched: fetch them once more
                token = jwt.decode(id_token, self.keys(refresh=True), registry=registry)
            params: dict[str, Any] = {"nonce": nonce, "client_id": cfg.client_id}
            if access_token:
                params["access_token"] = access_token
            claims = CodeIDToken(
                token.claims,
                token.header,
                {
                    "iss": {"essential": True, "value": cfg.issuer},
                    "aud": {"essential": True, "value": cfg.client_id},
                    "sub": {"essential": True},
                    "nonce": {"essential": True},
                },
                params,
            )
            claims.validate(leeway=LEEWAY)
        except (JoseError, ValueError, TypeError, KeyError) as e:
            raise Failed(f"ID-tokenet er ugyldig ({type(e).__name__})") from None
        if not isinstance(claims.get("sub"), str):
            raise Failed("ID-tokenet mangler sub")
        return claims

    def end_session_url(self, id_token: str | None) -> str | None:
        """Where logging out continues at the provider, or None (no end_session_endpoint, or
        the provider is down)."""
        try:
            end = self.metadata().get("end_session_endpoint")
        except Unavailable:
            return None
        if not end:
            return None
        params = {
            "client_id": self.config.client_id,
            "post_logout_redirect_uri": self.post_logout_uri,
        }
        if id_token:
            params["id_token_hint"] = id_token
        return f"{end}{'&' if '?' in end else '?'}{urlencode(params)}"


# ---- the app's client and the routes -------------------------------------------------------------

bp = Blueprint("oidc", __name__)


def init_app(app: Any, config: OidcConfig) -> None:
    """Keep the settings in the app; with OIDC on, make the client and add the routes."""
    app.extensions["oidc_config"] = config
    app.jinja_env.globals["sso"] = config  # the login page: the HelseID link, the password form
    if not config.enabled:
        return
    public = config.public_url or app.config["BASE_URL"]
    app.extensions["oidc"] = OidcClient(
        config, f"{public}/logg-inn/oidc/tilbake", f"{public}/logg-inn"
    )
    app.register_blueprint(bp)


def settings() -> OidcConfig:
    return current_app.extensions.get("oidc_config") or OidcConfig()


def client() -> OidcClient:
    found = current_app.extensions.get("oidc")
    if found is None:
        raise NotFound()
    return found


def _failed(reason: str) -> Response:
    """400 OIDC_FAILED; the log gets the reason, never a code, token or secret."""
    log.warning("OIDC-innlogging avvist: %s", reason)
    return error_response("OIDC_FAILED")


def _unavailable(reason: str) -> Response:
    log.warning("OIDC-innloggingstjenesten svarer ikke: %s", reason)
    return error_response("OIDC_UNAVAILABLE")


@bp.get("/logg-inn/oidc")
@failed_sso_limits()
def start() -> Response:
    rp = client()
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    try:
        url = rp.authorization_url(state, nonce, verifier)
    except Unavailable as e:
        return _unavailable(str(e))
    session[SESSION_PENDING] = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "neste": safe_next(request.args.get("neste")),
        "at": int(time.time()),
    }
    return redirect(url, code=302)


@bp.get("/logg-inn/oidc/tilbake")
@failed_sso_limits()
def callback() -> Response:
    rp = client()
    pending = session.pop(SESSION_PENDING, None)
    state = request.args.get("state", "")
    if (
        not isinstance(pending, dict)
        or not isinstance(pending.get("state"), str)
        or not hmac.compare_digest(pending["state"].encode(), state.encode())
    ):
        return _failed("ukjent eller brukt state")
    if not isinstance(pending.get("at"), int) or time.time() - pending["at"] > PENDING_MAX_AGE:
        return _failed("innloggingen tok for lang tid")
    if "error" in request.args:
        error = "".join(c for c in request.args["error"][:40] if c.isalnum() or c in "_-")
        return _failed(f"feil fra innloggingstjenesten: {error}")
    if "iss" in request.args and request.args["iss"] != rp.config.issuer:
        return _failed("iss i svaret er ikke utstederen")
    code = request.args.get("code", "")
    if not code or len(code) > 4096:
        return _failed("koden mangler")
    try:
        token = rp.redeem(code, pending["verifier"])
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise Failed("tokensvaret har ikke id_token")
        claims = rp.verify_id_token(id_token, pending["nonce"], token.get("access_token"))
    except Unavailable as e:
        return _unavailable(str(e))
    except Failed as e:
        return _failed(str(e))
    try:
        actor = users.login_by_sub(storage().uow(), claims["sub"])
    except DomainError as e:
        return error_response(e.code, e.message)
    if actor is not None:
        log_in(actor)  # a fresh session, as after a password login
    if actor is None or session.get("user") != actor.username:
        session.clear()
        log.info("OIDC-innlogging med en sub som ingen aktiv bruker har")
        return error_response("OIDC_UNKNOWN_USER")
    session[SESSION_METHOD] = "oidc"
    session[SESSION_ID_TOKEN] = id_token
    return redirect(pending.get("neste") or url_for("pages.index"), code=303)


def logout_target(method: str | None, id_token: str | None) -> str | None:
    """After `POST /logg-ut`: the provider's end_session URL for a single sign-on login."""
    found = current_app.extensions.get("oidc")
    if method != "oidc" or found is None:
        return None
    return found.end_session_url(id_token)
