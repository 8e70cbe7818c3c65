"""The eCTD draft sequence and its PDFs, and the technical check that guards them."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from lxml import etree

from conftest import materialise_case, run_cli
from dossiergen.check import check_build, check_pdf
from dossiergen.ectd import DTD_MD5, md5_hex, validate_backbone
from tools import require_tool

XLINK = "{http://www.w3c.org/1999/xlink}"


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def test_backbone_is_valid_against_the_ich_dtd(built):
    sequence = built["us"] / "ectd" / "0000"
    assert validate_backbone(sequence / "index.xml") == []
    assert md5_hex((sequence / "util" / "dtd" / "ich-ectd-3-2.dtd").read_bytes()) == DTD_MD5
    assert (sequence / "index-md5.txt").read_text() == md5_hex((sequence / "index.xml").read_bytes())


def test_backbone_leaves_and_instance_attributes(built):
    sequence = built["us"] / "ectd" / "0000"
    tree = etree.parse(str(sequence / "index.xml"))
    substance = tree.find(".//m3-2-s-drug-substance")
    assert (substance.get("substance"), substance.get("manufacturer")) == ("minitabine", "API Works Co., Ltd., Taizhou")
    product = tree.find(".//m3-2-p-drug-product")
    assert (product.get("product-name"), product.get("dosageform")) == ("Minitabine tablets", "Tablet")
    assert tree.find(".//m3-2-p-4-control-of-excipients").get("excipient") == "Microcrystalline cellulose"
    leaves = list(tree.find("m3-quality").iter("leaf"))
    assert len(leaves) == sum(d["pdf"].startswith("ectd/0000/m3/") for d in _manifest(built["us"])["documents"])
    assert len({leaf.get("ID") for leaf in leaves}) == len(leaves)
    for leaf in leaves:
        target = sequence / leaf.get(f"{XLINK}href")
        assert leaf.get("operation") == "new" and leaf.get("checksum-type") == "md5"
        assert leaf.get("checksum") == hashlib.md5(target.read_bytes()).hexdigest()
        assert leaf.findtext("title").startswith("3.")


def test_manifest_lists_pdfs_with_pages(built):
    manifest = _manifest(built["us"])
    assert manifest["pdf_engine"].startswith("typst") and manifest["sequence"] == "ectd/0000"
    for entry in manifest["documents"]:
        data = (built["us"] / entry["pdf"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["pdf_sha256"]
        assert entry["pages"] == len(pikepdf.open(built["us"] / entry["pdf"]).pages) >= 1


def test_pdfs_pass_the_technical_check(built):
    findings = [f for m in ("us", "cn") for f in check_build(built[m])]
    assert [f.format() for f in findings] == []


def test_pdf_properties(built):
    entry = next(e for e in _manifest(built["us"])["documents"] if e["section"] == "3.2.S.3.2")
    with pikepdf.open(built["us"] / entry["pdf"]) as pdf:
        assert pdf.pdf_version == "1.7"
        assert pdf.Root.PageMode == pikepdf.Name.UseOutlines and str(pdf.Root.Lang) == "en-US"
        assert str(pdf.docinfo["/Title"]) == "3.2.S.3.2 Impurities"
        with pdf.open_outline() as outline:
            assert [item.title for item in outline.root] == ["3.2.S.3.2 Impurities"]
        links = [a.A for a in pdf.pages[0].Annots if a.Subtype == pikepdf.Name.Link]
        assert links and all(a.S == pikepdf.Name.GoToR for a in links)
        target = (built["us"] / entry["pdf"]).parent / str(links[0].F)
        assert target.is_file() and target.name == "specification.pdf"


def test_pdf_text_is_extractable_in_both_languages(built):
    pdftotext = require_tool("pdftotext")
    for market, title in (("us", "3.2.P.1 Description and Composition of the Drug Product"), ("cn", "3.2.P.1 剂型及产品组成")):
        entry = next(e for e in _manifest(built[market])["documents"] if e["section"] == "3.2.P.1")
        text = subprocess.run([pdftotext, str(built[market] / entry["pdf"]), "-"], capture_output=True, text=True).stdout
        assert title in text


def _pdf_with(tmp_path: Path, name: str, change) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595.3, 841.9))
    change(pdf)
    path = tmp_path / name
    pdf.save(path)
    return path


def _rules(path: Path) -> set[str]:
    return {f.rule for f in check_pdf(path, path.name)}


def test_check_finds_forbidden_pdf_content(tmp_path):
    def external(pdf):
        pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 10, 10],
            A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://example.com")))]))

    def note(pdf):
        pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Text, Rect=[0, 0, 10, 10])]))

    def javascript(pdf):
        pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))

    assert "pdf.external_link" in _rules(_pdf_with(tmp_path, "a.pdf", external))
    assert "pdf.annotation" in _rules(_pdf_with(tmp_path, "b.pdf", note))
    assert "pdf.javascript" in _rules(_pdf_with(tmp_path, "c.pdf", javascript))
    assert "pdf.text" in _rules(_pdf_with(tmp_path, "d.pdf", lambda pdf: None))
    letter_a3 = _pdf_with(tmp_path, "e.pdf", lambda pdf: pdf.pages[0].__setattr__("MediaBox", [0, 0, 842, 1191]))
    assert "pdf.page_size" in _rules(letter_a3)


def test_check_finds_a_link_to_a_missing_document_wherever_the_same_pdf_lies(tmp_path):
    """The check reads a PDF's bytes once (the core PDFs repeat across markets), but looks for
    link targets next to each copy."""
    def cross_link(pdf):
        pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 10, 10],
            A=pikepdf.Dictionary(S=pikepdf.Name.GoToR, F=pikepdf.String("../spec/specification.pdf"),
                                 D=pikepdf.Array([0, pikepdf.Name.Fit])))]))

    complete, broken = tmp_path / "complete" / "analyses", tmp_path / "broken" / "analyses"
    for folder in (complete, broken):
        folder.mkdir(parents=True)
        _pdf_with(folder, "batch-analyses.pdf", cross_link)
    (tmp_path / "complete" / "spec").mkdir()
    (tmp_path / "complete" / "spec" / "specification.pdf").write_bytes(b"%PDF-1.7")
    assert "pdf.link_target" not in _rules(complete / "batch-analyses.pdf")
    findings = check_pdf(broken / "batch-analyses.pdf", "broken/analyses/batch-analyses.pdf")
    assert [(f.rule, f.page, f.file) for f in findings if f.rule == "pdf.link_target"] == [
        ("pdf.link_target", 1, "broken/analyses/batch-analyses.pdf")]


def test_check_finds_encryption_and_missing_bookmarks(tmp_path):
    pdf = pikepdf.new()
    for _ in range(6):
        pdf.add_blank_page()
    pdf.save(tmp_path / "long.pdf")
    assert "pdf.bookmarks" in _rules(tmp_path / "long.pdf")
    pdf.save(tmp_path / "locked.pdf", encryption=pikepdf.Encryption(owner="o", user="u"))
    assert _rules(tmp_path / "locked.pdf") == {"pdf.encrypted"}


@pytest.fixture
def copy_of_build(built, tmp_path) -> Path:
    target = tmp_path / "us"
    shutil.copytree(built["us"], target)
    return target


def test_check_finds_sequence_tampering(copy_of_build):
    sequence = copy_of_build / "ectd" / "0000"
    pdf = next(sequence.rglob("specification.pdf"))
    pdf.write_bytes(pdf.read_bytes() + b"\n%tampered\n")
    (sequence / "m3" / "Notes_v2.PDF").write_bytes(b"%PDF-1.4")
    dtd = sequence / "util" / "dtd" / "ich-ectd-3-2.dtd"
    dtd.write_bytes(dtd.read_bytes().replace(b"\r\n", b"\n"))
    rules = {f.rule for f in check_build(copy_of_build)}
    assert {"ectd.checksum", "ectd.unreferenced", "name.characters", "ectd.dtd_checksum"} <= rules


def test_the_check_reads_a_plain_sequence_in_one_walk_and_finds_what_a_path_by_path_check_finds(copy_of_build, monkeypatch):
    """The check of a sequence of plain folders and files takes names, file tests and resolved paths from one
    walk (check._Tree): its findings are exactly those of asking the file system path by path; a sequence
    holding a link is checked path by path."""
    from dossiergen import check

    sequence = copy_of_build / "ectd" / "0000"
    pdfs = sorted(sequence.rglob("*.pdf"))
    next(sequence.rglob("structure.pdf")).unlink()  # a leaf's target missing
    (pdfs[0].parent / "Notes_v2.pdf").write_bytes(pdfs[0].read_bytes())  # a bad name, referenced by no leaf
    (sequence / "m3" / "extra" / "deeper").mkdir(parents=True)
    (sequence / "m3" / "extra" / "deeper" / ("x" * 70 + ".pdf")).write_bytes(b"%PDF-1.4")
    assert check._Tree.of(sequence) is not None
    walked = check_build(copy_of_build)
    assert {"ectd.leaf_target", "ectd.unreferenced", "name.characters", "name.length"} <= {f.rule for f in walked}
    monkeypatch.setattr(check._Tree, "of", classmethod(lambda cls, folder: None))
    assert check_build(copy_of_build) == walked
    monkeypatch.undo()
    outside = copy_of_build.parent / "outside.pdf"
    outside.write_bytes(pdfs[1].read_bytes())
    (sequence / "m3" / "elsewhere.pdf").symlink_to(outside)  # a link: no tree, path by path
    assert check._Tree.of(sequence) is None
    assert "ectd.unreferenced" in {f.rule for f in check_build(copy_of_build) if f.file.endswith("elsewhere.pdf")}


def test_check_command_exit_codes(built, copy_of_build):
    good = run_cli("check", str(built["us"]))
    assert good.exit_code == 0 and "0 error(s)" in good.stderr
    next((copy_of_build / "ectd" / "0000").rglob("structure.pdf")).unlink()
    bad = run_cli("check", str(copy_of_build))
    assert bad.exit_code == 1 and "[ectd.leaf_target]" in bad.stderr
    assert run_cli("check", str(copy_of_build / "nothing-here")).exit_code == 2


def test_build_refuses_output_that_fails_the_check(tmp_path, monkeypatch):
    from dossiergen import package
    from dossiergen.check import Finding

    source = materialise_case("minimal", tmp_path)
    monkeypatch.setattr(package, "check_build", lambda folder, known=None: [Finding("pdf.fonts", "error", "x.pdf", "font not embedded")])
    run = run_cli("build", "--dossier", str(source), "--market", "us", "--out", str(tmp_path / "out"))
    assert run.exit_code == 1 and "[pdf.fonts]" in run.stderr
    assert not (tmp_path / "out" / "us" / "ind").exists()


def test_unchanged_documents_are_reused(tmp_path):
    from dossiergen.build import build_dossier

    source = materialise_case("minimal", tmp_path)
    first = build_dossier(source, "us", "ind", tmp_path / "out", final=False)
    again = build_dossier(source, "us", "ind", tmp_path / "out", final=False)
    assert "up to date" in again.summary
    text = (source / "batches.yaml").read_text("utf-8").replace("value: 99.6", "value: 99.7")
    (source / "batches.yaml").write_text(text, "utf-8")
    changed = build_dossier(source, "us", "ind", tmp_path / "out", final=False)
    assert "2 written" in changed.summary, changed.summary  # 3.2.S.4.4 and 3.2.S.4.5 show that result
    assert first.manifest["documents"][0]["docx_sha256"] == changed.manifest["documents"][0]["docx_sha256"]


def test_the_check_takes_the_digests_a_build_verified_and_reads_every_other_file(copy_of_build, monkeypatch):
    """In a build, write_build has compared every placed document with the bytes it must hold, so the
    check takes their sha256 and MD5 from the cache rather than hashing each PDF again (issue 19): the
    findings are those of a check that reads everything, no PDF is read, and the checksums in index.xml
    are compared with those digests (a wrong one is a finding); a file the caller does not vouch for
    (the tampered one here) is read and its tampering found."""
    import pathlib

    manifest = json.loads((copy_of_build / "manifest.json").read_text("utf-8"))
    known = {e["pdf"]: (e["pdf_sha256"], e["pdf_md5"]) for e in manifest["documents"]}
    assert any(path.startswith("ectd/0000/m3/") for path in known)
    full = [f.format() for f in check_build(copy_of_build)]
    read, original = [], pathlib.Path.read_bytes
    monkeypatch.setattr(pathlib.Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    assert [f.format() for f in check_build(copy_of_build, known)] == full
    assert not [name for name in read if name.endswith(".pdf")]

    pdf = next(path for path in known if path.endswith("specification.pdf"))
    wrong = {**known, pdf: (known[pdf][0], "0" * 32)}
    assert "ectd.checksum" in {f.rule for f in check_build(copy_of_build, wrong)}
    tampered = copy_of_build / pdf
    tampered.write_bytes(original(tampered) + b"\n%tampered\n")
    vouched = {path: digests for path, digests in known.items() if path != pdf}
    found = check_build(copy_of_build, vouched)
    assert [(f.rule, f.file) for f in found if f.rule == "ectd.checksum"] == [("ectd.checksum", pdf)]
