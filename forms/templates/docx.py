"""DOCX templates with content controls (FORMS.md 4.2), written as raw WordprocessingML.

Every field is a content control (`w:sdt`) whose tag is the field id and whose alias is the
Norwegian label: plain-text controls for one-line text, rich-text controls for several lines, real
Word 2010 check boxes (`w14:checkbox`), drop-down lists with the label shown and the code as the
value, and date pickers. Each section is a two-column table (label | control) whose first column
holds exactly the catalogue label, so that the label fallback (FORMS.md 4.4) also reads a copy whose
content controls were removed; the help text sits in a row of its own below.

The archive is deterministic: fixed part order, fixed timestamps, no creation date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from forms.fields import Field, FormDef, Repeat, Section
from forms.templates.zipped import write_zip

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

CHECKED = "☒"  # U+2612
UNCHECKED = "☐"  # U+2610
CHECKBOX_FONT = "MS Gothic"
PLACEHOLDER_TEXT = "Klikk for å skrive"
PLACEHOLDER_CHOICE = "Klikk for å velge"
PLACEHOLDER_DATE = "Klikk for å velge dato"


# table geometry in twentieths of a point (A4 with 2 cm margins: 9638 twips of text width)
TEXT_WIDTH = 9638
LABEL_COL = 3600
VALUE_COL = TEXT_WIDTH - LABEL_COL


def _attr(s: str) -> str:
    return escape(s, {'"': "&quot;"})


def xml_text(s: str) -> str:
    return escape(s)


# ---- runs and paragraphs -----------------------------------------------------------------------


# White space a reader may fold: any but a single space between words.
_FOLDABLE_SPACE = re.compile(r"^\s|\s$|\s\s|[^\S ]")


def _t(text: str) -> str:
    # xml:space="preserve" only where white space could otherwise be lost (every attribute costs
    # the service a little on each upload).
    if _FOLDABLE_SPACE.search(text):
        return f'<w:t xml:space="preserve">{xml_text(text)}</w:t>'
    return f"<w:t>{xml_text(text)}</w:t>"


def run(text: str, rpr: str = "") -> str:
    rpr_xml = f"<w:rPr>{rpr}</w:rPr>" if rpr else ""
    inner = "<w:br/>".join(_t(p) for p in text.split("\n"))
    return f"<w:r>{rpr_xml}{inner}</w:r>"


def paragraph(content: str, style: str | None = None, ppr: str = "") -> str:
    style_xml = f'<w:pStyle w:val="{style}"/>' if style else ""
    ppr_xml = f"<w:pPr>{style_xml}{ppr}</w:pPr>" if (style_xml or ppr) else ""
    return f"<w:p>{ppr_xml}{content}</w:p>"


def _placeholder_run(text: str) -> str:
    return run(text, '<w:rStyle w:val="PlaceholderText"/>')  # the style makes it grey


# ---- content controls --------------------------------------------------------------------------


def _sdt_pr(field_id: str, alias: str, kind: str, placeholder: bool, extra: str = "") -> str:
    lock = '<w:lock w:val="sdtContentLocked"/>' if kind == "locked" else ""
    plc = "<w:showingPlcHdr/>" if placeholder else ""
    return (
        f'<w:sdtPr><w:alias w:val="{_attr(alias)}"/><w:tag w:val="{_attr(field_id)}"/>'
        f"{lock}{plc}{extra}</w:sdtPr>"
    )


def _choice_display(field: Field, value: object) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    for c in field.choices:
        if text == c.code or text == c.label:
            return c.label
    return text


def _date_text(value: object) -> tuple[str, str | None]:
    """(shown text DD.MM.YYYY, w:fullDate) for a YYYY-MM-DD or DD.MM.YYYY value."""
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text[8:10]}.{text[5:7]}.{text[0:4]}", f"{text}T00:00:00Z"
    if len(text) == 10 and text[2] == "." and text[5] == ".":
        return text, f"{text[6:10]}-{text[3:5]}-{text[0:2]}T00:00:00Z"
    return text, None


def _value_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def content_control(field: Field, field_id: str, alias: str, value: object = None) -> str:
    """The content control of one field; a block-level control for rich text, else run-level.

    Returns the XML to put inside a table cell (one or more block-level elements).
    """
    filled = value is not None and value != "" and not (field.type != "checkbox" and value is False)
    if field.type == "checkbox":
        checked = bool(value) and value not in ("false", "0", "Off")
        glyph_rpr = (
            f'<w:rFonts w:ascii="{CHECKBOX_FONT}" w:eastAsia="{CHECKBOX_FONT}" '
            f'w:hAnsi="{CHECKBOX_FONT}" w:hint="eastAsia"/><w:sz w:val="24"/>'
        )
        extra = (
            f'<w14:checkbox><w14:checked w14:val="{1 if checked else 0}"/>'
            f'<w14:checkedState w14:val="2612" w14:font="{CHECKBOX_FONT}"/>'
            f'<w14:uncheckedState w14:val="2610" w14:font="{CHECKBOX_FONT}"/></w14:checkbox>'
        )
        sdt = (
            f"<w:sdt>{_sdt_pr(field_id, alias, 'checkbox', False, extra)}"
            f"<w:sdtContent>{run(CHECKED if checked else UNCHECKED, glyph_rpr)}</w:sdtContent>"
            "</w:sdt>"
        )
        return paragraph(sdt)
    if field.type == "textarea":
        if filled:
            paras = "".join(paragraph(run(line)) for line in _value_text(value).split("\n"))
        else:
            paras = paragraph(_placeholder_run(PLACEHOLDER_TEXT))
        return f"<w:sdt>{_sdt_pr(field_id, alias, 'rich', not filled)}<w:sdtContent>{paras}</w:sdtContent></w:sdt>"
    if field.type in ("choice", "hf"):
        items = "".join(
            f'<w:listItem w:displayText="{_attr(c.label)}" w:value="{_attr(c.code)}"/>'
            for c in field.choices
        )
        shown = _choice_display(field, value)
        extra = f"<w:dropDownList>{items}</w:dropDownList>"
        content = run(shown) if shown else _placeholder_run(PLACEHOLDER_CHOICE)
        pr = _sdt_pr(field_id, alias, "dropdown", shown is None, extra)
        return paragraph(f"<w:sdt>{pr}<w:sdtContent>{content}</w:sdtContent></w:sdt>")
    if field.type == "date":
        full = None
        if filled:
            shown, full = _date_text(value)
            content = run(shown)
        else:
            content = _placeholder_run(PLACEHOLDER_DATE)
        full_attr = f' w:fullDate="{full}"' if full else ""
        extra = (
            f'<w:date{full_attr}><w:dateFormat w:val="dd.MM.yyyy"/><w:lid w:val="nb-NO"/>'
            '<w:storeMappedDataAs w:val="dateTime"/><w:calendar w:val="gregorian"/></w:date>'
        )
        pr = _sdt_pr(field_id, alias, "date", not filled, extra)
        return paragraph(f"<w:sdt>{pr}<w:sdtContent>{content}</w:sdtContent></w:sdt>")
    kind = "locked" if field.hidden else "text"
    content = run(_value_text(value)) if filled else _placeholder_run(PLACEHOLDER_TEXT)
    pr = _sdt_pr(field_id, alias, kind, not filled, "<w:text/>")
    return paragraph(f"<w:sdt>{pr}<w:sdtContent>{content}</w:sdtContent></w:sdt>")


# ---- tables ------------------------------------------------------------------------------------

# What every row and cell of a form table has in common is in the table style (`Skjemafelt`,
# based on `Skjematabell`: borders, cell margins, rows that do not split across pages, no space
# after paragraphs), and the widths are in the fixed grid; the rows carry only what differs. Each
# element and attribute costs the service time on every upload: word/document.xml is parsed whole.


def _table(rows: list[str]) -> str:
    return (
        '<w:tbl><w:tblPr><w:tblStyle w:val="Skjemafelt"/>'
        f'<w:tblW w:w="{TEXT_WIDTH}" w:type="dxa"/><w:tblLayout w:type="fixed"/></w:tblPr>'
        f'<w:tblGrid><w:gridCol w:w="{LABEL_COL}"/><w:gridCol w:w="{VALUE_COL}"/></w:tblGrid>'
        + "".join(rows)
        + "</w:tbl>"
    )


def _label_cell(label: str, required: bool) -> str:
    # Required fields get a bold label; the cell holds exactly the label (label fallback, 4.4).
    return (
        '<w:tc><w:tcPr><w:shd w:val="clear" w:fill="EEF2F6"/></w:tcPr>'
        f"{paragraph(run(label, '<w:b/>' if required else ''), 'Feltetikett')}</w:tc>"
    )


def _value_cell(content: str) -> str:
    return f"<w:tc>{content}</w:tc>"


def _field_rows(
    field: Field, field_id: str, label: str, value: object, show_help: bool = True
) -> list[str]:
    # A text area's row is at least 2 cm high (and, like every row, kept on one page).
    height = (
        '<w:trPr><w:cantSplit/><w:trHeight w:val="1100" w:hRule="atLeast"/></w:trPr>'
        if field.type == "textarea"
        else ""
    )
    rows = [
        f"<w:tr>{height}"
        f"{_label_cell(label, field.required)}"
        f"{_value_cell(content_control(field, field_id, label, value))}</w:tr>"
    ]
    help_text = field.help or ("DD.MM.ÅÅÅÅ" if field.type == "date" else "")
    if help_text and show_help and not field.hidden:
        rows.append(
            '<w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr>'
            f"{paragraph(run(help_text), 'Hjelpetekst')}</w:tc></w:tr>"
        )
    return rows


def _section_xml(form: FormDef, section: Section, values: dict[str, object]) -> str:
    parts = section.parts()
    if not parts:
        return ""
    out = [paragraph(run(section.title), "Heading2")]
    if section.intro:
        out.append(paragraph(run(section.intro), "Ingress"))
    for item in parts:
        if isinstance(item, Repeat):
            if item.label != section.title:
                out.append(paragraph(run(item.label), "Heading3"))
            if item.help:
                out.append(paragraph(run(item.help), "Ingress"))
            rep_rows: list[str] = []
            for n in range(1, item.count + 1):
                for sub in item.fields:
                    fid = item.field_id(n, sub)
                    rep_rows.extend(
                        _field_rows(sub, fid, form.label(fid), values.get(fid), show_help=n == 1)
                    )
            out.append(_table(rep_rows))
        else:
            rows = [r for f in item for r in _field_rows(f, f.id, f.label, values.get(f.id))]
            out.append(_table(rows))
    return "".join(out)


def _header_table(form: FormDef, values: dict[str, object]) -> str:
    """The `Skjema` row (label fallback, FORMS.md 4.4) and the prefilled hidden fields."""
    rows = [
        "<w:tr>" + _label_cell("Skjema", False) + _value_cell(paragraph(run(form.name))) + "</w:tr>"
    ]
    prefill = form.header_values()
    for item in form.hidden_fields():
        value = values.get(item.id, prefill.get(item.id))
        rows.extend(_field_rows(item, item.id, item.label, value))
    return _table(rows)


def document_xml(form: FormDef, values: dict[str, object] | None = None) -> str:
    values = dict(values or {})
    body = [
        paragraph(run(form.name), "Title"),
        paragraph(run(form.description), "Ingress") if form.description else "",
        _header_table(form, values),
        paragraph(run("Felt med uthevet ledetekst må fylles ut."), "Hjelpetekst"),
    ]
    body.extend(_section_xml(form, s, values) for s in form.sections)
    return document_part(
        body, f' xmlns:w14="{W14_NS}" xmlns:mc="{MC_NS}" xmlns:r="{R_NS}" mc:Ignorable="w14"'
    )


_A4_SECTION = (
    '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
    '<w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="567" '
    'w:footer="567" w:gutter="0"/></w:sectPr>'
)
"""A4 pages with 2 cm margins: the templates and the decision letter."""


def document_part(body: Iterable[str], namespaces: str) -> str:
    """`word/document.xml`: the body's paragraphs and tables on A4 pages (`_A4_SECTION`).
    `namespaces`: the declarations (and attributes) after `xmlns:w` on `w:document`."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:document xmlns:w="{W_NS}"{namespaces}><w:body>'
        + "".join(body)
        + _A4_SECTION
        + "</w:body></w:document>"
    )


