"""typst source (from pandoc's typst writer, write/pandoc.py) -> PDF through the typst compiler
(PyPI), then pikepdf for what typst does not set: bookmarks panel on opening, relative links
between documents as GoToR actions, linearisation (Fast Web View), deterministic file identifiers.
typst itself writes the title, subject and language (document.typ) into the Info dictionary and
the PDF/A XMP metadata, which agree.

Fonts are Liberation (metric-compatible with Times New Roman and Arial) and Noto CJK, all
embedded as subsets; typst is told to ignore other system fonts so every machine gives the same bytes.
"""

from __future__ import annotations

import atexit
import functools
import io
import multiprocessing.util
import os
import re
import shutil
import tempfile
import struct
import zlib
from dataclasses import dataclass

import pikepdf

from .. import environment
from ..clock import now
from ..environment import FONT_DIRS
from ..errors import Problem, ToolError
from ..outputs import temp_prefix
from .layout import LANDSCAPE, PORTRAIT, Page
from .pandoc import TypstSettings

PAGE_WORDS = {"en": ("Page ", " of ", ""), "zh": ("第 ", " 页 共 ", " 页")}
LANGUAGES = {"en": ("en", "US"), "zh": ("zh", "CN")}  # typst's text language and region: the PDF's /Lang en-US, zh-CN
PDF_STANDARD = "a-2b"


@dataclass(frozen=True)
class PdfMeta:
    """What the PDF carries besides its body."""

    title: str
    subject: str
    header: str
    lang: str
    toc: bool


def engine_version() -> str:
    """Return the PDF engine's name and version for the manifest."""
    import typst  # loaded where PDFs are made: `validate` and `gaps` never need it

    return f"typst (typst-py {getattr(typst, '__version__', 'unknown')}), {PDF_STANDARD}"


def check_fonts() -> None:
    """Raise ToolError naming the package to install when a font the templates use is missing."""
    environment.check_fonts()


def typst_settings(meta: PdfMeta) -> TypstSettings:
    """Return the typst template variables for a document; title and header are escaped as text,
    the subject is a string literal."""
    before, middle, after = PAGE_WORDS.get(meta.lang, PAGE_WORDS["en"])
    lang, region = LANGUAGES["zh" if meta.lang == "zh" else "en"]
    variables = {"title": meta.title, "header": meta.header, "subject": meta.subject, "lang": lang, "region": region,
                 "table-size": "10.5pt" if meta.lang == "zh" else "9.5pt",
                 "page-before": before, "page-middle": middle, "page-after": after}
    variables.update(_page_variables("", PORTRAIT))
    variables.update(_page_variables("landscape-", LANDSCAPE))
    if meta.toc:
        variables["toc"] = "true"
    return TypstSettings(tuple(variables.items()), ("title", "header"), ("subject",))


def _page_variables(prefix: str, page: Page) -> dict[str, str]:
    """Return the typst page settings of one orientation of the layout (write/layout.py)."""
    values = {"width": page.width, "height": page.height, "left": page.left, "right": page.right, "top": page.top,
              "bottom": page.bottom, "header-ascent": page.header_ascent, "footer-descent": page.footer_descent}
    return {f"{prefix}{name}": f"{value:.2f}mm" for name, value in values.items()}


def typeset_pdf(source: str, meta: PdfMeta) -> tuple[bytes, int]:
    """Return the PDF bytes and page count of one document's typst source."""
    from .. import stopwatch

    watch = stopwatch.current()
    try:
        with watch.stage("compile PDF", 1):
            raw = _compiler().compile(input=source.encode("utf-8"), pdf_standards=[PDF_STANDARD],
                                      timestamp=int(now().timestamp()), root=_empty_root())
    except RuntimeError as exc:
        raise ToolError("typst failed", (Problem("write.typst_failed", str(exc)[:500],
                                                 hint="this is a template or engine problem; please report it"),)) from exc
    with watch.stage("finish PDF", 1):
        return finish_pdf(raw, meta)


def contents(pdf: bytes) -> list[tuple[str, int]]:
    """Return the bookmarks of a PDF in order, as (title, page number from 1)."""
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return _bookmarks(opened)


