"""Process flow diagrams (3.2.S.2.2, 3.2.P.3.3; flow.py): every step in order on pages that fit, the
same bytes on every build, text that stays inside its column in English and Chinese, and the
applicant's own figure placed from the dossier folder."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import subprocess
import sys
import unicodedata
from pathlib import Path

import yaml

from conftest import ROOT, run_cli
from dossiergen import flow

LABELS = flow.Labels("Materials entering", "Process step", "In-process controls", "Critical step",
                     "Control with an acceptance criterion", "Monitored", "CPP", "CPP: critical process parameter",
                     "continued from step {step}", "continued in the next figure (step {step})")


def _steps(count: int) -> list[flow.Step]:
    return [flow.Step(str(n), f"Step name number {n} with a long descriptive title of the operation",
                      critical=n % 4 == 0,
                      materials=(f"Reagent {n} (in-house grade)", "Purified water") if n % 3 == 0 else (),
                      controls=tuple((f"Control test {n}.{k} by a validated procedure", k % 2 == 0) for k in range(1 + n % 3)),
                      cpps=(f"Temperature of step {n}",) if n % 4 == 0 else ())
            for n in range(1, count + 1)]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


ZH_LABELS = flow.Labels("进入的物料", "工艺步骤", "过程控制", "关键步骤", "有可接受标准的控制", "监测", "关键工艺参数",
                        "关键工艺参数（CPP）", "接第{step}步", "转下图（第{step}步）", "、")


def _zh_steps(count: int) -> list[flow.Step]:
    return [flow.Step(str(n), f"第{n}步：脱Boc保护及成盐（盐酸维卡替尼粗品），经重结晶和干燥", critical=n % 4 == 0,
                      materials=(f"试剂{n}（自制级）", "纯化水") if n % 3 == 0 else (),
                      controls=tuple((f"过程控制{n}.{k}：洗脱合并液中的高分子量物质（SE-HPLC）", k % 2 == 0)
                                     for k in range(1 + n % 3)),
                      cpps=(f"第{n}步温度",) if n % 4 == 0 else ())
            for n in range(1, count + 1)]


def test_a_long_process_is_split_into_figures_that_each_fit_a_page():
    """18 steps, in English and Chinese: every step once and in order over several figures, each no
    taller than a page allows and exactly as tall as measured before (the split is computed from
    typst's own layout of the texts, in the fonts they are drawn in), the later ones saying where they
    continue from."""
    for steps, lang, labels in ((_steps(18), "en", LABELS), (_zh_steps(18), "zh", ZH_LABELS)):
        groups = flow.parts(steps, lang, labels)
        heights = flow.measure(steps, lang, labels)
        assert len(groups) >= 2
        assert [s.number for group in groups for s in group] == [s.number for s in steps]
        assert max(len(g) for g in groups) - min(len(g) for g in groups) <= 3  # balanced, no two-step tail
        assert heights.figure(0, len(steps)) > flow.MAX_HEIGHT   # one figure would not fit
        index = 0
        for group in groups:
            before = steps[index - 1] if index else None
            after = steps[index + len(group)] if index + len(group) < len(steps) else None
            attachment = flow.flow_diagram("flow-test", group, labels, lang, before, after, steps)
            width, height = _png_size(attachment.get("png"))
            assert width == round(flow.WIDTH * flow.DPI)
            assert height <= flow.MAX_HEIGHT * flow.DPI
            assert abs(height - heights.figure(index, index + len(group)) * flow.DPI) <= 1, (lang, index)
            assert json.loads(attachment.get("flow"))["rows"][0]["head"].startswith(group[0].number)
            index += len(group)


def test_alt_text_names_every_step_with_its_materials_and_controls():
    steps = _steps(6)
    alt = flow.alt_text(steps, LABELS, "Flow diagram of the manufacturing process")
    for step in steps:
        assert f"Process step {step.number} {step.name}" in alt
        for test, _ in step.controls:
            assert test in alt
        for material in step.materials:
            assert material in alt
    assert alt.count("(Critical step)") == sum(s.critical for s in steps)


_SCRIPT = """
import hashlib, sys
sys.path.insert(0, {tests!r})
from test_flow import LABELS, _steps
from dossiergen import flow
a = flow.flow_diagram("flow-test", _steps(5), LABELS, "zh")
print(hashlib.sha256(a.get("png")).hexdigest(), hashlib.sha256(a.get("flow")).hexdigest())
print([len(group) for group in flow.parts(_steps(40), "zh", LABELS)])
print("matplotlib" in sys.modules)
"""


def test_the_same_process_gives_the_same_bytes_in_every_process():
    """Two runs (here and in a fresh interpreter, which has other hash seeds and font caches) give the
    same PNG and PDF input bytes and the same split, so an unchanged process never rewrites its
    document; measuring a process for its split does not load matplotlib (a slow import, not needed)."""
    ours = flow.flow_diagram("flow-test", _steps(5), LABELS, "zh")
    again = flow.flow_diagram("flow-test", _steps(5), LABELS, "zh")
    assert ours.files == again.files
    done = subprocess.run([sys.executable, "-c", _SCRIPT.format(tests=str(Path(__file__).parent))],
                          capture_output=True, text=True, check=True)
    split = str([len(group) for group in flow.parts(_steps(40), "zh", LABELS)]).replace(" ", "")
    assert done.stdout.replace(", ", ",").split() == [hashlib.sha256(ours.get("png")).hexdigest(),
                                                      hashlib.sha256(ours.get("flow")).hexdigest(), split, "False"]


def _lines(data: dict, inside: list[tuple[float, float]], tmp_path: Path) -> list[tuple[int, float, float, str]]:
    """Return the text lines a diagram's PDF (FLOW) shows above its legend: (column, left, right, text),
    points; pieces of one line that pdftotext parts (at a gap before CJK punctuation) joined again."""
    import xml.etree.ElementTree as ElementTree

    from dossiergen import plots
    from tools import require_tool

    path = tmp_path / "lines.pdf"
    path.write_bytes(plots._compiler().compile(flow.FLOW.encode(), format="pdf",
                                               sys_inputs={"flow": json.dumps(data, ensure_ascii=False)}))
    html = subprocess.run([require_tool("pdftotext"), "-bbox-layout", "-enc", "UTF-8", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout
    pieces = []
    for line in ElementTree.fromstring(html).iter("{http://www.w3.org/1999/xhtml}line"):
        words = list(line)
        left, right = min(float(w.get("xMin")) for w in words), max(float(w.get("xMax")) for w in words)
        column = min(range(len(inside)), key=lambda i: abs((inside[i][0] + inside[i][1]) * 36 - (left + right) / 2))
        pieces.append((column, round(float(line.get("yMin"))), left, right, " ".join(w.text or "" for w in words)))
    legend = min(top for _, top, _, _, text in pieces if text.startswith(data["critical"].split()[0]))
    lines: dict[tuple[int, int], list] = {}
    for column, top, left, right, text in sorted(pieces, key=lambda piece: piece[2]):
        if top < legend and top > 12:   # below the headings
            lines.setdefault((column, top), []).append((left, right, text))
    return [(column, parts[0][0], max(right for _, right, _ in parts), "".join(text for *_, text in parts))
            for (column, _), parts in sorted(lines.items())]


LONG = ["Hydroxypropylmethylcellulosephthalateacetatesuccinate", "1234567890" * 6, "https://example.org/" + "x" * 60,
        "Na₂HPO₄·12H₂O/NaH₂PO₄·2H₂O/NaCl/KCl/KH₂PO₄-buffer-concentrate", "（" + "Ｗ" * 40 + "）"]
MIXED = "脱Boc保护及成盐（盐酸维卡替尼粗品），经重结晶、干燥和粉碎后所得的原料药，批量约为25 kg，洗脱合并液中的高分子量物质（SE-HPLC）"
UNITS = "60 mL white round HDPE bottle, 33 mm neck, 0.2 µm filter, 2 °C to 8 °C, 25 % w/w"


def test_no_line_is_wider_than_its_box(tmp_path):
    """Every line typst draws stays inside its column (the step box, the materials, the controls), in
    English and Chinese, with words longer than a line (cut, starting a line of their own), CJK and
    mixed-script text (broken by Chinese line-breaking rules: no line starts with a closing mark) and
    numbers held to their units; nothing is lost."""
    for lang, labels in (("en", LABELS), ("zh", ZH_LABELS)):
        steps = [flow.Step("1", f"Granulation with {LONG[0]} binder", True, (LONG[0], LONG[1], MIXED, UNITS),
                           tuple((text, index % 2 == 0) for index, text in enumerate(LONG + [MIXED, UNITS])), (LONG[3], MIXED)),
                 flow.Step("2", MIXED + LONG[2], False, (LONG[4],), ((LONG[2], True),)),
                 flow.Step("3", UNITS + " " + LONG[1], False, (), ((MIXED, False),), (UNITS,))]
        data = flow.flow_input(steps, labels, lang)
        (mat0, mat1), (box0, box1), (ctl0, ctl1) = data["columns"]
        inside = [(mat0, mat1 - 0.1), (box0 + flow.PAD, box1 - flow.PAD), (ctl0 + 0.13, ctl1 - 0.02)]
        lines = _lines(data, inside, tmp_path)
        assert len(lines) > 40
        for column, left, right, text in lines:
            low, high = inside[column]
            # punctuation may hang into the margin (typst's overhang), at most half an em: inside the box's padding
            hang = flow.BOX_PT / 2
            assert low * 72 - 0.5 - (hang if unicodedata.category(text[0])[0] == "P" else 0) <= left, (lang, text, left)
            assert right <= high * 72 + 0.5 + (hang if unicodedata.category(text[-1])[0] == "P" else 0), (lang, text, right)
            assert text[0] not in "）」』】〕》、。，；：！？" and text[-1] not in "（「『【〔《", (lang, text)
            assert not any(text.endswith(number) for number in (" 60", " 33", " 0.2", " 2", " 8", " 25")), (lang, text)
        assert flow.PAD * 72 > hang
        joined = "".join(text for *_, text in lines).replace(" ", "").replace("\u00a0", "")
        for text in LONG + [MIXED, UNITS]:
            assert text.replace(" ", "") in joined, (lang, text)


def _minimal_with(tmp_path: Path, edit) -> Path:
    from conftest import materialise_case

    dossier = materialise_case("minimal", tmp_path)
    path = dossier / "substances" / "ds-minitab.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    edit(dossier, data)
    first = path.read_text("utf-8").splitlines()[0]
    path.write_text(first + "\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return dossier


def test_the_process_documents_carry_a_numbered_flow_diagram(tmp_path):
    dossier = _minimal_with(tmp_path, lambda folder, data: None)
    done = run_cli("render", "--dossier", str(dossier), "--section", "3.2.S.2.2")
    assert done.exit_code == 0, done.stderr
    assert "![Flow diagram of the manufacturing process: Process step 1 " in done.stdout
    assert "Figure 3.2.S.2.2-1 Process flow diagram" in done.stdout


def test_an_applicants_flow_diagram_is_placed_from_the_dossier_folder(tmp_path):
    """process.flow_diagram names a PNG in the dossier folder: the document shows that figure with
    its caption, not a drawn one (and validation refuses one outside the folder: cases/figure-outside)."""
    png = flow.flow_diagram("x", _steps(2), LABELS, "en").get("png")

    def edit(folder, data):
        (folder / "figures").mkdir()
        (folder / "figures" / "flow.png").write_bytes(png)
        data["manufacture"]["process"]["flow_diagram"] = {"file": "figures/flow.png", "caption": "Upstream and downstream process"}

    dossier = _minimal_with(tmp_path, edit)
    assert run_cli("validate", "--dossier", str(dossier)).exit_code == 0
    done = run_cli("render", "--dossier", str(dossier), "--section", "3.2.S.2.2")
    assert "Figure 3.2.S.2.2-1 Upstream and downstream process (supplied by the applicant)" in done.stdout
    assert "figures/flow.png" not in done.stdout   # placed, not named
    attachment = flow.supplied_figure("flow-x", dossier, "figures/flow.png")
    assert attachment.get("png") == png


def test_an_svg_figure_gets_a_png_for_word(tmp_path):
    (tmp_path / "f.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
                                    '<rect width="200" height="100" fill="#0072B2"/></svg>', "utf-8")
    attachment = flow.supplied_figure("flow-x", tmp_path, "f.svg")
    assert attachment.get("svg").startswith(b"<svg")
    assert _png_size(attachment.get("png"))[0] > 100


HOSTILE = ['#import "/etc/passwd": *', "]", "\\", '"', "$x^2$ *bold* _it_", "<label> @ref // not a comment", "#{panic()}"]


def _pdf_text(data: dict, tmp_path: Path) -> str:
    """Return the diagram's text as a PDF of the same program shows it, without white space."""
    from dossiergen import plots
    from tools import require_tool

    path = tmp_path / "flow.pdf"
    path.write_bytes(plots._compiler().compile(flow.FLOW.encode(), format="pdf",
                                               sys_inputs={"flow": json.dumps(data, ensure_ascii=False)}))
    text = subprocess.run([require_tool("pdftotext"), "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    return "".join(text.split())


def test_every_step_material_and_control_is_printed_as_written(tmp_path):
    """typst wraps and sets the texts; text from the data never becomes typst markup or code (DESIGN.md
    section 8), and the fixed words, steps, materials, controls and CPPs are all there."""
    steps = [flow.Step("1", HOSTILE[0], True, (HOSTILE[1], HOSTILE[2]), ((HOSTILE[3], True), (HOSTILE[4], False)), (HOSTILE[5],)),
             flow.Step("2", HOSTILE[6], False, (), (("Appearance", True),))]
    data = flow.flow_input(steps, LABELS, "en", after=flow.Step("3", "Fill"))
    text = _pdf_text(data, tmp_path)
    for word in HOSTILE + [LABELS.materials, LABELS.step, LABELS.controls, LABELS.critical, LABELS.control, LABELS.monitor,
                           LABELS.cpp_legend, "continuedinthenextfigure(step3)", "Appearance"]:
        assert "".join(word.split()) in text, word
    files = dict(flow.draw_flow(steps, LABELS, "en", after=flow.Step("3", "Fill")))
    assert json.loads(files["flow"]) == data and _png_size(files["png"])[0] == round(flow.WIDTH * flow.DPI)
    # the document's PDF draws the same diagram itself (FLOW_FUNCTION): the texts print as written there too
    import pikepdf

    from dossiergen.attach import Attachment
    from tools import figure_in_a_document, pdf_text

    source, pdf = figure_in_a_document(Attachment("flow-hostile", tuple(files.items())))
    assert "dossiergen-flow(json(bytes(" in source and "<svg" not in source
    text = pdf_text(pdf, tmp_path)
    for word in HOSTILE + [LABELS.critical, "continuedinthenextfigure(step3)", "Appearance"]:
        assert "".join(word.split()) in text, word
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert not any(page.get_images() for page in opened.pages)


def test_a_chinese_diagram_sets_its_text_inside_the_figure(tmp_path):
    """Chinese text wraps inside its column (no text on the figure's outer pixels, which only the
    legend's light rule reaches) and is printed as text."""
    import io

    from PIL import Image

    labels = ZH_LABELS
    long = "脱Boc保护及成盐（盐酸维卡替尼粗品），经重结晶、干燥和粉碎后所得的原料药，批量约为25 kg"
    steps = [flow.Step("1", long, True, ("纯化水", "盐酸（36%）"), (("洗脱合并液中的高分子量物质（SE-HPLC）" * 2, True),),
                       ("温度",)), flow.Step("2", "溶解")]
    text = _pdf_text(flow.flow_input(steps, labels, "zh"), tmp_path).replace("-", "")   # pdftotext joins "SE-|HPLC"
    for word in (long, "纯化水", "盐酸（36%）", "洗脱合并液中的高分子量物质（SE-HPLC）" * 2, "关键工艺参数:温度", labels.cpp_legend):
        assert "".join(word.split()).replace("-", "") in text, word
    image = Image.open(io.BytesIO(dict(flow.draw_flow(steps, labels, "zh"))["png"])).convert("RGB")
    width, height = image.size
    edge = [image.getpixel((x, y)) for y in range(height) for x in (0, width - 1)] + \
           [image.getpixel((x, 0)) for x in range(width)]
    assert all(min(pixel) >= 200 for pixel in edge)
