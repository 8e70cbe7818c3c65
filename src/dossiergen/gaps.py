"""Gaps: the verdict of every rule for a market and stage, from rule packs that are data.

Rule packs live in templates/module3/requirements.yaml (the ICH core) and
regional/<market>/requirements.yaml. A rule names its source, the stages and molecule types it
applies to, a severity (blocking or advisory), a one-line fix, and one check (see checks.py).

Every rule gets one explicit verdict, with its reason:
  n/a      the rule does not apply: another stage or molecule type, its `applies_when` set is
           empty (e.g. no site outside the EEA), its `unless` set is not (an exemption the data
           state), or `when_empty: n/a` and nothing to check;
  MISSING  a check found failures, or the set it ranges over is empty (say what must exist);
  met      the check examined at least one item and none failed.
An Assessment holds the verdicts of one market and stage plus the data the documents marked
missing; build warnings, gaps.md/json and the readiness matrix are all views of it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import PurePath

from .checks import MARKET, REQUIRED_KEYS, describe, home, items, run_check
from .errors import InputError, Location, Problem
from .model import Model
from .paths import REGIONAL, TEMPLATES

DOCUMENTS_RULE = {"id": "core.documents-complete", "title": "Every document has the data it shows (no [missing: …] marks)",
                  "source": "ICH M4Q(R1) (content of each section); DESIGN.md: a final build fails on missing data",
                  "severity": "blocking", "fix": "add the data named, or mark the section not applicable with a justification"}


@dataclass(frozen=True)
class Gap:
    """One failure of a rule at one place."""

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
                "fix": self.fix, "detail": self.detail, "file": relative(self.location.file, root),
                "line": self.location.line, "column": self.location.column, "path": self.location.path}


@dataclass(frozen=True)
class Verdict:
    """The outcome of one rule: met, missing or n/a, why, and the gaps when missing."""

    rule: dict
    status: str
    reason: str
    gaps: tuple[Gap, ...] = ()

    @property
    def id(self) -> str:
        return self.rule["id"]

    def as_dict(self, root: str = "") -> dict:
        return {"rule": self.id, "title": self.rule["title"], "source": self.rule["source"],
                "severity": self.rule["severity"], "status": self.status, "reason": self.reason,
                "gaps": [g.as_dict(root) for g in self.gaps]}


@dataclass(frozen=True)
class Assessment:
    """Every verdict of one market and stage; the single source of its warnings and reports."""

    market: str
    stage: str
    verdicts: tuple[Verdict, ...]

    @property
    def gaps(self) -> list[Gap]:
        return [g for v in self.verdicts for g in v.gaps]

    def status(self, rule_id: str) -> str | None:
        return next((v.status for v in self.verdicts if v.id == rule_id), None)

    def problems(self, final: bool) -> list[Problem]:
        """Return the build warnings (errors in a final build for blocking gaps); the findings of the
        semantic rules are left out: validation has reported them already, each with its own code."""
        return [g.as_problem(final) for v in self.verdicts if v.rule.get("check", {}).get("kind") != "consistency"
                for g in v.gaps]


def relative(file: str, root: str) -> str:
    """Return a location's file as <folder name>/<file>, so reports never hold absolute paths."""
    if root and file.startswith(root.rstrip("/") + "/"):
        return f"{PurePath(root).name}/{file[len(root.rstrip('/')) + 1:]}"
    if root and file == root.rstrip("/"):
        return PurePath(root).name
    return file


def rule_packs(market: str) -> list:
    """Return the rule pack files of a market: the ICH core pack, then the market's own."""
    packs = [TEMPLATES / "module3" / "requirements.yaml", REGIONAL / market / "requirements.yaml"]
    return [p for p in packs if p.is_file()]


@functools.cache
def load_rules(market: str) -> tuple[dict, ...]:
    """Return the rules of a market: the semantic rules validate runs (rules/), then the packs';
    a malformed pack raises InputError with located problems."""
    from .rules import as_pack

    rules, problems = as_pack(), []
    for path in rule_packs(market):
        pack, found = _checked_pack(path)
        rules += pack
        problems += found
    if problems:
        raise InputError("a rule pack is malformed", tuple(problems))
    return tuple(rules)


def _checked_pack(path) -> tuple[list[dict], list[Problem]]:
    """Return check_rule_pack(path), a sound pack's rules reused from the build's store (cache.store) by the
    hashes of the code and of the knowledge files (the packs and their schema): a build process does not
    parse and check the packs again (issue 19)."""
    import marshal

    from .cache import content_key, engine_fingerprint, knowledge_fingerprint, store

    if not store().enabled:
        return check_rule_pack(path)
    key = content_key("rule-pack-1", engine_fingerprint(), knowledge_fingerprint(), str(path))
    found = store().get("rule-pack", key)
    if found is not None:
        try:
            return marshal.loads(found), []
        except (ValueError, EOFError, TypeError):
            pass
    pack, problems = check_rule_pack(path)
    if not problems:
        store().put("rule-pack", key, marshal.dumps(pack))
    return pack, problems


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
        for key in REQUIRED_KEYS.get(check.get("kind"), ()):
            if key not in check:
                problems.append(Problem("rules.check_key", f"the '{check['kind']}' check needs '{key}'",
                                        holder.locate(path.name, ("rules", index, "check")),
                                        hint=f"keys of a {check['kind']} check: {', '.join(REQUIRED_KEYS[check['kind']])}"))
    return ([] if problems else source.data["rules"]), problems


