"""The draft form of the HF portal (PORTAL.md section 6), built from the field catalogue.

`build` turns a form definition (`forms.catalog`), a draft's values and its findings into the
model the template renders: one part per catalogue section, one input per field named by its
field id, repeat rows numbered as the catalogue numbers them (FORMS.md section 2), each finding
beside the input it is about, and the error summary that links to them. `read_posted` turns the
posted form back into the `verdier` of a save. Nothing here knows a field by name: the fields,
labels, help texts, choices and rows all come from the catalogue.

Fields the service fills are not inputs: `skjema.*` is not shown, `forankring.*` is shown
read-only (the sign-off fills it), and the HF field holds the draft's HF read-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from forms.fields import AtLeastOneTrue, Field, FormDef, Repeat, Section
from services.queries import display
from services.upload import HF_FIELD

__all__ = [
    "ACTION",
    "DraftForm",
    "Input",
    "Part",
    "RowGroup",
    "build",
    "editable",
    "findings_by_input",
    "hf_field",
    "place",
    "read_posted",
    "rows_param",
    "shift_rows",
]

SERVICE_PREFIXES = ("skjema.",)  # set by the service, never shown
SIGN_OFF_PREFIXES = ("forankring.",)  # filled by the sign-off, shown read-only
RADIO_MAX = 6  # a choice of at most this many options is radios, a longer one a select
CHECKED = "ja"  # the value a ticked checkbox posts
ACTION = "handling"  # the name of the form's submit buttons
ADD_ROW = "legg-til:"  # + repeat id: save, then show one more row
REMOVE_ROW = "fjern:"  # + repeat id + "." + row number: remove that row, then save
ROWS_PREFIX = "rader-"  # + repeat id: the number of rows shown (hidden input, query parameter)
INPUT_MODES = {"integer": "numeric", "number": "decimal"}
INPUT_TYPES = {"email": "email", "url": "url"}
READONLY_HELP = "Fylles ut av tjenesten: helseforetaket du er logget inn for."
FORMAT_HINTS = {
    "date": "Dato som DD.MM.ÅÅÅÅ, for eksempel 14.03.2026.",
    "number": "Et tall, for eksempel 12 500 eller 12 500,50.",
    "integer": "Et helt tall.",
}


def hf_field(form: FormDef) -> str | None:
    """The field that holds the draft's HF (`soknad.helseforetak`, `generelt.helseforetak`)."""
    path = HF_FIELD.get(form.id)  # type: ignore[call-overload]
    return ".".join(path) if path else None


def editable(form: FormDef, field_id: str) -> bool:
    """A field a save may name: not set by the service, not filled by the sign-off."""
    if field_id.startswith(SERVICE_PREFIXES + SIGN_OFF_PREFIXES):
        return False
    hit = form.lookup(field_id)
    return hit is not None and not hit[0].hidden


# ---- the model the template renders ---------------------------------------------------------


@dataclass
class Message:
    text: str
    kind: str  # "feil" (a value that is wrong), "mangler" (a value not given yet), "advarsel"


@dataclass
class Input:
    """One input, named by its field id (`name`); `id` is the element id (a radio group's is its
    first radio's)."""

    name: str
    id: str
    label: str
    kind: str  # text, textarea, checkbox, radios, select, readonly
    value: Any = ""
    help: str = ""
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    input_type: str = "text"
    inputmode: str | None = None
    messages: list[Message] = field(default_factory=list)

    @property
    def invalid(self) -> bool:
        return any(m.kind == "feil" for m in self.messages)

    @property
    def help_id(self) -> str:
        return f"{self.name}-hjelp"

    @property
    def message_id(self) -> str:
        """The element that holds the findings of this field (always there, empty when none:
        the page's script fills it in as the field is left)."""
        return f"{self.name}-feil"

    def described_by(self) -> str:
        ids = [self.help_id] if self.help else []
        if self.messages:
            ids.append(self.message_id)
        return " ".join(ids)


@dataclass
class Row:
    n: int
    inputs: list[Input]


