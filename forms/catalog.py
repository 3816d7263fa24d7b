"""The field catalogue: one definition per form type drives everything else.

Schemas, templates (PDF, DOCX, XLSX, FHIR), the parsers' label fallback, rendered PDFs and web
forms all read these definitions. A field is added here and nowhere else.

The types of a definition are in `forms.fields`, the HF registry in `forms.helseforetak`.
Field ids and form ids are the contract of FORMS.md and MINIHTA.md; do not rename them.
"""

from __future__ import annotations

from functools import cache

from forms import minihta, tilgang
from forms.fields import FormDef

# ---- the catalogue ------------------------------------------------------------------------------


@cache
def catalogue() -> dict[str, FormDef]:
    forms = [
        tilgang.DEL1,
        tilgang.DEL2,
        minihta.MINIHTA,
        minihta.OKONOMI,
        minihta.FAGFELLE,
        minihta.BESLUTNING,
    ]
    return {f.id: f for f in forms}


@cache
def all_field_ids() -> frozenset[str]:
    """Every field id of every form (repeat rows numbered), as files carry them."""
    return frozenset(fid for form in catalogue().values() for fid in form.field_ids())


def get_form(form_id: str) -> FormDef:
    return catalogue()[form_id]


FORM_IDS = (
    "tilgang-del1",
    "tilgang-del2",
    "minihta",
    "minihta-okonomi",
    "minihta-fagfelle",
    "minihta-beslutning",
)
