"""The pipeline: load -> validate -> assemble -> render -> write -> package."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pypandoc

from . import __version__
from .assemble import Context, Document, assemble_context
from .errors import InputError, Problem, count_errors
from .load import load_dossier
from .model import build_model
from .package import Artifact, inputs_digest, manifest_bytes, write_build
from .paths import SCHEMAS, TEMPLATES
from .render import Rendered, render_document
from .text import pick
from .validate import validate_dossier
from .write.docx import DocxMeta, write_docx

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BuildResult:
    """What a build did: its problems (warnings) and a one-line summary."""

    problems: list[Problem]
    summary: str
    manifest: dict | None = None


def validate_folder(folder: Path) -> list[Problem]:
    """Return every problem of the dossier in a folder."""
    return validate_dossier(load_dossier(folder))


def build_dossier(folder: Path, market: str, stage: str | None, out: Path, final: bool,
                  progress: Progress | None = None) -> BuildResult:
    """Build every applicable document for one market and stage into out/<market>/<stage>/."""
    dossier = load_dossier(folder)
    problems = validate_dossier(dossier)
    if count_errors(problems):
        raise InputError("the dossier has errors", tuple(problems))
    model = build_model(dossier)
    stage = stage or model.single("application").get("stage", "marketing")
    context = assemble_context(model, market, stage)
    rendered = [render_document(context, document) for document in context.documents]
    problems += _missing_problems(rendered, final)
    if count_errors(problems):
        raise InputError("data missing for a final build", tuple(problems))
    artifacts, entries = [], []
    for index, (item, data) in enumerate(zip(rendered, _write_all(context, rendered))):
        artifacts.append(Artifact(f"docx/{item.document.path}.docx", data))
        entries.append(_entry(context, item, artifacts[-1]))
        if progress:
            progress(index + 1, len(rendered))
    manifest = _manifest(folder, context, entries, rendered)
    artifacts.append(Artifact("manifest.json", manifest_bytes(manifest)))
    write_build(Path(out) / market / stage, artifacts)
    missing = sum(len(r.missing) for r in rendered)
    summary = (f"{len(entries)} documents written to {Path(out) / market / stage} "
               f"({market}, {stage}); {missing} missing item(s)")
    return BuildResult(problems, summary, manifest)


def _write_all(context: Context, rendered: list[Rendered]):
    """Yield the DOCX bytes of each document in order; pandoc runs on every core."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        yield from pool.map(lambda item: write_docx(item.markdown, _meta(context, item.document)), rendered)


def render_folder(folder: Path, market: str, stage: str | None, prefix: str = "") -> list[Rendered]:
    """Return the rendered Markdown of the documents whose CTD number starts with prefix."""
    dossier = load_dossier(folder)
    problems = validate_dossier(dossier)
    if count_errors(problems):
        raise InputError("the dossier has errors", tuple(problems))
    model = build_model(dossier)
    context = assemble_context(model, market, stage or model.single("application").get("stage", "marketing"))
    return [render_document(context, d) for d in context.documents if d.number.startswith(prefix)]


def _missing_problems(rendered: list[Rendered], final: bool) -> list[Problem]:
    severity = "error" if final else "warning"
    return [Problem("render.missing", f"{r.document.number} ({r.document.path}): no data for {path}",
                    severity=severity, hint="add the data, or mark the section not applicable with a justification")
            for r in rendered for path in r.missing] if final else []


def _title(context: Context, document: Document) -> str:
    return f"{document.number} {pick(document.section.title, context.lang)}"


def _meta(context: Context, document: Document) -> DocxMeta:
    app = context.application
    product = f"{app.get('product_family', '')} {pick(app.get('inn'), context.lang)}".strip()
    instance = _instance_label(context, document)
    title = _title(context, document) + (f" ({document.key_label})" if document.key_label else "")
    return DocxMeta(title=title, subject=product + (f" — {instance}" if instance else ""),
                    header=f"{product} · {title}" + (f" · {instance}" if instance else ""), lang=context.lang)


def _instance_label(context: Context, document: Document) -> str:
    """Return the names of the repeat instance in the document language (for header and subject)."""
    names = [((document.get(scope) or {}).get(key)) for scope, key in
             (("substance", "substance"), ("substance", "manufacturer"), ("product", "name"), ("excipient", "name"))]
    return ", ".join(str(pick(n, context.lang)) for n in names if n)


def _entry(context: Context, item: Rendered, docx: Artifact) -> dict:
    document = item.document
    return {"id": document.id, "section": document.number, "title": _meta(context, document).title,
            "kind": "regional" if document.section.regional else "module3", "element": document.section.element,
            "instance": {k: v for k, v in document.instance.items() if k not in ("slug", "chain")},
            "docx": docx.path, "docx_sha256": docx.sha256, "pdf": None, "pdf_sha256": None, "pages": None,
            "missing": list(item.missing), "untranslated": list(item.untranslated)}


def _manifest(folder: Path, context: Context, entries: list[dict], rendered: list[Rendered]) -> dict:
    return {"tool": "dossiergen", "version": __version__, "market": context.market, "stage": context.stage,
            "language": context.lang, "pandoc": pypandoc.get_pandoc_version(), "pdf_engine": None,
            "inputs_sha256": inputs_digest(folder, [TEMPLATES, SCHEMAS]),
            "documents": entries,
            "untranslated": sorted({u for r in rendered for u in r.untranslated})}
