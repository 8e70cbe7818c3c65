"""Verdicts a regulator would sign: every rule of every pack is met, MISSING and n/a somewhere,
never met over an empty set; one assessment feeds gaps.json and the readiness matrix; --strict is
the same cold and warm; limit texts agree with their limits; the IND gets Form FDA 1571."""

from __future__ import annotations

import copy
import json
import shutil

import pytest
import yaml

from conftest import ROOT, apply_edits, materialise_case, run_cli
from dossiergen.gaps import evaluate_rule, load_rules
from dossiergen.load import load_dossier
from dossiergen.markets import REGIONS
from dossiergen.model import build_model

ANTIBODY, TABLETS = ROOT / "dossier", ROOT / "examples" / "velcratinib-tablets"
CART = ROOT / "examples" / "qirocabtagene-autoleucel"  # cells and a vector: the RCV and donor rules
ALL_RULES = {rule["id"]: rule for market in REGIONS for rule in load_rules(market)}
NOTHING = {"id": "no-such-item-anywhere"}


def _model(folder):
    return build_model(load_dossier(folder, label="dossier"))


def _emptied(rule: dict) -> dict:
    """The rule with every item set it ranges over made empty (a `where` nothing matches)."""
    emptied = copy.deepcopy(rule)
    check = emptied["check"]
    for key in ("items",):
        if key in check:
            check[key]["where"] = {**check[key].get("where", {}), **NOTHING}
    for groups in check.get("groups", []):
        groups["where"] = {**groups.get("where", {}), **NOTHING}
    return emptied


@pytest.fixture(scope="module")
def models():
    return {"antibody": _model(ANTIBODY), "tablets": _model(TABLETS)}


@pytest.mark.parametrize("rule_id", sorted(r for r, rule in ALL_RULES.items()
                                           if "items" in rule["check"] or "groups" in rule["check"]))
def test_a_rule_over_an_empty_set_is_never_met(rule_id, models):
    """Emptying the set a rule ranges over gives MISSING (saying what must exist), or n/a only when
    the rule says why nothing is needed (applies_when / when_empty n/a)."""
    rule = _emptied(ALL_RULES[rule_id])
    for model in models.values():
        for stage in rule.get("stages", ["ind", "marketing"]):
            verdict = evaluate_rule(model, rule, stage)
            assert verdict.status != "met", (rule_id, verdict.reason)
            if verdict.status == "n/a":
                assert rule.get("applies_when") or rule.get("molecule_types") or \
                    (rule.get("when_empty") or {}).get("status") == "n/a", (rule_id, verdict.reason)
            else:
                assert verdict.gaps and verdict.reason


STRIPPED = {"identifiers", "us_proper_name", "us_dosage_form", "gmp_evidence", "cell_bank_testing", "viral_clearance", "cell_line_history", "facilities",
            "process_validation", "control", "claims", "recognition_b_triggers", "importer_site", "associated_review",
            "replication_competent_virus", "donor"}


def _strip(data):
    """Return the data without the keys that rules look for (a dossier with those facts missing)."""
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items() if k not in STRIPPED}
    return [_strip(v) for v in data] if isinstance(data, list) else data


def _all_verdicts(tmp_path_factory) -> dict[str, set[str]]:
    """Every rule's verdicts over the examples, the minimal case and hollowed copies (market files
    removed), at both stages, for every market."""
    root = tmp_path_factory.mktemp("verdicts")
    sources = [ANTIBODY, TABLETS, CART, materialise_case("minimal", root / "m")]
    for source in (ANTIBODY, TABLETS, CART):
        hollow = root / f"hollow-{source.name}"
        shutil.copytree(source, hollow)
        for path in (hollow / "markets").glob("*.yaml"):
            path.unlink()
        sources.append(hollow)
        stripped = root / f"stripped-{source.name}"
        shutil.copytree(source, stripped)
        for path in stripped.rglob("*.yaml"):
            path.write_text(yaml.safe_dump(_strip(yaml.safe_load(path.read_text("utf-8"))), allow_unicode=True), "utf-8")
        sources.append(stripped)
    seen: dict[str, set[str]] = {rule: set() for rule in ALL_RULES}
    for source in sources:
        model = _model(source)
        for market in REGIONS:
            for rule in load_rules(market):
                for stage in ("ind", "marketing"):
                    seen[rule["id"]].add(evaluate_rule(model, rule, stage).status)
    return seen


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    return _all_verdicts(tmp_path_factory)


