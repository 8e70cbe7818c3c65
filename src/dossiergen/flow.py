"""Flow diagrams of manufacturing processes (3.2.S.2.2, 3.2.P.3.3), drawn from the process-step data.

ICH M4Q(R1) asks for a flow diagram: 3.2.S.2.2 "a flow diagram of the synthetic process(es) ...
[showing] critical steps and points at which process controls, intermediate tests or final product
controls are conducted"; 3.2.P.3.3 "a flow diagram ... giving the steps of the process and showing
where materials enter the process. The critical steps and points at which process controls,
intermediate tests or final product controls are conducted should be identified."

The diagram has three columns: the materials that enter at a step (left, an arrow into the step),
the steps in order (centre, arrows between them; a critical step drawn with a heavy frame, a shaded
fill and a triangle mark, its critical process parameters named in the box) and the in-process
controls of the step (right: a filled square for a control with an acceptance criterion, an open
circle for a monitored test). A process too long for one page is split into several figures at
step boundaries, each saying where it continues.

typst draws each figure once, like the trend plots (plots.py): a fixed program (FLOW) reads the
steps as JSON, wraps every text in its column with the documents' fonts (Chinese by its
line-breaking rules) and places boxes, arrows and marks; one warm compiler makes the PNG for Word,
and the typst PDF of the document draws the diagram with the same program (FLOW_FUNCTION), its text
as text. Same inputs, same bytes. Where a long process is split (parts), the same program measures
the rows before, when the document is rendered (measure: one typst layout of the whole process, its
heights read back), so that each figure's height is known exactly, in the fonts it is drawn in.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .attach import Attachment, Drawn, drawn

WIDTH = 6.3          # inches: the text width of a portrait page
MAX_HEIGHT = 8.4     # inches: the most one figure may take (a portrait page less its caption)
DPI = 150
BOX_PT, SIDE_PT, HEAD_PT = 7.5, 6.8, 7.5
LEADING = 1.28       # line height / font size
GAP = 0.16           # inches between two step rows (the arrow's length)
PAD = 0.06           # inches inside a box around its text
ITEM_GAP = 0.035     # inches between two items of a side column
CRITICAL_FILL, PLAIN_FILL, ACCENT = "#FBE3D6", "#EEF3F8", "#C0392B"
# Characters a line may break between without a space (CJK scripts; typst breaks them by Chinese
# line-breaking rules): a run of other characters too wide for its column is cut (FLOW_FUNCTION's fit).
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f\uac00-\ud7af"
# A number is held to its unit by a no-break space: typst breaks lines at ASCII spaces only there.
_UNIT_SPACE = re.compile(r"(?<=\d) (?=[A-Za-zµ°%‰])")


@dataclass(frozen=True)
class Step:
    """What the diagram shows of one process step (texts already in the document language)."""

    number: str
    name: str
    critical: bool = False
    materials: tuple[str, ...] = ()
    controls: tuple[tuple[str, bool], ...] = ()   # (test, True for a control with an acceptance criterion)
    cpps: tuple[str, ...] = ()                     # names of critical process parameters


@dataclass(frozen=True)
class Labels:
    """Fixed words of the diagram in the document language."""

    materials: str
    step: str
    controls: str
    critical: str
    control: str
    monitor: str
    cpp: str
    cpp_legend: str
    continued_from: str   # "{step}" is replaced
    continued_in: str     # "{step}" is replaced
    sep: str = ", "


def parts(steps: list[Step], lang: str, labels: Labels) -> list[list[Step]]:
    """Return the steps split into figures that each fit one portrait page (measured once per
    content in a process: the English markets show the same process)."""
    return [list(group) for group in _parts(tuple(steps), lang, labels)]


@functools.lru_cache(maxsize=64)
def _parts(steps: tuple[Step, ...], lang: str, labels: Labels) -> tuple[tuple[Step, ...], ...]:
    heights = measure(list(steps), lang, labels)
    found, index = [], 0
    for group in _split(heights):
        found.append(steps[index:index + group])
        index += group
    return tuple(found)


@dataclass(frozen=True)
class Heights:
    """What typst measures of a process's diagram (inches, FLOW_FUNCTION with the documents' fonts):
    the headings above the steps, each step's row, the legend below, and the continuation notes."""

    top: float
    rows: tuple[float, ...]
    legend: float
    before: tuple[float, ...]   # before[i]: the note above a figure that starts at step i + 1
    after: tuple[float, ...]    # after[i]: the note below a figure that ends at step i

    def figure(self, first: int, end: int) -> float:
        """Return the height of the figure of steps first to end - 1, as FLOW_FUNCTION draws it."""
        height = self.top + sum(self.rows[first:end]) + (end - first - 1) * GAP + self.legend
        if first > 0:
            height += self.before[first - 1] + GAP
        if end < len(self.rows):
            height += GAP + 0.04 + self.after[end - 1]
        return height


