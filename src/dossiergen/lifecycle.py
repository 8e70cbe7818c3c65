"""eCTD v3.2.2 lifecycle: the sequences already submitted in a market, their current view, and the
next sequence derived from a change of data.

A folder of submitted sequences (0000/, 0001/, … as published) is read back from its backbones
(index.xml and the regional Module 1 backbone). Every leaf is keyed by the backbone that holds it and
its ID; dossiergen keeps a document's leaf ID, title and placement the same across sequences, so the
key follows one document through its history. A `replace` or `delete` leaf names the leaf it acts on
in `modified-file` as the ICH eCTD Specification 3.2.2 prescribes: the earlier backbone's path relative
to the file holding the new leaf, `#`, and the leaf ID (e.g. ../0000/index.xml#ID).

"Changed" is decided on content: content_key() hashes a PDF without its document information and
XMP metadata (which carry the build time) and with every link target written relative to the
sequence folder (a link into an earlier sequence and the same link within one sequence are equal).
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .backbones import REGIONS, W3_XLINK_NS, XLINK_NS
from .ectd import FIRST_SEQUENCE, md5_hex

SEQUENCE_NAME = re.compile(r"^[0-9]{4}$")
INDEX = "index.xml"


@dataclass
class LeafRecord:
    """One leaf of a submitted sequence."""

    sequence: str
    backbone: str                 # the backbone file, from the sequence folder: index.xml or m1/…/…-regional.xml
    id: str
    operation: str
    href: str | None              # the file, from the sequence folder
    checksum: str | None
    title: str
    modified_file: str | None
    chain: tuple                  # ((tag, attrs), …) from below the backbone root to the leaf's parent
    history: list = field(default_factory=list)   # [(sequence, operation)] of the document, oldest first

    @property
    def key(self) -> tuple[str, str]:
        return self.backbone, self.id

    @property
    def element(self) -> str:
        """The heading the leaf sits under (EU `specific` wrappers and CN namespaces left out)."""
        tags = [etree.QName(tag).localname for tag, _ in self.chain if etree.QName(tag).localname != "specific"]
        return tags[-1] if tags else ""


@dataclass
class History:
    """The submitted sequences of one market: every leaf, the current view and the chain's problems."""

    folder: Path
    sequences: list[str]
    leaves: list[LeafRecord]
    current: dict[tuple[str, str], LeafRecord]
    problems: list[str]

    @property
    def last(self) -> str | None:
        return self.sequences[-1] if self.sequences else None

    def next_number(self) -> str:
        return f"{int(self.last) + 1:04d}" if self.last else FIRST_SEQUENCE


def read_history(folder: Path) -> History:
    """Read every sequence of a folder, in number order, and replay its lifecycle operations."""
    folder = Path(folder)
    sequences = sorted(p.name for p in folder.iterdir() if p.is_dir() and SEQUENCE_NAME.match(p.name)) if folder.is_dir() else []
    leaves, problems = [], []
    for number in sequences:
        found, trouble = read_sequence(folder / number)
        leaves += found
        problems += [f"{number}: {message}" for message in trouble]
    current: dict[tuple[str, str], LeafRecord] = {}
    by_place: dict[tuple[str, str, str], LeafRecord] = {(l.sequence, l.backbone, l.id): l for l in leaves}
    gone: dict[tuple[str, str, str], str] = {}
    for leaf in leaves:
        where = f"{leaf.sequence}/{leaf.backbone}#{leaf.id}"
        if leaf.operation == "new":
            if leaf.key in current:
                problems.append(f"{where}: new leaf, but leaf {leaf.id} of {current[leaf.key].sequence} is still current "
                                "(replace it instead)")
            leaf.history = [(leaf.sequence, "new")]
            current[leaf.key] = leaf
            continue
        target = _target(folder, leaf)
        if target is None:
            problems.append(f"{where}: {leaf.operation} leaf has no modified-file")
            continue
        if target not in by_place:
            problems.append(f"{where}: modified-file '{leaf.modified_file}' does not resolve to a leaf")
            continue
        if target in gone:
            problems.append(f"{where}: modified-file '{leaf.modified_file}' names a leaf already {gone[target]}")
            continue
        old = by_place[target]
        if current.get(old.key) is not old and leaf.operation != "append":
            problems.append(f"{where}: modified-file '{leaf.modified_file}' names a leaf that is not current")
            continue
        gone[target] = "deleted" if leaf.operation == "delete" else "replaced"
        leaf.history = old.history + [(leaf.sequence, leaf.operation)]
        current.pop(old.key, None)
        if leaf.operation != "delete":
            current[leaf.key] = leaf
    return History(folder, sequences, leaves, current, problems)


