"""Antibody-drug conjugates (issue 16): cross-references to another instance's section, structured
conjugation data and its rules, impurities controlled in another instance. On copies of the ADC example
(examples/quenatuzumab-vedotin), each edit made to break one thing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT, apply_edits
from dossiergen import render
from dossiergen.assemble import assemble_context
from dossiergen.build import _model, validate_folder

SOURCE = ROOT / "examples" / "quenatuzumab-vedotin"
CONJUGATE = "substances/quenatuzumab-vedotin-hangzhou.yaml"


def _copy(tmp_path: Path, *edits: dict) -> Path:
    folder = tmp_path / "adc"
    shutil.copytree(SOURCE, folder)
    apply_edits(folder, [{"file": CONJUGATE, **e} for e in edits])
    return folder


def _problems(folder: Path, code: str):
    return [p for p in validate_folder(folder) if p.code == code]


def _line_of(folder: Path, text: str) -> int:
    lines = (folder / CONJUGATE).read_text("utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.fixture(scope="module")
def context():
    model = _model(SOURCE)[0]
    return assemble_context(model, "us", "marketing")


def _helpers(context, number: str, owner: str):
    document = next(d for d in context.documents if d.number == number and owner in d.owners)
    return render._Helpers(context, document), document


# cross-references to another instance -----------------------------------------------------------

def test_a_reference_with_a_subject_opens_that_instance_document(context):
    """The conjugate's reference to the drug-linker's 3.2.S.4.1 links to the drug-linker's PDF and names
    the drug-linker; without a subject it stays the conjugate's own."""
    helpers, document = _helpers(context, "3.2.S.3.2", "ds-quenatuzumab-vedotin")
    markdown = render._links(helpers.ref("3.2.S.4.1", "ds-vedotin-linker"), context, document)
    assert markdown == ("[see Section 3.2.S.4.1 of Vedotin drug-linker (mc-vc-PABC-MMAE)]"
                        "(../../vedotin-drug-linker-mc-vc-pabc-changzhou/32s4-contr-drug-sub/32s41-spec/specification.pdf)")
    own = render._links(helpers.ref("3.2.S.4.1"), context, document)
    assert own == "[see Section 3.2.S.4.1](../32s4-contr-drug-sub/32s41-spec/specification.pdf)"
    # its own instance named as subject: the same document, not named again
    assert render._links(helpers.ref("3.2.S.4.1", "ds-quenatuzumab-vedotin"), context, document) == own


def test_a_narrative_reference_names_its_instance(context):
    """[](ctd:number?subject=id) in a narrative prints the standard reference; [text](ctd:…) keeps the text."""
    helpers, document = _helpers(context, "3.2.S.2.2", "ds-quenatuzumab-vedotin")
    text = helpers.md("From [](ctd:3.2.S?subject=ds-quenatuzumab-mab) and [the drug-linker](ctd:3.2.S.2.2?subject=ds-vedotin-linker).")
    linked = render._links(text, context, document)
    assert linked == ("From [see Section 3.2.S of Quenatuzumab (antibody intermediate)]"
                      "(../../quenatuzumab-antibody-qiantang/32s1-gen-info/nomenclature.pdf) and [the drug-linker]"
                      "(../../vedotin-drug-linker-mc-vc-pabc-changzhou/32s2-manuf/manuf-process-and-controls.pdf).")


@pytest.mark.parametrize("target, code, hint", [
    ("ctd:3.2.S.4.1?subject=ds-vedotin-linkr", "ref.unknown_subject", "did you mean 'ds-vedotin-linker'?"),
    ("ctd:3.2.P.5.1?subject=ds-vedotin-linker", "ref.section_of_subject", "a substance instance has the sections 3.2.S.*"),
    ("ctd:3.2.S.4.9", "ref.unknown_section", "did you mean"),
    ("ctd:3.2.S.4.1?instance=ds-vedotin-linker", "narrative.bad_ref", "ctd:3.2.S.4.1?subject="),
])
def test_a_reference_that_cannot_resolve_is_a_located_error(tmp_path, target, code, hint):
    folder = _copy(tmp_path, {"find": "([](ctd:3.2.S.4.1?subject=ds-vedotin-linker))", "replace": f"([]({target}))"})
    found = _problems(folder, code)
    assert len(found) == 1, [p.format() for p in validate_folder(folder)]
    problem = found[0]
    assert problem.severity == "error" and hint in problem.hint
    assert problem.location.file.endswith(CONJUGATE) and problem.location.path == "$.control.justification.en"


