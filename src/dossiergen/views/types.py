"""The small typed values a view hands to its template: texts that know their origin, quantities,
limits, time points, and explicit absence.

Every type is a frozen dataclass. A template prints a value with `{{ x }}`; render's finalize hook
asks the value how it prints (`show(helpers)`), so each state prints one way everywhere:
`Missing` as the highlighted marker (and the data path is recorded), `NotApplicable` as
"Not applicable: reason", `NotGiven` as "–", a `Text` in the document language (English in a
Chinese document is recorded as untranslated, with its origin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

DASH = "–"  # what an optional value that was not given prints as (a table cell, a field)


class Printable:
    """A view value that knows how it prints; `show` receives render's helpers (t, tx, md, missing, qty…)."""

    def show(self, h) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __str__(self) -> str:
        raise TypeError(f"a {type(self).__name__} is printed with {{{{ }}}} (or passed to table/heading), "
                        "not joined with ~: put the joined text in the view (types.Joined)")


# texts ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Text(Printable):
    """A displayed string in English and (optionally) Chinese, with where it comes from.

    origin is the data path (e.g. "manufacture.process.steps[0].name") or the translation key
    ("label:step"); markdown=True marks a narrative (printed as Markdown, not escaped)."""

    en: str
    zh: str | None = None
    origin: str = ""
    markdown: bool = False

    @classmethod
    def of(cls, value: Any, origin: str = "", markdown: bool = False) -> "Text":
        """Return the Text of a data value: a string (English only) or a mapping {en, zh}."""
        if isinstance(value, Text):
            return value
        if isinstance(value, dict):
            return cls(str(value.get("en", "")), value.get("zh") or None, origin, markdown)
        return cls("" if value is None else str(value), None, origin, markdown)

    def untranslated(self, lang: str) -> bool:
        """True when a document in lang would show the English text instead (computed from the data)."""
        return lang != "en" and bool(self.en.strip()) and not (self.zh or "").strip()

    def pick(self, lang: str) -> str:
        """Return the text in lang, falling back to English."""
        return self.zh if lang == "zh" and self.zh else self.en

    def raw(self):
        """Return the value in the data's own shape (a string or {en, zh}) for render's helpers."""
        return {"en": self.en, "zh": self.zh} if self.zh else self.en

    def show(self, h) -> str:
        return h.md(self.raw(), self.origin) if self.markdown else h.tx(self.raw())

    def __bool__(self) -> bool:
        return bool(self.en or self.zh)


# quantities, limits and time --------------------------------------------------------------------

@dataclass(frozen=True)
class Quantity(Printable):
    """A number with a unit code of schemas/units (e.g. 'mg', 'L', '%'); unit "" for a bare number."""

    value: float | int
    unit: str = ""

    @classmethod
    def of(cls, value: Any) -> "Quantity":
        return cls(value.get("value"), value.get("unit", "") or "") if isinstance(value, dict) else cls(value)

    def show(self, h) -> str:
        return h.qty({"value": self.value, "unit": self.unit})


@dataclass(frozen=True)
class Range(Printable):
    """A closed range low–high in one unit (either end may be open: None)."""

    low: float | int | None
    high: float | int | None
    unit: str = ""

    @classmethod
    def of(cls, value: dict) -> "Range":
        return cls(value.get("low"), value.get("high"), value.get("unit", "") or "")

    def contains(self, x: float) -> bool:
        return (self.low is None or x >= self.low) and (self.high is None or x <= self.high)

    def show(self, h) -> str:
        return h.rng({"low": self.low, "high": self.high, "unit": self.unit})


@dataclass(frozen=True)
class Limit(Printable):
    """An acceptance criterion (common.schema.json#/$defs/acceptance): the text as written in the
    specification, which is what a document prints, and the structured limit when given: a
    comparator with a value (<, <=, >, >=, =), an inclusive range, or a qualitative one."""

    text: Text
    comparator: str | None = None
    value: float | int | None = None
    unit: str = ""
    range: Range | None = None
    qualitative: bool = False  # 'conforms' or 'report': no numeric verdict

    @classmethod
    def of(cls, acceptance: dict | None, origin: str = "") -> "Limit":
        a = acceptance if isinstance(acceptance, dict) else {}
        limit = a.get("limit") if isinstance(a.get("limit"), dict) else {}
        rng = Range(limit["low"], limit["high"], limit.get("unit", "") or "") if "low" in limit and "high" in limit else None
        return cls(Text.of(a.get("text"), origin), limit.get("comparator"), limit.get("value"), limit.get("unit", "") or "",
                   rng, "conforms" in limit or "report" in limit)

    def conforms(self, x: float) -> bool | None:
        """True/False for a numeric result against a numeric limit (limits.meets); None when the limit
        is qualitative or not given (a verdict is never made up)."""
        from ..limits import meets

        if self.range is not None:
            return meets({"low": self.range.low, "high": self.range.high}, x)
        if self.comparator is not None:
            return meets({"comparator": self.comparator, "value": self.value}, x)
        return None

    def show(self, h) -> str:
        return self.text.show(h)


