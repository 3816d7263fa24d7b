"""PDF AcroForm extraction (FORMS.md 4.1).

Reads the file with pikepdf (qpdf, C++): opening a filled Del 2 form and walking its fields costs
about a tenth of what a pure-Python parser spends on the same objects, which is most of the CPU
of an upload. Walks `/AcroForm /Fields` directly: the fully qualified name is built from the `/T`
of every ancestor (a flat field named `soknad.helseforetak` and a field `helseforetak` under a
parent `soknad` are the same field), values come from `/V` (inherited from the parent when a kid
has none), appearance streams are never read.

Files the PDF carries (FORMS.md section 6) are searched too: the embedded files of the document
(`/Root /Names /EmbeddedFiles`, a name tree), the associated files of the document and of its
pages (`/AF`), and the files of annotations with a file specification (`/FS`: a file attachment
annotation). Each file's names and description, and its content searched by
`embedded.AttachedFiles` as an object in an Office file is, go into `Extracted.texts` as
"embedded". A PDF inside one is read as this one is (`nested_pdf_texts`). The texts of comments
(any other annotation's `/Contents` and rich text `/RC`: a note, a text box, the note of a
highlight) go in as "comment": they are in the stored file as a field value is, whereas text
drawn on a page is not searched (FORMS.md section 6). So do the XFA packets of a hybrid form
(`/AcroForm /XFA`: its data and template), as text of the document.

Then `_Sweep` reads the container itself (FORMS.md section 6 rule 1): every string and name of
every object qpdf lists, in every revision (the bytes up to each earlier `%%EOF`) and among the
objects no cross-reference section lists, and the text streams (scripts, XMP, XFA, private data,
unknown streams; not page contents, appearance streams, images or fonts). What the walks above did
not already give goes in as "package" (or "revision" when only an earlier revision holds it). A
UTF-16 string that is not valid Unicode (a lone surrogate) is FILE_CORRUPT.

Hostile input: qpdf's process-wide limits are set once at import so that no stream (object
streams included) inflates past `DECODE_LIMIT` bytes, and nesting, container sizes and warnings
are bounded; anything qpdf cannot parse becomes `FILE_CORRUPT`. An attached file is decoded only
through filters that qpdf holds to those limits, so it too stays within `DECODE_LIMIT`.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream, String

from forms.catalog import all_field_ids
from processor.embedded import AttachedFiles, markup_texts, raw_texts, tree_texts
from processor.extracted import Extracted, RawValue
from processor.findings import Limits, Refusal, thousands
from processor.identity import one_text, value_texts, without_machine_ids
from processor.ooxml import decode_text, parse_xml

# No single decoded stream may exceed this (an XMP packet or an object stream of a form is a few
# KiB, a cross-reference stream 5-7 bytes per object; the 20 MiB upload limit bounds the raw
# bytes). qpdf refuses to decode past it, which turns a decompression bomb into an unreadable
# object instead of an allocation of gigabytes.
#
# Object streams are also a parse bomb: qpdf parses every object of an object stream as soon as
# one of them is needed (at open, for the catalogue), and each array item or dictionary entry
# costs it about 140 bytes. A 17 KiB file whose catalogue shared an object stream with 16 MiB of
# "0 0 0 ..." took 1.1 GiB and 1.8 s at open. So a stream may decode to 1 MiB at most (about
# 75 MiB of parsed objects; 2 MiB took a fresh process to 181 MiB), and all object streams of a
# file together to `OBJECT_STREAMS_LIMIT` before anything else is read: the first can be parsed
# at open, the rest only after the check.
DECODE_LIMIT = 1024 * 1024
OBJECT_STREAMS_LIMIT = 1024 * 1024

pikepdf.settings.set_qpdf_limits(
    flate_max_memory=DECODE_LIMIT,
    png_max_memory=DECODE_LIMIT,
    run_length_max_memory=DECODE_LIMIT,
    tiff_max_memory=DECODE_LIMIT,
    dct_max_memory=DECODE_LIMIT,
    doc_max_warnings=500,
    parser_max_nesting=64,
    # No dictionary of more entries: an /Info of 1.5 million entries (a plain 19 MiB file) took
    # 7.5 s and 1 GiB. (Measured with qpdf 12.4: arrays are not held to it, so /Fields and /Kids
    # are counted by the walk, see `_visit`.)
    parser_max_container_size=100_000,
)

_RADIO = 1 << 15
_PUSHBUTTON = 1 << 16
_XMP_CHARS = 2_000_000


def _name_text(name: str) -> str:
    return name[1:] if name.startswith("/") else name


def _value(ft: str | None, flags: int, v: object | None) -> RawValue:
    if v is None:  # pikepdf gives PDF null as None
        return False if ft == "/Btn" and not flags & _RADIO else None
    if ft == "/Btn":
        state = _name_text(str(v))
        if flags & _RADIO:
            return None if state == "Off" else state
        return state != "Off"
    if isinstance(v, String):  # the common case, tested first: str(v) as below
        return str(v)
    if isinstance(v, Array):  # multi-select choice: the first selection
        return str(v[0]) if len(v) else None
    if isinstance(v, Name):
        return _name_text(str(v))
    if isinstance(v, Stream):  # a text stream (rare, but allowed for long text)
        return _bounded(v).read_bytes().decode("utf-8", "replace")
    return str(v)


def _eof_present(data: bytes) -> bool:
    return b"%%EOF" in data[-2048:]


# qpdf holds Flate, RunLength and the predictors to DECODE_LIMIT, but sets no limit on LZW: 300 KB
# of LZW decoded to 400 MB (830 MiB at peak), about 1,300:1, so a 20 MiB upload could ask for 26 GB.
# qpdf decodes some streams itself when it opens a file (a cross-reference stream, the object
# stream that holds the catalogue), before any check of ours can look at them. A stream's
# dictionary is never inside an object stream, so every /Filter key is in the raw bytes: each is
# found (written plainly, or with #xx escapes of its letters) and its value read. A filter named
# LZWDecode or LZW (plainly or escaped), or given by an indirect reference (whose name is not in
# the raw bytes), is refused before qpdf opens the file; not in a classic file, where qpdf decodes
# nothing while opening (`_classic`). Every stream we decode ourselves is checked after opening
# (`_bounded`), where pikepdf resolves every name.
_WHITE = rb"[\x00\t\n\f\r ]"
_REGULAR = rb"[^\x00\t\n\f\r ()<>\[\]{}/%]"
_NAME = re.compile(rb"/" + _REGULAR + rb"{0,127}")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_FILTER_ESCAPE = re.compile(rb"#(?:46|69|6[Cc]|74|65|72)")  # an escaped letter of "Filter"
_INDIRECT = re.compile(rb"\d+" + _WHITE + rb"+\d+" + _WHITE + rb"+R")
_UNBOUNDED_NAMES = frozenset((b"/LZWDecode", b"/LZW"))


def _unescaped(name: bytes) -> bytes:
    return _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), name) if b"#" in name else name


# A /Filter key written plainly and its value, found and read in C: the common case, a few dozen
# per file (and the rare escaped key is found by `_FILTER_ESCAPE`).
_VALUE = (  # a filter's value: an array (short), a name, or a reference
    _WHITE
    + rb"*(\[[^\]]{0,1024}\]?|/"
    + _REGULAR
    + rb"{0,127}|\d+"
    + _WHITE
    + rb"+\d+"
    + _WHITE
    + rb"+R)?"
)
_FILTER_ENTRY = re.compile(rb"/Filter(?!" + _REGULAR + rb")" + _VALUE)
_FILTER_AFTER_KEY = re.compile(_VALUE)


def _filter_values(data: bytes) -> Iterator[bytes]:
    """The value of every /Filter key in the raw bytes (empty when none follows), the key
    written plainly or with escaped letters."""
    for entry in _FILTER_ENTRY.finditer(data):
        yield entry.group(1) or b""
    for hint in _FILTER_ESCAPE.finditer(data):
        start = data.rfind(b"/", max(0, hint.start() - 20), hint.start())
        token = _NAME.match(data, start) if start >= 0 else None
        if (
            token is not None
            and token.end() > hint.start()
            and _unescaped(token.group()) == b"/Filter"
        ):
            value = _FILTER_AFTER_KEY.match(data, token.end())
            yield (value.group(1) if value is not None else None) or b""


_STARTXREF = re.compile(rb"startxref" + _WHITE + rb"+(\d{1,12})")


def _classic(data: bytes) -> bool:
    """Whether the file's last cross-reference section is a classic table whose trailer names
    no other section (no /Prev, no /XRefStm, no escaped name). qpdf then decodes no stream while
    it opens the file: a classic table holds no object of an object stream, and when it is
    broken, qpdf rebuilds it from the objects in the file without reading object or
    cross-reference streams (tested). Our own template is such a file."""
    at = data.rfind(b"startxref", max(0, len(data) - 2048))
    found = _STARTXREF.match(data, at) if at >= 0 else None
    if found is None:
        return False
    offset = int(found.group(1))
    if not data.startswith(b"xref", offset):
        return False
    trailer = data.find(b"trailer", offset, at)
    if trailer < 0:
        return False
    entries = data[trailer:at]
    return b"/Prev" not in entries and b"/XRefStm" not in entries and b"#" not in entries


def _refuse_unbounded_filters(data: bytes) -> None:
    """FILE_CORRUPT when a /Filter in the raw bytes is LZW or an indirect reference, in a file
    whose opening could decode a stream (`_classic`: not ours)."""
    if _classic(data):
        return
    for value in _filter_values(data):
        if not value:
            continue  # no filter value after it: text, or bytes of a stream
        if value[:1] == b"[" and (value[-1:] != b"]" or _INDIRECT.search(value)):
            raise Refusal("FILE_CORRUPT", _UNBOUNDED_MESSAGE)  # too long, or by reference
        if value[:1].isdigit():  # by reference: the name is elsewhere
            raise Refusal("FILE_CORRUPT", _UNBOUNDED_MESSAGE)
        if (b"LZW" in value or b"#" in value) and any(
            _unescaped(name) in _UNBOUNDED_NAMES for name in _NAME.findall(value)
        ):
            raise Refusal("FILE_CORRUPT", _UNBOUNDED_MESSAGE)


_UNBOUNDED_MESSAGE = (
    "PDF-filen bruker LZW-komprimering, som tjenesten ikke pakker ut (den kan ikke begrenses). "
    "Lagre PDF-filen på nytt, eller bruk den utfyllbare PDF-malen fra Nye metoder."
)


def _filters_bounded(stream: Stream) -> bool:
    """Whether every filter of `stream` is one qpdf holds to DECODE_LIMIT (or that only shrinks),
    its names resolved by pikepdf."""
    filters = stream.get("/Filter") if _FILTER in stream else None
    names = filters.as_list() if isinstance(filters, Array) else [filters]
    return filters is None or all(str(f) in _BOUNDED_FILTERS for f in names)


def _bounded(stream: Stream) -> Stream:
    """`stream` when `_filters_bounded`; FILE_CORRUPT otherwise. For every stream read here,
    before `read_bytes`."""
    if not _filters_bounded(stream):
        raise Refusal("FILE_CORRUPT", _UNBOUNDED_MESSAGE)
    return stream


@contextmanager
def _open(data: bytes) -> Iterator[pikepdf.Pdf]:
    """The PDF opened from memory. qpdf reads a Python stream through a call back into Python
    for every small read (about 500 for a filled Del 2 form, half of the whole extraction), so
    where Linux offers an anonymous in-memory file (memfd) the bytes go there and qpdf maps it;
    elsewhere, or if the kernel refuses, a BytesIO. Page attributes are not pushed down the page
    tree (`inherit_page_attributes`): the walk never reads a page."""
    memfd = getattr(os, "memfd_create", None)
    file = None
    if memfd is not None:
        try:
            file = os.fdopen(memfd("skjema.pdf", os.MFD_CLOEXEC), "w+b")
            file.write(data)
            file.seek(0)
        except OSError:
            if file is not None:
                file.close()
            file = None
    if file is None:
        with pikepdf.open(io.BytesIO(data), inherit_page_attributes=False) as pdf:
            yield pdf
        return
    with (
        file,
        pikepdf.open(
            file, access_mode=pikepdf.AccessMode.mmap, inherit_page_attributes=False
        ) as pdf,
    ):
        yield pdf


def extract_pdf(data: bytes, limits: Limits) -> Extracted:
    if not _eof_present(data):
        raise Refusal("FILE_CORRUPT", "PDF-filen er avkortet eller skadet (mangler filslutt).")
    return _read(data, lambda pdf: _extract(pdf, limits, data))


_T = TypeVar("_T")


def _read(
    data: bytes,
    read: Callable[[pikepdf.Pdf], _T],
    encrypted: str | None = None,
    unopened: _T | None = None,
) -> _T:
    """`read` of the PDF in `data`, every failure a Refusal: FILE_ENCRYPTED (with the message
    `encrypted`), a bomb qpdf stopped named by `_refuse_bomb`, FILE_CORRUPT for the rest. A file
    qpdf cannot open at all gives `unopened` when that is given."""
    _refuse_unbounded_filters(data)
    opened = False
    try:
        with _open(data) as pdf:
            opened = True
            if pdf.is_encrypted:
                raise Refusal("FILE_ENCRYPTED", encrypted)
            try:
                out = read(pdf)
            except Exception:  # a form that could not be read because qpdf stopped a bomb
                _refuse_bomb(pdf)
                raise
            _refuse_bomb(pdf)
            return out
    except Refusal:
        raise
    except pikepdf.PasswordError as exc:
        raise Refusal("FILE_ENCRYPTED", encrypted) from exc
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise Refusal("FILE_CORRUPT") from exc
    except Exception as exc:  # qpdf reports hostile input in many ways; none may escape
        if not opened and unopened is not None:
            return unopened
        raise Refusal("FILE_CORRUPT") from exc


def _refuse_bomb(pdf: pikepdf.Pdf) -> None:
    """A stream qpdf stopped decoding at `DECODE_LIMIT` is a decompression bomb, not a form; an
    object it gave up reading at one of its limits (a dictionary of too many entries, too deep
    nesting) was read as null, and whatever it held was never searched for identity."""
    warnings = pdf.get_warnings()
    if any("memory limit exceeded" in w for w in warnings):
        raise Refusal(
            "FILE_CORRUPT",
            f"PDF-filen inneholder data som pakkes ut til mer enn {DECODE_LIMIT // 2**20} MiB.",
        )
    if any("limits error" in w for w in warnings):
        raise Refusal(
            "FILE_CORRUPT",
            "PDF-filen har en liste eller ordbok som er større eller dypere enn tjenesten leser.",
        )


def _check_object_streams(pdf: pikepdf.Pdf) -> None:
    """FILE_CORRUPT when the object streams of `pdf` decode to more than OBJECT_STREAMS_LIMIT
    together. Only a file with a cross-reference stream (or one qpdf had to reconstruct) can have
    them, so a classic file costs one look at its trailer; the decoded bytes are counted and
    dropped, never parsed."""
    trailer = pdf.trailer
    if _W not in trailer and _XREF_STM not in trailer and not pdf.get_warnings():
        return
    numbers = {e.obj_stream_number for e in pdf.get_xref_table().values() if e.type == 2}
    total = 0
    for number in sorted(numbers):
        stream = pdf.get_object(number, 0)
        if isinstance(stream, Stream):
            total += len(_bounded(stream).read_bytes())
        if total > OBJECT_STREAMS_LIMIT:
            raise Refusal(
                "FILE_CORRUPT",
                "PDF-filen har mer innhold i objektstrømmer enn tjenesten leser (mer enn "
                f"{OBJECT_STREAMS_LIMIT // 2**20} MiB utpakket). Bruk den utfyllbare PDF-malen "
                "fra Nye metoder.",
            )


def _extract(pdf: pikepdf.Pdf, limits: Limits, data: bytes) -> Extracted:
    _check_object_streams(pdf)
    root = pdf.Root
    out = Extracted(kind="pdf")
    handled: set[tuple[int, int]] = set()  # streams already decoded and searched
    _metadata(pdf, root, out, handled)
    acro = root.get("/AcroForm")
    fields = acro.get("/Fields") if isinstance(acro, Dictionary) else None
    if not isinstance(fields, Array) or len(fields) == 0:
        if isinstance(acro, Dictionary) and "/XFA" in acro:
            raise Refusal(
                "FILE_NO_FORM_FIELDS",
                "PDF-filen er et XFA-skjema uten vanlige skjemafelt. Bruk den utfyllbare "
                "PDF-malen fra Nye metoder.",
            )
        raise Refusal("FILE_NO_FORM_FIELDS")
    _check_pages(pdf, limits)
    _walk(fields, "", None, None, 0, 0, set(), out, limits, [0])
    if not out.fields:
        raise Refusal("FILE_NO_FORM_FIELDS")
    if _XFA in acro:
        _xfa(acro.get("/XFA"), out, limits, handled)
    files = AttachedFiles(limits, nested_pdf_texts)
    attachments = _Attachments(pdf, root, out, files, 1)
    attachments.search()
    _Sweep(files, 1).file(data, pdf, out, handled | attachments.seen)
    return out


def _check_pages(pdf: pikepdf.Pdf, limits: Limits) -> None:
    if len(pdf.pages) > limits.max_pages:
        raise Refusal("FILE_TOO_LARGE", f"PDF-filen har mer enn {limits.max_pages} sider.")


def nested_pdf_texts(data: bytes, files: AttachedFiles, level: int) -> list[str]:
    """The texts of a PDF inside an uploaded file (attached to a PDF, or a part of an Office
    package) at `level`, for the identity guard: its field values and names, its metadata (machine
    ids left out, as in an embedded object's properties) and its own attached files, which share
    the budget of `files`. Nothing when qpdf cannot open it at all (the caller searches its bytes
    raw); a Refusal as at the top when it is encrypted, a bomb or broken beyond that."""
    return _read(
        data, lambda pdf: _nested(pdf, files, level, data), _ENCRYPTED_ATTACHMENT, unopened=[]
    )


def attached_file_texts(data: bytes, name: str, limits: Limits) -> list[str]:
    """The texts of one file attached to a PDF (`data` its decoded bytes, `name` its file name),
    searched by its content: a ZIP as a package (an XLSX, a DOCX, or an archive whose entries are
    searched as files), an OLE compound file raw (FILE_ENCRYPTED when it is an encrypted Office
    file), a PDF by its fields, metadata and attached files, text (HTML, XML, MHT, RTF, CSV, plain
    text: by its name or its content) with its markup removed, anything else raw."""
    files = AttachedFiles(limits, nested_pdf_texts)
    files.admit()
    return files.texts(data, name)


def _nested(pdf: pikepdf.Pdf, files: AttachedFiles, level: int, data: bytes) -> list[str]:
    limits = files.limits
    _check_object_streams(pdf)
    root = pdf.Root
    out = Extracted(kind="pdf")
    handled: set[tuple[int, int]] = set()
    _metadata(pdf, root, out, handled)
    acro = root.get("/AcroForm") if _ACRO_FORM in root else None
    fields = acro.get("/Fields") if isinstance(acro, Dictionary) and _FIELDS in acro else None
    if isinstance(fields, Array):
        _walk(fields, "", None, None, 0, 0, set(), out, limits, [0])
    if isinstance(acro, Dictionary) and _XFA in acro:
        _xfa(acro.get("/XFA"), out, limits, handled)
    _check_pages(pdf, limits)
    attachments = _Attachments(pdf, root, out, files, level)
    attachments.search()
    _Sweep(files, level).file(data, pdf, out, handled | attachments.seen)
    texts = [without_machine_ids(t) if kind == "metadata" else t for kind, t in out.texts]
    texts.extend(t for value in out.fields.values() for t in value_texts(value))
    return texts


# Every pikepdf call costs a crossing into C++ (a few thousand instructions), and `get` of an
# absent key costs ten times that: pikepdf raises and catches a C++ exception inside. So a key
# that is often absent is tested with `in` first (cheapest with a prebuilt Name; `get` is
# cheapest with a str), a key that is almost always there is read straight away, each node is
# read once, and a key whose value cannot change the result is not read.
_T = Name("/T")
_W = Name("/W")
_XREF_STM = Name("/XRefStm")
_KIDS = Name("/Kids")
_NAMES = {key: Name(key) for key in ("/FT", "/Ff", "/V")}
_INFO = Name("/Info")
_METADATA = Name("/Metadata")
_ACRO_FORM = Name("/AcroForm")
_FIELDS = Name("/Fields")
_DIRECT = (0, 0)  # the objgen of a direct object


def _walk(
    kids: Array,
    prefix: str,
    ft: str | None,
    inherited_v: object | None,
    flags: int,
    depth: int,
    seen: set[tuple[int, int]],
    out: Extracted,
    limits: Limits,
    visits: list[int],
) -> None:
    if depth > limits.max_depth:
        raise Refusal("FILE_CORRUPT", "PDF-filen har for dypt nestede skjemafelt.")
    _visit(kids, visits, limits)
    fields = out.fields
    texts = out.texts
    known = all_field_ids()
    for node in kids:
        if not isinstance(node, Dictionary):
            continue
        key = node.objgen
        if key != _DIRECT:
            if key in seen:
                continue  # a cycle or a widget listed twice
            seen.add(key)
        t = node.get("/T")
        name = prefix
        if t is not None:
            part = str(t)
            name = f"{prefix}.{part}" if prefix else part
            if part not in known:  # names are searched too, as a JSON key is (not our ids)
                texts.append(("document", part))
        if _KIDS in node:
            children = node.get("/Kids")
            # Named kids make this a parent; a field's widgets have no /T. (Iterated lazily, not
            # copied to a list, and counted first: a hostile /Kids may hold millions of
            # references.)
            parent = False
            if isinstance(children, Array):
                _visit(children, visits, limits)
                parent = any(isinstance(k, Dictionary) and _T in k for k in children)
            if parent:
                node_ft, node_flags, node_v = _inheritable(
                    node, t is not None, ft, flags, inherited_v, guarded=True, terminal=False
                )
                _walk(
                    children,
                    name,
                    node_ft,
                    node_v,
                    node_flags,
                    depth + 1,
                    seen,
                    out,
                    limits,
                    visits,
                )
                continue
            if t is None or not name:
                continue  # a bare widget: its field was recorded by the parent
            # A terminal field with its widgets as kids (PyMuPDF): /V is often absent.
            node_ft, node_flags, node_v = _inheritable(
                node, True, ft, flags, inherited_v, guarded=True, terminal=True
            )
        elif t is None or not name:
            continue
        else:  # a field merged with its widget: /FT, /Ff and /V are almost always there
            node_ft, node_flags, node_v = _inheritable(
                node, True, ft, flags, inherited_v, guarded=False, terminal=True
            )
        if node_ft == "/Btn" and node_flags & _PUSHBUTTON:
            continue
        if node_ft is None and node_v is None:
            continue  # a pure container with no kids
        if len(fields) >= limits.max_fields:
            raise Refusal(
                "FILE_TOO_LARGE", f"PDF-filen har mer enn {limits.max_fields} skjemafelt."
            )
        value = _value(node_ft, node_flags, node_v)
        if isinstance(value, str) and len(value) > limits.max_text_chars:
            value = value[: limits.max_text_chars + 1]
        fields[name] = value


def _visit(array: Array, visits: list[int], limits: Limits) -> None:
    """Count the entries of a /Fields or /Kids array before they are read: all that are read
    together may be ten times `max_fields`. Entries that point to one field again are skipped
    cheaply, but each still costs a crossing into qpdf: 2 million of them took 3 s."""
    visits[0] += len(array)
    if visits[0] > 10 * limits.max_fields:
        raise Refusal("FILE_TOO_LARGE", f"PDF-filen har mer enn {limits.max_fields} skjemafelt.")


def _inheritable(
    node: Dictionary,
    named: bool,
    ft: str | None,
    flags: int,
    inherited_v: object | None,
    *,
    guarded: bool,
    terminal: bool,
) -> tuple[str | None, int, object | None]:
    """The field type, flags and value of `node`, each inherited from the parent when absent
    (`/V` only by a node with a `/T`). A PDF null `/FT` counts as absent; a null `/Ff` means no
    flags and a null `/V` no value. The flags of a `terminal` field matter only for a button
    (radio, pushbutton): a text or choice field's `/Ff` is not read, and its flags are 0."""
    node_ft = _entry(node, "/FT", None, guarded)
    node_ft = str(node_ft) if node_ft is not None else ft
    if terminal and node_ft != "/Btn":
        node_flags = 0
    else:
        node_flags = _entry(node, "/Ff", flags, guarded)
        node_flags = int(node_flags) if isinstance(node_flags, int) else 0
    node_v = _entry(node, "/V", inherited_v, guarded) if named else inherited_v
    return node_ft, node_flags, node_v


def _entry(node: Dictionary, key: str, default: object, guarded: bool) -> object:
    """`node[key]` (None for a PDF null), or `default` when the key is absent. `guarded` tests
    with `in` first: cheaper where the key is often absent."""
    if guarded:
        return node.get(key) if _NAMES[key] in node else default
    return node.get(key, default)


def _metadata(
    pdf: pikepdf.Pdf, root: Dictionary, out: Extracted, handled: set[tuple[int, int]]
) -> None:
    trailer = pdf.trailer
    info = trailer.get("/Info") if _INFO in trailer else None
    if isinstance(info, Dictionary):
        for value in info.values():
            if value is not None:
                out.texts.append(("metadata", str(value)))
    xmp = root.get("/Metadata") if _METADATA in root else None
    if isinstance(xmp, Stream):
        handled.add(xmp.objgen)
        _bounded(xmp)
        try:
            raw = xmp.read_bytes()
        except Exception as exc:  # its bytes are in the file, unsearched: refused, not skipped
            raise Refusal("FILE_CORRUPT", "Metadataene i PDF-filen (XMP) kan ikke leses.") from exc
        out.texts.append(("metadata", raw[:_XMP_CHARS].decode("utf-8", "replace")))


# ---- files the PDF carries -------------------------------------------------------------------

_NAME_TREE = Name("/Names")  # a catalogue's name dictionary, and a name tree node's pairs
_EMBEDDED_FILES = Name("/EmbeddedFiles")
_AF = Name("/AF")
_ANNOTS = Name("/Annots")
_FS = Name("/FS")
_EF = Name("/EF")
_PARAMS = Name("/Params")
_SIZE = Name("/Size")
_FILTER = Name("/Filter")
_CONTENTS = Name("/Contents")
_RC = Name("/RC")
_XFA = Name("/XFA")
# The texts of a file specification: its file names (/UF first: the name a reader shows) and its
# description.
_SPEC_NAMES = tuple(Name(k) for k in ("/UF", "/F", "/DOS", "/Mac", "/Unix"))
_DESC = Name("/Desc")
# Filters whose decoding qpdf holds to `DECODE_LIMIT` (flate, run length; PNG and TIFF predictors)
# or that only shrink (hex, ASCII85), with the abbreviations qpdf accepts. Not LZW: qpdf has no
# limit for it, and a few KiB of LZW decode to megabytes.
_BOUNDED_FILTERS = frozenset(
    (
        "/FlateDecode",
        "/Fl",
        "/RunLengthDecode",
        "/RL",
        "/ASCIIHexDecode",
        "/AHx",
        "/ASCII85Decode",
        "/A85",
    )
)
_ENCRYPTED_ATTACHMENT = (
    "En PDF-fil som ligger i dokumentet, er passordbeskyttet eller kryptert, og kan derfor ikke "
    "kontrolleres. Fjern den eller fjern passordet, og send på nytt."
)


def _attachment_refusal(code: str, what: str) -> Refusal:
    return Refusal(
        code, f"En fil som er lagt ved PDF-filen, {what} Fjern vedlegget og send på nytt."
    )


# What a refusal says of a stream the guard would have to decode beyond `DECODE_LIMIT`.
_TOO_LARGE = f"er større enn {DECODE_LIMIT // 2**20} MiB og kan ikke kontrolleres."


def _xfa(xfa: object, out: Extracted, limits: Limits, handled: set[tuple[int, int]]) -> None:
    """The XFA packets of a hybrid form (an XFA form that has AcroForm fields too): its data
    packet holds every value of the form, also of fields the AcroForm lacks, and its template
    the form's texts. Read as one XML document (the packets are its pieces, in order), each
    element's text searched as text of the document; as text with the markup removed when
    they are no such document. Within `DECODE_LIMIT` together, through bounded filters."""
    if isinstance(xfa, Stream):
        packets = [xfa]
    elif isinstance(xfa, Array):
        if len(xfa) > 2 * limits.max_fields:
            raise _xfa_refusal("FILE_TOO_LARGE", "har flere deler enn tjenesten leser.")
        packets = [p for p in xfa.as_list()[1::2] if isinstance(p, Stream)]
    else:
        return
    chunks: list[bytes] = []
    total = 0
    for packet in packets:
        handled.add(packet.objgen)
        chunk = _decoded(packet, _xfa_refusal)
        total += len(chunk)
        if total > DECODE_LIMIT:
            raise _xfa_refusal("FILE_TOO_LARGE", _TOO_LARGE)
        chunks.append(chunk)
    data = b"".join(chunks)
    try:
        texts = tree_texts(parse_xml(data, limits.max_depth))
    except Refusal:  # broken, nested too deep, or a DTD (never expanded): read as text
        texts = markup_texts(decode_text(data))
    out.texts.extend(("document", t) for t in texts)


def _xfa_refusal(code: str, what: str) -> Refusal:
    return Refusal(
        code,
        f"XFA-delen av PDF-skjemaet {what} Bruk den utfyllbare PDF-malen fra Nye metoder.",
    )


def _comment_refusal(code: str, what: str) -> Refusal:
    return Refusal(
        code, f"Teksten i en kommentar i PDF-filen {what} Fjern kommentaren og send på nytt."
    )


class _Attachments:
    """The search of the files one PDF carries, into `out.texts` as "embedded", and of the
    texts of its comments (annotations other than attachments: notes, text boxes, the notes of
    markup), as "comment".

    Bounded like the field walk: the entries of every name tree node, /AF array and /Annots array
    read are counted before they are read, against ten times `Limits.max_fields` for all PDFs of
    the upload together (FILE_TOO_LARGE); a name tree node is visited once (a /Kids cycle ends
    there) and at most `Limits.max_depth` deep (FILE_CORRUPT); a file specification and an
    embedded file stream are read once however often they are listed. Each file's stream is
    decoded only when its declared sizes (/Length, /Params /Size) are within `DECODE_LIMIT`
    (FILE_TOO_LARGE) and its filters are bounded (FILE_CORRUPT); qpdf stops a bomb at
    `DECODE_LIMIT` (FILE_CORRUPT, `_refuse_bomb`), and a stream it cannot decode is FILE_CORRUPT:
    its bytes are in the file, unsearched. `AttachedFiles` counts the files and their bytes.

    A PDF without any costs a look at the catalogue and at every annotation of every page (a
    form's /Annots are its widgets): one test for /FS in qpdf each, the cheapest look pikepdf
    offers (0.5 µs). Our Del 2 (51 widgets on 4 pages) pays about 70 µs, 3 % of its check.
    Measured and not cheaper: qpdf's widget list per page (`AcroForm`, 150 µs), the arrays
    unparsed and their references compared with the fields already read (70 µs), a search of
    the file's bytes for /EF (100 µs, and blind in object streams)."""

    def __init__(
        self, pdf: pikepdf.Pdf, root: Dictionary, out: Extracted, files: AttachedFiles, level: int
    ) -> None:
        self.pdf = pdf
        self.root = root
        self.texts = out.texts
        self.files = files
        self.limits = files.limits
        self.level = level
        self.seen: set[tuple[int, int]] = set()

    def search(self) -> None:
        root = self.root
        if _NAME_TREE in root:
            names = root.get("/Names")
            if isinstance(names, Dictionary) and _EMBEDDED_FILES in names:
                self.name_tree(names.get("/EmbeddedFiles"))
        if _AF in root:
            self.specs(root.get("/AF"))
        for page in self.pdf.pages:
            obj = page.obj
            if _ANNOTS in obj:
                annots = obj.get("/Annots")
                if isinstance(annots, Array):
                    self.count(len(annots))
                    for annot in annots.as_list():
                        try:
                            attached = _FS in annot
                        except (TypeError, ValueError):  # not a dictionary (nor a stream)
                            continue
                        if attached:
                            self.spec(annot.get("/FS"))
                            if _CONTENTS in annot:  # the description a reader shows
                                self.text(annot.get("/Contents"))
                            continue
                        # a comment: a note, a text box, the note of a highlight ...
                        if _CONTENTS in annot:
                            self.comment(annot.get("/Contents"))
                        if _RC in annot:  # its rich text (XHTML), as a string or a stream
                            self.comment(annot.get("/RC"))
            if _AF in obj:
                self.specs(obj.get("/AF"))

    def count(self, entries: int) -> None:
        files = self.files
        files.entries += entries
        limit = 10 * self.limits.max_fields
        if files.entries > limit:
            raise Refusal(
                "FILE_TOO_LARGE",
                "PDF-filen har flere vedlegg og merknader enn tjenesten leser (mer enn "
                f"{thousands(limit)}).",
            )

    def once(self, obj: pikepdf.Object) -> bool:
        """True the first time an indirect object is met (a direct one every time)."""
        key = obj.objgen
        if key == _DIRECT:
            return True
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def text(self, value: object) -> None:
        if isinstance(value, String):
            self.texts.append(("embedded", str(value)))

    def comment(self, value: object) -> None:
        """The text of a comment: a string, or a stream decoded within `DECODE_LIMIT`; as
        written and with its markup removed."""
        if isinstance(value, Stream) and self.once(value):
            text = decode_text(_decoded(value, _comment_refusal))
        elif isinstance(value, String):
            text = str(value)
        else:
            return
        self.texts.extend(("comment", t) for t in markup_texts(text))

    def name_tree(self, top: object) -> None:
        """Every value of a name tree, its keys searched as texts (often the file's name)."""
        stack = [(top, 0)]
        while stack:
            node, depth = stack.pop()
            if not isinstance(node, Dictionary) or not self.once(node):
                continue
            if depth > self.limits.max_depth:
                raise Refusal(
                    "FILE_CORRUPT",
                    "Listen over filer som er lagt ved PDF-filen, er for dypt nestet.",
                )
            if _NAME_TREE in node:
                pairs = node.get("/Names")
                if isinstance(pairs, Array):
                    self.count(len(pairs))
                    items = pairs.as_list()
                    for i in range(0, len(items) - 1, 2):
                        self.text(items[i])
                        self.spec(items[i + 1], items[i])
            if _KIDS in node:
                kids = node.get("/Kids")
                if isinstance(kids, Array):
                    self.count(len(kids))
                    stack.extend((kid, depth + 1) for kid in kids.as_list())

    def specs(self, array: object) -> None:
        """The file specifications of an /AF array (PDF 2.0 associated files)."""
        if isinstance(array, Array):
            self.count(len(array))
            for spec in array.as_list():
                self.spec(spec)

    def spec(self, spec: object, key: object = None) -> None:
        """A file specification: a string is a file name; a dictionary gives its names, its
        description and its embedded file streams (/EF)."""
        if isinstance(spec, String):
            self.text(spec)
            return
        if not isinstance(spec, Dictionary) or not self.once(spec):
            return
        name = ""  # the first of its file names, else its key in the name tree
        for entry in _SPEC_NAMES:
            if entry in spec:
                value = spec.get(entry)
                if isinstance(value, String):
                    self.text(value)
                    name = name or str(value)
        if not name and isinstance(key, String):
            name = str(key)
        if _DESC in spec:
            self.text(spec.get("/Desc"))
        if _EF not in spec:
            return
        streams = spec.get("/EF")
        if not isinstance(streams, Dictionary):
            return
        self.count(len(streams))
        for stream in streams.values():
            if isinstance(stream, Stream) and self.once(stream):
                self.files.admit()
                data = self.decoded(stream)
                self.texts.extend(("embedded", t) for t in self.files.texts(data, name, self.level))

    def decoded(self, stream: Stream) -> bytes:
        """The bytes of an embedded file stream, decoded within `DECODE_LIMIT`."""
        return _decoded(stream, _attachment_refusal)


def _decoded(stream: Stream, refusal: Callable[[str, str], Refusal]) -> bytes:
    """The bytes of a stream the identity guard searches (an attached file, a comment's rich
    text), decoded within `DECODE_LIMIT`; `refusal(code, what)` names what could not be read."""
    params = stream.get("/Params") if _PARAMS in stream else None
    size = params.get("/Size") if isinstance(params, Dictionary) and _SIZE in params else None
    for declared in (size, stream.get("/Length")):
        if isinstance(declared, int) and declared > DECODE_LIMIT:
            raise refusal("FILE_TOO_LARGE", _TOO_LARGE)
    if not _filters_bounded(stream):
        raise refusal(
            "FILE_CORRUPT",
            "er komprimert på en måte tjenesten ikke leser, og kan derfor ikke kontrolleres.",
        )
    try:
        data = stream.read_bytes()
    except Exception as exc:  # a bomb qpdf stopped is named by `_refuse_bomb`
        raise refusal("FILE_CORRUPT", "kan ikke leses (skadet innhold).") from exc
    if len(data) > DECODE_LIMIT:  # stored, with a /Length that lied
        raise refusal("FILE_TOO_LARGE", _TOO_LARGE)
    return data


# ---- every object of every revision (FORMS.md section 6, rule 1) -------------------------------
#
# The walks above read the places a form is known to keep text. An attacker keeps the number
# anywhere else: a default value, a tooltip, an option list, a checkbox state name, a field
# name, an outline, a script, /PieceInfo, /Lang, an object nothing refers to, or a revision an
# incremental save left behind. No list of places is complete, so `_Sweep` reads the container
# itself: every object qpdf lists for each revision, and the objects of the raw bytes that no
# cross-reference section lists at all.
#
# qpdf does the work per object: `to_json` writes an object in qpdf's JSON (version 2), where a
# text string is "u:<text>" (decoded from PDFDocEncoding or UTF-16BE; literal, hex and octal
# escapes resolved), a binary string "b:<hex>", a name or key "/<name>" (#xx decoded), a name
# that is no UTF-8 "n:/<name>". The JSON of all objects is split at its quotes (in C; by a
# regular expression when a string holds an escaped quote), a set drops repeats, `json.loads`
# decodes the rest in one call: no Python step per PDF object or string in the common case.
# Numbers of eleven digits or more are taken too (an integer /MaxLen), found in C first.
#
# qpdf decodes a UTF-16 string with a lone surrogate without a word (it drops a high surrogate
# and reads a low one as its low ten bits), so those are checked from the raw string: only in
# the objects that have a text string, and only when the file may hold a UTF-16 string at all
# (`_utf16_possible`: in a file without object streams, two searches of the raw bytes settle
# it). Not valid Unicode is FILE_CORRUPT (FORMS.md 6 rule 2).
#
# Streams: page content streams, appearance streams and other form XObjects, images, fonts,
# CMaps, colour profiles, functions, shadings, object and cross-reference streams are drawn or
# binary and not searched (FORMS.md 6: "Text drawn on a PDF page or in an appearance stream
# ... is not searched"). Every other stream is decoded within `DECODE_LIMIT` through bounded
# filters and searched: XMP packets as metadata, embedded files by `AttachedFiles`, the rest
# (scripts, XFA packets, rich text, private application data, unknown streams) as text.
#
# Revisions: the bytes up to each `%%EOF` before the last are the file as an earlier save left
# it, and qpdf opens them as a PDF of their own (at most `MAX_REVISIONS` of them). Objects in
# the raw bytes that no revision's cross-reference section lists ("N 0 obj" after garbage)
# are cut out, renumbered into a small PDF of their own and read by qpdf the same way.
#
# Each text is handed to the guard once: what the field walk, the metadata, the XFA packets,
# comments and attachments already gave is left out, the rest of the current revision goes in
# as "package", what only an earlier revision holds as "revision". The strings are joined with
# NUL, which no normalisation turns into a separator between digits.

MAX_REVISIONS = 32
# Objects read in all (every revision and the unlisted ones together). A filled Del 2 has 172.
MAX_OBJECTS = 200_000
# The bytes of one revision's objects outside their streams (ours: 50 KB). qpdf holds each item
# of an array or dictionary in about 140 bytes, so reading every object of a file, as the sweep
# does, could take gigabytes from 20 MiB of "/a 1" (16 MiB took 1 GiB and 3.5 s): like the object
# streams (`OBJECT_STREAMS_LIMIT`), 1 MiB at most, counted in the raw bytes before qpdf parses
# them. A file no larger than that is not counted.
OBJECT_BYTES_LIMIT = 1024 * 1024
_JOIN = "\x00"
# Document JavaScript writes a string as escapes ("\x30", "\u0030", "\u{30}", "\060") or as
# literals joined by "+": a script shows the number it spells out, so such a text is searched a
# second time as the script reads it (`_script_reading`).
_SCRIPT_JOIN = re.compile(r"""["'`]\s*\+\s*["'`]""")
_SCRIPT_ESCAPE = re.compile(
    r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|u\{([0-9A-Fa-f]{1,5})\}|([0-7]{1,3}))"
)

