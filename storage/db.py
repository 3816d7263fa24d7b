"""Engines, sessions and schema migrations.

SQLite (the embedded default) gets WAL mode, foreign keys and a busy timeout on every connection;
PostgreSQL is reached through `postgresql+psycopg://`. Nothing here uses SQLite-only SQL.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event

try:
    import fcntl
except ImportError:  # not on Windows: there SQLite's own busy handler orders the writers
    fcntl = None  # type: ignore[assignment]
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import storage.tables  # noqa: F401  (every table and every relationship on Case, for the sessions)

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
DB_FILE = "skjemamottak.db"


# The instance holds personal data (forms, the audit log) and keys: its folders are the owner's
# only (0700), its files too (0600), whatever the process umask is.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: str | os.PathLike[str], *, chmod_existing: bool = True) -> Path:
    """Create the folder (and missing parents) for the owner only; an existing folder is made
    private too unless `chmod_existing` is false (a folder that is not ours, e.g. /tmp)."""
    path = Path(path)
    existed = path.is_dir()
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if not existed or chmod_existing:
        try:
            os.chmod(path, PRIVATE_DIR)  # mkdir's mode is masked by the umask
        except PermissionError:  # another owner's folder: theirs to protect
            log.warning("Kan ikke gjøre mappen %s privat (eies av en annen bruker).", path)
    return path


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create the file empty if it is missing, readable and writable by the owner only; an
    existing file is made private."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    except PermissionError:
        if path.exists():  # another owner's file: SQLite says what it can do with it
            log.warning("Kan ikke gjøre filen %s privat (eies av en annen bruker).", path)
            return path
        raise
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def private_sqlite_files(database: str | os.PathLike[str]) -> None:
    """The SQLite file before SQLite opens it: created 0600, so that its `-wal` and `-shm`,
    which SQLite creates with the permissions of the database file, are 0600 as well; those of
    an older instance (made 0644 before) are made private too."""
    db_file = Path(database)
    private_file(db_file)
    for suffix in SQLITE_COMPANIONS:
        companion = db_file.with_name(db_file.name + suffix)
        if companion.exists():
            try:
                os.chmod(companion, PRIVATE_FILE)
            except PermissionError:
                log.warning("Kan ikke gjøre filen %s privat (eies av en annen bruker).", companion)


def default_url(instance: str | os.PathLike[str]) -> str:
    """The SQLite file in the instance folder."""
    return f"sqlite:///{(Path(instance) / DB_FILE).resolve()}"


def blob_path(instance: str | os.PathLike[str]) -> Path:
    return Path(instance) / "blobs"


# ---- SQLite write gate ---------------------------------------------------------------------------
#
# SQLite lets one writer in at a time. A connection that finds the database locked is put to sleep
# by SQLite's busy handler in growing steps (1, 2, 5, 10 ... 100 ms) and tries again, so under
# concurrent uploads a waiting writer sleeps long after the lock is free: the tail latency grows
# in steps of tens of milliseconds. Python's sqlite3 has no hook for another busy handler. The
# gate queues writers before SQLite sees them: a thread lock per process, and an advisory lock
# (flock) on `<database>-writegate` between processes, taken just before a connection's first
# writing statement and given back as soon as its transaction commits or rolls back. Readers never
# touch it (WAL lets them read during a write). The gate only orders writers; SQLite's own lock
# (and busy timeout) still guards the file, also against writers that bypass the gate.

_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_GATE_POLL_MAX_S = 0.001  # the longest sleep between two tries of another process's gate


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:8].upper().startswith(_WRITE_VERBS)


class WriteGate:
    """One database file's writer queue (see above). `timeout` seconds, like busy_timeout."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._fd = -1  # opened by the first writer of each process
        self._lock = threading.Lock()
        _GATES.add(self)

    def _after_fork(self) -> None:
        # flock belongs to the open file: a forked worker must open its own, or it would share
        # the parent's lock; and a thread lock held in the parent at the fork would never open
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = -1
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait for the gate; `sqlite3.OperationalError("database is locked")` after timeout."""
        deadline = time.monotonic() + self.timeout
        if not self._lock.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError("database is locked")
        try:
            if self._fd < 0:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            pause = 0.0001
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise sqlite3.OperationalError("database is locked") from None
                    time.sleep(pause)
                    pause = min(pause * 2, _GATE_POLL_MAX_S)
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._lock.release()


_GATES: weakref.WeakSet[WriteGate] = weakref.WeakSet()


def _reset_gates_after_fork() -> None:
    for gate in list(_GATES):
        gate._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_gates_after_fork)


class GatedConnection(sqlite3.Connection):
    """A sqlite3 connection that gives its `WriteGate` back when its transaction ends."""

    gate: WriteGate | None = None
    holding = False

    def enter_write(self) -> None:
        if self.gate is not None and not self.holding:
            self.gate.acquire()
            self.holding = True

    def _leave(self) -> None:
        if self.holding:
            self.holding = False
            assert self.gate is not None
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave()


def _install_write_gate(engine: Engine, database: str) -> None:
    gate = WriteGate(Path(f"{database}-writegate"), BUSY_TIMEOUT_MS / 1000)

    @event.listens_for(engine, "connect")
    def _attach(dbapi_connection: object, _record: object) -> None:
        if isinstance(dbapi_connection, GatedConnection):
            dbapi_connection.gate = gate

    @event.listens_for(engine, "before_cursor_execute")
    def _enter(conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection = conn.connection.dbapi_connection
        if isinstance(dbapi_connection, GatedConnection) and _is_write(statement):
            dbapi_connection.enter_write()


def _text(raw: bytes) -> str:
    """A TEXT value as str; bytes that are no UTF-8 (a row written by another tool, or a lone
    surrogate's bytes) become U+FFFD instead of failing the whole query (issue 11)."""
    return raw.decode("utf-8", "replace")


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    dbapi_connection.text_factory = _text  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine for the URL; SQLite gets its PRAGMAs on connect."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        file_backed = database not in ("", ":memory:") and not database.startswith("file:")
        if file_backed:
            # a folder made here is private; an existing one may not be ours (the instance
            # folder itself is made private by `web.runtime.open_storage`)
            private_dir(Path(database).parent, chmod_existing=False)
            private_sqlite_files(database)
        gated = file_backed and fcntl is not None
        kwargs.setdefault("hide_parameters", True)
        if gated:
            connect_args = dict(kwargs.pop("connect_args", None) or {})  # type: ignore[call-overload]
            connect_args.setdefault("factory", GatedConnection)
            kwargs["connect_args"] = connect_args
        engine = create_engine(url, **kwargs)  # type: ignore[arg-type]
        event.listen(engine, "connect", _sqlite_pragmas)
        if gated:
            _install_write_gate(engine, str(Path(database).resolve()))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # SQL parameters would otherwise appear in exception messages and logs
    kwargs.setdefault("hide_parameters", True)
    return create_engine(url, **kwargs)  # type: ignore[arg-type]


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: results stay readable after the unit of work commits
    return sessionmaker(bind=engine, expire_on_commit=False)


def statement_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions in which each statement is a transaction of its own, where that saves work: on
    PostgreSQL (autocommit), a session that runs one statement then needs no BEGIN and no ROLLBACK,
    two round trips that cost the server more than the statement (measured on the bearer-token
    check that every API call makes). Elsewhere ordinary sessions: SQLite starts no transaction
    for a read anyway, and its write gate is given back when a transaction ends.

    Only for work whose every statement stands alone: nothing is rolled back."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str | None = None, engine: Engine | None = None) -> Config:
    """An Alembic `Config` for our migrations, built in code (no alembic.ini). Without a URL
    or an engine it can only read the migration scripts."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # passed as attributes, not options: a URL may hold '%' that configparser would interpolate
    if url:
        cfg.attributes["url"] = url
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(
    url: str | None = None, revision: str = "heads", *, engine: Engine | None = None
) -> None:
    """Run the migrations up to `revision` (default: every head; feature branches of the
    migration tree, e.g. the committee and the mini-HTA tables, each start from 0001)."""
    from alembic import command

    command.upgrade(alembic_config(url, engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The applied revision; several heads are joined by "+" in sorted order."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) if heads else None
