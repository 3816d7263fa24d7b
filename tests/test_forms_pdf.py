"""FORMS.md section 4.1 (PDF) and the file-level codes of section 8.

The PDFs are built here: a flat AcroForm made by reportlab whose field names are the dotted ids,
and a hierarchical AcroForm of pypdf generic objects (`helseforetak` under a parent `soknad`). Both
are filled with pypdf, as an HF's PDF software would fill them.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    StreamObject,
    TextStringObject,
)

from forms.catalog import get_form
from forms.templates.docx import build_docx
from processor.extract_pdf import (
    DECODE_LIMIT,
    _bounded,
    _classic,
    _refuse_unbounded_filters,
    extract_pdf,
)
from processor.findings import CODES, Limits, Refusal
from processor.ingest import ingest
from tests import hostile_pdf
from tests.conftest import TODAY
from tests.spec_support import (
    DEL2_VALUES,
    field_kinds,
    fill_with_pypdf,
    hierarchical_pdf,
    pdf_values,
    reportlab_pdf,
)

KINDS = field_kinds()
BUILDERS = {"flat": reportlab_pdf, "hierarchical": hierarchical_pdf}


def filled(builder: str, **overrides: object) -> bytes:
    values = {**DEL2_VALUES, **overrides}
    return fill_with_pypdf(BUILDERS[builder](KINDS), pdf_values(values, KINDS))


@pytest.fixture(scope="module")
def flat_pdf() -> bytes:
    return filled("flat")


@pytest.fixture(scope="module")
def hier_pdf() -> bytes:
    return filled("hierarchical")


def fields_of(pdf: bytes) -> dict[str, object]:
    """Extracted fields, an empty string read as "not filled" (FORMS.md section 2)."""
    return {k: (None if v == "" else v) for k, v in extract_pdf(pdf, Limits()).fields.items()}


def rewrite(pdf: bytes, change) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def codes(filename: str, data: bytes, **kw) -> tuple[str, set[str]]:
    result = ingest(filename, data, today=TODAY, **kw)
    return result.status, {f.code for f in result.errors}


# ---- flat and hierarchical names are the same field ------------------------------------------------


def test_flat_and_hierarchical_pdfs_give_the_same_fields(flat_pdf, hier_pdf):
    flat, hier = fields_of(flat_pdf), fields_of(hier_pdf)
    assert set(flat) == set(KINDS)
    assert flat == hier


def test_hierarchical_pdf_really_nests_its_fields(hier_pdf):
    acro = PdfReader(io.BytesIO(hier_pdf)).trailer["/Root"]["/AcroForm"]
    top = {str(f.get_object()["/T"]) for f in acro["/Fields"]}
    assert {"skjema", "soknad", "pasient", "kriterier", "litteratur"} <= top
    assert "soknad.helseforetak" not in top


def test_flat_and_hierarchical_pdfs_are_accepted_with_the_same_data(flat_pdf, hier_pdf):
    a = ingest("del2.pdf", flat_pdf, today=TODAY)
    b = ingest("del2.pdf", hier_pdf, today=TODAY)
    assert a.status == b.status == "accepted", (a.errors, b.errors)
    assert a.data == b.data
    assert a.data["kriterier"]["okt_nytte"]["oppfylt"] is True
    assert a.data["kriterier"]["hoyere_alvorlighet"]["oppfylt"] is False
    assert a.data["kostnader"]["andre_per_maned"] == 1000.5
    assert a.reference == DEL2_VALUES["soknad.referansenummer"]


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_missing_field_value_is_reported_from_a_pdf(builder):
    result = ingest("del2.pdf", filled(builder, **{"pasient.diagnose": ""}), today=TODAY)
    assert result.status == "incomplete"
    assert [(f.code, f.field) for f in result.errors] == [("REQUIRED", "pasient.diagnose")]


# ---- checkboxes and radio groups -----------------------------------------------------------------


@pytest.mark.parametrize("on_state", ["Yes", "On", "1", "Ja"])
def test_any_checkbox_state_but_off_is_true(on_state):
    pdf = hierarchical_pdf(KINDS, DEL2_VALUES, on_state=on_state)
    fields = fields_of(pdf)
    assert fields["soknad.samtykke_bekreftet"] is True
    assert fields["kriterier.hoyere_alvorlighet.oppfylt"] is False
    assert ingest("del2.pdf", pdf, today=TODAY).status == "accepted"


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_off_checkbox_is_false(builder):
    pdf = filled(builder, **{"soknad.samtykke_bekreftet": False})
    assert fields_of(pdf)["soknad.samtykke_bekreftet"] is False
    result = ingest("del2.pdf", pdf, today=TODAY)
    assert result.status == "incomplete"
    assert [(f.code, f.field) for f in result.errors] == [
        ("CONSENT_MISSING", "soknad.samtykke_bekreftet")
    ]


def test_checkbox_value_comes_from_v_not_from_the_appearance(flat_pdf):
    def tick_only_the_appearance(writer: PdfWriter) -> None:
        for page in writer.pages:
            for annot in page["/Annots"]:
                a = annot.get_object()
                if a.get("/T") == "soknad.samtykke_bekreftet":
                    a[NameObject("/V")] = NameObject("/Off")
                    a[NameObject("/AS")] = NameObject("/Yes")
                    found.append(a)

    found: list = []
    pdf = rewrite(flat_pdf, tick_only_the_appearance)
    assert found
    assert fields_of(pdf)["soknad.samtykke_bekreftet"] is False


def test_checkbox_without_v_is_not_ticked():
    def drop_v(writer: PdfWriter) -> None:
        for page in writer.pages:
            for annot in page["/Annots"]:
                a = annot.get_object()
                if a.get("/T") == "linjeleder_godkjent":
                    del a["/V"]
                    found.append(a)

    found: list = []

    pdf = rewrite(hierarchical_pdf(KINDS, DEL2_VALUES), drop_v)
    assert found
    assert fields_of(pdf)["forankring.linjeleder_godkjent"] is False


@pytest.mark.parametrize("builder", sorted(BUILDERS))
@pytest.mark.parametrize("code", ["kurativ", "livsforlengende", "annet"])
def test_radio_group_gives_the_selected_code(builder, code):
    extra = {"behandling.behandlingsmal_annet": "Bedre livskvalitet"} if code == "annet" else {}
    pdf = filled(builder, **{"behandling.behandlingsmal": code, **extra})
    assert fields_of(pdf)["behandling.behandlingsmal"] == code
    result = ingest("del2.pdf", pdf, today=TODAY)
    assert result.status == "accepted", result.errors
    assert result.data["behandling"]["behandlingsmal"] == code


def test_radio_group_without_selection_is_required():
    values = {k: v for k, v in DEL2_VALUES.items() if k != "behandling.behandlingsmal"}
    pdf = hierarchical_pdf(KINDS, values)
    assert fields_of(pdf)["behandling.behandlingsmal"] is None
    result = ingest("del2.pdf", pdf, today=TODAY)
    assert [(f.code, f.field) for f in result.errors] == [("REQUIRED", "behandling.behandlingsmal")]


# ---- PDFs that are rejected ----------------------------------------------------------------------


@pytest.mark.parametrize(("user", "owner"), [("x", None), ("", "eier")])
def test_encrypted_pdf_is_rejected(flat_pdf, user, owner):
    pdf = rewrite(flat_pdf, lambda w: w.encrypt(user, owner))
    assert codes("del2.pdf", pdf) == ("rejected", {"FILE_ENCRYPTED"})


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.1])
def test_truncated_pdf_is_corrupt(flat_pdf, fraction):
    assert codes("del2.pdf", flat_pdf[: int(len(flat_pdf) * fraction)]) == (
        "rejected",
        {"FILE_CORRUPT"},
    )


def _blank_pdf(acroform: dict | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    if acroform is not None:
        # A stream is only valid as an indirect object (ISO 32000-1 7.3.8).
        acroform = {
            k: writer._add_object(v) if isinstance(v, StreamObject) else v
            for k, v in acroform.items()
        }
        writer._root_object[NameObject("/AcroForm")] = DictionaryObject(acroform)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_xfa_only_pdf_has_no_form_fields():
    xfa = DecodedStreamObject()
    xfa.set_data(b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"></xdp:xdp>')
    pdf = _blank_pdf({NameObject("/Fields"): ArrayObject(), NameObject("/XFA"): xfa})
    assert codes("del2.pdf", pdf) == ("rejected", {"FILE_NO_FORM_FIELDS"})


def test_pdf_without_acroform_has_no_form_fields():
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, "Søknad om individuell tilgang – Del 2 (skannet)")
    c.showPage()
    c.save()
    assert codes("scan.pdf", buf.getvalue()) == ("rejected", {"FILE_NO_FORM_FIELDS"})
    assert codes("blank.pdf", _blank_pdf()) == ("rejected", {"FILE_NO_FORM_FIELDS"})


def _field_tree_pdf(build) -> bytes:
    """A PDF whose /AcroForm /Fields is made by `build(writer) -> list of field refs`."""
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    fields = ArrayObject(build(writer))
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): fields})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _text_field(writer: PdfWriter, name: str, value: str):
    return writer._add_object(
        DictionaryObject(
            {
                NameObject("/T"): TextStringObject(name),
                NameObject("/FT"): NameObject("/Tx"),
                NameObject("/V"): TextStringObject(value),
            }
        )
    )


def test_field_tree_with_a_cycle_does_not_hang_or_crash():
    def build(writer: PdfWriter):
        a = writer._add_object(DictionaryObject({NameObject("/T"): TextStringObject("soknad")}))
        b = writer._add_object(DictionaryObject({NameObject("/T"): TextStringObject("indre")}))
        a.get_object()[NameObject("/Kids")] = ArrayObject(
            [b, a, _text_field(writer, "helseforetak", "STO")]
        )
        b.get_object()[NameObject("/Kids")] = ArrayObject([a, b])
        return [
            _text_field(writer, "skjema.type", "tilgang-del2"),
            _text_field(writer, "skjema.versjon", "1"),
            a,
        ]

    result = ingest("del2.pdf", _field_tree_pdf(build), today=TODAY)
    assert result.status in ("rejected", "incomplete")
    assert result.errors and all(f.code in CODES for f in result.errors)


@pytest.mark.parametrize("extra", [1, 200])
def test_field_tree_nested_beyond_the_depth_limit_is_rejected(extra):
    limits = Limits()

    def build(writer: PdfWriter):
        ref = _text_field(writer, "dypt", "verdi")
        for n in range(limits.max_depth + extra):
            parent = writer._add_object(
                DictionaryObject(
                    {
                        NameObject("/T"): TextStringObject(f"n{n}"),
                        NameObject("/Kids"): ArrayObject([ref]),
                    }
                )
            )
            ref.get_object()[NameObject("/Parent")] = parent
            ref = parent
        return [_text_field(writer, "skjema.type", "tilgang-del2"), ref]

    result = ingest("del2.pdf", _field_tree_pdf(build), limits=limits, today=TODAY)
    assert result.status == "rejected"
    assert result.errors and all(f.code in CODES for f in result.errors)


def test_field_tree_within_the_depth_limit_is_read():
    def build(writer: PdfWriter):
        ref = _text_field(writer, "helseforetak", "STO")
        for n in range(5):
            parent = writer._add_object(
                DictionaryObject(
                    {
                        NameObject("/T"): TextStringObject("soknad" if n == 4 else f"n{n}"),
                        NameObject("/Kids"): ArrayObject([ref]),
                    }
                )
            )
            ref = parent
        return [ref]

    fields = extract_pdf(_field_tree_pdf(build), Limits()).fields
    assert fields == {"soknad.n3.n2.n1.n0.helseforetak": "STO"}


# ---- files that are no PDF (or too much of one) --------------------------------------------------


def test_garbage_named_pdf_is_rejected():
    data = random.Random(7).randbytes(5000)
    status, found = codes("del2.pdf", data)
    assert status == "rejected" and found


def test_pdf_header_followed_by_garbage_is_corrupt():
    data = b"%PDF-1.7\n" + random.Random(8).randbytes(5000) + b"\n%%EOF\n"
    assert codes("del2.pdf", data) == ("rejected", {"FILE_CORRUPT"})


def test_docx_named_pdf_is_unsupported():
    docx = build_docx(get_form("tilgang-del2"))
    assert docx.startswith(b"PK")
    assert codes("del2.pdf", docx) == ("rejected", {"FILE_TYPE_UNSUPPORTED"})


def test_pdf_named_docx_is_unsupported(flat_pdf):
    assert codes("del2.docx", flat_pdf) == ("rejected", {"FILE_TYPE_UNSUPPORTED"})


@pytest.mark.parametrize("name", ["del2.docm", "del2.DOCM", "okonomi.xlsm"])
def test_macro_enabled_office_file_is_rejected(name):
    docx = build_docx(get_form("tilgang-del2"))
    assert codes(name, docx) == ("rejected", {"FILE_MACROS"})


@pytest.mark.parametrize("name", ["del2.txt", "del2.doc", "del2.pdf.exe"])
def test_unsupported_suffix_is_rejected(name, flat_pdf):
    assert codes(name, flat_pdf) == ("rejected", {"FILE_TYPE_UNSUPPORTED"})


def test_empty_file_is_rejected():
    assert codes("del2.pdf", b"") == ("rejected", {"FILE_EMPTY"})


def test_file_over_the_limit_is_too_large(flat_pdf):
    small = Limits(max_file_bytes=len(flat_pdf) - 1)
    assert codes("del2.pdf", flat_pdf, limits=small) == ("rejected", {"FILE_TOO_LARGE"})
    exact = Limits(max_file_bytes=len(flat_pdf))
    assert codes("del2.pdf", flat_pdf, limits=exact) == ("accepted", set())


# ---- hostile bytes never crash the pipeline ------------------------------------------------------


def _mutations(base: bytes, rng: random.Random, n: int):
    for i in range(n):
        data = bytearray(base)
        how = i % 4
        if how in (0, 2):  # flip bytes
            for _ in range(rng.randint(1, 40)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        if how in (1, 2):  # truncate
            data = data[: rng.randrange(1, len(data))]
        if how == 3:  # splice a chunk of the file somewhere else
            a = rng.randrange(len(data))
            b = min(len(data), a + rng.randint(1, 2000))
            at = rng.randrange(len(data))
            data[at:at] = data[a:b]
        yield bytes(data)


def test_mutated_pdfs_never_raise_and_always_say_why(flat_pdf, hier_pdf):
    rng = random.Random(20261123)
    seen = set()
    for base in (flat_pdf, hier_pdf):
        for data in _mutations(base, rng, 100):
            result = ingest("del2.pdf", data, today=TODAY)
            seen.add(result.status)
            assert result.status in ("accepted", "incomplete", "rejected")
            if result.status != "accepted":
                assert result.errors, "a file that is not accepted carries a finding"
            assert all(f.code in CODES and f.message for f in result.errors)
            json.dumps(result.to_dict())
    assert "rejected" in seen


# ---- decompression bombs (FORMS.md section 8: FILE_CORRUPT beyond decompression limits) --------


@pytest.mark.parametrize("kind", ["objstm", "metadata", "value"])
def test_hostile_pdf_builders_make_readable_forms_when_small(kind):
    """The bomb builders write valid PDFs: with a 1 KiB stream, the field is read."""
    out = extract_pdf(hostile_pdf.small_forms()[kind], Limits())
    assert out.fields in ({"soknad.helseforetak": "OUS"}, {"pasient.diagnose": "C34"})


@pytest.mark.parametrize(
    "build",
    [hostile_pdf.object_stream_bomb, hostile_pdf.metadata_bomb, hostile_pdf.value_stream_bomb],
)
def test_pdf_decompression_bomb_is_refused(build):
    data = build(2 * DECODE_LIMIT)
    assert len(data) < DECODE_LIMIT // 100  # a small file...
    status, found = codes("del2.pdf", data)  # ...that would inflate to twice the limit
    assert (status, found) == ("rejected", {"FILE_CORRUPT"})


def _peak_in_fresh_process(data: bytes, tmp_path: Path) -> tuple[str, int]:
    """(refusal code or "accepted", peak RSS in bytes) of `extract_pdf` in a fresh process."""
    path = tmp_path / "fil.pdf"
    path.write_bytes(data)
    script = (
        "import sys\n"
        "from processor.extract_pdf import extract_pdf\n"
        "from processor.findings import Limits, Refusal\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "try:\n"
        "    extract_pdf(data, Limits())\n"
        "    print('accepted')\n"
        "except Refusal as r:\n"
        "    print(r.finding.code)\n"
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork + exec (the parent's peak).
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    code, peak_kib = proc.stdout.split()
    return code, int(peak_kib) * 1024


def test_pdf_bomb_never_inflates_in_memory(tmp_path):
    """A 256 MiB object-stream bomb is refused in a fresh process whose peak RSS stays far below
    what inflating it would take."""
    bomb = 256 * 2**20
    code, peak = _peak_in_fresh_process(hostile_pdf.object_stream_bomb(bomb), tmp_path)
    assert code == "FILE_CORRUPT"
    assert peak < bomb / 2


# ---- LZW: qpdf sets no limit on it, so it is refused from the raw bytes ----------------------------


_LZW_BUILDERS = [
    hostile_pdf.object_stream_bomb,
    hostile_pdf.metadata_bomb,
    hostile_pdf.value_stream_bomb,
]


@pytest.mark.parametrize("build", _LZW_BUILDERS)
def test_an_lzw_bomb_is_refused_before_it_is_decoded(build, tmp_path):
    """300 KB of LZW decoded to 400 MB (830 MiB at peak) before; now refused in a process that
    stays at what reading the file takes."""
    bomb = 400_000_000
    data = build(bomb, lzw=True)
    assert len(data) < bomb // 1000
    code, peak = _peak_in_fresh_process(data, tmp_path)
    assert code == "FILE_CORRUPT"
    assert peak < 150 * 2**20
    result = ingest("del2.pdf", data, today=TODAY)
    assert "LZW" in result.errors[0].message


def _with_filter(data: bytes, written: bytes) -> bytes:
    """The bomb's `/Filter /LZWDecode` written another way (offsets may move: qpdf repairs)."""
    assert data.count(b"/Filter /LZWDecode") == 1
    return data.replace(b"/Filter /LZWDecode", written)