_JSON_STRING = re.compile(rb'"([^"\\]*(?:\\.[^"\\]*)*)"')
_ODD_STRINGS = (b"b:", b"n:")  # a binary string, a name that is no UTF-8
_LONG_NUMBER = re.compile(rb"[0-9][0-9.]{10,}")
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789.", b"0" * 11)
_ELEVEN = b"0" * 11
_JSON_REF = re.compile(rb'"(\d+) (\d+) R"')
# Streams whose own dictionary says they are drawn or binary.
_DRAWN_STREAM = re.compile(
    rb'"/(?:Subtype": "/(?:Form|Image|Type1C|CIDFontType0C|OpenType|PS)"'
    rb'|Type": "/(?:XObject|ObjStm|XRef|Pattern|CMap)"'
    rb'|Length[123]"|FunctionType"|ShadingType"|PatternType")'
)
# Streams drawn or binary by the key that refers to them: page contents (a single stream or an
# array), font programs, CMaps, colour profiles, thumbnails.
# And embedded files: the values of an /EF dictionary (group 1).
_ROLE = re.compile(
    rb'"/(?:(EF": \{[^{}]*\})|(?:Contents|FontFile[23]?|ToUnicode|Thumb|DestOutputProfile'
    rb'|CIDToGIDMap|CIDSet)": (?:"\d+ \d+ R"|\[[^\]]*\])|ICCBased",\s*"\d+ \d+ R")'
)
_METADATA_STREAM = re.compile(rb'"/(?:Type": "/Metadata"|Subtype": "/XML")')
_EMBEDDED_STREAM = b'"/Type": "/EmbeddedFile"'
_OBJ_HEADER = re.compile(rb"(?<![0-9])(\d{1,10})[\x00\t\n\f\r ]+(\d{1,5})[\x00\t\n\f\r ]+obj\b")
_EOF_MARK = re.compile(rb"%%EOF")
_SURROGATE = re.compile("[\ud800-\udfff]")  # left alone: a valid pair decodes to one
_UTF16_MARKS = (b"<feff", b"(\xfe\xff", b"(\\376\\377")