# Verdicts no example (nor its hollowed or stripped copy) takes: each is shown by the test named.
NEVER_MET = {"core.stability-primary-long-term": "test_gap_rules.py::test_count_at_least_met_then_one_result_row_less",
             "eu.third-country-biological-gmp": "test_third_country_biological_site_met_with_eea_evidence",
             "uk.qp-declaration-signatory": "test_uk_qp_declaration_from_the_eu_when_the_eea_qp_certifies"}
NEVER_MISSING = {"cn.associated-review-no-biological": "test_biological_substance_in_associated_review_is_missing",
                 "uk.irp-recognition": "test_irp_recognition_a_with_a_criterion_that_sends_it_to_b",
                 "core.stability-primary-long-term-biotech": "test_gap_rules.py::test_one_primary_batch_less_moves_only_the_stability_rule",
                 "uk.batch-release-mia": "test_uk_release_site_without_a_licence",
                 "uk.rpi-importer": "test_eea_certified_batches_need_an_rpi_importer"}
NEVER_MET["uk.rpi-importer"] = "test_eea_certified_batches_need_an_rpi_importer"
# The stability claims checked against the data (shelflife.py): the examples' claims are supported.
NEVER_MISSING.update({
    "core.in-use-claim-study": "test_shelflife.py::test_light_and_in_use_claims_need_a_study_that_covers_them",
    "core.light-claim-photostability": "test_shelflife.py::test_light_claim_of_a_tablet_needs_a_photostability_study",
    "core.release-matches-time-zero": "test_shelflife.py::test_release_and_time_zero_results_must_agree",
    "core.shelf-life-justified": "test_shelflife.py::test_a_justified_over_claim_is_advisory_not_blocking",
    "core.stability-oos": "test_shelflife.py::test_an_oos_and_an_oot_result_are_flagged"})
# The specification criteria (specchecks.py), shown on the minimal case with batches added.
NEVER_MISSING["core.shelf-life-criteria-justified"] = \
    "test_spec_criteria.py::test_a_wider_shelf_life_criterion_without_a_justification_is_missing_then_met"
NEVER_MET["core.limits-within-batch-experience"] = "test_spec_criteria.py::test_limits_within_three_batches_experience_are_met"
NEVER_MET["core.light-claim-photostability-biotech"] = "test_shelflife.py::test_light_claims_of_the_antibody_met_with_light_exposure_data"
NEVER_MET["core.light-claim-photostability"] = "test_shelflife.py::test_light_claim_of_a_tablet_needs_a_photostability_study"
NEVER_MET.update({rule: "test_literature.py::test_the_copies_rule_is_met_when_every_publication_has_its_copy"
                  for rule in ("core.literature-copies", "core.literature-copies-ind")})  # no copies in the examples
# Roles (an ADC's intermediates): shown on the ADC example and copies of it in test_role_rules.py.
NEVER_MET.update({"core.retest-period-intermediate": "test_role_rules.py::test_the_drug_linker_needs_a_retest_period_or_a_justified_shelf_life",
                  "uk.qp-declaration-per-substance": "test_role_rules.py::test_uk_qp_declaration_by_the_uk_qp_is_met_and_printed"})
NEVER_MISSING.update({"core.retest-period-intermediate": "test_role_rules.py::test_the_drug_linker_needs_a_retest_period_or_a_justified_shelf_life",
                      "uk.qp-declaration-per-substance": "test_role_rules.py::test_uk_without_any_declaration_is_missing_not_met"})
# Light exposure of photostability studies (ICH Q1B §1.C): neither example nor its copies has a photostability study.
NEVER_MET.update({"core.photostability-exposure": "test_shelflife.py::test_a_confirmatory_photostability_study_reaches_the_q1b_exposure",
                  "core.photostability-exposure-biotech": "test_shelflife.py::test_the_adc_photostability_studies_reach_the_q1b_exposure"})
