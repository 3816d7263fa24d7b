"""Who is asking: bearer tokens for the API, the session cookie for pages; role checks.

Every request is checked on the server: the API accepts only `Authorization: Bearer`, the pages
only the session (whose forms carry a CSRF token). Object checks (another HF's case → 404) are
done by the services and the view functions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import g, redirect, request, session, url_for
from werkzeug.exceptions import Forbidden as HTTPForbidden
from werkzeug.exceptions import Unauthorized

from processor.domain import Actor
from services.users import authenticate_token, end_sessions, session_generation
from web.context import storage

F = TypeVar("F", bound=Callable[..., Any])


def bearer_actor() -> Actor:
    """The user of the bearer token, or 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise Unauthorized()
    actor = authenticate_token(storage().statement_uow(), token)
    if actor is None:
        raise Unauthorized()
    g.actor = actor
    return actor


def session_actor() -> Actor | None:
    """The logged-in user of the session (re-read, so a deactivated user is out at once)."""
    if "actor" in g:
        return g.actor
    username = session.get("user")
    generation = session.get("gen")
    actor = None
    if isinstance(username, str) and isinstance(generation, int):
        uow = storage().uow()
        with uow:
            user = uow.users.get(username)
            # a cookie of an earlier generation was ended by a logout, a new password or
            # deactivation: the cookie itself stays valid (signed), the server refuses it
            if user is not None and user.active and user.session_generation == generation:
                actor = Actor.of(user)
                # the HF functions of the sign-off (PORTAL.md section 2), for the pages' links
                g.hf_functions = frozenset(user.funksjoner)
    if actor is None and username is not None:
        session.clear()
    g.actor = actor
    return actor


def api_login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        bearer_actor()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def safe_next(target: str | None) -> str | None:
    """Only local paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def login_required(*roles: str) -> Callable[[F], F]:
    """Pages: redirect to the login form without a session; 403 without one of `roles`."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            actor = session_actor()
            if actor is None:
                return redirect(url_for("pages.login", neste=request.full_path.rstrip("?")))
            if roles and not set(roles) & set(actor.roles):
                raise HTTPForbidden()
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def require_role(actor: Actor, *roles: str) -> None:
    if not set(roles) & set(actor.roles):
        raise HTTPForbidden()


def log_in(actor: Actor) -> None:
    generation = session_generation(storage().uow(), actor.username)
    session.clear()  # a fresh session: no fixation
    if generation is None:  # deactivated in the meantime
        g.actor = None
        return
    session["user"] = actor.username
    session["gen"] = generation
    session.permanent = True
    g.actor = actor


def log_out() -> None:
    """End every session of the user (server-side): a copy of the cookie is refused from now."""
    actor = session_actor()
    if actor is not None:
        end_sessions(storage().uow(), actor.username)
    session.clear()
    g.actor = None
