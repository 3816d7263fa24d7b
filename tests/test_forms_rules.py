"""Each completeness and consistency rule, broken on its own, gives its code on its field
(FORMS.md §3, §5, §8; MINIHTA.md). Forms are built from the catalogue-driven sample values."""

from __future__ import annotations

import pytest

from forms.catalog import catalogue, get_form
from processor.ingest import ingest
from tests.conftest import TODAY
from tests.fillers import fill_json, sample_values

UPLOADED = ["tilgang-del2", "minihta", "minihta-okonomi", "minihta-fagfelle", "minihta-beslutning"]


def run(form_id: str, changes: dict | None = None):
    values = sample_values(form_id)
    for key, value in (changes or {}).items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return ingest(f"{form_id}.json", fill_json(get_form(form_id), values), today=TODAY)


def findings(result) -> set[tuple[str, str | None]]:
    return {(f.code, f.field) for f in result.errors}


@pytest.mark.parametrize("form_id", UPLOADED)
def test_sample_values_are_accepted(form_id):
    result = run(form_id)
    assert result.status == "accepted", result.errors
    assert result.form_type == form_id and result.form_version == "1"


def _required(form_id: str) -> list[str]:
    form = catalogue()[form_id]
    return [
        f.id
        for f in form.fields()
        if f.required and f.type != "checkbox" and not f.id.startswith("skjema.")
    ]


@pytest.mark.parametrize(
    ("form_id", "field_id"), [(fid, f) for fid in UPLOADED for f in _required(fid)]
)
def test_empty_required_field_is_reported(form_id, field_id):
    result = run(form_id, {field_id: None})
    assert result.status == "incomplete"
    assert ("REQUIRED", field_id) in findings(result)


def test_whitespace_only_counts_as_empty():
    result = run("tilgang-del2", {"pasient.diagnose": "   \n "})
    assert ("REQUIRED", "pasient.diagnose") in findings(result)


@pytest.mark.parametrize("value", [False, None])
def test_consent_not_true_is_consent_missing(value):
    result = run("tilgang-del2", {"soknad.samtykke_bekreftet": value})
    assert ("CONSENT_MISSING", "soknad.samtykke_bekreftet") in findings(result)


@pytest.mark.parametrize(
    "field_id",
    [
        "forankring.linjeleder_godkjent",
        "forankring.fagdirektor_godkjent",
        "forankring.fagdirektor_bekrefter_komplett",
    ],
)
@pytest.mark.parametrize("value", [False, None])
def test_missing_approval_is_approval_missing(field_id, value):
    result = run("tilgang-del2", {field_id: value})
    assert ("APPROVAL_MISSING", field_id) in findings(result)
    assert result.status == "incomplete"


@pytest.mark.parametrize(
    "reference",
    [
        "2026-13-01-OUS-KREFT",  # no month 13
        "2026-02-30-OUS-KREFT",  # no such day
        "2026-12-24-OUS-KREFT",  # in the future (today is 2026-11-23)
        "2026-03-14-XYZ-KREFT",  # unknown HF
        "2026-03-14-OUS",  # no department
        "2026-03-14-OUS-KREFT-0",  # running number starts at 1
        "2026-03-14-OUS-KREFT-1000",  # at most 999
        "2026-03-14-OUS-" + "A" * 21,  # department longer than 20
        "14.03.2026-OUS-KREFT",
    ],
)
def test_reference_breaking_section_5_is_reference_invalid(reference):
    hf = "OUS"
    result = run("tilgang-del2", {"soknad.referansenummer": reference, "soknad.helseforetak": hf})
    assert ("REFERENCE_INVALID", "soknad.referansenummer") in findings(result)


def test_reference_is_compared_case_insensitively_and_stored_upper_case():
    result = run(
        "tilgang-del2",
        {"soknad.referansenummer": "2026-03-14-ous-kreft-2", "soknad.helseforetak": "OUS"},
    )
    assert result.status == "accepted", result.errors
    assert result.reference == "2026-03-14-OUS-KREFT-2"
    assert result.data["soknad"]["referansenummer"] == "2026-03-14-OUS-KREFT-2"


