"""DOCX forms: content controls and the label fallback (FORMS.md 4.2, 4.4), texts for section 6."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from forms.catalog import get_form
from processor.extract_docx import extract_docx, fold_label
from processor.findings import Limits, Refusal

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = f'xmlns:w="{W}" xmlns:w14="{W14}" xmlns:r="{R}"'
LIMITS = Limits()
DEL2 = get_form("tilgang-del2")

# ---- builders -----------------------------------------------------------------------------


def run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def para(*runs: str) -> str:
    return f"<w:p>{''.join(runs)}</w:p>"


def sdt(tag: str, content: str, pr: str = "<w:text/>") -> str:
    """An inline content control (inside a paragraph) holding runs."""
    return f'<w:sdt><w:sdtPr><w:tag w:val="{tag}"/>{pr}</w:sdtPr><w:sdtContent>{content}</w:sdtContent></w:sdt>'


def field(tag: str, text: str) -> str:
    return para(sdt(tag, run(text)))


def checkbox(tag: str, checked: bool) -> str:
    val = "1" if checked else "0"
    pr = f'<w14:checkbox><w14:checked w14:val="{val}"/></w14:checkbox>'
    return para(sdt(tag, run("☒" if checked else "☐"), pr))


def table(*rows: list[str]) -> str:
    body = "".join(
        "<w:tr>" + "".join(f"<w:tc>{cell}</w:tc>" for cell in row) + "</w:tr>" for row in rows
    )
    return f"<w:tbl>{body}</w:tbl>"


def label_row(label: str, value: str) -> list[str]:
    return [para(run(label)), para(run(value))]


def document(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {NS}><w:body>{body}</w:body></w:document>'


HEADER_TYPE = f"{R}/header"
FOOTER_TYPE = f"{R}/footer"


def docx(body: str, parts: dict[str, str] | None = None, rels: list[tuple[str, str]] = ()) -> bytes:
    """A minimal DOCX: word/document.xml from `body`, extra parts, document relationships."""
    rel_xml = "".join(
        f'<Relationship Id="rId{i}" Type="{t}" Target="{target}"/>'
        for i, (t, target) in enumerate(rels, start=10)
    )
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{R}/officeDocument" '
            'Target="word/document.xml"/></Relationships>'
        ),
        "word/document.xml": document(body),
        "word/_rels/document.xml.rels": (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships">{rel_xml}</Relationships>'
        ),
    }
    files.update(parts or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text.encode("utf-8"))
    return buf.getvalue()


HEADER_FIELDS = field("skjema.type", "tilgang-del2") + field("skjema.versjon", "1")


def read(body: str, **kwargs) -> dict:
    return extract_docx(docx(body, **kwargs), LIMITS).fields


def document_texts(data: bytes) -> list[str]:
    return [t for kind, t in extract_docx(data, LIMITS).texts if kind == "document"]


# ---- the samples ----------------------------------------------------------------------------

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip("../shared/samples is not beside the repository")
    return path.read_bytes()


def test_sample_del2_valid_values_are_read_from_content_controls():
    ex = extract_docx(sample("del2-valid-0-cc.docx"), LIMITS)
    assert ex.kind == "docx"
    assert not ex.label_fallback
    assert ex.fields["skjema.type"] == "tilgang-del2"
    assert ex.fields["skjema.versjon"] == "1"
    assert ex.fields["soknad.referansenummer"] == "2026-04-24-HNT-HEM"
    assert ex.fields["soknad.samtykke_bekreftet"] is True
    assert ex.fields["pasient.fodselsar"] == "1954"
    assert ex.fields["kostnader.legemiddel_per_maned"] == "90725"
    assert ex.fields["kriterier.hoyere_alvorlighet.oppfylt"] is False
    # a rich-text control with a line break keeps it
    assert "\n" in ex.fields["pasient.sykehistorie"]


def test_sample_del2_consent_not_ticked_is_false():
    ex = extract_docx(sample("del2-consent.docx"), LIMITS)
    assert ex.fields["soknad.samtykke_bekreftet"] is False


@pytest.mark.parametrize(
    ("name", "form_id", "field_id", "value"),
    [
        ("del2-valid-1-cc.docx", "tilgang-del2", "soknad.referansenummer", "2026-07-20-SSHF-NEVRO"),
        ("minihta-valid.docx", "minihta", "metode.pasienter_per_ar", "40"),
        ("beslutning-valid.docx", "minihta-beslutning", "oppfolging.evaluering_planlagt", True),
    ],
)
def test_other_samples_read(name, form_id, field_id, value):
    ex = extract_docx(sample(name), LIMITS)
    assert ex.fields["skjema.type"] == form_id
    assert ex.fields[field_id] == value


def test_sample_texts_hold_paragraphs_and_properties():
    ex = extract_docx(sample("del2-valid-0-cc.docx"), LIMITS)
    assert ("document", "2026-04-24-HNT-HEM") in ex.texts
    assert ("metadata", "python-docx") in ex.texts  # dc:creator of core.xml


# ---- content controls -----------------------------------------------------------------------


def test_control_in_a_header_is_read():
    header = f"<w:hdr {NS}>{field('soknad.referansenummer', '2026-01-05-OUS-KREFT')}</w:hdr>"
    fields = read(
        HEADER_FIELDS,
        parts={"word/header1.xml": header},
        rels=[(HEADER_TYPE, "header1.xml")],
    )
    assert fields["soknad.referansenummer"] == "2026-01-05-OUS-KREFT"
    assert fields["skjema.type"] == "tilgang-del2"


def test_control_in_a_footer_found_by_relationship_with_an_unusual_name():
    footer = f"<w:ftr {NS}>{field('soknad.soker_navn', 'Lege Lie')}</w:ftr>"
    fields = read(
        HEADER_FIELDS,
        parts={"word/bunntekst.xml": footer},
        rels=[(FOOTER_TYPE, "bunntekst.xml")],
    )
    assert fields["soknad.soker_navn"] == "Lege Lie"


def test_control_in_nested_tables_is_read():
    inner = table([field("pasient.diagnose", "Astma")])
    outer = table([para(run("Pasient")), inner])
    assert read(HEADER_FIELDS + outer)["pasient.diagnose"] == "Astma"


def test_rich_text_control_joins_paragraphs_with_newline():
    content = para(run("Første linje")) + para(run("Andre"), run(" linje")) + para(run("Tredje"))
    body = HEADER_FIELDS + sdt("pasient.sykehistorie", content, "<w:richText/>")
    assert read(body)["pasient.sykehistorie"] == "Første linje\nAndre linje\nTredje"


def test_tab_and_break_inside_a_control():
    content = "<w:r><w:t>A</w:t><w:tab/><w:t>B</w:t><w:br/><w:t>C</w:t></w:r>"
    assert read(HEADER_FIELDS + para(sdt("totalvurdering", content)))["totalvurdering"] == "A\tB\nC"


def test_placeholder_text_counts_as_empty():
    pr = "<w:showingPlcHdr/><w:text/>"
    body = HEADER_FIELDS + para(sdt("pasient.diagnose", run("Klikk her for å skrive"), pr))
    assert read(body)["pasient.diagnose"] is None


def test_w14_checkbox_checked_and_unchecked():
    body = HEADER_FIELDS + checkbox("kriterier.okt_nytte.oppfylt", True)
    body += checkbox("kriterier.hoyere_alvorlighet.oppfylt", False)
    fields = read(body)
    assert fields["kriterier.okt_nytte.oppfylt"] is True
    assert fields["kriterier.hoyere_alvorlighet.oppfylt"] is False


def test_w14_checked_value_true_counts():
    pr = '<w14:checkbox><w14:checked w14:val="true"/></w14:checkbox>'
    body = HEADER_FIELDS + para(sdt("soknad.samtykke_bekreftet", run("☒"), pr))
    assert read(body)["soknad.samtykke_bekreftet"] is True


@pytest.mark.parametrize(
    ("text", "value"),
    [("☒", True), ("X", True), ("x", True), ("Ja", True), ("☐", False), ("", False)],
)
def test_checkbox_field_without_w14_reads_glyph_or_word(text, value):
    body = HEADER_FIELDS + field("forankring.linjeleder_godkjent", text)
    assert read(body)["forankring.linjeleder_godkjent"] is value


def test_text_field_holding_x_stays_text():
    assert read(HEADER_FIELDS + field("pasient.diagnose", "X"))["pasient.diagnose"] == "X"


def test_nested_controls_keep_their_own_content():
    inner = sdt("kriterier.okt_nytte.begrunnelse", run("Indre"))
    outer = sdt("totalvurdering", run("Ytre ") + inner + run("slutt"))
    fields = read(HEADER_FIELDS + para(outer))
    assert fields["kriterier.okt_nytte.begrunnelse"] == "Indre"
    assert fields["totalvurdering"] == "Ytre slutt"


def test_untagged_control_inside_a_tagged_one_belongs_to_it():
    inner = (
        "<w:sdt><w:sdtPr><w:text/></w:sdtPr><w:sdtContent>" + run("del") + "</w:sdtContent></w:sdt>"
    )
    body = HEADER_FIELDS + para(sdt("totalvurdering", run("hel ") + inner))
    assert read(body)["totalvurdering"] == "hel del"


def test_dropdown_gives_the_displayed_text():
    pr = (
        '<w:dropDownList><w:listItem w:displayText="Livsforlengende" w:value="livsforlengende"/>'
        "</w:dropDownList>"
    )
    body = HEADER_FIELDS + para(sdt("behandling.behandlingsmal", run("Livsforlengende"), pr))
    assert read(body)["behandling.behandlingsmal"] == "Livsforlengende"


def test_first_filled_control_wins_for_a_repeated_tag():
    body = HEADER_FIELDS + field("pasient.diagnose", "") + field("pasient.diagnose", "Astma")
    assert read(body)["pasient.diagnose"] == "Astma"


def test_tag_that_is_not_a_field_id_is_kept():
    fields = read(HEADER_FIELDS + field("egen.merknad", "hei"))
    assert fields["egen.merknad"] == "hei"


def test_tagged_controls_of_another_form_are_returned_for_form_unknown():
    ex = extract_docx(docx(field("Tittel", "Min rapport")), LIMITS)
    assert ex.fields == {"Tittel": "Min rapport"}
    assert not ex.label_fallback


# ---- texts for the identity guard -----------------------------------------------------------


def test_number_split_over_runs_is_one_text():
    body = HEADER_FIELDS + para(run("Nr 12345"), run("678"), run("901"))
    assert "Nr 12345678901" in document_texts(docx(body))


def test_texts_of_headers_footnotes_comments_and_deleted_text():
    W_NS = NS
    parts = {
        "word/header1.xml": f"<w:hdr {W_NS}>{para(run('Topptekst 111'))}</w:hdr>",
        "word/footnotes.xml": f"<w:footnotes {W_NS}><w:footnote>{para(run('Fotnote 222'))}</w:footnote></w:footnotes>",
        "word/comments.xml": f"<w:comments {W_NS}><w:comment>{para(run('Kommentar 333'))}</w:comment></w:comments>",
    }
    body = HEADER_FIELDS + para("<w:del><w:r><w:delText>Slettet 444</w:delText></w:r></w:del>")
    texts = document_texts(docx(body, parts=parts))
    for expected in ("Topptekst 111", "Fotnote 222", "Kommentar 333", "Slettet 444"):
        assert expected in texts


def test_text_outside_controls_is_in_texts():
    body = HEADER_FIELDS + para(run("Fritekst utenfor felt"))
    assert "Fritekst utenfor felt" in document_texts(docx(body))


def test_custom_property_values_and_names_are_metadata():
    custom = (
        '<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/'
        '2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
        'docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" '
        'name="Saksbehandler"><vt:lpwstr>Verdi 555</vt:lpwstr></property></Properties>'
    )
    core = (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Tittel &amp; '
        "mer</dc:title></cp:coreProperties>"
    )
    ex = extract_docx(
        docx(HEADER_FIELDS, parts={"docProps/custom.xml": custom, "docProps/core.xml": core}),
        LIMITS,
    )
    meta = [t for kind, t in ex.texts if kind == "metadata"]
    assert "Verdi 555" in meta
    assert "Saksbehandler" in meta
    assert "Tittel & mer" in meta


# ---- label fallback (FORMS.md 4.4) ----------------------------------------------------------


def fallback_document() -> str:
    rows = [
        label_row("Skjema", DEL2.name),
        label_row(DEL2.label("soknad.helseforetak") + ":", "OUS"),
        label_row("Referansenummer (fra del 1) *", "2026-03-14-OUS-KREFT"),
        label_row("fødselsår", "1961"),  # without its parenthesis, lower case
        label_row("pasient.diagnosekode", "C34.1"),  # the field id as the label
        [para(run(DEL2.label("soknad.samtykke_bekreftet"))), para(run("☒"))],
        [para(run(DEL2.label("kriterier.okt_nytte.oppfylt"))), para(run("☒ Ja ☐ Nei"))],
        [para(run("☐ " + DEL2.label("kriterier.hoyere_alvorlighet.oppfylt")))],
        label_row(DEL2.label("litteratur.1.tittel"), "En studie"),
        label_row(DEL2.label("litteratur.1.lenke"), "https://example.org/1"),
        label_row(DEL2.label("litteratur.2.tittel"), "En til"),
        [para(run(DEL2.label("forankring.linjeleder_godkjent"))), para(run("X"))],
        [para(run(DEL2.label("forankring.fagdirektor_godkjent"))), para(run("☐"))],
        label_row("Ukjent ledetekst", "ignoreres"),
    ]
    body = para(run("Søknad om individuell tilgang")) + table(*rows)
    body += para(run("☒ " + DEL2.label("kriterier.sarskilte_medisinske_arsaker.oppfylt")))
    return body


def test_label_fallback_reads_a_plain_document():
    ex = extract_docx(docx(fallback_document()), LIMITS)
    f = ex.fields
    assert ex.label_fallback is True
    assert f["skjema.type"] == "tilgang-del2"
    assert f["skjema.versjon"] == "1"
    assert f["soknad.helseforetak"] == "OUS"
    assert f["soknad.referansenummer"] == "2026-03-14-OUS-KREFT"
    assert f["pasient.fodselsar"] == "1961"
    assert f["pasient.diagnosekode"] == "C34.1"
    assert f["soknad.samtykke_bekreftet"] is True
    assert f["kriterier.okt_nytte.oppfylt"] is True
    assert f["kriterier.hoyere_alvorlighet.oppfylt"] is False
    assert f["kriterier.sarskilte_medisinske_arsaker.oppfylt"] is True  # paragraph outside a table
    assert f["litteratur.1.tittel"] == "En studie"
    assert f["litteratur.1.lenke"] == "https://example.org/1"
    assert f["litteratur.2.tittel"] == "En til"
    assert f["forankring.linjeleder_godkjent"] is True
    assert f["forankring.fagdirektor_godkjent"] is False
    assert "Ukjent ledetekst" not in f


def test_label_fallback_recognises_every_uploaded_form_by_name():
    for form_id in ("tilgang-del2", "minihta", "minihta-fagfelle", "minihta-beslutning"):
        form = get_form(form_id)
        ex = extract_docx(docx(table(label_row("Skjema:", form.name.upper()))), LIMITS)
        assert ex.fields["skjema.type"] == form_id
        assert ex.label_fallback


def test_label_fallback_recognises_del1_so_that_it_is_refused_later():
    ex = extract_docx(docx(table(label_row("Skjema", get_form("tilgang-del1").name))), LIMITS)
    assert ex.fields["skjema.type"] == "tilgang-del1"


def test_label_fallback_in_nested_table_rows():
    inner = table(label_row(DEL2.label("pasient.diagnose"), "Astma"))
    body = table(label_row("Skjema", DEL2.name), [para(run("Pasient")), inner])
    assert read(body)["pasient.diagnose"] == "Astma"


def test_label_fallback_is_used_when_only_foreign_tags_exist():
    body = field("Logo", "Sykehuset") + table(label_row("Skjema", DEL2.name))
    ex = extract_docx(docx(body), LIMITS)
    assert ex.label_fallback
    assert ex.fields["skjema.type"] == "tilgang-del2"


def test_document_without_controls_or_skjema_row_is_refused():
    with pytest.raises(Refusal) as err:
        extract_docx(docx(para(run("Bare tekst her."))), LIMITS)
    assert err.value.finding.code == "FILE_NO_FORM_FIELDS"


def test_labels_without_a_skjema_row_are_refused():
    body = table(label_row(DEL2.label("pasient.diagnose"), "Astma"))
    with pytest.raises(Refusal) as err:
        extract_docx(docx(body), LIMITS)
    assert err.value.finding.code == "FILE_NO_FORM_FIELDS"


def test_unknown_form_name_in_skjema_row_is_refused():
    body = table(label_row("Skjema", "Reiseregning"), label_row("Beløp", "100"))
    with pytest.raises(Refusal) as err:
        extract_docx(docx(body), LIMITS)
    assert err.value.finding.code == "FILE_NO_FORM_FIELDS"


def test_fold_label_ignores_case_punctuation_and_space():
    assert fold_label(" Referansenummer (fra del 1):* ") == fold_label("referansenummer fra del 1")
    assert fold_label("Begrunnelse – økt nytte") == fold_label("Begrunnelse - Økt  nytte")
    assert fold_label("☒ Økt nytte") == fold_label("Økt nytte")


def test_macro_part_is_refused():
    data = docx(HEADER_FIELDS, parts={"word/vbaProject.bin": "binary"})
    with pytest.raises(Refusal) as err:
        extract_docx(data, LIMITS)
    assert err.value.finding.code == "FILE_MACROS"