_WRITTEN = [
    b"/Filter /L#5AWDecode",  # an escaped letter of the name
    b"/Filter /#4C#5A#57#44#65#63#6F#64#65",  # every letter escaped
    b"/Filter /LZW",  # the abbreviation
    b"/Filter [/LZWDecode]",  # in an array
    b"/Filter [ /ASCIIHexDecode /L#5AW ]",
    b"/F#69lter /LZWDecode",  # the key escaped
    b"/#46#69#6C#74#65#72/LZWDecode",
]


@pytest.mark.parametrize("written", [*_WRITTEN, b"/Filter 9 0 R", b"/Filter [9 0 R]"])
def test_lzw_written_any_way_is_refused_before_opening_a_file_that_could_decode_it(written):
    """A file with a cross-reference stream: qpdf could decode an object stream while opening
    it, so the raw bytes are searched first. A filter by reference is refused unread."""
    data = _with_filter(hostile_pdf.object_stream_bomb(10_000, lzw=True), written)
    with pytest.raises(Refusal) as refused:
        _refuse_unbounded_filters(data)
    assert refused.value.finding.code == "FILE_CORRUPT"
    assert "LZW" in (refused.value.finding.message or "")


@pytest.mark.parametrize("written", _WRITTEN)
def test_lzw_written_any_way_is_refused_in_a_classic_file_before_it_is_read(written):
    """A classic file: qpdf decodes nothing while opening it, and every stream read after is
    checked with its names resolved by pikepdf."""
    data = hostile_pdf.value_stream_bomb(10_000, lzw=True, filter_=written)
    assert _classic(data)
    _refuse_unbounded_filters(data)  # not searched
    with pytest.raises(Refusal) as refused:
        extract_pdf(data, Limits())
    assert refused.value.finding.code == "FILE_CORRUPT"
    assert "LZW" in (refused.value.finding.message or "")


