"""Cross-references to a CTD section of a named instance: `ref(number, subject=…)` in views and
`[text](ctd:3.2.S.4.1?subject=ds-x)` in narratives.

A drug substance or product repeats its 3.2.S or 3.2.P tree per instance (ICH M4Q(R1): one 3.2.S per
drug substance and manufacturer); a reference may name the instance whose section it means, so that an
ADC's conjugate can point to the drug-linker's 3.2.S.4.1. Without a subject a reference means the
nearest document of that number (the referring document's own instance first).
"""

from __future__ import annotations

import difflib
import functools
import re

from .registry import load_registry

# [text](ctd:3.2.S.4.1) or [text](ctd:3.2.S.4.1?subject=ds-vedotin-linker); empty text prints the
# standard "see Section 3.2.S.4.1 (instance)".
NARRATIVE_REF = re.compile(r"\[(?P<text>(?:[^\]\\]|\\.)*)\]\(\s*<?ctd:(?P<number>[^?)\s>]*)"
                           r"(?:\?subject=(?P<subject>[^)\s>]*))?>?\s*\)")
SUBJECT_TYPES = {"substance": "substance", "product": "product"}   # entity type -> repeat axis of sections.yaml


@functools.cache
def numbers_by_axis() -> dict[str, frozenset[str]]:
    """Return the section numbers of Module 3 under each repeat axis ('' for those outside any)."""
    found: dict[str, set[str]] = {}

    def walk(node, axis):
        axis = node.repeat or axis
        found.setdefault(axis, set()).add(node.number)
        for child in node.children:
            walk(child, axis)

    walk(load_registry(), "")
    return {axis: frozenset(numbers) for axis, numbers in found.items()}


def problem(model, number: str, subject: str | None):
    """Return (code, message, hint) when a reference cannot resolve in any build, else None."""
    axes = numbers_by_axis()
    every = frozenset().union(*axes.values())
    if subject:
        entity = model.get(subject)
        if entity is None or entity.type not in SUBJECT_TYPES:
            candidates = [e.id for t in SUBJECT_TYPES for e in model.of_type(t)]
            close = difflib.get_close_matches(subject, candidates, n=1, cutoff=0.6)
            what = f"'{subject}' is a {entity.type.replace('_', ' ')}" if entity else f"unknown instance '{subject}'"
            return ("ref.unknown_subject", f"cross-reference to {number}: {what}, not a drug substance or product",
                    f"did you mean '{close[0]}'?" if close else
                    f"name the id of a substance or product instance ({', '.join(sorted(candidates)) or 'none defined'})")
        own = axes.get(SUBJECT_TYPES[entity.type], frozenset())
        if number not in own:
            close = difflib.get_close_matches(number, sorted(own), n=1, cutoff=0.8)
            return ("ref.section_of_subject", f"cross-reference to {number} of '{subject}': a {entity.type} instance has "
                    f"no section {number}", (f"did you mean {close[0]}? " if close else "") +
                    f"a {entity.type} instance has the sections {'3.2.S' if entity.type == 'substance' else '3.2.P'}.*")
        return None
    if number not in every:
        close = difflib.get_close_matches(number, sorted(every), n=1, cutoff=0.8)
        return ("ref.unknown_section", f"cross-reference to unknown CTD section '{number}'",
                f"did you mean {close[0]}?" if close else "name a Module 3 section number, e.g. 3.2.S.4.1")
    return None
