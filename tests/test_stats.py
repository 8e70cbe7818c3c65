"""ICH Q1E statistics reproduce published examples with known answers (to ±0.01 month).

Data: tests/data/q1e (the R package expirest's exp1-exp4, see its README). Answers: expirest's
tests/testthat/test-expirest_osle.R, which reproduce LeBlond, Griffith and Aubuchon (2011)
"Linear Regression 102", J Valid Technol 17(3) 47-68, and the JMP 12 Stability Analysis example."""

import csv
from pathlib import Path

import pytest

from dossiergen import stats

DATA = Path(__file__).parent / "data" / "q1e"


def series(name: str, batches=None) -> list[stats.Series]:
    rows = list(csv.DictReader((DATA / f"expirest-{name}.csv").open()))
    found: dict[str, list] = {}
    for row in rows:
        if batches is None or row["batch"] in batches:
            found.setdefault(row["batch"], []).append((float(row["month"]), float(row["value"])))
    return [stats.Series(b, tuple(m for m, _ in v), tuple(y for _, y in v)) for b, v in found.items()]


def test_leblond_table_v_common_intercept_and_slope():
    # LeBlond 2011 Table V / Figure 4 (batches 2, 5, 7): cics, y = 100.567 - 0.192994 t, POI 26 (25.9957631369)
    result = stats.evaluate(series("exp1", {"b2", "b5", "b7"}), lower=95)
    assert result.model == "common"
    assert result.crossing == pytest.approx(25.9957631369, abs=0.01)
    assert result.fits[0].intercept == pytest.approx(100.566878981, abs=1e-6)
    assert result.fits[0].slope == pytest.approx(-0.192993630573, abs=1e-9)
    assert result.f_intercepts == pytest.approx(0.435993484727, abs=1e-6)  # ANCOVA F for batch
    assert result.f_slopes == pytest.approx(0.228684731019, abs=1e-6)      # ANCOVA F for batch x time


def test_leblond_table_vii_separate_intercepts_common_slope():
    # LeBlond 2011 Table VII / Figure 6 (batches 3, 4, 5): dics, common slope -0.213121, POI 23.4 (23.3972651235)
    result = stats.evaluate(series("exp1", {"b3", "b4", "b5"}), lower=95)
    assert result.model == "common_slope"
    assert result.crossing == pytest.approx(23.3972651235, abs=0.01)
    assert [round(f.intercept, 3) for f in result.fits] == [102.176, 104.255, 100.820]
    assert result.fits[0].slope == pytest.approx(-0.213120866465, abs=1e-9)
    assert result.f_intercepts == pytest.approx(21.7380213596, abs=1e-6)
    assert result.f_slopes == pytest.approx(0.183108926252, abs=1e-6)


def test_leblond_table_ix_separate_fits_worst_batch():
    # LeBlond 2011 Table IX / Figure 7 (batches 4, 5, 8): dids; from the individual batches' fits the
    # worst batch gives 15.8448655130 (JMP 12.0.1: 15.844877978)
    result = stats.evaluate(series("exp1", {"b4", "b5", "b8"}), lower=95)
    assert result.model == "separate"
    assert result.crossing == pytest.approx(15.8448655130, abs=0.01)
    assert result.governing.label == "b8"
    assert [round(f.slope, 6) for f in result.fits] == [-0.196151, -0.208609, -0.330208]
    assert result.f_slopes == pytest.approx(1.95541944320, abs=1e-6)


def test_leblond_table_xii_increasing_impurity_upper_bound():
    # LeBlond 2011 Table XII / Figure 8: related substances, upper limit 0.3, dids, POI 15.8448655130
    result = stats.evaluate(series("exp2"), upper=0.3)
    assert result.sides == ("upper",)
    assert result.model == "separate"
    assert result.crossing == pytest.approx(15.8448655130, abs=0.01)


def test_leblond_table_xiv_two_sided_moisture():
    # LeBlond 2011 Table XIV / Figure 9: moisture 1.5-3.5 %, direction unknown -> two-sided 95 %
    # (97.5 % per side); cics; lower side 50.7665191694, upper side 45.3460440833
    result = stats.evaluate(series("exp3"), lower=1.5, upper=3.5)
    assert result.sided == "two" and result.level == pytest.approx(0.975)
    assert result.model == "common"
    assert result.crossing == pytest.approx(45.3460440833, abs=0.01)
    assert result.fits[0].side == "upper"
    lower_only = stats.evaluate(series("exp3"), lower=1.5, upper=3.5, sided="two")
    fit = lower_only.fits[0]
    lo, _ = fit.bounds([50.7665191694], 0.975)
    assert lo[0] == pytest.approx(1.5, abs=1e-4)  # the lower bound meets 1.5 % at expirest's lower POI


