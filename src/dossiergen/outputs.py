"""The output folders, as a build finds them before it does any work: the previous output put back
after a killed build, the temporary folders killed builds left, the digest of the inputs, and what a
build returns. Kept apart from package.py, which imports the whole pipeline, so that a build with
nothing to do starts in a fraction of a second (issue 19: nothing changed < 0.3 s)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem


def recover_output(target: Path) -> None:
    """Repair what a build killed while placing its output left beside target: put the previous
    output back if it was moved aside and the new one never arrived, and remove staging folders.
    Call it with the output folder locked (build.output_lock)."""
    target, old = Path(target), moved_aside(Path(target))
    if not target.parent.is_dir():
        return
    if old.is_dir() and not target.exists():
        os.replace(old, target)
    shutil.rmtree(old, ignore_errors=True)
    for leftover in target.parent.glob(f".{target.name}-staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in target.parent.glob(f".{target.name}-????????"):  # staging folders of earlier versions
        shutil.rmtree(leftover, ignore_errors=True)


def moved_aside(target: Path) -> Path:
    """Return where the previous output waits while the new one is put in place."""
    return target.with_name(f".{target.name}-old")


def inputs_digest(folder: Path, knowledge: list[Path]) -> str:
    """Return a sha256 over the dossier files and the project knowledge (templates, schemas)."""
    digest = hashlib.sha256()
    for root in [Path(folder), *knowledge]:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class BuildResult:
    """What a build did: its problems (warnings) and a one-line summary."""

    problems: list[Problem]
    summary: str
    manifest: dict | None = None
    market: str = ""


def temp_prefix(kind: str) -> str:
    """Return the prefix of a temporary folder: it names its process, so that a folder left by a
    killed process is recognised and removed (remove_orphaned_temp)."""
    return f"dossiergen-{kind}-{os.getpid()}-"


def remove_orphaned_temp() -> None:
    """Remove the temporary folders of dossiergen processes that no longer run (killed builds)."""
    for folder in Path(tempfile.gettempdir()).glob("dossiergen-*-*-*"):
        parts = folder.name.split("-")
        if len(parts) < 4 or not parts[2].isdigit() or not folder.is_dir():
            continue
        if not _running(int(parts[2])):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    """Return whether a process runs (a zombie no longer does: in a container nobody may reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return not Path("/proc").is_dir()  # /proc exists but has no entry: it has gone
