"""Test helpers: fill blank templates the way a hospital's program would, and sample values.

The fillers start from the bytes of a BLANK template built by `forms.templates` and change only what
a user (or a user's program) would change: PDF field values, the content of Word content controls,
the input cells of a workbook. Values are flat `{field_id: value}` in canonical style (strings,
bools, numbers; dates `YYYY-MM-DD`).

`sample_values(form_id)` gives a complete, valid set of values for every form type. Nothing here is
a real person: the Del 1 fødselsnummer is a synthetic test number (month + 80) whose control digits
are computed, not typed.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from datetime import date

from lxml import etree
from openpyxl import load_workbook
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject

from forms.catalog import get_form
from forms.fields import FormDef
from forms.templates.xlsx import evaluate_formula

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
NS = {"w": W, "w14": W14}
CHECKED, UNCHECKED = "☒", "☐"

Values = dict[str, object]


def _form(form: FormDef | str) -> FormDef:
    return get_form(form) if isinstance(form, str) else form


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in {"true", "ja", "yes", "1", "x", "/yes", "on"}
    return bool(value)


# ---- PDF ---------------------------------------------------------------------------------------


def fill_pdf(template: bytes, values: Values) -> bytes:
    """Set AcroForm values with pypdf (checkboxes /Yes or /Off), on whichever page a field is."""
    reader = PdfReader(io.BytesIO(template))
    writer = PdfWriter(clone_from=reader)
    kinds = {name: f.get("/FT") for name, f in (reader.get_fields() or {}).items()}
    missing = sorted(set(values) - set(kinds))
    if missing:
        raise KeyError(f"the PDF has no fields {missing}")
    texts: dict[str, str] = {}
    for name, value in values.items():
        if kinds[name] == "/Btn":
            texts[name] = "/Yes" if _truthy(value) else "/Off"
        else:
            texts[name] = "" if value is None else _text(value)
    for page in writer.pages:
        names = set()
        for annot in page.get("/Annots", []) or []:
            obj = annot.get_object()
            if "/T" in obj:
                names.add(str(obj["/T"]))
        on_page = {k: v for k, v in texts.items() if k in names}
        if on_page:
            writer.update_page_form_field_values(page, on_page, auto_regenerate=False)
    # pypdf writes /V for checkboxes; keep /AS in step so viewers show the tick
    for page in writer.pages:
        for annot in page.get("/Annots", []) or []:
            obj = annot.get_object()
            name = str(obj.get("/T", ""))
            if name in texts and obj.get("/FT") == "/Btn":
                state = NameObject(texts[name])
                obj[NameObject("/V")] = state
                obj[NameObject("/AS")] = state
    writer.set_need_appearances_writer(True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ---- DOCX --------------------------------------------------------------------------------------


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _make_run(text: str, rpr: etree._Element | None = None) -> etree._Element:
    run = etree.Element(_w("r"))
    if rpr is not None:
        run.append(copy.deepcopy(rpr))
    t = etree.SubElement(run, _w("t"))
    t.text = text
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return run


def _date_display(value: object) -> tuple[str, str | None]:
    text = str(value)
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        return f"{m[3]}.{m[2]}.{m[1]}", f"{text}T00:00:00Z"
    return text, None


def _fill_sdt(sdt: etree._Element, value: object, dropdown: str) -> None:
    pr = sdt.find("w:sdtPr", NS)
    content = sdt.find("w:sdtContent", NS)
    for plc in pr.findall("w:showingPlcHdr", NS):
        pr.remove(plc)
    box = pr.find("w14:checkbox", NS)
    if box is not None:
        checked = _truthy(value)
        box.find("w14:checked", NS).set(f"{{{W14}}}val", "1" if checked else "0")
        for t in content.iter(_w("t")):
            t.text = CHECKED if checked else UNCHECKED
        return
    text = "" if value is None else _text(value)
    drop = pr.find("w:dropDownList", NS)
    if drop is None:
        drop = pr.find("w:comboBox", NS)
    if drop is not None and dropdown == "label":
        for item in drop.findall("w:listItem", NS):
            if item.get(_w("value")) == text:
                text = item.get(_w("displayText"))
    date_el = pr.find("w:date", NS)
    if date_el is not None and text:
        text, full = _date_display(text)
        if full:
            date_el.set(_w("fullDate"), full)
    block = content.find("w:p", NS) is not None
    if block:  # rich text: one paragraph per line
        first = content.find("w:p", NS)
        ppr = first.find("w:pPr", NS)
        for child in list(content):
            content.remove(child)
        for line in text.split("\n"):
            p = etree.SubElement(content, _w("p"))
            if ppr is not None:
                p.append(copy.deepcopy(ppr))
            p.append(_make_run(line))
        return
    rpr = pr.find("w:rPr", NS)
    for child in list(content):
        content.remove(child)
    lines = text.split("\n")
    run = _make_run(lines[0], rpr)
    for line in lines[1:]:
        etree.SubElement(run, _w("br"))
        t = etree.SubElement(run, _w("t"))
        t.text = line
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    content.append(run)


def fill_docx(template: bytes, values: Values, *, dropdown: str = "label") -> bytes:
    """Fill content controls by tag: text replaces the placeholder, check boxes get w14:checked and
    the glyph, drop-downs show the label (`dropdown="label"`) or the code (`"code"`), dates show
    DD.MM.YYYY. Every other part of the package is copied unchanged."""
    src = zipfile.ZipFile(io.BytesIO(template))
    root = etree.fromstring(src.read("word/document.xml"))
    found: set[str] = set()
    for sdt in root.iter(_w("sdt")):
        tag = sdt.find("w:sdtPr/w:tag", NS)
        if tag is None:
            continue
        field_id = tag.get(_w("val"))
        if field_id in values:
            _fill_sdt(sdt, values[field_id], dropdown)
            found.add(field_id)
    missing = sorted(set(values) - found)
    if missing:
        raise KeyError(f"the DOCX has no content controls {missing}")
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = document if info.filename == "word/document.xml" else src.read(info.filename)
            out.writestr(info, data)
    return buf.getvalue()


# ---- XLSX --------------------------------------------------------------------------------------

_SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> part name, read from the workbook and its relationships."""
    wb = etree.fromstring(archive.read("xl/workbook.xml"))
    rels = etree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{_PKG_REL_NS}}}Relationship")}
    out = {}
    for sheet in wb.iter(f"{{{_SHEET_NS}}}sheet"):
        target = targets[sheet.get(f"{{{_REL_NS}}}id")]
        out[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return out


def fill_xlsx(template: bytes, values: Values, *, cache_formulas: bool = True) -> bytes:
    """Set input cells by defined name and give formula cells a cached value.

    openpyxl cannot store a formula together with its cached value, so the saved sheet XML is
    post-processed: each formula cell gets `<v>` computed from the catalogue's `Field.formula`
    over `values` (or the value given for that field, to simulate a sheet whose figure disagrees).
    With `cache_formulas=False` the formulas keep no value, as when a program that does not
    calculate saved the file.
    """
    wb = load_workbook(io.BytesIO(template))
    targets: dict[str, tuple[str, str]] = {}
    for name, dn in wb.defined_names.items():
        ((sheet, ref),) = list(dn.destinations)
        targets[name] = (sheet, ref.replace("$", ""))
    sheet, ref = targets["skjema.type"]
    form = get_form(str(wb[sheet][ref].value))
    missing = sorted(set(values) - set(targets))
    if missing:
        raise KeyError(f"the workbook has no defined names {missing}")
    cached: dict[tuple[str, str], float] = {}
    for field_id, (sheet, ref) in targets.items():
        cell = wb[sheet][ref]
        field = form.lookup(field_id)
        formula = field[0].formula if field else None
        if isinstance(cell.value, str) and cell.value.startswith("=") and formula:
            if field_id in values and values[field_id] not in (None, ""):
                cached[(sheet, ref)] = float(values[field_id])  # type: ignore[arg-type]
            else:
                cached[(sheet, ref)] = evaluate_formula(formula, values)
            continue
        if field_id in values:
            value = values[field_id]
            cell.value = value if not isinstance(value, str) or value else None
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if not cache_formulas or not cached:
        return data
    src = zipfile.ZipFile(io.BytesIO(data))
    parts = _sheet_parts(src)
    by_part: dict[str, dict[str, float]] = {}
    for (sheet, ref), number in cached.items():
        by_part.setdefault(parts[sheet], {})[ref] = number
    out_buf = io.BytesIO()
    with zipfile.ZipFile(out_buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename in by_part:
                content = _cache_values(content, by_part[info.filename])
            out.writestr(info, content)
    return out_buf.getvalue()


def _cache_values(sheet_xml: bytes, numbers: dict[str, float]) -> bytes:
    root = etree.fromstring(sheet_xml)
    for c in root.iter(f"{{{_SHEET_NS}}}c"):
        ref = c.get("r")
        if ref not in numbers or c.find(f"{{{_SHEET_NS}}}f") is None:
            continue
        c.attrib.pop("t", None)
        v = c.find(f"{{{_SHEET_NS}}}v")
        if v is None:
            v = etree.SubElement(c, f"{{{_SHEET_NS}}}v")
        number = numbers[ref]
        v.text = str(int(number)) if float(number).is_integer() else repr(number)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# ---- JSON --------------------------------------------------------------------------------------


def fill_json(form: FormDef | str, values: Values) -> bytes:
    """Canonical JSON (FORMS.md 2): nested by the dots, repeat rows as arrays, empty rows dropped.

    Only the given values are written (`skjema.type` too: `sample_values` includes it, and a test
    may leave it out). A JSON array cannot keep row numbers: after dropped rows, `litteratur.2.*`
    becomes the first element, so findings name it `litteratur.1.*`.
    """
    form = _form(form)
    flat: Values = dict(values)
    doc: dict[str, object] = {}
    arrays: dict[str, dict[int, dict[str, object]]] = {}
    repeat_ids = {r.id for r in form.repeats()}
    for field_id, value in flat.items():
        parts = field_id.split(".")
        for i in range(1, len(parts)):
            prefix = ".".join(parts[:i])
            if prefix in repeat_ids and parts[i].isdigit():
                rest = ".".join(parts[i + 1 :])
                arrays.setdefault(prefix, {}).setdefault(int(parts[i]), {})[rest] = value
                break
        else:
            node = doc
            for p in parts[:-1]:
                node = node.setdefault(p, {})  # type: ignore[assignment]
            node[parts[-1]] = value
    for rep_id, rows in arrays.items():
        kept = [
            row for _, row in sorted(rows.items()) if any(v not in (None, "") for v in row.values())
        ]
        node = doc
        parts = rep_id.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})  # type: ignore[assignment]
        node[parts[-1]] = kept
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


