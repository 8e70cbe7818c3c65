"""Where a build's time goes, by stage: load, validate, assemble, render, convert, finish DOCX,
compile PDF, finish PDF, check, package (`make bench` prints the table; README, Speed).

Stages that run in the writer processes (convert … finish PDF) are measured there and added up
when their documents are collected, so their sum can exceed the wall time on several cores."""

from __future__ import annotations

import time
from contextlib import contextmanager

STAGES = ("load", "validate", "assemble", "render", "convert", "finish DOCX", "compile PDF", "finish PDF", "check",
          "package")


class Stopwatch:
    """Seconds per stage, and how many items each stage handled."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str, count: int = 0):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started, count)

    def add(self, name: str, seconds: float, count: int = 0) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.counts[name] = self.counts.get(name, 0) + count

    def merge(self, other: dict) -> None:
        for name, (seconds, count) in other.items():
            self.add(name, seconds, count)

    def as_dict(self) -> dict:
        return {name: (self.seconds[name], self.counts.get(name, 0)) for name in self.seconds}


WATCH = Stopwatch()  # the running process's: a build resets it (build.build_dossiers); writers send theirs back


def reset() -> Stopwatch:
    global WATCH
    WATCH = Stopwatch()
    return WATCH


def current() -> Stopwatch:
    return WATCH
