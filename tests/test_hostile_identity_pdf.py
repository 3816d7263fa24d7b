"""The identity guard reads every string of a PDF (FORMS.md section 6 rules 1 and 2, issue #10).

The hostile corpus (`tests.hostile_identity.pdf`) puts a synthetic identity number in one place
each that the field walk does not read; every file must be rejected with IDENTITY_FOUND and the
number must appear nowhere in the result. The same places with eleven digits that fail the
control digits must not be refused for identity.
"""

from __future__ import annotations

import dataclasses
import io
import json

import pikepdf
import pytest
from pikepdf import String

from processor.extract_pdf import MAX_REVISIONS, extract_pdf
from processor.findings import Limits
from processor.ingest import ingest
from tests.conftest import TODAY
from tests.hostile_identity import pdf as hostile
from tests.hostile_identity.pdf import HostileCase

CASES = hostile.cases()
NEAR_MISSES = hostile.near_misses()


def _result_json(case: HostileCase) -> tuple[dict, str]:
    result = ingest(case.filename, case.data, today=TODAY)
    as_dict = dataclasses.asdict(result)
    return as_dict, json.dumps(as_dict, ensure_ascii=False, default=str)


def _spellings(number: str) -> list[str]:
    return [number] + [number[:6] + sep + number[6:] for sep in (" ", ".", "-", "\u00a0")]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_pdf_is_rejected_without_echo(case: HostileCase) -> None:
    result, text = _result_json(case)
    assert result["status"] == "rejected"
    found = [e for e in result["errors"] if e["code"] == "IDENTITY_FOUND"]
    assert found, result["errors"]
    if case.field is not None:
        assert case.field in {e["field"] for e in found}
    for spelling in _spellings(case.number):
        assert spelling not in text


@pytest.mark.parametrize("case", NEAR_MISSES, ids=[c.name for c in NEAR_MISSES])
def test_near_miss_is_not_identity(case: HostileCase) -> None:
    result, _ = _result_json(case)
    assert not [e for e in result["errors"] if e["code"] == "IDENTITY_FOUND"], result["errors"]
    assert result["status"] in ("accepted", "incomplete"), result["errors"]


def test_corpus_places_are_distinct_and_numbers_vary() -> None:
    assert len({c.data for c in CASES}) == len(CASES)
    assert len({c.number for c in CASES}) >= 4
    # the base file itself is accepted: each case differs from it in its one place only
    assert ingest("del2.pdf", hostile._base(), today=TODAY).status == "accepted"


def _kinds(data: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind, text in extract_pdf(data, Limits()).texts:
        out.setdefault(kind, []).append(text)
    return out


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("pdf-earlier-revision", "revision"),
        ("pdf-listed-orphan", "package"),
        ("pdf-unlisted-object", "package"),
        ("pdf-tooltip", "package"),
        ("pdf-open-action-stream", "package"),
    ],
)
def test_place_is_named_by_its_kind(name: str, kind: str) -> None:
    case = next(c for c in CASES if c.name == name)
    texts = _kinds(case.data)
    assert any(case.number[:6] in t and case.number[6:] in t for t in texts.get(kind, [])), texts


def test_earlier_revision_is_not_in_the_current_one() -> None:
    """The case is real: qpdf reads the last revision without the number; the guard names the
    earlier revision, not the package."""
    case = next(c for c in CASES if c.name == "pdf-earlier-revision")
    with pikepdf.open(io.BytesIO(case.data)) as pdf:
        strings = b"".join(o.to_json(dereference=True) for o in pdf.objects)
    assert case.number.encode() not in strings
    assert case.data.count(b"%%EOF") == 2
    texts = _kinds(case.data)
    assert not any(case.number in t for t in texts.get("package", []))


def test_unreferenced_object_is_in_qpdf_object_list() -> None:
    """qpdf's `pdf.objects` lists an object nothing refers to (the sweep relies on it)."""
    case = next(c for c in CASES if c.name == "pdf-listed-orphan")
    with pikepdf.open(io.BytesIO(case.data)) as pdf:
        listed = b"".join(o.to_json(dereference=True) for o in pdf.objects)
    assert case.number.encode() in listed


