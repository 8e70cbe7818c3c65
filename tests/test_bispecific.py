"""Bispecific antibodies (issue 16): a knobs-into-holes bispecific with two light chains (tests/cases/
bispecific/variant.yaml over the antibody example) validates, and its 3.2.S.1.2 and 3.2.S.3.2 show the
format, the four chains and the homodimer and mispaired variants; a format its chains contradict, or a
variant it can form left out, is a located finding."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import CASES, ROOT, apply_edits
from dossiergen.assemble import assemble_context
from dossiergen.build import _model, validate_folder
from dossiergen.render import render_document

SUBSTANCE = "substances/ordesimab-lumina-suzhou.yaml"


def _bispecific(tmp_path: Path, *more: dict) -> Path:
    case = yaml.safe_load((CASES / "bispecific" / "variant.yaml").read_text("utf-8"))
    folder = tmp_path / "bispecific"
    shutil.copytree(ROOT / case["base"], folder)
    apply_edits(folder, case["edits"] + [{"file": SUBSTANCE, **e} for e in more])
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return _bispecific(tmp_path_factory.mktemp("bispecific"))


def _markdown(folder: Path, number: str) -> str:
    context = assemble_context(_model(folder)[0], "neutral", "marketing")
    document = next(d for d in context.documents if d.number == number)
    return render_document(context, document).markdown.replace("\xa0", " ")


def test_the_bispecific_validates_clean(folder):
    assert [p.format() for p in validate_folder(folder)] == []


def test_its_structure_shows_the_format_and_four_chains(folder):
    text = _markdown(folder, "3.2.S.1.2")
    assert ("| Antibody format | Bispecific IgG, knobs-into-holes heavy-chain heterodimer with two light chains. Knob T366W in "
            "heavy chain 1, hole T366S/L368A/Y407V in heavy chain 2 (EU numbering); each arm with its own light chain |") in text
    assert "| Specificities | IL-23 p19; IL-17A |" in text
    for chain, kind in (("Heavy chain 1 (anti-IL-23 p19, knob)", "Heavy"), ("Heavy chain 2 (anti-IL-17A, hole)", "Heavy"),
                        ("Light chain 1 (anti-IL-23 p19)", "Light"), ("Light chain 2 (anti-IL-17A)", "Light")):
        assert f"| {chain} | {kind} chain | 1 |" in text
        assert f"Amino-acid sequence: {chain}" in text


def test_its_impurities_show_the_homodimer_and_mispaired_variants(folder):
    text = _markdown(folder, "3.2.S.3.2")
    assert "| Hole-hole homodimer | Product-related impurity (homodimer) |" in text
    assert "| Light-chain mispaired species | Product-related impurity (chain mispairing) |" in text


def test_a_left_out_variant_is_a_located_warning(tmp_path):
    folder = _bispecific(tmp_path, {"find": "      variant: chain_mispairing\n", "replace": ""})
    [problem] = [p for p in validate_folder(folder) if p.code == "bispecific.variant_missing"]
    assert problem.severity == "warning" and "chain mispairing" in problem.message
    assert problem.location.path == "$.general.structure.format.type" and "variant: chain_mispairing" in problem.hint


def test_a_format_its_chains_contradict_is_an_error(tmp_path):
    """Common light chain stated, but two different light chains given."""
    folder = _bispecific(tmp_path, {"find": "type: knobs_into_holes", "replace": "type: common_light_chain"})
    [problem] = [p for p in validate_folder(folder) if p.code == "bispecific.light_chains"]
    assert problem.severity == "error" and "1 common light chain" in problem.message and "gives 2" in problem.message


def test_one_heavy_chain_is_not_a_heterodimer(tmp_path):
    case = yaml.safe_load((CASES / "bispecific" / "variant.yaml").read_text("utf-8"))
    folder = tmp_path / "mono"
    shutil.copytree(ROOT / case["base"], folder)
    apply_edits(folder, [case["edits"][1], {"file": SUBSTANCE, "find": "    chains:\n",
                                            "replace": "    format: {type: knobs_into_holes, specificities: [IL-23 p19, IL-17A]}\n    chains:\n"}])
    [problem] = [p for p in validate_folder(folder) if p.code == "bispecific.heavy_chains"]
    assert "gives 1" in problem.message and problem.location.file.endswith(SUBSTANCE)


def test_the_bispecific_rule_is_met_missing_and_na(folder, tmp_path):
    from dossiergen.gaps import evaluate_rule, load_rules
    from dossiergen.load import load_dossier
    from dossiergen.model import build_model

    rule = next(r for r in load_rules("us") if r["id"] == "core.data-bispecific")
    status = lambda f: evaluate_rule(build_model(load_dossier(f, label="dossier")), rule, "marketing").status
    assert status(folder) == "met"
    assert status(ROOT / "dossier") == "n/a"  # a monospecific antibody
    assert status(_bispecific(tmp_path, {"find": "type: knobs_into_holes", "replace": "type: common_light_chain"})) == "missing"
