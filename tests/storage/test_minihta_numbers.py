"""Issue 11, finding 5 (b): only an accepted, stored mini-HTA spends a case number.

`MMV-YYYY-NNN` has room for 999 cases a year (the format is contract). Every other outcome of an
upload (a rejected or incomplete file, a refused uploader, a case that cannot be created, a
failure before the commit, the exhausted year itself) must leave the year's sequence where it
was: the value is read from the database before and after, on SQLite and PostgreSQL, and on the
in-memory unit of work.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from processor.domain import Actor
from processor.errors import DomainError
from services.upload import upload
from storage.models import MinihtaSequence
from storage.repository import SqlAlchemyAuditRepository
from storage.uow import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from tests import pgutil
from tests.fakes import FakeAuditRepository, FakeUnitOfWork
from tests.storage.helpers import HF_OUS, HF_STO, TODAY, minihta

YEAR = TODAY.year
KOMITE = Actor("komite", frozenset({"komite"}), "SIHF")


def sequence(uow: AbstractUnitOfWork) -> int:
    if isinstance(uow, FakeUnitOfWork):
        return uow.cases.sequences.get(YEAR, 0)
    with uow:
        value = uow.session.scalar(  # type: ignore[attr-defined]
            select(MinihtaSequence.last_number).where(MinihtaSequence.year == YEAR)
        )
    return int(value or 0)


@pytest.fixture(params=["sqlite", "postgresql", "fake"])
def backend(request: pytest.FixtureRequest) -> str:
    """As in conftest, plus the in-memory unit of work."""
    if request.param == "postgresql" and not pgutil.available():
        pytest.skip("no PostgreSQL server: set SKJEMAMOTTAK_TEST_POSTGRES_URL (see .ci/run)")
    return request.param


@pytest.fixture
def uow(backend: str, request: pytest.FixtureRequest) -> AbstractUnitOfWork:
    if backend == "fake":
        return request.getfixturevalue("fake_uow")
    return request.getfixturevalue("sql_uow")


def accept(uow: AbstractUnitOfWork) -> str:
    result = upload(HF_OUS, "m.json", minihta(), uow, TODAY)
    assert result.accepted and result.case_id
    return result.case_id


def test_an_accepted_minihta_spends_exactly_one_number(uow: AbstractUnitOfWork) -> None:
    before = sequence(uow)
    case_id = accept(uow)
    assert sequence(uow) == before + 1
    assert case_id == f"MMV-{YEAR}-{before + 1:03d}"


@pytest.mark.parametrize(
    "filename, data, status",
    [
        ("m.json", minihta(**{"generelt.tittel": None}), "incomplete"),
        ("m.json", b'{"skjema": "minihta", "versjon": ', "rejected"),
        ("notat.txt", b"ikke et skjema", "rejected"),
    ],
    ids=["incomplete", "broken-json", "not-a-form"],
)
def test_a_rejected_or_incomplete_upload_spends_no_number(
    uow: AbstractUnitOfWork, filename: str, data: bytes, status: str
) -> None:
    accept(uow)
    before = sequence(uow)
    for _ in range(3):
        result = upload(HF_OUS, filename, data, uow, TODAY)
        assert result.status == status
    assert sequence(uow) == before


@pytest.mark.parametrize(
    "who, code",
    [(HF_STO, "UPLOADER_HF_MISMATCH"), (KOMITE, "FORBIDDEN")],
    ids=["other-hf", "komite"],
)
def test_a_refused_uploader_spends_no_number(
    uow: AbstractUnitOfWork, who: Actor, code: str
) -> None:
    accept(uow)
    before = sequence(uow)
    with pytest.raises(DomainError) as e:
        upload(who, "m.json", minihta(), uow, TODAY)
    assert e.value.code == code
    assert sequence(uow) == before


def test_a_failure_before_the_commit_spends_no_number(
    uow: AbstractUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    accept(uow)
    before = sequence(uow)

    def full_disk(self: object, **event: object) -> None:
        raise OSError("no space left on device")

    # the audit event is the upload's last write before the commit (the file itself is never
    # written: FORMS.md section 6, rule 3); the SQL unit of work makes its repository on entry
    for repository in (SqlAlchemyAuditRepository, FakeAuditRepository):
        monkeypatch.setattr(repository, "append", full_disk)
    with pytest.raises(OSError):
        upload(HF_OUS, "m.json", minihta(), uow, TODAY)
    monkeypatch.undo()
    assert sequence(uow) == before
    assert accept(uow) == f"MMV-{YEAR}-{before + 1:03d}"  # the number was not lost


def test_a_conflict_spends_no_number(uow: AbstractUnitOfWork) -> None:
    if isinstance(uow, FakeUnitOfWork):
        pytest.skip("the database decides a conflict")
    sql_uow = uow
    assert isinstance(sql_uow, SqlAlchemyUnitOfWork)
    """The next number's case exists already (here: made by hand): every attempt rolls back."""
    accept(sql_uow)
    before = sequence(sql_uow)
    with sql_uow:
        sql_uow.session.execute(  # type: ignore[union-attr]
            update(MinihtaSequence).where(MinihtaSequence.year == YEAR).values(last_number=0)
        )
        sql_uow.commit()
    with pytest.raises(DomainError) as e:
        upload(HF_OUS, "m.json", minihta(), sql_uow, TODAY)
    assert e.value.code == "CONFLICT"
    assert sequence(sql_uow) == 0
    assert before == 1


def test_the_exhausted_year_does_not_move_the_sequence(uow: AbstractUnitOfWork) -> None:
    accept(uow)
    if isinstance(uow, FakeUnitOfWork):
        uow.cases.sequences[YEAR] = 999
    else:
        with uow:
            uow.session.execute(  # type: ignore[attr-defined]
                update(MinihtaSequence).where(MinihtaSequence.year == YEAR).values(last_number=999)
            )
            uow.commit()
    for _ in range(2):
        with pytest.raises(DomainError) as e:
            upload(HF_OUS, "m.json", minihta(), uow, TODAY)
        assert e.value.code == "SEQUENCE_EXHAUSTED" and e.value.http_status == 409
    assert sequence(uow) == 999
