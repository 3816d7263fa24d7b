"""FORMS.md section 6: identity inside embedded objects and altChunks of a DOCX or XLSX.

A workbook pasted into the Word form, a document inside a workbook, an object from older Office
(an OLE compound file), HTML or MHT that Word merges into the document (altChunk): their text is
text of the file. Numbers are synthetic (month + 80, tests/spec_support.py), never written down.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook

from forms.templates import build
from processor import embedded, identity
from processor.embedded import MAX_LEVELS, chunk_texts, raw_texts
from processor.findings import Limits
from processor.ingest import ingest
from processor.ooxml import OLE_MAGIC
from tests.conftest import TODAY
from tests.fillers import fill_xlsx, sample_values
from tests.fuzzing import rezip
from tests.spec_support import DEL2_VALUES, synthetic

NUMBER = synthetic(date(1987, 1, 3), 123)  # starts with "03": a number cell loses the zero
OTHER = synthetic(date(1990, 5, 17), 321)
PLACE = "i et innebygd objekt i dokumentet"

R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = f"{R}/package"
OLE_OBJECT = f"{R}/oleObject"
ALT_CHUNK = f"{R}/aFChunk"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OLE_TYPE = "application/vnd.openxmlformats-officedocument.oleObject"


# ---- building files ----------------------------------------------------------------------------


def _edit(data: bytes, edits=None, added: dict[str, bytes] | None = None, method=None) -> bytes:
    """The package with parts edited (name -> function of the bytes) and parts added."""

    def edit(entries: list) -> None:
        for i, (info, body) in enumerate(entries):
            if info.filename in (edits or {}):
                entries[i] = (info, edits[info.filename](body))
        for name, body in (added or {}).items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED if method is None else method
            entries.append((info, body))

    out = rezip(data, edit)
    if method == zipfile.ZIP_STORED:  # rezip deflates what it writes: store every part instead
        src = zipfile.ZipFile(io.BytesIO(out))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info.filename))
        out = buf.getvalue()
    return out


def _insert(old: bytes, new: bytes):
    """An edit that puts `new` before `old` (which must be there), once."""

    def edit(body: bytes) -> bytes:
        assert old in body
        return body.replace(old, new + old, 1)

    return edit


def _with_object(
    host: bytes,
    part: str,
    data: bytes,
    rel_type: str = PACKAGE,
    content_type: str = XLSX_TYPE,
    *,
    source: str = "word/document.xml",
    method=None,
    rid: str = "rIdEmb9",
) -> bytes:
    """`host` with `data` as the part `part`, a relationship of `rel_type` from `source` to it,
    its content type, and (in a DOCX) the element of the body that shows it."""
    folder, base = source.rsplit("/", 1)
    rels = f"{folder}/_rels/{base}.rels"
    target = "/" + part
    rel = f'<Relationship Id="{rid}" Type="{rel_type}" Target="{target}"/>'.encode()
    names = set(zipfile.ZipFile(io.BytesIO(host)).namelist())
    edits = {
        "[Content_Types].xml": _insert(
            b"</Types>", f'<Override PartName="{target}" ContentType="{content_type}"/>'.encode()
        )
    }
    added = {part: data}
    if rels in names:
        edits[rels] = _insert(b"</Relationships>", rel)
    else:
        added[rels] = (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{rel.decode()}</Relationships>"
        ).encode()
    if source == "word/document.xml":
        if rel_type == ALT_CHUNK:
            shown = f'<w:altChunk xmlns:r="{R}" r:id="{rid}"/>'
        else:
            shown = (
                '<w:p><w:r><w:object><o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office"'
                f' xmlns:r="{R}" Type="Embed" ProgID="Excel.Sheet.12" DrawAspect="Content"'
                f' ObjectID="_1" r:id="{rid}"/></w:object></w:r></w:p>'
            )
        edits[source] = _insert(b"<w:sectPr>", shown.encode())
    return _edit(host, edits, added, method)


def _del2() -> bytes:
    return build("tilgang-del2", "docx", DEL2_VALUES)


def _okonomi() -> bytes:
    return fill_xlsx(build("minihta-okonomi", "xlsx"), sample_values("minihta-okonomi"))


def _workbook(
    number_cell: int | None = None, runs: tuple[str, str] | None = None, cells: int = 0
) -> bytes:
    """A small workbook made with openpyxl: a label, a number cell, `cells` more numbers, and a
    shared string made of two rich-text runs (openpyxl writes inline strings, so the shared
    strings part is added as Excel writes it)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Ark1"
    ws["A1"] = "Oversikt"
    ws["B1"] = 1250 if number_cell is None else number_cell
    for i in range(cells):
        ws.cell(row=10 + i // 10, column=1 + i % 10, value=i * 7)
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if runs is None:
        return data
    shared = (
        f'<sst xmlns="{S}" count="1" uniqueCount="1"><si><r><rPr><b/></rPr><t>{runs[0]}</t></r>'
        f"<r><t>{runs[1]}</t></r></si></sst>"
    ).encode()
    rel = f'<Relationship Id="rIdSst" Type="{R}/sharedStrings" Target="sharedStrings.xml"/>'
    content = (
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sharedStrings+xml"/>'
    )
    cell = b'<row r="5"><c r="A5" t="s"><v>0</v></c></row>'
    return _edit(
        data,
        {
            "xl/worksheets/sheet1.xml": _insert(b"</sheetData>", cell),
            "xl/_rels/workbook.xml.rels": _insert(b"</Relationships>", rel.encode()),
            "[Content_Types].xml": _insert(b"</Types>", content.encode()),
        },
        {"xl/sharedStrings.xml": shared},
    )


def _docx(paragraphs: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal Word document whose body holds `paragraphs` (WordprocessingML)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        zf.writestr(
            "word/document.xml",
            f'<w:document xmlns:w="{W}"><w:body>{paragraphs}</w:body></w:document>',
        )
        for name, body in (extra or {}).items():
            zf.writestr(name, body)
    return buf.getvalue()


def _split_runs(head: str, tail: str) -> str:
    return (
        f"<w:p><w:r><w:t>{head}</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>{tail}</w:t></w:r></w:p>"
    )


def _check(name: str, data: bytes, limits: Limits | None = None):
    return ingest(name, data, limits=limits, today=TODAY)


def _assert_found_in_object(result) -> None:
    assert result.status == "rejected"
    found = [f for f in result.errors if f.code == "IDENTITY_FOUND"]
    assert [f.field for f in found] == [None]
    assert PLACE in found[0].message
    dumped = json.dumps(result.to_dict(), ensure_ascii=False)
    for piece in (NUMBER, NUMBER[:6], NUMBER[-5:], str(int(NUMBER))):
        assert piece not in dumped


def _code(result) -> str:
    assert result.status == "rejected"
    codes = [f.code for f in result.errors]
    assert len(codes) == 1, codes
    return codes[0]


# ---- a workbook in the Word form ---------------------------------------------------------------

XLSX_PART = "word/embeddings/Microsoft_Excel_Worksheet.xlsx"


@pytest.mark.parametrize(
    "workbook",
    [
        pytest.param(lambda: _workbook(number_cell=int(NUMBER)), id="number-cell-lost-zero"),
        pytest.param(lambda: _workbook(runs=(NUMBER[:4], NUMBER[4:])), id="shared-string-2-runs"),
    ],
)
def test_a_workbook_holding_the_number_in_a_del2_docx_is_rejected(workbook):
    result = _check("del2.docx", _with_object(_del2(), XLSX_PART, workbook()))
    _assert_found_in_object(result)


def test_a_harmless_workbook_in_a_del2_docx_changes_nothing_and_one_with_the_number_is_rejected():
    plain = _check("del2.docx", _del2())
    assert plain.status == "accepted", plain.errors
    data = _with_object(_del2(), XLSX_PART, _workbook(runs=("Merk", "nad 12")))
    result = _check("del2.docx", data)
    assert result.status == "accepted", result.errors
    assert result.data == plain.data
    assert result.reference == plain.reference
    found = _with_object(_del2(), XLSX_PART, _workbook(runs=(NUMBER[:9], NUMBER[9:])))
    _assert_found_in_object(_check("del2.docx", found))


def test_the_object_is_found_by_its_relationship_wherever_the_part_lies():
    data = _with_object(_del2(), "word/media/blob.bin", _workbook(number_cell=int(NUMBER)))
    _assert_found_in_object(_check("del2.docx", data))


def test_a_document_in_the_word_form_is_searched_over_its_runs():
    inner = _docx(_split_runs(NUMBER[:6], NUMBER[6:]))
    assert not identity.contains_identity(inner.decode("latin-1"))  # deflated: not as bytes
    part = "word/embeddings/Microsoft_Word_Document.docx"
    _assert_found_in_object(
        _check("del2.docx", _with_object(_del2(), part, inner, content_type=DOCX_TYPE))
    )
    harmless = _docx(_split_runs("Se ", "vedlegg"))
    result = _check("del2.docx", _with_object(_del2(), part, harmless, content_type=DOCX_TYPE))
    assert result.status == "accepted", result.errors


def test_a_number_in_the_properties_of_an_embedded_document_is_rejected():
    core = (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        f'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Pasient {NUMBER}'
        "</dc:title></cp:coreProperties>"
    )
    inner = _docx(_split_runs("Se ", "vedlegg"), {"docProps/core.xml": core.encode()})
    part = "word/embeddings/Microsoft_Word_Document.docx"
    _assert_found_in_object(
        _check("del2.docx", _with_object(_del2(), part, inner, content_type=DOCX_TYPE))
    )


# ---- a workbook in the economics sheet, and nesting --------------------------------------------


def _in_okonomi(workbook: bytes) -> bytes:
    return _with_object(
        _okonomi(),
        "xl/embeddings/Microsoft_Excel_Worksheet1.xlsx",
        workbook,
        source="xl/worksheets/sheet1.xml",
    )


def test_a_workbook_holding_the_number_in_the_economics_sheet_is_rejected():
    plain = _check("okonomi.xlsx", _okonomi())
    assert plain.status == "accepted", plain.errors
    harmless = _check("okonomi.xlsx", _in_okonomi(_workbook()))
    assert harmless.status == "accepted", harmless.errors
    assert harmless.data == plain.data
    _assert_found_in_object(_check("okonomi.xlsx", _in_okonomi(_workbook(int(NUMBER)))))


def test_a_document_in_a_workbook_in_the_word_form_is_searched_two_levels_down():
    inner = _docx(_split_runs(NUMBER[:3], NUMBER[3:]))
    middle = _with_object(
        _workbook(),
        "xl/embeddings/Microsoft_Word_Document.docx",
        inner,
        content_type=DOCX_TYPE,
        source="xl/worksheets/sheet1.xml",
    )
    data = _with_object(_del2(), XLSX_PART, middle)
    _assert_found_in_object(_check("del2.docx", data))
    harmless = _with_object(
        _workbook(),
        "xl/embeddings/Microsoft_Word_Document.docx",
        _docx(_split_runs("ingen", "ting")),
        content_type=DOCX_TYPE,
        source="xl/worksheets/sheet1.xml",
    )
    result = _check("del2.docx", _with_object(_del2(), XLSX_PART, harmless))
    assert result.status == "accepted", result.errors


def _chain(levels: int, inner: bytes, method=zipfile.ZIP_DEFLATED) -> bytes:
    """`inner` wrapped in `levels` workbooks, each embedded in the next."""
    data = inner
    for _ in range(levels):
        data = _with_object(
            _workbook(),
            "xl/embeddings/Microsoft_Excel_Worksheet.xlsx",
            data,
            source="xl/worksheets/sheet1.xml",
            method=method,
        )
    return data


def test_nesting_beyond_the_depth_limit_is_searched_raw_and_opened_no_further(monkeypatch):
    opened = []
    real = embedded.open_package

    def counting(data, limits):
        opened.append(len(data))
        return real(data, limits)

    monkeypatch.setattr(embedded, "open_package", counting)
    # Stored, not deflated: the raw bytes of the deepest package searched show the number.
    inner = _edit(
        _docx("<w:p/>"),
        added={"notes.txt": f"Pasient {NUMBER}".encode()},
        method=zipfile.ZIP_STORED,
    )
    data = _with_object(_del2(), XLSX_PART, _chain(8, inner, zipfile.ZIP_STORED))
    _assert_found_in_object(_check("del2.docx", data))
    assert len(opened) == MAX_LEVELS - 1  # the upload itself is opened by ingest

    opened.clear()
    harmless = _edit(_docx("<w:p/>"), added={"notes.txt": b"Pasient"}, method=zipfile.ZIP_STORED)
    data = _with_object(_del2(), XLSX_PART, _chain(8, harmless, zipfile.ZIP_STORED))
    assert _check("del2.docx", data).status == "accepted"
    assert len(opened) == MAX_LEVELS - 1


# ---- objects from older Office and other binaries ----------------------------------------------

OLE_PART = "word/embeddings/oleObject1.bin"


def _ole(payload: bytes, seed: int = 7) -> bytes:
    """OLE magic, random sectors, the payload, more random bytes."""
    rng = random.Random(seed)
    return OLE_MAGIC + rng.randbytes(3000) + payload + rng.randbytes(3000)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(f"Pasient {NUMBER[:6]} {NUMBER[6:]}".encode("latin-1"), id="latin-1"),
        pytest.param(f"Pasient {NUMBER}".encode("utf-16-le"), id="utf-16-le-even"),
        pytest.param(b"x" + f"Pasient {NUMBER}".encode("utf-16-le"), id="utf-16-le-odd"),
    ],
)
def test_an_ole_object_holding_the_number_as_text_is_rejected(payload):
    data = _with_object(_del2(), OLE_PART, _ole(payload), OLE_OBJECT, OLE_TYPE)
    _assert_found_in_object(_check("del2.docx", data))


