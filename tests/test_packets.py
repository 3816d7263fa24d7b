"""WORKFLOW.md §4 (packets) and §6 (the peer review packet): what a reviewer downloads.

Case data is built the way the pipeline stores it: sample values nested by
`forms.templates.canonical_json`, and once through `processor.ingest` itself.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, time

import pytest
from lxml import etree
from openpyxl import load_workbook
from pypdf import PdfReader

from forms.catalog import get_form
from forms.fields import Field, Repeat
from forms.templates import build, canonical_json
from processor.ingest import ingest
from processor.packets import (
    MeetingInfo,
    PacketCase,
    meeting_packet,
    peer_review_packet,
    safe_name,
)
from processor.render import format_date, format_nok, render_case_pdf
from processor.timefmt import format_number
from tests.conftest import TODAY
from tests.fillers import SAK_ID, fill_json, sample_values

MEETING_DAY = date(2026, 12, 7)
GENERATED = date(2026, 12, 2)
MEMBER = "Kari Nordmann-Ødegård"
FOOTER = f"Fortrolig – til bruk i vurderingskomitéen – {MEMBER} – 02.12.2026"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

MEETING = MeetingInfo(
    id="M-2026-24",
    date=MEETING_DAY,
    time=time(13, 0),
    members=[
        (MEMBER, "HBE", "Beslutningstaker"),
        ("Ola Ås", "UNN", "Beslutningstaker, fagdirektør"),
        ("Per Berg", "STO", "Beslutningstaker"),
        ("Siri Moe", "HNT", "Beslutningstaker"),
    ],
)


def flat(text: str) -> str:
    """Extracted text with every run of white space (line breaks, NBSP) as one space."""
    return re.sub(r"\s+", " ", text).strip()


def pdf_pages(data: bytes) -> list[str]:
    return [flat(page.extract_text()) for page in PdfReader(io.BytesIO(data)).pages]


def pdf_text(data: bytes) -> str:
    return " ".join(pdf_pages(data))


def del2_data(hf: str, reference: str, **overrides: object) -> dict:
    values = sample_values(
        "tilgang-del2",
        **{
            "soknad.helseforetak": hf,
            "soknad.referansenummer": reference,
            "pasient.opptaksomrade": hf,
            **overrides,
        },
    )
    return canonical_json(get_form("tilgang-del2"), values)


def case(n: int, hf: str, **overrides: object) -> PacketCase:
    reference = f"2026-10-{n:02d}-{hf}-KREFT"
    return PacketCase(
        id=reference,
        form_id="tilgang-del2",
        data=del2_data(hf, reference, **overrides),
        price_check={
            "stated_per_month": 62500,
            "confirmed_per_month": 61000.0,
            "corrected": True,
            "note": "Avtalepris fra Sykehusinnkjøp gjelder fra 1. november.",
        },
        notes=[f"Merknad fra koordinator til sak {n}."],
        urgent=n == 2,
    )


CASES = [
    case(1, "OUS"),
    case(2, "AHUS", **{"behandling.legemiddel": "Nivolumab (Opdivo)"}),
    case(3, "STO"),
]
RECUSED = case(4, "HBE", **{"behandling.legemiddel": "Hemmeligmab (Skjult)"})


@pytest.fixture(scope="module")
def packet() -> bytes:
    return meeting_packet(MEETING, MEMBER, "kari", CASES, GENERATED)


@pytest.fixture(scope="module")
def entries(packet: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(packet)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def expected_value(field: Field, value: object) -> str:
    """The text a reviewer should read for a value, written out independently of render.py."""
    if isinstance(value, bool):
        return "Ja" if value else "Nei"
    if field.type == "date":
        y, m, d = str(value).split("-")
        return f"{d}.{m}.{y}"
    if field.type == "choice":
        return next(c.label for c in field.choices if c.code == value)
    if field.type == "hf":
        return next(c.label for c in field.choices if c.code == value)
    if field.type == "number":
        return f"{value:,}".replace(",", " ") + " kr"
    return flat(str(value))


# ---- the meeting packet -------------------------------------------------------------------------


def test_packet_holds_the_notice_one_pdf_per_case_the_overview_and_the_merged_pdf(entries):
    assert sorted(entries) == [
        "innkalling.pdf",
        "oversikt.xlsx",
        "sak-2026-10-01-OUS-KREFT.pdf",
        "sak-2026-10-02-AHUS-KREFT.pdf",
        "sak-2026-10-03-STO-KREFT.pdf",
        "samlet.pdf",
    ]


def test_zip_entries_are_sorted_and_dated_the_meeting_day(packet):
    with zipfile.ZipFile(io.BytesIO(packet)) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(2026, 12, 7, 0, 0, 0)}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_each_case_pdf_shows_every_catalogue_label_and_value(entries):
    form = get_form("tilgang-del2")
    for c in CASES:
        text = pdf_text(entries[f"sak-{c.id}.pdf"])
        assert f"Sak {c.id}" in text
        for section in form.sections:
            for item in section.items:
                if isinstance(item, Field) and item.hidden:
                    assert item.label not in text
                    continue
                if isinstance(item, Repeat):
                    for n, row in enumerate(c.data[item.id], start=1):
                        for sub in item.fields:
                            assert f"{sub.label} {n}" in text
                            assert expected_value(sub, row[sub.id]) in text
                    continue
                assert flat(item.label) in text, item.id
                node = c.data
                for key in item.id.split("."):
                    node = node.get(key) if isinstance(node, dict) else None
                if node is not None:
                    assert expected_value(item, node) in text, item.id


def test_case_pdf_uses_norwegian_notation_and_labels(entries):
    text = pdf_text(entries["sak-2026-10-01-OUS-KREFT.pdf"])
    assert "Legemiddelkostnader per måned (NOK) 62 500 kr" in text
    assert "Fødselsår (fire siffer) 1985" in text  # a year is not grouped
    assert "Behandlingsmål Livsforlengende" in text
    assert "livsforlengende" not in text  # the code never shows
    assert "Dato for godkjenning 01.10.2026" in text
    assert "Høyere alvorlighet Nei" in text
    assert "Begrunnelse – høyere alvorlighet –" in text  # an empty field
    assert "Oslo universitetssykehus HF (OUS)" in text
    assert "Skjematype" not in text and "tilgang-del2 1" not in text


def test_case_pdf_carries_the_price_check_and_the_coordinators_notes(entries):
    text = pdf_text(entries["sak-2026-10-02-AHUS-KREFT.pdf"])
    assert "Priskontroll" in text
    assert "Oppgitt legemiddelkostnad per måned 62 500 kr" in text
    assert "Kontrollert legemiddelkostnad per måned 61 000 kr" in text
    assert "Avtalepris fra Sykehusinnkjøp gjelder fra 1. november." in text
    assert "Koordinatorens merknader" in text
    assert "Merknad fra koordinator til sak 2." in text
    assert "Hastebehandling Ja" in text


def test_long_text_keeps_its_paragraphs(entries):
    page_text = " ".join(
        p.extract_text()
        for p in PdfReader(io.BytesIO(entries["sak-2026-10-01-OUS-KREFT.pdf"])).pages
    )
    lines = page_text.splitlines()
    assert "Diagnostisert i 2024 med PD-L1-uttrykk over 50 %." in lines
    assert "Progresjon etter to behandlingslinjer; tåler behandlingen godt." in lines


def test_footer_is_on_every_page_of_every_pdf(entries):
    pdfs = [name for name in entries if name.endswith(".pdf")]
    assert len(pdfs) == len(CASES) + 2
    for name in pdfs:
        pages = pdf_pages(entries[name])
        assert pages
        for n, page in enumerate(pages, start=1):
            assert FOOTER in page, (name, n)
            assert re.search(r"Side \d+ av \d+", page), (name, n)


def test_page_numbers_count_the_pages_of_their_document(entries):
    pages = pdf_pages(entries["sak-2026-10-01-OUS-KREFT.pdf"])
    assert len(pages) >= 2
    for n, page in enumerate(pages, start=1):
        assert f"Side {n} av {len(pages)}" in page


def test_merged_pdf_has_one_bookmark_for_the_notice_and_one_per_case(entries):
    reader = PdfReader(io.BytesIO(entries["samlet.pdf"]))
    outline = reader.outline
    assert len(outline) == len(CASES) + 1
    assert outline[0].title == "Innkalling"
    for item, c in zip(outline[1:], CASES, strict=True):
        assert c.id in item.title
        page = reader.get_destination_page_number(item)
        assert f"Sak {c.id}" in flat(reader.pages[page].extract_text())
    expected_pages = sum(
        len(PdfReader(io.BytesIO(entries[n])).pages)
        for n in entries
        if n != "samlet.pdf" and n.endswith(".pdf")
    )
    assert len(reader.pages) == expected_pages


def test_notice_names_the_meeting_the_members_and_the_members_cases(entries):
    text = pdf_text(entries["innkalling.pdf"])
    assert "Innkalling til møte i vurderingskomitéen" in text
    assert "M-2026-24" in text
    assert "mandag 07.12.2026" in text
    assert "kl. 13:00" in text
    for name, _, role in MEETING.members:
        assert name in text
        assert role in text
    assert "Helse Bergen HF" in text
    for c in CASES:
        assert c.id in text
    assert "Nivolumab (Opdivo)" in text


def test_overview_has_one_row_per_case(entries):
    ws = load_workbook(io.BytesIO(entries["oversikt.xlsx"])).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Sak"
    assert "Behandlingsmål" in rows[0] and "Hast" in rows[0]
    body = rows[1:]
    assert [r[0] for r in body] == [c.id for c in CASES]
    first = dict(zip(rows[0], body[0], strict=True))
    assert first["Helseforetak"] == "Oslo universitetssykehus HF"
    assert first["Legemiddel"] == "Pembrolizumab (Keytruda)"
    assert first["Diagnose"] == "Ikke-småcellet lungekreft, stadium IV"
    assert first["Behandlingsmål"] == "Livsforlengende"
    assert first["Månedlig kostnad (NOK)"] == 62500
    assert first["Priskontroll (NOK per måned)"] == 61000
    assert [r[-1] for r in body] == ["Nei", "Ja", "Nei"]


def test_a_case_not_passed_is_absent_everywhere(entries):
    assert not any(RECUSED.id in name for name in entries)
    for name, data in entries.items():
        if name.endswith(".pdf"):
            text = pdf_text(data)
            assert RECUSED.id not in text and "Hemmeligmab" not in text, name
    ws = load_workbook(io.BytesIO(entries["oversikt.xlsx"])).active
    cells = [v for row in ws.iter_rows(values_only=True) for v in row]
    assert RECUSED.id not in cells


def test_a_case_that_is_passed_gets_its_pdf_and_bookmark():
    with_it = meeting_packet(MEETING, MEMBER, "kari", [*CASES, RECUSED], GENERATED)
    with zipfile.ZipFile(io.BytesIO(with_it)) as zf:
        assert f"sak-{RECUSED.id}.pdf" in zf.namelist()
        assert len(PdfReader(io.BytesIO(zf.read("samlet.pdf"))).outline) == len(CASES) + 2


def test_two_builds_are_byte_identical(packet):
    assert meeting_packet(MEETING, MEMBER, "kari", CASES, GENERATED) == packet
    other_day = meeting_packet(MEETING, MEMBER, "kari", CASES, date(2026, 12, 3))
    assert other_day != packet


def test_a_packet_without_cases_still_has_the_notice_and_an_empty_overview():
    data = meeting_packet(MEETING, MEMBER, "kari", [], GENERATED)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["innkalling.pdf", "oversikt.xlsx", "samlet.pdf"]
        assert "ingen saker" in pdf_text(zf.read("innkalling.pdf"))
        ws = load_workbook(io.BytesIO(zf.read("oversikt.xlsx"))).active
        assert ws.max_row == 1


def test_two_cases_with_the_same_id_are_refused():
    with pytest.raises(ValueError):
        meeting_packet(MEETING, MEMBER, "kari", [CASES[0], CASES[0]], GENERATED)


def test_case_data_from_the_pipeline_renders():
    values = sample_values("tilgang-del2")
    result = ingest("del2.json", fill_json("tilgang-del2", values), today=TODAY)
    assert result.status == "accepted", result.to_dict()
    pdf = render_case_pdf(
        "tilgang-del2", result.data, title="Sak X", footer="Fortrolig", case_id="X"
    )
    text = pdf_text(pdf)
    assert "Pembrolizumab (Keytruda)" in text
    assert "62 500 kr" in text
    assert "Tittel på relevant forskning 2 Fem års oppfølging av KEYNOTE-024" in text


def test_a_very_long_text_flows_over_several_pages():
    long = "\n".join(f"Avsnitt {i}: " + "mange ord om sykehistorien " * 40 for i in range(30))
    data = del2_data("OUS", "2026-10-01-OUS-KREFT", **{"pasient.sykehistorie": long})
    pdf = render_case_pdf("tilgang-del2", data, title="Sak X", footer="Fortrolig", case_id="X")
    pages = pdf_pages(pdf)
    assert len(pages) > 3
    assert "Avsnitt 0:" in " ".join(pages) and "Avsnitt 29:" in " ".join(pages)
    assert all("Fortrolig" in p for p in pages)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1985, "1985"), (12500, "12\u00a0500"), (-62500, "−62\u00a0500"), (1234.5, "1234,5")],
)
def test_numbers_are_written_the_norwegian_way(value, text):
    assert format_number(value) == text


def test_amounts_and_dates():
    assert format_nok(12500) == "12\u00a0500\u00a0kr"
    assert format_nok(1234.5) == "1\u00a0234,50\u00a0kr"
    assert format_date("2026-10-01") == "01.10.2026"
    assert format_date(date(2026, 1, 2)) == "02.01.2026"


def test_file_names_never_carry_path_characters():
    assert safe_name("../x/y z") == ".._x_y_z"


# ---- the peer review packet ---------------------------------------------------------------------


def _minihta() -> dict:
    return canonical_json(get_form("minihta"), sample_values("minihta"))


def _okonomi() -> dict:
    return canonical_json(get_form("minihta-okonomi"), sample_values("minihta-okonomi"))


@pytest.fixture(scope="module")
def peer() -> dict[str, bytes]:
    data = peer_review_packet(SAK_ID, _minihta(), _okonomi(), GENERATED)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_peer_packet_holds_the_mini_hta_the_economics_and_skjema_2(peer):
    assert sorted(peer) == [
        f"minihta-{SAK_ID}.pdf",
        f"okonomi-{SAK_ID}.pdf",
        f"skjema2-{SAK_ID}.docx",
        f"skjema2-{SAK_ID}.pdf",
    ]


def test_peer_packet_renders_the_mini_hta_and_the_economics(peer):
    text = pdf_text(peer[f"minihta-{SAK_ID}.pdf"])
    assert "Tittel på mini-metodevurderingen Robotassistert kirurgi ved endetarmskreft" in text
    assert "Investeringskostnad (NOK) 850 000 kr" in text
    assert "Dato for litteratursøk 20.08.2026" in text
    economics = pdf_text(peer[f"okonomi-{SAK_ID}.pdf"])
    assert "Budsjettkonsekvens år 1 (NOK) 900 000 kr" in economics
    for name in (f"minihta-{SAK_ID}.pdf", f"okonomi-{SAK_ID}.pdf"):
        for page in pdf_pages(peer[name]):
            assert f"Fortrolig – til bruk i fagfellevurderingen – {SAK_ID} – 02.12.2026" in page


def test_peer_packet_skjema_2_is_prefilled_with_the_case_id(peer):
    fields = PdfReader(io.BytesIO(peer[f"skjema2-{SAK_ID}.pdf"])).get_fields()
    assert fields["sak.id"].get("/V") == SAK_ID
    assert peer[f"skjema2-{SAK_ID}.pdf"] == build("minihta-fagfelle", "pdf", {"sak.id": SAK_ID})
    with zipfile.ZipFile(io.BytesIO(peer[f"skjema2-{SAK_ID}.docx"])) as zf:
        doc = etree.fromstring(zf.read("word/document.xml"))
    sdts = [s for s in doc.iter(f"{W}sdt") if s.find(f"{W}sdtPr/{W}tag").get(f"{W}val") == "sak.id"]
    assert len(sdts) == 1
    assert "".join(t.text or "" for t in sdts[0].iter(f"{W}t")) == SAK_ID


def test_peer_packet_without_economics_leaves_it_out():
    data = peer_review_packet(SAK_ID, _minihta(), None, GENERATED)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert not any(name.startswith("okonomi") for name in zf.namelist())
        assert len(zf.namelist()) == 3


def test_peer_packet_is_byte_identical_for_the_same_inputs():
    one = peer_review_packet(SAK_ID, _minihta(), _okonomi(), GENERATED)
    assert peer_review_packet(SAK_ID, _minihta(), _okonomi(), GENERATED) == one


# ---- amounts and dates as people read them --------------------------------------------------------


def test_an_amount_with_ore_keeps_them_in_the_overview_and_the_case_pdf():
    with_ore = case(5, "OUS", **{"kostnader.legemiddel_per_maned": 85000.5})
    with_ore = PacketCase(
        **{
            **with_ore.__dict__,
            "price_check": {**with_ore.price_check, "confirmed_per_month": 85000.5},
        }
    )
    data = meeting_packet(MEETING, MEMBER, "kari", [with_ore, CASES[0]], GENERATED)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        ws = load_workbook(io.BytesIO(zf.read("oversikt.xlsx"))).active
        case_text = pdf_text(zf.read(f"sak-{safe_name(with_ore.id)}.pdf"))
    header = [c.value for c in ws[1]]
    cost = header.index("Månedlig kostnad (NOK)") + 1
    checked = header.index("Priskontroll (NOK per måned)") + 1
    for col in (cost, checked):
        cell = ws.cell(row=2, column=col)
        assert cell.value == 85000.5  # numeric, not rounded, not text
        assert ".00" in cell.number_format  # shown with øre: 85 000,50 kr
        whole = ws.cell(row=3, column=col)
        assert whole.value in (62500, 61000) and ".00" not in whole.number_format
    assert "85 000,50 kr" in case_text


def test_the_pdfs_and_the_workbook_carry_the_time_they_were_made_in_oslo():
    from datetime import UTC, datetime, timedelta, timezone

    made = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)  # 00:30 on 3 December in Oslo
    oslo = timezone(timedelta(hours=1))
    data = meeting_packet(MEETING, MEMBER, "kari", CASES, GENERATED, made)
    assert meeting_packet(MEETING, MEMBER, "kari", CASES, GENERATED, made) == data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.endswith(".pdf"):
                meta = PdfReader(io.BytesIO(zf.read(name))).metadata
                assert meta.creation_date == datetime(2026, 12, 3, 0, 30, tzinfo=oslo), name
                assert meta.creation_date.utcoffset() == timedelta(hours=1), name
        props = load_workbook(io.BytesIO(zf.read("oversikt.xlsx"))).properties
    assert props.created == datetime(2026, 12, 2, 23, 30)  # stored as UTC (W3CDTF Z)
    assert props.modified == props.created  # not the clock's time at saving
    peer = peer_review_packet(SAK_ID, _minihta(), _okonomi(), GENERATED, made)
    with zipfile.ZipFile(io.BytesIO(peer)) as zf:
        meta = PdfReader(io.BytesIO(zf.read(f"minihta-{safe_name(SAK_ID)}.pdf"))).metadata
    assert meta.creation_date == datetime(2026, 12, 3, 0, 30, tzinfo=oslo)


def test_a_summer_time_creation_date_has_the_summer_offset():
    from datetime import UTC, datetime, timedelta

    pdf = render_case_pdf(
        CASES[0].form_id,
        CASES[0].data,
        title="Sak",
        footer="Bunntekst",
        case_id=CASES[0].id,
        created=datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
    )
    meta = PdfReader(io.BytesIO(pdf)).metadata
    assert meta.creation_date.utcoffset() == timedelta(hours=2)
    assert (meta.creation_date.hour, meta.creation_date.minute) == (12, 0)
