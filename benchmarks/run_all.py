"""`make bench`: every benchmark of issue 9 in one run, printed as one table with the machine.

Each figure is a ratio or a percentile measured in the same run as its baseline. Nothing is
asserted: the last column says whether the target was met (`ja` / `NEI`).

Run: `python -m benchmarks.run_all [--quick] [--only ingest,packet,...] [--markdown]`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

# (module, label); each module has `rows(quick) -> [(figure, value, baseline, target, met)]`
SUITES = [
    ("ingest", "innlesing (check)"),
    ("packet", "møtepakke"),
    ("memory", "minne"),
    ("cases_100k", "saksliste og tall, 100 000 saker"),
    ("upload_load", "opplasting mot ekte tjener"),
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f", {int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} kjerner{ram}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, {datetime.now():%Y-%m-%d %H:%M}"
    )


def _verdict(met: bool | None) -> str:
    return "" if met is None else ("ja" if met else "NEI")


def table(rows: list[tuple[str, str, str, str, bool | None]], markdown: bool) -> str:
    head = ("måling", "verdi", "grunnlinje (samme kjøring)", "mål", "nådd")
    body = [(r[0], r[1], r[2], r[3], _verdict(r[4])) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in body]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller counts (a few minutes)")
    ap.add_argument("--only", help="comma-separated suites: " + ",".join(s for s, _ in SUITES))
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args(argv)
    chosen = set(args.only.split(",")) if args.only else {s for s, _ in SUITES}
    rows: list[tuple[str, str, str, str, bool | None]] = []
    started = time.perf_counter()
    for name, label in SUITES:
        if name not in chosen:
            continue
        print(f"... {label}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        try:
            rows += module.rows(args.quick)
        except (Exception, SystemExit) as e:  # one broken suite must not hide the others
            rows.append((label, f"FEIL: {e!r}"[:80], "", "", False))
        print(f"    {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print(f"maskin: {machine()}")
    print(f"modus: {'--quick' if args.quick else 'full'}, {time.perf_counter() - started:.0f} s")
    print()
    print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
