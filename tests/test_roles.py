"""Substance roles drive the rules: a chemically synthesised drug-linker of an ADC follows the
small-molecule guidelines as principles (ICH Q1E, retest period), the antibody and the conjugate
follow ICH Q5C/Q6B; Chinese documents name each by its role; the eAF lists every substance's sites."""

from __future__ import annotations

import pytest

from conftest import apply_edits, materialise_case

from dossiergen.gaps import find_gaps
from dossiergen.load import load_dossier
from dossiergen.model import build_model
from dossiergen.roles import cn_term, guidelines, is_biological, stability_claim_kind

ADC = {"file": "application.yaml", "find": "molecule_type: small_molecule", "replace": "molecule_type: adc"}
LINKER = {"file": "substances/ds-minitab.yaml", "find": "\nsites:", "replace": "\nrole: drug_linker\nsites:"}
# the long-term study and the claim moved to the substance, so that its claim is judged
ON_SUBSTANCE = [{"file": "stability.yaml", "find": "    subject: dp-minitab\n    batch: b-dp-001", "replace": "    subject: ds-minitab\n    batch: b-dp-001"},
                {"file": "stability.yaml", "find": "  - subject: dp-minitab\n    kind: shelf_life", "replace": "  - subject: ds-minitab\n    kind: retest_period"}]


def _model(tmp_path, *edits):
    folder = materialise_case("minimal", tmp_path)
    apply_edits(folder, list(edits))
    return folder, build_model(load_dossier(folder, label="dossier"))


def test_a_drug_linker_of_an_adc_follows_small_molecule_principles(tmp_path):
    _, model = _model(tmp_path, ADC, LINKER)
    substance = model.get("ds-minitab").data
    assert not is_biological(model, substance)
    found = {g.guideline: g.applies for g in guidelines(model, substance)}
    assert found == {"ICH Q11": "principles", "ICH Q3A(R2)": "principles", "ICH Q3C(R9)": "principles",
                     "ICH Q6A": "principles", "ICH Q1A(R2)": "principles", "ICH M7(R2)": "principles"}
    assert stability_claim_kind(model, substance) == "retest_period"
    assert cn_term(model, substance) == "药物-连接子中间体"


def test_within_ich_s9_the_drug_linker_is_assessed_under_s9_not_m7(tmp_path):
    s9 = {"file": "application.yaml", "find": "molecule_type: adc\n", "replace": "molecule_type: adc\nich_s9_scope: true\n"}
    _, model = _model(tmp_path, ADC, LINKER, s9)
    names = [g.guideline for g in guidelines(model, model.get("ds-minitab").data)]
    assert "ICH S9" in names and "ICH M7(R2)" not in names


def test_the_conjugate_and_the_antibody_follow_q5c_and_q6b(tmp_path):
    conjugate = {**LINKER, "replace": "\nrole: conjugate\nsites:"}
    _, model = _model(tmp_path, ADC, conjugate)
    substance = model.get("ds-minitab").data
    assert is_biological(model, substance) and stability_claim_kind(model, substance) == "shelf_life"
    assert {g.guideline: g.applies for g in guidelines(model, substance)} == {"ICH Q5C": "binding", "ICH Q6B": "binding"}
    assert cn_term(model, substance) == "原液"
    antibody = {**LINKER, "replace": "\nrole: antibody_intermediate\nsites:"}
    _, model = _model(tmp_path / "mab", ADC, antibody)
    assert is_biological(model, model.get("ds-minitab").data) and cn_term(model, model.get("ds-minitab").data) == "抗体中间体"


def test_a_small_molecule_substance_is_chemical_and_binding(tmp_path):
    _, model = _model(tmp_path)
    substance = model.get("ds-minitab").data
    assert not is_biological(model, substance) and cn_term(model, substance) == "原料药"
    assert {g.applies for g in guidelines(model, substance)} == {"binding"}


def _support_branch(model, subject):
    from dossiergen.shelflife import verdict

    claim = next(c for c in model.single("stability")["claims"] if c["subject"] == subject)
    return verdict(model, claim).support.key


def test_the_drug_linkers_stability_is_judged_under_q1e_not_q5c(tmp_path):
    # the same data: Q1E lets room-temperature data without significant change extrapolate (up to 2 × X);
    # an ADC's active substance is biological (Q5C: real-time data only)
    _, linker = _model(tmp_path / "a", ADC, LINKER, *ON_SUBSTANCE)
    assert _support_branch(linker, "ds-minitab") == "room"
    _, conjugate = _model(tmp_path / "b", ADC, {**LINKER, "replace": "\nrole: conjugate\nsites:"}, *ON_SUBSTANCE)
    assert _support_branch(conjugate, "ds-minitab") == "biotech"
    gaps = [g for g in find_gaps(conjugate, "us", "marketing") if g.rule == "core.shelf-life-supported"]
    assert len(gaps) == 1 and "12 months claimed; 6 months of long-term data support at most 6 months" in gaps[0].detail
    assert [g for g in find_gaps(linker, "us", "marketing") if g.rule == "core.shelf-life-supported"] == []


