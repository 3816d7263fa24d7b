"""What the routes under /api/v1 cannot tell the OpenAPI document themselves (web/openapi.py).

One `Operation` per endpoint name (`blueprint.view`): a Norwegian summary, query parameters, the
request body, the success answer and the codes of the error catalogue the endpoint can refuse
with. Paths, methods, path parameters, `security` and the error answers' statuses are derived;
the codes every route can answer (INVALID_REQUEST for a NUL in the path or query,
INTERNAL_ERROR), UNAUTHORIZED (login), FILE_TOO_LARGE (a body) and INVALID_REQUEST (a JSON body)
are added where they apply. A new route without an entry here fails
`tests/web/test_openapi_coverage.py`; an error a route answers in any web test that its entry
does not list fails that test (`tests/web/conftest.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from processor import codes
from processor.domain import (
    CASE_FORM_TYPES,
    DRAFT_FORM_TYPES,
    DRAFT_STATES,
    HF_FUNCTIONS,
    Outcome,
)
from processor.routing import CONFLICT_LEVELS


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def sign_off_step(**more: dict[str, Any]) -> dict[str, Any]:
    """One step of an HF sign-off (PORTAL.md), as a case and a draft show it; `more` are the
    draft's own keys."""
    return {
        "type": "object",
        "properties": {
            "funksjon": {"type": "string", "enum": [str(f) for f in HF_FUNCTIONS]},
            "bruker": {"type": "string"},
            "navn": {"type": "string"},
            **more,
            "begrunnelse": {"type": ["string", "null"]},
            "tidspunkt": {"type": "string", "format": "date-time"},
        },
    }


def json_schema(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@dataclass(frozen=True)
class Operation:
    summary: str
    answer: dict[str, Any] | None = None  # schema of the JSON success answer
    answer_text: str = "Svaret."
    status: int = 200  # of the success answer
    media: str = "application/json"  # of the success answer
    query: tuple[tuple[str, str, str], ...] = ()  # (name, JSON type, description)
    body: dict[str, Any] | None = None  # schema of the request body
    body_kind: Literal["json", "multipart"] = "json"
    body_required: bool = True
    errors: tuple[str, ...] = ()  # catalogue codes besides UNAUTHORIZED and INVALID_REQUEST
    fixed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # variable -> its values
    path_schema: dict[str, dict[str, Any]] = field(default_factory=dict)  # variable -> schema
    more: dict[str, Any] = field(default_factory=dict)  # other answers: status -> response


# ---- path parameters, by the rule's variable name -----------------------------------------------

PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "case_id": {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "Sakens id: referansenummeret (tilgang-del2) eller MMV-ÅÅÅÅ-NNN (mini-HTA).",
        "schema": {"type": "string"},
    },
    "meeting_id": {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "Møtets id.",
        "schema": {"type": "integer"},
    },
    "username": {
        "name": "brukernavn",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    },
    "draft_id": {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "Utkastets id (en ugjennomsiktig tekst).",
        "schema": {"type": "string"},
    },
    "form_id": {"name": "form_id", "in": "path", "required": True, "schema": {"type": "string"}},
    "fmt": {"name": "format", "in": "path", "required": True, "schema": {"type": "string"}},
}

# ---- shared schemas (components) ------------------------------------------------------------------

# The figures answers: the numbers, and when they were computed (services.figures keeps the last
# ones and computes newer ones in the background after a change).
FIGURES_SCHEMA = {
    "type": "object",
    "properties": {
        "saker_totalt": {"type": ["integer", "null"]},
        "beregnet": {
            "type": "string",
            "format": "date-time",
            "description": "Når tallene ble beregnet (ISO 8601).",
        },
        "oppdateres": {
            "type": "boolean",
            "description": "Alltid usann: tallene er alltid for sakene slik de er nå (beholdt for klientene).",
        },
    },
    "required": ["saker_totalt", "beregnet", "oppdateres"],
}

