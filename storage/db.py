"""Engines, sessions and schema migrations.

SQLite (the embedded default) gets WAL mode, foreign keys and a busy timeout on every connection;
PostgreSQL is reached through `postgresql+psycopg://`. Nothing here uses SQLite-only SQL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
DB_FILE = "skjemamottak.db"


def instance_path() -> Path:
    """The instance folder: `SKJEMAMOTTAK_INSTANCE`, or `./instance`."""
    return Path(os.environ.get("SKJEMAMOTTAK_INSTANCE") or "instance")


def default_url(instance: str | os.PathLike[str] | None = None) -> str:
    """`SKJEMAMOTTAK_DATABASE_URL` when set, else the SQLite file in the instance folder."""
    if instance is None:
        env = os.environ.get("SKJEMAMOTTAK_DATABASE_URL")
        if env:
            return env
    folder = Path(instance) if instance is not None else instance_path()
    return f"sqlite:///{(folder / DB_FILE).resolve()}"


def blob_path(instance: str | os.PathLike[str] | None = None) -> Path:
    return (Path(instance) if instance is not None else instance_path()) / "blobs"


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def make_engine(url: str | None = None, **kwargs: object) -> Engine:
    """An engine for the URL (default: `default_url()`); SQLite gets its PRAGMAs on connect."""
    url = url or default_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("hide_parameters", True)
        engine = create_engine(url, **kwargs)  # type: ignore[arg-type]
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # SQL parameters would otherwise appear in exception messages and logs
    kwargs.setdefault("hide_parameters", True)
    return create_engine(url, **kwargs)  # type: ignore[arg-type]


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: results stay readable after the unit of work commits
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str | None = None, engine: Engine | None = None) -> Config:
    """An Alembic `Config` for our migrations, built in code (no alembic.ini)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # passed as attributes, not options: a URL may hold '%' that configparser would interpolate
    cfg.attributes["url"] = url or default_url()
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
