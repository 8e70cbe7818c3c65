"""Stage validate: Dossier -> problems. JSON Schema first (every file), then the semantic rules."""

from __future__ import annotations

import difflib
import hashlib
import unicodedata

from jsonschema import ValidationError

from . import rules
from .errors import Problem, sort_problems
from .environment import undrawable
from .load import Dossier, SourceFile, json_path, load_dossier
from .migrate import deprecations
from .model import build_model
from .schema import flat_validator_for, schema_of, validator_for

CSV_KINDS = ("batch-results", "stability-results")


def validate_folder(folder) -> list[Problem]:
    """Return every problem of the dossier in a folder (loads neither pandoc nor typst)."""
    return validate_dossier(load_dossier(folder))


def validate_dossier(dossier: Dossier) -> list[Problem]:
    """Return every schema and semantic problem of the dossier, in file and line order."""
    problems: list[Problem] = list(dossier.problems)
    for rel in sorted(dossier.files):
        problems += _file_problems(dossier, dossier.files[rel])
    problems += deprecations(dossier)
    if not any(p.severity == "error" for p in dossier.problems):
        problems += rules.check_model_rules(build_model(dossier), run_rule)  # with a file unreadable, references into it cannot resolve
    return sort_problems(dict.fromkeys(problems))


def run_rule(rule_id: str, model) -> list[Problem]:
    """Return the problems of a semantic rule, reused in a build when what the rule read is unchanged
    (reuse.py); the verdict engine reads them through rules.RUNNER (gaps.assess)."""
    from .reuse import reused

    return reused("rule", [rule_id], model, lambda seen: rules.BY_ID[rule_id].check(seen.dossier, seen),
                  lambda found: [p.as_dict() for p in found], lambda data: [Problem.from_dict(p) for p in data])


def _file_problems(dossier: Dossier, source: SourceFile) -> list[Problem]:
    """Return the schema and glyph problems of one file, reusing those of the same file content
    (by content hash, with the code and schemas that judged it) from the build's store."""
    import marshal

    from .cache import engine_fingerprint, knowledge_fingerprint, store

    key = None
    if source.digest:
        key = hashlib.sha256(f"validate-1|{engine_fingerprint()}|{knowledge_fingerprint()}|{dossier.label}|{source.rel}|"
                             f"{source.kind}|{source.digest}".encode()).hexdigest()
        found = store().get("validate", key)
        if found is not None:
            try:
                return [Problem.from_dict(p) for p in marshal.loads(found)]
            except (ValueError, EOFError, TypeError, KeyError):
                pass
    problems = check_file_schema(dossier, source) + check_glyphs(dossier, source)
    if key is not None:
        store().put("validate", key, marshal.dumps([p.as_dict() for p in problems]))
    return problems


def check_glyphs(dossier: Dossier, source: SourceFile) -> list[Problem]:
    """Return an error for each text value holding a character that no font of the PDFs can draw
    (an emoji, a rare symbol): typst would fail on it, or print an empty box."""
    values = list(_texts(source.data, ()))
    missing = undrawable({char for _, text in values for char in text})
    problems = []
    for path, text in values:
        bad = [char for char in dict.fromkeys(text) if char in missing]
        if bad:
            shown = ", ".join(f"'{char}' (U+{ord(char):04X} {unicodedata.name(char, 'unnamed')})" for char in bad[:3])
            problems.append(Problem("text.no_glyph", f"no font of the documents can draw {shown}",
                                    dossier.locate(source.rel, path), hint="write it in words, or with characters the "
                                    "Liberation and Noto CJK fonts have (Latin, Greek, Cyrillic, Chinese, common symbols)"))
    return problems