_NOT_UNICODE = (
    "PDF-filen har tekst som ikke er gyldig Unicode (et ugyldig tegn i en UTF-16-tekst). "
    "Lagre PDF-filen på nytt, eller bruk den utfyllbare PDF-malen fra Nye metoder."
)


def _package_refusal(code: str, what: str) -> Refusal:
    return Refusal(
        code,
        f"Et objekt i PDF-filen (for eksempel et skript eller skjulte data) {what} "
        "Bruk den utfyllbare PDF-malen fra Nye metoder.",
    )


class _Found:
    """What one revision (or the unlisted objects) holds: its strings and names, and the texts
    of its streams by kind."""

    def __init__(self) -> None:
        self.strings: set[str] = set()
        self.metadata: list[str] = []
        self.embedded: list[str] = []
        self.streams: list[str] = []
        self.count = 0  # the objects qpdf lists


class _Sweep:
    """Every string and name of every object of every revision of one PDF, and the text of its
    text streams, into `Extracted.texts` (see the comment above). Bounded: `MAX_REVISIONS`,
    `MAX_OBJECTS`, `OBJECT_BYTES_LIMIT` per revision (eight times that for all), each stream
    within `DECODE_LIMIT` and all streams read here within `Limits.max_inflated_bytes`;
    embedded files count against `AttachedFiles`."""

    def __init__(self, files: AttachedFiles, level: int) -> None:
        self.files = files
        self.limits = files.limits
        self.level = level
        self.objects = 0
        self.decoded = 0
        self.object_bytes = 0

    def file(
        self, data: bytes, pdf: pikepdf.Pdf, out: Extracted, handled: set[tuple[int, int]]
    ) -> None:
        current = self.revision(pdf, handled, data)
        # As qpdf writes them: a text string with "u:" before it (a name with "/").
        known = {v for v in out.fields.values() if isinstance(v, str)}
        known.update(t for _, t in out.texts)
        known.update(["u:" + t for t in known])
        texts = out.texts
        package = current.strings - known
        package.update(t for t in current.streams if t not in known)
        package = _with_script_readings(package)
        if package:
            texts.append(("package", _JOIN.join(package)))
        texts.extend(("metadata", t) for t in current.metadata)
        texts.extend(("embedded", t) for t in current.embedded)
        offsets: set[int] = set()  # where the listed objects start, from every revision read
        ends = [m.end() for m in _EOF_MARK.finditer(data)][:-1]
        if len(ends) > MAX_REVISIONS:
            raise Refusal(
                "FILE_CORRUPT",
                f"PDF-filen er lagret i flere enn {MAX_REVISIONS} omganger (trinnvis lagring). "
                "Lagre den som en ny fil (Lagre som) og send på nytt.",
            )
        seen = current.strings | known
        seen.update(current.streams)
        older: set[str] = set()
        for end in ends:
            # Bytes qpdf cannot open as a PDF of their own (the first part of a linearized
            # file ends in a %%EOF too) are no revision: their objects are in a later
            # cross-reference section, or they are unlisted and read below.
            raw = data[:end]
            found = _read(raw, lambda p, raw=raw: self.earlier(p, offsets, raw), unopened=_Found())
            older |= found.strings
            older.update(found.streams)
            older.update(without_machine_ids(t) for t in found.metadata)
            older.update(found.embedded)
        older -= seen
        older = _with_script_readings(older)
        if older:
            texts.append(("revision", _JOIN.join(older)))
        # Every object header has one "obj", every "endobj" one more. In a file without object
        # streams qpdf lists as many objects as the headers it has: no need to know where.
        headers = data.count(b"obj") - data.count(b"endobj")
        trailer = pdf.trailer
        classic = _W not in trailer and _XREF_STM not in trailer
        hidden = None
        if ends or not classic or headers > current.count:
            offsets |= self.offsets(pdf)
            hidden = self.unlisted(data, offsets, headers)
        if hidden is not None:
            strings = hidden.strings | set(hidden.streams) | set(hidden.embedded)
            strings -= seen
            strings -= older
            strings = _with_script_readings(strings)
            if strings:
                texts.append(("package", _JOIN.join(strings)))
            texts.extend(("metadata", t) for t in hidden.metadata)

    def earlier(self, pdf: pikepdf.Pdf, offsets: set[int], raw: bytes) -> _Found:
        """An earlier revision (the file up to one of its %%EOF, `raw`): its objects, and
        their offsets added to `offsets`."""
        _check_object_streams(pdf)
        offsets |= self.offsets(pdf)
        return self.revision(pdf, set(), raw)

    def check_object_bytes(self, pdf: pikepdf.Pdf, raw: bytes) -> None:
        """FILE_TOO_LARGE when the objects of this revision take more than OBJECT_BYTES_LIMIT
        bytes in the file (a stream's data not counted), or all revisions read more than eight
        times that. Counted object by object in the order of the file, each parsed by qpdf only
        when the bytes before it are within the limit; the length of a stream's data is the one
        qpdf found."""
        table = pdf.get_xref_table()
        listed = sorted((e.offset, key) for key, e in table.items() if e.type == 1)
        ends = [offset for offset, _ in listed[1:]] + [len(raw)]
        size = 0
        for (start, key), end in zip(listed, ends, strict=True):
            region = end - start
            obj = pdf.get_object(key)
            if isinstance(obj, Stream):
                length = obj.get("/Length")
                region -= length if isinstance(length, int) else 0
            size += max(region, 0)
            if size > OBJECT_BYTES_LIMIT or self.object_bytes + size > 8 * OBJECT_BYTES_LIMIT:
                raise Refusal(
                    "FILE_TOO_LARGE",
                    f"PDF-filens objekter er større enn tjenesten leser (mer enn "
                    f"{OBJECT_BYTES_LIMIT // 2**20} MiB utenom strømmene). Bruk den utfyllbare "
                    "PDF-malen fra Nye metoder.",
                )
        self.object_bytes += size

    @staticmethod
    def offsets(pdf: pikepdf.Pdf) -> set[int]:
        """Where the objects the cross-reference section of `pdf` lists start in the file."""
        return {e.offset for e in pdf.get_xref_table().values() if e.type == 1}

    def revision(self, pdf: pikepdf.Pdf, handled: set[tuple[int, int]], raw: bytes) -> _Found:
        if len(raw) > OBJECT_BYTES_LIMIT:  # a smaller file cannot hold more
            self.check_object_bytes(pdf, raw)
        objects = pdf.objects
        self.objects += len(objects)
        if self.objects > MAX_OBJECTS:
            raise Refusal(
                "FILE_TOO_LARGE",
                f"PDF-filen har flere enn {thousands(MAX_OBJECTS)} objekter. Bruk den utfyllbare "
                "PDF-malen fra Nye metoder.",
            )
        # An indirect number, boolean or null comes as a Python value (a file saved by qpdf's
        # QDF mode has many): kept as text, then dropped unless it is a long number.
        objects = list(objects)
        scalars = [o for o in objects if not isinstance(o, pikepdf.Object)]
        if scalars:
            objects = [o for o in objects if isinstance(o, pikepdf.Object)]
        jsons = [obj.to_json(dereference=True) for obj in objects]
        jsons.extend(str(o).encode() for o in scalars)
        whole = b"\n".join(jsons)
        trailer = pdf.trailer.to_json()  # apart: its /ID is a binary string
        found = _Found()
        found.count = len(jsons)  # the scalars too
        found.strings = _json_texts(whole) | _json_texts(trailer)
        # A stream's dictionary has a /Length (one whose dictionary says it is drawn or binary
        # is left at that); a UTF-16 string is a text string ("u:").
        streams = []
        texts = []
        for obj, own in zip(objects, jsons[: len(objects)], strict=True):
            if b'"/Length"' in own and not _DRAWN_STREAM.search(own) and isinstance(obj, Stream):
                streams.append((obj, own))
            if b'"u:' in own:
                texts.append(obj)
        if b'"u:' in trailer:
            texts.append(pdf.trailer)
        if texts and _utf16_possible(pdf, raw):
            _check_utf16(texts)
        if streams:
            self.streams(pdf, raw, whole, streams, handled, found)
        return found

    def streams(
        self,
        pdf: pikepdf.Pdf,
        raw_file: bytes,
        whole: bytes,
        streams: list[tuple[Stream, bytes]],
        handled: set[tuple[int, int]],
        found: _Found,
    ) -> None:
        binary, embedded = _roles(whole)
        for stream, own in streams:
            key = stream.objgen
            if key in handled or key in binary:
                continue
            if key in embedded or _EMBEDDED_STREAM in own:
                self.files.admit()
                raw = _decoded(stream, _attachment_refusal)
                found.embedded.extend(self.files.texts(raw, "", self.level))
                continue
            # Stored without a filter beyond `DECODE_LIMIT`, its bytes are in the file already:
            # they are searched there, as a binary (its runs of digits), from the object's
            # start to its "endstream" (no copy). Any other stream is decoded within `DECODE_LIMIT`
            # (FILE_TOO_LARGE beyond it).
            length = stream.get("/Length") if b'"/Filter"' not in own else None
            if isinstance(length, int) and length > DECODE_LIMIT:
                entry = pdf.get_xref_table().get(key)
                start = entry.offset if entry is not None and entry.type == 1 else 0
                end = raw_file.find(b"endstream", start + length)  # also if /Length is short
                view = memoryview(raw_file)[start : end if end >= 0 else len(raw_file)]
                found.streams.extend(raw_texts(view))  # type: ignore[arg-type]
                self.decoded += len(view)
                continue
            raw = _decoded(stream, _package_refusal)
            self.decoded += len(raw)
            if self.decoded > self.limits.max_inflated_bytes:
                raise _package_refusal(
                    "FILE_TOO_LARGE",
                    "har mer innhold enn tjenesten leser, og kan derfor ikke kontrolleres.",
                )
            if _METADATA_STREAM.search(own):
                found.metadata.append(raw[:_XMP_CHARS].decode("utf-8", "replace"))
            else:
                found.streams.append(decode_text(raw))

    def unlisted(self, data: bytes, offsets: set[int], headers: int) -> _Found | None:
        """The objects in the raw bytes that no revision's cross-reference section lists (at
        none of `offsets`), read by qpdf from a PDF of their own; None when there are none or
        when there are no more `headers` than listed objects."""
        if headers <= len(offsets):
            return None
        starts = [m for m in _OBJ_HEADER.finditer(data) if m.start() not in offsets]
        if not starts:
            return None
        if self.objects + len(starts) > MAX_OBJECTS:
            raise Refusal(
                "FILE_TOO_LARGE",
                f"PDF-filen har flere enn {thousands(MAX_OBJECTS)} objekter. Bruk den utfyllbare "
                "PDF-malen fra Nye metoder.",
            )
        # Each object renumbered 1, 2, ... with a catalogue and one empty page after them, and a
        # cross-reference table: qpdf reads it as it reads any file.
        out = bytearray(b"%PDF-1.7\n")
        offsets = []
        for number, header in enumerate(starts, 1):
            end = data.find(b"endobj", header.end())
            offsets.append(len(out))
            out += b"%d 0 obj" % number + data[header.end() : end if end >= 0 else len(data)]
            out += b"\nendobj\n"
        root = len(starts) + 1
        for number, body in (
            (root, b"<< /Type /Catalog /Pages %d 0 R >>" % (root + 1)),
            (root + 1, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (root + 2)),
            (root + 2, b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 1 1] >>" % (root + 1)),
        ):
            offsets.append(len(out))
            out += b"%d 0 obj %s endobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        out += b"trailer << /Root %d 0 R /Size %d >>\n" % (root, len(offsets) + 1)
        out += b"startxref\n%d\n%%%%EOF\n" % xref
        synthetic = bytes(out)
        return _read(synthetic, lambda p: self.revision(p, set(), synthetic))


