"""Completeness and consistency rules (FORMS.md sections 3, 5 and 8; MINIHTA.md).

`validate` takes normalised flat values and returns every finding at once. Which code a broken
rule gives follows FORMS.md section 8: must-be-true checkboxes give their own code, ticked criteria
without justification JUSTIFICATION_MISSING, missing literature LITERATURE_MISSING, and every other
empty required field REQUIRED.
"""

from __future__ import annotations

import re
from datetime import date

from forms.fields import (
    AtLeastOneTrue,
    BudgetFormula,
    Forbidden,
    FormDef,
    MinRows,
    OnlyWith,
    ReferenceMatchesHf,
    RequiredIf,
    RequiredIfAny,
    RowRequires,
)
from forms.helseforetak import registry
from processor.findings import Finding, finding

REFERENCE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})-(?P<hf>[A-ZÆØÅ]+)-(?P<avd>[A-ZÆØÅ0-9]{1,20})"
    r"(?:-(?P<n>[1-9][0-9]{0,2}))?$"
)


def reference_problem(reference: str, today: date) -> str | None:
    """A Norwegian sentence saying why a reference breaks FORMS.md section 5, or None."""
    m = REFERENCE.match(reference.upper())
    if not m:
        return (
            "Referansenummeret må ha formen ÅÅÅÅ-MM-DD-HF-AVDELING, for eksempel "
            "2025-03-14-OUS-KREFT (eventuelt med -2, -3 … til slutt)."
        )
    try:
        d = date.fromisoformat(m.group("date"))
    except ValueError:
        return "Datoen i referansenummeret er ikke en gyldig dato."
    if d > today:
        return "Datoen i referansenummeret kan ikke være fram i tid."
    if m.group("hf") not in registry().trusts:
        return "Helseforetaket i referansenummeret finnes ikke i helseforetaksregisteret."
    return None


def reference_hf(reference: str) -> str | None:
    m = REFERENCE.match(reference.upper())
    return m.group("hf") if m else None


def _filled(v: object) -> bool:
    return v is not None and v != ""


def _rows(form: FormDef, group: str, values: dict[str, object]) -> list[tuple[int, dict]]:
    rep = next(r for r in form.repeats() if r.id == group)
    rows = []
    for n in range(1, rep.count + 1):
        row = {sub.id: values.get(rep.field_id(n, sub)) for sub in rep.fields}
        if any(_filled(v) for v in row.values()):
            rows.append((n, row))
    return rows


def validate(
    form: FormDef,
    values: dict[str, object],
    invalid: set[str],
    today: date,
    uncached: set[str] | None = None,
) -> list[Finding]:
    """Every finding for a recognised form. `invalid` holds ids whose value failed normalisation
    (already reported); `uncached` XLSX formula cells without a value (FORMULA_NOT_CACHED)."""
    uncached = uncached or set()
    out: list[Finding] = []
    flagged: set[str] = set(invalid)

    def add(code: str, field_id: str | None, message: str | None = None) -> None:
        out.append(finding(code, field_id, message))
        if field_id:
            flagged.add(field_id)

    for fid in sorted(uncached):
        add("FORMULA_NOT_CACHED", fid)

    # field by field, in form order: required, must-be-true, ranges, patterns, dates, references
    for fid, (f, _) in form.entries():
        if fid in flagged:
            continue
        v = values.get(fid)
        if f.must_be_true:
            if v is not True:
                add(f.must_be_true, fid, _must_be_true_message(f.must_be_true, form.label(fid)))
            continue
        if not _filled(v):
            if f.required and f.type != "checkbox":
                add("REQUIRED", fid, f"«{form.label(fid)}» må fylles ut.")
            continue
        problem = _field_problem(f, v, today)
        if problem:
            code = "REFERENCE_INVALID" if f.type == "reference" else "INVALID_VALUE"
            add(code, fid, problem)

    for rule in form.rules:
        _apply(form, rule, values, flagged, add, today)
    return out


def _must_be_true_message(code: str, label: str) -> str:
    if code == "CONSENT_MISSING":
        return "Det må bekreftes at pasienten har gitt samtykke og at del 1 er signert."
    return f"«{label}» må være krysset av."


