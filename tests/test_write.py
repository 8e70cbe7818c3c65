"""The write stage's batches: a document's DOCX and PDF never depend on the batch it was
written in, and text from the data stays text in the typst source."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pikepdf
import pytest

from conftest import CASES, ROOT
from dossiergen.build import build_dossiers, render_folder
from dossiergen.check import check_build
from dossiergen.write import write_documents
from dossiergen.write.children import descendants
from dossiergen.write.docx import DocxMeta, finish_docx
from dossiergen.write.pandoc import _convert, _job as pandoc_job, convert_batch
from dossiergen.write.pdf import PdfMeta, typeset_pdf, typst_settings
from tools import require_tool

META = DocxMeta(title="3.2.S.4.4 Batch Analyses", subject="Test", header="Test · 3.2.S.4.4", lang="en")


def _alone(markdown: str) -> bytes:
    """Return pandoc's DOCX of one document converted on its own (no batch, no cut)."""
    with tempfile.TemporaryDirectory() as tmp:
        return _convert(Path(tmp) / "alone", [pandoc_job(markdown, None)], alone={0})[0]


def _tablet_documents() -> list[str]:
    """The Markdown of tablet documents with cross-document links, lists and long tables."""
    wanted = ("3.2.S.4.5", "3.2.S.3.2", "3.2.P.5.6", "3.2.P.2", "3.2.S.4.4", "3.2.S.1.1")
    rendered = render_folder(ROOT / "examples" / "velcratinib-tablets", "us", "ind")
    return [r.markdown for r in rendered if r.document.number in wanted]


def test_a_document_cut_from_a_batch_equals_the_document_converted_alone():
    """Links, lists and tables: cut from a batch DOCX, each document is the same bytes as when
    pandoc converts it alone, whatever else is in the batch and in any order."""
    documents = _tablet_documents()
    assert len(documents) >= 6
    forward = convert_batch([(md, None) for md in documents])
    backward = convert_batch([(md, None) for md in reversed(documents)])[::-1]
    for markdown, one, two in zip(documents, forward, backward):
        alone = finish_docx(_alone(markdown), META)
        assert finish_docx(one.docx, META) == alone
        assert finish_docx(two.docx, META) == alone


def test_a_document_with_notes_is_converted_alone_and_keeps_them():
    """What the cut cannot carry (here a footnote) makes the document go through pandoc alone,
    and the note does not leak into the other documents of the batch."""
    noted = "# 3.2.P.2 Pharmaceutical Development\n\nText with a note.[^1]\n\n[^1]: The text of the note.\n"
    plain = "# 3.2.P.1 Description\n\n- one\n- two\n\nSee [3.2.P.2](../32p2/development.pdf).\n"
    batch = convert_batch([(plain, None), (noted, None), (plain, None)])
    assert finish_docx(batch[1].docx, META) == finish_docx(_alone(noted), META)
    notes = zipfile.ZipFile(io.BytesIO(batch[1].docx)).read("word/footnotes.xml").decode("utf-8")
    assert "The text of the note." in notes
    assert finish_docx(batch[0].docx, META) == finish_docx(batch[2].docx, META) == finish_docx(_alone(plain), META)



def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 4), "white").save(out, format="PNG")
    return out.getvalue()


def test_a_document_with_a_figure_goes_through_pandoc_once_and_keeps_it(monkeypatch):
    """A figure is a part of its DOCX package, which the cut cannot carry: the document is converted
    alone from the start (one pandoc run for the batch, not a second one for the rest of it, issue 19),
    keeps its picture, and the other documents are the same bytes as converted alone."""
    from dossiergen.attach import Attachment, figure_markdown
    from dossiergen.write import pandoc

    figure = Attachment("plot", (("png", _png()),))
    pictured = "# 3.2.P.8.3 Stability Data\n\n" + figure_markdown("plot", "pH against time", "Figure 1 pH")
    plain = "# 3.2.P.1 Description\n\n- one\n- two\n\nSee [3.2.P.2](../32p2/development.pdf).\n"
    runs = []
    real = pandoc._convert
    monkeypatch.setattr(pandoc, "_convert", lambda folder, *args, **kw: runs.append(folder.name) or real(folder, *args, **kw))
    batch = convert_batch([(plain, None), (pictured, None, (figure,)), (plain, None)])
    assert runs == ["batch"]
    media = [name for name in zipfile.ZipFile(io.BytesIO(batch[1].docx)).namelist() if name.startswith("word/media/")]
    assert len(media) == 1
    assert "Figure 1 pH" in zipfile.ZipFile(io.BytesIO(batch[1].docx)).read("word/document.xml").decode("utf-8")
    for index in (0, 2):
        assert not any(name.startswith("word/media/") for name in zipfile.ZipFile(io.BytesIO(batch[index].docx)).namelist())
        assert finish_docx(batch[index].docx, META) == finish_docx(_alone(plain), META)
    # a note (which the cut finds only in pandoc's output) still sends the rest through a second run
    noted = "# 3.2.P.2 Pharmaceutical Development\n\nText with a note.[^1]\n\n[^1]: The text of the note.\n"
    runs.clear()
    mixed = convert_batch([(plain, None), (pictured, None, (figure,)), (noted, None)])
    assert runs == ["batch", "again"]
    assert "The text of the note." in zipfile.ZipFile(io.BytesIO(mixed[2].docx)).read("word/footnotes.xml").decode("utf-8")
    assert zipfile.ZipFile(io.BytesIO(mixed[1].docx)).read(media[0]) == _png()
    assert finish_docx(mixed[0].docx, META) == finish_docx(_alone(plain), META)