def _script_char(m: re.Match[str]) -> str:
    code = int(next(g for g in m.groups() if g is not None), 8 if m.group(4) is not None else 16)
    return "\ufffd" if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else chr(code)


def _script_reading(text: str) -> str | None:
    """The text as JavaScript reads its string literals (escapes decoded, literals joined by
    "+" joined), when that differs from the text; else None."""
    if "\\" not in text and "+" not in text:
        return None
    out = _SCRIPT_ESCAPE.sub(_script_char, _SCRIPT_JOIN.sub("", text))
    return out if out != text else None


def _with_script_readings(texts: set[str]) -> set[str]:
    """`texts` and the script reading of each that has one."""
    more = {r for t in texts if (r := _script_reading(t)) is not None}
    return texts | more if more else texts


def _json_texts(whole: bytes) -> set[str]:
    """Every JSON string in qpdf JSON, decoded: text strings ("u:..."), names and keys
    ("/..."), references ("N G R"); binary strings ("b:<hex>") decoded as Latin-1 instead (their
    digits are digits), names that are no UTF-8 ("n:/...") also with their #xx escapes decoded;
    and the numbers of eleven or more digits (with dots)."""
    pieces = whole.split(b'"')
    unique = set(pieces[1::2])
    # The rare strings: binary, a name that is no UTF-8, and one that ends in a backslash (an
    # escaped quote split it: then its strings are found by a regular expression instead).
    odd = [s for s in unique if s[:2] in _ODD_STRINGS or s[-1:] == b"\\"]
    if any(s[-1:] == b"\\" for s in odd):
        unique = set(_JSON_STRING.findall(whole))
        between = _JSON_STRING.sub(b"\n", whole)
        odd = [s for s in unique if s[:2] in _ODD_STRINGS]
    else:
        between = b"\n".join(pieces[0::2])
    out: set[str] = set()
    for raw in odd:
        if raw[:2] == b"b:":  # its hex digits are no text
            unique.discard(raw)
            out.add(bytes.fromhex(raw[2:].decode()).decode("latin-1"))
        else:
            name = json.loads(b'"' + raw[3:] + b'"').encode("utf-8", "surrogateescape")
            out.add(_unescaped(name).decode("latin-1"))
    if unique:
        out.update(json.loads(b'["' + b'","'.join(unique) + b'"]'))
    # Numbers long enough to hold one (an integer /MaxLen of eleven digits): found in C first.
    if _ELEVEN in between.translate(_DIGITS_AS_ZERO):
        out.update(n.decode() for n in _LONG_NUMBER.findall(between))
    # each is one string: a NUL in it joins its neighbours (`identity.one_text`); only between
    # the strings, where the sweep puts it (`_JOIN`), is NUL a boundary
    if any("\x00" in t for t in out):
        out = {one_text(t) for t in out}
    return out


