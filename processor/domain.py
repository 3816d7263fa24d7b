"""The domain words: roles, states and their Norwegian labels, form types, and the state machine of
WORKFLOW.md sections 2 and 6, as data.

`RULES` lists the transitions a person asks for with `services.transition`; the others happen as a
side effect of another action (`BY_ACTION` names it, so the refusal can say where to go).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol


class Principal(Protocol):
    """The acting user: an ORM `User` or a plain `Actor`."""

    @property
    def username(self) -> str: ...

    @property
    def roles(self) -> Collection[str]: ...

    @property
    def hf(self) -> str | None: ...


@dataclass(frozen=True)
class Actor:
    """A user as services need it, detached from any session."""

    username: str
    roles: frozenset[str] = frozenset()
    hf: str | None = None

    @classmethod
    def of(cls, user: Principal) -> Actor:
        return cls(user.username, frozenset(user.roles), user.hf)


@dataclass(frozen=True)
class Rule:
    form_type: str
    from_: str
    to: str
    roles: frozenset[str]
    needs_reason: bool = False
    own_hf: bool = False  # the actor must belong to the case's HF


ROLES = ("hf", "koordinator", "priskontroll", "komite", "fagfelle", "admin")

# WORKFLOW.md sections 2 (tilgang-del2) and 6 (mini-HTA)
STATES = (
    "mottatt",
    "returnert",
    "priskontroll",
    "klar",
    "satt_opp",
    "avgjort",
    "trukket",
    "til_fagfelle",
    "fagfellevurdert",
    "besluttet",
    "publisert",
)

STATE_LABELS = {
    "mottatt": "Mottatt",
    "returnert": "Returnert for supplering",
    "priskontroll": "Til priskontroll",
    "klar": "Klar for vurdering",
    "satt_opp": "Satt opp til møte",
    "avgjort": "Avgjort",
    "trukket": "Trukket av helseforetaket",
    "til_fagfelle": "Til fagfellevurdering",
    "fagfellevurdert": "Fagfellevurdert",
    "besluttet": "Besluttet",
    "publisert": "Publisert",
}

CASE_FORM_TYPES = ("tilgang-del2", "minihta")

DEL2 = "tilgang-del2"
MINIHTA = "minihta"
BEFORE_DECISION = ("mottatt", "returnert", "priskontroll", "klar", "satt_opp")

_K = frozenset({"koordinator"})
_HF = frozenset({"hf"})

RULES: dict[tuple[str, str, str], Rule] = {
    (r.form_type, r.from_, r.to): r
    for r in [
        Rule(DEL2, "mottatt", "returnert", _K, needs_reason=True),
        Rule(DEL2, "mottatt", "priskontroll", _K),
        *(Rule(DEL2, s, "trukket", _HF, own_hf=True) for s in BEFORE_DECISION),
        Rule(MINIHTA, "mottatt", "returnert", _K, needs_reason=True),
        Rule(MINIHTA, "besluttet", "publisert", _K),
    ]
}

BY_ACTION: dict[tuple[str, str, str], str] = {
    (DEL2, "returnert", "mottatt"): "Saken går tilbake til «Mottatt» når helseforetaket sender inn "
    "en ny versjon.",
    (DEL2, "priskontroll", "klar"): "Saken blir «Klar for vurdering» når priskontrollen er "
    "registrert.",
    (DEL2, "klar", "satt_opp"): "Saken settes opp til møte av møteplanleggingen.",
    (DEL2, "satt_opp", "avgjort"): "Saken avgjøres når vedtaket registreres.",
    (MINIHTA, "returnert", "mottatt"): "Saken går tilbake til «Mottatt» når helseforetaket sender "
    "inn en ny versjon.",
    (
        MINIHTA,
        "mottatt",
        "til_fagfelle",
    ): "Saken går til fagfellevurdering når en fagfelle tildeles.",
    (MINIHTA, "til_fagfelle", "fagfellevurdert"): "Saken blir fagfellevurdert når fagfellen sender "
    "inn skjema 2.",
    (MINIHTA, "fagfellevurdert", "besluttet"): "Saken blir besluttet når helseforetaket sender inn "
    "skjema 3.",
}
