"""The domain words, in one place: roles, states and form types as `StrEnum`s whose values are the
contract's ids (`State.MOTTATT == "mottatt"`) and which carry their Norwegian labels; the state
machine of WORKFLOW.md sections 2 and 6, as data; how a case id and an HF code are read
(`case_key`, `hf_code`); and the recusal rule of section 3 (`recused`). Pure: no I/O, no
framework. `tests/test_layers.py` fails when one of these is written out again elsewhere.

`RULES` lists the transitions a person asks for with `services.transition`; the others happen as a
side effect of another action (`BY_ACTION` names it, so the refusal can say where to go).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Self


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
    form_type: FormType
    from_: State
    to: State
    roles: frozenset[Role]
    needs_reason: bool = False
    own_hf: bool = False  # the actor must belong to the case's HF


class _Labelled(StrEnum):
    """A contract id (the value: database, API and spec use it) with its Norwegian label, and a
    shorter label where one is used (the flow picture of the figures names states briefly)."""

    label: str
    short: str

    def __new__(cls, value: str, label: str, short: str | None = None) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.short = short or label
        return member


class Role(_Labelled):
    HF = "hf", "Helseforetak"
    KOORDINATOR = "koordinator", "Koordinator"
    PRISKONTROLL = "priskontroll", "Priskontroll"
    KOMITE = "komite", "Vurderingskomité"
    FAGFELLE = "fagfelle", "Fagfelle"
    ADMIN = "admin", "Drift"


class State(_Labelled):
    """WORKFLOW.md sections 2 (tilgang-del2) and 6 (mini-HTA), in workflow order."""

    MOTTATT = "mottatt", "Mottatt"
    RETURNERT = "returnert", "Returnert for supplering", "Returnert"
    PRISKONTROLL = "priskontroll", "Til priskontroll"
    KLAR = "klar", "Klar for vurdering"
    SATT_OPP = "satt_opp", "Satt opp til møte"
    AVGJORT = "avgjort", "Avgjort"
    TRUKKET = "trukket", "Trukket av helseforetaket", "Trukket"
    TIL_FAGFELLE = "til_fagfelle", "Til fagfellevurdering"
    FAGFELLEVURDERT = "fagfellevurdert", "Fagfellevurdert"
    BESLUTTET = "besluttet", "Besluttet"
    PUBLISERT = "publisert", "Publisert"


class FormType(_Labelled):
    """The forms of FORMS.md and MINIHTA.md (`forms.catalog.FORM_IDS`). A case is a
    `TILGANG_DEL2` or a `MINIHTA`; the others are read with (del 1) or attached to one."""

    TILGANG_DEL1 = "tilgang-del1", "Søknad om individuell tilgang, del 1"
    TILGANG_DEL2 = "tilgang-del2", "Søknad om individuell tilgang"
    MINIHTA = "minihta", "Mini-metodevurdering"
    MINIHTA_OKONOMI = "minihta-okonomi", "Økonomivedlegg"
    MINIHTA_FAGFELLE = "minihta-fagfelle", "Fagfellevurdering"
    MINIHTA_BESLUTNING = "minihta-beslutning", "Beslutning"


class Outcome(_Labelled):
    """The committee's decision on an application (WORKFLOW.md section 5)."""

    INNVILGET = "innvilget", "Innvilget"
    AVSLATT = "avslatt", "Avslått"


# Derived names for the tables' CHECK constraints and older callers.
ROLES = tuple(Role)
STATES = tuple(State)
STATE_LABELS: dict[str, str] = {s: s.label for s in State}

DEL2 = FormType.TILGANG_DEL2
MINIHTA = FormType.MINIHTA
CASE_FORM_TYPES = (DEL2, MINIHTA)
MINIHTA_ATTACHMENTS = (
    FormType.MINIHTA_OKONOMI,
    FormType.MINIHTA_FAGFELLE,
    FormType.MINIHTA_BESLUTNING,
)
"""Forms that are attached to a mini-HTA case rather than making one."""

BEFORE_DECISION = (State.MOTTATT, State.RETURNERT, State.PRISKONTROLL, State.KLAR, State.SATT_OPP)


# ---- case ids, HF codes, recusal ------------------------------------------------------------------


def case_key(text: str) -> str:
    """A case id as a person or a file writes it, as the database keeps it: surrounding white
    space dropped, upper case (`" 2026-03-14-ous-kreft "` → `"2026-03-14-OUS-KREFT"`,
    `"mmv-2026-001"` → `"MMV-2026-001"`). Not a validation: an empty or malformed id stays so."""
    return text.strip().upper()


def hf_code(code: str | None) -> str:
    """An HF code (`ous` → `OUS`); `""` for none."""
    return (code or "").strip().upper()


def recused(member_hf: str | None, case_hf: str | None, catchment: str | None) -> bool:
    """WORKFLOW.md section 3: a committee member is recused from a case when their HF is the
    applying HF or the patient's catchment HF (no catchment given = the applying HF). A member
    without an HF is recused from nothing."""
    return recusal_ground(member_hf, case_hf, catchment) is not None


def recusal_ground(member_hf: str | None, case_hf: str | None, catchment: str | None) -> str | None:
    """Why the member is recused (`recused`), in Norwegian: "eget helseforetak" (the member's HF
    applies) or "pasientens opptaksområde"; None when the member is not recused."""
    own = hf_code(member_hf)
    applying = hf_code(case_hf)
    if own == "":
        return None
    if own == applying:
        return "eget helseforetak"
    if own == (hf_code(catchment) or applying):
        return "pasientens opptaksområde"
    return None


