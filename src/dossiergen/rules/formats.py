"""Rules: identifier formats, dates, units, narrative Markdown and referenced files."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import asdict
from pathlib import Path, PurePosixPath

from ..clock import today
from ..errors import Location, Problem
from ..model import Model, select
from ..schema import narrative_paths, units

DUNS = re.compile(r"^[0-9]{9}$")
FEI = re.compile(r"^([0-9]{7}|[0-9]{10})$")
CN_NUMBER = re.compile(r"^[YFB][0-9]{11}$")
CN_PREFIX = {"api": "Y", "excipient": "F", "packaging": "B"}
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
RAW_HTML = re.compile(r"</?(a|b|i|u|p|br|hr|div|span|img|table|tr|td|th|sup|sub|script|style|iframe|font|center|em|strong)\b[^>]*>", re.I)
RAW_MARKUP = (("```", "code fences"), ("~~~", "code fences"), ("{=", "raw blocks ({=format})"), ("<!--", "HTML comments"))
# Where Markdown names another resource: inline images and links, reference definitions, autolinks.
TARGETS = re.compile(r"(?P<image>!?)\[(?:[^\]\\]|\\.)*\]\(\s*<?(?P<inline>[^)\s>]*)"
                     r"|^[ ]{0,3}\[[^\]]+\]:\s*<?(?P<defined>[^\s>]+)"
                     r"|<(?P<auto>[a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>", re.M)
URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg")


def check_identifiers(dossier, model: Model) -> list[Problem]:
    """DUNS has 9 digits, FEI 7 or 10; China registration numbers, status and letters are complete."""
    problems = []
    for site in model.of_type("site"):
        ids = site.data.get("identifiers") if isinstance(site.data.get("identifiers"), dict) else {}
        if isinstance(ids.get("duns"), str) and not DUNS.match(ids["duns"]):
            problems.append(Problem("id.duns", f"DUNS '{ids['duns']}' of site '{site.id}' is not 9 digits",
                                    dossier.location_of(ids, "duns"), hint="a D-U-N-S number has exactly 9 digits, no dashes"))
        if isinstance(ids.get("fei"), str) and not FEI.match(ids["fei"]):
            problems.append(Problem("id.fei", f"FEI '{ids['fei']}' of site '{site.id}' is not 7 or 10 digits",
                                    dossier.location_of(ids, "fei"), hint="FDA Establishment Identifiers have 7 (legacy) or 10 digits"))
    for source in dossier.of_kind("market-cn"):
        for entry, _, _ in select(source.data, ("associated_review", "*")):
            if isinstance(entry, dict):
                problems += _check_cn_entry(dossier, entry)
    return problems


def _check_cn_entry(dossier, entry: dict) -> list[Problem]:
    material, kind = entry.get("material"), entry.get("kind")
    number = entry.get("registration_number")
    if number is None:
        if entry.get("submitted_with_application") is True:
            return []
        return [Problem("cn.registration_missing", f"'{material}' has no registration number",
                        dossier.location_of(entry), hint="give registration_number, status and loa, or set submitted_with_application: true")]
    problems = []
    prefix = CN_PREFIX.get(kind, "")
    if not isinstance(number, str) or not CN_NUMBER.match(number):
        problems.append(Problem("cn.registration_number", f"'{number}' is not a China registration number",
                                dossier.location_of(entry, "registration_number"),
                                hint=f"{prefix or 'Y, F or B'} followed by 11 digits, for example {prefix or 'F'}20190000123"))
    elif prefix and not number.startswith(prefix):
        problems.append(Problem("cn.registration_prefix", f"'{number}' starts with {number[0]}, but '{material}' is a {kind}",
                                dossier.location_of(entry, "registration_number"),
                                hint=f"{kind} numbers start with {prefix} (Y = API, F = excipient, B = packaging)"))
    if entry.get("status") not in ("A", "I"):
        problems.append(Problem("cn.registration_status", f"status {entry.get('status')!r} of '{material}' is not A or I",
                                dossier.location_of(entry, "status") if "status" in entry else dossier.location_of(entry),
                                hint="A = associated review completed, I = registered, not yet reviewed"))
    if not isinstance(entry.get("loa"), dict):
        problems.append(Problem("cn.loa_missing", f"'{material}' ({number}) has no letter of authorisation",
                                dossier.location_of(entry),
                                hint="add loa: {reference: ..., date: YYYY-MM-DD} from the registrant (授权使用书)"))
    return problems


def each_file(dossier, model: Model, name: str, check, encode=None, decode=None) -> list:
    """Return check(dossier, model, source) (a list) for every file of the dossier, in the dossier's order, joined.
    In a build (a dossier that evaluates per file: reuse.py) each file's answer is reused while that file
    (and whatever else the check read) is unchanged: one changed file is checked again, not every file.
    encode/decode turn one file's answer into JSON-able data and back (default: problems)."""
    evaluate = getattr(type(dossier), "each_file", None)  # looked up on the type: a recording dossier notes any read
    if evaluate is not None:
        return evaluate(dossier, name, check, encode or _problems_data, decode or _data_problems)
    return [found for source in dossier.files.values() for found in check(dossier, model, source)]


