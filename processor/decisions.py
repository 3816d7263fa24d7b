"""The committee's decision on an individual access application (WORKFLOW.md §5).

The coordinator records the decision in a short standard format (`Decision`); `validate_decision`
lists what is missing in Norwegian; `decision_letter_pdf` and `decision_letter_docx` render the
letter to the HF, with the reference number prominently so that the HF finds Del 1 in the
patient's record. Pure and deterministic: values in, bytes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from reportlab.platypus import Flowable, Spacer

from forms.catalog import get_form
from forms.templates.docx import R_NS, document_part, paragraph, run, write_docx
from forms.tilgang import CRITERIA
from processor import timefmt
from processor.domain import FormType, Outcome
from processor.render import (
    build_document,
    format_date,
    heading,
    kv_table,
    para,
    paragraphs,
    styles,
)

OUTCOMES: dict[str, str] = {o: o.label for o in Outcome}
QUORUM = 4  # WORKFLOW.md §3: at least 4 decision-makers take part
LETTER_TITLE = "Vedtak om individuell tilgang"
SENDER = "Vurderingskomitéen for individuell tilgang, Nye metoder"


def criterion_label(key: str) -> str:
    """The Norwegian name of a criterion, from the Del 2 catalogue ("Økt nytte" …)."""
    return get_form(FormType.TILGANG_DEL2).field(f"kriterier.{key}.oppfylt").label


@dataclass(frozen=True)
class Decision:
    """One decision. `kriterier` maps each of CRITERIA to (oppfylt, begrunnelse)."""

    reference: str
    utfall: str  # an `Outcome`
    kriterier: dict[str, tuple[bool, str]]
    begrunnelse: str
    deltakere: list[str]
    foreslar_gruppevurdering: bool
    gruppevurdering_tekst: str
    decided: date
    hf_name: str
    # the medicine applied for, as Del 2 names it (`behandling.legemiddel`), and its id in Nye
    # metoder: the HF reads at once which application the letter answers
    legemiddel: str = ""
    nye_metoder_id: str = ""


def _medicine_rows(d: Decision) -> list[tuple[str, str]]:
    rows = [("Legemiddel", d.legemiddel), ("ID i Nye metoder", d.nye_metoder_id)]
    return [(label, value) for label, value in rows if value.strip()]


def _blank(text: object) -> bool:
    return not isinstance(text, str) or not text.strip()


def validate_decision(d: Decision) -> list[str]:
    """Everything that keeps the decision from being recorded, in Norwegian; [] when none."""
    return [message for _, message in decision_problems(d)]


def decision_problems(d: Decision) -> list[tuple[str, str]]:
    """`validate_decision`'s problems, each with the form field it concerns: "utfall",
    "<criterion>_oppfylt", "<criterion>_begrunnelse", "kriterier", "begrunnelse", "deltakere",
    "gruppevurdering_tekst", or "" (the case, not a field)."""
    problems: list[tuple[str, str]] = []
    if _blank(d.reference):
        problems.append(("", "Referansenummeret mangler."))
    if d.utfall not in OUTCOMES:
        problems.append(("utfall", "Utfallet må være «innvilget» eller «avslått»."))
    for key in CRITERIA:
        label = criterion_label(key)
        entry = d.kriterier.get(key)
        if entry is None:
            problems.append(
                (
                    f"{key}_oppfylt",
                    f"Kriteriet «{label}» mangler: angi om det er oppfylt eller ikke.",
                )
            )
            continue
        met, reason = entry
        if not isinstance(met, bool):
            problems.append(
                (f"{key}_oppfylt", f"Kriteriet «{label}»: angi om det er oppfylt (ja eller nei).")
            )
        elif met and _blank(reason):
            problems.append(
                (f"{key}_begrunnelse", f"Kriteriet «{label}» er oppfylt, men begrunnelsen mangler.")
            )
    unknown = sorted(set(d.kriterier) - set(CRITERIA))
    if unknown:
        problems.append(("kriterier", f"Ukjente kriterier: {', '.join(unknown)}."))
    if d.utfall == Outcome.INNVILGET and not any(
        isinstance(e, tuple) and e and e[0] is True for e in d.kriterier.values()
    ):
        problems.append(("utfall", "Et innvilget vedtak krever at minst ett kriterium er oppfylt."))
    if _blank(d.begrunnelse):
        problems.append(("begrunnelse", "Den samlede begrunnelsen mangler."))
    names = [n.strip() for n in d.deltakere if isinstance(n, str) and n.strip()]
    if len(names) < QUORUM:
        problems.append(
            (
                "deltakere",
                f"Komitéen er ikke vedtaksfør: minst {QUORUM} beslutningstakere må ha deltatt, "
                f"{len(names)} er oppgitt.",
            )
        )
    if len({n.casefold() for n in names}) != len(names):
        problems.append(("deltakere", "Samme deltaker er oppgitt flere ganger."))
    if d.foreslar_gruppevurdering and _blank(d.gruppevurdering_tekst):
        problems.append(
            (
                "gruppevurdering_tekst",
                "Komitéen foreslår vurdering på gruppenivå, men teksten til forslaget mangler.",
            )
        )
    if _blank(d.hf_name):
        problems.append(("", "Helseforetaket vedtaket sendes til, mangler."))
    return problems


# ---- the letter's content, shared by PDF and DOCX ------------------------------------------------


def _outcome_sentence(d: Decision) -> str:
    if d.utfall == Outcome.INNVILGET:
        return (
            "Vurderingskomitéen har innvilget søknaden om individuell tilgang til behandlingen "
            "det er søkt om."
        )
    return "Vurderingskomitéen har avslått søknaden om individuell tilgang."


def _criteria_rows(d: Decision) -> list[tuple[str, str]]:
    rows = []
    for key in CRITERIA:
        met, reason = d.kriterier.get(key, (False, ""))
        reason = str(reason or "")
        verdict = "Oppfylt" if met is True else "Ikke oppfylt"
        rows.append((criterion_label(key), f"{verdict}\n{reason}" if reason.strip() else verdict))
    return rows


def _group_text(d: Decision) -> str:
    if d.foreslar_gruppevurdering:
        return (
            "Komitéen foreslår at metoden vurderes på nytt på gruppenivå i Nye metoder.\n"
            + d.gruppevurdering_tekst
        )
    return "Komitéen foreslår ikke en ny vurdering på gruppenivå i Nye metoder."


REFERENCE_HINT = "Bruk referansenummeret for å finne del 1 av søknaden i pasientens journal."
READ_ONLY = "Saken er med dette avsluttet hos Nye metoder."


def _outcome(d: Decision) -> str:
    return OUTCOMES.get(d.utfall, d.utfall)


def decision_letter_pdf(d: Decision, created: datetime | None = None) -> bytes:
    """The decision letter as an A4 PDF (deterministic: `created`, the time the letter is made,
    is its creation date in the PDF's metadata; see `processor.render.build_document`)."""
    s = styles()
    story: list[Flowable] = [
        para(LETTER_TITLE, s.title),
        para(SENDER, s.subtitle),
        Spacer(0, 10),
        para(f"Referansenummer: {d.reference}", s.prominent),
        para(REFERENCE_HINT, s.small),
        Spacer(0, 8),
        kv_table(
            [
                ("Til", d.hf_name),
                *_medicine_rows(d),
                ("Vedtaksdato", format_date(d.decided)),
                ("Vedtak", _outcome(d)),
            ]
        ),
        Spacer(0, 8),
        para(_outcome_sentence(d)),
    ]
    story.extend(heading("Kriteriene"))
    story.append(kv_table(_criteria_rows(d)))
    story.extend(heading("Begrunnelse"))
    story.extend(paragraphs(d.begrunnelse, s.body))
    story.extend(heading("Deltakere i komitéen"))
    story.extend(para(name, s.body) for name in d.deltakere)
    story.extend(heading("Vurdering på gruppenivå"))
    story.extend(paragraphs(_group_text(d), s.body))
    story.append(Spacer(0, 10))
    story.append(para(READ_ONLY, s.body))
    story.append(para("Med vennlig hilsen", s.body))
    story.append(para(SENDER, s.body))
    return build_document(
        story,
        title=f"{LETTER_TITLE} – {d.reference}",
        footer=f"{LETTER_TITLE} – referansenummer {d.reference} – {format_date(d.decided)}",
        subject=f"{_outcome(d)} – {d.reference}",
        keywords=[d.reference, d.utfall],
        created=created,
    )


# ---- DOCX ---------------------------------------------------------------------------------------


def _lines(text: str, style: str | None = None) -> str:
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    return "".join(paragraph(run(ln), style) for ln in lines)


def _table(rows: Sequence[tuple[str, str]]) -> str:
    def cell(content: str, width: int, shade: bool) -> str:
        fill = '<w:shd w:val="clear" w:color="auto" w:fill="EEF2F6"/>' if shade else ""
        return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{fill}</w:tcPr>{content}</w:tc>'

    body = "".join(
        "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
        + cell(paragraph(run(label)), 3000, True)
        + cell(_lines(value) or paragraph(run("–")), 6638, False)
        + "</w:tr>"
        for label, value in rows
    )
    return (
        '<w:tbl><w:tblPr><w:tblStyle w:val="Skjematabell"/><w:tblW w:w="9638" w:type="dxa"/>'
        '<w:tblLayout w:type="fixed"/></w:tblPr>'
        '<w:tblGrid><w:gridCol w:w="3000"/><w:gridCol w:w="6638"/></w:tblGrid>' + body + "</w:tbl>"
    )


def _document_xml(d: Decision) -> str:
    big = '<w:b/><w:sz w:val="30"/><w:szCs w:val="30"/>'
    body = [
        paragraph(run(LETTER_TITLE), "Title"),
        paragraph(run(SENDER), "Ingress"),
        paragraph(run(f"Referansenummer: {d.reference}", big)),
        paragraph(run(REFERENCE_HINT), "Hjelpetekst"),
        _table(
            [
                ("Til", d.hf_name),
                *_medicine_rows(d),
                ("Vedtaksdato", format_date(d.decided)),
                ("Vedtak", _outcome(d)),
            ]
        ),
        paragraph(run(_outcome_sentence(d))),
        paragraph(run("Kriteriene"), "Heading2"),
        _table(_criteria_rows(d)),
        paragraph(run("Begrunnelse"), "Heading2"),
        _lines(d.begrunnelse),
        paragraph(run("Deltakere i komitéen"), "Heading2"),
        "".join(paragraph(run(name)) for name in d.deltakere),
        paragraph(run("Vurdering på gruppenivå"), "Heading2"),
        _lines(_group_text(d)),
        paragraph(run(READ_ONLY)),
        paragraph(run("Med vennlig hilsen")),
        paragraph(run(SENDER)),
    ]
    return document_part(body, f' xmlns:r="{R_NS}"')


def decision_letter_docx(d: Decision, created: datetime | None = None) -> bytes:
    """The decision letter as a DOCX for the HF's archive (deterministic: `created`, the time the
    letter is made, or else the start of the decision's day in Oslo, is its creation date)."""
    return write_docx(
        _document_xml(d),
        title=f"{LETTER_TITLE} – {d.reference}",
        subject=_outcome(d),
        keywords=d.reference,
        created=timefmt.as_oslo(created)
        if created is not None
        else datetime.combine(d.decided, time(), tzinfo=timefmt.OSLO),
    )


__all__ = [
    "CRITERIA",
    "OUTCOMES",
    "QUORUM",
    "Decision",
    "criterion_label",
    "decision_letter_docx",
    "decision_letter_pdf",
    "decision_problems",
    "validate_decision",
]
