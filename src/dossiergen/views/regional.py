"""Views of the regional annex documents (regional/*/templates): each reads the data dict its
regional builder computes (the same dict the JSON package holds, render's regional_data) and
hands the template ready rows and sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ViewContext, view
from .types import Joined, Missing, Text

DASH = "–"


def _joined(value: dict | None) -> str:
    """Return an address (or other mapping) on one line: its given values, comma-separated."""
    return ", ".join(str(v) for v in (value or {}).values() if v)


# US: Form FDA 1571 data ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Form1571View:
    fields: tuple              # rows: number, field, value
    contents: tuple            # rows: citation, item, where
    missing: tuple             # (number, name) of the fields still open


@view("us-1571")
def form_1571(c: ViewContext) -> Form1571View:
    form = c.h.regional_data("form_1571")
    fields = tuple((f["number"], f["name"], f["value"] if f["status"] == "filled" else c.t("us_not_filled"))
                   for f in form["fields"])
    contents = tuple((x["citation"], x["item"], c.t("us_1571_in_dossier") if x["in_this_dossier"] else c.t("us_1571_elsewhere"))
                     for x in form["contents"])
    return Form1571View(fields, contents, tuple((f["number"], f["name"]) for f in form["missing"]))


# US: establishments (field 29 of the 356h data as the FDA facility table) -------------------------

@dataclass(frozen=True)
class EstablishmentsView:
    ind: bool                  # IND stage: the sentence on what an IND lists follows the intro
    rows: tuple                # name and address, FEI, DUNS, responsibilities, ready for inspection
    others: Joined             # the sites not listed, by name


@view("us-establishments")
def establishments(c: ViewContext) -> EstablishmentsView:
    form = c.h.regional_data("form_356h")
    marketing = c.stage == "marketing"
    counts = {"drug_substance": len(c.model.of_type("substance")), "drug_product": len(c.model.of_type("product"))}
    rows = []
    for est in form["establishments"]:
        base = f"sites.{est['site']}"
        name = est["name"] + (f", {est['site_name']}" if est.get("site_name") else "")
        if est.get("fei"):
            fei = est["fei"]
        elif est.get("fei_exemption"):
            fei = f"{c.t('us_no_fei')}: {est['fei_exemption']}"
        else:
            fei = Missing(f"{base}.identifiers.fei")
        duns = est.get("duns") or (Missing(f"{base}.identifiers.duns") if marketing else DASH)
        duties = []
        for g in est["responsibilities"]:
            roles = ", ".join(c.t("us_role_" + r).lower() for r in g["roles"])
            whom = f" {c.t('us_for')} {'; '.join(g['subjects'])}" if len(g["subjects"]) < counts[g["subject_type"]] else ""
            duties.append(f"{c.t('us_' + g['subject_type'])} – {c.t('us_cat_' + g['category'])} ({roles}){whom}")
        ready = est.get("ready_for_inspection")
        if ready:
            ready_text = c.t("us_ready_" + ready.replace("/", "")) + (f", {c.t('us_ready_on')} {est['ready_date']}"
                                                                      if est.get("ready_date") else "")
        else:
            ready_text = Missing(f"{base}.inspection_ready") if marketing else DASH
        address = _joined(est["address"]) if est.get("address") else ""
        rows.append((f"{name}; {address}", fei, duns, "; ".join(duties), ready_text))
    listed = {est["site"] for est in form["establishments"]}
    others = Joined(tuple(Text.of(s.data.get("legal_name")) for s in c.model.of_type("site") if s.id not in listed), "; ")
    return EstablishmentsView(c.stage == "ind", tuple(rows), others)


# US: Form FDA 356h data ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Establishment:
    rows: tuple                # item, value
    caption: str


@dataclass(frozen=True)
class OpenField:
    number: str
    name: str
    note: object               # a label, or the Missing marker of its data path


@dataclass(frozen=True)
class Form356hView:
    fields: tuple              # rows: number, field, value
    establishments: tuple[Establishment, ...]
    cross_references: tuple    # rows: type, number, holder, subject, letter of authorisation
    certification: tuple       # rows: number, field, value
    missing: tuple[OpenField, ...]


def _shown(c: ViewContext, value, status: str) -> str:
    """Return a field's value as the form data shows it: the value, or why there is none."""
    if status == "filled":
        return _joined(value) if isinstance(value, dict) else value
    return {"not_applicable": c.t("not_applicable"), "at_submission": c.t("us_at_submission")}.get(status) or c.t("us_not_filled")


