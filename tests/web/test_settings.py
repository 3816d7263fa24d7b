"""Issue 12: one `Settings`, read once from the environment and the instance's config.py.

Each setting is read from its variable and from config.py, the environment wins over the file,
an override in code (create_app's config, a `serve` option) wins over both, and a value that
cannot be used stops the start with a Norwegian message that names the setting.
"""

from __future__ import annotations

import base64
import gc
import re
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from services.users import add_user
from tests.web.conftest import PASSWORD, login, st
from web import cli
from web.settings import DEFAULT_BASE_URL, NAMES, Given, Settings, SettingsError, env_name

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))

# variable -> (text in the environment, the field, the value the field gets)
READ: dict[str, tuple[str, str, Any]] = {
    "SKJEMAMOTTAK_DATABASE_URL": (
        "postgresql+psycopg://skjema@db.example/skjemamottak",
        "database_url",
        "postgresql+psycopg://skjema@db.example/skjemamottak",
    ),
    "SKJEMAMOTTAK_SECRET_KEY": ("en-hemmelighet", "secret_key", "en-hemmelighet"),
    "SKJEMAMOTTAK_MAX_UPLOAD_MB": ("7,5", "max_upload_mb", 7.5),
    "SKJEMAMOTTAK_BASE_URL": ("https://skjema.example/", "base_url", "https://skjema.example"),
    "SKJEMAMOTTAK_RATELIMIT_STORAGE": (
        "redis://cache.example:6379",
        "ratelimit_storage",
        "redis://cache.example:6379",
    ),
    "SKJEMAMOTTAK_RATELIMIT_DISABLED": ("ja", "ratelimit_enabled", False),
    "SKJEMAMOTTAK_UPLOAD_RATE_LIMIT": ("5 per minute", "upload_rate_limit", "5 per minute"),
    "SKJEMAMOTTAK_BEHIND_PROXY": ("1", "behind_proxy", True),
    "SKJEMAMOTTAK_SECURE_COOKIES": ("true", "secure_cookies", True),
    "SKJEMAMOTTAK_WORKERS": ("6", "workers", 6),
    "FORWARDED_ALLOW_IPS": ("10.0.0.1, 10.1.0.0/16", "forwarded_allow_ips", "10.0.0.1,10.1.0.0/16"),
    "SKJEMAMOTTAK_MEETING_WEEKDAY": ("tirsdag", "meeting_weekday", 1),
    "SKJEMAMOTTAK_MEETING_TIME": ("13.30", "meeting_time", time(13, 30)),
}

# variable -> a value it refuses, and words of the message
REFUSED: dict[str, tuple[str, str]] = {
    "SKJEMAMOTTAK_DATABASE_URL": ("mysql://db.example/x", "bare SQLite og PostgreSQL"),
    "SKJEMAMOTTAK_MAX_UPLOAD_MB": ("mange", "må være et tall større enn 0"),
    "SKJEMAMOTTAK_BASE_URL": ("skjema.example", "må være en http(s)-adresse"),
    "SKJEMAMOTTAK_RATELIMIT_STORAGE": ("fil:/tmp/x", "må være en lageradresse"),
    "SKJEMAMOTTAK_RATELIMIT_DISABLED": ("kanskje", "må være 1 (ja) eller 0 (nei)"),
    "SKJEMAMOTTAK_UPLOAD_RATE_LIMIT": ("mange", "må skrives som i limits-biblioteket"),
    "SKJEMAMOTTAK_BEHIND_PROXY": ("2", "må være 1 (ja) eller 0 (nei)"),
    "SKJEMAMOTTAK_SECURE_COOKIES": ("sikkert", "må være 1 (ja) eller 0 (nei)"),
    "SKJEMAMOTTAK_WORKERS": ("null", "må være et helt tall fra 1 til 64"),
    "FORWARDED_ALLOW_IPS": ("proxy.example", "må være IP-adresser"),
    "SKJEMAMOTTAK_MEETING_WEEKDAY": ("7", "må være en ukedag"),
    "SKJEMAMOTTAK_MEETING_TIME": ("25:00", "må være et klokkeslett som TT:MM"),
    "SKJEMAMOTTAK_BLOB_KEY": ("for-kort", "er ikke en gyldig nøkkel"),
}


