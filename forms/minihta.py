"""Mini-HTA forms: skjema 1, the economics workbook, skjema 2 (peer review), skjema 3. MINIHTA.md."""

from __future__ import annotations

from forms.fields import (
    BudgetFormula,
    Choice,
    Field,
    Forbidden,
    FormDef,
    MinRows,
    OnlyWith,
    Repeat,
    RequiredIf,
    RequiredIfAny,
    Section,
    header_fields,
)
from forms.helseforetak import hf_choices
from forms.tilgang import nye_metoder_id_field

SAK_ID = r"^MMV-[0-9]{4}-[0-9]{3}$"
SAK_ID_HINT = "MMV-ÅÅÅÅ-NNN, for eksempel MMV-2026-004"
_HF = hf_choices()
JA_DELVIS_NEI = (Choice("ja", "Ja"), Choice("delvis", "Delvis"), Choice("nei", "Nei"))


def _case_id_field(required: bool, help_text: str) -> Field:
    return Field(
        "sak.id",
        "Saks-ID",
        required=required,
        pattern=SAK_ID,
        pattern_hint=SAK_ID_HINT,
        help=help_text,
    )


MINIHTA = FormDef(
    id="minihta",
    version="1",
    name="Mini-metodevurdering (skjema 1)",
    short_name="Mini-metodevurdering",
    uploaded=True,
    description=(
        "En forenklet metodevurdering gjort ved ett sykehus når en avdeling vil innføre en ny "
        "metode eller fase ut en gammel: klinisk effekt og sikkerhet, etikk, organisasjon og "
        "økonomi."
    ),
    sections=(
        Section("skjema", "Skjema", header_fields("minihta", "1")),
        Section(
            "generelt",
            "Generell informasjon",
            (
                Field("generelt.tittel", "Tittel på mini-metodevurderingen", required=True),
                Field(
                    "generelt.formal",
                    "Formål",
                    "choice",
                    required=True,
                    choices=(
                        Choice("innforing", "Innføring av ny metode"),
                        Choice("utfasing", "Revurdering og utfasing"),
                    ),
                ),
                Field("generelt.helseforetak", "Helseforetak", "hf", required=True, choices=_HF),
                Field("generelt.avdeling", "Avdeling", required=True),
                Field("generelt.forslagsstiller_navn", "Forslagsstiller", required=True),
                Field("generelt.forslagsstiller_stilling", "Stilling", required=True),
                Field("generelt.forslagsstiller_epost", "E-post", "email", required=True),
                Field(
                    "generelt.medforfattere",
                    "Andre som har bidratt (fagpersoner, bibliotekar, controller)",
                    "textarea",
                ),
                Field(
                    "generelt.interessekonflikter",
                    "Interessekonflikter",
                    "textarea",
                    required=True,
                    help="Skriv «Ingen» når det ikke er noen.",
                ),
                Field("generelt.dato", "Dato", "date", required=True),
            ),
        ),
        Section(
            "sammendrag",
            "Sammendrag",
            (Field("sammendrag", "Sammendrag", "textarea", required=True),),
        ),
        Section(
            "metode",
            "Metoden og problemstillingen",
            (
                Field("metode.beskrivelse", "Beskrivelse av metoden", "textarea", required=True),
                Field(
                    "metode.type",
                    "Type metode",
                    "choice",
                    required=True,
                    choices=(
                        Choice("legemiddel", "Legemiddel"),
                        Choice("medisinsk_utstyr", "Medisinsk utstyr"),
                        Choice("prosedyre", "Prosedyre"),
                        Choice("diagnostikk", "Diagnostikk"),
                        Choice("organisatorisk", "Organisatorisk"),
                        Choice("annet", "Annet"),
                    ),
                ),
                Field(
                    "metode.fagomrade",
                    "Fagområde",
                    required=True,
                    help="Fagområdet metoden hører til, for eksempel Onkologi.",
                ),
                Field(
                    "metode.dagens_praksis",
                    "Dagens praksis (det metoden sammenlignes med)",
                    "textarea",
                    required=True,
                ),
                Field("metode.pico_populasjon", "Pasientgruppe (P)", "textarea", required=True),
                Field("metode.pico_intervensjon", "Intervensjon (I)", "textarea", required=True),
                Field("metode.pico_komparator", "Sammenligning (C)", "textarea", required=True),
                Field("metode.pico_utfall", "Utfall (O)", "textarea", required=True),
                Field(
                    "metode.pasienter_per_ar",
                    "Antall pasienter per år",
                    "integer",
                    required=True,
                    minimum=0,
                ),
                Field(
                    "metode.vurdert_i_nye_metoder",
                    "Er metoden vurdert i Nye metoder?",
                    "checkbox",
                ),
                nye_metoder_id_field(
                    "metode.nye_metoder_id",
                    help_text="Påkrevd når metoden er vurdert i Nye metoder.",
                ),
                Field(
                    "metode.bruk_andre_steder",
                    "Bruk ved andre sykehus, i Norge og internasjonalt",
                    "textarea",
                ),
            ),
        ),
        Section(
            "dokumentasjon",
            "Dokumentasjon og litteratursøk",
            (
                Field("dokumentasjon.sokedato", "Dato for litteratursøk", "date", required=True),
                Field("dokumentasjon.databaser", "Databaser som er søkt i", required=True),
                Field("dokumentasjon.sokestrategi", "Søkestrategi", "textarea", required=True),
                Field("dokumentasjon.bibliotekar", "Bibliotekar har bistått", "checkbox"),
                Field(
                    "dokumentasjon.antall_studier",
                    "Antall inkluderte studier",
                    "integer",
                    required=True,
                    minimum=0,
                ),
                Field(
                    "dokumentasjon.kvalitet",
                    "Samlet kvalitet på dokumentasjonen (GRADE)",
                    "choice",
                    required=True,
                    choices=(
                        Choice("hoy", "Høy"),
                        Choice("middels", "Middels"),
                        Choice("lav", "Lav"),
                        Choice("svart_lav", "Svært lav"),
                    ),
                ),
            ),
        ),
        Section(
            "effekt",
            "Effekt og sikkerhet",
            (
                Field("effekt.klinisk_effekt", "Klinisk effekt", "textarea", required=True),
                Field("effekt.sikkerhet", "Sikkerhet og bivirkninger", "textarea", required=True),
            ),
        ),
        Section(
            "etikk",
            "Etikk",
            (Field("etikk.vurdering", "Etiske og juridiske aspekter", "textarea", required=True),),
        ),
        Section(
            "organisasjon",
            "Organisasjon",
            (
                Field(
                    "organisasjon.personell",
                    "Konsekvenser for personell og opplæring",
                    "textarea",
                    required=True,
                ),
                Field("organisasjon.lokaler_utstyr", "Lokaler og utstyr", "textarea"),
                Field(
                    "organisasjon.andre_avdelinger",
                    "Konsekvenser for andre avdelinger",
                    "textarea",
                ),
            ),
        ),
        Section(
            "okonomi",
            "Økonomi",
            (
                Field(
                    "okonomi.investering",
                    "Investeringskostnad (NOK)",
                    "number",
                    required=True,
                    minimum=0,
                ),
                Field(
                    "okonomi.driftskostnad_per_ar",
                    "Driftskostnader per år (NOK)",
                    "number",
                    required=True,
                    minimum=0,
                ),
                Field(
                    "okonomi.kostnad_dagens_praksis_per_ar",
                    "Kostnad ved dagens praksis per år (NOK)",
                    "number",
                    required=True,
                    minimum=0,
                ),
                Field("okonomi.controller", "Controller har bistått", "checkbox"),
                Field(
                    "okonomi.kommentar",
                    "Kommentar til økonomi, også samfunnsøkonomi",
                    "textarea",
                    help="Detaljene legges i økonomivedlegget (XLSX).",
                ),
            ),
        ),
        Section(
            "konklusjon",
            "Konklusjon",
            (
                Field(
                    "konklusjon.anbefaling",
                    "Anbefaling",
                    "choice",
                    required=True,
                    choices=(
                        Choice("innfores", "Innføres"),
                        Choice("innfores_med_vilkar", "Innføres med vilkår"),
                        Choice("innfores_ikke", "Innføres ikke"),
                        Choice("utfases", "Utfases"),
                    ),
                ),
                Field("konklusjon.begrunnelse", "Begrunnelse", "textarea", required=True),
                Field(
                    "konklusjon.foreslas_nasjonalt",
                    "Bør metoden vurderes nasjonalt i Nye metoder?",
                    "checkbox",
                ),
                Field(
                    "konklusjon.nasjonalt_begrunnelse",
                    "Begrunnelse for nasjonal vurdering",
                    "textarea",
                    help="Påkrevd når metoden foreslås vurdert nasjonalt.",
                ),
            ),
        ),
        Section(
            "litteratur",
            "Litteratur",
            (
                Repeat(
                    "litteratur",
                    "Litteratur",
                    10,
                    (
                        Field("referanse", "Referanse"),
                        Field("lenke", "Lenke", "url", help="https://-adresse eller doi:."),
                    ),
                    help="Minst én referanse.",
                ),
            ),
        ),
    ),
    rules=(
        RequiredIf("metode.nye_metoder_id", "metode.vurdert_i_nye_metoder", (True,)),
        RequiredIf("konklusjon.nasjonalt_begrunnelse", "konklusjon.foreslas_nasjonalt", (True,)),
        OnlyWith(
            "konklusjon.anbefaling",
            "utfases",
            "generelt.formal",
            "utfasing",
            "Anbefalingen «Utfases» kan bare brukes når formålet er revurdering og utfasing.",
        ),
        OnlyWith(
            "dokumentasjon.antall_studier",
            0,
            "dokumentasjon.kvalitet",
            "svart_lav",
            "Uten inkluderte studier må kvaliteten på dokumentasjonen være «Svært lav».",
            on="dokumentasjon.kvalitet",
        ),
        MinRows("litteratur", "LITERATURE_MISSING", "Minst én litteraturreferanse må oppgis."),
    ),
)


