"""Views of the drug substance documents (3.2.S, templates s-*.md.j2): what each prints, computed here.

Conventions (views/__init__.py): data texts stay `Text` (printed, and checked for translation, where
the template prints them); fixed words come from c.t(); rows are tuples of cells; an optional value
not given is NOT_GIVEN (a dash), a required one Missing(path).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ViewContext, view
from .types import NOT_GIVEN, Joined, Missing, Quantity, Text


def _steps(substance: dict) -> dict:
    """Return the process steps of a substance by id."""
    steps = ((substance.get("manufacture") or {}).get("process") or {}).get("steps") or []
    return {s.get("id"): s for s in steps if isinstance(s, dict)}


def _step_label(c: ViewContext, step: dict, colon: str) -> Joined:
    """Return "Step <number><colon><name>" for a process step."""
    return Joined((f"{c.t('step')} {step.get('number')}", colon, Text.of(step.get("name"))))


# 3.2.S.2.2 -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcessStep:
    label: str                 # "Step 3" (used in table captions)
    heading: Joined            # "Step 3: Purification"
    critical: bool
    description: Text | Missing
    equipment: Text | None
    hold_time: Quantity | None
    parameters: tuple          # rows: name, target, range, unit or setting, criticality
    controls: tuple            # rows: test, criterion, type, procedure number


@dataclass(frozen=True)
class ProcessView:
    summary: Text | Missing
    batch_scale: Quantity | None
    flow_diagram: Joined | None  # caption (file: name)
    steps: tuple[ProcessStep, ...]
    reprocessing: Text | Missing | None


@view("s-2-2")
def manufacturing_process(c: ViewContext) -> ProcessView:
    process = (c.scope("substance").get("manufacture") or {}).get("process") or {}
    where = "manufacture.process"
    flow = process.get("flow_diagram")
    steps = []
    for i, step in enumerate(process.get("steps") or []):
        label = f"{c.t('step')} {step.get('number')}"
        parameters = []
        for p in step.get("parameters") or []:
            if "setting" in p:
                how = Text.of(p["setting"])
            else:
                how = c.unit(p["range"].get("unit") if "range" in p else p.get("unit", "")) or NOT_GIVEN
            parameters.append((Text.of(p.get("name")),
                               c.qty({"value": p["target"], "unit": ""}) if "target" in p else NOT_GIVEN,
                               c.rng({"low": p["range"].get("low"), "high": p["range"].get("high"), "unit": ""})
                               if "range" in p else NOT_GIVEN,
                               how or NOT_GIVEN, c.t(p.get("criticality"))))
        controls = tuple((Text.of(ipc.get("test")), Text.of(ipc.get("criterion")), c.t(ipc.get("type")),
                          c.get(ipc["method"]).get("number") or NOT_GIVEN if "method" in ipc else NOT_GIVEN)
                         for ipc in step.get("in_process_controls") or [])
        steps.append(ProcessStep(
            label, Joined((label, c.t("s_colon"), Text.of(step.get("name")))), bool(step.get("critical")),
            c.narrative(step.get("description"), f"{where}.steps[{i}].description"),
            Text.of(step["equipment"]) if "equipment" in step else None,
            Quantity.of(step["hold_time"]) if "hold_time" in step else None, tuple(parameters), controls))
    return ProcessView(
        c.narrative(process.get("summary"), f"{where}.summary"),
        Quantity.of(process["batch_scale"]) if "batch_scale" in process else None,
        Joined((Text.of(flow.get("caption")), f" ({c.t('s_file')}{c.t('s_colon')}{flow.get('file')})")) if flow else None,
        tuple(steps),
        c.narrative(process["reprocessing"], f"{where}.reprocessing") if "reprocessing" in process else None)
