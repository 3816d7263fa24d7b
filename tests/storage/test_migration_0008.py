"""Migration 0008 (FORMS.md section 6, rule 3; issue 10): an instance made by an earlier version,
whose blob store holds the uploaded files, keeps no uploaded byte anywhere after `db upgrade`,
and a backup made afterwards holds none either. The decision letters (the service's own
renderings) stay.

The old instance is made as the old code made it: the database migrated to 0007 by Alembic,
each upload's bytes put in the blob store with a `blobs` row, and `case_versions` /
`minihta_attachments` pointing at it (`blob_sha256`)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from storage import db
from storage.blobs import FileBlobStore
from tests import pgutil
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
BEFORE = "0007_figures_counts_all"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _original(name: str) -> bytes:
    """An uploaded file as an earlier version stored it: a unique marker and bytes of its own."""
    marker = f"OPPLASTET-ORIGINAL-{name}".encode()
    return b"%PDF-1.7\n" + marker + hashlib.sha512(marker).digest() * 40 + marker


ORIGINALS = {
    "del2-v1": _original("del2-v1"),
    "del2-v2": _original("del2-v2"),
    "minihta": _original("minihta"),
    "okonomi": _original("okonomi"),
    "crash": _original("crash"),  # put, then the process died before its row was committed
}
LETTERS = (b"%PDF-1.7 vedtaksbrev (PDF)", b"PK\x03\x04 vedtaksbrev (DOCX)")


def _needles(name: str) -> list[bytes]:
    data = ORIGINALS[name]
    return [f"OPPLASTET-ORIGINAL-{name}".encode(), data[64:128], data[-200:-136]]


@pytest.fixture(params=["sqlite", "postgresql"])
def old_instance(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(instance folder, database URL) at revision 0007."""
    instance = tmp_path / "instance"
    instance.mkdir()
    if request.param == "sqlite":
        url = db.default_url(instance)
        yield instance, url
        return
    if not pgutil.available():
        pytest.skip("no PostgreSQL server: set SKJEMAMOTTAK_TEST_POSTGRES_URL")
    name = pgutil.create_database()
    try:
        yield instance, pgutil.url_for(name)
    finally:
        pgutil.drop_database(name)