NEVER_MISSING.update({"core.photostability-exposure": "test_shelflife.py::test_a_confirmatory_photostability_study_reaches_the_q1b_exposure",
                      "core.photostability-exposure-biotech": "test_shelflife.py::test_the_adc_photostability_studies_reach_the_q1b_exposure"})
NEVER_MISSING["core.data-literature"] = "test_literature.py::test_a_guideline_with_a_file_and_a_copy_that_is_no_pdf_are_located_errors"
# Conjugates and bispecifics: the ADC example and the bispecific case are not among the sources above.
NEVER_MET.update({"core.data-conjugation": "test_conjugate.py::test_the_conjugation_rules_are_met_then_missing",
                  "core.data-bispecific": "test_bispecific.py::test_the_bispecific_rule_is_met_missing_and_na"})
NEVER_MISSING.update({"core.data-conjugation": "test_conjugate.py::test_the_conjugation_rules_are_met_then_missing",
                      "core.data-impurity-control": "test_conjugate.py::test_the_conjugation_rules_are_met_then_missing",
                      "core.data-bispecific": "test_bispecific.py::test_the_bispecific_rule_is_met_missing_and_na"})
NEVER_MET.update({rule: "test_supplied.py::test_every_supplied_document_rule_is_met_by_its_entry"
                  for rule in ALL_RULES if ".supplied-" in rule})  # the examples hold no signed forms


# The semantic rules (rules/) fail on the bad-input cases of tests/cases/ (each also a validate golden).
FAILING_CASE = {"core.data-references": "unknown-batch", "core.data-composition": "composition-strength",
                "core.data-result-tests": "result-test-not-in-version", "core.data-result-limits": "out-of-specification",
                "core.data-time-points": "stability-time-points", "core.data-identifiers": "identifiers",
                "core.data-dates": "dates", "core.data-units": "unknown-unit", "core.data-narratives": "raw-markup",
                "core.data-files": "figure-outside", "core.data-limit-texts": "limit-text-mismatch",
                "core.data-supplied": "supplied-heading", "core.data-genealogy": "genealogy",
                "core.data-patient-lots": "patient-lots"}


@pytest.mark.parametrize("rule_id", sorted(FAILING_CASE))
def test_semantic_rules_are_verdicts_of_the_same_engine(rule_id, tmp_path):
    """validate's rules give verdicts like the gap rules: met on the examples, MISSING on the case
    that breaks them, with validate's own message at the same place."""
    from dossiergen.validate import validate_dossier

    scoped = "when_empty" in ALL_RULES[rule_id]  # a rule about some lots only is n/a without them (test_patient_lots.py)
    assert evaluate_rule(_model(TABLETS), ALL_RULES[rule_id], "ind").status == ("n/a" if rule_id == "core.data-patient-lots" else "met")
    assert scoped == (rule_id in ("core.data-genealogy", "core.data-patient-lots"))
    source = materialise_case(FAILING_CASE[rule_id], tmp_path)
    model = _model(source)
    verdict = evaluate_rule(model, ALL_RULES[rule_id], "ind")
    assert verdict.status == "missing", verdict.reason
    reported = {(str(p.location), p.message) for p in validate_dossier(load_dossier(source, label="dossier"))}
    assert {(str(g.location), g.detail) for g in verdict.gaps} <= reported


@pytest.mark.parametrize("rule_id", sorted(ALL_RULES))
def test_every_rule_is_met_missing_and_na_somewhere(rule_id, verdicts):
    """Each rule takes each verdict on some real data: it can pass, it can fail, it can not apply."""
    found, rule = verdicts[rule_id], ALL_RULES[rule_id]
    if rule_id in FAILING_CASE or rule_id == "core.data-proper-name":
        return  # test_semantic_rules_are_verdicts_of_the_same_engine, test_proper_name_written_twice
    assert "missing" in found or rule_id in NEVER_MISSING, f"{rule_id} never fails on the examples or their copies"
    scoped = len(rule.get("stages", ["ind", "marketing"])) < 2 or rule.get("applies_when") or rule.get("molecule_types")
    assert "n/a" in found or not scoped, f"{rule_id} is never n/a"
    assert "met" in found or rule_id in NEVER_MET, f"{rule_id} is never met"


