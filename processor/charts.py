"""Server-side SVG charts of the figures (WORKFLOW.md section 7), as strings.

Every chart is `<svg role="img" aria-labelledby="… …">` whose first children are a Norwegian
`<title>` and a `<desc>` that lists every number the chart shows, so a screen reader gets the
figures without the picture. Text is dark on white (contrast ≥ 4.5:1, see `contrast_ratio`),
values are printed as text, and no chart carries JavaScript.

- Bar and column charts use **pygal** (LGPL, pure Python, SVG-native, maintained on PyPI, works
  offline). Its output is post-processed through an XML filter: the generator comments (which hold
  today's date) and pygal's tooltip `<script>` and `<desc>` data are removed and the chart id is
  fixed, so the same figures give the same bytes. matplotlib's SVG backend was the alternative; it
  draws text as paths by default, pulls in numpy and a font cache on disk, and is far heavier for
  two simple charts.
- The flow picture is hand-drawn: no maintained Python library draws a Sankey diagram as plain SVG
  without JavaScript (pygal has none; matplotlib's `Sankey` is a single-flow arrow diagram that
  cannot show the return loop). It is a small layout: nodes in fixed columns by workflow order,
  links as stroked cubic paths whose width is proportional to the count, the return loop as an
  arc under the nodes. It is built with `xml.etree.ElementTree`, which escapes all text.

Functions take the dict of `processor.statistics.compute` or `public_figures`; hidden cells
(`null`) are left out of the picture and named in the description.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from processor.domain import State
from processor.findings import thousands
from processor.statistics import FLOW_LABELS, HIDDEN, OUTCOME_LABELS, STATE_LABELS

__all__ = [
    "BACKGROUND",
    "SERIES_COLOURS",
    "TEXT_COLOUR",
    "contrast_ratio",
    "count_ticks",
    "flow_chart",
    "outcomes_chart",
    "stage_time_chart",
]

BACKGROUND = "#ffffff"
TEXT_COLOUR = "#1a1a1a"
GUIDE_COLOUR = "#595959"
SERIES_COLOURS = ("#1f4e8c", "#a14a00", "#2e6b30", "#6b3fa0", "#8c1d40", "#005f73", "#4d4d4d")
"""Each has a contrast of at least 4.5:1 against `BACKGROUND` (tested)."""
FONT = "Arial, Helvetica, sans-serif"
SVG_NS = "http://www.w3.org/2000/svg"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HALO = {"stroke": BACKGROUND, "stroke-width": "4", "paint-order": "stroke"}

_UNITS = {"kalenderdager": "kalenderdager", "arbeidsdager": "arbeidsdager"}
_PERIODS = {"ar": ("Utfall per år", "år"), "maned": ("Utfall per måned", "måned")}


# ---- helpers -------------------------------------------------------------------------------------


def contrast_ratio(foreground: str, background: str = BACKGROUND) -> float:
    """WCAG 2 contrast ratio of two `#rrggbb` colours (1 to 21)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    hi, lo = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def number(value: float | int | None) -> str:
    """Norwegian notation: `1 234,5`, whole numbers without decimals, `–` for hidden.

    Thousands are separated by a no-break space, decimals by a comma.
    """
    if value is None:
        return "–"
    if float(value).is_integer():
        return thousands(int(value))
    return f"{value:,.1f}".replace(",", "\u00a0").replace(".", ",")


def count_ticks(largest: int | float, most: int = 10) -> list[int]:
    """Whole-number axis ticks from 0 to at least `largest`: counts have no 0,1 or 0,5.

    The step is 1, 2 or 5 times a power of ten, so there are at most `most` + 1 ticks.
    """
    top = max(1, math.ceil(largest))
    step, power = 1, 1
    while top / step > most:
        for factor in (2, 5, 10):
            if top / (power * factor) <= most or factor == 10:
                step = power * factor
                break
        power *= 10
    return list(range(0, math.ceil(top / step) * step + 1, step))


