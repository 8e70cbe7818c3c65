"""What render keeps to be fast (issue 19) is never reused once its input changed: compiled templates,
the per-model index of stability result notes, the Latin residue of texts, a table cell's room."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dossiergen import render, tables
from dossiergen.assemble import assemble_context
from dossiergen.cache import using_store
from dossiergen.depends import Hashes, render_cached
from dossiergen.load import load_dossier
from dossiergen.model import build_model
from dossiergen.shelflife import note_for
from dossiergen.translation import allowed

ROOT = Path(__file__).resolve().parent.parent


def test_a_changed_template_is_compiled_again_not_taken_from_the_bytecode_cache(tmp_path):
    folder, cache = tmp_path / "templates", tmp_path / "cache"
    folder.mkdir()
    cache.mkdir(mode=0o700)
    template = folder / "doc.md.j2"
    template.write_text("Before {{ x }}\n", "utf-8")
    first = render.new_environment([str(folder)], render._bytecode_cache(str(cache)))
    assert first.get_template("doc.md.j2").render(x="1") == "Before 1\n"
    assert any(cache.iterdir())  # compiled once, kept for the next build

    template.write_text("Now {{ x }}!\n", "utf-8")
    second = render.new_environment([str(folder)], render._bytecode_cache(str(cache)))
    assert second.get_template("doc.md.j2").render(x="1") == "Now 1!\n"


def test_the_bytecode_cache_serves_an_unchanged_template_and_a_failed_write_is_no_error(tmp_path, monkeypatch):
    folder, cache = tmp_path / "templates", tmp_path / "cache"
    folder.mkdir()
    cache.mkdir(mode=0o700)
    (folder / "doc.md.j2").write_text("{% for i in items %}{{ i }};{% endfor %}\n", "utf-8")
    assert render.new_environment([str(folder)], render._bytecode_cache(str(cache))).get_template(
        "doc.md.j2").render(items=["*a*", 2]) == "\\*a\\*;2;"  # finalize escapes; trim_blocks
    compiled = []
    original = render.jinja2.Environment.compile
    monkeypatch.setattr(render.jinja2.Environment, "compile",
                        lambda self, *a, **k: compiled.append(a) or original(self, *a, **k))
    again = render.new_environment([str(folder)], render._bytecode_cache(str(cache))).get_template("doc.md.j2")
    assert again.render(items=["*a*", 2]) == "\\*a\\*;2;" and not compiled

    def full(self, bucket):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(render.jinja2.FileSystemBytecodeCache, "dump_bytecode", full)
    (folder / "doc.md.j2").write_text("{{ items | length }}\n", "utf-8")  # compiled, not written: it renders
    env = render.new_environment([str(folder)], render._bytecode_cache(str(cache)))
    assert env.get_template("doc.md.j2").render(items=[1, 2]) == "2\n" and compiled


class _Notes:
    """A model holding only stability.yaml's result_notes (what note_for reads)."""

    def __init__(self, notes):
        self.notes, self.results = notes, {}

    def single(self, kind):
        return {"result_notes": self.notes} if kind == "stability" else {}

    def memo(self, key, compute):
        if key not in self.results:
            self.results[key] = compute()
        return self.results[key]


def test_a_result_note_is_the_first_of_its_study_test_and_time_point():
    model = _Notes([{"study": "s1", "time_point": 3, "test": "assay", "note": "first"},
                    {"study": "s1", "time_point": 3.0, "test": ["assay", "ph"], "note": "second"},
                    {"study": "s2", "time_point": 3, "test": "assay", "note": "other study"},
                    {"study": "s1", "time_point": "3", "test": "ph", "note": "no number: no time point"},
                    {"study": "s1", "time_point": 6, "test": [{"x": 1}, "ph"], "note": "a mapping among the tests"},
                    "not a mapping"])
    assert note_for(model, "s1", 3.0, "assay") == "first"
    assert note_for(model, "s1", 3.0 + 1e-12, "ph") == "second"  # listed for each of its tests
    assert note_for(model, "s2", 3.0, "assay") == "other study"
    assert note_for(model, "s1", 6.0, "ph") == "a mapping among the tests"
    assert note_for(model, "s1", 4.0, "assay") is None and note_for(model, "s3", 3.0, "assay") is None


def test_a_changed_result_note_renders_the_stability_data_again(tmp_path):
    """The notes index is kept per model; the document that prints a note is charged with stability.yaml,
    so a later build with a changed note renders it again (not the stored Markdown)."""
    source = tmp_path / "dossier"
    shutil.copytree(ROOT / "dossier", source)

    def render_notes():
        model = build_model(load_dossier(source))
        context = assemble_context(model, "neutral", "marketing")
        hashes = Hashes(model)
        with using_store(tmp_path / "store"):
            return [render_cached(context, d, hashes).markdown for d in context.documents if d.number == "3.2.S.7.3"]

    before = render_notes()
    assert any("characterisation tests" in text for text in before)
    stability = source / "stability.yaml"
    stability.write_text(stability.read_text("utf-8").replace("as characterisation tests", "as characterization assays"), "utf-8")
    after = render_notes()
    assert any("characterization assays" in text for text in after) and not any("characterisation tests" in text for text in after)


def test_the_latin_residue_of_a_text_is_kept_per_list_of_allowed_terms():
    plain, with_name = allowed(), allowed(("Zorbamab",))
    assert plain.residue("Zorbamab 注射液") == ["Zorbamab"]
    assert with_name.residue("Zorbamab 注射液") == []  # the same text, another list: its own answer
    assert plain.residue("Zorbamab 注射液") == ["Zorbamab"]
    words = plain.residue("Zorbamab 注射液")
    words.append("changed by the caller")
    assert plain.residue("Zorbamab 注射液") == ["Zorbamab"]


@pytest.mark.parametrize("pieces", [False, True])
def test_a_cells_room_is_what_its_text_needs(pieces):
    """tables._cell_room is remembered by text: two texts that differ are measured apart."""
    short, long_ = tables._cell_room("pH", pieces), tables._cell_room("2-(4-methylpiperazin-1-yl)ethanol", pieces)
    assert short[1] == tables.em_width("pH") and long_[1] == tables.em_width("2-(4-methylpiperazin-1-yl)ethanol")
    assert long_[0] > short[0]
    widths, fits = tables.column_widths([["Test", "Result"], ["pH", "7.0"]], [1, 1], 40.0, 1.0, pieces)
    assert fits and len(widths) == 2


def test_an_escaped_text_is_remembered_by_value_and_markup_still_passes_unchanged():
    from dossiergen.text import Markdown, escape_md

    assert escape_md("*x*") == "\\*x\\*"
    assert escape_md(Markdown("*x*")) == "*x*"  # the same characters as markup: not taken from the escaped texts
    assert escape_md("*x*") == "\\*x\\*" and isinstance(escape_md("*x*"), Markdown)
    assert escape_md(12.5) == "12.5" and escape_md("1. step") == "1\\. step"


def test_the_blob_store_puts_an_entry_again_after_its_folder_was_removed(tmp_path):
    """The store makes each folder once per build; a folder removed since (the cache deleted by hand)
    is made again, not a failed build."""
    with using_store(tmp_path / "blobs") as store:
        key = "ab" + "0" * 62
        store.put("render", key, b"first")
        shutil.rmtree(tmp_path / "blobs" / "render")
        store.put("render", key, b"second")
        assert store.get("render", key) == b"second"
