"""The shared steps of the services (`services.steps`): retry on conflict."""

from __future__ import annotations

import pytest

from processor.errors import DomainError
from services.steps import ATTEMPTS, retry_on_conflict
from storage.uow import ConcurrentUpdate


def losing(times: int, calls: list[int]):
    """A unit of work that loses the race `times` times, then commits and returns its try."""

    def work() -> int:
        calls.append(len(calls) + 1)
        if len(calls) <= times:
            raise ConcurrentUpdate("another transaction won")
        return len(calls)

    return work


def test_a_transaction_that_lost_the_race_runs_again_until_it_wins() -> None:
    calls: list[int] = []
    assert retry_on_conflict(losing(ATTEMPTS - 1, calls)) == ATTEMPTS
    assert calls == list(range(1, ATTEMPTS + 1))


def test_losing_every_attempt_is_a_conflict() -> None:
    calls: list[int] = []
    with pytest.raises(DomainError) as e:
        retry_on_conflict(losing(ATTEMPTS, calls))
    assert e.value.code == "CONFLICT"
    assert len(calls) == ATTEMPTS
    calls.clear()
    with pytest.raises(DomainError):
        retry_on_conflict(losing(1, calls), attempts=1)
    assert calls == [1]


def test_a_refusal_is_not_tried_again() -> None:
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise DomainError("CASE_MISMATCH", "Saken finnes ikke eller er ikke din.")

    with pytest.raises(DomainError) as e:
        retry_on_conflict(refused)
    assert e.value.code == "CASE_MISMATCH"
    assert calls == [1]
