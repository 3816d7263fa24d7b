"""WORKFLOW.md section 3 (recusal, quorum, meeting planning) and section 6 (peer reviewers).

Every person here is synthetic. HF codes and regions are the ones in the HF registry: OUS, AHUS,
SIHF are in Helse Sør-Øst; HBE, HSTAV in Helse Vest; STO in Helse Midt-Norge; UNN in Helse Nord.
"""

from __future__ import annotations

from datetime import date, time

import pytest

from processor.routing import (
    NO_ROOM,
    CaseRef,
    Conflict,
    Meeting,
    Member,
    OverrideNotAllowed,
    Reviewer,
    candidates,
    check_override,
    eligible_decision_makers,
    may_download_packet,
    member_cases,
    pick_reviewer,
    plan,
    quorum,
    recused,
)

ON = date(2026, 3, 12)  # a Thursday
TODAY = date(2026, 3, 2)  # a Monday


def member(username: str, hf: str, *, dm: bool = True, **kw) -> Member:
    return Member(
        username=username,
        name=f"Testperson {username.upper()}",
        hf=hf,
        beslutningstaker=dm,
        **kw,
    )


def case(
    case_id: str = "s1",
    hf: str = "OUS",
    catchment: str | None = None,
    received: date = date(2026, 2, 1),
    urgent: bool = False,
) -> CaseRef:
    return CaseRef(
        id=case_id,
        hf=hf,
        opptaksomrade=catchment,
        received=received,
        urgent=urgent,
        urgent_reason="Rask progresjon" if urgent else None,
    )


def meeting(meeting_id: str, d: date, **kw) -> Meeting:
    return Meeting(id=meeting_id, date=d, time=time(13, 0), **kw)


# Six decision-makers from six HFs and one member without decision authority.
COMMITTEE = [
    member("a", "OUS"),
    member("b", "AHUS"),
    member("c", "HBE"),
    member("d", "STO"),
    member("e", "UNN"),
    member("f", "HSTAV"),
    member("g", "SIHF", dm=False, fagdirektor=True),
]


def usernames(members: list[Member]) -> list[str]:
    return [m.username for m in members]


# ---- recusal ------------------------------------------------------------------------------------


def test_member_is_recused_from_a_case_of_their_own_applying_hf():
    assert recused(member("a", "OUS"), case(hf="OUS", catchment="AHUS"))


def test_member_is_recused_by_the_patients_catchment_hf():
    assert recused(member("b", "AHUS"), case(hf="OUS", catchment="AHUS"))


def test_empty_catchment_means_the_applying_hf():
    for catchment in (None, "", "  "):
        c = case(hf="OUS", catchment=catchment)
        assert recused(member("a", "OUS"), c)
        assert not recused(member("b", "AHUS"), c)


def test_member_from_another_hf_in_the_same_region_is_not_recused():
    assert not recused(member("s", "SIHF"), case(hf="OUS", catchment="AHUS"))


def test_recusal_compares_hf_codes_trimmed_and_case_insensitively():
    assert recused(member("a", " ous "), case(hf="OUS"))


# ---- eligibility and quorum ---------------------------------------------------------------------


def test_eligible_decision_makers_are_active_taking_part_not_recused_decision_makers():
    members = [
        *COMMITTEE,
        member("old", "HFO", active_to=date(2026, 3, 11)),
        member("new", "HFD", active_from=date(2026, 3, 13)),
    ]
    c = case(hf="OUS", catchment="AHUS")
    got = eligible_decision_makers(c, members, ON, taking_part=("a", "c", "d", "e", "g", "old"))
    assert usernames(got) == ["c", "d", "e"]


def test_active_from_and_to_are_inclusive():
    members = [member("x", "HFO", active_from=ON), member("y", "HFD", active_to=ON)]
    assert usernames(eligible_decision_makers(case(), members, ON)) == ["x", "y"]


def test_quorum_with_exactly_four_eligible_decision_makers():
    q = quorum(case(hf="OUS", catchment="AHUS"), COMMITTEE, ON)
    assert q.ok
    assert q.count == 4
    assert q.deputies_who_would_restore == []
    assert usernames(q.recused) == ["a", "b"]


