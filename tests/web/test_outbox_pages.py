"""The operator's view of the outbox (CONNECTIONS.md section 2): the admin page with a retry
button that works without JavaScript, `skjemamottak outbox list/retry`, and `/healthz` reporting a
worker that has not run for 5 minutes when a connection is set."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from services import outbox
from services.users import add_user
from tests.cli import run_cli
from tests.web.conftest import PASSWORD, csrf_token, login, make_app, on_postgres, st

ROOT = Path(__file__).resolve().parents[2]


def _rows(app: Flask) -> tuple[int, int]:
    """One failed mail row and one waiting archive row; their ids."""
    uow = st(app).uow()
    add_user(uow, "drift", roles=["admin"], password=PASSWORD)
    add_user(uow, "mottaker", roles=["hf"], hf="OUS", epost="mottaker@ous.example")
    with uow:
        [mail] = outbox.notify_draft(uow, "utkast_returnert", 4, ["mottaker"])
        [archive] = outbox.version_accepted(uow, "2026-09-14-OUS-KREFT", "tilgang-del2", 1)
        uow.commit()
        ids = mail.id, archive.id
    claimed = outbox.claim_next(st(app).uow(), ["epost"], "w", lease=timedelta(minutes=1))
    assert claimed is not None
    error = outbox.DeliveryError("SMTP-tjeneren avviste e-posten (550).", permanent=True)
    assert outbox.failed(st(app).uow(), claimed.id, error) == "feilet"
    return ids


def test_the_admin_page_shows_what_failed_and_why_and_retries_it(app: Flask) -> None:
    failed_id, waiting_id = _rows(app)
    client = app.test_client()
    login(client, "koordinator")
    assert client.get("/drift/utboks").status_code == 403
    client = app.test_client()
    login(client, "drift")
    page = client.get("/drift/utboks")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<caption" in html and 'scope="col"' in html
    assert "SMTP-tjeneren avviste e-posten (550)." in html
    assert "mottaker@ous.example" in html and "2026-09-14-OUS-KREFT.mottatt.1" in html
    assert f"Prøv rad {failed_id} igjen" in html and f"Prøv rad {waiting_id} igjen" not in html
    # without the CSRF token: refused, nothing changed
    refused = client.post(f"/drift/utboks/{failed_id}/prov-igjen")
    assert refused.status_code == 400
    assert outbox.list_rows(st(app).uow(), status="feilet")[0]["id"] == failed_id
    done = client.post(
        f"/drift/utboks/{failed_id}/prov-igjen", data={"csrf_token": csrf_token(html)}
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/drift/utboks")
    assert outbox.list_rows(st(app).uow(), status="feilet") == []
    assert f"Rad {failed_id} prøves igjen." in client.get("/drift/utboks").get_data(as_text=True)
    with st(app).uow() as uow:
        assert uow.audit.list(object="outbox")[-1].actor == "drift"


def _cli(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SKJEMAMOTTAK_INSTANCE": str(instance)}
    database = instance / "pg-database"
    if database.exists():
        from tests import pgutil

        env["SKJEMAMOTTAK_DATABASE_URL"] = pgutil.url_for(database.read_text("utf-8").strip())
    return run_cli(*args, env=env)


def test_outbox_list_and_retry_on_the_command_line(app: Flask) -> None:
    failed_id, waiting_id = _rows(app)
    instance = Path(app.instance_path)
    proc = _cli(instance, "outbox", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert [r["id"] for r in listed] == [waiting_id, failed_id]  # newest first
    keys = ["id", "art", "hendelse", "sak", "mote", "mottaker", "status", "forsok"]
    assert all(list(r) == [*keys, "opprettet", "sendt"] for r in listed)
    assert {r["id"]: r["status"] for r in listed} == {failed_id: "feilet", waiting_id: "venter"}
    assert listed[1]["mottaker"] == "mottaker@ous.example" and listed[1]["forsok"] == 1
    proc = _cli(instance, "outbox", "list", "--status", "feilet")
    assert (
        proc.returncode == 0
        and "(550)" in proc.stdout
        and str(waiting_id) not in proc.stdout.split("\t")[0]
    )
    proc = _cli(instance, "outbox", "retry", str(failed_id), str(waiting_id))
    assert proc.returncode == 0 and f"Prøves igjen: {failed_id}." in proc.stdout
    assert {r["status"] for r in outbox.list_rows(st(app).uow())} == {"venter"}
    proc = _cli(instance, "outbox", "retry", "99999")
    assert proc.returncode == 1 and "Fant ingen rad 99999" in proc.stderr


@pytest.fixture
def connected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: Flask) -> Flask:
    """The app again, with the archive folder set (a worker is expected to run)."""
    monkeypatch.setenv("SKJEMAMOTTAK_ARKIV_DIR", str(tmp_path / "arkiv"))
    instance = Path(app.instance_path)
    if on_postgres():
        return make_app(instance)
    copy = tmp_path / "connected"
    shutil.copytree(instance, copy)
    return make_app(copy)


def test_healthz_reports_a_worker_that_has_not_run_for_5_minutes(
    app: Flask, connected: Flask
) -> None:
    assert app.test_client().get("/healthz").json == {"status": "ok"}  # nothing to deliver
    client = connected.test_client()
    never = client.get("/healthz")
    assert (never.status_code, never.json) == (503, {"status": "feil", "arbeider": "stoppet"})
    assert client.get("/api/v1/healthz").status_code == 200  # storage only: for load balancers
    uow = st(connected).uow()
    outbox.worker_beat(uow, "vert")
    fresh = client.get("/healthz")
    assert (fresh.status_code, fresh.json) == (200, {"status": "ok", "arbeider": "ok"})
    with uow:
        uow.outbox.beat("vert", uow.now() - timedelta(minutes=6))
        uow.commit()
    assert client.get("/healthz").status_code == 503