_BUDGET_YEARS = tuple(f"okonomi.budsjett.ar{n}" for n in range(1, 6))
_YEAR1 = (
    "okonomi.investering+okonomi.driftskostnad_per_ar-okonomi.kostnad_dagens_praksis_per_ar"
    "-okonomi.endring_inntekter_per_ar"
)
_LATER = "okonomi.driftskostnad_per_ar-okonomi.kostnad_dagens_praksis_per_ar-okonomi.endring_inntekter_per_ar"

OKONOMI = FormDef(
    id="minihta-okonomi",
    version="1",
    name="Økonomivedlegg til mini-metodevurdering",
    short_name="Økonomivedlegg",
    uploaded=True,
    reference_field="sak.id",
    formats=("xlsx", "json"),
    description="Budsjettkonsekvenser av metoden de fem første årene.",
    sections=(
        Section("skjema", "Skjema", header_fields("minihta-okonomi", "1")),
        Section(
            "sak",
            "Saken",
            (
                _case_id_field(
                    False, "Saks-ID-en mini-metodevurderingen fikk ved mottak, når den er kjent."
                ),
                Field("sak.tittel", "Tittel på mini-metodevurderingen", required=True),
            ),
        ),
        Section(
            "okonomi",
            "Forutsetninger",
            (
                Field(
                    "okonomi.pasienter_per_ar",
                    "Antall pasienter per år",
                    "integer",
                    required=True,
                    minimum=0,
                ),
                Field(
                    "okonomi.investering",
                    "Investering år 1 (NOK)",
                    "number",
                    required=True,
                    minimum=0,
                ),
                Field(
                    "okonomi.driftskostnad_per_ar",
                    "Driftskostnad per år, ny metode (NOK)",
                    "number",
                    required=True,
                    minimum=0,
                ),
                Field(
                    "okonomi.kostnad_dagens_praksis_per_ar",
                    "Kostnad per år, dagens praksis (NOK)",
                    "number",
                    required=True,
                    minimum=0,
                ),
                Field(
                    "okonomi.endring_inntekter_per_ar",
                    "Endring i inntekter per år (NOK, DRG o.l.)",
                    "number",
                    help="Tomt regnes som 0.",
                ),
            ),
        ),
        Section(
            "budsjett",
            "Budsjettkonsekvens",
            tuple(
                Field(
                    year,
                    f"Budsjettkonsekvens år {n} (NOK)",
                    "number",
                    required=True,
                    formula=_YEAR1 if n == 1 else _LATER,
                    help="Beregnes av arket.",
                )
                for n, year in enumerate(_BUDGET_YEARS, start=1)
            ),
            intro="År 1 = investering + drift − dagens praksis − inntekter; år 2–5 uten investering.",
        ),
    ),
    rules=(
        BudgetFormula(
            _BUDGET_YEARS,
            "okonomi.investering",
            "okonomi.driftskostnad_per_ar",
            "okonomi.kostnad_dagens_praksis_per_ar",
            "okonomi.endring_inntekter_per_ar",
        ),
    ),
)


