"""3.3 Literature References (literature.py): one leaf per cited publication, its copy from the dossier
folder; guidelines cited by name are no leaves; a publication without its copy is a gap."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from lxml import etree

from conftest import materialise_case, run_cli
from dossiergen.build import build_dossier
from dossiergen.check import check_build

XLINK = "{http://www.w3c.org/1999/xlink}"
HEADER = "# yaml-language-server: $schema=../../schemas/references.schema.json\n"


def _references(dossier: Path, references: list[dict]) -> None:
    text = (dossier / "references.yaml").read_text("utf-8").splitlines()[0] + "\n"
    (dossier / "references.yaml").write_text(text + yaml.safe_dump({"references": references}, sort_keys=False), "utf-8")


REFS = [{"id": "ref-q3a", "kind": "guideline", "citation": "ICH Q3A(R2) Impurities in New Drug Substances, 2006."},
        {"id": "ref-smith-2020", "citation": "Smith A, Jones B. Polymorph control in late-stage development. J Pharm Sci. "
         "2020;109(3):1001-1012.", "file": "literature/smith-2020.pdf", "sections": ["3.2.S.3.1"]},
        {"id": "ref-lee-2019", "citation": "Lee C. Residual solvents in crystallisation. Org Process Res Dev. 2019;23:55-60.",
         "sections": ["3.2.S.2.2"]}]


def test_each_publication_with_its_copy_is_a_leaf_of_3_3(built, tmp_path):
    pdf = next((built["us"] / "ectd" / "0000" / "m3").rglob("specification.pdf"))  # a PDF that passes the check
    dossier = materialise_case("minimal", tmp_path)
    (dossier / "literature").mkdir()
    shutil.copy(pdf, dossier / "literature" / "smith-2020.pdf")
    _references(dossier, REFS)
    assert run_cli("validate", "--dossier", str(dossier)).exit_code == 0
    out = tmp_path / "out"
    build_dossier(dossier, "us", "ind", out, final=False)
    folder = out / "us" / "ind"
    assert [f.format() for f in check_build(folder)] == []
    tree = etree.parse(str(folder / "ectd" / "0000" / "index.xml"))
    heading = tree.find(".//m3-3-literature-references")
    leaves = [(leaf.get(f"{XLINK}href"), leaf.findtext("title"), leaf.get("ID")) for leaf in heading.iter("leaf")]
    assert leaves == [("m3/33-lit-ref/ref-smith-2020.pdf", REFS[1]["citation"], "m3-lit-ref-smith-2020")]
    assert (folder / "ectd" / "0000" / "m3" / "33-lit-ref" / "ref-smith-2020.pdf").read_bytes() == pdf.read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert not any(d["section"] == "3.3" for d in manifest["documents"])   # no written 3.3 document
    assert [e["id"] for e in manifest["supplied"] if e["kind"] == "literature"] == ["m3-lit-ref-smith-2020"]
    gaps = json.loads((folder / "gaps.json").read_text("utf-8"))["gaps"]
    found = [g for g in gaps if g["rule"] == "core.literature-copies-ind"]
    assert [g["detail"] for g in found] == ["'ref-lee-2019' has no file"]   # the one without its copy, only it
    assert found[0]["severity"] == "advisory" and found[0]["path"] == "$.references[2]"


def test_a_guideline_with_a_file_and_a_copy_that_is_no_pdf_are_located_errors(tmp_path):
    dossier = materialise_case("minimal", tmp_path)
    (dossier / "literature").mkdir()
    (dossier / "literature" / "q3a.pdf").write_text("not a pdf", "utf-8")
    _references(dossier, [{**REFS[0], "file": "literature/q3a.pdf"}, {**REFS[2], "file": "literature/q3a.pdf"}])
    done = run_cli("validate", "--dossier", str(dossier))
    assert done.exit_code == 1
    assert "[references.guideline_file]" in done.stderr + done.stdout
    assert "[references.not_pdf]" in done.stderr + done.stdout
    assert "references.yaml:" in done.stderr + done.stdout


def test_only_guidelines_cited_leave_the_rule_not_applicable(tmp_path):
    dossier = materialise_case("minimal", tmp_path)
    done = run_cli("gaps", "--dossier", str(dossier), "--market", "us", "--stage", "marketing", "--out", str(tmp_path / "g"))
    report = json.loads(next((tmp_path / "g").rglob("gaps.json")).read_text("utf-8"))
    status = next(v["status"] for v in report["verdicts"] if v["rule"] == "core.literature-copies")
    assert status == "n/a", done.stdout


def test_a_long_citation_gives_a_leaf_title_cut_at_a_word():
    from dossiergen.literature import TITLE_LIMIT, leaf_title

    citation = "Author A, Author B, Author C. " + "A very long title of a publication on crystallisation " * 4 + "J Chem. 2021;1:1-9."
    title = leaf_title({"id": "x", "citation": citation})
    assert len(title) <= TITLE_LIMIT + 2 and title.endswith(" …") and citation.startswith(title[:-2])
    assert leaf_title({"id": "x", "citation": citation, "title": "Author et al. 2021"}) == "Author et al. 2021"


def test_the_copies_rule_is_met_when_every_publication_has_its_copy(tmp_path):
    from dossiergen.gaps import evaluate_rule, load_rules
    from dossiergen.load import load_dossier
    from dossiergen.model import build_model

    dossier = materialise_case("minimal", tmp_path)
    (dossier / "literature").mkdir()
    (dossier / "literature" / "smith-2020.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    _references(dossier, REFS[:2])
    rules = {rule["id"]: rule for rule in load_rules("us")}
    model = build_model(load_dossier(dossier))
    assert evaluate_rule(model, rules["core.literature-copies"], "marketing").status == "met"
    assert evaluate_rule(model, rules["core.literature-copies-ind"], "ind").status == "met"
