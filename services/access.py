"""Who may see a case (WORKFLOW.md section 1)."""

from __future__ import annotations

from processor.domain import Principal, State
from storage.models import Case
from storage.models_committee import committee_can_see


def can_see(user: Principal, case: Case) -> bool:
    """Whether the user may know that the case exists (WORKFLOW.md section 1).

    Committee members see the cases placed in meetings they sit in, except the ones they are
    recused from (storage.models_committee); peer reviewers the mini-HTAs assigned to them.
    """
    roles = set(user.roles)
    if "koordinator" in roles:
        return True
    if "hf" in roles and user.hf is not None and case.hf == user.hf:
        return True
    if "fagfelle" in roles and any(
        a.reviewer == user.username and a.active for a in getattr(case, "peer_assignments", ())
    ):
        # a peer reviewer sees the mini-HTAs assigned to them (storage.models_minihta)
        return True
    if "komite" in roles and committee_can_see(user, case):
        return True
    # Sykehusinnkjøp sees the cases in price check, and no others: not the ones it has checked
    # once they move on (WORKFLOW.md section 1, "sees: cases in price check")
    return "priskontroll" in roles and case.state == State.PRISKONTROLL
