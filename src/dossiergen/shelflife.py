"""Shelf life from a dossier's own stability data: every study group and attribute with a numeric
limit evaluated after ICH Q1E (stats.py), the shelf life the data support per substance and
product, and whether each claim stays within it.

A study group is the studies of one subject at one storage condition for one purpose; each study
is one series (a batch; a batch on study in two orientations gives two series). The claim is judged
on the long-term group of its subject: its primary studies when any are marked primary (ICH Q1A(R2)
§2.1.3, §2.2.3), else all of them. X, the period of long-term data, is the shortest data period of
those studies. Significant change at the accelerated (or intermediate) condition is read from the
data as a result outside its shelf-life criterion (one of the ICH Q1A(R2) §2.2.7 criteria; the 5 %
assay change is not evaluated here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import stats
from .model import Model, results_by_study
from .text import pick

BIOTECH = ("monoclonal_antibody", "recombinant_protein", "adc", "vaccine", "car_t", "gene_therapy")
UPPER, LOWER = ("<", "<="), (">", ">=")


def numeric_limits(limit: dict | None) -> tuple[float | None, float | None] | None:
    """Return (lower, upper) of a structured limit, or None when it has no numeric bound."""
    if not isinstance(limit, dict):
        return None
    value = limit.get("value")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if limit.get("comparator") in UPPER:
            return None, float(value)
        if limit.get("comparator") in LOWER:
            return float(value), None
        return None
    low, high = limit.get("low"), limit.get("high")
    if isinstance(low, (int, float)) and isinstance(high, (int, float)):
        return float(low), float(high)
    return None


def stability_criterion(test: dict) -> dict:
    """Return the criterion a stability result is judged by: the shelf-life one if given."""
    return test.get("shelf_life_acceptance") or test.get("acceptance") or {}


@dataclass
class Attribute:
    """One attribute (specification test) of a study group, evaluated or with the reason it was not."""

    test: dict
    criterion: dict
    lower: float | None
    upper: float | None
    series: list[stats.Series]
    evaluation: stats.Evaluation | None = None
    reason: str = ""                  # why there is no evaluation
    oos: list[tuple[str, float, float]] = field(default_factory=list)   # (batch, month, value)
    oot: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.test.get("id", "")

    def as_dict(self) -> dict:
        return {"test": self.id, "name": pick(self.test.get("name"), "en"),
                "criterion": pick(self.criterion.get("text"), "en"), "lower": self.lower, "upper": self.upper,
                "evaluation": self.evaluation.as_dict() if self.evaluation else None, "not_evaluated": self.reason or None,
                "oos": [{"batch": b, "month": m, "value": v} for b, m, v in self.oos],
                "oot": [{"batch": b, "month": m, "value": v} for b, m, v in self.oot]}


@dataclass
class Group:
    """The studies of one subject at one condition for one purpose, and their attributes."""

    subject: str
    condition: str
    purpose: str
    studies: list[dict]
    attributes: list[Attribute] = field(default_factory=list)
    data_months: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.subject}/{self.purpose}/{self.condition}"

    def as_dict(self) -> dict:
        return {"subject": self.subject, "condition": self.condition, "purpose": self.purpose,
                "studies": [s.get("id") for s in self.studies], "data_months": self.data_months,
                "attributes": [a.as_dict() for a in self.attributes]}


@dataclass
class Verdict:
    """A claim against the shelf life its subject's data support."""

    claim: dict
    months: int
    support: stats.Support | None
    governing: str                 # the attribute that limits the supported period ('' if the cap does)
    reason: str                    # '' when supported; else why not
    justified: bool = False

    @property
    def supported(self) -> bool:
        return not self.reason

    def as_dict(self) -> dict:
        return {"subject": self.claim.get("subject"), "kind": self.claim.get("kind"), "claimed_months": self.months,
                "support": self.support.as_dict() if self.support else None, "governing_attribute": self.governing or None,
                "supported": self.supported, "justified": self.justified, "reason": self.reason or None}


def _batch_label(model: Model, study: dict, twice: bool) -> str:
    batch = model.get(study.get("batch"), "batch")
    label = str(batch.data.get("number", batch.id)) if batch else str(study.get("batch"))
    if twice:
        label += f" ({study.get('orientation') or study.get('id')})"
    return label


def groups(model: Model) -> list[Group]:
    """Return every study group in stability.yaml order."""
    found: dict[tuple, Group] = {}
    for entity in model.of_type("study"):
        s = entity.data
        key = (s.get("subject"), s.get("condition"), s.get("purpose"))
        found.setdefault(key, Group(*map(str, key), [])).studies.append(s)
    return list(found.values())


def _specification(model: Model, study: dict) -> dict:
    entity = model.get((study.get("specification") or {}).get("id"), "specification")
    return entity.data if entity else {}


