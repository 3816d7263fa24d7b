"""`skjemamottak backup` and restore (issue 8): one consistent, portable snapshot file.

Round trips run SQLite → SQLite and, when a PostgreSQL server is configured, SQLite → PostgreSQL,
PostgreSQL → SQLite and PostgreSQL → PostgreSQL.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text

from services.cases import price_check, set_urgent, transition
from services.upload import upload
from services.users import add_user, create_token
from storage import backup as backup_module
from storage import db
from storage.audit import verify
from storage.backup import RestoreError, backup, rebuild_search_index, restore
from storage.blobs import FileBlobStore, sha256_hex
from storage.crypto import EncryptedFileBlobStore, Keyring
from storage.models import Case, User
from storage.models_minihta import SEARCH_TABLE, Publication
from storage.tables import metadata
from storage.uow import SqlAlchemyUnitOfWork
from tests import pgutil
from tests.storage.helpers import (
    HF_OUS,
    KOORDINATOR,
    NOW,
    PRISKONTROLL,
    REFERENCE,
    TODAY,
    del2,
    minihta,
)

UPLOADS = (del2(), del2(**{"pasient.diagnosekode": "C34.9"}), minihta())
LETTERS = (b"%PDF-1.7 vedtaksbrev", b"PK\x03\x04 vedtaksbrev (docx)")


def _letters(uow: SqlAlchemyUnitOfWork) -> None:
    """The decision letters of the Del 2 case: the blobs (the service's own renderings)."""
    from storage.models_committee import Decision

    with uow:
        shas = [uow.blobs.put(data) for data in LETTERS]
        for sha, data in zip(shas, LETTERS, strict=True):
            uow.cases.add_blob(sha, len(data), "application/pdf", NOW)
        uow.session.add(
            Decision(
                case_id=REFERENCE,
                outcome="innvilget",
                body={"utfall": "innvilget"},
                reasoning="Vilkårene er oppfylt.",
                decided_on=TODAY,
                recorded_by="koordinator",
                recorded_at=NOW,
                pdf_sha256=shas[0],
                docx_sha256=shas[1],
            )
        )
        uow.commit()


def _fill(uow: SqlAlchemyUnitOfWork) -> None:
    """Rows in every table the services write: users and roles, a token, cases, versions,
    transitions, a price check (floats, booleans), mini-HTA numbering, JSON, the audit chain,
    and blobs (decision letters; uploaded files are never stored)."""
    add_user(uow, "koordinator", roles=["koordinator"], fagomrader=["kreft", "hjerte"])
    add_user(uow, "hf-ous", roles=["hf"], hf="OUS", beslutningstaker=True)
    create_token(uow, "hf-ous")
    upload(HF_OUS, "soknad.json", UPLOADS[0], uow, TODAY)
    transition(KOORDINATOR, REFERENCE, "mottatt", "returnert", "Mangler CT", uow)
    upload(HF_OUS, "soknad.json", UPLOADS[1], uow, TODAY)
    transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, uow)
    price_check(PRISKONTROLL, REFERENCE, 61250.5, "Ny avtalepris", uow)
    set_urgent(KOORDINATOR, REFERENCE, True, "Rask progresjon", uow)
    upload(HF_OUS, "minihta.json", UPLOADS[2], uow, TODAY)
    _letters(uow)


