"""API.md "the flows as API calls", the application flow end to end over real HTTP:

HF upload → overgang mottatt→priskontroll → priskontroll → klar → POST /moter → planlegg →
each member GET pakke.zip → vedtak → HF GET vedtak.pdf.
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from werkzeug.serving import make_server

from tests.fillers import fill_json, sample_values
from tests.web.conftest import add_users, make_app, st
from tests.web.test_e2e_http import Server

REFERENCE = "2026-09-14-OUS-KREFT"
MEMBERS = {"k-ous": "OUS", "k-ahus": "AHUS", "k-hbe": "HBE", "k-unn": "UNN", "k-hmr": "HMR"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    instance = tmp_path / "instance"
    app = make_app(instance)
    specs: dict[str, dict[str, Any]] = {
        "hf-ous": {"roles": ["hf"], "hf": "OUS"},
        "hf-ahus": {"roles": ["hf"], "hf": "AHUS"},
        "koordinator": {"roles": ["koordinator"]},
        "priskontroll": {"roles": ["priskontroll"]},
        **{
            name: {
                "roles": ["komite"],
                "hf": hf,
                "beslutningstaker": True,
                "display_name": f"Medlem {hf}",
            }
            for name, hf in MEMBERS.items()
        },
    }
    tokens = add_users(app, specs).tokens
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server("127.0.0.1", httpd.server_port, instance, tokens)
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        st(app).engine.dispose()


def _text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)


DECISION = {
    "utfall": "innvilget",
    "kriterier": {
        "okt_nytte": {"oppfylt": True, "begrunnelse": "Dokumentert respons i fase 2-studie."},
        "hoyere_alvorlighet": {"oppfylt": False, "begrunnelse": ""},
        "sarskilte_medisinske_arsaker": {"oppfylt": False, "begrunnelse": ""},
    },
    "begrunnelse": "Komitéen finner at økt nytte er godtgjort.",
    "deltakere": ["k-ahus", "k-hbe", "k-unn", "k-hmr"],
    "foreslar_gruppevurdering": False,
    "gruppevurdering_tekst": "",
}


def test_the_application_flow_from_upload_to_decision_letter(server: Server) -> None:
    data = fill_json("tilgang-del2", sample_values("tilgang-del2"))
    status, body = server.upload("hf-ous", "soknad.json", data)
    assert status == 201, body
    case_id = body["sak"]
    assert case_id == REFERENCE
    case = f"/api/v1/saker/{case_id}"

    status, body = server.post_json(
        f"{case}/overgang", "koordinator", {"fra": "mottatt", "til": "priskontroll"}
    )
    assert status == 200 and body["status"] == "priskontroll"
    status, body = server.post_json(
        f"{case}/priskontroll",
        "priskontroll",
        {"legemiddel_per_maned": 61250, "merknad": "Bekreftet"},
    )
    assert status == 200 and body["status"] == "klar"

    status, body = server.post_json(
        "/api/v1/moter", "koordinator", {"dato": "2026-12-10", "tid": "09:00"}
    )
    assert status == 201, body
    meeting = body["id"]
    status, listed = server.request("GET", "/api/v1/moter", "koordinator")
    assert status == 200 and [m["id"] for m in listed["moter"]] == [meeting]
    assert listed["moter"][0]["sakspapirfrist"] == "2026-12-08"

    status, body = server.post_json(f"/api/v1/moter/{meeting}/planlegg", "koordinator", {})
    assert status == 200, body
    assert body["plassert"] == [case_id] and body["ikke_plassert"] == []
    status, detail = server.request("GET", case, "koordinator")
    assert detail["status"] == "satt_opp"

    # each member gets their own packet; the OUS member is recused from the OUS case
    for member in ("k-ahus", "k-hbe", "k-unn", "k-hmr"):
        status, packet = server.request("GET", f"/api/v1/moter/{meeting}/pakke.zip", member)
        assert status == 200, packet
        with zipfile.ZipFile(io.BytesIO(packet)) as zf:
            assert f"sak-{case_id}.pdf" in zf.namelist()
            text = _text(zf.read(f"sak-{case_id}.pdf"))
        assert case_id in text and "61" in text  # the price check is in the case PDF
    status, packet = server.request("GET", f"/api/v1/moter/{meeting}/pakke.zip", "k-ous")
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(packet)) as zf:
        assert not any(case_id in name for name in zf.namelist())
        assert case_id not in _text(zf.read("samlet.pdf"))
    for outsider in ("hf-ous", "koordinator"):
        status, body = server.request("GET", f"/api/v1/moter/{meeting}/pakke.zip", outsider)
        assert status == 403, body
    status, _ = server.request("GET", "/api/v1/moter/999/pakke.zip", "k-ahus")
    assert status == 404

    status, body = server.post_json(f"{case}/vedtak", "koordinator", DECISION)
    assert status == 201, body
    assert body["status"] == "avgjort" and body["utfall"] == "innvilget"

    status, pdf = server.request("GET", f"{case}/vedtak.pdf", "hf-ous")
    assert status == 200 and pdf.startswith(b"%PDF")
    assert case_id in _text(pdf)
    status, docx = server.request("GET", f"{case}/vedtak.docx", "hf-ous")
    assert status == 200 and docx.startswith(b"PK")
    status, detail = server.request("GET", case, "hf-ous")
    assert detail["status"] == "avgjort"

    # the decided case is read-only, and the letter is for the HF of the case and the coordinator
    status, body = server.post_json(
        f"{case}/overgang", "hf-ous", {"fra": "avgjort", "til": "trukket"}
    )
    assert status == 409 and body["error"]["code"] == "CASE_DECIDED"
    status, body = server.post_json(f"{case}/vedtak", "koordinator", DECISION)
    assert status == 409
    status, body = server.upload("hf-ous", "soknad.json", data)
    assert status == 409 and body["error"]["code"] == "REFERENCE_IN_USE"
    status, _ = server.request("GET", f"{case}/vedtak.pdf", "hf-ahus")
    assert status == 404
    status, _ = server.request("GET", f"{case}/vedtak.pdf", "k-ahus")
    assert status == 403
    status, _ = server.request("GET", f"{case}/vedtak.pdf")
    assert status == 401
