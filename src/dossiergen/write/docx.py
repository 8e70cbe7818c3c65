"""Markdown -> DOCX through pandoc with the house reference.docx, then python-docx for what
pandoc does not do: header and footer fields, a TOC field, repeating table header rows, table
text styles, document properties, language tags, deterministic zip entries."""

from __future__ import annotations

import io
from dataclasses import dataclass

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from ..clock import now
from .pandoc import convert_batch
from .ooxml import add_field, add_field_end, add_field_start, save_document, set_child

FOOTER_WORDS = {"en": ("Page ", " of "), "zh": ("第 ", " 页 共 ", " 页")}


@dataclass(frozen=True)
class DocxMeta:
    """What the DOCX carries besides its body: header line, properties and language."""

    title: str
    subject: str
    header: str
    lang: str


def write_docx(markdown: str, meta: DocxMeta) -> bytes:
    """Return the DOCX bytes of one document."""
    return finish_docx(convert_batch([(markdown, None)])[0].docx, meta)


def write_report_docx(markdown: str, meta: DocxMeta, highlight: dict[str, str]) -> bytes:
    """Return a report's DOCX with the table cells whose whole text is a key shaded in its colour
    (e.g. MISSING in red), so a reader's eye finds them."""
    document = docx.Document(io.BytesIO(write_docx(markdown, meta)))
    for tc in document.element.body.iter(qn("w:tc")):
        fill = highlight.get("".join(t.text or "" for t in tc.iter(qn("w:t"))).strip())
        if fill:
            set_child(tc.get_or_add_tcPr(), "w:shd", val="clear", color="auto", fill=fill)
            for r in tc.iter(qn("w:r")):
                set_child(r.get_or_add_rPr(), "w:b")
    return save_document(document)


def finish_docx(converted: bytes, meta: DocxMeta) -> bytes:
    """Return the finished DOCX bytes of pandoc's DOCX for one document."""
    document = docx.Document(io.BytesIO(converted))
    _links_to_docx(document)
    _style_tables(document)
    _header_footer(document, meta)
    _table_of_contents(document)
    _language(document, meta.lang)
    _properties(document, meta)
    return save_document(document)


def _links_to_docx(document) -> None:
    """Point relative links at the sibling DOCX: the docx/ tree mirrors the eCTD tree of PDFs."""
    for rel in document.part.rels.values():
        if rel.is_external and rel.reltype.endswith("/hyperlink") and rel._target.endswith(".pdf") and "://" not in rel._target:
            rel._target = rel._target[:-4] + ".docx"


def _style_tables(document) -> None:
    """Repeat header rows, keep rows whole, shade the header and use the 9–10 pt table styles.

    Works on the XML directly: python-docx's cell objects are slow on large tables."""
    heading_id = document.styles["Table Heading"].style_id
    text_id = document.styles["Table Text"].style_id
    for tbl in document.element.body.iter(qn("w:tbl")):
        for index, tr in enumerate(tbl.iterchildren(qn("w:tr"))):
            tr_pr = tr.get_or_add_trPr()
            if index == 0:
                set_child(tr_pr, "w:tblHeader", val="true")
            set_child(tr_pr, "w:cantSplit", val="true")
            for tc in tr.iterchildren(qn("w:tc")):
                if index == 0:
                    set_child(tc.get_or_add_tcPr(), "w:shd", val="clear", color="auto", fill="E7E6E6")
                for p in tc.iter(qn("w:p")):
                    set_child(p.get_or_add_pPr(), "w:pStyle", val=heading_id if index == 0 else text_id)


def _header_footer(document, meta: DocxMeta) -> None:
    section = document.sections[0]
    header = section.header.paragraphs[0] if section.header.paragraphs else section.header.add_paragraph()
    header.text = meta.header
    header.style = document.styles["Header"]
    footer = section.footer.paragraphs[0] if section.footer.paragraphs else section.footer.add_paragraph()
    footer.style = document.styles["Footer"]
    footer.alignment = 1  # centre
    words = FOOTER_WORDS.get(meta.lang, FOOTER_WORDS["en"])
    footer.add_run(words[0])
    add_field(footer, "PAGE")
    footer.add_run(words[1])
    add_field(footer, "NUMPAGES")
    if len(words) > 2:
        footer.add_run(words[2])


def _table_of_contents(document) -> None:
    """Insert a TOC field before the first sub-heading when there are several.

    The field's result is pre-filled with the headings, so the document reads right in any
    viewer before fields are updated (LibreOffice does not update them on opening). Works on
    the XML: python-docx's paragraph and style objects are slow on long documents."""
    levels = {document.styles[name].style_id: name for name in ("Heading 2", "Heading 3")}
    body = document.element.body
    headings = [(p, levels[style]) for p in body.iterchildren(qn("w:p"))
                if (style := p.xpath("string(w:pPr/w:pStyle/@w:val)")) in levels]
    if sum(level == "Heading 2" for _, level in headings) < 2:
        return
    anchor = headings[0][0]
    for index, (heading, level) in enumerate(headings):
        entry = OxmlElement("w:p")
        anchor.addprevious(entry)
        paragraph = Paragraph(entry, document._body)
        paragraph.style = document.styles["toc 2" if level == "Heading 2" else "toc 3"]
        if index == 0:
            add_field_start(paragraph, 'TOC \\o "2-3" \\h \\z \\u')
        paragraph.add_run(Paragraph(heading, document._body).text)
        if index == len(headings) - 1:
            add_field_end(paragraph)
    set_child(document.settings.element, "w:updateFields", val="true")


def _language(document, lang: str) -> None:
    defaults = document.styles.element.find(qn("w:docDefaults"))
    r_pr = set_child(set_child(defaults, "w:rPrDefault"), "w:rPr")
    set_child(r_pr, "w:lang", val="zh-CN" if lang == "zh" else "en-US", eastAsia="zh-CN", bidi="ar-SA")


CORE_PROPERTY_LIMIT = 255  # characters Word (and python-docx) allow in a core property


def _fit(text: str) -> str:
    """Return a core property's text, cut to the limit with an ellipsis (the document shows it whole)."""
    return text if len(text) <= CORE_PROPERTY_LIMIT else text[:CORE_PROPERTY_LIMIT - 1].rstrip() + "…"


def _properties(document, meta: DocxMeta) -> None:
    props = document.core_properties
    props.title, props.subject = _fit(meta.title), _fit(meta.subject)
    props.author = props.last_modified_by = "dossiergen"
    props.language = "zh-CN" if meta.lang == "zh" else "en-US"
    props.created = props.modified = now().replace(tzinfo=None)
    props.revision = 1
