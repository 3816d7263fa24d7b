"""FORMS.md section 7: `skjemamottak link [--key FILE] DEL1 DEL2`, run at the HF.

Del 1 and Del 2 are the project's own templates (PDF and DOCX) filled by tests/fillers.py. The
patient's fødselsnummer is a synthetic test number (month + 80) computed at run time.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import random
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from forms.catalog import get_form
from forms.templates.docx import build_docx
from forms.templates.pdf import build_pdf
from processor.ingest import ingest
from processor.linkcheck import CHECKSUM_FIELD, read_form
from tests.cli import run_cli
from tests.conftest import ROOT, TODAY
from tests.fillers import fill_docx, fill_pdf, sample_values
from tests.spec_support import (
    field_kinds,
    fill_with_pypdf,
    hierarchical_pdf,
    pdf_values,
    reportlab_pdf,
    synthetic,
)
from web.cli import main

BORN = date(1987, 1, 3)
FNR = synthetic(BORN, 123)
NAME = "Oddny Prøvesen"
REFERENCE = sample_values("tilgang-del2")["soknad.referansenummer"]
BIRTH_DATES = (
    "03.01.1987",
    "3.1.1987",
    "03.01.87",
    "3. januar 1987",
    "03. januar 1987",
    "3 januar 1987",
    "3. jan. 1987",
    "1987-01-03",
    "03/01/1987",
    "03-01-1987",
)
FORMATS = ("pdf", "docx")

_TEMPLATES: dict[tuple[str, str], bytes] = {}


def template(form_id: str, fmt: str) -> bytes:
    key = (form_id, fmt)
    if key not in _TEMPLATES:
        build = build_pdf if fmt == "pdf" else build_docx
        _TEMPLATES[key] = build(get_form(form_id))
    return _TEMPLATES[key]


def filled(form_id: str, fmt: str, **overrides: object) -> bytes:
    values = sample_values(form_id, **overrides)
    fill = fill_pdf if fmt == "pdf" else fill_docx
    return fill(template(form_id, fmt), values)


def del1(fmt: str, **overrides: object) -> bytes:
    base = {"pasient.fodselsnummer": FNR, "pasient.navn": NAME}
    return filled("tilgang-del1", fmt, **{**base, **overrides})


def del2(fmt: str, **overrides: object) -> bytes:
    return filled("tilgang-del2", fmt, **overrides)


def link(tmp_path: Path, d1: bytes, d2: bytes, fmt1: str, fmt2: str, *extra: str, key=None):
    """Run `link` in-process; returns (exit status, output, Del 2 path)."""
    p1, p2 = tmp_path / f"del1.{fmt1}", tmp_path / f"del2.{fmt2}"
    p1.write_bytes(d1)
    p2.write_bytes(d2)
    args = ["link", "--today", TODAY.isoformat(), *extra]
    if key is not None:
        kp = tmp_path / "hf.key"
        kp.write_bytes(key)
        args += ["--key", str(kp)]
    return p2, [*args, str(p1), str(p2)]


def run_link(capsys, tmp_path, d1, d2, fmt1="pdf", fmt2="pdf", key=None):
    p2, argv = link(tmp_path, d1, d2, fmt1, fmt2, key=key)
    code = main(argv)
    out = capsys.readouterr()
    text = out.out + out.err
    assert_no_identity(text)
    return code, text, p2


def assert_no_identity(text: str) -> None:
    """The link check reports without printing identity (FORMS.md section 7)."""
    for piece in (FNR, FNR[:6], FNR[-5:], FNR[:6] + " " + FNR[6:]):
        assert piece not in text
    for word in NAME.split():
        assert word.casefold() not in text.casefold()
    for d in BIRTH_DATES:
        assert d not in text


def expected_checksum(key: bytes, fnr: str, reference: str) -> str:
    mac = hmac.new(key, f"{fnr}|{reference.upper()}".encode(), hashlib.sha256)
    return "k1:" + mac.hexdigest()[:20]


def fields(fmt: str, data: bytes) -> dict[str, object]:
    return {k: (None if v == "" else v) for k, v in read_form(f"x.{fmt}", data).fields.items()}


# ---- the link holds or does not ------------------------------------------------------------------


@pytest.mark.parametrize(("fmt1", "fmt2"), [("pdf", "pdf"), ("docx", "docx"), ("pdf", "docx")])
def test_link_holds(capsys, tmp_path, fmt1, fmt2):
    d2 = del2(fmt2)
    code, out, p2 = run_link(capsys, tmp_path, del1(fmt1), d2, fmt1, fmt2)
    assert code == 0, out
    assert "Koblingen holder." in out
    assert p2.read_bytes() == d2  # without --key nothing is written


def test_link_exit_status_through_the_command(tmp_path):
    _, argv = link(tmp_path, del1("pdf"), del2("pdf"), "pdf", "pdf")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = run_cli(*argv, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "del1.pdf").write_bytes(del1("pdf", **{"samtykke.gitt": False}))
    bad = run_cli(*argv, env=env)
    assert bad.returncode == 1
    assert_no_identity(ok.stdout + ok.stderr + bad.stdout + bad.stderr)


@pytest.mark.parametrize("fmt", FORMATS)
def test_different_references_break_the_link(capsys, tmp_path, fmt):
    d2 = del2(fmt, **{"soknad.referansenummer": REFERENCE + "-2"})
    code, out, _ = run_link(capsys, tmp_path, del1(fmt), d2, fmt, fmt)
    assert code == 1
    assert "Referansenumrene i del 1 og del 2 er ulike." in out


@pytest.mark.parametrize("missing_in", ["del1", "del2"])
def test_a_missing_reference_is_named_in_the_part_that_lacks_it(capsys, tmp_path, missing_in):
    blank = {"soknad.referansenummer": ""}
    d1 = del1("pdf", **(blank if missing_in == "del1" else {}))
    d2 = del2("pdf", **(blank if missing_in == "del2" else {}))
    code, out, _ = run_link(capsys, tmp_path, d1, d2)
    assert code == 1
    lacking, other = ("1", "2") if missing_in == "del1" else ("2", "1")
    assert f"mangler i del {lacking}" in out
    assert f"Referansenummeret mangler i del {other}" not in out


def test_reference_is_compared_case_insensitively(capsys, tmp_path):
    d1 = del1("pdf", **{"soknad.referansenummer": REFERENCE.lower()})
    code, out, _ = run_link(capsys, tmp_path, d1, del2("pdf"))
    assert code == 0, out


@pytest.mark.parametrize("fmt", FORMATS)
def test_del1_without_consent_breaks_the_link(capsys, tmp_path, fmt):
    code, out, _ = run_link(
        capsys, tmp_path, del1(fmt, **{"samtykke.gitt": False}), del2(fmt), fmt, fmt
    )
    assert code == 1
    assert "Samtykket i del 1 er ikke krysset av." in out


@pytest.mark.parametrize(
    "overrides",
    [
        {"pasient.fodselsnummer": None},
        {"pasient.fodselsnummer": "12345678901"},  # fails the control digits
        {"pasient.navn": None},
    ],
)
def test_del1_without_valid_identity_breaks_the_link(capsys, tmp_path, overrides):
    code, _, _ = run_link(capsys, tmp_path, del1("pdf", **overrides), del2("pdf"))
    assert code == 1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("sep", ["", " ", ".", "-"])
def test_del2_holding_the_fodselsnummer_breaks_the_link(capsys, tmp_path, fmt, sep):
    text = f"Pasient {FNR[:6]}{sep}{FNR[6:]} har progresjon."
    d2 = del2(fmt, **{"pasient.sykehistorie": text})
    code, out, _ = run_link(capsys, tmp_path, del1(fmt), d2, fmt, fmt)
    assert code == 1
    assert "Del 2 inneholder fødselsnummeret fra del 1" in out
    assert "Oppsummering av relevant sykehistorie" in out  # names the field, never the value


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("birth_date", BIRTH_DATES)
def test_del2_holding_the_birth_date_breaks_the_link(capsys, tmp_path, fmt, birth_date):
    d2 = del2(fmt, **{"totalvurdering": f"Pasienten er født {birth_date} og har progresjon."})
    code, out, _ = run_link(capsys, tmp_path, del1(fmt), d2, fmt, fmt)
    assert code == 1
    assert "Del 2 inneholder fødselsdatoen" in out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("fid", "text"),
    [
        ("pasient.sykehistorie", "Fru Prøvesen har hatt progresjon."),
        ("totalvurdering", "ODDNY bør få behandlingen."),
        ("behandling.evalueringsplan", "Kontroll hos fastlegen til prøvesen."),
    ],
)
def test_del2_holding_a_word_of_the_name_breaks_the_link(capsys, tmp_path, fmt, fid, text):
    code, out, _ = run_link(capsys, tmp_path, del1(fmt), del2(fmt, **{fid: text}), fmt, fmt)
    assert code == 1
    assert "Del 2 inneholder ord fra pasientens navn" in out


def test_short_name_words_and_other_dates_do_not_break_the_link(capsys, tmp_path):
    d1 = del1("pdf", **{"pasient.navn": "Bo Li Prøvesen"})
    d2 = del2("pdf", **{"totalvurdering": "Bo i nærheten. Li er et ord. Kontroll 04.01.1987."})
    code, out, _ = run_link(capsys, tmp_path, d1, d2)
    assert code == 0, out


# ---- --key writes the checksum -------------------------------------------------------------------

KEY = random.Random(42).randbytes(32)  # raw bytes, not necessarily UTF-8


@pytest.mark.parametrize("fmt", FORMATS)
def test_key_writes_the_checksum_and_changes_nothing_else(capsys, tmp_path, fmt):
    d2 = del2(fmt)
    before = fields(fmt, d2)
    assert before[CHECKSUM_FIELD] is None
    code, out, p2 = run_link(capsys, tmp_path, del1(fmt), d2, fmt, fmt, key=KEY)
    assert code == 0, out
    after = fields(fmt, p2.read_bytes())
    assert after[CHECKSUM_FIELD] == expected_checksum(KEY, FNR, REFERENCE)
    assert re.fullmatch(r"k1:[0-9a-f]{20}", after[CHECKSUM_FIELD])
    assert {k: v for k, v in after.items() if k != CHECKSUM_FIELD} == {
        k: v for k, v in before.items() if k != CHECKSUM_FIELD
    }
    assert FNR not in p2.read_bytes().decode("latin-1")
    result = ingest(f"del2.{fmt}", p2.read_bytes(), today=TODAY)
    assert result.status == "accepted", result.errors
    assert result.data["soknad"]["del1_kontrollsum"] == after[CHECKSUM_FIELD]


def test_checksum_uses_the_reference_in_upper_case(capsys, tmp_path):
    d1 = del1("pdf", **{"soknad.referansenummer": REFERENCE.lower()})
    d2 = del2("pdf", **{"soknad.referansenummer": REFERENCE.lower()})
    code, out, p2 = run_link(capsys, tmp_path, d1, d2, key=KEY)
    assert code == 0, out
    assert fields("pdf", p2.read_bytes())[CHECKSUM_FIELD] == expected_checksum(KEY, FNR, REFERENCE)


def test_checksum_depends_on_key_and_identity(capsys, tmp_path):
    other = synthetic(BORN, 300)
    assert other != FNR
    sums = set()
    for key, fnr in ((KEY, FNR), (b"annen nokkel", FNR), (KEY, other)):
        code, out, p2 = run_link(
            capsys, tmp_path, del1("pdf", **{"pasient.fodselsnummer": fnr}), del2("pdf"), key=key
        )
        assert code == 0, out
        got = fields("pdf", p2.read_bytes())[CHECKSUM_FIELD]
        assert got == expected_checksum(key, fnr, REFERENCE)
        sums.add(got)
    assert len(sums) == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_key_with_a_broken_link_leaves_del2_unchanged(capsys, tmp_path, fmt):
    d2 = del2(fmt, **{"totalvurdering": "Prøvesen bør få behandlingen."})
    code, _, p2 = run_link(capsys, tmp_path, del1(fmt), d2, fmt, fmt, key=KEY)
    assert code == 1
    assert p2.read_bytes() == d2


def _pdf_without_checksum_field() -> bytes:
    kinds = {k: v for k, v in field_kinds().items() if k != CHECKSUM_FIELD}
    values = {k: v for k, v in sample_values("tilgang-del2").items() if k != CHECKSUM_FIELD}
    return fill_with_pypdf(reportlab_pdf(kinds), pdf_values(values, kinds))


def _docx_without_checksum_field() -> bytes:
    src = zipfile.ZipFile(io.BytesIO(del2("docx")))
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    root = etree.fromstring(src.read("word/document.xml"))
    dropped = 0
    for tag in root.iter(f"{{{w}}}tag"):
        if tag.get(f"{{{w}}}val") == CHECKSUM_FIELD:
            sdt = tag.getparent().getparent()
            sdt.getparent().remove(sdt)
            dropped += 1
            break
    assert dropped == 1
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/document.xml":
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            out.writestr(info, data)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
def test_key_with_an_old_del2_without_the_checksum_field_exits_one(capsys, tmp_path, fmt):
    d2 = _pdf_without_checksum_field() if fmt == "pdf" else _docx_without_checksum_field()
    assert CHECKSUM_FIELD not in fields(fmt, d2)
    code, out, p2 = run_link(capsys, tmp_path, del1(fmt), d2, fmt, fmt, key=KEY)
    assert code == 1
    assert "eldre mal" in out
    assert p2.read_bytes() == d2
    # without --key the same files link fine: the old template is only a problem for the checksum
    code, out, _ = run_link(capsys, tmp_path, del1(fmt), d2, fmt, fmt)
    assert code == 0, out


@pytest.mark.parametrize("fmt", FORMATS)
def test_running_link_again_replaces_the_checksum(capsys, tmp_path, fmt):
    code, out, p2 = run_link(capsys, tmp_path, del1(fmt), del2(fmt), fmt, fmt, key=b"gammel")
    assert code == 0, out
    first = p2.read_bytes()
    code, out, p2 = run_link(capsys, tmp_path, del1(fmt), first, fmt, fmt, key=KEY)
    assert code == 0, out
    assert fields(fmt, p2.read_bytes())[CHECKSUM_FIELD] == expected_checksum(KEY, FNR, REFERENCE)


def test_key_writes_into_a_hierarchical_pdf_field_tree(capsys, tmp_path):
    kinds = field_kinds()
    d2 = hierarchical_pdf(kinds, sample_values("tilgang-del2"))
    before = fields("pdf", d2)
    code, out, p2 = run_link(capsys, tmp_path, del1("pdf"), d2, key=KEY)
    assert code == 0, out
    after = fields("pdf", p2.read_bytes())
    assert after.pop(CHECKSUM_FIELD) == expected_checksum(KEY, FNR, REFERENCE)
    before.pop(CHECKSUM_FIELD)
    assert after == before
