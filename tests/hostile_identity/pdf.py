"""Hostile PDFs: a validly filled Del 2 with a synthetic identity number in one place the field
walk does not read (FORMS.md section 6 rule 1, issue #10).

Every file starts from the project's own template, filled with `tests.fillers.sample_values`
(accepted as it is), and is then changed with pikepdf in exactly one place. Incremental updates
(an earlier revision, an object only the last update lists, an object no cross-reference section
lists) are appended by hand: new objects, a cross-reference section and a trailer with /Prev,
as a PDF editor saves a correction. `near_misses()` puts an eleven-digit number that fails the
control digits in the same places: those files must not be refused for identity.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable
from datetime import date
from functools import cache

import pikepdf
from pikepdf import Array, Dictionary, Name, String

from forms.templates import build
from tests.fillers import sample_values, synthetic_fodselsnummer
from tests.hostile_identity import HostileCase

Builder = Callable[[str], bytes]


@cache
def _base() -> bytes:
    return build("tilgang-del2", "pdf", sample_values("tilgang-del2"))


def _edit(change: Callable[[pikepdf.Pdf], None], **save: object) -> bytes:
    with pikepdf.open(io.BytesIO(_base())) as pdf:
        change(pdf)
        out = io.BytesIO()
        pdf.save(out, **save)
        return out.getvalue()


def _field(pdf: pikepdf.Pdf, name: str) -> Dictionary:
    for field in pdf.Root.AcroForm.Fields:
        if str(field.get("/T", "")) == name:
            return field
    raise KeyError(name)


def _utf16(text: str) -> String:
    return String(b"\xfe\xff" + text.encode("utf-16-be"))


# ---- incremental updates, appended by hand ----------------------------------------------------

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


def _append(data: bytes, objects: dict[int, bytes], hidden: bytes = b"") -> bytes:
    """`data` with an incremental update: `objects` (number -> body in PDF syntax, generation 0)
    listed in a new cross-reference section whose trailer points back with /Prev; `hidden`
    bytes are written before them and listed nowhere."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.trailer.Root.objgen[0]
        info = pdf.trailer.Info.objgen[0]
        size = int(pdf.trailer.Size)
    prev = _STARTXREF.search(data)
    assert prev is not None
    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    out += hidden
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    for number, offset in sorted(offsets.items()):
        out += b"%d 1\n%010d 00000 n \n" % (number, offset)
    size = max(size, max(objects) + 1)
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %s >>\n" % (
        size,
        root,
        info,
        prev.group(1),
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _object_body(data: bytes, name: str, change: Callable[[Dictionary], None]) -> tuple[int, bytes]:
    """The number of the widget of field `name` in `data` and its body after `change`."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        field = _field(pdf, name)
        change(field)
        return field.objgen[0], field.unparse(resolved=True)


def _earlier_revision(text: str) -> bytes:
    """The number typed into a field and saved; the correction (the field emptied) appended as
    an incremental update. The current revision holds no number, the bytes before its %%EOF do."""
    with pikepdf.open(io.BytesIO(_base())) as pdf:
        field = _field(pdf, "pasient.sykehistorie")
        field.V = String(f"Pasient {text}, innlagt i mai.")
        first = io.BytesIO()
        pdf.save(first)
    data = first.getvalue()
    number, body = _object_body(
        data, "pasient.sykehistorie", lambda f: f.__setitem__("/V", String("Innlagt i mai."))
    )
    return _append(data, {number: body})


def _listed_orphan(text: str) -> bytes:
    """An update that lists an object nothing refers to."""
    with pikepdf.open(io.BytesIO(_base())) as pdf:
        size = int(pdf.trailer.Size)
    return _append(_base(), {size: b"<< /Merknad (" + text.encode() + b") >>"})


def _unlisted_object(text: str) -> bytes:
    """An object written into the file between two revisions that no cross-reference section
    lists ("N 0 obj" after some garbage)."""
    with pikepdf.open(io.BytesIO(_base())) as pdf:
        size = int(pdf.trailer.Size)
    hidden = b"%% rest\n%d 0 obj\n(" % (size + 5) + text.encode() + b")\nendobj\n"
    body = _object_body(_base(), "pasient.diagnose", lambda f: None)
    return _append(_base(), {body[0]: body[1]}, hidden=hidden)


# ---- one place each, edited with pikepdf -------------------------------------------------------


def _set_field_key(name: str, key: str, value: Callable[[str], object]) -> Builder:
    def make(text: str) -> bytes:
        return _edit(lambda pdf: _field(pdf, name).__setitem__(key, value(text)))

    return make


def _option(text: str) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        field = _field(pdf, "soknad.helseforetak")
        field.Opt.append(Array([String(text), String("Annet sykehus")]))

    return _edit(change)


def _checkbox_state(text: str) -> bytes:
    """The on state of a checkbox named by the number: the key of /AP /N, /AS and /V."""

    def change(pdf: pikepdf.Pdf) -> None:
        field = _field(pdf, "soknad.samtykke_bekreftet")
        state = Name("/" + text)
        for kind in ("/N", "/D"):
            appearances = field.AP[kind]
            appearances[state] = appearances.Yes
            del appearances["/Yes"]
        field.AS = state
        field.V = state

    return _edit(change)


def _extra_field(text: str) -> bytes:
    """A field of its own whose name (/T) holds the number."""

    def change(pdf: pikepdf.Pdf) -> None:
        page = pdf.pages[0]
        widget = pdf.make_indirect(
            Dictionary(
                Type=Name.Annot,
                Subtype=Name.Widget,
                FT=Name.Tx,
                T=String(f"merknad {text}"),
                V=String(""),
                Rect=Array([0, 0, 10, 10]),
                P=page.obj,
            )
        )
        pdf.Root.AcroForm.Fields.append(widget)
        page.obj.Annots.append(widget)

    return _edit(change)


def _outline(text: str) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        with pdf.open_outline() as outline:
            outline.root.append(pikepdf.OutlineItem(f"Pasient {text}", 0))

    return _edit(change)


def _document_javascript(text: str) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        action = Dictionary(S=Name.JavaScript, JS=String(f"var id = '{text}';"))
        names = pdf.Root.get("/Names") or Dictionary()
        names.JavaScript = Dictionary(Names=Array([String("init"), pdf.make_indirect(action)]))
        pdf.Root.Names = names

    return _edit(change)


def _open_action_stream(text: str) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        script = pdf.make_stream(zlib.compress(f"app.alert('{text}');".encode()))
        script.Filter = Name.FlateDecode
        pdf.Root.OpenAction = Dictionary(S=Name.JavaScript, JS=script)

    return _edit(change)


def _field_action(text: str) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        field = _field(pdf, "pasient.diagnose")
        field.AA = Dictionary(K=Dictionary(S=Name.JavaScript, JS=String(f"event.value='{text}'")))

    return _edit(change)


def _piece_info(text: str) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        pdf.Root.PieceInfo = Dictionary(
            Skjemaverktoy=Dictionary(LastModified=String("D:20260101"), Private=String(text))
        )

    return _edit(change)


def _lang(text: str) -> bytes:
    return _edit(lambda pdf: pdf.Root.__setitem__("/Lang", String(f"nb-{text}")))


def _link_annotation(contents: bool) -> Builder:
    """A link annotation: the number in its /Contents, or in the URI it opens."""

    def make(text: str) -> bytes:
        def change(pdf: pikepdf.Pdf) -> None:
            page = pdf.pages[1]
            link = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([0, 0, 20, 20]))
            if contents:
                link.Contents = String(f"Se {text}")
            else:
                link.A = Dictionary(S=Name.URI, URI=String(f"https://journal.example/?p={text}"))
            page.obj.Annots.append(pdf.make_indirect(link))

        return _edit(change)

    return make


def _named_destination(text: str) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        dest = Array([pdf.pages[0].obj, Name.Fit])
        names = pdf.Root.get("/Names") or Dictionary()
        names.Dests = Dictionary(Names=Array([String(f"pasient-{text}"), dest]))
        pdf.Root.Names = names

    return _edit(change)


def _xfa(text: str) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        data = f"<xfa:datasets><data><pasient>{text}</pasient></data></xfa:datasets>"
        pdf.Root.AcroForm.XFA = Array([String("datasets"), pdf.make_stream(data.encode())])

    return _edit(change)


def _info_key(text: str) -> bytes:
    return _edit(lambda pdf: pdf.trailer.Info.__setitem__("/Pasient", String(text)))


def _page_key(text: str) -> bytes:
    return _edit(lambda pdf: pdf.pages[2].obj.__setitem__("/Merknad", _utf16(f"id {text}")))


def _escaped_name(text: str) -> bytes:
    """A key of the catalogue written with #xx escapes only (/#31#32... is /12...), in an
    update appended by hand: a PDF library would write the name plainly."""
    key = b"/" + b"".join(b"#%02x" % ord(c) for c in text)
    with pikepdf.open(io.BytesIO(_base())) as pdf:
        root = pdf.Root
        body = root.unparse(resolved=True)
        number = root.objgen[0]
    assert body.startswith(b"<<")
    return _append(_base(), {number: b"<< " + key + b" true" + body[2:]})


def _object_stream(text: str) -> bytes:
    """A default value inside a compressed object stream."""
    return _edit(
        lambda pdf: _field(pdf, "pasient.diagnose").__setitem__("/DV", String(text)),
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
    )


def _xmp_element(text: str) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["pdf:Keywords"] = "tilgang-del2"
            meta["xmp:Label"] = f"Pasient {text}"

    return _edit(change)


def _max_len(text: str) -> bytes:
    """The number as an integer: a text field's /MaxLen."""
    assert text[0] != "0", "an integer keeps no leading zero"
    return _edit(lambda pdf: _field(pdf, "pasient.diagnose").__setitem__("/MaxLen", int(text)))