def test_written_documents_do_not_depend_on_their_batch():
    """DOCX and PDF bytes are the same written alone or among others (determinism across cache states)."""
    documents = _tablet_documents()[:4]
    jobs = [(md, META, PdfMeta(META.title, META.subject, META.header, "en", toc=True)) for md in documents]
    together = write_documents(jobs)
    for job, written in zip(jobs, together):
        assert write_documents([job])[0] == written


EPOCH = 1795737600


def _jobs_and_bytes(count: int) -> tuple[list, list]:
    """The first `count` tablet documents as write jobs, and what one process writes for them."""
    documents = _tablet_documents()[:count]
    jobs = [(md, META, PdfMeta(META.title, META.subject, META.header, "en", toc=False)) for md in documents]
    return jobs, write_documents(jobs, epoch=EPOCH)


@contextmanager
def _writer(folder: Path, workers: int, kept=None):
    """A DocumentWriter with its cache and blob store in folder, dated at EPOCH (kept: write.Writers)."""
    from dossiergen.cache import DocumentCache, using_store
    from dossiergen.write import DocumentWriter

    with DocumentWriter(DocumentCache(folder / "cache"), workers, store=folder / "blobs", kept=kept) as writer, \
            using_store(folder / "blobs"):
        writer.epoch = EPOCH
        yield writer


def _written(placed: list) -> list:
    """The DOCX bytes, PDF bytes and page count of each placed document."""
    from dossiergen.cache import content

    return [(content(docx), content(pdf), pages) for docx, pdf, pages in placed]


def test_writers_of_a_large_build_are_replaced_after_each_batch_and_write_the_same_bytes(tmp_path, monkeypatch):
    """When the documents submitted until the build's size is known (`sized`: a quarter of its first
    market) fill more than a full batch per writer (a large dossier: BATCH_LIMIT), the writers that
    started on the first ones finish and leave, and each later writer process is replaced after one
    batch (its typst memo cache, which cannot be cleared, is let go before the next batch's pandoc
    run: issue 19, memory); the documents are the bytes one process writes. An ordinary build keeps
    its writers, and so does one whose large documents come after its size is known."""
    import dossiergen.write as write

    jobs, expected = _jobs_and_bytes(4)
    ordinary = write.BATCH_LIMIT
    for case, recycled in (("large", 1), ("ordinary", None), ("large after sized", None)):
        monkeypatch.setattr(write, "BATCH_LIMIT", ordinary)
        (tmp_path / case).mkdir()
        with _writer(tmp_path / case, 1) as writer:
            first = writer.submit(jobs[:2], spread=1)  # small: the writer is kept so far
            started = writer.pool
            if case == "large after sized":
                writer.sized()
            if case != "ordinary":
                monkeypatch.setattr(write, "BATCH_LIMIT", 1)  # the next documents fill more than a batch
            rest = writer.submit(jobs[2:], hold=False)
            writer.sized()
            assert writer.pool._max_tasks_per_child == recycled
            assert (writer.pool is started) == (recycled is None) and writer.retired == ([started] if recycled else [])
            placed, fresh = writer.collect(first + rest)
        assert fresh == len(jobs)
        assert _written(placed) == expected


def _pids(pool) -> set[int]:
    return {process.pid for process in pool._processes.values()}


def test_writers_kept_between_builds_are_the_same_processes_and_write_the_same_bytes(tmp_path):
    """`dossiergen watch` keeps its writer processes from one build to the next (write.Writers): the next
    build takes the same processes (started, fonts read, pandoc running: issue 19) without getting them
    ready again, and its documents are the bytes one process writes; leaving the Writers stops them."""
    from dossiergen.write import Writers

    jobs, expected = _jobs_and_bytes(3)
    with Writers() as writers:
        with _writer(tmp_path / "first", 1, writers) as writer:
            writer.collect(writer.submit(jobs[:1], hold=False))
        pool = writers.pool
        first = _pids(pool)
        assert pool is not None and len(first) == 1 and all(p.is_alive() for p in pool._processes.values())
        with _writer(tmp_path / "second", 1, writers) as writer:  # another cache: every document is written
            keys = writer.submit(jobs, hold=False)
            assert writer.pool is pool and not writer.warming
            placed, fresh = writer.collect(keys)
        assert writers.pool is pool and _pids(pool) == first and writers.builds == 2
        processes = list(pool._processes.values())
    assert fresh == 3 and _written(placed) == expected
    assert writers.pool is None and not any(process.is_alive() for process in processes)


