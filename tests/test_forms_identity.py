"""FORMS.md section 6: identity that must never enter the service.

Numbers are generated here by an implementation of the rules that is independent of
`processor.identity` (tests/spec_support.py); none is written down literally. Numbers that reach a
file use the synthetic month + 80 form.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import PurePath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from processor import identity
from processor.ingest import file_name, file_suffix, ingest
from tests.conftest import TODAY
from tests.spec_support import (
    DEL2_VALUES,
    SHIFTS,
    del2_json,
    fh_number,
    field_kinds,
    fill_with_pypdf,
    first_sum,
    number_for,
    passes_control_digits,
    pdf_values,
    reportlab_pdf,
    second_sum,
    synthetic,
    with_control_digits,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEPARATORS = ("", " ", ".", "-")
# Norwegian text around a number; no digits, so the number stands alone.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Nd", "Cs")), max_size=30)
SENTENCES = (
    "Pasienten har fødselsnummer {}.",
    "fnr: {}",
    "Fnr.{} (se journal)",
    "Kontakt pårørende, id {}, før oppstart.",
    "{}",
    "Nr.{}x",
)

born = st.dates(min_value=date(1900, 1, 1), max_value=date(2039, 12, 31))
kinds = st.sampled_from(sorted(SHIFTS))
sums = st.sampled_from((0, 1, 2, 3))


@st.composite
def identity_numbers(draw) -> str:
    """Any kind of identity number: fødsels-, D-, H-, synthetic, synthetic D or FH-nummer, with a
    first control sum of 0 (before 2032) or 1, 2, 3 (numbers issued from 2032)."""
    wanted = draw(sums)
    if draw(st.integers(0, 5)) == 0:  # FH-nummer
        first = draw(st.sampled_from("89"))
        start = draw(st.integers(0, 10**8 - 1))
        # the first eight free digits from `start` on that admit two control digits
        return next(
            n for i in range(100) if (n := fh_number(f"{(start + i) % 10**8:08}", first, wanted))
        )
    return number_for(draw(born), draw(kinds), draw(st.integers(0, 999)), wanted)


def written(number: str, sep: str) -> str:
    return number[:6] + sep + number[6:]


# ---- the generator agrees with the rules it implements --------------------------------------------


@SETTINGS
@given(identity_numbers())
def test_generated_numbers_follow_the_control_digit_rules(number):
    assert len(number) == 11 and number.isdigit()
    assert first_sum(number) in (0, 1, 2, 3)
    assert second_sum(number) == 0


@pytest.mark.parametrize("kind", sorted(SHIFTS))
def test_every_kind_shifts_the_date_as_the_spec_says(kind):
    number = number_for(date(1987, 1, 3), kind, 200)
    dd, mm = SHIFTS[kind]
    assert int(number[0:2]) == 3 + dd
    assert int(number[2:4]) == 1 + mm
    assert identity.contains_identity(number)


# ---- what counts as identity ---------------------------------------------------------------------


@SETTINGS
@given(identity_numbers(), st.sampled_from(SEPARATORS))
def test_identity_number_is_found_bare_and_with_one_separator_after_the_sixth_digit(number, sep):
    assert identity.contains_identity(written(number, sep))


@SETTINGS
@given(identity_numbers(), st.sampled_from(SEPARATORS), st.sampled_from(SENTENCES), TEXT, TEXT)
def test_identity_number_is_found_inside_norwegian_text(number, sep, sentence, before, after):
    text = before + " " + sentence.format(written(number, sep)) + " " + after
    assert identity.contains_identity(text)


@SETTINGS
@given(identity_numbers(), st.sampled_from(SEPARATORS), st.integers(0, 9), st.booleans())
def test_identity_number_next_to_another_digit_is_not_identity(number, sep, digit, before):
    text = f"{digit}{written(number, sep)}" if before else f"{written(number, sep)}{digit}"
    assert not identity.contains_identity(f"Ordre {text} levert")


@SETTINGS
@given(identity_numbers())
def test_post_2032_first_sums_count(number):
    assert identity.is_identity_number(number)


@pytest.mark.parametrize("wanted", [1, 2, 3])
def test_synthetic_number_with_first_sum_one_to_three_is_identity(wanted):
    number = number_for(date(2033, 5, 17), "syntetisk", 600, wanted)
    assert first_sum(number) == wanted
    assert identity.contains_identity(f"Nummer {number}")


def test_first_sum_four_is_not_identity():
    nine = "178533600"
    number = next(
        n for s in range(4, 10) if (n := with_control_digits(nine, s)) and first_sum(n) == s
    )
    assert not passes_control_digits(number)
    assert not identity.contains_identity(number)


@SETTINGS
@given(
    st.text(alphabet="0123456789", min_size=11, max_size=11).filter(
        lambda s: not passes_control_digits(s)
    ),
    st.sampled_from(SEPARATORS),
)
def test_eleven_digits_failing_the_control_digits_are_never_identity(digits, sep):
    assert not identity.contains_identity(f"Ordrenummer {written(digits, sep)}")


@SETTINGS
@given(
    st.sampled_from([0, *range(13, 41), *range(53, 81), *range(93, 100)]),
    st.integers(1, 28),
    st.booleans(),
    st.integers(0, 99),
    st.integers(0, 999),
)
def test_valid_control_digits_without_a_date_is_not_identity(month, day, d_number, yy, ind):
    number = with_control_digits(f"{day + 40 * d_number:02}{month:02}{yy:02}{ind:03}")
    if number is not None:
        assert not identity.contains_identity(number)


@SETTINGS
@given(st.integers(40_000_000, 99_999_999))
def test_phone_numbers_are_not_identity(n):
    s = str(n)
    for text in (
        s,
        f"+47 {s}",
        f"tlf. {s[:3]} {s[3:5]} {s[5:]}",
        f"{s[:2]} {s[2:4]} {s[4:6]} {s[6:]}",
    ):
        assert not identity.contains_identity(text)


@SETTINGS
@given(st.integers(1900, 2100), st.integers(1900, 2100))
def test_years_are_not_identity(a, b):
    assert not identity.contains_identity(f"Fødselsår {a}, behandlet {a}–{b} og {b}")


@pytest.mark.parametrize(
    "text",
    [
        "Ordrenummer 12345678901",
        "Ordre 98765432109 er sendt",
        "11111111111",
        "Tlf. 479 12 345, mobil 912 34 567",
        "Kontonummer 1234.56.78903",
        "Referanse 2026-02-03-STO-LUNGE",
        "Beløp 12 500 000,50 kr",
        "Født 03.01.1987",
    ],
)
def test_everyday_numbers_are_not_identity(text):
    for run in ("12345678901", "98765432109", "11111111111"):
        assert not passes_control_digits(run)  # keep the examples honest
    assert not identity.contains_identity(text)


# ---- where the service looks: through ingest ------------------------------------------------------

NUMBER = synthetic(date(1987, 1, 3), 123)  # starts with "03": a leading zero a number cell loses


def _assert_no_trace(result, number: str = NUMBER, *, skip_file: bool = False) -> None:
    out = result.to_dict()
    if skip_file:
        out.pop("file")
    dumped = json.dumps(out, ensure_ascii=False)
    for piece in (number, number[:6], number[-5:], written(number, " "), written(number, "-")):
        assert piece not in dumped


def _identity_findings(result):
    return [f for f in result.errors if f.code == "IDENTITY_FOUND"]


def test_valid_del2_without_identity_is_accepted():
    assert ingest("del2.json", del2_json(), today=TODAY).status == "accepted"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pasient.sykehistorie", "Pasienten, fnr {}, har progresjon."),
        ("soknad.soker_navn", "{}"),
        ("totalvurdering", "Gjelder {}"),
        ("litteratur.1.tittel", "Studie {}"),
        ("kriterier.okt_nytte.begrunnelse", "Se {} i journalen."),
    ],
)
@pytest.mark.parametrize("sep", SEPARATORS)
def test_number_in_a_field_value_is_rejected_naming_the_field(field, value, sep):
    result = ingest(
        "del2.json", del2_json(**{field: value.format(written(NUMBER, sep))}), today=TODAY
    )
    assert result.status == "rejected"
    assert field in {f.field for f in _identity_findings(result)}
    assert result.data is None
    _assert_no_trace(result)


def test_number_as_a_json_number_is_rejected_even_without_its_leading_zero():
    assert NUMBER.startswith("0")
    result = ingest("del2.json", del2_json(**{"pasient.fodselsar": int(NUMBER)}), today=TODAY)
    assert result.status == "rejected"
    assert "pasient.fodselsar" in {f.field for f in _identity_findings(result)}
    _assert_no_trace(result)


@pytest.mark.parametrize("sep", SEPARATORS)
def test_number_in_the_file_name_is_rejected(sep):
    name = f"soknad-{written(NUMBER, sep)}.json"
    result = ingest(name, del2_json(), today=TODAY)
    assert result.status == "rejected"
    assert [f.field for f in _identity_findings(result)] == [None]
    assert result.file == name  # the result repeats the name the caller gave, nothing else does
    _assert_no_trace(result, skip_file=True)


@pytest.mark.parametrize("kind", ["d-nummer", "syntetisk-d"])
def test_d_number_in_file_name_is_rejected(kind):
    number = number_for(date(1990, 12, 31), kind, 77)
    result = ingest(f"{number}.pdf", b"%PDF-1.7 not really a pdf", today=TODAY)
    assert result.status == "rejected"
    assert "IDENTITY_FOUND" in result.codes()
    _assert_no_trace(result, number, skip_file=True)


def test_number_in_a_json_key_is_rejected():
    doc = json.loads(del2_json())
    doc["pasient"][f"notat_{NUMBER}"] = "se journal"
    result = ingest("del2.json", json.dumps(doc).encode(), today=TODAY)
    assert result.status == "rejected"
    assert _identity_findings(result)
    _assert_no_trace(result)


def test_number_in_both_a_json_key_and_its_value_is_never_echoed_as_a_field_id():
    doc = json.loads(del2_json())
    doc[NUMBER] = NUMBER
    doc["pasient"][written(NUMBER, "-")] = {"x": written(NUMBER, " ")}
    result = ingest("del2.json", json.dumps(doc).encode(), today=TODAY)
    assert result.status == "rejected"
    assert _identity_findings(result)
    _assert_no_trace(result)


def test_number_in_a_json_list_value_is_rejected():
    doc = json.loads(del2_json())
    doc["pasient"]["diagnose"] = ["Melanom", f"fnr {NUMBER}"]
    result = ingest("del2.json", json.dumps(doc).encode(), today=TODAY)
    assert result.status == "rejected"
    assert _identity_findings(result)
    _assert_no_trace(result)


def _valid_pdf(**overrides: object) -> bytes:
    kinds = field_kinds()
    values = pdf_values({**DEL2_VALUES, **overrides}, kinds)
    return fill_with_pypdf(reportlab_pdf(kinds), values)


def _with_writer(pdf: bytes, change) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_clean_pdf_is_accepted():
    assert ingest("del2.pdf", _valid_pdf(), today=TODAY).status == "accepted"


def test_number_in_a_pdf_field_is_rejected_naming_the_field():
    pdf = _valid_pdf(**{"pasient.funksjonsniva": f"ECOG 1 ({written(NUMBER, '.')})"})
    result = ingest("del2.pdf", pdf, today=TODAY)
    assert result.status == "rejected"
    assert "pasient.funksjonsniva" in {f.field for f in _identity_findings(result)}
    _assert_no_trace(result)


@pytest.mark.parametrize("key", ["/Author", "/Title", "/Subject", "/Keywords", "/Pasient"])
@pytest.mark.parametrize("text", ["Pasient {}", "Pasient → {} (UTF-16)"])
def test_number_in_pdf_info_metadata_is_rejected(key, text):
    value = text.format(NUMBER)
    pdf = _with_writer(_valid_pdf(), lambda w: w.add_metadata({key: value}))
    result = ingest("del2.pdf", pdf, today=TODAY)
    assert result.status == "rejected"
    assert [f.field for f in _identity_findings(result)] == [None]
    _assert_no_trace(result)


def _with_xmp(pdf: bytes, description: str, *, compressed: bool = False) -> bytes:
    """The PDF with an XMP packet whose rdf:Description holds `description` (XML)."""
    xmp = (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">'
        f'{description}</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()

    def add_xmp(writer: PdfWriter) -> None:
        stream = DecodedStreamObject()
        stream.set_data(xmp)
        stream[NameObject("/Type")] = NameObject("/Metadata")
        stream[NameObject("/Subtype")] = NameObject("/XML")
        obj = stream.flate_encode() if compressed else stream
        writer._root_object[NameObject("/Metadata")] = writer._add_object(obj)

    return _with_writer(pdf, add_xmp)


@pytest.mark.parametrize("compressed", [False, True])
def test_number_in_pdf_xmp_metadata_is_rejected(compressed):
    description = f"<dc:description>Pasient {written(NUMBER, ' ')}</dc:description>"
    result = ingest(
        "del2.pdf", _with_xmp(_valid_pdf(), description, compressed=compressed), today=TODAY
    )
    assert result.status == "rejected"
    assert _identity_findings(result)
    _assert_no_trace(result)


def test_every_place_is_reported_at_once():
    pdf = _with_writer(
        _valid_pdf(**{"totalvurdering": NUMBER}),
        lambda w: w.add_metadata({"/Author": NUMBER}),
    )
    result = ingest(f"{NUMBER}.pdf", pdf, today=TODAY)
    found = _identity_findings(result)
    assert {f.field for f in found} == {None, "totalvurdering"}
    assert len(found) == 3  # file name, metadata, the field
    _assert_no_trace(result, skip_file=True)


@SETTINGS
@given(st.sampled_from("89"), st.integers(0, 10**8 - 1), sums)
def test_fh_number_needs_no_date(first, start, wanted):
    number = next(
        n for i in range(100) if (n := fh_number(f"{(start + i) % 10**8:08}", first, wanted))
    )
    assert number[0] == first
    assert identity.contains_identity(f"FH-nummer {number}")


# ---- generated values that hold such digits by chance -----------------------------------------

# `link --key` writes "k1:" + 20 hex digits of an HMAC: about one in 6,000 holds eleven decimal
# digits that pass every rule. The service must not refuse the checksum its own tool wrote: a run
# of 16 or more hex characters with a letter is a machine id, not text (FORMS.md section 6).
DIGEST = f"k1:ab{NUMBER}cdefabc"


def passing_digits(text: str) -> bool:
    """The text holds eleven digits that pass every rule, whatever surrounds them."""
    return any(
        identity.is_identity_number(m.group(1) + m.group(2))
        for m in identity.CANDIDATE.finditer(re.sub("[A-Za-z]", " ", text))
    )


def test_generated_digest_holds_passing_digits_but_is_no_text():
    assert len(DIGEST) == 23 and passing_digits(DIGEST)
    assert not identity.contains_identity(DIGEST)
    assert identity.contains_identity(f"k1:ab{NUMBER} cdefabc")  # a 13-character run is text


@pytest.mark.parametrize("kind", ["json", "pdf", "docx"])
def test_a_kontrollsum_whose_digits_look_like_a_number_is_accepted(kind):
    from forms.templates import build

    values = {**DEL2_VALUES, "soknad.del1_kontrollsum": DIGEST}
    data = {
        "json": lambda: del2_json(**{"soknad.del1_kontrollsum": DIGEST}),
        "pdf": lambda: _valid_pdf(**{"soknad.del1_kontrollsum": DIGEST}),
        "docx": lambda: build("tilgang-del2", "docx", values),
    }[kind]()
    result = ingest(f"del2.{kind}", data, today=TODAY)
    assert result.status == "accepted", result.errors
    assert result.data["soknad"]["del1_kontrollsum"] == DIGEST


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("soknad.del1_kontrollsum", f"k1:{NUMBER}"),  # not the digest's form: searched
        ("soknad.del1_kontrollsum", f"{DIGEST} {NUMBER}"),
    ],
)
def test_only_a_digest_in_its_own_field_is_not_searched(field, value):
    result = ingest("del2.json", del2_json(**{field: value}), today=TODAY)
    assert result.status == "rejected"
    assert field in {f.field for f in _identity_findings(result)}
    _assert_no_trace(result)


def test_a_docx_that_repeats_the_kontrollsum_elsewhere_is_still_searched_there():
    from forms.templates import build

    values = {**DEL2_VALUES, "soknad.del1_kontrollsum": DIGEST}
    values["totalvurdering"] = f"Se {NUMBER}"
    result = ingest("del2.docx", build("tilgang-del2", "docx", values), today=TODAY)
    assert result.status == "rejected"
    assert "totalvurdering" in {f.field for f in _identity_findings(result)}


# Metadata ids: a GUID (XMP uuid:, the sensitivity labels' custom properties) and Adobe's
# 32-digit xmp.did:/xmp.iid: ids. About one such id in 3,400 holds a passing run of digits.
GUID = f"6e8d3f4a-1b2c-4d5e-8f90-a{NUMBER}"
XMP_ID = f"xmp.did:F77F117A{NUMBER}BCDEF01234567"


@pytest.mark.parametrize(
    "text",
    [
        f"uuid:{GUID}",
        "{" + GUID.upper() + "}",
        f"MSIP_Label_{GUID}_SiteId",
        XMP_ID,
        f"0x0101A{NUMBER}C568DB52D9D0A14D9B2FDCC9",  # SharePoint ContentTypeId
    ],
)
def test_machine_ids_are_not_identity(text):
    assert passing_digits(text)  # the digits are there
    assert not identity.contains_identity(text)


@pytest.mark.parametrize(
    "text",
    [
        f"Pasient {NUMBER}",
        f"uuid:{GUID} Pasient {NUMBER}",  # prose next to an id is still searched
        f"{GUID}x",  # not a whole GUID: a letter after it
        f"xmp.did:F77F{NUMBER}",  # too short to be a generated id
    ],
)
def test_written_numbers_in_metadata_are_identity(text):
    assert identity.contains_identity(text)


def test_a_pdf_whose_xmp_ids_hold_such_digits_is_accepted():
    description = (
        f"<xmpMM:DocumentID>{XMP_ID}</xmpMM:DocumentID>"
        f"<xmpMM:InstanceID>uuid:{GUID}</xmpMM:InstanceID>"
    )
    result = ingest("del2.pdf", _with_xmp(_valid_pdf(), description), today=TODAY)
    assert result.status == "accepted", result.errors


# Charts and SmartArt keep their text in parts of their own (FORMS.md section 6: any text of a
# DOCX, also outside content controls).
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"


def _with_parts(data: bytes, edits=None, added=None) -> bytes:
    """The package `data` with parts edited (name -> function of the bytes) and parts added
    (name -> XML text)."""
    import zipfile

    from tests.fuzzing import rezip

    def edit(entries: list) -> None:
        for i, (info, body) in enumerate(entries):
            if info.filename in (edits or {}):
                entries[i] = (info, edits[info.filename](body))
        entries.extend((zipfile.ZipInfo(n), x.encode()) for n, x in (added or {}).items())

    return rezip(data, edit)


def _replacing(old: bytes, new: bytes):
    """An edit that replaces `old` (which must be there) by `new`, once."""

    def edit(body: bytes) -> bytes:
        assert old in body
        return body.replace(old, new, 1)

    return edit


def _docx_with_part(name: str, xml: str) -> bytes:
    from forms.templates import build

    return _with_parts(build("tilgang-del2", "docx", DEL2_VALUES), added={name: xml})


@pytest.mark.parametrize(
    ("name", "xml"),
    [
        (  # SmartArt: the number split over two runs of one paragraph
            "word/diagrams/data1.xml",
            f'<dgm:dataModel xmlns:dgm="x" xmlns:a="{_A}"><dgm:ptLst><dgm:pt><dgm:t><a:p>'
            "<a:r><a:t>{head}</a:t></a:r><a:r><a:t>{tail}</a:t></a:r>"
            "</a:p></dgm:t></dgm:pt></dgm:ptLst></dgm:dataModel>",
        ),
        (  # a chart's cached value
            "word/charts/chart1.xml",
            '<c:chartSpace xmlns:c="y"><c:chart><c:ser><c:cat><c:strRef><c:strCache><c:pt>'
            "<c:v>{head}{tail}</c:v></c:pt></c:strCache></c:strRef></c:cat></c:ser></c:chart>"
            "</c:chartSpace>",
        ),
    ],
    ids=["smartart", "chart"],
)
def test_a_number_in_a_chart_or_smartart_of_a_docx_is_rejected(name, xml):
    plain = _docx_with_part(name, xml.format(head="Pasient", tail="forløp"))
    assert "IDENTITY_FOUND" not in ingest("del2.docx", plain, today=TODAY).codes()
    found = _docx_with_part(name, xml.format(head=NUMBER[:5], tail=NUMBER[5:]))
    result = ingest("del2.docx", found, today=TODAY)
    assert result.status == "rejected"
    assert "IDENTITY_FOUND" in result.codes()
    _assert_no_trace(result)


def _xlsx_with(extra: dict[str, str], header: str | None = None) -> bytes:
    """The filled economics sheet with `extra` parts, and `header` as its first sheet's header."""
    from forms.templates import build
    from tests.fillers import fill_xlsx, sample_values

    filled = fill_xlsx(build("minihta-okonomi", "xlsx"), sample_values("minihta-okonomi"))
    edits = {}
    if header is not None:
        tail = f"<headerFooter><oddHeader>{header}</oddHeader></headerFooter></worksheet>"
        edits["xl/worksheets/sheet1.xml"] = _replacing(b"</worksheet>", tail.encode())
    return _with_parts(filled, edits, extra)


