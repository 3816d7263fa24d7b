"""The e-mail and archive settings (CONNECTIONS.md sections 2 and 3), read from the environment by
`web.settings.Settings.load` through `ConnectionsConfig.from_environ`: a pure value, no Flask.

- `SKJEMAMOTTAK_SMTP_URL`: `smtp://[USER:PASSWORD@]HOST[:PORT]` (port 25), `smtp+starttls://…`
  (587) or `smtps://…` (465); user and password percent-encoded. Unset: mails wait.
- `SKJEMAMOTTAK_MAIL_FROM`: the sender address, required when SMTP is set.
- `SKJEMAMOTTAK_ARKIV_DIR`: the folder archive messages go to. Unset: they wait.

A bad value raises `ConnectionsConfigError`, whose Norwegian message names the variable and never
repeats the value (the URL may hold a password).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
SMTP_URL = "SKJEMAMOTTAK_SMTP_URL"
MAIL_FROM = "SKJEMAMOTTAK_MAIL_FROM"
ARKIV_DIR = "SKJEMAMOTTAK_ARKIV_DIR"


class ConnectionsConfigError(ValueError):
    """A bad setting; the message is Norwegian, names the variable and holds no secret."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how mail is handed over. `password` is never shown (`repr`)."""

    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ConnectionsConfig:
    smtp: SmtpServer | None = None
    mail_from: str | None = None
    arkiv_dir: Path | None = None

    @property
    def enabled(self) -> bool:
        """Some connection is set: a worker is expected to run."""
        return self.smtp is not None or self.arkiv_dir is not None

    @property
    def mail_domain(self) -> str | None:
        """The sender's domain, for the Message-ID."""
        return self.mail_from.rpartition("@")[2] if self.mail_from else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ConnectionsConfig:
        def get(name: str) -> str | None:
            return (environ.get(name) or "").strip() or None

        smtp = _smtp(get(SMTP_URL))
        sender = get(MAIL_FROM)
        if sender is not None:
            _, address = parseaddr(sender)
            local, at, domain = address.rpartition("@")
            if (
                not at
                or not local
                or "." not in domain
                or any(c in address for c in " \r\n")
                or not sender.isprintable()  # a line break anywhere breaks every From header
            ):
                raise ConnectionsConfigError(
                    f"{MAIL_FROM} må være en e-postadresse, for eksempel "
                    "«Skjemamottak <skjemamottak@nyemetoder.no>»."
                )
        if smtp is not None and sender is None:
            raise ConnectionsConfigError(f"{MAIL_FROM} mangler (kreves når {SMTP_URL} er satt).")
        folder = get(ARKIV_DIR)
        arkiv_dir = None
        if folder is not None:
            arkiv_dir = Path(folder).expanduser().resolve()
            if arkiv_dir.exists() and not arkiv_dir.is_dir():
                raise ConnectionsConfigError(f"{ARKIV_DIR} peker på en fil, ikke en mappe.")
        return cls(smtp=smtp, mail_from=sender, arkiv_dir=arkiv_dir)


def _smtp(url: str | None) -> SmtpServer | None:
    if url is None:
        return None
    bad = ConnectionsConfigError(
        f"{SMTP_URL} må være smtp://[BRUKER:PASSORD@]VERT[:PORT], smtp+starttls://… eller "
        "smtps://…, med brukernavn og passord prosentkodet."
    )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname or parts.query or parts.fragment:
        raise bad
    if parts.path not in ("", "/"):
        raise bad
    if (parts.password is not None) and not parts.username:
        raise bad
    security = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}[scheme]
    return SmtpServer(
        host=parts.hostname,
        port=port or SCHEMES[scheme],
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )
