"""The one error catalogue (processor/codes.py, issue #12).

Every code the source can give is in the catalogue (read from the source with `ast`, so a new
`DomainError("X")` without an entry fails here, not in production), every service code in the
catalogue is still used, the FORMS.md section 8 table and the catalogue agree, and an unknown
code is refused where an error is made.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from processor import codes
from processor.errors import DomainError
from processor.findings import CODES, finding
from tests.conftest import ROOT

PACKAGES = ("forms", "processor", "schemas", "services", "storage", "web")
FORMS_MD = ROOT.parent / "shared" / "spec" / "FORMS.md"
# Callables whose first argument is an error code (error_response included)
CODE_TAKERS = {
    "DomainError",
    "Refusal",
    "finding",
    "Finding",
    "error_response",
    "_attachment_refusal",
    "_xfa_refusal",
    "_comment_refusal",
    "__init__",  # super().__init__("NOT_FOUND", ...) in the subclasses of DomainError
}


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def codes_in_source(paths: list[Path]) -> dict[str, list[str]]:
    """Each literal code given to an error-making call, or listed in `FRAMEWORK_CODES`, with
    the places it is used."""
    found: dict[str, list[str]] = {}

    def add(code: object, where: str) -> None:
        if isinstance(code, str):
            found.setdefault(code, []).append(where)

    for path in paths:
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                first = node.args[0]
                if name in CODE_TAKERS and isinstance(first, ast.Constant):
                    add(first.value, where)
            elif isinstance(node, ast.AnnAssign | ast.Assign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {getattr(t, "id", "") for t in targets}
                if "FRAMEWORK_CODES" in names and isinstance(node.value, ast.Dict):
                    for value in node.value.values:
                        add(getattr(value, "value", None), where)
    return found


def test_every_code_the_source_gives_is_in_the_catalogue() -> None:
    used = codes_in_source(_sources())
    assert len(used) > 30  # the scan sees the source
    unknown = {code: places for code, places in used.items() if code not in codes.CATALOGUE}
    assert unknown == {}


def test_the_scan_finds_a_code_outside_the_catalogue(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "raise DomainError('NOT_A_CODE', 'x')\n"
        "error_response('ALSO_NOT')\n"
        "FRAMEWORK_CODES = {418: 'TEAPOT'}\n",
        "utf-8",
    )
    assert set(codes_in_source([probe])) == {"NOT_A_CODE", "ALSO_NOT", "TEAPOT"}


def test_every_service_code_in_the_catalogue_is_used() -> None:
    """The catalogue does not keep codes nobody gives (FORMS.md codes are the contract and stay:
    the rules give several of them through a variable)."""
    used = codes_in_source(_sources())
    unused = sorted(c for c in codes.CATALOGUE if c not in used and c not in codes.FINDING_CODES)
    assert unused == []


def _forms_table() -> dict[str, str]:
    if not FORMS_MD.exists():
        pytest.skip("shared/spec/FORMS.md is not beside the work tree")
    text = FORMS_MD.read_text("utf-8")
    section = text[text.index("## 8.") : text.index("## 9.")]
    return dict(re.findall(r"^\| `([A-Z0-9_]+)` \| ([^|]+) \|", section, re.M))


def test_the_catalogue_holds_the_forms_md_section_8_table() -> None:
    table = _forms_table()
    assert set(table) == set(codes.FINDING_CODES) == set(CODES)
    for code, status in table.items():
        entry = codes.CATALOGUE[code]
        assert status.split()[0] in {"rejected", "incomplete", "warning", "refused"}
        assert entry.result == status.split()[0], code
        stated = re.search(r"HTTP (\d{3})", status)
        if stated:
            assert entry.http_status == int(stated.group(1)), code


def test_each_code_has_one_status_and_a_norwegian_message() -> None:
    for code, entry in codes.CATALOGUE.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", code)
        assert entry.code == code
        assert entry.message.endswith((".", ")")) and entry.message[0].isupper(), code
        if entry.result == "warning":
            assert entry.http_status is None
        else:
            assert entry.http_status is not None and 400 <= entry.http_status < 600, code
    # the statuses API.md and the OpenAPI document fixed before the catalogue existed
    assert codes.http_status("MEETING_EXISTS") == 409
    assert codes.http_status("REFERENCE_IN_USE") == 409
    assert codes.http_status("FILE_TOO_LARGE") == 413
    assert codes.http_status("UPLOADER_HF_MISMATCH") == 403
    assert codes.http_status("CASE_MISMATCH") == 422


def test_an_unknown_code_is_refused_where_an_error_is_made() -> None:
    with pytest.raises(codes.UnknownCode):
        DomainError("NO_SUCH_CODE")
    with pytest.raises(codes.UnknownCode):
        DomainError("LABEL_FALLBACK")  # a warning is never a refusal
    with pytest.raises(ValueError):
        finding("NO_SUCH_CODE")
    with pytest.raises(codes.UnknownCode):
        codes.http_status("LABEL_FALLBACK")
    error = DomainError("MEETING_EXISTS")
    assert (error.http_status, error.message) == (409, codes.message("MEETING_EXISTS"))
    assert DomainError("NOT_FOUND", "Fant ikke møtet.").message == "Fant ikke møtet."


def test_the_framework_statuses_match_the_catalogue() -> None:
    from web.app import FRAMEWORK_CODES

    for status, code in FRAMEWORK_CODES.items():
        assert codes.http_status(code) == status, code
