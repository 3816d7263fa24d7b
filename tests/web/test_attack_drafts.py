"""Attacker's pass over the drafts and sign-off (PORTAL.md) and the outbox (CONNECTIONS.md
sections 2-3): what was found, each with the test that failed before its fix, and what was tried
and found sound."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import Users, add_users, database_text
from tests.web.test_drafts_http import STAFF, Api


@pytest.fixture
def api(app: Flask, client: FlaskClient, users: Users) -> Api:
    made = add_users(app, STAFF)
    return Api(client, Users({**users.tokens, **made.tokens}))


JSON = {"Content-Type": "application/json"}


def _patch_raw(api: Api, draft: dict, raw: str):
    return api.client.open(
        f"/api/v1/utkast/{draft['id']}",
        method="PATCH",
        data=raw,
        headers={**api.users.auth("lege"), **JSON},
    )


def test_deeply_nested_json_body_is_a_clear_422_not_a_500(api: Api) -> None:
    """Found: a JSON body nested a few thousand levels deep (4 KB) made the JSON parser raise
    RecursionError, which no handler maps: 500 on every JSON route of the API."""
    draft = api.create()
    deep = "[" * 5000 + "]" * 5000
    resp = _patch_raw(api, draft, f'{{"versjon": {draft["versjon"]}, "verdier": {deep}}}')
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "INVALID_REQUEST"
    resp = api.client.post("/api/v1/utkast", data=deep, headers={**api.users.auth("lege"), **JSON})
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (422, "INVALID_REQUEST")


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e999", "-1e400"])
def test_a_number_json_cannot_carry_is_refused_and_not_kept(
    app: Flask, api: Api, number: str
) -> None:
    """Found: Python's JSON reader takes `Infinity`, `NaN` and an overflowing `1e999` (inf) from
    a body; a draft's save kept inf (SQLite: the draft then answered with `Infinity`, which is
    not JSON; PostgreSQL: 500, jsonb holds no such number)."""
    draft = api.create()
    raw = json.dumps({"versjon": draft["versjon"], "verdier": {"pasient.sykehistorie": "X"}})
    resp = _patch_raw(api, draft, raw.replace('"X"', number))
    assert resp.status_code == 422, resp.data
    assert resp.get_json()["error"]["code"] == "INVALID_REQUEST"
    status, after = api.call("GET", f"/utkast/{draft['id']}", "lege")
    assert status == 200 and after["versjon"] == draft["versjon"]
    assert "pasient.sykehistorie" not in after["verdier"]
    assert "Infinity" not in database_text(app) and "NaN" not in database_text(app)
