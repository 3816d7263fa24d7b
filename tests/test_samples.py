"""Every file in ../shared/samples gives what expected.json demands, through `skjemamottak check`."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLES, run_check


def _get(data: dict, dotted: str):
    node = data
    for key in dotted.split("."):
        node = node[int(key) - 1] if isinstance(node, list) else node[key]
    return node


@pytest.fixture(scope="module")
def check_output(samples_dir, expected):
    files = [str(samples_dir / name) for name in sorted(expected)]
    proc, results = run_check(files)
    return proc, {r["file"].rsplit("/", 1)[-1]: r for r in results}


def test_every_sample_is_reported(check_output, expected):
    _, results = check_output
    assert set(results) == set(expected)


def _sample_names() -> list[str]:
    path = SAMPLES / "expected.json"
    return sorted(json.loads(path.read_text("utf-8"))) if path.exists() else []


@pytest.mark.parametrize("name", _sample_names())
def test_sample_gives_expected_result(check_output, expected, name):
    _, results = check_output
    want, got = expected[name], results[name]
    findings = got["errors"] + got["warnings"]
    assert got["status"] == want["status"], findings
    if want.get("codes"):
        assert {f["code"] for f in findings} & set(want["codes"]), findings
    for field in want.get("fields", []):
        assert field in {f["field"] for f in findings}, (field, findings)
    for path, value in want.get("data", {}).items():
        assert got["data"] is not None
        assert _get(got["data"], path) == value, path
    if got["status"] == "rejected":
        assert "data" not in got
    for f in findings:
        assert f["message"] and f["code"]


def test_exit_status_is_one_when_any_file_is_not_accepted(check_output):
    proc, results = check_output
    assert any(r["status"] != "accepted" for r in results.values())
    assert proc.returncode == 1


def test_output_never_repeats_a_hidden_identity_number(check_output, secrets):
    proc, _ = check_output
    for number in secrets.values():
        for variant in (number, number[:6] + " " + number[6:], number[:6] + "-" + number[6:]):
            assert variant not in proc.stdout
            assert variant not in proc.stderr
