"""DOCX forms: content controls tagged with field ids, or the label fallback (FORMS.md 4.2, 4.4).

A content control (`w:sdt`) whose `w:tag/@w:val` is a field id carries that field, in the body,
in tables, in headers and footers; nested controls keep their own content. Checkboxes are
`w14:checkbox` controls; placeholder text (`w:showingPlcHdr`) is empty.

A plain Word document without our content controls is read by its labels: a table row labelled
`Skjema` names the form, every other row whose label is a field's Norwegian label gives the next
cell as the value, and checkbox glyphs (☒ ☐) tick checkbox fields by their label.

Every paragraph of the document, headers, footers, footnotes, endnotes and comments, and every
property text, goes into `texts` for the identity guard (FORMS.md section 6).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from lxml import etree

from forms.catalog import FormDef, catalogue
from processor.extracted import Extracted, RawValue, TextKind
from processor.findings import Limits, Refusal
from processor.ooxml import Package, open_package, parse_xml, properties_texts

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W_STRICT_NS = "http://purl.oclc.org/ooxml/wordprocessingml/main"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
W14_CHECKBOX = f"{{{W14_NS}}}checkbox"
W14_CHECKED = f"{{{W14_NS}}}checked"
W14_VAL = f"{{{W14_NS}}}val"

CHECKED_GLYPHS = "☒☑⊠✓✔"
UNCHECKED_GLYPHS = "☐□"
_GLYPHS = CHECKED_GLYPHS + UNCHECKED_GLYPHS
_TRUE_WORDS = frozenset({"x", "ja"})
_FALSE_WORDS = frozenset({"", "nei"})
_ON = frozenset({"1", "true", "on"})
# Symbol-font check boxes (w:sym) as Word inserts them: Wingdings boxes with and without a tick.
_SYM_GLYPHS = {"F0FE": "☒", "F0FD": "☒", "F078": "☒", "F0A8": "☐", "F06F": "☐"}
_GLYPH_ANSWER = re.compile(rf"([{_GLYPHS}])\s*(ja|nei)\b", re.IGNORECASE)

_DEFAULT_MAIN = "word/document.xml"
_HEADER_FOOTER = ("/header", "/footer")
_TEXT_ONLY = ("/footnotes", "/endnotes", "/comments")
_PART_PATTERN = re.compile(r"^word/(header|footer)\d*\.xml$", re.IGNORECASE)
_NOTE_PARTS = ("word/footnotes.xml", "word/endnotes.xml", "word/comments.xml")


class _W:
    """Qualified WordprocessingML tag names for one namespace (transitional or strict)."""

    def __init__(self, ns: str):
        q = f"{{{ns}}}"
        self.val = q + "val"
        self.p = q + "p"
        self.t = q + "t"
        self.tab = q + "tab"
        self.br = q + "br"
        self.cr = q + "cr"
        self.nbh = q + "noBreakHyphen"
        self.sym = q + "sym"
        self.char = q + "char"
        self.legacy_checkbox = q + "checkBox"
        self.checked = q + "checked"
        self.default = q + "default"
        self.del_text = q + "delText"
        self.sdt = q + "sdt"
        self.sdt_pr = q + "sdtPr"
        self.sdt_content = q + "sdtContent"
        self.tag = q + "tag"
        self.placeholder = q + "showingPlcHdr"
        self.tbl = q + "tbl"
        self.tr = q + "tr"
        self.tc = q + "tc"
        self.custom_xml = q + "customXml"
        self.text_tags = (
            self.p,
            self.t,
            self.tab,
            self.br,
            self.cr,
            self.nbh,
            self.sym,
            self.legacy_checkbox,
        )


_W_TRANSITIONAL = _W(W_NS)
_W_STRICT = _W(W_STRICT_NS)


def _names_for(root: etree._Element) -> _W:
    return _W_STRICT if root.tag.startswith("{" + W_STRICT_NS) else _W_TRANSITIONAL


def _on(el: etree._Element | None, w: _W) -> bool:
    """An OOXML on/off element: present means on unless w:val says 0/false/off."""
    if el is None:
        return False
    val = el.get(w.val)
    return val is None or val.strip().lower() in _ON


# ---- text -----------------------------------------------------------------------------------


def _paragraphs(el: etree._Element, w: _W, only: etree._Element | None = None) -> list[str]:
    """The paragraphs under `el` as texts, runs concatenated, tabs and breaks kept.

    With `only`, text whose nearest enclosing content control is not `only` is left out (a nested
    control that carries its own field)."""
    paras: list[str] = []
    buf: list[str] | None = None
    for node in el.iter(*w.text_tags):
        tag = node.tag
        if only is not None and tag != w.p and next(node.iterancestors(w.sdt), None) is not only:
            continue
        if tag == w.p:
            if buf is not None:
                paras.append("".join(buf))
            buf = []
            continue
        if buf is None:
            buf = []
        if tag == w.t:
            if node.text:
                buf.append(node.text)
        elif tag == w.tab:
            buf.append("\t")
        elif tag == w.br or tag == w.cr:
            buf.append("\n")
        elif tag == w.nbh:
            buf.append("-")
        elif tag == w.sym:
            glyph = _SYM_GLYPHS.get((node.get(w.char) or "").upper())
            if glyph:
                buf.append(glyph)
        elif tag == w.legacy_checkbox:
            checked = node.find(w.checked)
            if checked is not None:
                ticked = _on(checked, w)
            else:
                default = node.find(w.default)
                ticked = default is not None and (default.get(w.val) or "0").lower() in _ON
            buf.append("☒" if ticked else "☐")
    if buf is not None:
        paras.append("".join(buf))
    return paras


# ---- content controls -----------------------------------------------------------------------


@cache
def _checkbox_ids() -> frozenset[str]:
    """Field ids whose catalogue type is checkbox, in any form."""
    ids: set[str] = set()
    for form in catalogue().values():
        for fid in form.field_ids():
            hit = form.lookup(fid)
            if hit is not None and hit[0].type == "checkbox":
                ids.add(fid)
    return frozenset(ids)


@cache
def _known_ids() -> frozenset[str]:
    ids: set[str] = set()
    for form in catalogue().values():
        ids.update(form.field_ids())
    return frozenset(ids)


def _checkbox_text(text: str) -> RawValue:
    """A checkbox field carried as text: glyphs, X, Ja/Nei. Anything else is left as it is."""
    stripped = text.strip()
    folded = stripped.casefold()
    single = len(stripped) == 1
    if single and stripped in CHECKED_GLYPHS or folded in _TRUE_WORDS:
        return True
    if single and stripped in UNCHECKED_GLYPHS or folded in _FALSE_WORDS:
        return False
    return text


def _tag_of(sdt: etree._Element, w: _W) -> tuple[str, etree._Element | None]:
    pr = sdt.find(w.sdt_pr)
    if pr is None:
        return "", None
    tag = pr.find(w.tag)
    if tag is None:
        return "", pr
    return (tag.get(w.val) or "").strip(), pr


def _control_value(sdt: etree._Element, pr: etree._Element, field_id: str, w: _W) -> RawValue:
    box = pr.find(W14_CHECKBOX)
    if box is not None:
        checked = box.find(W14_CHECKED)
        return checked is not None and (checked.get(W14_VAL) or "").strip().lower() in _ON
    placeholder = _on(pr.find(w.placeholder), w)
    content = sdt.find(w.sdt_content)
    text: str | None
    if placeholder or content is None:
        text = None
    else:
        nested = any(_tag_of(s, w)[0] for s in content.iter(w.sdt))
        text = "\n".join(_paragraphs(content, w, only=sdt if nested else None))
    if field_id in _checkbox_ids():
        return False if text is None else _checkbox_text(text)
    return text


def _controls(roots: list[etree._Element], limits: Limits) -> dict[str, RawValue]:
    """Tagged content controls of the given part roots; the first filled one wins per tag."""
    fields: dict[str, RawValue] = {}
    count = 0
    for root in roots:
        w = _names_for(root)
        for sdt in root.iter(w.sdt):
            tag, pr = _tag_of(sdt, w)
            if not tag or pr is None:
                continue
            count += 1
            if count > limits.max_fields:
                raise Refusal("FILE_CORRUPT", "Filen har for mange skjemafelt.")
            value = _control_value(sdt, pr, tag, w)
            if fields.get(tag) in (None, ""):
                fields[tag] = value
    return fields


# ---- label fallback (FORMS.md 4.4) ----------------------------------------------------------


def fold_label(text: str) -> str:
    """A label compared without case, punctuation, checkbox glyphs or white space."""
    text = unicodedata.normalize("NFC", text).casefold()
    return "".join(
        ch
        for ch in text
        if not ch.isspace() and ch not in _GLYPHS and not unicodedata.category(ch).startswith("P")
    )


_PARENTHESIS = re.compile(r"\([^)]*\)")


@cache
def _fallback_forms() -> tuple[dict[str, FormDef], dict[str, dict[str, str]]]:
    """Form by folded name or id, and per form: folded label (or field id) -> field id.

    A label without its parenthesis ("Fødselsår" for "Fødselsår (fire siffer)") is accepted too
    when no other field of the form folds to the same text."""
    by_name: dict[str, FormDef] = {}
    labels: dict[str, dict[str, str]] = {}
    for form in catalogue().values():
        by_name[fold_label(form.name)] = form
        by_name[fold_label(form.id)] = form
        primary: dict[str, str] = {}
        short: dict[str, str | None] = {}
        for fid in form.field_ids():
            if fid.startswith("skjema."):
                continue  # the Skjema row gives type and version
            label = form.label(fid)
            primary.setdefault(fold_label(label), fid)
            primary.setdefault(fid.casefold(), fid)
            bare = fold_label(_PARENTHESIS.sub(" ", label))
            if bare:
                short[bare] = None if bare in short else fid
        table = dict(primary)
        for key, fid in short.items():
            if fid is not None and key not in table:
                table[key] = fid
        labels[form.id] = table
    return by_name, labels


def _cells(row: etree._Element, w: _W) -> list[etree._Element]:
    out: list[etree._Element] = []
    for child in row:
        if child.tag == w.tc:
            out.append(child)
        elif child.tag in (w.sdt, w.sdt_content, w.custom_xml):
            out.extend(_cells(child, w))
    return out


def _cell_text(cell: etree._Element, w: _W) -> str:
    """The paragraphs of a cell, nested tables left out (their rows are read on their own)."""
    paras: list[str] = []
    for child in cell:
        if child.tag == w.p:
            paras.extend(_paragraphs(child, w))
        elif child.tag in (w.sdt, w.sdt_content, w.custom_xml):
            text = _cell_text(child, w)
            if text:
                paras.append(text)
    return "\n".join(paras)


def _glyph_state(text: str) -> bool | None:
    """True/False when the text holds a ticked/unticked box, None when it holds none."""
    if any(g in text for g in CHECKED_GLYPHS):
        return True
    if any(g in text for g in UNCHECKED_GLYPHS):
        return False
    return None


def _checkbox_cell(text: str) -> RawValue:
    """The value cell of a checkbox row: ☒/☐, X, Ja/Nei, or "☒ Ja ☐ Nei"."""
    answers = _GLYPH_ANSWER.findall(text)
    if answers:
        ticked = [word.casefold() for glyph, word in answers if glyph in CHECKED_GLYPHS]
        if not ticked:
            return False
        if len(set(ticked)) == 1:
            return ticked[0] == "ja"
        return text  # both ticked: normalisation reports it
    state = _glyph_state(text)
    if state is not None:
        return state
    return _checkbox_text(text)


def _set(fields: dict[str, RawValue], fid: str, value: RawValue) -> None:
    if fields.get(fid) in (None, ""):
        fields[fid] = value


def _label_fallback(roots: list[etree._Element]) -> dict[str, RawValue] | None:
    by_name, label_tables = _fallback_forms()
    rows: list[list[str]] = []
    for root in roots:
        w = _names_for(root)
        for tr in root.iter(w.tr):
            rows.append([_cell_text(tc, w) for tc in _cells(tr, w)])

    form: FormDef | None = None
    for cells in rows:
        if len(cells) >= 2 and fold_label(cells[0]) == "skjema":
            form = by_name.get(fold_label(cells[1]))
            if form is not None:
                break
    if form is None:
        return None

    labels = label_tables[form.id]
    checkboxes = _checkbox_ids()
    fields: dict[str, RawValue] = {"skjema.type": form.id, "skjema.versjon": "1"}
    for cells in rows:
        i = 0
        while i < len(cells):
            fid = labels.get(fold_label(cells[i]))
            if fid is None:
                i += 1
                continue
            following = cells[i + 1] if i + 1 < len(cells) else None
            if fid in checkboxes:
                own = _glyph_state(cells[i])
                before = cells[i - 1] if i > 0 else ""
                if own is not None:
                    _set(fields, fid, own)
                    i += 1
                elif following is not None:
                    _set(fields, fid, _checkbox_cell(following))
                    i += 2
                elif before and not fold_label(before) and _glyph_state(before) is not None:
                    _set(fields, fid, _glyph_state(before))
                    i += 1
                else:
                    i += 1
            elif following is not None:
                _set(fields, fid, following)
                i += 2
            else:
                i += 1

    # "☒ Label" / "Label ☐" paragraphs, in or out of tables, for checkboxes no row has set.
    for root in roots:
        w = _names_for(root)
        for para in _paragraphs(root, w):
            state = _glyph_state(para)
            if state is None:
                continue
            fid = labels.get(fold_label(para))
            if fid in checkboxes and fid not in fields:
                fields[fid] = state
    return fields


# ---- the package ----------------------------------------------------------------------------


def _parts(pkg: Package, main: str) -> tuple[list[str], list[str]]:
    """(parts that carry fields: main, headers, footers; parts searched only for text)."""
    fields_parts = [main]
    text_parts: list[str] = []
    for rel in pkg.rels(main):
        if rel.external or not pkg.has(rel.target):
            continue
        if rel.type.endswith(_HEADER_FOOTER):
            fields_parts.append(rel.target)
        elif rel.type.endswith(_TEXT_ONLY):
            text_parts.append(rel.target)
    for name in sorted(pkg.names()):
        if _PART_PATTERN.match(name):
            fields_parts.append(name)
        elif name.lower() in _NOTE_PARTS:
            text_parts.append(name)
    return _unique(fields_parts), [p for p in _unique(text_parts) if p not in fields_parts]


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        key = name.casefold()
        if key not in seen:
            seen.add(key)
            out.append(name)
    return out


def _document_texts(root: etree._Element, raw: bytes) -> list[str]:
    w = _names_for(root)
    texts = [p for p in _paragraphs(root, w) if p and not p.isspace()]
    if b"delText" in raw:  # tracked deletions are still in the file
        deleted = "".join(t.text or "" for t in root.iter(w.del_text))
        if deleted:
            texts.append(deleted)
    return texts


def extract_docx(data: bytes, limits: Limits) -> Extracted:
    """Read a DOCX form: field values, the texts for the identity guard, label fallback flag."""
    pkg = open_package(data, limits)
    main = pkg.main_part(_DEFAULT_MAIN)
    if main is None:
        raise Refusal("FILE_CORRUPT", "Word-dokumentet mangler hoveddelen (word/document.xml).")
    field_parts, text_parts = _parts(pkg, main)

    texts: list[tuple[TextKind, str]] = []
    roots: list[etree._Element] = []
    for name in field_parts + text_parts:
        raw = pkg.read(name)
        root = parse_xml(raw, limits.max_depth, pkg)
        if name in field_parts:
            roots.append(root)
        texts.extend(("document", t) for t in _document_texts(root, raw))
    texts.extend(("metadata", t) for t in properties_texts(pkg))

    fields = _controls(roots, limits)
    label_fallback = False
    if not any(tag in _known_ids() for tag in fields):
        found = _label_fallback(roots)
        if found is not None:
            fields = found
            label_fallback = True
        elif not fields:
            raise Refusal("FILE_NO_FORM_FIELDS")
        # else: tagged controls that are none of ours; the pipeline reports FORM_UNKNOWN
    return Extracted(
        kind="docx",
        fields=fields,
        texts=texts,
        label_fallback=label_fallback,
    )
