"""Shelf life from a dossier's own stability data: every study group and attribute with a numeric
limit evaluated after ICH Q1E (stats.py), the shelf life the data support per substance and
product, and whether each claim stays within it.

A study group is the studies of one subject at one storage condition for one purpose; each study
is one series (a batch; a batch on study in two orientations gives two series). The claim is judged
on the long-term group of its subject: its primary studies when any are marked primary (ICH Q1A(R2)
§2.1.3, §2.2.3), else all of them. X, the period of long-term data, is the shortest data period of
those studies. Significant change at the accelerated (or intermediate) condition is read from the
data (significant_changes): a result outside its shelf-life criterion and, for a drug product, the
5 % change in assay from its initial value of ICH Q1A(R2) §2.2.7.1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import stats
from .model import Model, results_by_study
from .periods import claim_key, claim_period, in_unit, is_exposure_study, number_text, study_unit
from .text import pick

BIOTECH = ("monoclonal_antibody", "recombinant_protein", "adc", "vaccine", "car_t", "gene_therapy")
UPPER, LOWER = ("<", "<="), (">", ">=")
TREND_PURPOSES = ("long_term", "intermediate", "accelerated")  # formal studies; stress studies are diagnostic


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
    data_months: float = 0.0  # the data period X, counted in the group's unit (months unless its studies say otherwise)
    unit: str = "months"      # the time unit of the studies' time points: the statistics run in it

    @property
    def key(self) -> str:
        return f"{self.subject}/{self.purpose}/{self.condition}" + ("" if self.unit == "months" else f"/{self.unit}")

    def as_dict(self) -> dict:
        return {"subject": self.subject, "condition": self.condition, "purpose": self.purpose,
                "studies": [s.get("id") for s in self.studies], "data_months": self.data_months,
                **({} if self.unit == "months" else {"unit": self.unit}),
                "attributes": [a.as_dict() for a in self.attributes]}


@dataclass
class Verdict:
    """A claim against the shelf life its subject's data support."""

    claim: dict
    months: float                  # the claimed period, in months (the common unit of the rules)
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
    if twice:  # the study id tells them apart, in any language
        label += f" ({study.get('id')})"
    return label


def groups(model: Model) -> list[Group]:
    """Return every study group in stability.yaml order."""
    found: dict[tuple, Group] = {}
    for entity in model.of_type("study"):
        s = entity.data
        key = (s.get("subject"), s.get("condition"), s.get("purpose"), study_unit(s))  # hours never pool with months
        found.setdefault(key, Group(*map(str, key[:3]), [], unit=key[3])).studies.append(s)
    return list(found.values())


def _specification(model: Model, study: dict) -> dict:
    entity = model.get((study.get("specification") or {}).get("id"), "specification")
    return entity.data if entity else {}


def evaluate_group(model: Model, group: Group, studies: list[dict] | None = None) -> Group:
    """Return the group with every attribute that has a numeric stability limit evaluated."""
    studies = studies if studies is not None else group.studies
    by_study = results_by_study(model)
    batches = [s.get("batch") for s in studies]
    out = Group(group.subject, group.condition, group.purpose, studies, unit=group.unit)
    spec = _specification(model, studies[0]) if studies else {}
    months_per_study = []  # X: the shortest data period of the studies with results (a study without
    for s in studies:      # any is the primary-batch count rule's concern, not a zero-month period)
        points = [r.get("time_point") for r in by_study.get(s.get("id"), []) if _number(r.get("time_point"))]
        if points:
            months_per_study.append(max(points))
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
            if group.purpose in TREND_PURPOSES:
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
    return model.memo("shelflife.groups", lambda: [evaluate_group(model, g) for g in groups(model)])


def long_term_group(model: Model, subject: str) -> Group | None:
    """Return the subject's long-term group (the one with most studies), evaluated on its primary studies."""
    candidates = [g for g in groups(model) if g.subject == subject and g.purpose == "long_term"]
    if not candidates:
        return None
    group = max(candidates, key=lambda g: len(g.studies))
    primary = [s for s in group.studies if s.get("primary")]
    return model.memo(f"shelflife.lt.{subject}", lambda: evaluate_group(model, group, primary or group.studies))


