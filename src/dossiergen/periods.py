"""Time in stability data: a study counts its time points in one unit (months unless `time_unit`
says weeks, days or hours), a claim states its period with a unit (months unless its `time_unit`
says otherwise). Rules compare periods in one common unit (TimePoint converts; a month is 365.25/12
days), statistics run on the data's own numbers, and documents print each value in its own unit.
"""

from __future__ import annotations

from .views.types import TIME_UNITS, TimePoint

DEFAULT_UNIT = "months"
SYMBOLS = {"hours": ("h", "小时"), "days": ("d", "天"), "weeks": ("wk", "周")}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def study_unit(study: dict) -> str:
    """Return the unit a study's time points count in."""
    unit = study.get("time_unit") if isinstance(study, dict) else None
    return unit if unit in TIME_UNITS else DEFAULT_UNIT


EXPOSURE_POINTS = (0, 1)  # an exposure study's results: 0 before the light exposure, 1 after it


def is_exposure_study(study: dict) -> bool:
    """True for a photostability study that gives its light exposure (ICH Q1B) instead of time points:
    its results are not a time series (no shelf-life months, no time labels)."""
    return isinstance(study, dict) and isinstance(study.get("exposure"), dict)


def study_points(study: dict) -> list:
    """Return a study's protocol points: its time points, or 0 and 1 (before and after the light
    exposure) for an exposure study that gives none."""
    points = study.get("time_points") if isinstance(study, dict) else None
    if isinstance(points, list) and points:
        return points
    return list(EXPOSURE_POINTS) if is_exposure_study(study) else []


def claim_key(claim: dict) -> str:
    """Return the key that holds a claim's period: period, or months (schema version 1)."""
    return "period" if isinstance(claim, dict) and "period" in claim else "months"


def claim_period(claim: dict) -> TimePoint | None:
    """Return a claim's period with its unit (None when it states none)."""
    if not isinstance(claim, dict):
        return None
    value = claim.get(claim_key(claim))
    if not _number(value) or value <= 0:
        return None
    unit = claim.get("time_unit") if claim_key(claim) == "period" and claim.get("time_unit") in TIME_UNITS else DEFAULT_UNIT
    return TimePoint(value, unit)


def in_unit(value: float, unit: str, target: str) -> float:
    """Return a duration given in unit, counted in target."""
    return value * TIME_UNITS[unit] / TIME_UNITS[target]


def number_text(value: float) -> str:
    """Return a duration's number as printed: whole numbers without decimals, else one decimal."""
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def duration(value: float, unit: str, lang: str) -> str:
    """Return e.g. '24 months', '1 month', '6 hours', '6 小时', '24 个月'."""
    return TimePoint(float(number_text(value)) if "." in number_text(value) else int(number_text(value)), unit).label(lang)


def column_label(value: float, unit: str, lang: str, initial: str, month_word: str, months_word: str) -> str:
    """Return the column label of a stability time point: 'Initial', '3 months' for months (the labels
    the documents have always used); '0 h', '6 h', '7 d', '2 wk' (Chinese: '6 小时', '7 天', '2 周') else."""
    number = int(value) if value == int(value) else value
    if unit == DEFAULT_UNIT:
        return initial if value == 0 else f"{number} {month_word if value == 1 else months_word}"
    symbol = SYMBOLS[unit][1 if lang == "zh" else 0]
    return f"{number} {symbol}"