def test_a_number_in_a_text_box_of_a_sheet_is_rejected():
    box = (
        f'<xdr:wsDr xmlns:xdr="x" xmlns:a="{_A}"><xdr:sp><xdr:txBody><a:p>'
        "<a:r><a:t>{head}</a:t></a:r><a:r><a:t>{tail}</a:t></a:r></a:p></xdr:txBody></xdr:sp>"
        "</xdr:wsDr>"
    )
    name = "xl/drawings/drawing1.xml"
    plain = _xlsx_with({name: box.format(head="Merk", tail="nad")})
    assert ingest("okonomi.xlsx", plain, today=TODAY).status == "accepted"
    found = _xlsx_with({name: box.format(head=NUMBER[:4], tail=NUMBER[4:])})
    result = ingest("okonomi.xlsx", found, today=TODAY)
    assert "IDENTITY_FOUND" in result.codes()
    _assert_no_trace(result)


@pytest.mark.parametrize(
    "header",
    [
        f"&amp;L{NUMBER}",
        f"&amp;C&amp;14 {NUMBER}",  # Excel writes a space after a font size before digits
        f'&amp;R&amp;"Arial,Fet"{NUMBER}&amp;P',
        f"&amp;L&amp;K00FF00{NUMBER}",  # a colour: six hex digits, then the number's
    ],
    ids=["plain", "after-a-font-size", "after-a-font", "after-a-colour"],
)
def test_a_number_in_a_sheets_printed_header_is_rejected(header):
    assert ingest("okonomi.xlsx", _xlsx_with({}, "&amp;LSide &amp;P"), today=TODAY).status == (
        "accepted"
    )
    result = ingest("okonomi.xlsx", _xlsx_with({}, header), today=TODAY)
    assert "IDENTITY_FOUND" in result.codes()
    _assert_no_trace(result)