def test_removing_the_eu_market_file_leaves_no_eu_rule_met(tmp_path):
    """The issue's example: without markets/eu.yaml, the QP declaration rules and the others say MISSING."""
    source = tmp_path / "dossier"
    shutil.copytree(ANTIBODY, source)
    (source / "markets" / "eu.yaml").unlink()
    model = _model(source)
    for rule in (r for r in load_rules("eu") if "marketing" in r.get("stages", ["marketing"])):
        verdict = evaluate_rule(model, rule, "marketing")
        if rule["id"].startswith("eu.") and any(k == "market-eu" for k in json.dumps(rule["check"]).split('"')):
            assert verdict.status == "missing", (rule["id"], verdict.reason)


def test_uk_batch_release_mia_is_not_applicable_without_a_uk_release_site():
    """uk.batch-release-mia was 'met' for the tablet although no UK release site exists: now n/a, with why."""
    verdict = evaluate_rule(_model(TABLETS), ALL_RULES["uk.batch-release-mia"], "ind")
    assert verdict.status == "n/a" and "no batch is certified at a UK site" in verdict.reason


def test_irp_recognition_a_with_a_criterion_that_sends_it_to_b(tmp_path):
    source = tmp_path / "dossier"
    shutil.copytree(ANTIBODY, source)
    rule = ALL_RULES["uk.irp-recognition"]
    assert evaluate_rule(_model(source), rule, "marketing").status == "met"
    apply_edits(source, [{"file": "markets/uk.yaml", "find": "recognition_b_triggers: []",
                          "replace": "recognition_b_triggers: [single-arm-pivotal]"}])
    verdict = evaluate_rule(_model(source), rule, "marketing")
    assert verdict.status == "missing"
    assert "Recognition A is claimed but Recognition B applies: The pivotal clinical data are from single-arm studies" \
        in verdict.gaps[0].detail
    apply_edits(source, [{"file": "markets/uk.yaml", "find": "  recognition_b_triggers: [single-arm-pivotal]\n", "replace": ""}])
    assert "not assessed" in evaluate_rule(_model(source), rule, "marketing").gaps[0].detail


def test_china_domestic_agent_for_an_overseas_applicant(tmp_path):
    source = materialise_case("minimal", tmp_path)
    rule = ALL_RULES["cn.domestic-agent"]
    model = _model(source)
    sponsor_country = model.single("application")["sponsor"]["address"]["country"]
    verdict = evaluate_rule(model, rule, "ind")
    assert (verdict.status == "n/a") == (sponsor_country == "CN")
    tablets = evaluate_rule(_model(TABLETS), rule, "ind")
    assert tablets.status == "met"  # a US sponsor with a Shanghai agent


def test_readiness_matrix_equals_the_gap_reports(tmp_path):
    """For both examples and both stages: each rule's verdict per market in readiness.json is the
    verdict in that market's gaps.json, and the gaps are the same."""
    for folder in (ANTIBODY, TABLETS):
        for stage in ("ind", "marketing"):
            out = tmp_path / folder.name / stage
            run = run_cli("gaps", "--dossier", str(folder), "--stage", stage, "--out", str(out))
            assert run.exit_code == 0, run.stderr
            matrix = json.loads((out / "readiness" / stage / "readiness.json").read_text("utf-8"))
            for market in matrix["markets"]:
                report = json.loads((out / market / stage / "gaps.json").read_text("utf-8"))
                assert {v["rule"]: v["status"] for v in report["verdicts"]} == \
                    {r["id"]: r["status"][market] for r in matrix["rules"] if r["status"][market] is not None}
                assert report["gaps"] == matrix["gaps"][market]
                assert matrix["summary"][market]["blocking"] == report["blocking"]


