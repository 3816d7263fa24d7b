"""Issue 11, finding 1: any text stored in the database leaves the service without a 500.

A JSON upload with a lone surrogate (`"\\ud800"`) was accepted once; from then on the inbox,
`/saker` and `/api/v1/saker` answered 500, `backup` crashed. The upload now refuses it, but a
row mended by hand or written before the refusal may still hold such text. Here such rows are
written straight into the database (SQLite: the JSON columns hold `\\ud800` escaped, the text
columns hold bytes that are no UTF-8): a case's canonical JSON (its specialty, drug, diagnosis),
a reason, a user's name and specialties, a price-check note, a publication, an audit event; with
NUL, U+2028, an RTL override and a very long text beside them. Every page, its JSON twin, the
downloads and `backup` answer as usual, with U+FFFD where a character could not be carried.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import text

from tests.fillers import fill_json, sample_values
from tests.web.conftest import Users, del2, login, on_postgres, st, upload

sqlite_only = pytest.mark.skipif(
    on_postgres(), reason="PostgreSQL refuses lone surrogates and NUL in text and JSONB alike"
)

LONE = "\ud800"
NASTY = f"Bad{LONE}text\x00nul\u2028line\u202eRTL {'x' * 20000} {LONE}end"
# no UTF-8 can carry a lone surrogate; in a TEXT column it can only be bytes that are no UTF-8
NASTY_BYTES = b"Grunn \xed\xa0\x80 og \xff\xfe slutt \x00 NUL \xe2\x80\xa8 " + b"y" * 5000


def _json_sql(value: object) -> str:
    """The JSON text SQLAlchemy writes on SQLite (ASCII, surrogates escaped)."""
    return json.dumps(value)


def _mend(app: Flask, del2_id: str, minihta_id: str) -> None:
    """Write the nasty text into the rows, bypassing every service."""
    engine = st(app).engine
    with engine.begin() as conn:
        for case_id in (del2_id, minihta_id):
            raw = conn.execute(
                text("SELECT data FROM case_versions WHERE case_id = :c"), {"c": case_id}
            ).scalar_one()
            data = json.loads(raw) if isinstance(raw, str) else raw
            for section in data.values():
                if isinstance(section, dict):
                    for key, value in section.items():
                        if isinstance(value, str) and key not in ("helseforetak", "type"):
                            section[key] = NASTY + value
            data.setdefault("metode", {})["fagomrade"] = NASTY
            conn.execute(
                text("UPDATE case_versions SET data = :d, warnings = :w WHERE case_id = :c"),
                {"d": _json_sql(data), "w": _json_sql([{"message": NASTY}]), "c": case_id},
            )
        conn.execute(text("UPDATE transitions SET reason = CAST(:r AS TEXT)"), {"r": NASTY_BYTES})
        conn.execute(
            text("UPDATE cases SET urgent_reason = CAST(:r AS TEXT), urgent = 1 WHERE id = :c"),
            {"r": NASTY_BYTES, "c": del2_id},
        )
        conn.execute(
            text("UPDATE users SET display_name = CAST(:n AS TEXT), fagomrader = :f"),
            {"n": NASTY_BYTES, "f": _json_sql([NASTY, "Kreft"])},
        )
        conn.execute(
            text(
                "UPDATE audit_events SET details = :d WHERE seq = (SELECT max(seq) FROM audit_events)"
            ),
            {"d": _json_sql({"grunn": NASTY})},
        )
        conn.execute(text("UPDATE cases SET state = 'publisert' WHERE id = :c"), {"c": minihta_id})
        conn.execute(
            text(
                "INSERT INTO minihta_publications (case_id, title, hf, year, fagomrade, konklusjon,"
                " summary, search_text, published_at) VALUES (:c, CAST(:t AS TEXT), 'OUS', 2026,"
                " CAST(:t AS TEXT), 'publiseres', CAST(:t AS TEXT), 'sok', '2026-11-20 10:00:00')"
            ),
            {"c": minihta_id, "t": NASTY_BYTES[:150]},
        )


@pytest.fixture
def mended(app: Flask, client: FlaskClient, users: Users) -> tuple[str, str]:
    resp = upload(client, users.auth("hf-ous"), del2())
    assert resp.status_code == 201, resp.get_json()
    del2_id = resp.get_json()["sak"]
    minihta = fill_json("minihta", sample_values("minihta"))
    resp = upload(client, users.auth("hf-ous"), minihta, "minihta.json")
    assert resp.status_code == 201, resp.get_json()
    minihta_id = resp.get_json()["sak"]
    _mend(app, del2_id, minihta_id)
    return del2_id, minihta_id


def _ok(resp, path: str) -> str:  # noqa: ANN001 - a test response
    assert resp.status_code == 200, (path, resp.status_code, resp.get_data()[:300])
    body = resp.get_data()
    decoded = body.decode("utf-8")  # strict: what left is UTF-8
    return decoded


@sqlite_only
def test_pages_and_their_json_twins_answer_with_stored_bad_text(
    app: Flask, client: FlaskClient, users: Users, mended: tuple[str, str]
) -> None:
    del2_id, minihta_id = mended
    api = [
        ("koordinator", "/api/v1/saker"),
        ("koordinator", "/api/v1/innboks"),
        ("koordinator", f"/api/v1/saker/{del2_id}"),
        ("koordinator", f"/api/v1/saker/{minihta_id}"),
        ("koordinator", "/api/v1/statistikk"),
        ("koordinator", "/api/v1/komite"),
        ("hf-ous", "/api/v1/saker"),
        ("hf-ous", f"/api/v1/saker/{del2_id}"),
    ]
    for user, path in api:
        body = _ok(client.get(path, headers=users.auth(user)), path)
        assert LONE not in body
        json.loads(body)  # valid JSON
    detail = client.get(f"/api/v1/saker/{del2_id}", headers=users.auth("koordinator")).get_json()
    assert "\ufffd" in json.dumps(detail, ensure_ascii=False)
    # one bad row does not take a list down: the list still holds both cases
    listed = client.get("/api/v1/saker", headers=users.auth("koordinator")).get_json()
    assert {del2_id, minihta_id} <= {c["sak"] for c in listed["saker"]}
    for path in ("/api/v1/publisert", "/api/v1/tall", "/api/v1/publisert.atom"):
        _ok(client.get(path), path)

    login(client, "koordinator")
    for path in (
        "/saker",
        "/innboks",
        f"/saker/{del2_id}",
        f"/saker/{minihta_id}",
        "/statistikk",
        "/komite",
        "/moter",
        "/priskontroll",
        f"/minihta/{minihta_id}/fagfelle",
    ):
        resp = client.get(path)
        if resp.status_code in (302, 303, 403):
            continue  # not this role's page
        html = _ok(resp, path)
        assert LONE not in html
    html = _ok(client.get(f"/saker/{del2_id}"), "case page")
    assert "\ufffd" in html
    for path in ("/statistikk.xlsx", "/api/v1/statistikk.xlsx"):
        resp = client.get(path, headers=users.auth("koordinator"))
        assert resp.status_code == 200, path
        load_workbook(io.BytesIO(resp.data))


@sqlite_only
def test_a_case_with_bad_stored_text_can_still_be_withdrawn(
    app: Flask, client: FlaskClient, users: Users, mended: tuple[str, str]
) -> None:
    del2_id, _minihta_id = mended
    resp = client.post(
        f"/api/v1/saker/{del2_id}/overgang",
        json={"fra": "mottatt", "til": "trukket", "begrunnelse": "Feil innsending"},
        headers=users.auth("hf-ous"),
    )
    assert resp.status_code == 200, resp.get_data()[:300]
    assert resp.get_json()["status"] == "trukket"
    listed = client.get("/api/v1/saker", headers=users.auth("hf-ous"))
    _ok(listed, "list after withdrawal")


@sqlite_only
def test_public_pages_and_feed_answer_with_stored_bad_text(
    app: Flask, client: FlaskClient, mended: tuple[str, str]
) -> None:
    _del2_id, minihta_id = mended
    for path in ("/publisert", "/publisert.atom", f"/publisert/{minihta_id}", "/tall"):
        body = _ok(client.get(path), path)
        assert LONE not in body
    pdf = client.get(f"/publisert/{minihta_id}/minihta.pdf")
    assert pdf.status_code == 200, pdf.status_code
    assert pdf.data[:5] == b"%PDF-"
    feed = _ok(client.get("/publisert.atom"), "feed")
    assert "\ufffd" in feed
    from lxml import etree

    etree.fromstring(feed.encode("utf-8"))  # well-formed XML: no NUL, no surrogate


@sqlite_only
def test_backup_writes_stored_bad_text(app: Flask, mended: tuple[str, str], tmp_path: Path) -> None:
    from storage.backup import backup, restore
    from storage.blobs import FileBlobStore
    from storage.db import make_engine

    target = tmp_path / "kopi.zip"
    backup(st(app).engine, st(app).blobs, target)
    with zipfile.ZipFile(target) as zf:
        for name in zf.namelist():
            if name.endswith(".jsonl"):
                for line in zf.read(name).decode("utf-8").split("\n"):  # strict UTF-8
                    if line:
                        json.loads(line)
        versions = next(n for n in zf.namelist() if "case_versions" in n)
        # the lone surrogate is kept, escaped, so a restore gives the row back as it was
        assert "\\ud800" in zf.read(versions).decode("utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    restore(target, engine, FileBlobStore(tmp_path / "blobs"), require_audit=False)
    query = text("SELECT case_id, data FROM case_versions ORDER BY case_id")
    with st(app).engine.connect() as before, engine.connect() as after:
        assert list(after.execute(query)) == list(before.execute(query))
    engine.dispose()


# what PostgreSQL holds too: line and paragraph separators, an RTL override, very long text
LONG = "Fag\u2028område\u2029\u202eRTL " + "ø" * 5000


def test_long_and_odd_text_in_a_specialty_is_counted_on_every_backend(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    from sqlalchemy import select, update

    from storage.models import CaseVersion

    minihta = fill_json("minihta", sample_values("minihta"))
    resp = upload(client, users.auth("hf-ous"), minihta, "minihta.json")
    assert resp.status_code == 201, resp.get_json()
    case_id = resp.get_json()["sak"]
    table = CaseVersion.__table__
    with st(app).engine.begin() as conn:
        data = conn.execute(select(table.c.data).where(table.c.case_id == case_id)).scalar_one()
        data["metode"]["fagomrade"] = LONG
        conn.execute(update(table).where(table.c.case_id == case_id).values(data=data))
    body = _ok(client.get("/api/v1/statistikk", headers=users.auth("koordinator")), "statistikk")
    per_specialty = json.loads(body)["per_fagomrade"]
    assert [k for k in per_specialty if k.startswith("Fag")] == [LONG[:200]]
    resp = client.get("/api/v1/statistikk.xlsx", headers=users.auth("koordinator"))
    assert resp.status_code == 200
    login(client, "koordinator")
    for path in ("/saker", f"/saker/{case_id}", "/statistikk"):
        _ok(client.get(path), path)