ASSAY_CHANGE = 5.0  # ICH Q1A(R2) §2.2.7.1 item 1: a 5 % change in assay from its initial value


def significant_changes(model: Model, subject: str, purpose: str) -> list[str]:
    """Return the significant changes (ICH Q1A(R2)) the subject's results at this purpose's condition
    show, each in words. For every subject: a numeric result outside its shelf-life criterion
    (§2.1.7.1 for a drug substance: failure to meet its specification; §2.2.7.1 items 2-5 for a drug
    product: a degradation product, pH, dissolution or another criterion). For a drug product also
    item 1: an assay (test category 'assay') 5 % or more from its initial value in the same study,
    read as 5 percentage points for results in % (of label claim), else 5 % of the initial value.
    Appearance and other results in words are not read."""
    product = model.get(subject, "product") is not None
    found = []
    for group in evaluate_all(model):
        if group.subject != subject or group.purpose != purpose:
            continue
        for attribute in group.attributes:
            name = pick(attribute.test.get("name"), "en")
            for label, month, value in attribute.oos:
                found.append(f"{name} of batch {label} outside its criterion at {month:g} months ({value:g})")
            if not product or attribute.test.get("category") != "assay":
                continue
            percent = (attribute.criterion.get("limit") or {}).get("unit") == "%"
            for series in attribute.series:
                initial = [v for m, v in zip(series.months, series.values) if m == 0]
                if not initial:
                    continue
                for month, value in zip(series.months, series.values):
                    change = abs(value - initial[0])
                    if not percent:
                        change = 100 * change / abs(initial[0]) if initial[0] else 0.0
                    if month > 0 and change >= ASSAY_CHANGE - 1e-9:
                        found.append(f"{name} of batch {series.label} changed by {change:.1f} % from its initial value "
                                     f"({initial[0]:g} to {value:g} at {month:g} months)")
                        break
    return found


def _significant_change(model: Model, subject: str, purpose: str) -> bool:
    """True when the subject's results at this purpose's condition show a significant change."""
    return bool(significant_changes(model, subject, purpose))


def verdict(model: Model, claim: dict) -> Verdict:
    """Return whether a claim's period is supported by its subject's long-term data."""
    subject, period = claim.get("subject"), claim_period(claim)
    # the rules compare in months (the unit of ICH Q1E Appendix A); the statistics ran in the data's unit
    months = (period.value if period.unit == "months" else period.months) if period else 0
    justified = isinstance(claim.get("justification"), dict)
    group = long_term_group(model, subject)
    if group is None or group.data_months <= 0:
        return Verdict(claim, months, None, "", "there are no long-term stability results for this subject", justified)
    if group.unit != "months":
        return _verdict_in_unit(claim, period, months, group, justified)
    from .roles import subject_is_biological

    biotech = subject_is_biological(model, subject)  # a drug-linker of an ADC is chemical: Q1E, not Q5C
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
        changes = significant_changes(model, subject, "accelerated") if "change" in support.key else []
        if changes:
            why += f" (at accelerated: {changes[0]}{f' and {len(changes) - 1} more' if len(changes) > 1 else ''})"
    return Verdict(claim, months, support, name, f"{months} months claimed; {why} ({support.source})", justified)


