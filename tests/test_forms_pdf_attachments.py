"""FORMS.md section 6: identity inside files a PDF carries, its comments and its XFA data.

A PDF can carry whole files: the embedded files of the document (`/Root /Names /EmbeddedFiles`,
what a reader lists as attachments), associated files (`/AF`) and file attachment annotations (a
paperclip on a page, `/FS`). They are not text drawn on a page: they are files of the document,
searched as an object embedded in a Word form is (`processor.embedded`), within bounds. Numbers are
synthetic (month + 80, tests/spec_support.py), never written down.
"""

from __future__ import annotations

import io
import random
import time
import zipfile
import zlib
from datetime import date

import pikepdf
import pytest
from openpyxl import Workbook
from pikepdf import Array, Dictionary, Name, String

from forms.templates import build
from processor import identity
from processor.extract_pdf import DECODE_LIMIT, attached_file_texts, extract_pdf
from processor.findings import Limits, Refusal
from processor.ingest import ingest
from processor.ooxml import OLE_MAGIC
from tests.conftest import TODAY
from tests.spec_support import DEL2_VALUES, synthetic
from tests.test_forms_embedded import _assert_found_in_object as _found_in_object
from tests.test_forms_embedded import _code, _docx
from tests.test_forms_pdf import _peak_in_fresh_process

NUMBER = synthetic(date(1987, 1, 3), 123)  # starts with "03": a number cell loses the zero


# ---- building files ----------------------------------------------------------------------------


_BASE: list[bytes] = []


def _del2() -> bytes:
    if not _BASE:
        _BASE.append(build("tilgang-del2", "pdf", DEL2_VALUES))
    return _BASE[0]


def _edited(change, base: bytes | None = None, **save) -> bytes:
    """The Del 2 PDF (or `base`) changed by `change(pdf)` and saved. Streams are written as they
    are (not decoded and compressed again): a bomb or a broken stream stays one."""
    with pikepdf.open(io.BytesIO(base or _del2())) as pdf:
        change(pdf)
        out = io.BytesIO()
        pdf.save(out, stream_decode_level=pikepdf.StreamDecodeLevel.none, **save)
    return out.getvalue()


def _attached(files: dict[str, bytes], base: bytes | None = None, **spec) -> bytes:
    """The Del 2 PDF with `files` (name -> bytes) attached as a PDF writer attaches them: embedded
    files in the name tree, each stream deflated, with its size in /Params."""

    def change(pdf: pikepdf.Pdf) -> None:
        for name, data in files.items():
            pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, data, filename=name, **spec)

    return _edited(change, base)


def _spec(pdf: pikepdf.Pdf, name: str, stream: pikepdf.Stream) -> Dictionary:
    """A file specification of `stream` named `name` (made by hand: any stream dictionary)."""
    stream.Type = Name.EmbeddedFile
    return pdf.make_indirect(
        Dictionary(Type=Name.Filespec, F=String(name), UF=String(name), EF=Dictionary(F=stream))
    )


def _raw_stream(pdf: pikepdf.Pdf, raw: bytes, **entries) -> pikepdf.Stream:
    """A stream whose bytes are `raw` as stored, its dictionary `entries` (a /Filter is not
    applied: `raw` is already encoded, or broken)."""
    stream = pdf.make_stream(b"")
    stream.write(raw, filter=entries.pop("Filter", None))
    for key, value in entries.items():
        stream[f"/{key}"] = value
    return stream


def _with_raw_attachment(raw: bytes, name: str = "vedlegg.txt", **entries) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        spec = _spec(pdf, name, _raw_stream(pdf, raw, **entries))
        pdf.Root.Names = Dictionary(EmbeddedFiles=Dictionary(Names=Array([String(name), spec])))

    data = _edited(change, compress_streams=False)
    with pikepdf.open(io.BytesIO(data)) as pdf:  # written as given, not decoded and encoded again
        stream = pdf.Root.Names.EmbeddedFiles.Names[1].EF.F
        assert stream.read_raw_bytes() == raw
        assert stream.get("/Filter") == entries.get("Filter")
    return data


