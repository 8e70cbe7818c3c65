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
from typing import Callable

import pypandoc
import yaml

from . import __version__
from .assemble import Context, Document, assemble_context
from .errors import InputError, Location, Problem, ToolError, UsageError, count_errors
from .load import load_dossier
from .model import Model, build_model
from .package import Artifact, inputs_digest, manifest_bytes, recover_output, write_build
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
from .write.children import remove_orphaned_temp
from .backbones import (Leaf, Submission, backbone_bytes, cn_combination_allowed, cn_envelope_values, cn_titles,
                        envelope_missing, leaf_headings, region, us_form, util_files)
from .literature import literature_documents
from .supplied import supplied_documents
from .layouts import layout_of
from .lifecycle import INDEX, Candidate, Decision, History, decide, modified_file, read_history, rewrite_links
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
    from .validate import validate_folder as validate

    return validate(folder)


def build_dossier(folder: Path, market: str, stage: str | None, out: Path, final: bool,
                  progress: Progress | None = None, *, pdf_engine: str = "typst", **lifecycle) -> BuildResult:
    """Build every applicable document for one market and stage into out/<market>/<stage>/
    (lifecycle: previous, sequence, submission_unit; see build_dossiers)."""
    return build_dossiers(folder, (market,), stage, out, final, progress, pdf_engine=pdf_engine, **lifecycle)[0]


def build_dossiers(folder: Path, markets: tuple[str, ...], stage: str | None, out: Path, final: bool,
                   progress: Progress | None = None, *, pdf_engine: str = "typst", previous: Path | None = None,
                   sequence: str | None = None, submission_unit: str | None = None) -> list[BuildResult]:
    """Build each market for one stage into out/<market>/<stage>/; return one result per market.

    The dossier is loaded and validated once, and a document shared by markets (the English
    core of neutral, us, eu and uk) is written once. A market whose inputs are unchanged is skipped.
    previous: the folder of the sequences already submitted in the (one) market; the build then writes
    the next sequence (or `sequence`) with only what changed (see lifecycle.py)."""
    check_output_folder(folder, out)
    with output_errors(out), output_lock(out):
        stage = stage or _default_stage(folder)
        markets = expand_markets(markets, _application(folder), neutral=True)
        submission, history = _submission(markets, previous, sequence, submission_unit)
        if history is not None and layout_of(markets[0], stage) != "ectd":
            message = f"{markets[0]} at the {stage} stage is not an eCTD sequence (an IMPD): --previous does not apply"
            raise UsageError(message, (Problem("usage.lifecycle", message),))
        lifecycle_key = "" if history is None else "|".join(
            [inputs_digest(history.folder, []), submission.sequence, submission.unit])
        for market in markets:
            recover_output(Path(out) / market / stage)  # a build killed while placing its output
        DocumentCache(Path(out) / ".cache").clean()  # and what killed builds left half-written
        remove_orphaned_temp()
        results, pending = {}, []
        for market in markets:
            target = Path(out) / market / stage
            key = _build_key(folder, market, stage, final, pdf_engine) + lifecycle_key
            manifest = _previous_manifest(target)
            if manifest and manifest.get("build_key") == key and "warnings" in manifest:
                results[market] = BuildResult(_saved_problems(manifest, folder), f"{target} is up to date "
                                              f"({len(manifest['documents'])} documents; inputs unchanged)", manifest, market)
            else:
                pending.append((market, target, key))
        if pending:
            check_engine(pdf_engine)
            cache = DocumentCache(Path(out) / ".cache")
            with DocumentWriter(cache, WORKERS, progress, pdf_engine) as writer:
                plans = _plan_markets(_model(folder), pending, stage, final, writer, submission)
                plans = [replace(plan, submission=submission, history=history) for plan in plans]
                for plan in plans:  # packaging overlaps with writing the next markets' documents
                    written, fresh = writer.collect(plan.keys)
                    results[plan.market] = _package(folder, plan, written, fresh, engine_version(pdf_engine))
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
    from .errors import UsageError

    def usage(message: str, hint: str = ""):
        return UsageError(message, (Problem("usage.lifecycle", message, hint=hint),))

    if unit is not None and unit not in SUBMISSION_UNITS:
        raise usage(f"unknown submission unit '{unit}'", f"use one of {', '.join(SUBMISSION_UNITS)}")
    if sequence is not None and not re.fullmatch(r"[0-9]{4}", sequence):
        raise usage(f"sequence '{sequence}' is not four digits")
    if previous is None:
        number = sequence or SEQUENCE
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
    submission: Submission = Submission()
    history: History | None = None


