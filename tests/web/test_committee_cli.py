"""The committee's operator commands: `user add --role komite`, `komite add/set/list`, `packet`."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, time
from pathlib import Path

import pytest

from processor.domain import Actor
from services import committee
from web.cli import main

KOORDINATOR = Actor("koordinator", frozenset({"koordinator"}))


def test_members_are_added_changed_and_listed(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["user", "add", "k-ous", "--role", "komite", "--hf", "OUS", "--beslutningstaker"]) == 0
    )
    assert (
        main(
            ["komite", "add", "k-vara", "--hf", "STO", "--navn", "Vara Vik", "--vara-for", "k-ous"]
            + ["--fagdirektor", "--fra", "2026-01-01", "--til", "2026-12-31"]
        )
        == 0
    )
    assert main(["komite", "set", "k-ous", "--no-beslutningstaker", "--til", "2026-06-30"]) == 0
    assert main(["komite", "set", "k-ous", "--vara-for", "k-ous"]) == 1
    assert main(["komite", "set", "ukjent", "--fagdirektor"]) == 1
    capsys.readouterr()
    assert main(["komite", "list", "--json"]) == 0
    members = {m["brukernavn"]: m for m in json.loads(capsys.readouterr().out)}
    assert members["k-vara"]["vara_for"] == "k-ous" and members["k-vara"]["fagdirektor"]
    assert members["k-vara"]["navn"] == "Vara Vik"
    assert members["k-ous"]["beslutningstaker"] is False
    assert members["k-ous"]["aktiv_til"] == "2026-06-30"
    assert main(["komite", "list"]) == 0
    assert "vara for k-ous" in capsys.readouterr().out


def test_packet_writes_a_members_packet(
    instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["komite", "add", "k-ahus", "--hf", "AHUS", "--beslutningstaker"]) == 0
    from web.runtime import open_storage
    from web.settings import Settings

    storage = open_storage(Settings.from_environment())
    meeting = committee.create_meeting(
        KOORDINATOR, storage.uow(), date(2099, 1, 8), time(9), date.today()
    )
    storage.engine.dispose()
    out = tmp_path / "pakke.zip"
    assert main(["packet", str(meeting), "k-ahus", str(out)]) == 0
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        assert "innkalling.pdf" in zf.namelist()
    assert main(["packet", str(meeting), "finnes-ikke", str(out)]) == 1
    assert main(["packet", "999", "k-ahus", str(out)]) == 1
    assert main(["audit", "verify"]) == 0
