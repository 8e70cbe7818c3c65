"""The translation workflow: export the texts a Chinese dossier lacks as XLIFF, import the translations.

XLIFF 1.2 (OASIS, 2008), written and read with translate-toolkit: every CAT tool sponsors' vendors use
reads and writes 1.2 (Trados Studio, memoQ, Phrase, Wordfast, OmegaT through Okapi), while XLIFF 2.0
support is still uneven, and translate-toolkit's 1.2 storage is its long-standing, complete one.

Export writes one trans-unit per distinct English text (a translation memory: "Conforms" is translated
once however often it occurs), with every place it occurs as a context group (data path, file, line),
the field it fills as a note, and the glossary terms it contains as notes. A text already translated
elsewhere in the dossier is proposed as the target with state needs-review-translation (an exact
memory match the translator confirms). Beside it: the memory as TMX and the glossary as TBX.

Import writes each confirmed target (state translated, signed-off or final, or no state) into the
source in place: a YAML short text or narrative becomes {en, zh} (ruamel.yaml round trip: comments,
order, quotes and layout kept; a file whose layout cannot be kept is left alone and reported), a CSV
text cell gets its Chinese in the text_zh column. A place whose English changed since the export is
skipped and reported. Nothing is written when nothing is translated.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, Location, Problem
from .load import load_dossier
from .translation import (CSV_TEXT, CSV_TEXT_ZH, Unit, glossary, glossary_hits, glossary_problems, memory, pending,
                          units)

SOURCE_LANG, TARGET_LANG = "en", "zh-CN"
ACCEPTED_STATES = ("translated", "signed-off", "final")
PATH_CONTEXT = "x-data-path"


@dataclass
class ExportResult:
    path: Path
    units: int
    occurrences: int
    proposed: int
    written: list[Path] = field(default_factory=list)


@dataclass
class ImportResult:
    filled: int = 0
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _unit_id(english: str) -> str:
    return "t" + hashlib.sha1(english.encode("utf-8")).hexdigest()[:16]


# export ----------------------------------------------------------------------------------------------------
def export(folder: Path, out: Path, market: str = "cn") -> ExportResult:
    """Write the texts a Chinese dossier lacks as XLIFF 1.2 (and the memory as TMX, the glossary as TBX)."""
    from translate.storage import tbx, tmx, xliff

    dossier = load_dossier(folder)
    if dossier.problems:
        raise InputError("the dossier cannot be read", tuple(dossier.problems))
    every = units(dossier, market)
    todo = pending(dossier, every)
    known = memory(dossier, every)
    groups: dict[str, list[Unit]] = {}
    for unit in todo:
        groups.setdefault(unit.en, []).append(unit)

    store = _xliff12()(sourcelanguage=SOURCE_LANG)
    store.settargetlanguage(TARGET_LANG)
    original = Path(dossier.label).name or "dossier"
    proposed = 0
    for english, places in groups.items():
        unit = store.addsourceunit(english, filename=original, createifmissing=True)
        unit.setid(_unit_id(english))
        unit.xmlelement.set("resname", places[0].data_path)
        for place in places:
            contexts = [(PATH_CONTEXT, place.data_path), ("sourcefile", place.rel)]
            if place.line:
                contexts.append(("linenumber", str(place.line)))
            unit.createcontextgroup("occurrence", contexts, purpose="location")
        fields = sorted({p.field for p in places if p.field})
        unit.addnote(f"Field: {', '.join(fields)}; {len(places)} occurrence(s)", origin="developer")
        for entry in glossary_hits(english):
            unit.addnote(f"Glossary: {entry['en']} = {entry['zh']}" + (f" ({entry['note']})" if entry.get("note") else ""),
                         origin="glossary")
        match = known.get(" ".join(english.split()))
        if match:
            unit.settarget(match, lang=TARGET_LANG)
            unit.xmlelement.find(unit.namespaced("target")).set("state", "needs-review-translation")
            unit.xmlelement.find(unit.namespaced("target")).set("state-qualifier", "exact-match")
            proposed += 1
    store.removedefaultfile()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(store))

    memory_store = tmx.tmxfile(sourcelanguage=SOURCE_LANG, targetlanguage=TARGET_LANG)
    for english, chinese in sorted(known.items()):
        memory_store.addtranslation(english, SOURCE_LANG, chinese, TARGET_LANG)
    tmx_path = out.with_suffix(".tmx")
    tmx_path.write_bytes(bytes(memory_store))

    terms = tbx.tbxfile()
    for entry in glossary():
        term = terms.addsourceunit(entry["en"])
        term.settarget(entry["zh"], lang=TARGET_LANG)
        if entry.get("note"):
            term.addnote(entry["note"])
    tbx_path = out.with_suffix(".tbx")
    tbx_path.write_bytes(bytes(terms))
    return ExportResult(out, len(groups), len(todo), proposed, [out, tmx_path, tbx_path])


def _xliff12():
    """Return translate-toolkit's XLIFF store class writing version 1.2 (it writes 1.1 by default;
    1.1 and 1.2 share the elements used here, and it reads both)."""
    from translate.storage import xliff

    class Xliff12Unit(xliff.xliffunit):
        namespace = "urn:oasis:names:tc:xliff:document:1.2"

    class Xliff12File(xliff.xlifffile):
        UnitClass = Xliff12Unit
        XMLskeleton = xliff.xlifffile.XMLskeleton.replace("1.1", "1.2")
        namespace = "urn:oasis:names:tc:xliff:document:1.2"

    return Xliff12File


# import ----------------------------------------------------------------------------------------------------
_PATH = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


def parse_data_path(text: str) -> tuple[str, tuple]:
    """Return (file, path tuple) of 'substances/x.yaml#$.a.b[2].c'."""
    rel, _, json = text.partition("#")
    if not json.startswith("$"):
        raise ValueError(f"not a data path: {text}")
    parts = tuple(m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _PATH.finditer(json[1:]))
    if "".join(m.group(0) for m in _PATH.finditer(json[1:])) != json[1:]:
        raise ValueError(f"not a data path: {text}")
    return rel, parts


def read_translations(xlf: Path) -> list[tuple[str, str, list[str]]]:
    """Return (English, Chinese, data paths) of each confirmed translation in an XLIFF 1.2 file."""
    from translate.storage import xliff

    try:
        store = xliff.xlifffile.parsestring(xlf.read_bytes())
    except Exception as exc:  # lxml and translate-toolkit raise several kinds for a broken file
        raise InputError("not an XLIFF file", (Problem("translate.xliff", f"cannot read XLIFF 1.2: {exc}", Location(str(xlf)),
                                                        hint="give the .xlf file `dossiergen translate export` wrote, as returned by the CAT tool"),)) from exc
    found = []
    for unit in store.getunits():
        target_node = unit.xmlelement.find(unit.namespaced("target"))
        target = unit.target
        if target_node is None or not target or not str(target).strip():
            continue
        state = target_node.get("state")
        if state is not None and state not in ACCEPTED_STATES:
            continue
        paths = [value for group in unit.getcontextgroups("occurrence") for kind, value in group if kind == PATH_CONTEXT]
        found.append((str(unit.source), str(target).strip(), paths))
    return found


def import_translations(folder: Path, xlf: Path) -> ImportResult:
    """Write the confirmed translations of an XLIFF file into the dossier's YAML and CSV files in place."""
    result = ImportResult()
    dossier = load_dossier(folder)
    by_file: dict[str, list[tuple[tuple, str, str]]] = {}
    for english, chinese, paths in read_translations(xlf):
        for text in paths:
            try:
                rel, path = parse_data_path(text)
            except ValueError:
                result.problems.append(Problem("translate.path", f"unknown data path '{text}'", Location(str(xlf)), severity="warning"))
                continue
            by_file.setdefault(rel, []).append((path, english, chinese))
        for message in glossary_problems(english, chinese):
            result.problems.append(Problem("translate.glossary", f"{message}: '{chinese[:40]}'", Location(str(xlf)),
                                           severity="warning", hint=f"source '{english[:60]}'"))
    for rel, edits in sorted(by_file.items()):
        source = dossier.files.get(rel)
        target = Path(folder) / rel
        if source is None or not target.is_file():
            result.problems.append(Problem("translate.file", f"no file {rel} in the dossier", Location(str(xlf)), severity="warning"))
            continue
        writer = _write_csv if rel.endswith(".csv") else _write_yaml
        filled = writer(target, rel, edits, result.problems)
        if filled:
            result.filled += filled
            result.files.append(rel)
    return result