def test_an_ole_object_of_random_bytes_is_accepted_and_with_the_number_rejected():
    data = _with_object(_del2(), OLE_PART, _ole(b""), OLE_OBJECT, OLE_TYPE)
    result = _check("del2.docx", data)
    assert result.status == "accepted", result.errors
    found = _with_object(_del2(), OLE_PART, _ole(NUMBER.encode()), OLE_OBJECT, OLE_TYPE)
    _assert_found_in_object(_check("del2.docx", found))


def test_an_encrypted_package_inside_an_ole_object_is_refused():
    streams = (
        "EncryptionInfo".encode("utf-16-le") + b"\0" * 20 + "EncryptedPackage".encode("utf-16-le")
    )
    data = _with_object(_del2(), OLE_PART, _ole(streams), OLE_OBJECT, OLE_TYPE)
    result = _check("del2.docx", data)
    assert _code(result) == "FILE_ENCRYPTED"
    assert "innebygd objekt" in result.errors[0].message


def test_an_object_that_only_looks_like_a_zip_is_searched_raw_not_refused():
    fake = b"PK\x03\x04" + random.Random(3).randbytes(500)
    result = _check("del2.docx", _with_object(_del2(), XLSX_PART, fake + b"Merknad"))
    assert result.status == "accepted", result.errors
    data = _with_object(_del2(), XLSX_PART, fake + f"Pasient {NUMBER}".encode())
    _assert_found_in_object(_check("del2.docx", data))


