"""Demo data for `skjemamottak demo`: users for every role, and enough cases to walk the journeys.

- the committee: two fagdirektører with decision authority from each region (registered with
  `committee.set_member`, as `skjemamottak komite add` does), so a meeting has its quorum; peer
  reviewers for three fagområder, outside Helse Sør-Øst so the rules may pick them for OUS/AHUS;
- Del 2 cases in every state before a decision, and the next meeting (the date the meeting page
  suggests) planned by the service, with one more case left in `klar` for the planner;
- mini-HTAs from received to published, each step through the services;
- example files for the quick tour in `<instance>/eksempler` (README.txt says what the service
  answers to each), written at run time and never committed.

Cases are made the way an HF makes them: a PDF or DOCX from the real template
(`forms.templates.build`) uploaded through `services.upload.upload`. Nothing here is a real person;
the only identity number is the SYNTHETIC one (month + 80) of the identity example, never printed.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl import load_workbook

from forms.catalog import get_form
from forms.fields import Field, FormDef
from processor.domain import DEL2, MINIHTA, Actor, FormType, State
from processor.render import hf_name
from services.cases import price_check, set_urgent, transition
from services.upload import UploadResult, upload
from services.users import add_user
from storage.uow import SqlAlchemyUnitOfWork
from web.runtime import Storage

# fixed demo passwords: printed by `demo`, for a local instance only. The names are made up.
DEMO_USERS: tuple[dict[str, Any], ...] = (
    {"username": "hf-ous", "roles": ["hf"], "hf": "OUS", "password": "demo-hf-ous"},
    {"username": "hf-ahus", "roles": ["hf"], "hf": "AHUS", "password": "demo-hf-ahus"},
    # the sign-off of a Del 2 drafted in the service (PORTAL.md): three people at one HF
    *(
        {
            "username": username,
            "roles": ["hf"],
            "hf": "OUS",
            "name": name,
            "funksjoner": [function],
            "password": f"demo-{username}",
        }
        for username, name, function in (
            ("lege-ous", "Lene Legesen", "lege"),
            ("linjeleder-ous", "Leif Linjesen", "linjeleder"),
            ("fagdirektor-ous", "Frøydis Fagersen", "fagdirektor"),
        )
    ),
    {"username": "koordinator", "roles": ["koordinator"], "password": "demo-koordinator"},
    {"username": "priskontroll", "roles": ["priskontroll"], "password": "demo-priskontroll"},
    # the committee: two fagdirektører with decision authority from each region (WORKFLOW.md 3)
    *(
        {
            "username": username,
            "roles": ["komite"],
            "hf": hf,
            "name": name,
            "beslutningstaker": True,
            "fagdirektor": True,
            "password": f"demo-{username}",
        }
        for username, hf, name in (
            ("komite", "SIHF", "Kari Prøvestad"),
            ("komite-ous", "OUS", "Ola Eksempelsen"),
            ("komite-hbe", "HBE", "Ingrid Demodal"),
            ("komite-hstav", "HSTAV", "Per Prøvlie"),
            ("komite-sto", "STO", "Sigrid Testrud"),
            ("komite-hmr", "HMR", "Nils Fiktivsen"),
            ("komite-unn", "UNN", "Astrid Eksempelvik"),
            ("komite-nlsh", "NLSH", "Lars Demoland"),
        )
    ),
    # peer reviewers outside Helse Sør-Øst, so the rules may pick them for OUS and AHUS
    {
        "username": "fagfelle",
        "roles": ["fagfelle"],
        "hf": "HBE",
        "name": "Bjørn Prøvestøl",
        "fagomrader": ["Gastrokirurgi", "Gastroenterologi"],
        "password": "demo-fagfelle",
    },
    {
        "username": "fagfelle-onkologi",
        "roles": ["fagfelle"],
        "hf": "UNN",
        "name": "Marit Eksempeldal",
        "fagomrader": ["Onkologi"],
        "password": "demo-fagfelle-onkologi",
    },
    {
        "username": "fagfelle-kardiologi",
        "roles": ["fagfelle"],
        "hf": "STO",
        "name": "Knut Demostad",
        "fagomrader": ["Kardiologi"],
        "password": "demo-fagfelle-kardiologi",
    },
    {"username": "drift", "roles": ["admin"], "password": "demo-drift"},
)

# values for fields whose format the catalogue fixes with a pattern
PATTERN_EXAMPLES = {
    "behandling.nye_metoder_id": "ID2025_131",
}
# drug, diagnosis, its ICD-10 code, monthly cost (NOK)
DRUGS = (
    ("Pembrolizumab (Keytruda)", "Ikke-småcellet lungekreft, stadium IV", "C34.1", 62500),
    ("Nivolumab (Opdivo)", "Malignt melanom med spredning", "C43.9", 71200),
    ("Olaparib (Lynparza)", "Eggstokkreft med BRCA-mutasjon", "C56", 48300),
    ("Dupilumab (Dupixent)", "Alvorlig atopisk eksem", "L20.9", 15900),
    ("Ocrelizumab (Ocrevus)", "Primær progressiv multippel sklerose", "G35", 39800),
    ("Trastuzumab deruxtecan (Enhertu)", "Brystkreft med lavt HER2-uttrykk", "C50.9", 88400),
)
DEPARTMENTS = ("KREFT", "LUNGE", "HUD", "NEVRO", "HEM", "GYN")


@dataclass(frozen=True)
class DemoCase:
    hf: str
    department: str
    drug: int
    days_ago: int
    steps: tuple[str, ...] = ()
    """"retur", "ny_versjon", "priskontroll", "pris", "hast", "trekk"; "pris_senere" is the price
    check after the meeting is planned, so that one case waits in `klar` for the planner."""


PLAN: tuple[DemoCase, ...] = (
    DemoCase("OUS", "KREFT", 0, 2),
    DemoCase("OUS", "LUNGE", 1, 5, ("hast",)),
    DemoCase("AHUS", "HUD", 3, 9),
    DemoCase("AHUS", "NEVRO", 4, 1),
    DemoCase("OUS", "HEM", 2, 20, ("retur",)),
    DemoCase("AHUS", "GYN", 5, 16, ("retur", "ny_versjon")),
    DemoCase("OUS", "GYN", 5, 12, ("priskontroll",)),
    DemoCase("AHUS", "KREFT", 0, 8, ("priskontroll", "hast")),
    DemoCase("OUS", "NEVRO", 4, 30, ("priskontroll", "pris")),
    DemoCase("AHUS", "LUNGE", 1, 25, ("priskontroll", "pris")),
    DemoCase("OUS", "HUD", 3, 14, ("trekk",)),
    DemoCase("OUS", "LUNGE", 1, 10, ("priskontroll", "pris_senere")),
    DemoCase("AHUS", "HEM", 2, 4),
)


def _value(form: FormDef, f: Field, hf: str, when: date, n: int) -> object | None:
    if f.id in PATTERN_EXAMPLES:
        return PATTERN_EXAMPLES[f.id]
    if f.pattern or f.hidden:
        return None
    if f.type == "hf":
        return hf
    if f.type == "choice":
        return f.choices[0].code if f.choices else None
    if f.type == "checkbox":
        return True if f.required else None
    if f.type == "date":
        return (when - timedelta(days=3)).isoformat()
    if f.type == "integer":
        return 1950 + n if f.max_current_year else int(f.minimum or 1)
    if f.type == "number":
        return 4500.0
    if f.type == "textarea":
        return f"Utfyllende demotekst for «{f.label.lower()}», skrevet for å vise tjenesten."
    if f.type == "url":
        return "https://nyemetoder.no"
    return f"Demo: {f.label}" if f.required else None


def del2_values(
    hf: str, reference: str, when: date, drug: int = 0, n: int = 0
) -> dict[str, object]:
    """A complete, valid Del 2: every required field from the catalogue, plus one criterion."""
    form = get_form(DEL2)
    values: dict[str, object] = {}
    for field_id in form.field_ids():
        hit = form.lookup(field_id)
        if hit is None or hit[1] is not None:
            continue  # repeat rows stay empty
        value = _value(form, hit[0], hf, when, n)
        if value is not None:
            values[field_id] = value
    name, diagnosis, code, cost = DRUGS[drug % len(DRUGS)]
    values.update(
        {
            "soknad.referansenummer": reference,
            "soknad.soker_navn": "Demo Overlege",
            "behandling.legemiddel": name,
            "pasient.diagnose": diagnosis,
            "pasient.diagnosekode": code,
            "kostnader.legemiddel_per_maned": cost,
            "kriterier.okt_nytte.oppfylt": True,
            "kriterier.okt_nytte.begrunnelse": (
                "Pasienten har en biomarkør som gir vesentlig større forventet nytte enn i "
                "gruppen som ble vurdert."
            ),
            "litteratur.1.tittel": "Oppsummert forskning om metoden",
            "litteratur.1.lenke": "https://nyemetoder.no",
        }
    )
    return values


MINIHTA_TOPICS: dict[str, dict[str, object]] = {
    "Gastrokirurgi": {
        "generelt.tittel": "Robotassistert kirurgi ved endetarmskreft",
        "generelt.avdeling": "Gastrokirurgisk avdeling",
        "metode.type": "prosedyre",
        "metode.beskrivelse": "Reseksjon av endetarmen med robotassistert laparoskopi.",
        "metode.dagens_praksis": "Konvensjonell laparoskopisk kirurgi.",
        "metode.pico_populasjon": "Voksne med endetarmskreft som skal opereres.",
        "metode.pico_intervensjon": "Robotassistert reseksjon.",
        "metode.pico_komparator": "Konvensjonell laparoskopi.",
        "metode.pico_utfall": "Konvertering til åpen kirurgi, komplikasjoner og liggetid.",
    },
    "Gastroenterologi": {
        "generelt.tittel": "Kapselendoskopi ved mistanke om blødning i tynntarmen",
        "generelt.avdeling": "Medisinsk avdeling, seksjon for fordøyelsessykdommer",
        "metode.type": "diagnostikk",
        "metode.beskrivelse": "Pasienten svelger en kapsel med kamera som filmer tynntarmen.",
        "metode.dagens_praksis": "Dobbeltballongenteroskopi i narkose.",
        "metode.pico_populasjon": "Voksne med blødning fra tarmen uten funn ved gastroskopi.",
        "metode.pico_intervensjon": "Kapselendoskopi.",
        "metode.pico_komparator": "Dobbeltballongenteroskopi.",
        "metode.pico_utfall": "Diagnostisk treffsikkerhet, komplikasjoner og ventetid.",
    },
    "Onkologi": {
        "generelt.tittel": "Hodebunnskjøling for å hindre hårtap under cellegiftbehandling",
        "generelt.avdeling": "Kreftavdelingen",
        "metode.type": "medisinsk_utstyr",
        "metode.beskrivelse": "En kjølehette senker temperaturen i hodebunnen under infusjonen.",
        "metode.dagens_praksis": "Ingen forebygging; parykk ved behov.",
        "metode.pico_populasjon": "Voksne med brystkreft som får cellegift.",
        "metode.pico_intervensjon": "Hodebunnskjøling under hver kur.",
        "metode.pico_komparator": "Ingen hodebunnskjøling.",
        "metode.pico_utfall": "Hårtap, livskvalitet og bivirkninger.",
    },
    "Kardiologi": {
        "generelt.tittel": "Hjemmemonitorering av pasienter med hjertesvikt",
        "generelt.avdeling": "Hjertemedisinsk avdeling",
        "metode.type": "organisatorisk",
        "metode.beskrivelse": "Pasienten måler vekt, puls og blodtrykk hjemme; sykepleier følger "
        "målingene og ringer ved avvik.",
        "metode.dagens_praksis": "Kontroll på poliklinikken hver tredje måned.",
        "metode.pico_populasjon": "Voksne med kronisk hjertesvikt, NYHA II–III.",
        "metode.pico_intervensjon": "Digital hjemmeoppfølging.",
        "metode.pico_komparator": "Vanlig poliklinisk oppfølging.",
        "metode.pico_utfall": "Innleggelser, dødelighet og livskvalitet.",
    },
}


def minihta_values(hf: str, fagomrade: str, when: date) -> dict[str, object]:
    """A complete, valid mini-HTA (skjema 1) from one of `MINIHTA_TOPICS`; `metode.fagomrade` is
    the topic's key, which is what the reviewers' fagområder are matched against."""
    topic = MINIHTA_TOPICS[fagomrade]
    values: dict[str, object] = {
        "generelt.formal": "innforing",
        "generelt.helseforetak": hf,
        "generelt.forslagsstiller_navn": "Demo Overlege",
        "generelt.forslagsstiller_stilling": "Overlege",
        "generelt.forslagsstiller_epost": "demo.overlege@example.org",
        "generelt.medforfattere": "Bibliotekar og controller ved avdelingen",
        "generelt.interessekonflikter": "Ingen",
        "generelt.dato": (when - timedelta(days=1)).isoformat(),
        "sammendrag": f"Demotekst: {topic['generelt.tittel']} gir bedre resultater for "
        "pasientene til en akseptabel merkostnad.",
        "metode.fagomrade": fagomrade,
        "metode.pasienter_per_ar": 40,
        "metode.bruk_andre_steder": "I bruk ved flere universitetssykehus i Norden.",
        "dokumentasjon.sokedato": (when - timedelta(days=30)).isoformat(),
        "dokumentasjon.databaser": "MEDLINE, Embase, Cochrane Library",
        "dokumentasjon.sokestrategi": "Søkeord for metoden og pasientgruppen, 2015–2026.",
        "dokumentasjon.bibliotekar": True,
        "dokumentasjon.antall_studier": 8,
        "dokumentasjon.kvalitet": "middels",
        "effekt.klinisk_effekt": "Demotekst: bedre resultater enn dagens praksis i flere studier.",
        "effekt.sikkerhet": "Ingen økning i alvorlige komplikasjoner.",
        "etikk.vurdering": "Ingen særskilte etiske eller juridiske utfordringer.",
        "organisasjon.personell": "Opplæring av personalet ved avdelingen.",
        "okonomi.investering": 850000,
        "okonomi.driftskostnad_per_ar": 420000,
        "okonomi.kostnad_dagens_praksis_per_ar": 310000,
        "okonomi.controller": True,
        "okonomi.kommentar": "Se økonomivedlegget.",
        "konklusjon.anbefaling": "innfores",
        "konklusjon.begrunnelse": "Bedre kliniske resultater til en akseptabel merkostnad.",
        "litteratur.1.referanse": "Oppsummert forskning om metoden",
        "litteratur.1.lenke": "https://nyemetoder.no",
    }
    values.update(topic)
    return values


def economics_values(minihta: dict[str, object], case_id: str | None) -> dict[str, object]:
    """The economics workbook's inputs for a mini-HTA (the budget rows are formulas)."""
    values: dict[str, object] = {
        "sak.tittel": minihta["generelt.tittel"],
        "okonomi.pasienter_per_ar": minihta["metode.pasienter_per_ar"],
        "okonomi.investering": minihta["okonomi.investering"],
        "okonomi.driftskostnad_per_ar": minihta["okonomi.driftskostnad_per_ar"],
        "okonomi.kostnad_dagens_praksis_per_ar": minihta["okonomi.kostnad_dagens_praksis_per_ar"],
        "okonomi.endring_inntekter_per_ar": 60000,
    }
    if case_id:
        values["sak.id"] = case_id
    return values


