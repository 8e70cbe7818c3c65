"""The bench's bound on the large dossier: the arithmetic behind the statement that a build writing each
document with pandoc and typst cannot reach the target (issue 19). No timing is asserted here: figures
live in `make bench`; this checks what it computes from them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("bench_module", ROOT / "bench" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(scale, seconds, main_cpu, **stages):
    return {"scale": scale, "seconds": seconds, "documents": 100, "main_cpu": main_cpu,
            "stages": {name.replace("_", " "): (0.0, 0, cpu) for name, cpu in stages.items()}}


def test_the_large_bound_grows_the_floor_as_the_tool_stages_grew_and_adds_the_other_work(monkeypatch):
    bench = _bench()
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 2)
    small = _run(0.25, 40.0, 5.0, convert=20.0, compile_PDF=20.0, draw_figures=3.0)
    small["floor"] = {"seconds": 30.0, "distinct": 500, "parts": {"pandoc (DOCX + typst)": 20.0, "typst compile": 10.0}}
    large = _run(1, 150.0, 30.0, convert=80.0, compile_PDF=80.0, draw_figures=10.0, finish_DOCX=10.0, finish_PDF=10.0)
    text = bench.large_bound(small, large)
    # floor 30 s x (160 / 40) = 120 s of tool work; 30 (main) + 30 (other writer stages) = 60 s more; over 2 cores
    assert "120.0 s on one core" in text and "60.0 CPU s spent outside" in text
    assert "needs at least 90 s" in text and "out of reach" in text


def test_a_bound_under_the_target_does_not_say_out_of_reach(monkeypatch):
    bench = _bench()
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 2)
    small = _run(0.25, 10.0, 1.0, convert=5.0, compile_PDF=5.0)
    small["floor"] = {"seconds": 8.0, "distinct": 100, "parts": {}}
    large = _run(1, 50.0, 10.0, convert=20.0, compile_PDF=20.0, finish_PDF=10.0)
    text = bench.large_bound(small, large)
    assert "needs at least 26 s" in text  # (8 x 40 / 10 + 20) / 2
    assert "out of reach" not in text


def test_no_bound_is_given_when_the_smaller_build_did_no_pandoc_or_typst_work(monkeypatch):
    bench = _bench()
    small = _run(0.25, 1.0, 1.0)  # every document from the cache: nothing to grow the floor by
    small["floor"] = {"seconds": 8.0, "distinct": 100, "parts": {}}
    large = _run(1, 50.0, 10.0, convert=20.0, compile_PDF=20.0)
    text = bench.large_bound(small, large)
    assert text.startswith("no bound") and "needs at least" not in text and "out of reach" not in text
