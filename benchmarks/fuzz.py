"""The long fuzz run (issue 8): 10,000 mutated forms of every format through `ingest`.

Run: `python -m benchmarks.fuzz [--n 10000] [--seed 1]`. Prints counts per status and code and
the slowest cases; exits 1 if any case raised (a crash), which the test suite's small run guards
against as well.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import traceback

from processor.ingest import ingest
from tests.conftest import TODAY
from tests.fuzzing import mutations


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    statuses: collections.Counter[str] = collections.Counter()
    codes: collections.Counter[str] = collections.Counter()
    crashes = 0
    slowest: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    for i, (name, data) in enumerate(mutations(args.n, args.seed)):
        t = time.perf_counter()
        try:
            result = ingest(name, data, today=TODAY)
        except Exception:
            crashes += 1
            print(f"KRASJ i tilfelle {i} ({name}):", file=sys.stderr)
            traceback.print_exc()
            continue
        slowest.append((time.perf_counter() - t, f"{i}:{name}"))
        statuses[result.status] += 1
        codes.update(f.code for f in result.errors)
    elapsed = time.perf_counter() - t0
    slowest.sort(reverse=True)
    print(f"{args.n} muterte skjema på {elapsed:.1f} s, {crashes} krasj")
    print("status:", dict(statuses))
    print("koder:", dict(codes.most_common()))
    print("tregeste:", ", ".join(f"{n} {s * 1000:.0f} ms" for s, n in slowest[:5]))
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
