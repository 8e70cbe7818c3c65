"""Markdown -> pandoc DOCX and typst source for a batch of documents, in one `pandoc lua`
process (convert.lua). The DOCX and PDF writers finish what pandoc starts."""

from __future__ import annotations

import functools
import json
import os
import select
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .. import stopwatch
from ..clock import now
from ..environment import check_pandoc
from ..errors import Problem, ToolError
from ..outputs import temp_prefix
from ..paths import TEMPLATES
from .layout import LANDSCAPE, MM_PER_PT, PORTRAIT
from .children import die_with_parent, run_child
from .split import split_docx

SCRIPT = Path(__file__).with_name("convert.lua")
MARKER = "\ue000dossiergen-document-"  # starts each document's part of a batch DOCX (private-use character)
LANDSCAPE_MARKER = "\ue000dossiergen-landscape-"  # + start / end: paragraphs around a landscape region (docx.py)
PANDOC_TIMEOUT = 900  # seconds for one batch (the largest example batch takes a few seconds)
RTS = ("+RTS", "-A64m", "-RTS")  # a larger allocation area: about 10% less of pandoc's time goes to garbage collection
REFERENCE = TEMPLATES / "module3" / "reference.docx"
TYPST_TEMPLATE = TEMPLATES / "module3" / "document.typ"
# Pandoc's Markdown without any way for text to become raw output (DESIGN.md §8).
MARKDOWN_IN = "markdown-raw_html-raw_attribute-raw_tex-tex_math_dollars-tex_math_single_backslash-smart-implicit_figures-auto_identifiers"

# Text widths (pt) that convert.lua fits table cells and words into.
LAYOUT = {"portrait_pt": PORTRAIT.text_width / MM_PER_PT, "landscape_pt": LANDSCAPE.text_width / MM_PER_PT}


@dataclass(frozen=True)
class TypstSettings:
    """Template variables of the typst source; those named in `escape` are data, escaped as text,
    and those named in `strings` are data given as typst string literals."""

    variables: tuple[tuple[str, str], ...]
    escape: tuple[str, ...]
    strings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Converted:
    """Pandoc's output for one document: the DOCX before finishing, and the typst source if asked."""

    docx: bytes
    typst: str | None


def convert_batch(jobs: list[tuple]) -> list[Converted]:
    """Return pandoc's DOCX (and typst source, where settings are given) for each Markdown text.

    The DOCX of the batch is written once and cut per document (split.py). A document the cut
    cannot carry (notes, images, comments) is converted alone; as what it carries is also in the
    batch's shared parts, the others are then cut from a second batch without it.

    A job is (markdown, settings) or (markdown, settings, attachments): the attachments
    (attach.Attachment) are written beside the batch and resolved by convert.lua."""
    jobs = [(job[0], job[1], job[2] if len(job) > 2 else ()) for job in jobs]
    with tempfile.TemporaryDirectory(prefix=temp_prefix("pandoc")) as tmp:
        files = _attachment_files(Path(tmp) / "attachments", [attachments for _, _, attachments in jobs])
        first = Path(tmp) / "batch"
        # A document with an image is known to be one the cut cannot carry (its picture is a part of
        # the package): it is converted alone from the start, not with the batch and then again, with
        # the rest of its batch, once the cut has failed (which doubled the conversion of every batch
        # holding a figure). The same test as convert.lua's: an image is only ever written `![`.
        expected = {index for index, (markdown, _, _) in enumerate(jobs) if "![" in markdown}
        docx = _convert(first, [_job(markdown, settings, found) for (markdown, settings, _), found in zip(jobs, files)],
                        alone=expected)
        typst = [_read_typst(first, index) for index in range(len(jobs))]
        alone = {index for index, found in enumerate(docx) if found is None}
        if alone:
            docx = _convert(Path(tmp) / "again", [_job(markdown, None, found) for (markdown, _, _), found in zip(jobs, files)],
                            alone | expected)
        return [Converted(d, t) for d, t in zip(docx, typst)]


