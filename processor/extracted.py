"""What every extractor (PDF, DOCX, XLSX, JSON) hands to the rest of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# A raw value as the file carries it: text, a checkbox state already read as a boolean, a number
# (XLSX cells, JSON), or None for an empty field. Normalisation turns it into the canonical type.
RawValue = str | bool | int | float | None

# Where text outside the form fields was found, for the identity guard (FORMS.md section 6).
# "embedded": an object inside an Office file (a workbook in a Word form), a DOCX altChunk, a file
# a PDF carries. "comment": the text of a PDF comment (a note, a text box, a highlight's note).
# "revision": an earlier revision of an incrementally updated PDF (the bytes before a later
# %%EOF). "package": the structure of a PDF or an Office file outside the visible document: any
# other object, part, entry name, ZIP comment or script.
TextKind = Literal["metadata", "document", "sheet", "embedded", "comment", "revision", "package"]


@dataclass
class Extracted:
    kind: Literal["pdf", "docx", "xlsx", "json"]
    # field id (dotted, fully qualified; repeat rows as `litteratur.1.tittel`) -> raw value.
    # Holds every field the file carries, also ids that are not in the catalogue.
    fields: dict[str, RawValue] = field(default_factory=dict)
    # Text outside the fields that the identity guard must search: (kind, text).
    texts: list[tuple[TextKind, str]] = field(default_factory=list)
    # True when a DOCX was read by the label fallback (FORMS.md 4.4).
    label_fallback: bool = False
    # XLSX: field ids whose cell is a formula with no cached value (FORMS.md 4.3).
    uncached_formulas: list[str] = field(default_factory=list)
