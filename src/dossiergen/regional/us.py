"""United States regional data: the Form FDA 356h fields the dossier fills, and their JSON/XML files.

The official 356h is an FDA interactive PDF form that the applicant completes and signs; this tool
never synthesises or signs it. It gives the data for it in the form's own numbering, and the data
sheet and the establishment annex are rendered from the same dict. A field the data does not fill
is kept with value None and listed under "missing": nothing is invented. Pure functions of the model.
"""

from __future__ import annotations

import json

from lxml import etree

from ..labels import labels
from ..markets import market_roles
from ..text import address_parts, english as _en

FORM = "Form FDA 356h"
FORM_TITLE = "Application to Market a New or Abbreviated New Drug or Biologic for Human Use"
NOTE = ("Data for the official interactive Form FDA 356h, taken from the dossier. This is not the form: the "
        "applicant enters these data in the official FDA form, and the responsible official signs it there.")
NUMBERING = ("Field numbers follow the form instructions (revision R14); numbers 21 to 31 are to be checked "
             "against the current revision of the form.")
US = "markets.us.form_356h."
# Site roles that make a site a field 29 establishment: manufacture, packaging or testing of a drug
# substance or drug product. Starting materials, importation, batch certification for other markets
# and distribution are not listed.
CATEGORY = {**dict.fromkeys(("drug_substance_manufacture", "intermediate_manufacture", "cell_bank_manufacture",
                             "cell_bank_storage", "drug_product_manufacture", "cell_processing"), "manufacture"),
            **dict.fromkeys(("primary_packaging", "secondary_packaging", "labelling"), "packaging"),
            **dict.fromkeys(("release_testing", "stability_testing"), "testing")}
SUBMISSION = {"original": "Original application", "amendment": "Amendment to a pending application",
              "resubmission": "Resubmission", "supplement": "Supplement", "annual_report": "Annual report"}
MARKETING = {"Rx": "Prescription (Rx)", "OTC": "Over-the-counter (OTC)"}
OPEN = ("at_submission", "missing", "optional", "not_in_data")


def form_356h_data(model, stage: str) -> dict:
    """Return every Form FDA 356h field the dossier can fill, in the form's order; gaps under 'missing'."""
    app, form = model.single("application"), model.single("market-us").get("form_356h") or {}
    fields = _applicant(app, form) + _product(app, form, model) + _application(form)
    establishments, certification = _establishments(model), _certification(form)
    missing = ([_gap(f) for f in fields if f["status"] in OPEN] + _establishment_gaps(establishments, stage)
               + [_gap(f) for f in certification if f["status"] in OPEN])
    return {"source": "dossiergen", "form": FORM, "title": FORM_TITLE, "note": NOTE, "numbering": NUMBERING,
            "fields": fields, "establishments": establishments, "cross_references": _cross_references(form),
            "certification": certification, "missing": missing}


def _field(number: str, name: str, value, source: str | None = None, *, required: bool = True,
           applies: bool = True, at_submission: bool = False) -> dict:
    """Return one form field; `status` says why it has no value when it has none."""
    if not applies:
        value, status = None, "not_applicable"
    elif value not in (None, "", {}):
        status = "filled"
    elif at_submission:
        status = "at_submission"
    else:  # no source: the data model has no place for it, it is completed in the form
        status = "not_in_data" if source is None else "missing" if required else "optional"
    return {"number": number, "name": name, "value": value, "source": source, "required": required, "status": status}


def _gap(field: dict) -> dict:
    return {key: field[key] for key in ("number", "name", "source", "required", "status")}


def _applicant(app: dict, form: dict) -> list[dict]:
    """Fields 1 to 6: date of submission, the applicant and its US agent."""
    sponsor = app.get("sponsor") or {}
    contact = sponsor.get("contact") or {}
    return [_field("1", "Date of submission", _us_date(form.get("submission_date")), US + "submission_date",
                   at_submission=True),
            _field("2", "Name of applicant", _en(sponsor.get("name")), "application.sponsor.name"),
            _field("3", "Telephone", contact.get("phone"), "application.sponsor.contact.phone"),
            _field("4", "Fax", None, required=False),
            _field("5", "Applicant address", _address(sponsor.get("address")), "application.sponsor.address"),
            _field("5", "Applicant email", contact.get("email"), "application.sponsor.contact.email"),
            _field("5", "Applicant DUNS number", sponsor.get("duns"), "application.sponsor.duns"),
            _field("5", "U.S. license number (if previously issued)", None, required=False)] + _us_agent(app, form)


