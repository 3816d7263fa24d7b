"""The SQLite write gate (storage/db.py): writers queue at the gate, readers pass, every way a
transaction ends opens it again, and it holds between processes, forked ones included."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from storage.db import GatedConnection, WriteGate, make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield eng
    eng.dispose()


def gate_file(tmp_path: Path) -> Path:
    return tmp_path / "gate.db-writegate"


def gate_is_free(path: Path) -> bool:
    """Whether another open file could take the gate now (as another process would)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing gives back a lock taken here
    return True


def test_file_databases_get_gated_connections_and_memory_ones_do_not(engine, tmp_path):
    with engine.connect() as conn:
        assert isinstance(conn.connection.dbapi_connection, GatedConnection)
    memory = make_engine("sqlite://")
    with memory.connect() as conn:
        assert not isinstance(conn.connection.dbapi_connection, GatedConnection)
    memory.dispose()
    assert gate_file(tmp_path).exists()


def test_a_write_holds_the_gate_until_commit_and_a_read_does_not(engine, tmp_path):
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar()
        assert gate_is_free(gate_file(tmp_path))  # reading takes nothing
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert not gate_is_free(gate_file(tmp_path))
        with engine.connect() as reader:  # WAL: others read during the write
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
        conn.commit()
        assert gate_is_free(gate_file(tmp_path))


@pytest.mark.parametrize("end", ["rollback", "close", "invalidate"])
def test_every_end_of_a_transaction_opens_the_gate(engine, tmp_path, end):
    conn = engine.connect()
    conn.execute(text("INSERT INTO t VALUES (1)"))
    assert not gate_is_free(gate_file(tmp_path))
    if end == "rollback":
        conn.rollback()
    elif end == "invalidate":
        conn.invalidate()  # the DBAPI connection is closed
    conn.close()  # returned to the pool: the pool rolls back
    assert gate_is_free(gate_file(tmp_path))
    with engine.begin() as other:
        other.execute(text("INSERT INTO t VALUES (2)"))
    with engine.connect() as check:
        assert check.execute(text("SELECT n FROM t")).scalars().all() == [2]


def test_a_second_writer_waits_at_the_gate_and_goes_on_when_the_first_commits(engine):
    first = engine.connect()
    first.execute(text("INSERT INTO t VALUES (1)"))
    done = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (2)"))
        except BaseException as e:  # reported below
            errors.append(e)
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not done.wait(0.3)  # still queued while the first transaction is open
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert done.is_set() and errors == []
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT n FROM t")).scalars()) == [1, 2]


def test_a_writer_that_waits_too_long_gets_database_is_locked(tmp_path):
    gate = WriteGate(tmp_path / "x-writegate", timeout=0.05)
    gate.acquire()
    result: list[BaseException] = []

    def waiter() -> None:
        try:
            gate.acquire()
        except sqlite3.OperationalError as e:
            result.append(e)

    thread = threading.Thread(target=waiter)
    thread.start()
    thread.join(timeout=30)
    assert result and "database is locked" in str(result[0])
    gate.release()
    gate.acquire()  # free again once given back
    gate.release()


def _child_try(path: str, queue: multiprocessing.Queue, gate: WriteGate) -> None:
    """In a forked child: can the inherited gate be taken while the parent holds it?"""
    gate.timeout = 0.05
    try:
        gate.acquire()
    except sqlite3.OperationalError:
        queue.put("waited")
        return
    gate.release()
    queue.put("took it")


def test_a_forked_process_does_not_share_the_parents_gate(tmp_path):
    gate = WriteGate(tmp_path / "y-writegate", timeout=5)
    gate.acquire()  # opened and held in the parent before the fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_try, args=(str(tmp_path), queue, gate))
    child.start()
    child.join(timeout=60)
    assert queue.get(timeout=5) == "waited"
    gate.release()
    child = ctx.Process(target=_child_try, args=(str(tmp_path), queue, gate))
    child.start()
    child.join(timeout=60)
    assert queue.get(timeout=5) == "took it"


def test_threads_of_a_fresh_gate_take_it_one_at_a_time(tmp_path):
    """Many threads race for a gate whose file is not open yet: none fails, none overlaps."""
    gate = WriteGate(tmp_path / "z-writegate", timeout=30)
    inside, most, errors = [0], [0], []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(50):
            try:
                gate.acquire()
            except BaseException as e:  # reported below
                errors.append(e)
                return
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            inside[0] -= 1
            gate.release()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and most[0] == 1
