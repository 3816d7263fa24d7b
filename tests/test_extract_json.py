"""JSON submissions (FORMS.md 4.5) that must be refused: bad JSON, deep nesting, millions of
tiny values. Every file is built here."""

from __future__ import annotations

import json

import pytest

import processor.extract_json as extract_json_module
from forms.catalog import catalogue, get_form
from processor.extract_json import extract_json
from processor.findings import Limits, Refusal
from tests.fillers import fill_json, sample_values

LIMITS = Limits()
HEAD = '{"skjema": {"type": "tilgang-del2", "versjon": "1"}, '


def refusal(data: bytes, limits: Limits = LIMITS) -> Refusal:
    with pytest.raises(Refusal) as err:
        extract_json(data, limits)
    return err.value


def test_invalid_json_and_utf8_are_corrupt():
    assert refusal(b'{"a": ').finding.code == "FILE_CORRUPT"
    assert refusal(b'{"a": "\xff"}').finding.code == "FILE_CORRUPT"


def test_nesting_beyond_the_depth_limit_is_corrupt():
    deep = HEAD + '"x": ' + "[" * 40 + "]" * 40 + "}"
    assert refusal(deep.encode()).finding.code == "FILE_CORRUPT"


def test_millions_of_tiny_values_are_refused_before_parsing(monkeypatch):
    """6 million empty objects (18 MiB) took 13 s and 890 MiB to parse and walk."""
    data = (HEAD + '"x": [' + ",".join(["{}"] * 150_000) + "]}").encode()
    loads = []
    monkeypatch.setattr(extract_json_module.json, "loads", lambda *a: loads.append(a) or 1 / 0)
    err = refusal(data)
    assert err.finding.code == "FILE_TOO_LARGE"
    assert "100\u00a0000 verdier" in err.finding.message
    assert loads == []


def _items(data: bytes) -> int:
    return data.count(b",") + data.count(b"{") + data.count(b"[")


def test_the_count_is_of_objects_arrays_and_commas_and_the_limit_is_inclusive():
    limits = Limits(max_json_items=20)
    at = (HEAD + '"x": [' + ",".join(["1"] * 16) + "]}").encode()
    assert _items(at) == 2 + 1 + 2 + 15  # two objects, one array, two commas, fifteen in it
    assert extract_json(at, limits).fields["x"] == [1] * 16
    over = (HEAD + '"x": [' + ",".join(["1"] * 17) + "]}").encode()
    assert _items(over) == 21
    assert refusal(over, limits).finding.code == "FILE_TOO_LARGE"
    # commas inside strings count too: the count is an upper bound, read without parsing
    prose = (HEAD + '"x": "' + "a, " * 17 + '"}').encode()
    assert _items(prose) == 21
    assert refusal(prose, limits).finding.code == "FILE_TOO_LARGE"


def test_every_forms_json_is_far_below_the_limit():
    for form_id in catalogue():
        data = fill_json(get_form(form_id), sample_values(form_id))
        items = data.count(b"{") + data.count(b"[") + data.count(b",")
        assert items < LIMITS.max_json_items / 50, (form_id, items)
        assert extract_json(data, LIMITS).fields
    assert json.loads(data)  # the last one is JSON


# ---- FORMS.md section 6, rule 2: what json.loads would silently drop or mangle ----------------


def test_a_duplicate_key_at_any_depth_is_corrupt():
    top = HEAD + '"totalvurdering": "a", "totalvurdering": "b"}'
    deep = HEAD + '"soknad": {"soker_navn": "x", "soker_navn": "y"}}'
    in_list = HEAD + '"litteratur": [{"tittel": "a", "tittel": "b"}]}'
    for doc in (top, deep, in_list):
        found = refusal(doc.encode())
        assert found.finding.code == "FILE_CORRUPT"
        assert "to ganger" in found.finding.message


def test_the_first_copy_of_a_duplicate_is_never_silently_dropped():
    """The attack: `soknad` twice, the first copy holding the number, json.loads keeping the
    last. The whole file is refused instead, so no copy goes unread."""
    doc = HEAD + '"soknad": {"soker_navn": "15888512389"}, "soknad": {"soker_navn": "Lege"}}'
    assert refusal(doc.encode()).finding.code == "FILE_CORRUPT"


@pytest.mark.parametrize("escaped", ['"\\ud800"', '"a\\udfffb"', '"\\udc00\\ud800"', '"x\\ud83d"'])
def test_a_lone_surrogate_in_a_value_or_a_key_is_corrupt(escaped):
    for doc in (HEAD + f'"totalvurdering": {escaped}}}', HEAD + f"{escaped}: 1}}"):
        assert refusal(doc.encode()).finding.code == "FILE_CORRUPT"


def test_a_surrogate_pair_escape_is_valid_unicode():
    doc = HEAD + '"totalvurdering": "\\ud83d\\ude00 og \\u00e6\\u00f8\\u00e5"}'
    got = extract_json(doc.encode(), LIMITS)
    assert got.fields["totalvurdering"] == "\U0001f600 og æøå"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_corrupt(constant):
    doc = HEAD + f'"kostnader": {{"andre_per_maned": {constant}}}}}'
    assert refusal(doc.encode()).finding.code == "FILE_CORRUPT"