def _split(heights: Heights) -> list[int]:
    """Return how many consecutive steps go in each figure: the fewest figures no taller than
    MAX_HEIGHT (a step taller than that alone in its figure), the tallest of them as low as it can be."""
    count = len(_fill(heights, MAX_HEIGHT))
    total = len(heights.rows)
    limits = sorted({heights.figure(first, end) for first in range(total) for end in range(first + 1, total + 1)})
    low, high = 0, len(limits) - 1   # the smallest limit that still gives `count` figures
    while low < high:
        middle = (low + high) // 2
        if len(_fill(heights, limits[middle])) <= count:
            high = middle
        else:
            low = middle + 1
    return _fill(heights, limits[low]) if limits else []


def _fill(heights: Heights, limit: float) -> list[int]:
    """Return how many consecutive steps go in each figure, filling each up to the limit."""
    groups, first = [], 0
    while first < len(heights.rows):
        end = first + 1
        while end < len(heights.rows) and heights.figure(first, end + 1) <= limit:
            end += 1
        groups.append(end - first)
        first = end
    return groups


def measure(steps: list[Step], lang: str, labels: Labels) -> Heights:
    """Return the heights of a process's diagram as typst draws it (FLOW_FUNCTION lays the steps out
    in the documents' fonts and reports them instead of drawing): a figure of any consecutive steps is
    exactly as tall as Heights.figure says."""
    data = flow_input(steps, labels, lang)
    data["measure"] = {"before": [labels.continued_from.replace("{step}", step.number) for step in steps[:-1]],
                       "after": [labels.continued_in.replace("{step}", step.number) for step in steps[1:]]}
    compiler = _measurer()
    compiler.compile(format="svg", sys_inputs={"flow": json.dumps(data, ensure_ascii=False, separators=(",", ":"))})
    found = json.loads(compiler.query("<dossiergen-flow-measure>", field="value", one=True, format="json"))
    return Heights(float(found["top"]), tuple(map(float, found["rows"])), float(found["legend"]),
                   tuple(map(float, found["before"])), tuple(map(float, found["after"])))


_MEASURERS: dict[int, object] = {}


def _measurer():
    """Return this process's typst compiler of FLOW for measuring (typst-py queries a program read from
    a file: it is written once to a temporary folder, removed when the process ends)."""
    import atexit
    import os
    import shutil
    import tempfile

    import typst

    from .environment import FONT_DIRS
    from .outputs import temp_prefix

    pid = os.getpid()
    if pid not in _MEASURERS:
        _MEASURERS.clear()
        folder = tempfile.mkdtemp(prefix=temp_prefix("flow"))
        atexit.register(shutil.rmtree, folder, True)
        Path(folder, "flow.typ").write_text(FLOW, "utf-8")
        _MEASURERS[pid] = typst.Compiler(input=str(Path(folder, "flow.typ")), root=folder,
                                         font_paths=[str(d) for d in FONT_DIRS], ignore_system_fonts=True)
    return _MEASURERS[pid]


