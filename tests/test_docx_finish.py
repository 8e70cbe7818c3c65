"""Finishing pandoc's DOCX (header, footer, contents, table styles, landscape sections, properties)
on the lean package gives the bytes python-docx gives, and what it remembers between documents
(keyed by bytes) never leaks from one document into another."""

from __future__ import annotations

import io
import zipfile

import pytest

from dossiergen.write import ooxml
from dossiergen.write.docx import (DocxMeta, _finish_with_python_docx, _LeanDocument, _NotLean, _styles_of_part,
                                   finish_docx)
from dossiergen.write.pandoc import convert_batch

META = DocxMeta(title="3.2.P.5.1 Specifications", subject="Test", header="Test · 3.2.P.5.1", lang="en")
ZH = DocxMeta(title="3.2.P.5.1 质量标准", subject="测试", header="测试 · 3.2.P.5.1", lang="zh")

TABLE = "| Test | Method | Acceptance criterion |\n|---|---|---|\n| Assay | HPLC | 95.0–105.0 % |\n| pH | Ph. Eur. 2.2.3 | 6.5–7.5 |\n"
DOCUMENTS = [
    # sub-headings (a contents field), a table with a caption, links to sibling PDFs and the web
    "# 3.2.P.5.1 Specifications\n\n## Release\n\n" + TABLE + "\nTable: Release specification\n\n"
    "See [3.2.P.5.2](../32p52/procedures.pdf) and [ICH](https://www.ich.org/q6a.pdf).\n\n"
    "## Shelf life\n\nText.\n\n### Details\n\n- one\n- two\n",
    # a landscape region in the middle and one at the end of the document
    "# 3.2.P.8.3 Stability Data\n\nBefore.\n\n::: landscape\n" + TABLE + "\n:::\n\nBetween.\n\n"
    "::: landscape\n" + TABLE + "\n:::\n",
    # a landscape region at the start, no sub-headings, captions only (contents of tables when long)
    "::: landscape\n" + TABLE + "\nTable: First\n:::\n\n# 3.2.S.4.4 Batch Analyses\n\n" + TABLE + "\nTable: Second\n",
    # a footnote (pandoc converts it alone) with a link, and a heading with leading and trailing spaces
    "# 3.2.P.2 Pharmaceutical Development\n\n## Development\n\nText.[^1]\n\n## ` Spaced `\n\nMore.\n\n"
    "[^1]: See [3.2.P.1](../32p1/description.pdf).\n",
]


@pytest.fixture(scope="module")
def converted() -> list[bytes]:
    """pandoc's DOCX of DOCUMENTS, and the first edited into what pandoc writes rarely or never:
    cell paragraphs without a style or without properties, a table in a cell, headings with
    outer spaces and a tab."""
    documents = [done.docx for done in convert_batch([(markdown, None) for markdown in DOCUMENTS])]
    body = zipfile.ZipFile(io.BytesIO(documents[0])).read("word/document.xml").decode("utf-8")
    table = body[body.index("<w:tbl>"):body.index("</w:tbl>") + len("</w:tbl>")]
    edits = [('<w:p><w:pPr><w:pStyle w:val="Compact"/></w:pPr><w:r><w:t xml:space="preserve">Assay',
              '<w:p><w:r><w:t xml:space="preserve">Assay'),
             ('<w:p><w:pPr><w:pStyle w:val="Compact"/></w:pPr><w:r><w:t xml:space="preserve">HPLC',
              '<w:p><w:pPr><w:jc w:val="left"/></w:pPr><w:r><w:t xml:space="preserve">HPLC'),
             ('6.5–7.5</w:t></w:r></w:p>', '6.5–7.5</w:t></w:r></w:p>' + table.replace(
                 '<w:trPr><w:tblHeader w:val="on"/></w:trPr>', "")),  # its header row without properties
             ('<w:t xml:space="preserve">Release</w:t>', '<w:t xml:space="preserve"> Release </w:t>'),
             ('<w:t xml:space="preserve">Shelf life</w:t>', '<w:t xml:space="preserve"> Shelf </w:t><w:tab/><w:t>life</w:t>')]
    for old, new in edits:
        assert body.count(old) == 1, old
        body = body.replace(old, new)
    return documents + [_with_member(documents[0], "word/document.xml", body.encode("utf-8"))]


@pytest.mark.parametrize("pages", [None, 3, 12])
@pytest.mark.parametrize("meta", [META, ZH], ids=["en", "zh"])
def test_the_lean_finish_gives_python_docx_bytes(converted, meta, pages):
    """Every document, language and page count (no contents, contents of headings, contents of
    captions): the same DOCX bytes as python-docx's Document gives, so Word and LibreOffice read
    the same document; the lean path is the one taken."""
    contents = [("Release", 2), ("Shelf life", 3), ("Second", 4)]
    for docx in converted:
        _LeanDocument(docx)  # does not raise _NotLean: pandoc's DOCX is finished the lean way
        assert finish_docx(docx, meta, pages, contents) == _finish_with_python_docx(docx, meta, pages, contents)