_K = frozenset({Role.KOORDINATOR})
_HF = frozenset({Role.HF})

RULES: dict[tuple[str, str, str], Rule] = {
    (r.form_type, r.from_, r.to): r
    for r in [
        Rule(DEL2, State.MOTTATT, State.RETURNERT, _K, needs_reason=True),
        Rule(DEL2, State.MOTTATT, State.PRISKONTROLL, _K),
        *(Rule(DEL2, s, State.TRUKKET, _HF, own_hf=True) for s in BEFORE_DECISION),
        Rule(MINIHTA, State.MOTTATT, State.RETURNERT, _K, needs_reason=True),
        Rule(MINIHTA, State.BESLUTTET, State.PUBLISERT, _K),
    ]
}

BY_ACTION: dict[tuple[str, str, str], str] = {
    (
        DEL2,
        State.RETURNERT,
        State.MOTTATT,
    ): "Saken går tilbake til «Mottatt» når helseforetaket sender inn en ny versjon.",
    (DEL2, State.PRISKONTROLL, State.KLAR): "Saken blir «Klar for vurdering» når priskontrollen er "
    "registrert.",
    (DEL2, State.KLAR, State.SATT_OPP): "Saken settes opp til møte av møteplanleggingen.",
    (DEL2, State.SATT_OPP, State.AVGJORT): "Saken avgjøres når vedtaket registreres.",
    (
        MINIHTA,
        State.RETURNERT,
        State.MOTTATT,
    ): "Saken går tilbake til «Mottatt» når helseforetaket sender inn en ny versjon.",
    (
        MINIHTA,
        State.MOTTATT,
        State.TIL_FAGFELLE,
    ): "Saken går til fagfellevurdering når en fagfelle tildeles.",
    (
        MINIHTA,
        State.TIL_FAGFELLE,
        State.FAGFELLEVURDERT,
    ): "Saken blir fagfellevurdert når fagfellen sender inn skjema 2.",
    (
        MINIHTA,
        State.FAGFELLEVURDERT,
        State.BESLUTTET,
    ): "Saken blir besluttet når helseforetaket sender inn skjema 3.",
}


# ---- drafts and sign-off (PORTAL.md) -------------------------------------------------------------


class DraftState(_Labelled):
    """PORTAL.md section 1: the states of a draft, in order."""

    UTKAST = "utkast", "Utkast"
    TIL_LINJELEDER = "til_linjeleder", "Til godkjenning hos linjeleder"
    TIL_FAGDIREKTOR = "til_fagdirektor", "Til godkjenning hos fagdirektør"
    SENDT_INN = "sendt_inn", "Sendt inn"


class HfFunction(_Labelled):
    """PORTAL.md section 2: what an `hf` user may do in the sign-off."""

    LEGE = "lege", "Lege"
    LINJELEDER = "linjeleder", "Linjeleder"
    FAGDIREKTOR = "fagdirektor", "Fagdirektør"


DRAFT_STATES = tuple(DraftState)
HF_FUNCTIONS = tuple(HfFunction)
DRAFT_FORM_TYPES = (DEL2, MINIHTA)
"""The forms a draft can be of (PORTAL.md section 1)."""


@dataclass(frozen=True)
class DraftStep:
    """What an action on a draft needs and does: the function the actor must have (None: any
    `hf` user), the state the draft must be in, and the state it goes to."""

    action: str
    form_type: FormType
    needs: HfFunction | None
    from_: DraftState
    to: DraftState


def _draft_steps() -> dict[tuple[str, str], DraftStep]:
    u, ll, fd, si = (
        DraftState.UTKAST,
        DraftState.TIL_LINJELEDER,
        DraftState.TIL_FAGDIREKTOR,
        DraftState.SENDT_INN,
    )
    steps = [
        *(DraftStep("save", f, None, u, u) for f in DRAFT_FORM_TYPES),
        *(DraftStep("delete", f, None, u, u) for f in DRAFT_FORM_TYPES),
        DraftStep("send", DEL2, HfFunction.LEGE, u, ll),
        DraftStep("send", MINIHTA, None, u, si),  # a mini-HTA is submitted at once
        DraftStep("approve_linjeleder", DEL2, HfFunction.LINJELEDER, ll, fd),
        DraftStep("return_linjeleder", DEL2, HfFunction.LINJELEDER, ll, u),
        DraftStep("approve_fagdirektor", DEL2, HfFunction.FAGDIREKTOR, fd, si),
        DraftStep("return_fagdirektor", DEL2, HfFunction.FAGDIREKTOR, fd, u),
    ]
    return {(s.action, s.form_type): s for s in steps}


DRAFT_STEPS: dict[tuple[str, str], DraftStep] = _draft_steps()
"""(action, form type) → the step: who may take it, from which state, to which. An action
without an entry for the form (a mini-HTA has no approvals) is never allowed."""

DRAFT_CHECKS = (
    "FORBIDDEN",
    "NOT_FOUND",
    "FUNCTION_REQUIRED",
    "STALE_STATE",
    "INVALID_TRANSITION",
    "FOUR_EYES",
    "content",
)
"""PORTAL.md section 3, last bullet: the order in which a draft action is checked (after 401);
"content" is INVALID_REQUEST, INVALID_VALUE, REASON_REQUIRED, IDENTITY_FOUND, DRAFT_INCOMPLETE,
UPLOADER_HF_MISMATCH and REFERENCE_IN_USE."""


def draft_step(action: str, form_type: str) -> DraftStep | None:
    """The step of `action` on a draft of `form_type`; None: never allowed for that form."""
    return DRAFT_STEPS.get((action, form_type))
