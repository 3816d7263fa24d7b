"""The mini-HTA flow of API.md ("flows as API calls") over real HTTP, then the public database."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import feedparser
import pytest

from forms.templates import build
from tests.fillers import fill_json, fill_xlsx, sample_values
from tests.web.conftest import add_users
from tests.web.test_e2e_http import Server, server  # noqa: F401 (fixture)
from web.settings import DEFAULT_BASE_URL


@pytest.fixture
def reviewers(server: Server) -> Server:  # noqa: F811
    from tests.web.conftest import make_app

    app = make_app(server.instance)
    specs: dict[str, dict[str, Any]] = {
        "ff-hbe": {"roles": ["fagfelle"], "hf": "HBE", "fagomrader": ["Gastrokirurgi"]},
        "ff-ous": {"roles": ["fagfelle"], "hf": "OUS", "fagomrader": ["Gastrokirurgi"]},
    }
    server.tokens.update(add_users(app, specs).tokens)
    return server


def test_the_whole_minihta_path_ends_in_the_public_database(reviewers: Server) -> None:
    s = reviewers
    status, body = s.upload(
        "hf-ous", "minihta.json", fill_json("minihta", sample_values("minihta"))
    )
    assert status == 201, body
    sak = body["sak"]
    assert sak.startswith("MMV-2026-")
    okonomi = fill_xlsx(build("minihta-okonomi", "xlsx"), sample_values("minihta-okonomi"))
    status, body = s.upload("hf-ous", "okonomi.xlsx", okonomi, f"?sak={sak}")
    assert status == 201 and body["sak"] == sak, body
    status, body = s.upload("hf-ahus", "okonomi.xlsx", okonomi, f"?sak={sak}")
    assert status == 422 and body["error"]["code"] == "CASE_MISMATCH"

    # nothing is public before it is published
    assert s.request("GET", f"/publisert/{sak}")[0] == 404
    assert s.request("GET", f"/api/v1/publisert/{sak}")[0] == 404
    assert s.request("GET", f"/publisert/{sak}/minihta.pdf")[0] == 404
    assert s.request("GET", "/api/v1/publisert")[1]["publisert"] == []

    path = f"/api/v1/saker/{sak}"
    status, body = s.post_json(f"{path}/fagfelle", "koordinator", {"fagfelle": "ff-ous"})
    assert status == 422 and body["error"]["code"] == "OVERRIDE_NOT_ALLOWED"
    status, body = s.post_json(f"{path}/fagfelle", "koordinator", {"fagfelle": "ff-hbe"})
    assert status == 200 and body["status"] == "til_fagfelle", body
    assert s.request("GET", f"{path}/fagfellepakke.zip", "ff-hbe")[0] == 403
    assert s.request("GET", f"{path}/fagfellepakke.zip", "ff-ous")[0] == 404
    status, body = s.post_json(f"{path}/habilitet", "ff-hbe", {"niva": "gronn"})
    assert status == 200, body
    status, packet = s.request("GET", f"{path}/fagfellepakke.zip", "ff-hbe")
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(packet)) as z:
        assert f"skjema2-{sak}.pdf" in z.namelist() and f"okonomi-{sak}.pdf" in z.namelist()

    skjema2 = fill_json("minihta-fagfelle", sample_values("minihta-fagfelle", **{"sak.id": sak}))
    status, body = s.upload("ff-hbe", "skjema2.json", skjema2)
    assert status == 201, body
    assert s.request("GET", path, "koordinator")[1]["status"] == "fagfellevurdert"
    skjema3 = fill_json(
        "minihta-beslutning", sample_values("minihta-beslutning", **{"sak.id": sak})
    )
    assert s.upload("hf-ahus", "skjema3.json", skjema3)[1]["error"]["code"] == "CASE_MISMATCH"
    status, body = s.upload("hf-ous", "skjema3.json", skjema3)
    assert status == 201, body
    assert s.request("GET", f"/publisert/{sak}")[0] == 404
    status, body = s.post_json(
        f"{path}/overgang", "koordinator", {"fra": "besluttet", "til": "publisert"}
    )
    assert status == 200, body

    status, body = s.request("GET", "/api/v1/publisert?q=endetarmskreft&hf=OUS&ar=2026")
    assert status == 200
    [item] = body["publisert"]
    assert item["sak"] == sak and item["helseforetak"] == "OUS" and item["ar"] == 2026
    assert {"tittel", "fagomrade", "konklusjon", "publisert"} <= set(item)
    assert s.request("GET", "/api/v1/publisert?konklusjon=utfaset")[1]["publisert"] == []
    status, html = s.request("GET", "/publisert?q=endetarmskreft")
    assert status == 200 and sak.encode() in html and html.count(b"<h1") == 1
    status, html = s.request("GET", f"/publisert/{sak}")
    assert status == 200 and b"Fagfellevurdering (PDF)" in html
    for document in ("minihta", "fagfellevurdering", "beslutning"):
        status, pdf = s.request("GET", f"/publisert/{sak}/{document}.pdf")
        assert status == 200 and pdf.startswith(b"%PDF"), document

    for feed_path in ("/api/v1/publisert.atom", "/publisert.atom"):
        status, raw = s.request("GET", feed_path)
        assert status == 200
        feed = feedparser.parse(raw)
        assert feed.version == "atom10" and not feed.bozo
        # links on the configured base URL (the default here), never on the request's Host
        assert [e.link for e in feed.entries] == [f"{DEFAULT_BASE_URL}/publisert/{sak}"]
