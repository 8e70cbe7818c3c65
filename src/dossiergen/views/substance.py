"""Views of the drug substance documents (3.2.S, templates s-*.md.j2): what each prints, computed here.

Conventions (views/__init__.py): data texts stay `Text` (printed, and checked for translation, where
the template prints them); fixed words come from c.t(); rows are tuples of cells; an optional value
not given is NOT_GIVEN (a dash), a required one Missing(path).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ViewContext, view
from .construct import GENETIC_TYPES, construct_rows, element_rows
from ..text import Markdown, slugify
from .types import NOT_GIVEN, Address, Joined, Limit, Missing, NotApplicable, Quantity, Text


def _steps(substance: dict) -> dict:
    """Return the process steps of a substance by id."""
    steps = ((substance.get("manufacture") or {}).get("process") or {}).get("steps") or []
    return {s.get("id"): s for s in steps if isinstance(s, dict)}


# 3.2.S.2.2 -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcessStep:
    label: str                 # "Step 3" (used in table captions)
    heading: Joined            # "Step 3: Purification"
    critical: bool
    description: Text | Missing | NotApplicable
    equipment: Text | None
    hold_time: Quantity | None
    parameters: tuple          # rows: name, target, range, unit or setting, criticality
    controls: tuple            # rows: test, criterion, type, procedure number


@dataclass(frozen=True)
class ProcessView:
    summary: Text | Missing | NotApplicable
    batch_scale: Quantity | None
    flow_diagram: Joined | None  # caption (file: name)
    steps: tuple[ProcessStep, ...]
    reprocessing: Text | Missing | NotApplicable | None


@view("s-2-2")
def manufacturing_process(c: ViewContext) -> ProcessView:
    process = (c.scope("substance").get("manufacture") or {}).get("process") or {}
    where = "manufacture.process"
    flow = process.get("flow_diagram")
    steps = []
    for i, step in enumerate(process.get("steps") or []):
        label = f"{c.t('step')} {step.get('number')}"
        parameters = []
        here = f"{where}.steps[{i}]"
        for j, p in enumerate(step.get("parameters") or []):
            if "setting" in p:
                how = Text.of(p["setting"], f"{here}.parameters[{j}].setting")
            else:
                how = c.unit(p["range"].get("unit") if "range" in p else p.get("unit", "")) or NOT_GIVEN
            parameters.append((Text.of(p.get("name"), f"{here}.parameters[{j}].name"),
                               c.qty({"value": p["target"], "unit": ""}) if "target" in p else NOT_GIVEN,
                               c.rng({"low": p["range"].get("low"), "high": p["range"].get("high"), "unit": ""})
                               if "range" in p else NOT_GIVEN,
                               how or NOT_GIVEN, c.t(p.get("criticality"))))
        controls = tuple((Text.of(ipc.get("test"), f"{here}.in_process_controls[{k}].test"),
                          Text.of(ipc.get("criterion"), f"{here}.in_process_controls[{k}].criterion"), c.t(ipc.get("type")),
                          c.get(ipc["method"]).get("number") or NOT_GIVEN if "method" in ipc else NOT_GIVEN)
                         for k, ipc in enumerate(step.get("in_process_controls") or []))
        steps.append(ProcessStep(
            label, Joined((label, c.t("s_colon"), Text.of(step.get("name"), f"{here}.name"))), bool(step.get("critical")),
            c.narrative(step.get("description"), f"{here}.description"),
            Text.of(step["equipment"], f"{here}.equipment") if "equipment" in step else None,
            Quantity.of(step["hold_time"]) if "hold_time" in step else None, tuple(parameters), controls))
    return ProcessView(
        c.narrative(process.get("summary"), f"{where}.summary"),
        Quantity.of(process["batch_scale"]) if "batch_scale" in process else None,
        Joined((Text.of(flow.get("caption"), f"{where}.flow_diagram.caption"), f" ({c.t('s_file')}{c.t('s_colon')}{flow.get('file')})")) if flow else None,
        tuple(steps),
        c.narrative(process["reprocessing"], f"{where}.reprocessing") if "reprocessing" in process else None)


# 3.2.S.1 -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowsView:
    """A document that prints one table: its rows."""

    rows: tuple


@view("s-1-1")
def nomenclature(c: ViewContext) -> RowsView:
    """Names and codes; the INN is Latin script, a Chinese document adds the Chinese name and pinyin."""
    nom = ((c.scope("substance").get("general") or {}).get("nomenclature")) or {}
    inn = nom.get("inn")
    rows = [(c.t("s_inn"), inn.get("en") if isinstance(inn, dict) else inn)]
    if c.lang == "zh":
        rows.append((c.t("s_chinese_name"), inn["zh"] if isinstance(inn, dict) and inn.get("zh")
                     else Missing("general.nomenclature.inn.zh")))
        rows.append((c.t("s_pinyin"), nom["pinyin"] if "pinyin" in nom else Missing("general.nomenclature.pinyin")))
    for key in ("usan", "us_proper_name", "compendial_name"):
        if key in nom:
            rows.append((c.t(f"s_{key}"), nom[key]))
    if "chemical_name" in nom:
        rows.append((c.t("s_chemical_name"), Text.of(nom["chemical_name"], "general.nomenclature.chemical_name")))
    for key in ("cas_number", "unii"):
        if key in nom:
            rows.append((c.t(f"s_{key}"), nom[key]))
    if nom.get("company_codes"):
        rows.append((c.t("s_company_codes"), ", ".join(str(x) for x in nom["company_codes"])))
    for i, other in enumerate(nom.get("other_names") or []):
        rows.append((c.t("s_other_names") if i == 0 else "", Text.of(other, f"general.nomenclature.other_names[{i}]")))
    return RowsView(tuple(rows))


@dataclass(frozen=True)
class Chain:
    caption: Joined            # "Amino acid sequence: <chain name>"
    rows: tuple                # residues "1–50", sequence in blocks of ten


@dataclass(frozen=True)
class StructureView:
    rows: tuple
    figure: Markdown | None    # the structure figure (general.structure.figure), numbered, its image attached
    show_chains: bool          # a protein: the chains heading is printed (with a table or a missing marker)
    chains: tuple              # rows: name, type, copies, length
    sequences: tuple[Chain, ...]
    chains_missing: Missing | None
    show_conjugate: bool
    conjugate: tuple           # rows: name, role, drug substance (with a reference to its 3.2.S)
    construct_elements: tuple = ()  # a vector or modified cells: cassette rows (element, description, size in bp)
    conjugation: tuple = ()    # rows: property, value (sites, linker, payload, drug-linker, average DAR)


# conjugates (general.conjugation) ------------------------------------------------------------------

def _conjugation(c: ViewContext) -> dict:
    general = c.scope("substance").get("general") or {}
    return general.get("conjugation") or {}


def _percent(c: ViewContext, value) -> str:
    return c.qty({"value": value, "unit": "%"})


def conjugation_rows(c: ViewContext, parts: tuple, with_method: bool = False) -> tuple:
    """Return the rows of a conjugate's structured data (general.conjugation) named by parts: sites,
    linker, payload, drug_linker, average_dar, distribution, free_drug, unconjugated_antibody;
    (property, value) or, with_method, (property, value, method)."""
    conj, where = _conjugation(c), "general.conjugation"
    if not conj:
        return ()
    rows = []

    def add(label, value, method=NOT_GIVEN):
        rows.append((c.t(label), value, method) if with_method else (c.t(label), value))

    for part in parts:
        if part == "sites" and conj.get("sites"):
            sites = conj["sites"]
            pieces = [c.t(f"s_conjugation_site_{sites.get('type')}")]
            if sites.get("positions"):
                pieces += [c.t("s_colon"), c.t("s_list_sep").join(str(x) for x in sites["positions"])]
            if sites.get("description"):
                pieces += [c.t("s_sentence_sep"), Text.of(sites["description"], f"{where}.sites.description")]
            add("s_conjugation_sites", Joined(tuple(pieces)))
        elif part in ("linker", "payload") and conj.get(part):
            add(f"s_conjugation_{part}", Text.of(conj[part], f"{where}.{part}"))
        elif part == "drug_linker" and conj.get("drug_linker"):
            other = c.get(conj["drug_linker"])
            add("s_conjugation_drug_linker", Joined((Text.of(other.get("substance")), " (", c.ref("3.2.S", conj["drug_linker"], named=False), ")")))
        elif part == "average_dar" and conj.get("average_dar"):
            dar = conj["average_dar"]
            add("s_conjugation_average_dar", c.qty({"value": dar.get("value"), "unit": ""}),
                Text.of(dar.get("method"), f"{where}.average_dar.method"))
        elif part == "distribution" and conj.get("distribution"):
            dist = conj["distribution"]
            shown = c.t("s_list_sep").join(f"D{s.get('load')} {_percent(c, s.get('percent'))}"
                                            for s in sorted(dist.get("species") or [], key=lambda s: s.get("load", 0)))
            add("s_conjugation_distribution", shown, Text.of(dist.get("method"), f"{where}.distribution.method"))
        elif part in ("free_drug", "unconjugated_antibody") and conj.get(part):
            level = conj[part]
            add(f"s_conjugation_{part}", c.qty(level.get("level")),
                Text.of(level["method"], f"{where}.{part}.method") if "method" in level else NOT_GIVEN)
    return tuple(rows)


def sequence_rows(sequence: str, per_line: int = 50, block: int = 10) -> tuple:
    """Return an amino-acid sequence as rows ("1–50", "ABCDEFGHIJ KLMNOPQRST …")."""
    rows = []
    for start in range(0, len(sequence), per_line):
        line = sequence[start:start + per_line]
        blocks = " ".join(line[b:b + block] for b in range(0, len(line), block))
        rows.append((f"{start + 1}–{start + len(line)}", blocks))
    return tuple(rows)


@view("s-1-2")
def structure(c: ViewContext) -> StructureView:
    st = ((c.scope("substance").get("general") or {}).get("structure")) or {}
    where = "general.structure"
    rows = [(c.t("s_structure_type"), c.t(f"s_structure_type_{st.get('type')}"))]
    if "smiles" in st:
        rows.append((c.t("s_smiles"), st["smiles"]))
    if "stereochemistry" in st:
        rows.append((c.t("s_stereochemistry"), Text.of(st["stereochemistry"], f"{where}.stereochemistry")))
    genetic = st.get("type") in GENETIC_TYPES  # a genome and construct, not a formula or a weight
    if not genetic or "molecular_formula" in st:
        rows.append((c.t("s_molecular_formula"), st.get("molecular_formula")))
    if not genetic or "molecular_weight" in st:
        rows.append((c.t("s_molecular_weight"), c.qty(st.get("molecular_weight"))))
    if "cell_description" in st:
        rows.append((c.t("s_cell_description"), Text.of(st["cell_description"], f"{where}.cell_description")))
    rows += construct_rows(c, st.get("construct"), f"{where}.construct")
    fmt = st.get("format") or {}
    if fmt:  # the antibody format: for a bispecific, how its two arms are built and paired
        rows.append((c.t("s_antibody_format"), Joined((c.t(f"s_format_{fmt.get('type')}"),) + (
            (c.t("s_sentence_sep"), Text.of(fmt["description"], f"{where}.format.description")) if fmt.get("description") else ()))))
        if fmt.get("specificities"):
            rows.append((c.t("s_specificities"), Joined(tuple(
                piece for i, x in enumerate(fmt["specificities"])
                for piece in ((c.t("s_list_sep"),) if i else ()) + (Text.of(x, f"{where}.format.specificities[{i}]"),)))))
    for key in ("disulfide_bonds", "glycosylation"):
        if key in st:
            rows.append((c.t(f"s_{key}"), Text.of(st[key], f"{where}.{key}")))
    if st.get("type") == "smiles" and "smiles" not in st:
        rows.append((c.t("s_smiles"), Missing(f"{where}.smiles")))
    figure = st.get("figure")
    chains = st.get("chains") or []
    components = st.get("conjugate_components") or []
    conjugate = []
    for component in components:
        inst = c.get(component["substance"]) if "substance" in component else {}
        made = (Joined((Text.of(inst.get("substance")), " – ", Text.of(inst.get("manufacturer")), f" ({c.ref('3.2.S', component['substance'], named=False)})"))
                if inst else NOT_GIVEN)
        conjugate.append((component.get("name"), c.t(f"s_conjugate_role_{component.get('role')}"), made))
    return StructureView(
        tuple(rows),
        c.h.supplied_figure(figure, f"structure-{slugify(str(c.scope('substance').get('id', 'x')), 40)}-{c.lang}") if figure else None,
        st.get("type") == "sequence" or bool(chains),
        tuple((Text.of(ch.get("name")), c.t(f"s_chain_{ch.get('type')}"), ch.get("copies"), len(ch.get("sequence") or ""))
              for ch in chains),
        tuple(Chain(Joined((c.t("s_amino_acid_sequence"), ": ", Text.of(ch.get("name")))), sequence_rows(ch.get("sequence") or "")) for ch in chains),
        None if chains else Missing(f"{where}.chains"),
        st.get("type") == "conjugate" or bool(components),
        tuple(conjugate),
        element_rows(st.get("construct"), f"{where}.construct"),
        conjugation_rows(c, ("sites", "linker", "payload", "drug_linker", "average_dar")))


@view("s-1-3")
def general_properties(c: ViewContext) -> RowsView:
    properties = ((c.scope("substance").get("general") or {}).get("properties")) or []
    return RowsView(tuple((Text.of(p.get("property")), Text.of(p.get("value")), p["method"] if "method" in p else NOT_GIVEN)
                          for p in properties) + conjugation_rows(c, ("average_dar", "distribution"), with_method=True))


# 3.2.S.2.1 -----------------------------------------------------------------------------------

IDENTIFIERS = ("fei", "duns", "eu_mia", "uk_mia", "cn_licence")


@view("s-2-1")
def manufacturers(c: ViewContext) -> RowsView:
    """One row per site with a role for this substance: name, address, identifiers, duties."""
    sep, colon = c.t("s_list_sep"), c.t("s_colon")
    rows = []
    for entry in c.h.sites_for(c.scope("substance").get("id")):
        site = entry["site"]
        identifiers = site.get("identifiers") or {}
        ids = [c.t(f"s_{key}") + colon + str(identifiers[key]) for key in IDENTIFIERS if key in identifiers]
        duties = []
        for role in entry["roles"]:
            extra = []
            if "operations" in role:
                extra.append(Text.of(role["operations"]))
            if "tests" in role:
                extra.append(Joined((c.t("s_tests_performed"), colon, Text.of(role["tests"]))))
            if role.get("markets"):  # a supply chain by market: which markets this role serves
                extra.append(supplies(c, role["markets"]))
            label = c.t(f"s_site_role_{role.get('role')}")
            duties.append(Joined((label, " (", Joined(tuple(extra), sep), ")")) if extra else label)
        name = Joined((Text.of(site.get("legal_name")),) + ((", ", Text.of(site["site_name"])) if "site_name" in site else ()))
        rows.append((name, Address.of(site.get("address")), sep.join(ids) if ids else NOT_GIVEN, Joined(tuple(duties), sep)))
    return RowsView(tuple(rows))


def supplies(c: ViewContext, markets: list) -> str:
    """Return "Supplies the markets: US, EU" for a role that serves some markets only (sites.yaml markets)."""
    return c.t("s_supplies") + c.t("s_colon") + c.t("s_market_sep").join(c.t(f"s_market_{m}") for m in markets)


def _step_cell(c: ViewContext, steps: dict, step_id, colon: str, fallback=NOT_GIVEN):
    """Return "Step n: name" for a step id of the substance's process, the id itself if unknown."""
    step = steps.get(step_id) if step_id is not None else None
    if step:
        return Joined((f"{c.t('step')} {step.get('number')}", colon, Text.of(step.get("name"))))
    return fallback if step_id is None else step_id


