"""The JSON body of an API request, for the three API blueprints (`api`, `committee`,
`minihta`): an object, every string of it valid Unicode. JSON lets a lone surrogate through
(`"\\ud800"`), which no UTF-8 can carry: a reason holding one failed in its digest (500). Python's
reader also takes `NaN`, `Infinity` and an overflowing `1e999` (inf), which no JSON answer and
no PostgreSQL `jsonb` can hold, and raises RecursionError on a body nested a few thousand levels
deep: both are refused here."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from processor.errors import DomainError

DEEP_MESSAGE = "Forespørselen har for mange nivåer inni hverandre."
NUL_MESSAGE = "Forespørselen inneholder et NUL-tegn (kode 0), som ikke kan lagres. Fjern det."


def json_body() -> dict[str, Any]:
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise DomainError("INVALID_REQUEST", DEEP_MESSAGE) from None
    if not isinstance(data, dict):
        raise DomainError("INVALID_REQUEST", "Forespørselen må ha en JSON-kropp (et objekt).")
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise DomainError("INVALID_REQUEST", DEEP_MESSAGE) from None
    except ValueError:  # NaN or an infinity
        raise DomainError(
            "INVALID_REQUEST", "Forespørselen har et tall som er for stort eller ikke er et tall."
        ) from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DomainError(
            "INVALID_REQUEST", "Forespørselen har tekst som ikke er gyldig Unicode."
        ) from None
    if "\\u0000" in text:  # json.dumps writes NUL as an escape: PostgreSQL cannot hold it
        raise DomainError("INVALID_REQUEST", NUL_MESSAGE)
    return data
