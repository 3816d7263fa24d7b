"""The transactional outbox (CONNECTIONS.md sections 2 and 3, issue 24).

A notification (`art` `epost`) or an archive message (`art` `arkiv`) is one `OutboxRow`, written
in the same transaction as the change that causes it (`services.outbox`): it exists exactly when
the change committed. `skjemamottak worker` claims due rows (`claimed_by`, `claimed_until`: a
lease; a worker killed mid-delivery loses its claim when the lease ends), delivers them and marks
them `sendt`, or sets the next attempt (`neste_forsok`) or `feilet`.

A row holds what delivery needs and nothing of the case's content: the recipient's address (or
the archive folder's name), the case id, the meeting, the version number, the meeting's date and
time. `siste_feil` is the last failure in Norwegian, never a secret (no password, no server
answer that could repeat one). `WorkerBeat` is one row per worker name with its last run, which
`/healthz` reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, JSONType, UTCDateTime, check_in

KINDS = ("epost", "arkiv")
STATUSES = ("venter", "sendt", "feilet")


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(check_in("art", KINDS), name="art"),
        CheckConstraint(check_in("status", STATUSES), name="status"),
        # the worker's question: due rows of a kind, oldest first
        Index("ix_outbox_due", "status", "art", "neste_forsok"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    art: Mapped[str] = mapped_column(String(10))
    hendelse: Mapped[str] = mapped_column(String(40))
    sak: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    mote: Mapped[int | None] = mapped_column(Integer, default=None)
    # the recipient's address (epost) or the message folder's name (arkiv)
    mottaker: Mapped[str] = mapped_column(String(254))
    # what delivery needs besides: {"bruker": username} (epost), {"versjon": N}, the meeting's
    # {"dato": "YYYY-MM-DD", "tid": "HH:MM"}, {"utkast": id}; never a field value of the case
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="venter")
    forsok: Mapped[int] = mapped_column(Integer, default=0)
    neste_forsok: Mapped[datetime] = mapped_column(UTCDateTime)
    forste_feil: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    siste_feil: Mapped[str | None] = mapped_column(Text, default=None)
    opprettet: Mapped[datetime] = mapped_column(UTCDateTime)
    sendt: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # the worker holding the row, until when (a lease: a killed worker's claim runs out)
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # the mail's Message-ID, made once (at the first claim) and sent with every attempt
    message_id: Mapped[str | None] = mapped_column(String(255), default=None)

    def __repr__(self) -> str:
        return f"OutboxRow({self.id}, {self.art}/{self.hendelse}, {self.sak}, {self.status})"


class WorkerBeat(Base):
    """When a worker (`skjemamottak worker`) last ran its loop."""

    __tablename__ = "worker_beats"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_run: Mapped[datetime] = mapped_column(UTCDateTime)
