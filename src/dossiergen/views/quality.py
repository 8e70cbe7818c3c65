"""Views of the control and stability documents shared by drug substance and drug product
(templates batch-analyses, stability-data, stability-summary, stability-commitment, specification,
analytical-procedure, method-validation, container-closure, justification) and of 3.3 and 3.2.R.

Conventions (views/__init__.py): data texts stay `Text` and results stay `Result`, printed (and
checked for translation) where the template prints them, so untranslated English is recorded in
print order as before; fixed words come from c.t(); rows are tuples of cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ViewContext, view
from ..periods import is_exposure_study
from .types import Joined, Limit, Missing, NotApplicable, Printable, Quantity, Text


@dataclass(frozen=True)
class Result(Printable):
    """One result cell as a table prints it ('99.5 %', '< LOQ', 'Conforms'), with the
    out-of-specification mark when flagged; a text result still in English is recorded when printed."""

    fields: tuple              # the result's data as (key, value) pairs; None: no result (a dash)
    mark: str = ""

    @classmethod
    def of(cls, result: dict | None, mark: str = "") -> "Result":
        return cls(None if result is None else tuple(result.items()), mark)

    def show(self, h) -> str:
        raw = None if self.fields is None else {k: v.raw() if isinstance(v, Text) else v for k, v in self.fields}
        text = h.result(raw)
        return f"{text} {self.mark}" if self.mark else text


def shelf_life_criterion(test: dict) -> Limit | str:
    """Return a test's shelf-life criterion: its own, the release one when the test applies over the
    shelf life too, else a dash."""
    if "shelf_life_acceptance" in test:
        return Limit.of(test["shelf_life_acceptance"])
    return Limit.of(test.get("acceptance")) if "shelf_life" in (test.get("usage") or []) else "–"


def owner_of(c: ViewContext) -> tuple[dict, bool]:
    """Return the substance or product a document belongs to, and whether it is a substance."""
    substance = c.scope("substance")
    return (substance, True) if substance else (c.scope("product"), False)


def split_columns(count: int, portrait_most: int) -> tuple[bool, int]:
    """Return whether a results table of `count` columns (batches, time points) goes on landscape
    pages, and how many columns a table then holds: up to portrait_most on a portrait page, twice
    as many on a landscape one (batch analyses: 3 or 6 batches; stability: 4 or 8 time points)."""
    wide = count > portrait_most
    return wide, 2 * portrait_most if wide else portrait_most


def number_text(value) -> str:
    """Return a number as a protocol prints it: 3, not 3.0; 0.5 stays 0.5."""
    return str(int(value)) if value == int(value) else str(value)


def time_point_label(c: ViewContext, value, unit: str = "months") -> str:
    """Return a time point's column label: 'Initial', '1 month', '3 months'; in other units the
    short form '0 h', '6 h', '7 d', '2 wk' (Chinese '6 小时', '7 天', '2 周'): periods.column_label."""
    from ..periods import column_label

    return column_label(value, unit if unit in ("hours", "days", "weeks") else "months", c.lang, c.t("initial"),
                        c.t("c_month"), c.t("months"))


# batch analyses (3.2.S.4.4, 3.2.P.5.4) ----------------------------------------------------------

@dataclass(frozen=True)
class ResultsTable:
    header: tuple
    rows: tuple
    caption: str
    widths: tuple
    legend: tuple = ()         # lines under the table: its marks (OOS, OOT) and the notes it cites


@dataclass(frozen=True)
class BatchAnalysesView:
    batches: tuple             # rows: number, site, scale (size), date, process version, uses
    strengths: tuple           # drug product only: rows number, strength, drug substance batches
    specification: Missing | None  # the specification is missing
    wide: bool                 # results on landscape pages
    results: tuple[ResultsTable, ...]
    oos: bool                  # a result is out of specification (the note under the tables)
    version_notes: tuple[str, ...]  # batches tested against another version of the specification
    spec_title: Text | None
    spec_version: str
    spec_ref: str              # "see Section 3.2.S.4.1" (a link)
    procedures_ref: str
    lots: tuple = ()           # cell-therapy lots: number, donor, chain of identity, disposition, dose, pending (patientlots.py)
    lineage: tuple = ()        # genealogy: lot, made from, its material, site, date (genealogy.py)
    pending: bool = False      # a lot was released before a result was in: the note under the tables


@view("batch-analyses")
def batch_analyses(c: ViewContext) -> BatchAnalysesView:
    owner, is_substance = owner_of(c)
    control = owner.get("control") or {}
    batch_ids = control.get("batch_analyses") or []
    batches = [c.get(i) for i in batch_ids if c.get(i)]
    uses = lambda b: c.t("c_list_sep").join(c.t("c_use_" + u) for u in b.get("uses") or [])
    rows = tuple((b.get("number"), c.site_name(b.get("site")),
                  f"{c.t('c_scale_' + b['scale'])} ({c.qty(b.get('size'))})", b.get("date"), b.get("process_version"),
                  uses(b)) for b in batches)
    strengths = ()
    if not is_substance:
        def strength(b):
            entity = c.get(b["strength"]) if "strength" in b else {}
            return Text.of(entity.get("label")) if entity else "–"

        def substance_batches(b):
            numbers = [c.get(i).get("number") if c.get(i) else i for i in c.h.made_from(b)]
            return c.t("c_list_sep").join(numbers) if numbers else "–"

        strengths = tuple((b.get("number"), strength(b), substance_batches(b)) for b in batches)
    extra = {"lots": tuple(map(tuple, c.h.patient_lot_rows(batch_ids))),
             "lineage": tuple(map(tuple, c.h.genealogy_rows(batch_ids, deeper_only=not is_substance)))}
    spec = c.get(control.get("specification"))
    if not spec:
        return BatchAnalysesView(rows, strengths, Missing("control.specification"), False, (), False, (), None, "", "", "",
                                 **extra)
    wide, per_table = split_columns(len(batches), 3)
    tables_, oos, pending = [], False, False
    for group in c.h.batch_pivot(spec["id"], batch_ids, per_table):
        if not group["batches"]:
            continue
        header = (c.t("test"), c.t("acceptance_criterion"), *group["headers"])  # a batch of an earlier version names it
        body = []
        for row in group["rows"]:
            cells = [Text.of(row["test"].get("name")), Limit.of(row["test"].get("acceptance"))]
            for result, flagged, batch in zip(row["results"], row["oos"], group["batches"]):
                oos = oos or flagged
                if row["test"].get("id") in _pending_at_release(batch):  # released before this result was in
                    pending = True
                    cells.append(Result.of(result, c.t("pending_mark")) if result else c.t("c_pending_result"))
                    continue
                cells.append(Result.of(result, c.t("oos_mark") if flagged else ""))
            body.append(tuple(cells))
        first, last = group["batches"][0]["number"], group["batches"][-1]["number"]
        which = f"{c.t('c_batch_lc')} {first}" if first == last else f"{c.t('c_batches_lc')} {first}–{last}"
        caption = c.t("c_batch_results_caption") + c.t("c_sep") + which
        tables_.append(ResultsTable(header, tuple(body), caption, (3, 3) + (2,) * len(group["batches"])))
    # per earlier version: its batches, its criteria that differ, the tests it lacked (render.batch_pivot)
    notes = tuple(dict.fromkeys(note for group in c.h.batch_pivot(spec["id"], batch_ids, per_table) for note in group["notes"]))
    spec_section, proc_section = ("3.2.S.4.1", "3.2.S.4.2") if is_substance else ("3.2.P.5.1", "3.2.P.5.2")
    return BatchAnalysesView(rows, strengths, None, wide, tuple(tables_), oos, notes, Text.of(spec.get("title")),
                             str(spec.get("version")), c.ref(spec_section), c.ref(proc_section), **extra, pending=pending)


def _pending_at_release(batch: dict) -> list:
    """Return the tests whose results were not in when the lot was released (batches.yaml disposition)."""
    disposition = batch.get("disposition") if isinstance(batch.get("disposition"), dict) else {}
    return disposition.get("pending_tests") or []


# stability data (3.2.S.7.3, 3.2.P.8.3) ----------------------------------------------------------

@dataclass(frozen=True)
class StudyData:
    heading: Joined            # "st-01: 25 °C/60 % RH, batch B1"
    wide: bool                 # more than four time points: landscape pages, up to eight a table
    facts: tuple               # rows: item, detail
    facts_caption: str
    results: tuple[ResultsTable, ...]


@dataclass(frozen=True)
class StabilityDataView:
    missing: Missing | None    # no study of this substance or product
    studies: tuple[StudyData, ...]
    subject: str               # the substance or product id (its trend figures)
    summary_ref: str           # "see Section 3.2.S.7.1"


def studies_of(c: ViewContext, owner: dict) -> list[dict]:
    return c.h.studies_of(owner.get("id"))


def _study(c: ViewContext, study: dict) -> StudyData:
    batch = c.get(study.get("batch"))
    batch_no = batch.get("number") if batch else study.get("batch")
    condition = c.t("c_cond_" + study["condition"])
    measured = len(c.h.stability_time_points(study))
    wide, per_table = split_columns(measured, 4)
    heading = Joined((study["id"], c.t("s_colon"), condition, c.t("c_sep"), f"{c.t('c_batch_lc')} {batch_no}"))
    spec = c.get((study.get("specification") or {}).get("id"))
    unit = study.get("time_unit", "months")
    facts = [(c.t("batch"), batch_no), (c.t("purpose"), c.t("c_purpose_" + study["purpose"])), (c.t("condition"), condition),
             (c.t("container"), Text.of(study.get("container")))]
    if "orientation" in study:
        facts.append((c.t("orientation"), c.t("c_orientation_" + study["orientation"])))
    if "primary" in study:
        facts.append((c.t("c_primary_batch"), c.t("c_yes") if study["primary"] else c.t("c_no")))
    facts.append((c.t("start_date"), study.get("start_date")))
    exposure = _exposure(c, study)
    if exposure is not None:  # ICH Q1B: a light exposure, not a time
        facts.append((c.t("c_light_exposure"), exposure))
        if study["exposure"].get("sample"):
            facts.append((c.t("c_exposure_sample"), c.t("c_exposure_" + study["exposure"]["sample"])))
    else:
        points = c.t("c_list_sep").join(number_text(p) for p in study.get("time_points") or [])
        facts.append((c.t("c_time_points_protocol") if unit == "months" else c.t("time_points_protocol_" + unit), points))
    version = f"{c.t('version')} {study['specification']['version']}"
    facts.append((c.t("specification"), Joined((Text.of(spec.get("title")), c.t("c_sep"), version)) if spec else version))
    groups = [g for g in c.h.stability_pivot(study, per_table) if g["time_points"]]
    results = []
    for group in groups:
        labels = [_exposure_label(c, study, p) if exposure is not None else time_point_label(c, p, unit)
                  for p in group["time_points"]]
        rows = tuple((Text.of(row["test"].get("name")), Limit.of(group["criteria"][row["test"]["id"]]),
                      *(Result.of(r, m) for r, m in zip(row["results"], row["marks_text"]))) for row in group["rows"])
        caption = c.t("c_stability_data_caption") + c.t("c_sep") + f"{c.t('c_batch_lc')} {batch_no}" + c.t("c_sep") + condition
        if len(groups) > 1:
            caption += f" ({labels[0] if len(labels) == 1 else labels[0] + ' – ' + labels[-1]})"
        results.append(ResultsTable((c.t("test"), c.t("acceptance_criterion"), *labels), rows, caption,
                                    (3, 3) + (2,) * len(labels), tuple(group["legend"])))
    return StudyData(heading, wide, tuple(facts), c.t("c_study_design_caption") + c.t("c_sep") + study["id"], tuple(results))


def _exposure(c: ViewContext, study: dict) -> Joined | None:
    """Return an exposure study's light exposure: '1.2 million lux·h; 200 W·h/m²' (ICH Q1B); None for
    a study in time."""
    if not is_exposure_study(study):
        return None
    exposure = study["exposure"]
    return Joined((Quantity.of(exposure.get("illumination")), c.t("p_list_sep"), Quantity.of(exposure.get("near_uv"))))


def _exposure_label(c: ViewContext, study: dict, point) -> str:
    """Return the column label of an exposure study's result: 'Before exposure' at 0; after the
    exposure the sample's presentation ('Exposed', 'Dark control', 'In marketing pack')."""
    if point == 0:
        return c.t("c_before_exposure")
    sample = study["exposure"].get("sample")
    return c.t("c_exposure_" + sample) if sample else c.t("c_exposure_exposed")


