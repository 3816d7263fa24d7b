"""Hostile Office files (FORMS.md 4.2, section 8): bombs, lying headers, XXE, macros, encryption.

Every hostile input is built here with zipfile; no binary fixture ships.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path

import pytest

from processor.extract_docx import extract_docx
from processor.extract_xlsx import extract_xlsx
from processor.findings import Limits, Refusal
from processor.ooxml import OLE_MAGIC, open_package, properties_texts

LIMITS = Limits()
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
BODY = (
    f'<w:document xmlns:w="{W}"><w:body><w:p><w:sdt><w:sdtPr><w:tag w:val="skjema.type"/>'
    "</w:sdtPr><w:sdtContent><w:r><w:t>tilgang-del2</w:t></w:r></w:sdtContent></w:sdt></w:p>"
    "</w:body></w:document>"
)
CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
SAMPLE = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "samples" / "del2-valid-0-cc.docx"
)


def zip_of(files: dict[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, content in files.items():
            zf.writestr(name, content.encode("utf-8") if isinstance(content, str) else content)
    return buf.getvalue()


def docx(document: bytes | str = BODY, extra: dict[str, bytes | str] | None = None) -> bytes:
    files: dict[str, bytes | str] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "word/document.xml": document,
    }
    files.update(extra or {})
    return zip_of(files)


def code_of(data: bytes, limits: Limits = LIMITS, extract=extract_docx) -> str:
    with pytest.raises(Refusal) as err:
        extract(data, limits)
    return err.value.finding.code


def patch_entry(data: bytes, name: str, **fields: int) -> bytes:
    """Rewrite fields (crc, csize, usize, flags) of an entry in its local and central headers."""
    out = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    local = {"flags": 6, "crc": 14, "csize": 18, "usize": 22}
    central = {"flags": 8, "crc": 16, "csize": 20, "usize": 24}
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_len] == name.encode():
            break
        at = data.find(b"PK\x01\x02", at + 4)
    for key, value in fields.items():
        fmt = "<H" if key == "flags" else "<I"
        struct.pack_into(fmt, out, info.header_offset + local[key], value)
        struct.pack_into(fmt, out, at + central[key], value)
    return bytes(out)


# ---- broken archives ------------------------------------------------------------------------


def test_not_a_zip_is_corrupt():
    assert code_of(b"PK\x03\x04 this is no archive") == "FILE_CORRUPT"
    assert code_of(b"hello") == "FILE_CORRUPT"


def test_truncated_zip_is_corrupt():
    data = SAMPLE.read_bytes() if SAMPLE.is_file() else docx()
    assert code_of(data[: len(data) // 2]) == "FILE_CORRUPT"


def test_bad_crc_is_corrupt():
    data = docx()
    crc = zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml").CRC
    assert code_of(patch_entry(data, "word/document.xml", crc=crc ^ 0xFFFF)) == "FILE_CORRUPT"


def test_too_many_entries_is_corrupt():
    data = docx(extra={f"word/media/{i}.xml": "<x/>" for i in range(30)})
    assert code_of(data, Limits(max_zip_entries=20)) == "FILE_CORRUPT"


def test_two_entries_of_one_name_are_corrupt():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning):
        zf.writestr("word/document.xml", BODY)
        zf.writestr("word/document.xml", BODY.replace("tilgang-del2", "minihta"))
    assert code_of(buf.getvalue()) == "FILE_CORRUPT"


def test_unsupported_compression_is_corrupt():
    data = zip_of(
        {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": BODY}, zipfile.ZIP_BZIP2
    )
    assert code_of(data) == "FILE_CORRUPT"


def test_zip_level_encryption_flag_is_encrypted():
    data = patch_entry(docx(), "word/document.xml", flags=0x1)
    assert code_of(data) == "FILE_ENCRYPTED"


def test_path_traversal_names_are_tolerated():
    data = docx(extra={"../../etc/evil.xml": "<x/>", "/abs.xml": "<y/>"})
    assert extract_docx(data, LIMITS).fields["skjema.type"] == "tilgang-del2"


# ---- decompression bombs --------------------------------------------------------------------

BOMB_BYTES = 60 * 1024 * 1024


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """60 MB of zeros in word/document.xml, deflated about 1000:1."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("word/document.xml", bytes(BOMB_BYTES))
    return buf.getvalue()


def test_zip_bomb_is_refused_from_its_header(bomb):
    assert len(bomb) < 200_000
    assert code_of(bomb) == "FILE_CORRUPT"  # ratio about 1000:1


def test_zip_bomb_declaring_200_mb_is_refused(bomb):
    data = patch_entry(bomb, "word/document.xml", usize=200 * 1024 * 1024)
    assert code_of(data) == "FILE_CORRUPT"


