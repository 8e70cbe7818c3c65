"""The real sources: they validate clean, and they build into documents a reviewer can open."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import docx
import pytest

from conftest import ROOT
from dossiergen.build import build_dossier, validate_folder
from tools import libreoffice_convert, struct_nodes

SOURCES = [ROOT / "dossier"] + sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
BUILDS = {"dossier": ("eu", "marketing"), "examples/velcratinib-tablets": ("us", "ind")}


@pytest.mark.parametrize("folder", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_source_validates_clean(folder: Path):
    problems = validate_folder(folder)
    assert [p.format() for p in problems] == []


@pytest.mark.parametrize("folder", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_yaml_file_declares_its_schema(folder: Path):
    """Editors complete keys because each file names its schema on the first line."""
    from dossiergen.load import kind_of

    for path in sorted(folder.rglob("*.yaml")):
        rel = path.relative_to(folder).as_posix()
        first = path.read_text("utf-8").splitlines()[0]
        target = f"schemas/{kind_of(rel)}.schema.json"
        assert first.startswith("# yaml-language-server: $schema=") and first.endswith(target), rel
        assert (path.parent / first.split("=", 1)[1]).resolve() == (ROOT / target).resolve(), rel


@pytest.fixture(scope="module")
def example_builds(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("examples")
    folders = {}
    for source, (market, stage) in BUILDS.items():
        build_dossier(ROOT / source, market, stage, out / source.replace("/", "-"), final=False)
        folders[source] = out / source.replace("/", "-") / market / stage
    return folders


def _documents(folder: Path):
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    for entry in manifest["documents"]:
        yield entry, docx.Document(folder / entry["docx"])


@pytest.mark.parametrize("source", list(BUILDS))
def test_documents_are_complete_and_clean(example_builds, source):
    """Every document opens, starts with its CTD number and title, has no artefacts or empty tables."""
    artefacts = re.compile(r"\{\{|\{%|%\}|\}\}|\\\*|\*\*|\[missing:")
    for entry, document in _documents(example_builds[source]):
        heading = document.paragraphs[0]
        assert (heading.style.name, heading.text) == ("Heading 1", entry["title"].split(" (")[0]), entry["docx"]
        texts = [p.text for p in document.paragraphs] + [c.text for t in document.tables for r in t.rows for c in r.cells]
        bad = [t for t in texts if artefacts.search(t)]
        assert bad == [], entry["docx"]
        assert all(len(t.rows) >= 2 for t in document.tables), f"empty table in {entry['docx']}"
        assert entry["missing"] == [], entry["docx"]


def test_batch_analyses_carry_the_real_numbers(example_builds):
    from dossiergen.load import load_dossier
    from dossiergen.model import build_model, results_by_batch

    model = build_model(load_dossier(ROOT / "dossier"))
    batch = next(b for b in model.of_type("batch") if b.data["subject"].startswith("ds-"))
    numeric = next(r for r in results_by_batch(model)[batch.id] if "value" in r)
    entry, document = next((e, d) for e, d in _documents(example_builds["dossier"]) if e["section"] == "3.2.S.4.4")
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert batch.data["number"] in cells
    assert any(c.startswith(f"{numeric['value']}") for c in cells)


@pytest.mark.parametrize("source", list(BUILDS))
def test_libreoffice_opens_every_document(example_builds, source, tmp_path):
    """The real-client check: LibreOffice converts every DOCX without error."""
    import shutil

    inbox = tmp_path / "in"
    inbox.mkdir()
    files = []
    for index, path in enumerate(sorted(example_builds[source].rglob("*.docx"))):
        files.append(inbox / f"{index:03d}-{path.name}")  # names repeat across folders
        shutil.copy(path, files[-1])
    result = libreoffice_convert(files, tmp_path)
    produced = {p.stem for p in tmp_path.glob("*.pdf")}
    missing = [f.name for f in files if f.stem not in produced]
    assert result.returncode == 0, result.stderr
    assert missing == [], result.stderr
    # LibreOffice lays the landscape sections out as such, with the header of the portrait pages
    wide = [f for f, path in zip(files, sorted(example_builds[source].rglob("*.docx"))) if "32s44-batch-analys" in path.as_posix()]
    for docx_file in wide:
        pages = _pdf_pages(tmp_path / f"{docx_file.stem}.pdf")
        texts = [" ".join(w[0] for w in p["words"]) for p in pages]   # a results table's page (not the contents)
        results = [p for p, text in zip(pages, texts) if "results" in text and "Acceptance criterion" in text]
        if source == "dossier":
            assert results and all(p["size"][0] > p["size"][1] for p in results), docx_file.name
        header = " ".join(w[0] for w in pages[0]["words"][:4])
        assert all(" ".join(w[0] for w in p["words"][:4]) == header for p in pages), docx_file.name


# Publishing: searchable text, one layout for A4 and Letter, landscape tables -------------------

TERM = re.compile(r"(?<![\w/-])[A-Za-z][A-Za-z0-9]*(?:[-/][A-Za-z0-9]+)+(?![\w/-])")


def _pdf_pages(path: Path) -> list[dict]:
    """Return each page of a PDF as {size: (w, h) in mm, words: [(text, x0, y0, x1, y1) in mm]}."""
    import html
    import subprocess

    from tools import require_tool

    out = subprocess.run([require_tool("pdftotext"), "-bbox", str(path), "-"], capture_output=True, text=True,
                         check=True).stdout
    pages, mm = [], 25.4 / 72
    for line in out.splitlines():
        page = re.search(r'<page width="([\d.]+)" height="([\d.]+)">', line)
        if page:
            pages.append({"size": (float(page.group(1)) * mm, float(page.group(2)) * mm), "words": []})
        word = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if word:
            pages[-1]["words"].append((html.unescape(word.group(5)), *(float(word.group(i)) * mm for i in range(1, 5))))
    return pages


def _pdf_text(path: Path) -> str:
    import subprocess

    from tools import require_tool

    return subprocess.run([require_tool("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True).stdout


def _docx_terms(document) -> set[str]:
    """Hyphenated and slashed terms of a document's tables and body text (not headings, captions)."""
    from dossiergen.tables import em_width

    texts = [p.text for p in document.paragraphs if not p.style.name.startswith(("Heading", "Table Caption", "toc"))]
    texts += [c.text for t in document.tables for r in t.rows for c in r.cells]
    return {term for text in texts for term in TERM.findall(text) if em_width(term) <= 8}


