"""Operator commands (issue 8): backup and restore round trip, fsck, key rotation, all through
the real CLI on temporary instances."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest

from processor.domain import Actor
from services.upload import upload
from storage.uow import SqlAlchemyUnitOfWork
from tests.cli import run_cli
from tests.web.conftest import add_users, del2, make_app, on_postgres, st

ROOT = Path(__file__).resolve().parents[2]
KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(32, 64))).decode()

pytestmark = pytest.mark.skipif(
    on_postgres(),
    reason="the CLI subprocesses use the instance folder's SQLite database; PostgreSQL backups are tested in tests/storage/test_backup.py",
)


def _cli(instance: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "SKJEMAMOTTAK_INSTANCE": str(instance), **env}
    environ.pop("SKJEMAMOTTAK_DATABASE_URL", None)
    for name in ("SKJEMAMOTTAK_BLOB_KEY", "SKJEMAMOTTAK_BLOB_OLD_KEYS"):
        if name not in env:
            environ.pop(name, None)
    return run_cli(*args, env=environ)


def _letter(uow: SqlAlchemyUnitOfWork, case_id: str, data: bytes) -> None:
    """A decision letter stored as the committee stores it: the blobs are the service's own
    renderings (uploaded files are never stored, FORMS.md section 6, rule 3)."""
    from storage.models_committee import Decision

    with uow:
        sha = uow.blobs.put(data)
        now = uow.now()
        uow.cases.add_blob(sha, len(data), "application/pdf", now)
        uow.session.add(
            Decision(
                case_id=case_id,
                outcome="innvilget",
                body={},
                reasoning="",
                decided_on=now.date(),
                recorded_by="koordinator",
                recorded_at=now,
                pdf_sha256=sha,
                docx_sha256=sha,
            )
        )
        uow.commit()


def _populate(instance: Path, n: int = 3) -> list[bytes]:
    """`n` cases, each with one letter blob; returns the uploaded files."""
    app = make_app(instance)
    add_users(app, {"hf-ous": {"roles": ["hf"], "hf": "OUS"}})
    user = Actor("hf-ous", frozenset({"hf"}), "OUS")
    uploads = []
    for i in range(n):
        data = del2(department=f"AVD{i}")
        result = upload(user, f"s{i}.json", data, st(app).uow(), st(app).today())
        assert result.status == "accepted", result.errors
        _letter(st(app).uow(), str(result.case_id), f"%PDF-1.7 vedtaksbrev {i}".encode())
        uploads.append(data)
    st(app).engine.dispose()
    return uploads


def _rows(instance: Path) -> dict[str, int]:
    con = sqlite3.connect(instance / "skjemamottak.db")
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            t: con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
            for t in tables
            if not t.startswith(("sqlite_", "alembic")) and "fts" not in t
        }
    finally:
        con.close()


def test_stats_recount_counts_every_case_anew(tmp_path):
    _populate(tmp_path, n=3)
    out = _cli(tmp_path, "stats", "--recount", "--json")
    assert out.returncode == 0, out.stderr
    assert "Telte opp tallene for alle 3 saker på nytt." in out.stderr
    assert '"saker_totalt": 3' in out.stdout


def test_backup_and_restore_round_trip(tmp_path):
    source, target = tmp_path / "kilde", tmp_path / "maal"
    uploads = _populate(source)
    archive = tmp_path / "kopi.zip"
    out = _cli(source, "backup", str(archive))
    assert out.returncode == 0, out.stderr
    assert "Sikkerhetskopi skrevet" in out.stdout and "3 filer" in out.stdout
    with zipfile.ZipFile(archive) as zf:  # the letters; no uploaded file
        content = b"".join(zf.read(name) for name in zf.namelist())
    assert b"vedtaksbrev 2" in content and not any(u in content for u in uploads)
    assert _cli(source, "backup", str(archive)).returncode == 1  # never overwrites

    restored = _cli(target, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert _rows(target) == _rows(source)
    assert _cli(target, "audit", "verify").returncode == 0
    assert _cli(target, "fsck").returncode == 0
    assert _cli(target, "restore", str(archive)).returncode == 1  # not into a non-empty database


def test_fsck_reports_a_missing_blob_with_exit_1(tmp_path):
    instance = tmp_path / "instance"
    _populate(instance, n=1)
    blobs = [p for p in (instance / "blobs").rglob("*") if p.is_file()]
    assert blobs
    blobs[0].unlink()
    out = _cli(instance, "fsck")
    assert out.returncode == 1
    assert "Mangler fil" in out.stdout


def test_blobs_are_encrypted_at_rest_and_keys_rotate(tmp_path):
    instance = tmp_path / "instance"
    os.environ["SKJEMAMOTTAK_BLOB_KEY"] = KEY_A
    try:
        _populate(instance, n=2)
    finally:
        del os.environ["SKJEMAMOTTAK_BLOB_KEY"]
    files = [p for p in (instance / "blobs").rglob("*") if p.is_file()]
    assert files and all(p.read_bytes().startswith(b"SKJ1") for p in files)
    assert all(b"vedtaksbrev" not in p.read_bytes() for p in files)  # no plaintext on disk
    assert _cli(instance, "fsck").returncode == 1  # without the key the blobs cannot be read
    assert _cli(instance, "fsck", SKJEMAMOTTAK_BLOB_KEY=KEY_A).returncode == 0

    rotated = _cli(
        instance,
        "blobs",
        "rotate-key",
        SKJEMAMOTTAK_BLOB_KEY=KEY_B,
        SKJEMAMOTTAK_BLOB_OLD_KEYS=KEY_A,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "2 filer kryptert på nytt" in rotated.stdout
    assert _cli(instance, "fsck", SKJEMAMOTTAK_BLOB_KEY=KEY_B).returncode == 0
    assert _cli(instance, "fsck", SKJEMAMOTTAK_BLOB_KEY=KEY_A).returncode == 1  # old key retired


def test_malformed_key_is_refused_without_echoing_it(tmp_path):
    out = _cli(tmp_path / "instance", "fsck", SKJEMAMOTTAK_BLOB_KEY="hemmelig-men-for-kort")
    assert out.returncode != 0
    assert "hemmelig-men-for-kort" not in out.stdout + out.stderr


def test_serve_starts_one_single_threaded_process_per_core_and_one_more(monkeypatch):
    """`serve`'s default (see `default_workers` for the measurements behind it)."""
    from web import cli

    for cores, workers in ((1, 2), (2, 3), (4, 5), (16, 8)):
        monkeypatch.setattr(cli.os, "cpu_count", lambda cores=cores: cores)
        assert cli.default_workers() == workers
    ns = cli.build_parser().parse_args(["serve"])
    assert ns.threads == 1 and ns.workers == 0  # 0: SKJEMAMOTTAK_WORKERS, else default_workers()


def test_a_workers_app_is_frozen_out_of_the_garbage_collector() -> None:
    import gc

    from web import cli

    app: list[object] = []

    def factory() -> list[object]:
        app.append([app])  # a container the collector tracks, as every part of a Flask app
        return app

    try:
        assert cli.worker_app(factory) is app
        assert gc.get_freeze_count() > 0
        tracked = {id(o) for o in gc.get_objects()}  # the generations a collection walks
        assert id(app) not in tracked and id(app[0]) not in tracked
    finally:
        gc.unfreeze()
