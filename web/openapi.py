"""The OpenAPI 3.1 document of the API (served at /api/openapi.json), generated from the app.

Nothing here lists paths by hand: every `/api/v1` rule of `app.url_map`, with each of its methods,
becomes an operation. What a rule cannot tell (a Norwegian summary, query parameters, the request
and answer bodies, the codes it can refuse with) is one `Operation` per endpoint in
`web/operations.py`. `security` is derived from the view's login decorator, and the error answers
and the `code` enums from the error catalogue (`processor.codes`), which the document also
carries whole as `x-error-codes`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, current_app
from werkzeug.routing import Rule

from processor import codes
from web.operations import (
    COMPONENT_SCHEMAS,
    OPERATIONS,
    PATH_PARAMETERS,
    Operation,
    json_schema,
    ref,
)

PREFIX = "/api/v1"
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
LOGIN_DECORATOR = "api_login_required"  # web.auth: bearer token, else 401
LOGIN_CODES = ("UNAUTHORIZED",)
JSON_BODY_CODES = ("INVALID_REQUEST",)  # a body that is not a JSON object
# any request: a NUL in its path or query is refused before the route (web.app._refuse_nul), and
# an unexpected failure is INTERNAL_ERROR; a request body over the limit is FILE_TOO_LARGE
EVERY_OPERATION_CODES = ("INVALID_REQUEST", "INTERNAL_ERROR")
BODY_CODES = ("FILE_TOO_LARGE",)
FREE_TEXT_CODES = (
    "INVALID_VALUE",
    "IDENTITY_FOUND",
)  # a body with free text (operations.FREE_TEXT)
FREE_TEXT_MARK = "x-fritekst"
BEARER = [{"bearer": []}]

_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def requires_login(view: Callable[..., Any]) -> bool:
    """True when the view, or a function it wraps, is the API's login decorator's wrapper.

    `functools.wraps` copies the view's name onto the wrapper, but not onto its code object:
    the code's own qualified name tells which decorator made it."""
    seen: Callable[..., Any] | None = view
    while seen is not None:
        code = getattr(seen, "__code__", None)
        if code is not None and code.co_qualname.split(".<locals>")[0] == LOGIN_DECORATOR:
            return True
        seen = getattr(seen, "__wrapped__", None)
    return False


