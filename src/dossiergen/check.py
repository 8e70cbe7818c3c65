"""`dossiergen check`: the technical validation of a build folder against the strictest common
rules of FDA, EU and NMPA (regulatory.md §1.5, §3.2, §4.3, §6.3): PDF version, security, fonts,
bookmarks, actions and annotations, links, text, page size, file size, names, backbone, checksums; the
regional Module 1 backbone against its official DTD/XSD; every file under m1-m5 referenced by a leaf."""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from .backbones import REGIONS, regional_hrefs, validate_regional
from .ectd import DTD_MD5, md5_hex, validate_backbone
from .errors import Location, Problem

MAX_PDF_BYTES = 400 * 1024 * 1024          # FDA 400 MB; NMPA 500 MB
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9]+)?$")
PAGE_SIZES = ((595.3, 841.9), (612.0, 792.0))  # A4, US Letter (points)
BOOKMARKS_ABOVE = 5
EXEMPT_FROM_BOOKMARKS = ("/33-lit-ref/",)


@dataclass(frozen=True)
class Finding:
    """One technical finding: rule id, severity, file (relative to the build folder) and page."""

    rule: str
    severity: str
    file: str
    message: str
    page: int = 0

    def format(self) -> str:
        where = f"{self.file}" + (f" (page {self.page})" if self.page else "")
        return f"{where}: {self.severity}: {self.message} [{self.rule}]"

    def as_problem(self) -> Problem:
        return Problem(self.rule, self.message + (f" (page {self.page})" if self.page else ""),
                       Location(self.file), severity=self.severity)


def check_build(folder: Path, known: dict[str, tuple[str, str]] | None = None) -> list[Finding]:
    """Return every finding of a build folder: its ectd/ sequences and their PDFs, or the PDFs of an
    IMPD (impd/, a clinical trial application outside eCTD), and the regional PDFs.

    known: the sha256 and MD5 (or None: not computed) of files of the folder (by path inside it) whose bytes the caller has just
    verified (a build's staging folder: package.write_build compares each file it keeps or links with the
    bytes it must hold): their digests are taken from there rather than read and hashed again; every
    other file is read."""
    folder, known = Path(folder), known or {}
    findings: list[Finding] = []
    for sequence in sorted((folder / "ectd").glob("[0-9][0-9][0-9][0-9]")):
        findings += check_sequence(folder, sequence, known)
    if not (folder / "ectd").is_dir() and not (folder / "impd").is_dir():
        findings.append(Finding("ectd.missing", "error", "ectd", "no eCTD sequence (nor IMPD) in the build folder"))
    for pdf in sorted((folder / "impd").rglob("*.pdf")):
        findings += check_pdf(pdf, pdf.relative_to(folder).as_posix(), folder / "impd", _sha256(known, folder, pdf))
    for pdf in sorted([*(folder / "regional").rglob("*.pdf"), *(folder / "working").rglob("*.pdf")]):
        findings += check_pdf(pdf, pdf.relative_to(folder).as_posix(), sha256=_sha256(known, folder, pdf))
    return findings


def check_sequence(folder: Path, sequence: Path, known: dict[str, tuple[str, str]] | None = None) -> list[Finding]:
    """Return the findings of one sequence: names, backbone, checksums and every PDF (known: see check_build)."""
    rel, known = _relative(folder), known or {}

    def md5_of(path: Path) -> str:
        found = known.get(rel(path))
        return found[1] if found and found[1] else md5_hex(path.read_bytes())

    tree = _Tree.of(sequence)
    findings = _names(sequence, rel, tree) + _backbone(sequence, rel, md5_of, tree)
    for pdf in sorted(sequence.rglob("*.pdf")):
        shown = rel(pdf)
        findings += check_pdf(pdf, shown, sequence, (known.get(shown) or (None,))[0])
    return findings


def _relative(folder: Path):
    """Return rel(path): a path below folder as text relative to it (what Path.relative_to(folder).as_posix()
    gives, from the strings: the check asks for thousands of them)."""
    base = os.fspath(folder).rstrip(os.sep) + os.sep

    def rel(path: Path) -> str:
        text = os.fspath(path)
        return text[len(base):].replace(os.sep, "/") if text.startswith(base) else path.relative_to(folder).as_posix()

    return rel


def _sha256(known: dict[str, tuple[str, str]], folder: Path, path: Path) -> str | None:
    found = known.get(path.relative_to(folder).as_posix())
    return found[0] if found else None


