"""Shared fixtures: case trees, an in-process CLI runner, golden files with --update-golden."""

from __future__ import annotations

import io
import os
import shutil
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

TESTS = Path(__file__).parent
CASES = TESTS / "cases"
ROOT = TESTS.parent


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite expected/ files from the current output")


# Tests run at a fixed build time, so "today" in messages and "future date" checks are stable.
FIXED_EPOCH = "1795737600"  # 2026-11-27T00:00:00Z


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", FIXED_EPOCH)
    monkeypatch.setenv("DOSSIERGEN_TODAY", "2026-11-27")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path | None = None) -> Run:
    """Run the dossiergen CLI in-process and return exit code, stdout and stderr."""
    from dossiergen.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, os.getcwd()
    sys.argv = ["dossiergen", *args]
    try:
        if cwd:
            os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
    return Run(code, out.getvalue(), err.getvalue())


def materialise_case(name: str, target: Path) -> Path:
    """Copy a case's dossier into target/dossier, applying edits.yaml over its base case."""
    case = CASES / name
    dest = target / "dossier"
    if (case / "dossier").is_dir():
        shutil.copytree(case / "dossier", dest)
        return dest
    spec = yaml.safe_load((case / "edits.yaml").read_text("utf-8"))
    materialise_case(spec["base"], target)
    apply_edits(dest, spec.get("edits", []))
    return dest


def apply_edits(folder: Path, edits: list[dict]) -> None:
    """Apply find/replace, append, write and delete edits to files of a dossier copy."""
    for edit in edits:
        path = folder / edit["file"]
        if "delete" in edit:
            path.unlink()
        elif "write" in edit:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(edit["write"].encode("utf-8") if isinstance(edit["write"], str) else edit["write"])
        elif "append" in edit:
            path.write_text(path.read_text("utf-8") + edit["append"], "utf-8")
        else:
            text = path.read_text("utf-8")
            assert edit["find"] in text, f"edit target not found in {edit['file']}: {edit['find']!r}"
            path.write_text(text.replace(edit["find"], edit["replace"], 1), "utf-8")


def check_golden(path: Path, actual: str, update: bool) -> None:
    """Compare text with a golden file, or rewrite the golden file under --update-golden."""
    if update or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, "utf-8")
        if not update:
            pytest.fail(f"golden file {path} was missing and has been written; review it and rerun")
    assert actual == path.read_text("utf-8")


@pytest.fixture
def minimal(tmp_path) -> Path:
    """A writable copy of the minimal valid dossier; returns its folder."""
    return materialise_case("minimal", tmp_path)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, Path]:
    """The minimal case built for every market at the IND stage (built once per test session)."""
    from dossiergen.build import build_dossier

    saved = {k: os.environ.get(k) for k in ("SOURCE_DATE_EPOCH", "DOSSIERGEN_TODAY")}
    os.environ.update(SOURCE_DATE_EPOCH=FIXED_EPOCH, DOSSIERGEN_TODAY="2026-11-27")
    try:
        root = tmp_path_factory.mktemp("minimal")
        source = materialise_case("minimal", root)
        for market in ("neutral", "us", "eu", "uk", "cn"):
            build_dossier(source, market, "ind", root / "build", final=False)
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return {m: root / "build" / m / "ind" for m in ("neutral", "us", "eu", "uk", "cn")}