def not_applicable(model: Model, rule: dict, stage: str) -> str | None:
    """Return why a rule does not apply to this dossier and stage, or None when it applies."""
    molecule = model.single("application").get("molecule_type")
    if stage not in rule.get("stages", [stage]):
        return f"applies at the {' and '.join(rule['stages'])} stage only"
    if molecule not in rule.get("molecule_types", [molecule]):
        return f"does not apply to a {str(molecule).replace('_', ' ')}"
    condition = rule.get("applies_when")
    if condition and not items(model, condition["items"]):
        return condition["reason"]
    exemption = rule.get("unless")
    if exemption and items(model, exemption["items"]):
        return exemption["reason"]
    return None


def evaluate_rule(model: Model, rule: dict, stage: str) -> Verdict:
    """Return the verdict of one rule on the model at a stage."""
    reason = not_applicable(model, rule, stage)
    if reason:
        return Verdict(rule, "n/a", reason)
    outcome = run_check(model, rule["check"])
    make = functools.partial(Gap, rule["id"], rule["title"], rule["source"], rule["severity"], rule["fix"])
    if outcome.findings:
        gaps = tuple(make(location, detail) for location, detail in outcome.findings)
        return Verdict(rule, "missing", f"{len(gaps)} of {outcome.checked} {outcome.noun} fail", gaps)
    if outcome.checked == 0:
        empty = rule.get("when_empty") or {}
        if empty.get("status") == "n/a":
            return Verdict(rule, "n/a", empty["reason"])
        what = empty.get("reason") or f"there are no {outcome.noun} to check; they must exist"
        where = outcome.empty_at or home(model, rule["check"].get("items", {"kind": "application"}))
        return Verdict(rule, "missing", what, (make(where, what),))
    return Verdict(rule, "met", f"all {outcome.checked} {outcome.noun} checked")


def _evaluated(model: Model, rule: dict, stage: str) -> Verdict:
    """Return evaluate_rule's verdict, reused in a build when what the rule read is unchanged (reuse.py):
    a rule that does not read the market is evaluated once for every market of a build."""
    from dataclasses import asdict

    from .reuse import reused

    def encode(verdict: Verdict) -> dict:
        return {"status": verdict.status, "reason": verdict.reason,
                "gaps": [{**asdict(g), "location": asdict(g.location)} for g in verdict.gaps]}

    def decode(data: dict) -> Verdict:
        gaps = tuple(Gap(**{**g, "location": Location(**g["location"])}) for g in data["gaps"])
        return Verdict(rule, data["status"], data["reason"], gaps)

    return reused("verdict", [rule, stage], model, lambda seen: evaluate_rule(seen, rule, stage), encode, decode)


def documents_verdict(model: Model, missing: list[tuple[str, str]], documents: int) -> Verdict:
    """Return the verdict on the documents' [missing: …] marks (section, data path)."""
    make = functools.partial(Gap, *(DOCUMENTS_RULE[k] for k in ("id", "title", "source", "severity", "fix")))
    if not documents:
        return Verdict(DOCUMENTS_RULE, "missing", "no document was rendered",
                       (make(Location(model.dossier.label), "no document was rendered"),))
    gaps = tuple(make(Location(model.dossier.label, path=path), f"{number}: no data for {path}") for number, path in missing)
    if gaps:
        return Verdict(DOCUMENTS_RULE, "missing", f"{len(gaps)} item(s) marked missing in documents", gaps)
    return Verdict(DOCUMENTS_RULE, "met", f"all {documents} documents have their data")


def assess(model: Model, market: str, stage: str, missing: list[tuple[str, str]] | None = None,
           documents: int = 0) -> Assessment:
    """Return every verdict of a market and stage; with the rendered documents' marks when given."""
    from .rules import RUNNER
    from .validate import run_rule

    token = MARKET.set(market)  # site roles count for the markets they serve (sites.yaml markets)
    runner = RUNNER.set(run_rule)  # the semantic rules' problems, as validate found them
    try:
        verdicts = [_evaluated(model, rule, stage) for rule in load_rules(market)]
    finally:
        RUNNER.reset(runner)
        MARKET.reset(token)
    if missing is not None:  # after the ICH core rules, before the market's own
        core = sum(v.id.startswith("core.") for v in verdicts)
        verdicts.insert(core, documents_verdict(model, missing, documents))
    return Assessment(market, stage, tuple(verdicts))


def find_gaps(model: Model, market: str, stage: str) -> list[Gap]:
    """Return every gap of the rule packs for a market and stage, in rule order."""
    return assess(model, market, stage).gaps


__all__ = ["Assessment", "Gap", "Verdict", "assess", "check_rule_pack", "describe", "evaluate_rule",
           "find_gaps", "load_rules", "relative"]