# structured conjugation data --------------------------------------------------------------------

def test_the_example_conjugation_data_agree():
    """Distribution 4.5/31.0/38.0/18.0/8.5 % sums to 100 % and gives 3.90, the stated 3.9, within 3.6 – 4.4."""
    assert [p.format() for p in validate_folder(SOURCE) if p.code.startswith(("conjugation.", "impurity."))] == []


def test_a_distribution_not_summing_to_100_percent_is_an_error(tmp_path):
    folder = _copy(tmp_path, {"find": "{load: 6, percent: 18.0}", "replace": "{load: 6, percent: 21.0}"})
    [problem] = _problems(folder, "conjugation.distribution_sum")
    assert problem.severity == "error" and "sums to 103 %" in problem.message
    assert problem.location.line == _line_of(folder, "{load: 0, percent: 4.5}")  # the list of species


def test_rounding_alone_does_not_break_the_sum(tmp_path):
    """Five values written to one decimal may sum to 100.2 %: no finding."""
    folder = _copy(tmp_path, {"find": "{load: 0, percent: 4.5}", "replace": "{load: 0, percent: 4.7}"})
    assert _problems(folder, "conjugation.distribution_sum") == []


def test_an_average_the_distribution_does_not_give_is_a_warning(tmp_path):
    folder = _copy(tmp_path, {"find": "      value: 3.9\n", "replace": "      value: 4.3\n"})
    [problem] = _problems(folder, "conjugation.dar_average")
    assert problem.severity == "warning" and "4.3" in problem.message and "3.90" in problem.message
    assert problem.location.path == "$.general.conjugation.average_dar.value"


def test_a_characterised_average_outside_its_specification_is_an_error(tmp_path):
    """3.9 against a criterion 4.0 – 4.4 (the spec edited): the acceptance criterion does not fit the material."""
    folder = _copy(tmp_path)
    apply_edits(folder, [{"file": "specifications/spec-ds-conjugate.yaml", "find": "limit: {low: 3.6, high: 4.4",
                          "replace": "limit: {low: 4.0, high: 4.4"},
                         {"file": "specifications/spec-ds-conjugate.yaml", "find": "text: 3.6 – 4.4", "replace": "text: 4.0 – 4.4"}])
    [problem] = _problems(folder, "conjugation.outside_specification")
    assert problem.severity == "error" and "dar-average" in problem.message and "4.0–4.4" in problem.message
    assert problem.location.path == "$.general.conjugation.average_dar.value"


def test_an_unknown_specification_test_is_named_with_a_suggestion(tmp_path):
    folder = _copy(tmp_path, {"find": "      test: dar-average", "replace": "      test: dar-averag"})
    [problem] = _problems(folder, "conjugation.unknown_test")
    assert problem.hint == "did you mean 'dar-average'?"


def test_an_engineered_site_needs_its_positions(tmp_path):
    folder = _copy(tmp_path, {"find": "      type: interchain_cysteine\n      positions: [\"LC Cys214\", \"HC Cys223\", \"HC Cys229\", \"HC Cys232\"]\n",
                              "replace": "      type: engineered_cysteine\n"})
    [problem] = _problems(folder, "conjugation.site_positions")
    assert problem.severity == "error" and problem.location.path == "$.general.conjugation.sites.type"


def test_conjugation_data_print_in_structure_properties_and_characterisation(context):
    from dossiergen.render import render_document

    def text(number):
        document = next(d for d in context.documents if d.number == number and "ds-quenatuzumab-vedotin" in d.owners)
        return render_document(context, document).markdown.replace("\xa0", " ")  # a unit keeps to its number

    structure = text("3.2.S.1.2")
    assert "| Conjugation sites | Interchain cysteines (partially reduced interchain disulfide bonds): LC Cys214; HC Cys223" in structure
    assert "| Average drug-to-antibody ratio (DAR) | 3.9 |" in structure
    assert "| Drug-load distribution | D0 4.5 %; D2 31.0 %; D4 38.0 %; D6 18.0 %; D8 8.5 % | HIC-HPLC |" in text("3.2.S.1.3")
    characterisation = text("3.2.S.3.1")
    assert "| Free drug (payload-related species) | 0.2 % |" in characterisation
    assert "| Unconjugated antibody (D0) | 4.5 % | HIC-HPLC |" in characterisation
    assert "| D8 | 8 | 8.5 % |" in characterisation and "Drug-load distribution (HIC-HPLC)" in characterisation


