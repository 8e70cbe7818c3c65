"""Gap rules of the ICH core pack and the China pack: every check kind met and unmet on the minimal case,
the findings on both examples, and what one primary stability batch less changes."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, apply_edits, run_cli
from dossiergen.gaps import assess, find_gaps
from dossiergen.load import load_dossier
from dossiergen.model import build_model
from dossiergen.markets import REGIONS as MARKETS
from dossiergen.reports import build_matrix


def _matrix(model, stage: str):
    return build_matrix({m: assess(model, m, stage) for m in MARKETS}, stage)


def _model(folder: Path):
    return build_model(load_dossier(folder, label="dossier"))


def _gaps(folder: Path, market: str, stage: str, rule: str | None = None) -> list:
    return [g for g in find_gaps(_model(folder), market, stage) if rule is None or g.rule == rule]


def _places(gaps: list) -> list[tuple[str, int]]:
    """(file inside the dossier folder, line) of each gap, sorted."""
    return sorted((g.location.file.removeprefix("dossier/"), g.location.line) for g in gaps)


def _line_of(path: Path, text: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line of a file that contains text."""
    hits = [i for i, line in enumerate(path.read_text("utf-8").splitlines(), 1) if text in line]
    return hits[occurrence - 1]


# exists --------------------------------------------------------------------------------------------
def test_exists_unmet_points_at_the_envelope(minimal):
    gaps = _gaps(minimal, "cn", "ind", "cn.envelope-sequence-description")
    assert _places(gaps) == [("markets/cn.yaml", 3)]
    assert gaps[0].detail == "envelope.sequence_description is not given" and gaps[0].severity == "blocking"


def test_exists_met_once_the_description_is_given(minimal):
    apply_edits(minimal, [{"file": "markets/cn.yaml", "find": "regulatory_activity: cnrat1}",
                           "replace": "regulatory_activity: cnrat1, sequence_description: 米尼他滨片临床试验申请首次提交}"}])
    assert _gaps(minimal, "cn", "ind", "cn.envelope-sequence-description") == []


def test_exists_without_the_market_file_names_the_file(minimal):
    apply_edits(minimal, [{"file": "markets/cn.yaml", "delete": True}])
    gaps = _gaps(minimal, "cn", "ind", "cn.envelope")
    assert [(str(g.location), g.detail) for g in gaps] == [
        ("dossier/markets/cn.yaml", "there is no markets/cn.yaml, so envelope.application_type is not given")]


def test_biotech_rules_apply_only_to_biotech_molecules(minimal):
    """A small molecule needs no cell bank testing; the same data as an antibody lacks it (A.2 marked n/a)."""
    assert not {g.rule for g in _gaps(minimal, "us", "ind")} & {"core.cell-bank-testing", "core.viral-clearance",
                                                                 "core.cell-line-history"}
    apply_edits(minimal, [{"file": "application.yaml", "find": "molecule_type: small_molecule",
                           "replace": "molecule_type: monoclonal_antibody"}])
    gaps = _gaps(minimal, "us", "ind")
    assert _places([g for g in gaps if g.rule == "core.cell-bank-testing"]) == [("appendices.yaml", 3)]
    assert _places([g for g in gaps if g.rule == "core.viral-clearance"]) == [("appendices.yaml", 3)]
    assert _places([g for g in gaps if g.rule == "core.cell-line-history"]) == [("substances/ds-minitab.yaml", 2)]


# every ---------------------------------------------------------------------------------------------
def test_every_unmet_names_the_method_without_validation(minimal):
    gaps = _gaps(minimal, "us", "ind", "core.method-validation-summary")
    assert _places(gaps) == [("methods.yaml", 14)]
    assert gaps[0].detail == "'m-visual' has no validation.status" and gaps[0].severity == "advisory"