def _verdict_in_unit(claim: dict, period, months: float, group: Group, justified: bool) -> Verdict:
    """A claim judged on long-term data counted in hours, days or weeks: real-time data only (ICH Q5C §6;
    Q1E Appendix A extrapolates periods of months), so the data support the shorter of the data period
    and the statistical crossing, both converted to months to compare with the claim."""
    evaluated = [a for a in group.attributes if a.evaluation is not None]
    crossings = [(a.evaluation.crossing, a) for a in evaluated if a.evaluation.crossing is not None]
    crossing, governing = min(crossings, key=lambda c: c[0]) if crossings else (None, None)
    to_months = lambda value: None if value is None else in_unit(value, group.unit, "months")
    cap = to_months(group.data_months)
    support = stats.Support("real_time", cap if crossing is None else min(cap, to_months(crossing)), cap, cap,
                            f"a period counted in {group.unit}: real-time data only, no extrapolation",
                            f"{stats.Q5C} §6 and {stats.Q1E}, Appendix A", to_months(crossing))
    name = pick(governing.test.get("name"), "en") if governing and to_months(crossing) <= cap else ""
    if months <= support.months + 1e-9:
        return Verdict(claim, months, support, name, "", justified)
    shown = lambda value: f"{number_text(in_unit(value, 'months', group.unit))} {group.unit}"
    claimed = f"{number_text(period.value)} {period.unit}"
    if name:
        why = f"the 95 % confidence bound of '{name}' meets its limit at {shown(support.crossing)}; the data support {shown(support.months)}"
    else:
        why = f"{shown(cap)} of long-term data support at most {shown(cap)}: {support.rule}"
    return Verdict(claim, months, support, name, f"{claimed} claimed; {why} ({support.source})", justified)


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
            yield model.dossier.location_of(found.claim, claim_key(found.claim)), detail


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
        period = claim_period(found.claim)
        lines.append(f"claim {found.claim.get('subject')}: {period.label() if period else 'no period'}: {status}"
                     + (f"; data support {support.months:.1f} months ({support.rule}; {support.source})" if support else
                        f"; {found.reason}"))
        if found.reason and support:
            lines.append(f"  {found.reason}")
    return lines


# --- claims checked against the data (the gap engine's hook: check kind `stability_claims`) --------

LIGHT_WORDS = ("light", "避光")
DURATION = re.compile(r"\d+\s*(?:h\b|hours?|days?|weeks?|months?|min(?:utes?)?\b|小时|天|周|个月|分钟)", re.IGNORECASE)


def _text(value) -> str:
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values() if isinstance(v, str))
    return str(value or "")


def _studies_of(model: Model, subject: str, purposes: tuple[str, ...]) -> list[dict]:
    return [s.data for s in model.of_type("study") if s.data.get("subject") == subject
            and (s.data.get("purpose") in purposes or s.data.get("condition") in purposes)]


def _result_rows(model: Model, study: dict) -> list[dict]:
    return results_by_study(model).get(study.get("id"), [])


def check_light(model: Model):
    """A storage statement that protects from light needs a photostability study of its subject
    with results (ICH Q1B; case by case under Q5C)."""
    for claim in model.single("stability").get("claims", []) or []:
        if not isinstance(claim, dict) or not any(w in _text(claim.get("storage")).lower() for w in LIGHT_WORDS):
            continue
        studies = [s for s in _studies_of(model, claim.get("subject"), ("photostability",)) if _result_rows(model, s)]
        if not studies:
            yield (model.dossier.location_of(claim, "storage"),
                   f"the storage statement of '{claim.get('subject')}' asks for protection from light, "
                   "but there is no photostability study with results for it")


# ICH Q1B (1996) §1.C Procedure (for the confirmatory studies of §2 drug substance and §3 drug product): an overall
# illumination of not less than 1.2 million lux hours and an integrated near-ultraviolet energy of not
# less than 200 watt hours/square metre.
Q1B_ILLUMINATION_LXH = 1.2e6
Q1B_NEAR_UV_WHM2 = 200.0
LUX_HOURS = {"lx.h": 1.0, "klx.h": 1e3, "Mlx.h": 1e6}


def _photostability_studies(model: Model) -> list[dict]:
    return [s.data for s in model.of_type("study") if s.data.get("purpose") == "photostability"]


