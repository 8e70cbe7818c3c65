"""Views of assessments for people: gaps.md/json per market, and the readiness matrix across
markets (Markdown, JSON, terminal rows). Pure functions; every number comes from the verdicts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .gaps import Assessment, Gap, relative

STATUS = {"met": "met", "missing": "MISSING", "n/a": "n/a", None: "–"}
_SPECIAL = re.compile(r"([\\`*|\[\]<>])")
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # intraword underscores are plain text
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def md(text) -> str:
    """Return text for a Markdown table cell or list item: shown as written, escaped only where
    Markdown would otherwise read markup (so `compendial_reference` and `Q&A` stay as typed)."""
    text = " ".join(str(text).split())
    text = _SPECIAL.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    return _ENTITY.sub(r"\\&", text)


def _where(gap: Gap, root: str) -> str:
    place = relative(str(gap.location), root)
    return f"{place} ({gap.location.path})" if gap.location.path and not gap.location.line else place


def _counts(assessment: Assessment) -> dict:
    missing = [v for v in assessment.verdicts if v.status == "missing"]
    return {"blocking": sum(v.rule["severity"] == "blocking" for v in missing),
            "advisory": sum(v.rule["severity"] == "advisory" for v in missing),
            "met": sum(v.status == "met" for v in assessment.verdicts),
            "not_applicable": sum(v.status == "n/a" for v in assessment.verdicts)}


def gaps_json(assessment: Assessment, root: str = "") -> bytes:
    """Return gaps.json: rule counts by verdict, every verdict with its reason, every gap."""
    documents = next((v for v in assessment.verdicts if v.id == "core.documents-complete"), None)
    data = {"market": assessment.market, "stage": assessment.stage, **_counts(assessment),
            "verdicts": [v.as_dict(root) for v in assessment.verdicts],
            "gaps": [g.as_dict(root) for g in assessment.gaps],
            "missing_in_documents": [{"section": g.detail.split(":", 1)[0], "path": g.location.path}
                                     for g in (documents.gaps if documents else ()) if g.location.path]}
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def gaps_markdown(assessment: Assessment, root: str = "") -> bytes:
    """Return gaps.md: the counts, the gaps with their places and fixes, then every verdict."""
    counts = _counts(assessment)
    lines = [f"# Gaps for {assessment.market}, {assessment.stage} stage", "",
             f"Rules MISSING: {counts['blocking']} blocking, {counts['advisory']} advisory; "
             f"{counts['met']} met; {counts['not_applicable']} not applicable.", ""]
    gaps = assessment.gaps
    if gaps:
        lines += ["## Gaps", "", "| rule | severity | where | finding | fix (source) |", "|---|---|---|---|---|"]
        lines += [f"| {g.rule} | {g.severity} | {md(_where(g, root))} | {md(g.detail)} | {md(g.fix)} ({md(g.source)}) |"
                  for g in gaps]
        lines.append("")
    lines += ["## Verdicts", "", "| rule | verdict | why |", "|---|---|---|"]
    lines += [f"| {v.id} | {STATUS[v.status]} | {md(v.reason)} |" for v in assessment.verdicts]
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Matrix:
    """Rules in report order, each rule's verdict per market (None: not that market's rule)."""

    stage: str
    markets: tuple[str, ...]
    rules: tuple[dict, ...]
    assessments: dict[str, Assessment]

    def status(self, rule_id: str, market: str) -> str | None:
        return self.assessments[market].status(rule_id)


def build_matrix(assessments: dict[str, Assessment], stage: str) -> Matrix:
    """Return the readiness matrix over the assessments of several markets at one stage."""
    rules: dict[str, dict] = {}
    for assessment in assessments.values():
        for verdict in assessment.verdicts:
            rules.setdefault(verdict.id, verdict.rule)
    return Matrix(stage, tuple(assessments), tuple(rules.values()), dict(assessments))


def _first(assessment: Assessment) -> str | None:
    missing = [v for v in assessment.verdicts if v.status == "missing"]
    first = next((v for v in missing if v.rule["severity"] == "blocking"), missing[0] if missing else None)
    return f"{first.rule['title']}: {first.rule['fix']}" if first else None


def matrix_json(matrix: Matrix, label: str, root: str = "") -> bytes:
    """Return the matrix as JSON: per-market counts, every rule's verdict per market, every gap."""
    data = {"dossier": label, "stage": matrix.stage, "markets": list(matrix.markets),
            "summary": {m: {**_counts(a), "first": _first(a)} for m, a in matrix.assessments.items()},
            "rules": [{"id": r["id"], "title": r["title"], "source": r["source"], "severity": r["severity"],
                       "status": {m: matrix.status(r["id"], m) for m in matrix.markets}} for r in matrix.rules],
            "gaps": {m: [g.as_dict(root) for g in a.gaps] for m, a in matrix.assessments.items()}}
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def matrix_markdown(matrix: Matrix, label: str, root: str = "") -> str:
    """Return the matrix and the gaps behind it as Markdown (also the body of the DOCX report)."""
    names = [m.upper() for m in matrix.markets]
    lines = [f"# Global readiness: {md(label)}, {matrix.stage} stage", "",
             f"Target markets: {', '.join(names)}. A rule is met only when the data it ranges over exist "
             "and all pass; MISSING when any fails or none exist; n/a when it does not apply; – when it is "
             "not a rule of that market.", "",
             "## Summary per market", "", "| Market | Blocking rules MISSING | Advisory rules MISSING | Do first |",
             "|:--|:--|:--|:------|"]
    for market, assessment in matrix.assessments.items():
        counts = _counts(assessment)
        lines.append(f"| {market.upper()} | {counts['blocking']} | {counts['advisory']} | {md(_first(assessment) or 'Nothing missing.')} |")
    lines += ["", "## Rules by market", "",
              "| Rule | Source | " + " | ".join(names) + " |",
              "|:--------------|:-----------|" + "|".join(":-----" for _ in names) + "|"]  # relative widths: MISSING fits
    for rule in matrix.rules:
        cells = " | ".join(STATUS[matrix.status(rule["id"], m)] for m in matrix.markets)
        lines.append(f"| {rule['id']}: {md(rule['title'])} | {md(rule['source'])} | {cells} |")
    lines.append("")
    for market, assessment in matrix.assessments.items():
        lines += [f"## Gaps for {market.upper()}", ""]
        lines += [f"- **{g.rule}** ({g.severity}) {md(g.detail)}; {md(_where(g, root))}. *{md(g.fix)}*"
                  for g in assessment.gaps] or ["No gaps: every applicable rule is met."]
        lines.append("")
    return "\n".join(lines)


def matrix_terminal(matrix: Matrix) -> list[list[str]]:
    """Return the rows of the terminal table: rule, source, severity, one verdict per market."""
    return [[r["id"], r["source"], r["severity"], *(STATUS[matrix.status(r["id"], m)] for m in matrix.markets)]
            for r in matrix.rules]


def gaps_report(assessment: Assessment, root: str = "") -> tuple[bytes, bytes]:
    """Return gaps.json and gaps.md of one assessment: counts, every verdict, every gap."""
    return gaps_json(assessment, root), gaps_markdown(assessment, root)
