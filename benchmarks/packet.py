"""Meeting packet benchmark (issue 5): one member's packet with 8 cases, median of 5 builds.

Run: `python -m benchmarks.packet [--cases 8] [--runs 5]`. Prints the figures; asserts nothing.
Target: <= 1.5 s per packet.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import date
from datetime import time as clock

from forms.catalog import get_form
from forms.templates import canonical_json
from processor.packets import MeetingInfo, PacketCase, meeting_packet
from tests.fillers import sample_values

HF = ["OUS", "AHUS", "STO", "HBE", "UNN", "SIHF", "HNT", "FIN", "HSTAV", "VVHF"]


def cases(n: int) -> list[PacketCase]:
    form = get_form("tilgang-del2")
    out = []
    for i in range(n):
        hf = HF[i % len(HF)]
        reference = f"2026-10-{1 + i % 28:02d}-{hf}-AVD{i}"
        values = sample_values(
            "tilgang-del2",
            **{
                "soknad.helseforetak": hf,
                "soknad.referansenummer": reference,
                "pasient.opptaksomrade": hf,
                "kostnader.legemiddel_per_maned": 10_000 + 1_250 * i,
            },
        )
        out.append(
            PacketCase(
                id=reference,
                form_id="tilgang-del2",
                data=canonical_json(form, values),
                price_check={
                    "stated_per_month": 10_000 + 1_250 * i,
                    "confirmed_per_month": 10_000 + 1_250 * i,
                    "corrected": False,
                    "note": "",
                },
                notes=["Søknaden er komplett."],
                urgent=i == 0,
            )
        )
    return out


def measure(n_cases: int = 8, runs: int = 5) -> tuple[list[float], int]:
    meeting = MeetingInfo(
        id="M-2026-24",
        date=date(2026, 12, 7),
        time=clock(13, 0),
        members=[(f"Medlem {n}", HF[n], "Beslutningstaker") for n in range(8)],
    )
    batch = cases(n_cases)
    generated = date(2026, 12, 2)
    meeting_packet(meeting, "Medlem 0", "medlem0", batch, generated)  # warm-up (fonts, imports)
    times = []
    size = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        size = len(meeting_packet(meeting, "Medlem 0", "medlem0", batch, generated))
        times.append(time.perf_counter() - t0)
    return times, size


def rows(quick: bool = False) -> list[tuple]:
    """(figure, value, baseline, target, met) rows for `benchmarks.run_all`."""
    runs = 3 if quick else 5
    times, size = measure(8, runs)
    median = statistics.median(times)
    return [
        (
            f"ett medlems møtepakke, 8 saker (median av {runs})",
            f"{median:.3f} s ({size / 1024:.0f} KiB)",
            f"min {min(times):.3f} / maks {max(times):.3f} s",
            "<= 1.5 s",
            median <= 1.5,
        )
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=8)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="3 runs")
    args = ap.parse_args()
    times, size = measure(args.cases, 3 if args.quick else args.runs)

    print(
        f"maskin: {platform.processor() or platform.machine()}, {os.cpu_count()} kjerner, "
        f"Python {platform.python_version()}"
    )
    print(f"{'måling':<50} {'verdi':>12} {'mål':>10}")
    rows = [
        (
            f"møtepakke, {args.cases} saker, median av {len(times)}",
            f"{statistics.median(times):.3f} s",
            "<= 1.5 s",
        ),
        ("raskeste / tregeste", f"{min(times):.3f} / {max(times):.3f} s", ""),
        ("pakkens størrelse", f"{size / 1024:.0f} KiB", ""),
    ]
    for label, value, target in rows:
        print(f"{label:<50} {value:>12} {target:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
