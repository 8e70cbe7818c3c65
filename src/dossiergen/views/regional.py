"""Views of the regional annex documents (regional/*/templates): each reads the data dict its
regional builder computes (the same dict the JSON package holds, render's regional_data) and
hands the template ready rows and sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..markets import market_roles
from . import ViewContext, view
from .types import Joined, Missing, Printable, Text

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
    others = Joined(tuple(Text.of(s.data.get("legal_name")) for s in c.model.of_type("site")
                          if s.id not in listed and market_roles(s.data, "us")), "; ")
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
        text = c.ref(s["number"], tuple(s["owners"]), named=False) if s.get("owners") else c.ref(s["number"])
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
        rows.append((m.get("category") or c.t("cn_kind_" + m["kind"]), name, registrant, number, status, loa, _places(c, m.get("sections") or [])))
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
    where = lambda number: c.ref(number, s["id"], named=False) if s.get("id") else c.ref(number)
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
    subjects += [_quality_subject(c, s, c.t(s.get("label_key") or "cn_qs_substance" + suffix), "3.2.S.4.1", "3.2.S.2.2",
                                  len(qs["substances"]) > 1) for s in qs["substances"]]  # label_key: by role (roles.py)
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


# EU (and UK): QP declaration on the active substance ------------------------------------------------

@dataclass(frozen=True)
class Cell(Printable):
    """A table cell of several parts printed as one: data strings escaped, Markdown (literal template
    text, markers) as it is, typed values (Missing) as they print, where the table prints them."""

    parts: tuple

    def show(self, h):
        from ..text import Markdown, escape_md

        out = []
        for part in self.parts:
            value = part.show(h) if isinstance(part, Printable) else part
            out.append(value if isinstance(value, Markdown) else escape_md(value))
        return Markdown("".join(out))


def _mia(s: dict, uk: bool = False):
    """Return a site's manufacturing authorisation number: the EU MIA, or the UK MIA for a UK QP's declaration."""
    key = "uk_mia" if uk else "eu_mia"
    return s[key] if s.get(key) else Missing(f"sites.yaml {s['id']}.identifiers.{key}")


@dataclass(frozen=True)
class QpDeclarationView:
    reference: str
    uk_reuse: object           # UK: the reuse statement, or the missing marker; None elsewhere
    substance: str
    part_a_intro: str
    part_a: tuple              # rows: site and address, operations
    part_a_caption: str
    part_b_intro: str
    part_b: tuple              # rows: MIA holder, MIA number, activity
    on_site: bool              # (i): all audits on site
    not_audited: tuple[Missing, ...]  # part A sites no audit covers
    audits: tuple              # rows: MIA holder, auditing body, site audited, date, on site
    declaration_text: str
    on_behalf: str             # the sentence naming the other MIA holders ("" if none)
    signature: tuple           # rows: item, value
    where: str                 # the data path of this declaration (for empty tables)


@view("eu-qp-declaration")
def qp_declaration(c: ViewContext) -> QpDeclarationView:
    from ..text import Markdown

    declaration = c.scope("declaration")
    uk = c.model.single("market-uk") if c.market == "uk" else {}
    own = [e for e in uk.get("qp_declarations") or [] if isinstance(e, dict)]
    uk_own = bool(own) and uk.get("qp_declaration_from_eu") is not True  # the UK QP's own declarations
    entries = own if uk_own else [e for e in c.model.single("market-eu").get("qp_declarations") or [] if isinstance(e, dict)]
    index = next((i for i, e in enumerate(entries) if e is declaration), 0)
    where = f"markets/{'uk' if uk_own else 'eu'}.yaml qp_declarations[{index}]"
    qpd = c.h.regional_data("uk_qp_declarations" if uk_own else "qp_declarations")[index]
    name = qpd["substance"]["name"]
    uk_reuse = None
    if uk_own:
        uk_reuse = c.t("eu_qpd_uk_own")
    elif c.market == "uk":
        uk_reuse = (c.t("eu_qpd_uk_reuse") if uk.get("qp_declaration_from_eu")
                    else Missing("markets/uk.yaml qp_declaration_from_eu"))
    part_a = tuple((site_cell(c, s), s["operations"]) for s in qpd["part_a"])
    part_b = tuple((site_cell(c, m), _mia(m, uk_own), c.t("eu_list_sep").join(c.t("eu_qpd_activity_" + a) for a in m["activity"]))
                   for m in qpd["part_b"])
    part_c = qpd["part_c"]
    audited = [a["audited_site"]["id"] for a in part_c["audits"] if a.get("audited_site")]
    not_audited = tuple(Missing(f"{where}.audits (no audit of {s['id']})") for s in qpd["part_a"] if s["id"] not in audited)
    audits = []
    for i, a in enumerate(part_c["audits"]):
        if a.get("audit_type") == "self":
            body = ""
        else:
            body = a.get("auditing_body") or Missing(f"{where}.audits[{i}].auditing_body")
        date = Cell((a["date"],) if a.get("within_validity") else
                    (a["date"], Markdown(" "), Missing(f"{where}.audits[{i}].date (audit more than 3 years old)")))
        audits.append((a["miah_site"]["name"], body, a["audited_site"]["name"], date, c.t("eu_yes") if a.get("on_site") else c.t("eu_no")))
    qp = qpd["qp"]
    behalf = [s["name"] + (f" ({s['eu_mia']})" if s.get("eu_mia") else "") for s in qp.get("on_behalf_of") or []]
    qp_site = qp.get("site")
    signature = ((c.t("eu_qpd_qp_name"), qp.get("name") or Missing(f"{where}.qp.name")),
                 (c.t("eu_qpd_qp_site"), qp_site["name"] if qp_site else Missing(f"{where}.qp.site")),
                 (c.t("eu_qpd_miah_number"), _mia(qp_site, uk_own) if qp_site else ""),
                 (c.t("eu_qpd_on_behalf_of"), c.t("eu_list_sep").join(behalf) if behalf else c.t("eu_qpd_none_other")),
                 (c.t("eu_qpd_date"), qp.get("date") or c.t("eu_qpd_blank")),
                 (c.t("eu_qpd_signature"), c.t("eu_qpd_blank")))
    fill = lambda key: c.t(key).replace("{substance}", name)
    return QpDeclarationView(
        qpd["reference"], uk_reuse, name, fill("eu_qpd_part_a_intro"), part_a, fill("eu_qpd_part_a_caption"),
        fill("eu_qpd_part_b_intro"), part_b, bool(part_c.get("on_site")), not_audited, tuple(audits),
        fill("uk_qpd_declaration_text" if uk_own else "eu_qpd_declaration_text"),  # the UK QP declares under UK law
        c.t("eu_qpd_on_behalf_text").replace("{sites}", c.t("eu_list_sep").join(behalf)) if behalf else "",
        signature, where)


# UK: regional information --------------------------------------------------------------------------

@dataclass(frozen=True)
class QpdItem:
    miahs: str                 # "QP declaration REF: MIA holders …"
    release_not_named: str | None


@dataclass(frozen=True)
class UkView:
    route_rows: tuple
    route_statements: tuple[str, ...]
    licence_rows: tuple
    licence_note: str | None
    prefix_missing: Missing | None
    mah_rows: tuple | None     # None: no MAH (mah_missing)
    mah_missing: Missing | None
    release_rows: tuple
    testing_rows: tuple
    testing_empty: str
    unlisted: str              # sites that test on release but are not listed ("" if none)
    qp_undetermined: bool
    qp_reasons: tuple[str, ...]
    qp_line: object            # certified-by sentence, missing marker, EEA statement, or None
    qp_not_required: bool
    labelling: object          # a statement or the missing marker
    qpd_intro: object          # IND statement, reuse sentence, or the missing marker
    qpd_items: tuple[QpdItem, ...]


def _uk_mia(c: ViewContext, s: dict):
    if s.get("uk_mia"):
        return s["uk_mia"] if s["uk_mia"].startswith("MIA") else c.t("uk_mia") + c.t("uk_colon") + s["uk_mia"]
    if s.get("country") != "GB" and s.get("eu_mia"):
        return c.t("uk_eu_mia") + c.t("uk_colon") + s["eu_mia"]
    return Missing(f"sites.yaml {s['id']}.identifiers.uk_mia")


@view("uk-regional")
def uk_regional(c: ViewContext) -> UkView:
    uk = c.h.regional_data("uk")
    ind = c.stage == "ind"
    route, where = uk["route"], "markets/uk.yaml "
    rows = [(c.t("uk_route_type"), c.t("uk_route_" + route["type"]) if route.get("type") else Missing(where + "route.type"))]
    days = str(route.get("assessment_days"))
    if route.get("type") == "irp":
        rows.append((c.t("uk_reference_regulator"), route.get("reference_regulator") or Missing(where + "route.reference_regulator")))
        rows.append((c.t("uk_recognition"), c.t("uk_recognition_value").replace("{route}", route["recognition"]).replace("{days}", days)
                     if route.get("recognition") else Missing(where + "route.recognition")))
        rows.append((c.t("uk_reference_approval_date"), route.get("reference_approval_date")
                     or Missing(where + "route.reference_approval_date")))
        same = route.get("same_product")
        rows.append((c.t("uk_same_product"), Missing(where + "route.same_product") if same is None
                     else (c.t("uk_yes") if same else c.t("uk_no"))))
    statements = []
    if route.get("type") == "irp" and route.get("reference_regulator") and route.get("recognition") and route.get("reference_approval_date"):
        statements.append(c.t("uk_irp_statement").replace("{regulator}", route["reference_regulator"])
                          .replace("{date}", route["reference_approval_date"]).replace("{route}", route["recognition"])
                          .replace("{days}", days))
        if route.get("same_product") is not None:
            statements.append(c.t("uk_same_product_yes") if route["same_product"] else c.t("uk_same_product_no"))
    elif route.get("type") == "national":
        statements.append(c.t("uk_national_statement"))
    elif route.get("type") == "clinical_trial":
        statements.append(c.t("uk_ct_statement"))
    licence = uk["licence"]
    if licence.get("pl_number"):
        number = licence["pl_number"]
    else:
        number = c.t("not_applicable") if route.get("type") == "clinical_trial" else Missing(where + "licence.pl_number")
    licence_rows = ((c.t("uk_pl_number"), number),
                    (c.t("uk_scope"), c.t("uk_scope_" + licence["scope"]) if licence.get("scope") else Missing(where + "licence.scope")))
    note = None
    if licence.get("scope"):
        note = (c.t("uk_licence_uk_wide") if licence.get("uk_wide") else c.t("uk_licence_legacy")).replace(
            "{date}", str(licence.get("windsor_framework_date")))
    prefix = Missing(where + "licence.pl_number (prefix does not match the scope)") if licence.get("prefix_matches_scope") is False else None
    mah_rows, mah_missing = None, None
    if uk.get("mah"):
        mah = uk["mah"]
        established = (c.t("uk_established_" + mah["established_in"]) if mah["established_in"] != "other"
                       else Missing(where + "mah.address.country (not in the UK or the EU/EEA)"))
        mah_rows = ((c.t("uk_mah_name"), mah["name"]), (c.t("address"), c.address(mah.get("address"))),
                    (c.t("uk_mah_established"), established))
    else:
        mah_missing = Missing(where + "mah")
    release, importer = uk.get("batch_release_site"), uk.get("importer_site")
    release_rows = [(c.t("uk_role_release"), site_cell(c, release) if release else Missing(where + "batch_release_site"),
                     _uk_mia(c, release) if release else "")]
    if importer:
        release_rows.append((c.t("uk_role_importer"), site_cell(c, importer), _uk_mia(c, importer)))
    elif uk.get("imported"):
        release_rows.append((c.t("uk_role_importer"), Missing(where + "importer_site"), ""))
    testing = tuple((site_cell(c, s), s["country"], c.t("uk_yes") if s.get("approved_for_batch_testing") else
                     Missing(f"{where}batch_testing_sites ({s['id']}: country not approved for batch testing)"),
                     c.t("uk_basis_" + s["basis"]) if s.get("basis") else DASH) for s in uk["batch_testing_sites"])
    unlisted = ""
    if uk.get("release_testing_sites_not_listed"):
        unlisted = c.t("uk_testing_unlisted").replace("{sites}", c.t("uk_list_sep").join(
            s["name"] for s in uk["release_testing_sites_not_listed"]))
    qp = uk["uk_qp_certification"]
    undetermined = not uk["batch_testing_sites"] and not release
    reasons, qp_line = [], None
    if not undetermined:
        for r in qp["reasons"]:
            names = []
            for s in uk["batch_testing_sites"] + ([release] if release else []):
                if s["id"] in r["sites"] and s["name"] not in names:
                    names.append(s["name"] + c.t("uk_enum_sep") + s["country"])
            label = c.t("uk_qp_required") if r["reason"] == "tested_in_mra_country" else c.t("uk_qp_required_release")
            reasons.append(label.replace("{sites}", c.t("uk_list_sep").join(names)))
        if qp.get("certified_in_uk"):
            qp_line = c.t("uk_qp_certified_by").replace("{site}", release["name"]).replace("{mia}", str(release["uk_mia"]))
        elif qp.get("required"):
            qp_line = Missing(where + "batch_release_site (a UK MIA holder for UK QP certification)")
        elif release and release.get("eea"):
            qp_line = c.t("uk_qp_eea_recognised")
    if ind:
        labelling = c.t("uk_label_ind")
    elif uk.get("uk_only_label"):
        labelling = c.t("uk_label_uk_only").replace("{date}", str(licence.get("windsor_framework_date")))
    else:
        labelling = Missing(where + "uk_only_label")
    items = []
    if ind:
        qpd_intro = c.t("uk_qpd_ind")
    elif uk.get("qp_declaration_from_eu"):
        qpd_intro = c.t("uk_qpd_from_eu").replace("{references}", c.t("uk_list_sep").join(d["reference"] for d in uk["qp_declarations"]))
        for d in uk["qp_declarations"]:
            miahs = c.t("uk_qpd_miahs").replace("{reference}", d["reference"]).replace(
                "{sites}", c.t("uk_list_sep").join(c.site_name(m) for m in d["miah_sites"]))
            items.append(QpdItem(miahs, c.t("uk_qpd_release_not_named").replace("{site}", release["name"]).replace(
                "{reference}", d["reference"]) if release and not d.get("names_uk_release_site") else None))
    elif uk.get("own_qp_declarations"):
        qpd_intro = c.t("uk_qpd_own").replace("{references}", c.t("uk_list_sep").join(
            str(d["reference"]) for d in uk["own_qp_declarations"]))
        for d in uk["own_qp_declarations"]:
            if release and d.get("qp_site") != release["id"]:
                items.append(QpdItem(c.t("uk_qpd_miahs").replace("{reference}", str(d["reference"])).replace(
                    "{sites}", c.site_name(d["qp_site"]) if d.get("qp_site") else "–"),
                    c.t("uk_qpd_release_not_named").replace("{site}", release["name"]).replace("{reference}", str(d["reference"]))))
    else:
        qpd_intro = Missing("markets/uk.yaml qp_declarations (the UK QP's own declaration), or qp_declaration_from_eu")
    return UkView(tuple(rows), tuple(statements), licence_rows, note, prefix, mah_rows, mah_missing, tuple(release_rows),
                  testing, where + "batch_testing_sites", unlisted, undetermined, tuple(reasons), qp_line,
                  not qp.get("required"), labelling, qpd_intro, tuple(items))
