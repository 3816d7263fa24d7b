"""Issue 11, finding 3: the public figures (`/api/v1/tall`, `/tall`, no login) leaked unpublished
free text and hidden small cells. Reproduced through HTTP.

- Just-submitted mini-HTAs' free-text `metode.fagomrade` was listed as keys of `per_fagomrade`.
- Hidden cells followed by subtraction: 16 in all, one shown 13, three hidden → each is 1.
- `per_type` hid the Del 2 count while `/tall?type=tilgang-del2` published it as `saker_totalt`.

Public figures now count published mini-HTAs only (`processor.statistics.public_filters`) and
hide complementary cells; the coordinator keeps the full figures.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient

from benchmarks.figures_http import insert_histories
from processor.statistics import HIDDEN, MIN_CELL, CaseHistory, Transition
from tests.web.conftest import Users, st

OSLO = ZoneInfo("Europe/Oslo")
SECRETS = ["Hemmelig fagområde A", "Hemmelig fagområde B", "Hemmelig fagområde C"]
PUBLISHED_PATH = ["til_fagfelle", "fagfellevurdert", "besluttet", "publisert"]


def _minihta(i: int, specialty: str, published: bool) -> CaseHistory:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=OSLO) + timedelta(days=i)
    transitions = [Transition(at, None, "mottatt")]
    for to in PUBLISHED_PATH if published else []:
        at += timedelta(days=10)
        transitions.append(Transition(at, transitions[-1].to, to))
    return CaseHistory(
        id=f"MMV-2026-{i:03d}",
        form_type="minihta",
        hf="OUS",
        fagomrade=specialty,
        created=transitions[0].at,
        transitions=transitions,
        outcome="innfort" if published else None,
    )


def _application(i: int) -> CaseHistory:
    at = datetime(2026, 4, 1, 9, 0, tzinfo=OSLO) + timedelta(days=i)
    return CaseHistory(
        id=f"2026-04-{i + 1:02d}-OUS-KREFT",
        form_type="tilgang-del2",
        hf="OUS",
        fagomrade=None,
        created=at,
        transitions=[Transition(at, None, "mottatt")],
    )


def _sixteen(published: bool) -> list[CaseHistory]:
    """13 mini-HTAs in «Kreft» and one in each secret specialty (the attack of the issue)."""
    specialties = ["Kreft"] * 13 + SECRETS
    return [_minihta(i, s, published) for i, s in enumerate(specialties)]


def _hidden_share_gives_away(table: dict, total: int) -> bool:
    """Whether total minus the shown cells pins a hidden cell down (each listed key ≥ 1)."""
    hidden = [k for k, v in table.items() if k != HIDDEN and v is None]
    if not hidden:
        return False
    share = total - sum(v for k, v in table.items() if k != HIDDEN and v is not None)
    return len(hidden) < 2 or share < MIN_CELL or share <= len(hidden)


def test_unpublished_mini_htas_are_not_counted_nor_named_in_public(
    app: Flask, client: FlaskClient
) -> None:
    insert_histories(
        st(app).engine, _sixteen(published=False) + [_application(i) for i in range(7)]
    )
    for path in ("/api/v1/tall", "/tall", "/api/v1/tall?ar=2026", "/tall?ar=2026&type=minihta"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        text = resp.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in text, (path, secret)
    body = client.get("/api/v1/tall").get_json()
    assert body["saker_totalt"] is None  # nothing is published
    assert body["per_fagomrade"] == {}
    assert body["per_type"] == {}


def test_the_del2_count_is_published_nowhere(app: Flask, client: FlaskClient, users: Users) -> None:
    insert_histories(st(app).engine, _sixteen(published=True) + [_application(i) for i in range(7)])
    internal = client.get("/api/v1/statistikk", headers=users.auth("koordinator")).get_json()
    assert internal["per_type"] == {"minihta": 16, "tilgang-del2": 7}  # the coordinator's view
    body = client.get("/api/v1/tall").get_json()
    assert body["saker_totalt"] == 16
    assert body["per_type"] == {"minihta": 16}
    for path in ("/api/v1/tall?type=tilgang-del2", "/tall?type=tilgang-del2"):
        resp = client.get(path)
        assert resp.status_code == 422, path
        assert "publiserte mini-metodevurderinger" in resp.get_data(as_text=True)
    html = client.get("/tall").get_data(as_text=True)
    assert 'value="tilgang-del2"' not in html


def test_hidden_specialties_cannot_be_derived_by_subtraction(
    app: Flask, client: FlaskClient
) -> None:
    insert_histories(st(app).engine, _sixteen(published=True))
    body = client.get("/api/v1/tall").get_json()
    assert body["saker_totalt"] == 16
    table = body["per_fagomrade"]
    # before the fix: {"Kreft": 13, three secrets: null} → 16 − 13 = 3 → each secret is 1
    assert table.get("Kreft") is None
    assert not _hidden_share_gives_away(table, body["saker_totalt"])
    for grouping in ("hf", "region", "ar", "fagomrade", "type", "status"):
        assert not _hidden_share_gives_away(body[f"per_{grouping}"], 16), grouping
    # the groups follow: no figures of a hidden specialty
    for key, group in body["grupper"]["fagomrade"].items():
        assert group["saker"] is None, key
