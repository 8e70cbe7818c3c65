"""The real sources: dossier/ and every examples/* validate with no errors and no warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from dossiergen.build import validate_folder

SOURCES = [ROOT / "dossier"] + sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())


@pytest.mark.parametrize("folder", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_source_validates_clean(folder: Path):
    problems = validate_folder(folder)
    assert [p.format() for p in problems] == []


@pytest.mark.parametrize("folder", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_yaml_file_declares_its_schema(folder: Path):
    """Editors complete keys because each file names its schema on the first line."""
    from dossiergen.load import kind_of

    for path in sorted(folder.rglob("*.yaml")):
        rel = path.relative_to(folder).as_posix()
        first = path.read_text("utf-8").splitlines()[0]
        target = f"schemas/{kind_of(rel)}.schema.json"
        assert first.startswith("# yaml-language-server: $schema=") and first.endswith(target), rel
        assert (path.parent / first.split("=", 1)[1]).resolve() == (ROOT / target).resolve(), rel
