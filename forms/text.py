"""Text on its way out of the service (issue 11): whatever a row holds, what leaves can be encoded.

A string read back from the database may hold what no upload lets in any more: a lone surrogate
(`"\\ud800"` escaped in JSON is valid JSON, but no UTF-8 can carry it), NUL and other control
characters that XML 1.0 forbids, U+FFFE/U+FFFF. One bad row must not take a page, a list, an
export or a backup down, so every writer passes text through these helpers where it leaves:

- `encodable(text)`: surrogate pairs joined into their character, every lone surrogate replaced
  by U+FFFD (the rest unchanged: NUL is fine in JSON and in UTF-8). For JSON, HTML, CSV, stdout.
- `xml_text(text)`: `encodable`, and the characters XML 1.0 cannot hold replaced by U+FFFD too
  (tab, newline and carriage return stay). For XLSX and DOCX parts, PDF text.

Both return the same object when nothing needs replacing (the common case costs one scan).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REPLACEMENT", "encodable", "encodable_deep", "xml_text"]

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def encodable(text: str) -> str:
    """`text` with every surrogate pair joined and every lone surrogate made U+FFFD."""
    if _SURROGATE.search(text) is None:
        return text
    # UTF-16 round trip: a pair becomes its character, a lone half fails to decode → U+FFFD
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def xml_text(text: str) -> str:
    """`encodable(text)` with the characters XML 1.0 forbids made U+FFFD."""
    text = encodable(text)
    if _NOT_XML.search(text) is None:
        return text
    return _NOT_XML.sub(REPLACEMENT, text)


def encodable_deep(value: Any) -> Any:
    """`encodable` applied to every string (keys too) in nested dicts, lists and tuples."""
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, dict):
        return {encodable_deep(k): encodable_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encodable_deep(v) for v in value]
    return value
