"""Attack pass: a peer-review change that loses a race is not a 500.

Every change of a case bumps its version (the optimistic-concurrency check), so a reviewer's name
consent or conflict declaration, or the coordinator's approval or lowering of it, committed while
another transaction changed the same case (the coordinator publishing, the reviewer declaring)
raised `ConcurrentUpdate`, which no route maps: 500. They are now tried again on a fresh read
(`steps.retry_on_conflict`), and CONFLICT (409, Norwegian) when the race keeps being lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services import minihta
from storage.uow import ConcurrentUpdate
from tests.fakes import FakeUnitOfWork
from tests.services.test_minihta import code_of, new_case, reviewer, reviewers
from tests.storage.helpers import KOORDINATOR

__all__ = ["reviewers"]  # the fixture


def _lose(uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The next `times` commits lose the race (and roll back, as the database does)."""
    real = uow.commit
    left = [times]

    def commit() -> None:
        if left[0] > 0:
            left[0] -= 1
            raise ConcurrentUpdate("another transaction changed the case first")
        real()

    monkeypatch.setattr(uow, "commit", commit)


def _assigned(uow: FakeUnitOfWork) -> tuple[str, Any]:
    case_id = new_case(uow)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    return case_id, reviewer(minihta.assignments_of(uow, case_id)[0]["fagfelle"])


CALLS: dict[str, Callable[[FakeUnitOfWork, str, Any], Any]] = {
    "samtykke": lambda uow, case_id, ff: minihta.set_name_consent(ff, case_id, True, uow),
    "habilitet": lambda uow, case_id, ff: minihta.declare_conflict(
        ff, case_id, "gul", "Har holdt foredrag for produsenten.", uow
    ),
    "godkjenn": lambda uow, case_id, ff: minihta.approve_conflict(KOORDINATOR, case_id, uow),
    "senk": lambda uow, case_id, ff: minihta.lower_conflict(
        KOORDINATOR, case_id, "gronn", "Bindingen er gammel.", uow
    ),
}


def _ready(uow: FakeUnitOfWork, name: str) -> tuple[str, Any]:
    case_id, ff = _assigned(uow)
    if name in ("godkjenn", "senk"):
        minihta.declare_conflict(ff, case_id, "gul", "Har holdt foredrag for produsenten.", uow)
    return case_id, ff


@pytest.mark.parametrize("name", CALLS)
def test_a_lost_race_is_tried_again(
    reviewers: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    case_id, ff = _ready(reviewers, name)
    _lose(reviewers, monkeypatch, 1)
    CALLS[name](reviewers, case_id, ff)
    [row] = minihta.assignments_of(reviewers, case_id)
    expected = {
        "samtykke": ("navn_publiseres", True),
        "habilitet": ("habilitet", "gul"),
        "godkjenn": ("godkjent_av", KOORDINATOR.username),
        "senk": ("habilitet", "gronn"),
    }[name]
    assert row[expected[0]] == expected[1]


@pytest.mark.parametrize("name", CALLS)
def test_a_race_lost_every_time_is_conflict_not_a_crash(
    reviewers: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    case_id, ff = _ready(reviewers, name)
    before = minihta.assignments_of(reviewers, case_id)
    _lose(reviewers, monkeypatch, 100)
    assert code_of(lambda: CALLS[name](reviewers, case_id, ff)) == "CONFLICT"
    assert minihta.assignments_of(reviewers, case_id) == before
