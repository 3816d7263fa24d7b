"""Figures over HTTP (issues 7 and 9): `/api/v1/statistikk`, `/statistikk`, `/tall` with 100,000
cases.

Inserts synthetic cases with their transitions, decisions and mini-HTA forms straight into a
temporary SQLite database (and into PostgreSQL when `SKJEMAMOTTAK_TEST_POSTGRES_URL` is set),
refreshes the figures rows once (on PostgreSQL then ANALYZE, as autovacuum would), then times
requests through the Flask test client (the app's background computations on, as in production),
for the JSON and the pages, unfiltered and filtered:

- warm: nothing changed since the last request (the figures from this process's cache);
- new process: this process's caches emptied before every request (the figures and the charts),
  as in another gunicorn worker or after a restart: the figures come from `figures_snapshots`;
- changed: one case's `version` raised before every request, the realistic case in a busy
  service. The request finds its figures stale, answers with the previous ones at once and starts
  one background computation when none runs; that thread shares the process (and its GIL) with
  the requests, so these times include its competition. `stale` is the share of stale answers;
- no figures: the caches and the snapshots emptied before every request, so the request computes
  the figures itself (the first request for a new filter: what every request after a change paid
  before issue 9);
- renewal: after a change, the time until the background computation has stored new figures
  (the request that starts it, then waiting), i.e. how long stale figures are shown at most
  (with a request in between).

Run: `python -m benchmarks.figures_http [--n 100000] [--requests 50]`. Prints; asserts nothing.
The machine's other load shows in the numbers: run it more than once.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

from benchmarks.cases_100k import analyze, percentiles, pg_database
from processor.statistics import CaseHistory

BLOB = "f" * 64
ACTOR = "benchmark"


def _state(case: CaseHistory) -> str:
    return case.transitions[-1].to if case.transitions else "mottatt"


def insert_histories(engine: Engine, cases: Iterable[CaseHistory], batch: int = 5000) -> int:
    """Write `cases` as rows: cases, transitions, committee decisions (outcome of an application),
    and for mini-HTAs a version holding `metode.fagomrade` and a skjema 3 holding
    `beslutning.utfall`. Returns the number of cases written."""
    from storage.models import Blob, Case, CaseVersion
    from storage.models import Transition as TransitionRow
    from storage.models_committee import Decision
    from storage.models_minihta import MinihtaAttachment

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    written = 0
    with engine.begin() as conn:
        if not conn.execute(
            text("SELECT count(*) FROM blobs WHERE sha256 = :s"), {"s": BLOB}
        ).scalar():
            conn.execute(
                insert(Blob.__table__),
                [
                    {
                        "sha256": BLOB,
                        "size": 0,
                        "content_type": "application/json",
                        "created_at": now,
                    }
                ],
            )
        pending: dict[str, list[dict[str, Any]]] = {
            "cases": [],
            "transitions": [],
            "versions": [],
            "decisions": [],
            "attachments": [],
        }
        tables = {
            "cases": Case.__table__,
            "transitions": TransitionRow.__table__,
            "versions": CaseVersion.__table__,
            "decisions": Decision.__table__,
            "attachments": MinihtaAttachment.__table__,
        }

        def flush() -> None:
            for name in ("cases", "transitions", "versions", "decisions", "attachments"):
                if pending[name]:
                    conn.execute(insert(tables[name]), pending[name])
                    pending[name].clear()

        for case in cases:
            last = case.transitions[-1].at if case.transitions else case.created
            pending["cases"].append(
                {
                    "id": case.id,
                    "form_type": case.form_type,
                    "hf": case.hf,
                    "state": _state(case),
                    "urgent": False,
                    "urgent_reason": None,
                    "created_at": case.created,
                    "updated_at": last,
                    "version": 1 + len(case.transitions),
                }
            )
            pending["transitions"].extend(
                {
                    "case_id": case.id,
                    "from_state": t.from_,
                    "to_state": t.to,
                    "actor": ACTOR,
                    "reason": None,
                    "at": t.at,
                }
                for t in case.transitions
            )
            if case.form_type == "minihta":
                pending["versions"].append(
                    {
                        "case_id": case.id,
                        "number": 1,
                        "data": {"metode": {"fagomrade": case.fagomrade}},
                        "file_sha256": BLOB,
                        "file_suffix": ".json",
                        "uploaded_by": ACTOR,
                        "received_at": case.created,
                        "warnings": [],
                    }
                )
                if case.outcome:
                    pending["attachments"].append(
                        {
                            "case_id": case.id,
                            "form_type": "minihta-beslutning",
                            "number": 1,
                            "data": {"beslutning": {"utfall": case.outcome}},
                            "file_sha256": BLOB,
                            "file_suffix": ".json",
                            "uploaded_by": ACTOR,
                            "received_at": last,
                            "warnings": [],
                        }
                    )
            elif case.outcome:
                pending["decisions"].append(
                    {
                        "case_id": case.id,
                        "outcome": case.outcome,
                        "body": {},
                        "reasoning": "",
                        "decided_on": last.date(),
                        "recorded_by": ACTOR,
                        "recorded_at": last,
                        "pdf_sha256": BLOB,
                        "docx_sha256": BLOB,
                    }
                )
            written += 1
            if len(pending["cases"]) >= batch:
                flush()
        flush()
    return written


def storable(cases: Iterable[CaseHistory]) -> list[CaseHistory]:
    """The histories as the database gives them back: applications carry no specialty."""
    return [
        c if c.form_type == "minihta" else dataclasses.replace(c, fagomrade=None) for c in cases
    ]


def _timed(label: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = fn()
    print(f"{label:<52} {time.perf_counter() - start:8.2f} s", flush=True)
    return result


def _touch(engine: Engine, case_id: str) -> None:
    """What a service does to a case that changes: a new `version` (the history stays)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE cases SET version = version + 1 WHERE id = :id"), {"id": case_id})


