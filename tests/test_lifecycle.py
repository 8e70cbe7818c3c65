"""Lifecycle: the next sequence from a change of data (replace, new, delete with modified-file), decided
on content, and `dossiergen sequences` checking the chain."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from lxml import etree

from conftest import FIXED_EPOCH, materialise_case, run_cli
from dossiergen.backbones import REGIONS, validate_regional
from dossiergen.build import build_dossier, render_folder
from dossiergen.ectd import validate_backbone
from dossiergen.lifecycle import content_key, read_history

XLINK = "{http://www.w3c.org/1999/xlink}"
LATER = "1798737600"  # a later build time: the PDFs carry it, the content does not change


def _submit(build: Path, submitted: Path, number: str) -> Path:
    """Copy a built sequence into the folder of submitted sequences, as a team keeps them."""
    shutil.copytree(build / "ectd" / number, submitted / number)
    return submitted / number


def _leaves(sequence: Path) -> dict[str, etree._Element]:
    tree = etree.parse(str(sequence / "index.xml"))
    return {leaf.get("ID"): leaf for leaf in tree.iter("leaf") if leaf.get(f"{XLINK}href") != "m1/us/us-regional.xml"}


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """The minimal case built for us (IND) and submitted as 0000."""
    root = tmp_path_factory.mktemp("lifecycle")
    source = materialise_case("minimal", root)
    saved = {k: os.environ.get(k) for k in ("SOURCE_DATE_EPOCH", "DOSSIERGEN_TODAY")}
    os.environ.update(SOURCE_DATE_EPOCH=FIXED_EPOCH, DOSSIERGEN_TODAY="2026-11-27")
    try:
        build_dossier(source, "us", "ind", root / "build0", final=False)
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    submitted = root / "submitted"
    _submit(root / "build0" / "us" / "ind", submitted, "0000")
    return root, source, submitted


def test_unchanged_content_built_later_gives_no_leaf(first, tmp_path, monkeypatch):
    """A later build of the same data (new build date in every PDF) replaces nothing."""
    _, source, submitted = first
    monkeypatch.setenv("SOURCE_DATE_EPOCH", LATER)
    result = build_dossier(source, "us", "ind", tmp_path, final=False, previous=submitted)
    sequence = tmp_path / "us" / "ind" / "ectd" / "0001"
    assert _leaves(sequence) == {}
    assert not (sequence / "m3").exists()
    assert "0 delete" in result.summary and "replace" not in result.summary
    assert validate_backbone(sequence / "index.xml") == []
    assert validate_regional(sequence, REGIONS["us"]) == []
    regional = etree.parse(str(sequence / "m1" / "us" / "us-regional.xml"))
    assert regional.find(".//sequence-number").text == "0001"
    assert regional.find(".//sequence-number").get("submission-sub-type") == "fdasst4"  # amendment
    assert regional.find(".//submission-id").text == "0000"


def test_a_changed_batch_result_replaces_exactly_the_documents_that_show_it(first, tmp_path, monkeypatch):
    root, source, submitted = first
    changed = materialise_case("minimal", tmp_path / "changed")
    text = (changed / "batches.yaml").read_text("utf-8")
    assert "value: 99.6" in text
    (changed / "batches.yaml").write_text(text.replace("value: 99.6", "value: 99.7", 1), "utf-8")
    before = {r.document.id: r.markdown for r in render_folder(source, "us", "ind")}
    after = {r.document.id: r.markdown for r in render_folder(changed, "us", "ind")}
    showing = {doc_id for doc_id in after if after[doc_id] != before.get(doc_id)}
    assert showing  # the change is visible somewhere

    monkeypatch.setenv("SOURCE_DATE_EPOCH", LATER)
    out = tmp_path / "out"
    result = build_dossier(changed, "us", "ind", out, final=False, previous=submitted, submission_unit="response")
    folder = out / "us" / "ind"
    sequence = folder / "ectd" / "0001"
    leaves = _leaves(sequence)
    assert {leaf.get("operation") for leaf in leaves.values()} == {"replace"}
    assert set(leaves) == showing
    for leaf_id, leaf in leaves.items():
        assert leaf.get("modified-file") == f"../0000/index.xml#{leaf_id}"
        target = sequence / leaf.get(f"{XLINK}href")
        assert hashlib.md5(target.read_bytes()).hexdigest() == leaf.get("checksum")
    assert sorted(p.relative_to(sequence).as_posix() for p in (sequence / "m3").rglob("*.pdf")) == sorted(
        leaf.get(f"{XLINK}href") for leaf in leaves.values())
    assert validate_backbone(sequence / "index.xml") == []
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["sequence"] == "ectd/0001" and manifest["lifecycle"]["submitted"] == ["0000"]
    assert {e["id"] for e in manifest["documents"] if (e.get("lifecycle") or {}).get("operation") == "replace"} == showing
    assert f"{len(showing)} replace" in result.summary

    # submitted: the chain resolves, and the current view is a fresh build's documents
    _submit(folder, submitted, "0001")
    try:
        history = read_history(submitted)
        assert history.problems == []
        run = run_cli("sequences", str(submitted))
        assert run.exit_code == 0 and "0 problem(s)" in run.stderr
        fresh = tmp_path / "fresh"
        monkeypatch.setenv("SOURCE_DATE_EPOCH", FIXED_EPOCH)  # the build time of 0000
        build_dossier(changed, "us", "ind", fresh, final=False)
        documents = json.loads((fresh / "us" / "ind" / "manifest.json").read_text("utf-8"))["documents"]
        expected = {e["pdf"].removeprefix("ectd/0000/"): e for e in documents if e["pdf"].startswith("ectd/0000/m3/")}
        current = {leaf.href: leaf for leaf in history.current.values() if leaf.backbone == "index.xml"}
        assert set(current) == set(expected)
        for href, leaf in current.items():
            data = (submitted / leaf.sequence / href).read_bytes()
            if leaf.sequence == "0000":  # unchanged documents: the same bytes as a fresh build
                assert hashlib.sha256(data).hexdigest() == expected[href]["pdf_sha256"], href
            else:  # replaced in 0001 (built later, links pointed into 0000): the same content
                fresh_data = (fresh / "us" / "ind" / expected[href]["pdf"]).read_bytes()
                assert content_key(data, href) == content_key(fresh_data, href), href
    finally:
        shutil.rmtree(submitted / "0001")


def test_a_dropped_analytical_procedure_is_deleted(first, tmp_path):
    root, source, submitted = first
    changed = materialise_case("minimal", tmp_path / "changed")
    path = changed / "substances" / "ds-minitab.yaml"
    path.write_text(path.read_text("utf-8").replace("methods: [m-visual, m-hplc]", "methods: [m-hplc]"), "utf-8")
    build_dossier(changed, "us", "ind", tmp_path / "out", final=False, previous=submitted)
    sequence = tmp_path / "out" / "us" / "ind" / "ectd" / "0001"
    tree = etree.parse(str(sequence / "index.xml"))
    deleted = [leaf for leaf in tree.iter("leaf") if leaf.get("operation") == "delete"]
    assert sorted(leaf.get("ID") for leaf in deleted) == ["m3-ds-minitab-3.2.s.4.2-m-visual", "m3-ds-minitab-3.2.s.4.3-m-visual"]
    for leaf in deleted:
        assert leaf.get(f"{XLINK}href") is None and leaf.get("modified-file") == f"../0000/index.xml#{leaf.get('ID')}"
        assert leaf.getparent().tag in ("m3-2-s-4-2-analytical-procedures", "m3-2-s-4-3-validation-of-analytical-procedures")
    assert validate_backbone(sequence / "index.xml") == []


def test_sequence_option_and_bad_options(first, tmp_path):
    _, source, submitted = first
    build_dossier(source, "us", "ind", tmp_path, final=False, previous=submitted, sequence="0003")
    assert (tmp_path / "us" / "ind" / "ectd" / "0003" / "index.xml").is_file()
    run = run_cli("build", "--dossier", str(source), "--market", "us", "--stage", "ind", "--out", str(tmp_path),
                  "--previous", str(submitted), "--sequence", "0000")
    assert run.exit_code == 2 and "not after the last submitted sequence 0000" in run.stderr
    run = run_cli("build", "--dossier", str(source), "--market", "us", "--market", "cn", "--out", str(tmp_path),
                  "--previous", str(submitted))
    assert run.exit_code == 2 and "one market" in run.stderr


def test_sequences_reports_a_broken_chain(first, tmp_path):
    root, source, submitted = first
    broken = tmp_path / "broken"
    shutil.copytree(submitted, broken)
    (broken / "0001").mkdir()
    shutil.copytree(broken / "0000" / "util", broken / "0001" / "util")
    index = (broken / "0000" / "index.xml").read_text("utf-8")
    tree = etree.parse(str(broken / "0000" / "index.xml"))
    leaf = next(l for l in tree.iter("leaf") if "m3/" in (l.get(f"{XLINK}href") or ""))
    leaf.set("operation", "replace")
    leaf.set("modified-file", "../0000/index.xml#no-such-leaf")
    (broken / "0001" / "index.xml").write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    shutil.copytree(broken / "0000" / "m3", broken / "0001" / "m3")
    (broken / "0000" / "m3" / next(p for p in (broken / "0000").rglob("*.pdf")).relative_to(broken / "0000" / "m3")).write_bytes(b"%PDF-1.7 tampered")
    assert index  # 0000 itself is untouched apart from the tampered PDF
    run = run_cli("sequences", str(broken))
    assert run.exit_code == 1
    assert "modified-file '../0000/index.xml#no-such-leaf' does not resolve to a leaf" in run.stderr
    assert "MD5 differs from the checksum in index.xml" in run.stderr


def test_readme_walkthrough_runs_as_written(tmp_path):
    """The README's two-sequence walk-through, run as written from a copy of the repository root."""
    import re
    import subprocess

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text("utf-8")
    script = re.search(r"<!-- walkthrough -->\n```sh\n(.*?)```", readme, re.S).group(1)
    assert (ROOT / ".venv" / "bin" / "dossiergen").is_file(), "make setup first"
    for name in ("examples", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}  # as a reader runs it
    done = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    claim = re.search(r"`(sequence 0001 after 0000: [^`]+)`", readme).group(1)
    assert claim in done.stderr
    assert "0 problem(s) in the chain" in done.stderr
    sequence = tmp_path / "walkthrough-submitted" / "us" / "0001"
    leaves = _leaves(sequence)
    assert list(leaves) == ["m3-velcratinib-tablets-3.2.p.5.4"]
    assert leaves["m3-velcratinib-tablets-3.2.p.5.4"].get("modified-file") == "../0000/index.xml#m3-velcratinib-tablets-3.2.p.5.4"
    assert not (ROOT / "examples" / "velcratinib-tablets" / "walkthrough").exists()


def test_a_sequence_submitted_with_other_leaf_ids_is_continued_by_file(first, tmp_path, monkeypatch):
    """Leaf IDs of sequences built before document ids came from entity ids (issue 13) differ from today's:
    the next sequence still recognises each document by its file, so unchanged content gives no leaf and
    nothing is deleted and re-added."""
    _, source, submitted = first
    older = tmp_path / "submitted"
    shutil.copytree(submitted, older)
    index = older / "0000" / "index.xml"
    index.write_text(index.read_text("utf-8").replace('ID="', 'ID="old-'), "utf-8")
    (older / "0000" / "index-md5.txt").write_text(hashlib.md5(index.read_bytes()).hexdigest(), "utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", LATER)
    result = build_dossier(source, "us", "ind", tmp_path / "out", final=False, previous=older)
    sequence = tmp_path / "out" / "us" / "ind" / "ectd" / "0001"
    assert _leaves(sequence) == {}
    assert "0 delete" in result.summary and "new" not in result.summary.replace("0 new", "")
