"""The real sources: they validate clean, and they build into documents a reviewer can open."""

from __future__ import annotations

import json
import re
from pathlib import Path

import docx
import pytest

from conftest import ROOT
from dossiergen.build import build_dossier, validate_folder
from tools import libreoffice_convert

SOURCES = [ROOT / "dossier"] + sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
BUILDS = {"dossier": ("eu", "marketing"), "examples/velcratinib-tablets": ("us", "ind")}


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


@pytest.fixture(scope="module")
def example_builds(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("examples")
    folders = {}
    for source, (market, stage) in BUILDS.items():
        build_dossier(ROOT / source, market, stage, out / source.replace("/", "-"), final=False)
        folders[source] = out / source.replace("/", "-") / market / stage
    return folders


def _documents(folder: Path):
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    for entry in manifest["documents"]:
        yield entry, docx.Document(folder / entry["docx"])


@pytest.mark.parametrize("source", list(BUILDS))
def test_documents_are_complete_and_clean(example_builds, source):
    """Every document opens, starts with its CTD number and title, has no artefacts or empty tables."""
    artefacts = re.compile(r"\{\{|\{%|%\}|\}\}|\\\*|\*\*|\[missing:")
    for entry, document in _documents(example_builds[source]):
        heading = document.paragraphs[0]
        assert (heading.style.name, heading.text) == ("Heading 1", entry["title"].split(" (")[0]), entry["docx"]
        texts = [p.text for p in document.paragraphs] + [c.text for t in document.tables for r in t.rows for c in r.cells]
        bad = [t for t in texts if artefacts.search(t)]
        assert bad == [], entry["docx"]
        assert all(len(t.rows) >= 2 for t in document.tables), f"empty table in {entry['docx']}"
        assert entry["missing"] == [], entry["docx"]


def test_batch_analyses_carry_the_real_numbers(example_builds):
    from dossiergen.load import load_dossier
    from dossiergen.model import build_model, results_by_batch

    model = build_model(load_dossier(ROOT / "dossier"))
    batch = next(b for b in model.of_type("batch") if b.data["subject"].startswith("ds-"))
    numeric = next(r for r in results_by_batch(model)[batch.id] if "value" in r)
    entry, document = next((e, d) for e, d in _documents(example_builds["dossier"]) if e["section"] == "3.2.S.4.4")
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert batch.data["number"] in cells
    assert any(c.startswith(f"{numeric['value']}") for c in cells)


@pytest.mark.parametrize("source", list(BUILDS))
def test_libreoffice_opens_every_document(example_builds, source, tmp_path):
    """The real-client check: LibreOffice converts every DOCX without error."""
    import shutil

    inbox = tmp_path / "in"
    inbox.mkdir()
    files = []
    for index, path in enumerate(sorted(example_builds[source].rglob("*.docx"))):
        files.append(inbox / f"{index:03d}-{path.name}")  # names repeat across folders
        shutil.copy(path, files[-1])
    result = libreoffice_convert(files, tmp_path)
    produced = {p.stem for p in tmp_path.glob("*.pdf")}
    missing = [f.name for f in files if f.stem not in produced]
    assert result.returncode == 0, result.stderr
    assert missing == [], result.stderr


@pytest.mark.parametrize("source", list(BUILDS))
def test_every_stability_data_document_has_trend_figures(example_builds, source):
    """Each 3.2.P.8.3 (and 3.2.S.7.3) carries numbered trend plots: in the DOCX as pictures with alt
    text, in the PDF as drawn figures with their captions."""
    import pikepdf

    folder = example_builds[source]
    entries = [e for e, _ in _documents(folder) if e["section"] in ("3.2.P.8.3", "3.2.S.7.3")]
    assert any(e["section"] == "3.2.P.8.3" for e in entries)
    for entry in entries:
        document = docx.Document(folder / entry["docx"])
        pictures = document.inline_shapes
        assert len(pictures) >= 1, entry["docx"]
        alts = [shape._inline.docPr.get("descr") for shape in pictures]
        assert all(alt and alt.startswith("Scatter plot of ") for alt in alts), entry["docx"]
        captions = [p.text for p in document.paragraphs if p.text.startswith(f"Figure {entry['section']}-")]
        assert [c.split(" ")[1] for c in captions] == [f"{entry['section']}-{i}" for i in range(1, len(pictures) + 1)]
        with pikepdf.open(folder / entry["pdf"]) as pdf:  # the tagged PDF's figures and their alt text
            figures = [str(node.get("/Alt")) for node in _struct_nodes(pdf.Root.StructTreeRoot) if node.get("/S") == "/Figure"]
        assert figures == alts, entry["pdf"]


def _struct_nodes(node):
    import pikepdf

    if isinstance(node, pikepdf.Dictionary):
        yield node
        if "/K" in node:
            yield from _struct_nodes(node.K)
    elif isinstance(node, pikepdf.Array):
        for item in node:
            yield from _struct_nodes(item)