def _us_agent(app: dict, form: dict) -> list[dict]:
    """Field 6: required for an applicant outside the United States."""
    foreign = ((app.get("sponsor") or {}).get("address") or {}).get("country") != "US"
    agent, src = form.get("us_agent"), US + "us_agent"
    if not agent:
        return [_field("6", "Authorized U.S. agent", None, src, applies=foreign)]
    contact = agent.get("contact") or {}
    parts = (("name", agent.get("name"), ".name"), ("address", _address(agent.get("address")), ".address"),
             ("telephone", contact.get("phone"), ".contact.phone"), ("email", contact.get("email"), ".contact.email"))
    return [_field("6", f"Authorized U.S. agent: {what}", value, src + path, applies=foreign)
            for what, value, path in parts] + [
        _field("6", "Authorized U.S. agent: DUNS number", None, required=False, applies=foreign)]


def _product(app: dict, form: dict, model) -> list[dict]:
    """Fields 7 to 15: application number, names, dosage forms, strengths, routes, indication."""
    products = [p.data for p in model.of_type("product")]
    routes = [labels().get(f"p_route_{r}", {}).get("en", r) for p in products for r in p.get("routes") or []]
    original = form.get("submission_type") == "original"
    return [_field("7", "NDA/ANDA/BLA application number", form.get("application_number"), US + "application_number"),
            _field("8", "Supplement number", None, applies=form.get("submission_type") == "supplement"),
            _field("9", "Established name (proper name, USP/USAN)", *_established_name(form, model)),
            _field("10", "Proprietary name", (app.get("proprietary_names") or {}).get("us"),
                   "application.proprietary_names.us", required=False),
            _field("11", "Chemical/biochemical/blood product name", *_chemical_name(form, model), required=False),
            _field("12", "Dosage form (SPL term)", _join(p.get("us_dosage_form") for p in products)
                   if all(p.get("us_dosage_form") for p in products) else None, "products.us_dosage_form"),
            _field("13", "Strengths", _strengths(products), "products.strengths"),
            _field("14", "Route of administration", _join(routes), "products.routes"),
            _field("15A", "Proposed indication for use", form.get("proposed_indication"), US + "proposed_indication",
                   required=original),
            _field("15A", "Indication: SNOMED CT term, rare disease, orphan designation", None, applies=original)]


def _established_name(form: dict, model) -> tuple:
    """Return (name, data path): a biological product's proper name from 3.2.S.1.1 (one place), else
    the 356h entry (the USP/USAN name of a drug)."""
    names = [((s.data.get("general") or {}).get("nomenclature") or {}).get("us_proper_name") for s in model.of_type("substance")]
    names = [n for n in names if n]
    if names:
        return _join(dict.fromkeys(names)), "substances.general.nomenclature.us_proper_name"
    return form.get("established_name"), US + "established_name"


def _chemical_name(form: dict, model) -> tuple:
    """Return (name, data path): the 356h entry, else the chemical names of the substances."""
    if form.get("chemical_name"):
        return form["chemical_name"], US + "chemical_name"
    names = _join(_en(((s.data.get("general") or {}).get("nomenclature") or {}).get("chemical_name"))
                  for s in model.of_type("substance"))
    return (names, "substances.general.nomenclature.chemical_name") if names else (None, US + "chemical_name")


def _strengths(products: list[dict]) -> str | None:
    several = len(products) > 1  # name the dosage form of each strength when there are several products
    return _join((f"{_en(p.get('dosage_form'))}: " if several else "") + (_en(s.get("label")) or "")
                 for p in products for s in p.get("strengths") or [])