def _workbook(value: object = 1250, second: object = "Oversikt") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws["A1"] = second
    ws["B1"] = value
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _split_runs(head: str, tail: str) -> str:
    return (
        f"<w:p><w:r><w:t>{head}</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>{tail}</w:t></w:r></w:p>"
    )


def _check(data: bytes, limits: Limits | None = None, name: str = "del2.pdf"):
    return ingest(name, data, limits=limits, today=TODAY)


def _assert_found_in_object(result) -> None:
    _found_in_object(result)
    found = [f for f in result.errors if f.code == "IDENTITY_FOUND"]
    assert "PDF" in found[0].message  # the place names a file attached to a PDF too


def _refusal(data: bytes, limits: Limits | None = None) -> Refusal:
    with pytest.raises(Refusal) as err:
        extract_pdf(data, limits or Limits())
    return err.value


@pytest.fixture(scope="module")
def plain():
    result = _check(_del2())
    assert result.status == "accepted", result.errors
    return result


# ---- files attached to the Del 2 form ------------------------------------------------------------


def test_a_workbook_attached_to_the_pdf_holding_the_number_as_a_number_is_rejected(plain):
    workbook = _workbook(int(NUMBER))  # a number cell: "3019..." with its zero lost
    assert not identity.contains_identity(workbook.decode("latin-1"))  # deflated in the XLSX
    _assert_found_in_object(_check(_attached({"oversikt.xlsx": workbook})))


def test_a_harmless_attached_workbook_is_searched_and_changes_nothing(plain):
    other = "12345678901"  # eleven digits that are no identity number (section 6)
    assert not identity.is_identity_number(other)
    harmless = _attached({"oversikt.xlsx": _workbook(1250, f"Bestilling {other}")})
    result = _check(harmless)
    assert result.status == "accepted", result.errors
    assert result.data == plain.data
    assert result.reference == plain.reference
    assert not [t for kind, t in extract_pdf(_del2(), Limits()).texts if kind == "embedded"]
    # its name is searched; of its content, only what holds a number is kept (nothing here)
    searched = [t for kind, t in extract_pdf(harmless, Limits()).texts if kind == "embedded"]
    assert set(searched) == {"oversikt.xlsx"}  # its key in the name tree, /UF and /F


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("notat.txt", lambda n: f"Pasient: {n}\n".encode(), id="txt"),
        pytest.param(
            "liste.csv", lambda n: f"navn;nr\r\nPer;{n[:6]} {n[6:]}\r\n".encode(), id="csv"
        ),
        # Excel saves CSV in Windows-1252: a no-break space is one byte that is no UTF-8
        pytest.param(
            "liste.csv", lambda n: f"nr;{n[:6]}\xa0{n[6:]}".encode("cp1252"), id="csv-1252"
        ),
        pytest.param("notat.txt", lambda n: f"Pasient {n}".encode("utf-16"), id="txt-utf16"),
        # no telling name: an HTML file is read as text by its content, its markup removed
        pytest.param("vedlegg", lambda n: f"<p>Nr <b>{n[:6]}</b>{n[6:]}</p>".encode(), id="html"),
    ],
)
def test_an_attached_text_file_holding_the_number_is_rejected(plain, name, content):
    _assert_found_in_object(_check(_attached({name: content(NUMBER)})))
    other = "12345678901"  # eleven digits that are no identity number (section 6)
    assert not identity.is_identity_number(other)
    harmless = _attached({name: content(other)})
    result = _check(harmless)
    assert result.status == "accepted", result.errors
    assert result.data == plain.data


@pytest.mark.parametrize("where", ["filename", "description"])
def test_a_number_in_the_name_or_description_of_an_attached_file_is_rejected(where):
    if where == "filename":
        data = _attached({f"{NUMBER}.txt": b"Merknad"})
    else:
        data = _attached({"notat.txt": b"Merknad"}, description=f"Gjelder {NUMBER}")
    _assert_found_in_object(_check(data))


def test_an_attached_docx_is_searched_over_its_runs():
    inner = _docx(_split_runs(NUMBER[:6], NUMBER[6:]))
    assert not identity.contains_identity(inner.decode("latin-1"))
    _assert_found_in_object(_check(_attached({"brev.docx": inner})))
    harmless = _docx(_split_runs("Se ", "vedlegg"))
    assert _check(_attached({"brev.docx": harmless})).status == "accepted"


