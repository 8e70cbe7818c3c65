"""Stability statistics after ICH Q1E (2003): regression per batch, batch poolability, the shelf
life the data support, and out-of-trend results. Pure numbers: no dossier, no files.

Conventions (stated in the documents that print the results):

- Poolability (Q1E Appendix B.2.2, alpha = 0.25): slopes first, then intercepts. Both F tests use
  the residual mean square of the full model (separate intercepts and slopes) as denominator; the
  intercept test compares common intercept and slope with separate intercepts and a common slope
  (time fitted first). This is the convention of LeBlond, Griffith and Aubuchon (2011) "Linear
  Regression 102", JMP's Stability platform and the R package expirest; tools that test intercepts
  within the reduced common-slope model can differ near the 0.25 boundary.
- Model: common intercept and slope (pooled), separate intercepts with a common slope (pooled
  slope, pooled residual), or separate fits per batch, each with its own residual (Q1E B.2.2:
  the earliest batch governs).
- Bound: the one-sided 95 % confidence bound of the mean (Q1E §2.2, B.1); with both limits and a
  direction that is unknown or either, the two-sided 95 % interval (97.5 % per side).
- Crossing: the earliest month at which the bound meets a limit, from month 0 to SEARCH_MONTHS.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np


class _Later:
    """A module imported when first used: scipy and statsmodels take seconds to import, and a build that
    reuses its verdicts and figures (reuse.py, attach.py) computes no statistics."""

    def __init__(self, name: str):
        self.name = name

    def __getattr__(self, attr: str):
        import importlib

        return getattr(importlib.import_module(self.name), attr)


sm, optimize, sps = _Later("statsmodels.api"), _Later("scipy.optimize"), _Later("scipy.stats")

ALPHA = 0.05          # Q1E §2.2: 95 % confidence
ALPHA_POOL = 0.25     # Q1E Appendix B.2.2
OOT_LEVEL = 0.99      # prediction interval used to flag out-of-trend results
SEARCH_MONTHS = 500.0
STEP = 0.02

MODELS = {"common": "common intercept and slope (pooled)",
          "common_slope": "separate intercepts, common slope",
          "separate": "separate fits per batch",
          "single": "one batch"}


class NotEnoughData(ValueError):
    """The data cannot support a regression (too few points or time points)."""


@dataclass(frozen=True)
class Series:
    """One batch's results of one attribute: months and values, with a label."""

    label: str
    months: tuple[float, ...]
    values: tuple[float, ...]


