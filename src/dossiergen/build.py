"""The pipeline: load -> validate -> assemble -> render -> write -> package."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pypandoc
import yaml

from . import __version__
from .assemble import Context, Document, assemble_context
from .errors import InputError, Problem, count_errors
from .load import load_dossier
from .model import Model, build_model
from .package import Artifact, inputs_digest, manifest_bytes, write_build
from .paths import REGIONAL, SCHEMAS, TEMPLATES
from .render import Rendered, render_document
from .translation import is_biologic, substance_terms
from .text import pick
from .validate import validate_dossier
from .gaps import Assessment, assess, gaps_report, relative
from .markets import expand_markets
from .regional import data_packages
from .cache import DocumentCache, engine_fingerprint
from .check import check_build
from .clock import now, today
from .ectd import SEQUENCE, backbone_xml, dtd_bytes, leaf_id, md5_hex
from .write import DocumentWriter, DocxMeta, PdfMeta, check_engine, engine_version, write_docx

Progress = Callable[[int, int], None]
WORKERS = os.cpu_count() or 2


@dataclass(frozen=True)
class BuildResult:
    """What a build did: its problems (warnings) and a one-line summary."""

    problems: list[Problem]
    summary: str
    manifest: dict | None = None
    market: str = ""


def validate_folder(folder: Path) -> list[Problem]:
    """Return every problem of the dossier in a folder."""
    return validate_dossier(load_dossier(folder))


def build_dossier(folder: Path, market: str, stage: str | None, out: Path, final: bool,
                  progress: Progress | None = None, *, pdf_engine: str = "typst") -> BuildResult:
    """Build every applicable document for one market and stage into out/<market>/<stage>/."""
    return build_dossiers(folder, (market,), stage, out, final, progress, pdf_engine=pdf_engine)[0]


def build_dossiers(folder: Path, markets: tuple[str, ...], stage: str | None, out: Path, final: bool,
                   progress: Progress | None = None, *, pdf_engine: str = "typst") -> list[BuildResult]:
    """Build each market for one stage into out/<market>/<stage>/; return one result per market.

    The dossier is loaded and validated once, and a document shared by markets (the English
    core of neutral, us, eu and uk) is written once. A market whose inputs are unchanged is skipped."""
    stage = stage or _default_stage(folder)
    markets = expand_markets(markets, _application(folder), neutral=True)
    results, pending = {}, []
    for market in markets:
        target, key = Path(out) / market / stage, _build_key(folder, market, stage, final, pdf_engine)
        previous = _previous_manifest(target)
        if previous and previous.get("build_key") == key and "warnings" in previous:
            results[market] = BuildResult(_saved_problems(previous, folder), f"{target} is up to date ({len(previous['documents'])} documents; "
                                              "inputs unchanged)", previous, market)
        else:
            pending.append((market, target, key))
    if pending:
        check_engine(pdf_engine)
        with DocumentWriter(DocumentCache(Path(out) / ".cache"), WORKERS, progress, pdf_engine) as writer:
            plans = _plan_markets(_model(folder), pending, stage, final, writer)
            for plan in plans:  # packaging overlaps with writing the next markets' documents
                written, fresh = writer.collect(plan.keys)
                results[plan.market] = _package(folder, plan, written, fresh, engine_version(pdf_engine))
    return [results[market] for market in markets]


@dataclass(frozen=True)
class _Plan:
    """One market's build before writing: its context, rendered documents, gaps and problems."""

    market: str
    target: Path
    key: str
    context: Context
    rendered: list[Rendered]
    assessment: Assessment
    problems: list[Problem]
    keys: list[str]


