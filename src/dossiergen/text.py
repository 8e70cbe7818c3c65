"""Text for documents: language choice, Markdown escaping of data values, slugs for file names."""

from __future__ import annotations

import re
import unicodedata

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~^$@!&=\"'])")
_SPACES = re.compile(r"[^\S\u00a0\u202f]+")
_LINE_START = re.compile(r"^(\d*)([-+:.)])(?=\s|$)")


class Markdown(str):
    """Markdown that is trusted as markup: template output, validated narratives, built tables."""

    __slots__ = ()


def escape_md(value) -> Markdown:
    """Return a data value as Markdown that shows exactly its characters (DESIGN.md §8)."""
    if isinstance(value, Markdown):
        return value
    text = _SPACES.sub(" ", str(value)).strip()  # no-break spaces (number and unit) stay
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return Markdown(_LINE_START.sub(r"\1\\\2", text))  # "1. x", "- x", ": x" would start a block


def pick(value, lang: str):
    """Return the text of a plain string or an {en, zh} mapping in a language (English fallback)."""
    if isinstance(value, dict):
        return value.get(lang) or value.get("en", "")
    return value


def is_untranslated(value, lang: str) -> bool:
    """Return True when a Chinese text is wanted and only English exists."""
    return lang == "zh" and not (isinstance(value, dict) and value.get("zh"))


def slugify(text: str, limit: int = 40) -> str:
    """Return a lower-case a-z0-9 hyphen slug (eCTD file and folder name rules)."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:  # cut at a word boundary when one is near, never mid-word
        cut = slug[: limit + 1].rfind("-")
        slug = slug[:cut] if cut >= limit // 2 else slug[:limit]
        slug = re.sub(r"(-(for|of|and|in|with|the|to))+$", "", slug)
    return slug.rstrip("-") or "x"