def _long(value, lang: str) -> bool:
    """True when a narrative printed in a table cell would break the table (several lines or a pipe)."""
    if isinstance(value, NotApplicable):
        value = value.reason
    text = value.pick(lang).strip() if isinstance(value, Text) else ""
    return "\n" in text or "|" in text


# 3.2.S.2.3 -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Titled:
    """A bold title and the narrative under it."""

    title: Text | Joined | str
    text: Text | Missing | NotApplicable


@dataclass(frozen=True)
class CellLineHistory:
    host: Text
    construct: Text | Missing | NotApplicable
    transfection: Text
    clone_selection: Text | Missing | NotApplicable
    genetic_stability: Text | Missing | NotApplicable | str  # str: "to be provided" before marketing


@dataclass(frozen=True)
class MaterialsView:
    starting: tuple            # rows: name, supplier, specification
    justifications: tuple[Titled, ...]
    raw: tuple                 # rows: name, grade, step, biological origin, source
    biological: bool           # a raw material of biological origin: the pointer to 3.2.A.2 is printed
    cell_banks: tuple          # rows: bank type, lot, date, vials, storage, derived from
    history: CellLineHistory | None
    narrative: Text | Missing | NotApplicable | None
    vectors: tuple = ()        # critical starting materials with a construct (a vector without its own 3.2.S)


