"""Semantic rules of validate: each rule is a function (dossier, model) -> problems.

The rules run on every file, valid or not, and skip what is malformed (the schema reports it),
so one run shows every problem.
"""

from __future__ import annotations

from ..errors import Problem
from ..load import Dossier
from ..model import build_model
from . import formats, pairs, refs, results

RULES = (
    refs.check_references,
    refs.check_composition,
    results.check_result_tests,
    results.check_result_limits,
    results.check_stability_time_points,
    formats.check_identifiers,
    formats.check_dates,
    formats.check_units,
    formats.check_narratives,
    formats.check_files,
    pairs.check_limit_texts,
    pairs.check_proper_name,
)


def check_rules(dossier: Dossier) -> list[Problem]:
    """Return the problems found by every semantic rule."""
    model = build_model(dossier)
    problems = list(model.problems)
    for rule in RULES:
        problems += rule(dossier, model)
    return problems