def test_an_attached_zip_archive_is_searched_entry_by_entry():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("notater/", b"")
        zf.writestr("notater/notat.txt", f"Pasient {NUMBER}".encode())
    _assert_found_in_object(_check(_attached({"notater.zip": buf.getvalue()})))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"notater/{NUMBER}.txt", b"Merknad")  # an entry named after the patient
    _assert_found_in_object(_check(_attached({"notater.zip": buf.getvalue()})))


def test_an_attached_pdf_is_searched_by_its_fields_even_when_compressed():
    """A Del 2 attached to a Del 2: its field values sit in compressed object streams, where a
    raw search of its bytes cannot see them; its fields are read as the upload's are."""
    buf = io.BytesIO()
    values = {**DEL2_VALUES, "pasient.sykehistorie": f"Pasient {NUMBER}."}
    with pikepdf.open(io.BytesIO(build("tilgang-del2", "pdf", values))) as pdf:
        pdf.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    inner = buf.getvalue()
    assert not identity.contains_identity(inner.decode("latin-1"))
    _assert_found_in_object(_check(_attached({"kopi.pdf": inner})))
    harmless = _check(_attached({"kopi.pdf": build("tilgang-del2", "pdf", DEL2_VALUES)}))
    assert harmless.status == "accepted", harmless.errors


def test_a_file_attached_to_a_pdf_attached_to_the_form_is_searched():
    inner = _attached({"notat.txt": f"Pasient {NUMBER}".encode()}, base=_blank_pdf())
    _assert_found_in_object(_check(_attached({"kopi.pdf": inner})))


def _blank_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_an_encrypted_attached_pdf_is_refused():
    buf = io.BytesIO()
    with pikepdf.open(io.BytesIO(_blank_pdf())) as pdf:
        pdf.save(buf, encryption=pikepdf.Encryption(owner="eier", user="bruker"))
    result = _check(_attached({"kopi.pdf": buf.getvalue()}))
    assert _code(result) == "FILE_ENCRYPTED"


def test_a_file_attachment_annotation_holding_the_number_is_rejected():
    """A paperclip on page 1 (Acrobat's "Legg ved fil"): in no name tree, only on the page."""

    def annotate(content: bytes, contents: str = "Vedlegg"):
        def change(pdf: pikepdf.Pdf) -> None:
            spec = pikepdf.AttachedFileSpec(pdf, content, filename="notat.txt")
            annot = Dictionary(
                Type=Name.Annot,
                Subtype=Name.FileAttachment,
                Rect=Array([40, 40, 60, 60]),
                FS=spec.obj,
                Contents=String(contents),
                Name=Name.PushPin,
            )
            annots = pdf.pages[0].Annots
            for junk in (String("x"), 7, Array([1]), pikepdf.Stream(pdf, b"")):  # read past
                annots.append(junk)
            annots.append(pdf.make_indirect(annot))
            assert "/Names" not in pdf.Root

        return _edited(change)

    _assert_found_in_object(_check(annotate(f"Pasient {NUMBER}".encode())))
    _assert_found_in_object(_check(annotate(b"Merknad", contents=f"Gjelder {NUMBER}")))
    result = _check(annotate(b"Merknad"))
    assert result.status == "accepted", result.errors


# ---- comments (FORMS.md section 6: they are in the stored file as a field value is) -------------


def _commented(**annot_entries) -> bytes:
    """The Del 2 PDF with one comment on page 1 (its entries given), after the page's widgets and
    past a few entries that are no annotation at all."""

    def change(pdf: pikepdf.Pdf) -> None:
        entries = {
            key: pdf.make_stream(value) if isinstance(value, bytes) else value
            for key, value in annot_entries.items()
        }
        annot = Dictionary(Type=Name.Annot, Rect=Array([40, 40, 200, 60]), **entries)
        annots = pdf.pages[0].Annots
        for junk in (String("x"), 7, Array([1])):  # read past
            annots.append(junk)
        annots.append(pdf.make_indirect(annot))

    return _edited(change)