def _write_yaml(target: Path, rel: str, edits: list, problems: list) -> int:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import LiteralScalarString

    text = target.read_text("utf-8")
    yaml = _layout_keeping_yaml(text)
    if yaml is None:
        problems.append(Problem("translate.layout", f"{rel}: its layout cannot be kept by a YAML round trip; nothing written to it",
                                Location(rel), severity="warning", hint="add the zh texts of this file by hand"))
        return 0
    data = yaml.load(text)
    filled = 0
    for path, english, chinese in edits:
        container, key = _container(data, path)
        if container is None:
            problems.append(Problem("translate.moved", f"{rel}: nothing at {path}; skipped", Location(rel), severity="warning"))
            continue
        value = container[key]
        current = value.get("en") if isinstance(value, dict) else value
        if not isinstance(current, str) or " ".join(current.split()) != " ".join(english.split()):
            problems.append(Problem("translate.changed", f"{rel}: the English at {_show(path)} changed since the export; skipped",
                                    Location(rel), severity="warning", hint="export again and translate the new text"))
            continue
        zh = LiteralScalarString(chinese.rstrip("\n") + "\n") if "\n" in current.rstrip("\n") else chinese
        if isinstance(value, dict):
            if value.get("zh") == zh:
                continue
            value["zh"] = zh
        else:
            pair = CommentedMap([("en", value), ("zh", zh)])
            if "\n" not in current.rstrip("\n"):
                pair.fa.set_flow_style()
            container[key] = pair
        filled += 1
    if filled:
        out = io.StringIO()
        yaml.dump(data, out)
        target.write_text(out.getvalue(), "utf-8")
    return filled


