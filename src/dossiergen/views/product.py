"""Views of the drug product documents (3.2.P, templates p-*.md.j2), computed here.

Conventions (views/__init__.py): data texts stay `Text` (printed, and checked for translation, where
the template prints them); fixed words come from c.t(); a label with {placeholders} is filled by
`fill` (its Text parts still print lazily); rows are tuples of cells; "–" for an optional value not
given, Missing(path) for a required one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import tables
from . import ViewContext, view
from .substance import supplies
from .types import Address, Joined, Limit, Missing, Quantity, Text

DASH = "–"


def fill(label: str, **values) -> Joined:
    """Return a label with its {name} placeholders replaced by values (strings, Texts, Joined)."""
    parts = re.split(r"(\{\w+\})", label)
    return Joined(tuple(values[p[1:-1]] if p.startswith("{") and p[1:-1] in values else p for p in parts if p))


def site_text(c: ViewContext, site_id) -> Text | str:
    """Return a site's legal name (printed in the document language), or its id if unknown."""
    site = c.get(site_id)
    return Text.of(site.get("legal_name")) if site else str(site_id)


def component_name(c: ViewContext, component_id, removed: bool) -> Text | Joined | str:
    """Return the name of a composition component (substance or excipient), marked when it is
    removed during the process."""
    entity = c.get(component_id)
    if "substance" in entity:
        name = Text.of(entity["substance"])
    elif "name" in entity:
        name = Text.of(entity["name"])
    else:
        name = component_id
    return Joined((name, c.t("p_removed_mark"))) if removed else name


def strength_label(product: dict, strength_id) -> Text | str:
    """Return the label of a product strength by id (the id itself if unknown)."""
    return next((Text.of(s.get("label")) for s in product.get("strengths") or [] if s.get("id") == strength_id), strength_id)


def step_text(c: ViewContext, steps: list, step_id) -> Joined | str:
    """Return 'Step 3 Granulation' for a process step id (the id itself if unknown)."""
    step = next((s for s in steps if s.get("id") == step_id), None)
    return Joined((f"{c.t('step')} {step.get('number')} ", Text.of(step.get("name")))) if step else step_id


def process_steps(product: dict) -> list:
    return ((product.get("manufacture") or {}).get("process") or {}).get("steps") or []


# 3.2.P.1 --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CompositionTable:
    header: tuple
    rows: tuple
    caption: Joined
    widths: tuple


@dataclass(frozen=True)
class DescriptionView:
    description: object        # Text (Markdown), NotApplicable or Missing
    routes: str
    strengths_header: tuple
    strengths: tuple           # rows: label, amount, unit of presentation[, fill volume]
    strengths_widths: tuple
    composition: tuple[CompositionTable, ...]
    overages: object           # Text (Markdown) or None
    container_closure: Joined  # the sentence naming the primary packaging


@view("p-1")
def description(c: ViewContext) -> DescriptionView:
    product = c.scope("product")
    routes = c.t("p_list_sep").join(c.t("p_route_" + r) for r in product.get("routes") or [])
    strengths = product.get("strengths") or []
    with_fill = any("fill_volume" in s for s in strengths)
    header = (c.t("strength"), c.t("p_1_amount"), c.t("p_1_unit_of_presentation")) + ((c.t("p_1_fill_volume"),) if with_fill else ())
    rows = tuple((Text.of(s.get("label")), c.qty(s.get("amount")), Text.of(s.get("unit_of_presentation")))
                 + ((c.qty(s["fill_volume"]) if "fill_volume" in s else DASH,) if with_fill else ()) for s in strengths)
    groups = tables.chunks(strengths, 3)
    composition = []
    for group in groups:
        head = (c.t("component"), c.t("function"), c.t("quality_standard")) + tuple(
            c.t("p_1_qty_per_strength").replace("{strength}", c.tx(s.get("label"))) for s in group)
        body = tuple((component_name(c, x.get("component"), bool(x.get("removed_during_process"))), Text.of(x.get("function")),
                      x.get("standard"))
                     + tuple(c.qty(x["quantities"][s["id"]]) if s.get("id") in (x.get("quantities") or {}) else DASH for s in group)
                     for x in product.get("composition") or [])
        if len(groups) > 1:
            caption = fill(c.t("p_1_composition_caption_group"), product=Text.of(product.get("name")),
                           strengths=c.t("p_enum_sep").join(c.tx(s.get("label")) for s in group))
        else:
            caption = fill(c.t("p_1_composition_caption"), product=Text.of(product.get("name")))
        composition.append(CompositionTable(head, body, caption, (4, 3, 2) + (2,) * len(group)))
    components = (product.get("container_closure") or {}).get("components") or []
    primary = [x for x in components if x.get("primary")] or components
    sentence = fill(c.t("p_1_cc_sentence"), components=Joined(tuple(Text.of(x.get("component")) for x in primary),
                                                                c.t("p_list_sep")), ref=c.ref("3.2.P.7"))
    return DescriptionView(c.narrative(product.get("description"), "description"), routes, header, rows,
                           (2, 2, 2, 2) if with_fill else (2, 2, 2), tuple(composition),
                           c.narrative(product["overages"], "overages") if "overages" in product else None, sentence)