def _assert_found_in_comment(result) -> None:
    assert _code(result) == "IDENTITY_FOUND"
    message = result.errors[0].message
    assert "kommentar" in message
    assert NUMBER not in message and NUMBER[:6] not in message


@pytest.mark.parametrize(
    "entries",
    [
        {"Subtype": Name.Text, "Contents": String(f"Pasienten har fnr {NUMBER}")},  # a note
        {"Subtype": Name.FreeText, "Contents": String(f"{NUMBER[:6]} {NUMBER[6:]}")},  # text box
        {"Subtype": Name.Highlight, "Contents": String(f"Se {NUMBER}"), "T": String("Lege")},
        # rich text, the number split by markup, as a string and as a stream
        {
            "Subtype": Name.FreeText,
            "RC": String(f"<body><p>{NUMBER[:4]}<b>{NUMBER[4:]}</b></p></body>"),
        },
        {"Subtype": Name.Text, "Contents": String("Se vedlegg"), "RC": f"<p>{NUMBER}</p>".encode()},
    ],
    ids=["note", "text box", "highlight", "rich text", "rich text stream"],
)
def test_a_comment_holding_the_number_is_rejected(entries):
    """A doctor's sticky note or text box on the form is kept in the stored file: searched."""
    _assert_found_in_comment(_check(_commented(**entries)))


def test_a_harmless_comment_changes_nothing(plain):
    result = _check(
        _commented(Subtype=Name.Text, Contents=String("Ring avdelingen, tlf 22 11 80 00"))
    )
    assert result.status == "accepted", result.errors
    assert result.data == plain.data


