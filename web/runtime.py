"""Wiring of the storage layer for the app and the CLI: engine, sessions, blob store, clock.

Nothing happens at import time; `open_storage` builds everything from the settings
(`web.settings.Settings`: the instance folder, the database URL and the blob keys).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from processor.timefmt import OSLO
from storage.blobs import FileBlobStore
from storage.crypto import make_blob_store
from storage.db import (
    current_revision,
    make_engine,
    private_dir,
    session_factory,
    statement_session_factory,
    upgrade,
)
from storage.fsck import (
    PurgeReport,
    has_deletion_list,
    pending_deletions,
    purge_deleted_blobs,
)
from storage.uow import Clock, SqlAlchemyUnitOfWork, utc_clock
from web.settings import Settings


@dataclass
class Storage:
    """Everything a unit of work needs, built once per app (or per CLI command)."""

    instance: Path
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: FileBlobStore
    clock: Clock = utc_clock
    today_override: date | None = None
    statement_sessions: sessionmaker[Session] | None = None

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.sessions, self.blobs, self.clock)

    def statement_uow(self) -> SqlAlchemyUnitOfWork:
        """A unit of work whose statements each commit on their own (`statement_session_factory`):
        for a service that runs single statements only, such as the bearer-token check."""
        return SqlAlchemyUnitOfWork(
            self.statement_sessions or self.sessions, self.blobs, self.clock
        )

    def today(self) -> date:
        """The override (tests) or today's date in Europe/Oslo."""
        if self.today_override is not None:
            return self.today_override
        return self.clock().astimezone(OSLO).date()

    def is_new(self) -> bool:
        return current_revision(self.engine) is None

    def upgrade(self) -> PurgeReport:
        """Migrate the database, then delete the files of uploads that earlier versions stored
        (FORMS.md section 6, rule 3; migration 0008). The first time, when 0008 is applied
        here, also every file no row points at (see `storage.fsck.purge_deleted_blobs`): the
        callers migrate while no writer runs (`db upgrade`, and `serve` before it forks)."""
        applying_0008 = not self.is_new() and not has_deletion_list(self.engine)
        upgrade(self.url, engine=self.engine)
        # also when an earlier purge was cut short: its list is not empty yet
        sweep = applying_0008 or pending_deletions(self.engine) > 0
        return purge_deleted_blobs(self.engine, self.blobs, sweep=sweep)

    def healthy(self) -> bool:
        """The database answers and the blob folder is there and writable."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # any failure means "not healthy"
            return False
        root = self.blobs.root
        return root.is_dir() and os.access(root, os.W_OK)


def open_storage(
    settings: Settings,
    *,
    clock: Callable[[], datetime] | None = None,
    today: date | None = None,
    migrate: bool = True,
) -> Storage:
    """Build the storage for the settings' instance folder and database; migrate the database
    when it is new."""
    folder = settings.instance
    private_dir(folder)  # 0700: the database, the blobs and the keys live here
    engine = make_engine(settings.database_url)
    storage = Storage(
        instance=folder,
        url=settings.database_url,
        engine=engine,
        sessions=session_factory(engine),
        statement_sessions=statement_session_factory(engine),
        blobs=make_blob_store(folder, settings.keyring),  # encrypted when a key is set
        clock=clock or utc_clock,
        today_override=today,
    )
    if migrate and storage.is_new():
        storage.upgrade()
    return storage
