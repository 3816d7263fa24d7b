"""The JSON body of an API request, for the three API blueprints (`api`, `committee`,
`minihta`): an object, every string of it valid Unicode. JSON lets a lone surrogate through
(`"\\ud800"`), which no UTF-8 can carry: a reason holding one failed in its digest (500)."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from processor.errors import DomainError

NUL_MESSAGE = "Forespørselen inneholder et NUL-tegn (kode 0), som ikke kan lagres. Fjern det."


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("INVALID_REQUEST", "Forespørselen må ha en JSON-kropp (et objekt).")
    try:
        text = json.dumps(data, ensure_ascii=False)
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DomainError(
            "INVALID_REQUEST", "Forespørselen har tekst som ikke er gyldig Unicode."
        ) from None
    if "\\u0000" in text:  # json.dumps writes NUL as an escape: PostgreSQL cannot hold it
        raise DomainError("INVALID_REQUEST", NUL_MESSAGE)
    return data
