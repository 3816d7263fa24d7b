"""The scan of a DOCX part (issue #9) against a reference walk.

`extract_docx._Scan` lists the elements it needs (lxml's `iter` with tag names) and finds where a
paragraph or content control ends from the tree. `_WalkScan` below is the previous scan, which got
the end events from `etree.iterwalk`. Both must give the same paragraphs, deleted texts and
controls on the samples, the templates, hand-made structures (text boxes, fallbacks, nested and
empty controls), mutated files and generated trees. (The same walk in C, `processor._ctree`, was
removed by issue #12: the Python scan is the one scan.)"""

from __future__ import annotations

import io
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from forms.catalog import catalogue
from forms.templates import build
from processor import ooxml
from processor.extract_docx import (
    MC_FALLBACK,
    W14_CHECKBOX,
    W14_CHECKED,
    W_NS,
    _Control,
    _control_property,
    _names_for,
    _owner,
    _piece,
    _Scan,
)
from processor.findings import Limits, Refusal
from processor.ooxml import parse_xml
from tests.fillers import sample_values
from tests.fuzzing import mutations
from tests.test_extract_docx import SAMPLES, W14, document, para, run, sdt, table

MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


class _WalkScan:
    """The scan as it was before issue #9: etree.iterwalk with start and end events."""

    def __init__(self, root: etree._Element):
        w = _names_for(root)
        paragraphs: list[str] = []
        deleted: list[str] = []
        controls: list[_Control] = []
        paras: list[list[str]] = []  # open paragraphs (a text box nests one in another)
        sdts: list[_Control] = []  # open content controls, tagged or not
        owner: _Control | None = None  # the innermost open control that has a tag
        skip = 0
        t_tag, p_tag, sdt_tag, tag_tag = w.t, w.p, w.sdt, w.tag
        for event, node in etree.iterwalk(root, events=("start", "end"), tag=w.scan_tags):
            tag = node.tag
            if event == "end":
                if tag == p_tag:
                    text = "".join(paras.pop())
                    if text and not text.isspace():
                        paragraphs.append(text)
                    if owner is not None and len(paras) >= owner.level:
                        owner.paras.append("".join(owner.cur))
                        owner.cur = []
                elif tag == sdt_tag:
                    control = sdts.pop()
                    if control.tag:
                        if control.cur or not control.paras:
                            control.paras.append("".join(control.cur))
                        controls.append(control)
                        owner = _owner(sdts)
                elif tag == MC_FALLBACK:
                    skip -= 1
                continue
            if tag == t_tag:
                piece = node.text
            elif tag == p_tag:
                paras.append([])
                continue
            elif tag == sdt_tag:
                sdts.append(_Control(len(paras)))
                continue
            elif tag == tag_tag:
                if sdts and not sdts[-1].tag:
                    sdts[-1].tag = (node.get(w.val) or "").strip()
                    owner = _owner(sdts)
                continue
            elif tag in (W14_CHECKBOX, W14_CHECKED, w.placeholder):
                if sdts:
                    _control_property(sdts[-1], node, tag, w)
                continue
            elif tag == MC_FALLBACK:
                skip += 1
                continue
            elif tag == w.del_text:
                if node.text:
                    deleted.append(node.text)
                continue
            else:
                piece = _piece(node, tag, w)
            if piece and not skip:
                if paras:
                    paras[-1].append(piece)
                if owner is not None:
                    owner.cur.append(piece)
        self.paragraphs = paragraphs
        self.deleted = deleted
        self.controls = controls


def _answer(scan) -> tuple:
    controls = [(c.tag, c.checkbox, c.checked, c.placeholder, c.paras) for c in scan.controls]
    return scan.paragraphs, scan.deleted, controls


def _same(xml: bytes) -> None:
    root = parse_xml(xml, Limits().max_depth)
    _same_tree(root)


def _same_tree(root: etree._Element) -> None:
    want = _answer(_WalkScan(root))
    assert _answer(_Scan(root)) == want