def test_three_eligible_lack_quorum_and_a_deputy_for_a_recused_member_would_restore_it():
    deputy = member("va", "HFO", dm=False, vara_for="a")
    c = case(hf="OUS", catchment="AHUS")
    q = quorum(c, [*COMMITTEE, deputy], ON, taking_part=("a", "b", "c", "d", "e"))
    assert not q.ok
    assert q.count == 3
    # The deputy is not a decision-maker personally but sits in a decision-maker's seat.
    assert q.deputies_who_would_restore == [deputy]


def test_deputy_for_a_member_not_taking_part_would_restore_quorum():
    deputy = member("vf", "HFO", vara_for="f")
    c = case(hf="OUS", catchment="AHUS")
    q = quorum(c, [*COMMITTEE, deputy], ON, taking_part=("a", "b", "c", "d", "e"))
    assert (q.ok, q.count) == (False, 3)
    assert q.deputies_who_would_restore == [deputy]


def test_deputies_are_not_named_when_they_cannot_reach_the_minimum():
    deputy = member("vf", "HFO", vara_for="f")
    c = case(hf="OUS", catchment="AHUS")
    q = quorum(c, [*COMMITTEE, deputy], ON, taking_part=("a", "b", "c", "d"))
    assert (q.ok, q.count) == (False, 2)
    assert q.deputies_who_would_restore == []


def test_recused_or_inactive_deputy_cannot_restore_quorum():
    deputies = [
        member("va", "AHUS", vara_for="a"),  # recused: the patient's catchment HF
        member("vb", "HFO", vara_for="b", active_to=date(2026, 1, 1)),
    ]
    c = case(hf="OUS", catchment="AHUS")
    q = quorum(c, [*COMMITTEE, *deputies], ON, taking_part=("a", "b", "c", "d", "e"))
    assert q.deputies_who_would_restore == []


def test_deputy_for_a_non_decision_maker_counts_only_if_a_decision_maker_personally():
    c = case(hf="OUS", catchment="AHUS")
    plain = member("vg", "HFO", dm=False, vara_for="g")
    q = quorum(c, [*COMMITTEE, plain], ON, taking_part=("a", "b", "c", "d", "e"))
    assert q.deputies_who_would_restore == []
    authorised = member("vg", "HFO", vara_for="g")
    q = quorum(c, [*COMMITTEE, authorised], ON, taking_part=("a", "b", "c", "d", "e"))
    assert q.deputies_who_would_restore == [authorised]


def test_two_deputies_for_one_principal_fill_one_seat():
    deputies = [member("vf1", "HFO", vara_for="f"), member("vf2", "HFD", vara_for="f")]
    c = case(hf="OUS", catchment="AHUS")
    q = quorum(c, [*COMMITTEE, *deputies], ON, taking_part=("a", "b", "c", "d", "e"))
    assert usernames(q.deputies_who_would_restore) == ["vf1", "vf2"]
    q = quorum(c, [*COMMITTEE, *deputies], ON, taking_part=("a", "b", "c", "d"))
    assert q.deputies_who_would_restore == []  # needs 2 seats, the deputies fill only f's


# ---- planning -----------------------------------------------------------------------------------

M1 = date(2026, 3, 12)  # Thursday; papers deadline Tuesday 10 March
M2 = date(2026, 3, 26)  # deadline Tuesday 24 March


def test_planner_puts_urgent_cases_first():
    cases = [case("old", received=date(2026, 1, 1)), case("hast", urgent=True)]
    result = plan([meeting("m1", M1, case_limit=1)], cases, COMMITTEE, TODAY)
    assert result.placed == {"m1": ["hast"]}
    assert result.not_placed == [("old", NO_ROOM)]


def test_planner_puts_oldest_received_first_then_id():
    cases = [
        case("s3", received=date(2026, 2, 2)),
        case("s2", received=date(2026, 2, 1)),
        case("s1", received=date(2026, 2, 2)),
    ]
    result = plan([meeting("m1", M1)], cases, COMMITTEE, TODAY)
    assert result.placed == {"m1": ["s2", "s1", "s3"]}


