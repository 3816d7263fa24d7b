"""The unit of work: one transaction per user action (cosmicpython's `unit_of_work.py`).

    with uow:
        case = uow.cases.get(case_id)
        ...
        uow.audit.append(...)
        uow.commit()

Leaving the block rolls back whatever was not committed. Blobs (files the service makes itself,
such as decision letters; never an uploaded file) go to `uow.blobs` (the blob store) before the
commit of the row that points at them: `put` has fsynced the blob when it
returns, so a committed row never points at a missing file (a crash in between leaves only an
unreferenced blob, which fsck removes). A write that lost a race (a stale version counter, or a
duplicate key) surfaces as `ConcurrentUpdate`, from `commit` or from the `with` block.

The in-memory unit of work for service tests is `tests/fakes.py: FakeUnitOfWork`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

import storage.tables  # noqa: F401  (every table and every relationship on Case)
from storage.blobs import BlobStore
from storage.repository import (
    AbstractAuditRepository,
    AbstractCaseRepository,
    AbstractTokenRepository,
    AbstractUserRepository,
    SqlAlchemyAuditRepository,
    SqlAlchemyCaseRepository,
    SqlAlchemyTokenRepository,
    SqlAlchemyUserRepository,
)
from storage.repository_committee import (
    AbstractDecisionRepository,
    AbstractMeetingRepository,
    AbstractMemberRepository,
    SqlAlchemyDecisionRepository,
    SqlAlchemyMeetingRepository,
    SqlAlchemyMemberRepository,
)
from storage.repository_drafts import AbstractDraftRepository, SqlAlchemyDraftRepository
from storage.repository_figures import AbstractFiguresRepository, SqlAlchemyFiguresRepository
from storage.repository_minihta import (
    AbstractAttachmentRepository,
    AbstractPublicationRepository,
    AbstractReviewRepository,
    SqlAlchemyAttachmentRepository,
    SqlAlchemyPublicationRepository,
    SqlAlchemyReviewRepository,
)

Clock = Callable[[], datetime]


def utc_clock() -> datetime:
    return datetime.now(UTC)


class ConcurrentUpdate(Exception):
    """Another transaction changed the same rows first; nothing of this one was kept."""


class AbstractUnitOfWork(ABC):
    cases: AbstractCaseRepository
    users: AbstractUserRepository
    tokens: AbstractTokenRepository
    audit: AbstractAuditRepository
    members: AbstractMemberRepository
    meetings: AbstractMeetingRepository
    decisions: AbstractDecisionRepository
    reviews: AbstractReviewRepository
    attachments: AbstractAttachmentRepository
    publications: AbstractPublicationRepository
    figures: AbstractFiguresRepository
    drafts: AbstractDraftRepository
    blobs: BlobStore
    clock: Clock

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def now(self) -> datetime:
        """The current time, aware UTC (from the unit of work's clock, fixed in tests)."""
        return self.clock().astimezone(UTC)

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """Opens a session on `__enter__`; one unit of work object can be entered again and again."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        blobs: BlobStore,
        clock: Clock | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.blobs = blobs
        self.clock = clock or utc_clock
        self.session: Session | None = None

    def __enter__(self) -> Self:
        self.session = self.session_factory()
        self.cases = SqlAlchemyCaseRepository(self.session)
        self.users = SqlAlchemyUserRepository(self.session)
        self.tokens = SqlAlchemyTokenRepository(self.session)
        self.audit = SqlAlchemyAuditRepository(self.session)
        self.members = SqlAlchemyMemberRepository(self.session)
        self.meetings = SqlAlchemyMeetingRepository(self.session)
        self.decisions = SqlAlchemyDecisionRepository(self.session)
        self.reviews = SqlAlchemyReviewRepository(self.session)
        self.attachments = SqlAlchemyAttachmentRepository(self.session)
        self.publications = SqlAlchemyPublicationRepository(self.session)
        self.figures = SqlAlchemyFiguresRepository(self.session)
        self.drafts = SqlAlchemyDraftRepository(self.session)
        return super().__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            if self.session is not None:
                self.session.close()
            self.session = None
        if isinstance(exc, StaleDataError | IntegrityError):
            raise ConcurrentUpdate("concurrent update") from exc

    def commit(self) -> None:
        assert self.session is not None, "commit outside `with uow:`"
        try:
            self.session.commit()
        except (StaleDataError, IntegrityError) as e:
            self.session.rollback()
            raise ConcurrentUpdate("concurrent update") from e

    def rollback(self) -> None:
        if self.session is not None:
            self.session.rollback()
