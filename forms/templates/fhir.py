"""FHIR R4 Questionnaire export of a form definition.

One `group` item per section (linkId `seksjon.<section id>`, since a section id may equal a field
id), one question per field with linkId = field id. A repeat group becomes one repeating `group`
with linkId = the repeat id, whose questions have linkId `<repeat id>.<column>` (the row number
of `litteratur.3.lenke` is the group's repetition in a QuestionnaireResponse) and the maxOccurs
extension. `RequiredIf` rules become `enableWhen` + `required`: the question is asked (and then
required) only when the condition holds. Help texts are `display` items with the `help` item
control.
"""

from __future__ import annotations

import re

from forms.fields import Field, FormDef, Repeat, RequiredIf

BASE_URL = "https://nyemetoder.no/fhir/Questionnaire"
EXT = "http://hl7.org/fhir/StructureDefinition"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"

TYPE_MAP = {
    "text": "string",
    "textarea": "text",
    "checkbox": "boolean",
    "integer": "integer",
    "number": "decimal",
    "date": "date",
    "choice": "choice",
    "hf": "choice",
    "reference": "string",
    "email": "string",
    "url": "string",
}


def computable_name(form_id: str) -> str:
    """A FHIR computable name (`[A-Z]([A-Za-z0-9_]){0,254}`): `tilgang-del2` -> `TilgangDel2`."""
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", form_id))
    if not name or not name[0].isalpha():
        name = "Skjema" + name
    return name[:255]


def _answer(field: Field, value: object) -> dict[str, object]:
    if field.type == "checkbox":
        return {"answerBoolean": bool(value)}
    if field.type in ("choice", "hf"):
        return {"answerCoding": {"code": str(value), "display": field.choice_label(str(value))}}
    if field.type == "integer":
        return {"answerInteger": int(value)}  # type: ignore[call-overload]
    return {"answerString": str(value)}


def _question(
    form: FormDef, field: Field, link_id: str, enable: dict[str, list[tuple[str, object]]]
) -> dict[str, object]:
    item: dict[str, object] = {"linkId": link_id, "text": field.label, "type": TYPE_MAP[field.type]}
    extensions: list[dict[str, object]] = []
    conditions = enable.get(link_id)
    if conditions:
        item["enableWhen"] = [
            {"question": q, "operator": "=", **_answer(form.field(q), v)} for q, v in conditions
        ]
        if len(conditions) > 1:
            item["enableBehavior"] = "any"
        item["required"] = True
    else:
        item["required"] = field.required
    if field.hidden:
        item["readOnly"] = True
        extensions.append({"url": f"{EXT}/questionnaire-hidden", "valueBoolean": True})
        initial = form.header_values().get(field.id)
        if initial is not None:
            item["initial"] = [{"valueString": initial}]
    if field.pattern:
        extensions.append({"url": f"{EXT}/regex", "valueString": field.pattern})
    for bound, key in ((field.minimum, "minValue"), (field.maximum, "maxValue")):
        if bound is None:
            continue
        if field.type == "integer":
            extensions.append({"url": f"{EXT}/{key}", "valueInteger": int(bound)})
        else:
            extensions.append({"url": f"{EXT}/{key}", "valueDecimal": bound})
    if extensions:
        item["extension"] = extensions
    if field.choices:
        item["answerOption"] = [
            {"valueCoding": {"code": c.code, "display": c.label}} for c in field.choices
        ]
    if field.help and not field.hidden:
        item["item"] = [
            {
                "linkId": f"{link_id}.hjelp",
                "text": field.help,
                "type": "display",
                "extension": [
                    {
                        "url": f"{EXT}/questionnaire-itemControl",
                        "valueCodeableConcept": {
                            "coding": [{"system": ITEM_CONTROL_SYSTEM, "code": "help"}]
                        },
                    }
                ],
            }
        ]
    return item


def questionnaire(form: FormDef) -> dict[str, object]:
    """The form as a FHIR R4 Questionnaire resource (a plain dict, deterministic)."""
    enable: dict[str, list[tuple[str, object]]] = {}
    for rule in form.rules:
        if isinstance(rule, RequiredIf):
            enable.setdefault(rule.field, []).extend((rule.when, v) for v in rule.values)
    groups: list[dict[str, object]] = []
    for section in form.sections:
        items: list[dict[str, object]] = []
        for entry in section.items:
            if isinstance(entry, Repeat):
                sub_items = [
                    _question(form, sub, f"{entry.id}.{sub.id}", enable) for sub in entry.fields
                ]
                group: dict[str, object] = {
                    "linkId": entry.id,
                    "text": entry.label,
                    "type": "group",
                    "repeats": True,
                    "extension": [
                        {"url": f"{EXT}/questionnaire-maxOccurs", "valueInteger": entry.count}
                    ],
                    "item": sub_items,
                }
                if entry.help:
                    sub_items.insert(
                        0,
                        {"linkId": f"{entry.id}.hjelp", "text": entry.help, "type": "display"},
                    )
                items.append(group)
            else:
                items.append(_question(form, entry, entry.id, enable))
        group = {"linkId": f"seksjon.{section.id}", "text": section.title, "type": "group"}
        if section.intro:
            items.insert(
                0,
                {
                    "linkId": f"seksjon.{section.id}.ingress",
                    "text": section.intro,
                    "type": "display",
                },
            )
        group["item"] = items
        groups.append(group)
    return {
        "resourceType": "Questionnaire",
        "id": form.id,
        "url": f"{BASE_URL}/{form.id}",
        "version": form.version,
        "name": computable_name(form.id),
        "title": form.name,
        "status": "active",
        "language": "nb",
        "publisher": "Nye metoder",
        "description": form.description,
        "item": groups,
    }
