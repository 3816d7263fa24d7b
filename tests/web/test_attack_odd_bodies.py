"""Attacker's pass (issues #10/#11): every POST/PUT/PATCH/DELETE route of the API and of the
pages, asked with odd bodies (not JSON, a JSON list, a string, null, wrong types, a lone
surrogate, a huge number, a NUL), answers with a clear error and never a 500. The route list
comes from the app's URL map; the case id is an existing case and a nonsense one."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.web.conftest import Users, csrf_token, del2, login, upload

ODD_JSON = [
    b"not json",
    b"[]",
    b'"gul"',
    b"null",
    b"1e999999",
    b'{"niva": 3, "begrunnelse": ["a"], "beskrivelse": {"x": 1}, "fagfelle": 7}',
    b'{"niva": "gul\\u0000", "begrunnelse": "\\ud800", "beskrivelse": "\\ud800"}',
    b'{"niva": "' + b"a" * 100_000 + b'"}',
    b'{"a": 1, "a": 2}',
    b"{" * 5000,
]
ODD_FORMS = [
    {},
    {"niva": "\x00", "begrunnelse": "\ud800".encode("utf-8", "surrogatepass")},
    {"niva": "gul", "beskrivelse": "x" * 200_000, "begrunnelse": "\x00" * 10},
    {"dato": "2026-02-30", "tid": "25:61", "fagfelle": "../../etc", "pris": "1e309"},
]


def _rules(app: Flask, api: bool) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") != api:
            continue
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            path = rule.rule
            for arg in rule.arguments:
                value = "1" if "int:" + arg in path else "{id}"
                path = path.replace(f"<int:{arg}>", value).replace(f"<{arg}>", value)
            out.append((method, path))
    return sorted(set(out))


@pytest.fixture
def case_id(app: Flask, users: Users) -> str:
    resp = upload(app.test_client(), users.auth("hf-ous"), del2())
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["sak"]


@pytest.mark.parametrize("who", ["koordinator", "hf-ous", "priskontroll"])
def test_no_api_route_answers_odd_json_with_a_500(
    app: Flask, users: Users, case_id: str, who: str
) -> None:
    client = app.test_client()
    rules = _rules(app, api=True)
    assert len(rules) > 10
    failures = []
    for method, path in rules:
        for cid in (case_id, "X%00Y", "2026-99-99-ÆØÅ-" + "A" * 300):
            for body in ODD_JSON:
                resp = client.open(
                    path.format(id=cid),
                    method=method,
                    data=body,
                    headers={**users.auth(who), "Content-Type": "application/json"},
                )
                if resp.status_code >= 500:
                    failures.append((method, path, cid, body[:40], resp.status_code))
    assert failures == []


@pytest.mark.parametrize("who", ["koordinator", "hf-ous"])
def test_no_page_route_answers_odd_forms_with_a_500(
    app: Flask, users: Users, case_id: str, who: str
) -> None:
    client = app.test_client()
    login(client, who)
    token = csrf_token(client.get(f"/saker/{case_id}").get_data(as_text=True))
    rules = [r for r in _rules(app, api=False) if "logg-ut" not in r[1]]  # keep the session
    failures = []
    for method, path in rules:
        for cid in (case_id, "X%00Y"):
            for form in ODD_FORMS:
                resp = client.open(
                    path.format(id=cid), method=method, data={**form, "csrf_token": token}
                )
                if resp.status_code >= 500:
                    failures.append((method, path, cid, sorted(form), resp.status_code))
    assert failures == []


def test_page_posts_without_a_csrf_token_are_refused(app: Flask, users: Users, case_id: str):
    client = app.test_client()
    login(client, "koordinator")
    for method, path in _rules(app, api=False):
        if path in ("/logg-inn",):
            continue
        resp = client.open(path.format(id=case_id), method=method, data={"niva": "gronn"})
        assert resp.status_code in (400, 403, 405), (method, path, resp.status_code)
