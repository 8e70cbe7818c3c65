"""Specification criteria checked against the guidelines and the batches (the gap engine's check
kind `specification_criteria`).

- shelf_life_wider: a test whose shelf-life criterion is wider than its release criterion says why
  (`shelf_life_justification` of the test). ICH Q6A (1999) §2.2 "Release vs. shelf-life acceptance
  criteria" (drug products only: for a chemical drug substance a wider shelf-life criterion is not
  foreseen) and ICH Q6B (1999) §2.5 "Release limits vs. shelf-life limits" (drug substance and
  drug product, "where justified").
- batch_experience: a limit far beyond what the batches show (ICH Q6A (1999) §3.1.2 and Q6B (1999)
  §3: specifications are justified by the data of the batches made, including stability data; Q6A
  Decision Tree #1 sizes a limit from batch data as the mean plus three standard deviations).

The measure of batch_experience, stated in every finding. The experience of a test is its numeric
results (no '<' qualifier) in the batch analyses of batches tested against the specification (any
version) and, for a test used at shelf life, in the long-term stability studies tested against it.
The limit judged is the shelf-life criterion where the test has one without a
shelf_life_justification (the widest the specification allows), else the acceptance criterion. With results from at least MIN_BATCHES batches,
a side of the limit is "much wider" when it lies more than K_RANGES times the observed range
(highest minus lowest result) beyond the observed extreme on that side. For ten to twenty results
the range is about four standard deviations, so three ranges is about twelve, four times Decision
Tree #1's allowance. A test with results from fewer batches, with no spread (all results equal),
or with a compendial reference (the pharmacopoeia sets that limit) is not counted.
"""

from __future__ import annotations

from .model import BIOLOGICAL_MOLECULES, Model, results_by_batch, results_by_study
from .shelflife import numeric_limits
from .text import pick

MIN_BATCHES = 3     # the batches ICH asks for (Q1A(R2) §2.1.3/§2.2.3, three primary batches)
K_RANGES = 3.0      # observed ranges beyond the observed extreme


def _tests(model: Model):
    """Yield (specification entity, test) for every test of every specification (current version)."""
    for spec in model.of_type("specification"):
        for test in spec.data.get("tests", []) or []:
            if isinstance(test, dict):
                yield spec, test


def _is_product(model: Model, spec) -> bool:
    return model.get(spec.data.get("subject"), "product", "strength") is not None


def _wider(release: dict, shelf: dict) -> bool | None:
    """True when the shelf-life limit allows a value the release limit does not; None when the
    limits cannot be compared (not numeric)."""
    now, then = numeric_limits(release.get("limit")), numeric_limits(shelf.get("limit"))
    if now is None or then is None:
        return None if release.get("limit") != shelf.get("limit") else False
    (low, high), (shelf_low, shelf_high) = now, then
    lower = low is not None and (shelf_low is None or shelf_low < low)
    upper = high is not None and (shelf_high is None or shelf_high > high)
    return lower or upper


def _shelf_life_items(model: Model) -> list[tuple]:
    return [(spec, test) for spec, test in _tests(model) if isinstance(test.get("shelf_life_acceptance"), dict)
            and isinstance(test.get("acceptance"), dict)]


def check_shelf_life_wider(model: Model):
    """Yield (location, detail) for each test whose shelf-life criterion is wider than its release
    criterion (or not comparable with it) without a shelf_life_justification."""
    biological = model.single("application").get("molecule_type") in BIOLOGICAL_MOLECULES
    for spec, test in _shelf_life_items(model):
        wider = _wider(test["acceptance"], test["shelf_life_acceptance"])
        if wider is False or test.get("shelf_life_justification"):
            continue
        release, shelf = pick(test["acceptance"].get("text"), "en"), pick(test["shelf_life_acceptance"].get("text"), "en")
        how = "wider than" if wider else "different from"
        detail = (f"specification '{spec.id}', test '{test.get('id')}': the shelf-life criterion {shelf} is {how} the release "
                  f"criterion {release} without a shelf_life_justification")
        if not biological and not _is_product(model, spec):
            detail += " (ICH Q6A applies release and shelf-life criteria to drug products only)"
        yield model.dossier.location_of(test, "shelf_life_acceptance"), detail


def _number(result: dict) -> float | None:
    value = result.get("value")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not result.get("qualifier"):
        return float(value)
    return None


