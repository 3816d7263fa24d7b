"""Attacker's pass over the drafts and sign-off (PORTAL.md) and the outbox (CONNECTIONS.md
sections 2-3): what was found, each with the test that failed before its fix, and what was tried
and found sound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.users import add_user, deactivate_user, set_functions
from tests.spec_support import synthetic
from tests.web.conftest import PASSWORD, Users, add_users, csrf_token, database_text, login, st
from tests.web.test_drafts_http import STAFF, Api
from web.settings import Settings, SettingsError


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


# ---- the outbox: addresses -------------------------------------------------------------------


def test_an_address_holding_an_identity_number_is_refused_and_not_echoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found: `user add/set --epost` took an address whose local part is an identity number
    (usernames and display names are refused for it): it was kept in the user row, copied into
    every outbox row's `mottaker`, shown on /drift/utboks and in `outbox list`. Refused now,
    without repeating it. Found sound: CR/LF (header injection) was refused already."""
    from web.cli import main

    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("SKJEMAMOTTAK_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    number = synthetic()
    args = ["--role", "hf", "--hf", "OUS"]
    for address in (
        f"{number}@ous.no",
        f"{number[:6]}.{number[6:]}@ous.no",
        "lege." + "\u200b".join(number) + "@ous.no",
    ):
        assert main(["user", "add", "kari", *args, "--epost", address]) == 1
        err = capsys.readouterr().err
        assert "personnummer" in err and number[:6] not in err
    for address in ("a@b.no\r\nBcc: x@evil.no", "a@b.no\nBcc: x@evil.no", "a@b.no\x85Bcc: x@e.no"):
        assert main(["user", "add", "kari", *args, "--epost", address]) == 1
    assert main(["user", "add", "kari", *args, "--epost", "kari@ous.no"]) == 0
    assert main(["user", "set", "kari", "--epost", f"{number}@ous.no"]) == 1
    capsys.readouterr()
    db = (tmp_path / "instance").rglob("*")
    assert [p for p in db if p.is_file() and number.encode() in p.read_bytes()] == []


@pytest.mark.parametrize(
    "sender",
    [
        "skjemamottak@nyemetoder.no\r\nBcc: x@evil.example",
        "Skjemamottak\r\nBcc: x@evil.example <skjemamottak@nyemetoder.no>",
        '"Skjema\nBcc: x@evil.example" <skjemamottak@nyemetoder.no>',
    ],
)
def test_a_sender_with_a_line_break_is_refused_at_start(tmp_path: Path, sender: str) -> None:
    """Found: SKJEMAMOTTAK_MAIL_FROM was checked on its parsed address only, so a line break
    in the display name or after the address was taken; the mail library then refused every
    mail's From header, and each row failed as `feilet` ("E-posten kan ikke lages") instead of
    the setting being refused when the service starts. (No header was ever injected.)"""
    env = {"SKJEMAMOTTAK_SMTP_URL": "smtp://post.example:25", "SKJEMAMOTTAK_MAIL_FROM": sender}
    with pytest.raises(SettingsError) as e:
        Settings.load(env, tmp_path)
    assert "SKJEMAMOTTAK_MAIL_FROM" in e.value.message


@pytest.mark.parametrize("number", ["9223372036854775808", "99999999999999999999999"])
def test_an_integer_path_beyond_64_bits_is_not_found_not_a_500(
    app: Flask, users: Users, number: str
) -> None:
    """Found: every `<int:…>` route (the outbox's retry button, meetings, their packets) handed
    an id beyond a 64-bit integer to the query: SQLite's driver raised OverflowError, 500. Such
    an id names nothing: 404, as any unknown id."""
    add_user(st(app).uow(), "drift", roles=["admin"], password=PASSWORD)
    client = app.test_client()
    login(client, "drift")
    token = csrf_token(client.get("/drift/utboks").get_data(as_text=True))
    resp = client.post(f"/drift/utboks/{number}/prov-igjen", data={"csrf_token": token})
    assert resp.status_code == 404
    resp = app.test_client().get(f"/api/v1/moter/{number}", headers=users.auth("koordinator"))
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "NOT_FOUND"
    assert app.test_client().get(f"/moter/{number}").status_code in (302, 404)


# ---- found sound: four eyes, functions and users changed mid-flow --------------------------------


def test_one_user_with_both_approving_functions_cannot_approve_twice(app: Flask, api: Api) -> None:
    """Found sound: a user holding linjeleder and fagdirektør approves as linjeleder, then is
    refused FOUR_EYES as fagdirektør; a user whose function is taken away between opening and
    approving gets FUNCTION_REQUIRED; a user deactivated mid-flow is 401; nothing changes."""
    both = add_users(app, {"begge": {"roles": ["hf"], "hf": "OUS"}})
    set_functions(st(app).uow(), "begge", funksjoner=["linjeleder", "fagdirektor"])
    api.users = Users({**api.users.tokens, **both.tokens})
    status, sent = api.send(api.filled())
    assert status == 200
    status, body = api.approve(sent, "begge", "linjeleder")
    assert (status, body["status"]) == (200, "til_fagdirektor")
    status, refused = api.approve(body, "begge", "fagdirektor")
    assert (status, refused["error"]["code"]) == (403, "FOUR_EYES")
    set_functions(st(app).uow(), "direktor", funksjoner=[])
    status, refused = api.approve(body, "direktor", "fagdirektor")
    assert (status, refused["error"]["code"]) == (403, "FUNCTION_REQUIRED")
    set_functions(st(app).uow(), "direktor", funksjoner=["fagdirektor"])
    deactivate_user(st(app).uow(), "direktor")
    status, refused = api.approve(body, "direktor", "fagdirektor")
    assert status == 401
    status, after = api.call("GET", f"/utkast/{sent['id']}", "lege")
    assert (after["status"], after["versjon"]) == ("til_fagdirektor", body["versjon"])
