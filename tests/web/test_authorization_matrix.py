"""WORKFLOW.md section 1: every request is checked on role AND object; another HF's case is 404.

One matrix covers every rule of `app.url_map` (pages and `/api/v1`) and each of its methods, for
ten callers: anonymous, an HF user of the case's HF and of another HF, the coordinator, the price
check, a committee member sitting in the meeting and one removed from it, the peer reviewer
assigned to the mini-HTA and one who is not, and the operator. A new endpoint without a row in
`MATRIX` makes `test_every_endpoint_has_a_row` fail.

Expected classes: `OK` (2xx/3xx, or a 409/422 that shows the request got past access control; a
redirect must not be to the login form), `ANON` (401 from the API without a token; a redirect to
the login form from a page), 403, 404, or an exact status for the few odd ones out.

The objects are built once per module through the services (argon2 makes users slow): Del 2
cases of OUS (one decided, one placed in a meeting) and of AHUS, a mini-HTA with an assigned
reviewer whose declaration is green, a published mini-HTA, and a meeting.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forms.templates import build
from processor.domain import Actor
from services import committee, drafts, minihta
from services.cases import price_check, transition
from services.upload import upload
from services.users import add_user, create_token
from tests.fillers import fill_json, fill_xlsx, sample_values
from tests.web.conftest import PASSWORD, csrf_token, del2, login, make_app, st
from web.committee import decision_input

OK = "ok"
ANON = "anon"
ROLES = (
    "anonym",
    "hf-eget",
    "hf-annet",
    "koordinator",
    "priskontroll",
    "komite-medlem",
    "komite-annen",
    "fagfelle-tildelt",
    "fagfelle-annen",
    "admin",
)
# the user behind each caller (None: no login, no token)
USERNAMES: dict[str, str | None] = {
    "anonym": None,
    "hf-eget": "hf-ous",
    "hf-annet": "hf-ahus",
    "koordinator": "koordinator",
    "priskontroll": "priskontroll",
    "komite-medlem": "k-hbe",
    "komite-annen": "k-unn",
    "fagfelle-tildelt": "ff-hbe",
    "fagfelle-annen": "ff-unn",
    "admin": "drift",
}
USERS: dict[str, dict[str, Any]] = {
    # every HF function (PORTAL.md section 2), so a draft's steps get past the function check
    "hf-ous": {"roles": ["hf"], "hf": "OUS", "funksjoner": ["lege", "linjeleder", "fagdirektor"]},
    "hf-ahus": {"roles": ["hf"], "hf": "AHUS"},
    "koordinator": {"roles": ["koordinator"]},
    "priskontroll": {"roles": ["priskontroll"]},
    "drift": {"roles": ["admin"]},
    "ff-hbe": {"roles": ["fagfelle"], "hf": "HBE", "fagomrader": ["Gastrokirurgi"]},
    "ff-unn": {"roles": ["fagfelle"], "hf": "UNN", "fagomrader": ["Gastrokirurgi"]},
    # decision-makers: the four who take part, and one removed from the meeting
    "k-hbe": {"roles": ["komite"], "hf": "HBE", "beslutningstaker": True},
    "k-hmr": {"roles": ["komite"], "hf": "HMR", "beslutningstaker": True},
    "k-sihf": {"roles": ["komite"], "hf": "SIHF", "beslutningstaker": True},
    "k-sto": {"roles": ["komite"], "hf": "STO", "beslutningstaker": True},
    "k-unn": {"roles": ["komite"], "hf": "UNN", "beslutningstaker": True},
}
LOGIN = {name for name in USERNAMES.values() if name}

DECIDED = "2026-09-14-OUS-KREFT"  # placed in the meeting and decided
PLACED = "2026-09-14-OUS-HJERTE"  # placed in the meeting (satt_opp)
AHUS_CASE = "2026-09-14-AHUS-KREFT"  # mottatt
MMV_PUBLISHED = "MMV-2026-001"
MMV_REVIEW = "MMV-2026-002"  # til_fagfelle, ff-hbe assigned with a green declaration
MEETING_DAY = date(2026, 12, 10)
TODAY = date(2026, 11, 23)

DECISION = {
    "utfall": "innvilget",
    "kriterier": {
        "okt_nytte": {"oppfylt": True, "begrunnelse": "Klar nytte i fase 2-data."},
        "hoyere_alvorlighet": {"oppfylt": False, "begrunnelse": ""},
        "sarskilte_medisinske_arsaker": {"oppfylt": False, "begrunnelse": ""},
    },
    "begrunnelse": "Komitéen finner at vilkårene er oppfylt.",
    "deltakere": ["k-hbe", "k-hmr", "k-sihf", "k-sto"],
    "foreslar_gruppevurdering": False,
    "gruppevurdering_tekst": "",
}


def row(
    anonym: Any,
    hf_eget: Any,
    hf_annet: Any,
    koordinator: Any,
    priskontroll: Any,
    komite_medlem: Any,
    komite_annen: Any,
    fagfelle_tildelt: Any,
    fagfelle_annen: Any,
    admin: Any,
) -> dict[str, Any]:
    values = (
        anonym,
        hf_eget,
        hf_annet,
        koordinator,
        priskontroll,
        komite_medlem,
        komite_annen,
        fagfelle_tildelt,
        fagfelle_annen,
        admin,
    )
    return dict(zip(ROLES, values, strict=True))


def everyone(expected: Any = OK) -> dict[str, Any]:
    return dict.fromkeys(ROLES, expected)


def only(*roles: str, others: Any = 403, anon: Any = ANON) -> dict[str, Any]:
    """Role-gated before any object is looked up: the listed callers pass, the others 403."""
    out = {r: (OK if r in roles else others) for r in ROLES}
    out["anonym"] = anon
    return out


def logged_in(expected: Any = OK) -> dict[str, Any]:
    return {**everyone(expected), "anonym": ANON}


@dataclass(frozen=True)
class Call:
    path: str
    expect: dict[str, Any]
    json: dict[str, Any] | None = None
    form: dict[str, Any] | None = None
    upload: bool = False
    fresh: bool = False  # the request ends the session: use a client of its own


# the placed Del 2 case as each caller may know it (the price check sees only cases in price
# check: this one was checked before it was placed)
CASE_PLACED = row(ANON, OK, 404, OK, 404, OK, 404, 404, 404, 404)
# a change of the placed case that only the coordinator may make (409 STALE_STATE for them)
CASE_CHANGE_KOORDINATOR = row(ANON, 403, 404, OK, 404, 403, 404, 404, 404, 404)
# the decision and its letter: the applying HF and the coordinator; others who see the case 403
LETTER = row(ANON, OK, 404, OK, 404, 403, 404, 404, 404, 404)
# a draft of OUS (PORTAL.md section 1): every hf user of OUS; for another HF it does not exist;
# every other role is refused whatever the id (a stale `versjon` answers 409 to OUS)
DRAFT_OWN = row(ANON, OK, 404, 403, 403, 403, 403, 403, 403, 403)
REVIEWER_ONLY = row(ANON, 404, 404, 404, 404, 404, 404, OK, 404, 404)
PAGE_REVIEWER = row(ANON, 403, 403, 403, 403, 403, 403, OK, 404, 403)

API = "/api/v1"
MATRIX: dict[tuple[str, str], Call] = {
    # ---- API: cases -------------------------------------------------------------------------
    ("/api/v1/innsendinger", "POST"): Call(
        f"{API}/innsendinger",
        # a file that is not a form: 422 for those who may upload, 403 before reading for others
        only("hf-eget", "hf-annet", "fagfelle-tildelt", "fagfelle-annen"),
        upload=True,
    ),
    ("/api/v1/saker", "GET"): Call(f"{API}/saker", logged_in()),
    ("/api/v1/saker/<case_id>", "GET"): Call(f"{API}/saker/{PLACED}", CASE_PLACED),
    ("/api/v1/saker/<case_id>/overgang", "POST"): Call(
        f"{API}/saker/{PLACED}/overgang",
        CASE_CHANGE_KOORDINATOR,
        json={"fra": "mottatt", "til": "returnert", "begrunnelse": "Mangler opplysninger."},
    ),
    ("/api/v1/saker/<case_id>/hast", "POST"): Call(
        f"{API}/saker/{PLACED}/hast", CASE_CHANGE_KOORDINATOR, json={"hast": False}
    ),
    ("/api/v1/saker/<case_id>/priskontroll", "POST"): Call(
        f"{API}/saker/{PLACED}/priskontroll",
        row(ANON, 403, 404, 403, OK, 403, 404, 404, 404, 404),  # 409: it left the price check
        json={"legemiddel_per_maned": 1000, "merknad": "Korrigert."},
    ),
    ("/api/v1/innboks", "GET"): Call(f"{API}/innboks", only("koordinator")),
    ("/api/v1/priskontroll", "GET"): Call(f"{API}/priskontroll", only("priskontroll")),
    ("/api/v1/maler/<form_id>.<fmt>", "GET"): Call(f"{API}/maler/tilgang-del2.json", everyone()),
    ("/api/v1/healthz", "GET"): Call(f"{API}/healthz", everyone()),
    # ---- API: committee, meetings, decisions ----------------------------------------------------
    ("/api/v1/komite", "GET"): Call(f"{API}/komite", only("koordinator", "admin")),
    ("/api/v1/komite/<username>", "POST"): Call(
        f"{API}/komite/k-hbe", only("koordinator", "admin"), json={}
    ),
    ("/api/v1/moter", "GET"): Call(
        f"{API}/moter", only("koordinator", "komite-medlem", "komite-annen")
    ),
    ("/api/v1/moter", "POST"): Call(
        f"{API}/moter", only("koordinator"), json={"dato": "2020-01-02", "tid": "09:00"}
    ),
    ("/api/v1/moter/<int:meeting_id>", "GET"): Call(
        f"{API}/moter/{{meeting}}", only("koordinator")
    ),
    ("/api/v1/moter/<int:meeting_id>", "PATCH"): Call(
        f"{API}/moter/{{meeting}}", only("koordinator"), json={}
    ),
    ("/api/v1/moter/<int:meeting_id>/planlegg", "POST"): Call(
        f"{API}/moter/{{meeting}}/planlegg", only("koordinator"), json={}
    ),
    ("/api/v1/moter/<int:meeting_id>/pakke.zip", "GET"): Call(
        f"{API}/moter/{{meeting}}/pakke.zip", only("komite-medlem")
    ),
    ("/api/v1/saker/<case_id>/vedtak", "GET"): Call(f"{API}/saker/{DECIDED}/vedtak", LETTER),
    ("/api/v1/saker/<case_id>/vedtak", "POST"): Call(
        f"{API}/saker/{DECIDED}/vedtak", only("koordinator"), json=DECISION
    ),
    ("/api/v1/saker/<case_id>/vedtak.<fmt>", "GET"): Call(
        f"{API}/saker/{DECIDED}/vedtak.pdf", LETTER
    ),
    # ---- API: mini-HTA peer review ------------------------------------------------------------
    ("/api/v1/saker/<case_id>/fagfelle", "GET"): Call(
        f"{API}/saker/{MMV_REVIEW}/fagfelle", only("koordinator")
    ),
    ("/api/v1/saker/<case_id>/fagfelle", "POST"): Call(
        f"{API}/saker/{MMV_REVIEW}/fagfelle",
        only("koordinator"),  # 422 ALREADY_ASSIGNED for the coordinator
        json={"fagfelle": "ff-unn", "begrunnelse": "Testtildeling."},
    ),
    ("/api/v1/saker/<case_id>/habilitet", "POST"): Call(
        f"{API}/saker/{MMV_REVIEW}/habilitet", REVIEWER_ONLY, json={"niva": "gronn"}
    ),
    ("/api/v1/saker/<case_id>/habilitet/senk", "POST"): Call(
        f"{API}/saker/{MMV_REVIEW}/habilitet/senk",
        only("koordinator"),  # 422 INVALID_VALUE for the coordinator: green is the lowest
        json={"niva": "gronn", "begrunnelse": "Testsenking."},
    ),
    ("/api/v1/saker/<case_id>/habilitet/godkjenn", "POST"): Call(
        f"{API}/saker/{MMV_REVIEW}/habilitet/godkjenn", only("koordinator"), json={}
    ),
    ("/api/v1/saker/<case_id>/fagfellepakke.zip", "GET"): Call(
        f"{API}/saker/{MMV_REVIEW}/fagfellepakke.zip", REVIEWER_ONLY
    ),
    ("/api/v1/fagfelle/saker", "GET"): Call(
        f"{API}/fagfelle/saker", only("fagfelle-tildelt", "fagfelle-annen")
    ),
    # ---- API: drafts and sign-off (PORTAL.md) ----------------------------------------------
    ("/api/v1/utkast", "GET"): Call(f"{API}/utkast", only("hf-eget", "hf-annet")),
    ("/api/v1/utkast", "POST"): Call(  # a form that cannot be a draft: 422 for the HFs
        f"{API}/utkast", only("hf-eget", "hf-annet"), json={"skjema": "minihta-okonomi"}
    ),
    ("/api/v1/utkast/import", "POST"): Call(
        f"{API}/utkast/import", only("hf-eget", "hf-annet"), upload=True
    ),
    ("/api/v1/utkast/<draft_id>", "GET"): Call(f"{API}/utkast/{{draft}}", DRAFT_OWN),
    ("/api/v1/utkast/<draft_id>", "PATCH"): Call(
        f"{API}/utkast/{{draft}}",
        DRAFT_OWN,
        json={"versjon": 999, "verdier": {"pasient.diagnosekode": "C34.1"}},
    ),
    ("/api/v1/utkast/<draft_id>", "DELETE"): Call(f"{API}/utkast/{{draft}}?versjon=999", DRAFT_OWN),
    ("/api/v1/utkast/<draft_id>/send", "POST"): Call(
        f"{API}/utkast/{{draft}}/send", DRAFT_OWN, json={"versjon": 999}
    ),
    ("/api/v1/utkast/<draft_id>/godkjenning", "POST"): Call(
        f"{API}/utkast/{{draft}}/godkjenning",
        DRAFT_OWN,
        json={"versjon": 999, "funksjon": "linjeleder", "godkjent": True, "begrunnelse": "Ok."},
    ),
    ("/api/v1/utkast/<draft_id>/kvittering.pdf", "GET"): Call(
        f"{API}/utkast/{{submitted}}/kvittering.pdf", DRAFT_OWN
    ),
    # ---- API: public and figures --------------------------------------------------------------
    ("/api/v1/publisert", "GET"): Call(f"{API}/publisert", everyone()),
    ("/api/v1/publisert.atom", "GET"): Call(f"{API}/publisert.atom", everyone()),
    ("/api/v1/publisert/<case_id>", "GET"): Call(f"{API}/publisert/{MMV_PUBLISHED}", everyone()),
    ("/api/v1/statistikk", "GET"): Call(f"{API}/statistikk", only("koordinator")),
    ("/api/v1/statistikk.xlsx", "GET"): Call(f"{API}/statistikk.xlsx", only("koordinator")),
    ("/api/v1/tall", "GET"): Call(f"{API}/tall", everyone()),
    ("/api/openapi.json", "GET"): Call("/api/openapi.json", everyone()),
    ("/healthz", "GET"): Call("/healthz", everyone()),
    # ---- pages: login, home, HF ---------------------------------------------------------------
    ("/", "GET"): Call("/", logged_in()),  # each role's start page; anonymous: the login form
    ("/logg-inn", "GET"): Call("/logg-inn", everyone()),
    ("/logg-inn", "POST"): Call(
        "/logg-inn", everyone(401), form={"brukernavn": "ukjent", "passord": "feil"}
    ),
    ("/logg-ut", "POST"): Call("/logg-ut", everyone(303), form={}, fresh=True),
    ("/static/<path:filename>", "GET"): Call("/static/style.css", everyone()),
    ("/innsending", "GET"): Call(
        "/innsending", only("hf-eget", "hf-annet", "fagfelle-tildelt", "fagfelle-annen")
    ),
    ("/innsending", "POST"): Call(  # no file: 422 FILE_MISSING on the page
        "/innsending", only("hf-eget", "hf-annet", "fagfelle-tildelt", "fagfelle-annen"), form={}
    ),
    ("/saker", "GET"): Call("/saker", logged_in()),
    ("/saker/<case_id>", "GET"): Call(f"/saker/{PLACED}", CASE_PLACED),
    ("/saker/<case_id>/overgang", "POST"): Call(
        f"/saker/{PLACED}/overgang",
        CASE_CHANGE_KOORDINATOR,  # the coordinator's stale state is flashed (303)
        form={"fra": "mottatt", "til": "returnert", "begrunnelse": "Mangler opplysninger."},
    ),
    # withdrawing: the confirmation step, for the case's own HF (the stale `fra` keeps the case)
    ("/saker/<case_id>/trekk", "GET"): Call(
        f"/saker/{PLACED}/trekk", row(ANON, OK, 404, 403, 403, 403, 403, 403, 403, 403)
    ),
    ("/saker/<case_id>/trekk", "POST"): Call(
        f"/saker/{PLACED}/trekk",
        row(ANON, OK, 404, 403, 403, 403, 403, 403, 403, 403),
        form={"fra": "mottatt", "begrunnelse": "Feil innsending."},
    ),
    ("/saker/<case_id>/hast", "POST"): Call(
        f"/saker/{PLACED}/hast", only("koordinator"), form={"hast": "nei"}
    ),
    ("/saker/<case_id>/priskontroll", "POST"): Call(
        f"/saker/{PLACED}/priskontroll",
        only("priskontroll"),
        form={"legemiddel_per_maned": "1000", "merknad": "Korrigert."},
    ),
    ("/innboks", "GET"): Call("/innboks", only("koordinator")),
    ("/priskontroll", "GET"): Call("/priskontroll", only("priskontroll")),
    # ---- pages: committee, meetings, decisions ------------------------------------------------
    ("/komite", "GET"): Call("/komite", only("koordinator", "admin")),
    ("/drift/utboks", "GET"): Call("/drift/utboks", only("admin")),
    ("/drift/utboks/<int:row_id>/prov-igjen", "POST"): Call(
        "/drift/utboks/1/prov-igjen", only("admin"), form={}
    ),
    ("/komite", "POST"): Call("/komite", only("koordinator", "admin"), form={"brukernavn": ""}),
    ("/komite/<username>", "POST"): Call(
        "/komite/k-hbe", only("koordinator", "admin"), form={"beslutningstaker": "ja"}
    ),
    ("/moter", "GET"): Call("/moter", only("koordinator", "komite-medlem", "komite-annen")),
    ("/moter", "POST"): Call(
        "/moter", only("koordinator"), form={"dato": "2020-01-02", "tid": "09:00"}
    ),
    ("/moter/<int:meeting_id>", "GET"): Call("/moter/{meeting}", only("koordinator")),
    ("/moter/<int:meeting_id>/innstillinger", "POST"): Call(
        "/moter/{meeting}/innstillinger", only("koordinator"), form={}
    ),
    ("/moter/<int:meeting_id>/planlegg", "POST"): Call(
        "/moter/{meeting}/planlegg", only("koordinator"), form={}
    ),
    ("/moter/<int:meeting_id>/pakke.zip", "GET"): Call(
        "/moter/{meeting}/pakke.zip", only("komite-medlem")
    ),
    ("/saker/<case_id>/vedtak", "GET"): Call(f"/saker/{PLACED}/vedtak", only("koordinator")),
    ("/saker/<case_id>/vedtak", "POST"): Call(
        f"/saker/{DECIDED}/vedtak", only("koordinator"), form={"utfall": "innvilget"}
    ),
    ("/saker/<case_id>/vedtak.<fmt>", "GET"): Call(
        f"/saker/{DECIDED}/vedtak.pdf", row(ANON, OK, 404, OK, 403, 403, 403, 403, 403, 403)
    ),
    # ---- pages: mini-HTA peer review ----------------------------------------------------------
    ("/fagfelle", "GET"): Call("/fagfelle", only("fagfelle-tildelt", "fagfelle-annen")),
    ("/fagfelle/<case_id>/habilitet", "POST"): Call(
        f"/fagfelle/{MMV_REVIEW}/habilitet", PAGE_REVIEWER, form={"niva": "gronn"}
    ),
    ("/fagfelle/<case_id>/navn", "POST"): Call(
        f"/fagfelle/{MMV_REVIEW}/navn", PAGE_REVIEWER, form={"navn": "ja"}
    ),
    ("/fagfelle/<case_id>/pakke.zip", "GET"): Call(
        f"/fagfelle/{MMV_REVIEW}/pakke.zip", PAGE_REVIEWER
    ),
    ("/minihta/<case_id>/fagfelle", "GET"): Call(
        f"/minihta/{MMV_REVIEW}/fagfelle", only("koordinator")
    ),
    ("/minihta/<case_id>/fagfelle", "POST"): Call(
        f"/minihta/{MMV_REVIEW}/fagfelle",
        only("koordinator"),
        form={"fagfelle": "ff-unn", "begrunnelse": "Testtildeling."},
    ),
    ("/minihta/<case_id>/habilitet/senk", "POST"): Call(
        f"/minihta/{MMV_REVIEW}/habilitet/senk",
        only("koordinator"),
        form={"niva": "gronn", "begrunnelse": "Testsenking."},
    ),
    ("/minihta/<case_id>/godkjenn", "POST"): Call(
        f"/minihta/{MMV_REVIEW}/godkjenn", only("koordinator"), form={}
    ),
    # the preview of a case not yet decided answers 409 to the coordinator (past access control)
    ("/minihta/<case_id>/forhandsvisning", "GET"): Call(
        f"/minihta/{MMV_REVIEW}/forhandsvisning", only("koordinator")
    ),
    ("/minihta/<case_id>/publiser", "POST"): Call(
        f"/minihta/{MMV_REVIEW}/publiser", only("koordinator"), form={}
    ),
    # ---- pages: public database and figures ---------------------------------------------------
    ("/publisert", "GET"): Call("/publisert", everyone()),
    ("/publisert.atom", "GET"): Call("/publisert.atom", everyone()),
    ("/publisert/<case_id>", "GET"): Call(f"/publisert/{MMV_PUBLISHED}", everyone()),
    ("/publisert/<case_id>/<document>.pdf", "GET"): Call(
        f"/publisert/{MMV_PUBLISHED}/minihta.pdf", everyone()
    ),
    ("/statistikk", "GET"): Call("/statistikk", only("koordinator")),
    ("/statistikk.xlsx", "GET"): Call("/statistikk.xlsx", only("koordinator")),
    ("/tall", "GET"): Call("/tall", everyone()),
    # ---- pages: the HF portal (PORTAL.md section 6; a draft of OUS in `utkast`) ---------------
    ("/utkast", "GET"): Call("/utkast", only("hf-eget", "hf-annet")),
    ("/utkast/ny", "GET"): Call("/utkast/ny", only("hf-eget", "hf-annet")),
    ("/utkast/ny", "POST"): Call(  # no form chosen: 422 on the page
        "/utkast/ny", only("hf-eget", "hf-annet"), form={}
    ),
    ("/utkast/import", "POST"): Call(  # no file: 422 on the page
        "/utkast/import", only("hf-eget", "hf-annet"), form={}
    ),
    ("/utkast/<draft_id>", "GET"): Call("/utkast/{draft}", DRAFT_OWN),
    # without `versjon` a change is stale (409) once access is checked: the draft is kept
    ("/utkast/<draft_id>", "POST"): Call("/utkast/{draft}", DRAFT_OWN, form={}),
    ("/utkast/<draft_id>/sjekk", "POST"): Call("/utkast/{draft}/sjekk", DRAFT_OWN, form={}),
    ("/utkast/<draft_id>/autolagring", "POST"): Call(
        "/utkast/{draft}/autolagring", DRAFT_OWN, form={}
    ),
    ("/utkast/<draft_id>/send", "GET"): Call("/utkast/{draft}/send", DRAFT_OWN),
    ("/utkast/<draft_id>/send", "POST"): Call("/utkast/{draft}/send", DRAFT_OWN, form={}),
    ("/utkast/<draft_id>/godkjenning", "GET"): Call("/utkast/{draft}/godkjenning", DRAFT_OWN),
    ("/utkast/<draft_id>/godkjenning", "POST"): Call(
        "/utkast/{draft}/godkjenning", DRAFT_OWN, form={}
    ),
    ("/utkast/<draft_id>/kvittering.pdf", "GET"): Call(
        "/utkast/{submitted}/kvittering.pdf", DRAFT_OWN
    ),
    ("/utkast/<draft_id>/slett", "GET"): Call("/utkast/{draft}/slett", DRAFT_OWN),
    ("/utkast/<draft_id>/slett", "POST"): Call("/utkast/{draft}/slett", DRAFT_OWN, form={}),
}


# ---- the objects ----------------------------------------------------------------------------------


def _actor(name: str) -> Actor:
    spec = USERS[name]
    return Actor(name, frozenset(spec["roles"]), spec.get("hf"))


def _upload(app: Flask, user: str, filename: str, data: bytes, case_id: str | None = None) -> str:
    s = st(app)
    result = upload(_actor(user), filename, data, s.uow(), TODAY, case_id=case_id)
    assert result.accepted, result.errors
    return str(result.case_id)


def _build_drafts(app: Flask) -> tuple[str, str]:
    """A draft of OUS in `utkast`, and a mini-HTA draft of OUS submitted (it has a receipt)."""
    s = st(app)
    hf = _actor("hf-ous")
    draft = drafts.create(s.uow(), hf, "tilgang-del2")
    sent = drafts.create(s.uow(), hf, "minihta")
    values = {k: v for k, v in sample_values("minihta").items() if not k.startswith("skjema.")}
    sent = drafts.save(s.uow(), hf, sent.id, sent.versjon, values)
    sent = drafts.send(s.uow(), hf, sent.id, sent.versjon)
    assert sent.status == "sendt_inn", sent.errors
    return draft.id, sent.id


def _build_objects(app: Flask) -> int:
    """The cases, the mini-HTAs and the meeting; returns the meeting's id."""
    s = st(app)
    koordinator, pris = _actor("koordinator"), _actor("priskontroll")
    for case_id, data in (
        (DECIDED, del2("OUS", "KREFT")),
        (PLACED, del2("OUS", "HJERTE")),
        (AHUS_CASE, del2("AHUS", "KREFT")),
    ):
        assert _upload(app, "hf-ous" if "OUS" in case_id else "hf-ahus", "s.json", data) == case_id
    for case_id in (DECIDED, PLACED):
        transition(koordinator, case_id, "mottatt", "priskontroll", None, s.uow())
        price_check(pris, case_id, 62500, None, s.uow())
    meeting = committee.create_meeting(koordinator, s.uow(), MEETING_DAY, time(9), TODAY)
    committee.update_meeting(koordinator, s.uow(), meeting, absent={"k-unn": True})
    placed = committee.plan_meeting(koordinator, s.uow(), meeting, TODAY)
    assert set(placed.placed) == {DECIDED, PLACED}, placed.not_placed
    decision = decision_input(DECISION)
    committee.record_decision(koordinator, s.uow(), DECIDED, decision, TODAY)

    template = build("minihta-okonomi", "xlsx")
    reviewer = _actor("ff-hbe")
    for expected in (MMV_PUBLISHED, MMV_REVIEW):
        sak = _upload(app, "hf-ous", "minihta.json", fill_json("minihta", sample_values("minihta")))
        assert sak == expected
        okonomi = fill_xlsx(template, sample_values("minihta-okonomi", **{"sak.id": sak}))
        _upload(app, "hf-ous", "okonomi.xlsx", okonomi, case_id=sak)
        minihta.assign_reviewer(koordinator, sak, "ff-hbe", "Testtildeling.", s.uow())
        minihta.declare_conflict(reviewer, sak, "gronn", None, s.uow())
    skjema2 = sample_values("minihta-fagfelle", **{"sak.id": MMV_PUBLISHED})
    _upload(app, "ff-hbe", "skjema2.json", fill_json("minihta-fagfelle", skjema2))
    skjema3 = sample_values("minihta-beslutning", **{"sak.id": MMV_PUBLISHED})
    _upload(app, "hf-ous", "skjema3.json", fill_json("minihta-beslutning", skjema3))
    transition(koordinator, MMV_PUBLISHED, "besluttet", "publisert", None, s.uow())
    return meeting


