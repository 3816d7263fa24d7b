"""PORTAL.md statements the other draft tests leave unproven, over real HTTP (the Flask test
client; SQLite, or PostgreSQL with SKJEMAMOTTAK_TEST_WEB_BACKEND=postgresql): versjon on every
kind of change, returns over the API, the default display name, the Oslo date and times of the
sign-off and the receipt, the audit chain, import and four-eyes details, list order and filters."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from forms.catalog import catalogue
from storage.audit import verify
from tests.spec_support import synthetic
from tests.web.conftest import Users, add_users, database_text, del2, st, upload
from tests.web.test_drafts_http import STAFF, Api, fillable

OSLO = ZoneInfo("Europe/Oslo")
SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
APPROVAL_KEYS = {"funksjon", "bruker", "navn", "godkjent", "begrunnelse", "tidspunkt"}
CASE_APPROVAL_KEYS = {"funksjon", "bruker", "navn", "begrunnelse", "tidspunkt"}

EXTRA: dict[str, dict[str, Any]] = {
    # no display name: `--navn` defaults to the username (PORTAL.md section 2)
    "leder-uten-navn": {"roles": ["hf"], "hf": "OUS", "funksjoner": ["linjeleder"]},
    "leder-2": {"roles": ["hf"], "hf": "OUS", "funksjoner": ["linjeleder"]},
}


@pytest.fixture
def api(app: Flask, client: FlaskClient, users: Users) -> Api:
    made = add_users(app, {**STAFF, **EXTRA})
    return Api(client, Users({**users.tokens, **made.tokens}))


def _at(app: Flask, when: datetime) -> None:
    st(app).clock = lambda: when


def _oslo(when: datetime) -> str:
    local = when.astimezone(OSLO)
    return local.strftime("%d.%m.%Y kl. %H:%M")


def test_every_change_counts_versjon_and_a_return_voids_the_approvals(api: Api) -> None:
    """versjon + 1 on save, send, approval and return; a return goes back to `utkast`, needs a
    reason, and is listed in `godkjenninger` with every step in order."""
    draft = api.filled()
    assert draft["versjon"] == 2
    status, sent = api.send(draft)
    assert (status, sent["versjon"]) == (200, 3)
    status, body = api.approve(sent, "leder", "linjeleder", godkjent=False, reason="  ")
    assert (status, body["error"]["code"]) == (422, "REASON_REQUIRED")
    status, body = api.approve(sent, "leder", "linjeleder", godkjent=False, reason=None)
    assert (status, body["error"]["code"]) == (422, "REASON_REQUIRED")
    status, approved = api.approve(sent, "leder", "linjeleder")
    assert (status, approved["versjon"], approved["status"]) == (200, 4, "til_fagdirektor")
    status, returned = api.approve(
        approved, "direktor", "fagdirektor", godkjent=False, reason="Mangler svar."
    )
    assert (status, returned["versjon"], returned["status"]) == (200, 5, "utkast")
    steps = returned["godkjenninger"]
    assert all(set(s) == APPROVAL_KEYS for s in steps)
    assert [(s["funksjon"], s["bruker"], s["godkjent"], s["begrunnelse"]) for s in steps] == [
        ("lege", "lege", True, None),
        ("linjeleder", "leder", True, "Godt begrunnet."),
        ("fagdirektor", "direktor", False, "Mangler svar."),
    ]
    # back in `utkast` it can be saved again; sent again, the first round's approval is void
    status, saved = api.save(returned, "lege", {"pasient.diagnosekode": "C34.9"})
    assert (status, saved["versjon"]) == (200, 6)
    status, again = api.send(saved)
    assert (status, again["status"]) == (200, "til_linjeleder")
    status, body = api.approve(again, "direktor", "fagdirektor")
    assert (status, body["error"]["code"]) == (422, "INVALID_TRANSITION")
    status, again = api.approve(again, "leder-2", "linjeleder")
    status, done = api.approve(again, "direktor", "fagdirektor")
    assert (status, done["status"]) == (200, "sendt_inn"), done
    status, case = api.call("GET", f"/saker/{done['sak']}", "koordinator")
    assert all(set(g) == CASE_APPROVAL_KEYS for g in case["godkjenninger"])
    # only the approvals that submitted it: the second round
    assert [(g["funksjon"], g["bruker"]) for g in case["godkjenninger"]] == [
        ("lege", "lege"),
        ("linjeleder", "leder-2"),
        ("fagdirektor", "direktor"),
    ]
    assert case["data"]["forankring"]["linjeleder_navn"] == "leder-2"  # no --navn: the username
    with api_storage(api) as uow:
        actions = [e.action for e in uow.audit.list(object=f"draft:{done['id']}")]
    assert actions.count("draft.return") == 1 and actions.count("draft.send") == 2


def api_storage(api: Api) -> Any:
    return st(api.client.application).uow()


def test_every_change_must_carry_an_integer_versjon(api: Api) -> None:
    draft = api.filled()
    path = f"/utkast/{draft['id']}"
    for method, suffix, body in (
        ("PATCH", "", {"verdier": {"pasient.diagnosekode": "C00"}}),
        ("PATCH", "", {"versjon": str(draft["versjon"]), "verdier": {"pasient.diagnose": "x"}}),
        ("POST", "/send", {}),
        ("POST", "/send", {"versjon": True}),
        ("DELETE", "", None),
        ("DELETE", "?versjon=to", None),
    ):
        status, answer = api.call(method, path + suffix, "lege", body)
        assert (status, answer["error"]["code"]) == (422, "INVALID_REQUEST"), (method, body)
    status, now = api.call("GET", path, "lege")
    assert (now["versjon"], now["verdier"], now["status"]) == (
        draft["versjon"],
        draft["verdier"],
        "utkast",
    )


def test_only_utkast_can_be_saved_and_empty_or_null_clears(api: Api) -> None:
    draft = api.filled()
    assert draft["verdier"]["pasient.diagnosekode"]
    status, cleared = api.save(draft, "lege", {"pasient.diagnosekode": ""})
    assert status == 200 and "pasient.diagnosekode" not in cleared["verdier"]
    status, typed = api.save(cleared, "lege", {"pasient.diagnosekode": "C34.9"})
    assert typed["verdier"]["pasient.diagnosekode"] == "C34.9"
    status, nulled = api.save(typed, "lege", {"pasient.diagnosekode": None})
    assert status == 200 and "pasient.diagnosekode" not in nulled["verdier"]
    status, draft = api.save(nulled, "lege", {"pasient.diagnosekode": "C34.9"})
    status, sent = api.send(draft)
    status, body = api.save(sent, "lege", {"pasient.diagnosekode": "C00"})
    assert (status, body["error"]["code"]) == (422, "INVALID_TRANSITION")
    status, body = api.call("DELETE", f"/utkast/{sent['id']}?versjon={sent['versjon']}", "lege")
    assert (status, body["error"]["code"]) == (422, "INVALID_TRANSITION")
    status, now = api.call("GET", f"/utkast/{sent['id']}", "lege")
    assert (now["versjon"], now["verdier"]) == (sent["versjon"], sent["verdier"])


def test_sign_off_date_and_receipt_times_are_oslo_and_the_audit_is_one_chain(
    app: Flask, api: Api
) -> None:
    """`forankring.dato` is the Oslo date of the fagdirektør's approval (here the next day in Oslo
    while still the day before in UTC); the receipt shows the submission and each approval in
    Oslo time, the form, the HF, the author; every step is audited in the one chain."""
    before = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    final = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    clock = st(app).clock
    try:
        _at(app, before)
        draft = api.at_fagdirektor()
        _at(app, final)
        status, done = api.approve(draft, "direktor", "fagdirektor", reason="Forankret.")
    finally:
        st(app).clock = clock
    assert (status, done["status"]) == (200, "sendt_inn"), done
    oslo_date = final.astimezone(OSLO).date().isoformat()
    assert oslo_date != final.date().isoformat()
    assert done["verdier"]["forankring.dato"] == oslo_date
    status, case = api.call("GET", f"/saker/{done['sak']}", "koordinator")
    assert case["data"]["forankring"]["dato"] == oslo_date
    assert case["data"]["forankring"]["fagdirektor_bekrefter_komplett"] is True
    assert case["data"]["forankring"]["linjeleder_godkjent"] is True
    assert case["data"]["forankring"]["fagdirektor_godkjent"] is True
    assert case["data"]["forankring"]["linjeleder_begrunnelse"] == "Godt begrunnet."
    # made as by an accepted upload: id = reference, `mottatt`, version 1 by the fagdirektør
    assert (case["sak"], case["status"]) == (done["verdier"]["soknad.referansenummer"], "mottatt")
    assert [v["lastet_opp_av"] for v in case["versjoner"]] == ["direktor"]
    resp = api.client.get(
        f"/api/v1/utkast/{done['id']}/kvittering.pdf", headers=api.users.auth("lege")
    )
    assert resp.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert _oslo(final) in text and _oslo(before) in text
    for expected in (catalogue()["tilgang-del2"].name, "OUS", "Lise Lege", "Linjeleder"):
        assert expected in text, expected
    assert "Fagdirektør" in text and "Godt begrunnet." in text
    with st(app).uow() as uow:
        actions = [e.action for e in uow.audit.list(object=f"draft:{done['id']}")]
    assert actions == [
        "draft.create",
        "draft.save",
        "draft.send",
        "draft.approve",
        "draft.approve",
    ]
    with Session(st(app).engine) as session:
        assert verify(session) == (True, None)


def test_an_importer_and_a_creator_are_authors(app: Flask, api: Api) -> None:
    """Four eyes: whoever created or imported the draft may not approve it."""
    data = del2()  # an OUS application
    resp = api.client.post(
        "/api/v1/utkast/import",
        data={"fil": (io.BytesIO(data), "soknad.json")},
        headers=api.users.auth("leder"),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
    imported = resp.get_json()
    assert (imported["versjon"], imported["status"]) == (1, "utkast")
    assert not any(k.startswith("forankring.") for k in imported["verdier"])
    status, sent = api.send(imported, "lege")
    assert status == 200, sent
    status, body = api.approve(sent, "leder", "linjeleder")
    assert (status, body["error"]["code"]) == (403, "FOUR_EYES")
    with st(app).uow() as uow:
        actions = [e.action for e in uow.audit.list(object=f"draft:{imported['id']}")]
    assert actions == ["draft.import", "draft.send"]
    # created (and nothing more) by the linjeleder, filled and sent by the lege
    created = api.create("leder")
    status, filled = api.save(created, "lege", fillable())
    status, sent = api.send(filled, "lege")
    status, body = api.approve(sent, "leder", "linjeleder")
    assert (status, body["error"]["code"]) == (403, "FOUR_EYES")


def test_an_import_refused_for_identity_keeps_nothing(app: Flask, api: Api) -> None:
    number = synthetic()
    data = del2(**{"pasient.sykehistorie": f"Pasienten har fnr {number}."})
    resp = api.client.post(
        "/api/v1/utkast/import",
        data={"fil": (io.BytesIO(data), "soknad.json")},
        headers=api.users.auth("lege"),
        content_type="multipart/form-data",
    )
    body = resp.get_json()
    assert resp.status_code == 422 and body["status"] == "rejected", body
    assert "IDENTITY_FOUND" in {f["code"] for f in body["errors"]}
    assert number not in json.dumps(body)
    status, listed = api.call("GET", "/utkast", "lege")
    assert listed == {"utkast": []}
    assert number not in database_text(app)


def test_the_list_is_newest_first_and_filters_by_form_and_status(app: Flask, api: Api) -> None:
    first = api.create("lege", "tilgang-del2")
    second = api.create("lege", "minihta")
    third = api.filled("lege")
    status, listed = api.call("GET", "/utkast", "hf-ous")
    assert [d["id"] for d in listed["utkast"]] == [third["id"], second["id"], first["id"]]
    # a change moves a draft to the top
    status, first = api.save(first, "lege", {"pasient.diagnosekode": "C34.9"})
    status, listed = api.call("GET", "/utkast", "hf-ous")
    assert [d["id"] for d in listed["utkast"]][0] == first["id"]
    status, listed = api.call("GET", "/utkast?skjema=minihta", "hf-ous")
    assert [d["id"] for d in listed["utkast"]] == [second["id"]]
    status, listed = api.call("GET", "/utkast?skjema=tilgang-del2", "hf-ous")
    assert {d["id"] for d in listed["utkast"]} == {first["id"], third["id"]}
    status, sent = api.send(third)
    status, listed = api.call("GET", "/utkast?status=til_linjeleder&skjema=tilgang-del2", "lege")
    assert [(d["id"], d["status"]) for d in listed["utkast"]] == [(third["id"], "til_linjeleder")]
    status, listed = api.call("GET", "/utkast?status=utkast", "lege")
    assert {d["id"] for d in listed["utkast"]} == {first["id"], second["id"]}


def test_every_route_answers_401_without_a_token(api: Api) -> None:
    draft = api.create()
    for method, path in (
        ("POST", "/utkast"),
        ("POST", "/utkast/import"),
        ("GET", "/utkast"),
        ("GET", f"/utkast/{draft['id']}"),
        ("PATCH", f"/utkast/{draft['id']}"),
        ("POST", f"/utkast/{draft['id']}/send"),
        ("POST", f"/utkast/{draft['id']}/godkjenning"),
        ("GET", f"/utkast/{draft['id']}/kvittering.pdf"),
        ("DELETE", f"/utkast/{draft['id']}?versjon=1"),
        ("GET", "/utkast/finnes-ikke"),
    ):
        resp = api.client.open(f"/api/v1{path}", method=method, json={"versjon": 1})
        assert resp.status_code == 401, (method, path)


def test_send_checks_the_reference_as_an_upload_and_keeps_the_blocking_findings(
    api: Api,
) -> None:
    draft = api.create()
    status, body = api.send(draft)
    assert (status, body["error"]["code"]) == (422, "DRAFT_INCOMPLETE")
    assert isinstance(body["errors"], list) and isinstance(body["warnings"], list)
    # a case of the same reference already received: 409, nothing changes
    assert upload(api.client, api.users.auth("hf-ous"), del2()).status_code == 201
    draft = api.filled()
    status, body = api.send(draft)
    assert (status, body["error"]["code"]) == (409, "REFERENCE_IN_USE")
    status, now = api.call("GET", f"/utkast/{draft['id']}", "lege")
    assert (now["status"], now["versjon"]) == ("utkast", draft["versjon"])


def test_an_upload_by_a_user_with_functions_keeps_the_approvals_its_file_states(
    api: Api,
) -> None:
    """Uploads ignore functions: the file's own `forankring.*` is kept, nothing is verified."""
    data = del2()
    stated = json.loads(data)["forankring"]
    resp = upload(api.client, api.users.auth("lege"), data)
    assert resp.status_code == 201, resp.get_json()
    status, case = api.call("GET", f"/saker/{resp.get_json()['sak']}", "koordinator")
    assert case["godkjenninger"] == [] and case["utkast"] is None
    for key in ("linjeleder_navn", "fagdirektor_navn", "dato"):
        assert case["data"]["forankring"][key] == stated[key], key


