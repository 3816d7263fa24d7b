"""Repositories of the committee tables (issue 5): members' attributes, meetings, decisions.

Interfaces and their SQLAlchemy adapters; the in-memory fakes for service tests are in
`tests/fakes.py`. A repository adds and finds objects and never commits (the unit of work does).
A meeting is an aggregate: its placed cases and absences are changed through the `Meeting`
object, except placing a case, which goes through `place` (a case sits in at most one meeting).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models_committee import CommitteeMember, Decision, Meeting, MeetingCase

# ---- interfaces ---------------------------------------------------------------------------------


class AbstractMemberRepository(ABC):
    """The committee attributes of `komite` users (a user without a row has the defaults)."""

    @abstractmethod
    def add(self, member: CommitteeMember) -> None: ...

    @abstractmethod
    def get(self, user_id: int) -> CommitteeMember | None: ...

    @abstractmethod
    def list(self) -> list[CommitteeMember]: ...


class AbstractMeetingRepository(ABC):
    @abstractmethod
    def add(self, meeting: Meeting) -> None:
        """Store a new meeting; its `id` is set when this returns."""

    @abstractmethod
    def get(self, meeting_id: int) -> Meeting | None: ...

    @abstractmethod
    def at(self, on: date, at: time) -> Meeting | None:
        """The meeting on this date at this time, if there is one."""

    @abstractmethod
    def list(self) -> list[Meeting]:
        """Every meeting, in date and time order."""

    @abstractmethod
    def place(
        self, meeting: Meeting, case_id: str, *, position: int, by: str, at: datetime
    ) -> MeetingCase:
        """Put the case on the meeting's agenda at `position` (a case sits in one meeting: a
        second placing fails as a concurrent update, from here or from the commit)."""


class AbstractDecisionRepository(ABC):
    @abstractmethod
    def add(self, decision: Decision) -> None:
        """Store the decision on a case (one per case: a second fails as a concurrent update)."""

    @abstractmethod
    def get(self, case_id: str) -> Decision | None: ...


# ---- SQLAlchemy ---------------------------------------------------------------------------------


class SqlAlchemyMemberRepository(AbstractMemberRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, member: CommitteeMember) -> None:
        self.session.add(member)

    def get(self, user_id: int) -> CommitteeMember | None:
        return self.session.get(CommitteeMember, user_id)

    def list(self) -> list[CommitteeMember]:
        return list(self.session.scalars(select(CommitteeMember)))


class SqlAlchemyMeetingRepository(AbstractMeetingRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, meeting: Meeting) -> None:
        self.session.add(meeting)
        self.session.flush()  # the id, for the audit event and the caller

    def get(self, meeting_id: int) -> Meeting | None:
        return self.session.get(Meeting, meeting_id)

    def at(self, on: date, at: time) -> Meeting | None:
        return self.session.scalars(
            select(Meeting).where(Meeting.meeting_date == on, Meeting.meeting_time == at)
        ).first()

    def list(self) -> list[Meeting]:
        return list(
            self.session.scalars(
                select(Meeting).order_by(Meeting.meeting_date, Meeting.meeting_time)
            )
        )

    def place(
        self, meeting: Meeting, case_id: str, *, position: int, by: str, at: datetime
    ) -> MeetingCase:
        slot = MeetingCase(case_id=case_id, position=position, placed_by=by, placed_at=at)
        meeting.cases.append(slot)
        return slot


class SqlAlchemyDecisionRepository(AbstractDecisionRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, decision: Decision) -> None:
        self.session.add(decision)

    def get(self, case_id: str) -> Decision | None:
        return self.session.get(Decision, case_id)