@dataclass
class World:
    app: Flask
    meeting: int
    tokens: dict[str, str]
    drafts: tuple[str, str] = ("", "")  # a draft in `utkast`, a submitted one
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)

    def client(self, role: str, *, fresh: bool = False) -> tuple[FlaskClient, str]:
        """A client logged in as the role's user (anonymous: not logged in) and its CSRF token."""
        if role in self.clients and not fresh:
            return self.clients[role], self.csrf[role]
        client = self.app.test_client()
        username = USERNAMES[role]
        if username is not None:
            login(client, username)
        token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
        if not fresh:
            self.clients[role], self.csrf[role] = client, token
        return client, token


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    app = make_app(tmp_path_factory.mktemp("matrix") / "instance", RATELIMIT_ENABLED=False)
    s = st(app)
    tokens = {}
    for name, spec in USERS.items():
        password = PASSWORD if name in LOGIN else None
        add_user(s.uow(), name, password=password, **spec)
        tokens[name] = create_token(s.uow(), name)
    meeting = _build_objects(app)
    yield World(app, meeting, tokens, _build_drafts(app))
    s.engine.dispose()


# ---- the tests ------------------------------------------------------------------------------------


def _rules(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_every_endpoint_has_a_row(world: World) -> None:
    rules = _rules(world.app)
    missing = sorted(rules - set(MATRIX))
    stale = sorted(set(MATRIX) - rules)
    assert missing == [], f"endpoints without a row in the authorization matrix: {missing}"
    assert stale == [], f"rows for endpoints the app does not have: {stale}"


def _request(world: World, call: Call, role: str, method: str) -> Any:
    path = call.path.replace("{meeting}", str(world.meeting))
    path = path.replace("{draft}", world.drafts[0]).replace("{submitted}", world.drafts[1])
    api = path.startswith("/api/")
    username = USERNAMES[role]
    if api:
        client = world.app.test_client()
        headers = {"Authorization": f"Bearer {world.tokens[username]}"} if username else {}
        if call.upload:
            data = {"fil": (io.BytesIO(b"ikke et skjema"), "notat.txt")}
            return client.open(
                path, method=method, data=data, headers=headers, content_type="multipart/form-data"
            )
        return client.open(path, method=method, json=call.json, headers=headers)
    client, token = world.client(role, fresh=call.fresh)
    if method == "GET":
        return client.get(path)
    return client.open(path, method=method, data={**(call.form or {}), "csrf_token": token})


def _status_class(resp: Any, api: bool) -> Any:
    status = resp.status_code
    location = resp.headers.get("Location", "")
    if not api and 300 <= status < 400 and "/logg-inn" in location:
        return ANON
    if api and status == 401:
        return ANON
    if status in (200, 201, 302, 303, 409, 422):
        return OK
    return status


def _check(world: World, key: tuple[str, str], call: Call) -> list[str]:
    _rule, method = key
    api = call.path.startswith("/api/")
    wrong = []
    for role in ROLES:
        expected = call.expect[role]
        resp = _request(world, call, role, method)
        if call.fresh:  # logging out ends every session of the user: log in afresh later
            world.clients.pop(role, None)
        exact = isinstance(expected, int) and expected not in (403, 404)
        actual = resp.status_code if exact else _status_class(resp, api)
        if actual != expected:
            wrong.append(f"{method} {call.path} as {role}: expected {expected}, got {actual}")
    return wrong


@pytest.mark.parametrize("key", sorted(MATRIX), ids=lambda k: f"{k[1]} {k[0]}")
def test_authorization_matrix(world: World, key: tuple[str, str]) -> None:
    call = MATRIX[key]
    assert set(call.expect) == set(ROLES)
    wrong = _check(world, key, call)
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize(("user", "case_id"), [("hf-ous", AHUS_CASE), ("hf-ahus", DECIDED)])
def test_the_other_hfs_case_is_not_found_on_every_case_read(
    world: World, user: str, case_id: str
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens[user]}"}
    client = world.app.test_client()
    for path in ("", "/vedtak", "/vedtak.pdf", "/vedtak.docx", "/fagfellepakke.zip"):
        resp = client.get(f"{API}/saker/{case_id}{path}", headers=headers)
        assert resp.status_code == 404, (user, case_id, path)
        assert resp.get_json()["error"]["code"] == "NOT_FOUND"
    own = client.get(f"{API}/saker/{AHUS_CASE if user == 'hf-ahus' else DECIDED}", headers=headers)
    assert own.status_code == 200


def test_a_not_found_answer_looks_the_same_as_for_a_case_that_does_not_exist(
    world: World,
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['hf-ahus']}"}
    client = world.app.test_client()
    foreign = client.get(f"{API}/saker/{PLACED}", headers=headers)
    missing = client.get(f"{API}/saker/2026-09-14-OUS-FINNESIKKE", headers=headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_json() == missing.get_json()


def test_every_download_of_a_decision_letter_is_audited_and_the_chain_holds(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.cli import main

    def downloads() -> list[tuple[str, str]]:
        uow = st(world.app).uow()
        with uow:
            return [
                (e.actor, e.details["format"])
                for e in uow.audit.list(object=f"case:{DECIDED}")
                if e.action == "decision.letter_download"
            ]

    before = len(downloads())
    for user, fmt in (("hf-ous", "pdf"), ("koordinator", "docx")):
        resp = world.app.test_client().get(
            f"{API}/saker/{DECIDED}/vedtak.{fmt}",
            headers={"Authorization": f"Bearer {world.tokens[user]}"},
        )
        assert resp.status_code == 200
    client, _token = world.client("hf-eget")
    assert client.get(f"/saker/{DECIDED}/vedtak.pdf").status_code == 200
    events = downloads()
    assert len(events) == before + 3
    assert events[-3:] == [
        ("hf-ous", "pdf"),
        ("koordinator", "docx"),
        ("hf-ous", "pdf"),
    ]
    # a refused download is not a download
    resp = world.app.test_client().get(
        f"{API}/saker/{DECIDED}/vedtak.pdf",
        headers={"Authorization": f"Bearer {world.tokens['hf-ahus']}"},
    )
    assert resp.status_code == 404 and len(downloads()) == before + 3

    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(world.app.instance_path))
    monkeypatch.delenv("SKJEMAMOTTAK_DATABASE_URL", raising=False)
    assert main(["audit", "verify"]) == 0
