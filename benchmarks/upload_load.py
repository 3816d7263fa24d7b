"""Upload load benchmark (issue 9): Del 2 PDFs through the real server on 127.0.0.1.

Starts `python -m web.cli serve` (as many processes as `serve` starts by default, one thread
each) on a free port in a temporary instance
(SQLite, or a fresh PostgreSQL database when `--backend postgresql`; rate limit off), creates an
hf user and a token with the CLI, pre-builds distinct Del 2 PDFs (distinct reference numbers), and
lets 16 client threads with keep-alive connections upload them. The loop is bounded by count and
by a time limit and only ever talks to 127.0.0.1. Baselines in the same run: `GET /healthz` under
the same concurrency, and `check` alone: the same PDFs through `processor.ingest` (what
`skjemamottak check` runs) in one process per core, with no server, database or HTTP; the ratio
of upload to check throughput is what the service costs beyond reading the form. Also reported: the CPU seconds the server's processes and the load client
spent per upload (from /proc), which bound the throughput the machine's cores allow. The server's
process group is killed at the end.

Run: `python -m benchmarks.upload_load [--uploads 2000] [--clients 16] [--workers N]
[--threads N] [--backend sqlite|postgresql]` (workers and threads default to what `serve` starts).
Prints JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from forms.templates import build
from tests.cli import run_cli, start_server, stop_server
from tests.fillers import sample_values
from tests.wire import multipart

ROOT = Path(__file__).resolve().parents[1]
PG_ENV = "SKJEMAMOTTAK_TEST_POSTGRES_URL"
HOST = "127.0.0.1"  # the only address this script ever connects to
HF = "OUS"
PLACEHOLDER = "N00000"
# gunicorn processes and threads per process for the measurement: what `serve` does by default
WORKERS, THREADS = max(2, min((os.cpu_count() or 1) + 1, 8)), 1
BASES = 8  # distinct base PDFs (different dates and costs); each is patched to many references


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _cli(env: dict[str, str], *args: str) -> str:
    proc = run_cli(*args, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"web.cli {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def del2_pdfs(n: int) -> list[bytes]:
    """`n` distinct Del 2 PDFs with distinct reference numbers.

    Building a filled PDF takes ~0.14 s, so `BASES` PDFs are built by the template builder with a
    fixed-width placeholder in the reference number, and each copy gets its own number by a
    same-length byte substitution (the offsets in the cross-reference table stay valid).
    """
    bases = []
    for b in range(BASES):
        values = sample_values(
            "tilgang-del2",
            **{
                "soknad.helseforetak": HF,
                "soknad.referansenummer": f"2026-10-{1 + b:02d}-{HF}-{PLACEHOLDER}",
                "kostnader.legemiddel_per_maned": str(10_000 + 250 * b),
            },
        )
        pdf = build("tilgang-del2", "pdf", values)
        if PLACEHOLDER.encode() not in pdf:
            raise SystemExit("the reference number is not stored as plain text in the PDF")
        bases.append(pdf)
    return [bases[i % BASES].replace(PLACEHOLDER.encode(), f"N{i:05d}".encode()) for i in range(n)]


def group_cpu_seconds(pgid: int | None = None, comm: str | None = None) -> float:
    """User + system CPU seconds of every live process in process group `pgid` (the server's
    master and its workers), or of every process named `comm` (e.g. "postgres": the database
    server's backends), from Linux /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
        if (pgid is not None and int(fields[2]) == pgid) or (comm is not None and name == comm):
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


@contextmanager
def _database(backend: str) -> Iterator[str | None]:
    """None for the instance's SQLite file, or the URL of a fresh PostgreSQL database (dropped
    afterwards) on the server named by SKJEMAMOTTAK_TEST_POSTGRES_URL."""
    if backend == "sqlite":
        yield None
        return
    from tests import pgutil

    name = pgutil.create_database()
    try:
        yield pgutil.url_for(name)
    finally:
        pgutil.drop_database(name)


@contextmanager
def server(
    workers: int = 2, threads: int = 4, backend: str = "sqlite", log: str | None = None
) -> Iterator[tuple[int, str, int]]:
    """A running server in a temporary instance: yields (port, token of an hf user, process
    group of the server). `log`: a file for the server's own log (stderr), else discarded."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        _database(backend) as url,
        open(log or os.devnull, "w") as log_file,
    ):
        env = {
            **os.environ,
            "SKJEMAMOTTAK_INSTANCE": str(Path(tmp) / "instance"),
            "SKJEMAMOTTAK_RATELIMIT_DISABLED": "1",
            "SKJEMAMOTTAK_SECRET_KEY": "benchmark",
        }
        env.pop("SKJEMAMOTTAK_DATABASE_URL", None)
        if url:
            env["SKJEMAMOTTAK_DATABASE_URL"] = url
        _cli(env, "db", "upgrade")
        _cli(env, "user", "add", "hf-ous", "--role", "hf", "--hf", HF)
        token = _cli(env, "token", "create", "hf-ous").splitlines()[-1].strip()
        port = _free_port()
        try:
            proc = start_server(
                port,
                *("--workers", str(workers), "--threads", str(threads)),
                env=env,
                host=HOST,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        except RuntimeError as e:
            raise SystemExit(str(e)) from None
        try:
            yield port, token, proc.pid
        finally:
            stop_server(proc)


def load(
    port: int,
    token: str,
    requests: list[tuple[str, str, bytes | None, dict[str, str]]],
    clients: int,
    time_limit: float,
    expect: int,
) -> dict[str, float]:
    """Send `requests` (method, path, body, headers) from `clients` threads, each with one
    keep-alive connection; stop at the end of the list or after `time_limit` seconds."""
    work: queue.Queue[int] = queue.Queue()
    for i in range(len(requests)):
        work.put(i)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + time_limit

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        mine: list[float] = []
        bad: list[str] = []
        while time.monotonic() < stop_at:
            try:
                i = work.get_nowait()
            except queue.Empty:
                break
            method, path, body, headers = requests[i]
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                mine.append(time.perf_counter() - t0)
                if resp.status != expect:
                    bad.append(f"{resp.status} {payload[:200]!r}")
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=60)
            except (OSError, http.client.HTTPException) as e:
                bad.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    ordered = sorted(latencies) or [0.0]
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else [0] * 99
    return {
        "n": len(latencies),
        "p50": statistics.median(ordered),
        "p95": q[94] or ordered[-1],
        "p99": q[98] or ordered[-1],
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "seconds": elapsed,
        "per_second": len(latencies) / elapsed if elapsed else 0.0,
    }


def _warm() -> None:
    from processor.ingest import warm

    warm()


def _check_chunk(chunk: list[tuple[int, bytes]]) -> int:
    """`check` of a chunk of files in a pool process: how many were accepted."""
    from processor.ingest import ingest

    today = date(2026, 12, 1)
    return sum(ingest(f"del2-{i}.pdf", data, today=today).status == "accepted" for i, data in chunk)


def check_alone(pdfs: list[bytes], processes: int | None = None) -> dict[str, float]:
    """Throughput of `check` alone on the same files: one process per core (as `check` does),
    validators compiled before the clock starts; chunks of 16 files per task."""
    processes = processes or os.cpu_count() or 1
    chunks = [list(enumerate(pdfs))[i : i + 16] for i in range(0, len(pdfs), 16)]
    with ProcessPoolExecutor(max_workers=processes, initializer=_warm) as pool:
        list(pool.map(_check_chunk, chunks[: processes * 2]))  # warm-up: imports, caches
        t0 = time.perf_counter()
        accepted = sum(pool.map(_check_chunk, chunks))
        elapsed = time.perf_counter() - t0
    return {
        "n": len(pdfs),
        "accepted": accepted,
        "processes": processes,
        "seconds": elapsed,
        "per_second": len(pdfs) / elapsed if elapsed else 0.0,
    }


def measure(
    uploads: int,
    clients: int,
    time_limit: float,
    *,
    workers: int = WORKERS,
    threads: int = THREADS,
    backend: str = "sqlite",
    log: str | None = None,
) -> tuple[dict, dict]:
    pdfs = del2_pdfs(uploads)
    with server(workers, threads, backend, log) as (port, token, pgid):
        auth = {"Authorization": f"Bearer {token}"}
        health = [("GET", "/healthz", None, {})] * max(uploads // 2, 200)
        load(port, token, health[:100], clients, 30, 200)  # warm-up: workers, connections
        base = load(port, token, health, clients, time_limit / 4, 200)
        posts = []
        for i, pdf in enumerate(pdfs):
            body, ctype = multipart(f"del2-{i}.pdf", pdf, content_type="application/pdf")
            headers = {**auth, "Content-Type": ctype}
            posts.append(("POST", "/api/v1/innsendinger", body, headers))
        server_before, client_before = group_cpu_seconds(pgid), time.process_time()
        db_before = group_cpu_seconds(comm="postgres") if backend == "postgresql" else 0.0
        up = load(port, token, posts, clients, time_limit, 201)
        n = max(up["n"], 1)
        up["server_cpu_ms"] = (group_cpu_seconds(pgid) - server_before) / n * 1000
        up["client_cpu_ms"] = (time.process_time() - client_before) / n * 1000
        if backend == "postgresql":  # the database server shares the machine's cores
            up["db_cpu_ms"] = (group_cpu_seconds(comm="postgres") - db_before) / n * 1000
    up["check_alone"] = check_alone(pdfs)
    up["ratio_to_check"] = up["per_second"] / max(up["check_alone"]["per_second"], 1e-9)
    return base, up


def rows(quick: bool = False) -> list[tuple[str, str, str, str, bool | None]]:
    """(figure, value, baseline, target, met) rows for `benchmarks.run_all`: SQLite, and
    PostgreSQL when SKJEMAMOTTAK_TEST_POSTGRES_URL names a server."""
    uploads, limit = (300, 90.0) if quick else (2000, 300.0)
    clients = 16
    backends = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])
    out: list[tuple[str, str, str, str, bool | None]] = []
    for backend in backends:
        base, up = measure(uploads, clients, limit, backend=backend)
        out.extend(_rows(backend, uploads, clients, base, up))
    return out


def _rows(
    backend: str, uploads: int, clients: int, base: dict, up: dict
) -> list[tuple[str, str, str, str, bool | None]]:
    met = up["p95"] <= 0.150 and up["errors"] == 0 and up["n"] == uploads
    value = (
        f"p50 {up['p50'] * 1000:.0f} / p95 {up['p95'] * 1000:.0f} / p99 {up['p99'] * 1000:.0f} ms,"
        f" {up['errors']} feil, {up['n']}/{uploads} på {up['seconds']:.0f} s"
        f" ({up['per_second']:.1f}/s)"
    )
    baseline = (
        f"GET /healthz p50 {base['p50'] * 1000:.1f} / p95 {base['p95'] * 1000:.1f} ms"
        f" ({base['per_second']:.0f}/s)"
    )
    db = "SQLite" if backend == "sqlite" else "PostgreSQL"
    label = (
        f"{db}: opplasting Del 2-PDF, {clients} klienter, {uploads} stk, 127.0.0.1"
        f" ({WORKERS} prosesser × {THREADS} {'tråd' if THREADS == 1 else 'tråder'})"
    )
    out: list[tuple[str, str, str, str, bool | None]] = [
        (label, value, baseline, "p95 <= 150 ms, 0 feil", met)
    ]
    cores = os.cpu_count() or 1
    db_ms = up.get("db_cpu_ms", 0.0)
    cpu_ms = max(up["server_cpu_ms"] + up["client_cpu_ms"] + db_ms, 1e-9)
    parts = f"{up['server_cpu_ms']:.1f} ms / {up['client_cpu_ms']:.1f} ms"
    out.append(
        (
            f"{db}: CPU per opplasting (tjener / lastklient"
            + (" / PostgreSQL)" if "db_cpu_ms" in up else ")"),
            parts + (f" / {db_ms:.1f} ms" if "db_cpu_ms" in up else ""),
            f"{cores} kjerner gir høyst {cores * 1000 / cpu_ms:.0f} opplastinger/s",
            "",
            None,
        )
    )
    alone = up["check_alone"]
    out.append(
        (
            f"{db}: opplasting mot check alene (samme filer, {alone['processes']} prosesser)",
            f"{up['per_second']:.0f} / {alone['per_second']:.0f} per s = {up['ratio_to_check']:.2f}×",
            "0,30× (256 / 852 per s, før regel 3)",
            ">= 0,5×",
            up["ratio_to_check"] >= 0.5,
        )
    )
    if up["first_error"]:
        out.append((f"{db}: første feil", up["first_error"][:60], "", "", None))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--uploads", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds for the upload loop")
    ap.add_argument("--workers", type=int, default=WORKERS)
    ap.add_argument("--threads", type=int, default=THREADS)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--server-log", help="write the server's log (stderr) to this file")
    args = ap.parse_args(argv)
    base, up = measure(
        args.uploads,
        args.clients,
        args.time_limit,
        workers=args.workers,
        threads=args.threads,
        backend=args.backend,
        log=args.server_log,
    )
    print(json.dumps({"healthz": base, "upload": up}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