def test_planner_respects_case_limit_counting_cases_already_placed():
    cases = [case(f"s{i}", received=date(2026, 2, i)) for i in range(1, 5)]
    meetings = [meeting("m1", M1, case_limit=3, placed=("x1", "x2")), meeting("m2", M2)]
    result = plan(meetings, cases, COMMITTEE, TODAY)
    assert result.placed == {"m1": ["s1"], "m2": ["s2", "s3", "s4"]}


def test_planner_default_case_limit_is_eight():
    cases = [case(f"s{i:02}") for i in range(10)]
    result = plan([meeting("m1", M1)], cases, COMMITTEE, TODAY)
    assert len(result.placed["m1"]) == 8
    assert [cid for cid, _ in result.not_placed] == ["s08", "s09"]


def test_planner_skips_a_meeting_whose_papers_deadline_has_passed():
    result = plan(
        [meeting("m1", M1), meeting("m2", M2)], [case()], COMMITTEE, today=date(2026, 3, 11)
    )
    assert result.placed == {"m2": ["s1"]}


def test_planner_accepts_a_meeting_whose_papers_deadline_is_today():
    result = plan([meeting("m1", M1)], [case()], COMMITTEE, today=date(2026, 3, 10))
    assert result.placed == {"m1": ["s1"]}


def test_planner_deadline_before_easter_2026_has_passed_on_the_wednesday():
    after_easter = date(2026, 4, 7)  # deadline Tuesday 31 March
    meetings = [meeting("m1", after_easter), meeting("m2", date(2026, 4, 21))]
    assert plan(meetings, [case()], COMMITTEE, date(2026, 3, 31)).placed["m1"] == ["s1"]
    assert plan(meetings, [case()], COMMITTEE, date(2026, 4, 1)).placed == {"m2": ["s1"]}


def test_planner_moves_a_case_lacking_quorum_to_the_next_meeting():
    meetings = [meeting("m1", M1, members=("a", "b", "c", "d", "e")), meeting("m2", M2)]
    cases = [case("s1", hf="OUS", catchment="AHUS"), case("s2", hf="HBE")]
    result = plan(meetings, cases, COMMITTEE, TODAY)
    assert result.placed == {"m1": ["s2"], "m2": ["s1"]}
    assert result.quorum["s1"].count == 4


def test_planner_names_recused_members_and_deputies_when_quorum_is_lacking():
    deputy = Member("vf", "Testvara F", "HFO", False, vara_for="f")
    members = [*COMMITTEE, deputy]
    m1 = meeting("m1", M1, members=("a", "b", "c", "d", "e"))
    result = plan([m1], [case("s1", hf="OUS", catchment="AHUS")], members, TODAY)
    assert result.placed == {"m1": []}
    [(case_id, reason)] = result.not_placed
    assert case_id == "s1"
    assert reason == (
        "Mangler beslutningsdyktighet i møtet 12.03.2026: bare 3 av 4 nødvendige "
        "beslutningstakere deltar og er ikke inhabile "
        "(inhabile: Testperson A (OUS), Testperson B (AHUS)). "
        "Vara som kan gjenopprette: Testvara F (vara for Testperson F)."
    )


def test_planner_says_so_when_no_deputy_can_restore_quorum():
    m1 = meeting("m1", M1, members=("a", "b", "c"))
    result = plan([m1], [case("s1", hf="OUS")], COMMITTEE, TODAY)
    [(_, reason)] = result.not_placed
    assert "bare 2 av 4" in reason
    assert reason.endswith("Ingen vara kan gjenopprette beslutningsdyktigheten.")


def test_planner_without_an_open_meeting_with_room_gives_the_no_room_reason():
    result = plan([meeting("m1", M1)], [case()], COMMITTEE, today=date(2026, 3, 11))
    assert result.placed == {}
    assert result.not_placed == [("s1", "Ingen møte med ledig plass før fristen for sakspapirer")]


def test_planner_leaves_a_case_already_placed_where_it_is():
    meetings = [meeting("m1", M1, placed=("s1",)), meeting("m2", M2)]
    result = plan(meetings, [case("s1"), case("s2")], COMMITTEE, TODAY)
    assert result.placed == {"m1": ["s2"], "m2": []}


