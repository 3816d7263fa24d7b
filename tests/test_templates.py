"""Template builders (forms.templates) and the test fillers: FORMS.md 4.1-4.5, MINIHTA.md.

Every template carries exactly the catalogue's field ids, fills and reads back, and builds
byte-identically; the FHIR Questionnaire covers every field.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, date
from functools import cache

import pytest
from lxml import etree
from openpyxl import load_workbook
from pypdf import PdfReader

from forms.catalog import FORM_IDS, catalogue, get_form
from forms.fields import Field, FormDef, RequiredIf
from forms.helseforetak import registry
from forms.templates import build, canonical_json, questionnaire, schema_path, write_templates
from forms.templates.pdf import build_pdf
from forms.templates.xlsx import evaluate_formula, excel_formula
from tests.fillers import (
    control_digits,
    fill_docx,
    fill_json,
    fill_pdf,
    fill_xlsx,
    sample_values,
    synthetic_fodselsnummer,
)

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
NS = {"w": W, "w14": W14}
TODAY = date(2026, 11, 23)

CASES = [(f.id, fmt) for f in catalogue().values() for fmt in f.formats]
FILE_CASES = [(fid, fmt) for fid, fmt in CASES if fmt in ("pdf", "docx", "xlsx")]


@cache
def blank(form_id: str, fmt: str) -> bytes:
    return build(form_id, fmt)


def visible_text_values(form: FormDef) -> dict[str, object]:
    """Sample values with the hidden header left to the template."""
    return {k: v for k, v in sample_values(form.id).items() if not k.startswith("skjema.")}


# ---- readers (independent of the builders) -------------------------------------------------------


def pdf_values(data: bytes) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, f in (PdfReader(io.BytesIO(data)).get_fields() or {}).items():
        v = f.get("/V")
        if f.get("/FT") == "/Btn":
            out[name] = v is not None and str(v) != "/Off"
        else:
            out[name] = None if v in (None, "") else str(v)
    return out


def docx_root(data: bytes) -> etree._Element:
    return etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml"))


def docx_values(data: bytes) -> dict[str, object]:
    out: dict[str, object] = {}
    for sdt in docx_root(data).iter(f"{{{W}}}sdt"):
        tag = sdt.find("w:sdtPr/w:tag", NS).get(f"{{{W}}}val")
        box = sdt.find("w:sdtPr/w14:checkbox", NS)
        content = sdt.find("w:sdtContent", NS)
        if box is not None:
            out[tag] = box.find("w14:checked", NS).get(f"{{{W14}}}val") == "1"
        elif sdt.find("w:sdtPr/w:showingPlcHdr", NS) is not None:
            out[tag] = None
        elif content.find("w:p", NS) is not None:
            out[tag] = "\n".join(
                "".join(t.text or "" for t in p.iter(f"{{{W}}}t"))
                for p in content.findall("w:p", NS)
            )
        else:
            out[tag] = "".join(t.text or "" for t in content.iter(f"{{{W}}}t"))
    return out


def xlsx_names(data: bytes) -> dict[str, tuple[str, str]]:
    wb = load_workbook(io.BytesIO(data))
    out = {}
    for name, dn in wb.defined_names.items():
        dests = list(dn.destinations)
        assert len(dests) == 1, name
        sheet, ref = dests[0]
        assert re.fullmatch(r"\$[A-Z]+\$[0-9]+", ref), (name, ref)
        out[name] = (sheet, ref.replace("$", ""))
    return out


def expected_text(form: FormDef, field_id: str, value: object) -> object:
    field = form.field(field_id)
    if field.type == "checkbox":
        return bool(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---- every template builds -----------------------------------------------------------------------


@pytest.mark.parametrize(("form_id", "fmt"), CASES)
def test_every_template_builds(form_id: str, fmt: str) -> None:
    data = blank(form_id, fmt)
    magic = {"pdf": b"%PDF-", "docx": b"PK\x03\x04", "xlsx": b"PK\x03\x04", "json": b"{"}
    assert data.startswith(magic[fmt])
    if fmt == "json":
        doc = json.loads(data)
        assert doc == {"skjema": {"type": form_id, "versjon": get_form(form_id).version}}


@pytest.mark.parametrize(("form_id", "fmt"), [*FILE_CASES, *((f, "fhir") for f in FORM_IDS)])
def test_two_builds_are_byte_identical(form_id: str, fmt: str) -> None:
    assert build(form_id, fmt) == build(form_id, fmt)
    if fmt != "fhir":
        values = visible_text_values(get_form(form_id))
        assert build(form_id, fmt, values) == build(form_id, fmt, values)


def test_formats_follow_the_catalogue() -> None:
    assert get_form("tilgang-del1").formats == ("pdf", "docx")
    with pytest.raises(ValueError):
        build("tilgang-del1", "json")
    with pytest.raises(ValueError):
        build("minihta-okonomi", "pdf")


# ---- PDF -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", [fid for fid, fmt in CASES if fmt == "pdf"])
def test_pdf_field_names_are_exactly_the_field_ids(form_id: str) -> None:
    fields = PdfReader(io.BytesIO(blank(form_id, "pdf"))).get_fields()
    assert list(fields) == get_form(form_id).field_ids()


@pytest.mark.parametrize("form_id", [fid for fid, fmt in CASES if fmt == "pdf"])
def test_pdf_widgets_match_field_types(form_id: str) -> None:
    form = get_form(form_id)
    fields = PdfReader(io.BytesIO(blank(form_id, "pdf"))).get_fields()
    for field_id, f in fields.items():
        field = form.field(field_id)
        assert f["/TU"] == form.label(field_id)
        if field.type == "checkbox":
            assert f["/FT"] == "/Btn"
            assert str(f["/V"]) == "/Off"
            assert set(f["/_States_"]) == {"/Yes", "/Off"}
        elif field.type in ("choice", "hf"):
            assert f["/FT"] == "/Ch"
            assert f["/Ff"] & (1 << 17)  # combo box
            opts = [(str(o[0]), str(o[1])) for o in f["/Opt"]]
            assert opts[0] == ("", "")  # a blank first option: nothing is chosen in a blank form
            assert opts[1:] == [(c.code, c.label) for c in field.choices]  # [export, display]
        else:
            assert f["/FT"] == "/Tx"
            multiline = bool(f.get("/Ff", 0) & (1 << 12))
            assert multiline == (field.type == "textarea")
            assert "/MaxLen" not in f


def test_pdf_hf_combo_lists_every_trust_of_the_registry() -> None:
    f = PdfReader(io.BytesIO(blank("tilgang-del2", "pdf"))).get_fields()["soknad.helseforetak"]
    assert [str(o[0]) for o in f["/Opt"]][1:] == list(registry().trusts)


@pytest.mark.parametrize("form_id", [fid for fid, fmt in CASES if fmt == "pdf"])
def test_pdf_header_fields_are_prefilled_and_read_only(form_id: str) -> None:
    fields = PdfReader(io.BytesIO(blank(form_id, "pdf"))).get_fields()
    form = get_form(form_id)
    assert fields["skjema.type"]["/V"] == form.id
    assert fields["skjema.versjon"]["/V"] == form.version
    assert fields["skjema.type"]["/Ff"] & 1 and fields["skjema.versjon"]["/Ff"] & 1


def test_pdf_blank_template_has_no_values_beyond_the_header() -> None:
    values = pdf_values(blank("tilgang-del2", "pdf"))
    filled = {k for k, v in values.items() if v not in (None, False)}
    assert filled == {"skjema.type", "skjema.versjon"}


def test_pdf_prefill_and_non_ascii_round_trip() -> None:
    text = "Åse Kværnø – «søker» æøå ÆØÅ"
    data = build_pdf(
        get_form("tilgang-del2"),
        {
            "soknad.soker_navn": text,
            "soknad.samtykke_bekreftet": True,
            "pasient.juridisk_kjonn": "Kvinne",  # a label is turned into its code
            "litteratur.5.lenke": "doi:10.1000/ø",
        },
    )
    values = pdf_values(data)
    assert values["soknad.soker_navn"] == text
    assert values["soknad.samtykke_bekreftet"] is True
    assert values["pasient.juridisk_kjonn"] == "kvinne"
    assert values["litteratur.5.lenke"] == "doi:10.1000/ø"
    packet = pdf_values(build("minihta-fagfelle", "pdf", {"sak.id": "MMV-2026-004"}))
    assert packet["sak.id"] == "MMV-2026-004"


def test_pdf_prefill_rejects_unknown_field_ids() -> None:
    with pytest.raises(KeyError):
        build_pdf(get_form("minihta"), {"soknad.helseforetak": "OUS"})


def test_pdf_metadata_and_page_text() -> None:
    reader = PdfReader(io.BytesIO(blank("tilgang-del2", "pdf")))
    assert reader.metadata.title == get_form("tilgang-del2").name
    first = reader.pages[0].extract_text()
    assert "Søknad om individuell tilgang – Del 2: Søknad" in first
    assert "Helseforetak søknaden sendes fra" in first
    n = len(reader.pages)
    assert n > 1
    assert f"Side {n} av {n}" in reader.pages[-1].extract_text()


@pytest.mark.parametrize("form_id", [fid for fid, fmt in CASES if fmt == "pdf"])
def test_pdf_fill_round_trip(form_id: str) -> None:
    form = get_form(form_id)
    values = sample_values(form_id)
    read = pdf_values(fill_pdf(blank(form_id, "pdf"), values))
    for field_id in form.field_ids():
        if field_id in values:
            assert read[field_id] == expected_text(form, field_id, values[field_id]), field_id
        else:
            assert read[field_id] in (None, False), field_id


def test_pdf_fill_on_every_page_and_unticking() -> None:
    form = get_form("tilgang-del2")
    reader = PdfReader(io.BytesIO(blank("tilgang-del2", "pdf")))
    assert len(reader.pages) >= 3
    last = form.field_ids()[-1]
    filled = fill_pdf(blank("tilgang-del2", "pdf"), {last: "01.10.2026", "totalvurdering": "Ø"})
    again = fill_pdf(filled, {"soknad.samtykke_bekreftet": True})
    off = pdf_values(fill_pdf(again, {"soknad.samtykke_bekreftet": False}))
    assert pdf_values(again)["soknad.samtykke_bekreftet"] is True
    assert off["soknad.samtykke_bekreftet"] is False
    assert off[last] == "01.10.2026" and off["totalvurdering"] == "Ø"


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_pdf_renders_to_png(tmp_path) -> None:
    pdf = tmp_path / "del2.pdf"
    pdf.write_bytes(blank("tilgang-del2", "pdf"))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
        check=True,
        capture_output=True,
        timeout=30,
    )
    png = next(tmp_path.glob("p*.png")).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


# ---- DOCX ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", [fid for fid, fmt in CASES if fmt == "docx"])
def test_docx_content_control_tags_are_exactly_the_field_ids(form_id: str) -> None:
    form = get_form(form_id)
    root = docx_root(blank(form_id, "docx"))
    sdts = list(root.iter(f"{{{W}}}sdt"))
    tags = [s.find("w:sdtPr/w:tag", NS).get(f"{{{W}}}val") for s in sdts]
    assert tags == form.field_ids()
    aliases = [s.find("w:sdtPr/w:alias", NS).get(f"{{{W}}}val") for s in sdts]
    assert aliases == [form.label(t) for t in tags]


@pytest.mark.parametrize("form_id", [fid for fid, fmt in CASES if fmt == "docx"])
def test_docx_controls_match_field_types(form_id: str) -> None:
    form = get_form(form_id)
    for sdt in docx_root(blank(form_id, "docx")).iter(f"{{{W}}}sdt"):
        pr = sdt.find("w:sdtPr", NS)
        field = form.field(pr.find("w:tag", NS).get(f"{{{W}}}val"))
        content_text = "".join(t.text for t in sdt.iter(f"{{{W}}}t"))
        if field.type == "checkbox":
            box = pr.find("w14:checkbox", NS)
            assert box.find("w14:checked", NS).get(f"{{{W14}}}val") == "0"
            assert box.find("w14:checkedState", NS).get(f"{{{W14}}}val") == "2612"
            assert box.find("w14:uncheckedState", NS).get(f"{{{W14}}}val") == "2610"
            assert content_text == "☐"
            continue
        if field.hidden:
            assert pr.find("w:showingPlcHdr", NS) is None
            continue
        assert pr.find("w:showingPlcHdr", NS) is not None
        assert content_text.startswith("Klikk for å")
        if field.type in ("choice", "hf"):
            items = pr.findall("w:dropDownList/w:listItem", NS)
            assert [(i.get(f"{{{W}}}value"), i.get(f"{{{W}}}displayText")) for i in items] == [
                (c.code, c.label) for c in field.choices
            ]
        elif field.type == "date":
            assert pr.find("w:date/w:dateFormat", NS).get(f"{{{W}}}val") == "dd.MM.yyyy"
        elif field.type == "textarea":
            assert pr.find("w:text", NS) is None  # rich text: several paragraphs allowed
            assert sdt.find("w:sdtContent/w:p", NS) is not None
        else:
            assert pr.find("w:text", NS) is not None


@pytest.mark.parametrize("form_id", [fid for fid, fmt in CASES if fmt == "docx"])
def test_docx_package_is_well_formed(form_id: str) -> None:
    zf = zipfile.ZipFile(io.BytesIO(blank(form_id, "docx")))
    names = zf.namelist()
    assert names[0] == "[Content_Types].xml"
    types = zf.read("[Content_Types].xml").decode()
    for name in names:
        data = zf.read(name)
        assert b"<!DOCTYPE" not in data
        etree.fromstring(data)
        if name.endswith(".xml") and not name.startswith("["):
            assert f'PartName="/{name}"' in types, name
        assert zf.getinfo(name).date_time == (2026, 1, 1, 0, 0, 0)
    doc = zf.read("word/document.xml").decode()
    assert 'mc:Ignorable="w14"' in doc and f'xmlns:w14="{W14}"' in doc
    assert not any(n.endswith(".bin") for n in names)
    core = etree.fromstring(zf.read("docProps/core.xml"))
    title = core.find("{http://purl.org/dc/elements/1.1/}title").text
    assert title == get_form(form_id).name


def _rows(root: etree._Element) -> list[list[str]]:
    out = []
    for tr in root.iter(f"{{{W}}}tr"):
        cells = tr.findall("w:tc", NS)
        out.append(["".join(t.text or "" for t in tc.iter(f"{{{W}}}t")) for tc in cells])
    return out


@pytest.mark.parametrize("form_id", [fid for fid, fmt in CASES if fmt == "docx"])
def test_docx_label_fallback_rows(form_id: str) -> None:
    """FORMS.md 4.4: a `Skjema` row with the form name; each field's row starts with its label."""
    form = get_form(form_id)
    rows = _rows(docx_root(blank(form_id, "docx")))
    assert ["Skjema", form.name] in rows
    first_cells = [r[0] for r in rows if len(r) == 2]
    for field_id in form.field_ids():
        assert form.label(field_id) in first_cells, field_id
    if form_id == "tilgang-del2":
        assert ["Økt nytte", "☐"] in rows
        assert ["Lenke 3", "Klikk for å skrive"] in rows