def economics_xlsx(values: dict[str, object]) -> bytes:
    """The economics workbook from the real template, saved as a spreadsheet program saves it:
    every formula keeps its cached value (a file without them is FORMULA_NOT_CACHED)."""
    from forms.templates import build
    from forms.templates.xlsx import evaluate_formula

    form = get_form(FormType.MINIHTA_OKONOMI)
    raw = build(form.id, "xlsx", values)
    numbers: dict[str, float] = {}
    for field_id in form.field_ids():
        formula = form.field(field_id).formula
        if formula:
            numbers[field_id] = evaluate_formula(formula, values)
    cells: dict[str, float] = {}
    for name, defined in load_workbook(io.BytesIO(raw)).defined_names.items():
        if name in numbers:
            ((_sheet, ref),) = list(defined.destinations)
            cells[ref.replace("$", "")] = numbers[name]
    src = zipfile.ZipFile(io.BytesIO(raw))
    sheets = [n for n in src.namelist() if n.startswith("xl/worksheets/sheet")]
    if len(sheets) != 1:
        raise RuntimeError("the economics template should have one worksheet")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == sheets[0]:
                content = _cache_cells(content, cells)
            dst.writestr(info, content)
    return out.getvalue()


def _cache_cells(sheet_xml: bytes, cells: dict[str, float]) -> bytes:
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    root = etree.fromstring(sheet_xml)
    for c in root.iter(f"{ns}c"):
        number = cells.get(c.get("r", ""))
        if number is None or c.find(f"{ns}f") is None:
            continue
        c.attrib.pop("t", None)
        v = c.find(f"{ns}v")
        if v is None:
            v = etree.SubElement(c, f"{ns}v")
        v.text = str(int(number)) if float(number).is_integer() else repr(number)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def reviewer_values(case_id: str, reviewer: dict[str, Any], when: date) -> dict[str, object]:
    """Skjema 2 from a demo reviewer: green, recommends publication."""
    return {
        "sak.id": case_id,
        "fagfelle.navn": reviewer["name"],
        "fagfelle.stilling": "Seksjonsoverlege",
        "fagfelle.helseforetak": reviewer["hf"],
        "habilitet.niva": "gronn",
        "vurdering.problemstilling": "ja",
        "vurdering.litteratursok": "ja",
        "vurdering.dokumentasjon": "ja",
        "vurdering.okonomi": "ja",
        "vurdering.konklusjon": "ja",
        "vurdering.kommentarer": "Godt gjennomført; konklusjonen støttes av dokumentasjonen.",
        "samlet.anbefaling": "publiseres",
        "samlet.dato": when.isoformat(),
    }


