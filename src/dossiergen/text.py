"""Text for documents: language choice, Markdown escaping of data values, slugs for file names."""

from __future__ import annotations

import functools
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
    return _escaped(str(value))


@functools.lru_cache(maxsize=65536)
def _escaped(text: str) -> Markdown:
    """escape_md of a text (remembered: labels, units and numbers repeat in every table)."""
    text = _SPACES.sub(" ", text).strip()  # no-break spaces (number and unit) stay
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return Markdown(_LINE_START.sub(r"\1\\\2", text))  # "1. x", "- x", ": x" would start a block


def pick(value, lang: str):
    """Return the text of a plain string or an {en, zh} mapping in a language (English fallback)."""
    if isinstance(value, dict):
        return value.get(lang) or value.get("en", "")
    return value


def text_in(value, lang: str = "en") -> str | None:
    """Return a text (string or {en, zh}) in a language, English where that language is not given;
    None when empty. The one helper of the regional data builders (US, EU, UK forms in English)."""
    text = pick(value, lang) if value is not None else None
    return str(text) if text not in (None, "") else None


def english(value) -> str | None:
    """Return a text in English; None when empty."""
    return text_in(value, "en")


ADDRESS_PARTS = ("building", "street", "postal_code", "city", "region", "country")


def address_parts(value, keys: tuple[str, ...] = ADDRESS_PARTS, text=english) -> dict[str, str]:
    """Return the parts of an address that are given, in the order of keys, each through text (a
    function of a string or {en, zh}: English by default). Every writer of an address starts here:
    the documents (render), Forms FDA 356h and 1571, the eAF site records."""
    if not isinstance(value, dict):
        return {}
    found = {key: text(value[key]) for key in keys if value.get(key) not in (None, "")}
    return {key: str(part) for key, part in found.items() if part not in (None, "")}


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


# Chinese typography (GB/T 15834-2011 punctuation, GB/T 15835-2011 numbers, GB/T 7408 dates) -----------
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_ZH_PUNCT = "\u3000-\u303f\uff00-\uffef"
_ISO_DATE = re.compile(r"(?<![\w-])(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?![\w-])")
_AFTER_HAN = re.compile(rf"(?<=[{_HAN}{_ZH_PUNCT}])[ \t]*([:;,?!])(?:[ \t]+|(?=[^\s\d])|$)")
_BEFORE_HAN = re.compile(rf"(?<=[^\s\\*:;,])([:;,])[ \t]*(?=[{_HAN}])")
_PARENS = re.compile(rf"(?<!\])\(([^()\n]*[{_HAN}][^()\n]*)\)")
_LINK_PARENS = re.compile(rf"\((\[[^\]\n]*[{_HAN}][^\]\n]*\]\([^)\n]*\))\)")
_PERIOD = re.compile(rf"(?<=[{_HAN}）》”])\.(?=\s|$)")
_PERCENT = re.compile("(?<=\\d)[ \u00a0](?=%)")  # also the no-break space render puts between number and unit
_SPACED = re.compile(rf"[ \t]+(?=（)|(?<=[）：；，])(\*\*)?[ \t]+(?=[{_HAN}*\d])")
_HEADING_COLON = re.compile(r"(?<=\S):[ \t]+(?=\S)")  # "3.2.S.7.3 st-01: 5 °C，批号 B1", "步骤 7: 100%目检"
_ZH_ANY = re.compile(f"[{_HAN}{_ZH_PUNCT}\u201d]")  # what every rule but the date and percent ones needs in a line
_FULL = {":": "：", ";": "；", ",": "，", "?": "？", "!": "！"}


def chinese_date(iso: str) -> str:
    """Return 2026年11月30日 for 2026-11-30 (GB/T 7408 and NMPA practice: no leading zeros)."""
    year, month, day = str(iso).split("-")
    return f"{int(year)}年{int(month)}月{int(day)}日"


def zh_typography(markdown: str) -> str:
    """Return a Chinese document's Markdown with Chinese conventions: ISO dates as 年月日, full-width
    colon, semicolon, comma, question and exclamation marks next to Chinese text, full-width brackets
    around text containing Chinese, 。 ending a Chinese sentence, no space before %, and a full-width
    colon in a heading that has Chinese even between Latin letters or digits (the Markdown syntax is
    left alone)."""
    lines = []
    for line in markdown.split("\n"):
        if line.startswith(": "):  # a pandoc table caption: keep its marker
            lines.append(": " + zh_typography(line[2:]))
            continue
        line = _ISO_DATE.sub(lambda m: chinese_date(m.group(0)), line)
        if not _ZH_ANY.search(line):  # nothing Chinese next to which the rules below apply: only the percent one can
            lines.append(_PERCENT.sub("", line))
            continue
        if line.startswith("#") and re.search(f"[{_HAN}]", line):  # a Chinese heading: the colon after an id or number too
            line = _HEADING_COLON.sub("：", line)
        line = _AFTER_HAN.sub(lambda m: _FULL[m.group(1)], line)
        line = _BEFORE_HAN.sub(lambda m: _FULL[m.group(1)], line)
        line = _PARENS.sub(r"（\1）", line)
        line = _LINK_PARENS.sub(r"（\1）", line)
        line = _PERIOD.sub("。", line)
        line = _PERCENT.sub("", line)
        line = _SPACED.sub(lambda m: m.group(1) or "", line)
        lines.append(line)
    return "\n".join(lines)
