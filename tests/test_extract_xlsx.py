"""XLSX forms: workbook-scoped defined names, cached formula values, every cell as text
(FORMS.md 4.3 and section 6)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from processor.extract_xlsx import extract_xlsx
from processor.findings import Limits, Refusal

S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
LIMITS = Limits()
SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"


def xlsx(
    sheets: dict[str, str],
    names: str,
    shared: list[str] | None = None,
    extra: dict[str, str] | None = None,
    content_types: str = "",
) -> bytes:
    """A minimal workbook: sheet name -> <sheetData> body, <definedNames> body, shared strings
    (raw <si> bodies), extra parts."""
    sheet_xml = "".join(
        f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(sheets, start=1)
    )
    workbook = (
        f'<workbook xmlns="{S}" xmlns:r="{R}"><sheets>{sheet_xml}</sheets>'
        f"<definedNames>{names}</definedNames></workbook>"
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{R}/worksheet" Target="/xl/worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    files = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="xml" ContentType="application/xml"/>{content_types}</Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{PKG_R}"><Relationship Id="rId1" '
            f'Type="{R}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": workbook,
    }
    if shared is not None:
        rels += f'<Relationship Id="rId99" Type="{R}/sharedStrings" Target="sharedStrings.xml"/>'
        files["xl/sharedStrings.xml"] = (
            f'<sst xmlns="{S}">' + "".join(f"<si>{si}</si>" for si in shared) + "</sst>"
        )
    files["xl/_rels/workbook.xml.rels"] = f'<Relationships xmlns="{PKG_R}">{rels}</Relationships>'
    for i, body in enumerate(sheets.values(), start=1):
        files[f"xl/worksheets/sheet{i}.xml"] = (
            f'<worksheet xmlns="{S}"><sheetData>{body}</sheetData></worksheet>'
        )
    files.update(extra or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text.encode("utf-8"))
    return buf.getvalue()


def name(field_id: str, ref: str, local: int | None = None) -> str:
    scope = f' localSheetId="{local}"' if local is not None else ""
    return f'<definedName name="{field_id}"{scope}>{ref}</definedName>'


def sheet_texts(data: bytes) -> list[str]:
    return [t for kind, t in extract_xlsx(data, LIMITS).texts if kind == "sheet"]


def sample(file_name: str) -> bytes:
    path = SAMPLES / file_name
    if not path.is_file():
        pytest.skip("../shared/samples is not beside the repository")
    return path.read_bytes()


# ---- samples --------------------------------------------------------------------------------


def test_sample_with_cached_formulas():
    ex = extract_xlsx(sample("okonomi-cached.xlsx"), LIMITS)
    assert ex.kind == "xlsx"
    assert ex.fields["skjema.type"] == "minihta-okonomi"
    assert ex.fields["skjema.versjon"] == "1"
    assert ex.fields["okonomi.budsjett.ar1"] == 1700000
    assert isinstance(ex.fields["okonomi.budsjett.ar1"], int)
    assert ex.fields["okonomi.budsjett.ar5"] == 200000
    assert ex.fields["okonomi.pasienter_per_ar"] == 120
    assert ex.uncached_formulas == []
    assert ("sheet", "Robotassistert kirurgi") in ex.texts
    assert ("metadata", "openpyxl") in ex.texts


def test_sample_with_plain_values():
    ex = extract_xlsx(sample("okonomi-values.xlsx"), LIMITS)
    assert ex.fields["okonomi.budsjett.ar1"] == 1700000
    assert ex.fields["sak.tittel"] == "Robotassistert kirurgi"


# ---- cells ----------------------------------------------------------------------------------


def test_formula_without_cached_value_is_reported_not_guessed():
    data = xlsx(
        {"Ark": '<row r="1"><c r="A1"><v>5</v></c><c r="B1"><f>A1*2</f></c></row>'},
        name("okonomi.investering", "Ark!$A$1") + name("okonomi.budsjett.ar1", "Ark!$B$1"),
    )
    ex = extract_xlsx(data, LIMITS)
    assert ex.fields["okonomi.budsjett.ar1"] is None
    assert ex.uncached_formulas == ["okonomi.budsjett.ar1"]
    assert ex.fields["okonomi.investering"] == 5


def test_cell_types():
    row = (
        '<row r="1">'
        '<c r="A1" t="s"><v>0</v></c>'
        '<c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="inlineStr"><is><t>innebygd</t></is></c>'
        '<c r="D1" t="b"><v>1</v></c>'
        '<c r="E1" t="b"><v>0</v></c>'
        '<c r="F1"><v>1.7E6</v></c>'
        '<c r="G1"><v>12500.5</v></c>'
        '<c r="H1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>'
        '<c r="I1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
        '<c r="J1" s="3"/>'
        "</row>"
    )
    shared = [
        "<t>enkel</t>",
        '<r><t>rik </t></r><r><rPr><b/></rPr><t>tekst</t></r><rPh sb="0" eb="1"><t>FONETISK</t></rPh>',
    ]
    names = "".join(name(f"f.{c}", f"'Ark 1'!${c}$1") for c in "ABCDEFGHIJ")
    fields = extract_xlsx(xlsx({"Ark 1": row}, names, shared=shared), LIMITS).fields
    assert fields["f.A"] == "enkel"
    assert fields["f.B"] == "rik tekst"
    assert fields["f.C"] == "innebygd"
    assert fields["f.D"] is True
    assert fields["f.E"] is False
    assert fields["f.F"] == 1700000 and isinstance(fields["f.F"], int)
    assert fields["f.G"] == 12500.5
    assert fields["f.H"] == "ab"
    assert fields["f.I"] == "#DIV/0!"
    assert fields["f.J"] is None


def test_sheet_scoped_and_builtin_names_are_ignored():
    data = xlsx(
        {"Ark": '<row r="1"><c r="A1"><v>1</v></c></row>'},
        name("sak.tittel", "Ark!$A$1", local=0)
        + name("_xlnm.Print_Area", "Ark!$A$1:$B$2")
        + name("okonomi.investering", "Ark!$A$1"),
    )
    assert extract_xlsx(data, LIMITS).fields == {"okonomi.investering": 1}


def test_names_pointing_at_nothing_are_none():
    data = xlsx(
        {"Ark": '<row r="1"><c r="A1"><v>1</v></c></row>'},
        name("a", "Ark!$Z$99") + name("b", "Finnes ikke!$A$1") + name("c", "#REF!"),
    )
    assert extract_xlsx(data, LIMITS).fields == {"a": None, "b": None, "c": None}


def test_quoted_sheet_name_with_apostrophe_and_case():
    data = xlsx(
        {"Kari's ark": '<row r="2"><c r="B2" t="inlineStr"><is><t>ja</t></is></c></row>'},
        name("x", "'KARI''S ARK'!$B$2"),
    )
    assert extract_xlsx(data, LIMITS).fields["x"] == "ja"


def test_range_name_takes_its_top_left_cell():
    data = xlsx({"Ark": '<row r="3"><c r="C3"><v>7</v></c></row>'}, name("x", "Ark!$C$3:$D$4"))
    assert extract_xlsx(data, LIMITS).fields["x"] == 7


def test_cells_without_references_follow_each_other():
    data = xlsx(
        {"Ark": "<row><c><v>1</v></c><c><v>2</v></c></row><row><c><v>3</v></c></row>"},
        name("b1", "Ark!$B$1") + name("a2", "Ark!$A$2"),
    )
    assert extract_xlsx(data, LIMITS).fields == {"b1": 2, "a2": 3}


def test_workbook_without_defined_names_is_refused():
    data = xlsx({"Ark": '<row r="1"><c r="A1"><v>1</v></c></row>'}, "")
    with pytest.raises(Refusal) as err:
        extract_xlsx(data, LIMITS)
    assert err.value.finding.code == "FILE_NO_FORM_FIELDS"


def test_workbook_with_only_local_names_is_refused():
    data = xlsx({"Ark": ""}, name("x", "Ark!$A$1", local=0))
    with pytest.raises(Refusal) as err:
        extract_xlsx(data, LIMITS)
    assert err.value.finding.code == "FILE_NO_FORM_FIELDS"


# ---- texts for the identity guard -----------------------------------------------------------


def test_every_cell_of_every_sheet_is_text_numbers_included():
    data = xlsx(
        {
            "Skjema": '<row r="1"><c r="A1"><v>42</v></c></row>',
            "Notater": '<row r="9"><c r="Q9" t="s"><v>0</v></c><c r="R9"><v>3.5</v></c></row>',
        },
        name("x", "Skjema!$A$1"),
        shared=["<t>merknad på ark to</t>", "<t>ubrukt streng</t>"],
    )
    texts = sheet_texts(data)
    assert "42" in texts
    assert "merknad på ark to" in texts
    assert "3.5" in texts
    assert "ubrukt streng" in texts  # a shared string no cell uses is searched too


def test_ten_digit_number_is_also_given_with_its_leading_zero():
    data = xlsx({"Ark": '<row r="1"><c r="A1"><v>1234567890</v></c></row>'}, name("x", "Ark!$A$1"))
    texts = sheet_texts(data)
    assert "1234567890" in texts
    assert "01234567890" in texts


def test_sheet_part_not_listed_in_the_workbook_is_searched():
    extra = {
        "xl/worksheets/sheet7.xml": (
            f'<worksheet xmlns="{S}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
            "skjult tekst</t></is></c></row></sheetData></worksheet>"
        )
    }
    data = xlsx({"Ark": ""}, name("x", "Ark!$A$1"), extra=extra)
    assert "skjult tekst" in sheet_texts(data)


def test_comments_are_searched():
    extra = {
        "xl/comments1.xml": (
            f'<comments xmlns="{S}"><commentList><comment ref="A1"><text><r><t>notat 987</t></r>'
            "</text></comment></commentList></comments>"
        )
    }
    data = xlsx({"Ark": ""}, name("x", "Ark!$A$1"), extra=extra)
    assert "notat 987" in sheet_texts(data)


# ---- refused workbooks ----------------------------------------------------------------------


def test_macro_enabled_workbook_is_refused():
    data = xlsx({"Ark": ""}, name("x", "Ark!$A$1"), extra={"xl/vbaProject.bin": "VBA"})
    with pytest.raises(Refusal) as err:
        extract_xlsx(data, LIMITS)
    assert err.value.finding.code == "FILE_MACROS"


def test_macro_enabled_content_type_is_refused():
    ct = (
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/>'
    )
    data = xlsx({"Ark": ""}, name("x", "Ark!$A$1"), content_types=ct)
    with pytest.raises(Refusal) as err:
        extract_xlsx(data, LIMITS)
    assert err.value.finding.code == "FILE_MACROS"


def test_excel4_macro_sheet_is_refused():
    data = xlsx({"Ark": ""}, name("x", "Ark!$A$1"), extra={"xl/macrosheets/sheet1.xml": "<x/>"})
    with pytest.raises(Refusal) as err:
        extract_xlsx(data, LIMITS)
    assert err.value.finding.code == "FILE_MACROS"
