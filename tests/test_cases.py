"""Bad-input scenarios: each case's exact stderr and exit code are golden files under expected/."""

from __future__ import annotations

import pytest

from conftest import CASES, check_golden, materialise_case, run_cli

BAD_INPUT = sorted(p.name for p in CASES.iterdir() if (p / "edits.yaml").exists())


@pytest.mark.parametrize("name", BAD_INPUT)
def test_validate_reports_case(name, tmp_path, update_golden):
    """`dossiergen validate` prints exactly the expected lines and exit code for each scenario."""
    materialise_case(name, tmp_path)
    run = run_cli("validate", "--dossier", "dossier", cwd=tmp_path)
    expected = CASES / name / "expected"
    check_golden(expected / "stderr.txt", run.stderr, update_golden)
    check_golden(expected / "exit_code", f"{run.exit_code}\n", update_golden)


@pytest.mark.parametrize("name", BAD_INPUT)
def test_every_problem_is_located(name, tmp_path):
    """Every problem line names file:line:column (or the file, for whole-file problems) and a code."""
    materialise_case(name, tmp_path)
    run = run_cli("validate", "--dossier", "dossier", "--format", "json", cwd=tmp_path)
    import json

    problems = json.loads(run.stdout)
    assert problems, "a bad-input case must report at least one problem"
    for problem in problems:
        assert problem["location"]["file"].startswith("dossier/")
        assert problem["code"] and problem["message"]
        whole_file = problem["code"] in {"load.binary", "load.missing_file", "load.unknown_file", "load.too_large", "file.unlisted"}
        assert whole_file or problem["location"]["line"] >= 1