def _establishment(c: ViewContext, number: int, est: dict) -> Establishment:
    contact = est.get("contact") or {}
    open_ = lambda value: value if value else c.t("us_not_filled")
    address = est.get("address")
    if est.get("fei"):
        fei = est["fei"]
    else:
        fei = f"{c.t('us_no_fei')}: {est['fei_exemption']}" if est.get("fei_exemption") else c.t("us_not_filled")
    rows = [(c.t("us_est_name"), est["name"] + (f", {est['site_name']}" if est.get("site_name") else "")),
            (c.t("us_address"), _joined(address) if address else c.t("us_not_filled")),
            (c.t("us_fei"), fei), (c.t("us_duns"), open_(est.get("duns"))),
            (c.t("us_contact"), contact["name"] + (f", {contact['title']}" if contact.get("title") else "")
             if contact.get("name") else c.t("us_not_filled")),
            (c.t("us_telephone"), open_(contact.get("telephone"))), (c.t("us_email"), open_(contact.get("email"))),
            (c.t("us_country"), open_(address.get("country") if address else None))]
    rows += [(c.t("us_operations") if i == 0 else "", operation) for i, operation in enumerate(est.get("operations") or [])]
    ready = est.get("ready_for_inspection")
    when = f", {c.t('us_ready_on')} {est['ready_date']}" if est.get("ready_date") else ""
    rows.append((c.t("us_ready"), c.t("us_ready_" + ready.replace("/", "")) + when if ready else c.t("us_not_filled")))
    return Establishment(tuple(rows), f"{c.t('us_establishment')} {number}: {est['name']}")


def _open_field(c: ViewContext, g: dict) -> OpenField:
    if g.get("status") == "at_submission":
        note = c.t("us_at_submission")
    elif g.get("status") == "missing":
        note = Missing(g["source"])
    elif g.get("required"):
        note = c.t("us_in_form_required")
    elif g.get("status") == "optional":
        note = c.t("us_optional_not_given")
    else:
        note = c.t("us_in_form")
    return OpenField(g["number"], g["name"], note)


@view("us-356h")
def form_356h(c: ViewContext) -> Form356hView:
    form = c.h.regional_data("form_356h")
    return Form356hView(
        tuple((f["number"], f["name"], _shown(c, f["value"], f["status"])) for f in form["fields"]),
        tuple(_establishment(c, i, est) for i, est in enumerate(form["establishments"], 1)),
        tuple((r["type"], r["number"], r["holder"], r.get("subject") or DASH, r.get("loa_date") or DASH)
              for r in form["cross_references"]),
        tuple((f["number"], f["name"], _shown(c, f["value"], f["status"])) for f in form["certification"]),
        tuple(_open_field(c, g) for g in form["missing"]))


# China: 1.3.8.1 associated review -----------------------------------------------------------------

@dataclass(frozen=True)
class AssociatedReviewView:
    rows: tuple                # kind, name, registrant, registration number, status, letter of authorisation, sections
    declared: bool             # a material is listed that the announcement does not require (the note follows)
    missing: bool              # a required material is missing (the note follows)


_AR_DETAILS = {"api": "manufacturer", "packaging": "material"}


