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
import hashlib
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from .errors import Location, Problem, UsageError

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024  # all files of a dossier together
MAX_ROWS = 100_000  # result rows of all CSV files together (the largest example has about 5,000)
MAX_DEPTH = 64  # nesting of YAML mappings and lists (no dossier needs more than about 10)
MAX_ALIASES = 0
# Private-use characters the renderer uses as markers (render.py's cross-references, write/pandoc.py's
# document marker): refused in data, so that text can never forge a link or cut a batch wrongly.
RESERVED_CHARS = re.compile("[\ue000-\ue00f]")
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
CSV_KINDS = ("batch-results", "stability-results")

Path_ = tuple  # a JSON path as a tuple of str keys and int indexes


@dataclass
class SourceFile:
    """One loaded file: its kind, its data, and the position of every node."""

    rel: str
    kind: str
    data: Any
    marks: Mapping[Path_, tuple[int, int]] = field(default_factory=dict)  # CSV: CsvMarks, computed when asked
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    header: tuple[str, ...] = ()
    lines: list[int] = field(default_factory=list)  # CSV: the line each data row starts on
    digest: str = ""  # sha256 of the file's text: what a document that read it depends on (depends.py)
    text: str = ""  # CSV: the file's text, where CsvMarks finds a cell's column

    def __post_init__(self):
        if self.text and not self.marks:
            self.marks = CsvMarks(self)