@dataclass(frozen=True)
class StartingVector:
    name: Text
    rows: tuple                # construct rows: item, detail
    elements: tuple            # cassette rows: element, description, size in bp
    tests: tuple               # rows: test, method, criterion


@view("s-2-3")
def control_of_materials(c: ViewContext) -> MaterialsView:
    manufacture = c.scope("substance").get("manufacture") or {}
    materials, steps = manufacture.get("materials") or {}, _steps(c.scope("substance"))
    where = "manufacture.materials"
    colon = c.t("s_colon")
    starting = materials.get("starting_materials") or []
    raw = materials.get("raw_materials") or []
    banks = materials.get("cell_banks") or []
    by_id = {b.get("id"): b for b in banks}
    bank_rows = []
    for b in banks:
        parent = by_id.get(b.get("derived_from")) if "derived_from" in b else None
        bank_rows.append((c.t(f"bank_type_{b.get('type')}"), b.get("lot"), b.get("date"), b.get("vials", NOT_GIVEN),
                          Text.of(b.get("storage")),
                          f"{c.t('bank_type_' + str(parent.get('type')))} {parent.get('lot')}" if parent
                          else b.get("derived_from", NOT_GIVEN)))
    history = None
    if "cell_line_history" in materials:
        h, here = materials["cell_line_history"] or {}, f"{where}.cell_line_history"
        if "genetic_stability" in h:
            genetic = c.narrative(h["genetic_stability"], f"{here}.genetic_stability")
        else:
            genetic = Missing(f"{here}.genetic_stability") if c.stage == "marketing" else c.t("s_to_be_provided")
        history = CellLineHistory(Text.of(h.get("host")), c.narrative(h.get("construct"), f"{here}.construct"),
                                  Text.of(h.get("transfection")),
                                  c.narrative(h.get("clone_selection"), f"{here}.clone_selection"), genetic)
    return MaterialsView(
        tuple((Text.of(sm.get("name")), sm.get("supplier", NOT_GIVEN),
               Text.of(sm["specification"]) if "specification" in sm else NOT_GIVEN) for sm in starting),
        tuple(Titled(Text.of(sm.get("name")), c.narrative(sm.get("justification"), f"{where}.starting_materials[{i}].justification"))
              for i, sm in enumerate(starting)),
        tuple((Text.of(m.get("name")), m.get("grade"), _step_cell(c, steps, m.get("step"), colon),
               c.t("s_yes") if m.get("biological_origin") else c.t("s_no"), m.get("source", NOT_GIVEN)) for m in raw),
        any(m.get("biological_origin") for m in raw),
        tuple(bank_rows), history,
        c.narrative(materials["narrative"], f"{where}.narrative") if "narrative" in materials else None,
        tuple(StartingVector(Text.of(sm.get("name")), tuple(construct_rows(c, sm["construct"], f"{where}.starting_materials[{i}].construct")),
                             element_rows(sm["construct"], f"{where}.starting_materials[{i}].construct"),
                             tuple((Text.of(t.get("test")), Text.of(t["method"]) if "method" in t else NOT_GIVEN, Text.of(t.get("criterion")))
                                   for t in sm.get("tests") or []))
              for i, sm in enumerate(starting) if isinstance(sm.get("construct"), dict)))


