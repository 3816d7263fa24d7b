"""The identity guard reads every string of a DOCX or XLSX package (FORMS.md section 6, issue #10).

`tests.hostile_identity.ooxml` builds filled forms with a synthetic number in one place each
(field codes, document variables, relationship targets, alt texts, bookmark names, parts no
relationship points at, the ZIP comment, entry names, a local entry missing from the central
directory, formulas, sheet names, data validation lists, defined names ...). Each must be
rejected with IDENTITY_FOUND without echoing the number; the same places with eleven digits
that fail the control digits must not be refused for identity.
"""

from __future__ import annotations

import io
import json
import struct
import unicodedata
import zipfile
import zlib
from datetime import date

import pytest

from processor.findings import Limits, Refusal
from processor.identity import contains_identity
from processor.ingest import ingest
from processor.ooxml import markup_strings, open_package
from processor.sweep import may_hold_number
from tests.hostile_identity import HostileCase
from tests.hostile_identity.ooxml import (
    cases,
    control_cases,
    del2_docx,
    failing,
    package,
    parts,
    without_central_record,
)

TODAY = date(2026, 11, 23)
CASES = cases()
CONTROLS = control_cases()


def _dumped(result) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False)


def _pieces(number: str) -> list[str]:
    return [number] + [number[:6] + sep + number[6:] for sep in (" ", "-", ".", "\u00a0")]


def test_the_corpus_holds_every_place_once_per_file_type():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) > 50
    assert {c.name.split("-")[0] for c in CASES} == {"docx", "xlsx"}
    assert len({c.number for c in CASES}) == len(CASES)  # a number of its own per case


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_number_anywhere_in_the_package_is_rejected(case: HostileCase):
    result = ingest(case.filename, case.data, today=TODAY)
    assert result.status == "rejected", result.errors
    found = [f for f in result.errors if f.code == "IDENTITY_FOUND"]
    assert found, result.errors
    if case.field is not None:
        assert case.field in {f.field for f in found}
    dumped = _dumped(result)
    for piece in _pieces(case.number):
        assert piece not in dumped


@pytest.mark.parametrize("case", CONTROLS, ids=lambda c: c.name)
def test_eleven_digits_that_fail_the_control_digits_are_no_identity(case: HostileCase):
    result = ingest(case.filename, case.data, today=TODAY)
    assert "IDENTITY_FOUND" not in result.codes(), result.errors
    assert result.status == "accepted", result.errors


def test_a_number_in_the_document_text_is_reported_once_by_its_place():
    """The sweep reads the paragraph again; the finding names the field, and the number is not
    reported a second time as a part of the package."""
    (case,) = [c for c in CASES if c.name == "docx-field-value-spaced"]
    result = ingest(case.filename, case.data, today=TODAY)
    places = [f.message for f in result.errors if f.code == "IDENTITY_FOUND"]
    assert not any("oppbygning" in m for m in places), places


def test_a_second_number_in_the_package_is_reported_besides_the_field():
    (case,) = [c for c in CASES if c.name == "docx-field-value-spaced"]
    (hidden,) = [c for c in CASES if c.name == "docx-settings-docvar"]
    entries = parts(case.data)
    entries["word/settings.xml"] = parts(hidden.data)["word/settings.xml"]
    result = ingest(case.filename, package(entries), today=TODAY)
    found = [f for f in result.errors if f.code == "IDENTITY_FOUND"]
    assert "pasient.sykehistorie" in {f.field for f in found}
    assert any(f.field is None and "oppbygning" in f.message for f in found), found


# ---- local entries missing from the central directory ---------------------------------------


def _orphan_bytes(name: bytes, payload: bytes, flags: int = 0, method: int = 8) -> bytes:
    data = zlib.compress(payload)[2:-4] if method == 8 else payload
    header = struct.pack(
        "<4sHHHHHIIIHH",
        b"PK\x03\x04",
        20,
        flags,
        method,
        0,
        0x21,
        0 if flags & 8 else zlib.crc32(payload),
        0 if flags & 8 else len(data),
        0 if flags & 8 else len(payload),
        len(name),
        0,
    )
    return header + name + data