def test_kept_writers_are_let_go_after_a_failed_build_a_large_one_and_keep_builds(tmp_path, monkeypatch):
    """The kept writers stop with a build that fails (what they had not started is dropped) and with one
    that turns out large (its writers are replaced after each batch); they are replaced after KEEP_BUILDS
    builds (typst's memo grows with each). The next build starts new ones and writes the same bytes."""
    import dossiergen.write as write
    from dossiergen.write import Writers

    jobs, expected = _jobs_and_bytes(2)
    with Writers() as writers:
        with pytest.raises(RuntimeError):
            with _writer(tmp_path / "failed", 1, writers) as writer:
                writer.submit(jobs, hold=False)
                failed = list(writers.pool._processes.values())
                raise RuntimeError("the build failed while its documents were written")
        assert writers.pool is None and not any(process.is_alive() for process in failed)

        monkeypatch.setattr(write, "BATCH_LIMIT", 1)  # every document fills more than a batch: a large build
        with _writer(tmp_path / "large", 1, writers) as writer:
            placed, _ = writer.collect(writer.submit(jobs, hold=False))
            assert writer.recycle == 1 and writers.pool is None
        assert _written(placed) == expected
        monkeypatch.setattr(write, "BATCH_LIMIT", 250_000)

        monkeypatch.setattr(Writers, "KEEP_BUILDS", 2)
        pools = []
        for build in range(3):
            with _writer(tmp_path / f"kept-{build}", 1, writers) as writer:
                placed, _ = writer.collect(writer.submit(jobs, hold=False))
                pools.append(writer.pool)
            assert _written(placed) == expected
        assert pools[0] is pools[1] and pools[2] is not pools[1]  # let go after its second build
        assert writers.pool is pools[2] and writers.builds == 1

        for process in list(pools[2]._processes.values()):  # a writer killed between builds (out of memory, say)
            os.kill(process.pid, signal.SIGKILL)
            process.join(10)
        for _ in range(100):  # the pool sees it die
            if getattr(pools[2], "_broken", False):
                break
            time.sleep(0.05)
        with _writer(tmp_path / "after-kill", 1, writers) as writer:
            placed, _ = writer.collect(writer.submit(jobs, hold=False))
            assert writer.pool is not pools[2]
        assert _written(placed) == expected


def test_writers_keep_their_pandoc_unless_the_build_may_turn_out_large(tmp_path, monkeypatch):
    """A writer keeps its pandoc for its next batch after the build's size is known (sized) in an ordinary
    build, from the start in a build that has handed over only a few small documents (a build after a small
    change) or whose writers were kept from an earlier build, and never while a larger build may still turn
    out large (its first writers would hold pandoc's memory beside their replacements), nor once it has."""
    import dossiergen.write as write
    from dossiergen.write import SMALL_BUILD, Writers

    jobs, _ = _jobs_and_bytes(2)
    with Writers() as writers:
        with _writer(tmp_path / "small", 1, writers) as writer:
            keys = writer.submit(jobs[:1], hold=False)
            keys += writer.submit(jobs[1:], hold=False)  # a second hand-over to the same (new) writers
            assert not writer.warm and writer.sizing and writer.characters <= SMALL_BUILD and writer._keeps_pandoc()
            writer.characters = SMALL_BUILD + 1  # more handed over, size not yet known: new writers let it go
            assert not writer._keeps_pandoc()
            writer.sized()
            assert writer._keeps_pandoc()  # an ordinary build
            writer.collect(keys)
        with _writer(tmp_path / "kept", 1, writers) as writer:
            keys = writer.submit(jobs, hold=False)
            writer.characters = SMALL_BUILD + 1
            assert writer.warm and writer.sizing and writer._keeps_pandoc()  # writers kept from the last build
            writer.collect(keys)
    monkeypatch.setattr(write, "BATCH_LIMIT", 1)
    with _writer(tmp_path / "large", 1) as writer:
        writer.collect(writer.submit(jobs, hold=False))
        writer.sized()
        assert writer.recycle == 1 and not writer._keeps_pandoc()


def test_batches_the_first_writers_had_not_started_go_to_the_replaced_writers(tmp_path, monkeypatch):
    """When the build turns out large, a batch the first (kept) writers had not started is taken back
    and written by the writers that are replaced after each batch (the two kinds work side by side
    only briefly: memory); every document is written once, with the bytes one process writes."""
    import dossiergen.write as write

    jobs, expected = _jobs_and_bytes(4)
    gate = tmp_path / "gate"
    with _writer(tmp_path, 1) as writer:
        # The one writer is held busy until the gate opens, so that the third batch has certainly not
        # started when the build turns out large. (Left free, the writer takes the first batch as soon as
        # it has started, and the executor then moves the third into its call queue, where it counts as
        # started and cannot be taken back: whether it had, depended on how fast the writer started.)
        pool, _ = writer._pool()
        busy = pool.submit(subprocess.run, ["sh", "-c", f"until [ -e '{gate}' ]; do sleep 0.01; done"], timeout=120)
        try:
            keys = [writer.submit([job], hold=False)[0] for job in jobs[:3]]  # the writer is busy: the third waits
            waiting = writer.pending[keys[2]]
            monkeypatch.setattr(write, "BATCH_LIMIT", 1)
            keys += writer.submit(jobs[3:], hold=False)
            assert waiting.cancelled() and writer.pending[keys[2]] is not waiting
            assert writer.pool._max_tasks_per_child == 1 and len(writer.retired) == 1
        finally:
            gate.touch()
        assert busy.result(timeout=120).returncode == 0
        placed, fresh = writer.collect(keys)
    assert fresh == 4 and writer.submitted == 4
    assert _written(placed) == expected


