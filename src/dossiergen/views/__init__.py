"""The view model: what a converted template prints, computed in Python from the data.

A view function per template (`@view("s-2-2")`) receives a ViewContext (the document, the market,
stage and language, the model, and render's helpers for labels and formatting) and returns a
frozen object (a dataclass of tuples and of the values in views.types). Render then gives the
template only that object (`v`), the document's metadata (`doc`), the page frame (`page`) and the
layout helpers (RESTRICTED): no `model`, no raw `substance`/`product`/`app` data, so a converted
template that reaches for raw data fails under StrictUndefined. A template without a registered
view still gets the full namespace (render.py) while the conversion proceeds.

Every module of this package is imported on first use, so a new views/<part>.py registers itself.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, Callable

from .types import (DASH, NOT_GIVEN, Limit, Missing, NotApplicable, NotGiven, Present, Printable, Quantity,  # noqa: F401
                    Range, Text, TimePoint, present)

VIEWS: dict[str, Callable[["ViewContext"], Any]] = {}

# What a converted template sees besides `v`, `doc`, `title` and `page`: layout helpers only.
RESTRICTED = ("t", "table", "heading", "md", "missing", "ref", "landscape", "trend_figures", "flow_figures", "compendial_statement")


def view(*templates: str):
    """Register a view function for one or more templates (names without .md.j2)."""

    def register(function):
        for name in templates:
            if name in VIEWS and VIEWS[name] is not function:
                raise ValueError(f"template {name!r} has two views ({VIEWS[name].__name__}, {function.__name__})")
            VIEWS[name] = function
        return function

    return register


_loaded = False


def _load() -> None:
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__):
            if info.name != "types":
                importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True


def converted() -> tuple[str, ...]:
    """Return the templates that have a view (and so get the restricted namespace), sorted."""
    _load()
    return tuple(sorted(VIEWS))


def has_view(template: str) -> bool:
    _load()
    return template in VIEWS


def build_view(template: str, helpers) -> Any:
    """Return the frozen view object of a template for the document render's helpers work on."""
    _load()
    return freeze(VIEWS[template](ViewContext(helpers)))


def freeze(value):
    """Return a view value immutable all the way down: a text given as {en, zh} becomes a Text
    (it prints the same way), lists become tuples, dataclasses are rebuilt with frozen fields."""
    if type(value) in _PLAIN:  # most of a view: strings and numbers, returned as they are
        return value
    if isinstance(value, dict):
        if "en" in value and set(value) <= {"en", "zh"}:
            return Text.of(value)
        return tuple((k, v if type(v) in _PLAIN else freeze(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        frozen = tuple(v if type(v) in _PLAIN else freeze(v) for v in value)
        if type(value) is tuple and all(a is b for a, b in zip(frozen, value)):
            return value  # frozen already: kept, so that a dataclass holding it is not rebuilt
        return frozen
    names = _init_fields(type(value))
    if names:
        changed = {name: v if type(v := getattr(value, name)) in _PLAIN else freeze(v) for name in names}
        if any(changed[k] is not getattr(value, k) for k in changed):
            return replace(value, **changed)
    return value


_PLAIN = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _init_fields(cls: type) -> tuple[str, ...]:
    """Return the names of a dataclass's init fields (none for any other class; a class itself is
    an instance of type, not a dataclass): the same for every instance, found once per class."""
    return tuple(f.name for f in fields(cls) if f.init) if is_dataclass(cls) else ()


@dataclass(frozen=True)
class DocMeta:
    """The document's metadata a template may print (no data of the scope)."""

    id: str
    number: str
    heading_number: str
    path: str
    key_label: str


class ViewContext:
    """What a view function works with: the document and its scope data, the market, stage and
    language, the model (read-only), and render's helpers (labels, texts, formatting, references)."""

    def __init__(self, helpers):
        self.h = helpers
        self.context, self.document = helpers.context, helpers.document
        self.model = self.context.model
        self.lang, self.stage = self.context.lang, self.context.stage

    @property
    def market(self) -> str:
        """The market (read only where a view uses it: a document that never does is shared by the
        markets of its language, see depends.RecordingContext)."""
        return self.context.market

    def scope(self, name: str) -> dict:
        """Return the data of a scope entry of the document (substance, product, excipient, method), or {}."""
        return self.document.get(name) or {}

    @property
    def required_at_stage(self) -> bool:
        return self.context.stage not in self.document.section.not_required_at

    # labels, texts and formatting (render's helpers; English in a Chinese document is recorded)
    def t(self, key: str) -> str:
        return self.h.t(key)

    def tx(self, value) -> str:
        return self.h.tx(value)

    def text(self, value, origin: str = "") -> Text:
        """Return a data text as a Text (printed, and checked for translation, where the template prints it)."""
        return Text.of(value, origin)

    def narrative(self, value, origin: str) -> Text | Missing | NotApplicable:
        """Return a narrative: Markdown Text, NotApplicable (a {not_applicable: reason} value) or Missing."""
        if value is None or value == "":
            return Missing(origin)
        if isinstance(value, dict) and set(value) == {"not_applicable"}:
            return NotApplicable(Text.of(value["not_applicable"], origin, markdown=True))
        return Text.of(value, origin, markdown=True)

    def md(self, value, where: str = ""):
        return self.h.md(value, where)

    def ref(self, number: str, subject: str | tuple | None = None, named: bool = True) -> str:
        """A cross-reference to a section (of the subject's instance when given: crossrefs.py)."""
        return self.h.ref(number, subject, named)

    def qty(self, value) -> str:
        return self.h.qty(value)

    def rng(self, value) -> str:
        return self.h.rng(value)

    def unit(self, code) -> str:
        return self.h.unit(code)

    def criterion(self, acceptance) -> str:
        return self.h.criterion(acceptance)

    def get(self, entity_id) -> dict:
        """Return an entity's data by id ({} if unknown)."""
        return self.h.get(entity_id)

    def site_name(self, site_id) -> str:
        return self.h.site_name(site_id)

    def address(self, value) -> str:
        return self.h.address(value)

    def time_point(self, value, unit: str = "months") -> str:
        """Return a time point as a stability table heads it: "Initial", "1 month", "6 months",
        "24 hours" (labels in the document language; unit as the study gives it)."""
        point = TimePoint(value, unit or "months")
        if point.value == 0:
            return self.t("initial")
        number = int(point.value) if point.value == int(point.value) else point.value
        if point.unit == "months":
            return f"{number} {self.t('c_month') if point.value == 1 else self.t('months')}"
        return f"{number} {self.t('time_unit_' + (point.unit[:-1] if point.value == 1 else point.unit))}"

    def optional(self, value, show=None):
        """Return show(value) (or the value) when given, else NOT_GIVEN (printed as a dash)."""
        if value is None or value == "" or value == [] or value == {}:
            return NOT_GIVEN
        return show(value) if show else value


def frozen(value) -> bool:
    """True when a view value is immutable all the way down (frozen dataclasses, tuples, scalars)."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return True
    if isinstance(value, tuple):
        return all(frozen(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return value.__dataclass_params__.frozen and all(frozen(getattr(value, f.name)) for f in fields(value))
    return False
