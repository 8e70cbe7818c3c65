"""What a substance's role in the product decides: whether it is made biologically or chemically,
which guidelines apply to it (as binding texts or as principles), and what Chinese documents call it.

The roles are those of substance.schema.json: active (the default), and for conjugates and cell and
gene therapies antibody_intermediate, drug_linker, conjugate, vector. A chemically synthesised
intermediate (the drug-linker of an antibody-drug conjugate) is not itself a drug substance under
ICH Q3A/Q6A/Q11, but their principles fit its synthesis, impurities, specification and stability;
the antibody, the conjugate, a vector and cells are biological (ICH Q5C, Q6B; Q6B covers conjugates).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import BIOLOGICAL_MOLECULES, Model

CHEMICAL_ROLES = ("drug_linker",)  # intermediates made by chemical synthesis
INTERMEDIATE_ROLES = ("antibody_intermediate", "drug_linker")
# Roles that are not the active substance of the medicinal product: intermediates, and a viral vector
# used to make gene-modified cells (a starting material of the cells: Directive 2001/83/EC Annex I
# Part IV §3.2.1.1). An in vivo gene therapy vector is the active substance: role active.
NOT_ACTIVE_ROLES = INTERMEDIATE_ROLES + ("vector",)
# ICH Q3A(R2) §1, Q6A §1.3 and M7(R2) §2 exclude peptides and oligonucleotides (with biological products)
# from their scope; Q11, Q3C and Q1A(R2) have no such exclusion.
SCOPE_EXCLUDED_MOLECULES = ("peptide", "oligonucleotide")


def role_of(substance: dict) -> str:
    """Return a substance's role in the product (active when not given)."""
    role = substance.get("role") if isinstance(substance, dict) else None
    return role if isinstance(role, str) else "active"


def is_active_substance(substance: dict) -> bool:
    """True for an active substance of the medicinal product (role active or conjugate), false for an
    intermediate or a vector used to make cells (Directive 2001/83/EC Art. 1(3a) and 46b)."""
    return role_of(substance) not in NOT_ACTIVE_ROLES


def is_biological(model: Model | None, substance: dict) -> bool:
    """True for a biological substance: of a biological product, and not a chemically synthesised
    intermediate (ICH Q5C/Q6B versus Q6A/Q11)."""
    molecule = (model.single("application") if model else {}).get("molecule_type")
    return molecule in BIOLOGICAL_MOLECULES and role_of(substance) not in CHEMICAL_ROLES


def subject_is_biological(model: Model, subject_id) -> bool:
    """True when a stability subject (substance or product) is biological; a product follows its
    application's molecule type (an ADC drug product is biological)."""
    entity = model.get(subject_id, "substance")
    if entity is not None:
        return is_biological(model, entity.data)
    return model.single("application").get("molecule_type") in BIOLOGICAL_MOLECULES


@dataclass(frozen=True)
class Principle:
    """A guideline and how it applies to a substance: 'binding' or as 'principles'."""

    guideline: str
    topic: str
    applies: str  # binding | principles

    def as_dict(self) -> dict:
        return {"guideline": self.guideline, "topic": self.topic, "applies": self.applies}


