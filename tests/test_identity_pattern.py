"""The candidate pattern of the identity guard (FORMS.md section 6) in its fast form (issue #9).

`identity.CANDIDATE` puts the first digit before its look-behind so that the regex engine can skip
to the next digit; it must find exactly what the plain form with the look-behind first finds."""

from __future__ import annotations

import random
import re

from processor import identity

PLAIN = re.compile(r"(?<!\d)(\d{6})[ .\-\u00a0\u202f]?(\d{5})(?!\d)")
ALPHABET = "0123456789" * 3 + " .-\u00a0\u202fx\n\u0661\u0662"


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
