"""Case list and figures with 100,000 synthetic cases (issue 9), SQLite and PostgreSQL.

Bulk-inserts synthetic cases, one version each and their transitions (SQLAlchemy core,
executemany) into a temporary SQLite database, and into a database of its own on the PostgreSQL
server named by `SKJEMAMOTTAK_TEST_POSTGRES_URL` when that is set (created and dropped here).
Then times, through the Flask test client as a koordinator, the case list (`GET /api/v1/saker`:
pages and the `?status=`, `?hf=`, `?type=` filters) and the figures (`GET /api/v1/statistikk`):
warm (from this process's cache); as a new worker process would (the cache emptied: read from
the counts kept at refresh time); and with one case changed before every request (the request
refreshes that case's rows and counts, then reads them). `benchmarks.figures_http` times every
filter combination and the pages.
The app is built as each `serve` worker builds it (`web.cli.worker_app`: what is alive then is
frozen out of the garbage collector's sight). Baseline in the same run: `SELECT 1` through the same
engine.

Run: `python -m benchmarks.cases_100k [--n 100000] [--requests 50] [--quick]`. Prints a table;
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

from processor.statistics import CaseHistory

BLOB = "e" * 64
ACTOR = "benchmark"
TODAY = date(2026, 11, 23)

Row = tuple[str, str, str, str, bool | None]


def insert_cases(engine: Engine, cases: list[CaseHistory], batch: int = 5000) -> None:
    """Cases, one version each, transitions and (for decided applications) a decision."""
    from storage.models import Blob, Case, CaseVersion
    from storage.models import Transition as TransitionRow
    from storage.models_committee import Decision

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    tables = [Case.__table__, CaseVersion.__table__, TransitionRow.__table__, Decision.__table__]
    with engine.begin() as conn:
        conn.execute(
            insert(Blob.__table__),
            [{"sha256": BLOB, "size": 0, "content_type": "application/json", "created_at": now}],
        )
        for start in range(0, len(cases), batch):
            pending: list[list[dict[str, Any]]] = [[], [], [], []]
            for case in cases[start : start + batch]:
                last = case.transitions[-1].at if case.transitions else case.created
                pending[0].append(
                    {
                        "id": case.id,
                        "form_type": case.form_type,
                        "hf": case.hf,
                        "state": case.transitions[-1].to if case.transitions else "mottatt",
                        "urgent": False,
                        "urgent_reason": None,
                        "created_at": case.created,
                        "updated_at": last,
                        "version": 1 + len(case.transitions),
                    }
                )
                data: dict[str, Any] = {
                    "soknad": {"helseforetak": case.hf, "referansenummer": f"REF-{case.id}"},
                    "metode": {"navn": f"Metode {case.id}", "fagomrade": case.fagomrade},
                }
                pending[1].append(
                    {
                        "case_id": case.id,
                        "number": 1,
                        "data": data,
                        "file_sha256": BLOB,
                        "file_suffix": ".json",
                        "uploaded_by": ACTOR,
                        "received_at": case.created,
                        "warnings": [],
                    }
                )
                pending[2].extend(
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
                if case.outcome and case.form_type == "tilgang-del2":
                    pending[3].append(
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
            for table, rows in zip(tables, pending, strict=True):
                if rows:
                    conn.execute(insert(table), rows)


def analyze(engine: Engine) -> None:
    """PostgreSQL: planner statistics after the bulk load, as autovacuum gathers them in
    production a minute later; without them the planner takes `case_figures` for nearly empty
    and sorts 100,000 rows on disk for the check of stale rows. (SQLite: nothing, the service
    never runs ANALYZE there.)"""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    if len(ordered) < 2:
        return ordered[0], ordered[0]
    return statistics.median(ordered), statistics.quantiles(ordered, n=20, method="inclusive")[18]


def _time(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    fn()  # warm-up
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return percentiles(samples)


def _time_with(
    prepare: Callable[[], Any],
    fn: Callable[[], Any],
    n: int,
    warmed: Callable[[], Any] | None = None,
) -> tuple[float, float]:
    """p50 and p95 of `fn` over `n` calls, each after an untimed `prepare()`, after one
    warm-up call (then `warmed()`)."""
    prepare()
    fn()
    if warmed is not None:
        warmed()
    samples = []
    for _ in range(n):
        prepare()
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return percentiles(samples)


def run(label: str, database_url: str | None, n: int, requests: int) -> list[Row]:
    from benchmarks.figures import synthetic_cases
    from services import figures
    from services.users import add_user, create_token
    from web.app import create_app
    from web.cli import worker_app

    out: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        config: dict[str, Any] = {
            "INSTANCE": Path(tmp) / "instance",
            "SECRET_KEY": "benchmark",
            "TODAY": TODAY,
            "RATELIMIT_ENABLED": False,
        }
        if database_url:
            config["DATABASE_URL"] = database_url
        app = worker_app(lambda: create_app(config))  # as each `serve` worker builds it
        st = app.extensions["skjemamottak"]
        add_user(st.uow(), "koordinator", roles=["koordinator"])
        token = create_token(st.uow(), "koordinator")
        t0 = time.perf_counter()
        insert_cases(st.engine, synthetic_cases(n))
        inserted = time.perf_counter() - t0
        t0 = time.perf_counter()
        figures.refresh(st.uow())
        refreshed = time.perf_counter() - t0
        analyze(st.engine)
        with st.engine.connect() as conn:
            transitions = conn.execute(text("SELECT count(*) FROM transitions")).scalar()
        out.append(
            (
                f"{label}: oppsett {n:,} saker, {transitions:,} overganger",
                f"innsetting {inserted:.0f} s, tall {refreshed:.0f} s",
                "",
                "",
                None,
            )
        )

        def select_one() -> None:
            with st.engine.connect() as conn:
                conn.execute(text("SELECT 1")).scalar()

        base = _time(select_one, requests)
        baseline = f"SELECT 1: p50 {base[0] * 1000:.2f} / p95 {base[1] * 1000:.2f} ms"

        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}

        with st.engine.connect() as conn:
            first_case = conn.execute(text("SELECT min(id) FROM cases")).scalar()

        def before(kind: str) -> None:
            if kind == "process":  # a new worker process: an empty cache, read from the counts
                figures.clear_cache()
            elif kind == "changed":  # a case changed since the last request (a busy service)
                with st.engine.begin() as conn:
                    conn.execute(
                        text("UPDATE cases SET version = version + 1 WHERE id = :id"),
                        {"id": first_case},
                    )

        def get(url: str, kind: str = "") -> tuple[Callable[[], None], Callable[[], None]]:
            def prepare() -> None:
                if kind:
                    before(kind)

            def call() -> None:
                resp = client.get(url, headers=headers)
                if resp.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {resp.status_code} {resp.data[:200]!r}")

            return prepare, call

        urls = [
            ("/api/v1/saker", "saksliste side 1", False),
            ("/api/v1/saker?side=200", "saksliste side 200", False),
            ("/api/v1/saker?status=klar", "saksliste ?status=klar", False),
            ("/api/v1/saker?hf=OUS", "saksliste ?hf=OUS", False),
            ("/api/v1/saker?type=minihta", "saksliste ?type=minihta", False),
            ("/api/v1/saker?hf=OUS&status=avgjort&side=3", "saksliste hf+status side 3", False),
            ("/api/v1/statistikk", "tall (statistikk), varm", ""),
            ("/api/v1/statistikk?hf=OUS&ar=2025", "tall ?hf=OUS&ar=2025, varm", ""),
            ("/api/v1/statistikk", "tall, ny prosess (fra tellingene)", "process"),
            ("/api/v1/statistikk", "tall, en sak endret før hvert kall", "changed"),
            ("/api/v1/statistikk?region=HSO", "tall ?region=HSO, ny prosess", "process"),
            ("/api/v1/statistikk?hf=OUS&ar=2025", "tall ?hf=OUS&ar=2025, ny prosess", "process"),
            (
                "/api/v1/statistikk?hf=OUS&ar=2025&type=tilgang-del2",
                "tall med tre filtre, ny prosess",
                "process",
            ),
            (
                "/api/v1/statistikk?hf=OUS&ar=2025&type=minihta&fagomrade=Hematologi",
                "tall med fire filtre, ny prosess",
                "process",
            ),
        ]
        for url, name, kind in urls:
            p50, p95 = _time_with(*get(url, kind), requests)
            value = f"p50 {p50 * 1000:.0f} / p95 {p95 * 1000:.0f} ms"
            out.append((f"{label}: {name}", value, baseline, "p95 <= 100 ms", p95 <= 0.100))
            print(f"  {out[-1][0]:<48} {out[-1][1]}", file=sys.stderr, flush=True)
        st.engine.dispose()
    return out


def pg_database() -> tuple[str, Callable[[], None]]:
    """A fresh database on the server named by SKJEMAMOTTAK_TEST_POSTGRES_URL: (URL, drop)."""
    from tests import pgutil

    name = pgutil.create_database()
    return pgutil.url_for(name), lambda: pgutil.drop_database(name)


def rows(quick: bool = False, n: int | None = None, requests: int | None = None) -> list[Row]:
    """(figure, value, baseline, target, met) rows for `benchmarks.run_all`."""
    n = n or (20_000 if quick else 100_000)
    requests = requests or (20 if quick else 50)
    out = run("SQLite", None, n, requests)
    pg = os.environ.get("SKJEMAMOTTAK_TEST_POSTGRES_URL")
    if pg:
        url, drop = pg_database()
        try:
            out += run("PostgreSQL", url, n, requests)
        finally:
            drop()
    else:
        out.append(("PostgreSQL", "ikke målt", "SKJEMAMOTTAK_TEST_POSTGRES_URL mangler", "", None))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    n = 20_000 if args.quick else args.n
    for row in rows(args.quick, n, 20 if args.quick else args.requests):
        print(" | ".join(str(c) for c in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