def guidelines(model: Model, substance: dict) -> list[Principle]:
    """Return the quality guidelines for a substance by its role and the product's molecule type."""
    molecule = model.single("application").get("molecule_type")
    role = role_of(substance)
    if role in CHEMICAL_ROLES and molecule in BIOLOGICAL_MOLECULES:
        # an intermediate of a biological product: the small-molecule texts as principles (Q3A, Q6A and
        # M7 exclude biological products and peptides; S9 puts anticancer products outside M7's scope)
        found = [Principle("ICH Q11", "development and manufacture, starting materials", "principles"),
                 Principle("ICH Q3A(R2)", "impurities", "principles"),
                 Principle("ICH Q3C(R9)", "residual solvents", "principles"),
                 Principle("ICH Q6A", "specification", "principles"),
                 Principle("ICH Q1A(R2)", "stability, retest period", "principles")]
        s9 = model.single("application").get("ich_s9_scope") is True
        found.append(Principle("ICH S9" if s9 else "ICH M7(R2)", "mutagenic impurities", "principles"))
        return found
    if molecule in BIOLOGICAL_MOLECULES:
        return [Principle("ICH Q5C", "stability, shelf life", "binding"),
                Principle("ICH Q6B", "specification" + (", conjugate" if role == "conjugate" else ""), "binding")]
    if molecule in SCOPE_EXCLUDED_MOLECULES:
        # synthetic peptides and oligonucleotides: outside Q3A, Q6A and M7; Q11, Q3C and Q1A apply
        return [Principle("ICH Q11", "development and manufacture", "binding"),
                Principle("ICH Q3C(R9)", "residual solvents", "binding"),
                Principle("ICH Q1A(R2)", "stability", "binding")]
    return [Principle("ICH Q11", "development and manufacture", "binding"), Principle("ICH Q3A(R2)", "impurities", "binding"),
            Principle("ICH Q3C(R9)", "residual solvents", "binding"), Principle("ICH Q6A", "specification", "binding"),
            Principle("ICH Q1A(R2)", "stability", "binding"),
            # M7(R2) §2: not for products for advanced cancer within the scope of ICH S9
            Principle("ICH S9" if model.single("application").get("ich_s9_scope") is True else "ICH M7(R2)",
                      "mutagenic impurities", "binding")]


def stability_claim_kind(model: Model, substance: dict) -> str:
    """Return the kind of period a substance's stability supports: retest_period for a chemical
    substance or intermediate (ICH Q1A(R2) §2.1.9 and Glossary), shelf_life for a biological one (ICH Q5C §6)."""
    return "shelf_life" if is_biological(model, substance) else "retest_period"


# Chinese names of a substance in a document by role: ChP and CDE usage (原液: the biological drug
# substance; 原料药: a chemical one; an intermediate is named as such: 中间体).
CN_TERMS = {"antibody_intermediate": "抗体中间体", "drug_linker": "药物-连接子中间体", "vector": "病毒载体"}


def cn_term(model: Model, substance: dict) -> str:
    """Return what a Chinese document calls a substance: 原液, 原料药 or the intermediate's name."""
    return CN_TERMS.get(role_of(substance)) or ("原液" if is_biological(model, substance) else "原料药")


def active_substances(model: Model) -> list:
    """Return the substance entities that are active substances of the product (not intermediates)."""
    return [s for s in model.of_type("substance") if is_active_substance(s.data)]


def intermediates_of(model: Model, active_id: str) -> list[str]:
    """Return the ids of the intermediates an active substance is made from, nearest first: from the
    batch genealogy (an intermediate's lot in the `made_from` of the active substance's lots, through
    further intermediates), or, when the lots say nothing and the product has one active substance,
    every intermediate of the dossier. Never guesses between two active substances. A vector that makes
    gene-modified cells is a starting material (before the QP declaration's Part A), not an intermediate."""
    from .genealogy import parents_of

    batches = {b.get("id"): b for b in (model.single("batches").get("batches") or []) if isinstance(b, dict)}
    kinds = {s.id: s.data for s in model.of_type("substance")}
    found, queue = [], [active_id]
    while queue:
        current = queue.pop(0)
        for lot in batches.values():
            if lot.get("subject") != current:
                continue
            for parent in parents_of(lot):
                subject = (batches.get(parent) or {}).get("subject")
                if subject in kinds and subject not in found and role_of(kinds[subject]) in INTERMEDIATE_ROLES:
                    found.append(subject)
                    queue.append(subject)
    if found:
        return found
    actives = active_substances(model)
    if len(actives) == 1 and actives[0].id == active_id:
        return [sid for sid, data in kinds.items() if role_of(data) in INTERMEDIATE_ROLES]
    return []


def sites_making(model: Model, substance_ids, roles=("drug_substance_manufacture", "intermediate_manufacture")) -> list[str]:
    """Return the ids of the sites with one of `roles` for any of the substances (a role that names no
    subjects covers every substance), in sites.yaml order."""
    wanted = set(substance_ids)
    found = []
    for site in model.of_type("site"):
        for r in site.data.get("roles") or []:
            if isinstance(r, dict) and r.get("role") in roles:
                subjects = r.get("subjects")
                if not subjects or wanted & set(subjects):
                    found.append(site.id)
                    break
    return found
