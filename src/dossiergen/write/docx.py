"""Markdown -> DOCX through pandoc with the house reference.docx, then python-docx for what
pandoc does not do: header and footer fields, a TOC field, repeating table header rows, table
text styles, document properties, language tags, deterministic zip entries.

pandoc's DOCX is finished on a LeanPackage (ooxml.py): python-docx's elements and calls for the
parts edited, the other parts' bytes carried over as python-docx would write them (issue 19: a
third of the CPU time, the same bytes); any other DOCX goes through python-docx's Document."""

from __future__ import annotations

import copy
import functools
import io
from dataclasses import dataclass

import docx
from docx.enum.section import WD_HEADER_FOOTER
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.coreprops import CoreProperties
from docx.opc.oxml import serialize_part_xml
from docx.opc.packuri import PACKAGE_URI
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.parts.hdrftr import FooterPart, HeaderPart
from docx.settings import Settings
from docx.styles import BabelFish
from docx.styles.style import StyleFactory
from docx.styles.styles import Styles
from docx.text.paragraph import Paragraph
from lxml import etree

from ..clock import now
from .layout import LANDSCAPE, PORTRAIT, Page
from .pandoc import LANDSCAPE_MARKER, convert_batch
from .ooxml import LeanPackage, add_field, add_field_end, add_field_start, save_document, set_child

_W = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
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


def finish_docx(converted: bytes, meta: DocxMeta, pages: int | None = None,
                contents: list[tuple[str, int]] | None = None) -> bytes:
    """Return the finished DOCX bytes of pandoc's DOCX for one document.

    With the page count and the (title, page) contents of its PDF rendition, a document over
    5 pages gets a table of contents, and the contents show those page numbers until Word
    updates the field.

    A DOCX as pandoc writes it (no header or footer yet, styles, settings and core properties
    present) is finished on a LeanPackage: the same edits on the same elements, the same bytes
    as through python-docx, at a fraction of the cost; any other goes through python-docx."""
    try:
        document = _LeanDocument(converted)
    except _NotLean:
        return _finish_with_python_docx(converted, meta, pages, contents)
    styles = _styles_of_part(document.package.blobs[document.styles_part])
    _links_to_docx(document)
    _landscape_sections(document)
    _style_tables(document, styles)
    document.add_story(_HEADER, _fill_header, meta.header, styles.paragraph_id("Header"))
    document.add_story(_FOOTER, _fill_footer, meta.lang, styles.paragraph_id("Footer"))
    _same_header_footer(document)
    _table_of_contents(document, pages, contents or [], styles)
    document.package.written[document.styles_part] = _styles_xml(document.package.blobs[document.styles_part], meta.lang)
    _properties(document, meta)
    return document.save()


def _finish_with_python_docx(converted: bytes, meta: DocxMeta, pages: int | None,
                             contents: list[tuple[str, int]] | None) -> bytes:
    """finish_docx through python-docx's Document: for any DOCX (the reference behaviour)."""
    document = docx.Document(io.BytesIO(converted))
    _links_to_docx(document)
    _landscape_sections(document)
    styles = _Styles(document)
    _style_tables(document, styles)
    _header_footer(document, meta, styles)
    _table_of_contents(document, pages, contents or [], styles)
    _language(document.styles.element, meta.lang)
    _properties(document, meta)
    return save_document(document)


class _NotLean(Exception):
    """The DOCX is not one the lean path finishes: python-docx does it."""


_HEADER = ("/word/header%d.xml", RT.HEADER, CT.WML_HEADER, HeaderPart._default_header_xml(), "add_headerReference")
_FOOTER = ("/word/footer%d.xml", RT.FOOTER, CT.WML_FOOTER, FooterPart._default_footer_xml(), "add_footerReference")