@pytest.mark.parametrize("form_id", [fid for fid, fmt in CASES if fmt == "docx"])
def test_docx_fill_round_trip(form_id: str) -> None:
    form = get_form(form_id)
    values = sample_values(form_id)
    filled = fill_docx(blank(form_id, "docx"), values, dropdown="code")
    read = docx_values(filled)
    for field_id in form.field_ids():
        if field_id not in values:
            assert read[field_id] in (None, False), field_id
            continue
        field = form.field(field_id)
        expected = expected_text(form, field_id, values[field_id])
        if field.type == "date":
            y, m, d = str(values[field_id]).split("-")
            expected = f"{d}.{m}.{y}"
        assert read[field_id] == expected, field_id


def test_docx_fill_shows_labels_glyphs_and_paragraphs() -> None:
    values = sample_values("tilgang-del2")
    root = docx_root(fill_docx(blank("tilgang-del2", "docx"), values))
    read = docx_values(fill_docx(blank("tilgang-del2", "docx"), values))
    assert read["pasient.juridisk_kjonn"] == "Kvinne"
    assert read["soknad.helseforetak"] == registry().trusts["OUS"].name
    assert read["pasient.sykehistorie"] == values["pasient.sykehistorie"]
    assert "\n" in read["pasient.sykehistorie"]  # two paragraphs in the rich-text control
    rows = _rows(root)
    assert ["Økt nytte", "☒"] in rows and ["Høyere alvorlighet", "☐"] in rows
    date_el = next(
        s.find("w:sdtPr/w:date", NS)
        for s in root.iter(f"{{{W}}}sdt")
        if s.find("w:sdtPr/w:tag", NS).get(f"{{{W}}}val") == "forankring.dato"
    )
    assert date_el.get(f"{{{W}}}fullDate") == "2026-10-01T00:00:00Z"