_VURDERING = (
    ("problemstilling", "Er problemstillingen klart formulert?"),
    ("litteratursok", "Er litteratursøket dekkende?"),
    ("dokumentasjon", "Er dokumentasjonen riktig vurdert?"),
    ("okonomi", "Er de økonomiske beregningene rimelige?"),
    ("konklusjon", "Støttes konklusjonen av dokumentasjonen?"),
)

FAGFELLE = FormDef(
    id="minihta-fagfelle",
    version="1",
    name="Fagfellevurdering av mini-metodevurdering (skjema 2)",
    short_name="Fagfellevurdering",
    uploaded=True,
    reference_field="sak.id",
    description="Uavhengig fagfellevurdering av en mini-metodevurdering.",
    sections=(
        Section("skjema", "Skjema", header_fields("minihta-fagfelle", "1")),
        Section("sak", "Saken", (_case_id_field(True, "Saks-ID-en fra fagfellepakken."),)),
        Section(
            "fagfelle",
            "Fagfellen",
            (
                Field("fagfelle.navn", "Fagfelle", required=True),
                Field("fagfelle.stilling", "Stilling", required=True),
                Field("fagfelle.helseforetak", "Helseforetak", "hf", required=True, choices=_HF),
            ),
        ),
        Section(
            "habilitet",
            "Habilitet",
            (
                Field(
                    "habilitet.niva",
                    "Habilitet",
                    "choice",
                    required=True,
                    choices=(Choice("gronn", "Grønn"), Choice("gul", "Gul"), Choice("rod", "Rød")),
                    help="Grønn: ingen bindinger. Gul: noen bindinger, beskriv dem. Rød: inhabil.",
                ),
                Field(
                    "habilitet.beskrivelse",
                    "Beskrivelse av bindinger",
                    "textarea",
                    help="Påkrevd ved gul habilitet.",
                ),
            ),
        ),
        Section(
            "vurdering",
            "Vurdering",
            (
                *(
                    Field(f"vurdering.{key}", label, "choice", required=True, choices=JA_DELVIS_NEI)
                    for key, label in _VURDERING
                ),
                Field(
                    "vurdering.kommentarer",
                    "Kommentarer til forfatterne",
                    "textarea",
                    help="Påkrevd når et svar er «Delvis» eller «Nei».",
                ),
            ),
        ),
        Section(
            "samlet",
            "Samlet vurdering",
            (
                Field(
                    "samlet.anbefaling",
                    "Anbefaling",
                    "choice",
                    required=True,
                    choices=(
                        Choice("publiseres", "Publiseres"),
                        Choice("mindre_endringer", "Mindre endringer"),
                        Choice("vesentlige_endringer", "Vesentlige endringer"),
                    ),
                ),
                Field("samlet.dato", "Dato", "date", required=True),
            ),
        ),
    ),
    rules=(
        Forbidden(
            "habilitet.niva",
            "rod",
            "En inhabil fagfelle (rød habilitet) kan ikke sende inn en fagfellevurdering.",
        ),
        RequiredIf("habilitet.beskrivelse", "habilitet.niva", ("gul",)),
        RequiredIfAny(
            "vurdering.kommentarer",
            tuple(f"vurdering.{key}" for key, _ in _VURDERING),
            ("delvis", "nei"),
        ),
    ),
)


