"""API.md: the running app describes its whole API at `GET /api/openapi.json`.

Every `/api/v1` rule of `app.url_map`, with each of its methods, has a path in the document, and
every path in the document is served by a rule (no stale entries).
"""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

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
