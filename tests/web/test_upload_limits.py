"""Issue 11, finding 5 (a): uploads are limited per logged-in user, on the page and the API.

One HF sent about 1,000 mini-HTA uploads in 25 seconds and used up the year's case numbers for
everyone. Each user now has one upload counter shared by `/innsending` and
`POST /api/v1/innsendinger`: over the limit the answer is 429 with `Retry-After` and a Norwegian
message, and no other user is affected. The tests lower the limit through the app's config (the
same value `SKJEMAMOTTAK_UPLOAD_RATE_LIMIT` sets) instead of sending hundreds of files.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask

from tests.web.conftest import Users, csrf_token, login, make_app, st
from web.limits import UPLOAD_PER_USER
from web.settings import Settings, SettingsError

NOT_A_FORM = b"ikke et skjema"


def _api_upload(app: Flask, users: Users, username: str):
    return app.test_client().post(
        "/api/v1/innsendinger",
        data={"fil": (io.BytesIO(NOT_A_FORM), "notat.txt")},
        headers=users.auth(username),
        content_type="multipart/form-data",
    )


def test_the_api_answers_429_with_retry_after_when_one_user_sends_too_many(
    app: Flask, users: Users
) -> None:
    app.config["UPLOAD_RATE_LIMIT"] = "3 per minute"
    statuses = [_api_upload(app, users, "hf-ous").status_code for _ in range(3)]
    assert statuses == [422] * 3  # refused files count as well
    resp = _api_upload(app, users, "hf-ous")
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    error = resp.get_json()["error"]
    assert error["code"] == "TOO_MANY_REQUESTS"
    assert "for mange filer" in error["message"]
    # another user of the same HF and address is not affected
    assert _api_upload(app, users, "hf-ahus").status_code == 422


def test_the_page_and_the_api_share_one_counter_per_user(app: Flask, users: Users) -> None:
    app.config["UPLOAD_RATE_LIMIT"] = "2 per minute"
    app.config["WTF_CSRF_ENABLED"] = False
    assert _api_upload(app, users, "hf-ous").status_code == 422
    client = app.test_client()
    login(client, "hf-ous")
    form = {"fil": (io.BytesIO(NOT_A_FORM), "notat.txt")}
    resp = client.post("/innsending", data=form, content_type="multipart/form-data")
    assert resp.status_code == 422
    resp = client.post(
        "/innsending",
        data={"fil": (io.BytesIO(NOT_A_FORM), "notat.txt")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 429 and "Retry-After" in resp.headers
    assert "for mange filer" in resp.get_data(as_text=True)
    assert _api_upload(app, users, "hf-ous").status_code == 429
    # the upload form itself (GET) is not counted
    assert client.get("/innsending").status_code == 200


def test_the_page_is_limited_with_its_csrf_check_on(app: Flask, users: Users) -> None:
    app.config["UPLOAD_RATE_LIMIT"] = "1 per minute"
    client = app.test_client()
    login(client, "hf-ous")
    token = csrf_token(client.get("/innsending").get_data(as_text=True))
    form = {"fil": (io.BytesIO(NOT_A_FORM), "notat.txt"), "csrf_token": token}
    assert (
        client.post("/innsending", data=form, content_type="multipart/form-data").status_code == 422
    )
    form = {"fil": (io.BytesIO(NOT_A_FORM), "notat.txt"), "csrf_token": token}
    assert (
        client.post("/innsending", data=form, content_type="multipart/form-data").status_code == 429
    )


def test_the_limit_comes_from_the_environment_and_a_bad_value_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert UPLOAD_PER_USER == "30 per minute; 300 per hour"
    assert Settings.load({}, tmp_path).upload_rate_limit == UPLOAD_PER_USER
    with pytest.raises(SettingsError, match="SKJEMAMOTTAK_UPLOAD_RATE_LIMIT må skrives som"):
        Settings.load({"SKJEMAMOTTAK_UPLOAD_RATE_LIMIT": "tull"}, tmp_path)
    monkeypatch.setenv("SKJEMAMOTTAK_UPLOAD_RATE_LIMIT", "5 per minute; 50 per hour")
    app = make_app(tmp_path / "instance")
    try:
        assert app.config["UPLOAD_RATE_LIMIT"] == "5 per minute; 50 per hour"
    finally:
        st(app).engine.dispose()
