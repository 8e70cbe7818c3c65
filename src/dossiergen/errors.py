"""Problems (data) and the one exception family, with one exit code per kind (DESIGN.md §8)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

EXIT_OK = 0
EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_WARNINGS = 3
EXIT_TOOL = 4
EXIT_INTERNAL = 70

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Location:
    """A place in a source file: 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0
    path: str = ""  # the JSON path of the data at this place, when it is a data file

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One finding about the input: what, where, and what to do."""

    code: str
    message: str
    location: Location | None = None
    path: str = ""
    hint: str = ""
    severity: Severity = "error"

    def format(self) -> str:
        """Return `file:line:col: error: $.path: message [code]` plus an indented hint line."""
        where = f"{self.location}: " if self.location else ""
        shown = self.path or (self.location.path if self.location else "")
        path = f"{shown}: " if shown else ""
        text = f"{where}{self.severity}: {path}{self.message} [{self.code}]"
        return text + (f"\n    hint: {self.hint}" if self.hint else "")

    def as_dict(self) -> dict:
        """Return the problem as plain JSON-ready data."""
        data = asdict(self)
        data["location"] = asdict(self.location) if self.location else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Problem":
        """Return the problem saved by as_dict (e.g. a build's warnings kept in its manifest)."""
        location = Location(**data["location"]) if data.get("location") else None
        return cls(data["code"], data["message"], location, data.get("path", ""), data.get("hint", ""),
                   data.get("severity", "error"))

    @property
    def sort_key(self) -> tuple:
        loc = self.location or Location("")
        return (loc.file, loc.line, loc.column, self.code, self.message)


def sort_problems(problems) -> list[Problem]:
    """Return problems in file, line, column order (declared order, never accidental)."""
    return sorted(problems, key=lambda p: p.sort_key)


def count_errors(problems) -> int:
    """Return how many problems are errors."""
    return sum(1 for p in problems if p.severity == "error")


class DossierError(Exception):
    """Base of every expected failure; carries its exit code and problems."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()):
        super().__init__(message)
        self.problems = tuple(problems)


class InputError(DossierError):
    """The dossier has problems the writer must fix."""

    exit_code = EXIT_BAD_INPUT


class UsageError(DossierError):
    """The command line asks for something that cannot be done."""

    exit_code = EXIT_USAGE


class ToolError(DossierError):
    """An external tool (pandoc, LibreOffice, a font) is missing or failed."""

    exit_code = EXIT_TOOL