def test_zip_bomb_with_a_lying_small_size_is_corrupt_not_inflated(bomb):
    # The header claims twice the compressed size (a harmless ratio); the stream holds 60 MB.
    info = zipfile.ZipFile(io.BytesIO(bomb)).getinfo("word/document.xml")
    data = patch_entry(bomb, "word/document.xml", usize=info.compress_size * 2)
    pkg = open_package(data, LIMITS)  # the header looks fine
    with pytest.raises(Refusal) as err:
        pkg.read("word/document.xml")
    assert err.value.finding.code == "FILE_CORRUPT"


def test_part_larger_than_the_part_limit_is_too_large():
    data = docx(document=BODY + " " * 5000)
    assert code_of(data, Limits(max_part_bytes=4000)) == "FILE_TOO_LARGE"


def test_declared_total_beyond_the_limit_is_refused_before_reading():
    data = docx(extra={"word/big.xml": "<x>" + "ab" * 5000 + "</x>"})
    assert code_of(data, Limits(max_inflated_bytes=5000, max_ratio=1000)) == "FILE_TOO_LARGE"


# ---- XML attacks ----------------------------------------------------------------------------

XXE = (
    '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<w:document xmlns:w="{W}"><w:body><w:p><w:sdt><w:sdtPr><w:tag w:val="skjema.type"/>'
    "</w:sdtPr><w:sdtContent><w:r><w:t>&xxe;</w:t></w:r></w:sdtContent></w:sdt></w:p></w:body>"
    "</w:document>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + f']><w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body>'
    "</w:document>"
)


def test_xxe_is_corrupt():
    assert code_of(docx(XXE)) == "FILE_CORRUPT"


def test_xxe_in_utf16_is_corrupt():
    assert code_of(docx(XXE.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode("utf-16"))) == (
        "FILE_CORRUPT"
    )


def test_billion_laughs_is_corrupt():
    assert code_of(docx(LAUGHS)) == "FILE_CORRUPT"


def test_doctype_in_a_property_part_is_corrupt():
    core = '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.org/x.dtd"><x>y</x>'
    assert code_of(docx(extra={"docProps/core.xml": core})) == "FILE_CORRUPT"


def test_doctype_in_a_workbook_is_corrupt():
    wb = '<!DOCTYPE workbook [<!ENTITY a "b">]><workbook xmlns="x"/>'
    data = zip_of({"[Content_Types].xml": CONTENT_TYPES, "xl/workbook.xml": wb})
    assert code_of(data, extract=extract_xlsx) == "FILE_CORRUPT"


def test_deep_nesting_is_corrupt():
    deep = "<w:p>" + "<w:r>" * 40 + "</w:r>" * 40 + "</w:p>"
    doc = f'<w:document xmlns:w="{W}"><w:body>{deep}</w:body></w:document>'
    assert code_of(docx(doc)) == "FILE_CORRUPT"


def test_malformed_xml_is_corrupt():
    assert code_of(docx("<w:document><unclosed>")) == "FILE_CORRUPT"


# ---- many small elements: a tree's memory, bounded by counting tags first ---------------------


def _paragraphs(n: int) -> str:
    """A document of `n` paragraphs, each of 6 tags (p, r, t and their ends)."""
    body = "".join(f"<w:p><w:r><w:t>{i}</w:t></w:r></w:p>" for i in range(n))
    return f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'


def test_more_tags_than_the_limit_is_too_large_and_nothing_is_parsed(monkeypatch):
    import processor.ooxml as ooxml

    limits = Limits(max_xml_tags=600)
    data = docx(_paragraphs(100))  # 604 tags with the document and body
    parsed = []
    monkeypatch.setattr(ooxml, "parse_xml", lambda *a: parsed.append(a) or 1 / 0)
    with pytest.raises(Refusal) as err:
        extract_docx(data, limits)
    assert err.value.finding.code == "FILE_TOO_LARGE"
    assert "600 XML-tagger" in err.value.finding.message.replace("\u00a0", " ")
    assert parsed == []  # refused before libxml2 built a tree


def test_the_tag_limit_is_for_all_parts_together():
    limits = Limits(max_xml_tags=700)
    doc = _paragraphs(50)  # 304 tags
    header = f'<w:hdr xmlns:w="{W}">' + "<w:p/>" * 400 + "</w:hdr>"
    assert code_of(docx(doc), limits) == "FILE_NO_FORM_FIELDS"  # alone: read, and no form
    assert code_of(docx(doc, {"word/header1.xml": header}), limits) == "FILE_TOO_LARGE"


def test_the_tag_limit_counts_property_and_custom_xml_parts_read_as_texts():
    """Those parts are searched as texts, not trees, but millions of tiny elements are millions
    of strings: 22 MB in a custom XML part took 355 MiB."""
    limits = Limits(max_xml_tags=400)
    many = "<r>" + "<a>xy</a>" * 150 + "</r>"  # 302 tags
    one = extract_docx(docx(extra={"customXml/item1.xml": many}), limits)
    assert one.fields == {"skjema.type": "tilgang-del2"}
    assert ("metadata", "xy") in one.texts
    both = {"customXml/item1.xml": many, "docProps/core.xml": many}
    assert code_of(docx(extra=both), limits) == "FILE_TOO_LARGE"


