"""Reliability suite (issue 12): hostile input and broken environments give a located error or an
exit code with its fix, nothing outside the dossier is read or fetched, and output survives crashes.

One test (or a few) per class of attack; the slow process tests (kill, children, network) are at the end."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from conftest import FIXED_EPOCH, materialise_case, run_cli
from dossiergen.errors import ToolError
from dossiergen.load import load_dossier
from dossiergen.validate import validate_dossier
from dossiergen.write.children import descendants

CLI = str(Path(sys.executable).with_name("dossiergen"))


def _problems(folder: Path):
    return validate_dossier(load_dossier(folder, label="d"))


def _codes(folder: Path) -> list[tuple[str, str]]:
    return [(p.code, str(p.location)) for p in _problems(folder) if p.severity == "error"]


def _append_narrative(folder: Path, text: str) -> None:
    path = folder / "products" / "dp-minitab.yaml"
    path.write_text(path.read_text("utf-8").replace("    summary: Blend and compress.",
                                                    f"    summary: {json.dumps(text)}"), "utf-8")


# 1. Nothing outside the dossier is read ----------------------------------------------------------

def test_symlinked_yaml_outside_the_dossier_is_refused(minimal: Path, tmp_path: Path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("references:\n  - {id: leaked, citation: SECRET}\n")
    (minimal / "references.yaml").unlink()
    (minimal / "references.yaml").symlink_to(secret)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "ds-other.yaml").write_text("id: other\n")
    (minimal / "substances" / "more").symlink_to(outside)
    dossier = load_dossier(minimal, label="d")
    assert "references.yaml" not in dossier.files
    codes = [(p.code, str(p.location)) for p in dossier.problems]
    assert ("load.outside", "d/references.yaml") in codes
    assert ("load.outside", "d/substances/more") in codes
    assert "SECRET" not in json.dumps([f.data for f in dossier.files.values()])


def test_broken_and_looping_links_and_linked_figures_are_refused_alike(minimal: Path, tmp_path: Path):
    (minimal / "gone.yaml").symlink_to(minimal / "nowhere.yaml")
    (minimal / "loop-a.yaml").symlink_to(minimal / "loop-b.yaml")
    (minimal / "loop-b.yaml").symlink_to(minimal / "loop-a.yaml")
    (tmp_path / "flow.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (minimal / "flow.png").symlink_to(tmp_path / "flow.png")
    codes = [(p.code, str(p.location)) for p in load_dossier(minimal, label="d").problems]
    assert ("load.broken_link", "d/gone.yaml") in codes
    assert ("load.broken_link", "d/loop-a.yaml") in codes and ("load.broken_link", "d/loop-b.yaml") in codes
    assert ("load.outside", "d/flow.png") in codes


def test_symlink_inside_the_dossier_is_read_like_its_target(minimal: Path):
    (minimal / "notes").mkdir()
    shutil.move(minimal / "references.yaml", minimal / "notes" / "refs.yaml")
    (minimal / "references.yaml").symlink_to(Path("notes") / "refs.yaml")
    dossier = load_dossier(minimal, label="d")
    assert "references.yaml" in dossier.files


@pytest.mark.parametrize("target, code", [
    ("![flow](http://127.0.0.1:9/flow.png)", "narrative.url"),
    ("[source](file:///etc/passwd)", "narrative.url"),
    ("<https://example.org/x>", "narrative.url"),
    ("![flow](../../../etc/hostname)", "narrative.outside"),
    ("![flow](/etc/hostname)", "narrative.outside"),
    ("![flow](figures/none.png)", "narrative.missing_file"),
    ("[x]: //example.org/y", "narrative.url"),
])
def test_narrative_images_and_links_stay_in_the_dossier(minimal: Path, target: str, code: str):
    _append_narrative(minimal, f"Blend and compress.\n\n{target}")
    found = [p for p in _problems(minimal) if p.code.startswith("narrative.")]
    assert [(p.code, p.severity) for p in found] == [(code, "error")]
    assert str(found[0].location).startswith("d/products/dp-minitab.yaml:")


def test_narrative_image_of_a_dossier_file_is_checked_and_shown_as_text(minimal: Path):
    (minimal / "figures").mkdir()
    (minimal / "figures" / "flow.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    _append_narrative(minimal, "Blend and compress.\n\n![Flow diagram](figures/flow.png)")
    found = [(p.code, p.severity) for p in _problems(minimal) if p.code.startswith("narrative.")]
    assert found == [("narrative.image", "warning")]


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Recorder.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_writers_fetch_and_read_nothing(tmp_path: Path):
    """The last guard behind validation: an image in Markdown is neither fetched nor read by pandoc
    (DOCX, typst source), and typst's root is an empty folder."""
    from dossiergen.write.pandoc import convert_batch
    from dossiergen.write.pdf import PdfMeta, typeset_pdf, typst_settings

    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/x.png"
        (tmp_path / "local.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        markdown = f"# T\n\nText ![remote]({url}) and ![local]({tmp_path / 'local.png'}) and ![rel](local.png).\n"
        meta = PdfMeta("T", "S", "H", "en", False)
        done = convert_batch([(markdown, typst_settings(meta))])[0]
    finally:
        server.shutdown()
    assert _Recorder.requests == []
    body = zipfile.ZipFile(io.BytesIO(done.docx)).read("word/document.xml").decode()
    assert "remote" in body and url in body  # shown as text
    assert not any(name.startswith("word/media/") for name in zipfile.ZipFile(io.BytesIO(done.docx)).namelist())
    assert "#image" not in done.typst
    with pytest.raises(ToolError):  # typst cannot reach a file outside its (empty) root
        typeset_pdf('#image("/etc/hostname")\n', meta)


def test_libreoffice_gets_no_external_reference():
    from dossiergen.write.libreoffice import self_contained

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/_rels/document.xml.rels", (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
            'Target="file:///etc/passwd" TargetMode="External"/></Relationships>'))
    with pytest.raises(ToolError) as info:
        self_contained(out.getvalue())
    assert info.value.problems[0].code == "write.external_reference"


