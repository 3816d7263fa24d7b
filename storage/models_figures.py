"""Tables of the figures of WORKFLOW.md section 7 (issue 7).

`case_figures` holds one row per case with its figures (the fields of
`processor.statistics.CaseFigures`; the per-stage durations in `case_figure_stages`: case, state,
calendar days, working days), so a change of a case takes its old counts off without reading its
old history. A row remembers the case's `version` and `updated_at` it was computed from;
`services.figures.refresh` recomputes only the rows that are missing or older than their case.
`figures_generation` is one row whose counter rises with every refresh that found the cases
changed; it also keeps the fingerprint of the `cases` table that refresh checked
(`cases_marker`), so a request while nothing changed skips the join that finds stale rows.
`figures_counts` holds the figures of all cases and of each filter and combination of filters
(and of the public figures) as counts kept current at every refresh; the figures a page shows are
read from them in the request (`services.figures`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime


class CaseFigure(Base):
    """The per-case figures (`processor.statistics.CaseFigures`) of one case."""

    __tablename__ = "case_figures"
    __table_args__ = (
        # the date filters (migration 0006), which `services.figures` counts over the rows
        Index("ix_case_figures_received_on", "received_on"),
    )

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
    returns: Mapped[int] = mapped_column(Integer, default=0)
    # '[["from label","to label"],...]': the links of the flow picture as compact JSON text
    links: Mapped[str] = mapped_column(Text, default="[]")
    source_version: Mapped[int] = mapped_column(Integer)
    source_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseFigureStage(Base):
    """Time a case spent in one state, summed over its stays that ended (`CaseFigures.stage_cal`
    and `stage_work`); no row for a state the case never left."""

    __tablename__ = "case_figure_stages"
    __table_args__ = ({"sqlite_with_rowid": False},)  # clustered by (case_id, state)

    case_id: Mapped[str] = mapped_column(
        ForeignKey("case_figures.case_id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    calendar_days: Mapped[int] = mapped_column(Integer)
    working_days: Mapped[int] = mapped_column(Integer)


class FiguresGeneration(Base):
    """A single row (`id = 1`): the generation, raised by every refresh that found the cases
    changed, and the marker of the cases that refresh checked."""

    __tablename__ = "figures_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # `services.figures.cases_marker` when the last refresh found every row current (migration
    # 0004): while the cases give the same marker, a refresh has nothing to look for
    cases_marker: Mapped[str | None] = mapped_column(String(100), default=None)


class FiguresCount(Base):
    """One count of the figures of all cases, or of the cases that pass some filters, summed
    over those cases (`processor.statistics.counter_keys` under `counter_scopes`), kept current
    in the unit of work that rewrites the cases' `case_figures` rows (issue 9): such figures are
    read from a few thousand of these rows instead of counting up to 100,000 cases. Derived
    data: `services.figures` counts them anew from `case_figures` when their number of cases
    differs."""

    __tablename__ = "figures_counts"
    __table_args__ = ({"sqlite_with_rowid": False},)

    # `processor.statistics.counter_scope`: the filters as JSON, '{}' for all cases, or the
    # filters ('{"hf":"OUS"}', '{"hf":"OUS","ar":"2025"}'); text, as a specialty may be long
    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    grouping: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    item: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
