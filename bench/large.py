"""A large dossier for `make bench` (issue 19): the antibody example (dossier/) grown to 10 products,
30 substance instances (substance x manufacturer) and about 40,000 stability rows.

Each extra substance or product is a copy of one of the example's, with every id it owns renamed
(the entities in its file, its specifications, batches, stability studies, claims and commitments,
and their result rows), its name made distinct (file names come from names), and added to the lists
of subjects that named the original (sites, appendices). Nothing random: the same dossier every run.

    python bench/large.py OUT_FOLDER [SCALE]   # writes the dossier there; SCALE 0.25 gives a quarter of it
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from pathlib import Path

import yaml

from dossiergen.load import load_dossier
from dossiergen.model import build_model

ROOT = Path(__file__).resolve().parent.parent
SUBSTANCES, PRODUCTS = 30, 10


def sized(scale: float) -> tuple[int, int]:
    """Return the substance instances and products of the large dossier at a scale (1: the full size);
    the stability and batch rows grow with them (each copy brings its studies' and batches' rows)."""
    return max(1, round(SUBSTANCES * scale)), max(1, round(PRODUCTS * scale))


def generate(target: Path, substances: int = SUBSTANCES, products: int = PRODUCTS) -> str:
    """Write the large dossier into target (a new folder); return a one-line summary of its size."""
    shutil.copytree(ROOT / "dossier", target)
    dossier = load_dossier(target)
    model = build_model(dossier)
    data = {rel: source.data for rel, source in dossier.files.items()}
    rows = {rel: source for rel, source in dossier.files.items() if rel.endswith(".csv")}
    originals = model.of_type("product")
    plan = [(model.of_type("substance")[0], substances - 1)]
    plan += [(product, (products - len(originals)) // len(originals) + (i < (products - len(originals)) % len(originals)))
             for i, product in enumerate(originals)]
    new_csv: dict[str, list[dict]] = {}
    for entity, copies in plan:
        owned = {e.id for e in model.entities.values() if e.rel == entity.rel}
        specs = {e.id for e in model.of_type("specification") if _mentions(entity.data, e.id)}
        batches = [b for b in model.of_type("batch") if b.data.get("subject") == entity.id]
        studies = [s for s in model.of_type("study") if s.data.get("subject") == entity.id]
        ids = owned | specs | {b.id for b in batches} | {s.id for s in studies}
        for k in range(1, copies + 1):
            rename = {i: f"{i}-x{k}" for i in ids}
            copy = _renamed(entity.data, rename)
            _distinct_name(copy, entity.type, k)
            folder, name = entity.rel.rsplit("/", 1)
            data[f"{folder}/x{k}-{name}"] = copy
            for spec in specs:
                source = model.get(spec).rel
                data[source.replace(".yaml", f"-x{k}.yaml")] = _renamed(data[source], rename)
            data["batches.yaml"]["batches"] += [_renamed_batch(b.data, rename, k) for b in batches]
            stability = data["stability.yaml"]
            for section in ("studies", "claims", "commitments"):
                stability[section] = (stability.get(section) or []) + [
                    _renamed(item, rename) for item in stability.get(section) or []
                    if isinstance(item, dict) and item.get("subject") == entity.id and item.get("id", entity.id) in ids | {entity.id}
                    and not str(item.get("id", "")).endswith(tuple(f"-x{j}" for j in range(1, copies + 1)))]
            for rel, source in rows.items():
                column = "batch" if source.kind == "batch-results" else "study"
                chosen = [dict(row, **{column: rename[row[column]]}) for row in source.data if row.get(column) in rename]
                if chosen:
                    new_csv.setdefault(rel.replace(".csv", f"-x{k}.csv"), []).extend(chosen)
            for rel, value in data.items():  # the sites, appendices … that name the original name the copy too
                if rel not in rows and not rel.startswith(("substances/", "products/", "specifications/")):
                    _add_subject(value, entity.id, rename[entity.id])
    for rel, found in new_csv.items():
        original = rows[rel.rsplit("-x", 1)[0] + ".csv"]
        (target / rel).write_text(_csv(original.header, found), "utf-8")
        files = data["batches.yaml" if original.kind == "batch-results" else "stability.yaml"]["results_files"]
        files.append(rel)
    for rel, value in data.items():
        if not rel.endswith(".csv"):
            (target / rel).write_text(yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=10_000), "utf-8")
    grown = build_model(load_dossier(target))
    return (f"{len(grown.of_type('product'))} products, {len(grown.of_type('substance'))} substance instances, "
            f"{len(grown.stability_rows)} stability rows, {len(grown.batch_rows)} batch result rows")


def _mentions(value, text: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, text) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, text) for v in value)
    return value == text


def _renamed(value, rename: dict[str, str]):
    """Return a deep copy with every string (and mapping key) that is a renamed id replaced."""
    if isinstance(value, dict):
        return {rename.get(k, k): _renamed(v, rename) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, rename) for v in value]
    return rename.get(value, value) if isinstance(value, str) else value


def _renamed_batch(batch: dict, rename: dict[str, str], k: int) -> dict:
    copy = _renamed(batch, rename)
    copy["number"] = f"{batch.get('number')}-X{k}"
    return copy


def _distinct_name(data: dict, etype: str, k: int) -> None:
    """Give a copy its own name where file names come from (product name; the manufacturer's first word)."""
    key = "manufacturer" if etype == "substance" else "name"
    value = data.get(key)
    if isinstance(value, dict):
        data[key] = {**value, "en": f"X{k} {value.get('en', '')}", **({"zh": f"X{k}{value['zh']}"} if value.get("zh") else {})}
    else:
        data[key] = f"X{k} {value}"


def _add_subject(value, original: str, copy: str) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _add_subject(item, original, copy)
    elif isinstance(value, list):
        if original in value and copy not in value:
            value.append(copy)
        for item in value:
            _add_subject(item, original, copy)


def _csv(header: tuple[str, ...], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in header})
    return out.getvalue()


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]), *sized(float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)))
