"""Office Open XML packages (DOCX, XLSX) read safely from bytes (FORMS.md 4.2 and 4.3).

An Office file is a ZIP archive of XML parts, and a hostile one can be a decompression bomb, carry
a DTD (XXE, entity expansion), hold macros, or be an encrypted OLE container. `open_package`
refuses those from the headers, before anything is inflated; `Package.read` inflates one part with
a bound on its output; `Package.xml` parses a part with no DTD, no entities and no network.

Parsing uses lxml with `resolve_entities=False, no_network=True, load_dtd=False`, after a byte
search that refuses any `<!DOCTYPE` or `<!ENTITY`. Measured on the `word/document.xml` of
`del2-valid-0-cc.docx` (20 kB) on the project machine: lxml 0.25-0.45 ms, defusedxml
(`ElementTree.fromstring(..., forbid_dtd=True)`) 1.4-3 ms, since defusedxml drives expat through
the pure-Python XMLParser.
"""

from __future__ import annotations

import bisect
import functools
import html
import io
import posixpath
import re
import struct
import urllib.parse
import zipfile
import zlib
from typing import NamedTuple

from lxml import etree

from processor.findings import Limits, Refusal, thousands

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Stream names of an encrypted OOXML file (MS-OFFCRYPTO) in an OLE directory: UTF-16LE.
_ENCRYPTION_STREAMS = tuple(s.encode("utf-16-le") for s in ("EncryptionInfo", "EncryptedPackage"))
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
_WIDE_ENCODINGS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
# Lower-cased markers of macros in [Content_Types].xml (docm/xlsm/dotm main parts, the VBA
# project itself, Excel 4.0 macro sheets).
_MACRO_CONTENT_TYPES = (b"macroenabled", b"vbaproject", b"macrosheet")
_EOCD = b"PK\x05\x06"

# Everything zipfile and zlib raise on a broken archive.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    UnicodeDecodeError,
    KeyError,
    IndexError,
)


class Relationship(NamedTuple):
    id: str
    type: str
    target: str  # the part name inside the package, or the raw target when external
    external: bool


def _corrupt(message: str | None = None) -> Refusal:
    return Refusal("FILE_CORRUPT", message)


class NotAZip(Refusal):
    """FILE_CORRUPT for bytes that zipfile cannot read as an archive at all (as opposed to an
    archive refused for what it holds): an embedded object may be searched as raw bytes instead."""

    def __init__(self) -> None:
        super().__init__("FILE_CORRUPT")


def encrypted_ole(data: bytes) -> bool:
    """Whether an OLE compound file holds an encrypted (password-protected) OOXML package."""
    return any(name in data for name in _ENCRYPTION_STREAMS)


def _check_ole(data: bytes) -> None:
    """An OLE compound file: an encrypted (password-protected) OOXML file or a legacy DOC/XLS."""
    if encrypted_ole(data):
        raise Refusal("FILE_ENCRYPTED")
    raise Refusal(
        "FILE_TYPE_UNSUPPORTED",
        "Filen er i et eldre Office-format (DOC/XLS). Lagre den som DOCX eller XLSX.",
    )


def _declared_entries(data: bytes) -> int | None:
    """The entry count of the end-of-central-directory record, read before zipfile parses it."""
    at = data.rfind(_EOCD, max(0, len(data) - 65_557))
    if at < 0 or at + 22 > len(data):
        return None
    count = int.from_bytes(data[at + 10 : at + 12], "little")
    return None if count == 0xFFFF else count  # 0xFFFF: ZIP64, zipfile will know


class Meter:
    """What a package has inflated and read as markup: shared with the packages inside it, and
    by the files attached to a PDF with the packages inside them (`embedded.AttachedFiles`)."""

    __slots__ = ("inflated", "tags")

    def __init__(self) -> None:
        self.inflated = 0
        self.tags = 0  # tags in the parts read so far as trees or texts (`read_markup`)

    def count_markup(self, data: bytes, limits: Limits) -> None:
        """Count the tags of markup about to be read (as a tree or as texts) against
        `Limits.max_xml_tags`: FILE_TOO_LARGE beyond it."""
        self.tags += data.count(b"<")
        if self.tags > limits.max_xml_tags:
            raise _too_many_tags(limits)