# 3.2.S.2.4 -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CriticalStepsView:
    summary: Text | Missing | NotApplicable
    steps: tuple               # rows: number, name, critical parameters, controls
    intermediates: tuple       # rows: name, step, controls (or "see below"), storage
    below: tuple[Titled, ...]  # the controls too long for a table cell, under the intermediate's name


@view("s-2-4")
def critical_steps(c: ViewContext) -> CriticalStepsView:
    manufacture = c.scope("substance").get("manufacture") or {}
    cs, process = manufacture.get("critical_steps") or {}, manufacture.get("process") or {}
    steps, colon, sep = _steps(c.scope("substance")), c.t("s_colon"), c.t("s_list_sep")
    rows = []
    for step in process.get("steps") or []:
        cpps = [p for p in step.get("parameters") or [] if p.get("criticality") == "critical"]
        if not (step.get("critical") or cpps):
            continue
        params = []
        for p in cpps:
            if "range" in p:
                setting = c.rng(p["range"])
            elif "setting" in p:
                setting = Text.of(p["setting"])
            elif "target" in p:
                setting = c.qty({"value": p["target"], "unit": p.get("unit", "")})
            else:
                setting = ""
            params.append(Joined((Text.of(p.get("name")), colon, setting)) if setting else Text.of(p.get("name")))
        controls = [Joined((Text.of(i.get("test")), colon, Text.of(i.get("criterion"))))
                    for i in step.get("in_process_controls") or [] if i.get("type") == "control"]
        rows.append((step.get("number"), Text.of(step.get("name")), Joined(tuple(params), sep) if params else NOT_GIVEN,
                     Joined(tuple(controls), sep) if controls else NOT_GIVEN))
    inters, below = [], []
    for i, inter in enumerate(cs.get("intermediates") or []):
        controls = c.narrative(inter.get("controls"), f"manufacture.critical_steps.intermediates[{i}].controls")
        if _long(controls, c.lang):
            below.append(Titled(Text.of(inter.get("name")), controls))
            controls = c.t("s_see_below")
        inters.append((Text.of(inter.get("name")), _step_cell(c, steps, inter.get("step"), colon, None), controls,
                       Text.of(inter["storage"]) if "storage" in inter else NOT_GIVEN))
    return CriticalStepsView(c.narrative(cs.get("summary"), "manufacture.critical_steps.summary"),
                             tuple(rows), tuple(inters), tuple(below))