# ---- what a member sees -------------------------------------------------------------------------


def test_member_cases_leave_out_cases_the_member_is_recused_from():
    cases = [case("s1", hf="OUS"), case("s2", hf="HBE", catchment="AHUS"), case("s3", hf="STO")]
    m = meeting("m1", M1, placed=("s3", "s1", "s2"))
    assert member_cases(COMMITTEE[0], m, cases) == ["s3", "s2"]  # a (OUS)
    assert member_cases(COMMITTEE[1], m, cases) == ["s3", "s1"]  # b (AHUS)


def test_member_not_in_the_meeting_sees_no_cases():
    m = meeting("m1", M1, members=("b", "c"), placed=("s1",))
    assert member_cases(COMMITTEE[2], m, [case("s1")]) == ["s1"]
    assert member_cases(COMMITTEE[3], m, [case("s1")]) == []


def test_member_cases_withhold_a_placed_case_whose_data_is_missing():
    m = meeting("m1", M1, placed=("s1", "gone"))
    assert member_cases(COMMITTEE[2], m, [case("s1")]) == ["s1"]


# ---- peer reviewers -----------------------------------------------------------------------------


def reviewer(username: str, hf: str, *fagomrader: str, open_reviews: int = 0) -> Reviewer:
    return Reviewer(
        username=username,
        name=f"Testfagfelle {username.upper()}",
        hf=hf,
        fagomrader=fagomrader or ("Onkologi",),
        open_reviews=open_reviews,
    )


def conflict(username: str, level: str, approved: bool = False) -> Conflict:
    return Conflict(reviewer=username, case_id="mh1", level=level, approved=approved)


def test_candidates_must_cover_the_specialty_compared_trimmed_and_case_insensitively():
    reviewers = [
        reviewer("r1", "HBE", " onkologi "),
        reviewer("r2", "STO", "Kardiologi"),
        reviewer("r3", "UNN", "Nevrologi", "ONKOLOGI"),
    ]
    got = candidates("OUS", "Onkologi", reviewers, [])
    assert usernames(got) == ["r1", "r3"]


def test_candidates_exclude_the_proposing_hf():
    got = candidates("HBE", "Onkologi", [reviewer("r1", "HBE"), reviewer("r2", "UNN")], [])
    assert usernames(got) == ["r2"]


def test_candidates_exclude_the_proposing_region_by_default():
    reviewers = [reviewer("r1", "AHUS"), reviewer("r2", "HBE")]
    assert usernames(candidates("OUS", "Onkologi", reviewers, [])) == ["r2"]


def test_candidates_from_the_same_region_when_allowed_but_never_the_same_hf():
    reviewers = [reviewer("r1", "AHUS"), reviewer("r2", "HBE"), reviewer("r3", "OUS")]
    got = candidates("OUS", "Onkologi", reviewers, [], allow_same_region=True)
    assert usernames(got) == ["r1", "r2"]


def test_candidates_exclude_red_conflict_but_keep_yellow():
    reviewers = [reviewer("r1", "HBE"), reviewer("r2", "STO"), reviewer("r3", "UNN")]
    conflicts = [conflict("r1", "rod"), conflict("r2", "gul"), conflict("r3", "gronn")]
    assert usernames(candidates("OUS", "Onkologi", reviewers, conflicts)) == ["r2", "r3"]


def test_candidates_are_ordered_by_fewest_open_reviews_then_username():
    reviewers = [
        reviewer("r3", "HBE", open_reviews=1),
        reviewer("r2", "STO", open_reviews=2),
        reviewer("r4", "UNN", open_reviews=1),
        reviewer("r1", "HSTAV", open_reviews=2),
    ]
    got = candidates("OUS", "Onkologi", reviewers, [])
    assert usernames(got) == ["r3", "r4", "r1", "r2"]
    assert usernames(candidates("OUS", "Onkologi", reversed(reviewers), [])) == usernames(got)