COMPONENT_SCHEMAS: dict[str, Any] = {
    "Finding": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "En kode fra x-error-codes."},
            "field": {"type": ["string", "null"]},
            "message": {"type": "string"},
            "etikett": {"type": ["string", "null"]},
        },
    },
    "CaseSummary": {
        "type": "object",
        "properties": {
            "sak": {"type": "string"},
            "type": {"type": "string", "enum": [str(t) for t in CASE_FORM_TYPES]},
            "tittel": {"type": "string"},
            "helseforetak": {"type": "string"},
            "status": {"type": "string"},
            "status_navn": {"type": "string"},
            "hast": {"type": "boolean"},
            "versjon": {"type": "integer"},
            "mottatt": {"type": "string", "format": "date-time"},
            "alder_dager": {"type": "integer"},
        },
    },
    "CaseState": {
        "type": "object",
        "properties": {
            "sak": {"type": "string"},
            "status": {"type": "string"},
            "status_navn": {"type": "string"},
            "hast": {"type": "boolean"},
        },
    },
    "Accepted": {
        "type": "object",
        "required": ["sak", "versjon", "status", "fil_sha256", "warnings"],
        "properties": {
            "sak": {"type": "string"},
            "versjon": {"type": "integer"},
            "status": {"const": "accepted"},
            "fil_sha256": {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": (
                    "SHA-256 av den opplastede filen. Filen lagres ikke; tjenesten beholder "
                    "skjemaets kanoniske JSON og denne summen."
                ),
            },
            "warnings": {"type": "array", "items": ref("Finding")},
        },
    },
    "CaseList": {
        "type": "object",
        "properties": {
            "saker": {"type": "array", "items": ref("CaseSummary")},
            "side": {"type": "integer"},
            "per_side": {"type": "integer"},
            "totalt": {"type": "integer"},
            "sider": {"type": "integer"},
        },
    },
    "Case": {
        "allOf": [ref("CaseSummary")],
        "type": "object",
        "properties": {
            "data": {"type": "object"},
            "seksjoner": {"type": "array", "items": {"type": "object"}},
            "versjoner": {"type": "array", "items": {"type": "object"}},
            "historikk": {"type": "array", "items": {"type": "object"}},
            "funn": {"type": "object"},
            "endringer": {"type": "array", "items": {"type": "object"}},
            "handlinger": {"type": "array", "items": {"type": "object"}},
            "utkast": {
                "type": ["string", "null"],
                "description": "Utkastet som sendte inn saken (PORTAL.md), ellers null.",
            },
            "godkjenninger": {
                "type": "array",
                "description": "Godkjenningene som sendte inn saken, bekreftet av tjenesten; "
                "tom for en opplastet fil (da er godkjenningene som filen oppgir).",
                "items": sign_off_step(),
            },
        },
    },
    "Figures": FIGURES_SCHEMA,
    "Draft": {
        "type": "object",
        "required": [
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
        ],
        "properties": {
            "id": {"type": "string"},
            "skjema": {"type": "string", "enum": [str(t) for t in DRAFT_FORM_TYPES]},
            "status": {"type": "string", "enum": [str(s) for s in DRAFT_STATES]},
            "status_navn": {"type": "string"},
            "versjon": {"type": "integer", "minimum": 1},
            "helseforetak": {"type": "string"},
            "verdier": {
                "type": "object",
                "description": "Felt-id → verdi slik den er lagret (tekst som skrevet, "
                "true/false for avkrysningsbokser).",
            },
            "errors": {"type": "array", "items": ref("Finding")},
            "warnings": {"type": "array", "items": ref("Finding")},
            "godkjenninger": {
                "type": "array",
                "description": "Hvert steg i rekkefølge, returer medregnet.",
                "items": sign_off_step(godkjent={"type": "boolean"}),
            },
            "sak": {"type": ["string", "null"]},
            "sha256": {
                "type": ["string", "null"],
                "description": "SHA-256 av det innsendte skjemaet C(data), når det er sendt inn.",
            },
        },
    },
    "DraftList": {
        "type": "object",
        "properties": {
            "utkast": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "skjema": {"type": "string"},
                        "status": {"type": "string"},
                        "versjon": {"type": "integer"},
                        "tittel": {"type": "string"},
                        "referanse": {"type": ["string", "null"]},
                        "oppdatert": {"type": "string", "format": "date-time"},
                    },
                },
            }
        },
    },
}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