def test_scan_of_a_subtree_stops_at_it():
    """The walk leaves the element it was given and never climbs to its siblings or parent."""
    root = parse_xml(document(para(run("a")) + para(run("b"))).encode(), Limits().max_depth)
    first = root[0][0]
    assert _Scan(first).paragraphs == ["a"]


def test_scan_of_a_strict_document():
    strict = "http://purl.oclc.org/ooxml/wordprocessingml/main"
    xml = document(sdt("felt", para(run("verdi")))).replace(W_NS, strict)
    root = parse_xml(xml.encode(), Limits().max_depth)
    assert [c.tag for c in _Scan(root).controls] == ["felt"]
    _same_tree(root)


def _parts(data: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [zf.read(n) for n in zf.namelist() if n.startswith("word/") and n.endswith(".xml")]


TEXT_BOX = (
    '<w:p><w:r><w:t>før </w:t></w:r><w:r><mc:AlternateContent xmlns:mc="{mc}"><mc:Choice Requires="wps">'
    "<w:drawing><w:txbxContent>{inner}</w:txbxContent></w:drawing></mc:Choice><mc:Fallback>"
    "<w:pict><w:txbxContent>{inner}</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent>"
    "</w:r><w:r><w:t> etter</w:t></w:r></w:p>"
)
STRUCTURES = [
    para(run("a"), sdt("x", run("b")), run("c")),
    sdt("blokk", para(run("en")) + para(run("to")) + "<w:p/>" + para()),
    sdt("ytre", para(run("a"), sdt("indre", run("b")), run("c")) + para(run("d"))),
    sdt("ytre", para(run("a"), sdt("", run("b")), run("c"))),
    sdt("tom", ""),
    "<w:sdt><w:sdtContent>" + para(run("uten tag")) + "</w:sdtContent></w:sdt>",
    sdt("plass", run("Klikk her"), "<w:showingPlcHdr/>"),
    sdt("plass", run("Fylt"), '<w:showingPlcHdr w:val="0"/>'),
    TEXT_BOX.format(mc=MC, inner=para(run("i boksen"))),
    sdt("boks", TEXT_BOX.format(mc=MC, inner=para(run("1234"), run("56")))),
    TEXT_BOX.format(mc=MC, inner=sdt("i.boks", para(run("verdi")))),
    para(
        run("a"), "<w:r><w:tab/><w:br/><w:cr/><w:noBreakHyphen/>" + '<w:sym w:char="F0FE"/></w:r>'
    ),
    para("<w:del><w:r><w:delText>slettet 123456</w:delText></w:r></w:del>", run("78901")),
    '<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr></w:p>' + para(run("x")),
    "<w:r><w:t>utenfor avsnitt</w:t></w:r>" + para(run("inni")),
    table([para(run("Skjema")), sdt("celle", para(run("v1")) + para(run("v2")))]),
    "<w:p>" + "<w:bookmarkStart/>" * 40 + run("a") + "<w:bookmarkEnd/>" * 40 + "</w:p>",
    sdt("a", sdt("b", sdt("c", para(run("dypt")) + "<w:p/>" * 3) + "<w:proofErr/>" * 20)),
    '<w:p><w:r><w:fldChar><w:ffData><w:checkBox><w:default w:val="1"/></w:checkBox></w:ffData>'
    "</w:fldChar></w:r>" + run(" Ja") + "</w:p>",
    sdt("kryss", run("☒"), '<w14:checkbox><w14:checked w14:val="1"/></w14:checkbox>'),
    "<w:p/>" * 3 + "<w:sdt/>" + "<w:p><w:pPr/></w:p>",
    # paragraphs nested in paragraphs, each ending where its parent ends
    "<w:p>" * 20 + run("innerst") + "</w:p>" * 20 + para(run("etter")),
    "<w:p>" + run("a") + "<w:p>" * 5 + run("b") + "</w:p>" * 5 + run("c") + "</w:p>",
    # an untagged control between two tagged ones, and a tag after the content
    sdt(
        "ytre",
        "<w:sdt><w:sdtContent>"
        + sdt("indre", para(run("i")))
        + para(run("u"))
        + "</w:sdtContent></w:sdt>"
        + para(run("y")),
    ),
    "<w:sdt><w:sdtContent>" + para(run("sen tag")) + '</w:sdtContent><w:sdtPr><w:tag w:val="sen"/>'
    "</w:sdtPr></w:sdt>" + para(run("etter")),
    sdt("  ", para(run("blank tag"))),
    # containers that end in elements with nothing listed, in cells, before tables and at the end
    table([para(run("a")) + "<w:bookmarkStart/>", para(run("b"))])
    + para(run("c"), "<w:proofErr/>")
    + "<w:tbl/>" * 3
    + "<w:sectPr><w:pgSz/></w:sectPr>",
    sdt("celle", table([para(run("1")), para(run("2"))]) + "<w:bookmarkEnd/>") + para(run("3")),
]


@pytest.mark.parametrize("body", STRUCTURES)
def test_structures(body):
    _same(document(body).encode("utf-8"))


def test_templates_of_every_form():
    for form_id in catalogue():
        for values in ({}, sample_values(form_id)):
            try:
                data = build(form_id, "docx", values)
            except (KeyError, ValueError, NotImplementedError):
                continue
            for part in _parts(data):
                _same(part)


def test_samples():
    names = sorted(SAMPLES.glob("*.docx")) if SAMPLES.is_dir() else []
    if not names:
        pytest.skip("../shared/samples is not beside the repository")
    for path in names:
        for part in _parts(path.read_bytes()):
            _same(part)


def test_mutated_documents():
    checked = 0
    for name, data in mutations(300, seed=3):
        if not name.endswith(".docx"):
            continue
        try:
            parts = _parts(data)
        except (
            zipfile.BadZipFile,
            zlib.error,
            KeyError,
            ValueError,
            EOFError,
            OSError,
            NotImplementedError,
        ):
            continue
        for part in parts:
            try:
                _same(part)
            except Refusal:  # refused parts are the parser's business, not the scan's
                continue
            checked += 1
    assert checked > 50


# ---- generated trees ------------------------------------------------------------------------

W = f"{{{W_NS}}}"
_W14 = f"{{{W14}}}"
_MC = f"{{{MC}}}"
# Any element the scans know, and some they pass through, for the disorder among the structures.
_ELEMENTS = [
    W + "p", W + "r", W + "t", W + "tab", W + "br", W + "cr", W + "noBreakHyphen", W + "sym",
    W + "checkBox", W + "checked", W + "default", W + "delText", W + "sdt", W + "sdtPr",
    W + "sdtContent", W + "tag", W + "showingPlcHdr", W + "tbl", W + "tr", W + "tc",
    W + "customXml", W + "bookmarkStart", _W14 + "checkbox", _W14 + "checked", _MC + "Fallback",
    _MC + "AlternateContent", "{urn:other}t", "p", "tag",
]  # fmt: skip
_VALUES = st.sampled_from(["", " x ", "1", "0", "true", "Off", "ON ", "f0fe", "F0A8", "felt", "☒"])
_MAYBE = st.one_of(st.none(), _VALUES)
_TEXTS = st.one_of(st.none(), st.sampled_from(["", " ", "12345", "678901", "æ ø", "\t", "a&b"]))


def _el(tag: str, children=(), text: str | None = None, **attrs: str | None) -> etree._Element:
    """An element; attributes by short name (val, w14val, char), None leaves one out."""
    names = {"val": W + "val", "w14val": _W14 + "val", "char": W + "char", "bare": "val"}
    el = etree.Element(tag, {names[k]: v for k, v in attrs.items() if v is not None})
    el.text = text
    for child in children:
        el.append(child)
    return el


def _tails(children: list, tails: list) -> list:
    for child, tail in zip(children, tails, strict=False):
        child.tail = tail
    return children


_RUN_ITEMS = st.one_of(
    st.builds(lambda t: _el(W + "t", text=t), _TEXTS),
    st.builds(lambda t: _el(W + "delText", text=t), _TEXTS),
    st.builds(lambda tag: _el(W + tag), st.sampled_from(["tab", "br", "cr", "noBreakHyphen"])),
    st.builds(lambda v: _el(W + "sym", char=v), _MAYBE),
    st.builds(
        lambda kind, v: _el(W + "checkBox", [_el(W + kind, val=v)] if kind else []),
        st.sampled_from(["checked", "default", None]),
        _MAYBE,
    ),
)
_RUNS = st.builds(lambda items: _el(W + "r", items), st.lists(_RUN_ITEMS, max_size=3))
_PROPERTIES = st.lists(
    st.one_of(
        st.builds(lambda v: _el(W + "tag", val=v), _MAYBE),
        st.builds(lambda v: _el(W + "showingPlcHdr", val=v), _MAYBE),
        st.builds(
            lambda v: _el(_W14 + "checkbox", [_el(_W14 + "checked", w14val=v)]),
            _MAYBE,
        ),
    ),
    max_size=3,
)


def _structures(inner):
    """Paragraphs, content controls (with or without properties), tables, text boxes with their
    mc:Fallback copy, and elements of any name: nested in any order."""
    kids = st.lists(inner, max_size=4)
    return st.one_of(
        st.builds(lambda c: _el(W + "p", c), kids),
        st.builds(
            lambda pr, c: _el(W + "sdt", [_el(W + "sdtPr", pr), _el(W + "sdtContent", c)]),
            _PROPERTIES,
            kids,
        ),
        st.builds(lambda c: _el(W + "sdt", c), kids),  # no sdtPr, or a tag after the content
        st.builds(
            lambda c: _el(W + "tbl", [_el(W + "tr", [_el(W + "tc", c)])]),
            kids,
        ),
        st.builds(
            lambda a, b: _el(
                _MC + "AlternateContent", [_el(_MC + "Choice", a), _el(_MC + "Fallback", b)]
            ),
            kids,
            kids,
        ),
        st.builds(
            lambda tag, c, t, tails, v: _el(tag, _tails(c, tails), t, val=v),
            st.sampled_from(_ELEMENTS),
            kids,
            _TEXTS,
            st.lists(_TEXTS, max_size=4),
            _MAYBE,
        ),
    )


_TREES = st.recursive(
    st.one_of(_RUNS, _PROPERTIES.map(lambda pr: _el(W + "sdtPr", pr))), _structures, max_leaves=30
)


@given(st.lists(_TREES, min_size=1, max_size=4))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_trees(children):
    """Random nestings of paragraphs, runs, controls, tables, text boxes and stray elements, with
    attributes, text, tails and CDATA: the two scans agree, on the tree as built and on the
    tree parsed back from its bytes."""
    root = etree.Element(W + "document", nsmap={"w": W_NS, "w14": W14, "mc": MC})
    body = etree.SubElement(root, W + "body")
    for child in children:
        body.append(child)
    _same_tree(root)
    # parsed back with CDATA kept, a text is several nodes ("12", CDATA "34", "5")
    data = etree.tostring(root).replace(b"12345", b"12<![CDATA[34]]>5")
    _same_tree(etree.fromstring(data, etree.XMLParser(strip_cdata=False)))
    _same(data)


def test_depth_check_at_the_limit():
    limit = Limits().max_depth
    for depth in (limit - 1, limit, limit + 1, 5 * limit):
        xml = "<a>" * depth + "x" + "</a>" * depth
        root = etree.fromstring(xml)
        assert bool(ooxml._depth_probe(limit)(root)) is (depth > limit)
    with pytest.raises(Refusal):
        parse_xml(("<a>" * (limit + 1) + "</a>" * (limit + 1)).encode(), limit)
    assert parse_xml(("<a>" * limit + "</a>" * limit).encode(), limit) is not None
