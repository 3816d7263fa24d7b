"""Shared fixtures: the samples folder beside the repository and a fixed "today"."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"
TODAY = date(2026, 11, 23)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples is not beside the repository")
    return SAMPLES


@pytest.fixture(scope="session")
def expected(samples_dir: Path) -> dict:
    return json.loads((samples_dir / "expected.json").read_text("utf-8"))


@pytest.fixture(scope="session")
def secrets(samples_dir: Path) -> dict:
    return json.loads((samples_dir / "secrets.json").read_text("utf-8"))


def run_check(paths: list[str], *extra: str, timeout: int = 300):
    """`skjemamottak check --json --jobs 2` on the paths, as a subprocess; returns the completed
    process and the parsed results."""
    import json

    from tests.cli import run_cli

    proc = run_cli(
        "check",
        "--json",
        "--jobs",
        "2",
        "--today",
        TODAY.isoformat(),
        *extra,
        *paths,
        timeout=timeout,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return proc, json.loads(proc.stdout)["results"]


@pytest.fixture(autouse=True)
def _every_arkivmelding_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    """CONNECTIONS.md section 3: every arkivmelding.xml a test makes (in this process) is checked
    against the official Fiks Arkiv XSD as it is made; an invalid one fails that test."""
    from tests.arkiv_xsd import validate_every_message

    validate_every_message(monkeypatch)
