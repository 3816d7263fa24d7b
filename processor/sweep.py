"""Every string of an Office package, for the identity guard (FORMS.md section 6, issue #10).

The extractors read the places a form's text belongs in (paragraphs, content controls, cells,
properties); a number hidden anywhere else in the package was not searched: a field code, a
document variable, a hyperlink target, an alt text, a bookmark name, a sheet name, a formula, a
part no relationship points at. No list of such places is complete, so the package is swept
generically instead of element by element:

- the container: every entry name (central directory and local header), entry comments, extra
  fields, the archive comment (`Package.container_texts`), and every local entry the central
  directory does not list, read within the same limits (`Package.orphans`);
- every part that is text, referenced or not, whatever its name: an XML part (a DTD refuses
  the file) with all its text nodes, attribute values, names, namespace declarations, comments
  and processing instructions, character references decoded, and parsed with
  `ooxml.parse_xml` where the text as written is not what the parser reads
  (`ooxml.markup_strings`); other text (a VML part that is no well-formed XML, a .txt) as
  written and with its markup removed. Tags are counted against `Limits.max_xml_tags`.

A part an extractor has parsed already (`word/document.xml`, headers, sheets, shared strings) is
not read or parsed again (`Package` keeps its bytes and its tree). Binary parts (images, fonts)
are not text and are not searched; embedded objects and altChunks are read by
`processor.embedded`, which sweeps the packages inside them the same way.

The texts are of kind "metadata" for the property parts (`docProps/`, `customXml/`) and
"package" for everything else; `ingest.guard` reports a number found here only when no more
specific place (a field, the document text, a cell, the metadata) has reported it already.
"""

from __future__ import annotations

import html
import re
import urllib.parse

from lxml import etree

from processor.extracted import TextKind
from processor.findings import Limits, Refusal
from processor.ooxml import (
    Package,
    ascii_compatible,
    declared_encoding,
    decode_text,
    has_dtd,
    markup_strings,
)

# Bytes no text holds (C0 controls but tab, line feed, vertical tab, form feed, carriage return
# and escape): a part with one in its first 4 KiB is binary, unless it is UTF-16/32 markup.
_BINARY_BYTE = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_METADATA_FOLDERS = ("docprops/", "customxml/")
_HEAD = 4096  # bytes inflated to tell a binary part from text
# Relationships that point at an embedded object or an altChunk (`embedded_objects`)
_OBJECT_TYPES = ("/package", "/oleObject", "/aFChunk")
_ALT_CHUNK = "/aFChunk"

# Markup removed from HTML, XML and the like: block elements become line breaks (a cell or a
# paragraph does not join the next), inline elements (<b>, <span>, w:r) vanish. Two passes with
# fixed replacements over the text in lower case (IGNORECASE made the first three times slower),
# in C; `[^<>]` keeps each linear when a "<" has no ">".
_BLOCK = (
    "p|div|br|hr|li|ul|ol|dl|dt|dd|pre|blockquote|td|th|tr|table|caption|thead|tbody|tfoot"
    "|h[1-6]|section|article|header|footer|title|head|body|html|tc|tab|cr"
)
_BLOCK_TAG = re.compile(rf"</?(?:[\w.-]+:)?(?:{_BLOCK})(?=[\s/>])[^<>]*>")
_TAG = re.compile(r"<[^<>]*>")


def embedded_objects(pkg: Package) -> dict[str, bool]:
    """The embedded objects of a package: part name -> True for an altChunk. One pass over the
    names; relationships are read only from parts that have them (the main part's are read, and
    kept, by the extractor already)."""
    found: dict[str, bool] = {}
    sources: list[str] = []
    for name in pkg.names():
        low = name.lower()
        if low.endswith(".rels"):
            at = low.rfind("/_rels/")  # not the package's own _rels/.rels
            if at > 0:
                sources.append(f"{name[:at]}/{name[at + 7 : -5]}")
        elif "/embeddings/" in low:
            found.setdefault(name, False)
    for source in sources:
        for rel in pkg.rels(source):
            if not rel.external and rel.type.endswith(_OBJECT_TYPES) and pkg.has(rel.target):
                if rel.type.endswith(_ALT_CHUNK):
                    found[rel.target] = True
                else:
                    found.setdefault(rel.target, False)
    if len(found) < 2:
        return found
    out: dict[str, bool] = {}
    seen: set[str] = set()
    for name, chunk in found.items():
        key = name.lstrip("/").casefold()
        if key not in seen:
            seen.add(key)
            out[name] = chunk
    return out