def test_the_tables_cover_every_setting() -> None:
    """A new setting needs a line in both tables (and in the README's)."""
    read = set(READ) | {"SKJEMAMOTTAK_INSTANCE", "SKJEMAMOTTAK_BLOB_KEY"}
    read |= {"SKJEMAMOTTAK_BLOB_OLD_KEYS"}
    assert read == {env_name(n) for n in NAMES}
    assert set(REFUSED) <= read
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    assert [n for n in sorted(read) if f"`{n}`" not in readme] == []


def test_the_defaults(tmp_path: Path) -> None:
    s = Settings.load({}, tmp_path)
    assert s.instance == tmp_path.resolve()
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'skjemamottak.db'}"
    assert s.secret_key is None and s.keyring is None and s.base_url is None
    assert s.public_url == DEFAULT_BASE_URL
    assert (s.max_upload_mb, s.workers, s.meeting_weekday, s.meeting_time) == (
        20,
        None,
        3,
        time(9, 0),
    )
    assert s.ratelimit_enabled and not s.behind_proxy and not s.secure_cookies


@pytest.mark.parametrize("variable", sorted(READ))
def test_each_variable_is_read(tmp_path: Path, variable: str) -> None:
    text, name, expected = READ[variable]
    assert getattr(Settings.load({}, tmp_path), name) != expected  # not the default by chance
    assert getattr(Settings.load({variable: text}, tmp_path), name) == expected


def test_the_instance_and_the_blob_keys_are_read(tmp_path: Path) -> None:
    folder = tmp_path / "annen"
    s = Settings.load(
        {
            "SKJEMAMOTTAK_INSTANCE": str(folder),
            "SKJEMAMOTTAK_BLOB_KEY": base64.b64encode(KEY_A).decode(),
            "SKJEMAMOTTAK_BLOB_OLD_KEYS": KEY_B.hex(),
        }
    )
    assert s.instance == folder.resolve()
    assert s.database_url.endswith(f"{folder.resolve()}/skjemamottak.db")
    assert s.keyring is not None
    assert s.keyring.current.key == KEY_A and [k.key for k in s.keyring.old] == [KEY_B]
    # the argument names the folder when the caller knows it
    assert Settings.load({"SKJEMAMOTTAK_INSTANCE": str(folder)}, tmp_path).instance == tmp_path


def test_behind_a_proxy_cookies_are_secure_unless_said_otherwise(tmp_path: Path) -> None:
    proxy = {"SKJEMAMOTTAK_BEHIND_PROXY": "1"}
    assert Settings.load(proxy, tmp_path).secure_cookies is True
    plain = Settings.load({**proxy, "SKJEMAMOTTAK_SECURE_COOKIES": "0"}, tmp_path)
    assert plain.secure_cookies is False


def test_config_py_is_read_the_environment_wins_and_an_override_wins_over_both(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.py").write_text(
        "from datetime import time\n"
        "MEETING_WEEKDAY = 'mandag'\n"
        "MEETING_TIME = time(10, 15)\n"
        "MAX_UPLOAD_MB = 5\n"
        "BEHIND_PROXY = True\n"
        f"BLOB_KEY = {KEY_A.hex()!r}\n"
        "helper = 'ignored: not upper case'\n",
        "utf-8",
    )
    s = Settings.load({}, tmp_path)
    assert (s.meeting_weekday, s.meeting_time, s.max_upload_mb, s.behind_proxy) == (
        0,
        time(10, 15),
        5,
        True,
    )
    assert s.keyring is not None and s.keyring.current.key == KEY_A
    env = {"SKJEMAMOTTAK_MEETING_WEEKDAY": "2", "SKJEMAMOTTAK_MAX_UPLOAD_MB": "8"}
    s = Settings.load(env, tmp_path)
    assert (s.meeting_weekday, s.max_upload_mb, s.meeting_time) == (2, 8, time(10, 15))
    s = Settings.load(env, tmp_path, {"MEETING_WEEKDAY": 4})
    assert s.meeting_weekday == 4