def test_strict_gives_the_same_exit_code_cold_and_warm(tmp_path):
    source = materialise_case("minimal", tmp_path)
    args = ("build", "--dossier", str(source), "--market", "us", "--out", str(tmp_path / "b"), "--strict")
    cold, warm = run_cli(*args), run_cli(*args)
    assert cold.exit_code == warm.exit_code == 3
    assert "up to date" in warm.stderr
    count = [line for line in cold.stderr.splitlines() if line.endswith(" s") and "warning(s)" in line]
    assert count and count[0].split(" warning")[0] == \
        [line for line in warm.stderr.splitlines() if "warning(s)" in line][0].split(" warning")[0]


def test_a_mismatched_limit_text_is_a_located_error(tmp_path):
    """The limit says 96.0 %, its text still 95.0 %: a located error, not two facts that disagree."""
    source = materialise_case("minimal", tmp_path)
    apply_edits(source, [{"file": "specifications/spec-dp.yaml", "find": "limit: {low: 95.0, high: 105.0",
                          "replace": "limit: {low: 96.0, high: 105.0"}])
    run = run_cli("validate", "--dossier", str(source))
    assert run.exit_code == 1
    assert (f"{source}/specifications/spec-dp.yaml:19:24: error: $.tests[1].acceptance.text: test 'assay': the criterion "
            "'95.0–105.0 % of label claim' disagrees with its structured limit: the text gives 95, 105 but the limit "
            "says 96, 105 [spec.limit_text_mismatch]") in run.stderr


def test_market_all_means_the_target_markets(tmp_path):
    source = materialise_case("minimal", tmp_path)  # targets the US and China
    run = run_cli("build", "--dossier", str(source), "--market", "all", "--out", str(tmp_path / "b"))
    assert run.exit_code == 0, run.stderr
    assert sorted(p.name for p in (tmp_path / "b").iterdir() if not p.name.startswith(".")) == ["cn", "neutral", "us"]


def test_tablet_ind_gets_form_1571_and_no_eaf():
    from dossiergen.build import render_folder

    us = {r.document.path for r in render_folder(TABLETS, "us", "ind", "1.")}
    assert "working/form-fda-1571-data" in us and not any("356h" in p for p in us)  # a working document
    eu = {r.document.path for r in render_folder(TABLETS, "eu", "ind", "1.")}
    assert not any("eaf" in p for p in eu)
    marketing = {r.document.path for r in render_folder(ANTIBODY, "eu", "marketing", "1.")}
    assert any("eaf" in p for p in marketing)


def _site_rule(tmp_path, edits, rule_id, stage="marketing"):
    source = tmp_path / "dossier"
    shutil.copytree(ANTIBODY, source)
    apply_edits(source, edits)
    return evaluate_rule(_model(source), ALL_RULES[rule_id], stage)


def test_third_country_biological_site_met_with_eea_evidence(tmp_path):
    """An NMPA inspection and licence are not EU GMP evidence; an EEA inspection of the same site is."""
    assert evaluate_rule(_model(ANTIBODY), ALL_RULES["eu.third-country-biological-gmp"], "marketing").status == "missing"
    verdict = _site_rule(tmp_path, [{"file": "sites.yaml", "find": "    gmp_evidence:\n      - authority: Jiangsu",
                                     "replace": "    gmp_evidence:\n      - {authority: Irish HPRA, authority_country: IE, type: inspection, "
                                                "date: \"2026-03-02\"}\n      - authority: Jiangsu"}],
                         "eu.third-country-biological-gmp")
    assert verdict.status == "met"


def test_uk_qp_declaration_from_the_eu_when_the_eea_qp_certifies(tmp_path):
    verdict = _site_rule(tmp_path, [{"file": "markets/uk.yaml", "find": "batch_release_site: site-thamesgate-uk",
                                     "replace": "batch_release_site: site-auenwald-de"}], "uk.qp-declaration-signatory")
    assert verdict.status == "met"


