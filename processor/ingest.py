"""The pipeline: detect → extract → identify the form → guard identity → normalise → validate.

`ingest(filename, data, limits=..., today=...)` is pure: bytes in, a `Result` out; no file system,
no clock, no globals. Every finding is reported at once. Nothing of the file is kept, and no
finding repeats an identity number.
"""

from __future__ import annotations

from datetime import date

from forms.catalog import catalogue
from forms.fields import FormDef
from processor import identity
from processor.domain import FormType
from processor.extracted import Extracted
from processor.findings import REJECTING, Finding, Limits, Refusal, Result, finding
from processor.normalise import Problem, normalise_value
from processor.normalise import canonical as to_canonical
from processor.ooxml import Package, open_package
from processor.validate import validate
from schemas import validator_for

SUPPORTED = {".pdf": "pdf", ".docx": "docx", ".xlsx": "xlsx", ".json": "json"}
MACRO_SUFFIXES = {".docm", ".dotm", ".xlsm", ".xltm", ".xlam"}
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_WHERE = {
    "filename": "i filnavnet",
    "metadata": "i dokumentets egenskaper (metadata)",
    "document": "i teksten i dokumentet",
    "sheet": "i en celle i regnearket",
    "embedded": (
        "i et innebygd objekt i dokumentet (for eksempel et regneark satt inn i Word "
        "eller en fil lagt ved PDF-filen)"
    ),
    "comment": "i en kommentar i dokumentet (for eksempel en notatlapp eller en tekstboks)",
    "revision": (
        "i en tidligere lagret versjon av PDF-filen (en endring lagret oppå den beholder "
        "den gamle teksten i filen)"
    ),
    "package": (
        "i filens oppbygning utenfor selve skjemaet (for eksempel skjulte deler, navn, "
        "lenker, skript eller standardverdier)"
    ),
}


def file_name(filename: str) -> str:
    """`pathlib.PurePath(filename).name`, without building a path (which cost a tenth of a DOCX
    check's identity guard): the last component, empty and "." components left out."""
    if "/" not in filename:
        return "" if filename == "." else filename
    parts = [p for p in filename.split("/") if p and p != "."]
    return parts[-1] if parts else ""


