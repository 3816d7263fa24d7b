"""`SKJEMAMOTTAK_SMTP_URL`, `SKJEMAMOTTAK_MAIL_FROM`, `SKJEMAMOTTAK_ARKIV_DIR` (CONNECTIONS.md
section 2): read and checked in `web.settings`; a bad value is a Norwegian message naming the
variable that never repeats a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.connections_config import ConnectionsConfig
from web.settings import Settings, SettingsError

FROM = "skjema@nyemetoder.example"


@pytest.mark.parametrize(
    ("url", "host", "port", "security"),
    [
        ("smtp://post.example", "post.example", 25, "none"),
        ("smtp+starttls://post.example", "post.example", 587, "starttls"),
        ("smtps://post.example", "post.example", 465, "tls"),
        ("smtps://post.example:2465", "post.example", 2465, "tls"),
    ],
)
def test_schemes_and_default_ports(url: str, host: str, port: int, security: str) -> None:
    smtp = ConnectionsConfig.from_environ(
        {"SKJEMAMOTTAK_SMTP_URL": url, "SKJEMAMOTTAK_MAIL_FROM": FROM}
    ).smtp
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.security, smtp.username) == (host, port, security, None)


def test_credentials_are_percent_decoded_and_never_shown(tmp_path: Path) -> None:
    env = {
        "SKJEMAMOTTAK_SMTP_URL": "smtp+starttls://skjema%40nye:p%40ss%3Aw%2Frd@post.example",
        "SKJEMAMOTTAK_MAIL_FROM": FROM,
    }
    settings = Settings.load(env, tmp_path)
    smtp = settings.connections.smtp
    assert smtp is not None and (smtp.username, smtp.password) == ("skjema@nye", "p@ss:w/rd")
    assert "p@ss" not in repr(settings) + repr(settings.connections) + repr(smtp)
    assert settings.connections.mail_domain == "nyemetoder.example"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SKJEMAMOTTAK_SMTP_URL": "https://bruker:hemmelig@post.example"}, "SMTP_URL"),
        ({"SKJEMAMOTTAK_SMTP_URL": "smtp://bruker:hemmelig@:25"}, "SMTP_URL"),
        ({"SKJEMAMOTTAK_SMTP_URL": "smtp://bruker:hemmelig@post.example:99999"}, "SMTP_URL"),
        ({"SKJEMAMOTTAK_SMTP_URL": "smtp://bruker:hemmelig@post.example/sti"}, "SMTP_URL"),
        ({"SKJEMAMOTTAK_SMTP_URL": "smtp://bruker:hemmelig@post.example"}, "MAIL_FROM mangler"),
        ({"SKJEMAMOTTAK_MAIL_FROM": "ikke en adresse"}, "MAIL_FROM"),
    ],
)
def test_a_bad_value_names_the_variable_without_the_secret(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError) as e:
        Settings.load(env, tmp_path)
    assert f"SKJEMAMOTTAK_{named}" in e.value.message
    assert "hemmelig" not in e.value.message


def test_the_archive_folder_must_not_be_a_file(tmp_path: Path) -> None:
    (tmp_path / "fil").write_text("x")
    with pytest.raises(SettingsError) as e:
        Settings.load({"SKJEMAMOTTAK_ARKIV_DIR": str(tmp_path / "fil")}, tmp_path)
    assert "SKJEMAMOTTAK_ARKIV_DIR" in e.value.message
    ok = Settings.load({"SKJEMAMOTTAK_ARKIV_DIR": str(tmp_path / "ny")}, tmp_path).connections
    assert ok.arkiv_dir == (tmp_path / "ny").resolve() and ok.enabled and ok.smtp is None
    assert not Settings.load({}, tmp_path).connections.enabled