# 2. Internal markers ------------------------------------------------------------------------------

def test_private_use_markers_are_refused_with_their_position(minimal: Path):
    (minimal / "references.yaml").write_text("references:\n  - {id: a, citation: \"x \ue000forged\ue0011\ue002\"}\n", "utf-8")
    with (minimal / "results" / "dp.csv").open("a", encoding="utf-8") as handle:
        handle.write("b-dp-001,assay,,,,x\ue001\n")
    codes = _codes(minimal)
    assert ("load.reserved_char", "d/references.yaml:2:26") in codes
    assert any(code == "load.reserved_char" and where.startswith("d/results/dp.csv:") for code, where in codes)


# 3. Verified cache -------------------------------------------------------------------------------

def test_cache_entries_are_checked_against_key_and_bytes(tmp_path: Path):
    from dossiergen.cache import DocumentCache

    cache = DocumentCache(tmp_path / "c")
    a, b = "a" * 64, "b" * 64
    cache.put(a, (b"PK-docx-a", b"%PDF-a", 1))
    cache.put(b, (b"PK-docx-b", b"%PDF-b", 2))
    assert cache.get(a) == (b"PK-docx-a", b"%PDF-a", 1)
    path_a, path_b = tmp_path / "c" / "aa" / a, tmp_path / "c" / "bb" / b
    path_a.write_bytes(path_b.read_bytes())  # another document's entry
    assert cache.get(a) is None and not path_a.exists()
    data = bytearray(path_b.read_bytes())
    data[-1] ^= 1  # one flipped bit
    path_b.write_bytes(bytes(data))
    assert cache.get(b) is None
    cache.put(a, (b"PK-docx-a", b"%PDF-a", 1))
    path_a.write_bytes(b"")  # empty
    assert cache.get(a) is None
    assert [w.code for w in cache.warnings] == ["cache.damaged"] * 3
    assert "belongs to another document" in cache.warnings[0].message


