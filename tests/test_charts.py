"""WORKFLOW.md section 7 "shown as tables and charts": accessible SVG charts of the figures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from processor.charts import (
    BACKGROUND,
    CHAR_WIDTH,
    GUIDE_COLOUR,
    SERIES_COLOURS,
    TEXT_COLOUR,
    contrast_ratio,
    count_ticks,
    flow_chart,
    number,
    outcomes_chart,
    stage_time_chart,
)
from processor.domain import State
from processor.statistics import FLOW_LABELS, OUTCOME_LABELS, compute, public_figures
from tests.test_statistics import ALL, REGIONS, many

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def stats() -> dict:
    return compute(ALL, regions=REGIONS)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> str:
    return " ".join(t for t in root.itertext())


def assert_accessible(svg: str, title: str) -> ET.Element:
    root = parse(svg)
    assert root.get("role") == "img"
    ids = root.get("aria-labelledby", "").split()
    assert len(ids) == 2
    first, second = list(root)[:2]
    assert (first.tag, first.get("id"), first.text) == (f"{SVG}title", ids[0], title)
    assert (second.tag, second.get("id")) == (f"{SVG}desc", ids[1])
    assert second.text
    assert root.find(f".//{SVG}script") is None
    assert "<script" not in svg and "javascript:" not in svg.lower()
    for el in root.iter():
        assert not any(name.lower().startswith("on") for name in el.attrib), el.attrib
    return root


def test_the_palette_has_enough_contrast():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    for colour in (TEXT_COLOUR, GUIDE_COLOUR, *SERIES_COLOURS):
        assert contrast_ratio(colour, BACKGROUND) >= 4.5, colour


def test_numbers_are_written_the_norwegian_way():
    assert number(27.0) == "27"
    assert number(26.6) == "26,6"
    assert number(1234) == "1\u00a0234"
    assert number(None) == "–"


def test_stage_time_chart(stats):
    svg = stage_time_chart(stats)
    root = assert_accessible(svg, "Behandlingstid per steg (kalenderdager)")
    shown = texts(root)
    for label in ("Totalt", "Mottatt", "Til priskontroll", "Satt opp til møte", "Median"):
        assert label in shown
    # Total median 25 and p90 26,6 calendar days (see test_statistics); priskontroll 12 / 5 / 1 …
    for value in ("25", "26,6"):
        assert value in shown
    desc = root.find(f"{SVG}desc").text
    assert "Totalt: median 25, 90-persentil 26,6 (3 saker)." in desc
    assert "Generated with pygal" not in svg  # the generator comment holds today's date


def test_stage_time_chart_in_working_days(stats):
    root = assert_accessible(
        stage_time_chart(stats, "arbeidsdager"), "Behandlingstid per steg (arbeidsdager)"
    )
    assert "18,8" in texts(root)  # p90 of 16, 18, 19 working days


def test_outcomes_chart_per_year_and_month(stats):
    root = assert_accessible(outcomes_chart(stats), "Utfall per år")
    shown = texts(root)
    assert "Innvilget" in shown and "Trukket" in shown and "2026" in shown
    desc = root.find(f"{SVG}desc").text
    assert "2025: innvilget 0, avslått 0, innført 0, trukket 1." in desc
    assert "2026: innvilget 1, avslått 1, innført 1, trukket 0." in desc
    root = assert_accessible(outcomes_chart(stats, per="maned"), "Utfall per måned")
    assert "2026-04" in texts(root)


def test_flow_chart(stats):
    root = assert_accessible(flow_chart(stats), "Flyt av saker fra mottatt til utfall")
    shown = texts(root)
    for label in ("Mottatt", "Returnert", "Trukket", "Innvilget", "Avslått", "Innført"):
        assert label in shown
    assert "Returnert til Mottatt: 3" in shown
    paths = root.findall(f".//{SVG}path")
    widths = {p.find(f"{SVG}title").text: float(p.get("stroke-width")) for p in paths}
    # Widths are proportional to the counts: Mottatt → Til priskontroll (4) is four times
    # Til priskontroll → Trukket (1).
    ratio = widths["Mottatt til Til priskontroll: 4"] / widths["Til priskontroll til Trukket: 1"]
    assert ratio == pytest.approx(4, rel=0.01)


def test_charts_of_public_figures_leave_hidden_cells_out():
    public = public_figures(compute(many(12) + ALL, regions=REGIONS))
    root = assert_accessible(flow_chart(public), "Flyt av saker fra mottatt til utfall")
    desc = root.find(f"{SVG}desc").text
    assert "Til priskontroll til Trukket: skjult (færre enn 5)." in desc
    assert "Overganger med færre enn 5 saker er skjult." in texts(root)
    root = assert_accessible(stage_time_chart(public), "Behandlingstid per steg (kalenderdager)")
    assert "Returnert for supplering: skjult (færre enn 5 saker)." in root.find(f"{SVG}desc").text
    assert_accessible(outcomes_chart(public, per="maned"), "Utfall per måned")


def test_text_is_escaped():
    hostile = '<script>alert("x")</script> & "Ø"'
    root = assert_accessible(
        flow_chart([("Mottatt", hostile, 7)]), "Flyt av saker fra mottatt til utfall"
    )
    assert hostile + " (7)" in texts(root)
    stats = {"utfall_per_ar": {"2026": {hostile: 6}}}
    root = assert_accessible(outcomes_chart(stats), "Utfall per år")
    assert hostile in texts(root)


def test_charts_are_deterministic(stats):
    assert stage_time_chart(stats) == stage_time_chart(stats)
    assert outcomes_chart(stats) == outcomes_chart(stats)
    assert flow_chart(stats) == flow_chart(stats)


def test_empty_figures_still_give_valid_charts():
    empty = compute([], regions=REGIONS)
    assert_accessible(stage_time_chart(empty), "Behandlingstid per steg (kalenderdager)")
    assert_accessible(outcomes_chart(empty), "Utfall per år")
    root = assert_accessible(flow_chart(empty), "Flyt av saker fra mottatt til utfall")
    assert "Ingen saker." in root.find(f"{SVG}desc").text


def label_boxes(root: ET.Element) -> list[tuple[str, tuple[float, float, float, float]]]:
    """The box of every text in the SVG, from its position, font size and (wrapped) lines.

    Widths use `CHAR_WIDTH` em per character, more than Arial's average advance.
    """
    boxes = []
    sizes = {root: float(root.get("font-size", 16))}
    for parent in root.iter():
        for child in parent:
            sizes[child] = float(child.get("font-size", sizes[parent]))
    for el in root.iter(f"{SVG}text"):
        size = sizes[el]
        x, y = float(el.get("x")), float(el.get("y"))
        spans = el.findall(f"{SVG}tspan")
        lines = [(el.text or "", y)] if not spans else []
        for span in spans:
            y += float(span.get("dy", 0))
            lines.append((span.text or "", y))
        width = max(len(text) for text, _ in lines) * CHAR_WIDTH * size
        left = {"start": x, "middle": x - width / 2, "end": x - width}[
            el.get("text-anchor", "start")
        ]
        top, bottom = lines[0][1] - size, lines[-1][1] + 0.25 * size
        boxes.append((" ".join(t for t, _ in lines), (left, top, left + width, bottom)))
    return boxes


def overlapping(boxes):
    return [
        (a, b)
        for i, (a, box_a) in enumerate(boxes)
        for b, box_b in boxes[i + 1 :]
        if box_a[0] < box_b[2]
        and box_b[0] < box_a[2]
        and box_a[1] < box_b[3]
        and box_b[1] < box_a[3]
    ]


LONG_FLOW = [  # both kinds of case, with the longest names of `_COLUMNS`
    ("Mottatt", "Til fagfellevurdering", 40),
    ("Mottatt", "Til priskontroll", 35),
    ("Mottatt", "Returnert", 12),
    ("Returnert", "Mottatt", 9),
    ("Til fagfellevurdering", "Fagfellevurdert", 38),
    ("Til priskontroll", "Klar for vurdering", 30),
    ("Til priskontroll", "Trukket", 5),
    ("Klar for vurdering", "Satt opp til møte", 30),
    ("Satt opp til møte", "Innvilget", 17),
    ("Satt opp til møte", "Avslått", 13),
    ("Fagfellevurdert", "Innført med vilkår", 11),
    ("Fagfellevurdert", "Ikke innført", 9),
    ("Fagfellevurdert", "Innført", 18),
    ("Innført med vilkår", "Publisert", 11),
    ("Innført", "Publisert", 18),
]


@pytest.mark.parametrize("source", ["stats", "long"])
def test_flow_chart_labels_do_not_overlap(stats, source):
    root = parse(flow_chart(stats if source == "stats" else LONG_FLOW))
    boxes = label_boxes(root)
    assert len(boxes) >= 8
    assert overlapping(boxes) == []
    viewbox = [float(v) for v in root.get("viewBox").split()]
    for text, (left, top, right, bottom) in boxes:
        assert left >= 0 and right <= viewbox[2] and top >= 0 and bottom <= viewbox[3], text


def node_x(root: ET.Element) -> dict[str, float]:
    """Each node's name (its label "Name (count)", wrapped or not) -> its x."""
    out = {}
    for el in root.iter(f"{SVG}text"):
        text = el.text or " ".join(span.text or "" for span in el.findall(f"{SVG}tspan"))
        if m := re.fullmatch(r"(.+) \([\d\s]+\)", text.strip()):
            out[m[1]] = float(el.get("x"))
    return out


