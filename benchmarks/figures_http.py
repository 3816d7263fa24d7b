"""Figures over HTTP (issues 7, 9 and 12): `/api/v1/statistikk`, `/statistikk`, `/tall` with
100,000 cases, SQLite and PostgreSQL.

Inserts synthetic cases with their transitions, decisions and mini-HTA forms straight into a
temporary SQLite database (and into PostgreSQL when `SKJEMAMOTTAK_TEST_POSTGRES_URL` is set),
refreshes the figures rows and counts once (on PostgreSQL then ANALYZE, as autovacuum would),
then times requests through the Flask test client as a coordinator:

- every combination of the five filters the page offers (HF, region, year, specialty, type:
  32, with none) and the public figures (all years, one year), each as a new process would answer
  it (this process's caches emptied: the figures read from the counts, the charts drawn);
- the pages and the JSON warm (nothing changed since the last request: from the cache);
- changed: one case's `version` raised before every request (a busy service): the request
  finds the cases marker moved, refreshes that case's rows and counts, and reads the counts;
- changed, then refreshed by the worker (`skjemamottak worker` refreshes the figures within 2 s
  of a change, issue 24): the request finds the rows current and only reads the counts.

`--sqlite-instance DIR` / `--postgres-url URL` time an existing database (built by an earlier
run, e.g. with `--keep DIR`) instead of building one.

Run: `python -m benchmarks.figures_http [--n 100000] [--requests 30]`. Prints p50/p95 per row and
over all filter combinations; asserts nothing. The machine's other load shows in the numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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


def _forget() -> None:
    """Empty this process's caches (figures, and the charts and public figures made from them),
    as a new worker process starts."""
    from services import figures

    figures.clear_cache()


Timing = tuple[float, float, float, float]


def _measure(
    client: Any, urls: list[str], n: int, before: Callable[[], None] | None = None
) -> Timing:
    """p50 and p95 (seconds) of `n` requests of each of `urls`, `before()` untimed before each:
    wall time, then this process's CPU time (`time.process_time`: what the request costs the
    app however loaded the machine is; on PostgreSQL the server's work is not in it)."""
    wall, cpu = [], []
    for _ in range(n):
        for url in urls:
            if before is not None:
                before()
            start, start_cpu = time.perf_counter(), time.process_time()
            resp = client.get(url, headers={"Accept-Encoding": "identity"})
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            if resp.status_code != 200:
                raise SystemExit(f"{url}: HTTP {resp.status_code} {resp.data[:200]!r}")
    return (*percentiles(wall), *percentiles(cpu))


FILTER_VALUES = {
    "hf": "OUS",
    "region": "HSO",
    "ar": "2025",
    "fagomrade": "Hematologi",
    "type": "tilgang-del2",
}


def filter_urls() -> list[str]:
    """`/api/v1/statistikk` with every combination of the page's filters (32)."""
    return [
        "/api/v1/statistikk"
        + (f"?{urlencode({k: FILTER_VALUES[k] for k in combo})}" if combo else "")
        for size in range(len(FILTER_VALUES) + 1)
        for combo in itertools.combinations(FILTER_VALUES, size)
    ]


