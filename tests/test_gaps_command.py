"""`dossiergen gaps`: per-market reports, the cross-market readiness matrix, and rule-pack errors."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest

from conftest import CASES, ROOT, check_golden, materialise_case, run_cli
from dossiergen.gaps import check_rule_pack

SOURCES = {"antibody-marketing": (ROOT / "dossier", "marketing"),
           "tablet-ind": (ROOT / "examples" / "velcratinib-tablets", "ind")}


@pytest.mark.parametrize("name", list(SOURCES))
def test_readiness_matrix_golden(name, tmp_path, update_golden):
    """The matrix of both examples (rules x markets, and each gap with its YAML place), reviewed."""
    folder, stage = SOURCES[name]
    run = run_cli("gaps", "--dossier", str(folder), "--stage", stage, "--out", str(tmp_path))
    assert run.exit_code == 0, run.stderr
    markdown = (tmp_path / "readiness" / stage / "readiness.md").read_text("utf-8")
    check_golden(CASES / "readiness" / "expected" / f"{name}.md", markdown, update_golden)


def test_gaps_command_writes_reports_per_market_and_the_matrix(tmp_path):
    source = materialise_case("minimal", tmp_path)
    run = run_cli("gaps", "--dossier", str(source), "--out", str(tmp_path / "out"))
    assert run.exit_code == 0, run.stderr
    assert "rule" in run.stdout and "US" in run.stdout and "CN" in run.stdout
    for market in ("us", "cn"):  # the minimal application targets the US and China only
        report = json.loads((tmp_path / "out" / market / "ind" / "gaps.json").read_text("utf-8"))
        assert report["market"] == market and "missing_in_documents" in report
    assert not (tmp_path / "out" / "eu").exists() and not (tmp_path / "out" / "uk").exists()
    matrix = json.loads((tmp_path / "out" / "readiness" / "ind" / "readiness.json").read_text("utf-8"))
    assert set(matrix["summary"]) == {"us", "cn"}
    assert all(set(r["status"].values()) <= {"met", "missing", "n/a", None} for r in matrix["rules"])
    document = docx.Document(tmp_path / "out" / "readiness" / "ind" / "readiness.docx")
    assert document.paragraphs[0].text.startswith("Global readiness: MT-001")
    assert len(document.tables) == 2


def test_missing_markers_and_gaps_agree_with_the_build(tmp_path):
    """The documents' [missing: …] markers appear in gaps.json, the same from build and from gaps."""
    source = materialise_case("minimal", tmp_path)
    run_cli("build", "--dossier", str(source), "--market", "us", "--out", str(tmp_path / "b"))
    run_cli("gaps", "--dossier", str(source), "--market", "us", "--out", str(tmp_path / "g"))
    built = json.loads((tmp_path / "b" / "us" / "ind" / "gaps.json").read_text("utf-8"))
    reported = json.loads((tmp_path / "g" / "us" / "ind" / "gaps.json").read_text("utf-8"))
    assert built == reported
    assert {"section": "3.2.P.2", "path": "overages"} in built["missing_in_documents"]


def _pack(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "regional" / "xx"
    folder.mkdir(parents=True)
    (folder / "requirements.yaml").write_text(text, "utf-8")
    return folder / "requirements.yaml"


RULE = "rules:\n  - id: us.x\n    title: t\n    source: s\n    severity: blocking\n    fix: f\n"


def test_unknown_check_kind_gives_one_located_message(tmp_path):
    _, problems = check_rule_pack(_pack(tmp_path, RULE + "    check: {kind: everyone, items: {kind: sites}}\n"))
    assert [(p.code, str(p.location), p.hint) for p in problems] == [
        ("schema.enum", "regional/xx/requirements.yaml:7:19", "did you mean 'every'?")]


def test_malformed_rule_gives_located_messages(tmp_path):
    _, problems = check_rule_pack(_pack(tmp_path, RULE.replace("    severity: blocking\n", "") + "    check: {kind: recent, items: {kind: sites}, field: date}\n"))
    assert [(p.code, p.location.line) for p in problems] == [("schema.required", 2), ("rules.check_key", 6)]
    assert "needs 'years'" in problems[1].message
