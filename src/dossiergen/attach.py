"""Attachments: files a rendered document carries besides its Markdown (figures, diagrams).

A template helper makes an Attachment and puts `figure_markdown(...)` into the Markdown; the
image there points at `attachment:<name>`. The writers resolve that name: the DOCX gets the PNG
variant (embedded by pandoc), the typst PDF the SVG variant when there is one (vector, embedded
in the typst source), else the PNG. An attachment's bytes are part of its document's cache key
(cache.document_key), so a changed figure rewrites its document.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .text import Markdown, escape_md

SCHEME = "attachment:"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}$")
FORMATS = ("png", "svg")
FIGURE_CLASS = "dossiergen-figure"  # a figure and its caption: kept on one page in the PDF


@dataclass(frozen=True)
class Attachment:
    """One named file of a document in one or more formats: ((format, bytes), ...)."""

    name: str
    files: tuple[tuple[str, bytes], ...]

    def __post_init__(self):
        if not NAME.match(self.name):
            raise ValueError(f"attachment name {self.name!r} must be lowercase letters, digits, '.', '_' or '-'")
        if not self.files or any(fmt not in FORMATS for fmt, _ in self.files):
            raise ValueError(f"attachment {self.name!r} needs files in {FORMATS}")

    def get(self, fmt: str) -> bytes | None:
        return dict(self.files).get(fmt)

    def digest(self) -> str:
        """Return a hash of the name and every variant's bytes (for cache keys)."""
        h = hashlib.sha256(self.name.encode())
        for fmt, data in self.files:
            h.update(fmt.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()


def figure_markdown(name: str, alt: str, caption: str) -> Markdown:
    """Return the Markdown of a figure: the image (with alt text) and its numbered caption below it."""
    return Markdown(f":::: {{.{FIGURE_CLASS}}}\n![{escape_md(alt)}]({SCHEME}{name}){{width=100%}}\n\n"
                    f"::: {{custom-style=\"Image Caption\"}}\n{escape_md(caption)}\n:::\n::::\n")


def pack(attachment: Attachment) -> bytes:
    """Return an attachment's variants as bytes (for the caches; unpack reads them back)."""
    return b"".join(fmt.encode().ljust(8) + len(data).to_bytes(8, "big") + data for fmt, data in attachment.files)


def unpack(name: str, data: bytes) -> Attachment:
    files, at = [], 0
    while at < len(data):
        fmt, size = data[at:at + 8].decode().strip(), int.from_bytes(data[at + 8:at + 16], "big")
        files.append((fmt, data[at + 16:at + 16 + size]))
        at += 16 + size
    return Attachment(name, tuple(files))

