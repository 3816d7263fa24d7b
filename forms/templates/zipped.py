"""Deterministic ZIP archives: the DOCX and XLSX templates, and the packets built from them.

The same content gives the same bytes: entries in the given order, each with one fixed date,
deflated at level 6, with no file-system attributes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

ZIP_DATE = (2026, 1, 1, 0, 0, 0)
"""The date of every template entry (a packet dates its entries by its day)."""


def write_zip(
    parts: Iterable[tuple[str, bytes]],
    date_time: tuple[int, int, int, int, int, int] = ZIP_DATE,
    comment: bytes = b"",
) -> bytes:
    """A ZIP of `parts` (name, bytes) in the given order, every entry dated `date_time`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.comment = comment
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            zf.writestr(info, data, compresslevel=6)
    return buf.getvalue()