def evaluate_group(model: Model, group: Group, studies: list[dict] | None = None) -> Group:
    """Return the group with every attribute that has a numeric stability limit evaluated."""
    studies = studies if studies is not None else group.studies
    by_study = results_by_study(model)
    batches = [s.get("batch") for s in studies]
    out = Group(group.subject, group.condition, group.purpose, studies)
    spec = _specification(model, studies[0]) if studies else {}
    months_per_study = []
    for s in studies:
        points = [r.get("time_point") for r in by_study.get(s.get("id"), []) if _number(r.get("time_point"))]
        months_per_study.append(max(points, default=0))
    out.data_months = float(min(months_per_study, default=0))
    for test in spec.get("tests", []) or []:
        if not isinstance(test, dict):
            continue
        criterion = stability_criterion(test)
        limits = numeric_limits(criterion.get("limit"))
        if limits is None:
            continue
        series = []
        for s in studies:
            rows = [r for r in by_study.get(s.get("id"), []) if r.get("test") == test.get("id")
                    and _number(r.get("value")) and _number(r.get("time_point")) and not r.get("qualifier")]
            if rows:
                series.append(stats.Series(_batch_label(model, s, batches.count(s.get("batch")) > 1),
                                           tuple(float(r["time_point"]) for r in rows), tuple(float(r["value"]) for r in rows)))
        if not series:
            continue
        attribute = Attribute(test, criterion, *limits, series)
        lower, upper = limits
        for item in series:
            for month, value in zip(item.months, item.values):
                if (lower is not None and value < lower) or (upper is not None and value > upper):
                    attribute.oos.append((item.label, month, value))
            attribute.oot += [(item.label, m, v) for m, v, _, _ in stats.out_of_trend(item)]
        try:
            attribute.evaluation = stats.evaluate(series, lower, upper, direction=test.get("stability_trend"))
        except stats.NotEnoughData as exc:
            attribute.reason = str(exc)
        out.attributes.append(attribute)
    return out


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def evaluate_all(model: Model) -> list[Group]:
    """Return every study group evaluated (the `dossiergen stability` report)."""
    if "shelflife.groups" not in model.results:
        model.results["shelflife.groups"] = [evaluate_group(model, g) for g in groups(model)]
    return model.results["shelflife.groups"]


def long_term_group(model: Model, subject: str) -> Group | None:
    """Return the subject's long-term group (the one with most studies), evaluated on its primary studies."""
    candidates = [g for g in groups(model) if g.subject == subject and g.purpose == "long_term"]
    if not candidates:
        return None
    group = max(candidates, key=lambda g: len(g.studies))
    primary = [s for s in group.studies if s.get("primary")]
    key = f"shelflife.lt.{subject}"
    if key not in model.results:
        model.results[key] = evaluate_group(model, group, primary or group.studies)
    return model.results[key]


def _significant_change(model: Model, subject: str, purpose: str) -> bool:
    """True when a result of the subject at this purpose's condition is outside its shelf-life criterion."""
    for group in evaluate_all(model):
        if group.subject == subject and group.purpose == purpose and any(a.oos for a in group.attributes):
            return True
    return False


def verdict(model: Model, claim: dict) -> Verdict:
    """Return whether a claim's period is supported by its subject's long-term data."""
    subject, months = claim.get("subject"), claim.get("months")
    months = months if _number(months) else 0
    justified = isinstance(claim.get("justification"), dict)
    group = long_term_group(model, subject)
    if group is None or group.data_months <= 0:
        return Verdict(claim, months, None, "", "there are no long-term stability results for this subject", justified)
    biotech = model.single("application").get("molecule_type") in BIOTECH
    evaluated = [a for a in group.attributes if a.evaluation is not None]
    crossings = [(a.evaluation.crossing, a) for a in evaluated if a.evaluation.crossing is not None]
    crossing, governing = min(crossings, key=lambda c: c[0]) if crossings else (None, None)
    support = stats.supported(group.data_months, stats.storage_class(group.condition), biotech=biotech,
                              crossing=crossing, statistics=bool(evaluated),
                              significant_change_accelerated=_significant_change(model, subject, "accelerated"),
                              significant_change_intermediate=_significant_change(model, subject, "intermediate"))
    name = pick(governing.test.get("name"), "en") if governing and crossing <= support.cap else ""
    if months <= support.months + 1e-9:
        return Verdict(claim, months, support, name, "", justified)
    x = f"{group.data_months:g}"
    if name:
        why = (f"the 95 % confidence bound of '{name}' meets its limit at {crossing:.1f} months "
               f"({stats.MODELS[governing.evaluation.model]}); the data support {support.months:.1f} months")
    else:
        why = f"{x} months of long-term data support at most {support.cap:g} months: {support.rule}"
    return Verdict(claim, months, support, name, f"{months} months claimed; {why} ({support.source})", justified)


def verdicts(model: Model) -> list[Verdict]:
    """Return the verdict of every claim in stability.yaml."""
    claims = model.single("stability").get("claims", []) or []
    return [verdict(model, c) for c in claims if isinstance(c, dict)]


def check_claims(model: Model, justified: bool):
    """Yield (location, detail) for every claim beyond what its data support: those without a
    justification (justified=False), or those with one (justified=True). The gap engine's hook."""
    for found in verdicts(model):
        if not found.supported and found.justified == justified:
            detail = found.reason
            if justified:
                detail += f"; justified by the applicant under {found.claim['justification'].get('guideline')}"
            yield model.dossier.location_of(found.claim, "months"), detail


