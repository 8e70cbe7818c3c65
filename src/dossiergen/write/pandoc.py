"""Markdown -> pandoc DOCX and typst source for a batch of documents, in one `pandoc lua`
process (convert.lua). The DOCX and PDF writers finish what pandoc starts."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pypandoc

from ..clock import now
from ..errors import Problem, ToolError
from ..paths import TEMPLATES

SCRIPT = Path(__file__).with_name("convert.lua")
REFERENCE = TEMPLATES / "module3" / "reference.docx"
TYPST_TEMPLATE = TEMPLATES / "module3" / "document.typ"
# Pandoc's Markdown without any way for text to become raw output (DESIGN.md §8).
MARKDOWN_IN = "markdown-raw_html-raw_attribute-raw_tex-tex_math_dollars-tex_math_single_backslash-smart-implicit_figures-auto_identifiers"


@dataclass(frozen=True)
class TypstSettings:
    """Template variables of the typst source; those named in `escape` are data, escaped as text."""

    variables: tuple[tuple[str, str], ...]
    escape: tuple[str, ...]


@dataclass(frozen=True)
class Converted:
    """Pandoc's output for one document: the DOCX before finishing, and the typst source if asked."""

    docx: bytes
    typst: str | None


def convert_batch(jobs: list[tuple[str, TypstSettings | None]]) -> list[Converted]:
    """Return pandoc's DOCX (and typst source, where settings are given) for each Markdown text."""
    with tempfile.TemporaryDirectory(prefix="dossiergen-pandoc-") as tmp:
        batch = Path(tmp) / "batch.json"
        batch.write_text(json.dumps({"from": MARKDOWN_IN, "reference_doc": str(REFERENCE), "template": str(TYPST_TEMPLATE),
                                     "jobs": [_job(markdown, settings) for markdown, settings in jobs]}), "utf-8")
        _run([pypandoc.get_pandoc_path(), "lua", str(SCRIPT), str(batch), tmp])
        return [_collect(Path(tmp), index) for index in range(len(jobs))]


def _job(markdown: str, settings: TypstSettings | None) -> dict:
    typst = None if settings is None else {"variables": dict(settings.variables), "escape": list(settings.escape)}
    return {"markdown": markdown, "typst": typst}


def _run(command: list[str]) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(int(now().timestamp()))}  # pandoc dates docProps from it
    try:
        done = subprocess.run(command, capture_output=True, env=env, check=False)
    except OSError as exc:
        raise _failed(str(exc)) from exc
    if done.returncode != 0:
        raise _failed(done.stderr.decode("utf-8", "replace"))


def _collect(folder: Path, index: int) -> Converted:
    error = folder / f"{index}.err"
    if error.exists():
        raise _failed(error.read_text("utf-8", "replace"))
    typst = folder / f"{index}.typ"
    return Converted((folder / f"{index}.docx").read_bytes(), typst.read_text("utf-8") if typst.exists() else None)


def _failed(message: str) -> ToolError:
    return ToolError("pandoc failed", (Problem("write.pandoc_failed", message.strip()[:500],
                                               hint="reinstall with `make setup`; pandoc comes from pypandoc-binary"),))
