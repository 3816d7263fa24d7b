"""Inputs the service tests share."""

from __future__ import annotations

from collections.abc import Sequence

from services import committee


def decision_body(**overrides: object) -> committee.DecisionInput:
    """A complete decision to grant (`innvilget`, increased benefit met) taken by four
    decision-makers of four regions; the fields of `overrides` instead of the defaults."""
    fields: dict[str, object] = {
        "utfall": "innvilget",
        "kriterier": {
            "okt_nytte": (True, "Klar nytte i fase 2-data."),
            "hoyere_alvorlighet": (False, ""),
            "sarskilte_medisinske_arsaker": (False, ""),
        },
        "begrunnelse": "Komitéen finner at vilkårene er oppfylt.",
        "deltakere": ["k-ahus", "k-hbe", "k-unn", "k-hmr"],
        "foreslar_gruppevurdering": False,
        "gruppevurdering_tekst": "",
        **overrides,
    }
    return committee.DecisionInput(**fields)  # type: ignore[arg-type]


def refusal_decision(deltakere: Sequence[str], **overrides: object) -> committee.DecisionInput:
    """A complete decision to refuse (`avslatt`, no criterion met) taken by `deltakere`; the
    fields of `overrides` instead of the defaults."""
    refusal: dict[str, object] = {
        "utfall": "avslatt",
        "kriterier": {
            "okt_nytte": (False, "Usikker nytte."),
            "hoyere_alvorlighet": (False, ""),
            "sarskilte_medisinske_arsaker": (False, ""),
        },
        "begrunnelse": "Vilkårene er ikke oppfylt.",
        "deltakere": list(deltakere),
    }
    return decision_body(**{**refusal, **overrides})
