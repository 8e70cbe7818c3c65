"""Regional annexes of the antibody example: golden read-back dumps, consistency with Module 3,
and one clear, located message for each kind of bad market data."""

from __future__ import annotations

import json

import pytest

from conftest import CASES, ROOT, apply_edits, check_golden, materialise_case, run_cli
from docx_dump import dump_docx
from dossiergen.load import load_dossier
from dossiergen.model import build_model
from dossiergen.regional.eu import qp_declarations_data
from dossiergen.regional.us import form_356h_data
from dossiergen.tables import sites_for
from test_regional_eu_uk import builds  # noqa: F401  (the shared antibody builds)

EXPECTED = CASES / "antibody-annexes" / "expected"


@pytest.mark.parametrize("market", ["us", "eu", "uk"])
def test_annex_dumps_golden(builds, market, update_golden):  # noqa: F811
    """Every regional document (annexes and 3.2.R) read back, reviewed in the diff."""
    manifest = json.loads((builds[market] / "manifest.json").read_text("utf-8"))
    regional = [d for d in manifest["documents"] if d["kind"] == "regional"]
    assert len(regional) >= 3
    for entry in regional:
        dump = dump_docx((builds[market] / entry["docx"]).read_bytes())
        check_golden(EXPECTED / market / (entry["docx"].removeprefix("docx/") + ".txt"), dump, update_golden)


def test_module3_sites_appear_in_the_356h_with_the_same_identifiers():
    model = build_model(load_dossier(ROOT / "dossier"))
    establishments = {e["site"]: e for e in form_356h_data(model, "marketing")["establishments"]}
    subjects = [e.id for e in model.of_type("substance")] + [e.id for e in model.of_type("product")]
    for subject in subjects:
        for entry in sites_for(model, subject):
            site = entry["site"]
            if not any(r["role"] in ("batch_release", "importer", "storage_distribution") for r in entry["roles"]) or \
                    any(r["role"] not in ("batch_release", "importer", "storage_distribution") for r in entry["roles"]):
                listed = establishments[site["id"]]
                ids = site.get("identifiers", {})
                assert (listed["fei"], listed["duns"]) == (ids.get("fei"), ids.get("duns"))
                name = site["legal_name"]["en"] if isinstance(site["legal_name"], dict) else site["legal_name"]
                assert listed["name"] == name


def test_every_active_substance_site_is_in_part_a():
    model = build_model(load_dossier(ROOT / "dossier"))
    declarations = qp_declarations_data(model, "marketing")
    part_a = {s["id"] for d in declarations for s in d["part_a"]}
    for substance in model.of_type("substance"):
        makers = {e["site"]["id"] for e in sites_for(model, substance.id)
                  if any(r["role"] in ("drug_substance_manufacture", "intermediate_manufacture") for r in e["roles"])}
        assert makers and makers <= part_a


BAD_MARKET_DATA = [
    ("no QP declaration", "markets/eu.yaml", "eu", "gap.eu.qp-declaration-per-substance"),
    ("audit older than 3 years", "markets/eu.yaml", "eu", "gap.eu.audit-age"),
    ("batch testing in a non-approved country", "markets/uk.yaml", "uk", "gap.uk.batch-testing-country"),
    ("malformed FEI", "sites.yaml", None, "id.fei"),
    ("356h application number of the wrong length", "markets/us.yaml", None, "schema.pattern"),
]

MARKET_FILES = {
    "markets/eu.yaml": "# yaml-language-server: $schema=../../../../../schemas/market-eu.schema.json\nmarket: eu\n"
                       "batch_release_site: site-dp\nqp_declarations:\n  - reference: QP-1\n    substance: ds-minitab\n"
                       "    sites: [{site: site-api, operations: Full manufacture}]\n"
                       "    miahs: [{site: site-dp, activity: [qp_certification]}]\n"
                       "    audits: [{miah_site: site-dp, audit_type: self, audited_site: site-api, date: \"2025-06-01\", on_site: true}]\n"
                       "    qp: {name: A. Person, site: site-dp}\n",
    "markets/uk.yaml": "# yaml-language-server: $schema=../../../../../schemas/market-uk.schema.json\nmarket: uk\n"
                       "route: {type: national}\nlicence: {scope: uk_wide}\nmah: {name: Minimal Pharma Ltd., address: {street: 1 Test Road, city: Cambridge, country: GB}}\n"
                       "batch_release_site: site-dp\nbatch_testing_sites: [site-dp]\n",
}
BREAK = {
    "no QP declaration": [{"file": "markets/eu.yaml", "find": "    substance: ds-minitab\n", "replace": "    substance: dp-minitab\n"}],
    "audit older than 3 years": [{"file": "markets/eu.yaml", "find": "2025-06-01", "replace": "2022-06-01"}],
    "batch testing in a non-approved country": [{"file": "sites.yaml", "find": "postal_code: \"27703\", country: US", "replace": "postal_code: \"27703\", country: BR"}],
    "malformed FEI": [{"file": "sites.yaml", "find": "fei: \"1234567\"", "replace": "fei: \"12345678\""}],
    "356h application number of the wrong length": [{"file": "markets/us.yaml", "find": "  application_type: NDA\n", "replace": "  application_type: NDA\n  application_number: \"12345\"\n"}],
}


@pytest.mark.parametrize("name,file,market,code", BAD_MARKET_DATA, ids=[c[0] for c in BAD_MARKET_DATA])
def test_bad_market_data_gives_one_located_message(tmp_path, name, file, market, code):
    source = materialise_case("minimal", tmp_path)
    apply_edits(source, [{"file": f, "write": text} for f, text in MARKET_FILES.items()])
    apply_edits(source, [{"file": "application.yaml", "find": "  - {market: cn, application_type: CTA}",
                          "replace": "  - {market: cn, application_type: CTA}\n  - {market: eu, application_type: MAA}\n  - {market: uk, application_type: MAA}"}])
    apply_edits(source, BREAK[name])
    if market is None:
        run = run_cli("validate", "--dossier", str(source), "--format", "json")
    else:
        from dossiergen.gaps import find_gaps

        model = build_model(load_dossier(source))
        problems = [g.as_problem(final=True).as_dict() for g in find_gaps(model, market, "marketing")]
        run = None
    problems = json.loads(run.stdout) if run else problems
    found = [p for p in problems if p["code"] == code]
    assert len(found) == 1, problems
    location = found[0]["location"]
    assert location["file"].endswith(file) or location["file"].endswith("sites.yaml") or location["file"].endswith(".yaml")
    assert location["line"] >= 1 and found[0]["hint"]