def _envelope_problems(context: Context, final: bool, submission: Submission = Submission()) -> list[Problem]:
    """Return a problem per value the regional backbone's envelope needs and the data lack (a draft
    writes `[missing: …]` there; a final build stops), and an error for China's codes in a combination
    depend-apt-rat-sqt.xml does not allow (NMPA would reject the sequence)."""
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
                  final: bool, writer: DocumentWriter, submission: Submission = Submission()) -> list[_Plan]:
    """Assemble, render and find gaps per market, handing each market's documents to the writer
    as soon as they are rendered; raise InputError, before any output is placed, when a final
    build lacks data (every market's problems are reported)."""
    model, problems = validated
    plans, blocking = [], []
    for market, target, key in pending:
        context = assemble_context(model, market, stage)
        _unique_documents(context)
        rendered = [render_document(context, document) for document in context.documents]
        assessment = _assess(context, rendered)
        found = assessment.problems(final) + _envelope_problems(context, final, submission)
        blocking += [p for p in found if p.severity == "error"]
        keys = [] if blocking else writer.submit([_job(context, item) for item in rendered])
        plans.append(_Plan(market, target, key, context, rendered, assessment, problems + found, keys))
    if blocking:
        raise InputError("data missing for a final build", tuple(blocking))
    return plans


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


def _package(folder: Path, plan: _Plan, written: list[tuple[bytes, bytes, int]], fresh: int,
             pdf_engine: str) -> BuildResult:
    """Place one market's documents, sequence, data packages, gaps and manifest; run the check."""
    context, rendered = plan.context, plan.rendered
    artifacts, entries = _document_artifacts(context, rendered, written)
    supplied = _supplied_entries(context) + _literature_entries(context) if context.layout == "ectd" else []
    pdfs = {a.path: a.data for a in artifacts if a.path.startswith("ectd/")} | {e["pdf"]: data for e, data in supplied}
    artifacts = [a for a in artifacts if not a.path.startswith("ectd/")]
    supplied = [e for e, _ in supplied]
    if context.layout == "ectd":
        artifacts += sequence_artifacts(entries + supplied, context, pdfs, plan.submission, plan.history)
    artifacts += [Artifact(path, data) for path, data in data_packages(context)]
    gaps_json, gaps_md = gaps_report(plan.assessment, context.model.dossier.label)
    artifacts += [Artifact("gaps.json", gaps_json), Artifact("gaps.md", gaps_md)]
    manifest = {**_manifest(folder, context, entries, rendered, pdf_engine), "supplied": supplied, "build_key": plan.key,
                "verdicts": {v.id: v.status for v in plan.assessment.verdicts},
                "warnings": [_portable(p, context.model.dossier.label) for p in plan.problems]}
    if context.layout == "ectd":
        manifest["sequence"] = f"ectd/{plan.submission.sequence}"
    if plan.history is not None:
        manifest["lifecycle"] = {"previous": str(plan.history.folder), "submitted": plan.history.sequences,
                                 "related_sequence": plan.submission.related, "submission_unit": plan.submission.unit}
    artifacts.append(Artifact("manifest.json", manifest_bytes(manifest)))
    write_build(plan.target, artifacts, verify=_verify)
    missing = sum(len(r.missing) for r in rendered)
    summary = (f"{len(entries)} documents in {plan.target} ({plan.market}, {context.stage}; {fresh} written, "
               f"{len(entries) - fresh} unchanged); {missing} missing item(s)")
    if plan.history is not None:
        operations = [(e.get("lifecycle") or {}).get("operation") for e in entries + supplied]
        counts = {op: operations.count(op) for op in ("new", "replace") if op in operations}
        deletes = index_deletes(artifacts, plan.submission.sequence)
        summary += (f"; sequence {plan.submission.sequence} after {plan.history.last or 'none'}: "
                    + ", ".join(f"{n} {op}" for op, n in counts.items()) + (", " if counts else "")
                    + f"{deletes} delete, {operations.count('unchanged')} unchanged")
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


def _job(context: Context, item: Rendered) -> tuple:
    return item.markdown, _meta(context, item.document), _pdf_meta(context, item), item.attachments


def _document_artifacts(context: Context, rendered: list[Rendered], written) -> tuple[list[Artifact], list[dict]]:
    artifacts, entries = [], []
    for item, (docx_bytes, pdf_bytes, pages) in zip(rendered, written):
        docx = Artifact(f"docx/{item.document.path}.docx", docx_bytes)
        pdf = Artifact(item.document.pdf_path, pdf_bytes)  # regional annexes stay outside the sequence
        artifacts += [docx, pdf]
        entries.append(_entry(context, item, docx, pdf, pages))
    return artifacts, entries


