"""Domain errors: exceptions that carry a stable code and a Norwegian message.

The web layer maps an error to an HTTP status (`http_status` is the suggested one) and the body
`{"error": {"code", "message"}}`; it does nothing else with it.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, str] = {
    "NOT_FOUND": "Fant ikke saken.",
    "FORBIDDEN": "Du har ikke tilgang til å gjøre dette.",
    "UPLOADER_HF_MISMATCH": "Skjemaet gjelder et annet helseforetak enn ditt.",
    "REFERENCE_IN_USE": (
        "Referansenummeret er allerede brukt av en annen sak. En ny søknad fra samme avdeling "
        "samme dag får et løpenummer til slutt i referansen, for eksempel -2."
    ),
    "STALE_STATE": (
        "Saken er endret av noen andre siden du åpnet den. Last siden på nytt og prøv igjen."
    ),
    "CONFLICT": "Noen andre endret det samme samtidig. Prøv igjen.",
    "INVALID_TRANSITION": "Denne statusendringen er ikke tillatt.",
    "REASON_REQUIRED": "Du må skrive en begrunnelse.",
    "INVALID_VALUE": "Verdien er ugyldig.",
    "IDENTITY_FOUND": (
        "Teksten inneholder et fødselsnummer, D-nummer eller annet personnummer. Fjern det."
    ),
    "UPLOAD_NOT_SUPPORTED": "Denne skjematypen kan ikke sendes inn på denne måten.",
    "USER_EXISTS": "Det finnes allerede en bruker med dette brukernavnet.",
    "USER_NOT_FOUND": "Fant ikke brukeren.",
    "VERSION_NOT_FOUND": "Fant ikke versjonen av saken.",
    "SEQUENCE_EXHAUSTED": "Det er ikke flere ledige saksnumre for mini-metodevurderinger i år.",
    "CASE_DECIDED": "Saken er avgjort og kan ikke endres.",
}

HTTP_STATUS: dict[str, int] = {
    "NOT_FOUND": 404,
    "VERSION_NOT_FOUND": 404,
    "USER_NOT_FOUND": 404,
    "FORBIDDEN": 403,
    "UPLOADER_HF_MISMATCH": 403,
    "REFERENCE_IN_USE": 409,
    "STALE_STATE": 409,
    "CONFLICT": 409,
    "USER_EXISTS": 409,
    "SEQUENCE_EXHAUSTED": 409,
    "CASE_DECIDED": 409,
}


class DomainError(Exception):
    """A refusal with a code (FORMS.md section 8 or the list above) and a Norwegian message."""

    def __init__(self, code: str, message: str | None = None, **context: Any) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, "Forespørselen kan ikke utføres.")
        self.context = context
        super().__init__(f"{code}: {self.message}")

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 422)

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class NotFound(DomainError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__("NOT_FOUND", message)


class Forbidden(DomainError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__("FORBIDDEN", message)


class StaleState(DomainError):
    def __init__(self, message: str | None = None, **context: Any) -> None:
        super().__init__("STALE_STATE", message, **context)


class CaseDecided(DomainError):
    """A decided case is read-only: every later change of it is refused (409)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__("CASE_DECIDED", message)