def _dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as conn:
        return {
            t.name: [
                dict(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns)).mappings()
            ]
            for t in metadata.sorted_tables
        }


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A new database without any table (the restore migrates it)."""
    if request.param == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'restored' / db.DB_FILE}")
        yield eng
        eng.dispose()
        return
    if not pgutil.available():
        pytest.skip("no PostgreSQL server: set SKJEMAMOTTAK_TEST_POSTGRES_URL (see .ci/run)")
    name = pgutil.create_database()
    eng = db.make_engine(pgutil.url_for(name))
    try:
        yield eng
    finally:
        eng.dispose()
        pgutil.drop_database(name)


@pytest.fixture
def filled(engine: Engine, sql_uow: SqlAlchemyUnitOfWork) -> Engine:
    _fill(sql_uow)
    return engine


@pytest.fixture
def sqlite_engine(instance: Path) -> Iterator[Engine]:
    """For the checks that do not depend on the backend."""
    eng = db.make_engine(db.default_url(instance))
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_filled(sqlite_engine: Engine, blob_store: FileBlobStore) -> Engine:
    _fill(SqlAlchemyUnitOfWork(db.session_factory(sqlite_engine), blob_store, clock=lambda: NOW))
    return sqlite_engine


def _publish(engine: Engine) -> str:
    """A published mini-HTA row and its entry in the backend's search index."""
    with engine.begin() as conn:
        case_id = conn.execute(select(Case.id).where(Case.form_type == "minihta")).scalar_one()
        conn.execute(
            insert(Publication).values(
                case_id=case_id,
                title="Tittel",
                hf="OUS",
                year=2026,
                fagomrade="kreft",
                konklusjon="innført",
                summary="",
                search_text="Pembrolizumab ved lungekreft i Tromsø",
                published_at=NOW,
            )
        )
        rebuild_search_index(conn)
    return case_id