def beslutning_values(case_id: str, hf: str, when: date) -> dict[str, object]:
    """Skjema 3: the HF's decision body introduces the method."""
    return {
        "sak.id": case_id,
        "beslutning.organ": f"Råd for metodevurdering, {hf_name(hf)}",
        "beslutning.dato": when.isoformat(),
        "beslutning.utfall": "innfort",
        "beslutning.begrunnelse": "God dokumentasjon på klinisk effekt; økonomien er akseptabel.",
    }


@dataclass(frozen=True)
class DemoMinihta:
    hf: str
    fagomrade: str  # a key of MINIHTA_TOPICS
    days_ago: int
    stage: State  # one of STAGES
    fmt: str = "pdf"


MINIHTA_PLAN: tuple[DemoMinihta, ...] = (
    DemoMinihta("AHUS", "Kardiologi", 40, State.PUBLISERT),
    DemoMinihta("OUS", "Gastroenterologi", 30, State.FAGFELLEVURDERT, "docx"),
    DemoMinihta("OUS", "Onkologi", 12, State.TIL_FAGFELLE),
    DemoMinihta("AHUS", "Kardiologi", 3, State.MOTTATT, "docx"),
)
STAGES = (State.MOTTATT, State.TIL_FAGFELLE, State.FAGFELLEVURDERT, State.PUBLISERT)