def test_every_met_once_each_method_has_a_summary(minimal):
    apply_edits(minimal, [{"file": "methods.yaml", "find": "under diffuse light.",
                           "replace": "under diffuse light.\n    validation: {status: suitability, characteristics: "
                                      "[{characteristic: specificity, criterion: Distinguishes the tablets, result: Complies}]}"}])
    assert _gaps(minimal, "us", "ind", "core.method-validation-summary") == []


def test_every_letter_of_authorisation(minimal):
    """Registered materials need their letter; materials submitted with the application do not."""
    assert _gaps(minimal, "cn", "ind", "cn.associated-review-loa") == []
    apply_edits(minimal, [{"file": "markets/cn.yaml", "find": ', loa: {reference: LOA-2025-01, date: "2025-01-15"}', "replace": ""},
                          {"file": "markets/cn.yaml", "find": "{material: ds-minitab, kind: api, submitted_with_application: true}",
                           "replace": "{material: ds-minitab, kind: api, submitted_with_application: false}"}])
    gaps = _gaps(minimal, "cn", "ind", "cn.associated-review-loa")
    assert _places(gaps) == [("markets/cn.yaml", 5), ("markets/cn.yaml", 6)]
    assert [g.detail for g in gaps] == ["'ds-minitab' has no registration_number, loa.reference",
                                        "'exc-mcc' has no loa.reference"]


# in_list -------------------------------------------------------------------------------------------
def test_in_list_unmet_for_methods_not_fully_validated(minimal):
    gaps = _gaps(minimal, "us", "marketing", "core.method-validated")
    assert _places(gaps) == [("methods.yaml", 3), ("methods.yaml", 14)]
    assert gaps[0].detail == "'m-hplc': validation.status is qualified, not validated or verified"
    assert gaps[1].detail == "'m-visual': validation.status is not given, not validated or verified"
    assert _gaps(minimal, "us", "ind", "core.method-validated") == []  # marketing only


def test_in_list_met_once_methods_are_validated_or_verified(minimal):
    apply_edits(minimal, [{"file": "methods.yaml", "find": "status: qualified", "replace": "status: validated"},
                          {"file": "methods.yaml", "find": "under diffuse light.",
                           "replace": "under diffuse light.\n    validation: {status: verified, characteristics: "
                                      "[{characteristic: specificity, criterion: Distinguishes the tablets, result: Complies}]}"}])
    assert _gaps(minimal, "us", "marketing", "core.method-validated") == []


@pytest.mark.parametrize("reference, places", [
    ('{ph_eur: "2.2.29", usp: "<621>"}', [("specifications/spec-dp.yaml", 14)]),
    ('{ph_eur: "2.2.29", usp: "<621>", chp: "0512"}', []),
])
def test_in_list_chp_reference_of_compendial_tests(minimal, reference, places):
    """In-house tests need no ChP reference; a test citing Ph. Eur./USP also needs the ChP."""
    assert _gaps(minimal, "cn", "marketing", "cn.chp-reference") == []
    apply_edits(minimal, [{"file": "specifications/spec-dp.yaml", "append": f"    compendial_reference: {reference}\n"}])
    gaps = _gaps(minimal, "cn", "marketing", "cn.chp-reference")
    assert _places(gaps) == places
    assert all(g.detail.startswith("'assay': compendial_reference is ph_eur 2.2.29, usp <621>, not ") for g in gaps)


# recent --------------------------------------------------------------------------------------------
EU_MARKET = """market: eu
procedure: centralised
batch_release_site: site-dp
qp_declarations:
  - reference: QPD-MT-001
    substance: ds-minitab
    sites:
      - {site: site-api, operations: Synthesis and release testing}
    audits:
      - {audited_site: site-api, audit_type: self, date: "AUDIT", on_site: true}
"""


@pytest.mark.parametrize("date, places", [("2024-06-01", []), ("2023-06-01", [("markets/eu.yaml", 10)])])
def test_recent_audit_age(minimal, date, places):
    """Today is 2026-11-27 in tests: an audit of June 2023 is more than 3 years old."""
    apply_edits(minimal, [{"file": "markets/eu.yaml", "write": EU_MARKET.replace("AUDIT", date)}])
    gaps = _gaps(minimal, "eu", "marketing", "eu.audit-age")
    assert _places(gaps) == places
    assert all(g.detail.endswith(f"dated {date} is more than 3 years old") for g in gaps)


