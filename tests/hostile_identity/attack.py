"""The attacker's pass (issues #10/#11): numbers hidden by invisible characters that are not
format characters (Cf), so that rule 2's removal of Cf missed them: default-ignorable code points
of other categories (combining grapheme joiner, variation selectors, Hangul filler, Mongolian
free variation selector) and control characters (NUL, which an HTML parser drops, BEL, DEL, a C1
control). Each sits inside a free-text field of a JSON Del 2; the guard removes them now
(`processor.identity._INVISIBLE`)."""

from __future__ import annotations

from datetime import date

from tests.fillers import synthetic_fodselsnummer
from tests.hostile_identity import HostileCase
from tests.spec_support import del2_json

INVISIBLE = {
    "combining-grapheme-joiner": "\u034f",
    "variation-selector-16": "\ufe0f",
    "variation-selector-supplement": "\U000e0100",
    "hangul-filler": "\u3164",
    "mongolian-free-variation-selector": "\u180b",
    "nul": "\x00",
    "bell": "\x07",
    "delete": "\x7f",
    "c1-control": "\x9b",
}


def _number(day: int, wrong: bool) -> str:
    n = synthetic_fodselsnummer(date(1981, 5, day), start=400 + day)
    return n[:10] + str((int(n[10]) + 1) % 10) if wrong else n


def cases(wrong: bool = False) -> list[HostileCase]:
    """The corpus; with `wrong`, the same files with numbers whose last control digit is off."""
    out: list[HostileCase] = []
    for day, (name, ch) in enumerate(INVISIBLE.items(), start=1):
        n = _number(day, wrong)
        # inside the first group, and once more in the ASCII-only form (no other character
        # outside ASCII in the text), where the guard takes its fast path
        text = f"Vurdering {n[:3]}{ch}{n[3:]} slutt"
        data = del2_json(totalvurdering=text)
        out.append(HostileCase(f"attack-{name}", "del2.json", data, n, field="totalvurdering"))
    return out
