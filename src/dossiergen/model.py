"""The combined view of a loaded dossier: every file's data in one model, and the id index.

Built defensively: it must work on data that failed the schema, so that validate can report
every problem of a run at once. Nothing here reads files.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterator

from .errors import Problem
from .load import Dossier

# Molecule types whose drug substance is biological (ICH Q5C/Q6B; 原液 in Chinese), the others chemical
# (ICH Q6A/Q11; 原料药). One list, read by the gap checks, the Chinese terms and the China annexes.
BIOLOGICAL_MOLECULES = ("monoclonal_antibody", "recombinant_protein", "adc", "vaccine", "car_t", "gene_therapy")

# Where entities with an `id` live: entity type -> (file kind, path pattern). '*' = any list item.
ENTITY_PATHS: tuple[tuple[str, str, tuple], ...] = (
    ("application", "application", ()),
    ("site", "sites", ("sites", "*")),
    ("substance", "substance", ()),
    ("product", "product", ()),
    ("strength", "product", ("strengths", "*")),
    ("excipient", "excipients", ("excipients", "*")),
    ("specification", "specification", ()),
    ("method", "methods", ("methods", "*")),
    ("batch", "batches", ("batches", "*")),
    ("study", "stability", ("studies", "*")),
    ("cell_bank", "substance", ("manufacture", "materials", "cell_banks", "*")),
    ("starting_material", "substance", ("manufacture", "materials", "starting_materials", "*")),
    ("step", "substance", ("manufacture", "process", "steps", "*")),
    ("step", "product", ("manufacture", "process", "steps", "*")),
    ("development_study", "substance", ("manufacture", "development", "studies", "*")),
    ("development_study", "product", ("development", "formulation_studies", "*")),
    ("development_study", "product", ("development", "process_studies", "*")),
    ("impurity", "substance", ("characterisation", "impurities", "*")),
    ("reference_standard", "substance", ("reference_standards", "*")),
    ("container_component", "substance", ("container_closure", "components", "*")),
    ("container_component", "product", ("container_closure", "components", "*")),
    ("virus", "appendices", ("adventitious_agents", "viral_clearance", "viruses", "*")),
)


@dataclass(frozen=True)
class Entity:
    """An entity with an id: its type, its data and the file it is in."""

    type: str
    id: str
    data: dict
    rel: str


@dataclass
class Model:
    """All data of a dossier by topic, with the global id index."""

    dossier: Dossier
    entities: dict[str, Entity] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict, repr=False)  # memo of results_by_*; the model is read-only

    def data(self, kind: str) -> list[Any]:
        """Return the data of every file of a kind."""
        return [f.data for f in self.dossier.of_kind(kind)]

    def single(self, kind: str) -> dict:
        """Return the data of a single-file kind (an empty mapping when absent or malformed)."""
        found = self.data(kind)
        return found[0] if found and isinstance(found[0], dict) else {}

    def of_type(self, etype: str) -> list[Entity]:
        """Return the entities of one type in declared order (from an index built once: the model
        is read-only after build_model; a changed entity count rebuilds it)."""
        index = self.results.get("types")
        if index is None or index[0] != len(self.entities):
            grouped: dict[str, list[Entity]] = {}
            for entity in self.entities.values():
                grouped.setdefault(entity.type, []).append(entity)
            index = self.results["types"] = (len(self.entities), {k: tuple(v) for k, v in grouped.items()})
        return list(index[1].get(etype, ()))

    def genealogy(self) -> "Genealogy":
        """Return the lot genealogy of the dossier's batches (built once)."""
        if "genealogy" not in self.results:
            self.results["genealogy"] = Genealogy.of(self)
        return self.results["genealogy"]

    def get(self, eid: Any, *types: str) -> Entity | None:
        """Return the entity with this id (of one of these types, if given)."""
        entity = self.entities.get(eid) if isinstance(eid, str) else None
        return entity if entity and (not types or entity.type in types) else None

    @property
    def batch_rows(self) -> list[dict]:
        """Return the batch result rows of every results CSV."""
        return [row for rows in self.data("batch-results") for row in rows if isinstance(row, dict)]

    @property
    def stability_rows(self) -> list[dict]:
        """Return the stability result rows of every stability CSV."""
        return [row for rows in self.data("stability-results") for row in rows if isinstance(row, dict)]


# Fields of a batch (schemas/batches.schema.json) that name the lots it was made from; a parent
# may have parents of its own, so the genealogy has any depth. A new parent field is added here.
PARENT_FIELDS = ("substance_batches",)


