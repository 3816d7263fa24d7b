"""CONNECTIONS.md section 3: the archive hand-off messages (Fiks Arkiv V1 arkivmelding).

Every message built here is validated against the official XSD (tests/arkiv_xsd.py); the PDFs
are the service's own renderings of a case that went through the pipeline, and its decision
letter.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from pypdf import PdfReader

from processor import arkiv
from processor.arkiv import (
    ARKIVMELDING,
    NS,
    NS_M,
    AcceptedVersion,
    ArchiveMessage,
    RecordedDecision,
    application_pdf,
    arkivmelding_decision,
    arkivmelding_received,
    decision_message,
    due_messages,
    mottatt_message,
    recorded_decision_message,
    version_message,
)
from processor.decisions import decision_letter_pdf
from processor.ingest import ingest
from processor.render import hf_name
from tests.arkiv_xsd import load_schema, schema_errors, validate
from tests.conftest import TODAY
from tests.fillers import REFERENCE, fill_json, sample_values
from tests.test_decisions import DECISION

CASE = REFERENCE  # a tilgang-del2 case's id is its reference number
HF = hf_name("OUS")
RECEIVED = datetime(2026, 10, 1, 23, 30, tzinfo=UTC)  # 01:30 on 2 October in Oslo (summer time)
RECORDED = datetime(2026, 12, 7, 13, 5, 9, tzinfo=UTC)  # winter time in Oslo
DECIDED = date(2026, 12, 7)
OSLO = ZoneInfo("Europe/Oslo")
X = "{http://www.w3.org/2001/XMLSchema-instance}type"

# The code lists of the spec (CONNECTIONS.md section 3, from Fiks Arkiv's Schema/V1/kodelister).
DESCRIPTIONS = {
    "SØKNAD": "Søknad",
    "H": "Hoveddokument",
    "EA": "Avsender",
    "I": "Inngående dokument",
    "VEDTAK": "Vedtak",
    "EM": "Mottaker",
    "U": "Utgående dokument",
}


def e(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def m(tag: str) -> str:
    return f"{{{NS_M}}}{tag}"


@cache
def case_data() -> dict:
    result = ingest(
        "del2.json", fill_json("tilgang-del2", sample_values("tilgang-del2")), today=TODAY
    )
    assert result.status == "accepted", result.to_dict()
    return result.data


@cache
def letter() -> bytes:
    assert (DECISION.reference, DECISION.decided, DECISION.hf_name) == (CASE, DECIDED, HF)
    return decision_letter_pdf(DECISION, created=RECORDED)


@cache
def soknad(version: int) -> bytes:
    return application_pdf(CASE, case_data(), RECEIVED + timedelta(days=version - 1))


def received(version: int) -> datetime:
    return RECEIVED + timedelta(days=version - 1)


def mottatt(version: int) -> ArchiveMessage:
    return mottatt_message(CASE, version, received(version), HF, soknad(version))


def vedtak() -> ArchiveMessage:
    return recorded_decision_message(CASE, DECIDED, RECORDED, HF, letter())


MESSAGES = ["mottatt.1", "mottatt.2", "mottatt.3", "vedtak"]  # built when a test asks


def build(name: str) -> ArchiveMessage:
    return vedtak() if name == "vedtak" else mottatt(int(name.rsplit(".", 1)[1]))


def journalpost(root: etree._Element) -> etree._Element:
    (reg,) = root.findall(e("registrering"))
    assert reg.get(X) == "journalpost"
    return reg


def text(root: etree._Element, path: str) -> str:
    found = root.find(path, {"a": NS, "m": NS_M})
    assert found is not None, path
    return found.text or ""


def pdf_text(data: bytes) -> str:
    pages = PdfReader(io.BytesIO(data)).pages
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in pages))


# ---- every message is valid -----------------------------------------------------------------------


@pytest.mark.parametrize("name", MESSAGES)
def test_every_message_validates_against_the_official_xsd(name: str):
    message = build(name)
    validate(message.files[ARKIVMELDING])


def test_the_schema_catches_what_the_spec_forbids():
    """The validation is not vacuous: each of these slips, made on a valid message, is refused."""
    good = mottatt(1).files[ARKIVMELDING]
    assert schema_errors(good) == []

    def mutated(change) -> bytes:
        root = etree.fromstring(good)
        change(root)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def kode_in_message_namespace(root):
        root.find(f".//{m('kode')}").tag = e("kode")

    def beskrivelse_before_kode(root):
        kode = root.find(f".//{m('kode')}")
        kode.addprevious(kode.getnext())

    def no_xsi_type(root):
        del journalpost(root).attrib[X]

    def time_without_date(root):
        root.find(f".//{e('mottattDato')}").text = "09:15:00+02:00"

    def journalposttype_missing(root):
        reg = journalpost(root)
        reg.remove(reg.find(e("journalposttype")))

    def forelder_key_unqualified(root):
        root.find(f".//{e('referanseForelderMappe')}")[0].tag = e("referanseEksternNoekkel")

    for change in (
        kode_in_message_namespace,
        beskrivelse_before_kode,
        no_xsi_type,
        time_without_date,
        journalposttype_missing,
        forelder_key_unqualified,
    ):
        assert schema_errors(mutated(change)), change.__name__


def test_the_schema_is_loaded_from_the_spec_folder_only(tmp_path):
    """An import that leaves the folder is refused, though the file is there and a plain parser
    would load it."""
    (tmp_path / "outside.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:o">'
        '<xs:element name="o" type="xs:string"/></xs:schema>'
    )
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "main.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:m">'
        '<xs:import namespace="urn:o" schemaLocation="../outside.xsd"/>'
        '<xs:element name="m" type="xs:string"/></xs:schema>'
    )
    plain = etree.XMLParser(no_network=True, resolve_entities=False)
    etree.XMLSchema(etree.parse(str(inner / "main.xsd"), plain))  # loads: the file is there
    with pytest.raises(etree.XMLSchemaParseError):
        load_schema(inner, "main.xsd")


# ---- the incoming journal entry ---------------------------------------------------------------------


def test_version_1_creates_the_case_folder_and_an_incoming_journal_entry():
    msg = mottatt(1)
    assert msg.hendelse == "arkiv_mottatt"
    assert msg.folder == f"{CASE}.mottatt.1"
    root = validate(msg.files[ARKIVMELDING])
    (mappe,) = root.findall(e("mappe"))
    assert mappe.get(X) == "saksmappe"
    assert text(mappe, "a:tittel") == f"Individuell tilgang {CASE}"
    assert text(mappe, "a:referanseEksternNoekkel/m:fagsystem") == "skjemamottak"
    assert text(mappe, "a:referanseEksternNoekkel/m:noekkel") == CASE
    reg = journalpost(root)
    assert text(reg, "a:referanseForelderMappe/m:referanseEksternNoekkel/m:noekkel") == CASE
    assert text(reg, "a:journalposttype/m:kode") == "I"
    assert text(reg, "a:dokumentbeskrivelse/a:dokumenttype/m:kode") == "SØKNAD"
    assert text(reg, "a:korrespondansepart/a:korrespondanseparttype/m:kode") == "EA"
    assert text(reg, "a:korrespondansepart/a:korrespondansepartNavn") == HF
    assert text(reg, "a:referanseEksternNoekkel/m:noekkel") == f"{CASE}/mottatt/1"
    assert reg.find(e("sendtDato")) is None


@pytest.mark.parametrize("version", [2, 3])
def test_later_versions_have_no_case_folder_but_point_to_it(version: int):
    msg = mottatt(version)
    assert msg.folder == f"{CASE}.mottatt.{version}"
    root = validate(msg.files[ARKIVMELDING])
    assert root.find(e("mappe")) is None
    reg = journalpost(root)
    assert text(reg, "a:referanseForelderMappe/m:referanseEksternNoekkel/m:noekkel") == CASE
    assert text(reg, "a:referanseEksternNoekkel/m:noekkel") == f"{CASE}/mottatt/{version}"
    assert text(reg, "a:tittel").endswith(f", versjon {version}")


@pytest.mark.parametrize("version", [1, 2])
def test_the_incoming_entry_names_its_system_titles_and_file_as_the_spec_writes_them(version: int):
    """CONNECTIONS.md section 3, the version 1 example: `system`, `antallFiler`, the titles,
    `tilknyttetRegistreringSom` H, `filnavn` and `referanseDokumentfil` of version N."""
    root = validate(mottatt(version).files[ARKIVMELDING])
    assert text(root, "a:system") == "skjemamottak"
    assert text(root, "a:antallFiler") == "1"
    reg = journalpost(root)
    assert text(reg, "a:referanseForelderMappe/m:referanseEksternNoekkel/m:fagsystem") == (
        "skjemamottak"
    )
    assert text(reg, "a:referanseEksternNoekkel/m:fagsystem") == "skjemamottak"
    assert text(reg, "a:tittel") == f"Søknad om individuell tilgang {CASE}, versjon {version}"
    doc = "a:dokumentbeskrivelse"
    assert text(reg, f"{doc}/a:tittel") == f"Søknad, versjon {version}"
    assert text(reg, f"{doc}/a:tilknyttetRegistreringSom/m:kode") == "H"
    assert text(reg, f"{doc}/a:dokumentobjekt/a:filnavn") == f"Søknad {CASE} versjon {version}.pdf"
    assert text(reg, f"{doc}/a:dokumentobjekt/a:referanseDokumentfil") == "soknad.pdf"
    assert text(reg, "a:dokumentetsDato") == received(version).astimezone(OSLO).date().isoformat()


def test_received_time_is_written_in_oslo_with_its_offset_and_the_dates_are_oslo_dates():
    summer = validate(mottatt(1).files[ARKIVMELDING])
    stamp = datetime.fromisoformat(text(summer, ".//a:mottattDato"))
    assert stamp == RECEIVED  # the same moment
    assert stamp.utcoffset() == RECEIVED.astimezone(OSLO).utcoffset() == timedelta(hours=2)
    # 23:30 UTC is already the next day in Oslo: the dates are Oslo's
    assert text(summer, "a:mappe/a:saksdato") == "2026-10-02"
    assert text(summer, ".//a:dokumentetsDato") == "2026-10-02"
    winter_time = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    winter = validate(arkivmelding_received(CASE, 4, winter_time, HF, "0" * 64, 1))
    assert datetime.fromisoformat(text(winter, ".//a:mottattDato")).utcoffset() == timedelta(
        hours=1
    )


def test_a_naive_time_is_utc_as_everywhere_in_the_service():
    naive = arkivmelding_received(CASE, 2, RECEIVED.replace(tzinfo=None), HF, "0" * 64, 1)
    assert naive == arkivmelding_received(CASE, 2, RECEIVED, HF, "0" * 64, 1)


# ---- the outgoing journal entry ---------------------------------------------------------------------


def test_the_decision_is_an_outgoing_journal_entry_to_the_hf():
    msg = vedtak()
    assert msg.hendelse == "arkiv_vedtak"
    assert msg.folder == f"{CASE}.vedtak"
    assert set(msg.files) == {ARKIVMELDING, "vedtak.pdf"}
    assert msg.files["vedtak.pdf"] == letter()  # the letter as the service made it
    root = validate(msg.files[ARKIVMELDING])
    assert root.find(e("mappe")) is None
    reg = journalpost(root)
    assert text(reg, "a:journalposttype/m:kode") == "U"
    assert text(reg, "a:dokumentbeskrivelse/a:dokumenttype/m:kode") == "VEDTAK"
    assert text(reg, "a:dokumentbeskrivelse/a:tittel") == "Vedtaksbrev"
    assert text(reg, "a:tittel") == f"Vedtak om individuell tilgang {CASE}"
    assert text(reg, ".//a:filnavn") == f"Vedtak {CASE}.pdf"
    assert text(reg, ".//a:referanseDokumentfil") == "vedtak.pdf"
    assert text(reg, "a:korrespondansepart/a:korrespondanseparttype/m:kode") == "EM"
    assert text(reg, "a:korrespondansepart/a:korrespondansepartNavn") == HF
    assert text(reg, "a:referanseEksternNoekkel/m:noekkel") == f"{CASE}/vedtak"
    assert text(reg, "a:referanseForelderMappe/m:referanseEksternNoekkel/m:noekkel") == CASE
    assert text(reg, "a:dokumentetsDato") == DECIDED.isoformat()
    assert datetime.fromisoformat(text(reg, "a:sendtDato")) == RECORDED
    assert reg.find(e("mottattDato")) is None


# ---- what every message holds -----------------------------------------------------------------------


@pytest.mark.parametrize("name", MESSAGES)
def test_every_code_is_followed_by_its_description(name: str):
    message = build(name)
    root = validate(message.files[ARKIVMELDING])
    codes = root.findall(f".//{m('kode')}")
    assert len(codes) == 4  # dokumenttype, tilknyttetRegistreringSom, korrespondanseparttype, type
    for kode in codes:
        following = kode.getnext()
        assert following is not None and following.tag == m("beskrivelse"), kode.text
        assert following.text == DESCRIPTIONS[kode.text]


@pytest.mark.parametrize("name", MESSAGES)
def test_the_folder_holds_the_message_and_the_one_file_it_names_with_its_checksum(
    name: str,
):
    message = build(name)
    root = validate(message.files[ARKIVMELDING])
    (obj,) = root.findall(f".//{e('dokumentobjekt')}")
    name = text(obj, "a:referanseDokumentfil")
    assert set(message.files) == {ARKIVMELDING, name}
    assert int(text(root, "a:antallFiler")) == len(message.files) - 1
    document = message.files[name]
    assert document.startswith(b"%PDF-")
    assert text(obj, "a:sjekksum") == hashlib.sha256(document).hexdigest()
    assert text(obj, "a:sjekksumAlgoritme") == "SHA256"
    assert int(text(obj, "a:filstoerrelse")) == len(document)
    assert message.files[ARKIVMELDING].startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def _leaf_strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _leaf_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _leaf_strings(v)]
    return [str(node)] if isinstance(node, str | int | float) and not isinstance(node, bool) else []


@pytest.mark.parametrize("name", MESSAGES)
def test_titles_name_only_the_case_id_and_version_and_no_field_value_is_in_the_metadata(
    name: str,
):
    message = build(name)
    xml = message.files[ARKIVMELDING]
    root = validate(xml)
    vocabulary = {"Individuell", "individuell", "tilgang", "Søknad", "om", "versjon", "Vedtak"}
    vocabulary |= {"Vedtaksbrev"}
    for title in root.iter(e("tittel")):
        rest = title.text.replace(CASE, " ")
        rest = re.sub(r"\bversjon \d+\b", "versjon", rest)
        words = set(re.findall(r"\w+", rest))
        assert words <= vocabulary, title.text
    decoded = xml.decode("utf-8")
    values = {v for v in _leaf_strings(case_data()) if len(v) > 3 and v not in CASE and v not in HF}
    assert len(values) > 20  # the case has many values to leak
    leaked = sorted(v for v in values if v in decoded)
    assert leaked == []


def test_the_application_pdf_renders_the_version_without_the_packets_footer_or_notes():
    rendered = pdf_text(soknad(1))
    assert CASE in rendered
    assert "Pembrolizumab (Keytruda)" in rendered  # a value of the case: it is the rendering
    for packet_only in ("Fortrolig", "Priskontroll", "Koordinatorens merknader"):
        assert packet_only not in rendered


# ---- every message due for a case ---------------------------------------------------------------------


def _versions(*numbers: int) -> list[AcceptedVersion]:
    return [AcceptedVersion(n, received(n), case_data()) for n in numbers]


def test_due_messages_are_one_per_accepted_version_then_the_decision():
    decision = RecordedDecision(DECIDED, RECORDED, letter())
    messages = due_messages(CASE, HF, _versions(2, 1, 3), decision)
    assert [msg.folder for msg in messages] == [
        f"{CASE}.mottatt.1",
        f"{CASE}.mottatt.2",
        f"{CASE}.mottatt.3",
        f"{CASE}.vedtak",
    ]
    roots = [validate(msg.files[ARKIVMELDING]) for msg in messages]
    assert [r.find(e("mappe")) is not None for r in roots] == [True, False, False, False]
    assert messages[-1].files["vedtak.pdf"] == letter()
    # the same bytes as the messages built one by one (the worker's)
    assert messages == [mottatt(1), mottatt(2), mottatt(3), vedtak()]
    assert version_message(CASE, HF, _versions(2)[0]) == mottatt(2)
    assert decision_message(CASE, HF, decision) == vedtak()


def test_due_messages_are_the_same_bytes_every_time():
    first = due_messages(CASE, HF, _versions(1))
    again = due_messages(CASE, HF, _versions(1))
    assert [dict(msg.files) for msg in first] == [dict(msg.files) for msg in again]


def test_no_decision_no_decision_message_and_no_version_no_message():
    assert [msg.folder for msg in due_messages(CASE, HF, _versions(1, 2))] == [
        f"{CASE}.mottatt.1",
        f"{CASE}.mottatt.2",
    ]
    assert due_messages(CASE, HF, []) == []


def test_a_version_number_twice_is_refused():
    with pytest.raises(ValueError):
        due_messages(CASE, HF, _versions(1, 1))


# ---- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case_id", ["", "../x", "a/b", ".skjult", "-x", "x y", "x.mottatt", "x" * 65, None, "x\n"]
)
def test_a_case_id_that_is_no_safe_folder_name_is_refused(case_id):
    with pytest.raises(ValueError):
        arkivmelding_received(case_id, 1, RECEIVED, HF, "0" * 64, 1)
    with pytest.raises(ValueError):
        arkiv.decision_folder(case_id)


@pytest.mark.parametrize(
    ("version", "sha", "size", "name"),
    [
        (0, "0" * 64, 1, HF),
        (True, "0" * 64, 1, HF),
        ("1", "0" * 64, 1, HF),
        (1, "0" * 63, 1, HF),
        (1, "A" * 64, 1, HF),
        (1, "0" * 64 + "\n", 1, HF),
        (1, "0" * 64, -1, HF),
        (1, "0" * 64, 2**31, HF),
        (1, "0" * 64, 1, " "),
    ],
)
def test_bad_values_are_refused_before_any_xml_is_made(version, sha, size, name):
    with pytest.raises(ValueError):
        arkivmelding_received(CASE, version, RECEIVED, name, sha, size)


def test_an_empty_document_or_a_datetime_as_decision_date_is_refused():
    with pytest.raises(ValueError):
        mottatt_message(CASE, 1, RECEIVED, HF, b"")
    with pytest.raises(ValueError):
        arkivmelding_decision(CASE, RECORDED, RECORDED, HF, "0" * 64, 1)


def test_a_message_cannot_be_changed_after_it_is_made():
    msg = mottatt(2)
    with pytest.raises(TypeError):
        msg.files["extra.txt"] = b"x"  # type: ignore[index]


def test_every_message_any_test_makes_is_validated_as_it_is_made():
    """tests/conftest.py hooks the serialiser: a message the XSD refuses fails the test that made
    it, wherever in the suite that is."""
    with pytest.raises(AssertionError, match="not valid against the Fiks Arkiv XSD"):
        arkiv._message(arkiv._E.ukjent("x"))