def check_photo_exposure(model: Model):
    """A confirmatory photostability study reaches the ICH Q1B exposure: not less than 1.2 million
    lux h overall illumination and 200 W h/m² integrated near-UV energy. A study that gives no
    exposure (time points only) cannot show it."""
    for study in _photostability_studies(model):
        exposure = study.get("exposure")
        if not isinstance(exposure, dict):
            yield (model.dossier.location_of(study, "time_points") or model.dossier.location_of(study),
                   f"photostability study '{study.get('id')}' gives no light exposure (time points only), "
                   "so it cannot show the ICH Q1B minimum of 1.2 million lux h and 200 W h/m²")
            continue
        illumination, near_uv = exposure.get("illumination") or {}, exposure.get("near_uv") or {}
        lux_hours = _number(illumination.get("value")) and illumination["value"] * LUX_HOURS.get(illumination.get("unit"), 0)
        uv = near_uv.get("value") if _number(near_uv.get("value")) and near_uv.get("unit") == "W.h/m2" else None
        short = []
        if not lux_hours or lux_hours < Q1B_ILLUMINATION_LXH:
            short.append(f"overall illumination {illumination.get('value')} {illumination.get('unit')} "
                         "is below 1.2 million lux h")
        if uv is None or uv < Q1B_NEAR_UV_WHM2:
            short.append(f"near-UV energy {near_uv.get('value')} {near_uv.get('unit')} is below 200 W h/m²")
        if short:
            yield (model.dossier.location_of(exposure) or model.dossier.location_of(study),
                   f"photostability study '{study.get('id')}': " + "; ".join(short))


HOURS = {"h": 1, "hour": 1, "day": 24, "week": 168, "month": 730.5, "min": 1 / 60, "小时": 1, "天": 24, "周": 168, "个月": 730.5, "分钟": 1 / 60}


def _hours(text: str) -> float:
    """Return a duration such as '24 hours', '30 days' or '4小时' in hours."""
    number = float(re.match(r"\d+", text).group(0))
    unit = re.sub(r"[\d\s]", "", text).lower().rstrip("s")
    unit = "min" if unit.startswith("min") else unit
    return number * HOURS.get(unit, 1)


def _study_hours(model: Model, study: dict) -> float:
    """Return the longest time point with results of a study, in hours."""
    points = [r.get("time_point") for r in _result_rows(model, study) if _number(r.get("time_point"))]
    return in_unit(max(points, default=0), study_unit(study), "hours")


def check_in_use(model: Model):
    """An in-use, after-reconstitution or excursion statement that names a period needs an in-use study
    of its subject with results that reach the longest period named."""
    for claim in model.single("stability").get("claims", []) or []:
        if not isinstance(claim, dict) or not DURATION.search(_text(claim.get("in_use"))):
            continue  # no statement, or one without a period ('use immediately') claims nothing to study
        studies = [s for s in _studies_of(model, claim.get("subject"), ("in_use",)) if _result_rows(model, s)]
        if not studies:
            yield (model.dossier.location_of(claim, "in_use"),
                   f"the in-use statement of '{claim.get('subject')}' has no in-use study (purpose in_use) with results behind it")
            continue
        claimed = max(_hours(m.group(0)) for m in DURATION.finditer(_text(claim.get("in_use"))))
        studied = max(_study_hours(model, s) for s in studies)
        if studied + 1e-9 < claimed:
            yield (model.dossier.location_of(claim, "in_use"),
                   f"the in-use statement of '{claim.get('subject')}' names {claimed:g} hours; its in-use studies cover {studied:g} hours")


def _study_for(model: Model, group: Group, label: str) -> dict:
    for study in group.studies:
        batch = model.get(study.get("batch"), "batch")
        number = str(batch.data.get("number", batch.id)) if batch else str(study.get("batch"))
        if label == number or label == f"{number} ({study.get('id')})":
            return study
    return group.studies[0]


def note_for(model: Model, study: str, month: float, test: str):
    """Return the note on one result (stability.yaml result_notes), or None: the first note of the
    study and test whose time point is the month."""
    try:
        notes = _notes(model).get((study, test), ())
    except TypeError:  # an unhashable id: no note names it
        return None
    return next((note for point, note in notes if abs(point - month) < 1e-9), None)