def test_a_cache_entry_keeps_the_digests_of_its_documents_under_its_hash(tmp_path: Path):
    """An entry keeps the sha256 and MD5 of its DOCX and PDF (the manifest's and the backbone's
    checksums), so a later build finds them without hashing every document again (issue 19); they
    are checked with the bytes: an entry whose digests were altered is damaged, written again."""
    import hashlib

    from dossiergen.cache import DocumentCache

    cache = DocumentCache(tmp_path / "c")
    key = "d" * 64
    cache.put(key, (b"PK-docx-d", b"%PDF-d", 4))
    docx, pdf, pages = cache.find(key)
    assert (docx.sha256, docx.md5) == (hashlib.sha256(b"PK-docx-d").hexdigest(), hashlib.md5(b"PK-docx-d").hexdigest())
    assert (pdf.sha256, pdf.md5, pages) == (hashlib.sha256(b"%PDF-d").hexdigest(), hashlib.md5(b"%PDF-d").hexdigest(), 4)
    assert (docx.read(), pdf.read()) == (b"PK-docx-d", b"%PDF-d")
    entry = tmp_path / "c" / "dd" / key
    data = bytearray(entry.read_bytes())
    data[data.index(bytes.fromhex(pdf.md5))] ^= 1  # the PDF's MD5 as kept in the entry, one bit flipped
    entry.write_bytes(bytes(data))
    assert cache.find(key) is None and [w.code for w in cache.warnings] == ["cache.damaged"]


def test_written_documents_are_placed_from_the_cache_and_checked(tmp_path: Path):
    """A large build holds no document in memory: the writers hand over where each one lies in the
    cache (cache.Stored), with the digests the manifest gives; packaging reads the bytes when it
    places the file, and refuses bytes changed since (issue 19)."""
    import hashlib

    from dossiergen.cache import DocumentCache, Stored
    from dossiergen.errors import ToolError
    from dossiergen.package import Artifact, write_build

    cache = DocumentCache(tmp_path / "c")
    key = "c" * 64
    docx, pdf, pages = cache.put(key, (b"PK-docx-c", b"%PDF-c", 3))
    assert isinstance(docx, Stored) and pages == 3
    assert (docx.read(), pdf.read()) == (b"PK-docx-c", b"%PDF-c")
    assert cache.find(key) == (docx, pdf, pages)
    artifact = Artifact("m3/c.pdf", pdf)
    assert (artifact.sha256, artifact.md5) == (hashlib.sha256(b"%PDF-c").hexdigest(), hashlib.md5(b"%PDF-c").hexdigest())
    write_build(tmp_path / "out", [artifact, Artifact("docx/c.docx", docx)])
    assert (tmp_path / "out" / "m3" / "c.pdf").read_bytes() == b"%PDF-c"
    assert (tmp_path / "out" / "docx" / "c.docx").read_bytes() == b"PK-docx-c"
    entry = Path(pdf.path)
    entry.write_bytes(entry.read_bytes()[:-1] + b"X")  # changed while the build ran
    write_build(tmp_path / "out", [Artifact("m3/c.pdf", pdf)])  # the previous output holds those bytes: kept
    assert (tmp_path / "out" / "m3" / "c.pdf").read_bytes() == b"%PDF-c"
    with pytest.raises(ToolError) as raised:  # nowhere else to find them: refused, nothing placed
        write_build(tmp_path / "other", [Artifact("m3/c.pdf", pdf)])
    assert raised.value.problems[0].code == "cache.changed"
    assert not (tmp_path / "other").exists()


def test_build_rewrites_damaged_cache_entries_with_a_warning(tmp_path: Path):
    from dossiergen.build import build_dossier

    source = materialise_case("minimal", tmp_path)
    out = tmp_path / "build"
    build_dossier(source, "neutral", "ind", out, final=False)
    first = (out / "neutral" / "ind" / "manifest.json").read_bytes()
    entries = sorted(p for p in (out / ".cache").rglob("*") if p.is_file())
    entries[0].write_bytes(entries[1].read_bytes())  # swapped
    entries[2].write_bytes(entries[2].read_bytes()[:-100])  # cut short
    entries[3].write_bytes(b"")  # empty
    shutil.rmtree(out / "neutral")
    result = build_dossier(source, "neutral", "ind", out, final=False)
    assert [p.code for p in result.problems if p.code == "cache.damaged"] == ["cache.damaged"] * 3
    assert (out / "neutral" / "ind" / "manifest.json").read_bytes() == first  # the same documents, right names



