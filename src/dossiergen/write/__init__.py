"""Stage write: Markdown -> document formats. WRITERS maps a format name to its writer."""

from __future__ import annotations

from .docx import write_docx

WRITERS = {"docx": write_docx}
