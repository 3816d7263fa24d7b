"""The draft form (web/draftform.py, PORTAL.md section 6) against the field catalogue: one input
per field named by its field id, the fields the service or the sign-off fill are no inputs,
repeat rows shown and added, findings beside their field, progress, and reading a post back."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from forms.catalog import get_form
from forms.fields import Repeat
from processor.domain import DRAFT_FORM_TYPES
from web import draftform
from web.draftform import Input, RowGroup

DEL2 = get_form("tilgang-del2")


def inputs(model: draftform.DraftForm) -> list[Input]:
    out: list[Input] = []
    for part in model.parts:
        for item in part.items:
            if isinstance(item, RowGroup):
                out.extend(i for row in item.rows for i in row.inputs)
            else:
                out.append(item)
    return out


def every_row(form_id: str) -> dict[str, int]:
    return {r.id: r.count for r in get_form(form_id).repeats()}


@pytest.mark.parametrize("form_id", [str(f) for f in DRAFT_FORM_TYPES])
def test_one_input_per_field_the_person_fills_in(form_id: str) -> None:
    form = get_form(form_id)
    model = draftform.build(form, {}, rows=every_row(form_id))
    names = [i.name for i in inputs(model)]
    expected = [
        fid
        for fid, (f, _rep) in form.entries()
        if not f.hidden and not fid.startswith(("skjema.", "forankring."))
    ]
    assert names == expected  # every field, once, in the catalogue's order
    for i in inputs(model):
        assert i.label == form.label(i.name)
        hit = form.lookup(i.name)
        assert hit is not None
        if i.kind == "readonly":  # the draft's HF: the service fills it, nothing to type
            assert i.help == draftform.READONLY_HELP and not i.required
        else:
            assert i.help.startswith(hit[0].help)


def test_kinds_come_from_the_field_types() -> None:
    model = draftform.build(DEL2, {}, rows={})
    kinds = {i.name: i.kind for i in inputs(model)}
    for fid, (f, _rep) in DEL2.entries():
        if fid not in kinds:
            continue
        if fid == draftform.hf_field(DEL2):
            assert kinds[fid] == "readonly"
        elif f.type == "checkbox":
            assert kinds[fid] == "checkbox"
        elif f.type == "textarea":
            assert kinds[fid] == "textarea"
        elif f.type == "choice":
            assert kinds[fid] == ("radios" if len(f.choices) <= draftform.RADIO_MAX else "select")
        elif f.type == "hf":
            assert kinds[fid] == "select"
        else:
            assert kinds[fid] == "text"


def test_the_sign_off_part_is_read_only_and_the_header_is_not_shown() -> None:
    values = {"forankring.linjeleder_navn": "Lise Leder", "skjema.type": "tilgang-del2"}
    model = draftform.build(DEL2, values)
    sign_off = next(p for p in model.parts if p.id == "forankring")
    assert sign_off.items == [] and sign_off.sign_off
    shown = {r.label: r.shown for r in sign_off.read_only}
    assert shown[DEL2.label("forankring.linjeleder_navn")] == "Lise Leder"
    assert "skjema" not in {p.id for p in model.parts}


def test_rows_shown_are_the_filled_ones_or_the_asked_number() -> None:
    rep = next(r for r in DEL2.repeats() if r.id == "litteratur")
    assert isinstance(rep, Repeat)
    title = rep.fields[0]

    def group(values: dict, rows: dict | None = None) -> RowGroup:
        model = draftform.build(DEL2, values, rows=rows)
        part = next(p for p in model.parts if p.id == "litteratur")
        item = part.items[0]
        assert isinstance(item, RowGroup)
        return item

    assert [r.n for r in group({}).rows] == [1]
    assert [r.n for r in group({rep.field_id(3, title): "Studie"}).rows] == [1, 2, 3]
    assert [r.n for r in group({}, {"litteratur": 2}).rows] == [1, 2]
    full = group({}, {"litteratur": rep.count})
    assert len(full.rows) == rep.count and not full.can_add
    names = [i.name for i in group({}, {"litteratur": 2}).rows[1].inputs]
    assert names == [rep.field_id(2, sub) for sub in rep.fields]


def test_each_finding_is_beside_its_field_and_in_the_summary() -> None:
    rule = next(r for r in DEL2.rules if getattr(r, "code", "") == "NO_CRITERION")
    errors = [
        {"code": "REQUIRED", "field": "pasient.diagnose", "message": "Diagnose mangler."},
        {"code": "INVALID_VALUE", "field": "pasient.fodselsar", "message": "For tidlig år."},
        {"code": "NO_CRITERION", "field": None, "message": rule.message},
        {"code": "LITERATURE_MISSING", "field": "litteratur", "message": "Ingen forskning."},
        {"code": "REQUIRED", "field": "forankring.dato", "message": "Dato mangler."},
    ]
    warnings = [{"code": "SHORT", "field": "pasient.sykehistorie", "message": "Kort tekst."}]
    values = {"pasient.fodselsar": "18", "pasient.sykehistorie": "Kort."}
    model = draftform.build(DEL2, values, errors, warnings)
    by_name = {i.name: i for i in inputs(model)}
    # a value given and wrong is an error; a field not filled in yet only lacks its value
    year = by_name["pasient.fodselsar"]
    assert [(m.text, m.kind) for m in year.messages] == [("For tidlig år.", "feil")]
    assert year.invalid and year.message_id in year.described_by()
    # a required field not filled in yet: its label says so, nothing more beside it (it is in
    # the list of what is missing below)
    diagnosis = by_name["pasient.diagnose"]
    assert DEL2.field("pasient.diagnose").required and diagnosis.required
    assert diagnosis.messages == [] and not diagnosis.invalid
    assert diagnosis.message_id not in diagnosis.described_by()
    history = by_name["pasient.sykehistorie"]
    assert [m.kind for m in history.messages] == ["advarsel"] and not history.invalid
    criteria = next(p for p in model.parts if p.id == "kriterier")
    assert [m.text for m in criteria.messages] == [rule.message]
    literature = next(p for p in model.parts if p.id == "litteratur").items[0]
    assert isinstance(literature, RowGroup) and literature.messages[0].text == "Ingen forskning."
    # the sign-off's own fields are not the author's to fix: neither beside a field nor listed
    assert model.summary == [("pasient.fodselsar", "For tidlig år.")]
    assert model.missing == [
        ("pasient.diagnose", "Diagnose mangler."),
        (rule.fields[0], rule.message),
        ("litteratur.1.tittel", "Ingen forskning."),
    ]
    # a refused save's errors are all wrong values, whatever the fields hold
    refused = draftform.build(DEL2, {}, errors[:1], refused=True)
    assert refused.summary == [("pasient.diagnose", "Diagnose mangler.")]
    assert refused.missing == []


def test_a_radio_group_is_linked_by_its_first_radio() -> None:
    errors = [{"code": "REQUIRED", "field": "pasient.juridisk_kjonn", "message": "Mangler."}]
    model = draftform.build(DEL2, {}, errors)
    first = DEL2.field("pasient.juridisk_kjonn").choices[0].code
    assert model.missing == [(f"pasient.juridisk_kjonn-{first}", "Mangler.")]


def test_progress_counts_the_parts_the_person_fills_in() -> None:
    fillable = [
        s
        for s in DEL2.sections
        if any(not getattr(i, "hidden", False) for i in s.items)
        and not s.id.startswith(("skjema", "forankring"))
    ]
    empty = draftform.build(DEL2, {}, [{"code": "REQUIRED", "field": "pasient.diagnose"}])
    assert empty.total == len(fillable)
    assert not next(p for p in empty.parts if p.id == "pasient").complete
    filled = draftform.build(DEL2, {"totalvurdering": "Samlet vurdering."}, [])
    assert next(p for p in filled.parts if p.id == "totalvurdering").complete
    assert filled.done > empty.done


def test_a_posted_form_becomes_the_values_of_a_save() -> None:
    rep = next(r for r in DEL2.repeats() if r.id == "litteratur")
    posted = MultiDict(
        {
            "soknad.soker_navn": "Lege Legesen",
            "soknad.samtykke_bekreftet": "ja",
            "soknad.helseforetak": "AHUS",  # not the draft's: the draft's HF is sent
            "forankring.linjeleder_navn": "Meg selv",  # the sign-off's: never sent
            "skjema.type": "minihta",
            rep.field_id(1, rep.fields[0]): "Studie",
            rep.field_id(1, rep.fields[1]): "",
        }
    )
    values = draftform.read_posted(DEL2, posted, "OUS")
    assert values["soknad.soker_navn"] == "Lege Legesen"
    assert values["soknad.samtykke_bekreftet"] is True
    assert values["kriterier.okt_nytte.oppfylt"] is False  # an unticked box
    assert values["pasient.diagnose"] == ""  # shown and left blank: cleared
    assert values["soknad.helseforetak"] == "OUS"
    assert not any(k.startswith(("forankring.", "skjema.")) for k in values)
    assert values[rep.field_id(1, rep.fields[0])] == "Studie"
    assert rep.field_id(2, rep.fields[0]) not in values  # a row not shown is not named


def test_removing_a_row_moves_the_later_rows_up() -> None:
    rep = next(r for r in DEL2.repeats() if r.id == "litteratur")
    t, link = rep.fields
    values = {
        rep.field_id(1, t): "A",
        rep.field_id(1, link): "https://a.no",
        rep.field_id(2, t): "B",
        rep.field_id(2, link): "https://b.no",
        rep.field_id(3, t): "C",
        rep.field_id(3, link): "",
    }
    out = draftform.shift_rows(DEL2, values, "litteratur", 2)
    assert [out[rep.field_id(n, t)] for n in (1, 2, 3)] == ["A", "C", ""]
    assert out[rep.field_id(2, link)] == ""
    assert draftform.shift_rows(DEL2, values, "finnes-ikke", 1) == values
