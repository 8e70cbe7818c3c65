"""Finished DOCX -> PDF through LibreOffice headless (`--pdf-engine libreoffice`): a rendition
that looks like the DOCX the writers edit. One LibreOffice process converts a batch; the PDF
is then finished as the typst engine's (bookmarks panel, language, relative links, Fast Web
View) and dated at the build time, since LibreOffice stamps the wall clock."""

from __future__ import annotations

import functools
import io
import json
import subprocess
import tempfile
import zipfile
from pathlib import Path

from lxml import etree

from ..errors import Problem, ToolError
from ..environment import check_libreoffice
from ..outputs import temp_prefix
from .children import run_child
from .pdf import PdfMeta, finish_pdf

TIMEOUT = 1800  # seconds for one batch
HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"

LINK_DEPTH = 12  # deeper than any eCTD folder path
# PDF/A-2b, bookmarks from the headings, links to other files kept relative (LibreOffice 7.4+).
EXPORT = {"SelectPdfVersion": {"type": "long", "value": "2"}, "ExportBookmarks": {"type": "boolean", "value": "true"},
          "ExportLinksRelativeFsys": {"type": "boolean", "value": "true"}, "UseTaggedPDF": {"type": "boolean", "value": "true"}}


def soffice() -> str:
    """Return LibreOffice's command, or raise ToolError naming the package to install."""
    return check_libreoffice()


@functools.cache
def version() -> str:
    """Return LibreOffice's name and version for the manifest and the cache keys."""
    try:
        done = run_child([soffice(), "--version"], text=True, timeout=120, whole_group=True)
    except subprocess.TimeoutExpired as exc:
        raise ToolError("LibreOffice hangs", (Problem("write.libreoffice_failed", "`soffice --version` did not answer in 120 s",
                                                      hint="check the LibreOffice installation, or use --pdf-engine typst"),)) from exc
    return f"{done.stdout.strip() or 'LibreOffice (version unknown)'}, PDF/A-2b"


def render_pdfs(documents: list[tuple[bytes, PdfMeta]]) -> list[tuple[bytes, int]]:
    """Return the PDF bytes and page count of each finished DOCX, converted by one LibreOffice process."""
    command = soffice()
    with tempfile.TemporaryDirectory(prefix=temp_prefix("libreoffice")) as tmp:
        # LibreOffice resolves a relative link against the DOCX's folder and writes it relative to
        # the PDF's: both in one folder deep enough that no "../" of an eCTD path climbs out of it.
        folder = Path(tmp).joinpath(*["d"] * LINK_DEPTH)
        folder.mkdir(parents=True)
        names = [folder / f"d{index:04d}.docx" for index in range(len(documents))]
        for name, (docx, _) in zip(names, documents):
            name.write_bytes(self_contained(docx))
        try:
            done = run_child([command, f"-env:UserInstallation={(Path(tmp) / 'profile').as_uri()}", "--headless",
                              "--norestore", "--convert-to", f"pdf:writer_pdf_Export:{json.dumps(EXPORT)}",
                              "--outdir", str(folder), *map(str, names)], cwd=folder, text=True, timeout=TIMEOUT,
                             whole_group=True)
        except subprocess.TimeoutExpired as exc:
            raise ToolError("LibreOffice timed out", (Problem(
                "write.libreoffice_timeout", f"LibreOffice did not convert a batch within {TIMEOUT} s and was stopped",
                hint="try again with --pdf-engine typst"),)) from exc
        pdfs = [name.with_suffix(".pdf") for name in names]
        missing = [pdf.name for pdf in pdfs if not pdf.is_file()]
        if done.returncode != 0 or missing:
            raise ToolError("LibreOffice failed", (Problem(
                "write.libreoffice_failed", f"LibreOffice did not convert {len(missing)} document(s): "
                f"{(done.stderr or done.stdout).strip()[:400]}", hint="try again with --pdf-engine typst"),))
        return [finish_pdf(pdf.read_bytes(), meta, date_it=True) for pdf, (_, meta) in zip(pdfs, documents)]


def self_contained(docx: bytes) -> bytes:
    """Return the DOCX if nothing in it points outside it but hyperlinks (which a conversion never
    follows); an external image, frame or template LibreOffice would load is refused."""
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        for name in archive.namelist():
            if not name.endswith(".rels"):
                continue
            for rel in etree.fromstring(archive.read(name)):
                if rel.get("TargetMode") == "External" and rel.get("Type") != HYPERLINK:
                    raise ToolError("external reference in a DOCX", (Problem(
                        "write.external_reference", f"{name} refers to '{rel.get('Target')}' outside the document",
                        hint="this is a bug in dossiergen: nothing outside the dossier may reach a document"),))
    return docx