def _problems_data(problems: list[Problem]) -> list[dict]:
    return [p.as_dict() for p in problems]


def _data_problems(data: list[dict]) -> list[Problem]:
    return [Problem.from_dict(p) for p in data]


def check_dates(dossier, model: Model) -> list[Problem]:
    """Dates are real calendar dates; no batch is made in the future."""
    problems = each_file(dossier, model, "dates", _file_dates)
    for batch in model.of_type("batch"):
        date = batch.data.get("date")
        try:
            made = dt.date.fromisoformat(date) if isinstance(date, str) else None
        except ValueError:
            continue
        if made and made > today():
            problems.append(Problem("date.future", f"batch '{batch.id}' is dated {date}, after today ({today()})",
                                    dossier.location_of(batch.data, "date"), hint="a manufacture date cannot be in the future"))
    return problems


def _file_dates(dossier, model: Model, source) -> list[Problem]:
    problems = []
    for value, container, key in _strings(source.data):
        if DATE.match(value):
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                problems.append(Problem("date.invalid", f"'{value}' is not a calendar date",
                                        dossier.location_of(container, key), hint="use YYYY-MM-DD with a real month and day"))
    return problems


def _strings(data, container=None, key=None):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _strings(v, data, k)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _strings(v, data, i)
    elif isinstance(data, str) and container is not None:
        yield data, container, key


def check_units(dossier, model: Model) -> list[Problem]:
    """Every unit is a code of schemas/units.yaml."""
    return each_file(dossier, model, "units", _file_units)


def _file_units(dossier, model: Model, source) -> list[Problem]:
    known = units()
    problems = []
    for value, container, key in _strings(source.data):
        if key == "unit" and value not in known:
            by_label = [code for code, label in known.items() if value in (label.get("en"), *label.get("aliases", []))]
            close = by_label or difflib.get_close_matches(value, list(known), n=1, cutoff=0.5)
            problems.append(Problem("unit.unknown", f"unknown unit '{value}'", dossier.location_of(container, key),
                                    hint=(f"did you mean '{close[0]}'? " if close else "") + "units are UCUM codes listed in schemas/units.yaml"))
    return problems


def check_narratives(dossier, model: Model) -> list[Problem]:
    """Narrative fields use the Markdown subset: no raw HTML, code fences or raw blocks."""
    return each_file(dossier, model, "narratives", _file_narratives)


def _file_narratives(dossier, model: Model, source) -> list[Problem]:
    problems = []
    if isinstance(source.data, list):
        return problems
    for pattern in narrative_paths(source.kind):
        for value, container, key in select(source.data, pattern):
            texts = [(value, container, key)] if isinstance(value, str) else [
                (v, value, k) for k, v in value.items() if isinstance(v, str)] if isinstance(value, dict) else []
            for text, holder, name in texts:
                problems += _raw_markup(dossier, text, holder, name)
                problems += _targets(dossier, text, holder, name)
                problems += _cross_references(dossier, model, text, holder, name)
    return problems


def _cross_references(dossier, model: Model, text: str, holder, name) -> list[Problem]:
    """A narrative's cross-reference [text](ctd:number?subject=id) names a Module 3 section, and with a
    subject, a substance or product instance that has that section (crossrefs.py)."""
    from ..crossrefs import NARRATIVE_REF, problem

    found = []
    for match in NARRATIVE_REF.finditer(text) if "ctd:" in text else ():
        wrong = problem(model, match.group("number"), match.group("subject"))
        if wrong:
            code, message, hint = wrong
            found.append(Problem(code, message, dossier.location_of(holder, name), hint=hint))
    return found


