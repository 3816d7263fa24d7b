"""The receipt of a submitted draft (PORTAL.md section 4): a PDF the HF files in its own archive.

Pure: stored values in, bytes out, built with the shared blocks of `processor.render` (text
extractable). The SHA-256 of the submitted form's bytes `C(data)` is printed on one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Spacer

from processor import timefmt
from processor.render import (
    EMPTY,
    build_document,
    heading,
    hf_name,
    kv_table,
    para,
    styles,
)

__all__ = ["ReceiptStep", "receipt_pdf"]


@dataclass(frozen=True)
class ReceiptStep:
    """One approval on the receipt: function label, the person's name, when, why."""

    funksjon: str
    navn: str
    tidspunkt: datetime
    begrunnelse: str | None


def receipt_pdf(
    *,
    form_name: str,
    case_id: str,
    hf: str,
    submitted_at: datetime,
    authors: Sequence[str],
    steps: Sequence[ReceiptStep],
    sha256: str,
) -> bytes:
    """The receipt: form, case id, HF, time of submission (Europe/Oslo, `DD.MM.ÅÅÅÅ kl. TT:MM`),
    author, each approval and the SHA-256 of the submitted form."""
    s = styles()
    when = timefmt.date_time_text(submitted_at)
    story: list[Flowable] = [
        para("Kvittering for innsending", s.title),
        para(f"{form_name} · Saks-ID {case_id}", s.subtitle),
        Spacer(0, 6),
        kv_table(
            [
                ("Skjema", form_name),
                ("Saks-ID", case_id),
                ("Helseforetak", f"{hf_name(hf)} ({hf})" if hf_name(hf) != hf else hf),
                ("Sendt inn", when),
                ("Utfylt av", ", ".join(authors) or EMPTY),
            ]
        ),
    ]
    story.extend(heading("Godkjenninger"))
    if steps:
        for step in steps:
            story.append(
                kv_table(
                    [
                        ("Funksjon", step.funksjon),
                        ("Navn", step.navn),
                        ("Tidspunkt", timefmt.date_time_text(step.tidspunkt)),
                        ("Begrunnelse", step.begrunnelse or EMPTY),
                    ]
                )
            )
            story.append(Spacer(0, 6))
    else:
        story.append(para("Skjemaet ble sendt inn uten godkjenningsrunde (mini-metodevurdering)."))
    story.extend(heading("Kontrollsum"))
    story.append(
        para(
            "SHA-256 av det innsendte skjemaet (JSON, nøkler sortert, UTF-8):",
            s.body,
        )
    )
    # one line: the hex digest at a size that fits the width of the page
    story.append(para(sha256, ParagraphStyle("sha", s.value, fontSize=8.5, leading=11)))
    return build_document(
        story,
        title=f"Kvittering {case_id}",
        footer=f"Kvittering · {case_id} · Nye metoder",
        subject=f"{form_name} – {case_id}",
        keywords=["kvittering", case_id],
        created=submitted_at,
    )