@view("stability-data")
def stability_data(c: ViewContext) -> StabilityDataView:
    owner, is_substance = owner_of(c)
    studies = studies_of(c, owner)
    never = None if studies else _not_stored(c, owner)  # NotApplicable is falsy: test it against None
    missing = None if studies else never if never is not None else Missing(f"stability.studies[subject={owner.get('id')}]")
    return StabilityDataView(missing, tuple(_study(c, s) for s in studies), owner.get("id") or "",
                             c.ref("3.2.S.7.1" if is_substance else "3.2.P.8.1"))


def _not_stored(c: ViewContext, owner: dict) -> NotApplicable | None:
    """A substance processed straight into the product, never stored: 3.2.S.7 is not applicable,
    with the sponsor's justification (stability.yaml not_stored)."""
    reason = c.h.not_stored_of(owner.get("id"))
    return NotApplicable(Text.of(reason, f"stability.not_stored[subject={owner.get('id')}].justification")) if reason else None


# specification (3.2.S.4.1, 3.2.P.5.1, 3.2.P.4.1) ----------------------------------------------

@dataclass(frozen=True)
class SpecificationView:
    missing: Missing | None    # no specification
    title: Text | None
    version: str
    status: str
    effective_date: str | None
    rows: tuple                # test, procedure, release criterion, shelf-life criterion