# impurities controlled in another instance ------------------------------------------------------

def test_an_impurity_controlled_in_the_drug_linker_points_to_its_specification(context):
    from dossiergen.render import render_document

    document = next(d for d in context.documents if d.number == "3.2.S.3.2" and "ds-quenatuzumab-vedotin" in d.owners)
    row = next(line for line in render_document(context, document).markdown.splitlines() if "D-Val/D-Cit diastereomers of" in line)
    assert ("Specification of Vedotin drug-linker (mc-vc-PABC-MMAE): Related substances (HPLC): D-Val/D-Cit diastereomers "
            "([see Section 3.2.S.4.1](../../vedotin-drug-linker-mc-vc-pabc-changzhou/32s4-contr-drug-sub/32s41-spec/specification.pdf))") in row
    assert "3.2.S.2.4" not in row


def test_a_test_the_other_instance_lacks_is_a_located_error(tmp_path):
    folder = _copy(tmp_path, {"find": "      test: rs-diastereomer", "replace": "      test: rs-diastereomers"})
    [problem] = _problems(folder, "impurity.unknown_test")
    assert "'ds-vedotin-linker'" in problem.message and problem.hint == "did you mean 'rs-diastereomer'?"
    assert problem.location.line == _line_of(folder, "test: rs-diastereomers")


def test_controlled_in_needs_control_by_specification(tmp_path):
    folder = _copy(tmp_path, {"find": "      control: specification\n      controlled_in: ds-vedotin-linker",
                              "replace": "      control: in_process\n      controlled_in: ds-vedotin-linker"})
    [problem] = _problems(folder, "impurity.controlled_in_control")
    assert problem.severity == "error" and "set control: specification" in problem.hint


def test_controlled_in_an_unknown_instance(tmp_path):
    folder = _copy(tmp_path, {"find": "      controlled_in: ds-vedotin-linker", "replace": "      controlled_in: ds-vedotin-linkr"})
    [problem] = [p for p in validate_folder(folder) if p.code.startswith("ref.unknown")]
    assert problem.hint == "did you mean 'ds-vedotin-linker'?"


# the structure figure ------------------------------------------------------------------------------

def test_the_structure_figure_is_embedded_not_named(context):
    """general.structure.figure is a numbered figure with its image attached (SVG for the PDF, a PNG drawn
    from it for Word), not a line naming the file."""
    from dossiergen.render import render_document

    document = next(d for d in context.documents if d.number == "3.2.S.1.2" and "ds-quenatuzumab-vedotin" in d.owners)
    rendered = render_document(context, document)
    assert "(attachment:structure-ds-quenatuzumab-vedotin-en)" in rendered.markdown
    assert "Figure 3.2.S.1.2-1 Schematic structure of quenatuzumab vedotin (the main DAR4 isomer)" in rendered.markdown
    assert "figures/adc-structure.svg" not in rendered.markdown
    [attachment] = rendered.attachments
    assert attachment.get("svg") == (SOURCE / "figures" / "adc-structure.svg").read_bytes()
    assert attachment.get("png").startswith(b"\x89PNG")


def test_a_changed_figure_file_changes_what_its_document_read(tmp_path):
    """The figure's bytes are part of the document's dependency record: an edited SVG renders it again."""
    from dossiergen.depends import Hashes, record_of

    folder = _copy(tmp_path)
    model = _model(folder)[0]
    context = assemble_context(model, "us", "marketing")
    document = next(d for d in context.documents if d.number == "3.2.S.1.2" and "ds-quenatuzumab-vedotin" in d.owners)
    reads = record_of(context, document)
    assert ("image", "figures/adc-structure.svg") in reads
    before = Hashes(model).of(("image", "figures/adc-structure.svg"))
    (folder / "figures" / "adc-structure.svg").write_text((folder / "figures" / "adc-structure.svg").read_text().replace("3.9", "4.0"))
    assert Hashes(model).of(("image", "figures/adc-structure.svg")) != before


# the order of the 3.2.S sections -------------------------------------------------------------------

def _substance_order(folder: Path) -> list[str]:
    context = assemble_context(_model(folder)[0], "us", "marketing")
    return [d.owners[0] for d in context.documents if d.number == "3.2.S.1.1"]


