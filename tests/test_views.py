"""The view model (issue 13): typed values, frozen views, converted templates see no raw data."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import jinja2
import pytest

from dossiergen import render, views
from dossiergen.assemble import assemble_context
from dossiergen.build import _model
from dossiergen.model import Entity, Model
from dossiergen.views.types import (NOT_GIVEN, Joined, Limit, Missing, NotApplicable, Present, Quantity, Text,
                                    TimePoint)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"antibody": ROOT / "dossier", "tablets": ROOT / "examples" / "velcratinib-tablets"}
TEMPLATES = ROOT / "templates" / "module3"


@pytest.fixture(scope="module")
def models():
    return {name: _model(folder)[0] for name, folder in EXAMPLES.items()}


def _helpers(model, market="neutral", number="3.2.S.2.2"):
    context = assemble_context(model, market, "marketing")
    document = next(d for d in context.documents if d.number == number)
    return render._Helpers(context, document)


def _print(helpers, value) -> str:
    """Print a value as a template does ({{ x }}), with render's helpers in place."""
    token = render._HELPERS.set(helpers)
    try:
        return render._environment().from_string("{{ x }}").render(x=value)
    finally:
        render._HELPERS.reset(token)


# types -------------------------------------------------------------------------------------------

def test_text_knows_whether_it_is_translated():
    both, english = Text.of({"en": "Purification", "zh": "纯化"}, "steps[0].name"), Text.of("Purification", "steps[0].name")
    assert not both.untranslated("zh") and english.untranslated("zh")
    assert not english.untranslated("en") and not Text.of("", "x").untranslated("zh")
    assert both.pick("zh") == "纯化" and english.pick("zh") == "Purification" and english.origin == "steps[0].name"


def test_untranslated_text_is_recorded_where_printed(models):
    helpers = _helpers(models["antibody"], "cn")
    assert _print(helpers, Text.of({"en": "Buffer exchange", "zh": "换液"})) == "换液"
    assert helpers.untranslated == []
    assert _print(helpers, Text.of("Zorblex sieving")) == "Zorblex sieving"
    assert [u.text for u in helpers.untranslated] == ["Zorblex sieving"]


def test_time_points_in_hours_days_weeks_and_months():
    assert TimePoint(48, "hours").days == 2 and TimePoint(2, "weeks").days == 14
    assert TimePoint(3, "months").months == 3 and TimePoint(12, "months").days == pytest.approx(365.25)
    assert sorted([TimePoint(1, "months"), TimePoint(6, "hours"), TimePoint(2, "days")]) == [
        TimePoint(6, "hours"), TimePoint(2, "days"), TimePoint(1, "months")]
    assert TimePoint(1, "hours").label() == "1 hour" and TimePoint(12, "hours").label("zh") == "12 小时"
    assert TimePoint(3, "months").label() == "3 months" and TimePoint(3, "months").label("zh") == "3 个月"
    with pytest.raises(ValueError, match="unknown time unit"):
        TimePoint(1, "fortnights")


def test_limits_conform_only_when_numeric():
    nmt = Limit.of({"text": "NMT 0.5 %", "limit": {"comparator": "<=", "value": 0.5, "unit": "%"}})
    assert nmt.conforms(0.5) is True and nmt.conforms(0.6) is False and nmt.unit == "%"
    ranged = Limit.of({"text": "90.0–110.0 %", "limit": {"low": 90.0, "high": 110.0, "unit": "%"}})
    assert ranged.conforms(95) is True and ranged.conforms(111) is False
    words = Limit.of({"text": "Clear, colourless solution", "limit": {"conforms": True}})
    assert words.qualitative and words.conforms(1.0) is None  # no numeric verdict made up
    assert Limit.of({"text": "Report result"}).conforms(1.0) is None and Limit.of(None).text.en == ""


def test_each_absence_state_prints_one_way(models):
    helpers = _helpers(models["antibody"])
    assert _print(helpers, Missing("manufacture.process.summary")) == r'[\[missing: manufacture.process.summary\]]{custom-style="Missing"}'
    assert helpers.missing_paths == ["manufacture.process.summary"]
    assert _print(helpers, NotApplicable(Text.of("No novel excipient is used.", markdown=True))) == \
        "Not applicable: No novel excipient is used."
    assert _print(helpers, NOT_GIVEN) == "–"
    assert _print(helpers, Present(Quantity(150, "mg"))) == _print(helpers, Quantity(150, "mg")) != "–"
    assert not Missing("x") and not NOT_GIVEN and not NotApplicable(Text("r"))


