"""Read functions (queries): the plain data of each case page and list, as JSON-ready dicts.

Each function takes an actor and a unit of work and reads through the repositories; another HF's
case is NOT_FOUND, never FORBIDDEN (`can_see`). A role that may not open a list is FORBIDDEN.
Results carry the Norwegian labels a person reads (state and form names, field labels, amounts),
so the HTML page and its JSON twin render the same structure. Nothing here changes data.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from forms.catalog import catalogue
from forms.fields import FormDef
from forms.helseforetak import registry
from processor import timefmt
from processor.domain import (
    CASE_FORM_TYPES,
    RULES,
    STATE_LABELS,
    STATES,
    Actor,
    FormType,
    State,
    case_key,
    hf_code,
)
from processor.errors import DomainError, NotFound
from services.access import can_see
from services.cases import diff, flatten
from services.drafts import case_approvals
from storage.models import Case
from storage.uow import AbstractUnitOfWork

__all__ = [
    "case_detail",
    "display",
    "findings",
    "form_review",
    "hf_name",
    "inbox",
    "kroner",
    "label",
    "list_cases",
    "price_queue",
    "summary",
]

SHORT_TEXT_CHARS = 40
FINAL_STATES = {State.AVGJORT, State.TRUKKET, State.PUBLISERT}
MAX_PAGE = 100_000  # the last page number `list_cases` reads (the API refuses a larger one)


def _form(form_type: str | None) -> FormDef | None:
    return catalogue().get(form_type or "")


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _days(at: datetime, today: date) -> int:
    return max(0, (today - at.astimezone(timefmt.OSLO).date()).days)


def hf_name(code: str | None) -> str:
    trust = registry().trusts.get(code or "")
    return trust.name if trust else (code or "")


def display(form: FormDef | None, field_id: str, value: Any) -> str:
    """A value as a person reads it: Ja/Nei, choice labels, Norwegian number format."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Ja" if value else "Nei"
    hit = form.lookup(field_id) if form else None
    kind = hit[0].type if hit is not None else None
    if isinstance(value, int | float):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if kind == "integer":
            return str(value)
        return f"{value:,}".replace(",", "\u00a0").replace(".", ",")
    text = str(value)
    if kind == "date" and len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text[8:10]}.{text[5:7]}.{text[0:4]}"
    if hit is not None and hit[0].choices:
        return hit[0].choice_label(text)
    return text


def kroner(value: float | None) -> str:
    """An amount in NOK as a person reads it: "62 500" or "61 250,50"."""
    return timefmt.amount_text(value, blank="ikke oppgitt")


def label(form: FormDef | None, field_id: str | None) -> str | None:
    if not field_id:
        return None
    return form.label(field_id) if form else field_id


