"""Gaps: what the data still lacks for a market and stage, from rule packs that are data.

Rule packs live in regional/<market>/requirements.yaml (and templates/module3/requirements.yaml
for the ICH core). A rule names its source, the stages and molecule types it applies to, a
severity (blocking or advisory), a one-line fix, and one check of a small set of kinds:

  exists   the value at `path` in the file of kind `file` is present
  every    every item of `items` (optionally filtered by `where`) has every field in `require`
           (or at least one of `any_of`)
  in_list  the field `field` of every item of `items` is one of `values`
  recent   the date in `field` of every item of `items` is at most `years` old
  covers   every id of `items` (filtered) appears among the ids at `within`

Items are given as {kind: <file kind>, path: [key, "*", ...]} (see model.select). A gap names the
YAML place where the data belongs: the item, or the parent that lacks it."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass

import yaml

from .clock import today
from .errors import Location, Problem
from .model import Model, select
from .paths import REGIONAL, TEMPLATES

CHECKS = {}


def check_kind(name: str):
    """Register a check kind under its name."""
    def register(func):
        CHECKS[name] = func
        return func
    return register


@dataclass(frozen=True)
class Gap:
    """One unmet rule at one place."""

    rule: str
    title: str
    source: str
    severity: str
    fix: str
    location: Location
    detail: str

    def as_problem(self, final: bool) -> Problem:
        level = "error" if final and self.severity == "blocking" else "warning"
        return Problem(f"gap.{self.rule}", f"{self.title}: {self.detail}", self.location,
                       hint=f"{self.fix} ({self.source})", severity=level)

    def as_dict(self) -> dict:
        return {"rule": self.rule, "title": self.title, "source": self.source, "severity": self.severity,
                "fix": self.fix, "detail": self.detail, "file": self.location.file, "line": self.location.line,
                "column": self.location.column, "path": self.location.path}


@functools.cache
def load_rules(market: str) -> tuple[dict, ...]:
    """Return the rules that apply to a market: the ICH core pack, then the market's own."""
    packs = [TEMPLATES / "module3" / "requirements.yaml", REGIONAL / market / "requirements.yaml"]
    rules: list[dict] = []
    for path in packs:
        if path.is_file():
            rules += yaml.safe_load(path.read_text("utf-8")).get("rules", [])
    return tuple(rules)


def find_gaps(model: Model, market: str, stage: str) -> list[Gap]:
    """Return every gap of the model for a market and stage, in rule order."""
    molecule = model.single("application").get("molecule_type")
    gaps = []
    for rule in load_rules(market):
        if stage not in rule.get("stages", [stage]) or molecule not in rule.get("molecule_types", [molecule]):
            continue
        check = rule["check"]
        for location, detail in CHECKS[check["kind"]](model, check):
            gaps.append(Gap(rule["id"], rule["title"], rule["source"], rule["severity"], rule["fix"], location, detail))
    return gaps


def _items(model: Model, spec: dict):
    """Yield (item, location) for {kind, path, where}: mappings, or ids (strings) in a list."""
    for source in model.dossier.of_kind(spec["kind"]):
        for value, container, key in select(source.data, tuple(spec.get("path", ()))):
            if isinstance(value, dict) and _matches(value, spec.get("where", {})):
                yield value, model.dossier.location_of(value)
            elif isinstance(value, str) and not spec.get("where"):
                yield value, model.dossier.location_of(container, key)


def _matches(item: dict, where: dict) -> bool:
    for field, wanted in where.items():
        if field == "role_in":
            if not any(r.get("role") in wanted for r in item.get("roles", [])):
                return False
        elif _get(item, field) not in (wanted if isinstance(wanted, list) else [wanted]):
            return False
    return True


def _get(item, dotted: str):
    for part in dotted.split("."):
        item = item.get(part) if isinstance(item, dict) else None
    return item


def _label(item) -> str:
    if isinstance(item, str):
        return item
    return str(item.get("id") or item.get("site") or item.get("reference") or item.get("material") or "item")