def _notes(model: Model) -> dict[tuple, list[tuple[float, Any]]]:
    """Return {(study id, test id): [(time point, note), …]} of stability.yaml result_notes, in their
    order (a note naming several tests is listed under each). Computed once per model (Model.memo: a
    table of stability results looks up a note per result)."""
    def compute() -> dict[tuple, list[tuple[float, Any]]]:
        found: dict[tuple, list[tuple[float, Any]]] = {}
        for note in model.single("stability").get("result_notes", []) or []:
            if not isinstance(note, dict) or not _number(note.get("time_point")):
                continue
            for test in note.get("test") if isinstance(note.get("test"), list) else [note.get("test")]:
                try:
                    found.setdefault((note.get("study"), test), []).append((float(note["time_point"]), note.get("note")))
                except TypeError:  # an unhashable study or test (a mapping): it names no result
                    continue
        return found

    return model.memo("shelflife.notes", compute)


def result_marks(model: Model) -> dict[tuple, set]:
    """Return {(study id, test id, month): {'oos', 'oot'}} for every stability result outside its
    shelf-life criterion or out of trend: the computation check_results reports from, so that the
    tables of 3.2.S.7.3/3.2.P.8.3 mark the same results the gap report names (noted ones too).
    Computed once per model (Model.memo: a document is charged with what the marks were computed from)."""
    def compute() -> dict[tuple, set]:
        marks: dict[tuple, set] = {}
        for group in evaluate_all(model):
            for attribute in group.attributes:
                for kind, found in (("oos", attribute.oos), ("oot", attribute.oot)):
                    for label, month, _ in found:
                        study = _study_for(model, group, label)
                        marks.setdefault((study.get("id"), attribute.id, float(month)), set()).add(kind)
        return marks

    return model.memo("shelflife.marks", compute)


def result_flags(model: Model, study: dict, test_id: str, point) -> dict:
    """Return how a stability result is marked: {'oos': bool, 'oot': bool, 'note': note or None},
    from shelflife.result_marks (the computation behind core.stability-oos/-oot) and result_notes."""
    return result_flagger(model)(study, test_id, point)


def result_flagger(model: Model):
    """Return result_flags for many results of a model: the marks are looked up once, at the first
    result with a time point (a table of stability results flags every result it shows; one without
    any reads no marks, as before)."""
    marks = None

    def flags(study: dict, test_id: str, point) -> dict:
        nonlocal marks
        if not isinstance(point, (int, float)) or isinstance(point, bool):
            return {"oos": False, "oot": False, "note": None}
        if marks is None:
            marks = result_marks(model)
        found = marks.get((study.get("id"), test_id, float(point)), set())
        return {"oos": "oos" in found, "oot": "oot" in found, "note": note_for(model, study.get("id"), float(point), test_id)}

    return flags


def check_results(model: Model, kind: str):
    """Yield each stability result outside its shelf-life criterion (kind 'oos') or outside the
    99 % prediction interval of its batch's regression without it (kind 'oot')."""
    for group in evaluate_all(model):
        for attribute in group.attributes:
            name = pick(attribute.test.get("name"), "en")
            for label, month, value in (attribute.oos if kind == "oos" else attribute.oot):
                study = _study_for(model, group, label)
                if note_for(model, study.get("id"), month, attribute.id) is not None:
                    continue  # explained in stability.yaml result_notes
                what = (f"outside the shelf-life criterion {pick(attribute.criterion.get('text'), 'en')}" if kind == "oos"
                        else f"outside the {stats.OOT_LEVEL:.0%} prediction interval of the batch's regression")
                when = ((f"after the light exposure" if month else "before the light exposure") if is_exposure_study(study)
                        else f"at {month:g} months")
                yield (model.dossier.location_of(study),
                       f"study '{study.get('id')}' ({group.condition}), {name}: {value:g} {when} is {what}")