def test_a_comment_whose_rich_text_cannot_be_read_is_refused():
    """Its text would be stored unsearched: refused, naming the comment, not decoded."""

    def change(pdf: pikepdf.Pdf) -> None:
        stream = _raw_stream(pdf, b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01", Filter=Name.LZWDecode)
        annot = Dictionary(Type=Name.Annot, Subtype=Name.Text, Rect=Array([0, 0, 9, 9]), RC=stream)
        pdf.pages[0].Annots.append(pdf.make_indirect(annot))

    result = _check(_edited(change, compress_streams=False))
    assert _code(result) == "FILE_CORRUPT"
    message = result.errors[0].message
    assert "kommentar" in message or "LZW" in message
    broken = _commented(Subtype=Name.Text, RC=b"x")

    def break_filter(pdf: pikepdf.Pdf) -> None:
        annot = pdf.pages[0].Annots[-1]
        annot.RC.write(b"not deflated", filter=Name.FlateDecode)

    result = _check(_edited(break_filter, broken, compress_streams=False))
    assert _code(result) == "FILE_CORRUPT"
    assert "kommentar" in result.errors[0].message


# ---- the XFA packets of a hybrid form ------------------------------------------------------------

_XDP_HEAD = b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/">'
_XFA_TEMPLATE = (
    b'<template xmlns="http://www.xfa.org/schema/xfa-template/3.3/"><subform name="soknad">'
    b'<field name="merknad"><caption><value><text>Merknad</text></value></caption></field>'
    b"</subform></template>"
)


def _datasets(value: str) -> bytes:
    return (
        b'<xfa:datasets xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><xfa:data>'
        + f"<soknad><merknad>{value}</merknad><skjult>ingen</skjult></soknad>".encode()
        + b"</xfa:data></xfa:datasets>"
    )


def _hybrid(packets: list[bytes] | bytes) -> bytes:
    """The Del 2 PDF made a hybrid XFA form: its AcroForm keeps every field and gets /XFA, an
    array of named packets (as LiveCycle Designer writes it) or one stream."""

    def change(pdf: pikepdf.Pdf) -> None:
        if isinstance(packets, bytes):
            pdf.Root.AcroForm.XFA = pdf.make_stream(packets)
            return
        names = ["preamble", "template", "datasets", "postamble"][: len(packets)]
        items: list = []
        for name, packet in zip(names, packets, strict=True):
            items += [String(name), pdf.make_stream(packet)]
        pdf.Root.AcroForm.XFA = Array(items)

    return _edited(change)


def _found_in_document(result) -> None:
    assert _code(result) == "IDENTITY_FOUND"
    assert "teksten i dokumentet" in result.errors[0].message
    assert NUMBER not in result.errors[0].message


def test_a_number_in_the_xfa_data_of_a_hybrid_form_is_rejected(plain):
    """The data packet holds every value of an XFA form, also of a field the AcroForm lacks."""
    packets = [_XDP_HEAD, _XFA_TEMPLATE, _datasets(f"Pasient {NUMBER}"), b"</xdp:xdp>"]
    _found_in_document(_check(_hybrid(packets)))
    whole = b"".join([_XDP_HEAD, _XFA_TEMPLATE, _datasets(NUMBER), b"</xdp:xdp>"])
    _found_in_document(_check(_hybrid(whole)))  # one stream
    broken = [_XDP_HEAD, _datasets(f"{NUMBER[:5]}<b>{NUMBER[5:]}</b>")]  # never closed
    _found_in_document(_check(_hybrid(broken)))
    harmless = [_XDP_HEAD, _XFA_TEMPLATE, _datasets("Ring 22 11 80 00"), b"</xdp:xdp>"]
    result = _check(_hybrid(harmless))
    assert result.status == "accepted", result.errors
    assert result.data == plain.data


def test_xfa_packets_that_cannot_be_read_are_refused():
    def unbounded(pdf: pikepdf.Pdf) -> None:
        stream = _raw_stream(pdf, b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01", Filter=Name.LZWDecode)
        pdf.Root.AcroForm.XFA = Array([String("datasets"), stream])

    result = _check(_edited(unbounded, compress_streams=False))
    assert _code(result) == "FILE_CORRUPT"
    assert "XFA" in result.errors[0].message or "LZW" in result.errors[0].message

    def large(pdf: pikepdf.Pdf) -> None:
        big = zlib.compress(b" " * (DECODE_LIMIT // 2 + 1))
        items: list = []
        for name in ("template", "datasets"):  # each within the limit, not both
            items += [String(name), _raw_stream(pdf, big, Filter=Name.FlateDecode)]
        pdf.Root.AcroForm.XFA = Array(items)

    result = _check(_edited(large, compress_streams=False))
    assert _code(result) == "FILE_TOO_LARGE"
    assert "XFA" in result.errors[0].message


def test_an_associated_file_of_the_document_is_searched():
    """PDF 2.0 associated files (/AF), listed in the catalogue and in no name tree."""

    def change(pdf: pikepdf.Pdf) -> None:
        spec = _spec(pdf, "data.txt", pdf.make_stream(f"Pasient {NUMBER}".encode()))
        pdf.Root.AF = Array([spec])

    _assert_found_in_object(_check(_edited(change)))


def test_a_file_listed_twice_is_decoded_once(monkeypatch):
    """In the name tree and in an annotation: one file, read once, searched."""
    import processor.extract_pdf as module

    decoded = []
    real = module._Attachments.decoded

    def counting(self, stream):
        decoded.append(stream.objgen)
        return real(self, stream)

    def change(pdf: pikepdf.Pdf) -> None:
        pdf.attachments["notat.txt"] = pikepdf.AttachedFileSpec(
            pdf, f"Pasient {NUMBER}".encode(), filename="notat.txt"
        )
        spec = pdf.Root.Names.EmbeddedFiles.Names[1]
        annot = Dictionary(Type=Name.Annot, Subtype=Name.FileAttachment, FS=spec)
        pdf.pages[1].Annots.append(pdf.make_indirect(annot))

    monkeypatch.setattr(module._Attachments, "decoded", counting)
    _assert_found_in_object(_check(_edited(change)))
    assert len(decoded) == 1


# ---- the search of one attached file ----------------------------------------------------------


def test_attached_file_texts_searches_each_kind_of_file():
    def found(data: bytes, name: str) -> bool:
        texts = attached_file_texts(data, name, Limits())
        assert all(identity.contains_identity(t) for t in texts)  # what holds a number only
        return bool(texts)

    rtf = f"{{\\rtf1 Pasient {{\\b {NUMBER[:5]}}}\r\n{NUMBER[5:]}\\par}}".encode()
    assert found(rtf, "notat.rtf")
    ole = OLE_MAGIC + random.Random(1).randbytes(2000) + f"Pasient {NUMBER}".encode("utf-16-le")
    assert found(ole, "gammel.xls")
    binary = random.Random(2).randbytes(3000) + NUMBER.encode() + bytes(10)
    assert found(binary, "bilde.png")
    assert not found(random.Random(3).randbytes(64 * 1024), "bilde.png")
    assert not found(_workbook(), "oversikt.xlsx")
    assert not found(b"1 " * 500_000, "tall.txt")  # one run of a million characters, no number
    assert found(b"1 " * 500_000 + NUMBER.encode(), "tall.txt")


# ---- hostile attachments -----------------------------------------------------------------------


def _deflated(size: int) -> bytes:
    """`size` bytes of spaces deflated, 1 MiB at a time."""
    comp = zlib.compressobj(9)
    parts = [comp.compress(b" " * (1 << 20)) for _ in range(size >> 20)]
    parts.append(comp.flush())
    return b"".join(parts)


def test_a_flate_bomb_attached_to_the_pdf_is_refused_quickly_without_inflating(tmp_path):
    """256 MiB of spaces in 256 KiB, with no size declared: qpdf stops at the decode limit."""
    bomb = 256 * 2**20
    data = _with_raw_attachment(_deflated(bomb), Filter=Name.FlateDecode)
    assert len(data) < bomb // 500
    started = time.perf_counter()
    result = _check(data)
    assert time.perf_counter() - started < 5
    assert _code(result) == "FILE_CORRUPT"
    assert "MiB" in result.errors[0].message
    code, peak = _peak_in_fresh_process(data, tmp_path)
    assert code == "FILE_CORRUPT"
    assert peak < 150 * 2**20


def test_an_attachment_declared_larger_than_the_limit_is_too_large_unread():
    at_limit = _with_raw_attachment(
        _deflated(DECODE_LIMIT), Filter=Name.FlateDecode, Params=Dictionary(Size=DECODE_LIMIT)
    )
    assert _check(at_limit).status == "accepted"
    # Its size in /Params says too large: refused before decoding (decoded, this stream would be
    # corrupt, not too large).
    declared = _with_raw_attachment(
        b"ikke flate", Filter=Name.FlateDecode, Params=Dictionary(Size=DECODE_LIMIT + 1)
    )
    # Stored as it is, its /Length says too large.
    stored = _with_raw_attachment(random.Random(4).randbytes(DECODE_LIMIT + 1))
    for data in (declared, stored):
        refusal = _refusal(data)
        assert refusal.finding.code == "FILE_TOO_LARGE"
        assert "lagt ved" in refusal.finding.message


def test_an_attachment_with_a_broken_filter_is_corrupt():
    data = _with_raw_attachment(f"Pasient {NUMBER}".encode(), Filter=Name.FlateDecode)
    result = _check(data)
    assert _code(result) == "FILE_CORRUPT"
    assert "lagt ved" in result.errors[0].message


def test_an_attachment_with_an_unbounded_filter_is_refused_undecoded():
    """qpdf holds no LZW stream to a limit (4 KiB of LZW can decode to 4 MiB): refused unread,
    from the raw bytes before opening or, in a classic file, before the stream is read."""
    data = _with_raw_attachment(b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01", Filter=Name.LZWDecode)
    refusal = _refusal(data)
    assert refusal.finding.code == "FILE_CORRUPT"
    assert "komprimert" in refusal.finding.message or "LZW" in refusal.finding.message


def test_an_attached_encrypted_office_file_is_refused():
    streams = (
        "EncryptionInfo".encode("utf-16-le") + b"\0" * 20 + "EncryptedPackage".encode("utf-16-le")
    )
    ole = OLE_MAGIC + random.Random(5).randbytes(3000) + streams
    assert _code(_check(_attached({"oversikt.xlsx": ole}))) == "FILE_ENCRYPTED"


def test_an_attached_zip_bomb_is_refused_as_at_the_top():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", bytes(3 * 1024 * 1024))  # about 1000:1
    assert _code(_check(_attached({"brev.docx": buf.getvalue()}))) == "FILE_CORRUPT"


def _tree_pdf(build_tree) -> bytes:
    """The Del 2 PDF whose embedded files name tree is `build_tree(pdf, spec)`, `spec` a file
    holding the number."""

    def change(pdf: pikepdf.Pdf) -> None:
        spec = _spec(pdf, "notat.txt", pdf.make_stream(f"Pasient {NUMBER}".encode()))
        pdf.Root.Names = Dictionary(EmbeddedFiles=build_tree(pdf, spec))

    return _edited(change)


def test_a_name_tree_with_a_kids_cycle_is_searched_without_hanging():
    def cycle(pdf: pikepdf.Pdf, spec: Dictionary) -> Dictionary:
        top = pdf.make_indirect(Dictionary())
        kid = pdf.make_indirect(Dictionary(Names=Array([String("notat.txt"), spec])))
        kid.Kids = Array([top, kid])
        top.Kids = Array([kid])
        return top

    started = time.perf_counter()
    _assert_found_in_object(_check(_tree_pdf(cycle)))
    assert time.perf_counter() - started < 5


def test_a_name_tree_nested_beyond_the_depth_limit_is_corrupt():
    def chain(depth: int):
        def make(pdf: pikepdf.Pdf, spec: Dictionary) -> Dictionary:
            node = pdf.make_indirect(Dictionary(Names=Array([String("notat.txt"), spec])))
            for _ in range(depth):
                node = pdf.make_indirect(Dictionary(Kids=Array([node])))
            return node

        return make

    limits = Limits()
    _assert_found_in_object(_check(_tree_pdf(chain(limits.max_depth))))
    refusal = _refusal(_tree_pdf(chain(limits.max_depth + 1)))
    assert refusal.finding.code == "FILE_CORRUPT"


def test_more_attached_files_than_the_limit_are_too_large():
    limits = Limits(max_attachments=3)
    three = _attached({f"notat{i}.txt": b"Merknad %d" % i for i in range(3)})
    assert _check(three, limits).status == "accepted"
    four = _attached({f"notat{i}.txt": b"Merknad %d" % i for i in range(4)})
    assert _code(_check(four, limits)) == "FILE_TOO_LARGE"
    assert _check(four).status == "accepted"  # the default limit


def test_attached_files_beyond_the_limit_together_are_too_large():
    rng = random.Random(6)
    files = {f"data{i}.bin": rng.randbytes(400_000) for i in range(3)}
    limits = Limits(max_inflated_bytes=1_000_000)
    assert _check(_attached(files)).status == "accepted"
    assert _code(_check(_attached(files), limits)) == "FILE_TOO_LARGE"


def test_attached_workbooks_share_one_budget_of_xml_tags():
    wb = Workbook()
    ws = wb.active
    for i in range(2000):
        ws.cell(row=1 + i // 10, column=1 + i % 10, value=i)
    buf = io.BytesIO()
    wb.save(buf)
    big = buf.getvalue()
    tags = sum(
        zipfile.ZipFile(io.BytesIO(big)).read(n).count(b"<")
        for n in zipfile.ZipFile(io.BytesIO(big)).namelist()
    )
    limits = Limits(max_xml_tags=tags + tags // 2)
    assert _check(_attached({"a.xlsx": big}), limits).status == "accepted"
    assert _code(_check(_attached({"a.xlsx": big, "b.xlsx": big}), limits)) == "FILE_TOO_LARGE"


def test_a_name_tree_longer_than_the_budget_is_too_large():
    """Entries of name trees and annotation arrays are counted before they are read, against ten
    times `max_fields` (the form has 51 widgets, and a name tree lists one file again and again)."""

    def listing(pairs: int):
        def make(pdf: pikepdf.Pdf, spec: Dictionary) -> Dictionary:
            return Dictionary(Names=Array([String("notat.txt"), spec] * pairs))

        return make

    limits = Limits(max_fields=100)
    assert extract_pdf(_tree_pdf(listing(400)), limits).fields  # 51 + 800 entries
    refusal = _refusal(_tree_pdf(listing(500)), limits)  # 51 + 1,000
    assert refusal.finding.code == "FILE_TOO_LARGE"
