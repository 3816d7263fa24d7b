"""XLSX templates (FORMS.md 4.3, MINIHTA.md): one sheet, one workbook-scoped defined name per field.

Labels in column A, the input cells in column B (unlocked and highlighted; the sheet is protected
without a password so that labels and formulas are not overwritten by accident), help texts in
column C. Fields with a `formula` in the catalogue become Excel formulas in which every field id
is replaced by its cell address.

openpyxl stamps the current time into the ZIP entries and into `docProps/core.xml`; the saved
archive is rewritten with fixed timestamps so that two builds are byte-identical.

`put` and `append_row` are how every workbook the service writes (these templates, the meeting
packet's overview, the figures) takes a value (issue 11): openpyxl makes any string that starts
with `=` a formula (`Cell._bind_value`) and `#N/A` and the like an error cell, and refuses control
characters; through these helpers text is always a string cell (`t="inlineStr"`, never `<f>`),
cleaned by `forms.text.xml_text`. A formula the service means is assigned as such, on its own.
"""

from __future__ import annotations

import ast
import io
import operator
import re
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from forms.fields import Field, FormDef, Repeat
from forms.templates.zipped import write_zip
from forms.text import xml_text

SHEET_TITLE = "Økonomi"
# "#,##0": Excel shows the locale's thousands separator, a space in Norwegian ("1 234 567").
NUMBER_FORMAT = "#,##0"

INPUT_FILL = PatternFill("solid", fgColor="FFF5CC")
FORMULA_FILL = PatternFill("solid", fgColor="E8EEF4")
SECTION_FILL = PatternFill("solid", fgColor="1F3B5C")
THIN = Side(style="thin", color="8A99AB")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _id_pattern(ids: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])({alternatives})(?![\w.])")


def excel_formula(formula: str, addresses: dict[str, str]) -> str:
    """`formula` (operands are field ids) with every field id replaced by its cell address."""
    pattern = _id_pattern(list(addresses))
    return "=" + pattern.sub(lambda m: addresses[m.group(1)], formula.replace(" ", ""))


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def evaluate_formula(formula: str, values: dict[str, object]) -> float:
    """Evaluate a catalogue formula over flat values; an empty or missing operand counts as 0."""
    names: dict[str, str] = {}

    def name_for(m: re.Match[str]) -> str:
        return names.setdefault(m.group(0), f"_v{len(names)}")

    expr = re.sub(r"[A-Za-z_][\w]*(?:\.[\w]+)+|[A-Za-z_]\w*", name_for, formula)
    env = {var: _number(values.get(fid)) for fid, var in names.items()}

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in env:
            return env[node.id]
        raise ValueError(f"unsupported formula: {formula}")

    return ev(ast.parse(expr, mode="eval"))


def _number(value: object) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    text = str(value).replace("\u00a0", "").replace(" ", "").replace("kr", "").replace(",", ".")
    return float(text)


def _fields_in_order(form: FormDef) -> list[tuple[str, Field, str]]:
    out: list[tuple[str, Field, str]] = []
    for section in form.sections:
        for item in section.items:
            if isinstance(item, Repeat):
                for n in range(1, item.count + 1):
                    for sub in item.fields:
                        fid = item.field_id(n, sub)
                        out.append((fid, sub, section.id))
            else:
                out.append((item.id, item, section.id))
    return out


def put(cell: Any, value: object) -> None:
    """`cell.value = value`, text always as text: a string cell (never a formula or an error
    code, whatever it starts with), cleaned by `xml_text`."""
    if isinstance(value, str):
        cell.value = xml_text(value)
        cell.data_type = "s"  # after the value: openpyxl made "=..." a formula ("f")
    else:
        cell.value = value


def append_row(ws: Any, values: Iterable[object]) -> None:
    """`ws.append(values)` with every value written by `put`."""
    row = [xml_text(v) if isinstance(v, str) else v for v in values]
    ws.append(row)
    for col, value in enumerate(row, start=1):
        if isinstance(value, str):  # a text in the row: the appended row is the last one
            ws.cell(row=ws.max_row, column=col).data_type = "s"


def _cell_value(field: Field, value: object) -> object:
    if value is None:
        return None
    if field.type == "checkbox":
        return "Ja" if value is True else ("Nei" if value is False else value)
    return value