def test_a_typed_value_cannot_be_glued_with_tilde(models):
    """`~` would print a dataclass repr; the type refuses, the view must hand a Joined instead."""
    helpers = _helpers(models["antibody"])
    token = render._HELPERS.set(helpers)
    try:
        with pytest.raises(TypeError, match="Joined"):
            render._environment().from_string("{{ 'Step 1: ' ~ x }}").render(x=Text("Harvest"))
    finally:
        render._HELPERS.reset(token)
    assert _print(helpers, Joined(("Step 1", ": ", Text("Harvest")))) == "Step 1: Harvest"


def test_types_are_frozen():
    for value in (Text("a"), Quantity(1, "mg"), TimePoint(1, "days"), Missing("p"), Joined(("a",))):
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.en = "b"  # any attribute: frozen dataclasses refuse every assignment


# views ---------------------------------------------------------------------------------------

def test_views_of_both_examples_are_frozen(models):
    combos = [(m, market, "marketing") for m in models.values() for market in ("neutral", "us", "eu", "uk", "cn")]
    combos += [(models["tablets"], "us", "ind")]  # Form FDA 1571 data: IND only
    seen = set()
    for model, market, stage in combos:
        context = assemble_context(model, market, stage)
        for document in context.documents:
            if views.has_view(document.section.template):
                view = views.build_view(document.section.template, render._Helpers(context, document))
                assert views.frozen(view), f"{document.number}: the view holds a mutable value"
                seen.add(document.section.template)
    # 3.2.A.3 holds a document only with a novel excipient (sections.yaml only_when), which no example
    # has: its view is built all the same
    from dossiergen.assemble import Document
    from dossiergen.registry import load_registry

    # nor do 3.2.P.4.2 and 3.2.P.4.3 of an excipient without an in-house specification (all in the examples
    # are compendial: their 3.2.P.4.1 says so)
    sections = {s.template: s for s in load_registry().walk() if s.template in ("a-3", "p-4-2", "p-4-3")}
    for model in models.values():
        context = assemble_context(model, "neutral", "marketing")
        product = model.of_type("product")[0].data
        excipient = model.get(product["composition"][-1]["component"], "excipient").data
        for name, section in sections.items():
            document = Document(f"m3-{section.number}", section, "x", (("product", product), ("excipient", excipient)))
            assert views.frozen(views.build_view(name, render._Helpers(context, document))), name
            seen.add(name)
    # every converted template is exercised by an example (a novel excipient, 3.2.P.4.6: test_views_quality.py)
    assert seen == set(views.converted()) - {"p-4-6"}


def test_converted_template_sees_no_raw_data(models):
    """A converted template gets the view, metadata and layout helpers: the model and raw data are
    not in its namespace, so reaching for them fails (StrictUndefined) instead of printing."""
    helpers = _helpers(models["antibody"])
    names = helpers.view_namespace()
    for forbidden in ("model", "substance", "product", "app", "excipient", "method", "get", "tx", "lang", "market"):
        assert forbidden not in names
        with pytest.raises(jinja2.UndefinedError):
            render._environment().from_string(f"{{{{ {forbidden}.x }}}}").render(**names)
    assert names["v"].steps and names["doc"].number == "3.2.S.2.2"
    with pytest.raises(jinja2.UndefinedError):  # the metadata holds no scope data either
        render._environment().from_string("{{ doc.scope }}").render(**names)


FORBIDDEN = re.compile(r"\b(model|substance|product|app|excipient|lang|market|stage)\b(?=\s*[.\[=!)]|\s*$)|"
                       r"\b(get|tx|qty|rng|unit|criterion|site_name|address|sites_for)\(|\.append\(|is defined|namespace\(")


@pytest.mark.parametrize("template", views.converted())
def test_converted_template_has_no_logic_on_raw_data(template):
    """Converted templates read only `v`: no raw data, no list building, no `is defined` guards."""
    source = next(p for p in [TEMPLATES / f"{template}.md.j2", *ROOT.glob(f"regional/*/templates/{template}.md.j2")]
                  if p.exists()).read_text("utf-8")
    statements = " ".join(re.findall(r"\{[{%](.*?)[%}]\}", source, re.S))
    assert not FORBIDDEN.findall(statements), f"{template}: {FORBIDDEN.findall(statements)}"


def test_base_template_reads_only_the_page_frame():
    source = (TEMPLATES / "_base.md.j2").read_text("utf-8")
    assert "3.2." not in source and "market" not in source  # section numbers come from sections.yaml


