"""The attacker's pass over the identity guard (issues #10/#11, tests/hostile_identity/attack.py):
invisible characters that are not Cf between digits are removed before the search; the same
texts with numbers failing the control digits are accepted. Gaps the spec leaves open are
recorded as strict xfails."""

from __future__ import annotations

import json
from datetime import date

import pytest

from processor.ingest import ingest
from tests.conftest import TODAY
from tests.fillers import synthetic_fodselsnummer
from tests.hostile_identity import attack
from tests.hostile_identity.attack import script_pdf
from tests.spec_support import del2_json
from tests.test_hostile_identity_text import writings


@pytest.mark.parametrize("case", attack.cases(), ids=lambda c: c.name)
def test_a_number_hidden_by_invisible_characters_or_script_escapes_is_refused(case):
    result = ingest(case.filename, case.data, today=TODAY)
    assert result.status == "rejected"
    found = {f.field for f in result.errors if f.code == "IDENTITY_FOUND"}
    assert found
    if case.field:
        assert case.field in found
    shown = json.dumps(result.to_dict(), ensure_ascii=False)
    for writing in writings(case.number):
        assert writing not in shown


@pytest.mark.parametrize("case", attack.cases(wrong=True), ids=lambda c: c.name)
def test_the_same_with_wrong_control_digits_is_accepted(case):
    result = ingest(case.filename, case.data, today=TODAY)
    assert result.status == "accepted", [f.to_dict() for f in result.errors]


_N = synthetic_fodselsnummer(date(1982, 7, 9), start=321)


@pytest.mark.xfail(
    strict=True,
    reason="FORMS.md 6 rule 2 has no step for visible combining marks (Mn/Me) or bidi "
    "reordering: a number with a combining accent or keycap after each digit, or written "
    "reversed inside a right-to-left override, is read by a person but not by the guard; "
    "needs a spec decision (strip marks after digits? apply bidi?)",
)
@pytest.mark.parametrize(
    "writing",
    [
        _N[:5] + "\u0301" + _N[5:],
        "".join(c + "\ufe0f\u20e3" for c in _N),
        "\u202e" + _N[::-1] + "\u202c",
    ],
    ids=["combining-acute", "keycap", "right-to-left-override"],
)
def test_a_number_behind_visible_marks_or_bidi_is_refused(writing):
    result = ingest("del2.json", del2_json(totalvurdering=f"Tekst {writing}"), today=TODAY)
    assert result.status == "rejected"


@pytest.mark.xfail(
    strict=True,
    reason="document JavaScript that builds the number from variables (var a = '015888'; "
    "app.alert(a + b)) is not evaluated; the guard reads only literal strings, their escapes "
    "and literals joined by '+'",
)
def test_a_number_built_from_script_variables_is_refused():
    code = f"var a = '{_N[:6]}'; var b = '{_N[6:]}'; app.alert(a + b);"
    result = ingest("del2.pdf", script_pdf(code), today=TODAY)
    assert result.status == "rejected"