def _roles(whole: bytes) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """The objects qpdf JSON refers to by a key that makes them drawn or binary, and those it
    refers to as embedded files (`_ROLE`)."""
    binary: set[tuple[int, int]] = set()
    embedded: set[tuple[int, int]] = set()
    for match in _ROLE.finditer(whole):
        refs = _JSON_REF.findall(match.group())
        (embedded if match.group(1) else binary).update((int(n), int(g)) for n, g in refs)
    return binary, embedded


# How a string that starts with the UTF-16 byte order mark (FE FF) can be written in a file:
# hex, any case, white space anywhere; literal, each byte raw or as an octal escape, line
# continuations anywhere.
_WS = rb"[\x00\t\n\f\r ]*"
_UTF16_HEX = re.compile(rb"<" + _WS + rb"[fF]" + _WS + rb"[eE]" + _WS + rb"[fF]" + _WS + rb"[fF]")
_CONTINUED = rb"(?:\\\r?\n|\\\r)*"
_UTF16_LITERAL = re.compile(
    rb"\(" + _CONTINUED + rb"(?:\xfe|\\376)" + _CONTINUED + rb"(?:\xff|\\377)"
)


def _utf16_possible(pdf: pikepdf.Pdf, raw: bytes) -> bool:
    """Whether `pdf` may hold a UTF-16 string. No, when the file has no object streams (every
    string is written in its bytes `raw`) and no string in them starts
    with the byte order mark in any way it can be written: two searches in C (0.1 ms for our
    Del 2) instead of writing out every object with a text string (0.4 ms)."""
    trailer = pdf.trailer  # (not `get_warnings`: it empties the list `_refuse_bomb` reads)
    if _W in trailer or _XREF_STM in trailer:
        return True
    return bool(_UTF16_HEX.search(raw) or _UTF16_LITERAL.search(raw))