def _layout_keeping_yaml(text: str):
    """Return a ruamel.yaml round-trip loader that writes this text back byte for byte, or None."""
    from ruamel.yaml import YAML

    for mapping, sequence, offset in ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4)):
        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.width = 4096
        yaml.allow_unicode = True
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        try:
            out = io.StringIO()
            yaml.dump(yaml.load(text), out)
        except Exception:  # ruamel raises many kinds; the file is then left alone
            return None
        if out.getvalue() == text:
            return yaml
    return None


def _container(data, path: tuple):
    node = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None, None
    try:
        node[path[-1]]
    except (KeyError, IndexError, TypeError):
        return None, None
    return node, path[-1]


def _show(path: tuple) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _write_csv(target: Path, rel: str, edits: list, problems: list) -> int:
    raw = target.read_bytes().decode("utf-8")
    bom = "\ufeff" if raw.startswith("\ufeff") else ""
    text = raw.removeprefix("\ufeff")
    newline = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if _csv_text(rows, newline) != text:
        problems.append(Problem("translate.layout", f"{rel}: its quoting cannot be kept; nothing written to it",
                                Location(rel), severity="warning", hint="add the text_zh column of this file by hand"))
        return 0
    header = [h.strip() for h in rows[0]]
    if CSV_TEXT not in header:
        return 0
    if CSV_TEXT_ZH not in header:
        rows[0].append(CSV_TEXT_ZH)
        header.append(CSV_TEXT_ZH)
        for row in rows[1:]:
            if row:
                row.append("")
    col_en, col_zh = header.index(CSV_TEXT), header.index(CSV_TEXT_ZH)
    filled = 0
    for path, english, chinese in edits:
        index = path[0] + 1 if path and isinstance(path[0], int) else None
        if index is None or index >= len(rows) or len(rows[index]) <= col_en:
            problems.append(Problem("translate.moved", f"{rel}: no row {path[0] + 2 if path else '?'}; skipped", Location(rel), severity="warning"))
            continue
        row = rows[index]
        if " ".join(row[col_en].split()) != " ".join(english.split()):
            problems.append(Problem("translate.changed", f"{rel}: row {index + 1} changed since the export; skipped",
                                    Location(rel, index + 1), severity="warning"))
            continue
        while len(row) <= col_zh:
            row.append("")
        if row[col_zh] != chinese:
            row[col_zh] = chinese
            filled += 1
    if filled:
        target.write_bytes((bom + _csv_text(rows, newline)).encode("utf-8"))
    return filled


def _csv_text(rows: list[list[str]], newline: str) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=newline).writerows(rows)
    return out.getvalue()
