"""Formatting for the web layer: role names, and the bodies of uploads and state changes.

The reads themselves (case list, case detail, inbox, price queue) are `services.queries`; this
module only turns service results into the JSON-ready bodies the pages and the API show.
"""

from __future__ import annotations

from typing import Any

from forms.catalog import catalogue
from processor.domain import STATE_LABELS, FormType, Role
from services import committee
from services.queries import findings, hf_name
from services.upload import UploadResult
from storage.models import Case

__all__ = ["ROLE_LABELS", "case_state", "hf_name", "plan_outcome", "upload_body", "upload_result"]

ROLE_LABELS: dict[str, str] = {r: r.label for r in Role}


# ---- actions --------------------------------------------------------------------------------------


def upload_body(result: UploadResult) -> dict[str, Any]:
    """The API body of an upload (API.md, `POST /innsendinger`): the case and version of an
    accepted one, else its status and findings."""
    warnings = [f.to_dict() for f in result.warnings]
    if result.accepted:
        return {
            "sak": result.case_id,
            "versjon": result.version,
            "status": result.status,
            "fil_sha256": result.file_sha256,
            "warnings": warnings,
        }
    return {
        "status": result.status,
        "errors": [f.to_dict() for f in result.errors],
        "warnings": warnings,
    }


def upload_result(result: UploadResult) -> dict[str, Any]:
    """The API body of an upload, with labels for the page."""
    body = upload_body(result)
    body["errors"] = findings(result.form_type, body.get("errors", []))
    body["warnings"] = findings(result.form_type, body.get("warnings", []))
    form = catalogue().get(result.form_type or "")
    body["type"] = result.form_type
    body["type_navn"] = form.short_name if form else None
    return body


def case_state(case: Case) -> dict[str, Any]:
    """The short answer of a change: the case's id and state."""
    return {
        "sak": case.id,
        "status": case.state,
        "status_navn": STATE_LABELS.get(case.state, case.state),
        "hast": case.urgent,
    }


def plan_outcome(outcome: committee.PlanOutcome) -> dict[str, Any]:
    """The answer of planning a meeting: what was placed, what not and why, and the quorum."""
    return {
        "plassert": outcome.placed,
        "ikke_plassert": [{"sak": c, "grunn": g} for c, g in outcome.not_placed],
        "beslutningsdyktighet": outcome.quorum,
    }


HF_FORMS = (
    FormType.TILGANG_DEL2,
    FormType.MINIHTA,
    FormType.MINIHTA_OKONOMI,
    FormType.MINIHTA_BESLUTNING,
)
REVIEWER_FORMS = (FormType.MINIHTA_FAGFELLE,)


def template_links(form_ids: tuple[FormType, ...]) -> list[dict[str, Any]]:
    """The blank templates of these forms in every format the service builds (`/api/v1/maler`:
    the form's formats, and its JSON Schema as `json`)."""
    out = []
    for form_id in form_ids:
        form = catalogue().get(str(form_id))
        if form is None:
            continue
        formats = list(form.formats) + ([] if "json" in form.formats else ["json"])
        out.append({"id": form.id, "navn": form.name, "formater": formats})
    return out
