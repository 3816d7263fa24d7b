"""Formatting for the web layer: role names, and the bodies of uploads and state changes.

The reads themselves (case list, case detail, inbox, price queue) are `services.queries`; this
module only turns service results into the JSON-ready bodies the pages and the API show.
"""

from __future__ import annotations

from typing import Any

from forms.catalog import catalogue
from processor.domain import STATE_LABELS, Role
from services.queries import findings, hf_name
from services.upload import UploadResult
from storage.models import Case

__all__ = ["ROLE_LABELS", "case_state", "hf_name", "upload_result"]

ROLE_LABELS: dict[str, str] = {r: r.label for r in Role}


# ---- actions --------------------------------------------------------------------------------------


def upload_result(result: UploadResult) -> dict[str, Any]:
    """The API body of an upload, with labels for the page."""
    body = result.to_dict()
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
