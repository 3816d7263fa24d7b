"""Raw values from a file become canonical values (FORMS.md section 2).

`normalise_value` never raises for bad input: it returns the canonical value or a `Problem`, a
Norwegian sentence saying what is wrong (without repeating the value, which could hold identity).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from forms.fields import Field, FormDef, Repeat
from forms.helseforetak import registry
from processor.domain import case_key


@dataclass(frozen=True)
class Problem:
    message: str


_SPACES = re.compile(r"[\s\u00a0\u2007\u202f']+")
_CURRENCY = re.compile(r"^(?:kr\.?|nok)\s*|\s*(?:kr\.?|nok|,-|\.-|,–)$", re.IGNORECASE)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_NO_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_URL = re.compile(r"^(?:https?://[^\s/]+\.[^\s]+|doi:\s*\S+)$", re.IGNORECASE)
_TRUE = {"true", "ja", "yes", "on", "1", "x", "☒", "☑", "✓", "✔", "/yes", "/on"}
_FALSE = {"false", "nei", "no", "off", "0", "☐", "/off"}


def fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def parse_number(text: str) -> float | int | None:
    """Norwegian notation: `12 500`, `12 500,50`, `kr 12.500`, `-1 200,-`. None if not a number."""
    s = text.strip().replace("\u2212", "-").replace("\u2013", "-")
    for _ in range(2):
        s = _CURRENCY.sub("", s).strip()
    s = _SPACES.sub("", s)
    if not s:
        return None
    sign = ""
    if s[0] in "+-":
        sign, s = ("-" if s[0] == "-" else ""), s[1:]
    if not s or not re.fullmatch(r"[0-9.,]+", s) or not s[0].isdigit():
        return None
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        s = s.replace(thousands, "")
        if s.count(decimal) != 1:
            return None
        s = s.replace(decimal, ".")
    elif "," in s:
        if s.count(",") == 1:
            s = s.replace(",", ".")
        elif re.fullmatch(r"\d{1,3}(,\d{3})+", s):
            s = s.replace(",", "")
        else:
            return None
    elif "." in s and (s.count(".") > 1 or re.fullmatch(r"\d{1,3}\.\d{3}", s)):
        if not re.fullmatch(r"\d{1,3}(\.\d{3})+", s):
            return None
        s = s.replace(".", "")
    try:
        value = float(sign + s)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def parse_date(text: str) -> date | None:
    s = text.strip()
    m = _ISO_DATE.match(s)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _NO_DATE.match(s)
        if not m:
            return None
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def _as_text(raw: object) -> str | None | Problem:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return Problem("Feltet skal inneholde tekst, ikke et avkrysningsfelt.")
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else str(raw)
    if isinstance(raw, str):
        text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
        return text or None
    return Problem("Feltet skal inneholde tekst.")


def _choice(field: Field, text: str) -> str | Problem:
    key = fold(text)
    for c in field.choices:
        if key == c.code.casefold() or key == fold(c.label):
            return c.code
    allowed = ", ".join(f"«{c.label}»" for c in field.choices)
    return Problem(f"Ugyldig valg. Velg én av: {allowed}.")


def _hf(text: str) -> str | Problem:
    key = fold(text)
    for t in registry().trusts.values():
        if key == t.code.casefold() or key == fold(t.name):
            return t.code
    return Problem("Ukjent helseforetak. Bruk koden fra helseforetaksregisteret, for eksempel OUS.")


def normalise_value(field: Field, raw: object, max_chars: int = 200_000) -> object:
    """Canonical value, None for "not filled", or a Problem."""
    t = field.type
    if t == "checkbox":
        if raw is None:
            return None
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float):
            return (
                bool(raw) if raw in (0, 1) else Problem("Avkrysningsfeltet har en ugyldig verdi.")
            )
        if isinstance(raw, str):
            key = raw.strip().casefold()
            if key in _TRUE:
                return True
            if key in _FALSE or key == "":
                return False
        return Problem(
            "Avkrysningsfeltet har en ugyldig verdi. Bruk avkrysset eller ikke avkrysset."
        )

    if t in ("integer", "number") and isinstance(raw, int | float) and not isinstance(raw, bool):
        value: object = raw
        if isinstance(raw, float):
            if not math.isfinite(raw):
                return Problem("Verdien må være et tall.")
            value = int(raw) if raw.is_integer() else raw
    else:
        text = _as_text(raw)
        if text is None or isinstance(text, Problem):
            return text
        if len(text) > max_chars:
            return Problem(f"Teksten er for lang (mer enn {max_chars} tegn).")
        if t in ("text", "textarea", "reference"):
            return case_key(text) if t == "reference" else text  # the case id of Del 2
        if t == "date":
            d = parse_date(text)
            return (
                d.isoformat()
                if d
                else Problem("Ugyldig dato. Skriv DD.MM.ÅÅÅÅ, for eksempel 14.03.2025.")
            )
        if t == "choice":
            return _choice(field, text)
        if t == "hf":
            return _hf(text)
        if t == "email":
            return text if _EMAIL.match(text) else Problem("Ugyldig e-postadresse.")
        if t == "url":
            return (
                text
                if _URL.match(text)
                else Problem("Lenken må begynne med https://, http:// eller doi:.")
            )
        value = parse_number(text)
        if value is None:
            return Problem("Verdien må være et tall, for eksempel 12 500 eller 12 500,50.")
    if t == "integer":
        if isinstance(value, float):
            return Problem("Verdien må være et helt tall.")
        return value
    return value


def canonical(form: FormDef, values: dict[str, object]) -> dict:
    """Nest flat values by the dots of their ids; repeat rows become arrays, empty rows dropped."""
    out: dict = {}

    def put(path: list[str], value: object) -> None:
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    for section in form.sections:
        for item in section.items:
            if isinstance(item, Repeat):
                rows = []
                for n in range(1, item.count + 1):
                    row = {}
                    for sub in item.fields:
                        v = values.get(item.field_id(n, sub))
                        if v is not None:
                            row[sub.id] = v
                    if row:
                        rows.append(row)
                if rows:
                    put(item.id.split("."), rows)
            else:
                v = values.get(item.id)
                if v is not None:
                    put(item.id.split("."), v)
    return out
