"""`dossiergen watch`: the dossier is built again when one of its files changes, with the writer
processes kept from one build to the next; bad input is reported and the previous output stays."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import FIXED_EPOCH, materialise_case
from dossiergen.watch import changed, settled, snapshot
from dossiergen.write.children import descendants


def _looks(steps: list):
    """A sleep for `settled` that makes the next change of `steps` (a callable, or None for none) at each
    look, and fails the test when the looks run out (settled would look for ever)."""
    pending = list(steps)

    def sleep(seconds: float) -> None:
        assert pending, "settled went on looking after the files had settled"
        step = pending.pop(0)
        if step is not None:
            step()
    return sleep, pending


def test_settled_returns_each_added_changed_and_removed_file_once_they_stay_the_same(tmp_path):
    (tmp_path / "keep.yaml").write_text("a: 1\n")
    (tmp_path / "edit.yaml").write_text("a: 1\n")
    (tmp_path / "gone.csv").write_text("x\n")
    before = snapshot([tmp_path])

    def edit():
        (tmp_path / "edit.yaml").write_text("a: 22\n")  # another size: a change whatever the clock says
        (tmp_path / "gone.csv").unlink()
        (tmp_path / "sub").mkdir()
        (tmp_path / "sub" / "new.csv").write_text("y\n")

    sleep, left = _looks([None, edit, None])
    after, paths = settled([tmp_path], before, 0.01, sleep)
    assert not left  # one look without a change, one with, one to see it stay
    assert paths == sorted(str(tmp_path / name) for name in ("edit.yaml", "gone.csv", "sub/new.csv"))
    assert after == snapshot([tmp_path]) and changed(before, after) == paths


def test_a_file_written_in_steps_is_acted_on_only_once_it_has_settled(tmp_path):
    """An editor's save or a spreadsheet's export writes in several steps: the watch waits for the files to
    stay the same for one more look, so that a build never reads a file half-written."""
    target = tmp_path / "results.csv"
    target.write_text("batch,test,value\n")
    before = snapshot([tmp_path])
    steps = [lambda: target.write_text("batch,test,value\nb1,"),
             lambda: target.write_text("batch,test,value\nb1,assay,99.1\n"),
             None]
    sleep, left = _looks(steps)
    after, paths = settled([tmp_path], before, 0.01, sleep)
    assert not left and paths == [str(target)]
    assert after[str(target)][0] == len("batch,test,value\nb1,assay,99.1\n")


def test_python_caches_are_not_inputs(tmp_path):
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (tmp_path / "a.yaml").write_text("a: 1\n")
    assert list(snapshot([tmp_path])) == [str(tmp_path / "a.yaml")]


class _Watch:
    """`dossiergen watch` in a process of its own, its standard error read line by line."""

    def __init__(self, folder: Path, out: Path):
        env = {**os.environ, "SOURCE_DATE_EPOCH": FIXED_EPOCH, "DOSSIERGEN_TODAY": "2026-11-27"}
        # Started as from a terminal, where Ctrl-C reaches it: a test run started in the background of a
        # shell (`make test &`, a CI step run with `nohup … &`) ignores SIGINT, and a process inherits an
        # ignored signal across exec, so the watch would never see the test's Ctrl-C. While this process
        # catches SIGINT, the child's exec resets it to the default, which Python turns into KeyboardInterrupt.
        ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).with_name("dossiergen")), "watch", "--dossier", str(folder), "--market",
                 "neutral", "--stage", "ind", "--out", str(out), "--interval", "0.1"],
                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
                start_new_session=True)  # its own process group: Ctrl-C in a terminal reaches the whole group
        finally:
            signal.signal(signal.SIGINT, ignored)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def until(self, text: str, timeout: float = 120) -> list[str]:
        """Return the lines printed until one that holds text (included)."""
        got, ends = [], time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, ends - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"`dossiergen watch` did not print {text!r} in {timeout} s; it printed:\n" + "\n".join(self.seen))
            got.append(line)
            self.seen.append(line)
            if text in line:
                return got


def test_watch_builds_again_after_a_change_keeps_the_output_on_bad_input_and_stops_on_ctrl_c(tmp_path):
    folder = materialise_case("minimal", tmp_path)
    out = tmp_path / "build"
    manifest = out / "neutral" / "ind" / "manifest.json"
    watch = _Watch(folder, out)
    try:
        first = watch.until("watching")
        assert any("46 documents in" in line and "46 written" in line for line in first), first
        writers = _writers(watch.process.pid)
        assert writers  # the fork server and the writers

        # one result changed: its documents are written again, by the writers of the first build
        results = folder / "results" / "dp.csv"
        results.write_text(results.read_text("utf-8").replace("b-dp-001,assay,100.4", "b-dp-001,assay,100.9"), "utf-8")
        again = watch.until("watching")
        assert any(line.startswith("changed: ") and "dp.csv" in line for line in again), again
        summary = next(line for line in again if "46 documents in" in line)
        assert " 0 written" not in summary and "46 written" not in summary  # some, not all
        assert writers <= _writers(watch.process.pid)  # the same processes: kept, not started again
        built = json.loads(manifest.read_text("utf-8"))
        assert "100.9" in _text_of(out / "neutral" / "ind", built, "3.2.P.5.4")

        # bad input: its problem, with file and line; the previous output stays as it was
        before = manifest.read_bytes()
        batches = folder / "batches.yaml"
        good = batches.read_text("utf-8")
        batches.write_text(good + "\n  bad: [unclosed\n", "utf-8")
        failed = watch.until("watching")
        assert any("batches.yaml:" in line and "error" in line for line in failed), failed
        assert any("the previous output is unchanged" in line for line in failed), failed
        assert manifest.read_bytes() == before

        # mended: the inputs are those of the output in place, which is up to date
        batches.write_text(good, "utf-8")
        mended = watch.until("watching")
        assert any("is up to date (46 documents" in line for line in mended), mended
        assert manifest.read_bytes() == before
    finally:
        os.killpg(watch.process.pid, signal.SIGINT)  # as Ctrl-C: the watch, its fork server and its writers
        try:
            code = watch.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(watch.process.pid, signal.SIGKILL)
            raise
    assert code == 0
    assert "watch stopped" in watch.until("watch stopped", timeout=10)[-1]
    time.sleep(0.5)  # what the writers might still print
    while not watch.lines.empty():
        watch.seen.append(watch.lines.get())
    assert not any("Traceback" in line or "KeyboardInterrupt" in line for line in watch.seen), watch.seen
    assert not [p for p in writers if _alive(p)], "writer processes outlived the watch"


def _writers(pid: int) -> set[int]:
    """The Python processes under pid: the fork server and the writers (not their pandoc)."""
    found = set()
    for child in descendants(pid):
        try:
            if "pandoc" not in Path(f"/proc/{child}/cmdline").read_bytes().decode("utf-8", "replace"):
                found.add(child)
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _text_of(folder: Path, manifest: dict, section: str) -> str:
    """The text of a section's DOCX in a build (its document.xml)."""
    import zipfile

    document = next(d for d in manifest["documents"] if d["section"] == section)
    with zipfile.ZipFile(folder / document["docx"]) as docx:
        return docx.read("word/document.xml").decode("utf-8")
