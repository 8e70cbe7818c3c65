"""Where a build's time goes, by stage: load, validate, assemble, render, draw figures, convert, finish DOCX,
compile PDF, finish PDF, check, package (`make bench` prints the table; README, Speed).

Stages that run in the writer processes (draw figures … finish PDF) are measured there and added up
when their documents are collected, so their sum can exceed the wall time on several cores.
Each stage also keeps its CPU seconds (user and system, of the process and the tools it waited for:
pandoc), which a busy machine inflates far less than the wall time."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

STAGES = ("load", "validate", "assemble", "render", "draw figures", "convert", "finish DOCX", "compile PDF", "finish PDF", "check",
          "package")


class Stopwatch:
    """Seconds per stage, and how many items each stage handled."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, count: int = 0):
        started, cpu = time.perf_counter(), cpu_seconds()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started, count, cpu_seconds() - cpu)

    def add(self, name: str, seconds: float, count: int = 0, cpu: float = 0.0) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.counts[name] = self.counts.get(name, 0) + count
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu

    def merge(self, other: dict) -> None:
        for name, (seconds, count, *cpu) in other.items():
            self.add(name, seconds, count, *cpu)

    def as_dict(self) -> dict:
        """Return {stage: (wall seconds, items, CPU seconds)}."""
        return {name: (self.seconds[name], self.counts.get(name, 0), self.cpu.get(name, 0.0)) for name in self.seconds}


def cpu_seconds() -> float:
    """Return the CPU seconds (user + system) of this process, of its children it has waited for, and
    of those it keeps running (kept_child: a writer's pandoc)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system + sum(map(_running_cpu, KEPT))


KEPT: set[int] = set()  # process ids of children that run across stages; their CPU counts until they are waited for


def kept_child(pid: int, kept: bool) -> None:
    """Count (kept) or stop counting the CPU of a running child; stop just before waiting for it, whose
    CPU then counts among the children's."""
    (KEPT.add if kept else KEPT.discard)(pid)


def _running_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):  # not Linux, or it has ended
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


WATCH = Stopwatch()  # the running process's: a build resets it (build.build_dossiers); writers send theirs back


def reset() -> Stopwatch:
    global WATCH
    WATCH = Stopwatch()
    return WATCH


def current() -> Stopwatch:
    return WATCH