def _search(engine: Engine, word: str) -> list[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = f"SELECT case_id FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :q"
        else:
            sql = (
                "SELECT case_id FROM minihta_publications "
                "WHERE search_vector @@ plainto_tsquery('norwegian', :q)"
            )
        return list(conn.scalars(text(sql), {"q": word}))


def test_round_trip_restores_every_row_every_blob_and_the_audit_chain(
    filled: Engine, blob_store: FileBlobStore, empty_engine: Engine, tmp_path: Path
) -> None:
    published = _publish(filled)
    archive = tmp_path / "kopi.zip"
    report = backup(filled, blob_store, archive)
    assert archive.is_file()
    assert report.revision == db.current_revision(filled)
    assert report.tables["case_versions"] == 3
    assert report.blobs == len(LETTERS)  # the letters; never an uploaded file
    assert not list(tmp_path.glob(".kopi.zip.tmp-*"))
    with zipfile.ZipFile(archive) as zf:
        content = b"".join(zf.read(name) for name in zf.namelist())
    assert all(data not in content for data in UPLOADS)
    assert all(data in content for data in LETTERS)

    target_blobs = FileBlobStore(tmp_path / "restored-blobs")
    result = restore(archive, empty_engine, target_blobs)
    assert result.audit_ok
    assert result.blobs == len(LETTERS)
    assert result.tables == report.tables

    before, after = _dump(filled), _dump(empty_engine)
    assert after == before
    assert db.current_revision(empty_engine) == report.revision
    for sha in blob_store.iter_all():
        assert target_blobs.get(sha) == blob_store.get(sha)
    with db.session_factory(empty_engine)() as session:
        assert verify(session) == (True, None)
    assert _search(empty_engine, "Tromsø") == [published]  # the search index is rebuilt

    # the restored database is live: new rows get new ids, the chain goes on
    uow = SqlAlchemyUnitOfWork(db.session_factory(empty_engine), target_blobs, clock=lambda: NOW)
    add_user(uow, "ny", roles=["koordinator"])
    with db.session_factory(empty_engine)() as session:
        assert verify(session) == (True, None)
        ids = session.scalars(select(User.id).order_by(User.id)).all()
        assert len(ids) == len(set(ids)) == 3


def test_the_archive_holds_json_lines_a_manifest_and_plaintext_blobs(
    sqlite_filled: Engine, instance: Path, tmp_path: Path
) -> None:
    encrypted = EncryptedFileBlobStore(instance / "blobs-enc", Keyring.of(bytes(range(32))))
    plain = FileBlobStore(db.blob_path(instance))
    for sha in plain.iter_all():
        encrypted.put(plain.get(sha))
    archive = tmp_path / "kopi.zip"
    backup(sqlite_filled, encrypted, archive)
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["alembic_revision"] == db.current_revision(sqlite_filled)
        assert [t["name"] for t in manifest["tables"]] == [t.name for t in metadata.sorted_tables]
        assert manifest["blobs"]["encoding"] == "plaintext"
        for name, entry in manifest["members"].items():
            assert sha256_hex(zf.read(name)) == entry["sha256"]
        for sha in plain.iter_all():
            assert zf.read(f"blobs/{sha}") == plain.get(sha)  # decrypted: any key can restore
        first = json.loads(zf.read("db/cases.jsonl").splitlines()[0])
        assert first["urgent"] is True
        assert first["created_at"].endswith("+00:00")


def test_a_backup_restores_under_another_key(
    sqlite_filled: Engine, blob_store: FileBlobStore, tmp_path: Path
) -> None:
    archive = tmp_path / "kopi.zip"
    backup(sqlite_filled, blob_store, archive)
    target = db.make_engine(f"sqlite:///{tmp_path / 'ny.db'}")
    keyed = EncryptedFileBlobStore(tmp_path / "ny-blobs", Keyring.of(bytes([7]) * 32))
    try:
        restore(archive, target, keyed)
    finally:
        target.dispose()
    for sha in blob_store.iter_all():
        assert keyed.key_id_of(sha) is not None
        assert keyed.get(sha) == blob_store.get(sha)


def _rewrite(archive: Path, out: Path, change: dict[str, bytes | None]) -> None:
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = change.get(info.filename, src.read(info.filename))
            if data is not None:
                dst.writestr(info.filename, data)


def test_a_damaged_archive_member_is_refused_before_anything_is_written(
    sqlite_filled: Engine, blob_store: FileBlobStore, tmp_path: Path
) -> None:
    archive = tmp_path / "kopi.zip"
    backup(sqlite_filled, blob_store, archive)
    with zipfile.ZipFile(archive) as zf:
        cases = zf.read("db/cases.jsonl")
        blob_name = next(n for n in zf.namelist() if n.startswith("blobs/"))
    bad_rows = tmp_path / "rader.zip"
    _rewrite(archive, bad_rows, {"db/cases.jsonl": cases.replace(b"mottatt", b"avgjort")})
    bad_blob = tmp_path / "fil.zip"
    _rewrite(archive, bad_blob, {blob_name: b"something else"})
    missing = tmp_path / "mangler.zip"
    _rewrite(archive, missing, {blob_name: None})
    not_zip = tmp_path / "tull.zip"
    not_zip.write_bytes(b"not a zip file")

    for path in (bad_rows, bad_blob, missing, not_zip):
        target = db.make_engine(f"sqlite:///{tmp_path / path.stem / 'db.sqlite'}")
        blobs = FileBlobStore(tmp_path / path.stem / "blobs")
        try:
            with pytest.raises(RestoreError, match="skadet") as excinfo:
                restore(path, target, blobs)
            assert "Ingenting er endret" in excinfo.value.message
            assert db.current_revision(target) is None
            assert list(blobs.iter_all()) == []
        finally:
            target.dispose()


def test_restore_into_a_database_with_data_is_refused(
    filled: Engine, blob_store: FileBlobStore, tmp_path: Path
) -> None:
    archive = tmp_path / "kopi.zip"
    backup(filled, blob_store, archive)
    before = _dump(filled)
    with pytest.raises(RestoreError, match="ikke tom") as excinfo:
        restore(archive, filled, blob_store)
    assert "cases" in excinfo.value.message
    assert _dump(filled) == before


def test_restore_into_a_migrated_empty_database_is_accepted(
    engine: Engine, blob_store: FileBlobStore, tmp_path: Path
) -> None:
    source = db.make_engine(f"sqlite:///{tmp_path / 'kilde.db'}")
    try:
        db.upgrade(engine=source)
        uow = SqlAlchemyUnitOfWork(db.session_factory(source), blob_store, clock=lambda: NOW)
        upload(HF_OUS, "soknad.json", del2(), uow, TODAY)
        archive = tmp_path / "kopi.zip"
        backup(source, blob_store, archive)
        restore(archive, engine, FileBlobStore(tmp_path / "b"))  # the fixture is migrated
        assert _dump(engine) == _dump(source)
    finally:
        source.dispose()


def test_a_broken_audit_chain_is_not_restored(
    sqlite_filled: Engine, blob_store: FileBlobStore, tmp_path: Path
) -> None:
    with sqlite_filled.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'noen-andre' WHERE seq = 2"))
    archive = tmp_path / "kopi.zip"
    backup(sqlite_filled, blob_store, archive)
    target = db.make_engine(f"sqlite:///{tmp_path / 'ny.db'}")
    try:
        with pytest.raises(RestoreError, match="Revisjonsloggen"):
            restore(archive, target, FileBlobStore(tmp_path / "nb"))
        assert _dump(target)["cases"] == []
    finally:
        target.dispose()


def test_a_missing_blob_stops_the_backup_and_an_existing_file_is_not_overwritten(
    sqlite_filled: Engine, blob_store: FileBlobStore, tmp_path: Path
) -> None:
    sha = next(iter(blob_store.iter_all()))
    blob_store.delete(sha)
    archive = tmp_path / "kopi.zip"
    with pytest.raises(backup_module.BackupError, match="fsck"):
        backup(sqlite_filled, blob_store, archive)
    assert not archive.exists() and list(tmp_path.glob(".kopi.zip*")) == []
    report = backup(sqlite_filled, blob_store, archive, allow_missing=True)
    assert report.missing_blobs == [sha]
    with pytest.raises(backup_module.BackupError, match="finnes fra før"):
        backup(sqlite_filled, blob_store, archive)


def test_the_snapshot_is_one_transaction(
    filled: Engine, blob_store: FileBlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row committed by someone else while the backup reads table after table is not in it."""
    real = backup_module._revision
    writer = filled.connect()

    def revision_then_concurrent_write(conn):  # type: ignore[no-untyped-def]
        rev = real(conn)
        conn.execute(select(User.id)).all()  # the snapshot starts at the first read
        with writer.begin():
            writer.execute(insert(User).values(username="midt-i", display_name="x"))
        return rev

    monkeypatch.setattr(backup_module, "_revision", revision_then_concurrent_write)
    try:
        report = backup(filled, blob_store, tmp_path / "kopi.zip")
    finally:
        writer.close()
    assert report.tables["users"] == 2
    with filled.connect() as conn:
        assert len(conn.execute(select(User.id)).all()) == 3


def test_a_hand_made_archive_whose_rows_do_not_fit_restores_no_rows(
    sqlite_filled: Engine, blob_store: FileBlobStore, tmp_path: Path
) -> None:
    archive = tmp_path / "kopi.zip"
    backup(sqlite_filled, blob_store, archive)
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        versions = zf.read("db/case_versions.jsonl")
    # a version pointing at a case that is not there, with hashes made to match
    changed = versions.replace(f'"case_id":"{REFERENCE}"'.encode(), b'"case_id":"FINNES-IKKE"', 1)
    assert changed != versions
    manifest["members"]["db/case_versions.jsonl"] = {
        "sha256": sha256_hex(changed),
        "size": len(changed),
    }
    forged = tmp_path / "laget.zip"
    _rewrite(
        archive,
        forged,
        {"db/case_versions.jsonl": changed, "manifest.json": json.dumps(manifest).encode()},
    )
    target = db.make_engine(f"sqlite:///{tmp_path / 'ny.db'}")
    try:
        with pytest.raises(RestoreError, match="ikke gyldig"):
            restore(forged, target, FileBlobStore(tmp_path / "nb"))
        left = {name: rows for name, rows in _dump(target).items() if rows}
        assert list(left) == ["audit_head"]  # only the migration's start row
        assert left["audit_head"][0]["last_seq"] == 0
    finally:
        target.dispose()
