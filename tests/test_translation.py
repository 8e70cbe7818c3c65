"""The Chinese translation workflow: XLIFF export and import, the translation memory, the glossary,
the allowed Latin terms, and the manifest's untranslated list (nothing hidden)."""

from __future__ import annotations

import csv
import re
import io
import shutil
from pathlib import Path

import pytest
from lxml import etree

from conftest import ROOT, materialise_case, run_cli
from dossiergen.build import render_folder
from dossiergen.load import load_dossier
from dossiergen.translation import allowed, latin_runs, pending, units

NS = {"x": "urn:oasis:names:tc:xliff:document:1.2"}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _export(folder: Path, out: Path) -> etree._ElementTree:
    run = run_cli("translate", "export", "--market", "cn", "--dossier", str(folder), "--out", str(out))
    assert run.exit_code == 0, run.stderr
    return etree.parse(str(out))


def _translate(tree: etree._ElementTree, targets: dict[str, str], state: str = "translated") -> None:
    for unit in tree.iterfind(".//x:trans-unit", NS):
        source = unit.find("x:source", NS).text
        if source in targets:
            target = unit.find("x:target", NS)
            if target is None:
                target = etree.Element(f"{{{NS['x']}}}target")
                unit.find("x:source", NS).addnext(target)
            target.text, target.attrib["state"] = targets[source], state


@pytest.fixture
def antibody(tmp_path) -> Path:
    """A writable copy of the antibody dossier."""
    return Path(shutil.copytree(ROOT / "dossier", tmp_path / "dossier"))


def _untranslate(folder: Path, english: str) -> int:
    """Clear the Chinese (text_zh) of every result CSV row whose text is `english`; return how many."""
    cleared = 0
    for path in sorted(folder.glob("*/*.csv")):
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
        if "text_zh" not in rows[0]:
            continue
        en, zh = rows[0].index("text"), rows[0].index("text_zh")
        for row in rows[1:]:
            if len(row) > zh and row[en] == english and row[zh]:
                row[zh], cleared = "", cleared + 1
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue(), "utf-8")
    return cleared


def test_export_is_xliff_1_2_with_paths_sources_and_context(minimal, tmp_path):
    tree = _export(minimal, tmp_path / "cn.xlf")
    root = tree.getroot()
    assert root.get("version") == "1.2" and root.tag == f"{{{NS['x']}}}xliff"
    assert root.find("x:file", NS).get("target-language") == "zh-CN"
    units_ = {u.find("x:source", NS).text: u for u in root.iterfind(".//x:trans-unit", NS)}
    conforms = units_["Conforms"]  # a CSV free-text cell
    paths = [c.text for c in conforms.iterfind(".//x:context[@context-type='x-data-path']", NS)]
    assert paths == ["results/dp.csv#$[0].text"]
    notes = [n.text for n in conforms.iterfind("x:note", NS)]
    assert any(n.startswith("Glossary: conforms = 符合规定") for n in notes) and any(n.startswith("Field: Text result") for n in notes)
    # every pending text of the dossier is exported, once per distinct English text
    todo = pending(load_dossier(minimal))
    assert set(units_) == {u.en for u in todo}
    assert (tmp_path / "cn.tmx").is_file()
    assert "<term>原液</term>" not in (tmp_path / "cn.tbx").read_text("utf-8")  # 'also' forms are notes, not terms
    assert "<term>质量标准</term>" in (tmp_path / "cn.tbx").read_text("utf-8")


def test_round_trip_without_translations_is_byte_identical(antibody, tmp_path):
    before = _files(antibody)
    _export(antibody, tmp_path / "cn.xlf")
    run = run_cli("translate", "import", "--dossier", str(antibody), str(tmp_path / "cn.xlf"))
    assert run.exit_code == 0, run.stderr
    assert "0 text(s) filled" in run.stderr
    assert _files(antibody) == before


def test_import_fills_yaml_and_csv_in_place_keeping_comments(minimal, tmp_path):
    tree = _export(minimal, tmp_path / "cn.xlf")
    _translate(tree, {"Conforms": "符合规定", "Appearance by visual inspection": "外观（目视检查）",
                      "Blend for 10 minutes.": "混合10分钟。"})
    tree.write(str(tmp_path / "cn.xlf"), xml_declaration=True, encoding="UTF-8")
    methods_before = (minimal / "methods.yaml").read_text("utf-8")
    run = run_cli("translate", "import", "--dossier", str(minimal), str(tmp_path / "cn.xlf"))
    assert run.exit_code == 0, run.stderr
    assert "3 text(s) filled" in run.stderr
    methods = (minimal / "methods.yaml").read_text("utf-8")
    assert "{en: Appearance by visual inspection, zh: 外观（目视检查）}" in methods
    changed = [(a, b) for a, b in zip(methods_before.splitlines(), methods.splitlines()) if a != b]
    assert len(changed) == 1 and len(methods.splitlines()) == len(methods_before.splitlines())  # one line, nothing else
    assert (minimal / "results" / "dp.csv").read_text("utf-8").splitlines()[:2] == [
        "batch,test,value,unit,qualifier,text,text_zh", "b-dp-001,appearance,,,,Conforms,符合规定"]
    assert run_cli("validate", "--dossier", str(minimal)).exit_code == 0
    left = {u.en for u in pending(load_dossier(minimal))}
    assert not left & {"Conforms", "Appearance by visual inspection", "Blend for 10 minutes."}
    text = "\n".join(r.markdown for r in render_folder(minimal, "cn", "ind", "3.2.P"))
    assert "符合规定" in text and "混合10分钟。" in text


