"""Embedded objects of an Office file and files attached to a PDF, searched for identity
(FORMS.md section 6).

A Word or Excel file can carry other files inside it, and their text is text of the document:
- embedded objects, the parts under `word/embeddings/`, `xl/embeddings/`, `ppt/embeddings/` (or
  any part a relationship of type `package` or `oleObject` points at): a spreadsheet pasted into
  a Word form is a whole XLSX package there, an object from older Office an OLE compound file;
- DOCX altChunks (relationship type `aFChunk`): HTML, MHT, RTF, text or a DOCX that Word merges
  into the document when it opens it.
A PDF carries whole files too (its embedded files and file attachment annotations, found and
decoded by `processor.extract_pdf`): `AttachedFiles` searches each one by its content, the same
way as an embedded object, with one budget for all files of the upload.

A nested OOXML package is opened by `ooxml.open_package`, with every rule of the file around it
(size, ratio, encryption, macros, DTD: a breach refuses the whole file with the same code), and
every XML part of it is searched: paragraphs and strings joined over their runs, every element's
text, its properties, every other string of the package as at the top (`processor.sweep`:
attributes, names, relationship targets, entry names, unlisted entries), and its own embedded
objects, up to `MAX_LEVELS` packages deep. Deeper
packages, OLE compound files and other binaries are searched as raw bytes, read as 8-bit text and
as UTF-16-LE at both byte alignments (legacy Office keeps text in one or the other). The texts of
an altChunk are searched as written and with their markup removed.

A ZIP archive that is no OOXML package (no `[Content_Types].xml`, say a .zip attached to a PDF)
is opened under the same rules and each of its entries is searched as a file. A PDF inside a file
(attached to a PDF, or a part of a package) has its form fields, metadata and own attached files
searched as at the top (`extract_pdf.nested_pdf_texts`), and its bytes raw.

All packages of one file share one budget (`Package.share_budget`): the inflated bytes and the XML
tags of every part read, at any depth, count against the file's limits, so the work stays linear
in what the file declares. A file without embedded objects costs one pass over its part names.
The files attached to a PDF have no package around them: their bytes, the packages inside them
and what is read of them as markup share an `ooxml.Meter` of their own, with the same limits.

Raw bytes give only their runs of digits and separators long enough to hold a number (the rest
cannot), so that megabytes of binary do not become megabytes of text.
"""

from __future__ import annotations

import email
import email.policy
import quopri
import re
from collections.abc import Callable

from lxml import etree

from processor.findings import Limits, Refusal, thousands
from processor.identity import contains_identity, without_machine_ids
from processor.ooxml import (
    OLE_MAGIC,
    Meter,
    NotAZip,
    Package,
    decode_text,
    encrypted_ole,
    has_dtd,
    open_package,
    properties_texts,
)
from processor.sweep import embedded_objects, markup_texts, package_texts

# Packages opened in all: the uploaded file and two levels inside it. A package deeper than that
# is searched as raw bytes. (A PDF counts as a level, and so does a PDF attached to it.)
MAX_LEVELS = 3

# How a PDF inside a file is read (`extract_pdf.nested_pdf_texts`), given by the reader of the
# file: its texts, the files it carries sharing the budget of `files`, at `level`. Passed in, not
# imported: the PDF extractor builds on this module.
ReadPdf = Callable[[bytes, "AttachedFiles", int], list[str]]

