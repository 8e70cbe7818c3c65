"""The cross-market readiness matrix: rules x markets (met, missing, not applicable), with a
summary per market, as Markdown, JSON and the Markdown of a DOCX report for portfolio meetings."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .gaps import Gap, _relative, find_gaps, load_rules
from .model import Model
from .text import escape_md

MARKETS = ("us", "eu", "uk", "cn")
STATUS = {"met": "met", "missing": "MISSING", "n/a": "n/a"}


@dataclass(frozen=True)
class Matrix:
    """Rules in report order, the status of each per market, and the gaps per market."""

    stage: str
    markets: tuple[str, ...]
    rules: tuple[dict, ...]
    status: dict[str, dict[str, str]]
    gaps: dict[str, list[Gap]]


def build_matrix(model: Model, stage: str, markets: tuple[str, ...] = MARKETS) -> Matrix:
    """Return the readiness matrix of a dossier at a stage across markets."""
    molecule = model.single("application").get("molecule_type")
    rules: dict[str, dict] = {}
    status: dict[str, dict[str, str]] = {}
    gaps = {m: find_gaps(model, m, stage) for m in markets}
    for market in markets:
        for rule in load_rules(market):
            rules.setdefault(rule["id"], rule)
            applies = stage in rule.get("stages", [stage]) and molecule in rule.get("molecule_types", [molecule])
            failed = any(g.rule == rule["id"] for g in gaps[market])
            status.setdefault(rule["id"], {})[market] = "missing" if failed else ("met" if applies else "n/a")
    for rule_id in rules:
        for market in markets:
            status[rule_id].setdefault(market, "n/a")
    return Matrix(stage, markets, tuple(rules.values()), status, gaps)


def matrix_json(matrix: Matrix, label: str, root: str = "") -> bytes:
    """Return the matrix as JSON."""
    data = {"dossier": label, "stage": matrix.stage, "markets": list(matrix.markets),
            "summary": {m: _summary(matrix, m) for m in matrix.markets},
            "rules": [{"id": r["id"], "title": r["title"], "source": r["source"], "severity": r["severity"],
                       "status": matrix.status[r["id"]]} for r in matrix.rules],
            "gaps": {m: [g.as_dict(root) for g in matrix.gaps[m]] for m in matrix.markets}}
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _summary(matrix: Matrix, market: str) -> dict:
    gaps = matrix.gaps[market]
    blocking = [g for g in gaps if g.severity == "blocking"]
    first = blocking[0] if blocking else (gaps[0] if gaps else None)
    return {"blocking": len(blocking), "advisory": len(gaps) - len(blocking),
            "first": f"{first.title}: {first.fix}" if first else None}


def matrix_markdown(matrix: Matrix, label: str, root: str = "") -> str:
    """Return the matrix and the gaps behind it as Markdown (also the body of the DOCX report)."""
    lines = [f"# Global readiness: {escape_md(label)}, {matrix.stage} stage", "",
             "## Summary per market", "", "| Market | Blocking | Advisory | Do first |", "|:--|:--|:--|:------|"]
    for market in matrix.markets:
        summary = _summary(matrix, market)
        lines.append(f"| {market.upper()} | {summary['blocking']} | {summary['advisory']} | {escape_md(summary['first'] or 'Nothing blocking.')} |")
    lines += ["", ": Table 1 Readiness per market", "", "## Rules by market", "",
              "| Rule | Source | " + " | ".join(m.upper() for m in matrix.markets) + " |",
              "|:------|:----|" + "|".join(":-" for _ in matrix.markets) + "|"]
    for rule in matrix.rules:
        cells = " | ".join(STATUS[matrix.status[rule["id"]][m]] for m in matrix.markets)
        lines.append(f"| {escape_md(rule['id'])}: {escape_md(rule['title'])} | {escape_md(rule['source'])} | {cells} |")
    lines += ["", ": Table 2 Rules (rows) by market (columns): met, MISSING or n/a (not applicable)", ""]
    for market in matrix.markets:
        lines += [f"## Gaps for {market.upper()}", ""]
        lines += [f"- **{escape_md(g.rule)}** ({g.severity}) {escape_md(g.detail)}; {escape_md(_relative(str(g.location), root))}. "
                  f"*{escape_md(g.fix)}*" for g in matrix.gaps[market]] or ["No gaps."]
        lines.append("")
    return "\n".join(lines)


def matrix_terminal(matrix: Matrix) -> list[list[str]]:
    """Return the rows of the terminal table: rule, source, severity, one status per market."""
    return [[r["id"], r["source"], r["severity"], *(STATUS[matrix.status[r["id"]][m]] for m in matrix.markets)]
            for r in matrix.rules]