def test_a_few_documents_kept_back_while_the_writers_are_busy_are_all_written(tmp_path):
    """A market's few new documents wait for the next submission while every writer is busy (one
    pandoc start-up for more documents: issue 19); collecting starts them, and nothing is lost: each is
    written once, as one process writes it, and counted as written."""
    jobs, expected = _jobs_and_bytes(4)
    with _writer(tmp_path, 1) as writer:
        first = writer.submit(jobs[:1])
        assert not writer._busy() and not writer.held  # a writer with one batch takes the next at once
        first += writer.submit(jobs[1:2])
        assert writer._busy()  # a batch takes far longer than the next call
        rest = writer.submit(jobs[2:])
        assert len(writer.held) == 2 and writer.submitted == 2
        assert writer.submit(jobs[2:]) == rest and len(writer.held) == 2  # asked again: still kept once
        placed, fresh = writer.collect(first + rest)
        assert not writer.held and writer.submitted == 4
    assert fresh == 4
    assert _written(placed) == expected


def test_title_and_header_from_the_data_stay_text_in_the_pdf():
    pdftotext = require_tool("pdftotext")
    header = "Lot #3 *bold* [x] $5 @ref <a> // `tick` \\ end"
    meta = PdfMeta(title=f"3.2.P.1 {header}", subject="s", header=header, lang="en", toc=False)
    source = convert_batch([("# 3.2.P.1 Description\n\nBody text.\n", typst_settings(meta))])[0].typst
    assert "Lot \\#3 \\*bold\\*" in source
    pdf, pages = typeset_pdf(source, meta)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        text = subprocess.run([pdftotext, file.name, "-"], capture_output=True, text=True, check=True).stdout
    assert header in text and pages == 1
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert str(opened.docinfo["/Title"]) == f"3.2.P.1 {header}"


@pytest.mark.parametrize("lang, tag", [("en", "en-US"), ("zh", "zh-CN")])
def test_subject_and_language_from_the_data_reach_the_pdf_metadata_as_written(lang, tag):
    """typst writes the subject (a string literal in the source, never markup) and the language
    into the Info dictionary and the PDF/A XMP, which agree (PDF/A-2b: ISO 19005-2, 6.6.2.3); the
    finished PDF is linearised and opens with its bookmarks."""
    subject = r'Lot #3 ") #panic("x") ] [x] \ \n $5 @ref <a> // 药品 \u{41}'
    meta = PdfMeta(title="3.2.P.1 Description", subject=subject, header="h", lang=lang, toc=False)
    source = convert_batch([("# 3.2.P.1 Description\n\nBody text.\n", typst_settings(meta))])[0].typst
    pdf, _ = typeset_pdf(source, meta)
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert str(opened.docinfo["/Subject"]) == subject and str(opened.Root.Lang) == tag
        assert opened.is_linearized and opened.Root.PageMode == pikepdf.Name.UseOutlines
        xmp = opened.open_metadata()
        assert xmp["dc:description"] == subject and xmp["dc:title"] == str(opened.docinfo["/Title"])
        assert xmp["dc:language"] == {tag} and xmp["pdfaid:part"] == "2" and xmp["pdfaid:conformance"] == "B"
        assert xmp["pdf:PDFVersion"] == opened.pdf_version


def test_markets_built_in_one_run_share_their_core_documents(tmp_path):
    """us and eu in one run (marketing: at IND the EU gets an IMPD): the English core is written once,
    and both sequences carry the same bytes."""
    source = CASES / "minimal" / "dossier"
    us, eu = build_dossiers(source, ("us", "eu"), "marketing", tmp_path, final=False)
    us_docs = {e["pdf"]: e for e in us.manifest["documents"]}
    eu_docs = {e["pdf"]: e for e in eu.manifest["documents"]}
    shared = [path for path, e in us_docs.items() if e["kind"] == "module3" and path in eu_docs]
    assert shared and all(us_docs[p]["pdf_sha256"] == eu_docs[p]["pdf_sha256"] for p in shared)
    assert all(us_docs[p]["docx_sha256"] == eu_docs[p]["docx_sha256"] for p in shared)
    eu_own = sum(1 for e in eu_docs.values() if e["pdf_sha256"] not in {u["pdf_sha256"] for u in us_docs.values()})
    assert f"; {eu_own} written, " in eu.summary


def test_libreoffice_engine_gives_a_checked_reproducible_sequence(tmp_path):
    """--pdf-engine libreoffice: PDFs that look like the DOCX, pass the technical check, keep
    cross-document links relative, open with bookmarks, and repeat byte for byte."""
    require_tool("soffice")
    source = CASES / "minimal" / "dossier"
    first, again = (build_dossiers(source, ("us",), "ind", tmp_path / name, final=False, pdf_engine="libreoffice")[0]
                    for name in ("one", "two"))
    folder = tmp_path / "one" / "us" / "ind"
    assert first.manifest["pdf_engine"].startswith("LibreOffice")
    assert [f.format() for f in check_build(folder) if f.severity == "error"] == []
    assert [(e["pdf"], e["pdf_sha256"]) for e in first.manifest["documents"]] == \
           [(e["pdf"], e["pdf_sha256"]) for e in again.manifest["documents"]]
    entry = next(e for e in first.manifest["documents"] if e["section"] == "3.2.S.4.4")
    with pikepdf.open(folder / entry["pdf"]) as pdf:
        assert "LibreOffice" in str(pdf.docinfo["/Producer"])
        assert str(pdf.Root.Lang) == "en-US" and str(pdf.docinfo["/Subject"]) == pdf.open_metadata()["dc:description"] != ""
        assert pdf.Root.PageMode == pikepdf.Name.UseOutlines
        with pdf.open_outline() as outline:
            assert [item.title for item in outline.root] == ["3.2.S.4.4 Batch Analyses"]
        links = [a.A for page in pdf.pages for a in page.get("/Annots", []) if a.A.S == pikepdf.Name.GoToR]
        assert links and all((folder / entry["pdf"]).parent.joinpath(str(a.F)).is_file() for a in links)


