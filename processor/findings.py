"""Findings, results and limits: the values the pipeline returns (FORMS.md section 8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from processor.codes import CATALOGUE

Status = Literal["accepted", "incomplete", "rejected"]

# FORMS.md section 8: code -> (status it causes, default Norwegian message), read from the one
# error catalogue (processor/codes.py), which also holds each code's HTTP status.
CODES: dict[str, tuple[str, str]] = {
    c: (str(e.result), e.message) for c, e in CATALOGUE.items() if e.result is not None
}

REJECTING = frozenset(c for c, (s, _) in CODES.items() if s == "rejected")
WARNINGS = frozenset(c for c, (s, _) in CODES.items() if s == "warning")


@dataclass(frozen=True)
class Finding:
    code: str
    field: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message}


def finding(code: str, field_id: str | None = None, message: str | None = None) -> Finding:
    if code not in CODES:
        raise ValueError(f"unknown finding code {code}")
    return Finding(code, field_id, message or CODES[code][1])


def thousands(n: int) -> str:
    """A whole number in Norwegian notation: thousands separated by a no-break space."""
    return f"{n:,}".replace(",", "\u00a0")


class Refusal(Exception):
    """Raised inside the pipeline to stop processing a file that must be rejected."""

    def __init__(self, code: str, message: str | None = None, field_id: str | None = None):
        super().__init__(code)
        self.finding = finding(code, field_id, message)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * 1024 * 1024
    max_inflated_bytes: int = 50 * 1024 * 1024  # all parts of an Office file together
    max_part_bytes: int = 25 * 1024 * 1024  # one XML part
    max_ratio: float = 100.0  # compression ratio of one ZIP entry
    max_zip_entries: int = 2000
    max_fields: int = 2000
    max_pages: int = 1000
    max_depth: int = 32  # PDF field tree / XML element nesting
    # Tags ("<") in the XML parts of an Office file read as trees or texts, all parts together.
    # A tree costs ~115 bytes per element and the DOCX scan up to ~160 more: 25 MiB of nested
    # paragraphs (a 0.75 MiB file) took 860 MiB and 6 s. Our filled Del 2 has ~3,000.
    max_xml_tags: int = 500_000
    # Objects, arrays and commas in a JSON file (also those inside strings: an upper bound on its
    # values). 6 million empty objects (18 MiB) took 890 MiB and 13 s; a form has a few hundred.
    max_json_items: int = 100_000
    max_text_chars: int = 200_000  # one field value
    # Files attached to a PDF (embedded files, file attachment annotations), at any depth, that
    # are decoded and searched; together they stay within `max_inflated_bytes`.
    max_attachments: int = 100


@dataclass
class Result:
    file: str
    status: Status
    form_type: str | None = None
    form_version: str | None = None
    reference: str | None = None
    data: dict[str, Any] | None = None
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "status": self.status,
            "form_type": self.form_type,
            "form_version": self.form_version,
            "reference": self.reference,
        }
        if self.data is not None:
            out["data"] = self.data
        out["errors"] = [f.to_dict() for f in self.errors]
        out["warnings"] = [f.to_dict() for f in self.warnings]
        return out

    def codes(self) -> set[str]:
        return {f.code for f in self.errors} | {f.code for f in self.warnings}
