"""Attacker's pass over the HF portal's pages (PORTAL.md section 6): what was found, each with
the test that failed before its fix, and what was tried and found sound (identity in every way a
typed value reaches a page and back, CSRF on every page POST, another HF's draft)."""

from __future__ import annotations

import io
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.steps import MAX_REASON_CHARS
from tests.spec_support import synthetic
from tests.web import test_draft_pages as pages
from tests.web.conftest import csrf_token, database_text, del2, login, st

portal_seed = pages.portal_seed  # the seeded instance with the OUS sign-off users
app = pages.app

NUMBER = synthetic()
SPACED = f"{NUMBER[:6]} {NUMBER[6:]}"


def _nowhere(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    needles = [NUMBER, SPACED]
    rows = database_text(app)
    assert [n for n in needles if n in rows] == []
    files = [p for p in st(app).instance.rglob("*") if p.is_file()]
    assert [p for p in files if any(n.encode() in p.read_bytes() for n in needles)] == []
    assert [n for n in needles if n in caplog.text] == []


@pytest.mark.parametrize(
    ("choice", "reason"),
    [
        ("", f"Gjelder {SPACED}."),  # no choice made
        ("godkjenn", f"Gjelder {NUMBER}. " + "x" * MAX_REASON_CHARS),  # too long
    ],
    ids=["no choice", "too long"],
)
def test_a_reason_refused_for_something_else_is_not_shown_again_with_its_number(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture, choice: str, reason: str
) -> None:
    """Found: the approval page re-showed the typed reason after any refusal but an identity
    one; a reason holding an identity number refused first for something else (no choice
    made, too long) came back in the page with the number. Now it is emptied and the field says
    why, as after an identity refusal."""
    caplog.set_level(logging.DEBUG)
    draft_id = pages.sent_draft(app, client)
    login(client, "leder-ous")
    resp = pages.decide(client, draft_id, choice, reason)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert NUMBER not in body and SPACED not in body
    assert "personnummer" in pages.text_of(body)
    _nowhere(app, caplog)


def test_csrf_is_required_on_every_page_post_of_the_portal(app: Flask, client: FlaskClient) -> None:
    """Found sound: every POST of the portal's pages, the script's JSON routes included,
    without the session's CSRF token is 400 and changes nothing."""
    waiting = pages.sent_draft(app, client)
    login(client, "lege-ous")
    draft_id = pages.new_draft(client)
    routes = [
        p.rule.replace("<draft_id>", waiting if "godkjenning" in p.rule else draft_id)
        for p in app.url_map.iter_rules()
        if p.endpoint.startswith("draft_pages.") and "POST" in (p.methods or ())
    ]
    assert len(routes) >= 8
    form = {"versjon": "2", "skjema": "tilgang-del2", "valg": "returner", "begrunnelse": "x"}
    for route in routes:
        assert client.post(route, data=form).status_code == 400, route
    assert client.post(f"/utkast/{draft_id}/autolagring", json={"versjon": 1}).status_code == 400
    html = pages.page(client, f"/utkast/{draft_id}")
    assert 'name="versjon" value="1"' in html


def test_another_hfs_draft_is_not_found_on_every_route(app: Flask, client: FlaskClient) -> None:
    """Found sound: a user of another HF gets 404 on every page route of a draft, GET and POST
    (with a valid CSRF token)."""
    waiting = pages.sent_draft(app, client)
    login(client, "hf-ahus")
    token = csrf_token(pages.page(client, "/utkast"))
    form = {"csrf_token": token, "versjon": "2", "valg": "returner", "begrunnelse": "x"}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("draft_pages.") or "<draft_id>" not in rule.rule:
            continue
        path = rule.rule.replace("<draft_id>", waiting)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            resp = client.open(path, method=method, data=form if method == "POST" else None)
            assert resp.status_code == 404, (method, path, resp.status_code)


def test_the_import_page_uses_the_configured_upload_limit_as_the_api_does(
    app: Flask, client: FlaskClient
) -> None:
    """Found: the import page handed the file to the intake without the configured limits, so
    with SKJEMAMOTTAK_MAX_UPLOAD_MB above the default 20 the page refused a file of 20-odd MB as
    FILE_TOO_LARGE ("større enn 20 MB") that the API's import took."""
    app.config["MAX_UPLOAD_MB"] = 21
    app.config["MAX_CONTENT_LENGTH"] = 22 * 1024 * 1024
    data = del2() + b" " * (20 * 1024 * 1024)  # trailing white space: still one JSON document
    login(client, "lege-ous")
    token = csrf_token(pages.page(client, "/utkast/ny"))
    resp = client.post(
        "/utkast/import",
        data={"csrf_token": token, "fil": (io.BytesIO(data), "soknad.json")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303, pages.text_of(resp.get_data(as_text=True))[-900:]
