"""Trend plots of stability attributes (3.2.S.7.3, 3.2.P.8.3): results per batch, the fitted line
or lines, the 95 % confidence bound of the mean, the acceptance limits and the proposed period.

Python computes the plot's geometry (data to fractions of the plot area, axis ticks, the fit and
bound lines) and typst draws it: a fixed program (TREND, below) reads that geometry as JSON from
an input and lays out the text with the documents' fonts (Liberation Sans, Noto Sans CJK for
Chinese), measuring it, so that tick labels, axis titles and legend stay inside the figure in every
language. Text from the data reaches typst only as strings inside that JSON, never as source: a
label is always printed as it is (DESIGN.md section 8). One warm compiler makes the PNG for Word
(150 ppi, its resolution stated); the typst PDF of the document draws the plot itself with the same
program (TREND_FUNCTION, its input a string literal in the document's source: write/convert.lua),
vector with its text as text. Same inputs, same bytes.

The flow diagrams (flow.py) are drawn the same way, with this module's compiler.
"""

from __future__ import annotations

import functools
import json
import math
import os

import numpy as np

from . import stats
from .attach import Drawn, drawn

COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")  # Okabe-Ito
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
SIZE = (6.3, 3.5)   # inches: the text width of an A4 page with the documents' margins
DPI = 150
FIT_COMMON, LIMIT, CLAIM = "#333333", "#C00000", "#555555"
BOUND_DASH, CLAIM_DASH = [3.0, 1.3], [1.0, 1.65]   # points: dashes and gaps
SAMPLES = 61        # points of a confidence bound (a gentle curve) across the time axis
X_TICKS, Y_TICKS = 9, 7   # the most labelled ticks per axis


def _marker_shapes() -> dict[str, list[list[float]] | None]:
    """Return each marker's outline as points around its centre, for a marker 1 unit across
    (y downwards; None: a circle). The shapes differ, not only the colours: the plot reads in
    black and white."""
    def star(points: int, outer: float, inner: float, turn: float = 0.0) -> list[list[float]]:
        found = []
        for index in range(2 * points):
            radius, angle = (outer, inner)[index % 2], math.pi * index / points + turn
            found.append([round(radius * math.sin(angle), 4), round(-radius * math.cos(angle), 4)])
        return found

    arm = 1 / 6
    plus = [[-arm, -0.5], [arm, -0.5], [arm, -arm], [0.5, -arm], [0.5, arm], [arm, arm], [arm, 0.5], [-arm, 0.5],
            [-arm, arm], [-0.5, arm], [-0.5, -arm], [-arm, -arm]]
    turn = math.sqrt(0.5)
    cross = [[round((x - y) * turn * 1.1, 4), round((x + y) * turn * 1.1, 4)] for x, y in plus]
    return {"o": None, "s": [[-0.42, -0.42], [0.42, -0.42], [0.42, 0.42], [-0.42, 0.42]],
            "^": [[0, -0.56], [0.52, 0.4], [-0.52, 0.4]], "v": [[0, 0.56], [0.52, -0.4], [-0.52, -0.4]],
            "D": [[0, -0.58], [0.44, 0], [0, 0.58], [-0.44, 0]], "P": plus, "X": cross, "*": star(5, 0.66, 0.27)}


SHAPES = _marker_shapes()