@pytest.mark.parametrize("source", list(BUILDS))
def test_pdf_text_is_searchable_and_every_page_prints_on_a4_and_letter(example_builds, source):
    """pdftotext finds the hyphenated and slashed terms of every document exactly as in the data
    (no zero-width spaces anywhere, no term split over two lines); every word of every page lies
    where both an A4 and a US Letter sheet print it, with the binding margin on the left."""
    from dossiergen.write.layout import LANDSCAPE, PORTRAIT, safe_area

    folder = example_builds[source]
    lost, outside, checked = [], [], 0
    for entry, document in _documents(folder):
        pages = _pdf_pages(folder / entry["pdf"])
        text = _pdf_text(folder / entry["pdf"])
        assert "\u200b" not in text, entry["pdf"]
        terms = _docx_terms(document)
        checked += len(terms)
        lost += [(entry["section"], t) for t in sorted(terms) if t not in text]
        for number, page in enumerate(pages, 1):
            layout = LANDSCAPE if page["size"][0] > page["size"][1] else PORTRAIT
            assert page["size"] == pytest.approx((layout.width, layout.height), abs=0.5), entry["pdf"]
            left, top, right, bottom = safe_area(layout)
            outside += [(entry["pdf"], number, w[0]) for w in page["words"]
                        if w[1] < left or w[2] < top or w[3] > right or w[4] > bottom]
    assert checked > 100
    assert lost == []
    assert outside == []


