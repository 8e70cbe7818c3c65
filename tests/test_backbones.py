"""Module 1 regional backbones: valid against the official DTD/XSD, referenced from index.xml, every
file of a sequence referenced by a leaf, and the envelope values taken from the data."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from conftest import ROOT
from dossiergen.assemble import assemble_context
from dossiergen.backbones import (REGIONS, Submission, backbone_bytes, cn_combination_allowed, cn_combinations,
                                  cn_envelope_values, region, util_files, validate_regional)
from dossiergen.build import _model
from dossiergen.package import m1_leaf
from dossiergen.check import check_build
from dossiergen.ectd import md5_hex
from tools import require_tool

SOURCES = {"antibody": ROOT / "dossier", "tablets": ROOT / "examples" / "velcratinib-tablets"}
XLINK = "{http://www.w3c.org/1999/xlink}"
OFFICIAL = ROOT.parent / "shared" / "reference" / "ectd"


@pytest.fixture(scope="module")
def models():
    return {name: _model(source)[0] for name, source in SOURCES.items()}


def _sequence(tmp_path: Path, model, market: str, stage: str) -> tuple[Path, object, list]:
    """Write a sequence folder holding the regional backbone of market/stage, its util/ files and a
    stand-in file for every Module 1 document (the backbone is under test, not the PDFs)."""
    context = assemble_context(model, market, stage)
    reg = region(market, stage)
    sequence = tmp_path / f"{market}-{stage}" / "0000"
    leaves = []
    for document in context.documents:
        if document.pdf_path.startswith("ectd/0000/m1/"):
            data = f"%PDF-1.7 {document.id}".encode()
            target = sequence / document.pdf_path.removeprefix("ectd/0000/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            entry = {"id": document.id, "title": f"{document.number} title", "section": document.number,
                     "pdf": document.pdf_path, "pdf_md5": md5_hex(data), "element": document.section.element}
            leaves.append(m1_leaf(context, entry, "ectd/0000/"))
    if reg is None:
        return sequence, None, leaves
    (sequence / reg.backbone).parent.mkdir(parents=True, exist_ok=True)
    (sequence / reg.backbone).write_bytes(backbone_bytes(context, reg, leaves, Submission()))
    for path, data in util_files(reg):
        (sequence / path).parent.mkdir(parents=True, exist_ok=True)
        (sequence / path).write_bytes(data)
    return sequence, reg, leaves


CASES = [(name, market, stage) for name in SOURCES for market in ("us", "eu", "uk", "cn") for stage in ("ind", "marketing")]


@pytest.mark.parametrize("name,market,stage", CASES)
def test_regional_backbone_is_valid_against_the_official_schema(models, tmp_path, name, market, stage):
    """Every regional backbone of both examples, for every market and stage, validates with lxml and
    with xmllint against the official DTD/XSD shipped in util/; EU and UK at IND have none (CTIS,
    MHRA combined review) and put no file in m1/."""
    sequence, reg, leaves = _sequence(tmp_path, models[name], market, stage)
    if market in ("eu", "uk") and stage == "ind":
        assert reg is None and leaves == [] and not (sequence / "m1").exists()
        return
    assert validate_regional(sequence, reg) == []
    xmllint = require_tool("xmllint")
    backbone = sequence / reg.backbone
    option = ["--dtdvalid", str(sequence / reg.schema)] if reg.kind == "dtd" else ["--schema", str(sequence / reg.schema)]
    done = subprocess.run([xmllint, "--noout", "--nonet", *option, str(backbone)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    if reg.kind == "dtd":  # and through its own DOCTYPE, as a validator opening the sequence would
        done = subprocess.run([xmllint, "--noout", "--nonet", "--valid", backbone.name], cwd=backbone.parent,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    tree = etree.parse(str(backbone))
    hrefs = [l.get(f"{XLINK}href") or l.get("{http://www.w3.org/1999/xlink}href") for l in tree.iter("{*}leaf", "leaf")]
    assert sorted(hrefs) == sorted(leaf.href.split("/", 2)[2] for leaf in leaves)
    for href in hrefs:
        assert (backbone.parent / href).is_file()


def test_util_files_are_the_official_bytes():
    """The DTD/XSD files shipped in util/ are byte-exact copies of the official files (CRLF kept):
    EU M1 3.1 md5 as published by EMA, the FDA DTD 3.3 md5 as published, and the NMPA files as in
    shared/reference."""
    for reg in REGIONS.values():
        for path, data in util_files(reg):
            expected = next(md5 for p, _, md5 in reg.util if p == path)
            assert hashlib.md5(data).hexdigest() == expected, path
    eu = dict(util_files(REGIONS["eu"]))
    assert hashlib.md5(eu["util/dtd/eu-regional.dtd"]).hexdigest() == "f8e473246d58499f9ffff8e51a32380d"
    assert b"\r\n" in eu["util/dtd/eu-regional.dtd"] and b"\r\n" in dict(util_files(REGIONS["us"]))["util/dtd/us-regional-v3-3.dtd"]
    if OFFICIAL.is_dir():
        for reg, folder in ((REGIONS["eu"], "eu-3.1"), (REGIONS["cn"], "cn-1.0")):
            for path, data in util_files(reg):
                assert data == (OFFICIAL / folder / path.rsplit("/", 1)[1]).read_bytes(), path


def test_eu_envelope_from_data(models, tmp_path):
    sequence, reg, leaves = _sequence(tmp_path, models["antibody"], "eu", "marketing")
    envelope = etree.parse(str(sequence / reg.backbone)).find(".//envelope")
    assert envelope.get("country") == "ema"
    assert envelope.find("agency").get("code") == "EU-EMA" and envelope.find("procedure").get("type") == "centralised"
    assert envelope.findtext("applicant") == "Lumina Biotherapeutics Europe B.V."
    assert (envelope.findtext("invented-name"), envelope.findtext("inn")) == ("Lumivanta", "ordesimab")
    assert (envelope.findtext("sequence"), envelope.findtext("related-sequence")) == ("0000", "0000")
    assert envelope.find("submission").get("type") == "maa" and envelope.find("submission-unit").get("type") == "initial"
    qp = [leaf for leaf in leaves if leaf.id.startswith("eu-qp-declaration")]
    assert qp and all(leaf.element == "m1-2-form" and leaf.href.startswith("m1/eu/12-form/ema/") for leaf in qp)
    assert not qp[0].title.startswith("1.2 ")
    uk_sequence, uk, _ = _sequence(tmp_path, models["antibody"], "uk", "marketing")
    uk_envelope = etree.parse(str(uk_sequence / uk.backbone)).find(".//envelope")
    assert uk_envelope.get("country") == "uk" and uk_envelope.find("agency").get("code") == "UK-MHRA"
    assert uk_envelope.findtext("applicant") == "Lumina Biotherapeutics UK Ltd"
    assert etree.parse(str(uk_sequence / uk.backbone)).find(".//m1-additional-data/specific[@country='uk']/leaf") is not None


def test_us_admin_carries_the_application_and_form_type(models, tmp_path):
    for name, stage, kind in (("antibody", "marketing", "fdaat3"), ("tablets", "ind", "fdaat4")):
        sequence, reg, leaves = _sequence(tmp_path / name, models[name], "us", stage)
        tree = etree.parse(str(sequence / reg.backbone))
        assert tree.find(".//application-number").get("application-type") == kind
        assert tree.find(".//sequence-number").text == "0000"
        assert tree.find(".//applicant-contact-name").get("applicant-contact-type") == "fdaact1"
        assert leaves == []  # the 356h data sheet and the establishment table are working documents
    number = etree.parse(str(tmp_path / "antibody" / "us-marketing" / "0000" / reg.backbone)).findtext(".//application-number")
    assert number == "761512"


def test_cn_envelope_codes_are_an_allowed_combination(models, tmp_path):
    assert ("cnapt2", "cnrat1", "cnsqt1") in cn_combinations() and ("cnapt4", "cnrat5", "cnsqt1") not in cn_combinations()
    for name, stage in (("antibody", "marketing"), ("tablets", "ind")):
        context = assemble_context(models[name], "cn", stage)
        assert cn_combination_allowed(cn_envelope_values(context, Submission()))
    sequence, reg, leaves = _sequence(tmp_path, models["antibody"], "cn", "marketing")
    tree = etree.parse(str(sequence / reg.backbone))
    ns = {"cn": "cn_ectd"}
    titles = {leaf.element: leaf.title for leaf in leaves}
    assert titles == {"cn-1-3-8-1": "原料药、药用辅料及药包材证明文件", "cn-1-3-3": "产品质量标准和生产工艺/制造及检定规程"}
    assert tree.find(".//cn:cn-1-3/cn:cn-1-3-8/cn:cn-1-3-8-1/cn:leaf", ns) is not None
    assert tree.find(".//cn:sequence-contact/cn:email", ns).text == "xiaojing.liu@luminabio.example.com"


# the built sequences ---------------------------------------------------------------------------------
def test_built_sequences_reference_every_file(built):
    """index.xml references the regional backbone by a leaf in m1-administrative-information-and-
    prescribing-information; every file under m1-m5 is referenced; the check has nothing to say."""
    for market in ("us", "cn"):
        sequence = built[market] / "ectd" / "0000"
        reg = REGIONS[market]
        index = etree.parse(str(sequence / "index.xml"))
        m1 = index.find("m1-administrative-information-and-prescribing-information")
        assert [leaf.get(f"{XLINK}href") for leaf in m1] == [reg.backbone]
        assert m1[0].get("checksum") == md5_hex((sequence / reg.backbone).read_bytes())
        assert validate_regional(sequence, reg) == []
    for market in ("eu", "uk"):  # IND: no eCTD sequence (an IMPD for CTIS or MHRA combined review)
        assert not (built[market] / "ectd").exists() and (built[market] / "impd").is_dir()
        assert not any(p.suffix == ".xml" for p in built[market].rglob("*-regional.xml"))
    assert [f.format() for m in built for f in check_build(built[m])] == []


def test_a_file_in_m1_without_a_leaf_is_a_check_error(built, tmp_path):
    copy = tmp_path / "cn"
    shutil.copytree(built["cn"], copy)
    stray = copy / "ectd" / "0000" / "m1" / "cn" / "13-prod-info" / "gmp-certificate.pdf"
    shutil.copy(next((copy / "ectd" / "0000" / "m3").rglob("*.pdf")), stray)  # a good PDF, but no leaf
    findings = [f for f in check_build(copy) if f.severity == "error"]
    assert [(f.rule, f.file) for f in findings] == [("ectd.unreferenced", "ectd/0000/m1/cn/13-prod-info/gmp-certificate.pdf")]


def test_check_reports_an_invalid_or_unofficial_regional_backbone(built, tmp_path):
    copy = tmp_path / "us"
    shutil.copytree(built["us"], copy)
    sequence = copy / "ectd" / "0000"
    backbone = sequence / "m1" / "us" / "us-regional.xml"
    backbone.write_bytes(backbone.read_bytes().replace(b"<admin>", b"<admin><bogus/>"))
    dtd = sequence / "util" / "dtd" / "us-regional-v3-3.dtd"
    dtd.write_bytes(dtd.read_bytes().replace(b"\r\n", b"\n"))
    rules = {f.rule for f in check_build(copy)}
    assert {"ectd.regional_schema", "ectd.dtd_checksum", "ectd.checksum"} <= rules  # index.xml's MD5 of it fails too


def test_envelope_values_the_data_lack_are_named(models):
    """A value the envelope needs and the data lack is a located warning in a draft, an error in a final
    build, and a visible [missing: …] marker in the draft backbone."""
    from dossiergen.backbones import envelope_missing
    from dossiergen.build import _envelope_problems

    context = assemble_context(models["tablets"], "us", "ind")
    assert envelope_missing(context) == ["markets/us.yaml form_1571.ind_number"]
    draft, final = _envelope_problems(context, False), _envelope_problems(context, True)
    assert [p.severity for p in draft] == ["warning"] and [p.severity for p in final] == ["error"]
    assert draft[0].location.file.endswith("markets/us.yaml") and "form_1571.ind_number" in draft[0].message
    assert envelope_missing(assemble_context(models["antibody"], "eu", "marketing")) == []
    assert envelope_missing(assemble_context(models["antibody"], "eu", "ind")) == []  # no eCTD sequence


def test_a_cn_code_combination_nmpa_does_not_allow_is_an_error(tmp_path):
    """cnapt1 (IND) with cnrat6 (new indication, for marketing applications) is not in depend-apt-rat-sqt.xml."""
    from conftest import apply_edits, materialise_case, run_cli

    dossier = materialise_case("minimal", tmp_path)
    text = (dossier / "markets" / "cn.yaml").read_text("utf-8")
    assert "regulatory_activity: cnrat1" in text and "application_type: cnapt1" in text
    apply_edits(dossier, [{"file": "markets/cn.yaml", "find": "regulatory_activity: cnrat1", "replace": "regulatory_activity: cnrat6"}])
    run = run_cli("build", "--dossier", str(dossier), "--market", "cn", "--stage", "ind", "--out", str(tmp_path / "out"))
    assert run.exit_code == 1
    assert "markets/cn.yaml: error: $.envelope: application type cnapt1, regulatory activity cnrat6 and sequence type cnsqt1" in run.stderr
    assert "[ectd.cn_combination]" in run.stderr and not (tmp_path / "out" / "cn").exists()