def flow_diagram(name: str, steps: list[Step], labels: Labels, lang: str, before: Step | None = None,
                 after: Step | None = None, all_steps: list[Step] | None = None) -> Drawn:
    """Return the flow diagram of consecutive steps as an attachment (PNG, and its input for the PDF), drawn when its
    document is written (attach.Drawn).

    before/after: the steps just outside this figure when the process is split (continuation marks);
    all_steps: the whole process, so that every part of a split diagram has the same columns."""
    from . import plots

    return drawn(name, draw_flow, list(steps), labels, lang, before, after, list(all_steps) if all_steps else None,
                 code=(plots, *plots.flow_versions()))


def draw_flow(steps: list[Step], labels: Labels, lang: str, before: Step | None = None, after: Step | None = None,
              all_steps: list[Step] | None = None) -> tuple[tuple[str, bytes], ...]:
    """Return the PNG of a flow diagram (flow_diagram), drawn by typst (FLOW), and its input for the PDF
    ("flow": the typst PDF draws it with FLOW_FUNCTION, the text as text)."""
    from . import plots

    data = json.dumps(flow_input(steps, labels, lang, before, after, all_steps), ensure_ascii=False, separators=(",", ":"))
    png = plots._compiler().compile(FLOW.encode(), format="png", ppi=DPI, sys_inputs={"flow": data})
    return (("png", plots._with_resolution(png, DPI)), ("flow", data.encode("utf-8")))


def flow_input(steps: list[Step], labels: Labels, lang: str, before: Step | None = None, after: Step | None = None,
               all_steps: list[Step] | None = None) -> dict:
    """Return what FLOW draws: the columns (inches), the steps' texts (a number held to its unit by a
    no-break space), the fixed words."""
    def text(value: str) -> str:
        return _UNIT_SPACE.sub("\u00a0", re.sub(r"[ \t\r\n]+", " ", str(value).strip()))

    rows = [{"head": text(f"{step.number}\u2002{step.name}"), "critical": step.critical,
             "cpp": text(f"{labels.cpp}: {labels.sep.join(step.cpps)}") if step.cpps else None,
             "materials": [text(m) for m in step.materials],
             "controls": [[text(test), bool(is_control)] for test, is_control in step.controls]} for step in steps]
    return {"lang": lang, "width": WIDTH, "columns": [list(c) for c in _columns(all_steps or steps)],
            "headings": [labels.materials, labels.step, labels.controls], "rows": rows,
            "before": labels.continued_from.replace("{step}", before.number) if before else None,
            "after": labels.continued_in.replace("{step}", after.number) if after else None,
            "critical": labels.critical, "control": labels.control, "monitor": labels.monitor, "cpp": labels.cpp_legend}


