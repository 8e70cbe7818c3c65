"""What a command needs from the machine, checked before any work starts: pandoc, typst,
LibreOffice, every font the templates use; and which characters those fonts can draw.

Imports nothing heavy: `validate` uses the glyph check without loading typst or pandoc."""

from __future__ import annotations

import bisect
import functools
import importlib
import shutil
import struct
import unicodedata
from pathlib import Path

from .errors import Problem, ToolError

FONT_DIRS = (Path("/usr/share/fonts/truetype/liberation"), Path("/usr/share/fonts/opentype/noto"))
# Every font file templates/module3/document.typ uses (body serif, heading sans, each with its
# CJK fallback; bold and italic), with the Debian package that installs it. LibreOffice
# substitutes the same families for the Times New Roman, Arial, SimSun and SimHei of reference.docx.
FONTS = {
    **{f"LiberationSerif-{style}.ttf": "fonts-liberation" for style in ("Regular", "Bold", "Italic", "BoldItalic")},
    **{f"LiberationSans-{style}.ttf": "fonts-liberation" for style in ("Regular", "Bold", "Italic", "BoldItalic")},
    **{f"Noto{kind}CJK-{weight}.ttc": "fonts-noto-cjk" for kind in ("Serif", "Sans") for weight in ("Regular", "Bold")},
}
# Text is set in a chain: the Latin face, then the CJK face. A character must be in one of each
# chain: body text is serif, headings sans.
CHAINS = (("LiberationSerif-Regular.ttf", "NotoSerifCJK-Regular.ttc"), ("LiberationSans-Bold.ttf", "NotoSansCJK-Bold.ttc"))


def font_path(name: str) -> Path | None:
    """Return the installed path of a font file, or None."""
    return next((d / name for d in FONT_DIRS if (d / name).is_file()), None)


def check_fonts() -> None:
    """Raise ToolError naming the packages to install when a font the templates use is missing."""
    missing = sorted(name for name in FONTS if font_path(name) is None)
    if missing:
        packages = sorted({FONTS[name] for name in missing})
        raise ToolError("fonts missing", (Problem(
            "tool.font_missing", f"fonts the documents use are not installed: {', '.join(missing)}",
            hint=f"run `make setup` (as root) or `sudo apt-get install {' '.join(packages)}`"),))


def check_pandoc() -> str:
    """Return pandoc's command, or raise ToolError saying how to install it."""
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:
        raise ToolError("pandoc missing", (Problem(
            "tool.pandoc_missing", f"pandoc is not installed or cannot be found ({exc})",
            hint="run `make setup` (pandoc comes with the pypandoc-binary package: `pip install pypandoc-binary`)"),)) from exc


def check_typst() -> None:
    """Raise ToolError when the typst compiler (PyPI package typst) cannot be loaded."""
    try:
        importlib.import_module("typst")
    except ImportError as exc:
        raise ToolError("typst missing", (Problem(
            "tool.typst_missing", f"the typst compiler cannot be loaded ({exc})",
            hint="run `make setup` (the typst package comes from PyPI), or use --pdf-engine libreoffice"),)) from exc


def check_libreoffice() -> str:
    """Return LibreOffice's command, or raise ToolError naming the package to install."""
    found = shutil.which("soffice")
    if not found:
        raise ToolError("LibreOffice missing", (Problem(
            "write.libreoffice_missing", "the libreoffice PDF engine needs LibreOffice (soffice), which is not installed",
            hint="run `make setup` (as root) or `sudo apt-get install libreoffice-writer-nogui`; or use --pdf-engine typst"),))
    return found


def check_tools(engine: str | None) -> None:
    """Check what writing documents with a PDF engine needs (None: DOCX only), before any work."""
    check_pandoc()
    if engine is None:
        return
    if engine == "libreoffice":
        check_libreoffice()
    else:
        check_typst()
    check_fonts()


# Glyph coverage ------------------------------------------------------------------------------

def _ignorable(char: str) -> bool:
    """Characters no font needs to draw: controls, format characters (zero-width space, joiners),
    separators, variation selectors."""
    return unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp") or "\ufe00" <= char <= "\ufe0f" \
        or "\U000e0100" <= char <= "\U000e01ef"


