"""Antibody-drug conjugates: the structured conjugation data of a substance (general.conjugation) agree
with themselves and with the specification, and an impurity controlled by a specification names a test
of that specification (its own, or that of the instance it is controlled in).

ICH Q6B 1.3 brings conjugates into its scope ("products of which they are components"); its 6.1 asks
for the characterisation a specification is then built on, and its section 3 for acceptance criteria
justified by the characterised material. Drug-load species are HIC peak areas normalised to 100 %, so
the distribution sums to 100 % and gives the average DAR (sum of load x % / 100) within the rounding of
the numbers written.
"""

from __future__ import annotations

import difflib

from .errors import Problem
from .limits import describe_limit, meets
from .model import Model, spec_test

ENGINEERED = ("engineered_cysteine", "engineered_site")


def _decimals(value) -> int:
    """Return the decimals a number was written with (4.0 -> 1, 39 -> 0)."""
    text = repr(value)
    return 0 if isinstance(value, int) or "e" in text.lower() or "." not in text else len(text.split(".")[1])


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _conjugations(dossier):
    for source in dossier.of_kind("substance"):
        data = source.data
        conjugation = (data.get("general") or {}).get("conjugation") if isinstance(data, dict) and isinstance(data.get("general"), dict) else None
        if isinstance(conjugation, dict):
            yield data, conjugation


def count_conjugates(model: Model) -> int:
    """The substances that give conjugation data (the rule is n/a without one)."""
    return sum(isinstance((e.data.get("general") or {}).get("conjugation"), dict) for e in model.of_type("substance")
               if isinstance(e.data.get("general"), dict))


def check_conjugation(dossier, model: Model) -> list[Problem]:
    """The drug-load distribution sums to 100 % and gives the stated average DAR (within rounding); an
    engineered site names its positions; a characterised value tied to a specification test meets its
    acceptance criterion (ICH Q6B 1.3, 6.1 and 3)."""
    problems = []
    for substance, conjugation in _conjugations(dossier):
        where = dossier.location_of
        sites = conjugation.get("sites")
        if isinstance(sites, dict) and sites.get("type") in ENGINEERED and not sites.get("positions"):
            problems.append(Problem("conjugation.site_positions", f"an {sites['type'].replace('_', ' ')} conjugation gives no positions",
                                    where(sites, "type"), hint="list the conjugated residues under positions, e.g. ['HC Cys220 (EU)']"))
        problems += _distribution(dossier, conjugation)
        spec = model.get((substance.get("control") or {}).get("specification") if isinstance(substance.get("control"), dict) else None,
                         "specification")
        for key, what in (("average_dar", "average DAR"), ("free_drug", "free drug level"), ("unconjugated_antibody", "unconjugated antibody level")):
            problems += _against_specification(dossier, conjugation.get(key), spec, what, substance.get("id"))
    return problems


def _distribution(dossier, conjugation: dict) -> list[Problem]:
    distribution = conjugation.get("distribution")
    if not isinstance(distribution, dict) or not isinstance(distribution.get("species"), list):
        return []
    species = [s for s in distribution["species"] if isinstance(s, dict) and isinstance(s.get("load"), int) and _number(s.get("percent"))]
    if len(species) != len(distribution["species"]) or not species:
        return []  # the schema reports the malformed entries
    problems, seen = [], set()
    for entry in species:
        if entry["load"] in seen:
            problems.append(Problem("conjugation.duplicate_species", f"drug load {entry['load']} is given twice",
                                    dossier.location_of(entry, "load"), hint="give each species (D0, D2 …) once"))
        seen.add(entry["load"])
    step = 0.5 * 10 ** -max(_decimals(s["percent"]) for s in species)  # the largest rounding of one written value
    total = sum(s["percent"] for s in species)
    if abs(total - 100) > len(species) * step + 1e-9:
        problems.append(Problem(
            "conjugation.distribution_sum", f"the drug-load distribution sums to {total:g} %, not 100 % "
            f"(rounding of {len(species)} values allows ± {len(species) * step:g} %)", dossier.location_of(distribution, "species"),
            hint="give every species (D0 … Dn) in % of the total, as the normalised peak areas are"))
        return problems
    average = conjugation.get("average_dar")
    if isinstance(average, dict) and _number(average.get("value")):
        computed = sum(s["load"] * s["percent"] for s in species) / total
        allowed = sum(s["load"] * step for s in species) / total + 0.5 * 10 ** -_decimals(average["value"])
        if abs(computed - average["value"]) > allowed + 1e-9:
            problems.append(Problem(
                "conjugation.dar_average", f"the average DAR {average['value']:g} differs from the {computed:.2f} its drug-load "
                f"distribution gives (sum of load × % / 100; rounding allows ± {allowed:.2f})", dossier.location_of(average, "value"),
                severity="warning", hint="correct the average or the distribution; where two methods give different values, "
                "say so in the method texts and give the distribution measured with the average's method"))
    d0 = next((s for s in species if s["load"] == 0), None)
    free = conjugation.get("unconjugated_antibody")
    level = free.get("level") if isinstance(free, dict) else None
    if d0 is not None and isinstance(level, dict) and level.get("unit") == "%" and _number(level.get("value")):
        allowed = step + 0.5 * 10 ** -_decimals(level["value"])
        if abs(level["value"] - d0["percent"]) > allowed + 1e-9:
            problems.append(Problem(
                "conjugation.unconjugated", f"the unconjugated antibody level {level['value']:g} % differs from the D0 species of the "
                f"distribution ({d0['percent']:g} %)", dossier.location_of(level, "value"), severity="warning",
                hint="the unconjugated antibody is the D0 species: give the same value, or explain the different methods"))
    return problems