def _too_many_tags(limits: Limits) -> Refusal:
    return Refusal(
        "FILE_TOO_LARGE",
        "Dokumentet er for stort til å kontrolleres: mer enn "
        f"{thousands(limits.max_xml_tags)} XML-tagger.",
    )


_LOCAL = b"PK\x03\x04"
_ORPHAN = (
    "Filen inneholder en skjult del som ikke står i innholdslisten i ZIP-filen, og som ikke kan "
    "leses og kontrolleres. Lagre dokumentet på nytt i Word eller Excel og send det igjen."
)


def _inflate(compressed: memoryview | bytes, method: int, size: int, crc: int, limits: Limits):
    """The bytes of one entry: `size` bytes inflated (or stored) from `compressed`, checked
    against the declared size, the ratio limit and the CRC. zlib inflates at most one byte more
    than the declared size, so a lying header costs no more than an honest one."""
    if method == zipfile.ZIP_STORED:
        out = bytes(compressed)
    elif method == zipfile.ZIP_DEFLATED:
        try:
            out = zlib.decompressobj(-15).decompress(compressed, size + 1)
        except zlib.error as exc:
            raise _corrupt() from exc
    else:  # deflate64, bzip2, lzma ...: Office never writes them
        raise _corrupt()
    # The declared size against what came out, and what came out against what went in.
    if len(out) != size or size > max(len(compressed), 1) * limits.max_ratio:
        raise _corrupt()
    if zlib.crc32(out) != crc:
        raise _corrupt()
    return out


def _local_span(data: bytes, info: zipfile.ZipInfo) -> tuple[int, int]:
    """Where a listed entry lies in the file: its local header to the end of its data."""
    at = info.header_offset
    header = data[at : at + 30]
    if len(header) < 30:
        return at, at + 1
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return at, at + 30 + name_len + extra_len + info.compress_size