def _places(c: ViewContext, sections: list) -> str:
    """Return the Module 3 sections that describe a material (links where the document exists)."""
    items = []
    for s in sections:
        text = c.ref(s["number"]) if s.get("link") else f"{c.t('see_section')} {s['number']}"
        items.append(text + (c.t("cn_open") + s["subject"] + c.t("cn_close") if s.get("subject") else ""))
    return c.t("cn_list_sep").join(items) if items else c.t("cn_none")


@view("cn-associated-review")
def associated_review(c: ViewContext) -> AssociatedReviewView:
    review = c.h.regional_data("associated_review")
    none = c.t("cn_none")
    rows = []
    for m in review["materials"]:
        where = m["source"]
        detail = (c.t("cn_list_sep") + c.t(_AR_DETAILS[m["kind"]]) + c.t("cn_colon") + m["detail"]
                  if m.get("detail") and m["kind"] in _AR_DETAILS else "")
        name = m["name"] + detail + ("" if m.get("required") else c.t("cn_ar_declared_mark"))
        if m.get("missing"):
            registrant, number, status, loa = none, Missing(where), none, none
        elif m.get("registration_number"):
            registrant = m.get("registrant") or Missing(f"{where}.registrant")
            number = m["registration_number"]
            status = m.get("status") or Missing(f"{where}.status")
            loa = (c.t("cn_ar_loa_number") + m["loa"]["reference"] + c.t("cn_open") + m["loa"]["date"] + c.t("cn_close")
                   if m.get("loa") else Missing(f"{where}.loa"))
        elif m.get("submitted_with_application"):
            registrant, number, status, loa = none, c.t("cn_ar_submitted"), none, none
        else:
            registrant, number, status, loa = none, Missing(f"{where}.registration_number"), none, none
        rows.append((c.t("cn_kind_" + m["kind"]), name, registrant, number, status, loa, _places(c, m.get("sections") or [])))
    return AssociatedReviewView(tuple(rows), any(not m.get("required") for m in review["materials"]), bool(review.get("missing")))


# China: 1.3.3 quality standard and process --------------------------------------------------------

@dataclass(frozen=True)
class QualitySubject:
    heading: str               # "制剂：name（detail）"
    spec_missing: Missing | None
    spec_line: str             # title · number · version · status
    spec_ref: str              # where the details are (3.2.P.5.1 / 3.2.S.4.1)
    tests: tuple               # rows: test, method, criterion, ChP chapter
    spec_caption: str
    process_ref: str
    steps: tuple               # rows: number, name, critical parameters
    process_caption: str


@dataclass(frozen=True)
class QualityStandardView:
    intro: str
    subjects: tuple[QualitySubject, ...]


def _criterion_cell(c: ViewContext, test: dict) -> str:
    colon, usage = c.t("cn_colon"), test.get("usage") or []
    if test.get("shelf_life_criterion"):
        return (c.t("release") + colon + test["criterion"] + c.t("cn_list_sep") + c.t("shelf_life") + colon
                + test["shelf_life_criterion"])
    if "shelf_life" not in usage:
        return test["criterion"] + c.t("cn_open") + c.t("cn_qs_release_only") + c.t("cn_close")
    if "release" not in usage:
        return test["criterion"] + c.t("cn_open") + c.t("cn_qs_shelf_life_only") + c.t("cn_close")
    return test["criterion"]


def _parameter_text(c: ViewContext, p: dict) -> str:
    if p.get("setting"):
        value = p["setting"]
    elif p.get("range"):
        value = c.rng(p["range"]) + (c.t("cn_open") + c.t("cn_qs_target") + c.qty({"value": p["target"], "unit": p["range"].get("unit")})
                                     + c.t("cn_close") if p.get("target") is not None else "")
    elif p.get("target") is not None:
        value = c.qty({"value": p["target"], "unit": p.get("unit")})
    else:
        value = c.t("cn_none")
    return f"{p['name']}{c.t('cn_colon')}{value}"


