"""Schema versions of a dossier, and `dossiergen migrate`: upgrading an older dossier in place.

application.yaml states the version of the data model it was written for (`schema_version`); a
dossier without one was written before versions existed and is version 1, the baseline. An older
dossier keeps validating: each field of an older version that a newer one renamed is still read,
with a deprecation warning naming the new field. `migrate` rewrites the files with ruamel.yaml's
round trip, so comments, quoting, flow lists and key order stay as written; it lists every
change, writes nothing unless every file can be written back with its layout kept, and writes
each file atomically.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, Location, Problem, UsageError
from .load import Dossier, kind_of
from .model import select

CURRENT_VERSION = "2"
BASELINE_VERSION = "1"  # a dossier without schema_version
VERSIONS = ("1", "2")


@dataclass(frozen=True)
class Rename:
    """A key renamed in a schema version: in files of `kind`, in each mapping at `pattern`."""

    since: str
    kind: str
    pattern: tuple
    old: str
    new: str
    why: str


RENAMES: tuple[Rename, ...] = (
    Rename("2", "batches", ("batches", "*"), "substance_batches", "made_from",
           "every lot, of any kind, records the lots it was made from (genealogy)"),
    Rename("2", "stability", ("claims", "*"), "months", "period",
           "a period may be counted in hours, days, weeks or months (time_unit; months when not given)"),
)


def declared_version(data) -> str:
    """Return the schema version an application.yaml's data state (the baseline when absent)."""
    version = data.get("schema_version") if isinstance(data, dict) else None
    return str(version) if version is not None else BASELINE_VERSION


def deprecations(dossier: Dossier) -> list[Problem]:
    """Return a warning for each field of an older schema version the dossier still uses."""
    problems = []
    for rename in RENAMES:
        for source in dossier.of_kind(rename.kind):
            for mapping, _, _ in select(source.data, rename.pattern):
                if isinstance(mapping, dict) and rename.old in mapping:
                    rel, path = dossier.where(mapping, rename.old)
                    problems.append(Problem(
                        "schema.deprecated", f"'{rename.old}' is the schema version {_before(rename.since)} name of "
                        f"'{rename.new}'; it is still read", dossier.locate(rel, path, key=True), severity="warning",
                        hint=f"run `dossiergen migrate --dossier {dossier.label or '.'}` to rename it; {rename.why}"))
    return problems


def _before(version: str) -> str:
    return VERSIONS[VERSIONS.index(version) - 1]


