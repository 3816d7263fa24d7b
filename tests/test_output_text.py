"""Issue 11, finding 1, outside HTTP: text that no UTF-8 or XML can carry leaves as U+FFFD.

`forms.text` is the one cleaning; the PDF fonts, the XLSX cells (`forms.templates.xlsx.put`) and
`check --json` use it, so a lone surrogate, NUL, U+2028, an RTL override or a very long text in
a case neither stops a meeting packet nor truncates the check's JSON.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, time

from openpyxl import load_workbook

from forms.catalog import get_form
from forms.templates import canonical_json
from forms.text import encodable, encodable_deep, xml_text
from processor.packets import MeetingInfo, PacketCase, meeting_packet
from processor.statistics import CaseHistory, Filters, Transition, compute, to_xlsx
from tests.cli import run_cli
from tests.conftest import TODAY
from tests.fillers import fill_json, sample_values

LONE = "\ud800"
NASTY = f"Bad{LONE}text\x00nul\u2028line\u202eRTL {'x' * 20000} {LONE}end"


def test_encodable_replaces_lone_surrogates_and_joins_pairs() -> None:
    assert encodable(f"a{LONE}b") == "a\ufffdb"
    assert encodable("\ud83d\ude00") == "\U0001f600"  # a pair is one character
    assert encodable("\udfff\ud800") == "\ufffd\ufffd"  # reversed halves are no pair
    plain = "Blåbær \u2028 \u202e \x00"
    assert encodable(plain) is plain  # nothing to replace: the same object
    assert encodable_deep({LONE: [LONE, 1, None]}) == {"\ufffd": ["\ufffd", 1, None]}
    encodable(NASTY).encode("utf-8")


def test_xml_text_replaces_what_xml_forbids_and_keeps_line_breaks() -> None:
    assert xml_text(f"a\x00b\x1fc{LONE}\ufffe") == "a\ufffdb\ufffdc\ufffd\ufffd"
    assert xml_text("tab\tline\nreturn\r\u2028\u202e") == "tab\tline\nreturn\r\u2028\u202e"


def _nasty_case() -> PacketCase:
    form = get_form("tilgang-del2")
    values = sample_values("tilgang-del2")
    for fid, value in list(values.items()):
        found = form.lookup(fid)
        if isinstance(value, str) and found and found[0].type in ("text", "textarea"):
            values[fid] = NASTY + value
    return PacketCase(
        id="2026-10-01-OUS-KREFT",
        form_id="tilgang-del2",
        data=canonical_json(form, values),
        price_check={"stated_per_month": 1.0, "confirmed_per_month": 2.0, "note": NASTY},
        notes=[NASTY],
        urgent=True,
    )


def test_meeting_packet_is_built_from_bad_stored_text() -> None:
    meeting = MeetingInfo("M1", date(2026, 12, 7), time(9, 0), [(NASTY, "OUS", "Leder")])
    packet = meeting_packet(meeting, NASTY, NASTY, [_nasty_case()], date(2026, 12, 2))
    with zipfile.ZipFile(io.BytesIO(packet)) as zf:
        names = zf.namelist()
        assert "oversikt.xlsx" in names and "samlet.pdf" in names
        wb = load_workbook(io.BytesIO(zf.read("oversikt.xlsx")))
    texts = [c.value for row in wb.active.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("\ufffd" in t for t in texts)
    assert not any(LONE in t or "\x00" in t for t in texts)


def test_figures_xlsx_takes_nul_and_surrogates_in_a_specialty() -> None:
    at = TODAY
    from datetime import datetime
    from zoneinfo import ZoneInfo

    when = datetime(at.year, at.month, at.day, 9, tzinfo=ZoneInfo("Europe/Oslo"))
    cases = [
        CaseHistory(
            f"MMV-2026-{i:03d}", "minihta", "OUS", NASTY, when, [Transition(when, None, "mottatt")]
        )
        for i in range(3)
    ]
    wb = load_workbook(io.BytesIO(to_xlsx(compute(cases, Filters(fagomrade=NASTY)))))
    texts = [
        c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)
    ]
    assert any(t.startswith("Bad\ufffdtext\ufffdnul") for t in texts)


def test_check_json_is_valid_json_for_any_file_name_and_content(tmp_path) -> None:  # noqa: ANN001
    good = fill_json("tilgang-del2", sample_values("tilgang-del2"))
    # a file name that is no UTF-8: Python gives it to the program with lone surrogates
    bad_name = bytes(tmp_path) + b"/soknad-\xed\xa0\x80-\xff.json"
    with open(bad_name, "wb") as fh:
        fh.write(good)
    surrogate = tmp_path / "surrogat.json"
    doc = json.loads(good)
    doc.setdefault("merknad", {})["tekst"] = LONE
    surrogate.write_text(json.dumps(doc), "ascii")  # "\ud800" escaped: valid JSON text
    proc = run_cli(
        "check",
        "--json",
        "--today",
        TODAY.isoformat(),
        bad_name,
        str(surrogate),
        text=False,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr.decode("utf-8", "replace")
    out = json.loads(proc.stdout.decode("utf-8"))  # strict UTF-8, whole JSON
    assert len(out["results"]) == 2
    assert "\ufffd" in out["results"][0]["file"]
    human = run_cli("check", "--today", TODAY.isoformat(), bad_name, text=False, timeout=300)
    assert human.returncode in (0, 1), human.stderr.decode("utf-8", "replace")
    human.stdout.decode("utf-8")
