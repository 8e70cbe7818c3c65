"""Derived tables for documents: specification rows, batch and stability pivots, sites by role.

Pure functions of the model; they return cells as plain values (escaped later) or Markdown.
"""

from __future__ import annotations

import functools
import re

from .limits import meets
from .periods import study_points
from .model import Model, criterion_for, results_by_batch, results_by_study, spec_tests, version_test
from .text import pick

BATCHES_PER_TABLE = 5
TIME_POINTS_PER_TABLE = 8


def chunks(items: list, size: int) -> list[list]:
    """Return items in consecutive groups of at most size (wide tables split across pages)."""
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def balanced_chunks(items: list, most: int) -> list[list]:
    """Return items in as few consecutive groups of at most `most` as possible, of even sizes
    (14 batches at most 6 a table: 5, 5, 4 rather than 6, 6, 2)."""
    if not items:
        return [[]]
    count = -(-len(items) // most)
    return chunks(items, -(-len(items) // count))


MINUS = "\u2212"  # a true minus sign, not a hyphen
NBSP = "\u00a0"  # between a number and its unit, and after a comparator: never split over two lines
# How a range is printed: (between positive ends, when an end is negative). "−18–−12 °C" reads
# badly and "−18—12" reads as −18 to +12; Chinese writes ranges with a wave dash (～).
RANGE_WORDS = {"en": ("\u2013", " to "), "zh": ("\uff5e", "\uff5e")}


def format_number(value) -> str:
    """Return a number as written in a table (no trailing .0 on whole numbers of integers), with
    a true minus sign."""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        text = f"{int(value)}"
    else:
        text = f"{value}"
    return MINUS + text[1:] if text.startswith("-") else text


def _with_unit(number: str, unit: str) -> str:
    return f"{number}{NBSP}{unit}" if unit else number


# The label (templates/module3/labels.yaml) a result qualifier prints as, in the document language.
QUALIFIER_LABELS = {"<LOQ": "result_below_loq", "<LOD": "result_below_lod", "not_detected": "result_not_detected",
                    "not_tested": "result_not_tested"}


def format_result(result: dict | None, units: dict, lang: str, word) -> str:
    """Return one result as printed: '99.5 %', '< LOQ', 'Conforms' (a no-break space before a unit).

    The words of qualifiers are labels (templates/module3/labels.yaml) that `word(key)` returns in
    the document language (render's t(), which records a label still in English), so a Chinese
    document prints 不得过, 未检出, 未检测."""
    if not result:
        return "\u2013"
    qualifier = result.get("qualifier")
    unit = _unit(result.get("unit"), units, lang)
    if "value" in result:
        if qualifier == "NMT":  # Chinese writes 不得过5.0%, without a space
            prefix = word("result_nmt") + ("" if lang == "zh" else NBSP)
        else:
            prefix = {"<": "<" + NBSP, ">": ">" + NBSP}.get(qualifier, "")
        return prefix + _with_unit(format_number(result["value"]), unit)
    if qualifier:
        return word(QUALIFIER_LABELS[qualifier]) if qualifier in QUALIFIER_LABELS else qualifier
    if lang == "zh" and result.get("text_zh"):
        return str(result["text_zh"])
    return str(pick(result.get("text"), lang))


def _unit(code, units: dict, lang: str) -> str:
    if not code:
        return ""
    label = units.get(code, {})
    return label.get(lang) or label.get("en") or code


def format_quantity(q: dict | None, units: dict, lang: str) -> str:
    """Return '150 mg/mL' from {value, unit}."""
    if not isinstance(q, dict):
        return ""
    return _with_unit(format_number(q.get("value")), _unit(q.get("unit"), units, lang))


def format_range(r: dict | None, units: dict, lang: str) -> str:
    """Return '55–65 °C', or '−18 to −12 °C' when an end is negative, from {low, high, unit}."""
    if not isinstance(r, dict):
        return ""
    low, high = r.get("low"), r.get("high")
    dash, word = RANGE_WORDS.get(lang, RANGE_WORDS["en"])
    negative = any(isinstance(v, (int, float)) and v < 0 for v in (low, high))
    between = word if negative else dash
    return _with_unit(f"{format_number(low)}{between}{format_number(high)}", _unit(r.get("unit"), units, lang))


def batch_pivot(model: Model, spec: dict, batch_ids: list[str], per_table: int = BATCHES_PER_TABLE) -> list[dict]:
    """Return one table per group of batches: {'batches': [...], 'rows': [(test, [result, ...])],
    'versions': [...], 'earlier': [...]}.

    Tests come in specification order; a test a batch was not tested for shows as absent. Each
    batch is judged against the specification version it was tested against (its own criteria,
    model.version_test): 'oos' flags results outside them, 'criteria' holds them per batch, and
    'earlier' describes each earlier version of the group's batches (see earlier_versions).
    """
    by_batch = results_by_batch(model)
    batches = [b.data for b in (model.get(i, "batch") for i in batch_ids) if b is not None]
    tables = []
    for group in balanced_chunks(batches, per_table):
        versions = [tested_version(spec, b) for b in group]
        rows = []
        for test in spec.get("tests", []):
            found = [_result_for(by_batch.get(b["id"], []), test["id"]) for b in group]
            # a result of a test its version did not have (reported by validate) is judged by the current criteria
            criteria = _criteria(spec, versions, test["id"])
            rows.append({"test": test, "results": found, "criteria": criteria,
                         "oos": [meets(c.get("limit"), r.get("value")) is False if r else False for r, c in zip(found, criteria)]})
        table = {"batches": group, "rows": rows, "versions": versions}
        table["earlier"] = earlier_versions(spec, table)
        tables.append(table)
    return tables


def _criteria(spec: dict, versions: list, test_id: str) -> list[dict]:
    """Return criterion_for each version of a table's batches, found once per distinct version (a table's
    batches mostly share one)."""
    found: list[tuple] = []  # (version, criterion): versions compared as criterion_for would tell them apart
    criteria = []
    for version in versions:
        known = next((c for v, c in found if v == version and type(v) is type(version)), None)
        if known is None:
            known = criterion_for(spec, version, test_id)
            found.append((version, known))
        criteria.append(known)
    return criteria


def tested_version(spec: dict, batch: dict):
    """Return the version of `spec` a batch was tested against (the current one when it names
    another specification, no version or an unknown one)."""
    ref = batch.get("specification") if isinstance(batch.get("specification"), dict) else {}
    version = ref.get("version")
    if ref.get("id") not in (None, spec.get("id")) or spec_tests(spec, version) is None:
        return spec.get("version")
    return version


def earlier_versions(spec: dict, table: dict) -> list[dict]:
    """Return, per earlier specification version among a batch table's batches (in the order met):
    {'version', 'batches' (numbers), 'changed' ([(current test, test as in that version)] whose
    release criterion differed), 'absent' (current tests that version did not have), 'beyond'
    ([(batch number, test, result)] within that version's criterion but outside the current one)}."""
    current = spec.get("version")
    found: dict = {}
    for index, (batch, version) in enumerate(zip(table["batches"], table["versions"])):
        if version == current:
            continue
        entry = found.setdefault(version, {"version": version, "batches": [], "changed": [], "absent": [], "beyond": []})
        entry["batches"].append(batch.get("number", batch.get("id")))
        for row in table["rows"]:
            result = row["results"][index]
            now = (row["test"].get("acceptance") or {}).get("limit")
            if result and not row["oos"][index] and meets(now, result.get("value")) is False:
                entry["beyond"].append((entry["batches"][-1], row["test"], result))
    for version, entry in found.items():
        for test in spec.get("tests", []):
            then = version_test(spec, version, test["id"])
            if then is None:
                entry["absent"].append(test)
            elif (then.get("acceptance") or {}) != (test.get("acceptance") or {}):
                entry["changed"].append((test, then))
    return list(found.values())


def _result_for(results: list[dict], test_id: str) -> dict | None:
    return next((r for r in results if r.get("test") == test_id), None)


def stability_pivot(model: Model, study: dict, per_table: int = TIME_POINTS_PER_TABLE) -> list[dict]:
    """Return tables of a study: {'time_points': [...], 'rows': [(test, [result per time point])]}."""
    spec_entity = model.get((study.get("specification") or {}).get("id"), "specification")
    spec = spec_entity.data if spec_entity else {"tests": []}
    results = results_by_study(model).get(study["id"], [])
    by_cell = {}
    for result in results:  # the first result of a test at a time point is shown
        by_cell.setdefault((result.get("test"), result.get("time_point")), result)
    measured = {point for _, point in by_cell}
    points = [p for p in study_points(study) if p in measured]
    tested = {test for test, _ in by_cell}
    tests = [t for t in spec.get("tests", []) if t["id"] in tested]
    version = (study.get("specification") or {}).get("version")
    then = {t["id"]: version_test(spec, version, t["id"]) or t for t in tests}  # the criteria of the version it was tested against
    tables = []
    for group in balanced_chunks(points, per_table):
        rows = [{"test": t, "results": [by_cell.get((t["id"], p)) for p in group]} for t in tests]
        tables.append({"time_points": group, "rows": rows, "criteria": {t["id"]: _stability_criterion(then[t["id"]]) for t in tests}})
    return tables


def _stability_criterion(test: dict) -> dict:
    return test.get("shelf_life_acceptance") or test["acceptance"]


def sites_for(model: Model, subject_id: str) -> list[dict]:
    """Return [{'site': data, 'roles': [role entries for this subject]}] in sites.yaml order."""
    found = []
    for site in model.of_type("site"):
        roles = [r for r in site.data.get("roles", []) if subject_id in r.get("subjects", [])]
        if roles:
            found.append({"site": site.data, "roles": roles})
    return found


def studies_of(model: Model, subject_id: str) -> list[dict]:
    """Return the stability studies of a substance or product, in stability.yaml order."""
    return [s.data for s in model.of_type("study") if s.data.get("subject") == subject_id]


def cumulative_lrv(steps: list[dict], virus_id: str) -> float:
    """Return the cumulative log10 reduction of a virus over the counted steps."""
    return round(sum(s.get("lrv", {}).get(virus_id, 0) for s in steps if s.get("counted", True)), 1)


# Column widths from content ------------------------------------------------------------------
# Widths in em of the table text, measured on the safe side for Liberation Serif / Times New
# Roman (capitals 0.72 em, other letters and digits 0.5, spaces and punctuation less; CJK 1 em).
# write/convert.lua measures words the same way when it decides which words to keep whole.
_NARROW = set(" .,;:'|!ijlrtf()[]/-·")
# An escaped character first (kept, its backslash dropped), so that the _ of "DE\_BY\_04" is not read as
# emphasis and dropped: the column would be measured for "DEBY04" and the number overrun it.
_MARKUP = re.compile(r"\\(.)|\]\([^)]*\)|\{[^}]*\}|\*\*|(?<!\w)[*_](?=\w)|(?<=\w)[*_](?!\w)")
CELL_PAD_PT = 4.0  # a cell's inset on each side, in points (document.typ 4 pt, reference.docx 80 twips)
_SPACES = re.compile(r"[^\S\u00a0\u202f]+")
LONG_WORD_EM = 12.0  # a longer word (a chemical name) may break after - / ) ] , : its pieces must fit
_PIECES = re.compile(r"(?<=[-/)\],\u2010\u2013\u2014])(?!\d)")


# Chinese, Japanese and full-width characters break anywhere: each is a word of its own.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_WORD = re.compile(f"[{_CJK}]|[^\\s{_CJK}\u00a0\u202f]+(?:[\u00a0\u202f][^\\s{_CJK}\u00a0\u202f]+)*")


# A run of CJK characters may break anywhere, but a column narrower than a few of them prints a name
# one character per line (登记人: 诺/瓦/明/…): such a column gets at least CJK_MIN_RUN characters, or the
# whole run when it is shorter (药用辅料 stays on one line).
CJK_MIN_RUN = 4.0
_CJK_RUN = re.compile(f"[{_CJK}]+")


def _cjk_room(text: str) -> float:
    """Return the width in em the CJK runs of a text need to keep CJK_MIN_RUN characters on a line."""
    return max((min(em_width(run), CJK_MIN_RUN) for run in _CJK_RUN.findall(text)), default=0.0)


def _words(text: str) -> list[str]:
    """Return the unbreakable words of a text: split at spaces (not no-break ones) and around CJK characters."""
    return _WORD.findall(text)


def word_room(word: str, long_word: float = LONG_WORD_EM) -> float:
    """Return the width in em a word needs whole, or, for one longer than long_word, its longest piece."""
    width = em_width(word)
    if width <= long_word:
        return width
    return max(em_width(piece) for piece in _PIECES.split(word))


@functools.lru_cache(maxsize=65536)
def em_width(text: str) -> float:
    """Return the printed width of a text in em, on the safe side (remembered: table cells repeat)."""
    width = 0.0
    for char in text:
        if ord(char) >= 0x2E80:
            width += 1.0
        elif char in _NARROW:
            width += 0.34
        elif char.isupper() or char in "%@&WMm":
            width += 0.74
        else:
            width += 0.5
    return width


def plain_cell(markdown: str) -> str:
    """Return the text a Markdown cell shows (links, attributes, escapes and emphasis removed)."""
    return _MARKUP.sub(lambda found: found.group(1) or "", str(markdown)).replace("[", "").replace("]", "")


@functools.lru_cache(maxsize=65536)
def _cell_room(cell: str, pieces: bool) -> tuple[float, float]:
    """Return the width in em a cell's text needs at least (its longest word, or piece of a word with
    pieces) and its whole width (remembered: the cells of a table are measured again when it turns to
    landscape, and cells repeat across tables and documents)."""
    text = plain_cell(cell)
    words = _words(text) or [""]
    least = max(max(word_room(w, 0.0 if pieces else LONG_WORD_EM) for w in words), 0.0 if pieces else _cjk_room(text))
    return least, em_width(text)


def column_widths(cells: list[list[str]], weights: list[float], room_em: float, pad_em: float,
                  pieces: bool = False) -> tuple[list[float], bool]:
    """Return each column's share of the text width, and whether the table's words fit at all.

    Every column gets at least its longest word (never broken inside a cell: that is what the
    share is for in Word, LibreOffice and typst); the rest of the width goes to the columns in
    proportion to how much text they have to wrap (their average cell, weighed by the template's
    weights), never more than a column's longest cell. When the longest words do not fit side by
    side, the shares follow them and fit is False (a caller turns the page to landscape, or asks
    again with pieces=True: then words with - / may break there). The first row is the header,
    set in bold."""
    count = len(weights)
    shortest, longest, total = [0.5] * count, [0.5] * count, [0.0] * count
    for number, row in enumerate(cells):
        bold = 1.1 if number == 0 else 1.0
        for index, cell in enumerate(row[:count]):
            least, width = _cell_room(str(cell), pieces)
            shortest[index] = max(shortest[index], bold * least + 0.3)
            longest[index] = max(longest[index], bold * width + 0.3)
            total[index] += width
    available = room_em - count * pad_em
    fits = sum(shortest) <= available
    if not fits:
        widths = shortest
    else:
        widths = list(shortest)
        want = [max(t / max(len(cells), 1) - s, 0.0) * w + 0.01 for t, s, w in zip(total, shortest, weights)]
        open_columns = {i for i in range(count) if widths[i] < longest[i]}
        for _ in range(count + 1):  # hand out the spare room; a column full at its longest cell gives its part back
            spare = available - sum(widths)
            if spare <= 1e-6 or not open_columns:
                break
            share = sum(want[i] for i in open_columns)
            for i in list(open_columns):
                widths[i] = min(longest[i], widths[i] + spare * want[i] / share)
                if widths[i] >= longest[i]:
                    open_columns.discard(i)
        spare = available - sum(widths)
        if spare > 1e-6:  # every column holds its longest cell on one line: spread the rest evenly
            widths = [w + spare * w / sum(widths) for w in widths]
    total_width = sum(widths) + count * pad_em
    return [(w + pad_em) / total_width for w in widths], fits