def _plan_markets(validated: tuple[Model, list[Problem]], pending: list[tuple[str, Path, str]], stage: str,
                  final: bool, writer: DocumentWriter) -> list[_Plan]:
    """Assemble, render and find gaps per market, handing each market's documents to the writer
    as soon as they are rendered; raise InputError, before any output is placed, when a final
    build lacks data (every market's problems are reported)."""
    model, problems = validated
    plans, blocking = [], []
    for market, target, key in pending:
        context = assemble_context(model, market, stage)
        rendered = [render_document(context, document) for document in context.documents]
        assessment = _assess(context, rendered)
        found = assessment.problems(final)
        blocking += [p for p in found if p.severity == "error"]
        keys = [] if blocking else writer.submit([_job(context, item) for item in rendered])
        plans.append(_Plan(market, target, key, context, rendered, assessment, problems + found, keys))
    if blocking:
        raise InputError("data missing for a final build", tuple(blocking))
    return plans


def _package(folder: Path, plan: _Plan, written: list[tuple[bytes, bytes, int]], fresh: int,
             pdf_engine: str) -> BuildResult:
    """Place one market's documents, sequence, data packages, gaps and manifest; run the check."""
    context, rendered = plan.context, plan.rendered
    artifacts, entries = _document_artifacts(context, rendered, written)
    artifacts += (sequence_artifacts(entries) if context.layout == "ectd" else []) + \
        [Artifact(path, data) for path, data in data_packages(context)]
    gaps_json, gaps_md = gaps_report(plan.assessment, context.model.dossier.label)
    artifacts += [Artifact("gaps.json", gaps_json), Artifact("gaps.md", gaps_md)]
    manifest = {**_manifest(folder, context, entries, rendered, pdf_engine), "build_key": plan.key,
                "verdicts": {v.id: v.status for v in plan.assessment.verdicts},
                "warnings": [_portable(p, context.model.dossier.label) for p in plan.problems]}
    artifacts.append(Artifact("manifest.json", manifest_bytes(manifest)))
    write_build(plan.target, artifacts, verify=_verify)
    missing = sum(len(r.missing) for r in rendered)
    summary = (f"{len(entries)} documents in {plan.target} ({plan.market}, {context.stage}; {fresh} written, "
               f"{len(entries) - fresh} unchanged); {missing} missing item(s)")
    return BuildResult(plan.problems, summary, manifest, plan.market)