def _release_pairs(model: Model):
    """Yield (batch, test id, release result or None, time-zero result, study, released) for every
    batch on stability with an initial result of a test; released is whether the test was part of
    the specification version the batch was released under (a test added later was not a release
    test: its initial result then stands alone in 3.2.S.7.3/3.2.P.8.3 and needs a word)."""
    from .model import results_by_batch, spec_tests

    by_batch = results_by_batch(model)
    seen = set()
    for entity in model.of_type("study"):
        study = entity.data
        batch = model.get(study.get("batch"), "batch")
        if batch is None or (study.get("time_unit") or "months") != "months":
            continue
        released = batch.data.get("specification") or {}
        spec = model.get(released.get("id"), "specification")
        tests = spec_tests(spec.data, released.get("version")) if spec else None
        if tests is None:
            continue
        release = {r.get("test"): r for r in by_batch.get(batch.id, []) if isinstance(r, dict)}
        for row in _result_rows(model, study):
            key = (batch.id, row.get("test"))
            if row.get("time_point") != 0 or key in seen:
                continue
            seen.add(key)
            yield batch, row.get("test"), release.get(row.get("test")), row, study, row.get("test") in tests


def check_release_t0(model: Model):
    """A batch's time-zero stability result and its release result agree: both present, and on
    the same side of the release criterion of the version the batch was released under (ICH
    M4Q(R1) 3.2.S.4.4/3.2.S.7.3, 3.2.P.5.4/3.2.P.8.3). An initial result of a test that version did
    not have shows beside a '–' in the batch analyses: it is explained in result_notes."""
    from .limits import meets
    from .model import version_test

    studies_of: dict[str, list[str]] = {}  # each batch's studies, found once
    for entity in model.of_type("study"):
        if isinstance(entity.data.get("batch"), str):
            studies_of.setdefault(entity.data["batch"], []).append(entity.id)
    for batch, test_id, release, initial, study, released in _release_pairs(model):
        number = batch.data.get("number", batch.id)
        studies = studies_of.get(batch.id, [])
        if any(note_for(model, other, 0.0, test_id) is not None for other in studies):
            continue  # a note on the batch's initial result, in any of its studies
        version = (batch.data.get("specification") or {}).get("version")
        if release is None and not released:
            yield (model.dossier.location_of(batch.data),
                   f"batch {number}: '{test_id}' has an initial result in study '{study.get('id')}' but no release result: the test "
                   f"is not in specification version {version} the batch was released under; say in result_notes how the "
                   "initial result was obtained (for example on retained samples when the test was added)")
            continue
        if release is None:
            yield (model.dossier.location_of(batch.data),
                   f"batch {number}: '{test_id}' has an initial result in study '{study.get('id')}' but no release result, "
                   "although the test is in the specification version it was released under")
            continue
        spec = model.get((batch.data.get("specification") or {}).get("id"), "specification")
        test = version_test(spec.data, version, test_id) if spec else None  # the release criterion of its version
        limit = ((test or {}).get("acceptance") or {}).get("limit")
        at_release, at_start = meets(limit, release.get("value")), meets(limit, initial.get("value"))
        if at_release is not None and at_start is not None and at_release != at_start:
            yield (model.dossier.location_of(batch.data),
                   f"batch {number}: '{test_id}' meets the release criterion at {'release' if at_release else 'time zero'} "
                   f"({release.get('value')} at release, {initial.get('value')} at time zero in study '{study.get('id')}') but not at the other")


def _claims(model: Model) -> list[dict]:
    return [c for c in model.single("stability").get("claims", []) or [] if isinstance(c, dict)]


def _counted(model: Model, aspect: str) -> int:
    """How many things an aspect examined (the gap engine never calls an empty check met)."""
    if aspect in ("shelf_life", "shelf_life_justified"):
        return len(_claims(model))
    if aspect == "light":
        return sum(any(w in _text(c.get("storage")).lower() for w in LIGHT_WORDS) for c in _claims(model))
    if aspect == "in_use":
        return sum(bool(DURATION.search(_text(c.get("in_use")))) for c in _claims(model))
    if aspect == "photo_exposure":
        return len(_photostability_studies(model))
    if aspect == "release_t0":
        return sum(1 for _ in _release_pairs(model))
    groups = [g for g in evaluate_all(model) if aspect == "oos" or g.purpose in TREND_PURPOSES]
    return sum(len(s.values) for g in groups for a in g.attributes for s in a.series)


