"""Time in hours, days, weeks or months: through the schema, the stability tables (column labels,
English and Chinese), the claims as printed, and the shelf-life rules (compared in one unit)."""

from __future__ import annotations

from conftest import apply_edits, materialise_case

from dossiergen.gaps import find_gaps
from dossiergen.load import load_dossier
from dossiergen.model import build_model
from dossiergen.validate import validate_dossier

STUDY = {"file": "stability.yaml", "find": "    condition: 25C_60RH\n", "replace": "    condition: room_15_25C\n    time_unit: {unit}\n"}
POINTS = {"file": "stability.yaml", "find": "time_points: [0, 3, 6, 12]", "replace": "time_points: {points}"}
CLAIM = {"file": "stability.yaml", "find": "    period: 12\n", "replace": "    period: {period}\n{unit_line}"}


def _dossier(tmp_path, unit: str, points: list, values: list, period, claim_unit: str | None):
    folder = materialise_case("minimal", tmp_path)
    rows = "".join(f"st-dp-lt,{p},assay,{v},%,,\n" for p, v in zip(points, values))
    apply_edits(folder, [
        {**STUDY, "replace": STUDY["replace"].format(unit=unit)},
        {**POINTS, "replace": POINTS["replace"].format(points=points)},
        {**CLAIM, "replace": CLAIM["replace"].format(period=period, unit_line=f"    time_unit: {claim_unit}\n" if claim_unit else "")},
        {"file": "stability/dp.csv", "write": "study,time_point,test,value,unit,qualifier,text\n" + rows}])
    problems = validate_dossier(load_dossier(folder, label="dossier"))
    assert [p.format() for p in problems if p.severity == "error"] == []
    return folder


def _shelf_life_gaps(folder):
    model = build_model(load_dossier(folder, label="dossier"))
    return [g for g in find_gaps(model, "us", "marketing") if g.rule == "core.shelf-life-supported"]


def _render(folder, prefix, market="neutral"):
    from dossiergen.build import render_folder

    return "\n".join(r.markdown for r in render_folder(folder, market, "ind", prefix))


def test_a_post_thaw_study_in_hours_prints_hours_in_both_languages(tmp_path):
    folder = _dossier(tmp_path, "hours", [0, 2, 4, 6], [100.4, 100.3, 100.2, 100.3], 6, "hours")
    data = _render(folder, "3.2.P.8.3")
    assert "| 0 h | 2 h | 4 h | 6 h |" in data.replace("Acceptance criterion | ", "")[data.find("| 0 h"):] or "| 0 h | 2 h | 4 h | 6 h |" in data
    assert "15–25 °C (room temperature)" in data and "Protocol time points (hours)" in data
    assert "months" not in data.split("Protocol time points")[1].split("\n")[0]
    summary = _render(folder, "3.2.P.8.1")
    assert "| Shelf life | 6 hours |" in summary
    assert "6 hours" in summary and "0.0082" not in summary  # never hours written as a fraction of a month
    assert "Meets the criterion at (hours)" in summary and "the data cover 6 hours" in summary
    chinese = _render(folder, "3.2.P.8", "cn")
    assert "| 0 小时 | 2 小时 | 4 小时 | 6 小时 |" in chinese and "| 6 小时 |" in chinese


def test_a_claim_in_hours_is_judged_against_data_in_hours_both_ways(tmp_path):
    within = _dossier(tmp_path / "a", "hours", [0, 2, 4, 6], [100.4, 100.3, 100.2, 100.3], 6, "hours")
    assert _shelf_life_gaps(within) == []
    beyond = _dossier(tmp_path / "b", "hours", [0, 2, 4, 6], [100.4, 100.3, 100.2, 100.3], 8, "hours")
    gaps = _shelf_life_gaps(beyond)
    assert len(gaps) == 1
    assert gaps[0].detail.startswith("8 hours claimed; 6 hours of long-term data support at most 6 hours")
    lines = (beyond / "stability.yaml").read_text("utf-8").splitlines()
    assert lines[gaps[0].location.line - 1].strip() == "period: 8"


