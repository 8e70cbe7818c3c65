"""Verdicts of the gap rules and problems of the semantic rules are reused between the markets of a build
and between builds, by the hashes of what each evaluation read (reuse.py, issue 19). What the reader
cares about: the reused verdicts are exactly those of a fresh evaluation, in every market and after a
change; a rule of the ICH core is evaluated once for all markets unless it reads the market; a change
re-evaluates the rules that read it (a file named by the data counts, though no data file changed)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT, apply_edits, materialise_case
from dossiergen import gaps
from dossiergen.cache import using_store
from dossiergen.gaps import assess
from dossiergen.load import load_dossier
from dossiergen.model import build_model
from dossiergen.validate import validate_dossier

CART = ROOT / "examples" / "qirocabtagene-autoleucel"
MARKETS = ("neutral", "us", "eu", "uk", "cn")


def _assessments(folder: Path, stage: str = "marketing") -> dict:
    model = build_model(load_dossier(folder, label="cart"))
    return {market: assess(model, market, stage) for market in MARKETS}


def _counting(monkeypatch) -> list[str]:
    """Return the list the ids of the rules evaluated from now on are appended to."""
    evaluated, real = [], gaps.evaluate_rule

    def count(model, rule, stage):
        evaluated.append(rule["id"])
        return real(model, rule, stage)

    monkeypatch.setattr(gaps, "evaluate_rule", count)
    return evaluated


def _status(assessments: dict, market: str, rule_id: str) -> str:
    return assessments[market].status(rule_id)


def test_a_core_rule_is_evaluated_once_for_all_markets_unless_it_reads_the_market(tmp_path, monkeypatch):
    folder = tmp_path / "cart"  # the China-only site makes the product, and has no GMP evidence
    shutil.copytree(CART, folder)
    apply_edits(folder, [{"file": "sites.yaml", "find": "    gmp_evidence:\n      - {authority: Jiangsu Medical Products "
                          "Administration", "replace": "    gmp_evidence_withdrawn:\n      - {authority: Jiangsu Medical "
                          "Products Administration"},
                         {"file": "sites.yaml", "find": "      - role: cell_processing\n        subjects: [cells-hl19, "
                          "dp-hl19-bag]\n        markets: [cn]", "replace": "      - role: drug_product_manufacture\n"
                          "        subjects: [cells-hl19, dp-hl19-bag]\n        markets: [cn]"}])
    fresh = _assessments(folder)  # outside a build there is no store: every rule is evaluated
    assert _status(fresh, "cn", "core.site-gmp-evidence") == "missing"
    assert _status(fresh, "us", "core.site-gmp-evidence") == "met"
    evaluated = _counting(monkeypatch)
    with using_store(tmp_path / "store"):
        reused = _assessments(folder)
        assert reused == fresh
        assert evaluated.count("core.process-validation-product") == 1
        # core.site-gmp-evidence ranges over the sites of the market's supply chain (roles[].markets)
        assert evaluated.count("core.site-gmp-evidence") == len(MARKETS)
        evaluated.clear()
        assert _assessments(folder) == fresh  # a second build: nothing read has changed
        assert evaluated == []


def test_a_change_re_evaluates_the_rules_that_read_it_and_the_verdicts_stay_true(tmp_path, monkeypatch):
    folder = tmp_path / "cart"
    shutil.copytree(CART, folder)
    with using_store(tmp_path / "store"):
        before = _assessments(folder)
        text = (folder / "markets" / "eu.yaml").read_text("utf-8")
        start = text.index("      - site: site-northcape-pa\n")
        end = text.index("      - site:", start + 10)
        apply_edits(folder, [{"file": "markets/eu.yaml", "find": text[start:end], "replace": ""}])
        evaluated = _counting(monkeypatch)
        after = _assessments(folder)
    monkeypatch.undo()
    assert after == _assessments(folder)  # as evaluated afresh
    assert _status(before, "eu", "eu.qp-declaration-sites") == "met"
    assert _status(after, "eu", "eu.qp-declaration-sites") == "missing"
    assert "eu.qp-declaration-sites" in evaluated
    assert "core.process-validation-product" not in evaluated  # it does not read markets/eu.yaml
    assert len(set(evaluated)) < len({v.id for a in after.values() for v in a.verdicts})


def test_a_file_named_by_the_data_counts_though_no_data_file_changed(tmp_path):
    source = materialise_case("minimal", tmp_path)
    apply_edits(source, [{"file": "products/dp-minitab.yaml", "find": "    summary: Blend and compress.",
                          "replace": "    summary: Blend and compress.\n    flow_diagram: {file: figures/flow.png, caption: Flow}"}])

    def judged():
        dossier = load_dossier(source)
        model = build_model(dossier)
        problems = [p for p in validate_dossier(dossier) if p.code.startswith("file.")]
        return problems, assess(model, "us", "ind").status("core.data-files")

    with using_store(tmp_path / "store"):
        problems, status = judged()
        assert [p.code for p in problems] == ["file.missing"] and status == "missing"
        (source / "figures").mkdir()
        shutil.copy(ROOT / "tests" / "cases" / "minimal" / "dossier" / "application.yaml", source / "figures" / "flow.png")
        problems, status = judged()
    assert problems == [] and status == "met"
    assert judged() == (problems, status)  # as judged afresh


def test_a_rule_over_every_file_checks_again_only_the_changed_file_and_its_findings_stay_true(tmp_path, monkeypatch):
    """The semantic rules that walk every data file (dates, units, narratives, files named) keep each file's
    findings by what that file's check read: after one file changes only its checks run again, a finding
    fixed in it disappears, one made in it appears, a narrative link follows the folder (a file added,
    no data file changed), and every answer is what a fresh validation gives."""
    from dossiergen.rules import formats

    source = materialise_case("minimal", tmp_path)
    apply_edits(source, [
        {"file": "batches.yaml", "find": 'date: "2025-05-02"', "replace": 'date: "2025-02-30"'},
        {"file": "substances/ds-minitab.yaml", "find": "unit: g/mol}", "replace": "unit: grams-per-mol}"},
        {"file": "products/dp-minitab.yaml", "find": "    summary: Blend and compress.",
         "replace": "    summary: \"Blend and compress. ![Flow](figures/flow.png)\""}])
    checked = []
    for name in ("_file_dates", "_file_units", "_file_narratives", "_file_names"):
        real = getattr(formats, name)
        monkeypatch.setattr(formats, name, lambda d, m, s, real=real: checked.append(s.rel) or real(d, m, s))

    def codes(problems):
        return sorted((p.code, str(p.location)) for p in problems if p.code.split(".")[0] in ("date", "unit", "narrative", "file"))

    def judged():
        with using_store(tmp_path / "store"):
            return codes(validate_dossier(load_dossier(source)))

    def fresh():
        return codes(validate_dossier(load_dossier(source)))

    first = judged()
    assert [c for c, _ in first] == ["date.invalid", "narrative.missing_file", "unit.unknown"] and first == fresh()
    files = len(set(checked))
    checked.clear()
    assert judged() == first and checked == []  # nothing changed: every file's findings reused

    apply_edits(source, [{"file": "batches.yaml", "find": 'date: "2025-02-30"', "replace": 'date: "2025-02-28"'},
                         {"file": "batches.yaml", "find": "unit: kg}", "replace": "unit: kilos}"}])
    checked.clear()
    after = judged()
    # the changed file, by each of the four rules; and the narrative that names a file, which reads the folder
    assert sorted(checked) == ["batches.yaml"] * 4 + ["products/dp-minitab.yaml"] and files > 4
    assert [c for c, _ in after] == ["narrative.missing_file", "unit.unknown", "unit.unknown"] and after == fresh()

    (source / "figures").mkdir()  # the narrative's image now exists: no data file changed
    (source / "figures" / "flow.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    checked.clear()
    now = judged()
    assert "products/dp-minitab.yaml" in checked and now == fresh()
    assert [c for c, _ in now] == ["narrative.image", "unit.unknown", "unit.unknown"]