# The program that draws a diagram from sys.inputs.flow (JSON, flow_input; the texts stay strings,
# never source): typst wraps each text in its column (Chinese by its line-breaking rules), measures
# it and places the boxes, arrows and marks. With d.measure (flow.measure) it reports the heights
# instead of drawing.
FLOW_FUNCTION = """
#let dossiergen-flow(d, fit: false) = {
  let IN = 1in
  let W = d.width * IN
  set text(font: ("Liberation Sans", "Noto Sans CJK SC"), lang: d.lang, fill: rgb("#111111"),
    top-edge: "ascender", bottom-edge: "descender")
  set par(leading: %(leading)sem, spacing: %(leading)sem, justify: false)
  let (BOX, SIDE, HEAD) = (%(box)spt, %(side)spt, %(head)spt)
  let (GAP, PAD, ITEM) = (%(gap)s * IN, %(pad)s * IN, %(item)s * IN)
  let SL = SIDE * %(lh)s
  let ACCENT = rgb("%(accent)s")
  let at(x, y, body) = place(top + left, dx: x, dy: y, body)
  let col(i) = (d.columns.at(i).at(0) * IN, d.columns.at(i).at(1) * IN)
  let down(x, y0, y1, paint: rgb("#333333"), thickness: 0.8pt) = {
    at(0pt, 0pt, line(start: (x, y0), end: (x, y1 - 3.6pt), stroke: (paint: paint, thickness: thickness)))
    at(0pt, 0pt, polygon(fill: paint, stroke: none, (x, y1), (x - 1.9pt, y1 - 4.2pt), (x + 1.9pt, y1 - 4.2pt)))
  }
  let rightwards(x0, x1, y) = {
    let paint = rgb("#555555")
    at(0pt, 0pt, line(start: (x0, y), end: (x1 - 3pt, y), stroke: (paint: paint, thickness: 0.7pt)))
    at(0pt, 0pt, polygon(fill: paint, stroke: none, (x1, y), (x1 - 3.6pt, y - 1.6pt), (x1 - 3.6pt, y + 1.6pt)))
  }
  let triangle(x, y) = at(0pt, 0pt, polygon(fill: ACCENT, stroke: none, (x, y - 3.4pt), (x + 3pt, y + 1.8pt), (x - 3pt, y + 1.8pt)))
  let mark(x, y, filled) = if filled {
    at(x - 1.6pt, y - 1.6pt, rect(width: 3.2pt, height: 3.2pt, fill: rgb("#333333"), stroke: none))
  } else {
    at(x - 1.6pt, y - 1.6pt, circle(radius: 1.6pt, fill: white, stroke: 0.8pt + rgb("#333333")))
  }
  let drawing = block(context {
    let (mat, bx, ctl) = (col(0), col(1), col(2))
    let centre = (bx.at(0) + bx.at(1)) / 2
    let note(body) = block(width: 4 * IN, align(center, text(size: SIDE, style: "italic", fill: rgb("#444444"), body)))
    let shown = range(3).filter(i => col(i).at(1) > col(i).at(0))
    let headings = range(3).map(i => block(width: col(i).at(1) - col(i).at(0),
      align(center, text(size: HEAD, weight: "bold", d.headings.at(i)))))
    let head-h = calc.max(..shown.map(i => measure(headings.at(i)).height))
    // A run of letters too wide for its column (no space or CJK character to break at) starts a line
    // and is cut into lines that fit, so that no text leaves its box; other texts stay as written.
    let fit(s, width, style) = {
      if measure(style(s)).width <= width { return s }
      let out = ()
      let at = 0
      for m in s.matches(regex("[^ %(cjk)s]+")) {
        if measure(style(m.text)).width > width {
          let pieces = ("",)
          for c in m.text.clusters() {
            if pieces.last() != "" and measure(style(pieces.last() + c)).width > width { pieces.push(c) }
            else { pieces.at(-1) += c }
          }
          out.push(s.slice(at, m.start))
          if m.start > 0 { out.push(linebreak()) }
          out.push(pieces.map(p => [#p]).join(linebreak()))
          at = m.end
        }
      }
      out.push(s.slice(at))
      out.join()
    }
    let box-w = bx.at(1) - bx.at(0) - 2 * PAD
    let mat-w = calc.max(0pt, mat.at(1) - mat.at(0) - 0.1 * IN)
    let ctl-w = calc.max(0pt, ctl.at(1) - ctl.at(0) - 0.15 * IN)
    let head-text(x) = text(size: BOX, weight: "bold", x)
    let cpp-text(x) = text(size: SIDE, style: "italic", fill: ACCENT, x)
    let side-text(x) = text(size: SIDE, x)
    let rows = d.rows.map(r => {
      let inside = block(width: box-w, align(center, {
        par(head-text(fit(r.head, box-w, head-text)))
        if r.cpp != none { par(cpp-text(fit(r.cpp, box-w, cpp-text))) }
      }))
      let materials = block(width: mat-w, align(right,
        stack(dir: ttb, spacing: ITEM, ..r.materials.map(m => par(side-text(fit(m, mat-w, side-text)))))))
      let controls = block(width: ctl-w,
        stack(dir: ttb, spacing: ITEM, ..r.controls.map(c => block({
          place(top + left, dx: -0.08 * IN, dy: SL * 0.42, mark(0pt, 0pt, c.at(1)))
          par(side-text(fit(c.at(0), ctl-w, side-text)))
        }))))
      let box-h = measure(inside).height + 2 * PAD
      let mat-h = if r.materials.len() > 0 { measure(materials).height } else { 0pt }
      let ctl-h = if r.controls.len() > 0 { measure(controls).height } else { 0pt }
      (r: r, inside: inside, materials: materials, controls: controls, box-h: box-h, mat-h: mat-h, ctl-h: ctl-h,
       height: calc.max(box-h, mat-h + 2 * PAD, ctl-h + 2 * PAD))
    })
    let left-w = 2.0 * IN
    let right-w = W - 2.3 * IN
    let critical = block(width: left-w, text(size: SIDE, d.critical))
    let cpp = block(width: left-w, text(size: SIDE, style: "italic", fill: ACCENT, d.cpp))
    let control = block(width: right-w, text(size: SIDE, d.control))
    let monitor = block(width: right-w, text(size: SIDE, d.monitor))
    let second = calc.max(SL, measure(critical).height, measure(control).height)
    let legend-h = 0.12 * IN + second + calc.max(measure(cpp).height, measure(monitor).height) + 0.06 * IN
    if d.at("measure", default: none) != none {
      // flow.measure: the heights (inches) the split of a long process into figures is computed from
      return [#metadata((top: (head-h + 0.14 * IN) / IN, rows: rows.map(row => row.height / IN), legend: legend-h / IN,
        before: d.measure.before.map(s => measure(note(s)).height / IN),
        after: d.measure.after.map(s => measure(note(s)).height / IN))) <dossiergen-flow-measure>]
    }
    let parts = ()
    for i in shown { parts.push(at(col(i).at(0), 0.05 * IN, headings.at(i))) }
    let y = head-h + 0.14 * IN
    if d.before != none {
      let n = note(d.before)
      parts.push(at(centre - 2 * IN, y, n))
      let h = measure(n).height
      parts.push(down(centre, y + h + 0.02 * IN, y + h + GAP))
      y += h + GAP
    }
    let previous = none
    for row in rows {
      let top = y + (row.height - row.box-h) / 2
      let mid = y + row.height / 2
      let critical = row.r.critical
      parts.push(at(bx.at(0), top, rect(width: bx.at(1) - bx.at(0), height: row.box-h, radius: 0.04 * IN,
        fill: rgb(if critical { "%(critical_fill)s" } else { "%(plain_fill)s" }),
        stroke: if critical { 1.8pt + ACCENT } else { 0.8pt + rgb("#4A6A8A") })))
      if critical { parts.push(triangle(bx.at(0) - 0.1 * IN, calc.min(top + 0.09 * IN, mid - 6pt))) }  // clear of an arrow at mid
      parts.push(at(bx.at(0) + PAD, top + PAD, row.inside))
      if previous != none { parts.push(down(centre, previous, top)) }
      previous = top + row.box-h
      if row.r.materials.len() > 0 {
        parts.push(at(mat.at(0), mid - row.mat-h / 2, row.materials))
        parts.push(rightwards(mat.at(1), bx.at(0) - 0.02 * IN, mid))
      }
      if row.r.controls.len() > 0 {
        parts.push(at(0pt, 0pt, line(start: (bx.at(1), mid), end: (ctl.at(0) - 0.02 * IN, mid),
          stroke: (paint: rgb("#555555"), thickness: 0.7pt, dash: (2.1pt, 1.4pt)))))
        parts.push(at(ctl.at(0) + 0.13 * IN, mid - row.ctl-h / 2, row.controls))
      }
      y += row.height + GAP
    }
    y -= GAP
    if d.after != none {
      parts.push(down(centre, previous, y + GAP))
      let n = note(d.after)
      parts.push(at(centre - 2 * IN, y + GAP + 0.02 * IN, n))
      y += GAP + 0.04 * IN + measure(n).height
    }
    let ly = y + 0.12 * IN
    parts.push(at(0pt, 0pt, line(start: (0pt, ly - 0.06 * IN), end: (W, ly - 0.06 * IN), stroke: 0.5pt + rgb("#BBBBBB"))))
    parts.push(triangle(0.1 * IN, ly + SL / 2))
    parts.push(at(0.22 * IN, ly, critical))
    parts.push(at(0.1 * IN, ly + second, cpp))
    parts.push(mark(2.2 * IN, ly + SL / 2, true))
    parts.push(at(2.3 * IN, ly, control))
    parts.push(mark(2.2 * IN, ly + second + SL / 2, false))
    parts.push(at(2.3 * IN, ly + second, monitor))
    let total = ly + second + calc.max(measure(cpp).height, measure(monitor).height) + 0.06 * IN
    box(width: W, height: total, parts.join())
  })
  // fit: as wide as the text, as the picture of the diagram was (a diagram is drawn 6.3 in wide)
  if fit { layout(size => scale(size.width / W * 100%%, reflow: true, drawing)) } else { drawing }
}
""" % {"leading": round(LEADING - 1.117, 3), "box": BOX_PT, "side": SIDE_PT, "head": HEAD_PT, "gap": GAP, "pad": PAD,
       "item": ITEM_GAP, "lh": LEADING, "accent": ACCENT, "cjk": _CJK, "critical_fill": CRITICAL_FILL, "plain_fill": PLAIN_FILL}

