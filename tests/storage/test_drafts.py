"""Drafts and sign-off (PORTAL.md) on the services and the repository: the same tests on the fake
unit of work (tests/fakes.py), on SQLite and on PostgreSQL (when configured)."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from processor.domain import Actor
from processor.errors import DomainError
from processor.ingest import ingest
from services import drafts
from services.cases import transition
from services.queries import case_detail
from services.users import add_user
from storage.uow import AbstractUnitOfWork
from tests.fillers import sample_values
from tests.storage.helpers import KOORDINATOR, NOW, TODAY, del2, synthetic_identity_number

LEGE = Actor("lege-ous", frozenset({"hf"}), "OUS")
LINJELEDER = Actor("linjeleder-ous", frozenset({"hf"}), "OUS")
FAGDIREKTOR = Actor("fagdirektor-ous", frozenset({"hf"}), "OUS")
PLAIN = Actor("hf-ous", frozenset({"hf"}), "OUS")
OTHER_HF = Actor("lege-sto", frozenset({"hf"}), "STO")

USERS = {
    LEGE: (["lege"], "Lege Ås"),
    LINJELEDER: (["linjeleder"], "Linn Leder"),
    FAGDIREKTOR: (["fagdirektor"], "Frida Direktør"),
    PLAIN: ([], "Hanne HF"),
    OTHER_HF: (["lege", "linjeleder", "fagdirektor"], "Sto Lege"),
}


def fillable(form_id: str = "tilgang-del2", **overrides: object) -> dict[str, Any]:
    """A complete form's values as a draft holds them: neither `skjema.*` nor `forankring.*`."""
    return {
        k: v
        for k, v in sample_values(form_id, **overrides).items()
        if not k.startswith(("skjema.", "forankring."))
    }


@pytest.fixture
def uow(service_uow: AbstractUnitOfWork) -> AbstractUnitOfWork:
    for user, (functions, name) in USERS.items():
        add_user(
            service_uow,
            user.username,
            roles=["hf"],
            hf=user.hf,
            funksjoner=functions,
            display_name=name,
        )
    return service_uow


def filled(uow: AbstractUnitOfWork, by: Actor = LEGE) -> drafts.DraftView:
    view = drafts.create(uow, by, "tilgang-del2")
    return drafts.save(uow, by, view.id, view.versjon, fillable())


def code_of(call: Any) -> str:
    with pytest.raises(DomainError) as e:
        call()
    return e.value.code


