"""The service's settings: one frozen `Settings`, built once at start and passed down.

`Settings.load(environ, instance_path)` is the one place that reads the environment: the app
factory (`web.app.create_app`) and the CLI (`web.cli.main`) call it once; every other module gets
plain values (storage takes a URL, a folder and a keyring).

Where a value comes from, strongest first:

1. an override given in code: `create_app`'s config dict (tests) or a `serve` option
   (`--meeting-weekday`, `--meeting-time`, `--workers`);
2. the environment (`SKJEMAMOTTAK_<NAME>`; `FORWARDED_ALLOW_IPS` as gunicorn names it);
3. `config.py` in the instance folder (`<NAME> = value`, Python; optional);
4. the default.

A value that cannot be used stops the start with `SettingsError`, whose message is Norwegian and
names the setting (and never repeats a secret). Single sign-on is read here too
(`web.oidc_config.OidcConfig.from_environ`, environment only), and so are e-mail and the archive
folder (`web.connections_config.ConnectionsConfig.from_environ`, environment only).

The module imports neither Flask nor SQLAlchemy, so that the CLI can build its parser without
them; the checks that need a library import it when they run.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from processor.workdays import DEFAULT_MEETING_WEEKDAY  # Thursday (Monday is 0)
from web.connections_config import ConnectionsConfig, ConnectionsConfigError
from web.oidc_config import OidcConfig, OidcConfigError

if TYPE_CHECKING:
    from storage.crypto import Keyring

ENV_PREFIX = "SKJEMAMOTTAK_"
CONFIG_FILE = "config.py"
DEFAULT_INSTANCE = "instance"
DEFAULT_MAX_UPLOAD_MB = 20.0
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
DEFAULT_RATELIMIT_STORAGE = "memory://"
# far above what one person sends: a form takes minutes to fill in (see web.limits)
DEFAULT_UPLOAD_RATE_LIMIT = "30 per minute; 300 per hour"
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1"

DEFAULT_MEETING_TIME = time(9, 0)

WEEKDAYS_NB = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
_TRUE = {"1", "true", "ja", "yes", "on"}
_FALSE = {"0", "false", "nei", "no", "off"}
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")

# The name of each setting in config.py and in create_app's config dict; the environment
# variable is `SKJEMAMOTTAK_<name>` unless listed in `_ENV_NAMES`. INSTANCE cannot be set in
# config.py, which lives in the instance folder.
NAMES = (
    "INSTANCE",
    "DATABASE_URL",
    "SECRET_KEY",
    "BLOB_KEY",
    "BLOB_OLD_KEYS",
    "MAX_UPLOAD_MB",
    "BASE_URL",
    "RATELIMIT_STORAGE",
    "RATELIMIT_DISABLED",
    "UPLOAD_RATE_LIMIT",
    "BEHIND_PROXY",
    "SECURE_COOKIES",
    "WORKERS",
    "FORWARDED_ALLOW_IPS",
    "MEETING_WEEKDAY",
    "MEETING_TIME",
)
_ENV_NAMES = {"FORWARDED_ALLOW_IPS": "FORWARDED_ALLOW_IPS"}  # gunicorn's own variable


def env_name(name: str) -> str:
    """The environment variable of a setting."""
    return _ENV_NAMES.get(name, ENV_PREFIX + name)


class SettingsError(ValueError):
    """A setting that cannot be used. The message is Norwegian and never holds a secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Settings:
    """Every setting of the service, checked and typed (see the README's table)."""

    instance: Path
    database_url: str = field(repr=False)  # may hold a password
    secret_key: str | None = field(default=None, repr=False)  # None: a key kept in the instance
    keyring: Keyring | None = field(default=None, repr=False)  # None: blobs are not encrypted
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    base_url: str | None = None  # None: serve's own address, else DEFAULT_BASE_URL
    ratelimit_storage: str = field(default=DEFAULT_RATELIMIT_STORAGE, repr=False)  # a password?
    ratelimit_enabled: bool = True
    upload_rate_limit: str = DEFAULT_UPLOAD_RATE_LIMIT
    behind_proxy: bool = False
    secure_cookies: bool = False
    workers: int | None = None  # None: one per core and one more (web.cli.default_workers)
    forwarded_allow_ips: str = DEFAULT_FORWARDED_ALLOW_IPS
    meeting_weekday: int = DEFAULT_MEETING_WEEKDAY
    meeting_time: time = DEFAULT_MEETING_TIME
    # single sign-on (CONNECTIONS.md section 1), from the SKJEMAMOTTAK_OIDC_* variables and
    # SKJEMAMOTTAK_PUBLIC_URL / SKJEMAMOTTAK_LOCAL_LOGIN (environment only)
    oidc: OidcConfig = field(default_factory=OidcConfig, repr=False)
    # e-mail and archive (CONNECTIONS.md sections 2 and 3), from SKJEMAMOTTAK_SMTP_URL,
    # SKJEMAMOTTAK_MAIL_FROM and SKJEMAMOTTAK_ARKIV_DIR (environment only)
    connections: ConnectionsConfig = field(default_factory=ConnectionsConfig, repr=False)

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str],
        instance_path: str | os.PathLike[str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """The settings from `environ`, the instance's optional `config.py` and `overrides`
        (names as in `NAMES`; a `Given` value carries the name to use in an error message).
        `instance_path` is the instance folder when the caller knows it (it wins over
        `SKJEMAMOTTAK_INSTANCE`). Raises `SettingsError`."""
        given: dict[str, Given] = {}
        for name, value in (overrides or {}).items():
            if name not in NAMES:
                raise SettingsError(f"Ukjent innstilling «{name}».")
            if value is not None:
                given[name] = value if isinstance(value, Given) else Given(value, name)
        if instance_path is not None:
            given.setdefault("INSTANCE", Given(instance_path, "INSTANCE"))
        for name in NAMES:
            text = environ.get(env_name(name))
            if name not in given and text is not None and text.strip():
                given[name] = Given(text, env_name(name))

        instance = _instance(given.get("INSTANCE"))
        for name, value in _config_file(instance / CONFIG_FILE).items():
            given.setdefault(name, value)
        try:
            oidc = OidcConfig.from_environ(environ)
            connections = ConnectionsConfig.from_environ(environ)
        except (OidcConfigError, ConnectionsConfigError) as e:
            raise SettingsError(str(e)) from None
        settings = replace(cls._parse(instance, given), oidc=oidc, connections=connections)
        if "SECURE_COOKIES" not in given and settings.https:
            # People reach the service over https: a cookie sent over plain http would be a
            # session given away, so `Secure` is the default there (SECURE_COOKIES=0 overrides).
            settings = replace(settings, secure_cookies=True)
        return settings

    @classmethod
    def from_environment(
        cls,
        instance_path: str | os.PathLike[str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """`load` on this process's environment: for the app factory and the CLI only."""
        return cls.load(os.environ, instance_path, overrides)

    @classmethod
    def _parse(cls, instance: Path, given: Mapping[str, Given]) -> Settings:
        def value(name: str, parse: Callable[[str, str], Any], default: Any) -> Any:
            item = given.get(name)
            if item is None:
                return default
            text = item.text()
            return parse(item.label, text) if text else default

        behind_proxy = value("BEHIND_PROXY", _flag, False)
        return cls(
            instance=instance,
            database_url=value("DATABASE_URL", _database_url, None) or default_database(instance),
            secret_key=value("SECRET_KEY", _secret, None),
            keyring=_keyring(given.get("BLOB_KEY"), given.get("BLOB_OLD_KEYS")),
            max_upload_mb=value("MAX_UPLOAD_MB", _megabytes, DEFAULT_MAX_UPLOAD_MB),
            base_url=value("BASE_URL", base_url, None),
            ratelimit_storage=value(
                "RATELIMIT_STORAGE", _ratelimit_storage, DEFAULT_RATELIMIT_STORAGE
            ),
            ratelimit_enabled=not value("RATELIMIT_DISABLED", _flag, False),
            upload_rate_limit=value("UPLOAD_RATE_LIMIT", _rate_limit, DEFAULT_UPLOAD_RATE_LIMIT),
            behind_proxy=behind_proxy,
            secure_cookies=value("SECURE_COOKIES", _flag, behind_proxy),
            workers=value("WORKERS", _workers, None),
            forwarded_allow_ips=value(
                "FORWARDED_ALLOW_IPS", _addresses, DEFAULT_FORWARDED_ALLOW_IPS
            ),
            meeting_weekday=value("MEETING_WEEKDAY", weekday, DEFAULT_MEETING_WEEKDAY),
            meeting_time=value("MEETING_TIME", meeting_time, DEFAULT_MEETING_TIME),
        )

    @property
    def public_url(self) -> str:
        """The address people reach the service at: `base_url`, else the default."""
        return self.base_url or DEFAULT_BASE_URL

    @property
    def https(self) -> bool:
        """Whether people reach the service over https (`BASE_URL` or `PUBLIC_URL`)."""
        return any(
            url.lower().startswith("https://")
            for url in (self.base_url or "", self.oidc.public_url or "")
        )

    @property
    def link_url(self) -> str:
        """Where links in mails point: `SKJEMAMOTTAK_PUBLIC_URL`, else `public_url`."""
        return self.oidc.public_url or self.public_url


@dataclass(frozen=True)
class Given:
    """A raw value and the name of where it came from (for the error message)."""

    value: Any
    label: str

    def text(self) -> str:
        v = self.value
        if isinstance(v, bool):
            return "1" if v else "0"
        if isinstance(v, time):
            return f"{v:%H:%M}"
        if isinstance(v, list | tuple):
            return ",".join(str(part) for part in v)
        return str(v).strip()


# ---- the instance and config.py -----------------------------------------------------------------


def _instance(item: Given | None) -> Path:
    raw = item.text() if item is not None else ""
    path = Path(raw or DEFAULT_INSTANCE).resolve()
    if path.exists() and not path.is_dir():
        label = item.label if item is not None else "Instansmappen"
        raise SettingsError(f"{label} peker på {path}, som ikke er en mappe.")
    return path


def _config_file(path: Path) -> dict[str, Given]:
    """The settings in the instance's config.py (upper-case names; other names are ignored)."""
    if not path.is_file():
        return {}
    label = str(path)
    try:
        namespace = runpy.run_path(str(path), run_name="skjemamottak_config")
    except SyntaxError as e:
        raise SettingsError(f"{label} kan ikke leses: syntaksfeil på linje {e.lineno}.") from None
    except Exception as e:  # the file is the operator's Python: any error stops the start
        raise SettingsError(f"{label} kan ikke kjøres ({type(e).__name__}).") from None
    out = {}
    for name, value in namespace.items():
        if not name.isupper() or name.startswith("_"):
            continue
        if name == "INSTANCE":
            raise SettingsError(
                f"INSTANCE kan ikke settes i {label}: filen ligger i instansmappen. "
                "Bruk SKJEMAMOTTAK_INSTANCE."
            )
        if name not in NAMES:
            known = ", ".join(n for n in NAMES if n != "INSTANCE")
            raise SettingsError(f"Ukjent innstilling «{name}» i {label}. Kjente: {known}.")
        out[name] = Given(value, f"{name} i {label}")
    return out


def default_database(instance: Path) -> str:
    """The SQLite file in the instance folder."""
    from storage.db import default_url

    return default_url(instance)


# ---- one parser per kind of value -------------------------------------------------------------


def _flag(label: str, text: str) -> bool:
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise SettingsError(f"{label} må være 1 (ja) eller 0 (nei), ikke «{text}».")


def _secret(label: str, text: str) -> str:
    return text


def _database_url(label: str, text: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(text).get_backend_name()
    except (ArgumentError, ValueError):
        raise SettingsError(
            f"{label} er ikke en databaseadresse, for eksempel "
            "postgresql+psycopg://bruker@vert/database."
        ) from None
    if backend not in ("sqlite", "postgresql"):
        raise SettingsError(f"{label}: bare SQLite og PostgreSQL støttes, ikke «{backend}».")
    return text


def _keyring(current: Given | None, old: Given | None) -> Keyring | None:
    from storage.crypto import KeyFormatError, read_keyring

    try:
        return read_keyring(
            current.text() if current else None,
            old.text() if old else None,
            current_name=current.label if current else env_name("BLOB_KEY"),
            old_name=old.label if old else env_name("BLOB_OLD_KEYS"),
        )
    except KeyFormatError as e:
        raise SettingsError(e.message) from None


def _megabytes(label: str, text: str) -> float:
    try:
        mb = float(text.replace(",", "."))
    except ValueError:
        mb = math.nan
    if not math.isfinite(mb) or mb <= 0:
        raise SettingsError(f"{label} må være et tall større enn 0 (megabyte), ikke «{text}».")
    return mb


def base_url(label: str, text: str) -> str:
    """An http(s) address without query or fragment, without a trailing slash. Links that leave
    the request (the public Atom feed, which caches may share) are built on it, never on the
    request's `Host` header, which any client can forge."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(
            f"{label} må være en http(s)-adresse som https://skjema.example.no, ikke «{text}»."
        )
    return text.rstrip("/")


def _ratelimit_storage(label: str, text: str) -> str:
    from limits.storage import SCHEMES

    scheme = text.partition("://")[0] if "://" in text else ""
    if scheme not in SCHEMES:
        raise SettingsError(
            f"{label} må være en lageradresse som memory://, redis://vert:6379 eller "
            f"memcached://vert:11211, ikke «{text}»."
        )
    return text


def _rate_limit(label: str, text: str) -> str:
    from limits import parse_many

    try:
        if parse_many(text):
            return text
    except ValueError:
        pass
    raise SettingsError(
        f"{label} må skrives som i limits-biblioteket, for eksempel "
        f"«{DEFAULT_UPLOAD_RATE_LIMIT}», ikke «{text}»."
    )


def _workers(label: str, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise SettingsError(f"{label} må være et helt tall fra 1 til 64, ikke «{text}».")
    return int(text)


def _addresses(label: str, text: str) -> str:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    for part in parts:
        if part == "*":
            continue
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise SettingsError(
                f"{label} må være IP-adresser skilt med komma (eller *), ikke «{part}»."
            ) from None
    if not parts:
        raise SettingsError(f"{label} er tom.")
    return ",".join(parts)


def weekday(label: str, text: str) -> int:
    """A weekday: its Norwegian name (mandag … søndag) or 0 (Monday) to 6 (Sunday)."""
    word = text.strip().lower()
    if word in WEEKDAYS_NB:
        return WEEKDAYS_NB.index(word)
    if word.isdigit() and int(word) < 7:
        return int(word)
    raise SettingsError(
        f"{label} må være en ukedag (mandag … søndag, eller 0 for mandag til 6 for søndag), "
        f"ikke «{text}»."
    )


def meeting_time(label: str, text: str) -> time:
    """A time of day as TT:MM (or TT.MM)."""
    match = _TIME.match(text.strip())
    if not match:
        raise SettingsError(
            f"{label} må være et klokkeslett som TT:MM, for eksempel 09:00, ikke «{text}»."
        )
    return time(int(match.group(1)), int(match.group(2)))
