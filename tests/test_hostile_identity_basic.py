"""The plain places of the hostile corpus (tests/hostile_identity/basic.py): a number in the file
name, a JSON value or key, a Word content control or a PDF field is refused with IDENTITY_FOUND
naming the field where there is one, never repeated; the same files with eleven digits that fail
the control digits are accepted."""

from __future__ import annotations

import json

import pytest

from processor.ingest import ingest
from tests.conftest import TODAY
from tests.hostile_identity import basic
from tests.test_hostile_identity_text import writings


@pytest.mark.parametrize("case", basic.cases(), ids=lambda c: c.name)
def test_a_number_in_a_plain_place_is_refused_and_never_echoed(case):
    result = ingest(case.filename, case.data, today=TODAY)
    assert result.status == "rejected"
    found = {f.field for f in result.errors if f.code == "IDENTITY_FOUND"}
    assert found
    if case.field:
        assert case.field in found
    # `check` names the file it read (the HF's own); every other word must not repeat it
    shown = json.dumps(result.to_dict(), ensure_ascii=False).replace(case.filename, "")
    for writing in writings(case.number):
        assert writing not in shown


@pytest.mark.parametrize("case", basic.cases(wrong=True), ids=lambda c: c.name)
def test_eleven_digits_failing_the_control_digits_are_accepted(case):
    result = ingest(case.filename, case.data, today=TODAY)
    assert result.status == "accepted", [f.to_dict() for f in result.errors]
