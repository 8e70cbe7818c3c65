"""Reuse of written documents between builds, keyed by content hashes (never by file times).

A document's key hashes its Markdown, its metadata, the build time, and the fingerprint of
everything that shapes the bytes (writer code, reference.docx, the typst template, pandoc and
typst versions). Entries live in <out>/.cache/ as plain files named by their key; deleting the
folder is always safe."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import struct
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


def document_key(markdown: str, *metas, engine: str = "typst", attachments: tuple = ()) -> str:
    """Return the cache key of one document's outputs, written with the named PDF engine; the
    bytes of its attachments (figures) are part of it."""
    payload = json.dumps([markdown, [list(m.__dict__.items()) for m in metas], int(now().timestamp()),
                          engine_fingerprint(), engine, [a.digest() for a in attachments]], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


MAGIC = b"dossiergen-cache-1\n"
_HEAD = struct.Struct(">32s32sQI")  # key, sha256 of the body, DOCX length, page count


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
        path = self.folder / key[:2] / key
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._damaged(path, f"cannot be read ({exc.strerror})")
        head = len(MAGIC) + _HEAD.size
        if not data.startswith(MAGIC) or len(data) < head:
            return self._damaged(path, "is not a cache entry of this version, or is cut short")
        stored_key, digest, docx_len, pages = _HEAD.unpack_from(data, len(MAGIC))
        body = data[head:]
        if stored_key != bytes.fromhex(key):
            return self._damaged(path, "belongs to another document")
        if hashlib.sha256(body).digest() != digest or docx_len > len(body):
            return self._damaged(path, "is damaged (its bytes do not match their hash)")
        docx, pdf = body[:docx_len], body[docx_len:]
        if not docx.startswith(b"PK") or not pdf.startswith(b"%PDF"):
            return self._damaged(path, "does not hold a DOCX and a PDF")
        return docx, pdf, pages

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
        for tmp in self.folder.glob("*/*.tmp"):
            tmp.unlink(missing_ok=True)

    def put(self, key: str, value: tuple[bytes, bytes, int]) -> None:
        """Store outputs under a key (written to a temporary name, then renamed)."""
        docx, pdf, pages = value
        path = self.folder / key[:2] / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        body = docx + pdf
        tmp.write_bytes(MAGIC + _HEAD.pack(bytes.fromhex(key), hashlib.sha256(body).digest(), len(docx), pages) + body)
        os.replace(tmp, path)