# 3.2.S.2.5 -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValidationView:
    summary: Text | Missing | NotApplicable
    show_ppq: bool             # batches given, or required at this stage (then an empty table says so)
    ppq: tuple                 # rows: batch number, site, scale, size, date
    show_studies: bool
    studies: tuple             # rows: study, criterion, result, conclusion, report


@view("s-2-5")
def process_validation(c: ViewContext) -> ValidationView:
    pv = (c.scope("substance").get("manufacture") or {}).get("process_validation") or {}
    ppq, studies = pv.get("ppq_batches") or [], pv.get("studies") or []
    rows = []
    for batch_id in ppq:
        b = c.get(batch_id)
        rows.append((b.get("number"), c.site_name(b.get("site")), c.t(f"s_scale_{b.get('scale')}"), c.qty(b.get("size")),
                     b.get("date")) if b else (batch_id,) + (NOT_GIVEN,) * 4)
    return ValidationView(
        c.narrative(pv.get("summary"), "manufacture.process_validation.summary"),
        bool(ppq) or c.required_at_stage, tuple(rows), bool(studies) or c.required_at_stage,
        tuple((Text.of(s.get("name")), Text.of(s.get("criterion")), Text.of(s.get("result")), c.t(s.get("conclusion")),
               (s["report"] or {}).get("number") if "report" in s else NOT_GIVEN) for s in studies))


