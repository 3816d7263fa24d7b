"""Issue 13, mini-HTA: what the coordinator and the reviewer see and do in the browser.

The coordinator reads skjema 2 and 3 on the case page and in its JSON twin, assigns a reviewer
from a list that says who is eligible and why not, and publishes from a preview that is the public
page itself; the reviewer is named in public only when they agreed; the upload and reviewer pages
link every template of the forms their users send.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forms.catalog import catalogue
from services.users import deactivate_user
from tests.fillers import fill_json, sample_values
from tests.web.conftest import PASSWORD, Users, add_users, csrf_token, login, st, upload

REVIEWERS: dict[str, dict[str, Any]] = {
    "ff-hbe": {
        "roles": ["fagfelle"],
        "hf": "HBE",
        "fagomrader": ["Gastrokirurgi"],
        "display_name": "Bjørn Ødegård",
        "password": PASSWORD,
    },
    "ff-ous": {"roles": ["fagfelle"], "hf": "OUS", "fagomrader": ["Gastrokirurgi"]},
    "ff-derm": {"roles": ["fagfelle"], "hf": "UNN", "fagomrader": ["Dermatologi"]},
    "ff-borte": {"roles": ["fagfelle"], "hf": "UNN", "fagomrader": ["Gastrokirurgi"]},
}
REVIEWER_NAME = sample_values("minihta-fagfelle")["fagfelle.navn"]
ANONYMOUS = "Fagfellevurdert av en uavhengig fagfelle"


@pytest.fixture
def world(app: Flask, users: Users) -> tuple[Users, str]:
    """A mini-HTA of OUS in `mottatt`, four reviewers (one deactivated)."""
    tokens = add_users(app, REVIEWERS).tokens
    deactivate_user(st(app).uow(), "ff-borte")
    everyone = Users({**users.tokens, **tokens})
    resp = upload(
        app.test_client(),
        everyone.auth("hf-ous"),
        fill_json("minihta", sample_values("minihta")),
        "minihta.json",
    )
    assert resp.status_code == 201, resp.get_json()
    return everyone, resp.get_json()["sak"]


def _assign_review_decide(client: FlaskClient, users: Users, sak: str) -> None:
    path = f"/api/v1/saker/{sak}"
    resp = client.post(
        f"{path}/fagfelle", json={"fagfelle": "ff-hbe"}, headers=users.auth("koordinator")
    )
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(f"{path}/habilitet", json={"niva": "gronn"}, headers=users.auth("ff-hbe"))
    assert resp.status_code == 200, resp.get_json()
    skjema2 = fill_json("minihta-fagfelle", sample_values("minihta-fagfelle", **{"sak.id": sak}))
    assert upload(client, users.auth("ff-hbe"), skjema2, "skjema2.json").status_code == 201
    skjema3 = fill_json(
        "minihta-beslutning", sample_values("minihta-beslutning", **{"sak.id": sak})
    )
    assert upload(client, users.auth("hf-ous"), skjema3, "skjema3.json").status_code == 201


def _public_part(html: str) -> str:
    """The part of the page the public sees (the preview adds a frame around it)."""
    found = re.search(r'<div id="offentlig">(.*?)</div>', html, re.S)
    assert found is not None, html[:500]
    return found.group(1)


def test_case_page_and_json_show_the_peer_review_and_the_decision(
    app: Flask, world: tuple[Users, str]
) -> None:
    users, sak = world
    client = app.test_client()
    _assign_review_decide(client, users, sak)
    body = client.get(f"/api/v1/saker/{sak}", headers=users.auth("koordinator")).get_json()
    types = [d["type"] for d in body["dokumenter"]]
    assert types == ["minihta-fagfelle", "minihta-beslutning"]
    review = body["dokumenter"][0]
    assert review["data"]["fagfelle"]["navn"] == REVIEWER_NAME
    labels = {f["etikett"] for s in review["seksjoner"] for f in s["felt"]}
    assert catalogue()["minihta-fagfelle"].label("samlet.anbefaling") in labels

    login(client, "koordinator")
    html = client.get(f"/saker/{sak}").get_data(as_text=True)
    assert catalogue()["minihta-fagfelle"].name in html
    assert catalogue()["minihta-beslutning"].name in html
    decision = sample_values("minihta-beslutning")["beslutning.begrunnelse"]
    assert decision in html
    # no blind one-click publishing: a link to the preview instead
    assert 'value="publisert"' not in html
    assert f"/minihta/{sak}/forhandsvisning" in html


def test_preview_is_the_public_page_and_publishes_with_csrf(
    app: Flask, world: tuple[Users, str]
) -> None:
    users, sak = world
    client = app.test_client()
    _assign_review_decide(client, users, sak)
    login(client, "koordinator")
    resp = client.get(f"/minihta/{sak}/forhandsvisning")
    assert resp.status_code == 200
    preview = resp.get_data(as_text=True)
    assert f"/minihta/{sak}/publiser" in preview
    assert client.get(f"/publisert/{sak}").status_code == 404
    # without the CSRF token nothing is published
    assert client.post(f"/minihta/{sak}/publiser").status_code == 400
    assert client.get(f"/publisert/{sak}").status_code == 404
    resp = client.post(f"/minihta/{sak}/publiser", data={"csrf_token": csrf_token(preview)})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/publisert/{sak}")
    public = app.test_client().get(f"/publisert/{sak}")
    assert public.status_code == 200
    published = public.get_data(as_text=True)
    # the PDF links are live only once published; otherwise the same content
    unlinked = re.sub(r'<a href="[^"]*\.pdf">([^<]*)</a>', r"\1", _public_part(published))
    assert _public_part(preview) == unlinked
    # published: the preview is gone (409: the case moved on)
    assert client.get(f"/minihta/{sak}/forhandsvisning").status_code == 409


def test_preview_only_for_the_coordinator_and_a_decided_case(
    app: Flask, world: tuple[Users, str]
) -> None:
    users, sak = world
    client = app.test_client()
    login(client, "koordinator")
    assert client.get(f"/minihta/{sak}/forhandsvisning").status_code == 409
    hf = app.test_client()
    login(hf, "hf-ous")
    assert hf.get(f"/minihta/{sak}/forhandsvisning").status_code == 403


def test_the_name_is_public_only_with_the_reviewers_consent(
    app: Flask, world: tuple[Users, str]
) -> None:
    users, sak = world
    client = app.test_client()
    _assign_review_decide(client, users, sak)
    coordinator = app.test_client()
    login(coordinator, "koordinator")
    preview = coordinator.get(f"/minihta/{sak}/forhandsvisning").get_data(as_text=True)
    assert ANONYMOUS in preview and REVIEWER_NAME not in preview

    reviewer = app.test_client()
    login(reviewer, "ff-hbe")
    page = reviewer.get("/fagfelle").get_data(as_text=True)
    assert 'id="navn-nei-' in page
    resp = reviewer.post(
        f"/fagfelle/{sak}/navn", data={"navn": "ja", "csrf_token": csrf_token(page)}
    )
    assert resp.status_code == 303
    preview = coordinator.get(f"/minihta/{sak}/forhandsvisning").get_data(as_text=True)
    assert f"Fagfellevurdert av {REVIEWER_NAME}" in preview

    resp = reviewer.post(
        f"/fagfelle/{sak}/navn", data={"navn": "nei", "csrf_token": csrf_token(page)}
    )
    assert resp.status_code == 303
    resp = coordinator.post(
        f"/minihta/{sak}/publiser",
        data={"csrf_token": csrf_token(preview)},
    )
    assert resp.status_code == 303
    public = app.test_client()
    html = public.get(f"/publisert/{sak}").get_data(as_text=True)
    assert ANONYMOUS in html and REVIEWER_NAME not in html
    body = public.get(f"/api/v1/publisert/{sak}").get_json()
    assert body["fagfelle"] == "en uavhengig fagfelle"
    assert REVIEWER_NAME not in str(body)
    assert "stilling" not in body["dokumenter"]["fagfellevurdering"]["fagfelle"]
    pdf = public.get(f"/publisert/{sak}/fagfellevurdering.pdf")
    assert pdf.status_code == 200


def test_assignment_lists_reviewers_with_why_not_and_assigns_the_chosen_one(
    app: Flask, world: tuple[Users, str]
) -> None:
    users, sak = world
    client = app.test_client()
    login(client, "koordinator")
    # the case page links to the assignment (nothing did before issue #13)
    assert f'href="/minihta/{sak}/fagfelle"' in client.get(f"/saker/{sak}").get_data(as_text=True)
    html = client.get(f"/minihta/{sak}/fagfelle").get_data(as_text=True)
    # selectable: the rules' pick; not: the proposing HF, another field (needs a reason), inactive
    assert 'name="fagfelle" value="ff-hbe"' in html
    assert 'name="fagfelle" value="ff-ous"' not in html
    assert "er fra helseforetaket som foreslår metoden" in html
    assert 'name="fagfelle" value="ff-derm"' in html and "dekker ikke fagområdet" in html
    assert 'name="fagfelle" value="ff-borte"' not in html and "er ikke aktiv" in html
    assert 'value="" checked' in html  # the rules' choice stays the default

    resp = client.post(
        f"/minihta/{sak}/fagfelle", data={"fagfelle": "ff-hbe", "csrf_token": csrf_token(html)}
    )
    assert resp.status_code == 303
    rows = client.get(f"/api/v1/saker/{sak}/fagfelle", headers=users.auth("koordinator"))
    assert [r["fagfelle"] for r in rows.get_json()["tildelinger"]] == ["ff-hbe"]
    # assigned: the list is no longer offered
    html = client.get(f"/minihta/{sak}/fagfelle").get_data(as_text=True)
    assert 'name="fagfelle" value="ff-derm"' not in html


def test_upload_page_links_every_template_of_every_form_an_hf_sends(
    app: Flask, world: tuple[Users, str]
) -> None:
    client = app.test_client()
    login(client, "hf-ous")
    html = client.get("/innsending").get_data(as_text=True)
    forms = catalogue()
    for form_id in ("tilgang-del2", "minihta", "minihta-okonomi", "minihta-beslutning"):
        formats = set(forms[form_id].formats) | {"json"}
        for fmt in formats:
            url = f"/api/v1/maler/{form_id}.{fmt}"
            assert url in html, url
            assert client.get(url).status_code == 200, url
    assert "/api/v1/maler/minihta-fagfelle." not in html

    reviewer = app.test_client()
    login(reviewer, "ff-hbe")
    page = reviewer.get("/fagfelle").get_data(as_text=True)
    for fmt in set(forms["minihta-fagfelle"].formats) | {"json"}:
        assert f"/api/v1/maler/minihta-fagfelle.{fmt}" in page, fmt