def test_each_build_dates_its_documents_with_its_own_build_time(tmp_path, monkeypatch):
    """Writer processes outlive a build (they fork from a server): the build time travels with
    the work, so a second build at another time is dated at that time."""
    source = CASES / "minimal" / "dossier"
    dates = []
    for epoch, name in (("1795737600", "first"), ("1798761600", "second")):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        result = build_dossiers(source, ("us",), "ind", tmp_path / name, final=False)[0]
        entry = result.manifest["documents"][0]
        with zipfile.ZipFile(tmp_path / name / "us" / "ind" / entry["docx"]) as docx:
            core = docx.read("docProps/core.xml").decode("utf-8")
        dates.append(core.split("<dcterms:modified", 1)[1].split(">", 1)[1][:10])
        with pikepdf.open(tmp_path / name / "us" / "ind" / entry["pdf"]) as pdf:
            assert str(pdf.docinfo["/CreationDate"]).startswith("D:" + dates[-1].replace("-", ""))
    assert dates == ["2026-11-27", "2027-01-01"]


def _pdf_words(pdf: bytes) -> list[tuple[int, str, float, float, float, float]]:
    """Return (page, word, x0, y0, x1, y1) in mm from the top-left corner for every word of a PDF."""
    import html
    import re

    pdftotext = require_tool("pdftotext")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        out = subprocess.run([pdftotext, "-bbox", file.name, "-"], capture_output=True, text=True, check=True).stdout
    words, page = [], 0
    mm = 25.4 / 72
    for line in out.splitlines():
        if "<page " in line:
            page += 1
        found = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if found:
            x0, y0, x1, y1 = (float(found.group(i)) * mm for i in range(1, 5))
            words.append((page, html.unescape(found.group(5)), x0, y0, x1, y1))
    return words


def _pdf_text(pdf: bytes, *options: str) -> str:
    pdftotext = require_tool("pdftotext")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        return subprocess.run([pdftotext, *options, file.name, "-"], capture_output=True, text=True, check=True).stdout


LONG_NAME = "4-[(3S)-3-(dimethylamino)pyrrolidin-1-yl]-N-[5-[2-(2,6-difluoro-3,5-dimethoxyphenyl)ethyl]-1H-pyrazol-3-yl]benzamide"


def test_table_words_break_without_changing_the_text_layer():
    """Terms with - and / are found as written (no zero-width spaces, no minus signs, not split
    over two lines), and a long chemical name still breaks inside its narrow column."""
    terms = ["SE-HPLC", "CE-SDS", "Long-term", "X-MuLV", "mg/mL", "SV-VCT-001-25", "25-°C/60-%"]
    rows = "\n".join(f"| {term} | {LONG_NAME if i == 0 else 'x'} | Purity by {term} (2,6-difluoro) |" for i, term in enumerate(terms))
    markdown = ("# 3.2.S.4.1 Specification\n\nLong-term storage of SE-HPLC samples at −20 °C.\n\n"
                f"| Test | Name | Method |\n|:---|:---|:------|\n{rows}\n\n: Table 1 Tests\n")
    meta = PdfMeta(title="3.2.S.4.1 Specification", subject="s", header="h", lang="en", toc=False)
    source = convert_batch([(markdown, typst_settings(meta))])[0].typst
    pdf, _ = typeset_pdf(source, meta)
    for options in ((), ("-layout",), ("-raw",)):
        text = _pdf_text(pdf, *options)
        assert "\u200b" not in text and "\u2212" not in text.replace("−20", "")
        for term in terms + ["Long-term storage", "(2,6-difluoro)"]:
            assert term in text, (options, term)
    words = _pdf_words(pdf)
    method_left = min(x0 for _, word, x0, *_ in words if word == "Method")
    name_words = [w for w in words if "dimethylamino" in w[1] or "benzamide" in w[1] or "pyrazol" in w[1]]
    assert len({round(w[3]) for w in name_words}) >= 2, "the long name breaks over several lines"
    assert all(x1 < method_left for _, _, _, _, x1, _ in name_words), "the long name stays inside its column"