# 3.2.S.2.6 -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparability:
    heading: str               # "A → B"
    approach: Text | Missing | NotApplicable
    conclusion: Text | Missing | NotApplicable


@dataclass(frozen=True)
class DevelopmentStudy:
    title: Text
    step: Joined | str | None
    design: Text | None
    factors: tuple             # rows: factor, range studied, selected
    factors_caption: Joined
    responses: Joined | None
    outcome: Text | Missing | NotApplicable


@dataclass(frozen=True)
class DevelopmentView:
    summary: Text | Missing | NotApplicable
    versions: tuple            # rows: version, scale, site, use, description (or "see below")
    below: tuple[Titled, ...]
    comparability: tuple[Comparability, ...]
    scale_down_model: Text | Missing | NotApplicable | None
    studies: tuple[DevelopmentStudy, ...]
    proven_acceptable_ranges: tuple  # rows: step, parameter, NOR, PAR


@view("s-2-6")
def process_development(c: ViewContext) -> DevelopmentView:
    substance = c.scope("substance")
    dev = (substance.get("manufacture") or {}).get("development") or {}
    where = "manufacture.development"
    steps, colon, sep = _steps(substance), c.t("s_colon"), c.t("s_list_sep")
    versions, below = [], []
    for i, version in enumerate(dev.get("process_versions") or []):
        text = c.narrative(version.get("description"), f"{where}.process_versions[{i}].description")
        if _long(text, c.lang):
            below.append(Titled(c.t("s_version_description").replace("{version}", str(version.get("version"))), text))
            text = c.t("s_see_below")
        versions.append((version.get("version"), c.qty(version.get("scale")),
                         c.site_name(version["site"]) if "site" in version else NOT_GIVEN,
                         Text.of(version["used_for"]) if "used_for" in version else NOT_GIVEN, text))
    comparability = tuple(
        Comparability(f"{x.get('from_version')} → {x.get('to_version')}",
                      c.narrative(x.get("approach"), f"{where}.comparability[{i}].approach"),
                      c.narrative(x.get("conclusion"), f"{where}.comparability[{i}].conclusion"))
        for i, x in enumerate(dev.get("comparability") or []))
    studies = []
    for i, s in enumerate(dev.get("studies") or []):
        title = Text.of(s.get("title"))
        studies.append(DevelopmentStudy(
            title, _step_cell(c, steps, s["step"], colon) if "step" in s else None,
            Text.of(s["design"]) if "design" in s else None,
            tuple((Text.of(f.get("name")), c.rng(f.get("studied")), f.get("selected", NOT_GIVEN)) for f in s.get("factors") or []),
            Joined((c.t("s_factors_of"), colon, title)),
            Joined(tuple(Text.of(r) for r in s["responses"]), sep) if s.get("responses") else None,
            c.narrative(s.get("outcome"), f"{where}.studies[{i}].outcome")))
    pars = []
    for par in dev.get("proven_acceptable_ranges") or []:
        step = steps.get(par.get("step"))
        name = Text.of(par.get("parameter")).pick(c.lang)
        nor = NOT_GIVEN  # the normal operating range: the step's parameter of the same name (3.2.S.2.2)
        for p in (step or {}).get("parameters") or []:
            if Text.of(p.get("name")).pick(c.lang) == name and "range" in p:
                nor = c.rng(p["range"])
        pars.append((_step_cell(c, steps, par.get("step"), colon, None), Text.of(par.get("parameter")), nor, c.rng(par.get("range"))))
    return DevelopmentView(
        c.narrative(dev.get("summary"), f"{where}.summary"), tuple(versions), tuple(below), comparability,
        c.narrative(dev["scale_down_model"], f"{where}.scale_down_model") if "scale_down_model" in dev else None,
        tuple(studies), tuple(pars))


