"""Cell and gene therapy in the data model (issue 16): a vector as a critical starting material with
its construct and tests, a substance never stored, site roles serving some markets only, a patient's
lots sharing one chain of identity, and the adventitious-agent rules for cells and vectors."""

from __future__ import annotations

from conftest import apply_edits

from dossiergen.build import render_folder
from dossiergen.gaps import assess
from dossiergen.load import load_dossier
from dossiergen.model import build_model
from dossiergen.regional import DATA
from dossiergen.validate import validate_dossier

CONSTRUCT = ("        construct:\n          vector_type: lentiviral\n          pseudotype: VSV-G\n"
             "          elements:\n            - {element: EF-1α promoter, description: Constitutive promoter, size_bp: 1179}\n"
             "          genome_size: {value: 5.1, unit: \"{kb}\"}\n"
             "        tests:\n          - {test: Functional titre, method: Transduction and flow cytometry, criterion: \"≥ 1.0 × 10⁸ TU/mL\"}\n"
             "          - {test: Replication-competent lentivirus, criterion: Not detected}\n")


def _model(folder):
    return build_model(load_dossier(folder, label="dossier"))


def _status(folder, rule, market="us", stage="ind"):
    return {v.id: v for v in assess(_model(folder), market, stage).verdicts}[rule]


def _errors(folder):
    return [(p.code, p.message) for p in validate_dossier(load_dossier(folder, label="dossier")) if p.severity == "error"]


def _md(folder, section, market="neutral"):
    return "\n".join(r.markdown for r in render_folder(folder, market, "ind", section))


def test_a_vector_as_critical_starting_material_shows_its_construct_and_tests(minimal):
    apply_edits(minimal, [{"file": "substances/ds-minitab.yaml", "find": "        justification: Commercially available, well characterised, two steps from the drug substance.\n",
                           "replace": "        justification: Commercially available, well characterised, two steps from the drug substance.\n" + CONSTRUCT}])
    assert _errors(minimal) == []
    text = _md(minimal, "3.2.S.2.3")
    assert "| Vector type | Lentiviral vector |" in text and "| Size of the vector genome | 5.1\u00a0kb |" in text
    assert "| EF-1α promoter | Constitutive promoter | 1179 |" in text
    assert "| Functional titre | Transduction and flow cytometry | ≥ 1.0 × 10⁸ TU/mL |" in text
    assert "| Replication-competent lentivirus | – | Not detected |" in text


def test_a_vector_structure_needs_its_construct_not_a_formula(minimal):
    apply_edits(minimal, [{"file": "substances/ds-minitab.yaml",
                           "find": "  structure: {type: smiles, smiles: \"CNc1nccc(n1)-c1cccc(Cl)c1\", molecular_formula: C11H10ClN3, molecular_weight: {value: 219.67, unit: g/mol}}\n",
                           "replace": "  structure: {type: vector}\n"}])
    errors = _errors(minimal)
    assert [code for code, _ in errors] == ["schema.required"] and "construct" in errors[0][1]


NOT_STORED = ("not_stored:\n  - subject: ds-minitab\n    justification: The substance is made and formulated the same day in a closed "
              "system and never held.\n")


def test_a_substance_never_stored_needs_no_retest_period_and_says_why(minimal):
    assert _status(minimal, "core.retest-period-substance").status == "missing"
    (minimal / "stability.yaml").write_text((minimal / "stability.yaml").read_text("utf-8") + NOT_STORED, "utf-8")
    assert _errors(minimal) == []
    verdict = _status(minimal, "core.retest-period-substance")
    assert verdict.status == "n/a" and "not_stored" in verdict.reason  # never "met" over no stored substance
    for section in ("3.2.S.7.1", "3.2.S.7.3"):
        text = _md(minimal, section)
        assert "Not applicable: The substance is made and formulated the same day" in text and "[missing" not in text


def test_a_site_role_for_some_markets_is_listed_only_in_their_annexes(minimal):
    apply_edits(minimal, [{"file": "sites.yaml", "find": "operations: Full synthesis and release testing}",
                           "replace": "operations: Full synthesis and release testing, markets: [cn]}"}])
    assert _errors(minimal) == []
    model = _model(minimal)
    listed = {e["site"] for e in DATA["form_356h"](model, "ind")["establishments"]}
    assert listed == {"site-dp"}
    assert "Supplies the markets: China" in _md(minimal, "3.2.S.2.1")  # the one core says which market it supplies
    assert "供应市场：中国" in _md(minimal, "3.2.S.2.1", "cn")


def test_a_patients_drug_substance_and_product_lots_share_one_chain_of_identity(minimal):
    coi = "    donor: {type: patient, patient_code: P-1, chain_of_identity: COI-1}\n"
    apply_edits(minimal, [{"file": "batches.yaml", "find": "    uses: [toxicology, clinical]\n", "replace": "    uses: [toxicology, clinical]\n" + coi},
                          {"file": "batches.yaml", "find": "    made_from: [b-ds-001]\n", "replace": "    made_from: [b-ds-001]\n" + coi}])
    assert _errors(minimal) == []  # one line of lots (DP made from DS): one patient


def test_cells_need_replication_competent_virus_and_donor_data_not_viral_clearance(minimal):
    apply_edits(minimal, [{"file": "application.yaml", "find": "molecule_type: small_molecule", "replace": "molecule_type: car_t"}])
    assert _status(minimal, "core.replication-competent-virus").status == "missing"
    assert _status(minimal, "core.donor-eligibility").status == "missing"
    assert _status(minimal, "core.viral-clearance").status == "n/a"


def test_viral_clearance_is_not_demanded_of_a_lentiviral_vector(minimal):
    apply_edits(minimal, [{"file": "application.yaml", "find": "molecule_type: small_molecule", "replace": "molecule_type: gene_therapy"}])
    assert _status(minimal, "core.viral-clearance").status == "missing"  # e.g. an AAV: clearance steps are possible
    apply_edits(minimal, [{"file": "substances/ds-minitab.yaml",
                           "find": "  structure: {type: smiles, smiles: \"CNc1nccc(n1)-c1cccc(Cl)c1\", molecular_formula: C11H10ClN3, molecular_weight: {value: 219.67, unit: g/mol}}\n",
                           "replace": "  structure: {type: vector, construct: {vector_type: lentiviral, elements: [{element: WPRE, description: enhancer}]}}\n"}])
    verdict = _status(minimal, "core.viral-clearance")
    assert verdict.status == "n/a" and "lentiviral" in verdict.reason


def test_results_pending_at_release_are_marked_in_the_batch_analyses(minimal):
    apply_edits(minimal, [{"file": "batches.yaml", "find": "    made_from: [b-ds-001]\n",
                           "replace": "    made_from: [b-ds-001]\n    disposition: {status: released, pending_tests: [assay, appearance]}\n"}])
    with open(minimal / "results" / "dp.csv", "w", encoding="utf-8") as f:
        f.write("batch,test,value,unit,qualifier,text\nb-dp-001,assay,100.4,%,,\n")  # appearance still outstanding
    assert _errors(minimal) == []
    text = _md(minimal, "3.2.P.5.4")
    assert "| Assay (HPLC) | 95.0–105.0 % of label claim | 100.4\u00a0% (after release) |" in text
    assert "| Appearance | White round tablets | Pending |" in text
    assert "(after release) The result was not available when the lot was released" in text