def _write_as_before(engine: Engine, blobs: FileBlobStore) -> dict[str, str]:
    """Rows and blobs as the code before 0008 wrote them; returns {name: sha256}."""
    shas = {name: blobs.put(data) for name, data in ORIGINALS.items()}
    letters = [blobs.put(data) for data in LETTERS]
    with engine.begin() as conn:
        for name, data in list(ORIGINALS.items())[:4]:
            conn.execute(
                text(
                    "INSERT INTO blobs (sha256, size, content_type, created_at) "
                    "VALUES (:s, :n, 'application/pdf', :t)"
                ),
                {"s": shas[name], "n": len(data), "t": NOW.replace(tzinfo=None)},
            )
        for sha, data in zip(letters, LETTERS, strict=True):
            conn.execute(
                text(
                    "INSERT INTO blobs (sha256, size, content_type, created_at) "
                    "VALUES (:s, :n, 'application/pdf', :t)"
                ),
                {"s": sha, "n": len(data), "t": NOW.replace(tzinfo=None)},
            )
        for case_id, form_type, state in (
            ("2026-09-14-OUS-KREFT", "tilgang-del2", "avgjort"),
            ("MMV-2026-001", "minihta", "mottatt"),
        ):
            conn.execute(
                text(
                    "INSERT INTO cases (id, form_type, hf, state, urgent, created_at, "
                    "updated_at, version) VALUES (:id, :f, 'OUS', :s, false, :t, :t, 1)"
                ),
                {"id": case_id, "f": form_type, "s": state, "t": NOW.replace(tzinfo=None)},
            )
        version = text(
            "INSERT INTO case_versions (case_id, number, data, blob_sha256, file_suffix, "
            "uploaded_by, received_at, warnings) VALUES (:c, :n, '{}', :s, '.pdf', 'hf-ous', "
            ":t, '[]')"
        )
        for case_id, number, name in (
            ("2026-09-14-OUS-KREFT", 1, "del2-v1"),
            ("2026-09-14-OUS-KREFT", 2, "del2-v2"),
            ("MMV-2026-001", 1, "minihta"),
        ):
            conn.execute(
                version,
                {"c": case_id, "n": number, "s": shas[name], "t": NOW.replace(tzinfo=None)},
            )
        conn.execute(
            text(
                "INSERT INTO minihta_attachments (case_id, form_type, number, data, blob_sha256, "
                "file_suffix, uploaded_by, received_at, warnings) VALUES ('MMV-2026-001', "
                "'minihta-okonomi', 1, '{}', :s, '.xlsx', 'hf-ous', :t, '[]')"
            ),
            {"s": shas["okonomi"], "t": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO decisions (case_id, outcome, body, reasoning, decided_on, "
                "recorded_by, recorded_at, pdf_sha256, docx_sha256) VALUES "
                "('2026-09-14-OUS-KREFT', 'innvilget', '{}', '', :d, 'koordinator', :t, :p, :x)"
            ),
            {
                "d": date(2026, 11, 20),
                "t": NOW.replace(tzinfo=None),
                "p": letters[0],
                "x": letters[1],
            },
        )
    # a temporary file of a put cut short, and a crash orphan older than fsck's grace
    tmp = blobs.root / shas["crash"][:2] / ".tmp-avbrutt"
    tmp.write_bytes(ORIGINALS["crash"][:4000])
    old = time.time() - 5
    os.utime(blobs.path_for(shas["crash"]), (old, old))
    return shas


def _cli(instance: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SKJEMAMOTTAK_INSTANCE": str(instance)}
    env.pop("SKJEMAMOTTAK_BLOB_KEY", None)
    if url.startswith("sqlite"):
        env.pop("SKJEMAMOTTAK_DATABASE_URL", None)
    else:
        env["SKJEMAMOTTAK_DATABASE_URL"] = url
    return run_cli(*args, env=env)


def _every_byte(folder: Path) -> list[tuple[Path, bytes]]:
    """Every file under the folder, and every entry of every ZIP file in it, decompressed."""
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        out.append((path, data))
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                out.extend((path / n, zf.read(n)) for n in zf.namelist())
    return out


def test_upgrade_removes_every_stored_original_and_keeps_the_letters(
    old_instance: tuple[Path, str], tmp_path: Path
) -> None:
    instance, url = old_instance
    command.upgrade(db.alembic_config(url), BEFORE)
    engine = db.make_engine(url)
    blobs = FileBlobStore(db.blob_path(instance))
    try:
        shas = _write_as_before(engine, blobs)
    finally:
        engine.dispose()
    assert all(blobs.exists(s) for s in shas.values())  # the old state: originals on disk

    out = _cli(instance, url, "db", "upgrade")
    assert out.returncode == 0, out.stderr
    # four referenced originals, the crash orphan and the temporary file
    assert "Slettet 6 opplastede filer" in out.stdout, out.stdout

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            kept = dict(
                conn.execute(
                    text("SELECT case_id || '/' || number, file_sha256 FROM case_versions")
                ).all()
            )
            attached = conn.execute(text("SELECT file_sha256 FROM minihta_attachments")).all()
            blob_rows = set(conn.scalars(text("SELECT sha256 FROM blobs")))
            listed = conn.execute(text("SELECT count(*) FROM blob_deletions")).scalar()
    finally:
        engine.dispose()
    # the hashes stay (the receipt), as a plain column
    assert kept == {
        "2026-09-14-OUS-KREFT/1": shas["del2-v1"],
        "2026-09-14-OUS-KREFT/2": shas["del2-v2"],
        "MMV-2026-001/1": shas["minihta"],
    }
    assert attached == [(shas["okonomi"],)]
    letters = {hashlib.sha256(d).hexdigest() for d in LETTERS}
    assert blob_rows == letters and listed == 0
    assert set(blobs.iter_all()) == letters and blobs.temp_files() == []
    assert _cli(instance, url, "fsck").returncode == 0  # every row's file is there

    archive = tmp_path / "etter.zip"  # beside the instance folder: both are scanned
    made = _cli(instance, url, "backup", str(archive))
    assert made.returncode == 0, made.stderr
    files = _every_byte(tmp_path)
    assert archive in {p for p, _ in files}
    for name in ORIGINALS:
        for needle in _needles(name):
            hits = [str(p) for p, content in files if needle in content]
            assert hits == [], (name, hits)
    for data in LETTERS:  # the service's own renderings are kept, and backed up
        assert any(data in content for p, content in files if archive in p.parents)


def test_a_purge_cut_short_is_finished_by_the_next_upgrade(
    old_instance: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.runtime import open_storage
    from web.settings import Settings

    instance, url = old_instance
    command.upgrade(db.alembic_config(url), BEFORE)
    engine = db.make_engine(url)
    blobs = FileBlobStore(db.blob_path(instance))
    try:
        shas = _write_as_before(engine, blobs)
    finally:
        engine.dispose()
    # the migration commits, then the process dies before any file is deleted
    db.upgrade(url)
    assert all(blobs.exists(s) for s in shas.values())
    st = open_storage(Settings.load({}, instance, {"DATABASE_URL": url}), migrate=False)
    try:
        report = st.upgrade()  # nothing left to migrate: the list is finished, with the sweep
    finally:
        st.engine.dispose()
    assert report.listed == 4 and report.swept is not None
    assert not any(blobs.exists(s) for s in shas.values())


def test_downgrade_puts_the_old_columns_back_without_the_files(
    old_instance: tuple[Path, str],
) -> None:
    from storage.fsck import fsck

    instance, url = old_instance
    command.upgrade(db.alembic_config(url), BEFORE)
    engine = db.make_engine(url)
    blobs = FileBlobStore(db.blob_path(instance))
    try:
        shas = _write_as_before(engine, blobs)
        db.upgrade(url)
        command.downgrade(db.alembic_config(url), BEFORE)
        with engine.connect() as conn:
            pointed = set(conn.scalars(text("SELECT blob_sha256 FROM case_versions")))
            pointed |= set(conn.scalars(text("SELECT blob_sha256 FROM minihta_attachments")))
        assert pointed == {shas[n] for n in ("del2-v1", "del2-v2", "minihta", "okonomi")}
        for sha in pointed:  # the files were not purged (no `Storage.upgrade` here) ...
            blobs.delete(sha)  # ... and once they are gone, fsck says so
        report = fsck(engine, blobs, repair=False, grace_seconds=0)
        assert set(report.missing) == pointed
    finally:
        engine.dispose()