def _application(form: dict) -> list[dict]:
    """Fields 16 to 28: application type and pathway, submission type, marketing status."""
    kind, path = form.get("application_type"), form.get("pathway")
    return [_field("16", "Application type", kind, US + "application_type"),
            _field("17", "NDA: 505(b)(1) or 505(b)(2)", path if path in ("505(b)(1)", "505(b)(2)") else None,
                   US + "pathway", applies=kind == "NDA"),
            _field("18", "BLA: 351(a) or 351(k)", path if path in ("351(a)", "351(k)") else None, US + "pathway",
                   applies=kind == "BLA"),
            _field("19", "351(k): biological reference product", None, applies=path == "351(k)"),
            _field("20", "Listed drug(s) relied upon and patent certification", None,
                   applies=kind == "ANDA" or path == "505(b)(2)"),
            _field("21", "Submission type", SUBMISSION.get(form.get("submission_type")), US + "submission_type"),
            _field("22-28", "Proposed marketing status", MARKETING.get(form.get("marketing_status")),
                   US + "marketing_status")]


def _establishments(model) -> list[dict]:
    """Field 29: one block per site that manufactures, packages or tests a drug substance or product."""
    subjects = {e.id: e for e in model.of_type("substance") + model.of_type("product")}
    found = []
    for site in model.of_type("site"):
        roles = [r for r in market_roles(site.data, "us")
                 if r.get("role") in CATEGORY and any(s in subjects for s in r.get("subjects") or [])]
        if roles:
            found.append(_establishment(site, roles, subjects))
    return found


def _establishment(site, roles: list[dict], subjects: dict) -> dict:
    data, ids, contact = site.data, site.data.get("identifiers") or {}, site.data.get("contact") or None
    return {"site": site.id, "name": _en(data.get("legal_name")), "site_name": _en(data.get("site_name")),
            "address": _address(data.get("address")), "fei": ids.get("fei"),
            "fei_exemption": None if ids.get("fei") else data.get("fei_exemption"), "duns": ids.get("duns"),
            "contact": contact and {"name": contact.get("name"), "title": contact.get("title"),
                                    "telephone": contact.get("phone"), "email": contact.get("email"),
                                    "country": (data.get("address") or {}).get("country")},
            "responsibilities": _responsibilities(roles, subjects),
            "operations": [_operation(r, subjects) for r in roles],
            "ready_for_inspection": data.get("inspection_ready"),
            "ready_date": _us_date(data.get("inspection_ready_date"))}


def _responsibilities(roles: list[dict], subjects: dict) -> list[dict]:
    """Return the roles grouped by drug substance/product and by manufacture/packaging/testing."""
    groups = []
    for kind, etype in (("drug_substance", "substance"), ("drug_product", "product")):
        for category in ("manufacture", "packaging", "testing"):
            chosen = [(r, [s for s in r.get("subjects") or [] if s in subjects and subjects[s].type == etype])
                      for r in roles if CATEGORY[r["role"]] == category]
            chosen = [(r, ids) for r, ids in chosen if ids]
            if chosen:
                groups.append({"subject_type": kind, "category": category,
                               "roles": list(dict.fromkeys(r["role"] for r, _ in chosen)),
                               "subjects": list(dict.fromkeys(_name(subjects[s]) for _, ids in chosen for s in ids))})
    return groups


def _operation(role: dict, subjects: dict) -> str:
    """Return one role as the form's 'operations performed': what, for which subjects, how, which tests."""
    names = _join((_name(subjects[s]) for s in role.get("subjects") or [] if s in subjects), "; ")
    text = f"{labels()['us_role_' + role['role']]['en']} ({names})"
    text += f": {_en(role['operations'])}" if role.get("operations") else ""
    return text + (f"; tests performed: {_en(role['tests'])}" if role.get("tests") else "")


def _name(entity) -> str:
    return _en(entity.data.get("substance" if entity.type == "substance" else "name")) or entity.id


