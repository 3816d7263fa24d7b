"""Repositories: how services reach stored objects, with SQLAlchemy and in-memory versions.

A repository adds and finds model objects; it never commits (the unit of work does). The in-memory
versions keep the same model classes in dictionaries, so service tests run in milliseconds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from storage import audit as audit_log
from storage.models import ApiToken, AuditEvent, Blob, Case, MinihtaSequence, User, UserRole

# ---- interfaces ---------------------------------------------------------------------------------


class AbstractCaseRepository(ABC):
    @abstractmethod
    def add(self, case: Case) -> None: ...

    @abstractmethod
    def get(self, case_id: str) -> Case | None: ...

    @abstractmethod
    def list(
        self, *, hf: str | None = None, state: str | None = None, form_type: str | None = None
    ) -> list[Case]:
        """Cases matching every given filter, newest first."""

    def page(
        self,
        *,
        hf: str | None = None,
        state: str | None = None,
        form_type: str | None = None,
        offset: int = 0,
        limit: int = 25,
    ) -> tuple[int, list[Case]]:
        """The number of cases matching the filters, and `limit` of them from `offset`, in the
        order of `list`. For callers that may see every matching case (no per-case check)."""
        found = self.list(hf=hf, state=state, form_type=form_type)
        return len(found), found[offset : offset + limit]

    @abstractmethod
    def next_minihta_number(self, year: int) -> int:
        """The next `NNN` of `MMV-<year>-NNN` (1, 2, …), taken inside the current transaction."""

    @abstractmethod
    def add_blob(self, sha256: str, size: int, content_type: str, at: datetime) -> Blob:
        """The blob's row, added unless it is there already (the same bytes uploaded twice)."""

    @abstractmethod
    def blob_shas(self) -> set[str]:
        """Every blob some row points at (for fsck)."""


class AbstractUserRepository(ABC):
    @abstractmethod
    def add(self, user: User) -> None: ...

    @abstractmethod
    def get(self, username: str) -> User | None: ...

    @abstractmethod
    def get_by_id(self, user_id: int) -> User | None: ...

    @abstractmethod
    def list(self, *, role: str | None = None, active_only: bool = False) -> list[User]: ...


class AbstractTokenRepository(ABC):
    @abstractmethod
    def add(self, token: ApiToken) -> None: ...

    @abstractmethod
    def get_by_hash(self, token_sha256: str) -> ApiToken | None: ...


