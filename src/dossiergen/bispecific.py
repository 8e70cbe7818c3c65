"""Bispecific antibodies: the format a substance states (general.structure.format) agrees with its chains,
and the product-related variants the format can form are listed among its impurities.

An IgG-like bispecific is a heterodimer of two different heavy chains; unless it shares one light chain,
it also has two different light chains, which can pair with the wrong heavy chain. Its product-related
impurities are therefore the homodimers of either heavy chain and, with two light chains, the mispaired
molecules (ICH Q6B 6.2, product-related impurities: molecular variants arising during manufacture).
"""

from __future__ import annotations

from .errors import Problem
from .model import Model

# formats built from two different heavy chains (and the number of different light chains they have)
HETERODIMERS = {"knobs_into_holes": 2, "crossmab": 2, "common_light_chain": 1, "controlled_fab_arm_exchange": 2, "charge_pair": 2}
BISPECIFIC = set(HETERODIMERS) | {"igg_scfv", "dvd_ig", "tandem_scfv"}


def _format(substance) -> tuple[dict, dict] | None:
    general = substance.get("general") if isinstance(substance, dict) else None
    structure = general.get("structure") if isinstance(general, dict) else None
    found = structure.get("format") if isinstance(structure, dict) else None
    return (structure, found) if isinstance(found, dict) else None


def count_bispecifics(model: Model) -> int:
    """The substances stated as bispecific (the rule is n/a without one)."""
    return sum(1 for e in model.of_type("substance") if (_format(e.data) or ({}, {}))[1].get("type") in BISPECIFIC)


def check_bispecific(dossier, model: Model) -> list[Problem]:
    """A heterodimeric bispecific has two different heavy chains, and two different light chains or one
    common light chain as its format says; its impurities list the homodimers and, with two light chains,
    the chain-mispaired variants (ICH Q6B 6.1, 6.2)."""
    problems = []
    for source in dossier.of_kind("substance"):
        found = _format(source.data)
        if not found:
            continue
        structure, fmt = found
        kind = fmt.get("type")
        if kind not in HETERODIMERS:
            continue
        where = dossier.location_of(fmt, "type")
        chains = [c for c in structure.get("chains") or [] if isinstance(c, dict)]
        heavy = {c.get("sequence") for c in chains if c.get("type") == "heavy"}
        light = {c.get("sequence") for c in chains if c.get("type") == "light"}
        name = kind.replace("_", " ")
        if len(heavy) != 2:
            problems.append(Problem("bispecific.heavy_chains", f"a {name} bispecific has 2 different heavy chains; "
                                    f"the structure gives {len(heavy)}", where,
                                    hint="give each heavy chain (e.g. knob and hole) as its own chain with its sequence, copies: 1"))
        if len(light) != HETERODIMERS[kind]:
            wanted = "1 common light chain" if HETERODIMERS[kind] == 1 else "2 different light chains"
            problems.append(Problem("bispecific.light_chains", f"a {name} bispecific has {wanted}; the structure gives "
                                    f"{len(light)} different light chain{'s' if len(light) != 1 else ''}", where,
                                    hint="give each light chain with its sequence, or choose the format that fits the chains"))
        variants = {i.get("variant") for i in _impurities(source.data) if i.get("type") == "product_related"}
        needed = ["homodimer"] + (["chain_mispairing"] if HETERODIMERS[kind] == 2 else [])
        for variant in needed:
            if variant not in variants:
                problems.append(Problem(
                    "bispecific.variant_missing", f"a {name} bispecific can form {variant.replace('_', ' ')} variants, "
                    "but no product-related impurity is given as one", where, severity="warning",
                    hint=f"list it under characterisation.impurities with type: product_related, variant: {variant}, and how "
                    "it is controlled (ICH Q6B 6.2)"))
    return problems


def _impurities(substance: dict) -> list[dict]:
    found = (substance.get("characterisation") or {}).get("impurities") if isinstance(substance.get("characterisation"), dict) else None
    return [i for i in found or [] if isinstance(i, dict)]