@functools.cache
def _chains() -> tuple[tuple[list[int], list[int]], ...] | None:
    """Return, per chain, the sorted code point ranges its fonts map (starts, ends); None when a
    font is missing (the build reports it)."""
    chains = []
    for chain in CHAINS:
        ranges = []
        for name in chain:
            path = font_path(name)
            if path is None:
                return None
            ranges += _cmap_ranges(path.read_bytes())
        ranges.sort()
        merged: list[list[int]] = []
        for start, end in ranges:
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        chains.append(([r[0] for r in merged], [r[1] for r in merged]))
    return tuple(chains)


def undrawable(chars: set[str]) -> set[str]:
    """Return the characters the PDFs cannot draw: in no font of a chain, nor in the fonts typst
    falls back to (its embedded Libertinus, New Computer Modern, DejaVu Sans Mono), which typst
    itself is asked about. Empty when the fonts or typst are not installed (the build says so)."""
    chains = _chains()
    if chains is None:
        return set()
    candidates = set()
    for char in chars:
        if _ignorable(char):
            continue
        code = ord(char)
        for starts, ends in chains:
            i = bisect.bisect_right(starts, code) - 1
            if i < 0 or ends[i] < code:
                candidates.add(char)
                break
    return {char for char in candidates if not _typst_draws(char)}


@functools.cache
def _typst_draws(char: str) -> bool:
    """Return whether typst draws a character in body and heading text (PDF/A refuses a missing glyph)."""
    try:
        compiler = _typst_compiler()
    except ImportError:
        return True
    source = ('#set text(font: ("Liberation Serif", "Noto Serif CJK SC"))\n#let c = sys.inputs.c\n#c\n'
              '#text(font: ("Liberation Sans", "Noto Sans CJK SC"), weight: "bold", c)\n')
    try:
        compiler.compile(input=source.encode(), pdf_standards=["a-2b"], sys_inputs={"c": char}, root=_empty_folder())
    except RuntimeError:
        return False
    return True


@functools.cache
def _typst_compiler():
    import typst

    return typst.Compiler(font_paths=[str(d) for d in FONT_DIRS], ignore_system_fonts=True)


@functools.cache
def _empty_folder() -> str:
    import atexit
    import os
    import tempfile

    folder = tempfile.mkdtemp(prefix=f"dossiergen-glyphs-{os.getpid()}-")  # named as outputs.temp_prefix does
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _cmap_ranges(data: bytes) -> list[tuple[int, int]]:
    """Return the Unicode ranges of a TrueType/OpenType font's cmap (the first font of a collection)."""
    offset = 0
    if data[:4] == b"ttcf":
        offset = struct.unpack_from(">I", data, 12)[0]
    count = struct.unpack_from(">H", data, offset + 4)[0]
    tables = {data[offset + 12 + 16 * i:offset + 16 + 16 * i]: struct.unpack_from(">I", data, offset + 20 + 16 * i)[0]
              for i in range(count)}
    cmap = tables[b"cmap"]
    subtables = {}
    for i in range(struct.unpack_from(">H", data, cmap + 2)[0]):
        platform, encoding, sub = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        subtables[(platform, encoding)] = cmap + sub
    for key in ((3, 10), (0, 4), (0, 6), (3, 1), (0, 3)):
        if key in subtables:
            return _subtable_ranges(data, subtables[key])
    return []


def _subtable_ranges(data: bytes, at: int) -> list[tuple[int, int]]:
    form = struct.unpack_from(">H", data, at)[0]
    if form == 12:
        groups = struct.unpack_from(">I", data, at + 12)[0]
        return [struct.unpack_from(">II", data, at + 16 + 12 * i)[:2] for i in range(groups)]
    if form == 4:
        segments = struct.unpack_from(">H", data, at + 6)[0] // 2
        ends = struct.unpack_from(f">{segments}H", data, at + 14)
        starts = struct.unpack_from(f">{segments}H", data, at + 16 + 2 * segments)
        return [(s, e) for s, e in zip(starts, ends) if s != 0xFFFF]
    return []