UPDATING = "Nye tall beregnes nå"


def _stale(resp: Any) -> bool:
    if resp.mimetype == "application/json":
        return bool(resp.get_json()["oppdateres"])
    return UPDATING in resp.get_data(as_text=True)


def _forget(snapshots: Engine | None = None) -> None:
    """Empty this process's caches (figures, and the charts and public figures made from them);
    with `snapshots`, also the stored figures."""
    from services import figures
    from web import figures as pages

    figures.wait_for_background(120)
    figures.clear_cache()
    with pages._memo.lock:
        pages._memo.items.clear()
    if snapshots is not None:
        with snapshots.begin() as conn:
            conn.execute(text("DELETE FROM figures_snapshots"))


@dataclasses.dataclass
class Row:
    p50: float
    p95: float
    stale: int = 0
    n: int = 0


def _measure(client: Any, url: str, n: int, before: Callable[[], None] | None = None) -> Row:
    samples = []
    stale = 0
    for _ in range(n):
        if before is not None:
            before()
        start = time.perf_counter()
        resp = client.get(url, headers={"Accept-Encoding": "identity"})
        samples.append(time.perf_counter() - start)
        if resp.status_code != 200:
            raise SystemExit(f"{url}: HTTP {resp.status_code}")
        stale += _stale(resp)
    return Row(*percentiles(samples), stale=stale, n=n)


def _renewal(client: Any, url: str, n: int, change: Callable[[], None]) -> float:
    """Median seconds from a change to stored fresh figures (request, then its background work)."""
    from services import figures

    samples = []
    for _ in range(n):
        figures.wait_for_background(120)
        change()
        start = time.perf_counter()
        client.get(url, headers={"Accept-Encoding": "identity"})
        figures.wait_for_background(120)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _ms(row: Row) -> str:
    return f"{row.p50 * 1000:6.0f} {row.p95 * 1000:6.0f}"


def run(label: str, database_url: str | None, n: int, requests: int) -> None:
    from benchmarks.figures import synthetic_cases
    from services import figures
    from services.users import add_user, create_token
    from web.app import create_app
    from web.cli import worker_app

    print(f"--- {label}: {n:,} saker", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        config: dict[str, Any] = {
            "INSTANCE": instance,
            "SECRET_KEY": "benchmark",
            "TODAY": date(2026, 11, 23),
            "RATELIMIT_ENABLED": False,
            "FIGURES_BACKGROUND": True,
        }
        if database_url:
            config["DATABASE_URL"] = database_url
        app = _timed("create app, migrate", lambda: worker_app(lambda: create_app(config)))
        st = app.extensions["skjemamottak"]
        add_user(st.uow(), "koordinator", roles=["koordinator"])
        token = create_token(st.uow(), "koordinator")
        cases = _timed("generate histories", lambda: storable(synthetic_cases(n)))
        _timed("bulk insert cases and transitions", lambda: insert_histories(st.engine, cases))
        done = _timed("refresh figures rows (all cases)", lambda: figures.refresh(st.uow()))
        print(f"{'rows refreshed':<52} {done.refreshed:8,d}")
        _timed("ANALYZE (PostgreSQL: what autovacuum does)", lambda: analyze(st.engine))
        again = _timed("refresh again (nothing changed)", lambda: figures.refresh(st.uow()))
        print(f"{'rows refreshed':<52} {again.refreshed:8,d}")

        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        with client.session_transaction() as session:
            session["user"] = "koordinator"
        urls = [
            "/api/v1/statistikk",
            "/api/v1/statistikk?hf=OUS&ar=2025",
            "/api/v1/statistikk?type=minihta",
            "/statistikk",
            "/statistikk?region=HSO&ar=2025",
            "/api/v1/tall",
            "/tall",
        ]

        def change() -> None:
            _touch(st.engine, cases[0].id)

        few = max(3, requests // 10)
        print(
            f"{'ms (p50 p95)':<34} {'warm':>13} {'new process':>13} {'changed':>13}"
            f" {'stale':>6} {'no figures':>13} {'renewal':>8}"
        )
        for url in urls:
            client.get(url)  # figures for this filter exist from here on
            warm = _measure(client, url, requests)
            process = _measure(client, url, max(5, requests // 5), before=_forget)
            changed = _measure(client, url, requests, before=change)
            figures.wait_for_background(120)
            computed = _measure(client, url, few, before=lambda: _forget(st.engine))
            renewal = _renewal(client, url, few, change)
            print(
                f"{url:<34} {_ms(warm)} {_ms(process)} {_ms(changed)}"
                f" {changed.stale:>3}/{changed.n:<2} {_ms(computed)} {renewal * 1000:6.0f}ms",
                flush=True,
            )
        figures.wait_for_background(120)
        st.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.machine()}")
    run("SQLite", None, args.n, args.requests)
    pg = os.environ.get("SKJEMAMOTTAK_TEST_POSTGRES_URL")
    if pg:
        url, drop = pg_database()
        try:
            run("PostgreSQL", url, args.n, args.requests)
        finally:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
