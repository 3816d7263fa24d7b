"""`skjemamottak worker` against a real SMTP server on 127.0.0.1 (aiosmtpd) and a real archive
folder (CONNECTIONS.md sections 2 and 3), on SQLite and on PostgreSQL (when configured): every
event delivered once with its headers, a refusal retried, a 5xx failed, TLS, two workers that
never share a row, a worker killed with SIGKILL mid-delivery, SIGTERM, the export."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time as clock
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from processor import arkiv
from processor.domain import Actor
from services import committee, minihta, outbox
from services.cases import transition
from services.upload import upload
from services.users import add_user
from storage.arkiv import read_message
from tests import pgutil
from tests.cli import run_cli, start_cli
from tests.services.helpers import decision_body
from tests.smtp_server import SmtpServer, self_signed
from tests.storage.helpers import HF_OUS, KOORDINATOR, del2_for
from tests.storage.test_committee import CASE_OUS, add_members
from tests.storage.test_committee import ready_case as ready
from tests.storage.test_minihta import REVIEWERS, form
from web.runtime import Storage, open_storage
from web.settings import Settings
from web.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
TODAY = datetime.now(UTC).date()  # the meeting must lie ahead for planning
SENDER = "Skjemamottak <skjema@nyemetoder.example>"
PUBLIC = "https://skjema.nyemetoder.example"
HF_OUS_3 = Actor("hf-ous-3", frozenset({"hf"}), "OUS")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'instance' / 'skjemamottak.db'}"
        return
    if not pgutil.available():
        pytest.skip("no PostgreSQL server: set SKJEMAMOTTAK_TEST_POSTGRES_URL")
    name = pgutil.create_database()
    yield pgutil.url_for(name)
    pgutil.drop_database(name)


def environ(database: str, tmp_path: Path, smtp: str | None = None) -> dict[str, str]:
    env = {
        "SKJEMAMOTTAK_INSTANCE": str(tmp_path / "instance"),
        "SKJEMAMOTTAK_DATABASE_URL": database,
        "SKJEMAMOTTAK_ARKIV_DIR": str(tmp_path / "arkiv"),
        "SKJEMAMOTTAK_PUBLIC_URL": PUBLIC,
        "SKJEMAMOTTAK_MAIL_FROM": SENDER,
    }
    if smtp is not None:
        env["SKJEMAMOTTAK_SMTP_URL"] = smtp
    return env


def storage_for(env: dict[str, str]) -> tuple[Settings, Storage]:
    settings = Settings.load(env)
    return settings, open_storage(settings)


def meeting_day() -> datetime:
    return datetime.combine(TODAY + timedelta(days=30), time(9), UTC)


def every_event(st: Storage) -> dict[str, str]:
    """Make each kind of row through the services; {hendelse: recipient} of the mails."""
    uow = st.uow()
    add_user(uow, "hf-ous", roles=["hf"], hf="OUS", epost="hf-ous@ous.example")
    add_user(uow, "hf-ous-3", roles=["hf"], hf="OUS", epost="tre@ous.example")
    add_members(
        uow,
        {
            "k-ahus": ("AHUS", True),
            "k-hbe": ("HBE", True),
            "k-unn": ("UNN", True),
            "k-hmr": ("HMR", True),
        },
    )
    with uow:
        user = uow.users.get("k-ahus")
        assert user is not None
        user.epost = "k-ahus@komite.example"
        uow.commit()
    for name, (hf, fag) in REVIEWERS.items():
        add_user(uow, name, roles=["fagfelle"], hf=hf, fagomrader=fag, epost=f"{name}@ff.example")
    # returnert (to the uploader), then a second version
    upload(HF_OUS, "s.json", del2_for("OUS"), uow, TODAY)
    transition(KOORDINATOR, CASE_OUS, "mottatt", "returnert", "Mangler vedlegg.", uow)
    # the second version is uploaded by hf-ous-3; ready() uploads and moves it to klar
    ready(uow, HF_OUS_3, del2_for("OUS"), CASE_OUS)
    day = meeting_day()
    meeting_id = committee.create_meeting(KOORDINATOR, uow, day.date(), day.time(), TODAY)
    committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    committee.record_decision(
        KOORDINATOR,
        uow,
        CASE_OUS,
        decision_body(deltakere=["k-ahus", "k-hbe", "k-unn", "k-hmr"]),
        TODAY,
    )
    mmv = upload(HF_OUS, "m.json", form("minihta"), uow, TODAY).case_id
    done = minihta.assign_reviewer(KOORDINATOR, str(mmv), None, None, uow)
    with uow:
        outbox.notify_draft(uow, "utkast_til_godkjenning", 12, ["hf-ous-3"])
        outbox.notify_draft(uow, "utkast_returnert", 12, ["hf-ous"])
        uow.commit()
    return {
        "returnert": "hf-ous@ous.example",
        "motepakke_klar": "k-ahus@komite.example",
        "fagfelle_tildelt": f"{done.reviewer}@ff.example",
        "utkast_til_godkjenning": "tre@ous.example",
        "utkast_returnert": "hf-ous@ous.example",
        # avgjort: both OUS users
    }


def statuses(st: Storage) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in outbox.list_rows(st.uow()):
        out[row["status"]] = out.get(row["status"], 0) + 1
    return out


def test_every_event_is_mailed_once_and_archived_with_its_headers(
    database: str, tmp_path: Path
) -> None:
    with SmtpServer() as smtp:
        settings, st = storage_for(environ(database, tmp_path, f"smtp://127.0.0.1:{smtp.port}"))
        expected = every_event(st)
        Worker(st, settings).run(once=True)
        assert statuses(st) == {"sendt": 10}  # 7 mails, 3 archive folders
        got = {}
        case_of = {
            (r["hendelse"], r["mottaker"]): r["sak"]
            for r in outbox.list_rows(st.uow())
            if r["art"] == "epost"
        }
        for msg in smtp.messages:
            event = msg["X-Skjemamottak-Hendelse"]
            got.setdefault(event, []).append(msg["To"])
            assert msg["From"] == SENDER
            assert msg["Message-ID"].endswith("@nyemetoder.example>")
            plain = msg.get_body(("plain",)).get_content()
            html = msg.get_body(("html",)).get_content()
            assert msg.get_content_type() == "multipart/alternative"
            for part in (msg["Subject"], plain, html):
                if event == "motepakke_klar":
                    day = meeting_day()
                    assert f"{day:%d.%m.%Y} kl. 09:00" in part
                elif event.startswith("utkast"):
                    assert "Utkast 12" in part
                else:
                    assert "sak " in part.lower()
                    # "subject and both parts name the case id"
                    assert case_of[(event, msg["To"])] in part
            link = {
                "motepakke_klar": f"{PUBLIC}/moter/",
                "fagfelle_tildelt": f"{PUBLIC}/fagfelle",
                "utkast_til_godkjenning": f"{PUBLIC}/utkast/12",
                "utkast_returnert": f"{PUBLIC}/utkast/12",
            }.get(event, f"{PUBLIC}/saker/{CASE_OUS}")
            assert link in plain and f'href="{link}' in html
            # nothing from the case: no reason, no outcome, no field value
            for secret in ("Mangler vedlegg", "innvilget", "Innvilget", "Komitéen finner"):
                assert secret not in plain and secret not in html
        assert smtp.rcpt == [[m["To"]] for m in smtp.messages]  # one recipient per mail
        assert sorted(got.pop("avgjort")) == ["hf-ous@ous.example", "tre@ous.example"]
        assert {k: v for k, v in got.items()} == {k: [v] for k, v in expected.items()}
        assert len({m["Message-ID"] for m in smtp.messages}) == len(smtp.messages) == 7
        folders = sorted(p.name for p in (tmp_path / "arkiv").iterdir())
        assert folders == [f"{CASE_OUS}.mottatt.1", f"{CASE_OUS}.mottatt.2", f"{CASE_OUS}.vedtak"]
        # the export writes the same folders, byte for byte, and leaves the outbox alone
        before = outbox.list_rows(st.uow())
        env = {**os.environ, **environ(database, tmp_path)}
        proc = run_cli("arkiv", "eksport", CASE_OUS, "--til", str(tmp_path / "eksport"), env=env)
        assert proc.returncode == 0, proc.stderr
        for folder in folders:
            assert read_message(tmp_path / "eksport", folder) == read_message(
                tmp_path / "arkiv", folder
            )
        assert set(read_message(tmp_path / "arkiv", folders[-1])) == {
            arkiv.ARKIVMELDING,
            arkiv.VEDTAK_FILE,
        }
        assert outbox.list_rows(st.uow()) == before
        proc = run_cli(
            "arkiv", "eksport", "2026-01-01-OUS-INGEN", "--til", str(tmp_path / "x"), env=env
        )
        assert proc.returncode == 1 and "Fant ingen sak" in proc.stderr
        st.engine.dispose()


def _one_mail(st: Storage) -> None:
    uow = st.uow()
    add_user(uow, "hf-ous", roles=["hf"], hf="OUS", epost="hf-ous@ous.example")
    with uow:
        outbox.notify_draft(uow, "utkast_returnert", 5, ["hf-ous"])
        uow.commit()


def test_a_4xx_is_retried_with_the_same_message_id_and_a_5xx_fails(
    database: str, tmp_path: Path
) -> None:
    with SmtpServer(answers=["451 4.3.0 Prøv igjen senere", "554 5.7.1 Avvist"]) as smtp:
        settings, st = storage_for(environ(database, tmp_path, f"smtp://127.0.0.1:{smtp.port}"))
        _one_mail(st)
        worker = Worker(st, settings)
        worker.run(once=True)
        [row] = outbox.list_rows(st.uow())
        assert (row["status"], row["forsok"], row["siste_feil"]) == (
            "venter",
            1,
            "SMTP-tjeneren svarte med en midlertidig feil (451).",
        )
        assert smtp.messages == [] and len(smtp.offered) == 1
        sent_at = datetime.fromisoformat(row["opprettet"])
        assert datetime.fromisoformat(row["neste_forsok"]) - sent_at >= timedelta(seconds=5)
        _due_now(st)
        worker.run(once=True)  # 554: permanent
        [row] = outbox.list_rows(st.uow())
        assert (row["status"], row["forsok"]) == ("feilet", 2)
        assert "(554)" in row["siste_feil"] and "Avvist" not in row["siste_feil"]
        assert outbox.retry(st.uow(), [row["id"]]) == [row["id"]]
        worker.run(once=True)
        [row] = outbox.list_rows(st.uow())
        assert row["status"] == "sendt" and row["sendt"]
        assert len(smtp.offered) == 3 and len(smtp.messages) == 1
        assert len({m["Message-ID"] for m in smtp.offered}) == 1  # the same mail each time
        st.engine.dispose()


def _due_now(st: Storage) -> None:
    with st.uow() as uow:
        for row in uow.outbox.list():
            row.neste_forsok = uow.now()
        uow.commit()


def test_no_server_is_a_temporary_failure_and_unset_smtp_leaves_mails_waiting(
    database: str, tmp_path: Path
) -> None:
    port = SmtpServer().port  # nobody listens there
    settings, st = storage_for(environ(database, tmp_path, f"smtp://127.0.0.1:{port}"))
    _one_mail(st)
    Worker(st, settings).run(once=True)
    [row] = outbox.list_rows(st.uow())
    assert (row["status"], row["siste_feil"]) == ("venter", "Fikk ikke kontakt med SMTP-tjeneren.")
    settings, st2 = storage_for(environ(database, tmp_path))  # no SMTP: mails wait
    _due_now(st2)
    Worker(st2, settings).run(once=True)
    assert outbox.list_rows(st2.uow())[0]["forsok"] == 1
    st.engine.dispose()
    st2.engine.dispose()


def test_an_address_the_server_cannot_take_fails_at_once(database: str, tmp_path: Path) -> None:
    """A non-ASCII address and a server without SMTPUTF8: no retry for 24 hours, `feilet` with
    a reason the operator can act on."""
    if database.startswith("postgresql"):
        pytest.skip("the transport does not depend on the database")
    with SmtpServer(smtputf8=False) as smtp:
        settings, st = storage_for(environ(database, tmp_path, f"smtp://127.0.0.1:{smtp.port}"))
        uow = st.uow()
        add_user(uow, "hf-ous", roles=["hf"], hf="OUS", epost="bjørn@ous.example")
        with uow:
            outbox.notify_draft(uow, "utkast_returnert", 5, ["hf-ous"])
            uow.commit()
        Worker(st, settings).run(once=True)
        [row] = outbox.list_rows(st.uow())
        assert (row["status"], row["forsok"]) == ("feilet", 1), row
        assert "SMTPUTF8" in row["siste_feil"]
        assert smtp.messages == []
        st.engine.dispose()


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_with_a_percent_encoded_login(
    database: str, tmp_path: Path, scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.startswith("postgresql"):
        pytest.skip("the transport does not depend on the database")
    certs = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certs[0]))  # the client trusts the test certificate
    user, password = "skjema@nyemetoder", "p@ss:w/rd %"
    tls = "smtps" if scheme == "smtps" else "starttls"
    with SmtpServer(tls=tls, certs=certs, login=(user, password)) as smtp:
        url = f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{smtp.port}"
        settings, st = storage_for(environ(database, tmp_path, url))
        assert password not in repr(settings) and password not in repr(settings.connections)
        _one_mail(st)
        Worker(st, settings).run(once=True)
        assert statuses(st) == {"sendt": 1}
        assert smtp.logins == [(user, password)] and len(smtp.messages) == 1
        st.engine.dispose()


def test_two_workers_never_share_a_row(database: str, tmp_path: Path) -> None:
    with SmtpServer() as smtp:
        settings, st = storage_for(environ(database, tmp_path, f"smtp://127.0.0.1:{smtp.port}"))
        uow = st.uow()
        names = [f"u{i}" for i in range(30)]
        for name in names:
            add_user(uow, name, roles=["hf"], hf="OUS", epost=f"{name}@ous.example")
        with uow:
            outbox.notify_draft(uow, "utkast_returnert", 1, names)
            uow.commit()
        workers = [Worker(st, settings, name=f"w{i}") for i in range(2)]
        threads = [threading.Thread(target=w.run, kwargs={"once": True}) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert statuses(st) == {"sendt": 30}
        assert len(smtp.offered) == 30  # never twice
        assert sorted(m["To"] for m in smtp.messages) == sorted(f"{n}@ous.example" for n in names)
        assert sum(w.handled for w in workers) == 30
        st.engine.dispose()


def _start_worker(env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return start_cli(
        "worker",
        *extra,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(check: object, seconds: float = 60) -> None:
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        if check():  # type: ignore[operator]
            return
        clock.sleep(0.05)
    raise AssertionError("timed out")


def test_a_worker_killed_mid_delivery_loses_no_mail(database: str, tmp_path: Path) -> None:
    """SIGKILL while the server holds the first mail (it has not answered yet): the restarted
    worker sends it again, with the same Message-ID; every row reaches the server."""
    with SmtpServer(hold=True) as smtp:
        env = environ(database, tmp_path, f"smtp://127.0.0.1:{smtp.port}")
        settings, st = storage_for(env)
        uow = st.uow()
        names = ["a", "b", "c"]
        for name in names:
            add_user(uow, name, roles=["hf"], hf="OUS", epost=f"{name}@ous.example")
        with uow:
            outbox.notify_draft(uow, "utkast_returnert", 3, names)
            uow.commit()
        proc = _start_worker(env, "--lease", "2")
        try:
            assert smtp.holding.wait(60), proc.stderr.read() if proc.poll() is not None else ""
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        smtp.hold = False
        smtp.release.set()  # the server accepts what it held: the row was not marked sendt
        proc = _start_worker(env, "--once", "--lease", "2")
        try:
            # the killed worker's claim runs out after its lease; the restarted one takes it
            _wait(lambda: statuses(st) == {"sendt": 3} or proc.poll() is not None, 90)
            if statuses(st) != {"sendt": 3}:  # --once exited before the lease ran out: again
                proc.wait(30)
                clock.sleep(2.5)
                proc = _start_worker(env, "--once", "--lease", "2")
                assert proc.wait(60) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
        assert statuses(st) == {"sendt": 3}
        to = sorted(m["To"] for m in smtp.messages)
        assert sorted(set(to)) == [f"{n}@ous.example" for n in names]  # every row, at least once
        by_to: dict[str, set[str]] = {}
        for m in smtp.offered:
            by_to.setdefault(m["To"], set()).add(m["Message-ID"])
        assert all(len(ids) == 1 for ids in by_to.values())  # a repeat has the same Message-ID
        assert len(smtp.offered) in (3, 4)
        st.engine.dispose()


def test_sigterm_finishes_the_row_in_hand_and_exits_0(database: str, tmp_path: Path) -> None:
    with SmtpServer(hold=True) as smtp:
        env = environ(database, tmp_path, f"smtp://127.0.0.1:{smtp.port}")
        settings, st = storage_for(env)
        uow = st.uow()
        for name in ("a", "b"):
            add_user(uow, name, roles=["hf"], hf="OUS", epost=f"{name}@ous.example")
        with uow:
            outbox.notify_draft(uow, "utkast_returnert", 3, ["a", "b"])
            uow.commit()
        proc = _start_worker(env)
        try:
            assert smtp.holding.wait(60)
            proc.send_signal(signal.SIGTERM)
            clock.sleep(0.5)
            assert proc.poll() is None  # still delivering the row in hand
            smtp.hold = False
            smtp.release.set()
            assert proc.wait(60) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
        assert statuses(st) == {"sendt": 1, "venter": 1}
        assert len(smtp.messages) == 1
        st.engine.dispose()


def test_a_bad_setting_stops_worker_and_serve_with_exit_2(tmp_path: Path) -> None:
    cases = {
        "SKJEMAMOTTAK_SMTP_URL": ("http://bruker:hemmelig123@vert", "SKJEMAMOTTAK_SMTP_URL"),
        "SKJEMAMOTTAK_MAIL_FROM": ("ikke-en-adresse", "SKJEMAMOTTAK_MAIL_FROM"),
    }
    for variable, (value, named) in cases.items():
        env = {
            "SKJEMAMOTTAK_INSTANCE": str(tmp_path / "i"),
            "SKJEMAMOTTAK_SMTP_URL": "smtp://127.0.0.1:2525",
            "SKJEMAMOTTAK_MAIL_FROM": SENDER,
            variable: value,
        }
        for command in (["worker", "--once"], ["serve", "--port", "1"]):
            proc = run_cli(*command, env={**os.environ, **env}, timeout=60)
            assert proc.returncode == 2 and named in proc.stderr, proc.stderr
            assert "hemmelig123" not in proc.stderr + proc.stdout
    env = {"SKJEMAMOTTAK_INSTANCE": str(tmp_path / "i"), "SKJEMAMOTTAK_SMTP_URL": "smtp://vert"}
    proc = run_cli("worker", "--once", env={**os.environ, **env}, timeout=60)
    assert proc.returncode == 2 and "SKJEMAMOTTAK_MAIL_FROM mangler" in proc.stderr


def test_the_worker_refreshes_the_figures_after_a_change(database: str, tmp_path: Path) -> None:
    from services import figures

    settings, st = storage_for(environ(database, tmp_path))
    figures.refresh(st.uow())
    upload(HF_OUS, "s.json", del2_for("OUS"), st.uow(), TODAY)
    assert figures.stale_case_ids_of(st.uow()) == [CASE_OUS]
    Worker(st, settings, refresh_figures=False).run(once=True)
    assert figures.stale_case_ids_of(st.uow()) == [CASE_OUS]
    Worker(st, settings).run(once=True)
    assert figures.stale_case_ids_of(st.uow()) == []
    with st.uow() as uow:
        assert uow.figures.state()[1] == uow.figures.cases_marker()  # a page need not refresh
    st.engine.dispose()


def test_without_an_archive_folder_archive_rows_wait_and_worker_once_exits_0(
    database: str, tmp_path: Path
) -> None:
    """CONNECTIONS.md sections 1-3: `SKJEMAMOTTAK_ARKIV_DIR` unset, rows stay `venter` (untried)
    while the mails go; `worker --once` exits 0; without `SKJEMAMOTTAK_PUBLIC_URL` (and
    `SKJEMAMOTTAK_BASE_URL`) the links point to the default `http://127.0.0.1:5000`."""
    with SmtpServer() as smtp:
        env = environ(database, tmp_path, f"smtp://127.0.0.1:{smtp.port}")
        del env["SKJEMAMOTTAK_ARKIV_DIR"], env["SKJEMAMOTTAK_PUBLIC_URL"]
        settings, st = storage_for(env)
        upload(HF_OUS, "s.json", del2_for("OUS"), st.uow(), TODAY)  # an archive row
        _one_mail(st)
        unset = {k: v for k, v in os.environ.items() if not k.startswith("SKJEMAMOTTAK_")}
        proc = run_cli("worker", "--once", env={**unset, **env})
        assert proc.returncode == 0, proc.stderr
        by_kind = {r["art"]: r for r in outbox.list_rows(st.uow())}
        assert (by_kind["epost"]["status"], by_kind["arkiv"]["status"]) == ("sendt", "venter")
        assert by_kind["arkiv"]["forsok"] == 0 and by_kind["arkiv"]["sendt"] is None
        assert not (tmp_path / "arkiv").exists()
        [mail] = smtp.messages
        assert "http://127.0.0.1:5000/utkast/5" in mail.get_body(("plain",)).get_content()
        st.engine.dispose()


def test_a_running_worker_takes_a_row_committed_after_it_started(
    database: str, tmp_path: Path
) -> None:
    """ "The worker handles a row within 5 s of its commit": it looks for due rows every `POLL`
    seconds (at most 5), so a row committed while it runs is delivered without a restart."""
    from web.worker import POLL

    assert 0 < POLL <= 5
    with SmtpServer() as smtp:
        env = environ(database, tmp_path, f"smtp://127.0.0.1:{smtp.port}")
        settings, st = storage_for(env)
        add_user(st.uow(), "hf-ous", roles=["hf"], hf="OUS", epost="hf-ous@ous.example")
        proc = _start_worker(env)
        try:
            _wait(lambda: not outbox.worker_stale(st.uow()), 60)  # it runs
            assert proc.poll() is None
            with st.uow() as uow:
                outbox.notify_draft(uow, "utkast_returnert", 8, ["hf-ous"])
                uow.commit()
            _wait(lambda: statuses(st) == {"sendt": 1}, 60)
            assert len(smtp.messages) == 1
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
        finally:
            if proc.poll() is None:
                proc.kill()
        st.engine.dispose()


def test_make_run_starts_the_worker_beside_the_server() -> None:
    if shutil.which("make") is None:
        pytest.skip("make mangler")
    proc = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    worker = next(i for i, line in enumerate(lines) if "web.cli worker &" in line)
    serve = next(i for i, line in enumerate(lines) if "web.cli serve" in line)
    assert worker < serve  # in the background, then the server in the foreground
