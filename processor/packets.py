"""Packets a reviewer downloads (WORKFLOW.md §4): the meeting packet and the peer review packet.

A packet is built from stored canonical data, never from a file an HF uploaded. Both builders are
pure (values in, ZIP bytes out) and deterministic: the same inputs give the same bytes (sorted entry
names, fixed entry dates and compression, reportlab's invariant mode, fixed workbook properties,
fixed PDF metadata), so a packet can be rebuilt later and compared.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from pypdf import PdfReader, PdfWriter
from reportlab.platypus import Flowable, Spacer

from forms.catalog import get_form
from forms.templates import build, zipped
from forms.templates.xlsx import append_row, normalise_zip, workbook_time
from forms.text import xml_text
from processor import timefmt
from processor.domain import FormType
from processor.render import (
    EMPTY,
    build_document,
    format_date,
    format_nok,
    format_value,
    format_weekday_date,
    get_path,
    grid_table,
    heading,
    hf_name,
    kv_table,
    para,
    render_case_pdf,
    styles,
)

MEETING_FOOTER = "Fortrolig – til bruk i vurderingskomitéen – {name} – {date}"
PEER_FOOTER = "Fortrolig – til bruk i fagfellevurderingen – {case_id} – {date}"


@dataclass(frozen=True)
class PacketCase:
    """One case as it goes into a meeting packet.

    `data` is the canonical JSON of the case's current version. `price_check` is Sykehusinnkjøp's
    latest check as a dict with the keys of `storage.models.PriceCheck`: `confirmed_per_month`
    (number), `stated_per_month` (number or None), `corrected` (bool), `note` (str), optionally
    `at` (date or datetime); None when there is none. `notes` are the coordinator's notes.
    """

    id: str
    form_id: str
    data: dict
    price_check: dict | None = None
    notes: list[str] = field(default_factory=list)
    urgent: bool = False


@dataclass(frozen=True)
class MeetingInfo:
    """A meeting: `members` are (name, HF code, Norwegian role such as "Beslutningstaker")."""

    id: str
    date: date
    time: time | str
    members: list[tuple[str, str, str]] = field(default_factory=list)


# ---- small pieces -------------------------------------------------------------------------------


def safe_name(case_id: str) -> str:
    """A case id as it appears in a file name (anything but letters, digits, . _ - becomes _)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", case_id) or "_"


def format_time(value: time | str) -> str:
    """`kl. 13:00` for a time; a string is shown as given (with `kl.` in front when bare)."""
    if isinstance(value, time):
        return timefmt.clock_text(value)
    text = str(value).strip()
    return text if text.startswith("kl") else f"kl. {text}"


def write_zip(parts: Sequence[tuple[str, bytes]], day: date, comment: str = "") -> bytes:
    """A deterministic ZIP: names sorted, every entry dated `day` 00:00, fixed compression."""
    names = [name for name, _ in parts]
    if len(set(names)) != len(names):
        raise ValueError("duplicate names in packet")
    stamp = (max(day.year, 1980), day.month, day.day, 0, 0, 0)
    return zipped.write_zip(sorted(parts), stamp, xml_text(comment).encode("utf-8")[:65535])


def merge_pdfs(
    docs: Sequence[tuple[str, bytes]],
    *,
    title: str,
    subject: str = "",
    created: datetime | None = None,
) -> bytes:
    """The PDFs one after the other, one outline entry (bookmark) per document; fixed metadata
    (`created`, Europe/Oslo, is the creation date)."""
    writer = PdfWriter()
    for outline_title, pdf in docs:
        start = len(writer.pages)
        writer.append(PdfReader(io.BytesIO(pdf)), import_outline=False)
        writer.add_outline_item(title=xml_text(outline_title), page_number=start)
    writer.add_metadata(
        {
            "/Title": xml_text(title),
            "/Author": "Nye metoder",
            "/Subject": xml_text(subject),
            "/Creator": "skjemamottak",
            "/Producer": "skjemamottak",
            **_pdf_dates(created),
        }
    )
    writer.page_mode = "/UseOutlines"
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _pdf_dates(created: datetime | None) -> dict[str, str]:
    """/CreationDate and /ModDate of `created` in Europe/Oslo (PDF date syntax), or nothing."""
    if created is None:
        return {}
    at = timefmt.as_oslo(created)
    offset = at.strftime("%z")  # +0100
    text = at.strftime("D:%Y%m%d%H%M%S") + f"{offset[:3]}'{offset[3:]}'"
    return {"/CreationDate": text, "/ModDate": text}


