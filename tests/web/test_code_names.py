"""Code is named in English, what people and other systems read in Norwegian (issue #12): the
routes are the contract's Norwegian words, the view functions behind them are not."""

from __future__ import annotations

import re

from flask import Flask

# words both languages use (a proper noun, loanwords, file types, the health check's name)
SHARED = {"minihta", "import", "send", "xlsx", "json", "zip", "pdf", "api", "healthz", "openapi"}


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-zæøå]+", text.lower()) if len(w) > 2}


def test_no_view_is_named_after_the_norwegian_words_of_its_route(app: Flask) -> None:
    named_as_route = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        blueprint, _, view = rule.endpoint.rpartition(".")
        route_words = _words(re.sub(r"<[^>]+>", "", rule.rule)) - SHARED
        clash = _words(view.replace("_", " ")) & route_words
        clash |= _words(blueprint.replace("_", " ")) & route_words
        if clash:
            named_as_route.append(f"{rule.endpoint} ({rule.rule}): {sorted(clash)}")
    assert named_as_route == []