# ---- synthetic identity ------------------------------------------------------------------------

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def control_digits(nine: str) -> str | None:
    """The two control digits of a fødselsnummer's first nine digits, None when none exist."""
    k1 = (11 - sum(w * int(d) for w, d in zip(_W1, nine, strict=True)) % 11) % 11
    if k1 == 10:
        return None
    ten = nine + str(k1)
    k2 = (11 - sum(w * int(d) for w, d in zip(_W2, ten, strict=True)) % 11) % 11
    if k2 == 10:
        return None
    return f"{k1}{k2}"


def synthetic_fodselsnummer(birth: date = date(1985, 8, 15), start: int = 123) -> str:
    """A synthetic test number (month + 80, FORMS.md 6) with valid control digits.

    The individual number is the first from `start` (kept within 000-499 for births in the
    1900s) that yields valid control digits.
    """
    prefix = f"{birth.day:02d}{birth.month + 80:02d}{birth.year % 100:02d}"
    for offset in range(500):
        individual = (start + offset) % 500
        nine = f"{prefix}{individual:03d}"
        digits = control_digits(nine)
        if digits is not None:
            return nine + digits
    raise ValueError("no valid individual number")  # pragma: no cover - cannot happen


# ---- sample values -----------------------------------------------------------------------------

REFERENCE = "2026-09-14-OUS-KREFT"
SAK_ID = "MMV-2026-001"
PATIENT_NAME = "Oddny Prøvesen"  # Del 1 only; none of its words appears in any Del 2 value