def _targets(dossier, text: str, holder, name) -> list[Problem]:
    """A narrative's images and links name files of the dossier folder (checked as figure files are)
    or anchors; never a URL, an absolute path, or a file outside: the build reads nothing else and
    fetches nothing."""
    problems = []  # the folder is read only for a target that names a file (in a build: a read of the folder)
    where = lambda: dossier.location_of(holder, name)
    for found in TARGETS.finditer(text):
        target = found.group("inline") or found.group("defined") or found.group("auto") or ""
        image = bool(found.group("image")) and found.group("inline") is not None
        what = "image" if image else "link"
        if target.startswith("ctd:") and not re.fullmatch(r"ctd:[0-9A-Za-z.]+(\?subject=[a-z][a-z0-9-]*)?", target):
            problems.append(Problem("narrative.bad_ref", f"narrative cross-reference '{target}' is not of the form "
                                    "ctd:<number> or ctd:<number>?subject=<id>", where(),
                                    hint="write for example [](ctd:3.2.S.4.1?subject=ds-drug-linker)"))
            continue
        if not target or (target.startswith("#") and not image) or (target.startswith("ctd:") and not image):
            continue  # an anchor, or a cross-reference to a CTD section (_cross_references)
        if URL_SCHEME.match(target) or target.startswith("//"):
            problems.append(Problem("narrative.url", f"narrative {what} to '{target}': documents may not point to URLs or "
                                    "other schemes", where(), hint="a submission is read offline: name the source in the "
                                    "text (for example a reference in references.yaml), or put the file in the dossier folder"))
            continue
        path = target.split("#")[0].split("?")[0]
        root = dossier.root.resolve()
        try:
            resolved = (dossier.root / path).resolve()
        except (OSError, RuntimeError):  # a loop of links
            resolved = Path("/")
        if PurePosixPath(path).is_absolute() or not resolved.is_relative_to(root):
            problems.append(Problem("narrative.outside", f"narrative {what} '{target}' is outside the dossier folder", where(),
                                    hint="files must be inside the dossier folder; name them relative to it"))
        elif not resolved.is_file():
            problems.append(Problem("narrative.missing_file", f"narrative {what} '{target}': no such file in the dossier",
                                    where(), hint=f"add it under {dossier.label}/ or correct the path"))
        elif image and resolved.suffix.lower() not in IMAGE_SUFFIXES:
            problems.append(Problem("narrative.not_image", f"narrative image '{target}' is not an image file", where(),
                                    hint=f"use one of {', '.join(IMAGE_SUFFIXES)}"))
        elif image:
            problems.append(Problem("narrative.image", f"narrative image '{target}' is shown as its caption and file name, "
                                    "not embedded", where(), severity="warning",
                                    hint="give figures with a `figure: {file, caption}` field where the schema has one"))
    return problems


def _raw_markup(dossier, text: str, holder, name) -> list[Problem]:
    found = RAW_HTML.search(text)
    what = f"raw HTML '{found.group(0)}'" if found else next((label for mark, label in RAW_MARKUP if mark in text), "")
    if not what:
        return []
    return [Problem("narrative.raw_markup", f"narrative contains {what}", dossier.location_of(holder, name),
                    hint="narratives allow paragraphs, *emphasis*, lists and simple tables only; write it as plain text")]


def check_files(dossier, model: Model) -> list[Problem]:
    """Figures and result files exist inside the dossier folder; every CSV is listed."""
    problems, listed = [], set()
    root = dossier.root.resolve()
    named = each_file(dossier, model, "files", _file_names, lambda found: [[v, asdict(w)] for v, w in found],
                      lambda data: [(v, Location(**w)) for v, w in data])
    for value, where in named:
        try:
            target = (dossier.root / value).resolve()
        except (OSError, RuntimeError):  # a loop of links
            target = Path("/")
        if PurePosixPath(value).is_absolute() or not target.is_relative_to(root):
            problems.append(Problem("file.outside", f"'{value}' is outside the dossier folder",
                                    where, hint="files must be inside the dossier folder"))
        elif not target.is_file():
            problems.append(Problem("file.missing", f"file '{value}' does not exist", where,
                                    hint=f"add it under {dossier.label}/ or correct the path"))
        listed.add(value)
    for rel in sorted(_names_of_files(dossier)):
        if rel.endswith(".csv") and rel not in listed:
            problems.append(Problem("file.unlisted", f"'{rel}' is not listed in any results_files", dossier.locate(rel),
                                    severity="warning", hint="add it to results_files in batches.yaml or stability.yaml"))
    return problems


def _file_names(dossier, model: Model, source) -> list[tuple[str, Location]]:
    """Return the files a data file names (a `file` value, a CSV in a list), each with where it is named."""
    return [(value, dossier.location_of(container, key)) for value, container, key in _strings(source.data)
            if key == "file" or (key is not None and isinstance(container, list) and value.endswith(".csv"))]


def _names_of_files(dossier) -> list[str]:
    """Return the names of the dossier's files (in a build, a read of the list of files, not of their content)."""
    names = getattr(type(dossier), "names", None)
    return names(dossier) if names is not None else list(dossier.files)