# The program that draws a plot, as a typst function of its input d (JSON: numbers as fractions of
# the plot area from its top left corner, colours, and the texts as strings): a block W x H. The PNG
# (for Word) is drawn by TREND, a page of that size; the typst PDF of a document draws the same
# function in its own source (write/convert.lua, write/pandoc.figure_programs), so the plot's text is text there.
TREND_FUNCTION = """
#let dossiergen-trend(d, fit: false) = {
  let W = %(width)spt
  let H = %(height)spt
  set text(font: ("Liberation Sans", "Noto Sans CJK SC"), size: 8pt, lang: d.lang, fill: black)
  set par(leading: 0.35em, justify: false)
  let pad = 4pt
  let tick = 3.5pt
  let stroke-of(s) = (paint: rgb(s.colour), thickness: s.width * 1pt, cap: "butt", join: "round",
    dash: if s.dash == none { none } else { s.dash.map(v => v * 1pt) })
  let marker(kind, colour, size) = {
    let shape = d.shapes.at(kind)
    if shape == none { move(dx: -size / 2, dy: -size / 2, circle(radius: size / 2, fill: rgb(colour), stroke: none)) } else {
      polygon(fill: rgb(colour), stroke: none, ..shape.map(p => (p.at(0) * size, p.at(1) * size)))
    }
  }
  let at(x, y, body) = place(top + left, dx: x, dy: y, body)
  let legend-swatch(entry) = box(width: 16pt, height: 8pt, {
    if entry.marker != none {
      at(8pt, 4pt, marker(entry.marker, entry.colour, 5pt))
    } else {
      at(0pt, 4pt, line(length: 16pt, stroke: stroke-of(entry)))
    }
  })
  let legend = grid(columns: (auto, auto), column-gutter: 4pt, row-gutter: 4.5pt, align: left + horizon,
    ..d.legend.map(entry => (legend-swatch(entry), text(size: 6.5pt, entry.label))).flatten())
  let drawing = block(width: W, height: H, context {
    let legend-w = calc.min(measure(legend).width, 0.3 * W)
    let legend-h = measure(legend, width: legend-w).height
    let xlabels = d.xticks.map(t => text(t.at(1)))
    let ylabels = d.yticks.map(t => text(t.at(1)))
    let size(c) = measure(c)
    let xlabel-h = calc.max(0pt, ..xlabels.map(l => size(l).height))
    let ylabel-w = calc.max(0pt, ..ylabels.map(l => size(l).width))
    let y0 = pad + 4pt
    let x1 = pad + legend-w + 10pt
    let x-title = block(width: W / 2, align(center, d.xtitle))
    let bottom = pad + measure(x-title).height + 6pt + xlabel-h + tick + 3.5pt
    let ph = H - y0 - bottom
    let y-title = block(width: ph, align(center, d.ytitle))
    let y-title-w = measure(y-title).height
    let x0 = pad + y-title-w + 4pt + ylabel-w + tick + 3.5pt
    let pw = W - x0 - x1
    let X(f) = x0 + f * pw
    let Y(f) = y0 + f * ph
    let thin = 0.3pt + rgb("#DDDDDD")
    for t in d.xticks { at(X(t.at(0)), y0, line(angle: 90deg, length: ph, stroke: thin)) }
    for t in d.yticks { at(x0, Y(t.at(0)), line(length: pw, stroke: thin)) }
    at(x0, y0, box(width: pw, height: ph, clip: true, {
      for s in d.lines {
        place(top + left, curve(stroke: stroke-of(s), curve.move((s.points.at(0).at(0) * pw, s.points.at(0).at(1) * ph)),
          ..s.points.slice(1).map(p => curve.line((p.at(0) * pw, p.at(1) * ph)))))
      }
    }))
    for s in d.series {
      for p in s.points { at(X(p.at(0)), Y(p.at(1)), marker(s.marker, s.colour, d.marker-size * 1pt)) }
    }
    at(x0, y0, rect(width: pw, height: ph, stroke: 0.8pt + black, fill: none))
    for (t, l) in d.xticks.zip(xlabels) {
      at(X(t.at(0)), y0 + ph, line(angle: 90deg, length: tick, stroke: 0.8pt))
      at(X(t.at(0)) - size(l).width / 2, y0 + ph + tick + 3.5pt, l)
    }
    for (t, l) in d.yticks.zip(ylabels) {
      at(x0 - tick, Y(t.at(0)), line(length: tick, stroke: 0.8pt))
      at(x0 - tick - 3.5pt - size(l).width, Y(t.at(0)) - size(l).height / 2, l)
    }
    at(x0 + pw / 2 - W / 4, H - pad - measure(x-title).height, x-title)
    at(pad, y0, rotate(-90deg, reflow: true, y-title))
    at(W - pad - legend-w, y0 + ph / 2 - legend-h / 2, block(width: legend-w, legend))
  })
  // fit: as wide as the text, as the picture of the plot was (a plot is drawn 6.3 in wide)
  if fit { layout(size => scale(size.width / W * 100%%, reflow: true, drawing)) } else { drawing }
}
""" % {"width": round(SIZE[0] * 72, 4), "height": round(SIZE[1] * 72, 4)}

TREND = TREND_FUNCTION + """
#set page(width: %(width)spt, height: %(height)spt, margin: 0pt, fill: white)
#dossiergen-trend(json(bytes(sys.inputs.plot)))
""" % {"width": round(SIZE[0] * 72, 4), "height": round(SIZE[1] * 72, 4)}


