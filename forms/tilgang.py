"""Individual access (tilgangsordningen): Del 1 (kept at the HF) and Del 2 (uploaded). FORMS.md 3."""

from __future__ import annotations

from forms.fields import (
    AtLeastOneTrue,
    Choice,
    Field,
    FormDef,
    MinRows,
    ReferenceMatchesHf,
    Repeat,
    RequiredIf,
    RowRequires,
    Section,
    header_fields,
)
from forms.helseforetak import hf_choices

NO_IDENTITY = (
    "Skriv ikke navn, fødselsnummer, fødselsdato eller andre opplysninger som kan identifisere "
    "pasienten."
)
REFERENCE_HELP = (
    "Format ÅÅÅÅ-MM-DD-HF-AVDELING, for eksempel 2025-03-14-OUS-KREFT. Legg til -2, -3 osv. når "
    "samme avdeling lager flere søknader samme dag. Referansen kobler del 2 til del 1 i journalen."
)
NYE_METODER_ID = r"^ID[0-9]{4}_[0-9]{3}$"
ICD10 = r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$"


def nye_metoder_id_field(field_id: str, *, required: bool = False, help_text: str = "") -> Field:
    """A method's ID in Nye metoder (ID2025_131): Del 2 and mini-HTA skjema 1."""
    return Field(
        field_id,
        "ID i Nye metoder",
        required=required,
        pattern=NYE_METODER_ID,
        pattern_hint="ID fulgt av fire siffer, understrek og tre siffer, for eksempel ID2025_131",
        help=help_text,
    )


_HF = hf_choices()


# The three criteria for individual access (FORMS.md 3): key, label, help text. Each is a
# checkbox and a justification required when it is ticked; at least one must be ticked.
_CRITERIA = (
    (
        "okt_nytte",
        "Økt nytte",
        "Pasienten forventes å ha vesentlig større nytte enn gruppen som ble vurdert.",
    ),
    (
        "hoyere_alvorlighet",
        "Høyere alvorlighet",
        "Pasientens tilstand er vesentlig mer alvorlig enn i gruppen som ble vurdert.",
    ),
    (
        "sarskilte_medisinske_arsaker",
        "Særskilte medisinske årsaker",
        "Særskilte medisinske forhold gjør at pasienten skiller seg fra gruppen.",
    ),
)
CRITERIA = tuple(key for key, _, _ in _CRITERIA)
"""The criteria's keys, in form order: `kriterier.<key>.oppfylt` / `.begrunnelse`."""


def _criterion(key: str, label: str, help_text: str) -> tuple[Field, Field]:
    return (
        Field(f"kriterier.{key}.oppfylt", label, "checkbox", help=help_text),
        Field(
            f"kriterier.{key}.begrunnelse",
            f"Begrunnelse – {label.lower()}",
            "textarea",
            help="Påkrevd når kriteriet er krysset av. " + NO_IDENTITY,
        ),
    )


