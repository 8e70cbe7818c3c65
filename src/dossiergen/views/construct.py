"""The genetic construct of a viral vector or of genetically modified cells, as 3.2.S.1.2 rows and
an element table (and 3.2.S.2.3 for a vector described as a critical starting material).

A vector's structure is its genome: vector type and design, pseudotype or capsid, transgene, the
cassette element by element and its size in kb; never an amino-acid sequence or a molecular weight
(FDA 2020 CMC guidance for human gene therapy INDs, section V.A; EMA/CAT/852602/2018, S.1.2).
"""

from __future__ import annotations

from .types import NOT_GIVEN, Text

GENETIC_TYPES = ("vector", "cells")


def construct_rows(c, construct: dict, where: str) -> list:
    """Return (label, value) rows of a construct: type, design, pseudotype, transgene, size, production."""
    if not isinstance(construct, dict):
        return []
    rows = []
    if "vector_type" in construct:
        rows.append((c.t("s_vector_type"), c.t(f"s_vector_type_{construct['vector_type']}")))
    for key in ("generation", "pseudotype", "transgene"):
        if key in construct:
            rows.append((c.t(f"s_construct_{key}"), Text.of(construct[key], f"{where}.{key}")))
    if isinstance(construct.get("genome_size"), dict):
        rows.append((c.t("s_construct_genome_size"), c.qty(construct["genome_size"])))
    if "production_system" in construct:
        rows.append((c.t("s_construct_production_system"), Text.of(construct["production_system"], f"{where}.production_system")))
    return rows


def element_rows(construct: dict, where: str) -> tuple:
    """Return the cassette's rows, 5′ to 3′: element, what it is or does, size in bp."""
    if not isinstance(construct, dict):
        return ()
    return tuple((Text.of(e.get("element"), f"{where}.elements.{i}.element"), Text.of(e.get("description"), f"{where}.elements.{i}.description"),
                  e["size_bp"] if "size_bp" in e else NOT_GIVEN)
                 for i, e in enumerate(construct.get("elements") or []) if isinstance(e, dict))
