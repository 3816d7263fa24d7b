"""Helpers for the spec tests (tests/test_forms_*.py, test_cli_check.py).

- An implementation of the identity-number rules of FORMS.md section 6 that is independent of
  `processor.identity`, used to generate numbers (never written down literally: the repository's
  hook scans tracked files for real-looking numbers).
- A complete, valid Del 2 as flat field ids and as canonical JSON.
- Two small PDF builders: a flat AcroForm made with reportlab (field names are the dotted ids) and a
  hand-built hierarchical AcroForm made of pypdf generic objects (parents with /T and /Kids).
"""

from __future__ import annotations

import io
import json
from datetime import date

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from forms.catalog import get_form

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)

# (day shift, month shift) per kind of number
SHIFTS = {
    "fodselsnummer": (0, 0),
    "d-nummer": (40, 0),
    "h-nummer": (0, 40),
    "syntetisk": (0, 80),
    "syntetisk-d": (40, 80),
}


def first_sum(number: str) -> int:
    return sum(w * int(c) for w, c in zip(W1, number[:10], strict=True)) % 11


def second_sum(number: str) -> int:
    return sum(w * int(c) for w, c in zip(W2, number, strict=True)) % 11


def passes_control_digits(number: str) -> bool:
    return len(number) == 11 and first_sum(number) in (0, 1, 2, 3) and second_sum(number) == 0


def with_control_digits(nine: str, wanted_first_sum: int = 0) -> str | None:
    """The eleven digits for nine leading digits, or None when no control digit fits (10)."""
    s1 = sum(w * int(c) for w, c in zip(W1[:9], nine, strict=True))
    k1 = (wanted_first_sum - s1) % 11
    if k1 == 10:
        return None
    ten = nine + str(k1)
    k2 = -sum(w * int(c) for w, c in zip(W2[:10], ten, strict=True)) % 11
    if k2 == 10:
        return None
    return ten + str(k2)


def number_for(
    born: date, kind: str = "syntetisk", individual: int = 0, wanted_first_sum: int = 0
) -> str:
    """A number of `kind` for a birth date, starting the search for a usable individual number at
    `individual` and staying in the range that gives the right century (FORMS.md section 6)."""
    dd, mm = SHIFTS[kind]
    low, high = (0, 500) if 1900 <= born.year < 2000 else (500, 1000)
    span = high - low
    for step in range(span):
        ind = low + (individual - low + step) % span
        nine = f"{born.day + dd:02}{born.month + mm:02}{born.year % 100:02}{ind:03}"
        number = with_control_digits(nine, wanted_first_sum)
        if number:
            return number
    raise AssertionError("no individual number fits")  # never for a real date


def fh_number(eight: str, first: str = "8", wanted_first_sum: int = 0) -> str | None:
    """An FH-nummer: first digit 8 or 9, eight free digits, two control digits."""
    return with_control_digits(first + eight, wanted_first_sum)


def synthetic(born: date = date(1987, 1, 3), individual: int = 123) -> str:
    """A synthetic test number (month + 80) for a birth date."""
    return number_for(born, "syntetisk", individual)


# ---- a complete, valid Del 2 ---------------------------------------------------------------------

REFERENCE = "2026-02-03-STO-LUNGE"

DEL2_VALUES: dict[str, object] = {
    "skjema.type": "tilgang-del2",
    "skjema.versjon": "1",
    "soknad.helseforetak": "STO",
    "soknad.soker_navn": "Lege Lind",
    "soknad.samtykke_bekreftet": True,
    "soknad.referansenummer": REFERENCE,
    "pasient.juridisk_kjonn": "mann",
    "pasient.fodselsar": 1971,
    "pasient.diagnose": "Metastatisk melanom",
    "pasient.diagnosekode": "C43.9",
    "pasient.sykehistorie": "Progresjon etter to behandlingslinjer.",
    "pasient.funksjonsniva": "ECOG 1, i arbeid.",
    "behandling.legemiddel": "Legemiddel X",
    "behandling.nye_metoder_id": "ID2025_042",
    "behandling.dosering": "240 mg hver andre uke",
    "behandling.varighet": "Inntil 12 måneder",
    "behandling.behandlingsmal": "livsforlengende",
    "behandling.evalueringsplan": "CT etter tre måneder.",
    "behandling.stoppkriterier": "Progresjon eller uakseptable bivirkninger.",
    "kostnader.legemiddel_per_maned": "12 500",
    "kostnader.prisgrunnlag": "avtalepris",
    "kostnader.andre_per_maned": "1 000,50",
    "kriterier.okt_nytte.oppfylt": True,
    "kriterier.okt_nytte.begrunnelse": "Biomarkør gir bedre forventet effekt.",
    "kriterier.hoyere_alvorlighet.oppfylt": False,
    "kriterier.sarskilte_medisinske_arsaker.oppfylt": False,
    "totalvurdering": "Forventet nytte er klart større enn i gruppen.",
    "litteratur.1.tittel": "En fase II-studie",
    "litteratur.1.lenke": "https://doi.org/10.1000/eksempel",
    "forankring.linjeleder_navn": "Leder Strand",
    "forankring.linjeleder_begrunnelse": "Støttes.",
    "forankring.linjeleder_godkjent": True,
    "forankring.fagdirektor_navn": "Direktør Vik",
    "forankring.fagdirektor_begrunnelse": "Kriteriene er oppfylt.",
    "forankring.fagdirektor_godkjent": True,
    "forankring.fagdirektor_bekrefter_komplett": True,
    "forankring.dato": "20.11.2026",
}