def _convert(folder: Path, jobs: list[dict], alone: set[int], exhaustive: bool = False) -> list[bytes | None]:
    """Run convert.lua on the jobs in a new folder; return each DOCX (None where the cut failed).
    exhaustive: without convert.lua's shortcuts (the tests show they change nothing)."""
    folder.mkdir()
    for index in alone:
        jobs[index]["alone"] = True
    batch = folder / "batch.json"
    batch.write_text(json.dumps({"from": MARKDOWN_IN, "reference_doc": str(REFERENCE), "template": str(TYPST_TEMPLATE),
                                 "marker": MARKER, "landscape_marker": LANDSCAPE_MARKER, "layout": LAYOUT, "jobs": jobs,
                                 "programs": figure_programs(),
                                 "exhaustive": exhaustive}), "utf-8")
    _run([check_pandoc(), *RTS, "lua", str(SCRIPT)], batch, folder)
    errors = sorted(folder.glob("*.err"), key=lambda p: int(p.stem))
    if errors:
        raise _failed(errors[0].read_text("utf-8", "replace"))
    together = [index for index in range(len(jobs)) if index not in alone]
    docx = [None] * len(jobs)
    if together:
        for index, cut in zip(together, split_docx((folder / "combined.docx").read_bytes(), len(together), MARKER)):
            docx[index] = cut
    for index in alone:
        docx[index] = (folder / f"{index}.docx").read_bytes()
    return docx


def _job(markdown: str, settings: TypstSettings | None, attachments: dict | None = None) -> dict:
    typst = None if settings is None else {"variables": dict(settings.variables), "escape": list(settings.escape),
                                           "strings": list(settings.strings)}
    return {"markdown": markdown, "alone": False, "typst": typst, "attachments": attachments or {}}


@functools.cache
def figure_programs() -> dict[str, str]:
    """Return the typst programs that draw the project's figures in a PDF, by the attachment format
    that holds their input (attach.FORMATS): fixed code, defining dossiergen-trend and dossiergen-flow."""
    from .. import flow, plots

    return {"trend": plots.TREND_FUNCTION, "flow": flow.FLOW_FUNCTION}


def _attachment_files(folder: Path, per_job: list[tuple]) -> list[dict]:
    """Write each job's attachments into the folder; return per job {name: {format: path}}."""
    found = []
    for index, attachments in enumerate(per_job):
        paths = {}
        for attachment in attachments:
            for fmt, data in attachment.files:
                path = folder / str(index) / f"{attachment.name}.{fmt}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                paths.setdefault(attachment.name, {})[fmt] = str(path)
        found.append(paths)
    return found


def _run(command: list[str], batch: Path, folder: Path) -> None:
    """Convert the batch in its own folder (pandoc's working directory and resource path there:
    relative paths resolve there, never in the caller's folder), with a time limit, by this
    process's pandoc server (_Server) where it keeps one (KEEP), or else by a pandoc run of its own."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(int(now().timestamp()))}  # pandoc dates docProps from it
    line = f"{batch}\t{folder}\n"
    if not KEEP or os.name != "posix" or line.count("\t") != 1 or line.count("\n") != 1:  # or a folder name the request cannot carry
        return _run_once([*command, str(batch), str(folder)], folder, env)
    global _server
    with _SERVER_LOCK:
        key = (os.getpid(), tuple(command), env["SOURCE_DATE_EPOCH"])
        for attempt in (1, 2):
            if _server is not None and (_server.key != key or _server.process.poll() is not None):  # another build, or it died
                _server.stop()
                _server = None
            if _server is None:
                _server = _Server(key, [*command, "--serve"], env)
            try:
                _server.convert(line)
                break
            except _Stopped as stopped:  # it died: perhaps before this batch (killed while waiting), so once more
                _server.stop()
                _server = None
                if attempt == 2:
                    raise _failed(str(stopped)) from None
            except BaseException:  # the time limit or an interruption: the process may be mid-batch
                _server.stop()
                _server = None
                raise
    if (folder / "batch.err").exists():  # the batch failed as a whole (a job's failure is its own .err)
        raise _failed((folder / "batch.err").read_text("utf-8", "replace"))


KEEP = False  # whether this process keeps a pandoc between batches: a writer does (write._writer_started); the
# build's own process, which converts only its readiness reports, does not hold one for the whole build
_server: "_Server | None" = None  # this process's pandoc server (KEEP)
_SERVER_LOCK = threading.Lock()


def stop_pandoc() -> None:
    """Stop this process's pandoc server, if it has one (its memory is let go; the next batch starts another)."""
    global _server
    with _SERVER_LOCK:
        if _server is not None:
            _server.stop()
            _server = None


