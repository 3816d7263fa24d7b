"""XLSX forms: workbook-scoped defined names equal to field ids (FORMS.md 4.3).

Read from the package's XML directly, not through openpyxl (slow, and not built for hostile
input): `xl/workbook.xml` gives the sheets and the defined names, the workbook relationships the
sheet parts, `xl/sharedStrings.xml` the shared strings. A formula cell counts by its cached value;
one with no cached value is listed in `uncached_formulas` and read as None.

Every cell of every sheet, and the texts of embedded objects (`processor.embedded`), go into
`texts` for the identity guard (FORMS.md section 6), numbers included; an integral 10-digit number is also given zero-padded to 11 digits, since a fødselsnummer
stored as a number loses its leading 0. Every other string of the package, every part
referenced or not (`processor.sweep`: formulas, sheet names, data validation lists, defined
names, relationship targets, entry names, the ZIP comment ...), goes there too.
"""

from __future__ import annotations

import math
import re

from lxml import etree

from forms.catalog import all_field_ids
from processor.embedded import embedded_texts
from processor.extract_pdf import nested_pdf_texts
from processor.extracted import Extracted, RawValue, TextKind
from processor.findings import Limits, Refusal
from processor.ooxml import Package, drawing_texts, open_package, part_texts, properties_texts
from processor.sweep import package_texts

S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
S_STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
R_IDS = (
    "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
    "{http://purl.oclc.org/ooxml/officeDocument/relationships}id",
)
_DEFAULT_WORKBOOK = "xl/workbook.xml"
_DEFAULT_SHARED = "xl/sharedStrings.xml"
_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)
_COMMENTS_PART = re.compile(r"^xl/comments[^/]*\.xml$", re.IGNORECASE)
# text boxes, shapes and charts of a sheet: DrawingML parts of their own
_DRAWING_PART = re.compile(r"^xl/(drawings|charts)/[^/]+\.xml$", re.IGNORECASE)
# The codes of a header or footer (&L, &P, &14 for a font size, &"Arial,Bold", &K for a colour):
# each is read as a space, so that a font size does not join the digits after it.
_HEADER_CODE = re.compile(r'&(?:"[^"]*"|K[0-9A-Fa-f]{6}|K\d\d[+-]\d{3}|\d+|.)', re.DOTALL)
_HEADER_FOOTER = (
    "oddHeader",
    "oddFooter",
    "evenHeader",
    "evenFooter",
    "firstHeader",
    "firstFooter",
)

# 'Sheet name'!$B$4, Sheet1!B4, optionally a range (its top-left cell counts).
_NAME_REF = re.compile(
    r"""^\s*=?\s*(?:'((?:[^']|'')+)'|([^'!:\s][^'!]*))!"""
    r"""\$?([A-Za-z]{1,3})\$?([0-9]{1,7})(?::\$?[A-Za-z]{1,3}\$?[0-9]{1,7})?\s*$"""
)
_STRING_CONSTANT = re.compile(r'^\s*=?\s*"((?:[^"]|"")*)"\s*$')
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


class _S:
    """Qualified SpreadsheetML tag names for one namespace (transitional or strict)."""

    def __init__(self, ns: str):
        q = f"{{{ns}}}"
        self.sheet = q + "sheet"
        self.defined_name = q + "definedName"
        self.si = q + "si"
        self.t = q + "t"
        self.r = q + "r"
        self.row = q + "row"
        self.c = q + "c"
        self.v = q + "v"
        self.f = q + "f"
        self.inline = q + "is"
        self.text = q + "text"


def _names_for(root: etree._Element) -> _S:
    return _S(S_STRICT_NS if root.tag.startswith("{" + S_STRICT_NS) else S_NS)


# A cell that is a formula with no cached value.
_UNCACHED = object()


def _rich_text(el: etree._Element, s: _S) -> str:
    """The text of a shared or inline string: plain <t>, or the runs' <t>; phonetic runs left
    out."""
    parts: list[str] = []
    for child in el:
        if child.tag == s.t:
            parts.append(child.text or "")
        elif child.tag == s.r:
            for grandchild in child:
                if grandchild.tag == s.t:
                    parts.append(grandchild.text or "")
    return "".join(parts)