def api_rules(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every `/api/v1` rule with each of its methods (HEAD and OPTIONS left out)."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(PREFIX + "/"):
            for method in sorted((rule.methods or set()) - IGNORED_METHODS):
                yield rule, method


def undocumented(app: Flask) -> list[str]:
    """Endpoints under /api/v1 without an `Operation` (a test keeps this empty)."""
    return sorted({rule.endpoint for rule, _ in api_rules(app)} - set(OPERATIONS))


def _paths_of(rule: Rule, op: Operation) -> list[tuple[str, dict[str, str]]]:
    """The OpenAPI path(s) of a rule: each variable a `{parameter}`, or spelt out when the
    operation lists its values (`/saker/{id}/vedtak.pdf` and `.docx`)."""
    variants: list[tuple[str, dict[str, str]]] = [(rule.rule.removeprefix(PREFIX), {})]
    for name in rule.arguments:
        values = op.fixed.get(name)
        out = []
        for path, chosen in variants:
            token = next(m.group(0) for m in _VARIABLE.finditer(path) if m.group(1) == name)
            if values:
                out.extend((path.replace(token, v), {**chosen, name: v}) for v in values)
            else:
                out.append((path.replace(token, "{" + PATH_PARAMETERS[name]["name"] + "}"), chosen))
        variants = out
    return variants


def _parameters(rule: Rule, op: Operation) -> list[dict[str, Any]]:
    out = []
    for name in sorted(rule.arguments, key=rule.rule.index):
        if name in op.fixed:
            continue
        param = dict(PATH_PARAMETERS[name])
        if name in op.path_schema:
            param["schema"] = op.path_schema[name]
        out.append(param)
    for name, kind, text in op.query:
        param = {"name": name, "in": "query", "schema": {"type": kind}}
        if text:
            param["description"] = text
        out.append(param)
    return out


def error_codes(op: Operation, login: bool) -> list[str]:
    """The codes one operation can refuse with (each once, in catalogue order)."""
    wanted = {*op.errors, *EVERY_OPERATION_CODES}
    if login:
        wanted.update(LOGIN_CODES)
    if op.body is not None:
        wanted.update(BODY_CODES)
        if op.body_kind == "json":
            wanted.update(JSON_BODY_CODES)
        if _has_free_text(op.body):
            wanted.update(FREE_TEXT_CODES)
    for code in wanted:
        codes.http_status(code)  # UnknownCode for a code outside the catalogue
    return [c for c in codes.CATALOGUE if c in wanted]


def _has_free_text(schema: Any) -> bool:
    if isinstance(schema, dict):
        return bool(schema.get(FREE_TEXT_MARK)) or any(map(_has_free_text, schema.values()))
    if isinstance(schema, list):
        return any(map(_has_free_text, schema))
    return False


def _error_responses(error_list: list[str]) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for code in error_list:
        by_status.setdefault(codes.http_status(code), []).append(code)
    out = {}
    for status in sorted(by_status):
        listed = by_status[status]
        schema = {
            "allOf": [
                ref("Error"),
                {"properties": {"error": {"properties": {"code": {"enum": listed}}}}},
            ]
        }
        description = " ".join(f"{c}: {codes.message(c)}" for c in listed)
        out[str(status)] = json_schema(schema, description)
    return out


def _operation(rule: Rule, method: str, op: Operation, login: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_"),
        "summary": op.summary,
        "security": BEARER if login else [],
    }
    params = _parameters(rule, op)
    if params:
        out["parameters"] = params
    if op.body is not None:
        media = "application/json" if op.body_kind == "json" else "multipart/form-data"
        out["requestBody"] = {"required": op.body_required, "content": {media: {"schema": op.body}}}
    if op.media == "application/json":
        ok = json_schema(op.answer or {"type": "object"}, op.answer_text)
    elif not op.media:  # no body (204)
        ok = {"description": op.answer_text}
    else:
        ok = {"description": op.answer_text, "content": {op.media: {}}}
    out["responses"] = {
        str(op.status): ok,
        **op.more,
        **_error_responses(error_codes(op, login)),
    }
    return out


def _catalogue() -> dict[str, Any]:
    return {
        code: {
            "status": e.http_status,
            "melding": e.message,
            **({"resultat": e.result} if e.result else {}),
        }
        for code, e in codes.CATALOGUE.items()
    }


def _components() -> dict[str, Any]:
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": sorted(codes.ANSWERED_CODES)},
                    "message": {"type": "string"},
                },
            },
            "status": {"type": "string", "enum": ["incomplete", "rejected"]},
            "errors": {"type": "array", "items": ref("Finding")},
            "warnings": {"type": "array", "items": ref("Finding")},
        },
    }
    return {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Error": error, **COMPONENT_SCHEMAS},
    }


def build(app: Flask) -> dict[str, Any]:
    """The whole OpenAPI document of `app`."""
    paths: dict[str, dict[str, Any]] = {}
    for rule, method in api_rules(app):
        op = OPERATIONS.get(rule.endpoint) or Operation(summary=f"({rule.endpoint})")
        login = requires_login(app.view_functions[rule.endpoint])
        described = _operation(rule, method, op, login)
        for path, chosen in _paths_of(rule, op):
            one = dict(described)
            if chosen:
                one["operationId"] += "_" + "_".join(chosen.values())
            paths.setdefault(path, {})[method.lower()] = one
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Skjemamottak – Nye metoder",
            "version": "1",
            "description": "Mottak av søknader om individuell tilgang og mini-metodevurderinger. "
            'Hvert feilsvar er {"error": {"code", "message"}}; x-error-codes gir '
            "HTTP-statusen og standardmeldingen til hver kode.",
        },
        "servers": [{"url": PREFIX}],
        "components": _components(),
        "paths": dict(sorted(paths.items())),
        "x-error-codes": _catalogue(),
    }


def document() -> dict[str, Any]:
    """The document of the running app."""
    return build(current_app)
