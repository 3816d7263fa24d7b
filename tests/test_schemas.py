"""The committed JSON Schemas are generated from the catalogue and are valid 2020-12 schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from forms.catalog import FORM_IDS, catalogue
from schemas import generate, load

HERE = Path(generate.__file__).parent


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_committed_schema_matches_the_catalogue(form_id):
    form = catalogue()[form_id]
    committed = (HERE / generate.file_name(form)).read_text("utf-8")
    assert committed == generate.render(form), "run `make schemas` and commit the result"


def test_no_stale_schema_files():
    names = {generate.file_name(f) for f in catalogue().values()}
    assert {p.name for p in HERE.glob("*.schema.json")} == names


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_schema_is_valid_2020_12(form_id):
    schema = load(form_id, "1")
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["properties"]["skjema"]["properties"]["type"]["const"] == form_id


def test_schema_validates_a_sample_and_rejects_a_broken_one(samples_dir):
    schema = load("tilgang-del2", "1")
    v = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    doc = json.loads((samples_dir / "del2-valid.json").read_text("utf-8"))
    doc["kostnader"]["legemiddel_per_maned"] = 146805
    doc["kostnader"]["andre_per_maned"] = 19827
    assert list(v.iter_errors(doc)) == []
    broken = json.loads(json.dumps(doc))
    broken["kriterier"]["okt_nytte"]["oppfylt"] = False
    assert any(e.validator == "anyOf" for e in v.iter_errors(broken))
    broken = json.loads(json.dumps(doc))
    broken["behandling"]["behandlingsmal"] = "ukjent"
    assert not v.is_valid(broken)
    broken = json.loads(json.dumps(doc))
    del broken["pasient"]["diagnose"]
    assert any(e.validator == "required" for e in v.iter_errors(broken))


def test_compiled_and_reference_validators_agree(samples_dir):
    from schemas import validator_for

    form = catalogue()["tilgang-del2"]
    fv = validator_for(form)
    reference = Draft202012Validator(
        load("tilgang-del2", "1"), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    doc = json.loads((samples_dir / "del2-valid.json").read_text("utf-8"))
    doc["kostnader"]["legemiddel_per_maned"] = 146805
    doc["kostnader"]["andre_per_maned"] = 19827
    variants = [doc]
    for path, value in [
        (("behandling", "behandlingsmal"), "ukjent"),
        (("pasient", "fodselsar"), "1987"),
        (("pasient", "fodselsar"), 1800),
        (("kostnader", "legemiddel_per_maned"), -1),
        (("forankring", "dato"), "2026-13-01"),
        (("soknad", "referansenummer"), "2026-03-14"),
        (("soknad", "samtykke_bekreftet"), False),
        (("kriterier", "okt_nytte", "begrunnelse"), ""),
        (("litteratur",), []),
        (("pasient", "ukjent_felt"), "x"),
    ]:
        changed = json.loads(json.dumps(doc))
        node = changed
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        variants.append(changed)
    for v in variants:
        assert fv.is_valid(v) == reference.is_valid(v), v
    assert sum(fv.is_valid(v) for v in variants) == 1


def test_warm_compiles_every_forms_validator_once():
    """`warm()` (called by `serve` before it forks) leaves a compiled validator for every form
    in the cache, so no request compiles one."""
    from forms.catalog import catalogue
    from processor.ingest import warm
    from schemas import _validator

    _validator.cache_clear()
    assert warm() == len(catalogue())
    assert _validator.cache_info().currsize == len(catalogue())
    misses = _validator.cache_info().misses
    warm()
    assert _validator.cache_info().misses == misses  # the second call compiles nothing


def test_the_compiled_copy_reads_a_code_list_as_an_enum_and_nothing_else():
    from schemas import _consts_as_enums

    codes = {"oneOf": [{"const": "A", "title": "Første"}, {"const": "B", "title": "Andre"}]}
    assert _consts_as_enums(codes) == {"enum": ["A", "B"]}
    kept = [
        {"oneOf": [{"const": "A"}, {"const": "A"}]},  # two equal constants: never valid
        {"oneOf": [{"const": 1}, {"const": True}]},  # 1 == True in Python
        {"oneOf": [{"const": "A"}, {"type": "string", "pattern": "^B"}]},
        {"oneOf": [{"const": "A"}, {"const": "B"}], "enum": ["A"]},
        {"const": {"oneOf": [{"const": "A"}]}},  # a value, not a schema
    ]
    for schema in kept:
        assert _consts_as_enums(schema) == schema
    nested = {"properties": {"hf": codes}, "items": [codes]}
    assert _consts_as_enums(nested) == {
        "properties": {"hf": {"enum": ["A", "B"]}},
        "items": [{"enum": ["A", "B"]}],
    }
    assert codes["oneOf"][0] == {"const": "A", "title": "Første"}  # the input is not changed


def test_compiled_and_reference_validators_agree_on_every_code_of_every_list(samples_dir):
    from schemas import validator_for

    form = catalogue()["tilgang-del2"]
    fv = validator_for(form)
    schema = load("tilgang-del2", "1")
    reference = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    doc = json.loads((samples_dir / "del2-valid.json").read_text("utf-8"))
    doc["kostnader"]["legemiddel_per_maned"] = 146805
    doc["kostnader"]["andre_per_maned"] = 19827
    lists = {
        ("soknad", "helseforetak"): schema["properties"]["soknad"]["properties"]["helseforetak"],
        ("pasient", "juridisk_kjonn"): schema["properties"]["pasient"]["properties"][
            "juridisk_kjonn"
        ],
        ("kostnader", "prisgrunnlag"): schema["properties"]["kostnader"]["properties"][
            "prisgrunnlag"
        ],
    }
    checked = 0
    for (section, key), prop in lists.items():
        codes = [b["const"] for b in prop["oneOf"]]
        for value in [*codes, codes[0].lower() + "x", "", " " + codes[0], 1, None, [codes[0]]]:
            changed = json.loads(json.dumps(doc))
            changed[section][key] = value
            assert fv.is_valid(changed) == reference.is_valid(changed), (key, value)
            checked += 1
        assert sum(fv.is_valid({**doc, section: {**doc[section], key: c}}) for c in codes) == len(
            codes
        )
    assert checked > 30
