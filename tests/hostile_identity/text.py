"""Hostile JSON files: numbers written so that a plain digit search misses them, and JSON whose
parser would silently drop the copy that holds the number (FORMS.md section 6, rule 2)."""

from __future__ import annotations

import json
from datetime import date

from tests.fillers import synthetic_fodselsnummer
from tests.hostile_identity import HostileCase
from tests.spec_support import DEL2_VALUES, del2_json, nest


def _number(day: int, wrong: bool) -> str:
    n = synthetic_fodselsnummer(date(1979, 3, day), start=200 + day)
    return n[:10] + str((int(n[10]) + 1) % 10) if wrong else n


def _fullwidth(digits: str) -> str:
    return "".join(chr(0xFF10 + int(c)) for c in digits)


def _valid() -> dict:
    return nest(dict(DEL2_VALUES))


def cases(wrong: bool = False) -> list[HostileCase]:
    """The corpus; with `wrong`, the same files with numbers whose last control digit is off
    (no identity: they must not be refused for it)."""
    out: list[HostileCase] = []

    def field(name: str, fid: str, writing: object, number: str) -> None:
        data = del2_json(**{fid: writing})
        out.append(HostileCase(f"text-{name}", "del2.json", data, number, field=fid))

    n = _number(1, wrong)
    field("fullwidth-digits", "totalvurdering", f"Pasient {_fullwidth(n)}.", n)
    n = _number(2, wrong)
    field("zero-width-space", "pasient.sykehistorie", f"{n[:4]}\u200b{n[4:]}", n)
    n = _number(3, wrong)
    field("en-dash", "pasient.funksjonsniva", f"{n[:6]}\u2013{n[6:]}", n)
    n = _number(4, wrong)
    field("soft-hyphen-and-nbsp", "behandling.dosering", f"{n[:2]}\u00ad{n[2:6]}\u00a0{n[6:]}", n)
    n = _number(5, wrong)
    field("minus-sign", "behandling.varighet", f"{n[:6]}\u2212{n[6:]}", n)
    n = _number(6, wrong)
    field("tab-separator", "behandling.stoppkriterier", f"{n[:6]}\t{n[6:]}", n)
    n = _number(7, wrong)
    arabic = "".join(chr(0x0660 + int(c)) for c in n)
    field("arabic-indic-digits", "behandling.evalueringsplan", arabic, n)
    n = _number(8, wrong)
    field("word-joiner", "soknad.soker_navn", f"Lege {n[:3]}\u2060{n[3:]}", n)

    # json.loads keeps the last copy of a key; the first held the number
    n = _number(9, wrong)
    head = json.dumps(_valid())[:-1]
    dup = head + f', "soknad": {{"soker_navn": "{n}"}}, ' + json.dumps(_valid())[1:]
    out.append(HostileCase("text-duplicate-key-first-copy", "del2.json", dup.encode(), n))
    # an unknown key and a JSON number
    n = _number(10, wrong)
    doc = _valid()
    doc[f"merknad {n}"] = "x"
    out.append(HostileCase("text-in-a-key", "del2.json", json.dumps(doc).encode(), n))
    n = _number(11, wrong)
    doc = _valid()
    doc["ekstra"] = {"nummer": int(n)}
    out.append(HostileCase("text-json-number", "del2.json", json.dumps(doc).encode(), n))
    n = _number(12, wrong)
    doc = _valid()
    doc["ekstra"] = ["a", f"{n[:6]} {n[6:]}"]
    out.append(HostileCase("text-list-of-strings", "del2.json", json.dumps(doc).encode(), n))
    n = _number(13, wrong)
    escaped = "".join(f"\\u{ord(c):04x}" for c in n)
    raw = json.dumps(_valid())[:-1] + f', "ekstra": "{escaped}"}}'
    out.append(HostileCase("text-unicode-escapes", "del2.json", raw.encode(), n))
    n = _number(14, wrong)
    out.append(
        HostileCase("text-file-name-fullwidth", f"del2-{_fullwidth(n)}.json", del2_json(), n)
    )
    return out
