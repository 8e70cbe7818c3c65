"""Trend plots (plots.py): what a reader of a Q1E figure must find in it, drawn by typst from the
geometry Python computes: every batch's results, the fitted line(s), the confidence bound, the
limits, the claimed period, the legend and axis texts (Chinese too), whatever the labels say."""

from __future__ import annotations

import io
import json
import subprocess

import pytest

from dossiergen import plots, stats
from tools import require_tool

LABELS = dict(y="Assay (%)", months="Months", fit="Fitted line", bound="95 % confidence bound", limit="Acceptance limit",
              claim="Proposed shelf life")
TWO = [stats.Series("b1", (0, 3, 6, 9, 12), (100.1, 99.5, 99.2, 98.4, 98.0)),
       stats.Series("b2", (0, 3, 6, 9, 12), (100.6, 100.0, 99.1, 98.9, 98.2))]


def _series(count: int, slopes=None) -> list[stats.Series]:
    slopes = slopes or [-0.15] * count
    noise = (0.12, -0.08, 0.05, -0.15, 0.1, -0.03, 0.07)
    return [stats.Series(f"B-{i}", (0, 3, 6, 9, 12, 18), tuple(round(100 + s * m + noise[(i + j) % 7], 3)
                                                              for j, m in enumerate((0, 3, 6, 9, 12, 18))))
            for i, s in enumerate(slopes)]


def _axis(ticks: list) -> tuple[float, float]:
    """Return (value at fraction 0, value per fraction) from an axis's tick labels: what a reader
    reads off the axis."""
    (f0, l0), (f1, l1) = ticks[0], ticks[-1]
    v0, v1 = (float(label.replace("\u2212", "-")) for label in (l0, l1))
    per = (v1 - v0) / (f1 - f0)
    return v0 - f0 * per, per


