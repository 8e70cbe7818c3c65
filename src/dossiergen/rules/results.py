"""Rules: results belong to the specification version tested against, and meet its limits."""

from __future__ import annotations

import datetime as dt

from ..clock import today
from ..errors import Problem
from ..limits import describe_limit, meets
from ..schema import units
from ..periods import EXPOSURE_POINTS, is_exposure_study
from ..model import Entity, Model, criterion_for, results_by_batch, results_by_study, spec_tests, version_test
from ..views.types import TIME_UNITS, TimePoint


def _tested_against(dossier, model: Model, holder: Entity, label: str) -> tuple[dict | None, set | None, list]:
    ref = holder.data.get("specification")
    if not isinstance(ref, dict):
        return None, None, []
    spec = model.get(ref.get("id"), "specification")
    if spec is None:
        return None, None, []  # reported by check_references
    tests = spec_tests(spec.data, ref.get("version"))
    if tests is None:
        known = [spec.data.get("version")] + [v.get("version") for v in spec.data.get("previous_versions", []) or [] if isinstance(v, dict)]
        return spec.data, None, [Problem("ref.unknown_spec_version",
                                         f"{label} names version {ref.get('version')!r} of '{spec.id}', which does not exist",
                                         dossier.location_of(ref, "version"),
                                         hint=f"known versions: {', '.join(map(str, known))}; list older ones under previous_versions")]
    problems = []
    subject = holder.data.get("subject")
    if subject and spec.data.get("subject") not in (None, subject):
        problems.append(Problem("ref.subject_mismatch",
                                f"{label} is of '{subject}' but specification '{spec.id}' is for '{spec.data.get('subject')}'",
                                dossier.location_of(ref, "id"), hint="name the specification of the same substance or product"))
    return spec.data, tests, problems


def check_result_tests(dossier, model: Model) -> list[Problem]:
    """Every result names a test of the specification version its batch or study was tested against."""
    problems = []
    by_batch, by_study = results_by_batch(model), results_by_study(model)
    holders = [(b, by_batch.get(b.id, []), f"batch '{b.id}'") for b in model.of_type("batch")]
    holders += [(s, by_study.get(s.id, []), f"study '{s.id}'") for s in model.of_type("study")]
    for holder, results, label in holders:
        spec, tests, found = _tested_against(dossier, model, holder, label)
        problems += found
        if tests is None:
            continue
        seen = set()
        for result in results:
            test = result.get("test")
            key = (test, result.get("time_point"))
            if test not in tests:
                version = holder.data["specification"].get("version")
                problems.append(Problem("ref.unknown_test",
                                        f"{label} was tested against '{spec.get('id')}' version {version}, which has no test '{test}'",
                                        dossier.location_of(result, "test"),
                                        hint=f"tests of that version: {', '.join(sorted(t for t in tests if t))}"))
            elif key in seen:
                problems.append(Problem("result.duplicate", f"{label} has a second result for test '{test}'"
                                        + (f" at {_when(holder, key[1])}" if key[1] is not None else ""),
                                        dossier.location_of(result, "test"), hint="keep one result per test"))
            seen.add(key)
    return problems


def check_result_limits(dossier, model: Model) -> list[Problem]:
    """Numeric results outside their structured criterion are reported as warnings: the criterion
    of the specification version the batch or study was tested against (a result obtained under an
    earlier version is judged by that version's criteria, the ones in force when it was released)."""
    problems = []
    by_batch, by_study = results_by_batch(model), results_by_study(model)
    for batch in model.of_type("batch"):
        problems += _limits(dossier, model, batch, by_batch.get(batch.id, []), "batch")
    for study in model.of_type("study"):
        problems += _limits(dossier, model, study, by_study.get(study.id, []), "study")
    return problems


def _discussed(holder: Entity) -> bool:
    """True for a lot whose disposition discusses its out-of-specification results: released under
    exceptional circumstances or failed manufacture, with the justification (batches.yaml disposition)."""
    disposition = holder.data.get("disposition")
    return isinstance(disposition, dict) and disposition.get("status") in ("released_exceptional", "failed_manufacture") \
        and bool(disposition.get("justification"))