def test_the_order_of_the_drug_substance_sections_is_set_in_data(tmp_path):
    """application.yaml instance_order puts the antibody, the drug-linker, then the conjugate; without it
    the file names decide (antibody, conjugate, drug-linker)."""
    assert _substance_order(SOURCE) == ["ds-quenatuzumab-mab", "ds-vedotin-linker", "ds-quenatuzumab-vedotin"]
    folder = _copy(tmp_path)
    apply_edits(folder, [{"file": "application.yaml", "find": "  substance: [ds-quenatuzumab-mab, ds-vedotin-linker, ds-quenatuzumab-vedotin]\n",
                          "replace": "  substance: [ds-quenatuzumab-vedotin]\n"}])
    assert _substance_order(folder) == ["ds-quenatuzumab-vedotin", "ds-quenatuzumab-mab", "ds-vedotin-linker"]  # the rest by file
    text = (folder / "application.yaml").read_text("utf-8")
    start = text.index("instance_order:")
    (folder / "application.yaml").write_text(text[:start] + text[text.index("  substance: [ds-quenatuzumab-vedotin]\n") + 39:], "utf-8")
    assert "instance_order" not in (folder / "application.yaml").read_text("utf-8")
    assert _substance_order(folder) == ["ds-quenatuzumab-mab", "ds-quenatuzumab-vedotin", "ds-vedotin-linker"]


def test_an_unknown_or_repeated_instance_in_the_order_is_an_error(tmp_path):
    folder = _copy(tmp_path)
    apply_edits(folder, [{"file": "application.yaml", "find": "ds-vedotin-linker, ds-quenatuzumab-vedotin]",
                          "replace": "ds-vedotin-linkr, ds-quenatuzumab-vedotin]"}])
    [problem] = [p for p in validate_folder(folder) if p.code.startswith("ref.")]
    assert problem.hint == "did you mean 'ds-vedotin-linker'?" and problem.location.file.endswith("application.yaml")
    apply_edits(folder, [{"file": "application.yaml", "find": "ds-vedotin-linkr, ds-quenatuzumab-vedotin]",
                          "replace": "ds-quenatuzumab-mab, ds-quenatuzumab-vedotin]"}])
    found = [p for p in validate_folder(folder) if p.severity == "error"]
    assert len(found) == 1 and "$.instance_order.substance" in found[0].format()


# verdicts: the rules are met, missing and n/a on real data ------------------------------------------

def _verdict(folder: Path, rule_id: str) -> str:
    from dossiergen.gaps import evaluate_rule, load_rules
    from dossiergen.load import load_dossier
    from dossiergen.model import build_model

    rule = next(r for r in load_rules("us") if r["id"] == rule_id)
    return evaluate_rule(build_model(load_dossier(folder, label="dossier")), rule, "marketing").status


def test_the_conjugation_rules_are_met_then_missing(tmp_path):
    """core.data-conjugation and core.data-impurity-control: met on the ADC, MISSING on a copy with one fault
    each; the conjugation rule is n/a on the antibody (no conjugate)."""
    assert _verdict(SOURCE, "core.data-conjugation") == "met"
    assert _verdict(SOURCE, "core.data-impurity-control") == "met"
    assert _verdict(ROOT / "dossier", "core.data-conjugation") == "n/a"
    folder = _copy(tmp_path, {"find": "{load: 6, percent: 18.0}", "replace": "{load: 6, percent: 21.0}"},
                   {"find": "      test: rs-diastereomer", "replace": "      test: rs-diastereomers"})
    assert _verdict(folder, "core.data-conjugation") == "missing"
    assert _verdict(folder, "core.data-impurity-control") == "missing"


def test_the_products_pointer_to_drug_substance_impurities_opens_the_conjugate(context):
    """3.2.P.5.5 points to 3.2.S.3.2 of the substance in the product's composition (the conjugate), not
    to the first 3.2.S in the dossier (the antibody intermediate)."""
    from dossiergen.render import render_document

    document = next(d for d in context.documents if d.number == "3.2.P.5.5")
    assert ("[see Section 3.2.S.3.2 of Quenatuzumab vedotin](../../../../32s-drug-sub/quenatuzumab-vedotin-qiantang/"
            "32s3-charac/impurities.pdf)") in render_document(context, document).markdown