def test_unlisted_object_is_in_no_cross_reference_section() -> None:
    case = next(c for c in CASES if c.name == "pdf-unlisted-object")
    with pikepdf.open(io.BytesIO(case.data)) as pdf:
        listed = b"".join(o.to_json(dereference=True) for o in pdf.objects)
    assert case.number.encode() not in listed
    assert case.number.encode() in case.data


def _with_string(raw: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(hostile._base())) as pdf:
        pdf.Root.AcroForm.Fields[3].TU = String(raw)
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


@pytest.mark.parametrize(
    "raw",
    [
        b"\xfe\xff\xd8\x00\x00\x31",  # a high surrogate, then "1"
        b"\xfe\xff\x00\x31\xdc\x00",  # a low surrogate alone
        b"\xfe\xff\xd8\x00\xd8\x00\xdc\x00",  # two high surrogates, one low
    ],
)
def test_lone_surrogate_in_a_pdf_string_is_corrupt(raw: bytes) -> None:
    """FORMS.md 6 rule 2. qpdf decodes such a string without complaint (it drops the
    surrogate), so the guard checks the raw bytes."""
    result = ingest("del2.pdf", _with_string(raw), today=TODAY)
    assert result.status == "rejected"
    assert [e.code for e in result.errors] == ["FILE_CORRUPT"]


def test_valid_utf16_string_is_accepted() -> None:
    raw = b"\xfe\xff" + "Søkers navn \U0001f600".encode("utf-16-be")
    assert ingest("del2.pdf", _with_string(raw), today=TODAY).status == "accepted"


def _revisions(count: int) -> bytes:
    data = hostile._base()
    for i in range(count):
        data = hostile._append(data, {900 + i: b"(rev %d)" % i})
    return data


def test_many_revisions_are_read_up_to_the_limit() -> None:
    assert ingest("del2.pdf", _revisions(MAX_REVISIONS), today=TODAY).status == "accepted"
    result = ingest("del2.pdf", _revisions(MAX_REVISIONS + 1), today=TODAY)
    assert [e.code for e in result.errors] == ["FILE_CORRUPT"]
    assert str(MAX_REVISIONS) in result.errors[0].message


def test_field_value_is_named_once() -> None:
    """A number in a field value gives the field's finding, not a second one for the package
    (the sweep leaves out what the field walk already gave)."""
    case = next(c for c in CASES if c.name == "pdf-field-value")
    result, _ = _result_json(case)
    found = [e for e in result["errors"] if e["code"] == "IDENTITY_FOUND"]
    assert [e["field"] for e in found] == ["pasient.sykehistorie"]


def test_drawn_streams_are_not_searched() -> None:
    """A page content stream and an appearance stream are drawn text (FORMS.md 6): a number
    drawn there is not searched (rule 3 covers it), so the file is accepted."""
    number = hostile._numbers()[0]

    def change(pdf: pikepdf.Pdf) -> None:
        page = pdf.pages[0]
        page.contents_add(pdf.make_stream(f"BT /F1 9 Tf 10 10 Td ({number}) Tj ET".encode()))
        widget = hostile._field(pdf, "pasient.diagnose")
        widget.AP.N.write(f"BT /Helv 9 Tf 2 2 Td ({number}) Tj ET".encode())

    data = hostile._edit(change, compress_streams=False)
    assert number.encode() in data
    assert ingest("del2.pdf", data, today=TODAY).status == "accepted"


@pytest.mark.parametrize(
    "save",
    [
        {"linearize": True},  # a %%EOF after the first page's cross-reference section too
        {"qdf": True},  # indirect numbers (stream lengths) among the objects
        {"object_stream_mode": pikepdf.ObjectStreamMode.generate},
        {"linearize": True, "object_stream_mode": pikepdf.ObjectStreamMode.generate},
    ],
    ids=["linearized", "qdf", "object-streams", "linearized-object-streams"],
)
def test_valid_form_saved_other_ways_is_accepted(save: dict) -> None:
    data = hostile._edit(lambda pdf: None, **save)
    assert ingest("del2.pdf", data, today=TODAY).status == "accepted"


