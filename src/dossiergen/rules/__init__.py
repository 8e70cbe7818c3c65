"""Semantic rules: the data agree with themselves. Each is a function (dossier, model) -> problems,
registered with an id, a title and its source in RULES, the one list of them.

`validate` runs them all and reports every problem (errors stop a build). The verdict engine
(gaps.py) evaluates the same registry through the `consistency` check kind, so the readiness
matrix and gaps.json carry a verdict for each: met when the dossier's data were read and none is
at fault, MISSING with every finding (e.g. a result outside its specification) otherwise.
The rules run on every file, valid or not, and skip what is malformed (the schema reports it),
so one run shows every problem.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable

from ..errors import Problem
from ..load import Dossier
from ..model import Model
from . import formats, pairs, refs, results
from .. import bispecific, conjugation, genealogy, literature, patientlots, supplied


@dataclass(frozen=True)
class Rule:
    """A semantic rule: its id (core.data-…), what it requires, its source and its function."""

    id: str
    title: str
    source: str
    check: Callable[[Dossier, Model], list[Problem]]
    # A rule about some entities only (lots with parents, cell-therapy lots) counts them, so that with
    # none it is n/a, never met: (count function, noun, reason when there is none).
    scope: tuple[Callable[[Model], int], str, str] | None = None


RULES = (
    Rule("core.data-references", "Every reference names an existing entity of the right kind",
         "DESIGN.md §5 (stable ids, references by id)", refs.check_references),
    Rule("core.data-composition", "Every composition quantity is keyed by a strength of the same product",
         "ICH M4Q(R1) 3.2.P.1", refs.check_composition),
    Rule("core.data-result-tests", "Every result names a test of the specification version it was tested against",
         "ICH Q6A/Q6B (specifications); ICH M4Q(R1) 3.2.S.4.4, 3.2.P.5.4, 3.2.S.7.3, 3.2.P.8.3", results.check_result_tests),
    Rule("core.data-result-limits", "Every numeric result meets its acceptance criterion (a result outside it is a finding)",
         "ICH Q6A/Q6B; ICH M4Q(R1) 3.2.S.4.4 and 3.2.P.5.4 (batch analyses)", results.check_result_limits),
    Rule("core.data-time-points", "Every stability result is at a time point of its study",
         "ICH Q1A(R2) §2.1.7 and §2.2.7 (testing frequency)", results.check_stability_time_points),
    Rule("core.data-genealogy", "Every lot is made from lots made no later than itself, and no lot descends from itself",
         "ICH Q7 §6.5 (batch production records name the lots of materials and intermediates used); ICH M4Q(R1) 3.2.S.4.4, 3.2.P.5.4", genealogy.check_genealogy,
         (genealogy.count_linked, "lots with parent lots", "no lot records the lots it was made from")),
    Rule("core.data-patient-lots", "Patient lots carry their own chain of identity; engineering runs and failed lots are never given to patients",
         "FDA guidance, Considerations for the Development of CAR T Cell Products (January 2024), CMC (chain of identity); "
         "EU GMP Part IV (ATMPs) §11.5 (administration of out-of-specification products); ICH M4Q(R1) 3.2.P.5.4",
         patientlots.check_patient_lots, (patientlots.count_cell_lots, "cell-therapy lots", "the dossier has no cell-therapy lots "
                                          "(no lot with a donor or a disposition)")),
    Rule("core.data-conjugation", "A conjugate's drug-load distribution sums to 100 % and gives its average DAR; characterised "
         "values meet the acceptance criteria of the tests they name; an engineered conjugation site names its positions",
         "ICH Q6B 1.3 (scope: conjugates), 6.1 (characterisation), 3 (acceptance criteria justified by the characterised material)",
         conjugation.check_conjugation, (conjugation.count_conjugates, "conjugates with conjugation data",
                                         "no substance gives conjugation data (general.conjugation)")),
    Rule("core.data-impurity-control", "An impurity controlled by a specification names a test of it (its own substance's, or "
         "that of the instance it is controlled in)",
         "ICH Q6B 6.2 (process- and product-related impurities); ICH M4Q(R1) 3.2.S.3.2; ICH Q11 5 (control strategy)",
         conjugation.check_impurity_control, (conjugation.count_spec_controlled, "impurities controlled by a specification test",
                                              "no impurity names the specification test that controls it")),
    Rule("core.data-bispecific", "A heterodimeric bispecific has two different heavy chains and the light chains its format says; "
         "its impurities list the homodimer and chain-mispaired variants it can form",
         "ICH Q6B 6.1 (structure), 6.2 (product-related impurities: molecular variants)", bispecific.check_bispecific,
         (bispecific.count_bispecifics, "bispecific antibodies", "no substance states a bispecific format")),
    Rule("core.data-identifiers", "Identifiers have their official formats (DUNS 9 digits, FEI 7 or 10; China registration data complete)",
         "Form FDA 356h field 29; FDA unique facility identifier guidance", formats.check_identifiers),
    Rule("core.data-dates", "Dates are real calendar dates; no batch is made in the future", "DESIGN.md §5", formats.check_dates),
    Rule("core.data-units", "Units are UCUM codes from schemas/units.yaml", "UCUM; DESIGN.md §5", formats.check_units),
    Rule("core.data-narratives", "Narratives use the allowed Markdown subset", "DESIGN.md §8", formats.check_narratives),
    Rule("core.data-files", "Files named by the data exist inside the dossier folder", "DESIGN.md §8", formats.check_files),
    Rule("core.data-limit-texts", "An acceptance criterion's text states its structured limit",
         "ICH Q6A §2.3 / Q6B §2.3 (acceptance criteria); one fact, one place", pairs.check_limit_texts),
    Rule("core.data-proper-name", "A US proper name is the INN with its suffix, written once",
         "FDA guidance, Nonproprietary Naming of Biological Products (2017, 2019)", pairs.check_proper_name),
    Rule("core.data-supplied", "Every supplied document is a PDF under a Module 1 heading of its market's regional backbone",
         "ICH eCTD Specification 3.2.2 (regional Module 1); FDA us-regional DTD 3.3; EU M1 DTD 3.1; NMPA cn-regional 1.0",
         supplied.check_supplied),
    Rule("core.data-literature", "Every copy of a cited publication is a PDF; a guideline cited by name has no copy",
         "ICH M4Q(R1) 3.3 (key literature provided); ICH M4(R4) granularity annex (3.3: one file per reference)",
         literature.check_literature),
)
BY_ID = {rule.id: rule for rule in RULES}


def check_model_rules(model: Model, run=None) -> list[Problem]:
    """Return the problems of the model (duplicate ids) and those every semantic rule finds, each rule
    run by run(rule_id, model) (default run_rule)."""
    problems = list(model.problems)
    for rule in RULES:
        problems += (run or run_rule)(rule.id, model)
    return problems


def run_rule(rule_id: str, model: Model) -> list[Problem]:
    """Return the problems one semantic rule finds in a model (for the verdict engine): by the runner set
    in RUNNER (validate's, which reuses them in a build: reuse.py), else by running the rule."""
    runner = RUNNER.get()
    return runner(rule_id, model) if runner is not None else BY_ID[rule_id].check(model.dossier, model)


# Who runs a semantic rule for the verdict engine: set by gaps.assess to validate's runner, so that the
# verdicts read the problems validate found (one evaluation), without rules/ importing the reuse machinery.
RUNNER: ContextVar[Callable[[str, Model], list[Problem]] | None] = ContextVar("rule_runner", default=None)


def as_pack() -> list[dict]:
    """Return the semantic rules as rule-pack entries (check kind `consistency`), in RULES order."""
    return [{"id": rule.id, "title": rule.title, "source": rule.source,
             "severity": "advisory" if rule.id == "core.data-result-limits" else "blocking",
             "fix": "correct the data at each place named (validate lists them with a hint each)",
             "check": {"kind": "consistency", "rule": rule.id},
             **({"when_empty": {"status": "n/a", "reason": rule.scope[2]}} if rule.scope else {})} for rule in RULES]