@pytest.mark.parametrize("variable", sorted(REFUSED))
def test_a_bad_value_is_refused_in_norwegian_naming_the_setting(
    tmp_path: Path, variable: str
) -> None:
    text, words = REFUSED[variable]
    with pytest.raises(SettingsError) as e:
        Settings.load({variable: text}, tmp_path)
    assert variable in e.value.message and words in e.value.message


def test_secrets_are_never_repeated_in_a_message(tmp_path: Path) -> None:
    for variable, secret in (
        ("SKJEMAMOTTAK_BLOB_KEY", "hemmelig-men-for-kort"),
        ("SKJEMAMOTTAK_DATABASE_URL", "oracle://ola:passord123@db.example/x"),
        ("SKJEMAMOTTAK_DATABASE_URL", "ikke en adresse passord123"),
    ):
        with pytest.raises(SettingsError) as e:
            Settings.load({variable: secret}, tmp_path)
        assert secret not in e.value.message and "passord123" not in e.value.message
    shown = repr(
        Settings.load(
            {
                "SKJEMAMOTTAK_DATABASE_URL": "postgresql+psycopg://ola:passord123@db.example/x",
                "SKJEMAMOTTAK_SECRET_KEY": "passord123",
                "SKJEMAMOTTAK_BLOB_KEY": KEY_A.hex(),
                "SKJEMAMOTTAK_RATELIMIT_STORAGE": "redis://:passord123@cache.example:6379",
            },
            tmp_path,
        )
    )
    assert "passord123" not in shown and KEY_A.hex() not in shown and "meeting_weekday=3" in shown


def test_config_py_errors_are_refused_in_norwegian(tmp_path: Path) -> None:
    config = tmp_path / "config.py"
    for text, words in (
        ("MEETING_WEEKDAY = 'fredagen'\n", f"MEETING_WEEKDAY i {config} må være en ukedag"),
        ("MEETING_WEKDAY = 1\n", "Ukjent innstilling «MEETING_WEKDAY»"),
        ("BLOB_KEY = 'kort'\n", f"BLOB_KEY i {config} er ikke en gyldig nøkkel"),
        ("INSTANCE = '/tmp'\n", "INSTANCE kan ikke settes"),
        ("MEETING_TIME = (\n", "syntaksfeil på linje 1"),
        ("raise RuntimeError('x')\n", "kan ikke kjøres (RuntimeError)"),
    ):
        config.write_text(text, "utf-8")
        with pytest.raises(SettingsError, match=re.escape(words)):
            Settings.load({}, tmp_path)


def test_an_override_is_named_as_given(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="--meeting-time må være et klokkeslett"):
        Settings.load({}, tmp_path, {"MEETING_TIME": Given("9", "--meeting-time")})
    with pytest.raises(SettingsError, match="Ukjent innstilling «MEETING_DAY»"):
        Settings.load({}, tmp_path, {"MEETING_DAY": "1"})


def test_settings_are_frozen(tmp_path: Path) -> None:
    s = Settings.load({}, tmp_path)
    with pytest.raises(AttributeError):
        s.meeting_weekday = 1  # type: ignore[misc]


def test_the_cli_stops_on_a_bad_setting_with_a_norwegian_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SKJEMAMOTTAK_MAX_UPLOAD_MB", "tjue")
    assert cli.main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skjemamottak: SKJEMAMOTTAK_MAX_UPLOAD_MB må være et tall")
    assert "Traceback" not in err
    assert not (tmp_path / "instance").exists()  # stopped before anything was made


def test_the_app_takes_its_settings(tmp_path: Path) -> None:
    from web.app import create_app
    from web.context import current_settings

    settings = Settings.load(
        {"SKJEMAMOTTAK_MAX_UPLOAD_MB": "2", "SKJEMAMOTTAK_MEETING_TIME": "14:00"},
        tmp_path / "instance",
    )
    app = create_app(settings=settings)
    try:
        assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024 + 64 * 1024
        assert app.config["MEETING_TIME"] == "14:00"
        assert app.config["SECRET_KEY"]  # kept in the instance folder
        with app.app_context():
            assert current_settings().max_upload_mb == 2
        with pytest.raises(TypeError):  # one source: not the settings and a config key
            create_app({"MAX_UPLOAD_MB": 3}, settings=settings)
    finally:
        st(app).engine.dispose()