def _comment_texts(root: etree._Element) -> list[str]:
    """The text of each cell comment (note) with its rich-text runs joined, as Excel shows it:
    a number split over two runs is one number."""
    s = _names_for(root)
    out = []
    for el in root.iter(s.text):
        joined = _rich_text(el, s)
        if joined and not joined.isspace():
            out.append(joined)
    return out


def _number(text: str) -> RawValue:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text  # not a number after all: give the text, normalisation judges it
    if not math.isfinite(value):
        return None
    if value.is_integer() and abs(value) < 1e16:
        return int(value)
    return value


def _cell_value(cell: etree._Element, s: _S, shared: list[str]) -> object:
    v = f = inline = None
    for child in cell:
        tag = child.tag
        if tag == s.v:
            v = child
        elif tag == s.f:
            f = child
        elif tag == s.inline:
            inline = child
    kind = cell.get("t") or "n"
    if kind == "inlineStr":
        return _rich_text(inline, s) if inline is not None else None
    if v is None:
        return _UNCACHED if f is not None else None
    text = v.text or ""
    if kind == "s":
        try:
            index = int(text)
        except ValueError:
            return None
        return shared[index] if 0 <= index < len(shared) else None
    if kind == "b":
        return text.strip().lower() in ("1", "true")
    if kind in ("str", "e", "d"):
        return text
    if not text.strip():
        return _UNCACHED if f is not None else None
    return _number(text)


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _sheet_cells(root: etree._Element, shared: list[str]) -> dict[str, object]:
    """Cell reference ("B4") -> value, for every cell of a worksheet part."""
    s = _names_for(root)
    cells: dict[str, object] = {}
    row_number = 0
    for row in root.iter(s.row):
        r = row.get("r")
        row_number = int(r) if r and r.isdigit() else row_number + 1
        column = 0
        for cell in row:
            if cell.tag != s.c:
                continue
            ref = cell.get("r")
            m = _CELL_REF.match(ref) if ref else None
            if m:
                column = _column_number(m.group(1))
                key = f"{m.group(1).upper()}{m.group(2)}"
            else:  # a cell without a reference follows the one before it
                column += 1
                key = f"{_column_letters(column)}{row_number}"
            cells[key] = _cell_value(cell, s, shared)
    return cells


def _header_footer_texts(root: etree._Element) -> list[str]:
    """A worksheet's printed headers and footers: as written, and with their codes as spaces."""
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    out: list[str] = []
    for el in root.iter(*(ns + local for local in _HEADER_FOOTER)):
        if el.text and not el.text.isspace():
            out.append(el.text)
            out.append(_HEADER_CODE.sub(" ", el.text))
    return out


def _shared_strings(pkg: Package, rels: dict[str, str]) -> list[str]:
    name = rels.get("sharedStrings") or (_DEFAULT_SHARED if pkg.has(_DEFAULT_SHARED) else None)
    if name is None or not pkg.has(name):
        return []
    root = pkg.xml(name)
    s = _names_for(root)
    return [_rich_text(si, s) for si in root.iter(s.si)]


def _texts_of(value: object) -> list[str]:
    if value is None or value is _UNCACHED or isinstance(value, bool):
        return []
    text = str(value)
    out = [text] if text and not text.isspace() else []
    if isinstance(value, int) and 10**9 <= value < 10**10:
        out.append(f"{value:011d}")  # a fødselsnummer whose leading 0 was lost
    return out


def _resolve_name(ref: str) -> tuple[str, str] | RawValue:
    """A defined name's formula: (sheet name, "B4"), or a constant, or None."""
    m = _NAME_REF.match(ref)
    if m:
        quoted, bare = m.group(1), m.group(2)
        sheet = quoted.replace("''", "'") if quoted else bare.strip()
        return sheet, f"{m.group(3).upper()}{m.group(4)}"
    m = _STRING_CONSTANT.match(ref)
    if m:
        return m.group(1).replace('""', '"')
    stripped = ref.strip().lstrip("=").strip()
    if stripped and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", stripped):
        return _number(stripped)
    return None