def users_exist(storage: Storage) -> bool:
    uow = storage.uow()
    with uow:
        return uow.users.get(DEMO_USERS[0]["username"]) is not None


def _clock(at: datetime) -> Callable[[], datetime]:
    return lambda: at


def _uow_at(storage: Storage, day: date, minute: int = 0) -> SqlAlchemyUnitOfWork:
    """A unit of work whose clock stands at 09:00 (UTC) plus `minute` on `day`."""
    at = datetime.combine(day, time(9, 0), tzinfo=UTC) + timedelta(minutes=minute)
    return SqlAlchemyUnitOfWork(storage.sessions, storage.blobs, _clock(at))


def _accepted(result: UploadResult, what: str) -> str:
    if not result.accepted:
        codes = ", ".join(f.code for f in result.errors)
        raise RuntimeError(f"demo upload {what} was not accepted: {codes}")
    return str(result.case_id)


COORDINATOR = Actor("koordinator", frozenset({"koordinator"}))


def _hf_user(hf: str) -> Actor:
    return Actor(f"hf-{hf.lower()}", frozenset({"hf"}), hf)


def _spec(username: str) -> dict[str, Any]:
    return next(s for s in DEMO_USERS if s["username"] == username)


def create(storage: Storage, *, out: Callable[[str], None] = print) -> bool:
    """Create the demo users, cases, a planned meeting and the example files; False (nothing
    done) when the demo users exist already."""
    if users_exist(storage):
        return False
    _create_users(storage)
    later = _create_del2_cases(storage, out)
    _plan_meeting(storage, out)
    for step in later:
        step()
    _create_minihta_cases(storage, out)
    folder = write_examples(storage)
    out(f"Eksempelfiler for en rask runde er skrevet til {folder} (se README.txt der).")
    return True