def test_our_template_and_a_classic_file_are_not_searched(monkeypatch):
    import processor.extract_pdf as module

    def searched(data):  # type: ignore[no-untyped-def]
        raise AssertionError("a classic file was searched")

    monkeypatch.setattr(module, "_filter_values", searched)
    from forms.templates import build

    template = ingest("del2.pdf", build("tilgang-del2", "pdf", DEL2_VALUES), today=TODAY)
    assert template.status == "accepted"
    for entries in (b"/Prev 10", b"/XRefStm 10", b"/Pr#65v 10"):  # another section: searched
        data = hostile_pdf.value_stream_bomb(1000).replace(
            b"/Root 1 0 R", b"/Root 1 0 R " + entries
        )
        assert not _classic(data)


def test_other_filters_and_the_word_filter_in_text_are_read():
    data = hostile_pdf.object_stream_bomb(1000)  # Flate, well within the limit
    named = data.replace(b"/Filter /FlateDecode", b"/Filter [/FlateDecode] /Note (LZW /Filter)")
    for pdf in (data, named):
        _refuse_unbounded_filters(pdf)
        assert extract_pdf(pdf, Limits()).fields == {"soknad.helseforetak": "OUS"}


def test_a_stream_read_after_opening_is_checked_for_its_filters_too():
    """`_bounded` guards every stream read here, where pikepdf has resolved every name."""
    from pikepdf import Name, Pdf, Stream

    pdf = Pdf.new()
    stream = Stream(pdf, b"x")
    stream.Filter = pdf.make_indirect(Name("/LZWDecode"))  # by reference
    with pytest.raises(Refusal):
        _bounded(stream)
    stream.Filter = Name("/FlateDecode")
    assert _bounded(stream) is stream