def test_docx_prefill_matches_fill() -> None:
    values = visible_text_values(get_form("minihta-beslutning"))
    prefilled = docx_values(build("minihta-beslutning", "docx", values))
    filled = docx_values(fill_docx(blank("minihta-beslutning", "docx"), values))
    assert prefilled == filled


# ---- XLSX ----------------------------------------------------------------------------------------


def test_xlsx_defined_names_are_exactly_the_field_ids() -> None:
    form = get_form("minihta-okonomi")
    names = xlsx_names(blank("minihta-okonomi", "xlsx"))
    assert sorted(names) == sorted(form.field_ids())
    assert {sheet for sheet, _ in names.values()} == {"Økonomi"}
    assert len({ref for _, ref in names.values()}) == len(names)  # one cell each


def test_xlsx_formulas_inputs_and_help() -> None:
    form = get_form("minihta-okonomi")
    data = blank("minihta-okonomi", "xlsx")
    names = xlsx_names(data)
    ws = load_workbook(io.BytesIO(data))["Økonomi"]
    assert ws.protection.sheet
    addresses = {fid: ref for fid, (_, ref) in names.items()}
    for field_id, (_, ref) in names.items():
        field = form.field(field_id)
        cell = ws[ref]
        row = cell.row
        assert ws[f"A{row}"].value.rstrip(" *") == form.label(field_id)
        if field.help and not field.hidden:
            assert ws[f"C{row}"].value == field.help
        if field.formula:
            assert cell.value == excel_formula(field.formula, addresses)
            assert cell.protection.locked
        elif field.hidden:
            assert cell.protection.locked
        else:
            assert not cell.protection.locked
            assert cell.fill.fgColor.rgb.endswith("FFF5CC")
        if field.type in ("integer", "number"):
            assert cell.number_format == "#,##0"
    year1 = ws[names["okonomi.budsjett.ar1"][1]].value
    inv = names["okonomi.investering"][1]
    assert year1.startswith("=") and inv in year1 and "okonomi" not in year1
    assert ws[names["skjema.type"][1]].value == "minihta-okonomi"
    assert ws[names["skjema.versjon"][1]].value == "1"