def _missing_file(model: Model, kind: str) -> Location:
    from .load import FILE_KINDS

    pattern = next(p for p, k in FILE_KINDS if k == kind)
    return Location(f"{model.dossier.label}/{pattern}")


@check_kind("exists")
def check_exists(model: Model, check: dict):
    files = model.dossier.of_kind(check["file"])
    if not files:
        yield _missing_file(model, check["file"]), f"no {check['file']} file"
        return
    data = files[0].data
    parent = data
    for part in check["path"][:-1]:
        parent = parent.get(part, {}) if isinstance(parent, dict) else {}
    if _get(data, ".".join(check["path"])) in (None, "", []):
        yield model.dossier.location_of(parent if isinstance(parent, dict) and parent else data), f"{'.'.join(check['path'])} is not given"


@check_kind("every")
def check_every(model: Model, check: dict):
    for item, location in _items(model, check["items"]):
        target = _resolve(model, item, check.get("via"))
        required, choices = check.get("require", []), check.get("any_of", [])
        absent = [f for f in required if _get(target, f) in (None, "", [])]
        if choices and all(_get(target, f) in (None, "", []) for f in choices):
            absent.append(" or ".join(choices))
        if absent:
            yield location, f"'{_label(item)}' has no {', '.join(absent)}"


@check_kind("in_list")
def check_in_list(model: Model, check: dict):
    for item, location in _items(model, check["items"]):
        target = _resolve(model, item, check.get("via"))
        value = _get(target, check["field"])
        if value not in check["values"]:
            yield location, f"'{_label(item)}': {check['field']} is {value!r}, not one of {check.get('values_name', 'the accepted values')}"


def _resolve(model: Model, item, via: str | None):
    """Return the item, or the entity it names (a string id, or the id in its field `via`)."""
    if isinstance(item, str):
        entity = model.get(item)
        return entity.data if entity else {}
    if not via:
        return item
    entity = model.get(_get(item, via))
    return entity.data if entity else {}


@check_kind("recent")
def check_recent(model: Model, check: dict):
    limit = check["years"] * 365.25
    for item, location in _items(model, check["items"]):
        value = _get(item, check["field"])
        try:
            age = (today() - dt.date.fromisoformat(value)).days
        except (TypeError, ValueError):
            continue
        if age > limit:
            yield model.dossier.location_of(item, check["field"]), f"'{_label(item)}' dated {value} is more than {check['years']} years old"


@check_kind("covers")
def check_covers(model: Model, check: dict):
    present = set()
    for source in model.dossier.of_kind(check["within"]["kind"]):
        present |= {v for v, _, _ in select(source.data, tuple(check["within"]["path"])) if isinstance(v, str)}
    for item, location in _items(model, check["items"]):
        if _label(item) not in present:
            yield location, f"'{_label(item)}' is not covered by {check.get('within_name', check['within']['kind'])}"


def gaps_report(gaps: list[Gap], missing: list[tuple[str, str]], market: str, stage: str) -> tuple[bytes, bytes]:
    """Return gaps.json and gaps.md: unmet rules, then the data the documents marked missing."""
    data = {"market": market, "stage": stage,
            "blocking": sum(g.severity == "blocking" for g in gaps), "advisory": sum(g.severity == "advisory" for g in gaps),
            "gaps": [g.as_dict() for g in gaps],
            "missing_in_documents": [{"section": number, "path": path} for number, path in missing]}
    lines = [f"# Gaps for {market}, {stage} stage", "",
             f"{data['blocking']} blocking, {data['advisory']} advisory; {len(missing)} item(s) marked missing in documents.", ""]
    if gaps:
        lines += ["| rule | severity | where | finding | fix (source) |", "|---|---|---|---|---|"]
        lines += [f"| {g.rule} | {g.severity} | {g.location} | {g.detail} | {g.fix} ({g.source}) |".replace("\n", " ") for g in gaps]
    if missing:
        lines += ["", "## Marked missing in documents", "", "| section | data path |", "|---|---|"]
        lines += [f"| {number} | {path} |" for number, path in missing]
    text = "\n".join(lines) + "\n"
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), text.encode("utf-8")
