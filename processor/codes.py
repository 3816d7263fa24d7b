"""The one error catalogue: every code the service can give, with its HTTP status and message.

Three kinds of codes live here, each exactly once:

- the findings of FORMS.md section 8, with the result status each causes (`rejected`,
  `incomplete`, `warning`, `refused`); a finding of a file that is not accepted is answered with
  the HTTP status of its first error;
- the service's own refusals (`processor.errors.DomainError`): NOT_FOUND, STALE_STATE, ...;
- the codes the web layer gives to HTTP errors that the framework raises (401, 404, 405, 413,
  429, a failed CSRF check, 500).

A code has one HTTP status wherever it is answered. A code outside the catalogue is a
programming error: `lookup` refuses it, and so do `DomainError` and `finding`. Codes are part of
the contract (FORMS.md section 8, API.md): never rename one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

ResultStatus = Literal["rejected", "incomplete", "warning", "refused"]


@dataclass(frozen=True)
class ErrorCode:
    code: str
    # The HTTP status of an answer whose `error.code` is this code; None for a code that only
    # ever comes as a warning beside an accepted file (never an error answer).
    http_status: int | None
    message: str  # the default Norwegian message; a refusal may give a more precise one
    result: ResultStatus | None = None  # FORMS.md section 8: the status the finding causes


class UnknownCode(ValueError):
    """A code that is not in the catalogue: a programming error, never a user's."""


def _entries() -> tuple[ErrorCode, ...]:
    e = ErrorCode
    return (
        # ---- FORMS.md section 8: findings of a processed file -----------------------------
        e("FILE_EMPTY", 422, "Filen er tom.", "rejected"),
        e("FILE_TOO_LARGE", 413, "Filen er for stor.", "rejected"),
        e(
            "FILE_TYPE_UNSUPPORTED",
            422,
            "Filtypen støttes ikke. Send PDF, DOCX, XLSX eller JSON, og la filnavnet passe til "
            "innholdet.",
            "rejected",
        ),
        e("FILE_CORRUPT", 422, "Filen er skadet eller kan ikke leses.", "rejected"),
        e(
            "FILE_ENCRYPTED",
            422,
            "Filen er passordbeskyttet eller kryptert. Send en ukryptert fil.",
            "rejected",
        ),
        e(
            "FILE_MACROS",
            422,
            "Filen inneholder makroer. Lagre den som vanlig DOCX eller XLSX.",
            "rejected",
        ),
        e(
            "FILE_NO_FORM_FIELDS",
            422,
            "Filen har ingen skjemafelt (for eksempel en skannet eller flatet PDF). "
            "Bruk den utfyllbare malen.",
            "rejected",
        ),
        e(
            "FORM_UNKNOWN",
            422,
            "Filen har skjemafelt, men er ikke et av skjemaene til Nye metoder.",
            "rejected",
        ),
        e("FORM_VERSION_UNSUPPORTED", 422, "Denne versjonen av skjemaet støttes ikke.", "rejected"),
        e(
            "DEL1_NOT_ALLOWED",
            422,
            "Dette er del 1 av søknaden. Del 1 skal oppbevares i pasientens journal og aldri "
            "sendes inn.",
            "rejected",
        ),
        e(
            "IDENTITY_FOUND",
            422,
            "Filen inneholder et fødselsnummer eller annet personnummer. Fjern det og send på nytt.",
            "rejected",
        ),
        e("REQUIRED", 422, "Feltet må fylles ut.", "incomplete"),
        e("INVALID_VALUE", 422, "Verdien er ugyldig.", "incomplete"),
        e("REFERENCE_INVALID", 422, "Referansenummeret er ugyldig.", "incomplete"),
        e(
            "REFERENCE_HF_MISMATCH",
            422,
            "Helseforetaket i referansenummeret er ikke det samme som helseforetaket søknaden "
            "sendes fra.",
            "incomplete",
        ),
        e(
            "CONSENT_MISSING",
            422,
            "Det er ikke bekreftet at pasienten har gitt samtykke.",
            "incomplete",
        ),
        e("NO_CRITERION", 422, "Minst ett av de tre kriteriene må være krysset av.", "incomplete"),
        e(
            "JUSTIFICATION_MISSING",
            422,
            "Kriteriet er krysset av, men mangler begrunnelse.",
            "incomplete",
        ),
        e("LITERATURE_MISSING", 422, "Litteratur mangler.", "incomplete"),
        e("APPROVAL_MISSING", 422, "Godkjenningen mangler.", "incomplete"),
        e(
            "LABEL_FALLBACK",
            None,
            "Skjemaet er lest ut fra ledetekster fordi det mangler innholdskontroller. "
            "Kontroller verdiene manuelt.",
            "warning",
        ),
        e(
            "CASE_MISMATCH",
            422,
            "Saks-ID-en passer ikke til en sak du kan sende inn for.",
            "refused",
        ),
        e(
            "UPLOADER_HF_MISMATCH",
            403,
            "Skjemaet gjelder et annet helseforetak enn ditt.",
            "refused",
        ),
        e(
            "FORMULA_NOT_CACHED",
            422,
            "En formelcelle i regnearket har ingen beregnet verdi. Åpne filen i Excel eller "
            "LibreOffice, lagre den og send på nytt.",
            "incomplete",
        ),
        # ---- the service's refusals (processor.errors.DomainError) -------------------------
        e("NOT_FOUND", 404, "Fant ikke saken."),
        e("VERSION_NOT_FOUND", 404, "Fant ikke versjonen av saken."),
        e("USER_NOT_FOUND", 404, "Fant ikke brukeren."),
        e("FORBIDDEN", 403, "Du har ikke tilgang til å gjøre dette."),
        e(
            "REFERENCE_IN_USE",
            409,
            "Referansenummeret er allerede brukt av en annen sak. En ny søknad fra samme avdeling "
            "samme dag får et løpenummer til slutt i referansen, for eksempel -2.",
        ),
        e(
            "STALE_STATE",
            409,
            "Saken er endret av noen andre siden du åpnet den. Last siden på nytt og prøv igjen.",
        ),
        e("CONFLICT", 409, "Noen andre endret det samme samtidig. Prøv igjen."),
        e("USER_EXISTS", 409, "Det finnes allerede en bruker med dette brukernavnet."),
        e(
            "SEQUENCE_EXHAUSTED",
            409,
            "Det er ikke flere ledige saksnumre for mini-metodevurderinger i år.",
        ),
        e("CASE_DECIDED", 409, "Saken er avgjort og kan ikke endres."),
        e("MEETING_EXISTS", 409, "Det finnes allerede et møte på samme tid."),
        e("INVALID_TRANSITION", 422, "Denne statusendringen er ikke tillatt."),
        e("REASON_REQUIRED", 422, "Du må skrive en begrunnelse."),
        # ---- drafts and sign-off (PORTAL.md) ---------------------------------------------
        e(
            "DRAFT_INCOMPLETE",
            422,
            "Utkastet er ikke ferdig utfylt. Rett feilene under før du sender det videre.",
        ),
        e(
            "FOUR_EYES",
            403,
            "Den som har skrevet utkastet, linjelederen og fagdirektøren må være tre ulike "
            "personer.",
        ),
        e("FUNCTION_REQUIRED", 403, "Du har ikke funksjonen som trengs for dette steget."),
        e(
            "UPLOAD_NOT_SUPPORTED",
            422,
            "Bare søknad om individuell tilgang (del 2) og mini-metodevurdering kan bli utkast.",
        ),
        e("INVALID_REQUEST", 422, "Forespørselen har feil innhold."),
        e("FILE_MISSING", 422, "Velg en fil å sende inn (feltet «fil»)."),
        e("INVALID_DECISION", 422, "Vedtaket er ufullstendig."),
        e("ALREADY_ASSIGNED", 422, "Saken har allerede en fagfelle."),
        e("NO_REVIEWER", 422, "Det finnes ingen fagfelle som kan tildeles saken."),
        e("OVERRIDE_NOT_ALLOWED", 422, "Denne fagfellen kan ikke tildeles saken."),
        e("NOTHING_TO_APPROVE", 422, "Det finnes ingen gul habilitet å godkjenne."),
        e(
            "CONFLICT_NOT_CLEARED",
            422,
            "Habiliteten din må være erklært grønn (eller gul og godkjent) før du sender inn "
            "fagfellevurderingen.",
        ),
        # ---- single sign-on and login (CONNECTIONS.md section 1) -------------------------
        e(
            "OIDC_UNKNOWN_USER",
            403,
            "Du er ikke registrert som bruker av skjemamottaket. Kontakt sekretariatet for Nye "
            "metoder for å få tilgang.",
        ),
        e(
            "OIDC_FAILED",
            400,
            "Innloggingen mislyktes eller er utløpt. Gå tilbake til innloggingssiden og prøv igjen.",
        ),
        e(
            "OIDC_UNAVAILABLE",
            503,
            "Innloggingstjenesten svarer ikke nå. Prøv igjen om litt.",
        ),
        e(
            "LOCAL_LOGIN_DISABLED",
            403,
            "Innlogging med brukernavn og passord er slått av. Logg inn med HelseID.",
        ),
        # ---- HTTP errors raised by the framework (web/app.py) ----------------------------
        e("BAD_REQUEST", 400, "Forespørselen er ugyldig."),
        e(
            "CSRF_FAILED",
            400,
            "Skjemaet er utløpt eller mangler sikkerhetsnøkkel. Last siden på nytt og prøv igjen.",
        ),
        e("UNAUTHORIZED", 401, "Du må logge inn (gyldig tilgangsnøkkel mangler)."),
        e("METHOD_NOT_ALLOWED", 405, "Metoden er ikke tillatt for denne adressen."),
        e("TOO_MANY_REQUESTS", 429, "For mange forsøk. Vent litt og prøv igjen."),
        e("INTERNAL_ERROR", 500, "Det oppstod en uventet feil. Prøv igjen senere."),
    )