def _quality_subject(c: ViewContext, s: dict, label: str, spec_number: str, process_number: str, named: bool) -> QualitySubject:
    colon, opening, closing = c.t("cn_colon"), c.t("cn_open"), c.t("cn_close")
    detail = opening + s["detail"] + closing if s.get("detail") else ""
    caption_name = s["name"] + detail if named else s["name"]
    where = lambda number: c.ref(number) if s.get("link") else f"{c.t('see_section')} {number}"
    spec = s.get("specification")
    line, tests = "", ()
    if spec:
        line = (c.t("specification") + colon + str(spec["title"])
                + (f" · {c.t('document_number')}{colon}{spec['number']}" if spec.get("number") else "")
                + f" · {c.t('version')}{colon}{spec['version']} · {c.t('status')}{colon}{c.t(spec['status'])}")
        tests = tuple((t["name"], f"{t['method']} {t['method_title']}" if t.get("method_title") else t["method"],
                       _criterion_cell(c, t), c.t("cn_qs_chp_chapter") + t["chp"] if t.get("chp") else c.t("cn_none"))
                      for t in s.get("tests") or [])
    steps = []
    for step in s.get("steps") or []:
        params = [_parameter_text(c, p) for p in step.get("parameters") or []]
        name = step["name"] + (opening + c.t("cn_qs_critical_step") + closing if step.get("critical") else "")
        steps.append((step["number"], name, c.t("cn_list_sep").join(params) if params else c.t("cn_qs_no_cpp")))
    return QualitySubject(label + colon + s["name"] + detail, None if spec else Missing("control.specification"), line,
                          where(spec_number), tests, c.t("cn_qs_spec_caption").replace("{name}", caption_name),
                          where(process_number), tuple(steps), c.t("cn_qs_process_caption").replace("{name}", caption_name))


@view("cn-quality-standard")
def quality_standard(c: ViewContext) -> QualityStandardView:
    qs = c.h.regional_data("quality_standard")
    suffix = "_biologic" if qs["biologic"] else ""
    subjects = [_quality_subject(c, p, c.t("cn_qs_product" + suffix), "3.2.P.5.1", "3.2.P.3.3", False) for p in qs["products"]]
    subjects += [_quality_subject(c, s, c.t("cn_qs_substance" + suffix), "3.2.S.4.1", "3.2.S.2.2", len(qs["substances"]) > 1)
                 for s in qs["substances"]]
    return QualityStandardView(c.t("cn_qs_intro" + suffix), tuple(subjects))


# EU: electronic application form data -------------------------------------------------------------
# The EU documents are in English, so their cells are computed here at once (missing data paths are
# recorded in the order the form lists them, as before).

@dataclass(frozen=True)
class ManufacturerList:
    title: str
    rows: tuple                # manufacturer, authorisation, activities, products or substances
    header: str                # the last column's label
    caption: str


@dataclass(frozen=True)
class CompositionTable:
    header: tuple
    rows: tuple                # component, function, standard, quantity
    caption: str


@dataclass(frozen=True)
class ProductComposition:
    name: str
    tables: tuple[CompositionTable, ...]


@dataclass(frozen=True)
class EafView:
    application: tuple         # rows: item, value
    release: tuple | None      # one row: manufacturer, authorisation (None: not named)
    release_missing: object    # the missing marker when there is no EEA batch release site
    manufacturers: tuple[ManufacturerList, ...]
    composition: tuple[ProductComposition, ...]


def site_cell(c: ViewContext, s: dict):
    """Return a site as a table cell: the name in bold, the site name, the address on one line."""
    from ..text import Markdown, escape_md

    return Markdown(f"**{escape_md(s['name'])}**" + (f", {escape_md(s['site_name'])}" if s.get("site_name") else "")
                    + f", {escape_md(c.address(s.get('address')))}")