def test_a_forged_md5_in_a_cache_entry_fails_the_check_not_passes_it(tmp_path: Path):
    """The backbone's leaf checksums come from the cache entries' kept MD5s; the check compares them
    with MD5s computed from the bytes placed, never with the same kept values. An entry whose PDF MD5
    was changed and its hash made again (a forged cache: the entry's own check passes) makes the
    build fail with a checksum error, and the previous output stays."""
    import struct

    from dossiergen.build import build_dossier
    from dossiergen.cache import _DIGESTS, _HEAD, MAGIC
    from dossiergen.errors import InputError

    source = materialise_case("minimal", tmp_path)
    out = tmp_path / "build"
    build_dossier(source, "us", "ind", out, final=False)
    shutil.copytree(out / "us", tmp_path / "kept")
    head = len(MAGIC) + _HEAD.size
    for entry in (p for p in (out / ".cache").glob("[0-9a-f][0-9a-f]/*") if p.is_file()):
        data = bytearray(entry.read_bytes())
        if not data.startswith(MAGIC):
            continue
        pdf_md5 = head + 32 + 16 + 32
        data[pdf_md5] ^= 1
        key, _, docx_len, pages = _HEAD.unpack_from(data, len(MAGIC))
        struct.pack_into(">32s32sQI", data, len(MAGIC), key, hashlib.sha256(bytes(data[head:])).digest(), docx_len, pages)
        entry.write_bytes(bytes(data))
    assert _DIGESTS.size == 96
    shutil.rmtree(out / "us")  # the documents are placed from the (forged) cache
    shutil.copytree(tmp_path / "kept", out / "us")
    (source / "application.yaml").write_text((source / "application.yaml").read_text() + "\n")  # not up to date
    with pytest.raises(InputError) as raised:
        build_dossier(source, "us", "ind", out, final=False)
    assert "ectd.checksum" in {p.code for p in raised.value.problems}
    assert {p.relative_to(out / "us").as_posix(): p.read_bytes() for p in (out / "us").rglob("*") if p.is_file()} == \
        {p.relative_to(tmp_path / "kept").as_posix(): p.read_bytes() for p in (tmp_path / "kept").rglob("*") if p.is_file()}

def test_a_placed_files_md5_is_kept_by_its_sha256_and_summed_for_other_bytes(tmp_path: Path):
    """Packaging takes the MD5 of a placed PDF (the backbone's checksum is compared with it) from what was
    summed from bytes with the same SHA-256 (the writer keeps it when it writes the PDF), never from the
    cache entry: other bytes, another SHA-256, are summed afresh; a kept MD5 serves only its own SHA-256."""
    from dossiergen import ectd
    from dossiergen.cache import DocumentCache, using_store

    with using_store(tmp_path / "blobs") as store:
        _, pdf, _ = DocumentCache(tmp_path / "c").put("e" * 64, (b"PK-docx-e", b"%PDF-e", 1))
        assert store.get("md5", pdf.sha256) == hashlib.md5(b"%PDF-e").digest()  # kept by the writer, by SHA-256
        ectd._MD5.clear()
        assert ectd.md5_known(pdf.sha256, b"%PDF-e") == hashlib.md5(b"%PDF-e").hexdigest()
        other = b"%PDF-other bytes"
        ectd._MD5.clear()
        assert ectd.md5_known(hashlib.sha256(other).hexdigest(), other) == hashlib.md5(other).hexdigest()
        assert store.get("md5", hashlib.sha256(other).hexdigest()) == hashlib.md5(other).digest()


# 4. Located errors and exit codes ----------------------------------------------------------------

def test_deep_nesting_is_a_located_error(minimal: Path):
    (minimal / "references.yaml").write_text("references: " + "[" * 5000 + "]" * 5000 + "\n")
    assert _codes(minimal) == [("load.too_deep", "d/references.yaml:1:" + str(13 + 63))]  # level 65 (the mapping is 1)


def test_long_product_name_fits_the_docx_core_properties():
    import docx

    from dossiergen.write.docx import DocxMeta, write_docx

    name = "Minitabine " * 40
    data = write_docx("# T\n\nText.\n", DocxMeta(title=name, subject=name, header=name, lang="en"))
    props = docx.Document(io.BytesIO(data)).core_properties
    assert len(props.title) == 255 and props.title.endswith("…") and props.title.startswith("Minitabine Minitabine")


def test_application_yaml_as_a_folder(minimal: Path):
    (minimal / "application.yaml").unlink()
    (minimal / "application.yaml").mkdir()
    assert ("load.not_a_file", "d/application.yaml") in _codes(minimal)


