"""The single sign-on settings (CONNECTIONS.md section 1), read from the environment by
`web.settings.Settings.load` through `OidcConfig.from_environ`: a pure value, no Flask."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

DEFAULT_SCOPES = "openid profile"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# ID tokens are signed with the provider's private key: never `none`, never an HMAC algorithm
ID_TOKEN_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)


class OidcConfigError(ValueError):
    """A bad setting; the message is Norwegian and names the variable (`serve` exits 2)."""


def local_or_https(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in LOCAL_HOSTS


def _load_private_key(path: str) -> tuple[RSAKey | ECKey, str]:
    """The key of `SKJEMAMOTTAK_OIDC_PRIVATE_KEY` (a JWK in JSON or a PEM file) and its JWS
    algorithm."""
    name = "SKJEMAMOTTAK_OIDC_PRIVATE_KEY"
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise OidcConfigError(f"{name}: kan ikke lese nøkkelfilen {path} ({e.strerror}).") from None
    try:
        text = data.decode("utf-8").strip()
        if text.startswith("{"):
            jwk = json.loads(text)
            kty = jwk.get("kty")
            key: RSAKey | ECKey = (ECKey if kty == "EC" else RSAKey).import_key(jwk)
        else:
            try:
                key = RSAKey.import_key(data)
            except (JoseError, ValueError, TypeError):
                key = ECKey.import_key(data)
    except (JoseError, ValueError, TypeError, UnicodeDecodeError):
        raise OidcConfigError(
            f"{name}: {path} er ikke en privat nøkkel (JWK eller PEM, RSA eller EC)."
        ) from None
    if not key.is_private:
        raise OidcConfigError(f"{name}: {path} inneholder bare en offentlig nøkkel.")
    if isinstance(key, ECKey):
        curve = key.curve_name
        alg = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(curve)
        if alg is None:
            raise OidcConfigError(f"{name}: kurven {curve} støttes ikke.")
    else:
        alg = "RS256"
    given = key.alg
    return key, (given if given in ID_TOKEN_ALGORITHMS else alg)


@dataclass(frozen=True)
class OidcConfig:
    """The single sign-on settings (CONNECTIONS.md section 1). `issuer` None: OIDC is off."""

    issuer: str | None = None
    client_id: str | None = None
    private_key: RSAKey | ECKey | None = field(default=None, repr=False)
    private_key_alg: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    scopes: str = DEFAULT_SCOPES
    public_url: str | None = None  # None: the app's BASE_URL
    local_login: bool = True

    @property
    def enabled(self) -> bool:
        return self.issuer is not None

    @property
    def auth_method(self) -> str:
        return "private_key_jwt" if self.private_key is not None else "client_secret_basic"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> OidcConfig:
        """Read and check every variable; `OidcConfigError` (Norwegian, naming the variable)
        for a bad value or combination."""

        def get(name: str) -> str | None:
            value = (environ.get(f"SKJEMAMOTTAK_{name}") or "").strip()
            return value or None

        raw_local = get("LOCAL_LOGIN")
        if raw_local is None or raw_local in ("1", "true", "ja"):
            local_login = True
        elif raw_local in ("0", "false", "nei"):
            local_login = False
        else:
            raise OidcConfigError("SKJEMAMOTTAK_LOCAL_LOGIN må være 0 eller 1.")
        public_url = get("PUBLIC_URL")
        if public_url is not None:
            parts = urlsplit(public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                raise OidcConfigError(
                    "SKJEMAMOTTAK_PUBLIC_URL må være en http(s)-adresse, for eksempel "
                    "https://skjema.example.no."
                )
            public_url = public_url.rstrip("/")
        issuer = get("OIDC_ISSUER")
        if issuer is None:
            if not local_login:
                raise OidcConfigError(
                    "SKJEMAMOTTAK_LOCAL_LOGIN=0 krever SKJEMAMOTTAK_OIDC_ISSUER: ellers kan "
                    "ingen logge inn."
                )
            return cls(public_url=public_url)
        issuer = issuer.rstrip("/")
        parts = urlsplit(issuer)
        if not local_or_https(issuer) or parts.query or parts.fragment:
            raise OidcConfigError(
                "SKJEMAMOTTAK_OIDC_ISSUER må være en https-adresse (http bare på 127.0.0.1 "
                "eller localhost)."
            )
        client_id = get("OIDC_CLIENT_ID")
        if client_id is None:
            raise OidcConfigError("SKJEMAMOTTAK_OIDC_CLIENT_ID mangler (kreves med OIDC).")
        key_path, secret = get("OIDC_PRIVATE_KEY"), get("OIDC_CLIENT_SECRET")
        if key_path and secret:
            raise OidcConfigError(
                "Sett enten SKJEMAMOTTAK_OIDC_PRIVATE_KEY eller SKJEMAMOTTAK_OIDC_CLIENT_SECRET, "
                "ikke begge."
            )
        if not key_path and not secret:
            raise OidcConfigError(
                "SKJEMAMOTTAK_OIDC_PRIVATE_KEY (private_key_jwt) eller "
                "SKJEMAMOTTAK_OIDC_CLIENT_SECRET mangler."
            )
        key, alg = _load_private_key(key_path) if key_path else (None, None)
        scopes = " ".join((get("OIDC_SCOPES") or DEFAULT_SCOPES).split())
        if "openid" not in scopes.split():
            raise OidcConfigError("SKJEMAMOTTAK_OIDC_SCOPES må inneholde openid.")
        return cls(
            issuer=issuer,
            client_id=client_id,
            private_key=key,
            private_key_alg=alg,
            client_secret=secret,
            scopes=scopes,
            public_url=public_url,
            local_login=local_login,
        )
