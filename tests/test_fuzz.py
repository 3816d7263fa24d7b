"""Fuzzing (a small run; `benchmarks/fuzz.py` runs 10,000): mutated versions of valid forms of
every format never crash `check` or the upload endpoint; each gets a status and codes."""

from __future__ import annotations

from processor.findings import CODES
from processor.ingest import ingest
from tests.conftest import TODAY, run_check
from tests.fuzzing import mutations

N = 400


def test_mutated_forms_always_get_a_status_and_known_codes():
    statuses = set()
    for name, data in mutations(N, seed=7):
        result = ingest(name, data, today=TODAY)
        statuses.add(result.status)
        assert result.status in ("accepted", "incomplete", "rejected")
        if result.status != "accepted":
            assert result.errors, name
        assert {f.code for f in result.errors + result.warnings} <= set(CODES)
        if result.status == "rejected":
            assert result.data is None
    assert "rejected" in statuses


def test_check_command_survives_mutated_files(tmp_path):
    paths = []
    for i, (name, data) in enumerate(mutations(60, seed=11)):
        p = tmp_path / f"{i:03d}-{name}"
        p.write_bytes(data)
        paths.append(str(p))
    proc, results = run_check(paths)
    assert len(results) == len(paths)