def test_repeated_text_is_one_unit_and_fills_every_place(antibody, tmp_path):
    """The translation memory: 'Sterile' occurs in many result rows and is translated once."""
    assert _untranslate(antibody, "Sterile") > 3
    every = [u for u in pending(load_dossier(antibody)) if u.en == "Sterile"]
    assert len(every) > 3
    tree = _export(antibody, tmp_path / "cn.xlf")
    matches = [u for u in tree.iterfind(".//x:trans-unit", NS) if u.find("x:source", NS).text == "Sterile"]
    assert len(matches) == 1
    assert len(matches[0].findall("x:context-group", NS)) == len(every)
    # the memory proposes the Chinese of the same English elsewhere in the dossier, to be confirmed
    proposed = matches[0].find("x:target", NS)
    assert proposed.text in ("应符合规定", "无菌") and proposed.get("state") == "needs-review-translation"
    _translate(tree, {"Sterile": "无菌"})
    tree.write(str(tmp_path / "cn.xlf"), xml_declaration=True, encoding="UTF-8")
    run = run_cli("translate", "import", "--dossier", str(antibody), str(tmp_path / "cn.xlf"))
    assert f"{len(every)} text(s) filled" in run.stderr
    filled = {(u.rel, u.path) for u in units(load_dossier(antibody)) if u.en == "Sterile" and u.zh == "无菌"}
    assert filled == {(u.rel, u.path) for u in every}



def test_unconfirmed_targets_changed_sources_and_glossary(minimal, tmp_path):
    tree = _export(minimal, tmp_path / "cn.xlf")
    _translate(tree, {"Blend for 10 minutes.": "混合10分钟。"}, state="needs-translation")  # not confirmed
    _translate(tree, {"Conforms": "合格"})  # glossary: conforms is 符合规定
    _translate(tree, {"Appearance by visual inspection": "外观"})
    tree.write(str(tmp_path / "cn.xlf"), xml_declaration=True, encoding="UTF-8")
    methods = minimal / "methods.yaml"
    methods.write_text(methods.read_text("utf-8").replace("Appearance by visual inspection", "Appearance (visual)"), "utf-8")
    run = run_cli("translate", "import", "--dossier", str(minimal), str(tmp_path / "cn.xlf"), "--strict")
    assert run.exit_code == 3
    assert "'conforms' is '符合规定' in the glossary" in run.stderr
    assert "changed since the export; skipped" in run.stderr
    assert "混合10分钟" not in "".join(p.read_text("utf-8") for p in minimal.rglob("*.yaml"))
    assert "1 text(s) filled" in run.stderr  # only the CSV cell


def test_import_refuses_a_file_that_is_not_xliff(minimal, tmp_path):
    bad = tmp_path / "bad.xlf"
    bad.write_text("<notxliff", "utf-8")
    run = run_cli("translate", "import", "--dossier", str(minimal), str(bad))
    assert run.exit_code == 1 and "cannot read XLIFF 1.2" in run.stderr


@pytest.mark.parametrize("text, residue", [
    ("SE-HPLC", []), ("Ph. Eur. 2.2.2", []), ("pH 5.7–6.3", []), ("150 mg/mL", []), ("ordesimab", []),
    ("Conforms (≤ B8)", ["Conforms"]), ("Pass", ["Pass"]), ("HPLC with UV detection at 280 nm", ["with", "detection", "at"]),
    ("符合规定（≤B8）", []), ("AP-207-005", []),
])
def test_allowed_latin_terms(text, residue):
    assert allowed(("ordesimab",)).residue(text) == residue


def test_latin_runs():
    assert latin_runs("外观 Colourless, slightly opalescent liquid 符合规定") == ["Colourless, slightly opalescent liquid"]
    assert latin_runs("符合规定（≤B8） SE-HPLC 法") == []