def test_excel_formula_replaces_longest_ids_first() -> None:
    formula = "a.b+a.bc-a.b.c"
    assert excel_formula(formula, {"a.b": "B1", "a.bc": "B2", "a.b.c": "B3"}) == "=B1+B2-B3"


def test_xlsx_fill_round_trip_with_cached_formulas() -> None:
    form = get_form("minihta-okonomi")
    values = sample_values("minihta-okonomi", **{"sak.tittel": "Kirurgi på Ålesund – «robot»"})
    data = fill_xlsx(blank("minihta-okonomi", "xlsx"), values)
    names = xlsx_names(data)
    cached = load_workbook(io.BytesIO(data), data_only=True)["Økonomi"]
    formulas = load_workbook(io.BytesIO(data))["Økonomi"]
    for field_id, (_, ref) in names.items():
        assert cached[ref].value == values[field_id], field_id
        if form.field(field_id).formula:
            assert str(formulas[ref].value).startswith("=")
    assert values["okonomi.budsjett.ar1"] == 850000 + 420000 - 310000 - 60000
    assert values["okonomi.budsjett.ar2"] == 420000 - 310000 - 60000


def test_xlsx_fill_can_leave_formulas_uncached_or_inconsistent() -> None:
    values = sample_values("minihta-okonomi")
    names = xlsx_names(blank("minihta-okonomi", "xlsx"))
    ref = names["okonomi.budsjett.ar3"][1]
    uncached = fill_xlsx(blank("minihta-okonomi", "xlsx"), values, cache_formulas=False)
    assert load_workbook(io.BytesIO(uncached), data_only=True)["Økonomi"][ref].value is None
    wrong = dict(values, **{"okonomi.budsjett.ar3": 123})
    data = fill_xlsx(blank("minihta-okonomi", "xlsx"), wrong)
    assert load_workbook(io.BytesIO(data), data_only=True)["Økonomi"][ref].value == 123