@dataclass
class RowGroup:
    id: str
    label: str
    help: str
    rows: list[Row]
    maximum: int
    messages: list[Message] = field(default_factory=list)

    @property
    def can_add(self) -> bool:
        return len(self.rows) < self.maximum

    @property
    def first_id(self) -> str:
        return self.rows[0].inputs[0].id


@dataclass
class ReadOnly:
    """A field the sign-off fills: its label and value as a person reads it."""

    label: str
    shown: str


@dataclass
class Part:
    id: str
    title: str
    intro: str
    items: list[Input | RowGroup]
    read_only: list[ReadOnly]
    complete: bool
    messages: list[Message] = field(default_factory=list)
    filled: bool = False  # something in it is filled in (else a complete part is optional)

    @property
    def sign_off(self) -> bool:
        return bool(self.read_only) and not self.items

    @property
    def first_id(self) -> str:
        first = self.items[0] if self.items else None
        if isinstance(first, RowGroup):
            return first.first_id
        return first.id if first else f"del-{self.id}"


@dataclass
class DraftForm:
    parts: list[Part]
    summary: list[tuple[str, str]]  # (element id to link to, message): wrong values
    missing: list[tuple[str, str]]  # the same for what is not filled in yet
    done: int
    total: int


# ---- findings by input ----------------------------------------------------------------------


def _element_id(form: FormDef, field_id: str) -> str:
    hit = form.lookup(field_id)
    if hit is not None and _kind(form, hit[0], field_id) == "radios":
        return f"{field_id}-{hit[0].choices[0].code}"
    return field_id


def place(form: FormDef, finding: Mapping[str, Any]) -> tuple[str | None, str | None] | None:
    """Where a finding is shown: (the field id, repeat id or `del-SECTION` it is beside, the
    element id a link to it goes to); None for a field the service or the sign-off fills (the
    person filling in the form cannot change it)."""
    fid = finding.get("field")
    if isinstance(fid, str) and fid.startswith(SERVICE_PREFIXES + SIGN_OFF_PREFIXES):
        return None
    rep = next((r for r in form.repeats() if r.id == fid), None)
    if rep is not None:
        return rep.id, rep.field_id(1, rep.fields[0])
    if isinstance(fid, str) and form.lookup(fid) is not None:
        return fid, _element_id(form, fid)
    section = _rule_section(form, str(finding.get("code") or ""))
    if section is None:
        return None, None
    return f"del-{section.id}", _element_id(form, _first_field(section))


def _given(form: FormDef, target: str | None, values: Mapping[str, Any]) -> bool:
    """Whether the field or row group a finding is about holds anything yet."""
    if not target or target.startswith("del-"):
        return False
    rep = next((r for r in form.repeats() if r.id == target), None)
    if rep is not None:
        return _last_filled_row(rep, values) > 0
    return _filled(values.get(target))


def findings_by_input(
    form: FormDef,
    errors: Iterable[Mapping[str, Any]],
    warnings: Iterable[Mapping[str, Any]] = (),
    values: Mapping[str, Any] | None = None,
) -> tuple[dict[str, list[Message]], list[tuple[str | None, str, str]]]:
    """Each finding beside the input, row group or part it is about (`place`), and the summary
    of the errors: (element id to link to or None, message, kind). With `values`, an error about
    a field that holds nothing yet is "mangler" (not filled in: the form is a draft), an error
    about a value given is "feil" (that value is wrong)."""
    at: dict[str, list[Message]] = {}
    summary: list[tuple[str | None, str, str]] = []
    for kind, items in (("feil", errors), ("advarsel", warnings)):
        for f in items:
            where = place(form, f)
            if where is None:
                continue
            target, link = where
            text = str(f.get("message") or "")
            shown = kind
            if kind == "feil" and values is not None and not _given(form, target, values):
                shown = "mangler"
            if target:
                at.setdefault(target, []).append(Message(text, shown))
            if kind == "feil":
                summary.append((link, text, shown))
    return at, summary