DEL2 = FormDef(
    id="tilgang-del2",
    version="1",
    name="Søknad om individuell tilgang – Del 2: Søknad",
    short_name="Søknad (del 2)",
    uploaded=True,
    reference_field="soknad.referansenummer",
    description=(
        "Søknad om individuell tilgang til en metode som har fått nei på gruppenivå. Del 2 sendes "
        "inn og skal ikke identifisere pasienten; del 1 blir i pasientens journal."
    ),
    sections=(
        Section("skjema", "Skjema", header_fields("tilgang-del2", "1")),
        Section(
            "soknad",
            "Om søknaden",
            (
                Field(
                    "soknad.helseforetak",
                    "Helseforetak søknaden sendes fra",
                    "hf",
                    required=True,
                    choices=_HF,
                    help="Koden til helseforetaket, for eksempel OUS.",
                ),
                Field(
                    "soknad.soker_navn",
                    "Søkers navn (behandlingsansvarlig lege)",
                    required=True,
                ),
                Field(
                    "soknad.samtykke_bekreftet",
                    "Pasienten har gitt samtykke (del 1 er signert)",
                    "checkbox",
                    required=True,
                    must_be_true="CONSENT_MISSING",
                    help="Del 1 med samtykket oppbevares i pasientens journal og sendes ikke inn.",
                ),
                Field(
                    "soknad.referansenummer",
                    "Referansenummer (fra del 1)",
                    "reference",
                    required=True,
                    help=REFERENCE_HELP,
                ),
                Field(
                    "soknad.del1_kontrollsum",
                    "Kontrollsum for del 1",
                    pattern=r"^k1:[0-9a-f]{20}$",
                    pattern_hint="k1: fulgt av 20 små heksadesimale tegn",
                    help="Skrives av helseforetakets lokale kontroll av koblingen mellom del 1 "
                    "og del 2. La feltet stå tomt.",
                ),
            ),
        ),
        Section(
            "pasient",
            "Om pasienten",
            (
                Field(
                    "pasient.juridisk_kjonn",
                    "Juridisk kjønn",
                    "choice",
                    required=True,
                    choices=(Choice("kvinne", "Kvinne"), Choice("mann", "Mann")),
                ),
                Field(
                    "pasient.fodselsar",
                    "Fødselsår (fire siffer)",
                    "integer",
                    required=True,
                    minimum=1900,
                    max_current_year=True,
                    help="Bare året, for eksempel 1958. Skriv ikke fødselsdato eller fødselsnummer.",
                ),
                Field(
                    "pasient.opptaksomrade",
                    "Opptaksområde (helseforetak)",
                    "hf",
                    choices=_HF,
                    help="Tomt betyr samme helseforetak som søker.",
                ),
                Field("pasient.diagnose", "Diagnose det søkes behandling for", required=True),
                Field(
                    "pasient.diagnosekode",
                    "Diagnosekode (ICD-10)",
                    pattern=ICD10,
                    pattern_hint="en ICD-10-kode, for eksempel C34.1",
                ),
                Field(
                    "pasient.sykehistorie",
                    "Oppsummering av relevant sykehistorie",
                    "textarea",
                    required=True,
                    help=NO_IDENTITY,
                ),
                Field(
                    "pasient.funksjonsniva",
                    "Nåværende funksjons-/mestringsnivå",
                    "textarea",
                    required=True,
                    help=NO_IDENTITY,
                ),
            ),
        ),
        Section(
            "behandling",
            "Behandlingen det søkes om",
            (
                Field("behandling.legemiddel", "Legemiddel (som i Felleskatalogen)", required=True),
                nye_metoder_id_field("behandling.nye_metoder_id", required=True),
                Field("behandling.dosering", "Forventet dosering", required=True),
                Field("behandling.varighet", "Forventet behandlingsvarighet", required=True),
                Field(
                    "behandling.behandlingsmal",
                    "Behandlingsmål",
                    "choice",
                    required=True,
                    choices=(
                        Choice("kurativ", "Kurativ"),
                        Choice("livsforlengende", "Livsforlengende"),
                        Choice("symptomreduserende", "Symptomreduserende"),
                        Choice("annet", "Annet"),
                    ),
                ),
                Field(
                    "behandling.behandlingsmal_annet",
                    "Annet behandlingsmål",
                    help="Påkrevd når behandlingsmålet er «Annet».",
                ),
                Field(
                    "behandling.evalueringsplan",
                    "Plan for evaluering av effekt",
                    "textarea",
                    required=True,
                ),
                Field("behandling.stoppkriterier", "Stoppkriterier", "textarea", required=True),
            ),
        ),
        Section(
            "kostnader",
            "Kostnader",
            (
                Field(
                    "kostnader.legemiddel_per_maned",
                    "Legemiddelkostnader per måned (NOK)",
                    "number",
                    required=True,
                    minimum=0,
                    help="Beløp i kroner, for eksempel 12 500.",
                ),
                Field(
                    "kostnader.prisgrunnlag",
                    "Prisgrunnlag",
                    "choice",
                    required=True,
                    choices=(
                        Choice("avtalepris", "Avtalepris"),
                        Choice("maksimalpris", "Maksimalpris"),
                    ),
                ),
                Field(
                    "kostnader.andre_per_maned",
                    "Andre kostnader per måned (NOK)",
                    "number",
                    required=True,
                    minimum=0,
                ),
                Field(
                    "kostnader.ekstra_ressurser",
                    "Behov for ekstra ressurser eller mulige innsparinger",
                    "textarea",
                ),
            ),
        ),
        Section(
            "kriterier",
            "Kriterier for individuell tilgang",
            tuple(f for criterion in _CRITERIA for f in _criterion(*criterion)),
            intro="Kryss av for minst ett kriterium og begrunn hvert kriterium som er krysset av.",
        ),
        Section(
            "totalvurdering",
            "Totalvurdering",
            (
                Field(
                    "totalvurdering", "Totalvurdering", "textarea", required=True, help=NO_IDENTITY
                ),
            ),
        ),
        Section(
            "litteratur",
            "Relevant forskning",
            (
                Repeat(
                    "litteratur",
                    "Relevant forskning",
                    5,
                    (
                        Field("tittel", "Tittel på relevant forskning"),
                        Field(
                            "lenke",
                            "Lenke",
                            "url",
                            help="https://-adresse eller doi:, for eksempel doi:10.1000/xyz123.",
                        ),
                    ),
                    help="Påkrevd når «Økt nytte» er krysset av. Hver tittel trenger en lenke.",
                ),
            ),
        ),
        Section(
            "forankring",
            "Forankring og godkjenning",
            (
                Field("forankring.linjeleder_navn", "Linjeleder", required=True),
                Field(
                    "forankring.linjeleder_begrunnelse",
                    "Linjeleders begrunnelse",
                    "textarea",
                    required=True,
                ),
                Field(
                    "forankring.linjeleder_godkjent",
                    "Linjeleder godkjenner",
                    "checkbox",
                    required=True,
                    must_be_true="APPROVAL_MISSING",
                ),
                Field("forankring.fagdirektor_navn", "Fagdirektør", required=True),
                Field(
                    "forankring.fagdirektor_begrunnelse",
                    "Fagdirektørs begrunnelse",
                    "textarea",
                    required=True,
                ),
                Field(
                    "forankring.fagdirektor_godkjent",
                    "Fagdirektør godkjenner",
                    "checkbox",
                    required=True,
                    must_be_true="APPROVAL_MISSING",
                ),
                Field(
                    "forankring.fagdirektor_bekrefter_komplett",
                    "Fagdirektør bekrefter at skjemaet er ferdig utfylt av foretaket",
                    "checkbox",
                    required=True,
                    must_be_true="APPROVAL_MISSING",
                ),
                Field(
                    "forankring.dato",
                    "Dato for godkjenning",
                    "date",
                    required=True,
                    not_future=True,
                    help="DD.MM.ÅÅÅÅ.",
                ),
            ),
        ),
    ),
    rules=(
        ReferenceMatchesHf("soknad.referansenummer", "soknad.helseforetak"),
        RequiredIf("behandling.behandlingsmal_annet", "behandling.behandlingsmal", ("annet",)),
        AtLeastOneTrue(
            tuple(f"kriterier.{key}.oppfylt" for key in CRITERIA),
            "NO_CRITERION",
            "Minst ett av de tre kriteriene må være krysset av.",
        ),
        *(
            RequiredIf(
                f"kriterier.{key}.begrunnelse",
                f"kriterier.{key}.oppfylt",
                (True,),
                "JUSTIFICATION_MISSING",
            )
            for key in CRITERIA
        ),
        MinRows(
            "litteratur",
            "LITERATURE_MISSING",
            "«Økt nytte» er krysset av, men ingen relevant forskning er oppgitt.",
            when="kriterier.okt_nytte.oppfylt",
        ),
        RowRequires(
            "litteratur",
            "tittel",
            "lenke",
            "LITERATURE_MISSING",
            "Forskningen har tittel, men mangler lenke.",
        ),
    ),
)


