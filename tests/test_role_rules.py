"""EU, UK and China rules read substance roles: an ADC's antibody intermediate and drug-linker are not
active substances (Directive 2001/83/EC Art. 1(3a)), so they need no written confirmation and no QP
declaration of their own, but the active substance's declaration lists their sites (EMA/334808/2014
Part A); a UK QP who certifies batches in Great Britain signs the UK declaration; the drug-linker needs
a re-test period (ICH Q1A(R2) principles) and is not a 原料药 in China's associated review. Each rule
is shown met, missing and n/a on the ADC example and copies of it with one fact changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT, apply_edits
from dossiergen.build import render_folder
from dossiergen.gaps import evaluate_rule, load_rules
from dossiergen.load import load_dossier
from dossiergen.model import build_model
from dossiergen.regional import cn

ADC = ROOT / "examples" / "quenatuzumab-vedotin"
RULES = {r["id"]: r for market in ("us", "eu", "uk", "cn") for r in load_rules(market)}


@pytest.fixture(scope="module")
def adc_model():
    return build_model(load_dossier(ADC, label="adc"))


def _copy(tmp_path: Path, *edits) -> Path:
    folder = tmp_path / "adc"
    shutil.copytree(ADC, folder)
    apply_edits(folder, list(edits))
    return folder


def _verdict(source, rule_id: str, stage: str = "marketing"):
    model = source if not isinstance(source, Path) else build_model(load_dossier(source, label="adc"))
    return evaluate_rule(model, RULES[rule_id], stage)


def _details(verdict) -> list[str]:
    return [g.detail for g in verdict.gaps]


# EU written confirmation: the conjugate's site, not the drug-linker's ---------------------------------
def test_written_confirmation_is_met_for_the_conjugate_site_and_not_asked_of_the_drug_linker_site(adc_model, tmp_path):
    verdict = _verdict(adc_model, "eu.written-confirmation")
    assert verdict.status == "met" and verdict.reason.startswith("all 1 active substance sites")
    no_confirmation = _copy(tmp_path, {"file": "markets/eu.yaml", "find": "  - site: site-qiantang-hz\n    authority: National",
                                       "replace": "  - site: site-meridian-us\n    authority: National"})
    verdict = _verdict(no_confirmation, "eu.written-confirmation")
    # only the site making the conjugate (the active substance) is asked for; the drug-linker CDMO in China is not
    assert verdict.status == "missing" and _details(verdict) == [
        "'site-qiantang-hz' is not covered by the written confirmations (markets/eu.yaml)"]


def test_written_confirmation_is_na_when_a_chinese_site_makes_only_intermediates(tmp_path):
    # the conjugate made in the EEA (Auenwald): the antibody and drug-linker sites in China need none
    moved = _copy(tmp_path, {"file": "sites.yaml", "find": "subjects: [ds-quenatuzumab-mab, ds-quenatuzumab-vedotin]\n        operations:\n          en: \"Antibody",
                             "replace": "subjects: [ds-quenatuzumab-mab]\n        operations:\n          en: \"Antibody"})
    verdict = _verdict(moved, "eu.written-confirmation")
    assert verdict.status == "n/a" and "only an intermediate" in verdict.reason


def test_a_manufacturing_role_without_subjects_counts_as_making_the_active_substance(tmp_path):
    unnamed = _copy(tmp_path, {"file": "sites.yaml", "find": "      - role: drug_substance_manufacture\n        subjects: [ds-vedotin-linker]\n",
                               "replace": "      - role: drug_substance_manufacture\n"})
    verdict = _verdict(unnamed, "eu.written-confirmation")
    assert verdict.status == "missing" and _details(verdict) == [
        "'site-lianyun-cz' is not covered by the written confirmations (markets/eu.yaml)"]


# EU QP declarations: one per active substance, Part A with the intermediates' sites ------------------
def test_one_qp_declaration_on_the_conjugate_covers_the_adc(adc_model):
    per_substance = _verdict(adc_model, "eu.qp-declaration-per-substance")
    assert per_substance.status == "met" and per_substance.reason.startswith("all 1 active substances")
    sites = _verdict(adc_model, "eu.qp-declaration-sites")
    assert sites.status == "met" and sites.reason.startswith("all 2 sites making an active substance or its intermediates")


def test_a_declaration_on_an_intermediate_leaves_the_active_substance_undeclared(tmp_path):
    wrong = _copy(tmp_path, {"file": "markets/eu.yaml", "find": "    substance: ds-quenatuzumab-vedotin",
                             "replace": "    substance: ds-vedotin-linker"})
    verdict = _verdict(wrong, "eu.qp-declaration-per-substance")
    assert verdict.status == "missing" and _details(verdict) == [
        "'ds-quenatuzumab-vedotin' is not covered by the QP declarations (markets/eu.yaml)"]
    # and no declaration on an active substance: nothing lists the sites (never met on an empty set)
    sites = _verdict(wrong, "eu.qp-declaration-sites")
    assert sites.status == "missing" and sites.gaps and "no QP declaration on an active substance" in sites.reason


def test_part_a_without_the_drug_linker_site_names_it(tmp_path):
    drop = _copy(tmp_path, {"file": "markets/eu.yaml",
                            "find": "      - site: site-lianyun-cz\n        operations: Manufacture and quality control testing of the drug-linker intermediate (mc-vc-PABC-MMAE)\n",
                            "replace": ""})
    verdict = _verdict(drop, "eu.qp-declaration-sites")
    assert verdict.status == "missing" and _details(verdict) == [
        "the declaration 'QPD-QTB311-AS-2026-01' on ds-quenatuzumab-vedotin does not list site-lianyun-cz in Part A "
        "(which makes the intermediate ds-vedotin-linker)"]
    assert verdict.gaps[0].location.file.endswith("markets/eu.yaml")


# UK: the UK QP's own declaration -------------------------------------------------------------------
def test_uk_qp_declaration_by_the_uk_qp_is_met_and_printed(adc_model, tmp_path):
    assert _verdict(adc_model, "uk.qp-declaration-signatory").status == "met"
    assert _verdict(adc_model, "uk.qp-declaration-per-substance").status == "met"
    [document] = [r for r in render_folder(ADC, "uk", "marketing", "1.2") if "qp-declaration" in r.document.path]
    assert "made by the QP of the UK manufacturing authorisation holder" in document.markdown
    assert "Dr. Eleanor Whitcombe" in document.markdown and "MIA 41872" in document.markdown
    assert "Dr. Katharina Weiß" not in document.markdown  # not the EEA QP's declaration
    assert "regulation 37(3)(a) of the Human Medicines Regulations 2012" in document.markdown  # UK law
    assert "Directive 2001/83/EC" not in document.markdown
    assert document.missing == ()
    [eu] = [r for r in render_folder(ADC, "eu", "marketing", "1.2") if "qp-declaration" in r.document.path]
    assert "Article 46(f) of Directive 2001/83/EC" in eu.markdown and "Human Medicines Regulations" not in eu.markdown


def test_uk_declaration_signed_by_another_sites_qp_is_missing(tmp_path):
    other = _copy(tmp_path, {"file": "markets/uk.yaml", "find": "      name: Dr. Eleanor Whitcombe\n      site: site-thamesgate-uk",
                             "replace": "      name: Dr. Eleanor Whitcombe\n      site: site-auenwald-de"})
    verdict = _verdict(other, "uk.qp-declaration-signatory")
    assert verdict.status == "missing" and _details(verdict) == [
        "the declaration 'QPD-QTB311-UK-2026-01' is signed by the QP of site-auenwald-de, not of the UK batch-release "
        "site site-thamesgate-uk"]


def test_uk_reusing_the_eu_declaration_with_a_uk_release_site_is_missing_then_met_in_the_eea(tmp_path):
    reuse = _copy(tmp_path, {"file": "markets/uk.yaml", "find": "qp_declaration_from_eu: false", "replace": "qp_declaration_from_eu: true"})
    verdict = _verdict(reuse, "uk.qp-declaration-signatory")
    assert verdict.status == "missing" and "site-thamesgate-uk is in GB, not in the EEA" in _details(verdict)[0]
    assert verdict.gaps[0].location.line == _line(reuse / "markets" / "uk.yaml", "qp_declaration_from_eu:")
    # the UK's own declarations are then not used: their rule does not apply... unless they exist; here they do
    apply_edits(reuse, [{"file": "markets/uk.yaml", "find": "batch_release_site: site-thamesgate-uk",
                         "replace": "batch_release_site: site-auenwald-de"}])
    assert _verdict(reuse, "uk.qp-declaration-signatory").status == "met"


def test_uk_without_any_declaration_is_missing_not_met(tmp_path):
    text = (ADC / "markets" / "uk.yaml").read_text("utf-8")
    start = text.index("# Batches for Great Britain")
    end = text.index("ectd:")
    none = _copy(tmp_path, {"file": "markets/uk.yaml", "find": text[start:end], "replace": ""})
    verdict = _verdict(none, "uk.qp-declaration-signatory")
    assert verdict.status == "missing" and "the UK QP's own declarations" in verdict.reason
    assert _verdict(none, "uk.qp-declaration-per-substance").status == "n/a"
    drop = _copy(tmp_path / "b", {"file": "markets/uk.yaml",
                                  "find": "      - site: site-lianyun-cz\n        operations: Manufacture and quality control testing of the drug-linker intermediate (mc-vc-PABC-MMAE)\n",
                                  "replace": ""})
    verdict = _verdict(drop, "uk.qp-declaration-per-substance")
    assert verdict.status == "missing" and "does not list site-lianyun-cz in Part A" in _details(verdict)[0]


def _line(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text("utf-8").splitlines(), 1) if line.startswith(text))


# The drug-linker's re-test period -----------------------------------------------------------------
def test_the_drug_linker_needs_a_retest_period_or_a_justified_shelf_life(adc_model, tmp_path):
    assert _verdict(adc_model, "core.retest-period-intermediate").status == "met"
    shelf = _copy(tmp_path, {"file": "stability.yaml", "find": "  - subject: ds-vedotin-linker\n    kind: retest_period",
                             "replace": "  - subject: ds-vedotin-linker\n    kind: shelf_life"})
    verdict = _verdict(shelf, "core.retest-period-intermediate")
    assert verdict.status == "missing" and _details(verdict) == [
        "'ds-vedotin-linker' has no re-test period or justified shelf life among the stability claims (stability.yaml); it has shelf life"]
    apply_edits(shelf, [{"file": "stability.yaml", "find": "  - subject: ds-vedotin-linker\n    kind: shelf_life\n",
                         "replace": "  - subject: ds-vedotin-linker\n    kind: shelf_life\n    justification:\n      reason: {en: The maleimide hydrolyses on storage; lots are not retested.}\n      guideline: ICH Q1A(R2) Glossary\n"}])
    assert _verdict(shelf, "core.retest-period-intermediate").status == "met"


def test_no_drug_linker_no_retest_rule():
    antibody = build_model(load_dossier(ROOT / "dossier"))
    assert _verdict(antibody, "core.retest-period-intermediate").status == "n/a"


# China: the drug-linker is not a 原料药 of the associated review ---------------------------------------
def test_china_associated_review_leaves_the_drug_linker_out(adc_model, tmp_path):
    assert _verdict(adc_model, "cn.associated-review-api").status == "n/a"  # no chemical active substance
    rows = cn.associated_review_data(adc_model, "marketing")["materials"]
    assert "ds-vedotin-linker" not in [r["material"] for r in rows]
    listed = _copy(tmp_path, {"file": "markets/cn.yaml", "find": "  - material: cc-dp-vial\n",
                              "replace": "  - material: ds-vedotin-linker\n    kind: api\n    submitted_with_application: true\n  - material: cc-dp-vial\n"})
    verdict = _verdict(listed, "cn.associated-review-no-biological")
    assert verdict.status == "missing" and _details(verdict) == [
        "'ds-vedotin-linker' is not a chemical drug substance (not a biological drug substance or an intermediate)"]
    model = build_model(load_dossier(listed, label="adc"))
    [row] = [r for r in cn.associated_review_data(model, "marketing")["materials"] if r["material"] == "ds-vedotin-linker"]
    assert row["category"] == "药物-连接子中间体"  # said as what it is, never 原料药 or 原液


def test_cell_processing_sites_of_the_markets_supply_chain_are_in_part_a(tmp_path):
    """Cells: the processing sites are the active substance's sites; only those that supply the EU
    (sites.yaml roles[].markets) belong in the EU declaration (the China-only site does not)."""
    cart = ROOT / "examples" / "qirocabtagene-autoleucel"
    verdict = _verdict(build_model(load_dossier(cart, label="cart")), "eu.qp-declaration-sites")
    assert verdict.status == "met" and verdict.reason.startswith("all 1 sites")
    folder = tmp_path / "cart"
    shutil.copytree(cart, folder)
    text = (folder / "markets" / "eu.yaml").read_text("utf-8")
    start = text.index("      - site: site-northcape-pa\n")
    end = text.index("      - site:", start + 10)
    apply_edits(folder, [{"file": "markets/eu.yaml", "find": text[start:end], "replace": ""}])
    verdict = _verdict(folder, "eu.qp-declaration-sites")
    assert verdict.status == "missing" and _details(verdict) == [
        "the declaration 'QPD-HL19-2026-001' on cells-hl19 does not list site-northcape-pa in Part A (which makes it)"]