def _insert_before_directory(data: bytes, blob: bytes) -> bytes:
    end = data.rindex(b"PK\x05\x06")
    offset = struct.unpack("<I", data[end + 16 : end + 20])[0]
    eocd = bytearray(data[end:])
    struct.pack_into("<I", eocd, 16, offset + len(blob))
    return data[:offset] + blob + data[offset:end] + bytes(eocd)


def test_an_unlisted_entry_with_its_sizes_in_a_data_descriptor_is_read():
    number = CASES[0].number
    blob = _orphan_bytes(b"word/x.xml", f"<x>{number}</x>".encode(), flags=8)
    data = _insert_before_directory(del2_docx(), blob + b"PK\x07\x08" + b"\x00" * 12)
    result = ingest("del2.docx", data, today=TODAY)
    assert "IDENTITY_FOUND" in result.codes()
    assert number not in _dumped(result)


@pytest.mark.parametrize(
    ("blob", "code"),
    [
        (_orphan_bytes(b"x.xml", b"<x/>", flags=8, method=0), "FILE_CORRUPT"),  # end unknown
        (_orphan_bytes(b"x.xml", b"<x/>", method=12), "FILE_CORRUPT"),  # bzip2
        (_orphan_bytes(b"x.xml", b"<x/>", flags=1), "FILE_ENCRYPTED"),
        (_orphan_bytes(b"x.xml", b"<x/>")[:-2], "FILE_CORRUPT"),  # truncated
        (_orphan_bytes(b"x.xml", b"<x>" + b"0" * 200_000 + b"</x>"), "FILE_CORRUPT"),  # ratio
    ],
    ids=["stored-without-size", "unknown-method", "encrypted", "truncated", "ratio"],
)
def test_an_unlisted_entry_that_cannot_be_read_safely_is_refused(blob, code):
    data = _insert_before_directory(del2_docx(), blob)
    result = ingest("del2.docx", data, today=TODAY)
    assert result.status == "rejected"
    assert code in result.codes()
    if code == "FILE_CORRUPT":
        assert any("skjult del" in f.message for f in result.errors)


def test_an_unlisted_entry_beyond_the_part_limit_is_too_large():
    payload = b"<x>" + b"a b " * 40_000 + b"</x>"
    data = _insert_before_directory(del2_docx(), _orphan_bytes(b"x.xml", payload, flags=8))
    limits = Limits(max_part_bytes=100_000)
    assert "FILE_TOO_LARGE" in ingest("del2.docx", data, limits=limits, today=TODAY).codes()


def test_a_package_stored_inside_an_entry_is_not_taken_for_unlisted_entries():
    """The local headers of an uncompressed package inside a part lie inside that part's data:
    they belong to it, and the file is read as usual."""
    inner = del2_docx()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in parts(del2_docx()).items():
            zf.writestr(name, data, zipfile.ZIP_DEFLATED)
        zf.writestr("word/media/kopi.bin", inner, zipfile.ZIP_STORED)
    pkg = open_package(out.getvalue(), Limits())
    assert pkg.orphans() == []
    assert ingest("del2.docx", out.getvalue(), today=TODAY).status == "accepted"