class _LeanDocument:
    """What the finishing steps use of a python-docx Document (element, part.rels, settings,
    core_properties, the first section's new header and footer), over a LeanPackage."""

    def __init__(self, converted: bytes):
        try:  # anything unexpected (a broken package too): python-docx does it, or says what is wrong
            package = self.package = LeanPackage(converted)
            self.main = package.related(PACKAGE_URI, RT.OFFICE_DOCUMENT)
            self.styles_part = package.related(self.main, RT.STYLES)
            self.settings_part = package.related(self.main, RT.SETTINGS)
            self.core_part = package.related(PACKAGE_URI, RT.CORE_PROPERTIES)
            wanted = {self.main: CT.WML_DOCUMENT_MAIN, self.styles_part: CT.WML_STYLES,
                      self.settings_part: CT.WML_SETTINGS, self.core_part: CT.OPC_CORE_PROPERTIES}
            self.element = package.element(self.main)
            sections = self.element.sectPr_lst
        except Exception as error:
            raise _NotLean from error
        if any(package.content_types[name] != content_type for name, content_type in wanted.items()):
            raise _NotLean
        references = (qn("w:headerReference"), qn("w:footerReference"))
        if not sections or any(next(sect.iterchildren(*references), None) is not None for sect in sections):
            raise _NotLean  # python-docx keeps (or inherits) an existing header or footer
        self.part = self
        self.rels = package.rels[self.main]
        self._body = None  # the parent of Paragraph proxies: the steps read and add runs only
        self.stories: list[str] = []

    @property
    def settings(self):
        return Settings(self.package.element(self.settings_part))

    @property
    def core_properties(self):
        return CoreProperties(self.package.element(self.core_part))

    def add_story(self, kind, fill, *args) -> None:
        """Add the first section's header or footer as `is_linked_to_previous = False` does
        (a new part from python-docx's template, the next free name and rId, a reference in
        the first sectPr), its first paragraph filled by `fill(paragraph, *args)`."""
        template, reltype, content_type, xml, add_reference = kind
        partname, rId = self.package.add_part(self.main, template, reltype, content_type, None)
        getattr(self.element.sectPr_lst[0], add_reference)(WD_HEADER_FOOTER.PRIMARY, rId)
        self.package.written[partname] = _story_xml(xml, fill, *args)
        self.stories.append(partname)

    def save(self) -> bytes:
        """The DOCX bytes; the parts not this document's own are deflated once per process (by bytes)."""
        return self.package.save(frozenset(name.membername for name in (self.main, self.core_part, *self.stories)))


@functools.lru_cache(maxsize=64)
def _story_xml(xml: bytes, fill, *args) -> bytes:
    """A new header or footer part's bytes: python-docx's template with its first paragraph
    filled by `fill(paragraph, *args)`, remembered for the same template, function and values."""
    element = parse_xml(xml)
    paragraphs = element.p_lst  # what story.paragraphs[0] is, or story.add_paragraph() adds
    fill(Paragraph(paragraphs[0] if paragraphs else element.add_p(), None), *args)
    return serialize_part_xml(element)


class _StylesOnly:
    """The document a _Styles reads from: the styles, and get_style_id (DocumentPart's)."""

    def __init__(self, element):
        self.styles = Styles(element)
        self.part = self

    def get_style_id(self, style, style_type):
        return self.styles.get_style_id(style, style_type)


@functools.lru_cache(maxsize=16)
def _styles_of_part(blob: bytes) -> "_Styles":
    """The style look-ups of a styles part, kept for its bytes (the key): _Styles only reads
    the w:style elements, and the part's element here is never edited (_styles_xml is)."""
    return _Styles(_StylesOnly(parse_xml(blob)))


@functools.lru_cache(maxsize=16)
def _styles_xml(blob: bytes, lang: str) -> bytes:
    """The finished styles part: the part's bytes with the language defaults (_language)."""
    element = parse_xml(blob)
    _language(element, lang)
    return serialize_part_xml(element)


_STYLE_BY_NAME = etree.XPath("w:style[w:name/@w:val = $name]", namespaces=_W)


