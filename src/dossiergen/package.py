"""Stage package: documents -> the build folder with its manifest, written atomically.

The folder build/<market>/<stage>/ is written under a temporary name beside it and swapped in
only when complete, so a failed build leaves the previous output untouched. The swap is one
atomic exchange of the two folders (Linux renameat2 RENAME_EXCHANGE): whenever the build is
killed, the folder holds the previous output or the new one, whole. Where the exchange is not
available, two renames are used and the next build repairs what a crash between them left.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

RENAME_EXCHANGE = 2
AT_FDCWD = -100


@dataclass(frozen=True)
class Artifact:
    """One output file: its path inside the build folder and its bytes."""

    path: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def manifest_bytes(manifest: dict) -> bytes:
    """Return the manifest as stable, readable JSON."""
    return (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def write_build(target: Path, artifacts: list[Artifact], verify=None) -> None:
    """Write every artifact into target, replacing its previous content only on success.

    verify(staging_folder) may raise to refuse the new output (the previous one stays)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_output(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-staging-", dir=target.parent))
    try:
        for artifact in artifacts:
            path = staging / artifact.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(artifact.data)
        if verify is not None:
            verify(staging)
        if target.exists() and _exchange(staging, target):
            shutil.rmtree(staging, ignore_errors=True)  # it now holds the previous output
            return
        old = _old(target)
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(staging, target)  # a crash before this line: recover_output puts `old` back
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def recover_output(target: Path) -> None:
    """Repair what a build killed while placing its output left beside target: put the previous
    output back if it was moved aside and the new one never arrived, and remove staging folders.
    Call it with the output folder locked (build.output_lock)."""
    target, old = Path(target), _old(Path(target))
    if not target.parent.is_dir():
        return
    if old.is_dir() and not target.exists():
        os.replace(old, target)
    shutil.rmtree(old, ignore_errors=True)
    for leftover in target.parent.glob(f".{target.name}-staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in target.parent.glob(f".{target.name}-????????"):  # staging folders of earlier versions
        shutil.rmtree(leftover, ignore_errors=True)


def _old(target: Path) -> Path:
    return target.with_name(f".{target.name}-old")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically; return False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    except (OSError, AttributeError):
        return False
    return done == 0


def inputs_digest(folder: Path, knowledge: list[Path]) -> str:
    """Return a sha256 over the dossier files and the project knowledge (templates, schemas)."""
    digest = hashlib.sha256()
    for root in [Path(folder), *knowledge]:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