# --- plain tables (dossiergen stability --csv) and text reports -----------------------------------

def read_csv(path, batches: list[str] | None = None) -> list[stats.Series]:
    """Return the series of a CSV with columns batch, month, value (in file order of batches).

    A malformed file raises InputError with each problem located by line."""
    import csv

    from .errors import InputError, Location, Problem

    shown = str(path)
    try:
        text = open(path, encoding="utf-8-sig", newline="").read()
    except OSError as exc:
        raise InputError("cannot read the CSV", (Problem("stability.csv_read", f"cannot read the file: {exc.strerror}",
                                                         Location(shown)),)) from exc
    reader = csv.DictReader(text.splitlines())
    wanted = {"batch", "month", "value"}
    if reader.fieldnames is None or not wanted <= {f.strip() for f in reader.fieldnames}:
        raise InputError("bad CSV header", (Problem("stability.csv_header", f"the header is {reader.fieldnames or 'empty'}; "
                                                    "it needs the columns batch, month, value", Location(shown, 1, 1),
                                                    hint="first line: batch,month,value"),))
    found: dict[str, list[tuple[float, float]]] = {}
    problems = []
    for number, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        try:
            month, value = float(row["month"]), float(row["value"])
        except ValueError:
            problems.append(Problem("stability.csv_number", f"month and value must be numbers, not "
                                    f"{row['month']!r} and {row['value']!r}", Location(shown, number, 1),
                                    hint="write decimals with a point; leave out results below a quantitation limit"))
            continue
        if month < 0:
            problems.append(Problem("stability.csv_number", f"month {month:g} is negative", Location(shown, number, 1)))
            continue
        if batches and row["batch"] not in batches:
            continue
        found.setdefault(row["batch"], []).append((month, value))
    if problems:
        raise InputError("bad CSV", tuple(problems))
    if batches:
        unknown = [b for b in batches if b not in found]
        if unknown:
            raise InputError("unknown batch", (Problem("stability.csv_batch", f"no rows for batch(es) {', '.join(unknown)}",
                                                       Location(shown)),))
    return [stats.Series(b, tuple(m for m, _ in v), tuple(y for _, y in v)) for b, v in found.items()]


def _fmt(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def describe(evaluation: stats.Evaluation) -> list[str]:
    """Return an evaluation as lines of text (the CLI's plain report)."""
    e = evaluation
    lines = []
    if e.p_slopes is not None:
        lines.append(f"poolability (alpha {stats.ALPHA_POOL}): slopes F = {e.f_slopes:.3f}, p = {e.p_slopes:.3f}; "
                     f"intercepts F = {e.f_intercepts:.3f}, p = {e.p_intercepts:.3f}")
    bound = "two-sided 95 % (97.5 % per side)" if e.sided == "two" else f"one-sided 95 % ({', '.join(e.sides)})"
    lines.append(f"model: {stats.MODELS[e.model]}; bound: {bound} confidence bound of the mean")
    for fit in e.fits[:1] if e.model == "common" else e.fits:
        lines.append(f"  {fit.label}: y = {fit.intercept:.4f} {'+' if fit.slope >= 0 else '-'} {abs(fit.slope):.5f} t; "
                     f"meets the {fit.side or ''} limit at {_fmt(fit.crossing)} months" if fit.crossing is not None else
                     f"  {fit.label}: y = {fit.intercept:.4f} {'+' if fit.slope >= 0 else '-'} {abs(fit.slope):.5f} t; "
                     f"within the limits to {stats.SEARCH_MONTHS:g} months")
    lines.append(f"crossing: {_fmt(e.crossing)} months" + (f" (batch {e.governing.label})" if e.governing else ""))
    return lines


def report_lines(model: Model) -> list[str]:
    """Return the text report of every study group, attribute and claim."""
    lines = []
    for group in evaluate_all(model):
        lines.append(f"{group.subject} · {group.purpose} · {group.condition} · {len(group.studies)} stud"
                     f"{'y' if len(group.studies) == 1 else 'ies'} · {group.data_months:g} months")
        for attribute in group.attributes:
            name = pick(attribute.test.get("name"), "en")
            lines.append(f"  {name} [{pick(attribute.criterion.get('text'), 'en')}]")
            if attribute.evaluation is None:
                lines.append(f"    not evaluated: {attribute.reason}")
            else:
                lines += ["    " + line for line in describe(attribute.evaluation)]
            lines += [f"    OOS: batch {b} at {m:g} months: {v:g}" for b, m, v in attribute.oos]
            lines += [f"    out of trend: batch {b} at {m:g} months: {v:g}" for b, m, v in attribute.oot]
        lines.append("")
    for found in verdicts(model):
        status = "supported" if found.supported else ("justified over-claim" if found.justified else "NOT SUPPORTED")
        support = found.support
        lines.append(f"claim {found.claim.get('subject')}: {found.months} months: {status}"
                     + (f"; data support {support.months:.1f} months ({support.rule}; {support.source})" if support else
                        f"; {found.reason}"))
        if found.reason and support:
            lines.append(f"  {found.reason}")
    return lines