class Package:
    """A checked OOXML package. Parts are inflated only when read, within the limits."""

    def __init__(self, data: bytes, zf: zipfile.ZipFile, limits: Limits):
        self._raw = data
        self._data = memoryview(data)
        self._limits = limits
        self._infos = {i.filename: i for i in zf.infolist()}
        self._folded = {name.casefold(): name for name in self._infos}
        self._comment = zf.comment
        self._meter = Meter()
        self._rels: dict[str, list[Relationship]] = {}
        # parts read as markup and parsed, kept so that the sweep of every part
        # (`processor.sweep`) reads the parts an extractor has read without reading them again
        self._markup: dict[str, bytes] = {}
        self._trees: dict[str, etree._Element] = {}

    @property
    def meter(self) -> Meter:
        return self._meter

    def share_budget(self, outer: Package | Meter) -> None:
        """Count this package's reads with those of `outer`, the package it is embedded in (or
        the meter of the files it is one of): what it has read so far is added to the count of
        `outer`, and from now on both count together, so that the parts of a file and of the
        packages inside it, at any depth, stay within one `Limits.max_inflated_bytes` and one
        `Limits.max_xml_tags`."""
        meter = outer if isinstance(outer, Meter) else outer._meter
        meter.inflated += self._meter.inflated
        meter.tags += self._meter.tags
        self._meter = meter
        if meter.inflated > self._limits.max_inflated_bytes:
            raise Refusal("FILE_TOO_LARGE")
        if meter.tags > self._limits.max_xml_tags:
            raise _too_many_tags(self._limits)

    # -- parts ------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._infos)

    def _name(self, name: str) -> str | None:
        """The stored name of a part; OPC part names compare case-insensitively."""
        if name in self._infos:  # a stored name as it is (the sweep walks them all)
            return name
        name = name.lstrip("/")
        if name in self._infos:
            return name
        return self._folded.get(name.casefold())

    def has(self, name: str) -> bool:
        return self._name(name) is not None

    def read(self, name: str) -> bytes:
        """The bytes of one part, inflated with a bound; KeyError when the part does not exist.

        The sizes in the central directory decide before anything is inflated (too large: refused
        unread). zlib then inflates at most one byte more than the declared size, so a lying
        header costs no more than an honest one and is caught by the size and CRC checks.
        zipfile parses the central directory; the part itself is inflated here, which is several
        times faster than ZipFile.open for the small parts of a form."""
        stored = self._name(name)
        if stored is None:
            raise KeyError(name)
        info = self._infos[stored]
        limits = self._limits
        size = info.file_size
        meter = self._meter
        if size > limits.max_part_bytes or meter.inflated + size > limits.max_inflated_bytes:
            raise Refusal("FILE_TOO_LARGE")
        compressed = self._compressed(info)
        out = _inflate(compressed, info.compress_type, size, info.CRC, limits)
        meter.inflated += size
        return out

    def _compressed(self, info: zipfile.ZipInfo) -> memoryview:
        """The compressed bytes of an entry, after checking its local header."""
        data = self._data
        at = info.header_offset
        header = bytes(data[at : at + 30])
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise _corrupt()
        flags, method = struct.unpack("<HH", header[6:10])
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        if flags & 0x1:
            raise Refusal("FILE_ENCRYPTED")
        if method != info.compress_type:
            raise _corrupt()
        local_name = bytes(data[at + 30 : at + 30 + name_len])
        try:
            local = local_name.decode("utf-8" if flags & 0x800 else "cp437")
        except UnicodeDecodeError as exc:
            raise _corrupt() from exc
        if local != info.orig_filename:  # two names for one entry: readers would disagree
            raise _corrupt()
        start = at + 30 + name_len + extra_len
        compressed = data[start : start + info.compress_size]
        if len(compressed) != info.compress_size:  # truncated
            raise _corrupt()
        return compressed

    def xml(self, name: str) -> etree._Element:
        """A part parsed as XML: no DTD, no entities, no network, nesting within the limit, and
        the tags of all parts parsed within `Limits.max_xml_tags` (counted before parsing: the
        bytes "<", one per tag, comment or declaration, in UTF-8 and UTF-16 alike). Parsed once:
        the tree is kept for the next caller (the extractor, then the sweep of every part)."""
        stored = self._name(name)
        if stored is None:
            raise KeyError(name)
        root = self._trees.get(stored)
        if root is None:
            root = parse_xml(self.read_markup(stored), self._limits.max_depth)
            self._trees[stored] = root
        return root

    def parsed(self, name: str) -> etree._Element | None:
        """The tree of a part already parsed by `xml`, or None."""
        return self._trees.get(name)

    def size(self, name: str) -> int:
        """The inflated size of a part, as the central directory declares it."""
        return self._infos[self._name(name) or name].file_size

    def head(self, name: str, size: int = 4096) -> bytes:
        """The first `size` bytes of a part, inflating no more: enough to tell text from binary
        without inflating a photograph whole."""
        info = self._infos[self._name(name) or name]
        compressed = self._compressed(info)
        if info.compress_type == zipfile.ZIP_STORED:
            return bytes(compressed[:size])
        if info.compress_type != zipfile.ZIP_DEFLATED:
            raise _corrupt()
        try:
            return zlib.decompressobj(-15).decompress(compressed, size)
        except zlib.error as exc:
            raise _corrupt() from exc

    def read_any(self, name: str) -> tuple[bytes, bool]:
        """The bytes of a part, and whether they were read as markup (tags counted) already."""
        data = self._markup.get(name)
        return (data, True) if data is not None else (self.read(name), False)

    def read_markup(self, name: str) -> bytes:
        """The bytes of an XML part, its tags counted against `Limits.max_xml_tags` for the
        whole package: a part is read into a tree or into a list of texts, and both cost memory
        per tag (22 MB of tiny elements in a custom XML part took 355 MiB as texts). Read and
        counted once per part."""
        stored = self._name(name)
        if stored is None:
            raise KeyError(name)
        data = self._markup.get(stored)
        if data is None:
            data = self.read(stored)
            self._meter.count_markup(data, self._limits)
            self._markup[stored] = data
        return data

    # -- the container ----------------------------------------------------------------------
    def container_texts(self) -> list[str]:
        """The strings of the ZIP container itself (FORMS.md section 6): every entry name (from
        the central directory and from the local header), every entry comment, the archive
        comment, and the extra fields of both headers read as 8-bit text (an Info-ZIP Unicode
        path field holds a second name)."""
        out: list[str] = []
        data = self._raw
        for name, info in self._infos.items():
            out.append(name)
            if info.comment:
                out.append(decode_text(info.comment))
            if info.extra:
                out.append(info.extra.decode("latin-1"))
            at = info.header_offset
            header = data[at : at + 30]
            if len(header) == 30 and header[:4] == _LOCAL:
                name_len, extra_len = struct.unpack("<HH", header[26:30])
                local = data[at + 30 : at + 30 + name_len + extra_len]
                if local[:name_len] != info.orig_filename.encode("utf-8", "replace"):
                    out.append(local[:name_len].decode("utf-8", "replace"))
                    out.append(local[:name_len].decode("cp437"))
                if extra_len:
                    out.append(local[name_len:].decode("latin-1"))
        if self._comment:
            out.append(decode_text(self._comment))
            out.append(self._comment.decode("latin-1"))
        return out

    def orphans(self) -> list[tuple[str, bytes]]:
        """The local entries the central directory does not list (FORMS.md section 6): a
        local file header (`PK\\x03\\x04`) outside every listed entry, as (name, inflated bytes).

        A signature inside the data of a listed entry belongs to that entry (the entries of a
        package stored uncompressed inside it, or chance bytes of compressed data) and is not
        one. An unlisted entry is read within the same limits as a listed one; one that cannot
        be (encrypted, sizes only in a data descriptor of a stored entry, a method Office never
        writes, truncated, a wrong CRC) is FILE_CORRUPT, since what it holds cannot be checked."""
        data = self._raw
        at = data.find(_LOCAL)
        if at < 0:
            return []
        spans = sorted(_local_span(data, info) for info in self._infos.values())
        starts = [start for start, _ in spans]
        found: list[tuple[str, bytes]] = []
        while at >= 0:
            i = bisect.bisect_right(starts, at) - 1
            if i >= 0 and at < spans[i][1]:  # inside a listed entry: go on after it
                at = data.find(_LOCAL, spans[i][1])
                continue
            if len(self._infos) + len(found) >= self._limits.max_zip_entries:
                raise _corrupt()
            found.append(self._orphan(at))
            at = data.find(_LOCAL, at + 1)
        return found

    def _orphan(self, at: int) -> tuple[str, bytes]:
        data = self._raw
        limits = self._limits
        header = data[at : at + 30]
        if len(header) < 30:
            raise _corrupt(_ORPHAN)
        flags, method = struct.unpack("<HH", header[6:10])
        crc, compressed_size, size = struct.unpack("<III", header[14:26])
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        if flags & 0x1:
            raise Refusal("FILE_ENCRYPTED")
        if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _corrupt(_ORPHAN)
        raw_name = data[at + 30 : at + 30 + name_len]
        try:
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        except UnicodeDecodeError as exc:
            raise _corrupt(_ORPHAN) from exc
        start = at + 30 + name_len + extra_len
        if start > len(data):
            raise _corrupt(_ORPHAN)
        if flags & 0x8:  # sizes and CRC in a data descriptor after the data
            if method != zipfile.ZIP_DEFLATED:
                raise _corrupt(_ORPHAN)  # a stored entry with no size: its end is unknown
            inflater = zlib.decompressobj(-15)
            try:
                out = inflater.decompress(self._data[start:], limits.max_part_bytes + 1)
            except zlib.error as exc:
                raise _corrupt(_ORPHAN) from exc
            if len(out) > limits.max_part_bytes:
                raise Refusal("FILE_TOO_LARGE")
            if not inflater.eof:  # truncated
                raise _corrupt(_ORPHAN)
            used = len(data) - start - len(inflater.unused_data)
            if len(out) > max(used, 1) * limits.max_ratio:
                raise _corrupt(_ORPHAN)
            size = len(out)
            if self._meter.inflated + size > limits.max_inflated_bytes:
                raise Refusal("FILE_TOO_LARGE")
        else:
            if 0xFFFFFFFF in (compressed_size, size):  # ZIP64: Office never writes it here
                raise _corrupt(_ORPHAN)
            if size > limits.max_part_bytes or self._meter.inflated + size > (
                limits.max_inflated_bytes
            ):
                raise Refusal("FILE_TOO_LARGE")
            compressed = self._data[start : start + compressed_size]
            if len(compressed) != compressed_size:
                raise _corrupt(_ORPHAN)
            try:
                out = _inflate(compressed, method, size, crc, limits)
            except Refusal as exc:
                raise _corrupt(_ORPHAN) from exc
        self._meter.inflated += size
        return name, out

    # -- relationships ----------------------------------------------------------------------
    def rels(self, source: str) -> list[Relationship]:
        """The relationships of a part ("" for the package), targets resolved to part names."""
        key = source.lstrip("/").casefold()
        if key not in self._rels:
            self._rels[key] = self._read_rels(source)
        return list(self._rels[key])

    def _read_rels(self, source: str) -> list[Relationship]:
        folder, base = posixpath.split(source.lstrip("/"))
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        if not self.has(rels_name):
            return []
        out: list[Relationship] = []
        for attrs in _elements(self.read(rels_name), "Relationship"):
            target = attrs.get("Target", "")
            external = attrs.get("TargetMode", "").casefold() == "external"
            if not external:
                target = resolve_target(folder, target)
            out.append(Relationship(attrs.get("Id", ""), attrs.get("Type", ""), target, external))
        return out

    def main_part(self, default: str) -> str | None:
        """The main part: `default` when it exists (every writer we know of uses it), else the
        officeDocument part named by _rels/.rels."""
        if self.has(default):
            return default
        for rel in self.rels(""):
            if rel.type.endswith("/officeDocument") and not rel.external and self.has(rel.target):
                return rel.target
        return None


