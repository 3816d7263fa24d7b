"""Service rules (WORKFLOW.md sections 1-2 and 6), run against the in-memory unit of work."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import pytest

from processor.domain import Actor
from processor.errors import DomainError
from services import minihta as minihta_services
from services.cases import FieldChange, diff, price_check, set_urgent, transition
from services.upload import upload
from services.users import (
    TOKEN_USE_RESOLUTION,
    add_user,
    authenticate_password,
    authenticate_token,
    create_token,
)
from storage.blobs import MemoryBlobStore
from storage.models import Case
from storage.models_minihta import MinihtaAttachment
from tests.fakes import FakeCaseRepository, FakeUnitOfWork
from tests.fillers import fill_json, sample_values
from tests.storage.helpers import (
    ADMIN,
    HF_OUS,
    HF_OUS_2,
    HF_STO,
    KOORDINATOR,
    NOW,
    PRISKONTROLL,
    REFERENCE,
    TODAY,
    del2,
    del2_for,
    minihta,
    synthetic_identity_number,
)
from web.views import upload_body


def _upload(uow: FakeUnitOfWork, data: bytes | None = None, user: Actor = HF_OUS, **kw):
    return upload(user, "soknad.json", del2() if data is None else data, uow, TODAY, **kw)


def _case(uow: FakeUnitOfWork, case_id: str = REFERENCE) -> Case:
    case = uow.cases.get(case_id)
    assert case is not None
    return case


def _codes(excinfo: pytest.ExceptionInfo[DomainError]) -> str:
    return excinfo.value.code


# ---- upload -------------------------------------------------------------------------------------


def test_accepted_del2_opens_a_case_in_mottatt(fake_uow: FakeUnitOfWork) -> None:
    result = _upload(fake_uow)
    assert upload_body(result) == {
        "sak": REFERENCE,
        "versjon": 1,
        "status": "accepted",
        "fil_sha256": hashlib.sha256(del2()).hexdigest(),
        "warnings": [],
    }
    case = _case(fake_uow)
    assert (case.form_type, case.hf, case.state, case.version) == (
        "tilgang-del2",
        "OUS",
        "mottatt",
        1,
    )
    assert fake_uow.committed
    [version] = case.versions
    assert version.number == 1
    assert version.data["soknad"]["referansenummer"] == REFERENCE
    assert version.file_suffix == ".json"
    # kept: the canonical JSON and the file's SHA-256; the file itself nowhere (FORMS.md 6.3)
    assert version.file_sha256 == hashlib.sha256(del2()).hexdigest()
    assert fake_uow.blobs.blobs == {} and fake_uow.cases.blobs == {}
    assert [(t.from_state, t.to_state) for t in case.transitions] == [(None, "mottatt")]
    [event] = fake_uow.audit.list()
    assert (event.action, event.object) == ("case.create", f"case:{REFERENCE}")
    assert event.details["file_sha256"] == version.file_sha256


def test_a_file_whose_hash_looks_like_an_identity_number_is_accepted(
    fake_uow: FakeUnitOfWork,
) -> None:
    # about one upload in 2,000: the SHA-256 in the audit event holds eleven digits that pass
    # the identity checks (this was a 500 under load)
    import re

    from processor.identity import is_identity_number

    def passes(digest: str) -> bool:  # eleven digits on their own that pass the checks
        return any(is_identity_number(m) for m in re.findall(r"(?<!\d)\d{11}(?!\d)", digest))

    data = next(
        d for k in range(100_000) if passes(hashlib.sha256(d := del2() + b" " * k).hexdigest())
    )
    result = _upload(fake_uow, data)
    assert result.accepted
    [event] = fake_uow.audit.list()
    assert event.details["file_sha256"] == hashlib.sha256(data).hexdigest()


def test_reference_is_stored_in_upper_case(fake_uow: FakeUnitOfWork) -> None:
    result = _upload(fake_uow, del2(**{"soknad.referansenummer": REFERENCE.lower()}))
    assert result.case_id == REFERENCE


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"soknad.samtykke_bekreftet": False}, "incomplete"),
        ({"soknad.soker_navn": None}, "incomplete"),
        ({"skjema.type": "tilgang-del1"}, "rejected"),
    ],
)
def test_incomplete_or_rejected_upload_writes_nothing(
    fake_uow: FakeUnitOfWork, overrides: dict, status: str
) -> None:
    result = _upload(fake_uow, del2(**overrides))
    assert result.status == status
    assert result.errors and result.case_id is None
    assert "errors" in upload_body(result)
    assert fake_uow.cases.cases == {}
    assert fake_uow.cases.blobs == {}
    assert fake_uow.blobs.blobs == {}
    assert fake_uow.audit.events == []
    assert fake_uow.commits == 0


def test_identity_number_in_a_field_is_rejected_and_nothing_is_kept(
    fake_uow: FakeUnitOfWork,
) -> None:
    number = synthetic_identity_number()
    data = del2(**{"pasient.sykehistorie": f"Pasient {number} har hatt progresjon."})
    result = _upload(fake_uow, data)
    assert result.status == "rejected"
    assert "IDENTITY_FOUND" in {f.code for f in result.errors}
    assert number not in repr(upload_body(result)) and number not in repr(result)
    assert fake_uow.blobs.blobs == {} and fake_uow.audit.events == []


def test_form_for_another_hf_is_refused_before_any_case_lookup(
    fake_uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []
    monkeypatch.setattr(FakeCaseRepository, "get", lambda self, cid: looked_up.append(cid))
    with pytest.raises(DomainError) as e:
        _upload(fake_uow, del2_for("STO"), user=HF_OUS)
    assert e.value.code == "UPLOADER_HF_MISMATCH" and e.value.http_status == 403
    assert looked_up == []
    assert fake_uow.blobs.blobs == {} and fake_uow.audit.events == []


def test_minihta_for_another_hf_is_refused(fake_uow: FakeUnitOfWork) -> None:
    with pytest.raises(DomainError) as e:
        upload(HF_STO, "mhta.json", minihta(), fake_uow, TODAY)
    assert e.value.code == "UPLOADER_HF_MISMATCH"
    assert fake_uow.cases.sequences == {}


def test_only_hf_users_upload(fake_uow: FakeUnitOfWork) -> None:
    fagfelle = Actor("fagfelle", frozenset({"fagfelle"}), "OUS")
    for user in (KOORDINATOR, ADMIN, fagfelle, Actor("x", frozenset({"hf"}), None)):
        with pytest.raises(DomainError) as e:
            _upload(fake_uow, user=user)
        assert e.value.code in ("FORBIDDEN", "UPLOADER_HF_MISMATCH")
    assert fake_uow.cases.cases == {}


@pytest.mark.parametrize(
    "state", ["mottatt", "priskontroll", "klar", "satt_opp", "avgjort", "trukket"]
)
def test_reference_of_a_case_not_returned_is_in_use(fake_uow: FakeUnitOfWork, state: str) -> None:
    _upload(fake_uow)
    _case(fake_uow).state = state
    with pytest.raises(DomainError) as e:
        _upload(fake_uow, user=HF_OUS_2)
    assert e.value.code == "REFERENCE_IN_USE" and e.value.http_status == 409
    assert len(_case(fake_uow).versions) == 1
    assert len(fake_uow.audit.events) == 1


def test_upload_to_a_returned_case_adds_the_next_version(fake_uow: FakeUnitOfWork) -> None:
    _upload(fake_uow)
    transition(KOORDINATOR, REFERENCE, "mottatt", "returnert", "Mangler CT-svar", fake_uow)
    changed = del2(**{"behandling.varighet": "Inntil 12 måneder"})
    result = _upload(fake_uow, changed, user=HF_OUS_2)
    assert (result.case_id, result.version, result.state) == (REFERENCE, 2, "mottatt")
    case = _case(fake_uow)
    assert case.state == "mottatt"
    assert [v.number for v in case.versions] == [1, 2]
    assert case.versions[1].uploaded_by == HF_OUS_2.username
    assert [(t.from_state, t.to_state) for t in case.transitions] == [
        (None, "mottatt"),
        ("mottatt", "returnert"),
        ("returnert", "mottatt"),
    ]
    assert [e.action for e in fake_uow.audit.events] == [
        "case.create",
        "case.transition",
        "case.resubmit",
    ]
    assert diff(case, 1, 2) == [
        FieldChange("behandling.varighet", "Inntil 24 måneder", "Inntil 12 måneder")
    ]


def test_minihta_gets_a_running_number_per_year(fake_uow: FakeUnitOfWork) -> None:
    ids = [upload(HF_OUS, "m.json", minihta(), fake_uow, TODAY).case_id for _ in range(3)]
    assert ids == ["MMV-2026-001", "MMV-2026-002", "MMV-2026-003"]
    # the same bytes three times: the same hash on each version, no blob at all
    shas = {_case(fake_uow, i).versions[0].file_sha256 for i in ids}
    assert shas == {hashlib.sha256(minihta()).hexdigest()} and fake_uow.blobs.blobs == {}
    next_year = upload(HF_OUS, "m.json", minihta(), fake_uow, date(2027, 1, 4))
    assert next_year.case_id == "MMV-2027-001"
    case = _case(fake_uow, "MMV-2026-002")
    assert (case.form_type, case.state, case.hf) == ("minihta", "mottatt", "OUS")


def test_a_later_minihta_form_naming_an_unknown_case_is_a_case_mismatch(
    fake_uow: FakeUnitOfWork,
) -> None:
    from tests.fillers import fill_json, sample_values

    data = fill_json("minihta-beslutning", sample_values("minihta-beslutning"))
    with pytest.raises(DomainError) as e:
        upload(HF_OUS, "skjema3.json", data, fake_uow, TODAY)
    assert e.value.code == "CASE_MISMATCH" and e.value.http_status == 422
    assert fake_uow.cases.cases == {}


def test_suffix_is_all_that_is_kept_of_the_file_name(fake_uow: FakeUnitOfWork) -> None:
    upload(HF_OUS, r"C:\Brukere\Kari Nordmann\søknad til NM.JSON", del2(), fake_uow, TODAY)
    version = _case(fake_uow).versions[0]
    assert version.file_suffix == ".json"
    assert "Nordmann" not in repr(fake_uow.audit.events[0].details)


# ---- transitions --------------------------------------------------------------------------------


@pytest.fixture
def received(fake_uow: FakeUnitOfWork) -> FakeUnitOfWork:
    _upload(fake_uow)
    return fake_uow


def test_return_needs_a_reason(received: FakeUnitOfWork) -> None:
    for reason in (None, "", "   "):
        with pytest.raises(DomainError) as e:
            transition(KOORDINATOR, REFERENCE, "mottatt", "returnert", reason, received)
        assert e.value.code == "REASON_REQUIRED"
    assert _case(received).state == "mottatt"


def test_return_keeps_the_reason_with_the_case_and_only_its_hash_in_the_audit_log(
    received: FakeUnitOfWork,
) -> None:
    reason = "Sykehistorien er for kort."
    case = transition(KOORDINATOR, REFERENCE, "mottatt", "returnert", reason, received)
    assert case.state == "returnert" and case.version == 2
    assert case.transitions[-1].reason == reason
    event = received.audit.events[-1]
    assert event.details["reason_sha256"] == hashlib.sha256(reason.encode()).hexdigest()
    assert reason not in repr(event.details)
    assert received.audit.verify() == (True, None)


def test_reason_with_an_identity_number_is_refused(received: FakeUnitOfWork) -> None:
    reason = f"Gjelder {synthetic_identity_number()}"
    with pytest.raises(DomainError) as e:
        transition(KOORDINATOR, REFERENCE, "mottatt", "returnert", reason, received)
    assert e.value.code == "IDENTITY_FOUND"
    assert _case(received).state == "mottatt"


def test_transition_from_a_state_the_case_has_left_is_stale(received: FakeUnitOfWork) -> None:
    transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, received)
    with pytest.raises(DomainError) as e:
        transition(KOORDINATOR, REFERENCE, "mottatt", "returnert", "Mangler", received)
    assert e.value.code == "STALE_STATE" and e.value.http_status == 409
    assert _case(received).state == "priskontroll"


def test_only_the_coordinator_sends_to_price_check(received: FakeUnitOfWork) -> None:
    for user in (HF_OUS, PRISKONTROLL):
        with pytest.raises(DomainError) as e:
            transition(user, REFERENCE, "mottatt", "priskontroll", None, received)
        assert e.value.code in ("FORBIDDEN", "NOT_FOUND")
    case = transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, received)
    assert case.state == "priskontroll"


def test_another_hf_does_not_learn_that_the_case_exists(received: FakeUnitOfWork) -> None:
    with pytest.raises(DomainError) as other:
        transition(HF_STO, REFERENCE, "mottatt", "trukket", None, received)
    with pytest.raises(DomainError) as missing:
        transition(HF_STO, "2026-09-14-STO-FINNES", "mottatt", "trukket", None, received)
    assert other.value.code == missing.value.code == "NOT_FOUND"
    assert other.value.message == missing.value.message


def test_price_check_moves_the_case_to_klar(received: FakeUnitOfWork) -> None:
    transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, received)
    with pytest.raises(DomainError) as e:
        transition(KOORDINATOR, REFERENCE, "priskontroll", "klar", None, received)
    assert e.value.code == "INVALID_TRANSITION" and "priskontrollen" in e.value.message
    with pytest.raises(DomainError) as e:
        price_check(PRISKONTROLL, REFERENCE, 61250, "", received)
    assert e.value.code == "REASON_REQUIRED"
    case = price_check(PRISKONTROLL, REFERENCE, 61250, "Avtalepris fra 1.11.", received)
    assert case.state == "klar"
    [check] = case.price_checks
    assert (check.stated_per_month, check.confirmed_per_month, check.corrected) == (
        62500,
        61250,
        True,
    )
    assert received.audit.events[-1].action == "case.price_check"
    with pytest.raises(DomainError) as e:
        price_check(PRISKONTROLL, REFERENCE, 61250, "Igjen", received)
    assert e.value.code == "STALE_STATE"


def test_confirmed_price_needs_no_note(received: FakeUnitOfWork) -> None:
    transition(KOORDINATOR, REFERENCE, "mottatt", "priskontroll", None, received)
    case = price_check(PRISKONTROLL, REFERENCE, 62500, None, received)
    assert case.state == "klar" and not case.price_checks[0].corrected


@pytest.mark.parametrize("state", ["mottatt", "returnert", "priskontroll", "klar", "satt_opp"])
def test_the_hf_withdraws_a_case_before_it_is_decided(received: FakeUnitOfWork, state: str) -> None:
    _case(received).state = state
    with pytest.raises(DomainError) as e:
        transition(KOORDINATOR, REFERENCE, state, "trukket", None, received)
    assert e.value.code == "FORBIDDEN"
    case = transition(HF_OUS_2, REFERENCE, state, "trukket", None, received)
    assert case.state == "trukket"


def test_a_decided_case_cannot_be_withdrawn(received: FakeUnitOfWork) -> None:
    _case(received).state = "avgjort"
    with pytest.raises(DomainError) as e:
        transition(HF_OUS, REFERENCE, "avgjort", "trukket", None, received)
    assert e.value.code == "CASE_DECIDED"  # read-only, before the state machine is asked


def test_unknown_transition_is_refused(received: FakeUnitOfWork) -> None:
    with pytest.raises(DomainError) as e:
        transition(KOORDINATOR, REFERENCE, "mottatt", "avgjort", None, received)
    assert e.value.code == "INVALID_TRANSITION"
    assert received.audit.events[-1].action == "case.create"


def test_minihta_returned_and_published_by_the_coordinator(fake_uow: FakeUnitOfWork) -> None:
    case_id = upload(HF_OUS, "m.json", minihta(), fake_uow, TODAY).case_id
    assert case_id is not None
    with pytest.raises(DomainError) as e:
        transition(KOORDINATOR, case_id, "mottatt", "priskontroll", None, fake_uow)
    assert e.value.code == "INVALID_TRANSITION"
    case = transition(KOORDINATOR, case_id, "mottatt", "returnert", "Mangler", fake_uow)
    assert case.state == "returnert"
    case.state = "besluttet"
    # no skjema 3 yet: nothing to publish
    with pytest.raises(DomainError) as e:
        transition(KOORDINATOR, case_id, "besluttet", "publisert", None, fake_uow)
    assert e.value.code == "INVALID_TRANSITION"
    assert minihta_services.search_published(fake_uow) == []
    skjema3 = sample_values("minihta-beslutning", **{"sak.id": case_id})
    fake_uow.attachments.add(
        MinihtaAttachment(
            case_id=case_id,
            form_type="minihta-beslutning",
            number=1,
            data=json.loads(fill_json("minihta-beslutning", skjema3)),
            file_sha256="0" * 64,
            file_suffix=".json",
            uploaded_by=HF_OUS.username,
            received_at=NOW,
            warnings=[],
        )
    )
    case = transition(KOORDINATOR, case_id, "besluttet", "publisert", None, fake_uow)
    assert case.state == "publisert"
    assert [p["sak"] for p in minihta_services.search_published(fake_uow)] == [case_id]


def test_urgent_needs_a_reason(received: FakeUnitOfWork) -> None:
    with pytest.raises(DomainError):
        set_urgent(KOORDINATOR, REFERENCE, True, None, received)
    case = set_urgent(KOORDINATOR, REFERENCE, True, "Rask progresjon", received)
    assert case.urgent and case.urgent_reason == "Rask progresjon"
    with pytest.raises(DomainError) as e:
        set_urgent(HF_OUS, REFERENCE, False, None, received)
    assert e.value.code == "FORBIDDEN"


# ---- diff ---------------------------------------------------------------------------------------


def test_diff_names_changed_added_and_removed_fields(received: FakeUnitOfWork) -> None:
    transition(KOORDINATOR, REFERENCE, "mottatt", "returnert", "Mangler", received)
    changed = del2(
        **{
            "pasient.diagnosekode": "C34.9",
            "litteratur.2.tittel": None,
            "litteratur.2.lenke": None,
            "kostnader.ekstra_ressurser": None,
        }
    )
    _upload(received, changed)
    changes = {c.field: (c.old, c.new) for c in diff(_case(received), 1, 2)}
    assert changes["pasient.diagnosekode"] == ("C34.1", "C34.9")
    assert changes["litteratur.2.tittel"][1] is None
    assert changes["kostnader.ekstra_ressurser"][1] is None
    assert "soknad.referansenummer" not in changes
    with pytest.raises(DomainError) as e:
        diff(_case(received), 1, 3)
    assert e.value.code == "VERSION_NOT_FOUND"


# ---- users and tokens ---------------------------------------------------------------------------


def test_users_tokens_and_passwords(fake_uow: FakeUnitOfWork) -> None:
    user = add_user(
        fake_uow, "kari", roles=["hf"], hf="ous", password="et langt passord", display_name="Kari"
    )
    assert user.hf == "OUS" and list(user.roles) == ["hf"]
    assert user.password_hash and "et langt passord" not in user.password_hash
    api = add_user(fake_uow, "arkiv", roles=["hf"], hf="OUS")
    assert api.password_hash is None
    with pytest.raises(DomainError) as e:
        add_user(fake_uow, "kari", roles=["hf"], hf="OUS")
    assert e.value.code == "USER_EXISTS"
    with pytest.raises(DomainError):
        add_user(fake_uow, "ola", roles=["sjef"])
    with pytest.raises(DomainError):
        add_user(fake_uow, "ola", roles=["hf"], hf="XYZ")

    token = create_token(fake_uow, "arkiv")
    [stored] = fake_uow.tokens.tokens.values()
    assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(vars(stored))
    assert authenticate_token(fake_uow, token) == Actor("arkiv", frozenset({"hf"}), "OUS")
    assert stored.last_used_at is not None
    assert authenticate_token(fake_uow, token + "x") is None

    assert authenticate_password(fake_uow, "kari", "et langt passord") is not None
    assert authenticate_password(fake_uow, "kari", "feil") is None
    assert authenticate_password(fake_uow, "arkiv", "") is None
    assert authenticate_password(fake_uow, "ingen", "x") is None
    # the one login that succeeded is audited (CONNECTIONS.md section 1), the refused ones not
    actions = [e.action for e in fake_uow.audit.events]
    assert actions == ["user.add", "user.add", "token.create", "innlogging"]
    assert fake_uow.audit.events[-1].details == {"method": "passord"}


def test_token_use_is_recorded_at_most_once_per_resolution():
    """`last_used_at` moves when the token is first used and again only after
    TOKEN_USE_RESOLUTION; the uses in between are read-only (no commit)."""
    now = [NOW]
    uow = FakeUnitOfWork(blobs=MemoryBlobStore(), clock=lambda: now[0])
    add_user(uow, "arkiv", roles=["hf"], hf="OUS")
    token = create_token(uow, "arkiv")
    [stored] = uow.tokens.tokens.values()
    assert stored.last_used_at is None

    before = uow.commits
    assert authenticate_token(uow, token) is not None
    assert stored.last_used_at == NOW and uow.commits == before + 1

    now[0] = NOW + TOKEN_USE_RESOLUTION - timedelta(seconds=1)
    assert authenticate_token(uow, token) is not None
    assert stored.last_used_at == NOW and uow.commits == before + 1

    now[0] = NOW + TOKEN_USE_RESOLUTION
    assert authenticate_token(uow, token) is not None
    assert stored.last_used_at == now[0] and uow.commits == before + 2
