"""Check kinds of the rule engine: (model, check) -> Outcome, what was examined and what failed.

A check never decides "met" by itself: it says how many items it examined, which of them fail,
and, when it examined none, where the missing items belong. gaps.evaluate_rule turns that into a
verdict (met, MISSING or n/a), so a quantifier over an empty set is never silently met.

  exists   the value at `path` in the file of kind `file` is present
  every    every item of `items` has every field in `require` (or at least one of `any_of`)
  in_list  the field `field` of every item of `items` is one of `values` (`any: true`: the field
           is a path through a list, and at least one of its values must be among them)
  recent   the date in `field` of every item of `items` is at most `years` old
  covers   every id of `items` appears among the ids at `within`
  count_at_least
           every entity of `groups` is named in `group_by` by at least `min` items of `items`
           (items that are ids, such as batch ids in a list, are looked up first)
  translated
           every narrative of the file kinds `kinds` has a Chinese (zh) text
  remaining_shelf_life
           every batch of `items` (ids) keeps at least `months` of its claimed shelf life on the
           date at `on` ({file, path})
  consistent
           the value at `path` is the same in every item of `items` that has it (e.g. a proper name)
  consistency
           the semantic rule `rule` of rules/ (the one validate runs) finds nothing in the dossier
  qp_declaration_sites
           every QP declaration on an active substance (declarations at `path` of the file `file`) lists,
           in Part A, every site making that substance or one of its intermediates (roles.intermediates_of)
  qp_declaration_signatory
           the UK QP declaration: the EU one reused only when its QP certifies UK batches in the EEA,
           else the UK QP's own declaration (markets/uk.yaml qp_declarations) signed at the UK release site
  elemental_impurities
           every product has its ICH Q3D risk assessment summary (control.elemental_impurities): Class 1
           and 2A elements considered, and each element above the 30 % control threshold controlled by a
           test of the product's specification
  irp_recognition
           the UK IRP route against the Recognition B criteria (regional/uk/irp-recognition-b.yaml)
  stability_claims
           the stability claims checked against the data (shelflife.py), by `aspect`: shelf_life (a
           period beyond what the data support under ICH Q1E/Q5C), shelf_life_justified (the same,
           with the applicant's justification), light (photostability study), in_use (in-use study),
           oos and oot (stability results outside the criterion or the trend)
  specification_criteria
           the specification criteria checked (specchecks.py), by `aspect`: shelf_life_wider (a
           shelf-life criterion wider than release, justified), batch_experience (a release limit
           far beyond the batches' results)

`items` is {kind, path, where}; `where` matches a field against a value, a list of values,
{">=": n} / {"<=": n}, {"not_in": [...]}, or {"present": true|false}; fields may be derived
(`@months_of_data`, `@validation_status`). A finding names the YAML place where the data belongs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .clock import today
from .errors import Location
from .markets import MARKET, market_roles
from .model import BIOLOGICAL_MOLECULES, Model, results_by_study, select

CHECKS: dict = {}
REQUIRED_KEYS = {"exists": ("file", "path"), "every": ("items",), "in_list": ("items", "field", "values"),
                 "recent": ("items", "field", "years"), "covers": ("items", "within"),
                 "count_at_least": ("items", "group_by", "groups", "min"), "translated": ("kinds",),
                 "remaining_shelf_life": ("items", "on", "months"), "consistent": ("items", "path"),
                 "irp_recognition": ("triggers",), "consistency": ("rule",),
                 "stability_claims": ("aspect",), "supplied": ("market", "heading"),
                 "specification_criteria": ("aspect",), "qp_declaration_sites": ("file",),
                 "qp_declaration_signatory": (), "elemental_impurities": ()}
EMPTY = (None, "", [], {})


@dataclass(frozen=True)
class Outcome:
    """What one check examined: how many items, the failures, and where absent items belong."""

    checked: int
    findings: tuple[tuple[Location, str], ...] = ()
    empty_at: Location | None = None
    noun: str = "items"
    notes: tuple[str, ...] = field(default=())


def check_kind(name: str):
    """Register a check kind under its name."""
    def register(func):
        CHECKS[name] = func
        return func
    return register


def run_check(model: Model, check: dict) -> Outcome:
    """Return the outcome of one check of a rule."""
    return CHECKS[check["kind"]](model, check)


def describe(spec: dict, fallback: str = "items") -> str:
    """Return a plain description of an item set, e.g. 'sites (role batch_release, country GB)'."""
    where = spec.get("where", {})
    parts = []
    for key, wanted in where.items():
        if isinstance(wanted, dict) and "not_in" in wanted:
            names = wanted["not_in"]
            shown = "outside the " + names if isinstance(names, str) else \
                "outside " + (", ".join(map(str, names)) if len(names) <= 6 else f"{len(names)} listed values")
        elif isinstance(wanted, dict):
            shown = " ".join(f"{op} {v}" for op, v in wanted.items())
        elif wanted is True or wanted is False:
            parts.append(("" if wanted else "not ") + key.removeprefix("@").replace("_", " "))
            continue
        elif isinstance(wanted, list):
            shown = " or ".join("none" if v is None else str(v) for v in wanted) if len(wanted) <= 6 else f"one of {len(wanted)} values"
        else:
            shown = str(wanted)
        parts.append(f"{key.removeprefix('@').replace('_', ' ')} {shown}")
    name = spec.get("name") or fallback
    return f"{name} ({'; '.join(parts)})" if parts else name


def market_of(model) -> str | None:
    """Return the market whose rules are evaluated, noting the read on a recording model (reuse.py)."""
    note = getattr(type(model), "note_market", None)
    if note is not None:
        note(model)
    return MARKET.get()


def items(model: Model, spec: dict) -> list[tuple[object, Location]]:
    """Return (item, location) for {kind, path, where}: mappings, or ids (strings) in a list."""
    found = []
    for source in model.dossier.of_kind(spec["kind"]):
        for value, container, key in select(source.data, tuple(spec.get("path", ()))):
            if isinstance(value, dict) and matches(value, spec.get("where", {}), model):
                found.append((value, model.dossier.location_of(value)))
            elif isinstance(value, str) and (not spec.get("where") or matches(_entity(model, value), spec["where"], model)):
                found.append((value, model.dossier.location_of(container, key)))
    return found


def home(model: Model, spec: dict) -> Location:
    """Return where the items of a spec belong: the container in its file, or the file itself."""
    from .load import FILE_KINDS

    files = model.dossier.of_kind(spec["kind"])
    if not files:
        pattern = next(p for p, k in FILE_KINDS if k == spec["kind"])
        return Location(f"{model.dossier.label}/{pattern}")
    data, path = files[0].data, [p for p in spec.get("path", ()) if p != "*"]
    for part in path:  # down to the deepest container that exists (the list the items belong in)
        if not isinstance(data, dict) or not isinstance(data.get(part), (dict, list)):
            break
        data = data[part]
    return model.dossier.location_of(data)


def matches(item: dict, where: dict, model: Model | None = None) -> bool:
    """Return whether an item satisfies every condition of a `where`."""
    for key, wanted in where.items():
        if key == "role_in":
            if not any(r.get("role") in wanted for r in market_roles(item, market_of(model))):
                return False
            continue
        value = DERIVED[key](model, item) if key.startswith("@") else get(item, key)
        if not _meets(value, wanted):
            return False
    return True


NAMED_SETS = {}  # filled below: "EEA", "EEA+MRA" stand for those country lists in a `where`


def _members(wanted):
    """Return the values a `where` names: a list, a named set, or one value."""
    if isinstance(wanted, str) and wanted in NAMED_SETS:
        return NAMED_SETS[wanted]
    return wanted if isinstance(wanted, (list, tuple)) else [wanted]


def _meets(value, wanted) -> bool:
    if isinstance(wanted, dict):
        if "not_in" in wanted:
            return value not in _members(wanted["not_in"])
        if "present" in wanted:
            return (value not in EMPTY) == wanted["present"]
        return all(isinstance(value, (int, float)) and _compare(op, value, limit) for op, limit in wanted.items())
    return value in _members(wanted)


def _compare(op: str, value: float, limit: float) -> bool:
    return {">=": value >= limit, "<=": value <= limit, ">": value > limit, "<": value < limit}[op]


def _months_of_data(model: Model, study: dict) -> float:
    points = [r.get("time_point") for r in results_by_study(model).get(study.get("id"), [])]
    return max((p for p in points if isinstance(p, (int, float))), default=0)


BIOTECH = BIOLOGICAL_MOLECULES
EEA = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
       "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO")
# EU mutual recognition agreements on GMP inspections (operational for human medicines; scope
# varies by partner and product type): Australia, Canada, Israel, Japan, New Zealand, Switzerland,
# United Kingdom, United States. There is none with China or India.
EU_MRA = ("AU", "CA", "IL", "JP", "NZ", "CH", "GB", "US")


NAMED_SETS.update({"EEA": EEA, "EEA+MRA": EEA + EU_MRA})


def _biological(model: Model, substance: dict) -> bool:
    """A substance is biological unless chemically synthesised: a drug-linker, or any substance of
    a small-molecule, peptide or oligonucleotide product (ICH Q6A/Q11 versus Q5C/Q6B)."""
    from .roles import is_biological

    return is_biological(model, substance)


def _recognised_gmp(model: Model, site: dict) -> bool:
    """Whether a site holds GMP evidence (certificate or inspection, not a manufacturing licence)
    from an EEA authority or an EU MRA partner."""
    return any(isinstance(e, dict) and e.get("type") in ("certificate", "inspection")
               and e.get("authority_country") in EEA + EU_MRA for e in site.get("gmp_evidence", []) or [])


def _stored(model: Model, substance: dict) -> bool:
    """False for a substance that is never stored, being processed straight into the product
    (stability.yaml not_stored, with the justification): it needs no retest period or shelf life."""
    never = {e.get("subject") for e in model.single("stability").get("not_stored", []) or [] if isinstance(e, dict)}
    return substance.get("id") not in never


def _active_substance(model: Model, substance: dict) -> bool:
    from .roles import is_active_substance

    return is_active_substance(substance)


def _makes_active_substance(model: Model, site: dict) -> bool:
    """Whether a site manufactures an active substance (not only an intermediate of one): a
    drug_substance_manufacture role naming an active substance, or naming no subjects at all."""
    for r in site.get("roles") or []:
        if isinstance(r, dict) and r.get("role") == "drug_substance_manufacture":
            subjects = r.get("subjects")
            if not subjects:
                return True
            if any(_active_substance(model, _entity(model, s)) for s in subjects if isinstance(s, str)):
                return True
    return False


def _stability_period_kind(model: Model, substance: dict) -> str:
    """Return what the stability claims give a substance: retest_period, shelf_life_justified (a shelf
    life with its justification), shelf_life, or none."""
    claims = [c for c in model.single("stability").get("claims") or []
              if isinstance(c, dict) and c.get("subject") == substance.get("id")]
    kinds = {c.get("kind") for c in claims}
    if "retest_period" in kinds:
        return "retest_period"
    if any(c.get("kind") == "shelf_life" and c.get("justification") for c in claims):
        return "shelf_life_justified"
    return "shelf_life" if "shelf_life" in kinds else "none"


def _role(model: Model, substance: dict) -> str:
    from .roles import role_of

    return role_of(substance)


DERIVED = {
    "@months_of_data": _months_of_data,
    "@active_substance": _active_substance,
    "@makes_active_substance": _makes_active_substance,
    "@stability_period_kind": _stability_period_kind,
    "@role": _role,
    "@biological_or_intermediate": lambda model, s: _biological(model, s) or not _active_substance(model, s),
    "@validation_status": lambda model, method: (method.get("validation") or {}).get("status", "none"),
    "@biological": _biological,
    "@stored": _stored,
    "@eea_or_mra_gmp_evidence": _recognised_gmp,
}


def get(item, dotted: str):
    """Return the value at a dotted path of a mapping (None when any step is absent)."""
    for part in dotted.split("."):
        item = item.get(part) if isinstance(item, dict) else None
    return item


def label(item) -> str:
    """Return how a finding names an item: its id, or the id it refers to."""
    if isinstance(item, str):
        return item
    return str(item.get("id") or item.get("site") or item.get("reference") or item.get("material")
               or item.get("substance") or "item")


def _entity(model: Model, eid: str) -> dict:
    entity = model.get(eid)
    return entity.data if entity else {}


def resolve(model: Model, item, via: str | None) -> dict:
    """Return the item, or the entity it names (a string id, or the id in its field `via`)."""
    if isinstance(item, str):
        return _entity(model, item)
    return _entity(model, get(item, via)) if via else item


def _over(model: Model, check: dict, noun: str, failure) -> Outcome:
    """Apply failure(item) -> detail or None to each item of check['items']."""
    found = items(model, check["items"])
    findings = []
    for item, location in found:
        detail = failure(item)
        if detail:
            findings.append((location, detail))
    return Outcome(len(found), tuple(findings), home(model, check["items"]), describe(check["items"], noun))


@check_kind("exists")
def check_exists(model: Model, check: dict) -> Outcome:
    files = model.dossier.of_kind(check["file"])
    dotted = ".".join(check["path"])
    if not files:
        where = home(model, {"kind": check["file"]})
        return Outcome(1, ((where, f"there is no {where.file.split('/', 1)[-1]}, so {dotted} is not given"),), noun=dotted)
    data = parent = files[0].data
    for part in check["path"][:-1]:
        parent = parent.get(part, {}) if isinstance(parent, dict) else {}
    if get(data, dotted) in EMPTY:
        place = model.dossier.location_of(parent if isinstance(parent, dict) and parent else data)
        return Outcome(1, ((place, f"{dotted} is not given"),), noun=dotted)
    return Outcome(1, noun=dotted)


@check_kind("every")
def check_every(model: Model, check: dict) -> Outcome:
    required, choices = check.get("require", []), check.get("any_of", [])

    def failure(item):
        target = resolve(model, item, check.get("via"))
        absent = [f for f in required if get(target, f) in EMPTY]
        if choices and all(get(target, f) in EMPTY for f in choices):
            absent.append(" or ".join(choices))
        return f"'{label(item)}' has no {', '.join(absent)}" if absent else None
    return _over(model, check, "items", failure)


@check_kind("in_list")
def check_in_list(model: Model, check: dict) -> Outcome:
    accepted = check["values"]
    name = check.get("values_name", "the accepted values")

    def failure(item):
        target = resolve(model, item, check.get("via"))
        if check.get("any"):
            values = [v for v, _, _ in select(target, tuple(check["field"].split(".")))]
            return None if any(v in accepted for v in values) else \
                f"'{label(item)}': no {check['field']} among {name}" + (f" (has {_shown(values)})" if values else "")
        field = check["field"]
        value = DERIVED[field](model, target) if field.startswith("@") else get(target, field)
        if value in accepted:
            return None
        if field.startswith("@") and isinstance(value, str):
            return f"'{label(item)}' has no {name}; it has {value.replace('_', ' ')}"
        if field.startswith("@"):
            return f"'{label(item)}' has no {name}" if value is False else f"'{label(item)}' is not {name}"
        return f"'{label(item)}': {check['field']} is {_shown(value)}, not {name}"
    return _over(model, check, "items", failure)


def _shown(value) -> str:
    """Return a value as a person writes it: 'ph_eur 2.2.29, usp <621>', never a Python repr."""
    if value in EMPTY:
        return "not given"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_shown(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    return str(value)


@check_kind("recent")
def check_recent(model: Model, check: dict) -> Outcome:
    limit = check["years"] * 365.25

    def failure(item):
        value = get(item, check["field"])
        try:
            age = (today() - dt.date.fromisoformat(value)).days
        except (TypeError, ValueError):
            return f"'{label(item)}' has no valid {check['field']} date"
        return f"'{label(item)}' dated {value} is more than {check['years']} years old" if age > limit else None
    return _over(model, check, "items", failure)


@check_kind("covers")
def check_covers(model: Model, check: dict) -> Outcome:
    present = set()
    for source in model.dossier.of_kind(check["within"]["kind"]):
        present |= {v for v, _, _ in select(source.data, tuple(check["within"]["path"])) if isinstance(v, str)}
    within = check.get("within_name", check["within"]["kind"])
    return _over(model, check, "items", lambda item: None if label(item) in present else f"'{label(item)}' is not covered by {within}")


@check_kind("count_at_least")
def check_count_at_least(model: Model, check: dict) -> Outcome:
    counts: dict = {}
    for item, _ in items(model, check["items"]):
        key = get(resolve(model, item, None) if isinstance(item, str) else item, check["group_by"])
        counts[key] = counts.get(key, 0) + 1
    found, findings = [], []
    for groups in check["groups"]:
        for group, location in items(model, groups):
            found.append(group)
            count = counts.get(label(group), 0)
            if count < check["min"]:
                findings.append((location, f"'{label(group)}' has {count} {check.get('items_name', 'matching items')}; "
                                           f"at least {check['min']} are needed"))
    return Outcome(len(found), tuple(findings), home(model, check["groups"][0]), describe(check["groups"][0], "entities"))


@check_kind("translated")
def check_translated(model: Model, check: dict) -> Outcome:
    """Count the texts of the files of `kinds` a Chinese dossier lacks (translation.pending): narratives,
    short texts (names, criteria, containers, method and parameter names) and the free text of result
    CSVs; allowed Latin terms and fields kept in the original are not counted. One finding per file."""
    from .translation import pending, units

    every = [u for u in units(model.dossier) if model.dossier.files[u.rel].kind in check["kinds"]]
    by_file: dict[str, list] = {}
    for unit in pending(model.dossier, every):
        by_file.setdefault(unit.rel, []).append(unit)
    findings = tuple((model.dossier.locate(rel, found[0].path),
                      f"{len(found)} text(s) in {rel} have no Chinese (zh) text, the first here ({found[0].en[:60]!r})")
                     for rel, found in by_file.items())
    return Outcome(len(every), findings, Location(model.dossier.label), "texts")


@check_kind("remaining_shelf_life")
def check_remaining_shelf_life(model: Model, check: dict) -> Outcome:
    files = model.dossier.of_kind(check["on"]["file"])
    on = get(files[0].data, ".".join(check["on"]["path"])) if files else None
    try:
        when = dt.date.fromisoformat(on)
    except (TypeError, ValueError):
        where = home(model, {"kind": check["on"]["file"], "path": check["on"]["path"]})
        return Outcome(1, ((where, f"{'.'.join(check['on']['path'])} is not a date, so the remaining shelf life cannot be computed"),))
    claims = {c.get("subject"): c for c in model.single("stability").get("claims", []) or [] if isinstance(c, dict)}

    def failure(item):
        batch = resolve(model, item, None)
        claim = claims.get(batch.get("subject"))
        from .periods import claim_period

        period = claim_period(claim)
        if period is None:
            return f"'{label(item)}': its subject '{batch.get('subject')}' has no shelf-life claim with a period"
        try:
            made = dt.date.fromisoformat(batch.get("date"))
        except (TypeError, ValueError):
            return f"'{label(item)}' has no manufacturing date"
        if period.unit == "months" and period.value == int(period.value):
            left = int(period.value) - (when.year - made.year) * 12 - (when.month - made.month) - (when.day < made.day)
        else:  # a period in hours, days or weeks: what is left of it, in months
            left = round(((made - when).days * 24 + period.hours) / (24 * 365.25 / 12), 1)
        return None if left >= check["months"] else \
            f"'{label(item)}' has {left} months of shelf life left on {on}; at least {check['months']} are needed"
    return _over(model, check, "batches", failure)


@check_kind("consistent")
def check_consistent(model: Model, check: dict) -> Outcome:
    found = items(model, check["items"])
    values = [(get(item, check["path"]), location) for item, location in found if get(item, check["path"]) not in EMPTY]
    first = values[0][0] if values else None
    findings = tuple((location, f"{check['path']} is '{value}' here but '{first}' at {values[0][1]}")
                     for value, location in values[1:] if value != first)
    return Outcome(len(values), findings, home(model, check["items"]), describe(check["items"], "items"))


@check_kind("irp_recognition")
def check_irp_recognition(model: Model, check: dict) -> Outcome:
    """The IRP route claimed in markets/uk.yaml against the Recognition B criteria (a data file
    beside the rule pack): every criterion assessed, derived ones read from the data, and
    Recognition A only when none applies."""
    from .paths import REGIONAL, project_yaml

    criteria = project_yaml((REGIONAL / "uk" / check["triggers"]).read_text("utf-8"))
    route = model.single("market-uk").get("route") or {}
    where = model.dossier.location_of(route) if route else home(model, {"kind": "market-uk"})
    known = {t["id"]: t for t in criteria["triggers"]}
    declared = route.get("recognition_b_triggers")
    if not isinstance(declared, list):
        return Outcome(1, ((where, "route.recognition_b_triggers is not given: the Recognition B criteria are not assessed"),), noun="IRP route")
    findings = [(where, f"'{t}' is not a Recognition B criterion") for t in declared if t not in known]
    applying = [t for t in declared if t in known] + _derived_triggers(model, route, criteria)
    age = _approval_age(model, route)
    if age is not None and age > criteria["approval_age_years"]["eligible"]:
        findings.append((where, f"the reference approval is {age:.1f} years old: older than 10 years is not eligible for IRP"))
    if route.get("recognition") == "A" and applying:
        findings.append((where, "Recognition A is claimed but Recognition B applies: "
                         + "; ".join(known[t]["text"] for t in dict.fromkeys(applying))))
    return Outcome(1, tuple(findings), noun="IRP route")


def _approval_age(model: Model, route: dict) -> float | None:
    try:
        return (today() - dt.date.fromisoformat(route.get("reference_approval_date"))).days / 365.25
    except (TypeError, ValueError):
        return None


def _derived_triggers(model: Model, route: dict, criteria: dict) -> list[str]:
    """Return the Recognition B criteria the data show by themselves."""
    found = []
    if model.single("application").get("molecule_type") in ("car_t", "gene_therapy"):
        found.append("atmp")
    age = _approval_age(model, route)
    if age is not None and age > criteria["approval_age_years"]["recognition_a"]:
        found.append("approval-age")
    return found


@check_kind("consistency")
def check_consistency(model: Model, check: dict) -> Outcome:
    """A semantic rule of validate, over every data file of the dossier: each problem it finds
    (an error, or a warning such as a result outside its specification) is a finding."""
    from .rules import BY_ID, run_rule

    findings = tuple((p.location or Location(model.dossier.label), p.message) for p in run_rule(check["rule"], model))
    scope = BY_ID[check["rule"]].scope
    if scope:  # a rule about some entities only: n/a without them (the pack entry's when_empty)
        return Outcome(max(scope[0](model), len(findings)), findings, Location(model.dossier.label), scope[1])
    return Outcome(len(model.dossier.files), findings, Location(model.dossier.label), "data files")


@check_kind("stability_claims")
def check_stability_claims(model: Model, check: dict) -> Outcome:
    from .shelflife import findings

    checked, found, noun = findings(model, check["aspect"])
    return Outcome(checked, tuple(found), home(model, {"kind": "stability", "path": ["claims", "*"]}), noun)


@check_kind("supplied")
def check_supplied_present(model: Model, check: dict) -> Outcome:
    """The documents of supplied/supplied.yaml for `market` under `heading` (at `stage`, when given; for a
    US form, those whose id or title `mentions` the form): none examined means the document is missing."""
    from .supplied import KIND, entries

    mentions = str(check.get("mentions") or "").lower()
    listed = [e for e in entries(model) if e.get("market") == check["market"] and e.get("heading") == check["heading"]
              and (not check.get("stage") or check["stage"] in (e.get("stages") or ("ind", "marketing")))
              and (not mentions or mentions in f"{e.get('id')} {e.get('title')}".lower())]
    return Outcome(len(listed), empty_at=home(model, {"kind": KIND, "path": ["documents", "*"]}),
                   noun="supplied documents")


@check_kind("specification_criteria")
def check_specification_criteria(model: Model, check: dict) -> Outcome:
    from .specchecks import findings

    checked, found, noun = findings(model, check["aspect"])
    return Outcome(checked, tuple(found), home(model, {"kind": "specification", "path": ["tests", "*"]}), noun)


@check_kind("qp_declaration_sites")
def check_qp_declaration_sites(model: Model, check: dict) -> Outcome:
    from .roles import intermediates_of, is_active_substance, sites_making

    path = tuple(check.get("path", ("qp_declarations", "*")))
    market = check["file"].removeprefix("market-")  # the sites that supply this market
    making = lambda ids, roles=("drug_substance_manufacture", "intermediate_manufacture", "cell_processing"): \
        sites_making(model, ids, roles, market)
    findings, checked = [], 0
    for source in model.dossier.of_kind(check["file"]):
        for entry, _, _ in select(source.data, path):
            substance = model.get(entry.get("substance"), "substance") if isinstance(entry, dict) else None
            if substance is None or not is_active_substance(substance.data):
                continue
            listed = {s.get("site") for s in entry.get("sites") or [] if isinstance(s, dict)}
            own = making([substance.id], ("drug_substance_manufacture", "cell_processing"))
            for intermediate in intermediates_of(model, substance.id):
                for site in making([intermediate]):
                    if site not in own:
                        own.append(site)
            made_of = {site: [i for i in intermediates_of(model, substance.id) if site in making([i])]
                       for site in own}
            for site in own:
                checked += 1
                if site not in listed:
                    what = ("which makes the intermediate " + ", ".join(made_of[site])) if made_of[site] and \
                        site not in making([substance.id], ("drug_substance_manufacture", "cell_processing")) else "which makes it"
                    place = model.dossier.location_of(entry.get("sites") if isinstance(entry.get("sites"), list) else entry)
                    findings.append((place, f"the declaration '{entry.get('reference') or substance.id}' on {substance.id} "
                                            f"does not list {site} in Part A ({what})"))
    name = "sites making an active substance or its intermediates, per declaration"
    return Outcome(checked, tuple(findings), home(model, {"kind": check["file"], "path": list(path)}), name)


@check_kind("qp_declaration_signatory")
def check_qp_declaration_signatory(model: Model, check: dict) -> Outcome:
    uk = model.single("market-uk")
    where = home(model, {"kind": "market-uk"})
    release = uk.get("batch_release_site")
    site = model.get(release, "site") if isinstance(release, str) else None
    country = get(site.data, "address.country") if site else None
    if uk.get("qp_declaration_from_eu") is True:
        if country in EEA:
            return Outcome(1, noun="the UK QP declaration")
        shown = f"{release} is in {country}" if site else "no batch-release site is named"
        where = model.dossier.location_of(uk, "qp_declaration_from_eu")
        return Outcome(1, ((where, f"qp_declaration_from_eu is true but the EU declaration's QP does not certify UK "
                                   f"batches ({shown}, not in the EEA): add the UK QP's own declaration "
                                   f"(qp_declarations in markets/uk.yaml) and set qp_declaration_from_eu false"),),
                       noun="the UK QP declaration")
    own = [e for e in uk.get("qp_declarations") or [] if isinstance(e, dict)]
    if not own:
        return Outcome(0, (), where, "the UK QP's own declarations (qp_declarations in markets/uk.yaml; "
                                     "or qp_declaration_from_eu true with an EEA batch-release site)")
    findings = []
    for entry in own:
        signed_at = get(entry, "qp.site")
        if signed_at != release:
            findings.append((model.dossier.location_of(entry.get("qp") if isinstance(entry.get("qp"), dict) else entry),
                             f"the declaration '{entry.get('reference')}' is signed by the QP of {signed_at or 'no site'}, "
                             f"not of the UK batch-release site {release or '(none named)'}"))
    return Outcome(len(own), tuple(findings), where, "the UK QP's own declarations")


Q3D_ALWAYS = ("Cd", "Pb", "As", "Hg", "Co", "V", "Ni")  # ICH Q3D(R2) Table 5.1: Class 1 and 2A, every route
Q3D_CONTROL_THRESHOLD = 30.0  # % of the PDE (ICH Q3D(R2) §5.5)


@check_kind("elemental_impurities")
def check_elemental_impurities(model: Model, check: dict) -> Outcome:
    def failure(product):
        summary = get(product, "control.elemental_impurities")
        if not isinstance(summary, dict):
            return f"'{label(product)}' has no elemental impurities risk assessment summary (control.elemental_impurities)"
        elements = [e for e in summary.get("elements") or [] if isinstance(e, dict)]
        problems = []
        absent = [e for e in Q3D_ALWAYS if e not in {x.get("element") for x in elements}]
        if absent:
            problems.append(f"Class 1 and 2A elements not considered: {', '.join(absent)}")
        spec = _entity(model, get(product, "control.specification")) if isinstance(get(product, "control.specification"), str) else {}
        tests = {t.get("id") for t in spec.get("tests") or [] if isinstance(t, dict)}
        for e in elements:
            level = e.get("percent_of_pde")
            if isinstance(level, (int, float)) and level > Q3D_CONTROL_THRESHOLD and e.get("test") not in tests:
                problems.append(f"{e.get('element')} at {level:g} % of the PDE is above the control threshold "
                                f"({Q3D_CONTROL_THRESHOLD:g} %) and no test of the specification controls it")
        return f"'{label(product)}': " + "; ".join(problems) if problems else None
    return _over(model, {**check, "items": {"kind": "product", "path": [], "name": "products"}}, "products", failure)