# 3.2.P.2 --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DevelopmentStudy:
    title: Text
    design: Text | None
    step: object               # Joined ("Step 3 Granulation"), the step id, or None
    factors: tuple             # rows: factor, range studied, selected
    caption: Joined
    responses: tuple[Text, ...]
    outcome: object            # Text (Markdown) or Missing


@dataclass(frozen=True)
class DevelopmentView:
    drug_substance: object
    excipients: object
    formulation_development: object
    formulation_studies: tuple[DevelopmentStudy, ...]
    clinical_formulations: tuple  # rows: formulation, used in, differences, batches
    overages: object
    physicochemical_biological: object
    process_development: object
    process_studies: tuple[DevelopmentStudy, ...]
    container_closure: object
    microbiological: object
    compatibility: object


def _studies(c: ViewContext, studies: list, steps: list, kind: str) -> tuple[DevelopmentStudy, ...]:
    found = []
    for study in studies:
        factors = tuple((Text.of(f.get("name")), c.rng(f.get("studied")), f.get("selected", DASH)) for f in study.get("factors") or [])
        found.append(DevelopmentStudy(
            Text.of(study.get("title")), Text.of(study["design"]) if "design" in study else None,
            step_text(c, steps, study["step"]) if "step" in study else None, factors,
            fill(c.t("p_2_factors_caption"), study=Text.of(study.get("title"))),
            tuple(Text.of(r) for r in study.get("responses") or []),
            c.narrative(study.get("outcome"), f"development.{kind}.{study.get('id')}.outcome")))
    return tuple(found)


@view("p-2")
def development(c: ViewContext) -> DevelopmentView:
    product = c.scope("product")
    dev = product.get("development") or {}
    steps = process_steps(product)
    narrative = lambda key: c.narrative(dev.get(key), f"development.{key}")
    clinical = []
    for f in dev.get("clinical_formulations") or []:
        numbers = [c.get(b).get("number") if c.get(b) else b for b in f.get("batches") or []]
        clinical.append((f.get("formulation"), f.get("used_in"), Text.of(f.get("differences")),
                         c.t("p_enum_sep").join(str(n) for n in numbers) if numbers else DASH))
    return DevelopmentView(
        narrative("drug_substance"), narrative("excipients"), narrative("formulation_development"),
        _studies(c, dev.get("formulation_studies") or [], steps, "formulation_studies"), tuple(clinical),
        c.narrative(product.get("overages"), "overages"), narrative("physicochemical_biological"),
        narrative("process_development"), _studies(c, dev.get("process_studies") or [], steps, "process_studies"),
        narrative("container_closure"), narrative("microbiological"), narrative("compatibility"))


# 3.2.P.3.1 ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowsView:
    """A document that prints one table: its rows."""

    rows: tuple


@view("p-3-1")
def manufacturers(c: ViewContext) -> RowsView:
    product = c.scope("product")
    rows = []
    for entry in c.h.sites_for(product.get("id")):
        site = entry["site"]
        name = Joined((Text.of(site.get("legal_name")), ", ", Text.of(site["site_name"]))) if "site_name" in site \
            else Text.of(site.get("legal_name"))
        identifiers = site.get("identifiers") or {}
        ids = [f"{c.t('p_id_' + key)} {identifiers[key]}" for key in ("fei", "duns", "eu_mia", "uk_mia", "cn_licence")
               if key in identifiers]
        roles = []
        for r in entry["roles"]:
            detail = r["operations"] if "operations" in r else r.get("tests")
            label = c.t("p_role_" + r["role"])
            where = (" (" + supplies(c, r["markets"]) + ")",) if r.get("markets") else ()
            roles.append(Joined((label, ": ", Text.of(detail)) + where) if detail else Joined((label,) + where))
        rows.append((name, Address.of(site.get("address")), c.t("p_list_sep").join(ids) if ids else DASH,
                     Joined(tuple(roles), c.t("p_list_sep"))))
    return RowsView(tuple(rows))


