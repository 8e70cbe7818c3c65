"""China regional data: the associated review (1.3.8.1) and the quality standard and process (1.3.3).

Associated review (关联审评, NMPA Announcement 2019 No. 56): one row per API (substance instance),
excipient and primary packaging material of the products, with the registration data markets/cn.yaml
gives for it (matched by material id). A material in use that markets/cn.yaml does not list is kept
with missing=True: nothing is invented. Entries markets/cn.yaml adds for other materials (for example
the drug substance container) are listed as declared. Quality standard: per product and substance,
the specification tests with their ChP general chapter, and the process steps with their critical
parameters. Texts are Chinese where the data give it (zh), else as written. Pure functions of the model.
"""

from __future__ import annotations

import json

from ..model import BIOLOGICAL_MOLECULES as BIOLOGICS  # their 1.3.3 is the 制造及检定规程 of a biologic
from ..text import text_in

KINDS = ("api", "excipient", "packaging")
SOURCE = "markets/cn.yaml associated_review"
PACKAGE = "regional/cn/associated-review.json"


def _text(value, lang: str = "zh") -> str | None:
    """Return a text in a language (Chinese where given, else English); None when empty."""
    return text_in(value, lang)


# associated review -----------------------------------------------------------------------------------
def associated_review_data(model, stage: str) -> dict:
    """Return the 1.3.8.1 rows: APIs, excipients and primary packaging, with their registration data."""
    entries = {e.get("material"): e for e in model.single("market-cn").get("associated_review") or []
               if isinstance(e, dict)}
    used = _materials(model)
    rows = [_row(material, entries.get(material["material"])) for material in used]
    listed = {m["material"] for m in used}
    rows += [_row(_declared(model, e), e) for mid, e in entries.items()  # never a biological drug substance
             if mid not in listed and not (model.get(mid, "substance") and _biological(model, model.get(mid).data))]
    rows.sort(key=lambda r: KINDS.index(r["kind"]) if r["kind"] in KINDS else len(KINDS))
    return {"market": "cn", "stage": stage, "section": "1.3.8.1", "source": SOURCE, "materials": rows,
            "missing": [r["material"] for r in rows if r["missing"]]}


def _biological(model, substance: dict) -> bool:
    """A biological drug substance (原液) is assessed with the application, not in associated review."""
    from ..checks import DERIVED

    return DERIVED["@biological"](model, substance)


def _materials(model) -> list[dict]:
    """Return the materials the products use: APIs, then excipients, then primary packaging, in order.
    An intermediate (antibody intermediate, drug-linker) is not a drug substance of the product and is
    not in the associated review (its data are in 3.2.S)."""
    from ..roles import is_active_substance

    substances, products = model.of_type("substance"), [p.data for p in model.of_type("product")]
    several = len(products) > 1
    found = {s.id: _material(s.id, "api", s.data.get("substance"), s.data.get("manufacturer"),
                             [_place("3.2.S", s.data.get("manufacturer") if len(substances) > 1 else None, (s.id,))])
             for s in substances if not _biological(model, s.data) and is_active_substance(s.data)}
    for product in products:
        subject, pid = product.get("name") if several else None, product.get("id")
        controlled = _p4_ids(model, product)
        for component in product.get("composition") or []:
            cid = component.get("component")
            if not isinstance(cid, str) or model.get(cid, "substance"):
                continue  # the API rows come from the substances
            excipient = model.get(cid, "excipient")
            entry = found.setdefault(cid, _material(cid, "excipient", excipient.data.get("name") if excipient else cid))
            if cid in controlled:  # its own 3.2.P.4 in this product
                entry["sections"].append(_place("3.2.P.4", subject, (pid, cid)))
            else:  # without a 3.2.P.4: the composition
                entry["sections"].append(_place("3.2.P.1", subject, (pid,)))
        for part in (product.get("container_closure") or {}).get("components") or []:
            if part.get("primary") and part.get("id") not in found:
                found[part["id"]] = _material(part["id"], "packaging", part.get("component"), part.get("material"))
            if part.get("primary"):
                found[part["id"]]["sections"].append(_place("3.2.P.7", subject, (pid,)))
    return sorted(found.values(), key=lambda m: KINDS.index(m["kind"]))


def _p4_ids(model, product: dict) -> list:
    """Return the excipients with a 3.2.P.4 document in this product, in document order."""
    ids = product.get("excipients") or [c.get("component") for c in product.get("composition") or []]
    return [i for i in ids if model.get(i, "excipient")]


def _declared(model, entry: dict) -> dict:
    """Return a material markets/cn.yaml lists that the products do not use, described from its data."""
    mid, entity = entry.get("material"), model.get(entry.get("material"))
    data = entity.data if entity else {}
    material = _material(mid, entry.get("kind"), data.get("substance") or data.get("name") or data.get("component")
                         or mid, data.get("manufacturer") or data.get("material"), required=False)
    if entity is not None and entity.type == "substance":
        from ..roles import cn_term, is_active_substance

        if not is_active_substance(data):  # an intermediate is none of 原料药, 药用辅料, 药包材: say what it is
            material["category"] = cn_term(model, data)
    for owner in model.of_type("substance") + model.of_type("product"):
        components = (owner.data.get("container_closure") or {}).get("components") or []
        if any(c.get("id") == mid for c in components):
            number = "3.2.S.6" if owner.type == "substance" else "3.2.P.7"
            owners = model.of_type(owner.type)
            name = owner.data.get("manufacturer" if owner.type == "substance" else "name") if len(owners) > 1 else None
            material["sections"].append(_place(number, name, (owner.id,)))
    return material


