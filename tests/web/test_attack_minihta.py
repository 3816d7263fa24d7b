"""Attack pass over mini-HTA preview, publication, name consent and the assignment list.

- The assignment page and its API answer 404 for an id that is no mini-HTA (they answered 200
  with an empty list for any id, a Del 2 case or one that does not exist).
- Only the assigned reviewer sets their own name consent (another reviewer: 404, an HF: 403);
  only the coordinator publishes (page and API); after publication the consent is fixed and the
  public page and JSON name nobody who did not agree.
"""

from __future__ import annotations

import re

from flask import Flask

from services.users import set_password
from tests.web.conftest import PASSWORD, Users, csrf_token, del2, login, st, upload
from tests.web.test_minihta_pages import ANONYMOUS, REVIEWER_NAME, _assign_review_decide, world

__all__ = ["world"]  # the fixture


def test_the_assignment_list_of_an_id_that_is_no_minihta_is_404(
    app: Flask, world: tuple[Users, str]
) -> None:
    users, sak = world
    client = app.test_client()
    resp = upload(client, users.auth("hf-ous"), del2())
    assert resp.status_code == 201
    del2_case = resp.get_json()["sak"]
    login(client, "koordinator")
    assert client.get(f"/minihta/{sak}/fagfelle").status_code == 200
    api = app.test_client()
    resp = api.get(f"/api/v1/saker/{sak}/fagfelle", headers=users.auth("koordinator"))
    assert resp.status_code == 200
    for other in ("MMV-2026-999", del2_case):
        assert client.get(f"/minihta/{other}/fagfelle").status_code == 404
        resp = api.get(f"/api/v1/saker/{other}/fagfelle", headers=users.auth("koordinator"))
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == "NOT_FOUND"


def test_consent_is_the_assigned_reviewers_own_and_publishing_the_coordinators(
    app: Flask, world: tuple[Users, str]
) -> None:
    users, sak = world
    _assign_review_decide(app.test_client(), users, sak)
    set_password(st(app).uow(), "ff-ous", PASSWORD)

    other = app.test_client()
    login(other, "ff-ous")
    token = csrf_token(other.get("/fagfelle").get_data(as_text=True))
    assert (
        other.post(f"/fagfelle/{sak}/navn", data={"navn": "ja", "csrf_token": token}).status_code
        == 404
    )
    assert other.post(f"/minihta/{sak}/publiser", data={"csrf_token": token}).status_code == 403

    hf = app.test_client()
    login(hf, "hf-ous")
    token = csrf_token(hf.get("/saker").get_data(as_text=True))
    assert (
        hf.post(f"/fagfelle/{sak}/navn", data={"navn": "ja", "csrf_token": token}).status_code
        == 403
    )
    assert hf.post(f"/minihta/{sak}/publiser", data={"csrf_token": token}).status_code == 403
    resp = hf.post(
        f"/api/v1/saker/{sak}/overgang",
        json={"fra": "besluttet", "til": "publisert"},
        headers=users.auth("hf-ous"),
    )
    assert resp.status_code == 403
    assert app.test_client().get(f"/api/v1/publisert/{sak}").status_code == 404

    coordinator = app.test_client()
    login(coordinator, "koordinator")
    preview = coordinator.get(f"/minihta/{sak}/forhandsvisning").get_data(as_text=True)
    assert ANONYMOUS in preview and REVIEWER_NAME not in preview
    resp = coordinator.post(f"/minihta/{sak}/publiser", data={"csrf_token": csrf_token(preview)})
    assert resp.status_code == 303

    # published: the reviewer can no longer agree to be named
    reviewer = app.test_client()
    login(reviewer, "ff-hbe")
    token = csrf_token(reviewer.get("/fagfelle").get_data(as_text=True))
    resp = reviewer.post(f"/fagfelle/{sak}/navn", data={"navn": "ja", "csrf_token": token})
    assert resp.status_code == 303
    assert "allerede publisert" in reviewer.get("/fagfelle").get_data(as_text=True)
    public = app.test_client()
    assert REVIEWER_NAME not in public.get(f"/publisert/{sak}").get_data(as_text=True)
    assert REVIEWER_NAME not in str(public.get(f"/api/v1/publisert/{sak}").get_json())


def test_the_public_search_link_takes_only_its_filters_from_the_query(app: Flask) -> None:
    """The «Som JSON» link was built from every query parameter: `?_method=POST` or
    `?endpoint=x` (names `url_for` reads itself) answered 500, `?_external=1&_anchor=…` put the
    Host header and any fragment into the link."""
    client = app.test_client()
    for query in ("_method=POST", "endpoint=x", "_external=1&_anchor=x", "values=1"):
        resp = client.get(f"/publisert?{query}&q=kirurgi&ar=2026")
        assert resp.status_code == 200, (query, resp.status_code)
        link = re.search(r'Som JSON: <a href="([^"]*)"', resp.get_data(as_text=True))
        assert link is not None
        assert link.group(1) == "/api/v1/publisert?q=kirurgi&amp;ar=2026", link.group(1)
