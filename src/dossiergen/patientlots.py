"""Patient-specific lots of cell therapies: one patient, one lot, with its chain of identity;
engineering runs from healthy-donor cells told apart; each lot's disposition (released, released
under exceptional circumstances with the justification, failed manufacture); its dose as a value
or range, per kilogram or not; and the results that were not in when it was released.

The rule checks what the data must agree on; `lot_rows` gives the ready rows of the patient-lot
table of 3.2.S.4.4 and 3.2.P.5.4.
"""

from __future__ import annotations

import difflib

from .errors import Problem
from .model import Model, spec_tests

PATIENT_USES = ("clinical", "commercial")  # uses in which a lot is given to a patient


def is_cell_lot(batch: dict) -> bool:
    """True for a lot with a donor or a disposition (a cell-therapy lot)."""
    return isinstance(batch.get("donor"), dict) or isinstance(batch.get("disposition"), dict)


def count_cell_lots(model: Model) -> int:
    """Return how many lots are cell-therapy lots (the patient-lot rule's scope)."""
    return sum(1 for b in model.of_type("batch") if is_cell_lot(b.data))


def check_patient_lots(dossier, model: Model) -> list[Problem]:
    """Chains of identity are unique; engineering runs and failed lots are never given to patients;
    the tests pending at release are tests of the lot's specification; a dose range runs low to high."""
    problems, seen = [], {}
    for entity in model.of_type("batch"):
        batch, bid = entity.data, entity.id
        donor = batch.get("donor") if isinstance(batch.get("donor"), dict) else {}
        disposition = batch.get("disposition") if isinstance(batch.get("disposition"), dict) else {}
        uses = [u for u in batch.get("uses") or [] if u in PATIENT_USES]
        coi = donor.get("chain_of_identity")
        if isinstance(coi, str):
            if coi in seen and not _one_line(model, bid, seen[coi]):
                problems.append(Problem("lot.chain_of_identity", f"lot '{bid}' has the chain of identity '{coi}' of lot '{seen[coi]}'",
                                        dossier.location_of(donor, "chain_of_identity"),
                                        hint="one patient, one lot: each lot carries its own chain-of-identity identifier"))
            else:
                seen[coi] = bid
        if donor.get("type") == "healthy_donor" and uses:
            problems.append(Problem("lot.engineering_run_used", f"lot '{bid}' is an engineering run (healthy donor) but is "
                                    f"listed as used for {', '.join(uses)}", dossier.location_of(batch, "uses"),
                                    hint="cells of a healthy donor are never given to a patient of an autologous therapy: "
                                         "correct the uses (development, ppq, stability) or the donor"))
        if disposition.get("status") == "failed_manufacture" and uses:
            problems.append(Problem("lot.failed_lot_used", f"lot '{bid}' failed manufacture but is listed as used for {', '.join(uses)}",
                                    dossier.location_of(batch, "uses"),
                                    hint="a lot given to a patient was released (status released or released_exceptional)"))
        problems += _pending(dossier, model, bid, batch, disposition)
        dose = batch.get("dose") if isinstance(batch.get("dose"), dict) else {}
        low, high = dose.get("low"), dose.get("high")
        if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
            problems.append(Problem("lot.dose_range", f"lot '{bid}': the dose range runs from {low:g} down to {high:g}",
                                    dossier.location_of(dose, "low"), hint="give the lower end as low and the upper as high"))
    return problems


def _ancestors(model: Model, lot_id: str) -> set:
    """Return the ids of every lot a lot was made from, directly or through its parents."""
    found, todo = set(), [lot_id]
    while todo:
        entity = model.get(todo.pop(), "batch")
        for parent in (entity.data.get("made_from") if entity else None) or []:
            if isinstance(parent, str) and parent not in found:
                found.add(parent)
                todo.append(parent)
    return found


def _one_line(model: Model, lot: str, other: str) -> bool:
    """True when one lot was made from the other: a patient's drug-substance and drug-product lots
    carry the same chain of identity (one patient, one line of lots)."""
    return other in _ancestors(model, lot) or lot in _ancestors(model, other)


def _pending(dossier, model: Model, bid: str, batch: dict, disposition: dict) -> list[Problem]:
    pending = disposition.get("pending_tests")
    if not isinstance(pending, list) or not pending:
        return []
    released = batch.get("specification") if isinstance(batch.get("specification"), dict) else {}
    spec = model.get(released.get("id"), "specification")
    tests = spec_tests(spec.data, released.get("version")) if spec else None
    problems = []
    if disposition.get("status") == "failed_manufacture":
        problems.append(Problem("lot.pending_not_released", f"lot '{bid}' failed manufacture, so no test was pending at its release",
                                dossier.location_of(disposition, "pending_tests"), hint="remove pending_tests, or correct the status"))
    for index, test in enumerate(pending):
        if tests is not None and test not in tests:
            close = difflib.get_close_matches(str(test), sorted(t for t in tests if isinstance(t, str)), n=1)
            problems.append(Problem("lot.pending_unknown_test", f"lot '{bid}': '{test}' is not a test of specification "
                                    f"'{released.get('id')}' version {released.get('version')}",
                                    dossier.location_of(pending, index),
                                    hint=f"did you mean '{close[0]}'?" if close else "name a test id of the specification the lot was released against"))
    return problems


def lot_rows(model: Model, batch_ids, t, tx, qty, rng, test_name) -> list[list[str]]:
    """Return one row per cell-therapy lot: lot, donor, chain of identity, disposition, dose, results
    pending at release. t, tx, qty, rng and test_name(spec id, test id) give the document's words."""
    rows = []
    for bid in batch_ids or []:
        entity = model.get(bid, "batch")
        if entity is None or not is_cell_lot(entity.data):
            continue
        batch = entity.data
        donor = batch.get("donor") if isinstance(batch.get("donor"), dict) else {}
        disposition = batch.get("disposition") if isinstance(batch.get("disposition"), dict) else {}
        if donor.get("type") == "patient":
            who = f"{t('c_lot_patient')} {donor.get('patient_code', '')}".strip()
        elif donor.get("type") == "healthy_donor":
            who = t("c_lot_engineering_run")
        else:
            who = "–"
        status = disposition.get("status")
        shown = t(f"c_lot_{status}") if status else "–"
        if status in ("released_exceptional", "failed_manufacture") and disposition.get("justification"):
            shown += t("c_sep") + tx(disposition["justification"]).strip()
        if disposition.get("date"):
            shown += f" ({disposition['date']})"
        spec = (batch.get("specification") or {}).get("id")
        pending = [test_name(spec, test) for test in disposition.get("pending_tests") or []]
        rows.append([str(batch.get("number", bid)), who, donor.get("chain_of_identity") or "–", shown,
                     dose_text(batch.get("dose"), t, qty, rng), t("c_list_sep").join(pending) if pending else "–"])
    return rows


def dose_text(dose, t, qty, rng) -> str:
    """Return a dose as printed: '2 ×10⁶ cells per kg', '1–5 ×10⁶ cells per kg'."""
    if not isinstance(dose, dict) or not dose.get("unit"):
        return "–"
    per = t("c_per_kg") if dose.get("per_kg") else ""
    if dose.get("value") is not None:
        return f"{qty({'value': dose['value'], 'unit': dose['unit']})}{per}"
    return f"{rng({'low': dose.get('low'), 'high': dose.get('high'), 'unit': dose['unit']})}{per}"
