"""Fillable PDF templates (FORMS.md 4.1): an AcroForm whose field names are the field ids.

Layout: a two-column grid per section, the Norwegian label (and the help text in small grey type)
on the left, the form field on the right. Repeat groups become a small table with one numbered row
per repeat. The layout is computed first (positions per page), then drawn, so that the footer can say
"Side N av M" without a second rendering pass.

Page text uses DejaVu Sans when installed (Debian package `fonts-dejavu-core`), which covers every
character the catalogue uses (æøå, –, −, «»). Without it the standard Helvetica font is used and the
few characters outside its encoding are replaced by close equivalents. Form field values use the
standard Helvetica form font (reportlab's AcroForm supports only the standard 14 fonts); values are
stored as PDF text strings, so any Unicode value round-trips through `/V`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from forms.fields import Field, FormDef, Repeat, Section
from forms.text import xml_text

PAGE_W, PAGE_H = A4
MARGIN_X = 48.0
MARGIN_TOP = 54.0
MARGIN_BOTTOM = 56.0
CONTENT_W = PAGE_W - 2 * MARGIN_X
LABEL_W = 190.0
GAP = 14.0
WIDGET_X = MARGIN_X + LABEL_W + GAP
WIDGET_W = PAGE_W - MARGIN_X - WIDGET_X

LABEL_SIZE = 9.5
LABEL_LEADING = 11.5
HELP_SIZE = 7.5
HELP_LEADING = 9.0
ROW_PAD = 9.0

INK = HexColor("#1a1a1a")
ACCENT = HexColor("#1f3b5c")
GREY = HexColor("#5f6368")
RULE = HexColor("#c9d1da")
FIELD_BG = HexColor("#f3f6fa")
FIELD_BORDER = HexColor("#8a99ab")
REQUIRED_MARK = HexColor("#b3261e")

WIDGET_HEIGHT = {"textarea": 58.0, "checkbox": 13.0}
DEFAULT_WIDGET_HEIGHT = 18.0
NARROW_TYPES = {"integer": 110.0, "number": 130.0, "date": 110.0}

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)

# Characters outside WinAnsi that the catalogue uses, for the Helvetica fallback.
_FALLBACK_MAP = str.maketrans({"−": "-", "‑": "-", "≥": ">=", "≤": "<=", "☐": "[ ]", "☒": "[X]"})


def set_creation_date(c: canvas.Canvas, at: datetime) -> None:
    """The PDF's CreationDate and ModDate: `at` (an aware time) with its UTC offset.

    reportlab's invariant mode (kept: a fixed document id, no other timestamps) would write
    2000-01-01; its time stamp object is what the document info reads, so it is set here."""
    offset = at.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    stamp = c._doc._timeStamp  # noqa: SLF001 (reportlab keeps the info date there)
    stamp.YMDhms = (at.year, at.month, at.day, at.hour, at.minute, at.second)
    stamp.dhh, stamp.dmm = divmod(minutes, 60)


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    italic: str
    unicode: bool

    def text(self, s: str) -> str:
        """Text as these fonts draw it: what a PDF cannot carry (NUL, a lone surrogate from a
        mended row: `forms.text.xml_text`) as U+FFFD, and without DejaVu the fallback map."""
        s = xml_text(s)
        return s if self.unicode else s.translate(_FALLBACK_MAP)


@cache
def fonts() -> Fonts:
    """Register DejaVu Sans if present; otherwise fall back to the standard Helvetica fonts."""
    names = {
        "SkjemaSans": "DejaVuSans.ttf",
        "SkjemaSans-Bold": "DejaVuSans-Bold.ttf",
        "SkjemaSans-Oblique": "DejaVuSans-Oblique.ttf",
    }
    for directory in FONT_DIRS:
        paths = {name: directory / file for name, file in names.items()}
        if all(p.is_file() for p in paths.values()):
            try:
                for name, path in paths.items():
                    pdfmetrics.registerFont(TTFont(name, str(path)))
            except Exception:  # a broken font file: try the next directory, then Helvetica
                continue
            return Fonts("SkjemaSans", "SkjemaSans-Bold", "SkjemaSans-Oblique", True)
    return Fonts("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", False)


# ---- layout ---------------------------------------------------------------------------------------

Op = Callable[[canvas.Canvas, float], None]  # draws at a given top y


@dataclass
class Block:
    height: float
    draw: Op
    keep_with_next: bool = False


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        lines.extend(simpleSplit(para, font, size, width) or [""])
    return lines


def _text_lines(
    c: canvas.Canvas, x: float, top: float, lines: list[str], font: str, size: float, leading: float
) -> None:
    c.setFont(font, size)
    for i, line in enumerate(lines):
        c.drawString(x, top - size - i * leading, line)


def _widget_height(f: Field) -> float:
    return WIDGET_HEIGHT.get(f.type, DEFAULT_WIDGET_HEIGHT)


def _options(f: Field) -> list[tuple[str, str]]:
    """Combo-box options as (display label, export value) pairs: the label shows, the code is /V."""
    return [("", "")] + [(c.label, c.code) for c in f.choices]


class _Builder:
    def __init__(self, form: FormDef, values: dict[str, object]) -> None:
        self.form = form
        self.values = values
        self.f = fonts()

    # -- widgets -------------------------------------------------------------------------------
    def widget(
        self, c: canvas.Canvas, f: Field, name: str, tooltip: str, x: float, y: float, w: float
    ) -> None:
        """Draw the AcroForm field `name` with its top-left corner at (x, y)."""
        form = c.acroForm
        value = self.values.get(name)
        common = dict(
            name=name,
            tooltip=tooltip,
            borderColor=FIELD_BORDER,
            fillColor=FIELD_BG,
            textColor=INK,
            borderWidth=0.8,
            forceBorder=True,
        )
        if f.type == "checkbox":
            size = _widget_height(f)
            form.checkbox(
                x=x,
                y=y - size,
                size=size,
                checked=bool(value) and value not in ("false", "Off", "0"),
                buttonStyle="check",
                fieldFlags="",
                **common,
            )
            return
        h = _widget_height(f)
        if f.type in ("choice", "hf"):
            selected = "" if value is None else str(value)
            codes = {c.code for c in f.choices}
            labels = {c.label: c.code for c in f.choices}
            if selected and selected not in codes:
                selected = labels.get(selected, "")
            form.choice(
                x=x,
                y=y - h,
                width=min(w, 260.0),
                height=h,
                options=_options(f),
                # a one-element list: reportlab fails on an empty scalar value (the blank option)
                value=[selected],
                fieldFlags="combo",
                fontName="Helvetica",
                fontSize=9,
                maxlen=0,
                **common,
            )
            return
        text = "" if value is None else _value_text(value)
        width = min(w, NARROW_TYPES.get(f.type, w))
        form.textfield(
            x=x,
            y=y - h,
            width=width,
            height=h,
            value=text,
            fieldFlags="multiline" if f.type == "textarea" else "",
            fontName="Helvetica",
            fontSize=9 if f.type == "textarea" else 10,
            maxlen=0,
            **common,
        )

    # -- blocks --------------------------------------------------------------------------------
    def title_block(self) -> list[Block]:
        f = self.f
        title = _wrap(f.text(self.form.name), f.bold, 16, CONTENT_W)
        intro = _wrap(f.text(self.form.description), f.regular, 9.5, CONTENT_W)
        legend = ["Felt merket * må fylles ut."]
        height = len(title) * 19 + 6 + len(intro) * 12.5 + 4 + HELP_LEADING + 10

        def draw(c: canvas.Canvas, top: float) -> None:
            c.setFillColor(ACCENT)
            _text_lines(c, MARGIN_X, top, title, f.bold, 16, 19)
            y = top - len(title) * 19 - 6
            c.setFillColor(INK)
            _text_lines(c, MARGIN_X, y, intro, f.regular, 9.5, 12.5)
            y -= len(intro) * 12.5 + 4
            c.setFillColor(GREY)
            _text_lines(c, MARGIN_X, y, legend, f.italic, HELP_SIZE, HELP_LEADING)

        return [Block(height, draw)]

    def section_blocks(self, section: Section) -> list[Block]:
        visible = section.visible_items()
        if not visible:
            return []
        f = self.f
        blocks: list[Block] = []

        def heading(c: canvas.Canvas, top: float) -> None:
            c.setFillColor(ACCENT)
            c.setFont(f.bold, 12.5)
            c.drawString(MARGIN_X, top - 16, f.text(section.title))
            c.setStrokeColor(RULE)
            c.setLineWidth(0.8)
            c.line(MARGIN_X, top - 21, PAGE_W - MARGIN_X, top - 21)

        blocks.append(Block(30, heading, keep_with_next=True))
        if section.intro:
            lines = _wrap(f.text(section.intro), f.italic, 8.5, CONTENT_W)

            def intro(c: canvas.Canvas, top: float, lines: list[str] = lines) -> None:
                c.setFillColor(GREY)
                _text_lines(c, MARGIN_X, top, lines, f.italic, 8.5, 10.5)

            blocks.append(Block(len(lines) * 10.5 + 6, intro, keep_with_next=True))
        for item in visible:
            if isinstance(item, Repeat):
                blocks.extend(self.repeat_blocks(item, section))
            else:
                blocks.append(self.field_block(item))
        blocks.append(Block(8, lambda c, top: None))
        return blocks

    def _label_lines(self, text: str, required: bool, width: float) -> list[str]:
        return _wrap(
            self.f.text(text) + (" *" if required else ""), self.f.regular, LABEL_SIZE, width
        )

    def _draw_label(self, c: canvas.Canvas, x: float, top: float, lines: list[str]) -> None:
        f = self.f
        c.setFillColor(INK)
        c.setFont(f.regular, LABEL_SIZE)
        for i, line in enumerate(lines):
            y = top - LABEL_SIZE - i * LABEL_LEADING
            if line.endswith(" *") and i == len(lines) - 1:
                c.drawString(x, y, line[:-2])
                c.setFillColor(REQUIRED_MARK)
                c.drawString(x + pdfmetrics.stringWidth(line[:-2], f.regular, LABEL_SIZE), y, " *")
                c.setFillColor(INK)
            else:
                c.drawString(x, y, line)

    def field_block(self, field: Field) -> Block:
        f = self.f
        label = self._label_lines(field.label, field.required, LABEL_W)
        help_text = field.help or ("DD.MM.ÅÅÅÅ" if field.type == "date" else "")
        help_lines = _wrap(f.text(help_text), f.regular, HELP_SIZE, LABEL_W) if help_text else []
        left_h = len(label) * LABEL_LEADING + (
            2 + len(help_lines) * HELP_LEADING if help_lines else 0
        )
        widget_h = _widget_height(field)
        height = max(left_h, widget_h + 1) + ROW_PAD

        def draw(c: canvas.Canvas, top: float) -> None:
            self._draw_label(c, MARGIN_X, top, label)
            if help_lines:
                c.setFillColor(GREY)
                y = top - len(label) * LABEL_LEADING - 2
                _text_lines(c, MARGIN_X, y, help_lines, f.regular, HELP_SIZE, HELP_LEADING)
            self.widget(c, field, field.id, field.label, WIDGET_X, top + 1, WIDGET_W)

        return Block(height, draw)

    def repeat_blocks(self, rep: Repeat, section: Section) -> list[Block]:
        f = self.f
        blocks: list[Block] = []
        head: list[str] = []
        if rep.label != section.title:
            head = _wrap(f.text(rep.label), f.bold, 10, CONTENT_W)
        help_lines = _wrap(f.text(rep.help), f.regular, HELP_SIZE, CONTENT_W) if rep.help else []
        num_w = 22.0
        col_gap = 10.0
        cols = len(rep.fields)
        col_w = (CONTENT_W - num_w - col_gap * (cols - 1)) / cols
        col_x = [MARGIN_X + num_w + i * (col_w + col_gap) for i in range(cols)]
        col_labels = [self._label_lines(s.label, s.required, col_w) for s in rep.fields]
        col_help = [
            _wrap(f.text(s.help), f.regular, HELP_SIZE, col_w) if s.help else [] for s in rep.fields
        ]
        header_h = max(
            len(lab) * LABEL_LEADING + (2 + len(h) * HELP_LEADING if h else 0)
            for lab, h in zip(col_labels, col_help, strict=True)
        )
        top_h = len(head) * 13 + (len(help_lines) * HELP_LEADING + 3 if help_lines else 0)

        def header(c: canvas.Canvas, top: float) -> None:
            y = top
            if head:
                c.setFillColor(INK)
                _text_lines(c, MARGIN_X, y, head, f.bold, 10, 13)
                y -= len(head) * 13
            if help_lines:
                c.setFillColor(GREY)
                _text_lines(c, MARGIN_X, y, help_lines, f.regular, HELP_SIZE, HELP_LEADING)
                y -= len(help_lines) * HELP_LEADING + 3
            c.setFillColor(GREY)
            c.setFont(f.regular, HELP_SIZE)
            c.drawString(MARGIN_X, y - LABEL_SIZE, "Nr.")
            for x, lab, h in zip(col_x, col_labels, col_help, strict=True):
                self._draw_label(c, x, y, lab)
                if h:
                    c.setFillColor(GREY)
                    hy = y - len(lab) * LABEL_LEADING - 2
                    _text_lines(c, x, hy, h, f.regular, HELP_SIZE, HELP_LEADING)

        blocks.append(Block(top_h + header_h + 6, header, keep_with_next=True))
        row_h = max(_widget_height(s) for s in rep.fields) + 6
        for n in range(1, rep.count + 1):

            def row(c: canvas.Canvas, top: float, n: int = n) -> None:
                c.setFillColor(INK)
                c.setFont(f.regular, LABEL_SIZE)
                c.drawString(MARGIN_X, top - 13, f"{n}.")
                for x, sub in zip(col_x, rep.fields, strict=True):
                    fid = rep.field_id(n, sub)
                    self.widget(c, sub, fid, self.form.label(fid), x, top, col_w)

            blocks.append(Block(row_h, row))
        blocks.append(Block(4, lambda c, top: None))
        return blocks

    # -- pages ---------------------------------------------------------------------------------
    def paginate(self) -> list[list[tuple[float, Block]]]:
        blocks = self.title_block()
        for section in self.form.sections:
            blocks.extend(self.section_blocks(section))
        pages: list[list[tuple[float, Block]]] = [[]]
        top = PAGE_H - MARGIN_TOP
        bottom = MARGIN_BOTTOM
        for i, block in enumerate(blocks):
            need = block.height
            j = i
            while blocks[j].keep_with_next and j + 1 < len(blocks):  # keep headings with a row
                j += 1
                need += blocks[j].height
            if top - need < bottom and pages[-1]:
                pages.append([])
                top = PAGE_H - MARGIN_TOP
            pages[-1].append((top, block))
            top -= block.height
        return pages

    def hidden_fields(self, c: canvas.Canvas) -> None:
        """skjema.type and skjema.versjon: read-only, prefilled, small in the top right corner."""
        f = self.f
        prefill = self.form.header_values()
        hidden = self.form.hidden_fields()
        y = PAGE_H - 30
        widths = {"skjema.type": 92.0, "skjema.versjon": 22.0}
        # lay out right to left, create the fields in form order
        x = PAGE_W - MARGIN_X
        placed: list[tuple[Field, float, float, str, float]] = []
        for field in reversed(hidden):
            w = widths.get(field.id, 60.0)
            x -= w
            label = f.text(field.label) + ":"
            lw = pdfmetrics.stringWidth(label, f.regular, 7)
            placed.append((field, x, w, label, x - lw - 2))
            x -= lw + 12
        for field, fx, w, label, lx in reversed(placed):
            value = self.values.get(field.id, prefill.get(field.id, ""))
            c.acroForm.textfield(
                name=field.id,
                tooltip=field.label,
                value=str(value),
                x=fx,
                y=y - 2,
                width=w,
                height=11,
                fontName="Helvetica",
                fontSize=7,
                textColor=GREY,
                borderWidth=0,
                borderColor=None,
                fillColor=None,
                fieldFlags="readOnly",
                maxlen=0,
            )
            c.setFont(f.regular, 7)
            c.setFillColor(GREY)
            c.drawString(lx, y + 0.5, label)

    def footer(self, c: canvas.Canvas, page: int, total: int) -> None:
        f = self.f
        c.setStrokeColor(RULE)
        c.setLineWidth(0.6)
        c.line(MARGIN_X, 40, PAGE_W - MARGIN_X, 40)
        c.setFont(f.regular, 7.5)
        c.setFillColor(GREY)
        c.drawString(MARGIN_X, 28, f.text(self.form.name))
        c.drawRightString(PAGE_W - MARGIN_X, 28, f"Side {page} av {total}")

    def build(self) -> bytes:
        pages = self.paginate()
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
        set_creation_date(c, self.form.issued_at())
        c.setTitle(self.form.name)
        c.setAuthor("Nye metoder")
        c.setSubject(self.form.description)
        c.setCreator("skjemamottak")
        _patch_appearances(c.acroForm)
        c.setKeywords([self.form.id, f"versjon {self.form.version}"])
        for number, page in enumerate(pages, start=1):
            if number == 1:
                self.hidden_fields(c)
            else:
                c.setFont(self.f.regular, 7.5)
                c.setFillColor(GREY)
                c.drawString(MARGIN_X, PAGE_H - 32, self.f.text(self.form.short_name))
            for top, block in page:
                block.draw(c, top)
            self.footer(c, number, len(pages))
            c.showPage()
        c.save()
        return buf.getvalue()


# The AcroForm font of reportlab is Helvetica with PDFDocEncoding; its appearance streams take
# single bytes. Latin-1 maps to itself; below are the PDFDocEncoding bytes 128-158 and 160 (FORMS.md values
# use – and «» often). The field value itself (/V) is stored as a Unicode text string regardless.
_PDFDOC_HIGH = "•†‡…—–ƒ⁄‹›−‰„“”‘’‚™ﬁﬂŁŒŠŸŽıłœšž"  # bytes 128-158
_PDFDOC = {ord(ch): chr(128 + i) for i, ch in enumerate(_PDFDOC_HIGH)} | {ord("€"): chr(160)}


def pdfdoc_text(text: str) -> str:
    """`text` as characters whose code points are PDFDocEncoding bytes (for appearance streams)."""
    mapped = text.translate(_PDFDOC)
    return "".join(ch if ord(ch) < 256 else "?" for ch in mapped)


def _patch_appearances(form: object) -> None:
    """Make reportlab's appearance streams accept any Unicode value (it escapes bytes < 256 only)."""
    original = form.txAP  # type: ignore[attr-defined]

    def tx_ap(key: str, value: object, *args: object, **kwargs: object) -> object:
        if isinstance(kwargs.get("labels"), list):
            kwargs["labels"] = [pdfdoc_text(str(x)) for x in kwargs["labels"]]  # type: ignore[union-attr]
        if isinstance(value, str):
            value = pdfdoc_text(value)
        return original(key, value, *args, **kwargs)

    form.txAP = tx_ap  # type: ignore[attr-defined]


def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return "Ja" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def build_pdf(form: FormDef, values: dict[str, object] | None = None) -> bytes:
    """A blank (or prefilled) fillable A4 PDF whose AcroForm field names are the field ids."""
    known = set(form.field_ids())
    unknown = sorted(set(values or {}) - known)
    if unknown:
        raise KeyError(f"unknown field ids for {form.id}: {', '.join(unknown)}")
    return _Builder(form, dict(values or {})).build()


__all__ = ["Fonts", "build_pdf", "fonts"]