# ---- serve: the meeting weekday and time reach the meeting planner ------------------------------


def _serve(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> Any:
    """Run `serve` up to gunicorn's start; build one worker's app as gunicorn would."""
    from gunicorn.app.base import BaseApplication

    started: dict[str, Any] = {}

    def run(self: Any) -> None:
        started["workers"] = self.cfg.workers
        started["app"] = self.load()

    monkeypatch.setattr(BaseApplication, "run", run)
    try:
        assert cli.main(["serve", *argv]) == 0
    finally:
        gc.unfreeze()  # worker_app froze the test process's objects
    return started


def _meeting_form(app: Any) -> tuple[date, str]:
    """The first suggested meeting date and the default time on the coordinator's page."""
    add_user(st(app).uow(), "koordinator", roles=["koordinator"], password=PASSWORD)
    client = app.test_client()
    login(client, "koordinator")
    html = client.get("/moter").get_data(as_text=True)
    dato = re.search(r'id="dato" name="dato" required value="([0-9-]+)"', html)
    tid = re.search(r'id="tid" name="tid" required value="([0-9:]+)"', html)
    assert dato and tid, html
    return date.fromisoformat(dato.group(1)), tid.group(1)


@pytest.mark.parametrize(
    ("argv", "env", "weekday", "at"),
    [
        ([], {}, 3, "09:00"),  # the defaults: Thursday at nine
        (["--meeting-weekday", "tirsdag", "--meeting-time", "13:30"], {}, 1, "13:30"),
        (
            [],
            {"SKJEMAMOTTAK_MEETING_WEEKDAY": "0", "SKJEMAMOTTAK_MEETING_TIME": "08:15"},
            0,
            "08:15",
        ),
        (["--meeting-weekday", "4"], {"SKJEMAMOTTAK_MEETING_WEEKDAY": "0"}, 4, "09:00"),
    ],
)
def test_serve_meeting_weekday_and_time_reach_the_meeting_planner(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    weekday: int,
    at: str,
) -> None:
    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("SKJEMAMOTTAK_DATABASE_URL", raising=False)
    for name in ("SKJEMAMOTTAK_MEETING_WEEKDAY", "SKJEMAMOTTAK_MEETING_TIME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = _serve(monkeypatch, ["--workers", "3", *argv])["app"]
    try:
        suggested, default_time = _meeting_form(app)
        assert suggested.weekday() == weekday and default_time == at
    finally:
        st(app).engine.dispose()


def test_serve_refuses_a_bad_meeting_weekday_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(tmp_path / "instance"))
    assert cli.main(["serve", "--meeting-weekday", "lørdagen"]) == 2
    assert "--meeting-weekday må være en ukedag" in capsys.readouterr().err
    assert not (tmp_path / "instance").exists()


def test_serve_takes_workers_and_its_own_address_as_the_base_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKJEMAMOTTAK_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("SKJEMAMOTTAK_DATABASE_URL", raising=False)
    monkeypatch.delenv("SKJEMAMOTTAK_BASE_URL", raising=False)
    monkeypatch.setenv("SKJEMAMOTTAK_WORKERS", "5")
    started = _serve(monkeypatch, ["--port", "8123"])
    try:
        assert started["workers"] == 5
        assert started["app"].config["BASE_URL"] == "http://127.0.0.1:8123"
    finally:
        st(started["app"]).engine.dispose()


def test_over_https_cookies_are_secure_unless_said_otherwise(tmp_path: Path) -> None:
    for name in ("SKJEMAMOTTAK_BASE_URL", "SKJEMAMOTTAK_PUBLIC_URL"):
        https = {name: "https://skjema.example.no"}
        assert Settings.load(https, tmp_path).secure_cookies is True, name
        plain = Settings.load({**https, "SKJEMAMOTTAK_SECURE_COOKIES": "0"}, tmp_path)
        assert plain.secure_cookies is False, name
    local = {"SKJEMAMOTTAK_BASE_URL": "http://127.0.0.1:5000"}
    assert Settings.load(local, tmp_path).secure_cookies is False
