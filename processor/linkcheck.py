"""The link check that runs at the HF (FORMS.md section 7).

Reads Del 1 and Del 2 on the HF's own machine and says whether they belong together, without ever
returning identity: results are Norwegian sentences naming fields, never values. With a key it
computes `soknad.del1_kontrollsum` and writes it into Del 2 (PDF or DOCX), leaving every other
field as it was.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date

from forms.catalog import get_form
from processor import identity
from processor.domain import FormType, case_key
from processor.extracted import Extracted
from processor.findings import Limits, Refusal
from processor.ingest import file_suffix
from processor.normalise import fold, normalise_value
from processor.validate import reference_problem

CHECKSUM_FIELD = "soknad.del1_kontrollsum"
MONTHS = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
]


@dataclass
class Check:
    ok: bool
    message: str


@dataclass
class LinkReport:
    checks: list[Check] = field(default_factory=list)
    checksum: str | None = None  # computed only when every check holds and a key was given

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, ok: bool, message: str) -> None:
        self.checks.append(Check(ok, message))

    def check(self, ok: bool, passed: str, failed: str) -> None:
        """One check: its message is `passed` when it holds, `failed` when not."""
        self.add(ok, passed if ok else failed)


def read_form(filename: str, data: bytes, limits: Limits | None = None) -> Extracted:
    """Fields of a PDF or DOCX, with no identity guard (Del 1 holds identity by design)."""
    limits = limits or Limits()
    suffix = file_suffix(filename).lower()
    if suffix == ".pdf":
        from processor.extract_pdf import extract_pdf

        return extract_pdf(data, limits)
    if suffix == ".docx":
        from processor.extract_docx import extract_docx

        return extract_docx(data, limits)
    raise Refusal("FILE_TYPE_UNSUPPORTED", "Koblingskontrollen leser PDF- og DOCX-filer.")


def kontrollsum(key: bytes, fodselsnummer: str, reference: str) -> str:
    message = f"{fodselsnummer}|{reference.upper()}".encode()
    return "k1:" + hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def birth_date(fnr: str) -> date | None:
    """The birth date inside a fødselsnummer, D-, H- or synthetic number (None for FH)."""
    if fnr[0] in "89":
        return None
    day, month, yy, individ = int(fnr[0:2]), int(fnr[2:4]), int(fnr[4:6]), int(fnr[6:9])
    day = day - 40 if day > 40 else day
    month = month - 80 if month > 80 else month - 40 if month > 40 else month
    if individ < 500:
        century = 1900
    elif individ < 750 and yy >= 54:
        century = 1800
    elif yy < 40:
        century = 2000
    elif individ >= 900:
        century = 1900
    else:
        century = 1900
    try:
        return date(century + yy, month, day)
    except ValueError:
        return None


def _date_patterns(d: date) -> list[re.Pattern[str]]:
    dd, mm, yyyy, yy = d.day, d.month, d.year, d.year % 100
    texts = [
        f"{dd:02}.{mm:02}.{yyyy}",
        f"{dd}.{mm}.{yyyy}",
        f"{dd:02}/{mm:02}/{yyyy}",
        f"{dd}/{mm}/{yyyy}",
        f"{yyyy}-{mm:02}-{dd:02}",
        f"{dd:02}.{mm:02}.{yy:02}",
        f"{dd:02}{mm:02}{yy:02}",
        f"{dd:02}-{mm:02}-{yyyy}",
        f"{dd}.{mm}.{yy:02}",
    ]
    out = [re.compile(rf"(?<!\d){re.escape(t)}(?!\d)") for t in texts]
    # "3. januar 1987", "03. januar 1987", "3. jan. 1987"
    month = rf"(?:{MONTHS[mm - 1]}|{MONTHS[mm - 1][:3]}\.?)"
    out.append(re.compile(rf"(?<!\d)0?{dd}\.?\s*{month}\s*{yyyy}(?!\d)", re.IGNORECASE))
    return out


def _texts(ex: Extracted) -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = []
    for fid, value in ex.fields.items():
        out.extend((fid, t) for t in identity.value_texts(value))
    out.extend((None, t) for _, t in ex.texts)
    return out


def check_link(
    del1: Extracted, del2: Extracted, today: date, key: bytes | None = None
) -> LinkReport:
    report = LinkReport()
    f1, f2 = get_form(FormType.TILGANG_DEL1), get_form(FormType.TILGANG_DEL2)
    report.check(
        del1.fields.get("skjema.type") == f1.id,
        "Del 1 er en del 1 (tilgang-del1).",
        "Den første filen er ikke en del 1 (tilgang-del1).",
    )
    report.check(
        del2.fields.get("skjema.type") == f2.id,
        "Del 2 er en del 2 (tilgang-del2).",
        "Den andre filen er ikke en del 2 (tilgang-del2).",
    )

    ref1 = case_key(str(del1.fields.get("soknad.referansenummer") or ""))
    ref2 = case_key(str(del2.fields.get("soknad.referansenummer") or ""))
    problem = reference_problem(ref1, today) if ref1 else "Referansenummeret mangler i del 1."
    report.check(problem is None, "Referansenummeret i del 1 er gyldig.", f"Del 1: {problem}")
    if ref1 and ref2:
        report.check(
            ref1 == ref2,
            "Referansenumrene i del 1 og del 2 er like.",
            "Referansenumrene i del 1 og del 2 er ulike.",
        )
    elif not ref2:  # a missing one in del 1 is reported above
        report.add(False, "Referansenummeret mangler i del 2.")

    raw_fnr = str(del1.fields.get("pasient.fodselsnummer") or "")
    digits = re.sub(r"[ .\-]", "", raw_fnr.strip())
    fnr_ok = identity.is_identity_number(digits)
    report.check(
        fnr_ok,
        "Del 1 har et gyldig fødselsnummer.",
        "Del 1 mangler et gyldig fødselsnummer (11 siffer med riktige kontrollsiffer).",
    )
    name = str(del1.fields.get("pasient.navn") or "").strip()
    report.check(bool(name), "Del 1 har pasientens navn.", "Del 1 mangler pasientens navn.")
    consent = normalise_value(f1.field("samtykke.gitt"), del1.fields.get("samtykke.gitt"))
    report.check(
        consent is True,
        "Pasienten har samtykket i del 1.",
        "Samtykket i del 1 er ikke krysset av.",
    )

    texts = _texts(del2)

    def where(hits: set[str | None]) -> str:
        """Where in Del 2 the hits are: each field by its label, or the document."""
        places = (
            f"i feltet «{f2.label(h)}»" if h and f2.lookup(h) else "i dokumentet" for h in hits
        )
        return ", ".join(sorted(places))

    if fnr_ok:
        hits = {fid for fid, t in texts if digits in identity.identity_numbers(t) or digits in t}
        report.check(
            not hits,
            "Del 2 inneholder ikke fødselsnummeret fra del 1.",
            f"Del 2 inneholder fødselsnummeret fra del 1 {where(hits)}.",
        )
        born = birth_date(digits)
        if born:
            patterns = _date_patterns(born)
            hits = {fid for fid, t in texts if any(p.search(t) for p in patterns)}
            report.check(
                not hits,
                "Del 2 inneholder ikke fødselsdatoen.",
                f"Del 2 inneholder fødselsdatoen {where(hits)}.",
            )
    if name:
        words = {fold(w) for w in re.findall(r"[^\W\d_]{3,}", name)}
        free_text = [
            (fid, str(v))
            for fid, v in del2.fields.items()
            if isinstance(v, str)
            and (hit := f2.lookup(fid))
            and hit[0].type in ("text", "textarea")
        ]
        hits = {
            fid for fid, t in free_text if words & {fold(w) for w in re.findall(r"[^\W\d_]+", t)}
        }
        report.check(
            not hits,
            "Del 2 inneholder ikke pasientens navn.",
            f"Del 2 inneholder ord fra pasientens navn {where(hits)}.",
        )

    if key is not None and report.ok:
        report.checksum = kontrollsum(key, digits, ref1)
    return report


# ---- writing the checksum into Del 2 ----------------------------------------------------------


class NoChecksumField(Exception):
    """Del 2 was made from an older template without `soknad.del1_kontrollsum`."""


def write_checksum(filename: str, data: bytes, checksum: str) -> bytes:
    suffix = file_suffix(filename).lower()
    if suffix == ".pdf":
        return _write_pdf(data, checksum)
    if suffix == ".docx":
        return _write_docx(data, checksum)
    raise Refusal("FILE_TYPE_UNSUPPORTED", "Kontrollsummen kan skrives i PDF- og DOCX-filer.")


def _write_pdf(data: bytes, checksum: str) -> bytes:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        BooleanObject,
        DictionaryObject,
        NameObject,
        TextStringObject,
    )

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    acro = writer._root_object["/AcroForm"].get_object()

    def find(kids: ArrayObject, prefix: str) -> DictionaryObject | None:
        for ref in kids:
            node = ref.get_object()
            if not isinstance(node, DictionaryObject):
                continue
            t = node.get("/T")
            name = (
                f"{prefix}.{t}"
                if prefix and t is not None
                else (str(t) if t is not None else prefix)
            )
            if name == CHECKSUM_FIELD and t is not None:
                return node
            if "/Kids" in node and (t is not None) and CHECKSUM_FIELD.startswith(name + "."):
                hit = find(node["/Kids"], name)
                if hit is not None:
                    return hit
        return None

    node = find(acro.get("/Fields", ArrayObject()), "")
    if node is None:
        raise NoChecksumField
    node[NameObject("/V")] = TextStringObject(checksum)
    try:
        for page in writer.pages:
            writer.update_page_form_field_values(
                page, {CHECKSUM_FIELD: checksum}, auto_regenerate=False
            )
    except Exception:  # appearance regeneration is cosmetic; the value is set above
        pass
    acro[NameObject("/NeedAppearances")] = BooleanObject(True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _write_docx(data: bytes, checksum: str) -> bytes:
    from lxml import etree

    src = zipfile.ZipFile(io.BytesIO(data))
    parts = [
        n for n in src.namelist() if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", n)
    ]
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    changed: dict[str, bytes] = {}
    for part in parts:
        raw = src.read(part)
        if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
            raise Refusal("FILE_CORRUPT")
        root = etree.fromstring(raw, parser)
        for sdt in root.iter(f"{{{_W}}}sdt"):
            tag = sdt.find(f"{{{_W}}}sdtPr/{{{_W}}}tag")
            if tag is None or tag.get(f"{{{_W}}}val") != CHECKSUM_FIELD:
                continue
            pr = sdt.find(f"{{{_W}}}sdtPr")
            plc = pr.find(f"{{{_W}}}showingPlcHdr")
            if plc is not None:
                pr.remove(plc)
            content = sdt.find(f"{{{_W}}}sdtContent")
            texts = list(content.iter(f"{{{_W}}}t"))
            if texts:
                texts[0].text = checksum
                for t in texts[1:]:
                    t.text = ""
            else:
                run = etree.SubElement(
                    content if content.find(f"{{{_W}}}p") is None else content.find(f"{{{_W}}}p"),
                    f"{{{_W}}}r",
                )
                etree.SubElement(run, f"{{{_W}}}t").text = checksum
            changed[part] = etree.tostring(
                root, xml_declaration=True, encoding="UTF-8", standalone=True
            )
    if not changed:
        raise NoChecksumField
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(
                info, changed.get(info.filename, src.read(info.filename)), info.compress_type
            )
    return out.getvalue()
