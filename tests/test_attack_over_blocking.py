"""Attacker's pass, the other side (issues #10/#11): what the wider normalisation and the
script reading must not refuse. Ordinary texts with phone numbers, ICD-10 and ATC codes, dates,
emoji with variation selectors and control characters next to digits, and document JavaScript
with escapes and "+" that spells no identity number, are accepted."""

from __future__ import annotations

from datetime import date

import pytest

from processor.identity import contains_identity, is_identity_number
from processor.ingest import ingest
from tests.conftest import TODAY
from tests.fillers import synthetic_fodselsnummer
from tests.hostile_identity.attack import script_pdf
from tests.spec_support import del2_json

N = synthetic_fodselsnummer(date(1980, 1, 17), start=222)
WRONG = N[:10] + str((int(N[10]) + 1) % 10)

TEXTS = [
    "Ring +47 22 11 33 44 eller 915 55 123 (sentralbord 02770).",
    "Diagnose C34.1, tidligere C50.9; ATC L01FF02 og L01XC32.",
    "Behandlet 12.03.2025–14.06.2025, 3×200 mg, 2-ukers sykluser.",
    "Pasienten ❤️ 2026 \ufe0f1 \u034f2 \u0007 3",
    f"Ordrenummer {WRONG[:4]}\u034f{WRONG[4:]} og {WRONG[:6]}\x07{WRONG[6:]}",
    "Tlf. 22\x0711\x0733 44",
]


def test_the_wrong_number_is_no_identity() -> None:
    assert is_identity_number(N) and not is_identity_number(WRONG)


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_ordinary_text_is_accepted(text: str) -> None:
    assert not contains_identity(text)
    result = ingest("del2.json", del2_json(totalvurdering=text), today=TODAY)
    assert result.status == "accepted", [f.to_dict() for f in result.errors]


SCRIPTS = [
    'AFNumber_Format(2, 0, 0, 0, "\\u20ac ", true);',
    f'app.alert("Ordre " + "{WRONG[:6]}" + "{WRONG[6:]}");',
    "var t = '\\x41\\x42' + '\\u0043'; event.value = t + 12345;",
    f"var a = '{N[:6]}'; // {N[6:]} nowhere joined",
]


@pytest.mark.parametrize("code", SCRIPTS, ids=range(len(SCRIPTS)))
def test_ordinary_document_javascript_is_accepted(code: str) -> None:
    result = ingest("del2.pdf", script_pdf(code), today=TODAY)
    assert "IDENTITY_FOUND" not in {f.code for f in result.errors}
