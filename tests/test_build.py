"""Building the minimal case: goldens of Markdown and DOCX, determinism, neutrality, safety."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import docx
import pytest

from conftest import CASES, apply_edits, check_golden, materialise_case, run_cli
from docx_dump import dump_docx
from dossiergen.build import build_dossier, render_folder

EXPECTED = CASES / "minimal" / "expected"


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("market", ["us", "cn"])
def test_rendered_markdown_golden(market, update_golden):
    """Every document's Markdown, reviewed as text in the diff."""
    for item in render_folder(CASES / "minimal" / "dossier", market, "ind"):
        check_golden(EXPECTED / "markdown" / market / f"{item.document.path}.md", item.markdown, update_golden)


@pytest.mark.parametrize("market", ["us", "cn"])
def test_docx_dump_golden(built, market, update_golden):
    """Every DOCX read back: style and text per paragraph, tables, header and footer fields."""
    manifest = json.loads((built[market] / "manifest.json").read_text("utf-8"))
    for entry in manifest["documents"]:
        dump = dump_docx((built[market] / entry["docx"]).read_bytes())
        check_golden(EXPECTED / "docx" / market / (entry["docx"].removeprefix("docx/") + ".txt"), dump, update_golden)


def test_manifest_lists_every_document(built):
    manifest = json.loads((built["us"] / "manifest.json").read_text("utf-8"))
    assert (manifest["market"], manifest["stage"], manifest["language"]) == ("us", "ind", "en")
    assert manifest["pandoc"] and len(manifest["inputs_sha256"]) == 64
    docs = manifest["documents"]
    assert len({d["id"] for d in docs}) == len(docs)
    for entry in docs:
        data = (built["us"] / entry["docx"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["docx_sha256"]
        assert entry["kind"] in ("module3", "regional")
        assert entry["section"].startswith("3.") == entry["pdf"].startswith("ectd/0000/m3/")
    sections = [d["section"] for d in docs]
    assert sections.index("3.2.S.1.1") < sections.index("3.2.S.4.1") < sections.index("3.2.P.1")
    assert "3.3" not in sections   # 3.3 holds the copies of the cited literature, no written document (test_literature.py)
    assert "3.2.R" not in sections  # markets/us.yaml gives no regional information: the heading holds no document


def test_same_inputs_same_bytes(built, tmp_path):
    again = tmp_path / "again"
    source = materialise_case("minimal", tmp_path)
    build_dossier(source, "us", "ind", again, final=False)
    assert _tree(again / "us" / "ind") == _tree(built["us"])


def test_us_and_neutral_share_the_core(built):
    """Module 3 core documents are the same bytes for neutral and US (and for EU and UK at marketing:
    at the IND stage those two get an IMPD, see test_impd.py); only 3.2.R may differ."""
    manifests = {m: json.loads((built[m] / "manifest.json").read_text("utf-8")) for m in ("neutral", "us")}
    cores = {m: {d["docx"]: d["docx_sha256"] for d in man["documents"] if d["kind"] == "module3"
                 and not d["section"].startswith("3.2.R")} for m, man in manifests.items()}
    assert cores["us"] == cores["neutral"]
    assert len(cores["us"]) > 40


def test_docx_parts(built):
    """Header names product and section; footer has PAGE and NUMPAGES; tables repeat their header row."""
    manifest = json.loads((built["us"] / "manifest.json").read_text("utf-8"))
    entry = next(d for d in manifest["documents"] if d["section"] == "3.2.S.4.1")
    document = docx.Document(built["us"] / entry["docx"])
    header = document.sections[0].header.paragraphs[0].text
    assert "MT-001" in header and "3.2.S.4.1 Specification" in header
    footer_xml = document.sections[0].footer._element.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml
    assert document.paragraphs[0].style.name == "Heading 1" and document.paragraphs[0].text == "3.2.S.4.1 Specification"
    assert document.tables and 'w:tblHeader w:val="true"' in document.tables[0].rows[0]._tr.xml
    assert document.core_properties.title == "3.2.S.4.1 Specification"
    names = zipfile.ZipFile(built["us"] / entry["docx"]).infolist()
    assert {i.date_time for i in names} == {(1980, 1, 1, 0, 0, 0)}


def test_chinese_documents_carry_east_asian_fonts_and_language(built):
    manifest = json.loads((built["cn"] / "manifest.json").read_text("utf-8"))
    entry = next(d for d in manifest["documents"] if d["section"] == "3.2.P.1")
    document = docx.Document(built["cn"] / entry["docx"])
    assert document.paragraphs[0].text == "3.2.P.1 剂型及产品组成"
    styles = document.styles.element.xml
    assert 'w:eastAsia="zh-CN"' in styles and 'w:val="zh-CN"' in styles
    assert 'w:eastAsia="SimSun"' in styles and 'w:eastAsia="SimHei"' in styles
    assert manifest["language"] == "zh"


def test_failed_build_leaves_previous_output(built, tmp_path):
    source = materialise_case("minimal", tmp_path)
    out = tmp_path / "out"
    build_dossier(source, "us", "ind", out, final=False)
    before = _tree(out / "us" / "ind")
    apply_edits(source, [{"file": "batches.yaml", "find": "scale: pilot", "replace": "scale: huge"}])
    run = run_cli("build", "--dossier", str(source), "--market", "us", "--out", str(out))
    assert run.exit_code == 1 and "nothing was written" in run.stderr
    assert _tree(out / "us" / "ind") == before


def test_final_build_fails_on_missing_data(tmp_path):
    source = materialise_case("minimal", tmp_path)
    apply_edits(source, [{"file": "stability.yaml", "find": "claims:\n", "replace": "claims:\n  - {subject: ds-minitab, kind: retest_period, period: 12, storage: Store below 25 °C., basis: x}\n"}])
    draft = run_cli("build", "--dossier", str(source), "--market", "us", "--out", str(tmp_path / "b"))
    assert draft.exit_code == 0
    final = run_cli("build", "--dossier", str(source), "--market", "us", "--out", str(tmp_path / "b"), "--final")
    assert final.exit_code == 1 and "[gap.core.documents-complete]" in final.stderr and "no data for overages" in final.stderr


NASTY = r"*a* _b_ #c |d| <b>e</b> {{ x }} \f `g` [x](http://y) {=openxml}"


def test_data_values_print_literally(tmp_path):
    """A value full of Markdown, HTML and template syntax appears verbatim in the DOCX text."""
    source = materialise_case("minimal", tmp_path)
    yaml_value = NASTY.replace("\\", "\\\\").replace('"', '\\"')
    apply_edits(source, [{"file": "specifications/spec-dp.yaml", "find": "name: Assay (HPLC)",
                          "replace": f'name: "{yaml_value}"'}])
    build_dossier(source, "us", "ind", tmp_path / "b", final=False)
    manifest = json.loads((tmp_path / "b" / "us" / "ind" / "manifest.json").read_text("utf-8"))
    entry = next(d for d in manifest["documents"] if d["section"] == "3.2.P.5.1")
    document = docx.Document(tmp_path / "b" / "us" / "ind" / entry["docx"])
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert NASTY in cells
    assert not any("openxml" in p.text and p.text != NASTY for p in document.paragraphs)
    assert len(document.tables[0].rows) == 3  # header + 2 tests: the pipes did not split the row


def test_incremental_build_gives_the_cold_build_bytes(built, tmp_path):
    """One batch result changed: the build that reuses the earlier build's cache (rendered Markdown by
    what each document read, written documents by content) writes only what changed, and its output is
    byte for byte the output of a cold build of the changed dossier (issue 19)."""
    import shutil

    out = tmp_path / "incremental"
    shutil.copytree(built["us"].parents[1], out)  # the session's build, with its .cache
    source = materialise_case("minimal", tmp_path / "source")
    results = source / "results" / "dp.csv"
    text = results.read_text("utf-8")
    assert "b-dp-001,assay,100.4," in text
    results.write_text(text.replace("b-dp-001,assay,100.4,", "b-dp-001,assay,100.6,", 1), "utf-8")
    incremental = build_dossier(source, "us", "ind", out, final=False)
    import re

    written = int(re.search(r"(\d+) written", incremental.summary).group(1))
    assert 0 < written < len(incremental.manifest["documents"])
    build_dossier(source, "us", "ind", tmp_path / "cold", final=False)
    assert _tree(out / "us" / "ind") == _tree(tmp_path / "cold" / "us" / "ind")


def test_one_change_in_a_build_of_several_markets_gives_each_market_the_cold_build_bytes(built, tmp_path):
    """One batch result changed, three markets built in one run (neutral and us share the English core, cn
    has its own language): what the run serves from memory to a later market (rendered documents, verdicts,
    document keys), the files' kept parts and the packaging order leave every market's folder byte for
    byte a cold build's of the changed dossier (issue 19)."""
    import re
    import shutil

    from dossiergen.build import build_dossiers

    markets = ("neutral", "us", "cn")
    out = tmp_path / "incremental"
    shutil.copytree(built["us"].parents[1], out)  # the session's build, with its .cache
    source = materialise_case("minimal", tmp_path / "source")
    results = source / "results" / "dp.csv"
    results.write_text(results.read_text("utf-8").replace("b-dp-001,assay,100.4,", "b-dp-001,assay,100.6,", 1), "utf-8")
    incremental = build_dossiers(source, markets, "ind", out, final=False)
    written = {r.market: int(re.search(r"(\d+) written", r.summary).group(1)) for r in incremental}
    assert written["neutral"] > 0 and written["cn"] > 0 and written["us"] < len(incremental[1].manifest["documents"])
    build_dossiers(source, markets, "ind", tmp_path / "cold", final=False)
    for market in markets:
        assert _tree(out / market / "ind") == _tree(tmp_path / "cold" / market / "ind"), market


def test_a_second_change_reuses_the_spare_folder_and_verdicts_and_gives_the_cold_bytes(built, tmp_path):
    """Two changes in a row, the second putting a result outside its specification: the third build
    puts its output together in the spare folder the second one left (.cache/spare), reuses the verdicts
    of the rules that did not read the results, and its folder is byte for byte a cold build's, with the
    verdict of the result limits turned to MISSING and the warning named (issue 19)."""
    import shutil

    out = tmp_path / "incremental"
    shutil.copytree(built["us"].parents[1], out)
    source = materialise_case("minimal", tmp_path / "source")
    results = source / "results" / "dp.csv"
    results.write_text(results.read_text("utf-8").replace("b-dp-001,assay,100.4,", "b-dp-001,assay,100.6,", 1), "utf-8")
    build_dossier(source, "us", "ind", out, final=False)
    spare = out / ".cache" / "spare" / "us-ind"
    assert (spare / "manifest.json").is_file()  # the previous output, kept for the next build
    before = json.loads((out / "us" / "ind" / "gaps.json").read_text("utf-8"))
    results.write_text(results.read_text("utf-8").replace("b-dp-001,assay,100.6,", "b-dp-001,assay,106.0,", 1), "utf-8")
    second = build_dossier(source, "us", "ind", out, final=False)
    build_dossier(source, "us", "ind", tmp_path / "cold", final=False)
    assert _tree(out / "us" / "ind") == _tree(tmp_path / "cold" / "us" / "ind")
    after = json.loads((out / "us" / "ind" / "gaps.json").read_text("utf-8"))
    status = lambda report: {v["rule"]: v["status"] for v in report["verdicts"]}  # noqa: E731
    assert status(before)["core.data-result-limits"] == "met"
    assert status(after)["core.data-result-limits"] == "missing"
    assert any(p.code == "result.out_of_specification" and "106" in p.message for p in second.problems)
    assert sorted(p.name for p in (out / "us").iterdir()) == ["ind"]  # nothing beside the output


def test_a_first_build_leaves_a_spare_of_linked_files_and_the_next_build_never_writes_through_them(tmp_path):
    """A first build leaves in .cache/spare a tree of hard links to its output, so the next build finds
    its folders made and its unchanged files in place (issue 19); that build changes files by replacing
    them, never by writing into them: the first output, now the spare, keeps its bytes."""
    import os

    source = materialise_case("minimal", tmp_path / "source")
    out = tmp_path / "out"
    build_dossier(source, "us", "ind", out, final=False)
    target, spare = out / "us" / "ind", out / ".cache" / "spare" / "us-ind"
    first = _tree(target)
    assert _tree(spare) == first
    assert os.stat(spare / "manifest.json").st_ino == os.stat(target / "manifest.json").st_ino
    results = source / "results" / "dp.csv"
    results.write_text(results.read_text("utf-8").replace("b-dp-001,assay,100.4,", "b-dp-001,assay,100.6,", 1), "utf-8")
    build_dossier(source, "us", "ind", out, final=False)
    assert _tree(target) != first and _tree(spare) == first  # the previous output, untouched
    build_dossier(source, "us", "ind", tmp_path / "cold", final=False)
    assert _tree(target) == _tree(tmp_path / "cold" / "us" / "ind")
