"""Decompression bombs in PDF form files, built byte by byte (no PDF library would write them).

Used by tests/test_forms_pdf.py and benchmarks/memory.py. Each bomb is a small file whose
FlateDecode stream inflates to `inflated` bytes of spaces (or, with `lzw`, whose LZWDecode stream
decodes to zeros); the builder never holds the inflated data.
"""

from __future__ import annotations

import struct
import zlib

_FIELD = b"<< /T (soknad.helseforetak) /FT /Tx /V (OUS) >>"


def _deflate(head: bytes, inflated: int) -> bytes:
    comp = zlib.compressobj(9)
    parts = [comp.compress(head)]
    chunk = b" " * (1 << 20)
    for _ in range(max(0, inflated - len(head)) >> 20):
        parts.append(comp.compress(chunk))
    parts.append(comp.flush())
    return b"".join(parts)


def _lzw(head: bytes, zeros: int) -> bytes:
    """LZWDecode data (EarlyChange 1) of `head` followed by `zeros` zero bytes, built without
    holding them: the head as literal codes, then runs of zeros of growing length (code k - 2 +
    258 is k zeros), the table cleared before it fills. About 1,300:1; qpdf sets no limit on
    LZW as it does on Flate."""
    out = bytearray()
    acc = nbits = 0

    def emit(code: int, width: int) -> None:
        nonlocal acc, nbits
        acc = (acc << width) | code
        nbits += width
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
        acc &= (1 << nbits) - 1

    width, next_code = 9, 258
    emit(256, width)
    for byte in head:  # literals; the decoder's table grows by one per code all the same
        emit(byte, width)
        next_code += 1
        if next_code >= (1 << width) and width < 12:
            width += 1
    remaining = zeros
    while remaining > 0:
        emit(256, width)  # clear, at the width in use
        width, next_code, k = 9, 258, 1
        while remaining > 0 and next_code < 4000:
            run = min(k, remaining)
            emit(0 if run == 1 else 256 + run, width)
            remaining -= run
            next_code += 1
            if next_code >= (1 << width) and width < 12:
                width += 1
            k += 1
    emit(257, width)
    if nbits:
        out.append((acc << (8 - nbits)) & 0xFF)
    return bytes(out)


