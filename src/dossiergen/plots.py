"""Trend plots of stability attributes (3.2.S.7.3, 3.2.P.8.3): results per batch, the fitted line
or lines, the 95 % confidence bound of the mean, the acceptance limits and the proposed period.

matplotlib (no pyplot state) draws each plot once, as SVG for the typst PDF (text as paths, fixed
hash salt, no date); the PNG for Word is that SVG rasterised by typst (svg_png), which costs a
fraction of a second matplotlib drawing. Same inputs, same bytes.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np

from . import stats
from .attach import Attachment, Drawn, drawn

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")  # Okabe-Ito
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
SIZE = (6.3, 3.5)   # inches: the text width of an A4 page with the documents' margins
DPI = 150


@functools.cache
def _setup(lang: str) -> dict:
    """Return matplotlib settings for a language (registers the CJK font once for zh)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    families = ["DejaVu Sans"]
    if lang == "zh" and CJK_FONT.is_file():
        from matplotlib import font_manager

        font_manager.fontManager.addfont(str(CJK_FONT))
        families.append(font_manager.FontProperties(fname=str(CJK_FONT)).get_name())
    return {"font.family": families, "font.size": 8, "svg.hashsalt": "dossiergen", "svg.fonttype": "path",
            "axes.unicode_minus": False, "path.simplify": False}


def trend_plot(name: str, evaluation: stats.Evaluation, series: list[stats.Series], labels: dict[str, str],
               lang: str, claim_months: float | None) -> Drawn:
    """Return the plot of one attribute as an attachment (PNG and SVG), drawn when its document is
    written (attach.Drawn: in the writer processes, once per content: the markets that show the
    same plot, and later builds, reuse the drawing kept by its key)."""
    return drawn(name, draw_trend, evaluation, series, labels, lang, claim_months, code=library_versions())


@functools.cache
def library_versions() -> tuple[str, ...]:
    """The versions of the drawing libraries (part of a drawing's key), read without importing them."""
    from importlib.metadata import version

    return tuple(f"{package} {version(package)}" for package in ("matplotlib", "numpy", "pillow", "typst"))


def draw_trend(evaluation: stats.Evaluation, series: list[stats.Series], labels: dict[str, str], lang: str,
               claim_months: float | None) -> tuple[tuple[str, bytes], ...]:
    """Return the PNG and SVG of a trend plot."""
    return _draw(evaluation, series, labels, lang, claim_months, "plot").files


def _draw(evaluation: stats.Evaluation, series: list[stats.Series], labels: dict[str, str], lang: str,
          claim_months: float | None, name: str) -> Attachment:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_setup(lang)):
        figure = Figure(figsize=SIZE, dpi=DPI)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot(1, 1, 1)
        data_end = max((max(s.months) for s in series if s.months), default=1.0)
        end = max(data_end, claim_months or 0) * 1.15 + 1
        grid = np.linspace(0.0, end, 200)
        q = evaluation.level
        fits = evaluation.fits[:1] if evaluation.model == "common" else evaluation.fits
        for index, item in enumerate(series):
            colour, marker = COLOURS[index % len(COLOURS)], MARKERS[index % len(MARKERS)]
            ax.scatter(item.months, item.values, s=14, color=colour, marker=marker, label=item.label, zorder=3)
        for index, fit in enumerate(fits):
            colour = "#333333" if evaluation.model == "common" else COLOURS[evaluation.fits.index(fit) % len(COLOURS)]
            ax.plot(grid, fit.mean(grid), color=colour, linewidth=1.0, label=labels["fit"] if index == 0 else None)
            low, high = fit.bounds(grid, q)
            for side, values in (("lower", low), ("upper", high)):
                if side in evaluation.sides:
                    ax.plot(grid, values, color=colour, linewidth=0.8, linestyle="--",
                            label=labels["bound"] if index == 0 and side == evaluation.sides[0] else None)
        first = True
        for limit in (evaluation.lower, evaluation.upper):
            if limit is not None:
                ax.axhline(limit, color="#C00000", linewidth=1.2, label=labels["limit"] if first else None)
                first = False
        if claim_months:
            ax.axvline(claim_months, color="#555555", linewidth=1.0, linestyle=":", label=labels["claim"])
        ax.set_xlim(0, end)
        ax.set_xlabel(labels["months"])
        ax.set_ylabel(labels["y"])
        ax.grid(True, linewidth=0.3, color="#DDDDDD")
        ax.legend(fontsize=6.5, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        figure.tight_layout()
        files = save(figure)
    return Attachment(name, files)


def save(figure) -> tuple[tuple[str, bytes], ...]:
    """Return a figure laid out by the caller as SVG (matplotlib: one drawing) and PNG (svg_png)."""
    figure.set_layout_engine(None)   # laid out already: savefig would draw it once more to lay it out
    svg = io.BytesIO()
    figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return (("png", svg_png(svg.getvalue())), ("svg", svg.getvalue()))


PNG_SOURCE = b'#set page(width: auto, height: auto, margin: 0pt, fill: white)\n#image(bytes(sys.inputs.svg), format: "svg")\n'


def svg_png(svg: bytes, ppi: float = DPI) -> bytes:
    """Return the PNG of one of our SVGs (text as paths, nothing outside it) at its own size, drawn
    by the typst compiler (one per process, kept warm; no fonts, no files: the SVG is an input)."""
    png = _png_compiler().compile(PNG_SOURCE, format="png", ppi=ppi, sys_inputs={"svg": svg.decode("utf-8")})
    return _with_resolution(png, ppi)


def _with_resolution(png: bytes, ppi: float) -> bytes:
    """Return a PNG with its resolution stated (a pHYs chunk after the header, as matplotlib wrote
    it): Word and pandoc take a picture's size from it, so the plot keeps its 6.3 inches."""
    import struct
    import zlib

    assert png[12:16] == b"IHDR" and b"pHYs" not in png[:64]
    per_metre = int(ppi / 0.0254 + 0.5)
    body = b"pHYs" + struct.pack(">IIB", per_metre, per_metre, 1)
    chunk = struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body))
    return png[:33] + chunk + png[33:]


@functools.cache
def _png_compiler():
    import typst

    return typst.Compiler(ignore_system_fonts=True)
