"""`processor.routing.reviewer_options`: every reviewer with whether and why they can review a case,
by the same rules as `pick_reviewer` and `check_override` (pure: no database)."""

from __future__ import annotations

from processor.routing import Conflict, Reviewer, pick_reviewer, reviewer_options

REGIONS = {"A1": "A", "A2": "A", "B1": "B", "B2": "B"}


def _r(name: str, hf: str, fields: tuple[str, ...] = ("Onkologi",), open_: int = 0) -> Reviewer:
    return Reviewer(name, name.title(), hf, fields, open_)


def _options(reviewers: list[Reviewer], conflicts: list[Conflict] | None = None):  # noqa: ANN202
    return {
        o.reviewer.username: o
        for o in reviewer_options(
            "A1", "Onkologi", reviewers, conflicts or [], region_of=REGIONS.get
        )
    }


def test_each_reviewer_says_why_and_the_rules_pick_comes_first() -> None:
    reviewers = [
        _r("busy", "B1", open_=3),
        _r("free", "B2", open_=0),
        _r("home", "A1"),
        _r("region", "A2"),
        _r("skin", "B1", ("Dermatologi",)),
        _r("red", "B2"),
    ]
    conflicts = [Conflict("red", "MMV-2026-001", "rod")]
    listed = reviewer_options("A1", "Onkologi", reviewers, conflicts, region_of=REGIONS.get)
    pick = pick_reviewer("A1", "Onkologi", reviewers, conflicts, region_of=REGIONS.get).reviewer
    assert listed[0].reviewer == pick and listed[0].rules_pick and listed[0].follows_rules
    got = {o.reviewer.username: o for o in listed}
    assert got["home"].blocked and not got["home"].selectable
    assert got["red"].blocked and "rød" in got["red"].blocked[0]
    assert got["skin"].selectable and "dekker ikke fagområdet" in got["skin"].needs_reason[0]
    assert got["region"].selectable and "samme region" in got["region"].needs_reason[0]
    assert got["busy"].selectable and "flere åpne" in got["busy"].needs_reason[0]
    # the blocked come last
    assert [o.selectable for o in listed] == sorted((o.selectable for o in listed), reverse=True)


def test_a_yellow_conflict_needs_approval_before_it_follows_the_rules() -> None:
    conflict = Conflict("free", "MMV-2026-001", "gul")
    got = _options([_r("free", "B2")], [conflict])
    assert not got["free"].rules_pick and got["free"].needs_reason
    approved = Conflict("free", "MMV-2026-001", "gul", approved=True)
    assert _options([_r("free", "B2")], [approved])["free"].follows_rules
