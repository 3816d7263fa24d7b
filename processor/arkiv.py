"""Archive hand-off in the Fiks Arkiv V1 format (CONNECTIONS.md section 3).

For each accepted version N of a `tilgang-del2` case an incoming journal entry (`arkiv_mottatt`,
folder `ID.mottatt.N`, `soknad.pdf`; version 1 also creates the case folder, `saksmappe`), for the
decision an outgoing one (`arkiv_vedtak`, folder `ID.vedtak`, `vedtak.pdf`). Each message is an
`ArchiveMessage`: a folder name and its files (`arkivmelding.xml` and the one document it names).
`storage.arkiv` writes such a folder; an integration (Fiks IO, an Elements or Public 360 import)
takes it from there.

The XML is a `no.ks.fiks.arkiv.v1.arkivering.arkivmelding.opprett` message, valid against the
official XSD (the tests validate every message they build). Titles name only the case id and the
version: archives publish titles, so no field value of the case goes into the metadata.

Pure: values in, bytes out; no Flask, database, file system or clock. A naive datetime is UTC (as
everywhere in the service); times are written in Europe/Oslo with their offset.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

from lxml import etree
from lxml.builder import ElementMaker

from processor import timefmt
from processor.domain import FormType
from processor.render import render_case_pdf

NS = "https://ks-no.github.io/standarder/fiks-protokoll/fiks-arkiv/arkivmelding/opprett/v1"
NS_M = "https://ks-no.github.io/standarder/fiks-protokoll/fiks-arkiv/metadatakatalog/v1"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {None: NS, "m": NS_M, "xsi": NS_XSI}
XSI_TYPE = f"{{{NS_XSI}}}type"

MESSAGE_TYPE = "no.ks.fiks.arkiv.v1.arkivering.arkivmelding.opprett"
SYSTEM = "skjemamottak"  # `system` and every key's `fagsystem`
ARKIVMELDING = "arkivmelding.xml"
SOKNAD_FILE = "soknad.pdf"
VEDTAK_FILE = "vedtak.pdf"
MOTTATT = "arkiv_mottatt"  # the outbox's `hendelse` values (CONNECTIONS.md section 2)
VEDTAK = "arkiv_vedtak"
CHECKSUM_ALGORITHM = "SHA256"
MAX_SIZE = 2**31 - 1  # `filstoerrelse` is an xs:int


@dataclass(frozen=True)
class Code:
    """A code and its description, as in Fiks Arkiv's `Schema/V1/kodelister`."""

    kode: str
    beskrivelse: str


SOKNAD = Code("SØKNAD", "Søknad")  # dokumenttype
VEDTAKSDOKUMENT = Code("VEDTAK", "Vedtak")  # dokumenttype
HOVEDDOKUMENT = Code("H", "Hoveddokument")  # tilknyttetRegistreringSom
AVSENDER = Code("EA", "Avsender")  # korrespondanseparttype
MOTTAKER = Code("EM", "Mottaker")  # korrespondanseparttype
INNGAENDE = Code("I", "Inngående dokument")  # journalposttype
UTGAENDE = Code("U", "Utgående dokument")  # journalposttype

# A case id goes into folder names, file names and keys: one safe path component, nothing else.
_CASE_ID = re.compile(r"^[0-9A-Za-zÆØÅæøå][0-9A-Za-zÆØÅæøå_-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

_E = ElementMaker(namespace=NS, nsmap=NSMAP)  # the message's own elements
_M = ElementMaker(namespace=NS_M, nsmap=NSMAP)  # metadatakatalog elements


# ---- the message as a folder --------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveMessage:
    """One message folder: its name and its files (name → bytes), `arkivmelding.xml` and the one
    document it names. `hendelse` is `arkiv_mottatt` or `arkiv_vedtak`."""

    hendelse: str
    folder: str
    files: Mapping[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))


def check_case_id(case_id: str) -> str:
    """The case id when it is safe in a folder name and a key (letters, digits, `-`, `_`, not
    starting with `-`/`_`, at most 64 characters); ValueError otherwise."""
    if not isinstance(case_id, str) or not _CASE_ID.fullmatch(case_id):
        raise ValueError(f"not a case id an archive folder can be named after: {case_id!r}")
    return case_id


def _check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"a version number is an integer from 1: {version!r}")
    return version


def mottatt_folder(case_id: str, version: int) -> str:
    """`ID.mottatt.N`: the folder of version N's incoming journal entry."""
    return f"{check_case_id(case_id)}.mottatt.{_check_version(version)}"


def decision_folder(case_id: str) -> str:
    """`ID.vedtak`: the folder of the decision's outgoing journal entry."""
    return f"{check_case_id(case_id)}.vedtak"


# ---- arkivmelding.xml ---------------------------------------------------------------------------


