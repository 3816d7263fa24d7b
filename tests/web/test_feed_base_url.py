"""Issue 11, finding 7 (b): the public Atom feed links to the configured base URL.

The feed is served with `Cache-Control: public`, so a shared cache keeps whatever the first
reader got. Links built from the request's `Host` (or, behind a proxy, `X-Forwarded-Host`) let
anyone plant their own host in it; they now come from `SKJEMAMOTTAK_BASE_URL`.
"""

from __future__ import annotations

import feedparser
import pytest
from flask import Flask

from processor.domain import Actor
from services import minihta
from services.cases import transition
from services.upload import upload
from services.users import add_user
from tests.fillers import fill_json, sample_values
from tests.web.conftest import TODAY, st
from web.app import DEFAULT_BASE_URL, base_url

BASE = "https://skjema.nyemetoder.example"
FORGED = "angriper.example"
HF = Actor("hf-ous", frozenset({"hf"}), "OUS")
KOORDINATOR = Actor("koordinator", frozenset({"koordinator"}))
REVIEWER = Actor("ff-hbe", frozenset({"fagfelle"}), "HBE")


def _form(form_id: str, **overrides: object) -> bytes:
    return fill_json(form_id, sample_values(form_id, **overrides))


@pytest.fixture
def published(app: Flask) -> str:
    uow = st(app).uow
    add_user(uow(), "ff-hbe", roles=["fagfelle"], hf="HBE", fagomrader=["Gastrokirurgi"])
    sak = upload(HF, "m.json", _form("minihta"), uow(), TODAY).case_id
    assert sak
    minihta.assign_reviewer(KOORDINATOR, sak, "ff-hbe", None, uow())
    minihta.declare_conflict(REVIEWER, sak, "gronn", None, uow())
    skjema2 = _form("minihta-fagfelle", **{"sak.id": sak, "fagfelle.helseforetak": "HBE"})
    assert upload(REVIEWER, "s2.json", skjema2, uow(), TODAY).accepted
    skjema3 = _form("minihta-beslutning", **{"sak.id": sak})
    assert upload(HF, "s3.json", skjema3, uow(), TODAY).accepted
    transition(KOORDINATOR, sak, "besluttet", "publisert", None, uow())
    return sak


@pytest.mark.parametrize("path", ["/publisert.atom", "/api/v1/publisert.atom"])
def test_a_forged_host_never_reaches_the_feed(app: Flask, published: str, path: str) -> None:
    app.config["BASE_URL"] = BASE
    resp = app.test_client().get(path, headers={"Host": FORGED})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"].startswith("public")
    body = resp.get_data(as_text=True)
    assert FORGED not in body
    feed = feedparser.parse(body)
    assert not feed.bozo
    assert [e.link for e in feed.entries] == [f"{BASE}/publisert/{published}"]
    assert feed.feed.link == f"{BASE}/publisert"
    assert {link.href for link in feed.feed.links} == {
        f"{BASE}/publisert",
        f"{BASE}/api/v1/publisert.atom",
    }


def test_a_forged_forwarded_host_behind_a_proxy_never_reaches_the_feed(
    app: Flask, published: str
) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.config["BASE_URL"] = BASE
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # as BEHIND_PROXY does
    resp = app.test_client().get(
        "/publisert.atom", headers={"X-Forwarded-Host": FORGED, "X-Forwarded-Proto": "https"}
    )
    assert resp.status_code == 200 and FORGED not in resp.get_data(as_text=True)


def test_the_base_url_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SKJEMAMOTTAK_BASE_URL", raising=False)
    assert base_url() == DEFAULT_BASE_URL == "http://127.0.0.1:5000"
    monkeypatch.setenv("SKJEMAMOTTAK_BASE_URL", f"{BASE}/")
    assert base_url() == BASE
    assert base_url("http://localhost:8080") == "http://localhost:8080"
    for bad in ("skjema.example", "javascript:alert(1)", "ftp://x.example", f"{BASE}/?a=1"):
        assert base_url(bad) == DEFAULT_BASE_URL