# ---- object streams: parsed whole by qpdf, so their decoded size is bounded before the walk ----


def test_object_streams_of_a_form_are_read():
    out = extract_pdf(hostile_pdf.object_streams_parse_bomb(100), Limits())
    assert out.fields == {"soknad.helseforetak": "OUS"}


def test_forms_saved_with_object_streams_read_as_before(hier_pdf):
    import pikepdf

    from forms.templates import build
    from tests.fillers import sample_values

    template = build("tilgang-del2", "pdf", sample_values("tilgang-del2"))
    for original in (template, hier_pdf):
        buf = io.BytesIO()
        with pikepdf.open(io.BytesIO(original)) as pdf:
            pdf.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        packed = buf.getvalue()
        assert b"/ObjStm" in packed
        assert extract_pdf(packed, Limits()).fields == extract_pdf(original, Limits()).fields


def test_object_streams_beyond_the_limit_together_are_refused_unparsed(tmp_path):
    """Two object streams of 0.6 MB of zeros each: each under the decode limit, together over
    the object-stream limit. Parsed, each would be about 40 million bytes of qpdf objects (a
    17 KiB file of this kind took 1.1 GiB at open before the limits)."""
    from processor.extract_pdf import OBJECT_STREAMS_LIMIT

    data = hostile_pdf.object_streams_parse_bomb(300_000)
    assert len(data) < 10_000
    assert DECODE_LIMIT > 600_000  # each stream is under the decode limit
    assert OBJECT_STREAMS_LIMIT < 2 * 600_000  # both together are over this one
    with pytest.raises(Refusal) as err:
        extract_pdf(data, Limits())
    assert err.value.finding.code == "FILE_CORRUPT"
    assert "objektstrømmer" in err.value.finding.message
    code, peak = _peak_in_fresh_process(data, tmp_path)
    assert code == "FILE_CORRUPT"
    assert peak < 100 * 2**20


