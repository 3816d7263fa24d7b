"""Office files (DOCX, XLSX) with an identity number where the extractors once did not look.

Each case is a validly filled Del 2 (DOCX) or mini-HTA economics sheet (XLSX), built from the
project's own templates and fillers, with a synthetic number in exactly one place, written into
the package by editing its ZIP entries with `zipfile` (FORMS.md section 6, issue #10).
`control_cases()` puts eleven digits that fail the control digits in the same places: those
files must not be refused for identity.
"""

from __future__ import annotations

import base64
import io
import struct
import zipfile
from collections.abc import Callable
from datetime import date
from functools import cache

from forms.templates import build
from tests.fillers import fill_xlsx, sample_values, synthetic_fodselsnummer
from tests.hostile_identity import HostileCase

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
WORD_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"

Edit = Callable[[dict[str, bytes]], None]


@cache
def del2_docx() -> bytes:
    return build("tilgang-del2", "docx", sample_values("tilgang-del2"))


@cache
def economics_xlsx() -> bytes:
    return fill_xlsx(build("minihta-okonomi", "xlsx"), sample_values("minihta-okonomi"))


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def package(
    entries: dict[str, bytes], comment: bytes = b"", entry_comments: dict[str, bytes] | None = None
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.comment = (entry_comments or {}).get(name, b"")
            zf.writestr(info, data)
        zf.comment = comment
    return out.getvalue()


def edited(data: bytes, edit: Edit) -> bytes:
    entries = parts(data)
    edit(entries)
    return package(entries)


def _replace(entries: dict[str, bytes], name: str, old: str, new: str) -> None:
    text = entries[name].decode("utf-8")
    assert old in text, (name, old)
    entries[name] = text.replace(old, new, 1).encode("utf-8")


def _body(xml: str) -> Edit:
    """Insert `xml` at the start of the body of word/document.xml."""
    return lambda e: _replace(e, "word/document.xml", "<w:body>", "<w:body>" + xml)


def _root_attr(name: str, attrs: str) -> Edit:
    """Add attributes (and namespace declarations) to the root element of a part."""

    def edit(entries: dict[str, bytes]) -> None:
        text = entries[name].decode("utf-8")
        at = text.index("<", text.index("?>") + 2 if text.startswith("<?xml") else 0)
        end = text.index(">", at)
        if text[end - 1] == "/":
            end -= 1
        entries[name] = (text[:end] + " " + attrs + text[end:]).encode("utf-8")

    return edit


def _add_part(name: str, xml: str, content_type: str, rel_type: str | None = None) -> Edit:
    """Add a part with its content type, and a relationship from the main document to it."""

    def edit(entries: dict[str, bytes]) -> None:
        entries[name] = xml.encode("utf-8")
        _replace(
            entries,
            "[Content_Types].xml",
            "</Types>",
            f'<Override PartName="/{name}" ContentType="{content_type}"/></Types>',
        )
        if rel_type:
            rels = "word/_rels/document.xml.rels"
            target = name.removeprefix("word/")
            _replace(
                entries,
                rels,
                "</Relationships>",
                f'<Relationship Id="rId90" Type="{REL}/{rel_type}" Target="{target}"/>'
                "</Relationships>",
            )

    return edit


def _rel(rels: str, xml: str) -> Edit:
    return lambda e: _replace(e, rels, "</Relationships>", xml + "</Relationships>")


def _settings(xml: str) -> Edit:
    return lambda e: _replace(e, "word/settings.xml", "</w:settings>", xml + "</w:settings>")


def _entry(name: str, data: bytes) -> Edit:
    return lambda e: e.__setitem__(name, data)


def _para(text: str = "tekst") -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def _drawing(attrs: str) -> str:
    return (
        f'<w:p><w:r><w:drawing><wp:inline xmlns:wp="{WP}"><wp:extent cx="952500" cy="952500"/>'
        f'<wp:docPr id="7" name="Bilde 1" {attrs}/></wp:inline></w:drawing></w:r></w:p>'
    )


def _entities(digits: str) -> str:
    return "".join(f"&#{ord(c)};" for c in digits)


def _utf7_shifted(digits: str) -> bytes:
    """Digits in UTF-7's base64 form ("+ADE-" is "1"): no ASCII digit in the bytes."""
    return b"+" + base64.b64encode(digits.encode("utf-16-be")).rstrip(b"=") + b"-"


def _spaced(number: str, sep: str) -> str:
    return number[:6] + sep + number[6:]


# ---- DOCX places ----------------------------------------------------------------------------
# name -> (edit for a number, field the finding must name or None)
def docx_places(n: str) -> dict[str, tuple[Edit, str | None]]:
    return {
        "field-code-instrtext": (
            _body(
                '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText '
                f'xml:space="preserve"> HYPERLINK "https://journal.example/{n}" </w:instrText>'
                '</w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>lenke</w:t>'
                '</w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
            ),
            None,
        ),
        "field-code-fldsimple": (
            _body(
                f'<w:p><w:fldSimple w:instr=" DOCVARIABLE p{n} "><w:r><w:t>x</w:t></w:r>'
                "</w:fldSimple></w:p>"
            ),  # fmt: skip
            None,
        ),
        "settings-docvar": (
            _settings(f'<w:docVars><w:docVar w:name="pasient" w:val="{n}"/></w:docVars>'),
            None,
        ),
        "settings-docvar-dash": (
            _settings(f'<w:docVars><w:docVar w:name="p" w:val="{_spaced(n, "-")}"/></w:docVars>'),
            None,
        ),
        "settings-processing-instruction": (_settings(f"<?pasient {n}?>"), None),
        "hyperlink-target": (
            _rel(
                "word/_rels/document.xml.rels",
                f'<Relationship Id="rId80" Type="{REL}/hyperlink" '
                f'Target="https://journal.example/pasient/{n}" TargetMode="External"/>',
            ),
            None,
        ),
        "hyperlink-target-percent-encoded": (
            _rel(
                "word/_rels/document.xml.rels",
                f'<Relationship Id="rId80" Type="{REL}/hyperlink" TargetMode="External" '
                f'Target="https://journal.example/?p={"".join(f"%{ord(c):02X}" for c in n)}"/>',
            ),
            None,
        ),
        "relationship-id": (
            _rel(
                "word/_rels/document.xml.rels",
                f'<Relationship Id="rId{n}" Type="{REL}/customXml" Target="../x.xml"/>',
            ),
            None,
        ),
        "package-relationship-target": (
            _rel(
                "_rels/.rels",
                f'<Relationship Id="rId9" Type="{REL}/hyperlink" Target="file:///{n}.txt" '
                'TargetMode="External"/>',
            ),
            None,
        ),
        "alt-text-descr": (_body(_drawing(f'descr="Røntgen av pasient {n}"')), None),
        "alt-text-title-spaced": (_body(_drawing(f'title="{_spaced(n, " ")}"')), None),
        "alt-text-entity-encoded": (_body(_drawing(f'descr="{_entities(n)}"')), None),
        "glossary-part": (
            _add_part(
                "word/glossary/document.xml",
                f'<w:glossaryDocument xmlns:w="{W}"><w:docParts><w:docPart><w:docPartBody>'
                f"{_para(n)}</w:docPartBody></w:docPart></w:docParts></w:glossaryDocument>",
                f"{WORD_TYPE}.document.glossary+xml",
                "glossaryDocument",
            ),
            None,
        ),
        "bookmark-name": (
            _body(
                f'<w:p><w:bookmarkStart w:id="0" w:name="p_{n}"/><w:bookmarkEnd w:id="0"/></w:p>'
            ),  # fmt: skip
            None,
        ),
        "bookmark-name-entity-encoded": (
            _body(f'<w:p><w:bookmarkStart w:id="0" w:name="{_entities(n)}"/></w:p>'),
            None,
        ),
        "control-alias": (
            _body(
                f'<w:sdt><w:sdtPr><w:alias w:val="Pasient {n}"/><w:tag w:val="notat"/>'
                "</w:sdtPr><w:sdtContent>" + _para("x") + "</w:sdtContent></w:sdt>"
            ),
            None,
        ),
        "control-tag": (
            _body(
                f'<w:sdt><w:sdtPr><w:tag w:val="notat-{n}"/></w:sdtPr><w:sdtContent>'
                + _para("x")
                + "</w:sdtContent></w:sdt>"
            ),
            None,
        ),
        "numbering": (
            _add_part(
                "word/numbering.xml",
                f'<w:numbering xmlns:w="{W}"><w:abstractNum w:abstractNumId="0"><w:lvl '
                f'w:ilvl="0"><w:lvlText w:val="{n} %1"/></w:lvl></w:abstractNum></w:numbering>',
                f"{WORD_TYPE}.numbering+xml",
                "numbering",
            ),
            None,
        ),
        "people": (
            _add_part(
                "word/people.xml",
                f'<w15:people xmlns:w15="{W15}"><w15:person w15:author="Lege">'
                f'<w15:presenceInfo w15:providerId="None" w15:userId="{n}"/></w15:person>'
                "</w15:people>",
                f"{WORD_TYPE}.people+xml",
                "people",
            ),
            None,
        ),
        "revision-author": (
            _body(
                f'<w:p><w:ins w:id="1" w:author="{n}" w:date="2026-01-05T10:00:00Z"><w:r>'
                "<w:t>innsatt</w:t></w:r></w:ins></w:p>"
            ),
            None,
        ),
        "comment-author": (
            _add_part(
                "word/comments.xml",
                f'<w:comments xmlns:w="{W}"><w:comment w:id="0" w:author="{n}" w:initials="L">'
                f"{_para('Se over')}</w:comment></w:comments>",
                f"{WORD_TYPE}.comments+xml",
                "comments",
            ),
            None,
        ),
        "footnote-text": (
            _add_part(
                "word/footnotes.xml",
                f'<w:footnotes xmlns:w="{W}"><w:footnote w:id="1">{_para("Fnr " + n)}'
                "</w:footnote></w:footnotes>",
                f"{WORD_TYPE}.footnotes+xml",
                "footnotes",
            ),
            None,
        ),
        "header-bookmark": (
            _add_part(
                "word/header1.xml",
                f'<w:hdr xmlns:w="{W}"><w:p><w:bookmarkStart w:id="5" w:name="h{n}"/>'
                "<w:r><w:t>Topptekst</w:t></w:r></w:p></w:hdr>",
                f"{WORD_TYPE}.header+xml",
                "header",
            ),
            None,
        ),
        "fallback-text": (
            _body(
                f'<w:p><w:r><mc:AlternateContent xmlns:mc="{MC}"><mc:Choice Requires="wps">'
                "<w:t>boks</w:t></mc:Choice><mc:Fallback><w:pict><w:txbxContent>"
                f"{_para(n)}</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent>"
                "</w:r></w:p>"
            ),
            None,
        ),
        "xml-comment": (_body(f"<!-- pasient {n} -->"), None),
        "namespace-declaration": (
            _root_attr("word/document.xml", f'xmlns:p="urn:pasient:{n}"'),
            None,
        ),
        "element-name": (
            _body(f'<p:n{n} xmlns:p="urn:x"/>' + _para()),
            None,
        ),
        "content-types": (
            lambda e: _replace(
                e,
                "[Content_Types].xml",
                "</Types>",
                f'<Default Extension="p{n}" ContentType="application/octet-stream"/></Types>',
            ),
            None,
        ),
        "custom-xml-attribute": (
            _entry("customXml/item1.xml", f'<pasient id="{n}"/>'.encode()),
            None,
        ),
        "custom-xml-cdata-split": (
            _entry(
                "customXml/item2.xml",
                f"<p><v>{n[:4]}<![CDATA[{n[4:7]}]]>{n[7:]}</v></p>".encode(),
            ),
            None,
        ),
        "custom-properties-attribute": (
            _entry(
                "docProps/custom.xml",
                (
                    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
                    'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/'
                    'officeDocument/2006/docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-'
                    f'9397-08002B2CF9AE}}" pid="2" name="Sak" linkTarget="p{n}"><vt:lpwstr>x'
                    "</vt:lpwstr></property></Properties>"
                ).encode(),
            ),
            None,
        ),
        "unreferenced-part": (
            _entry("word/gammel.xml", f"<notat><t>{n}</t></notat>".encode()),
            None,
        ),
        "unreferenced-part-utf16": (
            _entry("word/notat.xml", f"<notat>{n}</notat>".encode("utf-16")),
            None,
        ),
        "unreferenced-part-utf7": (
            _entry(
                "word/notat7.xml",
                b'<?xml version="1.0" encoding="utf-7"?><notat>' + _utf7_shifted(n) + b"</notat>",
            ),
            None,
        ),
        "unreferenced-text-part": (_entry("notater.txt", f"fnr {n}\n".encode()), None),
        "text-part-named-as-image": (
            _entry("word/media/image1.png", f"<notat>{n}</notat>".encode()),
            None,
        ),
        "zip-entry-name": (_entry(f"word/media/{n}.png", PNG), None),
        "embedded-workbook-sheet-name": (
            _entry(
                "word/embeddings/Microsoft_Excel_Worksheet.xlsx",
                edited(economics_xlsx(), _second_sheet(f"Pasient {n}")),
            ),
            None,
        ),
        "field-value-entity-encoded": (
            lambda e: _replace(
                e,
                "word/document.xml",
                "Progresjon etter to behandlingslinjer",
                f"Fnr {_entities(n)}. Progresjon etter to behandlingslinjer",
            ),
            "pasient.sykehistorie",
        ),
        "field-value-spaced": (
            lambda e: _replace(
                e,
                "word/document.xml",
                "Progresjon etter to behandlingslinjer",
                f"Fnr {_spaced(n, ' ')}. Progresjon etter to behandlingslinjer",
            ),
            "pasient.sykehistorie",
        ),
    }


# ---- XLSX places ----------------------------------------------------------------------------
SHEET = "xl/worksheets/sheet1.xml"
WORKBOOK = "xl/workbook.xml"


def _sheet(xml: str, before: str = "<pageMargins") -> Edit:
    return lambda e: _replace(e, SHEET, before, xml + before)


def _defined_name(xml: str) -> Edit:
    return lambda e: _replace(e, WORKBOOK, "</definedNames>", xml + "</definedNames>")


def _second_sheet(name: str) -> Edit:
    def edit(entries: dict[str, bytes]) -> None:
        entries["xl/worksheets/sheet2.xml"] = (
            f'<worksheet xmlns="{S}"><sheetData/></worksheet>'.encode()
        )
        _replace(
            entries,
            WORKBOOK,
            "</sheets>",
            f'<sheet xmlns:r="{REL}" name="{name}" sheetId="2" r:id="rId9"/></sheets>',
        )
        _rel(
            "xl/_rels/workbook.xml.rels",
            f'<Relationship Type="{REL}/worksheet" Target="/xl/worksheets/sheet2.xml" Id="rId9"/>',
        )(entries)
        _replace(
            entries,
            "[Content_Types].xml",
            "</Types>",
            '<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )

    return edit


def xlsx_places(n: str) -> dict[str, tuple[Edit, str | None]]:
    return {
        "formula-text": (
            lambda e: _replace(
                e,
                SHEET,
                "</sheetData>",
                f'<row r="40"><c r="A40"><f>0*{n}</f><v>0</v></c></row></sheetData>',
            ),  # fmt: skip
            None,
        ),
        "sheet-name": (_second_sheet(f"Pasient {n}"), None),
        "data-validation-list": (
            _sheet(
                '<dataValidations count="1"><dataValidation type="list" sqref="C40">'
                f'<formula1>"{n},annet"</formula1></dataValidation></dataValidations>'
            ),
            None,
        ),
        "sheet-scoped-defined-name": (
            _defined_name(f'<definedName name="pasient" localSheetId="0">"{n}"</definedName>'),
            None,
        ),
        "xlnm-defined-name": (
            _defined_name(
                '<definedName name="_xlnm.Print_Titles" localSheetId="0">'
                f"'Økonomi'!$A$1:$A$2,\"{n}\"</definedName>"
            ),
            None,
        ),
        "defined-name-name": (
            _defined_name(f"<definedName name=\"p{n}\">'Økonomi'!$A$1</definedName>"),
            None,
        ),
        "workbook-attribute": (
            lambda e: _replace(e, WORKBOOK, "<workbookPr/>", f'<workbookPr codeName="p{n}"/>'),
            None,
        ),
        "sheet-hyperlink-target": (
            lambda e: (
                _sheet(
                    f'<hyperlinks><hyperlink xmlns:r="{REL}" ref="A1" r:id="rId1"/></hyperlinks>'
                )(e),  # fmt: skip
                e.__setitem__(
                    "xl/worksheets/_rels/sheet1.xml.rels",
                    f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
                    f'Type="{REL}/hyperlink" Target="https://journal.example/{n}" '
                    'TargetMode="External"/></Relationships>'.encode(),
                ),
            ),
            None,
        ),
        "zip-entry-name": (_entry(f"xl/media/p{n}.png", PNG), None),
        "embedded-document-alt-text": (
            _entry(
                "xl/embeddings/Microsoft_Word_Document.docx",
                edited(del2_docx(), _body(_drawing(f'descr="{n}"'))),
            ),
            None,
        ),
        "unreferenced-part": (_entry("xl/notat.xml", f"<n a='{n}'/>".encode()), None),
    }


# ---- the container --------------------------------------------------------------------------


def _with_zip_comment(data: bytes, comment: bytes) -> bytes:
    return package(parts(data), comment)


def _with_entry_comment(data: bytes, comment: bytes) -> bytes:
    return package(parts(data), b"", {"[Content_Types].xml": comment})


def without_central_record(data: bytes, name: str) -> bytes:
    """The archive with the central directory record of `name` removed: its local entry stays
    where it is, listed nowhere (what a ZIP reader that trusts the directory never sees)."""
    end = data.rindex(b"PK\x05\x06")
    count, size, offset = struct.unpack("<HII", data[end + 10 : end + 20])
    records = data[offset : offset + size]
    kept: list[bytes] = []
    at = 0
    while at < len(records):
        name_len, extra_len, comment_len = struct.unpack("<HHH", records[at + 28 : at + 34])
        record_end = at + 46 + name_len + extra_len + comment_len
        if records[at + 46 : at + 46 + name_len] != name.encode():
            kept.append(records[at:record_end])
        at = record_end
    assert len(kept) == count - 1
    directory = b"".join(kept)
    eocd = bytearray(data[end:])
    struct.pack_into("<HHII", eocd, 8, count - 1, count - 1, len(directory), offset)
    return data[:offset] + directory + bytes(eocd)


def _orphan(data: bytes, name: str, content: bytes) -> bytes:
    entries = parts(data)
    entries[name] = content
    return without_central_record(package(entries), name)


def container_places(base: bytes, n: str) -> dict[str, Callable[[], bytes]]:
    return {
        "zip-comment": lambda: _with_zip_comment(base, f"Pasient {n}".encode()),
        "zip-entry-comment": lambda: _with_entry_comment(base, n.encode()),
        "unlisted-local-entry": lambda: _orphan(
            base, "word/skjult.xml", f"<skjult>{n}</skjult>".encode()
        ),
        "unlisted-local-entry-name": lambda: _orphan(base, f"skjult/{n}.bin", b"\x00\x01"),
    }


# ---- the cases --------------------------------------------------------------------------------


def _numbers() -> list[str]:
    """Synthetic numbers, one per case, with varied birth dates."""
    return [
        synthetic_fodselsnummer(date(1950 + i % 60, 1 + i % 12, 1 + (7 * i) % 28), 100 + i)
        for i in range(80)
    ]


def failing(number: str) -> str:
    """Eleven digits that fail the second control digit: the number with its last digit moved."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def _build(number_of: Callable[[str], str]) -> list[HostileCase]:
    numbers = iter(_numbers())
    out: list[HostileCase] = []
    for kind, base, places in (
        ("docx", del2_docx, docx_places),
        ("xlsx", economics_xlsx, xlsx_places),
    ):
        filename = "del2.docx" if kind == "docx" else "okonomi.xlsx"
        for name in places("0"):
            number = number_of(next(numbers))
            edit, field = places(number)[name]
            out.append(HostileCase(f"{kind}-{name}", filename, edited(base(), edit), number, field))
        for name in container_places(base(), "0"):
            number = number_of(next(numbers))
            data = container_places(base(), number)[name]()
            out.append(HostileCase(f"{kind}-{name}", filename, data, number, None))
    return out


def cases() -> list[HostileCase]:
    return _build(lambda n: n)


def control_cases() -> list[HostileCase]:
    """The same places with eleven digits that fail the control digits (not identity)."""
    return _build(failing)
