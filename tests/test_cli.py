"""The CLI in-process: exit codes and output formats (DESIGN.md §8)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import apply_edits, run_cli


def test_valid_dossier_exits_0(minimal: Path):
    run = run_cli("validate", "--dossier", str(minimal))
    assert run.exit_code == 0
    assert run.stderr.strip().endswith("0 error(s), 0 warning(s)")


def test_bad_input_exits_1(minimal: Path):
    apply_edits(minimal, [{"file": "batches.yaml", "find": "scale: pilot", "replace": "scale: huge"}])
    run = run_cli("validate", "--dossier", str(minimal))
    assert run.exit_code == 1
    assert "'huge' is not an allowed value for Scale [schema.enum]" in run.stderr


def test_missing_folder_is_usage_exit_2(tmp_path: Path):
    run = run_cli("validate", "--dossier", str(tmp_path / "missing"))
    assert run.exit_code == 2
    assert "[usage.no_dossier]" in run.stderr


def test_unknown_option_is_usage_exit_2():
    assert run_cli("validate", "--no-such-option").exit_code == 2
    assert run_cli("build", "--market", "mars").exit_code == 2


def test_warnings_exit_0_or_3_with_strict(minimal: Path):
    apply_edits(minimal, [{"file": "batches.yaml", "find": "value: 0.32", "replace": "value: 1.32"}])
    assert run_cli("validate", "--dossier", str(minimal)).exit_code == 0
    assert run_cli("validate", "--dossier", str(minimal), "--strict").exit_code == 3


def test_json_format_lists_problems_with_locations(minimal: Path):
    apply_edits(minimal, [{"file": "sites.yaml", "find": "fei: \"1234567\"", "replace": "fei: \"12\""}])
    run = run_cli("validate", "--dossier", str(minimal), "--format", "json")
    problems = json.loads(run.stdout)
    assert [(p["code"], p["location"]["line"], p["location"]["column"], p["location"]["path"]) for p in problems] == [
        ("id.fei", 12, 43, "$.sites[1].identifiers.fei")]


def test_validate_never_changes_the_source(minimal: Path):
    before = {p: p.read_bytes() for p in sorted(minimal.rglob("*")) if p.is_file()}
    apply_edits(minimal, [{"file": "batches.yaml", "find": "scale: pilot", "replace": "scale: huge"}])
    before[minimal / "batches.yaml"] = (minimal / "batches.yaml").read_bytes()
    run_cli("validate", "--dossier", str(minimal))
    assert before == {p: p.read_bytes() for p in sorted(minimal.rglob("*")) if p.is_file()}


def test_one_clock(tmp_path):
    """Only clock.py reads the time, so SOURCE_DATE_EPOCH governs every date in outputs."""
    src = Path(__file__).parent.parent / "src" / "dossiergen"
    offenders = [p.name for p in src.rglob("*.py") if p.name != "clock.py"
                 and any(s in p.read_text("utf-8") for s in ("datetime.now(", ".today()", "time.time(", "date.today"))]
    assert offenders == []


def test_progress_off_a_terminal_prints_one_line_per_stage(capsys):
    """In a CI log (stderr not a terminal) a build's progress is one plain line as each stage starts,
    with its count; the writing stage, which alternates with packaging, is named once."""
    from dossiergen.cli import _progress

    with _progress() as advance:
        advance("loading", 0, 1)
        advance("validating", 0, 24)
        for done in range(3):
            advance("rendering eu", done, 3)
        for done in range(1, 3):
            advance("writing", done, 2)
            advance("checking and packaging eu", 0, 1)
        advance("writing", 2, 2)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["loading", "validating (24)", "rendering eu (3)", "writing (2)", "checking and packaging eu"]
