"""Service unit tests on the in-memory unit of work (tests/fakes.py): no database, milliseconds."""

from __future__ import annotations

import pytest

from storage.blobs import MemoryBlobStore
from tests.fakes import FakeUnitOfWork
from tests.storage.helpers import NOW


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(blobs=MemoryBlobStore(), clock=lambda: NOW)
