"""EU and UK regional annexes: QP declarations, eAF data, UK route / licence / batch testing data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import docx
import pytest
import yaml

from conftest import FIXED_EPOCH, ROOT, apply_edits
from dossiergen.build import build_dossier, render_folder
from dossiergen.load import load_dossier
from dossiergen.model import build_model
from dossiergen.regional import eu, uk

DOSSIER = ROOT / "dossier"
EU = yaml.safe_load((DOSSIER / "markets" / "eu.yaml").read_text("utf-8"))
UK = yaml.safe_load((DOSSIER / "markets" / "uk.yaml").read_text("utf-8"))
SITES = {s["id"]: s for s in yaml.safe_load((DOSSIER / "sites.yaml").read_text("utf-8"))["sites"]}


def _name(site_id: str) -> str:
    name = SITES[site_id]["legal_name"]
    return name["en"] if isinstance(name, dict) else name


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    """The antibody dossier built once for eu, uk and us at the marketing stage, at a fixed time
    (one output folder, so uk and us reuse the core documents eu wrote)."""
    saved = {k: os.environ.get(k) for k in ("SOURCE_DATE_EPOCH", "DOSSIERGEN_TODAY")}
    os.environ.update(SOURCE_DATE_EPOCH=FIXED_EPOCH, DOSSIERGEN_TODAY="2026-11-27")
    try:
        out = tmp_path_factory.mktemp("regional")
        for market in ("eu", "uk", "us"):
            build_dossier(DOSSIER, market, "marketing", out, final=False)
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return {m: out / m / "marketing" for m in ("eu", "uk", "us")}


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def _regional(folder: Path, file: str) -> list[dict]:
    return [d for d in _manifest(folder)["documents"] if d["kind"] == "regional" and f"/{file}" in d["docx"]]


def _docx_text(path: Path) -> str:
    document = docx.Document(path)
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


# builds of the antibody dossier ------------------------------------------------------------------
@pytest.mark.parametrize("market", ["eu", "uk"])
def test_manifest_lists_one_qp_declaration_per_entry(builds, market):
    declarations = _regional(builds[market], "qp-declaration-")
    assert len(declarations) == len(EU["qp_declarations"]) == 1
    country = "ema" if market == "eu" else "uk"  # EU Module 1 format for both: m1/eu/12-form/<envelope country>/
    assert declarations[0]["section"] == "1.2" and declarations[0]["pdf"].startswith(f"ectd/0000/m1/eu/12-form/{country}/")
    assert declarations[0]["missing"] == []
    other = "eaf-data" if market == "eu" else "uk-regional-information"
    assert len(_regional(builds[market], other)) == 1
    assert (builds[market] / _regional(builds[market], other)[0]["pdf"]).is_file()
    # the eAF data only help fill the official form: a working document beside the sequence
    where = "working/" if market == "eu" else "ectd/0000/m1/eu/additional-data/uk/"
    assert _regional(builds[market], other)[0]["pdf"].startswith(where)


def test_qp_declaration_names_every_part_a_site_and_mia_number(builds):
    entry = _regional(builds["eu"], "qp-declaration-")[0]
    text = _docx_text(builds["eu"] / entry["docx"])
    declaration = EU["qp_declarations"][0]
    assert declaration["reference"] in text
    for site in declaration["sites"]:
        assert _name(site["site"]) in text
        assert site["operations"] in text
    for miah in declaration["miahs"]:
        assert SITES[miah["site"]]["identifiers"]["eu_mia"] in text
    assert declaration["qp"]["name"] in text and "Directive 2001/83/EC" in text
    assert "Qualitas GMP Audit Services GmbH" in text  # the third-party auditor is named


def test_qp_declaration_part_c_leaves_self_audits_blank(builds):
    entry = _regional(builds["eu"], "qp-declaration-")[0]
    document = docx.Document(builds["eu"] / entry["docx"])
    audits = next(t for t in document.tables if t.rows[0].cells[1].text == "Auditing body")
    rows = [[c.text for c in r.cells] for r in audits.rows[1:]]
    assert len(rows) == len(EU["qp_declarations"][0]["audits"])
    for row, audit in zip(rows, EU["qp_declarations"][0]["audits"]):
        assert row[1] == ("" if audit["audit_type"] == "self" else audit["auditing_body"])
        assert row[2] == _name(audit["audited_site"]) and row[3] == audit["date"] and row[4] == "Yes"
    signature = next(t for t in document.tables if t.rows[-1].cells[0].text == "Signature")
    assert set(signature.rows[-1].cells[1].text) == {"_"}  # an empty line, never a signature


def test_uk_qp_declaration_says_the_eu_data_are_reused(builds):
    entry = _regional(builds["uk"], "qp-declaration-")[0]
    assert "reuses the data of the QP declaration of the EU application" in _docx_text(builds["uk"] / entry["docx"])


def test_eaf_json_names_the_batch_release_site_and_its_mia(builds):
    data = json.loads((builds["eu"] / "regional" / "eu" / "eaf-data.json").read_text("utf-8"))
    release = data["batch_release_site"]
    assert release["id"] == EU["batch_release_site"]
    assert release["eu_mia"] == SITES[EU["batch_release_site"]]["identifiers"]["eu_mia"] and release["eea"]
    assert data["procedure"] == "centralised" and data["mah"]["name"] == EU["mah"]["name"]
    products = {c["product"]: c for c in data["composition"]}
    assert set(products) == {"dp-ordesimab-solution", "dp-ordesimab-powder"}
    solution = products["dp-ordesimab-solution"]["strengths"][0]["components"]
    assert solution[0] == {"component": "ds-ordesimab-sz", "name": "Ordesimab", "quantity": {"value": 100.0, "unit": "mg"},
                           "function": "Active substance", "standard": "In-house (3.2.S.4.1)", "removed_during_process": False}
    # the UK importer and QP site is no EU manufacturer; the EEA batch release site is
    makers = [m["id"] for m in data["drug_product_manufacturers"]]
    assert "site-thamesgate-uk" not in makers and "site-auenwald-de" in makers
    assert [m["id"] for m in data["active_substance_manufacturers"]] == [s["site"] for s in EU["qp_declarations"][0]["sites"]]


def test_eaf_annex_lists_the_batch_release_mia(builds):
    entry = _regional(builds["eu"], "eaf-data")[0]
    text = _docx_text(builds["eu"] / entry["docx"])
    assert "MIA: " + SITES[EU["batch_release_site"]]["identifiers"]["eu_mia"] in text
    assert "Lumivanta" in text and "Third-country site (CN)" in text


def test_uk_json_approves_every_batch_testing_country_and_names_the_pl(builds):
    data = json.loads((builds["uk"] / "regional" / "uk" / "uk-regional-data.json").read_text("utf-8"))
    assert data["licence"]["pl_number"] == UK["licence"]["pl_number"] and data["licence"]["uk_wide"]
    assert [s["id"] for s in data["batch_testing_sites"]] == UK["batch_testing_sites"]
    assert all(s["approved_for_batch_testing"] for s in data["batch_testing_sites"])
    assert {s["id"]: s["basis"] for s in data["batch_testing_sites"]} == {"site-auenwald-de": "eea", "site-keystone-us": "mra"}
    qp = data["uk_qp_certification"]
    assert qp["required"] and qp["certified_in_uk"] and qp["met"]
    assert qp["reasons"] == [{"reason": "tested_in_mra_country", "sites": ["site-keystone-us"]}]
    assert data["route"]["assessment_days"] == 60 and data["mah"]["established_in"] == "uk"
    assert data["batch_release_site"]["uk_mia"] == "MIA 41872"


def test_packages_are_deterministic(builds):
    model = build_model(load_dossier(DOSSIER))
    expected = json.dumps(eu.eaf_data(model, "marketing"), indent=2, ensure_ascii=False) + "\n"
    assert (builds["eu"] / "regional" / "eu" / "eaf-data.json").read_text("utf-8") == expected
    expected = json.dumps(uk.uk_data(model, "marketing"), indent=2, ensure_ascii=False) + "\n"
    assert (builds["uk"] / "regional" / "uk" / "uk-regional-data.json").read_text("utf-8") == expected


# small hand-made models ----------------------------------------------------------------------------
EEA_SITE = """  - id: site-qp-de
    legal_name: QP Release GmbH
    address: {street: 5 Hauptstrasse, building: Building 3, city: Munich, country: DE}
    identifiers: {eu_mia: DE_BY_01_MIA_2019_0001}
    roles:
      - {role: batch_release, subjects: [dp-minitab]}
      - {role: release_testing, subjects: [dp-minitab]}
  - id: site-lab-in
    legal_name: Pune Testing Labs Pvt. Ltd.
    address: {street: 12 MIDC Road, city: Pune, country: IN}
    roles:
      - {role: release_testing, subjects: [dp-minitab]}
