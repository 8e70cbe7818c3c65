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
import threading
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


class _PeakMemory(threading.Thread):
    """Samples the peak resident memory (VmHWM) of every process of the build: this one, the fork
    server, its writer processes and their pandoc processes (grandchildren are not in getrusage)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_kb, self.stopped = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            for pid in _descendants(os.getpid()):
                self.peak_kb = max(self.peak_kb, _high_water_kb(pid))


def _descendants(root: int) -> list[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _high_water_kb(pid: int) -> int:
    try:
        line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0
    return int(line.split()[1])


def main() -> None:
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1795737600")
    with tempfile.TemporaryDirectory(prefix="dossiergen-bench-") as tmp:
        source, out = Path(tmp) / "dossier", Path(tmp) / "build"
        memory = _PeakMemory()
        memory.start()
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
    memory.stopped.set()
    print(f"peak memory (largest process, sampled every 0.1 s): {memory.peak_kb / 1024:.0f} MB; cores: {os.cpu_count()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
