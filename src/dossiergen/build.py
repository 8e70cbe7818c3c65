"""The pipeline: load -> validate -> assemble -> render -> write -> package."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import stopwatch
from .cache import DocumentCache, engine_fingerprint, using_store
from .clock import now, today
from .errors import InputError, Location, Problem, ToolError, UsageError, count_errors
from .layouts import layout_of
from .load import read_application
from .markets import expand_markets
from .outputs import BuildResult, inputs_digest, recover_output, remove_orphaned_temp
from .paths import REGIONAL, SCHEMAS, TEMPLATES
from .text import pick

# The rest of the pipeline is imported where it is used: a build with nothing to do (every market up
# to date) then starts in a fraction of a second (issue 19). Names only in annotations are strings.
if TYPE_CHECKING:
    from .assemble import Context, Document
    from .backbones import Submission
    from .gaps import Assessment
    from .lifecycle import History
    from .model import Model
    from .package import Plan
    from .render import Rendered
    from .write import DocumentWriter, Writers

Progress = Callable[[str, int, int], None]  # (stage, done, total): "validating", "rendering eu", "writing", …
WORKERS = os.cpu_count() or 2


def validate_folder(folder: Path) -> list[Problem]:
    """Return every problem of the dossier in a folder."""
    from .validate import validate_folder as validate

    return validate(folder)


def build_dossier(folder: Path, market: str, stage: str | None, out: Path, final: bool,
                  progress: Progress | None = None, *, pdf_engine: str = "typst", **lifecycle) -> BuildResult:
    """Build every applicable document for one market and stage into out/<market>/<stage>/
    (lifecycle: previous, sequence, submission_unit; see build_dossiers)."""
    return build_dossiers(folder, (market,), stage, out, final, progress, pdf_engine=pdf_engine, **lifecycle)[0]


def build_dossiers(folder: Path, markets: tuple[str, ...], stage: str | None, out: Path, final: bool,
                   progress: Progress | None = None, *, pdf_engine: str = "typst", previous: Path | None = None,
                   sequence: str | None = None, submission_unit: str | None = None,
                   writers: "Writers | None" = None) -> list[BuildResult]:
    """Build each market for one stage into out/<market>/<stage>/; return one result per market.

    The dossier is loaded and validated once, and a document shared by markets (the English
    core of neutral, us, eu and uk) is written once. A market whose inputs are unchanged is skipped.
    previous: the folder of the sequences already submitted in the (one) market; the build then writes
    the next sequence (or `sequence`) with only what changed (see lifecycle.py).
    writers: writer processes kept from an earlier build of this process (write.Writers; `dossiergen watch`)."""
    check_output_folder(folder, out)
    watch = stopwatch.reset()
    progress = progress or (lambda stage, done, total: None)
    with output_errors(out), output_lock(out):
        application = read_application(folder)
        stage = stage or application.get("stage", "marketing")
        markets = expand_markets(markets, application, neutral=True)
        submission, history = _submission(markets, previous, sequence, submission_unit)
        if history is not None and layout_of(markets[0], stage) != "ectd":
            message = f"{markets[0]} at the {stage} stage is not an eCTD sequence (an IMPD): --previous does not apply"
            raise UsageError(message, (Problem("usage.lifecycle", message),))
        lifecycle_key = "" if history is None else "|".join(
            [inputs_digest(history.folder, []), submission.sequence, submission.unit])
        progress("reading inputs", 0, len(markets))
        for market in markets:
            recover_output(Path(out) / market / stage)  # a build killed while placing its output
        DocumentCache(Path(out) / ".cache").clean()  # and what killed builds left half-written
        remove_orphaned_temp()
        results, pending, built_before = {}, [], False
        inputs = inputs_digest(folder, [TEMPLATES, SCHEMAS, REGIONAL])  # read once for every market
        for market in markets:
            target = Path(out) / market / stage
            key = _build_key(inputs, market, stage, final, pdf_engine) + lifecycle_key
            manifest = _previous_manifest(target)
            built_before = built_before or manifest is not None
            if manifest and manifest.get("build_key") == key and "warnings" in manifest:
                results[market] = BuildResult(_saved_problems(manifest, folder), f"{target} is up to date "
                                              f"({len(manifest['documents'])} documents; inputs unchanged)", manifest, market)
            else:
                pending.append((market, target, key))
        if pending:
            from .package import package_market
            from .write import DocumentWriter, check_engine, engine_version

            check_engine(pdf_engine)
            cache = DocumentCache(Path(out) / ".cache")
            writing = lambda done, total: progress("writing", done, total)  # noqa: E731
            blobs = Path(out) / ".cache" / "blobs"
            with DocumentWriter(cache, WORKERS, writing, pdf_engine, blobs, writers) as writer, using_store(blobs):
                plans = _plan_markets(_model(folder, progress), _render_order(pending, built_before), stage, final, writer,
                                      submission, progress)
                plans = [replace(plan, submission=submission, history=history, inputs=inputs) for plan in _package_order(plans)]
                for number, plan in enumerate(plans):  # packaging overlaps with writing the next markets' documents
                    written, fresh = writer.collect(plan.keys)
                    progress(f"checking and packaging {plan.market}", number, len(plans))
                    with watch.stage("package", len(plan.rendered)):
                        results[plan.market] = package_market(folder, plan, written, fresh, engine_version(pdf_engine))
            watch.add("package", -watch.seconds.get("check", 0.0), 0,  # the check ran inside packaging: counted apart
                      -watch.cpu.get("check", 0.0))
            for plan in plans:  # a damaged cache entry concerns the whole run: said once (cli prints shared problems once)
                result = results[plan.market]
                results[plan.market] = BuildResult(result.problems + cache.warnings, result.summary, result.manifest,
                                                   result.market)
        return [results[market] for market in markets]


def check_output_folder(folder: Path, out: Path) -> None:
    """Refuse an output folder inside the dossier (every later build would read the output as
    input), or a dossier inside the output folder (a build would replace it)."""
    dossier, output = Path(folder).resolve(), Path(out).resolve()
    if output.is_relative_to(dossier) or dossier.is_relative_to(output):
        inside = output.is_relative_to(dossier)
        raise UsageError("output inside the dossier", (Problem(
            "usage.out_in_dossier" if inside else "usage.dossier_in_out",
            f"the output folder '{out}' is inside the dossier folder '{folder}'" if inside
            else f"the dossier folder '{folder}' is inside the output folder '{out}'",
            hint="pass --out a folder beside the dossier, for example --out build"),))


@contextmanager
def output_errors(out: Path):
    """Turn a failure to write the output (read-only or full disk, no permission) into exit 4 with the fix."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EFBIG):
            raise
        if exc.errno in (errno.EACCES, errno.EPERM) and not _inside(exc.filename, out):
            raise  # not about the output
        why = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
               errno.EROFS: "the file system is read-only", errno.EFBIG: "a file is too large for the file system"}.get(
            exc.errno, "permission denied")
        raise ToolError("output not writable", (Problem(
            "output.not_writable", f"cannot write the output: {why} ({exc.filename or out})",
            hint="free disk space, or pass --out a writable folder; the previous output is unchanged"),)) from exc


