"""processor/domain.py: the enums of roles, states and form types with their labels, the case-id
and HF-code readers, and the one recusal rule (WORKFLOW.md sections 1-3 and 6)."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date

import pytest

from forms.catalog import FORM_IDS, catalogue
from processor import domain, routing
from processor.domain import (
    BY_ACTION,
    CASE_FORM_TYPES,
    MINIHTA_ATTACHMENTS,
    ROLES,
    RULES,
    STATE_LABELS,
    STATES,
    FormType,
    Role,
    State,
    case_key,
    hf_code,
    recusal_ground,
    recused,
)
from processor.validate import REFERENCE
from tests.conftest import ROOT

WORKFLOW = (ROOT.parent / "shared" / "spec" / "WORKFLOW.md").read_text("utf-8")


def _section(number: int) -> str:
    return WORKFLOW.split(f"\n## {number}.")[1].split("\n## ")[0]


def _diagram_states(section: str) -> dict[str, str | None]:
    """State id -> Norwegian label (None where the diagram gives none), from the code block."""
    block = section.split("```")[1]
    out: dict[str, str | None] = {}
    for m in re.finditer(r"\b([a-z_]+)\b(?: \(([^)]+)\))?", block):
        if m.group(1) in ("any", "state", "before", "new", "version", "from", "the", "hf"):
            continue
        label = m.group(2).split(":")[0] if m.group(2) else None
        out[m.group(1)] = out.get(m.group(1)) or label
    return out


# ---- the enums are the contract's ids, with its labels -------------------------------------------


def test_states_are_the_workflow_states_with_their_labels():
    applications, minihta = _diagram_states(_section(2)), _diagram_states(_section(6))
    spec = {k: applications.get(k) or minihta.get(k) for k in applications | minihta}
    assert set(spec) == {s.value for s in State}
    assert sum(label is not None for label in spec.values()) == 8  # as many as the spec names
    for state_id, label in spec.items():
        if label is not None:
            assert State(state_id).label == label


def test_roles_are_the_workflow_roles():
    spec = re.findall(r"^\| `([a-z]+)` \|", _section(1), re.MULTILINE)
    assert spec and [r.value for r in Role] == spec


def test_form_types_are_the_catalogue_forms():
    assert [t.value for t in FormType] == list(FORM_IDS)
    assert set(CASE_FORM_TYPES) | set(MINIHTA_ATTACHMENTS) | {FormType.TILGANG_DEL1} == set(
        FormType
    )
    for form_type in MINIHTA_ATTACHMENTS + (FormType.MINIHTA,):
        assert form_type.label == catalogue()[form_type].short_name
    for form_type in (FormType.TILGANG_DEL1, FormType.TILGANG_DEL2):
        assert catalogue()[form_type].name.startswith(form_type.label.split(",")[0])


@pytest.mark.parametrize("enum", [State, Role, FormType])
def test_a_member_is_its_id_everywhere_text_is_made(enum):
    for member in enum:
        value = member.value
        assert member == value and hash(member) == hash(value) and enum(value) is member
        assert str(member) == f"{member}" == value
        assert json.loads(json.dumps({member: [member]})) == {value: [value]}
        assert member.label and member.short
    labels = [m.label for m in enum]
    assert len(set(labels)) == len(labels), "two members with one label"


def test_derived_names_follow_the_enums():
    assert tuple(State) == STATES and tuple(Role) == ROLES
    assert {s.value: s.label for s in State} == STATE_LABELS
    assert {"mottatt": 1}[State.MOTTATT] == 1 and STATE_LABELS["trukket"] == State.TRUKKET.label
    # the short names differ only where the flow picture shortens them
    assert [s for s in State if s.short != s.label] == [State.RETURNERT, State.TRUKKET]


def test_the_rules_speak_in_enum_members():
    for table in (RULES, BY_ACTION):
        for form_type, from_, to in table:
            assert isinstance(form_type, FormType) and form_type in CASE_FORM_TYPES
            assert isinstance(from_, State) and isinstance(to, State)
    for rule in RULES.values():
        assert rule.roles and all(isinstance(r, Role) for r in rule.roles)


# ---- case ids and HF codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (" 2026-03-14-ous-kreft\n", "2026-03-14-OUS-KREFT"),
        ("\t2026-03-14-Ous-Kreft-2 ", "2026-03-14-OUS-KREFT-2"),
        ("mmv-2026-001", "MMV-2026-001"),
        ("2026-03-14-OUS-KREFT", "2026-03-14-OUS-KREFT"),
        ("   ", ""),
    ],
)
def test_case_key_is_the_stored_form_of_a_typed_case_id(typed, kept):
    assert case_key(typed) == kept
    assert case_key(kept) == kept


def test_case_key_makes_a_lower_case_reference_valid():
    typed = " 2026-03-14-ahus-gyn-3 "
    assert not REFERENCE.match(typed)
    assert REFERENCE.match(case_key(typed))


def test_hf_code():
    assert hf_code(" ous ") == "OUS" and hf_code("Ahus") == "AHUS"
    assert hf_code(None) == "" and hf_code("") == "" and hf_code("  ") == ""


# ---- recusal: one rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "applying", "catchment", "expected"),
    [
        ("OUS", "OUS", None, True),  # the applying HF
        ("AHUS", "OUS", "AHUS", True),  # the patient's catchment HF
        ("OUS", "OUS", "AHUS", True),  # the applying HF, also with another catchment
        ("HMN", "OUS", "AHUS", False),
        ("HMN", "OUS", None, False),
        (" ous ", "OUS", "", True),  # empty catchment: the applying HF; codes read as codes
        ("ahus", "OUS", " ahus", True),
        (None, "OUS", None, False),  # a member without an HF is recused from nothing
        ("", "", "", False),
    ],
)
def test_recused(member, applying, catchment, expected):
    assert recused(member, applying, catchment) is expected


@pytest.mark.parametrize(
    ("member", "applying", "catchment", "expected"),
    [
        ("OUS", "OUS", None, "eget helseforetak"),
        ("OUS", "OUS", "AHUS", "eget helseforetak"),  # own HF first, also with a catchment
        ("AHUS", "OUS", "AHUS", "pasientens opptaksområde"),
        (" ahus", "OUS", "AHUS ", "pasientens opptaksområde"),
        ("HMN", "OUS", "AHUS", None),
        (None, "OUS", None, None),
    ],
)
def test_recusal_ground_names_why(member, applying, catchment, expected):
    assert recusal_ground(member, applying, catchment) == expected
    assert recused(member, applying, catchment) is (expected is not None)


def test_routing_asks_the_domain_rule():
    codes = [None, "", "OUS", "ous ", "AHUS"]
    for member_hf, case_hf, catchment in itertools.product(codes, repeat=3):
        member = routing.Member("m", "M", member_hf or "", beslutningstaker=True)  # type: ignore[arg-type]
        case = routing.CaseRef("C", case_hf or "", catchment, date(2026, 1, 5))
        assert routing.recused(member, case) is domain.recused(member_hf, case_hf, catchment)


def test_draft_steps_follow_portal_md() -> None:
    """PORTAL.md sections 1–3: utkast → til_linjeleder → til_fagdirektor → sendt_inn, a return
    goes back to utkast, only utkast is saved or deleted, a mini-HTA has no approvals."""
    from processor.domain import DEL2, DRAFT_STEPS, MINIHTA, DraftState, HfFunction, draft_step

    path = [draft_step(a, DEL2) for a in ("send", "approve_linjeleder", "approve_fagdirektor")]
    assert [(s.from_, s.to) for s in path if s] == [
        (DraftState.UTKAST, DraftState.TIL_LINJELEDER),
        (DraftState.TIL_LINJELEDER, DraftState.TIL_FAGDIREKTOR),
        (DraftState.TIL_FAGDIREKTOR, DraftState.SENDT_INN),
    ]
    assert [s.needs for s in path if s] == list(HfFunction)
    returns = [s for (a, _), s in DRAFT_STEPS.items() if a.startswith("return_")]
    assert returns and all(s.to == DraftState.UTKAST for s in returns)
    changes = [s for (a, _), s in DRAFT_STEPS.items() if a in ("save", "delete")]
    assert {s.from_ for s in changes} == {DraftState.UTKAST}
    assert {s.needs for s in changes} == {None}
    minihta_send = draft_step("send", MINIHTA)
    assert minihta_send is not None and minihta_send.needs is None
    assert minihta_send.to == DraftState.SENDT_INN
    assert draft_step("approve_linjeleder", MINIHTA) is None
    assert not any(s.from_ == DraftState.SENDT_INN for s in DRAFT_STEPS.values())
