"""The antibody-drug conjugate example (examples/quenatuzumab-vedotin): three drug-substance trees
(antibody intermediate, drug-linker, conjugate) and one lyophilised product, built for the US."""

from __future__ import annotations

import json
import re
from pathlib import Path

import docx
import pytest

from conftest import ROOT
from dossiergen.build import build_dossier, validate_folder

SOURCE = ROOT / "examples" / "quenatuzumab-vedotin"
SUBSTANCES = {"Quenatuzumab (antibody intermediate)", "Vedotin drug-linker (mc-vc-PABC-MMAE)", "Quenatuzumab vedotin"}


@pytest.fixture(scope="module")
def us_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("adc")
    build_dossier(SOURCE, "us", "marketing", out, final=False)
    return out / "us" / "marketing"


def _entry(folder: Path, section: str, substance: str | None = None) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    found = [e for e in manifest["documents"] if e["section"] == section
             and (substance is None or (e.get("instance") or {}).get("substance") == substance)]
    assert len(found) == 1, (section, substance, [e["id"] for e in found])
    return found[0]


def _cells(folder: Path, entry: dict) -> list[str]:
    document = docx.Document(folder / entry["docx"])
    return [p.text for p in document.paragraphs] + [c.text for t in document.tables for r in t.rows for c in r.cells]


def test_example_validates_without_errors():
    problems = validate_folder(SOURCE)
    assert [p.format() for p in problems if p.severity == "error"] == []


def test_three_drug_substance_trees_in_the_ectd(us_build):
    """Each 3.2.S instance is its own m3-2-s-drug-substance element with its substance and manufacturer."""
    index = (us_build / "ectd" / "0000" / "index.xml").read_text("utf-8")
    found = re.findall(r'<m3-2-s-drug-substance substance="([^"]+)" manufacturer="([^"]+)"', index)
    assert {s for s, _ in found} == SUBSTANCES
    assert dict(found)["Vedotin drug-linker (mc-vc-PABC-MMAE)"].startswith("Changzhou Lianyun")


def test_dar_specification_in_the_conjugate_s41_only(us_build):
    """The conjugate's 3.2.S.4.1 carries the DAR and free-drug criteria; the antibody's does not."""
    conjugate = _cells(us_build, _entry(us_build, "3.2.S.4.1", "Quenatuzumab vedotin"))
    rows = {c for c in conjugate}
    assert "Average drug-to-antibody ratio (HIC-HPLC)" in rows
    assert "3.6 – 4.4" in rows
    assert any(c.startswith("DAR0 (unconjugated antibody)") for c in rows)
    assert any(c.startswith("Free MMAE") for c in rows)
    antibody = _cells(us_build, _entry(us_build, "3.2.S.4.1", "Quenatuzumab (antibody intermediate)"))
    assert not any("drug-to-antibody" in c for c in antibody)
    assert any(c.startswith("Free thiol") for c in antibody)


def test_product_batch_analyses_show_the_lots(us_build):
    """3.2.P.5.4 of the lyophilised product lists the PPQ lots with their DAR results."""
    cells = _cells(us_build, _entry(us_build, "3.2.P.5.4"))
    for number in ("311L24001", "311L24002", "311L24003"):
        assert number in cells
    assert any(c.startswith("3.9") for c in cells)


def test_genealogy_from_antibody_and_drug_linker_lots(us_build):
    """The conjugate's 3.2.S.4.4 traces each conjugate lot to its antibody and drug-linker lots, and
    the product's 3.2.P.5.4 follows the chain down to them."""
    conjugate = _cells(us_build, _entry(us_build, "3.2.S.4.4", "Quenatuzumab vedotin"))
    assert {"311C23001", "311M23001", "LY-DL-2301"} <= set(conjugate)
    product = _cells(us_build, _entry(us_build, "3.2.P.5.4"))
    assert {"311C23001", "LY-DL-2301"} <= set(product)


def test_references_to_another_instance_open_its_pdf(us_build):
    """The conjugate's 3.2.S.3.2 and 3.2.S.4.5 link to the drug-linker's 3.2.S.4.1: the PDF link opens the
    drug-linker's PDF (not the conjugate's own), and the DOCX text names the drug-linker."""
    import pikepdf

    target = (us_build / _entry(us_build, "3.2.S.4.1", "Vedotin drug-linker (mc-vc-PABC-MMAE)")["pdf"]).resolve()
    own = (us_build / _entry(us_build, "3.2.S.4.1", "Quenatuzumab vedotin")["pdf"]).resolve()
    for section in ("3.2.S.3.2", "3.2.S.4.5"):
        entry = _entry(us_build, section, "Quenatuzumab vedotin")
        pdf_path = us_build / entry["pdf"]
        with pikepdf.open(pdf_path) as pdf:
            opened = {(pdf_path.parent / str(a.A.F)).resolve() for page in pdf.pages for a in page.get("/Annots", [])
                      if a.A.S == pikepdf.Name.GoToR}
        assert target in opened and own in opened, (section, opened)
    cells = _cells(us_build, _entry(us_build, "3.2.S.3.2", "Quenatuzumab vedotin"))
    assert any(c.startswith("Specification of Vedotin drug-linker (mc-vc-PABC-MMAE): Related substances (HPLC): "
                            "D-Val/D-Cit diastereomers (see Section 3.2.S.4.1)") for c in cells)
    text = " ".join(_cells(us_build, _entry(us_build, "3.2.S.4.5", "Quenatuzumab vedotin")))
    assert "see Section 3.2.S.4.1 of Vedotin drug-linker (mc-vc-PABC-MMAE)" in text


def test_the_drug_substance_sections_follow_the_order_in_the_data(us_build):
    """application.yaml instance_order (antibody, drug-linker, conjugate) orders index.xml and the manifest."""
    index = (us_build / "ectd" / "0000" / "index.xml").read_text("utf-8")
    order = ["Quenatuzumab (antibody intermediate)", "Vedotin drug-linker (mc-vc-PABC-MMAE)", "Quenatuzumab vedotin"]
    assert re.findall(r'<m3-2-s-drug-substance substance="([^"]+)"', index) == order
    manifest = json.loads((us_build / "manifest.json").read_text("utf-8"))
    shown = [(e.get("instance") or {}).get("substance") for e in manifest["documents"] if e["section"] == "3.2.S.1.1"]
    assert shown == order


def test_the_structure_figure_is_in_the_documents(us_build):
    """3.2.S.1.2 of the conjugate shows the schematic: an image in the DOCX, the numbered caption in both."""
    import pikepdf

    entry = _entry(us_build, "3.2.S.1.2", "Quenatuzumab vedotin")
    document = docx.Document(us_build / entry["docx"])
    assert len(document.inline_shapes) == 1
    caption = "Figure 3.2.S.1.2-1 Schematic structure of quenatuzumab vedotin (the main DAR4 isomer)"
    assert caption in [p.text for p in document.paragraphs]
    with pikepdf.open(us_build / entry["pdf"]) as pdf:
        with pdf.open_outline() as outline:
            titles = [item.title for top in outline.root for item in [top, *top.children]]
    assert caption in titles