def _catalogue() -> Mapping[str, ErrorCode]:
    out: dict[str, ErrorCode] = {}
    for entry in _entries():
        if entry.code in out:
            raise AssertionError(f"the code {entry.code} is in the catalogue twice")
        if (entry.http_status is None) != (entry.result == "warning"):
            raise AssertionError(f"{entry.code}: only a warning has no HTTP status")
        out[entry.code] = entry
    return MappingProxyType(out)


CATALOGUE: Mapping[str, ErrorCode] = _catalogue()

# The codes of FORMS.md section 8 (a finding of a processed file carries one of these)
FINDING_CODES = frozenset(c for c, e in CATALOGUE.items() if e.result is not None)
# The codes an error answer's `error.code` can hold
ANSWERED_CODES = frozenset(c for c, e in CATALOGUE.items() if e.http_status is not None)


def lookup(code: str) -> ErrorCode:
    """The catalogue entry of `code`; `UnknownCode` for any other string."""
    try:
        return CATALOGUE[code]
    except (KeyError, TypeError):
        raise UnknownCode(f"{code!r} is not in the error catalogue (processor/codes.py)") from None


def http_status(code: str) -> int:
    """The HTTP status of an error answer with `code`; `UnknownCode` when it has none."""
    status = lookup(code).http_status
    if status is None:
        raise UnknownCode(f"{code} is a warning, never an error answer")
    return status


def message(code: str) -> str:
    """The default Norwegian message of `code`."""
    return lookup(code).message
