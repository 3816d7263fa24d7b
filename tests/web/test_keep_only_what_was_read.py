"""FORMS.md section 6, rule 3, end to end: the service keeps only what it read.

The real server (`skjemamottak serve`, gunicorn workers) runs on 127.0.0.1 with a temporary
instance folder, its stdout and stderr captured. Through the API and the upload page it gets
(a) every file of the hostile corpus (`tests.hostile_identity.all_cases()`: each is refused), and
(b) accepted forms of every type (Del 2 as PDF, DOCX and JSON, Del 2s holding eleven digits that
fail the control digits, a mini-HTA with its economics workbook, the peer review and the
decision), each uploaded file carrying a marker of its own in a place the canonical JSON does not
hold (document metadata). Then a backup is made with the CLI, the server is stopped, and every
file of the instance folder (database, WAL, blobs, the backup and every entry of it), the rows of
every table, the server's output and the CLI's output are searched for each hostile number
(ASCII; with a space, dash or dot after the sixth digit; UTF-16LE and -BE; full-width digits), for
each marker, and for a 64-byte slice of every uploaded file that the canonical JSON of the
accepted forms does not hold: none may be found.

On PostgreSQL (`SKJEMAMOTTAK_TEST_WEB_BACKEND=postgresql`) the database lives outside the
instance folder: its files are not searched, its rows are (every table, as text).
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import socket
import string
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import inspect, text

from forms.templates import build
from processor.ingest import ingest
from storage import db
from tests import pgutil
from tests.cli import run_cli, start_server, stop_server
from tests.fillers import fill_docx, fill_json, fill_pdf, fill_xlsx, sample_values
from tests.hostile_identity import HostileCase, all_cases, basic
from tests.web.conftest import on_postgres
from tests.wire import multipart

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
PASSWORD = "riktig-hest-batteri"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
TODAY = date.today()


# ---- the server ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    port: int
    env: dict[str, str]
    instance: Path
    out: Path
    cli_output: list[str] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    cookie: str = ""

    def cli(self, *args: str, stdin: str | None = None) -> str:
        proc = run_cli(*args, env=self.env, stdin=stdin)
        self.cli_output.append(proc.stdout + proc.stderr)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    def request(
        self,
        method: str,
        path: str,
        user: str | None = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, http.client.HTTPResponse]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            all_headers = dict(headers or {})
            if user is not None:
                all_headers["Authorization"] = f"Bearer {self.tokens[user]}"
            elif self.cookie:
                all_headers["Cookie"] = self.cookie
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        for header, value in resp.getheaders():
            if header.lower() == "set-cookie" and value.startswith("skjemamottak="):
                self.cookie = value.split(";", 1)[0]
        kind = resp.getheader("Content-Type", "")
        return resp.status, json.loads(raw) if "json" in kind else raw, resp

    def post_json(self, path: str, user: str, doc: dict[str, Any]) -> tuple[int, Any]:
        status, body, _ = self.request(
            "POST",
            path,
            user,
            body=json.dumps(doc).encode(),
            headers={"Content-Type": "application/json"},
        )
        return status, body

    def upload(self, user: str, name: str, data: bytes, sak: str | None = None) -> tuple[int, Any]:
        body, ctype = multipart(name, data)
        path = "/api/v1/innsendinger" + (f"?sak={sak}" if sak else "")
        status, answer, _ = self.request(
            "POST", path, user, body=body, headers={"Content-Type": ctype}
        )
        return status, answer

    def login(self, username: str) -> None:
        self.cookie = ""
        _, page, _ = self.request("GET", "/logg-inn")
        fields = {"brukernavn": username, "passord": PASSWORD, "csrf_token": _csrf(page)}
        status, _, _ = self.request(
            "POST",
            "/logg-inn",
            body="&".join(f"{k}={v}" for k, v in fields.items()).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 303

    def upload_page(self, name: str, data: bytes) -> tuple[int, str]:
        """The upload page (session cookie and CSRF token), as a browser sends it."""
        _, page, _ = self.request("GET", "/innsending")
        body, ctype = multipart(name, data, {"csrf_token": _csrf(page)})
        status, answer, _ = self.request(
            "POST", "/innsending", body=body, headers={"Content-Type": ctype}
        )
        return status, answer.decode("utf-8")


def _csrf(page: bytes) -> str:
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1).decode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    instance = tmp_path / "instance"
    env = {
        **os.environ,
        "SKJEMAMOTTAK_INSTANCE": str(instance),
        "SKJEMAMOTTAK_RATELIMIT_DISABLED": "1",
        "SKJEMAMOTTAK_SECRET_KEY": "e2e-regel-3",
    }
    for name in ("SKJEMAMOTTAK_DATABASE_URL", "SKJEMAMOTTAK_BLOB_KEY"):
        env.pop(name, None)
    database = pgutil.create_database() if on_postgres() else None
    if database:
        env["SKJEMAMOTTAK_DATABASE_URL"] = pgutil.url_for(database)
    s = Server(_free_port(), env, instance, tmp_path / "server-output.txt")
    s.cli("db", "upgrade")
    for name, args in {
        "hf-ous": ["--role", "hf", "--hf", "OUS"],
        "koordinator": ["--role", "koordinator"],
        "ff-hbe": ["--role", "fagfelle", "--hf", "HBE", "--fagomrade", "Gastrokirurgi"],
    }.items():
        s.cli("user", "add", name, *args, "--password-stdin", stdin=PASSWORD + "\n")
        s.tokens[name] = s.cli("token", "create", name).strip().splitlines()[-1]
    with open(s.out, "wb") as output:
        proc = start_server(
            s.port, "--workers", "2", env=env, host=HOST, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            s.stop = lambda: stop_server(proc)  # type: ignore[attr-defined]
            yield s
        finally:
            stop_server(proc)
            if database:
                pgutil.drop_database(database)


# ---- the files ----------------------------------------------------------------------------------


def _marker() -> str:
    """Letters only (no digits, so the identity guard has nothing to say), unique per file."""
    rnd = uuid.uuid4().int
    letters = []
    for _ in range(20):
        rnd, i = divmod(rnd, 26)
        letters.append(string.ascii_uppercase[i])
    return "MERKE" + "".join(letters)


def _pdf_titled(data: bytes, marker: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.add_metadata({"/Title": marker})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _ooxml_titled(data: bytes, marker: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                part, n = re.subn(
                    rb"(<dc:title[^>]*>)[^<]*(</dc:title>)",
                    rb"\g<1>" + marker.encode() + rb"\g<2>",
                    part,
                )
                assert n == 1
            dst.writestr(info, part)
    return out.getvalue()


@dataclass
class Accepted:
    name: str
    data: bytes
    marker: str | None  # None for JSON: every byte of it is either canonical or white space


def _form(form_id: str, fmt: str, marker: str | None, **overrides: object) -> bytes:
    values = sample_values(form_id, **overrides)
    if fmt == "json":
        return fill_json(form_id, values)
    if fmt == "pdf":
        return _pdf_titled(fill_pdf(build(form_id, "pdf"), values), str(marker))
    if fmt == "docx":
        return _ooxml_titled(fill_docx(build(form_id, "docx"), values), str(marker))
    return _ooxml_titled(fill_xlsx(build(form_id, "xlsx"), values), str(marker))


def _del2(fmt: str, department: str) -> Accepted:
    marker = None if fmt == "json" else _marker()
    ref = f"2026-09-14-OUS-{department}"
    data = _form("tilgang-del2", fmt, marker, **{"soknad.referansenummer": ref})
    return Accepted(f"soknad.{fmt}", data, marker)


# ---- the search ---------------------------------------------------------------------------------


def writings(number: str) -> list[bytes]:
    """Every writing of an identity number the search looks for."""
    forms = [number] + [f"{number[:6]}{sep}{number[6:]}" for sep in (" ", "-", ".")]
    out = []
    for form in forms + [number.translate(FULL_WIDTH)]:
        out += [form.encode("utf-8"), form.encode("utf-16-le"), form.encode("utf-16-be")]
    return out


def _slice(data: bytes, kept: list[bytes]) -> bytes:
    """A 64-byte slice of an uploaded file that the service may not keep: not inside the
    canonical JSON of any accepted form (in any of the serialisations a database may use)."""
    starts = [len(data) // 2, len(data) // 3, 64] + list(range(0, max(len(data) - 64, 1), 64))
    for start in starts:
        window = data[start : start + 64]
        if len(window) == 64 and not any(window in k for k in kept):
            return window
    raise AssertionError("every slice of the file is canonical JSON")


def _serialisations(canonical: list[dict]) -> list[bytes]:
    out = []
    for doc in canonical:
        for ascii_only in (True, False):
            for seps in ((", ", ": "), (",", ":")):
                out.append(json.dumps(doc, ensure_ascii=ascii_only, separators=seps).encode())
    return out


def _everything(instance: Path) -> list[tuple[str, bytes]]:
    """Every file under the instance folder, and every entry of every ZIP file, decompressed."""
    out = []
    for path in sorted(p for p in instance.rglob("*") if p.is_file()):
        data = path.read_bytes()
        out.append((str(path.relative_to(instance)), data))
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                out += [(f"{path.name}!{n}", zf.read(n)) for n in zf.namelist()]
    return out


def _rows(url: str) -> str:
    engine = db.make_engine(url)
    try:
        lines = []
        with engine.connect() as conn:
            for table in inspect(engine).get_table_names():
                rows = conn.execute(text(f'SELECT * FROM "{table}"'))
                lines += [repr(tuple(r)) for r in rows]
        return "\n".join(lines)
    finally:
        engine.dispose()


# ---- the test -----------------------------------------------------------------------------------


def test_nothing_of_an_uploaded_file_is_kept_but_its_canonical_json_and_hash(
    server: Server,
) -> None:
    s = server
    hostile: list[HostileCase] = all_cases()
    assert any(c.name.startswith("basic-") for c in hostile)
    uploaded: list[bytes] = []

    # (a) every hostile file is refused: through the API, and the basic ones also on the page
    for case in hostile:
        status, body = s.upload("hf-ous", case.filename, case.data)
        uploaded.append(case.data)
        assert status == 422 and body["status"] == "rejected", (case.name, body)
    s.login("hf-ous")
    for case in basic.cases():
        status, page = s.upload_page(case.filename, case.data)
        assert status == 422 and "Ingenting er lagret" in page, case.name

    # (b) accepted forms of every type, each file with a marker the canonical JSON does not hold
    accepted: list[Accepted] = [
        _del2("pdf", "MERKEPDF"),
        _del2("docx", "MERKEDOCX"),
        _del2("json", "MERKEJSON"),
    ]
    receipts = []
    for form in accepted:
        status, body = s.upload("hf-ous", form.name, form.data)
        assert status == 201, (form.name, body)
        receipts.append(body)
    # eleven digits failing the control digits are no identity: accepted, on the page too
    wrong = basic.cases(wrong=True)
    for case in wrong[:-1]:
        status, body = s.upload("hf-ous", case.filename, case.data)
        assert status == 201, (case.name, body)
        accepted.append(Accepted(case.filename, case.data, None))
    status, page = s.upload_page(wrong[-1].filename, wrong[-1].data)
    assert status == 201 and "Kvittering" in page, page[:300]
    accepted.append(Accepted(wrong[-1].filename, wrong[-1].data, None))

    # the mini-HTA: proposal (PDF), economics (XLSX), peer review (DOCX), decision (PDF)
    marker = _marker()
    minihta = Accepted("minihta.pdf", _form("minihta", "pdf", marker), marker)
    status, body = s.upload("hf-ous", minihta.name, minihta.data)
    assert status == 201, body
    sak = body["sak"]
    path = f"/api/v1/saker/{sak}"
    marker = _marker()
    okonomi = Accepted(
        "okonomi.xlsx", _form("minihta-okonomi", "xlsx", marker, **{"sak.id": sak}), marker
    )
    status, body = s.upload("hf-ous", okonomi.name, okonomi.data, sak=sak)
    assert status == 201, body
    status, body = s.post_json(f"{path}/fagfelle", "koordinator", {"fagfelle": "ff-hbe"})
    assert status == 200, body
    assert s.post_json(f"{path}/habilitet", "ff-hbe", {"niva": "gronn"})[0] == 200
    status, packet, _ = s.request("GET", f"{path}/fagfellepakke.zip", "ff-hbe")
    assert status == 200
    marker = _marker()
    review = Accepted(
        "skjema2.docx", _form("minihta-fagfelle", "docx", marker, **{"sak.id": sak}), marker
    )
    status, body = s.upload("ff-hbe", review.name, review.data)
    assert status == 201, body
    marker = _marker()
    decision = Accepted(
        "skjema3.pdf", _form("minihta-beslutning", "pdf", marker, **{"sak.id": sak}), marker
    )
    status, body = s.upload("hf-ous", decision.name, decision.data)
    assert status == 201, body
    status, body = s.post_json(
        f"{path}/overgang", "koordinator", {"fra": "besluttet", "til": "publisert"}
    )
    assert status == 200, body
    accepted += [minihta, okonomi, review, decision]
    receipts.append(body)

    # the receipts show the SHA-256 of each file; the case shows it per version
    import hashlib

    for form, receipt in zip(accepted[:3], receipts, strict=False):
        assert receipt["fil_sha256"] == hashlib.sha256(form.data).hexdigest()
    _, detail, _ = s.request("GET", f"/api/v1/saker/{receipts[0]['sak']}", "koordinator")
    assert detail["versjoner"][0]["fil_sha256"] == receipts[0]["fil_sha256"]

    # every download is the service's own rendering
    downloads = [packet]
    for document in ("minihta", "fagfellevurdering", "beslutning"):
        status, pdf, _ = s.request("GET", f"/publisert/{sak}/{document}.pdf")
        assert status == 200
        downloads.append(pdf)

    uploaded += [a.data for a in accepted]
    backup = s.instance / "sikkerhetskopi.zip"
    s.cli("backup", str(backup))
    s.stop()  # type: ignore[attr-defined]

    # what may be kept: the canonical JSON of the accepted forms
    canonical = [ingest(a.name, a.data, today=TODAY).data or {} for a in accepted]
    assert all(canonical)
    kept = _serialisations(canonical)
    needles: list[tuple[str, bytes]] = []
    for case in hostile:
        needles += [(f"{case.name}: number", w) for w in writings(case.number)]
    for i, data in enumerate(uploaded):
        needles.append((f"upload {i}: 64-byte slice", _slice(data, kept)))
    for a in accepted:
        if a.marker:
            needles += [
                (f"{a.name}: marker", a.marker.encode("utf-8")),
                (f"{a.name}: marker (UTF-16)", a.marker.encode("utf-16-le")),
            ]

    places = _everything(s.instance)
    assert any(name.startswith("sikkerhetskopi.zip!db/") for name, _ in places)
    if not on_postgres():
        assert any(name == db.DB_FILE for name, _ in places)
    places.append(("server output", s.out.read_bytes()))
    places.append(("CLI output", "\n".join(s.cli_output).encode("utf-8")))
    places.append(
        (
            "database rows",
            _rows(s.env.get("SKJEMAMOTTAK_DATABASE_URL") or db.default_url(s.instance)).encode(
                "utf-8"
            ),
        )
    )
    places += [(f"download {i}", d) for i, d in enumerate(downloads)]
    hits = [
        (what, where) for what, needle in needles for where, content in places if needle in content
    ]
    assert hits == []
