"""WORKFLOW.md section 7 over HTTP: `/statistikk` (koordinator), its XLSX, and the public `/tall`."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import text

from benchmarks.figures import synthetic_cases
from benchmarks.figures_http import insert_histories, storable
from processor import charts
from processor.statistics import MIN_CELL, compute
from services import figures
from tests.web.conftest import Users, login, make_app, st
from web.figures import computed_text

CASES = storable(synthetic_cases(60, seed=5))
CASE_ID = re.compile(r"SAK-\d+|MMV-\d{4}-\d{3}|\d{4}-\d{2}-\d{2}-[A-Z]+-[A-Z]+")


@pytest.fixture
def seeded_app(app: Flask) -> Flask:
    insert_histories(st(app).engine, CASES)
    return app


def _counts(value: object) -> list[int]:
    """Every count in the public figures (medians and percentiles are not counts)."""
    found: list[int] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("median", "p90"):
                continue
            if isinstance(item, bool):
                continue
            if isinstance(item, int):
                found.append(item)
            else:
                found.extend(_counts(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_counts(item))
    return found


def test_api_figures_for_the_coordinator_equal_compute(
    seeded_app: Flask, client: FlaskClient, users: Users
) -> None:
    resp = client.get("/api/v1/statistikk", headers=users.auth("koordinator"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert {"saker_totalt", "per_status", "per_type", "behandlingstid"} <= set(body)
    assert body["saker_totalt"] == len(CASES)
    expected = compute(CASES)
    assert body["per_status"] == expected["per_status"]
    assert body["behandlingstid"] == expected["behandlingstid"]


def test_api_filters_apply(seeded_app: Flask, client: FlaskClient, users: Users) -> None:
    from processor.statistics import Filters

    resp = client.get("/api/v1/statistikk?hf=ous&ar=2025", headers=users.auth("koordinator"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["filter"] == {"hf": "OUS", "ar": 2025}
    assert body["saker_totalt"] == compute(CASES, Filters(hf="OUS", year=2025))["saker_totalt"]


def test_bad_year_is_refused_with_a_norwegian_message(
    seeded_app: Flask, client: FlaskClient, users: Users
) -> None:
    resp = client.get("/api/v1/statistikk?ar=tjue", headers=users.auth("koordinator"))
    assert resp.status_code == 422
    assert "årstall" in resp.get_json()["error"]["message"]
    assert client.get("/api/v1/tall?type=ukjent").status_code == 422


@pytest.mark.parametrize("path", ["/api/v1/statistikk", "/api/v1/statistikk.xlsx"])
def test_api_figures_are_for_coordinators_only(
    seeded_app: Flask, client: FlaskClient, users: Users, path: str
) -> None:
    assert client.get(path).status_code == 401
    for user in ("hf-ous", "priskontroll", "komite"):
        assert client.get(path, headers=users.auth(user)).status_code == 403


def test_xlsx_holds_the_numbers_of_the_json(
    seeded_app: Flask, client: FlaskClient, users: Users
) -> None:
    body = client.get("/api/v1/statistikk", headers=users.auth("koordinator")).get_json()
    resp = client.get("/api/v1/statistikk.xlsx", headers=users.auth("koordinator"))
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(resp.data))
    about = {row[0]: row[1] for row in wb["Om tallene"].iter_rows(values_only=True)}
    assert about["Saker totalt"] == body["saker_totalt"]
    status = {row[1]: row[3] for row in wb["Status"].iter_rows(min_row=2, values_only=True)}
    assert status == body["per_status"]
    times = {
        (row[1], row[2]): (row[3], row[4], row[5])
        for row in wb["Behandlingstid"].iter_rows(min_row=2, values_only=True)
    }
    total = body["behandlingstid"]["total"]["kalenderdager"]
    assert times[("total", "Kalenderdager")] == (total["median"], total["p90"], total["antall"])


def test_coordinator_page_has_filters_tables_charts_and_xlsx_link(
    seeded_app: Flask, client: FlaskClient
) -> None:
    login(client, "koordinator")
    resp = client.get("/statistikk?hf=OUS")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert html.count("<h1") == 1
    for name in ("hf", "region", "ar", "fagomrade", "type"):
        assert f'<label for="{name}">' in html
        assert f'id="{name}" name="{name}"' in html
    assert '<option value="OUS" selected>' in html
    assert html.count("<caption>") >= 5
    assert '<th scope="col"' in html and '<th scope="row"' in html
    assert html.count("<svg") == 3
    assert "<script" not in html
    assert "/statistikk.xlsx?hf=OUS" in html
    xlsx = client.get("/statistikk.xlsx?hf=OUS")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_coordinator_page_needs_a_coordinator(seeded_app: Flask, client: FlaskClient) -> None:
    resp = client.get("/statistikk")
    assert resp.status_code == 302 and "/logg-inn" in resp.headers["Location"]
    login(client, "hf-ous")
    assert client.get("/statistikk").status_code == 403
    assert client.get("/statistikk.xlsx").status_code == 403


def test_public_figures_need_no_login_and_hide_small_cells(
    seeded_app: Flask, client: FlaskClient
) -> None:
    resp = client.get("/api/v1/tall")
    assert resp.status_code == 200
    body = resp.get_json()
    counts = _counts(body)
    assert counts, "the public figures show some counts"
    assert all(n >= MIN_CELL or n == 0 for n in counts if n is not None)
    assert not [n for n in counts if 0 < n < MIN_CELL]
    assert not CASE_ID.search(resp.get_data(as_text=True))
    filtered = client.get("/api/v1/tall?ar=2025&type=minihta").get_json()
    assert filtered["filter"] == {"ar": 2025, "type": "minihta", "status": "publisert"}
    assert not [n for n in _counts(filtered) if 0 < n < MIN_CELL]


def test_public_figures_ignore_fine_filters(seeded_app: Flask, client: FlaskClient) -> None:
    body = client.get("/api/v1/tall?hf=OUS").get_json()
    assert body["filter"] == {"type": "minihta", "status": "publisert"}


def test_public_page_shows_aggregates_only(seeded_app: Flask, client: FlaskClient) -> None:
    resp = client.get("/tall")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert html.count("<h1") == 1
    assert '<label for="ar">' in html and '<label for="type">' in html
    assert not CASE_ID.search(html)
    # every number in a table cell is hidden or at least MIN_CELL (counts), medians aside
    for table in re.findall(r'<table id="(per-type|utfall|per-region)">(.*?)</table>', html, re.S):
        for cell in re.findall(r'<td class="tall">([^<]*)</td>', table[1]):
            value = cell.replace("\u00a0", "").strip()
            assert value == "–" or int(value) >= MIN_CELL, (table[0], cell)


def _coordinator_json(client: FlaskClient, users: Users, query: str = "") -> dict:
    resp = client.get(f"/api/v1/statistikk{query}", headers=users.auth("koordinator"))
    assert resp.status_code == 200
    return resp.get_json()


def test_figures_follow_a_new_upload(seeded_app: Flask, client: FlaskClient, users: Users) -> None:
    from tests.web.conftest import del2, upload

    before = _coordinator_json(client, users)
    assert before["oppdateres"] is False
    assert upload(client, users.auth("hf-ous"), del2()).status_code == 201
    after = _coordinator_json(client, users)  # the next request counts the new case
    assert after["oppdateres"] is False
    assert after["saker_totalt"] == before["saker_totalt"] + 1
    assert after["per_status"]["mottatt"] == before["per_status"].get("mottatt", 0) + 1
    assert datetime.fromisoformat(after["beregnet"]) >= datetime.fromisoformat(before["beregnet"])


def test_the_json_says_when_its_figures_were_computed(
    seeded_app: Flask, client: FlaskClient, users: Users
) -> None:
    start = datetime.now(UTC)
    body = _coordinator_json(client, users)
    computed = datetime.fromisoformat(body["beregnet"])
    assert computed.tzinfo is not None
    assert start - timedelta(seconds=1) <= computed <= datetime.now(UTC)
    assert body["oppdateres"] is False
    public = client.get("/api/v1/tall").get_json()  # its own computation: published only
    assert start - timedelta(seconds=1) <= datetime.fromisoformat(public["beregnet"])
    assert datetime.fromisoformat(public["beregnet"]) <= datetime.now(UTC)
    assert public["oppdateres"] is False


def _changed(seeded_app: Flask) -> None:
    """One case changes (its version rises, as every service raises it)."""
    with st(seeded_app).engine.begin() as conn:
        conn.execute(
            text("UPDATE cases SET version = version + 1 WHERE id = :id"), {"id": CASES[0].id}
        )


STATUS = re.compile(r'<p role="status">Tallene ble beregnet (\d\d\.\d\d\.\d{4} kl\. \d\d:\d\d)\.')


@pytest.mark.parametrize("path", ["/statistikk", "/tall"])
def test_the_pages_say_when_the_figures_were_computed(
    seeded_app: Flask,
    client: FlaskClient,
    users: Users,
    path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login(client, "koordinator")
    html = client.get(path).get_data(as_text=True)
    found = STATUS.search(html)
    assert found, html
    # the page and its JSON twin show one computation (/tall: the public figures, cached
    # apart from the coordinator's, so they may be computed in another minute)
    twin = (
        _coordinator_json(client, users)
        if path == "/statistikk"
        else client.get("/api/v1/tall").get_json()
    )
    computed = datetime.fromisoformat(twin["beregnet"])
    assert found.group(1) == computed_text(computed)
    assert "beregnes nå" not in html
    assert "<script" not in html
    # the same figures again: their charts are not drawn again
    drawn: list[int] = []
    real = charts.stage_time_chart
    monkeypatch.setattr(charts, "stage_time_chart", lambda s: drawn.append(1) or real(s))
    again = client.get(path)
    assert drawn == []
    if path == "/tall":
        assert again.headers["Cache-Control"] == "public, max-age=60"
    # a case changed: new figures, drawn anew
    _changed(seeded_app)
    assert STATUS.search(client.get(path).get_data(as_text=True))
    assert drawn == [1]


def test_computed_text_is_norwegian_time() -> None:
    assert computed_text(datetime(2026, 11, 23, 13, 5, tzinfo=UTC)) == "23.11.2026 kl. 14:05"
    assert computed_text(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)) == "02.07.2026 kl. 00:30"


def test_the_xlsx_has_the_figures_of_the_cases_as_they_are(
    seeded_app: Flask, client: FlaskClient, users: Users
) -> None:
    from tests.web.conftest import del2, upload

    before = _coordinator_json(client, users)
    assert upload(client, users.auth("hf-ous"), del2()).status_code == 201
    resp = client.get("/api/v1/statistikk.xlsx", headers=users.auth("koordinator"))
    wb = load_workbook(io.BytesIO(resp.data))
    about = {row[0]: row[1] for row in wb["Om tallene"].iter_rows(values_only=True)}
    assert about["Saker totalt"] == before["saker_totalt"] + 1
    after = _coordinator_json(client, users)
    assert after["saker_totalt"] == before["saker_totalt"] + 1


def test_another_app_process_reads_the_same_figures_from_the_counts(
    seeded_app: Flask, client: FlaskClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _coordinator_json(client, users, "?type=minihta")
    public = client.get("/api/v1/tall").get_json()
    figures.clear_cache()  # the other process's cache is empty
    other = make_app(Path(seeded_app.instance_path))
    rows: list[int] = []
    real = figures.load
    monkeypatch.setattr(figures, "load", lambda *a: rows.append(1) or real(*a))
    try:
        got = other.test_client().get(
            "/api/v1/statistikk?type=minihta", headers=users.auth("koordinator")
        )
        assert got.status_code == 200
        assert _without_time(got.get_json()) == _without_time(first)
        got = other.test_client().get("/api/v1/tall")
        assert _without_time(got.get_json()) == _without_time(public)
        assert rows == []  # read from the counts, not from the rows per case
    finally:
        st(other).engine.dispose()


def _without_time(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "beregnet"}