def _rule_section(form: FormDef, code: str) -> Section | None:
    """The part a finding without a field is about: the first field of its rule."""
    for rule in form.rules:
        if isinstance(rule, AtLeastOneTrue) and rule.code == code:
            return form.section_of(rule.fields[0])
    return None


def _first_field(section: Section) -> str:
    item = section.items[0]
    return item.field_id(1, item.fields[0]) if isinstance(item, Repeat) else item.id


# ---- building the form ----------------------------------------------------------------------


def _kind(form: FormDef, f: Field, field_id: str) -> str:
    if field_id == hf_field(form):
        return "readonly"
    if f.type == "checkbox":
        return "checkbox"
    if f.type == "textarea":
        return "textarea"
    if f.choices:
        return "radios" if len(f.choices) <= RADIO_MAX and f.type == "choice" else "select"
    return "text"


def _shown(value: Any) -> Any:
    """A saved value as an input holds it: text as typed, a whole float without its ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _help(f: Field, label_rows: str = "") -> str:
    parts = [f.help or "", label_rows]
    if not f.help and f.type in FORMAT_HINTS:
        parts.append(FORMAT_HINTS[f.type])
    return " ".join(p for p in parts if p)


def _input(
    form: FormDef,
    f: Field,
    field_id: str,
    values: Mapping[str, Any],
    at: Mapping[str, list[Message]],
) -> Input:
    kind = _kind(form, f, field_id)
    value = _shown(values.get(field_id))
    if kind == "checkbox":
        value = value is True
    messages = list(at.get(field_id, []))
    marked = f.required and kind not in ("checkbox", "readonly")
    if marked:
        # the label already says "(må fylles ut)": a note that it is not filled in yet only
        # repeats it (the list of what is missing still links here)
        messages = [m for m in messages if m.kind != "mangler"]
    return Input(
        name=field_id,
        id=_element_id(form, field_id),
        label=form.label(field_id),
        kind=kind,
        value=value,
        help=READONLY_HELP if kind == "readonly" else _help(f),
        required=marked,
        choices=tuple((c.code, c.label) for c in f.choices),
        input_type=INPUT_TYPES.get(f.type, "text"),
        inputmode=INPUT_MODES.get(f.type),
        messages=messages,
    )


def _filled(value: Any) -> bool:
    return value is not None and value != "" and value is not False


def _last_filled_row(rep: Repeat, values: Mapping[str, Any]) -> int:
    last = 0
    for n in range(1, rep.count + 1):
        if any(_filled(values.get(rep.field_id(n, sub))) for sub in rep.fields):
            last = n
    return last


def _group(
    form: FormDef,
    rep: Repeat,
    values: Mapping[str, Any],
    at: Mapping[str, list[Message]],
    rows: Mapping[str, int],
) -> RowGroup:
    shown = max(_last_filled_row(rep, values), rows.get(rep.id, 0), 1)
    shown = min(shown, rep.count)
    return RowGroup(
        id=rep.id,
        label=rep.label,
        help=rep.help,
        rows=[
            Row(n, [_input(form, sub, rep.field_id(n, sub), values, at) for sub in rep.fields])
            for n in range(1, shown + 1)
        ],
        maximum=rep.count,
        messages=list(at.get(rep.id, [])),
    )


def build(
    form: FormDef,
    values: Mapping[str, Any],
    errors: Iterable[Mapping[str, Any]] = (),
    warnings: Iterable[Mapping[str, Any]] = (),
    *,
    rows: Mapping[str, int] | None = None,
    refused: bool = False,
) -> DraftForm:
    """The form of a draft: `values` (field id → value, as saved or as typed), its findings at
    their inputs, `rows`: the number of rows to show per repeat id (at least the filled ones).
    `refused`: the errors are a refused save's, each one wrong (none is merely not filled in)."""
    errors, warnings = list(errors), list(warnings)
    at, summary = findings_by_input(form, errors, warnings, None if refused else values)
    flagged = {str(f.get("field")) for f in errors} | {
        f"del-{s.id}"
        for f in errors
        if not f.get("field")
        for s in [_rule_section(form, str(f.get("code") or ""))]
        if s is not None
    }
    parts: list[Part] = []
    for section in form.sections:
        items: list[Input | RowGroup] = []
        read_only: list[ReadOnly] = []
        ids: list[str] = []
        for item in section.items:
            if isinstance(item, Repeat):
                items.append(_group(form, item, values, at, rows or {}))
                ids.append(item.id)
                ids.extend(
                    item.field_id(n, s) for n in range(1, item.count + 1) for s in item.fields
                )
            elif item.hidden or item.id.startswith(SERVICE_PREFIXES):
                continue
            elif item.id.startswith(SIGN_OFF_PREFIXES):
                read_only.append(
                    ReadOnly(form.label(item.id), display(form, item.id, values.get(item.id)))
                )
            else:
                items.append(_input(form, item, item.id, values, at))
                ids.append(item.id)
        if not items and not read_only:
            continue
        required = any(isinstance(i, Input) and i.required and i.kind != "readonly" for i in items)
        filled = any(_filled(values.get(i)) for i in ids)
        complete = (
            not any(i in flagged for i in ids)
            and f"del-{section.id}" not in flagged
            and (filled or not required)
        )
        parts.append(
            Part(
                section.id,
                section.title,
                section.intro,
                items,
                read_only,
                complete,
                list(at.get(f"del-{section.id}", [])),
                filled,
            )
        )
    filled_in = [p for p in parts if p.items]
    return DraftForm(
        parts=parts,
        summary=[(link or "", text) for link, text, kind in summary if kind == "feil"],
        missing=[(link or "", text) for link, text, kind in summary if kind == "mangler"],
        done=sum(1 for p in filled_in if p.complete),
        total=len(filled_in),
    )


