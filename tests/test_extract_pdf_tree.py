"""FORMS.md 4.1: how the AcroForm field tree of a PDF becomes field ids and raw values.

The walk reads each node's /T, /FT, /Ff, /V and /Kids, testing first for the keys that are often
absent (a parent's /FT, /Ff and /V; a widget's /T; a terminal field's /Kids), so these tests build
trees where each of them is there, absent or inherited. The trees are pypdf generic objects, as in
tests/test_forms_pdf.py.
"""

from __future__ import annotations

import io

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from processor.extract_pdf import extract_pdf
from processor.findings import Limits
from processor.ingest import ingest
from tests.conftest import TODAY
from tests.spec_support import DEL2_VALUES, field_kinds, hierarchical_pdf

RADIO = 1 << 15
PUSHBUTTON = 1 << 16


class Tree:
    """A one-page PDF whose /AcroForm /Fields is built from nested `node(...)` specs."""

    def __init__(self) -> None:
        self.writer = PdfWriter()
        self.writer.add_blank_page(612, 792)

    def obj(self, value: object):
        if isinstance(value, dict):
            return self.node(**value)
        if isinstance(value, bytes):  # a stream, e.g. a long text value
            stream = DecodedStreamObject()
            stream.set_data(value)
            return self.writer._add_object(stream)
        if isinstance(value, list):
            return ArrayObject(self.obj(v) for v in value)
        if isinstance(value, bool):
            raise TypeError("use a name for checkbox states")
        if isinstance(value, int):
            return NumberObject(value)
        if isinstance(value, float):
            return FloatObject(value)
        if isinstance(value, str) and value.startswith("/"):
            return NameObject(value)
        if isinstance(value, str):
            return TextStringObject(value)
        return value  # already a pypdf object

    def node(self, **entries: object):
        """A field or widget dictionary, added as an indirect object; `T="x"` becomes /T (x)."""
        d = DictionaryObject({NameObject(f"/{k}"): self.obj(v) for k, v in entries.items()})
        return self.writer._add_object(d)

    def pdf(self, *fields: object) -> bytes:
        acro = DictionaryObject({NameObject("/Fields"): ArrayObject(self.obj(f) for f in fields)})
        self.writer._root_object[NameObject("/AcroForm")] = acro
        out = io.BytesIO()
        self.writer.write(out)
        return out.getvalue()


def field(t: str, **entries: object) -> dict:
    return {"T": t, **entries}


def widget(**entries: object) -> dict:
    return {"Type": "/Annot", "Subtype": "/Widget", "Rect": [0, 0, 10, 10], **entries}


def read(*fields: object) -> dict[str, object]:
    return extract_pdf(Tree().pdf(*fields), Limits()).fields


# ---- inheritance down the tree -----------------------------------------------------------------


def test_a_named_kid_inherits_type_flags_and_value_from_its_parent():
    fields = read(
        field(
            "behandling",
            FT="/Btn",
            Ff=RADIO,
            V="/kurativ",
            Kids=[field("behandlingsmal"), field("annen", V="/Off")],
        )
    )
    # Both kids are radio buttons by inheritance: the first takes the parent's selection, the
    # second has its own /V, and /Off is "no selection" for a radio group (not False).
    assert fields == {"behandling.behandlingsmal": "kurativ", "behandling.annen": None}


def test_a_kids_own_entries_override_the_inherited_ones():
    fields = read(
        field(
            "soknad",
            FT="/Btn",
            Ff=0,
            V="/Yes",
            Kids=[
                field("samtykke_bekreftet"),
                field("soker_navn", FT="/Tx", V="Lege Berg"),
                field("referansenummer", FT="/Tx"),
            ],
        )
    )
    assert fields == {
        "soknad.samtykke_bekreftet": True,  # an inherited checkbox state
        "soknad.soker_navn": "Lege Berg",
        # a text field of its own, but with the parent's value: /V is inheritable too
        "soknad.referansenummer": "Yes",
    }


def test_inheritance_reaches_through_several_levels():
    fields = read(
        field(
            "kriterier",
            FT="/Btn",
            Kids=[field("okt_nytte", Kids=[field("oppfylt", V="/Ja"), field("annet", V="/Off")])],
        )
    )
    assert fields == {"kriterier.okt_nytte.oppfylt": True, "kriterier.okt_nytte.annet": False}


def test_a_parent_with_named_kids_is_no_field_of_its_own():
    fields = read(field("pasient", FT="/Tx", V="foreldreverdi", Kids=[field("diagnose", V="C34")]))
    assert fields == {"pasient.diagnose": "C34"}


# ---- terminal fields whose widgets are their kids (PyMuPDF, radio groups) ------------------------


def test_a_terminal_field_with_widget_kids_is_one_field():
    fields = read(
        field("diagnose", FT="/Tx", Ff=0, V="C34", Kids=[widget()]),
        field("opptaksomrade", FT="/Tx", Ff=0, Kids=[widget()]),  # empty: no /V at all
        field("samtykke", FT="/Btn", Ff=0, Kids=[widget(AS="/Off")]),
        field("mal", FT="/Btn", Ff=RADIO, Kids=[widget(AS="/Off"), widget(AS="/Off")]),
        field("mal2", FT="/Btn", Ff=RADIO, V="/annet", Kids=[widget(), widget()]),
    )
    assert fields == {
        "diagnose": "C34",
        "opptaksomrade": None,
        "samtykke": False,  # a checkbox without /V is not ticked
        "mal": None,  # a radio group without /V has no selection
        "mal2": "annet",
    }


