"""Readable PDFs of canonical case data (WORKFLOW.md §4), and the shared PDF building blocks.

`render_case_pdf` turns the canonical JSON of a case (nested by the dots of the field ids, repeat
rows as arrays, as the pipeline stores it) into an A4 document a person reads: every field of the
catalogue with its Norwegian label, grouped by catalogue section, values in Norwegian notation.

The helpers below it (`build_document`, `kv_table`, `format_*`) are used by the packets and the
decision letters too, so every PDF the service hands out looks the same and carries its footer
("<footer> … Side N av M") on every page.

Pure: values in, bytes out. Output is deterministic (reportlab's invariant mode): the only date
in a PDF's metadata is the `created` time the caller passes in (Europe/Oslo; without it, the
invariant mode's fixed date), so the same inputs give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, partial
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import registerFontFamily, stringWidth
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from forms.catalog import get_form
from forms.fields import Field, FormDef, Repeat
from forms.helseforetak import registry
from forms.templates.pdf import ACCENT, GREY, INK, RULE, Fonts, fonts, set_creation_date
from forms.templates.pdf import FIELD_BG as LABEL_BG
from forms.text import xml_text
from processor import timefmt

PAGE_W, PAGE_H = A4
MARGIN_X = 48.0
MARGIN_TOP = 54.0
MARGIN_BOTTOM = 62.0
CONTENT_W = PAGE_W - 2 * MARGIN_X
LABEL_W = 170.0

# one palette for the templates and the rendered documents (forms.templates.pdf)

EMPTY = "–"  # shown for an empty field
NBSP = timefmt.NBSP  # digit grouping and before "kr": never broken across lines

WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")

Rows = Sequence[tuple[str, str]]
ExtraSections = Sequence[tuple[str, Rows]]


# ---- formatting -----------------------------------------------------------------------------------


def format_date(value: object) -> str:
    """DD.MM.ÅÅÅÅ for a date, a datetime (its date in Europe/Oslo) or an ISO date or timestamp
    string; other text unchanged."""
    if isinstance(value, date | datetime):
        return timefmt.date_text(value)
    text = str(value)
    if len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():
        try:
            return timefmt.date_text(text)
        except ValueError:
            return f"{text[8:10]}.{text[5:7]}.{text[0:4]}"
    return text


def format_weekday_date(value: date) -> str:
    """`mandag 07.12.2026`."""
    return f"{WEEKDAYS[value.weekday()]} {format_date(value)}"


def format_nok(value: float) -> str:
    """`12 500 kr` (groups always, two decimals only when there are øre)."""
    return f"{timefmt.amount_text(value)}{NBSP}kr"


def is_nok(f: Field) -> bool:
    return f.type == "number" and "NOK" in f.label


def format_value(f: Field, value: object) -> str:
    """The text a person reads for one field value (EMPTY for nothing)."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "Ja" if value else "Nei"
    if f.type == "checkbox" and isinstance(value, str):
        return {"true": "Ja", "false": "Nei"}.get(value.lower(), value)
    if f.type in ("number", "integer") and isinstance(value, int | float):
        return format_nok(value) if is_nok(f) else timefmt.format_number(value)
    if f.type == "date":
        return format_date(value)
    if f.type == "hf":
        code = str(value)
        name = f.choice_label(code)
        return f"{name} ({code})" if name != code else code
    if f.type == "choice":
        return f.choice_label(str(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def hf_name(code: str | None) -> str:
    """The registry name of an HF code (the code itself when unknown, EMPTY when none)."""
    if not code:
        return EMPTY
    trust = registry().trusts.get(code)
    return trust.name if trust else code


def get_path(data: object, dotted: str) -> object:
    """`data["a"]["b"]` for `a.b`; None when any step is missing."""
    node = data
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


# ---- styles and flowables ---------------------------------------------------------------------


@dataclass(frozen=True)
class Styles:
    fonts: Fonts
    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading: ParagraphStyle
    subheading: ParagraphStyle
    body: ParagraphStyle
    label: ParagraphStyle
    value: ParagraphStyle
    small: ParagraphStyle
    prominent: ParagraphStyle


@cache
def styles() -> Styles:
    f = fonts()
    registerFontFamily(f.regular, normal=f.regular, bold=f.bold, italic=f.italic, boldItalic=f.bold)
    base = ParagraphStyle("base", fontName=f.regular, fontSize=9.5, leading=12.5, textColor=INK)
    return Styles(
        fonts=f,
        title=ParagraphStyle(
            "title", base, fontName=f.bold, fontSize=17, leading=21, textColor=ACCENT, spaceAfter=4
        ),
        subtitle=ParagraphStyle("subtitle", base, fontSize=10, leading=13, textColor=GREY),
        heading=ParagraphStyle(
            "heading",
            base,
            fontName=f.bold,
            fontSize=12,
            leading=15,
            textColor=ACCENT,
            spaceBefore=12,
            spaceAfter=4,
            keepWithNext=1,
        ),
        subheading=ParagraphStyle(
            "subheading",
            base,
            fontName=f.bold,
            fontSize=10,
            leading=13,
            spaceBefore=6,
            spaceAfter=3,
            keepWithNext=1,
        ),
        body=ParagraphStyle("body", base, spaceAfter=5),
        label=ParagraphStyle("label", base, fontSize=8.5, leading=11, textColor=INK),
        value=ParagraphStyle("value", base, spaceAfter=2),
        small=ParagraphStyle("small", base, fontSize=8, leading=10, textColor=GREY),
        prominent=ParagraphStyle(
            "prominent", base, fontName=f.bold, fontSize=14, leading=18, spaceAfter=6
        ),
    )


def _markup(text: str) -> str:
    return escape(styles().fonts.text(text))


def para(text: str, style: ParagraphStyle | None = None) -> Paragraph:
    """One paragraph of plain text (escaped; never interpreted as markup)."""
    return Paragraph(_markup(text), style or styles().body)


def paragraphs(text: str, style: ParagraphStyle | None = None) -> list[Flowable]:
    """A text with its line breaks kept: one paragraph per non-empty line."""
    lines = [line for line in str(text).replace("\r\n", "\n").split("\n") if line.strip()]
    return [para(line, style or styles().value) for line in lines] or [para(EMPTY, style)]


def heading(text: str) -> list[Flowable]:
    return [Paragraph(_markup(text), styles().heading)]


def _ruled_style(shaded_to: tuple[int, int], pad_x: float, pad_y: float) -> TableStyle:
    """The tables' look: cells top-aligned, a rule under every row and above the first, the
    cells from the top-left one to `shaded_to` on the label background."""
    return TableStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), shaded_to, LABEL_BG),
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
            ("LINEABOVE", (0, 0), (-1, 0), 0.4, RULE),
            ("LEFTPADDING", (0, 0), (-1, -1), pad_x),
            ("RIGHTPADDING", (0, 0), (-1, -1), pad_x),
            ("TOPPADDING", (0, 0), (-1, -1), pad_y),
            ("BOTTOMPADDING", (0, 0), (-1, -1), pad_y),
        ]
    )


