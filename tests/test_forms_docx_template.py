"""The DOCX template is lean (FORMS.md 4.2): what every row and cell shares sits in the table
style, so that word/document.xml, which the service parses whole on every upload, carries only what
differs per field. The contracts stay: tags, label rows for the fallback (4.4), values read back."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from lxml import etree

from forms.catalog import get_form
from forms.templates import build
from forms.templates.docx import run
from processor.extract_docx import extract_docx
from processor.findings import Limits
from tests.fillers import sample_values

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}
FORMS = ["tilgang-del2", "minihta", "minihta-fagfelle", "minihta-beslutning"]


def _part(data: bytes, name: str) -> etree._Element:
    return etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read(name))


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


@pytest.mark.parametrize("form_id", FORMS)
def test_rows_and_cells_carry_only_what_differs(form_id: str) -> None:
    data = build(form_id, "docx", sample_values(form_id))
    doc = _part(data, "word/document.xml")
    for name in ("tcW", "tblCellMar", "tblLook"):
        assert doc.find(f".//w:{name}", NS) is None, name
    for tbl in doc.iter(f"{{{W}}}tbl"):
        assert tbl.find("w:tblPr/w:tblStyle", NS).get(f"{{{W}}}val") == "Skjemafelt"
        assert [_local(c) for c in tbl.find("w:tblPr", NS)] == ["tblStyle", "tblW", "tblLayout"]
    # A row says it must not split only when it is a text area's tall row.
    for tr in doc.iter(f"{{{W}}}tr"):
        if tr.find("w:trPr/w:cantSplit", NS) is not None:
            assert tr.find("w:trPr/w:trHeight", NS) is not None
    # Label cells are shaded in the cell itself and keep their paragraph style (kept with the
    # next row); value cells carry no properties at all.
    for tr in doc.iter(f"{{{W}}}tr"):
        cells = tr.findall("w:tc", NS)
        if len(cells) == 2:
            assert cells[0].find("w:tcPr/w:shd", NS).get(f"{{{W}}}fill") == "EEF2F6"
            style = cells[0].find("w:p/w:pPr/w:pStyle", NS)
            assert style is not None and style.get(f"{{{W}}}val") == "Feltetikett"
            assert cells[1].find("w:tcPr", NS) is None


def test_the_table_style_keeps_rows_whole_and_sets_the_cell_margins() -> None:
    styles = _part(build("tilgang-del2", "docx"), "word/styles.xml")
    style = styles.find("w:style[@w:styleId='Skjemafelt']", NS)
    assert style.find("w:basedOn", NS).get(f"{{{W}}}val") == "Skjematabell"
    # Schema order of a style's children: pPr, rPr, tblPr, trPr, tcPr.
    assert [_local(c) for c in style][-3:] == ["pPr", "tblPr", "trPr"]
    assert style.find("w:trPr/w:cantSplit", NS) is not None
    margins = style.find("w:tblPr/w:tblCellMar", NS)
    assert [(_local(m), m.get(f"{{{W}}}w")) for m in margins] == [
        ("top", "57"),
        ("left", "100"),
        ("bottom", "57"),
        ("right", "100"),
    ]
    # Skjematabell itself is unchanged: the decision letters use it with their own rows.
    base = styles.find("w:style[@w:styleId='Skjematabell']", NS)
    assert base.find("w:tblPr/w:tblCellMar", NS) is None and base.find("w:trPr", NS) is None


@pytest.mark.parametrize(
    ("text", "preserved"),
    [
        ("Diagnose", False),
        ("to ord", False),
        (" foran", True),
        ("bak ", True),
        ("to  mellomrom", True),
        ("tab\ti midten", True),
        ("hardt\u00a0mellomrom", True),
    ],
)
def test_white_space_is_marked_preserved_only_where_it_would_be_lost(
    text: str, preserved: bool
) -> None:
    xml = run(text)
    assert ('xml:space="preserve"' in xml) is preserved
    # wrapped in a paragraph of a namespaced document, the text reads back unchanged
    root = etree.fromstring(f'<w:p xmlns:w="{W}">{xml}</w:p>')
    assert root.find(".//w:t", NS).text == text


def test_values_with_spaces_at_the_ends_and_inside_read_back_unchanged() -> None:
    values = sample_values("tilgang-del2")
    values["pasient.sykehistorie"] = "  to  mellomrom\nog  en linje til  "
    values["behandling.dosering"] = " 5 mg  daglig "
    fields = extract_docx(build("tilgang-del2", "docx", values), Limits()).fields
    assert fields["pasient.sykehistorie"] == "  to  mellomrom\nog  en linje til  "
    assert fields["behandling.dosering"] == " 5 mg  daglig "


def _without_controls(data: bytes) -> bytes:
    """The template as a plain Word document: every content control replaced by its content."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "word/document.xml":
                text = body.decode("utf-8")
                text = re.sub(r"<w:sdt><w:sdtPr>.*?</w:sdtPr><w:sdtContent>", "", text)
                text = text.replace("</w:sdtContent></w:sdt>", "")
                assert "<w:sdt" not in text
                body = text.encode("utf-8")
            dst.writestr(info.filename, body)
    return out.getvalue()


def test_the_lean_template_without_controls_is_read_by_its_labels() -> None:
    values = sample_values("tilgang-del2")
    filled = build("tilgang-del2", "docx", values)
    by_controls = extract_docx(filled, Limits())
    by_labels = extract_docx(_without_controls(filled), Limits())
    assert not by_controls.label_fallback and by_labels.label_fallback
    form = get_form("tilgang-del2")
    compared = 0
    for field_id in form.field_ids():
        if form.field(field_id).type in ("text", "textarea") and field_id in values:
            assert by_labels.fields[field_id] == by_controls.fields[field_id], field_id
            compared += 1
    assert compared > 10
    assert by_labels.fields["soknad.samtykke_bekreftet"] is True
