"""Stage write: Markdown -> document formats. WRITERS maps a format name to its writer;
DocumentWriter writes DOCX and PDF for many documents on every core, reusing cached ones."""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.forkserver
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

from pathlib import Path

from ..attach import materialize
from ..cache import DocumentCache, document_key, using_store
from .. import stopwatch
from ..clock import now, pin
from ..environment import check_tools
from . import libreoffice, pdf
from .children import die_with_parent
from .docx import DocxMeta, finish_docx, write_docx, write_report_docx
from .libreoffice import render_pdfs
from .pandoc import convert_batch
from .pdf import PdfMeta, typeset_pdf, typst_settings

WRITERS = {"docx": write_docx}
MISSING_FILL = {"MISSING": "F4B6B6"}  # a light red that prints legibly in black and white


def readiness_docx(markdown: str, meta: DocxMeta) -> bytes:
    """Return the readiness report's DOCX, its MISSING cells shaded."""
    return write_report_docx(markdown, meta, MISSING_FILL)


Job = tuple  # (Markdown, DocxMeta, PdfMeta) or (Markdown, DocxMeta, PdfMeta, attachments: tuple[attach.Attachment, ...])
Written = tuple[bytes, bytes, int]  # DOCX bytes, PDF bytes, page count
BATCHES_PER_WORKER = 4  # one pandoc process per batch; more batches balance the cores better
BATCH_OVERHEAD = 4000  # a document's fixed cost, in characters of Markdown
BATCH_LIMIT = 1_000_000  # characters (with overheads) one batch holds at most: a writer's memory stays bounded


class DocumentWriter:
    """Writes documents on worker processes while the caller goes on rendering and packaging.

    A document found in the cache (same Markdown, metadata and engine) is reused, and identical
    documents are written once. Use it as a context manager: leaving on an error cancels what
    has not started."""

    def __init__(self, cache: DocumentCache, workers: int, progress: Callable[[int, int], None] | None = None,
                 engine: str = "typst", store: Path | None = None):
        self.cache, self.workers, self.progress, self.engine = cache, workers, progress, engine
        self.store = store  # the build's blob store folder: drawn figures are kept there (attach.Drawn)
        self.epoch = int(now().timestamp())  # the build time, the same in every writer process
        self.found: dict[str, Written] = {}
        self.pending: dict[str, object] = {}  # key -> future of its batch
        self.order: dict[str, int] = {}  # key -> index within its batch
        self.submitted = self.done = 0
        self.timed: set[int] = set()
        self.futures: list = []

    def __enter__(self) -> "DocumentWriter":
        context = _worker_context()
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                        initializer=die_with_parent)  # workers die with the fork server
        if context.get_start_method() == "forkserver":
            # Started now, the fork server imports the writers and the drawing libraries on another core
            # while this process loads, validates and renders: the writers start warm (issue 19).
            multiprocessing.forkserver.ensure_running()
        return self

    def __exit__(self, kind, error, trace) -> None:
        self.pool.shutdown(wait=True, cancel_futures=kind is not None)

    def submit(self, jobs: list[Job], spread: int = BATCHES_PER_WORKER) -> list[str]:
        """Start writing the jobs not already written, cached or started, in about `spread` batches per
        worker (fewer: fewer pandoc start-ups; more: the cores finish together); return every job's key."""
        keys = [document_key(*_parts(job)[:3], attachments=_parts(job)[3], engine=engine_version(self.engine))
                for job in jobs]
        todo = {}
        for key, job in zip(keys, jobs):
            if key not in self.found and key not in self.pending and key not in todo:
                cached = self.cache.get(key)
                if cached is None:
                    todo[key] = job
                else:
                    self.found[key] = cached
        for batch in _batches(todo, self.workers, spread):
            future = self.pool.submit(_write_timed, [todo[key] for key in batch], self.engine, self.epoch, self.store)
            for index, key in enumerate(batch):
                self.pending[key], self.order[key] = future, index
        self.submitted += len(todo)
        return keys

    def collect(self, keys: list[str]) -> tuple[list[Written], int]:
        """Return the outputs for the keys, waiting for those still being written, and how many
        of them this writer wrote (each counted for the first caller that collects it)."""
        fresh = 0
        for key in keys:
            if key in self.pending:
                future = self.pending.pop(key)
                batch, times = future.result()
                if id(future) not in self.timed:  # a batch's stage times are counted once
                    self.timed.add(id(future))
                    self.futures.append(future)  # held, so that its id is not reused
                    stopwatch.current().merge(times)
                self.found[key] = written = batch[self.order.pop(key)]
                self.cache.put(key, written)
                self.done, fresh = self.done + 1, fresh + 1
                if self.progress:
                    self.progress(self.done, self.submitted)
        return [self.found[key] for key in keys], fresh


def write_documents(jobs: list[Job], engine: str = "typst", epoch: int | None = None) -> list[Written]:
    """Return the outputs of each job, converting all of them with one pandoc process and
    making the PDFs with the named engine (PDF_ENGINES); with epoch, dated at that build time."""
    if epoch is not None:
        pin(epoch)
    return PDF_ENGINES[engine](jobs)