def _material(mid, kind, name, detail=None, sections=None, required: bool = True) -> dict:
    return {"material": mid, "kind": kind, "name": _text(name) or str(mid), "name_en": _text(name, "en"),
            "detail": _text(detail), "required": required, "sections": sections or []}


def _place(number: str, subject, owners: tuple) -> dict:
    """Return a Module 3 cross-reference to the section of one instance: `owners`, the ids of the
    repeat instances its documents belong to (the substance; the product; the product and the
    excipient), so that the link reaches that instance's document, not the first one in order."""
    return {"number": number, "subject": _text(subject), "owners": [o for o in owners if isinstance(o, str)]}


def _row(material: dict, entry: dict | None) -> dict:
    """Return a material with the registration data of its markets/cn.yaml entry (None: missing)."""
    entry = entry or {}
    loa = entry.get("loa") if isinstance(entry.get("loa"), dict) else None
    return {**material, "declared": bool(entry), "missing": not entry,
            "source": f"{SOURCE}[material={material['material']}]",
            "registration_number": entry.get("registration_number"), "status": entry.get("status"),
            "registrant": _text(entry.get("registrant")), "registrant_en": _text(entry.get("registrant"), "en"),
            "loa": {"reference": loa.get("reference"), "date": loa.get("date")} if loa else None,
            "submitted_with_application": entry.get("submitted_with_application") is True}


# quality standard and process ------------------------------------------------------------------------
def quality_standard_data(model, stage: str) -> dict:
    """Return the 1.3.3 content: per product and substance, the specification tests and process steps."""
    molecule = model.single("application").get("molecule_type")
    products, substances = model.of_type("product"), model.of_type("substance")
    from ..roles import INTERMEDIATE_ROLES, is_biological, role_of

    def label_key(substance: dict) -> str:  # 原液 (biological), 原料药 (chemical) or the intermediate's name
        role = role_of(substance)
        if role in INTERMEDIATE_ROLES or role == "vector":
            return f"cn_qs_substance_{role}"
        return "cn_qs_substance_biologic" if is_biological(model, substance) else "cn_qs_substance"

    return {"market": "cn", "stage": stage, "section": "1.3.3", "molecule_type": molecule,
            "biologic": molecule in BIOLOGICS,
            "products": [_subject(model, p.data, p.data.get("dosage_form")) for p in products],
            "substances": [{**_subject(model, s.data, s.data.get("manufacturer")), "label_key": label_key(s.data)}
                           for s in substances]}


def _subject(model, data: dict, detail) -> dict:
    """Return one product or substance: names, specification with its tests, process steps."""
    entity = model.get((data.get("control") or {}).get("specification"), "specification")
    spec = entity.data if entity else None
    keys = ("id", "title", "number", "version", "status")
    steps = ((data.get("manufacture") or {}).get("process") or {}).get("steps") or []
    return {"id": data.get("id"), "name": _text(data.get("name") or data.get("substance")), "detail": _text(detail),
            "specification": {key: _text(spec.get(key)) for key in keys} if spec else None,
            "tests": [_test(model, t) for t in (spec or {}).get("tests") or [] if isinstance(t, dict)],
            "steps": [_step(s) for s in steps if isinstance(s, dict)]}


def _test(model, test: dict) -> dict:
    """Return a specification test: name, method, criteria (release, shelf life) and ChP chapter."""
    method = model.get(test.get("method"), "method")
    shelf = test.get("shelf_life_acceptance")
    return {"id": test.get("id"), "name": _text(test.get("name")), "usage": list(test.get("usage") or []),
            "method": method.data.get("number", method.id) if method else test.get("method"),
            "method_title": _text(method.data.get("title")) if method else None,
            "criterion": _text((test.get("acceptance") or {}).get("text")),
            "shelf_life_criterion": _text(shelf.get("text")) if isinstance(shelf, dict) else None,
            "chp": (test.get("compendial_reference") or {}).get("chp")}


def _step(step: dict) -> dict:
    """Return a process step with its critical process parameters (criticality 'critical')."""
    parameters = [{"name": _text(p.get("name")), "target": p.get("target"), "range": p.get("range"),
                   "unit": p.get("unit"), "setting": _text(p.get("setting"))}
                  for p in step.get("parameters") or [] if isinstance(p, dict) and p.get("criticality") == "critical"]
    return {"id": step.get("id"), "number": step.get("number"), "name": _text(step.get("name")),
            "critical": step.get("critical") is True, "parameters": parameters}


DATA = {"associated_review": associated_review_data, "quality_standard": quality_standard_data}


def packages(context) -> list[tuple[str, bytes]]:
    """Return the China data files: regional/cn/associated-review.json."""
    data = associated_review_data(context.model, context.stage)
    return [(PACKAGE, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))]