def _experience_values(model: Model, spec_id: str, test: dict) -> tuple[list[float], set]:
    """Return the numeric results of a test in the batch analyses and long-term studies tested
    against the specification, and the batches they come from."""
    values, batches = [], set()
    in_batches, in_studies = _numeric_results(model)
    for value, batch in in_batches.get((spec_id, test.get("id")), ()):
        values.append(value)
        batches.add(batch)
    if "shelf_life" in (test.get("usage") or []):
        for value, batch in in_studies.get((spec_id, test.get("id")), ()):
            values.append(value)
            batches.add(batch)
    return values, batches


def _numeric_results(model: Model) -> tuple[dict, dict]:
    """Return the numeric results of the batch analyses and of the long-term studies, each by (specification
    id, test id) as [(value, batch)] in the order of the batches (studies) and their results: gathered once
    per model, not once per test (each test walked every result)."""
    def compute():
        in_batches, in_studies = {}, {}
        by_batch, by_study = results_by_batch(model), results_by_study(model)
        for batch in model.of_type("batch"):
            spec_id = (batch.data.get("specification") or {}).get("id")
            for result in by_batch.get(batch.id, []):
                if _number(result) is not None and _named(spec_id, result.get("test")):
                    in_batches.setdefault((spec_id, result.get("test")), []).append((_number(result), batch.id))
        for study in model.of_type("study"):
            if study.data.get("purpose") == "long_term":
                spec_id = (study.data.get("specification") or {}).get("id")
                for result in by_study.get(study.id, []):
                    if _number(result) is not None and _named(spec_id, result.get("test")):
                        in_studies.setdefault((spec_id, result.get("test")), []).append((_number(result), study.data.get("batch")))
        return in_batches, in_studies

    return model.memo("numeric-results", compute)


def _named(*ids) -> bool:
    """Whether ids can be looked up (a malformed file may give a list where a name belongs: the schema reports
    it, and such a result matches no test)."""
    try:
        hash(ids)
    except TypeError:
        return False
    return True


def experience(model: Model, spec, test: dict) -> dict | None:
    """Return how a test's widest limit compares with its results, or None when the test is not
    counted (no numeric limit, a compendial limit, results from too few batches, no spread)."""
    shelf = test.get("shelf_life_acceptance") if isinstance(test.get("shelf_life_acceptance"), dict) else None
    # a justified wider shelf-life criterion answers for its width (shelf_life_wider); the release one is judged
    criterion = shelf if shelf is not None and not test.get("shelf_life_justification") else test.get("acceptance")
    limits = numeric_limits((criterion or {}).get("limit"))
    if limits is None or test.get("compendial_reference"):
        return None
    values, batches = _experience_values(model, spec.id, test)
    if len(batches) < MIN_BATCHES:
        return None
    spread = max(values) - min(values)
    if spread <= 0:
        return None
    low, high = limits
    sides = []
    if low is not None and (min(values) - low) > K_RANGES * spread:
        sides.append(("lower", low, (min(values) - low) / spread))
    if high is not None and (high - max(values)) > K_RANGES * spread:
        sides.append(("upper", high, (high - max(values)) / spread))
    return {"values": values, "batches": len(batches), "spread": spread, "sides": sides, "criterion": criterion}


def _experience_items(model: Model) -> list[tuple]:
    return [(spec, test, found) for spec, test in _tests(model) if (found := experience(model, spec, test)) is not None]


def check_batch_experience(model: Model):
    """Yield (location, detail) for each limit far beyond the batches' results."""
    for spec, test, found in _experience_items(model):
        key = "shelf_life_acceptance" if found["criterion"] is test.get("shelf_life_acceptance") else "acceptance"
        for side, limit, distance in found["sides"]:
            values = found["values"]
            yield (model.dossier.location_of(test, key),
                   f"specification '{spec.id}', test '{test.get('id')}': the {side} limit {limit:g} lies {distance:.1f} times the "
                   f"observed range beyond the {'lowest' if side == 'lower' else 'highest'} of {len(values)} results of "
                   f"{found['batches']} batches ({min(values):g}–{max(values):g}, batch analyses and long-term stability); more "
                   f"than {K_RANGES:g} ranges calls for a justification (safety, efficacy, qualification, stability) or a tighter limit")


ASPECTS = {"shelf_life_wider": (check_shelf_life_wider, _shelf_life_items, "tests with a shelf-life criterion"),
           "batch_experience": (check_batch_experience, _experience_items,
                                f"numeric limits with varying results of at least {MIN_BATCHES} batches")}


def findings(model: Model, aspect: str) -> tuple[int, list[tuple], str]:
    """Return (items examined, [(location, detail)], noun) for one aspect (see ASPECTS)."""
    check, items, noun = ASPECTS[aspect]
    return len(items(model)), list(check(model)), noun
