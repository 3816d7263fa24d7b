"""The JSON part of the hostile corpus (tests/hostile_identity): every file is refused with
IDENTITY_FOUND (or FILE_CORRUPT for JSON whose parser would drop a copy), naming the field where
the number sits in one, and the result never repeats the number in any writing."""

from __future__ import annotations

import json

import pytest

from processor.ingest import ingest
from tests.conftest import TODAY
from tests.hostile_identity import text


def writings(number: str) -> list[str]:
    fullwidth = "".join(chr(0xFF10 + int(c)) for c in number)
    return [number, f"{number[:6]} {number[6:]}", f"{number[:6]}-{number[6:]}", fullwidth]


@pytest.mark.parametrize("case", text.cases(), ids=lambda c: c.name)
def test_hostile_json_is_refused_and_never_echoed(case):
    result = ingest(case.filename, case.data, today=TODAY)
    assert result.status == "rejected"
    codes = {f.code for f in result.errors}
    if "duplicate-key" in case.name:
        assert "FILE_CORRUPT" in codes
    else:
        assert "IDENTITY_FOUND" in codes
    if case.field:
        assert case.field in {f.field for f in result.errors if f.code == "IDENTITY_FOUND"}
    shown = json.dumps(result.to_dict(), ensure_ascii=False).replace(case.filename, "")
    for writing in writings(case.number):
        assert writing not in shown


def test_the_same_files_with_numbers_failing_the_control_digits_are_not_refused_for_them():
    for case in text.cases(wrong=True):
        result = ingest(case.filename, case.data, today=TODAY)
        codes = {f.code for f in result.errors}
        assert "IDENTITY_FOUND" not in codes, case.name
        if "duplicate-key" not in case.name:
            assert result.status != "rejected", (case.name, codes)
