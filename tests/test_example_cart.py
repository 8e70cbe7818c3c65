"""The autologous CAR-T example (examples/qirocabtagene-autoleucel): a lentiviral vector with its own
3.2.S, cells that are never stored, patient lots with their dispositions, storage in liquid-nitrogen
vapour and post-thaw stability in hours, 3.2.A.2 without viral clearance, an IND for the US, EU and
China with one processing site for the US and EU lots and another for China's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT
from dossiergen.build import build_dossier, render_folder, validate_folder
from dossiergen.gaps import assess
from dossiergen.load import load_dossier
from dossiergen.markets import expand_markets
from dossiergen.model import build_model
from dossiergen.regional import DATA

SOURCE = ROOT / "examples" / "qirocabtagene-autoleucel"


@pytest.fixture(scope="module")
def us_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cart")
    build_dossier(SOURCE, "us", "ind", out, final=False)
    return out / "us" / "ind"


@pytest.fixture(scope="module")
def model():
    return build_model(load_dossier(SOURCE))


def _md(section: str, market: str = "neutral", contains: str | None = None) -> str:
    found = [r.markdown for r in render_folder(SOURCE, market, "ind", section) if contains is None or contains in r.markdown]
    assert found, section
    return found[0]


def test_example_validates_without_errors_or_warnings():
    assert [p.format() for p in validate_folder(SOURCE)] == []


def test_all_markets_are_the_application_targets_without_the_uk(model):
    assert expand_markets(("all",), model.single("application"), neutral=True) == ("neutral", "us", "eu", "cn")


def test_us_ind_gets_the_form_1571_data_and_no_356h(us_build):
    names = {e["id"] for e in json.loads((us_build / "manifest.json").read_text("utf-8"))["documents"]}
    assert any("1571" in n for n in names) and not any("356h" in n for n in names)


def test_post_thaw_stability_is_in_hours_and_storage_in_nitrogen_vapour():
    data = _md("3.2.P.8.3")
    assert "| Test | Acceptance criterion | 0 h | 1 h | 2 h | 3 h | 4 h |" in data
    assert "≤ −150 °C" in data and "−70 ± 10 °C" not in data
    summary = _md("3.2.P.8.1")
    assert "After thawing, infuse within 3 hours" in summary


def test_cells_never_stored_have_no_shelf_life_and_say_why():
    for section in ("3.2.S.7.1", "3.2.S.7.3"):
        text = _md(section, contains="Qirocabtagene autoleucel (CAR-T cells)")
        assert "Not applicable: The harvested cells are formulated with the cryoprotectant within 2 hours" in text
        assert "[missing" not in text


def test_patient_lot_dispositions_and_results_pending_at_release():
    text = _md("3.2.P.5.4")
    exceptional = next(line for line in text.splitlines() if line.startswith("| HL19-US-25003 |") and "COI" in line)
    assert "Released under exceptional circumstances, Viability 66 % (criterion ≥ 70 %)" in exceptional
    released = next(line for line in text.splitlines() if line.startswith("| HL19-EU-25002 |") and "COI" in line)
    assert "Sterility (14 days)" in released and "Replication-competent lentivirus (co-culture)" in released
    assert "Engineering run" in text or "engineering run" in text
    sterility = [line for line in text.splitlines() if line.startswith("| Sterility (14 days) |")]
    assert any("| Pending |" in line for line in sterility)  # HL19-EU-25002: still outstanding
    assert any("No growth (14 days) (after release)" in line for line in sterility)
    assert "(after release) The result was not available when the lot was released" in text
    cells = _md("3.2.S.4.4", contains="HL19-US-25004-C")
    failed = next(line for line in cells.splitlines() if line.startswith("| HL19-US-25004-C |") and "COI" in line)
    assert "Failed manufacture" in failed and "Insufficient expansion: 310 × 10⁶ total viable cells" in failed


def test_vector_structure_is_a_genome_with_titre_in_transducing_units():
    structure = _md("3.2.S.1.2", contains="HL-LV19")
    assert "Viral vector: genome and construct" in structure and "Lentiviral vector" in structure
    assert "5.1\u00a0kb" in structure and "| WPRE (mutated) |" in structure
    assert "Molecular weight" not in structure and "Amino-acid sequence" not in structure
    spec = _md("3.2.S.4.1", contains="HL-LV19")
    assert "≥ 1.0 × 10⁸ TU/mL" in spec
    batches = _md("3.2.S.4.4", contains="LV19-2401")
    assert "×10⁸ TU/mL" in batches


def test_adventitious_agents_for_cells_and_vector_without_viral_clearance():
    text = _md("3.2.A.2")
    assert "21 CFR 1271.90(a)(1)" in text and "Replication-competent virus testing" in text
    assert "| Fetal bovine serum (γ-irradiated) |" in text and "Materials of human or animal origin" in text
    assert "Not applicable: a viral vector and living cells cannot undergo viral inactivation" in text
    assert "Log10 reduction" not in text


def test_cell_and_vector_rules_are_met_and_viral_clearance_not_applicable(model):
    status = {v.id: v.status for v in assess(model, "us", "ind").verdicts}
    assert status["core.replication-competent-virus"] == "met"
    assert status["core.donor-eligibility"] == "met"
    assert status["core.viral-clearance"] == "n/a"
    assert status["core.retest-period-substance"] == "met"  # the vector: the cells are not stored


def test_each_market_lists_only_the_sites_of_its_supply_chain(model):
    us = {e["site"] for e in DATA["form_356h"](model, "ind")["establishments"]}
    assert "site-northcape-pa" in us and "site-hanlu-sz" not in us
    eaf = json.dumps(DATA["eaf"](model, "ind"))
    assert "site-hanlu-sz" not in eaf and "site-northcape-pa" in eaf
    verdicts = {v.id: v for v in assess(model, "cn", "ind").verdicts}
    assert verdicts["cn.overseas-documents"].status == "met"  # Philadelphia, Malvern, Leipzig: US and EU only
    assert "Supplies the markets: US, EU" in _md("3.2.P.3.1")  # the core says which market each site supplies


def test_the_strength_label_is_a_text_printed_in_the_document_language():
    """A strength label with words ('CAR-positive viable T cells/kg') carries its Chinese: the cn 3.2.P.1
    prints it, the English documents keep the English (a plain-string label could not be translated)."""
    cn = _md("3.2.P.1", "cn")
    assert "每千克体重1.0 × 10⁶个CAR阳性活T细胞（按患者计）" in cn and "CAR-positive viable T cells/kg" not in cn
    en = _md("3.2.P.1")
    assert "1.0 × 10⁶ CAR-positive viable T cells/kg (patient-specific)" in en and "按患者计" not in en


def test_a_strength_label_without_chinese_is_counted_untranslated(model, tmp_path):
    """The translation rule ranges over strength labels too: met on the example, MISSING (naming the label)
    on a copy whose label is English only."""
    import shutil

    assert {v.id: v.status for v in assess(model, "cn", "ind").verdicts}["cn.translation-ind"] == "met"
    copy = tmp_path / "cart"
    shutil.copytree(SOURCE, copy)
    product = copy / "products" / "hl19-infusion-bag.yaml"
    text = product.read_text("utf-8")
    english = '"1.0 × 10⁶ CAR-positive viable T cells/kg (patient-specific)"'
    labelled = f'    label: {{en: {english}, zh: "每千克体重1.0 × 10⁶个CAR阳性活T细胞（按患者计）"}}'
    assert labelled in text
    product.write_text(text.replace(labelled, f"    label: {english}"), "utf-8")
    verdict = {v.id: v for v in assess(build_model(load_dossier(copy)), "cn", "ind").verdicts}["cn.translation-ind"]
    assert verdict.status == "missing"
    assert any("CAR-positive viable T cells/kg" in str(g) for g in verdict.gaps)