def _texts(value, path: tuple):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _texts(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _texts(child, path + (index,))


def check_file_schema(dossier: Dossier, source: SourceFile) -> list[Problem]:
    """Return the schema problems of one file (CSV files row by row, after their header)."""
    if source.kind in CSV_KINDS:
        return _check_csv(dossier, source)
    validator = validator_for(source.kind)
    return _merge_misspellings([p for error in validator.iter_errors(source.data) for p in _problems(dossier, source, error)])


def _merge_misspellings(problems: list[Problem]) -> list[Problem]:
    """A misspelled required key is one problem ('did you mean'), not also a missing key."""
    meant = {(p.path, p.hint.split("'")[1]) for p in problems
             if p.code == "schema.additionalProperties" and p.hint.startswith("did you mean")}
    return [p for p in problems if not (p.code == "schema.required" and (p.path, p.message.split("'")[1]) in meant)]


def _check_csv(dossier: Dossier, source: SourceFile) -> list[Problem]:
    schema = schema_of(source.kind)
    known = list(schema["properties"]) + ["test", "value", "unit", "qualifier", "text", "text_zh"]
    problems = []
    for name in source.header:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            problems.append(Problem("schema.csv_column", f"unknown column '{name}'",
                                    dossier.locate(source.rel, ("header", name), key=True),
                                    hint=f"did you mean '{close[0]}'?" if close else f"columns are: {', '.join(known)}"))
    for required in schema.get("required", []) + ["test"]:
        if required not in source.header:
            problems.append(Problem("schema.csv_column", f"missing column '{required}'", dossier.locate(source.rel, ()),
                                    hint=f"the header row must name: {', '.join(known)}"))
    if problems:
        return problems
    validator = flat_validator_for(source.kind)
    for index, row in enumerate(source.data):
        if "__width__" in row:
            problems.append(Problem("schema.csv_width", f"row has {row['__width__']} cells; the header has {len(source.header)}",
                                    dossier.locate(source.rel, (index,)), hint="check for a missing or extra comma"))
            continue
        for error in validator.iter_errors(row):
            problems += _problems(dossier, source, error, prefix=(index,))
    return problems


def _problems(dossier: Dossier, source: SourceFile, error: ValidationError, prefix: tuple = ()) -> list[Problem]:
    if error.validator in ("oneOf", "anyOf") and error.context:
        branch = _pick_branch(error)
        if branch is not None:  # every problem of the branch the value is meant to be, each where it is
            return [problem for inner in branch for problem in _problems(dossier, source, inner, prefix)]
    path = prefix + tuple(error.absolute_path)
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        return _unknown_keys(dossier, source, error, path)
    message, hint = _describe(error)
    shown = "" if prefix else json_path(path)  # CSV rows: the location names row and column
    code = f"schema.{error.validator}"
    return [Problem(code, message, dossier.locate(source.rel, path), path=shown, hint=hint)]


def _pick_branch(error: ValidationError) -> list[ValidationError] | None:
    """For oneOf/anyOf: the errors of the branch the value is meant to be (its type fits, and the fewest
    errors about the value itself), in order, else None."""
    instance_type_errors = [e for e in error.context if e.validator == "type" and not e.absolute_path]
    if len(instance_type_errors) == len({e.relative_schema_path[0] for e in error.context}):
        return None  # the value fits no branch's type: report the whole choice
    fitting = [e for e in error.context if not (e.validator == "type" and not e.relative_path)]
    branches = {}
    for e in fitting:
        branches.setdefault(e.relative_schema_path[0], []).append(e)

    def misfit(errors: list) -> tuple[int, int]:
        # Errors about the value itself (a required key missing, keys the branch does not have) say the
        # value is not of that branch; errors inside it (an item's typo) say it is, and is wrong there.
        # So the branch with the fewest of the first wins, then the fewest errors: a mapping with two bad
        # items is reported at those items, not as a 'not applicable' mark with unknown keys.
        return sum(1 for e in errors if not e.relative_path), len(errors)

    if not branches:
        return None
    ranked = sorted(branches.values(), key=misfit)
    if len(ranked) > 1 and misfit(ranked[0]) == misfit(ranked[1]):
        return None  # no branch fits better than another: report the whole choice, not one at random
    return ranked[0]


def _unknown_keys(dossier: Dossier, source: SourceFile, error: ValidationError, path: tuple) -> list[Problem]:
    allowed = list(error.schema.get("properties", {}))
    extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
    problems = []
    for key in extra:
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed here: {', '.join(allowed)}"
        problems.append(Problem("schema.additionalProperties", f"unknown property '{key}'",
                                dossier.locate(source.rel, path + (key,), key=True), path=json_path(path), hint=hint))
    return problems


def _describe(error: ValidationError) -> tuple[str, str]:
    schema, value, kind = error.schema, error.instance, error.validator
    title = schema.get("title", "")
    description = schema.get("description", "")
    if kind == "required":
        name = error.message.split("'")[1] if "'" in error.message else error.message
        sub = schema.get("properties", {}).get(name, {})
        return f"missing required property '{name}'", sub.get("description") or f"add '{name}'"
    if kind == "type":
        expected = schema.get("type")
        return (f"expected {_type_words(expected)}, found {_type_name(value)} {_show(value)}",
                _type_hint(expected, value, description))
    if kind == "enum":
        options = [str(o) for o in schema["enum"]]
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(options)}"
        return f"{_show(value)} is not an allowed value{f' for {title}' if title else ''}", hint
    if kind == "const":
        return f"{_show(value)} must be {_show(schema['const'])}", description
    if kind == "pattern":
        return f"{_show(value)} is not a valid {title or 'value'}", description or f"must match {schema['pattern']}"
    if kind in ("minItems", "minProperties"):
        return f"{title or 'this list'} is empty", description or "add at least one entry"
    if kind in ("oneOf", "anyOf"):
        return f"{_show(value)} is not a valid {title or 'value'}", description
    if kind in ("minimum", "maximum", "maxLength", "minLength", "uniqueItems"):
        return error.message, description
    return error.message, description


def _type_words(expected) -> str:
    names = {"string": "text", "number": "a number", "integer": "a whole number", "boolean": "true or false",
             "object": "a mapping (key: value lines)", "array": "a list (lines starting with '- ')"}
    if isinstance(expected, list):
        return " or ".join(names.get(e, e) for e in expected)
    return names.get(expected, str(expected))


def _type_name(value) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)


def _type_hint(expected, value, description: str) -> str:
    if expected in ("number", "integer") and isinstance(value, str):
        return "write the number alone (for example 2.0); put the unit in 'unit' and words in 'text'"
    if expected == "string" and isinstance(value, (int, float, bool)):
        return f"quote it: '{value}'"
    if value is None:
        return "the value is empty; fill it in or remove the key"
    return description


def _show(value) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "an empty value"}[value]
    text = repr(value) if not isinstance(value, (dict, list)) else ("a mapping" if isinstance(value, dict) else "a list")
    return text if len(text) <= 60 else text[:57] + "...'"
