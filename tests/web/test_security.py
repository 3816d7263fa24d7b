"""Security headers, TLS behind a proxy, login throttling and upload size limits (issue 8)."""

from __future__ import annotations

import io

from tests.web.conftest import make_app, st


def test_pages_carry_security_headers(client):
    resp = client.get("/logg-inn")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in resp.headers  # plain HTTP: no HSTS


def test_hsts_only_over_tls(client):
    resp = client.get("/logg-inn", base_url="https://skjema.example")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_behind_a_proxy_the_forwarded_scheme_counts_and_cookies_are_secure(tmp_path, monkeypatch):
    monkeypatch.setenv("SKJEMAMOTTAK_BEHIND_PROXY", "1")
    app = make_app(tmp_path / "instance")
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        resp = app.test_client().get("/logg-inn", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" in resp.headers
    finally:
        st(app).engine.dispose()


def _try_login(client, username: str, password: str = "feil-passord"):
    return client.post(
        "/logg-inn",
        data={"brukernavn": username, "passord": password},
        environ_base={"REMOTE_ADDR": "127.0.0.9"},
    )


def test_repeated_logins_for_one_user_are_throttled(app):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    statuses = [_try_login(client, "koordinator").status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429
    resp = _try_login(client, "koordinator")
    assert "For mange forsøk" in resp.get_data(as_text=True)
    assert "Retry-After" in resp.headers
    # another user from the same address is not yet blocked
    assert _try_login(client, "hf-ous").status_code == 401


def test_throttling_can_be_switched_off_for_load_tests(tmp_path, monkeypatch):
    monkeypatch.setenv("SKJEMAMOTTAK_RATELIMIT_DISABLED", "1")
    app = make_app(tmp_path / "instance", WTF_CSRF_ENABLED=False)
    try:
        client = app.test_client()
        assert {_try_login(client, "x").status_code for _ in range(15)} == {401}
    finally:
        st(app).engine.dispose()


def test_oversized_upload_is_refused_with_413_before_it_is_read(app, users):
    app.config["MAX_UPLOAD_MB"] = 1
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    body = io.BytesIO(b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024))
    resp = app.test_client().post(
        "/api/v1/innsendinger",
        data={"fil": (body, "stor.pdf")},
        headers=users.auth("hf-ous"),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 413
    body = resp.get_json()
    assert body["error"]["code"] == "FILE_TOO_LARGE"
    assert body["errors"][0]["code"] == "FILE_TOO_LARGE"