# ---- package parts -----------------------------------------------------------------------------

STYLES_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="{W_NS}">
<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri" w:eastAsia="Calibri" w:cs="Calibri"/><w:sz w:val="21"/><w:szCs w:val="21"/><w:lang w:val="nb-NO" w:eastAsia="nb-NO" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>
<w:pPrDefault><w:pPr><w:spacing w:after="80" w:line="264" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>
<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:spacing w:after="120"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:color w:val="1F3B5C"/><w:sz w:val="36"/><w:szCs w:val="36"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="360" w:after="120"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:color w:val="1F3B5C"/><w:sz w:val="32"/><w:szCs w:val="32"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="320" w:after="100"/><w:pBdr><w:bottom w:val="single" w:sz="6" w:space="2" w:color="C9D1DA"/></w:pBdr><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:b/><w:color w:val="1F3B5C"/><w:sz w:val="26"/><w:szCs w:val="26"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading3"><w:name w:val="heading 3"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="160" w:after="60"/><w:outlineLvl w:val="2"/></w:pPr><w:rPr><w:b/><w:sz w:val="22"/><w:szCs w:val="22"/></w:rPr></w:style>
<w:style w:type="paragraph" w:customStyle="1" w:styleId="Ingress"><w:name w:val="Ingress"/><w:basedOn w:val="Normal"/><w:qFormat/><w:pPr><w:spacing w:after="120"/></w:pPr></w:style>
<w:style w:type="paragraph" w:customStyle="1" w:styleId="Feltetikett"><w:name w:val="Feltetikett"/><w:basedOn w:val="Normal"/><w:pPr><w:keepNext/><w:spacing w:after="0"/></w:pPr></w:style>
<w:style w:type="paragraph" w:customStyle="1" w:styleId="Hjelpetekst"><w:name w:val="Hjelpetekst"/><w:basedOn w:val="Normal"/><w:pPr><w:spacing w:after="0"/></w:pPr><w:rPr><w:i/><w:color w:val="5F6368"/><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr></w:style>
<w:style w:type="character" w:styleId="PlaceholderText"><w:name w:val="Placeholder Text"/><w:uiPriority w:val="99"/><w:semiHidden/><w:rPr><w:color w:val="808080"/></w:rPr></w:style>
<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:semiHidden/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>
<w:style w:type="table" w:customStyle="1" w:styleId="Skjematabell"><w:name w:val="Skjematabell"/><w:basedOn w:val="TableNormal"/><w:pPr><w:spacing w:after="0"/></w:pPr><w:tblPr><w:tblBorders><w:top w:val="single" w:sz="4" w:space="0" w:color="C9D1DA"/><w:left w:val="single" w:sz="4" w:space="0" w:color="C9D1DA"/><w:bottom w:val="single" w:sz="4" w:space="0" w:color="C9D1DA"/><w:right w:val="single" w:sz="4" w:space="0" w:color="C9D1DA"/><w:insideH w:val="single" w:sz="4" w:space="0" w:color="C9D1DA"/><w:insideV w:val="single" w:sz="4" w:space="0" w:color="C9D1DA"/></w:tblBorders></w:tblPr></w:style>
<w:style w:type="table" w:customStyle="1" w:styleId="Skjemafelt"><w:name w:val="Skjemafelt"/><w:basedOn w:val="Skjematabell"/><w:pPr><w:spacing w:after="0"/></w:pPr><w:tblPr><w:tblCellMar><w:top w:w="57" w:type="dxa"/><w:left w:w="100" w:type="dxa"/><w:bottom w:w="57" w:type="dxa"/><w:right w:w="100" w:type="dxa"/></w:tblCellMar></w:tblPr><w:trPr><w:cantSplit/></w:trPr></w:style>
</w:styles>
"""

SETTINGS_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="{W_NS}"><w:defaultTabStop w:val="708"/><w:characterSpacingControl w:val="doNotCompress"/><w:themeFontLang w:val="nb-NO"/><w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat></w:settings>
"""