DEL1 = FormDef(
    id="tilgang-del1",
    version="1",
    name="Søknad om individuell tilgang – Del 1: Om pasienten og samtykke",
    short_name="Del 1 (journal)",
    uploaded=False,
    reference_field="soknad.referansenummer",
    formats=("pdf", "docx"),
    description=(
        "Del 1 fylles ut og signeres hos helseforetaket og oppbevares i pasientens journal. "
        "Den skal aldri sendes inn."
    ),
    sections=(
        Section("skjema", "Skjema", header_fields("tilgang-del1", "1")),
        Section(
            "pasient",
            "Om pasienten",
            (
                Field("pasient.navn", "Pasientens navn", required=True),
                Field(
                    "pasient.fodselsnummer",
                    "Fødselsnummer",
                    required=True,
                    help="11 siffer. Denne delen oppbevares i journalen og sendes aldri inn.",
                ),
            ),
            intro="Denne delen oppbevares i pasientens journal og skal ikke sendes til Nye metoder.",
        ),
        Section(
            "soknad",
            "Om søknaden",
            (
                Field(
                    "soknad.referansenummer",
                    "Referansenummer",
                    "reference",
                    required=True,
                    help=REFERENCE_HELP,
                ),
                Field(
                    "soknad.behandlingsansvarlig_lege",
                    "Behandlingsansvarlig lege",
                    required=True,
                ),
            ),
        ),
        Section(
            "samtykke",
            "Samtykke",
            (
                Field(
                    "samtykke.gitt",
                    "Pasienten samtykker til deling av helseopplysninger med vurderingskomitéen",
                    "checkbox",
                    required=True,
                ),
                Field("samtykke.sted", "Sted", required=True),
                Field("samtykke.dato", "Dato", "date", required=True),
            ),
        ),
    ),
)
