"""Figures benchmark (issue 7): the full figures of WORKFLOW.md section 7 for synthetic cases.

Run: `python -m benchmarks.figures [--n 100000]`. Prints timings; asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from processor.charts import flow_chart, outcomes_chart, stage_time_chart
from processor.statistics import CaseHistory, Filters, Transition, compute, public_figures, to_xlsx

OSLO = ZoneInfo("Europe/Oslo")
HF = ["OUS", "AHUS", "SIHF", "HBE", "HSTAV", "STO", "HNT", "UNN", "NLSH", "FIN", "VVHF", "SSHF"]
SPECIALTIES = ["Onkologi", "Nevrologi", "Revmatologi", "Hematologi", "Kardiologi", None]
APPLICATION_PATH = ["priskontroll", "klar", "satt_opp", "avgjort"]
MINIHTA_PATH = ["til_fagfelle", "fagfellevurdert", "besluttet", "publisert"]


def synthetic_cases(n: int, seed: int = 7) -> list[CaseHistory]:
    """`n` cases over 2024–2026: about 1 in 4 returned (some twice), 1 in 20 withdrawn."""
    rnd = random.Random(seed)
    start = datetime(2024, 1, 2, 9, 0, tzinfo=OSLO)
    out: list[CaseHistory] = []
    for i in range(n):
        minihta = i % 5 == 0
        at = start + timedelta(days=rnd.randrange(0, 1000), minutes=rnd.randrange(0, 480))
        created = at
        transitions = [Transition(at, None, "mottatt")]
        path: list[str] = []
        for _ in range(rnd.choice([0, 0, 0, 1, 1, 2])):
            path += ["returnert", "mottatt"]
        steps = MINIHTA_PATH if minihta else APPLICATION_PATH
        stop = rnd.randrange(len(steps) + 1) if rnd.random() < 0.3 else len(steps)
        for to in steps[:stop]:
            if to != "publisert" and rnd.random() < 0.02:
                path.append("trukket")
                break
            path.append(to)
        outcome = None
        if "avgjort" in path:
            outcome = rnd.choice(["innvilget", "innvilget", "avslatt"])
        elif "besluttet" in path:
            outcome = rnd.choice(["innfort", "innfort_med_vilkar", "ikke_innfort"])
        for to in path:
            at = at + timedelta(days=rnd.randint(1, 30), minutes=rnd.randrange(0, 120))
            transitions.append(Transition(at, transitions[-1].to, to))
        out.append(
            CaseHistory(
                id=f"SAK-{i}",
                form_type="minihta" if minihta else "tilgang-del2",
                hf=HF[i % len(HF)],
                fagomrade=rnd.choice(SPECIALTIES),
                created=created,
                transitions=transitions,
                outcome=outcome,
            )
        )
    return out


def timed(label: str, fn, *args, **kwargs):
    """Wall time and this process's CPU time (the latter is steadier on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<44} {wall:8.3f} s wall {cpu:8.3f} s CPU")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.machine()}, {args.n:,} saker")
    cases = timed("generate synthetic histories", synthetic_cases, args.n)
    transitions = sum(len(c.transitions) for c in cases)
    print(f"{'transitions':<44} {transitions:8,d}")
    stats = timed("compute (all figures, no filter)", compute, cases)
    timed("compute (filter: one HF, one year)", compute, cases, Filters(hf="OUS", year=2025))
    public = timed("public_figures", public_figures, stats)
    xlsx = timed("to_xlsx", to_xlsx, stats)
    timed("charts (stage, outcomes per month, flow)", _charts, public)
    print(f"{'xlsx size':<44} {len(xlsx):8,d} bytes")
    print(
        f"{'decided cases':<44} {stats['behandlingstid']['total']['kalenderdager']['antall']:8,d}"
    )
    return 0


def _charts(stats: dict) -> None:
    stage_time_chart(stats)
    outcomes_chart(stats, per="maned")
    flow_chart(stats)


if __name__ == "__main__":
    sys.exit(main())