FLOW = FLOW_FUNCTION + """
#let d = json(bytes(sys.inputs.flow))
#set page(width: d.width * 1in, height: auto, margin: 0pt, fill: white)
#dossiergen-flow(d)
"""


def alt_text(steps: list[Step], labels: Labels, intro: str) -> str:
    """Return the text alternative of a diagram: every step with what enters it and its controls."""
    parts_ = []
    for step in steps:
        text = f"{labels.step} {step.number} {step.name}"
        if step.critical:
            text += f" ({labels.critical})"
        if step.materials:
            text += f"; {labels.materials}: {labels.sep.join(step.materials)}"
        if step.controls:
            text += f"; {labels.controls}: {labels.sep.join(test for test, _ in step.controls)}"
        parts_.append(text)
    return f"{intro}: " + ". ".join(parts_) + "."


# layout ---------------------------------------------------------------------------------------

def _columns(steps: list[Step]) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """Return the x extents (inches) of the materials, step and controls columns; an unused side column
    gives its room to the others."""
    has_materials = any(s.materials for s in steps)
    has_controls = any(s.controls for s in steps)
    edge = 0.18  # room for the critical mark left of a box
    if has_materials and has_controls:
        return (0.0, 1.75), (1.75 + edge + 0.05, 4.15), (4.4, WIDTH)
    if has_controls:
        return (0.0, 0.0), (edge + 0.05, 3.3), (3.55, WIDTH)
    if has_materials:
        return (0.0, 2.3), (2.3 + edge + 0.05, WIDTH - 0.6), (WIDTH, WIDTH)
    return (0.0, 0.0), (1.4, WIDTH - 1.4), (WIDTH, WIDTH)