@dataclass(frozen=True)
class Genealogy:
    """Lots and the lots they were made from, indexed once: batch id -> parent batch ids."""

    parents: dict[str, tuple[str, ...]]
    made_into: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the reverse index

    @classmethod
    def of(cls, model: "Model") -> "Genealogy":
        found: dict[str, tuple[str, ...]] = {}
        for batch in model.of_type("batch"):
            ids: list[str] = []
            for name in PARENT_FIELDS:
                value = batch.data.get(name)
                ids += [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
            found[batch.id] = tuple(dict.fromkeys(ids))
        reverse: dict[str, list[str]] = {}
        for child, parents in found.items():
            for parent in parents:
                reverse.setdefault(parent, []).append(child)
        return cls(found, {k: tuple(v) for k, v in reverse.items()})

    def ancestors(self, batch_id: str) -> tuple[str, ...]:
        """Return every lot a batch was made from, nearest first (breadth-first); cycles are cut."""
        seen: dict[str, None] = {}
        queue = deque(self.parents.get(batch_id, ()))
        while queue:
            lot = queue.popleft()
            if lot in seen or lot == batch_id:
                continue
            seen[lot] = None
            queue += self.parents.get(lot, ())
        return tuple(seen)

    def children(self, batch_id: str) -> tuple[str, ...]:
        """Return the lots made directly from a batch, in declared order."""
        return self.made_into.get(batch_id, ())


def select(data: Any, pattern: tuple) -> Iterator[tuple[Any, Any, Any]]:
    """Yield (value, container, key) for each match of a path pattern ('*' = each list item)."""
    if not pattern:
        yield data, None, None
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(data, list):
            for i, item in enumerate(data):
                yield from _step(item, data, i, rest)
    elif isinstance(data, dict) and head in data:
        yield from _step(data[head], data, head, rest)


def _step(value, container, key, rest):
    if rest:
        yield from select(value, rest)
    else:
        yield value, container, key


def build_model(dossier: Dossier) -> Model:
    """Return the model of a loaded dossier; duplicate ids are collected as problems."""
    model = Model(dossier)
    for etype, kind, pattern in ENTITY_PATHS:
        for source in dossier.of_kind(kind):
            for value, _, _ in select(source.data, pattern):
                _register(model, etype, value, source.rel)
    return model


def _register(model: Model, etype: str, value: Any, rel: str) -> None:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        return
    eid = value["id"]
    first = model.entities.get(eid)
    if first is None:
        model.entities[eid] = Entity(etype, eid, value, rel)
        return
    where = model.dossier.location_of(first.data, "id")
    model.problems.append(Problem(
        "ref.duplicate_id", f"id '{eid}' is already used by a {first.type.replace('_', ' ')}",
        model.dossier.location_of(value, "id"), hint=f"ids must be unique in the dossier; the first is at {where}"))


def results_by_batch(model: Model) -> dict[str, list[dict]]:
    """Return each batch's results: inline ones first, then CSV rows, in file order."""
    if "batch" in model.results:
        return model.results["batch"]
    found: dict[str, list[dict]] = model.results.setdefault("batch", {})
    for batch in model.of_type("batch"):
        found[batch.id] = [r for r in batch.data.get("results", []) or [] if isinstance(r, dict)]
    for row in model.batch_rows:
        found.setdefault(row.get("batch"), []).append(row)
    return found


def results_by_study(model: Model) -> dict[str, list[dict]]:
    """Return each stability study's results: inline ones first, then CSV rows."""
    if "study" in model.results:
        return model.results["study"]
    found: dict[str, list[dict]] = model.results.setdefault("study", {})
    for study in model.of_type("study"):
        found[study.id] = [r for r in study.data.get("results", []) or [] if isinstance(r, dict)]
    for row in model.stability_rows:
        found.setdefault(row.get("study"), []).append(row)
    return found


def spec_tests(spec: dict, version: Any) -> set[str] | None:
    """Return the test ids of a specification version, or None if the version is unknown."""
    if spec.get("version") == version:
        return {t.get("id") for t in spec.get("tests", []) if isinstance(t, dict)}
    for old in spec.get("previous_versions", []) or []:
        if isinstance(old, dict) and old.get("version") == version:
            return set(old.get("tests", []) or [])
    return None


def spec_test(spec: dict, test_id: str) -> dict | None:
    """Return the current definition of a test of a specification."""
    for test in spec.get("tests", []) or []:
        if isinstance(test, dict) and test.get("id") == test_id:
            return test
    return None
