"""Cell-therapy lots: one patient, one lot, with its chain of identity; engineering runs told
apart; dispositions (released, released under exceptional circumstances, failed manufacture);
dose as a range per kilogram; results pending at release shown as such."""

from __future__ import annotations

from conftest import apply_edits, materialise_case

from dossiergen.load import load_dossier
from dossiergen.validate import validate_dossier

PATIENT = "    donor: {type: patient, patient_code: P-101-004, chain_of_identity: COI-24-0117, collection_site: site-dp}\n"
DOSE = "    dose: {low: 1, high: 5, unit: \"10*6{cells}\", per_kg: true}\n"


def _lot(tmp_path, disposition: str, donor: str = PATIENT, dose: str = DOSE):
    folder = materialise_case("minimal", tmp_path)
    apply_edits(folder, [{"file": "batches.yaml", "find": "    made_from: [b-ds-001]\n",
                          "replace": "    made_from: [b-ds-001]\n" + donor + disposition + dose}])
    return folder


def _errors(folder):
    return [(p.code, p.message) for p in validate_dossier(load_dossier(folder, label="dossier")) if p.severity == "error"]


def _render(folder, market="neutral"):
    from dossiergen.build import render_folder

    return "\n".join(r.markdown for r in render_folder(folder, market, "ind", "3.2.P.5.4"))


def _row(text, lot="DP-001"):
    return next(line for line in text.splitlines() if line.startswith(f"| {lot} |") and "COI" in line or
                line.startswith(f"| {lot} |") and "engineering" in line.lower())


def test_a_released_patient_lot_with_results_pending_at_release(tmp_path):
    folder = _lot(tmp_path, "    disposition: {status: released, date: \"2025-05-09\", pending_tests: [assay]}\n")
    assert _errors(folder) == []
    row = _row(_render(folder))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["DP-001", "Patient P-101-004", "COI-24-0117", "Released (2025-05-09)",
                     "1–5\u00a0×10⁶ cells per kg body weight", "Assay (HPLC)"]
    assert "Patient lots and engineering runs" in _render(folder)


def test_released_under_exceptional_circumstances_needs_and_prints_its_justification(tmp_path):
    bare = _lot(tmp_path / "a", "    disposition: {status: released_exceptional}\n")
    errors = _errors(bare)
    assert [code for code, _ in errors] == ["schema.required"] and "justification" in errors[0][1]
    folder = _lot(tmp_path / "b", "    disposition: {status: released_exceptional, justification: \"Viability 68 % (criterion ≥ 70 %); "
                                  "supplied at the treating physician's request after the manufacturer's risk evaluation.\"}\n")
    assert _errors(folder) == []
    row = _row(_render(folder))
    assert "Released under exceptional circumstances, Viability 68 % (criterion ≥ 70 %)" in row
    chinese = _render(folder, "cn")
    assert "特殊情况下放行" in chinese and "患者 P-101-004" in chinese


def test_a_failed_manufacture_is_shown_and_cannot_be_in_clinical_use(tmp_path):
    failed = "    disposition: {status: failed_manufacture}\n"
    used = _lot(tmp_path / "a", failed)  # the minimal product lot is used for clinical and stability
    assert ("lot.failed_lot_used", "lot 'b-dp-001' failed manufacture but is listed as used for clinical") in _errors(used)
    folder = _lot(tmp_path / "b", failed)
    apply_edits(folder, [{"file": "batches.yaml", "find": "    uses: [clinical, stability]\n", "replace": "    uses: [development]\n"}])
    assert _errors(folder) == []
    assert "Failed manufacture (not released)" in _row(_render(folder))


def test_an_engineering_run_is_told_apart_and_never_given_to_a_patient(tmp_path):
    engineering = "    donor: {type: healthy_donor}\n"
    folder = _lot(tmp_path / "a", "    disposition: {status: released}\n", donor=engineering)
    assert ("lot.engineering_run_used", "lot 'b-dp-001' is an engineering run (healthy donor) but is listed as used for clinical") \
        in _errors(folder)
    apply_edits(folder, [{"file": "batches.yaml", "find": "    uses: [clinical, stability]\n", "replace": "    uses: [ppq, stability]\n"}])
    assert _errors(folder) == []
    row = _row(_render(folder))
    assert "Healthy donor (engineering run)" in row and "| – |" in row  # no chain of identity for a healthy donor


def test_a_patient_lot_needs_its_patient_code_and_chain_of_identity(tmp_path):
    folder = _lot(tmp_path, "    disposition: {status: released}\n", donor="    donor: {type: patient}\n")
    errors = _errors(folder)
    assert sorted(code for code, _ in errors) == ["schema.required", "schema.required"]
    assert {"missing required property 'patient_code'", "missing required property 'chain_of_identity'"} == {m for _, m in errors}


def test_a_single_dose_per_kg_and_a_lot_without_cells_print_plainly(tmp_path):
    folder = _lot(tmp_path, "    disposition: {status: released}\n", dose="    dose: {value: 2, unit: \"10*6{cells}\", per_kg: true}\n")
    assert "| 2\u00a0×10⁶ cells per kg body weight |" in _row(_render(folder))
    # a CAR-T dose counts the CAR-positive viable T cells, and says so
    car = _lot(tmp_path / "car", "    disposition: {status: released}\n",
               dose="    dose: {value: 0.5, unit: \"10*6{CAR+_viable_T_cells}\", per_kg: true}\n")
    assert "| 0.5\u00a0×10⁶ CAR-positive viable T cells per kg body weight |" in _row(_render(car))
    plain = materialise_case("minimal", tmp_path / "plain")
    assert "Patient lots" not in _render(plain)  # a tablet lot has no donor or disposition: no such table


def test_the_patient_lot_rule_is_met_missing_or_not_applicable(tmp_path):
    from dossiergen.gaps import evaluate_rule, load_rules
    from dossiergen.model import build_model

    rule = next(r for r in load_rules("us") if r["id"] == "core.data-patient-lots")
    verdict = lambda folder: evaluate_rule(build_model(load_dossier(folder, label="dossier")), rule, "ind")
    assert verdict(materialise_case("minimal", tmp_path / "tablets")).status == "n/a"  # no cell lot: nothing to judge
    good = _lot(tmp_path / "good", "    disposition: {status: released}\n")
    assert verdict(good).status == "met" and "1 cell-therapy lots" in verdict(good).reason
    assert verdict(_lot(tmp_path / "bad", "    disposition: {status: failed_manufacture}\n")).status == "missing"