def _field_value(text: str) -> bytes:
    return _edit(
        lambda pdf: _field(pdf, "pasient.sykehistorie").__setitem__(
            "/V", String(f"Pasient {text} har hatt to linjer.")
        )
    )


def _large_stored_stream(text: str) -> bytes:
    """Private data of 1.5 MiB stored without a filter (beyond the decode limit), the number
    in its middle."""
    half = bytes(range(32, 127)) * 8_300

    def change(pdf: pikepdf.Pdf) -> None:
        pdf.Root.PieceInfo = Dictionary(
            Verktoy=Dictionary(Private=pdf.make_stream(half + text.encode() + half))
        )

    return _edit(change, compress_streams=False)


def _fullwidth(text: str) -> str:
    return "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in text)


def _with(separator: str, number: str) -> str:
    return number[:6] + separator + number[6:]


# (name, builder, the field a finding must name, separator after the sixth digit)
_PLACES: list[tuple[str, Builder, str | None, str]] = [
    ("earlier-revision", _earlier_revision, None, ""),
    ("listed-orphan", _listed_orphan, None, ""),
    ("unlisted-object", _unlisted_object, None, ""),
    ("default-value", _set_field_key("soknad.soker_navn", "/DV", String), None, ""),
    ("tooltip", _set_field_key("pasient.diagnose", "/TU", lambda t: String(f"F.nr {t}")), None, ""),
    ("tooltip-utf16", _set_field_key("pasient.diagnose", "/TU", _utf16), None, ""),
    ("option-list", _option, None, ""),
    (
        "quoted-tooltip",  # an escaped quote in qpdf's JSON
        _set_field_key("pasient.diagnose", "/TU", lambda t: String(f'Se "nr. {t}" i journal')),
        None,
        "",
    ),
    (
        "binary-string",  # bytes no text encoding holds: a binary string
        _set_field_key("pasient.diagnose", "/TU", lambda t: String(b"\x9f\x7f" + t.encode())),
        None,
        "",
    ),
    ("checkbox-state", _checkbox_state, None, ""),
    ("field-name", _extra_field, None, ""),
    ("outline-title", _outline, None, ""),
    ("document-javascript", _document_javascript, None, ""),
    ("open-action-stream", _open_action_stream, None, ""),
    ("field-action", _field_action, None, ""),
    ("piece-info", _piece_info, None, ""),
    ("large-stored-stream", _large_stored_stream, None, ""),
    ("lang", _lang, None, ""),
    ("link-contents", _link_annotation(True), None, ""),
    ("link-uri", _link_annotation(False), None, ""),
    ("named-destination", _named_destination, None, ""),
    ("xfa-packet", _xfa, None, ""),
    ("info-custom-key", _info_key, None, ""),
    ("xmp-element", _xmp_element, None, ""),
    ("page-key", _page_key, None, ""),
    ("escaped-name", _escaped_name, None, ""),
    ("object-stream", _object_stream, None, ""),
    ("max-len", _max_len, None, ""),
    ("field-value", _field_value, "pasient.sykehistorie", ""),
    ("dash-in-tooltip", _set_field_key("pasient.diagnose", "/TU", String), None, "-"),
    ("space-in-default", _set_field_key("pasient.diagnose", "/DV", String), None, " "),
    # written so that a plain digit search misses it (FORMS.md section 6, rule 2)
    (
        "fullwidth-in-tooltip",
        _set_field_key("pasient.diagnose", "/TU", lambda t: _utf16(_fullwidth(t))),
        None,
        "",
    ),
    ("zero-width-in-default", _set_field_key("pasient.diagnose", "/DV", _utf16), None, "\u200b"),
    ("en-dash-in-outline", _outline, None, "\u2013"),
    ("ideographic-space-in-value", _field_value, "pasient.sykehistorie", "\u3000"),
]

