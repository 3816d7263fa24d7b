"""Repositories: how services reach stored objects, with SQLAlchemy and in-memory versions.

A repository adds and finds model objects; it never commits (the unit of work does). The in-memory
versions (`tests/fakes.py`) keep the same model classes in dictionaries, so service tests run in
milliseconds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import CTE, BindParameter, Insert, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from processor.domain import Actor
from storage import audit as audit_log
from storage.models import (
    ApiToken,
    AuditEvent,
    Blob,
    Case,
    CaseVersion,
    MinihtaSequence,
    Transition,
    User,
    UserRole,
)

# ---- interfaces ---------------------------------------------------------------------------------


class AbstractCaseRepository(ABC):
    @abstractmethod
    def add(self, case: Case) -> None: ...

    @abstractmethod
    def get(self, case_id: str) -> Case | None: ...

    @abstractmethod
    def exists(self, case_id: str) -> bool:
        """Whether a case with this id is stored (cheaper than `get` when it mostly is not)."""

    def taken(self, case_id: str) -> bool | None:
        """`exists`, where asking costs no round trip to a database server (an embedded or an
        in-memory store); None where it would, and `create` is left to decide."""
        return self.exists(case_id)

    @abstractmethod
    def create(self, case: Case) -> bool:
        """Store a new case with the versions and transitions it holds, now. False, storing
        nothing, when a case with this id is stored already, or was committed by another transaction meanwhile: the
        database decides, so two uploads of one reference never both create it.

        For the upload path, where the ORM's unit-of-work bookkeeping costs more than the SQL.
        The object is not tracked afterwards: change the case through `get`."""

    @abstractmethod
    def list(
        self,
        *,
        hf: str | None = None,
        state: str | None = None,
        form_type: str | None = None,
        id_contains: str | None = None,
    ) -> list[Case]:
        """Cases matching every given filter, newest first (`id_contains`: part of the id, in
        any case)."""

    def page(
        self,
        *,
        hf: str | None = None,
        state: str | None = None,
        form_type: str | None = None,
        id_contains: str | None = None,
        offset: int = 0,
        limit: int = 25,
    ) -> tuple[int, list[Case]]:
        """The number of cases matching the filters, and `limit` of them from `offset`, in the
        order of `list`. For callers that may see every matching case (no per-case check)."""
        found = self.list(hf=hf, state=state, form_type=form_type, id_contains=id_contains)
        return len(found), found[offset : offset + limit]

    @abstractmethod
    def next_minihta_number(self, year: int) -> int:
        """The next `NNN` of `MMV-<year>-NNN` (1, 2, …), taken inside the current transaction."""

    @abstractmethod
    def add_blob(self, sha256: str, size: int, content_type: str, at: datetime) -> None:
        """Add the row of a blob the service made (a letter) unless it is there already."""

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
    def by_oidc_sub(self, sub: str) -> User | None: ...

    @abstractmethod
    def list(self, *, role: str | None = None, active_only: bool = False) -> list[User]: ...

    @abstractmethod
    def with_function(self, hf: str, *, role: str, function: str) -> list[User]:
        """The active users of one HF with `role` who hold the HF function, by username."""


class TokenOwner(NamedTuple):
    """What authenticating a bearer token needs: its user as an `Actor`, and when it was used."""

    actor: Actor
    active: bool
    last_used_at: datetime | None


class AbstractTokenRepository(ABC):
    @abstractmethod
    def add(self, token: ApiToken) -> None: ...

    @abstractmethod
    def owner(self, token_sha256: str) -> TokenOwner | None:
        """The user of the token (with the token's last use), or None for an unknown token."""

    @abstractmethod
    def mark_used(self, token_sha256: str, at: datetime) -> None:
        """Set the token's `last_used_at` (in the current transaction)."""


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


def _id_contains(text: str) -> Any:
    """`Case.id` holds `text` anywhere, ignoring case; `%` and `_` are matched as themselves."""
    escaped = text.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.upper(Case.id).like(f"%{escaped}%", escape="\\")


def _case_conditions(
    hf: str | None, state: str | None, form_type: str | None, id_contains: str | None
) -> list[Any]:
    """The WHERE conditions of `list` and `page`: every filter given."""
    conditions = []
    if hf is not None:
        conditions.append(Case.hf == hf)
    if state is not None:
        conditions.append(Case.state == state)
    if form_type is not None:
        conditions.append(Case.form_type == form_type)
    if id_contains:
        conditions.append(_id_contains(id_contains))
    return conditions


# the order of `list` and `page` (index 0003 serves it)
_NEWEST_FIRST = (Case.created_at.desc(), Case.id.desc())


class SqlAlchemyCaseRepository(AbstractCaseRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: Case) -> None:
        self.session.add(case)

    def get(self, case_id: str) -> Case | None:
        return self.session.get(Case, case_id)

    def exists(self, case_id: str) -> bool:
        return self.session.connection().execute(_CASE_EXISTS, {"id": case_id}).first() is not None

    def taken(self, case_id: str) -> bool | None:
        if self.session.get_bind().dialect.name == "sqlite":  # in this process: a cheap read
            return self.exists(case_id)
        return None

    def create(self, case: Case) -> bool:
        if case.price_checks:
            raise ValueError("a new case has no price checks")
        # pending ORM changes first, as a query would (the rows below may refer to them)
        self.session.flush()
        conn = self.session.connection()
        row = {c: getattr(case, c) for c in _CASE_COLUMNS}
        versions = [
            {c: getattr(v, c) for c in _VERSION_COLUMNS}
            | {"case_id": case.id, "warnings": v.warnings if v.warnings is not None else []}
            for v in case.versions
        ]
        transitions = [
            {c: getattr(t, c) for c in _TRANSITION_COLUMNS} | {"case_id": case.id}
            for t in case.transitions
        ]
        combined = _CREATE_ONE_VERSION.get(conn.dialect.name)
        if combined is not None and len(versions) == len(transitions) == 1:
            # the upload's shape, in one statement: a round trip costs the server more than a row
            params = {f"c_{k}": v for k, v in row.items()}
            params.update({f"v_{k}": v for k, v in versions[0].items()})
            params.update({f"t_{k}": v for k, v in transitions[0].items()})
            return conn.execute(combined, params).first() is not None
        if_new = _INSERT_CASE_IF_NEW.get(conn.dialect.name)
        if if_new is not None:
            if conn.execute(if_new, row).rowcount != 1:
                return False
        elif self.exists(case.id):
            return False
        else:
            conn.execute(_INSERT_CASE, row)
        for stmt, rows in ((_INSERT_VERSION, versions), (_INSERT_TRANSITION, transitions)):
            if rows:
                # one row as a plain execute: psycopg's executemany sets up a pipeline
                conn.execute(stmt, rows[0] if len(rows) == 1 else rows)
        return True

    def list(
        self,
        *,
        hf: str | None = None,
        state: str | None = None,
        form_type: str | None = None,
        id_contains: str | None = None,
    ) -> list[Case]:
        q = select(Case).where(*_case_conditions(hf, state, form_type, id_contains))
        return list(self.session.scalars(q.order_by(*_NEWEST_FIRST)))

    def page(
        self,
        *,
        hf: str | None = None,
        state: str | None = None,
        form_type: str | None = None,
        id_contains: str | None = None,
        offset: int = 0,
        limit: int = 25,
    ) -> tuple[int, list[Case]]:
        # COUNT and LIMIT/OFFSET in SQL (index 0003 on the filter columns + created_at, id):
        # loading every matching case to show 25 took seconds with 100,000 cases.
        conditions = _case_conditions(hf, state, form_type, id_contains)
        total = self.session.scalar(select(func.count()).select_from(Case).where(*conditions))
        q = (
            select(Case)
            .where(*conditions)
            .order_by(*_NEWEST_FIRST)
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

    def add_blob(self, sha256: str, size: int, content_type: str, at: datetime) -> None:
        self.session.flush()  # pending ORM changes first, as a query would
        conn = self.session.connection()
        stmt = _INSERT_BLOB_IF_NEW.get(conn.dialect.name)
        row = {"sha256": sha256, "size": size, "content_type": content_type, "created_at": at}
        if stmt is not None:
            conn.execute(stmt, row)
        elif conn.execute(_BLOB_EXISTS, {"sha256": sha256}).first() is None:
            conn.execute(insert(_BLOBS), row)

    def blob_shas(self) -> set[str]:
        return set(self.session.scalars(select(Blob.sha256)))


# Core statements of the upload path, built once (see `create`)
_CASES = Case.__table__
_BLOBS = Blob.__table__
_CASE_EXISTS = select(_CASES.c.id).where(_CASES.c.id == bindparam("id"))
_INSERT_CASE = insert(_CASES)
_INSERT_VERSION = insert(CaseVersion.__table__)
_INSERT_TRANSITION = insert(Transition.__table__)


def _bound(table: Table, prefix: str, columns: tuple[str, ...]) -> dict[str, BindParameter]:
    """{column: :prefix_column}, typed by the columns."""
    return {c: bindparam(prefix + c, type_=table.c[c].type) for c in columns}


def _insert_for_new_case(
    table: Table, prefix: str, columns: tuple[str, ...], new_case: CTE
) -> Insert:
    """INSERT INTO table (columns) SELECT :prefix_column, ... FROM new_case: a row only when the
    case was inserted."""
    bound = _bound(table, prefix, columns)
    return postgresql_insert(table).from_select(
        list(columns), select(*(bound[c] for c in columns)).select_from(new_case)
    )


_CASE_COLUMNS = (
    "id",
    "form_type",
    "hf",
    "state",
    "urgent",
    "urgent_reason",
    "created_at",
    "updated_at",
    "version",
)
_VERSION_COLUMNS = (
    "case_id",
    "number",
    "data",
    "file_sha256",
    "file_suffix",
    "uploaded_by",
    "received_at",
    "warnings",
)
_TRANSITION_COLUMNS = ("case_id", "from_state", "to_state", "actor", "reason", "at")
# A case unless its id is taken (then no row, and the caller loads the case instead). The
# rowcount of an INSERT is kept only on request (psycopg's read as -1 without it).
_INSERT_CASE_IF_NEW = {
    name: insert_for(_CASES)
    .on_conflict_do_nothing(index_elements=["id"])
    .execution_options(preserve_rowcount=True)
    for name, insert_for in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
}


def _create_one_version() -> Insert:
    """The upload's case as one statement, where data-modifying WITH exists (PostgreSQL): the
    case unless its id is taken, then its version and transition only when the case row was
    inserted. A row comes back when it was. The foreign keys are checked at the end of the
    statement, when every row is there."""
    new_case = (
        postgresql_insert(_CASES)
        .values(_bound(_CASES, "c_", _CASE_COLUMNS))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(_CASES.c.id)
        .cte("new_case")
    )
    versions = CaseVersion.__table__
    new_version = _insert_for_new_case(versions, "v_", _VERSION_COLUMNS, new_case).cte(
        "new_version"
    )
    transitions = Transition.__table__
    return (
        _insert_for_new_case(transitions, "t_", _TRANSITION_COLUMNS, new_case)
        .returning(transitions.c.case_id)
        .add_cte(new_case)
        .add_cte(new_version)
    )


_CREATE_ONE_VERSION = {"postgresql": _create_one_version()}
_BLOB_EXISTS = select(_BLOBS.c.sha256).where(_BLOBS.c.sha256 == bindparam("sha256"))
_INSERT_BLOB_IF_NEW = {
    "sqlite": sqlite_insert(_BLOBS).on_conflict_do_nothing(index_elements=["sha256"]),
    "postgresql": postgresql_insert(_BLOBS).on_conflict_do_nothing(index_elements=["sha256"]),
}


class SqlAlchemyUserRepository(AbstractUserRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> None:
        self.session.add(user)

    def get(self, username: str) -> User | None:
        return self.session.scalars(select(User).where(User.username == username)).one_or_none()

    def get_by_id(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def by_oidc_sub(self, sub: str) -> User | None:
        return self.session.scalars(select(User).where(User.oidc_sub == sub)).one_or_none()

    def list(self, *, role: str | None = None, active_only: bool = False) -> list[User]:
        q = select(User)
        if role is not None:
            q = q.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
        if active_only:
            q = q.where(User.active.is_(True))
        return list(self.session.scalars(q.order_by(User.username)))

    def with_function(self, hf: str, *, role: str, function: str) -> list[User]:
        q = (
            select(User)
            .where(User.hf == hf, User.active.is_(True))
            .where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
            .order_by(User.username)
        )
        # `funksjoner` is a JSON list: read here, for one HF's users, not with a dialect's operators
        return [u for u in self.session.scalars(q) if function in (u.funksjoner or ())]


class SqlAlchemyTokenRepository(AbstractTokenRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: ApiToken) -> None:
        self.session.add(token)

    def owner(self, token_sha256: str) -> TokenOwner | None:
        rows = self.session.connection().execute(_TOKEN_OWNER, {"sha": token_sha256}).all()
        if not rows:
            return None
        username, hf, active, last_used_at, _ = rows[0]
        roles = frozenset(r.role for r in rows if r.role is not None)
        return TokenOwner(Actor(username, roles, hf), bool(active), last_used_at)

    def mark_used(self, token_sha256: str, at: datetime) -> None:
        self.session.connection().execute(_TOKEN_USED, {"sha": token_sha256, "at": at})


# Every API call asks who its token belongs to: one Core query (a row per role) built once. The
# ORM's loading of token, user and roles cost several times the query itself.
_TOKEN_OWNER = (
    select(User.username, User.hf, User.active, ApiToken.last_used_at, UserRole.role)
    .select_from(ApiToken)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(ApiToken.token_sha256 == bindparam("sha"))
)
_TOKEN_USED = (
    update(ApiToken.__table__)
    .where(ApiToken.__table__.c.token_sha256 == bindparam("sha"))
    .values(last_used_at=bindparam("at"))
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