def resolve_target(folder: str, target: str) -> str:
    """A relationship target resolved against the folder of its source part."""
    if "/." not in target and not target.startswith((".", "/")) and "//" not in target:
        return f"{folder}/{target}" if folder else target  # the common case, already normal
    path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
    path = posixpath.normpath(path)
    return "" if path == "." else path.lstrip("/")


# Relationship and property parts are read without an XML parser: their grammar is flat and a
# parse costs more than the rest of a small form. Nothing is expanded, so a DTD could do no harm,
# but a part that declares one is refused all the same. The tokenizer below is linear (str.find,
# no backtracking); attribute values are unescaped with html.unescape (XML's five entities and
# character references).
_ATTR = re.compile(r"""(?<![\w:.-])([\w:.-]++)\s*+=\s*+(?:"([^"]*+)"|'([^']*+)')""")


_TEXT_RUN = re.compile(r">([^<]+)<")


def decode_part(data: bytes) -> str:
    """The text of an XML part for searching: UTF-8 unless a BOM or NULs say UTF-16/32."""
    if has_dtd(data):
        raise _corrupt()
    return decode_text(data)


def decode_text(data: bytes) -> str:
    """Bytes as text: UTF-8 (bad bytes replaced) unless a BOM or NULs say UTF-16/32."""
    if data[:3] == b"\xef\xbb\xbf":
        return data[3:].decode("utf-8", "replace")
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return data.decode("utf-32", "replace")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace")
    if b"\x00" in data[:4]:
        return data.decode("utf-16-le" if data[1:2] == b"\x00" else "utf-16-be", "replace")
    return data.decode("utf-8", "replace")


