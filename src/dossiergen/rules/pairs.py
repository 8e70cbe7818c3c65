"""Rules: one fact, one place. Where the data hold a fact twice (a structured limit and its text,
a proper name and the INN it is built on), the two must agree, or the problem is located."""

from __future__ import annotations

import re

from ..errors import Problem
from ..model import Model

_NUMBER = re.compile(r"(?<![A-Za-z0-9_.^])[-−]?\d+(?:\.\d+)?")
_POWER = re.compile(r"(?:(\d+(?:\.\d+)?)\s*[×xX·]\s*)?10\s*(?:\^|E|e)?\s*([-−]?\d+|[⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_LOWER = ("≤", "<", "NMT", "not more than", "不得过", "不大于")
_UPPER = ("≥", ">", "NLT", "not less than", "不得少于", "不小于")


def _numbers(text: str) -> set[float]:
    """Return the numbers a criterion's text states, powers of ten (10^3, 1 × 10³) as their value."""
    text = text.replace(",", "").replace("−", "-")
    powers = set()
    for match in _POWER.finditer(text):
        if "^" in match.group(0) or "E" in match.group(0) or "e" in match.group(0) or match.group(1) or \
                match.group(2)[0] in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻":
            powers.add(float(match.group(1) or 1) * 10 ** int(match.group(2).translate(_SUPERSCRIPT)))
    return powers | {float(n) for n in _NUMBER.findall(text)}


def _texts(text) -> list[tuple[str, str]]:
    """Return (language key, text) of a plain or {en, zh} text."""
    if isinstance(text, dict):
        return [(key, value) for key, value in text.items() if isinstance(value, str)]
    return [("", text)] if isinstance(text, str) else []


def limit_disagreement(limit: dict, text: str) -> str | None:
    """Return how a criterion's text contradicts its structured limit, or None when it agrees."""
    wanted = [limit[k] for k in ("value", "low", "high") if isinstance(limit.get(k), (int, float)) and not isinstance(limit.get(k), bool)]
    found = _numbers(text)
    absent = [v for v in wanted if not any(abs(v - f) < 1e-9 for f in found)]
    if absent:
        return f"the text gives {', '.join(_plain(f) for f in sorted(found)) or 'no number'} but the limit says {', '.join(_plain(v) for v in wanted)}"
    comparator = limit.get("comparator", "")
    words = text.lower()
    if comparator in ("<", "<=") and any(w.lower() in words for w in _UPPER) and not any(w.lower() in words for w in _LOWER):
        return f"the text is a lower limit but the limit's comparator is '{comparator}'"
    if comparator in (">", ">=") and any(w.lower() in words for w in _LOWER) and not any(w.lower() in words for w in _UPPER):
        return f"the text is an upper limit but the limit's comparator is '{comparator}'"
    return None


def _plain(value: float) -> str:
    return f"{value:g}"


def check_limit_texts(dossier, model: Model) -> list[Problem]:
    """The text of every acceptance criterion agrees with its structured limit (numbers and direction)."""
    problems = []
    for spec in model.of_type("specification"):
        tests = [t for t in spec.data.get("tests", []) or [] if isinstance(t, dict)]
        for old in spec.data.get("previous_versions", []) or []:
            tests += [t for t in (old.get("tests") or []) if isinstance(t, dict)] if isinstance(old, dict) else []
        for test in tests:
            acceptance = test.get("acceptance")
            if not isinstance(acceptance, dict) or not isinstance(acceptance.get("limit"), dict):
                continue
            for key, text in _texts(acceptance.get("text")):
                why = limit_disagreement(acceptance["limit"], text)
                if why:
                    where = dossier.location_of(acceptance["text"], key) if key else dossier.location_of(acceptance, "text")
                    problems.append(Problem("spec.limit_text_mismatch",
                                            f"test '{test.get('id')}': the criterion '{text}' disagrees with its structured limit: {why}",
                                            where, hint="correct the text or the limit so both say the same; the documents print the text "
                                                        "and results are judged against the limit"))
    return problems


def check_proper_name(dossier, model: Model) -> list[Problem]:
    """A US proper name is written once, in 3.2.S.1.1 (nomenclature.us_proper_name), as the INN with a
    four-letter suffix; a 356h established_name that says otherwise is a located error."""
    app = model.single("application")
    inn = app.get("inn").get("en") if isinstance(app.get("inn"), dict) else app.get("inn")
    form = model.single("market-us").get("form_356h") or {}
    problems = []
    for substance in model.of_type("substance"):
        nomenclature = (substance.data.get("general") or {}).get("nomenclature") or {}
        name = nomenclature.get("us_proper_name")
        if not isinstance(name, str):
            continue
        stems = {str(s).lower() for s in (inn, nomenclature.get("usan")) if s}
        if stems and name.rsplit("-", 1)[0] not in stems:
            problems.append(Problem("us.proper_name", f"the proper name '{name}' is not the INN/USAN ({', '.join(sorted(stems))}) with a suffix",
                                    dossier.location_of(nomenclature, "us_proper_name"),
                                    hint="write it as <inn>-xxxx with the suffix FDA designates (FDA guidance, Nonproprietary "
                                         "Naming of Biological Products, 2017, updated 2019)"))
        written = form.get("established_name")
        if isinstance(written, str) and written != name:
            problems.append(Problem("us.proper_name", f"the 356h established name '{written}' differs from the proper name "
                                    f"'{name}' of 3.2.S.1.1", dossier.location_of(form, "established_name"),
                                    hint="remove established_name from markets/us.yaml: the 356h takes the proper name from "
                                         "nomenclature.us_proper_name of the substance"))
    return problems