def test_department_may_hold_norwegian_letters_and_digits():
    result = run(
        "tilgang-del2",
        {"soknad.referansenummer": "2026-03-14-OUS-BRYSTKIRURGI2Ø", "soknad.helseforetak": "OUS"},
    )
    assert result.status == "accepted", result.errors


def test_reference_hf_differs_from_applying_hf():
    result = run(
        "tilgang-del2",
        {"soknad.referansenummer": "2026-03-14-OUS-KREFT", "soknad.helseforetak": "AHUS"},
    )
    assert ("REFERENCE_HF_MISMATCH", "soknad.referansenummer") in findings(result)


def test_other_treatment_goal_needs_its_text():
    result = run(
        "tilgang-del2",
        {"behandling.behandlingsmal": "annet", "behandling.behandlingsmal_annet": None},
    )
    assert ("REQUIRED", "behandling.behandlingsmal_annet") in findings(result)


CRITERIA = ("okt_nytte", "hoyere_alvorlighet", "sarskilte_medisinske_arsaker")


def test_no_criterion_ticked():
    result = run("tilgang-del2", {f"kriterier.{c}.oppfylt": False for c in CRITERIA})
    assert "NO_CRITERION" in {code for code, _ in findings(result)}


@pytest.mark.parametrize("criterion", CRITERIA)
def test_ticked_criterion_without_justification(criterion):
    result = run(
        "tilgang-del2",
        {f"kriterier.{criterion}.oppfylt": True, f"kriterier.{criterion}.begrunnelse": None},
    )
    assert ("JUSTIFICATION_MISSING", f"kriterier.{criterion}.begrunnelse") in findings(result)


def test_unticked_criterion_needs_no_justification():
    changes = {f"kriterier.{c}.oppfylt": False for c in CRITERIA[1:]}
    changes.update({f"kriterier.{c}.begrunnelse": None for c in CRITERIA[1:]})
    changes["kriterier.okt_nytte.oppfylt"] = True
    assert run("tilgang-del2", changes).status == "accepted"


def _no_literature(form_id: str) -> dict:
    rep = next(r for r in get_form(form_id).repeats() if r.id == "litteratur")
    return {rep.field_id(n, sub): None for n in range(1, rep.count + 1) for sub in rep.fields}


def test_increased_benefit_without_literature():
    changes = {"kriterier.okt_nytte.oppfylt": True, **_no_literature("tilgang-del2")}
    result = run("tilgang-del2", changes)
    assert ("LITERATURE_MISSING", "litteratur") in findings(result)


def test_literature_not_needed_without_increased_benefit():
    changes = {
        "kriterier.okt_nytte.oppfylt": False,
        "kriterier.okt_nytte.begrunnelse": None,
        "kriterier.hoyere_alvorlighet.oppfylt": True,
        "kriterier.hoyere_alvorlighet.begrunnelse": "Alvorlig forløp.",
        **_no_literature("tilgang-del2"),
    }
    assert run("tilgang-del2", changes).status == "accepted"


def test_title_without_link():
    changes = {**_no_literature("tilgang-del2"), "litteratur.1.tittel": "En studie"}
    result = run("tilgang-del2", changes)
    assert ("LITERATURE_MISSING", "litteratur.1.lenke") in findings(result)


def test_empty_literature_rows_are_dropped_from_the_data():
    changes = {
        **_no_literature("tilgang-del2"),
        "litteratur.3.tittel": "Studie",
        "litteratur.3.lenke": "doi:10.1000/1",
    }
    result = run("tilgang-del2", changes)
    assert result.status == "accepted", result.errors
    assert result.data["litteratur"] == [{"tittel": "Studie", "lenke": "doi:10.1000/1"}]


