"""FORMS.md section 2: values (text, checkboxes, numbers, dates, choices, HF codes, rows)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms.catalog import get_form
from forms.helseforetak import registry
from processor.ingest import ingest
from processor.normalise import Problem, normalise_value, parse_date, parse_number
from tests.conftest import TODAY
from tests.spec_support import del2_json

SETTINGS = settings(max_examples=300, deadline=None)

DEL2 = get_form("tilgang-del2")
MINIHTA = get_form("minihta")

# ---- numbers -------------------------------------------------------------------------------------

THOUSANDS = st.sampled_from([" ", "\u00a0", "\u202f", ".", ""])


def grouped(n: int, sep: str) -> str:
    """`n` with a thousands separator, the Norwegian way: 1 234 567."""
    digits = str(n)
    groups = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return sep.join(groups)


@SETTINGS
@given(
    st.integers(0, 10**12),
    THOUSANDS,
    st.sampled_from(["{}", "kr {}", "kr. {}", "{} kr", "{},-", "kr {},-", " {} "]),
)
def test_norwegian_integer_amounts_round_trip(n, sep, frame):
    text = frame.format(grouped(n, sep))
    value = parse_number(text)
    assert value == n
    assert isinstance(value, int)


@SETTINGS
@given(st.integers(0, 10**11), THOUSANDS, st.sampled_from(["{}", "kr {}", "{} kr"]))
def test_norwegian_amounts_with_comma_decimals_round_trip(cents, sep, frame):
    text = frame.format(f"{grouped(cents // 100, sep)},{cents % 100:02}")
    assert parse_number(text) == cents / 100


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12 500", 12500),
        ("12 500,50", 12500.5),
        ("kr 12.500", 12500),
        ("12.500,-", 12500),
        ("1.234.567,89", 1234567.89),
        ("0,5", 0.5),
        ("146805", 146805),
    ],
)
def test_examples_from_the_spec(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text", ["", "  ", "kr", "tolv", "12a", "1.2.3", "12,5,0", "--5", "1,2.3,4"]
)
def test_text_that_is_no_number_gives_none(text):
    assert parse_number(text) is None


# ---- dates ---------------------------------------------------------------------------------------

DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@SETTINGS
@given(DATES)
def test_dates_round_trip_in_norwegian_and_iso_notation(d):
    for text in (
        d.strftime("%d.%m.%Y"),
        f"{d.day}.{d.month}.{d.year}",
        d.isoformat(),
        f" {d.isoformat()} ",
    ):
        assert parse_date(text) == d


@pytest.mark.parametrize(
    "text",
    [
        "31.02.2026",
        "29.02.2025",
        "00.01.2026",
        "32.01.2026",
        "15.13.2026",
        "2026-02-30",
        "2026-13-01",
        "2026-1-5",
        "14.03.25",
        "i går",
        "",
    ],
)
def test_invalid_dates_give_none(text):
    assert parse_date(text) is None


def test_leap_day_is_a_date():
    assert parse_date("29.02.2024") == date(2024, 2, 29)


# ---- checkboxes ----------------------------------------------------------------------------------

CHECKBOX = DEL2.field("soknad.samtykke_bekreftet")


@pytest.mark.parametrize(
    "raw", [True, 1, "true", "Ja", "ja", "X", "x", "☒", "/Yes", "/On", " yes "]
)
def test_ticked_checkbox_states(raw):
    assert normalise_value(CHECKBOX, raw) is True


@pytest.mark.parametrize("raw", [False, 0, "false", "Nei", "☐", "/Off", "", "  "])
def test_unticked_checkbox_states(raw):
    assert normalise_value(CHECKBOX, raw) is False


@pytest.mark.parametrize("raw", ["kanskje", 2, "/Maybe"])
def test_unknown_checkbox_state_is_a_problem(raw):
    assert isinstance(normalise_value(CHECKBOX, raw), Problem)


# ---- text ----------------------------------------------------------------------------------------


def test_text_is_trimmed_and_empty_text_is_not_filled():
    f = DEL2.field("pasient.diagnose")
    assert normalise_value(f, "  Melanom \n") == "Melanom"
    assert normalise_value(f, " \t ") is None


def test_blank_required_text_is_required_not_invalid():
    result = ingest("del2.json", del2_json(**{"soknad.soker_navn": "   "}), today=TODAY)
    assert result.status == "incomplete"
    assert [(f.code, f.field) for f in result.errors] == [("REQUIRED", "soknad.soker_navn")]


# ---- choices and HF codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "fid", "raw", "code"),
    [
        (DEL2, "behandling.behandlingsmal", "  livsforlengende ", "livsforlengende"),
        (DEL2, "behandling.behandlingsmal", "Livsforlengende", "livsforlengende"),
        (DEL2, "behandling.behandlingsmal", "LIVSFORLENGENDE", "livsforlengende"),
        (DEL2, "kostnader.prisgrunnlag", "Maksimalpris", "maksimalpris"),
        (DEL2, "pasient.juridisk_kjonn", "Kvinne", "kvinne"),
        (MINIHTA, "dokumentasjon.kvalitet", "Svært lav", "svart_lav"),
        (MINIHTA, "dokumentasjon.kvalitet", "  svært  LAV ", "svart_lav"),
        (MINIHTA, "dokumentasjon.kvalitet", "svart_lav", "svart_lav"),
        (MINIHTA, "konklusjon.anbefaling", "Innføres med vilkår", "innfores_med_vilkar"),
        (MINIHTA, "konklusjon.anbefaling", "innføres MED vilkår", "innfores_med_vilkar"),
    ],
)
def test_choice_accepts_code_or_label_regardless_of_case_and_space(form, fid, raw, code):
    assert normalise_value(form.field(fid), raw) == code


def test_every_catalogue_label_maps_back_to_its_code():
    for form in (DEL2, MINIHTA):
        for fid in form.field_ids():
            f = form.field(fid)
            if f.type == "choice":
                for c in f.choices:
                    assert normalise_value(f, c.label.upper()) == c.code, (fid, c)


@pytest.mark.parametrize("trust", sorted(registry().trusts))
def test_hf_code_and_name_are_accepted(trust):
    f = DEL2.field("soknad.helseforetak")
    name = registry().trusts[trust].name
    assert normalise_value(f, trust.lower()) == trust
    assert normalise_value(f, f"  {name.upper()} ") == trust


def test_labels_and_strings_in_json_are_normalised_like_file_values():
    result = ingest(
        "del2.json",
        del2_json(
            **{
                "soknad.helseforetak": "St. Olavs hospital HF",
                "behandling.behandlingsmal": "  Livsforlengende ",
                "kostnader.prisgrunnlag": "MAKSIMALPRIS",
                "kostnader.legemiddel_per_maned": "kr 146 805,-",
                "pasient.fodselsar": "1971",
                "forankring.dato": "01.11.2026",
                "soknad.samtykke_bekreftet": "Ja",
            }
        ),
        today=TODAY,
    )
    assert result.status == "accepted", result.errors
    assert result.data["soknad"]["helseforetak"] == "STO"
    assert result.data["soknad"]["samtykke_bekreftet"] is True
    assert result.data["behandling"]["behandlingsmal"] == "livsforlengende"
    assert result.data["kostnader"]["prisgrunnlag"] == "maksimalpris"
    assert result.data["kostnader"]["legemiddel_per_maned"] == 146805
    assert result.data["kostnader"]["andre_per_maned"] == 1000.5
    assert result.data["pasient"]["fodselsar"] == 1971
    assert result.data["forankring"]["dato"] == "2026-11-01"


def test_minihta_choice_labels_through_ingest():
    doc = {
        "skjema": {"type": "minihta", "versjon": "1"},
        "dokumentasjon": {"kvalitet": "Svært lav"},
        "konklusjon": {"anbefaling": "Innføres med vilkår"},
    }
    result = ingest("minihta.json", json.dumps(doc).encode(), today=TODAY)
    assert result.status == "incomplete"  # most fields are empty
    assert result.data["dokumentasjon"]["kvalitet"] == "svart_lav"
    assert result.data["konklusjon"]["anbefaling"] == "innfores_med_vilkar"
    bad = {f.field for f in result.errors if f.code == "INVALID_VALUE"}
    assert not bad & {"dokumentasjon.kvalitet", "konklusjon.anbefaling"}


# ---- repeating rows ------------------------------------------------------------------------------


def test_repeating_rows_become_an_array_without_empty_rows():
    doc = json.loads(del2_json())
    doc["litteratur"] = [
        {"tittel": "Studie A", "lenke": "https://a.example.no/1"},
        {"tittel": "", "lenke": "  "},
        {"tittel": "Studie B", "lenke": "doi:10.1000/b"},
    ]
    result = ingest("del2.json", json.dumps(doc).encode(), today=TODAY)
    assert result.status == "accepted", result.errors
    assert result.data["litteratur"] == [
        {"tittel": "Studie A", "lenke": "https://a.example.no/1"},
        {"tittel": "Studie B", "lenke": "doi:10.1000/b"},
    ]


# ---- bad values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fid", "raw"),
    [
        ("pasient.fodselsar", "nitten sytti"),
        ("pasient.fodselsar", 1850),
        ("pasient.fodselsar", 2030),
        ("pasient.fodselsar", 1971.5),
        ("kostnader.legemiddel_per_maned", "mye penger"),
        ("kostnader.legemiddel_per_maned", "-5 000"),
        ("kostnader.andre_per_maned", True),
        ("forankring.dato", "31.02.2026"),
        ("forankring.dato", "24.12.2026"),  # after today
        ("behandling.behandlingsmal", "kanskje"),
        ("kostnader.prisgrunnlag", "gratis"),
        ("pasient.juridisk_kjonn", "ukjent"),
        ("soknad.helseforetak", "XYZHF"),
        ("pasient.opptaksomrade", "Sykehuset Atlantis"),
        ("litteratur.1.lenke", "ftp://files.example.no/a"),
        ("litteratur.1.lenke", "www.example.no"),
        ("pasient.diagnosekode", "c34"),
        ("behandling.nye_metoder_id", "ID25_1"),
        ("soknad.del1_kontrollsum", "k1:XYZ"),
        ("soknad.soker_navn", True),
    ],
)
def test_bad_value_gives_invalid_value_on_that_field(fid, raw):
    result = ingest("del2.json", del2_json(**{fid: raw}), today=TODAY)
    assert result.status == "incomplete"
    on_field = [f for f in result.errors if f.field == fid]
    assert [f.code for f in on_field] == ["INVALID_VALUE"], result.errors
    message = on_field[0].message
    assert message.strip()
    if isinstance(raw, str) and len(raw) >= 4:
        assert raw.strip() not in message  # the message never repeats the value
