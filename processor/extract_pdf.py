"""PDF AcroForm extraction (FORMS.md 4.1).

Walks `/AcroForm /Fields` directly instead of pypdf's `get_fields()`: the fully qualified name is
built from the `/T` of every ancestor (a flat field named `soknad.helseforetak` and a field
`helseforetak` under a parent `soknad` are the same field), values come from `/V` (inherited from
the parent when a kid has none), appearance streams are never read.
"""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    PdfObject,
)

from processor.extracted import Extracted, RawValue
from processor.findings import Limits, Refusal

# pypdf reports malformed input through logging; those lines carry no form content, but they are
# noise for an intake service that turns every malformed file into a finding anyway.
logging.getLogger("pypdf").setLevel(logging.ERROR)

_RADIO = 1 << 15
_PUSHBUTTON = 1 << 16


def _resolve(obj: PdfObject | None) -> PdfObject | None:
    if isinstance(obj, IndirectObject):
        return obj.get_object()
    return obj


def _name_text(name: str) -> str:
    return name[1:] if name.startswith("/") else name


def _value(ft: str | None, flags: int, v: PdfObject | None) -> RawValue:
    v = _resolve(v)
    if v is None or isinstance(v, NullObject):
        return False if ft == "/Btn" and not flags & _RADIO else None
    if ft == "/Btn":
        state = _name_text(str(v))
        if flags & _RADIO:
            return None if state == "Off" else state
        return state != "Off"
    if isinstance(v, ArrayObject):  # multi-select choice: the first selection
        return str(_resolve(v[0])) if len(v) else None
    if isinstance(v, NameObject):
        return _name_text(str(v))
    if hasattr(v, "get_data"):  # a text stream (rare, but allowed for long text)
        return v.get_data().decode("utf-8", "replace")
    return str(v)


def _eof_present(data: bytes) -> bool:
    return b"%%EOF" in data[-2048:]


def extract_pdf(data: bytes, limits: Limits) -> Extracted:
    if not _eof_present(data):
        raise Refusal("FILE_CORRUPT", "PDF-filen er avkortet eller skadet (mangler filslutt).")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Refusal("FILE_ENCRYPTED")
        root = reader.trailer["/Root"].get_object()
        out = Extracted(kind="pdf")
        _metadata(reader, root, out)
        acro = _resolve(root.get("/AcroForm"))
        fields = _resolve(acro.get("/Fields")) if isinstance(acro, DictionaryObject) else None
        if not isinstance(fields, ArrayObject) or len(fields) == 0:
            if isinstance(acro, DictionaryObject) and "/XFA" in acro:
                raise Refusal(
                    "FILE_NO_FORM_FIELDS",
                    "PDF-filen er et XFA-skjema uten vanlige skjemafelt. Bruk den utfyllbare "
                    "PDF-malen fra Nye metoder.",
                )
            raise Refusal("FILE_NO_FORM_FIELDS")
        if len(reader.pages) > limits.max_pages:
            raise Refusal("FILE_TOO_LARGE", f"PDF-filen har mer enn {limits.max_pages} sider.")
        _walk(fields, "", None, None, 0, 0, set(), out, limits)
    except Refusal:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise Refusal("FILE_CORRUPT") from exc
    except (RecursionError, MemoryError, OverflowError, AssertionError) as exc:
        raise Refusal("FILE_CORRUPT") from exc
    except Exception as exc:  # pypdf raises many kinds on hostile input; none may escape
        raise Refusal("FILE_CORRUPT") from exc
    if not out.fields:
        raise Refusal("FILE_NO_FORM_FIELDS")
    return out


def _walk(
    kids: ArrayObject,
    prefix: str,
    ft: str | None,
    inherited_v: PdfObject | None,
    flags: int,
    depth: int,
    seen: set[int],
    out: Extracted,
    limits: Limits,
) -> None:
    if depth > limits.max_depth:
        raise Refusal("FILE_CORRUPT", "PDF-filen har for dypt nestede skjemafelt.")
    for ref in kids:
        if isinstance(ref, IndirectObject):
            if ref.idnum in seen:
                continue  # a cycle or a widget listed twice
            seen.add(ref.idnum)
        node = _resolve(ref)
        if not isinstance(node, DictionaryObject):
            continue
        t = node.get("/T")
        name = prefix
        if t is not None:
            part = str(_resolve(t))
            name = f"{prefix}.{part}" if prefix else part
        node_ft = node.get("/FT")
        node_ft = str(node_ft) if node_ft is not None else ft
        node_flags = int(node.get("/Ff", flags) or 0)
        node_v = node.get("/V", inherited_v) if t is not None else inherited_v
        children = _resolve(node.get("/Kids"))
        named_kids = isinstance(children, ArrayObject) and any(
            isinstance(_resolve(k), DictionaryObject) and "/T" in _resolve(k) for k in children
        )
        if named_kids:
            _walk(children, name, node_ft, node_v, node_flags, depth + 1, seen, out, limits)
            continue
        if t is None or not name:
            continue  # a bare widget: its field was recorded by the parent
        if node_ft == "/Btn" and node_flags & _PUSHBUTTON:
            continue
        if node_ft is None and node_v is None:
            continue  # a pure container with no kids
        if len(out.fields) >= limits.max_fields:
            raise Refusal(
                "FILE_TOO_LARGE", f"PDF-filen har mer enn {limits.max_fields} skjemafelt."
            )
        value = _value(node_ft, node_flags, node_v)
        if isinstance(value, str) and len(value) > limits.max_text_chars:
            value = value[: limits.max_text_chars + 1]
        out.fields[name] = value


def _metadata(reader: PdfReader, root: DictionaryObject, out: Extracted) -> None:
    info = reader.trailer.get("/Info")
    info = _resolve(info)
    if isinstance(info, DictionaryObject):
        for value in info.values():
            value = _resolve(value)
            if value is not None:
                out.texts.append(("metadata", str(value)))
    xmp = _resolve(root.get("/Metadata"))
    if xmp is not None and hasattr(xmp, "get_data"):
        try:
            raw = xmp.get_data()
        except Exception:  # a broken XMP stream hides nothing we could read
            return
        out.texts.append(("metadata", raw[:2_000_000].decode("utf-8", "replace")))
