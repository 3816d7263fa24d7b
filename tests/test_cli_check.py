"""FORMS.md section 9: `skjemamottak check [--json] FILE...`, run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest

from forms.catalog import get_form
from forms.templates.docx import build_docx
from tests.cli import run_cli
from tests.conftest import ROOT, TODAY
from tests.spec_support import (
    DEL2_VALUES,
    del2_json,
    field_kinds,
    fill_with_pypdf,
    hierarchical_pdf,
    pdf_values,
    reportlab_pdf,
    synthetic,
)

RESULT_KEYS = {
    "file",
    "status",
    "form_type",
    "form_version",
    "reference",
    "data",
    "errors",
    "warnings",
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})


def check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run("check", "--today", TODAY.isoformat(), *args, cwd=cwd)


def write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return name


def _pdf(builder, **overrides: object) -> bytes:
    kinds = field_kinds()
    return fill_with_pypdf(builder(kinds), pdf_values({**DEL2_VALUES, **overrides}, kinds))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A folder of files, one per outcome: name -> the status `check` must give it."""
    d = tmp_path_factory.mktemp("check")
    want = {
        write(d, "gyldig.json", del2_json()): "accepted",
        write(d, "gyldig-flat.pdf", _pdf(reportlab_pdf)): "accepted",
        write(d, "mappe/gyldig-hierarkisk.pdf", _pdf(hierarchical_pdf)): "accepted",
        write(d, "uten-diagnose.json", del2_json(**{"pasient.diagnose": None})): "incomplete",
        write(
            d, "uten-samtykke.pdf", _pdf(reportlab_pdf, **{"soknad.samtykke_bekreftet": False})
        ): "incomplete",
        write(d, "tom.pdf", b""): "rejected",
        write(d, "notat.txt", b"hei"): "rejected",
        write(d, "tull.pdf", b"%PDF-1.7 tull"): "rejected",
        write(d, "blank-mal.docx", build_docx(get_form("tilgang-del2"))): "incomplete",
    }
    return d, want


def test_all_accepted_exits_zero(files):
    d, want = files
    ok = [name for name, status in want.items() if status == "accepted"]
    proc = check(*ok, cwd=d)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("bad", ["uten-diagnose.json", "tom.pdf"])
def test_any_incomplete_or_rejected_exits_one(files, bad):
    d, _ = files
    proc = check("gyldig.json", bad, cwd=d)
    assert proc.returncode == 1, proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["check", "--json"],
        ["check", "--ukjent", "gyldig.json"],
        ["check", "finnes-ikke.pdf"],
        ["check", "gyldig.json", "finnes-ikke.pdf"],
        ["kontroller", "gyldig.json"],
        [],
    ],
)
def test_usage_error_exits_two(files, args):
    d, _ = files
    proc = run(*args, cwd=d)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip()
    assert "Traceback" not in proc.stderr


def test_json_output_has_exactly_the_documented_shape(files):
    d, want = files
    typed = [f"./{name}" if name.endswith(".json") else name for name in want]
    typed.append(str(d / "gyldig.json"))  # an absolute path is repeated as it is
    proc = check("--json", *typed, cwd=d)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert set(doc) == {"results"}
    results = doc["results"]
    assert [r["file"] for r in results] == typed
    for r in results:
        name = r["file"].removeprefix("./")
        expected = "accepted" if r["file"].startswith("/") else want[name]
        assert r["status"] == expected, r
        if r["status"] == "rejected":
            assert set(r) == RESULT_KEYS - {"data"}
            assert r["errors"]
        else:
            assert set(r) == RESULT_KEYS
            assert r["data"]["skjema"] == {"type": "tilgang-del2", "versjon": "1"}
            assert r["form_type"] == "tilgang-del2" and r["form_version"] == "1"
        for f in r["errors"] + r["warnings"]:
            assert set(f) == {"code", "field", "message"}
            assert f["message"]
        if r["status"] == "accepted":
            assert r["errors"] == []
            assert r["reference"] == DEL2_VALUES["soknad.referansenummer"]


def test_human_report_is_norwegian(files):
    d, want = files
    proc = check(*want, cwd=d)
    out = proc.stdout
    for word in ("godkjent", "ufullstendig", "avvist"):
        assert word in out
    # findings name the field by its Norwegian label (FORMS.md 3.1), not only by its id
    assert "Pasienten har gitt samtykke (del 1 er signert)" in out
    assert "Diagnose det søkes behandling for" in out
    assert "Filen er tom." in out
    assert "REQUIRED" in out and "FILE_EMPTY" in out
    assert f"{len(want)} filer" in out
    for english in ("accepted", "incomplete", "rejected", "Traceback"):
        assert english not in out


def test_too_large_file_is_rejected_with_max_mb(files):
    d, _ = files
    proc = check("--json", "--max-mb", "0.001", "gyldig-flat.pdf", cwd=d)
    (r,) = json.loads(proc.stdout)["results"]
    assert r["status"] == "rejected"
    assert [f["code"] for f in r["errors"]] == ["FILE_TOO_LARGE"]


def test_identity_in_a_file_name_is_only_repeated_as_the_typed_path(tmp_path):
    number = synthetic(date(1979, 6, 30), 321)
    name = write(tmp_path, f"soknad {number}.json", del2_json())
    for args in (["--json", name], [name]):
        proc = check(*args, cwd=tmp_path)
        assert proc.returncode == 1
        assert proc.stdout.count(number) == 1  # the `file` of the result
        assert number[-5:] not in proc.stdout.replace(number, "")
        assert number not in proc.stderr
    (r,) = json.loads(check("--json", name, cwd=tmp_path).stdout)["results"]
    assert r["file"] == name
    assert [f["code"] for f in r["errors"]] == ["IDENTITY_FOUND"]


def test_parallel_jobs_give_the_same_results_as_one_job(tmp_path):
    variants = [
        {},
        {"pasient.diagnose": None},
        {"soknad.samtykke_bekreftet": False},
        {"forankring.fagdirektor_godkjent": False},
        {"kriterier.okt_nytte.oppfylt": False},
        {"kriterier.okt_nytte.begrunnelse": None},
        {"litteratur.1.lenke": None},
        {"behandling.behandlingsmal": "Annet"},
        {"soknad.referansenummer": "2026-02-03-OUS-LUNGE"},
        {"pasient.fodselsar": "nitten"},
        {"kostnader.legemiddel_per_maned": "kr 12.500,-"},
        {"skjema.versjon": "9"},
        {"skjema.type": "tilgang-del1"},
    ]
    names = [write(tmp_path, f"v{i:02}.json", del2_json(**v)) for i, v in enumerate(variants)]
    names += [
        write(tmp_path, "a.pdf", _pdf(reportlab_pdf)),
        write(tmp_path, "b.pdf", _pdf(hierarchical_pdf, **{"totalvurdering": ""})),
        write(tmp_path, "c.pdf", _pdf(reportlab_pdf)[:5000]),
        write(tmp_path, "d.docx", build_docx(get_form("tilgang-del2"))),
        write(tmp_path, "e.txt", b"tekst"),
        write(tmp_path, "f.json", b"{ikke json"),
        write(tmp_path, "g.json", b""),
    ]
    assert len(names) >= 20
    one = check("--json", "--jobs", "1", *names, cwd=tmp_path)
    two = check("--json", "--jobs", "2", *names, cwd=tmp_path)
    assert one.returncode == two.returncode == 1
    assert json.loads(one.stdout) == json.loads(two.stdout)
    statuses = {r["status"] for r in json.loads(one.stdout)["results"]}
    assert statuses == {"accepted", "incomplete", "rejected"}
