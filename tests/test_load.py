"""The loader keeps positions, and refuses what PyYAML would silently accept or choke on."""

from __future__ import annotations

from pathlib import Path

import pytest

from dossiergen.errors import UsageError
from dossiergen.load import load_dossier


def _codes(dossier):
    return [(p.code, str(p.location)) for p in dossier.problems]


def test_positions_of_keys_and_values(minimal: Path):
    dossier = load_dossier(minimal, label="d")
    assert dossier.locate("sites.yaml", ("sites", 1, "identifiers", "duns")).line == 12
    assert str(dossier.locate("sites.yaml", ("sites", 0, "legal_name"), key=True)) == "d/sites.yaml:4:5"
    assert str(dossier.locate("results/dp.csv", (1, "value"))) == "d/results/dp.csv:3:16"


def test_yaml_1_1_booleans_and_leading_zeros_stay_text(minimal: Path):
    (minimal / "references.yaml").write_text("references:\n  - {id: a, citation: yes}\n  - {id: b, citation: NO}\n  - {id: c, citation: 0123}\n")
    refs = load_dossier(minimal).files["references.yaml"].data["references"]
    assert [r["citation"] for r in refs] == ["yes", "NO", "0123"]


def test_dates_stay_text(minimal: Path):
    batches = load_dossier(minimal).files["batches.yaml"].data["batches"]
    assert batches[0]["date"] == "2025-03-10"


def test_alias_bomb_is_refused_before_expansion(minimal: Path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    (minimal / "references.yaml").write_text(bomb)
    dossier = load_dossier(minimal, label="d")
    assert _codes(dossier) == [("load.alias", "d/references.yaml:1:4")]
    assert "references.yaml" not in dossier.files


def test_non_utf8_names_line_and_column(minimal: Path):
    (minimal / "references.yaml").write_bytes(b"references:\n  - {id: a, citation: caf\xe9}\n")
    assert _codes(load_dossier(minimal, label="d")) == [("load.not_utf8", "d/references.yaml:2:26")]


def test_too_large_file_is_refused(minimal: Path, monkeypatch):
    monkeypatch.setattr("dossiergen.load.MAX_FILE_BYTES", 100)
    codes = [c for c, _ in _codes(load_dossier(minimal))]
    assert "load.too_large" in codes


def test_missing_folder_is_a_usage_error(tmp_path: Path):
    with pytest.raises(UsageError) as info:
        load_dossier(tmp_path / "nope")
    assert info.value.problems[0].code == "usage.no_dossier"


def test_hidden_files_and_figures_are_ignored(minimal: Path):
    (minimal / ".DS_Store").write_bytes(b"\x00\x01")
    (minimal / "figures").mkdir()
    (minimal / "figures" / "flow.png").write_bytes(b"\x89PNG\r\n\x00")
    assert load_dossier(minimal).problems == []


def test_csv_cell_positions_found_when_asked(minimal: Path):
    """A CSV cell's line and column are found from the file's text when an error needs them (issue 19:
    not held for every cell); a row after a quoted multi-line cell, a short row and an unknown
    column still get the positions a writer can go to."""
    path = minimal / "results" / "dp.csv"
    path.write_text(path.read_text("utf-8") + 'b-dp-001,purity,"99.1\n",%,,\nb-dp-001,ph\nb-dp-001,water,0.4,%,,\n', "utf-8")
    dossier = load_dossier(minimal, label="d")
    where = lambda *path: str(dossier.locate("results/dp.csv", path))  # noqa: E731
    assert where(1, "value") == "d/results/dp.csv:3:16"
    assert where(2, "value") == "d/results/dp.csv:4:1"  # a quoted cell on the line: the line, column 1
    assert where(3, "test") == "d/results/dp.csv:6:10"
    assert where(3, "value") == "d/results/dp.csv:6:1"  # the row has no value cell: the row
    assert where(4, "value") == "d/results/dp.csv:7:16"  # after the two-line row and the short one
    assert where(4, "nope") == "d/results/dp.csv:7:1"
    assert (4, "unit") in dossier.files["results/dp.csv"].marks and (5,) not in dossier.files["results/dp.csv"].marks


def test_knowledge_yaml_reads_as_safe_load_reads_it():
    """The project's YAML knowledge (labels, sections, glossary, units, regional rules) is read with
    PyYAML's C parser where installed (issue 19: a build process starts faster): every file gives
    exactly the values yaml.safe_load gives."""
    import yaml

    from dossiergen.paths import REGIONAL, SCHEMAS, TEMPLATES, project_yaml

    files = sorted([*TEMPLATES.rglob("*.yaml"), *REGIONAL.rglob("*.yaml"), *SCHEMAS.rglob("*.yaml")])
    assert any(p.name == "sections.yaml" for p in files) and any(p.name == "glossary.yaml" for p in files)
    for path in files:
        assert project_yaml(path.read_text("utf-8")) == yaml.safe_load(path.read_text("utf-8")), path


@pytest.mark.parametrize("separator", ["\f", "\v", "\u2028", "\u2029", "\x85", "\x1c"])
def test_csv_cell_positions_after_a_cell_holding_a_line_separator(minimal: Path, separator: str):
    """A cell may hold a form feed or a Unicode line separator: the csv module does not end the row
    there, so neither does the location of a later row's cells (str.splitlines did: every later cell
    was located on the wrong line, its column taken from another row's text)."""
    path = minimal / "results" / "dp.csv"
    path.write_text(path.read_text("utf-8") + f"b-dp-001,appearance,clear{separator}colourless,,,\n"
                    "b-dp-001,water,inf,%,,\n", "utf-8")
    dossier = load_dossier(minimal, label="d")
    # the row of `inf` is the file's 5th line: its value cell is the third, after "b-dp-001,water,"
    assert _codes(dossier) == [("load.not_finite", "d/results/dp.csv:5:16")]
