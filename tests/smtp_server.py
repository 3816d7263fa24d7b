"""A real SMTP server on 127.0.0.1 for the outbox tests (aiosmtpd), not a mock of the protocol.

`SmtpServer` records every message it accepted (`messages`: `email.message.EmailMessage`) and
every DATA it was offered (`offered`), and can answer scripted codes first (`answers`: e.g.
`["451 4.3.0 Prøv igjen"]` refuses once), hold every DATA until `release` is set (`hold`: the
crash test kills the worker while the server holds its mail), use TLS (`tls`: "smtps" or
"starttls", a self-signed certificate made here) and require a login (`login`: user, password).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        srv = self.server
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        with srv.lock:
            srv.offered.append(msg)  # type: ignore[arg-type]
            answer = srv.answers.pop(0) if srv.answers else None
        if srv.hold:
            srv.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, srv.release.wait)
        if answer is not None:
            return answer
        with srv.lock:
            srv.messages.append(msg)  # type: ignore[arg-type]
            srv.rcpt.append(list(envelope.rcpt_tos))
        return "250 2.0.0 OK"


class SmtpServer:
    def __init__(
        self,
        *,
        answers: list[str] | None = None,
        hold: bool = False,
        tls: str | None = None,
        certs: tuple[Path, Path] | None = None,
        login: tuple[str, str] | None = None,
        smtputf8: bool = True,
    ) -> None:
        self.port = free_port()
        self.answers = list(answers or [])
        self.hold = hold
        self.holding = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.offered: list[EmailMessage] = []
        self.rcpt: list[list[str]] = []
        self.logins: list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
        if tls is not None:
            assert certs is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(certs[0]), str(certs[1]))
            if tls == "smtps":
                kwargs["ssl_context"] = context
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        if login is not None:

            def authenticator(_s: Any, _ss: Any, _e: Any, _mech: str, data: Any) -> AuthResult:
                ok = (
                    isinstance(data, LoginPassword)
                    and (
                        data.login.decode(),
                        data.password.decode(),
                    )
                    == login
                )
                if ok:
                    self.logins.append(login)
                return AuthResult(success=ok)

            kwargs.update(authenticator=authenticator, auth_required=True)
            if tls == "smtps":  # aiosmtpd does not see the TLS it did not start itself
                kwargs["auth_require_tls"] = False
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.controller.stop()