def test_an_identifier_with_escaped_underscores_gets_its_whole_width_and_stays_in_its_column():
    """An authorisation number such as DE_BY_04_MIA_2020_0087 reaches the Markdown with its underscores
    escaped; its column is measured for all of it (the escapes were once read as emphasis and the
    underscores dropped, so the column was measured for DEBY04MIA20200087 and the number ran into the
    next one, in the EU QP declaration's Part B). Emphasis is still not measured."""
    from dossiergen import tables
    from dossiergen.render import PORTRAIT_PT, TABLE_PT, _finalize

    number = "DE_BY_04_MIA_2020_0087"
    assert tables.plain_cell(_finalize(number)) == number
    assert tables._cell_room(_finalize(number), False)[0] == tables.em_width(number)
    assert tables.plain_cell("**Auenwald** *GmbH*, a \\* b") == "Auenwald GmbH, a * b"
    cells = [["MIA site", "MIA number", "Manufacturing activity"],
             [_finalize("Auenwald Parenteral GmbH, Bad Aibling Sterile Manufacturing Site, Building 7 (aseptic filling "
                        "lines F2 and F3), Am Kirchberg 12, 83043 Bad Aibling, DE"), _finalize(number),
              _finalize("Use of the active substance as a starting material; QP certification of finished batches")]]
    size = TABLE_PT["en"]
    shares, fits = tables.column_widths(cells, [3, 2, 2], PORTRAIT_PT / size, 2 * tables.CELL_PAD_PT / size)
    assert fits
    rows = ["| " + " | ".join(row) + " |" for row in cells]
    markdown = ("# 1.2 QP declaration\n\n" + rows[0] + "\n|" + "|".join(":" + "-" * round(100 * share) for share in shares)
                + "|\n" + rows[1] + "\n\n: Table 1.2-2 MIAHs\n")
    meta = PdfMeta(title="1.2 QP declaration", subject="s", header="h", lang="en", toc=False)
    pdf, _ = typeset_pdf(convert_batch([(markdown, typst_settings(meta))])[0].typst, meta)
    words = _pdf_words(pdf)
    (found,) = [w for w in words if w[1] == number]
    activity = min(x0 for _, word, x0, *_ in words if word == "Use")  # where the third column's text starts
    assert found[4] < activity, "the number stays inside its column"


def test_a_number_and_unit_wider_than_their_column_break_inside_it():
    """A number and its unit stay together (a no-break space) where they fit; in a column too narrow
    for them ('≤ 1090 ppm' in a Chinese limit column) they break between them rather than overrun
    the next column; a wide column keeps them on one line."""
    markdown = ("# 3.2.S.3.2 杂质\n\n| 杂质 | 限度 | 控制 |\n|:------------|:-|:------------------------------|\n"
                "| N,N-二甲基乙酰胺 | ≤ 1090 ppm | 原液质量标准 |\n\n: 表 1 杂质\n\n"
                "| 杂质 | 限度 |\n|:----|:-----------|\n| N,N-二甲基乙酰胺 | ≤ 1090 ppm |\n\n: 表 2 杂质\n")
    meta = PdfMeta(title="3.2.S.3.2 杂质", subject="s", header="h", lang="zh", toc=False)
    source = convert_batch([(markdown, typst_settings(meta))])[0].typst
    pdf, _ = typeset_pdf(source, meta)
    words = _pdf_words(pdf)
    control = min(x0 for _, word, x0, *_ in words if word.startswith("控制"))
    numbers = [w for w in words if "1090" in w[1]]
    units = [w for w in words if w[1].endswith("ppm")]
    assert len(numbers) == 2 and len(units) == 2
    first_number, first_unit = min(numbers, key=lambda w: w[3]), min(units, key=lambda w: w[3])
    assert first_unit[4] < control, "the unit stays inside the narrow column"
    assert first_unit[3] > first_number[3], "it goes to the next line of the cell"
    last_number, last_unit = max(numbers, key=lambda w: w[3]), max(units, key=lambda w: w[3])
    assert abs(last_unit[3] - last_number[3]) < 1, "in a wide column number and unit share a line"
    # in Chinese text (one word for the writers: no spaces), where typst breaks between the characters
    # anyway, a number keeps its unit: only a Latin stretch too wide for the column comes apart
    cjk = ("# 3.2.P.1 组成\n\n| 组分 | 作用 | 标准 |\n|:------|:----|:--------|\n"
           "| 盐酸维卡替尼 | 活性成分（来自Sarvana生命科学；26.82 mg 和 107.30 mg 分别相当于维卡替尼） | 企业内控 |\n\n: 表 1\n")
    source = convert_batch([(cjk, typst_settings(meta))])[0].typst
    assert "学；26.82~mg" in source and "107.30~mg" in source  # typst's no-break space

