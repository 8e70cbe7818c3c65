"""Specification criteria checked against the guidelines and the batches (specchecks.py): a
shelf-life criterion wider than release is justified (ICH Q6A §2.2, Q6B §2.5), and limits far
wider than the batches show draw an advisory (ICH Q6A §3.1.2 and Decision Tree #1, Q6B §3)."""

from __future__ import annotations

from conftest import ROOT, apply_edits
from dossiergen.gaps import evaluate_rule, load_rules
from dossiergen.load import load_dossier
from dossiergen.model import build_model

RULES = {r["id"]: r for r in load_rules("us")}
WIDER, EXPERIENCE = RULES["core.shelf-life-criteria-justified"], RULES["core.limits-within-batch-experience"]
ASSAY = '    acceptance: {text: 98.0–102.0 %, limit: {low: 98.0, high: 102.0, unit: "%"}}\n'
TOTAL = '    acceptance: {text: NMT 1.0 %, limit: {comparator: "<=", value: 1.0, unit: "%"}}\n'
BATCH = """  - id: b-ds-00{n}
    number: DS-00{n}
    subject: ds-minitab
    site: site-api
    scale: pilot
    size: {{value: 5, unit: kg}}
    date: "2025-0{n}-10"
    process_version: A
    uses: [clinical]
    specification: {{id: spec-ds, version: "2.0"}}
    results:
      - {{test: appearance, text: Conforms}}
      - {{test: assay, value: {assay}, unit: "%"}}
      - {{test: total-impurities, value: {total}, unit: "%"}}
"""


def _verdict(folder, rule):
    return evaluate_rule(build_model(load_dossier(folder, label="dossier")), rule, "marketing")


def _three_batches(folder):
    """DS-001 (assay 99.6 %, total 0.32 %) and two more: assay 99.0–100.1 %, total impurities 0.20–0.45 %."""
    text = (folder / "batches.yaml").read_text("utf-8")
    cut = text.index("  - id: b-dp-001")
    extra = BATCH.format(n=2, assay=99.0, total=0.20) + BATCH.format(n=3, assay=100.1, total=0.45)
    (folder / "batches.yaml").write_text(text[:cut] + extra + text[cut:], "utf-8")


DP_SHELF = '    shelf_life_acceptance: {text: 90.0–105.0 % of label claim, limit: {low: 90.0, high: 105.0, unit: "%"}}\n'


def test_a_wider_shelf_life_criterion_without_a_justification_is_missing_then_met(minimal):
    verdict = _verdict(minimal, WIDER)                       # the tablets' assay: 90.0–105.0 % at shelf life, 95.0–105.0 % at release
    assert verdict.status == "missing" and len(verdict.gaps) == 1
    gap = verdict.gaps[0]
    assert gap.severity == "advisory" and "Q6A" in gap.source and "Q6B" in gap.source
    assert gap.detail == ("specification 'spec-dp', test 'assay': the shelf-life criterion 90.0–105.0 % of label claim is wider "
                          "than the release criterion 95.0–105.0 % of label claim without a shelf_life_justification")
    lines = (minimal / "specifications" / "spec-dp.yaml").read_text("utf-8").splitlines()
    assert lines[gap.location.line - 1].strip().startswith("shelf_life_acceptance:")
    apply_edits(minimal, [{"file": "specifications/spec-dp.yaml", "find": DP_SHELF,
                           "replace": DP_SHELF + "    shelf_life_justification: Assay falls by up to 4 % over 24 months; the degradant is qualified.\n"}])
    assert _verdict(minimal, WIDER).status == "met"


def test_a_wider_shelf_life_criterion_of_a_chemical_substance_says_q6a_is_for_products(minimal):
    apply_edits(minimal, [{"file": "specifications/spec-dp.yaml", "find": DP_SHELF, "replace": ""}])
    verdict = _verdict(minimal, WIDER)
    assert verdict.status == "n/a" and verdict.reason     # no test has a shelf-life criterion of its own
    wider = ASSAY + '    shelf_life_acceptance: {text: 95.0–105.0 %, limit: {low: 95.0, high: 105.0, unit: "%"}}\n'
    apply_edits(minimal, [{"file": "specifications/spec-ds.yaml", "find": ASSAY, "replace": wider}])
    verdict = _verdict(minimal, WIDER)
    assert verdict.status == "missing"
    assert verdict.gaps[0].detail.endswith("(ICH Q6A applies release and shelf-life criteria to drug products only)")


def test_a_narrower_shelf_life_criterion_needs_no_justification(minimal):
    narrower = DP_SHELF.replace("90.0–105.0", "96.0–104.0").replace("low: 90.0, high: 105.0", "low: 96.0, high: 104.0")
    apply_edits(minimal, [{"file": "specifications/spec-dp.yaml", "find": DP_SHELF, "replace": narrower}])
    verdict = _verdict(minimal, WIDER)
    assert verdict.status == "met" and verdict.reason == "all 1 tests with a shelf-life criterion checked"


def test_limits_within_three_batches_experience_are_met(minimal):
    assert _verdict(minimal, EXPERIENCE).status == "n/a"     # one batch: no experience to compare with
    _three_batches(minimal)
    assert _verdict(minimal, EXPERIENCE).status == "met"     # 98.0–102.0 % around 99.0–100.1 %; ≤ 1.0 % above 0.20–0.45 %


def test_a_limit_far_beyond_the_batches_is_an_advisory_with_the_measure(minimal):
    _three_batches(minimal)
    apply_edits(minimal, [{"file": "specifications/spec-ds.yaml", "find": TOTAL,
                           "replace": TOTAL.replace("1.0 %", "2.0 %").replace("1.0,", "2.0,")}])
    verdict = _verdict(minimal, EXPERIENCE)
    assert verdict.status == "missing" and len(verdict.gaps) == 1
    gap = verdict.gaps[0]
    assert gap.severity == "advisory"
    # (2.0 − 0.45) / (0.45 − 0.20) = 6.2 ranges beyond the highest result
    assert ("test 'total-impurities': the upper limit 2 lies 6.2 times the observed range beyond the highest of 3 results of "
            "3 batches (0.2–0.45") in gap.detail
    assert "more than 3 ranges" in gap.detail


def test_a_compendial_limit_is_not_judged_by_batch_experience(minimal):
    _three_batches(minimal)
    apply_edits(minimal, [{"file": "specifications/spec-ds.yaml", "find": TOTAL,
                           "replace": TOTAL.replace("1.0 %", "2.0 %").replace("1.0,", "2.0,") + '    compendial_reference: {ph_eur: "2.2.29"}\n'}])
    assert _verdict(minimal, EXPERIENCE).status == "met"     # assay still counted and within; the compendial test is left out


def test_the_examples_justify_their_wider_shelf_life_criteria():
    model = build_model(load_dossier(ROOT / "dossier", label="dossier"))
    verdict = evaluate_rule(model, WIDER, "marketing")
    assert verdict.status == "met"
    assert verdict.reason == "all 15 tests with a shelf-life criterion checked"
