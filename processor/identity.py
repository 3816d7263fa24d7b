"""The identity guard: Norwegian national identity numbers (FORMS.md section 6).

Eleven digits, not preceded or followed by another digit, optionally with one space, dot or dash
after the sixth digit. A number counts as identity when both control digits hold (the first sum may
be 0, 1, 2 or 3 mod 11, for numbers issued from 2032) and it is either an FH-nummer (first digit 8
or 9) or carries a real day and month, possibly shifted: D-nummer (day + 40), H-nummer (month + 40),
synthetic test numbers (month + 80, also combined with day + 40).

Functions here return positions and booleans, never the number itself, so that nothing upstream can
echo it by accident.

Generated hex ids hold such runs by chance: in metadata, GUIDs and runs of 32 or more hex digits
are not searched (`contains_identity_in_metadata`); `processor.ingest.guard` also leaves out the
value of a keyed-digest field (`soknad.del1_kontrollsum`) that has exactly the digest's form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# The first digit comes before the look-behind (which then looks at the digit before it): a
# pattern that starts with a digit class lets the regex engine skip to the next digit in C, one
# that starts with a look-behind tries every position of the text, several times slower.
CANDIDATE = re.compile(r"(\d(?<!\d\d)\d{5})[ .\-\u00a0\u202f]?(\d{5})(?!\d)")


def control_digits_ok(digits: str) -> bool:
    d = [ord(c) - 48 for c in digits]
    if sum(a * b for a, b in zip(W1, d, strict=False)) % 11 not in (0, 1, 2, 3):
        return False
    return sum(a * b for a, b in zip(W2, d, strict=True)) % 11 == 0


def _date_ok(digits: str) -> bool:
    day = int(digits[0:2])
    month = int(digits[2:4])
    if day > 40:
        day -= 40  # D-nummer
    if month > 80:
        month -= 80  # synthetic (Tenor and the like)
    elif month > 40:
        month -= 40  # H-nummer
    return 1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]


def is_identity_number(digits: str) -> bool:
    """True when the eleven digits are a fødselsnummer, D-, H-, FH- or synthetic number."""
    if len(digits) != 11 or not digits.isdigit() or not control_digits_ok(digits):
        return False
    return digits[0] in "89" or _date_ok(digits)


def contains_identity(text: str) -> bool:
    # No pre-filter: a search for six digits costs more than this pattern (measured: 2.5x).
    return any(is_identity_number(m.group(1) + m.group(2)) for m in CANDIDATE.finditer(text))


# Machine identifiers that metadata is full of: GUIDs (8-4-4-4-12 hex digits; XMP's uuid:, the
# sensitivity labels' custom properties) and runs of 32 or more hex digits (XMP's xmp.did: and
# xmp.iid:, SharePoint's ContentTypeId, digests). About one 32-digit id in 3,400 holds eleven
# decimal digits in a row that pass every rule of an identity number; an Adobe XMP packet holds
# several ids, so such files were refused for a number nobody wrote.
_MACHINE_ID = re.compile(
    r"(?<![0-9A-Za-z])(?:\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
    r"[0-9A-Fa-f]{12}\}?|(?:0x)?[0-9A-Fa-f]{32,})(?![0-9A-Za-z])"
)


def contains_identity_in_metadata(text: str) -> bool:
    """`contains_identity` for document metadata, whose GUIDs and long hex ids are not searched
    (they are generated, not written). The common case, no hit at all, costs one search."""
    return contains_identity(text) and contains_identity(_MACHINE_ID.sub(" ", text))


def without_machine_ids(text: str) -> str:
    """The text with its GUIDs and long hex ids (`_MACHINE_ID`) replaced by a space: for the
    generated XML of an embedded object, searched as document text."""
    return _MACHINE_ID.sub(" ", text) if len(text) >= 32 else text


def identity_numbers(text: str) -> list[str]:
    """The identity numbers in a text, digits only. For the link check at the HF, never logged."""
    out = []
    for m in CANDIDATE.finditer(text):
        digits = m.group(1) + m.group(2)
        if is_identity_number(digits):
            out.append(digits)
    return out


def value_texts(value: object) -> Iterable[str]:
    """The texts a raw or canonical value offers to the guard (numbers included)."""
    if value is None or isinstance(value, bool):
        return ()
    if isinstance(value, int):
        s = str(value)
        return (s, s.zfill(11)) if len(s) == 10 else (s,)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return value_texts(int(value))
        return (repr(value),)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, dict):
        return [t for v in value.values() for t in value_texts(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in value_texts(v)]
    return (str(value),)