def _check_utf16(objects: list[pikepdf.Object]) -> None:
    """FILE_CORRUPT when a UTF-16 string of these objects is not valid Unicode (a lone
    surrogate, which qpdf drops silently). qpdf writes a string that starts with the UTF-16 byte
    order mark as hex ("<feff...") or as a literal with the two bytes raw (tested; octal escapes
    are looked for too); only the objects that have one are walked, in Python."""
    written = [
        o.stream_dict.unparse() if isinstance(o, Stream) else o.unparse(True) for o in objects
    ]
    together = b"".join(written)
    if not any(mark in together for mark in _UTF16_MARKS):
        return
    for obj, own in zip(objects, written, strict=True):
        if any(mark in own for mark in _UTF16_MARKS):
            stack: list[object] = [obj.stream_dict if isinstance(obj, Stream) else obj]
            while stack:
                item = stack.pop()
                if isinstance(item, String):
                    raw = bytes(item)
                    if raw[:2] == b"\xfe\xff":
                        units = raw[2 : len(raw) - len(raw) % 2]
                        if _SURROGATE.search(units.decode("utf-16-be", "surrogatepass")):
                            raise Refusal("FILE_CORRUPT", _NOT_UNICODE)
                elif isinstance(item, (Dictionary, Array)):
                    values = item.values() if isinstance(item, Dictionary) else item
                    stack.extend(
                        v
                        for v in values
                        if isinstance(v, (String, Dictionary, Array)) and not v.is_indirect
                    )