class _Styles:
    """document.styles[name], with one compiled XPath: python-docx compiles one per look-up."""

    def __init__(self, document):
        self.document = document
        self.paragraph_ids: dict[str, str | None] = {}
        self.style_ids: dict[str, str] = {}

    def __getitem__(self, name: str):
        found = _STYLE_BY_NAME(self.document.styles.element, name=BabelFish.ui2internal(name))
        return StyleFactory(found[0]) if found else self.document.styles[name]

    def style_id(self, name: str) -> str:
        """Return self[name].style_id, looked up once per name."""
        if name not in self.style_ids:
            self.style_ids[name] = self[name].style_id
        return self.style_ids[name]

    def paragraph_id(self, name: str) -> str | None:
        """Return the id `paragraph.style = document.styles[name]` writes (None for the default
        paragraph style), without python-docx's scan of every style for the default on each call."""
        if name not in self.paragraph_ids:
            style = self[name]
            if style.type != WD_STYLE_TYPE.PARAGRAPH or style.element.default:  # python-docx's rule (raises)
                self.paragraph_ids[name] = self.document.part.get_style_id(style, WD_STYLE_TYPE.PARAGRAPH)
            else:
                self.paragraph_ids[name] = style.style_id  # a style not marked default is never the default
        return self.paragraph_ids[name]


def _links_to_docx(document) -> None:
    """Point relative links at the sibling DOCX: the docx/ tree mirrors the eCTD tree of PDFs."""
    for rel in document.part.rels.values():
        if rel.is_external and rel.reltype.endswith("/hyperlink") and rel._target.endswith(".pdf") and "://" not in rel._target:
            rel._target = rel._target[:-4] + ".docx"


TWIPS_PER_MM = 1440 / 25.4


def _section_properties(like, page: Page):
    """Return a copy of section properties `like` with the page size and margins of `page`;
    it keeps their header and footer references, so every section shows the same ones."""
    sect = copy.deepcopy(like)
    size = {"w": str(round(page.width * TWIPS_PER_MM)), "h": str(round(page.height * TWIPS_PER_MM))}
    if page.landscape:
        size["orient"] = "landscape"
    set_child(sect, "w:pgSz", **size)
    set_child(sect, "w:pgMar", **{name: str(round(value * TWIPS_PER_MM)) for name, value in (
        ("top", page.top), ("right", page.right), ("bottom", page.bottom), ("left", page.left),
        ("header", page.header_top), ("footer", page.footer_bottom), ("gutter", 0))})
    return sect


def _landscape_sections(document) -> None:
    """Turn the marker paragraphs around a landscape region (convert.lua) into section breaks:
    the pages before stay portrait, the region's are landscape, with the same header and footer."""
    body = document.element.body
    final = body.find(qn("w:sectPr"))
    # one XPath finds the few marker paragraphs (the string value of a w:p is its itertext)
    for p in etree.ElementBase.xpath(body, "w:p[starts-with(., $marker)]", namespaces=_W, marker=LANDSCAPE_MARKER):
        text = "".join(p.itertext())
        if not text.startswith(LANDSCAPE_MARKER):
            continue
        page = PORTRAIT if text.endswith("start") else LANDSCAPE
        if page is PORTRAIT and p.getprevious() is None:  # the document starts landscape
            body.remove(p)
            continue
        following = p.getnext()
        if page is LANDSCAPE and (following is None or following is final):
            # the document ends landscape: its last section turns, rather than leave a blank page
            body.remove(p)
            landscape = _section_properties(final, LANDSCAPE)
            for child in ("w:pgSz", "w:pgMar"):
                final.replace(final.find(qn(child)), landscape.find(qn(child)))
            continue
        for child in list(p):
            p.remove(child)
        p.get_or_add_pPr().append(_section_properties(final, page))


