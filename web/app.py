"""The application factory (flaskr style): `create_app(config, settings=...)` builds the app;
nothing at import.

`settings` (`web.settings.Settings`, built once by the caller) holds every setting of the service;
without it the factory builds one from the environment and the instance's config.py. Keys of
`config` that name a setting (`web.settings.NAMES`: `INSTANCE`, `DATABASE_URL`, `SECRET_KEY`,
`MAX_UPLOAD_MB`, `BASE_URL`, `UPLOAD_RATE_LIMIT`, `MEETING_WEEKDAY`, ...) override it, checked as
any setting is; the other keys are Flask configuration: `TODAY` (a `date`, for tests) and
`CLOCK` (a callable giving an aware datetime, for tests), `OIDC` (a `web.oidc_config.OidcConfig`
instead of the settings' own, for tests), or any Flask or extension key.
"""

from __future__ import annotations

import logging
import os
import secrets
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from forms.text import encodable
from processor.errors import DomainError
from services import outbox
from storage.db import private_dir
from web import (
    api,
    committee,
    draft_pages,
    drafts_api,
    figures,
    formatting,
    minihta,
    oidc,
    operator_pages,
    pages,
    public,
)
from web.context import error_response, storage
from web.jsonbody import NUL_MESSAGE
from web.limits import limiter
from web.multipart import Request
from web.openapi import document
from web.runtime import open_storage
from web.settings import NAMES, Settings

log = logging.getLogger(__name__)

SECRET_FILE = "secret_key"

# The catalogue code of each HTTP error the framework raises (processor.codes gives the status
# and the message). Any other status is a programming error: it is answered as BAD_REQUEST (4xx)
# or INTERNAL_ERROR (5xx), and logged.
FRAMEWORK_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "FILE_TOO_LARGE",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
}
# A page or address that does not exist: NOT_FOUND with the words of a missing page
PAGE_NOT_FOUND = "Fant ikke siden."


def _secret_key(instance: Path) -> str:
    """The random key kept in the instance folder (written the first time), for when no
    `SECRET_KEY` is set."""
    path = instance / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("utf-8").strip()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


def framework_code(status: int) -> str:
    """The catalogue code of an HTTP error status raised by Flask, Werkzeug or an extension."""
    code = FRAMEWORK_CODES.get(status)
    if code is None:
        log.warning("HTTP-status %s har ingen feilkode i katalogen", status)
        code = "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"
    return code


def _refuse_nul() -> None:
    """Text with a NUL character is refused where it enters: PostgreSQL cannot hold one (a case
    id or a reason with NUL answered 500 there), and no person types it. The path, the query and
    a plain form are checked here; a JSON body in `web.jsonbody`, an upload's case number in
    `web.api.do_upload` (a multipart body is parsed only after login)."""
    texts = [request.path, *request.args.values()]
    if request.mimetype == "application/x-www-form-urlencoded":
        texts.extend(request.form.values())
    if any("\x00" in t for t in texts):
        raise DomainError("INVALID_REQUEST", NUL_MESSAGE)


def _register_errors(app: Flask) -> None:
    app.before_request(_refuse_nul)

    @app.errorhandler(DomainError)
    def domain_error(e: DomainError) -> Response:
        # a refusal of content names its findings (a draft's save, send or import: PORTAL.md)
        extra = {k: e.context[k] for k in ("status", "errors", "warnings") if k in e.context}
        return error_response(e.code, e.message, extra or None)

    @app.errorhandler(CSRFError)
    def csrf_error(_e: CSRFError) -> Response:
        return error_response("CSRF_FAILED")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Response:
        code = framework_code(e.code or 500)
        message, extra = None, None
        if code == "NOT_FOUND":
            message = PAGE_NOT_FOUND
        elif isinstance(e, RateLimitExceeded) and e.limit.error_message:
            message = e.description or None  # the upload limit's own text
        elif code == "FILE_TOO_LARGE":
            mb = app.config["MAX_UPLOAD_MB"]
            message = f"Filen er større enn {mb:g} MB."
            finding = {"code": code, "field": None, "message": message}
            extra = {"status": "rejected", "errors": [finding], "warnings": []}
        resp = error_response(code, message, extra)
        if code == "METHOD_NOT_ALLOWED":
            for key, value in e.get_headers():
                if key.lower() == "allow":
                    resp.headers["Allow"] = value
        return resp

    @app.errorhandler(Exception)
    def unexpected(e: Exception) -> Response:
        # type and frames only: an exception message might repeat input
        frames = "".join(traceback.format_tb(e.__traceback__))
        log.error(
            "Uventet feil (%s) ved %s %s\n%s",
            type(e).__name__,
            request.method,
            request.path,
            frames,
        )
        return error_response("INTERNAL_ERROR")


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, whose text can always be sent: a lone surrogate in a stored string becomes
    U+FFFD (`forms.text.encodable`), so one bad row does not make a list answer 500 (issue 11)."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return encodable(super().dumps(obj, **kwargs))