def test_the_flow_places_each_state_in_its_column_by_the_domain_label():
    """Issue #12, one home for the words: the columns follow the workflow, found by the labels
    the figures give the nodes (`statistics.FLOW_LABELS`, from `processor.domain`), so a renamed
    state label keeps its column instead of falling into the last one."""
    f = FLOW_LABELS
    application = [State.MOTTATT, State.PRISKONTROLL, State.KLAR, State.SATT_OPP]
    minihta = [State.MOTTATT, State.TIL_FAGFELLE, State.FAGFELLEVURDERT, State.BESLUTTET]
    links = [(f[a], f[b], 6) for path in (application, minihta) for a, b in pairwise(path)]
    links += [(f[State.SATT_OPP], OUTCOME_LABELS["innvilget"], 6)]
    links += [(f[State.FAGFELLEVURDERT], OUTCOME_LABELS["innfort"], 6)]
    links += [(f[State.MOTTATT], f[State.RETURNERT], 6), (f[State.RETURNERT], f[State.MOTTATT], 6)]
    x = node_x(parse(flow_chart(links)))
    for path in (application, minihta):
        xs = [x[f[s]] for s in path]
        assert xs == sorted(set(xs)), path  # one column further at each step
    assert x[f[State.RETURNERT]] == x[f[State.PRISKONTROLL]]
    assert x[f[State.SATT_OPP]] == x[OUTCOME_LABELS["innfort"]] < x[OUTCOME_LABELS["innvilget"]]


