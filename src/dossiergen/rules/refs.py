"""Rules: every reference resolves to an entity of the right type."""

from __future__ import annotations

import difflib

from ..errors import Problem
from ..model import Model, select

SUBJECT = ("substance", "product")
# (file kind, path pattern, allowed entity types). A pattern ending in '{}' checks mapping keys.
# Words that stand in a reference field without naming an entity (schema descriptions say where).
LITERALS = {"unprocessed-bulk"}
REFERENCES: tuple[tuple[str, tuple, tuple[str, ...]], ...] = (
    ("sites", ("sites", "*", "roles", "*", "subjects", "*"), SUBJECT),
    ("substance", ("sites", "*"), ("site",)),
    ("substance", ("general", "structure", "conjugate_components", "*", "substance"), ("substance",)),
    ("substance", ("general", "conjugation", "drug_linker"), ("substance",)),
    ("substance", ("characterisation", "impurities", "*", "controlled_in"), ("substance", "product")),
    ("substance", ("manufacture", "materials", "raw_materials", "*", "step"), ("step",)),
    ("substance", ("manufacture", "materials", "cell_banks", "*", "derived_from"), ("cell_bank",)),
    ("substance", ("manufacture", "critical_steps", "intermediates", "*", "step"), ("step",)),
    ("substance", ("manufacture", "process", "steps", "*", "inputs", "*"), ("starting_material", "substance", "container_component")),
    ("substance", ("manufacture", "process_validation", "ppq_batches", "*"), ("batch",)),
    ("substance", ("manufacture", "development", "process_versions", "*", "site"), ("site",)),
    ("substance", ("manufacture", "development", "studies", "*", "step"), ("step",)),
    ("substance", ("manufacture", "development", "proven_acceptable_ranges", "*", "step"), ("step",)),
    ("substance", ("control", "specification"), ("specification",)),
    ("substance", ("control", "methods", "*"), ("method",)),
    ("substance", ("control", "batch_analyses", "*"), ("batch",)),
    ("product", ("sites", "*"), ("site",)),
    ("product", ("composition", "*", "component"), ("substance", "excipient")),
    ("product", ("excipients", "*"), ("excipient",)),
    ("product", ("development", "clinical_formulations", "*", "batches", "*"), ("batch",)),
    ("product", ("development", "process_studies", "*", "step"), ("step",)),
    ("product", ("manufacture", "batch_formula", "*", "strength"), ("strength",)),
    ("product", ("manufacture", "batch_formula", "*", "components", "*", "component"), ("substance", "excipient")),
    ("product", ("manufacture", "critical_steps", "intermediates", "*", "step"), ("step",)),
    ("product", ("manufacture", "process", "steps", "*", "inputs", "*"), ("substance", "excipient", "container_component")),
    ("product", ("manufacture", "process_validation", "ppq_batches", "*"), ("batch",)),
    ("product", ("control", "specification"), ("specification",)),
    ("product", ("control", "methods", "*"), ("method",)),
    ("product", ("control", "batch_analyses", "*"), ("batch",)),
    ("excipients", ("excipients", "*", "specification"), ("specification",)),
    ("application", ("instance_order", "substance", "*"), ("substance",)),
    ("application", ("instance_order", "product", "*"), ("product",)),
    ("specification", ("subject",), ("substance", "product", "excipient")),
    ("specification", ("tests", "*", "method"), ("method",)),
    ("batches", ("batches", "*", "subject"), SUBJECT),
    ("batches", ("batches", "*", "strength"), ("strength",)),
    ("batches", ("batches", "*", "site"), ("site",)),
    ("batches", ("batches", "*", "specification", "id"), ("specification",)),
    ("batches", ("batches", "*", "made_from", "*"), ("batch",)),
    ("batches", ("batches", "*", "substance_batches", "*"), ("batch",)),
    ("batch-results", ("*", "batch"), ("batch",)),
    ("stability", ("studies", "*", "subject"), SUBJECT),
    ("stability", ("studies", "*", "batch"), ("batch",)),
    ("stability", ("studies", "*", "specification", "id"), ("specification",)),
    ("stability", ("claims", "*", "subject"), SUBJECT),
    ("stability", ("commitments", "*", "subject"), SUBJECT),
    ("stability-results", ("*", "study"), ("study",)),
    ("appendices", ("facilities", "*", "site"), ("site",)),
    ("appendices", ("facilities", "*", "subjects", "*"), SUBJECT),
    ("appendices", ("adventitious_agents", "subjects", "*"), SUBJECT),
    ("appendices", ("adventitious_agents", "cell_bank_testing", "*", "bank"), ("cell_bank",)),
    ("appendices", ("adventitious_agents", "viral_clearance", "steps", "*", "step"), ("step",)),
    ("appendices", ("adventitious_agents", "viral_clearance", "steps", "*", "lrv", "{}"), ("virus",)),
    ("appendices", ("adventitious_agents", "viral_clearance", "steps", "*", "lower_bound", "*"), ("virus",)),
    ("market-us", ("regional", "executed_batch_records", "*", "batch"), ("batch",)),
    ("market-eu", ("batch_release_site",), ("site",)),
    ("market-eu", ("qp_declarations", "*", "substance"), ("substance",)),
    ("market-eu", ("qp_declarations", "*", "sites", "*", "site"), ("site",)),
    ("market-eu", ("qp_declarations", "*", "miahs", "*", "site"), ("site",)),
    ("market-eu", ("qp_declarations", "*", "audits", "*", "miah_site"), ("site",)),
    ("market-eu", ("qp_declarations", "*", "audits", "*", "audited_site"), ("site",)),
    ("market-eu", ("qp_declarations", "*", "qp", "site"), ("site",)),
    ("market-eu", ("qp_declarations", "*", "qp", "on_behalf_of", "*"), ("site",)),
    ("market-uk", ("qp_declarations", "*", "substance"), ("substance",)),
    ("market-uk", ("qp_declarations", "*", "sites", "*", "site"), ("site",)),
    ("market-uk", ("qp_declarations", "*", "miahs", "*", "site"), ("site",)),
    ("market-uk", ("qp_declarations", "*", "audits", "*", "miah_site"), ("site",)),
    ("market-uk", ("qp_declarations", "*", "audits", "*", "audited_site"), ("site",)),
    ("market-uk", ("qp_declarations", "*", "qp", "site"), ("site",)),
    ("market-uk", ("qp_declarations", "*", "qp", "on_behalf_of", "*"), ("site",)),
    ("market-uk", ("batch_release_site",), ("site",)),
    ("market-uk", ("importer_site",), ("site",)),
    ("market-uk", ("batch_testing_sites", "*"), ("site",)),
    ("market-cn", ("associated_review", "*", "material"), ("substance", "excipient", "container_component")),
    ("market-cn", ("registration_testing", "batches", "*"), ("batch",)),
    ("market-cn", ("overseas_documents", "*", "site"), ("site",)),
)