def extract_xlsx(data: bytes, limits: Limits, pkg: Package | None = None) -> Extracted:
    """Read an XLSX form: defined names as fields, every cell as text for the identity guard."""
    pkg = pkg or open_package(data, limits)  # the caller may have opened it to sniff the kind
    workbook = pkg.main_part(_DEFAULT_WORKBOOK)
    if workbook is None:
        raise Refusal("FILE_CORRUPT", "Regnearket mangler arbeidsboken (xl/workbook.xml).")
    wb = pkg.xml(workbook)
    s = _names_for(wb)

    by_id: dict[str, str] = {}
    typed: dict[str, str] = {}
    for rel in pkg.rels(workbook):
        if rel.external or not pkg.has(rel.target):
            continue
        by_id[rel.id] = rel.target
        typed.setdefault(rel.type.rpartition("/")[2], rel.target)

    sheet_parts: dict[str, str] = {}  # folded sheet name -> part
    order: list[str] = []
    for sheet in wb.iter(s.sheet):
        rid = next((sheet.get(a) for a in R_IDS if sheet.get(a)), None)
        part = by_id.get(rid or "")
        if part is None:
            continue
        sheet_parts[(sheet.get("name") or "").casefold()] = part
        order.append(part)
    for name in sorted(pkg.names()):
        if _SHEET_PART.match(name) and name not in order:
            order.append(name)  # a sheet part the workbook does not list: searched all the same

    names: list[tuple[str, str]] = []
    for dn in wb.iter(s.defined_name):
        name = (dn.get("name") or "").strip()
        if not name or dn.get("localSheetId") is not None or name.startswith("_xlnm."):
            continue
        names.append((name, dn.text or ""))
    if not names:
        raise Refusal("FILE_NO_FORM_FIELDS")
    if len(names) > limits.max_fields:
        raise Refusal("FILE_CORRUPT", "Filen har for mange skjemafelt.")

    shared = _shared_strings(pkg, typed)
    texts: list[tuple[TextKind, str]] = []
    sheets: dict[str, dict[str, object]] = {}
    for part in order:
        if part in sheets:
            continue
        root = pkg.xml(part)
        cells = _sheet_cells(root, shared)
        sheets[part] = cells
        for value in cells.values():
            texts.extend(("sheet", t) for t in _texts_of(value))
        texts.extend(("sheet", t) for t in _header_footer_texts(root))
    used = {v for cells in sheets.values() for v in cells.values() if isinstance(v, str)}
    texts.extend(("sheet", t) for t in shared if t and not t.isspace() and t not in used)
    for name in sorted(pkg.names()):
        if _COMMENTS_PART.match(name):
            texts.extend(("sheet", t) for t in part_texts(pkg.read_markup(name)))
            texts.extend(("sheet", t) for t in _comment_texts(pkg.xml(name)))
        elif _DRAWING_PART.match(name):
            texts.extend(("sheet", t) for t in drawing_texts(pkg.xml(name)))
    texts.extend(("metadata", t) for t in properties_texts(pkg))
    objects = embedded_texts(pkg, limits, nested_pdf_texts)  # objects in the sheets
    texts.extend(("embedded", t) for t in objects)
    # every other string of the package, every part referenced or not (FORMS.md section 6)
    texts.extend(package_texts(pkg, limits))
    known = all_field_ids()  # names are searched as the keys of a JSON form are (not our ids)
    texts.extend(("document", name) for name, _ in names if name not in known)

    fields: dict[str, RawValue] = {}
    uncached: list[str] = []
    for name, ref in names:
        target = _resolve_name(ref)
        if isinstance(target, tuple):
            sheet_name, cell = target
            part = sheet_parts.get(sheet_name.casefold())
            found = sheets.get(part, {}).get(cell) if part is not None else None
            if found is _UNCACHED:
                uncached.append(name)
                found = None
            value: RawValue = found  # type: ignore[assignment]  # only RawValue is left
        else:
            value = target
        if fields.get(name) is None:
            fields[name] = value
    return Extracted(kind="xlsx", fields=fields, texts=texts, uncached_formulas=uncached)
