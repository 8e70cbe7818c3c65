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

import pypandoc
import typst

from .clock import now
from .paths import PROJECT_ROOT, TEMPLATES


@functools.cache
def engine_fingerprint() -> str:
    """Return a hash of the code and files that decide a document's bytes."""
    digest = hashlib.sha256(f"{pypandoc.get_pandoc_version()}|{getattr(typst, '__version__', '')}".encode())
    package = PROJECT_ROOT / "src" / "dossiergen"
    sources = sorted([*package.rglob("*.py"), *package.rglob("*.lua")])  # convert.lua shapes both writers' output
    for path in sources + [TEMPLATES / "module3" / "reference.docx", TEMPLATES / "module3" / "document.typ"]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def document_key(markdown: str, *metas, engine: str = "typst") -> str:
    """Return the cache key of one document's outputs, written with the named PDF engine."""
    payload = json.dumps([markdown, [list(m.__dict__.items()) for m in metas], int(now().timestamp()),
                          engine_fingerprint(), engine], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class DocumentCache:
    """DOCX, PDF and page count per key, in a folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def get(self, key: str) -> tuple[bytes, bytes, int] | None:
        """Return the cached outputs for a key, or None."""
        path = self.folder / key[:2] / key
        if not path.is_file():
            return None
        data = path.read_bytes()
        docx_len, pages = struct.unpack(">QI", data[:12])
        return data[12:12 + docx_len], data[12 + docx_len:], pages

    def put(self, key: str, value: tuple[bytes, bytes, int]) -> None:
        """Store outputs under a key (written to a temporary name, then renamed)."""
        docx, pdf, pages = value
        path = self.folder / key[:2] / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(struct.pack(">QI", len(docx), pages) + docx + pdf)
        os.replace(tmp, path)
