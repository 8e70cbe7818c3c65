"""The fixed words of documents (section labels, table headings, country names) in English and
Chinese: templates/module3/labels*.yaml and regional/<market>/labels*.yaml, read once.

A module of its own so that render and the regional builders both read it without importing
each other (render -> regional -> render was a cycle hidden by a lazy import)."""

from __future__ import annotations

import functools


from .paths import REGIONAL, TEMPLATES, project_yaml


@functools.cache
def labels() -> dict[str, dict[str, str]]:
    """Return the fixed words of documents in English and Chinese (templates/module3/labels*.yaml)."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted((TEMPLATES / "module3").glob("labels*.yaml")) + sorted(REGIONAL.glob("*/labels*.yaml")):
        for key, value in project_yaml(path.read_text("utf-8"))["labels"].items():
            if key in found:
                raise ValueError(f"label '{key}' is defined twice ({path.name})")
            found[key] = value
    return found
