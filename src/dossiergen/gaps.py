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
  count_at_least
           for each entity of `groups`, at least `min` items of `items` (filtered) name it in `group_by`
           (items that are ids, such as batch ids in a list, are looked up first)
  translated
           every narrative of the file kinds `kinds` has a Chinese (zh) text
  remaining_shelf_life
           every batch of `items` (ids) keeps at least `months` of its claimed shelf life (stability
           claims of its subject) on the date at `on` ({file, path}), e.g. when samples are sent

`where` matches a field against a value, a list of values, or {">=": n} / {"<=": n}; fields may be
derived: `@months_of_data` (a stability study's last time point with results) and
`@validation_status` (a method's validation status, 'none' without one).
Items are given as {kind: <file kind>, path: [key, "*", ...]} (see model.select). A gap names the
YAML place where the data belongs: the item, or the parent that lacks it."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import PurePath

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

    def as_dict(self, root: str = "") -> dict:
        """Return the gap as data; with root, its file is named from the dossier folder's own name."""
        return {"rule": self.rule, "title": self.title, "source": self.source, "severity": self.severity,
                "fix": self.fix, "detail": self.detail, "file": _relative(self.location.file, root),
                "line": self.location.line, "column": self.location.column, "path": self.location.path}


def _relative(file: str, root: str) -> str:
    """Return a location's file as <folder name>/<file>, so reports never hold absolute paths."""
    if root and file.startswith(root.rstrip("/") + "/"):
        return f"{PurePath(root).name}/{file[len(root.rstrip('/')) + 1:]}"
    return file


REQUIRED_BY_KIND = {"exists": ("file", "path"), "every": ("items",), "in_list": ("items", "field", "values"),
                    "recent": ("items", "field", "years"), "covers": ("items", "within"),
                    "count_at_least": ("items", "group_by", "groups", "min"), "translated": ("kinds",)}


def rule_packs(market: str) -> list:
    """Return the rule pack files of a market: the ICH core pack, then the market's own."""
    packs = [TEMPLATES / "module3" / "requirements.yaml", REGIONAL / market / "requirements.yaml"]
    return [p for p in packs if p.is_file()]


@functools.cache
def load_rules(market: str) -> tuple[dict, ...]:
    """Return the rules of a market's packs; a malformed pack raises InputError with located problems."""
    from .errors import InputError

    rules, problems = [], []
    for path in rule_packs(market):
        pack, found = check_rule_pack(path)
        rules += pack
        problems += found
    if problems:
        raise InputError("a rule pack is malformed", tuple(problems))
    return tuple(rules)


def check_rule_pack(path) -> tuple[list[dict], list[Problem]]:
    """Return a pack's rules and its problems (schema, check kind and its keys), each located."""
    from .load import load_single_file
    from .validate import check_file_schema

    label = path.parent.relative_to(path.parents[2]).as_posix()  # e.g. regional/cn, templates/module3
    holder = load_single_file(path, "requirements", label)
    if holder.problems or path.name not in holder.files:
        return [], list(holder.problems)
    source = holder.files[path.name]
    problems = check_file_schema(holder, source)
    for index, rule in enumerate(source.data.get("rules", []) if isinstance(source.data, dict) else []):
        check = rule.get("check", {}) if isinstance(rule, dict) else {}
        for key in REQUIRED_BY_KIND.get(check.get("kind"), ()):
            if key not in check:
                problems.append(Problem("rules.check_key", f"the '{check['kind']}' check needs '{key}'",
                                        holder.locate(path.name, ("rules", index, "check")),
                                        hint=f"keys of a {check['kind']} check: {', '.join(REQUIRED_BY_KIND[check['kind']])}"))
    return ([] if problems else source.data["rules"]), problems


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
            if isinstance(value, dict) and _matches(value, spec.get("where", {}), model):
                yield value, model.dossier.location_of(value)
            elif isinstance(value, str) and not spec.get("where"):
                yield value, model.dossier.location_of(container, key)


def _matches(item: dict, where: dict, model: Model | None = None) -> bool:
    for field, wanted in where.items():
        if field == "role_in":
            if not any(r.get("role") in wanted for r in item.get("roles", [])):
                return False
            continue
        value = DERIVED[field](model, item) if field.startswith("@") else _get(item, field)
        if isinstance(wanted, dict):
            if not all(isinstance(value, (int, float)) and _compare(op, value, limit) for op, limit in wanted.items()):
                return False
        elif value not in (wanted if isinstance(wanted, list) else [wanted]):
            return False
    return True


def _compare(op: str, value: float, limit: float) -> bool:
    return {">=": value >= limit, "<=": value <= limit, ">": value > limit, "<": value < limit}[op]


def _months_of_data(model: Model, study: dict) -> float:
    from .model import results_by_study

    points = [r.get("time_point") for r in results_by_study(model).get(study.get("id"), [])]
    return max((p for p in points if isinstance(p, (int, float))), default=0)


DERIVED = {
    "@months_of_data": _months_of_data,
    "@validation_status": lambda model, method: (method.get("validation") or {}).get("status", "none"),
}


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


def gaps_report(gaps: list[Gap], missing: list[tuple[str, str]], market: str, stage: str,
                root: str = "") -> tuple[bytes, bytes]:
    """Return gaps.json and gaps.md: unmet rules, then the data the documents marked missing."""
    data = {"market": market, "stage": stage,
            "blocking": sum(g.severity == "blocking" for g in gaps), "advisory": sum(g.severity == "advisory" for g in gaps),
            "gaps": [g.as_dict(root) for g in gaps],
            "missing_in_documents": [{"section": number, "path": path} for number, path in missing]}
    lines = [f"# Gaps for {market}, {stage} stage", "",
             f"{data['blocking']} blocking, {data['advisory']} advisory; {len(missing)} item(s) marked missing in documents.", ""]
    if gaps:
        lines += ["| rule | severity | where | finding | fix (source) |", "|---|---|---|---|---|"]
        lines += [f"| {g.rule} | {g.severity} | {_relative(str(g.location), root)} | {g.detail} | {g.fix} ({g.source}) |"
                  .replace("\n", " ") for g in gaps]
    if missing:
        lines += ["", "## Marked missing in documents", "", "| section | data path |", "|---|---|"]
        lines += [f"| {number} | {path} |" for number, path in missing]
    text = "\n".join(lines) + "\n"
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), text.encode("utf-8")


@check_kind("count_at_least")
def check_count_at_least(model: Model, check: dict):
    counts: dict[str, int] = {}
    for item, _ in _items(model, check["items"]):
        key = _get(_resolve(model, item, None) if isinstance(item, str) else item, check["group_by"])
        counts[key] = counts.get(key, 0) + 1
    for groups in check["groups"]:
        for group, location in _items(model, groups):
            found = counts.get(_label(group), 0)
            if found < check["min"]:
                yield location, f"'{_label(group)}' has {found} {check.get('items_name', 'matching items')}; at least {check['min']} are needed"


@check_kind("translated")
def check_translated(model: Model, check: dict):
    """Count the texts of the files of `kinds` that a Chinese dossier still lacks (translation.pending):
    narratives, short texts and the free-text cells of result CSVs, one finding per file."""
    from .translation import pending

    by_file: dict[str, list] = {}
    for unit in pending(model.dossier):
        if model.dossier.files[unit.rel].kind in check["kinds"]:
            by_file.setdefault(unit.rel, []).append(unit)
    for rel, found in by_file.items():
        yield (model.dossier.locate(rel, found[0].path),
               f"{len(found)} text(s) in {rel} have no Chinese (zh) text, the first here ({found[0].en[:60]!r})")


@check_kind("remaining_shelf_life")
def check_remaining_shelf_life(model: Model, check: dict):
    files = model.dossier.of_kind(check["on"]["file"])
    on = _get(files[0].data, ".".join(check["on"]["path"])) if files else None
    try:
        when = dt.date.fromisoformat(on)
    except (TypeError, ValueError):
        return
    claims = {c.get("subject"): c for c in model.single("stability").get("claims", []) if isinstance(c, dict)}
    for item, location in _items(model, check["items"]):
        batch = _resolve(model, item, None)
        claim = claims.get(batch.get("subject"))
        try:
            made = dt.date.fromisoformat(batch.get("date"))
        except (TypeError, ValueError):
            continue
        if claim and isinstance(claim.get("months"), int):
            left = claim["months"] - (when.year - made.year) * 12 - (when.month - made.month) - (when.day < made.day)
            if left < check["months"]:
                yield location, f"'{_label(item)}' has {left} months of shelf life left on {on}; at least {check['months']} are needed"