def _text_runs(text: str) -> list[str]:
    """Every text run between tags, unescaped; CDATA kept as it is, comments dropped."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("<", i)
        if j < 0:
            out.append(html.unescape(text[i:]))
            break
        if j > i:
            out.append(html.unescape(text[i:j]))
        if text.startswith("<![CDATA[", j):
            k = text.find("]]>", j + 9)
            if k < 0:
                raise _corrupt()
            out.append(text[j + 9 : k])
            i = k + 3
        elif text.startswith("<!--", j):
            k = text.find("-->", j + 4)
            if k < 0:
                raise _corrupt()
            i = k + 3
        else:
            k = text.find(">", j + 1)
            if k < 0:
                raise _corrupt()
            i = k + 1
    return out


def _unescape(value: str) -> str:
    return html.unescape(value) if "&" in value else value


def _attributes(tag: str) -> dict[str, str]:
    return {
        m.group(1).rpartition(":")[2]: _unescape(m.group(2) or m.group(3) or "")
        for m in _ATTR.finditer(tag)
    }


def _elements(data: bytes, local_name: str) -> list[dict[str, str]]:
    """The attributes of every element with this local name in a flat XML part (a commented-out
    element counts too: harmless for relationships, which only point at parts)."""
    pattern = re.compile(r"<(?:[\w.-]+:)?" + re.escape(local_name) + r"(?=[\s/>])([^>]*)>")
    text = decode_part(data)
    text = text[: text.rfind(">") + 1]  # every "<" now has a ">" after it: the search is linear
    return [_attributes(m.group(1)) for m in pattern.finditer(text)]


def part_texts(data: bytes, attributes: tuple[str, ...] = ()) -> list[str]:
    """Every text run of an XML part, unescaped, and the values of the named attributes."""
    text = decode_part(data)
    found: list[str] = []
    if "<![CDATA[" in text or "<!--" in text:
        found = _text_runs(text)
    else:
        # up to the last "<", so that every ">" has a "<" after it: the search stays linear
        found = [_unescape(m) for m in _TEXT_RUN.findall(text, 0, text.rfind("<") + 1)]
    found = [t.strip() for t in found if t and not t.isspace()]
    if attributes:
        for m in _ATTR.finditer(text):
            if m.group(1).rpartition(":")[2] in attributes:
                value = _unescape(m.group(2) or m.group(3) or "").strip()
                if value:
                    found.append(value)
    return found


_A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
_A_P = f"{{{_A_NS}}}p"
_A_T = f"{{{_A_NS}}}t"


def drawing_texts(root: etree._Element) -> list[str]:
    """The texts of a DrawingML part (a chart, SmartArt, the drawing of a sheet with its text
    boxes): each paragraph with its runs joined (a number split over two runs is one number),
    and every element's own text (a chart's cached values and formulas, each run)."""
    texts = ["".join(t.text or "" for t in p.iter(_A_T)) for p in root.iter(_A_P)]
    texts += [el.text for el in root.iter() if el.text]
    return [t for t in texts if t and not t.isspace()]


# Every text node and every attribute value of a tree, in C. Two queries, not one union: a
# union is sorted in document order, which doubled the cost, and order does not matter here.
_TEXT_NODES = etree.XPath("//text()", smart_strings=False)
_ATTRIBUTE_VALUES = etree.XPath("//@*", smart_strings=False)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_DECLARED = re.compile(r"""^\ufeff?\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)""")
_UNICODE = frozenset({"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "utf-32", "us-ascii"})
# Encodings that write ASCII as ASCII, one byte a character: the text as written holds every
# digit and separator (a byte outside ASCII is searched as it is), whatever the parser says.
_ASCII_BYTES = ("iso-8859-", "iso8859-", "windows-125", "cp125", "latin", "ascii", "us-ascii")


def declared_encoding(data: bytes) -> str | None:
    """The encoding an XML declaration names, lower case; None without one."""
    declared = _DECLARED.match(data[:256].decode("latin-1"))
    return declared.group(1).strip().lower() if declared else None


def ascii_compatible(encoding: str | None) -> bool:
    """Whether a part in this encoding shows its digits as ASCII bytes (no declaration: UTF-8,
    or UTF-16/32 by its byte order mark, told apart before this is asked)."""
    return encoding is None or encoding in ("utf-8", "utf8") or encoding.startswith(_ASCII_BYTES)


# Markup after which the text as written differs from the parser's: text on both sides of a
# comment, a processing instruction or a CDATA section is one text node in the tree.
_SPLITTERS = ("<!--", "<![CDATA[")


def markup_strings(data: bytes, max_depth: int, root: etree._Element | None = None) -> str:
    """Every string of an XML part, for the identity guard, joined by NUL (never by white
    space, which the guard may read as a separator inside a number).

    The text of the part as written, decoded (UTF-8, or UTF-16/32 by its byte order mark) and
    its character references replaced (`&#49;` is "1"): every text node and attribute value,
    and what a tree does not show, the names of elements and attributes, namespace
    declarations (an XPath over the namespace axis cost 2 ms on a Word document), comments and
    processing instructions. Where that text is not every string as the parser reads it (text
    split by a comment, a processing instruction or a CDATA section, which the tree joins; an
    encoding other than Unicode), the part is also parsed (`root`, when the caller has it, or
    `parse_xml`: no DTD, no entities, nesting within `max_depth`) and every text node and
    attribute value of the tree is added. A part that does not parse is searched as written.
    When percent escapes occur (relationship targets, hyperlinks, part names are IRIs), the
    text is also given with them decoded.

    Word and Excel write many numbers of their own, and none is eleven digits on its own:
    rsids, paraId, textId, nsid, tmpl and w14:docId are 8 hex digits; w:id of a content control
    is a signed 32-bit number (at most 10 digits), other w:id, docPr/@id and r:id (`rId5`) are
    small; EMU sizes and offsets (`cx="5760720"`) are 7-8 digits; twips, half-points, theme
    colours and calcId (6 digits) are shorter; an OLE ObjectID is `_` and 10 digits; GUIDs
    (docId, itemID, creationId, xr:uid) and long hex digests are left out by the guard
    (`ingest.guard`); password hashes and salts are base64. The one machine-written place with
    eleven digits in a row is a decimal fraction with exactly eleven digits after the point (a
    cached cell or chart value, a pivot cache date): cell values were searched before this sweep
    too, and such digits must also pass both control digits and hold a date."""
    written = decode_text(data)
    # A comment or CDATA section ("<!"), or a processing instruction after the XML declaration
    # (which can only come first). "!" and "?" are rare in XML and found fast, "<" is not.
    declaration = written.find("?>") + 2 if written.startswith("<?xml") else 0
    parse = ("!" in written and any(m in written for m in _SPLITTERS)) or (
        written.find("?", declaration) >= 0 and written.find("<?", declaration) >= 0
    )
    declared = _DECLARED.match(written[:256])
    encoding = declared.group(1).strip().lower() if declared else None
    parse = parse or (encoding is not None and encoding not in _UNICODE)
    if "&" in written:
        written = html.unescape(written)
    if parse:
        if root is None:
            try:
                root = parse_xml(data, max_depth)
            except Refusal:
                if not ascii_compatible(encoding) and encoding not in _UNICODE:
                    # UTF-7, EBCDIC ...: only the parser could read its digits, and it cannot
                    raise _corrupt() from None
                root = None
        if root is not None:
            texts = _TEXT_NODES(root)
            texts += _ATTRIBUTE_VALUES(root)
            texts.append(written)
            written = "\x00".join(texts)
    if "%" in written and _PERCENT.search(written):
        written += "\x00" + urllib.parse.unquote(written)
    return written


def has_dtd(data: bytes) -> bool:
    """True when the bytes hold `<!DOCTYPE` or `<!ENTITY` (in UTF-8, UTF-16 or UTF-32)."""
    # Every marker holds the byte "!" in each encoding searched below, and a search for one byte
    # (memchr) costs a twentieth of the searches for the markers in a part without it.
    if b"!" not in data:
        return False
    if any(m in data for m in _DTD_MARKERS):
        return True
    if b"\x00" in data[:4]:  # UTF-16 or UTF-32: search the wide forms as well
        for enc in _WIDE_ENCODINGS:
            if any(m.decode("ascii").encode(enc) in data for m in _DTD_MARKERS):
                return True
    return False


def _too_deep(root: etree._Element, max_depth: int) -> bool:
    return bool(_depth_probe(max_depth)(root))


@functools.cache
def _depth_probe(max_depth: int) -> etree.XPath:
    """True when an element sits deeper than max_depth; evaluated in C by libxml2. Compiled once
    per limit (a compiled XPath locks itself while it runs, so threads may share it)."""
    return etree.XPath("boolean(/" + "/".join(["*"] * (max_depth + 1)) + ")")


def parse_xml(data: bytes, max_depth: int) -> etree._Element:
    """Parse one XML part safely; Refusal("FILE_CORRUPT") for a DTD, bad XML or deep nesting."""
    if has_dtd(data):
        raise _corrupt()
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise _corrupt() from exc
    if root is None:
        raise _corrupt()
    if root.getroottree().docinfo.doctype:
        raise _corrupt()
    if _too_deep(root, max_depth):
        raise _corrupt()
    return root


def open_package(data: bytes, limits: Limits) -> Package:
    """Open and check an OOXML package. Raises Refusal for anything that must not be read."""
    if data[:8] == OLE_MAGIC:
        _check_ole(data)
    if len(data) > limits.max_file_bytes:
        raise Refusal("FILE_TOO_LARGE")
    declared = _declared_entries(data)
    if declared is not None and declared > limits.max_zip_entries:
        raise _corrupt()
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except _ZIP_ERRORS as exc:
        raise NotAZip() from exc
    if not infos or len(infos) > limits.max_zip_entries:
        raise _corrupt()

    seen: set[str] = set()
    total = 0
    for info in infos:
        folded = info.filename.casefold()
        if folded in seen:  # two parts of one name: readers would disagree on which counts
            raise _corrupt()
        seen.add(folded)
        if info.flag_bits & 0x1:
            raise Refusal("FILE_ENCRYPTED")
        if info.file_size:
            if info.compress_size <= 0:
                raise _corrupt()
            if info.file_size / info.compress_size > limits.max_ratio:
                raise _corrupt()
        total += info.file_size
        if posixpath.basename(folded) == "vbaproject.bin" or folded.startswith("xl/macrosheets/"):
            raise Refusal("FILE_MACROS")
    if total > limits.max_inflated_bytes:
        raise Refusal("FILE_TOO_LARGE")

    pkg = Package(data, zf, limits)
    if pkg.has("[Content_Types].xml"):
        types = pkg.read("[Content_Types].xml")
        if has_dtd(types):
            raise _corrupt()
        if any(m in types.lower() for m in _MACRO_CONTENT_TYPES):
            raise Refusal("FILE_MACROS")
    return pkg


_PROPERTY_TYPES = ("/core-properties", "/extended-properties", "/custom-properties")


def properties_texts(pkg: Package) -> list[str]:
    """Every text of the core, app and custom properties (custom property names too), and of
    custom XML data parts (data-bound content controls keep their values there)."""
    parts: list[str] = []
    for name in pkg.names():
        low = name.casefold()
        if not low.endswith(".xml"):
            continue
        if low.startswith("docprops/") or (low.startswith("customxml/item") and "props" not in low):
            parts.append(name)
    if not any(p.casefold() == "docprops/core.xml" for p in parts):
        # a writer that keeps its properties elsewhere names them in _rels/.rels
        for rel in pkg.rels(""):
            if not rel.external and rel.type.endswith(_PROPERTY_TYPES) and pkg.has(rel.target):
                parts.append(rel.target)
    texts: list[str] = []
    done: set[str] = set()
    for name in parts:
        key = name.casefold()
        if key in done:
            continue
        done.add(key)
        texts.extend(
            part_texts(pkg.read_markup(name), ("name",) if key.endswith("custom.xml") else ())
        )
    return texts
