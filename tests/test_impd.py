"""EU and UK clinical trial applications: an IMPD quality part (2.1.S, 2.1.P, 2.1.A), not an eCTD
sequence, with no eAF and no Module 1 annexes (Regulation (EU) No 536/2014; CTIS)."""

from __future__ import annotations

import json

from conftest import ROOT
from dossiergen.build import render_folder
from dossiergen.check import check_build
from dossiergen.layouts import layout_of, placed_path, shown_number

TABLETS = ROOT / "examples" / "velcratinib-tablets"


def test_layout_by_market_and_stage():
    assert [layout_of(m, "ind") for m in ("us", "eu", "uk", "cn", "neutral")] == ["ectd", "impd", "impd", "ectd", "ectd"]
    assert {layout_of(m, "marketing") for m in ("us", "eu", "uk", "cn")} == {"ectd"}
    assert shown_number("3.2.S.4.1", "impd") == "2.1.S.4.1" and shown_number("3.2.S.4.1", "ectd") == "3.2.S.4.1"
    assert placed_path("m3/32-body-data/32p-drug-prod/x/32p51-spec/specifications", "impd") == \
        "impd/21p-drug-prod/x/21p51-spec/specifications"


def test_eu_ind_documents_are_numbered_as_the_impd():
    rendered = render_folder(TABLETS, "eu", "ind")
    numbers = [r.document.heading_number for r in rendered]
    assert numbers and all(n.startswith(("2.1.S", "2.1.P", "2.1.A")) for n in numbers)
    spec = next(r for r in rendered if r.document.number == "3.2.P.5.1")
    assert spec.markdown.startswith("# 2.1.P.5.1 ") and "Table 2.1.P.5.1-1" in spec.markdown
    assert "3.2.P" not in spec.markdown.split("\n", 1)[0]
    assert not any(r.document.number.startswith(("3.2.R", "3.3")) for r in rendered)
    assert not any(r.document.path.startswith(("m1/", "m3/")) for r in rendered)  # no eAF, no Module 1 annex
    trends = next(r for r in rendered if r.document.number == "3.2.P.8.3")  # the Q1E trend figures
    assert "Figure 2.1.P.8.3-1 " in trends.markdown and "Figure 3.2.P" not in trends.markdown


def test_us_ind_keeps_the_ectd_module_3():
    rendered = render_folder(TABLETS, "us", "ind", "3.2.P.5.1")
    assert rendered[0].markdown.startswith("# 3.2.P.5.1 ") and rendered[0].document.pdf_path.startswith("ectd/0000/m3/")


def test_eu_ind_build_has_an_impd_and_no_sequence(built):
    folder = built["eu"]
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["layout"] == "impd" and manifest["sequence"] is None
    assert not (folder / "ectd").exists() and (folder / "impd").is_dir()
    assert all(d["pdf"].startswith("impd/") and d["section"].startswith("2.1.") for d in manifest["documents"])
    assert not (folder / "regional").exists()  # no eAF data at IND
    assert [f for f in check_build(folder) if f.severity == "error"] == []
