"""Drafts and their sign-off steps (PORTAL.md, issue 14).

A draft keeps the values as typed (`values`, JSON) and, once submitted, the exact bytes of the
submitted form `C(data)` (`stored`): the receipt's SHA-256 is over these bytes, never over a
JSON column read back (a database JSON type may rewrite numbers and key order).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processor.domain import DRAFT_FORM_TYPES, DRAFT_STATES, HF_FUNCTIONS
from storage.models import Base, JSONType, UTCDateTime, check_in


class Draft(Base):
    """One draft (`utkast`) of an HF. `version` is the contract's `versjon` and the
    optimistic-concurrency counter (the UPDATE carries `WHERE version = <the value read>`)."""

    __tablename__ = "drafts"
    __table_args__ = (
        CheckConstraint(check_in("state", DRAFT_STATES), name="state"),
        CheckConstraint(check_in("form_type", DRAFT_FORM_TYPES), name="form_type"),
        Index("ix_drafts_hf_updated_at", "hf", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hf: Mapped[str] = mapped_column(String(20))
    form_type: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    values: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    # everyone who created, imported, saved or sent it: none of them may approve it
    authors: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # once submitted: the case, when, the SHA-256 (hex) of C(data) and those exact bytes
    case_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    stored: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)

    steps: Mapped[list[DraftApproval]] = relationship(
        back_populates="draft",
        cascade="all, delete-orphan",
        order_by="DraftApproval.seq",
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    def __init__(
        self,
        id: str,
        *,
        hf: str,
        form_type: str,
        state: str,
        created_by: str,
        created_at: datetime,
        values: dict[str, Any] | None = None,
    ) -> None:
        self.id = id
        self.hf = hf
        self.form_type = form_type
        self.state = state
        self.version = 1
        self.values = dict(values or {})
        self.created_by = created_by
        self.authors = [created_by]
        self.created_at = created_at
        self.updated_at = created_at
        self.case_id = None
        self.submitted_at = None
        self.sha256 = None
        self.stored = None
        self.steps = []

    def __repr__(self) -> str:
        return f"Draft({self.id!r}, {self.form_type!r}, state={self.state!r}, v{self.version})"


class DraftApproval(Base):
    """One step of a draft's sign-off, in order: the lege's send, an approval or a return.
    `round` counts the sends: a return voids the approvals of its round."""

    __tablename__ = "draft_approvals"
    __table_args__ = (CheckConstraint(check_in("function", HF_FUNCTIONS), name="function"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[str] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    function: Mapped[str] = mapped_column(String(20))
    username: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    approved: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    draft: Mapped[Draft] = relationship(back_populates="steps")
