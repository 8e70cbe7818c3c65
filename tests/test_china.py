"""China (NMPA) build: East Asian fonts and language tags, Chinese PDF text, glyph coverage, the
associated review (1.3.8.1) and quality standard (1.3.3) annexes, and registration-data messages."""

from __future__ import annotations

import json
import os
import posixpath
import re
import subprocess
import zipfile
from pathlib import Path

import docx
import pikepdf
import pytest
import yaml

from conftest import FIXED_EPOCH, ROOT, apply_edits, materialise_case, run_cli
from dossiergen.build import build_dossier, render_folder
from dossiergen.check import check_pdf
from tools import require_tool

ANTIBODY, TABLETS = ROOT / "dossier", ROOT / "examples" / "velcratinib-tablets"
ANNEXES = ("1.3.8.1", "1.3.3")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
LINK = re.compile(r"\]\(([^)\s]+\.pdf)\)")


@pytest.fixture(scope="module")
def cn_builds(tmp_path_factory) -> dict:
    """The antibody dossier (marketing) and the tablets example (IND) built for China into one folder."""
    saved = {k: os.environ.get(k) for k in ("SOURCE_DATE_EPOCH", "DOSSIERGEN_TODAY")}
    os.environ.update(SOURCE_DATE_EPOCH=FIXED_EPOCH, DOSSIERGEN_TODAY="2026-11-27")
    try:
        out = tmp_path_factory.mktemp("cn") / "build"
        build_dossier(ANTIBODY, "cn", "marketing", out, final=False)
        build_dossier(TABLETS, "cn", "ind", out, final=False)
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return {"antibody": (ANTIBODY, "marketing", out / "cn" / "marketing"),
            "tablets": (TABLETS, "ind", out / "cn" / "ind")}


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def _entry(folder: Path, section: str, path_part: str = "") -> dict:
    return next(d for d in _manifest(folder)["documents"] if d["section"] == section and path_part in d["pdf"])