_TEXT_SUFFIXES = (".htm", ".html", ".mht", ".mhtml", ".xml", ".txt", ".rtf", ".csv")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_PDF_MAGIC = b"%PDF-"
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Bytes no text file holds (C0 controls but tab, line feed, vertical tab, form feed, carriage
# return and escape): a file without them in its first 4 KiB is read as text.
_BINARY_BYTE = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")

# Runs of characters a number can be written with (`identity.CANDIDATE`: digits, and one space,
# dot, dash, no-break or narrow no-break space after the sixth), long enough to hold eleven
# digits. Every identity number in the text lies inside one of them, with a non-digit on either
# side, so searching the runs finds exactly what searching the whole text would.
_RUN_8BIT = re.compile(rb"[0-9][0-9 .\-\xa0]{10,}")
# The same in UTF-16-LE, two bytes a character: both byte alignments in one pass, since a run at
# one alignment cannot take a byte of a run at the other (its odd bytes are NULs).
_RUN_UTF16 = re.compile(rb"[0-9]\x00(?:[0-9 .\-\xa0]\x00|\x2f\x20){10,}")
# The same in decoded text, with every digit and separator `identity.CANDIDATE` knows.
_RUN_TEXT_NUMBER = re.compile(r"\d[\d .\-\u00a0\u202f]{10,}")

# RTF: hex escapes, Unicode escapes, control words (a paragraph or cell mark is a line break,
# the rest nothing), control symbols, groups; line breaks in the source are not text.
_RTF = re.compile(
    r"\\'([0-9a-fA-F]{2})|\\u(-?\d{1,6}) ?\??|\\([a-zA-Z]{1,32})(?:-?\d{1,10})? ?"
    r"|\\([^a-zA-Z])|[{}\r\n]"
)
_RTF_BREAKS = frozenset({"par", "line", "cell", "row", "tab", "sect", "page"})
_RTF_SYMBOLS = {"~": "\u00a0", "_": "-", "\\": "\\", "{": "{", "}": "}"}
_MIME_MARKERS = (b"mime-version:", b"content-type: multipart")

# Elements whose runs are joined (a number split over two runs is one number): paragraphs of
# WordprocessingML and DrawingML, shared and inline strings of SpreadsheetML.
_JOINED = frozenset({"p", "si", "is"})
_RUN_TEXT = frozenset({"t", "delText"})
_RUN_BREAKS = {"tab": "\t", "br": "\n", "cr": "\n"}


def embedded_texts(pkg: Package, limits: Limits, read_pdf: ReadPdf) -> list[str]:
    """The texts of the embedded objects and altChunks of an open package, for the identity
    guard, a PDF among them read by `read_pdf`. Raises Refusal when an embedded package breaks a
    rule of `open_package`."""
    objects = embedded_objects(pkg)
    if not objects:
        return []
    return _Walk(limits, pkg.meter, read_pdf).objects(pkg, objects, 1)


class AttachedFiles:
    """The files one uploaded document carries outside any package (a PDF's attached files, and
    those of a PDF inside one), searched for identity with one budget: at most
    `Limits.max_attachments` files, and their bytes, the parts inflated from the packages inside
    them and the markup read from both within one `Limits.max_inflated_bytes` and one
    `Limits.max_xml_tags` (an `ooxml.Meter`, the one of the package around a PDF, if any).

    `entries` is kept for the reader of the document: the entries of the lists it walks to find
    the files (a PDF's name trees and annotation arrays), summed over every PDF of the upload."""

    def __init__(self, limits: Limits, read_pdf: ReadPdf, walk: _Walk | None = None) -> None:
        self.limits = limits
        self.files = 0
        self.entries = 0
        # given: the walk of the package a PDF is in, whose budget the PDF's files then share
        self._walk = walk or _Walk(limits, Meter(), read_pdf)
        self._walk.files = self

    def admit(self) -> None:
        """Count one more file against `Limits.max_attachments` (FILE_TOO_LARGE beyond it),
        before it is decoded."""
        limits = self.limits
        self.files += 1
        if self.files > limits.max_attachments:
            raise Refusal(
                "FILE_TOO_LARGE",
                f"Dokumentet har mer enn {thousands(limits.max_attachments)} vedlagte filer.",
            )

    def texts(self, data: bytes, name: str, level: int = 1) -> list[str]:
        """The texts of one attached file that hold an identity number, `data` its decoded bytes
        and `name` its file name, in a document at `level` (1: the upload).

        Only runs of digits and separators that hold a number are kept (`number_runs`): the
        texts of all files would otherwise stay in memory until the guard searches them, and
        50 MiB of digits in 49 text files took a fresh process to 243 MiB. Raises Refusal when
        the files' bytes together exceed `Limits.max_inflated_bytes`, when the file or a package
        inside it breaks a rule of `open_package`, or when it is encrypted."""
        limits = self.limits
        meter = self._walk.meter
        meter.inflated += len(data)
        if meter.inflated > limits.max_inflated_bytes:
            raise Refusal(
                "FILE_TOO_LARGE",
                "Filene som er lagt ved dokumentet, er til sammen større enn "
                f"{limits.max_inflated_bytes // 2**20} MiB utpakket.",
            )
        runs = number_runs(self._walk.file(data, name, level, None, None))
        return [run for run in runs if contains_identity(run)]


class _Walk:
    """The search of one file's embedded objects, packages within packages."""

    def __init__(self, limits: Limits, meter: Meter, read_pdf: ReadPdf):
        self.limits = limits
        self.read_pdf = read_pdf
        # the budget of the packages with none around them (a file attached to a PDF), and of
        # files read as text by their name or content (an attached file, an entry of an archive)
        self.meter = meter
        self.files: AttachedFiles | None = None  # the files of the PDFs found in the walk

    def objects(self, pkg: Package, objects: dict[str, bool], level: int) -> list[str]:
        texts: list[str] = []
        for name, chunk in objects.items():
            text = chunk or name.casefold().endswith(_TEXT_SUFFIXES)
            # markup read as text costs per tag, as a tree does: counted as the XML parts are
            data = pkg.read_markup(name) if text else pkg.read(name)
            texts.extend(self.file(data, name, level, pkg, text))
        return texts

    def file(
        self, data: bytes, name: str, level: int, outer: Package | None, text: bool | None
    ) -> list[str]:
        """The texts of one file inside a document at `level`: a part of the package `outer`,
        or (no `outer`) a file attached to a PDF. `text`: read it as text, or None to decide
        by its name and content."""
        if data.startswith(_ZIP_MAGIC):
            if level < MAX_LEVELS:
                return self.package(outer, data, level + 1)
            return raw_texts(data)
        if data.startswith(OLE_MAGIC):
            if encrypted_ole(data):
                raise Refusal(
                    "FILE_ENCRYPTED",
                    "Dokumentet har et innebygd objekt som er passordbeskyttet eller "
                    "kryptert, og som derfor ikke kan kontrolleres. Fjern objektet eller "
                    "fjern passordet, og send på nytt.",
                )
            return raw_texts(data)
        if _PDF_MAGIC in data[:1024]:  # where ingest.sniff finds it
            if level < MAX_LEVELS:
                # a PDF in a package: its files share the package's budget
                files = self.files or AttachedFiles(self.limits, self.read_pdf, self)
                return self.read_pdf(data, files, level + 1) + raw_texts(data)
            return raw_texts(data)
        if text is None:
            text = name.casefold().endswith(_TEXT_SUFFIXES) or _looks_like_text(data)
            if text:
                self.meter.count_markup(data, self.limits)  # read as markup_texts: per tag
                if data.isascii() or _is_utf8(data):
                    return chunk_texts(data)
                # and raw: a Windows-1252 text (Excel's CSV) is no UTF-8, its no-break space lost
                return chunk_texts(data) + raw_texts(data)
        if text:
            return chunk_texts(data)
        return raw_texts(data)

    def package(self, outer: Package | None, data: bytes, level: int) -> list[str]:
        """The texts of a nested package at `level`; raw bytes when it is no ZIP at all. With
        no `outer` package (a file attached to a PDF) it shares the walk's budget."""
        try:
            pkg = open_package(data, self.limits)
        except NotAZip:
            return raw_texts(data)
        pkg.share_budget(self.meter if outer is None else outer)
        if not pkg.has("[Content_Types].xml"):  # an archive, not OOXML: each entry is a file
            return self.archive(pkg, level)
        texts: list[str] = []
        for name in pkg.names():
            low = name.casefold()
            if (
                low.endswith((".xml", ".vml"))
                and low != "[content_types].xml"
                and not low.startswith(("docprops/", "customxml/"))  # properties_texts
            ):
                texts.extend(self.part(pkg, name))
        texts.extend(without_machine_ids(t) for t in properties_texts(pkg))
        # and every other string of the package: names, attributes, relationships, comments,
        # parts no relationship points at, unlisted entries (`processor.sweep`)
        texts.extend(without_machine_ids(t) for _, t in package_texts(pkg, self.limits))
        objects = embedded_objects(pkg)
        if objects:
            texts.extend(self.objects(pkg, objects, level))
        return texts

    def archive(self, pkg: Package, level: int) -> list[str]:
        """The texts of the entries of a ZIP archive at `level`, each searched as a file."""
        texts: list[str] = []
        for name in pkg.names():
            if not name.endswith("/"):  # a folder
                texts.append(name)  # a file named after the patient's number
                texts.extend(self.file(pkg.read(name), name, level, pkg, None))
        return texts

    def part(self, pkg: Package, name: str) -> list[str]:
        """The texts of one XML part of a nested package. A DTD refuses the file, as at the top;
        a part that does not parse (or a VML part, often not XML at all) is searched as text."""
        data = pkg.read_markup(name)
        if has_dtd(data):
            raise Refusal("FILE_CORRUPT")
        if name.casefold().endswith(".xml"):
            try:
                root = pkg.xml(name)  # kept for the sweep of the package
            except Refusal:
                pass
            else:
                return tree_texts(root)
        return [without_machine_ids(t) for t in markup_texts(decode_text(data))]


def tree_texts(root: etree._Element) -> list[str]:
    """The texts of any OOXML part: each paragraph or string with its runs joined (tabs and
    breaks kept), and every element's own text and tail, machine ids left out. A cell value that
    is a whole number of ten digits is also given with its lost leading zero."""
    out: list[str] = []
    joined: list[list[str]] = []  # the runs of the open paragraphs (a text box nests one)
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag
        if not isinstance(tag, str):
            continue
        local = tag.rpartition("}")[2]
        if event == "start":
            text = el.text
            if local in _JOINED:
                joined.append([])
            elif joined:
                if local in _RUN_TEXT:
                    if text:
                        joined[-1].append(text)
                elif local in _RUN_BREAKS:
                    joined[-1].append(_RUN_BREAKS[local])
            if text and not text.isspace():
                out.append(without_machine_ids(text))
                if local == "v":
                    out.extend(_padded(text))
        else:
            if local in _JOINED:
                text = "".join(joined.pop())
                if text and not text.isspace():
                    out.append(text)
            tail = el.tail
            if tail and not tail.isspace():
                out.append(without_machine_ids(tail))
    return out


def _padded(text: str) -> list[str]:
    """A cell value that is a whole number below 10^11, as eleven digits: a fødselsnummer stored
    as a number loses its leading zero, and may be written in exponent form."""
    text = text.strip()
    if len(text) > 32:
        return []
    try:
        value = float(text)
    except ValueError:
        return []
    if value.is_integer() and 1e9 <= abs(value) < 1e11:
        return [f"{int(abs(value)):011d}"]
    return []


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_text(data: bytes) -> bool:
    """True when the bytes start with a byte order mark, or their first 4 KiB hold no control
    byte that text never has."""
    return data.startswith(_TEXT_BOMS) or _BINARY_BYTE.search(data, 0, 4096) is None


def number_runs(texts: list[str]) -> list[str]:
    """The runs of digits and separators in `texts` that are long enough to hold a number: the
    guard finds in them exactly what it finds in the texts (see `_RUN_8BIT`)."""
    return [run for text in texts for run in _RUN_TEXT_NUMBER.findall(text)]


def raw_texts(data: bytes) -> list[str]:
    """The runs of a binary that could hold a number, read as 8-bit text (Latin-1, Windows-1252)
    and as UTF-16-LE at both byte alignments."""
    out = [m.decode("latin-1") for m in _RUN_8BIT.findall(data)]
    for m in _RUN_UTF16.finditer(data):
        out.append(m.group().decode("utf-16-le"))
    return out


def rtf_text(text: str) -> str:
    """The text of an RTF document, control words, groups and source line breaks removed."""
    return _RTF.sub(_rtf_piece, text)


def _rtf_piece(m: re.Match[str]) -> str:
    hex_code, code, word, symbol = m.groups()
    if hex_code:
        return chr(int(hex_code, 16))
    if code:
        n = int(code)
        n = n + 65536 if n < 0 else n  # RTF writes code points above 32767 as negative numbers
        return chr(n) if 0 <= n < 0x110000 else ""
    if word:
        return "\n" if word in _RTF_BREAKS else ""
    if symbol:
        return _RTF_SYMBOLS.get(symbol, "")
    return ""


def chunk_texts(data: bytes) -> list[str]:
    """The texts of an altChunk or a text file: HTML, MHT (MIME, quoted-printable or base64),
    RTF, XML, plain text. Always searched as written too: a text that only looks like MIME is
    not lost to the MIME parser."""
    text = decode_text(data)
    out = markup_texts(text)
    if any(marker in data[:4096].lower() for marker in _MIME_MARKERS):
        out.extend(_mime_texts(data))
    elif "=\n" in text or "=\r\n" in text:  # quoted-printable without MIME headers
        out.extend(markup_texts(decode_text(quopri.decodestring(data))))
    if text[:64].lstrip().startswith("{\\rtf"):
        out.append(rtf_text(text))
    return out


def _mime_texts(data: bytes) -> list[str]:
    """The texts of a MIME document (an MHT file): text parts decoded from their transfer
    encoding and charset, other parts searched raw. Nothing when it cannot be read as MIME."""
    out: list[str] = []
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            if part.get_content_maintype() == "text":
                charset = part.get_content_charset() or "utf-8"
                try:
                    text = payload.decode(charset, "replace")
                except LookupError:
                    text = payload.decode("utf-8", "replace")
                out.extend(markup_texts(text))
            else:
                out.extend(raw_texts(payload))
    except Exception:  # the email package on hostile input: the text as written is searched
        return out
    return out