def _application(folder: Path) -> dict:
    """Return application.yaml's data for the fast path before loading (empty if unreadable:
    validation then reports why)."""
    try:
        data = yaml.safe_load((Path(folder) / "application.yaml").read_text("utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _default_stage(folder: Path) -> str:
    """Return the stage named in application.yaml (marketing if it cannot be read)."""
    return _application(folder).get("stage", "marketing")


def _build_key(folder: Path, market: str, stage: str, final: bool, pdf_engine: str) -> str:
    """Return the hash of everything a build depends on: inputs, knowledge, engine, options, time."""
    parts = [inputs_digest(folder, [TEMPLATES, SCHEMAS, REGIONAL]), engine_fingerprint(), pdf_engine, market, stage, str(final),
             str(int(now().timestamp())), today().isoformat()]  # today: audit ages and future dates
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _previous_manifest(target: Path) -> dict | None:
    try:
        return json.loads((target / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _job(context: Context, item: Rendered) -> tuple[str, DocxMeta, PdfMeta]:
    return item.markdown, _meta(context, item.document), _pdf_meta(context, item)


def _document_artifacts(context: Context, rendered: list[Rendered], written) -> tuple[list[Artifact], list[dict]]:
    artifacts, entries = [], []
    for item, (docx_bytes, pdf_bytes, pages) in zip(rendered, written):
        docx = Artifact(f"docx/{item.document.path}.docx", docx_bytes)
        pdf = Artifact(item.document.pdf_path, pdf_bytes)  # regional annexes stay outside the sequence
        artifacts += [docx, pdf]
        entries.append(_entry(context, item, docx, pdf, pages))
    return artifacts, entries


def sequence_artifacts(entries: list[dict]) -> list[Artifact]:
    """Return index.xml, index-md5.txt and util/dtd/ for the documents' PDFs."""
    leaves = [{"id": leaf_id(e["id"]), "title": e["title"], "href": e["pdf"].split("/", 2)[2],
               "checksum": e["pdf_md5"], "chain": e["chain"]} for e in entries if e["pdf"].startswith(f"ectd/{SEQUENCE}/m3/")]
    index = backbone_xml(leaves)
    return [Artifact(f"ectd/{SEQUENCE}/index.xml", index),
            Artifact(f"ectd/{SEQUENCE}/index-md5.txt", md5_hex(index).encode("ascii")),
            Artifact(f"ectd/{SEQUENCE}/util/dtd/ich-ectd-3-2.dtd", dtd_bytes())]


def _verify(folder: Path) -> None:
    """Run the technical check on the staged build; errors stop it from replacing the previous one."""
    findings = check_build(folder)
    if any(f.severity == "error" for f in findings):
        raise InputError("the technical check failed", tuple(f.as_problem() for f in findings))


def render_folder(folder: Path, market: str, stage: str | None, prefix: str = "") -> list[Rendered]:
    """Return the rendered Markdown of the documents whose CTD number starts with prefix."""
    context, _ = _context(folder, market, stage)
    return [render_document(context, d) for d in context.documents if d.number.startswith(prefix)]


@dataclass(frozen=True)
class GapsReport:
    """The outcome of `dossiergen gaps`: the matrix and the files written."""

    label: str
    matrix: object
    written: list[Path]


def gaps_folder(folder: Path, market: str, stage: str | None, out: Path) -> GapsReport:
    """Assess one market or all target markets; write gaps.md/json per market, and for 'all' the
    readiness matrix (Markdown, JSON, DOCX) under out/readiness/<stage>/, all from one assessment."""
    from .reports import build_matrix, matrix_json, matrix_markdown
    from .write import readiness_docx

    context, _ = _context(folder, "neutral", stage)
    markets = expand_markets((market,), context.application, neutral=False)
    if not markets:
        raise InputError("no target market", (Problem(
            "gaps.no_target_market", "the application names no target market, so there is nothing to assess",
            context.model.dossier.location_of(context.application),
            hint="add markets (market, application_type) to application.yaml, or name one with --market"),))
    root, written, assessments = context.model.dossier.label, [], {}
    for name in markets:
        market_context = assemble_context(context.model, name, context.stage)
        assessments[name] = _assess(market_context, [render_document(market_context, d) for d in market_context.documents])
        data, text = gaps_report(assessments[name], root)
        written += _write_files(Path(out) / name / context.stage, {"gaps.json": data, "gaps.md": text})
    matrix = build_matrix(assessments, context.stage)
    label = str(pick(context.application.get("product_family"), "en"))
    if market == "all":
        markdown = matrix_markdown(matrix, label, root)
        meta = DocxMeta(title=f"Global readiness {label}", subject=f"{label}, {context.stage}",
                        header=f"{label} · global readiness · {context.stage}", lang="en")
        written += _write_files(Path(out) / "readiness" / context.stage, {
            "readiness.md": markdown.encode("utf-8"), "readiness.json": matrix_json(matrix, label, root),
            "readiness.docx": readiness_docx(markdown, meta)})
    return GapsReport(label, matrix, written)


def _write_files(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Write small report files, each replaced atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, folder / name)
    return [folder / name for name in files]


def _context(folder: Path, market: str, stage: str | None) -> tuple[Context, list[Problem]]:
    """Load, validate and assemble; raise InputError when the dossier has errors."""
    model, problems = _model(folder)
    return assemble_context(model, market, stage or model.single("application").get("stage", "marketing")), problems


def _model(folder: Path) -> tuple[Model, list[Problem]]:
    """Load and validate; return the model and the warnings, or raise InputError on errors."""
    dossier = load_dossier(folder)
    problems = validate_dossier(dossier)
    if count_errors(problems):
        raise InputError("the dossier has errors", tuple(problems))
    return build_model(dossier), problems


def _assess(context: Context, rendered: list[Rendered]) -> Assessment:
    """Return the one assessment of a market and stage: rule verdicts and the documents' marks."""
    missing = [(r.document.number, path) for r in rendered for path in r.missing]
    return assess(context.model, context.market, context.stage, missing, len(rendered))


def _portable(problem: Problem, root: str) -> dict:
    """Return a warning for the manifest, its file named from the dossier folder's own name (so
    the manifest's bytes do not depend on where the dossier lies)."""
    data = problem.as_dict()
    if data["location"]:
        data["location"]["file"] = relative(data["location"]["file"], root)
    return data


def _saved_problems(manifest: dict, folder: Path) -> list[Problem]:
    """Return the warnings an up-to-date build reported, so --strict is the same cold and warm."""
    name, problems = Path(folder).name, []
    for data in manifest.get("warnings", []):
        location = data.get("location")
        if location and (location["file"] == name or location["file"].startswith(name + "/")):
            location["file"] = str(folder) + location["file"][len(name):]
        problems.append(Problem.from_dict(data))
    return problems


def _title(context: Context, document: Document) -> str:
    title = pick(document.section.title, context.lang)
    if context.lang == "zh":
        title = substance_terms(title, is_biologic(context.application.get("molecule_type")))
    return f"{document.heading_number} {title}"


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
    return ("，" if context.lang == "zh" else ", ").join(str(pick(n, context.lang)) for n in names if n)


def _pdf_meta(context: Context, item: Rendered) -> PdfMeta:
    meta = _meta(context, item.document)
    toc = sum(line.startswith("## ") for line in item.markdown.splitlines()) >= 2
    return PdfMeta(meta.title, meta.subject, meta.header, meta.lang, toc)


def _entry(context: Context, item: Rendered, docx: Artifact, pdf: Artifact, pages: int) -> dict:
    document = item.document
    return {"id": document.id, "section": document.heading_number, "title": _meta(context, document).title,
            "kind": "regional" if document.section.regional else "module3", "element": document.section.element,
            "instance": {k: v for k, v in document.instance.items() if k not in ("slug", "chain")},
            "docx": docx.path, "docx_sha256": docx.sha256, "pdf": pdf.path, "pdf_sha256": pdf.sha256,
            "pdf_md5": md5_hex(pdf.data), "pages": pages, "chain": [[e, dict(a)] for e, a in document.chain],
            "missing": list(item.missing), "untranslated": [u.as_dict() for u in item.untranslated if not u.kept],
            "kept_in_original": [u.as_dict() for u in item.untranslated if u.kept]}


def _manifest(folder: Path, context: Context, entries: list[dict], rendered: list[Rendered], pdf_engine: str) -> dict:
    return {"tool": "dossiergen", "version": __version__, "market": context.market, "stage": context.stage,
            "language": context.lang, "pandoc": pypandoc.get_pandoc_version(), "pdf_engine": pdf_engine,
            "layout": context.layout, "sequence": f"ectd/{SEQUENCE}" if context.layout == "ectd" else None,
            "inputs_sha256": inputs_digest(folder, [TEMPLATES, SCHEMAS, REGIONAL]),
            "documents": entries,
            "untranslated": _untranslated(rendered, False), "kept_in_original": _untranslated(rendered, True)}


def _untranslated(rendered: list[Rendered], kept: bool) -> list[dict]:
    """Return the English texts printed in the documents, each once, with its data path and sections
    (kept: those of fields kept in their original language, such as literature citations)."""
    found: dict[tuple[str, str], list[str]] = {}
    for item in rendered:
        for u in (u for u in item.untranslated if u.kept == kept):
            sections = found.setdefault((u.path, u.text), [])
            if u.section not in sections:
                sections.append(u.section)
    return [{"path": path, "text": text, "sections": sections} for (path, text), sections in sorted(found.items())]