def _code(tag: str, code: Code) -> etree._Element:
    return _E(tag, _M.kode(code.kode), _M.beskrivelse(code.beskrivelse))


def _key(case_id: str, suffix: str = "") -> list[etree._Element]:
    return [_M.fagsystem(SYSTEM), _M.noekkel(f"{case_id}{suffix}")]


def _oslo_date(moment: datetime) -> str:
    return timefmt.as_oslo(moment).date().isoformat()


def _oslo_time(moment: datetime) -> str:
    return timefmt.as_oslo(moment).isoformat(timespec="seconds")


def _check_document(hf_name: str, sha256: str, size: int) -> None:
    if not isinstance(hf_name, str) or not hf_name.strip():
        raise ValueError("the HF's name is missing")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError("the document's SHA-256 must be 64 lowercase hex digits")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
        raise ValueError(f"the document's size in bytes is out of range: {size!r}")


def _journalpost(
    case_id: str,
    *,
    key: str,
    document: tuple[Code, str, str, str],
    title: str,
    party: Code,
    hf_name: str,
    sha256: str,
    size: int,
    kind: Code,
    dates: list[etree._Element],
) -> etree._Element:
    dokumenttype, document_title, filnavn, reference = document
    return _E.registrering(
        {XSI_TYPE: "journalpost"},
        _E.referanseForelderMappe(_M.referanseEksternNoekkel(*_key(case_id))),
        _E.dokumentbeskrivelse(
            _code("dokumenttype", dokumenttype),
            _E.tittel(document_title),
            _code("tilknyttetRegistreringSom", HOVEDDOKUMENT),
            _E.dokumentobjekt(
                _E.filnavn(filnavn),
                _E.referanseDokumentfil(reference),
                _E.sjekksum(sha256),
                _E.sjekksumAlgoritme(CHECKSUM_ALGORITHM),
                _E.filstoerrelse(str(size)),
            ),
        ),
        _E.tittel(title),
        _E.korrespondansepart(
            _code("korrespondanseparttype", party),
            _E.korrespondansepartNavn(hf_name),
        ),
        _E.referanseEksternNoekkel(*_key(case_id, key)),
        _code("journalposttype", kind),
        *dates,
    )


def _message(*children: etree._Element) -> bytes:
    root = _E.arkivmelding(_E.system(SYSTEM), _E.antallFiler("1"), *children)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def arkivmelding_received(
    case_id: str, version: int, received: datetime, hf_name: str, sha256: str, size: int
) -> bytes:
    """`arkivmelding.xml` (UTF-8) for version `version` of the case, received at `received`, from
    the HF named `hf_name` (the registry's name); `sha256` (lowercase hex) and `size` (bytes) are
    those of `soknad.pdf`. Version 1 creates the case folder (`saksmappe`) too."""
    check_case_id(case_id)
    _check_version(version)
    _check_document(hf_name, sha256, size)
    day = _oslo_date(received)
    children: list[etree._Element] = []
    if version == 1:
        children.append(
            _E.mappe(
                {XSI_TYPE: "saksmappe"},
                _E.tittel(f"Individuell tilgang {case_id}"),
                _E.referanseEksternNoekkel(*_key(case_id)),
                _E.saksdato(day),
            )
        )
    children.append(
        _journalpost(
            case_id,
            key=f"/mottatt/{version}",
            document=(
                SOKNAD,
                f"Søknad, versjon {version}",
                f"Søknad {case_id} versjon {version}.pdf",
                SOKNAD_FILE,
            ),
            title=f"Søknad om individuell tilgang {case_id}, versjon {version}",
            party=AVSENDER,
            hf_name=hf_name,
            sha256=sha256,
            size=size,
            kind=INNGAENDE,
            dates=[_E.dokumentetsDato(day), _E.mottattDato(_oslo_time(received))],
        )
    )
    return _message(*children)


def arkivmelding_decision(
    case_id: str, decided: date, sent: datetime, hf_name: str, sha256: str, size: int
) -> bytes:
    """`arkivmelding.xml` (UTF-8) for the decision on the case: `decided` is the decision date
    (`dokumentetsDato`), `sent` the moment the letter was made (`sendtDato`), `hf_name` the
    recipient HF's registry name; `sha256` and `size` are those of `vedtak.pdf`."""
    check_case_id(case_id)
    _check_document(hf_name, sha256, size)
    if isinstance(decided, datetime) or not isinstance(decided, date):
        raise ValueError(f"the decision date must be a date: {decided!r}")
    return _message(
        _journalpost(
            case_id,
            key="/vedtak",
            document=(VEDTAKSDOKUMENT, "Vedtaksbrev", f"Vedtak {case_id}.pdf", VEDTAK_FILE),
            title=f"Vedtak om individuell tilgang {case_id}",
            party=MOTTAKER,
            hf_name=hf_name,
            sha256=sha256,
            size=size,
            kind=UTGAENDE,
            dates=[_E.dokumentetsDato(decided.isoformat()), _E.sendtDato(_oslo_time(sent))],
        )
    )


