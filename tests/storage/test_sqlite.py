"""The SQLAlchemy unit of work on a real database (SQLite, and PostgreSQL when a server is
configured), migrated by Alembic through `db.upgrade`."""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from processor.errors import DomainError
from services.cases import diff as version_diff
from services.cases import price_check, transition
from services.upload import upload
from services.users import add_user, authenticate_token, create_token
from storage import db, models_minihta
from storage.audit import GENESIS
from storage.blobs import FileBlobStore
from storage.repository import SqlAlchemyCaseRepository
from storage.tables import metadata
from storage.uow import ConcurrentUpdate, SqlAlchemyUnitOfWork
from tests.storage.helpers import (
    HF_OUS,
    KOORDINATOR,
    PRISKONTROLL,
    REFERENCE,
    TODAY,
    del2,
    minihta,
    synthetic_identity_number,
)
from web.views import upload_body

# ---- schema and connection ----------------------------------------------------------------------


def test_migrations_create_every_table_of_the_models(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables
    heads = ScriptDirectory.from_config(db.alembic_config()).get_heads()
    assert db.current_revision(engine) == "+".join(sorted(heads))
    # the mini-HTA search index is backend-specific (FTS5 / tsvector) and not a model
    opts = {"include_object": models_minihta.include_object}
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_needs_no_ini_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    db.upgrade(url)
    db.upgrade(url)
    assert not list(tmp_path.glob("*.ini"))
    command.downgrade(db.alembic_config(url), "base")
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            head = conn.execute(text("SELECT id, last_seq, last_hash FROM audit_head")).all()
        assert head == [(1, 0, GENESIS)]
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite PRAGMAs")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == db.BUSY_TIMEOUT_MS


def test_the_default_url_and_the_blobs_are_in_the_instance_folder(tmp_path: Path) -> None:
    """Storage is handed the folder (web.settings reads SKJEMAMOTTAK_INSTANCE)."""
    assert db.default_url(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'skjemamottak.db'}"
    assert db.blob_path(tmp_path) == tmp_path / "blobs"


# ---- the service flow ---------------------------------------------------------------------------


def test_upload_return_resubmit_round_trip(sql_uow: SqlAlchemyUnitOfWork) -> None:
    first = upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    transition(KOORDINATOR, REFERENCE, "mottatt", "returnert", "Mangler CT", sql_uow)
    changed = del2(**{"pasient.diagnosekode": "C34.9"})
    second = upload(HF_OUS, "del2-ny.json", changed, sql_uow, TODAY)
    assert (first.version, second.version) == (1, 2)

    with sql_uow:
        case = sql_uow.cases.get(REFERENCE)
        assert case is not None
        assert (case.state, case.version, case.hf) == ("mottatt", 3, "OUS")
        assert [v.number for v in case.versions] == [1, 2]
        assert case.created_at.tzinfo is UTC and case.updated_at.tzinfo is UTC
        assert case.versions[1].received_at.tzinfo is UTC
        assert [(t.from_state, t.to_state) for t in case.transitions] == [
            (None, "mottatt"),
            ("mottatt", "returnert"),
            ("returnert", "mottatt"),
        ]
        assert case.transitions[1].reason == "Mangler CT"
        assert [(c.field, c.old, c.new) for c in version_diff(case, 1, 2)] == [
            ("pasient.diagnosekode", "C34.1", "C34.9")
        ]
        # the hash of each uploaded file is kept, the file itself nowhere (FORMS.md 6, rule 3)
        for version, data in zip(case.versions, (del2(), changed), strict=True):
            assert version.file_sha256 == hashlib.sha256(data).hexdigest()
            assert not sql_uow.blobs.exists(version.file_sha256)
        assert sql_uow.cases.blob_shas() == set()
        assert list(sql_uow.blobs.iter_all()) == []
        assert [e.action for e in sql_uow.audit.list()] == [
            "case.create",
            "case.transition",
            "case.resubmit",
        ]
        assert sql_uow.audit.verify() == (True, None)
        assert [c.id for c in sql_uow.cases.list(hf="OUS", state="mottatt")] == [REFERENCE]
        assert sql_uow.cases.list(hf="STO") == []


def test_price_check_persists(sql_uow: SqlAlchemyUnitOfWork) -> None:
    upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, sql_uow)
    price_check(PRISKONTROLL, REFERENCE, 61250.5, "Ny avtalepris", sql_uow)
    with sql_uow:
        case = sql_uow.cases.get(REFERENCE)
        assert case is not None and case.state == "klar"
        [check] = case.price_checks
        assert (check.stated_per_month, check.confirmed_per_month) == (62500, 61250.5)


