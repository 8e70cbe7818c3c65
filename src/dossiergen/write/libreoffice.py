"""Finished DOCX -> PDF through LibreOffice headless (`--pdf-engine libreoffice`): a rendition
that looks like the DOCX the writers edit. One LibreOffice process converts a batch; the PDF
is then finished as the typst engine's (bookmarks panel, language, relative links, Fast Web
View) and dated at the build time, since LibreOffice stamps the wall clock."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import Problem, ToolError
from .pdf import PdfMeta, finish_pdf

LINK_DEPTH = 12  # deeper than any eCTD folder path
# PDF/A-2b, bookmarks from the headings, links to other files kept relative (LibreOffice 7.4+).
EXPORT = {"SelectPdfVersion": {"type": "long", "value": "2"}, "ExportBookmarks": {"type": "boolean", "value": "true"},
          "ExportLinksRelativeFsys": {"type": "boolean", "value": "true"}, "UseTaggedPDF": {"type": "boolean", "value": "true"}}


def soffice() -> str:
    """Return LibreOffice's command, or raise ToolError naming the package to install."""
    found = shutil.which("soffice")
    if not found:
        raise ToolError("LibreOffice missing", (Problem(
            "write.libreoffice_missing", "the libreoffice PDF engine needs LibreOffice (soffice), which is not installed",
            hint="run `make setup` (as root) or `sudo apt-get install libreoffice-writer-nogui`; or use --pdf-engine typst"),))
    return found


@functools.cache
def version() -> str:
    """Return LibreOffice's name and version for the manifest and the cache keys."""
    done = subprocess.run([soffice(), "--version"], capture_output=True, text=True, timeout=120, check=False)
    return f"{done.stdout.strip() or 'LibreOffice (version unknown)'}, PDF/A-2b"


def render_pdfs(documents: list[tuple[bytes, PdfMeta]]) -> list[tuple[bytes, int]]:
    """Return the PDF bytes and page count of each finished DOCX, converted by one LibreOffice process."""
    command = soffice()
    with tempfile.TemporaryDirectory(prefix="dossiergen-libreoffice-") as tmp:
        # LibreOffice resolves a relative link against the DOCX's folder and writes it relative to
        # the PDF's: both in one folder deep enough that no "../" of an eCTD path climbs out of it.
        folder = Path(tmp).joinpath(*["d"] * LINK_DEPTH)
        folder.mkdir(parents=True)
        names = [folder / f"d{index:04d}.docx" for index in range(len(documents))]
        for name, (docx, _) in zip(names, documents):
            name.write_bytes(docx)
        done = subprocess.run([command, f"-env:UserInstallation={(Path(tmp) / 'profile').as_uri()}", "--headless",
                               "--norestore", "--convert-to", f"pdf:writer_pdf_Export:{json.dumps(EXPORT)}",
                               "--outdir", str(folder), *map(str, names)],
                              capture_output=True, text=True, timeout=1800, check=False)
        pdfs = [name.with_suffix(".pdf") for name in names]
        missing = [pdf.name for pdf in pdfs if not pdf.is_file()]
        if done.returncode != 0 or missing:
            raise ToolError("LibreOffice failed", (Problem(
                "write.libreoffice_failed", f"LibreOffice did not convert {len(missing)} document(s): "
                f"{(done.stderr or done.stdout).strip()[:400]}", hint="try again with --pdf-engine typst"),))
        return [finish_pdf(pdf.read_bytes(), meta, date_it=True) for pdf, (_, meta) in zip(pdfs, documents)]