BESLUTNING = FormDef(
    id="minihta-beslutning",
    version="1",
    name="Beslutning om innføring (skjema 3)",
    short_name="Beslutning",
    uploaded=True,
    reference_field="sak.id",
    description="Helseforetakets beslutning etter mini-metodevurdering og fagfellevurdering.",
    sections=(
        Section("skjema", "Skjema", header_fields("minihta-beslutning", "1")),
        Section("sak", "Saken", (_case_id_field(True, "Saks-ID-en mini-metodevurderingen fikk."),)),
        Section(
            "beslutning",
            "Beslutning",
            (
                Field(
                    "beslutning.organ",
                    "Beslutningsorgan (f.eks. Råd for metodevurdering)",
                    required=True,
                ),
                Field("beslutning.dato", "Beslutningsdato", "date", required=True, not_future=True),
                Field(
                    "beslutning.utfall",
                    "Beslutning",
                    "choice",
                    required=True,
                    choices=(
                        Choice("innfort", "Innført"),
                        Choice("innfort_med_vilkar", "Innført med vilkår"),
                        Choice("ikke_innfort", "Ikke innført"),
                        Choice("utfaset", "Utfaset"),
                    ),
                ),
                Field("beslutning.begrunnelse", "Begrunnelse", "textarea", required=True),
                Field(
                    "beslutning.vilkar",
                    "Vilkår",
                    "textarea",
                    help="Påkrevd når metoden er innført med vilkår.",
                ),
            ),
        ),
        Section(
            "oppfolging",
            "Oppfølging",
            (
                Field("oppfolging.evaluering_planlagt", "Evaluering planlagt", "checkbox"),
                Field(
                    "oppfolging.revurderingsdato",
                    "Dato for revurdering",
                    "date",
                    help="Påkrevd når evaluering er planlagt.",
                ),
                Field(
                    "oppfolging.meldt_til_nye_metoder",
                    "Metoden er meldt inn til nasjonal vurdering i Nye metoder",
                    "checkbox",
                ),
            ),
        ),
    ),
    rules=(
        RequiredIf("beslutning.vilkar", "beslutning.utfall", ("innfort_med_vilkar",)),
        RequiredIf("oppfolging.revurderingsdato", "oppfolging.evaluering_planlagt", (True,)),
    ),
)