def _safe_id(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "figur"


def _local(tag: Any) -> str | None:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else None


def _accessible(
    chart_id: str, title: str, desc: str, *, values_start: bool = False, guides: bool = True
):
    """An XML filter for pygal: accessible name and description, no script, no clock."""

    def apply(root: Any) -> Any:
        for parent in list(root.iter()):
            for child in list(parent):
                tag = _local(child.tag)
                tooltip_data = tag == "desc" and child.get("class") is not None
                guide = tag == "path" and "guide" in (child.get("class") or "").split()
                if tag is None or tag == "script" or tooltip_data or (guide and not guides):
                    parent.remove(child)  # comments (with today's date), JS, tooltip data
                elif tag == "title" and parent is root:
                    parent.remove(child)  # pygal's own title; ours goes first below
                elif values_start and tag == "text" and child.get("class") == "value":
                    child.set("text-anchor", "start")  # printed beside the bar, not over it
        title_el = root.makeelement("title", {"id": f"{chart_id}-tittel"})
        title_el.text = title
        desc_el = root.makeelement("desc", {"id": f"{chart_id}-beskrivelse"})
        desc_el.text = desc
        root.insert(0, desc_el)
        root.insert(0, title_el)
        root.set("role", "img")
        root.set("aria-labelledby", f"{chart_id}-tittel {chart_id}-beskrivelse")
        root.set(XML_LANG, "nb")
        return root

    return apply


def _pygal_chart(kind: str, chart_id: str, title: str, desc: str, **config: Any) -> Any:
    import pygal
    from pygal.style import Style

    style = Style(
        background=BACKGROUND,
        plot_background=BACKGROUND,
        foreground=TEXT_COLOUR,
        foreground_strong=TEXT_COLOUR,
        foreground_subtle=GUIDE_COLOUR,
        colors=SERIES_COLOURS,
        value_colors=(TEXT_COLOUR,) * len(SERIES_COLOURS),
        opacity="1",
        opacity_hover="1",
        font_family=FONT,
        title_font_size=20,
        label_font_size=14,
        major_label_font_size=14,
        legend_font_size=14,
        value_font_size=14,
        tooltip_font_size=14,
        no_data_font_size=24,
    )
    settings: dict[str, Any] = {
        "style": style,
        "title": title,
        "js": [],  # pygal's tooltips need a script from the network; we ship none
        "disable_xml_declaration": True,
        "no_data_text": "Ingen data",
        "print_values": True,
        "print_values_position": "top",
        "value_formatter": number,
        "legend_at_bottom": True,
        "truncate_label": -1,
        "truncate_legend": -1,
    }
    settings |= config
    chart = getattr(pygal, kind)(**settings)
    chart.uuid = chart_id  # pygal's random id would make the bytes differ from call to call
    chart.add_xml_filter(
        _accessible(
            chart_id,
            title,
            desc,
            values_start=kind.startswith("Horizontal"),
            guides=not settings["print_values"],  # printed values need no guides to cross them
        )
    )
    return chart


def _render(chart: Any) -> str:
    svg = chart.render(is_unicode=True)
    return svg if isinstance(svg, str) else svg.decode("utf-8")


# ---- time per stage ------------------------------------------------------------------------------


def stage_time_chart(
    stats: Mapping[str, Any], unit: str = "kalenderdager", *, chart_id: str | None = None
) -> str:
    """Horizontal bars: median and 90th percentile of the time per stage, and the total."""
    if unit not in _UNITS:
        raise ValueError(f"unit must be one of {sorted(_UNITS)}")
    times = stats["behandlingstid"]
    rows: list[tuple[str, dict[str, Any]]] = [("Totalt", times["total"][unit])]
    rows += [(STATE_LABELS.get(s, s), t[unit]) for s, t in times["per_steg"].items()]
    title = f"Behandlingstid per steg ({_UNITS[unit]})"
    lines = [f"Median og 90-persentil i {_UNITS[unit]}, fra mottatt til avgjort og per steg."]
    for label, block in rows:
        if block.get(HIDDEN):
            lines.append(f"{label}: skjult (færre enn 5 saker).")
        elif block["antall"]:
            lines.append(
                f"{label}: median {number(block['median'])}, 90-persentil "
                f"{number(block['p90'])} ({number(block['antall'])} saker)."
            )
        else:
            lines.append(f"{label}: ingen saker.")
    chart_id = _safe_id(chart_id or f"behandlingstid-{unit}")
    chart = _pygal_chart(
        "HorizontalBar",
        chart_id,
        title,
        " ".join(lines),
        width=900,
        height=140 + 56 * len(rows),
        x_title=_UNITS[unit].capitalize(),
    )
    ordered = list(reversed(rows))  # pygal draws the first label at the bottom
    chart.x_labels = [label for label, _ in ordered]
    chart.add("Median", [block["median"] for _, block in ordered])
    chart.add("90-persentil", [block["p90"] for _, block in ordered])
    return _render(chart)


# ---- outcomes per period -------------------------------------------------------------------------


def outcomes_chart(
    stats: Mapping[str, Any], per: str = "ar", *, chart_id: str | None = None
) -> str:
    """Columns: decisions and withdrawals per year (`per="ar"`) or month (`per="maned"`)."""
    if per not in _PERIODS:
        raise ValueError(f"per must be one of {sorted(_PERIODS)}")
    table: Mapping[str, Mapping[str, Any]] = stats[f"utfall_per_{per}"]
    periods = list(table)
    codes: list[str] = []
    for counts in table.values():
        codes += [c for c in counts if c != HIDDEN and c not in codes]
    order = list(OUTCOME_LABELS)
    codes.sort(key=lambda c: (order.index(c) if c in order else len(order), c))
    title, period_word = _PERIODS[per]
    lines = [f"Antall saker per {period_word} etter utfall (avgjort, besluttet eller trukket)."]
    for p in periods:
        parts = [
            f"{OUTCOME_LABELS.get(c, c).lower()} "
            + ("skjult" if table[p].get(c, 0) is None else number(table[p].get(c, 0)))
            for c in codes
        ]
        lines.append(f"{p}: {', '.join(parts)}.")
    if not periods:
        lines.append("Ingen saker er avgjort eller trukket.")
    chart_id = _safe_id(chart_id or f"utfall-per-{per}")
    chart = _pygal_chart(
        "Bar",
        chart_id,
        title,
        " ".join(lines),
        width=max(600, min(1600, 120 + 36 * len(periods) * max(1, len(codes)))),
        height=480,
        x_label_rotation=-45 if len(periods) > 12 else 0,
        print_values=len(periods) * len(codes) <= 60,
        y_title="Antall saker",
    )
    chart.x_labels = periods
    if codes:  # pygal cannot place labels on an empty chart
        chart.y_labels = count_ticks(
            max((v for counts in table.values() for v in counts.values() if v), default=0)
        )
    for code in codes:
        # absent: none that period (0); present but null: hidden in public figures
        chart.add(OUTCOME_LABELS.get(code, code), [table[p].get(code, 0) for p in periods])
    return _render(chart)


# ---- flow (hand-drawn Sankey) --------------------------------------------------------------------

# A node's column, found by the label the figures give it (`statistics.FLOW_LABELS`, the domain's
# short state names, and the outcome labels), so the labels are written in one place only.
_STATE_COLUMNS = {
    State.MOTTATT: 0,
    State.RETURNERT: 1,
    State.PRISKONTROLL: 1,
    State.TIL_FAGFELLE: 1,
    State.KLAR: 2,
    State.FAGFELLEVURDERT: 2,
    State.SATT_OPP: 3,
    State.BESLUTTET: 3,
}
_COLUMNS = {FLOW_LABELS[s]: c for s, c in _STATE_COLUMNS.items()} | {
    OUTCOME_LABELS[o]: 3 for o in ("innfort", "innfort_med_vilkar", "ikke_innfort", "utfaset")
}
_LAST_COLUMN = 4  # outcomes of applications, "Publisert", "Trukket" and anything unknown
_WITHDRAWN = FLOW_LABELS[State.TRUKKET]
_LAST_IN_COLUMN = (FLOW_LABELS[State.RETURNERT], _WITHDRAWN)  # below: the loop and the exits
_LINK_COLOUR = SERIES_COLOURS[0]
_BACK_COLOUR = SERIES_COLOURS[1]


def _links(source: Mapping[str, Any] | Iterable[Any]) -> list[tuple[str, str, int | None]]:
    if isinstance(source, Mapping):
        return [(link["fra"], link["til"], link["antall"]) for link in source["flyt"]]
    return [(a, b, n) for a, b, n in source]


def flow_chart(
    source: Mapping[str, Any] | Iterable[tuple[str, str, int | None]],
    *,
    chart_id: str = "flyt",
) -> str:
    """A simple Sankey picture of how cases move from "Mottatt" to their outcome.

    `source` is the figures dict (its `flyt`) or the list of `statistics.flow`. Link widths are
    proportional to the number of transitions; returns are drawn as an arc back to "Mottatt".
    """
    chart_id = _safe_id(chart_id)
    links = _links(source)
    shown = [(a, b, n) for a, b, n in links if n]
    hidden = [(a, b) for a, b, n in links if n is None]

    nodes: list[str] = []
    for a, b, _ in links:
        for node in (a, b):
            if node not in nodes:
                nodes.append(node)
    column = {n: _COLUMNS.get(n, _LAST_COLUMN) for n in nodes}
    into: dict[str, int] = defaultdict(int)
    out_of: dict[str, int] = defaultdict(int)
    for a, b, n in shown:
        out_of[a] += n
        into[b] += n
    value = {n: max(into[n], out_of[n]) for n in nodes}

    width, margin_x, node_w = 1000, 24, 16
    plot_h = 360
    columns: dict[int, list[str]] = defaultdict(list)
    for n in sorted(nodes, key=lambda n: n in _LAST_IN_COLUMN):
        columns[column[n]].append(n)
    col_step = (width - 2 * margin_x - node_w - 170) / _LAST_COLUMN
    # Node labels are wrapped to the width of their column (the last column has the margin
    # on the right), so a long name never runs into the next column's label.
    label_lines = {
        n: _wrap(
            f"{n} ({number(value[n])})",
            (col_step if column[n] < _LAST_COLUMN else width - margin_x - col_step * column[n])
            - _LABEL_PAD,
            _NODE_FONT,
        )
        for n in nodes
    }
    label_h = {n: len(label_lines[n]) * _NODE_LINE for n in nodes}
    top = 48 + max((label_h[names[0]] for names in columns.values() if names), default=_NODE_LINE)
    tallest = max((sum(value[n] for n in col) for col in columns.values()), default=0)
    gaps = max((sum(label_h[n] + 12 for n in col[1:]) for col in columns.values()), default=0)
    scale = (plot_h - gaps) / tallest if tallest else 0.0

    pos: dict[str, tuple[float, float, float]] = {}  # node -> (x, y, height)
    for c, names in columns.items():
        y = top
        for i, n in enumerate(names):
            if i:
                y += label_h[n] + 12  # room for this node's label above it
            h = max(value[n] * scale, 2.0)
            pos[n] = (margin_x + c * col_step, y, h)
            y += h
    bottom = max((y + h for _, y, h in pos.values()), default=top)
    n_back = sum(1 for a, b, _ in shown if column[b] <= column[a])
    height = int(bottom + 90 + 20 * n_back)

    lines = ["Hvordan saker går fra mottatt til utfall. Antall overganger mellom stegene:"]
    lines += [f"{a} til {b}: {number(n)}." for a, b, n in shown]
    lines += [f"{a} til {b}: skjult (færre enn 5)." for a, b in hidden]
    if not links:
        lines.append("Ingen saker.")
    title = "Flyt av saker fra mottatt til utfall"

    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {width} {height}",
            "width": str(width),
            "height": str(height),
            "role": "img",
            "aria-labelledby": f"{chart_id}-tittel {chart_id}-beskrivelse",
            "xml:lang": "nb",
            "font-family": FONT,
            "class": "flyt",  # style.css: never drawn narrower than its labels can be read
        },
    )
    ET.SubElement(root, "title", {"id": f"{chart_id}-tittel"}).text = title
    ET.SubElement(root, "desc", {"id": f"{chart_id}-beskrivelse"}).text = " ".join(lines)
    ET.SubElement(root, "rect", {"width": "100%", "height": "100%", "fill": BACKGROUND})
    heading = ET.SubElement(
        root, "text", {"x": str(margin_x), "y": "36", "font-size": "20", "fill": TEXT_COLOUR}
    )
    heading.text = title

    links_g = ET.SubElement(root, "g", {"fill": "none", "stroke-opacity": "0.45"})
    labels_g = ET.SubElement(root, "g", {"font-size": "13", "fill": TEXT_COLOUR})
    taken = [  # label boxes already placed: the node names, then the counts on links
        _box(pos[n][0], pos[n][1] - 6, label_lines[n], _NODE_FONT, _NODE_LINE, "start", True)
        for n in nodes
    ]
    out_used: dict[str, float] = defaultdict(float)
    in_used: dict[str, float] = defaultdict(float)
    forward = sorted(
        (link for link in shown if column[link[1]] > column[link[0]]),
        key=lambda link: (pos[link[0]][1], pos[link[1]][1]),
    )
    for a, b, n in forward:
        w = max(n * scale, 1.0)
        xa, ya, _ = pos[a]
        xb, yb, _ = pos[b]
        y0 = ya + out_used[a] + w / 2
        y1 = yb + in_used[b] + w / 2
        out_used[a] += w
        in_used[b] += w
        x0, x1 = xa + node_w, xb
        mid = (x0 + x1) / 2
        path = ET.SubElement(
            links_g,
            "path",
            {
                "d": f"M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f}",
                "stroke": _BACK_COLOUR if b == _WITHDRAWN else _LINK_COLOUR,
                "stroke-width": f"{w:.1f}",
            },
        )
        ET.SubElement(path, "title").text = f"{a} til {b}: {number(n)}"
        text = number(n)
        box = _box(mid, (y0 + y1) / 2 + 5, [text], 13, 16, "middle")
        # thinner links, and counts that would cover a name, are in the description and title
        if w >= 12 and not any(_overlap(box, other) for other in taken):
            _halo_text(labels_g, mid, (y0 + y1) / 2 + 5, text, anchor="middle")
            taken.append(box)

    backward = [link for link in shown if column[link[1]] <= column[link[0]]]
    for i, (a, b, n) in enumerate(backward):
        w = max(n * scale, 1.0)
        xa, ya, ha = pos[a]
        xb, yb, hb = pos[b]
        dip = bottom + 40 + 20 * i
        sx, tx = xa + node_w / 2, xb + node_w / 2
        path = ET.SubElement(
            links_g,
            "path",
            {
                "d": f"M{sx:.1f},{ya + ha:.1f} C{sx:.1f},{dip:.1f} {tx:.1f},{dip:.1f} "
                f"{tx:.1f},{yb + hb:.1f}",
                "stroke": _BACK_COLOUR,
                "stroke-width": f"{min(w, node_w):.1f}",
            },
        )
        ET.SubElement(path, "title").text = f"{a} til {b}: {number(n)}"
        _halo_text(labels_g, (sx + tx) / 2, dip - 4, f"{a} til {b}: {number(n)}", anchor="middle")

    nodes_g = ET.SubElement(root, "g", {"font-size": "14", "fill": TEXT_COLOUR})
    for n in nodes:
        x, y, h = pos[n]
        rect = ET.SubElement(
            nodes_g,
            "rect",
            {
                "x": f"{x:.1f}",
                "y": f"{y:.1f}",
                "width": str(node_w),
                "height": f"{h:.1f}",
                "fill": TEXT_COLOUR,
            },
        )
        ET.SubElement(rect, "title").text = f"{n}: {number(value[n])}"
        _halo_text(nodes_g, x, y - 6, label_lines[n], line=_NODE_LINE, above=True)

    if hidden:
        note = ET.SubElement(
            root,
            "text",
            {"x": str(margin_x), "y": str(height - 12), "font-size": "13", "fill": TEXT_COLOUR},
        )
        note.text = "Overganger med færre enn 5 saker er skjult."
    return ET.tostring(root, encoding="unicode")