def nest(flat: dict[str, object]) -> dict:
    """Canonical JSON shape (FORMS.md section 2): nested by dots, numbered rows as arrays."""
    out: dict = {}
    for fid, value in flat.items():
        node = out
        parts = fid.split(".")
        for key in parts[:-1]:
            node = node.setdefault(key, {})
        node[parts[-1]] = value
    return _rows_to_lists(out)


def _rows_to_lists(node: object) -> object:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_rows_to_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _rows_to_lists(v) for k, v in node.items()}


def del2_json(**overrides: object) -> bytes:
    """A Del 2 as canonical JSON; an override of None removes the field."""
    flat = {**DEL2_VALUES, **overrides}
    return json.dumps(nest({k: v for k, v in flat.items() if v is not None})).encode()


# ---- PDF builders --------------------------------------------------------------------------------


def field_kinds(form_id: str = "tilgang-del2") -> dict[str, str]:
    """Every field id of a form with the widget kind a PDF gives it: text, checkbox or radio."""
    form = get_form(form_id)
    kinds = {}
    for fid in form.field_ids():
        f = form.lookup(fid)[0]  # type: ignore[index]
        kinds[fid] = {"checkbox": "checkbox", "choice": "radio"}.get(f.type, "text")
    return kinds


def _choices(fid: str, form_id: str) -> list[str]:
    return [c.code for c in get_form(form_id).field(fid).choices]


def _slot(i: int) -> tuple[int, float, float]:
    """Page index and position of the i-th widget: 36 rows per page."""
    return i // 36, 40.0, 770.0 - (i % 36) * 20.0


def reportlab_pdf(
    kinds: dict[str, str], values: dict[str, object] | None = None, form_id: str = "tilgang-del2"
) -> bytes:
    """A flat AcroForm: one reportlab field per id, named with the dotted id."""
    from reportlab.pdfgen import canvas

    values = values or {}
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    page = 0
    for i, (fid, kind) in enumerate(kinds.items()):
        p, x, y = _slot(i)
        while page < p:
            c.showPage()
            page += 1
        c.drawString(x, y + 4, fid)
        v = values.get(fid)
        if kind == "checkbox":
            c.acroForm.checkbox(name=fid, x=x + 250, y=y, size=12, checked=bool(v), fieldFlags="")
        elif kind == "radio":
            for j, code in enumerate(_choices(fid, form_id)):
                c.acroForm.radio(
                    name=fid, value=code, selected=v == code, x=x + 250 + j * 20, y=y, size=12
                )
        else:
            c.acroForm.textfield(
                name=fid,
                value="" if v is None else str(v),
                x=x + 250,
                y=y,
                width=280,
                height=16,
                fieldFlags="",
                maxlen=0,
            )
    c.showPage()
    c.save()
    return buf.getvalue()


def _appearance(writer: PdfWriter) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(b"")
    stream.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([FloatObject(0)] * 2 + [FloatObject(12)] * 2),
        }
    )
    return writer._add_object(stream)


def _widget(writer: PdfWriter, page_ref: IndirectObject, rect: list[float]) -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in rect]),
            NameObject("/P"): page_ref,
            NameObject("/F"): NumberObject(4),
        }
    )