# covers --------------------------------------------------------------------------------------------
CN_MCC = '  - {material: exc-mcc, kind: excipient, registration_number: F20190000123, status: A, registrant: Cellulose Co., loa: {reference: LOA-2025-01, date: "2025-01-15"}}\n'
CN_BOTTLE = "  - {material: dp-cc-bottle, kind: packaging, submitted_with_application: true}\n"


def test_covers_excipients_met_and_unmet(minimal):
    assert _gaps(minimal, "cn", "ind", "cn.associated-review-excipients") == []
    apply_edits(minimal, [{"file": "markets/cn.yaml", "find": CN_MCC, "replace": ""}])
    gaps = _gaps(minimal, "cn", "ind", "cn.associated-review-excipients")
    assert _places(gaps) == [("excipients.yaml", 3)]
    assert gaps[0].detail == "'exc-mcc' is not covered by the associated review (markets/cn.yaml)"


def test_covers_primary_packaging_only(minimal):
    apply_edits(minimal, [{"file": "products/dp-minitab.yaml",
                           "append": "    - {id: dp-cc-carton, component: Carton, material: Folding boxboard, primary: false}\n"}])
    assert _gaps(minimal, "cn", "ind", "cn.associated-review-packaging") == []
    apply_edits(minimal, [{"file": "markets/cn.yaml", "find": CN_BOTTLE, "replace": ""}])
    gaps = _gaps(minimal, "cn", "ind", "cn.associated-review-packaging")
    assert _places(gaps) == [("products/dp-minitab.yaml", 47)]
    assert gaps[0].detail.startswith("'dp-cc-bottle' is not covered")


def test_covers_retest_period_of_the_substance(minimal):
    gaps = _gaps(minimal, "us", "ind", "core.retest-period-substance")
    assert _places(gaps) == [("substances/ds-minitab.yaml", 2)]
    assert gaps[0].detail == "'ds-minitab' is not covered by the stability claims (stability.yaml)"
    assert _gaps(minimal, "us", "ind", "core.shelf-life-product") == []
    apply_edits(minimal, [{"file": "stability.yaml", "append": "  - subject: ds-minitab\n    kind: retest_period\n    period: 12\n"
                           "    storage: Store below 25 °C.\n    basis: Twelve months of long-term data.\n"}])
    assert _gaps(minimal, "us", "ind", "core.retest-period-substance") == []


def test_covers_site_outside_china_needs_overseas_documents(minimal):
    gaps = _gaps(minimal, "cn", "ind", "cn.overseas-documents")
    assert _places(gaps) == [("sites.yaml", 9)]  # site-dp (US); site-api is in CN
    apply_edits(minimal, [{"file": "markets/cn.yaml", "append": "overseas_documents:\n  - site: site-dp\n"
                           "    document: {number: NC-LIC-2024-118, title: North Carolina drug manufacturer licence}\n"}])
    assert _gaps(minimal, "cn", "ind", "cn.overseas-documents") == []