def test_nan_inf_and_overflow_are_not_results(minimal: Path):
    (minimal / "references.yaml").write_text("references:\n  - {id: a, citation: x}\n  - {id: b, citation: y, year: 1.0e+400}\n")
    lines = (minimal / "results" / "dp.csv").read_text("utf-8").count("\n")
    with (minimal / "results" / "dp.csv").open("a", encoding="utf-8") as handle:
        handle.write("b-dp-001,assay,inf,%,,\nb-dp-001,assay,1e400,%,,\nb-dp-001,assay,nan,%,,\n")
    codes = _codes(minimal)
    assert ("load.not_finite", "d/references.yaml:3:32") in codes
    assert ("load.not_finite", f"d/results/dp.csv:{lines + 1}:16") in codes
    assert ("load.not_finite", f"d/results/dp.csv:{lines + 2}:16") in codes
    assert ("load.not_finite", f"d/results/dp.csv:{lines + 3}:16") in codes


def test_undrawable_character_is_found_at_validation(minimal: Path):
    path = minimal / "products" / "dp-minitab.yaml"
    path.write_text(path.read_text("utf-8").replace("Direct compression.", "Direct compression 😀."), "utf-8")
    found = [p for p in _problems(minimal) if p.code == "text.no_glyph"]
    assert len(found) == 1 and "U+1F600" in found[0].message
    assert str(found[0].location).startswith("d/products/dp-minitab.yaml:")
    assert found[0].location.line > 1


def test_every_font_the_templates_use_is_checked(monkeypatch, tmp_path: Path):
    from dossiergen import environment

    fonts = tmp_path / "fonts"
    fonts.mkdir()
    for name in environment.FONTS:
        if name != "LiberationSans-Bold.ttf":
            (fonts / name).write_bytes(b"")
    monkeypatch.setattr(environment, "FONT_DIRS", (fonts,))
    with pytest.raises(ToolError) as info:
        environment.check_fonts()
    assert "LiberationSans-Bold.ttf" in info.value.problems[0].message
    assert "fonts-liberation" in info.value.problems[0].hint


def test_slug_collision_names_the_yaml(minimal: Path, tmp_path: Path):
    source = minimal / "products" / "dp-minitab.yaml"
    text = source.read_text("utf-8").replace("id: dp-", "id: dq-").replace("s-10mg", "s-10mgq")
    text = text.replace("name: {en: Minitabine tablets, zh: 米尼他滨片}", "name: {en: Minitabine-Tablets!, zh: 米尼他滨片二}")
    (minimal / "products" / "dq-minitab.yaml").write_text(text, "utf-8")
    run = run_cli("build", "--dossier", str(minimal), "--market", "neutral", "--stage", "ind", "--out", str(tmp_path / "out"))
    assert run.exit_code == 1, run.stderr
    assert "[build.name_collision]" in run.stderr
    assert "products/dq-minitab.yaml:3:" in run.stderr or "products/dp-minitab.yaml:3:" in run.stderr


def test_out_inside_the_dossier_is_a_usage_error(minimal: Path):
    run = run_cli("build", "--dossier", str(minimal), "--market", "neutral", "--out", str(minimal / "build"))
    assert run.exit_code == 2 and "[usage.out_in_dossier]" in run.stderr
    assert not (minimal / "build").exists()


def _python(code: str, *args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env={**os.environ, "SOURCE_DATE_EPOCH": FIXED_EPOCH, **(env or {})})


WITHOUT_TYPST = "import sys; sys.modules['typst'] = None; from dossiergen.cli import main; sys.argv = ['dossiergen', *sys.argv[1:]]; main()"


def test_validate_needs_no_typst_and_build_says_what_is_missing(minimal: Path, tmp_path: Path):
    done = _python(WITHOUT_TYPST, "validate", "--dossier", str(minimal))
    assert done.returncode == 0, done.stderr
    done = _python(WITHOUT_TYPST, "build", "--dossier", str(minimal), "--market", "neutral", "--out", str(tmp_path / "out"))
    assert done.returncode == 4 and "[tool.typst_missing]" in done.stderr and "make setup" in done.stderr
    assert not (tmp_path / "out").exists()  # found before any work