def test_candidates_use_a_given_region_lookup():
    regions = {"X1": "R1", "X2": "R1", "X3": "R2"}
    reviewers = [reviewer("r1", "X2"), reviewer("r2", "X3")]
    got = candidates("X1", "Onkologi", reviewers, [], region_of=regions.get)
    assert usernames(got) == ["r2"]


def test_pick_reviewer_takes_the_first_candidate():
    reviewers = [reviewer("r1", "HBE", open_reviews=3), reviewer("r2", "UNN", open_reviews=1)]
    pick = pick_reviewer("OUS", "Onkologi", reviewers, [])
    assert pick.reviewer == reviewers[1]
    assert pick.reason is None


def test_pick_reviewer_skips_unapproved_yellow_and_takes_approved_yellow():
    reviewers = [reviewer("r1", "HBE"), reviewer("r2", "UNN", open_reviews=1)]
    pick = pick_reviewer("OUS", "Onkologi", reviewers, [conflict("r1", "gul")])
    assert pick.reviewer == reviewers[1]
    pick = pick_reviewer("OUS", "Onkologi", reviewers, [conflict("r1", "gul", approved=True)])
    assert pick.reviewer == reviewers[0]


def test_pick_reviewer_waits_for_approval_when_only_yellow_candidates_remain():
    pick = pick_reviewer("OUS", "Onkologi", [reviewer("r1", "HBE")], [conflict("r1", "gul")])
    assert pick.reviewer is None
    assert "gul interessekonflikt" in pick.reason
    assert "Testfagfelle R1" in pick.reason


def test_pick_reviewer_without_candidates_explains_why_in_norwegian():
    reviewers = [
        reviewer("r1", "OUS"),
        reviewer("r2", "AHUS"),
        reviewer("r3", "HBE", "Kardiologi"),
        reviewer("r4", "UNN"),
    ]
    pick = pick_reviewer("OUS", "Onkologi", reviewers, [conflict("r4", "rod")])
    assert pick.reviewer is None
    assert pick.reason == (
        "Ingen fagfelle oppfyller kravene for fagområdet «Onkologi»: "
        "1 dekker ikke fagområdet, 1 er fra helseforetaket som foreslår metoden, "
        "1 er fra samme region, 1 har erklært rød interessekonflikt."
    )


def test_override_of_red_conflict_or_proposing_hf_is_never_allowed():
    with pytest.raises(OverrideNotAllowed) as red:
        check_override(reviewer("r1", "HBE"), "OUS", [conflict("r1", "rod")])
    assert red.value.reasons == ["Testfagfelle R1 har erklært rød interessekonflikt for saken."]
    with pytest.raises(OverrideNotAllowed) as same_hf:
        check_override(reviewer("r2", "OUS"), "OUS", [])
    assert same_hf.value.reasons == ["Testfagfelle R2 er fra helseforetaket som foreslår metoden."]


def test_override_lists_the_reasons_the_coordinator_must_justify():
    r = reviewer("r1", "AHUS", "Kardiologi")
    reasons = check_override(r, "OUS", [conflict("r1", "gul")], fagomrade="Onkologi")
    assert reasons == [
        "Testfagfelle R1 dekker ikke fagområdet «Onkologi».",
        "Testfagfelle R1 er fra samme region som helseforetaket som foreslår metoden.",
        "Testfagfelle R1 har gul interessekonflikt som ikke er godkjent.",
    ]
    assert check_override(reviewer("r2", "HBE"), "OUS", [], fagomrade="onkologi") == []


def test_packet_download_needs_green_or_approved_yellow():
    assert may_download_packet(conflict("r1", "gronn"))
    assert may_download_packet(conflict("r1", "gul", approved=True))
    assert not may_download_packet(conflict("r1", "gul"))
    assert not may_download_packet(conflict("r1", "rod", approved=True))
    assert not may_download_packet(None)  # nothing declared yet


def test_conflicts_must_belong_to_one_case_and_use_a_known_level():
    other = Conflict(reviewer="r2", case_id="mh2", level="gronn")
    with pytest.raises(ValueError):
        candidates("OUS", "Onkologi", [reviewer("r1", "HBE")], [conflict("r1", "gronn"), other])
    with pytest.raises(ValueError):
        conflict("r1", "oransje")
