"""The JSON Schemas of schemas/: loading, and the paths of narrative (Markdown) fields per kind."""

from __future__ import annotations

import functools
import json

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from .paths import SCHEMAS, project_yaml

NARRATIVE_DEFS = ("common.schema.json#/$defs/narrative", "#/$defs/narrative",
                  "common.schema.json#/$defs/narrative_section", "#/$defs/narrative_section")


@functools.cache
def registry() -> Registry:
    """Return a registry holding every schema of schemas/ under its file name."""
    reg = Registry()
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        reg = reg.with_resource(path.name, Resource.from_contents(json.loads(path.read_text("utf-8"))))
    return reg


@functools.cache
def schema_of(kind: str) -> dict:
    """Return the schema document of a file kind."""
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text("utf-8"))


@functools.cache
def validator_for(kind: str) -> Draft202012Validator:
    """Return a draft 2020-12 validator of a file kind, resolving refs inside schemas/."""
    return Draft202012Validator(schema_of(kind), registry=registry())


@functools.cache
def flat_validator_for(kind: str) -> Draft202012Validator:
    """Return a validator of a kind with every $ref inlined (CSV rows: thousands of small checks)."""
    schema = _inline(schema_of(kind), f"{kind}.schema.json", 0)
    schema.pop("unevaluatedProperties", None)  # unknown CSV columns are reported once, from the header
    return Draft202012Validator(schema)


def _inline(node, base: str, depth: int):
    if depth > 30:
        raise ValueError(f"schema references nest too deeply in {base}")
    if isinstance(node, list):
        return [_inline(item, base, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target, target_base = _resolve(node, base)
        merged = {**_inline(target, target_base, depth + 1), **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline(merged, target_base, depth + 1)
    return {k: (_inline(v, base, depth + 1) if k != "$defs" else v) for k, v in node.items()}


@functools.cache
def units() -> dict[str, dict[str, str]]:
    """Return the accepted unit codes with their printed labels (schemas/units.yaml)."""
    return project_yaml((SCHEMAS / "units.yaml").read_text("utf-8"))["units"]


def _resolve(schema: dict, base: str) -> tuple[dict, str]:
    ref = schema.get("$ref")
    if not ref:
        return schema, base
    doc, _, pointer = ref.partition("#")
    doc = doc or base
    target = schema_of(doc.removesuffix(".schema.json"))
    for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
        target = target[part]
    return target, doc


@functools.cache
def narrative_paths(kind: str) -> tuple[tuple, ...]:
    """Return path patterns ('*' for any list item) of the Markdown narrative fields of a kind."""
    found: list[tuple] = []
    _walk(schema_of(kind), f"{kind}.schema.json", (), found, 0)
    return tuple(dict.fromkeys(found))


def _walk(schema: dict, base: str, path: tuple, found: list, depth: int) -> None:
    if depth > 40 or not isinstance(schema, dict):
        return
    ref = schema.get("$ref", "")
    if any(ref.endswith(d.split("#")[1]) for d in NARRATIVE_DEFS if ref):
        found.append(path)
        return
    schema, base = _resolve(schema, base)
    for key, sub in schema.get("properties", {}).items():
        _walk(sub, base, path + (key,), found, depth + 1)
    if isinstance(schema.get("items"), dict):
        _walk(schema["items"], base, path + ("*",), found, depth + 1)
    for combo in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(combo, []):
            _walk(sub, base, path, found, depth + 1)