def test_one_object_stream_beyond_the_decode_limit_is_refused_at_open(tmp_path):
    data = hostile_pdf.object_streams_parse_bomb(600_000, streams=1)  # 1.2 MB decoded
    assert DECODE_LIMIT < 1_200_000
    code, peak = _peak_in_fresh_process(data, tmp_path)
    assert code == "FILE_CORRUPT"
    assert peak < 100 * 2**20


@pytest.mark.parametrize(
    ("entries", "nesting"), [(100_001, 0), (1, 70)], ids=["many-entries", "deep"]
)
def test_metadata_qpdf_gave_up_reading_is_refused_not_skipped(entries, nesting):
    """qpdf reads a dictionary beyond its size limit, or nesting beyond its depth limit, as null:
    the number in it would never be searched. (1.5 million entries took 7.5 s and 1 GiB.)"""
    from tests.spec_support import synthetic

    fnr = synthetic().encode()
    read = extract_pdf(hostile_pdf.large_info(10, fnr), Limits())
    assert ("metadata", fnr.decode()) in read.texts
    assert codes("del2.pdf", hostile_pdf.large_info(10, fnr))[1] >= {"IDENTITY_FOUND"}
    with pytest.raises(Refusal) as err:
        extract_pdf(hostile_pdf.large_info(entries, fnr, nesting), Limits())
    assert err.value.finding.code == "FILE_CORRUPT"
    assert fnr.decode() not in err.value.finding.message