# count_at_least ------------------------------------------------------------------------------------
def _three_primary_studies_each(folder: Path) -> None:
    """Two more batches of each subject, and three primary long-term studies each with 12 months of data."""
    batches, studies, rows = "", "", ""
    for subject, spec, version, kind in (("ds-minitab", "spec-ds", "2.0", "ds"), ("dp-minitab", "spec-dp", "1.0", "dp")):
        for n in (2, 3):
            batches += (f"  - {{id: b-{kind}-00{n}, number: {kind.upper()}-00{n}, subject: {subject}, site: site-{'api' if kind == 'ds' else 'dp'}, "
                        f"scale: pilot, size: {{value: 5, unit: kg}}, date: \"2025-0{n}-10\", process_version: A, uses: [stability], "
                        f"specification: {{id: {spec}, version: \"{version}\"}}}}\n")
        for n in ((1, 2, 3) if kind == "ds" else (2, 3)):
            batch = f"b-{kind}-00{n}"
            studies += (f"  - {{id: st-{kind}-lt-{n}, subject: {subject}, batch: {batch}, container: Test container, condition: 25C_60RH, "
                        f"purpose: long_term, primary: true, specification: {{id: {spec}, version: \"{version}\"}}, "
                        f"time_points: [0, 12], start_date: \"2025-06-01\"}}\n")
            rows += f"st-{kind}-lt-{n},0,assay,100.0,%,,\nst-{kind}-lt-{n},12,assay,99.5,%,,\n"
    apply_edits(folder, [{"file": "batches.yaml", "append": batches},
                         {"file": "stability.yaml", "find": "claims:\n", "replace": studies + "claims:\n"},
                         {"file": "stability/dp.csv", "append": "st-dp-lt,12,assay,99.1,%,,\n" + rows}])


def test_count_at_least_unmet_without_primary_studies(minimal):
    gaps = _gaps(minimal, "us", "marketing", "core.stability-primary-long-term")
    assert _places(gaps) == [("products/dp-minitab.yaml", 2), ("substances/ds-minitab.yaml", 2)]
    assert gaps[0].detail == "'ds-minitab' has 0 primary long-term studies with 12 months of data; at least 3 are needed"
    assert _gaps(minimal, "us", "ind", "core.stability-primary-long-term") == []  # marketing only


def test_count_at_least_met_then_one_result_row_less(minimal):
    _three_primary_studies_each(minimal)
    assert _gaps(minimal, "us", "marketing", "core.stability-primary-long-term") == []
    csv_path = minimal / "stability" / "dp.csv"
    csv_path.write_text(csv_path.read_text("utf-8").replace("st-ds-lt-2,12,assay,99.5,%,,\n", ""), "utf-8")
    gaps = _gaps(minimal, "us", "marketing", "core.stability-primary-long-term")
    assert _places(gaps) == [("substances/ds-minitab.yaml", 2)]
    assert gaps[0].detail == "'ds-minitab' has 2 primary long-term studies with 12 months of data; at least 3 are needed"


# translated ----------------------------------------------------------------------------------------
def test_translated_unmet_names_each_file_once(minimal):
    """Every text counts: narratives, short texts (names, containers, criteria) and CSV free text."""
    gaps = _gaps(minimal, "cn", "ind", "cn.translation-ind")
    places = dict(_places(gaps))
    assert places["appendices.yaml"] == 2 and places["stability.yaml"] == 7  # '60 mL HDPE bottle'
    assert places["results/dp.csv"] == 2 and places["methods.yaml"] > 1  # 'Conforms'; a method title
    assert "markets/us.yaml" not in places  # the US market file is not part of the Chinese dossier
    assert {g.severity for g in gaps} == {"advisory"}
    assert "3 text(s) in stability.yaml have no Chinese (zh) text" in {g.detail.split(",")[0] for g in gaps}
    marketing = _gaps(minimal, "cn", "marketing", "cn.translation-marketing")
    assert _places(marketing) == _places(gaps) and {g.severity for g in marketing} == {"blocking"}


def test_translated_met_once_every_text_has_chinese(minimal, tmp_path):
    """Export every text, translate it, import it: the rule is then met."""
    from lxml import etree

    out = tmp_path / "cn.xlf"
    assert run_cli("translate", "export", "--market", "cn", "--dossier", str(minimal), "--out", str(out)).exit_code == 0
    tree = etree.parse(str(out))
    ns = {"x": "urn:oasis:names:tc:xliff:document:1.2"}
    for unit in tree.iterfind(".//x:trans-unit", ns):
        target = unit.find("x:target", ns)
        if target is None:
            target = etree.SubElement(unit, f"{{{ns['x']}}}target")
            unit.find("x:source", ns).addnext(target)
        target.text, target.attrib["state"] = "中文译文", "translated"
    tree.write(str(out), xml_declaration=True, encoding="UTF-8")
    assert run_cli("translate", "import", "--dossier", str(minimal), str(out)).exit_code == 0
    assert not load_dossier(minimal).problems
    assert _gaps(minimal, "cn", "ind", "cn.translation-ind") == []
    assert _gaps(minimal, "cn", "marketing", "cn.translation-marketing") == []


