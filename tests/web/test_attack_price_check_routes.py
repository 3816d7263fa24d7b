"""Attacker's pass (issue 11, finding 7c): the price-check role reads a case that has left price
check through no route at all. Every GET rule of the app that takes a case id (pages, their JSON
twins, the API, downloads, letters, packets) is asked for the decided case, with a session and
with a bearer token; each answers 403 or 404 (or sends to the login form), never 200. The route
list comes from the app's own URL map, so a route added later is covered too."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.web.conftest import Users, login
from tests.web.test_price_check_access import DECIDED, IN_CHECK, cases  # noqa: F401

ID_ARGS = ("case_id", "sak", "reference", "referanse", "saksnummer")


FORMATS = ("pdf", "docx", "xlsx", "json", "html", "zip")
DOCUMENTS = ("vedtak", "soknad", "rapport", "beslutning", "fagfellevurdering")


def _case_rules(app: Flask) -> list[str]:
    """Every GET rule with a case id (or a meeting id: the meeting packet holds its cases),
    its other arguments filled with every plausible value."""
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        args = set(rule.arguments)
        hit = [a for a in args if a in ID_ARGS]
        path = rule.rule
        if hit:
            path = path.replace(f"<{hit[0]}>", "{id}")
        elif "meeting_id" in args:
            path = path.replace("<int:meeting_id>", "1")
        else:
            continue
        paths = [path]
        if "<fmt>" in path:
            paths = [p.replace("<fmt>", f) for p in paths for f in FORMATS]
        if "<document>" in path:
            paths = [p.replace("<document>", d) for p in paths for d in DOCUMENTS]
        out.extend(paths)
    return sorted(set(out))


@pytest.mark.parametrize("how", ["session", "bearer"])
def test_no_route_shows_a_decided_case_to_the_price_check(
    app: Flask,
    cases: Users,  # noqa: F811
    how: str,
) -> None:
    client = app.test_client()
    headers = {}
    if how == "session":
        login(client, "priskontroll")
    else:
        headers = cases.auth("priskontroll")
    rules = _case_rules(app)
    assert len(rules) > 30, rules  # the map was read
    leaks = []
    for rule in rules:
        for accept in ("text/html", "application/json"):
            resp = client.get(rule.format(id=DECIDED), headers={**headers, "Accept": accept})
            if resp.status_code == 200 and DECIDED.encode() in resp.data:
                leaks.append((rule, accept))
            elif resp.status_code == 200 and rule.startswith("/moter/1") and how == "session":
                leaks.append((rule, accept))  # the meeting (and its packet) holds the case
            assert resp.status_code < 500, (rule, resp.status_code)
    assert not leaks, leaks
    # and the case in price check is readable, so the role itself works here
    assert (
        client.get(f"/api/v1/saker/{IN_CHECK}", headers=cases.auth("priskontroll")).status_code
        == 200
    )
