"""A hostile corpus for the identity guard (FORMS.md section 6, issue #10).

Each submodule builds files that carry a valid identity number (always a synthetic test number,
month + 80) in one place an extractor might not read, and exposes `cases() -> list[HostileCase]`.
`all_cases()` gathers every submodule's cases, so the unit tests (`check`) and the end-to-end test
(upload through the real server, then a scan of the whole instance) run over the same corpus.
Nothing here is written to disk: the files are built in memory by the tests.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class HostileCase:
    name: str  # short, unique test id, e.g. "pdf-earlier-revision"
    filename: str  # the name the file is uploaded under
    data: bytes  # the file itself
    number: str  # the 11 identity digits it carries (synthetic: month + 80)
    field: str | None = None  # the field id a finding must name, or None for a place


def all_cases() -> list[HostileCase]:
    out: list[HostileCase] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        out.extend(module.cases())
    names = [c.name for c in out]
    assert len(names) == len(set(names)), "hostile case names must be unique"
    return out