def _xlsx_time(created: datetime | None) -> datetime:
    """A stored time (naive means UTC, `timefmt.as_oslo`) as the workbook holds it."""
    return workbook_time(None if created is None else timefmt.as_oslo(created))


@dataclass(frozen=True)
class CaseSummary:
    """The overview columns of a case (plain values; EMPTY / None where the data has nothing)."""

    hf: str
    legemiddel: str
    diagnose: str
    behandlingsmal: str
    monthly_cost: float | None
    checked_cost: float | None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def summarise(case: PacketCase) -> CaseSummary:
    form = get_form(case.form_id)
    d = case.data

    def text(field_id: str) -> str:
        if form.lookup(field_id) is None:
            return EMPTY
        return format_value(form.field(field_id), get_path(d, field_id))

    hf_code = get_path(d, "soknad.helseforetak") or get_path(d, "generelt.helseforetak")
    legemiddel = text("behandling.legemiddel")
    if legemiddel == EMPTY and form.lookup("generelt.tittel") is not None:
        legemiddel = text("generelt.tittel")
    check = case.price_check or {}
    return CaseSummary(
        hf=hf_name(hf_code if isinstance(hf_code, str) else None),
        legemiddel=legemiddel,
        diagnose=text("pasient.diagnose"),
        behandlingsmal=text("behandling.behandlingsmal"),
        monthly_cost=_number(get_path(d, "kostnader.legemiddel_per_maned")),
        checked_cost=_number(check.get("confirmed_per_month")),
    )


def _money(value: float | None) -> str:
    return EMPTY if value is None else format_nok(value)


def price_check_rows(check: dict | None) -> list[tuple[str, str]]:
    """The "Priskontroll" section of a case PDF."""
    if not check:
        return [("Priskontroll", "Ikke registrert")]
    rows = [
        ("Oppgitt legemiddelkostnad per måned", _money(_number(check.get("stated_per_month")))),
        (
            "Kontrollert legemiddelkostnad per måned",
            _money(_number(check.get("confirmed_per_month"))),
        ),
        ("Korrigert av Sykehusinnkjøp", "Ja" if check.get("corrected") else "Nei"),
        ("Merknad", str(check.get("note") or "") or EMPTY),
    ]
    at = check.get("at")
    if isinstance(at, date | datetime):
        rows.append(("Kontrollert dato", format_date(at)))
    return rows


def coordinator_rows(case: PacketCase) -> list[tuple[str, str]]:
    rows = [("Hastebehandling", "Ja" if case.urgent else "Nei")]
    notes = [n for n in case.notes if n and n.strip()]
    if not notes:
        rows.append(("Merknader", EMPTY))
    for n, note in enumerate(notes, start=1):
        rows.append((f"Merknad {n}" if len(notes) > 1 else "Merknad", note))
    return rows


# ---- the meeting packet ---------------------------------------------------------------------------


def _notice_pdf(
    meeting: MeetingInfo,
    member_name: str,
    cases: Sequence[PacketCase],
    summaries: Sequence[CaseSummary],
    generated: date,
    footer: str,
    created: datetime | None = None,
) -> bytes:
    s = styles()
    title = "Innkalling til møte i vurderingskomitéen"
    story: list[Flowable] = [
        para(title, s.title),
        para("Individuell tilgang til metoder som har fått nei på gruppenivå", s.subtitle),
        Spacer(0, 8),
        kv_table(
            [
                ("Til", member_name),
                ("Møte", meeting.id),
                ("Dato", format_weekday_date(meeting.date)),
                ("Tid", format_time(meeting.time)),
                ("Sendt ut", format_date(generated)),
            ]
        ),
    ]
    story.extend(heading("Medlemmer"))
    members = [(name, hf_name(hf), role) for name, hf, role in meeting.members]
    if members:
        story.append(grid_table(["Navn", "Helseforetak", "Rolle"], members, [170, 200, 129]))
    else:
        story.append(para(EMPTY))
    story.extend(heading("Dine saker"))
    if cases:
        rows = [
            (str(n), c.id, sm.legemiddel, sm.hf, "Ja" if c.urgent else "Nei")
            for n, (c, sm) in enumerate(zip(cases, summaries, strict=True), start=1)
        ]
        widths = [28, 150, 160, 121, 40]
        story.append(grid_table(["Nr.", "Sak", "Legemiddel", "Helseforetak", "Hast"], rows, widths))
        story.append(Spacer(0, 6))
        story.append(
            para(
                "Hver sak ligger som egen PDF i pakken (sak-<saks-ID>.pdf), og alle dokumentene er "
                "samlet i samlet.pdf med et bokmerke per sak. oversikt.xlsx har én rad per sak.",
                s.small,
            )
        )
    else:
        story.append(para("Du har ingen saker til behandling i dette møtet."))
    story.append(Spacer(0, 6))
    story.append(
        para(
            "Sakspapirene er fortrolige og skal bare brukes i vurderingskomitéens arbeid. "
            "Pakken inneholder bare sakene du skal delta i behandlingen av.",
            s.small,
        )
    )
    return build_document(
        story,
        title=title,
        footer=footer,
        subject=f"Møte {meeting.id}",
        keywords=[meeting.id],
        created=created,
    )


