"""Batch genealogy: every lot names the lots it was made from (`made_from` on a batch), for any
modality: antibody lot + drug-linker lot -> conjugate lot -> product lot; cells -> patient lot.

`substance_batches` (schema version 1, product batches only) means the same and is read as
`made_from` until `dossiergen migrate` renames it. The rule here checks the graph (dates, cycles;
the references themselves are checked by rules/refs.py), and `genealogy_rows` gives the
ready rows of the genealogy table of 3.2.S.4.4 and 3.2.P.5.4.
"""

from __future__ import annotations

import datetime as dt

from .errors import Problem
from .model import Model

PARENT_KEYS = ("made_from", "substance_batches")  # the current key first; the deprecated one after (model.PARENT_FIELDS)


def parent_key(batch: dict) -> str | None:
    """Return the key under which a batch lists its parent lots (None when it lists none)."""
    for key in PARENT_KEYS:
        if isinstance(batch.get(key), list):
            return key
    return None


def parents_of(batch: dict) -> list[str]:
    """Return the ids of the lots a batch was made from, in the order written."""
    key = parent_key(batch) if isinstance(batch, dict) else None
    return [p for p in batch[key] if isinstance(p, str)] if key else []


def _date(batch: dict) -> dt.date | None:
    try:
        return dt.date.fromisoformat(batch.get("date")) if isinstance(batch.get("date"), str) else None
    except ValueError:
        return None  # formats.check_dates reports it


def check_genealogy(dossier, model: Model) -> list[Problem]:
    """Every parent lot was made no later than its child, and no lot descends from itself."""
    problems = []
    batches = {b.id: b.data for b in model.of_type("batch")}
    for bid, batch in batches.items():
        key = parent_key(batch)
        if key is None:
            continue
        if key == "made_from" and isinstance(batch.get("substance_batches"), list):
            problems.append(Problem("genealogy.both_keys", f"batch '{bid}' has both made_from and substance_batches",
                                    dossier.location_of(batch, "substance_batches"),
                                    hint="substance_batches is the old name of made_from: keep one list (made_from)"))
        made = _date(batch)
        for index, pid in enumerate(batch[key]):
            parent = batches.get(pid)
            if parent is None:
                continue  # an unknown lot: rules/refs.py reports it with a 'did you mean'
            where = dossier.location_of(batch[key], index)
            if pid == bid:
                problems.append(Problem("genealogy.cycle", f"batch '{bid}' is listed as made from itself", where,
                                        hint="a lot is made from other, earlier lots: remove it from its own list"))
                continue
            born = _date(parent)
            if made and born and born > made:
                problems.append(Problem(
                    "genealogy.date_order",
                    f"batch '{bid}' (made {made.isoformat()}) is made from lot '{pid}', made later ({born.isoformat()})",
                    where, hint="a lot can only be made from lots that existed: correct one of the two dates "
                                "or the made_from list"))
    problems += _cycles(dossier, batches)
    return problems


def count_linked(model: Model) -> int:
    """Return how many lots record the lots they were made from (the genealogy rule's scope)."""
    return sum(1 for b in model.of_type("batch") if parents_of(b.data))


def _cycles(dossier, batches: dict[str, dict]) -> list[Problem]:
    """Return one problem per cycle of two or more lots, located at the entry that closes it
    (an explicit stack: a chain of thousands of lots must not exhaust Python's recursion)."""
    problems, state, reported = [], {}, set()
    for root in batches:
        if root in state:
            continue
        state[root] = "open"
        stack = [(root, iter(enumerate(parents_of(batches[root]))))]
        while stack:
            bid, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                state[bid] = "done"
                stack.pop()
                continue
            index, pid = step
            if pid not in batches or pid == bid:
                continue
            if state.get(pid) == "open":
                path = [node for node, _ in stack]
                loop = path[path.index(pid):] + [pid]
                if frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    problems.append(Problem(
                        "genealogy.cycle", f"batch genealogy loops: lot {', which is made from '.join(repr(x) for x in loop)}",
                        dossier.location_of(batches[bid][parent_key(batches[bid])], index),
                        hint="a lot cannot descend from itself: one of these made_from entries is wrong"))
            elif pid not in state:
                state[pid] = "open"
                stack.append((pid, iter(enumerate(parents_of(batches[pid])))))
    return problems


def ancestry(model: Model, batch_ids) -> list[tuple[dict, dict, int]]:
    """Return (child, parent, depth) for every link above the given lots, depth first, each link once."""
    edges, walked = [], set()
    for root in batch_ids or []:
        stack = [(root, 1)]
        while stack:
            bid, depth = stack.pop()
            child = model.get(bid, "batch")
            if child is None or bid in walked:
                continue
            walked.add(bid)
            parents = [(pid, model.get(pid, "batch")) for pid in model.genealogy().parents.get(bid, ())]
            parents = [(pid, p) for pid, p in parents if p is not None and pid != bid]
            edges += [(child.data, p.data, depth) for _, p in parents]
            stack += [(pid, depth + 1) for pid, _ in reversed(parents)]
    return edges


def has_parents(model: Model, batch_ids) -> bool:
    """True when at least one of the lots records a lot it was made from."""
    return bool(ancestry(model, batch_ids))


def genealogy_rows(model: Model, batch_ids, deeper_only: bool, name_of, site_of) -> list[list[str]]:
    """Return the rows of the genealogy table: lot, made from (lot), that lot's material, site and date;
    none when deeper_only and no parent lot has parents of its own.

    name_of(subject id) and site_of(site id) give the names in the document's language."""
    rows, links = [], ancestry(model, batch_ids)
    if deeper_only and all(depth == 1 for _, _, depth in links):
        return []
    for child, parent, depth in links:
        rows.append([str(child.get("number", child.get("id"))), str(parent.get("number", parent.get("id"))),
                     name_of(parent.get("subject")), site_of(parent.get("site")), str(parent.get("date", "–"))])
    return rows
