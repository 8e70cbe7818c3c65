"""Stage write: Markdown -> document formats. WRITERS maps a format name to its writer;
write_all writes DOCX and PDF for many documents on every core, reusing cached ones."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

from ..cache import DocumentCache, document_key
from .docx import DocxMeta, finish_docx, write_docx
from .pandoc import convert_batch
from .pdf import PdfMeta, typeset_pdf, typst_settings

WRITERS = {"docx": write_docx}
Job = tuple[str, DocxMeta, PdfMeta]  # Markdown, DOCX metadata, PDF metadata
Written = tuple[bytes, bytes, int]  # DOCX bytes, PDF bytes, page count
BATCHES_PER_WORKER = 4  # one pandoc process per batch; more batches balance the cores better
BATCH_OVERHEAD = 4000  # a document's fixed cost, in characters of Markdown


def write_all(jobs: list[Job], cache: DocumentCache, workers: int,
              progress: Callable[[int, int], None] | None = None) -> tuple[list[Written], list[bool]]:
    """Return the outputs of every job, and for each whether this call wrote it.

    A job found in the cache (same Markdown, metadata and engine) is reused; identical jobs are
    written once. The rest are written in batches on `workers` processes, largest first, so
    that no core waits alone on one long table at the end."""
    keys = [document_key(*job) for job in jobs]
    found = {key: cache.get(key) for key in dict.fromkeys(keys)}
    todo = {key: jobs[index] for index, key in enumerate(keys) if found[key] is None}
    if todo:
        done = 0
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for batch, future in _submit_batches(pool, todo, workers):
                for key, written in zip(batch, future.result()):
                    found[key] = written
                    cache.put(key, written)
                done += len(batch)
                if progress:
                    progress(done, len(todo))
    first = {key: index for index, key in reversed(list(enumerate(keys)))}
    return [found[key] for key in keys], [key in todo and first[key] == index for index, key in enumerate(keys)]


def write_documents(jobs: list[Job]) -> list[Written]:
    """Return the outputs of each job, converting all of them with one pandoc process."""
    converted = convert_batch([(markdown, typst_settings(pdf_meta)) for markdown, _, pdf_meta in jobs])
    return [(finish_docx(done.docx, docx_meta), *typeset_pdf(done.typst, pdf_meta))
            for done, (_, docx_meta, pdf_meta) in zip(converted, jobs)]


def _submit_batches(pool, todo: dict[str, Job], workers: int) -> list[tuple[list[str], object]]:
    """Split the jobs into batches of similar size and submit them, largest first."""
    count = min(len(todo), workers * BATCHES_PER_WORKER)
    batches, sizes = [[] for _ in range(count)], [0] * count
    for key in sorted(todo, key=lambda k: -len(todo[k][0])):
        smallest = sizes.index(min(sizes))
        batches[smallest].append(key)
        sizes[smallest] += len(todo[key][0]) + BATCH_OVERHEAD
    batches.sort(key=lambda batch: -len(todo[batch[0]][0]))
    return [(batch, pool.submit(write_documents, [todo[key] for key in batch])) for batch in batches]