def _case_pdf(case: PacketCase, footer: str, created: datetime | None = None) -> bytes:
    return render_case_pdf(
        case.form_id,
        case.data,
        title=f"Sak {case.id}",
        extra_sections=[
            ("Priskontroll", price_check_rows(case.price_check)),
            ("Koordinatorens merknader", coordinator_rows(case)),
        ],
        footer=footer,
        case_id=case.id,
        created=created,
    )


OVERVIEW_HEADERS = (
    ("Sak", 26),
    ("Helseforetak", 30),
    ("Legemiddel", 30),
    ("Diagnose", 34),
    ("Behandlingsmål", 18),
    ("Månedlig kostnad (NOK)", 20),
    ("Priskontroll (NOK per måned)", 24),
    ("Hast", 8),
)
NOK_FORMAT = '#,##0 "kr"'
NOK_FORMAT_ORE = '#,##0.00 "kr"'  # an amount with øre keeps them: 85 000,50 kr


def overview_xlsx(
    meeting: MeetingInfo,
    cases: Sequence[PacketCase],
    summaries: Sequence[CaseSummary],
    footer: str,
    created: datetime | None = None,
) -> bytes:
    """`oversikt.xlsx`: a header row and one row per case; deterministic bytes. Amounts are
    numbers in the cells, shown as Norwegian kroner (with øre when they have any)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Oversikt"
    append_row(ws, [h for h, _ in OVERVIEW_HEADERS])
    for col, (_, width) in enumerate(OVERVIEW_HEADERS, start=1):
        cell = ws.cell(row=1, column=col)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F3B5C")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[cell.column_letter].width = width
    for case, sm in zip(cases, summaries, strict=True):
        append_row(
            ws,
            [
                case.id,
                sm.hf,
                sm.legemiddel,
                sm.diagnose,
                sm.behandlingsmal,
                sm.monthly_cost,
                sm.checked_cost,
                "Ja" if case.urgent else "Nei",
            ],
        )
        row = ws.max_row
        for col in (6, 7):
            cell = ws.cell(row=row, column=col)
            whole = not isinstance(cell.value, float) or cell.value.is_integer()
            cell.number_format = NOK_FORMAT if whole else NOK_FORMAT_ORE
        for col in range(1, len(OVERVIEW_HEADERS) + 1):
            ws.cell(row=row, column=col).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:H{max(ws.max_row, 1)}"
    ws.oddFooter.left.text = xml_text(footer).replace("&", "&&")  # "&" starts a footer code
    ws.oddFooter.right.text = "Side &P av &N"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    wb.properties.creator = "Nye metoder"
    wb.properties.lastModifiedBy = "skjemamottak"
    wb.properties.title = xml_text(f"Oversikt over saker – møte {meeting.id}")
    wb.properties.created = wb.properties.modified = _xlsx_time(created)
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_zip(buf.getvalue())


def meeting_packet(
    meeting: MeetingInfo,
    member_name: str,
    member_username: str,
    cases: Sequence[PacketCase],
    generated: date,
    created: datetime | None = None,
) -> bytes:
    """One member's meeting packet as ZIP bytes (WORKFLOW.md §4).

    Entries: `innkalling.pdf`, `sak-<id>.pdf` per case, `oversikt.xlsx` and `samlet.pdf` (the
    notice and every case PDF merged, one bookmark each). Every PDF page carries the footer
    "Fortrolig – til bruk i vurderingskomitéen – <member_name> – <generated DD.MM.ÅÅÅÅ>".

    The caller passes exactly the cases this member takes part in, in agenda order: the cases
    the member is recused from (WORKFLOW.md §3) must already be left out. This function adds
    nothing of its own; a recused case is absent, not blanked. `member_username` goes into the
    ZIP comment and the merged PDF's metadata, so a packet found later can be traced to whom it
    was built for. Raises ValueError when two cases share an id. `created` (aware) is the
    creation date in the metadata of the PDFs and the workbook; the same inputs give the same
    bytes.
    """
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids) or len({safe_name(i) for i in ids}) != len(ids):
        raise ValueError("two cases in the packet have the same id")
    footer = MEETING_FOOTER.format(name=member_name, date=format_date(generated))
    summaries = [summarise(c) for c in cases]
    notice = _notice_pdf(meeting, member_name, cases, summaries, generated, footer, created)
    case_pdfs = [(c, _case_pdf(c, footer, created)) for c in cases]
    docs = [("Innkalling", notice)] + [
        (f"Sak {c.id} – {sm.legemiddel}", pdf)
        for (c, pdf), sm in zip(case_pdfs, summaries, strict=True)
    ]
    merged = merge_pdfs(
        docs,
        title=f"Sakspapirer – møte {meeting.id} – {format_date(meeting.date)}",
        subject=f"Møtepakke for {member_name} ({member_username})",
        created=created,
    )
    parts = [
        ("innkalling.pdf", notice),
        ("oversikt.xlsx", overview_xlsx(meeting, cases, summaries, footer, created)),
        ("samlet.pdf", merged),
        *((f"sak-{safe_name(c.id)}.pdf", pdf) for c, pdf in case_pdfs),
    ]
    return write_zip(parts, meeting.date, comment=f"Møte {meeting.id} – {member_username}")


# ---- the peer review packet -----------------------------------------------------------------------


def peer_review_packet(
    case_id: str,
    minihta_data: dict,
    okonomi_data: dict | None,
    generated: date,
    created: datetime | None = None,
) -> bytes:
    """The peer reviewer's packet for one mini-HTA as ZIP bytes (WORKFLOW.md §4, §6).

    Entries: `minihta-<id>.pdf` (the mini-HTA rendered), `okonomi-<id>.pdf` (the economics
    attachment rendered, when there is one), and skjema 2 pre-filled with `sak.id` = `case_id` as
    `skjema2-<id>.pdf` and `skjema2-<id>.docx`. Entries are dated `generated` 00:00.
    """
    footer = PEER_FOOTER.format(case_id=case_id, date=format_date(generated))
    name = safe_name(case_id)
    parts = [
        (
            f"minihta-{name}.pdf",
            render_case_pdf(
                FormType.MINIHTA,
                minihta_data,
                title=f"Mini-metodevurdering {case_id}",
                footer=footer,
                case_id=case_id,
                created=created,
            ),
        ),
        (f"skjema2-{name}.pdf", build(FormType.MINIHTA_FAGFELLE, "pdf", {"sak.id": case_id})),
        (f"skjema2-{name}.docx", build(FormType.MINIHTA_FAGFELLE, "docx", {"sak.id": case_id})),
    ]
    if okonomi_data is not None:
        parts.append(
            (
                f"okonomi-{name}.pdf",
                render_case_pdf(
                    FormType.MINIHTA_OKONOMI,
                    okonomi_data,
                    title=f"Økonomivedlegg {case_id}",
                    footer=footer,
                    case_id=case_id,
                    created=created,
                ),
            )
        )
    return write_zip(parts, generated, comment=f"Fagfellevurdering {case_id}")


__all__ = [
    "MEETING_FOOTER",
    "PEER_FOOTER",
    "CaseSummary",
    "MeetingInfo",
    "PacketCase",
    "meeting_packet",
    "merge_pdfs",
    "overview_xlsx",
    "peer_review_packet",
    "safe_name",
    "summarise",
    "write_zip",
]
