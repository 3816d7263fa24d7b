"""Throwaway PostgreSQL databases for tests, on the server named by
`SKJEMAMOTTAK_TEST_POSTGRES_URL` (CI starts one with `.ci/postgres.sh`).

Every database made here is named `skjemamottak_t<pid>_<random>`, so parallel test runs on one
server never touch each other's databases, and `drop_all_of_this_run` cleans up at session end.
"""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, make_url, text

PG_URL = os.environ.get("SKJEMAMOTTAK_TEST_POSTGRES_URL")
PREFIX = f"skjemamottak_t{os.getpid()}_"


def available() -> bool:
    return bool(PG_URL)


def url_for(database: str) -> str:
    assert PG_URL, "SKJEMAMOTTAK_TEST_POSTGRES_URL is not set"
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def _admin(sql: str) -> None:
    assert PG_URL, "SKJEMAMOTTAK_TEST_POSTGRES_URL is not set"
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def create_database(template: str | None = None) -> str:
    """A new, empty (or copied from `template`) database; returns its name."""
    name = PREFIX + uuid.uuid4().hex[:10]
    suffix = f' TEMPLATE "{template}"' if template else ""
    _admin(f'CREATE DATABASE "{name}"{suffix}')
    return name


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_all_of_this_run() -> None:
    if not PG_URL:
        return
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            names = (
                conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                    {"p": PREFIX + "%"},
                )
                .scalars()
                .all()
            )
        for name in names:
            drop_database(name)
    finally:
        engine.dispose()
