"""The committed JSON Schemas (2020-12) and their loader."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

# Structural checks the schema adds on top of the pipeline's own rules; completeness keywords
# (required, if/then, anyOf, minItems) are reported by processor.validate with their own codes.
_STRUCTURAL = {
    "type",
    "enum",
    "const",
    "pattern",
    "minimum",
    "maximum",
    "format",
    "minLength",
    "maxItems",
    "oneOf",
    "additionalProperties",
    "minProperties",
}


_ANNOTATIONS = frozenset({"const", "title", "description"})
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})  # values, not schemas


def _consts_as_enums(node: Any) -> Any:
    """A copy in which every `oneOf` of distinct string constants (a code list with titles) is
    the `enum` of those strings: the same values are valid.

    fastjsonschema tries each branch of a `oneOf` and raises and catches an exception for every
    branch that fails: 55 per Del 2 form (two lists of every HF), which was two thirds of its time
    (0.20 against 0.07 ms per form). Only the compiled copy changes; the committed schema keeps
    its titles, and the reference validator reads it as it is."""
    if isinstance(node, list):
        return [_consts_as_enums(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: v if k in _DATA_KEYWORDS else _consts_as_enums(v) for k, v in node.items()}
    branches = node.get("oneOf")
    if "enum" in node or not isinstance(branches, list) or not branches:
        return out
    if all(isinstance(b, dict) and "const" in b and set(b) <= _ANNOTATIONS for b in branches):
        values = [b["const"] for b in branches]
        if all(isinstance(v, str) for v in values) and len(set(values)) == len(values):
            del out["oneOf"]
            out["enum"] = values
    return out


def schema_name(form_id: str, version: str) -> str:
    return f"{form_id}-v{version}.schema.json"


@cache
def load(form_id: str, version: str) -> dict[str, Any]:
    text = resources.files("schemas").joinpath(schema_name(form_id, version)).read_text("utf-8")
    return json.loads(text)


class FormValidator:
    """Validates canonical data against a committed schema.

    The reference implementation (jsonschema, 2020-12) reports every error; a compiled validator
    (fastjsonschema) answers the common question "is it valid?" about six times faster. The
    schemas use only keywords whose meaning is the same in draft-07, which fastjsonschema compiles;
    a test checks that both agree.
    """

    def __init__(self, schema: dict[str, Any]):
        self._validator = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        draft7 = {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}
        self._fast = fastjsonschema.compile(_consts_as_enums(draft7))

    def is_valid(self, data: dict[str, Any]) -> bool:
        try:
            self._fast(data)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def problems(self, data: dict[str, Any]) -> list[str]:
        """Dotted field ids of structural schema violations (repeat rows numbered from 1)."""
        if self.is_valid(data):
            return []
        out = []
        for error in self._validator.iter_errors(data):
            if error.validator not in _STRUCTURAL or (
                error.validator == "const" and error.validator_value is True
            ):
                continue
            parts = [str(p + 1) if isinstance(p, int) else str(p) for p in error.absolute_path]
            if error.validator == "additionalProperties":
                continue  # canonical data only ever holds catalogue fields
            if parts:
                out.append(".".join(parts))
        return out


@cache
def _validator(form_id: str, version: str) -> FormValidator:
    return FormValidator(load(form_id, version))


def validator_for(form) -> FormValidator:  # form: forms.fields.FormDef
    return _validator(form.id, form.version)