TIME_UNITS = {"hours": 1.0, "days": 24.0, "weeks": 24.0 * 7, "months": 24.0 * 365.25 / 12}


@dataclass(frozen=True)
class TimePoint(Printable):
    """A time point of a study or a hold: a value in hours, days, weeks or months (cell therapies
    count hours; ICH Q1A counts months). Conversions use a month of 365.25/12 days."""

    value: float | int
    unit: str = "months"

    def __post_init__(self):
        if self.unit not in TIME_UNITS:
            raise ValueError(f"unknown time unit {self.unit!r}: use one of {', '.join(TIME_UNITS)}")

    @property
    def hours(self) -> float:
        return self.value * TIME_UNITS[self.unit]

    @property
    def days(self) -> float:
        return self.hours / TIME_UNITS["days"]

    @property
    def weeks(self) -> float:
        return self.hours / TIME_UNITS["weeks"]

    @property
    def months(self) -> float:
        return self.hours / TIME_UNITS["months"]

    def label(self, lang: str = "en") -> str:
        """Return e.g. '3 months' / '3 个月', '1 hour', '12 小时'."""
        number = f"{self.value:g}"
        if lang == "zh":
            return number + {"hours": " 小时", "days": " 天", "weeks": " 周", "months": " 个月"}[self.unit]
        word = self.unit if self.value != 1 else self.unit[:-1]
        return f"{number} {word}"

    def show(self, h) -> str:
        return self.label(h.context.lang)

    def __lt__(self, other: "TimePoint") -> bool:
        return self.hours < other.hours


# absence ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Present(Printable):
    """A value that is there (printed as the value prints)."""

    value: Any

    def show(self, h):
        value = self.value
        return value.show(h) if isinstance(value, Printable) else value


@dataclass(frozen=True)
class NotApplicable(Printable):
    """A value that does not apply, with the reason given in the data ("Not applicable: reason")."""

    reason: Text

    def show(self, h):
        return h.md({"not_applicable": self.reason.raw()}, self.reason.origin)

    def __bool__(self) -> bool:
        return False


@dataclass(frozen=True)
class Missing(Printable):
    """A required value that is not in the data: printed as the missing marker, its path recorded."""

    data_path: str

    def show(self, h):
        return h.missing(self.data_path)

    def __bool__(self) -> bool:
        return False


@dataclass(frozen=True)
class NotGiven(Printable):
    """An optional value that was not given: printed as a dash."""

    def show(self, h) -> str:
        return DASH

    def __bool__(self) -> bool:
        return False


NOT_GIVEN = NotGiven()

Value = Union[Present, NotApplicable, Missing, NotGiven]


def present(value) -> bool:
    """True for a value a template should print as content (not an absence state)."""
    return not isinstance(value, (NotApplicable, Missing, NotGiven))


@dataclass(frozen=True)
class Joined(Printable):
    """Labels and texts printed as one string (e.g. "Step 3: " + the step's name): each part prints
    as its type says, when the template prints the whole, so untranslated parts are still recorded."""

    parts: tuple
    sep: str = ""

    def show(self, h) -> str:
        return self.sep.join(str(p.show(h) if isinstance(p, Printable) else p) for p in self.parts)

    def __bool__(self) -> bool:
        return any(bool(p) for p in self.parts)


@dataclass(frozen=True)
class Address(Printable):
    """A postal address (building, street, postal_code, city, region, country as in the data), printed
    on one line in the document's language and order (render's address(): Chinese order in Chinese)."""

    fields: tuple = ()         # ((key, Text or str), ...) in the data's order

    @classmethod
    def of(cls, value) -> "Address":
        if not isinstance(value, dict):
            return cls()
        return cls(tuple((k, Text.of(v) if isinstance(v, dict) else v) for k, v in value.items()))

    def show(self, h) -> str:
        if not self.fields:
            return h.address(None)
        return h.address({k: v.raw() if isinstance(v, Text) else v for k, v in self.fields})

    def __bool__(self) -> bool:
        return bool(self.fields)