@view("specification")
def specification(c: ViewContext) -> SpecificationView:
    owner, _ = owner_of(c)
    spec = c.get((owner.get("control") or {}).get("specification"))
    if not spec:
        return SpecificationView(Missing("control.specification"), None, "", "", None, ())
    rows = []
    for test in spec.get("tests") or []:
        proc = c.get(test.get("method"))
        rows.append((Text.of(test.get("name")), Joined((f"{proc.get('number')} ", Text.of(proc.get("title")))) if proc
                     else test.get("method"), Limit.of(test.get("acceptance")), shelf_life_criterion(test)))
    return SpecificationView(None, Text.of(spec.get("title")), str(spec.get("version")), c.t(spec["status"]),
                             spec.get("effective_date"), tuple(rows))


# container closure (3.2.S.6, 3.2.P.7) ------------------------------------------------------------

@dataclass(frozen=True)
class ContainerClosureView:
    description: Text | Missing | object
    components: tuple          # component, material, supplier, standard, primary packaging


@view("container-closure")
def container_closure(c: ViewContext) -> ContainerClosureView:
    owner, _ = owner_of(c)
    cc = owner.get("container_closure") or {}
    rows = tuple((Text.of(x.get("component")), Text.of(x.get("material")), x.get("supplier", "–"), x.get("standard", "–"),
                  c.t("s_yes") if x.get("primary") else c.t("s_no")) for x in cc.get("components") or [])
    return ContainerClosureView(c.narrative(cc.get("description"), "container_closure.description"), rows)


