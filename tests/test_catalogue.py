"""The field catalogue agrees with the contract in ../shared/spec (FORMS.md §1, §3; MINIHTA.md)."""

from __future__ import annotations

import json
import re

import pytest

from forms.catalog import FORM_IDS, catalogue
from forms.helseforetak import registry
from tests.conftest import SAMPLES

SPEC = SAMPLES.parent / "spec"
_ROW = re.compile(r"^\|\s*`([^`]+)`(?:\s*\(N = 1\.\.(\d+)\))?[^|]*\|\s*([^|]*)\|\s*([^|]*)\|")


def _spec_tables() -> dict[str, dict[str, tuple[str, str]]]:
    """form id -> {field id: (label, repeat count)} read from the spec's markdown tables."""
    tables: dict[str, dict[str, tuple[str, str]]] = {}
    current = None
    for name in ("FORMS.md", "MINIHTA.md"):
        for line in (SPEC / name).read_text("utf-8").splitlines():
            if line.startswith("#"):
                heading = re.match(r"^#{2,3} .*?`([a-z0-9-]+)`", line)
                current = heading.group(1) if heading and heading.group(1) in FORM_IDS else None
                continue
            m = _ROW.match(line)
            if current and m and not m.group(1).startswith("skjema."):
                tables.setdefault(current, {})[m.group(1)] = (m.group(3).strip(), m.group(2) or "")
    return tables


@pytest.fixture(scope="module")
def spec_tables():
    if not SPEC.is_dir():
        pytest.skip("../shared/spec is not beside the repository")
    return _spec_tables()


def _expand(spec_id: str, count: str, table: dict) -> list[str]:
    if ".N." not in spec_id:
        return [spec_id]
    group, col = spec_id.split(".N.")
    if not count:  # the count is given once per group, on its first row
        count = next(c for i, (_, c) in table.items() if i.startswith(group + ".N.") and c)
    return [f"{group}.{n}.{col}" for n in range(1, int(count) + 1)]


def test_every_form_of_the_contract_is_in_the_catalogue():
    assert tuple(catalogue()) == FORM_IDS


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_field_ids_and_labels_match_the_spec(spec_tables, form_id):
    form = catalogue()[form_id]
    table = spec_tables[form_id]
    spec_ids = set()
    for spec_id, (label, count) in table.items():
        if spec_id.startswith("okonomi.budsjett.ar1"):
            ids = [f"okonomi.budsjett.ar{n}" for n in range(1, 6)]
        else:
            ids = _expand(spec_id, count, table)
        spec_ids.update(ids)
        for fid in ids:
            field = form.field(fid)
            if label and not fid.startswith("okonomi.budsjett"):
                assert field.label == label, fid
    ours = {f for f in form.field_ids() if not f.startswith("skjema.")}
    assert ours == spec_ids


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_labels_are_unique_within_a_form(form_id):
    form = catalogue()[form_id]
    labels = [form.label(f) for f in form.field_ids()]
    assert len(labels) == len(set(labels))


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_choice_fields_have_labelled_codes(form_id):
    for fid in catalogue()[form_id].field_ids():
        field = catalogue()[form_id].field(fid)
        if field.type in ("choice", "hf"):
            assert field.choices and all(c.code and c.label for c in field.choices)


def test_form_names_match_the_spec():
    text = (SPEC / "FORMS.md").read_text("utf-8") if SPEC.is_dir() else ""
    if not text:
        pytest.skip("no spec")
    for form in catalogue().values():
        if form.id != "minihta-okonomi":
            assert f"| `{form.id}` | {form.name} |" in text


def test_registry_copy_equals_the_shared_registry():
    shared = SPEC / "registry" / "helseforetak.json"
    if not shared.exists():
        pytest.skip("no shared registry")
    raw = json.loads(shared.read_text("utf-8"))
    assert registry().version == raw["version"]
    assert set(registry().trusts) == {t["code"] for t in raw["trusts"]}
    assert registry().regions == {r["code"]: r["name"] for r in raw["regions"]}
