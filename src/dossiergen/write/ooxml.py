"""Small OpenXML helpers on python-docx elements (fields, properties), and deterministic zips."""

from __future__ import annotations

import functools
import io
import zipfile

from docx.opc.pkgwriter import PackageWriter
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def add_field(paragraph, instruction: str, placeholder: str = "1") -> None:
    """Append a complex field (PAGE, NUMPAGES, TOC ...) with placeholder text to a paragraph."""
    def run_with(child):
        run = OxmlElement("w:r")
        run.append(child)
        paragraph._p.append(run)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    text = OxmlElement("w:t")
    text.text = placeholder
    run_with(text)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _field_char(paragraph, kind: str) -> None:
    run = OxmlElement("w:r")
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    run.append(char)
    paragraph._p.append(run)


def add_field_start(paragraph, instruction: str) -> None:
    """Open a field whose result spans the following runs and paragraphs (close with add_field_end)."""
    _field_char(paragraph, "begin")
    run = OxmlElement("w:r")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run.append(instr)
    paragraph._p.append(run)
    _field_char(paragraph, "separate")


def add_field_end(paragraph) -> None:
    """Close a field opened with add_field_start."""
    _field_char(paragraph, "end")


# Child order that the OOXML schema prescribes (sequences), for the elements we add to.
ORDER = {
    "w:pPr": ["w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl", "w:numPr",
              "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
              "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
              "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
              "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr",
              "w:sectPr", "w:pPrChange"],
    "w:tcPr": ["w:cnfStyle", "w:tcW", "w:gridSpan", "w:hMerge", "w:vMerge", "w:tcBorders", "w:shd", "w:noWrap", "w:tcMar",
               "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark"],
    "w:tblPr": ["w:tblStyle", "w:tblpPr", "w:tblOverlap", "w:bidiVisual", "w:tblStyleRowBandSize", "w:tblStyleColBandSize",
                "w:tblW", "w:jc", "w:tblCellSpacing", "w:tblInd", "w:tblBorders", "w:shd", "w:tblLayout", "w:tblCellMar",
                "w:tblLook"],
    "w:tblBorders": ["w:top", "w:left", "w:start", "w:bottom", "w:right", "w:end", "w:insideH", "w:insideV"],
    "w:tblCellMar": ["w:top", "w:left", "w:start", "w:bottom", "w:right", "w:end"],
    "w:rPr": ["w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike", "w:dstrike",
              "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid", "w:vanish", "w:webHidden",
              "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect",
              "w:bdr", "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout",
              "w:specVanish", "w:oMath"],
}


@functools.lru_cache(maxsize=None)
def _qn(tag: str) -> str:
    return qn(tag)


@functools.lru_cache(maxsize=None)
def _later(parent: str, tag: str) -> frozenset[str]:
    """Return the tags (Clark notation) that come after `tag` in a `parent` (Clark notation) by ORDER."""
    order = ORDER.get("w:" + parent.rsplit("}", 1)[-1])
    return frozenset(map(qn, order[order.index(tag) + 1:] if order and tag in order else []))


def set_child(parent, tag: str, **attrs):
    """Return parent's child tag (created if absent, in schema order) with attributes set (w: namespace)."""
    child = parent.find(_qn(tag))
    if child is None:
        child = OxmlElement(tag)
        later = _later(parent.tag, tag)
        follower = next((c for c in parent if c.tag in later), None) if later else None
        if follower is not None:
            follower.addprevious(child)
        else:
            parent.append(child)
    for key, value in attrs.items():
        child.set(_qn(f"w:{key}"), value)
    return child


def save_document(document) -> bytes:
    """Return a python-docx document as DOCX bytes with fixed entry times (same inputs, same bytes).

    Does what Document.save does, through python-docx's PackageWriter (pinned), but into a zip
    whose entries carry a fixed time: cheaper than saving and then rewriting the zip."""
    package = document.part.package
    parts = list(package.iter_parts())
    for part in parts:
        part.before_marshal()
    out = io.BytesIO()
    writer = _FixedTimeZip(out)
    PackageWriter._write_content_types_stream(writer, parts)
    PackageWriter._write_pkg_rels(writer, package.rels)
    PackageWriter._write_parts(writer, parts)
    writer.close()
    return out.getvalue()


class _FixedTimeZip:
    """The physical writer PackageWriter expects (write, close), with fixed entry times."""

    def __init__(self, stream):
        self.zip = zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED)

    def write(self, pack_uri, blob: bytes) -> None:
        info = zipfile.ZipInfo(pack_uri.membername, FIXED_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        self.zip.writestr(info, blob)

    def close(self) -> None:
        self.zip.close()


def deterministic_zip(data: bytes) -> bytes:
    """Return the same OOXML package with fixed entry times and order (same inputs, same bytes)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        names = source.namelist()
        ordered = [n for n in names if n == "[Content_Types].xml"] + sorted(n for n in names if n != "[Content_Types].xml")
        for name in ordered:
            info = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(name))
    return out.getvalue()
