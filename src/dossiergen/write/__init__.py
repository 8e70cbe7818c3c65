"""Stage write: Markdown -> document formats. WRITERS maps a format name to its writer;
DocumentWriter writes DOCX and PDF for many documents on every core, reusing cached ones."""

from __future__ import annotations

import ctypes
import functools
import gc
import multiprocessing
import multiprocessing.forkserver
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterator

from pathlib import Path

from ..attach import materialize
from ..cache import DocumentCache, Stored, document_key, using_store
from .. import stopwatch
from ..clock import now, pin
from ..environment import check_tools
from . import libreoffice, pandoc, pdf
from .children import die_with_parent
from .docx import DocxMeta, finish_docx, write_docx, write_report_docx
from .libreoffice import render_pdfs
from .pandoc import convert_batch, stop_pandoc
from .pdf import PdfMeta, typeset_pdf, typst_settings

WRITERS = {"docx": write_docx}
MISSING_FILL = {"MISSING": "F4B6B6"}  # a light red that prints legibly in black and white


def readiness_docx(markdown: str, meta: DocxMeta) -> bytes:
    """Return the readiness report's DOCX, its MISSING cells shaded."""
    return write_report_docx(markdown, meta, MISSING_FILL)


Job = tuple  # (Markdown, DocxMeta, PdfMeta) or (Markdown, DocxMeta, PdfMeta, attachments: tuple[attach.Attachment, ...])
Written = tuple[bytes, bytes, int]  # DOCX bytes, PDF bytes, page count
Placed = tuple[Stored, Stored, int]  # where a written DOCX and PDF lie in the build's cache, page count
BATCHES_PER_WORKER = 4  # one pandoc run per batch; more batches balance the cores better
FEW = 4  # new documents that wait for the next submission while every writer is busy
BATCH_OVERHEAD = 4000  # a document's fixed cost, in characters of Markdown
BATCH_LIMIT = 250_000  # characters (with overheads) one batch holds at most: a writer's memory stays bounded
# (a pandoc run over 500,000 took about 210 MB; with the writers replaced after each batch, see _recycling)
SMALL_BUILD = BATCH_LIMIT // 8  # characters handed over (with overheads) below which writers keep their pandoc from the start


class Writers:
    """Writer processes kept from one build to the next by a process that builds again and again
    (`dossiergen watch`): a build after a small change then finds its writers started, with their
    fonts read, their pandoc running and typst's memo of the layouts they made (issue 19).

    A DocumentWriter given one takes its pool instead of starting its own and leaves it running;
    a build that fails, or that turns out large (DocumentWriter._recycling: its writers are replaced
    after each batch), lets it go, and the next build starts another. So does every KEEP_BUILDS-th
    build: typst's memo grows with each build (typst-py offers no way to clear it), and a fresh pair
    of writers bounds it. Use it as a context manager: leaving stops the writers."""

    KEEP_BUILDS = 20

    def __init__(self):
        self.pool: ProcessPoolExecutor | None = None
        self.key: tuple | None = None  # (workers, engine) of the pool
        self.builds = 0  # builds the pool has served

    def take(self, workers: int, engine: str, context) -> tuple[ProcessPoolExecutor, bool]:
        """Return the kept pool for a build (a new one if there is none, or another kind), and whether it is new."""
        if self.pool is not None and (self.key != (workers, engine) or getattr(self.pool, "_broken", False)):
            self.release()  # another kind, or a writer died between builds (killed, out of memory): new ones
        if self.pool is not None:
            return self.pool, False
        self.pool, self.key, self.builds = _new_pool(workers, context), (workers, engine), 0
        return self.pool, True

    def served(self, pool: ProcessPoolExecutor, ok: bool) -> None:
        """Say that a build that took the pool has ended (ok: without an error); it is let go after an
        error, or when it has served KEEP_BUILDS builds."""
        if pool is not self.pool:
            return
        self.builds += 1
        if not ok or self.builds >= self.KEEP_BUILDS:
            self.release(cancel=not ok)

    def forget(self, pool: ProcessPoolExecutor) -> None:
        """Stop keeping the pool (a build retires it: its writers are to be replaced)."""
        if pool is self.pool:
            self.pool = self.key = None

    def release(self, cancel: bool = False) -> None:
        """Stop the kept writers (with cancel, dropping what they had not started)."""
        pool, self.pool, self.key = self.pool, None, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=cancel)

    def __enter__(self) -> "Writers":
        return self

    def __exit__(self, *exc) -> None:
        self.release(cancel=exc[0] is not None)


