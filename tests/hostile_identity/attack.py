"""The attacker's pass (issues #10/#11): numbers hidden by invisible characters that are not
format characters (Cf), so that rule 2's removal of Cf missed them: default-ignorable code points
of other categories (combining grapheme joiner, variation selectors, Hangul filler, Mongolian
free variation selector) and control characters (NUL, which an HTML parser drops, BEL, DEL, a C1
control). Each sits inside a free-text field of a JSON Del 2; the guard removes them now
(`processor.identity._INVISIBLE`)."""

from __future__ import annotations

import json
from datetime import date

from pikepdf import Array, Dictionary, Name, String

from tests.fillers import synthetic_fodselsnummer
from tests.hostile_identity import HostileCase
from tests.hostile_identity.ooxml import S, W, _body, _replace, del2_docx, economics_xlsx, edited
from tests.hostile_identity.pdf import _edit
from tests.spec_support import del2_json

INVISIBLE = {
    "combining-grapheme-joiner": "\u034f",
    "variation-selector-16": "\ufe0f",
    "variation-selector-supplement": "\U000e0100",
    "hangul-filler": "\u3164",
    "mongolian-free-variation-selector": "\u180b",
    "nul": "\x00",
    "bell": "\x07",
    "delete": "\x7f",
    "c1-control": "\x9b",
}


def _number(day: int, wrong: bool) -> str:
    n = synthetic_fodselsnummer(date(1981, 5, day), start=400 + day)
    return n[:10] + str((int(n[10]) + 1) % 10) if wrong else n


def _octal(c: str) -> str:
    return "\\" + format(ord(c), "03o")


# Document JavaScript that spells the number out: string literals joined by "+", and escapes
# (the guard reads the script's strings as the script does, `extract_pdf._script_reading`).
SCRIPTS = {
    "js-concatenation": lambda n: f'app.alert("{n[:6]}" + "{n[6:]}");',
    "js-hex-escapes": lambda n: "app.alert('" + "".join(f"\\x3{c}" for c in n) + "');",
    "js-unicode-escapes": lambda n: "app.alert('" + "".join(f"\\u003{c}" for c in n) + "');",
    "js-octal-escapes": lambda n: "app.alert('" + "".join(_octal(c) for c in n) + "');",
    "js-mixed": lambda n: (
        f"app.alert('{n[:3]}' +\n '\\x3{n[3]}{n[4:6]}' + '\\u{{3{n[6]}}}{n[7:]}');"
    ),
}


def script_pdf(code: str) -> bytes:
    def change(pdf) -> None:
        action = Dictionary(S=Name.JavaScript, JS=String(code))
        pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("a"), action])))

    return _edit(change)


def xlsx_note_split(n: str) -> bytes:
    """The economics sheet with a cell note (referenced from the sheet) whose text is two
    rich-text runs: Excel shows them as one text."""

    def change(es: dict[str, bytes]) -> None:
        es["xl/comments1.xml"] = (
            f'<comments xmlns="{S}"><authors><author>a</author></authors><commentList>'
            f'<comment ref="A1" authorId="0"><text><r><t>Pasient {n[:6]}</t></r>'
            f"<r><rPr><b/></rPr><t>{n[6:]}</t></r></text></comment></commentList></comments>"
        ).encode()
        rel = (
            '<Relationship Id="rId77" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/comments" Target="../comments1.xml"/>'
        )
        rels = "xl/worksheets/_rels/sheet1.xml.rels"
        if rels in es:
            _replace(es, rels, "</Relationships>", rel + "</Relationships>")
        else:
            es[rels] = (
                '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                f'openxmlformats.org/package/2006/relationships">{rel}</Relationships>'
            ).encode()
        _replace(
            es,
            "[Content_Types].xml",
            "</Types>",
            '<Override PartName="/xl/comments1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.comments+xml"/></Types>',
        )

    return edited(economics_xlsx(), change)


def docx_sym_digit(n: str) -> bytes:
    """A Del 2 whose body has the number with its last digit a Word symbol (w:sym) of a regular
    font, which Word shows as that digit."""
    xml = (
        f'<w:p xmlns:w="{W}"><w:r><w:t>Pasient {n[:10]}</w:t></w:r>'
        f'<w:r><w:sym w:font="Arial" w:char="003{n[10]}"/></w:r></w:p>'
    )
    return edited(del2_docx(), _body(xml))


def pdf_annotation(contents: bytes) -> bytes:
    """A Del 2 PDF with a text annotation (a comment) on its first page."""

    def change(pdf) -> None:
        note = Dictionary(
            Type=Name.Annot, Subtype=Name.Text, Rect=[0, 0, 10, 10], Contents=String(contents)
        )
        pdf.pages[0].Annots = pdf.make_indirect(Array([pdf.make_indirect(note)]))

    return _edit(change)


def cases(wrong: bool = False) -> list[HostileCase]:
    """The corpus; with `wrong`, the same files with numbers whose last control digit is off."""
    out: list[HostileCase] = []
    for day, (name, ch) in enumerate(INVISIBLE.items(), start=1):
        n = _number(day, wrong)
        # inside the first group, and once more in the ASCII-only form (no other character
        # outside ASCII in the text), where the guard takes its fast path
        text = f"Vurdering {n[:3]}{ch}{n[3:]} slutt"
        data = del2_json(totalvurdering=text)
        out.append(HostileCase(f"attack-{name}", "del2.json", data, n, field="totalvurdering"))
    for day, (name, script) in enumerate(SCRIPTS.items(), start=20):
        n = _number(day, wrong)
        out.append(HostileCase(f"attack-pdf-{name}", "del2.pdf", script_pdf(script(n)), n))
    # a NUL inside one JSON key, and inside the file name (single strings: NUL joins there)
    n = _number(25, wrong)
    doc = json.loads(del2_json())
    doc[f"merknad {n[:5]}\x00{n[5:]}"] = "x"
    out.append(HostileCase("attack-nul-in-key", "del2.json", json.dumps(doc).encode(), n))
    n = _number(26, wrong)
    out.append(
        HostileCase("attack-nul-in-file-name", f"del2-{n[:5]}\x00{n[5:]}.json", del2_json(), n)
    )
    # a NUL inside one PDF string (a comment), in PDFDocEncoding and in UTF-16
    n = _number(24, wrong)
    raw = n[:6].encode() + b"\x00" + n[6:].encode()
    out.append(HostileCase("attack-pdf-nul-in-comment", "del2.pdf", pdf_annotation(raw), n))
    n = _number(23, wrong)
    utf16 = b"\xfe\xff" + f"{n[:6]}\x00{n[6:]}".encode("utf-16-be")
    out.append(HostileCase("attack-pdf-nul-in-utf16-comment", "del2.pdf", pdf_annotation(utf16), n))
    n = _number(28, wrong)
    out.append(HostileCase("attack-xlsx-note-split-runs", "okonomi.xlsx", xlsx_note_split(n), n))
    n = _number(27, wrong)
    out.append(HostileCase("attack-docx-sym-digit", "del2.docx", docx_sym_digit(n), n))
    return out
