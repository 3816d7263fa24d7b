"""Login throttling with Flask-Limiter.

Counters live in `SKJEMAMOTTAK_RATELIMIT_STORAGE` (a limits storage URI; default `memory://`,
which is per process: behind several gunicorn workers or hosts, point it at a shared store such as
`redis://…` or `memcached://…`). Failed and successful attempts both count, per client address and
per user name, so guessing one account from many addresses is slowed down as well.
"""

from __future__ import annotations

import os

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

LOGIN_PER_ADDRESS = "20 per minute; 200 per hour"
LOGIN_PER_USER = "10 per minute; 100 per hour"

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def storage_uri() -> str:
    return os.environ.get("SKJEMAMOTTAK_RATELIMIT_STORAGE", "memory://")


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
