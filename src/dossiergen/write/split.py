"""Cut pandoc's DOCX of a batch (convert.lua with `combine`) into one DOCX per document.

Each document's body lies after its marker heading. Its hyperlink relationships and list
numbering are renumbered from the document alone, in order of first use, as pandoc numbers them
for a single document, so a document's bytes never depend on the batch it was written in (a test
holds this). A document that uses anything else pointing outside its body (images, notes,
bookmarks, comments, fields) is not cut: split_docx returns None for it, to be converted alone."""

from __future__ import annotations

import copy
import io
import zipfile

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
NS = {"w": W, "r": R}
FOOTNOTE_RELS = "word/_rels/footnotes.xml.rels"
FIRST_LIST = 1001  # pandoc numbers lists from 1001; w:num 1000 is its default, always present
# What a document may not contain to be cut out of the batch: anything that refers to a part or
# an id outside its own body other than hyperlinks and lists.
FOREIGN = " | ".join(f".//{step}" for step in (
    "w:bookmarkStart", "w:bookmarkEnd", "w:footnoteReference", "w:endnoteReference", "w:commentReference",
    "w:commentRangeStart", "w:drawing", "w:pict", "w:object", "w:fldSimple", "w:instrText",
    "w:sectPr[not(parent::w:body)]", "@r:*[not(parent::w:hyperlink)]"))


def split_docx(combined: bytes, count: int, marker: str) -> list[bytes | None]:
    """Return the DOCX of each of the `count` documents, or None for one that must be converted alone."""
    archive = zipfile.ZipFile(io.BytesIO(combined))
    parts = {name: archive.read(name) for name in archive.namelist()}
    root = etree.fromstring(parts["word/document.xml"])
    body = root.find(f"{{{W}}}body")
    segments, section = _segments(body, count, marker)
    foreign = _foreign_segments(body, segments)
    rels = etree.fromstring(parts["word/_rels/document.xml.rels"])
    numbering = etree.fromstring(parts["word/numbering.xml"])
    out = []
    for index, segment in enumerate(segments):
        if index in foreign:
            out.append(None)
            continue
        document = _document(root, segment, section)
        own_rels, links = _relationships(document, rels)  # renumbers: before the document is serialised
        files = {**parts, "word/numbering.xml": _xml(_numbering(document, numbering)),
                 "word/document.xml": _xml(document), "word/_rels/document.xml.rels": _xml(own_rels)}
        files.pop(FOOTNOTE_RELS, None)
        if links:  # pandoc gives the notes part the same hyperlinks, and omits the file when there are none
            files[FOOTNOTE_RELS] = _xml(_with_children(rels, links))
        out.append(_zip(files))
    return out


def _segments(body, count: int, marker: str) -> tuple[list[list], object]:
    """Return each document's body elements (marker headings dropped) and the section properties."""
    children = list(body)
    section = children.pop() if children and children[-1].tag == f"{{{W}}}sectPr" else None
    markers = body.xpath("w:p[starts-with(string(.), $m)]", namespaces=NS, m=marker)
    if len(markers) != count:
        raise ValueError(f"pandoc's batch DOCX has {len(markers)} document markers for {count} documents")
    position = {id(child): i for i, child in enumerate(children)}
    starts = [position[id(m)] for m in markers] + [len(children)]
    return [children[starts[i] + 1:starts[i + 1]] for i in range(count)], section


def _foreign_segments(body, segments: list[list]) -> set[int]:
    """Return the indexes of the documents that use something the cut cannot carry."""
    owner = {id(element): index for index, segment in enumerate(segments) for element in segment}
    found = set()
    for hit in body.xpath(FOREIGN, namespaces=NS):
        element = hit.getparent() if isinstance(hit, etree._ElementUnicodeResult) else hit
        while element is not None and id(element) not in owner:
            element = element.getparent()
        if element is not None:
            found.add(owner[id(element)])
    return found


def _document(root, segment: list, section) -> etree._Element:
    document = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=root.nsmap)
    body = etree.SubElement(document, f"{{{W}}}body")
    body.extend(segment)  # moves the elements out of the batch's tree
    if section is not None:
        body.append(copy.deepcopy(section))
    return document


def _relationships(document, rels) -> tuple[etree._Element, list]:
    """Return the document's relationships (the shared ones, then its hyperlinks renumbered) and
    its hyperlink relationships alone."""
    shared = [rel for rel in rels if rel.get("Type") != HYPERLINK]
    by_id = {rel.get("Id"): rel for rel in rels}
    first = max(int(rel.get("Id")[3:]) for rel in shared) + 1
    renamed = {}
    for link in document.iterfind(".//w:hyperlink[@r:id]", NS):
        old = link.get(f"{{{R}}}id")
        renamed.setdefault(old, f"rId{first + len(renamed)}")
        link.set(f"{{{R}}}id", renamed[old])
    links = []
    for old, new in renamed.items():
        rel = copy.deepcopy(by_id[old])
        rel.set("Id", new)
        links.append(rel)
    links.sort(key=lambda rel: rel.get("Target"))  # pandoc lists them by target, numbered by first use
    return _with_children(rels, [copy.deepcopy(rel) for rel in shared] + links), links


def _with_children(like, children: list) -> etree._Element:
    """Return an element named as `like` holding copies of the children."""
    out = etree.Element(like.tag, attrib=dict(like.attrib), nsmap=like.nsmap)
    out.extend(copy.deepcopy(child) for child in children)
    return out


def _numbering(document, numbering) -> etree._Element:
    """Return the document's numbering: pandoc's default list, then its own lists renumbered."""
    nums = {num.get(f"{{{W}}}numId"): num for num in numbering.iterfind("w:num", NS)}
    renamed = {}
    for ref in document.iterfind(".//w:numPr/w:numId", NS):
        old = ref.get(f"{{{W}}}val")
        renamed.setdefault(old, str(FIRST_LIST + len(renamed)))
        ref.set(f"{{{W}}}val", renamed[old])
    kept = [("1000", "1000")] + list(renamed.items()) if "1000" in nums else list(renamed.items())
    used = {nums[old].find("w:abstractNumId", NS).get(f"{{{W}}}val") for old, _ in kept}
    out = etree.Element(numbering.tag, attrib=dict(numbering.attrib), nsmap=numbering.nsmap)
    for abstract in sorted((a for a in numbering.iterfind("w:abstractNum", NS) if a.get(f"{{{W}}}abstractNumId") in used),
                           key=lambda a: int(a.get(f"{{{W}}}abstractNumId"))):
        out.append(copy.deepcopy(abstract))
    for old, new in kept:
        num = copy.deepcopy(nums[old])
        num.set(f"{{{W}}}numId", new)
        out.append(num)
    return out


def _xml(element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", standalone=True)


def _zip(files: dict[str, bytes]) -> bytes:
    """Return an uncompressed package: python-docx reads it and writes the compressed DOCX."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return out.getvalue()