def test_wide_tables_are_on_landscape_pages_in_docx_and_pdf(example_builds):
    """Batch analyses of the antibody (14 batches): the results tables are on landscape pages, in
    at most three tables, under the same header and footer as the portrait pages."""
    from docx.oxml.ns import qn

    folder = example_builds["dossier"]
    entry, document = next((e, d) for e, d in _documents(folder) if e["section"] == "3.2.S.4.4")
    pages = _pdf_pages(folder / entry["pdf"])
    captions = [(page, " ".join(w[0] for w in page["words"])) for page in pages]
    results = [page for page, text in captions if "Batch analysis results" in text and "Acceptance criterion" in text]
    assert results and all(page["size"][0] > page["size"][1] for page in results)
    assert pages[0]["size"][0] < pages[0]["size"][1]  # the list of batches stays portrait
    header = " ".join(w[0] for w in pages[0]["words"][:6])
    assert all(" ".join(w[0] for w in page["words"][:6]) == header for page in pages)
    assert all(any(w[0] == "Page" for w in page["words"]) for page in pages)
    assert sum(1 for p in document.paragraphs if p.style.name == "Table Caption" and p.text.startswith("Table 3.2.S.4.4-")
               and "results" in p.text) <= 3
    # DOCX: the section that holds the results tables is landscape, and shares header and footer
    body = document.element.body
    orientation, seen = [], []
    for element in body.iterchildren():
        sect = element.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") if element.tag == qn("w:p") else None
        if element.tag == qn("w:sectPr"):
            sect = element
        if element.tag == qn("w:tbl"):
            seen.append(element)
        if sect is not None:
            orient = sect.find(qn("w:pgSz")).get(qn("w:orient"), "portrait")
            orientation += [orient] * len(seen)
            seen = []
            refs = {r.get(qn("r:id")) for r in sect.findall(qn("w:headerReference")) + sect.findall(qn("w:footerReference"))}
            assert len(refs) == 2
    assert orientation[0] == "portrait" and set(orientation[1:]) == {"landscape"}


def test_docx_sections_print_on_a4_and_letter(example_builds):
    """Every section of every DOCX: A4 paper, text, header and footer inside the area that both A4
    and US Letter print, at least 3/4 in on the left (FDA)."""
    from docx.oxml.ns import qn

    from dossiergen.write.layout import safe_area, Page

    twip = 25.4 / 1440
    for source in BUILDS:
        for entry, document in _documents(example_builds[source]):
            for sect in document.element.body.iter(qn("w:sectPr")):
                size, margin = sect.find(qn("w:pgSz")), sect.find(qn("w:pgMar"))
                get = lambda el, name: int(el.get(qn(f"w:{name}"))) * twip
                page = Page(get(size, "w"), get(size, "h"), get(margin, "left"), get(margin, "right"), get(margin, "top"),
                            get(margin, "bottom"), get(margin, "header"), get(margin, "footer"))
                assert sorted((page.width, page.height)) == pytest.approx([210, 297], abs=0.5), entry["docx"]
                left, top, right, bottom = safe_area(page)
                assert page.left >= left and page.width - page.right <= right, entry["docx"]
                assert page.header_top >= top and page.height - page.footer_bottom <= bottom, entry["docx"]
                assert page.top >= page.header_top + 3.5 and page.bottom >= page.footer_bottom + 3.5, entry["docx"]


