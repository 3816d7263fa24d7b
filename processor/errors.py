"""Domain errors: exceptions that carry a stable code and a Norwegian message.

The code, its HTTP status and its default message come from the one error catalogue
(`processor.codes`); a code outside it is refused when the error is made. The web layer maps an
error to its status and the body `{"error": {"code", "message"}}`, and does nothing else with it.
"""

from __future__ import annotations

from typing import Any

from processor import codes

# IDENTITY_FOUND in a text typed into the service (a reason, a description), not in a file
IDENTITY_IN_TEXT = (
    "Teksten inneholder et fødselsnummer, D-nummer eller annet personnummer. Fjern det."
)


class DomainError(Exception):
    """A refusal with a code of the error catalogue and a Norwegian message."""

    def __init__(self, code: str, message: str | None = None, **context: Any) -> None:
        entry = codes.lookup(code)  # UnknownCode: a programming error
        if entry.http_status is None:
            raise codes.UnknownCode(f"{code} is a warning, not a refusal")
        self.code = code
        self.message = message or entry.message
        self.context = context
        super().__init__(f"{code}: {self.message}")

    @property
    def http_status(self) -> int:
        return codes.http_status(self.code)


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