def test_jmp_stability_example():
    # JMP 12 Reliability and Survival Methods, Stability Analysis (Figure 6.27): different intercepts,
    # common slope; earliest crossing 23.47505 (expirest 23.4750503440); worst batch 2_12
    result = stats.evaluate(series("exp4"), lower=95)
    assert result.model == "common_slope"
    assert result.crossing == pytest.approx(23.4750503440, abs=0.01)
    assert result.governing.label == "2_12"
    assert result.f_slopes == pytest.approx(0.329080900382, abs=1e-6)
    assert result.f_intercepts == pytest.approx(19.8876404032, abs=1e-6)


def test_assay_with_a_range_that_only_falls_uses_the_lower_one_sided_bound():
    # Q1E Appendix B.1: a known direction with both limits gives a one-sided bound
    one = stats.evaluate(series("exp1", {"b2", "b5", "b7"}), lower=95, upper=105, direction="decreases")
    assert (one.sided, one.sides) == ("one", ("lower",))
    assert one.crossing == pytest.approx(25.9957631369, abs=0.01)
    two = stats.evaluate(series("exp1", {"b2", "b5", "b7"}), lower=95, upper=105)
    assert two.sided == "two" and two.crossing < one.crossing  # 97.5 % per side is wider


def test_too_few_results_is_an_error_not_a_number():
    with pytest.raises(stats.NotEnoughData):
        stats.evaluate([stats.Series("a", (0.0, 3.0), (100.0, 99.0))], lower=95)


@pytest.mark.parametrize("storage,biotech,accelerated,expected", [
    ("room", False, False, 24),          # 2 x 12, at most 12 + 12 (Q1E §2.4.1)
    ("refrigerated", False, False, 18),  # 1.5 x 12, at most 12 + 6 (Q1E §2.5.1)
    ("refrigerated", False, True, 12),   # significant change at accelerated: none
    ("frozen", False, False, 12),        # freezer: none (Q1E §2.5.2)
    ("room", True, False, 12),           # biotechnological: real-time only (Q5C)
])
def test_extrapolation_caps_follow_the_decision_tree(storage, biotech, accelerated, expected):
    found = stats.supported(12, storage, biotech=biotech, significant_change_accelerated=accelerated)
    assert found.cap == expected and found.months == expected
    assert "ICH" in found.source


def test_extrapolation_is_capped_in_absolute_months_and_by_the_statistics():
    assert stats.supported(36, "room").cap == 48           # 2 x 36 = 72, but at most 36 + 12
    assert stats.supported(24, "room", crossing=30.2).months == pytest.approx(30.2)


def test_an_out_of_trend_result_is_flagged():
    months = (0, 3, 6, 9, 12, 18, 24)
    values = (100.0, 99.7, 99.5, 99.1, 95.0, 98.3, 97.9)   # month 12 drops far below the line
    found = stats.out_of_trend(stats.Series("b1", months, values))
    assert [m for m, *_ in found] == [12]
    assert stats.out_of_trend(stats.Series("b1", months, (100.0, 99.7, 99.5, 99.1, 98.8, 98.3, 97.9))) == []


def test_the_regressions_are_statsmodels_own_numbers_to_the_last_bit():
    """stats.py fits without importing statsmodels (issue 19: 70 MB and a second of every build),
    repeating its OLS 'pinv' computation; the shelf lives, bounds and figures must not move by a bit:
    parameters, covariance, residual sum of squares and degrees of freedom equal statsmodels' for every
    model of Q1E's poolability test, and the t and F quantiles equal scipy.stats'."""
    import warnings

    import numpy as np
    import scipy.stats as sps
    import statsmodels.api as sm

    rng = np.random.default_rng(19)
    for _ in range(200):
        months = list(map(float, rng.choice([0, 1, 3, 6, 9, 12, 18, 24, 36], size=int(rng.integers(2, 7)))))
        series = [stats.Series(f"b{i}", months, list(np.round(rng.normal(100 - 0.1 * np.asarray(months), 0.5), 1)))
                  for i in range(int(rng.integers(1, 5)))]
        for model in ("common", "common_slope", "separate"):
            X, y = stats._design(series, model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # rank-deficient designs and no residual degrees of freedom
                fit = sm.OLS(y, X).fit()
                expected = (fit.params, fit.cov_params(), fit.ssr, fit.df_resid)
            params, cov, ssr, df = stats._ols(X, y)
            assert np.array_equal(params, expected[0]) and np.array_equal(cov, expected[1], equal_nan=True)
            assert (ssr, df) == (expected[2], expected[3])
    for df in range(1, 60):
        for level in (0.95, 0.975, 0.995):
            assert stats._quantile(level, df) == sps.t.ppf(level, df)
        for x in (0.0, 0.4, 1.7, 9.0):
            assert stats.special.fdtrc(3, df, x) == sps.f.sf(x, 3, df)
