"""The one page layout of every document, for DOCX and PDF alike: it prints on both A4 and
US Letter.

ICH M4 asks for a layout that prints on both A4 and 8.5 × 11 in paper with a left margin wide
enough for binding; FDA's PDF specifications ask for a print area that fits 8.5 × 11 in and at
least 3/4 in on the left. The paper is A4 (EU, UK, China), and every mark on a page (body,
header, footer) lies inside SAFE: the band that stays on a Letter sheet, with a printer's
unprintable edge, whether the A4 page is printed centred (Acrobat's "Actual size") or from the
top-left corner (Word without scaling). A4 is narrower than Letter, so only its height is at stake
(and the width of a landscape page).

Landscape pages (wide tables) keep the binding margin on the left, and the Letter-safe band runs
across the page.
"""

from __future__ import annotations

from dataclasses import dataclass

MM_PER_PT = 25.4 / 72
A4 = (210.0, 297.0)  # width, height in mm
LETTER = (215.9, 279.4)
PRINTER_EDGE = 6.35  # mm a printer may not print at any edge (1/4 in)
BINDING = 19.05  # FDA: at least 3/4 in on the left
LINE = 3.5  # mm of one 9 pt header or footer line
HEADER_LINES = 2  # a long header (product, section, substance and manufacturer) takes two lines


def safe_band(page: float, letter: float) -> tuple[float, float]:
    """Return the stretch (mm from the page's start) of an A4 dimension `page` that prints on a
    Letter dimension `letter`, both centred and corner-aligned, clear of the printer's edge."""
    if page <= letter:
        return PRINTER_EDGE, page - PRINTER_EDGE
    shift = (page - letter) / 2
    return shift + PRINTER_EDGE, letter - PRINTER_EDGE


@dataclass(frozen=True)
class Page:
    """One orientation of the layout: paper and margins in mm, where header and footer sit."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    header_top: float  # mm from the top edge to the header's top
    footer_bottom: float  # mm from the bottom edge to the footer's bottom

    @property
    def text_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def landscape(self) -> bool:
        return self.width > self.height

    @property
    def header_ascent(self) -> float:
        """mm between the header's bottom and the body (typst's header-ascent): typst sets the
        header on the bottom of its room, so a two-line header starts at header_top."""
        return self.top - self.header_top - HEADER_LINES * LINE

    @property
    def footer_descent(self) -> float:
        """mm between the body and the footer's top (typst's footer-descent)."""
        return self.bottom - self.footer_bottom - LINE


# Header and footer lines are 9 pt: the header (up to two lines) starts 17 mm from the top edge,
# the footer ends 26 mm from the bottom edge (portrait), so both stay inside the Letter-safe band
# (15.2–273 mm from the top of a portrait page, from the left of a landscape one).
PORTRAIT = Page(width=A4[0], height=A4[1], left=25.4, right=19.05, top=28.0, bottom=35.0,
                header_top=17.0, footer_bottom=26.0)
LANDSCAPE = Page(width=A4[1], height=A4[0], left=25.4, right=35.0, top=28.0, bottom=19.05,
                 header_top=17.0, footer_bottom=12.7)


def safe_area(page: Page) -> tuple[float, float, float, float]:
    """Return (left, top, right, bottom) in mm from the page's top-left corner inside which every
    mark must lie for the page to print on both A4 and Letter (the Letter sheet turned with the page)."""
    letter = LETTER if not page.landscape else (LETTER[1], LETTER[0])
    x0, x1 = safe_band(page.width, letter[0])
    y0, y1 = safe_band(page.height, letter[1])
    return max(x0, BINDING), y0, x1, y1