def _pdf_text(geometry: dict, tmp_path) -> str:
    """Return the text of the plot as a PDF shows it (the same program and fonts as the SVG and PNG),
    without white space: pdftotext breaks the rotated axis title into lines."""
    pdf = plots._compiler().compile(plots.TREND.encode(), format="pdf", sys_inputs={"plot": plots.trend_input(geometry)})
    path = tmp_path / "plot.pdf"
    path.write_bytes(pdf)
    tool = require_tool("pdftotext")
    text = subprocess.run([tool, "-enc", "UTF-8", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(text.split())


def _flat(text: str) -> str:
    return "".join(text.split())


def _near(colour: tuple, hex_: str, tolerance: int = 12) -> bool:
    return all(abs(a - int(hex_[1 + 2 * i:3 + 2 * i], 16)) <= tolerance for i, a in enumerate(colour))


def test_every_batch_has_its_own_colour_and_marker_and_all_its_results():
    series = _series(8)
    geometry = plots.trend_geometry(stats.evaluate(series, lower=95, upper=105), series, LABELS, "en", 24)
    drawn = geometry["series"]
    assert [len(s["points"]) for s in drawn] == [len(s.months) for s in series]
    assert len({s["colour"] for s in drawn}) == 8 and len({s["marker"] for s in drawn}) == 8   # black-and-white print too
    assert all(s["colour"] in plots.COLOURS for s in drawn)
    x0, per_x = _axis(geometry["xticks"])
    y0, per_y = _axis(geometry["yticks"])
    (fx, fy), month, value = drawn[3]["points"][4], series[3].months[4], series[3].values[4]
    assert x0 + fx * per_x == pytest.approx(month, abs=0.01) and y0 + fy * per_y == pytest.approx(value, abs=0.01)
    assert [e["label"] for e in geometry["legend"][:8]] == [s.label for s in series]
    assert [e["marker"] for e in geometry["legend"][:8]] == [s["marker"] for s in drawn]


def test_the_limits_and_the_claim_are_lines_at_their_values():
    evaluation = stats.evaluate(TWO, lower=95, upper=105)
    geometry = plots.trend_geometry(evaluation, TWO, LABELS, "en", 24)
    y0, per_y = _axis(geometry["yticks"])
    x0, per_x = _axis(geometry["xticks"])
    limits = [line for line in geometry["lines"] if line["colour"] == plots.LIMIT]
    assert sorted(round(y0 + line["points"][0][1] * per_y, 3) for line in limits) == [95, 105]
    assert all(len({p[1] for p in line["points"]}) == 1 for line in limits)   # horizontal
    assert all(line["points"][0][0] == 0 and line["points"][-1][0] == 1 for line in limits)   # across the plot
    claim = [line for line in geometry["lines"] if line["colour"] == plots.CLAIM]
    assert len(claim) == 1 and claim[0]["dash"] and {round(x0 + p[0] * per_x, 3) for p in claim[0]["points"]} == {24}
    assert [p[1] for p in claim[0]["points"]] == [0, 1]   # top to bottom
    no_claim = plots.trend_geometry(evaluation, TWO, LABELS, "en", None)
    assert not [line for line in no_claim["lines"] if line["colour"] == plots.CLAIM]
    assert LABELS["claim"] not in [e["label"] for e in no_claim["legend"]]


@pytest.mark.parametrize("model", ["common", "separate"])
def test_the_fitted_lines_and_bounds_follow_the_model(model):
    """One line (and its bound) for pooled batches; a line and bound per batch, in its colour, when
    the batches are not poolable (Q1E B.2.2); the bound dashed and on the side(s) evaluated."""
    series = _series(3) if model == "common" else _series(3, [-0.05, -0.4, -0.9])
    evaluation = stats.evaluate(series, lower=90)
    assert evaluation.model == model and evaluation.sides == ("lower",)
    geometry = plots.trend_geometry(evaluation, series, LABELS, "en", 12)
    y0, per_y = _axis(geometry["yticks"])
    x0, per_x = _axis(geometry["xticks"])
    solid = [line for line in geometry["lines"] if line["dash"] is None and line["colour"] != plots.LIMIT]
    dashed = [line for line in geometry["lines"] if line["dash"] and line["colour"] != plots.CLAIM]
    fits = evaluation.fits[:1] if model == "common" else evaluation.fits
    assert len(solid) == len(dashed) == len(fits)
    expected = [plots.FIT_COMMON] if model == "common" else list(plots.COLOURS[:3])
    assert [line["colour"] for line in solid] == expected == [line["colour"] for line in dashed]
    for line, fit in zip(solid, fits):   # the line is the fit: read back off the axes
        for fx, fy in line["points"]:
            assert y0 + fy * per_y == pytest.approx(float(fit.mean(x0 + fx * per_x)), abs=0.01)
    for line, fit in zip(dashed, fits):  # the lower bound lies under the line, by the bound's width
        for fx, fy in line["points"][::10]:
            month = x0 + fx * per_x
            low, _ = fit.bounds([month], evaluation.level)
            assert y0 + fy * per_y == pytest.approx(float(low[0]), abs=0.01)
    two_sided = stats.evaluate(series, lower=90, upper=110, sided="two")
    assert len([line for line in plots.trend_geometry(two_sided, series, LABELS, "en", 12)["lines"]
                if line["dash"] and line["colour"] != plots.CLAIM]) == 2 * len(fits)
    kinds = [e["label"] for e in geometry["legend"]]
    assert kinds == [s.label for s in series] + [LABELS[k] for k in ("fit", "bound", "limit", "claim")]


def test_the_ticks_are_round_numbers_inside_the_axis():
    assert [label for _, label in plots._ticks(0, 28.6, 9)] == ["0", "5", "10", "15", "20", "25"]
    assert [label for _, label in plots._ticks(93.2, 105.6, 7)] == ["94", "96", "98", "100", "102", "104"]
    assert [label for _, label in plots._ticks(0.011, 0.052, 7)] == ["0.02", "0.03", "0.04", "0.05"]
    assert [label for _, label in plots._ticks(-0.6, 0.6, 7)] == ["\u22120.6", "\u22120.4", "\u22120.2", "0.0",
                                                                  "0.2", "0.4", "0.6"]
    assert [label for _, label in plots._ticks(0, 1200, 7)] == ["0", "200", "400", "600", "800", "1000", "1200"]


def test_the_legend_ticks_and_axis_titles_are_printed(tmp_path):
    series = [stats.Series("VT25-25001", TWO[0].months, TWO[0].values),
              stats.Series("VT25-25002", TWO[1].months, TWO[1].values)]
    geometry = plots.trend_geometry(stats.evaluate(series, lower=95), series, LABELS, "en", 24)
    text = _pdf_text(geometry, tmp_path)
    for label in ["VT25-25001", "VT25-25002", *LABELS.values()]:
        assert _flat(label) in text, label
    ticks = "".join(label for _, label in geometry["xticks"]) + "".join(label for _, label in geometry["yticks"])
    assert ticks in text and len(geometry["xticks"]) >= 5 and len(geometry["yticks"]) >= 4


def test_chinese_labels_are_set_as_text(tmp_path):
    labels = dict(y="含量 (%)", months="月", fit="拟合线", bound="均值的95%置信限", limit="可接受标准", claim="拟定有效期")
    geometry = plots.trend_geometry(stats.evaluate(TWO, lower=95), TWO, labels, "zh", 24)
    text = _pdf_text(geometry, tmp_path)
    for label in labels.values():
        assert _flat(label) in text, label


HOSTILE = ['#import "/etc/passwd": *', "]", "\\", '"', "$x^2$ *bold* _it_", "<label> @ref // not a comment",
           "#{panic()}", "`raw`"]


def test_hostile_labels_print_as_they_are(tmp_path):
    """Text from the data never becomes typst markup or code (DESIGN.md section 8): batch names,
    the axis title and the legend words print as written."""
    series = [stats.Series(label, TWO[i % 2].months, TWO[i % 2].values) for i, label in enumerate(HOSTILE[:4])]
    labels = dict(y=HOSTILE[4], months=HOSTILE[5], fit=HOSTILE[6], bound=HOSTILE[7], limit="]", claim="\\")
    geometry = plots.trend_geometry(stats.evaluate(series, lower=95), series, labels, "en", 24)
    text = _pdf_text(geometry, tmp_path)
    for label in HOSTILE:
        assert _flat(label) in text, label
    files = dict(plots.draw_trend(stats.evaluate(series, lower=95), series, labels, "en", 24))
    assert files["png"].startswith(b"\x89PNG") and json.loads(files["trend"]) == geometry


def test_a_plot_in_a_document_pdf_is_drawn_with_its_text_as_text(tmp_path):
    """The document's PDF draws the plot itself (TREND_FUNCTION, its input a string literal in the
    source, never source): hostile labels print as written, searchable; the plot is vector (no
    picture), a tagged figure with its alt text, as wide as the text, as the PNG for Word shows it."""
    import pikepdf

    from dossiergen.attach import Attachment
    from tools import figure_in_a_document, pdf_text, struct_nodes

    series = [stats.Series(label, TWO[i % 2].months, TWO[i % 2].values) for i, label in enumerate(HOSTILE[:4])]
    labels = dict(y=HOSTILE[4], months=HOSTILE[5], fit=HOSTILE[6], bound=HOSTILE[7], limit="]", claim="\\")
    figure = Attachment("trend-hostile", plots.draw_trend(stats.evaluate(series, lower=95), series, labels, "en", 24))
    source, pdf = figure_in_a_document(figure)
    assert "dossiergen-trend(json(bytes(" in source and "<svg" not in source and "/etc/passwd" not in source.split("json(bytes(")[0]
    text = pdf_text(pdf, tmp_path)
    for label in HOSTILE:
        assert _flat(label) in text, label
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert not any(page.get_images() for page in opened.pages) and len(opened.pages) == 1
        nodes = list(struct_nodes(opened.Root.StructTreeRoot))
        assert [str(n.get("/Alt")) for n in nodes if n.get("/S") == "/Figure"] == ["The figure"]
    from dossiergen.write.layout import PORTRAIT

    page = _page_png(pdf, tmp_path)   # the plot spans the text width (100 ppi): from the y title to the legend's end
    top = round(PORTRAIT.top / 25.4 * 100)   # below the running header
    inked = [x for x in range(page.width) if any(min(page.getpixel((x, y))) < 160 for y in range(top, page.height // 2))]
    left, right = PORTRAIT.left / 25.4 * 100, page.width - PORTRAIT.right / 25.4 * 100
    assert left <= min(inked) <= left + 12 and right - 12 <= max(inked) <= right + 1, (min(inked), max(inked), left, right)


def _page_png(pdf: bytes, tmp_path):
    from PIL import Image

    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run([require_tool("pdftoppm"), "-png", "-r", "100", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")],
                   check=True)
    return Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")



def test_long_labels_are_wrapped_inside_the_figure(tmp_path):
    """A long axis title or legend entry wraps; the figure keeps its size and every word."""
    from PIL import Image

    long = "Related substances, sum of all specified and unspecified degradation products above 0.05 % (%)"
    series = [stats.Series("Batch with a rather long identifier 2025-0001-A", TWO[0].months, TWO[0].values), TWO[1]]
    labels = dict(LABELS, y=long, bound="The one-sided 95 % confidence bound of the mean, per batch")
    geometry = plots.trend_geometry(stats.evaluate(series, upper=105), series, labels, "en", 24)
    text = _pdf_text(geometry, tmp_path)
    for label in (long, labels["bound"], series[0].label):
        assert _flat(label) in text, label
    png = dict(plots.draw_trend(stats.evaluate(series, upper=105), series, labels, "en", 24))["png"]
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (945, 525)
    width, height = image.size   # nothing drawn on the figure's outermost pixels: no text cut at its edge
    edge = [image.getpixel((x, y)) for x in range(width) for y in (0, height - 1)] + \
           [image.getpixel((x, y)) for y in range(height) for x in (0, width - 1)]
    assert all(pixel == (255, 255, 255) for pixel in edge)