_NODE_FONT = 14
_NODE_LINE = 17
_LABEL_PAD = 12
CHAR_WIDTH = 0.6
"""Estimated advance of one character in `em` (Arial averages about 0.5; 0.6 is generous)."""


def _wrap(text: str, room: float, font_size: float) -> list[str]:
    """Break `text` at spaces into lines of at most `room` pixels (a long word stands alone)."""
    most = max(1, int(room / (CHAR_WIDTH * font_size)))
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= most:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _box(
    x: float,
    y: float,
    lines: list[str],
    font_size: float,
    line: float,
    anchor: str = "start",
    above: bool = False,
) -> tuple[float, float, float, float]:
    """The estimated box (left, top, right, bottom) of text drawn by `_halo_text`."""
    w = max(len(t) for t in lines) * CHAR_WIDTH * font_size
    left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
    first = y - (len(lines) - 1) * line if above else y  # baseline of the first line
    bottom = first + (len(lines) - 1) * line + 0.25 * font_size  # descenders
    return (left, first - font_size, left + w, bottom)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _halo_text(
    parent: ET.Element,
    x: float,
    y: float,
    text: str | list[str],
    anchor: str = "start",
    *,
    line: float = 17,
    above: bool = False,
) -> None:
    """Dark text with a white outline, readable over a link.

    A list of lines is drawn as `<tspan>`s; with `above` the last line sits on `y`.
    """
    lines = [text] if isinstance(text, str) else text
    first = y - (len(lines) - 1) * line if above else y
    el = ET.SubElement(
        parent,
        "text",
        {
            "x": f"{x:.1f}",
            "y": f"{first:.1f}",
            "text-anchor": anchor,
            **HALO,
        },
    )
    if len(lines) == 1:
        el.text = lines[0]
        return
    for i, part in enumerate(lines):
        span = ET.SubElement(el, "tspan", {"x": f"{x:.1f}", "dy": "0" if not i else str(line)})
        span.text = part
