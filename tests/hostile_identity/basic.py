"""The plain places (FORMS.md section 6, rule 1): a synthetic identity number in the file name,
in a JSON field value (also written with a dash after the sixth digit), in a JSON key, in a Word
content control and in a PDF form field (also in full-width digits). Every file is otherwise a
complete, valid Del 2, built in memory with the project's template builders and `tests.fillers`,
so the number is the only reason to refuse it."""

from __future__ import annotations

import json
from datetime import date
from functools import cache

from forms.templates import build
from tests.fillers import fill_docx, fill_json, fill_pdf, sample_values, synthetic_fodselsnummer
from tests.hostile_identity import HostileCase

FIELD = "pasient.sykehistorie"  # a free-text field of Del 2
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _del2(reference: str, **overrides: object) -> dict[str, object]:
    return sample_values(
        "tilgang-del2",
        **{"soknad.referansenummer": f"2026-09-14-OUS-{reference}", **overrides},
    )


def _history(text: str) -> dict[str, object]:
    return {FIELD: f"Progresjon etter to behandlingslinjer. Notat: {text}."}


@cache
def _templates() -> tuple[bytes, bytes]:
    return build("tilgang-del2", "pdf"), build("tilgang-del2", "docx")


def cases(wrong: bool = False) -> list[HostileCase]:
    """The corpus; with `wrong`, the same files with numbers whose last control digit is off
    (eleven digits that are no identity: such a file must be accepted). Each file has a
    reference of its own, so the accepted ones each open a case."""
    pdf, docx = _templates()
    out: list[HostileCase] = []

    def _number(day: int) -> str:
        """A distinct synthetic number (month + 80) per case, so a trace names its case."""
        n = synthetic_fodselsnummer(date(1971, 3, day), start=200 + day)
        return n[:10] + str((int(n[10]) + 1) % 10) if wrong else n

    n = _number(1)
    out.append(
        HostileCase(
            "basic-file-name",
            f"soknad-{n}.json",
            fill_json("tilgang-del2", _del2("HOSTILE1")),
            n,
        )
    )

    n = _number(2)
    out.append(
        HostileCase(
            "basic-json-value",
            "soknad.json",
            fill_json("tilgang-del2", _del2("HOSTILE2", **_history(n))),
            n,
            FIELD,
        )
    )

    n = _number(3)
    out.append(
        HostileCase(
            "basic-json-value-dash",
            "soknad.json",
            fill_json("tilgang-del2", _del2("HOSTILE3", **_history(f"{n[:6]}-{n[6:]}"))),
            n,
            FIELD,
        )
    )

    n = _number(4)
    doc = json.loads(fill_json("tilgang-del2", _del2("HOSTILE4")))
    doc["pasient"][f"notat_{n}"] = "ekstra nøkkel"
    out.append(
        HostileCase(
            "basic-json-key",
            "soknad.json",
            json.dumps(doc, ensure_ascii=False).encode("utf-8"),
            n,
        )
    )

    n = _number(5)
    out.append(
        HostileCase(
            "basic-docx-content-control",
            "soknad.docx",
            fill_docx(docx, _del2("HOSTILE5", **_history(n))),
            n,
            FIELD,
        )
    )

    n = _number(6)
    out.append(
        HostileCase(
            "basic-pdf-field",
            "soknad.pdf",
            fill_pdf(pdf, _del2("HOSTILE6", **_history(n))),
            n,
            FIELD,
        )
    )

    n = _number(7)
    out.append(
        HostileCase(
            "basic-pdf-field-full-width",
            "soknad.pdf",
            fill_pdf(pdf, _del2("HOSTILE7", **_history(n.translate(FULL_WIDTH)))),
            n,
            FIELD,
        )
    )
    return out
