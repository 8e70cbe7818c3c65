"""Interim schema check used while writing the examples: python tools/schemacheck.py DIR.

Superseded by `dossiergen validate`, which adds locations and semantic rules.
"""
import csv, json, pathlib, sys
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

ROOT = pathlib.Path(__file__).resolve().parent.parent / "schemas"
reg = Registry()
for p in ROOT.glob("*.schema.json"):
    reg = reg.with_resource(p.name, Resource.from_contents(json.loads(p.read_text())))
KINDS = {"application.yaml": "application", "sites.yaml": "sites", "excipients.yaml": "excipients",
         "methods.yaml": "methods", "batches.yaml": "batches", "stability.yaml": "stability",
         "appendices.yaml": "appendices", "references.yaml": "references"}
def kind(rel):
    if rel in KINDS: return KINDS[rel]
    top = rel.split("/")[0]
    return {"substances": "substance", "products": "product", "specifications": "specification",
            "results": "batch-results", "stability": "stability-results"}.get(top) or (
            "market-" + pathlib.Path(rel).stem if top == "markets" else None)
d = pathlib.Path(sys.argv[1]); bad = 0
for p in sorted(d.rglob("*")):
    if not p.is_file(): continue
    rel = p.relative_to(d).as_posix(); k = kind(rel)
    if k is None: print("?? no kind:", rel); continue
    v = Draft202012Validator(json.loads((ROOT / f"{k}.schema.json").read_text()), registry=reg)
    if p.suffix == ".csv":
        rows = [{c: (float(x) if c in ("value", "time_point") else x) for c, x in r.items() if x != ""} for r in csv.DictReader(p.open(encoding="utf-8"))]
    else:
        rows = [yaml.safe_load(p.read_text(encoding="utf-8"))]
    for i, r in enumerate(rows):
        for e in v.iter_errors(r):
            bad += 1; print(f"{rel}:{i+2 if p.suffix=='.csv' else ''} {e.json_path}: {e.message[:300]}")
print("errors:", bad)
