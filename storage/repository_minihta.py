"""Repositories of the mini-HTA tables (issue 6): attachments, peer assignments, publications.

Interfaces and their SQLAlchemy adapters; the in-memory fakes for service tests are in
`tests/fakes.py`. Full-text search of the public database is a storage concern and stays here,
behind `AbstractPublicationRepository.search`: the FTS5 table on SQLite, the `tsvector` column
with the Norwegian dictionary on PostgreSQL (both made by migration 0002_minihta).

Both backends stem Norwegian with Snowball, so they answer alike («kirurgien» finds «kirurgi»):
PostgreSQL's `norwegian` configuration is the Snowball stemmer; on SQLite the words are stemmed
in Python (`snowballstemmer`, the Snowball project's own package) before they go into the FTS5
table (`index_body`, migration 0012 reindexed what was there) and in the query (`query_stems`).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Any

import snowballstemmer
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage.models import Case
from storage.models_minihta import SEARCH_TABLE, MinihtaAttachment, PeerAssignment, Publication

# the publication columns whose values `facets` lists (the public search filters)
FACETS = ("hf", "year", "fagomrade", "konklusjon")


def search_words(q: str) -> list[str]:
    """The words of a search query; a query without words finds nothing."""
    return re.findall(r"\w+", q)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    return snowballstemmer.stemmer("norwegian")


def query_stems(q: str) -> list[str]:
    """The Norwegian Snowball stems of the query's words, lower case."""
    return _stemmer().stemWords([w.casefold() for w in search_words(q)])


def index_body(text: str) -> str:
    """What the SQLite FTS5 table holds for a publication: its words' stems, in order."""
    return " ".join(query_stems(text))


def reindex_sqlite(conn: Connection) -> None:
    """Refill the SQLite FTS5 table from `minihta_publications.search_text`, stemmed."""
    rows = conn.execute(text("SELECT case_id, search_text FROM minihta_publications")).all()
    conn.execute(text(f"DELETE FROM {SEARCH_TABLE}"))
    if rows:
        conn.execute(
            text(f"INSERT INTO {SEARCH_TABLE} (case_id, body) VALUES (:id, :body)"),
            [{"id": case_id, "body": index_body(body or "")} for case_id, body in rows],
        )


# ---- interfaces ---------------------------------------------------------------------------------


class AbstractAttachmentRepository(ABC):
    @abstractmethod
    def add(self, attachment: MinihtaAttachment) -> None: ...

    @abstractmethod
    def list(self, case_id: str, form_type: str) -> list[MinihtaAttachment]:
        """The case's attachments of this form type, oldest (number 1) first."""


class AbstractReviewRepository(ABC):
    """Peer reviewer assignments with their declarations of interest."""

    @abstractmethod
    def add(self, assignment: PeerAssignment) -> None:
        """Store a new assignment; `case.peer_assignments` of its case shows it afterwards."""

    @abstractmethod
    def for_case(self, case_id: str) -> list[PeerAssignment]:
        """The case's assignments, oldest first."""

    @abstractmethod
    def of_reviewer(self, reviewer: str) -> list[PeerAssignment]:
        """The reviewer's assignments, newest first."""

    @abstractmethod
    def open_counts(self) -> dict[str, int]:
        """Open reviews (active, not completed) per reviewer; reviewers with none left out."""


class AbstractPublicationRepository(ABC):
    @abstractmethod
    def get(self, case_id: str) -> Publication | None: ...

    @abstractmethod
    def save(self, publication: Publication) -> None:
        """Store the publication (new or changed) and index its `search_text` for `search`."""

    @abstractmethod
    def search(
        self,
        *,
        q: str = "",
        hf: str | None = None,
        year: int | None = None,
        fagomrade: str | None = None,
        konklusjon: str | None = None,
        limit: int = 200,
    ) -> list[Publication]:
        """Publications matching every given filter, newest first. `q`: the stem of every word
        of it begins the stem of a word of the search text (Norwegian Snowball stems on both
        backends); `fagomrade` matches without regard to case; the other filters exactly."""

    @abstractmethod
    def facets(self) -> dict[str, list[Any]]:
        """The distinct non-empty values of each column in `FACETS`, sorted."""


# ---- SQLAlchemy ---------------------------------------------------------------------------------


