"""The identity guard: Norwegian national identity numbers (FORMS.md section 6).

Eleven digits, not preceded or followed by another digit, optionally with one space, dot or dash
after the sixth digit. A number counts as identity when both control digits hold (the first sum may
be 0, 1, 2 or 3 mod 11, for numbers issued from 2032) and it is either an FH-nummer (first digit 8
or 9) or carries a real day and month, possibly shifted: D-nummer (day + 40), H-nummer (month + 40),
synthetic test numbers (month + 80, also combined with day + 40).

Functions here return positions and booleans, never the number itself, so that nothing upstream can
echo it by accident.

Every text is normalised before the search (`normalise`, rule 2 of section 6), so a number
written with full-width digits, a zero-width space inside or an en dash after the sixth digit is
found. Generated hex ids hold such runs by chance: GUIDs and runs of 16 or more hex characters
with a letter are not searched; `processor.ingest.guard` also leaves out the value of a
keyed-digest field (`soknad.del1_kontrollsum`) that has exactly the digest's form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Searched in normalised text (`normalise`): every digit is ASCII, every dash "-". The separator
# after the sixth digit is a space, dot or dash; ASCII text is not rewritten, so its whitespace
# characters (those `str.isspace` knows) stand in the class for the space they are read as.
# The first digit comes before the look-behind (which then looks at the digit before it): a
# pattern that starts with a digit class lets the regex engine skip to the next digit in C, one
# that starts with a look-behind tries every position of the text, several times slower.
CANDIDATE = re.compile(
    r"([0-9](?<![0-9][0-9])[0-9]{5})[ .\-\t\n\r\x0b\x0c\x1c-\x1f]?([0-9]{5})(?![0-9])"
)


# Invisible characters that are not format characters (Cf): the default-ignorable code points of
# other categories (combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian
# free variation selectors, variation selectors and their supplement), and the control
# characters (Cc) that are not white space (BEL, ESC, DEL, the C1 controls). A browser draws
# none of them, so between two digits they hide a number exactly as a zero-width space does; they
# are removed like Cf. NUL stays: the guard joins separate strings with it (`sweep`), so it is a
# boundary here; a NUL inside one value is removed by `value_texts`.
_INVISIBLE = re.compile(
    "[\x01-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u034f\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180d\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)
# The same controls in ASCII, as bytes to delete (bytes.translate: 7 µs for 10 KB, where a
# regular expression search took 450 µs, more than the guard's own search).
_ASCII_CONTROLS = bytes([*range(1, 9), *range(14, 28), 127])


class _Fold(dict):
    """str.translate table for `normalise`, filled per character on first sight: format
    characters (Cf) and the other invisible characters (`_INVISIBLE`) removed, decimal digits
    (Nd) as ASCII digits, dashes (Pd and U+2212 minus) as "-", whitespace as a space; every other
    character maps to itself."""

    def __missing__(self, code: int) -> int | None:
        ch = chr(code)
        category = unicodedata.category(ch)
        if category == "Cf" or _INVISIBLE.match(ch):
            out: int | None = None
        elif category == "Nd":
            out = 48 + unicodedata.decimal(ch)
        elif category == "Pd" or ch == "\u2212":
            out = 45
        elif ch.isspace():
            out = 32
        else:
            out = code
        self[code] = out
        return out


_FOLD = _Fold()


def normalise(text: str) -> str:
    """The text as the guard reads it (FORMS.md section 6, rule 2): NFKC (full-width and other
    decimal digits become ASCII), format characters removed, every dash read as "-" and every
    whitespace character as a space; invisible characters (`_INVISIBLE`) removed too. ASCII
    text is returned as it is unless it holds a control character (its whitespace is matched
    by `CANDIDATE` directly), which keeps the common case to a few passes in C."""
    if text.isascii():
        data = text.encode("ascii")
        kept = data.translate(None, _ASCII_CONTROLS)
        return text if len(kept) == len(data) else kept.decode("ascii")
    text = unicodedata.normalize("NFKC", text)
    return text if text.isascii() else text.translate(_FOLD)


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


def _found(text: str) -> bool:
    return any(is_identity_number(m.group(1) + m.group(2)) for m in CANDIDATE.finditer(text))


# Machine identifiers, not text (FORMS.md section 6): runs of 16 or more hexadecimal characters
# that hold a letter (digests, XMP's xmp.did: and xmp.iid:, SharePoint's ContentTypeId), and
# GUIDs (8-4-4-4-12 hex digits; XMP's uuid:, the sensitivity labels' custom properties). About
# one 32-digit id in 3,400 holds eleven decimal digits in a row that pass every rule of an
# identity number; an Adobe XMP packet holds several ids, so such files were refused for a number
# nobody wrote. A run of digits alone is no id: it is searched.
_MACHINE_ID = re.compile(
    r"(?<![0-9A-Za-z])\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
    r"[0-9A-Fa-f]{12}\}?(?![0-9A-Za-z])"
    r"|(?<![0-9A-Fa-f])(?=[0-9]*[A-Fa-f])[0-9A-Fa-f]{16,}(?![0-9A-Fa-f])"
)


def contains_identity(text: str) -> bool:
    """True when the text, normalised (`normalise`), holds an identity number outside machine
    ids. The common case, no candidate at all, costs one search; the machine ids are taken out
    only when there is a hit. (No pre-filter: a search for six digits costs more than this
    pattern, measured 2.5x.)"""
    text = normalise(text)
    return _found(text) and _found(_MACHINE_ID.sub("\x00", text))


def without_machine_ids(text: str) -> str:
    """The text with its GUIDs and long hex ids (`_MACHINE_ID`) replaced by a space: for the
    generated XML of an embedded object, searched as document text."""
    return _MACHINE_ID.sub(" ", text) if len(text) >= 16 else text


def identity_numbers(text: str) -> list[str]:
    """The identity numbers in a text, digits only. For the link check at the HF, never logged."""
    out = []
    for m in CANDIDATE.finditer(_MACHINE_ID.sub("\x00", normalise(text))):
        digits = m.group(1) + m.group(2)
        if is_identity_number(digits):
            out.append(digits)
    return out


def one_text(text: str) -> str:
    """A single string (a value, a key, a file name) for the guard: a NUL in it, which an HTML
    parser drops, joins the characters on either side; only between the texts the sweeps join
    is NUL a boundary (`normalise` keeps it)."""
    return text.replace("\x00", "") if "\x00" in text else text


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
        return (one_text(value),)
    if isinstance(value, dict):
        return [t for v in value.values() for t in value_texts(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in value_texts(v)]
    return (str(value),)