def file_suffix(filename: str) -> str:
    """`pathlib.PurePath(filename).suffix`: from the last dot of the name, unless the name starts
    or ends with it."""
    name = file_name(filename)
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def sniff(data: bytes) -> str | None:
    """The kind of file by its content: pdf, zip (DOCX/XLSX), cfb (OLE, e.g. encrypted Office)
    or json; None when it is none of these."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return "zip"
    if data.startswith(_CFB_MAGIC):
        return "cfb"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "json"
    return None


def _identity_message(where: str, label: str | None = None) -> str:
    place = f"i feltet «{label}»" if label else _WHERE[where]
    return (
        f"Det er funnet et fødselsnummer, D-nummer eller annet personnummer {place}. "
        "Del 2 skal ikke identifisere pasienten. Fjern nummeret og send inn på nytt."
    )


def _form_of(ex: Extracted) -> FormDef | None:
    t = ex.fields.get("skjema.type")
    return catalogue().get(str(t).strip()) if isinstance(t, str) else None


def _label(fid: str) -> str | None:
    """The Norwegian label of a catalogue field id; None for any other id (which could itself
    hold the number, so it is never repeated)."""
    for form in catalogue().values():
        if form.lookup(fid):
            return form.label(fid)
    return None


def guard(filename: str, ex: Extracted | None) -> list[Finding]:
    """IDENTITY_FOUND for every place that holds an identity number (FORMS.md section 6).

    Not searched: GUIDs and runs of 16 or more hex characters with a letter
    (`identity.contains_identity`), which also covers a `soknad.del1_kontrollsum` of the digest's
    form (written by `link --key`; about one in 6,000 holds eleven digits that pass the rules),
    wherever the document repeats it."""
    out = []
    if identity.contains_identity(identity.one_text(file_name(filename))):
        out.append(finding("IDENTITY_FOUND", None, _identity_message("filename")))
    if ex is None:
        return out
    seen = set()
    searched = ex.fields
    # One search over all values first (NUL is no separator, so it never joins two numbers); only
    # when it hits are the fields searched one by one to name them.
    all_values = "\x00".join(t for v in searched.values() for t in identity.value_texts(v))
    fields = searched.items() if identity.contains_identity(all_values) else ()
    for fid, value in fields:
        if any(identity.contains_identity(t) for t in identity.value_texts(value)):
            label = _label(fid)
            if label is not None:
                out.append(finding("IDENTITY_FOUND", fid, _identity_message("field", label)))
            elif "document" not in seen:  # not our field id: it may hold the number, never name it
                seen.add("document")
                out.append(finding("IDENTITY_FOUND", None, _identity_message("document")))
    by_kind: dict[str, list[str]] = {}
    for kind, text in ex.texts:
        by_kind.setdefault(kind, []).append(text)
    found: list[str] = []  # the texts that held a number, for the package's turn
    # "package" last: it is every string of the file (`processor.sweep`), the others included
    for kind in sorted(by_kind, key=lambda k: k == "package"):
        if kind in seen:
            continue
        text = "\x00".join(by_kind[kind])
        if not identity.contains_identity(text):
            continue
        if kind == "package" and out and _reported(text, found, searched, filename):
            continue
        seen.add(kind)
        found.append(text)
        out.append(finding("IDENTITY_FOUND", None, _identity_message(kind)))
    return out


def _reported(package: str, found: list[str], fields: dict[str, object], filename: str) -> bool:
    """Whether every number of the package's text is one a finding before it has reported (a
    number in a paragraph is in the sweep of its part too): then the same number is not
    reported twice, once by its place and once as "the structure of the file". Only asked
    when the file is rejected already; a number none of them holds is always reported."""
    numbers = set(identity.identity_numbers(package))
    if not numbers:
        return False
    before: set[str] = set(identity.identity_numbers(identity.one_text(file_name(filename))))
    for text in found:
        before.update(identity.identity_numbers(text))
    for value in fields.values():
        for text in identity.value_texts(value):
            before.update(identity.identity_numbers(text))
    return numbers <= before


def _extract(kind: str, data: bytes, limits: Limits, pkg: Package | None = None) -> Extracted:
    if kind == "pdf":
        from processor.extract_pdf import extract_pdf

        return extract_pdf(data, limits)
    if kind == "docx":
        from processor.extract_docx import extract_docx

        return extract_docx(data, limits, pkg)
    if kind == "xlsx":
        from processor.extract_xlsx import extract_xlsx

        return extract_xlsx(data, limits, pkg)
    from processor.extract_json import extract_json

    return extract_json(data, limits)


def _kind(filename: str, data: bytes) -> str:
    """The extractor to run, or a Refusal when the file is of no supported kind."""
    suffix = file_suffix(filename).lower()
    if suffix in MACRO_SUFFIXES:
        raise Refusal("FILE_MACROS")
    content = sniff(data)
    named = SUPPORTED.get(suffix)
    if suffix and named is None:
        raise Refusal(
            "FILE_TYPE_UNSUPPORTED",
            f"Filtypen {suffix} støttes ikke. Send PDF, DOCX, XLSX eller JSON.",
        )
    if content == "cfb":
        if named in ("docx", "xlsx", None):
            open_package(data, Limits())  # raises FILE_ENCRYPTED for a protected Office file
        raise Refusal(
            "FILE_TYPE_UNSUPPORTED",
            "Filen er i et eldre Office-format (DOC/XLS). Lagre den som DOCX eller XLSX.",
        )
    if content is None:
        raise Refusal(
            "FILE_TYPE_UNSUPPORTED", "Innholdet i filen er ikke PDF, DOCX, XLSX eller JSON."
        )
    if named is None:  # no suffix: go by content alone
        if content == "zip":
            return "zip"
        return content
    if (content == "zip") != (named in ("docx", "xlsx")) or (
        content in ("pdf", "json") and content != named
    ):
        raise Refusal(
            "FILE_TYPE_UNSUPPORTED",
            f"Innholdet i filen passer ikke til filnavnet ({suffix}).",
        )
    return named


def _zip_kind(data: bytes, named: str, limits: Limits) -> tuple[str, Package]:
    pkg = open_package(data, limits)
    names = set(pkg.names())
    real = (
        "docx" if "word/document.xml" in names else "xlsx" if "xl/workbook.xml" in names else None
    )
    if real is None:
        raise Refusal("FILE_TYPE_UNSUPPORTED", "ZIP-filen er verken et Word- eller Excel-dokument.")
    if named != "zip" and real != named:
        raise Refusal("FILE_TYPE_UNSUPPORTED", "Innholdet i filen passer ikke til filnavnet.")
    return real, pkg


def warm() -> int:
    """Compile every form's schema validator now (a few hundred ms in all) instead of in the
    first request that needs it. The server calls this before it forks its workers, which then
    share the compiled validators. Returns the number of forms."""
    forms = list(catalogue().values())
    for form in forms:
        validator_for(form)
    return len(forms)


def ingest(filename: str, data: bytes, *, limits: Limits | None = None, today: date) -> Result:
    limits = limits or Limits()
    if len(data) == 0:
        return _rejected(filename, [finding("FILE_EMPTY")])
    if len(data) > limits.max_file_bytes:
        mb = limits.max_file_bytes // (1024 * 1024)
        return _rejected(
            filename, [finding("FILE_TOO_LARGE", None, f"Filen er større enn {mb} MB.")]
        )
    ex: Extracted | None = None
    try:
        kind = _kind(filename, data)
        pkg = None
        if kind in ("zip", "docx", "xlsx"):
            kind, pkg = _zip_kind(data, kind, limits)
        ex = _extract(kind, data, limits, pkg)
    except Refusal as refusal:
        return _rejected(filename, [*guard(filename, None), refusal.finding])
    except ImportError:
        raise
    except Exception:  # a parser library choking on hostile input: the file cannot be read
        return _rejected(filename, [*guard(filename, None), finding("FILE_CORRUPT")])

    errors = guard(filename, ex)
    form = _form_of(ex)
    t = ex.fields.get("skjema.type")
    version = ex.fields.get("skjema.versjon")
    version = str(version).strip() if version is not None else None
    if version and version.endswith(".0") and version[:-2].isdigit():
        version = version[:-2]  # a version typed into a number cell
    if form is None:
        if t is None or (isinstance(t, str) and not t.strip()):
            errors.append(
                finding(
                    "FORM_UNKNOWN",
                    "skjema.type",
                    "Filen har skjemafelt, men mangler skjematype (skjema.type). "
                    "Bruk en mal fra Nye metoder.",
                )
            )
        else:
            errors.append(finding("FORM_UNKNOWN", "skjema.type", "Ukjent skjematype."))
    elif form.id == FormType.TILGANG_DEL1:
        errors.append(finding("DEL1_NOT_ALLOWED", "skjema.type"))
    elif version != form.version:
        errors.append(
            finding(
                "FORM_VERSION_UNSUPPORTED",
                "skjema.versjon",
                f"Versjonen av skjemaet støttes ikke. Bruk versjon {form.version} av malen.",
            )
        )
    form_type = form.id if form else None
    if any(f.code in REJECTING for f in errors):
        return _rejected(filename, errors, form_type, version if form else None)
    assert form is not None
    return _validate(filename, form, ex, limits, today)


def check_fields(
    form: FormDef,
    fields: dict[str, object],
    *,
    today: date,
    limits: Limits | None = None,
    filename: str = "utkast.json",
) -> Result:
    """Typed field values (a draft's, PORTAL.md) read as an upload of a file that carries exactly
    these fields: the identity guard first (a hit rejects, `IDENTITY_FOUND` naming the field),
    then normalisation and validation. `skjema.type` and `skjema.versjon` are the form's."""
    ex = Extracted(kind="json")
    ex.fields.update(fields)  # type: ignore[arg-type]
    ex.fields["skjema.type"] = form.id
    ex.fields["skjema.versjon"] = form.version
    errors = guard("", ex)
    if errors:
        return _rejected(filename, errors, form.id, form.version)
    return _validate(filename, form, ex, limits or Limits(), today)


def _validate(filename: str, form: FormDef, ex: Extracted, limits: Limits, today: date) -> Result:
    values: dict[str, object] = {}
    errors: list[Finding] = []
    invalid: set[str] = set()
    raw = ex.fields
    for fid, (field, _) in form.entries():
        if fid not in raw:
            continue
        value = normalise_value(field, raw[fid], limits.max_text_chars)
        if isinstance(value, Problem):
            errors.append(finding("INVALID_VALUE", fid, f"«{form.label(fid)}»: {value.message}"))
            invalid.add(fid)
        else:
            values[fid] = value
    errors += validate(form, values, invalid, today, set(ex.uncached_formulas))
    data = to_canonical(form, values)
    flagged = {f.field for f in errors}
    for path in validator_for(form).problems(data):
        if path not in flagged and not any(path.startswith(f"{f}.") for f in flagged if f):
            errors.append(
                finding("INVALID_VALUE", path, f"«{form.label(path)}» har ugyldig verdi.")
            )
            flagged.add(path)
    warnings = [finding("LABEL_FALLBACK")] if ex.label_fallback else []
    reference = values.get(form.reference_field) if form.reference_field else None
    return Result(
        file=filename,
        status="incomplete" if errors else "accepted",
        form_type=form.id,
        form_version=form.version,
        reference=str(reference) if reference is not None else None,
        data=data,
        errors=errors,
        warnings=warnings,
    )


def _rejected(
    filename: str, errors: list[Finding], form_type: str | None = None, version: str | None = None
) -> Result:
    return Result(
        file=filename, status="rejected", form_type=form_type, form_version=version, errors=errors
    )