OBJ: dict[str, Any] = {"type": "object"}
TEXT: dict[str, Any] = {"type": "string"}
# Text a person writes that the service keeps (a reason, a description, a note): too long is
# INVALID_VALUE, one holding an identity number IDENTITY_FOUND (FORMS.md section 6). web/openapi.py
# adds both codes to every operation whose body has such a field.
FREE_TEXT: dict[str, Any] = {"type": "string", "x-fritekst": True}
FIGURE_FILTERS = tuple((n, "string", "") for n in ("hf", "region", "ar", "fagomrade", "type"))
CRITERION = _object({"oppfylt": {"type": "boolean"}, "begrunnelse": FREE_TEXT}, ["oppfylt"])
DECISION = _object(
    {
        "utfall": {"type": "string", "enum": list(Outcome)},
        "kriterier": _object(
            {
                "okt_nytte": CRITERION,
                "hoyere_alvorlighet": CRITERION,
                "sarskilte_medisinske_arsaker": CRITERION,
            }
        ),
        "begrunnelse": FREE_TEXT,
        "deltakere": {"type": "array", "items": TEXT, "minItems": 4},
        "foreslar_gruppevurdering": {"type": "boolean"},
        "gruppevurdering_tekst": FREE_TEXT,
    },
    ["utfall", "kriterier", "begrunnelse", "deltakere"],
)
PUBLISHED_ITEM = _object(
    {
        "sak": TEXT,
        "tittel": TEXT,
        "helseforetak": TEXT,
        "ar": {"type": "integer"},
        "fagomrade": TEXT,
        "konklusjon": TEXT,
        "publisert": {"type": "string", "format": "date-time"},
    }
)
# An upload that is not accepted is answered with the code of its first finding
UPLOAD_FINDINGS = tuple(
    c for c, e in codes.CATALOGUE.items() if e.result in ("rejected", "incomplete")
)
# a filled-in form file sent as the multipart field `fil` (web/api.py, web/drafts_api.py)
FILE_BODY = _object(
    {"fil": {"type": "string", "contentMediaType": "application/octet-stream"}}, ["fil"]
)
# a case, meeting or assignment the user may not see is NOT_FOUND, one they may not act on FORBIDDEN
SEEN = ("FORBIDDEN", "NOT_FOUND")
CHANGE = (*SEEN, "STALE_STATE", "CASE_DECIDED", "REASON_REQUIRED")
LEVEL: dict[str, Any] = {"type": "string", "enum": list(CONFLICT_LEVELS)}

# a draft action: PORTAL.md section 3's order of checks, then its content
DRAFT_SEEN = ("FORBIDDEN", "NOT_FOUND")
DRAFT_CHANGE = (
    *DRAFT_SEEN,
    "FUNCTION_REQUIRED",
    "STALE_STATE",
    "INVALID_TRANSITION",
    "CONFLICT",
)
VERSION: dict[str, Any] = {"type": "integer", "minimum": 1}

# ---- the operations, by endpoint name ---------------------------------------------------------