class AbstractAuditRepository(ABC):
    @abstractmethod
    def append(
        self,
        *,
        actor: str,
        action: str,
        object: str,
        details: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEvent: ...

    @abstractmethod
    def list(self, *, object: str | None = None) -> list[AuditEvent]: ...

    @abstractmethod
    def verify(self) -> tuple[bool, int | None]: ...


# ---- SQLAlchemy ---------------------------------------------------------------------------------


class SqlAlchemyCaseRepository(AbstractCaseRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: Case) -> None:
        self.session.add(case)

    def get(self, case_id: str) -> Case | None:
        return self.session.get(Case, case_id)

    def list(
        self, *, hf: str | None = None, state: str | None = None, form_type: str | None = None
    ) -> list[Case]:
        q = select(Case)
        if hf is not None:
            q = q.where(Case.hf == hf)
        if state is not None:
            q = q.where(Case.state == state)
        if form_type is not None:
            q = q.where(Case.form_type == form_type)
        return list(self.session.scalars(q.order_by(Case.created_at.desc(), Case.id.desc())))

    def page(
        self,
        *,
        hf: str | None = None,
        state: str | None = None,
        form_type: str | None = None,
        offset: int = 0,
        limit: int = 25,
    ) -> tuple[int, list[Case]]:
        # COUNT and LIMIT/OFFSET in SQL (index 0003 on the filter columns + created_at, id):
        # loading every matching case to show 25 took seconds with 100,000 cases.
        conditions = []
        if hf is not None:
            conditions.append(Case.hf == hf)
        if state is not None:
            conditions.append(Case.state == state)
        if form_type is not None:
            conditions.append(Case.form_type == form_type)
        total = self.session.scalar(select(func.count()).select_from(Case).where(*conditions))
        q = (
            select(Case)
            .where(*conditions)
            .order_by(Case.created_at.desc(), Case.id.desc())
            .offset(offset)
            .limit(limit)
            .options(selectinload(Case.versions), selectinload(Case.transitions))
        )
        return int(total or 0), list(self.session.scalars(q))

    def next_minihta_number(self, year: int) -> int:
        # UPDATE first: it takes the row lock (PostgreSQL) or the write lock (SQLite), so two
        # transactions never get the same number; the loser of a first-of-the-year insert race
        # fails on the primary key and the unit of work reports a conflict.
        moved = self.session.execute(
            update(MinihtaSequence)
            .where(MinihtaSequence.year == year)
            .values(last_number=MinihtaSequence.last_number + 1)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount == 0:
            self.session.add(MinihtaSequence(year=year, last_number=1))
            self.session.flush()
            return 1
        return self.session.execute(
            select(MinihtaSequence.last_number).where(MinihtaSequence.year == year)
        ).scalar_one()

    def add_blob(self, sha256: str, size: int, content_type: str, at: datetime) -> Blob:
        blob = self.session.get(Blob, sha256)
        if blob is None:
            blob = Blob(sha256=sha256, size=size, content_type=content_type, created_at=at)
            self.session.add(blob)
        return blob

    def blob_shas(self) -> set[str]:
        return set(self.session.scalars(select(Blob.sha256)))


class SqlAlchemyUserRepository(AbstractUserRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> None:
        self.session.add(user)

    def get(self, username: str) -> User | None:
        return self.session.scalars(select(User).where(User.username == username)).one_or_none()

    def get_by_id(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def list(self, *, role: str | None = None, active_only: bool = False) -> list[User]:
        q = select(User)
        if role is not None:
            q = q.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
        if active_only:
            q = q.where(User.active.is_(True))
        return list(self.session.scalars(q.order_by(User.username)))


class SqlAlchemyTokenRepository(AbstractTokenRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: ApiToken) -> None:
        self.session.add(token)

    def get_by_hash(self, token_sha256: str) -> ApiToken | None:
        return self.session.scalars(_TOKEN_BY_HASH, {"sha": token_sha256}).unique().one_or_none()


# One query for the token, its user and the user's roles; every API call asks it, so the
# statement (and its loader options, costly to build) is made once.
_TOKEN_BY_HASH = (
    select(ApiToken)
    .where(ApiToken.token_sha256 == bindparam("sha"))
    .options(joinedload(ApiToken.user).joinedload(User.role_rows))
)


class SqlAlchemyAuditRepository(AbstractAuditRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def append(
        self,
        *,
        actor: str,
        action: str,
        object: str,
        details: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        return audit_log.append(
            self.session, actor=actor, action=action, object=object, details=details, at=at
        )

    def list(self, *, object: str | None = None) -> list[AuditEvent]:
        q = select(AuditEvent).order_by(AuditEvent.seq)
        if object is not None:
            q = q.where(AuditEvent.object == object)
        return list(self.session.scalars(q))

    def verify(self) -> tuple[bool, int | None]:
        return audit_log.verify(self.session)


# ---- in memory ----------------------------------------------------------------------------------


class FakeCaseRepository(AbstractCaseRepository):
    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.sequences: dict[int, int] = {}
        self.blobs: dict[str, Blob] = {}

    def add(self, case: Case) -> None:
        if case.id in self.cases:
            raise KeyError(f"case {case.id} exists")
        self.cases[case.id] = case

    def get(self, case_id: str) -> Case | None:
        return self.cases.get(case_id)

    def list(
        self, *, hf: str | None = None, state: str | None = None, form_type: str | None = None
    ) -> list[Case]:
        out = [
            c
            for c in self.cases.values()
            if (hf is None or c.hf == hf)
            and (state is None or c.state == state)
            and (form_type is None or c.form_type == form_type)
        ]
        return sorted(out, key=lambda c: (c.created_at, c.id), reverse=True)

    def next_minihta_number(self, year: int) -> int:
        self.sequences[year] = self.sequences.get(year, 0) + 1
        return self.sequences[year]

    def add_blob(self, sha256: str, size: int, content_type: str, at: datetime) -> Blob:
        if sha256 not in self.blobs:
            self.blobs[sha256] = Blob(
                sha256=sha256, size=size, content_type=content_type, created_at=at
            )
        return self.blobs[sha256]

    def blob_shas(self) -> set[str]:
        return set(self.blobs)


class FakeUserRepository(AbstractUserRepository):
    def __init__(self) -> None:
        self.users: dict[str, User] = {}

    def add(self, user: User) -> None:
        if user.username in self.users:
            raise KeyError(f"user {user.username} exists")
        if user.id is None:
            user.id = max((u.id for u in self.users.values()), default=0) + 1
        self.users[user.username] = user

    def get(self, username: str) -> User | None:
        return self.users.get(username)

    def get_by_id(self, user_id: int) -> User | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    def list(self, *, role: str | None = None, active_only: bool = False) -> list[User]:
        return sorted(
            (
                u
                for u in self.users.values()
                if (role is None or role in u.roles) and (u.active or not active_only)
            ),
            key=lambda u: u.username,
        )


class FakeTokenRepository(AbstractTokenRepository):
    def __init__(self) -> None:
        self.tokens: dict[str, ApiToken] = {}

    def add(self, token: ApiToken) -> None:
        self.tokens[token.token_sha256] = token

    def get_by_hash(self, token_sha256: str) -> ApiToken | None:
        return self.tokens.get(token_sha256)


class FakeAuditRepository(AbstractAuditRepository):
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(
        self,
        *,
        actor: str,
        action: str,
        object: str,
        details: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        prev = self.events[-1].hash if self.events else audit_log.GENESIS
        ev = audit_log.make_event(
            len(self.events) + 1,
            prev,
            at=at or datetime.now(UTC),
            actor=actor,
            action=action,
            object=object,
            details=details,
        )
        row = AuditEvent(
            seq=ev.seq,
            at=ev.at,
            actor=ev.actor,
            action=ev.action,
            object=ev.object,
            details=ev.details,
            prev_hash=ev.prev_hash,
            hash=ev.hash,
        )
        self.events.append(row)
        return row

    def list(self, *, object: str | None = None) -> list[AuditEvent]:
        return [e for e in self.events if object is None or e.object == object]

    def verify(self) -> tuple[bool, int | None]:
        return audit_log.verify_events(self.events)