class CsvMarks(Mapping):
    """The positions of a CSV file's rows, (index,), and cells, (index, column name): the same as a
    dict of them, but computed when asked (an error is located) from the file's text and the line
    each row starts on. Held eagerly, the positions of 40,000 rows took about 75 MB (issue 19)."""

    def __init__(self, source: "SourceFile"):
        self._source, self._text_lines = source, None

    def __getitem__(self, path: Path_) -> tuple[int, int]:
        source = self._source
        if not isinstance(path, tuple) or not path or type(path[0]) is not int or not 0 <= path[0] < len(source.lines):
            raise KeyError(path)
        line = source.lines[path[0]]
        if len(path) == 1:
            return line, 1
        column = self._column(path)
        if len(path) != 2 or column is None:
            raise KeyError(path)
        if self._text_lines is None:
            self._text_lines = csv_lines(source.text)
        lines = self._text_lines
        return line, _cell_col(lines[line - 1] if line <= len(lines) else "", column)

    def _column(self, path: Path_) -> int | None:
        """Return the index of the row's cell a (index, name) path names (the last of a repeated name),
        None when the row has no such cell."""
        header, record = self._source.header, self._source.data[path[0]]
        width = min(len(header), record.get("__width__", len(header)) if isinstance(record, dict) else len(header))
        found = [i for i, name in enumerate(header[:width]) if name == path[1]]
        return found[-1] if found else None

    def __contains__(self, path: object) -> bool:
        try:
            self[path]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True

    def __iter__(self) -> Iterator[Path_]:
        header = self._source.header
        for index in range(len(self._source.lines)):
            yield (index,)
            yield from dict.fromkeys((index, name) for i, name in enumerate(header) if self._column((index, name)) == i)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class Dossier:
    """The loaded source: files by relative path, and where each container came from."""

    root: Path
    label: str
    files: dict[str, SourceFile]
    origins: dict[int, tuple[str, Path_]] = field(default_factory=dict)  # CSV rows: see where
    rows: dict[int, tuple[str, Path_]] | None = field(default=None, repr=False)  # built when first needed
    problems: list[Problem] = field(default_factory=list)
    _kinds: dict = field(default_factory=dict, repr=False, compare=False)  # of_kind's index, with the files it was made from

    def of_kind(self, kind: str) -> list[SourceFile]:
        """Return the files of one kind, sorted by path (from an index made once for the files as they are:
        rules and documents ask thousands of times in a build)."""
        files = tuple(self.files.items())
        if self._kinds.get("files") != files:
            index: dict[str, list[SourceFile]] = {}
            for _, source in sorted(files):
                index.setdefault(source.kind, []).append(source)
            self._kinds.clear()
            self._kinds.update(files=files, index=index)
        return list(self._kinds["index"].get(kind, ()))

    def locate(self, rel: str, path: Path_ = (), key: bool = False) -> Location:
        """Return the location of a path in a file (its key when key=True), or its nearest parent."""
        source = self.files.get(rel)
        shown = f"{self.label}/{rel}" if self.label else rel
        if source is None:
            return Location(shown)
        path = tuple(path)
        named = json_path(path) if source.kind not in ("batch-results", "stability-results") else _csv_path(path, source.lines)
        if key and path in source.key_marks:
            return Location(shown, *source.key_marks[path], named)
        while path and path not in source.marks:
            path = path[:-1]
        line, col = source.marks.get(path, (1, 1))
        return Location(shown, line, col, named)

    def where(self, obj: Any, *keys: Any) -> tuple[str, Path_]:
        """Return (file, path) of a loaded mapping or list, extended by keys."""
        found = self.origins.get(id(obj))
        if found is None and isinstance(obj, dict):
            found = self._row_origins().get(id(obj))
        rel, path = found or ("", ())
        return rel, path + tuple(keys)

    def _row_origins(self) -> dict[int, tuple[str, Path_]]:
        """Return where each CSV row is, indexed when a row is first asked about: rendering and the
        gap rules never ask, and 56,000 rows took about 15 MB (issue 19)."""
        if self.rows is None:
            self.rows = {id(row): (rel, (index,)) for rel, source in self.files.items()
                         if source.kind in CSV_KINDS and isinstance(source.data, list)
                         for index, row in enumerate(source.data)}
        return self.rows

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
    root, total, rows = folder.resolve(), 0, 0
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        shown = Location(f"{dossier.label}/{rel}")
        if path.is_symlink():
            link = _check_link(path, rel, root, shown)
            if link:
                problems.append(link)
                continue
        if path.is_dir():
            if kind_of(rel) is not None:
                problems.append(Problem("load.not_a_file", f"'{rel}' is a folder, but it must be a file", shown,
                                        hint=f"{rel} holds YAML or CSV data: replace the folder by the file"))
            continue
        if not path.is_file():
            continue  # sockets, pipes, devices: never opened
        total += path.stat().st_size
        if total > MAX_TOTAL_BYTES:
            problems.append(Problem("load.total_too_large", f"the dossier's files exceed {MAX_TOTAL_BYTES // 2**20} MB together; "
                                    f"'{rel}' and the files after it were not read", shown,
                                    hint="a dossier holds data, not documents: move large files elsewhere"))
            break
        problems += _load_file(dossier, path, rel)
        source = dossier.files.get(rel)
        if source is not None and source.kind in ("batch-results", "stability-results"):
            rows += len(source.data)
            if rows > MAX_ROWS:
                del dossier.files[rel]
                problems.append(Problem("load.too_many_rows", f"the result files hold more than {MAX_ROWS} rows together; "
                                        f"'{rel}' was not read", shown, hint="keep the results a dossier reports; "
                                        "summarise or split the data into several dossiers"))
                break
    dossier.problems = problems + _missing_required(dossier)
    return dossier


