"""EU regional data: model -> application form (eAF) data and QP declarations (EMA/334808/2014).

Everything comes from the model: sites, roles and authorisation numbers from sites.yaml, names and
composition from the substance and product files, and only what the EU alone needs from
markets/eu.yaml. Text is given in English (the language of EU submissions)."""

from __future__ import annotations

import datetime as _dt
import json

from ..clock import today
from ..markets import market_roles
from ..text import address_parts, english as _en, pick

# The EEA: the 27 EU member states plus Iceland, Liechtenstein and Norway (EEA Agreement),
# as ISO 3166-1 alpha-2 codes (Greece is GR, not the EU's EL).
EEA = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
       "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO")

# eAF 2.5: which sites.yaml roles make a site a finished-product or an active-substance manufacturer.
PRODUCT_ROLES = ("drug_product_manufacture", "primary_packaging", "secondary_packaging", "labelling", "release_testing",
                 "importer", "batch_release")
SUBSTANCE_ROLES = ("drug_substance_manufacture", "intermediate_manufacture", "cell_bank_manufacture", "cell_bank_storage",
                   "release_testing")
# Roles that belong to one market: importation into, and QP certification for, the EEA only count for EEA sites
# (a UK importer is no EU importer); a role naming its markets counts only for them (market_roles).
EEA_ONLY_ROLES = ("importer", "batch_release")
AUDIT_VALID_YEARS = 3  # the supporting audit must be within 3 years (market-eu schema; regulatory.md §4.1)


def english_address(value) -> dict:
    """Return an address with its texts in English, keeping only the parts given."""
    return address_parts(value)


def site_record(model, site_id) -> dict | None:
    """Return a site's names, address, country and authorisation numbers (None when no id is given)."""
    if not site_id:
        return None
    site = model.get(site_id, "site")
    data = site.data if site else {}
    ids, address = data.get("identifiers") or {}, english_address(data.get("address"))
    evidence = [{k: e.get(k) for k in ("authority", "type", "reference", "date", "outcome") if e.get(k)}
                for e in data.get("gmp_evidence") or [] if isinstance(e, dict)]
    return {"id": site_id, "name": _en(data.get("legal_name")) or str(site_id), "site_name": _en(data.get("site_name")),
            "address": address, "country": address.get("country"), "eea": address.get("country") in EEA,
            "eu_mia": ids.get("eu_mia"), "uk_mia": ids.get("uk_mia"), "gmp_evidence": evidence}


def _subject_name(model, subject_id) -> str:
    entity = model.get(subject_id)
    data = entity.data if entity else {}
    return _en(data.get("substance") or data.get("name")) or str(subject_id)


def manufacturers(model, subject_ids: list, roles: tuple, market: str = "eu") -> list[dict]:
    """Return the sites with one of these roles for one of these subjects, in sites.yaml order; only
    the roles that serve the market (a site processing China's lots only is not in the eAF)."""
    found = []
    for site in model.of_type("site"):
        record, activities = site_record(model, site.id), []
        for entry in market_roles(site.data, market):
            subjects = [s for s in entry.get("subjects") or [] if s in subject_ids]
            if entry.get("role") in roles and subjects and (record["eea"] or entry.get("role") not in EEA_ONLY_ROLES):
                activities.append({"role": entry["role"], "operations": _en(entry.get("operations")),
                                   "subjects": [{"id": s, "name": _subject_name(model, s)} for s in subjects]})
        if activities:
            found.append({**record, "activities": activities})
    return found


def _composition(model, product: dict) -> dict:
    strengths = []
    for strength in product.get("strengths") or []:
        components = [{"component": c.get("component"), "name": _subject_name(model, c.get("component")),
                       "quantity": (c.get("quantities") or {}).get(strength.get("id")), "function": _en(c.get("function")),
                       "standard": pick(c.get("standard"), "en"), "removed_during_process": bool(c.get("removed_during_process"))}
                      for c in product.get("composition") or [] if strength.get("id") in (c.get("quantities") or {})]
        strengths.append({"id": strength.get("id"), "label": _en(strength.get("label")),
                          "unit_of_presentation": _en(strength.get("unit_of_presentation")), "components": components})
    return {"product": product.get("id"), "name": _en(product.get("name")), "dosage_form": _en(product.get("dosage_form")),
            "strengths": strengths}


def eaf_data(model, stage: str) -> dict:
    """Return the eAF data: procedure, MAH, batch release site, manufacturers by role, composition."""
    market, app = model.single("market-eu"), model.single("application")
    products = [p.data for p in model.of_type("product")]
    substances = [s.id for s in model.of_type("substance")]  # every active-substance site, intermediates included
    mah = market.get("mah")
    return {"market": "eu", "stage": stage, "procedure": market.get("procedure"),
            "proprietary_name": (app.get("proprietary_names") or {}).get("eu"), "inn": _en(app.get("inn")),
            "mah": {"name": mah.get("name"), "address": english_address(mah.get("address"))} if mah else None,
            "batch_release_site": site_record(model, market.get("batch_release_site")),
            "drug_product_manufacturers": manufacturers(model, [p.get("id") for p in products], PRODUCT_ROLES),
            "active_substance_manufacturers": manufacturers(model, substances, SUBSTANCE_ROLES),
            "composition": [_composition(model, p) for p in products]}


def _audit(model, audit: dict, now: _dt.date) -> dict:
    date = _dt.date.fromisoformat(audit["date"]) if audit.get("date") else None
    age = round((now - date).days / 365.25, 1) if date else None
    self_audit = audit.get("audit_type") == "self"
    return {"miah_site": site_record(model, audit.get("miah_site")), "audit_type": audit.get("audit_type"),
            "auditing_body": None if self_audit else audit.get("auditing_body"),
            "audited_site": site_record(model, audit.get("audited_site")), "date": audit.get("date"),
            "on_site": bool(audit.get("on_site")), "age_years": age,
            "within_validity": age is not None and 0 <= age <= AUDIT_VALID_YEARS}


def _declaration(model, entry: dict, now: _dt.date) -> dict:
    qp = entry.get("qp") or {}
    audits = [_audit(model, a, now) for a in entry.get("audits") or []]
    return {"reference": entry.get("reference"), "substance": {"id": entry.get("substance"),
                                                               "name": _subject_name(model, entry.get("substance"))},
            "part_a": [{**site_record(model, s.get("site")), "operations": s.get("operations")} for s in entry.get("sites") or []],
            "part_b": [{**site_record(model, m.get("site")), "activity": list(m.get("activity") or [])}
                       for m in entry.get("miahs") or []],
            "part_c": {"on_site": bool(audits) and all(a["on_site"] for a in audits), "audits": audits},
            "qp": {"name": qp.get("name"), "site": site_record(model, qp.get("site")), "date": qp.get("date"),
                   "on_behalf_of": [site_record(model, s) for s in qp.get("on_behalf_of") or []]}}


def qp_declarations_data(model, stage: str) -> list[dict]:
    """Return each QP declaration of markets/eu.yaml with its sites, MIAHs, audits (ages as of today) and QP."""
    now = today()
    return [_declaration(model, entry, now) for entry in model.single("market-eu").get("qp_declarations") or []
            if isinstance(entry, dict)]


DATA = {"eaf": eaf_data, "qp_declarations": qp_declarations_data}


def packages(context) -> list[tuple[str, bytes]]:
    """Return the eu data files: regional/eu/eaf-data.json (marketing only: a clinical trial
    application goes through CTIS, with no eAF)."""
    if context.stage != "marketing":
        return []
    data = eaf_data(context.model, context.stage)
    return [("regional/eu/eaf-data.json", (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))]
