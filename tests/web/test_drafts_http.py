"""Drafts and sign-off over HTTP (PORTAL.md): the journey lege → linjeleder → fagdirektør, the
four-eyes rule, stale versions, foreign HFs, missing functions, each step of the order of checks,
identity refused on saves and reasons and found nowhere afterwards, and the import of every
sample form that can be a draft."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from processor.domain import DRAFT_CHECKS
from processor.ingest import ingest
from services.cases import flatten
from tests.fillers import sample_values
from tests.spec_support import synthetic
from tests.web.conftest import TODAY, Users, add_users, database_text, st, upload

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text("utf-8"))

STAFF: dict[str, dict[str, Any]] = {
    "lege": {"roles": ["hf"], "hf": "OUS", "funksjoner": ["lege"], "display_name": "Lise Lege"},
    "leder": {
        "roles": ["hf"],
        "hf": "OUS",
        "funksjoner": ["linjeleder"],
        "display_name": "Lars Leder",
    },
    "direktor": {
        "roles": ["hf"],
        "hf": "OUS",
        "funksjoner": ["fagdirektor"],
        "display_name": "Dina Direktør",
    },
    "lege-leder": {"roles": ["hf"], "hf": "OUS", "funksjoner": ["lege", "linjeleder"]},
    "sto-alt": {
        "roles": ["hf"],
        "hf": "STO",
        "funksjoner": ["lege", "linjeleder", "fagdirektor"],
    },
}


@pytest.fixture
def staff(app: Flask, users: Users) -> Users:
    made = add_users(app, STAFF)
    return Users({**users.tokens, **made.tokens})


class Api:
    def __init__(self, client: FlaskClient, users: Users) -> None:
        self.client, self.users = client, users

    def call(self, method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        resp = self.client.open(
            f"/api/v1{path}", method=method, json=body, headers=self.users.auth(who)
        )
        return resp.status_code, resp.get_json(silent=True)

    def create(self, who: str = "lege", skjema: str = "tilgang-del2") -> dict[str, Any]:
        status, body = self.call("POST", "/utkast", who, {"skjema": skjema})
        assert status == 201, body
        return body

    def save(self, draft: dict[str, Any], who: str, values: dict[str, Any]) -> tuple[int, Any]:
        return self.call(
            "PATCH", f"/utkast/{draft['id']}", who, {"versjon": draft["versjon"], "verdier": values}
        )

    def send(self, draft: dict[str, Any], who: str = "lege") -> tuple[int, Any]:
        return self.call("POST", f"/utkast/{draft['id']}/send", who, {"versjon": draft["versjon"]})

    def approve(
        self,
        draft: dict[str, Any],
        who: str,
        funksjon: str,
        godkjent: bool = True,
        reason: str | None = "Godt begrunnet.",
    ) -> tuple[int, Any]:
        body = {
            "versjon": draft["versjon"],
            "funksjon": funksjon,
            "godkjent": godkjent,
            "begrunnelse": reason,
        }
        return self.call("POST", f"/utkast/{draft['id']}/godkjenning", who, body)

    def filled(self, who: str = "lege") -> dict[str, Any]:
        status, body = self.save(self.create(who), who, fillable())
        assert status == 200 and body["errors"] == [], body
        return body

    def at_fagdirektor(self) -> dict[str, Any]:
        status, sent = self.send(self.filled())
        assert status == 200, sent
        status, body = self.approve(sent, "leder", "linjeleder")
        assert status == 200 and body["status"] == "til_fagdirektor", body
        return body


def fillable(form_id: str = "tilgang-del2") -> dict[str, Any]:
    return {
        k: v
        for k, v in sample_values(form_id).items()
        if not k.startswith(("skjema.", "forankring."))
    }


@pytest.fixture
def api(client: FlaskClient, staff: Users) -> Api:
    return Api(client, staff)


def test_journey_from_empty_to_submitted_case_and_receipt(api: Api) -> None:
    draft = api.create()
    assert set(draft) == {
        "id",
        "skjema",
        "status",
        "status_navn",
        "versjon",
        "helseforetak",
        "verdier",
        "errors",
        "warnings",
        "godkjenninger",
        "sak",
        "sha256",
    }
    assert (draft["status"], draft["versjon"], draft["sak"]) == ("utkast", 1, None)
    status, draft = api.save(draft, "lege", fillable())
    assert status == 200 and draft["versjon"] == 2 and draft["errors"] == []
    status, listed = api.call("GET", "/utkast", "leder")
    assert [d["id"] for d in listed["utkast"]] == [draft["id"]]
    assert set(listed["utkast"][0]) == {
        "id",
        "skjema",
        "status",
        "versjon",
        "tittel",
        "referanse",
        "oppdatert",
    }
    status, draft = api.send(draft)
    assert status == 200 and draft["status"] == "til_linjeleder"
    status, inbox = api.call("GET", "/utkast?status=til_linjeleder", "leder")
    assert [d["id"] for d in inbox["utkast"]] == [draft["id"]]
    status, draft = api.approve(draft, "leder", "linjeleder", reason="Faglig forsvarlig.")
    assert status == 200 and draft["status"] == "til_fagdirektor"
    # the receipt is not there before the draft is submitted
    status, _ = api.call("GET", f"/utkast/{draft['id']}/kvittering.pdf", "lege")
    assert status == 404
    status, draft = api.approve(draft, "direktor", "fagdirektor", reason="Forankret i ledelsen.")
    assert status == 200 and draft["status"] == "sendt_inn", draft
    assert draft["sak"] == "2026-09-14-OUS-KREFT" and len(draft["sha256"]) == 64
    assert [(g["funksjon"], g["navn"]) for g in draft["godkjenninger"]] == [
        ("lege", "Lise Lege"),
        ("linjeleder", "Lars Leder"),
        ("fagdirektor", "Dina Direktør"),
    ]
    status, case = api.call("GET", f"/saker/{draft['sak']}", "koordinator")
    assert status == 200 and case["utkast"] == draft["id"]
    assert [(g["funksjon"], g["begrunnelse"]) for g in case["godkjenninger"]] == [
        ("lege", None),
        ("linjeleder", "Faglig forsvarlig."),
        ("fagdirektor", "Forankret i ledelsen."),
    ]
    assert case["versjoner"][0]["lastet_opp_av"] == "direktor"
    assert case["versjoner"][0]["fil_sha256"] == draft["sha256"]
    assert case["data"]["forankring"]["fagdirektor_navn"] == "Dina Direktør"
    resp = api.client.get(
        f"/api/v1/utkast/{draft['id']}/kvittering.pdf", headers=api.users.auth("leder")
    )
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert draft["sha256"] in text.split("\n")  # on a line of its own
    assert re.search(r"Sendt inn\s*\d{2}\.\d{2}\.\d{4} kl\. \d{2}:\d{2}", text), text
    for expected in (
        draft["sak"],
        "Lars Leder",
        "Dina Direktør",
        "Lise Lege",
        "Forankret i ledelsen.",
    ):
        assert expected in text


def test_an_uploaded_case_has_no_verified_approvals(api: Api) -> None:
    from tests.web.conftest import del2

    resp = upload(api.client, api.users.auth("hf-ous"), del2())
    assert resp.status_code == 201
    status, case = api.call("GET", "/saker/2026-09-14-OUS-KREFT", "hf-ous")
    assert (case["utkast"], case["godkjenninger"]) == (None, [])


def test_four_eyes(api: Api) -> None:
    draft = api.filled("lege-leder")
    status, draft = api.send(draft, "lege-leder")
    assert status == 200
    status, body = api.approve(draft, "lege-leder", "linjeleder")
    assert (status, body["error"]["code"]) == (403, "FOUR_EYES")
    # an author who edited it counts too
    draft = api.filled()
    status, draft = api.save(draft, "leder", {"pasient.diagnosekode": "C34.9"})
    status, draft = api.send(draft)
    status, body = api.approve(draft, "leder", "linjeleder")
    assert (status, body["error"]["code"]) == (403, "FOUR_EYES")


def test_a_stale_version_is_409_and_changes_nothing(api: Api) -> None:
    draft = api.filled()
    old = {**draft, "versjon": draft["versjon"] - 1}
    status, body = api.save(old, "lege", {"pasient.diagnosekode": "C00"})
    assert (status, body["error"]["code"]) == (409, "STALE_STATE")
    status, body = api.send(old)
    assert (status, body["error"]["code"]) == (409, "STALE_STATE")
    status, now = api.call("GET", f"/utkast/{draft['id']}", "lege")
    assert now["versjon"] == draft["versjon"] and now["verdier"] == draft["verdier"]


def test_another_hf_sees_nothing_and_other_roles_are_refused(api: Api) -> None:
    draft = api.filled()
    path = f"/utkast/{draft['id']}"
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"versjon": 2, "verdier": {"pasient.diagnosekode": "C00"}}),
        ("POST", "/send", {"versjon": 2}),
        ("GET", "/kvittering.pdf", None),
        ("DELETE", "?versjon=2", None),
    ):
        status, answer = api.call(method, path + suffix, "sto-alt", body)
        assert (status, answer["error"]["code"]) == (404, "NOT_FOUND"), (method, suffix)
        status, answer = api.call(method, path + suffix, "koordinator", body)
        assert (status, answer["error"]["code"]) == (403, "FORBIDDEN"), (method, suffix)
    status, listed = api.call("GET", "/utkast", "sto-alt")
    assert listed == {"utkast": []}
    status, answer = api.call("POST", "/utkast", "koordinator", {"skjema": "tilgang-del2"})
    assert (status, answer["error"]["code"]) == (403, "FORBIDDEN")
    status, answer = api.call("GET", "/utkast", "komite")
    assert (status, answer["error"]["code"]) == (403, "FORBIDDEN")
    resp = api.client.get("/api/v1/utkast")
    assert resp.status_code == 401


def test_a_missing_function_is_403(api: Api) -> None:
    draft = api.filled("hf-ous")  # a user without functions fills in and saves
    status, body = api.send(draft, "hf-ous")
    assert (status, body["error"]["code"]) == (403, "FUNCTION_REQUIRED")
    status, draft = api.send(draft, "lege")
    status, body = api.approve(draft, "direktor", "linjeleder")
    assert (status, body["error"]["code"]) == (403, "FUNCTION_REQUIRED")
    status, body = api.approve(draft, "hf-ous", "linjeleder", godkjent=False)
    assert (status, body["error"]["code"]) == (403, "FUNCTION_REQUIRED")


def test_each_step_of_the_order_of_checks(api: Api) -> None:
    """One request that is wrong in every way, corrected one step at a time: each answer is the
    next check of PORTAL.md section 3."""
    draft = api.filled("lege-leder")
    status, draft = api.send(draft, "lege-leder")  # til_linjeleder, the author can approve
    path = f"/utkast/{draft['id']}/godkjenning"
    current = draft["versjon"]

    def attempt(who: str, draft_id: str, versjon: int, funksjon: str, reason: str) -> str:
        body = {"versjon": versjon, "funksjon": funksjon, "godkjent": True, "begrunnelse": reason}
        status, answer = api.call("POST", f"/utkast/{draft_id}/godkjenning", who, body)
        return f"{status} {answer['error']['code']}"

    assert path
    steps = [
        (("koordinator", "nope", current - 1, "fagdirektor", ""), "403 FORBIDDEN"),
        (("hf-ous", "nope", current - 1, "fagdirektor", ""), "404 NOT_FOUND"),
        (("sto-alt", draft["id"], current - 1, "fagdirektor", ""), "404 NOT_FOUND"),
        (("hf-ous", draft["id"], current - 1, "fagdirektor", ""), "403 FUNCTION_REQUIRED"),
        (("lege-leder", draft["id"], current - 1, "fagdirektor", ""), "403 FUNCTION_REQUIRED"),
        (("lege-leder", draft["id"], current - 1, "linjeleder", ""), "409 STALE_STATE"),
        (("direktor", draft["id"], current, "fagdirektor", ""), "422 INVALID_TRANSITION"),
        (("lege-leder", draft["id"], current, "linjeleder", ""), "403 FOUR_EYES"),
        (("leder", draft["id"], current, "linjeleder", ""), "422 REASON_REQUIRED"),
    ]
    assert [attempt(*args) for args, _ in steps] == [want for _, want in steps]
    # the answers come in the order the domain lists the checks (processor.domain.DRAFT_CHECKS)
    answered = list(dict.fromkeys(want.split()[1] for _, want in steps))
    assert answered == [*DRAFT_CHECKS[:-1], "REASON_REQUIRED"]
    status, done = api.approve(draft, "leder", "linjeleder")
    assert status == 200 and done["versjon"] == current + 1


def test_incomplete_draft_cannot_be_sent(api: Api) -> None:
    draft = api.create()
    status, body = api.send(draft)
    assert (status, body["error"]["code"]) == (422, "DRAFT_INCOMPLETE")
    assert body["errors"] and not any(
        str(f["field"]).startswith("forankring.") for f in body["errors"]
    )


def test_save_refusals(api: Api) -> None:
    draft = api.create()
    for values in ({"skjema.type": "minihta"}, {"forankring.dato": "2026-01-01"}, {"nei": "x"}):
        status, body = api.save(draft, "lege", values)
        assert (status, body["error"]["code"]) == (422, "INVALID_VALUE"), values
    status, body = api.save(draft, "lege", {"soknad.helseforetak": "STO"})
    assert (status, body["error"]["code"]) == (403, "UPLOADER_HF_MISMATCH")
    status, body = api.call("POST", "/utkast", "lege", {"skjema": "minihta-okonomi"})
    assert (status, body["error"]["code"]) == (422, "INVALID_VALUE")


def test_identity_is_refused_on_saves_and_reasons_and_found_nowhere(
    app: Flask, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    number = synthetic()
    spaced = f"{number[:6]} {number[6:]}"
    draft = api.filled()
    status, body = api.save(
        draft,
        "lege",
        {"pasient.diagnosekode": "C77", "pasient.sykehistorie": f"Fnr {spaced}, progresjon."},
    )
    assert (status, body["error"]["code"]) == (422, "IDENTITY_FOUND")
    assert [f["field"] for f in body["errors"]] == ["pasient.sykehistorie"]
    assert number not in json.dumps(body) and spaced not in json.dumps(body)
    status, after = api.call("GET", f"/utkast/{draft['id']}", "lege")
    assert after["versjon"] == draft["versjon"] and after["verdier"] == draft["verdier"]
    status, draft = api.send(draft)
    for who, funksjon, godkjent in (("leder", "linjeleder", False), ("leder", "linjeleder", True)):
        status, body = api.approve(draft, who, funksjon, godkjent, reason=f"Gjelder {number}.")
        assert (status, body["error"]["code"]) == (422, "IDENTITY_FOUND")
        assert body["errors"][0]["field"] == "begrunnelse"
        assert number not in json.dumps(body)
    status, after = api.call("GET", f"/utkast/{draft['id']}", "lege")
    assert (after["versjon"], after["status"]) == (draft["versjon"], "til_linjeleder")
    # found nowhere: not in any row, not in any file of the instance (database, WAL, blobs), not
    # in the log
    rows = database_text(app)
    assert number not in rows and spaced not in rows and "progresjon." not in rows
    assert "C77" not in rows  # nothing of the refused save, not even its other field
    needles = [number.encode(), spaced.encode(), number.encode("utf-16-le")]
    instance = st(app).instance
    files = [p for p in instance.rglob("*") if p.is_file()]
    assert files  # the database at least
    assert [p for p in files if any(n in p.read_bytes() for n in needles)] == []
    assert number not in caplog.text and spaced not in caplog.text


def _samples() -> list[str]:
    out = []
    for path in sorted(SAMPLES.iterdir()):
        if path.name in ("README.md", "expected.json"):
            continue
        result = ingest(path.name, path.read_bytes(), today=TODAY)
        if result.form_type in ("tilgang-del2", "minihta"):
            out.append(path.name)
    return out


@pytest.mark.parametrize("name", _samples())
def test_import_of_each_sample_gives_the_values_of_its_upload(
    app: Flask, client: FlaskClient, users: Users, name: str
) -> None:
    data = (SAMPLES / name).read_bytes()
    expected = EXPECTED[name]
    result = ingest(name, data, today=TODAY)
    section = "soknad" if result.form_type == "tilgang-del2" else "generelt"
    hf = ((result.data or {}).get(section) or {}).get("helseforetak") or "OUS"
    who = add_users(app, {f"hf-{hf.lower()}-x": {"roles": ["hf"], "hf": hf}})
    auth = who.auth(f"hf-{hf.lower()}-x")
    resp = client.post(
        "/api/v1/utkast/import",
        data={"fil": (io.BytesIO(data), name)},
        headers=auth,
        content_type="multipart/form-data",
    )
    body = resp.get_json()
    if expected["status"] == "rejected":
        assert resp.status_code == 422
        assert body["status"] == "rejected"
        assert {f["code"] for f in body["errors"]} >= set(expected["codes"])
        return
    assert resp.status_code == 201, body
    verdier = body["verdier"]
    assert not any(k.startswith("forankring.") for k in verdier)
    for fid, value in expected.get("data", {}).items():
        assert verdier[fid] == value, fid
    if expected["status"] == "incomplete":
        assert set(expected["codes"]) <= {f["code"] for f in body["errors"]}
        for fid in expected.get("fields", []):
            assert fid in {f["field"] for f in body["errors"]}
        return
    # the upload of the same file: the same values (the sign-off fills forankring.* again)
    up = upload(client, auth, data, name)
    assert up.status_code == 201, up.get_json()
    status = client.get(f"/api/v1/saker/{up.get_json()['sak']}", headers=auth)
    uploaded = {
        k: v
        for k, v in flatten(status.get_json()["data"]).items()
        if not k.startswith("forankring.") and v is not None and v != ""
    }
    assert verdier == uploaded


def test_import_refusals(api: Api, staff: Users) -> None:
    def post(who: str, name: str, data: bytes) -> tuple[int, Any]:
        resp = api.client.post(
            "/api/v1/utkast/import",
            data={"fil": (io.BytesIO(data), name)},
            headers=staff.auth(who),
            content_type="multipart/form-data",
        )
        return resp.status_code, resp.get_json()

    okonomi = (SAMPLES / "okonomi-values.xlsx").read_bytes()
    status, body = post("lege", "okonomi-values.xlsx", okonomi)
    assert (status, body["error"]["code"]) == (422, "UPLOAD_NOT_SUPPORTED")
    sto = (SAMPLES / "del2-valid.json").read_bytes()  # an STO application
    status, body = post("lege", "del2-valid.json", sto)
    assert (status, body["error"]["code"]) == (403, "UPLOADER_HF_MISMATCH")
    status, body = post("koordinator", "del2-valid.json", sto)
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
    status, body = post("sto-alt", "del2-valid.json", sto)
    assert status == 201 and body["helseforetak"] == "STO"


def test_minihta_is_submitted_on_send(api: Api) -> None:
    draft = api.create("hf-ous", "minihta")
    status, draft = api.save(draft, "hf-ous", fillable("minihta"))
    assert status == 200 and draft["errors"] == [], draft
    status, draft = api.send(draft, "hf-ous")
    assert status == 200 and draft["status"] == "sendt_inn" and draft["sak"].startswith("MMV-")
    status, case = api.call("GET", f"/saker/{draft['sak']}", "hf-ous")
    assert case["utkast"] == draft["id"] and case["godkjenninger"] == []


def test_delete_leaves_only_the_audit_event(app: Flask, api: Api) -> None:
    draft = api.filled()
    status, body = api.call("DELETE", f"/utkast/{draft['id']}?versjon=1", "lege")
    assert (status, body["error"]["code"]) == (409, "STALE_STATE")
    status, body = api.call("DELETE", f"/utkast/{draft['id']}?versjon={draft['versjon']}", "lege")
    assert status == 204 and body is None
    status, body = api.call("GET", f"/utkast/{draft['id']}", "lege")
    assert status == 404
    with st(app).uow() as uow:
        assert uow.drafts.get(draft["id"]) is None
        events = [e.action for e in uow.audit.list(object=f"draft:{draft['id']}")]
    assert events == ["draft.create", "draft.save", "draft.delete"]
    rows = database_text(app)
    assert fillable()["pasient.diagnose"] not in rows
    # a draft that has moved on cannot be deleted
    sent = api.filled()
    status, sent = api.send(sent)
    status, body = api.call("DELETE", f"/utkast/{sent['id']}?versjon={sent['versjon']}", "lege")
    assert (status, body["error"]["code"]) == (422, "INVALID_TRANSITION")


def test_openapi_lists_the_draft_routes(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    paths = doc["paths"]
    assert set(paths["/utkast"]) == {"get", "post"}
    assert "post" in paths["/utkast/import"]
    assert set(paths["/utkast/{id}"]) == {"get", "patch", "delete"}
    assert "post" in paths["/utkast/{id}/send"] and "post" in paths["/utkast/{id}/godkjenning"]
    assert "get" in paths["/utkast/{id}/kvittering.pdf"]
    refusals = paths["/utkast/{id}/godkjenning"]["post"]["responses"]
    assert "FOUR_EYES" in json.dumps(refusals["403"]) and "STALE_STATE" in json.dumps(
        refusals["409"]
    )


def test_the_case_page_shows_verified_approvals_apart_from_an_uploaded_file(
    client: FlaskClient, api: Api
) -> None:
    from tests.web.conftest import del2, login

    draft = api.at_fagdirektor()
    status, draft = api.approve(draft, "direktor", "fagdirektor", reason="Forankret hos oss.")
    assert status == 200, draft
    resp = upload(api.client, api.users.auth("hf-ahus"), del2("AHUS"))
    assert resp.status_code == 201
    login(client, "koordinator")
    page = client.get(f"/saker/{draft['sak']}").get_data(as_text=True)
    assert "Godkjenninger bekreftet i tjenesten" in page
    assert "Dina Direktør" in page and "Forankret hos oss." in page and "Lars Leder" in page
    assert "Godkjenningene er som filen oppgir" not in page
    page = client.get("/saker/2026-09-14-AHUS-KREFT").get_data(as_text=True)
    assert "Godkjenningene er som filen oppgir" in page
    assert "Godkjenninger bekreftet i tjenesten" not in page


def test_a_stale_draft_is_listed_for_its_author_and_deleted_over_http(app: Flask, api: Api) -> None:
    from services import drafts

    old = api.create()
    storage = st(app)
    start = storage.clock()
    storage.clock = lambda: start + timedelta(days=91)
    try:
        fresh = api.create()
        actor = _actor("lege")
        assert [d.id for d in drafts.stale(storage.uow(), actor)] == [old["id"]]
        status, _ = api.call("DELETE", f"/utkast/{old['id']}?versjon={old['versjon']}", "lege")
        assert status == 204
        assert drafts.stale(storage.uow(), actor) == []
        status, listed = api.call("GET", "/utkast", "lege")
        assert [d["id"] for d in listed["utkast"]] == [fresh["id"]]
    finally:
        storage.clock = lambda: start
    with storage.uow() as uow:
        assert [e.action for e in uow.audit.list(object=f"draft:{old['id']}")] == [
            "draft.create",
            "draft.delete",
        ]


def _actor(username: str) -> Any:
    from processor.domain import Actor

    spec = STAFF[username]
    return Actor(username, frozenset(spec["roles"]), spec["hf"])
