"""The pipeline: load -> validate -> assemble -> render -> write -> package."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, Problem, count_errors
from .load import load_dossier
from .model import build_model
from .validate import validate_dossier


@dataclass(frozen=True)
class BuildResult:
    """What a build did: its problems (warnings) and a one-line summary."""

    problems: list[Problem]
    summary: str


def validate_folder(folder: Path) -> list[Problem]:
    """Return every problem of the dossier in a folder (load problems raise InputError)."""
    return validate_dossier(load_dossier(folder))


def build_dossier(folder: Path, market: str, stage: str | None, out: Path, final: bool) -> BuildResult:
    """Validate, then (until rendering lands) summarise what would be built."""
    dossier = load_dossier(folder)
    problems = validate_dossier(dossier)
    if count_errors(problems):
        raise InputError("the dossier has errors", tuple(problems))
    model = build_model(dossier)
    app = model.single("application")
    stage = stage or app.get("stage", "marketing")
    counts = {t: len(model.of_type(t)) for t in ("substance", "product", "excipient", "method", "batch", "study")}
    parts = ", ".join(f"{n} {t}{'s' if n != 1 else ''}" for t, n in counts.items())
    return BuildResult(problems, f"{folder}: validated for market {market}, stage {stage}: {parts}")
