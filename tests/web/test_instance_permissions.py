"""Issue 11, finding 7 (a): the instance is the owner's only, whatever the umask.

The SQLite file and its `-wal`/`-shm` were created 0644 (readable by every local user): they
hold forms and the audit log. Now the instance folders are 0700 and the database, its WAL and
shared-memory files, the blobs, the secret key and backups are 0600. Each test runs under the
common umask 022, through the real commands (`db upgrade`, `backup`) and a real write served by
the app.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import db
from tests.fillers import fill_json, sample_values
from tests.web.conftest import add_users, make_app, on_postgres, st
from web.cli import main

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_db_upgrade_makes_a_private_instance_and_database(instance: Path) -> None:
    assert main(["db", "upgrade"]) == 0
    assert mode(instance) == 0o700
    assert mode(instance / db.DB_FILE) == 0o600
    assert mode(instance / "blobs") == 0o700
    for companion in instance.glob(f"{db.DB_FILE}-*"):  # -wal, -shm, -writegate if left
        assert mode(companion) == 0o600, companion.name


@pytest.mark.skipif(on_postgres(), reason="the SQLite files of the instance")
def test_a_served_write_leaves_private_database_wal_shm_blobs_and_key(instance: Path) -> None:
    app = make_app(instance)
    try:
        users = add_users(app, {"hf-ous": {"roles": ["hf"], "hf": "OUS"}})
        resp = app.test_client().post(
            "/api/v1/innsendinger",
            data={"fil": (io.BytesIO(fill_json("minihta", sample_values("minihta"))), "m.json")},
            headers=users.auth("hf-ous"),
            content_type="multipart/form-data",
        )
        assert resp.status_code == 201, resp.get_json()
        # while the engine is open SQLite keeps its write-ahead log and shared memory
        database = instance / db.DB_FILE
        wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
        assert wal.exists() and shm.exists()
        assert {p.name: mode(p) for p in (database, wal, shm)} == {
            p.name: 0o600 for p in (database, wal, shm)
        }
        assert mode(instance) == 0o700
        # an upload is never a blob (FORMS.md section 6, rule 3): the service's own renderings
        # are, such as a decision letter; one is written through the same store here
        st(app).blobs.put(b"%PDF-1.7 a letter the service rendered")
        blobs = [p for p in (instance / "blobs").rglob("*") if p.is_file()]
        folders = [p for p in (instance / "blobs").rglob("*") if p.is_dir()]
        assert blobs and folders
        assert {mode(p) for p in blobs} == {0o600}
        assert {mode(p) for p in [instance / "blobs", *folders]} == {0o700}
    finally:
        st(app).engine.dispose()


@pytest.mark.skipif(on_postgres(), reason="the SQLite files of the instance")
def test_an_older_instance_is_made_private_when_opened(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.app import create_app

    monkeypatch.delenv("SKJEMAMOTTAK_SECRET_KEY", raising=False)
    assert main(["db", "upgrade"]) == 0
    database = instance / db.DB_FILE
    first = make_app(instance)
    try:
        with st(first).engine.connect() as conn:  # the WAL and shm exist while it is open
            conn.exec_driver_sql("SELECT count(*) FROM users").scalar()
            wal = Path(f"{database}-wal")
            assert wal.exists()
            for path, old in ((instance, 0o755), (database, 0o644), (wal, 0o644)):
                os.chmod(path, old)  # as an instance made before this change
            second = create_app({"INSTANCE": instance})  # no SECRET_KEY: one is written
            try:
                assert (mode(instance), mode(database), mode(wal)) == (0o700, 0o600, 0o600)
                assert mode(instance / "secret_key") == 0o600
            finally:
                st(second).engine.dispose()
    finally:
        st(first).engine.dispose()


def test_a_backup_is_private(instance: Path, tmp_path: Path) -> None:
    assert main(["db", "upgrade"]) == 0
    out = tmp_path / "kopier" / "kopi.zip"
    assert main(["backup", str(out)]) == 0
    assert mode(out) == 0o600
    assert mode(out.parent) == 0o700