def _table_widths(tbl, page: Page) -> None:
    """Give the table's grid the section's text width, in the column shares pandoc wrote."""
    cols = list(tbl.iterchildren(qn("w:tblGrid")))
    grid = cols[0].findall(qn("w:gridCol")) if cols else []
    total = sum(int(c.get(qn("w:w"), "0")) for c in grid)
    if not total:
        return
    width = page.text_width * TWIPS_PER_MM
    for col in grid:
        col.set(qn("w:w"), str(round(int(col.get(qn("w:w"))) * width / total)))


def _style_tables(document, styles: _Styles) -> None:
    """Repeat header rows, keep rows whole, shade the header and use the 9–10 pt table styles;
    give each table the text width of its page (portrait or landscape section).

    Works on the XML directly: python-docx's cell objects are slow on large tables."""
    heading_id = styles.style_id("Table Heading")
    text_id = styles.style_id("Table Text")
    landscape = False
    p_tag, tbl_tag, sect_path = qn("w:p"), qn("w:tbl"), f"{qn('w:pPr')}/{qn('w:sectPr')}"
    for element in document.element.body.iterchildren(p_tag, tbl_tag):
        if element.tag == p_tag:
            sect = element.find(sect_path)
            if sect is not None:  # ends a section: what follows is the other orientation
                landscape = sect.find(qn("w:pgSz")).get(qn("w:orient")) != "landscape"
        else:
            _table_widths(element, LANDSCAPE if landscape else PORTRAIT)
    tr_tag, tc_tag, tr_pr_tag, tc_pr_tag, tblpr_ex_tag = (qn(t) for t in ("w:tr", "w:tc", "w:trPr", "w:tcPr", "w:tblPrEx"))
    for tbl in document.element.body.iter(qn("w:tbl")):
        for index, tr in enumerate(tbl.iterchildren(tr_tag)):
            tr_pr = tr.find(tr_pr_tag)  # what get_or_add_trPr finds; it adds one in schema order
            if tr_pr is None:  # the row properties set_child would build, copied whole, placed as
                tr_pr = copy.deepcopy(_HEADER_ROW if index == 0 else _BODY_ROW)  # CT_Row._insert_trPr
                ex = tr.find(tblpr_ex_tag)
                ex.addnext(tr_pr) if ex is not None else tr.insert(0, tr_pr)
            else:
                if index == 0:
                    set_child(tr_pr, "w:tblHeader", val="true")
                set_child(tr_pr, "w:cantSplit", val="true")
            if index == 0:
                for tc in tr.iterchildren(tc_tag):
                    tc_pr = tc.find(tc_pr_tag)
                    set_child(tc_pr if tc_pr is not None else tc.get_or_add_tcPr(), "w:shd",
                              val="clear", color="auto", fill="E7E6E6")
        # every paragraph of a cell (nested tables' too, which their own turn sets again)
        styled = 0
        for style_id, first in ((heading_id, True), (text_id, False)):
            for p_style in _CELL_STYLES(tbl, first=first):  # p.find(w:pPr).find(w:pStyle)
                p_style.set(_VAL, style_id)
                styled += 1
        if styled == _CELL_PARAGRAPHS(tbl):
            continue  # no cell paragraph without a style (pandoc gives each one)
        for style_id, first in ((heading_id, True), (text_id, False)):
            for p in _CELL_UNSTYLED(tbl, first=first):
                p_pr = p.find(_PPR)
                set_child(p_pr if p_pr is not None else p.get_or_add_pPr(), "w:pStyle", val=style_id)


_CELL_STYLES = etree.XPath("w:tr[(position() = 1) = $first]/w:tc//w:p/w:pPr[1]/w:pStyle[1]", namespaces=_W)
_CELL_PARAGRAPHS = etree.XPath("count(w:tr/w:tc//w:p)", namespaces=_W)
_CELL_UNSTYLED = etree.XPath("w:tr[(position() = 1) = $first]/w:tc//w:p[not(w:pPr[1]/w:pStyle)]", namespaces=_W)