def test_evaluate_formula_treats_empty_as_zero() -> None:
    formula = get_form("minihta-okonomi").field("okonomi.budsjett.ar1").formula
    values = {"okonomi.investering": "1 000", "okonomi.driftskostnad_per_ar": 50}
    assert evaluate_formula(formula, values) == 1050


# ---- JSON ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", [f for f in FORM_IDS if "json" in get_form(f).formats])
def test_fill_json_nests_and_matches_canonical_json(form_id: str) -> None:
    form = get_form(form_id)
    values = sample_values(form_id)
    doc = json.loads(fill_json(form, values))
    assert doc["skjema"] == {"type": form_id, "versjon": form.version}
    assert doc == canonical_json(form, values)
    assert json.loads(build(form_id, "json", values)) == doc
    for rep in form.repeats():
        rows = doc[rep.id]
        assert isinstance(rows, list) and rows
        assert all(set(r) <= {s.id for s in rep.fields} for r in rows)


def test_fill_json_drops_empty_rows() -> None:
    values = sample_values("minihta", **{"litteratur.1.referanse": "", "litteratur.1.lenke": ""})
    doc = json.loads(fill_json("minihta", values))
    assert [r["referanse"] for r in doc["litteratur"]] == [values["litteratur.2.referanse"]]
    assert doc["konklusjon"]["anbefaling"] == "innfores"
    assert "skjema" not in json.loads(fill_json("minihta", {"sammendrag": "Kort."}))