# Names are searched as the keys of a JSON form are: a PDF field's name, a content control's tag,
# a defined name of a sheet. (Not a PDF field's /TU, the name shown to the person filling in:
# written by the template's author, and reading it cost 0.2 ms per form, 9 % of the check.)


def _pdf_with_field(**entries: str) -> bytes:
    import pikepdf
    from pikepdf import Dictionary, Name, String

    from forms.templates import build

    with pikepdf.open(io.BytesIO(build("tilgang-del2", "pdf", DEL2_VALUES))) as pdf:
        extra = {key: String(value) for key, value in entries.items()}
        field = pdf.make_indirect(Dictionary(FT=Name.Tx, V=String("x"), **extra))
        pdf.Root.AcroForm.Fields.append(field)
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def test_a_number_in_a_pdf_fields_name_is_rejected():
    plain = _pdf_with_field(T="merknad")
    assert ingest("del2.pdf", plain, today=TODAY).status != "rejected"
    result = ingest("del2.pdf", _pdf_with_field(T=NUMBER), today=TODAY)
    assert "IDENTITY_FOUND" in result.codes()
    _assert_no_trace(result)


def test_a_number_as_a_content_controls_tag_is_rejected():
    from forms.templates import build

    data = build("tilgang-del2", "docx", DEL2_VALUES)
    control = (
        f'<w:sdt><w:sdtPr><w:tag w:val="{NUMBER}"/></w:sdtPr><w:sdtContent><w:r><w:t>x</w:t>'
        "</w:r></w:sdtContent></w:sdt>"
    )
    body = _replacing(b"<w:body><w:p>", b"<w:body><w:p>" + control.encode())
    result = ingest("del2.docx", _with_parts(data, {"word/document.xml": body}), today=TODAY)
    assert "IDENTITY_FOUND" in result.codes()
    _assert_no_trace(result)


def test_a_number_in_a_defined_name_of_a_sheet_is_rejected():
    plain = _xlsx_with({})
    name = f'<definedName name="x{NUMBER}">Ark1!$Z$99</definedName></definedNames>'
    found = _with_parts(plain, {"xl/workbook.xml": _replacing(b"</definedNames>", name.encode())})
    assert ingest("okonomi.xlsx", plain, today=TODAY).status == "accepted"
    result = ingest("okonomi.xlsx", found, today=TODAY)
    assert "IDENTITY_FOUND" in result.codes()
    _assert_no_trace(result)


@given(st.text(alphabet="ab./\\ 1", max_size=12))
@settings(max_examples=500)
def test_file_name_and_suffix_as_pathlib(filename):
    """The guard searches the file's name and the pipeline goes by its suffix, both read without
    building a PurePath; they must be what PurePath says."""
    assert file_name(filename) == PurePath(filename).name
    assert file_suffix(filename) == PurePath(filename).suffix