# ---- reading the posted form ----------------------------------------------------------------


def read_posted(form: FormDef, posted: Mapping[str, str], hf: str | None) -> dict[str, Any]:
    """The `verdier` of a save from a posted draft form: every editable field of the form
    (text as typed, a checkbox True or False, a repeat row's fields with their numbers), the
    HF field as the draft's HF. Fields the form did not show (rows beyond those shown) are
    left out, so a save never names them; fields it did show but left blank are "" (cleared)."""
    out: dict[str, Any] = {}
    hf_id = hf_field(form)
    for fid, (f, rep) in form.entries():
        if not editable(form, fid):
            continue
        if fid == hf_id:
            if hf:
                out[fid] = hf
            continue
        if rep is not None and fid not in posted:
            continue
        if f.type == "checkbox":
            out[fid] = posted.get(fid) == CHECKED
        else:
            out[fid] = posted.get(fid, "")
    return out


def rows_param(form: FormDef, source: Mapping[str, str]) -> dict[str, int]:
    """The number of rows shown per repeat id, read from `rader-<id>` (a hidden input of the
    form, or a query parameter of the page), within the repeat's bounds."""
    out: dict[str, int] = {}
    for rep in form.repeats():
        raw = str(source.get(ROWS_PREFIX + rep.id) or "")
        if raw.isdigit():
            out[rep.id] = max(1, min(int(raw), rep.count))
    return out


def shift_rows(form: FormDef, values: dict[str, Any], group: str, n: int) -> dict[str, Any]:
    """`values` with row `n` of repeat `group` removed: the later rows move up one, and the last
    row shown is cleared (so the save clears it)."""
    rep = next((r for r in form.repeats() if r.id == group), None)
    if rep is None or not 1 <= n <= rep.count:
        return values
    out = dict(values)
    rows = [
        m for m in range(1, rep.count + 1) if any(rep.field_id(m, s) in values for s in rep.fields)
    ]
    last = max(rows, default=n)
    for m in range(n, last + 1):
        for sub in rep.fields:
            below = rep.field_id(m + 1, sub)
            out[rep.field_id(m, sub)] = values.get(below, "") if m < last else ""
    return out