def test_chinese_documents_name_the_drug_linker_as_an_intermediate(tmp_path):
    from dossiergen.build import render_folder
    from dossiergen.regional.cn import quality_standard_data

    folder, model = _model(tmp_path, ADC, LINKER)
    substance_docs = "\n".join(r.markdown for r in render_folder(folder, "cn", "ind", "3.2.S"))
    assert "药物-连接子中间体" in substance_docs and "原液" not in substance_docs
    product_docs = "\n".join(r.markdown for r in render_folder(folder, "cn", "ind", "3.2.P"))
    assert "原液" in product_docs  # the product's documents name the ADC's drug substance as biological
    assert [s["label_key"] for s in quality_standard_data(model, "ind")["substances"]] == ["cn_qs_substance_drug_linker"]
    english = "\n".join(r.markdown for r in render_folder(folder, "neutral", "ind", "3.2.S.7.1"))
    assert "their principles are applied: ICH Q11, ICH Q3A(R2), ICH Q3C(R9), ICH Q6A, ICH Q1A(R2), ICH M7(R2)" in english


def test_the_eaf_lists_the_sites_of_every_substance_intermediates_included(tmp_path):
    from dossiergen.regional.eu import eaf_data

    _, model = _model(tmp_path, ADC, LINKER)
    listed = eaf_data(model, "marketing")["active_substance_manufacturers"]
    assert listed and any("site-api" in str(entry) for entry in listed)


# The guideline choice for every role (ICH Q3A(R2) §1, Q6A §1.3 and M7(R2) §2 exclude peptides,
# oligonucleotides and biological products; M7 does not apply within the scope of ICH S9).
SMALL = {"ICH Q11": "binding", "ICH Q3A(R2)": "binding", "ICH Q3C(R9)": "binding", "ICH Q6A": "binding",
         "ICH Q1A(R2)": "binding", "ICH M7(R2)": "binding"}
LINKER_PRINCIPLES = {"ICH Q11": "principles", "ICH Q3A(R2)": "principles", "ICH Q3C(R9)": "principles",
                     "ICH Q6A": "principles", "ICH Q1A(R2)": "principles", "ICH M7(R2)": "principles"}
BIOLOGICAL = {"ICH Q5C": "binding", "ICH Q6B": "binding"}


@pytest.mark.parametrize("molecule, role, s9, expected", [
    ("small_molecule", None, False, SMALL),
    ("small_molecule", None, True, {**{k: v for k, v in SMALL.items() if k != "ICH M7(R2)"}, "ICH S9": "binding"}),
    ("peptide", None, False, {"ICH Q11": "binding", "ICH Q3C(R9)": "binding", "ICH Q1A(R2)": "binding"}),
    ("oligonucleotide", None, False, {"ICH Q11": "binding", "ICH Q3C(R9)": "binding", "ICH Q1A(R2)": "binding"}),
    ("adc", "antibody_intermediate", False, BIOLOGICAL),
    ("adc", "conjugate", False, BIOLOGICAL),
    ("adc", "drug_linker", False, LINKER_PRINCIPLES),
    ("adc", "drug_linker", True, {**{k: v for k, v in LINKER_PRINCIPLES.items() if k != "ICH M7(R2)"}, "ICH S9": "principles"}),
    ("monoclonal_antibody", None, False, BIOLOGICAL),
    ("car_t", "vector", False, BIOLOGICAL),
], ids=lambda v: str(v) if not isinstance(v, dict) else "")
def test_the_guidelines_of_every_role(tmp_path, molecule, role, s9, expected):
    edits = [{"file": "application.yaml", "find": "molecule_type: small_molecule",
              "replace": f"molecule_type: {molecule}" + ("\nich_s9_scope: true" if s9 else "")}]
    if role:
        edits.append({**LINKER, "replace": f"\nrole: {role}\nsites:"})
    _, model = _model(tmp_path, *edits)
    substance = model.get("ds-minitab").data
    assert {g.guideline: g.applies for g in guidelines(model, substance)} == expected
    # a peptide or oligonucleotide is never judged under Q3A, Q6A or M7; a biological substance never under Q1A
    if molecule in ("peptide", "oligonucleotide"):
        assert not {"ICH Q3A(R2)", "ICH Q6A", "ICH M7(R2)"} & set(expected)
    assert stability_claim_kind(model, substance) == ("shelf_life" if "ICH Q5C" in expected else "retest_period")