def _limits(dossier, model: Model, holder: Entity, results: list, what: str) -> list[Problem]:
    ref = holder.data.get("specification")
    spec = model.get(ref.get("id"), "specification") if isinstance(ref, dict) else None
    if spec is None:
        return []
    problems = []
    name = holder.data.get("number", holder.id) if what == "batch" else holder.id
    version = ref.get("version")
    earlier = version is not None and version != spec.data.get("version")
    judged: dict = {}  # (test id, shelf life) -> (test, criterion): a lot's results share a few tests (each look-up walks the spec)

    def judge(test_id, shelf_life: bool):
        test = version_test(spec.data, version, test_id)
        return test, None if test is None else criterion_for(spec.data, version, test["id"], shelf_life=shelf_life)

    for result in results:
        key = (result.get("test"), bool(result.get("time_point", 0)))
        try:
            if key not in judged:
                judged[key] = judge(*key)
            test, criterion = judged[key]
        except TypeError:  # a test id that is not a name (the schema reports it): looked up as it is
            test, criterion = judge(*key)
        if test is None:
            continue
        limit = criterion.get("limit") if isinstance(criterion, dict) else None
        value = result.get("value")
        ok = meets(limit, value) if isinstance(limit, dict) else None
        when = f" at {_when(holder, result['time_point'])}" if "time_point" in result else ""
        if ok is False and not _discussed(holder):
            problems.append(Problem("result.out_of_specification",
                                    f"{what} {name}{when}: {test['id']} = {value} {result.get('unit', '')} is outside {describe_limit(limit)}".replace("  ", " ")
                                    + (f" (specification version {version}, which it was tested against)" if earlier else ""),
                                    dossier.location_of(result, "value"), severity="warning",
                                    hint="check the value; an out-of-specification result must be discussed in the dossier"))
        if ok is not None and result.get("unit") in units() and limit.get("unit") and result["unit"] != limit["unit"]:
            problems.append(Problem("result.unit_mismatch",
                                    f"{what} {name}{when}: {test['id']} is reported in {result['unit']} but its limit is in {limit['unit']}",
                                    dossier.location_of(result, "unit"), severity="warning",
                                    hint=f"report the result in {limit['unit']}"))
    return problems


def check_stability_time_points(dossier, model: Model) -> list[Problem]:
    """Stability results are at protocol time points that have been reached."""
    problems, by_study = [], results_by_study(model)
    for study in model.of_type("study"):
        points = study.data.get("time_points") if isinstance(study.data.get("time_points"), list) else None
        elapsed = _months_since(study.data.get("start_date"))
        if is_exposure_study(study.data):  # results before (0) and after (1) the light exposure: not a time
            points, elapsed = (points or list(EXPOSURE_POINTS)), None
        elif study.data.get("purpose") == "photostability" and points:
            problems.append(Problem("stability.photostability_as_time",
                                    f"photostability study '{study.id}' gives time points, but light exposure is not a time",
                                    dossier.location_of(study.data, "time_points"), severity="warning",
                                    hint="give exposure: {illumination: {value: 1.2, unit: Mlx.h}, near_uv: {value: 200, unit: W.h/m2}, "
                                         "sample: exposed | immediate_pack | marketing_pack | dark_control} (ICH Q1B) and result time_point 0 "
                                         "(before exposure) and 1 (after it); time_points may then go"))
        unit = _time_unit(study)
        for result in by_study.get(study.id, []):
            point = result.get("time_point")
            if not isinstance(point, (int, float)) or points is None:
                continue
            if point not in points:
                problems.append(Problem("stability.time_point_not_in_protocol",
                                        f"study '{study.id}' has a result at {TimePoint(point, unit).label()}, not a protocol time point",
                                        dossier.location_of(result, "time_point"),
                                        hint=f"protocol time points: {', '.join(str(p) for p in points)}"))
            elif elapsed is not None and TimePoint(point, unit).months > elapsed + 0.5:  # in the study's unit (hours, days…)
                problems.append(Problem("stability.time_point_in_future",
                                        f"study '{study.id}' reports {TimePoint(point, unit).label()}, but it started {elapsed:.1f} months ago",
                                        dossier.location_of(result, "time_point"),
                                        hint="check the time point and the study's start_date"))
    return problems


def _time_unit(holder: Entity) -> str:
    """Return the unit of a study's time points (schema: months, the default, days or hours)."""
    unit = holder.data.get("time_unit") if holder.type == "study" else None
    return unit if unit in TIME_UNITS else "months"


def _when(holder: Entity, point) -> str:
    """Return a time point as a message says it ("6 months", "24 hours")."""
    return TimePoint(point, _time_unit(holder)).label() if isinstance(point, (int, float)) else f"{point} months"


def _months_since(value) -> float | None:
    try:
        start = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return (today() - start).days / 30.4375
