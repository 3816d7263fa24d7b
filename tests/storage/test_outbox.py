"""The transactional outbox (CONNECTIONS.md sections 2 and 3): a row exists exactly when the
change that causes it committed, on the fake, SQLite and PostgreSQL (`service_uow`); claims,
retries and the archive messages built from stored data."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from processor import arkiv
from processor.errors import DomainError
from services import committee, minihta, outbox
from services.cases import transition
from services.upload import upload
from services.users import add_user, deactivate_user
from storage.uow import AbstractUnitOfWork
from tests.storage.helpers import HF_OUS, HF_OUS_2, HF_STO, KOORDINATOR, TODAY, del2, del2_for
from tests.storage.test_committee import (
    CASE_OUS,
    CASE_STO,
    MEETING_DAY,
    add_members,
    decision_body,
    ready_case,
    sto_case,
)
from tests.storage.test_minihta import REVIEWERS, form


def rows(uow: AbstractUnitOfWork, **kw: object) -> list[tuple]:
    with uow:
        return sorted(
            (r.art, str(r.hendelse), r.sak, r.mote, r.mottaker, r.status, dict(r.data))
            for r in uow.outbox.list(**kw)  # type: ignore[arg-type]
        )


def hf_users(uow: AbstractUnitOfWork) -> None:
    add_user(uow, "hf-ous", roles=["hf"], hf="OUS", epost="hf-ous@ous.example")
    add_user(uow, "hf-ous-2", roles=["hf"], hf="OUS")  # no address: no mail
    add_user(uow, "hf-ous-3", roles=["hf"], hf="OUS", epost="tre@ous.example")
    add_user(uow, "hf-ous-gone", roles=["hf"], hf="OUS", epost="gone@ous.example")
    deactivate_user(uow, "hf-ous-gone")
    add_user(uow, "hf-sto", roles=["hf"], hf="STO", epost="hf-sto@sto.example")


def test_an_accepted_del2_version_is_an_archive_row_and_a_refused_upload_none(
    service_uow: AbstractUnitOfWork,
) -> None:
    uow = service_uow
    assert upload(HF_OUS, "s.json", del2(), uow, TODAY).accepted
    folder = f"{CASE_OUS}.mottatt.1"
    assert rows(uow) == [
        ("arkiv", "arkiv_mottatt", CASE_OUS, None, folder, "venter", {"versjon": 1})
    ]
    with pytest.raises(DomainError):  # the same reference again: refused, nothing written
        upload(HF_OUS, "s.json", del2(), uow, TODAY)
    assert len(rows(uow)) == 1
    # returned and sent again: version 2 gets its own row
    transition(KOORDINATOR, CASE_OUS, "mottatt", "returnert", "Mangler vedlegg.", uow)
    assert upload(HF_OUS, "s.json", del2(), uow, TODAY).version == 2
    assert [r[4] for r in rows(uow, status="venter") if r[0] == "arkiv"] == [
        f"{CASE_OUS}.mottatt.1",
        f"{CASE_OUS}.mottatt.2",
    ]
    # a mini-HTA is not archived
    upload(HF_OUS, "m.json", form("minihta"), uow, TODAY)
    assert len([r for r in rows(uow) if r[0] == "arkiv"]) == 2


def test_a_return_mails_the_uploader_of_the_latest_version_only_when_it_committed(
    service_uow: AbstractUnitOfWork,
) -> None:
    uow = service_uow
    hf_users(uow)
    upload(HF_OUS, "s.json", del2(), uow, TODAY)
    with pytest.raises(DomainError):  # no reason: refused, no row
        transition(KOORDINATOR, CASE_OUS, "mottatt", "returnert", None, uow)
    assert [r for r in rows(uow) if r[0] == "epost"] == []
    transition(KOORDINATOR, CASE_OUS, "mottatt", "returnert", "Mangler vedlegg.", uow)
    mails = [r for r in rows(uow) if r[0] == "epost"]
    assert mails == [
        (
            "epost",
            "returnert",
            CASE_OUS,
            None,
            "hf-ous@ous.example",
            "venter",
            {"bruker": "hf-ous"},
        )
    ]
    # the uploader of version 2 has no address: the second return sends no mail
    upload(HF_OUS_2, "s.json", del2(), uow, TODAY)
    transition(KOORDINATOR, CASE_OUS, "mottatt", "returnert", "Fortsatt mangler.", uow)
    assert [r for r in rows(uow) if r[0] == "epost"] == mails


def test_a_rolled_back_change_leaves_no_row(service_uow: AbstractUnitOfWork) -> None:
    uow = service_uow
    hf_users(uow)
    upload(HF_OUS, "s.json", del2(), uow, TODAY)
    before = rows(uow)
    with uow:
        case = uow.cases.get(CASE_OUS)
        assert case is not None
        assert outbox.case_returned(uow, case)  # enqueued, then the change is not committed
        assert outbox.version_accepted(uow, case.id, case.form_type, 9)
    assert rows(uow) == before
    with uow:
        case = uow.cases.get(CASE_OUS)
        assert case is not None
        outbox.case_returned(uow, case)
        uow.commit()
    assert len(rows(uow)) == len(before) + 1


def test_a_decision_mails_the_active_hf_users_with_an_address_and_archives_the_letter(
    service_uow: AbstractUnitOfWork,
) -> None:
    uow = service_uow
    hf_users(uow)
    add_members(uow)
    with uow:
        for name in ("k-ahus", "k-hbe"):  # two members with an address
            user = uow.users.get(name)
            assert user is not None
            user.epost = f"{name}@komite.example"
        uow.commit()
    ready_case(uow, HF_OUS, del2_for("OUS"), CASE_OUS)
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    # a planning run that places nothing sends nothing
    empty = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(13), TODAY)
    committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    committee.plan_meeting(KOORDINATOR, uow, empty, TODAY)
    packets = [r for r in rows(uow) if r[1] == "motepakke_klar"]
    when = {"dato": MEETING_DAY.isoformat(), "tid": "09:00"}
    assert packets == [
        (
            "epost",
            "motepakke_klar",
            None,
            meeting_id,
            f"{n}@komite.example",
            "venter",
            {**when, "bruker": n},
        )
        for n in ("k-ahus", "k-hbe")
    ]
    with pytest.raises(DomainError):  # a refused decision leaves nothing
        committee.record_decision(KOORDINATOR, uow, CASE_OUS, decision_body(begrunnelse=""), TODAY)
    assert [r for r in rows(uow) if r[1] in ("avgjort", "arkiv_vedtak")] == []
    committee.record_decision(KOORDINATOR, uow, CASE_OUS, decision_body(), TODAY)
    decided = [r for r in rows(uow) if r[1] in ("avgjort", "arkiv_vedtak")]
    assert decided == [
        ("arkiv", "arkiv_vedtak", CASE_OUS, None, f"{CASE_OUS}.vedtak", "venter", {}),
        ("epost", "avgjort", CASE_OUS, None, "hf-ous@ous.example", "venter", {"bruker": "hf-ous"}),
        ("epost", "avgjort", CASE_OUS, None, "tre@ous.example", "venter", {"bruker": "hf-ous-3"}),
    ]


def test_an_assigned_reviewer_is_mailed(service_uow: AbstractUnitOfWork) -> None:
    uow = service_uow
    for name, (hf, fag) in REVIEWERS.items():
        add_user(uow, name, roles=["fagfelle"], hf=hf, fagomrader=fag, epost=f"{name}@ff.example")
    result = upload(HF_OUS, "m.json", form("minihta"), uow, TODAY)
    done = minihta.assign_reviewer(KOORDINATOR, str(result.case_id), None, None, uow)
    assert rows(uow) == [
        (
            "epost",
            "fagfelle_tildelt",
            result.case_id,
            None,
            f"{done.reviewer}@ff.example",
            "venter",
            {"bruker": done.reviewer},
        )
    ]


def test_draft_notifications_are_enqueued_for_recipients_with_an_address(
    service_uow: AbstractUnitOfWork,
) -> None:
    uow = service_uow
    hf_users(uow)
    with uow:
        outbox.notify_draft(uow, "utkast_til_godkjenning", 7, ["hf-ous", "hf-ous-2", "nobody"])
        outbox.notify_draft(uow, "utkast_returnert", 7, ["hf-ous-3"])
        with pytest.raises(ValueError):
            outbox.notify_draft(uow, "avgjort", 7, ["hf-ous"])
        uow.commit()
    assert rows(uow) == [
        (
            "epost",
            "utkast_returnert",
            None,
            None,
            "tre@ous.example",
            "venter",
            {"utkast": "7", "bruker": "hf-ous-3"},
        ),
        (
            "epost",
            "utkast_til_godkjenning",
            None,
            None,
            "hf-ous@ous.example",
            "venter",
            {"utkast": "7", "bruker": "hf-ous"},
        ),
    ]


# ---- claims and outcomes ------------------------------------------------------------------------


def test_a_claimed_row_is_not_claimed_again_until_its_lease_ends(
    service_uow: AbstractUnitOfWork,
) -> None:
    uow = service_uow
    upload(HF_OUS, "s.json", del2(), uow, TODAY)
    lease = timedelta(minutes=2)
    first = outbox.claim_next(uow, ["arkiv"], "a", lease=lease)
    assert first is not None and first.art == "arkiv"
    assert outbox.claim_next(uow, ["arkiv"], "b", lease=lease) is None
    assert outbox.claim_next(uow, ["epost"], "b", lease=lease) is None
    with uow:
        row = uow.outbox.get(first.id)
        assert row is not None and row.claimed_by == "a"
        row.claimed_until = uow.now() - timedelta(seconds=1)  # the lease ran out (a dead worker)
        uow.commit()
    again = outbox.claim_next(uow, ["arkiv"], "b", lease=lease)
    assert again is not None and again.id == first.id


def test_a_mail_row_keeps_its_message_id_across_claims(service_uow: AbstractUnitOfWork) -> None:
    uow = service_uow
    hf_users(uow)
    upload(HF_OUS, "s.json", del2(), uow, TODAY)
    transition(KOORDINATOR, CASE_OUS, "mottatt", "returnert", "Mangler vedlegg.", uow)
    claimed = outbox.claim_next(uow, ["epost"], "a", lease=timedelta(0), mail_domain="x.example")
    assert claimed is not None and claimed.message_id and claimed.message_id.endswith("@x.example>")
    assert outbox.failed(uow, claimed.id, outbox.DeliveryError("Midlertidig feil.")) == "venter"
    with uow:
        row = uow.outbox.get(claimed.id)
        assert row is not None
        assert (row.forsok, row.siste_feil, row.message_id) == (
            1,
            "Midlertidig feil.",
            claimed.message_id,
        )
        assert row.neste_forsok == uow.now() + timedelta(seconds=5)
        row.neste_forsok = uow.now()
        uow.commit()
    again = outbox.claim_next(uow, ["epost"], "b", lease=timedelta(0), mail_domain="y.example")
    assert again is not None and again.message_id == claimed.message_id


def test_backoff_doubles_from_5_seconds_up_to_15_minutes() -> None:
    waits = [outbox.backoff(n).total_seconds() for n in range(1, 11)]
    assert waits[:4] == [5, 10, 20, 40]
    assert max(waits) == 900 and waits[-1] == 900
    assert all(b >= a for a, b in zip(waits, waits[1:], strict=False))


def test_a_permanent_failure_fails_the_row_and_retry_puts_it_back(
    service_uow: AbstractUnitOfWork,
) -> None:
    uow = service_uow
    upload(HF_OUS, "s.json", del2(), uow, TODAY)
    claimed = outbox.claim_next(uow, ["arkiv"], "a", lease=timedelta(minutes=1))
    assert claimed is not None
    error = outbox.DeliveryError("Tjeneren avviste meldingen (550).", permanent=True)
    assert outbox.failed(uow, claimed.id, error) == "feilet"
    assert outbox.claim_next(uow, ["arkiv"], "a", lease=timedelta(minutes=1)) is None
    assert [r["id"] for r in outbox.list_rows(uow, status="feilet")] == [claimed.id]
    assert outbox.retry(uow, [claimed.id]) == [claimed.id]
    assert outbox.retry(uow, [claimed.id]) == []  # not feilet any more: left alone
    with pytest.raises(DomainError) as e:
        outbox.retry(uow, [claimed.id + 1000])
    assert e.value.code == "NOT_FOUND"
    again = outbox.claim_next(uow, ["arkiv"], "a", lease=timedelta(minutes=1))
    assert again is not None and again.id == claimed.id


def test_archive_messages_are_built_from_the_stored_case_as_the_export_builds_them(
    service_uow: AbstractUnitOfWork,
) -> None:
    uow = service_uow
    add_members(uow)
    ready_case(uow, HF_OUS, del2_for("OUS"), CASE_OUS)
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY)
    committee.record_decision(KOORDINATOR, uow, CASE_OUS, decision_body(), TODAY)
    built = []
    while (claimed := outbox.claim_next(uow, ["arkiv"], "a", lease=timedelta(1))) is not None:
        built.append(outbox.archive_message(uow, claimed))
        outbox.delivered(uow, claimed.id)
    exported = outbox.export(uow, CASE_OUS)
    assert (
        [m.folder for m in built]
        == [m.folder for m in exported]
        == [
            f"{CASE_OUS}.mottatt.1",
            f"{CASE_OUS}.vedtak",
        ]
    )
    assert [dict(m.files) for m in built] == [dict(m.files) for m in exported]
    assert set(exported[1].files) == {arkiv.ARKIVMELDING, arkiv.VEDTAK_FILE}
    with pytest.raises(DomainError) as e:
        outbox.export(uow, "2026-01-01-OUS-FINNESIKKE")
    assert e.value.code == "NOT_FOUND"
    assert {r[5] for r in rows(uow) if r[0] == "arkiv"} == {"sendt"}


def test_temporary_failures_fail_the_row_only_after_24_hours(
    service_uow: AbstractUnitOfWork,
) -> None:
    """CONNECTIONS.md section 2: a 4xx or a connection error is retried; "24 h of failures:
    `feilet`", counted from the first failure."""
    uow = service_uow
    upload(HF_OUS, "s.json", del2(), uow, TODAY)
    temporary = outbox.DeliveryError("Fikk ikke kontakt med SMTP-tjeneren.")
    lease = timedelta(minutes=1)

    def fail_again(first_failed_ago: timedelta) -> str:
        with uow:
            [row] = uow.outbox.list()
            row.forste_feil = uow.now() - first_failed_ago
            row.neste_forsok = uow.now()
            uow.commit()
        claimed = outbox.claim_next(uow, ["arkiv"], "a", lease=lease)
        assert claimed is not None
        return outbox.failed(uow, claimed.id, temporary)

    claimed = outbox.claim_next(uow, ["arkiv"], "a", lease=lease)
    assert claimed is not None
    assert outbox.failed(uow, claimed.id, temporary) == "venter"
    assert fail_again(outbox.GIVE_UP_AFTER - timedelta(minutes=1)) == "venter"
    assert fail_again(outbox.GIVE_UP_AFTER) == "feilet"
    [row] = outbox.list_rows(uow, status="feilet")
    assert row["forsok"] == 3 and row["siste_feil"] == temporary.message


