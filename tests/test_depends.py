"""Each document's dependencies: what it read while rendering, and reuse of its Markdown when none
of that changed (issue 13: dependency recording; issue 19: incremental builds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dossiergen.assemble import assemble_context
from dossiergen.cache import using_store
from dossiergen.depends import Hashes, Reads, RecordingModel, record_of, render_cached
from dossiergen.load import load_dossier
from dossiergen.model import build_model, results_by_batch
from dossiergen.render import render_document

ROOT = Path(__file__).resolve().parent.parent
TABLET = ROOT / "examples" / "velcratinib-tablets"


def _model(folder: Path):
    return build_model(load_dossier(folder))


def test_the_record_lists_exactly_the_reads():
    model = _model(TABLET)
    reads = Reads()
    seen = RecordingModel(model, reads)
    batch = seen.of_type("batch")[0]
    seen.get(batch.id, "batch")
    seen.get("no-such-id")
    seen.single("application")
    assert reads.sorted() == (("entity", batch.id), ("entity", "no-such-id"), ("kind", "application"), ("type", "batch"))


def test_a_memoised_value_charges_every_reader_with_its_reads():
    """results_by_batch is computed once per model; the second document that asks is still charged
    with the batch list and the result CSVs it was computed from."""
    model = _model(TABLET)
    first, second = Reads(), Reads()
    assert results_by_batch(RecordingModel(model, first)) is results_by_batch(RecordingModel(model, second))
    assert first.sorted() == second.sorted() == (("kind", "batch-results"), ("type", "batch"))


def test_a_sample_document_records_what_it_shows():
    model = _model(TABLET)
    context = assemble_context(model, "neutral", "ind")
    document = next(d for d in context.documents if d.number == "3.2.S.4.4")  # batch analyses of one substance
    record = record_of(context, document)
    assert ("kind", "batch-results") in record and ("scope", 0) in record  # its results, its substance
    specification = document.get("substance")["control"]["specification"]
    assert ("entity", specification) in record
    assert not any(d[0] == "kind" and d[1] in ("stability", "stability-results") for d in record)  # no stability data
    assert ("all",) not in record  # nothing read behind the recorder's back


def test_a_stability_document_is_charged_with_its_data_not_with_everything():
    """3.2.S.7.3 marks out-of-specification and out-of-trend results (shelflife.result_marks, computed
    once per model): its record names the stability data, so a changed batch result (release data)
    does not render it again."""
    model = _model(ROOT / "dossier")
    context = assemble_context(model, "neutral", "marketing")
    document = next(d for d in context.documents if d.number == "3.2.S.7.3")
    record = record_of(context, document)
    assert ("all",) not in record
    assert ("kind", "stability-results") in record and ("kind", "batch-results") not in record
    again = record_of(context, document)  # the marks now come from the model's memo: the same charge
    assert again == record


def test_one_changed_result_rerenders_only_its_readers_and_the_rest_is_the_same(tmp_path):
    """Change one batch result: exactly the documents whose record lists the batch results are rendered
    again, and every document, reused or not, is the Markdown a cold render gives."""
    source = tmp_path / "dossier"
    shutil.copytree(TABLET, source)

    def render_all(store_folder):
        model = _model(source)
        context = assemble_context(model, "neutral", "ind")
        hashes = Hashes(model)
        with using_store(store_folder) as store:
            rendered = {d.id: render_cached(context, d, hashes) for d in context.documents}
            return context, rendered, store.misses

    context, before, _ = render_all(tmp_path / "store")
    records = {d.id: record_of(context, d) for d in context.documents}
    _, again, misses = render_all(tmp_path / "store")
    assert misses == 0 and {k: v.markdown for k, v in again.items()} == {k: v.markdown for k, v in before.items()}

    csv = source / "results" / "ds-batch-results.csv"
    lines = csv.read_text("utf-8").splitlines()
    header = lines[0].split(",")
    column = header.index("value")
    for index, line in enumerate(lines[1:], 1):
        cells = line.split(",")
        if cells[column].replace(".", "", 1).isdigit():
            cells[column] = f"{float(cells[column]) + 0.01:.3f}"
            lines[index] = ",".join(cells)
            break
    csv.write_text("\n".join(lines) + "\n", "utf-8")

    context, after, _ = render_all(tmp_path / "store")
    readers = {i for i, record in records.items() if ("kind", "batch-results") in record}
    changed = {i for i in after if after[i].markdown != before[i].markdown}
    assert changed and changed <= readers < set(after)  # the change shows, and only readers could change
    cold = {d.id: render_document(context, d).markdown for d in context.documents}
    assert {k: v.markdown for k, v in after.items()} == cold


def test_the_content_key_excludes_the_build_time(monkeypatch):
    """Same Markdown and metadata at two build times: one content key ("same content, new date"),
    two output keys (the files carry the date); a changed word changes both."""
    from dossiergen.cache import document_content_key, document_key
    from dossiergen.write import DocxMeta

    meta = DocxMeta(title="3.2.S.4.4 Batch analyses", subject="x", header="x", lang="en")
    keys = {}
    for epoch in ("1795737600", "1795824000"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        keys[epoch] = (document_content_key("# A\n", meta), document_key("# A\n", meta))
    (content_1, output_1), (content_2, output_2) = keys.values()
    assert content_1 == content_2 and output_1 != output_2
    assert document_content_key("# B\n", meta) != content_2 and document_key("# B\n", meta) != output_2


def test_parse_and_validation_are_reused_by_content_and_report_the_same(tmp_path):
    """A file's parse and its schema problems are kept by its content hash: a second load in the
    same store reads them back and reports the very same problems; an edited file is parsed again."""
    from dossiergen.validate import validate_dossier

    source = tmp_path / "dossier"
    shutil.copytree(TABLET, source)
    batches = source / "batches.yaml"
    batches.write_text(batches.read_text("utf-8").replace("scale: pilot", "scale: huge", 1), "utf-8")

    def check():
        with using_store(tmp_path / "store") as store:
            dossier = load_dossier(source)
            problems = [p.format() for p in validate_dossier(dossier)]
            return problems, {rel: f.data for rel, f in dossier.files.items()}, store.hits

    cold, data, _ = check()
    warm, again, hits = check()
    assert any("[schema.enum]" in p for p in cold) and warm == cold and again == data
    assert hits >= 2 * len(data)  # every file's parse and problems came from the store
    batches.write_text(batches.read_text("utf-8").replace("scale: huge", "scale: pilot", 1), "utf-8")
    fixed, _, _ = check()
    assert not any("[schema.enum]" in p for p in fixed)


def test_the_genealogy_is_charged_with_the_batches():
    model = _model(TABLET)
    model.genealogy()  # built before, outside any record
    reads = Reads()
    assert RecordingModel(model, reads).genealogy() == model.genealogy()
    assert reads.sorted() == (("type", "batch"),)


def test_the_english_core_renders_once_for_every_english_market_and_is_what_each_market_renders(tmp_path):
    """neutral, us, eu and uk show the same Module 3 core (DESIGN.md section 6): a document that does not
    read the market or the places of other documents is rendered for the first market only and reused
    by the others. What each market gets, reused or not, is the Markdown a render in that market gives;
    the documents that read the market (3.2.R, the regional annexes) are rendered per market."""
    model = _model(ROOT / "dossier")
    hashes, stage = Hashes(model), "marketing"
    with using_store(tmp_path / "store") as store:
        first = assemble_context(model, "neutral", stage)
        for document in first.documents:
            render_cached(first, document, hashes)
        for market in ("us", "eu", "uk"):
            context = assemble_context(model, market, stage)
            before, reused = store.misses, []
            for document in context.documents:
                misses = store.misses
                rendered = render_cached(context, document, hashes)
                assert rendered.markdown == render_document(context, document).markdown, (market, document.path)
                if store.misses == misses:
                    reused.append(document)
                elif document.id in {d.id for d in first.documents}:  # else: a document of this market only
                    assert {d[0] for d in record_of(context, document)} & {"market", "documents"}, document.path
            regional = [d for d in context.documents if d.section.regional or d.number.startswith("3.2.R")]
            assert regional and not {d.id for d in regional} & {d.id for d in reused}
            assert len(reused) > 0.8 * len(context.documents), (market, store.misses - before)


def test_a_cross_reference_follows_its_target_when_the_documents_differ(tmp_path):
    """A document that links to another is charged with the documents at the number it links to: when
    those differ (another market's list), it is rendered again and links to the right place."""
    from dataclasses import replace

    model = _model(ROOT / "dossier")
    context = assemble_context(model, "neutral", "marketing")
    hashes = Hashes(model)
    linking = next(d for d in context.documents if any(r[0] == "documents" and len(r) == 2 for r in record_of(context, d)))
    number = next(r[1] for r in record_of(context, linking) if r[0] == "documents" and len(r) == 2)
    with using_store(tmp_path / "store") as store:
        render_cached(context, linking, hashes)
        targets = [i for i, _ in context.matching(number)]
        moved = list(context.documents)
        for i in targets:
            moved[i] = replace(moved[i], path=moved[i].path + "-moved")
        other = replace(context, documents=tuple(moved))
        misses = store.misses
        again = render_cached(other, linking, hashes)
        assert store.misses == misses + 1
        assert again.markdown == render_document(other, linking).markdown
        assert "-moved.pdf" in again.markdown


def test_one_build_looks_a_shared_document_up_once_and_never_shares_one_that_reads_the_market(tmp_path, monkeypatch):
    """In one build (one Hashes) a document whose reads hash alike in several markets (the English core of
    us and eu) is taken from the store once and served again from memory; a document that reads
    the market (3.2.R) gets each market's own Markdown. Every document is what a cold render gives."""
    import dossiergen.depends as depends

    model = _model(ROOT / "dossier")
    contexts = [assemble_context(model, market, "marketing") for market in ("us", "eu")]
    rendered_by = []
    real = depends._render_noted
    monkeypatch.setattr(depends, "_render_noted", lambda c, d, r: rendered_by.append(d.id) or real(c, d, r))
    with using_store(tmp_path / "store"):
        hashes = Hashes(model)
        first = {(c.market, d.id): render_cached(c, d, hashes) for c in contexts for d in c.documents}
    with using_store(tmp_path / "store") as store:
        hashes = Hashes(model)
        again = {(c.market, d.id): render_cached(c, d, hashes) for c in contexts for d in c.documents}
        lookups = store.hits + store.misses
    documents = sum(len(c.documents) for c in contexts)
    assert len(rendered_by) < documents  # a document shared by markets of the same layout is rendered once
    assert lookups < 2 * documents  # a reads record and a rendering each per document, but the shared ones from memory
    assert first[("us", "m3-3.2.r")].markdown != first[("eu", "m3-3.2.r")].markdown  # each market's own 3.2.R
    for context in contexts:
        for document in context.documents:
            for found in (first, again):
                item = found[(context.market, document.id)]
                assert item.document is document and item.markdown == render_document(context, document).markdown