def _pdftotext(path: Path) -> str:
    tool = require_tool("pdftotext")
    return subprocess.run([tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text("utf-8"))


def _package(folder: Path) -> dict:
    return json.loads((folder / "regional" / "cn" / "associated-review.json").read_text("utf-8"))


# fonts, language and text ------------------------------------------------------------------------
def test_docx_has_east_asian_fonts_and_zh_cn(cn_builds):
    folder = cn_builds["antibody"][2]
    entry = _entry(folder, "3.2.S.4.1")
    with zipfile.ZipFile(folder / entry["docx"]) as archive:
        styles = archive.read("word/styles.xml").decode("utf-8")
    assert 'w:eastAsia="SimSun"' in styles and 'w:eastAsia="SimHei"' in styles
    assert re.search(r'<w:lang [^>]*w:eastAsia="zh-CN"', styles)
    headings = [p.text for p in docx.Document(folder / entry["docx"]).paragraphs if p.style.name.startswith("Heading")]
    assert headings[0] == "3.2.S.4.1 质量标准"


@pytest.mark.parametrize("build, section, title", [
    ("antibody", "3.2.S.4.1", "3.2.S.4.1 质量标准"),
    ("antibody", "3.2.P.7", "3.2.P.7 包装系统"),
    ("antibody", "1.3.8.1", "1.3.8.1 原料药、药用辅料及药包材关联审评信息"),
    ("antibody", "1.3.3", "1.3.3 产品质量标准和生产工艺"),
    ("tablets", "3.2.S.2.2", "3.2.S.2.2 生产工艺和过程控制"),
    ("tablets", "1.3.3", "1.3.3 产品质量标准和生产工艺"),
])
def test_pdf_text_has_chinese_titles(cn_builds, build, section, title):
    folder = cn_builds[build][2]
    assert title in _pdftotext(folder / _entry(folder, section)["pdf"]).splitlines()


def _sample(folder: Path) -> list[dict]:
    """The annexes and every 20th Module 3 document of a build."""
    documents = _manifest(folder)["documents"]
    return [d for d in documents if d["section"] in ANNEXES] + [d for d in documents if d["kind"] == "module3"][::20]


def test_every_glyph_is_in_the_pdf_and_every_font_embedded(cn_builds):
    checked = 0
    for source, stage, folder in cn_builds.values():
        markdown = {r.document.pdf_path: r.markdown for r in render_folder(source, "cn", stage)}
        for entry in _sample(folder):
            pdf = folder / entry["pdf"]
            wanted = set(CJK.findall(markdown[entry["pdf"]]))
            assert len(wanted) > 10, entry["pdf"]  # the document is in Chinese
            assert not wanted - set(_pdftotext(pdf)), f"{entry['pdf']}: glyphs missing from the PDF text"
            assert not [f for f in check_pdf(pdf, entry["pdf"]) if f.code == "pdf.font_not_embedded"]
            checked += 1
    assert checked >= 10


def test_annex_pdfs_use_an_embedded_cjk_font(cn_builds):
    for _, _, folder in cn_builds.values():
        for section in ANNEXES:
            with pikepdf.open(folder / _entry(folder, section)["pdf"]) as pdf:
                fonts = {str(f.get("/BaseFont")) for page in pdf.pages
                         for f in (page.get("/Resources", {}).get("/Font", {}) or {}).values()}
            assert any("CJK" in name for name in fonts), fonts


# the associated review (1.3.8.1) ----------------------------------------------------------------
def _expected_materials(source: Path) -> dict[str, str]:
    """Material id -> kind, from the YAML: chemical substances (a biological drug substance, 原液, is not
    part of associated review), composition, primary container closure of products."""
    substances = {_yaml(p)["id"] for p in (source / "substances").glob("*.yaml")}
    biological = _yaml(source / "application.yaml")["molecule_type"] != "small_molecule"
    found = {} if biological else {s: "api" for s in substances}
    for path in sorted((source / "products").glob("*.yaml")):
        product = _yaml(path)
        found.update({c["component"]: "excipient" for c in product["composition"] if c["component"] not in substances})
        found.update({c["id"]: "packaging" for c in product["container_closure"]["components"] if c["primary"]})
    return found


@pytest.mark.parametrize("build", ["antibody", "tablets"])
def test_associated_review_lists_exactly_the_materials(cn_builds, build):
    source, _, folder = cn_builds[build]
    entries = {e["material"]: e for e in _yaml(source / "markets" / "cn.yaml")["associated_review"]}
    data = _package(folder)
    expected = _expected_materials(source)
    required = {r["material"]: r["kind"] for r in data["materials"] if r["required"]}
    assert required == expected
    declared_only = {r["material"] for r in data["materials"] if not r["required"]}
    substances = {_yaml(p)["id"] for p in (source / "substances").glob("*.yaml")}
    assert declared_only == set(entries) - set(expected) - (substances if build == "antibody" else set())
    assert not {r["material"] for r in data["materials"]} & (substances if build == "antibody" else set())
    for row in data["materials"]:
        entry = entries.get(row["material"], {})
        assert row["missing"] == (not entry)
        assert row["registration_number"] == entry.get("registration_number")
        assert row["status"] == entry.get("status")
        assert row["loa"] == entry.get("loa")
        assert row["submitted_with_application"] == bool(entry.get("submitted_with_application"))
    assert sorted(data["missing"]) == sorted(m for m in expected if m not in entries)


def test_associated_review_table_rows(cn_builds):
    source, stage, folder = cn_builds["tablets"]
    rendered = render_folder(source, "cn", stage, "1.3.8.1")[0]
    data = _package(folder)
    rows = [line for line in rendered.markdown.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == len(data["materials"])
    kinds = {"api": "原料药", "excipient": "药用辅料", "packaging": "药包材"}
    for row, material in zip(rows, data["materials"]):
        assert row.startswith(f"| {kinds[material['kind']]} | {material['name']}")
    assert data["missing"] == [] and rendered.missing == ()
    hengxin = next(r for r in rows if "Y20260001837" in r)
    assert "| I |" in hengxin and "HX-LOA-2026-014" in hengxin and "2026年9月18日" in hengxin
    assert sum("未登记，研究资料随本申请提交" in r for r in rows) == sum(
        r["submitted_with_application"] for r in data["materials"])


def test_material_absent_from_the_associated_review_is_marked_missing(tmp_path):
    """A primary packaging component markets/cn.yaml does not list is kept, with a located missing marker."""
    dossier = materialise_case("minimal", tmp_path)
    apply_edits(dossier, [{"file": "markets/cn.yaml", "replace": "",
                           "find": "  - {material: dp-cc-bottle, kind: packaging, submitted_with_application: true}\n"}])
    rendered = render_folder(dossier, "cn", "ind", "1.3.8.1")[0]
    assert rendered.missing == ("markets/cn.yaml associated_review[material=dp-cc-bottle]",)
    row = next(line for line in rendered.markdown.splitlines() if line.startswith("| 药包材 |"))
    assert "60 mL HDPE bottle" in row and "missing: markets/cn.yaml associated" in row


@pytest.mark.parametrize("build", ["antibody", "tablets"])
def test_annex_cross_references_point_to_module_3(cn_builds, build):
    source, stage, folder = cn_builds[build]
    data = _package(folder)
    products = len(list((source / "products").glob("*.yaml")))
    for row in data["materials"]:
        numbers = [s["number"] for s in row["sections"]]
        if row["kind"] == "api":
            assert numbers == ["3.2.S"]
        elif row["kind"] == "excipient":
            assert numbers == ["3.2.P.4"] * products
        elif row["required"]:
            assert set(numbers) == {"3.2.P.7"}
        else:
            assert numbers == ["3.2.S.6"]
    for section in ANNEXES:
        rendered = render_folder(source, "cn", stage, section)[0]
        here = posixpath.dirname(rendered.document.pdf_path)
        links = LINK.findall(rendered.markdown)
        assert links
        for link in links:
            assert (folder / posixpath.normpath(posixpath.join(here, link))).is_file(), link


# the quality standard and process (1.3.3) ---------------------------------------------------------
def test_quality_standard_biologic_and_chemical(cn_builds):
    antibody = render_folder(ANTIBODY, "cn", "marketing", "1.3.3")[0].markdown
    tablets = render_folder(TABLETS, "cn", "ind", "1.3.3")[0].markdown
    assert "制造及检定规程" in antibody and "制造及检定规程" not in tablets
    assert "## 成品：奥德西单抗注射液" in antibody and "## 原液：奥德西单抗" in antibody
    assert "## 制剂：维卡替尼片" in tablets and tablets.count("## 原料药：盐酸维卡替尼") == 2
    for text in (antibody, tablets):
        assert "| 检查项目 | 方法 | 可接受标准 | 中国药典依据 |" in text
        assert "| 步骤 | 名称 | 关键工艺参数 |" in text
        assert "见章节 3.2.P.3.3" in text and "见章节 3.2.S.2.2" in text and "见章节 3.2.S.4.1" in text
    spec = _yaml(ANTIBODY / "specifications" / "spec-ds-ordesimab.yaml")
    for test in spec["tests"]:
        if "chp" in test.get("compendial_reference", {}):
            assert f"通则{test['compendial_reference']['chp']}" in antibody



@pytest.mark.parametrize("source, stage", [(TABLETS, "ind"), (ROOT / "examples" / "quenatuzumab-vedotin", "marketing")])
def test_each_instance_of_the_annexes_links_to_its_own_sections(source, stage):
    """With several substance instances (one API from two manufacturers; an ADC's antibody, drug-linker
    and conjugate), each one's specification and process lines in 1.3.3 link to that instance's own
    3.2.S.4.1 and 3.2.S.2.2, never all to the first instance's, and every link of 1.3.8.1 reaches an
    existing document of the instance it names."""
    annex = render_folder(source, "cn", stage, "1.3.3")[0]
    here = posixpath.dirname(annex.document.pdf_path)
    targets = [posixpath.normpath(posixpath.join(here, link)) for link in LINK.findall(annex.markdown)]
    for number in ("3.2.S.4.1", "3.2.S.2.2"):
        own = [r.document.pdf_path for r in render_folder(source, "cn", stage, number)]
        assert len(own) >= 2 and len(set(own)) == len(own)
        assert sorted(t for t in targets if t in own) == sorted(own)  # each instance's own, once
    review = render_folder(source, "cn", stage, "1.3.8.1")[0]
    every = {r.document.pdf_path for r in render_folder(source, "cn", stage)}
    here = posixpath.dirname(review.document.pdf_path)
    links = [posixpath.normpath(posixpath.join(here, link)) for link in LINK.findall(review.markdown)]
    assert links and all(link in every for link in links)

# registration data messages ------------------------------------------------------------------------
# The registered excipient of the minimal case's markets/cn.yaml.
ENTRY = ("registration_number: F20190000123, status: A, registrant: Cellulose Co., "
         "loa: {reference: LOA-2025-01, date: \"2025-01-15\"}")


@pytest.mark.parametrize("code, replace", [
    ("cn.registration_number", ENTRY.replace("F20190000123", "F2019000012")),
    ("cn.registration_status", ENTRY.replace("status: A", "status: B")),
    ("cn.loa_missing", ENTRY.split(", loa:")[0]),
])
def test_bad_registration_data_gives_one_located_message(tmp_path, code, replace):
    dossier = materialise_case("minimal", tmp_path)
    apply_edits(dossier, [{"file": "markets/cn.yaml", "find": ENTRY, "replace": replace}])
    line = next(i for i, text in enumerate((dossier / "markets" / "cn.yaml").read_text("utf-8").splitlines(), 1)
                if "exc-mcc" in text)
    run = run_cli("validate", "--dossier", "dossier", cwd=tmp_path)
    assert run.exit_code == 1
    found = [text for text in run.stderr.splitlines() if text.endswith(f"[{code}]")]
    assert len(found) == 1, run.stderr
    assert re.match(rf"dossier/markets/cn\.yaml:{line}:\d+: error: ", found[0]), found[0]
    assert "exc-mcc" in found[0] or "F2019000012" in found[0]
    assert [text for text in run.stderr.splitlines() if re.search(r"\[cn\.", text)] == found


# nothing hidden: English in the PDFs ---------------------------------------------------------------
@pytest.mark.parametrize("build", ["antibody", "tablets"])
def test_every_latin_run_in_the_pdfs_is_allowed_or_listed(cn_builds, build):
    """Every run of three or more Latin words in the text layer of every cn PDF is made of allowed
    terms (regional/cn/allowed-latin.yaml, the INN) or of texts the manifest lists (untranslated, or
    kept in the original language); the completed examples list nothing as untranslated."""
    from dossiergen.load import load_dossier
    from dossiergen.translation import allowed_for, latin_runs

    source, _, folder = cn_builds[build]
    manifest = _manifest(folder)
    terms = allowed_for(load_dossier(source))
    listed = " ".join(u["text"] for u in manifest["untranslated"] + manifest["kept_in_original"])
    listed_words = set(re.findall(r"[A-Za-z]+", listed))
    unlisted = {}
    for document in manifest["documents"]:
        # zero-width spaces and soft hyphens are line-break opportunities of the typesetter, not text
        # (and a code broken after a hyphen at the end of a line is one word)
        text = " ".join(_pdftotext(folder / document["pdf"]).replace("\u200b", "").replace("\u00ad", "").split())
        text = re.sub(r"(?<=[A-Za-z0-9])- (?=[A-Za-z0-9])", "-", text)
        for run in latin_runs(text):
            stray = [w for word in terms.residue(run) for w in re.findall(r"[A-Za-z]+", word) if w not in listed_words]
            if stray:
                unlisted.setdefault(document["section"], []).append(run)
    assert unlisted == {}
    assert manifest["untranslated"] == []
    # kept in the original: literature citations and the postal address (street, town, region) of sites abroad
    assert all(re.match(r"references\.yaml#|sites\.yaml#\$\.sites\[\d+\]\.address\.(street|city|region)$", u["path"])
               for u in manifest["kept_in_original"]), manifest["kept_in_original"]