def _bookmarks(opened) -> list[tuple[str, int]]:
    """Return the bookmarks of an open PDF in order, as (title, page number from 1)."""
    pages = {page.objgen: number for number, page in enumerate(opened.pages, 1)}
    found = []

    def walk(items):
        for item in items:
            destination = item.destination
            if destination is None and item.action is not None:
                destination = item.action.get("/D")
            if isinstance(destination, pikepdf.Array) and len(destination):
                found.append((item.title, pages.get(destination[0].objgen, 0)))
            walk(item.children)
    # read only: not a `with` block, whose exit writes the outline back into the PDF
    walk(opened.open_outline().root)
    return found


_COMPILERS: dict[int, "typst.Compiler"] = {}


def _compiler() -> "typst.Compiler":
    """Return this process's typst compiler: the font index is built once (about 60 ms), not per document."""
    import typst

    pid = os.getpid()  # a forked worker builds its own
    if pid not in _COMPILERS:
        _COMPILERS.clear()
        _COMPILERS[pid] = typst.Compiler(font_paths=[str(d) for d in FONT_DIRS], ignore_system_fonts=True)
    return _COMPILERS[pid]


@functools.cache
def _empty_root() -> str:
    """Return an empty folder as typst's project root: `#image`, `#read` and `#include` can reach
    no file (typst refuses paths outside its root); removed when the process exits."""
    folder = tempfile.mkdtemp(prefix=temp_prefix("typst"))
    atexit.register(shutil.rmtree, folder, True)
    multiprocessing.util.Finalize(None, shutil.rmtree, (folder, True), exitpriority=1)  # writer processes skip atexit
    return folder


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def finish_pdf(raw: bytes, meta: PdfMeta, date_it: bool = False) -> tuple[bytes, int]:
    """Return the PDF with the bookmarks panel on opening and relative links, linearised, and its
    page count. date_it is for another engine's PDF (LibreOffice): its language and subject are set
    here, and it is dated at the build time (that engine stamps the wall clock). typst's PDF has
    its language and subject from the source already (typst_settings)."""
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        pdf.Root.PageMode = pikepdf.Name.UseOutlines if "/Outlines" in pdf.Root else pikepdf.Name.UseNone
        if date_it:
            pdf.Root.Lang = pikepdf.String("-".join(LANGUAGES["zh" if meta.lang == "zh" else "en"]))
            with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as xmp:
                xmp["dc:description"] = meta.subject
                xmp["xmp:CreateDate"] = xmp["xmp:ModifyDate"] = now().isoformat()
            _drop_wall_clock(pdf)
        for page in pdf.pages:
            for annot in page.get("/Annots", []):
                _relative_link(annot)
        out = io.BytesIO()
        pdf.save(out, linearize=True, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve,
                 fix_metadata_version=date_it)  # typst writes its XMP with the PDF version it writes: not parsed again
        return out.getvalue(), len(pdf.pages)


def _drop_wall_clock(pdf) -> None:
    """Date the output intents' ICC profiles at the build time, and drop the producer's own
    checksum and identifier of the file: LibreOffice stamps the wall clock or chance into them."""
    stamp = now()
    for intent in pdf.Root.get("/OutputIntents", []):
        profile = intent.get("/DestOutputProfile")
        if profile is None:
            continue
        data = bytearray(profile.read_bytes())
        if len(data) >= 128:  # ICC header: creation date at 24-35, profile ID (0 = not computed) at 84-99
            data[24:36] = struct.pack(">6H", stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
            data[84:100] = bytes(16)
            profile.write(zlib.compress(bytes(data), 9), filter=pikepdf.Name.FlateDecode)
    for key in ("/DocChecksum", "/ID"):  # the file identifier is then derived from the content on saving
        if key in pdf.trailer:
            del pdf.trailer[key]


def _relative_link(annot) -> None:
    """Turn a URI action to a relative .pdf path into a GoToR action (opens the other PDF)."""
    action = annot.get("/A")
    if action is None or action.get("/S") != pikepdf.Name.URI:
        return
    target = str(action.get("/URI", "")).split("#")[0]
    if target.endswith(".docx"):  # a rendition of the DOCX links to sibling DOCX: the PDFs mirror that tree
        target = target[:-5] + ".pdf"
    if _SCHEME.match(target) or not target.endswith(".pdf"):
        return
    annot.A = pikepdf.Dictionary(S=pikepdf.Name.GoToR, F=pikepdf.String(target),
                                 D=pikepdf.Array([0, pikepdf.Name.Fit]), NewWindow=False)