def _authorisation(c: ViewContext, s: dict):
    if s.get("eu_mia"):
        return c.t("eu_eaf_mia") + c.t("eu_colon") + s["eu_mia"]
    if s.get("eea"):
        return c.h.missing(f"sites.yaml {s['id']}.identifiers.eu_mia")
    items = [e["authority"] + " " + c.t("eu_eaf_gmp_" + e["type"]) + (" " + e["reference"] if "reference" in e else "")
             + c.t("eu_enum_sep") + e["date"] + (" (" + e["outcome"] + ")" if "outcome" in e else "")
             for e in s.get("gmp_evidence") or []]
    return (c.t("eu_eaf_third_country") + " (" + s["country"] + ")" + c.t("eu_colon")
            + (c.t("eu_list_sep").join(items) if items else c.t("eu_eaf_no_gmp_evidence")))


@view("eu-eaf-data")
def eaf_data(c: ViewContext) -> EafView:
    eaf = c.h.regional_data("eaf")
    ind = c.stage == "ind"
    procedure = c.t("eu_eaf_procedure_" + eaf["procedure"]) if eaf.get("procedure") else c.h.missing("markets/eu.yaml procedure")
    if eaf.get("proprietary_name"):
        name = eaf["proprietary_name"]
    else:
        name = c.t("not_applicable") if ind else c.h.missing("application.yaml proprietary_names.eu")
    if eaf.get("mah"):
        mah = eaf["mah"]["name"] + c.t("eu_enum_sep") + c.address(eaf["mah"]["address"])
    else:
        mah = c.t("not_applicable") if ind else c.h.missing("markets/eu.yaml mah")
    inn = eaf.get("inn") or c.h.missing("application.yaml inn")
    application = ((c.t("eu_eaf_procedure"), procedure), (c.t("eu_eaf_proprietary_name"), name), (c.t("eu_eaf_inn"), inn),
                   (c.t("eu_eaf_mah"), mah))
    site = eaf.get("batch_release_site")
    release, release_missing = None, None
    if site:
        release = ((site_cell(c, site), _authorisation(c, site)),)
        if not site.get("eea"):
            release_missing = c.h.missing("markets/eu.yaml batch_release_site")
    else:
        release_missing = c.h.missing("markets/eu.yaml batch_release_site")
    lists = []
    for key, title, caption, column in (("drug_product_manufacturers", "eu_eaf_dp_manufacturers", "eu_eaf_dp_caption", "eu_eaf_products"),
                                        ("active_substance_manufacturers", "eu_eaf_as_manufacturers", "eu_eaf_as_caption", "eu_eaf_substances")):
        rows = []
        for s in eaf[key]:
            roles, subjects = [], []
            for a in s["activities"]:
                roles.append(c.t("s_site_role_" + a["role"]))
                subjects += [x["name"] for x in a["subjects"] if x["name"] not in subjects]
            rows.append((site_cell(c, s), _authorisation(c, s), c.t("eu_list_sep").join(roles), c.t("eu_list_sep").join(subjects)))
        lists.append(ManufacturerList(c.t(title), tuple(rows), c.t(column), c.t(caption)))
    composition = []
    for product in eaf["composition"]:
        found = []
        for strength in product["strengths"]:
            rows = tuple((x["name"] + (c.t("p_removed_mark") if x.get("removed_during_process") else ""), x["function"],
                          c.tx(x["standard"]), c.qty(x["quantity"])) for x in strength["components"])
            unit = (strength.get("unit_of_presentation") or c.t("strength")).lower()
            header = (c.t("component"), c.t("function"), c.t("quality_standard"), c.t("eu_eaf_quantity").replace("{unit}", unit))
            found.append(CompositionTable(header, rows, c.t("eu_eaf_composition_caption").replace("{product}", product["name"])
                                          .replace("{strength}", strength["label"])))
        composition.append(ProductComposition(product["name"], tuple(found)))
    return EafView(application, release, release_missing, tuple(lists), tuple(composition))
