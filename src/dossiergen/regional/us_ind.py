"""United States, IND stage: the data for Form FDA 1571 (Investigational New Drug Application).

An IND is filed with Form FDA 1571 (21 CFR 312.23(a)(1)), not Form FDA 356h, which is for NDAs
and BLAs (21 CFR 314.50, 601.2). Like the 356h sheet, this never synthesises or signs the form:
it lists the form's fields the dossier fills, and leaves the others open. Pure functions."""

from __future__ import annotations

from ..text import address_parts, pick

FORM = "Form FDA 1571"
US = "markets.us.form_1571."
PHASES = {"phase_1": "Phase 1", "phase_2": "Phase 2", "phase_3": "Phase 3"}
# 21 CFR 312.23(a): what an initial IND contains; item (7) is the CMC that dossiergen writes.
CONTENTS = (("312.23(a)(1)", "Form FDA 1571"), ("312.23(a)(2)", "Table of contents"),
            ("312.23(a)(3)", "Introductory statement and general investigational plan"),
            ("312.23(a)(5)", "Investigator's brochure"), ("312.23(a)(6)", "Protocols"),
            ("312.23(a)(7)", "Chemistry, manufacturing and control data (Module 3, this dossier)"),
            ("312.23(a)(8)", "Pharmacology and toxicology data"), ("312.23(a)(9)", "Previous human experience"),
            ("312.23(a)(10)", "Additional information"))


def _field(number: str, name: str, value, source: str | None) -> dict:
    status = "filled" if value not in (None, "", []) else ("not_in_data" if source is None else "missing")
    return {"number": number, "name": name, "value": value, "source": source, "status": status}


def _address(address: dict | None) -> str | None:
    parts = address_parts(address, ("street", "building", "city", "region", "postal_code", "country"))
    return ", ".join(parts.values()) if address else None


def form_1571_data(model, stage: str) -> dict:
    """Return the Form FDA 1571 fields the dossier fills, in the form's order; open ones under 'missing'."""
    app, form = model.single("application"), model.single("market-us").get("form_1571") or {}
    sponsor = app.get("sponsor") or {}
    names = [pick(app.get("inn"), "en"), (app.get("proprietary_names") or {}).get("us")]
    names += [c for s in model.of_type("substance") for c in ((s.data.get("general") or {}).get("nomenclature") or {}).get("company_codes", [])]
    references = [f"{r.get('type')} {r.get('number')}" for r in form.get("cross_references", []) or [] if isinstance(r, dict)]
    fields = [
        _field("1", "Name of sponsor", pick(sponsor.get("name"), "en"), "application.sponsor.name"),
        _field("2", "Date of submission", form.get("submission_date"), US + "submission_date"),
        _field("3", "Address of sponsor", _address(sponsor.get("address")), "application.sponsor.address"),
        _field("4", "Telephone number", (sponsor.get("contact") or {}).get("phone"), "application.sponsor.contact.phone"),
        _field("5", "Name(s) of drug (trade, generic, chemical, code)", "; ".join(dict.fromkeys(str(n) for n in names if n)),
               "application.inn"),
        _field("6", "IND number (if previously assigned)", form.get("ind_number"), US + "ind_number"),
        _field("7", "(Proposed) indication for use", form.get("indication"), US + "indication"),
        _field("8", "Phase(s) of clinical investigation", PHASES.get(app.get("clinical_phase")), "application.clinical_phase"),
        _field("9", "INDs, NDAs, BLAs and DMFs referred to", "; ".join(references), US + "cross_references"),
        _field("10", "Serial number", form.get("serial_number"), US + "serial_number"),
        _field("11", "This submission contains", form.get("submission_contains"), US + "submission_contains"),
        _field("13", "Contract research organisation: obligations transferred", form.get("cro"), None),
        _field("14", "Person responsible for monitoring the investigations", form.get("monitor"), US + "monitor"),
        _field("15", "Person(s) responsible for review and evaluation of safety information", form.get("safety_reviewer"),
               US + "safety_reviewer")]
    contents = [{"citation": c, "item": item, "in_this_dossier": c == "312.23(a)(7)"} for c, item in CONTENTS]
    return {"source": "dossiergen", "form": FORM, "fields": fields, "contents": contents,
            "missing": [{k: f[k] for k in ("number", "name", "source", "status")} for f in fields if f["status"] != "filled"]}


DATA = {"form_1571": form_1571_data}