# from the data --------------------------------------------------------------------------------

def process_figures(context, document, process: dict, t, tx) -> list[tuple[Attachment, str, str]]:
    """Return (attachment, alt text, caption) of the flow diagram of a process: the applicant's own
    figure (process.flow_diagram, a PNG or SVG inside the dossier folder) or the diagram drawn from
    process.steps, in as many figures as the page needs."""
    from .text import slugify

    scope = document.get("substance") or document.get("product") or {}
    base = f"flow-{slugify(str(scope.get('id', document.number)), 40)}-{context.lang}"
    figure = process.get("flow_diagram")
    if isinstance(figure, dict) and figure.get("file"):
        note = getattr(context.model.dossier, "note_image", None)  # depends.RecordingDossier: the figure's bytes
        if note:
            note(str(figure["file"]))
        attachment = supplied_figure(base, context.model.dossier.root, str(figure["file"]))
        caption = tx(figure.get("caption"))
        return [(attachment, caption, t("flow_supplied_caption").format(caption=caption))]
    steps = [s for s in process.get("steps") or [] if isinstance(s, dict)]
    if not steps:
        return []
    materials = (scope.get("manufacture") or {}).get("materials") or scope.get("materials") or {}
    raw = materials.get("raw_materials") or [] if isinstance(materials, dict) else []
    sep = t("c_list_sep")
    shown = []
    for step in steps:
        entering = [_material(context.model, m, tx) for m in step.get("inputs") or []]
        entering += [tx(m.get("name")) for m in raw if isinstance(m, dict) and m.get("step") == step.get("id")]
        controls = tuple((tx(c.get("test")), c.get("type") == "control") for c in step.get("in_process_controls") or []
                         if isinstance(c, dict))
        cpps = tuple(tx(p.get("name")) for p in step.get("parameters") or []
                     if isinstance(p, dict) and p.get("criticality") == "critical")
        shown.append(Step(str(step.get("number", "")), tx(step.get("name")), bool(step.get("critical")),
                          tuple(dict.fromkeys(e for e in entering if e)), controls, cpps))
    labels = Labels(t("flow_materials"), t("flow_step"), t("flow_controls"), t("flow_critical"), t("flow_control"),
                    t("flow_monitor"), t("flow_cpp"), t("flow_cpp_legend"), t("flow_continued_from"),
                    t("flow_continued_in"), sep)
    groups = parts(shown, context.lang, labels)
    found, index = [], 0
    for number, group in enumerate(groups, start=1):
        before = shown[index - 1] if index else None
        after = shown[index + len(group)] if index + len(group) < len(shown) else None
        attachment = flow_diagram(f"{base}-{number}", group, labels, context.lang, before, after, shown)
        if len(groups) == 1:
            caption = t("flow_caption")
        else:
            caption = t("flow_caption_part").format(first=group[0].number, last=group[-1].number)
        found.append((attachment, alt_text(group, labels, t("flow_alt")), caption))
        index += len(group)
    return found