@dataclass
class Fit:
    """A fitted line of one batch under the chosen model, with its bound."""

    label: str
    intercept: float
    slope: float
    crossing: float | None          # earliest month the bound meets a limit (None: beyond the search)
    side: str | None                # 'lower' or 'upper': the limit met first
    params: np.ndarray = field(repr=False, default=None)
    cov: np.ndarray = field(repr=False, default=None)
    df: int = 0
    column: int = 0                 # this batch's position in the model (common intercept: 0)
    model: str = ""

    def mean(self, months) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(months, dtype=float)

    def bounds(self, months, level_q: float, quantile: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return the lower and upper confidence bound of the mean at the months (quantile level_q;
        quantile: its value from _quantile, given by a caller that does without scipy)."""
        t = np.asarray(months, dtype=float)
        se = np.sqrt(np.maximum(_var_mean(self, t), 0.0))
        q = _quantile(level_q, self.df) if quantile is None else quantile
        return self.mean(t) - q * se, self.mean(t) + q * se


@dataclass
class Evaluation:
    """The Q1E evaluation of one attribute over its batches."""

    lower: float | None
    upper: float | None
    sided: str                       # 'one' or 'two'
    sides: tuple[str, ...]           # the limits the bound is compared with
    model: str                       # key of MODELS
    fits: list[Fit]
    p_slopes: float | None = None
    f_slopes: float | None = None
    p_intercepts: float | None = None
    f_intercepts: float | None = None
    n: int = 0
    max_month: float = 0.0
    level: float = 0.95              # per side

    @property
    def crossing(self) -> float | None:
        """The earliest crossing over the batches (the shelf life the statistics support)."""
        found = [f.crossing for f in self.fits if f.crossing is not None]
        return min(found) if found else None

    @property
    def governing(self) -> Fit | None:
        """The batch whose bound meets a limit first."""
        found = [f for f in self.fits if f.crossing is not None]
        return min(found, key=lambda f: f.crossing) if found else None

    def as_dict(self) -> dict:
        return {"lower": self.lower, "upper": self.upper, "sided": self.sided, "sides": list(self.sides),
                "confidence_per_side": self.level, "model": self.model, "model_text": MODELS[self.model],
                "n": self.n, "batches": len(self.fits), "max_month": self.max_month,
                "slopes": None if self.p_slopes is None else {"F": _r(self.f_slopes), "p": _r(self.p_slopes)},
                "intercepts": None if self.p_intercepts is None else {"F": _r(self.f_intercepts), "p": _r(self.p_intercepts)},
                "fits": [{"batch": f.label, "intercept": _r(f.intercept), "slope": _r(f.slope),
                          "crossing_months": _r(f.crossing, 2), "limit": f.side} for f in self.fits],
                "crossing_months": _r(self.crossing, 2),
                "governing_batch": self.governing.label if self.governing else None}


def _r(value, digits: int = 6):
    return None if value is None else round(float(value), digits)


def sides_for(lower: float | None, upper: float | None, direction: str | None = None) -> tuple[str, tuple[str, ...]]:
    """Return ('one'|'two', sides) for the limits and the attribute's known direction.

    A one-sided limit gives a one-sided bound. With both limits, a known direction ('decreases' or
    'increases') gives the one-sided bound on that side; unknown or 'either' gives two-sided
    (Q1E Appendix B.1)."""
    if lower is None and upper is None:
        raise ValueError("an evaluation needs a lower or an upper limit")
    if lower is not None and upper is not None:
        if direction == "decreases":
            return "one", ("lower",)
        if direction == "increases":
            return "one", ("upper",)
        return "two", ("lower", "upper")
    return "one", (("lower",) if lower is not None else ("upper",))


def evaluate(series: list[Series], lower: float | None = None, upper: float | None = None,
             sided: str | None = None, direction: str | None = None) -> Evaluation:
    """Return the Q1E evaluation of the batches' series against the limits.

    sided forces 'one' or 'two'; by default it follows sides_for(lower, upper, direction).
    With sided 'one' and both limits, the direction (or else the sign of the pooled slope) picks the side."""
    series = [s for s in series if len(set(s.months)) >= 2]  # a batch at one time point has no slope
    default_sided, sides = sides_for(lower, upper, direction)
    if sided is None:
        sided = default_sided
    elif sided == "two":
        sides = tuple(s for s in ("lower", "upper") if (lower if s == "lower" else upper) is not None)
    elif sided == "one" and len(sides) == 2:
        slope = _pooled_slope(series)
        sides = ("lower",) if slope <= 0 else ("upper",)
    level = 1 - ALPHA / 2 if sided == "two" else 1 - ALPHA
    t_all = np.concatenate([np.asarray(s.months, float) for s in series]) if series else np.array([])
    if len(t_all) < 3 or len(np.unique(t_all)) < 2:
        raise NotEnoughData("a regression needs at least 3 results at 2 or more time points")
    result = Evaluation(lower, upper, sided, sides, "single", [], n=len(t_all), max_month=float(t_all.max()), level=level)
    if len(series) == 1:
        result.fits = [_fit_single(series[0], "single")]
    else:
        full_rss, full_df = _rss(*_design(series, "separate"))
        dics_rss, _ = _rss(*_design(series, "common_slope"))
        cics_rss, _ = _rss(*_design(series, "common"))
        k = len(series)
        if full_df <= 0:
            raise NotEnoughData("too few results per batch to test poolability (Q1E B.2.2)")
        y = np.concatenate([np.asarray(s.values, float) for s in series])
        if full_rss <= 1e-12 * max(float(np.sum((y - y.mean()) ** 2)), 1e-300) or full_rss < 1e-20:
            raise NotEnoughData("the results lie exactly on straight lines or do not vary; nothing to estimate (Q1E §2.4.1.1)")
        mse = full_rss / full_df
        result.f_slopes = max(0.0, (dics_rss - full_rss) / (k - 1)) / mse
        result.p_slopes = float(sps.f.sf(result.f_slopes, k - 1, full_df))
        result.f_intercepts = max(0.0, (cics_rss - dics_rss) / (k - 1)) / mse
        result.p_intercepts = float(sps.f.sf(result.f_intercepts, k - 1, full_df))
        if result.p_slopes > ALPHA_POOL:
            result.model = "common" if result.p_intercepts > ALPHA_POOL else "common_slope"
            result.fits = _fit_pooled(series, result.model)
        else:
            result.model = "separate"
            result.fits = [_fit_single(s, "separate") for s in series]
    for fit in result.fits:
        fit.crossing, fit.side = _crossing(fit, lower, upper, sides, level)
    return result


def _pooled_slope(series: list[Series]) -> float:
    t = np.concatenate([np.asarray(s.months, float) for s in series])
    y = np.concatenate([np.asarray(s.values, float) for s in series])
    return float(np.polyfit(t, y, 1)[0]) if len(np.unique(t)) > 1 else 0.0


def _design(series: list[Series], model: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (X, y) of a model: 'common' [1, t]; 'common_slope' [d1..dk, t]; 'separate' [d1..dk, d1 t..dk t]."""
    k = len(series)
    rows, y = [], []
    for i, s in enumerate(series):
        for t, v in zip(s.months, s.values):
            dummies = [1.0 if j == i else 0.0 for j in range(k)]
            if model == "common":
                rows.append([1.0, float(t)])
            elif model == "common_slope":
                rows.append(dummies + [float(t)])
            else:
                rows.append(dummies + [d * float(t) for d in dummies])
            y.append(float(v))
    return np.asarray(rows), np.asarray(y)


def _rss(X: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    fit = sm.OLS(y, X).fit()
    return float(fit.ssr), int(len(y) - np.linalg.matrix_rank(X))


def _fit_single(s: Series, model: str) -> Fit:
    t, y = np.asarray(s.months, float), np.asarray(s.values, float)
    if len(t) < 3 or len(np.unique(t)) < 2:
        raise NotEnoughData(f"batch {s.label}: a regression needs at least 3 results at 2 or more time points")
    fit = sm.OLS(y, sm.add_constant(t, has_constant="add")).fit()
    return Fit(s.label, float(fit.params[0]), float(fit.params[1]), None, None,
               np.asarray(fit.params), np.asarray(fit.cov_params()), int(fit.df_resid), 0, model)


def _fit_pooled(series: list[Series], model: str) -> list[Fit]:
    X, y = _design(series, model)
    fit = sm.OLS(y, X).fit()
    params, cov, df = np.asarray(fit.params), np.asarray(fit.cov_params()), int(fit.df_resid)
    if model == "common":
        return [Fit(s.label, float(params[0]), float(params[1]), None, None, params, cov, df, 0, model) for s in series]
    k = len(series)
    return [Fit(s.label, float(params[i]), float(params[k]), None, None, params, cov, df, i, model)
            for i, s in enumerate(series)]


@functools.lru_cache(maxsize=1024)
def _quantile(level: float, df: int) -> float:
    return float(sps.t.ppf(level, df))


def _var_mean(fit: Fit, t: np.ndarray) -> np.ndarray:
    """Return the variance of the fitted mean of this batch at times t."""
    if fit.model == "common_slope":
        k = len(fit.params) - 1
        i, j = fit.column, k
    else:
        i, j = 0, 1
    c = fit.cov
    return c[i, i] + 2 * t * c[i, j] + t * t * c[j, j]


def _crossing(fit: Fit, lower, upper, sides, level) -> tuple[float | None, str | None]:
    """Return the earliest month where the bound meets a limit, and which limit."""
    best: tuple[float | None, str | None] = (None, None)
    grid = np.arange(0.0, SEARCH_MONTHS + STEP, STEP)
    for side in sides:
        limit = lower if side == "lower" else upper

        def margin(t, side=side, limit=limit):
            lo, hi = fit.bounds(np.atleast_1d(t), level)
            return (lo - limit) if side == "lower" else (limit - hi)

        values = margin(grid)
        bad = np.nonzero(values < 0)[0]
        if not len(bad):
            continue
        first = bad[0]
        if first == 0:
            when = 0.0
        else:
            when = float(optimize.brentq(lambda x: float(margin(x)[0]), grid[first - 1], grid[first], xtol=1e-10))
        if best[0] is None or when < best[0]:
            best = (when, side)
    return best


def out_of_trend(series: Series, level: float = OOT_LEVEL) -> list[tuple[float, float, float, float]]:
    """Return the results of one batch outside the two-sided prediction interval of its own regression.

    Each result is left out of the fit it is judged by (a point cannot hide itself). Returns
    (month, value, low, high) for each out-of-trend result; a batch with fewer than 4 results gives none.
    The interval is widened by the reporting resolution (the last decimal the results are given to),
    so that rounding alone (0.2 among values of 0.1) is never a trend."""
    t, y = np.asarray(series.months, float), np.asarray(series.values, float)
    resolution = 10.0 ** -max((_decimals(v) for v in series.values), default=0)
    found = []
    n = len(t)
    if n < 4 or len(np.unique(t)) < 2:
        return found
    X = np.column_stack([np.ones(n), t])
    xtx_inv = np.linalg.pinv(X.T @ X)
    hat = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
    residual = y - X @ (xtx_inv @ X.T @ y)
    sse = float(residual @ residual)
    q = sps.t.ppf(1 - (1 - level) / 2, n - 3)
    for i in range(n):
        keep = np.arange(n) != i
        if hat[i] > 1 - 1e-9 or len(np.unique(t[keep])) < 2:
            continue
        # the fit without result i, in closed form: its prediction of y_i and the prediction interval
        predicted = y[i] - residual[i] / (1 - hat[i])
        s2 = max(sse - residual[i] ** 2 / (1 - hat[i]), 0.0) / (n - 3)
        half = q * np.sqrt(s2 / (1 - hat[i]))
        slack = resolution * (1 + 1e-6)  # and a hair more: 0.1 + 0.1 is not exactly 0.2 in floating point
        low, high = predicted - half - slack, predicted + half + slack
        if not (low <= y[i] <= high):
            found.append((float(t[i]), float(y[i]), float(low), float(high)))
    return found


def _decimals(value: float) -> int:
    text = repr(float(value))
    if "e" in text or "E" in text:
        return 6
    whole, _, fraction = text.partition(".")
    return 0 if fraction in ("", "0") else len(fraction)


# --- the Q1E decision tree (Appendix A) and the Q5C real-time rule -------------------------------

# The Step 4 guidelines are applied. The ICH Q1 Step 2 draft (April 2025), which consolidates Q1A-F
# and Q5C, was under public consultation and is not applied; a claim may cite it in its justification.
Q1E = "ICH Q1E (2003)"
Q5C = "ICH Q5C (1995)"


@dataclass(frozen=True)
class Support:
    """The shelf life the data support, with the rule that limits it."""

    key: str                # the branch, for labels: biotech, frozen, refrigerated_change, ...
    months: float           # supported months (the lower of the cap and the statistical crossing)
    cap: float              # what the data period X allows under the rule
    data_months: float      # X: months of long-term data
    rule: str               # the decision-tree branch, in words
    source: str             # guideline and section
    crossing: float | None  # the statistical crossing (None: not evaluated or beyond the search)

    def as_dict(self) -> dict:
        return {"branch": self.key, "months": _r(self.months, 2), "cap": _r(self.cap, 2), "data_months": self.data_months,
                "rule": self.rule, "source": self.source, "crossing_months": _r(self.crossing, 2)}


def storage_class(condition: str) -> str:
    """Return 'frozen', 'refrigerated' or 'room' for an ICH long-term storage condition code."""
    if condition.startswith("-") or condition == "ln2_vapour":  # ln2_vapour: vapour phase of liquid nitrogen, ≤ −150 °C
        return "frozen"
    if condition.startswith("5C"):
        return "refrigerated"
    return "room"


def supported(data_months: float, storage: str, *, biotech: bool = False, crossing: float | None = None,
              significant_change_accelerated: bool = False, significant_change_intermediate: bool = False,
              statistics: bool = True) -> Support:
    """Return the shelf life the data support under Q1E Appendix A (or Q5C for biotechnological products).

    storage: 'room', 'refrigerated' or 'frozen'. statistics: whether the long-term data were
    evaluated statistically (amenable to statistical analysis and analysed)."""
    x = float(data_months)
    if biotech:
        key, cap, rule, source = "biotech", x, "biotechnological product: real-time data only, no extrapolation", \
            f"{Q5C} §4 and §6.1 (real-time/real-temperature data)"
    elif storage == "frozen":
        key, cap, rule, source = "frozen", x, "frozen storage: based on long-term data, no extrapolation", f"{Q1E} §2.5.2 and §2.5.3 (freezer and below -20 °C)"
    elif storage == "refrigerated":
        if significant_change_accelerated:
            key, cap, rule, source = "refrigerated_change", x, "refrigerated, significant change at accelerated: no extrapolation", f"{Q1E} §2.5.1, Appendix A"
        elif statistics:
            key, cap, rule, source = "refrigerated", min(1.5 * x, x + 6), "refrigerated, no significant change at accelerated: up to 1.5 × X, at most X + 6 months", f"{Q1E} §2.5.1, Appendix A"
        else:
            key, cap, rule, source = "refrigerated_no_statistics", x + 3, "refrigerated, data not amenable to statistics: at most X + 3 months", f"{Q1E} §2.5.1, Appendix A"
    else:
        if significant_change_accelerated and significant_change_intermediate:
            key, cap, rule, source = "room_change_intermediate", x, "significant change at accelerated and intermediate: no extrapolation", f"{Q1E} §2.4.2.2, Appendix A"
        elif significant_change_accelerated:
            if statistics:
                key, cap, rule, source = "room_change", min(1.5 * x, x + 6), "significant change at accelerated only: up to 1.5 × X, at most X + 6 months", f"{Q1E} §2.4.2.1, Appendix A"
            else:
                key, cap, rule, source = "room_change_no_statistics", x + 3, "significant change at accelerated, no statistics: at most X + 3 months", f"{Q1E} §2.4.2.1, Appendix A"
        elif statistics:
            key, cap, rule, source = "room", min(2 * x, x + 12), "room temperature, no significant change at accelerated: up to 2 × X, at most X + 12 months", f"{Q1E} §2.4.1, Appendix A"
        else:
            key, cap, rule, source = "room_no_statistics", min(1.5 * x, x + 6), "room temperature, data not amenable to statistics: up to 1.5 × X, at most X + 6 months", f"{Q1E} §2.4.1.2, Appendix A"
    months = cap if crossing is None else min(cap, crossing)
    return Support(key, months, cap, x, rule, source, crossing)
