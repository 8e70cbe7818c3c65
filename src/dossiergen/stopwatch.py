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
    """Return the CPU seconds (user + system) of this process and of its children it has waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


WATCH = Stopwatch()  # the running process's: a build resets it (build.build_dossiers); writers send theirs back


def reset() -> Stopwatch:
    global WATCH
    WATCH = Stopwatch()
    return WATCH


def current() -> Stopwatch:
    return WATCH
