"""The one-pass scan of a DOCX part (issue #9) against the plain walk it replaced.

`extract_docx._Scan` lists the elements it needs in C and finds where a paragraph or content
control ends from the tree. `_WalkScan` below is the previous scan, which got the end events from
`etree.iterwalk`; both must give the same paragraphs, deleted texts and controls on the samples,
the templates, hand-made structures (text boxes, fallbacks, nested and empty controls) and mutated
files."""

from __future__ import annotations

import io
import zipfile
import zlib

import pytest
from lxml import etree

from forms.catalog import catalogue
from forms.templates import build
from processor.extract_docx import (
    MC_FALLBACK,
    W14_CHECKBOX,
    W14_CHECKED,
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
from tests.test_extract_docx import SAMPLES, document, para, run, sdt, table

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


def _same(xml: bytes) -> None:
    root = parse_xml(xml, Limits().max_depth)
    new, old = _Scan(root), _WalkScan(root)
    assert new.paragraphs == old.paragraphs
    assert new.deleted == old.deleted
    got = [(c.tag, c.checkbox, c.checked, c.placeholder, c.paras) for c in new.controls]
    want = [(c.tag, c.checkbox, c.checked, c.placeholder, c.paras) for c in old.controls]
    assert got == want


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
