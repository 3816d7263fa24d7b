"""Words and time as people read them: every main page, as each demo role, in Oslo time and
Norwegian words, with no codes in brackets, spec references, query syntax or ISO dates."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html

from tests.web.conftest import REFERENCE, Users, csrf_token, del2, login, make_app, st, upload
from web import demo

# a reference number holds an ISO date by design (FORMS.md section 5): not a date shown
REFERENCE_NUMBER = re.compile(r"\b\d{4}-\d{2}-\d{2}-[A-ZÆØÅ]+-[A-ZÆØÅ0-9-]+")
FORBIDDEN = {
    "UTC": re.compile(r"\bUTC\b"),
    "ISO date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    "code in brackets": re.compile(r"\[[A-Z_]{4,}\]"),
    "spec reference": re.compile(r"WORKFLOW\.md|FORMS\.md|MINIHTA\.md|API\.md"),
    "query syntax": re.compile(r"\?sak="),
    "dager siden": re.compile(r"\(0 dager siden\)|\b1 dager siden"),
    "raw form id": re.compile(r"\b(?:tilgang-del2|minihta(?:-okonomi|-fagfelle)?)\b"),
}


def visible_text(page: str) -> str:
    """What a person reads: the text of the page, without scripts, styles or attributes (form
    values, links), and without reference numbers."""
    tree = lxml_html.fromstring(page)
    for bad in tree.xpath("//script|//style"):
        bad.drop_tree()
    text = " ".join(" ".join(tree.itertext()).split())
    return REFERENCE_NUMBER.sub("«referanse»", text)


def problems(page: str) -> list[str]:
    text = visible_text(page)
    found = []
    for name, pattern in FORBIDDEN.items():
        for m in pattern.finditer(text):
            found.append(f"{name}: …{text[max(0, m.start() - 40) : m.end() + 40]}…")
    return found


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    application = make_app(tmp_path_factory.mktemp("demo") / "instance")
    assert demo.create(st(application), out=lambda _line: None)
    return application


def links(page: str, prefix: str) -> set[str]:
    return {h for h in re.findall(r'href="([^"]+)"', page) if h.startswith(prefix)}


ROLE_PAGES = {
    "hf-ous": ["/", "/saker", "/innsending", "/publisert", "/tall", "/utkast", "/utkast/ny"],
    "linjeleder-ous": ["/utkast?status=til_linjeleder", "/utkast"],
    "hf-ahus": ["/saker", "/innsending"],
    "koordinator": ["/innboks", "/saker", "/moter", "/komite", "/statistikk", "/publisert"],
    "priskontroll": ["/priskontroll", "/saker"],
    "komite": ["/moter"],
    "fagfelle": ["/fagfelle", "/innsending"],
    "drift": ["/"],
}


@pytest.mark.parametrize("username", sorted(ROLE_PAGES))
def test_every_main_page_reads_as_norwegian_for_people(demo_app: Flask, username: str) -> None:
    client = demo_app.test_client()
    spec = next(u for u in demo.DEMO_USERS if u["username"] == username)
    login(client, username, spec["password"])
    seen: dict[str, list[str]] = {}
    queue = list(ROLE_PAGES[username])
    visited = set()
    while queue:
        path = queue.pop(0)
        if path in visited:
            continue
        visited.add(path)
        resp = client.get(path, follow_redirects=True)
        assert resp.status_code == 200, (path, resp.status_code)
        page = resp.get_data(as_text=True)
        if resp.mimetype != "text/html":
            continue
        found = problems(page)
        if found:
            seen[path] = found
        # and every case page and draft page the lists link to
        queue.extend(sorted(links(page, "/saker/") - visited)[:20])
        queue.extend(sorted(links(page, "/utkast/") - visited)[:20])
    assert not seen, seen
    assert len(visited) >= len(ROLE_PAGES[username])


def test_the_checker_catches_what_it_should() -> None:
    """The patterns find the old texts (so the walk above can fail)."""
    old = (
        "<p>Mottatt 2026-11-23 (0 dager siden)</p><li>Mangler <span>[SHORT_TEXT]</span></li>"
        "<p>mottatt 2026-11-23 kl. 09:00 UTC</p><p>(WORKFLOW.md §7) eller ?sak=</p>"
    )
    kinds = {p.split(":")[0] for p in problems(f"<html><body>{old}</body></html>")}
    assert kinds == {
        "UTC",
        "ISO date",
        "code in brackets",
        "spec reference",
        "query syntax",
        "dager siden",
    }
    ok = "<p>Sak 2026-03-14-OUS-KREFT mottatt 23.11.2026 kl. 10:00 (i dag)</p>"
    assert problems(f"<html><body>{ok}</body></html>") == []


# ---- the receipt, the upload answer, the error page -----------------------------------------------


def test_the_receipt_and_history_show_oslo_time(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    """An upload at 23:30 UTC on 22 November is 00:30 on 23 November (today) in Oslo."""
    from processor.domain import Actor
    from services.upload import upload as upload_form
    from storage.uow import SqlAlchemyUnitOfWork

    at = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    storage = st(app)
    uow = SqlAlchemyUnitOfWork(storage.sessions, storage.blobs, lambda: at)
    hf = Actor("hf-ous", frozenset({"hf"}), "OUS")
    result = upload_form(hf, "soknad.json", del2(), uow, date(2026, 11, 23))
    assert result.accepted
    login(client, "hf-ous")
    page = client.get(f"/saker/{REFERENCE}").get_data(as_text=True)
    text = visible_text(page)
    assert "mottatt 23.11.2026 kl. 00:30, sendt av hf-ous" in text
    assert "Mottatt 23.11.2026 (i dag)" in text
    assert "23.11.2026 kl. 00:30" in text.split("Historikk", 1)[1]
    assert problems(page) == []
    # the JSON twin keeps ISO 8601 with the offset, for machines
    body = client.get(f"/api/v1/saker/{REFERENCE}", headers=users.auth("hf-ous")).json
    assert datetime.fromisoformat(body["versjoner"][0]["mottatt"]) == at


def test_findings_on_the_upload_page_have_no_codes_in_brackets(
    client: FlaskClient, users: Users
) -> None:
    login(client, "hf-ous")
    page = client.get("/innsending").get_data(as_text=True)
    resp = client.post(
        "/innsending",
        data={
            "csrf_token": csrf_token(page),
            "fil": (io.BytesIO(del2(**{"pasient.diagnose": None})), "soknad.json"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    text = visible_text(page)
    assert "Diagnose det søkes behandling for" in text
    assert problems(page) == []
    assert 'data-kode="' in page  # the code stays in the markup, for support and tests


def test_the_same_application_again_says_it_is_already_received(
    client: FlaskClient, users: Users
) -> None:
    assert upload(client, users.auth("hf-ous"), del2()).status_code == 201
    resp = upload(client, users.auth("hf-ous"), del2())
    assert resp.status_code == 409 and resp.json["error"]["code"] == "REFERENCE_IN_USE"
    message = resp.json["error"]["message"]
    assert f"allerede mottatt som sak {REFERENCE}" in message
    assert "koordinatoren" in message and "en annen sak" not in message


def test_the_error_page_names_the_code_for_support_only(client: FlaskClient, users: Users) -> None:
    login(client, "hf-ous")
    resp = client.get("/innboks")  # the coordinator's page
    assert resp.status_code == 403
    text = visible_text(resp.get_data(as_text=True))
    assert "Ingen tilgang" in text
    assert "Feilkode for brukerstøtte: FORBIDDEN" in text
    assert "HTTP 403" not in text and "(HTTP" not in text


def test_pages_behind_login_link_no_json_that_would_answer_401(
    client: FlaskClient, users: Users
) -> None:
    """The API takes bearer tokens only (API.md): a logged-in browser is not offered it."""
    assert upload(client, users.auth("hf-ous"), del2()).status_code == 201
    login(client, "koordinator")
    for path in ("/saker", f"/saker/{REFERENCE}", "/moter", "/komite"):
        page = client.get(path).get_data(as_text=True)
        assert "Som JSON" not in page and 'href="/api/' not in page, path


def test_public_pages_link_json_that_answers_without_login(demo_app: Flask) -> None:
    client = demo_app.test_client()
    page = client.get("/publisert").get_data(as_text=True)
    for href in links(page, "/api/"):
        assert client.get(href).status_code == 200, href