def kv_table(rows: Rows, label_width: float = LABEL_W) -> Table:
    """A two-column table: label | value (the value keeps its paragraphs; rows split if long)."""
    s = styles()
    data = [[para(label, s.label), paragraphs(value, s.value)] for label, value in rows]
    table = Table(
        data,
        colWidths=[label_width, CONTENT_W - label_width],
        hAlign="LEFT",
        splitByRow=1,
        splitInRow=1,
    )
    table.setStyle(_ruled_style(shaded_to=(0, -1), pad_x=5, pad_y=3.5))  # the label column
    return table


def grid_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
) -> Table:
    """A table with a header row (repeated on every page) and one row per item."""
    s = styles()
    head_style = ParagraphStyle("head", s.label, fontName=s.fonts.bold)
    data = [[para(h, head_style) for h in header]]
    data += [[para(cell, s.label) for cell in row] for row in rows]
    # rows split across pages: one very long cell (a name, a drug) must still fit (issue 11)
    table = Table(
        data, colWidths=list(widths), hAlign="LEFT", repeatRows=1, splitByRow=1, splitInRow=1
    )
    table.setStyle(_ruled_style(shaded_to=(-1, 0), pad_x=4, pad_y=3))  # the header row
    return table


# ---- the document with its footer -----------------------------------------------------------------


