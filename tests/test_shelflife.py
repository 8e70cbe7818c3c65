"""Shelf life from the dossier's own data: claims judged under ICH Q1E/Q5C, OOS and out-of-trend
results flagged, the `dossiergen stability` command, and the trend plots."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, apply_edits, run_cli
from dossiergen.gaps import find_gaps
from dossiergen.load import load_dossier
from dossiergen.model import build_model

ANTIBODY, TABLETS = ROOT / "dossier", ROOT / "examples" / "velcratinib-tablets"
Q1E_DATA = Path(__file__).parent / "data" / "q1e"


def _model(folder: Path):
    return build_model(load_dossier(folder, label="dossier"))


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "dossier"
    shutil.copytree(source, target)
    return target


SOLUTION_CLAIM = "  - subject: dp-ordesimab-solution\n    kind: shelf_life\n    period: 36\n"


def test_an_antibody_that_over_claims_its_shelf_life_is_a_blocking_gap(tmp_path):
    # 48 months claimed from 36 months of real-time data of a biotechnological product (ICH Q5C)
    folder = _copy(ANTIBODY, tmp_path)
    apply_edits(folder, [{"file": "stability.yaml", "find": SOLUTION_CLAIM, "replace": SOLUTION_CLAIM.replace("36", "48")}])
    gaps = [g for g in find_gaps(_model(folder), "eu", "marketing") if g.rule == "core.shelf-life-supported"]
    assert len(gaps) == 1 and gaps[0].severity == "blocking"
    assert gaps[0].detail.startswith("48 months claimed; 36 months of long-term data support at most 36 months")
    assert "ICH Q5C" in gaps[0].detail and "Q5C" in gaps[0].source
    lines = (folder / "stability.yaml").read_text("utf-8").splitlines()
    assert lines[gaps[0].location.line - 1].strip() == "period: 48"
    assert gaps[0].as_problem(final=True).severity == "error"


def test_a_justified_over_claim_is_advisory_not_blocking(tmp_path):
    folder = _copy(ANTIBODY, tmp_path)
    justified = SOLUTION_CLAIM.replace("36", "48") + ("    justification:\n      reason: Prior knowledge of the platform formulation.\n"
                                                     "      guideline: ICH Q1 Step 2 draft (2025) section 13\n")
    apply_edits(folder, [{"file": "stability.yaml", "find": SOLUTION_CLAIM, "replace": justified}])
    found = {g.rule: g for g in find_gaps(_model(folder), "eu", "marketing") if g.rule.startswith("core.shelf-life")}
    assert set(found) == {"core.shelf-life-justified"}
    assert found["core.shelf-life-justified"].severity == "advisory"
    assert "ICH Q1 Step 2 draft (2025) section 13" in found["core.shelf-life-justified"].detail


def test_the_examples_claims_are_within_what_their_data_support():
    from dossiergen.shelflife import verdicts

    for folder in (ANTIBODY, TABLETS):
        found = verdicts(_model(folder))
        assert found and all(v.supported for v in found), [v.reason for v in found if not v.supported]
    powder = next(v for v in verdicts(_model(ANTIBODY)) if v.claim["subject"] == "dp-ordesimab-powder")
    assert (powder.months, powder.support.data_months, powder.support.key) == (24, 24.0, "biotech")


def test_room_temperature_claim_may_extrapolate_to_twice_the_data(tmp_path):
    # The tablets: 12 months at 25 °C/60 % RH, no significant change at 40 °C/75 % RH -> up to 24 months
    from dossiergen.shelflife import verdicts

    found = next(v for v in verdicts(_model(TABLETS)) if v.claim["subject"] == "velcratinib-tablets")
    assert found.support.key == "room" and found.support.cap == 2 * found.support.data_months


ASSAY_12 = "st-dp-25-lt,12,assay,98.8,%,,"


@pytest.mark.parametrize("value,rule", [("94.0", "core.stability-oos"), ("96.9", "core.stability-oot")])
def test_an_oos_and_an_oot_result_are_flagged(tmp_path, value, rule):
    folder = _copy(TABLETS, tmp_path)
    assert not [g for g in find_gaps(_model(folder), "us", "marketing") if g.rule == rule and "Assay" in g.detail]
    apply_edits(folder, [{"file": "stability/dp-stability.csv", "find": ASSAY_12, "replace": ASSAY_12.replace("98.8", value)}])
    found = [g for g in find_gaps(_model(folder), "us", "marketing") if g.rule == rule and "Assay" in g.detail]
    assert len(found) == 1 and found[0].severity == "advisory"
    assert f"{float(value):g} at 12 months" in found[0].detail and "st-dp-25-lt" in found[0].detail


def test_light_and_in_use_claims_need_a_study_that_covers_them(tmp_path):
    """Q1B/Q5C: light protection needs light data; an in-use period needs an in-use study reaching it."""
    folder = _copy(ANTIBODY, tmp_path)
    rules = ("core.light-claim-photostability-biotech", "core.in-use-claim-study")
    before = {g.rule for g in find_gaps(_model(folder), "us", "marketing") if g.rule in rules}
    assert before == {"core.light-claim-photostability-biotech"}  # the powder's 24 h / 4 h in-use claim is studied
    apply_edits(folder, [{"file": "stability.yaml", "find": "demonstrated for 24 hours at 2 °C – 8 °C",
                          "replace": "demonstrated for 48 hours at 2 °C – 8 °C"},
                         {"file": "stability.yaml", "find": "Use immediately after the vial has been punctured.",
                          "replace": "Use immediately after the vial has been punctured. The unopened vial may be kept at up to 25 °C for up to 30 days."}])
    found = sorted(g.detail for g in find_gaps(_model(folder), "us", "marketing") if g.rule == "core.in-use-claim-study")
    assert found == ["the in-use statement of 'dp-ordesimab-powder' names 48 hours; its in-use studies cover 24 hours",
                     "the in-use statement of 'dp-ordesimab-solution' has no in-use study (purpose in_use) with results behind it"]


def test_a_noted_result_is_not_an_open_finding(tmp_path):
    folder = _copy(TABLETS, tmp_path)
    apply_edits(folder, [{"file": "stability/dp-stability.csv", "find": ASSAY_12, "replace": ASSAY_12.replace("98.8", "96.9")},
                         {"file": "stability.yaml", "find": "\nclaims:\n", "replace": "\nresult_notes:\n  - {study: st-dp-25-lt, "
                          "time_point: 12, test: assay, note: Sample preparation error confirmed by the investigation.}\nclaims:\n"}])
    assert not [g for g in find_gaps(_model(folder), "us", "marketing") if g.rule == "core.stability-oot" and "Assay" in g.detail]


def test_cli_stability_on_a_published_csv():
    # LeBlond 2011 Table V (batches 2, 5, 7): common intercept and slope, 26.0 months (expirest: 25.9957631369)
    run = run_cli("stability", "--csv", str(Q1E_DATA / "expirest-exp1.csv"), "--lower", "95", "--batches", "b2,b5,b7", "--json")
    assert run.exit_code == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["model"] == "common" and data["sided"] == "one" and data["crossing_months"] == pytest.approx(26.0, abs=0.01)
    text = run_cli("stability", "--csv", str(Q1E_DATA / "expirest-exp3.csv"), "--lower", "1.5", "--upper", "3.5")
    assert text.exit_code == 0 and "two-sided 95 % (97.5 % per side)" in text.stdout and "crossing: 45.35 months" in text.stdout


def test_cli_stability_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("batch,month,value\na,0,100\na,three,99\n", "utf-8")
    run = run_cli("stability", "--csv", str(bad), "--lower", "95")
    assert run.exit_code == 1 and f"{bad}:3:1: error:" in run.stderr and "[stability.csv_number]" in run.stderr
    assert run_cli("stability", "--csv", str(bad)).exit_code == 2            # no limit
    assert run_cli("stability", "--lower", "95").exit_code == 2              # a limit without --csv
    few = tmp_path / "few.csv"
    few.write_text("batch,month,value\na,0,100\na,3,99\n", "utf-8")
    run = run_cli("stability", "--csv", str(few), "--lower", "95")
    assert run.exit_code == 1 and "at least 3 results" in run.stderr


def test_cli_stability_on_the_examples():
    for folder in (ANTIBODY, TABLETS):
        run = run_cli("stability", "--dossier", str(folder), "--json")
        assert run.exit_code == 0, run.stderr
        data = json.loads(run.stdout)
        assert data["claims"] and all(c["supported"] for c in data["claims"])
        evaluated = [a for g in data["groups"] for a in g["attributes"] if a["evaluation"]]
        assert evaluated and all(a["evaluation"]["model"] in ("common", "common_slope", "separate", "single") for a in evaluated)
    text = run_cli("stability", "--dossier", str(ANTIBODY))
    assert "claim dp-ordesimab-powder: 24 months: supported" in text.stdout


PLOT = """
import sys
from dossiergen import stats, plots
series = [stats.Series("b1", (0, 3, 6, 9, 12), (100.1, 99.5, 99.2, 98.4, 98.0)),
          stats.Series("b2", (0, 3, 6, 9, 12), (100.6, 100.0, 99.1, 98.9, 98.2))]