# the examples --------------------------------------------------------------------------------------
ANTIBODY, TABLETS = ROOT / "dossier", ROOT / "examples" / "velcratinib-tablets"


def _expected_examples() -> dict:
    """What each example lacks, checked by hand against its data."""
    cci = [(f"specifications/{name}", _line_of(ANTIBODY / "specifications" / name, "- id: cci"))
           for name in ("spec-dp-powder.yaml", "spec-dp-solution.yaml")]
    claim = lambda subject: ("stability.yaml", _line_of(ANTIBODY / "stability.yaml", f"- subject: {subject}") + 4)  # its storage text
    stability = [("core.light-claim-photostability-biotech", *claim("dp-ordesimab-solution")),
                 ("core.light-claim-photostability-biotech", *claim("dp-ordesimab-powder"))]
    # The colour tests grade against Ph. Eur. 2.2.2 B reference solutions, which ChP 0901 does not have
    # (it uses its own YG, Y, OY, OR and BR standards): no ChP chapter is cited for them.
    colour = [(f"specifications/{name}", _line_of(ANTIBODY / "specifications" / name, "- id: colour"))
              for name in ("spec-dp-powder.yaml", "spec-dp-solution.yaml", "spec-ds-ordesimab.yaml")]
    # Limits more than three observed ranges beyond the batches' results (ICH Q6A/Q6B, advisory): the
    # substance's LMW species, galactosylated glycans, host cell protein and Protein A, the powder's
    # LMW species and basic species; located at the criterion judged (the release one here).
    wide = [("spec-dp-powder.yaml", "sec-lmw"), ("spec-dp-powder.yaml", "icief-basic"), ("spec-ds-ordesimab.yaml", "sec-lmw"),
            ("spec-ds-ordesimab.yaml", "glycan-galactosylated"), ("spec-ds-ordesimab.yaml", "hcp"), ("spec-ds-ordesimab.yaml", "protein-a")]
    stability += [("core.limits-within-batch-experience", f"specifications/{name}", _acceptance_line(ANTIBODY / "specifications" / name, test))
                  for name, test in wide]
    # The publications both examples cite have no copy in the dossier (literature/): 3.3 would hold one
    # leaf each (ICH M4 granularity); blocking at marketing, advisory at IND. Guidelines cited by name need none.
    def literature(folder, rule, ids):
        return [(rule, "references.yaml", _line_of(folder / "references.yaml", f"- id: {i}")) for i in ids]
    papers = literature(ANTIBODY, "core.literature-copies", ("ref-liu-2008", "ref-shukla-2007", "ref-kelley-2009",
                                                              "ref-miesegaes-2010"))
    tablet_papers = literature(TABLETS, "core.literature-copies-ind", ("ref-byrn-1995", "ref-teasdale-2013"))
    return {
        # The antibody is complete for the US. For the EU, its Suzhou drug substance site has only NMPA
        # evidence (an inspection and a manufacturing licence): no EEA or MRA GMP evidence, so an EEA
        # inspection is likely (advisory). For the UK, batches are certified by the UK QP at Thamesgate
        # while the QP declaration is taken from the EU application, signed by the German QP (advisory).
        # For China the container closure integrity tests cite USP <1207.2> and the colour tests Ph. Eur.
        # 2.2.2 without a ChP reference (advisory).
        # In every market, the stability claims against the data (shelflife.py): light protection of
        # both products has no photostability study (advisory for a biotechnological product, Q5C).
        # Neither example holds the documents the applicant signs or writes (supplied/supplied.yaml):
        # the signed Form FDA 356h or 1571, the cover letters, the eAF PDF, China's application form.
        (ANTIBODY, "marketing", "us"): supplied("us.supplied-cover-letter", "us.supplied-form-356h") + stability + papers,
        (ANTIBODY, "marketing", "eu"): [("eu.third-country-biological-gmp", "sites.yaml", 3)]
        + supplied("eu.supplied-cover-letter", "eu.supplied-eaf") + stability + papers,
        (ANTIBODY, "marketing", "uk"): [("uk.qp-declaration-signatory", "markets/uk.yaml", 26)]
        + supplied("uk.supplied-cover-letter") + stability + papers,
        (ANTIBODY, "marketing", "cn"): sorted([("cn.chp-reference", *place) for place in cci + colour])
        + supplied("cn.supplied-application-form", "cn.supplied-cover-letter") + stability + papers,
        # The tablets at IND: complete (purified water, made on site, is declared as submitted with
        # the application in the CN associated review), but for the supplied documents.
        (TABLETS, "ind", "us"): supplied("us.supplied-cover-letter", "us.supplied-form-1571") + tablet_papers,
        (TABLETS, "ind", "eu"): tablet_papers,
        (TABLETS, "ind", "cn"): supplied("cn.supplied-application-form", "cn.supplied-cover-letter") + tablet_papers,
    }