def test_biological_substance_in_associated_review_is_missing(tmp_path):
    verdict = _site_rule(tmp_path, [{"file": "markets/cn.yaml", "find": "associated_review:\n",
                                     "replace": "associated_review:\n  - {material: ds-ordesimab-sz, kind: api, submitted_with_application: true}\n"}],
                         "cn.associated-review-no-biological")
    assert verdict.status == "missing" and "'ds-ordesimab-sz' is not a chemical drug substance" in verdict.gaps[0].detail


def test_uk_release_site_without_a_licence(tmp_path):
    source = tmp_path / "dossier"
    shutil.copytree(ANTIBODY, source)
    text = (source / "sites.yaml").read_text("utf-8")
    start = text.index("  - id: site-thamesgate-uk")
    block = text[start:]
    line = next(row for row in block.splitlines() if "uk_mia" in row)
    (source / "sites.yaml").write_text(text[:start] + block.replace(line + "\n", "", 1), "utf-8")
    verdict = evaluate_rule(_model(source), ALL_RULES["uk.batch-release-mia"], "marketing")
    assert verdict.status == "missing" and verdict.gaps[0].detail == "'site-thamesgate-uk' has no identifiers.uk_mia"


def test_eea_certified_batches_need_an_rpi_importer(tmp_path):
    """Batches QP-certified in the EEA come into Great Britain through a wholesaler's RPi (HMRs reg. 45AA)."""
    edits = [{"file": "markets/uk.yaml", "find": "batch_release_site: site-thamesgate-uk",
              "replace": "batch_release_site: site-auenwald-de"}]
    assert _site_rule(tmp_path / "a", edits, "uk.rpi-importer").status == "met"
    edits.append({"file": "markets/uk.yaml", "find": "importer_site: site-thamesgate-uk\n", "replace": ""})
    verdict = _site_rule(tmp_path / "b", edits, "uk.rpi-importer")
    assert verdict.status == "missing" and verdict.gaps[0].detail == "importer_site is not given"


def test_gaps_without_target_markets_is_a_located_error(tmp_path):
    source = materialise_case("minimal", tmp_path)
    text = (source / "application.yaml").read_text("utf-8")
    start = text.index("markets:")
    end = text.index("\n", text.index("{market: cn"))
    (source / "application.yaml").write_text(text[:start] + text[end + 1:], "utf-8")
    run = run_cli("gaps", "--dossier", str(source), "--out", str(tmp_path / "g"))
    assert run.exit_code == 1 and not (tmp_path / "g").exists()
    assert "application.yaml:2:1: error: $: missing required property 'markets'" in run.stderr


def test_imp_gmp_equivalence_not_needed_for_an_imp_authorised_in_an_ich_country(tmp_path):
    source = tmp_path / "dossier"
    shutil.copytree(TABLETS, source)
    rule = ALL_RULES["eu.imp-gmp-equivalence"]
    assert evaluate_rule(_model(source), rule, "ind").status == "met"  # Suzhou site covered by the QP's declaration
    apply_edits(source, [{"file": "markets/eu.yaml", "find": "imp_gmp_declarations:\n  - site: kangsheng-suzhou\n",
                          "replace": "imp_gmp_declarations:\n  - site: somewhere-else\n"}])
    assert evaluate_rule(_model(source), rule, "ind").status == "missing"
    apply_edits(source, [{"file": "markets/eu.yaml", "append": "imp_authorised_in: [US]\n"}])
    verdict = evaluate_rule(_model(source), rule, "ind")
    assert verdict.status == "n/a" and "authorised in the Union or an ICH country" in verdict.reason


def test_proper_name_written_twice_disagrees(tmp_path):
    assert evaluate_rule(_model(ANTIBODY), ALL_RULES["core.data-proper-name"], "marketing").status == "met"
    verdict = _site_rule(tmp_path, [{"file": "markets/us.yaml", "find": "  application_type: BLA\n",
                                     "replace": "  application_type: BLA\n  established_name: ordesimab-abcd\n"}],
                         "core.data-proper-name")
    assert verdict.status == "missing"
    assert verdict.gaps[0].detail == "the 356h established name 'ordesimab-abcd' differs from the proper name 'ordesimab-lmzt' of 3.2.S.1.1"