def trend_plot(name: str, evaluation: stats.Evaluation, series: list[stats.Series], labels: dict[str, str],
               lang: str, claim_months: float | None) -> Drawn:
    """Return the plot of one attribute as an attachment (PNG, and its input for the PDF), drawn when its document is
    written (attach.Drawn: in the writer processes, once per content: the markets that show the
    same plot, and later builds, reuse the drawing kept by its key)."""
    quantiles = tuple(stats._quantile(evaluation.level, fit.df) for fit in evaluation.fits)   # scipy, loaded here already
    return drawn(name, draw_trend, evaluation, series, labels, lang, claim_months, quantiles,
                 code=(stats, *trend_versions()))


@functools.cache
def trend_versions() -> tuple[str, ...]:
    """The versions of the libraries a trend plot is drawn with (part of its key), read without importing them."""
    from importlib.metadata import version

    return tuple(f"{package} {version(package)}" for package in ("numpy", "scipy", "typst"))


@functools.cache
def flow_versions() -> tuple[str, ...]:
    """The version of the library a flow diagram (flow.py) is drawn with (part of its key)."""
    from importlib.metadata import version

    return (f"typst {version('typst')}",)


def draw_trend(evaluation: stats.Evaluation, series: list[stats.Series], labels: dict[str, str], lang: str,
               claim_months: float | None, quantiles: tuple[float, ...] | None = None) -> tuple[tuple[str, bytes], ...]:
    """Return the PNG of a trend plot, and its input for the PDF ("trend": the typst PDF draws it with
    TREND_FUNCTION, the text as text); quantiles: each fit's t quantile, so that a writer process
    draws without importing scipy, about 0.8 CPU s."""
    plot = trend_input(trend_geometry(evaluation, series, labels, lang, claim_months, quantiles))
    png = _compiler().compile(TREND.encode(), format="png", ppi=DPI, sys_inputs={"plot": plot})
    return (("png", _with_resolution(png, DPI)), ("trend", plot.encode("utf-8")))


def trend_input(geometry: dict) -> str:
    """Return a plot's geometry as TREND's input (JSON; the texts in it stay strings)."""
    return json.dumps(geometry, ensure_ascii=False, separators=(",", ":"))


