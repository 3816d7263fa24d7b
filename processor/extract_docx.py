"""DOCX forms: content controls tagged with field ids, or the label fallback (FORMS.md 4.2, 4.4).

A content control (`w:sdt`) whose `w:tag/@w:val` is a field id carries that field, in the body,
in tables, in headers and footers; nested controls keep their own content. Checkboxes are
`w14:checkbox` controls; placeholder text (`w:showingPlcHdr`) is empty.

A plain Word document without our content controls is read by its labels: a table row labelled
`Skjema` names the form, every other row whose label is a field's Norwegian label gives the next
cell as the value, and checkbox glyphs (☒ ☐) tick checkbox fields by their label.

Every paragraph of the document, headers, footers, footnotes, endnotes and comments, every
property text, and the texts of embedded objects and altChunks (`processor.embedded`) go into
`texts` for the identity guard (FORMS.md section 6), and so does every other string of the
package, every part referenced or not (`processor.sweep`: field codes, document variables,
relationship targets, alt texts, bookmark names, entry names, the ZIP comment ...).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from lxml import etree

from forms.catalog import all_field_ids, catalogue
from forms.fields import FormDef
from processor.embedded import embedded_texts
from processor.extract_pdf import nested_pdf_texts
from processor.extracted import Extracted, RawValue, TextKind
from processor.findings import Limits, Refusal
from processor.ooxml import Package, drawing_texts, open_package, properties_texts
from processor.sweep import package_texts

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W_STRICT_NS = "http://purl.oclc.org/ooxml/wordprocessingml/main"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
W14_CHECKBOX = f"{{{W14_NS}}}checkbox"
W14_CHECKED = f"{{{W14_NS}}}checked"
W14_VAL = f"{{{W14_NS}}}val"
# Markup compatibility: the fallback copy of a drawing (a text box twice) is skipped.
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

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
# Charts and SmartArt keep their text in parts of their own (`ooxml.drawing_texts`).
_DRAWING_PART = re.compile(r"^word/(charts|diagrams)/[^/]+\.xml$", re.IGNORECASE)


# What the scan does with each listed element, by tag; the three containers come first.
_P, _SDT, _FALLBACK, _TEXT, _TAG, _PROPERTY, _DELETED, _OTHER = range(8)


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
        # the tags that make a paragraph's text
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
        # what the scan does with each element it lists: the text tags and the structure
        self.actions = {
            self.p: _P,
            self.t: _TEXT,
            self.sdt: _SDT,
            self.tag: _TAG,
            self.placeholder: _PROPERTY,
            W14_CHECKBOX: _PROPERTY,
            W14_CHECKED: _PROPERTY,
            MC_FALLBACK: _FALLBACK,
            self.del_text: _DELETED,
            self.tab: _OTHER,
            self.br: _OTHER,
            self.cr: _OTHER,
            self.nbh: _OTHER,
            self.sym: _OTHER,
            self.legacy_checkbox: _OTHER,
        }
        self.scan_tags = tuple(self.actions)


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


def _piece(node: etree._Element, tag: str, w: _W) -> str | None:
    """The text one run-level element stands for."""
    if tag == w.t:
        return node.text
    if tag == w.tab:
        return "\t"
    if tag == w.br or tag == w.cr:
        return "\n"
    if tag == w.nbh:
        return "-"
    if tag == w.sym:
        return _sym_text((node.get(w.char) or "").upper())
    if tag == w.legacy_checkbox:  # a legacy form-field check box (FORMCHECKBOX)
        checked = _child(node, w.checked)
        if checked is not None:
            ticked = _on(checked, w)
        else:
            default = _child(node, w.default)
            ticked = default is not None and (default.get(w.val) or "0").lower() in _ON
        return "☒" if ticked else "☐"
    return None


def _sym_text(char: str) -> str | None:
    """A symbol (w:sym) as text: a check box glyph, or a digit (a regular font's "0034", or a
    symbol font's "F034", shows "4": a number may end in one); else None."""
    glyph = _SYM_GLYPHS.get(char)
    if glyph is not None or not re.fullmatch(r"[0-9A-F]{1,4}", char):
        return glyph
    code = int(char, 16)
    code -= 0xF000 if code >= 0xF000 else 0
    return chr(code) if 0x30 <= code <= 0x39 else None


def _paragraphs(el: etree._Element, w: _W) -> list[str]:
    """The paragraphs under `el` as texts, runs concatenated, tabs and breaks kept."""
    paras: list[str] = []
    buf: list[str] | None = None
    for node in el.iter(*w.text_tags):
        tag = node.tag
        if tag == w.p:
            if buf is not None:
                paras.append("".join(buf))
            buf = []
            continue
        piece = _piece(node, tag, w)
        if piece:
            if buf is None:
                buf = []
            buf.append(piece)
    if buf is not None:
        paras.append("".join(buf))
    return paras


class _Control:
    """A content control being read: its tag, checkbox state, placeholder flag and text."""

    __slots__ = ("tag", "checkbox", "checked", "placeholder", "level", "paras", "cur")

    def __init__(self, level: int):
        self.tag = ""
        self.checkbox = False
        self.checked = False
        self.placeholder = False
        self.level = level  # open paragraphs when the control starts
        self.paras: list[str] = []
        self.cur: list[str] = []


# Steps back from the last descendant of a paragraph or control before its end is counted instead.
_WALK_BACK = 12


class _Scan:
    """One pass over a part: its paragraph texts, deleted texts and tagged content controls.

    The elements that matter are listed in document order by lxml in C (`iter` with tag names):
    on a filled form that is a fifth of all elements, and none of the others becomes a Python
    object (`etree.iterwalk` makes one for every element, which cost more than the parse). A list
    of start tags has no end tags; a paragraph, content control or mc:Fallback ends after the last
    listed element inside it, which is its last descendant or a few steps before it
    (`_last_inside`), and the loop closes it there. The loop is the hot path of a DOCX upload,
    hence the local names and the branch order."""

    def __init__(self, root: etree._Element):
        w = _names_for(root)
        nodes = list(root.iter(*w.scan_tags))
        index = {node: i for i, node in enumerate(nodes)}
        actions = w.actions
        paragraphs: list[str] = []
        deleted: list[str] = []
        controls: list[_Control] = []
        paras: list[list[str]] = []  # open paragraphs (a text box nests one in another)
        sdts: list[_Control] = []  # open content controls, tagged or not
        owner: _Control | None = None  # the innermost open control that has a tag
        ends: list[int] = [len(nodes)]  # index of the last element inside each open container
        kinds: list[int] = [_OTHER]  # the kind of each open container (the document: never closed)
        skip = 0
        for i, node in enumerate(nodes):
            while ends[-1] < i:
                ends.pop()
                kind = kinds.pop()
                if kind == _FALLBACK:
                    skip -= 1
                else:
                    owner = _close(kind, paras, sdts, owner, paragraphs, controls)
            tag = node.tag
            action = actions[tag]
            if action == _TEXT:
                piece = node.text
            elif action <= _FALLBACK:  # a paragraph, content control or fallback starts
                last = node
                while len(last):
                    last = last[-1]
                end = index.get(last)
                ends.append(end if end is not None else _last_inside(node, i, index, w))
                kinds.append(action)
                if action == _P:
                    paras.append([])
                elif action == _SDT:
                    sdts.append(_Control(len(paras)))
                else:
                    skip += 1
                continue
            elif action == _TAG:
                if sdts and not sdts[-1].tag:
                    sdts[-1].tag = (node.get(w.val) or "").strip()
                    owner = _owner(sdts)
                continue
            elif action == _PROPERTY:
                if sdts:
                    _control_property(sdts[-1], node, tag, w)
                continue
            elif action == _DELETED:
                if node.text:
                    deleted.append(node.text)
                continue
            else:
                piece = _piece(node, tag, w)
            if piece and not skip:
                if paras:
                    paras[-1].append(piece)
                if owner is not None:
                    owner.cur.append(piece)
        while len(kinds) > 1:
            kind = kinds.pop()
            if kind != _FALLBACK:
                owner = _close(kind, paras, sdts, owner, paragraphs, controls)
        self.paragraphs = paragraphs
        self.deleted = deleted
        self.controls = controls


def _close(
    kind: int,
    paras: list[list[str]],
    sdts: list[_Control],
    owner: _Control | None,
    paragraphs: list[str],
    controls: list[_Control],
) -> _Control | None:
    """Close the innermost open paragraph or content control; returns the owner after it."""
    if kind == _P:
        text = "".join(paras.pop())
        if text and not text.isspace():
            paragraphs.append(text)
        if owner is not None and len(paras) >= owner.level:
            owner.paras.append("".join(owner.cur))
            owner.cur = []
        return owner
    control = sdts.pop()
    if control.tag:
        if control.cur or not control.paras:
            control.paras.append("".join(control.cur))
        controls.append(control)
        return _owner(sdts)
    return owner


def _last_inside(el: etree._Element, at: int, index: dict, w: _W) -> int:
    """The list index of the last listed element inside `el` (listed at `at`): `at` when none.

    Walks back in document order from the last descendant of `el` to the first listed element.
    An element that ends in many unlisted ones is counted instead, so that the walk stays short
    whatever the file holds (the count is in C, and nesting is limited)."""
    node = el
    while len(node):
        node = node[-1]
    steps = 0
    while node is not el:
        found = index.get(node)
        if found is not None:
            return found
        steps += 1
        if steps > _WALK_BACK:
            return at + sum(1 for _ in el.iter(*w.scan_tags)) - 1
        prev = node.getprevious()
        if prev is None:
            node = node.getparent()
        else:
            node = prev
            while len(node):
                node = node[-1]
    return at


def _control_property(control: _Control, node: etree._Element, tag: str, w: _W) -> None:
    if tag == W14_CHECKBOX:
        control.checkbox = True
    elif tag == W14_CHECKED:
        control.checked = (node.get(W14_VAL) or "").strip().lower() in _ON
    else:
        control.placeholder = _on(node, w)


def _owner(sdts: list[_Control]) -> _Control | None:
    """The innermost open control with a tag: nested tagged controls keep their own text."""
    for control in reversed(sdts):
        if control.tag:
            return control
    return None


# ---- content controls -----------------------------------------------------------------------


@cache
def _checkbox_ids() -> frozenset[str]:
    """Field ids whose catalogue type is checkbox, in any form."""
    ids: set[str] = set()
    for form in catalogue().values():
        for fid, (field, _) in form.entries():
            if field.type == "checkbox":
                ids.add(fid)
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


def _child(el: etree._Element, tag: str) -> etree._Element | None:
    """The first child with this tag (a plain loop: lxml's find() runs Python code)."""
    for child in el:
        if child.tag == tag:
            return child
    return None


def _control_value(control: _Control) -> RawValue:
    if control.checkbox:
        return control.checked
    text = None if control.placeholder else "\n".join(control.paras)
    if control.tag in _checkbox_ids():
        return False if text is None else _checkbox_text(text)
    return text


def _controls(scans: list[_Scan], limits: Limits) -> dict[str, RawValue]:
    """Tagged content controls of the given parts; the first filled one wins per tag."""
    fields: dict[str, RawValue] = {}
    if sum(len(scan.controls) for scan in scans) > limits.max_fields:
        raise Refusal("FILE_CORRUPT", "Filen har for mange skjemafelt.")
    for scan in scans:
        for control in scan.controls:
            if fields.get(control.tag) in (None, ""):
                fields[control.tag] = _control_value(control)
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
            primary.setdefault(fold_label(fid), fid)  # a row labelled with the id itself
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


def _label_fallback(
    roots: list[etree._Element], paragraphs: list[str]
) -> dict[str, RawValue] | None:
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
    fields: dict[str, RawValue] = dict(form.header_values())
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
    for para in paragraphs:
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


def extract_docx(data: bytes, limits: Limits, pkg: Package | None = None) -> Extracted:
    """Read a DOCX form: field values, the texts for the identity guard, label fallback flag."""
    pkg = pkg or open_package(data, limits)  # the caller may have opened it to sniff the kind
    main = pkg.main_part(_DEFAULT_MAIN)
    if main is None:
        raise Refusal("FILE_CORRUPT", "Word-dokumentet mangler hoveddelen (word/document.xml).")
    field_parts, text_parts = _parts(pkg, main)

    texts: list[tuple[TextKind, str]] = []
    roots: list[etree._Element] = []
    scans: list[_Scan] = []
    for name in field_parts + text_parts:
        root = pkg.xml(name)
        scan = _Scan(root)
        if name in field_parts:
            roots.append(root)
            scans.append(scan)
        texts.extend(("document", t) for t in scan.paragraphs)
        if scan.deleted:  # tracked deletions are still in the file
            texts.append(("document", "".join(scan.deleted)))
    for name in sorted(pkg.names()):
        if _DRAWING_PART.match(name):
            texts.extend(("document", t) for t in drawing_texts(pkg.xml(name)))
    texts.extend(("metadata", t) for t in properties_texts(pkg))
    # embedded objects (a workbook pasted into the form) and altChunks: text of the document too
    texts.extend(("embedded", t) for t in embedded_texts(pkg, limits, nested_pdf_texts))
    # every other string of the package, every part referenced or not (FORMS.md section 6)
    texts.extend(package_texts(pkg, limits))

    # the tags of the content controls are searched too, as the keys of a JSON form are (our
    # own field ids hold no number, and are not)
    known = all_field_ids()
    texts.extend(("document", c.tag) for s in scans for c in s.controls if c.tag not in known)
    fields = _controls(scans, limits)
    label_fallback = False
    if not any(tag in known for tag in fields):
        found = _label_fallback(roots, [p for scan in scans for p in scan.paragraphs])
        if found is not None:
            fields = found
            label_fallback = True
        elif not fields:
            raise Refusal("FILE_NO_FORM_FIELDS")
        # else: tagged controls that are none of ours; the pipeline reports FORM_UNKNOWN
    return Extracted(kind="docx", fields=fields, texts=texts, label_fallback=label_fallback)
