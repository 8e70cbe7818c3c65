"""US regional annexes: the Form FDA 356h data (sheet, JSON, XML) and the establishment table."""

from __future__ import annotations

import json
import os
from pathlib import Path

import docx
import pytest
import yaml
from lxml import etree

from conftest import FIXED_EPOCH, ROOT, materialise_case
from dossiergen.build import build_dossier
from dossiergen.load import load_dossier
from dossiergen.model import build_model
from dossiergen.regional import DATA, us

# Site roles that make an establishment (manufacture, packaging, testing of a substance or product).
ESTABLISHMENT_ROLES = {"drug_substance_manufacture", "intermediate_manufacture", "cell_bank_manufacture",
                       "cell_bank_storage", "drug_product_manufacture", "primary_packaging", "secondary_packaging",
                       "labelling", "release_testing", "stability_testing"}
PACKAGE = "regional/us/form-fda-356h-data"


@pytest.fixture(scope="module")
def us_builds(tmp_path_factory) -> dict:
    """The minimal case built for the US at the marketing and IND stages (once for this module)."""
    saved = {k: os.environ.get(k) for k in ("SOURCE_DATE_EPOCH", "DOSSIERGEN_TODAY")}
    os.environ.update(SOURCE_DATE_EPOCH=FIXED_EPOCH, DOSSIERGEN_TODAY="2026-11-27")
    try:
        root = tmp_path_factory.mktemp("us")
        source = materialise_case("minimal", root)
        for stage in ("marketing", "ind"):
            build_dossier(source, "us", stage, root / "build", final=False)
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return {"source": source, "marketing": root / "build" / "us" / "marketing", "ind": root / "build" / "us" / "ind"}


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text("utf-8"))


def _relevant_sites(source: Path) -> dict[str, dict]:
    """Sites with a manufacturing, packaging or testing role for a substance or product, by id."""
    subjects = {_yaml(p)["id"] for folder in ("substances", "products") for p in (source / folder).glob("*.yaml")}
    return {s["id"]: s for s in _yaml(source / "sites.yaml")["sites"]
            if any(r["role"] in ESTABLISHMENT_ROLES and set(r["subjects"]) & subjects for r in s["roles"])}


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def _field(data: dict, number: str, name: str | None = None) -> dict:
    return next(f for f in data["fields"] + data["certification"]
                if f["number"] == number and (name is None or f["name"] == name))


# the build -----------------------------------------------------------------------------------------
def test_manifest_lists_both_annexes(us_builds):
    entries = {d["id"]: d for d in _manifest(us_builds["marketing"])["documents"]}
    for doc_id, stem in (("us-form-fda-356h-data", "form-fda-356h-data"),
                         ("us-establishment-information", "establishment-information")):
        entry = entries[doc_id]
        assert entry["kind"] == "regional" and entry["section"] == "1.1"
        # working documents that help fill Form FDA 356h: beside the sequence, never inside it
        assert entry["pdf"] == f"working/{stem}.pdf"
        assert entry["docx"] == f"docx/working/{stem}.docx"
        assert (us_builds["marketing"] / entry["pdf"]).read_bytes().startswith(b"%PDF")


def test_json_package_holds_applicant_and_establishments(us_builds):
    source = us_builds["source"]
    data = json.loads((us_builds["marketing"] / f"{PACKAGE}.json").read_text("utf-8"))
    assert data["source"] == "dossiergen" and "not the form" in data["note"]
    assert _field(data, "2")["value"] == _yaml(source / "application.yaml")["sponsor"]["name"]
    sites = _relevant_sites(source)
    assert [e["site"] for e in data["establishments"]] == list(sites)
    for est in data["establishments"]:
        assert (est["fei"], est["duns"]) == (sites[est["site"]]["identifiers"]["fei"],
                                             sites[est["site"]]["identifiers"]["duns"])
    numbers = [f["number"] for f in data["fields"]]
    assert numbers[0] == "1" and numbers.index("2") < numbers.index("7") < numbers.index("16") < numbers.index("21")