def _acceptance_line(path, test: str) -> int:
    """The line where the acceptance criterion of a test of a specification file starts (after 'acceptance:')."""
    lines = path.read_text("utf-8").splitlines()
    start = lines.index(f"  - id: {test}")
    return next(i + 2 for i in range(start, len(lines)) if lines[i].strip() == "acceptance:")


def supplied(*rules: str) -> list[tuple[str, str, int]]:
    """Gaps of documents the applicant supplies, located at supplied/supplied.yaml (absent)."""
    return [(rule, "supplied/supplied.yaml", 0) for rule in rules]


@pytest.mark.parametrize("key", list(_expected_examples()), ids=lambda k: f"{k[0].name}-{k[1]}-{k[2]}")
def test_examples_gaps(key):
    folder, stage, market = key
    found = sorted((g.rule, g.location.file.removeprefix("dossier/"), g.location.line)
                   for g in find_gaps(_model(folder), market, stage))
    assert found == sorted(_expected_examples()[key])


def test_antibody_cci_finding_is_what_the_data_says():
    spec = yaml.safe_load((ANTIBODY / "specifications" / "spec-dp-solution.yaml").read_text("utf-8"))
    cci = next(t for t in spec["tests"] if t["id"] == "cci")
    assert cci["compendial_reference"] == {"usp": "<1207.2>"}
    gap = next(g for g in find_gaps(_model(ANTIBODY), "cn", "marketing")
               if "spec-dp-solution" in g.location.file and g.detail.startswith("'cci'"))
    assert gap.severity == "advisory" and gap.detail.startswith("'cci': compendial_reference is usp <1207.2>, not ")


def test_tablets_every_excipient_is_in_the_associated_review():
    market = yaml.safe_load((TABLETS / "markets" / "cn.yaml").read_text("utf-8"))
    excipients = yaml.safe_load((TABLETS / "excipients.yaml").read_text("utf-8"))["excipients"]
    reviewed = {entry["material"]: entry for entry in market["associated_review"]}
    assert [e["id"] for e in excipients if e["id"] not in reviewed] == []
    assert reviewed["exc-water"].get("submitted_with_application") is True