def test_raw_search_gives_every_number_the_whole_text_would():
    rng = random.Random(11)
    for text in (f"a{NUMBER}b", f"{NUMBER[:6]}-{NUMBER[6:]}", f"x\u00a0{NUMBER} 1", f"{NUMBER}"):
        for encoding, pad in (("latin-1", b""), ("utf-16-le", b""), ("utf-16-le", b"\x01")):
            data = rng.randbytes(101) + pad + text.encode(encoding) + rng.randbytes(99)
            assert identity.contains_identity("\n".join(raw_texts(data))), (text, encoding, pad)
    near = f"1{NUMBER}".encode()  # a digit before it: not a number (section 6)
    assert not identity.contains_identity("\n".join(raw_texts(near)))


def test_raw_search_does_not_fire_on_random_bytes_or_our_own_files():
    rng = random.Random(20260101)
    for _ in range(40):
        assert not identity.contains_identity("\n".join(raw_texts(rng.randbytes(64 * 1024))))
    ours = [_workbook(), _workbook(runs=("Merk", "nad")), _ole(b""), _okonomi(), _del2()]
    for form_id, fmt in (
        ("tilgang-del2", "pdf"),
        ("minihta", "docx"),
        ("minihta", "pdf"),
        ("minihta-fagfelle", "pdf"),
        ("minihta-okonomi", "xlsx"),
    ):
        ours.append(build(form_id, fmt))
    for data in ours:
        assert not identity.contains_identity("\n".join(raw_texts(data)))