@pytest.mark.parametrize("source", list(BUILDS))
def test_long_documents_have_bookmarks_for_tables_and_a_table_of_contents(example_builds, source):
    """Every captioned table and figure is bookmarked under its heading; a document over 5 pages has a
    table of contents in the PDF and, with page numbers Word and LibreOffice show, in the DOCX (of its
    sub-headings, or of its captioned tables and figures when it has none)."""
    import pikepdf

    from dossiergen.write.pdf import contents

    folder, long_ones = example_builds[source], 0
    for entry, document in _documents(folder):
        pdf = (folder / entry["pdf"]).read_bytes()
        marks = contents(pdf)
        captions = [p.text for p in document.paragraphs if p.style.name in ("Table Caption", "Image Caption")]
        titles = [" ".join(title.split()) for title, _ in marks]
        assert [c for c in captions if " ".join(c.split()) not in titles] == [], entry["pdf"]
        if entry["pages"] > 5:
            long_ones += 1
            assert len(marks) > 1, entry["pdf"]
            first_page = _pdf_pages(folder / entry["pdf"])[0]
            assert sum(1 for w in first_page["words"] if w[0] == ".") > 20, f"no contents in {entry['pdf']}"
            toc = [p for p in document.paragraphs if p.style.name.startswith("toc")]
            if any(p.style.name == "Heading 2" for p in document.paragraphs) or captions:
                assert toc and all(re.search(r"\t\d+$", p.text) for p in toc), entry["docx"]
            if captions and not any(p.style.name == "Heading 2" for p in document.paragraphs):
                assert [p.text.rsplit("\t", 1)[0] for p in toc] == captions, entry["docx"]
        with pikepdf.open(folder / entry["pdf"]) as opened:  # nested: a table's bookmark sits under a heading
            with opened.open_outline() as outline:
                assert len(outline.root) == 1 and [i.title for i in outline.root] == [titles[0]], entry["pdf"]
    assert long_ones >= 1


def test_headings_that_do_not_apply_hold_no_document(example_builds):
    """ICH M4 granularity: 3.2.P.4.5 only for an excipient of human or animal origin (or with an
    origin statement), 3.2.P.4.6 only for a novel excipient; no one-line 'is not a novel
    excipient' documents."""
    from dossiergen.load import load_dossier
    from dossiergen.model import build_model

    for source, folder in example_builds.items():
        model = build_model(load_dossier(ROOT / source))
        excipients = {e.data["name"]["en"] if isinstance(e.data["name"], dict) else e.data["name"]: e.data
                      for e in model.of_type("excipient")}
        found = {"3.2.P.4.5": set(), "3.2.P.4.6": set()}
        for entry, document in _documents(folder):
            if entry["section"] in found:
                found[entry["section"]].add(entry["instance"]["excipient"])
                text = " ".join(p.text for p in document.paragraphs[2:])
                assert " is not a novel excipient" not in text, entry["docx"]
                assert text.count(". ") >= 1, f"a one-sentence document: {entry['docx']}"
        used = {entry["instance"]["excipient"] for entry, _ in _documents(folder) if entry["section"] == "3.2.P.4.1"}
        assert used, source
        for name in used:
            data = excipients[name]
            assert (name in found["3.2.P.4.5"]) == bool(data.get("human_or_animal_origin") or data.get("origin_statement")), name
            assert (name in found["3.2.P.4.6"]) == bool(data.get("novel")), name


@pytest.mark.parametrize("source", list(BUILDS))
def test_every_stability_data_document_has_trend_figures(example_builds, source):
    """Each 3.2.P.8.3 (and 3.2.S.7.3) carries numbered trend plots: in the DOCX as pictures with alt
    text, in the PDF as drawn figures with their captions."""
    import pikepdf

    folder = example_builds[source]
    entries = [e for e, _ in _documents(folder) if e["section"] in ("3.2.P.8.3", "3.2.S.7.3")]
    assert any(e["section"] == "3.2.P.8.3" for e in entries)
    for entry in entries:
        document = docx.Document(folder / entry["docx"])
        pictures = document.inline_shapes
        assert len(pictures) >= 1, entry["docx"]
        alts = [shape._inline.docPr.get("descr") for shape in pictures]
        assert all(alt and alt.startswith("Scatter plot of ") for alt in alts), entry["docx"]
        captions = [p.text for p in document.paragraphs if p.text.startswith(f"Figure {entry['section']}-")]
        assert [c.split(" ")[1] for c in captions] == [f"{entry['section']}-{i}" for i in range(1, len(pictures) + 1)]
        for shape in pictures:   # Word shows a PNG of the plot at 150 ppi, as wide as the text
            part = document.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed]
            assert part.content_type == "image/png" and part.blob[:8] == b"\x89PNG\r\n\x1a\n", entry["docx"]
            assert struct.unpack(">II", part.blob[16:24]) == (945, 525), entry["docx"]
            assert shape.width == docx.shared.Inches(6.3), entry["docx"]
        with pikepdf.open(folder / entry["pdf"]) as pdf:  # the tagged PDF's figures and their alt text
            figures = [str(node.get("/Alt")) for node in struct_nodes(pdf.Root.StructTreeRoot) if node.get("/S") == "/Figure"]
            assert not any(page.get_images() for page in pdf.pages), entry["pdf"]   # vector drawings (nested in forms too)
        assert figures == alts, entry["pdf"]