CONTENT_TYPES_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>
"""

ROOT_RELS_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/></Relationships>
"""

DOCUMENT_RELS_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/></Relationships>
"""


def w3cdtf(at: datetime) -> str:
    """An aware time as the W3CDTF UTC text OOXML core properties carry."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _core_xml(title: str, subject: str, keywords: str, created: datetime) -> str:
    stamp = w3cdtf(created)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{xml_text(title)}</dc:title>"
        f"<dc:subject>{xml_text(subject)}</dc:subject>"
        "<dc:creator>Nye metoder</dc:creator>"
        f"<cp:keywords>{xml_text(keywords)}</cp:keywords>"
        "<dc:language>nb-NO</dc:language>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )


APP_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>skjemamottak</Application><DocSecurity>0</DocSecurity><Company>Nye metoder</Company></Properties>
"""


def build_docx(form: FormDef, values: dict[str, object] | None = None) -> bytes:
    """A DOCX with one content control per field id (tag = field id, alias = label)."""
    known = set(form.field_ids())
    unknown = sorted(set(values or {}) - known)
    if unknown:
        raise KeyError(f"unknown field ids for {form.id}: {', '.join(unknown)}")
    return write_docx(
        document_xml(form, values),
        title=form.name,
        subject=form.description,
        keywords=f"{form.id} versjon {form.version}",
        created=form.issued_at(),
    )


def write_docx(
    document: str, *, title: str, subject: str, keywords: str, created: datetime
) -> bytes:
    """A deterministic DOCX: `document` (`document_part`) with the shared styles and settings;
    the core properties name it (`title`, `subject`, `keywords`), Nye metoder made it at
    `created` (an aware time)."""
    parts = [
        ("[Content_Types].xml", CONTENT_TYPES_XML),
        ("_rels/.rels", ROOT_RELS_XML),
        ("docProps/core.xml", _core_xml(title, subject, keywords, created)),
        ("docProps/app.xml", APP_XML),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS_XML),
        ("word/document.xml", document),
        ("word/styles.xml", STYLES_XML),
        ("word/settings.xml", SETTINGS_XML),
    ]
    return write_zip([(name, text.encode("utf-8")) for name, text in parts])
