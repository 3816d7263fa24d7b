"""The types a form definition is built of: fields, repeating groups, sections, the cross-field
rules and the form itself (`FormDef`), and the shared header every form starts with.

The definitions (`forms.tilgang`, `forms.minihta`) build on these; `forms.catalog` holds the
definitions. Field ids and form ids are the contract of FORMS.md and MINIHTA.md.
"""

from __future__ import annotations

from collections.abc import ItemsView
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

FieldType = Literal[
    "text",  # one line of text
    "textarea",  # several lines of text
    "checkbox",  # boolean
    "integer",
    "number",  # NOK amounts and the like, Norwegian notation accepted
    "date",  # YYYY-MM-DD, DD.MM.YYYY accepted
    "choice",  # one of `choices` (code or label)
    "hf",  # a code from the HF registry
    "reference",  # FORMS.md section 5
    "email",
    "url",  # http(s):// URL or doi:
]


@dataclass(frozen=True)
class Choice:
    code: str
    label: str


@dataclass(frozen=True)
class Field:
    """One field. `id` is relative to its repeat group when it belongs to one."""

    id: str
    label: str
    type: FieldType = "text"
    required: bool = False
    help: str = ""
    choices: tuple[Choice, ...] = ()
    pattern: str | None = None  # regular expression the normalised value must match
    pattern_hint: str = ""  # Norwegian description of the pattern, for messages
    minimum: float | None = None
    maximum: float | None = None
    max_current_year: bool = False  # integer year not after the current year (Europe/Oslo)
    not_future: bool = False  # date not after today (Europe/Oslo)
    must_be_true: str | None = None  # code reported when a required checkbox is not ticked
    formula: str | None = None  # XLSX templates: the cell formula (names are field ids)
    hidden: bool = False  # carried by the file but not shown to a person (skjema.type ...)

    def choice_label(self, code: str) -> str:
        for c in self.choices:
            if c.code == code:
                return c.label
        return code


@dataclass(frozen=True)
class Repeat:
    """Repeating rows: `litteratur.N.tittel` for N = 1..count, an array in canonical JSON."""

    id: str
    label: str
    count: int
    fields: tuple[Field, ...]
    help: str = ""

    def field_id(self, n: int, sub: Field) -> str:
        return f"{self.id}.{n}.{sub.id}"


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    items: tuple[Field | Repeat, ...]
    intro: str = ""

    def visible_items(self) -> list[Field | Repeat]:
        """The items a person sees: all but the hidden fields (`skjema.type` ...)."""
        return [i for i in self.items if not (isinstance(i, Field) and i.hidden)]

    def parts(self) -> list[tuple[Field, ...] | Repeat]:
        """The visible items as a document lays them out: each run of consecutive fields (one
        table) and each repeat group between them, in form order."""
        out: list[tuple[Field, ...] | Repeat] = []
        run: list[Field] = []
        for item in self.visible_items():
            if isinstance(item, Repeat):
                if run:
                    out.append(tuple(run))
                    run = []
                out.append(item)
            else:
                run.append(item)
        if run:
            out.append(tuple(run))
        return out


# ---- completeness and consistency rules (interpreted by processor.validate) -------------------


@dataclass(frozen=True)
class RequiredIf:
    """`field` must be filled when `when` holds one of `values` (True for a ticked checkbox)."""

    field: str
    when: str
    values: tuple[object, ...]
    code: str = "REQUIRED"


@dataclass(frozen=True)
class RequiredIfAny:
    """`field` must be filled when any of `when` holds one of `values`."""

    field: str
    when: tuple[str, ...]
    values: tuple[object, ...]
    code: str = "REQUIRED"


@dataclass(frozen=True)
class AtLeastOneTrue:
    fields: tuple[str, ...]
    code: str
    message: str


@dataclass(frozen=True)
class MinRows:
    """Repeat group `group` needs `minimum` rows (when `when` is ticked, if given)."""

    group: str
    code: str
    message: str
    minimum: int = 1
    when: str | None = None


@dataclass(frozen=True)
class RowRequires:
    """In every row of `group` that has `if_filled`, `then` must be filled too."""

    group: str
    if_filled: str
    then: str
    code: str
    message: str


@dataclass(frozen=True)
class OnlyWith:
    """`field` = `value` is allowed only when `other` = `other_value`."""

    field: str
    value: object
    other: str
    other_value: object
    message: str
    code: str = "INVALID_VALUE"
    on: str | None = None  # the field that carries the finding (default: `field`)


@dataclass(frozen=True)
class Forbidden:
    """`field` must not hold `value`."""

    field: str
    value: object
    message: str
    code: str = "INVALID_VALUE"