def test_reference_in_use_survives_a_fresh_session(sql_uow: SqlAlchemyUnitOfWork) -> None:
    upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    with pytest.raises(DomainError) as e:
        upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    assert e.value.code == "REFERENCE_IN_USE"


def test_minihta_numbers_per_year_in_the_database(sql_uow: SqlAlchemyUnitOfWork) -> None:
    ids = [upload(HF_OUS, "m.json", minihta(), sql_uow, TODAY).case_id for _ in range(3)]
    assert ids == ["MMV-2026-001", "MMV-2026-002", "MMV-2026-003"]
    later = upload(HF_OUS, "m.json", minihta(), sql_uow, TODAY.replace(year=2027))
    assert later.case_id == "MMV-2027-001"


def test_users_and_tokens_in_the_database(sql_uow: SqlAlchemyUnitOfWork) -> None:
    add_user(sql_uow, "komite-1", roles=["komite", "fagfelle"], hf="STO", fagomrader=["Onkologi"])
    token = create_token(sql_uow, "komite-1")
    actor = authenticate_token(sql_uow, token)
    assert actor is not None and actor.roles == frozenset({"komite", "fagfelle"})
    with sql_uow:
        [user] = sql_uow.users.list(role="komite")
        assert user.fagomrader == ["Onkologi"] and user.tokens[0].last_used_at is not None
        assert sql_uow.users.list(role="koordinator") == []


# ---- transactions and concurrency ---------------------------------------------------------------


def test_leaving_the_block_without_commit_rolls_back(sql_uow: SqlAlchemyUnitOfWork) -> None:
    upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    with pytest.raises(RuntimeError), sql_uow:
        case = sql_uow.cases.get(REFERENCE)
        assert case is not None
        case.state = "klar"
        sql_uow.audit.append(actor="x", action="test", object=f"case:{REFERENCE}")
        raise RuntimeError("boom")
    with sql_uow:
        case = sql_uow.cases.get(REFERENCE)
        assert case is not None and case.state == "mottatt"
        assert len(sql_uow.audit.list()) == 1
        assert sql_uow.audit.verify() == (True, None)


def test_a_change_made_on_a_stale_read_is_refused(
    sql_uow: SqlAlchemyUnitOfWork, engine: Engine, blob_store: FileBlobStore
) -> None:
    upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    other = SqlAlchemyUnitOfWork(db.session_factory(engine), blob_store)
    with sql_uow:
        mine = sql_uow.cases.get(REFERENCE)
        assert mine is not None and mine.version == 1
        # a second coordinator acts in between
        transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, other)
        mine.state = "returnert"
        mine.version += 1
        with pytest.raises(ConcurrentUpdate):
            sql_uow.commit()
    with other:
        case = other.cases.get(REFERENCE)
        assert case is not None and (case.state, case.version) == ("priskontroll", 2)


