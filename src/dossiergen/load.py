"""Stage load: dossier folder -> Dossier (data plus the file, line and column of every node).

PyYAML is used at the node level (compose), not through its constructor: we build plain
Python values ourselves so that every mapping key and value keeps its position, duplicate keys
are refused (PyYAML's constructor silently keeps the last one), tags and aliases are refused,
and YAML 1.1 booleans (yes/no/on/off; the country code NO) stay strings as in YAML 1.2.
"""

from __future__ import annotations

import csv
import difflib
import fnmatch
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Location, Problem, UsageError

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_ALIASES = 0
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The file kinds of a dossier folder: glob -> schema name (schemas/<kind>.schema.json).
FILE_KINDS: tuple[tuple[str, str], ...] = (
    ("application.yaml", "application"),
    ("sites.yaml", "sites"),
    ("excipients.yaml", "excipients"),
    ("methods.yaml", "methods"),
    ("batches.yaml", "batches"),
    ("stability.yaml", "stability"),
    ("appendices.yaml", "appendices"),
    ("references.yaml", "references"),
    ("substances/*.yaml", "substance"),
    ("products/*.yaml", "product"),
    ("specifications/*.yaml", "specification"),
    ("markets/us.yaml", "market-us"),
    ("markets/eu.yaml", "market-eu"),
    ("markets/uk.yaml", "market-uk"),
    ("markets/cn.yaml", "market-cn"),
    ("supplied/supplied.yaml", "supplied"),
    ("results/*.csv", "batch-results"),
    ("stability/*.csv", "stability-results"),
)
REQUIRED_FILES = ("application.yaml", "sites.yaml", "methods.yaml", "batches.yaml", "stability.yaml")
ASSET_SUFFIXES = (".png", ".svg", ".md", ".txt")
CSV_NUMBER_COLUMNS = ("value", "time_point")

Path_ = tuple  # a JSON path as a tuple of str keys and int indexes


@dataclass
class SourceFile:
    """One loaded file: its kind, its data, and the position of every node."""

    rel: str
    kind: str
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    header: tuple[str, ...] = ()


