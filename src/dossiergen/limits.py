"""Structured limits: whether a result meets its acceptance criterion, and how to print a limit."""

from __future__ import annotations

import operator

_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq}
_SYMBOL = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "=": "="}


def meets(limit: dict, value: float) -> bool | None:
    """Return True/False for a numeric value against a structured limit; None if not numeric."""
    if not isinstance(limit, dict) or not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if "comparator" in limit and isinstance(limit.get("value"), (int, float)):
        compare = _COMPARE.get(limit["comparator"])
        return compare(value, limit["value"]) if compare else None
    if isinstance(limit.get("low"), (int, float)) and isinstance(limit.get("high"), (int, float)):
        return limit["low"] <= value <= limit["high"]
    return None


def describe_limit(limit: dict) -> str:
    """Return a limit as short text, for example '≤ 2.0 %' or '95.0–105.0 %'."""
    unit = limit.get("unit", "")
    if "comparator" in limit:
        return f"{_SYMBOL.get(limit['comparator'], limit['comparator'])} {limit.get('value')} {unit}".strip()
    if "low" in limit:
        return f"{limit.get('low')}–{limit.get('high')} {unit}".strip()
    return "conforms" if limit.get("conforms") else "report result"