class _Writer:
    def __init__(self, version: bytes = b"1.5") -> None:
        self.out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
        self.offsets: dict[int, int] = {}

    def obj(self, num: int, text: bytes) -> None:
        self.offsets[num] = len(self.out)
        self.out.extend(b"%d 0 obj\n" % num + text + b"\nendobj\n")

    def stream(self, num: int, entries: bytes, data: bytes) -> None:
        head = b"<< %s /Length %d >>\nstream\n" % (entries, len(data))
        self.obj(num, head + data + b"\nendstream")

    def classic_trailer(self, size: int, root: int = 1) -> bytes:
        xref_at = len(self.out)
        self.out.extend(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        for n in range(1, size):
            self.out.extend(b"%010d 00000 n \n" % self.offsets[n])
        self.out.extend(b"trailer\n<< /Size %d /Root %d 0 R >>\n" % (size, root))
        self.out.extend(b"startxref\n%d\n%%%%EOF\n" % xref_at)
        return bytes(self.out)


def _page_tree(w: _Writer, acroform: bytes, extra: bytes = b"") -> None:
    w.obj(1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm " + acroform + extra + b" >>")
    w.obj(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    w.obj(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> >>")


def _packed(head: bytes, inflated: int, lzw: bool) -> tuple[bytes, bytes]:
    """(/Filter entry, data) of `head` padded to `inflated` bytes, by Flate or LZW."""
    if lzw:
        return b"/Filter /LZWDecode", _lzw(head, max(0, inflated - len(head)))
    return b"/Filter /FlateDecode", _deflate(head, inflated)


def object_stream_bomb(inflated: int, lzw: bool = False) -> bytes:
    """The only field sits in a compressed object stream padded to `inflated` bytes."""
    w = _Writer()
    _page_tree(w, b"<< /Fields [4 0 R] >>")
    header = b"4 0 "
    filter_, data = _packed(header + _FIELD + b"\n", inflated, lzw)
    w.stream(5, b"/Type /ObjStm /N 1 /First %d %s" % (len(header), filter_), data)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    rows += [struct.pack(">BIH", 1, w.offsets[n], 0) for n in (1, 2, 3)]
    rows.append(struct.pack(">BIH", 2, 5, 0))  # object 4: index 0 of object stream 5
    rows.append(struct.pack(">BIH", 1, w.offsets[5], 0))
    xref_at = len(w.out)
    rows.append(struct.pack(">BIH", 1, xref_at, 0))
    data = b"".join(rows)
    w.stream(6, b"/Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R", data)
    w.out.extend(b"startxref\n%d\n%%%%EOF\n" % xref_at)
    return bytes(w.out)


def object_streams_parse_bomb(items: int, streams: int = 2) -> bytes:
    """The only field sits in the first of `streams` object streams, and each stream also holds an
    array of `items` zeros: every stream stays under the decode limit, but qpdf would parse all of
    a stream's objects (about 140 bytes per zero) as soon as the field is read."""
    w = _Writer()
    _page_tree(w, b"<< /Fields [4 0 R] >>")
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    rows += [struct.pack(">BIH", 1, w.offsets[n], 0) for n in (1, 2, 3)]
    junk = b"[" + b"0 " * items + b"]"
    # object numbers: 4 the field, 5, 7, ... the arrays, then the streams, then the xref stream
    entries: dict[int, bytes] = {}
    first_stream = 4 + 2 * streams
    for s in range(streams):
        objs = [(4, _FIELD)] if s == 0 else []
        junk_num = 5 + 2 * s
        objs.append((junk_num, junk))
        stream_num = first_stream + s
        body, offsets = b"", []
        for _, text in objs:
            offsets.append(len(body))
            body += text + b"\n"
        header = b" ".join(b"%d %d" % (n, off) for (n, _), off in zip(objs, offsets, strict=True))
        header += b"\n"
        w.stream(
            stream_num,
            b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode" % (len(objs), len(header)),
            zlib.compress(header + body, 9),
        )
        for i, (n, _) in enumerate(objs):
            entries[n] = struct.pack(">BIH", 2, stream_num, i)
    size = first_stream + streams + 1
    for n in range(4, first_stream):
        rows.append(entries.get(n, struct.pack(">BIH", 0, 0, 0)))
    for s in range(streams):
        rows.append(struct.pack(">BIH", 1, w.offsets[first_stream + s], 0))
    xref_at = len(w.out)
    rows.append(struct.pack(">BIH", 1, xref_at, 0))
    w.stream(size - 1, b"/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R" % size, b"".join(rows))
    w.out.extend(b"startxref\n%d\n%%%%EOF\n" % xref_at)
    return bytes(w.out)


def large_info(entries: int, value: bytes = b"x", nesting: int = 0) -> bytes:
    """A one-field form whose /Info dictionary has `entries` entries, the last holding `value`
    inside `nesting` arrays."""
    w = _Writer()
    _page_tree(w, b"<< /Fields [4 0 R] >>")
    w.obj(4, _FIELD)
    last = b"[" * nesting + b"(" + value + b")" + b"]" * nesting
    items = [b"/K%d (%d)" % (i, i % 10) for i in range(entries - 1)] + [b"/Subject " + last]
    w.obj(5, b"<< " + b" ".join(items) + b" >>")
    out = w.classic_trailer(6)
    return out.replace(b"/Root 1 0 R >>", b"/Root 1 0 R /Info 5 0 R >>")


def long_fields_array(entries: int) -> bytes:
    """A one-field form whose /Fields lists that field `entries` times."""
    w = _Writer()
    _page_tree(w, b"<< /Fields [" + b"4 0 R " * entries + b"] >>")
    w.obj(4, _FIELD)
    return w.classic_trailer(5)


def undecodable_metadata(text: bytes) -> bytes:
    """A one-field form whose XMP says /FlateDecode but holds `text` as it is."""
    w = _Writer()
    _page_tree(w, b"<< /Fields [4 0 R] >>", b" /Metadata 5 0 R")
    w.obj(4, _FIELD)
    w.stream(5, b"/Type /Metadata /Subtype /XML /Filter /FlateDecode", text)
    return w.classic_trailer(6)


def metadata_bomb(inflated: int, lzw: bool = False) -> bytes:
    """A valid one-field form whose XMP metadata stream inflates to `inflated` bytes."""
    w = _Writer()
    _page_tree(w, b"<< /Fields [4 0 R] >>", b" /Metadata 5 0 R")
    w.obj(4, _FIELD)
    filter_, data = _packed(b"", inflated, lzw)
    w.stream(5, b"/Type /Metadata /Subtype /XML " + filter_, data)
    return w.classic_trailer(6)


def value_stream_bomb(inflated: int, lzw: bool = False, filter_: bytes | None = None) -> bytes:
    """A text field whose value is a stream (allowed for long text) that inflates to `inflated`;
    `filter_` writes its /Filter entry another way (the offsets stay right)."""
    w = _Writer()
    _page_tree(w, b"<< /Fields [4 0 R] >>")
    w.obj(4, b"<< /T (pasient.diagnose) /FT /Tx /V 5 0 R >>")
    written, data = _packed(b"C34", inflated, lzw)
    w.stream(5, filter_ or written, data)
    return w.classic_trailer(6)


def small_forms() -> dict[str, bytes]:
    """The same three files with a harmless 1 KiB stream: they must be read, not refused."""
    return {
        "objstm": object_stream_bomb(1024),
        "metadata": metadata_bomb(1024),
        "value": value_stream_bomb(1024),
    }
