"""Views of the product, control, stability and regional documents (views/product.py, quality.py,
regional.py): the shared column split, time-point labels, and a document no example has."""

from __future__ import annotations

import pytest

from conftest import apply_edits, materialise_case
from dossiergen import views
from dossiergen.build import render_folder
from dossiergen.views.quality import split_columns


@pytest.mark.parametrize("count, portrait, expected", [
    (3, 3, (False, 3)), (4, 3, (True, 6)), (14, 3, (True, 6)),   # batch analyses: 3 a portrait page, 6 landscape
    (4, 4, (False, 4)), (5, 4, (True, 8)), (0, 4, (False, 4)),   # stability: 4 time points portrait, 8 landscape
])
def test_one_rule_splits_batch_and_stability_tables(count, portrait, expected):
    assert split_columns(count, portrait) == expected


def test_every_template_of_this_half_has_a_view():
    """Module 3 product, control, stability and 3.2.R templates are all converted (3.3 has no template: it
    holds the applicant's copies of the cited literature, literature.py)."""
    converted = set(views.converted())
    for name in ("batch-analyses", "stability-data", "stability-summary", "stability-commitment", "specification",
                 "analytical-procedure", "method-validation", "container-closure", "justification", "r",
                 "p-1", "p-2", "p-3-1", "p-3-2", "p-3-3", "p-3-4", "p-3-5", "p-4-1", "p-4-2", "p-4-3", "p-4-4",
                 "p-4-5", "p-4-6", "p-5-5", "p-6"):
        assert name in converted, name


def test_novel_excipient_document(tmp_path):
    """3.2.P.4.6 of a novel excipient: the statement, its information and the pointer to 3.2.A.3;
    without the information, the missing marker names the data path."""
    folder = materialise_case("minimal", tmp_path)
    apply_edits(folder, [{"file": "excipients.yaml", "find": "novel: false",
                          "replace": "novel: true\n    novel_information: Made by a *new* route."}])
    text = next(r for r in render_folder(folder, "us", "marketing", "3.2.P.4.6")).markdown
    assert "Microcrystalline cellulose is a novel excipient." in text
    assert "Made by a *new* route." in text and "3.2.A.3" in text
    apply_edits(folder, [{"file": "excipients.yaml", "find": "\n    novel_information: Made by a *new* route.", "replace": ""}])
    rendered = next(r for r in render_folder(folder, "us", "marketing", "3.2.P.4.6"))
    assert rendered.missing == ("excipients.exc-mcc.novel_information",)
