"""Where the project's knowledge lives: schemas/, templates/, regional/ beside src/."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = PROJECT_ROOT / "schemas"
TEMPLATES = PROJECT_ROOT / "templates"
REGIONAL = PROJECT_ROOT / "regional"


def read_yaml(path: Path):
    """Return the data of one of the project's YAML knowledge files: the values yaml.safe_load gives,
    parsed by PyYAML's C parser where it is installed (about eight times faster: the labels, glossary
    and section files are read at the start of every build process)."""
    import yaml

    return yaml.load(Path(path).read_text("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