# one primary batch less ----------------------------------------------------------------------------
def test_one_primary_batch_less_moves_only_the_stability_rule(tmp_path):
    """Filtering the long-term results of primary batch 207D21001 out of the CSV leaves the substance two
    primary studies: the Q5C stability rule goes from met to missing in every market, nothing else moves."""
    source = tmp_path / "dossier"
    shutil.copytree(ANTIBODY, source)
    before = _matrix(_model(source), "marketing")
    path = source / "stability" / "ds-stability.csv"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    kept = [line for line in lines[1:] if next(csv.reader([line]))[0] != "st-ds-lt-21001"]
    assert len(kept) < len(lines) - 1
    path.write_text(lines[0] + "".join(kept), "utf-8")
    after = _matrix(_model(source), "marketing")
    moved = {(r["id"], market, before.status(r["id"], market), after.status(r["id"], market))
             for r in before.rules for market in MARKETS if before.status(r["id"], market) != after.status(r["id"], market)}
    assert moved == {("core.stability-primary-long-term-biotech", market, "met", "missing") for market in MARKETS}
    gaps = [g for g in after.assessments["us"].gaps if g.rule == "core.stability-primary-long-term-biotech"]
    assert _places(gaps) == [("substances/ordesimab-lumina-suzhou.yaml", 2)]
    assert gaps[0].detail == ("'ds-ordesimab-sz' has 2 primary long-term studies with 6 months of data; "
                              "at least 3 are needed")
    assert before.status("core.stability-primary-long-term", "us") == "n/a"  # the Q1A rule is for small molecules


def test_registration_testing_needs_three_batches_per_strength(tmp_path):
    """count_at_least follows batch ids to their strength: dropping one batch of the solution
    leaves that strength with two, and only that strength is reported."""
    source = tmp_path / "dossier"
    shutil.copytree(ANTIBODY, source)
    assert not [g for g in find_gaps(_model(source), "cn", "marketing") if g.rule == "cn.registration-testing-batches"]
    path = source / "markets" / "cn.yaml"
    path.write_text(path.read_text("utf-8").replace("dp-s-25001, ", ""), "utf-8")
    gaps = [g for g in find_gaps(_model(source), "cn", "marketing") if g.rule == "cn.registration-testing-batches"]
    assert [(g.location.file.endswith("ordesimab-injection-vial.yaml"), g.detail) for g in gaps] == [
        (True, "'str-sol-100mg-ml' has 2 registration-testing batches; at least 3 are needed")]


def test_registration_batches_need_remaining_shelf_life(tmp_path):
    """remaining_shelf_life: samples sent in 2028 leave the 2025 batches of a 36-month product too little."""
    source = tmp_path / "dossier"
    shutil.copytree(ANTIBODY, source)
    rule = "cn.registration-testing-shelf-life"
    assert not [g for g in find_gaps(_model(source), "cn", "marketing") if g.rule == rule]
    path = source / "markets" / "cn.yaml"
    path.write_text(path.read_text("utf-8").replace('planned_submission: "2026-11-23"', 'planned_submission: "2028-06-01"'), "utf-8")
    gaps = [g for g in find_gaps(_model(source), "cn", "marketing") if g.rule == rule]
    assert gaps and all(g.location.file.endswith("markets/cn.yaml") and "months of shelf life left on 2028-06-01" in g.detail for g in gaps)


def test_a_sound_rule_pack_is_reused_from_the_store_and_checked_again_when_the_knowledge_changes(tmp_path, monkeypatch):
    """In a build, a rule pack's parse and check are kept in the store by the hashes of the code and the
    knowledge files (issue 19: a build process does not check the packs again); the same rules come
    back, and another knowledge (a changed pack or schema) checks the pack again."""
    from dossiergen import cache, gaps
    from dossiergen.cache import using_store

    checked = []
    original = gaps.check_rule_pack
    monkeypatch.setattr(gaps, "check_rule_pack", lambda path: checked.append(path) or original(path))
    path = gaps.rule_packs("cn")[-1]
    with using_store(tmp_path / "store"):
        first = gaps._checked_pack(path)
        again = gaps._checked_pack(path)
        assert checked == [path] and again == first and first[0] and first[1] == []
        monkeypatch.setattr(cache, "knowledge_fingerprint", lambda: "another knowledge")
        assert gaps._checked_pack(path) == first and checked == [path, path]
