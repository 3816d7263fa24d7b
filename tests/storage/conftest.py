"""Fixtures: a fake unit of work, and a migrated database with a blob folder.

Integration tests run on SQLite always and on PostgreSQL when `SKJEMAMOTTAK_TEST_POSTGRES_URL`
names a server (CI starts one with `.ci/postgres.sh`). Each PostgreSQL test gets its own database,
copied from a migrated template database.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from storage import db
from storage.blobs import FileBlobStore, MemoryBlobStore
from storage.uow import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from tests import pgutil
from tests.fakes import FakeUnitOfWork
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


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database that every PostgreSQL test copies (CREATE DATABASE … TEMPLATE)."""
    name = pgutil.create_database()
    db.upgrade(pgutil.url_for(name))
    yield name
    pgutil.drop_database(name)


def _skip_without_postgresql(backend: str) -> None:
    if backend == "postgresql" and not pgutil.available():
        pytest.skip("no PostgreSQL server: set SKJEMAMOTTAK_TEST_POSTGRES_URL (see .ci/run)")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    _skip_without_postgresql(request.param)
    return request.param


@contextmanager
def _engine_for(backend: str, instance: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    if backend == "sqlite":
        eng = db.make_engine(db.default_url(instance))
        yield eng
        eng.dispose()
        return
    name = pgutil.create_database(request.getfixturevalue("pg_template"))
    eng = db.make_engine(pgutil.url_for(name))
    try:
        yield eng
    finally:
        eng.dispose()
        pgutil.drop_database(name)


@pytest.fixture
def engine(backend: str, instance: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    with _engine_for(backend, instance, request) as eng:
        yield eng


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def service_uow(request: pytest.FixtureRequest, instance: Path) -> Iterator[AbstractUnitOfWork]:
    """A unit of work for service tests that hold for the fake as for the adapters: the same test
    runs on `tests/fakes.py`, on SQLite and on PostgreSQL (when configured)."""
    if request.param == "memory":
        yield FakeUnitOfWork(blobs=MemoryBlobStore(), clock=lambda: NOW)
        return
    _skip_without_postgresql(request.param)
    with _engine_for(request.param, instance, request) as eng:
        blobs = FileBlobStore(db.blob_path(instance))
        yield SqlAlchemyUnitOfWork(db.session_factory(eng), blobs, clock=lambda: NOW)


@pytest.fixture
def blob_store(instance: Path) -> FileBlobStore:
    return FileBlobStore(db.blob_path(instance))


@pytest.fixture
def sql_uow(engine: Engine, blob_store: FileBlobStore) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(db.session_factory(engine), blob_store, clock=lambda: NOW)