# 3.2.P.3.2 ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchFormula:
    strength: str | None       # the strength label, when the formula is for one strength
    batch_size: str
    units: str | None          # "100,000" units per batch
    rows: tuple                # component, quantity
    caption: Joined


@dataclass(frozen=True)
class BatchFormulaView:
    formulas: tuple[BatchFormula, ...]


@view("p-3-2")
def batch_formula(c: ViewContext) -> BatchFormulaView:
    product = c.scope("product")
    removed = {x.get("component") for x in product.get("composition") or [] if x.get("removed_during_process")}
    formulas = []
    for f in (product.get("manufacture") or {}).get("batch_formula") or []:
        label = strength_label(product, f["strength"]) if "strength" in f else Text.of(product.get("name"))
        rows = tuple((component_name(c, x.get("component"), x.get("component") in removed), c.qty(x.get("quantity")))
                     for x in f.get("components") or [])
        formulas.append(BatchFormula(label if "strength" in f else None, c.qty(f.get("batch_size")),
                                     "{:,}".format(f["units"]) if "units" in f else None, rows,
                                     fill(c.t("p_3_2_caption"), strength=label)))
    return BatchFormulaView(tuple(formulas))


# 3.2.P.3.3 and 3.2.P.3.4 ---------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    heading: Joined            # "Step 3: Granulation"
    description: object        # Text (Markdown) or Missing
    equipment: Text | None
    hold_time: str | None
    parameters: tuple          # rows
    parameters_caption: Joined
    controls: tuple            # rows: test (procedure), criterion, type
    controls_caption: Joined
    missing: Missing | None    # 3.2.P.3.4: a critical step without parameters or controls


def _controls(c: ViewContext, step: dict) -> tuple:
    rows = []
    for x in step.get("in_process_controls") or []:
        proc = c.get(x["method"]) if "method" in x else {}
        test = Joined((Text.of(x.get("test")), f" ({proc.get('number')})")) if proc else Text.of(x.get("test"))
        rows.append((test, Text.of(x.get("criterion")), c.t(x["type"])))
    return tuple(rows)


def _step_heading(c: ViewContext, step: dict) -> Joined:
    return Joined((f"{c.t('step')} {step.get('number')}", c.t("s_colon"), Text.of(step.get("name"))))


def _step_label(step: dict) -> Joined:
    return Joined((f"{step.get('number')} ", Text.of(step.get("name"))))


@dataclass(frozen=True)
class ProcessView:
    summary: object
    batch_scale: str | None
    flow_diagram: Joined | None  # "caption (file)"
    steps: tuple[Step, ...]
    reprocessing: object       # Text (Markdown) or None


@view("p-3-3")
def process(c: ViewContext) -> ProcessView:
    product = c.scope("product")
    proc = (product.get("manufacture") or {}).get("process") or {}
    steps = []
    for step in proc.get("steps") or []:
        rows = []
        for p in step.get("parameters") or []:
            code = p["range"].get("unit") if "range" in p else p.get("unit", "")
            setting = ([c.unit(code)] if code else []) + ([Text.of(p["setting"])] if "setting" in p else [])
            rows.append((Text.of(p.get("name")), c.qty({"value": p["target"], "unit": ""}) if "target" in p else DASH,
                         c.rng({"low": p["range"].get("low"), "high": p["range"].get("high"), "unit": ""}) if "range" in p else DASH,
                         Joined(tuple(setting), c.t("p_list_sep")) if setting else DASH, c.t(p["criticality"])))
        label = _step_label(step)
        steps.append(Step(_step_heading(c, step),
                          c.narrative(step.get("description"), f"manufacture.process.steps.{step.get('id')}.description"),
                          Text.of(step["equipment"]) if "equipment" in step else None,
                          c.qty(step["hold_time"]) if "hold_time" in step else None, tuple(rows),
                          fill(c.t("p_3_3_parameters_caption"), step=label), _controls(c, step),
                          fill(c.t("p_3_3_ipc_caption"), step=label), None))
    flow = proc.get("flow_diagram")
    return ProcessView(c.narrative(proc.get("summary"), "manufacture.process.summary"),
                       c.qty(proc["batch_scale"]) if "batch_scale" in proc else None,
                       Joined((Text.of(flow.get("caption")), f" ({flow.get('file')})")) if flow is not None else None,
                       tuple(steps),
                       c.narrative(proc["reprocessing"], "manufacture.process.reprocessing") if "reprocessing" in proc else None)


