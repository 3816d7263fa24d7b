"""Login and upload throttling with Flask-Limiter.

Counters live in `SKJEMAMOTTAK_RATELIMIT_STORAGE` (a limits storage URI, read by `web.settings`;
default `memory://`, which is per process: behind several gunicorn workers or hosts, point it at a
shared store such as `redis://…` or `memcached://…`). Failed and successful attempts both count, per client address and
per user name, so guessing one account from many addresses is slowed down as well.

Uploads (the page `/innsending` and `POST /api/v1/innsendinger`, one counter for both) are
limited per logged-in user: `SKJEMAMOTTAK_UPLOAD_RATE_LIMIT` (the app's `UPLOAD_RATE_LIMIT`;
default `UPLOAD_PER_USER`, in the notation of the `limits` library, e.g. "30 per minute; 300 per
hour"). Every attempt counts, accepted or not: parsing a file costs the same either way. A user over the limit gets 429 with
`Retry-After` and `UPLOAD_MESSAGE`.
"""

from __future__ import annotations

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from web.settings import DEFAULT_UPLOAD_RATE_LIMIT

LOGIN_PER_ADDRESS = "20 per minute; 200 per hour"
LOGIN_PER_USER = "10 per minute; 100 per hour"
UPLOAD_PER_USER = DEFAULT_UPLOAD_RATE_LIMIT  # far above what one person sends
UPLOAD_MESSAGE = "Du har sendt inn for mange filer på kort tid. Vent litt og prøv igjen."

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def login_user_key() -> str:
    name = (request.form.get("brukernavn") or "").strip().casefold()[:100]
    return f"bruker:{name}"


def login_limits():
    """Decorators for the login view: per address, and per user name on POST."""
    per_address = limiter.limit(LOGIN_PER_ADDRESS, methods=["POST"])
    per_user = limiter.limit(LOGIN_PER_USER, key_func=login_user_key, methods=["POST"])

    def apply(view):
        return per_address(per_user(view))

    return apply


def failed_sso_limits():
    """Decorator for the single sign-on routes: failed attempts (4xx, 5xx) per address, as many
    as password logins. A start while the provider is down waits for it, and a callback makes a
    token request with the app's client credentials: one address may not do either endlessly."""
    return limiter.limit(LOGIN_PER_ADDRESS, deduct_when=lambda resp: resp.status_code >= 400)


def upload_user_key() -> str:
    """The logged-in user (set by the login check that runs before the limit)."""
    actor = g.get("actor")
    if actor is None:  # not reached: the login check refuses first
        return f"adresse:{get_remote_address()}"
    return f"innsender:{actor.username}"


def upload_limits():
    """Decorator for the upload views, inside the login check: one counter per user shared by
    the page and the API."""
    return limiter.shared_limit(
        lambda: current_app.config["UPLOAD_RATE_LIMIT"],
        scope="innsending",
        key_func=upload_user_key,
        methods=["POST"],
        error_message=UPLOAD_MESSAGE,
    )