def test_nested_paragraphs_filling_the_default_tag_limit_are_refused_quickly():
    """0.07 MiB that inflate to 2.8 MiB of paragraphs nested 27 deep: 500 000 tags. Before the
    limit, the same kind of file at the 25 MiB part limit took 6 s and 860 MiB."""
    rnd = random.Random(5)  # text that does not compress, so the ratio stays under 100:1
    chain = "<w:p>" * 27 + "<w:r><w:t>{}</w:t></w:r>" + "</w:p>" * 27
    body = "".join(chain.format(rnd.randbytes(6).hex()) for _ in range(9000))
    doc = f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
    assert doc.count("<") > LIMITS.max_xml_tags
    assert code_of(docx(doc)) == "FILE_TOO_LARGE"


def test_every_template_is_far_below_the_tag_limit():
    from forms.catalog import catalogue
    from forms.templates import build
    from tests.fillers import sample_values

    seen = 0
    for form_id in catalogue():
        for kind in ("docx", "xlsx"):
            try:
                data = build(form_id, kind, sample_values(form_id))
            except (KeyError, ValueError, NotImplementedError):
                continue
            zf = zipfile.ZipFile(io.BytesIO(data))
            tags = sum(zf.read(n).count(b"<") for n in zf.namelist() if n.endswith(".xml"))
            assert tags < LIMITS.max_xml_tags / 50, (form_id, kind, tags)
            seen += 1
    assert seen >= 4


# ---- macros and encryption ------------------------------------------------------------------


def test_vba_project_anywhere_is_macros():
    assert code_of(docx(extra={"word/vbaProject.bin": b"\x00VBA"})) == "FILE_MACROS"
    assert code_of(docx(extra={"custom/VBAPROJECT.BIN": b"\x00"})) == "FILE_MACROS"


def test_macro_enabled_content_type_is_macros():
    ct = CONTENT_TYPES.replace(
        "</Types>",
        '<Override PartName="/word/document.xml" '
        'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>',
    )
    data = zip_of({"[Content_Types].xml": ct, "word/document.xml": BODY})
    assert code_of(data) == "FILE_MACROS"


def test_template_named_dotm_in_app_properties_is_not_macros():
    app = "<Properties><Template>Normal.dotm</Template></Properties>"
    assert extract_docx(docx(extra={"docProps/app.xml": app}), LIMITS).fields["skjema.type"]


def test_ole_file_with_encryption_streams_is_encrypted():
    ole = OLE_MAGIC + bytes(504) + "EncryptionInfo".encode("utf-16-le") + bytes(64)
    assert code_of(ole) == "FILE_ENCRYPTED"
    ole = OLE_MAGIC + bytes(100) + "EncryptedPackage".encode("utf-16-le")
    assert code_of(ole, extract=extract_xlsx) == "FILE_ENCRYPTED"


def test_ole_file_without_encryption_is_a_legacy_format():
    assert code_of(OLE_MAGIC + bytes(600)) == "FILE_TYPE_UNSUPPORTED"


# ---- the package API ------------------------------------------------------------------------


def test_package_reads_parts_case_insensitively_and_lists_names():
    pkg = open_package(docx(), LIMITS)
    assert "word/document.xml" in pkg.names()
    assert pkg.has("/Word/Document.xml")
    assert pkg.read("WORD/document.xml") == BODY.encode()
    assert pkg.xml("word/document.xml").tag == f"{{{W}}}document"
    with pytest.raises(KeyError):
        pkg.read("word/missing.xml")


def test_stored_parts_are_read():
    data = zip_of(
        {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": BODY}, zipfile.ZIP_STORED
    )
    assert extract_docx(data, LIMITS).fields["skjema.type"] == "tilgang-del2"


def test_properties_texts_cover_core_app_and_custom():
    core = (
        '<cp:coreProperties xmlns:cp="c" xmlns:dc="d"><dc:creator>Ola &#78;ordmann</dc:creator>'
        "<dc:title><![CDATA[Tittel <1>]]></dc:title><!-- en kommentar --></cp:coreProperties>"
    )
    app = "<Properties><Company>Sykehuset</Company></Properties>"
    custom = '<Properties><property name="Avdeling"><vt:lpwstr xmlns:vt="v">Kirurgi</vt:lpwstr></property></Properties>'
    pkg = open_package(
        docx(
            extra={
                "docProps/core.xml": core,
                "docProps/app.xml": app,
                "docProps/custom.xml": custom,
            }
        ),
        LIMITS,
    )
    texts = properties_texts(pkg)
    for expected in ("Ola Nordmann", "Tittel <1>", "Sykehuset", "Kirurgi", "Avdeling"):
        assert expected in texts
    assert "en kommentar" not in texts