def _write_timed(jobs: list[Job], engine: str, epoch: int, store: Path | None = None) -> tuple[list[Written], dict]:
    """write_documents in a writer process, with the seconds of its stages (stopwatch.STAGES);
    figures drawn there are kept in the build's store (None: not kept)."""
    watch = stopwatch.reset()
    with using_store(store):
        written = write_documents(jobs, engine, epoch)
    return written, watch.as_dict()


def _parts(job: Job) -> tuple:
    """Return (markdown, docx_meta, pdf_meta, attachments) of a job with or without attachments."""
    return tuple(job) if len(job) == 4 else (*job, ())


def _drawn(jobs: list[Job]) -> list[tuple]:
    """Return the jobs' parts with every attachment's bytes at hand: the figures are drawn here
    (attach.Drawn; stage "draw figures"), each once per process."""
    seen: dict[str, object] = {}

    def at_hand(attachment):
        key = attachment.digest()
        if key not in seen:
            seen[key] = materialize(attachment)
        return seen[key]

    return [(markdown, docx_meta, pdf_meta, tuple(at_hand(a) for a in files))
            for markdown, docx_meta, pdf_meta, files in map(_parts, jobs)]


def _with_typst(jobs: list[Job]) -> list[Written]:
    jobs = _drawn(jobs)
    watch = stopwatch.current()
    with watch.stage("convert", len(jobs)):
        converted = convert_batch([(markdown, typst_settings(pdf_meta), files) for markdown, _, pdf_meta, files in jobs])
    written = []
    for done, (_, docx_meta, pdf_meta, _) in zip(converted, jobs):
        pdf_bytes, pages = typeset_pdf(done.typst, pdf_meta)  # first: the DOCX contents take its page numbers
        with watch.stage("finish DOCX", 1):
            written.append((finish_docx(done.docx, docx_meta, pages, pdf.contents(pdf_bytes)), pdf_bytes, pages))
    return written


def _with_libreoffice(jobs: list[Job]) -> list[Written]:
    """The PDF is LibreOffice's rendition of the finished DOCX."""
    jobs = _drawn(jobs)
    watch = stopwatch.current()
    with watch.stage("convert", len(jobs)):
        converted = convert_batch([(markdown, None, files) for markdown, _, _, files in jobs])
    with watch.stage("finish DOCX", len(jobs)):
        docx = [finish_docx(done.docx, docx_meta) for done, (_, docx_meta, _, _) in zip(converted, jobs)]
    with watch.stage("compile PDF", len(jobs)):
        pdfs = render_pdfs([(data, pdf_meta) for data, (_, _, pdf_meta, _) in zip(docx, jobs)])
    return [(data, *pdf) for data, pdf in zip(docx, pdfs)]


PDF_ENGINES = {"typst": _with_typst, "libreoffice": _with_libreoffice}


@functools.cache
def engine_version(engine: str) -> str:
    """Return the PDF engine's name and version (for the manifest and the cache keys)."""
    return libreoffice.version() if engine == "libreoffice" else pdf.engine_version()


def check_engine(engine: str) -> None:
    """Raise ToolError naming what to install when pandoc or the PDF engine cannot run on this
    machine, or a font the templates use is missing (the typst engine embeds them; LibreOffice
    substitutes them for Times New Roman, Arial, SimSun and SimHei)."""
    check_tools(engine)


def _worker_context():
    """Return the way worker processes start: from a fork server that has imported the writers.

    Not plain fork: a process that has already run typst holds a thread pool that does not
    survive fork, and its forked children hang (seen when a test or a library user writes a
    document before building)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, *PRELOAD])
    return context


# Imported once by the fork server, not by each writer on its first figure (about 1.6 CPU s each):
# statistics for the trend plots, matplotlib and its Agg and SVG backends.
PRELOAD = ("dossiergen.plots", "dossiergen.flow", "matplotlib.figure", "matplotlib.backends.backend_agg",
           "matplotlib.backends.backend_svg")


def _batches(todo: dict[str, Job], workers: int, spread: int = BATCHES_PER_WORKER) -> list[list[str]]:
    """Split the jobs into batches of similar size, largest documents first, so that no core
    waits alone on one long table at the end; a large dossier gets more batches (BATCH_LIMIT), so
    that one pandoc run never holds all of it."""
    total = sum(len(job[0]) + BATCH_OVERHEAD for job in todo.values())
    count = min(len(todo), max(workers * spread, -(-total // BATCH_LIMIT)))
    batches, sizes = [[] for _ in range(count)], [0] * count
    for key in sorted(todo, key=lambda k: -len(todo[k][0])):
        smallest = sizes.index(min(sizes))
        batches[smallest].append(key)
        sizes[smallest] += len(todo[key][0]) + BATCH_OVERHEAD
    return sorted(batches, key=lambda batch: -len(todo[batch[0]][0]))