def markup_texts(text: str) -> list[str]:
    """A text as written, and with its markup removed and its entities decoded, so that
    `<b>0101</b>90…` is one number (that one in lower case: it is searched for digits)."""
    if "<" not in text and "&" not in text:
        return [text]
    return [text, html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", text.lower())))]


def _markup(data: bytes) -> bool:
    """Whether the bytes start like XML: "<" after a byte order mark and white space, in UTF-8,
    or in UTF-16/32 (NULs beside the "<")."""
    head = data[:64]
    if head.startswith(_BOMS[0]):
        head = head[3:]
    elif head.startswith(_BOMS[1:]):
        return True
    if b"\x00" in head[:4]:
        return b"<" in head[:4]
    return head.lstrip(b" \t\r\n")[:1] == b"<"


def _text(data: bytes) -> bool:
    return data.startswith(_BOMS) or _BINARY_BYTE.search(data, 0, 4096) is None


def _is_text(data: bytes) -> bool:
    """Markup or other text, judged by the first 4 KiB."""
    return _markup(data) or _text(data)


def data_strings(data: bytes, limits: Limits, root: etree._Element | None = None) -> str | None:
    """The strings of one part or entry, joined by NUL (`ooxml.markup_strings` for markup,
    the text with its markup removed too for other text); None for binary data. Markup with a
    DTD is FILE_CORRUPT, as everywhere in a package."""
    markup = _markup(data)
    if not markup and not _text(data):
        return None
    if has_dtd(data):
        raise Refusal("FILE_CORRUPT")
    if markup:
        return markup_strings(data, limits.max_depth, root)
    return "\x00".join(markup_texts(decode_text(data)))


# The shape of a text in bytes (UTF-8): an ASCII digit, and every byte of a character outside
# ASCII, become "0"; the ASCII characters that may separate the two groups of a number, and ASCII
# white space (which the guard reads as a space), "s"; anything else "x". A number is then six
# "0" and five more, with separators between them at most: `_NUMBER_SHAPE`.
_SHAPES = bytes(
    48 if 48 <= b <= 57 or b >= 128 else 115 if b in b" .-\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f" else 120
    for b in range(256)
)
# A literal start: the pattern engine skips to it in C ("0{6}" instead took 15 times as long).
_NUMBER_SHAPE = re.compile(rb"000000s*00000")
# ASCII control characters that are no white space, but NUL (a boundary): the guard removes them (`identity.normalise`),
# so they are left out of the shape too.
_CONTROLS = bytes([*range(1, 9), *range(14, 28), 127])
_PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")


def _shape_may_hold(data: bytes) -> bool:
    shapes = data.translate(_SHAPES, _CONTROLS)
    return _NUMBER_SHAPE.search(shapes) is not None


def may_hold_number(text: str) -> bool:
    """False when the text cannot hold an identity number, so that it need not be searched:
    nowhere do six digits follow each other and then five more, with nothing between the two
    groups but separators, counting every character outside ASCII as digits. Sound for any
    normalisation the guard applies (NFKC, format characters removed, dashes and white space
    read as separators): outside ASCII, no character stands for more digits under NFKC than it
    has bytes in UTF-8 (checked over all of Unicode in the tests), and each of those bytes
    counts as a digit here. Most parts of a package (settings, styles, themes, relationships)
    and Word's own numbers (rsids, sizes) hold no such run. All in C: a tenth of the guard's
    search."""
    return _shape_may_hold(text.encode("utf-8", "surrogatepass"))


def nothing_to_find(data: bytes) -> bool:
    """`not may_hold_number` answered from the bytes of a markup part, without decoding it:
    True when no text of it (`ooxml.markup_strings`) can hold a number. Asked only of what the
    bytes show as they are: markup in UTF-8 or another encoding that writes ASCII as ASCII,
    one byte a character (a byte outside ASCII counts as a digit), with no character reference (`&#49;` is a digit), no
    percent escape, and nothing that joins the text on both sides of it in the tree (a comment,
    a CDATA section, a processing instruction). The XML entities (`&lt;` ...) stand for no digit
    and no separator. False (decode and look) otherwise. The styles parts of a real Word
    document run to 800 KB; this costs a fifth of decoding and searching them. (Single bytes
    are looked for first: `b"&" in data` is a memchr, `b"&#" in data` was 100 times slower.)"""
    if b"\x00" in data[:4] or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 or UTF-32
    if not ascii_compatible(declared_encoding(data)):
        return False  # UTF-7 writes "1" as "+ADE-": only the parser reads it
    if b"&" in data and b"&#" in data:
        return False
    if b"%" in data and _PERCENT.search(data):
        return False
    if b"!" in data and (b"<!--" in data or b"<![CDATA[" in data):
        return False
    declaration = data.find(b"?>") + 2 if data.startswith((b"<?xml", b"\xef\xbb\xbf<?xml")) else 0
    if data.find(b"?", declaration) >= 0 and data.find(b"<?", declaration) >= 0:
        return False
    return not _shape_may_hold(data)


def _kind(name: str) -> TextKind:
    return "metadata" if name.casefold().startswith(_METADATA_FOLDERS) else "package"


def package_texts(pkg: Package, limits: Limits) -> list[tuple[TextKind, str]]:
    """Every string of an open package outside its embedded objects, one text per part."""
    out: list[tuple[TextKind, str]] = []
    names = "\x00".join(pkg.container_texts())
    if "%" in names:  # part names are IRIs, percent-escaped in the ZIP
        names += "\x00" + urllib.parse.unquote(names)
    if may_hold_number(names):
        out.append(("package", names))
    objects = embedded_objects(pkg)
    for name in pkg.names():
        if name in objects or name.endswith("/"):
            continue
        root = pkg.parsed(name)
        if root is None and pkg.size(name) > _HEAD and not _is_text(pkg.head(name, _HEAD)):
            continue  # binary: not inflated whole
        data, counted = pkg.read_any(name)
        if root is None and not _is_text(data):
            continue  # a small binary
        if has_dtd(data):
            raise Refusal("FILE_CORRUPT")
        if _markup(data) and nothing_to_find(data):
            continue
        if not counted:
            pkg.meter.count_markup(data, limits)  # decoded into texts: counted per tag
        text = data_strings(data, limits, root)
        if text and may_hold_number(text):
            out.append((_kind(name), text))
    for name, data in pkg.orphans():
        out.append(("package", name))
        if _is_text(data):
            pkg.meter.count_markup(data, limits)
        text = data_strings(data, limits)
        if text and may_hold_number(text):
            out.append(("package", text))
    return out
