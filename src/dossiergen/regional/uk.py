"""UK regional data: model -> MHRA route, licence, MAH, batch release, importation and batch testing.

From markets/uk.yaml (what only the UK needs) and sites.yaml (names, addresses, UK MIA numbers);
the country rules are the MHRA lists of approved countries below. Text is given in English."""

from __future__ import annotations

import json

from ..markets import market_roles
from .eu import EEA, english_address, manufacturers, site_record

# Human Medicines Regulations 2012 and the MHRA "List of approved countries for authorised human
# medicines" (gov.uk; shared/reference/regulatory.md §5):
# - approved for import: QP certification in these countries is recognised (the EEA);
# - approved for batch testing: the EEA plus the Mutual Recognition Agreement partners below; product
#   imported after testing in an MRA partner country must be certified by a UK QP (UK MIA holder).
MRA_PARTNERS = ("AU", "CA", "IL", "JP", "NZ", "CH", "US")
APPROVED_FOR_IMPORT = EEA
APPROVED_FOR_BATCH_TESTING = EEA + MRA_PARTNERS
UK = "GB"  # ISO 3166-1 code of the United Kingdom (Great Britain and Northern Ireland)

# International Recognition Procedure: assessment timetable of each recognition route, in days.
RECOGNITION_DAYS = {"A": 60, "B": 110}
# Windsor Framework: from this date the MHRA licenses medicines UK-wide and packs carry "UK Only".
WINDSOR_FRAMEWORK_DATE = "2025-01-01"
PL_PREFIX = {"uk_wide": "PL", "gb": "PLGB", "ni": "PLNI"}


def _route(route: dict) -> dict:
    recognition = route.get("recognition")
    return {"type": route.get("type"), "reference_regulator": route.get("reference_regulator"),
            "recognition": recognition, "assessment_days": RECOGNITION_DAYS.get(recognition),
            "reference_approval_date": route.get("reference_approval_date"), "same_product": route.get("same_product")}


def _licence(licence: dict) -> dict:
    number, scope = licence.get("pl_number"), licence.get("scope")
    prefix = number.split(" ")[0] if number else None
    return {"pl_number": number, "scope": scope, "uk_wide": scope == "uk_wide",
            "prefix_matches_scope": None if prefix is None else PL_PREFIX.get(scope) == prefix,
            "windsor_framework_date": WINDSOR_FRAMEWORK_DATE}


def _mah(mah: dict | None) -> dict | None:
    if not mah:
        return None
    address = english_address(mah.get("address"))
    country = address.get("country")
    established = "uk" if country == UK else "eea" if country in EEA else "other"
    return {"name": mah.get("name"), "address": address, "country": country, "established_in": established}


def _testing_site(model, site_id) -> dict:
    """Return a batch testing site with whether its country is approved for batch testing, and why."""
    record = site_record(model, site_id)
    country = record["country"]
    basis = "uk" if country == UK else "eea" if country in EEA else "mra" if country in MRA_PARTNERS else None
    return {**record, "approved_for_batch_testing": basis is not None, "basis": basis}


def _qp_certification(release: dict | None, testing: list[dict]) -> dict:
    """Return whether batches need UK QP certification, why, and whether the UK release site provides it."""
    reasons = []
    mra = [t["id"] for t in testing if t["basis"] == "mra"]
    if mra:
        reasons.append({"reason": "tested_in_mra_country", "sites": mra})
    if release and release["country"] != UK and release["country"] not in APPROVED_FOR_IMPORT:
        reasons.append({"reason": "certified_outside_approved_import_countries", "sites": [release["id"]]})
    in_uk = bool(release and release["country"] == UK and release["uk_mia"])
    return {"required": bool(reasons), "reasons": reasons, "certified_in_uk": in_uk,
            "met": in_uk or not reasons and bool(release)}


def _release_testing_sites(model) -> list[str]:
    """Return the sites.yaml sites that release-test a drug product, in sites.yaml order."""
    products = {p.id for p in model.of_type("product")}
    return [s.id for s in model.of_type("site")
            if any(r.get("role") == "release_testing" and products & set(r.get("subjects") or [])
                   for r in market_roles(s.data, "uk"))]


def _qp_declarations(model, release: dict | None) -> list[dict]:
    """Return the EU QP declarations with their MIAH sites and whether they name the UK release site."""
    found = []
    for entry in model.single("market-eu").get("qp_declarations") or []:
        miahs = [m.get("site") for m in entry.get("miahs") or []]
        found.append({"reference": entry.get("reference"), "substance": entry.get("substance"), "miah_sites": miahs,
                      "names_uk_release_site": bool(release) and release["id"] in miahs})
    return found


def uk_data(model, stage: str) -> dict:
    """Return the UK data: route, licence, MAH, batch release, importer, batch testing, QP certification, labelling."""
    market = model.single("market-uk")
    release = site_record(model, market.get("batch_release_site"))
    testing = [_testing_site(model, s) for s in market.get("batch_testing_sites") or []]
    listed = {t["id"] for t in testing}
    makers = manufacturers(model, [p.id for p in model.of_type("product")], ("drug_product_manufacture",), "uk")
    return {"market": "uk", "stage": stage, "route": _route(market.get("route") or {}),
            "licence": _licence(market.get("licence") or {}), "mah": _mah(market.get("mah")),
            "batch_release_site": release, "imported": any(m["country"] != UK for m in makers),
            "importer_site": site_record(model, market.get("importer_site")),
            "batch_testing_sites": testing,
            "release_testing_sites_not_listed": [{"id": s, "name": site_record(model, s)["name"]}
                                                 for s in _release_testing_sites(model) if s not in listed],
            "uk_qp_certification": _qp_certification(release, testing),
            "uk_only_label": market.get("uk_only_label"), "qp_declaration_from_eu": market.get("qp_declaration_from_eu"),
            "qp_declarations": _qp_declarations(model, release),
            "own_qp_declarations": [{"reference": e.get("reference"), "substance": e.get("substance"),
                                     "qp_site": (e.get("qp") or {}).get("site")}
                                    for e in market.get("qp_declarations") or [] if isinstance(e, dict)],
            "approved_countries": {"import": list(APPROVED_FOR_IMPORT), "batch_testing": list(APPROVED_FOR_BATCH_TESTING),
                                   "mra_partners": list(MRA_PARTNERS)}}


def uk_qp_declarations_data(model, stage: str) -> list[dict]:
    """Return the UK QP's own declarations (markets/uk.yaml qp_declarations), as the EU ones are given."""
    from ..clock import today
    from .eu import _declaration

    now = today()
    return [_declaration(model, entry, now) for entry in model.single("market-uk").get("qp_declarations") or []
            if isinstance(entry, dict)]


DATA = {"uk": uk_data, "uk_qp_declarations": uk_qp_declarations_data}


def packages(context) -> list[tuple[str, bytes]]:
    """Return the uk data files: regional/uk/uk-regional-data.json (marketing only, as the annex)."""
    if context.stage != "marketing":
        return []
    data = uk_data(context.model, context.stage)
    return [("regional/uk/uk-regional-data.json", (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))]
