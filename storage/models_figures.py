"""Tables of the figures of WORKFLOW.md section 7 (issue 7).

`case_figures` holds one row per case with what the aggregation needs (the fields of
`processor.statistics.CaseFigures`), so the figures of 100,000 cases are aggregated without
reading their histories. A row remembers the case's `version` and `updated_at` it was computed
from; `storage.figures.refresh` recomputes only the rows that are missing or older than their case.
`figures_generation` is one row whose counter rises with every refresh that changed rows, so a
process can tell whether its cached aggregates are still current.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, JSONType, UTCDateTime


class CaseFigure(Base):
    """The per-case figures (`processor.statistics.CaseFigures`) of one case."""

    __tablename__ = "case_figures"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    form_type: Mapped[str] = mapped_column(String(32))
    hf: Mapped[str] = mapped_column(String(20), index=True)
    region: Mapped[str] = mapped_column(String(20))
    fagomrade: Mapped[str | None] = mapped_column(String(200), default=None)
    received_on: Mapped[date] = mapped_column(Date)
    received_year: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(20))
    # date of the decision (outcome innvilget, avslatt, innfort ...) or of the withdrawal
    outcome_on: Mapped[date | None] = mapped_column(Date, default=None)
    outcome: Mapped[str] = mapped_column(String(40))
    total_calendar_days: Mapped[int | None] = mapped_column(Integer, default=None)
    total_working_days: Mapped[int | None] = mapped_column(Integer, default=None)
    # {state: [calendar days, working days]} over the stays that ended, in workflow order
    stages: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    returns: Mapped[int] = mapped_column(Integer, default=0)
    # [[from label, to label], ...]: the links of the flow picture
    links: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    source_version: Mapped[int] = mapped_column(Integer)
    source_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FiguresGeneration(Base):
    """A single row (`id = 1`): raised by every refresh that wrote rows."""

    __tablename__ = "figures_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(Integer, default=0)