@dataclass(frozen=True)
class ReferenceMatchesHf:
    """The reference's HF part equals the HF field (FORMS.md section 5)."""

    reference: str
    hf: str
    code: str = "REFERENCE_HF_MISMATCH"


@dataclass(frozen=True)
class BudgetFormula:
    """The five budget years of the economics workbook, recomputed (MINIHTA.md)."""

    years: tuple[str, ...]
    investering: str
    drift: str
    dagens: str
    inntekter: str
    tolerance: float = 1.0


Rule = (
    RequiredIf
    | RequiredIfAny
    | AtLeastOneTrue
    | MinRows
    | RowRequires
    | OnlyWith
    | Forbidden
    | ReferenceMatchesHf
    | BudgetFormula
)


# Version 1 of every form was issued on this day; a new version names its own day.
VERSION_1_ISSUED = date(2026, 11, 23)


@dataclass(frozen=True)
class FormDef:
    id: str
    version: str
    name: str  # Norwegian name, as in FORMS.md section 1 (also the label-fallback key)
    short_name: str
    uploaded: bool
    sections: tuple[Section, ...]
    rules: tuple[Rule, ...] = ()
    reference_field: str | None = None  # the field that names the case (reference or sak.id)
    formats: tuple[str, ...] = ("pdf", "docx", "json")
    description: str = ""
    issued: date = VERSION_1_ISSUED  # the day this version was issued: the templates' date
    _index: dict[str, tuple[Field, Repeat | None]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        for section in self.sections:
            for item in section.items:
                if isinstance(item, Repeat):
                    for n in range(1, item.count + 1):
                        for sub in item.fields:
                            self._index[item.field_id(n, sub)] = (sub, item)
                else:
                    self._index[item.id] = (item, None)

    # -- look-ups ---------------------------------------------------------------------------
    def issued_at(self) -> datetime:
        """The start of the day this version was issued, in Europe/Oslo: the creation date of
        its blank templates (the same template bytes every time)."""
        return datetime.combine(self.issued, time(), tzinfo=ZoneInfo("Europe/Oslo"))

    def field_ids(self) -> list[str]:
        """Every field id a file may carry, in form order, repeat rows expanded."""
        return list(self._index)

    def entries(self) -> ItemsView[str, tuple[Field, Repeat | None]]:
        """(field id, (field, its repeat or None)) for every field id, in `field_ids` order."""
        return self._index.items()

    def lookup(self, field_id: str) -> tuple[Field, Repeat | None] | None:
        return self._index.get(field_id)

    def fields(self) -> list[Field]:
        """Top-level (non-repeating) fields in form order."""
        return [f for s in self.sections for f in s.items if isinstance(f, Field)]

    def repeats(self) -> list[Repeat]:
        return [r for s in self.sections for r in s.items if isinstance(r, Repeat)]

    def hidden_fields(self) -> list[Field]:
        """The fields carried by the file but not shown to a person, in form order."""
        return [f for f in self.fields() if f.hidden]

    def header_values(self) -> dict[str, str]:
        """What a template fills in for the shared header (`header_fields`)."""
        return {"skjema.type": self.id, "skjema.versjon": self.version}

    def field(self, field_id: str) -> Field:
        hit = self._index.get(field_id)
        if hit is None:
            # a repeat column addressed as group.column
            for rep in self.repeats():
                for sub in rep.fields:
                    if f"{rep.id}.{sub.id}" == field_id:
                        return sub
            raise KeyError(field_id)
        return hit[0]

    def label(self, field_id: str) -> str:
        """The Norwegian label a person reads for a field id (repeat rows get their number)."""
        hit = self._index.get(field_id)
        if hit is None:
            for rep in self.repeats():
                if field_id == rep.id:
                    return rep.label
            return field_id
        sub, rep = hit
        if rep is None:
            return sub.label
        n = field_id.split(".")[len(rep.id.split("."))]
        return f"{sub.label} {n}"

    def section_of(self, field_id: str) -> Section | None:
        for s in self.sections:
            for item in s.items:
                if isinstance(item, Repeat):
                    if field_id == item.id or field_id.startswith(item.id + "."):
                        return s
                elif item.id == field_id:
                    return s
        return None


# ---- the shared header ------------------------------------------------------------------------


def header_fields(form_id: str, version: str) -> tuple[Field, ...]:
    return (
        Field(
            "skjema.type",
            "Skjematype",
            required=True,
            hidden=True,
            help=f"Fylles ut av malen: {form_id}.",
        ),
        Field(
            "skjema.versjon",
            "Skjemaversjon",
            required=True,
            hidden=True,
            help=f"Fylles ut av malen: {version}.",
        ),
    )