@pytest.mark.parametrize("source", list(BUILDS))
def test_every_process_document_has_a_flow_diagram(example_builds, source):
    """ICH M4Q(R1) 3.2.S.2.2 and 3.2.P.3.3 ask for a flow diagram: each process document carries one
    (or a process split over several), numbered, with alt text naming every step, in DOCX and PDF."""
    import pikepdf

    from dossiergen.load import load_dossier
    from dossiergen.model import build_model

    folder = example_builds[source]
    model = build_model(load_dossier(ROOT / source))
    entries = [e for e, _ in _documents(folder) if e["section"].endswith(("S.2.2", "P.3.3"))]
    assert {e["section"][-5:] for e in entries} == {"S.2.2", "P.3.3"}
    for entry in entries:
        document = docx.Document(folder / entry["docx"])
        alts = [shape._inline.docPr.get("descr") for shape in document.inline_shapes]
        assert alts and all(a.startswith("Flow diagram of the manufacturing process: ") for a in alts), entry["docx"]
        number = entry["title"].split(" ")[0]
        captions = [p.text for p in document.paragraphs if p.style.name == "Image Caption"]
        assert [c.split(" ")[1] for c in captions] == [f"{number}-{i}" for i in range(1, len(alts) + 1)], entry["docx"]
        scope = "substance" if entry["section"].endswith("S.2.2") else "product"
        alt = " ".join(alts).replace("\u00a0", " ")   # the steps of one process, every one of them, each once
        shown = [[f"Process step {s['number']} {_en(s['name'])}" for s in e.data["manufacture"]["process"]["steps"]]
                 for e in model.of_type(scope)]
        assert any(all(alt.count(step) == 1 for step in steps) for steps in shown), entry["docx"]
        with pikepdf.open(folder / entry["pdf"]) as pdf:
            figures = [str(node.get("/Alt")) for node in struct_nodes(pdf.Root.StructTreeRoot) if node.get("/S") == "/Figure"]
        assert figures == alts, entry["pdf"]


def _en(text) -> str:
    return text["en"] if isinstance(text, dict) else text


@pytest.mark.parametrize("source", list(BUILDS))
def test_no_document_is_a_single_sentence(example_builds, source):
    """ICH M4 granularity: a heading that does not apply holds no document (its absence stated where a
    reader looks for it, e.g. a compendial excipient's 3.2.P.4.1), so no document of the examples is one
    sentence such as 'L-Histidine is not a novel excipient.' or 'No regional information.'"""
    for entry, document in _documents(example_builds[source]):
        if document.tables or document.inline_shapes:
            continue
        body = [p.text for p in document.paragraphs[1:] if p.text.strip() and not p.style.name.startswith("toc")
                and not (p.runs and p.runs[0].bold and ":" in p.text)]   # the instance line and labelled values
        sentences = [s for s in re.split(r"(?<=[.。;；!?])\s+|(?<=[。；])", " ".join(body)) if s.strip()]
        assert len(sentences) > 1, f"a one-sentence document: {entry['docx']}: {' '.join(body)[:120]}"
