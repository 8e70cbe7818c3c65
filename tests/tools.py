"""System tools the tests need: skip without them, except in CI where a missing tool fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def require_tool(name: str) -> str:
    """Return the tool's path; skip the test without it, or fail when DOSSIERGEN_REQUIRE_TOOLS=1."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (make setup installs it on Debian)"
    if os.environ.get("DOSSIERGEN_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def libreoffice_convert(files: list[Path], target: Path, fmt: str = "pdf") -> subprocess.CompletedProcess:
    """Convert files with LibreOffice headless into target (one process for all files)."""
    soffice = require_tool("soffice")
    profile = target / ".lo-profile"
    return subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                           "--convert-to", fmt, "--outdir", str(target), *map(str, files)],
                          capture_output=True, text=True, timeout=1800)


def figure_in_a_document(attachment, lang: str = "en") -> tuple[str, bytes]:
    """Return the typst source and the PDF of a document that shows the attachment as a figure, made
    as a build makes them (pandoc with convert.lua, then typst)."""
    from dossiergen.attach import figure_markdown
    from dossiergen.write.pandoc import convert_batch
    from dossiergen.write.pdf import PdfMeta, typeset_pdf, typst_settings

    meta = PdfMeta(title="3.2.P.8.3 Stability Data", subject="s", header="h", lang=lang, toc=False)
    markdown = "# 3.2.P.8.3 Stability Data\n\n" + figure_markdown(attachment.name, "The figure", "Figure 1 The figure")
    source = convert_batch([(markdown, typst_settings(meta), (attachment,))])[0].typst
    return source, typeset_pdf(source, meta)[0]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """Return the text pdftotext reads from a PDF, without white space."""
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([require_tool("pdftotext"), "-enc", "UTF-8", "-raw", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return "".join(text.split())


def struct_nodes(node):
    """Yield every node of a tagged PDF's structure tree (pikepdf), depth first."""
    import pikepdf

    if isinstance(node, pikepdf.Dictionary):
        yield node
        if "/K" in node:
            yield from struct_nodes(node.K)
    elif isinstance(node, pikepdf.Array):
        for item in node:
            yield from struct_nodes(item)
