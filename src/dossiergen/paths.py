"""Where the project's knowledge lives: schemas/, templates/, regional/ beside src/."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = PROJECT_ROOT / "schemas"
TEMPLATES = PROJECT_ROOT / "templates"
REGIONAL = PROJECT_ROOT / "regional"