# stability commitment (3.2.S.7.2, 3.2.P.8.2) -----------------------------------------------------

@dataclass(frozen=True)
class Commitment:
    protocol: object           # Text (Markdown), NotApplicable or Missing
    commitment: object


@dataclass(frozen=True)
class StabilityCommitmentView:
    commitments: tuple[Commitment, ...]
    missing: Missing | None    # none given where the stage requires one


@view("stability-commitment")
def stability_commitment(c: ViewContext) -> StabilityCommitmentView:
    owner, _ = owner_of(c)
    where = f"stability.commitments[subject={owner.get('id')}]"
    found = tuple(Commitment(c.narrative(x.get("protocol"), f"{where}.protocol"),
                             c.narrative(x.get("commitment"), f"{where}.commitment"))
                  for x in c.h.commitments_of(owner.get("id")))
    if not found and _not_stored(c, owner) is not None:
        return StabilityCommitmentView(found, _not_stored(c, owner))
    return StabilityCommitmentView(found, None if found or not c.required_at_stage else Missing("stability.commitments"))


# validation of an analytical procedure (3.2.S.4.3, 3.2.P.5.3, 3.2.P.4.3) --------------------------

@dataclass(frozen=True)
class MethodValidationView:
    heading: Joined            # "AP-001 Assay by HPLC"
    pending: bool              # IND stage, no validation yet: the statement that it follows
    missing: Missing | None    # marketing stage, no validation
    status: str
    report: Joined | None      # "RPT-1 Title, Version 2, 2025-01-01"
    rows: tuple                # characteristic, criterion, result, conclusion
    caption: str
    empty: str                 # the data path a table without rows names


