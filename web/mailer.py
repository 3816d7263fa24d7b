"""Handing a notification to the SMTP server (CONNECTIONS.md section 2), with the standard
library's `smtplib`: one connection per mail, TLS from the start (`smtps`) or by STARTTLS
(`smtp+starttls`), certificates checked against the system's trust store (`SSL_CERT_FILE` adds
one). The server's answer decides: 2xx delivered, 4xx or no connection a temporary
`DeliveryError` (tried again later), 5xx a permanent one. The error text names the code only:
never the server's words, the password or the address list.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime

from processor.mail import build_message, notice
from services.outbox import Claimed, DeliveryError
from web.connections_config import SmtpServer

TIMEOUT = 30  # seconds per SMTP operation: a whole delivery stays far below the lease


def _refused(code: int) -> DeliveryError:
    if 500 <= code < 600:
        return DeliveryError(f"SMTP-tjeneren avviste e-posten ({code}).", permanent=True)
    return DeliveryError(f"SMTP-tjeneren svarte med en midlertidig feil ({code}).")


def send(server: SmtpServer, message: object, *, timeout: float = TIMEOUT) -> None:
    """Send one `EmailMessage`; DeliveryError when the server did not accept it."""
    context = ssl.create_default_context()
    try:
        if server.security == "tls":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=timeout, context=context
            )
        else:
            conn = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with conn:
            if server.security == "starttls":
                conn.starttls(context=context)
            if server.username:
                conn.login(server.username, server.password or "")
            conn.send_message(message)  # type: ignore[arg-type]
    except smtplib.SMTPNotSupportedError:
        # No SMTPUTF8 for an address with non-ASCII characters, or no STARTTLS: the server will
        # not change its mind on a retry (an operator can retry after changing it).
        raise DeliveryError(
            "SMTP-tjeneren støtter ikke det e-posten trenger (SMTPUTF8 for adresser med tegn "
            "utenfor ASCII, eller STARTTLS).",
            permanent=True,
        ) from None
    except smtplib.SMTPRecipientsRefused as e:
        codes = [code for code, _ in e.recipients.values()]
        raise _refused(max(codes) if codes else 550) from None
    except smtplib.SMTPResponseException as e:  # sender refused, data refused, login refused
        raise _refused(e.smtp_code) from None
    except UnicodeError:  # smtplib sends user names and passwords as ASCII only
        raise DeliveryError(
            "Brukernavnet eller passordet i SKJEMAMOTTAK_SMTP_URL har tegn utenfor ASCII.",
            permanent=True,
        ) from None
    except ssl.SSLError:
        raise DeliveryError("TLS-forbindelsen til SMTP-tjeneren feilet.") from None
    except (OSError, smtplib.SMTPException):
        raise DeliveryError("Fikk ikke kontakt med SMTP-tjeneren.") from None


def mail_sender(
    server: SmtpServer,
    sender: str,
    public_url: str,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Callable[[Claimed], None]:
    """The worker's `send_mail`: builds the row's message and sends it."""

    def send_mail(row: Claimed) -> None:
        try:
            what = notice(row.hendelse, public_url, sak=row.sak, mote=row.mote, data=row.data)
            message = build_message(
                what,
                hendelse=str(row.hendelse),
                sender=sender,
                recipient=row.mottaker,
                message_id=str(row.message_id),
                at=(clock or (lambda: datetime.now(UTC)))(),
            )
        except (KeyError, ValueError, TypeError):
            raise DeliveryError(
                "E-posten kan ikke lages for denne hendelsen.", permanent=True
            ) from None
        send(server, message)

    return send_mail