def hierarchical_pdf(
    kinds: dict[str, str],
    values: dict[str, object] | None = None,
    form_id: str = "tilgang-del2",
    on_state: str = "Yes",
) -> bytes:
    """A hand-built AcroForm whose field tree follows the dots: `soknad` is a parent field with
    /Kids, `helseforetak` a terminal field under it. Checkboxes use `on_state` as their on state;
    `values` are written to /V as they are (checkbox and radio values as names)."""
    values = values or {}
    writer = PdfWriter()
    pages = [writer.add_blank_page(612, 792) for _ in range(_slot(len(kinds))[0] + 1)]
    page_refs = [p.indirect_reference for p in pages]
    annots = [ArrayObject() for _ in pages]
    top = ArrayObject()
    parents: dict[str, IndirectObject] = {}
    off = _appearance(writer)
    on = _appearance(writer)

    def parent_ref(path: list[str]) -> IndirectObject | None:
        if not path:
            return None
        key = ".".join(path)
        if key not in parents:
            node = DictionaryObject(
                {NameObject("/T"): TextStringObject(path[-1]), NameObject("/Kids"): ArrayObject()}
            )
            ref = writer._add_object(node)
            up = parent_ref(path[:-1])
            if up is None:
                top.append(ref)
            else:
                node[NameObject("/Parent")] = up
                up.get_object()["/Kids"].append(ref)
            parents[key] = ref
        return parents[key]

    for i, (fid, kind) in enumerate(kinds.items()):
        p, x, y = _slot(i)
        *ancestors, leaf = fid.split(".")
        v = values.get(fid)
        if kind == "radio":
            field = DictionaryObject(
                {
                    NameObject("/FT"): NameObject("/Btn"),
                    NameObject("/Ff"): NumberObject((1 << 15) | (1 << 14)),
                    NameObject("/Kids"): ArrayObject(),
                }
            )
            if v is not None:
                field[NameObject("/V")] = NameObject(f"/{v}")
            field_ref = writer._add_object(field)
            for j, code in enumerate(_choices(fid, form_id)):
                kid = _widget(writer, page_refs[p], [x + j * 20, y, x + j * 20 + 12, y + 12])
                kid[NameObject("/Parent")] = field_ref
                kid[NameObject("/AS")] = NameObject(f"/{code}" if v == code else "/Off")
                kid[NameObject("/AP")] = DictionaryObject(
                    {
                        NameObject("/N"): DictionaryObject(
                            {NameObject(f"/{code}"): on, NameObject("/Off"): off}
                        )
                    }
                )
                kid_ref = writer._add_object(kid)
                field["/Kids"].append(kid_ref)
                annots[p].append(kid_ref)
        else:
            field = _widget(writer, page_refs[p], [x, y, x + 280, y + 16])
            if kind == "checkbox":
                state = NameObject(f"/{on_state}" if v else "/Off")
                field.update(
                    {
                        NameObject("/FT"): NameObject("/Btn"),
                        NameObject("/V"): state,
                        NameObject("/AS"): state,
                        NameObject("/AP"): DictionaryObject(
                            {
                                NameObject("/N"): DictionaryObject(
                                    {NameObject(f"/{on_state}"): on, NameObject("/Off"): off}
                                )
                            }
                        ),
                    }
                )
            else:
                field[NameObject("/FT")] = NameObject("/Tx")
                field[NameObject("/DA")] = TextStringObject("/Helv 10 Tf 0 g")
                if v is not None:
                    field[NameObject("/V")] = TextStringObject(str(v))
            field_ref = writer._add_object(field)
            annots[p].append(field_ref)
        field[NameObject("/T")] = TextStringObject(leaf)
        up = parent_ref(ancestors)
        if up is None:
            top.append(field_ref)
        else:
            field[NameObject("/Parent")] = up
            up.get_object()["/Kids"].append(field_ref)

    for page, a in zip(pages, annots, strict=True):
        page[NameObject("/Annots")] = a
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {
            NameObject("/Fields"): top,
            NameObject("/NeedAppearances"): BooleanObject(True),
            NameObject("/DA"): TextStringObject("/Helv 10 Tf 0 g"),
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def fill_with_pypdf(pdf: bytes, values: dict[str, object]) -> bytes:
    """Fill an AcroForm with pypdf as an HF's PDF software would: text as strings, checkboxes and
    radio buttons as state names (`/Yes`, `/livsforlengende`)."""
    from pypdf import PdfReader

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_values(flat: dict[str, object], kinds: dict[str, str]) -> dict[str, str]:
    """`flat` as pypdf fill values: ticked checkboxes `/Yes`, radio codes as names."""
    out = {}
    for fid, v in flat.items():
        kind = kinds.get(fid, "text")
        if kind == "checkbox":
            out[fid] = "/Yes" if v else "/Off"
        elif kind == "radio":
            out[fid] = f"/{v}"
        else:
            out[fid] = str(v)
    return out