@view("method-validation")
def method_validation(c: ViewContext) -> MethodValidationView:
    method = c.scope("method")
    where = f"methods[id={method.get('id')}].validation"
    heading = Joined((f"{method.get('number')} ", Text.of(method.get("title"))))
    caption = c.t("c_validation_summary_caption") + c.t("c_sep") + str(method.get("number"))
    if "validation" not in method:
        pending = c.stage == "ind"
        return MethodValidationView(heading, pending, None if pending else Missing(where), "", None, (), caption, "")
    validation = method["validation"]
    report = None
    if "report" in validation:
        r = validation["report"]
        report = Joined((f"{r.get('number')} ", Text.of(r.get("title")),
                         f", {c.t('version')} {r['version']}" if "version" in r else "", f", {r['date']}" if "date" in r else ""))
    rows = tuple((c.t("c_q2_" + x["characteristic"]), Text.of(x.get("criterion")), Text.of(x.get("result")),
                  c.t("met") if x.get("passed", True) else c.t("not_met")) for x in validation.get("characteristics") or [])
    return MethodValidationView(heading, False, None, c.t(validation["status"]), report, rows, caption,
                                where + ".characteristics")


# stability summary (3.2.S.7.1, 3.2.P.8.1) --------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """The ICH Q1E evaluation of a claim in words and cells (shelflife.document_summary)."""

    intro: str
    rows: tuple
    caption: str
    conclusion: str
    justified: str | None      # "Justified under ICH Q1E …" before the reason
    reason: object             # Text (Markdown) or Missing, with justified
    oos: str                   # "batch B1, Assay: 89.0 at 12 months; …" or ""
    oot: str
    crossing_header: str = ""  # "Meets the criterion at (months)" in the unit of the long-term data


@dataclass(frozen=True)
class Claim:
    facts: tuple               # rows: item, detail
    caption: str
    basis: object              # Text (Markdown), NotApplicable or Missing
    evaluation: Evaluation | None  # None: no long-term data to evaluate


@dataclass(frozen=True)
class StabilitySummaryView:
    claims_missing: Missing | None
    claims: tuple[Claim, ...]
    studies_missing: Missing | None
    studies: tuple             # rows: study, batch, condition, purpose, start date, data available
    samples: tuple             # rows: study, container, orientation, primary batch
    data_ref: str              # "see Section 3.2.S.7.3"
    data_header: str = ""      # "Data available (months)", or "Data available" when a study counts other units
    principles: str = ""       # a chemically synthesised intermediate: the guidelines applied as principles (roles.py)
    not_stored: NotApplicable | None = None  # never stored: not applicable, with the justification


def _evaluation(c: ViewContext, claim: dict, where: str) -> Evaluation | None:
    q1e = c.h.q1e_summary(claim)
    if not q1e:
        return None
    justification = q1e["justification"]
    return Evaluation(q1e["intro"], tuple(tuple(r) for r in q1e["rows"]), f"{c.t('q1e_table_caption')} ({c.t(claim['kind'])})",
                      q1e["conclusion"],
                      c.t("q1e_justified").format(guideline=justification["guideline"]) if justification else None,
                      c.narrative(justification.get("reason"), f"{where}.justification.reason") if justification else None,
                      "; ".join(q1e["oos"]), "; ".join(q1e["oot"]), q1e["crossing_header"])