def _create_users(storage: Storage) -> None:
    from services import committee

    for spec in DEMO_USERS:
        add_user(
            storage.uow(),
            spec["username"],
            roles=spec["roles"],
            hf=spec.get("hf"),
            beslutningstaker=spec.get("beslutningstaker", False),
            fagomrader=spec.get("fagomrader", ()),
            funksjoner=spec.get("funksjoner", ()),
            password=spec["password"],
            display_name=spec.get("name", spec["username"]),
        )
        if "komite" in spec["roles"]:  # as `skjemamottak komite add` does it
            committee.set_member(
                COORDINATOR,
                storage.uow(),
                spec["username"],
                fagdirektor=spec.get("fagdirektor", False),
            )


def _create_del2_cases(storage: Storage, out: Callable[[str], None]) -> list[Callable[[], object]]:
    """The Del 2 cases of PLAN; returns the steps to take after the meeting is planned."""
    from forms.templates import build

    today = storage.today()
    pricer = Actor("priskontroll", frozenset({"priskontroll"}))
    later: list[Callable[[], object]] = []
    for n, plan in enumerate(PLAN):
        hf_user = _hf_user(plan.hf)
        when = today - timedelta(days=plan.days_ago)
        uow = _uow_at(storage, when, n)
        reference = f"{(when - timedelta(days=1)).isoformat()}-{plan.hf}-{plan.department}"
        values = del2_values(plan.hf, reference, when, plan.drug, n)
        pdf = build(DEL2, "pdf", values)
        case_id = _accepted(upload(hf_user, "soknad.pdf", pdf, uow, when), reference)
        for step in plan.steps:
            if step == "retur":
                transition(
                    COORDINATOR,
                    case_id,
                    State.MOTTATT,
                    State.RETURNERT,
                    "Beskriv evalueringsplanen mer konkret: hvilke mål, og når?",
                    uow,
                )
            elif step == "ny_versjon":
                values["behandling.evalueringsplan"] = (
                    "MR etter 3 og 6 måneder og klinisk vurdering ved hver kontroll; "
                    "behandlingen stoppes ved progresjon."
                )
                pdf = build(DEL2, "pdf", values)
                upload(hf_user, "soknad-v2.pdf", pdf, uow, when)
            elif step == "priskontroll":
                transition(COORDINATOR, case_id, State.MOTTATT, State.PRISKONTROLL, None, uow)
            elif step in ("pris", "pris_senere"):
                cost = float(values["kostnader.legemiddel_per_maned"])  # type: ignore[arg-type]
                check = partial(price_check, pricer, case_id, cost, "Bekreftet mot avtalepris.")
                if step == "pris":
                    check(uow)
                else:
                    later.append(partial(check, storage.uow()))
            elif step == "hast":
                set_urgent(
                    COORDINATOR, case_id, True, "Rask progresjon; behandlingsvindu er kort.", uow
                )
            elif step == "trekk":
                transition(hf_user, case_id, State.MOTTATT, State.TRUKKET, None, uow)
        out(f"Sak {case_id} opprettet.")
    return later


