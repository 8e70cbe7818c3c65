"""Where the project's knowledge lives: schemas/, templates/, regional/ beside src/."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = PROJECT_ROOT / "schemas"
TEMPLATES = PROJECT_ROOT / "templates"
REGIONAL = PROJECT_ROOT / "regional"


def project_yaml(text: str):
    """Return the data of one of the project's own YAML files (labels, the section registry, units,
    glossaries): safe loading, through libyaml where PyYAML has it (the same data, about eight times
    faster than the pure-Python parser: labels are read on every build). Never for a dossier's
    files, which load.py reads with their locations."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
