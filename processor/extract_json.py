"""JSON submissions (FORMS.md 4.5): canonical JSON, values possibly given as strings."""

from __future__ import annotations

import json
from collections.abc import Iterator

from processor.extracted import Extracted
from processor.findings import Limits, Refusal, thousands
from processor.identity import one_text


class _Duplicate(ValueError):
    """A key given twice in one object: `json.loads` would keep the last and drop the first
    unread (FORMS.md section 6, rule 2)."""


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Duplicate
    return out


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _strings(node: object) -> Iterator[str]:
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            yield from node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _valid_unicode(doc: object) -> bool:
    """No lone surrogate in any key or string. Text decoded from UTF-8 holds none (the decoder
    refuses them); only a `\\u` escape can make one, so files without escapes are not walked."""
    try:
        for text in _strings(doc):
            text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _depth_ok(value: object, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return True


def _flatten(node: object, prefix: str, out: Extracted, limits: Limits) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            key = str(key)
            out.texts.append(("document", one_text(key)))
            _flatten(value, f"{prefix}.{key}" if prefix else key, out, limits)
        return
    if isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        for n, value in enumerate(node, start=1):
            _flatten(value, f"{prefix}.{n}", out, limits)
        return
    if len(out.fields) >= limits.max_fields:
        raise Refusal("FILE_TOO_LARGE", f"JSON-dokumentet har mer enn {limits.max_fields} felt.")
    if isinstance(node, list):
        # a list of plain values is not a form value; keep it for the guard and normalisation
        for v in node:
            if not isinstance(v, dict | list):
                out.texts.append(("document", one_text(str(v))))
        out.fields[prefix] = node  # type: ignore[assignment]  # normalisation reports it
        return
    out.fields[prefix] = node  # type: ignore[assignment]


def extract_json(data: bytes, limits: Limits) -> Extracted:
    # Counted before parsing, so that a file of millions of tiny values is never built.
    if data.count(b"{") + data.count(b"[") + data.count(b",") > limits.max_json_items:
        raise Refusal(
            "FILE_TOO_LARGE",
            "JSON-dokumentet er for stort til å kontrolleres: mer enn "
            f"{thousands(limits.max_json_items)} verdier.",
        )
    try:
        text = data.decode("utf-8-sig")
        doc = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant)
    except _Duplicate as exc:
        raise Refusal(
            "FILE_CORRUPT",
            "JSON-dokumentet har samme nøkkel to ganger i ett objekt. Hver nøkkel kan stå "
            "bare én gang.",
        ) from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refusal(
            "FILE_CORRUPT", "JSON-dokumentet kan ikke leses (ugyldig JSON eller UTF-8)."
        ) from exc
    if "\\u" in text and not _valid_unicode(doc):
        raise Refusal(
            "FILE_CORRUPT",
            "JSON-dokumentet inneholder ugyldige tegn (en \\u-kode som ikke er et gyldig "
            "Unicode-tegn).",
        )
    if not isinstance(doc, dict):
        raise Refusal("FILE_NO_FORM_FIELDS", "JSON-dokumentet må være et objekt med skjemafelt.")
    if not _depth_ok(doc, limits.max_depth):
        raise Refusal("FILE_CORRUPT", "JSON-dokumentet er for dypt nestet.")
    out = Extracted(kind="json")
    _flatten(doc, "", out, limits)
    if not out.fields:
        raise Refusal("FILE_NO_FORM_FIELDS", "JSON-dokumentet har ingen skjemafelt.")
    return out
