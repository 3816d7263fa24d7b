"""The operator commands: db upgrade, user add, token create, audit verify, demo."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from web.cli import main


def test_user_add_and_token_create_print_only_the_token(
    instance: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert (instance / "skjemamottak.db").is_file()
    monkeypatch.setattr("sys.stdin", io.StringIO("et-passord\n"))
    assert main(["user", "add", "ola", "--role", "hf", "--hf", "OUS", "--password-stdin"]) == 0
    capsys.readouterr()
    assert main(["token", "create", "ola"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1 and len(out.strip()) >= 40
    assert main(["user", "add", "ola", "--role", "hf", "--hf", "OUS"]) == 1
    assert main(["user", "add", "kari", "--role", "tull"]) == 1
    assert main(["token", "create", "finnes-ikke"]) == 1


def test_usage_errors_exit_2_in_norwegian(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        main(["user", "add", "ola"])
    assert e.value.code == 2
    assert "disse argumentene mangler" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["outbox", "list", "--status", "feil"], "ugyldig valg: 'feil' (velg blant 'venter'"),
        (["outbox", "retry", "abc"], "ugyldig heltall: 'abc'"),
    ],
)
def test_the_outbox_commands_usage_errors_are_norwegian(
    instance: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    """CONNECTIONS.md section 2's `outbox list --status S` and `outbox retry ID…`: a bad value
    exits 2 with a message in Norwegian only."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "choose from" not in err and "invalid" not in err


def test_demo_is_idempotent_covers_the_states_and_keeps_the_audit_chain(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert out.count("opprettet.") >= 12
    assert "koordinator / demo-koordinator" in out
    assert main(["demo"]) == 0
    assert "finnes allerede" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    assert "hel" in capsys.readouterr().out

    from web.runtime import open_storage
    from web.settings import Settings

    storage = open_storage(Settings.from_environment())
    uow = storage.uow()
    with uow:
        cases = uow.cases.list()
        states = {c.state for c in cases}
        versions = max(len(c.versions) for c in cases)
    storage.engine.dispose()
    assert {"mottatt", "returnert", "priskontroll", "klar", "trukket"} <= states
    assert versions == 2


def test_user_password_and_deactivate(
    instance: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.users import authenticate_password, authenticate_token, session_generation
    from web.runtime import open_storage
    from web.settings import Settings

    assert main(["db", "upgrade"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("et-passord\n"))
    assert main(["user", "add", "ola", "--role", "hf", "--hf", "OUS", "--password-stdin"]) == 0
    capsys.readouterr()
    assert main(["token", "create", "ola"]) == 0
    token = capsys.readouterr().out.strip()
    st = open_storage(Settings.from_environment())
    assert session_generation(st.uow(), "ola") == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("et-nytt-passord\n"))
    assert main(["user", "password", "ola"]) == 0
    assert session_generation(st.uow(), "ola") == 1
    assert authenticate_password(st.uow(), "ola", "et-nytt-passord") is not None
    assert authenticate_password(st.uow(), "ola", "et-passord") is None
    assert authenticate_token(st.uow(), token) is not None
    assert main(["user", "deactivate", "ola"]) == 0
    assert authenticate_token(st.uow(), token) is None
    assert session_generation(st.uow(), "ola") is None
    assert main(["user", "deactivate", "finnes-ikke"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["user", "password", "ola"]) == 2


def test_user_functions_and_display_name(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PORTAL.md section 2: `--funksjon` (repeatable, role hf only) and `--navn`."""
    from web.runtime import open_storage
    from web.settings import Settings

    assert main(["db", "upgrade"]) == 0
    args = ["user", "add", "lise", "--role", "hf", "--hf", "OUS"]
    assert (
        main([*args, "--funksjon", "linjeleder", "--funksjon", "lege", "--navn", "Lise Lege"]) == 0
    )
    capsys.readouterr()
    assert main(["user", "add", "k", "--role", "koordinator", "--funksjon", "lege"]) == 1
    assert "Bare brukere med rollen hf" in capsys.readouterr().err
    assert main(["user", "add", "x", "--role", "hf", "--hf", "OUS", "--funksjon", "sjef"]) == 1
    assert "Ukjent funksjon: sjef" in capsys.readouterr().err
    assert main(["user", "set", "lise", "--funksjon", "fagdirektor"]) == 0
    assert "funksjonene" in capsys.readouterr().out
    assert main(["user", "set", "lise", "--navn", "Lise L. Lege"]) == 0
    assert main(["user", "set", "finnes-ikke", "--navn", "X"]) == 1

    storage = open_storage(Settings.from_environment())
    with storage.uow() as uow:
        lise = uow.users.get("lise")
        assert lise is not None
        assert (lise.funksjoner, lise.display_name) == (["fagdirektor"], "Lise L. Lege")
        assert uow.users.get("x") is None
    storage.engine.dispose()
    assert main(["user", "set", "lise", "--funksjon", ""]) == 0
    storage = open_storage(Settings.from_environment())
    with storage.uow() as uow:
        assert uow.users.get("lise").funksjoner == []  # type: ignore[union-attr]
    storage.engine.dispose()
