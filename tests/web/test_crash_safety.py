"""Crash safety (issue 8): the real server (`skjemamottak serve`, gunicorn workers) is killed hard in
the middle of an upload loop; afterwards `fsck` finds no row without its blob and nothing to
clean (uploads write no blob at all since rule 3, FORMS.md section 6), `audit verify` passes,
and the restarted server takes uploads again."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.cli import run_cli, start_server
from tests.fillers import fill_json, sample_values
from tests.web.conftest import on_postgres
from tests.wire import multipart

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    on_postgres(),
    reason="the server subprocess uses the instance folder's SQLite database in both passes",
)


def _orphans(report: str) -> int:
    """The number of orphan blobs an fsck report names (0 when it names none)."""
    import re

    m = re.search(r"fjernet (\d+) filer som ingen rad peker på", report, re.IGNORECASE)
    return int(m.group(1)) if m else 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return run_cli(*args, env=env, stdin=stdin)


def _start(env: dict, port: int) -> subprocess.Popen:
    return start_server(
        port, "--workers", "2", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _upload(port: int, token: str, n: int) -> int:
    values = sample_values(
        "tilgang-del2",
        **{
            "soknad.helseforetak": "OUS",
            "soknad.referansenummer": f"2026-10-{1 + n % 28:02d}-OUS-A{n}",
        },
    )
    body = fill_json("tilgang-del2", values)
    payload, ctype = multipart(f"s{n}.json", body, content_type="application/json")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "POST",
        "/api/v1/innsendinger",
        body=payload,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": ctype,
        },
    )
    return conn.getresponse().status


def test_hard_kill_during_uploads_leaves_a_consistent_instance(tmp_path):
    env = {**os.environ, "SKJEMAMOTTAK_INSTANCE": str(tmp_path / "instance")}
    env.pop("SKJEMAMOTTAK_DATABASE_URL", None)
    assert _cli(env, "db", "upgrade").returncode == 0
    assert _cli(env, "user", "add", "hf-ous", "--role", "hf", "--hf", "OUS").returncode == 0
    token = _cli(env, "token", "create", "hf-ous").stdout.strip()
    assert token

    port = _free_port()
    server = _start(env, port)
    done: list[int] = []
    stop = threading.Event()

    def loop(start: int) -> None:
        n = start
        while not stop.is_set() and n < start + 200:
            try:
                done.append(_upload(port, token, n))
            except OSError:
                return  # the server is gone
            n += 1

    threads = [threading.Thread(target=loop, args=(i * 1000,)) for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(done) < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(server.pid, signal.SIGKILL)  # mid-loop, no shutdown of any kind
    stop.set()
    for t in threads:
        t.join(timeout=30)
    server.wait(timeout=30)
    assert done.count(201) >= 10, done

    fsck = _cli(env, "fsck", "--grace", "0")  # no upload is in flight: clean orphans now
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    again = _cli(env, "fsck", "--grace", "0", "--dry-run")
    assert again.returncode == 0
    assert _orphans(again.stdout) == 0, again.stdout  # nothing left to clean
    verify = _cli(env, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr

    server = _start(env, port)
    try:
        assert _upload(port, token, 99_999) == 201
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/saker?side=1", headers={"Authorization": f"Bearer {token}"})
        listing = json.loads(conn.getresponse().read())
        assert listing
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
