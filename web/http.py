"""What every route shares: reading a request, the current user, running one service call from a
page form, and file downloads.

A route reads its request with these helpers, calls one service and shapes one response. A
service's refusal (`processor.errors.DomainError`) is answered by the app's error handler
(`web.app`: its status from the catalogue, the body `{"error": {"code", "message"}}` on the API,
the error page on a page); a page form's refusal is shown on the page it came from (`act`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Response, current_app, flash, g, redirect, request
from werkzeug.exceptions import NotFound as HTTPNotFound

from processor.domain import Actor
from processor.errors import DomainError, NotFound
from web.jsonbody import json_body

__all__ = [
    "act",
    "attachment",
    "download",
    "error_body",
    "field_errors",
    "flag_field",
    "json_body",
    "page_actor",
    "page_not_found",
    "query_field",
    "query_text",
    "query_year",
    "show_refusal",
    "text_field",
    "typed_form",
]

T = TypeVar("T")

# refusals after which the case has moved on: a page form goes to `then`, not back to the case
MOVED_ON = frozenset({"STALE_STATE", "CASE_DECIDED"})
MAX_QUERY_TEXT = 200  # characters of a query parameter read with `query_field`
NORWEGIAN_LETTERS = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "Ae", "Ø": "O", "Å": "A"})


# ---- request --------------------------------------------------------------------------------


def text_field(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    """A text field of a JSON body: absent is None, anything but a string INVALID_REQUEST;
    `required`: present and not blank."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise DomainError("INVALID_REQUEST", f"Feltet «{key}» må være en tekst.")
    return value


def flag_field(data: dict[str, Any], key: str, default: bool | None = None) -> bool:
    """A true/false field of a JSON body (absent: `default`); anything else INVALID_REQUEST."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise DomainError("INVALID_REQUEST", f"Feltet «{key}» må være true eller false.")
    return value


def page_actor() -> Actor:
    """The logged-in user of a page (`login_required` ran first)."""
    actor = g.get("actor")  # set by `login_required` (web.auth.session_actor)
    assert actor is not None
    return actor


# ---- responses ------------------------------------------------------------------------------


def error_body(code: str, message: str) -> dict[str, Any]:
    """The body of every refusal: `{"error": {"code", "message"}}`."""
    return {"error": {"code": code, "message": message}}


def show_refusal(e: DomainError, *, flash_forbidden: bool = False) -> None:
    """A page form's refusal, flashed for the page it goes back to. Access control is not a
    refusal to flash: an unknown or hidden object is the 404 page, FORBIDDEN the 403 page
    (unless `flash_forbidden`: where the service refuses by a rule of the workflow, such as a
    reviewer lowering their own conflict level)."""
    if isinstance(e, NotFound):
        raise HTTPNotFound() from None
    if e.code == "FORBIDDEN" and not flash_forbidden:
        raise e
    flash(e.message, "feil")


# statuses of a refusal of what was typed: the form is shown again with the errors at the fields
FORM_STATUSES = frozenset({400, 422})


def field_errors(e: DomainError, default: str = "") -> dict[str, str] | None:
    """A page form's refusal as Norwegian messages by form field, for showing the form again with
    what was typed (status `e.http_status`); None when the refusal is not about what was typed
    (access, a case that moved on: `act` handles those). The service names the field in the
    error's context (`field="merknad"`, or `fields={name: message}`); otherwise `default`
    ("" = the form as a whole, shown in the summary only)."""
    if e.http_status not in FORM_STATUSES:
        return None
    fields = e.context.get("fields")
    if isinstance(fields, dict) and fields:
        return {str(k): str(v) for k, v in fields.items()}
    return {str(e.context.get("field") or default): e.message}


def page_not_found(_e: NotFound) -> Response:
    """An unknown or hidden object on a page blueprint that registers this handler: the 404
    page of an unknown address (as `show_refusal` gives)."""
    return current_app.handle_http_exception(HTTPNotFound())  # type: ignore[return-value]


def act(
    action: Callable[[], T],
    ok: str | Callable[[T], str],
    back: str,
    *,
    done: str | Callable[[T], str] | None = None,
    moved_on: str | None = None,
    flash_forbidden: bool = False,
) -> Response:
    """Run the service call of a page form and redirect (303) with its outcome flashed.

    `ok`: the message of a change (it may read the call's result); a refusal (`show_refusal`)
    goes back to `back`, or to `moved_on` when the case has moved on (it may have left the
    caller's sight); a change goes to `done` (it may read the result), by default `back`."""
    try:
        result = action()
    except DomainError as e:
        show_refusal(e, flash_forbidden=flash_forbidden)
        return redirect(moved_on if moved_on and e.code in MOVED_ON else back, code=303)
    flash(ok(result) if callable(ok) else ok, "ok")
    target = done(result) if callable(done) else done
    return redirect(target or back, code=303)


def attachment(name: str) -> str:
    """A Content-Disposition for a download: an ASCII file name (æ, ø, å spelt ae, o, a; any
    other character outside letters, digits, `.`, `_` and `-` is `_`), and the name itself as
    `filename*` (RFC 6266) when it is not plain ASCII."""
    plain = unicodedata.normalize("NFKD", name.translate(NORWEGIAN_LETTERS))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", plain)
    value = f'attachment; filename="{plain}"'
    if plain != name and not name.isascii():
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def download(data: bytes, name: str, mimetype: str, *, cache: str = "no-store") -> Response:
    """A file to save: its type, its name, and how long it may be cached (by default never: a
    download behind login is one person's)."""
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = attachment(name)
    resp.headers["Cache-Control"] = cache
    return resp


def typed_form(*names: str) -> dict[str, str]:
    """The posted page form's fields as typed ('' when absent): what a refused form shows again."""
    return {name: request.form.get(name, "") for name in names}


def query_text(name: str) -> str | None:
    """A query parameter, None when absent or empty."""
    return request.args.get(name) or None


def query_field(name: str, *, max_length: int = MAX_QUERY_TEXT) -> str | None:
    """A query parameter without surrounding white space, None when absent or blank;
    INVALID_VALUE when longer than `max_length`."""
    value = (request.args.get(name) or "").strip()
    if len(value) > max_length:
        raise DomainError("INVALID_VALUE", f"«{name}» er for lang.")
    return value or None


def query_year(name: str) -> int | None:
    """A query parameter that is a year of four digits, None when absent or blank;
    INVALID_VALUE otherwise."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isdigit() and len(raw) == 4):
        raise DomainError("INVALID_VALUE", f"«{name}» må være et årstall med fire sifre.")
    return int(raw)
