"""The candidate pattern of the identity guard (FORMS.md section 6) in its fast form (issue #9).

`identity.CANDIDATE` puts the first digit before its look-behind so that the regex engine can skip
to the next digit; it must find exactly what the plain form with the look-behind first finds."""

from __future__ import annotations

import random
import re

import pytest

from processor import identity

# The plain form over normalised text: ASCII digits, and one space, dot, dash or other ASCII
# whitespace character (read as a space) after the sixth digit.
PLAIN = re.compile(r"(?<![0-9])([0-9]{6})[ .\-\t\n\r\x0b\x0c\x1c-\x1f]?([0-9]{5})(?![0-9])")
ALPHABET = "0123456789" * 3 + " .-\t\n\r\x0b\x1fx/"


def test_fast_pattern_finds_what_the_plain_one_finds():
    rng = random.Random(20261123)
    for _ in range(20_000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
        got = [(m.span(), m.groups()) for m in identity.CANDIDATE.finditer(text)]
        want = [(m.span(), m.groups()) for m in PLAIN.finditer(text)]
        assert got == want, text


def test_a_number_in_a_long_text_is_found():
    text = "x" * 5000 + " 0101012345 " + "doi 10.1056/NEJMoa1606774 "
    assert identity.contains_identity(text) == identity.contains_identity(text[5000:])


# ---- normalisation before the search (FORMS.md section 6, rule 2) --------------------------------

NUMBER = "15888512389"  # synthetic (month + 80), control digits valid


def fullwidth(digits: str) -> str:
    return "".join(chr(0xFF10 + int(c)) for c in digits)


def arabic_indic(digits: str) -> str:
    return "".join(chr(0x0660 + int(c)) for c in digits)


def test_the_synthetic_number_is_identity():
    assert identity.is_identity_number(NUMBER)


@pytest.mark.parametrize(
    "text",
    [
        NUMBER,
        fullwidth(NUMBER),
        arabic_indic(NUMBER),
        "Pasient " + fullwidth(NUMBER[:6]) + " " + NUMBER[6:],
        NUMBER[:3] + "\u200b" + NUMBER[3:],  # zero-width space
        NUMBER[:5] + "\u00ad" + NUMBER[5:],  # soft hyphen
        NUMBER[:2] + "\u2060" + NUMBER[2:],  # word joiner
        NUMBER[:6] + "\u2013" + NUMBER[6:],  # en dash
        NUMBER[:6] + "\u2212" + NUMBER[6:],  # minus sign
        NUMBER[:6] + "\u2011" + NUMBER[6:],  # non-breaking hyphen
        NUMBER[:6] + "\u00a0" + NUMBER[6:],
        NUMBER[:6] + "\u3000" + NUMBER[6:],  # ideographic space
        NUMBER[:6] + "\t" + NUMBER[6:],
        NUMBER[:6] + "\n" + NUMBER[6:],
        NUMBER[:6] + "\ufe63" + NUMBER[6:],  # small hyphen-minus (NFKC: "-")
        "fnr:" + NUMBER,
    ],
)
def test_a_number_written_otherwise_is_found(text):
    assert identity.contains_identity(text)


@pytest.mark.parametrize(
    "text",
    [
        NUMBER[:6] + "/" + NUMBER[6:],  # a slash is no separator
        NUMBER[:6] + "  " + NUMBER[6:],  # two separators
        NUMBER + "1",
        "1" + fullwidth(NUMBER),
        "deadbeef" + NUMBER + "cafe",  # a run of 16+ hex characters with a letter: a machine id
        "{01234567-89ab-cdef-0123-" + NUMBER[:11] + "0}",
        "\x00".join([NUMBER[:6], NUMBER[6:]]),  # NUL joins the guard's texts, never a number
    ],
)
def test_what_is_no_identity_stays_accepted(text):
    assert not identity.contains_identity(text)


def test_a_number_failing_the_control_digits_is_not_identity_in_any_writing():
    wrong = NUMBER[:10] + str((int(NUMBER[10]) + 1) % 10)
    for text in (wrong, fullwidth(wrong), wrong[:6] + "\u2013" + wrong[6:]):
        assert not identity.contains_identity(text)


def test_normalise_keeps_ascii_as_it_is_and_folds_the_rest():
    assert identity.normalise("abc 123") == "abc 123"
    assert identity.normalise("a\u200bb\u2014c\u2003d" + fullwidth("12")) == "ab-c d12"