@dataclass(frozen=True)
class CriticalStepsView:
    summary: object
    steps: tuple[Step, ...]
    intermediates: tuple | None  # rows: name, step, controls, storage (None: not given)


@view("p-3-4")
def critical_steps(c: ViewContext) -> CriticalStepsView:
    product = c.scope("product")
    cs = (product.get("manufacture") or {}).get("critical_steps") or {}
    all_steps = process_steps(product)
    steps = []
    for step in (s for s in all_steps if s.get("critical")):
        params = [p for p in step.get("parameters") or [] if p.get("criticality") in ("critical", "key")]
        rows = []
        for p in params:
            code = p["range"].get("unit") if "range" in p else p.get("unit", "")
            target = c.qty({"value": p["target"], "unit": code}) if "target" in p else (
                Text.of(p["setting"]) if "setting" in p else DASH)
            rows.append((Text.of(p.get("name")), target, c.rng(p["range"]) if "range" in p else DASH, c.t(p["criticality"])))
        controls = _controls(c, step)
        label = _step_label(step)
        steps.append(Step(_step_heading(c, step), None, None, None, tuple(rows),
                          fill(c.t("p_3_4_parameters_caption"), step=label), controls,
                          fill(c.t("p_3_3_ipc_caption"), step=label),
                          None if params or controls else Missing(f"manufacture.process.steps.{step.get('id')}.parameters")))
    intermediates = None
    if "intermediates" in cs:
        intermediates = tuple((Text.of(i.get("name")), step_text(c, all_steps, i.get("step")), Text.of(i.get("controls")),
                               Text.of(i["storage"]) if "storage" in i else DASH) for i in cs["intermediates"] or [])
    return CriticalStepsView(c.narrative(cs.get("summary"), "manufacture.critical_steps.summary"), tuple(steps), intermediates)


# 3.2.P.3.5 ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValidationView:
    summary: object
    batches: tuple             # rows: number, strength, site, scale, size, date
    studies: tuple             # rows: study, criterion, result, conclusion, report


@view("p-3-5")
def process_validation(c: ViewContext) -> ValidationView:
    product = c.scope("product")
    pv = (product.get("manufacture") or {}).get("process_validation") or {}
    batches = []
    for batch_id in pv.get("ppq_batches") or []:
        b = c.get(batch_id)
        if b:
            batches.append((b.get("number"), strength_label(product, b["strength"]) if "strength" in b else DASH,
                            site_text(c, b.get("site")), c.t("p_scale_" + b["scale"]), c.qty(b.get("size")), b.get("date")))
        else:
            batches.append((Missing(f"batches.{batch_id}"), "", "", "", "", ""))
    studies = tuple((Text.of(s.get("name")), Text.of(s.get("criterion")), Text.of(s.get("result")), c.t(s["conclusion"]),
                     Joined((f"{s['report'].get('number')} ", Text.of(s["report"].get("title")))) if "report" in s else DASH)
                    for s in pv.get("studies") or [])
    return ValidationView(c.narrative(pv.get("summary"), "manufacture.process_validation.summary"), tuple(batches), studies)


# 3.2.P.4 (one excipient) ----------------------------------------------------------------------

@dataclass(frozen=True)
class ExcipientView:
    """What the 3.2.P.4 documents of an excipient print (each template uses its part)."""

    function: Text | None
    supplier: Text | None
    grades: tuple              # rows: pharmacopoeia, monograph
    grades_caption: Joined
    monographs: tuple          # "Ph. Eur. Cellulose, microcrystalline" (a list)
    no_grades: object          # no grade and no specification: the pointer to 3.2.A.3 (novel) or Missing
    has_specification: bool    # an in-house specification is named
    spec_missing: Missing | None  # it is named but not found
    spec_title: Text | None
    spec_number: str | None
    spec_version: str
    spec_status: str
    spec_effective_date: str | None
    spec_rows: tuple           # rows: test, procedure, criterion
    method_rows: tuple         # rows: test, procedure number, procedure title, technique
    method_caption: Joined
    validation_rows: tuple     # rows: procedure, origin, validation status, report
    justification: object      # 3.2.P.4.4: the text, the compendial statement, or the pointer / Missing
    human_or_animal: bool      # 3.2.P.4.5: of human or animal origin (the pointer to 3.2.A.2 follows)
    origin: object             # 3.2.P.4.5 statement
    origin_statement: object   # Text (Markdown), Missing or None
    novel: object              # 3.2.P.4.6 statement
    novel_information: object
    adventitious_ref: str
    novel_ref: str