def _finalize(value: Any) -> Any:
    """Jinja's `finalize`: every `{{ … }}` output passes here, so a lone surrogate in stored
    text becomes U+FFFD instead of failing the page when it is encoded (issue 11)."""
    if isinstance(value, Markup):
        cleaned = encodable(value)
        return value if cleaned is value else Markup(cleaned)
    if isinstance(value, str):
        return encodable(value)
    return value


class DatabaseInt(IntegerConverter):
    """`<int:…>` in a route: a number a database integer (64-bit) can hold. A larger one is no
    route (404, as an unknown id) instead of an overflow in the query (500)."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: dict[str, Any] | None = None, *, settings: Settings | None = None) -> Flask:
    """Build the app for the settings' instance folder (created, and its database migrated, when
    new). Raises `web.settings.SettingsError` (a Norwegian message) for a setting that cannot be
    used."""
    config = dict(config or {})
    overrides = {name: config.pop(name) for name in NAMES if name in config}
    if settings is None:
        settings = Settings.from_environment(overrides.pop("INSTANCE", None), overrides)
    elif overrides:
        raise TypeError(f"create_app: give {sorted(overrides)} in the settings, not in config")
    instance = settings.instance
    private_dir(instance)  # 0700 (storage.db): the secret key is written here next
    if settings.secret_key is None:
        settings = replace(settings, secret_key=_secret_key(instance))
    app = Flask(__name__, instance_path=str(instance))
    app.url_map.converters["int"] = DatabaseInt  # before any rule is added
    app.request_class = Request  # uploads parsed by python-multipart (web/multipart.py)
    max_mb = settings.max_upload_mb
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_UPLOAD_MB=max_mb,
        MAX_CONTENT_LENGTH=int(max_mb * 1024 * 1024) + 64 * 1024,  # room for the multipart frame
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="skjemamottak",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        JSON_SORT_KEYS=False,
        TODAY=None,
        CLOCK=None,
        PER_PAGE=25,
        BEHIND_PROXY=settings.behind_proxy,
        # Secure cookies whenever TLS is in front (a proxy) or asked for explicitly
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage,
        UPLOAD_RATE_LIMIT=settings.upload_rate_limit,
        BASE_URL=settings.public_url,
        MEETING_WEEKDAY=settings.meeting_weekday,
        MEETING_TIME=f"{settings.meeting_time:%H:%M}",
    )
    app.config.update(config)
    app.extensions["skjemamottak.settings"] = settings
    if app.config["BEHIND_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.json = JSONProvider(app)
    app.jinja_env.finalize = _finalize
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    app.extensions["skjemamottak"] = open_storage(
        settings, clock=config.get("CLOCK"), today=config.get("TODAY")
    )

    app.before_request(pages.refuse_disabled_login)  # ahead of the CSRF check (CSRFProtect)
    csrf = CSRFProtect(app)
    limiter.init_app(app)  # a fresh counter store per app

    csrf.exempt(api.bp)  # the API takes bearer tokens only, never the session cookie
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)

    csrf.exempt(committee.api)
    app.register_blueprint(committee.api)
    app.register_blueprint(committee.pages)

    for blueprint in (minihta.api_bp, public.api_bp, drafts_api.api_bp):
        csrf.exempt(blueprint)  # bearer tokens or no login: never the session cookie
        app.register_blueprint(blueprint)
    app.register_blueprint(minihta.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(draft_pages.bp)  # the HF portal's pages (session and CSRF token)

    # single sign-on (CONNECTIONS.md section 1): the settings come whole, read in one place
    oidc.init_app(app, config.get("OIDC") or settings.oidc)

    csrf.exempt(figures.api_bp)  # bearer tokens or no login: never the session cookie
    app.register_blueprint(figures.api_bp)
    app.register_blueprint(figures.bp)
    app.register_blueprint(operator_pages.bp)  # the operator's outbox page (session and CSRF)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        """The database and the blob store answer; with e-mail or the archive folder set, also a
        worker that ran in the last 5 minutes (`arbeider`). `/api/v1/healthz` checks storage
        only (for a load balancer: a stopped worker does not make the pages unreachable)."""
        ok = storage().healthy()
        body = {"status": "ok" if ok else "feil"}
        if ok and settings.connections.enabled:
            stale = outbox.worker_stale(storage().uow())
            body = {"status": "feil" if stale else "ok", "arbeider": "stoppet" if stale else "ok"}
            ok = not stale
        return jsonify(body), 200 if ok else 503

    @app.get("/api/openapi.json")
    def openapi() -> Response:
        return jsonify(document())

    @app.after_request
    def security_headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.mimetype == "text/html":
            resp.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            )
        if getattr(g, "actor", None) is not None:
            resp.headers.setdefault("Cache-Control", "no-store")
        if request.is_secure:
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return resp

    formatting.init_app(app)
    _register_errors(app)
    return app