def _del2() -> Values:
    return {
        "skjema.type": "tilgang-del2",
        "skjema.versjon": "1",
        "soknad.helseforetak": "OUS",
        "soknad.soker_navn": "Åse Kværnø, overlege",
        "soknad.samtykke_bekreftet": True,
        "soknad.referansenummer": REFERENCE,
        "pasient.juridisk_kjonn": "kvinne",
        "pasient.fodselsar": 1985,
        "pasient.opptaksomrade": "OUS",
        "pasient.diagnose": "Ikke-småcellet lungekreft, stadium IV",
        "pasient.diagnosekode": "C34.1",
        "pasient.sykehistorie": (
            "Diagnostisert i 2024 med PD-L1-uttrykk over 50 %.\n"
            "Progresjon etter to behandlingslinjer; tåler behandlingen godt."
        ),
        "pasient.funksjonsniva": "ECOG 1. Klarer dagliglivet på egen hånd og går tur daglig.",
        "behandling.legemiddel": "Pembrolizumab (Keytruda)",
        "behandling.nye_metoder_id": "ID2025_131",
        "behandling.dosering": "200 mg intravenøst hver tredje uke",
        "behandling.varighet": "Inntil 24 måneder",
        "behandling.behandlingsmal": "livsforlengende",
        "behandling.evalueringsplan": "CT-kontroll hver 12. uke og klinisk vurdering før hver kur.",
        "behandling.stoppkriterier": "Radiologisk progresjon eller uakseptable bivirkninger.",
        "kostnader.legemiddel_per_maned": 62500,
        "kostnader.prisgrunnlag": "avtalepris",
        "kostnader.andre_per_maned": 4500,
        "kostnader.ekstra_ressurser": "Ingen ekstra ressurser utover ordinær poliklinisk oppfølging.",
        "kriterier.okt_nytte.oppfylt": True,
        "kriterier.okt_nytte.begrunnelse": (
            "Høyt PD-L1-uttrykk gir vesentlig større forventet nytte enn i gruppen som ble vurdert."
        ),
        "kriterier.hoyere_alvorlighet.oppfylt": False,
        "kriterier.sarskilte_medisinske_arsaker.oppfylt": False,
        "totalvurdering": "Samlet vurderes nytten å klart overstige risikoen – «sterk anbefaling».",
        "litteratur.1.tittel": "Pembrolizumab versus chemotherapy for PD-L1-positive NSCLC",
        "litteratur.1.lenke": "https://doi.org/10.1056/NEJMoa1606774",
        "litteratur.2.tittel": "Fem års oppfølging av KEYNOTE-024",
        "litteratur.2.lenke": "doi:10.1200/JCO.21.00174",
        "forankring.linjeleder_navn": "Bjørg Sæther",
        "forankring.linjeleder_begrunnelse": "Avdelingen støtter søknaden.",
        "forankring.linjeleder_godkjent": True,
        "forankring.fagdirektor_navn": "Øystein Ås",
        "forankring.fagdirektor_begrunnelse": "Søknaden er faglig godt begrunnet.",
        "forankring.fagdirektor_godkjent": True,
        "forankring.fagdirektor_bekrefter_komplett": True,
        "forankring.dato": "2026-10-01",
    }