def test_manifest_lists_every_english_text_with_its_data_path(antibody):
    """Nothing hidden: each English text a cn document prints is listed with where it comes from."""
    results = antibody / "results" / "ds-batches.csv"
    results.write_text(results.read_text("utf-8").replace("Conforms (≤ B8),符合规定（≤ B8）", "Pale and fine,", 1), "utf-8")
    rendered = render_folder(antibody, "cn", "marketing", "3.2.S.4.4")
    listed = [u for r in rendered for u in r.untranslated]
    hit = [u for u in listed if u.text == "Pale and fine"]
    assert hit and hit[0].path == "results/ds-batches.csv#$[1].text"
    assert all(u.path for u in listed)
    # the completed antibody prints no other English in 3.2.S.4.4
    assert [u.text for u in listed] == ["Pale and fine"]


# Chinese conventions and terms ---------------------------------------------------------------------
from dossiergen.text import chinese_date, zh_typography  # noqa: E402

HAN = r"[\u4e00-\u9fff]"


@pytest.fixture(scope="module")
def cn_markdown() -> dict:
    """The Markdown of every cn document of both examples (antibody marketing, tablets IND)."""
    return {"antibody": {r.document.id: (r.document.number, r.markdown) for r in render_folder(ROOT / "dossier", "cn", "marketing")},
            "tablets": {r.document.id: (r.document.number, r.markdown)
                        for r in render_folder(ROOT / "examples" / "velcratinib-tablets", "cn", "ind")}}


@pytest.mark.parametrize("text, expected", [
    ("表 1-1 氨基酸序列: 重链", "表 1-1 氨基酸序列：重链"),
    ("**原液:** 奥德西单抗", "**原液：**奥德西单抗"),
    ("**批量:** 1 kg", "**批量：**1 kg"),
    ("颜色,澄清度;pH", "颜色，澄清度；pH"),
    ("授权使用书（2026-09-18）", "授权使用书（2026年9月18日）"),
    ("含量 (以无水物计) 98.0 %", "含量（以无水物计）98.0%"),
    ("关键步骤 ([见章节 3.2.S.2.4](../a.pdf)).", "关键步骤（[见章节 3.2.S.2.4](../a.pdf)）。"),
    ("考察指标:", "考察指标："),
    ("## 步骤 1: 原液解冻", "## 步骤 1：原液解冻"),
    ("Ph. Eur. 2.2.2, USP <631>", "Ph. Eur. 2.2.2, USP <631>"),  # no Chinese: left alone
    ("10:30, AP-207-005", "10:30, AP-207-005"),
    (": 表 3.2.S.4.1-1 质量标准", ": 表 3.2.S.4.1-1 质量标准"),  # the pandoc caption marker stays
    ("## st-sol-lt-23001: 5 ± 3 °C，批号 207S23001", "## st-sol-lt-23001：5 ± 3 °C，批号 207S23001"),  # a Chinese heading
    ("## 步骤 7: 100%目检", "## 步骤 7：100%目检"),
    ("## ICH Q5C: Quality of biotechnological products", "## ICH Q5C: Quality of biotechnological products"),
])
def test_chinese_punctuation_and_dates(text, expected):
    assert zh_typography(text) == expected


def test_result_qualifiers_print_in_chinese():
    """A Chinese table prints 不得过, 未检出, 未检测 (labels), never NMT, Not detected, Not tested."""
    from dossiergen.render import labels
    from dossiergen.schema import units
    from dossiergen.tables import QUALIFIER_LABELS, format_result

    zh = lambda key: labels()[key]["zh"]
    assert format_result({"value": 0.5, "qualifier": "NMT", "unit": "%"}, units(), "zh", zh) == "不得过0.5\u00a0%"
    assert format_result({"qualifier": "not_detected"}, units(), "zh", zh) == "未检出"
    assert format_result({"qualifier": "not_tested"}, units(), "zh", zh) == "未检测"
    en = lambda key: labels()[key]["en"]
    assert format_result({"value": 0.5, "qualifier": "NMT", "unit": "%"}, units(), "en", en) == "NMT\u00a00.5\u00a0%"
    assert all(labels()[key]["zh"] for key in QUALIFIER_LABELS.values())


def test_chinese_date():
    assert chinese_date("2026-11-30") == "2026年11月30日" and chinese_date("2026-01-05") == "2026年1月5日"


def test_no_iso_dates_or_ascii_punctuation_glued_to_chinese(cn_markdown):
    for build in cn_markdown.values():
        for number, markdown in build.values():
            text = re.sub(r"\]\([^)]*\)", "]", re.sub(r"(?m)^: ", "", markdown))  # a pandoc caption marker
            assert not re.search(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])", text), number
            glued = re.findall(rf"{HAN}[ ]?[:;,][ ]?|[ ]?[:;,][ ]?{HAN}", text)
            assert glued == [], (number, glued[:5])
            headings = [h for h in re.findall(r"(?m)^#+ .*$", text) if re.search(HAN, h) and ": " in h]
            assert headings == [], (number, headings[:5])