"""
EU_YAML = """market: eu
procedure: decentralised
batch_release_site: site-qp-de
qp_declarations:
  - reference: QPD-MIN-01
    substance: ds-minitab
    sites:
      - {site: site-api, operations: Full synthesis}
      - {site: site-dp, operations: Release testing}
    miahs:
      - {site: site-qp-de, activity: [qp_certification]}
    audits:
      - {miah_site: site-qp-de, audit_type: self, auditing_body: Ignored Auditors, audited_site: site-api, date: "2022-06-30", on_site: false}
    qp: {name: Dr. A. Person, site: site-qp-de, on_behalf_of: [site-qp-de]}
"""
UK_YAML = """market: uk
route: {type: irp, reference_regulator: FDA, recognition: B, reference_approval_date: "2020-01-15", same_product: true}
licence: {pl_number: PLGB 12345/0001, scope: uk_wide}
mah: {name: Minimal Pharma EU B.V., address: {street: 1 Kade, city: Leiden, country: NL}}
batch_release_site: site-qp-de
batch_testing_sites: [site-qp-de, site-lab-in]
"""


@pytest.fixture
def small(minimal) -> Path:
    """The minimal case with an EEA release site, an Indian laboratory, and EU and UK market files."""
    apply_edits(minimal, [{"file": "sites.yaml", "append": EEA_SITE},
                          {"file": "markets/eu.yaml", "write": EU_YAML}, {"file": "markets/uk.yaml", "write": UK_YAML}])
    return minimal


def test_qp_declarations_data_from_a_small_model(small):
    [declaration] = eu.qp_declarations_data(build_model(load_dossier(small)), "marketing")
    assert declaration["substance"] == {"id": "ds-minitab", "name": "minitabine"}
    assert [s["name"] for s in declaration["part_a"]] == ["API Works Co., Ltd.", "Tablet Makers Inc."]
    assert declaration["part_b"][0]["eu_mia"] == "DE_BY_01_MIA_2019_0001"
    assert declaration["part_b"][0]["address"]["building"] == "Building 3"
    [audit] = declaration["part_c"]["audits"]
    assert audit["auditing_body"] is None  # self-audited: the column stays blank
    assert audit["age_years"] == 4.4 and not audit["within_validity"]  # 2022-06-30 to 2026-11-27
    assert declaration["part_c"]["on_site"] is False
    assert declaration["qp"]["date"] is None and declaration["qp"]["on_behalf_of"][0]["id"] == "site-qp-de"


def test_qp_declaration_marks_what_the_declaration_lacks(small):
    [document] = [r for r in render_folder(small, "eu", "marketing", "1.2") if "qp-declaration" in r.document.path]
    assert "markets/eu.yaml qp_declarations[0].audits (no audit of site-dp)" in document.missing
    assert "markets/eu.yaml qp_declarations[0].audits[0].date (audit more than 3 years old)" in document.missing
    assert "Not every audit in the table below was performed on site" in document.markdown
    assert "Ignored Auditors" not in document.markdown
    [uk_declaration] = [r for r in render_folder(small, "uk", "marketing", "1.2") if "qp-declaration" in r.document.path]
    assert uk_declaration.missing == ("markets/uk.yaml qp_declaration_from_eu",) + document.missing


def test_uk_data_from_a_small_model(small):
    data = uk.uk_data(build_model(load_dossier(small)), "marketing")
    testing = {s["id"]: (s["country"], s["approved_for_batch_testing"], s["basis"]) for s in data["batch_testing_sites"]}
    assert testing == {"site-qp-de": ("DE", True, "eea"), "site-lab-in": ("IN", False, None)}
    assert data["uk_qp_certification"] == {"required": False, "reasons": [], "certified_in_uk": False, "met": True}
    assert data["licence"]["prefix_matches_scope"] is False  # PLGB is not a UK-wide licence number
    assert data["route"]["assessment_days"] == 110 and data["mah"]["established_in"] == "eea"
    assert data["importer_site"] is None and data["imported"] is True
    assert data["release_testing_sites_not_listed"] == [{"id": "site-dp", "name": "Tablet Makers Inc."}]
    assert data["qp_declarations"][0]["names_uk_release_site"] is True


def test_uk_annex_marks_unapproved_testing_country_and_missing_importer(small):
    [document] = [r for r in render_folder(small, "uk", "marketing", "1.2") if "uk-regional" in r.document.path]
    assert "markets/uk.yaml batch_testing_sites (site-lab-in: country not approved for batch testing)" in document.missing
    assert "markets/uk.yaml importer_site" in document.missing
    assert "markets/uk.yaml licence.pl_number (prefix does not match the scope)" in document.missing
    assert "markets/uk.yaml uk_only_label" in document.missing
    assert "certified by a QP in the EEA" in document.markdown


def test_uk_qp_certification_required_for_mra_testing(small):
    apply_edits(small, [{"file": "markets/uk.yaml", "find": "[site-qp-de, site-lab-in]", "replace": "[site-qp-de, site-dp]"}])
    data = uk.uk_data(build_model(load_dossier(small)), "marketing")
    qp = data["uk_qp_certification"]
    assert qp["required"] and not qp["certified_in_uk"] and not qp["met"]
    assert qp["reasons"] == [{"reason": "tested_in_mra_country", "sites": ["site-dp"]}]
    [document] = [r for r in render_folder(small, "uk", "marketing", "1.2") if "uk-regional" in r.document.path]
    assert "markets/uk.yaml batch_release_site (a UK MIA holder for UK QP certification)" in document.missing
