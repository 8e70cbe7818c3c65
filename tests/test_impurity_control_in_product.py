"""A drug-substance impurity may be controlled by the drug product's specification (controlled_in names
the product): a cell therapy's drug substance is tested at product release (ICH Q6B 2.3). On copies of the
CAR-T example (examples/qirocabtagene-autoleucel)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT, apply_edits
from dossiergen.assemble import assemble_context
from dossiergen.build import _model, validate_folder
from dossiergen.render import render_document

SOURCE = ROOT / "examples" / "qirocabtagene-autoleucel"
CELLS = "substances/hl19-cells.yaml"
CELLS_ID = "cells-hl19"
LINE = "control: specification, controlled_in: dp-hl19-bag, test: cd3}"


def _copy(tmp_path: Path, replace: str) -> Path:
    folder = tmp_path / "cart"
    shutil.copytree(SOURCE, folder)
    apply_edits(folder, [{"file": CELLS, "find": LINE, "replace": replace}])
    return folder


def test_the_cells_impurity_points_to_the_products_specification():
    context = assemble_context(_model(SOURCE)[0], "us", "ind")
    document = next(d for d in context.documents if d.number == "3.2.S.3.2" and CELLS_ID in d.owners)
    row = next(line for line in render_document(context, document).markdown.splitlines() if "Residual CD19+ cells" in line)
    assert "Specification of " in row and "CD3+ T cells (% of viable CD45+)" in row
    assert "32p5-contr-drug-prod/32p51-spec" in row  # the link opens the product's 3.2.P.5.1, not the cells' 3.2.S.4.1
    assert "32s41-spec" not in row


def test_a_test_the_product_specification_lacks_is_a_located_error(tmp_path):
    folder = _copy(tmp_path, "control: specification, controlled_in: dp-hl19-bag, test: cd33}")
    [problem] = [p for p in validate_folder(folder) if p.code == "impurity.unknown_test"]
    assert "'dp-hl19-bag'" in problem.message and problem.hint == "did you mean 'cd3'?"
    assert problem.location.file.endswith(CELLS)


def test_without_controlled_in_the_cells_own_specification_is_meant(tmp_path):
    """The same test id without controlled_in is looked up in the cells' own specification, which has no
    CD3 test: an error, so a DS impurity is never said to be controlled by a test that does not exist."""
    folder = _copy(tmp_path, "control: specification, test: cd3}")
    [problem] = [p for p in validate_folder(folder) if p.code == "impurity.unknown_test"]
    assert "the substance's specification" in problem.message
