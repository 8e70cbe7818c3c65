"""ICH Q3D(R2) at drug-product level: every product of a marketing application has its elemental
impurities risk assessment summary (approach, route, elements by class, highest level against the
30 % control threshold, conclusion), printed in 3.2.P.5.5; not for clinical research stages, nor for
the products Q3D(R2) §2 leaves out (vaccines, cells, gene therapy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, apply_edits, materialise_case
from dossiergen.build import render_folder
from dossiergen.gaps import evaluate_rule, load_rules
from dossiergen.load import load_dossier
from dossiergen.model import build_model

RULE = next(r for r in load_rules("us") if r["id"] == "core.elemental-impurities")
Q3D = """  elemental_impurities:
    approach: component
    route: oral
    elements:
      - {element: Cd, class: "1", pde: {value: 5, unit: ug/d}, percent_of_pde: 0.4}
      - {element: Pb, class: "1", pde: {value: 5, unit: ug/d}, percent_of_pde: 2.5}
      - {element: As, class: "1", pde: {value: 15, unit: ug/d}, percent_of_pde: 1.1}
      - {element: Hg, class: "1", pde: {value: 30, unit: ug/d}, percent_of_pde: 0.2}
      - {element: Co, class: "2A", pde: {value: 50, unit: ug/d}, percent_of_pde: 0.3}
      - {element: V, class: "2A", pde: {value: 100, unit: ug/d}, percent_of_pde: 0.5}
      - {element: Ni, class: "2A", pde: {value: 200, unit: ug/d}, percent_of_pde: 1.8}
    conclusion: Every element is below 30 % of the oral PDE; none is in the specification.
"""


def _verdict(folder: Path, stage: str = "marketing"):
    return evaluate_rule(build_model(load_dossier(folder, label="dossier")), RULE, stage)


@pytest.fixture
def minimal(tmp_path) -> Path:
    return materialise_case("minimal", tmp_path)


def test_a_marketing_product_without_its_q3d_summary_is_missing_and_na_at_ind(minimal):
    verdict = _verdict(minimal)
    assert verdict.status == "missing" and [g.detail for g in verdict.gaps] == [
        "'dp-minitab' has no elemental impurities risk assessment summary (control.elemental_impurities)"]
    ind = _verdict(minimal, "ind")
    assert ind.status == "n/a" and "marketing" in ind.reason  # ICH Q3D(R2) §2: not for clinical research stages


@pytest.mark.parametrize("molecule", ["vaccine", "car_t", "gene_therapy"])
def test_products_outside_q3d_are_na(minimal, molecule):
    apply_edits(minimal, [{"file": "application.yaml", "find": "molecule_type: small_molecule", "replace": f"molecule_type: {molecule}"}])
    verdict = _verdict(minimal)
    assert verdict.status == "n/a" and molecule.replace("_", " ") in verdict.reason


def test_the_summary_is_met_then_a_class_1_element_left_out_is_named(minimal):
    apply_edits(minimal, [{"file": "products/dp-minitab.yaml", "find": "  justification:", "replace": Q3D + "  justification:"}])
    assert _verdict(minimal).status == "met"
    apply_edits(minimal, [{"file": "products/dp-minitab.yaml", "find": "      - {element: Hg, class: \"1\", pde: {value: 30, unit: ug/d}, percent_of_pde: 0.2}\n", "replace": ""}])
    verdict = _verdict(minimal)
    assert verdict.status == "missing" and [g.detail for g in verdict.gaps] == [
        "'dp-minitab': Class 1 and 2A elements not considered: Hg"]


def test_an_element_above_the_control_threshold_needs_a_specification_test(minimal):
    above = Q3D.replace("percent_of_pde: 1.8}", "percent_of_pde: 42}")
    apply_edits(minimal, [{"file": "products/dp-minitab.yaml", "find": "  justification:", "replace": above + "  justification:"}])
    verdict = _verdict(minimal)
    assert verdict.status == "missing" and [g.detail for g in verdict.gaps] == [
        "'dp-minitab': Ni at 42 % of the PDE is above the control threshold (30 %) and no test of the specification controls it"]
    apply_edits(minimal, [{"file": "products/dp-minitab.yaml", "find": "percent_of_pde: 42}", "replace": "percent_of_pde: 42, test: assay}"}])
    assert _verdict(minimal).status == "met"
    [document] = render_folder(minimal, "us", "marketing", "3.2.P.5.5")
    text = document.markdown.replace("\u00a0", " ")  # a number and its unit are joined by a no-break space
    assert "| Ni | 2A | 200 µg/day | 42 % | Above; controlled by the specification test" in text
    assert "| Cd | 1 | 5 µg/day | 0.4 % | Below; no additional control |" in text
    assert "by the component approach with the permitted daily exposures (PDEs) for the oral route" in text


def test_the_examples_print_their_q3d_summary_in_3_2_p_5_5():
    for folder in (ROOT / "examples" / "quenatuzumab-vedotin", ROOT / "dossier", ROOT / "examples" / "velcratinib-tablets"):
        model = build_model(load_dossier(folder, label="dossier"))
        assert evaluate_rule(model, RULE, "marketing").status == "met", folder.name
    [document] = render_folder(ROOT / "examples" / "quenatuzumab-vedotin", "us", "marketing", "3.2.P.5.5")
    assert "| Ni | 2A | 20 µg/day | 3.1 % | Below; no additional control |" in document.markdown.replace("\u00a0", " ")
    assert "for the parenteral route" in document.markdown and document.missing == ()
