"""`make bench`: build the antibody example for all five markets cold, again with nothing changed,
and after changing one batch result; print documents per second and peak memory.

Targets on a 2-core machine (issue 4): cold < 20 s for five markets, unchanged rebuild < 2 s,
one changed result rewrites only the documents that show it."""

from __future__ import annotations

import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dossiergen.build import build_dossiers

ROOT = Path(__file__).resolve().parent.parent
MARKETS = ("neutral", "us", "eu", "uk", "cn")


def _build_all(source: Path, out: Path) -> tuple[float, int, int]:
    """Build the five markets in one run, as `make dossiers` does."""
    started, documents, written = time.perf_counter(), 0, 0
    for result in build_dossiers(source, MARKETS, None, out, final=False):
        documents += len(result.manifest["documents"])
        match = re.search(r"(\d+) written", result.summary)
        written += int(match.group(1)) if match else 0
    return time.perf_counter() - started, documents, written


def _change_one_result(source: Path) -> str:
    csv = source / "results" / "ds-batches.csv"
    lines = csv.read_text("utf-8").splitlines()
    for index, line in enumerate(lines[1:], 1):
        cells = line.split(",")
        if cells[2] and cells[2].replace(".", "").isdigit():
            cells[2] = f"{float(cells[2]) + 0.1:.2f}"
            lines[index] = ",".join(cells)
            csv.write_text("\n".join(lines) + "\n", "utf-8")
            return f"{cells[0]} {cells[1]}"
    raise SystemExit("no numeric result to change")


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1795737600")
    with tempfile.TemporaryDirectory(prefix="dossiergen-bench-") as tmp:
        source, out = Path(tmp) / "dossier", Path(tmp) / "build"
        shutil.copytree(ROOT / "dossier", source)
        rows = []
        seconds, documents, written = _build_all(source, out)
        rows.append(("cold, 5 markets", seconds, documents, written, 20.0))
        seconds, documents, written = _build_all(source, out)
        rows.append(("unchanged, 5 markets", seconds, documents, written, 2.0))
        changed = _change_one_result(source)
        seconds, documents, written = _build_all(source, out)
        rows.append((f"one result changed ({changed})", seconds, documents, written, None))
    print(f"{'run':44} {'seconds':>8} {'docs':>6} {'written':>8} {'docs/s':>8}  target")
    for name, seconds, documents, written, target in rows:
        verdict = "" if target is None else (f"< {target:g} s " + ("met" if seconds < target else "NOT met"))
        print(f"{name:44} {seconds:8.1f} {documents:6d} {written:8d} {documents / seconds:8.1f}  {verdict}")
    print(f"peak memory (largest process): {_peak_mb():.0f} MB; cores: {os.cpu_count()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