def _row_properties(header: bool):
    """The w:trPr that set_child builds in a row without one: w:tblHeader first for the header row."""
    tr_pr = OxmlElement("w:trPr")
    if header:
        set_child(tr_pr, "w:tblHeader", val="true")
    set_child(tr_pr, "w:cantSplit", val="true")
    return tr_pr


_HEADER_ROW, _BODY_ROW = _row_properties(True), _row_properties(False)


def _first_paragraph(story) -> Paragraph:
    """Return the first section's header's or footer's first paragraph, added when it has none.

    A first section inherits from no section before it: its definition is added at once, which
    spares python-docx's search of the whole body for a preceding section."""
    if story.is_linked_to_previous:
        story.is_linked_to_previous = False
    paragraphs = story.paragraphs
    return paragraphs[0] if paragraphs else story.add_paragraph()


def _header_footer(document, meta: DocxMeta, styles: _Styles) -> None:
    section = document.sections[0]
    _fill_header_footer(_first_paragraph(section.header), _first_paragraph(section.footer), meta, styles)
    _same_header_footer(document)


def _fill_header_footer(header: Paragraph, footer: Paragraph, meta: DocxMeta, styles: _Styles) -> None:
    _fill_header(header, meta.header, styles.paragraph_id("Header"))
    _fill_footer(footer, meta.lang, styles.paragraph_id("Footer"))


def _fill_header(header: Paragraph, text: str, style_id: str | None) -> None:
    header.clear()  # header.text = text
    _add_run(header, text)
    header._p.style = style_id


def _fill_footer(footer: Paragraph, lang: str, style_id: str | None) -> None:
    footer._p.style = style_id
    footer.alignment = 1  # centre
    words = FOOTER_WORDS.get(lang, FOOTER_WORDS["en"])
    footer.add_run(words[0])
    add_field(footer, "PAGE")
    footer.add_run(words[1])
    add_field(footer, "NUMPAGES")
    if len(words) > 2:
        footer.add_run(words[2])


def _same_header_footer(document) -> None:
    """Give every section (landscape ones too) the first section's header and footer references:
    explicit rather than inherited, for every reader."""
    sections = list(document.element.body.iter(qn("w:sectPr")))
    refs = [r for r in sections[0] if r.tag in (qn("w:headerReference"), qn("w:footerReference"))]
    for sect in sections[1:]:
        for old in [r for r in sect if r.tag in (qn("w:headerReference"), qn("w:footerReference"))]:
            sect.remove(old)
        for ref in reversed(refs):
            sect.insert(0, copy.deepcopy(ref))  # references come first in a sectPr