def test_signatures_inside_a_listed_entry_cost_one_step_per_entry(monkeypatch):
    """A stored part full of local header signatures is skipped whole, not hit by hit."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in parts(del2_docx()).items():
            zf.writestr(name, data, zipfile.ZIP_DEFLATED)
        zf.writestr("word/media/x.bin", b"PK\x03\x04" * 50_000, zipfile.ZIP_STORED)
    pkg = open_package(out.getvalue(), Limits())
    finds = 0
    real = bytes.find

    class Counting(bytes):
        def find(self, *args):
            nonlocal finds
            finds += 1
            return real(self, *args)

    monkeypatch.setattr(pkg, "_raw", Counting(out.getvalue()))
    assert pkg.orphans() == []
    assert finds < 20


def test_the_central_record_is_really_gone():
    (case,) = [c for c in CASES if c.name == "docx-unlisted-local-entry"]
    with zipfile.ZipFile(io.BytesIO(case.data)) as zf:
        assert "word/skjult.xml" not in zf.namelist()
        assert zf.testzip() is None
    with pytest.raises(AssertionError):
        without_central_record(case.data, "word/finnes-ikke.xml")


# ---- the strings of a part --------------------------------------------------------------------


def test_markup_strings_decode_references_and_join_what_the_parser_joins():
    number = CASES[0].number
    refs = "".join(f"&#x{ord(c):x};" for c in number)
    for xml in (
        f'<a b="{refs}"/>',
        f"<a>{number[:3]}<!-- x -->{number[3:]}</a>",
        f"<a>{number[:3]}<?pi x?>{number[3:]}</a>",
        f'<?xml version="1.0" encoding="windows-1252"?><a>{number[:6]}\u00a0{number[6:]}</a>',
        f'<a xmlns:n="urn:{number}"/>',
        f"<a><!--{number}--></a>",
    ):
        encoding = "cp1252" if "windows-1252" in xml else "utf-8"
        assert contains_identity(markup_strings(xml.encode(encoding), 32)), xml


def test_a_part_in_an_encoding_only_the_parser_could_read_is_refused():
    """EBCDIC keeps its digits in bytes F0-F9, which the text as written does not show and
    libxml2 here does not decode: the part cannot be checked, so the file is refused."""
    number = CASES[0].number
    ebcdic = b'<?xml version="1.0" encoding="IBM037"?>' + f"<a>{number}</a>".encode("cp037")
    with pytest.raises(Refusal):
        markup_strings(ebcdic, 32)
    entries = parts(del2_docx())
    entries["word/x.xml"] = b'<?xml version="1.0" encoding="IBM037"?><a>&#1;</a>'
    assert ingest("del2.docx", package(entries), today=TODAY).codes() == {"FILE_CORRUPT"}


def test_markup_strings_join_with_no_white_space():
    """Two attribute values side by side are not one number with a space in it."""
    number = CASES[0].number
    text = markup_strings(f'<a x="{number[:6]}" y="{number[6:]}"/>'.encode(), 32)
    assert f"{number[:6]} {number[6:]}" not in text


@pytest.mark.parametrize(
    "text",
    ["abc", "x 123456 7890", "12345678901", "123456 78901", "123456.78901", "æ 1234", "a\tb"],
)
def test_the_pre_check_never_drops_a_text_the_guard_would_refuse(text):
    number = CASES[0].number
    for candidate in (text, text.replace("12345678901", number), f"{text} {failing(number)}"):
        if contains_identity(candidate):
            assert may_hold_number(candidate)
    assert may_hold_number(f"x{number[:6]}\t{number[6:]}x")  # white space reads as a space
    assert may_hold_number(f"{number[:5]}\u200b{number[5:]}")  # a format character inside
    wide = "".join(chr(0xFF10 + int(c)) for c in number)  # full-width digits
    assert may_hold_number(wide)
    assert not may_hold_number('w:rsidR="00A1B2C3" w:w="2268" 9638 Søknad på 25 år')


def test_no_character_stands_for_more_digits_than_it_has_bytes():
    """What makes `may_hold_number` sound for any normalisation by NFKC: each character outside
    ASCII counts as many digits as it has bytes in UTF-8, and none stands for more."""
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        digits = sum(c.isdigit() for c in unicodedata.normalize("NFKC", ch))
        assert digits <= len(ch.encode("utf-8")), hex(cp)
