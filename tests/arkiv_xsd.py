"""The official Fiks Arkiv V1 XSD (../shared/spec/fiks-arkiv), for tests that check arkivmelding.

`validate(xml)` parses the bytes and validates them against
`no.ks.fiks.arkiv.v1.arkivering.arkivmelding.opprett.xsd`; it fails the test with the schema's
own messages. The schema is loaded once, from the spec folder only: the parser reads no network
and expands no entities, and a resolver refuses every `schemaLocation` that leaves the folder.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import ROOT

SPEC = ROOT.parent / "shared" / "spec" / "fiks-arkiv"
MESSAGE_XSD = "no.ks.fiks.arkiv.v1.arkivering.arkivmelding.opprett.xsd"


class SchemaRefused(Exception):
    """An XSD wanted a file outside the spec folder."""


class _SpecFolderOnly(etree.Resolver):
    """Resolves schema imports to files inside `folder`; anything else is refused."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder.resolve()

    def resolve(self, url, pubid, context):  # noqa: ANN001 (lxml's signature)
        path = Path(url).resolve() if "://" not in url else None
        if path is None or not path.is_relative_to(self.folder) or not path.is_file():
            raise SchemaRefused(f"schemaLocation outside {self.folder}: {url}")
        return self.resolve_filename(str(path), context)


def safe_parser(folder: Path = SPEC) -> etree.XMLParser:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(_SpecFolderOnly(folder))
    return parser


def load_schema(folder: Path = SPEC, name: str = MESSAGE_XSD) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(folder / name), safe_parser(folder)))


@cache
def message_schema() -> etree.XMLSchema:
    if not (SPEC / MESSAGE_XSD).is_file():
        pytest.skip("../shared/spec/fiks-arkiv is not beside the repository")
    return load_schema()


def schema_errors(xml: bytes) -> list[str]:
    """The schema's complaints about `xml` (empty when it is valid)."""
    schema = message_schema()
    doc = etree.fromstring(xml, etree.XMLParser(no_network=True, resolve_entities=False))
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def validate(xml: bytes) -> etree._Element:
    """The parsed message; the test fails when the XSD does not accept it."""
    errors = schema_errors(xml)
    assert not errors, "arkivmelding.xml is not valid against the Fiks Arkiv XSD:\n" + "\n".join(
        errors
    )
    return etree.fromstring(xml, etree.XMLParser(no_network=True, resolve_entities=False))


def validate_every_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `processor.arkiv` validate each arkivmelding.xml it serialises (every builder ends in
    its `_message`), for the rest of the test: tests/conftest.py does this for every test."""
    from processor import arkiv

    original = arkiv._message

    def checked(*children: etree._Element) -> bytes:
        xml = original(*children)
        validate(xml)
        return xml

    monkeypatch.setattr(arkiv, "_message", checked)