def test_chinese_site_address_in_chinese_order(cn_markdown):
    text = next(md for number, md in cn_markdown["antibody"].values() if number == "3.2.S.2.1")
    assert "江苏省苏州市苏州工业园区星浦路168号B1栋" in text and "（邮编：215126）" in text
    assert "168号, " not in text and "苏州市, 江苏省" not in text


def test_drug_substance_named_by_substance_type(cn_markdown):
    """原液 for the antibody (biological), 原料药 for the tablets (chemical); the associated review keeps
    its own name (原料药、药用辅料及药包材) and lists no biological drug substance."""
    antibody, tablets = cn_markdown["antibody"], cn_markdown["tablets"]
    for number, markdown in antibody.values():
        if number != "1.3.8.1":  # the associated review of 原料药, excipients and packaging keeps its name
            assert "原料药" not in markdown.replace("原料药、药用辅料及药包材", ""), number
    assert all("**原液：**" in md for n, md in antibody.values() if n.startswith("3.2.S"))
    review = next(md for n, md in antibody.values() if n == "1.3.8.1")
    assert "| 原液 |" not in review and "| 原料药 |" not in review
    assert all("原液" not in md for n, md in tablets.values() if not n.startswith("1.3.8.1"))
    assert any("原料药" in md for n, md in tablets.values() if n.startswith("3.2.S"))


def test_names_in_3_2_s_1_1(cn_markdown):
    text = next(md for number, md in cn_markdown["antibody"].values() if number == "3.2.S.1.1")
    assert "| 国际非专利药品名称（INN） | ordesimab |" in text
    assert "| 中文通用名称 | 奥德西单抗 |" in text and "| 汉语拼音 | Aodexi Dankang |" in text
    tablets = next(md for number, md in cn_markdown["tablets"].values() if number == "3.2.S.1.1")
    assert "| 国际非专利药品名称（INN） | velcratinib |" in tablets and "| 汉语拼音 | Weikatini |" in tablets
    assert "苯甲酰胺单盐酸盐" in tablets  # the chemical name in Chinese


def test_no_english_left_in_the_completed_examples(cn_markdown):
    for build in ("antibody", "tablets"):
        rendered = render_folder(ROOT / ("dossier" if build == "antibody" else "examples/velcratinib-tablets"),
                                 "cn", "marketing" if build == "antibody" else "ind")
        assert [u for r in rendered for u in r.untranslated if not u.kept] == []


def test_the_translation_index_is_the_same_from_kept_file_parts_and_follows_a_changed_file(tmp_path):
    """A build keeps what each file gives the Chinese documents' translation index (by the file's content
    hash): an index made from kept parts is the one made afresh, and a changed file is read again (its new
    English text is found where it now is, the old one no longer)."""
    from dossiergen.cache import using_store
    from dossiergen.translation import Index

    source = materialise_case("minimal", tmp_path)

    def index():
        return Index(load_dossier(source))

    fresh = index()
    with using_store(tmp_path / "store") as store:
        made = index()
        kept = index()
        assert store.hits >= len(load_dossier(source).files) - 1  # the second from kept parts (other markets' files left out)
    for other in (made, kept):
        assert (other.paths, other.chinese, other.digest()) == (fresh.paths, fresh.chinese, fresh.digest())
    text = (source / "products" / "dp-minitab.yaml").read_text("utf-8")
    (source / "products" / "dp-minitab.yaml").write_text(text.replace("Blend and compress.", "Blend and press."), "utf-8")
    with using_store(tmp_path / "store"):
        changed = index()
    assert changed.paths == index().paths and changed.digest() != fresh.digest()
    assert changed.where("Blend and press.").startswith("products/dp-minitab.yaml#") and not changed.where("Blend and compress.")


def test_the_texts_to_translate_are_the_same_from_kept_file_parts_and_follow_a_changed_file(tmp_path):
    """A build keeps each file's translatable texts (by the file's content hash): the list is the one made
    afresh, and a file changed since is read again."""
    from dossiergen.cache import using_store

    source = materialise_case("minimal", tmp_path)
    fresh = units(load_dossier(source))
    with using_store(tmp_path / "store"):
        assert units(load_dossier(source)) == fresh
        assert units(load_dossier(source)) == fresh
        text = (source / "products" / "dp-minitab.yaml").read_text("utf-8")
        (source / "products" / "dp-minitab.yaml").write_text(text.replace("Blend and compress.", "Blend and press."), "utf-8")
        changed = units(load_dossier(source))
    assert changed == units(load_dossier(source)) != fresh
    assert "Blend and press." in [u.en for u in changed] and "Blend and compress." not in [u.en for u in changed]
