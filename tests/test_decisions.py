"""WORKFLOW.md §5: the committee's decision, its checks and the decision letter (PDF and DOCX)."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from datetime import date

import pytest
from lxml import etree
from pypdf import PdfReader

from processor.decisions import (
    Decision,
    decision_letter_docx,
    decision_letter_pdf,
    decision_problems,
    validate_decision,
)
from tests.fillers import REFERENCE

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

DECISION = Decision(
    reference=REFERENCE,
    utfall="innvilget",
    kriterier={
        "okt_nytte": (True, "Høyt PD-L1-uttrykk gir vesentlig større forventet nytte."),
        "hoyere_alvorlighet": (False, ""),
        "sarskilte_medisinske_arsaker": (False, "Ingen særskilte forhold er beskrevet."),
    },
    begrunnelse="Komitéen legger vekt på forventet nytte.\nBivirkningene vurderes som akseptable.",
    deltakere=["Kari Nordmann", "Ola Ås", "Per Berg", "Siri Moe"],
    foreslar_gruppevurdering=True,
    gruppevurdering_tekst="Flere søknader gjelder samme pasientgruppe; metoden bør vurderes på nytt.",
    decided=date(2026, 12, 7),
    hf_name="Oslo universitetssykehus HF",
    legemiddel="Pembrolizumab (Keytruda)",
    nye_metoder_id="ID2025_131",
)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pdf_pages(data: bytes) -> list[str]:
    return [flat(p.extract_text()) for p in PdfReader(io.BytesIO(data)).pages]


def docx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        root = etree.fromstring(zf.read("word/document.xml"))
    paragraphs = ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in root.iter(f"{W}p")]
    return flat(" ".join(paragraphs))


# ---- validation -----------------------------------------------------------------------------------


def test_a_complete_decision_has_no_problems():
    assert validate_decision(DECISION) == []


def test_outcome_must_be_innvilget_or_avslatt():
    problems = validate_decision(replace(DECISION, utfall="utsatt"))
    assert any("Utfallet" in p for p in problems)


def test_every_criterion_must_be_present():
    kriterier = dict(DECISION.kriterier)
    del kriterier["hoyere_alvorlighet"]
    problems = validate_decision(replace(DECISION, kriterier=kriterier))
    assert problems == [
        "Kriteriet «Høyere alvorlighet» mangler: angi om det er oppfylt eller ikke."
    ]


def test_a_met_criterion_needs_a_justification():
    kriterier = {**DECISION.kriterier, "hoyere_alvorlighet": (True, "  ")}
    problems = validate_decision(replace(DECISION, kriterier=kriterier))
    assert problems == ["Kriteriet «Høyere alvorlighet» er oppfylt, men begrunnelsen mangler."]


def test_each_problem_names_the_form_field_it_concerns():
    kriterier = {**DECISION.kriterier, "hoyere_alvorlighet": (True, "")}
    wrong = replace(
        DECISION,
        utfall="",
        kriterier=kriterier,
        begrunnelse=" ",
        deltakere=DECISION.deltakere[:1],
        foreslar_gruppevurdering=True,
        gruppevurdering_tekst="",
        hf_name="",
    )
    problems = decision_problems(wrong)
    assert [message for _, message in problems] == validate_decision(wrong)
    assert [name for name, _ in problems] == [
        "utfall",
        "hoyere_alvorlighet_begrunnelse",
        "begrunnelse",
        "deltakere",
        "gruppevurdering_tekst",
        "",  # the HF of the case: not a field of the form
    ]


def test_an_unmet_criterion_needs_no_justification():
    kriterier = {**DECISION.kriterier, "sarskilte_medisinske_arsaker": (False, "")}
    assert validate_decision(replace(DECISION, kriterier=kriterier)) == []


def test_unknown_criteria_are_named():
    kriterier = {**DECISION.kriterier, "pris": (True, "billig")}
    assert any("pris" in p for p in validate_decision(replace(DECISION, kriterier=kriterier)))


def test_a_granted_decision_needs_a_met_criterion():
    kriterier = {key: (False, "") for key in DECISION.kriterier}
    granted = validate_decision(replace(DECISION, kriterier=kriterier))
    assert granted == ["Et innvilget vedtak krever at minst ett kriterium er oppfylt."]
    assert validate_decision(replace(DECISION, kriterier=kriterier, utfall="avslatt")) == []


def test_overall_reasoning_is_required():
    problems = validate_decision(replace(DECISION, begrunnelse=" \n "))
    assert problems == ["Den samlede begrunnelsen mangler."]


def test_quorum_needs_at_least_four_participants():
    problems = validate_decision(
        replace(DECISION, deltakere=["Kari Nordmann", "Ola Ås", "Per Berg"])
    )
    assert len(problems) == 1
    assert "minst 4 beslutningstakere" in problems[0] and "3 er oppgitt" in problems[0]


def test_blank_and_repeated_participants_do_not_count():
    names = ["Kari Nordmann", "Ola Ås", "Per Berg", " "]
    assert any("vedtaksfør" in p for p in validate_decision(replace(DECISION, deltakere=names)))
    names = ["Kari Nordmann", "Ola Ås", "Per Berg", "kari nordmann"]
    assert "Samme deltaker er oppgitt flere ganger." in validate_decision(
        replace(DECISION, deltakere=names)
    )


def test_a_proposed_group_assessment_needs_its_text():
    problems = validate_decision(replace(DECISION, gruppevurdering_tekst=""))
    assert problems == [
        "Komitéen foreslår vurdering på gruppenivå, men teksten til forslaget mangler."
    ]
    no_proposal = replace(DECISION, foreslar_gruppevurdering=False, gruppevurdering_tekst="")
    assert validate_decision(no_proposal) == []


def test_missing_reference_and_hf_are_reported():
    problems = validate_decision(replace(DECISION, reference="", hf_name=""))
    assert "Referansenummeret mangler." in problems
    assert "Helseforetaket vedtaket sendes til, mangler." in problems


def test_every_problem_is_reported_at_once():
    bad = replace(
        DECISION,
        utfall="",
        kriterier={},
        begrunnelse="",
        deltakere=[],
        gruppevurdering_tekst="",
    )
    assert len(validate_decision(bad)) >= 7


# ---- the letter -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def letter_pdf() -> str:
    return " ".join(pdf_pages(decision_letter_pdf(DECISION)))


@pytest.fixture(scope="module")
def letter_docx() -> str:
    return docx_text(decision_letter_docx(DECISION))


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_letter_quotes_reference_outcome_criteria_and_reasoning(fmt, letter_pdf, letter_docx):
    text = letter_pdf if fmt == "pdf" else letter_docx
    assert "Vedtak om individuell tilgang" in text
    assert f"Referansenummer: {REFERENCE}" in text
    assert "del 1 av søknaden i pasientens journal" in text
    assert "Vedtak Innvilget" in text
    assert "Oslo universitetssykehus HF" in text
    assert "Legemiddel Pembrolizumab (Keytruda)" in text  # the letter names the medicine
    assert "ID i Nye metoder ID2025_131" in text
    assert "07.12.2026" in text
    assert "Økt nytte Oppfylt Høyt PD-L1-uttrykk gir vesentlig større forventet nytte." in text
    assert "Høyere alvorlighet Ikke oppfylt" in text
    assert "Særskilte medisinske årsaker Ikke oppfylt Ingen særskilte forhold er beskrevet." in text
    assert "Komitéen legger vekt på forventet nytte." in text
    assert "Bivirkningene vurderes som akseptable." in text
    for name in DECISION.deltakere:
        assert name in text
    assert "foreslår at metoden vurderes på nytt på gruppenivå i Nye metoder" in text
    assert DECISION.gruppevurdering_tekst in text


def test_a_refusal_says_avslatt_and_no_group_proposal():
    refusal = replace(
        DECISION, utfall="avslatt", foreslar_gruppevurdering=False, gruppevurdering_tekst=""
    )
    pdf = " ".join(pdf_pages(decision_letter_pdf(refusal)))
    docx = docx_text(decision_letter_docx(refusal))
    for text in (pdf, docx):
        assert "Vedtak Avslått" in text
        assert "har avslått søknaden" in text
        assert "foreslår ikke en ny vurdering på gruppenivå" in text
        assert REFERENCE in text


def test_reference_is_on_every_page_of_the_pdf_letter():
    long = replace(DECISION, begrunnelse="\n".join(["Lang begrunnelse. " * 40] * 12))
    pages = pdf_pages(decision_letter_pdf(long))
    assert len(pages) > 1
    for n, page in enumerate(pages, start=1):
        assert REFERENCE in page
        assert f"Side {n} av {len(pages)}" in page


def test_letters_are_deterministic():
    assert decision_letter_pdf(DECISION) == decision_letter_pdf(DECISION)
    assert decision_letter_docx(DECISION) == decision_letter_docx(DECISION)


def test_docx_letter_is_a_valid_package():
    with zipfile.ZipFile(io.BytesIO(decision_letter_docx(DECISION))) as zf:
        names = zf.namelist()
        assert "word/document.xml" in names and "[Content_Types].xml" in names
        for name in names:
            if name.endswith(".xml") or name.endswith(".rels"):
                etree.fromstring(zf.read(name))


def test_the_pdf_letter_carries_the_time_it_was_made_in_oslo():
    from datetime import UTC, datetime, timedelta, timezone

    made = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # the first minute of summer time: 03:00
    pdf = decision_letter_pdf(DECISION, created=made)
    assert decision_letter_pdf(DECISION, created=made) == pdf  # still deterministic
    meta = PdfReader(io.BytesIO(pdf)).metadata
    assert meta.creation_date == datetime(2026, 3, 29, 3, 0, tzinfo=timezone(timedelta(hours=2)))
    assert meta.creation_date.year != 2000


def test_a_letter_without_the_medicine_leaves_the_rows_out():
    bare = replace(DECISION, legemiddel="", nye_metoder_id="")
    for text in (
        " ".join(pdf_pages(decision_letter_pdf(bare))),
        docx_text(decision_letter_docx(bare)),
    ):
        assert "Legemiddel" not in text and "ID i Nye metoder" not in text


def test_the_docx_letter_carries_the_time_it_was_made_or_else_its_decision_day() -> None:
    from datetime import UTC, datetime, time

    from processor.timefmt import OSLO

    def core(data: bytes) -> str:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return zf.read("docProps/core.xml").decode()

    made = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    assert ">2026-12-02T23:30:00Z</dcterms:created>" in core(decision_letter_docx(DECISION, made))
    day = datetime.combine(DECISION.decided, time(), tzinfo=OSLO).astimezone(UTC)
    stamp = day.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f">{stamp}</dcterms:created>" in core(decision_letter_docx(DECISION))
