"""Chinese text of the dossier: what is translatable, what is still English, the allowed Latin terms.

A *unit* is one translatable text of the source with its data path: a narrative or short-text field
(schema $defs narrative, narrative_section, text), or the free-text cell of a result CSV (column
`text`, its Chinese in column `text_zh`). A unit is *pending* for the Chinese dossier when it has no
Chinese and its English has a Latin word that is not an allowed term (regional/cn/allowed-latin.yaml:
method acronyms, compendial names, units, names kept in the original; the INN and the pinyin of the
Chinese name come from the data). The same test finds English that templates print: render records
every English text it puts in a Chinese document (`Untranslated`) and build writes them into the
manifest, so nothing is hidden. The glossary (regional/cn/glossary.yaml) fixes NMPA/CDE terms.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field


from .load import Dossier, json_path
from .model import BIOLOGICAL_MOLECULES, select
from .paths import REGIONAL, project_yaml
from .schema import _resolve, schema_of

ALLOWED_FILE = REGIONAL / "cn" / "allowed-latin.yaml"
GLOSSARY_FILE = REGIONAL / "cn" / "glossary.yaml"
CSV_KINDS = ("batch-results", "stability-results")
CSV_TEXT, CSV_TEXT_ZH = "text", "text_zh"
_TEXT_DEFS = ("/narrative", "/narrative_section", "/text")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[-/][A-Za-z]+)*")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
_LETTER = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Unit:
    """One translatable text of the source: where it is, its English and its Chinese (None if absent)."""

    rel: str
    path: tuple
    en: str
    zh: str | None
    field: str  # the schema title of the field, for translators
    line: int = 0

    @property
    def data_path(self) -> str:
        return f"{self.rel}#{json_path(self.path)}"


@dataclass(frozen=True)
class Untranslated:
    """English text printed in a Chinese document: the section, the data path (or template) and the
    text; kept=True when the field stays in its original language (allowed-latin.yaml kept_in_original)."""

    section: str
    path: str
    text: str
    kept: bool = False

    def as_dict(self) -> dict:
        return {"section": self.section, "path": self.path, "text": self.text}


def is_kept(data_path: str) -> bool:
    """Return True when a data path is a field kept in its original language."""
    return any(re.fullmatch(re.escape(p).replace(re.escape("[*]"), r"\[\d+\]"), data_path)
               for p in _allowed_data().get("kept_in_original") or [])


# allowed Latin terms -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Allowed:
    """Latin terms a Chinese text may keep: phrases (longest first) and token patterns."""

    phrases: tuple[str, ...]
    patterns: tuple[re.Pattern, ...]
    found: dict = field(default_factory=dict, compare=False, repr=False)  # residue of each text asked (texts repeat)

    def residue(self, text: str) -> list[str]:
        """Return the Latin words of a text that are not allowed terms (in order)."""
        text = str(text)
        words = self.found.get(text)
        if words is None:
            if len(self.found) >= 100_000:  # a bound for a very large dossier
                self.found.clear()
            words = self.found[text] = tuple(self._residue(text))
        return list(words)

    def _residue(self, text: str) -> list[str]:
        for phrase in self.phrases:
            if phrase in text:
                text = re.sub(r"(?<![A-Za-z])" + re.escape(phrase) + r"(?![A-Za-z])", " ", text)
        words = []
        for token in text.split():
            token = token.strip(".,;:()[]{}\"'“”‘’!?*_`")
            if not token or any(p.fullmatch(token) for p in self.patterns):
                continue
            words += [w for w in _WORD.findall(token) if len(w) > 1]
        return words

    def needs_translation(self, text) -> bool:
        return bool(text) and bool(self.residue(str(text)))


@functools.cache
def _allowed_data() -> dict:
    return project_yaml(ALLOWED_FILE.read_text("utf-8"))


def allowed(extra: tuple[str, ...] = ()) -> Allowed:
    """Return the allowed Latin terms of regional/cn/allowed-latin.yaml plus extra (names from the data)."""
    data = _allowed_data()
    phrases = [str(p) for group in data["terms"].values() for p in group] + [e for e in extra if e]
    patterns = tuple(re.compile(p) for p in data["patterns"])
    return Allowed(tuple(sorted(set(phrases), key=lambda p: (-len(p), p))), patterns)


def allowed_for(dossier: Dossier) -> Allowed:
    """Return the allowed terms for a dossier: the list, and the names of its substances kept in Latin
    script (INN, USAN, US proper name, pinyin of the Chinese name, company codes)."""
    extra: list[str] = []
    for source in dossier.of_kind("application"):
        extra += [_en(source.data.get("inn")), str(source.data.get("product_family") or "")]
    for source in dossier.of_kind("substance"):
        nom = ((source.data or {}).get("general") or {}).get("nomenclature") or {}
        extra += [_en(nom.get("inn")), str(nom.get("usan") or ""), str(nom.get("pinyin") or ""),
                  str(nom.get("us_proper_name") or "")]
        extra += [str(c) for c in nom.get("company_codes") or []]
    return allowed(tuple(e for e in extra if e))


def _en(value) -> str:
    if isinstance(value, dict):
        return str(value.get("en") or "")
    return "" if value is None else str(value)


# glossary ------------------------------------------------------------------------------------------------
@functools.cache
def glossary() -> tuple[dict, ...]:
    """Return the NMPA/CDE glossary: entries {en, zh, note, source} (regional/cn/glossary.yaml)."""
    return tuple(project_yaml(GLOSSARY_FILE.read_text("utf-8"))["terms"])


def glossary_hits(english: str) -> list[dict]:
    """Return the glossary entries whose English term occurs in a text (whole words, any case)."""
    found = []
    for entry in glossary():
        if re.search(r"(?<![A-Za-z-])" + re.escape(entry["en"]) + r"(?![A-Za-z-])", english, re.IGNORECASE):
            found.append(entry)
    return found


def glossary_problems(english: str, chinese: str) -> list[str]:
    """Return messages for glossary terms of the English whose Chinese term the translation lacks."""
    problems = []
    for entry in glossary_hits(english):
        accepted = [entry["zh"], *entry.get("also", [])]
        if entry.get("check", True) and not any(a in chinese for a in accepted):
            problems.append(f"'{entry['en']}' is '{entry['zh']}' in the glossary")
    return problems


# units ---------------------------------------------------------------------------------------------------
@functools.cache
def text_paths(kind: str) -> tuple[tuple[tuple, str], ...]:
    """Return (path pattern, field title) of every narrative and short-text field of a file kind."""
    found: list[tuple[tuple, str]] = []
    _walk(schema_of(kind), f"{kind}.schema.json", (), "", found, 0)
    return tuple(dict.fromkeys(found))


def _walk(schema, base: str, path: tuple, title: str, found: list, depth: int) -> None:
    if depth > 40 or not isinstance(schema, dict):
        return
    title = schema.get("title") or title
    ref = schema.get("$ref", "")
    if ref and any(ref.endswith(d) for d in _TEXT_DEFS):
        found.append((path, title))
        return
    schema, base = _resolve(schema, base)
    for key, sub in schema.get("properties", {}).items():
        _walk(sub, base, path + (key,), "", found, depth + 1)
    if isinstance(schema.get("items"), dict):
        _walk(schema["items"], base, path + ("*",), title, found, depth + 1)
    for combo in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(combo, []):
            _walk(sub, base, path, title, found, depth + 1)


def units(dossier: Dossier, market: str = "cn") -> list[Unit]:
    """Return every translatable text of a dossier for a market, file by file in source order
    (the market files of other markets are left out: their documents are not in this dossier)."""
    found: list[Unit] = []
    for rel, source in sorted(dossier.files.items()):
        if source.kind.startswith("market-") and source.kind != f"market-{market}":
            continue
        found += [Unit(*unit) for unit in _file_units(dossier, rel, source)]
    return found


def _file_units(dossier: Dossier, rel: str, source) -> list[tuple]:
    """Return the translatable texts of one file (Unit fields as tuples), kept by the file's content (_file_part):
    a build after one changed file walks that file only."""
    return _file_part("units", rel, source, lambda: _units_of(dossier, rel, source))


def _file_part(kind: str, rel: str, source, compute):
    """Return compute() (marshal-able) for one file; in a build, kept in the store (cache.store) under kind by
    the file's content hash and the fingerprints of the code and knowledge (the schemas name the text
    fields) that read it."""
    import marshal

    from .cache import content_key, engine_fingerprint, knowledge_fingerprint, store

    key = None
    if store().enabled and source.digest:
        key = content_key(f"{kind}-1", engine_fingerprint(), knowledge_fingerprint(), rel, source.kind, source.digest)
        kept = store().get(kind, key)
        if kept is not None:
            try:
                return marshal.loads(kept)
            except (ValueError, EOFError, TypeError):
                pass
    part = compute()
    if key is not None:
        try:
            store().put(kind, key, marshal.dumps(part))
        except ValueError:  # a value marshal cannot keep: not kept
            pass
    return part


def _units_of(dossier: Dossier, rel: str, source) -> list[tuple]:
    found = []
    if source.kind in CSV_KINDS:
        for index, row in enumerate(source.data or []):
            if isinstance(row, dict) and isinstance(row.get(CSV_TEXT), str):
                line = source.marks.get((index,), (0, 0))[0]
                found.append((rel, (index, CSV_TEXT), row[CSV_TEXT], row.get(CSV_TEXT_ZH), "Text result", line))
    else:
        try:
            patterns = text_paths(source.kind)
        except (FileNotFoundError, KeyError):
            patterns = []
        seen: set[tuple] = set()
        for pattern, field in patterns:
            for value, container, key_ in select(source.data, pattern):
                if container is None:
                    continue
                base = dossier.where(container, key_)[1]
                for path, en, zh in _leaves(value, base):
                    if path not in seen:
                        seen.add(path)
                        found.append((rel, path, en, zh, field, source.marks.get(path, (0, 0))[0]))
    return found


def _leaves(value, path: tuple):
    """Yield (path, en, zh) of a text value: a string, {en, zh}, {not_applicable: …}, {justification: …}."""
    if isinstance(value, str):
        yield path, value, None
    elif isinstance(value, dict):
        if isinstance(value.get("en"), str):
            zh = value.get("zh")
            yield path, value["en"], zh if isinstance(zh, str) and zh else None
        for key in ("not_applicable", "justification"):
            if key in value:
                yield from _leaves(value[key], path + (key,))


def pending(dossier: Dossier, units_: list[Unit] | None = None) -> list[Unit]:
    """Return the units a Chinese dossier still lacks: no Chinese, and English beyond the allowed terms."""
    terms = allowed_for(dossier)
    return [u for u in (units_ if units_ is not None else units(dossier))
            if u.zh is None and terms.needs_translation(u.en) and not is_kept(u.data_path)]


def memory(dossier: Dossier, units_: list[Unit] | None = None) -> dict[str, str]:
    """Return the translation memory of a dossier: English -> Chinese of every translated unit (first wins)."""
    found: dict[str, str] = {}
    for unit in units_ if units_ is not None else units(dossier):
        if unit.zh:
            found.setdefault(_norm(unit.en), unit.zh)
    return found


def _norm(text: str) -> str:
    return " ".join(str(text).split())


# Latin runs in document text -------------------------------------------------------------------------------
def latin_runs(text: str, minimum: int = 3) -> list[str]:
    """Return the runs of at least `minimum` Latin words in a text: words separated only by spaces,
    digits and Latin punctuation (a CJK character or full-width punctuation ends a run)."""
    runs = []
    for segment in _CJK.split(text):
        words = _WORD.findall(segment)
        if len(words) >= minimum:
            runs.append(" ".join(segment.split()))
    return runs


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(str(text)))


# what a Chinese document prints -------------------------------------------------------------------------
_MARKUP = re.compile(r"\]\([^)]*\)|\{custom-style=\"[^\"]*\"\}|\\(?=[^\sA-Za-z0-9])|\*\*|[*_`]|^:::.*$", re.M)  # ::: landscape: a fenced div
_CHUNK = re.compile(r"[|\n]|(?<=[。；：，、）])")


class Index:
    """What a dossier's Chinese documents may print: the allowed terms, and where each English text is."""

    def __init__(self, dossier: Dossier, market: str = "cn"):
        self.terms = allowed_for(dossier)
        self.paths: dict[str, list[str]] = {}
        chinese: list[str] = []
        for rel, source in sorted(dossier.files.items()):
            if source.kind.startswith("market-") and source.kind != f"market-{market}":
                continue
            texts, found = _index_part(rel, source)
            for text, where in texts:
                self.paths.setdefault(text, []).append(where)
            chinese += found
        self.chinese = "\0".join(chinese)  # the Chinese values: Latin words inside them are the translator's

    def where(self, text: str) -> str:
        """Return the data path(s) of an English text ('' when no data value holds it)."""
        key = _norm(text)
        found = self.paths.get(key)
        if not found:
            found = next((paths for value, paths in self.paths.items() if key and key in value), [])
        if not found:  # a data value printed inside a longer text ("VR-1 Validation of …")
            found = next((paths for value, paths in sorted(self.paths.items(), key=lambda i: -len(i[0]))
                          if len(value) >= 8 and value in key), [])
        return ", ".join(found[:3]) + (f" (+{len(found) - 3})" if len(found) > 3 else "")

    def digest(self) -> str:
        """Return a hash of what the index holds (a document that consulted it depends on it)."""
        import hashlib

        digest = hashlib.sha256(self.chinese.encode())
        for text, paths in sorted(self.paths.items()):
            digest.update(("\0" + text + "\1" + "\1".join(paths)).encode())
        digest.update("\0".join(self.terms.phrases).encode() + repr([p.pattern for p in self.terms.patterns]).encode())
        return digest.hexdigest()

    def stray(self, markdown: str, recorded: list[str]) -> list[str]:
        """Return the pieces of a rendered Chinese document with Latin words that are neither allowed
        terms nor inside a text already recorded as untranslated (English the templates print)."""
        text = _MARKUP.sub("", markdown)
        known = [_norm(r) for r in recorded]
        found = []
        for piece in _CHUNK.split(text):
            for segment in _CJK_RUN.split(piece):  # the text between CJK characters
                if not _LETTER.search(segment):  # no Latin letter: no Latin word (Allowed.residue)
                    continue
                segment = _norm(segment).strip(" :;,.()-–")
                if not segment or not self.terms.residue(segment):
                    continue
                if any(segment in k or k in segment for k in known if k) or segment in self.chinese:
                    continue
                found.append(segment)
        return list(dict.fromkeys(found))


