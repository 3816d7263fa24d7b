"""Fixtures: a fake unit of work, and a migrated database with a blob folder.

Integration tests run on SQLite always and on PostgreSQL when `SKJEMAMOTTAK_TEST_POSTGRES_URL`
names a server (CI starts one with `.ci/postgres.sh`). Each PostgreSQL test gets its own database,
copied from a migrated template database.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from storage import db
from storage.blobs import FileBlobStore, MemoryBlobStore
from storage.uow import FakeUnitOfWork, SqlAlchemyUnitOfWork
from tests.storage.helpers import NOW


@pytest.fixture
def fake_uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(blobs=MemoryBlobStore(), clock=lambda: NOW)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head per test run; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / db.DB_FILE
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def instance(tmp_path: Path, migrated_template: Path) -> Path:
    folder = tmp_path / "instance"
    folder.mkdir()
    shutil.copyfile(migrated_template, folder / db.DB_FILE)
    return folder


PG_URL = os.environ.get("SKJEMAMOTTAK_TEST_POSTGRES_URL")
PG_TEMPLATE = f"skjemamottak_test_template_{os.getpid()}"  # one per test run


def _pg_admin() -> Engine:
    assert PG_URL
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def _pg_url(database: str) -> str:
    assert PG_URL
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_TEMPLATE}"'))
    db.upgrade(_pg_url(PG_TEMPLATE))
    yield PG_TEMPLATE
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("no PostgreSQL server: set SKJEMAMOTTAK_TEST_POSTGRES_URL (see .ci/run)")
    return request.param


@pytest.fixture
def engine(backend: str, instance: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    if backend == "sqlite":
        eng = db.make_engine(db.default_url(instance))
        yield eng
        eng.dispose()
        return
    template = request.getfixturevalue("pg_template")
    name = f"skjemamottak_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    eng = db.make_engine(_pg_url(name))
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def blob_store(instance: Path) -> FileBlobStore:
    return FileBlobStore(db.blob_path(instance))


@pytest.fixture
def sql_uow(engine: Engine, blob_store: FileBlobStore) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(db.session_factory(engine), blob_store, clock=lambda: NOW)