def _new_pool(workers: int, context, recycle: int | None = None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_writer_started,
                               max_tasks_per_child=recycle)


class DocumentWriter:
    """Writes documents on worker processes while the caller goes on rendering and packaging.

    A document found in the cache (same Markdown, metadata and engine) is reused, and identical
    documents are written once. Use it as a context manager: leaving on an error cancels what
    has not started. kept: writers kept from an earlier build (Writers), taken instead of new ones."""

    def __init__(self, cache: DocumentCache, workers: int, progress: Callable[[int, int], None] | None = None,
                 engine: str = "typst", store: Path | None = None, kept: Writers | None = None):
        self.cache, self.workers, self.progress, self.engine, self.kept = cache, workers, progress, engine, kept
        self.store = store  # the build's blob store folder: drawn figures are kept there (attach.Drawn)
        self.epoch = int(now().timestamp())  # the build time, the same in every writer process
        self.found: dict[str, Placed] = {}  # where each document's bytes lie: none is held in memory
        self.pending: dict[str, object] = {}  # key -> future of its batch
        self.batches: dict[object, list[str]] = {}  # future -> the keys of its batch, in order
        self.jobs: dict[object, list[Job]] = {}  # future -> the jobs of its batch, until it is collected
        self.unclaimed: set[str] = set()  # written by this writer, not yet collected by any caller
        self.held: dict[str, Job] = {}  # a few documents kept back while every writer is busy (submit)
        self.submitted = self.done = 0
        self.keys: dict[tuple, str] = {}  # (Markdown, metadata, attachments' digests) -> document key, this build's
        self.characters = 0  # of the documents submitted to be written (_characters)
        self.recycle: int | None = None  # batches a writer writes before it is replaced (_recycling)
        self.retired: list[ProcessPoolExecutor] = []  # pools that finish what they were given (_recycling)
        self.warming: list[object] = []  # futures of writers getting ready (_warm_up); their results are not needed
        self.warm = False  # whether the pool's writers come from an earlier build (kept: Writers)
        self.sizing = True  # until the documents that show the build's size were submitted (sized)

    def __enter__(self) -> "DocumentWriter":
        self.context, self.pool = _worker_context(), None  # the pool is made by the first submit (_pool)
        if self.context.get_start_method() == "forkserver":
            # Started now, the fork server imports the writers and the drawing libraries on another core
            # while this process loads, validates and renders: the writers start warm (issue 19).
            multiprocessing.forkserver.ensure_running()
        return self

    def __exit__(self, kind, error, trace) -> None:
        pools = [*self.retired, *([self.pool] if self.pool is not None else [])]
        if self.kept is not None and self.pool is not None and self.pool is self.kept.pool:
            pools.remove(self.pool)
            if kind is not None:
                for future in self.batches:  # what this build asked of the kept writers and they had not started
                    future.cancel()
            self.kept.served(self.pool, kind is None)  # let go after an error, or when it has served long enough
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=kind is not None)

    def _pool(self) -> tuple[ProcessPoolExecutor, bool]:
        """Return the writers' pool (made, or taken from the kept writers, by the first submission that has
        documents to write), and whether its writers are new."""
        if self.pool is not None:
            return self.pool, False
        if self.kept is not None and self.recycle is None and not self.retired:
            self.pool, new = self.kept.take(self.workers, self.engine, self.context)
            self.warm = not new
            return self.pool, new
        self.pool = _new_pool(self.workers, self.context, self.recycle)
        return self.pool, True

    def sized(self) -> None:
        """Say that the documents that show a build's size were submitted (the caller's first quarter
        of its first market): from now on the writers are kept or replaced as they are (_recycling).
        Saying it again changes nothing."""
        self.sizing = False

    def _recycling(self, todo: dict[str, Job]) -> None:
        """Decide, while the documents that show a build's size are submitted (until `sized`), whether
        each writer is replaced after one batch: when their Markdown (_characters, the todo's included)
        fills more than one full batch (BATCH_LIMIT) per writer (a large dossier, or a large first
        quarter of one). typst keeps its memo of every layout for the life of the process (typst-py
        offers no way to clear it), and a writer that has compiled a large batch holds about 300 MB
        beside the next batch's pandoc run (about 200 MB). Measured on bench/large.py (2,302
        documents): the peak of the whole process tree went from 1,151 to 908 MB, and to 766 MB with
        batches of half the size (BATCH_LIMIT); at a quarter of that size, 910 MB when its writers were
        kept. An ordinary build keeps its writers (its first documents fill less; a new writer costs
        its start, its font index and its pandoc).

        The writers already at work finish the batches they started (the first hand-overs are small,
        so that the writers start early) and leave; the batches they had not started join the todo,
        which goes to writers that are replaced, as do later batches: kept and replaced writers work
        side by side as briefly as possible."""
        if self.sizing and self.recycle is None and self.characters > self.workers * BATCH_LIMIT:
            self.recycle = 1
            if self.pool is not None:
                for future in list(self.batches):
                    if future.cancel():  # not started: written by the new writers
                        for key, job in zip(self.batches.pop(future), self.jobs.pop(future)):
                            del self.pending[key]
                            todo[key] = job
                if self.kept is not None:
                    self.kept.forget(self.pool)  # its writers are replaced: not kept for the next build either
                self.pool.shutdown(wait=False)
                self.retired.append(self.pool)
                self.pool = None

    def submit(self, jobs: list[Job], spread: int = BATCHES_PER_WORKER, hold: bool = True) -> list[str]:
        """Start writing the jobs not already written, cached or started, in about `spread` batches per
        worker (fewer: fewer pandoc start-ups; more: the cores finish together); return every job's key.

        Fewer than FEW new documents, while every writer is busy and more batches wait, are kept back
        and started with the next submission, or when a caller collects (a batch has a fixed cost: its DOCX package, and a
        pandoc start-up, about 65 ms, where the writer does not keep its pandoc; a market that shares
        most documents with an earlier one has only a few of its own)."""
        keys = [self._key(job) for job in jobs]
        todo, self.held = self.held, {}
        for key, job in zip(keys, jobs):
            if key not in self.found and key not in self.pending and key not in todo:
                cached = self.cache.find(key)
                if cached is None:
                    todo[key] = job
                else:
                    self.found[key] = cached
        if hold and todo and len(todo) < FEW and self._busy():
            self.held = todo
            return keys
        self.submitted += len(todo)
        self.characters += _characters(todo)
        self._recycling(todo)  # may add the batches old writers had not started
        # Until the build's size is known, smaller batches: if it turns out large, the writers that are
        # let go have less to finish, and more of what they were given is taken back (_recycling).
        batches = _batches(todo, self.workers, spread, BATCH_LIMIT // 4 if self.sizing else BATCH_LIMIT)
        pool, new = self._pool() if batches else (None, False)
        first = new and not self.retired and self.recycle is None  # new writers, the build's first, kept
        keep_pandoc = self._keeps_pandoc()
        for batch in batches:
            jobs = [todo[key] for key in batch]
            future = pool.submit(_write_timed, jobs, self.engine, self.epoch, self.store, batch, self.cache.folder,
                                 keep_pandoc)
            self.batches[future], self.jobs[future] = batch, jobs
            for key in batch:
                self.pending[key] = future
        if first and batches and self.engine == "typst":
            # Writers the first batches leave idle get ready meanwhile: a build after a small change
            # writes its first document on one writer and, a moment later, its Chinese one on the other.
            self.warming += [pool.submit(_warm_up, self.epoch) for _ in range(self.workers - len(batches))]
        return keys

    def _keeps_pandoc(self) -> bool:
        """Whether a writer keeps its pandoc after the batches submitted now. It does once the build is known
        to keep its writers: before, a writer that is let go when the build turns out large would hold it
        meanwhile (memory). Writers kept from an earlier build (Writers) keep theirs, as do those of a build
        that has handed over only a few small documents so far (SMALL_BUILD: a build after a small change),
        for which starting pandoc again for the next batch cost about 70 ms of a writer's time (issue 19).
        Writers replaced after each batch (a large build) never keep it."""
        return self.recycle is None and (not self.sizing or self.warm or self.characters <= SMALL_BUILD)

    def _key(self, job: Job) -> str:
        """Return a job's document key (cache.document_key), computed once per build for the same Markdown,
        metadata and attachments (the English core is submitted by neutral, us, eu and uk alike)."""
        markdown, docx_meta, pdf_meta, attachments = _parts(job)
        same = (markdown, docx_meta, pdf_meta, tuple(a.digest() for a in attachments))
        key = self.keys.get(same)
        if key is None:
            key = self.keys[same] = document_key(markdown, docx_meta, pdf_meta, attachments=attachments,
                                                 engine=engine_version(self.engine))
        return key

    def _busy(self) -> bool:
        """Whether every writer has a batch and another waits: documents submitted now would wait anyway
        (a cold build), unlike those of a build after a small change, whose writers have one batch each."""
        return sum(not future.done() for future in self.batches) > self.workers

    def collect(self, keys: list[str]) -> tuple[list[Placed], int]:
        """Return where the outputs for the keys lie in the cache (cache.Stored: DOCX, PDF, and the
        page count), waiting for those still being written, and how many of them this writer wrote
        (each counted for the first caller that collects it)."""
        if self.held:
            self.submit([], hold=False)  # the documents kept back start now
        for future in [f for f in self.warming if f.done()]:
            self.warming.remove(future)
            if not future.cancelled() and future.exception() is None:  # a writer that failed fails its batches too
                stopwatch.current().merge(future.result())
        fresh = 0
        for key in keys:
            if key in self.pending:
                future = self.pending[key]
                placed, times = future.result()  # the writer put the documents into the cache itself
                stopwatch.current().merge(times)
                batch = self.batches.pop(future)
                del self.jobs[future]
                for done, where in zip(batch, placed):
                    self.found[done] = where
                    del self.pending[done]
                self.unclaimed.update(batch)
                self.done += len(batch)
                if self.progress:
                    self.progress(self.done, self.submitted)
            if key in self.unclaimed:
                self.unclaimed.discard(key)
                fresh += 1
        return [self.found[key] for key in keys], fresh


def write_documents(jobs: list[Job], engine: str = "typst", epoch: int | None = None) -> list[Written]:
    """Return the outputs of each job, converting all of them with one pandoc process and
    making the PDFs with the named engine (PDF_ENGINES); with epoch, dated at that build time."""
    if epoch is not None:
        pin(epoch)
    return list(PDF_ENGINES[engine](jobs))


def _write_timed(jobs: list[Job], engine: str, epoch: int, store: Path | None, keys: list[str],
                 cache: Path, kept: bool = True) -> tuple[list[Placed], dict]:
    """Write the jobs in a writer process and put each document into the build's cache under its key
    as soon as it is written (neither this process nor the build holds a batch's documents); return
    where each lies, and the seconds of the stages (stopwatch.STAGES). Figures drawn here are kept
    in the build's store (None: not kept). A writer that is not kept for further batches lets its
    pandoc go as soon as the batch is converted (its memory is not held beside typst's)."""
    watch = stopwatch.reset()
    pin(epoch)
    documents, placed = DocumentCache(cache), []
    with using_store(store):
        for key, written in zip(keys, PDF_ENGINES[engine](jobs, keep_pandoc=kept)):
            placed.append(documents.put(key, written))
            if len(placed) % RELEASE_EVERY == 0:
                release_memory(collect=False)
    release_memory()
    return placed, watch.as_dict()


RELEASE_EVERY = 25  # documents


def release_memory(collect: bool = True) -> None:
    """Give the memory a writer freed back to the system (with collect, after a garbage collection).
    glibc keeps freed heap pages (in several arenas: typst works on threads): measured on the large
    dossier, a writer held about 95 MB more after a batch of 71 documents without this, and its
    resident size grew with each batch (issue 19)."""
    if collect:
        gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """Return glibc's malloc_trim (None elsewhere: musl, macOS)."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def _warm_up(epoch: int) -> dict:
    """Get a writer ready for its first document while it has nothing to do: its typst compiler (font
    index), the fonts a document uses in both languages (typst reads a font when it first sets text in
    it) and its pandoc. What it writes is dropped; a document written later has the same bytes
    (typst's and pandoc's outputs do not depend on what they made before: tested). Return the seconds
    of the stages (they are the build's work too)."""
    watch = stopwatch.reset()
    pin(epoch)
    text = "# 3.2.S.1.1 Nomenclature\n\n*Text* **bold** 文字 **粗体**.\n\n| A | B |\n|---|---|\n| 1 mg | 2~°C |\n\n: Table\n"
    jobs = [(text, DocxMeta(title="Title", subject="Subject", header="Header", lang=lang),
             PdfMeta("Title", "Subject", "Header", lang, toc=True)) for lang in ("en", "zh")]
    for _ in _with_typst(jobs):
        pass
    return watch.as_dict()


def _writer_started() -> None:
    """Set up a writer process: it dies with the fork server, keeps one pandoc, and typst lays out on one thread.
    typst spreads some of its work over a thread pool (rayon) as large as the machine, but the
    writers already keep every core busy, so the pool's threads only cost: compiling the example's
    385 documents took about 0.4 CPU s (4%) more with them, in three paired runs (issue 19). A
    RAYON_NUM_THREADS the user set is kept."""
    die_with_parent()
    # Ctrl-C in a terminal reaches every process of the group: a writer then ends quietly, as its pandoc
    # does, rather than printing a traceback of KeyboardInterrupt (the build's own process reports).
    # Nothing is left half-written: the cache and the output take only whole files, renamed into place.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    pandoc.KEEP = True  # one pandoc for all its batches (pandoc._Server)


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


def _with_typst(jobs: list[Job], keep_pandoc: bool = True) -> Iterator[Written]:
    """Yield each job's outputs as soon as they are made (the caller need not hold a batch of them)."""
    jobs = _drawn(jobs)
    watch = stopwatch.current()
    with watch.stage("convert", len(jobs)):
        converted = convert_batch([(markdown, typst_settings(pdf_meta), files) for markdown, _, pdf_meta, files in jobs])
        if not keep_pandoc:
            stop_pandoc()
    converted.reverse()  # popped in order: each document's pandoc output is let go once it is finished
    for _, docx_meta, pdf_meta, _ in jobs:
        done = converted.pop()
        pdf_bytes, pages = typeset_pdf(done.typst, pdf_meta)  # first: the DOCX contents take its page numbers
        with watch.stage("finish DOCX", 1):
            docx_bytes = finish_docx(done.docx, docx_meta, pages, pdf.contents(pdf_bytes))
        yield docx_bytes, pdf_bytes, pages


def _with_libreoffice(jobs: list[Job], keep_pandoc: bool = True) -> list[Written]:
    """The PDF is LibreOffice's rendition of the finished DOCX."""
    jobs = _drawn(jobs)
    watch = stopwatch.current()
    with watch.stage("convert", len(jobs)):
        converted = convert_batch([(markdown, None, files) for markdown, _, _, files in jobs])
        if not keep_pandoc:
            stop_pandoc()
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


# Imported once by the fork server, not by each writer on its first figure: the trend plots and
# flow diagrams (both drawn by typst; numpy for the plots' geometry).
PRELOAD = ("dossiergen.plots", "dossiergen.flow", "typst")


def _characters(todo: dict[str, Job]) -> int:
    """Return the size of the jobs' Markdown, with each document's fixed cost (BATCH_OVERHEAD)."""
    return sum(len(job[0]) + BATCH_OVERHEAD for job in todo.values())


def _batches(todo: dict[str, Job], workers: int, spread: int = BATCHES_PER_WORKER, limit: int | None = None) -> list[list[str]]:
    """Split the jobs into batches of similar size, largest documents first, so that no core
    waits alone on one long table at the end; a large dossier gets more batches (of at most about
    `limit` characters, BATCH_LIMIT by default), so that one pandoc run never holds all of it."""
    count = min(len(todo), max(workers * spread, -(-_characters(todo) // (limit or BATCH_LIMIT))))
    batches, sizes = [[] for _ in range(count)], [0] * count
    for key in sorted(todo, key=lambda k: -len(todo[k][0])):
        smallest = sizes.index(min(sizes))
        batches[smallest].append(key)
        sizes[smallest] += len(todo[key][0]) + BATCH_OVERHEAD
    return sorted(batches, key=lambda batch: -len(todo[batch[0]][0]))