# 3.2.S.3 -------------------------------------------------------------------------------------

# The order of characterisation categories in the table (ICH Q6B 6.1 for biologics, then Q6A topics).
CATEGORIES = ("primary_structure", "higher_order_structure", "post_translational_modifications", "glycosylation",
              "charge_variants", "size_variants", "biological_activity", "physicochemical", "spectroscopy", "solid_state",
              "stereochemistry")


@dataclass(frozen=True)
class ElucidationView:
    """The characterisation summary and table; for a conjugate, its conjugation data and drug-load species."""

    summary: Text | Missing | NotApplicable
    rows: tuple
    conjugation: tuple = ()    # rows: property, value, method
    species: tuple = ()        # rows: species (D0, D2 …), drug load, % of total
    species_caption: str = ""  # "Drug-load distribution (HIC-HPLC)"


@view("s-3-1")
def elucidation(c: ViewContext) -> "ElucidationView":
    el = (c.scope("substance").get("characterisation") or {}).get("elucidation") or {}
    rows = []
    for category in CATEGORIES:
        found = [a for a in el.get("attributes") or [] if a.get("category") == category]
        for i, a in enumerate(found):
            rows.append((c.t(f"s_category_{category}") if i == 0 else "", Text.of(a.get("attribute")), a.get("methods"),
                         Text.of(a.get("result"))))
    dist = _conjugation(c).get("distribution") or {}
    species = tuple((f"D{s.get('load')}", s.get("load"), _percent(c, s.get("percent")))
                    for s in sorted(dist.get("species") or [], key=lambda s: s.get("load", 0)))
    return ElucidationView(c.narrative(el.get("summary"), "characterisation.elucidation.summary"), tuple(rows),
                           conjugation_rows(c, ("sites", "average_dar", "free_drug", "unconjugated_antibody"), True),
                           species, (f"{c.t('s_conjugation_distribution')}（{c.tx(dist.get('method'))}）" if c.lang == "zh" else
                                    f"{c.t('s_conjugation_distribution')} ({c.tx(dist.get('method'))})") if species else "")