def _data_available(c: ViewContext, study: dict, in_months: bool) -> str:
    """Return the latest time point with results ('18' under a column in months, else '18 months',
    '24 hours'), or a dash; an exposure study's light exposure when it has results after it."""
    exposure = _exposure(c, study)
    if exposure is not None:
        exposed = any(p != 0 for p in c.h.stability_time_points(study))
        return exposure if exposed else "–"
    latest = max(c.h.stability_time_points(study), default=None)
    return c.h.data_period(study, latest, in_months)


@view("stability-summary")
def stability_summary(c: ViewContext) -> StabilitySummaryView:
    owner, is_substance = owner_of(c)
    subject = owner.get("id")
    where = f"stability.claims[subject={subject}]"
    claims = []
    for claim in c.h.claims_of(subject):
        facts = [(c.t(claim["kind"]), c.h.claim_period(claim)), (c.t("storage"), Text.of(claim.get("storage")))]
        if "in_use" in claim:
            facts.append((c.t("c_in_use"), Text.of(claim["in_use"])))
        claims.append(Claim(tuple(facts), f"{c.t('c_claim_caption')} ({c.t(claim['kind'])})",
                            c.narrative(claim.get("basis"), f"{where}.basis"), _evaluation(c, claim, where)))
    studies = studies_of(c, owner)
    # The column says "(months)" only when every study of the table counts months: a light exposure
    # (ICH Q1B) or a time in days is never printed under it, and then each cell names its own unit.
    in_months = not any(is_exposure_study(s) for s in studies) and c.h.all_in_months(studies)
    rows, samples = [], []
    for study in studies:
        batch = c.get(study.get("batch"))
        rows.append((study["id"], batch.get("number") if batch else study.get("batch"), c.t("c_cond_" + study["condition"]),
                     c.t("c_purpose_" + study["purpose"]), study.get("start_date"), _data_available(c, study, in_months)))
        samples.append((study["id"], Text.of(study.get("container")),
                        c.t("c_orientation_" + study["orientation"]) if "orientation" in study else "–",
                        (c.t("c_yes") if study["primary"] else c.t("c_no")) if "primary" in study else "–"))
    missing_studies = None if studies else Missing(f"stability.studies[subject={subject}]")
    header = c.t("c_data_available_months") if in_months else c.t("c_data_available")
    return StabilitySummaryView(None if claims else Missing(f"stability.claims[subject={subject}]"), tuple(claims),
                                missing_studies, tuple(rows), tuple(samples), c.ref("3.2.S.7.3" if is_substance else "3.2.P.8.3"),
                                header, c.h.principles_line(owner) if is_substance else "",
                                None if claims or studies else _not_stored(c, owner))


# analytical procedure (3.2.S.4.2, 3.2.P.5.2, 3.2.P.4.2 for one method) ---------------------------

@dataclass(frozen=True)
class AnalyticalProcedureView:
    heading: Joined            # "AP-001 Assay by HPLC"
    number: str
    facts: tuple               # rows: item, detail
    summary: object            # Text (Markdown) or Missing
    conditions: tuple          # rows: parameter, value
    suitability: tuple         # rows: number, criterion
    spec_missing: Missing | None
    tests: tuple               # rows: test, criterion (of this procedure in the specification)
    spec_title: Text | None
    spec_version: str
    spec_ref: str


@view("analytical-procedure")
def analytical_procedure(c: ViewContext) -> AnalyticalProcedureView:
    owner, is_substance = owner_of(c)
    method = c.scope("method")
    number = str(method.get("number"))
    facts = [(c.t("procedure_number"), method.get("number")), (c.t("technique"), Text.of(method.get("technique"))),
             (c.t("origin"), c.t("c_origin_" + method["origin"]))]
    if "compendial_reference" in method:
        facts.append((c.t("compendial_reference"), Text.of(method["compendial_reference"])))
    conditions = tuple((Text.of(x.get("name")), Text.of(x.get("value"))) for x in method.get("conditions") or [])
    suitability = tuple((i, Text.of(s)) for i, s in enumerate(method.get("system_suitability") or [], 1))
    spec = c.get((owner.get("control") or {}).get("specification"))
    tests = tuple((Text.of(x.get("name")), Limit.of(x.get("acceptance")))
                  for x in (spec.get("tests") or [] if spec else []) if x.get("method") == method.get("id"))
    return AnalyticalProcedureView(
        Joined((f"{number} ", Text.of(method.get("title")))), number, tuple(facts),
        c.narrative(method.get("summary"), f"methods[id={method.get('id')}].summary"), conditions, suitability,
        None if spec else Missing("control.specification"), tests, Text.of(spec.get("title")) if spec else None,
        str(spec.get("version")) if spec else "", c.ref("3.2.S.4.1" if is_substance else "3.2.P.5.1"))


