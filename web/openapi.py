"""The OpenAPI 3.1 description of the API, built as a Python dict (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any

# The figures answers: the numbers, and when they were computed (storage.figures keeps the last
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
            "description": "Sann når sakene er endret siden, og nye tall beregnes nå.",
        },
    },
    "required": ["saker_totalt", "beregnet", "oppdateres"],
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


SAK_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "Sakens id: referansenummeret (tilgang-del2) eller MMV-ÅÅÅÅ-NNN (mini-HTA).",
    "schema": {"type": "string"},
}
AUTH_ERRORS = {
    "401": _error("Mangler eller ugyldig tilgangsnøkkel."),
    "403": _error("Rollen har ikke tilgang."),
}


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    finding = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "field": {"type": ["string", "null"]},
            "message": {"type": "string"},
            "etikett": {"type": ["string", "null"]},
        },
    }
    summary = {
        "type": "object",
        "properties": {
            "sak": {"type": "string"},
            "type": {"type": "string", "enum": ["tilgang-del2", "minihta"]},
            "tittel": {"type": "string"},
            "helseforetak": {"type": "string"},
            "status": {"type": "string"},
            "status_navn": {"type": "string"},
            "hast": {"type": "boolean"},
            "versjon": {"type": "integer"},
            "mottatt": {"type": "string", "format": "date-time"},
            "alder_dager": {"type": "integer"},
        },
    }
    change = {
        "type": "object",
        "properties": {
            "sak": {"type": "string"},
            "status": {"type": "string"},
            "status_navn": {"type": "string"},
            "hast": {"type": "boolean"},
        },
    }
    bearer = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Skjemamottak – Nye metoder",
            "version": "1",
            "description": "Mottak av søknader om individuell tilgang og mini-metodevurderinger.",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                        "status": {"type": "string"},
                        "errors": {"type": "array", "items": _ref("Finding")},
                        "warnings": {"type": "array", "items": _ref("Finding")},
                    },
                },
                "Finding": finding,
                "CaseSummary": summary,
                "CaseState": change,
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
                                "SHA-256 av den opplastede filen. Filen lagres ikke; tjenesten "
                                "beholder skjemaets kanoniske JSON og denne summen."
                            ),
                        },
                        "warnings": {"type": "array", "items": _ref("Finding")},
                    },
                },
                "CaseList": {
                    "type": "object",
                    "properties": {
                        "saker": {"type": "array", "items": _ref("CaseSummary")},
                        "side": {"type": "integer"},
                        "per_side": {"type": "integer"},
                        "totalt": {"type": "integer"},
                        "sider": {"type": "integer"},
                    },
                },
                "Case": {
                    "allOf": [_ref("CaseSummary")],
                    "type": "object",
                    "properties": {
                        "data": {"type": "object"},
                        "seksjoner": {"type": "array", "items": {"type": "object"}},
                        "versjoner": {"type": "array", "items": {"type": "object"}},
                        "historikk": {"type": "array", "items": {"type": "object"}},
                        "funn": {"type": "object"},
                        "endringer": {"type": "array", "items": {"type": "object"}},
                        "handlinger": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
        "paths": {
            "/innsendinger": {
                "post": {
                    "summary": "Send inn ett utfylt skjema",
                    "security": bearer,
                    "parameters": [
                        {"name": "sak", "in": "query", "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["fil"],
                                    "properties": {
                                        "fil": {
                                            "type": "string",
                                            "contentMediaType": "application/octet-stream",
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json(
                            _ref("Accepted"), "Saken er opprettet eller har fått ny versjon."
                        ),
                        "409": _error("REFERENCE_IN_USE"),
                        "413": _error("FILE_TOO_LARGE"),
                        "422": _error("Skjemaet er ufullstendig eller avvist (errors, warnings)."),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/statistikk": {
                "get": {
                    "summary": "Tallene i WORKFLOW.md §7 (koordinator): saker_totalt, per_status, "
                    "per_type, behandlingstid, returer, utfall, grupper",
                    "security": bearer,
                    "parameters": [
                        {"name": n, "in": "query", "schema": {"type": "string"}}
                        for n in ("hf", "region", "ar", "fagomrade", "type")
                    ],
                    "responses": {
                        "200": _json(FIGURES_SCHEMA, "Tallene for utvalget."),
                        "422": _error("Ugyldig filter."),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/statistikk.xlsx": {
                "get": {
                    "summary": "De samme tallene som regneark (koordinator)",
                    "security": bearer,
                    "parameters": [
                        {"name": n, "in": "query", "schema": {"type": "string"}}
                        for n in ("hf", "region", "ar", "fagomrade", "type")
                    ],
                    "responses": {"200": {"description": "XLSX-fil."}, **AUTH_ERRORS},
                }
            },
            "/tall": {
                "get": {
                    "summary": "Offentlige samletall uten innlogging; celler under 5 saker er null",
                    "parameters": [
                        {"name": n, "in": "query", "schema": {"type": "string"}}
                        for n in ("ar", "type")
                    ],
                    "responses": {
                        "200": _json(FIGURES_SCHEMA, "Samletall."),
                        "422": _error("Ugyldig filter."),
                    },
                }
            },
            "/saker": {
                "get": {
                    "summary": "Saker brukeren kan se, nyeste først",
                    "security": bearer,
                    "parameters": [
                        {"name": n, "in": "query", "schema": {"type": t}}
                        for n, t in (
                            ("type", "string"),
                            ("status", "string"),
                            ("hf", "string"),
                            ("side", "integer"),
                        )
                    ],
                    "responses": {
                        "200": _json(_ref("CaseList"), "Én side med saker."),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/saker/{id}": {
                "get": {
                    "summary": "Én sak: data, versjoner, historikk og funn",
                    "security": bearer,
                    "parameters": [SAK_ID],
                    "responses": {
                        "200": _json(_ref("Case"), "Saken."),
                        "404": _error("Fant ikke saken."),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/saker/{id}/overgang": {
                "post": {
                    "summary": "Endre status",
                    "security": bearer,
                    "parameters": [SAK_ID],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["fra", "til"],
                                    "properties": {
                                        "fra": {"type": "string"},
                                        "til": {"type": "string"},
                                        "begrunnelse": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(_ref("CaseState"), "Ny status."),
                        "404": _error("Fant ikke saken."),
                        "409": _error(
                            "STALE_STATE: saken har ikke lenger status «fra»; CASE_DECIDED: "
                            "saken er avgjort og kan ikke endres."
                        ),
                        "422": _error("Ugyldig overgang eller manglende begrunnelse."),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/saker/{id}/priskontroll": {
                "post": {
                    "summary": "Bekreft eller korriger legemiddelkostnaden",
                    "security": bearer,
                    "parameters": [SAK_ID],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["legemiddel_per_maned"],
                                    "properties": {
                                        "legemiddel_per_maned": {"type": "number", "minimum": 0},
                                        "merknad": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(_ref("CaseState"), "Saken er klar for vurdering."),
                        "404": _error("Fant ikke saken."),
                        "409": _error("STALE_STATE eller CASE_DECIDED"),
                        "422": _error("Ugyldig beløp eller manglende merknad."),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/saker/{id}/hast": {
                "post": {
                    "summary": "Merk som hastesak (koordinator)",
                    "security": bearer,
                    "parameters": [SAK_ID],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "hast": {"type": "boolean"},
                                        "begrunnelse": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(_ref("CaseState"), "Oppdatert."),
                        **AUTH_ERRORS,
                        "409": _error("CASE_DECIDED: saken er avgjort og kan ikke endres."),
                    },
                }
            },
            "/innboks": {
                "get": {
                    "summary": "Koordinatorens innboks, gruppert etter status",
                    "security": bearer,
                    "responses": {"200": _json({"type": "object"}, "Innboksen."), **AUTH_ERRORS},
                }
            },
            "/priskontroll": {
                "get": {
                    "summary": "Saker som venter på priskontroll",
                    "security": bearer,
                    "responses": {"200": _json({"type": "object"}, "Køen."), **AUTH_ERRORS},
                }
            },
            "/maler/{form_id}.{format}": {
                "get": {
                    "summary": "Blank mal; .json er skjemaets JSON Schema",
                    "parameters": [
                        {
                            "name": "form_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "format",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": ["pdf", "docx", "xlsx", "json"]},
                        },
                    ],
                    "responses": {
                        "200": {"description": "Malen."},
                        "404": _error("Ukjent skjema eller format."),
                    },
                }
            },
            **_committee_paths(),
            **_minihta_paths(),
            **_public_paths(),
            "/healthz": {
                "get": {
                    "summary": "Database og fillager svarer",
                    "responses": {
                        "200": _json({"type": "object"}, "I orden."),
                        "503": _json({"type": "object"}, "Ikke i orden."),
                    },
                }
            },
        },
    }


MOTE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "Møtets id.",
    "schema": {"type": "integer"},
}


def _committee_paths() -> dict[str, Any]:
    """Issue 5: the committee, meetings, planning, packets and decisions (WORKFLOW.md 3–5)."""
    obj = {"type": "object"}
    criterion = {
        "type": "object",
        "required": ["oppfylt"],
        "properties": {"oppfylt": {"type": "boolean"}, "begrunnelse": {"type": "string"}},
    }
    decision = {
        "type": "object",
        "required": ["utfall", "kriterier", "begrunnelse", "deltakere"],
        "properties": {
            "utfall": {"type": "string", "enum": ["innvilget", "avslatt"]},
            "kriterier": {
                "type": "object",
                "properties": {
                    "okt_nytte": criterion,
                    "hoyere_alvorlighet": criterion,
                    "sarskilte_medisinske_arsaker": criterion,
                },
            },
            "begrunnelse": {"type": "string"},
            "deltakere": {"type": "array", "items": {"type": "string"}, "minItems": 4},
            "foreslar_gruppevurdering": {"type": "boolean"},
            "gruppevurdering_tekst": {"type": "string"},
        },
    }
    letter = {
        "get": {
            "summary": "Vedtaksbrevet (helseforetaket som søkte, og koordinator)",
            "parameters": [SAK_ID],
            "responses": {
                "200": {"description": "Brevet."},
                **AUTH_ERRORS,
                "404": _error("Ukjent sak, eller saken har ikke vedtak."),
            },
        }
    }
    return {
        "/komite": {
            "get": {
                "summary": "Komitémedlemmene (koordinator, drift)",
                "responses": {"200": _json(obj, "Medlemmene."), **AUTH_ERRORS},
            }
        },
        "/komite/{brukernavn}": {
            "post": {
                "summary": "Endre et komitémedlem: beslutningstaker, fagdirektør, vara, periode",
                "parameters": [
                    {
                        "name": "brukernavn",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "beslutningstaker": {"type": "boolean"},
                                    "fagdirektor": {"type": "boolean"},
                                    "vara_for": {"type": ["string", "null"]},
                                    "aktiv_fra": {"type": ["string", "null"], "format": "date"},
                                    "aktiv_til": {"type": ["string", "null"], "format": "date"},
                                },
                            }
                        }
                    }
                },
                "responses": {
                    "200": _json(obj, "Medlemmet."),
                    **AUTH_ERRORS,
                    "404": _error("Ikke et komitémedlem."),
                    "422": _error("Ugyldig verdi."),
                },
            }
        },
        "/moter": {
            "get": {
                "summary": "Møtene (koordinator: alle; komitémedlem: egne møter og egne saker)",
                "responses": {"200": _json(obj, '{"moter": [...]}'), **AUTH_ERRORS},
            },
            "post": {
                "summary": "Opprett et møte (koordinator)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["dato", "tid"],
                                "properties": {
                                    "dato": {"type": "string", "format": "date"},
                                    "tid": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                                    "saksgrense": {"type": "integer", "default": 8},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(
                        {"type": "object", "properties": {"id": {"type": "integer"}}},
                        "Møtet er opprettet.",
                    ),
                    **AUTH_ERRORS,
                    "409": _error("Det finnes allerede et møte på samme tid."),
                    "422": _error("Ugyldig dato, tid eller saksgrense."),
                },
            },
        },
        "/moter/{id}": {
            "get": {
                "summary": "Møteplanleggeren: deltakere, saker og beslutningsdyktighet per sak",
                "parameters": [MOTE_ID],
                "responses": {
                    "200": _json(obj, "Møtet."),
                    **AUTH_ERRORS,
                    "404": _error("Ukjent møte."),
                },
            },
            "patch": {
                "summary": "Endre saksgrensen, ta medlemmer ut av møtet eller inn igjen",
                "parameters": [MOTE_ID],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "saksgrense": {"type": "integer"},
                                    "fjernet": {
                                        "type": "object",
                                        "additionalProperties": {"type": "boolean"},
                                    },
                                },
                            }
                        }
                    }
                },
                "responses": {"200": _json(obj, "Møtet."), **AUTH_ERRORS},
            },
        },
        "/moter/{id}/planlegg": {
            "post": {
                "summary": "Sett opp klare saker etter planleggingsreglene (koordinator)",
                "parameters": [MOTE_ID],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "plassert": {"type": "array", "items": {"type": "string"}},
                                "ikke_plassert": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "sak": {"type": "string"},
                                            "grunn": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                        "Hva som ble satt opp, og hvorfor andre saker ikke ble det.",
                    ),
                    **AUTH_ERRORS,
                    "404": _error("Ukjent møte."),
                    "409": _error("Noen andre endret sakene samtidig."),
                },
            }
        },
        "/moter/{id}/pakke.zip": {
            "get": {
                "summary": "Møtepakken til innlogget komitémedlem (saker med inhabilitet er utelatt)",
                "parameters": [MOTE_ID],
                "responses": {
                    "200": {
                        "description": "ZIP: innkalling.pdf, sak-<id>.pdf, oversikt.xlsx, samlet.pdf."
                    },
                    **AUTH_ERRORS,
                    "404": _error("Ukjent møte."),
                },
            }
        },
        "/saker/{id}/vedtak": {
            "get": {
                "summary": "Vedtaket i saken (helseforetaket som søkte, og koordinator)",
                "parameters": [SAK_ID],
                "responses": {"200": _json(obj, "Vedtaket."), **AUTH_ERRORS},
            },
            "post": {
                "summary": "Registrer komitéens vedtak (koordinator); saken blir avgjort",
                "parameters": [SAK_ID],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": decision}},
                },
                "responses": {
                    "201": _json(obj, "Vedtaket er registrert; saken er avgjort."),
                    **AUTH_ERRORS,
                    "404": _error("Ukjent sak."),
                    "409": _error("Saken er allerede avgjort."),
                    "422": _error("Vedtaket er ufullstendig, eller saken er ikke satt opp."),
                },
            },
        },
        "/saker/{id}/vedtak.pdf": letter,
        "/saker/{id}/vedtak.docx": letter,
    }


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _minihta_paths() -> dict[str, Any]:
    """Issue 6: peer review of mini-HTAs (WORKFLOW.md section 6)."""
    obj = {"type": "object"}
    bearer = [{"bearer": []}]
    text = {"type": "string"}
    not_found = _error("Ukjent sak, eller en sak du ikke har tilgang til.")
    return {
        "/saker/{id}/fagfelle": {
            "get": {
                "summary": "Fagfelletildelingene i saken, med habilitet (koordinator)",
                "security": bearer,
                "parameters": [SAK_ID],
                "responses": {"200": _json(obj, '{"sak", "tildelinger": [...]}'), **AUTH_ERRORS},
            },
            "post": {
                "summary": "Tildel en fagfelle (koordinator); «begrunnelse» kreves ved overstyring. "
                "Saken går fra «Mottatt» til «Til fagfellevurdering».",
                "security": bearer,
                "parameters": [SAK_ID],
                "requestBody": _body({"fagfelle": text, "begrunnelse": text}),
                "responses": {
                    "200": _json(obj, '{"sak", "fagfelle", "overstyrt", "status"}'),
                    **AUTH_ERRORS,
                    "404": not_found,
                    "409": _error("Saken er ikke lenger «Mottatt», eller den er avgjort."),
                    "422": _error("REASON_REQUIRED, OVERRIDE_NOT_ALLOWED, NO_REVIEWER m.fl."),
                },
            },
        },
        "/saker/{id}/habilitet": {
            "post": {
                "summary": "Den tildelte fagfellen erklærer habilitet: grønn, gul (beskrevet) "
                "eller rød (avslutter tildelingen)",
                "security": bearer,
                "parameters": [SAK_ID],
                "requestBody": _body(
                    {
                        "niva": {"type": "string", "enum": ["gronn", "gul", "rod"]},
                        "beskrivelse": text,
                    },
                    ["niva"],
                ),
                "responses": {
                    "200": _json(obj, '{"sak", "niva", "aktiv", "godkjent"}'),
                    **AUTH_ERRORS,
                    "404": not_found,
                    "422": _error("Ugyldig nivå, eller gul habilitet uten beskrivelse."),
                },
            }
        },
        "/saker/{id}/habilitet/godkjenn": {
            "post": {
                "summary": "Godkjenn fagfellens gule habilitet (koordinator)",
                "security": bearer,
                "parameters": [SAK_ID],
                "responses": {
                    "200": _json(obj, '{"sak", "fagfelle", "niva", "godkjent"}'),
                    **AUTH_ERRORS,
                    "404": not_found,
                    "422": _error("Det finnes ingen gul habilitet å godkjenne."),
                },
            }
        },
        "/saker/{id}/fagfellepakke.zip": {
            "get": {
                "summary": "Fagfellepakken (den tildelte fagfellen, med grønn eller godkjent gul "
                "habilitet)",
                "security": bearer,
                "parameters": [SAK_ID],
                "responses": {
                    "200": {
                        "description": "ZIP-filen.",
                        "content": {"application/zip": {}},
                    },
                    **AUTH_ERRORS,
                    "404": not_found,
                    "422": _error("Habiliteten er ikke erklært eller ikke godkjent."),
                },
            }
        },
        "/fagfelle/saker": {
            "get": {
                "summary": "Mini-metodevurderingene som er tildelt meg (fagfelle)",
                "security": bearer,
                "responses": {"200": _json(obj, '{"saker": [...]}'), **AUTH_ERRORS},
            }
        },
    }


def _public_paths() -> dict[str, Any]:
    """The public database of published mini-HTAs: no login."""
    item = {
        "type": "object",
        "properties": {
            "sak": {"type": "string"},
            "tittel": {"type": "string"},
            "helseforetak": {"type": "string"},
            "ar": {"type": "integer"},
            "fagomrade": {"type": "string"},
            "konklusjon": {"type": "string"},
            "publisert": {"type": "string", "format": "date-time"},
        },
    }
    query = [
        {"name": name, "in": "query", "description": text, "schema": {"type": "string"}}
        for name, text in (
            ("q", "Fritekstsøk."),
            ("hf", "Helseforetakets kode."),
            ("ar", "Årstall (fire sifre)."),
            ("fagomrade", "Fagområde."),
            ("konklusjon", "Konklusjon."),
        )
    ]
    return {
        "/publisert": {
            "get": {
                "summary": "Søk i publiserte mini-metodevurderinger (åpent)",
                "security": [],
                "parameters": query,
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "antall": {"type": "integer"},
                                "publisert": {"type": "array", "items": item},
                            },
                        },
                        "Treffene, nyeste først.",
                    ),
                    "422": _error("Ugyldig filter."),
                },
            }
        },
        "/publisert.atom": {
            "get": {
                "summary": "Atom-strøm med nye publiseringer (åpent)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Atom-strømmen.",
                        "content": {"application/atom+xml": {}},
                    }
                },
            }
        },
        "/publisert/{id}": {
            "get": {
                "summary": "Én publisert mini-metodevurdering (åpent)",
                "security": [],
                "parameters": [SAK_ID],
                "responses": {
                    "200": _json({"type": "object"}, "Publikasjonen."),
                    "404": _error("Ukjent eller ikke publisert sak."),
                },
            }
        },
    }