@view("s-3-2")
def impurities(c: ViewContext) -> RowsView:
    """The impurities: type, origin, limit, how each is controlled (with a reference), fate."""
    substance = c.scope("substance")
    spec = c.get((substance.get("control") or {}).get("specification"))
    tests = {t.get("id"): t for t in (spec.get("tests") or [] if spec else [])}
    colon, rows = c.t("s_colon"), []
    for imp in (substance.get("characterisation") or {}).get("impurities") or []:
        kind = Joined((c.t(f"s_impurity_type_{imp.get('type')}"),)
                      + ((" (", c.t(f"s_variant_{imp['variant']}"), ")") if "variant" in imp else ())
                      + ((" (", Text.of(imp["ich_class"]), ")") if "ich_class" in imp else ()))
        other = imp.get("controlled_in") if imp.get("control") == "specification" else None
        if other:  # controlled by another instance's specification (a drug-linker's, an antibody intermediate's)
            owner = c.get(other)
            owner_spec = c.get((owner.get("control") or {}).get("specification"))
            found = {t.get("id"): t for t in (owner_spec.get("tests") or [] if owner_spec else [])}
            product = c.model.get(other, "product") is not None  # a drug-substance impurity controlled at product release
            name = c.tx(owner.get("name") if product else owner.get("substance")) or other
            control = [c.t("s_impurity_control_in_instance").replace("{instance}", name)]
            if "test" in imp:
                control += [colon, Text.of(found[imp["test"]].get("name")) if imp["test"] in found else imp["test"]]
            control.append(f" ({c.ref('3.2.P.5.1' if product else '3.2.S.4.1', other, named=False)})")
        else:
            control = [c.t(f"s_impurity_control_{imp.get('control')}")]
            if imp.get("control") == "specification":
                if "test" in imp:
                    control += [colon, Text.of(tests[imp["test"]].get("name")) if imp["test"] in tests else imp["test"]]
                control.append(f" ({c.ref('3.2.S.4.1')})")
            elif imp.get("control") == "in_process":
                control.append(f" ({c.ref('3.2.S.2.4')})")
        rows.append((Text.of(imp.get("name")), kind, Text.of(imp.get("origin")),
                     Limit.of(imp["limit"]) if "limit" in imp else NOT_GIVEN, Joined(tuple(control)),
                     Text.of(imp["fate"]) if "fate" in imp else NOT_GIVEN))
    return RowsView(tuple(rows))


# 3.2.S.5 -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReferenceStandardsView:
    rows: tuple                # name, type, lot, source, storage
    qualifications: tuple[Titled, ...]


@view("s-5")
def reference_standards(c: ViewContext) -> ReferenceStandardsView:
    standards = c.scope("substance").get("reference_standards") or []
    return ReferenceStandardsView(
        tuple((Text.of(rs.get("name")), c.t(f"s_refstd_type_{rs.get('type')}"), rs.get("lot"), rs.get("source"),
               rs.get("storage", NOT_GIVEN)) for rs in standards),
        tuple(Titled(Joined((Text.of(rs.get("name")), f" ({rs.get('lot')})")),
                     c.narrative(rs.get("qualification"), f"reference_standards[{i}].qualification"))
              for i, rs in enumerate(standards)))