# ---- altChunks ---------------------------------------------------------------------------------


def _with_chunk(name: str, data: bytes, content_type: str = "text/html") -> bytes:
    return _with_object(_del2(), name, data, ALT_CHUNK, content_type)


def test_an_html_altchunk_with_the_number_split_by_tags_is_rejected():
    html = f"<html><body><p>Pasient <b>{NUMBER[:6]}</b><span>{NUMBER[6:]}</span></p></body></html>"
    assert not identity.contains_identity(html)
    _assert_found_in_object(_check("del2.docx", _with_chunk("word/afchunk1.htm", html.encode())))
    harmless = "<html><body><p>Se <b>vedlegg</b></p><p>12</p><p>345</p></body></html>"
    result = _check("del2.docx", _with_chunk("word/afchunk1.htm", harmless.encode()))
    assert result.status == "accepted", result.errors


def test_table_cells_of_an_altchunk_do_not_join_into_a_number():
    cells = f"<table><tr><td>{NUMBER[:6]}</td><td>{NUMBER[6:]}</td></tr></table>"
    assert not identity.contains_identity("\n".join(chunk_texts(cells.encode())))


def test_an_mht_altchunk_with_a_soft_line_break_inside_the_number_is_rejected():
    mht = (
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/related; boundary="----=_NextPart_01"\r\n\r\n'
        "------=_NextPart_01\r\n"
        "Content-Location: file:///C:/afchunk.htm\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        'Content-Type: text/html; charset="windows-1252"\r\n\r\n'
        '<html xmlns:o=3D"urn:schemas-microsoft-com:office:office"><body>\r\n'
        f"<p class=3DMsoNormal>Pasient {NUMBER[:7]}=\r\n{NUMBER[7:]}</p></body></html>\r\n\r\n"
        "------=_NextPart_01--\r\n"
    )
    assert not identity.contains_identity(mht)
    _assert_found_in_object(
        _check("del2.docx", _with_chunk("word/afchunk1.mht", mht.encode(), "message/rfc822"))
    )
    harmless = mht.replace(NUMBER[:7], "Merk").replace(NUMBER[7:], "nad")
    result = _check("del2.docx", _with_chunk("word/afchunk1.mht", harmless.encode()))
    assert result.status == "accepted", result.errors


