"""End to end over real HTTP: the app served on 127.0.0.1 (port 0) and urllib-free http.client."""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from forms.helseforetak import registry
from forms.templates import build
from processor.identity import is_identity_number
from processor.ingest import ingest
from tests.fillers import fill_json, fill_pdf, sample_values
from tests.web.conftest import TODAY, add_users, database_text, make_app, st
from tests.wire import multipart

CASE_FORMS = {"tilgang-del2": ("soknad", "helseforetak"), "minihta": ("generelt", "helseforetak")}


@dataclass
class Server:
    host: str
    port: int
    instance: Path
    tokens: dict[str, str]
    dump: Callable[[], str] | None = None

    def request(
        self,
        method: str,
        path: str,
        user: str | None = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            all_headers = dict(headers or {})
            if user is not None:
                all_headers["Authorization"] = f"Bearer {self.tokens[user]}"
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        kind = resp.getheader("Content-Type", "")
        return resp.status, json.loads(raw) if "json" in kind else raw

    def upload(self, user: str, filename: str, data: bytes, query: str = "") -> tuple[int, Any]:
        body, ctype = multipart(filename, data)
        return self.request(
            "POST", f"/api/v1/innsendinger{query}", user, body=body, headers={"Content-Type": ctype}
        )

    def post_json(self, path: str, user: str, doc: dict[str, Any]) -> tuple[int, Any]:
        return self.request(
            "POST",
            path,
            user,
            body=json.dumps(doc).encode(),
            headers={"Content-Type": "application/json"},
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    instance = tmp_path / "instance"
    app = make_app(instance)
    specs: dict[str, dict[str, Any]] = {
        f"hf-{code.lower()}": {"roles": ["hf"], "hf": code} for code in registry().trusts
    }
    specs["koordinator"] = {"roles": ["koordinator"]}
    specs["koordinator-2"] = {"roles": ["koordinator"]}
    tokens = add_users(app, specs).tokens
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server("127.0.0.1", httpd.server_port, instance, tokens, lambda: database_text(app))
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        st(app).engine.dispose()


def _form_hf(path: Path) -> tuple[str | None, str | None]:
    result = ingest(path.name, path.read_bytes(), today=TODAY)
    if result.status != "accepted" or result.form_type not in CASE_FORMS:
        return result.form_type, None
    section, key = CASE_FORMS[result.form_type]
    return result.form_type, (result.data or {}).get(section, {}).get(key)


def test_every_sample_gets_the_answer_the_contract_demands(
    server: Server, samples_dir: Path, expected: dict
) -> None:
    for name, want in sorted(expected.items()):
        path = samples_dir / name
        data = path.read_bytes()
        form_type, hf = _form_hf(path)
        if want["status"] == "accepted" and hf is not None:
            other = "hf-ous" if hf != "OUS" else "hf-ahus"
            status, body = server.upload(other, name, data)
            assert status == 403, name
            assert body["error"]["code"] == "UPLOADER_HF_MISMATCH", name
            status, body = server.upload(f"hf-{hf.lower()}", name, data)
            assert status == 201, (name, body)
            assert body["status"] == "accepted" and body["versjon"] == 1
            status, case = server.request("GET", f"/api/v1/saker/{body['sak']}", "koordinator")
            assert status == 200 and case["type"] == form_type and case["helseforetak"] == hf
        elif want["status"] == "accepted":
            # attachments (økonomi, fagfelle, beslutning) name a case that is not the uploader's
            status, body = server.upload("hf-ous", name, data)
            assert status == 422, name
            assert body["error"]["code"] == "CASE_MISMATCH", name
        else:
            status, body = server.upload("hf-ous", name, data)
            assert status == 422, (name, body)
            assert body["status"] == want["status"], name
            codes = {f["code"] for f in body["errors"] + body["warnings"]}
            assert codes & set(want.get("codes", codes)), (name, codes)
            flagged = {f["field"] for f in body["errors"] + body["warnings"]}
            assert set(want.get("fields", [])) <= flagged, name


def _del2(hf: str = "STO", **overrides: object) -> dict[str, object]:
    return sample_values(
        "tilgang-del2",
        **{
            "soknad.helseforetak": hf,
            "soknad.referansenummer": f"2026-09-14-{hf}-KREFT",
            **overrides,
        },
    )


def test_resubmission_after_return_shows_a_diff(server: Server) -> None:
    status, body = server.upload("hf-sto", "soknad.json", fill_json("tilgang-del2", _del2()))
    assert status == 201
    case = f"/api/v1/saker/{body['sak']}"
    status, _ = server.post_json(
        f"{case}/overgang",
        "koordinator",
        {"fra": "mottatt", "til": "returnert", "begrunnelse": "Utdyp evalueringsplanen."},
    )
    assert status == 200
    changed = _del2(**{"behandling.evalueringsplan": "MR hver 8. uke og vurdering før hver kur."})
    pdf = fill_pdf(build("tilgang-del2", "pdf"), changed)
    status, body = server.upload("hf-sto", "soknad-v2.pdf", pdf)
    assert status == 201 and body["versjon"] == 2
    status, detail = server.request("GET", case, "koordinator")
    assert detail["status"] == "mottatt"
    assert detail["endringer_mellom"] == [1, 2]
    assert [c["felt"] for c in detail["endringer"]] == ["behandling.evalueringsplan"]
    assert detail["endringer"][0]["etikett"] == "Plan for evaluering av effekt"


def test_two_coordinators_at_once_one_gets_409(server: Server) -> None:
    status, body = server.upload("hf-sto", "soknad.json", fill_json("tilgang-del2", _del2()))
    assert status == 201
    path = f"/api/v1/saker/{body['sak']}/overgang"
    barrier = threading.Barrier(2)
    results: dict[str, tuple[int, Any]] = {}

    def move(user: str) -> None:
        barrier.wait()
        results[user] = server.post_json(path, user, {"fra": "mottatt", "til": "priskontroll"})

    threads = [threading.Thread(target=move, args=(u,)) for u in ("koordinator", "koordinator-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    statuses = sorted(s for s, _ in results.values())
    assert statuses == [200, 409]
    loser = next(b for s, b in results.values() if s == 409)
    assert loser["error"]["code"] == "STALE_STATE"


_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def synthetic_number(birth: date = date(1979, 4, 17)) -> str:
    """A synthetic fødselsnummer: month + 80, control digits computed here."""
    prefix = f"{birth.day:02d}{birth.month + 80:02d}{birth.year % 100:02d}"
    for individual in range(100, 500):
        nine = f"{prefix}{individual:03d}"
        k1 = (11 - sum(w * int(d) for w, d in zip(_W1, nine, strict=True)) % 11) % 11
        k2_base = nine + str(k1)
        k2 = (11 - sum(w * int(d) for w, d in zip(_W2, k2_base, strict=True)) % 11) % 11
        if k1 < 10 and k2 < 10:
            return k2_base + str(k2)
    raise AssertionError("no valid synthetic number")


def _files_containing(root: Path, needles: list[bytes]) -> list[Path]:
    hits = []
    for p in root.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            if any(n in data for n in needles):
                hits.append(p)
    return hits


def test_rejected_identity_number_leaves_no_trace(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    number = synthetic_number()
    assert is_identity_number(number)
    spaced = f"{number[:6]} {number[6:]}"
    caplog.set_level(logging.DEBUG)
    blobs = server.instance / "blobs"
    before = sorted(p for p in blobs.rglob("*") if p.is_file())
    values = _del2(**{"pasient.sykehistorie": f"Pasienten (fnr {spaced}) har hatt progresjon."})
    pdf = fill_pdf(build("tilgang-del2", "pdf"), values)
    status, body = server.upload("hf-sto", "soknad.pdf", pdf)
    assert status == 422
    assert body["status"] == "rejected"
    assert "IDENTITY_FOUND" in {f["code"] for f in body["errors"]}
    needles = [number.encode(), spaced.encode(), number.encode("utf-16-le")]
    assert not any(n in json.dumps(body).encode() for n in needles)
    assert sorted(p for p in blobs.rglob("*") if p.is_file()) == before
    assert _files_containing(server.instance, needles) == []
    assert server.dump is not None
    rows = server.dump()
    assert number not in rows and spaced not in rows
    assert "har hatt progresjon" not in rows
    assert number not in caplog.text and spaced not in caplog.text
    status, listed = server.request("GET", "/api/v1/saker", "koordinator")
    assert listed["totalt"] == 0
