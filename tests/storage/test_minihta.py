"""WORKFLOW.md section 6 through the services on a real database (SQLite, and PostgreSQL when
configured) and on the fake unit of work (tests/fakes.py), which must answer alike: attachments,
peer reviewer assignment, conflicts of interest, publication, search."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from processor.domain import Actor
from processor.errors import DomainError
from services import minihta
from services.cases import transition
from services.upload import upload
from services.users import add_user
from storage import db
from storage.blobs import FileBlobStore
from storage.repository_minihta import index_body
from storage.uow import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from tests.fillers import fill_json, sample_values
from tests.storage.helpers import HF_OUS, HF_STO, KOORDINATOR, NOW, TODAY

REVIEWERS = {
    # username: (hf, fagomrader)
    "ff-hbe": ("HBE", ["Gastrokirurgi"]),
    "ff-unn": ("UNN", ["gastrokirurgi", "Onkologi"]),
    "ff-ous": ("OUS", ["Gastrokirurgi"]),
    "ff-ahus": ("AHUS", ["Gastrokirurgi"]),
    "ff-sto": ("STO", ["Kardiologi"]),
}


def reviewer(name: str) -> Actor:
    return Actor(name, frozenset({"fagfelle"}), REVIEWERS[name][0])


@pytest.fixture
def uow(service_uow: AbstractUnitOfWork) -> AbstractUnitOfWork:
    for name, (hf, fag) in REVIEWERS.items():
        add_user(service_uow, name, roles=["fagfelle"], hf=hf, fagomrader=fag)
    return service_uow


def form(form_id: str, **overrides: object) -> bytes:
    return fill_json(form_id, sample_values(form_id, **overrides))


def new_case(uow: AbstractUnitOfWork, user: Actor = HF_OUS, **overrides: object) -> str:
    result = upload(user, "m.json", form("minihta", **overrides), uow, TODAY)
    assert result.accepted and result.case_id
    return result.case_id


def state(uow: AbstractUnitOfWork, case_id: str) -> str:
    with uow:
        case = uow.cases.get(case_id)
        assert case is not None
        return case.state


def code_of(call: object) -> str:
    with pytest.raises(DomainError) as e:
        call()  # type: ignore[operator]
    return e.value.code


# ---- economics attachment ---------------------------------------------------------------------


def test_economics_attaches_by_query_or_by_its_case_id(uow: AbstractUnitOfWork) -> None:
    case_id = new_case(uow)
    data = form("minihta-okonomi", **{"sak.id": None})
    result = upload(HF_OUS, "o.json", data, uow, TODAY, case_id=case_id)
    assert (result.case_id, result.version, result.state) == (case_id, 1, "mottatt")
    named = form("minihta-okonomi", **{"sak.id": case_id})
    assert upload(HF_OUS, "o.json", named, uow, TODAY).version == 2
    with uow:
        assert [a.number for a in minihta.attachments(uow, case_id, "minihta-okonomi")] == [1, 2]


def test_the_attachment_receipt_names_the_form_and_the_files_hash(
    uow: SqlAlchemyUnitOfWork,
) -> None:
    case_id = new_case(uow)
    data = form("minihta-okonomi", **{"sak.id": case_id})
    result = upload(HF_OUS, "okonomi.json", data, uow, TODAY)
    assert result.accepted and result.form_type == "minihta-okonomi"
    assert result.file_sha256 == hashlib.sha256(data).hexdigest()
    assert result.case_id == case_id and result.errors == []


@pytest.mark.parametrize(
    "who, sak, query",
    [
        (HF_STO, "MMV-2026-001", None),  # another HF's case
        (HF_OUS, "MMV-2026-099", None),  # no such case
        (HF_OUS, None, None),  # no case named at all
        (HF_OUS, "MMV-2026-001", "MMV-2026-002"),  # the file and the query disagree
    ],
)
def test_economics_for_a_case_that_is_not_yours_is_a_case_mismatch(
    uow: AbstractUnitOfWork, who: Actor, sak: str | None, query: str | None
) -> None:
    new_case(uow)
    new_case(uow)
    data = form("minihta-okonomi", **{"sak.id": sak})
    call = lambda: upload(who, "o.json", data, uow, TODAY, case_id=query)  # noqa: E731
    assert code_of(call) == "CASE_MISMATCH"


def test_returned_minihta_is_resubmitted_as_a_new_version(uow: AbstractUnitOfWork) -> None:
    case_id = new_case(uow)
    again = form("minihta")
    assert code_of(lambda: upload(HF_OUS, "m.json", again, uow, TODAY, case_id=case_id)) == (
        "CASE_MISMATCH"
    )
    transition(KOORDINATOR, case_id, "mottatt", "returnert", "Mangler søk", uow)
    result = upload(HF_OUS, "m.json", again, uow, TODAY, case_id=case_id)
    assert (result.case_id, result.version, result.state) == (case_id, 2, "mottatt")


# ---- assignment -------------------------------------------------------------------------------


def test_rules_pick_specialty_other_region_and_never_the_proposing_hf(
    uow: AbstractUnitOfWork,
) -> None:
    case_id = new_case(uow)
    done = minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    # ff-ous: same HF; ff-ahus: same region; ff-sto: other specialty; ff-hbe before ff-unn by name
    assert (done.reviewer, done.override, done.state) == ("ff-hbe", False, "til_fagfelle")
    assert state(uow, case_id) == "til_fagfelle"


def test_fewest_open_reviews_wins(uow: AbstractUnitOfWork) -> None:
    first = new_case(uow)
    assert minihta.assign_reviewer(KOORDINATOR, first, None, None, uow).reviewer == "ff-hbe"
    second = new_case(uow)
    assert minihta.assign_reviewer(KOORDINATOR, second, None, None, uow).reviewer == "ff-unn"
    third = new_case(uow)
    # ff-hbe has one open review, as has ff-unn: a tie is not an override
    done = minihta.assign_reviewer(KOORDINATOR, third, "ff-unn", None, uow)
    assert done.override is False


def test_override_needs_a_reason(uow: AbstractUnitOfWork) -> None:
    case_id = new_case(uow)
    call = lambda: minihta.assign_reviewer(KOORDINATOR, case_id, "ff-ahus", None, uow)  # noqa: E731
    assert code_of(call) == "REASON_REQUIRED"
    assert code_of(lambda: minihta.assign_reviewer(KOORDINATOR, case_id, "ff-sto", "", uow)) == (
        "REASON_REQUIRED"
    )
    done = minihta.assign_reviewer(KOORDINATOR, case_id, "ff-ahus", "Eneste med erfaring", uow)
    assert done.override is True
    with uow:
        assert minihta.assignments_of(uow, case_id)[0]["begrunnelse"] == "Eneste med erfaring"


def test_same_hf_is_never_allowed_even_with_a_reason(uow: AbstractUnitOfWork) -> None:
    case_id = new_case(uow)
    call = lambda: minihta.assign_reviewer(KOORDINATOR, case_id, "ff-ous", "Trengs", uow)  # noqa: E731
    assert code_of(call) == "OVERRIDE_NOT_ALLOWED"
    assert state(uow, case_id) == "mottatt"


def test_only_the_coordinator_assigns(uow: AbstractUnitOfWork) -> None:
    case_id = new_case(uow)
    assert code_of(lambda: minihta.assign_reviewer(HF_OUS, case_id, None, None, uow)) == (
        "FORBIDDEN"
    )


# ---- conflicts and the packet -----------------------------------------------------------------


def test_red_conflict_ends_the_assignment_and_blocks_reassignment(
    uow: AbstractUnitOfWork,
) -> None:
    case_id = new_case(uow)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    minihta.declare_conflict(reviewer("ff-hbe"), case_id, "rod", "Eier aksjer", uow)
    assert code_of(lambda: minihta.peer_packet(reviewer("ff-hbe"), case_id, uow, TODAY)) == (
        "NOT_FOUND"
    )
    call = lambda: minihta.assign_reviewer(KOORDINATOR, case_id, "ff-hbe", "Likevel", uow)  # noqa: E731
    assert code_of(call) == "OVERRIDE_NOT_ALLOWED"
    assert minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow).reviewer == "ff-unn"


def test_yellow_conflict_needs_approval_before_the_packet(uow: AbstractUnitOfWork) -> None:
    case_id = new_case(uow)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    ff = reviewer("ff-hbe")
    assert code_of(lambda: minihta.peer_packet(ff, case_id, uow, TODAY)) == "FORBIDDEN"
    assert code_of(lambda: minihta.declare_conflict(ff, case_id, "gul", None, uow)) == "REQUIRED"
    minihta.declare_conflict(ff, case_id, "gul", "Foredrag for produsenten i 2024", uow)
    assert code_of(lambda: minihta.peer_packet(ff, case_id, uow, TODAY)) == "FORBIDDEN"
    assert code_of(
        lambda: minihta.declare_conflict(reviewer("ff-unn"), case_id, "gronn", None, uow)
    )
    minihta.approve_conflict(KOORDINATOR, case_id, uow)
    assert minihta.peer_packet(ff, case_id, uow, TODAY)[:2] == b"PK"
    with uow:
        actions = [e.action for e in uow.audit.list(object=f"case:{case_id}")]
    assert actions[-3:] == ["case.conflict", "case.conflict_approve", "packet.peer_download"]


def test_packet_holds_the_minihta_economics_and_prefilled_skjema_2(
    uow: AbstractUnitOfWork,
) -> None:
    case_id = new_case(uow)
    okonomi = form("minihta-okonomi", **{"sak.id": case_id})
    assert upload(HF_OUS, "o.json", okonomi, uow, TODAY).accepted
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    minihta.declare_conflict(reviewer("ff-hbe"), case_id, "gronn", None, uow)
    packet = minihta.peer_packet(reviewer("ff-hbe"), case_id, uow, TODAY)
    with zipfile.ZipFile(io.BytesIO(packet)) as z:
        names = set(z.namelist())
        assert {f"minihta-{case_id}.pdf", f"okonomi-{case_id}.pdf"} <= names
        from processor.ingest import ingest

        prefilled = ingest(
            f"skjema2-{case_id}.docx", z.read(f"skjema2-{case_id}.docx"), today=TODAY
        )
    assert prefilled.form_type == "minihta-fagfelle"
    assert prefilled.data is not None and prefilled.data["sak"]["id"] == case_id
    assert "sak.id" not in {f.field for f in prefilled.errors}


# ---- skjema 2 and 3, publication, search ------------------------------------------------------


def _reviewed(uow: AbstractUnitOfWork, **overrides: object) -> str:
    case_id = new_case(uow, **overrides)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    ff = reviewer(minihta.assignments_of(uow, case_id)[0]["fagfelle"])
    minihta.declare_conflict(ff, case_id, "gronn", None, uow)
    skjema2 = form(
        "minihta-fagfelle", **{"sak.id": case_id, "fagfelle.helseforetak": ff.hf or "HBE"}
    )
    assert upload(ff, "s2.json", skjema2, uow, TODAY).state == "fagfellevurdert"
    return case_id


def test_skjema_2_from_someone_not_assigned_or_from_the_proposing_hf_is_refused(
    uow: AbstractUnitOfWork,
) -> None:
    case_id = new_case(uow)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    minihta.declare_conflict(reviewer("ff-hbe"), case_id, "gronn", None, uow)
    ok = form("minihta-fagfelle", **{"sak.id": case_id})
    assert code_of(lambda: upload(reviewer("ff-unn"), "s.json", ok, uow, TODAY)) == (
        "CASE_MISMATCH"
    )
    own_hf = form("minihta-fagfelle", **{"sak.id": case_id, "fagfelle.helseforetak": "OUS"})
    assert code_of(lambda: upload(reviewer("ff-hbe"), "s.json", own_hf, uow, TODAY)) == (
        "CASE_MISMATCH"
    )
    assert state(uow, case_id) == "til_fagfelle"


def test_skjema_3_needs_a_reviewed_case_of_the_uploaders_hf(uow: AbstractUnitOfWork) -> None:
    case_id = new_case(uow)
    skjema3 = form("minihta-beslutning", **{"sak.id": case_id})
    assert code_of(lambda: upload(HF_OUS, "s3.json", skjema3, uow, TODAY)) == ("CASE_MISMATCH")
    case_id = _reviewed(uow)
    skjema3 = form("minihta-beslutning", **{"sak.id": case_id})
    assert code_of(lambda: upload(HF_STO, "s3.json", skjema3, uow, TODAY)) == ("CASE_MISMATCH")
    assert upload(HF_OUS, "s3.json", skjema3, uow, TODAY).state == "besluttet"


def _published(uow: AbstractUnitOfWork, utfall: str = "innfort", **overrides: object) -> str:
    case_id = _reviewed(uow, **overrides)
    values: dict[str, object] = {"sak.id": case_id, "beslutning.utfall": utfall}
    if utfall != "innfort_med_vilkar":
        values["beslutning.vilkar"] = None
    upload(HF_OUS, "s3.json", form("minihta-beslutning", **values), uow, TODAY)
    transition(KOORDINATOR, case_id, "besluttet", "publisert", None, uow)
    return case_id


def test_published_minihta_is_found_by_norwegian_words_and_filters(
    uow: AbstractUnitOfWork,
) -> None:
    robot = _published(uow, **{"generelt.tittel": "Robotkirurgi ved endetarmskreft i Blåbærdalen"})
    hjerte = _published(
        uow,
        "ikke_innfort",
        **{
            "generelt.tittel": "Kateterbasert behandling av hjerteklaff for eldre på sykehjem",
            "sammendrag": "Vurdering for sjøsyke øyboere på Træna.",
        },
    )
    unpublished = new_case(uow, **{"generelt.tittel": "Ikke publisert kirurgi"})

    def ids(**kw: object) -> list[str]:
        return [i["sak"] for i in minihta.search_published(uow, **kw)]  # type: ignore[arg-type]

    assert set(ids()) == {robot, hjerte}
    assert ids(q="blåbærdalen") == [robot]
    assert ids(q="BLÅBÆR") == [robot]  # case folded, prefix matched
    assert ids(q="blabaerdalen") == [] and ids(q="blabardalen") == []  # å, æ stay letters
    assert ids(q="sykehjem") == [hjerte]
    assert ids(q="øyboere") == [hjerte]
    assert ids(q="sjøsyke træna") == [hjerte]
    assert ids(q="ØYBOERE") == [hjerte]
    assert ids(q="oyboere") == []
    assert ids(q="sykehjem", konklusjon="innfort") == []
    assert ids(konklusjon="ikke_innfort") == [hjerte]
    assert set(ids(hf="ous", year=2026, fagomrade="gastrokirurgi")) == {robot, hjerte}
    assert ids(year=2025) == [] and ids(hf="STO") == []
    assert unpublished not in ids(q="kirurgi")
    item = minihta.search_published(uow, q="blåbærdalen")[0]
    assert set(item) >= {"sak", "tittel", "helseforetak", "ar", "fagomrade", "konklusjon"}
    assert (item["helseforetak"], item["ar"], item["konklusjon"]) == ("OUS", 2026, "innfort")
    with pytest.raises(DomainError):
        minihta.published_case(uow, unpublished)


def test_search_stems_norwegian_on_every_backend(uow: AbstractUnitOfWork) -> None:
    # Snowball on both backends (PostgreSQL's `norwegian`, `snowballstemmer` on SQLite and in
    # the fake): an inflected form finds the base form, and the other way round
    inflected = _published(uow, **{"generelt.tittel": "Tannkirurgien på Træna"})
    base = _published(uow, **{"generelt.tittel": "Tannkirurgi for behandlingene av barn"})

    def ids(q: str) -> set[str]:
        return {i["sak"] for i in minihta.search_published(uow, q=q)}

    assert ids("tannkirurgien") == {inflected, base}  # the words as written find only one
    assert ids("tannkirurgi") == {inflected, base}
    assert ids("behandling") == {base} and ids("behandlingen") == {base}
    assert ids("tannkirurgien træna") == {inflected}  # every word must match
    assert ids("tannkirurgisk") == set()  # a stem that begins no stem of the text


def test_migration_0013_reindexes_sqlite_publications_stemmed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / db.DB_FILE}"
    db.upgrade(url)
    engine = db.make_engine(url)
    uow = SqlAlchemyUnitOfWork(
        db.session_factory(engine), FileBlobStore(tmp_path / "blobs"), clock=lambda: NOW
    )
    for name, (hf, fag) in REVIEWERS.items():
        add_user(uow, name, roles=["fagfelle"], hf=hf, fagomrader=fag)
    robot = _published(uow, **{"generelt.tittel": "Robotassistert kirurgi ved endetarmskreft"})
    engine.dispose()

    def found(q: str) -> list[str]:
        return [i["sak"] for i in minihta.search_published(uow, q=q)]

    def body() -> str:
        with engine.connect() as conn:
            return conn.execute(text("SELECT body FROM minihta_publications_fts")).scalar_one()

    assert found("kirurgien") == [robot]
    # an instance indexed by the version before: the words as written, found by prefix only
    command.downgrade(db.alembic_config(url), "0012_reviewer_name_consent")
    assert "Robotassistert" in body()
    engine.dispose()
    command.upgrade(db.alembic_config(url), "0013_stemmed_search")
    with engine.connect() as conn:
        written = conn.execute(text("SELECT search_text FROM minihta_publications")).scalar_one()
    assert body() == index_body(written) and "robotassister" in body().split()
    engine.dispose()
    assert found("kirurgien") == [robot]
    engine.dispose()


# ---- a declaration is raised, never lowered by the reviewer (issue 11, finding 4) ------------


def _audit_actions(uow: AbstractUnitOfWork, case_id: str) -> list[str]:
    with uow:
        return [e.action for e in uow.audit.list(object=f"case:{case_id}")]


def _level(uow: AbstractUnitOfWork, case_id: str) -> tuple[str | None, bool]:
    [row] = [a for a in minihta.assignments_of(uow, case_id) if a["aktiv"]]
    return row["habilitet"], row["godkjent_av"] is not None


def test_a_reviewer_cannot_lower_yellow_to_green_and_the_packet_stays_refused(
    uow: AbstractUnitOfWork,
) -> None:
    case_id = new_case(uow)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    ff = reviewer("ff-hbe")
    minihta.declare_conflict(ff, case_id, "gul", "Foredrag for produsenten i 2024", uow)
    before = _audit_actions(uow, case_id)
    with pytest.raises(DomainError) as e:
        minihta.declare_conflict(ff, case_id, "gronn", None, uow)
    assert e.value.code == "FORBIDDEN" and e.value.http_status == 403
    assert "kan ikke senke" in e.value.message and "koordinatoren" in e.value.message
    assert _level(uow, case_id) == ("gul", False)
    assert _audit_actions(uow, case_id) == before  # nothing was recorded
    assert code_of(lambda: minihta.peer_packet(ff, case_id, uow, TODAY)) == "FORBIDDEN"


def test_a_reviewer_can_raise_a_declaration(uow: AbstractUnitOfWork) -> None:
    case_id = new_case(uow)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    ff = reviewer("ff-hbe")
    minihta.declare_conflict(ff, case_id, "gronn", None, uow)
    minihta.declare_conflict(ff, case_id, "gronn", None, uow)  # repeating is no lowering
    minihta.declare_conflict(ff, case_id, "gul", "Rådgiver for produsenten", uow)
    assert _level(uow, case_id) == ("gul", False)
    assert code_of(lambda: minihta.peer_packet(ff, case_id, uow, TODAY)) == "FORBIDDEN"
    minihta.declare_conflict(ff, case_id, "rod", "Ansatt hos produsenten", uow)
    assert minihta.assignments_of(uow, case_id)[0]["aktiv"] is False


def test_an_approved_yellow_declaration_is_not_lowered_by_the_reviewer_either(
    uow: AbstractUnitOfWork,
) -> None:
    case_id = new_case(uow)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    ff = reviewer("ff-hbe")
    minihta.declare_conflict(ff, case_id, "gul", "Foredrag for produsenten i 2024", uow)
    minihta.approve_conflict(KOORDINATOR, case_id, uow)
    assert code_of(lambda: minihta.declare_conflict(ff, case_id, "gronn", None, uow)) == (
        "FORBIDDEN"
    )
    assert _level(uow, case_id) == ("gul", True)


def test_the_coordinator_lowers_a_declaration_with_a_reason(uow: AbstractUnitOfWork) -> None:
    case_id = new_case(uow)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    ff = reviewer("ff-hbe")
    minihta.declare_conflict(ff, case_id, "gul", "Foredrag for produsenten i 2024", uow)
    lower = minihta.lower_conflict
    assert code_of(lambda: lower(ff, case_id, "gronn", "Selv", uow)) == "FORBIDDEN"
    assert code_of(lambda: lower(KOORDINATOR, case_id, "gronn", " ", uow)) == "REASON_REQUIRED"
    assert code_of(lambda: lower(KOORDINATOR, case_id, "gul", "Likt", uow)) == "INVALID_VALUE"
    assert code_of(lambda: lower(KOORDINATOR, case_id, "rod", "Opp", uow)) == "INVALID_VALUE"
    assert _level(uow, case_id) == ("gul", False)
    done = lower(KOORDINATOR, case_id, "gronn", "Foredraget var en åpen fagdag.", uow)
    assert (done.reviewer, done.conflict_level) == ("ff-hbe", "gronn")
    assert minihta.peer_packet(ff, case_id, uow, TODAY)[:2] == b"PK"
    assert _audit_actions(uow, case_id)[-2:] == ["case.conflict_lower", "packet.peer_download"]
    # the reviewer may raise it again afterwards
    minihta.declare_conflict(ff, case_id, "gul", "Nytt oppdrag for produsenten", uow)
    assert _level(uow, case_id) == ("gul", False)


def test_nothing_to_lower_without_a_declaration(uow: AbstractUnitOfWork) -> None:
    case_id = new_case(uow)
    minihta.assign_reviewer(KOORDINATOR, case_id, None, None, uow)
    call = lambda: minihta.lower_conflict(KOORDINATOR, case_id, "gronn", "Grunn", uow)  # noqa: E731
    assert code_of(call) == "INVALID_TRANSITION"
