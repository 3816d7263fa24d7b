"""SQLAlchemy 2 typed declarative models.

Nothing here may hold anything that identifies a patient: a case version keeps the canonical data of
an *accepted* form (which passed the identity guard), the SHA-256 of the uploaded file and its
suffix only. The uploaded bytes themselves are never stored (FORMS.md section 6, rule 3).

Timestamps are timezone-aware UTC (`UTCDateTime` makes SQLite, which stores no zone, behave like
PostgreSQL's `timestamptz`). Only portable SQL: no SQLite-only types or functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# ---- vocabulary ---------------------------------------------------------------------------------
from processor.domain import CASE_FORM_TYPES, ROLES, STATES


def check_in(column: str, values: tuple[str, ...]) -> str:
    """`str(v)`: an enum member's repr is not its value."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    Refuses naive datetimes on the way in (a naive value is a bug: whose clock?), and gives back
    aware UTC datetimes on the way out, also from SQLite, which keeps no zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: use an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")

# NOK amounts with øre, as floats in Python
Money = Numeric(14, 2, asdecimal=False)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# ---- users and tokens ---------------------------------------------------------------------------


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(check_in("role", ROLES), name="role"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    def __init__(self, role: str) -> None:
        self.role = role


class User(Base):
    __tablename__ = "users"
    # one user per OpenID Connect subject at most (NULLs are many: users without single sign-on)
    __table_args__ = (Index("ix_users_oidc_sub", "oidc_sub", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # argon2 hash; None for API-only users (they log in with a bearer token only)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    hf: Mapped[str | None] = mapped_column(String(20), default=None)
    beslutningstaker: Mapped[bool] = mapped_column(Boolean, default=False)
    fagomrader: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # a session cookie names the generation it was issued under; logging out, a new password
    # and deactivation move it on, which ends every session of the user (web.auth)
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # e-mail address for notifications (CONNECTIONS.md section 2); None: no mail
    epost: Mapped[str | None] = mapped_column(String(254), default=None)
    # the `sub` of the user at the OpenID provider (CONNECTIONS.md section 1); None: no SSO
    oidc_sub: Mapped[str | None] = mapped_column(String(255), default=None)
    # the user's functions in the HF's sign-off (PORTAL.md section 2): lege, linjeleder,
    # fagdirektor; `display_name` is the name shown in sign-offs and receipts
    funksjoner: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default="[]")

    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=UserRole.role
    )
    # `user.roles` behaves like a list of role ids: `"hf" in user.roles`, `user.roles.append(...)`
    roles: AssociationProxy[list[str]] = association_proxy("role_rows", "role")

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def __init__(
        self,
        username: str,
        *,
        display_name: str = "",
        roles: list[str] | tuple[str, ...] = (),
        hf: str | None = None,
        beslutningstaker: bool = False,
        fagomrader: list[str] | None = None,
        funksjoner: list[str] | None = None,
        password_hash: str | None = None,
        active: bool = True,
        created_at: datetime | None = None,
    ) -> None:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        self.username = username
        self.display_name = display_name or username
        self.role_rows = [UserRole(r) for r in dict.fromkeys(roles)]
        self.hf = hf
        self.beslutningstaker = beslutningstaker
        self.fagomrader = list(fagomrader or [])
        self.funksjoner = list(funksjoner or [])
        self.password_hash = password_hash
        self.active = active
        self.created_at = created_at or utcnow()
        self.session_generation = 0

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def __repr__(self) -> str:
        return f"User({self.username!r}, roles={list(self.roles)!r}, hf={self.hf!r})"


class ApiToken(Base):
    """A bearer token, stored only as the SHA-256 of the token (hex)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    user: Mapped[User] = relationship(back_populates="tokens")


# ---- files --------------------------------------------------------------------------------------


class Blob(Base):
    """A file the service made itself (a decision letter), named by the SHA-256 of its bytes (the
    blob store holds the bytes). Uploaded files are never blobs (FORMS.md section 6, rule 3)."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlobDeletion(Base):
    """A blob whose file is to be removed from the blob store: migration 0008 lists here the
    uploaded files that earlier versions stored, and `storage.fsck.purge_deleted_blobs` (run by
    `db upgrade`, `serve` and `fsck`) deletes each file and then its row."""

    __tablename__ = "blob_deletions"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)