def test_a_terminal_field_inherits_from_its_parent_when_its_own_keys_are_absent():
    fields = read(
        field("soknad", FT="/Btn", V="/Yes", Kids=[field("samtykke_bekreftet", Kids=[widget()])]),
        field(
            "behandling",
            FT="/Btn",
            Ff=RADIO,
            Kids=[field("mal", V="/Off", Kids=[widget()]), field("mal2", Kids=[widget()])],
        ),
    )
    assert fields == {
        "soknad.samtykke_bekreftet": True,
        "behandling.mal": None,  # a radio group by its parent's flags: /Off is no selection
        "behandling.mal2": None,
    }


def test_the_widgets_own_value_is_not_read():
    """The value of a field is its /V: a widget kid's /V (or /AS) does not count."""
    fields = read(field("samtykke", FT="/Btn", Kids=[widget(V="/Yes", AS="/Yes")]))
    assert fields == {"samtykke": False}


def test_a_widget_without_a_name_beside_named_kids_is_skipped():
    fields = read(field("litteratur", Kids=[field("tittel", FT="/Tx", V="A"), widget(V="B")]))
    assert fields == {"litteratur.tittel": "A"}


# ---- what is not a field -----------------------------------------------------------------------


def test_a_pushbutton_is_not_a_field_and_its_flag_is_inherited():
    fields = read(
        field("send", FT="/Btn", Ff=PUSHBUTTON, V="/Off"),
        field("knapper", FT="/Btn", Ff=PUSHBUTTON, Kids=[field("lagre", V="/Off")]),
        field("hake", FT="/Btn", V="/Yes"),
    )
    assert fields == {"hake": True}


def test_a_node_without_type_or_value_is_no_field():
    assert read(field("tom"), field("tekst", FT="/Tx")) == {"tekst": None}


def test_entries_that_are_not_field_dictionaries_are_skipped():
    fields = read(
        7,
        "tekst",
        b"a stream is no field",
        field("skjema", Kids=[3, "/Navn", b"strom", field("type", FT="/Tx", V="tilgang-del2")]),
    )
    assert fields == {"skjema.type": "tilgang-del2"}


def test_a_cycle_is_cut_where_it_closes_and_the_rest_is_read():
    tree = Tree()
    soknad = tree.node(T="soknad")
    indre = tree.node(T="indre", Kids=[soknad])
    kid = tree.node(T="helseforetak", FT="/Tx", V="STO")
    soknad.get_object()[NameObject("/Kids")] = ArrayObject([indre, soknad, kid])
    pdf = tree.pdf(field("skjema", Kids=[field("type", FT="/Tx", V="tilgang-del2")]), soknad)
    # Not refused at the depth limit: each node is visited once.
    assert extract_pdf(pdf, Limits()).fields == {
        "skjema.type": "tilgang-del2",
        "soknad.helseforetak": "STO",
    }


def test_a_node_under_two_parents_is_read_under_the_first():
    tree = Tree()
    shared = tree.node(T="navn", FT="/Tx", V="Lege Berg")
    pdf = tree.pdf(field("soknad", Kids=[shared]), field("forankring", Kids=[shared]))
    assert extract_pdf(pdf, Limits()).fields == {"soknad.navn": "Lege Berg"}


# ---- values --------------------------------------------------------------------------------------


def test_values_of_each_pdf_type():
    fields = read(
        field("tekst", FT="/Tx", V="Ikke-småcellet lungekreft"),
        field("lang", FT="/Tx", V=b"Lang tekst i en str\xc3\xb8m"),  # a text stream, UTF-8
        field("valg", FT="/Ch", V="/maksimalpris"),  # a name: without its slash
        field("flervalg", FT="/Ch", V=["kurativ", "annet"]),  # multi-select: the first
        field("ingen", FT="/Ch", V=[]),
        field("tall", FT="/Tx", V=146805),
    )
    assert fields == {
        "tekst": "Ikke-småcellet lungekreft",
        "lang": "Lang tekst i en strøm",
        "valg": "maksimalpris",
        "flervalg": "kurativ",
        "ingen": None,
        "tall": "146805",
    }


def test_any_checkbox_state_but_off_is_true_also_through_a_parent():
    fields = read(
        field("kriterier", FT="/Btn", Kids=[field(s, V=f"/{s}") for s in ("Yes", "On", "1", "Off")])
    )
    assert fields == {
        "kriterier.Yes": True,
        "kriterier.On": True,
        "kriterier.1": True,
        "kriterier.Off": False,
    }


def test_a_long_value_is_cut_just_past_the_limit():
    limits = Limits(max_text_chars=10)
    pdf = Tree().pdf(field("tekst", FT="/Tx", V="x" * 50))
    assert extract_pdf(pdf, limits).fields == {"tekst": "x" * 11}


def test_a_radio_group_with_its_buttons_as_kids_is_read_through_ingest():
    """The hierarchical builder writes radio groups as a field whose widgets are its kids,
    without /V when nothing is selected."""
    kinds = field_kinds()
    values = {k: v for k, v in DEL2_VALUES.items() if k != "behandling.behandlingsmal"}
    result = ingest("del2.pdf", hierarchical_pdf(kinds, values), today=TODAY)
    assert [(f.code, f.field) for f in result.errors] == [("REQUIRED", "behandling.behandlingsmal")]
    selected = ingest("del2.pdf", hierarchical_pdf(kinds, DEL2_VALUES), today=TODAY)
    assert selected.status == "accepted", selected.errors