# ---- whole messages -----------------------------------------------------------------------------


def _digest(pdf: bytes) -> tuple[str, int]:
    if not isinstance(pdf, bytes | bytearray) or not pdf:
        raise ValueError("the document is empty")
    return hashlib.sha256(pdf).hexdigest(), len(pdf)


def mottatt_message(
    case_id: str, version: int, received: datetime, hf_name: str, pdf: bytes
) -> ArchiveMessage:
    """The `ID.mottatt.N` folder: `arkivmelding.xml` and `soknad.pdf` (`pdf`, the rendering of
    version N's canonical data: `application_pdf`)."""
    sha256, size = _digest(pdf)
    xml = arkivmelding_received(case_id, version, received, hf_name, sha256, size)
    return ArchiveMessage(
        MOTTATT, mottatt_folder(case_id, version), {ARKIVMELDING: xml, SOKNAD_FILE: bytes(pdf)}
    )


def recorded_decision_message(
    case_id: str, decided: date, sent: datetime, hf_name: str, pdf: bytes
) -> ArchiveMessage:
    """The `ID.vedtak` folder: `arkivmelding.xml` and `vedtak.pdf` (`pdf`, the decision letter
    the service made when the decision was recorded)."""
    sha256, size = _digest(pdf)
    xml = arkivmelding_decision(case_id, decided, sent, hf_name, sha256, size)
    return ArchiveMessage(
        VEDTAK, decision_folder(case_id), {ARKIVMELDING: xml, VEDTAK_FILE: bytes(pdf)}
    )


def application_pdf(case_id: str, data: dict, received: datetime) -> bytes:
    """`soknad.pdf`: a version's canonical data rendered as in the meeting packet, without the
    packet's footer, price check and notes. Deterministic: the version's `received` time is the
    PDF's creation date, so an export made later has the same bytes."""
    return render_case_pdf(
        FormType.TILGANG_DEL2,
        data,
        title=f"Sak {check_case_id(case_id)}",
        footer="",
        case_id=case_id,
        created=received,
    )


# ---- every message due for one case --------------------------------------------------------------


@dataclass(frozen=True)
class AcceptedVersion:
    """One accepted version of a `tilgang-del2` case: its number, when it was received and its
    canonical data (`CaseVersion.number`, `.received_at`, `.data`)."""

    number: int
    received: datetime
    data: dict


@dataclass(frozen=True)
class RecordedDecision:
    """The case's decision: its date, when it was recorded and the decision letter's PDF bytes
    (`Decision.decided_on`, `.recorded_at`, the blob `.pdf_sha256`)."""

    decided: date
    recorded: datetime
    letter_pdf: bytes


def version_message(case_id: str, hf_name: str, version: AcceptedVersion) -> ArchiveMessage:
    """The `arkiv_mottatt` message of one accepted version, its PDF rendered here: what the
    worker writes for the outbox row and the export writes again, byte for byte."""
    pdf = application_pdf(case_id, version.data, version.received)
    return mottatt_message(case_id, version.number, version.received, hf_name, pdf)


def decision_message(case_id: str, hf_name: str, decision: RecordedDecision) -> ArchiveMessage:
    """The `arkiv_vedtak` message of the case's decision, with the stored letter."""
    return recorded_decision_message(
        case_id, decision.decided, decision.recorded, hf_name, decision.letter_pdf
    )


def due_messages(
    case_id: str,
    hf_name: str,
    versions: Sequence[AcceptedVersion],
    decision: RecordedDecision | None = None,
) -> list[ArchiveMessage]:
    """Every message due for the case so far, in the order they fell due: one `ID.mottatt.N` per
    accepted version (by number), then `ID.vedtak` when there is a decision. What `skjemamottak
    arkiv eksport ID --til DIR` writes; the same bytes as the worker's messages."""
    numbers = [v.number for v in versions]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"a version number appears twice: {sorted(numbers)}")
    messages = [
        version_message(case_id, hf_name, v) for v in sorted(versions, key=lambda v: v.number)
    ]
    if decision is not None:
        messages.append(decision_message(case_id, hf_name, decision))
    return messages


__all__ = [
    "ARKIVMELDING",
    "MESSAGE_TYPE",
    "MOTTATT",
    "NS",
    "NS_M",
    "SOKNAD_FILE",
    "VEDTAK",
    "VEDTAK_FILE",
    "AcceptedVersion",
    "ArchiveMessage",
    "Code",
    "RecordedDecision",
    "application_pdf",
    "arkivmelding_received",
    "arkivmelding_decision",
    "check_case_id",
    "decision_message",
    "due_messages",
    "mottatt_folder",
    "mottatt_message",
    "decision_folder",
    "recorded_decision_message",
    "version_message",
]