@pytest.mark.parametrize(
    ("field_id", "value"),
    [
        ("pasient.fodselsar", "2027"),
        ("pasient.fodselsar", "1899"),
        ("pasient.fodselsar", "19x5"),
        ("pasient.juridisk_kjonn", "ukjent"),
        ("pasient.diagnosekode", "c341"),
        ("pasient.opptaksomrade", "Sykehus i Utlandet"),
        ("behandling.nye_metoder_id", "ID25_131"),
        ("kostnader.legemiddel_per_maned", "-100"),
        ("kostnader.legemiddel_per_maned", "mye"),
        ("kostnader.prisgrunnlag", "listepris"),
        ("forankring.dato", "2026-12-01"),
        ("forankring.dato", "31.02.2026"),
        ("soknad.del1_kontrollsum", "k1:XYZ"),
        ("litteratur.1.lenke", "www.example.org"),
        ("soknad.samtykke_bekreftet", "kanskje"),
    ],
)
def test_invalid_values_in_del2(field_id, value):
    result = run("tilgang-del2", {field_id: value})
    assert ("INVALID_VALUE", field_id) in findings(result), result.errors
    assert result.status == "incomplete"


def test_norwegian_notation_is_normalised():
    result = run(
        "tilgang-del2",
        {
            "kostnader.legemiddel_per_maned": "kr 12.500",
            "kostnader.andre_per_maned": "12 500,50",
            "forankring.dato": "01.11.2026",
            "behandling.behandlingsmal": "Livsforlengende",
            "kostnader.prisgrunnlag": " MAKSIMALPRIS ",
            "pasient.fodselsar": "1987",
        },
    )
    assert result.status == "accepted", result.errors
    assert result.data["kostnader"] == {
        **result.data["kostnader"],
        "legemiddel_per_maned": 12500,
        "andre_per_maned": 12500.5,
        "prisgrunnlag": "maksimalpris",
    }
    assert result.data["forankring"]["dato"] == "2026-11-01"
    assert result.data["behandling"]["behandlingsmal"] == "livsforlengende"
    assert result.data["pasient"]["fodselsar"] == 1987


def test_every_finding_is_reported_at_once():
    result = run(
        "tilgang-del2",
        {
            "pasient.diagnose": None,
            "soknad.samtykke_bekreftet": False,
            "forankring.fagdirektor_godkjent": False,
            "pasient.fodselsar": "3000",
        },
    )
    codes = {code for code, _ in findings(result)}
    assert {"REQUIRED", "CONSENT_MISSING", "APPROVAL_MISSING", "INVALID_VALUE"} <= codes


def test_messages_are_norwegian_and_name_the_label():
    result = run("tilgang-del2", {"pasient.diagnose": None})
    message = next(f.message for f in result.errors if f.field == "pasient.diagnose")
    assert "Diagnose det søkes behandling for" in message


# ---- mini-HTA --------------------------------------------------------------------------------


def test_phase_out_recommendation_needs_phase_out_purpose():
    result = run("minihta", {"konklusjon.anbefaling": "utfases", "generelt.formal": "innforing"})
    assert ("INVALID_VALUE", "konklusjon.anbefaling") in findings(result)
    ok = run("minihta", {"konklusjon.anbefaling": "utfases", "generelt.formal": "utfasing"})
    assert ok.status == "accepted", ok.errors


def test_no_studies_needs_very_low_quality():
    result = run("minihta", {"dokumentasjon.antall_studier": "0", "dokumentasjon.kvalitet": "lav"})
    assert ("INVALID_VALUE", "dokumentasjon.kvalitet") in findings(result)
    ok = run("minihta", {"dokumentasjon.antall_studier": 0, "dokumentasjon.kvalitet": "Svært lav"})
    assert ok.status == "accepted", ok.errors


def test_minihta_needs_one_literature_row():
    result = run("minihta", _no_literature("minihta"))
    assert ("LITERATURE_MISSING", "litteratur") in findings(result)


@pytest.mark.parametrize(
    ("when", "field_id"),
    [
        ("metode.vurdert_i_nye_metoder", "metode.nye_metoder_id"),
        ("konklusjon.foreslas_nasjonalt", "konklusjon.nasjonalt_begrunnelse"),
    ],
)
def test_minihta_conditional_fields(when, field_id):
    result = run("minihta", {when: True, field_id: None})
    assert ("REQUIRED", field_id) in findings(result)


