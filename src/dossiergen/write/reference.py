"""The house reference.docx: pandoc's default styles, restyled for regulatory documents.

Run `make reference` (python -m dossiergen.write.reference) to regenerate
templates/module3/reference.docx; the file is committed and reviewed like a golden file.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import docx
import pypandoc
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_COLOR_INDEX, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml.ns import qn
from docx.shared import Inches, Mm, Pt, RGBColor

from ..paths import TEMPLATES
from .layout import PORTRAIT
from .ooxml import deterministic_zip, set_child

REFERENCE_DOCX = TEMPLATES / "module3" / "reference.docx"
SERIF, SANS, CJK_SERIF, CJK_SANS = "Times New Roman", "Arial", "SimSun", "SimHei"
BLACK = RGBColor(0, 0, 0)


def _fonts(style, latin: str, east_asian: str, size: float, bold: bool | None = None) -> None:
    style.font.name = latin
    style.font.size = Pt(size)
    style.font.color.rgb = BLACK
    if bold is not None:
        style.font.bold = bold
    fonts = set_child(style.element.get_or_add_rPr(), "w:rFonts")
    for slot in ("ascii", "hAnsi", "cs"):
        fonts.set(qn(f"w:{slot}"), latin)
    fonts.set(qn("w:eastAsia"), east_asian)
    for theme in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{theme}"), None)


def _paragraph_style(document, name: str, base: str = "Normal"):
    styles = document.styles
    if name in [s.name for s in styles]:
        return styles[name]
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles[base]
    return style


def make_reference(pandoc_default: bytes) -> bytes:
    """Return the house reference.docx built from pandoc's default one."""
    document = docx.Document(io.BytesIO(pandoc_default))
    section = document.sections[0]
    section.page_width, section.page_height = Mm(PORTRAIT.width), Mm(PORTRAIT.height)  # write/layout.py: prints on A4 and Letter
    section.left_margin, section.right_margin = Mm(PORTRAIT.left), Mm(PORTRAIT.right)
    section.top_margin, section.bottom_margin = Mm(PORTRAIT.top), Mm(PORTRAIT.bottom)
    section.header_distance, section.footer_distance = Mm(PORTRAIT.header_top), Mm(PORTRAIT.footer_bottom)
    styles = document.styles
    by_name = {s.name.lower(): s for s in styles}
    for name in ("Normal", "Body Text", "First Paragraph", "Compact", "Block Text"):
        if name.lower() in by_name:
            _fonts(by_name[name.lower()], SERIF, CJK_SERIF, 12)
            by_name[name.lower()].paragraph_format.space_after = Pt(6)
    for level, size in ((1, 14), (2, 12), (3, 12), (4, 12)):
        style = styles[f"Heading {level}"]
        _fonts(style, SANS, CJK_SANS, size, bold=True)
        style.font.italic = level >= 3
        style.paragraph_format.space_before = Pt(12)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.keep_with_next = True
    for name, size, bold in (("Table Text", 10, False), ("Table Heading", 10, True)):
        style = _paragraph_style(document, name)
        _fonts(style, SERIF, CJK_SERIF, size, bold=bold)
        style.paragraph_format.space_after = Pt(0)
        style.paragraph_format.space_before = Pt(0)
    for name in ("Table Caption", "Image Caption", "Caption"):
        style = by_name.get(name.lower())
        if style is not None:
            _fonts(style, SERIF, CJK_SERIF, 10, bold=True)
            style.font.italic = False
            style.paragraph_format.keep_with_next = True
    for name, indent in (("toc 2", 0.0), ("toc 3", 0.25)):
        style = _paragraph_style(document, name)
        _fonts(style, SERIF, CJK_SERIF, 11)
        style.paragraph_format.left_indent = Inches(indent)
        style.paragraph_format.space_after = Pt(2)
        # page numbers at the right edge of the text, after dots
        style.paragraph_format.tab_stops.add_tab_stop(Mm(PORTRAIT.text_width), WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
    for name in ("Header", "Footer"):
        _fonts(_paragraph_style(document, name), SERIF, CJK_SERIF, 9)
    missing = styles.add_style("Missing", WD_STYLE_TYPE.CHARACTER)
    missing.font.bold = True
    missing.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    missing.font.highlight_color = WD_COLOR_INDEX.YELLOW
    _table_style(styles["Table"])
    document.core_properties.author = "dossiergen"
    out = io.BytesIO()
    document.save(out)
    return deterministic_zip(out.getvalue())


def _table_style(style) -> None:
    """Give pandoc's 'Table' style thin black borders on every cell and a grey header row."""
    tbl_pr = set_child(style.element, "w:tblPr")
    borders = set_child(tbl_pr, "w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        set_child(borders, f"w:{edge}", val="single", sz="4", space="0", color="000000")
    margins = set_child(tbl_pr, "w:tblCellMar")
    for edge in ("left", "right"):
        set_child(margins, f"w:{edge}", w="80", type="dxa")


def main() -> None:
    """Write templates/module3/reference.docx."""
    default = subprocess.run([pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
                             check=True, capture_output=True).stdout
    REFERENCE_DOCX.write_bytes(make_reference(default))
    print(f"wrote {REFERENCE_DOCX.relative_to(Path.cwd()) if REFERENCE_DOCX.is_relative_to(Path.cwd()) else REFERENCE_DOCX}", file=sys.stderr)


if __name__ == "__main__":
    main()