def _target(folder: Path, leaf: LeafRecord) -> tuple[str, str, str] | None:
    """Return (sequence, backbone, ID) of the leaf a modified-file names, or None."""
    if not leaf.modified_file or "#" not in leaf.modified_file:
        return None
    path, _, target_id = leaf.modified_file.partition("#")
    holder = posixpath.dirname(f"{leaf.sequence}/{leaf.backbone}")
    resolved = posixpath.normpath(posixpath.join(holder, path))
    sequence, _, backbone = resolved.partition("/")
    return (sequence, backbone, target_id) if SEQUENCE_NAME.match(sequence) else ("", resolved, target_id)


def read_sequence(sequence: Path) -> tuple[list[LeafRecord], list[str]]:
    """Return the leaves of one sequence (index.xml, then its regional backbone) and the problems found:
    a missing file, a checksum that does not hold."""
    leaves, problems = [], []
    number = sequence.name
    parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
    backbones = [INDEX] + list(dict.fromkeys(r.backbone for r in REGIONS.values() if (sequence / r.backbone).is_file()))
    if not (sequence / INDEX).is_file():
        return [], ["index.xml is missing"]
    for backbone in backbones:
        tree = etree.parse(str(sequence / backbone), parser)
        folder = posixpath.dirname(backbone)
        for node in tree.iter("leaf", "{cn_ectd}leaf"):
            href = node.get(f"{{{XLINK_NS}}}href") or node.get(f"{{{W3_XLINK_NS}}}href")
            path = posixpath.normpath(posixpath.join(folder, href)) if href else None
            if backbone == INDEX and path in {r.backbone for r in REGIONS.values()}:
                continue  # the regional backbone itself: a new leaf in every sequence
            chain = tuple((a.tag, tuple(sorted(a.attrib.items()))) for a in reversed(list(node.iterancestors()))
                          if a.getparent() is not None)
            title = node.findtext("title") or node.findtext("{cn_ectd}title") or ""
            record = LeafRecord(number, backbone, node.get("ID", ""), node.get("operation", "new"), path,
                                node.get("checksum"), title, node.get("modified-file"), chain)
            leaves.append(record)
            if path is not None:
                target = sequence / path
                if not target.is_file():
                    problems.append(f"{backbone}: leaf {record.id} points to missing '{href}'")
                elif record.checksum and md5_hex(target.read_bytes()) != record.checksum:
                    problems.append(f"{path}: MD5 differs from the checksum in {backbone}")
    return leaves, problems


