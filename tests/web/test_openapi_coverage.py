"""API.md: the running app describes its whole API at `GET /api/openapi.json`.

Every `/api/v1` rule of `app.url_map`, with each of its methods, has a path in the document, and
every path in the document is served by a rule (no stale entries). Every operation whose route
answers 401 without a token has `security`, and none other; every error answer's codes are
catalogue codes with that status; the document's error code enum is the catalogue; the document
is valid OpenAPI 3.1.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from processor import codes
from web import openapi
from web.operations import OPERATIONS

PREFIX = "/api/v1"
IGNORED = {"HEAD", "OPTIONS"}


def _api_rules(app: Flask) -> list[tuple[str, str]]:
    return sorted(
        (rule.rule.removeprefix(PREFIX), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PREFIX + "/")
        for method in (rule.methods or set()) - IGNORED
    )


def _pattern(flask_path: str) -> re.Pattern[str]:
    """A Flask rule as a regex; a variable part stands for one path segment or part of one."""
    parts = re.split(r"<[^>]+>", flask_path)
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")


def _concrete(openapi_path: str) -> str:
    """An OpenAPI path with each `{parameter}` replaced by a sample value."""
    return re.sub(r"\{[^}]+\}", "X", openapi_path)


def _described(client: FlaskClient) -> dict[str, set[str]]:
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": PREFIX}]
    return {path: {m.upper() for m in ops} for path, ops in doc["paths"].items()}


def test_every_api_route_and_method_is_in_the_openapi_document(
    app: Flask, client: FlaskClient
) -> None:
    described = _described(client)
    missing = [
        f"{method} {PREFIX}{path}"
        for path, method in _api_rules(app)
        if not any(
            _pattern(path).match(_concrete(doc_path)) and method in methods
            for doc_path, methods in described.items()
        )
    ]
    assert missing == [], "not described in /api/openapi.json: " + ", ".join(missing)


def test_every_path_in_the_openapi_document_is_served(app: Flask, client: FlaskClient) -> None:
    rules = _api_rules(app)
    stale = [
        f"{method} {doc_path}"
        for doc_path, methods in _described(client).items()
        for method in methods
        if not any(
            _pattern(path).match(_concrete(doc_path)) and method == rule_method
            for path, rule_method in rules
        )
    ]
    assert stale == [], "described but not served: " + ", ".join(stale)


def test_the_rule_pattern_tells_a_format_from_a_sub_path() -> None:
    letter = _pattern("/saker/<case_id>/vedtak.<fmt>")
    assert letter.match(_concrete("/saker/{id}/vedtak.pdf"))
    assert not letter.match(_concrete("/saker/{id}/vedtak"))
    assert not _pattern("/saker/<case_id>").match(_concrete("/saker/{id}/overgang"))


def _document(client: FlaskClient) -> dict[str, Any]:
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, m.upper(), op) for path, ops in doc["paths"].items() for m, op in ops.items()]


def test_every_api_endpoint_has_a_description_and_none_is_stale(app: Flask) -> None:
    endpoints = {rule.endpoint for rule, _ in openapi.api_rules(app)}
    assert openapi.undocumented(app) == []
    assert sorted(set(OPERATIONS) - endpoints) == [], "described endpoints that do not exist"


def _sample_url(flask_path: str) -> str:
    """A concrete URL for a rule: an integer for `<int:...>`, a word for anything else."""

    def one(match: re.Match[str]) -> str:
        return "1" if match.group(1) == "int" else "ukjent"

    return PREFIX + re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", one, flask_path)


def test_security_is_on_exactly_the_operations_that_answer_401_without_a_token(
    app: Flask, client: FlaskClient
) -> None:
    """Asked without a token, a route that needs login answers 401; every other route does not.
    The document says the same: `security` with the bearer scheme, or an empty list."""
    doc = _document(client)
    by_path = {(path, method): op for path, method, op in _operations(doc)}
    wrong = []
    for path, method in _api_rules(app):
        resp = client.open(_sample_url(path), method=method)
        needs_login = resp.status_code == 401
        described = [
            op
            for (doc_path, doc_method), op in by_path.items()
            if doc_method == method and _pattern(path).match(_concrete(doc_path))
        ]
        assert described, f"{method} {path}"
        for op in described:
            if (op["security"] == [{"bearer": []}]) != needs_login:
                wrong.append(f"{method} {path}: answers {resp.status_code}, {op['security']}")
    assert wrong == []
    logged_in = [op for _, _, op in _operations(doc) if op["security"]]
    public = [op for _, _, op in _operations(doc) if not op["security"]]
    assert logged_in and public  # both kinds exist, so the check above could fail either way
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_error_code_enum_is_the_catalogue(client: FlaskClient) -> None:
    doc = _document(client)
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["properties"]["code"]["enum"]) == set(codes.ANSWERED_CODES)
    catalogue = doc["x-error-codes"]
    assert set(catalogue) == set(codes.CATALOGUE)
    for code, entry in catalogue.items():
        assert entry["status"] == codes.CATALOGUE[code].http_status, code
        assert entry["melding"] == codes.CATALOGUE[code].message, code


def test_every_error_answer_lists_catalogue_codes_of_its_own_status(client: FlaskClient) -> None:
    doc = _document(client)
    seen = 0
    for path, method, op in _operations(doc):
        for status, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            parts = schema.get("allOf", [])
            if not parts:
                continue
            listed = parts[1]["properties"]["error"]["properties"]["code"]["enum"]
            assert parts[0] == {"$ref": "#/components/schemas/Error"}
            for code in listed:
                assert codes.http_status(code) == int(status), f"{method} {path}: {code}"
                seen += 1
        if op["security"]:
            assert "UNAUTHORIZED" in _codes_of(op, "401"), f"{method} {path}"
    assert seen > 0


def _codes_of(op: dict[str, Any], status: str) -> list[str]:
    schema = op["responses"][status]["content"]["application/json"]["schema"]
    return schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]


def test_known_statuses_are_documented(client: FlaskClient) -> None:
    """API.md: the upload answers 409 REFERENCE_IN_USE, 403 UPLOADER_HF_MISMATCH, 422
    CASE_MISMATCH and 413 FILE_TOO_LARGE; a second meeting at the same time is 409."""
    paths = _document(client)["paths"]
    upload = paths["/innsendinger"]["post"]
    assert "REFERENCE_IN_USE" in _codes_of(upload, "409")
    assert "UPLOADER_HF_MISMATCH" in _codes_of(upload, "403")
    assert "CASE_MISMATCH" in _codes_of(upload, "422")
    assert "FILE_TOO_LARGE" in _codes_of(upload, "413")
    assert "MEETING_EXISTS" in _codes_of(paths["/moter"]["post"], "409")


def test_the_document_is_valid_openapi(client: FlaskClient) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(_document(client))


def test_every_operation_lists_what_any_request_can_be_answered(client: FlaskClient) -> None:
    """A NUL in the path or query (INVALID_REQUEST) and an unexpected failure (INTERNAL_ERROR)
    can end any request; a body over the limit any request with a body (FILE_TOO_LARGE)."""
    for path, method, op in _operations(_document(client)):
        assert "INVALID_REQUEST" in _codes_of(op, "422"), f"{method} {path}"
        assert "INTERNAL_ERROR" in _codes_of(op, "500"), f"{method} {path}"
        if "requestBody" in op:
            assert "FILE_TOO_LARGE" in _codes_of(op, "413"), f"{method} {path}"


def test_free_text_in_a_body_brings_its_refusals(client: FlaskClient) -> None:
    """A reason or a description is free text: an identity number in it is refused
    (IDENTITY_FOUND), and so is one that is too long (INVALID_VALUE)."""
    paths = _document(client)["paths"]
    seen = 0
    for path, method, op in _operations({"paths": paths}):
        where = f"{method} {path}"
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "x-fritekst" in json.dumps(body.get("schema", {})):
            seen += 1
            for code in ("IDENTITY_FOUND", "INVALID_VALUE"):
                assert code in _codes_of(op, str(codes.http_status(code))), where
    reason = paths["/saker/{id}/overgang"]["post"]["requestBody"]["content"]["application/json"]
    assert reason["schema"]["properties"]["begrunnelse"]["x-fritekst"] is True
    assert seen >= 7  # overgang, hast, priskontroll, vedtak, fagfelle, habilitet, senk
