"""Documents the applicant supplies: signed Form FDA 356h or 1571, cover letters, the EU eAF PDF, letters
of authorisation, GMP certificates. Each is a PDF in the dossier's supplied/ folder, listed in
supplied/supplied.yaml with its market, stages, Module 1 heading and leaf title, and is placed as a leaf
of the market's regional backbone. dossiergen never writes or signs them.

- validate: check_supplied (a semantic rule) says where an entry is wrong: a heading the regional schema
  does not have, a file that is not a PDF, two entries that would land on the same file;
- gaps: the `supplied` check kind finds a required document (a rule of regional/<market>/requirements.yaml)
  that no entry provides; a draft build leaves it out of the sequence and says so (the gap), a final build
  stops on a blocking one;
- build: supplied_documents(context) returns the documents of the market and stage to place.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Problem
from .markets import REGIONS

KIND = "supplied"
# Where a supplied document goes in the sequence, by heading. EU Module 1 folders follow the EU M1
# specification (m1/eu/<heading folder>/<country>/); US and China documents go to the region folder.
EU_FOLDERS = {"m1-0-cover": "10-cover", "m1-2-form": "12-form", "m1-responses": "responses",
              "m1-additional-data": "additional-data"}


@dataclass(frozen=True)
class Supplied:
    """One supplied document of a market and stage: its entry, its bytes and its place in the sequence."""

    id: str
    title: str
    heading: str
    source: str        # path in the dossier folder
    path: str          # path in the sequence (from the sequence folder)
    data: bytes


def entries(model) -> list[dict]:
    """Return the entries of supplied/supplied.yaml (none without the file)."""
    return [e for e in model.single(KIND).get("documents") or [] if isinstance(e, dict)]


def applies(entry: dict, market: str, stage: str) -> bool:
    return entry.get("market") == market and stage in (entry.get("stages") or ("ind", "marketing"))


def target_path(model, entry: dict, market: str) -> str:
    """Return where a supplied document goes in the sequence."""
    from .backbones import REGIONS, envelope_country

    name = str(entry.get("file", "")).rsplit("/", 1)[-1]
    folder = REGIONS[market].backbone.rsplit("/", 1)[0]
    heading = entry.get("heading")
    if market in ("eu", "uk"):
        country = envelope_country(model, market)
        return f"{folder}/{EU_FOLDERS[heading]}/{country}/{name}" if heading in EU_FOLDERS else f"{folder}/{country}/{name}"
    return f"{folder}/{name}"


def supplied_documents(context) -> list[Supplied]:
    """Return the supplied documents of the build's market and stage, read from the dossier folder."""
    from .backbones import region

    if region(context.market, context.stage) is None:
        return []
    root = context.model.dossier.root
    found = []
    for entry in entries(context.model):
        if applies(entry, context.market, context.stage):
            data = (root / entry["file"]).read_bytes()
            found.append(Supplied(f"supplied-{entry['id']}", entry["title"], entry["heading"], entry["file"],
                                  target_path(context.model, entry, context.market), data))
    return found


def headings(market: str) -> frozenset[str]:
    """Return the Module 1 headings a supplied document of a market may name (those holding leaves)."""
    from .backbones import leaf_headings

    return leaf_headings(market)


def check_supplied(dossier, model) -> list[Problem]:
    """Every supplied entry names a heading of its market's regional backbone and a PDF file, and no two
    entries land on the same file of a sequence."""
    problems, seen = [], {}
    for source in dossier.of_kind(KIND):
        for index, entry in enumerate((source.data or {}).get("documents") or []):
            if not isinstance(entry, dict) or entry.get("market") not in REGIONS:
                continue  # the schema reports it
            here = lambda key: dossier.location_of(entry, key)  # noqa: E731
            market, heading = entry["market"], entry.get("heading")
            if isinstance(heading, str) and heading not in headings(market):
                problems.append(Problem("supplied.heading", f"'{heading}' is not a Module 1 heading of the {market} "
                                        "regional backbone", here("heading"),
                                        hint="use an element of the regional DTD/XSD that holds leaves "
                                        "(see schemas/supplied.schema.json)"))
                continue
            path = dossier.root / str(entry.get("file", ""))
            if path.is_file() and not path.read_bytes()[:5] == b"%PDF-":
                problems.append(Problem("supplied.not_pdf", f"'{entry['file']}' is not a PDF", here("file"),
                                        hint="supply the signed or final document as PDF"))
            for stage in entry.get("stages") or ("ind", "marketing"):
                key = (market, stage, target_path(model, entry, market))
                if key in seen:
                    problems.append(Problem("supplied.duplicate", f"'{entry.get('file')}' lands on {key[2]} like "
                                            f"entry '{seen[key]}' ({market}, {stage})", here("file"),
                                            hint="give the files different names"))
                seen.setdefault(key, entry.get("id"))
    return problems