def _material(model, item, tx) -> str:
    """Return the name of what enters a step: the name of the excipient, drug substance, starting material
    or container component an id names (validation checks the ids: rules/refs.py)."""
    entity = model.get(item) if isinstance(item, str) else None
    if entity is not None and isinstance(entity.data, dict):
        data = entity.data
        return tx(data.get("name") or data.get("component") or (data.get("substance") if entity.type == "substance" else None) or item)
    return tx(item)


def supplied_figure(name: str, root, file: str) -> Attachment:
    """Return an image file of the dossier folder as an attachment: a PNG as it is; an SVG as the vector
    for the PDF with a PNG for Word rasterised by typst (no other tool; nothing outside the file read)."""
    from pathlib import Path

    path = (Path(root) / file).resolve()
    if not path.is_relative_to(Path(root).resolve()):   # validation refuses it first (rules/formats.py)
        raise ValueError(f"figure '{file}' is outside the dossier folder")
    data = path.read_bytes()
    if file.lower().endswith(".png"):
        return Attachment(name, (("png", data),))
    return Attachment(name, (("png", _rasterise(data)), ("svg", data)))


def _rasterise(svg: bytes) -> bytes:
    """Return a PNG of an SVG at 150 dpi, drawn by the typst compiler in an empty folder."""
    import tempfile
    from pathlib import Path

    import typst

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "figure.svg").write_bytes(svg)
        Path(tmp, "main.typ").write_text('#set page(width: auto, height: auto, margin: 0pt)\n#image("figure.svg")\n', "utf-8")
        return typst.compile(str(Path(tmp, "main.typ")), root=tmp, format="png", ppi=DPI, ignore_system_fonts=True)