def next_meeting_date(storage: Storage) -> date:
    """The next meeting date the coordinator's meeting page suggests (every second week on the
    default weekday, papers deadline not passed), after any meeting that exists."""
    from processor.workdays import suggested_meeting_dates
    from services import committee

    today = storage.today()
    existing = [
        date.fromisoformat(m["dato"])
        for m in committee.list_meetings(COORDINATOR, storage.uow(), today)
    ]
    return suggested_meeting_dates(existing, today)[0]  # the default weekday, as `serve` uses


def _plan_meeting(storage: Storage, out: Callable[[str], None]) -> None:
    """The next meeting, planned by the service: the cases in `klar` become `satt_opp`."""
    from processor.workdays import papers_deadline
    from services import committee

    today = storage.today()
    on = next_meeting_date(storage)
    meeting_id = committee.create_meeting(COORDINATOR, storage.uow(), on, time(9, 0), today)
    outcome = committee.plan_meeting(COORDINATOR, storage.uow(), meeting_id, today)
    for case_id, reason in outcome.not_placed:
        out(f"Sak {case_id} ble ikke satt opp: {reason}")
    out(
        f"Møte {on:%d.%m.%Y} kl. 09:00 opprettet (sakspapirer senest "
        f"{papers_deadline(on):%d.%m.%Y}); {len(outcome.placed)} saker satt opp."
    )


def _create_minihta_cases(storage: Storage, out: Callable[[str], None]) -> None:
    for n, plan in enumerate(MINIHTA_PLAN):
        out(f"Mini-metodevurdering {_create_minihta(storage, n, plan)} opprettet.")