def test_finished_documents_carry_the_header_footer_contents_and_table_styles(converted):
    """What the reader sees: the header line, the page footer, the contents field with its page
    numbers, repeating and shaded header rows, a landscape section with the same header."""
    finished = zipfile.ZipFile(io.BytesIO(finish_docx(converted[0], META, 12, [("Release", 2), ("Shelf life", 3)])))
    assert "Test · 3.2.P.5.1" in finished.read("word/header1.xml").decode("utf-8")
    footer = finished.read("word/footer1.xml").decode("utf-8")
    assert "Page " in footer and " PAGE " in footer and " NUMPAGES " in footer
    body = finished.read("word/document.xml").decode("utf-8")
    assert 'TOC \\o "2-3"' in body and "<w:t>Release</w:t></w:r><w:r><w:tab/></w:r><w:r><w:t>2</w:t>" in body
    assert '<w:tblHeader w:val="true"/><w:cantSplit w:val="true"/>' in body and 'w:fill="E7E6E6"' in body
    assert "../32p52/procedures.docx" in finished.read("word/_rels/document.xml.rels").decode("utf-8")
    landscape = zipfile.ZipFile(io.BytesIO(finish_docx(converted[1], META))).read("word/document.xml").decode("utf-8")
    assert landscape.count('w:orient="landscape"') == 2 and landscape.count("<w:headerReference") == 3


def test_a_docx_with_a_header_already_goes_through_python_docx(converted):
    """A DOCX the lean path does not know (here one already finished: it has a header) is
    finished by python-docx, with its result."""
    finished = finish_docx(converted[0], META)
    with pytest.raises(_NotLean):
        _LeanDocument(finished)
    assert finish_docx(finished, ZH) == _finish_with_python_docx(finished, ZH, None, None)


def test_nothing_remembered_leaks_into_another_document(converted):
    """Parts, styles, headers and deflated bytes are remembered by their bytes: a document whose
    styles, settings or header differ from the one before is finished from its own, and the
    styles element kept for look-ups is never edited."""
    docx = converted[0]
    source = zipfile.ZipFile(io.BytesIO(docx))
    styles = source.read("word/styles.xml")
    changed = styles.replace(b'w:styleId="Compact"', b'w:styleId="Compact2"', 1)
    assert changed != styles
    other = _with_member(_with_member(docx, "word/styles.xml", changed), "word/settings.xml",
                         source.read("word/settings.xml").replace(b"<w:zoom ", b"<w:zoom w:val=\"none\" ", 1))
    for meta in (META, ZH, DocxMeta("Other", "Other", "Another header", "en")):
        for pages in (None, 12):
            first = finish_docx(docx, meta, pages)
            second = finish_docx(other, meta, pages)
            assert first != second
            assert first == _finish_with_python_docx(docx, meta, pages, None)
            assert second == _finish_with_python_docx(other, meta, pages, None)
            assert finish_docx(docx, meta, pages) == first
    kept = _styles_of_part(styles).document.styles.element
    assert ooxml.serialize_part_xml(kept) == ooxml._reserialized(styles)


def _with_member(docx: bytes, name: str, blob: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, blob if info.filename == name else source.read(info.filename))
    return out.getvalue()


def _zipfile_bytes(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, blob in members:
            info = zipfile.ZipInfo(name, ooxml.FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, blob)
    return out.getvalue()


def test_the_zip_is_the_bytes_zipfile_writes_and_reused_deflation_is_never_stale():
    """fixed_time_zip writes zipfile's records (names ASCII or not, empty members, incompressible
    ones); a shared member whose bytes change under the same name is deflated afresh."""
    members = [("[Content_Types].xml", b"<Types/>" * 40), ("word/document.xml", "Prüfung ±2 %".encode() * 500),
               ("word/média/é.png", bytes(range(256)) * 64), ("empty", b"")]
    shared = frozenset(name for name, _ in members)
    assert ooxml.fixed_time_zip(members) == ooxml.fixed_time_zip(members, shared) == _zipfile_bytes(members)
    changed = [(name, blob + b"!") for name, blob in members]
    written = ooxml.fixed_time_zip(changed, shared)
    assert written == _zipfile_bytes(changed)
    archive = zipfile.ZipFile(io.BytesIO(written))
    assert archive.testzip() is None
    assert [(name, archive.read(name)) for name in archive.namelist()] == changed


def test_rare_cells_and_headings_are_styled_as_before(converted):
    """The edited document (written by the code before issue 19's lean path, python-docx's calls
    throughout): a cell paragraph without a style or without properties gets the table text style
    (first in its properties), a table in a cell gets its own header style and rows kept whole,
    (header row properties added in order when it has none), and contents entries keep a
    heading's outer spaces and its tab."""
    body = zipfile.ZipFile(io.BytesIO(finish_docx(converted[-1], META, 12, [("Release", 3)]))).read(
        "word/document.xml").decode("utf-8")
    assert '<w:p><w:pPr><w:pStyle w:val="TableText"/></w:pPr><w:r><w:t xml:space="preserve">Assay' in body
    assert '<w:pPr><w:pStyle w:val="TableText"/><w:jc w:val="left"/></w:pPr><w:r><w:t xml:space="preserve">HPLC' in body
    assert (body.count('w:val="TableHeading"'), body.count('w:val="TableText"')) == (6, 12)
    assert (body.count("<w:tblHeader"), body.count("<w:cantSplit")) == (2, 6)
    assert '<w:trPr><w:tblHeader w:val="true"/><w:cantSplit w:val="true"/></w:trPr>' in body
    assert ('<w:r><w:t xml:space="preserve"> Release </w:t></w:r><w:r><w:tab/></w:r><w:r><w:t>3</w:t></w:r></w:p>'
            '<w:p><w:pPr><w:pStyle w:val="toc2"/></w:pPr><w:r><w:t xml:space="preserve"> Shelf </w:t><w:tab/><w:t>life</w:t>'
            '</w:r></w:p>') in body
