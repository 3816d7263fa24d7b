"""Fixtures: a fake unit of work, and a migrated SQLite database with a blob folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

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


@pytest.fixture
def engine(instance: Path) -> Iterator[Engine]:
    eng = db.make_engine(db.default_url(instance))
    yield eng
    eng.dispose()


@pytest.fixture
def blob_store(instance: Path) -> FileBlobStore:
    return FileBlobStore(db.blob_path(instance))


@pytest.fixture
def sql_uow(engine: Engine, blob_store: FileBlobStore) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(db.session_factory(engine), blob_store, clock=lambda: NOW)