def test_claim_and_data_in_different_units_compare_in_one_unit(tmp_path):
    # 52 weeks of data; 12 months are 52.18 weeks (a month is 365.25/12 days): just beyond the data
    weeks = [0, 13, 26, 52]
    twelve = _dossier(tmp_path / "a", "weeks", weeks, [100.4, 100.3, 100.2, 100.3], 12, None)
    gaps = _shelf_life_gaps(twelve)
    assert len(gaps) == 1 and gaps[0].detail.startswith("12 months claimed; 52 weeks of long-term data support at most 52 weeks")
    eleven = _dossier(tmp_path / "b", "weeks", weeks, [100.4, 100.3, 100.2, 100.3], 11, "months")
    assert _shelf_life_gaps(eleven) == []
    days = _dossier(tmp_path / "c", "weeks", weeks, [100.4, 100.3, 100.2, 100.3], 364, "days")  # 364 days = 52 weeks exactly
    assert _shelf_life_gaps(days) == []


def test_months_data_and_claims_keep_the_q1e_extrapolation(tmp_path):
    # the month path is unchanged: 6 months of room-temperature data, no significant change, may support 12 (Q1E: 2 × X)
    folder = _dossier(tmp_path, "months", [0, 3, 6], [100.4, 100.2, 100.3], 12, None)
    assert _shelf_life_gaps(folder) == []
    text = _render(folder, "3.2.P.8.3")
    assert "| Initial | 3 months | 6 months |" in text


def test_the_statistics_run_in_the_data_unit(tmp_path):
    # assay falls about 0.8 % per hour: the 95 % bound meets the 90 % limit at 9.0 hours, within the
    # 12 hours of data, so the statistics (run in hours) and not the data period limit the claim
    from dossiergen.shelflife import long_term_group

    folder = _dossier(tmp_path, "hours", [0, 4, 8, 12], [100.0, 96.0, 92.1, 90.2], 12, "hours")
    group = long_term_group(build_model(load_dossier(folder, label="dossier")), "dp-minitab")
    assert group.unit == "hours" and group.data_months == 12
    assert abs(group.attributes[0].evaluation.crossing - 9.0) < 0.01
    gaps = _shelf_life_gaps(folder)
    assert len(gaps) == 1
    assert gaps[0].detail.startswith("12 hours claimed; the 95 % confidence bound of 'Assay (HPLC)' meets its limit at 9.0 hours; "
                                     "the data support 9.0 hours")
    nine = _dossier(tmp_path / "nine", "hours", [0, 4, 8, 12], [100.0, 96.0, 92.1, 90.2], 9, "hours")
    assert _shelf_life_gaps(nine) == []


def test_liquid_nitrogen_storage_prints_truthfully_and_counts_as_frozen(tmp_path):
    from dossiergen import stats

    folder = materialise_case("minimal", tmp_path)
    apply_edits(folder, [{"file": "stability.yaml", "find": "condition: 25C_60RH", "replace": "condition: ln2_vapour"}])
    text = _render(folder, "3.2.P.8.3")
    assert "≤ −150 °C (vapour phase of liquid nitrogen)" in text and "−70 ± 10 °C" not in text
    assert "≤ −150 °C（液氮气相）" in _render(folder, "3.2.P.8.3", "cn")
    assert stats.storage_class("ln2_vapour") == "frozen" and stats.storage_class("room_15_25C") == "room"


def test_an_unknown_time_unit_is_a_located_schema_error(tmp_path):
    folder = materialise_case("minimal", tmp_path)
    apply_edits(folder, [{"file": "stability.yaml", "find": "    period: 12\n", "replace": "    period: 12\n    time_unit: fortnights\n"}])
    problems = [p for p in validate_dossier(load_dossier(folder, label="dossier")) if p.severity == "error"]
    assert [(p.code, str(p.location)) for p in problems] == [("schema.enum", "dossier/stability.yaml:19:16")]
    assert "'fortnights' is not an allowed value for Time unit of the period" in problems[0].message