def test_an_rtf_altchunk_with_the_number_split_by_a_group_is_rejected():
    rtf = f"{{\\rtf1\\ansi Pasient {{\\b {NUMBER[:5]}}}\r\n{NUMBER[5:]}\\par}}"
    assert not identity.contains_identity(rtf)
    _assert_found_in_object(
        _check("del2.docx", _with_chunk("word/afchunk1.rtf", rtf.encode(), "application/rtf"))
    )


def test_hostile_rtf_and_mime_escapes_are_read_without_error():
    rtf = b"{\\rtf1 \\u-999999? \\u9999999 \\'zz \\'4A \\uc0\\u-3 {\\*\\x " + b"{" * 5000
    assert chunk_texts(rtf)
    mime = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n" * 50
    mime += b"Content-Type: text/html; charset=ikke-et-tegnsett\r\n\r\n<p>hei</p>\r\n--x--"
    assert any("hei" in t for t in chunk_texts(mime))


def test_a_docx_altchunk_is_searched_as_a_package():
    inner = _docx(_split_runs(NUMBER[:2], NUMBER[2:]))
    data = _with_chunk("word/afchunk1.docx", inner, DOCX_TYPE)
    _assert_found_in_object(_check("del2.docx", data))


# ---- hostile objects: the rules of the file hold inside it -------------------------------------