# justification of specification (3.2.S.4.5, 3.2.P.5.6, 3.2.P.4.4) --------------------------------

@dataclass(frozen=True)
class Observed(Printable):
    """What the batches analysed showed for one test: the numeric range ('98.9–100.6 %'), the
    qualified results ('< LOQ – 0.08 %'), the text results, or 'No results'. Printed where the
    table prints it (text results still in English are recorded then)."""

    low: float | None
    high: float | None
    unit: str | None
    qualified: tuple[Result, ...]
    texts: tuple[Result, ...]
    conforms: bool             # a pass/fail test: its text results read "Conforms"

    def show(self, h) -> str:
        quals = [r.show(h) for r in self.qualified]
        if self.low is not None:
            high = h.result({"value": self.high, "unit": self.unit})
            if quals:
                return f"{sorted(set(quals))[0]} – {high}"
            if self.low == self.high:
                return high
            return h.rng({"low": self.low, "high": self.high, "unit": self.unit})
        if quals:
            return h.t("c_list_sep").join(dict.fromkeys(quals))
        if self.texts:
            texts = [r.show(h) for r in self.texts]
            return h.t("c_conforms") if self.conforms else "; ".join(dict.fromkeys(texts))
        return h.t("c_no_results")


def observed(test: dict, groups: list[dict]) -> Observed:
    """Return the results of the batch analyses of one test, summarised (see Observed)."""
    low = high = unit = None
    quals, texts = [], []
    for group in groups:
        for row in group["rows"]:
            if row["test"]["id"] != test["id"]:
                continue
            for r in row["results"]:
                if not r:
                    continue
                value, qualifier = r.get("value"), r.get("qualifier")
                if isinstance(value, (int, float)) and not isinstance(value, bool) and not qualifier:
                    low = value if low is None or value < low else low
                    high = value if high is None or value > high else high
                    unit = r.get("unit") or unit
                elif qualifier and qualifier != "not_tested":
                    quals.append(Result.of(r))
                elif r.get("text"):
                    texts.append(Result.of(r))
    conforms = "conforms" in ((test.get("acceptance") or {}).get("limit") or {})
    return Observed(low, high, unit, tuple(quals), tuple(texts), conforms)


@dataclass(frozen=True)
class JustificationView:
    justification: object      # Text (Markdown), NotApplicable or Missing
    spec_missing: Missing | None
    rows: tuple                # test, release criterion, shelf-life criterion, observed
    batches: str               # "batches B1, B2" ("" when no batch was analysed)
    batch_ref: str
    spec_title: Text | None
    spec_version: str
    spec_ref: str
    history: tuple             # rows: version, changes (empty: no change described)
    shelf_life: tuple = ()     # rows: test, release, shelf life, why the wider shelf-life criterion (ICH Q6A §2.2, Q6B §2.5)


