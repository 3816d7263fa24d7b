"""Template builders: fillable PDF, DOCX with content controls, XLSX with defined names, FHIR.

Every builder reads the field catalogue (`forms.catalog`) and nothing else; field names, tags and
defined names are the field ids of FORMS.md and MINIHTA.md.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

from forms.catalog import catalogue, get_form
from forms.fields import FormDef
from forms.templates.docx import build_docx
from forms.templates.fhir import questionnaire
from forms.templates.pdf import build_pdf
from forms.templates.xlsx import build_xlsx

FORMATS = ("pdf", "docx", "xlsx", "json", "fhir")


def canonical_json(form: FormDef, values: dict[str, object] | None = None) -> dict[str, object]:
    """Flat values nested by the dots of the field ids (FORMS.md 2), with `skjema` prefilled."""
    flat: dict[str, object] = dict(form.header_values())
    flat.update(values or {})
    out: dict[str, object] = {}
    rows: dict[str, dict[int, dict[str, object]]] = {}
    for field_id, value in flat.items():
        hit = form.lookup(field_id)
        if hit is None:
            raise KeyError(f"unknown field id for {form.id}: {field_id}")
        _, rep = hit
        if rep is not None:
            n = int(field_id[len(rep.id) + 1 :].split(".", 1)[0])
            sub_id = field_id[len(rep.id) + 1 :].split(".", 1)[1]
            rows.setdefault(rep.id, {}).setdefault(n, {})[sub_id] = value
            continue
        _put(out, field_id, value)
    for rep_id, by_n in rows.items():
        arr = [
            row for _, row in sorted(by_n.items()) if any(v not in (None, "") for v in row.values())
        ]
        _put(out, rep_id, arr)
    return out


def _put(out: dict[str, object], dotted: str, value: object) -> None:
    node = out
    *parents, leaf = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})  # type: ignore[assignment]
    node[leaf] = value


def build(form_id: str, fmt: str, values: dict[str, object] | None = None) -> bytes:
    """One template (or prefilled document) as bytes.

    `fmt` is one of `pdf`, `docx`, `xlsx`, `json` (canonical JSON with `skjema` filled in and the
    given values) or `fhir` (the Questionnaire). Raises ValueError for a format the form does not
    offer (the Questionnaire exists for every form).
    """
    form = get_form(form_id)
    if fmt != "fhir" and fmt not in form.formats:
        raise ValueError(f"{form_id} has no {fmt} template (formats: {', '.join(form.formats)})")
    if fmt == "pdf":
        return build_pdf(form, values)
    if fmt == "docx":
        return build_docx(form, values)
    if fmt == "xlsx":
        return build_xlsx(form, values)
    if fmt == "json":
        return _json_bytes(canonical_json(form, values))
    if fmt == "fhir":
        return _json_bytes(questionnaire(form))
    raise ValueError(f"unknown format {fmt!r}")


def _json_bytes(doc: object) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def schema_path(form: FormDef) -> Path | None:
    """`schemas/<form_id>-v<version>.schema.json` when it exists."""
    try:
        candidate = resources.files("schemas").joinpath(f"{form.id}-v{form.version}.schema.json")
    except ModuleNotFoundError:
        return None
    path = Path(str(candidate))
    return path if path.is_file() else None


def write_templates(outdir: Path) -> list[Path]:
    """Write every template of every form into `outdir`; returns the paths written, in order.

    Per form: `<id>.pdf` / `<id>.docx` / `<id>.xlsx` for the formats it offers, `<id>.fhir.json`
    (the Questionnaire), and `<id>-v<version>.schema.json` copied from `schemas/` when present.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for form in catalogue().values():
        for fmt in form.formats:
            if fmt == "json":
                continue  # the JSON format is described by the schema and the Questionnaire
            path = outdir / f"{form.id}.{fmt}"
            path.write_bytes(build(form.id, fmt))
            written.append(path)
        path = outdir / f"{form.id}.fhir.json"
        path.write_bytes(build(form.id, "fhir"))
        written.append(path)
        schema = schema_path(form)
        if schema is not None:
            target = outdir / schema.name
            shutil.copyfile(schema, target)
            written.append(target)
    return written


__all__ = [
    "FORMATS",
    "build",
    "build_docx",
    "build_pdf",
    "build_xlsx",
    "canonical_json",
    "questionnaire",
    "schema_path",
    "write_templates",
]
