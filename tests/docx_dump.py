"""A readable dump of a DOCX read back with python-docx: style and text per paragraph, table rows,
header and footer. Golden dumps are compared part by part, never as zip bytes."""

from __future__ import annotations

import io

import docx
from docx.oxml.ns import qn


def dump_docx(data: bytes) -> str:
    """Return the text dump of a DOCX."""
    document = docx.Document(io.BytesIO(data))
    lines = [f"[header] {p.text}" for p in document.sections[0].header.paragraphs if p.text]
    lines += [f"[footer] {_with_fields(p)}" for p in document.sections[0].footer.paragraphs]
    body = document.element.body
    tables = iter(document.tables)
    paragraphs = {id(p._p): p for p in document.paragraphs}
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            paragraph = paragraphs.get(id(child))
            if paragraph is not None and (paragraph.text or _fields(child)):
                lines.append(f"[{paragraph.style.name}] {_with_fields(paragraph)}")
        elif child.tag == qn("w:tbl"):
            table = next(tables)
            repeat = table.rows[0]._tr.find(qn("w:trPr"))
            header = repeat is not None and repeat.find(qn("w:tblHeader")) is not None
            lines.append(f"[table {len(table.rows)}x{len(table.columns)}{' repeat-header' if header else ''}]")
            for row in table.rows:
                lines.append("  | " + " | ".join(c.text.replace("\n", " / ") for c in row.cells) + " |")
    return "\n".join(lines) + "\n"


def _fields(element) -> list[str]:
    return [t.text.strip() for t in element.iter(qn("w:instrText"))]


def _with_fields(paragraph) -> str:
    fields = _fields(paragraph._p)
    return paragraph.text + (f"  {{fields: {', '.join(fields)}}}" if fields else "")