def test_ranges_minus_signs_units_and_scripts_print_right_in_docx_and_pdf():
    """'−18 to −12 °C' (a range with negative ends never reads '−18–−12' or '−18—12'), true minus
    signs, a no-break space between number and unit, CO2 and 10^3 as sub- and superscripts (Unicode
    ones such as 10⁶ stay as typed, in the text layer too)."""
    from dossiergen.render import labels
    from dossiergen.schema import units
    from dossiergen.tables import format_range, format_result

    assert format_range({"low": -18, "high": -12, "unit": "Cel"}, units(), "en") == "−18 to −12\u00a0°C"
    assert format_range({"low": -18, "high": -12, "unit": "Cel"}, units(), "zh") == "−18～−12\u00a0°C"
    assert format_range({"low": 2, "high": 8, "unit": "Cel"}, units(), "en") == "2–8\u00a0°C"
    assert format_result({"value": -0.5, "unit": "%"}, units(), "en", lambda key: labels()[key]["en"]) == "−0.5\u00a0%"
    markdown = ("# 3.2.S.2.2 Process\n\nIn a CO2 incubator at 1.0 × 10⁶ cells/mL and -20 °C; KD 8.0 × 10⁻⁵ s⁻¹;"
                " 10^3 CFU/g; flux 400 L/m²/h; batch VCT-SM1 in step 2-8 (IL-23).\n")
    meta = PdfMeta("3.2.S.2.2 Process", "s", "h", "en", toc=False)
    done = convert_batch([(markdown, typst_settings(meta))])[0]
    pdf, _ = typeset_pdf(done.typst, meta)
    text = " ".join(_pdf_text(pdf).split())
    for expected in ("CO2 incubator", "1.0 × 10⁶ cells/mL", "−20 °C", "8.0 × 10⁻⁵ s⁻¹", "103 CFU/g", "400 L/m²/h",
                     "VCT-SM1", "step 2-8 (IL-23)"):
        assert expected in text, expected
    body = zipfile.ZipFile(io.BytesIO(done.docx)).read("word/document.xml").decode("utf-8")
    assert body.count('w:vertAlign w:val="subscript"') == 1 and body.count('w:vertAlign w:val="superscript"') == 1
    assert "−20\u00a0°C" in body and "400\u00a0L/m²/h" in body and "CO2" not in body


_EDGE_CASES = """# 3.2.P.8.1 Stability at 5 °C and -20 °C

Stored at -20 °C in a CO2 incubator, 10^3 CFU/g, *emphasised 5 mg* and **Protein A** at 2-8 °C.
Quoted "-5 mg" and a back\\\\slash; Type I glass; 1.0 × 10⁶ cells/mL.

| Test | Method | Result |
|:---|:---|:---|
| pH | Ph. Eur. 2.2.3 | 6.0 |
| Purity | SE-HPLC | ≥ 95.0 % |
| CO2 | *emph 5 mg* | -0.5 % |
| "Quoted -5" | back\\\\slash 10^3 | 25 °C/60 % RH |
| Water | KF | 0.5 mg/mL (2,6-difluoro) |

: Table 1 Results at -20 °C and 5 mg

::: landscape
| Batch | 0 months | 3 months | 6 months | 9 months | 12 months | 18 months | 24 months |
|:---|:---|:---|:---|:---|:---|:---|:---|
| VCT-SM1 | 98.9 % | 98.7 % | -0.1 % | 2–8 °C | Protein A洗脱液 | 4-[(3S)-3-(dimethylamino)pyrrolidin-1-yl]-N-[5-[2-(2,6-difluoro-3,5-dimethoxyphenyl)ethyl]-1H-pyrazol-3-yl]benzamide | 10 mg |

: Table 2 Long-term 25 °C/60 % RH
:::

+-----------+------------------+
| Grid      | Cell             |
+===========+==================+
| two       | First para 5 mg. |
| rows      |                  |
|           | Second -3 °C.    |
+-----------+------------------+

<div class="note">In a div: 5 mg and CO2.</div>

- item at -20 °C
- item with H2O and 10^-5

Term 5 mg
:   Definition at 2-8 °C.

![A figure not from the dossier](figure.png)
"""


def test_shortcuts_in_convert_lua_change_no_byte():
    """convert.lua skips the paragraphs, table cells and walks where nothing changes, reading them
    from their JSON text first: the DOCX and typst source are the same bytes as walking through
    everything, for edge cases (emphasis and quotes in cells, captions, landscape and grid
    tables, divs, lists, a long paragraph, a guarded image) and for rendered Chinese and English
    documents with landscape tables."""
    long_paragraph = "# 3.2.R Long\n\n" + " ".join(f"word{i} 5 mg -{i}" for i in range(800)) + "\n"
    tablets = ROOT / "examples" / "velcratinib-tablets"
    rendered = [r for market, prefix in (("cn", "3.2.P.8"), ("us", "3.2.P.5"))
                for r in render_folder(tablets, market, "ind", prefix) if not r.attachments]
    assert any("landscape" in r.markdown for r in rendered) and any(r.document.number.startswith("3.2.P.8") for r in rendered)
    documents = [_EDGE_CASES, long_paragraph] + [r.markdown for r in rendered]
    meta = PdfMeta("3.2.P.8.1 Stability", "s", "h", "en", toc=False)
    settings = typst_settings(meta)

    def run(exhaustive: bool) -> tuple[list[bytes | None], list[str]]:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "batch"
            docx = _convert(folder, [pandoc_job(md, settings) for md in documents], alone=set(), exhaustive=exhaustive)
            return docx, [(folder / f"{i}.typ").read_text("utf-8") for i in range(len(documents))]

    fast, slow = run(False), run(True)
    assert all(docx is not None for docx in fast[0])
    assert fast == slow
    source = fast[1][0]  # what the shortcuts leave to do is done: in cells of words, emphasis, quotes, captions
    for done in ("[CO#sub[2]], [#emph[emph 5~mg]], [−0.5~%],", '[\\"Quoted −5\\"]', "[#box[SE\\-HPLC];]",
                 "caption: [Table 1 Results at −20~°C and 5~mg]", "#landscape[", "[#box[VCT\\-SM1];]", "[−0.1~%]",
                 "Second −3~°C.", "10#super[−5]", "#emph[A figure not from the dossier (figure.png)]"):
        assert done in source, done
    body = zipfile.ZipFile(io.BytesIO(fast[0][0])).read("word/document.xml").decode("utf-8")
    assert "−0.5\u00a0%" in body and "0.5\u00a0mg/mL" in body and "Protein\u00a0</w:t>" in body and "(figure.png)" in body