def test_create_fill_and_sign_off_to_a_case(uow: AbstractUnitOfWork) -> None:
    view = drafts.create(uow, LEGE, "tilgang-del2")
    assert (view.status, view.versjon, view.helseforetak) == ("utkast", 1, "OUS")
    assert view.verdier["soknad.helseforetak"] == "OUS"
    assert view.errors  # an empty form has findings
    view = drafts.save(uow, LEGE, view.id, 1, fillable())
    assert view.versjon == 2 and view.errors == []
    assert not any(str(f["field"]).startswith("forankring.") for f in view.errors)
    view = drafts.send(uow, LEGE, view.id, 2)
    assert (view.status, view.versjon) == ("til_linjeleder", 3)
    inbox = drafts.listing(uow, LINJELEDER, status="til_linjeleder")
    assert [d.id for d in inbox] == [view.id]
    view = drafts.approve(uow, LINJELEDER, view.id, 3, "linjeleder", True, "Faglig godt begrunnet.")
    assert (view.status, view.versjon) == ("til_fagdirektor", 4)
    view = drafts.approve(uow, FAGDIREKTOR, view.id, 4, "fagdirektor", True, "Forankret.")
    assert view.status == "sendt_inn" and view.sak == "2026-09-14-OUS-KREFT"
    assert [a.funksjon for a in view.godkjenninger] == ["lege", "linjeleder", "fagdirektor"]
    assert view.verdier["forankring.linjeleder_navn"] == "Linn Leder"
    assert view.verdier["forankring.fagdirektor_begrunnelse"] == "Forankret."
    assert view.verdier["forankring.dato"] == TODAY.isoformat()

    with uow:
        draft = uow.drafts.get(view.id)
        assert draft is not None and draft.stored is not None
        stored = bytes(draft.stored)
        case = uow.cases.get(view.sak)
        assert case is not None and case.latest is not None
        version = case.latest
        assert version.uploaded_by == FAGDIREKTOR.username
        assert version.file_sha256 == hashlib.sha256(stored).hexdigest() == view.sha256
        assert json.loads(stored) == version.data
        assert stored == json.dumps(
            version.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
        actions = [e.action for e in uow.audit.list(object=f"draft:{view.id}")]
        data = version.data
    assert actions == ["draft.create", "draft.save", "draft.send", "draft.approve", "draft.approve"]
    # the same values uploaded as a file give the same canonical data
    assert ingest("x.json", stored, today=TODAY).data == data

    detail = case_detail(KOORDINATOR, view.sak, uow, TODAY)
    assert detail["utkast"] == view.id
    assert [(g["funksjon"], g["navn"]) for g in detail["godkjenninger"]] == [
        ("lege", "Lege Ås"),
        ("linjeleder", "Linn Leder"),
        ("fagdirektor", "Frida Direktør"),
    ]
    text = "".join(
        p.extract_text()
        for p in PdfReader(io.BytesIO(drafts.receipt_pdf(uow, LEGE, view.id))).pages
    )
    assert view.sha256 in text and view.sak in text and "Frida Direktør" in text
    assert "Forankret." in text


def test_an_upload_has_no_verified_approvals(uow: AbstractUnitOfWork) -> None:
    from services.upload import upload

    result = upload(PLAIN, "soknad.json", del2(), uow, TODAY)
    assert result.accepted
    detail = case_detail(KOORDINATOR, str(result.case_id), uow, TODAY)
    assert (detail["utkast"], detail["godkjenninger"]) == (None, [])


def test_four_eyes(uow: AbstractUnitOfWork) -> None:
    # the linjeleder who edited the draft is one of its authors
    view = filled(uow)
    view = drafts.save(uow, LINJELEDER, view.id, view.versjon, {"pasient.diagnosekode": "C34.2"})
    view = drafts.send(uow, LEGE, view.id, view.versjon)
    assert (
        code_of(
            lambda: drafts.approve(uow, LINJELEDER, view.id, view.versjon, "linjeleder", True, "ok")
        )
        == "FOUR_EYES"
    )
    # a user with both approving functions cannot approve twice
    add_user(uow, "begge", roles=["hf"], hf="OUS", funksjoner=["linjeleder", "fagdirektor"])
    both = Actor("begge", frozenset({"hf"}), "OUS")
    view = drafts.approve(uow, both, view.id, view.versjon, "linjeleder", True, "ok")
    assert (
        code_of(lambda: drafts.approve(uow, both, view.id, view.versjon, "fagdirektor", True, "ok"))
        == "FOUR_EYES"
    )
    # a return is not an approval: the same user may send it back
    view = drafts.approve(uow, both, view.id, view.versjon, "fagdirektor", False, "Mangler svar.")
    assert view.status == "utkast"


def test_return_voids_the_approvals(uow: AbstractUnitOfWork) -> None:
    view = drafts.send(uow, LEGE, (v := filled(uow)).id, v.versjon)
    view = drafts.approve(uow, LINJELEDER, view.id, view.versjon, "linjeleder", True, "ok")
    view = drafts.approve(uow, FAGDIREKTOR, view.id, view.versjon, "fagdirektor", False, "Nei.")
    assert view.status == "utkast"
    assert [(a.funksjon, a.godkjent) for a in view.godkjenninger][-1] == ("fagdirektor", False)
    view = drafts.send(uow, LEGE, view.id, view.versjon)
    # the linjeleder's approval of the first round counts no more
    assert (
        code_of(
            lambda: drafts.approve(
                uow, FAGDIREKTOR, view.id, view.versjon, "fagdirektor", True, "ok"
            )
        )
        == "INVALID_TRANSITION"
    )
    with uow:
        actions = [e.action for e in uow.audit.list(object=f"draft:{view.id}")]
    assert "draft.return" in actions


def test_order_of_checks(uow: AbstractUnitOfWork) -> None:
    view = filled(uow)
    stale = view.versjon - 1
    koordinator = KOORDINATOR
    # FORBIDDEN before NOT_FOUND, NOT_FOUND before everything else
    assert code_of(lambda: drafts.send(uow, koordinator, "nope", 1)) == "FORBIDDEN"
    assert code_of(lambda: drafts.send(uow, OTHER_HF, view.id, stale)) == "NOT_FOUND"
    # FUNCTION_REQUIRED before STALE_STATE
    assert code_of(lambda: drafts.send(uow, PLAIN, view.id, stale)) == "FUNCTION_REQUIRED"
    assert code_of(lambda: drafts.send(uow, LEGE, view.id, stale)) == "STALE_STATE"
    # INVALID_TRANSITION after STALE_STATE: the action never fits this state
    args = (view.id, view.versjon, "linjeleder", True, "ok")
    assert code_of(lambda: drafts.approve(uow, LINJELEDER, *args)) == "INVALID_TRANSITION"
    view = drafts.send(uow, LEGE, view.id, view.versjon)
    assert code_of(lambda: drafts.save(uow, LEGE, view.id, view.versjon, {"x": 1})) == (
        "INVALID_TRANSITION"
    )
    # FOUR_EYES before the content: no reason, from the author
    add_user(uow, "lege-ll", roles=["hf"], hf="OUS", funksjoner=["lege", "linjeleder"])
    author = Actor("lege-ll", frozenset({"hf"}), "OUS")
    view2 = filled(uow, author)
    view2 = drafts.send(uow, author, view2.id, view2.versjon)
    assert (
        code_of(
            lambda: drafts.approve(uow, author, view2.id, view2.versjon, "linjeleder", True, "")
        )
        == "FOUR_EYES"
    )
    # then the content
    assert (
        code_of(
            lambda: drafts.approve(uow, LINJELEDER, view.id, view.versjon, "linjeleder", True, " ")
        )
        == "REASON_REQUIRED"
    )


def test_send_refuses_an_incomplete_draft_and_a_taken_reference(uow: AbstractUnitOfWork) -> None:
    view = drafts.create(uow, LEGE, "tilgang-del2")
    with pytest.raises(DomainError) as e:
        drafts.send(uow, LEGE, view.id, view.versjon)
    assert e.value.code == "DRAFT_INCOMPLETE" and e.value.context["errors"]
    assert view.versjon == drafts.get(uow, LEGE, view.id).versjon
    from services.upload import upload

    assert upload(PLAIN, "soknad.json", del2(), uow, TODAY).accepted
    view = filled(uow)
    assert code_of(lambda: drafts.send(uow, LEGE, view.id, view.versjon)) == "REFERENCE_IN_USE"
    # a returned case of the HF takes the submission as its next version
    transition(KOORDINATOR, "2026-09-14-OUS-KREFT", "mottatt", "returnert", "Mangler.", uow)
    view = drafts.send(uow, LEGE, view.id, view.versjon)
    view = drafts.approve(uow, LINJELEDER, view.id, view.versjon, "linjeleder", True, "ok")
    view = drafts.approve(uow, FAGDIREKTOR, view.id, view.versjon, "fagdirektor", True, "ok")
    with uow:
        case = uow.cases.get("2026-09-14-OUS-KREFT")
        assert case is not None and len(case.versions) == 2 and case.state == "mottatt"


def test_a_reference_taken_meanwhile_changes_nothing(uow: AbstractUnitOfWork) -> None:
    from services.upload import upload

    view = drafts.send(uow, LEGE, (v := filled(uow)).id, v.versjon)
    view = drafts.approve(uow, LINJELEDER, view.id, view.versjon, "linjeleder", True, "ok")
    assert upload(PLAIN, "soknad.json", del2(), uow, TODAY).accepted
    args = (view.id, view.versjon, "fagdirektor", True, "ok")
    assert code_of(lambda: drafts.approve(uow, FAGDIREKTOR, *args)) == "REFERENCE_IN_USE"
    after = drafts.get(uow, LEGE, view.id)
    assert (after.status, after.versjon, after.sak) == ("til_fagdirektor", view.versjon, None)


def test_identity_on_save_and_on_reasons_keeps_nothing(uow: AbstractUnitOfWork) -> None:
    number = synthetic_identity_number()
    view = filled(uow)
    with pytest.raises(DomainError) as e:
        drafts.save(
            uow,
            LEGE,
            view.id,
            view.versjon,
            {"pasient.diagnosekode": "C99", "pasient.sykehistorie": f"Pasient {number}"},
        )
    assert e.value.code == "IDENTITY_FOUND"
    assert [f["field"] for f in e.value.context["errors"]] == ["pasient.sykehistorie"]
    assert number not in str(e.value) + json.dumps(e.value.context)
    after = drafts.get(uow, LEGE, view.id)
    assert after.versjon == view.versjon and after.verdier == view.verdier  # not even C99
    view = drafts.send(uow, LEGE, view.id, view.versjon)
    with pytest.raises(DomainError) as e:
        drafts.approve(uow, LINJELEDER, view.id, view.versjon, "linjeleder", False, number)
    assert e.value.code == "IDENTITY_FOUND"
    assert e.value.context["errors"][0]["field"] == "begrunnelse"
    assert drafts.get(uow, LEGE, view.id).versjon == view.versjon
    with uow:
        events = json.dumps([e.details for e in uow.audit.list()], default=str)
    assert number not in events


def test_save_refuses_service_fields_and_another_hf(uow: AbstractUnitOfWork) -> None:
    view = drafts.create(uow, LEGE, "tilgang-del2")
    for fields in ({"skjema.type": "minihta"}, {"forankring.dato": "2026-01-01"}, {"ukjent": 1}):
        assert code_of(lambda f=fields: drafts.save(uow, LEGE, view.id, 1, f)) == "INVALID_VALUE"
    assert (
        code_of(lambda: drafts.save(uow, LEGE, view.id, 1, {"soknad.helseforetak": "STO"}))
        == "UPLOADER_HF_MISMATCH"
    )
    # invalid values are kept, with their findings
    view = drafts.save(uow, LEGE, view.id, 1, {"pasient.fodselsar": "nittenåttifem"})
    assert view.verdier["pasient.fodselsar"] == "nittenåttifem"
    assert "pasient.fodselsar" in {f["field"] for f in view.errors}
    view = drafts.save(uow, LEGE, view.id, 2, {"pasient.fodselsar": ""})
    assert "pasient.fodselsar" not in view.verdier


def test_minihta_is_submitted_on_send(uow: AbstractUnitOfWork) -> None:
    view = drafts.create(uow, PLAIN, "minihta")
    view = drafts.save(uow, PLAIN, view.id, 1, fillable("minihta"))
    assert view.errors == []
    view = drafts.send(uow, PLAIN, view.id, view.versjon)
    assert view.status == "sendt_inn" and str(view.sak).startswith("MMV-2026-")
    assert (
        code_of(
            lambda: drafts.approve(
                uow, FAGDIREKTOR, view.id, view.versjon, "fagdirektor", True, "x"
            )
        )
        == "INVALID_TRANSITION"
    )


def test_foreign_hf_and_roles(uow: AbstractUnitOfWork) -> None:
    view = drafts.create(uow, LEGE, "tilgang-del2")
    assert code_of(lambda: drafts.get(uow, OTHER_HF, view.id)) == "NOT_FOUND"
    assert drafts.listing(uow, OTHER_HF) == []
    assert code_of(lambda: drafts.listing(uow, KOORDINATOR)) == "FORBIDDEN"
    assert code_of(lambda: drafts.create(uow, LEGE, "minihta-okonomi")) == "INVALID_VALUE"


def test_stale_drafts_listed_and_deleted_leaving_the_audit_event(
    uow: AbstractUnitOfWork,
) -> None:
    old = drafts.create(uow, LEGE, "tilgang-del2")
    clock = uow.clock
    uow.clock = lambda: NOW + timedelta(days=91)
    try:
        fresh = drafts.create(uow, LEGE, "minihta")
        assert [d.id for d in drafts.stale(uow, LEGE)] == [old.id]
        assert drafts.stale(uow, LINJELEDER) == []  # not its author
        assert fresh.id not in {d.id for d in drafts.stale(uow, LEGE)}
        assert code_of(lambda: drafts.delete(uow, LEGE, old.id, 2)) == "STALE_STATE"
        drafts.delete(uow, LEGE, old.id, 1)
    finally:
        uow.clock = clock
    assert code_of(lambda: drafts.get(uow, LEGE, old.id)) == "NOT_FOUND"
    with uow:
        assert uow.drafts.get(old.id) is None
        assert [e.action for e in uow.audit.list(object=f"draft:{old.id}")] == [
            "draft.create",
            "draft.delete",
        ]


def test_check_keeps_nothing(uow: AbstractUnitOfWork) -> None:
    view = drafts.create(uow, LEGE, "tilgang-del2")
    found = drafts.check(uow, LEGE, view.id, {"pasient.fodselsar": "abc"})
    assert "pasient.fodselsar" in {f["field"] for f in found.errors}
    number = synthetic_identity_number()
    found = drafts.check(uow, LEGE, view.id, {"pasient.sykehistorie": number})
    assert [(f["code"], f["field"]) for f in found.errors] == [
        ("IDENTITY_FOUND", "pasient.sykehistorie")
    ]
    assert drafts.get(uow, LEGE, view.id).versjon == 1


def test_repository_lists_newest_first_filters_and_deletes_with_steps(
    service_uow: AbstractUnitOfWork,
) -> None:
    from storage.models_drafts import Draft, DraftApproval

    uow = service_uow
    with uow:
        for n, (hf, state, form) in enumerate(
            [
                ("OUS", "utkast", "tilgang-del2"),
                ("OUS", "til_linjeleder", "tilgang-del2"),
                ("OUS", "utkast", "minihta"),
                ("STO", "utkast", "tilgang-del2"),
            ]
        ):
            d = Draft(
                f"d{n}",
                hf=hf,
                form_type=form,
                state=state,
                created_by="x",
                created_at=NOW + timedelta(days=n),
                values={"soknad.helseforetak": hf, "n": n},
            )
            d.steps.append(
                DraftApproval(
                    seq=1,
                    round=1,
                    function="lege",
                    username="x",
                    name="X",
                    approved=True,
                    reason=None,
                    at=NOW,
                )
            )
            uow.drafts.add(d)
        uow.commit()
    with uow:
        assert [d.id for d in uow.drafts.list(hf="OUS")] == ["d2", "d1", "d0"]
        assert [d.id for d in uow.drafts.list(hf="OUS", state="utkast")] == ["d2", "d0"]
        assert [d.id for d in uow.drafts.list(hf="OUS", form_type="minihta")] == ["d2"]
        since = uow.drafts.list(hf="OUS", unchanged_since=NOW + timedelta(days=1))
        assert [d.id for d in since] == ["d1", "d0"]
        d0 = uow.drafts.get("d0")
        assert d0 is not None and d0.values == {"soknad.helseforetak": "OUS", "n": 0}
        assert [s.function for s in d0.steps] == ["lege"]
        d0.case_id, d0.submitted_at = "SAK-1", NOW
        uow.commit()
    with uow:
        assert [d.id for d in uow.drafts.for_case("SAK-1")] == ["d0"]
        draft = uow.drafts.get("d0")
        assert draft is not None
        uow.drafts.delete(draft)
        uow.commit()
    with uow:
        assert uow.drafts.get("d0") is None
        assert [d.id for d in uow.drafts.list(hf="OUS")] == ["d2", "d1"]


def test_a_save_on_an_old_versjon_is_stale_and_keeps_nothing(
    service_uow: AbstractUnitOfWork,
) -> None:
    """Two people saw versjon 1; the first save wins, the second is STALE_STATE (409)."""
    uow = service_uow
    add_user(uow, LEGE.username, roles=["hf"], hf="OUS", funksjoner=["lege"])
    view = drafts.create(uow, LEGE, "tilgang-del2")
    drafts.save(uow, LEGE, view.id, 1, {"pasient.diagnosekode": "C01"})
    assert code_of(lambda: drafts.save(uow, LEGE, view.id, 1, {"pasient.diagnosekode": "C02"})) == (
        "STALE_STATE"
    )
    assert drafts.get(uow, LEGE, view.id).verdier["pasient.diagnosekode"] == "C01"


def test_two_writes_of_the_same_versjon_race_and_one_loses(sql_uow: AbstractUnitOfWork) -> None:
    """The version counter is the optimistic lock: a change made on a draft read before another
    change committed fails (`ConcurrentUpdate`, which the service answers with STALE_STATE)."""
    from storage.models_drafts import Draft
    from storage.uow import ConcurrentUpdate, SqlAlchemyUnitOfWork

    assert isinstance(sql_uow, SqlAlchemyUnitOfWork)
    other = SqlAlchemyUnitOfWork(sql_uow.session_factory, sql_uow.blobs, clock=lambda: NOW)
    with sql_uow:
        sql_uow.drafts.add(
            Draft(
                "r", hf="OUS", form_type="minihta", state="utkast", created_by="a", created_at=NOW
            )
        )
        sql_uow.commit()
    with sql_uow:
        first = sql_uow.drafts.get("r")
        assert first is not None
        with other:
            second = other.drafts.get("r")
            assert second is not None
            second.values, second.version = {"generelt.tittel": "B"}, 2
            other.commit()
        first.values, first.version = {"generelt.tittel": "A"}, 2
        with pytest.raises(ConcurrentUpdate):
            sql_uow.commit()
    with sql_uow:
        kept = sql_uow.drafts.get("r")
        assert kept is not None and kept.values == {"generelt.tittel": "B"}


def test_sign_off_steps_write_their_mails_in_the_same_transaction(
    uow: AbstractUnitOfWork,
) -> None:
    """CONNECTIONS.md section 2: `utkast_til_godkjenning` to every active user of the draft's HF
    with the function whose turn it is, `utkast_returnert` to the lege who sent it; users of
    another HF and users without an address get nothing."""
    with uow:
        for user in (LEGE, LINJELEDER, FAGDIREKTOR, OTHER_HF):
            uow.users.get(user.username).epost = f"{user.username}@hf.example"
        uow.commit()

    def mails() -> list[tuple[str, str, str]]:
        with uow:
            return sorted(
                (r.hendelse, r.mottaker, r.data["utkast"])
                for r in uow.outbox.list()
                if r.art == "epost"
            )

    view = drafts.send(uow, LEGE, (v := filled(uow)).id, v.versjon)
    assert mails() == [("utkast_til_godkjenning", "linjeleder-ous@hf.example", view.id)]
    view = drafts.approve(uow, LINJELEDER, view.id, view.versjon, "linjeleder", True, "ok")
    assert ("utkast_til_godkjenning", "fagdirektor-ous@hf.example", view.id) in mails()
    assert len(mails()) == 2
    view = drafts.approve(uow, FAGDIREKTOR, view.id, view.versjon, "fagdirektor", False, "Nei.")
    assert ("utkast_returnert", "lege-ous@hf.example", view.id) in mails()
    assert len(mails()) == 3
    # a refused step writes no mail
    with pytest.raises(DomainError):
        drafts.approve(uow, LINJELEDER, view.id, view.versjon, "linjeleder", True, "ok")
    assert len(mails()) == 3


def test_the_listing_reads_every_drafts_steps_in_one_query(engine: Any, sql_uow: Any) -> None:
    """`GET /utkast` says why a returned draft came back (`returnert`, from its steps): the steps
    of all listed drafts are loaded together (`Draft.steps` is `selectin`), not one query per
    draft, so four drafts cost the statements one does."""
    from sqlalchemy import event

    uow = sql_uow
    for user, (functions, name) in USERS.items():
        add_user(
            uow, user.username, roles=["hf"], hf=user.hf, funksjoner=functions, display_name=name
        )

    def returned() -> None:
        view = drafts.send(uow, LEGE, (v := filled(uow)).id, v.versjon)
        drafts.approve(uow, LINJELEDER, view.id, view.versjon, "linjeleder", False, "Mangler.")

    statements: list[str] = []

    def counted() -> tuple[int, list[drafts.DraftSummary]]:
        statements.clear()
        listed = drafts.listing(uow, LEGE)
        return len(statements), listed

    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    returned()
    one, _ = counted()
    for _ in range(3):
        returned()
    four, listed = counted()
    assert len(listed) == 4 and one == four
    assert {(s.returnert.funksjon, s.returnert.begrunnelse) for s in listed if s.returnert} == {
        ("linjeleder", "Mangler.")
    }
    assert all(s.returnert is not None for s in listed)


def test_the_approvers_are_the_active_users_of_the_hf_with_role_and_function(
    uow: AbstractUnitOfWork,
) -> None:
    """`uow.users.with_function` (whom `utkast_til_godkjenning` goes to): another HF's users, an
    inactive user and users without the function are left out."""
    add_user(uow, "leder-2", roles=["hf"], hf="OUS", funksjoner=["linjeleder", "lege"])
    add_user(uow, "leder-borte", roles=["hf"], hf="OUS", funksjoner=["linjeleder"])
    with uow:
        uow.users.get("leder-borte").active = False
        uow.commit()
    with uow:
        found = uow.users.with_function("OUS", role="hf", function="linjeleder")
        assert [u.username for u in found] == ["leder-2", "linjeleder-ous"]
        found = uow.users.with_function("STO", role="hf", function="linjeleder")
        assert [u.username for u in found] == ["lege-sto"]