class SqlAlchemyAttachmentRepository(AbstractAttachmentRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, attachment: MinihtaAttachment) -> None:
        self.session.add(attachment)

    def list(self, case_id: str, form_type: str) -> list[MinihtaAttachment]:
        return list(
            self.session.scalars(
                select(MinihtaAttachment)
                .where(
                    MinihtaAttachment.case_id == case_id, MinihtaAttachment.form_type == form_type
                )
                .order_by(MinihtaAttachment.number)
            )
        )


class SqlAlchemyReviewRepository(AbstractReviewRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, assignment: PeerAssignment) -> None:
        self.session.add(assignment)
        self.session.flush()
        # the case's view-only collection may have been loaded before the new row existed
        case = self.session.get(Case, assignment.case_id)
        if case is not None:
            self.session.expire(case, ["peer_assignments"])

    def for_case(self, case_id: str) -> list[PeerAssignment]:
        return list(
            self.session.scalars(
                select(PeerAssignment)
                .where(PeerAssignment.case_id == case_id)
                .order_by(PeerAssignment.id)
            )
        )

    def of_reviewer(self, reviewer: str) -> list[PeerAssignment]:
        return list(
            self.session.scalars(
                select(PeerAssignment)
                .where(PeerAssignment.reviewer == reviewer)
                .order_by(PeerAssignment.id.desc())
            )
        )

    def open_counts(self) -> dict[str, int]:
        rows = self.session.execute(
            select(PeerAssignment.reviewer, func.count())
            .where(PeerAssignment.active.is_(True), PeerAssignment.completed_at.is_(None))
            .group_by(PeerAssignment.reviewer)
        )
        return {name: int(n) for name, n in rows}


class SqlAlchemyPublicationRepository(AbstractPublicationRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def get(self, case_id: str) -> Publication | None:
        return self.session.get(Publication, case_id)

    def save(self, publication: Publication) -> None:
        self.session.add(publication)
        self.session.flush()
        params = {"id": publication.case_id, "body": publication.search_text}
        dialect = self._dialect()
        if dialect == "sqlite":
            self.session.execute(text(f"DELETE FROM {SEARCH_TABLE} WHERE case_id = :id"), params)
            self.session.execute(
                text(f"INSERT INTO {SEARCH_TABLE} (case_id, body) VALUES (:id, :body)"),
                params | {"body": index_body(publication.search_text or "")},
            )
        elif dialect == "postgresql":
            self.session.execute(
                text(
                    "UPDATE minihta_publications SET search_vector = "
                    "to_tsvector('norwegian', :body) WHERE case_id = :id"
                ),
                params,
            )

    def search(
        self,
        *,
        q: str = "",
        hf: str | None = None,
        year: int | None = None,
        fagomrade: str | None = None,
        konklusjon: str | None = None,
        limit: int = 200,
    ) -> list[Publication]:
        stmt = select(Publication)
        if hf:
            stmt = stmt.where(Publication.hf == hf)
        if year is not None:
            stmt = stmt.where(Publication.year == year)
        if fagomrade:
            stmt = stmt.where(func.lower(Publication.fagomrade) == fagomrade.lower())
        if konklusjon:
            stmt = stmt.where(Publication.konklusjon == konklusjon)
        if q:
            words = search_words(q)
            if not words:
                return []
            dialect = self._dialect()
            if dialect == "sqlite":  # the table holds stems (`index_body`)
                match = " ".join(f'"{w}"*' for w in query_stems(q))
                ids = (
                    select(text("case_id"))
                    .select_from(text(SEARCH_TABLE))
                    .where(text(f"{SEARCH_TABLE} MATCH :match"))
                )
                stmt = stmt.where(Publication.case_id.in_(ids)).params(match=match)
            elif dialect == "postgresql":
                # every word stemmed by the Norwegian dictionary and matched as a prefix
                tsq = " & ".join(f"{w}:*" for w in words)
                stmt = stmt.where(text("search_vector @@ to_tsquery('norwegian', :tsq)")).params(
                    tsq=tsq
                )
            else:  # pragma: no cover - only SQLite and PostgreSQL are supported
                stmt = stmt.where(Publication.search_text.contains(q))
        stmt = stmt.order_by(Publication.published_at.desc(), Publication.case_id.desc())
        return list(self.session.scalars(stmt.limit(limit)))

    def facets(self) -> dict[str, list[Any]]:
        def distinct(column: Any) -> list[Any]:
            return sorted(v for v in self.session.scalars(select(column).distinct()) if v)

        return {name: distinct(getattr(Publication, name)) for name in FACETS}