def sequence_artifacts(entries: list[dict], context: Context | None = None, pdfs: dict[str, bytes] | None = None,
                       submission: Submission = Submission(), history: History | None = None) -> list[Artifact]:
    """Return the sequence: its PDFs, index.xml, index-md5.txt and util/, and the market's regional Module 1
    backbone (with its official DTD/XSD), referenced from index.xml by a leaf in
    m1-administrative-information-and-prescribing-information (ICH eCTD 3.2.2).

    pdfs maps each entry's PDF path (ectd/0000/…, as in a first sequence) to its bytes. With the history of
    the submitted sequences, only what changed goes in: new, replace (with modified-file) and delete leaves;
    entries get their place in the new sequence (pdf, or None when unchanged) and their operation."""
    pdfs = pdfs or {}
    first, out = f"ectd/{SEQUENCE}/", f"ectd/{submission.sequence}/"
    leaves = [{"id": leaf_id(e["id"]), "title": e["title"], "href": e["pdf"][len(first):], "checksum": e["pdf_md5"],
               "chain": e["chain"], "entry": e} for e in entries if e["pdf"].startswith(first + "m3/")]
    reg = region(context.market, context.stage) if context is not None else None
    m1 = [(m1_leaf(context, e, first), e) for e in entries if e["pdf"].startswith(first + "m1/")] if reg else []
    files = {e["pdf"][len(first):]: pdfs[e["pdf"]] for e in entries if e["pdf"] in pdfs and e["pdf"].startswith(first)}
    if history is not None:
        leaves, m1, files = _lifecycle(history, submission.sequence, reg, leaves, m1, files)
    for leaf in leaves:
        if leaf.get("entry") is not None:
            leaf["entry"]["pdf"] = out + leaf["href"]
    for leaf, entry in m1:
        if entry is not None:
            entry["pdf"] = out + leaf.href
    artifacts = [Artifact(out + path, data) for path, data in files.items()]
    leaves = [{k: v for k, v in leaf.items() if k != "entry"} for leaf in leaves]
    if reg is not None:
        regional = backbone_bytes(context, reg, [leaf for leaf, _ in m1], submission)
        artifacts += [Artifact(out + reg.backbone, regional)]
        artifacts += [Artifact(out + path, data) for path, data in util_files(reg)]
        leaves.insert(0, {"id": f"m1-{context.market}-regional", "title": f"Module 1 regional backbone ({reg.backbone.rsplit('/', 1)[1]})",
                          "href": reg.backbone, "checksum": md5_hex(regional),
                          "chain": [["m1-administrative-information-and-prescribing-information", {}]]})
    index = backbone_xml(leaves)
    return artifacts + [Artifact(out + "index.xml", index),
                        Artifact(out + "index-md5.txt", md5_hex(index).encode("ascii")),
                        Artifact(out + "util/dtd/ich-ectd-3-2.dtd", dtd_bytes())]


def _lifecycle(history: History, sequence: str, reg, leaves: list[dict], m1: list, files: dict[str, bytes]):
    """Keep what changed since the submitted sequences: new and replace leaves (PDFs with their links to
    unchanged documents pointed into the sequence that holds them), delete leaves for documents no longer
    produced; unchanged documents leave the sequence (their entries' pdf becomes None)."""
    candidates = [Candidate(INDEX, l["id"], l["title"], l["href"], files[l["href"]],
                            tuple((e, tuple(sorted(dict(a).items()))) for e, a in l["chain"])) for l in leaves]
    candidates += [Candidate(reg.backbone, leaf.id, leaf.title, leaf.href, files[leaf.href], (leaf.element,))
                   for leaf, _ in m1]
    decisions, deleted = decide(history, candidates, sequence)
    moved = [c for c in candidates if decisions[(c.backbone, c.id)].previous is not None
             and _place(decisions[(c.backbone, c.id)].previous) != c.place]
    for c in moved:  # a document cannot move between headings by replace: delete there, new here
        deleted.append(decisions[(c.backbone, c.id)].previous)
        decisions[(c.backbone, c.id)] = Decision("new")
    written = {c.href for c in candidates if decisions[(c.backbone, c.id)].operation}
    kept_files = {href: rewrite_links(files[href], href, sequence, written, history) for href in written}
    new_leaves = []
    for leaf in leaves:
        decision = decisions[(INDEX, leaf["id"])]
        _record(leaf["entry"], decision, sequence)
        if decision.operation:
            data = kept_files[leaf["href"]]
            _refresh(leaf["entry"], data)
            new_leaves.append({**leaf, "checksum": md5_hex(data), "operation": decision.operation,
                               "modified_file": decision.modified_file})
        else:
            leaf["entry"]["pdf"] = None
    new_m1 = []
    for leaf, entry in m1:
        decision = decisions[(reg.backbone, leaf.id)]
        _record(entry, decision, sequence)
        if decision.operation:
            data = kept_files[leaf.href]
            _refresh(entry, data)
            new_m1.append((Leaf(leaf.id, leaf.title, leaf.href, md5_hex(data), leaf.element, decision.operation,
                                decision.modified_file, leaf.attrs), entry))
        else:
            entry["pdf"] = None
    for old in deleted:
        mf = modified_file(old, old.backbone, sequence)
        if old.backbone == INDEX:
            new_leaves.append({"id": old.id, "title": old.title, "href": "", "checksum": old.checksum or "",
                               "chain": [[tag, dict(attrs)] for tag, attrs in old.chain], "operation": "delete",
                               "modified_file": mf, "entry": None})
        elif reg is not None and old.backbone == reg.backbone:
            attrs = dict(old.chain[-1][1]) if old.element == "form" else {}
            new_m1.append((Leaf(old.id, old.title, old.href or "", old.checksum or "", old.element, "delete", mf, attrs), None))
    return new_leaves, new_m1, kept_files