def _create_minihta(storage: Storage, n: int, plan: DemoMinihta) -> str:
    """One mini-HTA taken through the service to `plan.stage`, a step every second day."""
    from forms.templates import build
    from services import minihta

    hf_user = _hf_user(plan.hf)
    start = storage.today() - timedelta(days=plan.days_ago)
    steps = iter(range(0, 2 * plan.days_ago + 1, 2))

    def next_step() -> tuple[SqlAlchemyUnitOfWork, date]:
        day = start + timedelta(days=min(next(steps), plan.days_ago))
        return _uow_at(storage, day, 100 + n), day

    values = minihta_values(plan.hf, plan.fagomrade, start)
    uow, day = next_step()
    name = f"minihta.{plan.fmt}"
    doc = build(MINIHTA, plan.fmt, values)
    case_id = _accepted(upload(hf_user, name, doc, uow, day), name)
    xlsx = economics_xlsx(economics_values(values, case_id))
    _accepted(upload(hf_user, "okonomi.xlsx", xlsx, uow, day), "okonomi.xlsx")
    reached = STAGES.index(plan.stage)
    if reached < 1:
        return case_id
    uow, day = next_step()
    reviewer = minihta.assign_reviewer(COORDINATOR, case_id, None, None, uow).reviewer
    spec = _spec(reviewer)
    actor = Actor(reviewer, frozenset(spec["roles"]), spec["hf"])
    if reached < 2:
        return case_id
    uow, day = next_step()
    minihta.declare_conflict(actor, case_id, "gronn", None, uow)
    uow, day = next_step()
    pdf = build(FormType.MINIHTA_FAGFELLE, "pdf", reviewer_values(case_id, spec, day))
    _accepted(upload(actor, "skjema2.pdf", pdf, uow, day), "skjema 2")
    if reached < 3:
        return case_id
    uow, day = next_step()
    pdf = build(FormType.MINIHTA_BESLUTNING, "pdf", beslutning_values(case_id, plan.hf, day))
    _accepted(upload(hf_user, "skjema3.pdf", pdf, uow, day), "skjema 3")
    uow, day = next_step()
    transition(COORDINATOR, case_id, State.BESLUTTET, State.PUBLISERT, None, uow)
    return case_id


# ---- example files for the quick tour -----------------------------------------------------------

EXAMPLES_FOLDER = "eksempler"
EXAMPLE_BIRTH = date(1985, 8, 15)
STATUS_NB = {"accepted": "godkjent", "incomplete": "ufullstendig", "rejected": "avvist"}


@dataclass(frozen=True)
class Example:
    """One example file: who uploads it, the status the service gives, and what to expect."""

    name: str
    uploader: str
    status: str  # "accepted", "incomplete" or "rejected"
    expect: str  # Norwegian


def synthetic_fodselsnummer(birth: date = EXAMPLE_BIRTH, start: int = 123) -> str:
    """A SYNTHETIC test number (month + 80, FORMS.md 6) with valid control digits, made the way
    the tests make theirs (`tests/fillers.py`); it is never printed."""
    w1, w2 = (3, 7, 6, 1, 8, 9, 4, 5, 2), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    prefix = f"{birth.day:02d}{birth.month + 80:02d}{birth.year % 100:02d}"
    for offset in range(500):
        nine = f"{prefix}{(start + offset) % 500:03d}"
        k1 = (11 - sum(w * int(d) for w, d in zip(w1, nine, strict=True)) % 11) % 11
        if k1 == 10:
            continue
        k2 = (11 - sum(w * int(d) for w, d in zip(w2, nine + str(k1), strict=True)) % 11) % 11
        if k2 != 10:
            return f"{nine}{k1}{k2}"
    raise ValueError("no valid individual number")  # pragma: no cover - cannot happen


