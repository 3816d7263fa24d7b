"""The upload path's Core writes (`cases.create`, `audit.append`), and `cases.add_blob` of the
letters, store exactly what the ORM would, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, event, select, text

from storage import audit as audit_log
from storage import db, repository
from storage.audit import GENESIS
from storage.blobs import FileBlobStore
from storage.models import AuditHead, Blob, Case, CaseVersion, Transition
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.helpers import NOW

SHA = "ab" * 32


def _case(case_id: str, versions: int = 2) -> Case:
    case = Case(case_id, form_type="tilgang-del2", hf="OUS", state="mottatt", created_at=NOW)
    case.urgent, case.urgent_reason, case.version = True, "Rask progresjon", 3
    case.updated_at = NOW + timedelta(minutes=5)
    for n in range(1, versions + 1):
        case.versions.append(
            CaseVersion(
                number=n,
                data={"soknad": {"helseforetak": "OUS"}, "n": n, "tekst": "blåbær"},
                file_sha256=SHA,
                file_suffix=".pdf",
                uploaded_by="hf-ous",
                received_at=NOW + timedelta(seconds=n),
                warnings=[{"code": "LABEL_FALLBACK", "field": None}] if n == 1 else [],
            )
        )
        case.transitions.append(
            Transition(
                from_state=None if n == 1 else "returnert",
                to_state="mottatt",
                actor="hf-ous",
                reason=None if n == 1 else "Ny versjon",
                at=NOW + timedelta(seconds=n),
            )
        )
    return case


def _rows(engine: Engine, table: str, case_id: str) -> list[dict]:
    key = "id" if table == "cases" else "case_id"
    with engine.connect() as conn:
        result = conn.execute(text(f"SELECT * FROM {table} WHERE {key} = :c"), {"c": case_id})
        rows = [dict(r._mapping) for r in result]
    for row in rows:  # what differs by design between the two cases: their ids
        row.pop("id" if table != "cases" else "", None)
        row.pop(key, None)
    return sorted(rows, key=repr)


@pytest.mark.parametrize("versions", [1, 2], ids=["upload-shape", "two-versions"])
def test_create_writes_the_same_rows_as_the_orm(
    sql_uow: SqlAlchemyUnitOfWork, engine: Engine, versions: int
) -> None:
    with sql_uow:
        sql_uow.cases.add(_case("ORM-1", versions))
        sql_uow.cases.create(_case("CORE-1", versions))
        sql_uow.commit()
    for table in ("cases", "case_versions", "transitions"):
        orm, core = _rows(engine, table, "ORM-1"), _rows(engine, table, "CORE-1")
        assert orm and core == orm, table
    with sql_uow:
        loaded = sql_uow.cases.get("CORE-1")
        assert loaded is not None and loaded.version == 3 and loaded.urgent
        assert [v.data["n"] for v in loaded.versions] == list(range(1, versions + 1))
        assert loaded.versions[0].warnings == [{"code": "LABEL_FALLBACK", "field": None}]
        assert loaded.updated_at == NOW + timedelta(minutes=5)
        assert sql_uow.cases.exists("CORE-1") and not sql_uow.cases.exists("CORE-2")


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    return seen


def test_create_keeps_the_file_hash_and_writes_no_blob_row(
    sql_uow: SqlAlchemyUnitOfWork, engine: Engine
) -> None:
    with sql_uow:
        sql_uow.cases.create(_case("CORE-B1", 1))
        sql_uow.commit()
    with sql_uow:
        case = sql_uow.cases.get("CORE-B1")
        assert case is not None and [v.file_sha256 for v in case.versions] == [SHA]
        assert [t.to_state for t in case.transitions] == ["mottatt"]
        assert sql_uow.session.scalars(select(Blob.sha256)).all() == []


def test_an_upload_case_is_one_statement_on_postgresql(
    sql_uow: SqlAlchemyUnitOfWork, engine: Engine
) -> None:
    # PostgreSQL: case, version and transition in one statement, and the audit event
    # with the head's new hash in one more (a round trip costs more than the rows); elsewhere a
    # statement each
    seen = _statements(engine)
    with sql_uow:
        sql_uow.cases.create(_case("CORE-S1", 1))
        created = len(seen)
        sql_uow.audit.append(actor="x", action="case.create", object="case:CORE-S1", at=NOW)
        appended = len(seen) - created
        sql_uow.commit()
    if engine.dialect.name == "postgresql":
        assert (created, appended) == (1, 2)
    else:
        assert created == 3 and appended in (3, 4)
    with sql_uow:
        assert sql_uow.cases.exists("CORE-S1") and sql_uow.audit.verify() == (True, None)


def test_the_token_check_needs_no_transaction_on_postgresql(
    engine: Engine, blob_store: FileBlobStore
) -> None:
    from services.users import add_user, authenticate_token, create_token, hash_token

    uow = SqlAlchemyUnitOfWork(db.session_factory(engine), blob_store, clock=lambda: NOW)
    add_user(uow, "hf-ous", roles=["hf"], hf="OUS")
    token = create_token(uow, "hf-ous")
    statements = SqlAlchemyUnitOfWork(
        db.statement_session_factory(engine), blob_store, clock=lambda: NOW
    )
    states: list[object] = []

    @event.listens_for(engine, "after_cursor_execute")
    def _state(conn, _cursor, _statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        info = getattr(conn.connection.dbapi_connection, "info", None)
        if info is not None and hasattr(info, "transaction_status"):
            states.append(info.transaction_status.name)

    actor = authenticate_token(statements, token)
    assert actor is not None and actor.username == "hf-ous"
    with uow:  # the use was written, and is kept without a commit of a transaction
        assert uow.tokens.owner(hash_token(token)).last_used_at == NOW  # type: ignore[union-attr]
    if engine.dialect.name == "postgresql":
        # after the owner query and the use update: no transaction was opened around them
        assert states[:2] == ["IDLE", "IDLE"]
    event.remove(engine, "after_cursor_execute", _state)
    assert authenticate_token(statements, token + "x") is None


def test_create_flushes_pending_orm_changes_first(sql_uow: SqlAlchemyUnitOfWork) -> None:
    # the case is only pending in the session: the database must see it to refuse the id
    with sql_uow:
        sql_uow.cases.add(_case("CORE-2", versions=1))
        assert not sql_uow.cases.create(_case("CORE-2", versions=2))
        sql_uow.commit()
    with sql_uow:
        case = sql_uow.cases.get("CORE-2")
        assert case is not None and len(case.versions) == 1


@pytest.mark.parametrize("upsert", [True, False], ids=["on-conflict", "select-first"])
@pytest.mark.parametrize("versions", [1, 2], ids=["upload-shape", "two-versions"])
def test_a_case_created_twice_stores_nothing_the_second_time(
    sql_uow: SqlAlchemyUnitOfWork, monkeypatch: pytest.MonkeyPatch, versions: int, upsert: bool
) -> None:
    if not upsert:  # a dialect with neither ON CONFLICT nor data-modifying WITH
        monkeypatch.setattr(repository, "_INSERT_CASE_IF_NEW", {})
        monkeypatch.setattr(repository, "_CREATE_ONE_VERSION", {})
    with sql_uow:
        assert sql_uow.cases.create(_case("CORE-3", 1))
        sql_uow.commit()
    with sql_uow:
        assert not sql_uow.cases.create(_case("CORE-3", versions))
        sql_uow.commit()
    with sql_uow:
        case = sql_uow.cases.get("CORE-3")
        assert case is not None and len(case.versions) == len(case.transitions) == 1


def test_the_database_decides_which_of_two_creates_wins(
    engine: Engine, blob_store: FileBlobStore
) -> None:
    # the second waits for the first (row lock on PostgreSQL, write lock on SQLite) and then
    # finds the id taken: no error, no second version
    first = SqlAlchemyUnitOfWork(db.session_factory(engine), blob_store)
    second = SqlAlchemyUnitOfWork(db.session_factory(engine), blob_store)
    outcome: list[bool] = []
    with first:
        assert first.cases.create(_case("CORE-R", 1))

        def race() -> None:
            with second:
                outcome.append(second.cases.create(_case("CORE-R", 1)))
                second.commit()

        racer = threading.Thread(target=race)
        racer.start()
        racer.join(0.3)
        assert racer.is_alive() and outcome == []  # waiting for the first to finish
        first.commit()
    racer.join(10)
    assert outcome == [False]
    with first:
        case = first.cases.get("CORE-R")
        assert case is not None and len(case.versions) == 1


@pytest.mark.parametrize("upsert", [True, False], ids=["on-conflict", "select-first"])
def test_add_blob_adds_a_row_once(
    sql_uow: SqlAlchemyUnitOfWork, monkeypatch: pytest.MonkeyPatch, upsert: bool
) -> None:
    if not upsert:  # a dialect without INSERT … ON CONFLICT
        monkeypatch.setattr(repository, "_INSERT_BLOB_IF_NEW", {})
    later = NOW + timedelta(days=1)
    for at in (NOW, later):
        with sql_uow:
            sql_uow.cases.add_blob(SHA, 10, "application/pdf", at)
            sql_uow.commit()
    with sql_uow:
        rows = sql_uow.session.execute(select(Blob.sha256, Blob.size, Blob.created_at)).all()
    assert rows == [(SHA, 10, NOW)]


def _append_three(uow: SqlAlchemyUnitOfWork) -> None:
    for i in range(3):
        with uow:
            ev = uow.audit.append(actor="x", action="test", object=f"case:{i}", at=NOW)
            assert ev.seq == i + 1
            uow.commit()


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "without-returning"])
def test_audit_append_keeps_one_chain_and_the_head(
    sql_uow: SqlAlchemyUnitOfWork,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    returning: bool,
) -> None:
    if not returning:  # SQLite before 3.35 has no UPDATE … RETURNING
        monkeypatch.setattr(engine.dialect, "update_returning", False)
    _append_three(sql_uow)
    with sql_uow:
        assert sql_uow.audit.verify() == (True, None)
        events = sql_uow.audit.list()
        head = sql_uow.session.execute(select(AuditHead.last_seq, AuditHead.last_hash)).one()
        assert [e.seq for e in events] == [1, 2, 3]
        assert events[0].prev_hash == GENESIS and tuple(head) == (3, events[-1].hash)


def test_audit_append_restores_a_missing_head_row(
    sql_uow: SqlAlchemyUnitOfWork, engine: Engine
) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    _append_three(sql_uow)
    with sql_uow:
        assert sql_uow.audit.verify() == (True, None)


def test_audit_event_rolls_back_with_its_change(sql_uow: SqlAlchemyUnitOfWork) -> None:
    with pytest.raises(RuntimeError), sql_uow:
        sql_uow.audit.append(actor="x", action="test", object="case:1", at=NOW)
        raise RuntimeError("boom")
    with sql_uow:
        assert sql_uow.audit.list() == []
        assert audit_log.verify(sql_uow.session) == (True, None)


def test_token_owner_gives_the_actor_its_roles_and_last_use(
    sql_uow: SqlAlchemyUnitOfWork,
) -> None:
    from processor.domain import Actor
    from services.users import add_user, authenticate_token, create_token, hash_token

    add_user(sql_uow, "fagdir", roles=["komite", "fagfelle"], hf="STO")
    add_user(sql_uow, "slutta", roles=["hf"], hf="OUS")
    token = create_token(sql_uow, "fagdir")
    gone = create_token(sql_uow, "slutta")
    with sql_uow:
        sql_uow.users.get("slutta").active = False  # type: ignore[union-attr]
        sql_uow.commit()
    sha = hash_token(token)
    with sql_uow:
        owner = sql_uow.tokens.owner(sha)
        assert owner == (Actor("fagdir", frozenset({"komite", "fagfelle"}), "STO"), True, None)
        assert sql_uow.tokens.owner(hash_token(token + "x")) is None
        assert sql_uow.tokens.owner(hash_token(gone)).active is False  # type: ignore[union-attr]
        sql_uow.tokens.mark_used(sha, NOW)
        sql_uow.commit()
    with sql_uow:
        assert sql_uow.tokens.owner(sha).last_used_at == NOW  # type: ignore[union-attr]
    assert authenticate_token(sql_uow, gone) is None
    assert authenticate_token(sql_uow, token) == owner.actor


def test_an_upload_puts_nothing_in_the_blob_store(
    sql_uow: SqlAlchemyUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FORMS.md section 6, rule 3: the uploaded bytes are never written (not even as a blob)
    from services.upload import upload
    from tests.storage.helpers import HF_OUS, TODAY, del2

    def put(self, data: bytes) -> str:  # type: ignore[no-untyped-def]
        raise AssertionError("an upload wrote to the blob store")

    monkeypatch.setattr(type(sql_uow.blobs), "put", put)
    result = upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    assert result.accepted and result.file_sha256 == hashlib.sha256(del2()).hexdigest()
    with sql_uow:
        assert sql_uow.session.scalars(select(Blob.sha256)).all() == []


def test_a_reference_in_use_stores_no_file(sql_uow: SqlAlchemyUnitOfWork) -> None:
    from processor.errors import DomainError
    from services.upload import upload
    from tests.storage.helpers import HF_OUS, TODAY, del2

    upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    other = del2(**{"totalvurdering": "En annen søknad med samme referanse."})
    with pytest.raises(DomainError) as e:
        upload(HF_OUS, "del2.json", other, sql_uow, TODAY)
    assert e.value.code == "REFERENCE_IN_USE"
    assert not sql_uow.blobs.exists(hashlib.sha256(other).hexdigest())