@pytest.fixture
def kept_pandoc(monkeypatch):
    """This process keeps a pandoc between batches, as a writer does (write._writer_started); stopped after."""
    from dossiergen.write import pandoc

    monkeypatch.setattr(pandoc, "KEEP", True)
    yield
    pandoc.stop_pandoc()


def _server_pid():
    from dossiergen.write import pandoc

    return None if pandoc._server is None else pandoc._server.process.pid


def test_one_pandoc_converts_the_batches_of_a_process_as_a_pandoc_of_their_own_does(monkeypatch, request):
    """A writer process keeps one pandoc for its batches (issue 19: a new one per batch cost about 50 ms),
    and what it makes is what a pandoc started for the batch alone makes; a process that is not a
    writer (the build's own, converting its readiness reports) keeps none."""
    from dossiergen.write import pandoc

    documents = _tablet_documents()[:4]
    convert_batch([(documents[0], None)])
    assert _server_pid() is None
    request.getfixturevalue("kept_pandoc")  # from here on, as in a writer
    meta = PdfMeta(META.title, META.subject, META.header, "en", toc=False)
    first = convert_batch([(md, typst_settings(meta)) for md in documents[:2]])
    pid = _server_pid()
    second = convert_batch([(md, typst_settings(meta)) for md in documents[2:]])
    assert pid is not None and _server_pid() == pid  # the same process converted both batches
    monkeypatch.setattr(pandoc, "_run", lambda command, batch, folder: pandoc._run_once(
        [*command, str(batch), str(folder)], folder, {**os.environ, "SOURCE_DATE_EPOCH": str(int(pandoc.now().timestamp()))}))
    alone = convert_batch([(md, typst_settings(meta)) for md in documents])
    assert [(c.docx, c.typst) for c in first + second] == [(c.docx, c.typst) for c in alone]


def test_a_failed_stopped_or_slow_pandoc_is_a_tool_error_and_the_next_batch_converts(tmp_path, monkeypatch, kept_pandoc):
    """A batch pandoc cannot read, a pandoc killed between batches, one that answers something else, and
    a batch past the time limit: all but the killed one are exit-4 tool errors that say what happened
    (none is waited on while it runs), and the next batch is converted by a new pandoc."""
    from dossiergen.errors import ToolError
    from dossiergen.write import pandoc

    text = "# 3.2.P.1 Description\n\nBody text.\n"
    expected = convert_batch([(text, None)])[0].docx
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "batch.json").write_text("{not json", "utf-8")
    with pytest.raises(ToolError) as failed:
        pandoc._run([pandoc.check_pandoc(), *pandoc.RTS, "lua", str(pandoc.SCRIPT)], folder / "batch.json", folder)
    assert failed.value.problems[0].code == "write.pandoc_failed"
    assert convert_batch([(text, None)])[0].docx == expected

    os.kill(_server_pid(), signal.SIGKILL)  # stopped between batches (say, by the kernel's OOM killer)
    assert convert_batch([(text, None)])[0].docx == expected

    fake = ["sh", "-c", "read request; echo hello; sleep 300"]  # answers something else, and stays
    with pytest.raises(ToolError) as odd:
        pandoc._run(fake, folder / "batch.json", folder)
    assert "pandoc answered 'hello'" in odd.value.problems[0].message and _server_pid() is None  # stopped, not waited on
    assert convert_batch([(text, None)])[0].docx == expected

    monkeypatch.setattr(pandoc, "PANDOC_TIMEOUT", 0.001)
    pid = _server_pid()
    with pytest.raises(ToolError) as slow:
        convert_batch([("\n\n".join(_tablet_documents()), None)])
    assert slow.value.problems[0].code == "write.pandoc_timeout"
    assert pid not in descendants(os.getpid())  # stopped, not left converting
    monkeypatch.setattr(pandoc, "PANDOC_TIMEOUT", 900)
    assert convert_batch([(text, None)])[0].docx == expected


def test_an_idle_writer_gets_ready_and_the_documents_are_the_same_bytes(tmp_path):
    """When the first batch leaves a writer idle (a build after a small change), that writer gets ready
    for its first document (typst's fonts, pandoc) by writing a small document in both languages,
    which is dropped; its stages count in the build's, and what the writers write later is unchanged."""
    from dossiergen import stopwatch

    jobs, expected = _jobs_and_bytes(2)
    watch = stopwatch.reset()
    with _writer(tmp_path, 2) as writer:
        first = writer.submit(jobs[:1], hold=False)
        assert len(writer.warming) == 1
        writer.warming[0].result(timeout=300)
        second = writer.submit(jobs[1:], hold=False)
        assert len(writer.warming) == 1  # only the pool's first submission leaves writers idle
        placed, fresh = writer.collect(first + second)
    assert not writer.warming and fresh == 2
    assert watch.counts["convert"] == 1 + 2 + 1  # the two documents and the warm-up's two
    assert _written(placed) == expected
