"""Stage package: written documents -> the build folder of one market: the eCTD sequence (backbones,
lifecycle operations), data packages, gaps report and manifest, checked, then placed atomically.

The folder build/<market>/<stage>/ is written under a temporary name beside it and swapped in
only when complete, so a failed build leaves the previous output untouched. The swap is one
atomic exchange of the two folders (Linux renameat2 RENAME_EXCHANGE): whenever the build is
killed, the folder holds the previous output or the new one, whole. Where the exchange is not
available, two renames are used and the next build repairs what a crash between them left.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pypandoc

from . import __version__
from .assemble import Context, Document
from .cache import Stored, content
from .outputs import BuildResult, inputs_digest, moved_aside, recover_output
from .backbones import Leaf, Submission, backbone_bytes, cn_titles, leaf_headings, region, us_form, util_files
from .check import check_build
from .ectd import FIRST_SEQUENCE, backbone_xml, dtd_bytes, leaf_id, md5_hex, md5_known
from .errors import InputError, Problem
from .gaps import Assessment, relative
from .lifecycle import INDEX, Candidate, Decision, History, decide, modified_file, rewrite_links
from .paths import REGIONAL, SCHEMAS, TEMPLATES
from .regional import data_packages
from .render import Rendered
from .reports import gaps_report
from .literature import literature_documents
from .supplied import supplied_documents
from .text import pick
from .translation import is_biologic, substance_terms
from .write import DocxMeta, PdfMeta

RENAME_EXCHANGE = 2
AT_FDCWD = -100


@dataclass(frozen=True)
class Artifact:
    """One output file: its path inside the build folder and its bytes (or, for a written document,
    where they lie in the build's cache: cache.Stored, read when the file is placed)."""

    path: str
    data: bytes | Stored

    @property
    def sha256(self) -> str:
        return self.data.sha256 if isinstance(self.data, Stored) else hashlib.sha256(self.data).hexdigest()

    @property
    def md5(self) -> str:
        return self.data.md5 if isinstance(self.data, Stored) else md5_hex(self.data)


def manifest_bytes(manifest: dict) -> bytes:
    """Return the manifest as stable, readable JSON."""
    return (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def write_build(target: Path, artifacts: list[Artifact], verify=None, spare: Path | None = None,
                digests: dict | None = None) -> None:
    """Write every artifact into target, replacing its previous content only on success.

    verify(staging_folder) may raise to refuse the new output (the previous one stays). digests, when
    given, is filled before verify runs with the sha256 and MD5 of each placed file whose bytes come
    from the build's cache (Stored), computed from the bytes placed, not taken from the cache entry
    (the MD5 only for files in ectd/, MD5_CHECKED; else None).
    The new output is put together in a staging folder and swapped in whole. A file whose bytes
    equal those of the same file in the previous output is a hard link to it rather than written
    again (compared byte for byte, never by date). With spare (a folder in the output's .cache), the
    staging folder is kept there between builds: the swap leaves the previous output in it, and the
    next build makes it into the new output by changing only the files whose bytes differ and
    removing those no longer produced (folders are neither made nor removed again)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_output(target)
    spare = spare if spare is not None and _same_device(Path(spare).parent, target.parent) else None
    staging = _staging(target, spare)
    try:
        _fill(staging, target, artifacts, digests)
        if verify is not None:
            verify(staging)
        if target.exists() and _exchange(staging, target):
            if spare is None:
                shutil.rmtree(staging, ignore_errors=True)  # it now holds the previous output
            return  # else it is the spare of the next build
        old = moved_aside(target)
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(staging, target)  # a crash before this line: recover_output puts `old` back
        if spare is not None and old.is_dir():
            os.replace(old, spare)
        elif spare is not None:  # a first build: the spare the next one puts its output together in
            _link_tree(target, spare)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        if spare is None:
            shutil.rmtree(staging, ignore_errors=True)
        raise  # a spare stays: the next build makes it right whatever it holds


def _link_tree(source: Path, copy: Path) -> None:
    """Make copy a tree of hard links to the files of source (the output a first build placed), so that the
    next build finds its folders made and its unchanged files in place (_fill changes only what differs,
    and never writes into a kept file: the output's files are never changed through a link). Best effort:
    whatever it leaves, _fill makes right."""
    try:
        for root, dirnames, filenames in os.walk(source):
            into = os.path.join(copy, os.path.relpath(root, source))
            os.makedirs(into, mode=0o700 if root == os.fspath(source) else 0o777, exist_ok=True)
            for name in filenames:
                os.link(os.path.join(root, name), os.path.join(into, name))
    except OSError:
        pass


def _same_device(folder: Path, other: Path) -> bool:
    """True when folder (made if missing) is on the file system of other (the swap is a rename)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.stat(folder).st_dev == os.stat(other).st_dev
    except OSError:
        return False


def _staging(target: Path, spare: Path | None) -> Path:
    """Return the folder to put the new output together in: the spare when there is one, else a new
    folder (as the spare's place, or beside target)."""
    if spare is None:
        return Path(tempfile.mkdtemp(prefix=f".{target.name}-staging-", dir=target.parent))
    spare = Path(spare)
    if spare.is_symlink() or (spare.exists() and not spare.is_dir()):
        spare.unlink()
    if not spare.is_dir():
        spare.parent.mkdir(parents=True, exist_ok=True)
        spare.mkdir(mode=0o700)  # as mkdtemp makes it: the output folder's own mode
    return spare


def _fill(staging: Path, target: Path, artifacts: list[Artifact], digests: dict | None = None) -> None:
    """Make the staging folder hold exactly the artifacts: remove every file and folder it holds that
    is not one of them, keep a file whose bytes are already right, link one whose bytes equal the
    previous output's file (target), and write the rest (each as a new file: a kept or linked file
    is never written into, so the previous output is never changed)."""
    wanted = {artifact.path: artifact.data for artifact in artifacts}
    folders = {"."}
    for name in wanted:  # every folder above a file ("a/b" for "a/b/c.pdf")
        end = name.rfind("/")
        while end > 0 and name[:end] not in folders:
            folders.add(name[:end])
            end = name.rfind("/", 0, end)
    top = os.fspath(staging)
    for root, dirnames, filenames in os.walk(top, topdown=False):
        rel = os.path.relpath(root, top)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        for name in filenames:
            if prefix + name not in wanted:
                os.unlink(os.path.join(root, name))
        for name in dirnames:
            path = os.path.join(root, name)
            if os.path.islink(path):
                os.unlink(path)
            elif prefix + name not in folders:
                shutil.rmtree(path)
    probe = os.path.join(top, ".dossiergen-mode-probe")  # the mode a written file gets: a kept or linked file must have it
    with open(probe, "wb"):
        pass
    mode, made = os.stat(probe).st_mode, {"."}
    os.unlink(probe)
    previous_top = os.fspath(target)
    def placed(name: str, data, found: bytes) -> None:
        if digests is not None and isinstance(data, Stored):  # found: the bytes now in the output
            # the MD5 only where the check reads it (the backbones' checksums, of files in ectd/): hashing
            # the DOCX tree as well took a third of a one-change build's packaging. found's SHA-256 is
            # data.sha256 (_holding compared them; content() checked the bytes it read): its MD5 is that of
            # those bytes as first summed (ectd.md5_known), not the one the cache entry keeps
            digests[name] = (data.sha256, md5_known(data.sha256, found) if name.startswith(MD5_CHECKED) else None)

    for name, data in wanted.items():
        path = os.path.join(top, name)
        found = _holding(path, data, mode)
        if found is not None:
            placed(name, data, found)
            continue
        parent = name.rpartition("/")[0] or "."
        if parent not in made:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            made.add(parent)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
        previous = os.path.join(previous_top, name)
        found = _holding(previous, data, mode)
        if found is not None:
            try:
                os.link(previous, path)
                placed(name, data, found)
                continue
            except OSError:  # a file system without hard links: written
                pass
        written = content(data)  # a Stored one is checked against its sha256 as it is read
        with open(path, "xb") as handle:
            handle.write(written)
        placed(name, data, written)


MD5_CHECKED = "ectd/"  # write_build's digests carry an MD5 for the files below this folder (check.check_sequence)


def _holding(path: str, data: bytes | Stored, mode: int) -> bytes | None:
    """Return the bytes of path when it is a regular file holding exactly data (bytes, or Stored:
    compared by its sha256, without reading the cache), with the mode a written file gets; else None."""
    import stat

    try:
        info = os.lstat(path)
    except OSError:
        return None
    size = data.size if isinstance(data, Stored) else len(data)
    if not stat.S_ISREG(info.st_mode) or info.st_size != size or info.st_mode != mode:
        return None
    try:
        with open(path, "rb") as handle:
            found = handle.read()
    except OSError:
        return None
    same = hashlib.sha256(found).hexdigest() == data.sha256 if isinstance(data, Stored) else found == data
    return found if same else None


def spare_folder(target: Path) -> Path:
    """Return where the staging folder of out/<market>/<stage> is kept between builds: out/.cache/spare/."""
    target = Path(target)
    return target.parent.parent / ".cache" / "spare" / f"{target.parent.name}-{target.name}"


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically; return False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    except (OSError, AttributeError):
        return False
    return done == 0


@dataclass(frozen=True)
class Plan:
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
    inputs: str = ""  # the digest of the inputs the build read (outputs.inputs_digest): "" reads them again


def package_market(folder: Path, plan: Plan, written: list[tuple[bytes, bytes, int]], fresh: int,
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
    manifest = {**_manifest(folder, context, entries, rendered, pdf_engine, plan.inputs), "supplied": supplied, "build_key": plan.key,
                "verdicts": {v.id: v.status for v in plan.assessment.verdicts},
                "warnings": [_portable(p, context.model.dossier.label) for p in plan.problems]}
    if context.layout == "ectd":
        manifest["sequence"] = f"ectd/{plan.submission.sequence}"
    if plan.history is not None:
        manifest["lifecycle"] = {"previous": str(plan.history.folder), "submitted": plan.history.sequences,
                                 "related_sequence": plan.submission.related, "submission_unit": plan.submission.unit}
    artifacts.append(Artifact("manifest.json", manifest_bytes(manifest)))
    # the written documents' digests as write_build computes them from the bytes it places (it reads
    # them anyway, to compare them): the check takes them rather than reading every file again, and its
    # MD5s are the placed bytes', not the cache entry's, so the backbone's checksums (from the cache
    # entry) are still checked against the files
    known: dict[str, tuple[str, str]] = {}
    write_build(plan.target, artifacts, verify=lambda staging: _verify(staging, known), spare=spare_folder(plan.target),
                digests=known)
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
    first, out = f"ectd/{FIRST_SEQUENCE}/", f"ectd/{submission.sequence}/"
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
    files = {href: content(data) for href, data in files.items()}  # the PDFs' bytes: their links are rewritten
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
                       "pdf": f"ectd/{FIRST_SEQUENCE}/{doc.path}", "pdf_sha256": hashlib.sha256(doc.data).hexdigest(),
                       "pdf_md5": md5_hex(doc.data)}, doc.data))
    return found


def _literature_entries(context: Context) -> list[tuple[dict, bytes]]:
    """Return the manifest entries and bytes of the copies of the cited literature (3.3, one leaf each)."""
    found = []
    for doc in literature_documents(context):
        found.append(({"id": doc.id, "title": doc.title, "kind": "literature", "section": "3.3", "source": doc.source,
                       "pdf": f"ectd/{FIRST_SEQUENCE}/{doc.path}", "pdf_sha256": hashlib.sha256(doc.data).hexdigest(),
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


def _verify(folder: Path, known: dict[str, tuple[str, str]] | None = None) -> None:
    """Run the technical check on the staged build; errors stop it from replacing the previous one
    (known: digests of files whose bytes write_build has verified, see check.check_build)."""
    from . import stopwatch

    with stopwatch.current().stage("check"):
        findings = check_build(folder, known)
    if any(f.severity == "error" for f in findings):
        raise InputError("the technical check failed", tuple(f.as_problem() for f in findings))


def _portable(problem: Problem, root: str) -> dict:
    """Return a warning for the manifest, its file named from the dossier folder's own name (so
    the manifest's bytes do not depend on where the dossier lies)."""
    data = problem.as_dict()
    if data["location"]:
        data["location"]["file"] = relative(data["location"]["file"], root)
    return data


def _title(context: Context, document: Document) -> str:
    title = pick(document.section.title, context.lang)
    if context.lang == "zh":
        title = substance_terms(title, is_biologic(context.application.get("molecule_type")))
    return f"{document.heading_number} {title}"


def document_meta(context: Context, document: Document) -> DocxMeta:
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


def pdf_meta(context: Context, item: Rendered, toc: bool | None = None) -> PdfMeta:
    """Return the PDF's metadata (toc: has_toc(item.markdown), when the caller knows it)."""
    meta = document_meta(context, item.document)
    return PdfMeta(meta.title, meta.subject, meta.header, meta.lang, has_toc(item.markdown) if toc is None else toc)


def has_toc(markdown: str) -> bool:
    """True when the Markdown has two second-level headings or more (the PDF then gets a table of contents)."""
    return sum(line.startswith("## ") for line in markdown.splitlines()) >= 2


def _entry(context: Context, item: Rendered, docx: Artifact, pdf: Artifact, pages: int) -> dict:
    document = item.document
    return {"id": document.id, "section": document.heading_number, "title": document_meta(context, document).title,
            "kind": "regional" if document.section.regional else "module3", "element": document.section.element,
            "instance": {k: v for k, v in document.instance.items() if k not in ("slug", "chain")},
            **({"instance_label": _instance_label(context, document)} if document.section.regional
               and _instance_label(context, document) else {}),
            "docx": docx.path, "docx_sha256": docx.sha256, "pdf": pdf.path, "pdf_sha256": pdf.sha256,
            "pdf_md5": pdf.md5, "pages": pages, "chain": [[e, dict(a)] for e, a in document.chain],
            "missing": list(item.missing), "untranslated": [u.as_dict() for u in item.untranslated if not u.kept],
            "kept_in_original": [u.as_dict() for u in item.untranslated if u.kept]}


def _manifest(folder: Path, context: Context, entries: list[dict], rendered: list[Rendered], pdf_engine: str,
              inputs: str = "") -> dict:
    return {"tool": "dossiergen", "version": __version__, "market": context.market, "stage": context.stage,
            "language": context.lang, "pandoc": pypandoc.get_pandoc_version(), "pdf_engine": pdf_engine,
            "layout": context.layout, "sequence": f"ectd/{FIRST_SEQUENCE}" if context.layout == "ectd" else None,
            "inputs_sha256": inputs or inputs_digest(folder, [TEMPLATES, SCHEMAS, REGIONAL]),
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
