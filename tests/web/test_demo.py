"""`skjemamottak demo` can run the journeys (issue 13): a committee that can decide, reviewers the
rules can pick, a planned meeting, mini-HTAs in several states, and example files that give the
answers their README.txt promises, through `ingest` and through the pages as the demo users."""

from __future__ import annotations

import io
import logging
import re
import stat
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from forms.helseforetak import registry
from processor.decisions import CRITERIA
from processor.domain import Actor
from processor.errors import DomainError
from processor.ingest import ingest
from processor.workdays import papers_deadline, suggested_meeting_dates
from services import committee, minihta
from tests.conftest import ROOT
from tests.fillers import synthetic_fodselsnummer
from tests.web.conftest import csrf_token, database_text, make_app, st
from web import demo
from web.cli import today_oslo
from web.committee import decision_input

COORDINATOR = Actor("koordinator", frozenset({"koordinator"}))
README_LINE = re.compile(
    r"^(\S+\.(?:pdf|docx|xlsx)) – (godkjent|ufullstendig|avvist) \(([\w-]+)\):"
)
STATUS = {nb: status for status, nb in demo.STATUS_NB.items()}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, list[str]]]:
    """An instance after `demo` (made once: argon2 and the templates take a while). Each test
    touches objects of its own, so the order of the tests does not matter."""
    instance = tmp_path_factory.mktemp("demo") / "instance"
    app = make_app(instance, TODAY=today_oslo())
    printed: list[str] = []
    assert demo.create(st(app), out=printed.append) is True
    yield app, printed
    st(app).engine.dispose()


def _today(app: Flask) -> date:
    return st(app).today()


def _folder(app: Flask) -> Path:
    return st(app).instance / demo.EXAMPLES_FOLDER