ASPECTS = {
    "shelf_life": lambda model: check_claims(model, justified=False),
    "shelf_life_justified": lambda model: check_claims(model, justified=True),
    "light": check_light,
    "in_use": check_in_use,
    "oos": lambda model: check_results(model, "oos"),
    "oot": lambda model: check_results(model, "oot"),
    "release_t0": check_release_t0,
    "photo_exposure": check_photo_exposure,
}
NOUNS = {"shelf_life": "stability claims", "shelf_life_justified": "stability claims",
         "light": "storage statements that protect from light", "in_use": "in-use statements with a period",
         "oos": "numeric stability results", "oot": "numeric stability results",
         "release_t0": "initial stability results of batches on stability",
         "photo_exposure": "photostability studies"}


def findings(model: Model, aspect: str) -> tuple[int, list[tuple], str]:
    """Return (items examined, [(location, detail)], noun) for one aspect of the claims-against-data
    checks (see ASPECTS): the gap engine's hook (check kind `stability_claims`)."""
    return _counted(model, aspect), list(ASPECTS[aspect](model)), NOUNS[aspect]


# --- the evaluation as document content (3.2.S.7.1, 3.2.P.8.1) -------------------------------------

def _source_text(source: str, lang: str) -> str:
    """Return a guideline reference for the document language (Chinese: no English words)."""
    if lang != "zh":
        return source
    text = re.sub(r"\s*\((?![0-9]{4}\))[^)]*\)", "", source)  # keep '(2003)', drop explanations
    return text.replace(", Appendix A", "附录A").replace(" and ", "和")


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _months_text(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def _in(value: float | None, unit: str, lang: str, t) -> str:
    """Return a duration counted in unit as the documents print it: '24 months' / '24个月', '6 hours' / '6小时'."""
    if value is None:
        return ""
    word = {"months": ("months", "个月"), "weeks": ("weeks", "周"), "days": ("days", "天"), "hours": ("hours", "小时")}[unit]
    return f"{_months_text(value)}{word[1]}" if lang == "zh" else f"{_months_text(value)} {word[0]}"


def document_summary(model: Model, claim: dict, t, lang: str) -> dict | None:
    """Return the evaluation of a claim in words and table cells of the document language.

    t(key) returns a label (labels-q1e.yaml). None when the subject has no long-term results.
    Durations print in the unit of the long-term data (the statistics ran in it); the claim in its own."""
    found = verdict(model, claim)
    group = long_term_group(model, claim.get("subject"))
    if group is None or found.support is None:
        return None
    support = found.support
    unit = group.unit
    back = lambda value: None if value is None else in_unit(value, "months", unit)  # Support counts in months
    period = claim_period(claim)
    primary = any(s.get("primary") for s in group.studies)
    numbers = []
    for s in group.studies:
        batch = model.get(s.get("batch"), "batch")
        number = str(batch.data.get("number", batch.id)) if batch else str(s.get("batch"))
        if number not in numbers:
            numbers.append(number)
    intro = t("q1e_method").format(condition=t("c_cond_" + group.condition),
                                   studies=t("q1e_studies_primary" if primary else "q1e_studies_all"),
                                   batches=t("c_list_sep").join(numbers), months=_in(group.data_months, unit, lang, t))
    rows = []
    for a in group.attributes:
        name, criterion = pick(a.test.get("name"), lang), pick(a.criterion.get("text"), lang)
        e = a.evaluation
        if e is None:
            rows.append([name, criterion, t("q1e_not_evaluated"), "", "", "", "", ""])
            continue
        bound = t("q1e_bound_two") if e.sided == "two" else t(f"q1e_bound_{e.sides[0]}")
        crossing = _months_text(e.crossing) if e.crossing is not None else t("q1e_beyond").format(months=f"{stats.SEARCH_MONTHS:g}")  # in the column's unit
        p_intercepts = None if e.model == "separate" else e.p_intercepts  # not tested once slopes differ
        rows.append([name, criterion, t(f"q1e_model_{e.model}"), _p(e.p_slopes), _p(p_intercepts),
                     bound, crossing, e.governing.label if e.governing else ""])
    crossings = [(a.evaluation.crossing, a) for a in group.attributes if a.evaluation and a.evaluation.crossing is not None]
    if crossings:
        when, attribute = min(crossings, key=lambda c: c[0])
        crossing_text = t("q1e_crossing_months").format(months=_in(when, unit, lang, t), attribute=pick(attribute.test.get("name"), lang))
    else:
        crossing_text = t("q1e_crossing_none")
    conclusion = t("q1e_supported" if found.supported else "q1e_not_supported").format(
        source=_source_text(support.source, lang), cap=_in(back(support.cap), unit, lang, t), rule=t(f"q1e_rule_{support.key}"),
        crossing=crossing_text, months=_in(period.value, period.unit, lang, t) if period else "–")
    justification = claim.get("justification") if isinstance(claim.get("justification"), dict) else None
    def shown(a, b, m, v):
        text = t("q1e_result_at").format(batch=b, test=pick(a.test.get("name"), lang), value=f"{v:g}",
                                         month=_in(m, unit, lang, t).replace(_months_text(m), f"{m:g}", 1))
        note = note_for(model, _study_for(model, group, b).get("id"), m, a.id)
        return text + (f" ({str(pick(note, lang)).strip().rstrip('.')})" if note is not None else "")

    oos = [shown(a, b, m, v) for a in group.attributes for b, m, v in a.oos]
    oot = [shown(a, b, m, v) for a in group.attributes for b, m, v in a.oot]
    return {"verdict": found, "intro": intro, "rows": rows, "conclusion": conclusion, "justification": justification,
            "oos": oos, "oot": oot, "crossing_header": t("q1e_crossing" if unit == "months" else f"q1e_crossing_{unit}")}


def _unit_label(code: str, lang: str) -> str:
    from .schema import units
    from .tables import _unit

    return "" if code in ("", "1", "[pH]") else _unit(code, units(), lang)


def trend_figures(model: Model, subject: str, t, lang: str) -> list[tuple]:
    """Return (attachment, alt text, caption) of a trend plot per evaluated attribute of the
    subject's long-term group (the studies the claim is judged on)."""
    from .plots import trend_plot
    from .text import slugify

    group = long_term_group(model, subject)
    if group is None:
        return []
    claims = [c for c in model.single("stability").get("claims", []) or [] if isinstance(c, dict) and c.get("subject") == subject]
    period = claim_period(claims[0]) if claims else None
    months = in_unit(period.value, period.unit, group.unit) if period else None  # the claim on the data's time axis
    months = int(months) if months is not None and months == int(months) else months
    condition = t("c_cond_" + group.condition)
    found = []
    for attribute in group.attributes:
        if attribute.evaluation is None:
            continue
        test = pick(attribute.test.get("name"), lang)
        unit = _unit_label((attribute.criterion.get("limit") or {}).get("unit", ""), lang)
        labels = {"y": f"{test} ({unit})" if unit and unit != test else test,
                  "months": t("q1e_axis_months" if group.unit == "months" else f"q1e_axis_{group.unit}"),
                  "fit": t("q1e_legend_fit"), "bound": t("q1e_legend_bound"), "limit": t("q1e_legend_limit"),
                  "claim": t("q1e_legend_claim")}
        name = f"trend-{slugify(subject, 30)}-{slugify(attribute.id, 30)}-{lang}"
        attachment = trend_plot(name, attribute.evaluation, attribute.series, labels, lang, months)
        alt = t("q1e_plot_alt").format(test=test, batches=t("c_list_sep").join(s.label for s in attribute.series),
                                       criterion=pick(attribute.criterion.get("text"), lang),
                                       months=_in(months, group.unit, lang, t) if months is not None else "–",
                                       axis=labels["months"].lower() if lang != "zh" else labels["months"])
        found.append((attachment, alt, t("q1e_plot_caption").format(test=test, condition=condition)))
    return found