def test_missing_data_is_listed_not_invented(us_builds):
    """The minimal case has no application number: None in the JSON, a marker in the data sheet."""
    data = json.loads((us_builds["marketing"] / f"{PACKAGE}.json").read_text("utf-8"))
    number = _field(data, "7")
    assert number["value"] is None and number["status"] == "missing"
    assert {"number": "7", "name": number["name"], "source": "markets.us.form_356h.application_number",
            "required": True, "status": "missing"} in data["missing"]
    assert _field(data, "1")["status"] == "at_submission"  # no date in a draft: completed at submission
    entry = next(d for d in _manifest(us_builds["marketing"])["documents"] if d["id"] == "us-form-fda-356h-data")
    assert "markets.us.form_356h.application_number" in entry["missing"]
    assert "markets.us.form_356h.submission_date" not in entry["missing"]


def test_xml_package_matches_json(us_builds):
    data = json.loads((us_builds["marketing"] / f"{PACKAGE}.json").read_text("utf-8"))
    root = etree.fromstring((us_builds["marketing"] / f"{PACKAGE}.xml").read_bytes())
    assert root.tag == "form356h"
    establishments = root.findall("field[@number='29']/establishment")
    assert len(establishments) == len(data["establishments"]) == 2
    assert [e.get("site") for e in establishments] == [e["site"] for e in data["establishments"]]
    assert [e.findtext("fei") for e in establishments] == [e["fei"] for e in data["establishments"]]
    assert root.find("field[@number='2']").text == _field(data, "2")["value"]


def test_data_sheet_docx_shows_each_fei(us_builds):
    entry = next(d for d in _manifest(us_builds["marketing"])["documents"] if d["id"] == "us-form-fda-356h-data")
    document = docx.Document(us_builds["marketing"] / entry["docx"])
    text = "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    text += "\n".join(p.text for p in document.paragraphs)
    assert "This is not Form FDA 356h." in text
    for site in _relevant_sites(us_builds["source"]).values():
        assert site["identifiers"]["fei"] in text


def test_ind_has_establishments_but_no_356h(us_builds):
    folder = us_builds["ind"]
    ids = {d["id"] for d in _manifest(folder)["documents"]}
    assert "us-establishment-information" in ids and "us-form-fda-356h-data" not in ids
    assert (folder / "working/establishment-information.pdf").is_file()
    assert not (folder / "ectd/0000/m1/us/11-forms").exists()
    assert not any((folder / f"{PACKAGE}.{ext}").exists() for ext in ("json", "xml", "pdf"))


# the data ------------------------------------------------------------------------------------------
@pytest.fixture
def antibody():
    return build_model(load_dossier(ROOT / "dossier"))


def test_form_356h_data_of_the_antibody(antibody):
    data = DATA["form_356h"](antibody, "marketing")
    numbers = [f["number"] for f in data["fields"]]
    assert list(dict.fromkeys(numbers)) == [str(n) for n in range(1, 15)] + ["15A"] + [str(n) for n in range(16, 22)] + ["22-28"]
    assert {f["number"] for f in data["certification"]} == {"31"}
    assert _field(data, "2")["value"] == "Lumina Biotherapeutics (Suzhou) Co., Ltd."
    assert _field(data, "7")["value"] == "761512"
    assert _field(data, "9")["value"] == "ordesimab-lmzt"  # the proper name of 3.2.S.1.1, written once
    assert _field(data, "9")["source"] == "substances.general.nomenclature.us_proper_name"
    assert _field(data, "12")["value"] == "INJECTION, SOLUTION; INJECTION, POWDER, LYOPHILIZED, FOR SOLUTION"  # SPL terms
    assert (_field(data, "16")["value"], _field(data, "18")["value"]) == ("BLA", "351(a)")
    assert _field(data, "17")["status"] == "not_applicable"  # a BLA has no 505(b) type
    assert _field(data, "1")["value"] == "11/20/2026"
    assert _field(data, "4") == {"number": "4", "name": "Fax", "value": None, "source": None, "required": False,
                                 "status": "not_in_data"}
    assert [r["number"] for r in data["cross_references"]] == ["148372", "33418", "29870", "35102"]
    assert _field(data, "31", "Responsible official: name")["value"] == "Dr. Chen Yuting"