def _promises(app: Flask) -> list[tuple[str, str, str]]:
    """(file name, status, uploader) for every file README.txt names, in its order."""
    text = (_folder(app) / "README.txt").read_text("utf-8")
    found = [m.groups() for line in text.splitlines() if (m := README_LINE.match(line))]
    return [(name, STATUS[nb], who) for name, nb, who in found]


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    password = next(u["password"] for u in demo.DEMO_USERS if u["username"] == username)
    token = csrf_token(client.get("/logg-inn").get_data(as_text=True))
    resp = client.post(
        "/logg-inn", data={"brukernavn": username, "passord": password, "csrf_token": token}
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return client


def _post(client: FlaskClient, path: str, data: dict[str, object], page: str) -> object:
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


# ---- the committee and the meeting --------------------------------------------------------------


def test_committee_can_decide_in_the_planned_meeting(made: tuple[Flask, list[str]]) -> None:
    app, _ = made
    today = _today(app)
    members = committee.list_members(COORDINATOR, st(app).uow(), today)
    deciders = [m for m in members if m.active and m.beslutningstaker]
    assert len(deciders) >= 4
    per_region: dict[str | None, int] = {}
    for m in deciders:
        if m.fagdirektor:
            region = registry().region_of(m.hf)
            per_region[region] = per_region.get(region, 0) + 1
    assert per_region == {r: 2 for r in ("HSO", "HV", "HMN", "HN")}
    assert all(m.name != m.username for m in members)  # display names, not user names

    (meeting,) = committee.list_meetings(COORDINATOR, st(app).uow(), today)
    on = date.fromisoformat(meeting["dato"])
    # the date the meeting page suggests on a fresh instance (the default weekday)
    assert on == suggested_meeting_dates([], today)[0]
    assert papers_deadline(on) >= today and meeting["sakspapirfrist"] == str(papers_deadline(on))

    detail = committee.meeting_detail(COORDINATOR, st(app).uow(), meeting["id"], today)
    placed = detail["plasserte"]
    assert {row["helseforetak"] for row in placed} == {"OUS", "AHUS"}
    for row in placed:  # the service's own quorum rule, per case
        assert row["beslutningsdyktig"] is True and row["beslutningstakere"] >= row["minimum"]
        own = {m.username for m in members if m.hf == row["helseforetak"] and m.beslutningstaker}
        assert set(row["inhabile"]) == own
    assert any(row["inhabile"] for row in placed)  # recusal shows in the demo

    waiting = detail["klare"]  # one case is priced after planning: the planner can place it
    assert waiting and all(row["beslutningsdyktig"] for row in waiting)
    outcome = committee.plan_meeting(COORDINATOR, st(app).uow(), meeting["id"], today)
    assert outcome.placed == [row["sak"] for row in waiting] and not outcome.not_placed

    ous = next(row["sak"] for row in placed if row["helseforetak"] == "OUS")
    recused = next(m for m in members if m.hf == "OUS")
    for member, sees_ous in (("komite", True), (recused.username, False)):
        user = committee.member_of(st(app).uow(), member)
        assert user is not None
        data, _ = committee.meeting_packet(user, st(app).uow(), meeting["id"], today)
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        assert (f"sak-{ous}.pdf" in names) is sees_ous
        assert "innkalling.pdf" in names

    body = {
        "utfall": "innvilget",
        "kriterier": {
            key: {"oppfylt": key == "okt_nytte", "begrunnelse": "Vurdert i møtet."}
            for key in CRITERIA
        },
        "begrunnelse": "Komiteen finner kriteriet om økt nytte oppfylt.",
    }
    eligible = [m.username for m in deciders if m.username != recused.username]
    with pytest.raises(DomainError):  # a recused member cannot take part
        committee.record_decision(
            COORDINATOR,
            st(app).uow(),
            ous,
            decision_input({**body, "deltakere": [recused.username]}),
            today,
        )
    case = committee.record_decision(
        COORDINATOR,
        st(app).uow(),
        ous,
        decision_input({**body, "deltakere": eligible}),
        today,
    )
    assert case.state == "avgjort"


# ---- mini-HTA -----------------------------------------------------------------------------------


def test_demo_minihtas_cover_the_states_and_the_rules_pick_a_reviewer(
    made: tuple[Flask, list[str]],
) -> None:
    app, _ = made
    uow = st(app).uow()
    with uow:
        cases = {c.id: (c.state, c.hf) for c in uow.cases.list(form_type="minihta")}
        data = {c.id: c.latest.data for c in uow.cases.list(form_type="minihta")}
    assert {"mottatt", "til_fagfelle", "fagfellevurdert", "publisert"} <= {
        s for s, _ in cases.values()
    }
    assert minihta.search_published(st(app).uow())  # the published one is public
    fresh = next(i for i, (s, hf) in cases.items() if s == "mottatt")
    done = minihta.assign_reviewer(COORDINATOR, fresh, None, None, st(app).uow())
    assert done.override is False and done.state == "til_fagfelle"
    spec = next(u for u in demo.DEMO_USERS if u["username"] == done.reviewer)
    assert data[fresh]["metode"]["fagomrade"] in spec["fagomrader"]
    assert registry().region_of(spec["hf"]) != registry().region_of(cases[fresh][1])


# ---- the example files --------------------------------------------------------------------------


def test_examples_are_private_and_give_what_readme_promises_through_ingest(
    made: tuple[Flask, list[str]],
) -> None:
    app, printed = made
    folder = _folder(app)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    promises = _promises(app)
    files = sorted(p.name for p in folder.iterdir())
    assert sorted([name for name, _, _ in promises] + ["README.txt"]) == files
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert {s for _, s, _ in promises} == {"accepted", "incomplete", "rejected"}
    assert {"hf-ous"} <= {who for _, _, who in promises}
    kinds = {Path(name).suffix for name, _, _ in promises}
    assert {".pdf", ".docx", ".xlsx"} <= kinds
    for name, status, _ in promises:
        result = ingest(name, (folder / name).read_bytes(), today=_today(app))
        assert result.status == status, (name, [f.code for f in result.errors])
        if name.startswith("soknad") and result.data:  # fresh, of the demo HF, no demo case's
            assert result.data["soknad"]["helseforetak"] == "OUS"
            ref = str(result.reference)
            assert date.fromisoformat(ref[:10]) < _today(app)
            assert ref.split("-")[4] not in demo.DEPARTMENTS
    assert any(folder.name in line for line in printed)


def test_the_identity_example_carries_a_synthetic_number_that_is_never_shown(
    made: tuple[Flask, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    app, printed = made
    number = demo.synthetic_fodselsnummer()
    assert number == synthetic_fodselsnummer(demo.EXAMPLE_BIRTH)  # the tests' own logic
    assert 80 < int(number[2:4]) <= 92  # month + 80
    (name,) = [n for n, s, _ in _promises(app) if s == "rejected"]
    raw = (_folder(app) / name).read_bytes()
    fields = PdfReader(io.BytesIO(raw)).get_fields() or {}
    assert any(number in str(f.get("/V", "")) for f in fields.values())

    caplog.set_level(logging.DEBUG)
    client = _client(app, "hf-ous")
    token = csrf_token(client.get("/innsending").get_data(as_text=True))
    resp = client.post(
        "/innsending",
        data={"csrf_token": token, "fil": (io.BytesIO(raw), name)},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "IDENTITY_FOUND" in resp.get_data(as_text=True)
    outputs = [
        "\n".join(printed),
        (_folder(app) / "README.txt").read_text("utf-8"),
        resp.get_data(as_text=True),
        caplog.text,
        database_text(app),
    ]
    for text in outputs:
        assert number not in text
    for text in outputs[:2]:  # what people read: not even the birth date part (hashes might)
        assert number[:6] not in text


def test_examples_uploaded_as_the_demo_users_give_the_promised_answers(
    made: tuple[Flask, list[str]],
) -> None:
    """The quick tour: every example through the upload page, as README.txt says, with the
    coordinator's and the reviewer's steps in between, up to the publication."""
    app, _ = made
    folder = _folder(app)
    clients: dict[str, FlaskClient] = {}

    def client(username: str) -> FlaskClient:
        if username not in clients:
            clients[username] = _client(app, username)
        return clients[username]

    case_id = demo.next_minihta_id(st(app))
    for name, status, who in _promises(app):
        if name == "minihta-fagfellevurdering.pdf":  # the coordinator assigns by the rules
            resp = _post(
                client("koordinator"),
                f"/minihta/{case_id}/fagfelle",
                {},
                f"/minihta/{case_id}/fagfelle",
            )
            assert resp.status_code == 303
            assert minihta.assignments_of(st(app).uow(), case_id)[0]["fagfelle"] == who
            resp = _post(
                client(who), f"/fagfelle/{case_id}/habilitet", {"niva": "gronn"}, "/fagfelle"
            )
            assert resp.status_code == 303
            packet = client(who).get(f"/fagfelle/{case_id}/pakke.zip")
            assert packet.status_code == 200
        c = client(who)
        token = csrf_token(c.get("/innsending").get_data(as_text=True))
        resp = c.post(
            "/innsending",
            data={"csrf_token": token, "fil": (io.BytesIO((folder / name).read_bytes()), name)},
            content_type="multipart/form-data",
        )
        html = resp.get_data(as_text=True)
        if status == "accepted":
            assert resp.status_code == 201, (name, html)
            if name.startswith("minihta"):
                assert case_id in html
        else:
            assert resp.status_code == 422, (name, html)
            assert ("ufullstendig" if status == "incomplete" else "avvist") in html
    resp = _post(
        client("koordinator"),
        f"/saker/{case_id}/overgang",
        {"fra": "besluttet", "til": "publisert"},
        f"/saker/{case_id}",
    )
    assert resp.status_code == 303
    assert app.test_client().get(f"/publisert/{case_id}").status_code == 200


def test_the_readme_tour_names_the_files_the_demo_writes(made: tuple[Flask, list[str]]) -> None:
    """README.md's quick tour («En rask runde») is what a newcomer follows: every example file it
    tells them to upload is in instance/eksempler/, and every example there is in the tour."""
    app, _ = made
    readme = (ROOT / "README.md").read_text("utf-8")
    tour = re.split(r"\n#{2,3} ", readme.split("### En rask runde", 1)[1], maxsplit=1)[0]
    named = set(re.findall(r"`([\w.-]+\.(?:pdf|docx|xlsx|json))`", tour))
    written = {p.name for p in _folder(app).iterdir()} - {"README.txt"}
    assert named and named == written


def test_demo_twice_does_nothing_the_second_time(made: tuple[Flask, list[str]]) -> None:
    app, _ = made
    folder = _folder(app)

    def snapshot() -> tuple[object, ...]:
        uow = st(app).uow()
        with uow:
            cases = sorted((c.id, c.state, c.version) for c in uow.cases.list())
            users = sorted(u.username for u in uow.users.list())
        files = {p.name: p.read_bytes() for p in folder.iterdir()}
        meetings = committee.list_meetings(COORDINATOR, st(app).uow(), _today(app))
        return cases, users, files, meetings

    before = snapshot()
    printed: list[str] = []
    assert demo.create(st(app), out=printed.append) is False
    assert printed == []
    assert snapshot() == before
