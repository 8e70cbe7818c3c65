"""Stage package: documents -> the build folder with its manifest, written atomically.

The folder build/<market>/<stage>/ is written under a temporary name beside it and swapped in
only when complete, so a failed build leaves the previous output untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


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
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for artifact in artifacts:
            path = staging / artifact.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(artifact.data)
        if verify is not None:
            verify(staging)
        old = target.with_name(f".{target.name}-old")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def inputs_digest(folder: Path, knowledge: list[Path]) -> str:
    """Return a sha256 over the dossier files and the project knowledge (templates, schemas)."""
    digest = hashlib.sha256()
    for root in [Path(folder), *knowledge]:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