def _inside(name, folder: Path) -> bool:
    try:
        return bool(name) and Path(os.fsdecode(name)).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, RuntimeError, TypeError):
        return False


@contextmanager
def output_lock(out: Path):
    """Hold an exclusive lock on the output folder for the whole build (another build into the
    same folder waits), so recovering and cleaning staging folders never touches a live one."""
    Path(out).mkdir(parents=True, exist_ok=True)
    with open(Path(out) / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield



SUBMISSION_UNITS = ("initial", "validation-response", "response", "additional-info", "closing", "consolidating",
                    "corrigendum", "reformat", "re-examination")  # EU M1 3.1 submission-unit types


def _submission(markets: tuple[str, ...], previous: Path | None, sequence: str | None,
                unit: str | None) -> tuple[Submission, History | None]:
    """Return the envelope values of the sequence to build and the history it continues (None: first)."""
    from .backbones import Submission
    from .ectd import FIRST_SEQUENCE
    from .lifecycle import read_history

    def usage(message: str, hint: str = ""):
        return UsageError(message, (Problem("usage.lifecycle", message, hint=hint),))

    if unit is not None and unit not in SUBMISSION_UNITS:
        raise usage(f"unknown submission unit '{unit}'", f"use one of {', '.join(SUBMISSION_UNITS)}")
    if sequence is not None and not re.fullmatch(r"[0-9]{4}", sequence):
        raise usage(f"sequence '{sequence}' is not four digits")
    if previous is None:
        number = sequence or FIRST_SEQUENCE
        return Submission(number, number, unit or "initial", True), None
    if len(markets) != 1 or markets[0] == "neutral":
        raise usage("--previous names the submitted sequences of one market; build one market (not neutral) with it",
                    "each market numbers its own sequences: run one build per market")
    if not Path(previous).is_dir():
        raise usage(f"no folder of submitted sequences at {previous}")
    history = read_history(Path(previous))
    if history.problems:
        raise InputError(f"the submitted sequences in {previous} do not form a valid chain",
                         tuple(Problem("lifecycle.chain", message, Location(str(previous))) for message in history.problems))
    number = sequence or history.next_number()
    if history.last is not None and int(number) <= int(history.last):
        raise usage(f"sequence {number} is not after the last submitted sequence {history.last}")
    if not history.sequences:
        return Submission(number, number, unit or "initial", True), history
    unit = unit or "additional-info"
    related = number if unit == "initial" else history.sequences[0]
    return Submission(number, related, unit, False), history


def _envelope_problems(context: Context, final: bool, submission: Submission | None = None) -> list[Problem]:
    """Return a problem per value the regional backbone's envelope needs and the data lack (a draft
    writes `[missing: …]` there; a final build stops), and an error for China's codes in a combination
    depend-apt-rat-sqt.xml does not allow (NMPA would reject the sequence)."""
    from .backbones import Submission, cn_combination_allowed, cn_envelope_values, envelope_missing, region

    submission = submission or Submission()
    reg = region(context.market, context.stage)
    if reg is None:
        return []
    problems = [Problem("ectd.envelope", f"{reg.backbone}: the envelope has no value for {where}",
                        Location(f"{context.model.dossier.label}/{where.split()[0]}"), severity="error" if final else "warning",
                        hint=f"add {where.split()[-1]} to {where.split()[0]} (see README, Regional backbones)")
                for where in envelope_missing(context)]
    if context.market == "cn":
        values = cn_envelope_values(context, submission)
        codes = (values["application_type"], values["regulatory_activity"], values["sequence_type"])
        if not any("[missing" in c for c in codes) and not cn_combination_allowed(values):
            problems.append(Problem("ectd.cn_combination", f"application type {codes[0]}, regulatory activity {codes[1]} "
                                    f"and sequence type {codes[2]} are not a combination NMPA allows",
                                    Location(f"{context.model.dossier.label}/markets/cn.yaml"), "$.envelope",
                                    hint="see depend-apt-rat-sqt.xml (templates/ectd/cn-1.0): e.g. cnapt1 (IND) takes "
                                    "cnrat1, 2, 5, 7 or 9; cnapt2/cnapt3 take cnrat1, 2, 3, 4, 6, 8 or 9"))
    return problems


def _plan_markets(validated: tuple[Model, list[Problem]], pending: list[tuple[str, Path, str]], stage: str,
                  final: bool, writer: DocumentWriter, submission: Submission | None = None,
                  progress: Progress = lambda stage, done, total: None) -> list[Plan]:
    """Assemble, render and find gaps per market, handing each market's documents to the writer
    as soon as they are rendered; raise InputError, before any output is placed, when a final
    build lacks data (every market's problems are reported)."""
    from .assemble import assemble_context
    from .depends import Hashes, render_cached
    from .package import Plan
    from .write import BATCHES_PER_WORKER

    model, problems = validated
    plans, blocking, hashes, watch, tocs = [], [], Hashes(model), stopwatch.current(), {}
    chunk = FIRST_CHUNK
    for number, (market, target, key) in enumerate(pending, 1):
        with watch.stage("assemble"):
            context = assemble_context(model, market, stage)
            _unique_documents(context)
        rendered, keys, total = [], [], len(context.documents)
        with watch.stage("render", total):
            for document in context.documents:
                progress(f"rendering {market}", len(rendered), total)
                rendered.append(render_cached(context, document, hashes))
                # The writers start before the market is rendered; the market's last chunk is left to the
                # market's last hand-over (below), so that they end on batches cut for the cores to end together.
                if not blocking and len(rendered) - len(keys) >= chunk and total - len(rendered) >= chunk:
                    keys += writer.submit([_job(context, item, tocs) for item in rendered[len(keys):]], spread=1)
                    chunk = min(2 * chunk, max(RENDER_CHUNK, total // 4))
                    if number == 1 and len(keys) >= max(RENDER_CHUNK, total // 4):  # a quarter of the first market
                        writer.sized()
        with watch.stage("validate"):  # the gap rules of the market
            assessment = _assess(context, rendered)
        found = assessment.problems(final) + _envelope_problems(context, final, submission)
        blocking += [p for p in found if p.severity == "error"]
        # Batches that balance the cores matter only at the end: before it, fewer batches (a pandoc start each).
        spread = BATCHES_PER_WORKER if number == len(pending) else 1
        keys = [] if blocking else keys + writer.submit([_job(context, item, tocs) for item in rendered[len(keys):]], spread=spread)
        writer.sized()  # at the latest once the first market is handed over (saying it again changes nothing)
        plans.append(Plan(market, target, key, context, rendered, assessment, problems + found, keys))
    if blocking:
        raise InputError("data missing for a final build", tuple(blocking))
    return plans


def _render_order(pending: list[tuple[str, Path, str]], built_before: bool) -> list[tuple[str, Path, str]]:
    """Return the markets in the order they are rendered, written and packaged (the outputs do not
    depend on it). After an earlier build (a few documents to write): the first market of each document
    language first (neutral, then cn, then us, eu, uk), so that the documents only the later language
    has are handed to the writers early, and are written on the other core while the markets that
    share the English core are rendered (a build after one change writes an English and a Chinese
    document). A first build (every document to write): the markets of the first language first
    (neutral, us, eu, uk, then cn), so that they are packaged while the writers make the other
    language's documents, and only the last market is packaged after the writers finish (measured:
    in the other order the English markets waited behind the Chinese documents, and four markets
    were packaged, about 1.6 s, with the writers done)."""
    from .assemble import LANGUAGE

    if not built_before:
        return _first_language_first(pending, lambda item: item[0])
    seen: set[str] = set()
    firsts = [item for item in pending if LANGUAGE.get(item[0], "en") not in seen and not seen.add(LANGUAGE.get(item[0], "en"))]
    return firsts + [item for item in pending if item not in firsts]


def _package_order(plans: list[Plan]) -> list[Plan]:
    """Return the markets in the order they are packaged: those of the first language rendered first (their
    documents were handed to the writers first), then the others, each in render order. After an earlier
    build (render order neutral, cn, us, eu, uk: see _render_order) us, eu and uk are packaged while the
    writers make the Chinese documents of cn, rather than after waiting for them (a build after one change
    writes an English and a Chinese document). The first market of each language still collects its
    language's documents first: each market's count of documents written is the same in either order."""
    return _first_language_first(plans, lambda plan: plan.market)


def _first_language_first(items: list, market_of) -> list:
    """Return the items whose market has the first item's document language first, then the others, each
    group in the order given (a stable sort)."""
    from .assemble import LANGUAGE

    first = LANGUAGE.get(market_of(items[0]), "en") if items else "en"
    return sorted(items, key=lambda item: LANGUAGE.get(market_of(item), "en") != first)


# Rendered documents handed to the writers at a time (at least; a quarter of a market's): enough for
# batches that pay pandoc's start-up once for many documents, early enough that the writers do not
# wait for a whole market to render. The first hand-over of a build is smaller (FIRST_CHUNK, then
# twice as many each time up to a chunk), so that the writers start as soon as a few documents are
# rendered: with a first chunk of a quarter of a market, both writers waited for the first 46 of
# neutral's documents to render, after validation (issue 19). A final build whose gap rules then
# block places nothing: what the writers made stays in the cache only.
RENDER_CHUNK = 40
FIRST_CHUNK = 8


def _unique_documents(context: Context) -> None:
    """Raise InputError at the YAML of the entity whose name gives the same file name (slug) as another's."""
    seen: dict[str, Document] = {}
    problems, reported = [], set()
    for document in context.documents:
        first = seen.setdefault(document.path, document)
        first = first if first is not document else seen.setdefault("id:" + document.id, document)
        if first is document:
            continue
        (data, key), (other, _) = _colliding(document, first)
        if (id(data), id(other)) in reported:
            continue
        reported.add((id(data), id(other)))
        problems.append(Problem(
            "build.name_collision", f"'{pick(data.get(key), 'en')}' and '{pick(other.get(key), 'en')}' give the same "
            f"document file name '{document.path}'", context.model.dossier.location_of(data, key) if data else None,
            hint="file names keep only the letters a-z and digits of a name: make the names differ there"))
    if problems:
        raise InputError("two documents would have the same file name", tuple(problems))


def _colliding(document: Document, first: Document) -> tuple[tuple[dict, str], tuple[dict, str]]:
    """Return the repeat instances (data, naming key) of two colliding documents: the outermost
    ones that differ, whose names gave the same slug."""
    pairs = [(a, b) for (_, a), (_, b) in zip(document.scope, first.scope) if a is not b] or \
        [(document.scope[-1][1], first.scope[-1][1])] if document.scope and first.scope else []
    if not pairs:
        return ({}, "id"), ({}, "id")
    return tuple(next(((data, key) for key in ("name", "substance", "number", "reference")
                       if isinstance(data, dict) and key in data), (data, "id")) for data in pairs[0])


def _build_key(inputs: str, market: str, stage: str, final: bool, pdf_engine: str) -> str:
    """Return the hash of everything a build depends on: inputs and knowledge (inputs_digest),
    engine, options, time."""
    parts = [inputs, engine_fingerprint(), pdf_engine, market, stage, str(final),
             str(int(now().timestamp())), today().isoformat()]  # today: audit ages and future dates
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _previous_manifest(target: Path) -> dict | None:
    try:
        return json.loads((target / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _job(context: Context, item: Rendered, tocs: dict[str, bool] | None = None) -> tuple:
    """Return the writers' job of a rendered document; tocs: whether each Markdown gets a table of contents,
    filled as asked (the markets that share a document ask once per build)."""
    from .package import document_meta, has_toc, pdf_meta

    tocs = {} if tocs is None else tocs
    toc = tocs.get(item.markdown)
    if toc is None:
        toc = tocs[item.markdown] = has_toc(item.markdown)
    return item.markdown, document_meta(context, item.document), pdf_meta(context, item, toc), item.attachments


def render_folder(folder: Path, market: str, stage: str | None, prefix: str = "") -> list[Rendered]:
    """Return the rendered Markdown of the documents whose CTD number starts with prefix."""
    from .render import render_document

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
    from .assemble import assemble_context
    from .render import render_document
    from .reports import build_matrix, gaps_report, matrix_json, matrix_markdown
    from .write import DocxMeta, readiness_docx

    check_output_folder(folder, out)
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
    from .assemble import assemble_context

    model, problems = _model(folder)
    return assemble_context(model, market, stage or model.single("application").get("stage", "marketing")), problems


def _model(folder: Path, progress: Progress | None = None) -> tuple[Model, list[Problem]]:
    """Load and validate; return the model and the warnings, or raise InputError on errors."""
    from .load import load_dossier
    from .model import build_model
    from .validate import validate_dossier

    watch = stopwatch.current()
    if progress:
        progress("loading", 0, 1)
    with watch.stage("load"):
        dossier = load_dossier(folder)
    if progress:
        progress("validating", 0, len(dossier.files))
    with watch.stage("validate", len(dossier.files)):
        problems = validate_dossier(dossier)
    if count_errors(problems):
        raise InputError("the dossier has errors", tuple(problems))
    return build_model(dossier), problems


def _assess(context: Context, rendered: list[Rendered]) -> Assessment:
    """Return the one assessment of a market and stage: rule verdicts and the documents' marks."""
    from .gaps import assess

    missing = [(r.document.number, path) for r in rendered for path in r.missing]
    return assess(context.model, context.market, context.stage, missing, len(rendered))


def _saved_problems(manifest: dict, folder: Path) -> list[Problem]:
    """Return the warnings an up-to-date build reported, so --strict is the same cold and warm."""
    name, problems = Path(folder).name, []
    for data in manifest.get("warnings", []):
        location = data.get("location")
        if location and (location["file"] == name or location["file"].startswith(name + "/")):
            location["file"] = str(folder) + location["file"][len(name):]
        problems.append(Problem.from_dict(data))
    return problems