class _FooterCanvas(canvas.Canvas):
    """Holds the pages back until the end so that every footer can say "Side N av M"."""

    def __init__(
        self,
        *args: object,
        footer: str,
        running_title: str,
        created: datetime | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if created is not None:
            set_creation_date(self, timefmt.as_oslo(created))
        self._footer = footer
        self._running_title = running_title
        self._pages: list[dict[str, object]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._decorate(number, total)
            canvas.Canvas.showPage(self)
        canvas.Canvas.save(self)

    def _decorate(self, number: int, total: int) -> None:
        f = styles().fonts
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.6)
        self.line(MARGIN_X, 42, PAGE_W - MARGIN_X, 42)
        self.setFillColor(GREY)
        pages = f"Side {number} av {total}"
        size = 7.5
        room = CONTENT_W - stringWidth(pages, f.regular, size) - 16
        footer = f.text(self._footer)
        while size > 5 and stringWidth(footer, f.regular, size) > room:
            size -= 0.5
        self.setFont(f.regular, size)
        self.drawString(MARGIN_X, 30, footer)
        self.setFont(f.regular, 7.5)
        self.drawRightString(PAGE_W - MARGIN_X, 30, pages)
        if number > 1 and self._running_title:
            self.setFont(f.regular, 7.5)
            self.drawString(MARGIN_X, PAGE_H - 32, f.text(self._running_title))
        self.restoreState()


def build_document(
    story: list[Flowable],
    *,
    title: str,
    footer: str,
    subject: str = "",
    keywords: Sequence[str] = (),
    running_title: str | None = None,
    created: datetime | None = None,
) -> bytes:
    """An A4 PDF of `story` with `footer` and "Side N av M" on every page; deterministic.

    `created` (aware; shown in Europe/Oslo) is the document's creation date in its metadata."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=xml_text(title),
        author="Nye metoder",
        subject=xml_text(subject),
        creator="skjemamottak",
        keywords=[xml_text(k) for k in keywords],
        invariant=1,
        pageCompression=1,
    )
    maker = partial(
        _FooterCanvas,
        footer=footer,
        running_title=title if running_title is None else running_title,
        created=created,
    )
    doc.build(list(story), canvasmaker=maker)
    return buf.getvalue()


# ---- case data ----------------------------------------------------------------------------------


def _repeat_rows(form: FormDef, rep: Repeat, data: dict) -> list[tuple[str, str]]:
    rows_data = get_path(data, rep.id)
    rows = [r for r in rows_data if isinstance(r, dict)] if isinstance(rows_data, list) else []
    out: list[tuple[str, str]] = []
    for n, row in enumerate(rows, start=1):
        for sub in rep.fields:
            out.append((f"{sub.label} {n}", format_value(sub, get_path(row, sub.id))))
    return out or [(rep.label, EMPTY)]


def case_story(form: FormDef, data: dict) -> list[Flowable]:
    """Every visible field of `form` with its label and value, one table per section."""
    story: list[Flowable] = []
    for section in form.sections:
        parts = section.parts()
        if not parts:
            continue
        story.extend(heading(section.title))
        if section.intro:
            story.append(para(section.intro, styles().small))
            story.append(Spacer(0, 3))
        for item in parts:
            if isinstance(item, Repeat):
                if item.label != section.title:
                    story.append(para(item.label, styles().subheading))
                story.append(kv_table(_repeat_rows(form, item, data)))
            else:
                story.append(
                    kv_table([(f.label, format_value(f, get_path(data, f.id))) for f in item])
                )
    return story


def render_case_pdf(
    form_id: str,
    data: dict,
    *,
    title: str,
    extra_sections: ExtraSections = (),
    footer: str,
    case_id: str,
    created: datetime | None = None,
) -> bytes:
    """A readable A4 PDF of one case's canonical data (`created`: see `build_document`).

    Sections and labels come from the catalogue (hidden `skjema.*` fields left out); choice codes
    show their labels, booleans Ja/Nei, NOK amounts `12 500 kr`, dates DD.MM.ÅÅÅÅ, empty fields
    "–". `extra_sections` ((title, [(label, text), ...]), ...) follow the form's sections: the
    price check, the coordinator's notes. `footer` and "Side N av M" are printed on every page.
    """
    form = get_form(form_id)
    s = styles()
    story: list[Flowable] = [
        para(title, s.title),
        para(f"{form.name} · Saks-ID {case_id}", s.subtitle),
        Spacer(0, 6),
    ]
    story.extend(case_story(form, data))
    for section_title, rows in extra_sections:
        story.extend(heading(section_title))
        story.append(kv_table(list(rows) or [(section_title, EMPTY)]))
    return build_document(
        story,
        title=title,
        footer=footer,
        subject=f"{form.name} – {case_id}",
        keywords=[form.id, case_id],
        created=created,
    )


__all__ = [
    "EMPTY",
    "NBSP",
    "Styles",
    "build_document",
    "case_story",
    "format_date",
    "format_nok",
    "format_value",
    "format_weekday_date",
    "get_path",
    "grid_table",
    "heading",
    "hf_name",
    "kv_table",
    "para",
    "paragraphs",
    "render_case_pdf",
    "styles",
]