OPERATIONS: dict[str, Operation] = {
    # web/api.py
    "api.submissions": Operation(
        "Send inn ett utfylt skjema; ?sak= knytter økonomiregnearket til sin mini-HTA",
        ref("Accepted"),
        "Saken er opprettet eller har fått ny versjon.",
        status=201,
        query=(("sak", "string", "Saken et senere mini-HTA-skjema hører til."),),
        body=FILE_BODY,
        body_kind="multipart",
        errors=(
            "FILE_MISSING",
            "FORBIDDEN",
            "UPLOADER_HF_MISMATCH",
            "CASE_MISMATCH",
            "CONFLICT_NOT_CLEARED",
            "REFERENCE_IN_USE",
            "SEQUENCE_EXHAUSTED",
            "CONFLICT",
            "TOO_MANY_REQUESTS",  # uploads per user (web.limits)
            *UPLOAD_FINDINGS,
        ),
    ),
    "api.cases": Operation(
        "Saker brukeren kan se, nyeste først",
        ref("CaseList"),
        "Én side med saker.",
        query=(
            ("type", "string", ""),
            ("status", "string", ""),
            ("hf", "string", ""),
            ("sok", "string", "Hele eller deler av saksnummeret (store og små bokstaver likt)."),
            ("side", "integer", ""),
        ),
        errors=("INVALID_VALUE",),
    ),
    "api.case": Operation(
        "Én sak: data, versjoner, historikk og funn",
        ref("Case"),
        "Saken.",
        errors=("NOT_FOUND", "VERSION_NOT_FOUND"),
    ),
    "api.post_transition": Operation(
        "Endre status; 409 når saken ikke lenger har status «fra»",
        ref("CaseState"),
        "Ny status.",
        body=_object({"fra": TEXT, "til": TEXT, "begrunnelse": FREE_TEXT}, ["fra", "til"]),
        errors=(*CHANGE, "INVALID_TRANSITION"),
    ),
    "api.urgent": Operation(
        "Merk som hastesak (koordinator)",
        ref("CaseState"),
        "Oppdatert.",
        body=_object({"hast": {"type": "boolean"}, "begrunnelse": FREE_TEXT}),
        errors=CHANGE,
    ),
    "api.record_price_check": Operation(
        "Bekreft eller korriger legemiddelkostnaden",
        ref("CaseState"),
        "Saken er klar for vurdering.",
        body=_object(
            {"legemiddel_per_maned": {"type": "number", "minimum": 0}, "merknad": FREE_TEXT},
            ["legemiddel_per_maned"],
        ),
        errors=(*CHANGE, "INVALID_TRANSITION"),
    ),
    "api.inbox": Operation(
        "Koordinatorens innboks, gruppert etter status", OBJ, "Innboksen.", errors=("FORBIDDEN",)
    ),
    "api.price_check_queue": Operation(
        "Saker som venter på priskontroll", OBJ, "Køen.", errors=("FORBIDDEN",)
    ),
    "api.template": Operation(
        "Blank mal; .json er skjemaets JSON Schema",
        answer_text="Malen.",
        media="application/octet-stream",
        path_schema={"fmt": {"type": "string", "enum": ["pdf", "docx", "xlsx", "json"]}},
        errors=("NOT_FOUND",),
    ),
    "api.healthz": Operation(
        "Database og fillager svarer",
        _object({"status": {"const": "ok"}}),
        "I orden.",
        more={"503": json_schema(_object({"status": {"const": "feil"}}), "Ikke i orden.")},
    ),
    # web/figures.py
    "figures_api.statistics_api": Operation(
        "Tallene i WORKFLOW.md §7 (koordinator): saker_totalt, per_status, per_type, "
        "behandlingstid, returer, utfall, grupper",
        ref("Figures"),
        "Tallene for utvalget.",
        query=FIGURE_FILTERS,
        errors=("FORBIDDEN", "INVALID_VALUE"),
    ),
    "figures_api.statistics_xlsx_api": Operation(
        "De samme tallene som regneark (koordinator)",
        answer_text="XLSX-fil.",
        media="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        query=FIGURE_FILTERS,
        errors=("FORBIDDEN", "INVALID_VALUE"),
    ),
    "figures_api.public_figures_api": Operation(
        "Offentlige samletall uten innlogging, bare for publiserte mini-metodevurderinger; "
        "celler under 5 saker, og celler som ville avsløre dem, er null",
        ref("Figures"),
        "Samletall.",
        query=(("ar", "string", "Årstall (fire sifre)."), ("type", "string", "Bare minihta.")),
        errors=("INVALID_VALUE",),
    ),
    # web/committee.py (issue 5: WORKFLOW.md 3–5)
    "committee_api.api_members": Operation(
        "Komitémedlemmene (koordinator, drift)", OBJ, "Medlemmene.", errors=("FORBIDDEN",)
    ),
    "committee_api.api_set_member": Operation(
        "Endre et komitémedlem: beslutningstaker, fagdirektør, vara, periode",
        OBJ,
        "Medlemmet.",
        body=_object(
            {
                "beslutningstaker": {"type": "boolean"},
                "fagdirektor": {"type": "boolean"},
                "vara_for": {"type": ["string", "null"]},
                "aktiv_fra": {"type": ["string", "null"], "format": "date"},
                "aktiv_til": {"type": ["string", "null"], "format": "date"},
            }
        ),
        errors=("FORBIDDEN", "USER_NOT_FOUND", "INVALID_VALUE"),
    ),
    "committee_api.api_meetings": Operation(
        "Møtene (koordinator: alle; komitémedlem: egne møter og egne saker)",
        OBJ,
        '{"moter": [...]}',
        errors=("FORBIDDEN",),
    ),
    "committee_api.api_create_meeting": Operation(
        "Opprett et møte (koordinator)",
        _object({"id": {"type": "integer"}}),
        "Møtet er opprettet.",
        status=201,
        body=_object(
            {
                "dato": {"type": "string", "format": "date"},
                "tid": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                "saksgrense": {"type": "integer", "default": 8},
            },
            ["dato", "tid"],
        ),
        errors=("FORBIDDEN", "MEETING_EXISTS", "INVALID_VALUE"),
    ),
    "committee_api.api_meeting": Operation(
        "Møteplanleggeren: deltakere, saker og beslutningsdyktighet per sak",
        OBJ,
        "Møtet.",
        errors=SEEN,
    ),
    "committee_api.api_update_meeting": Operation(
        "Endre saksgrensen, ta medlemmer ut av møtet eller inn igjen",
        OBJ,
        "Møtet.",
        body=_object(
            {
                "saksgrense": {"type": "integer"},
                "fjernet": {"type": "object", "additionalProperties": {"type": "boolean"}},
            }
        ),
        errors=(*SEEN, "INVALID_VALUE"),
    ),
    "committee_api.api_plan": Operation(
        "Sett opp klare saker etter planleggingsreglene (koordinator)",
        _object(
            {
                "plassert": {"type": "array", "items": TEXT},
                "ikke_plassert": {
                    "type": "array",
                    "items": _object({"sak": TEXT, "grunn": TEXT}),
                },
            }
        ),
        "Hva som ble satt opp, og hvorfor andre saker ikke ble det.",
        errors=(*SEEN, "STALE_STATE"),
    ),
    "committee_api.api_packet": Operation(
        "Møtepakken til innlogget komitémedlem (saker med inhabilitet er utelatt)",
        answer_text="ZIP: innkalling.pdf, sak-<id>.pdf, oversikt.xlsx, samlet.pdf.",
        media="application/zip",
        errors=SEEN,
    ),
    "committee_api.api_decision": Operation(
        "Vedtaket i saken (helseforetaket som søkte, og koordinator)",
        OBJ,
        "Vedtaket.",
        errors=SEEN,
    ),
    "committee_api.api_record_decision": Operation(
        "Registrer komitéens vedtak (koordinator); saken blir avgjort",
        OBJ,
        "Vedtaket er registrert; saken er avgjort.",
        status=201,
        body=DECISION,
        errors=(
            *SEEN,
            "STALE_STATE",
            "CASE_DECIDED",
            "INVALID_TRANSITION",
            "INVALID_DECISION",
        ),
    ),
    "committee_api.api_letter": Operation(
        "Vedtaksbrevet (helseforetaket som søkte, og koordinator)",
        answer_text="Brevet.",
        media="application/octet-stream",
        fixed={"fmt": ("pdf", "docx")},
        errors=SEEN,
    ),
    # web/minihta.py (issue 6: WORKFLOW.md section 6)
    "minihta_api.assignments": Operation(
        "Fagfelletildelingene i saken, med habilitet (koordinator)",
        OBJ,
        '{"sak", "tildelinger": [...]}',
        errors=SEEN,
    ),
    "minihta_api.assign": Operation(
        "Tildel en fagfelle (koordinator); «begrunnelse» kreves ved overstyring. "
        "Saken går fra «Mottatt» til «Til fagfellevurdering».",
        OBJ,
        '{"sak", "fagfelle", "overstyrt", "status"}',
        body=_object({"fagfelle": TEXT, "begrunnelse": FREE_TEXT}),
        errors=(
            *SEEN,
            "STALE_STATE",
            "ALREADY_ASSIGNED",
            "NO_REVIEWER",
            "OVERRIDE_NOT_ALLOWED",
            "REASON_REQUIRED",
        ),
    ),
    "minihta_api.declare_conflict": Operation(
        "Den tildelte fagfellen erklærer habilitet: grønn, gul (beskrevet) eller rød "
        "(avslutter tildelingen). Habiliteten kan heves, men ikke senkes av fagfellen selv "
        "(403 FORBIDDEN); bare koordinatoren kan senke den.",
        OBJ,
        '{"sak", "niva", "aktiv", "godkjent"}',
        body=_object(
            {"niva": LEVEL, "beskrivelse": FREE_TEXT},
            ["niva"],
        ),
        errors=(
            *SEEN,
            "INVALID_TRANSITION",
            "REQUIRED",
            "CONFLICT",
        ),
    ),
    "minihta_api.lower_conflict": Operation(
        "Senk den aktive fagfellens erklærte habilitet, for eksempel fra gul til grønn "
        "(koordinator, med begrunnelse)",
        OBJ,
        '{"sak", "fagfelle", "niva"}',
        body=_object(
            {"niva": LEVEL, "begrunnelse": FREE_TEXT},
            ["niva", "begrunnelse"],
        ),
        errors=(
            *SEEN,
            "REASON_REQUIRED",
            "INVALID_TRANSITION",
            "CONFLICT",
        ),
    ),
    "minihta_api.approve_conflict": Operation(
        "Godkjenn fagfellens gule habilitet (koordinator)",
        OBJ,
        '{"sak", "fagfelle", "niva", "godkjent"}',
        errors=(*SEEN, "NOTHING_TO_APPROVE", "CONFLICT"),
    ),
    "minihta_api.reviewer_packet": Operation(
        "Fagfellepakken (den tildelte fagfellen, med grønn eller godkjent gul habilitet)",
        answer_text="ZIP-filen.",
        media="application/zip",
        errors=SEEN,
    ),
    "minihta_api.my_cases": Operation(
        "Mini-metodevurderingene som er tildelt meg (fagfelle)",
        OBJ,
        '{"saker": [...]}',
        errors=("FORBIDDEN",),
    ),
    # web/public.py: the public database of published mini-HTAs, no login
    "public_api.published_api": Operation(
        "Søk i publiserte mini-metodevurderinger (åpent)",
        _object(
            {"antall": {"type": "integer"}, "publisert": {"type": "array", "items": PUBLISHED_ITEM}}
        ),
        "Treffene, nyeste først.",
        query=(
            ("q", "string", "Fritekstsøk."),
            ("hf", "string", "Helseforetakets kode."),
            ("ar", "string", "Årstall (fire sifre)."),
            ("fagomrade", "string", "Fagområde."),
            ("konklusjon", "string", "Konklusjon."),
        ),
        errors=("INVALID_VALUE",),
    ),
    "public_api.feed_api": Operation(
        "Atom-strøm med nye publiseringer (åpent)",
        answer_text="Atom-strømmen.",
        media="application/atom+xml",
    ),
    "public_api.published_case_api": Operation(
        "Én publisert mini-metodevurdering (åpent)",
        OBJ,
        "Publikasjonen.",
        errors=("NOT_FOUND",),
    ),
    # web/drafts_api.py: drafts and sign-off in the HF (PORTAL.md)
    "drafts_api.create": Operation(
        "Lag et nytt utkast (tilgang-del2 eller minihta)",
        ref("Draft"),
        "Utkastet.",
        status=201,
        body=_object(
            {"skjema": {"type": "string", "enum": [str(t) for t in DRAFT_FORM_TYPES]}}, ["skjema"]
        ),
        errors=("FORBIDDEN", "INVALID_VALUE"),
    ),
    "drafts_api.import_file": Operation(
        "Lag et utkast av en utfylt skjemafil (leses som en innsending; filen lagres ikke)",
        ref("Draft"),
        "Utkastet.",
        status=201,
        body=FILE_BODY,
        body_kind="multipart",
        errors=(
            "FORBIDDEN",
            "FILE_MISSING",
            "UPLOAD_NOT_SUPPORTED",
            "UPLOADER_HF_MISMATCH",
            "TOO_MANY_REQUESTS",
            *UPLOAD_FINDINGS,
        ),
    ),
    "drafts_api.list_drafts": Operation(
        "Helseforetakets utkast, sist endret først; ?status=til_linjeleder er linjelederens innboks",
        ref("DraftList"),
        "Utkastene.",
        query=(
            ("status", "string", "Bare utkast med denne statusen."),
            ("skjema", "string", "Bare utkast av dette skjemaet."),
        ),
        errors=("FORBIDDEN", "INVALID_VALUE"),
    ),
    "drafts_api.show": Operation(
        "Ett utkast: verdier, funn og godkjenninger",
        ref("Draft"),
        "Utkastet.",
        errors=DRAFT_SEEN,
    ),
    "drafts_api.save": Operation(
        'Lagre felt i et utkast ("" eller null tømmer et felt)',
        ref("Draft"),
        "Utkastet.",
        body=_object(
            {"versjon": VERSION, "verdier": {"type": "object", "x-fritekst": True}},
            ["versjon", "verdier"],
        ),
        errors=(*DRAFT_CHANGE, "UPLOADER_HF_MISMATCH"),
    ),
    "drafts_api.send": Operation(
        "Send utkastet til linjelederen (lege); en mini-HTA sendes inn med en gang",
        ref("Draft"),
        "Utkastet.",
        body=_object({"versjon": VERSION}, ["versjon"]),
        errors=(
            *DRAFT_CHANGE,
            "DRAFT_INCOMPLETE",
            "REFERENCE_IN_USE",
            "UPLOADER_HF_MISMATCH",
            "SEQUENCE_EXHAUSTED",
        ),
    ),
    "drafts_api.approval": Operation(
        "Godkjenn eller send tilbake (linjeleder, fagdirektør); fagdirektørens godkjenning sender inn",
        ref("Draft"),
        "Utkastet.",
        body=_object(
            {
                "versjon": VERSION,
                "funksjon": {"type": "string", "enum": ["linjeleder", "fagdirektor"]},
                "godkjent": {"type": "boolean"},
                "begrunnelse": FREE_TEXT,
            },
            ["versjon", "funksjon", "godkjent", "begrunnelse"],
        ),
        errors=(
            *DRAFT_CHANGE,
            "FOUR_EYES",
            "REASON_REQUIRED",
            "DRAFT_INCOMPLETE",
            "REFERENCE_IN_USE",
            "UPLOADER_HF_MISMATCH",
        ),
    ),
    "drafts_api.receipt": Operation(
        "Kvitteringen for et innsendt utkast (PDF)",
        answer_text="Kvitteringen.",
        media="application/pdf",
        errors=DRAFT_SEEN,
    ),
    "drafts_api.delete": Operation(
        "Slett et utkast (bare revisjonsloggen beholder at det fantes)",
        answer_text="Slettet.",
        status=204,
        media="",
        query=(("versjon", "integer", "Versjonen du så."),),
        errors=DRAFT_CHANGE,
    ),
}