class _Tree:
    """Every entry below a sequence folder, from one walk that follows no link: {path inside it: kind}, kind
    "d" (a folder) or "f" (a regular file). Made only for a tree of plain folders and files (of() gives None
    when it holds a link or anything else: the check then asks the file system path by path, as it always
    did). It answers what the check asks of thousands of paths (is it a file, its resolved path, the
    entries in name order) without a system call per path."""

    def __init__(self, sequence: Path, kinds: dict[str, str]):
        self.sequence, self.kinds = sequence, kinds
        self.base = os.fspath(sequence).rstrip(os.sep) + os.sep
        self.real = os.path.realpath(sequence)

    @classmethod
    def of(cls, sequence: Path) -> "_Tree | None":
        kinds: dict[str, str] = {}
        folders = [("", os.fspath(sequence))]
        try:
            while folders:
                prefix, folder = folders.pop()
                with os.scandir(folder) as entries:
                    for entry in entries:
                        name = prefix + entry.name
                        if entry.is_symlink():
                            return None
                        if entry.is_dir(follow_symlinks=False):
                            kinds[name] = "d"
                            folders.append((name + "/", entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            kinds[name] = "f"
                        else:
                            return None
        except OSError:
            return None
        return cls(sequence, kinds)

    def inside(self, path: Path) -> str | None:
        """Return the path inside the sequence (a/b/c) of a path below it whose folders are all in the tree
        (so its resolved path is the tree's own, joined); None for any other path."""
        text = os.fspath(path)
        if not text.startswith(self.base):
            return None
        inside = text[len(self.base):]
        parts = inside.split("/")
        if os.sep != "/" or any(part in ("", ".", "..") for part in parts):
            return None
        end = inside.rfind("/")
        return inside if end < 0 or self.kinds.get(inside[:end]) == "d" else None

    def entries(self) -> list[str]:
        """Return the paths inside the sequence of every entry, in the order of sorted Paths (part by part)."""
        return sorted(self.kinds, key=lambda name: name.split("/"))


def _names(sequence: Path, rel, tree: _Tree | None = None) -> list[Finding]:
    if tree is not None:  # the same paths, in the same order, as the walk below
        top = sequence.name + "/"
        return _named([(sequence / name, top + name) for name in tree.entries()], rel)
    return _named([(path, path.relative_to(sequence.parent).as_posix()) for path in sorted(sequence.rglob("*"))], rel)


def _named(paths: list, rel) -> list[Finding]:
    findings = []
    for path, inside in paths:
        if "util/" in inside:
            continue
        if not NAME.match(path.name):
            findings.append(Finding("name.characters", "error", rel(path), "names use lower-case a-z, 0-9 and hyphens, with one extension"))
        if len(path.name) > 64:
            findings.append(Finding("name.length", "error", rel(path), f"name has {len(path.name)} characters; the limit is 64"))
        if len(inside) > 180:
            findings.append(Finding("name.path_length", "error", rel(path), f"path has {len(inside)} characters; the limit is 180"))
    return findings


def _backbone(sequence: Path, rel, md5_of=lambda path: md5_hex(path.read_bytes()), tree: _Tree | None = None) -> list[Finding]:
    index = sequence / "index.xml"
    if not index.is_file():
        return [Finding("ectd.backbone_missing", "error", rel(sequence), "index.xml is missing")]
    findings = [Finding("ectd.dtd", "error", rel(index), message) for message in validate_backbone(index)]
    dtd = sequence / "util" / "dtd" / "ich-ectd-3-2.dtd"
    if dtd.is_file() and md5_hex(dtd.read_bytes()) != DTD_MD5:
        findings.append(Finding("ectd.dtd_checksum", "error", rel(dtd), "the DTD is not the official ICH file (MD5 differs)"))
    md5_file = sequence / "index-md5.txt"
    if not md5_file.is_file() or md5_file.read_text().strip() != md5_hex(index.read_bytes()):
        findings.append(Finding("ectd.index_md5", "error", rel(index), "index-md5.txt does not hold the MD5 of index.xml"))
    findings += _leaves(sequence, index, rel, md5_of, tree)
    return findings


def _leaves(sequence: Path, index: Path, rel, md5_of, files: _Tree | None = None) -> list[Finding]:
    from lxml import etree

    tree = etree.parse(str(index), etree.XMLParser(resolve_entities=False, no_network=True))
    referenced, resolve, is_file = set(), _resolver(files), _file_test(files)  # resolved paths as text
    findings = []
    for leaf in tree.iter("leaf"):
        if leaf.get("operation") == "delete":
            continue  # no file: it ends the lifecycle of a leaf of an earlier sequence (modified-file)
        href = leaf.get("{http://www.w3c.org/1999/xlink}href", "")
        target = (sequence / href)
        referenced.add(resolve(target))
        if href.startswith("/") or "\\" in href or not is_file(target):
            findings.append(Finding("ectd.leaf_target", "error", rel(index), f"leaf {leaf.get('ID')} points to missing '{href}'"))
        elif md5_of(target) != leaf.get("checksum"):
            findings.append(Finding("ectd.checksum", "error", rel(target), "MD5 differs from the checksum in index.xml"))
    for reg in _regions(sequence):
        findings += _regional(sequence, reg, rel, referenced, resolve, md5_of, is_file)
    if files is not None:  # the files below m1 to m5 (the glob below, in its order)
        modules = [sequence / name for name in files.entries() if files.kinds[name] == "f" and "/" in name
                   and len(name.split("/", 1)[0]) == 2 and name[0] == "m" and name[1] in "12345"]
    else:
        modules = [path for path in sorted(sequence.glob("m[1-5]/**/*")) if path.is_file()]
    for path in modules:
        if resolve(path) not in referenced:
            findings.append(Finding("ectd.unreferenced", "error", rel(path), "file is not referenced by any leaf of index.xml "
                                    "or of the regional backbone (every file in a sequence must be)"))
    return findings


def _regions(sequence: Path):
    """Yield the regional backbone definitions whose file the sequence holds (EU and UK share one)."""
    seen = set()
    for reg in REGIONS.values():
        if reg.backbone not in seen and (sequence / reg.backbone).is_file():
            seen.add(reg.backbone)
            yield reg


def _file_test(files: _Tree | None):
    """Return Path.is_file, answered from the tree for a path made of its plain folders."""
    def is_file(path: Path) -> bool:
        inside = files.inside(path) if files is not None else None
        return files.kinds.get(inside) == "f" if inside is not None else path.is_file()

    return is_file


def _resolver(files: _Tree | None = None):
    """Return a Path.resolve, as text, that resolves each folder once: a name that is not a link, '.' or '..'
    resolves to its resolved folder joined with the name (what resolve gives, without a system call per
    component); a path made of the tree's plain folders, to the tree's resolved folder joined with it."""
    folders: dict[Path, str] = {}

    def resolve(path: Path) -> str:
        inside = files.inside(path) if files is not None else None
        if inside is not None:
            return os.path.join(files.real, inside)
        if path.name in ("", ".", "..") or path.is_symlink():
            return os.fspath(path.resolve())
        parent = folders.get(path.parent)
        if parent is None:
            parent = folders[path.parent] = os.fspath(path.parent.resolve())
        return os.path.join(parent, path.name)

    return resolve


def _regional(sequence: Path, reg, rel, referenced: set, resolve=lambda path: os.fspath(path.resolve()),
              md5_of=lambda path: md5_hex(path.read_bytes()), is_file=lambda path: path.is_file()) -> list[Finding]:
    """Return the findings of a regional backbone: its schema (official bytes), validity, leaves."""
    backbone = sequence / reg.backbone
    findings = []
    for path, _, md5 in reg.util:
        util = sequence / path
        if not util.is_file():
            findings.append(Finding("ectd.regional_schema_missing", "error", rel(sequence), f"{path} is missing (the "
                                    f"regional backbone {reg.backbone} needs it)"))
        elif md5_hex(util.read_bytes()) != md5:
            findings.append(Finding("ectd.dtd_checksum", "error", rel(util), "not the official file (MD5 differs)"))
    findings += [Finding("ectd.regional_schema", "error", rel(backbone), message)
                 for message in validate_regional(sequence, reg)]
    try:
        leaves = regional_hrefs(sequence, reg)
    except Exception as exc:  # not well-formed: reported by validate_regional already
        return findings + [Finding("ectd.regional_schema", "error", rel(backbone), f"cannot read the leaves: {exc}")]
    for leaf_id, href, checksum in leaves:
        target = sequence / href
        referenced.add(resolve(target))
        if not is_file(target):
            findings.append(Finding("ectd.leaf_target", "error", rel(backbone), f"leaf {leaf_id} points to missing '{href}'"))
        elif md5_of(target) != checksum:
            findings.append(Finding("ectd.checksum", "error", rel(target), f"MD5 differs from the checksum in {reg.backbone}"))
    return findings


def check_pdf(path: Path, shown: str, sequence: Path | None = None, sha256: str | None = None) -> list[Finding]:
    """Return the findings of one PDF.

    The rules that read only the file's bytes are remembered by content hash: the English core
    PDFs of neutral, us, eu and uk are the same bytes and are read once. Link targets are
    always looked for next to this file. sha256: the hash of the file's bytes, known to the caller
    (check_build's known): the file is then read only when its findings are not remembered."""
    found = _remembered(sha256, shown) if sha256 is not None else None
    if found is None:
        data = path.read_bytes()
        found = _content_findings(hashlib.sha256(data).hexdigest(), data, shown)
    findings, links = found
    return findings + [Finding("pdf.link_target", "error", shown, f"link target {target} does not exist", number)
                       for target, number in links
                       if not (path.parent / target).is_file() and not _other_sequence(path, target, sequence)]


def _other_sequence(path: Path, target: str, sequence: Path | None) -> bool:
    """True for a link into an earlier sequence that is not beside this one (a lifecycle build writes only
    the new sequence; `dossiergen sequences` checks such links with the submitted sequences)."""
    if sequence is None:
        return False
    resolved = Path(os.path.normpath(path.parent / target))
    try:
        inside = resolved.relative_to(sequence.parent)
    except ValueError:
        return False
    first = inside.parts[0] if inside.parts else ""
    return re.fullmatch(r"[0-9]{4}", first) is not None and first != sequence.name and not (sequence.parent / first).is_dir()


_SEEN: dict[tuple[str, str], tuple[list[Finding], list[tuple[str, int]]]] = {}


def _content_findings(digest: str, data: bytes, shown: str) -> tuple[list[Finding], list[tuple[str, int]]]:
    """Return the findings of a PDF's bytes, and its relative link targets with their pages."""
    found = _remembered(digest, shown)
    if found is None:
        findings, links = _read_findings(data, shown)
        _remember(digest, shown, findings, links)
        found = list(findings), links
    return found


def _remembered(digest: str, shown: str) -> tuple[list[Finding], list[tuple[str, int]]] | None:
    """Return the findings of the PDF with these bytes (sha256) at this place, if this process or the
    build's store (cache.store: a later build checks again only the PDFs that changed; the rules are
    code, its fingerprint is in the key) has them; else None."""
    import marshal

    if (digest, shown) not in _SEEN:
        found = _store().get("check", _check_key(digest, shown))
        if found is None:
            return None
        try:
            findings, links = marshal.loads(found)
        except (ValueError, EOFError, TypeError):
            return None
        _seen(digest, shown, [Finding(*f) for f in findings], [tuple(link) for link in links])
    findings, links = _SEEN[digest, shown]
    return list(findings), links


def _remember(digest: str, shown: str, findings: list[Finding], links: list[tuple[str, int]]) -> None:
    import marshal

    _store().put("check", _check_key(digest, shown), marshal.dumps((
        [(f.rule, f.severity, f.file, f.message, f.page) for f in findings], [tuple(link) for link in links])))
    _seen(digest, shown, findings, links)


def _seen(digest: str, shown: str, findings: list[Finding], links: list[tuple[str, int]]) -> None:
    if len(_SEEN) > 20000:
        _SEEN.clear()
    _SEEN[digest, shown] = (findings, links)


def _check_key(digest: str, shown: str) -> str:
    from .cache import engine_fingerprint

    return hashlib.sha256(f"check-1|{engine_fingerprint()}|{shown}|{digest}".encode()).hexdigest()


def _store():
    from .cache import store

    return store()


def _read_findings(data: bytes, shown: str) -> tuple[list[Finding], list[tuple[str, int]]]:
    findings, links = [], []
    if len(data) > MAX_PDF_BYTES:
        findings.append(Finding("pdf.file_size", "error", shown, f"{len(data)} bytes is above the 400 MB limit"))
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        return findings + [Finding("pdf.encrypted", "error", shown, "PDF is password-protected")], links
    except pikepdf.PdfError as exc:
        reason = re.sub(r"^<_io\.BytesIO object at 0x[0-9a-f]+>:?\s*", "", str(exc))  # pikepdf names the stream
        return findings + [Finding("pdf.unreadable", "error", shown, f"PDF cannot be read: {reason}")], links
    with pdf:
        findings += _document_rules(pdf, shown)
        for number, page in enumerate(pdf.pages, 1):
            findings += _page_rules(page, number, shown, links)
    return findings, links


def _document_rules(pdf, shown: str) -> list[Finding]:
    findings = []
    if pdf.pdf_version not in ("1.4", "1.5", "1.6", "1.7"):
        findings.append(Finding("pdf.version", "error", shown, f"PDF version {pdf.pdf_version}; use 1.4 to 1.7"))
    if pdf.is_encrypted:
        findings.append(Finding("pdf.encrypted", "error", shown, "PDF has security settings"))
    names = pdf.Root.get("/Names", {})
    if "/JavaScript" in names or "/AA" in pdf.Root or _is_js(pdf.Root.get("/OpenAction")):
        findings.append(Finding("pdf.javascript", "error", shown, "PDF contains JavaScript"))
    if "/EmbeddedFiles" in names:
        findings.append(Finding("pdf.attachment", "error", shown, "PDF has embedded files"))
    outlines = pdf.Root.get("/Outlines")
    has_bookmarks = outlines is not None and outlines.get("/First") is not None
    if len(pdf.pages) > BOOKMARKS_ABOVE and not has_bookmarks and not any(e in shown for e in EXEMPT_FROM_BOOKMARKS):
        findings.append(Finding("pdf.bookmarks", "error", shown, f"{len(pdf.pages)} pages and no bookmarks"))
    if has_bookmarks and pdf.Root.get("/PageMode") != pikepdf.Name.UseOutlines:
        findings.append(Finding("pdf.initial_view", "warning", shown, "PDF does not open with the bookmarks panel"))
    if not _has_text(pdf):
        findings.append(Finding("pdf.text", "error", shown, "no extractable text (scanned images need OCR)"))
    findings += _fonts(pdf, shown)
    return findings


def _is_js(action) -> bool:
    return isinstance(action, pikepdf.Dictionary) and action.get("/S") == pikepdf.Name.JavaScript


def _has_text(pdf) -> bool:
    for page in pdf.pages:
        if page.get("/Resources", {}).get("/Font"):
            return True
    return len(pdf.pages) == 0


def _fonts(pdf, shown: str) -> list[Finding]:
    findings, seen = [], set()
    for number, page in enumerate(pdf.pages, 1):
        for font in _page_fonts(page):
            name = str(font.get("/BaseFont", "?"))
            if name in seen:
                continue
            seen.add(name)
            if not _embedded(font):
                findings.append(Finding("pdf.font_not_embedded", "error", shown, f"font {name} is not embedded", number))
    return findings


def _page_fonts(page):
    resources = page.get("/Resources", {})
    for font in resources.get("/Font", {}).values():
        yield font
    for xobject in resources.get("/XObject", {}).values():
        for font in xobject.get("/Resources", {}).get("/Font", {}).values():
            yield font


def _embedded(font) -> bool:
    if font.get("/Subtype") == pikepdf.Name.Type3:
        return True
    descendants = font.get("/DescendantFonts")
    target = descendants[0] if descendants else font
    descriptor = target.get("/FontDescriptor", {})
    return any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _page_rules(page, number: int, shown: str, links: list[tuple[str, int]]) -> list[Finding]:
    findings = []
    box = [float(v) for v in page.mediabox]
    width, height = abs(box[2] - box[0]), abs(box[3] - box[1])
    if not any(abs(min(width, height) - w) < 3 and abs(max(width, height) - h) < 3 for w, h in PAGE_SIZES):
        findings.append(Finding("pdf.page_size", "warning", shown, f"page is {width:.0f}×{height:.0f} pt, neither A4 nor Letter", number))
    for annot in page.get("/Annots", []):
        findings += _annotation(annot, number, shown, links)
    return findings


def _annotation(annot, number: int, shown: str, links: list[tuple[str, int]]) -> list[Finding]:
    if annot.get("/Subtype") != pikepdf.Name.Link:
        return [Finding("pdf.annotation", "error", shown, f"annotation {annot.get('/Subtype')} (only links are allowed)", number)]
    action = annot.get("/A")
    if action is None:
        return []
    kind = action.get("/S")
    if kind == pikepdf.Name.URI:
        return [Finding("pdf.external_link", "error", shown, f"link to {action.get('/URI')} (external links are not allowed)", number)]
    if kind == pikepdf.Name.GoToR:
        target = str(action.get("/F", ""))
        if target.startswith("/") or re.match(r"^[A-Za-z]:", target):
            return [Finding("pdf.link_absolute", "error", shown, f"link to {target} is not relative", number)]
        links.append((target, number))  # looked for next to the file by check_pdf
        return []
    if kind not in (pikepdf.Name.GoTo, pikepdf.Name.Launch):
        return [Finding("pdf.action", "error", shown, f"{kind} action (only GoTo, GoToR and Launch are allowed)", number)]
    return []