# ---- FHIR ----------------------------------------------------------------------------------------


def _items(items: list[dict]) -> list[dict]:
    out = []
    for item in items:
        out.append(item)
        out.extend(_items(item.get("item", [])))
    return out


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_fhir_questionnaire_covers_every_field(form_id: str) -> None:
    form = get_form(form_id)
    q = questionnaire(form)
    assert q["resourceType"] == "Questionnaire" and q["id"] == form_id
    assert q["url"] == f"https://nyemetoder.no/fhir/Questionnaire/{form_id}"
    assert re.fullmatch(r"[A-Z][A-Za-z0-9_]{0,254}", q["name"])
    assert (q["status"], q["language"], q["version"], q["title"]) == (
        "active",
        "nb",
        form.version,
        form.name,
    )
    items = _items(q["item"])
    link_ids = [i["linkId"] for i in items]
    assert len(link_ids) == len(set(link_ids))
    by_id = {i["linkId"]: i for i in items}
    for field_id in form.field_ids():
        _, rep = form.lookup(field_id)
        link = field_id if rep is None else f"{rep.id}.{field_id.split('.')[-1]}"
        item = by_id[link]
        field = form.field(field_id)
        assert item["text"] == field.label
        assert (
            item["type"]
            == {
                "text": "string",
                "textarea": "text",
                "checkbox": "boolean",
                "integer": "integer",
                "number": "decimal",
                "date": "date",
                "choice": "choice",
                "hf": "choice",
                "reference": "string",
                "email": "string",
                "url": "string",
            }[field.type]
        )
        if field.choices:
            assert [o["valueCoding"]["code"] for o in item["answerOption"]] == [
                c.code for c in field.choices
            ]
        if rep is not None:
            group = by_id[rep.id]
            assert group["type"] == "group" and group["repeats"] is True
    json.dumps(q)  # plain JSON