def _field_problem(f, v: object, today: date) -> str | None:
    if f.type == "reference":
        return reference_problem(str(v), today)
    if isinstance(v, int | float) and not isinstance(v, bool):
        if f.minimum is not None and v < f.minimum:
            return f"Verdien kan ikke være mindre enn {f.minimum:g}."
        if f.maximum is not None and v > f.maximum:
            return f"Verdien kan ikke være større enn {f.maximum:g}."
        if f.max_current_year and v > today.year:
            return "Året kan ikke være senere enn inneværende år."
    if f.type == "date" and f.not_future and str(v) > today.isoformat():
        return "Datoen kan ikke være fram i tid."
    if f.pattern and isinstance(v, str) and not re.match(f.pattern, v):
        hint = f.pattern_hint or "riktig format"
        return f"Ugyldig format. Skriv {hint}."
    return None


def _apply(form, rule, values, flagged, add, today) -> None:  # noqa: C901 - one branch per rule
    if isinstance(rule, RequiredIf):
        if rule.field in flagged:
            return
        if values.get(rule.when) in rule.values and not _filled(values.get(rule.field)):
            msg = (
                f"«{form.label(rule.when)}» er krysset av, men begrunnelsen mangler."
                if rule.code == "JUSTIFICATION_MISSING"
                else f"«{form.label(rule.field)}» må fylles ut når «{form.label(rule.when)}» "
                "har dette svaret."
            )
            add(rule.code, rule.field, msg)
    elif isinstance(rule, RequiredIfAny):
        if rule.field in flagged:
            return
        if any(values.get(w) in rule.values for w in rule.when) and not _filled(
            values.get(rule.field)
        ):
            add(
                rule.code,
                rule.field,
                f"«{form.label(rule.field)}» må fylles ut når et svar er «Delvis» eller «Nei».",
            )
    elif isinstance(rule, AtLeastOneTrue):
        if not any(values.get(f) is True for f in rule.fields):
            add(rule.code, None, rule.message)
    elif isinstance(rule, MinRows):
        if rule.when is not None and values.get(rule.when) is not True:
            return
        if len(_rows(form, rule.group, values)) < rule.minimum:
            add(rule.code, rule.group, rule.message)
    elif isinstance(rule, RowRequires):
        rep = next(r for r in form.repeats() if r.id == rule.group)
        for n, row in _rows(form, rule.group, values):
            target = f"{rep.id}.{n}.{rule.then}"
            incomplete_row = _filled(row.get(rule.if_filled)) and not _filled(row.get(rule.then))
            if incomplete_row and target not in flagged:
                add(rule.code, target, f"{rule.message} (rad {n})")
    elif isinstance(rule, OnlyWith):
        if rule.field in flagged:
            return
        if values.get(rule.field) == rule.value and values.get(rule.other) != rule.other_value:
            target = rule.on or rule.field
            if target not in flagged:
                add(rule.code, target, rule.message)
    elif isinstance(rule, Forbidden):
        if rule.field not in flagged and values.get(rule.field) == rule.value:
            add(rule.code, rule.field, rule.message)
    elif isinstance(rule, ReferenceMatchesHf):
        ref, hf = values.get(rule.reference), values.get(rule.hf)
        if rule.reference in flagged or rule.hf in flagged or not ref or not hf:
            return
        if reference_hf(str(ref)) != hf:
            add(rule.code, rule.reference)
    elif isinstance(rule, BudgetFormula):
        _budget(form, rule, values, flagged, add)


def budget_figures(rule: BudgetFormula, values: dict[str, object]) -> list[float] | None:
    """The five budget years recomputed from the inputs, or None when an input is missing."""
    try:
        inv = float(values[rule.investering])  # type: ignore[arg-type]
        drift = float(values[rule.drift])  # type: ignore[arg-type]
        dagens = float(values[rule.dagens])  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return None
    inn = values.get(rule.inntekter)
    inn = float(inn) if isinstance(inn, int | float) else 0.0
    later = drift - dagens - inn
    return [inv + later] + [later] * (len(rule.years) - 1)


def _budget(form, rule: BudgetFormula, values, flagged, add) -> None:
    expected = budget_figures(rule, values)
    if expected is None:
        return
    for fid, want in zip(rule.years, expected, strict=True):
        got = values.get(fid)
        if fid in flagged or not isinstance(got, int | float):
            continue
        if abs(float(got) - want) > rule.tolerance:
            add(
                "INVALID_VALUE",
                fid,
                f"«{form.label(fid)}» stemmer ikke med forutsetningene (beregnet {want:,.0f} kr).".replace(
                    ",", " "
                ),
            )
