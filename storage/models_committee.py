"""Committee tables (issue 5): members' committee attributes, meetings, placed cases, decisions.

A committee member is a `User` with the role `komite` (HF and `beslutningstaker` live on the user);
`CommitteeMember` adds what only the committee needs. A `komite` user without such a row is a
member with the defaults (not fagdirektør, no deputy seat, active without dates).

Every active member sits in every meeting unless the coordinator removes them: a removal is a row
in `meeting_absences`. A case sits in at most one meeting (`meeting_cases.case_id` is unique).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processor.domain import Outcome, recused
from storage.models import Base, Case, JSONType, User, UTCDateTime, check_in

OUTCOMES = tuple(Outcome)
DEFAULT_CASE_LIMIT = 8


class CommitteeMember(Base):
    """The committee attributes of a `komite` user (WORKFLOW.md section 3)."""

    __tablename__ = "committee_members"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    fagdirektor: Mapped[bool] = mapped_column(Boolean, default=False)
    vara_for_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    active_from: Mapped[date | None] = mapped_column(Date, default=None)
    active_to: Mapped[date | None] = mapped_column(Date, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    vara_for: Mapped[User | None] = relationship(foreign_keys=[vara_for_id], lazy="joined")


class Meeting(Base):
    """A committee meeting (digital, every second week): date, time and its case limit."""

    __tablename__ = "meetings"
    __table_args__ = (CheckConstraint("case_limit >= 1", name="case_limit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_date: Mapped[date] = mapped_column(Date, index=True)
    meeting_time: Mapped[time] = mapped_column(Time)
    case_limit: Mapped[int] = mapped_column(Integer, default=DEFAULT_CASE_LIMIT)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    cases: Mapped[list[MeetingCase]] = relationship(
        back_populates="meeting",
        cascade="all, delete-orphan",
        order_by="MeetingCase.position",
        lazy="selectin",
    )
    absences: Mapped[list[MeetingAbsence]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def absent_usernames(self) -> set[str]:
        return {a.username for a in self.absences}


class MeetingAbsence(Base):
    """A member the coordinator removed from one meeting."""

    __tablename__ = "meeting_absences"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    username: Mapped[str] = mapped_column(String(100), primary_key=True)


class MeetingCase(Base):
    """A case placed in a meeting, in agenda order (`position` from 1)."""

    __tablename__ = "meeting_cases"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    placed_by: Mapped[str] = mapped_column(String(100))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship(back_populates="cases", lazy="joined")


class Decision(Base):
    """The committee's decision on a case (WORKFLOW.md section 5) and its letters (blobs)."""

    __tablename__ = "decisions"
    __table_args__ = (CheckConstraint(check_in("outcome", OUTCOMES), name="outcome"),)

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(String(20))
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    reasoning: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pdf_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    docx_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)


# Read through `case.meeting_slot` and `case.decision` (who may see the case, the case page).
Case.meeting_slot = relationship(  # type: ignore[attr-defined]
    MeetingCase, uselist=False, viewonly=True
)
Case.decision = relationship(Decision, uselist=False, viewonly=True)  # type: ignore[attr-defined]


def committee_can_see(user: Any, case: Case) -> bool:
    """A committee member sees a case placed in a meeting they sit in, unless recused
    (WORKFLOW.md sections 1 and 3). Active dates are checked where the meeting is read."""
    if "komite" not in set(user.roles) or not user.hf:
        return False
    slot = case.meeting_slot  # type: ignore[attr-defined]
    if slot is None or user.username in slot.meeting.absent_usernames:
        return False
    latest = case.latest
    data = latest.data if latest else {}
    catchment = (data.get("pasient") or {}).get("opptaksomrade")
    return not recused(str(user.hf), case.hf, str(catchment) if catchment else None)
