"""The append-only, hash-chained audit log.

Each event's hash is the SHA-256 of a canonical JSON of (seq, at, actor, action, object, details,
prev_hash), and `prev_hash` is the hash of the event before (`GENESIS` for the first). Editing,
deleting or reordering a row breaks the chain; `verify` names the first broken event. The single
`audit_head` row holds the tail: appending updates it first, which serialises concurrent appends,
and `verify` compares it with the last event so that events cut off the end are noticed too.

`append` runs in the caller's session, so the event commits or rolls back with the change it
records. Details hold codes, ids, states and hashes only: never form content, free text or
anything identifying. `check_details` enforces the shape, and refuses identity numbers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from processor.identity import contains_identity
from storage.models import AuditEvent, AuditHead

GENESIS = "0" * 64
HEAD_ID = 1

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_DIGEST = re.compile(r"[0-9a-f]{64}")
MAX_TEXT = 200
MAX_LIST = 100

Scalar = str | int | bool | None


def canonical_time(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetime in the audit log")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_json(value: Any) -> bytes:
    """The bytes an event's hash is taken over. UTF-8; a lone surrogate (only a row mended by
    hand can hold one) is encoded as such (`surrogatepass`) so `verify` reports such a row as a
    broken chain instead of failing (issue 11): every other text gives the same bytes as before."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8", "surrogatepass")


def event_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    body = {
        "seq": seq,
        "at": canonical_time(at),
        "actor": actor,
        "action": action,
        "object": object,
        "details": dict(details),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _check_text(name: str, value: str) -> None:
    if len(value) > MAX_TEXT:
        raise ValueError(f"audit {name} is too long to be a code or an id")
    if contains_identity(value):
        raise ValueError(f"audit {name} holds an identity number")


def _check_scalar(key: str, value: object) -> None:
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, str):
        # A SHA-256 digest is computed, not written: about one in 2,000 holds eleven digits in
        # a row that pass the identity number's checks (an upload's blob hash failed with 500).
        if not _DIGEST.fullmatch(value):
            _check_text(f"detail {key}", value)
        return
    raise ValueError(f"audit detail {key} must be a string, integer, boolean or null")


def check_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the details, or ValueError when they are not codes, ids, states and hashes."""
    out: dict[str, Any] = {}
    for key, value in details.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError(f"audit detail key {key!r} is not a lowercase identifier")
        if isinstance(value, list | tuple):
            if len(value) > MAX_LIST:
                raise ValueError(f"audit detail {key} has too many items")
            for item in value:
                _check_scalar(key, item)
            out[key] = list(value)
        else:
            _check_scalar(key, value)
            out[key] = value
    return out


@dataclass(frozen=True)
class NewEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    object: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def columns(self) -> dict[str, Any]:
        """The event as the values of an `audit_events` row (shallow: `details` is shared)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def make_event(
    seq: int,
    prev_hash: str,
    *,
    at: datetime | None,
    actor: str,
    action: str,
    object: str,
    details: Mapping[str, Any] | None = None,
) -> NewEvent:
    """The next event of a chain whose tail is (seq - 1, prev_hash), at `at` (None: now); checks
    every part."""
    _check_text("actor", actor)
    _check_text("action", action)
    _check_text("object", object)
    clean = check_details(details or {})
    at = (at or datetime.now(UTC)).astimezone(UTC)
    h = event_hash(seq, at, actor, action, object, clean, prev_hash)
    return NewEvent(seq, at, actor, action, object, clean, prev_hash, h)


# The statements of every append, built once (building them costs more than running them). They
# are Core statements on the session's connection: the ORM's flush and statement machinery cost
# several times more than the SQL itself, and an upload pays for every append.
_HEAD = AuditHead.__table__
_EVENTS = AuditEvent.__table__
_BUMP_SEQ = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(last_seq=_HEAD.c.last_seq + 1)
_BUMP_SEQ_RETURNING = _BUMP_SEQ.returning(_HEAD.c.last_seq, _HEAD.c.last_hash)
_READ_HEAD = select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ID)
_INSERT_HEAD = insert(_HEAD)
_INSERT_EVENT = insert(_EVENTS)
_SET_HASH = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(last_hash=bindparam("new_hash"))
# Where data-modifying WITH exists (PostgreSQL), the event and the head's new hash go in one
# statement: a round trip costs the server more than the row.
_EVENT_COLUMNS = tuple(f.name for f in fields(NewEvent))
_INSERT_EVENT_SET_HASH = {
    "postgresql": _SET_HASH.add_cte(
        insert(_EVENTS)
        .values({c: bindparam("ev_" + c, type_=_EVENTS.c[c].type) for c in _EVENT_COLUMNS})
        .cte("new_event")
    )
}


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object: str,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add the next event to the chain in the session's transaction (not committed here).

    Changes pending in the session are flushed first, so they reach the database before the
    event, as with any query. Returns the event as a new object that the session does not track.
    """
    session.flush()  # nothing to do (and cheap) when the session holds no pending change
    conn = session.connection()
    # Take the head first: a row lock on PostgreSQL, the write lock on SQLite.
    if conn.dialect.update_returning:
        head = conn.execute(_BUMP_SEQ_RETURNING).first()
    else:  # SQLite before 3.35
        moved = conn.execute(_BUMP_SEQ)
        head = conn.execute(_READ_HEAD).first() if moved.rowcount else None
    if head is None:  # a database created without the migration's head row
        conn.execute(_INSERT_HEAD, {"id": HEAD_ID, "last_seq": 1, "last_hash": GENESIS})
        seq, prev_hash = 1, GENESIS
    else:
        seq, prev_hash = head
    ev = make_event(
        seq, prev_hash, at=at, actor=actor, action=action, object=object, details=details
    )
    values = ev.columns()
    combined = _INSERT_EVENT_SET_HASH.get(conn.dialect.name)
    if combined is not None:
        params = {"ev_" + k: v for k, v in values.items()}
        params["new_hash"] = ev.hash
        conn.execute(combined, params)
    else:
        conn.execute(_INSERT_EVENT, values)
        conn.execute(_SET_HASH, {"new_hash": ev.hash})
    return AuditEvent(**values)


def verify_events(
    events: Iterable[Any], head: tuple[int, str] | None = None
) -> tuple[bool, int | None]:
    """Check a chain given in seq order: (True, None), or (False, seq of the first bad event).

    `events` are objects with the attributes of `AuditEvent`; `head` is (last_seq, last_hash)
    when known. Events missing from the end show up as the first seq after the last one kept.
    """
    expected_seq = 1
    prev = GENESIS
    for ev in events:
        if ev.seq != expected_seq or ev.prev_hash != prev:
            return False, min(ev.seq, expected_seq)
        h = event_hash(ev.seq, ev.at, ev.actor, ev.action, ev.object, ev.details, ev.prev_hash)
        if h != ev.hash:
            return False, ev.seq
        prev = ev.hash
        expected_seq += 1
    if head is not None:
        last_seq, last_hash = head
        if last_seq != expected_seq - 1:
            return False, min(last_seq + 1, expected_seq)
        if last_seq > 0 and last_hash != prev:
            return False, last_seq
    return True, None


def verify(session: Session) -> tuple[bool, int | None]:
    """Verify the whole chain in the database: (True, None) or (False, first bad seq)."""
    head = session.execute(
        select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)
    ).one_or_none()
    rows = session.scalars(
        select(AuditEvent)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=1000, populate_existing=True)
    )
    return verify_events(rows, (head[0], head[1]) if head else (0, GENESIS))