@pytest.mark.parametrize(
    ("field_id", "value"),
    [
        ("generelt.forslagsstiller_epost", "ikke-en-adresse"),
        ("metode.pasienter_per_ar", "12,5"),
        ("metode.type", "kirurgi"),
        ("generelt.helseforetak", "XX"),
    ],
)
def test_minihta_invalid_values(field_id, value):
    assert ("INVALID_VALUE", field_id) in findings(run("minihta", {field_id: value}))


def test_budget_figure_off_by_more_than_one_krone():
    values = sample_values("minihta-okonomi")
    off = float(values["okonomi.budsjett.ar3"]) + 2
    result = run("minihta-okonomi", {"okonomi.budsjett.ar3": off})
    assert ("INVALID_VALUE", "okonomi.budsjett.ar3") in findings(result)
    near = float(values["okonomi.budsjett.ar3"]) + 0.5
    assert run("minihta-okonomi", {"okonomi.budsjett.ar3": near}).status == "accepted"


def test_empty_income_change_counts_as_zero():
    values = sample_values("minihta-okonomi")
    inv, drift, dagens = (
        float(values[k])
        for k in (
            "okonomi.investering",
            "okonomi.driftskostnad_per_ar",
            "okonomi.kostnad_dagens_praksis_per_ar",
        )
    )
    changes = {
        "okonomi.endring_inntekter_per_ar": None,
        "okonomi.budsjett.ar1": inv + drift - dagens,
    }
    changes.update({f"okonomi.budsjett.ar{n}": drift - dagens for n in range(2, 6)})
    assert run("minihta-okonomi", changes).status == "accepted"


def test_disqualified_reviewer_cannot_submit():
    assert ("INVALID_VALUE", "habilitet.niva") in findings(
        run("minihta-fagfelle", {"habilitet.niva": "rod"})
    )


def test_yellow_conflict_needs_description():
    result = run("minihta-fagfelle", {"habilitet.niva": "gul", "habilitet.beskrivelse": None})
    assert ("REQUIRED", "habilitet.beskrivelse") in findings(result)


@pytest.mark.parametrize("answer", ["delvis", "Nei"])
def test_partial_or_negative_answer_needs_comments(answer):
    result = run("minihta-fagfelle", {"vurdering.okonomi": answer, "vurdering.kommentarer": None})
    assert ("REQUIRED", "vurdering.kommentarer") in findings(result)


def test_case_id_format():
    result = run("minihta-fagfelle", {"sak.id": "MMV-26-4"})
    assert ("INVALID_VALUE", "sak.id") in findings(result)


@pytest.mark.parametrize(
    ("changes", "field_id"),
    [
        (
            {"beslutning.utfall": "innfort_med_vilkar", "beslutning.vilkar": None},
            "beslutning.vilkar",
        ),
        (
            {"oppfolging.evaluering_planlagt": True, "oppfolging.revurderingsdato": None},
            "oppfolging.revurderingsdato",
        ),
    ],
)
def test_decision_conditional_fields(changes, field_id):
    assert ("REQUIRED", field_id) in findings(run("minihta-beslutning", changes))


def test_decision_date_not_in_future():
    result = run("minihta-beslutning", {"beslutning.dato": "2027-01-01"})
    assert ("INVALID_VALUE", "beslutning.dato") in findings(result)


# ---- form identification ------------------------------------------------------------------------


def test_unknown_form_type():
    result = run("tilgang-del2", {"skjema.type": "tilgang-del3"})
    assert result.status == "rejected"
    assert "FORM_UNKNOWN" in {f.code for f in result.errors}


def test_missing_form_type():
    result = run("tilgang-del2", {"skjema.type": None})
    assert "FORM_UNKNOWN" in {f.code for f in result.errors}


def test_unknown_version():
    result = run("tilgang-del2", {"skjema.versjon": "2"})
    assert result.status == "rejected"
    assert "FORM_VERSION_UNSUPPORTED" in {f.code for f in result.errors}


def test_del1_is_never_accepted():
    result = run("tilgang-del1")
    assert result.status == "rejected"
    assert "DEL1_NOT_ALLOWED" in {f.code for f in result.errors}
    assert result.data is None
