"""Batch genealogy: lots record the lots they were made from; the checks and the tables of
3.2.S.4.4 and 3.2.P.5.4."""

from __future__ import annotations

from conftest import apply_edits, materialise_case

from dossiergen.load import load_dossier
from dossiergen.validate import validate_dossier

# Two more lots of the drug substance's starting intermediates: an 'antibody' lot and a 'linker' lot
# (any lots of the register will do), and the drug substance lot made from both.
def _lot_yaml(lot_id: str, number: str, kg: int, date: str) -> str:
    return (f"  - id: {lot_id}\n    number: {number}\n    subject: ds-minitab\n    site: site-api\n    scale: pilot\n"
            f"    size: {{value: {kg}, unit: kg}}\n    date: \"{date}\"\n    process_version: A\n    uses: [development]\n"
            "    specification: {id: spec-ds, version: \"2.0\"}\n")


PARENTS = _lot_yaml("b-int-a", "INT-A-01", 2, "2025-01-15") + _lot_yaml("b-int-b", "INT-B-07", 1, "2025-02-20")
DS_PARENTS = {"file": "batches.yaml", "find": "    process_version: A\n    uses: [toxicology, clinical]\n",
              "replace": "    process_version: A\n    uses: [toxicology, clinical]\n    made_from: [b-int-a, b-int-b]\n"}


def _dossier(tmp_path, *edits):
    folder = materialise_case("minimal", tmp_path)
    apply_edits(folder, [{"file": "batches.yaml", "append": PARENTS}, DS_PARENTS, *edits])
    return folder


def _render(folder, prefix, market="neutral"):
    from dossiergen.build import render_folder

    return "\n".join(r.markdown for r in render_folder(folder, market, "ind", prefix))


def test_three_generations_validate_and_print_in_both_batch_analyses(tmp_path):
    folder = _dossier(tmp_path)
    assert [p for p in validate_dossier(load_dossier(folder, label="dossier")) if p.severity == "error"] == []
    substance = _render(folder, "3.2.S.4.4")
    assert "Batch genealogy" in substance
    assert "| DS-001 | INT-A-01 |" in substance and "| DS-001 | INT-B-07 |" in substance
    assert "2025-01-15" in substance
    product = _render(folder, "3.2.P.5.4")
    # the product lot, its drug substance lot, and that lot's own parents, in that order
    rows = [line for line in product.splitlines() if line.startswith("| DP-001 | DS-001 |") or line.startswith("| DS-001 | INT-")]
    assert [r.split("|")[1:3] for r in rows] == [[" DP-001 ", " DS-001 "], [" DS-001 ", " INT-A-01 "], [" DS-001 ", " INT-B-07 "]]
    chinese = _render(folder, "3.2.S.4.4", "cn")
    assert "批次谱系" in chinese and "| DS-001 | INT-A-01 |" in chinese


def test_without_grandparents_the_product_shows_no_second_table(tmp_path):
    folder = materialise_case("minimal", tmp_path)
    product = _render(folder, "3.2.P.5.4")
    assert "Batch genealogy" not in product and "DS-001" in product  # the direct lot is in the strength table
    assert "Batch genealogy" not in _render(folder, "3.2.S.4.4")  # no lot of the substance has parents


def _errors(folder):
    return [(p.code, p.message, str(p.location)) for p in validate_dossier(load_dossier(folder, label="dossier"))
            if p.severity == "error"]


def test_a_parent_made_after_its_child_is_a_located_error(tmp_path):
    folder = _dossier(tmp_path, {"file": "batches.yaml", "find": 'date: "2025-02-20"', "replace": 'date: "2025-04-01"'})
    errors = _errors(folder)
    assert errors == [("genealogy.date_order", "batch 'b-ds-001' (made 2025-03-10) is made from lot 'b-int-b', made later (2025-04-01)",
                       "dossier/batches.yaml:13:26")]


def test_a_parent_on_the_same_day_is_accepted(tmp_path):
    folder = _dossier(tmp_path, {"file": "batches.yaml", "find": 'date: "2025-02-20"', "replace": 'date: "2025-03-10"'})
    assert _errors(folder) == []


def test_a_lot_made_from_itself_and_a_longer_loop_are_errors(tmp_path):
    folder = _dossier(tmp_path, {"file": "batches.yaml", "find": "made_from: [b-int-a, b-int-b]", "replace": "made_from: [b-int-a, b-ds-001]"})
    assert ("genealogy.cycle", "batch 'b-ds-001' is listed as made from itself", "dossier/batches.yaml:13:26") in _errors(folder)
    loop = _dossier(tmp_path / "loop", {"file": "batches.yaml", "find": "  - id: b-int-b\n", "replace": "  - id: b-int-b\n    made_from: [b-dp-001]\n"})
    codes = [e[0] for e in _errors(loop)]
    assert codes.count("genealogy.cycle") == 1  # the loop b-ds-001 -> b-int-b -> b-dp-001 -> b-ds-001, reported once
    message = next(e[1] for e in _errors(loop) if e[0] == "genealogy.cycle")
    assert "'b-ds-001'" in message and "'b-int-b'" in message and "'b-dp-001'" in message


def test_an_unknown_parent_lot_names_the_nearest_one(tmp_path):
    folder = _dossier(tmp_path, {"file": "batches.yaml", "find": "made_from: [b-int-a, b-int-b]", "replace": "made_from: [b-int-a, b-int-c]"})
    problems = [p for p in validate_dossier(load_dossier(folder, label="dossier")) if p.severity == "error"]
    assert [(p.code, p.message) for p in problems] == [("ref.unknown_batch", "unknown batch 'b-int-c'")]
    assert "did you mean 'b-int-a'" in problems[0].hint or "did you mean 'b-int-b'" in problems[0].hint


def test_a_long_chain_of_lots_is_checked_without_exhausting_recursion(tmp_path):
    from dossiergen.genealogy import ancestry
    from dossiergen.model import build_model

    lots = "".join(f"""  - id: b-chain-{i}
    number: CH-{i}
    subject: ds-minitab
    site: site-api
    scale: pilot
    size: {{value: 1, unit: kg}}
    date: "2025-01-01"
    process_version: A
    uses: [development]
    specification: {{id: spec-ds, version: "2.0"}}
""" + (f"    made_from: [b-chain-{i - 1}]\n" if i else "") for i in range(3000))
    folder = materialise_case("minimal", tmp_path)
    apply_edits(folder, [{"file": "batches.yaml", "append": lots}])
    dossier = load_dossier(folder, label="dossier")
    assert _errors(folder) == []
    assert len(ancestry(build_model(dossier), ["b-chain-2999"])) == 2999


def test_the_genealogy_rule_is_not_applicable_without_links(tmp_path):
    from dossiergen.gaps import evaluate_rule, load_rules
    from dossiergen.model import build_model

    rule = next(r for r in load_rules("us") if r["id"] == "core.data-genealogy")
    verdict = lambda folder: evaluate_rule(build_model(load_dossier(folder, label="dossier")), rule, "ind")
    linked = _dossier(tmp_path / "linked")
    assert verdict(linked).status == "met" and verdict(linked).reason == "all 2 lots with parent lots checked"
    bare = materialise_case("minimal", tmp_path / "bare")
    apply_edits(bare, [{"file": "batches.yaml", "find": "    made_from: [b-ds-001]\n", "replace": ""}])
    assert verdict(bare).status == "n/a"
