"""Fixtures for the web tests: an app on a temporary instance, users per role, bearer tokens."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request_finished
from flask import request as current_request
from flask.testing import FlaskClient

from processor import codes
from services.users import add_user, create_token
from tests import pgutil
from tests.fillers import fill_json, sample_values
from web import openapi
from web.app import create_app
from web.operations import OPERATIONS
from web.runtime import Storage

TODAY = date(2026, 11, 23)
PASSWORD = "riktig-hest-batteri"
REFERENCE = "2026-09-14-OUS-KREFT"


@dataclass
class Users:
    """Bearer tokens per username."""

    tokens: dict[str, str]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


# `SKJEMAMOTTAK_TEST_WEB_BACKEND=postgresql` (with `SKJEMAMOTTAK_TEST_POSTGRES_URL`) runs the web
# tests against PostgreSQL: an instance folder records its database in `pg-database`; a copied
# instance (see the `app` fixture) records the original as `pg-template` and gets a copy of it.
WEB_BACKEND = os.environ.get("SKJEMAMOTTAK_TEST_WEB_BACKEND", "sqlite")
PG_MARKER = "pg-database"
PG_TEMPLATE_MARKER = "pg-template"


def on_postgres() -> bool:
    return WEB_BACKEND == "postgresql" and pgutil.available()


def make_app(instance: Path, **extra: Any) -> Flask:
    if on_postgres() and "DATABASE_URL" not in extra:
        instance.mkdir(parents=True, exist_ok=True)
        marker, copied = instance / PG_MARKER, instance / PG_TEMPLATE_MARKER
        if marker.exists():
            name = marker.read_text("utf-8").strip()
        else:
            template = copied.read_text("utf-8").strip() if copied.exists() else None
            name = pgutil.create_database(template)
            marker.write_text(name, encoding="utf-8")
        extra["DATABASE_URL"] = pgutil.url_for(name)
    return create_app({"INSTANCE": instance, "TODAY": TODAY, "SECRET_KEY": "test-nøkkel", **extra})


def database_text(app: Flask) -> str:
    """Every row of every table as text (what a dump of the database would show)."""
    from sqlalchemy import inspect, text

    engine = st(app).engine
    out = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            out.extend(repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{table}"')))
    return "\n".join(out)


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    if on_postgres():
        pgutil.drop_all_of_this_run()


# Every error an `/api/v1` route answers in any web test is one the OpenAPI document lists for
# that operation, with that status (web/openapi.py): the document's error answers are held
# against what the routes do, not only against what web/operations.py says they do.
ANSWERED: list[tuple[Flask, str, str, int, str | None]] = []


def _record_error(sender: Flask, response: Response, **_: Any) -> None:
    rule = current_request.url_rule
    if rule is None or not rule.rule.startswith(openapi.PREFIX + "/"):
        return
    if response.status_code >= 400:
        body = response.get_json(silent=True) if response.is_json else None
        code = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
        ANSWERED.append((sender, rule.endpoint, current_request.method, response.status_code, code))


def documented_error(app: Flask, endpoint: str, method: str, status: int, code: str | None) -> bool:
    """True when the OpenAPI document lists this error answer for the operation."""
    op = OPERATIONS.get(endpoint)
    if op is None:  # a route a test adds (test_openapi_coverage: every real one has an entry)
        return True
    if code is None:  # an answer without an error code (healthz: 503)
        return str(status) in op.more
    listed = openapi.error_codes(op, openapi.requires_login(app.view_functions[endpoint]))
    return code in listed and codes.http_status(code) == status


@pytest.fixture(autouse=True)
def _error_answers_are_documented() -> Iterator[None]:
    ANSWERED.clear()
    request_finished.connect(_record_error)
    try:
        yield
    finally:
        request_finished.disconnect(_record_error)
    missing = sorted(
        {f"{m} {e}: {s} {c}" for a, e, m, s, c in ANSWERED if not documented_error(a, e, m, s, c)}
    )
    ANSWERED.clear()
    assert missing == [], "error answers the OpenAPI document does not list"


def st(app: Flask) -> Storage:
    return app.extensions["skjemamottak"]


def add_users(app: Flask, specs: dict[str, dict[str, Any]]) -> Users:
    tokens = {}
    for name, spec in specs.items():
        add_user(st(app).uow(), name, **spec)
        tokens[name] = create_token(st(app).uow(), name)
    return Users(tokens)


USERS: dict[str, dict[str, Any]] = {
    "hf-ous": {"roles": ["hf"], "hf": "OUS", "password": PASSWORD},
    "hf-ahus": {"roles": ["hf"], "hf": "AHUS", "password": PASSWORD},
    "koordinator": {"roles": ["koordinator"], "password": PASSWORD},
    "koordinator-2": {"roles": ["koordinator"]},
    "priskontroll": {"roles": ["priskontroll"], "password": PASSWORD},
    "komite": {"roles": ["komite"], "hf": "SIHF"},
}


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty instance folder the operator command (`web.cli.main`) uses, on SQLite."""
    folder = tmp_path / "instance"
    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(folder))
    monkeypatch.delenv("SKJEMAMOTTAK_DATABASE_URL", raising=False)
    return folder


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Users]:
    """A migrated instance with USERS, made once; each test gets a copy (argon2 is slow)."""
    folder = tmp_path_factory.mktemp("seed") / "instance"
    application = make_app(folder)
    users = add_users(application, USERS)
    st(application).engine.dispose()  # checkpoints the WAL into the database file
    return folder, users


@pytest.fixture
def app(tmp_path: Path, seeded: tuple[Path, Users]) -> Iterator[Flask]:
    instance = tmp_path / "instance"
    shutil.copytree(seeded[0], instance)
    if (instance / PG_MARKER).exists():  # a copy gets its own copy of the database
        (instance / PG_MARKER).rename(instance / PG_TEMPLATE_MARKER)
    application = make_app(instance)
    yield application
    st(application).engine.dispose()


@pytest.fixture
def users(app: Flask, seeded: tuple[Path, Users]) -> Users:
    return seeded[1]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def del2(hf: str = "OUS", department: str = "KREFT", **overrides: object) -> bytes:
    reference = f"2026-09-14-{hf}-{department}"
    values = sample_values(
        "tilgang-del2",
        **{"soknad.helseforetak": hf, "soknad.referansenummer": reference, **overrides},
    )
    return fill_json("tilgang-del2", values)


def upload(client: FlaskClient, headers: dict[str, str], data: bytes, name: str = "soknad.json"):
    import io

    return client.post(
        "/api/v1/innsendinger",
        data={"fil": (io.BytesIO(data), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
    resp = client.post(
        "/logg-inn", data={"brukernavn": username, "passord": password, "csrf_token": token}
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