@dataclass
class Dossier:
    """The loaded source: files by relative path, and where each container came from."""

    root: Path
    label: str
    files: dict[str, SourceFile]
    origins: dict[int, tuple[str, Path_]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[SourceFile]:
        """Return the files of one kind, sorted by path."""
        return [f for rel, f in sorted(self.files.items()) if f.kind == kind]

    def locate(self, rel: str, path: Path_ = (), key: bool = False) -> Location:
        """Return the location of a path in a file (its key when key=True), or its nearest parent."""
        source = self.files.get(rel)
        shown = f"{self.label}/{rel}" if self.label else rel
        if source is None:
            return Location(shown)
        path = tuple(path)
        named = json_path(path) if source.kind not in ("batch-results", "stability-results") else _csv_path(path)
        if key and path in source.key_marks:
            return Location(shown, *source.key_marks[path], named)
        while path and path not in source.marks:
            path = path[:-1]
        line, col = source.marks.get(path, (1, 1))
        return Location(shown, line, col, named)

    def where(self, obj: Any, *keys: Any) -> tuple[str, Path_]:
        """Return (file, path) of a loaded mapping or list, extended by keys."""
        rel, path = self.origins.get(id(obj), ("", ()))
        return rel, path + tuple(keys)

    def location_of(self, obj: Any, *keys: Any) -> Location:
        """Return the location of a loaded mapping or list (or of a key below it)."""
        rel, path = self.where(obj, *keys)
        return self.locate(rel, path, key=False)


def kind_of(rel: str) -> str | None:
    """Return the file kind for a path relative to the dossier folder, or None."""
    for pattern, kind in FILE_KINDS:
        if fnmatch.fnmatchcase(rel, pattern) and rel.count("/") == pattern.count("/"):
            return kind
    return None


def load_dossier(folder: Path, label: str | None = None) -> Dossier:
    """Load every readable file of a dossier folder; problems of the others are in .problems."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"no dossier folder at {folder}", (Problem(
            "usage.no_dossier", f"dossier folder '{folder}' does not exist",
            hint="pass --dossier DIR (or DOSSIER=DIR to make) naming a folder with application.yaml"),))
    dossier = Dossier(folder, str(label if label is not None else folder).rstrip("/"), {})
    problems: list[Problem] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        problems += _load_file(dossier, path, rel)
    dossier.problems = problems + _missing_required(dossier)
    return dossier


def load_single_file(path: Path, kind: str, label: str) -> Dossier:
    """Load one YAML file of a kind outside a dossier (a rule pack) with the same checks and positions."""
    dossier = Dossier(path.parent, label, {})
    shown = f"{label}/{path.name}"
    raw, problems = _read_text(path, shown)
    if raw is not None:
        source, problems = _read_yaml(raw, path.name, kind, shown)
        if source is not None:
            dossier.files[path.name] = source
            _register_origins(dossier.origins, path.name, source.data, ())
    dossier.problems = problems
    return dossier


def _missing_required(dossier: Dossier) -> list[Problem]:
    return [Problem("load.missing_file", f"the dossier has no {name}", Location(f"{dossier.label}/{name}"),
                    hint=f"create {name}; see README 'The dossier folder'")
            for name in REQUIRED_FILES if not (dossier.root / name).exists()]


def _load_file(dossier: Dossier, path: Path, rel: str) -> list[Problem]:
    shown = f"{dossier.label}/{rel}"
    kind = kind_of(rel)
    if kind is None:
        if path.suffix.lower() in ASSET_SUFFIXES or (rel.startswith("supplied/") and rel.endswith(".pdf")):
            return []  # figures, notes, and the PDFs the applicant supplies (supplied/supplied.yaml)
        names = [p for p, _ in FILE_KINDS]
        close = difflib.get_close_matches(rel, names, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see README 'The dossier folder' for the file names"
        return [Problem("load.unknown_file", f"'{rel}' is not a dossier file kind", Location(shown), hint=hint)]
    raw, problems = _read_text(path, shown)
    if raw is None:
        return problems
    reader = _read_csv if rel.endswith(".csv") else _read_yaml
    source, problems = reader(raw, rel, kind, shown)
    if source is not None:
        dossier.files[rel] = source
        _register_origins(dossier.origins, rel, source.data, ())
    return problems


def _read_text(path: Path, shown: str) -> tuple[str | None, list[Problem]]:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return None, [Problem("load.too_large", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}",
                              Location(shown), hint="split large result tables into several CSV files")]
    data = path.read_bytes()
    if b"\x00" in data:
        return None, [Problem("load.binary", "file contains NUL bytes: it is not a text file",
                              Location(shown), hint="save it as UTF-8 text (YAML or CSV)")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Problem("load.not_utf8", f"byte 0x{data[exc.start]:02x} is not valid UTF-8",
                              Location(shown, line, col), hint="save the file as UTF-8")]
    return text.removeprefix("\ufeff"), []


def _read_yaml(text: str, rel: str, kind: str, shown: str):
    tab = _leading_tab(text)
    if tab:
        return None, [Problem("load.tab", "tab character in indentation", Location(shown, *tab),
                              hint="YAML indents with spaces only; replace the tab with spaces")]
    problems = _scan_tokens(text, shown)
    if problems:
        return None, problems
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(shown, mark.line + 1, mark.column + 1) if mark else Location(shown)
        return None, [Problem("load.syntax", f"YAML syntax error: {exc.problem or exc.context}", where,
                              hint=_syntax_hint(exc))]
    if node is None:
        return None, [Problem("load.empty", "file is empty", Location(shown, 1, 1),
                              hint="add the data, or delete the file")]
    source = SourceFile(rel, kind, None)
    problems = []
    source.data = _build(node, (), source, problems, shown)
    return (None if problems else source), problems


def _leading_tab(text: str) -> tuple[int, int] | None:
    for number, line in enumerate(text.splitlines(), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return number, indent.index("\t") + 1
    return None


def _scan_tokens(text: str, shown: str) -> list[Problem]:
    problems, aliases = [], 0
    try:
        for token in yaml.scan(text, Loader=_Loader):
            where = Location(shown, token.start_mark.line + 1, token.start_mark.column + 1)
            if isinstance(token, yaml.TagToken):
                problems.append(Problem("load.tag", "YAML tags (!tag) are not allowed in dossier data", where,
                                        hint="remove the tag; write plain values"))
            elif isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
                aliases += 1
                if aliases > MAX_ALIASES:
                    problems.append(Problem("load.alias", "YAML anchors and aliases (&name, *name) are not allowed",
                                            where, hint="write the value out in full; use ids to refer to other entities"))
                    break
    except yaml.MarkedYAMLError:
        return []  # compose reports the syntax error with its position
    return problems


def _syntax_hint(exc: yaml.MarkedYAMLError) -> str:
    text = f"{exc.problem} {exc.context}"
    if "mapping values are not allowed" in text:
        return "a value containing ': ' must be quoted, or the indentation is off"
    if "expected <block end>" in text or "did not find expected key" in text:
        return "check the indentation of this line against the lines above"
    if "found character" in text and "cannot start any token" in text:
        return "quote the value (for example '@home' or '`x`')"
    return "check quotes and indentation on this line and the one before"


_BOOL_WORDS = {"true": True, "false": False}
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.style:  # quoted or block scalar: always a string
        return node.value
    value, tag = node.value, node.tag
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return _BOOL_WORDS.get(value.lower(), value)  # yes/no/on/off stay strings (YAML 1.2)
    if tag == _INT:
        digits = value.replace("_", "").lstrip("+-")
        if len(digits) > 1 and digits.startswith("0"):
            return value  # leading zero: an identifier such as a batch number, not an octal
        try:
            return int(value.replace("_", ""))
        except ValueError:
            return value
    if tag == _FLOAT:
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return value
    return value  # str, and timestamps kept as written (dates are strings in the schema)


def _build(node, path: Path_, source: SourceFile, problems: list, shown: str) -> Any:
    source.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, path + (i,), source, problems, shown) for i, child in enumerate(node.value)]
    result: dict[str, Any] = {}
    first_seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(Problem("load.complex_key", "mapping keys must be plain names", Location(shown, line, col)))
            continue
        key = str(key_node.value)
        if key in first_seen:
            problems.append(Problem("load.duplicate_key", f"duplicate key '{key}'", Location(shown, line, col),
                                    path=json_path(path), hint=f"'{key}' is already defined at line {first_seen[key]}; keep one"))
            continue
        first_seen[key] = line
        source.key_marks[path + (key,)] = (line, col)
        result[key] = _build(value_node, path + (key,), source, problems, shown)
    return result


def _read_csv(text: str, rel: str, kind: str, shown: str):
    lines = text.splitlines()
    if not "".join(lines).strip():
        return None, [Problem("load.empty", "file is empty", Location(shown, 1, 1), hint="add a header row and data, or delete the file")]
    source = SourceFile(rel, kind, [])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        return None, [Problem("load.csv", f"CSV syntax error: {exc}", Location(shown, reader.line_num, 1),
                              hint="check quotes on this line")]
    header = tuple(h.strip() for h in rows[0])
    source.header = header
    for i, name in enumerate(header):
        source.key_marks[("header", name)] = (1, _cell_col(lines[0], i))
    for index, row in enumerate(rows[1:]):
        line = index + 2
        source.marks[(index,)] = (line, 1)
        record = {}
        for col, (name, cell) in enumerate(zip(header, row)):
            source.marks[(index, name)] = (line, _cell_col(lines[index + 1] if index + 1 < len(lines) else "", col))
            if cell.strip() != "":
                record[name] = _csv_value(name, cell.strip())
        if len(row) != len(header):
            record["__width__"] = len(row)
        source.data.append(record)
    return source, []


def _cell_col(line: str, index: int) -> int:
    if '"' in line:
        return 1
    parts = line.split(",")
    return sum(len(p) + 1 for p in parts[:index]) + 1


def _csv_value(name: str, cell: str) -> Any:
    if name in CSV_NUMBER_COLUMNS:
        try:
            number = float(cell)
            return int(number) if number.is_integer() and "." not in cell and "e" not in cell.lower() else number
        except ValueError:
            return cell
    return cell


def _register_origins(origins: dict, rel: str, value: Any, path: Path_) -> None:
    if isinstance(value, dict):
        origins[id(value)] = (rel, path)
        for key, child in value.items():
            _register_origins(origins, rel, child, path + (key,))
    elif isinstance(value, list):
        origins[id(value)] = (rel, path)
        for i, child in enumerate(value):
            _register_origins(origins, rel, child, path + (i,))


def _csv_path(path: Path_) -> str:
    if path and path[0] == "header":
        return "header"
    return f"row {path[0] + 2}" + (f", column {path[1]}" if len(path) > 1 else "") if path else ""


def json_path(path: Path_) -> str:
    """Return a tuple path as $.a.b[2].c."""
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