def test_associated_review_pointer_only_where_the_registry_says(models):
    model = models["antibody"]
    for market, expected in (("cn", True), ("eu", False)):
        context = assemble_context(model, market, "marketing")
        for document in context.documents:
            if document.section.template and document.number in ("3.2.S.2.3", "3.2.S.2.2"):
                closing = render._Helpers(context, document).page().closing
                assert (closing is not None) == (expected and document.number == "3.2.S.2.3"), (market, document.number)


# model indexes -------------------------------------------------------------------------------

def _batches(*pairs):
    model = Model(dossier=None)
    for batch_id, parents in pairs:
        model.entities[batch_id] = Entity("batch", batch_id, {"id": batch_id, "substance_batches": list(parents)}, "batches.yaml")
    return model


def test_genealogy_any_depth():
    """A patient lot from a vector lot from a plasmid lot: every ancestor is found, nearest first."""
    model = _batches(("plasmid-1", ()), ("vector-1", ("plasmid-1",)), ("vector-2", ("plasmid-1",)),
                     ("patient-7", ("vector-1", "vector-2")), ("loop-a", ("loop-b",)), ("loop-b", ("loop-a",)))
    genealogy = model.genealogy()
    assert genealogy.ancestors("patient-7") == ("vector-1", "vector-2", "plasmid-1")
    assert genealogy.children("plasmid-1") == ("vector-1", "vector-2")
    assert genealogy.ancestors("plasmid-1") == ()
    assert genealogy.ancestors("loop-a") == ("loop-b",)  # a cycle in bad data ends
    assert model.genealogy() is genealogy  # built once


def test_entities_by_type_index_follows_declared_order(models):
    model = models["antibody"]
    for etype in ("batch", "site", "study", "excipient"):
        assert [e.id for e in model.of_type(etype)] == [e.id for e in model.entities.values() if e.type == etype]
    assert model.of_type("no-such-type") == []


def test_document_ids_come_from_entity_ids_not_names():
    """Renaming a product moves its eCTD folder (the slug of its name) but keeps its documents'
    identity (ids from entity ids), so a later sequence replaces instead of adding new leaves."""
    model = _model(ROOT / "tests" / "cases" / "minimal" / "dossier")[0]
    before = {d.id: d.path for d in assemble_context(model, "us", "ind").documents}
    model.get("dp-minitab").data["name"] = {"en": "Renamed tablets", "zh": "改名片"}
    after = {d.id: d.path for d in assemble_context(model, "us", "ind").documents}
    assert set(before) == set(after)
    assert "m3-dp-minitab-3.2.p.1" in after and "m3-ds-minitab-3.2.s.4.2-m-visual" in after
    moved = [i for i in after if after[i] != before[i]]
    assert moved and all(i.startswith("m3-dp-minitab-") for i in moved)
    assert all("renamed-tablets" in after[i] for i in moved)


def test_stability_time_points_are_judged_in_the_study_unit(tmp_path):
    """A 12-hour in-use result of a study started a week ago is reached (not "12 months, in the
    future"); a result off the protocol is named in hours."""
    import json

    from conftest import apply_edits, materialise_case, run_cli

    folder = materialise_case("minimal", tmp_path)
    apply_edits(folder, [
        {"file": "stability.yaml", "find": "    time_points: [0, 3, 6, 12]\n    start_date: \"2025-05-20\"",
         "replace": "    time_points: [0, 3, 6, 12]\n    time_unit: hours\n    start_date: \"2026-11-20\""},
        {"file": "stability/dp.csv", "find": "st-dp-lt,6,assay,99.5,%,,\n",
         "replace": "st-dp-lt,6,assay,99.5,%,,\nst-dp-lt,12,assay,99.1,%,,\nst-dp-lt,4,assay,99.0,%,,\n"}])
    run = run_cli("validate", "--dossier", "dossier", "--format", "json", cwd=tmp_path)
    found = [(p["code"], p["message"]) for p in json.loads(run.stdout) if p["code"].startswith("stability.time_point")]
    assert found == [("stability.time_point_not_in_protocol",
                      "study 'st-dp-lt' has a result at 4 hours, not a protocol time point")]


def test_time_point_labels_in_the_document_language(models):
    helpers = _helpers(models["antibody"])
    c = views.ViewContext(helpers)
    assert [c.time_point(v) for v in (0, 1, 6, 1.5)] == ["Initial", "1 month", "6 months", "1.5 months"]
    assert [c.time_point(v, "hours") for v in (1, 24)] == ["1 hour", "24 hours"]
    zh = views.ViewContext(_helpers(models["antibody"], "cn"))
    assert (zh.time_point(6), zh.time_point(24, "hours"), zh.time_point(3, "days")) == ("6 个月", "24 小时", "3 天")
