"""Ingest benchmark (issue 3): `check` per PDF against bare pypdf on the same files, per DOCX form,
and 1,000 mixed forms through `skjemamottak check --jobs 2`.

Run: `python -m benchmarks.ingest [--n 200]`. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pypdf

from forms.catalog import get_form
from forms.templates import build
from processor.ingest import ingest
from tests.cli import run_cli
from tests.fillers import fill_json, fill_xlsx, sample_values

TODAY = date(2026, 11, 23)
HF = ["OUS", "AHUS", "STO", "HBE", "UNN", "SIHF", "HNT", "FIN"]


def del2_values(i: int) -> dict:
    hf = HF[i % len(HF)]
    return sample_values(
        "tilgang-del2",
        **{
            "soknad.helseforetak": hf,
            "soknad.referansenummer": f"2026-{1 + i % 9:02d}-{1 + i % 27:02d}-{hf}-AVD{i % 50}",
            "kostnader.legemiddel_per_maned": str(10_000 + 37 * i),
            "pasient.fodselsar": str(1940 + i % 70),
        },
    )


def generate(n: int) -> dict[str, list[tuple[str, bytes]]]:
    files: dict[str, list[tuple[str, bytes]]] = {"pdf": [], "docx": [], "json": [], "xlsx": []}
    okonomi = build("minihta-okonomi", "xlsx")
    for i in range(n):
        values = del2_values(i)
        files["pdf"].append((f"del2-{i}.pdf", build("tilgang-del2", "pdf", values)))
        files["docx"].append((f"del2-{i}.docx", build("tilgang-del2", "docx", values)))
        files["json"].append((f"del2-{i}.json", fill_json(get_form("tilgang-del2"), values)))
    for i in range(max(1, n // 10)):
        files["xlsx"].append(
            (f"okonomi-{i}.xlsx", fill_xlsx(okonomi, sample_values("minihta-okonomi")))
        )
    return files


def per_file(fn, items, repeat: int = 3) -> float:
    """Median over `repeat` rounds of the mean seconds per file."""
    rounds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for name, data in items:
            fn(name, data)
        rounds.append((time.perf_counter() - t0) / len(items))
    return statistics.median(rounds)


def without_sweep(items, repeat: int = 3) -> float:
    """`per_file(check, items)` with the generic sweep of every Office part (`processor.sweep`)
    switched off: what the sweep costs is the difference, measured in the same run."""
    import processor.extract_docx as docx
    import processor.extract_xlsx as xlsx

    real = docx.package_texts
    docx.package_texts = xlsx.package_texts = lambda pkg, limits: []
    try:
        return per_file(check, items, repeat)
    finally:
        docx.package_texts = xlsx.package_texts = real


def bare_pypdf(name: str, data: bytes) -> None:
    pypdf.PdfReader(io.BytesIO(data)).get_fields()


def check(name: str, data: bytes) -> None:
    result = ingest(name, data, today=TODAY)
    if result.status != "accepted":
        raise SystemExit(f"benchmark file not accepted: {name} {result.errors[:3]}")


def mixed_run(files: dict[str, list[tuple[str, bytes]]], total: int) -> tuple[float, int]:
    pool = [f for kind in ("pdf", "docx", "json", "xlsx") for f in files[kind]]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(total):
            name, data = pool[i % len(pool)]
            p = Path(tmp) / f"{i:05d}-{name}"
            p.write_bytes(data)
            paths.append(str(p))
        t0 = time.perf_counter()
        proc = run_cli(
            "check",
            "--json",
            "--jobs",
            "2",
            "--today",
            TODAY.isoformat(),
            *paths,
            text=False,
            timeout=3600,
        )
        elapsed = time.perf_counter() - t0
    return elapsed, proc.returncode


def rows(quick: bool = False, n: int | None = None, mixed: int = 1000) -> list[tuple]:
    """(figure, value, baseline, target, met) rows for `benchmarks.run_all`."""
    n = n or (50 if quick else 200)
    files = generate(n)
    for kind in ("pdf", "docx", "json", "xlsx"):  # warm-up and correctness
        for name, data in files[kind][:3]:
            check(name, data)
    bare = per_file(bare_pypdf, files["pdf"])
    ours_pdf = per_file(check, files["pdf"])
    ours_docx = per_file(check, files["docx"])
    ours_json = per_file(check, files["json"])
    ours_xlsx = per_file(check, files["xlsx"])
    bare_docx = without_sweep(files["docx"])
    bare_xlsx = without_sweep(files["xlsx"])
    elapsed, rc = mixed_run(files, mixed)
    return [
        (
            "check per Del 2-PDF / bare pypdf get_fields()",
            f"{ours_pdf / bare:.2f}x ({ours_pdf * 1000:.1f} ms)",
            f"pypdf {bare * 1000:.1f} ms",
            "<= 0.5x",  # issue #10: the sweep of every object of every revision stays cheap
            ours_pdf / bare <= 0.5,
        ),
        ("check per DOCX-skjema", f"{ours_docx * 1000:.2f} ms", "", "<= 4 ms", ours_docx <= 0.004),
        ("check per JSON-skjema", f"{ours_json * 1000:.2f} ms", "", "", None),
        ("check per økonomiark (XLSX)", f"{ours_xlsx * 1000:.2f} ms", "", "", None),
        (
            "gjennomgang av hele pakken, DOCX",
            f"{(ours_docx - bare_docx) * 1000:.2f} ms",
            f"uten: {bare_docx * 1000:.2f} ms",
            "",
            None,
        ),
        (
            "gjennomgang av hele pakken, XLSX",
            f"{(ours_xlsx - bare_xlsx) * 1000:.2f} ms",
            f"uten: {bare_xlsx * 1000:.2f} ms",
            "",
            None,
        ),
        (
            f"{mixed} blandede skjema, check --jobs 2 (exit {rc})",
            f"{elapsed:.2f} s",
            "",
            "<= 10 s",
            elapsed <= 10 and rc == 0,
        ),
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200, help="files per format")
    ap.add_argument("--mixed", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="50 files per format")
    args = ap.parse_args()
    print(
        f"maskin: {platform.processor() or platform.machine()}, {os.cpu_count()} kjerner, "
        f"Python {platform.python_version()}, pypdf {pypdf.__version__}"
    )
    print(f"{'måling':<50} {'verdi':>22} {'grunnlinje':>16} {'mål':>8}")
    for label, value, baseline, target, _ in rows(
        args.quick, None if args.quick else args.n, args.mixed
    ):
        print(f"{label:<50} {value:>22} {baseline:>16} {target:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
