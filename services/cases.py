"""The case services: a state transition, the price check, urgency, and the diff of two versions
(WORKFLOW.md sections 2 and 6).

Each function checks everything before it changes anything, changes the case, appends the audit
event in the same transaction (`services.steps`) and commits. A refusal is a `DomainError` with a
code and a Norwegian message. Nothing here imports Flask or the web layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from processor.domain import BY_ACTION, DEL2, MINIHTA, RULES, Principal, State, case_key
from processor.errors import DomainError, Forbidden, StaleState
from services import minihta, outbox
from services.access import can_see
from services.steps import (
    clean_reason,
    ensure_open,
    move_case,
    open_case,
    reason_digest,
    record_change,
)
from storage.models import Case, PriceCheck
from storage.uow import AbstractUnitOfWork, ConcurrentUpdate

__all__ = ["FieldChange", "diff", "flatten", "price_check", "set_urgent", "transition"]


# ---- transitions --------------------------------------------------------------------------------


def transition(
    user: Principal,
    case_id: str,
    from_: str,
    to: str,
    reason: str | None,
    uow: AbstractUnitOfWork,
) -> Case:
    """Move a case from `from_` (the state the actor saw) to `to` (WORKFLOW.md sections 2, 6).

    Raises NOT_FOUND (also for a case the user may not know of), CASE_DECIDED (a decided case is
    read-only), INVALID_TRANSITION, FORBIDDEN, REASON_REQUIRED, and STALE_STATE when the case is
    no longer in `from_`.
    """
    try:
        with uow:
            case = open_case(user, case_id, uow)
            key = (case.form_type, from_, to)
            rule = RULES.get(key)
            if rule is None:
                raise DomainError("INVALID_TRANSITION", BY_ACTION.get(key))
            if not (set(user.roles) & rule.roles) or (rule.own_hf and case.hf != user.hf):
                raise Forbidden("Du har ikke tilgang til å gjøre denne statusendringen.")
            clean = clean_reason(reason)
            if rule.needs_reason and clean is None:
                raise DomainError("REASON_REQUIRED", "En retur må ha minst én begrunnelse.")
            if case.state != from_:
                raise StaleState(current=case.state)
            move_case(user, case, to, clean, uow)
            if to == State.RETURNERT:
                outbox.case_returned(uow, case)
            if case.form_type == MINIHTA and to == State.PUBLISERT:
                minihta.publish(case, uow)
            uow.commit()
    except ConcurrentUpdate:
        raise StaleState() from None
    return case


def _left_price_check(user: Principal, case_id: str, uow: AbstractUnitOfWork) -> None:
    """The second of two price checkers at once: the case has left the price check (and with it
    their sight, `can_see`) but they did see it there. They get the answer of WORKFLOW.md
    section 2 for a case that moved on (CASE_DECIDED or STALE_STATE, 409), no data of it."""
    if "priskontroll" not in set(user.roles):
        return
    case = uow.cases.get(case_key(case_id))
    if case is None or not case.price_checks or can_see(user, case):
        return
    ensure_open(case)
    raise StaleState(
        "Saken er ikke lenger til priskontroll (noen andre har registrert den). "
        "Gå tilbake til køen."
    )


def price_check(
    user: Principal,
    case_id: str,
    monthly_cost: float,
    note: str | None,
    uow: AbstractUnitOfWork,
) -> Case:
    """Sykehusinnkjøp confirms or corrects the monthly drug cost; the case becomes `klar`.

    A corrected amount needs a note. CASE_DECIDED for a decided case, STALE_STATE when the case is
    no longer in `priskontroll`.
    """
    if (
        isinstance(monthly_cost, bool)
        or not isinstance(monthly_cost, int | float)
        or not math.isfinite(monthly_cost)
        or monthly_cost < 0
    ):
        raise DomainError(
            "INVALID_VALUE",
            "Legemiddelkostnaden må være et tall som ikke er negativt.",
            field="legemiddel_per_maned",
        )
    try:
        with uow:
            _left_price_check(user, case_id, uow)
            case = open_case(user, case_id, uow)
            if case.form_type != DEL2:
                raise DomainError("INVALID_TRANSITION", "Saken skal ikke til priskontroll.")
            if "priskontroll" not in set(user.roles):
                raise Forbidden()
            clean = clean_reason(note, field="merknad")
            latest = case.latest
            stated = (
                (latest.data.get("kostnader") or {}).get("legemiddel_per_maned") if latest else None
            )
            stated = stated if isinstance(stated, int | float) else None
            corrected = stated is None or float(stated) != float(monthly_cost)
            if corrected and clean is None:
                raise DomainError(
                    "REASON_REQUIRED",
                    "Skriv en merknad når legemiddelkostnaden korrigeres.",
                    field="merknad",
                )
            if case.state != State.PRISKONTROLL:
                raise StaleState(current=case.state)
            now = uow.now()
            case.price_checks.append(
                PriceCheck(
                    stated_per_month=stated,
                    confirmed_per_month=float(monthly_cost),
                    corrected=corrected,
                    note=clean or "",
                    actor=user.username,
                    at=now,
                )
            )
            move_case(
                user,
                case,
                State.KLAR,
                clean,
                uow,
                action="case.price_check",
                extra={"corrected": corrected},
            )
            uow.commit()
    except ConcurrentUpdate:
        raise StaleState() from None
    return case


def set_urgent(
    user: Principal, case_id: str, urgent: bool, reason: str | None, uow: AbstractUnitOfWork
) -> Case:
    """The coordinator marks a case urgent (`hast`, with a reason) or not urgent.

    CASE_DECIDED for a decided case (read-only)."""
    try:
        with uow:
            case = open_case(user, case_id, uow)
            if "koordinator" not in set(user.roles):
                raise Forbidden()
            clean = clean_reason(reason)
            if urgent and clean is None:
                raise DomainError("REASON_REQUIRED", "En hastesak må ha en begrunnelse.")
            case.urgent = urgent
            case.urgent_reason = clean if urgent else None
            record_change(
                uow,
                case,
                user.username,
                "case.urgent",
                uow.now(),
                {"urgent": urgent, "reason_sha256": reason_digest(clean)},
            )
            uow.commit()
    except ConcurrentUpdate:
        raise StaleState() from None
    return case


# ---- versions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Canonical JSON to field ids: nested keys joined by dots, array rows numbered from 1."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list):
        for i, value in enumerate(data, 1):
            out.update(flatten(value, f"{prefix}.{i}"))
    else:
        out[prefix] = data
    return out


def diff(case: Case, v1: int, v2: int) -> list[FieldChange]:
    """The fields that differ between two versions of a case, in the order of the newer form."""
    a, b = case.get_version(v1), case.get_version(v2)
    if a is None or b is None:
        raise DomainError("VERSION_NOT_FOUND")
    old, new = flatten(a.data), flatten(b.data)
    keys = list(new) + [k for k in old if k not in new]
    return [
        FieldChange(k, old.get(k), new.get(k))
        for k in keys
        if k not in old or k not in new or old[k] != new[k]
    ]