class _Server:
    """A `pandoc lua convert.lua --serve` process kept by a writer for all its batches: starting pandoc,
    its Lua state and the template for each batch cost about 50 ms (measured on the example's
    batches, issue 19). It converts one batch per request; it dies with the process that started it
    (or when that process closes its standard input), and a new one is started for another pandoc,
    another build time (SOURCE_DATE_EPOCH) or another process."""

    def __init__(self, key: tuple, command: list[str], env: dict[str, str]):
        self.key = key
        self.log = tempfile.TemporaryFile()  # its standard error: a pipe nobody reads could fill and stop it
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                            cwd=tempfile.gettempdir(), env=env, start_new_session=True,
                                            preexec_fn=die_with_parent)
        except OSError as exc:
            self.log.close()
            raise _failed(str(exc)) from exc
        stopwatch.kept_child(self.process.pid, True)  # its CPU counts in the stage that uses it (convert)

    def convert(self, line: str) -> None:
        """Have the batch named by the request line converted; raise _Stopped if pandoc ended, ToolError
        if it took longer than PANDOC_TIMEOUT."""
        start = self.log.seek(0, os.SEEK_END)
        try:
            self.process.stdin.write(line.encode("utf-8"))
            self.process.stdin.flush()
        except OSError:
            raise self._stopped(start) from None
        ready, _, _ = select.select([self.process.stdout], [], [], PANDOC_TIMEOUT)
        if not ready:
            raise _timed_out()
        answer = self.process.stdout.readline()
        if answer != b"done\n":  # it ended (b""), or wrote something else: stopped either way, never waited on alive
            raise self._stopped(start, answer)

    def _stopped(self, start: int, answer: bytes = b"") -> "_Stopped":
        """Stop the process; return what it said on its standard error since `start` (or its answer, or
        its exit status) as _Stopped."""
        self.log.seek(start)
        errors = self.log.read().decode("utf-8", "replace")
        self.stop()
        said = answer.decode("utf-8", "replace").strip()
        return _Stopped(errors or (f"pandoc answered {said[:200]!r}" if said else
                                   f"pandoc stopped (exit status {self.process.returncode})"))

    def stop(self) -> None:
        """Kill the process (it may be mid-batch) and wait for it; again, nothing happens."""
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        stopwatch.kept_child(self.process.pid, False)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.log):
            try:
                stream.close()
            except OSError:
                pass


class _Stopped(Exception):
    """A pandoc server ended without answering (its standard error, or its exit status)."""


def _run_once(command: list[str], folder: Path, env: dict[str, str]) -> None:
    """Run pandoc once on a batch in the batch's folder, with a time limit, dying with its parent."""
    try:
        done = run_child(command, cwd=folder, env=env, timeout=PANDOC_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise _timed_out() from exc
    except OSError as exc:
        raise _failed(str(exc)) from exc
    if done.returncode != 0:
        raise _failed(done.stderr.decode("utf-8", "replace"))


def _timed_out() -> ToolError:
    return ToolError("pandoc timed out", (Problem(
        "write.pandoc_timeout", f"pandoc did not finish a batch within {PANDOC_TIMEOUT} s and was stopped",
        hint="a document is too large to convert; split long tables or narratives"),))


def _read_typst(folder: Path, index: int) -> str | None:
    path = folder / f"{index}.typ"
    return path.read_text("utf-8") if path.exists() else None


def _failed(message: str) -> ToolError:
    return ToolError("pandoc failed", (Problem("write.pandoc_failed", message.strip()[:500],
                                               hint="reinstall with `make setup`; pandoc comes from pypandoc-binary"),))