def test_missing_pandoc_is_exit_4_before_any_work(minimal: Path, tmp_path: Path, monkeypatch):
    import pypandoc

    def missing():
        raise OSError("No pandoc was found")

    monkeypatch.setattr(pypandoc, "get_pandoc_path", missing)
    run = run_cli("build", "--dossier", str(minimal), "--market", "neutral", "--out", str(tmp_path / "out"))
    assert run.exit_code == 4 and "[tool.pandoc_missing]" in run.stderr
    assert not (tmp_path / "out").exists()


needs_unshare = pytest.mark.skipif(subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0,
                                   reason="needs user and mount namespaces (unshare -rm)")


@needs_unshare
@pytest.mark.parametrize("options, code", [("ro,size=16m", "read-only"), ("size=200k", "disk is full")])
def test_read_only_or_full_output_disk_is_exit_4(minimal: Path, tmp_path: Path, options: str, code: str):
    out = tmp_path / "out"
    out.mkdir()
    script = f'mount -t tmpfs -o {options} none "{out}" && exec "{CLI}" build --dossier "{minimal}" --market neutral --stage ind --out "{out}"'
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SOURCE_DATE_EPOCH": FIXED_EPOCH})
    assert done.returncode == 4, done.stderr
    assert "[output.not_writable]" in done.stderr and code in done.stderr and "Traceback" not in done.stderr


# 7. Bounded cost ---------------------------------------------------------------------------------

def test_limits_on_total_size_and_rows(minimal: Path, monkeypatch):
    monkeypatch.setattr("dossiergen.load.MAX_ROWS", 3)
    assert any(code == "load.too_many_rows" for code, _ in _codes(minimal))
    monkeypatch.undo()
    monkeypatch.setattr("dossiergen.load.MAX_TOTAL_BYTES", 4000)
    assert any(code == "load.total_too_large" for code, _ in _codes(minimal))


def test_printed_errors_are_capped(minimal: Path):
    rows = "".join(f"b-dp-001,assay,not-a-number-{i},%,,\n" for i in range(300))
    with (minimal / "results" / "dp.csv").open("a", encoding="utf-8") as handle:
        handle.write(rows)
    run = run_cli("validate", "--dossier", str(minimal))
    assert run.exit_code == 1
    assert run.stderr.count("error:") == 200
    assert "more problem(s) not shown" in run.stderr and "--format json" in run.stderr
    run = run_cli("validate", "--dossier", str(minimal), "--format", "json")
    assert len(json.loads(run.stdout)) >= 300