def test_fhir_required_if_becomes_enable_when() -> None:
    form = get_form("tilgang-del2")
    items = {i["linkId"]: i for i in _items(questionnaire(form)["item"])}
    rules = [r for r in form.rules if isinstance(r, RequiredIf)]
    assert rules
    for rule in rules:
        item = items[rule.field]
        assert item["required"] is True
        assert [w["question"] for w in item["enableWhen"]] == [rule.when] * len(rule.values)
    annet = items["behandling.behandlingsmal_annet"]["enableWhen"][0]
    assert annet["answerCoding"]["code"] == "annet"
    assert items["kriterier.okt_nytte.begrunnelse"]["enableWhen"][0]["answerBoolean"] is True
    assert items["skjema.type"]["initial"] == [{"valueString": "tilgang-del2"}]


# ---- write_templates -----------------------------------------------------------------------------


def test_write_templates(tmp_path) -> None:
    written = write_templates(tmp_path)
    names = {p.name for p in written}
    for form in catalogue().values():
        assert f"{form.id}.fhir.json" in names
        for fmt in ("pdf", "docx", "xlsx"):
            assert (f"{form.id}.{fmt}" in names) == (fmt in form.formats)
        schema = schema_path(form)
        if schema is not None:
            assert (tmp_path / schema.name).read_bytes() == schema.read_bytes()
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert (tmp_path / "minihta.pdf").read_bytes() == blank("minihta", "pdf")


# ---- sample values and synthetic identity --------------------------------------------------------


def test_synthetic_fodselsnummer_is_synthetic_with_valid_control_digits() -> None:
    fnr = synthetic_fodselsnummer()
    assert re.fullmatch(r"[0-9]{11}", fnr)
    assert 81 <= int(fnr[2:4]) <= 92  # month + 80: a synthetic test number, never a real one
    w1 = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
    w2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    assert sum(w * int(d) for w, d in zip(w1, fnr[:10], strict=True)) % 11 == 0
    assert sum(w * int(d) for w, d in zip(w2, fnr, strict=True)) % 11 == 0
    assert control_digits(fnr[:9]) == fnr[9:]
    assert control_digits("158885008") is None  # no valid first control digit: skipped
    other = synthetic_fodselsnummer(date(1990, 2, 3), start=400)
    assert other[:6] == "038290" and other != fnr


def _check_sample(form: FormDef, values: dict[str, object]) -> None:
    for field_id in form.field_ids():
        field: Field = form.field(field_id)
        value = values.get(field_id)
        if field.required:
            assert value not in (None, ""), field_id
        if field.must_be_true:
            assert value is True, field_id
        if value in (None, ""):
            continue
        if field.type in ("choice", "hf"):
            assert value in {c.code for c in field.choices}, field_id
        if field.pattern:
            assert re.fullmatch(field.pattern, str(value)), field_id
        if field.type == "date":
            assert date.fromisoformat(str(value)) <= TODAY or not field.not_future
        if field.minimum is not None:
            assert float(value) >= field.minimum
    for rule in form.rules:
        if isinstance(rule, RequiredIf) and values.get(rule.when) in rule.values:
            assert values.get(rule.field) not in (None, ""), rule.field


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_sample_values_are_complete_and_valid(form_id: str) -> None:
    form = get_form(form_id)
    values = sample_values(form_id)
    assert set(values) <= set(form.field_ids())
    assert values["skjema.type"] == form_id
    _check_sample(form, values)
    if form.reference_field == "sak.id":
        assert values["sak.id"] == "MMV-2026-001"


