"""The operator command as an operator runs it: `python -m web.cli ARGS` in a child process.

One helper for every test and benchmark that starts the command, so they all start it the same
way (this interpreter, the repository as the working directory, a timeout, output captured).
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = (sys.executable, "-m", "web.cli")


def run_cli(
    *args: str | bytes | os.PathLike,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    stdin: str | None = None,
    text: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """Run the command to its end. `env` is the child's whole environment (this process's by
    default)."""
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        env=os.environ if env is None else env,
        input=stdin,
        capture_output=True,
        text=text,
        timeout=timeout,
    )


def start_cli(*args: str, env: Mapping[str, str] | None = None, **popen) -> subprocess.Popen:
    """Start the command (a server or a worker) and return at once; the caller stops it. `env`
    as for `run_cli`."""
    popen.setdefault("cwd", ROOT)
    return subprocess.Popen([*COMMAND, *args], env=os.environ if env is None else env, **popen)


def start_server(
    port: int,
    *args: str,
    env: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    wait: float = 60,
    **popen,
) -> subprocess.Popen:
    """`serve --host HOST --port PORT ARGS` in its own process group, returned once `/healthz`
    answers 200. A server that ends first or does not answer within `wait` seconds is killed
    and an error raised."""
    popen.setdefault("start_new_session", True)
    proc = start_cli("serve", "--host", host, "--port", str(port), *args, env=env, **popen)
    deadline = time.monotonic() + wait
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    raise RuntimeError(f"the server on port {port} did not start")


def stop_server(proc: subprocess.Popen, wait: float = 30) -> None:
    """SIGTERM the server's process group (it finishes what it holds), SIGKILL after `wait`."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=wait)
    except ProcessLookupError:
        proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=wait)
