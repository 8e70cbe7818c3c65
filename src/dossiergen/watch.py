"""`dossiergen watch`: what a build reads, looked at again and again, so that the dossier is built again
when a file changes (cli.watch runs the builds and prints; this module only looks at files).

A build's inputs are every file under the dossier folder and the project's templates, schemas and
regional registries (outputs.inputs_digest reads the same files); a change is a file added, removed,
or with another size or modification time. Editors save in several steps (a temporary file, then a
rename; a spreadsheet export writes one CSV after another), so a change is acted on only once the
files have stayed the same for one more look (`settled`)."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Callable

Snapshot = dict[str, tuple[int, int]]  # path -> (size, modification time in ns)


def snapshot(roots: list[Path]) -> Snapshot:
    """Return the size and modification time of every file under the roots (as inputs_digest finds them)."""
    found: Snapshot = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    info = os.stat(path)
                except OSError:  # removed while we looked: the next look says so
                    continue
                found[path] = (info.st_size, info.st_mtime_ns)
    return found


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """Return the paths added, removed or changed between two snapshots, sorted."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def settled(roots: list[Path], before: Snapshot, interval: float,
            sleep: Callable[[float], None] = time.sleep) -> tuple[Snapshot, list[str]]:
    """Look at the files every `interval` seconds until some differ from `before` and then stay the same
    for one more look; return the new snapshot and the paths that changed (sorted)."""
    current = before
    while True:
        sleep(interval)
        latest = snapshot(roots)
        if latest == current and latest != before:
            return latest, changed(before, latest)
        current = latest


def rest() -> None:
    """Between two builds of a long-lived process: collect the garbage of the last build now, while
    nothing waits, and set what survives apart (gc.freeze), so that the collector's full passes during
    the next build do not walk it again. Unfrozen first: what the last rest set apart and has since
    become garbage is collected too, so nothing is kept for good. A full pass over a build's objects
    cost 0.08 to 0.1 s in about every other build after one change (issue 19)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