def index_deletes(artifacts: list[Artifact], sequence: str) -> int:
    """Return the number of delete leaves in a sequence's backbones."""
    return sum(a.data.count(b'operation="delete"') for a in artifacts
               if a.path.startswith(f"ectd/{sequence}/") and a.path.endswith(".xml"))


def _place(old) -> tuple:
    """Return where a submitted leaf sits, in the form of Candidate.place."""
    if old.backbone == INDEX:
        return tuple((tag, attrs) for tag, attrs in old.chain)
    return (old.element,)


def _record(entry: dict, decision: Decision, sequence: str) -> None:
    entry["lifecycle"] = {"operation": decision.operation or "unchanged",
                          "sequence": sequence if decision.operation else decision.previous.sequence,
                          **({"modified_file": decision.modified_file} if decision.modified_file else {})}


def _refresh(entry: dict, data: bytes) -> None:
    """Update an entry's checksums to the bytes placed in the sequence (links may have been repointed)."""
    entry["pdf_sha256"], entry["pdf_md5"] = hashlib.sha256(data).hexdigest(), md5_hex(data)


def _supplied_entries(context: Context) -> list[tuple[dict, bytes]]:
    """Return the manifest entries and bytes of the documents the applicant supplies (supplied/)."""
    found = []
    for doc in supplied_documents(context):
        found.append(({"id": doc.id, "title": doc.title, "kind": "supplied", "element": doc.heading, "source": doc.source,
                       "pdf": f"ectd/{SEQUENCE}/{doc.path}", "pdf_sha256": hashlib.sha256(doc.data).hexdigest(),
                       "pdf_md5": md5_hex(doc.data)}, doc.data))
    return found


def _literature_entries(context: Context) -> list[tuple[dict, bytes]]:
    """Return the manifest entries and bytes of the copies of the cited literature (3.3, one leaf each)."""
    found = []
    for doc in literature_documents(context):
        found.append(({"id": doc.id, "title": doc.title, "kind": "literature", "section": "3.3", "source": doc.source,
                       "pdf": f"ectd/{SEQUENCE}/{doc.path}", "pdf_sha256": hashlib.sha256(doc.data).hexdigest(),
                       "pdf_md5": md5_hex(doc.data), "chain": [[element, dict(attrs)] for element, attrs in doc.chain]},
                      doc.data))
    return found


def m1_leaf(context: Context, entry: dict, prefix: str) -> Leaf:
    """Return the regional-backbone leaf of a Module 1 document (CN: the official zh title of its heading)."""
    element = entry.get("element")
    if element not in leaf_headings(context.market):
        raise ValueError(f"{entry['pdf']} is in Module 1 but its `element` ({element}) is not a heading of the "
                         f"{context.market} regional backbone that holds leaves (regional/{context.market}/annexes.yaml)")
    title = entry["title"].removeprefix(f"{entry.get('section')} ")  # Module 1 leaf titles carry no CTD number
    if element == "form":  # Form FDA 356h (marketing) or 1571 (IND), in the admin section
        return Leaf(leaf_id(entry["id"]), title, entry["pdf"][len(prefix):], entry["pdf_md5"], element,
                    attrs={"form-type": us_form(context)[1]})
    if context.market == "cn" and entry.get("kind") != "supplied":
        official = cn_titles().get(element, {}).get("zh")
        same = [e for e in context.documents if e.section.element == element and e.pdf_path.startswith(prefix + "m1/")]
        title = official if official and len(same) == 1 else title
    elif entry.get("instance_label"):
        title = f"{title} ({entry['instance_label']})"
    return Leaf(leaf_id(entry["id"]), title, entry["pdf"][len(prefix):], entry["pdf_md5"], element)


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
            **({"instance_label": _instance_label(context, document)} if document.section.regional
               and _instance_label(context, document) else {}),
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
