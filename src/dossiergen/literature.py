"""3.3 Literature References: one eCTD leaf per cited publication, the applicant's copy (a PDF in the
dossier folder, references.yaml `file`).

ICH M4Q(R1) 3.3: "Key literature referenced should be provided, if applicable"; the ICH M4(R4)
granularity annex gives 3.3 one file per reference, so that each can be replaced on its own. A
guideline cited by name (ICH, pharmacopoeia, agency guidance: `kind: guideline`) is not literature:
it has no copy and no leaf. dossiergen never writes these PDFs:

- validate: check_literature says where an entry is wrong (a file that is not a PDF; a guideline
  with a file; two entries on one file name);
- gaps: the rule core.literature-copies finds a publication without its copy;
- build: literature_documents(context) returns the copies to place under 3.3 of an eCTD sequence,
  at the heading sections.yaml marks `supplied: literature` (the one list of sections, DESIGN.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Problem
from .text import slugify

KIND = "references"
TITLE_LIMIT = 120   # characters of a citation shown as a leaf title (the citation is the document's own)


@dataclass(frozen=True)
class Copy:
    """One literature reference's copy: its leaf id, title, source file, place and bytes."""

    id: str
    title: str
    source: str        # path in the dossier folder
    path: str          # path in the sequence (from the sequence folder)
    chain: tuple       # ((element, attrs), ...) from the Module 3 root to the 3.3 heading
    data: bytes


def entries(model) -> list[dict]:
    """Return the literature of references.yaml (guidelines cited by name left out)."""
    refs = model.single(KIND).get("references") or []
    return [r for r in refs if isinstance(r, dict) and r.get("kind", "literature") == "literature"]


def heading():
    """Return (section, folder path, element chain) of the heading that holds the copies (sections.yaml)."""
    from .registry import load_registry

    def walk(node, folder, chain):
        folder = "/".join(p for p in (folder, node.folder) if p)
        chain = chain + (((node.element, ()),) if node.element else ())
        if getattr(node, "supplied", None) == "literature":
            return node, folder, chain
        for child in node.children:
            found = walk(child, folder, chain)
            if found:
                return found
        return None

    return walk(load_registry(), "", ())


def file_name(entry: dict) -> str:
    """Return the file name of a reference's copy in the sequence: its id, eCTD-safe."""
    return f"{slugify(str(entry.get('id', 'reference')), 60)}.pdf"


def leaf_title(entry: dict) -> str:
    """Return the leaf title: the entry's title, or its citation cut at a word boundary."""
    text = " ".join(str(entry.get("title") or entry.get("citation") or entry.get("id")).split())
    if len(text) <= TITLE_LIMIT:
        return text
    cut = text[:TITLE_LIMIT].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + " …"


def literature_documents(context) -> list[Copy]:
    """Return the copies of the cited literature that the dossier folder holds, in references.yaml order."""
    found = heading()
    if found is None:
        return []
    _, folder, chain = found
    root = context.model.dossier.root
    copies = []
    for entry in entries(context.model):
        if entry.get("file") and (root / entry["file"]).is_file():
            copies.append(Copy(f"m3-lit-{entry['id']}", leaf_title(entry), entry["file"], f"{folder}/{file_name(entry)}",
                               chain, (root / entry["file"]).read_bytes()))
    return copies


def check_literature(dossier, model) -> list[Problem]:
    """A reference's copy is a PDF; a guideline cited by name has none; no two copies share a file name."""
    problems, seen = [], {}
    for source in dossier.of_kind(KIND):
        for entry in (source.data or {}).get("references") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
                continue
            here = dossier.location_of(entry, "file")
            if entry.get("kind") == "guideline":
                problems.append(Problem("references.guideline_file", f"'{entry.get('id')}' is a guideline cited by name "
                                        "and has a file", here, hint="3.3 holds copies of literature, not guidelines: "
                                        "remove the file, or set kind: literature"))
                continue
            path = dossier.root / entry["file"]
            if path.is_file() and path.read_bytes()[:5] != b"%PDF-":
                problems.append(Problem("references.not_pdf", f"'{entry['file']}' is not a PDF", here,
                                        hint="give the copy of the publication as PDF"))
            name = file_name(entry)
            if name in seen:
                problems.append(Problem("references.duplicate", f"'{entry.get('id')}' and '{seen[name]}' give the same "
                                        f"file name {name} in 3.3", here, hint="give the references different ids"))
            seen.setdefault(name, entry.get("id"))
    return problems
