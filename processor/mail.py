"""The notification mails of the outbox (CONNECTIONS.md section 2): one `EmailMessage` per row.

Pure: values in, a standard-library `email.message.EmailMessage` out (no SMTP, no database, no
clock). A mail names the case id (a meeting: its date and time in Europe/Oslo, a draft: its id)
and links to it: nothing else from the case, no field value, no free text, not the outcome.
Subject, text/plain and text/html say the same.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from processor import timefmt
from processor.domain import State

HEADER = "X-Skjemamottak-Hendelse"
# `returnert` and `avgjort` are named after the states the case enters
RETURNED = str(State.RETURNERT)
DECIDED = str(State.AVGJORT)
SIGNATURE = "Skjemamottak for Nye metoder. Denne e-posten er sendt automatisk; ikke svar på den."


# event → the subject, the one sentence and the link's path of its mail: `{sak}` is the case id,
# `{mote}` the meeting's id and `{when}` its date and time, `{utkast}` the draft's id
NOTICES: dict[str, tuple[str, str, str]] = {
    RETURNED: (
        "Sak {sak} er returnert for supplering",
        "Sak {sak} er returnert til dere for supplering.",
        "/saker/{sak}",
    ),
    DECIDED: ("Sak {sak} er avgjort", "Vedtaket i sak {sak} er registrert.", "/saker/{sak}"),
    "fagfelle_tildelt": (
        "Ny fagfellevurdering: sak {sak}",
        "Du er tildelt fagfellevurderingen av sak {sak}.",
        "/fagfelle",
    ),
    "motepakke_klar": (
        "Møtepakken til møtet {when} er klar",
        "Sakene til møtet {when} er satt opp, og møtepakken er klar.",
        "/moter/{mote}",
    ),
    "utkast_til_godkjenning": (
        "Utkast {utkast} venter på godkjenning",
        "Utkast {utkast} er sendt til godkjenning.",
        "/utkast/{utkast}",
    ),
    "utkast_returnert": (
        "Utkast {utkast} er sendt tilbake",
        "Utkast {utkast} er sendt tilbake til deg.",
        "/utkast/{utkast}",
    ),
}
EVENTS = tuple(NOTICES)


@dataclass(frozen=True)
class Notice:
    """What a mail says: the subject, the one sentence of the body, the link."""

    subject: str
    sentence: str
    link: str


def meeting_words(data: Mapping[str, Any]) -> str:
    """`07.12.2026 kl. 09:00`: the meeting's date and time (Europe/Oslo wall clock)."""
    day = date.fromisoformat(str(data["dato"]))
    at = time.fromisoformat(str(data["tid"]))
    return f"{timefmt.date_text(day)} kl. {at:%H:%M}"


def notice(
    hendelse: str,
    public_url: str,
    *,
    sak: str | None = None,
    mote: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> Notice:
    """The subject, sentence and link of one event (ValueError for an unknown event; KeyError
    when `data` lacks what the event names: a draft's `utkast`, a meeting's `dato` and `tid`)."""
    if hendelse not in NOTICES:
        raise ValueError(f"unknown event: {hendelse!r}")
    subject, sentence, path = NOTICES[hendelse]
    words = {**(data or {}), "sak": sak, "mote": mote}
    if "{when}" in subject:  # a meeting is named by its date and time
        words["when"] = meeting_words(words)
    return Notice(
        subject.format_map(words),
        sentence.format_map(words),
        public_url.rstrip("/") + path.format_map(words),
    )


def build_message(
    what: Notice,
    *,
    hendelse: str,
    sender: str,
    recipient: str,
    message_id: str,
    at: datetime,
) -> EmailMessage:
    """The mail: `From` the sender, `To` the one recipient, the stable `Message-ID`, the event in
    `X-Skjemamottak-Hendelse`, text/plain and text/html alternatives."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = what.subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = message_id
    msg[HEADER] = hendelse
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(f"{what.sentence}\n\nSe mer: {what.link}\n\n-- \n{SIGNATURE}\n")
    link = html.escape(what.link, quote=True)
    msg.add_alternative(
        '<!DOCTYPE html>\n<html lang="nb"><head><meta charset="utf-8">'
        f"<title>{html.escape(what.subject)}</title></head><body>"
        f"<p>{html.escape(what.sentence)}</p>"
        f'<p>Se mer: <a href="{link}">{link}</a></p>'
        f"<p>{html.escape(SIGNATURE)}</p></body></html>\n",
        subtype="html",
    )
    return msg


__all__ = ["EVENTS", "HEADER", "Notice", "build_message", "meeting_words", "notice"]