@dataclass
class Migration:
    """What a migration did (or, with dry_run, would do)."""

    folder: Path
    old: str
    new: str
    changes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def migrate_folder(folder: Path, dry_run: bool = False) -> Migration:
    """Upgrade the dossier in a folder to the current schema version, in place; return the changes."""
    folder = Path(folder)
    app_path = folder / "application.yaml"
    if not app_path.is_file():
        raise UsageError(f"no application.yaml in {folder}", (Problem(
            "usage.no_dossier", f"no application.yaml in '{folder}'",
            hint="pass --dossier DIR naming a dossier folder"),))
    texts, docs, loaders, problems = {}, {}, {}, []
    for path in sorted(folder.rglob("*.yaml")):
        rel = path.relative_to(folder).as_posix()
        kind = kind_of(rel)
        if kind is None or any(part.startswith(".") for part in rel.split("/")):
            continue
        if kind != "application" and not any(r.kind == kind for r in RENAMES):
            continue
        texts[rel] = path.read_text("utf-8")
        loader = _loader(texts[rel])
        if loader is None:
            problems.append(Problem("migrate.layout", "this file cannot be read back with its layout kept, so it is "
                                    "not rewritten", Location(f"{folder}/{rel}"),
                                    hint="fix its YAML (`dossiergen validate` says where), or make the changes "
                                         "`dossiergen migrate --dry-run` lists by hand"))
            continue
        loaders[rel], docs[rel] = loader, loader.load(texts[rel])
    if problems:
        raise InputError("the dossier cannot be migrated", tuple(problems))
    app = docs["application.yaml"]
    old = declared_version(app)
    if old not in VERSIONS:
        raise InputError("unknown schema version", (Problem(
            "migrate.unknown_version", f"schema_version '{old}' is not a version this dossiergen knows "
            f"({', '.join(VERSIONS)})", _at(folder, "application.yaml", app, "schema_version"),
            hint="a newer dossiergen wrote it, or it is mistyped; this one writes version " + CURRENT_VERSION),))
    result = Migration(folder, old, CURRENT_VERSION)
    if old == CURRENT_VERSION:
        return result
    for rename in RENAMES:
        if VERSIONS.index(rename.since) <= VERSIONS.index(old):
            continue
        for rel in sorted(docs):
            if kind_of(rel) != rename.kind:
                continue
            for mapping, _, _ in select(docs[rel], rename.pattern):
                if hasattr(mapping, "insert") and rename.old in mapping:
                    where = _at(folder, rel, mapping, rename.old)
                    if rename.new in mapping:
                        raise InputError("conflicting fields", (Problem(
                            "migrate.both_keys", f"both '{rename.old}' and '{rename.new}' are given", where,
                            hint=f"keep one of them ('{rename.new}'), then run migrate again"),))
                    _rename(mapping, rename.old, rename.new)
                    named = f" ({mapping['id']})" if isinstance(mapping.get("id"), str) else ""
                    result.changes.append(f"{where}: renamed '{rename.old}' to '{rename.new}'{named}: {rename.why}")
                    result.files.append(rel)
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    where = f"{folder}/application.yaml"
    if "schema_version" in app:
        where = str(_at(folder, "application.yaml", app, "schema_version"))
        app["schema_version"] = DoubleQuotedScalarString(CURRENT_VERSION)
        result.changes.append(f"{where}: schema_version {old} -> {CURRENT_VERSION}")
    else:
        first = next(iter(app), None)
        where = str(_at(folder, "application.yaml", app, first)) if first is not None else where
        app.insert(0, "schema_version", DoubleQuotedScalarString(CURRENT_VERSION))
        result.changes.append(f"{where}: added schema_version \"{CURRENT_VERSION}\" (the dossier had none: version {old})")
    result.files.append("application.yaml")
    result.files = sorted(set(result.files))
    if not dry_run:
        outputs = {}
        for rel in result.files:
            out = io.StringIO()
            loaders[rel].dump(docs[rel], out)
            outputs[rel] = out.getvalue()
        for rel, text in outputs.items():
            _write_atomically(folder / rel, text)
    return result


def _loader(text: str):
    from .xliff import _layout_keeping_yaml

    return _layout_keeping_yaml(text)


def _at(folder: Path, rel: str, mapping, key) -> Location:
    """Return the 1-based location of a key in a ruamel mapping."""
    try:
        line, column = mapping.lc.key(key)
        return Location(f"{folder}/{rel}", line + 1, column + 1)
    except (AttributeError, KeyError, TypeError):
        return Location(f"{folder}/{rel}")


def _rename(mapping, old: str, new: str) -> None:
    """Rename a key of a ruamel CommentedMap in place: same position, same comments."""
    position = list(mapping.keys()).index(old)
    comment = mapping.ca.items.pop(old, None)
    value = mapping.pop(old)
    mapping.insert(position, new, value)
    if comment is not None:
        mapping.ca.items[new] = comment
        shift = len(new) - len(old)  # an end-of-line comment keeps its distance from the value
        tokens = list(comment) + list(getattr(getattr(value, "ca", None), "comment", None) or [])
        for token in {id(t): t for t in tokens if t is not None and hasattr(t, "column")}.values():
            try:
                token.column = max(0, token.column + shift)
            except AttributeError:
                pass


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
