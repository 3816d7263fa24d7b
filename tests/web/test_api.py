"""The HTTP API of spec/API.md through the Flask test client."""

from __future__ import annotations

import io
import json
import os
import stat

from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import REFERENCE, Users, add_users, del2, make_app, st, upload

# ---- authentication -------------------------------------------------------------------------------


def test_no_token_is_401(client: FlaskClient, users: Users) -> None:
    resp = client.get("/api/v1/saker")
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "UNAUTHORIZED"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_bad_token_is_401(client: FlaskClient, users: Users) -> None:
    resp = client.get("/api/v1/saker", headers={"Authorization": "Bearer feil"})
    assert resp.status_code == 401


def test_the_token_check_opens_no_transaction_on_postgresql(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    # every API call checks its token: on PostgreSQL that query runs without BEGIN and ROLLBACK
    from sqlalchemy import event

    engine = st(app).engine
    token_queries: list[str] = []

    def _seen(conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "api_tokens" in statement:
            info = getattr(conn.connection.dbapi_connection, "info", None)
            status = getattr(info, "transaction_status", None)
            token_queries.append(status.name if status is not None else "sqlite")

    event.listen(engine, "after_cursor_execute", _seen)
    try:
        assert client.get("/api/v1/saker", headers=users.auth("koordinator")).status_code == 200
    finally:
        event.remove(engine, "after_cursor_execute", _seen)
    expected = "IDLE" if engine.dialect.name == "postgresql" else "sqlite"
    assert token_queries and set(token_queries) == {expected}


def test_session_cookie_is_not_accepted_by_the_api(client: FlaskClient, users: Users) -> None:
    from tests.web.conftest import login

    login(client, "koordinator")
    assert client.get("/api/v1/saker").status_code == 401


def test_another_hfs_case_is_404_not_403(client: FlaskClient, users: Users) -> None:
    assert upload(client, users.auth("hf-ous"), del2()).status_code == 201
    resp = client.get(f"/api/v1/saker/{REFERENCE}", headers=users.auth("hf-ahus"))
    assert resp.status_code == 404
    resp = client.post(
        f"/api/v1/saker/{REFERENCE}/overgang",
        json={"fra": "mottatt", "til": "trukket"},
        headers=users.auth("hf-ahus"),
    )
    assert resp.status_code == 404


def test_role_without_the_right_is_403(client: FlaskClient, users: Users) -> None:
    upload(client, users.auth("hf-ous"), del2())
    resp = client.post(
        f"/api/v1/saker/{REFERENCE}/overgang",
        json={"fra": "mottatt", "til": "priskontroll"},
        headers=users.auth("hf-ous"),
    )
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "FORBIDDEN"
    resp = upload(client, users.auth("koordinator"), del2())
    assert resp.status_code == 403


# ---- uploads ----------------------------------------------------------------------------------


def test_accepted_upload_is_201_with_the_case(client: FlaskClient, users: Users) -> None:
    resp = upload(client, users.auth("hf-ous"), del2())
    assert resp.status_code == 201
    assert resp.json["sak"] == REFERENCE
    assert resp.json["versjon"] == 1
    assert resp.json["status"] == "accepted"
    assert isinstance(resp.json["warnings"], list)
    assert resp.headers["Location"].endswith(REFERENCE)


def test_incomplete_upload_is_422_with_labelled_findings(client: FlaskClient, users: Users) -> None:
    resp = upload(client, users.auth("hf-ous"), del2(**{"pasient.diagnose": None}))
    assert resp.status_code == 422
    body = resp.json
    assert body["status"] == "incomplete"
    assert body["error"]["code"]
    fields = {f["field"]: f for f in body["errors"]}
    assert fields["pasient.diagnose"]["etikett"] == "Diagnose det søkes behandling for"
    listed = client.get("/api/v1/saker", headers=users.auth("hf-ous")).json
    assert listed["totalt"] == 0


def test_reference_in_use_is_409(client: FlaskClient, users: Users) -> None:
    upload(client, users.auth("hf-ous"), del2())
    resp = upload(client, users.auth("hf-ous"), del2())
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "REFERENCE_IN_USE"


def test_form_of_another_hf_is_403_uploader_hf_mismatch(client: FlaskClient, users: Users) -> None:
    resp = upload(client, users.auth("hf-ahus"), del2())
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "UPLOADER_HF_MISMATCH"


def test_missing_file_field_is_refused(client: FlaskClient, users: Users) -> None:
    resp = client.post("/api/v1/innsendinger", data={}, headers=users.auth("hf-ous"))
    assert resp.status_code == 422
    assert resp.json["error"]["code"] == "FILE_MISSING"


def test_a_file_found_too_large_while_read_is_413_like_an_oversized_request(
    client: FlaskClient, users: Users
) -> None:
    """One code, one status: FILE_TOO_LARGE from the pipeline (a JSON document with more fields
    than the limit, a small file) is answered 413 as the request limit is (API.md)."""
    fields = {f"felt{n}": "x" for n in range(2001)}
    resp = upload(client, users.auth("hf-ous"), json.dumps(fields).encode(), "stor.json")
    assert resp.status_code == 413
    assert resp.json["error"]["code"] == "FILE_TOO_LARGE"
    assert resp.json["status"] == "rejected"


def test_too_large_upload_is_413_file_too_large(tmp_path, users: Users) -> None:
    small = make_app(tmp_path / "small", MAX_UPLOAD_MB=0.01)
    tokens = add_users(small, {"hf-x": {"roles": ["hf"], "hf": "OUS"}})
    for size in (50_000, 500_000):  # over the limit; over the request limit too
        resp = upload(small.test_client(), tokens.auth("hf-x"), b"{" + b" " * size + b"}")
        assert resp.status_code == 413
        assert resp.json["error"]["code"] == "FILE_TOO_LARGE"
        assert resp.json["errors"][0]["code"] == "FILE_TOO_LARGE"
    page = small.test_client().post(
        "/innsending", data={"fil": (io.BytesIO(b"x" * 500_000), "a.pdf")}
    )
    assert page.status_code == 413
    assert '<html lang="nb">' in page.get_data(as_text=True)
    st(small).engine.dispose()


# ---- cases ------------------------------------------------------------------------------------


def test_case_list_is_paged_newest_first_and_filtered(app: Flask, users: Users) -> None:
    app.config["PER_PAGE"] = 2
    client = app.test_client()
    for dept in ("KREFT", "LUNGE", "HUD"):
        assert upload(client, users.auth("hf-ous"), del2(department=dept)).status_code == 201
    upload(client, users.auth("hf-ahus"), del2("AHUS"))
    own = client.get("/api/v1/saker", headers=users.auth("hf-ous")).json
    assert own["totalt"] == 3 and own["sider"] == 2 and len(own["saker"]) == 2
    assert [s["helseforetak"] for s in own["saker"]] == ["OUS", "OUS"]
    page2 = client.get("/api/v1/saker?side=2", headers=users.auth("hf-ous")).json
    assert len(page2["saker"]) == 1
    everything = client.get("/api/v1/saker", headers=users.auth("koordinator")).json
    assert everything["totalt"] == 4
    assert everything["saker"][0]["sak"] == "2026-09-14-AHUS-KREFT"  # newest first
    other = client.get("/api/v1/saker?hf=AHUS", headers=users.auth("hf-ous")).json
    assert other["totalt"] == 0
    by_state = client.get("/api/v1/saker?status=returnert", headers=users.auth("koordinator"))
    assert by_state.json["totalt"] == 0
    bad = client.get("/api/v1/saker?status=tull", headers=users.auth("koordinator"))
    assert bad.status_code == 422
    bad = client.get("/api/v1/saker?side=x", headers=users.auth("koordinator"))
    assert bad.status_code == 422
    found = client.get("/api/v1/saker?sok=ous-lun", headers=users.auth("koordinator")).json
    assert [s["sak"] for s in found["saker"]] == ["2026-09-14-OUS-LUNGE"]
    found = client.get("/api/v1/saker?sok=kreft&hf=OUS", headers=users.auth("koordinator")).json
    assert [s["sak"] for s in found["saker"]] == ["2026-09-14-OUS-KREFT"]
    none = client.get("/api/v1/saker?sok=50%25_", headers=users.auth("koordinator")).json
    assert none["totalt"] == 0  # % and _ are letters here, not wildcards
    ahus = client.get("/api/v1/saker?sok=AHUS", headers=users.auth("hf-ous")).json
    assert ahus["totalt"] == 0  # the search stays inside what the caller may see


def test_case_detail_has_data_versions_history_and_findings(
    client: FlaskClient, users: Users
) -> None:
    upload(client, users.auth("hf-ous"), del2())
    body = client.get(f"/api/v1/saker/{REFERENCE}", headers=users.auth("koordinator")).json
    assert body["type"] == "tilgang-del2"
    assert body["status"] == "mottatt" and body["status_navn"] == "Mottatt"
    assert body["data"]["soknad"]["referansenummer"] == REFERENCE
    assert [v["versjon"] for v in body["versjoner"]] == [1]
    assert body["historikk"][0]["til"] == "mottatt"
    assert "warnings" in body["funn"]
    titles = [s["seksjon"] for s in body["seksjoner"]]
    assert "Om søknaden" in titles and "Skjema" not in titles
    assert {h["til"] for h in body["handlinger"]} == {"returnert", "priskontroll"}
    assert (
        client.get("/api/v1/saker/FINNES-IKKE", headers=users.auth("koordinator")).status_code
        == 404
    )


def test_application_flow_return_resubmit_diff_price_check(
    client: FlaskClient, users: Users
) -> None:
    hf, koord, pris = users.auth("hf-ous"), users.auth("koordinator"), users.auth("priskontroll")
    upload(client, hf, del2())
    url = f"/api/v1/saker/{REFERENCE}"
    resp = client.post(
        f"{url}/overgang", json={"fra": "mottatt", "til": "returnert"}, headers=koord
    )
    assert resp.status_code == 422 and resp.json["error"]["code"] == "REASON_REQUIRED"
    resp = client.post(
        f"{url}/overgang",
        json={"fra": "mottatt", "til": "returnert", "begrunnelse": "Utdyp stoppkriteriene."},
        headers=koord,
    )
    assert resp.status_code == 200 and resp.json["status"] == "returnert"
    seen = client.get(url, headers=hf).json
    assert seen["returgrunner"][0]["begrunnelse"] == "Utdyp stoppkriteriene."
    again = upload(client, hf, del2(**{"behandling.stoppkriterier": "Progresjon på CT."}))
    assert again.status_code == 201 and again.json["versjon"] == 2
    body = client.get(url, headers=koord).json
    assert body["status"] == "mottatt"
    assert [c["felt"] for c in body["endringer"]] == ["behandling.stoppkriterier"]
    assert body["endringer"][0]["etikett"] == "Stoppkriterier"
    resp = client.post(
        f"{url}/overgang", json={"fra": "mottatt", "til": "priskontroll"}, headers=koord
    )
    assert resp.status_code == 200
    assert client.get("/api/v1/priskontroll", headers=pris).json["totalt"] == 1
    resp = client.post(
        f"{url}/priskontroll", json={"legemiddel_per_maned": 61250, "merknad": ""}, headers=pris
    )
    assert resp.status_code == 422 and resp.json["error"]["code"] == "REASON_REQUIRED"
    resp = client.post(
        f"{url}/priskontroll",
        json={"legemiddel_per_maned": 61250, "merknad": "Korrigert etter ny avtalepris"},
        headers=pris,
    )
    assert resp.status_code == 200 and resp.json["status"] == "klar"
    resp = client.post(f"{url}/priskontroll", json={"legemiddel_per_maned": "mye"}, headers=pris)
    assert resp.status_code == 422


def test_stale_transition_is_409(client: FlaskClient, users: Users) -> None:
    upload(client, users.auth("hf-ous"), del2())
    url = f"/api/v1/saker/{REFERENCE}/overgang"
    move = {"fra": "mottatt", "til": "priskontroll"}
    assert client.post(url, json=move, headers=users.auth("koordinator")).status_code == 200
    resp = client.post(url, json=move, headers=users.auth("koordinator-2"))
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "STALE_STATE"


def test_transition_needs_a_json_object(client: FlaskClient, users: Users) -> None:
    upload(client, users.auth("hf-ous"), del2())
    url = f"/api/v1/saker/{REFERENCE}/overgang"
    resp = client.post(url, data="ikke json", headers=users.auth("koordinator"))
    assert resp.status_code == 422 and resp.json["error"]["code"] == "INVALID_REQUEST"
    resp = client.post(url, json={"fra": 1, "til": "x"}, headers=users.auth("koordinator"))
    assert resp.status_code == 422


def test_urgent_needs_reason_and_shows_in_inbox(client: FlaskClient, users: Users) -> None:
    upload(client, users.auth("hf-ous"), del2())
    url = f"/api/v1/saker/{REFERENCE}/hast"
    assert (
        client.post(url, json={"hast": True}, headers=users.auth("koordinator")).status_code == 422
    )
    resp = client.post(
        url,
        json={"hast": True, "begrunnelse": "Kort behandlingsvindu."},
        headers=users.auth("koordinator"),
    )
    assert resp.status_code == 200 and resp.json["hast"] is True
    inbox = client.get("/api/v1/innboks", headers=users.auth("koordinator")).json
    assert inbox["grupper"][0]["status"] == "mottatt"
    assert inbox["grupper"][0]["saker"][0]["hast"] is True
    assert client.get("/api/v1/innboks", headers=users.auth("hf-ous")).status_code == 403


# ---- templates, health, OpenAPI, errors -------------------------------------------------------


def test_templates_and_schema_are_public(client: FlaskClient) -> None:
    pdf = client.get("/api/v1/maler/tilgang-del2.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    docx = client.get("/api/v1/maler/tilgang-del2.docx")
    assert docx.status_code == 200 and docx.data.startswith(b"PK")
    xlsx = client.get("/api/v1/maler/minihta-okonomi.xlsx")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    schema = client.get("/api/v1/maler/tilgang-del2.json")
    assert schema.status_code == 200
    assert json.loads(schema.data)["$schema"].startswith("https://json-schema.org/")
    assert client.get("/api/v1/maler/tilgang-del2.xlsx").status_code == 404
    assert client.get("/api/v1/maler/finnes-ikke.pdf").status_code == 404
    assert client.get("/api/v1/maler/tilgang-del2.exe").status_code == 404


def test_healthz_and_openapi(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/api/v1/healthz").status_code == 200
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/innsendinger",
        "/saker",
        "/saker/{id}",
        "/saker/{id}/overgang",
        "/saker/{id}/priskontroll",
        "/maler/{form_id}.{format}",
    ):
        assert path in doc["paths"]


def test_http_errors_are_norwegian_json_for_the_api(client: FlaskClient, users: Users) -> None:
    resp = client.get("/api/v1/finnes-ikke")
    assert resp.status_code == 404 and resp.json["error"]["message"] == "Fant ikke siden."
    resp = client.delete("/api/v1/saker", headers=users.auth("koordinator"))
    assert resp.status_code == 405 and resp.json["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_unexpected_exception_is_a_generic_500(app: Flask, users: Users) -> None:
    @app.get("/api/v1/bom")
    def bom() -> str:
        raise RuntimeError("hemmelig detalj")

    resp = app.test_client().get("/api/v1/bom")
    assert resp.status_code == 500
    assert "hemmelig" not in resp.get_data(as_text=True)
    assert resp.json["error"]["code"] == "INTERNAL_ERROR"


def test_an_http_error_outside_the_catalogue_gets_a_catalogue_code(app: Flask) -> None:
    """One code, one status: a framework status without its own code is BAD_REQUEST (400) or
    INTERNAL_ERROR (500), never a code answered with a status of its own choosing."""
    from werkzeug.exceptions import NotImplemented as HTTPNotImplemented
    from werkzeug.exceptions import UnsupportedMediaType

    @app.get("/api/v1/medietype")
    def medietype() -> str:
        raise UnsupportedMediaType()

    @app.get("/api/v1/ikke-laget")
    def ikke_laget() -> str:
        raise HTTPNotImplemented()

    client = app.test_client()
    resp = client.get("/api/v1/medietype")
    assert (resp.status_code, resp.json["error"]["code"]) == (400, "BAD_REQUEST")
    resp = client.get("/api/v1/ikke-laget")
    assert (resp.status_code, resp.json["error"]["code"]) == (500, "INTERNAL_ERROR")


def test_secret_key_file_is_private(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SKJEMAMOTTAK_SECRET_KEY", raising=False)
    from web.app import create_app

    first = create_app({"INSTANCE": tmp_path / "i"})
    key = tmp_path / "i" / "secret_key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    second = create_app({"INSTANCE": tmp_path / "i"})
    assert first.secret_key == second.secret_key
    st(first).engine.dispose()
    st(second).engine.dispose()