def test_csv_line_numbers_follow_quoted_multiline_cells(minimal: Path):
    path = minimal / "results" / "dp.csv"
    header = path.read_text("utf-8").splitlines()[0]
    path.write_text(header + '\nb-dp-001,appearance,,,,"Conforms,\nwritten on two lines"\nb-dp-001,assay,oops,%,,\n', "utf-8")
    bad = [p for p in _problems(minimal) if p.severity == "error" and str(p.location).startswith("d/results/dp.csv")]
    assert bad and all(p.location.line == 4 for p in bad), [p.format() for p in bad]


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _paragraph_cpu(size: int) -> float:
    """CPU seconds (this process and pandoc) to write the DOCX and PDF of one paragraph of `size` characters."""
    from dossiergen.write.pandoc import convert_batch
    from dossiergen.write.pdf import PdfMeta, typeset_pdf, typst_settings

    words = ("lorem ipsum dolor sit amet consectetur adipiscing " * (size // 50 + 1))[:size]
    meta = PdfMeta("T", "S", "H", "en", False)
    started = time.process_time() + _child_cpu()
    done = convert_batch([(f"# T\n\n{words}\n", typst_settings(meta))])[0]
    typeset_pdf(done.typst, meta)
    return time.process_time() + _child_cpu() - started


def test_paragraph_time_is_linear_in_its_length():
    """A 1 MB paragraph costs about 4 times a 256 KB one (CPU time, so a loaded machine does not
    matter); before, the DOCX writer and typst grew with the square (16 times)."""
    _paragraph_cpu(1000)  # warm up: typst's font index, pandoc's page cache
    small, large = _paragraph_cpu(256 * 1024), _paragraph_cpu(1024 * 1024)
    assert large / small < 8, (small, large)


# 5, 6. Crashes: children die with the build, output is old or new, never a mix ----------------------

BUILD = ("import sys; from dossiergen.cli import main; sys.argv = ['dossiergen', 'build', '--dossier', sys.argv[1], "
         "'--market', 'neutral', '--stage', 'ind', '--out', sys.argv[2]]; main()")


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _start(source: Path, out: Path, epoch: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", BUILD, str(source), str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "SOURCE_DATE_EPOCH": epoch})


KILL_POINTS = 20  # as the issue asks: random moments over the whole build, each a fresh kill


def test_killed_build_leaves_old_or_new_output_whole_and_no_process(tmp_path: Path):
    import random

    source = materialise_case("minimal", tmp_path)
    out = tmp_path / "out"
    epochs = (FIXED_EPOCH, str(int(FIXED_EPOCH) + 86400))
    trees = []
    for epoch in reversed(epochs):  # reference outputs of both build times; the first one stays in place
        started = time.monotonic()
        assert _start(source, out, epoch).wait(timeout=600) == 0
        duration = time.monotonic() - started
        trees.append(_tree(out / "neutral" / "ind"))
        shutil.rmtree(out / ".cache")
    assert trees[0] != trees[1]
    chance = random.Random(12)
    killed: set[int] = set()
    for point in range(KILL_POINTS):
        shutil.rmtree(out / ".cache", ignore_errors=True)  # so that writers run
        process = _start(source, out, epochs[point % 2])
        deadline = time.monotonic() + chance.uniform(0.1, 1.0) * duration
        seen: set[int] = set()
        while time.monotonic() < deadline and process.poll() is None:
            seen |= descendants(process.pid)
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed |= seen | {process.pid}
        for _ in range(200):
            if not _alive(seen):
                break
            time.sleep(0.05)
        assert not _alive(seen), f"kill point {point}: processes outlived the build: {_alive(seen)}"
        assert _tree(out / "neutral" / "ind") in trees, f"kill point {point}: the output is a mix"
    assert _start(source, out, epochs[0]).wait(timeout=600) == 0
    assert _tree(out / "neutral" / "ind") == trees[1]
    leftovers = [p.name for p in (out / "neutral").iterdir() if p.name != "ind"]
    assert leftovers == [], "staging folders left behind"
    assert not list((out / ".cache").glob("*/*.tmp")), "half-written cache entries left behind"
    temp = [p.name for p in Path(tempfile.gettempdir()).glob("dossiergen-*-*-*") if p.name.split("-")[2] in map(str, killed)]
    assert temp == [], "temporary folders of killed processes left behind"


def test_crash_between_the_two_renames_is_recovered(tmp_path: Path, monkeypatch):
    from dossiergen import package
    from dossiergen.package import Artifact, recover_output, write_build

    target = tmp_path / "neutral" / "ind"
    write_build(target, [Artifact("a.txt", b"old")])
    monkeypatch.setattr(package, "_exchange", lambda a, b: False)  # a file system without RENAME_EXCHANGE
    real_replace = os.replace

    def crash(src, dst):
        real_replace(src, dst)
        if Path(dst).name.endswith("-old"):
            raise KeyboardInterrupt("killed between the renames")

    monkeypatch.setattr(package.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_build(target, [Artifact("a.txt", b"new")])
    monkeypatch.setattr(package.os, "replace", real_replace)
    assert not target.exists()
    (target.parent / ".ind-staging-x1").mkdir()  # a staging folder of a killed build
    recover_output(target)
    assert (target / "a.txt").read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["ind"]


@pytest.mark.skipif(subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0,
                    reason="needs a network namespace (unshare -rn)")
def test_build_needs_no_network(tmp_path: Path):
    """A build in a network namespace with no interface but a down loopback: any connection fails."""
    source = materialise_case("minimal", tmp_path)
    done = subprocess.run(["unshare", "-rn", CLI, "build", "--dossier", str(source), "--market", "us", "--stage", "ind",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SOURCE_DATE_EPOCH": FIXED_EPOCH})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "us" / "ind" / "manifest.json").is_file()


def test_a_tools_own_children_die_with_the_build_and_at_its_time_limit():
    """LibreOffice's launcher starts soffice.bin, which would outlive a killed build: commands run
    with whole_group are watched by a guard that kills their process group when the build dies."""
    from dossiergen.write.children import run_child

    code = ("import sys; from dossiergen.write.children import run_child; "
            "run_child(['sh', '-c', 'sleep 300 & sleep 301'], timeout=600, whole_group=True)")
    process = subprocess.Popen([sys.executable, "-c", code])
    seen: set[int] = set()
    for _ in range(200):
        seen |= descendants(process.pid)
        names = [Path(f"/proc/{pid}/comm").read_text().strip() for pid in _alive(seen)]
        if names.count("sleep") == 2:
            break
        time.sleep(0.05)
    assert names.count("sleep") == 2
    process.send_signal(signal.SIGKILL)
    process.wait()
    for _ in range(100):
        if not _alive(seen):
            break
        time.sleep(0.05)
    assert not _alive(seen)
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_child(["sh", "-c", "sleep 300 & sleep 301"], timeout=0.5)
    assert time.monotonic() - started < 30


def test_the_spare_folder_becomes_exactly_the_new_output_and_never_changes_the_previous_one(tmp_path: Path):
    """write_build with a spare folder (issue 19): whatever the spare holds (stale files, a folder where a file
    belongs, a link, a file edited in place), the output is exactly the artifacts; a file of the previous
    output is never written into (an unchanged file may be a hard link to it); a refused build keeps it."""
    from dossiergen.package import Artifact, write_build

    target, spare = tmp_path / "out" / "eu" / "ind", tmp_path / "out" / ".cache" / "spare" / "eu-ind"
    first = [Artifact("a.txt", b"A1"), Artifact("d/b.txt", b"B1"), Artifact("d/e/c.txt", b"C1")]
    write_build(target, first, spare=spare)
    write_build(target, [Artifact("a.txt", b"A2"), Artifact("d/b.txt", b"B1"), Artifact("d/e/c.txt", b"C1")], spare=spare)
    assert (spare / "a.txt").read_bytes() == b"A1"  # the previous output, now the spare
    kept = target / "d" / "b.txt"
    (spare / "stale.txt").write_bytes(b"x")
    (spare / "d" / "e" / "c.txt").write_bytes(b"C9")  # edited in place: not the bytes it should hold
    (spare / "a.txt").unlink()
    (spare / "a.txt").mkdir()
    os.symlink(tmp_path, spare / "link")
    final = [Artifact("a.txt", b"A3"), Artifact("d/b.txt", b"B1"), Artifact("d/e/c.txt", b"C1"), Artifact("f/g.txt", b"G")]
    write_build(target, final, spare=spare)
    tree = {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert tree == {a.path: a.data for a in final}
    assert not any(p.is_symlink() for p in target.rglob("*"))
    assert (spare / "a.txt").read_bytes() == b"A2" and kept.read_bytes() == b"B1"

    def refuse(folder):
        raise RuntimeError("check failed")

    with pytest.raises(RuntimeError):
        write_build(target, [Artifact("a.txt", b"A4")], verify=refuse, spare=spare)
    assert {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()} == tree
    write_build(target, [Artifact("a.txt", b"A4")], spare=spare)
    assert [p.relative_to(target).as_posix() for p in target.rglob("*")] == ["a.txt"]
    assert (target / "a.txt").read_bytes() == b"A4" and (spare / "f" / "g.txt").read_bytes() == b"G"
    assert sorted(p.name for p in target.parent.iterdir()) == ["ind"]


def test_without_hard_links_the_output_is_written_whole(tmp_path: Path, monkeypatch):
    """On a file system that refuses hard links, unchanged files are written instead (issue 19)."""
    from dossiergen import package
    from dossiergen.package import Artifact, write_build

    target, spare = tmp_path / "out" / "us" / "ind", tmp_path / "out" / ".cache" / "spare" / "us-ind"
    write_build(target, [Artifact("a.txt", b"A"), Artifact("b/c.txt", b"C")], spare=spare)

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(package.os, "link", refuse)
    write_build(target, [Artifact("a.txt", b"A2"), Artifact("b/c.txt", b"C")], spare=spare)
    assert (target / "a.txt").read_bytes() == b"A2" and (target / "b" / "c.txt").read_bytes() == b"C"