def _index_part(rel: str, source) -> tuple[list, list[str]]:
    """Return what one file gives the Index: (English text, where it is) of each of its texts in order, and
    its Chinese texts; kept by the file's content (_file_part): a build after one changed file walks that file."""
    return _file_part("index-part", rel, source, lambda: (
        [(_norm(text), f"{rel}#{json_path(path)}") for path, text in _strings(source.data, ())],
        [_norm(_MARKUP.sub("", text)) for text in _chinese(source.data)]))


def _strings(value, path: tuple):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        if isinstance(value.get("en"), str) and not value.get("zh"):
            yield path, value["en"]
        for key, child in value.items():
            if key not in ("en", "zh"):
                yield from _strings(child, path + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _strings(child, path + (i,))


def _chinese(value):
    """Yield the Chinese texts of a data tree (zh of {en, zh}, text_zh of CSV rows, Chinese strings)."""
    if isinstance(value, str):
        if is_chinese(value):
            yield value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _chinese(child)
    elif isinstance(value, list):
        for child in value:
            yield from _chinese(child)


_INDEXES: dict[int, tuple[Dossier, Index]] = {}


def index_for(dossier: Dossier, market: str = "cn") -> Index:
    """Return the Index of a dossier (built once per loaded dossier)."""
    if hasattr(dossier, "unwrapped"):  # seen by a rendering document: it depends on the index (depends.py)
        dossier.note_index(market)
        dossier = dossier.unwrapped
    held = _INDEXES.get(id(dossier))
    if held is None or held[0] is not dossier:
        if len(_INDEXES) > 8:
            _INDEXES.clear()
        held = _INDEXES[id(dossier)] = (dossier, Index(dossier, market))
    return held[1]


# terms by substance type -------------------------------------------------------------------------------
# Molecule types whose drug substance is a biological one: 原液 (ChP 2025 Vol. III general notices;
# CDE M4 module 3 for biological products, 3.2.S 原液), never 原料药 (a chemical drug substance).
BIOLOGICS = BIOLOGICAL_MOLECULES
_FIXED_NAMES = ("原料药、药用辅料及药包材", "原辅包")  # the associated review's own name (Announcement 2019 No. 56)


def is_biologic(molecule_type) -> bool:
    return molecule_type in BIOLOGICS


def substance_terms(text: str, biologic: bool, term: str | None = None) -> str:
    """Return a Chinese fixed text with the drug substance named for the substance type: 原液 for a
    biological drug substance, 原料药 for a chemical one, or the given term (an intermediate's name:
    roles.cn_term); the associated review's name is kept."""
    term = term or ("原液" if biologic else "原料药")
    if term == "原料药" or "原料药" not in text:
        return text
    held = {name: f"\ue010{i}\ue011" for i, name in enumerate(_FIXED_NAMES)}
    for name, mark in held.items():
        text = text.replace(name, mark)
    text = text.replace("原料药/原液", term).replace("原料药", term)
    for name, mark in held.items():
        text = text.replace(mark, name)
    return text
