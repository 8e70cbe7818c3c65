"""Derived tables for documents: specification rows, batch and stability pivots, sites by role.

Pure functions of the model; they return cells as plain values (escaped later) or Markdown.
"""

from __future__ import annotations

from .limits import meets
from .model import Model, results_by_batch, results_by_study
from .text import pick

BATCHES_PER_TABLE = 5
TIME_POINTS_PER_TABLE = 8


def chunks(items: list, size: int) -> list[list]:
    """Return items in consecutive groups of at most size (wide tables split across pages)."""
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def format_number(value) -> str:
    """Return a number as written in a table (no trailing .0 on whole numbers of integers)."""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        return f"{int(value)}"
    return f"{value}"


QUALIFIER_WORDS = {"<LOQ": {"en": "< LOQ", "zh": "< LOQ"}, "<LOD": {"en": "< LOD", "zh": "< LOD"},
                   "not_detected": {"en": "Not detected", "zh": "未检出"}, "not_tested": {"en": "Not tested", "zh": "未检测"}}


def format_result(result: dict | None, units: dict, lang: str) -> str:
    """Return one result as printed: '99.5 %', '< LOQ', 'Conforms'."""
    if not result:
        return "–"
    qualifier = result.get("qualifier")
    unit = _unit(result.get("unit"), units, lang)
    if "value" in result:
        prefix = {"<": "< ", ">": "> ", "NMT": "不得过" if lang == "zh" else "NMT "}.get(qualifier, "")
        return f"{prefix}{format_number(result['value'])}{(' ' + unit) if unit else ''}"
    if qualifier:
        words = QUALIFIER_WORDS.get(qualifier)
        return (words.get(lang) or words["en"]) if words else qualifier
    if lang == "zh" and result.get("text_zh"):
        return str(result["text_zh"])
    return str(pick(result.get("text"), lang))


def _unit(code, units: dict, lang: str) -> str:
    if not code:
        return ""
    label = units.get(code, {})
    return label.get(lang) or label.get("en") or code


def format_quantity(q: dict | None, units: dict, lang: str) -> str:
    """Return '150 mg/mL' from {value, unit}."""
    if not isinstance(q, dict):
        return ""
    unit = _unit(q.get("unit"), units, lang)
    return f"{format_number(q.get('value'))} {unit}".strip()


def format_range(r: dict | None, units: dict, lang: str) -> str:
    """Return '55–65 °C' from {low, high, unit}."""
    if not isinstance(r, dict):
        return ""
    return f"{format_number(r.get('low'))}–{format_number(r.get('high'))} {_unit(r.get('unit'), units, lang)}".strip()


def batch_pivot(model: Model, spec: dict, batch_ids: list[str]) -> list[dict]:
    """Return one table per group of batches: {'batches': [...], 'rows': [(test, [result, ...])]}.

    Tests come in specification order; a test a batch was not tested for shows as absent.
    Out-of-specification results are flagged in 'oos'.
    """
    by_batch = results_by_batch(model)
    batches = [b.data for b in (model.get(i, "batch") for i in batch_ids) if b is not None]
    tables = []
    for group in chunks(batches, BATCHES_PER_TABLE):
        rows = []
        for test in spec.get("tests", []):
            found = [_result_for(by_batch.get(b["id"], []), test["id"]) for b in group]
            rows.append({"test": test, "results": found,
                         "oos": [meets(test["acceptance"]["limit"], r.get("value")) is False if r else False for r in found]})
        tables.append({"batches": group, "rows": rows})
    return tables


def _result_for(results: list[dict], test_id: str) -> dict | None:
    return next((r for r in results if r.get("test") == test_id), None)


def stability_pivot(model: Model, study: dict) -> list[dict]:
    """Return tables of a study: {'time_points': [...], 'rows': [(test, [result per time point])]}."""
    spec_entity = model.get((study.get("specification") or {}).get("id"), "specification")
    spec = spec_entity.data if spec_entity else {"tests": []}
    results = results_by_study(model).get(study["id"], [])
    by_cell = {}
    for result in results:  # the first result of a test at a time point is shown
        by_cell.setdefault((result.get("test"), result.get("time_point")), result)
    measured = {point for _, point in by_cell}
    points = [p for p in study.get("time_points", []) if p in measured]
    tested = {test for test, _ in by_cell}
    tests = [t for t in spec.get("tests", []) if t["id"] in tested]
    tables = []
    for group in chunks(points, TIME_POINTS_PER_TABLE):
        rows = [{"test": t, "results": [by_cell.get((t["id"], p)) for p in group]} for t in tests]
        tables.append({"time_points": group, "rows": rows, "criteria": {t["id"]: _stability_criterion(t) for t in tests}})
    return tables


def _stability_criterion(test: dict) -> dict:
    return test.get("shelf_life_acceptance") or test["acceptance"]


def sites_for(model: Model, subject_id: str) -> list[dict]:
    """Return [{'site': data, 'roles': [role entries for this subject]}] in sites.yaml order."""
    found = []
    for site in model.of_type("site"):
        roles = [r for r in site.data.get("roles", []) if subject_id in r.get("subjects", [])]
        if roles:
            found.append({"site": site.data, "roles": roles})
    return found


def studies_of(model: Model, subject_id: str) -> list[dict]:
    """Return the stability studies of a substance or product, in stability.yaml order."""
    return [s.data for s in model.of_type("study") if s.data.get("subject") == subject_id]


def cumulative_lrv(steps: list[dict], virus_id: str) -> float:
    """Return the cumulative log10 reduction of a virus over the counted steps."""
    return round(sum(s.get("lrv", {}).get(virus_id, 0) for s in steps if s.get("counted", True)), 1)