def _table_of_contents(document, pages: int | None, contents: list[tuple[str, int]], styles: _Styles) -> None:
    """Insert a TOC field before the first sub-heading when there are several, or when the
    document is over 5 pages; a document over 5 pages without sub-headings gets one of its
    captioned tables and figures after its title (as the PDF's contents: document.typ).

    The field's result is pre-filled with the headings and, where the PDF rendition gives them,
    their page numbers after a dot-leader tab, so the document reads right in any viewer before
    fields are updated (LibreOffice does not update them on opening; Word does, as updateFields
    asks). Works on the XML: python-docx's paragraph and style objects are slow on long documents."""
    levels = {styles.style_id(name): name for name in ("Heading 2", "Heading 3")}
    body = document.element.body
    headings = [(p, levels[_style_of(p)]) for p in _styled(body, "w:p", levels)]
    sections = sum(level == "Heading 2" for _, level in headings)
    field, anchor = 'TOC \\o "2-3" \\h \\z \\u', None
    if not sections and pages is not None and pages > 5:
        # no sub-headings: the contents list the captioned tables and figures, as the PDF's do
        captions = {styles.style_id(name): "Heading 2" for name in ("Table Caption", "Image Caption")}
        headings = [(p, captions[_style_of(p)]) for p in _styled(body, ".//w:p", captions)]
        field = 'TOC \\h \\z \\t "Table Caption,2,Image Caption,2"'
        if not headings:
            return
        anchor = OxmlElement("w:p")   # a place holder after the title: the contents go before it
        body.find(qn("w:p")).addnext(anchor)
    elif not (sections >= 2 or (sections and pages is not None and pages > 5)):
        return
    found, before = 0, anchor if anchor is not None else headings[0][0]
    entries = {}  # style id -> the empty entry paragraph `entry.style = id` makes, copied for each
    for index, (heading, level) in enumerate(headings):
        style_id = styles.paragraph_id("toc 2" if level == "Heading 2" else "toc 3")
        if style_id not in entries:
            entries[style_id] = OxmlElement("w:p")
            entries[style_id].style = style_id
        entry = copy.deepcopy(entries[style_id])
        before.addprevious(entry)
        paragraph = Paragraph(entry, document._body)
        if index == 0:
            add_field_start(paragraph, field)
        title = Paragraph(heading, document._body).text
        _add_run(paragraph, title)
        page, found = _page_of(title, contents, found)
        if page is not None:
            etree.SubElement(etree.SubElement(entry, _R), _TAB)  # paragraph.add_run().add_tab()
            _add_run(paragraph, str(page))
        if index == len(headings) - 1:
            add_field_end(paragraph)
    if anchor is not None:
        anchor.getparent().remove(anchor)
    set_child(document.settings.element, "w:updateFields", val="true")


_PPR, _PSTYLE, _VAL = qn("w:pPr"), qn("w:pStyle"), qn("w:val")
_R, _T, _TAB, _XML_SPACE = qn("w:r"), qn("w:t"), qn("w:tab"), qn("xml:space")


def _add_run(paragraph: Paragraph, text: str | None) -> None:
    """paragraph.add_run(text), without python-docx's character-by-character reading of the text
    when it has no tab or line break (which that reading turns into w:tab and w:br)."""
    if text and ("\t" in text or "\r" in text or "\n" in text):
        paragraph.add_run(text)
        return
    run = etree.SubElement(paragraph._p, _R)  # CT_P.add_r appends: nothing follows a w:r
    if text:
        t = etree.SubElement(run, _T)
        t.text = text
        if len(text.strip()) < len(text):  # CT_R.add_t
            t.set(_XML_SPACE, "preserve")


def _styled(body, path: str, style_ids) -> list:
    """Return the paragraphs at `path` (w:p children, .//w:p all) whose _style_of is one of
    `style_ids`, in document order: one XPath instead of a look at every paragraph."""
    wanted = sorted(s for s in style_ids if s)  # _style_of is never None, "" only for no style
    if not wanted:
        return []
    return _styled_xpath(path, len(wanted))(body, **{f"s{i}": s for i, s in enumerate(wanted)})


@functools.lru_cache(maxsize=None)
def _styled_xpath(path: str, count: int) -> etree.XPath:
    return etree.XPath(f"{path}[w:pPr[1]/w:pStyle[1]/@w:val[{' or '.join(f'. = $s{i}' for i in range(count))}]]", namespaces=_W)


def _style_of(p) -> str:
    """Return a paragraph's style id ("" when it has none): string(w:pPr/w:pStyle/@w:val), without XPath."""
    ppr = p.find(_PPR)
    style = ppr.find(_PSTYLE) if ppr is not None else None
    return (style.get(_VAL) or "") if style is not None else ""


def _page_of(title: str, contents: list[tuple[str, int]], start: int) -> tuple[int | None, int]:
    """Return the page of the next contents entry with this title from `start`, and where to look next."""
    wanted = " ".join(title.split())
    for index in range(start, len(contents)):
        if " ".join(contents[index][0].split()) == wanted:
            return contents[index][1], index + 1
    return None, start


def _language(styles, lang: str) -> None:
    """Set the language defaults in a styles part's element."""
    defaults = styles.find(qn("w:docDefaults"))
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