def test_metadata_that_cannot_be_decoded_is_refused_not_skipped():
    """Its bytes are in the file as they are: a number there must not pass unsearched."""
    from tests.spec_support import synthetic

    data = hostile_pdf.undecodable_metadata(b"<x:xmpmeta>" + synthetic().encode() + b"</x:xmpmeta>")
    with pytest.raises(Refusal) as err:
        extract_pdf(data, Limits())
    assert err.value.finding.code == "FILE_CORRUPT"
    assert "XMP" in err.value.finding.message


def test_a_fields_array_listing_one_field_again_and_again_is_too_large():
    assert extract_pdf(hostile_pdf.long_fields_array(10), Limits()).fields == {
        "soknad.helseforetak": "OUS"
    }
    limits = Limits(max_fields=100)
    with pytest.raises(Refusal) as err:
        extract_pdf(hostile_pdf.long_fields_array(1001), limits)
    assert err.value.finding.code == "FILE_TOO_LARGE"
    assert extract_pdf(hostile_pdf.long_fields_array(1000), limits).fields


def test_without_an_in_memory_file_the_pdf_is_read_from_a_stream(monkeypatch, flat_pdf):
    """Where the kernel has no memfd (or refuses one), extraction reads a BytesIO: same result."""
    import processor.extract_pdf as module

    expected = extract_pdf(flat_pdf, Limits()).fields

    def refuse(*_args, **_kwargs):
        raise OSError("no memfd here")

    monkeypatch.setattr(module.os, "memfd_create", refuse)
    assert extract_pdf(flat_pdf, Limits()).fields == expected
    monkeypatch.delattr(module.os, "memfd_create")
    assert extract_pdf(flat_pdf, Limits()).fields == expected