# Where the separator cannot be written, or the number is no text.
_DIGITS_ONLY = {"checkbox-state", "escaped-name", "max-len"}


def _numbers() -> list[str]:
    births = [
        (date(1985, 8, 15), 123),
        (date(1990, 1, 3), 200),
        (date(1972, 12, 31), 50),
        (date(2001, 6, 9), 321),
        (date(1964, 3, 27), 412),
    ]
    return [synthetic_fodselsnummer(b, s) for b, s in births]


def _near_miss(number: str) -> str:
    """`number` with its last digit changed: the second control digit fails."""
    return number[:10] + str((int(number[10]) + 1) % 10)


def _cases(numbers: list[str], prefix: str) -> list[HostileCase]:
    out = []
    for i, (name, make, field, separator) in enumerate(_PLACES):
        number = numbers[i % len(numbers)]
        if name == "max-len":  # an integer keeps no leading zero
            number = next(n for n in numbers[i % len(numbers) :] + numbers if n[0] != "0")
        text = _with(separator, number) if name not in _DIGITS_ONLY else number
        out.append(HostileCase(f"{prefix}{name}", f"del2-{name}.pdf", make(text), number, field))
    return out


def cases() -> list[HostileCase]:
    return _cases(_numbers(), "pdf-")


def near_misses() -> list[HostileCase]:
    """The same places holding eleven digits that fail the control digits (not identity)."""
    return _cases([_near_miss(n) for n in _numbers()], "pdf-near-miss-")