def _novel_or_missing(c: ViewContext, excipient: dict, what: str):
    return (c.t("p_4_novel_see_a3").replace("{ref}", c.ref("3.2.A.3")) if excipient.get("novel")
            else Missing(f"excipients.{excipient.get('id')}.{what}"))


@view("p-4-1", "p-4-2", "p-4-3", "p-4-4", "p-4-5", "p-4-6")
def excipient(c: ViewContext) -> ExcipientView:
    x = c.scope("excipient")
    xid, name = x.get("id"), Text.of(x.get("name"))
    has_spec = "specification" in x
    spec = c.get(x["specification"]) if has_spec else {}
    grades = x.get("grades") or []
    monographs = tuple(Joined((c.t("p_pharm_" + g["pharmacopoeia"]), " ", Text.of(g.get("monograph")))) for g in grades)
    spec_rows, method_rows, validation_rows = [], [], []
    seen = []
    for test in spec.get("tests") or []:
        proc = c.get(test.get("method"))
        title = Joined((f"{proc.get('number')} ", Text.of(proc.get("title")))) if proc else None
        spec_rows.append((Text.of(test.get("name")), title or test.get("method"), Limit.of(test.get("acceptance"))))
        method_rows.append((Text.of(test.get("name")), proc.get("number") if proc else test.get("method"),
                            Text.of(proc.get("title")) if proc else DASH, proc.get("technique") if proc else DASH))
        if test.get("method") in seen:
            continue
        seen.append(test.get("method"))
        if not proc:
            validation_rows.append((test.get("method"), DASH, Missing(f"methods.{test.get('method')}"), DASH))
        elif "validation" in proc:
            v = proc["validation"]
            report = Joined((f"{v['report'].get('number')} ", Text.of(v["report"].get("title")))) if "report" in v else DASH
            validation_rows.append((title, c.t("p_origin_" + proc["origin"]), c.t(v["status"]), report))
        else:
            validation_rows.append((title, c.t("p_origin_" + proc["origin"]),
                                    Missing(f"methods.{proc.get('id')}.validation") if proc.get("origin") == "in_house" else DASH, DASH))
    if "justification" in x and grades:  # what the added tests or limits add to the monographs
        justification = Joined((fill(c.t("p_4_compendial_basis"), monographs=Joined(monographs, c.t("p_list_sep"))), "\n\n",
                                c.narrative(x["justification"], f"excipients.{xid}.justification")))
    elif "justification" in x:
        justification = c.narrative(x["justification"], f"excipients.{xid}.justification")
    elif grades:
        justification = fill(c.t("p_4_compendial_justified"), monographs=Joined(monographs, c.t("p_list_sep")))
    elif x.get("novel") and not has_spec:
        justification = c.t("p_4_novel_see_a3").replace("{ref}", c.ref("3.2.A.3"))
    else:
        justification = Missing(f"excipients.{xid}.justification")
    human = bool(x.get("human_or_animal_origin"))
    origin_statement = None
    if "origin_statement" in x:
        origin_statement = c.narrative(x["origin_statement"], f"excipients.{xid}.origin_statement")
    elif human:
        origin_statement = Missing(f"excipients.{xid}.origin_statement")
    novel_information = None
    if x.get("novel"):
        novel_information = (c.narrative(x["novel_information"], f"excipients.{xid}.novel_information")
                             if "novel_information" in x else Missing(f"excipients.{xid}.novel_information"))
    return ExcipientView(
        Text.of(x["function"]) if "function" in x else None, Text.of(x["supplier"]) if "supplier" in x else None,
        tuple((c.t("p_pharm_" + g["pharmacopoeia"]), Text.of(g.get("monograph"))) for g in grades),
        fill(c.t("p_4_grades_caption"), excipient=name), monographs,
        _novel_or_missing(c, x, "grades") if not grades else None, has_spec,
        Missing(f"excipients.{xid}.specification") if has_spec and not spec else None,
        Text.of(spec.get("title")) if spec else None,
        spec.get("number"), str(spec.get("version")), c.t(spec["status"]) if "status" in spec else "", spec.get("effective_date"),
        tuple(spec_rows), tuple(method_rows), Joined((c.t("p_4_inhouse_methods_caption"), ": ", Text.of(spec.get("title")))),
        tuple(validation_rows), justification, human,
        fill(c.t("p_4_human_animal" if human else "p_4_not_human_animal"), excipient=name), origin_statement,
        fill(c.t("p_4_novel" if x.get("novel") else "p_4_not_novel"), excipient=name), novel_information,
        c.t("p_4_adventitious_ref").replace("{ref}", c.ref("3.2.A.2")), c.t("p_4_novel_ref").replace("{ref}", c.ref("3.2.A.3")))