def test_number_in_an_indirect_integer_is_found() -> None:
    number = next(n for n in hostile._numbers() if n[0] != "0")  # an integer has no leading 0

    def change(pdf: pikepdf.Pdf) -> None:
        pdf.Root.Teller = pdf.make_indirect(pikepdf.Object.parse(f" {number} ".encode()))

    result = ingest("del2.pdf", hostile._edit(change, qdf=True), today=TODAY)
    assert "IDENTITY_FOUND" in [e.code for e in result.errors]


@pytest.mark.parametrize(
    "written",
    [
        b"< fe FF d8 00 00 31 >",  # hex, white space and mixed case
        b"(\\376\\377\\330\\000\\0001)",  # literal, octal escapes
        b"(\\\n\\376\\\r\n\\377\\330\\000\\0001)",  # literal, line continuations
        b"(\xfe\xff\xd8\x00\x00\x31)",  # literal, raw bytes
    ],
    ids=["hex", "octal", "continued", "raw"],
)
def test_lone_surrogate_in_any_written_form_is_corrupt(written: bytes) -> None:
    """However the string is written in a file without object streams, the cheap check of the
    raw bytes (`_utf16_possible`) sends it to the strict one."""
    with pikepdf.open(io.BytesIO(hostile._base())) as pdf:
        size = int(pdf.trailer.Size)
    data = hostile._append(hostile._base(), {size: b"<< /Merknad " + written + b" >>"})
    result = ingest("del2.pdf", data, today=TODAY)
    assert [e.code for e in result.errors] == ["FILE_CORRUPT"]


def test_large_compressed_unknown_stream_is_refused_not_skipped() -> None:
    """A stream no role explains, decoding beyond the limit: its text could not be searched."""
    import zlib

    def change(pdf: pikepdf.Pdf) -> None:
        stream = pdf.make_stream(zlib.compress(b"x" * (2 * 2**20)))
        stream.Filter = pikepdf.Name.FlateDecode
        pdf.Root.PieceInfo = pikepdf.Dictionary(Verktoy=pikepdf.Dictionary(Private=stream))

    result = ingest("del2.pdf", hostile._edit(change), today=TODAY)
    assert result.status == "rejected"
    assert {e.code for e in result.errors} <= {"FILE_TOO_LARGE", "FILE_CORRUPT"}


@pytest.mark.parametrize(
    "spoof", [b"", b"/s (stream) "], ids=["plain", "stream-keyword-in-a-string"]
)
def test_objects_beyond_the_byte_limit_are_refused_before_they_are_parsed(spoof: bytes) -> None:
    """Every object is read, so their size is bounded (qpdf holds each dictionary entry in
    about 140 bytes): 2 MiB of names in dictionaries nothing refers to is FILE_TOO_LARGE."""
    from processor.extract_pdf import OBJECT_BYTES_LIMIT

    with pikepdf.open(io.BytesIO(hostile._base())) as pdf:
        size = int(pdf.trailer.Size)
    names = b"".join(b"/n%d 1" % i for i in range(20_000))  # about 200 KB each
    objects = {size + k: b"<< " + spoof + names + b" >>" for k in range(10)}
    data = hostile._append(hostile._base(), objects)
    assert len(data) - len(hostile._base()) > OBJECT_BYTES_LIMIT
    result = ingest("del2.pdf", data, today=TODAY)
    assert [e.code for e in result.errors] == ["FILE_TOO_LARGE"]
    # the same objects within the limit are read
    small = hostile._append(hostile._base(), {size: b"<< " + spoof + names + b" >>"})
    assert ingest("del2.pdf", small, today=TODAY).status == "accepted"
