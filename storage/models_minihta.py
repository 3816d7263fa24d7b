"""Mini-HTA tables (issue 6): attachments, reviewer assignments, conflicts, publications.

The search index is not a model: on SQLite it is the FTS5 table `minihta_publications_fts`, on
PostgreSQL the `tsvector` column `minihta_publications.search_vector` with a GIN index; both are
created by migration 0002_minihta for their backend only (`SEARCH_OBJECTS` names them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processor.domain import MINIHTA_ATTACHMENTS
from storage.models import AcceptedUpload, Base, Case, UTCDateTime, check_in

ATTACHMENT_FORMS = MINIHTA_ATTACHMENTS
CONFLICT_LEVELS = ("gronn", "gul", "rod")
CONFLICT_LABELS = {"gronn": "Grønn", "gul": "Gul", "rod": "Rød"}
# a reviewer may raise a declaration, never lower it (only the coordinator lowers one)
CONFLICT_RANK = {level: rank for rank, level in enumerate(CONFLICT_LEVELS)}
SEARCH_TABLE = "minihta_publications_fts"
SEARCH_COLUMN = "search_vector"
SEARCH_INDEX = "ix_minihta_publications_search_vector"
# characters of a publication's fagomrade (its filter value; the whole text is in the document)
FAGOMRADE_CHARS = 200


class MinihtaAttachment(AcceptedUpload, Base):
    """One accepted later form of a mini-HTA case: economics, peer review or decision."""

    __tablename__ = "minihta_attachments"
    __table_args__ = (
        CheckConstraint(check_in("form_type", ATTACHMENT_FORMS), name="form_type"),
        UniqueConstraint("case_id", "form_type", "number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    form_type: Mapped[str] = mapped_column(String(32))
    number: Mapped[int] = mapped_column(Integer)


class PeerAssignment(Base):
    """A peer reviewer assigned to a mini-HTA, with their declaration of interests.

    `active` turns false when a red declaration ends the assignment; `completed_at` is set when
    skjema 2 is received. Open reviews are active and not completed.
    """

    __tablename__ = "peer_assignments"
    __table_args__ = (
        CheckConstraint(
            f"conflict_level IS NULL OR {check_in('conflict_level', CONFLICT_LEVELS)}",
            name="conflict_level",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(100), index=True)
    assigned_by: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    conflict_level: Mapped[str | None] = mapped_column(String(10), default=None)
    conflict_description: Mapped[str | None] = mapped_column(Text, default=None)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    approved_by: Mapped[str | None] = mapped_column(String(100), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    name_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The reviewer agreed to be named in the public record (default: published unnamed)."""

    @property
    def is_open(self) -> bool:
        return self.active and self.completed_at is None


class Publication(Base):
    """A published mini-HTA (with its peer review and decision) in the public database."""

    __tablename__ = "minihta_publications"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(Text)
    hf: Mapped[str] = mapped_column(String(20), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    fagomrade: Mapped[str] = mapped_column(String(FAGOMRADE_CHARS), index=True)
    konklusjon: Mapped[str] = mapped_column(String(40), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# Read through `case.peer_assignments` (who may see the case, WORKFLOW.md section 1).
Case.peer_assignments = relationship(  # type: ignore[attr-defined]
    PeerAssignment, order_by=PeerAssignment.id, viewonly=True
)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """For Alembic's autogenerate compare: skip the backend-specific search objects."""
    if name is None:
        return True
    return not (name.startswith(SEARCH_TABLE) or name in {SEARCH_COLUMN, SEARCH_INDEX})