def test_sample_del2_reference_and_criteria() -> None:
    values = sample_values("tilgang-del2")
    ref = values["soknad.referansenummer"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-[A-ZÆØÅ]+-[A-ZÆØÅ0-9]+", ref)
    assert date.fromisoformat(ref[:10]) < TODAY
    assert ref.split("-")[3] == values["soknad.helseforetak"]
    assert values["kriterier.okt_nytte.oppfylt"] is True
    assert values["litteratur.1.lenke"].startswith(("https://", "doi:"))
    del1 = sample_values("tilgang-del1")
    assert del1["soknad.referansenummer"] == ref
    words = [w for w in re.findall(r"\w+", str(del1["pasient.navn"])) if len(w) >= 3]
    text = " ".join(str(v) for v in values.values()).casefold()
    assert words and not any(w.casefold() in text for w in words)
    assert del1["pasient.fodselsnummer"] not in text


def test_sample_budget_is_consistent() -> None:
    form = get_form("minihta-okonomi")
    values = sample_values("minihta-okonomi")
    for field_id in form.field_ids():
        formula = form.field(field_id).formula
        if formula:
            assert values[field_id] == evaluate_formula(formula, values)


def test_sample_overrides() -> None:
    values = sample_values(
        "tilgang-del2", **{"soknad.helseforetak": "AHUS", "pasient.diagnosekode": None}
    )
    assert values["soknad.helseforetak"] == "AHUS" and "pasient.diagnosekode" not in values
    with pytest.raises(KeyError):
        sample_values("tilgang-del2", **{"finnes.ikke": "x"})


# ---- end to end with the intake pipeline ---------------------------------------------------------

UPLOAD_CASES = [(fid, fmt) for fid, fmt in CASES if fid != "tilgang-del1"]
FILLERS = {
    "pdf": lambda fid, v: fill_pdf(blank(fid, "pdf"), v),
    "docx": lambda fid, v: fill_docx(blank(fid, "docx"), v),
    "xlsx": lambda fid, v: fill_xlsx(blank(fid, "xlsx"), v),
    "json": lambda fid, v: fill_json(fid, v),
}


@pytest.mark.parametrize(("form_id", "fmt"), UPLOAD_CASES)
def test_filled_sample_is_accepted_by_ingest(form_id: str, fmt: str) -> None:
    ingest = pytest.importorskip("processor.ingest").ingest
    pytest.importorskip(f"processor.extract_{fmt}")
    data = FILLERS[fmt](form_id, sample_values(form_id))
    result = ingest(f"{form_id}.{fmt}", data, today=TODAY)
    assert result.status == "accepted", [(e.code, e.field) for e in result.errors]
    assert result.form_type == form_id


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_filled_del1_is_refused_by_ingest(fmt: str) -> None:
    ingest = pytest.importorskip("processor.ingest").ingest
    pytest.importorskip(f"processor.extract_{fmt}")
    data = FILLERS[fmt]("tilgang-del1", sample_values("tilgang-del1"))
    result = ingest(f"del1.{fmt}", data, today=TODAY)
    assert result.status == "rejected"
    assert "DEL1_NOT_ALLOWED" in {e.code for e in result.errors}


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_template_is_dated_the_day_its_form_version_was_issued(form_id: str) -> None:
    """The blank templates carry the issue day of their form's version (in Oslo) as their
    creation date, the same bytes every time; not reportlab's 2000-01-01 nor a build time."""
    form = get_form(form_id)
    issued = form.issued_at()
    assert issued.date() == form.issued and issued.utcoffset() is not None
    for fmt in form.formats:
        data = build(form_id, fmt)
        if fmt == "pdf":
            meta = PdfReader(io.BytesIO(data)).metadata
            assert meta.creation_date == issued and meta.modification_date == issued
        elif fmt == "docx":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                core = zf.read("docProps/core.xml").decode()
            stamp = issued.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            assert f">{stamp}</dcterms:created>" in core
            assert f">{stamp}</dcterms:modified>" in core
        elif fmt == "xlsx":
            props = load_workbook(io.BytesIO(data)).properties
            naive = issued.astimezone(UTC).replace(tzinfo=None)
            assert props.created == naive and props.modified == naive
        assert build(form_id, fmt) == data