def findings(form_type: str | None, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings with the Norwegian label of their field (`etikett`)."""
    form = _form(form_type)
    return [{**f, "etikett": label(form, f.get("field"))} for f in items]


def _title(case: Case) -> str:
    data = case.latest.data if case.latest else {}
    if case.form_type == FormType.MINIHTA:
        return str((data.get("generelt") or {}).get("tittel") or "")
    return str((data.get("behandling") or {}).get("legemiddel") or "")


def summary(case: Case, today: date) -> dict[str, Any]:
    form = _form(case.form_type)
    entered = case.transitions[-1].at if case.transitions else case.created_at
    return {
        "sak": case.id,
        "type": case.form_type,
        "type_navn": form.short_name if form else case.form_type,
        "tittel": _title(case),
        "helseforetak": case.hf,
        "helseforetak_navn": hf_name(case.hf),
        "status": case.state,
        "status_navn": STATE_LABELS.get(case.state, case.state),
        "hast": case.urgent,
        "versjon": len(case.versions),
        "mottatt": _iso(case.created_at),
        "oppdatert": _iso(case.updated_at),
        "alder_dager": _days(case.created_at, today),
        "dager_i_status": _days(entered, today),
    }


# ---- lists --------------------------------------------------------------------------------------


def list_cases(
    actor: Actor,
    uow: AbstractUnitOfWork,
    today: date,
    *,
    form_type: str | None = None,
    state: str | None = None,
    hf: str | None = None,
    search: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> dict[str, Any]:
    """`GET /saker`: the cases the caller may see, newest first, paged.

    `search` (`sok`): part of the case id (any letter case)."""
    if state is not None and state not in STATES:
        raise DomainError("INVALID_VALUE", f"Ukjent status: {state}.")
    if form_type is not None and form_type not in CASE_FORM_TYPES:
        raise DomainError("INVALID_VALUE", f"Ukjent sakstype: {form_type}.")
    roles = set(actor.roles)
    if hf is not None:
        hf = hf_code(hf)
    only_own = "hf" in roles and not roles & {"koordinator", "priskontroll"}
    foreign = only_own and hf is not None and hf != actor.hf
    if only_own:
        hf = actor.hf  # another HF asked for: an empty list, as if it had no cases
    search = (search or "").strip()[:100] or None
    page = min(max(1, page), MAX_PAGE)  # an offset beyond it is more than a database takes
    start = (page - 1) * per_page
    with uow:
        if foreign:
            total, rows = 0, []
        elif "koordinator" in roles or (only_own and actor.hf is not None):
            # the caller sees every case the filters match (`can_see`): page in the database
            total, cases = uow.cases.page(
                hf=hf,
                state=state,
                form_type=form_type,
                id_contains=search,
                offset=start,
                limit=per_page,
            )
            rows = [summary(c, today) for c in cases]
        else:
            found = uow.cases.list(hf=hf, state=state, form_type=form_type, id_contains=search)
            cases = [c for c in found if can_see(actor, c)]
            total = len(cases)
            rows = [summary(c, today) for c in cases[start : start + per_page]]
    return {
        "saker": rows,
        "side": page,
        "per_side": per_page,
        "totalt": total,
        "sider": max(1, math.ceil(total / per_page)),
    }


def inbox(actor: Actor, uow: AbstractUnitOfWork, today: date) -> dict[str, Any]:
    """The coordinator's inbox: open cases grouped by state (in workflow order), oldest first."""
    if "koordinator" not in set(actor.roles):
        raise DomainError("FORBIDDEN")
    groups: dict[str, list[dict[str, Any]]] = {}
    with uow:
        for case in uow.cases.list():
            if case.state in FINAL_STATES or not can_see(actor, case):
                continue
            groups.setdefault(case.state, []).append(summary(case, today))
    ordered = []
    for state in STATES:
        rows = groups.get(state)
        if rows:
            rows.sort(key=lambda r: (not r["hast"], -r["alder_dager"], r["sak"]))
            ordered.append({"status": state, "status_navn": STATE_LABELS[state], "saker": rows})
    return {"grupper": ordered, "totalt": sum(len(g["saker"]) for g in ordered)}


def price_queue(actor: Actor, uow: AbstractUnitOfWork, today: date) -> dict[str, Any]:
    """Sykehusinnkjøp's queue: cases waiting for the price check, oldest first."""
    if "priskontroll" not in set(actor.roles):
        raise DomainError("FORBIDDEN")
    rows = []
    with uow:
        for case in uow.cases.list(state=State.PRISKONTROLL):
            if not can_see(actor, case):
                continue
            row = summary(case, today)
            row["oppgitt_per_maned"] = _stated_cost(case)
            row["oppgitt_visning"] = kroner(row["oppgitt_per_maned"])
            rows.append(row)
    rows.sort(key=lambda r: (not r["hast"], -r["dager_i_status"], r["sak"]))
    return {"saker": rows, "totalt": len(rows)}


def _stated_cost(case: Case) -> float | None:
    data = case.latest.data if case.latest else {}
    value = (data.get("kostnader") or {}).get("legemiddel_per_maned")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


# ---- one case -----------------------------------------------------------------------------------


def _sections(form: FormDef | None, data: dict[str, Any]) -> list[dict[str, Any]]:
    flat = flatten(data)
    if form is None:
        return [
            {
                "seksjon": "Data",
                "felt": [
                    {"id": k, "etikett": k, "verdi": v, "visning": display(None, k, v)}
                    for k, v in flat.items()
                ],
            }
        ]
    out: list[dict[str, Any]] = []
    by_title: dict[str, list[dict[str, Any]]] = {}
    for fid in form.field_ids():
        if fid not in flat:
            continue
        hit = form.lookup(fid)
        if hit is not None and hit[0].hidden:
            continue
        section = form.section_of(fid)
        title = section.title if section else "Annet"
        if title not in by_title:
            by_title[title] = []
            out.append({"seksjon": title, "felt": by_title[title]})
        value = flat[fid]
        by_title[title].append(
            {
                "id": fid,
                "etikett": form.label(fid),
                "verdi": value,
                "visning": display(form, fid, value),
            }
        )
    return out


def _signals(form: FormDef | None, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Soft signals for the coordinator's checklist: very short free texts."""
    if form is None:
        return []
    out = []
    for fid, value in flatten(data).items():
        hit = form.lookup(fid)
        if hit is None or hit[0].type != "textarea" or not isinstance(value, str):
            continue
        if 0 < len(value.strip()) < SHORT_TEXT_CHARS:
            out.append(
                {
                    "code": "SHORT_TEXT",
                    "field": fid,
                    "etikett": form.label(fid),
                    "message": f"Kort fritekst ({len(value.strip())} tegn). Er den utfyllende nok?",
                }
            )
    return out


def form_review(form_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """A form's values as the coordinator reads them on a case page, for a form that is not yet a
    case (a draft before its sign-off, PORTAL.md section 6): the sections with labels and shown
    values (`seksjoner`) and the soft signals of the checklist (`signaler`)."""
    form = _form(form_type)
    return {"seksjoner": _sections(form, data), "signaler": _signals(form, data)}


def _actions(actor: Actor, case: Case) -> list[dict[str, Any]]:
    roles = set(actor.roles)
    out = []
    for (form_type, from_, to), rule in RULES.items():
        if form_type != case.form_type or from_ != case.state or not roles & rule.roles:
            continue
        if rule.own_hf and case.hf != actor.hf:
            continue
        out.append(
            {
                "fra": from_,
                "til": to,
                "navn": STATE_LABELS.get(to, to),
                "krever_begrunnelse": rule.needs_reason,
            }
        )
    return out


def case_detail(actor: Actor, case_id: str, uow: AbstractUnitOfWork, today: date) -> dict[str, Any]:
    """`GET /saker/{id}`: type, state, data (latest version), versions, history, findings."""
    with uow:
        case = uow.cases.get(case_key(case_id))
        if case is None or not can_see(actor, case):
            raise NotFound()
        form = _form(case.form_type)
        latest = case.latest
        data = latest.data if latest else {}
        out = summary(case, today)
        roles = set(actor.roles)
        # a case submitted from a draft: the approvals the service verified (PORTAL.md
        # section 3); an upload's approvals are only what its file states
        draft_id, approvals = case_approvals(uow, case.id, latest.file_sha256 if latest else None)
        out.update(
            {
                "utkast": draft_id,
                "godkjenninger": approvals,
                "hast_begrunnelse": case.urgent_reason if "koordinator" in roles else None,
                "data": data,
                "seksjoner": _sections(form, data),
                "versjoner": [
                    {
                        "versjon": v.number,
                        "mottatt": _iso(v.received_at),
                        "lastet_opp_av": v.uploaded_by,
                        "filtype": v.file_suffix.lstrip("."),
                        "fil_sha256": v.file_sha256,
                        "advarsler": findings(case.form_type, list(v.warnings or [])),
                    }
                    for v in case.versions
                ],
                "historikk": [
                    {
                        "fra": t.from_state,
                        "fra_navn": STATE_LABELS.get(t.from_state or "", None),
                        "til": t.to_state,
                        "til_navn": STATE_LABELS.get(t.to_state, t.to_state),
                        "av": t.actor,
                        "tidspunkt": _iso(t.at),
                        "begrunnelse": t.reason,
                    }
                    for t in case.transitions
                ],
                "returgrunner": [
                    {"tidspunkt": _iso(t.at), "begrunnelse": t.reason}
                    for t in case.transitions
                    if t.to_state == State.RETURNERT and t.reason
                ],
                "funn": {
                    "errors": [],
                    "warnings": findings(case.form_type, list(latest.warnings or []))
                    if latest
                    else [],
                    "signaler": _signals(form, data),
                },
                "endringer": [],
                "priskontroller": [
                    {
                        "oppgitt_per_maned": p.stated_per_month,
                        "bekreftet_per_maned": p.confirmed_per_month,
                        "korrigert": p.corrected,
                        "bekreftet_visning": kroner(p.confirmed_per_month),
                        "merknad": p.note,
                        "av": p.actor,
                        "tidspunkt": _iso(p.at),
                    }
                    for p in case.price_checks
                ],
                "oppgitt_per_maned": _stated_cost(case),
                "oppgitt_visning": kroner(_stated_cost(case)),
                "handlinger": _actions(actor, case),
                "kan_priskontroll": "priskontroll" in roles and case.state == State.PRISKONTROLL,
                "kan_hast": "koordinator" in roles and case.state not in FINAL_STATES,
                "kan_sende_ny_versjon": "hf" in roles
                and case.hf == actor.hf
                and case.state == State.RETURNERT,
            }
        )
        if len(case.versions) > 1:
            n = len(case.versions)
            out["endringer"] = [
                {
                    "felt": ch.field,
                    "etikett": label(form, ch.field),
                    "gammel": ch.old,
                    "ny": ch.new,
                    "gammel_visning": display(form, ch.field, ch.old),
                    "ny_visning": display(form, ch.field, ch.new),
                }
                for ch in diff(case, n - 1, n)
            ]
            out["endringer_mellom"] = [n - 1, n]
        out["dokumenter"] = _attached(uow, case)
    return out


ATTACHED = (FormType.MINIHTA_FAGFELLE, FormType.MINIHTA_BESLUTNING)


def _attached(uow: AbstractUnitOfWork, case: Case) -> list[dict[str, Any]]:
    """A mini-HTA's peer review (skjema 2) and decision (skjema 3), the latest of each, shown
    from the field catalogue as the case's own form is."""
    if case.form_type != FormType.MINIHTA:
        return []
    out = []
    for form_type in ATTACHED:
        found = uow.attachments.list(case.id, form_type)
        if not found:
            continue
        latest = found[-1]
        form = _form(form_type)
        out.append(
            {
                "type": str(form_type),
                "navn": form.name if form else str(form_type),
                "versjon": latest.number,
                "mottatt": _iso(latest.received_at),
                "lastet_opp_av": latest.uploaded_by,
                "data": latest.data,
                "seksjoner": _sections(form, latest.data),
            }
        )
    return out
