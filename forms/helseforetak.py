"""The HF registry (`data/helseforetak.json`): the health trusts and their regions, and the
choices of an `hf` field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from forms.fields import Choice


@dataclass(frozen=True)
class Trust:
    code: str
    name: str
    region: str
    kind: str


@dataclass(frozen=True)
class Registry:
    version: str
    regions: dict[str, str]
    trusts: dict[str, Trust]

    def region_of(self, hf: str) -> str | None:
        t = self.trusts.get(hf)
        return t.region if t else None


@cache
def registry() -> Registry:
    raw = json.loads(resources.files("forms").joinpath("data/helseforetak.json").read_text("utf-8"))
    return Registry(
        version=raw["version"],
        regions={r["code"]: r["name"] for r in raw["regions"]},
        trusts={
            t["code"]: Trust(t["code"], t["name"], t["region"], t["kind"]) for t in raw["trusts"]
        },
    )


def hf_choices() -> tuple[Choice, ...]:
    return tuple(Choice(t.code, t.name) for t in registry().trusts.values())