def check_references(dossier, model: Model) -> list[Problem]:
    """Every id reference names an existing entity of an allowed type."""
    problems = []
    for kind, pattern, types in REFERENCES:
        keys = pattern[-1] == "{}"
        for source in dossier.of_kind(kind):
            for value, container, key in select(source.data, pattern[:-1] if keys else pattern):
                if keys and isinstance(value, dict):
                    for name in value:
                        problems += _check_one(dossier, model, name, value, name, types, as_key=True)
                elif not keys and isinstance(value, str):
                    problems += _check_one(dossier, model, value, container, key, types)
    return problems


def _check_one(dossier, model: Model, ref: str, container, key, types, as_key=False) -> list[Problem]:
    found = model.get(ref)
    if (found and found.type in types) or ref in LITERALS:
        return []
    where = dossier.location_of(container, key) if not as_key else _key_location(dossier, container, key)
    wanted = " or ".join(t.replace("_", " ") for t in types)
    if found:
        return [Problem(f"ref.wrong_type", f"'{ref}' is a {found.type.replace('_', ' ')}, not a {wanted}", where,
                        hint=f"name the id of a {wanted} here")]
    candidates = [e.id for e in model.entities.values() if e.type in types]
    close = difflib.get_close_matches(ref, candidates, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"no {wanted} has this id; define it or correct the reference"
    return [Problem(f"ref.unknown_{types[0]}", f"unknown {wanted} '{ref}'", where, hint=hint)]


def _key_location(dossier, container, key):
    rel, path = dossier.where(container, key)
    return dossier.locate(rel, path, key=True)


def check_composition(dossier, model: Model) -> list[Problem]:
    """Composition quantities are keyed by the strengths of the same product."""
    problems = []
    for source in dossier.of_kind("product"):
        strengths = {s.get("id") for s, _, _ in select(source.data, ("strengths", "*")) if isinstance(s, dict)}
        for quantities, _, _ in select(source.data, ("composition", "*", "quantities")):
            if not isinstance(quantities, dict):
                continue
            for name in quantities:
                if name not in strengths:
                    problems.append(Problem("ref.unknown_strength", f"'{name}' is not a strength of this product",
                                            _key_location(dossier, quantities, name),
                                            hint=f"use one of: {', '.join(sorted(s for s in strengths if s))}"))
            for missing in sorted(s for s in strengths - set(quantities) if s):
                problems.append(Problem("ref.missing_strength", f"no quantity for strength '{missing}'",
                                        dossier.location_of(quantities), hint="give the quantity per unit for every strength"))
    return problems