def test_a_reference_committed_by_another_upload_meanwhile_is_in_use(
    sql_uow: SqlAlchemyUnitOfWork,
    engine: Engine,
    blob_store: FileBlobStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_create = SqlAlchemyCaseRepository.create
    calls: list[str] = []

    def create_after_another(self: SqlAlchemyCaseRepository, case) -> bool:  # type: ignore[no-untyped-def]
        # another upload of the same reference commits just before this one inserts
        calls.append(case.id)
        if len(calls) == 1:
            other = SqlAlchemyUnitOfWork(db.session_factory(engine), blob_store)
            upload(HF_OUS, "del2.json", del2(), other, TODAY)
        return real_create(self, case)

    monkeypatch.setattr(SqlAlchemyCaseRepository, "create", create_after_another)
    with pytest.raises(DomainError) as e:
        upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    assert e.value.code == "REFERENCE_IN_USE"
    assert calls == [REFERENCE, REFERENCE]  # the database said no: nothing retried
    with sql_uow:
        assert sql_uow.audit.verify() == (True, None)
        assert len(sql_uow.audit.list()) == 1
        case = sql_uow.cases.get(REFERENCE)
        assert case is not None and len(case.versions) == 1


def test_concurrent_uploads_get_distinct_numbers_and_one_unbroken_chain(
    engine: Engine, blob_store: FileBlobStore
) -> None:
    factory = db.session_factory(engine)

    def one(i: int) -> str | None:
        uow = SqlAlchemyUnitOfWork(factory, blob_store)
        data = minihta(**{"generelt.tittel": f"Metode nummer {i}"})
        return upload(HF_OUS, "m.json", data, uow, TODAY).case_id

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = sorted(pool.map(one, range(12)))
    assert ids == [f"MMV-2026-{n:03d}" for n in range(1, 13)]
    uow = SqlAlchemyUnitOfWork(factory, blob_store)
    with uow:
        assert uow.audit.verify() == (True, None)
        assert [e.seq for e in uow.audit.list()] == list(range(1, 13))


# ---- audit chain --------------------------------------------------------------------------------


def test_audit_verify_detects_a_row_edited_with_raw_sql(
    sql_uow: SqlAlchemyUnitOfWork, engine: Engine
) -> None:
    upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    transition(KOORDINATOR, REFERENCE, "mottatt", "returnert", "Mangler", sql_uow)
    upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    with sql_uow:
        assert sql_uow.audit.verify() == (True, None)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'noen-andre' WHERE seq = 2"))
    with sql_uow:
        assert sql_uow.audit.verify() == (False, 2)


def test_audit_verify_detects_events_deleted_from_the_end(
    sql_uow: SqlAlchemyUnitOfWork, engine: Engine
) -> None:
    upload(HF_OUS, "del2.json", del2(), sql_uow, TODAY)
    transition(KOORDINATOR, REFERENCE, "mottatt", "returnert", "Mangler", sql_uow)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    with sql_uow:
        assert sql_uow.audit.verify() == (False, 2)


# ---- nothing of a rejected file is kept ---------------------------------------------------------


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _database_text(engine: Engine) -> str:
    """Every row of every table as text: what a database dump would show."""
    out = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                out.append(repr(tuple(row)))
    return "\n".join(out)


def test_rejected_upload_with_an_identity_number_leaves_no_trace(
    sql_uow: SqlAlchemyUnitOfWork,
    engine: Engine,
    instance: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    upload(HF_OUS, "godkjent.json", del2(), sql_uow, TODAY)  # the database is not empty
    with sql_uow:
        before = (len(sql_uow.audit.list()), sql_uow.cases.blob_shas())
    number = synthetic_identity_number()
    spaced = f"{number[:6]} {number[6:]}"
    data = del2(
        **{
            "soknad.referansenummer": "2026-09-15-OUS-KREFT",
            "pasient.sykehistorie": f"Fødselsnummer {spaced}. Progresjon etter to linjer.",
        }
    )
    result = upload(HF_OUS, f"soknad-{number}.json", data, sql_uow, TODAY)
    assert result.status == "rejected"
    assert {f.code for f in result.errors} == {"IDENTITY_FOUND"}
    shown = repr(upload_body(result))
    assert number not in shown and spaced not in shown

    with sql_uow:
        assert (len(sql_uow.audit.list()), sql_uow.cases.blob_shas()) == before
        assert sql_uow.cases.get("2026-09-15-OUS-KREFT") is None
    rows = _database_text(engine)
    assert "Progresjon etter to linjer" not in rows
    engine.dispose()  # checkpoint the WAL into the file
    stored = _all_bytes(instance) + rows.encode()
    assert stored  # the database is there
    for needle in (number, spaced, number[:6] + number[6:]):
        assert needle.encode() not in stored
        assert needle not in caplog.text
    assert b"Progresjon etter to linjer" not in stored