# 3.2.P.5.5, 3.2.P.6 ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ImpuritiesView:
    rows: tuple                # name, type, origin, control, specification test
    ds_ref: str                # the pointer to 3.2.S.3.2
    q3d_intro: str = ""        # the ICH Q3D risk assessment: approach, route, sources ("" when not given)
    q3d_rows: tuple = ()       # element, class, PDE, highest level (% of PDE), against the control threshold
    q3d_conclusion: object = None  # Text (Markdown)


Q3D_THRESHOLD = 30  # % of the PDE, ICH Q3D(R2) §5.5


def _elemental(c: ViewContext, summary: dict, tests: dict, where: str):
    """Return the ICH Q3D summary of a product: intro sentence, element rows, conclusion."""
    if not isinstance(summary, dict):
        return "", (), None
    intro = (c.t("p_q3d_intro").replace("{approach}", c.t("p_q3d_approach_" + str(summary.get("approach"))))
             .replace("{route}", c.t("p_q3d_route_" + str(summary.get("route")))))
    if summary.get("maximum_daily_dose"):
        intro += " " + c.t("p_q3d_dose").replace("{dose}", c.qty(summary["maximum_daily_dose"]))
    if summary.get("sources"):
        intro += " " + c.t("p_q3d_sources").replace("{sources}", c.h.tx(summary["sources"]))
    rows = []
    for e in summary.get("elements") or []:
        level = e.get("percent_of_pde")
        if level is not None and level > Q3D_THRESHOLD:
            test = tests.get(e.get("test"))
            verdict = (c.t("p_q3d_above_controlled").replace("{test}", c.h.tx(test.get("name"))) if test
                       else Missing(f"{where}.elements (test controlling {e.get('element')})"))
        else:
            verdict = c.t("p_q3d_below")
        rows.append((e.get("element"), e.get("class"), Quantity.of(e["pde"]) if e.get("pde") else DASH,
                     c.qty({"value": level, "unit": "%"}) if level is not None else DASH, verdict))
    return intro, tuple(rows), c.narrative(summary.get("conclusion"), where + ".conclusion")


@view("p-5-5")
def impurities(c: ViewContext) -> ImpuritiesView:
    product = c.scope("product")
    control = product.get("control") or {}
    spec = c.get(control.get("specification"))
    tests = {t.get("id"): t for t in spec.get("tests") or []} if spec else {}
    rows = []
    for imp in control.get("impurities") or []:
        if "test" in imp:
            test = tests.get(imp["test"])
            cell = Text.of(test.get("name")) if test else imp["test"]
        else:
            cell = DASH
        rows.append((Text.of(imp.get("name")), c.t("p_imp_" + imp["type"]), Text.of(imp.get("origin")), Text.of(imp.get("control")), cell))
    intro, q3d_rows, conclusion = _elemental(c, control.get("elemental_impurities"), tests,
                                             "control.elemental_impurities")
    return ImpuritiesView(tuple(rows), c.t("p_5_5_ds_ref").replace("{ref}", _substance_ref(c, "3.2.S.3.2")), intro, q3d_rows, conclusion)


def _substance_ref(c: ViewContext, number: str) -> str:
    """Return the reference to a 3.2.S section of the product's drug substance: with several substance
    instances in the dossier (an ADC's antibody, drug-linker and conjugate), that of the substance in the
    product's composition, named; with one, the plain reference."""
    if len(c.model.of_type("substance")) < 2:
        return c.ref(number)
    ids = [comp.get("component") for comp in c.scope("product").get("composition") or [] if isinstance(comp, dict)]
    subjects = [i for i in ids if isinstance(i, str) and (c.model.get(i) or None) is not None and c.model.get(i).type == "substance"]
    return c.t("p_list_sep").join(c.ref(number, s) for s in subjects) if subjects else c.ref(number)


@dataclass(frozen=True)
class NarrativeView:
    text: object               # Text (Markdown), NotApplicable or Missing


@view("p-6")
def reference_standards(c: ViewContext) -> NarrativeView:
    return NarrativeView(c.narrative(c.scope("product").get("reference_standards"), "reference_standards"))