# content ---------------------------------------------------------------------------------------------
def content_key(data: bytes, href: str) -> str:
    """Return the hash of a document's content: a PDF without its build-time metadata, its link targets
    written relative to the sequence folder (href: the file's path from its sequence folder)."""
    if not data.startswith(b"%PDF"):
        return hashlib.sha256(data).hexdigest()
    import pikepdf

    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PdfError:
        return hashlib.sha256(data).hexdigest()
    with pdf:
        if "/Info" in pdf.trailer:
            del pdf.trailer["/Info"]
        if "/Metadata" in pdf.Root:
            del pdf.Root["/Metadata"]
        for page in pdf.pages:
            for annot in page.get("/Annots", []):
                action = annot.get("/A")
                if action is not None and action.get("/S") == pikepdf.Name.GoToR and "/F" in action:
                    action.F = pikepdf.String(_sequence_relative(href, str(action.F)))
        out = io.BytesIO()
        pdf.save(out, static_id=True, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.generalized,
                 object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return hashlib.sha256(out.getvalue()).hexdigest()


def _sequence_relative(href: str, target: str) -> str:
    """Return a link target as a path from the sequence folder, whichever sequence it points into."""
    resolved = posixpath.normpath(posixpath.join("SEQ", posixpath.dirname(href), target))
    parts = resolved.split("/")
    if parts[0] == "SEQ":
        return "/".join(parts[1:])
    return "/".join(parts[1:]) if parts and SEQUENCE_NAME.match(parts[0]) else resolved


def rewrite_links(data: bytes, href: str, sequence: str, written: set[str], history: History) -> bytes:
    """Return the PDF with each link to a document not in the new sequence pointed at the sequence that
    holds its current version (relative: ../0000/m3/…)."""
    import pikepdf

    where = {leaf.href: leaf.sequence for leaf in history.current.values() if leaf.href}
    changed = False
    pdf = pikepdf.open(io.BytesIO(data))
    with pdf:
        for page in pdf.pages:
            for annot in page.get("/Annots", []):
                action = annot.get("/A")
                if action is None or action.get("/S") != pikepdf.Name.GoToR or "/F" not in action:
                    continue
                target = _sequence_relative(href, str(action.F))
                if target in written or target not in where:
                    continue
                action.F = pikepdf.String(posixpath.relpath(f"{where[target]}/{target}", f"{sequence}/{posixpath.dirname(href)}"))
                changed = True
        if not changed:
            return data
        out = io.BytesIO()
        pdf.save(out, static_id=True, deterministic_id=False)
    return out.getvalue()


# the next sequence -----------------------------------------------------------------------------------
@dataclass
class Candidate:
    """A document of the fresh build, as it would be placed in a first sequence."""

    backbone: str
    id: str
    title: str
    href: str
    data: bytes
    place: tuple        # index.xml: the element chain; regional: (element,)


@dataclass
class Decision:
    operation: str | None          # None: unchanged (nothing in the new sequence)
    modified_file: str | None = None
    previous: LeafRecord | None = None


def decide(history: History, candidates: list[Candidate], sequence: str) -> tuple[dict[tuple[str, str], Decision], list[LeafRecord]]:
    """Return the operation for each candidate (keyed by backbone and ID) and the current leaves that no
    candidate continues (to delete)."""
    decisions, continued = {}, set()
    # A leaf is found by its ID, else by its file: a sequence submitted before document IDs came from entity
    # ids (issue 13) has other IDs for the same documents, which the next sequence still replaces, not re-adds.
    by_file = {(leaf.backbone, leaf.href): k for k, leaf in history.current.items() if leaf.href}
    for candidate in candidates:
        key = (candidate.backbone, candidate.id)
        found = key if key in history.current else by_file.get((candidate.backbone, candidate.href))
        old = history.current.get(found) if found else None
        if old is None:
            decisions[key] = Decision("new")
            continue
        continued.add(found)
        previous = history.folder / old.sequence / old.href if old.href else None
        same = (previous is not None and previous.is_file() and old.title == candidate.title
                and content_key(previous.read_bytes(), old.href) == content_key(candidate.data, candidate.href))
        decisions[key] = Decision(None, previous=old) if same else Decision("replace", modified_file(old, candidate.backbone, sequence), old)
    deleted = [leaf for key, leaf in history.current.items() if key not in continued]
    return decisions, deleted


def modified_file(old: LeafRecord, backbone: str, sequence: str) -> str:
    """Return modified-file for a leaf of `backbone` in `sequence` acting on `old`: the earlier backbone's
    path relative to the file holding the new leaf, '#', and the leaf ID."""
    holder = posixpath.dirname(f"{sequence}/{backbone}")
    return f"{posixpath.relpath(f'{old.sequence}/{old.backbone}', holder)}#{old.id}"


# the current view, for `dossiergen sequences` ------------------------------------------------------
def current_view(history: History) -> list[dict]:
    """Return every current document: backbone, ID, title, the sequence that supplied it, its file, history."""
    return [{"backbone": leaf.backbone, "id": leaf.id, "title": leaf.title, "sequence": leaf.sequence,
             "file": f"{leaf.sequence}/{leaf.href}", "history": [f"{s} {op}" for s, op in leaf.history]}
            for leaf in sorted(history.current.values(), key=lambda l: (l.backbone != INDEX, l.backbone, l.href or "", l.id))]
