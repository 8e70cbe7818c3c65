"""The schemas: documented for editors, and behaving as the data cases in schema_cases/ say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dossiergen.load import FILE_KINDS
from dossiergen.paths import SCHEMAS
from dossiergen.schema import validator_for

CASES = Path(__file__).parent / "schema_cases"


def _properties(node, path=()):
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield path + (name,), sub
        for key, sub in node.items():
            if key != "properties":
                yield from _properties(sub, path + (key,))
        for name, sub in node.get("properties", {}).items():
            yield from _properties(sub, path + (name,))
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from _properties(sub, path + (i,))


@pytest.mark.parametrize("schema_file", sorted(p.name for p in SCHEMAS.glob("*.schema.json")))
def test_every_property_has_title_and_description(schema_file):
    """Editors show a title and description for every key (yaml-language-server)."""
    schema = json.loads((SCHEMAS / schema_file).read_text("utf-8"))
    missing = [".".join(map(str, p)) for p, sub in _properties(schema)
               if not (sub.get("title") and sub.get("description"))]
    assert missing == []


def test_every_file_kind_has_a_schema():
    for _, kind in FILE_KINDS:
        assert (SCHEMAS / f"{kind}.schema.json").is_file()


def _cases():
    for path in sorted(CASES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text("utf-8"))
        for case in doc["cases"]:
            yield pytest.param(doc["kind"], case, id=f"{path.stem}: {case['description']}")


@pytest.mark.parametrize("kind,case", list(_cases()))
def test_schema_case(kind, case):
    """Each documented case is valid or invalid as stated."""
    errors = list(validator_for(kind).iter_errors(case["data"]))
    assert (not errors) == case["valid"], [e.message for e in errors]


def test_a_oneof_no_branch_fits_better_is_reported_whole():
    """A value that fits two branches of a oneOf equally badly is reported as not a valid value of the
    whole choice, not through one branch picked at random; a value that fits one branch better is
    reported inside that branch (where a writer goes to fix it)."""
    from jsonschema import Draft202012Validator

    from dossiergen.validate import _pick_branch

    schema = {"oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["justification"],
         "properties": {"justification": {"type": "string"}}},
        {"type": "object", "additionalProperties": False, "required": ["text"], "properties": {"text": {"type": "string"}}},
    ]}
    validator = Draft202012Validator(schema)

    def picked(instance):
        (error,) = validator.iter_errors(instance)
        assert error.validator == "oneOf"
        branch = _pick_branch(error)
        return None if branch is None else sorted((e.validator, tuple(e.absolute_path)) for e in branch)

    # neither key: each branch misses its required key and has one unknown key -> the whole choice
    assert picked({"comment": "x"}) is None
    # the second branch's key, with a wrong type: reported there, not as 'justification' missing
    assert picked({"text": 5}) == [("type", ("text",))]