e = stats.evaluate(series, lower=95)
labels = dict(y="Assay (%)", months="Months", fit="Fit", bound="Bound", limit="Limit", claim="Claim")
a = plots.trend_plot("trend-x", e, series, labels, sys.argv[1], 24)
sys.stdout.buffer.write(a.get("png") + b"|" + a.get("trend"))
"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_plot_has_the_same_bytes_on_two_builds(lang):
    runs = [subprocess.run([sys.executable, "-c", PLOT, lang], capture_output=True, check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1] and runs[0].startswith(b"\x89PNG") and b'|{"' in runs[0]  # the PNG, then the PDF's input


def test_the_word_picture_is_the_pdf_drawing_rasterised():
    """typst draws a plot from one program: in the PDF, the document draws it from the plot's input (its
    text stays text: write/convert.lua) and, for Word, the same program makes a PNG at 150 ppi: the
    plot's size, on white, showing the batches' colours."""
    import io
    import json

    from PIL import Image

    from dossiergen import plots, stats

    series = [stats.Series("b1", (0, 3, 6, 9, 12), (100.1, 99.5, 99.2, 98.4, 98.0)),
              stats.Series("b2", (0, 3, 6, 9, 12), (100.6, 100.0, 99.1, 98.9, 98.2))]
    labels = dict(y="含量 (%)", months="月", fit="拟合", bound="95%置信限", limit="可接受标准", claim="拟定期限")
    plot = plots.trend_plot("trend-x", stats.evaluate(series, lower=95), series, labels, "zh", 24)
    drawn, png = plot.get("trend"), plot.get("png")
    assert plot.get("svg") is None  # no picture of the plot goes into the PDF: the document draws it
    assert "拟合" in json.dumps(json.loads(drawn), ensure_ascii=False)  # the labels are data of the input
    # the Word picture is that input drawn by the same program (TREND: the PDF's TREND_FUNCTION, called)
    again = plots._compiler().compile(plots.TREND.encode(), format="png", ppi=plots.DPI, sys_inputs={"plot": drawn.decode()})
    assert Image.open(io.BytesIO(png)).tobytes() == Image.open(io.BytesIO(again)).tobytes()
    image = Image.open(io.BytesIO(png))
    assert round(image.info["dpi"][0]) == plots.DPI   # Word sizes the picture by it: 6.3 inches wide
    image = image.convert("RGB")
    assert image.size == (round(plots.SIZE[0] * plots.DPI), round(plots.SIZE[1] * plots.DPI))
    colours = image.getcolors(maxcolors=1 << 20)
    assert max(colours)[1] == (255, 255, 255)   # a white ground
    near = lambda colour, hex_: all(abs(a - int(hex_[1 + 2 * i:3 + 2 * i], 16)) <= 12 for i, a in enumerate(colour))
    for hex_ in plots.COLOURS[:2] + ("#C00000",):   # both batches and the limit line are drawn
        assert sum(count for count, colour in colours if near(colour, hex_)) >= 20, hex_


def test_release_and_time_zero_results_must_agree(tmp_path):
    """The initial stability result of a released test needs its release result (M4Q(R1) 3.2.P.5.4/3.2.P.8.3)."""
    folder = _copy(TABLETS, tmp_path)
    rule = "core.release-matches-time-zero"
    assert [g for g in find_gaps(_model(folder), "us", "ind") if g.rule == rule] == []
    apply_edits(folder, [{"file": "results/dp-batch-results.csv", "find": "dp-25-a,assay,99.4,%,,,\n", "replace": ""}])
    found = [g for g in find_gaps(_model(folder), "us", "ind") if g.rule == rule]
    assert [g.detail.split(" but ")[0] for g in found] == [
        "batch VT25-25001: 'assay' has an initial result in study 'st-dp-25-lt'"]
    assert found[0].location.file.endswith("batches.yaml") and found[0].severity == "advisory"


TABLET_STORAGE = "keep the bottle tightly closed to protect from moisture."
PHOTO_STUDY = """  - id: st-{id}
    subject: {subject}
    batch: {batch}
    container: {container}
    condition: photostability
    purpose: photostability
    specification: {{id: {spec}, version: "{version}"}}
    time_points: [0, 1]
    start_date: "2025-10-01"
    results:
      - {{time_point: 0, test: {test}, value: {value}, unit: "%"}}
      - {{time_point: 1, test: {test}, value: {value}, unit: "%"}}
"""


def test_light_claim_of_a_tablet_needs_a_photostability_study(tmp_path):
    """ICH Q1B: a chemical product's 'protect from light' is missing without a photostability study, met with one."""
    from dossiergen.gaps import evaluate_rule, load_rules

    rule = next(r for r in load_rules("us") if r["id"] == "core.light-claim-photostability")
    folder = _copy(TABLETS, tmp_path)
    assert evaluate_rule(_model(folder), rule, "marketing").status == "n/a"  # no statement protects from light
    apply_edits(folder, [{"file": "stability.yaml", "find": TABLET_STORAGE,
                          "replace": TABLET_STORAGE.replace(".", "; protect from light.")}])
    verdict = evaluate_rule(_model(folder), rule, "marketing")
    assert verdict.status == "missing" and verdict.gaps[0].severity == "blocking"
    study = PHOTO_STUDY.format(id="dp-photo", subject="velcratinib-tablets", batch="dp-25-a", container="Tablets, exposed",
                               spec="spec-dp-tablets", version="1.0", test="assay", value=99.1)
    apply_edits(folder, [{"file": "stability.yaml", "find": "\nclaims:\n", "replace": "\n" + study + "claims:\n"}])
    assert evaluate_rule(_model(folder), rule, "marketing").status == "met"


def test_light_claims_of_the_antibody_met_with_light_exposure_data(tmp_path):
    """The biotech rule (Q5C, advisory) is met once both products have light-exposure data."""
    from dossiergen.gaps import evaluate_rule, load_rules

    rule = next(r for r in load_rules("us") if r["id"] == "core.light-claim-photostability-biotech")
    folder = _copy(ANTIBODY, tmp_path)
    assert evaluate_rule(_model(folder), rule, "marketing").status == "missing"
    studies = "".join(PHOTO_STUDY.format(id=f"{batch}-photo", subject=subject, batch=batch, container="2R vial in carton",
                                         spec=spec, version="2.0", test="sec-monomer", value=99.0)
                      for subject, batch, spec in (("dp-ordesimab-solution", "dp-s-23001", "spec-dp-solution"),
                                                   ("dp-ordesimab-powder", "dp-p-24001", "spec-dp-powder")))
    apply_edits(folder, [{"file": "stability.yaml", "find": "\nresult_notes:\n", "replace": "\n" + studies + "result_notes:\n"}])
    assert evaluate_rule(_model(folder), rule, "marketing").status == "met"


DS_T0_NOTE = "  - study: st-ds-lt-19001\n    time_point: 0\n    test: [sec-lmw, cesds-r]\n"


def test_an_initial_result_of_a_test_added_after_release_needs_a_word(tmp_path):
    """Batch 207D19001 was released against specification 1.0 (no LMW species, no reduced CE-SDS: '–'
    in 3.2.S.4.4) but has both at time zero in 3.2.S.7.3: without the note saying how they were
    obtained, core.release-matches-time-zero asks for one."""
    folder = _copy(ANTIBODY, tmp_path)
    rule = "core.release-matches-time-zero"
    assert [g for g in find_gaps(_model(folder), "eu", "marketing") if g.rule == rule] == []
    text = (folder / "stability.yaml").read_text("utf-8")
    assert DS_T0_NOTE in text
    apply_edits(folder, [{"file": "stability.yaml", "find": DS_T0_NOTE, "replace": DS_T0_NOTE.replace("st-ds-lt-19001", "st-ds-lt-99999")}])
    found = [g for g in find_gaps(_model(folder), "eu", "marketing") if g.rule == rule]
    assert [g.detail.split(" but ")[0] for g in found] == [
        "batch 207D19001: 'sec-lmw' has an initial result in study 'st-ds-lt-19001'",
        "batch 207D19001: 'cesds-r' has an initial result in study 'st-ds-lt-19001'"]
    assert "not in specification version 1.0 the batch was released under" in found[0].detail
    assert found[0].severity == "advisory" and found[0].location.file.endswith("batches.yaml")


def _marked_cells(markdown: str) -> list[tuple[str, str]]:
    """Return (test name, cell) of every table cell of a rendered 3.2.P.8.3 that carries a mark."""
    found = []
    for line in markdown.splitlines():
        if line.startswith("| ") and ("(OOS)" in line or "(OOT)" in line):
            cells = [c.strip() for c in line.strip("|").split("|")]
            found += [(cells[0], c) for c in cells[2:] if "(OOS)" in c or "(OOT)" in c]
    return found


@pytest.mark.parametrize("value,kinds", [("94.0", ["OOS", "OOT"]), ("96.9", ["OOT"])])
def test_the_stability_table_marks_what_the_gap_report_names(tmp_path, value, kinds):
    """One computation (shelflife.result_marks) behind both: the result the gap rules report is the
    one cell newly marked in 3.2.P.8.3 (94.0 % is below 95.0 % and off the trend; 96.9 % only off
    the trend), with the legend under its table."""
    folder = _copy(TABLETS, tmp_path)
    render = ("render", "--dossier", str(folder), "--section", "3.2.P.8.3")
    before = run_cli(*render)
    assert before.exit_code == 0 and all(not name.startswith("Assay") for name, _ in _marked_cells(before.stdout))
    apply_edits(folder, [{"file": "stability/dp-stability.csv", "find": ASSAY_12, "replace": ASSAY_12.replace("98.8", value)}])
    gaps = [g for g in find_gaps(_model(folder), "us", "marketing")
            if g.rule in ("core.stability-oos", "core.stability-oot") and "Assay" in g.detail]
    assert sorted(g.rule for g in gaps) == sorted({"OOS": "core.stability-oos", "OOT": "core.stability-oot"}[k] for k in kinds)
    assert all(f"{float(value):g} at 12 months" in g.detail for g in gaps)
    after = run_cli(*render).stdout
    new = [cell for cell in _marked_cells(after) if cell not in _marked_cells(before.stdout)]
    assert new == [("Assay (HPLC, as velcratinib)", f"{value}\u00a0% " + " ".join(f"({k})" for k in kinds))]
    legends = {"OOS": "(OOS) Result outside the acceptance criterion (out of specification).",
               "OOT": "(OOT) Result outside the 99 % prediction interval of its batch"}
    for kind in kinds:
        assert any(line.startswith(legends[kind]) for line in after.splitlines())


def test_every_marked_stability_result_of_the_antibody_is_reported_or_noted():
    """The antibody's marks and its gap findings agree: each mark is a finding unless a note explains it."""
    from dossiergen.shelflife import findings, note_for, result_marks

    model = _model(ANTIBODY)
    marks = result_marks(model)
    assert sum("oot" in kinds for kinds in marks.values()) >= 5
    reported = {(kind, detail) for kind in ("oos", "oot") for _, detail in findings(model, kind)[1]}
    unexplained = {(kind, study, test, month) for (study, test, month), kinds in marks.items() for kind in kinds
                   if note_for(model, study, month, test) is None}
    assert len(reported) == len(unexplained)
    for kind, study, test, month in unexplained:
        assert any(k == kind and f"study '{study}'" in d and f" at {month:g} months" in d for k, d in reported)


ACC_6 = "st-dp-100-acc,6,assay,98.8,%,,,"


def test_a_five_percent_assay_change_at_accelerated_is_a_significant_change(tmp_path):
    """ICH Q1A(R2) §2.2.7.1 item 1: 100.3 % → 95.3 % at 40 °C/75 % RH is within 95.0–105.0 % but a
    5 % change from the initial value, so a significant change. With it Q1E §2.4.2.1 allows 1.5 × X
    (at most X + 6) instead of 2 × X: the tablets' 24 months from 12 months of data are a blocking gap."""
    from dossiergen.shelflife import significant_changes, verdicts

    folder = _copy(TABLETS, tmp_path)
    assert significant_changes(_model(folder), "velcratinib-tablets", "accelerated") == []
    apply_edits(folder, [{"file": "stability/dp-stability.csv", "find": ACC_6, "replace": ACC_6.replace("98.8", "95.3")}])
    model = _model(folder)
    changes = significant_changes(model, "velcratinib-tablets", "accelerated")
    assert changes == ["Assay (HPLC, as velcratinib) of batch VT100-25001 changed by 5.0 % from its initial value (100.3 to 95.3 at 6 months)"]
    tablets = next(v for v in verdicts(model) if v.claim["subject"] == "velcratinib-tablets")
    assert tablets.support.key == "room_change" and tablets.support.cap == 18 and not tablets.supported
    gaps = [g for g in find_gaps(model, "us", "marketing") if g.rule == "core.shelf-life-supported"]
    assert len(gaps) == 1 and "significant change at accelerated" in gaps[0].detail


EXPOSURE_STUDY = PHOTO_STUDY.replace("    time_points: [0, 1]\n",
                                     "    exposure:\n      illumination: {{value: {lux}, unit: {lux_unit}}}\n"
                                     "      near_uv: {{value: {uv}, unit: W.h/m2}}\n      sample: {sample}\n")


def _tablet_photo(folder: Path, **exposure) -> None:
    template = EXPOSURE_STUDY if exposure else PHOTO_STUDY
    study = template.format(id="dp-photo", subject="velcratinib-tablets", batch="dp-25-a", container="Tablets, exposed",
                            spec="spec-dp-tablets", version="1.0", test="assay", value=99.1, **exposure)
    apply_edits(folder, [{"file": "stability.yaml", "find": "\nclaims:\n", "replace": "\n" + study + "claims:\n"}])


@pytest.mark.parametrize("exposure, status, detail", [
    (None, "n/a", None),  # no photostability study: nothing to judge, never "met"
    ({"lux": 1.2, "lux_unit": "Mlx.h", "uv": 200, "sample": "exposed"}, "met", None),
    ({"lux": 1200, "lux_unit": "klx.h", "uv": 210, "sample": "dark_control"}, "met", None),
    ({"lux": 1.0, "lux_unit": "Mlx.h", "uv": 200, "sample": "exposed"}, "missing",
     "photostability study 'st-dp-photo': overall illumination 1.0 Mlx.h is below 1.2 million lux h"),
    ({"lux": 1.2, "lux_unit": "Mlx.h", "uv": 150, "sample": "exposed"}, "missing",
     "photostability study 'st-dp-photo': near-UV energy 150 W.h/m2 is below 200 W h/m²"),
    ({}, "missing", "photostability study 'st-dp-photo' gives no light exposure (time points only), "
                    "so it cannot show the ICH Q1B minimum of 1.2 million lux h and 200 W h/m²"),
])
def test_a_confirmatory_photostability_study_reaches_the_q1b_exposure(tmp_path, exposure, status, detail):
    """ICH Q1B confirmatory studies: not less than 1.2 million lux h and 200 W h/m² near UV."""
    from dossiergen.gaps import evaluate_rule, load_rules

    rule = next(r for r in load_rules("us") if r["id"] == "core.photostability-exposure")
    folder = _copy(TABLETS, tmp_path)
    if exposure is not None:
        _tablet_photo(folder, **exposure)
    verdict = evaluate_rule(_model(folder), rule, "marketing")
    assert verdict.status == status
    if detail:
        assert [g.detail for g in verdict.gaps] == [detail] and verdict.gaps[0].severity == "blocking"
        assert "stability.yaml:" in str(verdict.gaps[0].location)


def test_photostability_as_time_points_still_validates_with_a_warning(tmp_path):
    """Schema version 2 dossiers that write a Q1B study in days stay valid; the warning points to exposure."""
    folder = _copy(TABLETS, tmp_path)
    _tablet_photo(folder)
    run = run_cli("validate", "--dossier", str(folder))
    assert run.exit_code == 0, run.stdout + run.stderr
    out = run.stdout + run.stderr
    assert "[stability.photostability_as_time]" in out and "give exposure:" in out


def test_an_exposure_study_validates_and_only_as_photostability(tmp_path):
    folder = _copy(TABLETS, tmp_path)
    _tablet_photo(folder, lux=1.2, lux_unit="Mlx.h", uv=200, sample="exposed")
    run = run_cli("validate", "--dossier", str(folder))
    assert run.exit_code == 0 and "warning" not in (run.stdout + run.stderr).replace("0 warning(s)", ""), run.stdout + run.stderr
    apply_edits(folder, [{"file": "stability.yaml", "find": "    purpose: photostability\n    specification: {id: spec-dp-tablets",
                          "replace": "    purpose: long_term\n    specification: {id: spec-dp-tablets"}])
    bad = run_cli("validate", "--dossier", str(folder))
    assert bad.exit_code == 1 and "stability.yaml:" in bad.stdout + bad.stderr


def test_an_exposure_study_prints_its_exposure_not_days(tmp_path):
    """3.2.P.8.3 shows the light exposure and a column per sample; 3.2.P.8.1 the exposure as the data available;
    the shelf-life evaluation does not count it as time."""
    from dossiergen import shelflife

    folder = _copy(TABLETS, tmp_path)
    before = [(v.claim.get("subject"), v.months, v.reason, v.governing) for v in shelflife.verdicts(_model(folder))]
    _tablet_photo(folder, lux=1.2, lux_unit="Mlx.h", uv=200, sample="marketing_pack")
    assert [(v.claim.get("subject"), v.months, v.reason, v.governing) for v in shelflife.verdicts(_model(folder))] == before and before
    data = run_cli("render", "--dossier", str(folder), "--section", "3.2.P.8.3")
    assert data.exit_code == 0, data.stderr
    section = data.stdout[data.stdout.index("## st-dp-photo"):]
    assert "| Light exposure (ICH Q1B) | 1.2\u00a0million lux·h; 200\u00a0W·h/m² |" in section  # no-break space before units
    assert "| Sample | In marketing pack |" in section
    assert "| Test | Acceptance criterion | Before exposure | In marketing pack |" in section
    assert "Protocol time points" not in section.split("## ")[1] and "Initial" not in section.split("## ")[1]
    summary = run_cli("render", "--dossier", str(folder), "--section", "3.2.P.8.1")
    assert "| st-dp-photo | " in summary.stdout
    row = next(line for line in summary.stdout.splitlines() if line.startswith("| st-dp-photo | "))
    assert row.endswith("| 1.2\u00a0million lux·h; 200\u00a0W·h/m² |")
    # the column does not say "(months)" above an exposure; the studies in months say their unit
    assert "| Data available |" in summary.stdout and "Data available (months)" not in summary.stdout
    long_term = [line for line in summary.stdout.splitlines() if "| Long-term |" in line]
    assert long_term and all(line.rstrip(" |").endswith("months") for line in long_term)
    before_photo = run_cli("render", "--dossier", str(_copy(TABLETS, tmp_path / "plain")), "--section", "3.2.P.8.1").stdout
    assert "Data available (months)" in before_photo  # all in months, no exposure: the column says it
    assert all(not line.rstrip(" |").endswith("months") for line in before_photo.splitlines() if "| Long-term |" in line)


def test_the_adc_photostability_studies_reach_the_q1b_exposure(tmp_path):
    """The biotech rule (Q5C §6.4 with Q1B §1.C, advisory): the ADC's three Q1B samples are met; one below, located."""
    from dossiergen.gaps import evaluate_rule, load_rules

    rule = next(r for r in load_rules("us") if r["id"] == "core.photostability-exposure-biotech")
    folder = _copy(ROOT / "examples" / "quenatuzumab-vedotin", tmp_path)
    assert evaluate_rule(_model(folder), rule, "marketing").status == "met"
    apply_edits(folder, [{"file": "stability.yaml", "find": "      near_uv: {value: 200, unit: W.h/m2}\n      sample: dark_control",
                          "replace": "      near_uv: {value: 180, unit: W.h/m2}\n      sample: dark_control"}])
    verdict = evaluate_rule(_model(folder), rule, "marketing")
    assert verdict.status == "missing" and verdict.gaps[0].severity == "advisory"
    assert [g.detail for g in verdict.gaps] == ["photostability study 'st-dp-photo-dark': near-UV energy 180 W.h/m2 is below 200 W h/m²"]