def test_an_embedded_zip_bomb_is_refused_as_at_the_top():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", bytes(3 * 1024 * 1024))  # about 1000:1
    bomb = buf.getvalue()
    top = _code(_check("bomb.docx", bomb))
    inside = _check("del2.docx", _with_object(_del2(), XLSX_PART, bomb))
    assert _code(inside) == top == "FILE_CORRUPT"


def test_an_embedded_package_with_a_dtd_in_any_part_is_corrupt():
    dtd = b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY e "x">]>'
    workbook = _edit(_workbook(), {"xl/styles.xml": lambda body: dtd + body})
    assert _code(_check("del2.docx", _with_object(_del2(), XLSX_PART, workbook))) == "FILE_CORRUPT"


def test_an_embedded_macro_workbook_is_refused_as_macros():
    workbook = _edit(_workbook(), added={"xl/vbaProject.bin": b"\0" * 64})
    assert _code(_check("del2.docx", _with_object(_del2(), XLSX_PART, workbook))) == "FILE_MACROS"


def test_embedded_packages_share_the_files_budget_of_xml_tags():
    big = _workbook(cells=3000)
    tags = sum(
        zipfile.ZipFile(io.BytesIO(big)).read(n).count(b"<")
        for n in zipfile.ZipFile(io.BytesIO(big)).namelist()
    )
    host = _del2()
    top = sum(
        zipfile.ZipFile(io.BytesIO(host)).read(n).count(b"<")
        for n in zipfile.ZipFile(io.BytesIO(host)).namelist()
    )
    assert tags > 2 * top
    limits = Limits(max_xml_tags=top + tags + tags // 2)
    one = _with_object(host, XLSX_PART, big)
    assert _check("del2.docx", one, limits).status == "accepted"
    two = _with_object(one, "word/embeddings/Microsoft_Excel_Worksheet2.xlsx", big, rid="rIdEmb8")
    assert _check("del2.docx", two).status == "accepted"  # the default limit
    assert _code(_check("del2.docx", two, limits)) == "FILE_TOO_LARGE"


# ---- a PDF inside an Office file ---------------------------------------------------------------


def test_a_pdf_in_the_word_form_is_searched_by_its_fields_and_attached_files():
    """Its field values sit in compressed object streams, where its raw bytes do not show them;
    a file attached to it is searched with it (tests/test_forms_pdf_attachments.py)."""
    import pikepdf

    values = dict(DEL2_VALUES, **{"pasient.sykehistorie": f"Pasient {NUMBER}."})
    buf = io.BytesIO()
    with pikepdf.open(io.BytesIO(build("tilgang-del2", "pdf", values))) as pdf:
        pdf.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    inner = buf.getvalue()
    assert not identity.contains_identity(inner.decode("latin-1"))
    part = "word/embeddings/skjema.pdf"
    _assert_found_in_object(
        _check("del2.docx", _with_object(_del2(), part, inner, content_type="application/pdf"))
    )
    buf = io.BytesIO()
    with pikepdf.open(io.BytesIO(build("tilgang-del2", "pdf", DEL2_VALUES))) as pdf:
        pdf.attachments["notat.txt"] = pikepdf.AttachedFileSpec(
            pdf, f"Pasient {NUMBER}".encode(), filename="notat.txt"
        )
        pdf.save(buf)
    data = _with_object(_del2(), part, buf.getvalue(), content_type="application/pdf")
    _assert_found_in_object(_check("del2.docx", data))
    harmless = build("tilgang-del2", "pdf", DEL2_VALUES)
    result = _check(
        "del2.docx", _with_object(_del2(), part, harmless, content_type="application/pdf")
    )
    assert result.status == "accepted", result.errors