def _del1() -> Values:
    return {
        "skjema.type": "tilgang-del1",
        "skjema.versjon": "1",
        "pasient.navn": PATIENT_NAME,
        "pasient.fodselsnummer": synthetic_fodselsnummer(),
        "soknad.referansenummer": REFERENCE,
        "soknad.behandlingsansvarlig_lege": "Åse Kværnø",
        "samtykke.gitt": True,
        "samtykke.sted": "Oslo",
        "samtykke.dato": "2026-09-14",
    }


def _minihta() -> Values:
    return {
        "skjema.type": "minihta",
        "skjema.versjon": "1",
        "generelt.tittel": "Robotassistert kirurgi ved endetarmskreft",
        "generelt.formal": "innforing",
        "generelt.helseforetak": "OUS",
        "generelt.avdeling": "Gastrokirurgisk avdeling",
        "generelt.forslagsstiller_navn": "Åse Kværnø",
        "generelt.forslagsstiller_stilling": "Overlege",
        "generelt.forslagsstiller_epost": "ase.kvaerno@example.org",
        "generelt.medforfattere": "Bibliotekar Pål Ørn og controller Siri Moe",
        "generelt.interessekonflikter": "Ingen",
        "generelt.dato": "2026-10-01",
        "sammendrag": "Robotassistert kirurgi gir færre konverteringer til åpen operasjon.\n"
        "Kostnadene er høyere de første årene.",
        "metode.beskrivelse": "Laparoskopisk reseksjon med robotassistanse.",
        "metode.type": "prosedyre",
        "metode.fagomrade": "Gastrokirurgi",
        "metode.dagens_praksis": "Konvensjonell laparoskopisk kirurgi.",
        "metode.pico_populasjon": "Voksne med endetarmskreft som skal opereres.",
        "metode.pico_intervensjon": "Robotassistert reseksjon.",
        "metode.pico_komparator": "Konvensjonell laparoskopi.",
        "metode.pico_utfall": "Konvertering, komplikasjoner, liggetid og livskvalitet.",
        "metode.pasienter_per_ar": 40,
        "metode.vurdert_i_nye_metoder": True,
        "metode.nye_metoder_id": "ID2025_131",
        "metode.bruk_andre_steder": "I bruk ved flere universitetssykehus i Norden.",
        "dokumentasjon.sokedato": "2026-08-20",
        "dokumentasjon.databaser": "MEDLINE, Embase, Cochrane Library",
        "dokumentasjon.sokestrategi": "Søkeord for robotkirurgi og endetarmskreft, 2015–2026.",
        "dokumentasjon.bibliotekar": True,
        "dokumentasjon.antall_studier": 12,
        "dokumentasjon.kvalitet": "middels",
        "effekt.klinisk_effekt": "Færre konverteringer til åpen kirurgi; lik overlevelse.",
        "effekt.sikkerhet": "Ingen økning i alvorlige komplikasjoner.",
        "etikk.vurdering": "Ingen særskilte etiske utfordringer.",
        "organisasjon.personell": "Opplæring av to operasjonsteam.",
        "organisasjon.lokaler_utstyr": "Robot plasseres på eksisterende operasjonsstue.",
        "organisasjon.andre_avdelinger": "Anestesi og operasjonsavdeling berøres.",
        "okonomi.investering": 850000,
        "okonomi.driftskostnad_per_ar": 420000,
        "okonomi.kostnad_dagens_praksis_per_ar": 310000,
        "okonomi.controller": True,
        "okonomi.kommentar": "Se økonomivedlegget.",
        "konklusjon.anbefaling": "innfores",
        "konklusjon.begrunnelse": "Bedre kliniske resultater til en akseptabel merkostnad.",
        "konklusjon.foreslas_nasjonalt": False,
        "litteratur.1.referanse": "Jayne D et al. Effect of robotic-assisted surgery. JAMA 2017.",
        "litteratur.1.lenke": "https://doi.org/10.1001/jama.2017.7219",
        "litteratur.2.referanse": "Kunnskapssenterets oppsummering av robotkirurgi",
        "litteratur.2.lenke": "doi:10.1000/xyz123",
    }