def test_antibody_establishments(antibody):
    """Field 29: DS, cell bank, DP and testing sites; the UK import and QP release site is not one."""
    data = DATA["form_356h"](antibody, "marketing")
    by_site = {e["site"]: e for e in data["establishments"]}
    assert list(by_site) == ["site-lumina-sz", "site-meridian-us", "site-auenwald-de", "site-keystone-us"]
    assert by_site["site-keystone-us"]["fei"] == "2517390" and by_site["site-keystone-us"]["duns"] == "829104537"
    assert by_site["site-meridian-us"]["responsibilities"] == [
        {"subject_type": "drug_substance", "category": "manufacture", "roles": ["cell_bank_storage"],
         "subjects": ["Ordesimab"]}]
    assert {(g["subject_type"], g["category"]) for g in by_site["site-keystone-us"]["responsibilities"]} == {
        ("drug_substance", "testing"), ("drug_product", "testing")}
    assert any("Cell-based potency" in op for op in by_site["site-keystone-us"]["operations"])
    assert by_site["site-lumina-sz"]["contact"]["country"] == "CN"
    assert by_site["site-auenwald-de"]["ready_for_inspection"] == "yes"
    assert not [g for g in data["missing"] if g["number"] == "29"]


def test_nothing_is_invented(antibody):
    """Data absent from markets/us.yaml stays None and is listed as missing; a US applicant needs no agent."""
    form = antibody.single("market-us")["form_356h"]
    for key in ("application_number", "marketing_status"):
        del form[key]
    for substance in antibody.of_type("substance"):
        substance.data["general"]["nomenclature"].pop("us_proper_name", None)
    antibody.single("application")["sponsor"]["address"]["country"] = "US"
    data = DATA["form_356h"](antibody, "marketing")
    for number in ("7", "9", "22-28"):
        field = _field(data, number)
        assert field["value"] is None and field["status"] == "missing"
        assert (number, field["source"]) in {(g["number"], g["source"]) for g in data["missing"]}
    assert all(f["status"] == "not_applicable" and f["value"] is None for f in data["fields"] if f["number"] == "6")
    assert not [g for g in data["missing"] if g["number"] == "6"]


def test_site_without_fei(antibody):
    """A site without FEI: its exemption reason is kept; with neither, the FEI is missing."""
    site = antibody.get("site-keystone-us").data
    del site["identifiers"]["fei"]
    data = DATA["form_356h"](antibody, "marketing")
    assert ("29", "sites.site-keystone-us.identifiers.fei") in {(g["number"], g["source"]) for g in data["missing"]}
    site["fei_exemption"] = "FEI requested from FDA"
    data = DATA["form_356h"](antibody, "marketing")
    keystone = next(e for e in data["establishments"] if e["site"] == "site-keystone-us")
    assert (keystone["fei"], keystone["fei_exemption"]) == (None, "FEI requested from FDA")
    assert not [g for g in data["missing"] if g["source"] == "sites.site-keystone-us.identifiers.fei"]


def test_packages_are_deterministic_and_marketing_only(antibody):
    class Context:
        model, stage = antibody, "marketing"

    first, again = us.packages(Context), us.packages(Context)
    assert [p for p, _ in first] == [f"{PACKAGE}.json", f"{PACKAGE}.xml"] and first == again
    assert json.loads(first[0][1]) == DATA["form_356h"](antibody, "marketing")
    etree.fromstring(first[1][1])
    Context.stage = "ind"
    assert us.packages(Context) == []
