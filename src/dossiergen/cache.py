"""Reuse of written documents between builds, keyed by content hashes (never by file times).

A document's content key hashes its Markdown, its metadata, its figures and the fingerprint of
everything that shapes the bytes (writer code, reference.docx, the typst template, pandoc and typst
versions); its output key adds the build time, which the files' dates carry. Entries live in <out>/.cache/ as plain files named by their key; deleting the
folder is always safe."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .clock import now
from .errors import Location, Problem
from .paths import PROJECT_ROOT, TEMPLATES


@functools.cache
def engine_fingerprint() -> str:
    """Return a hash of the code and files that decide a document's bytes."""
    import pypandoc

    try:
        import typst

        typst_version = getattr(typst, "__version__", "")
    except ImportError:  # the libreoffice engine does not need it
        typst_version = "none"
    digest = hashlib.sha256(f"{pypandoc.get_pandoc_version()}|{typst_version}".encode())
    package = PROJECT_ROOT / "src" / "dossiergen"
    sources = sorted([*package.rglob("*.py"), *package.rglob("*.lua")])  # convert.lua shapes both writers' output
    for path in sources + [TEMPLATES / "module3" / "reference.docx", TEMPLATES / "module3" / "document.typ"]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def document_content_key(markdown: str, *metas, engine: str = "typst", attachments: tuple = ()) -> str:
    """Return the key of one document's content: its Markdown, metadata, attachments (figures) and
    the engine that writes it, without the build time. Two builds at different times with the same
    content key differ only in the dates the files carry ("same content, new date", not "changed")."""
    payload = json.dumps([markdown, [list(m.__dict__.items()) for m in metas], engine_fingerprint(), engine,
                          [a.digest() for a in attachments]], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def document_key(markdown: str, *metas, engine: str = "typst", attachments: tuple = ()) -> str:
    """Return the cache key of one document's outputs (DOCX and PDF bytes): its content key and the
    build time, which the files' metadata carry."""
    content = document_content_key(markdown, *metas, engine=engine, attachments=attachments)
    return hashlib.sha256(f"{content}|{int(now().timestamp())}".encode()).hexdigest()


@functools.cache
def knowledge_fingerprint() -> str:
    """Return a hash of the project's knowledge files: templates, schemas, regional rules and words."""
    from .paths import REGIONAL, SCHEMAS

    digest = hashlib.sha256()
    for root in (TEMPLATES, SCHEMAS, REGIONAL):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


MAGIC = b"dossiergen-cache-2\n"
_HEAD = struct.Struct(">32s32sQI")  # key, sha256 of the digests and the body, DOCX length, page count
_DIGESTS = struct.Struct(">32s16s32s16s")  # sha256 and MD5 of the DOCX, then of the PDF (what the manifest and
# the backbones give): kept with the entry, so that a later build does not hash every document again


class DocumentCache:
    """DOCX, PDF and page count per key, in a folder.

    An entry holds its own key and a hash of its bytes, and is checked on every read: an entry
    copied from another document, damaged or cut short is not used; the document is written
    again and a warning (cache.damaged) says so."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.warnings: list[Problem] = []

    def get(self, key: str) -> tuple[bytes, bytes, int] | None:
        """Return the cached outputs for a key, or None (also for an entry that fails its check)."""
        found = self._entry(key)
        return None if found is None else found[:3]

    def _entry(self, key: str) -> tuple[bytes, bytes, int, tuple] | None:
        """Return an entry's DOCX, PDF, page count and digests (_DIGESTS), checked; None when missing or damaged."""
        path = self.folder / key[:2] / key
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._damaged(path, f"cannot be read ({exc.strerror})")
        head = len(MAGIC) + _HEAD.size
        if not data.startswith(MAGIC) or len(data) < head + _DIGESTS.size:
            return self._damaged(path, "is not a cache entry of this version, or is cut short")
        stored_key, digest, docx_len, pages = _HEAD.unpack_from(data, len(MAGIC))
        checked = memoryview(data)[head:]  # the digests and the body, under one hash
        if stored_key != bytes.fromhex(key):
            return self._damaged(path, "belongs to another document")
        if hashlib.sha256(checked).digest() != digest or docx_len > len(checked) - _DIGESTS.size:
            return self._damaged(path, "is damaged (its bytes do not match their hash)")
        body = head + _DIGESTS.size
        docx, pdf = data[body:body + docx_len], data[body + docx_len:]
        if not docx.startswith(b"PK") or not pdf.startswith(b"%PDF"):
            return self._damaged(path, "does not hold a DOCX and a PDF")
        return docx, pdf, pages, _DIGESTS.unpack_from(data, head)

    def _damaged(self, path: Path, why: str) -> None:
        self.warnings.append(Problem("cache.damaged", f"cache entry {path.name[:12]}… {why}; the document is written again",
                                     Location(str(path)), severity="warning",
                                     hint="nothing to do; deleting the .cache folder of the output is always safe"))
        try:
            path.unlink()
        except OSError:
            pass
        return None

    def clean(self) -> None:
        """Remove entries half-written by a killed build (call with the output folder locked)."""
        for tmp in [*self.folder.glob("*/*.tmp"), *self.folder.glob("blobs/*/*/*.tmp")]:
            tmp.unlink(missing_ok=True)

    def put(self, key: str, value: tuple[bytes, bytes, int]) -> tuple["Stored", "Stored", int]:
        """Store outputs under a key (written to a temporary name, then renamed); return where
        the DOCX and the PDF lie in the entry, and the page count."""
        docx, pdf, pages = value
        path = self.folder / key[:2] / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        digests = (hashlib.sha256(docx).digest(), hashlib.md5(docx).digest(), hashlib.sha256(pdf).digest(),
                   hashlib.md5(pdf).digest())
        checked = _DIGESTS.pack(*digests) + docx + pdf
        tmp.write_bytes(MAGIC + _HEAD.pack(bytes.fromhex(key), hashlib.sha256(checked).digest(), len(docx), pages) + checked)
        os.replace(tmp, path)
        store().put("md5", digests[2].hex(), digests[3])  # the PDF's MD5 by its SHA-256, apart from the entry (ectd.md5_known)
        return _stored(path, len(docx), len(pdf), pages, digests)

    def find(self, key: str) -> tuple["Stored", "Stored", int] | None:
        """Return where a cached entry's DOCX and PDF lie and its page count (None: not cached or
        damaged, as get): the caller holds no bytes until it places them. The digests are those the
        entry keeps (checked with its bytes), not computed again."""
        found = self._entry(key)
        return None if found is None else _stored(self.folder / key[:2] / key, len(found[0]), len(found[1]), *found[2:])


@dataclass(frozen=True)
class Stored:
    """Bytes a build keeps in a file of its cache (a written document's DOCX or PDF), read where they
    are placed: a large build never holds every document in memory (issue 19). The digests are
    those of the bytes (the manifest's); read() checks them."""

    path: str
    offset: int
    size: int
    sha256: str
    md5: str

    def read(self) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(self.size)
        if hashlib.sha256(data).hexdigest() != self.sha256:
            from .errors import ToolError

            raise ToolError("cache entry changed", (Problem(
                "cache.changed", f"cache entry {Path(self.path).name[:12]}… changed while the build ran", Location(self.path),
                hint="another program wrote into the output's .cache folder: delete it and build again; the previous "
                "output is unchanged"),))
        return data


def content(data) -> bytes:
    """Return the bytes of data given as bytes or as Stored."""
    return data.read() if isinstance(data, Stored) else data


def _stored(path: Path, docx_len: int, pdf_len: int, pages: int, digests: tuple) -> tuple[Stored, Stored, int]:
    start = len(MAGIC) + _HEAD.size + _DIGESTS.size
    docx_sha, docx_md5, pdf_sha, pdf_md5 = (d.hex() for d in digests)
    return (Stored(str(path), start, docx_len, docx_sha, docx_md5),
            Stored(str(path), start + docx_len, pdf_len, pdf_sha, pdf_md5), pages)


class BlobStore:
    """Bytes of work that depends only on its inputs (a trend plot, a rendered document), by a
    content key of those inputs, in <out>/.cache/<kind>/. Each entry holds its key and the hash of
    its bytes and is checked on read: a damaged entry is ignored (the work is simply done again).
    A store without a folder keeps its entries in memory for the run; one with a folder reads them
    back from there, so a large build does not hold every rendered document twice."""

    def __init__(self, folder: Path | None, enabled: bool = True):
        self.folder = Path(folder) if folder is not None else None
        self.memory: dict[tuple[str, str], bytes] = {}
        self.hits = self.misses = 0
        self.enabled = enabled
        self.made: set[Path] = set()  # the folders put has made (one mkdir per folder, not per entry)

    def get(self, kind: str, key: str) -> bytes | None:
        if not self.enabled:
            return None
        found = self.memory.get((kind, key))
        if found is None and self.folder is not None:
            found = self._read(os.path.join(self.folder, kind, key[:2], key), key)  # a string: no Path made per read
        self.hits, self.misses = self.hits + (found is not None), self.misses + (found is None)
        return found

    def put(self, kind: str, key: str, data: bytes) -> None:
        if not self.enabled:
            return
        if self.folder is None:
            self.memory[(kind, key)] = data
            return
        path = self.folder / kind / key[:2] / key
        if path.parent not in self.made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.made.add(path.parent)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        entry = BLOB_MAGIC + bytes.fromhex(key) + hashlib.sha256(data).digest() + data
        try:
            tmp.write_bytes(entry)
        except FileNotFoundError:  # the folder was removed since (the cache deleted by hand): made again
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(entry)
        os.replace(tmp, path)

    @staticmethod
    def _read(path: str, key: str) -> bytes | None:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError:
            return None
        head = len(BLOB_MAGIC) + 64
        body = raw[head:]
        if (not raw.startswith(BLOB_MAGIC) or raw[len(BLOB_MAGIC):len(BLOB_MAGIC) + 32] != bytes.fromhex(key)
                or hashlib.sha256(body).digest() != raw[len(BLOB_MAGIC) + 32:head]):
            return None
        return body


BLOB_MAGIC = b"dossiergen-blob-1\n"
_STORE = BlobStore(None, enabled=False)  # nothing kept outside a build (a long-lived process does not grow)


def store() -> BlobStore:
    """Return the store of the running build (outside a build, one that keeps nothing)."""
    return _STORE


@contextmanager
def using_store(folder: Path | None):
    """Use a store in folder (None: memory only) for the duration of a build."""
    global _STORE
    previous, _STORE = _STORE, BlobStore(folder)
    try:
        yield _STORE
    finally:
        _STORE = previous


def content_key(*parts) -> str:
    """Return a sha256 over parts given as JSON-able values or bytes, in order."""
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else json.dumps(part, ensure_ascii=False, sort_keys=True, default=repr).encode()
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()

