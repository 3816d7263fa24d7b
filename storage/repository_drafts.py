"""The repository of drafts (PORTAL.md): interface and SQLAlchemy adapter; the in-memory fake
for service tests is `tests/fakes.py: FakeDraftRepository`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models_drafts import Draft


class AbstractDraftRepository(ABC):
    @abstractmethod
    def add(self, draft: Draft) -> None: ...

    @abstractmethod
    def get(self, draft_id: str) -> Draft | None: ...

    @abstractmethod
    def list(
        self,
        *,
        hf: str,
        state: str | None = None,
        form_type: str | None = None,
        unchanged_since: datetime | None = None,
    ) -> list[Draft]:
        """The HF's drafts, newest change first (`updated_at`, then id); `unchanged_since`:
        only those last changed at or before that time."""

    @abstractmethod
    def for_case(self, case_id: str) -> list[Draft]:
        """The drafts that submitted this case, newest submission first."""

    @abstractmethod
    def delete(self, draft: Draft) -> None:
        """Remove the draft and its steps."""


class SqlAlchemyDraftRepository(AbstractDraftRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, draft: Draft) -> None:
        self.session.add(draft)
        self.session.flush()

    def get(self, draft_id: str) -> Draft | None:
        return self.session.get(Draft, draft_id)

    def list(
        self,
        *,
        hf: str,
        state: str | None = None,
        form_type: str | None = None,
        unchanged_since: datetime | None = None,
    ) -> list[Draft]:
        q = select(Draft).where(Draft.hf == hf)
        if state is not None:
            q = q.where(Draft.state == state)
        if form_type is not None:
            q = q.where(Draft.form_type == form_type)
        if unchanged_since is not None:
            q = q.where(Draft.updated_at <= unchanged_since)
        q = q.order_by(Draft.updated_at.desc(), Draft.id.desc())
        return list(self.session.scalars(q))

    def for_case(self, case_id: str) -> list[Draft]:
        q = (
            select(Draft)
            .where(Draft.case_id == case_id)
            .order_by(Draft.submitted_at.desc(), Draft.id.desc())
        )
        return list(self.session.scalars(q))

    def delete(self, draft: Draft) -> None:
        self.session.delete(draft)
        self.session.flush()