@pytest.mark.parametrize("where", ["key", "key-and-value", "nested"])
def test_an_identity_number_anywhere_in_a_save_is_refused_and_never_echoed(
    app: Flask, api: Api, where: str
) -> None:
    number = synthetic()
    draft = api.filled()
    values: dict[str, Any] = {
        "key": {number: "x"},
        "key-and-value": {number: f"fnr {number}"},
        "nested": {"pasient.sykehistorie": {"tekst": number}},
    }[where]
    status, body = api.save(draft, "lege", values)
    assert (status, body["error"]["code"]) == (422, "IDENTITY_FOUND"), body
    assert number not in json.dumps(body)
    status, now = api.call("GET", f"/utkast/{draft['id']}", "lege")
    assert now["versjon"] == draft["versjon"]
    assert number not in database_text(app)


def test_an_unknown_funksjon_is_content_after_the_function_and_the_versjon(api: Api) -> None:
    """`funksjon` is part of the body: a user without an approving function is FUNCTION_REQUIRED
    and a stale versjon is 409 whatever it names; only then is an unknown one INVALID_VALUE."""
    status, draft = api.send(api.filled())
    stale, current = draft["versjon"] - 1, draft["versjon"]

    def attempt(who: str, versjon: int, funksjon: Any) -> str:
        body = {"versjon": versjon, "funksjon": funksjon, "godkjent": True, "begrunnelse": "ok"}
        status, answer = api.call("POST", f"/utkast/{draft['id']}/godkjenning", who, body)
        return f"{status} {answer['error']['code']}"

    assert attempt("sto-alt", stale, "sjef") == "404 NOT_FOUND"
    assert attempt("lege", stale, "sjef") == "403 FUNCTION_REQUIRED"
    assert attempt("leder", stale, "sjef") == "409 STALE_STATE"
    assert attempt("leder", stale, None) == "409 STALE_STATE"
    assert attempt("leder", current, "sjef") == "422 INVALID_VALUE"
    assert attempt("leder", current, None) == "422 INVALID_VALUE"
    status, now = api.call("GET", f"/utkast/{draft['id']}", "lege")
    assert (now["versjon"], now["status"]) == (current, "til_linjeleder")


