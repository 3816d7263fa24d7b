"""Demo data for `skjemamottak demo`: users for every role and a dozen cases in different states.

Cases are made the way an HF makes them: a PDF from the real template (`forms.templates.build`)
filled with values built here from the field catalogue, uploaded through `services.upload`.
Nothing here is a real person; no identity number appears anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from forms.catalog import Field, FormDef, get_form
from storage import services
from storage.uow import SqlAlchemyUnitOfWork
from storage.workflow import Actor
from web.runtime import Storage

# fixed demo passwords: printed by `demo`, for a local instance only
DEMO_USERS: tuple[dict[str, Any], ...] = (
    {"username": "hf-ous", "roles": ["hf"], "hf": "OUS", "password": "demo-hf-ous"},
    {"username": "hf-ahus", "roles": ["hf"], "hf": "AHUS", "password": "demo-hf-ahus"},
    {"username": "koordinator", "roles": ["koordinator"], "password": "demo-koordinator"},
    {"username": "priskontroll", "roles": ["priskontroll"], "password": "demo-priskontroll"},
    {
        "username": "komite",
        "roles": ["komite"],
        "hf": "SIHF",
        "beslutningstaker": True,
        "password": "demo-komite",
    },
    {
        "username": "fagfelle",
        "roles": ["fagfelle"],
        "hf": "SOHF",
        "fagomrader": ["Gastrokirurgi"],
        "password": "demo-fagfelle",
    },
    {"username": "drift", "roles": ["admin"], "password": "demo-drift"},
)

# values for fields whose format the catalogue fixes with a pattern
PATTERN_EXAMPLES = {
    "behandling.nye_metoder_id": "ID2025_131",
    "pasient.diagnosekode": "C34.1",
}
DRUGS = (
    ("Pembrolizumab (Keytruda)", "Ikke-småcellet lungekreft, stadium IV", 62500),
    ("Nivolumab (Opdivo)", "Malignt melanom med spredning", 71200),
    ("Olaparib (Lynparza)", "Eggstokkreft med BRCA-mutasjon", 48300),
    ("Dupilumab (Dupixent)", "Alvorlig atopisk eksem", 15900),
    ("Ocrelizumab (Ocrevus)", "Primær progressiv multippel sklerose", 39800),
    ("Trastuzumab deruxtecan (Enhertu)", "Brystkreft med lavt HER2-uttrykk", 88400),
)
DEPARTMENTS = ("KREFT", "LUNGE", "HUD", "NEVRO", "HEM", "GYN")


@dataclass(frozen=True)
class DemoCase:
    hf: str
    department: str
    drug: int
    days_ago: int
    steps: tuple[str, ...] = ()  # "retur", "ny_versjon", "priskontroll", "pris", "hast", "trekk"


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
    form = get_form("tilgang-del2")
    values: dict[str, object] = {}
    for field_id in form.field_ids():
        hit = form.lookup(field_id)
        if hit is None or hit[1] is not None:
            continue  # repeat rows stay empty
        value = _value(form, hit[0], hf, when, n)
        if value is not None:
            values[field_id] = value
    name, diagnosis, cost = DRUGS[drug % len(DRUGS)]
    values.update(
        {
            "soknad.referansenummer": reference,
            "soknad.soker_navn": "Demo Overlege",
            "behandling.legemiddel": name,
            "pasient.diagnose": diagnosis,
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


def users_exist(storage: Storage) -> bool:
    uow = storage.uow()
    with uow:
        return uow.users.get(DEMO_USERS[0]["username"]) is not None


def _clock(at: datetime) -> Callable[[], datetime]:
    return lambda: at


def create(storage: Storage, *, out: Callable[[str], None] = print) -> bool:
    """Create the demo users and cases; False (nothing done) when they exist already."""
    if users_exist(storage):
        return False
    for spec in DEMO_USERS:
        services.add_user(
            storage.uow(),
            spec["username"],
            roles=spec["roles"],
            hf=spec.get("hf"),
            beslutningstaker=spec.get("beslutningstaker", False),
            fagomrader=spec.get("fagomrader", ()),
            password=spec["password"],
            display_name=spec["username"],
        )
    from forms.templates import build

    today = storage.today()
    coordinator = Actor("koordinator", frozenset({"koordinator"}))
    pricer = Actor("priskontroll", frozenset({"priskontroll"}))
    for n, plan in enumerate(PLAN):
        hf_user = Actor(f"hf-{plan.hf.lower()}", frozenset({"hf"}), plan.hf)
        when = today - timedelta(days=plan.days_ago)
        at = datetime.combine(when, time(9, 0), tzinfo=UTC) + timedelta(minutes=n)
        uow = SqlAlchemyUnitOfWork(storage.sessions, storage.blobs, _clock(at))
        reference = f"{(when - timedelta(days=1)).isoformat()}-{plan.hf}-{plan.department}"
        values = del2_values(plan.hf, reference, when, plan.drug, n)
        pdf = build("tilgang-del2", "pdf", values)
        result = services.upload(hf_user, "soknad.pdf", pdf, uow, when)
        if not result.accepted:
            codes = ", ".join(f.code for f in result.errors)
            raise RuntimeError(f"demo case {reference} was not accepted: {codes}")
        case_id = str(result.case_id)
        for step in plan.steps:
            if step == "retur":
                services.transition(
                    coordinator,
                    case_id,
                    "mottatt",
                    "returnert",
                    "Beskriv evalueringsplanen mer konkret: hvilke mål, og når?",
                    uow,
                )
            elif step == "ny_versjon":
                values["behandling.evalueringsplan"] = (
                    "MR etter 3 og 6 måneder og klinisk vurdering ved hver kontroll; "
                    "behandlingen stoppes ved progresjon."
                )
                pdf = build("tilgang-del2", "pdf", values)
                services.upload(hf_user, "soknad-v2.pdf", pdf, uow, when)
            elif step == "priskontroll":
                services.transition(coordinator, case_id, "mottatt", "priskontroll", None, uow)
            elif step == "pris":
                cost = float(values["kostnader.legemiddel_per_maned"])  # type: ignore[arg-type]
                services.price_check(pricer, case_id, cost, "Bekreftet mot avtalepris.", uow)
            elif step == "hast":
                services.set_urgent(
                    coordinator, case_id, True, "Rask progresjon; behandlingsvindu er kort.", uow
                )
            elif step == "trekk":
                services.transition(hf_user, case_id, "mottatt", "trukket", None, uow)
        out(f"Sak {case_id} opprettet.")
    return True


def print_logins(out: Callable[[str], None] = print) -> None:
    out("Demobrukere (brukernavn / passord – bare for lokal bruk):")
    for spec in DEMO_USERS:
        roles = ", ".join(spec["roles"])
        hf = f", {spec['hf']}" if spec.get("hf") else ""
        out(f"  {spec['username']} / {spec['password']}  ({roles}{hf})")