def next_minihta_id(storage: Storage) -> str:
    """The id the next mini-HTA received today will get (ids are handed out in order)."""
    year = storage.today().year
    prefix = f"MMV-{year:04d}-"
    uow = storage.uow()
    with uow:
        ids = [c.id for c in uow.cases.list(form_type=MINIHTA)]
    numbers = [int(i[len(prefix) :]) for i in ids if i.startswith(prefix)]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def examples(storage: Storage) -> list[tuple[Example, bytes]]:
    """The example files for the demo HF user hf-ous, filled from the real templates."""
    from forms.templates import build

    today = storage.today()
    reference = f"{(today - timedelta(days=1)).isoformat()}-OUS-REVMA"
    refs = [reference, *(f"{reference}-{n}" for n in (2, 3, 4))]

    def del2(ref: str, **changes: object) -> dict[str, object]:
        values = del2_values("OUS", ref, today, drug=3)
        values.update(changes)
        return {k: v for k, v in values.items() if v is not None}

    missing = "behandling.evalueringsplan"
    identity = del2(
        refs[3],
        **{
            "pasient.sykehistorie": "Pasienten ble henvist fra fastlegen. Fødselsnummer: "
            f"{synthetic_fodselsnummer()}."
        },
    )
    case_id = next_minihta_id(storage)
    minihta = minihta_values("OUS", "Gastrokirurgi", today)
    reviewer = _spec("fagfelle")
    ous = "hf-ous"
    return [
        (
            Example(
                "soknad-del2-ous.pdf",
                ous,
                "accepted",
                f"blir sak {refs[0]} med status «Mottatt».",
            ),
            build(DEL2, "pdf", del2(refs[0])),
        ),
        (
            Example(
                "soknad-del2-ous.docx",
                ous,
                "accepted",
                f"samme søknad som Word-fil, med referansen {refs[1]}; blir en egen sak.",
            ),
            build(DEL2, "docx", del2(refs[1])),
        ),
        (
            Example(
                "soknad-del2-ufullstendig.pdf",
                ous,
                "incomplete",
                f"feltet «{get_form(DEL2).label(missing)}» er tomt (REQUIRED); "
                "ingenting lagres, og du får listen over det som mangler.",
            ),
            build(DEL2, "pdf", del2(refs[2], **{missing: None})),
        ),
        (
            Example(
                "soknad-del2-med-identitet.pdf",
                ous,
                "rejected",
                "sykehistorien inneholder et syntetisk fødselsnummer (IDENTITY_FOUND); "
                "ingenting lagres, og nummeret vises ikke i svaret.",
            ),
            build(DEL2, "pdf", identity),
        ),
        (
            Example(
                "minihta-ous.pdf",
                ous,
                "accepted",
                f"mini-metodevurdering i gastrokirurgi; blir sak {case_id} "
                "(om ingen andre er sendt inn i mellomtiden).",
            ),
            build(MINIHTA, "pdf", minihta),
        ),
        (
            Example(
                "minihta-ous-okonomi.xlsx",
                ous,
                "accepted",
                f"økonomivedlegget, knyttes til sak {case_id}.",
            ),
            economics_xlsx(economics_values(minihta, case_id)),
        ),
        (
            Example(
                "minihta-fagfellevurdering.pdf",
                "fagfelle",
                "accepted",
                f"skjema 2 for sak {case_id}, når koordinatoren har tildelt fagfellen og "
                "habiliteten er erklært grønn; saken blir «Fagfellevurdert».",
            ),
            build(FormType.MINIHTA_FAGFELLE, "pdf", reviewer_values(case_id, reviewer, today)),
        ),
        (
            Example(
                "minihta-beslutning.pdf",
                ous,
                "accepted",
                f"skjema 3 for sak {case_id} etter fagfellevurderingen; saken blir "
                "«Besluttet», og koordinatoren kan publisere den.",
            ),
            build(FormType.MINIHTA_BESLUTNING, "pdf", beslutning_values(case_id, "OUS", today)),
        ),
    ]


def readme(items: list[Example]) -> str:
    lines = [
        "Eksempelfiler for en rask runde i skjemamottak (laget av «skjemamottak demo»).",
        "",
        "Filene er fylt ut fra de ekte malene for demobrukerne. Alle personer er oppdiktet;",
        "fødselsnummeret i filen med identitet er et syntetisk testnummer (måned + 80).",
        "Logg inn som brukeren i parentes og last opp filen under «Send inn skjema».",
        "",
        "fil – svar fra tjenesten (hvem laster opp): hva som skjer",
        "",
    ]
    for e in items:
        lines.append(f"{e.name} – {STATUS_NB[e.status]} ({e.uploader}): {e.expect}")
    return "\n".join(lines) + "\n"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(data)


def write_examples(storage: Storage) -> Path:
    """Write the example files and README.txt into `<instance>/eksempler` (0700; files 0600)."""
    folder = storage.instance / EXAMPLES_FOLDER
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True)
        folder.chmod(0o700)
    items = examples(storage)
    for example, data in items:
        _write_private(folder / example.name, data)
    _write_private(folder / "README.txt", readme([e for e, _ in items]).encode("utf-8"))
    return folder


def print_logins(out: Callable[[str], None] = print) -> None:
    out("Demobrukere (brukernavn / passord – bare for lokal bruk):")
    for spec in DEMO_USERS:
        roles = ", ".join(spec["roles"])
        hf = f", {spec['hf']}" if spec.get("hf") else ""
        extra = f", {', '.join(spec['fagomrader'])}" if spec.get("fagomrader") else ""
        if spec.get("funksjoner"):
            extra += f", {', '.join(spec['funksjoner'])}"
        out(f"  {spec['username']} / {spec['password']}  ({roles}{hf}{extra})")