def test_a_body_that_is_not_json_is_content_after_role_and_existence(api: Api) -> None:
    """401 → 403 FORBIDDEN → 404 → … → content: a broken body does not jump the queue."""
    draft = api.filled()
    routes = [
        ("POST", "/utkast"),
        ("PATCH", f"/utkast/{draft['id']}"),
        ("POST", f"/utkast/{draft['id']}/send"),
        ("POST", f"/utkast/{draft['id']}/godkjenning"),
    ]
    for method, path in routes:
        for who, want in (
            ("koordinator", "403 FORBIDDEN"),
            ("sto-alt", "404 NOT_FOUND" if path != "/utkast" else "422 INVALID_REQUEST"),
            ("lege", "422 INVALID_REQUEST"),
        ):
            resp = api.client.open(
                f"/api/v1{path}",
                method=method,
                data=b"{ikke json",
                content_type="application/json",
                headers=api.users.auth(who),
            )
            answer = resp.get_json()
            assert f"{resp.status_code} {answer['error']['code']}" == want, (method, path, who)
    status, now = api.call("GET", f"/utkast/{draft['id']}", "lege")
    assert now["versjon"] == draft["versjon"]


@pytest.mark.parametrize(
    ("skjema", "hf_field"),
    [("tilgang-del2", "soknad.helseforetak"), ("minihta", "generelt.helseforetak")],
)
def test_the_service_sets_skjema_and_the_hf_field_holds_only_the_drafts_hf(
    api: Api, skjema: str, hf_field: str
) -> None:
    draft = api.create("hf-ous", skjema)
    form = catalogue()[skjema]
    assert draft["verdier"]["skjema.type"] == skjema
    assert draft["verdier"]["skjema.versjon"] == form.version
    assert (draft["helseforetak"], draft["verdier"][hf_field]) == ("OUS", "OUS")
    status, body = api.save(draft, "hf-ous", {hf_field: "STO"})
    assert (status, body["error"]["code"]) == (403, "UPLOADER_HF_MISMATCH")
    status, body = api.save(draft, "hf-ous", {"skjema.versjon": "9"})
    assert (status, body["error"]["code"]) == (422, "INVALID_VALUE")
    status, now = api.call("GET", f"/utkast/{draft['id']}", "hf-ous")
    assert (now["versjon"], now["verdier"]) == (1, draft["verdier"])
