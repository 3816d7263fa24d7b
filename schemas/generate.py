"""Generate one JSON Schema (2020-12) per form type and version from the field catalogue.

`python -m schemas.generate` writes `schemas/<form>-v<version>.schema.json`; a test fails when the
committed files and the catalogue drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from forms.catalog import catalogue
from forms.fields import AtLeastOneTrue, Field, FormDef, MinRows, Repeat, RequiredIf, RequiredIfAny

HERE = Path(__file__).parent
REFERENCE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}-[A-ZÆØÅ]+-[A-ZÆØÅ0-9]{1,20}(-[1-9][0-9]{0,2})?$"
URL_PATTERN = r"^([hH][tT][tT][pP][sS]?://|[dD][oO][iI]:)"


def file_name(form: FormDef) -> str:
    return f"{form.id}-v{form.version}.schema.json"


def field_schema(f: Field) -> dict[str, Any]:
    s: dict[str, Any] = {"title": f.label}
    if f.help:
        s["description"] = f.help
    t = f.type
    if t in ("text", "textarea", "email", "url", "reference"):
        s["type"] = "string"
        s["minLength"] = 1
        if t == "email":
            s["format"] = "email"
        if t == "url":
            s["pattern"] = URL_PATTERN
        if t == "reference":
            s["pattern"] = REFERENCE_PATTERN
    elif t == "checkbox":
        s["type"] = "boolean"
        if f.must_be_true:
            s["const"] = True
    elif t in ("integer", "number"):
        s["type"] = t
    elif t == "date":
        s["type"] = "string"
        s["format"] = "date"
        s["pattern"] = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    elif t in ("choice", "hf"):
        s["type"] = "string"
        s["oneOf"] = [{"const": c.code, "title": c.label} for c in f.choices]
    if f.pattern:
        s["pattern"] = f.pattern
    if f.minimum is not None:
        s["minimum"] = int(f.minimum) if float(f.minimum).is_integer() else f.minimum
    if f.maximum is not None:
        s["maximum"] = f.maximum
    if f.id == "skjema.type" or f.id == "skjema.versjon":
        s.pop("minLength", None)
    return s


def _obj() -> dict[str, Any]:
    return {"type": "object", "properties": {}, "additionalProperties": False}


def _place(root: dict[str, Any], path: list[str], schema: dict[str, Any], required: bool) -> None:
    node = root
    for key in path[:-1]:
        child = node["properties"].setdefault(key, _obj())
        if required and key not in node.setdefault("required", []):
            node["required"].append(key)
        node = child
    node["properties"][path[-1]] = schema
    if required:
        node.setdefault("required", []).append(path[-1])


def _nest(path: str, leaf: dict[str, Any]) -> dict[str, Any]:
    """{"properties": {a: {"properties": {b: leaf}, "required": [b]}}, "required": [a]}"""
    keys = path.split(".")
    node: dict[str, Any] = leaf
    for key in reversed(keys):
        node = {"properties": {key: node}, "required": [key]}
    return node


def _filled(path: str) -> dict[str, Any]:
    return _nest(path, {"not": {"const": ""}})


def build_schema(form: FormDef) -> dict[str, Any]:
    root: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://nyemetoder.no/skjema/{form.id}/v{form.version}.schema.json",
        "title": form.name,
        "description": form.description,
        **_obj(),
    }
    min_rows = {r.group for r in form.rules if isinstance(r, MinRows) and r.when is None}
    for section in form.sections:
        for item in section.items:
            if isinstance(item, Repeat):
                row = _obj()
                for sub in item.fields:
                    row["properties"][sub.id] = field_schema(sub)
                row["minProperties"] = 1
                array = {
                    "title": item.label,
                    "type": "array",
                    "items": row,
                    "maxItems": item.count,
                }
                if item.help:
                    array["description"] = item.help
                if item.id in min_rows:
                    array["minItems"] = 1
                _place(root, item.id.split("."), array, item.id in min_rows)
            else:
                schema = field_schema(item)
                if item.id == "skjema.type":
                    schema["const"] = form.id
                elif item.id == "skjema.versjon":
                    schema["const"] = form.version
                _place(root, item.id.split("."), schema, item.required)
    conditions = []
    for rule in form.rules:
        if isinstance(rule, RequiredIf):
            conditions.append(
                {"if": _nest(rule.when, {"enum": list(rule.values)}), "then": _filled(rule.field)}
            )
        elif isinstance(rule, RequiredIfAny):
            conditions.append(
                {
                    "if": {"anyOf": [_nest(w, {"enum": list(rule.values)}) for w in rule.when]},
                    "then": _filled(rule.field),
                }
            )
        elif isinstance(rule, AtLeastOneTrue):
            conditions.append({"anyOf": [_nest(f, {"const": True}) for f in rule.fields]})
        elif isinstance(rule, MinRows) and rule.when is not None:
            conditions.append(
                {
                    "if": _nest(rule.when, {"const": True}),
                    "then": _nest(rule.group, {"minItems": rule.minimum}),
                }
            )
    if conditions:
        root["allOf"] = conditions
    return root


def render(form: FormDef) -> str:
    return json.dumps(build_schema(form), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    outdir = Path(argv[0]) if argv else HERE
    for form in catalogue().values():
        (outdir / file_name(form)).write_text(render(form), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