def test_each_planning_run_mails_the_members_taking_part_and_not_the_absent(
    service_uow: AbstractUnitOfWork,
) -> None:
    """`motepakke_klar`: "each member taking part", "one mail per run" that places cases."""
    uow = service_uow
    add_members(uow)
    with uow:
        for name in ("k-ous", "k-ahus", "k-vara"):
            user = uow.users.get(name)
            assert user is not None
            user.epost = f"{name}@komite.example"
        uow.commit()
    meeting_id = committee.create_meeting(KOORDINATOR, uow, MEETING_DAY, time(9), TODAY)
    committee.update_meeting(KOORDINATOR, uow, meeting_id, absent={"k-vara": True})

    def packets() -> list[str]:
        return sorted(r[4] for r in rows(uow) if r[1] == "motepakke_klar")

    ready_case(uow, HF_OUS, del2_for("OUS"), CASE_OUS)
    assert committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY).placed == [CASE_OUS]
    first = ["k-ahus@komite.example", "k-ous@komite.example"]
    assert packets() == first  # k-vara is absent: no mail
    ready_case(uow, HF_STO, sto_case(), CASE_STO)
    assert committee.plan_meeting(KOORDINATOR, uow, meeting_id, TODAY).placed == [CASE_STO]
    assert packets() == sorted(first * 2)  # a second run that places a case: one mail more each
