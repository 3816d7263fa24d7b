"""The outbox repository (CONNECTIONS.md sections 2 and 3): rows in, due rows claimed out.

`claim` hands one due row to one worker: on PostgreSQL the row is read with
`SELECT … FOR UPDATE SKIP LOCKED` (two workers never wait for or take the same row), on SQLite
by an atomic conditional `UPDATE … WHERE id = ? AND <still due and unclaimed>` (SQLite has one
writer at a time; the loser's update touches no row). Either way the claim is a lease
(`claimed_until`): a worker killed mid-delivery holds the row only until the lease runs out. The
caller commits the claim at once, delivers outside any transaction, then records the outcome.
The in-memory fake for service tests is in `tests/fakes.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from storage.models_outbox import OutboxRow, WorkerBeat


def due(row: OutboxRow, kinds: Collection[str], now: datetime) -> bool:
    """The row waits, is of one of `kinds`, is due and no worker holds it."""
    return (
        row.status == "venter"
        and row.art in kinds
        and row.neste_forsok <= now
        and (row.claimed_until is None or row.claimed_until < now)
    )


class AbstractOutboxRepository(ABC):
    @abstractmethod
    def add(self, row: OutboxRow) -> None: ...

    @abstractmethod
    def get(self, row_id: int) -> OutboxRow | None: ...

    @abstractmethod
    def list(
        self, *, status: str | None = None, case_id: str | None = None, limit: int | None = None
    ) -> list[OutboxRow]:
        """Rows, newest first (by id), of one status or case when given."""

    @abstractmethod
    def claim(
        self, kinds: Collection[str], worker: str, now: datetime, lease: timedelta
    ) -> OutboxRow | None:
        """The oldest due row of `kinds` (`due`), now held by `worker` until `now + lease`;
        None when there is none. The caller commits."""

    @abstractmethod
    def beat(self, worker: str, at: datetime) -> None:
        """Record that `worker` ran its loop at `at`."""

    @abstractmethod
    def last_beat(self) -> datetime | None:
        """The latest run of any worker; None when none ever ran."""

    @abstractmethod
    def oldest_waiting(self, kinds: Collection[str]) -> datetime | None:
        """When the oldest row of `kinds` still waiting was made; None when none waits."""


class SqlAlchemyOutboxRepository(AbstractOutboxRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: OutboxRow) -> None:
        self.session.add(row)

    def get(self, row_id: int) -> OutboxRow | None:
        return self.session.get(OutboxRow, row_id)

    def list(
        self, *, status: str | None = None, case_id: str | None = None, limit: int | None = None
    ) -> list[OutboxRow]:
        q = select(OutboxRow)
        if status is not None:
            q = q.where(OutboxRow.status == status)
        if case_id is not None:
            q = q.where(OutboxRow.sak == case_id)
        q = q.order_by(OutboxRow.id.desc())
        if limit is not None:
            q = q.limit(limit)
        return list(self.session.scalars(q))

    @staticmethod
    def _due(kinds: Collection[str], now: datetime) -> list:
        return [
            OutboxRow.status == "venter",
            OutboxRow.art.in_(list(kinds)),
            OutboxRow.neste_forsok <= now,
            or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
        ]

    def claim(
        self, kinds: Collection[str], worker: str, now: datetime, lease: timedelta
    ) -> OutboxRow | None:
        if not kinds:
            return None
        first = (
            select(OutboxRow)
            .where(*self._due(kinds, now))
            .order_by(OutboxRow.neste_forsok, OutboxRow.id)
            .limit(1)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            row = self.session.scalars(first.with_for_update(skip_locked=True)).one_or_none()
            if row is None:
                return None
            row.claimed_by, row.claimed_until = worker, now + lease
            self.session.flush()
            return row
        for _ in range(3):  # SQLite: another worker may take the row between these statements
            row_id = self.session.scalar(first.with_only_columns(OutboxRow.id))
            if row_id is None:
                return None
            taken = self.session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id, *self._due(kinds, now))
                .values(claimed_by=worker, claimed_until=now + lease)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return self.session.get(OutboxRow, row_id, populate_existing=True)
        return None

    def beat(self, worker: str, at: datetime) -> None:
        row = self.session.get(WorkerBeat, worker)
        if row is None:
            self.session.add(WorkerBeat(name=worker, last_run=at))
        else:
            row.last_run = at

    def last_beat(self) -> datetime | None:
        return self.session.scalar(select(func.max(WorkerBeat.last_run)))

    def oldest_waiting(self, kinds: Collection[str]) -> datetime | None:
        return self.session.scalar(
            select(func.min(OutboxRow.opprettet)).where(
                OutboxRow.status == "venter", OutboxRow.art.in_(list(kinds))
            )
        )