def _print(name: str, p: Timing) -> None:
    print(
        f"{name:<58} p50 {p[0] * 1000:6.1f}  p95 {p[1] * 1000:6.1f} ms"
        f"   CPU p50 {p[2] * 1000:6.1f}  p95 {p[3] * 1000:6.1f} ms   last {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def build(label: str, config: dict[str, Any], n: int) -> Any:
    """The app over a new database holding `n` synthetic cases, figures refreshed."""
    from benchmarks.figures import synthetic_cases
    from services import figures
    from web.app import create_app
    from web.cli import worker_app

    app = _timed(f"{label}: create app, migrate", lambda: worker_app(lambda: create_app(config)))
    st = app.extensions["skjemamottak"]
    cases = _timed("generate histories", lambda: storable(synthetic_cases(n)))
    _timed("bulk insert cases and transitions", lambda: insert_histories(st.engine, cases))
    done = _timed("refresh figures rows and counts", lambda: figures.refresh(st.uow()))
    print(f"{'rows refreshed':<52} {done.refreshed:8,d}")
    _timed("ANALYZE (PostgreSQL: what autovacuum does)", lambda: analyze(st.engine))
    return app


def run(label: str, config: dict[str, Any], n: int, requests: int, *, existing: bool) -> None:
    from services import figures
    from services.users import add_user, create_token
    from web.app import create_app
    from web.cli import worker_app

    print(f"--- {label}", flush=True)
    if existing:
        from storage import db

        url = config.get("DATABASE_URL") or db.default_url(config["INSTANCE"])
        _timed(f"{label}: migrate", lambda: db.upgrade(url))
        app = _timed(f"{label}: open app", lambda: worker_app(lambda: create_app(config)))
        st = app.extensions["skjemamottak"]
        done = _timed(
            "refresh figures (after a migration: count)", lambda: figures.refresh(st.uow())
        )
        print(f"{'rows refreshed':<52} {done.refreshed:8,d}")
        _timed("ANALYZE (PostgreSQL: what autovacuum does)", lambda: analyze(st.engine))
    else:
        app = build(label, config, n)
        st = app.extensions["skjemamottak"]
    with st.engine.connect() as conn:
        cases = conn.execute(text("SELECT count(*) FROM cases")).scalar()
        first_case = conn.execute(text("SELECT min(id) FROM cases")).scalar()
    print(f"{'cases':<52} {cases:8,d}")
    user = f"koordinator-{time.time_ns()}"
    add_user(st.uow(), user, roles=["koordinator"])
    token = create_token(st.uow(), user)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    with client.session_transaction() as session:
        session["user"] = user
        session["gen"] = 0  # a new user's session generation

    def change() -> None:
        _touch(st.engine, first_case)

    combos = filter_urls()
    public = ["/api/v1/tall", "/api/v1/tall?ar=2025"]
    pages = ["/api/v1/statistikk", "/statistikk", "/statistikk?region=HSO&ar=2025", "/tall"]
    for url in combos + public + pages:
        client.get(url)  # the first request after the refresh (connections, templates)
    rounds = max(2, requests // 10)
    every = _measure(client, combos, rounds, before=_forget)
    _print(f"{label}: alle 32 filterkombinasjoner, ny prosess", every)
    for url in ["/api/v1/statistikk", "/api/v1/statistikk?hf=OUS&ar=2025", *public]:
        _print(f"{label}: {url}, ny prosess", _measure(client, [url], requests, before=_forget))
    for url in pages:
        _print(
            f"{label}: {url}, ny prosess (tegnes)", _measure(client, [url], rounds, before=_forget)
        )
        _print(f"{label}: {url}, varm", _measure(client, [url], requests))
    for url in ["/api/v1/statistikk", "/api/v1/statistikk?hf=OUS&ar=2025", "/statistikk", "/tall"]:
        _print(
            f"{label}: {url}, en sak endret før hvert kall",
            _measure(client, [url], requests, before=change),
        )

    def change_and_worker() -> None:
        change()
        figures.refresh(st.uow())  # what `skjemamottak worker` does within 2 s of the change

    for url in ["/api/v1/statistikk", "/api/v1/statistikk?hf=OUS&ar=2025", "/statistikk", "/tall"]:
        _print(
            f"{label}: {url}, endret, arbeideren har oppdatert",
            _measure(client, [url], requests, before=change_and_worker),
        )
    st.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--sqlite-instance", metavar="DIR", help="an existing instance folder")
    parser.add_argument("--postgres-url", metavar="URL", help="an existing PostgreSQL database")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    base: dict[str, Any] = {
        "SECRET_KEY": "benchmark",
        "TODAY": date(2026, 11, 23),
        "RATELIMIT_ENABLED": False,
    }
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            instance = Path(args.sqlite_instance or Path(tmp) / "sqlite")
            config = {**base, "INSTANCE": instance}
            run("SQLite", config, args.n, args.requests, existing=bool(args.sqlite_instance))
        if args.postgres_url:
            config = {**base, "INSTANCE": Path(tmp) / "pg", "DATABASE_URL": args.postgres_url}
            run("PostgreSQL", config, args.n, args.requests, existing=True)
        elif os.environ.get("SKJEMAMOTTAK_TEST_POSTGRES_URL"):
            url, drop = pg_database()
            try:
                config = {**base, "INSTANCE": Path(tmp) / "pg", "DATABASE_URL": url}
                run("PostgreSQL", config, args.n, args.requests, existing=False)
            finally:
                drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
