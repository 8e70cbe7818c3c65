"""Documents the applicant supplies (supplied/supplied.yaml): placed as leaves of the regional backbone,
located errors for bad entries, and a gap with its fix for a missing one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from lxml import etree

from conftest import materialise_case, run_cli
from dossiergen.backbones import REGIONS, validate_regional
from dossiergen.build import build_dossier
from dossiergen.check import check_build

XLINK = "{http://www.w3c.org/1999/xlink}"


def _supply(dossier: Path, pdf: Path, documents: list[dict]) -> None:
    for entry in documents:
        target = dossier / entry["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pdf, target)
    text = "# yaml-language-server: $schema=../../schemas/supplied.schema.json\n" + yaml.safe_dump({"documents": documents})
    (dossier / "supplied" / "supplied.yaml").write_text(text, "utf-8")


US_IND = [{"id": "us-form-1571", "file": "supplied/us/form-fda-1571-signed.pdf", "market": "us", "stages": ["ind"],
           "heading": "form", "title": "Form FDA 1571 (signed)"},
          {"id": "us-cover-letter", "file": "supplied/us/cover-letter.pdf", "market": "us",
           "heading": "m1-2-cover-letters", "title": "Cover letter"},
          {"id": "cn-cover-letter", "file": "supplied/cn/cover-letter.pdf", "market": "cn", "heading": "cn-1-0",
           "title": "说明函"}]


def test_supplied_documents_become_leaves_of_the_regional_backbone(built, tmp_path):
    pdf = next((built["us"] / "ectd" / "0000" / "m3").rglob("specification.pdf"))  # a PDF that passes the check
    dossier = materialise_case("minimal", tmp_path)
    _supply(dossier, pdf, US_IND)
    assert run_cli("validate", "--dossier", str(dossier)).exit_code == 0
    out = tmp_path / "out"
    for market in ("us", "cn"):
        build_dossier(dossier, market, "ind", out, final=False)
        folder = out / market / "ind"
        assert [f.format() for f in check_build(folder)] == []
        reg = REGIONS[market]
        assert validate_regional(folder / "ectd" / "0000", reg) == []
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        supplied = {e["id"]: e for e in manifest["supplied"]}
        assert set(supplied) == {f"supplied-{d['id']}" for d in US_IND if d["market"] == market}
        gaps = {g["rule"] for g in json.loads((folder / "gaps.json").read_text("utf-8"))["gaps"]}
        assert not {"us.supplied-form-1571", "us.supplied-cover-letter", "cn.supplied-cover-letter"} & gaps
        assert "cn.supplied-application-form" in gaps or market == "us"
    tree = etree.parse(str(out / "us" / "ind" / "ectd" / "0000" / "m1" / "us" / "us-regional.xml"))
    form = tree.find("admin/application-set/application/submission-information/form")
    assert form.get("form-type") == "fdaft1"  # Form FDA 1571 for an IND
    assert [leaf.get(f"{XLINK}href") for leaf in form] == ["form-fda-1571-signed.pdf"]
    assert form[0].findtext("title") == "Form FDA 1571 (signed)" and form[0].get("ID") == "supplied-us-form-1571"
    cover = tree.find("m1-regional/m1-2-cover-letters/leaf")
    assert cover.get(f"{XLINK}href") == "cover-letter.pdf"
    assert (out / "us" / "ind" / "ectd" / "0000" / "m1" / "us" / "cover-letter.pdf").read_bytes() == pdf.read_bytes()
    cn = etree.parse(str(out / "cn" / "ind" / "ectd" / "0000" / "m1" / "cn" / "cn-regional.xml"))
    assert cn.find(".//{cn_ectd}cn-1-0/{cn_ectd}leaf/{cn_ectd}title").text == "说明函"


def test_a_missing_supplied_document_is_a_gap_with_its_fix(built):
    gaps = json.loads((built["us"] / "gaps.json").read_text("utf-8"))["gaps"]
    form = next(g for g in gaps if g["rule"] == "us.supplied-form-1571")
    assert form["severity"] == "blocking" and "supplied/supplied.yaml" in form["fix"] and "21 CFR 312.23" in form["source"]
    assert not (built["us"] / "ectd" / "0000" / "m1" / "us" / "form-fda-1571-signed.pdf").exists()


def test_bad_supplied_entries_are_located_errors(built, tmp_path):
    pdf = next((built["us"] / "ectd" / "0000" / "m3").rglob("specification.pdf"))
    dossier = materialise_case("minimal", tmp_path)
    bad = [{"id": "eu-cover", "file": "supplied/eu/cover-letter.pdf", "market": "eu", "heading": "m1-9-cover",
            "title": "Cover letter"},
           {"id": "us-form", "file": "supplied/us/form.pdf", "market": "us", "heading": "form", "title": "Form FDA 1571"},
           {"id": "us-loa", "file": "supplied/us/loa.pdf", "market": "us", "heading": "m1-4-1-letter-of-authorization",
            "title": "Letter of authorization"}]
    _supply(dossier, pdf, bad)
    (dossier / "supplied" / "us" / "form.pdf").write_text("not a pdf", "utf-8")
    (dossier / "supplied" / "us" / "loa.pdf").unlink()
    run = run_cli("validate", "--dossier", str(dossier))
    assert run.exit_code == 1
    lines = [line for line in run.stderr.splitlines() if ": error: " in line]
    assert any("supplied/supplied.yaml:" in l and "'m1-9-cover' is not a Module 1 heading of the eu" in l
               and l.endswith("[supplied.heading]") for l in lines), lines
    assert any("'supplied/us/form.pdf' is not a PDF" in l and l.endswith("[supplied.not_pdf]") for l in lines), lines
    assert any("file 'supplied/us/loa.pdf' does not exist" in l and l.endswith("[file.missing]") for l in lines), lines


def test_every_supplied_document_rule_is_met_by_its_entry(tmp_path, built):
    """Each rule asking for a supplied document is met once supplied.yaml lists it (at its stage),
    and still MISSING when the entry is for the other stage or another heading."""
    from dossiergen.build import _model
    from dossiergen.gaps import evaluate_rule, load_rules

    pdf = next((built["us"] / "ectd" / "0000" / "m3").rglob("specification.pdf"))
    entries = [("us-356h", "us", "form", "Form FDA 356h (signed)", ["marketing"]),
               ("us-1571", "us", "form", "Form FDA 1571 (signed)", ["ind"]),
               ("us-cover", "us", "m1-2-cover-letters", "Cover letter", None),
               ("eu-cover", "eu", "m1-0-cover", "Cover letter", None), ("eu-eaf", "eu", "m1-2-form", "Application form", None),
               ("uk-cover", "uk", "m1-0-cover", "Cover letter", None),
               ("cn-cover", "cn", "cn-1-0", "说明函", None), ("cn-form", "cn", "cn-1-2", "申请表", None)]
    dossier = materialise_case("minimal", tmp_path)
    _supply(dossier, pdf, [{"id": i, "file": f"supplied/{m}/{i}.pdf", "market": m, "heading": h, "title": t,
                            **({"stages": s} if s else {})} for i, m, h, t, s in entries])
    model = _model(dossier)[0]
    rules = [r for market in ("us", "eu", "uk", "cn") for r in load_rules(market) if ".supplied-" in r["id"]]
    assert len(rules) == 8
    for rule in rules:
        for stage in rule.get("stages", ["ind", "marketing"]):
            assert evaluate_rule(model, rule, stage).status == "met", rule["id"]
    # a 356h listed for marketing only does not satisfy the IND's 1571 rule, nor the reverse
    only_356h = materialise_case("minimal", tmp_path / "only")
    _supply(only_356h, pdf, [{"id": "us-356h", "file": "supplied/us/f.pdf", "market": "us", "heading": "form",
                              "title": "Form FDA 356h (signed)", "stages": ["marketing"]}])
    rule = next(r for r in rules if r["id"] == "us.supplied-form-1571")
    verdict = evaluate_rule(_model(only_356h)[0], rule, "ind")
    assert verdict.status == "missing" and "Form FDA 1571" in verdict.reason