# ---- cases --------------------------------------------------------------------------------------


class Case(Base):
    """One case: the reference number (tilgang-del2) or `MMV-ÅÅÅÅ-NNN` (mini-HTA) is its id.

    `version` is the optimistic-concurrency counter: the service raises it on every change, and
    the UPDATE carries `WHERE version = <the value read>`, so a change made on a stale read fails.
    """

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(check_in("state", STATES), name="state"),
        CheckConstraint(check_in("form_type", CASE_FORM_TYPES), name="form_type"),
        # the paged case list, newest first, alone and per filter (migration 0003_indexes)
        Index("ix_cases_created_at_id", "created_at", "id"),
        Index("ix_cases_hf_created_at", "hf", "created_at", "id"),
        Index("ix_cases_state_created_at", "state", "created_at", "id"),
        Index("ix_cases_form_type_created_at", "form_type", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    form_type: Mapped[str] = mapped_column(String(32), index=True)
    hf: Mapped[str] = mapped_column(String(20), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    versions: Mapped[list[CaseVersion]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseVersion.number"
    )
    transitions: Mapped[list[Transition]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Transition.id"
    )
    price_checks: Mapped[list[PriceCheck]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="PriceCheck.id"
    )

    # the application sets the version itself (so the in-memory fake behaves the same)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    def __init__(
        self,
        id: str,
        *,
        form_type: str,
        hf: str,
        state: str,
        created_at: datetime,
        urgent: bool = False,
        urgent_reason: str | None = None,
    ) -> None:
        self.id = id
        self.form_type = form_type
        self.hf = hf
        self.state = state
        self.urgent = urgent
        self.urgent_reason = urgent_reason
        self.created_at = created_at
        self.updated_at = created_at
        self.version = 1
        self.versions = []
        self.transitions = []
        self.price_checks = []

    @property
    def latest(self) -> CaseVersion | None:
        return max(self.versions, key=lambda v: v.number) if self.versions else None

    def get_version(self, number: int) -> CaseVersion | None:
        return next((v for v in self.versions if v.number == number), None)

    def __repr__(self) -> str:
        return f"Case({self.id!r}, {self.form_type!r}, state={self.state!r}, v{self.version})"


class AcceptedUpload:
    """What is kept of one accepted upload of a form (a case version, a mini-HTA attachment):
    the canonical JSON (`data`), the SHA-256 and suffix of the uploaded file, who sent it, when,
    and the warnings; never the file (FORMS.md section 6, rule 3)."""

    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # the SHA-256 (hex) of the uploaded bytes (shown on the receipt): the HF can prove what it
    # sent; not a blob
    file_sha256: Mapped[str] = mapped_column(String(64))
    # only the suffix of the uploaded file name (".pdf"): a file name may hold anything
    file_suffix: Mapped[str] = mapped_column(String(10))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class CaseVersion(AcceptedUpload, Base):
    """One accepted upload of a case's form: version 1..N."""

    __tablename__ = "case_versions"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)

    case: Mapped[Case] = relationship(back_populates="versions")


class Transition(Base):
    """A change of a case's state: who, when, from, to, why. `from_state` is None on creation."""

    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="transitions")


class PriceCheck(Base):
    """Sykehusinnkjøp's confirmation or correction of the monthly drug cost (WORKFLOW.md §2)."""

    __tablename__ = "price_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    stated_per_month: Mapped[float | None] = mapped_column(Money, default=None)
    confirmed_per_month: Mapped[float] = mapped_column(Money)
    corrected: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="price_checks")


class MinihtaSequence(Base):
    """The last `NNN` handed out in `MMV-ÅÅÅÅ-NNN`, per year."""

    __tablename__ = "minihta_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


# ---- audit --------------------------------------------------------------------------------------


class AuditEvent(Base):
    """One line of the append-only, hash-chained audit log (see `storage.audit`)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50), index=True)
    object: Mapped[str] = mapped_column(String(100), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """A single row holding the chain's tail. Appending first updates this row, which serialises
    concurrent appends (a row lock on PostgreSQL, the write lock on SQLite), and lets `verify`
    notice events cut off the end of the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