def _establishment_gaps(establishments: list[dict], stage: str) -> list[dict]:
    """Return the establishment items the site data does not give (readiness only at marketing)."""
    gaps = [] if establishments else [("Establishment information", "sites")]
    for est in establishments:
        contact, ready, marketing = est["contact"] or {}, est["ready_for_inspection"], stage == "marketing"
        checks = [("FEI", est["fei"] or est["fei_exemption"], ".identifiers.fei"),
                  ("DUNS number", est["duns"], ".identifiers.duns"), ("contact", contact, ".contact")]
        checks += [("contact telephone", contact.get("telephone"), ".contact.phone"),
                   ("contact email", contact.get("email"), ".contact.email")] if contact else []
        checks += [("ready for inspection", ready, ".inspection_ready")] if marketing else []
        checks += [("date ready for inspection", est["ready_date"], ".inspection_ready_date")
                   ] if marketing and ready == "no" else []
        gaps += [(f"Establishment {est['name']}: {what}", f"sites.{est['site']}{path}")
                 for what, value, path in checks if not value]
    return [{"number": "29", "name": name, "source": source, "required": True, "status": "missing"}
            for name, source in gaps]


def _cross_references(form: dict) -> list[dict]:
    """Field 30: other applications and master files referenced."""
    return [{"type": r.get("type"), "number": r.get("number"), "holder": r.get("holder"),
             "subject": r.get("subject"), "loa_date": _us_date(r.get("loa_date"))}
            for r in form.get("cross_references") or []]


def _certification(form: dict) -> list[dict]:
    """Field 31: the responsible official (signature and date are given in the official form only)."""
    person, src = form.get("responsible_official") or {}, US + "responsible_official"
    return [_field("31", f"Responsible official: {what}", person.get(key), f"{src}.{key}")
            for what, key in (("name", "name"), ("title", "title"), ("telephone", "phone"), ("email", "email"))
            ] + [_field("31", "Responsible official: address", None, required=False)]


# values --------------------------------------------------------------------------------------------
def _join(values, sep: str = "; ") -> str | None:
    unique = list(dict.fromkeys(v for v in values if v))
    return sep.join(unique) if unique else None


def _address(value) -> dict | None:
    """Return an address in the parts of the form (English)."""
    if not isinstance(value, dict):
        return None
    parts = {"address_1": "street", "address_2": "building", "city": "city", "state_province_region": "region",
             "postal_code": "postal_code", "country": "country"}
    given = address_parts(value, tuple(parts.values()))
    return {part: given.get(key) for part, key in parts.items()}


def _us_date(value) -> str | None:
    """Return an ISO date as the form writes it (mm/dd/yyyy)."""
    if not value:
        return None
    year, month, day = str(value).split("-")
    return f"{month}/{day}/{year}"


# files ---------------------------------------------------------------------------------------------
def packages(context) -> list[tuple[str, bytes]]:
    """Return the 356h data files as JSON and XML; marketing stage only (an IND uses Form FDA 1571)."""
    if context.stage != "marketing":
        return []
    data = form_356h_data(context.model, context.stage)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return [("regional/us/form-fda-356h-data.json", text.encode("utf-8")),
            ("regional/us/form-fda-356h-data.xml", _xml(data))]


def _xml(data: dict) -> bytes:
    """Return the data as XML: <field number name> in form order, <establishment> blocks in field 29."""
    root = etree.Element("form356h", source=data["source"], form=data["form"])
    for key in ("title", "note", "numbering"):
        _xml_value(root, key, data[key])
    for field in data["fields"]:
        _xml_value(root, "field", field["value"], number=field["number"], name=field["name"], status=field["status"])
    block = etree.SubElement(root, "field", number="29", name="Establishment information")
    for est in data["establishments"]:
        _xml_value(block, "establishment", {k: v for k, v in est.items() if k != "site"}, site=est["site"])
    refs = etree.SubElement(root, "field", number="30", name="Cross references")
    for ref in data["cross_references"]:
        _xml_value(refs, "reference", ref)
    for field in data["certification"]:
        _xml_value(root, "field", field["value"], number=field["number"], name=field["name"], status=field["status"])
    missing = etree.SubElement(root, "missing")
    for gap in data["missing"]:
        _xml_value(missing, "field", gap["source"], number=gap["number"], name=gap["name"], status=gap["status"])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _xml_value(parent, tag: str, value, **attrs) -> None:
    """Add an element: text for a scalar, a child per key of a mapping, an <item> per list entry."""
    element = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_value(element, key, item)
    elif isinstance(value, list):
        for item in value:
            _xml_value(element, "item", item)
    elif value is not None:
        element.text = str(value)


DATA = {"form_356h": form_356h_data}
