"""The section registry (templates/module3/sections.yaml) as a tree of frozen nodes."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path


from .paths import REGIONAL, TEMPLATES, project_yaml


@dataclass(frozen=True)
class Section:
    """One node of the CTD tree: a heading with children, or a document."""

    number: str
    title: dict
    element: str | None = None
    folder: str = ""
    repeat: str | None = None
    file: str | None = None
    template: str | None = None
    per: str | None = None
    molecule_types: tuple[str, ...] = ()
    not_required_at: tuple[str, ...] = ()
    regional: bool = False
    stages: tuple[str, ...] = ()
    only_when: tuple[str, ...] = ()
    supplied: str | None = None   # literature: the heading holds the applicant's copies (literature.py)
    associated_review: tuple[str, ...] = ()  # markets whose document ends with the pointer to the associated review
    children: tuple["Section", ...] = ()

    @property
    def is_document(self) -> bool:
        return self.template is not None

    def walk(self):
        """Yield this node and every descendant in declared order."""
        yield self
        for child in self.children:
            yield from child.walk()


def _node(data: dict) -> Section:
    fields = {k: v for k, v in data.items() if k != "children"}
    for key in ("molecule_types", "not_required_at", "stages", "only_when", "associated_review"):
        fields[key] = tuple(fields.get(key, ()))
    return Section(**fields, children=tuple(_node(c) for c in data.get("children", [])))


@functools.cache
def load_registry(path: Path = TEMPLATES / "module3" / "sections.yaml") -> Section:
    """Return the root of the Module 3 section tree."""
    return _node(project_yaml(path.read_text("utf-8"))["root"])


@functools.cache
def load_annexes(market: str) -> tuple[Section, ...]:
    """Return the regional documents of a market (regional/<market>/annexes.yaml), in order."""
    path = REGIONAL / market / "annexes.yaml"
    if not path.is_file():
        return ()
    return tuple(_node({**entry, "regional": True}) for entry in project_yaml(path.read_text("utf-8"))["documents"])
