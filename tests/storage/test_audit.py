"""The hash-chained audit log: canonical hashing, what details may hold, and verification."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from processor.identity import CANDIDATE, is_identity_number
from storage import audit
from storage.audit import GENESIS, NewEvent, make_event, verify_events
from tests.storage.helpers import synthetic_identity_number

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _chain(n: int) -> list[NewEvent]:
    out: list[NewEvent] = []
    prev = GENESIS
    for i in range(1, n + 1):
        ev = make_event(
            i,
            prev,
            at=T0 + timedelta(minutes=i),
            actor="koordinator",
            action="case.transition",
            object=f"case:2026-09-14-OUS-KREFT-{i}",
            details={"from": "mottatt", "to": "priskontroll", "version": i},
        )
        out.append(ev)
        prev = ev.hash
    return out


def test_hash_covers_every_part_of_the_event() -> None:
    ev = _chain(1)[0]
    base = (ev.seq, ev.at, ev.actor, ev.action, ev.object, ev.details, ev.prev_hash)
    assert audit.event_hash(*base) == ev.hash
    variants = [
        (2, *base[1:]),
        (base[0], base[1] + timedelta(microseconds=1), *base[2:]),
        (*base[:2], "mallory", *base[3:]),
        (*base[:3], "case.create", *base[4:]),
        (*base[:4], "case:annen", *base[5:]),
        (*base[:5], {**ev.details, "to": "klar"}, base[6]),
        (*base[:6], "f" * 64),
    ]
    assert all(audit.event_hash(*v) != ev.hash for v in variants)


def test_time_zone_of_the_timestamp_does_not_change_the_hash() -> None:
    ev = _chain(1)[0]
    oslo = ev.at.astimezone(timezone(timedelta(hours=1)))
    assert audit.event_hash(ev.seq, oslo, ev.actor, ev.action, ev.object, ev.details, GENESIS) == (
        ev.hash
    )


def test_intact_chain_verifies() -> None:
    chain = _chain(5)
    assert verify_events(chain, (5, chain[-1].hash)) == (True, None)
    assert verify_events([], (0, GENESIS)) == (True, None)


def test_edited_event_is_named() -> None:
    chain = _chain(5)
    chain[2] = replace(chain[2], actor="mallory")
    assert verify_events(chain) == (False, 3)


def test_deleted_or_reordered_events_are_named() -> None:
    chain = _chain(5)
    assert verify_events(chain[:2] + chain[3:]) == (False, 3)
    assert verify_events([chain[1], chain[0], *chain[2:]]) == (False, 1)


def test_events_cut_off_the_end_are_noticed_through_the_head() -> None:
    chain = _chain(5)
    assert verify_events(chain[:4]) == (True, None)
    assert verify_events(chain[:4], (5, chain[-1].hash)) == (False, 5)


@pytest.mark.parametrize(
    "details",
    [
        {"reason": "x" * 201},
        {"nested": {"a": 1}},
        {"amount": 1.5},
        {"Bad-Key": 1},
        {"items": list(range(101))},
    ],
)
def test_details_hold_only_codes_ids_and_states(details: dict) -> None:
    with pytest.raises(ValueError):
        make_event(1, GENESIS, at=T0, actor="a", action="b", object="c", details=details)


def test_an_identity_number_never_enters_the_log() -> None:
    number = synthetic_identity_number()
    for kwargs in (
        {"details": {"note": f"pasient {number}"}},
        {"details": {"ids": ["a", number]}},
        {"object": f"case:{number}"},
        {"actor": number},
    ):
        args = {"actor": "a", "action": "b", "object": "c", **kwargs}
        with pytest.raises(ValueError) as e:
            make_event(1, GENESIS, at=T0, **args)
        assert number not in str(e.value)


def _passing_run(text: str) -> str | None:
    """The first eleven-digit run of the text, letters read as separators, that passes every
    rule of an identity number (FORMS.md section 6), whatever surrounds it."""
    for m in CANDIDATE.finditer(re.sub("[a-f]", " ", text)):
        if is_identity_number(m.group(1) + m.group(2)):
            return m.group(1) + m.group(2)
    return None


def test_a_digest_whose_digits_look_like_an_identity_number_is_kept() -> None:
    # about one SHA-256 in 2,000 holds such a run; an upload whose blob had one failed with 500
    digest = next(
        h for i in range(200_000) if _passing_run(h := hashlib.sha256(str(i).encode()).hexdigest())
    )
    ev = make_event(
        1,
        GENESIS,
        at=T0,
        actor="a",
        action="b",
        object="c",
        details={"file_sha256": digest, "shas": [digest], "note": f"fil {digest.upper()}"},
    )
    assert ev.details["file_sha256"] == digest
    number = _passing_run(digest)
    assert number is not None
    with pytest.raises(ValueError) as e:  # the same digits written as text: checked
        make_event(1, GENESIS, at=T0, actor="a", action="b", object="c", details={"note": number})
    assert number not in str(e.value)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        audit.event_hash(1, datetime(2026, 1, 1), "a", "b", "c", {}, GENESIS)
