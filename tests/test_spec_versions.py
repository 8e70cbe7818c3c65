"""Batches tested under an earlier specification version are judged against, and shown with, that
version's criteria (previous_versions with their acceptance); an id alone keeps today's criteria."""

from __future__ import annotations

from conftest import apply_edits, run_cli

V1_WITH_LIMIT = """previous_versions:
  - version: "1.0"
    tests:
      - appearance
      - id: assay
        acceptance: {text: 97.0–103.0 %, limit: {low: 97.0, high: 103.0, unit: "%"}}
"""


def _tested_under_v1(folder, assay: float) -> None:
    apply_edits(folder, [
        {"file": "specifications/spec-ds.yaml", "find": 'previous_versions:\n  - {version: "1.0", tests: [appearance, assay]}\n',
         "replace": V1_WITH_LIMIT},
        {"file": "batches.yaml", "find": 'specification: {id: spec-ds, version: "2.0"}', "replace": 'specification: {id: spec-ds, version: "1.0"}'},
        {"file": "batches.yaml", "find": '{test: assay, value: 99.6, unit: "%"}', "replace": f'{{test: assay, value: {assay}, unit: "%"}}'},
        {"file": "batches.yaml", "find": '      - {test: total-impurities, value: 0.32, unit: "%"}\n', "replace": ""},
    ])


def test_a_result_within_its_versions_limit_is_not_out_of_specification(minimal):
    _tested_under_v1(minimal, 97.5)  # outside today's 98.0–102.0 %, inside version 1.0's 97.0–103.0 %
    run = run_cli("validate", "--dossier", str(minimal))
    assert run.exit_code == 0, run.stderr
    assert "out_of_specification" not in run.stdout + run.stderr


def test_a_result_outside_its_versions_limit_is_flagged_naming_the_version(minimal):
    _tested_under_v1(minimal, 96.5)
    run = run_cli("validate", "--dossier", str(minimal))
    lines = [line for line in (run.stdout + run.stderr).splitlines() if "result.out_of_specification" in line]
    assert len(lines) == 1
    assert "assay = 96.5" in lines[0] and "97" in lines[0] and "103" in lines[0]
    assert "specification version 1.0" in lines[0]
    assert "batches.yaml:" in lines[0]


def test_the_batch_table_names_the_version_and_its_differing_criteria(minimal):
    _tested_under_v1(minimal, 97.5)
    run = run_cli("render", "--dossier", str(minimal), "--section", "3.2.S.4.4")
    assert run.exit_code == 0, run.stderr
    header = next(line for line in run.stdout.splitlines() if line.startswith("| Test |"))
    assert "DS-001 (version 1.0)" in header
    note = next(line for line in run.stdout.splitlines() if line.startswith("Batch DS-001 was tested against version 1.0"))
    assert "(current version: 2.0)" in note
    assert "Assay (HPLC, anhydrous basis) (97.0–103.0 %)" in note          # the criterion it was judged by
    assert "Tests not in version 1.0 show no result (–): Total impurities (HPLC)." in note
    assert "outside the current ones: DS-001 Assay (HPLC, anhydrous basis) (97.5" in note
    assert "(OOS)" not in run.stdout                                          # within the criterion it was tested against


def test_the_chinese_table_names_the_version_too(minimal):
    _tested_under_v1(minimal, 96.5)
    run = run_cli("render", "--dossier", str(minimal), "--market", "cn", "--section", "3.2.S.4.4")
    assert run.exit_code == 0, run.stderr
    assert "DS-001（1.0版）" in run.stdout
    assert "批次DS-001按质量标准1.0版检验（现行版本：2.0），按该版本的标准判定。" in run.stdout
    assert "（超标）" in run.stdout                                             # 96.5 is outside 97.0–103.0 %


def test_an_id_alone_keeps_todays_criteria(minimal):
    # the minimal case lists version 1.0 as ids: a batch of 1.0 is judged against today's 98.0–102.0 %
    apply_edits(minimal, [
        {"file": "batches.yaml", "find": 'specification: {id: spec-ds, version: "2.0"}', "replace": 'specification: {id: spec-ds, version: "1.0"}'},
        {"file": "batches.yaml", "find": '{test: assay, value: 99.6, unit: "%"}', "replace": '{test: assay, value: 97.5, unit: "%"}'},
        {"file": "batches.yaml", "find": '      - {test: total-impurities, value: 0.32, unit: "%"}\n', "replace": ""},
    ])
    run = run_cli("validate", "--dossier", str(minimal))
    assert "result.out_of_specification" in run.stdout + run.stderr
    rendered = run_cli("render", "--dossier", str(minimal), "--section", "3.2.S.4.4").stdout
    assert "The criteria of the tests version 1.0 had are the current ones." in rendered


def test_an_earlier_test_without_its_criterion_is_a_located_schema_error(minimal):
    apply_edits(minimal, [{"file": "specifications/spec-ds.yaml", "find": "tests: [appearance, assay]}",
                           "replace": "tests: [appearance, {id: assay}]}"}])
    run = run_cli("validate", "--dossier", str(minimal))
    assert run.exit_code == 1
    assert "spec-ds.yaml:8:" in run.stderr and "acceptance" in run.stderr