def _against_specification(dossier, measured, spec, what: str, substance_id) -> list[Problem]:
    """A characterised value tied to a test of the substance's specification meets its acceptance criterion."""
    if not isinstance(measured, dict) or not isinstance(measured.get("test"), str):
        return []
    where = dossier.location_of(measured, "test")
    if spec is None:
        return [Problem("conjugation.no_specification", f"the {what} names test '{measured['test']}' but substance "
                        f"'{substance_id}' has no specification", where, hint="set control.specification of the substance")]
    test = spec_test(spec.data, measured["test"])
    if test is None:
        ids = [t.get("id") for t in spec.data.get("tests", []) or [] if isinstance(t, dict)]
        close = difflib.get_close_matches(measured["test"], ids, n=1, cutoff=0.6)
        return [Problem("conjugation.unknown_test", f"the {what} names test '{measured['test']}', which specification "
                        f"'{spec.id}' does not have", where, hint=f"did you mean '{close[0]}'?" if close else
                        "name the id of a test of the substance's specification")]
    value = measured.get("value") if "value" in measured else (measured.get("level") or {}).get("value")
    limit = (test.get("acceptance") or {}).get("limit") if isinstance(test.get("acceptance"), dict) else None
    unit = (measured.get("level") or {}).get("unit") if isinstance(measured.get("level"), dict) else None
    if not isinstance(limit, dict) or (unit and limit.get("unit") and unit != limit.get("unit")):
        return []  # a qualitative criterion, or another unit: no numeric comparison
    if meets(limit, value) is False:
        return [Problem("conjugation.outside_specification", f"the characterised {what} {value:g} does not meet the acceptance "
                        f"criterion {describe_limit(limit)} of test '{measured['test']}' ({spec.id})",
                        dossier.location_of(measured, "value" if "value" in measured else "level"),
                        hint="acceptance criteria are set from the characterised material (ICH Q6B 3): correct the value or "
                        "the criterion, or justify the difference in control.justification")]
    return []


# impurities traced between instances ------------------------------------------------------------

def count_spec_controlled(model: Model) -> int:
    """The impurities controlled by a named specification test (the rule is n/a without one)."""
    return sum(1 for e in model.of_type("substance") for imp in _impurities(e.data)
               if imp.get("control") == "specification" and (imp.get("test") or imp.get("controlled_in")))


def _impurities(substance: dict) -> list[dict]:
    found = (substance.get("characterisation") or {}).get("impurities") if isinstance(substance.get("characterisation"), dict) else None
    return [i for i in found or [] if isinstance(i, dict)]


def check_impurity_control(dossier, model: Model) -> list[Problem]:
    """An impurity controlled by a specification names a test of it: of its own substance's, or of the
    instance given by controlled_in (an impurity carried over from a drug-linker or an antibody
    intermediate, ICH Q6B 6.2; ICH Q11 principles for the drug-linker's controls)."""
    problems = []
    for source in dossier.of_kind("substance"):
        if not isinstance(source.data, dict):
            continue
        for imp in _impurities(source.data):
            other = imp.get("controlled_in")
            if other is not None and imp.get("control") != "specification":
                problems.append(Problem("impurity.controlled_in_control", f"impurity '{imp.get('id')}' names controlled_in "
                                        f"but its control is '{imp.get('control')}'", dossier.location_of(imp, "controlled_in"),
                                        hint="controlled_in means 'controlled by that instance's specification': set control: specification"))
                continue
            if imp.get("control") != "specification":
                continue
            # another substance instance, or the product (a cell therapy's drug-substance impurity
            # controlled at drug-product release: ICH Q6B 2.3, tests done on the drug product)
            owner = ((model.get(other, "substance") or model.get(other, "product")) if other
                     else model.get(source.data.get("id"), "substance"))
            if owner is None:
                continue  # an unknown instance: core.data-references reports it
            if other and not imp.get("test"):
                problems.append(Problem("impurity.controlled_in_test", f"impurity '{imp.get('id')}' is controlled in '{other}' "
                                        "but names no test", dossier.location_of(imp, "controlled_in"),
                                        hint=f"give test: the id of the test of {other}'s specification that controls it"))
                continue
            if not isinstance(imp.get("test"), str):
                continue
            spec = model.get((owner.data.get("control") or {}).get("specification"), "specification")
            if spec is None or spec_test(spec.data, imp["test"]) is None:
                ids = [t.get("id") for t in (spec.data.get("tests", []) if spec else []) or [] if isinstance(t, dict)]
                close = difflib.get_close_matches(imp["test"], ids, n=1, cutoff=0.6)
                whose = f"the specification of '{other}'" if other else "the substance's specification"
                problems.append(Problem("impurity.unknown_test", f"impurity '{imp.get('id')}': {whose}"
                                        f"{' (' + spec.id + ')' if spec else ''} has no test '{imp['test']}'",
                                        dossier.location_of(imp, "test"),
                                        hint=f"did you mean '{close[0]}'?" if close else f"name a test of {whose}"))
    return problems