def test_long_flow_labels_are_wrapped_not_cut():
    root = parse(flow_chart(LONG_FLOW))
    wrapped = [el for el in root.iter(f"{SVG}text") if el.findall(f"{SVG}tspan")]
    assert wrapped  # "Til fagfellevurdering (40)" is wider than its column
    assert "Til fagfellevurdering (40)" in [
        " ".join(s.text for s in el.findall(f"{SVG}tspan")) for el in wrapped
    ]


def test_overlap_check_sees_an_overlap():
    # the check above could fail: two labels at one spot overlap
    root = parse(
        '<svg xmlns="http://www.w3.org/2000/svg" font-size="14">'
        '<text x="10" y="20">Mottatt</text><text x="30" y="25">Trukket</text></svg>'
    )
    assert len(overlapping(label_boxes(root))) == 1


def axis_labels(root: ET.Element) -> list[str]:
    axis = root.find(f".//{SVG}g[@class='axis y always_show']")
    if axis is None:
        axis = root.find(f".//{SVG}g[@class='axis y']")
    return [t.text for t in axis.iter(f"{SVG}text") if t.text]


@pytest.mark.parametrize("largest", [1, 2, 3, 7, 12, 150])
def test_count_axis_has_whole_numbers_only(largest):
    stats = {"utfall_per_ar": {"2025": {"innvilget": largest, "trukket": 1}, "2026": {}}}
    root = parse(outcomes_chart(stats))
    ticks = axis_labels(root)
    assert ticks, "no y axis labels"
    values = [int(t.replace("\u00a0", "")) for t in ticks]  # int() fails on "0,5"
    assert max(values) >= largest and min(values) == 0
    assert count_ticks(largest) == sorted(values)
    assert len(values) <= 11