def _check_link(path: Path, rel: str, root: Path, shown: Location) -> Problem | None:
    """Return the problem of a symbolic link, the same for every file kind: it must lead to an
    existing file or folder inside the dossier."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing target, or a loop of links
        return Problem("load.broken_link", f"'{rel}' is a symbolic link that leads nowhere", shown,
                       hint="delete the link, or point it at a file inside the dossier folder")
    if not target.is_relative_to(root):
        return Problem("load.outside", f"'{rel}' is a symbolic link to '{target}', outside the dossier folder",
                       shown, hint="copy the file into the dossier folder; links may only point inside it")
    return None


def read_application(folder: Path) -> dict:
    """Return application.yaml's data, read as load_dossier reads it, before (or without) loading the
    rest: the build's fast path needs its markets and stage. Empty when it cannot be read (validation
    then says why)."""
    raw, _ = _read_text(Path(folder) / "application.yaml", "application.yaml")
    source = _read_yaml(raw, "application.yaml", "application", "application.yaml")[0] if raw is not None else None
    return source.data if source is not None and isinstance(source.data, dict) else {}


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
            for name in REQUIRED_FILES if not (dossier.root / name).exists() and not (dossier.root / name).is_symlink()]


def _load_file(dossier: Dossier, path: Path, rel: str) -> list[Problem]:
    shown = f"{dossier.label}/{rel}"
    kind = kind_of(rel)
    if kind is None:
        if path.suffix.lower() in ASSET_SUFFIXES or (rel.startswith(("supplied/", "literature/")) and rel.endswith(".pdf")):
            return []  # figures, notes, the PDFs the applicant supplies (supplied/supplied.yaml), copies of literature
        names = [p for p, _ in FILE_KINDS]
        close = difflib.get_close_matches(rel, names, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see README 'The dossier folder' for the file names"
        return [Problem("load.unknown_file", f"'{rel}' is not a dossier file kind", Location(shown), hint=hint)]
    raw, problems = _read_text(path, shown)
    if raw is None:
        return problems
    source, problems = _parse_cached(raw, rel, kind, shown)
    if source is not None:
        dossier.files[rel] = source
        if kind in CSV_KINDS:  # its rows are found by Dossier.where when asked
            dossier.origins[id(source.data)] = (rel, ())
        else:
            _register_origins(dossier.origins, rel, source.data, ())
    return problems


def _parse_cached(raw: str, rel: str, kind: str, shown: str) -> tuple[SourceFile | None, list[Problem]]:
    """Parse a file's text, reusing the result of the same text (by content hash) from the build's
    store (cache.store: kept in the output's .cache between builds). Stored as marshal data: plain
    values only, never code."""
    import marshal
    import sys

    from .cache import engine_fingerprint, store

    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    key = hashlib.sha256(f"parse-2|{sys.version}|{engine_fingerprint()}|{rel}|{kind}|{shown}|{digest}".encode()).hexdigest()
    found = store().get("parse", key)
    if found is not None:
        try:
            fields, problems = marshal.loads(found)
            source = SourceFile(rel, kind, *fields) if fields is not None else None
            return source, [Problem.from_dict(p) for p in problems]
        except (ValueError, EOFError, TypeError):
            pass  # not ours: parse again
    reader = _read_csv if rel.endswith(".csv") else _read_yaml
    source, problems = reader(raw, rel, kind, shown)
    if source is not None:
        source.digest = digest
    fields = None if source is None else (source.data, {} if source.text else source.marks, source.key_marks,
                                          source.header, source.lines, digest, source.text)
    try:
        store().put("parse", key, marshal.dumps((fields, [p.as_dict() for p in problems])))
    except ValueError:
        pass  # a value marshal cannot hold: not kept
    return source, problems


def _read_text(path: Path, shown: str) -> tuple[str | None, list[Problem]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [Problem("load.too_large", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}",
                                  Location(shown), hint="split large result tables into several CSV files")]
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem("load.unreadable", f"file cannot be read: {exc.strerror}", Location(shown),
                              hint="check the file's permissions (it must be readable by the user running dossiergen)")]
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
    text = text.removeprefix("\ufeff")
    reserved = RESERVED_CHARS.search(text)
    if reserved:
        line = text.count("\n", 0, reserved.start()) + 1
        col = reserved.start() - (text.rfind("\n", 0, reserved.start()) + 1) + 1
        return None, [Problem("load.reserved_char", f"character U+{ord(reserved.group()):04X} (private use) is reserved "
                              "for dossiergen's own markers", Location(shown, line, col),
                              hint="delete it: private-use characters draw nothing in the fonts of the documents")]
    return text, []


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


_OPEN = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
         yaml.FlowSequenceStartToken)
_CLOSE = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _scan_tokens(text: str, shown: str) -> list[Problem]:
    problems, aliases, depth = [], 0, 0
    try:
        for token in yaml.scan(text, Loader=_Loader):
            where = Location(shown, token.start_mark.line + 1, token.start_mark.column + 1)
            if isinstance(token, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    return [Problem("load.too_deep", f"data nested more than {MAX_DEPTH} levels deep", where,
                                    hint="dossier data is a few levels deep; check the brackets and indentation here")]
            elif isinstance(token, _CLOSE):
                depth -= 1
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
        value = _scalar(node)
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(_not_finite(node.value, Location(shown, *source.marks[path]), json_path(path)))
        return value
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
        child = path + (key,)  # one tuple for both position indexes (issue 19: memory)
        source.key_marks[child] = (line, col)
        result[key] = _build(value_node, child, source, problems, shown)
    return result


def _not_finite(written: str, where: Location, path: str) -> Problem:
    return Problem("load.not_finite", f"'{written}' is not a finite number", where, path=path,
                   hint="write the measured value (for example 0.12); for a result below a limit use a qualifier "
                        "such as '<LOQ' in text, and leave the value out")


def _read_csv(text: str, rel: str, kind: str, shown: str):
    if not text.strip():
        return None, [Problem("load.empty", "file is empty", Location(shown, 1, 1), hint="add a header row and data, or delete the file")]
    source = SourceFile(rel, kind, [])
    lines = csv_lines(text)  # to find a cell's column on rows written on one line
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []  # (first line of the row, its cells): the csv module counts the lines of quoted multi-line cells
    try:
        start = 1
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
            if len(rows) > MAX_ROWS + 1:
                return None, [Problem("load.too_many_rows", f"file has more than {MAX_ROWS} rows", Location(shown),
                                      hint=f"keep the results a dossier reports: at most {MAX_ROWS} rows in all result "
                                           "files together; summarise the data, or split it into several dossiers")]
    except csv.Error as exc:
        return None, [Problem("load.csv", f"CSV syntax error: {exc}", Location(shown, reader.line_num, 1),
                              hint="check quotes on this line")]
    header_line, header_row = rows[0]
    header = tuple(h.strip() for h in header_row)
    source.header = header
    problems = []
    for i, name in enumerate(header):
        source.key_marks[("header", name)] = (header_line, _cell_col(lines[header_line - 1], i))
    for index, (line, row) in enumerate(rows[1:]):
        source.lines.append(line)
        record = {}
        for col, (name, cell) in enumerate(zip(header, row)):
            if cell.strip() != "":
                record[name] = _csv_value(name, cell.strip())
                if isinstance(record[name], float) and not math.isfinite(record[name]):
                    where = (line, _cell_col(lines[line - 1] if line <= len(lines) else "", col))
                    problems.append(_not_finite(cell.strip(), Location(shown, *where, f"row {line}, column {name}"), ""))
        if len(row) != len(header):
            record["__width__"] = len(row)
        source.data.append(record)
    source.text = text  # the cells' positions are found in it when asked (CsvMarks)
    source.marks = CsvMarks(source)
    return (None if problems else source), problems


_CSV_LINE_END = re.compile(r"\r\n|\r|\n")


def csv_lines(text: str) -> list[str]:
    """Return the lines of a CSV text as the csv module counts them (reader.line_num): ended by CR, LF
    or CR LF only. str.splitlines also ends a line at a form feed, U+2028 and other separators a cell
    may hold, which put every later cell's column on the wrong line."""
    return _CSV_LINE_END.split(text)


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


def _csv_path(path: Path_, lines: list[int] = ()) -> str:
    if path and path[0] == "header":
        return "header"
    if not path:
        return ""
    row = lines[path[0]] if path[0] < len(lines) else path[0] + 2
    return f"row {row}" + (f", column {path[1]}" if len(path) > 1 else "")


def json_path(path: Path_) -> str:
    """Return a tuple path as $.a.b[2].c."""
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
