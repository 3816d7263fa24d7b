"""The shared web helpers (`web/http.py`): one way to read a body field, to run a page form's
service call, to answer a download, and one error body; and the routes use them, not copies."""

from __future__ import annotations

import ast
from pathlib import Path
from urllib.parse import unquote

import pytest
from flask import Flask, get_flashed_messages
from werkzeug.exceptions import NotFound as HTTPNotFound

from processor.errors import DomainError, Forbidden, NotFound, StaleState
from web import http
from web.committee import decision_input

WEB = Path(http.__file__).parent


# ---- file names -------------------------------------------------------------------------------


def test_a_plain_file_name_is_kept_as_it_was() -> None:
    assert http.attachment("motepakke-2026-12-10-k-ous.zip") == (
        'attachment; filename="motepakke-2026-12-10-k-ous.zip"'
    )


def test_norwegian_letters_are_spelt_out_and_kept_in_filename_star() -> None:
    name = "møtepakke-Ålesund-ærlig.zip"
    value = http.attachment(name)
    plain = value.split('filename="')[1].split('"')[0]
    assert plain == "motepakke-Alesund-aerlig.zip"
    star = value.split("filename*=UTF-8''")[1]
    assert unquote(star) == name


@pytest.mark.parametrize("name", ['a"b.pdf', "a\r\nSet-Cookie: x.pdf", "../../etc/passwd", "a;b=c"])
def test_a_file_name_cannot_break_out_of_its_header(name: str) -> None:
    value = http.attachment(name)
    plain = value.split('filename="')[1].rsplit('"', 1)[0]
    assert set(plain) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    assert "\r" not in value and "\n" not in value and "/" not in plain


def test_a_download_says_its_type_name_and_caching(app: Flask) -> None:
    with app.test_request_context():
        private = http.download(b"PK", "fagfellepakke-MMV-2026-001.zip", "application/zip")
        public = http.download(b"%PDF", "x.pdf", "application/pdf", cache="public, max-age=60")
    assert private.mimetype == "application/zip" and private.get_data() == b"PK"
    assert private.headers["Cache-Control"] == "no-store"
    assert private.headers["Content-Disposition"].endswith('"fagfellepakke-MMV-2026-001.zip"')
    assert public.headers["Cache-Control"] == "public, max-age=60"


# ---- request bodies ---------------------------------------------------------------------------


def test_a_text_field_is_a_string_or_absent() -> None:
    assert http.text_field({"a": "x"}, "a") == "x"
    assert http.text_field({}, "a") is None
    for body, required in (({"a": 1}, False), ({}, True), ({"a": "  "}, True)):
        with pytest.raises(DomainError) as e:
            http.text_field(body, "a", required=required)
        assert e.value.code == "INVALID_REQUEST" and "«a»" in e.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"kriterier": []},
        {"kriterier": {"okt_nytte": True}},
        {"deltakere": "k-ous"},
        {"foreslar_gruppevurdering": "ja"},
        {"utfall": 1},
    ],
)
def test_a_decision_body_of_the_wrong_shape_is_invalid_request(body: dict[str, object]) -> None:
    with pytest.raises(DomainError) as e:
        decision_input(body)
    assert e.value.code == "INVALID_REQUEST"


def test_a_decision_body_becomes_the_service_input() -> None:
    decision = decision_input(
        {
            "utfall": "innvilget",
            "kriterier": {"okt_nytte": {"oppfylt": True, "begrunnelse": "Nytte."}},
            "begrunnelse": "Vilkårene er oppfylt.",
            "deltakere": [" k-ous ", "", "k-hbe"],
        }
    )
    assert decision.kriterier == {"okt_nytte": (True, "Nytte.")}
    assert decision.deltakere == ["k-ous", "k-hbe"] and decision.foreslar_gruppevurdering is False
    assert decision.gruppevurdering_tekst == ""


# ---- page forms -------------------------------------------------------------------------------


def _raise(error: Exception):  # type: ignore[no-untyped-def]
    def action() -> None:
        raise error

    return action


def test_a_change_is_flashed_and_goes_where_it_is_told(app: Flask) -> None:
    with app.test_request_context():
        resp = http.act(lambda: 7, lambda n: f"Møte {n}.", "/tilbake", done=lambda n: f"/moter/{n}")
        assert (resp.status_code, resp.location) == (303, "/moter/7")
        assert get_flashed_messages(with_categories=True) == [("ok", "Møte 7.")]


def test_a_refusal_is_flashed_on_the_page_it_came_from(app: Flask) -> None:
    with app.test_request_context():
        refused = DomainError("INVALID_VALUE", "Antall saker må være et heltall.")
        resp = http.act(_raise(refused), "ok", "/tilbake", done="/videre")
        assert (resp.status_code, resp.location) == (303, "/tilbake")
        assert get_flashed_messages(with_categories=True) == [("feil", refused.message)]
        # a case that moved on: to `moved_on` when there is one
        resp = http.act(_raise(StaleState()), "ok", "/sak", moved_on="/ko")
        assert resp.location == "/ko"
        assert http.act(_raise(StaleState()), "ok", "/sak").location == "/sak"


def test_access_control_is_the_error_page_not_a_flash(app: Flask) -> None:
    with app.test_request_context():
        with pytest.raises(HTTPNotFound):
            http.act(_raise(NotFound()), "ok", "/tilbake")
        with pytest.raises(Forbidden):
            http.act(_raise(Forbidden()), "ok", "/tilbake")
        # where FORBIDDEN is a rule of the workflow, the page shows it
        resp = http.act(_raise(Forbidden("Ikke senke.")), "ok", "/tilbake", flash_forbidden=True)
        assert resp.location == "/tilbake"
        assert get_flashed_messages() == ["Ikke senke."]


def test_the_error_body_is_one_shape() -> None:
    assert http.error_body("NOT_FOUND", "Fant ikke saken.") == {
        "error": {"code": "NOT_FOUND", "message": "Fant ikke saken."}
    }


# ---- no copies --------------------------------------------------------------------------------

COPIED = {"_json_body", "_actor", "_act", "_download", "_text", "_back"}


def test_no_route_module_keeps_its_own_copy_of_a_shared_helper() -> None:
    """The helpers that were copied into api, committee, minihta and pages are gone (figures.py
    reads its query with a `_text` of its own: another helper's part of issue #12)."""
    found = []
    for path in sorted(set(WEB.glob("*.py")) - {WEB / "figures.py"}):
        tree = ast.parse(path.read_text("utf-8"))
        found += [
            f"{path.name}: {node.name}"
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name in COPIED
        ]
    assert found == []
