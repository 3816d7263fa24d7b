"""What the blueprints share with the app factory, without importing it: the storage and the
settings the app was built with, an absolute link on the configured base URL, and the answer for
an error code (`error_response`). `web.app` builds the app and registers the blueprints; the
blueprints import these from here, so no module imports `web.app` but its callers (the CLI, the
tests and the entry points).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    current_app,
    has_request_context,
    jsonify,
    render_template,
    request,
    url_for,
)

from processor import codes
from web.http import error_body
from web.runtime import Storage
from web.settings import Settings


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link to `endpoint` on the configured base URL (`web.settings.base_url`)."""
    path = url_for(endpoint, **values)
    root = request.script_root if has_request_context() else ""
    if root and path.startswith(root):
        path = path[len(root) :]
    return current_app.config["BASE_URL"] + path


def wants_json() -> bool:
    """API paths answer JSON; pages answer HTML."""
    path = request.path
    return path.startswith("/api/") or path == "/healthz"


def storage() -> Storage:
    return current_app.extensions["skjemamottak"]


def current_settings() -> Settings:
    """The settings the app was built with."""
    return current_app.extensions["skjemamottak.settings"]


def error_response(
    code: str, message: str | None = None, extra: dict[str, Any] | None = None
) -> Response:
    """The answer for an error code: its status comes from the catalogue, never from the caller."""
    status = codes.http_status(code)
    message = message or codes.message(code)
    if wants_json():
        body = error_body(code, message) | (extra or {})
        resp = jsonify(body)
    else:
        resp = Response(
            render_template("error.html", status=status, code=code, message=message),
            mimetype="text/html",
        )
    resp.status_code = status
    if status == 401 and wants_json():
        resp.headers["WWW-Authenticate"] = 'Bearer realm="skjemamottak"'
    return resp