def _okonomi() -> Values:
    form = get_form("minihta-okonomi")
    values: Values = {
        "skjema.type": "minihta-okonomi",
        "skjema.versjon": "1",
        "sak.id": SAK_ID,
        "sak.tittel": "Robotassistert kirurgi ved endetarmskreft",
        "okonomi.pasienter_per_ar": 40,
        "okonomi.investering": 850000,
        "okonomi.driftskostnad_per_ar": 420000,
        "okonomi.kostnad_dagens_praksis_per_ar": 310000,
        "okonomi.endring_inntekter_per_ar": 60000,
    }
    for fid in form.field_ids():
        formula = form.field(fid).formula
        if formula:
            number = evaluate_formula(formula, values)
            values[fid] = int(number) if number.is_integer() else number
    return values


def _fagfelle() -> Values:
    return {
        "skjema.type": "minihta-fagfelle",
        "skjema.versjon": "1",
        "sak.id": SAK_ID,
        "fagfelle.navn": "Bjørn Ødegård",
        "fagfelle.stilling": "Seksjonsoverlege",
        "fagfelle.helseforetak": "HBE",
        "habilitet.niva": "gronn",
        "vurdering.problemstilling": "ja",
        "vurdering.litteratursok": "delvis",
        "vurdering.dokumentasjon": "ja",
        "vurdering.okonomi": "ja",
        "vurdering.konklusjon": "ja",
        "vurdering.kommentarer": "Litteratursøket bør også omfatte studier fra før 2015.",
        "samlet.anbefaling": "mindre_endringer",
        "samlet.dato": "2026-10-01",
    }


def _beslutning() -> Values:
    return {
        "skjema.type": "minihta-beslutning",
        "skjema.versjon": "1",
        "sak.id": SAK_ID,
        "beslutning.organ": "Råd for metodevurdering, Oslo universitetssykehus",
        "beslutning.dato": "2026-10-15",
        "beslutning.utfall": "innfort_med_vilkar",
        "beslutning.begrunnelse": "God dokumentasjon på klinisk effekt; økonomien er akseptabel.",
        "beslutning.vilkar": "Resultatene registreres og evalueres etter to år.",
        "oppfolging.evaluering_planlagt": True,
        "oppfolging.revurderingsdato": "2028-10-15",
        "oppfolging.meldt_til_nye_metoder": False,
    }


_SAMPLES = {
    "tilgang-del1": _del1,
    "tilgang-del2": _del2,
    "minihta": _minihta,
    "minihta-okonomi": _okonomi,
    "minihta-fagfelle": _fagfelle,
    "minihta-beslutning": _beslutning,
}


def sample_values(form_id: str, **overrides: object) -> Values:
    """A complete, valid set of flat values for `form_id`.

    Field ids contain dots, so pass overrides as `**{"soknad.helseforetak": "AHUS"}`; an override
    of None removes the field.
    """
    values = _SAMPLES[form_id]()
    form = get_form(form_id)
    for field_id, value in overrides.items():
        if form.lookup(field_id) is None:
            raise KeyError(f"unknown field id for {form_id}: {field_id}")
        if value is None:
            values.pop(field_id, None)
        else:
            values[field_id] = value
    return values


__all__ = [
    "control_digits",
    "fill_docx",
    "fill_json",
    "fill_pdf",
    "fill_xlsx",
    "sample_values",
    "synthetic_fodselsnummer",
]