@view("justification")
def justification(c: ViewContext) -> JustificationView:
    owner, is_substance = owner_of(c)
    control = owner.get("control") or {}
    text = c.narrative(control.get("justification"), "control.justification")
    spec = c.get(control.get("specification"))
    spec_ref, batch_ref = c.ref("3.2.S.4.1" if is_substance else "3.2.P.5.1"), c.ref("3.2.S.4.4" if is_substance else "3.2.P.5.4")
    if not spec:
        return JustificationView(text, Missing("control.specification"), (), "", batch_ref, None, "", spec_ref, ())
    groups = c.h.batch_pivot(spec["id"], control.get("batch_analyses"))
    rows = []
    for test in spec.get("tests") or []:
        release = Limit.of(test.get("acceptance")) if "release" in (test.get("usage") or []) else "–"
        rows.append((Text.of(test.get("name")), release, shelf_life_criterion(test), observed(test, groups)))
    numbers = [str(b["number"]) for group in groups for b in group["batches"]]
    batches = ""
    if numbers:
        batches = f"{c.t('c_batches_lc') if len(numbers) > 1 else c.t('c_batch_lc')} {c.t('c_list_sep').join(numbers)}"
    history = [(old.get("version"), Text.of(old["changes"]) if "changes" in old else "–")
               for old in spec.get("previous_versions") or []]
    if any(changes != "–" for _, changes in history):
        history.append((spec.get("version"), "–"))
    else:
        history = []
    return JustificationView(text, None, tuple(rows), batches, batch_ref, Text.of(spec.get("title")),
                             str(spec.get("version")), spec_ref, tuple(history), tuple(map(tuple, c.h.shelf_life_justifications(spec))))


# regional information (3.2.R) ---------------------------------------------------------------------

@dataclass(frozen=True)
class Section:
    """A heading of 3.2.R with its narrative or its table of documents."""

    heading: str
    text: object = None        # Text (Markdown) or None
    rows: tuple = ()
    header: tuple = ()
    caption: str = ""
    widths: tuple = ()


@dataclass(frozen=True)
class RegionalView:
    statements: tuple[str, ...]  # fixed statements (UK follows the EU, China in Module 1, none given…)
    sections: tuple[Section, ...]


def _documents(c: ViewContext, items: list, caption: str) -> Section:
    rows = tuple((d.get("number"), Text.of(d.get("title")), d.get("version", "–"), d.get("date", "–")) for d in items)
    return rows, (c.t("document_number"), c.t("c_title_label"), c.t("version"), c.t("c_date_label")), c.t(caption), (3, 5, 1, 2)


@view("r")
def regional_information(c: ViewContext) -> RegionalView:
    statements, sections = [], []
    if c.market == "us":
        reg = c.model.single("market-us").get("regional") or {}
        if not reg:
            statements.append(c.t("c_no_regional_information"))
        if reg.get("executed_batch_records"):
            rows = []
            for e in reg["executed_batch_records"]:
                batch = c.get(e.get("batch"))
                document = e.get("document") or {}
                rows.append((batch.get("number") if batch else e.get("batch"), document.get("number"),
                             Text.of(document.get("title")), document.get("date", "–")))
            sections.append(Section(c.t("c_executed_batch_records"), None, tuple(rows),
                                    (c.t("batch_number"), c.t("document_number"), c.t("c_title_label"), c.t("c_date_label")),
                                    c.t("c_executed_batch_records_caption"), (2, 3, 5, 2)))
        if "method_validation_package" in reg:
            sections.append(Section(c.t("c_method_validation_package"), c.narrative(
                reg["method_validation_package"], "markets/us.regional.method_validation_package")))
        if reg.get("comparability_protocols"):
            sections.append(Section(c.t("c_comparability_protocols"), None,
                                    *_documents(c, reg["comparability_protocols"], "c_comparability_protocols_caption")))
    elif c.market in ("eu", "uk"):
        reg = c.model.single("market-eu").get("regional") or {}
        if c.market == "uk":
            statements.append(c.t("c_regional_uk_follows_eu"))
        if not reg:
            statements.append(c.t("c_no_regional_information"))
        for key in ("process_validation_scheme", "medical_device"):
            if key in reg:
                sections.append(Section(c.t("c_" + key), c.narrative(reg[key], f"markets/eu.regional.{key}")))
        if reg.get("tse_certificates"):
            sections.append(Section(c.t("c_tse_certificates"), None,
                                    *_documents(c, reg["tse_certificates"], "c_tse_certificates_caption")))
    elif c.market == "cn":
        statements.append(c.t("c_regional_cn_module1"))
    else:
        statements.append(c.t("c_regional_neutral"))
    return RegionalView(tuple(statements), tuple(sections))