def trend_geometry(evaluation: stats.Evaluation, series: list[stats.Series], labels: dict[str, str], lang: str,
                   claim_months: float | None, quantiles: tuple[float, ...] | None = None) -> dict:
    """Return what the plot shows, placed: points and lines as (x, y) fractions of the plot area
    (0, 0 its top left corner), ticks as (fraction, label), the legend's entries in order."""
    data_end = max((max(s.months) for s in series if s.months), default=1.0)
    end = max(data_end, claim_months or 0) * 1.15 + 1
    grid = np.linspace(0.0, end, SAMPLES)
    fits = evaluation.fits[:1] if evaluation.model == "common" else evaluation.fits
    legend, ys, points = [], [], []
    for index, item in enumerate(series):
        colour, marker = COLOURS[index % len(COLOURS)], MARKERS[index % len(MARKERS)]
        points.append((colour, marker, list(zip(item.months, item.values))))
        ys.extend(item.values)
        legend.append({"label": item.label, "marker": marker, "colour": colour})
    drawn_lines = []   # (colour, width, dash, xs, ys), in drawing order
    keyed = {}         # the legend's line entries: the first line of each kind
    for at, fit in enumerate(fits):   # the first fits: the common one, or every batch's
        colour = FIT_COMMON if evaluation.model == "common" else COLOURS[at % len(COLOURS)]
        drawn_lines.append((colour, 1.0, None, np.array([0.0, end]), fit.mean(np.array([0.0, end]))))
        keyed.setdefault("fit", drawn_lines[-1])
        low, high = fit.bounds(grid, evaluation.level, quantiles[at] if quantiles else None)
        for side, values in (("lower", low), ("upper", high)):
            if side in evaluation.sides:
                drawn_lines.append((colour, 0.8, BOUND_DASH, grid, values))
                keyed.setdefault("bound", drawn_lines[-1])
    for limit in (evaluation.lower, evaluation.upper):
        if limit is not None:
            drawn_lines.append((LIMIT, 1.2, None, np.array([0.0, end]), np.array([limit, limit])))
            keyed.setdefault("limit", drawn_lines[-1])
    for values in (line[4] for line in drawn_lines):
        ys.extend(float(v) for v in values)
    finite = [y for y in ys if math.isfinite(y)] or [0.0]
    low_y, high_y = min(finite), max(finite)
    if high_y - low_y < 1e-9 * max(1.0, abs(high_y)):
        low_y, high_y = low_y - max(1.0, abs(low_y) * 0.05), high_y + max(1.0, abs(high_y) * 0.05)
    margin = (high_y - low_y) * 0.05   # as matplotlib's automatic limits
    low_y, high_y = low_y - margin, high_y + margin

    def fx(x: float) -> float:
        return round(float(x) / end, 5)

    def fy(y: float) -> float:
        return round((high_y - float(y)) / (high_y - low_y), 5)

    lines = []
    for colour, width, dash, xs, values in drawn_lines:
        placed = [[fx(x), fy(y)] for x, y in zip(xs, values) if math.isfinite(y)]
        if len(placed) >= 2:
            lines.append({"colour": colour, "width": width, "dash": dash, "points": placed})
    if claim_months:
        keyed["claim"] = (CLAIM, 1.0, CLAIM_DASH)
        lines.append({"colour": CLAIM, "width": 1.0, "dash": CLAIM_DASH,
                      "points": [[fx(claim_months), 0.0], [fx(claim_months), 1.0]]})
    for kind in ("fit", "bound", "limit", "claim"):
        if kind in keyed:
            colour, width, dash = keyed[kind][:3]
            legend.append({"label": labels[kind], "marker": None, "colour": colour, "width": width, "dash": dash})
    return {"lang": lang, "xtitle": labels["months"], "ytitle": labels["y"], "shapes": SHAPES, "marker-size": 4.6,
            "xticks": [[fx(t), label] for t, label in _ticks(0.0, end, X_TICKS)],
            "yticks": [[fy(t), label] for t, label in _ticks(low_y, high_y, Y_TICKS)],
            "lines": lines, "legend": legend,
            "series": [{"colour": colour, "marker": marker,
                        "points": [[fx(x), fy(y)] for x, y in pts if math.isfinite(x) and math.isfinite(y)]}
                       for colour, marker, pts in points]}


def _ticks(low: float, high: float, most: int) -> list[tuple[float, str]]:
    """Return (value, label) of the axis ticks between low and high: the widest set of round values
    (steps of 1, 2, 2.5 or 5 times a power of ten) with at most `most` ticks, as matplotlib chooses;
    every label with the decimals of the step ('\u2212' before a negative value)."""
    span = high - low
    if not span > 0 or not math.isfinite(span):
        return []
    power = math.floor(math.log10(span / max(1, most - 1)))
    for factor, places in ((1, 0), (2, 0), (2.5, 1), (5, 0), (10, 0)):
        step = factor * 10.0 ** power
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        if last - first + 1 <= most:
            decimals = max(0, places - power) if factor != 10 else max(0, -power - 1)
            found = []
            for k in range(first, last + 1):
                text = f"{abs(k * step):.{decimals}f}"
                found.append((k * step, ("\u2212" if k < 0 else "") + text))
            return found
    return []


def _with_resolution(png: bytes, ppi: float) -> bytes:
    """Return a PNG with its resolution stated (a pHYs chunk after the header): Word and pandoc
    take a picture's size from it, so the plot keeps its 6.3 inches."""
    import struct
    import zlib

    assert png[12:16] == b"IHDR" and b"pHYs" not in png[:64]
    per_metre = int(ppi / 0.0254 + 0.5)
    body = b"pHYs" + struct.pack(">IIB", per_metre, per_metre, 1)
    chunk = struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body))
    return png[:33] + chunk + png[33:]


_COMPILERS: dict[int, object] = {}


def _compiler():
    """Return this process's typst compiler for figures, with the documents' fonts (the font index
    is built once per process; a forked writer builds its own)."""
    import typst

    from .environment import FONT_DIRS

    pid = os.getpid()
    if pid not in _COMPILERS:
        _COMPILERS.clear()
        _COMPILERS[pid] = typst.Compiler(font_paths=[str(d) for d in FONT_DIRS], ignore_system_fonts=True)
    return _COMPILERS[pid]