def build_xlsx(form: FormDef, values: dict[str, object] | None = None) -> bytes:
    """A workbook with a defined name per field id, formulas from the catalogue, help in column C."""
    values = dict(values or {})
    unknown = sorted(set(values) - set(form.field_ids()))
    if unknown:
        raise KeyError(f"unknown field ids for {form.id}: {', '.join(unknown)}")
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    wb.properties.title = form.name
    wb.properties.subject = form.description
    wb.properties.creator = "Nye metoder"
    wb.properties.lastModifiedBy = "Nye metoder"
    wb.properties.keywords = f"{form.id} versjon {form.version}"
    wb.properties.language = "nb-NO"
    wb.properties.created = wb.properties.modified = utc_naive(form.issued_at())

    ws.column_dimensions["A"].width = 46
    ws.column_dimensions["B"].width = 22
    ws.column_dimensions["C"].width = 62
    ws.sheet_view.showGridLines = False

    ws["A1"] = form.name
    ws["A1"].font = Font(name="Calibri", bold=True, size=14, color="1F3B5C")
    ws.merge_cells("A1:C1")
    ws["A2"] = form.description
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("A2:C2")
    ws["A3"] = "Fyll ut de gule cellene. De blå cellene beregnes av arket."
    ws["A3"].font = Font(name="Calibri", italic=True, size=9, color="5F6368")
    ws.merge_cells("A3:C3")

    # rows first, so that formulas can refer to cells further down
    rows: dict[str, int] = {}
    layout: list[tuple[str, object]] = []  # ("section", Section) or ("field", (fid, Field))
    row = 5
    for section in form.sections:
        visible = section.visible_items()
        if visible:
            row += 1
            layout.append(("section", (row, section)))
            row += 1
            if section.intro:
                layout.append(("intro", (row, section)))
                row += 1
        for fid, field, sec_id in _fields_in_order(form):
            if sec_id != section.id:
                continue
            rows[fid] = row
            layout.append(("field", (row, fid, field)))
            row += 1
    addresses = {fid: f"B{r}" for fid, r in rows.items()}
    prefill = form.header_values()

    for kind, data in layout:
        if kind == "section":
            r, section = data  # type: ignore[misc]
            for col in "ABC":
                ws[f"{col}{r}"].fill = SECTION_FILL
            ws[f"A{r}"] = section.title
            ws[f"A{r}"].font = Font(name="Calibri", bold=True, size=11, color="FFFFFF")
        elif kind == "intro":
            r, section = data  # type: ignore[misc]
            ws[f"A{r}"] = section.intro
            ws[f"A{r}"].font = Font(name="Calibri", italic=True, size=9, color="5F6368")
            ws[f"A{r}"].alignment = Alignment(wrap_text=True)
            ws.merge_cells(f"A{r}:C{r}")
        else:
            r, fid, field = data  # type: ignore[misc]
            label = form.label(fid)
            a, b, c = ws[f"A{r}"], ws[f"B{r}"], ws[f"C{r}"]
            a.value = label + (" *" if field.required and not field.hidden else "")
            a.alignment = Alignment(wrap_text=True, vertical="top")
            b.border = BOX
            b.alignment = Alignment(vertical="top")
            if field.help and not field.hidden:
                c.value = field.help
                c.font = Font(name="Calibri", size=9, color="5F6368")
                c.alignment = Alignment(wrap_text=True, vertical="top")
            if field.type in ("integer", "number"):
                b.number_format = NUMBER_FORMAT
            elif field.type not in ("checkbox",):
                b.number_format = "@"
            if field.hidden:
                a.font = Font(name="Calibri", size=8, color="5F6368")
                b.font = Font(name="Calibri", size=8, color="5F6368")
                put(b, values.get(fid, prefill.get(fid)))
            elif field.formula:
                b.value = excel_formula(field.formula, addresses)
                b.fill = FORMULA_FILL
                b.font = Font(name="Calibri", bold=True)
            else:
                put(b, _cell_value(field, values.get(fid)))
                b.fill = INPUT_FILL
                b.protection = Protection(locked=False)
                _validation(ws, field, f"B{r}")
            wb.defined_names[fid] = DefinedName(fid, attr_text=f"'{SHEET_TITLE}'!$B${r}")

    ws.protection.sheet = True
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.center.text = "Side &P av &N"

    buf = io.BytesIO()
    wb.save(buf)
    return normalise_zip(buf.getvalue())


def _validation(ws, field: Field, cell: str) -> None:  # noqa: ANN001 - openpyxl worksheet
    if field.type in ("integer", "number") and field.minimum is not None:
        dv = DataValidation(
            type="whole" if field.type == "integer" else "decimal",
            operator="greaterThanOrEqual",
            formula1=str(int(field.minimum)),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Ugyldig verdi",
            error=f"Skriv et tall som er {int(field.minimum)} eller større.",
        )
        dv.add(cell)
        ws.add_data_validation(dv)
    elif field.type in ("choice", "hf") and field.choices:
        options = ",".join(c.code for c in field.choices)
        if len(options) < 250:
            dv = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True)
            dv.add(cell)
            ws.add_data_validation(dv)


_CREATED = re.compile(rb"<dcterms:created[^>]*>([^<]*)</dcterms:created>")
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


UNDATED = datetime(2026, 1, 1)  # a workbook's time when its caller gives none


def workbook_time(created: datetime | None) -> datetime:
    """What a workbook's created and modified properties hold: `created` (an aware time) as
    naive UTC (written as W3CDTF with Z), or `UNDATED`."""
    return UNDATED if created is None else utc_naive(created)


def utc_naive(at: datetime) -> datetime:
    """An aware time as openpyxl's workbook properties want it: naive UTC."""
    return at.astimezone(UTC).replace(tzinfo=None)


def _modified_as_created(core: bytes) -> bytes:
    created = _CREATED.search(core)
    if created is None:
        return core
    return _MODIFIED.sub(lambda m: m.group(1) + created.group(1) + m.group(2), core)


def normalise_zip(data: bytes) -> bytes:
    """Rewrite an OOXML archive deterministically: fixed entry timestamps, and the core
    properties' modified time (openpyxl writes the clock's) set to their created time."""
    src = zipfile.ZipFile(io.BytesIO(data))
    parts: list[tuple[str, bytes]] = []
    for item in src.infolist():
        content = src.read(item.filename)
        if item.filename == "docProps/core.xml":
            content = _modified_as_created(content)
        parts.append((item.filename, content))
    return write_zip(parts)
