"""A figure a document carries is part of its identity: a changed figure rewrites its document,
an unchanged one is reused (issue 13: documents carry files)."""

from __future__ import annotations

from dossiergen.attach import Attachment
from dossiergen.cache import document_content_key, document_key
from dossiergen.write.docx import DocxMeta
from dossiergen.write.pdf import PdfMeta

MARKDOWN = "# 3.2.P.8.3 Stability Data\n\n![HMW species](attachment:trend-hmw.png)\n"
DOCX = DocxMeta("Stability Data", "3.2.P.8.3", "Product – 3.2.P.8.3", "en")
PDF = PdfMeta("Stability Data", "3.2.P.8.3", "Product – 3.2.P.8.3", "en", False)


def _keys(*files: tuple[str, bytes]) -> tuple[str, str]:
    figure = (Attachment("trend-hmw", files),)
    return (document_content_key(MARKDOWN, DOCX, PDF, attachments=figure),
            document_key(MARKDOWN, DOCX, PDF, attachments=figure))


def test_a_changed_figure_changes_the_documents_keys():
    before = _keys(("png", b"\x89PNG one"), ("svg", b"<svg>one</svg>"))
    assert _keys(("png", b"\x89PNG one"), ("svg", b"<svg>one</svg>")) == before  # same figure: reused
    assert _keys(("png", b"\x89PNG two"), ("svg", b"<svg>one</svg>"))[0] != before[0]  # the Word variant changed
    assert _keys(("png", b"\x89PNG one"), ("svg", b"<svg>two</svg>"))[0] != before[0]  # the PDF variant changed
    assert _keys(("png", b"\x89PNG two"), ("svg", b"<svg>one</svg>"))[1] != before[1]


def test_a_figure_added_or_dropped_changes_the_documents_key():
    with_figure = _keys(("png", b"\x89PNG one"))[0]
    assert document_content_key(MARKDOWN, DOCX, PDF) != with_figure


def test_a_drawn_figure_is_keyed_by_its_inputs_and_carries_them_to_the_writers():
    """A figure drawn by the project (attach.Drawn) is drawn where its document is written: its key
    follows from the drawing's inputs alone (equal inputs, equal key, whatever objects hold them),
    it survives the render cache (pack/unpack) and its bytes are the drawing's."""
    from dossiergen import flow
    from dossiergen.attach import Drawn, pack, unpack

    def steps():
        return [flow.Step("1", "Thaw"), flow.Step("2", "Expand", True, ("Medium A",), (("pH", True),), ("Temperature",))]

    labels = flow.Labels("Materials", "Step", "Controls", "Critical step", "Control", "Monitor", "CPP",
                         "CPP: critical process parameter", "continued from step {step}", "continued in step {step}")
    shared = steps()
    one = flow.flow_diagram("flow-x-1", shared, labels, "en", all_steps=shared)   # the same objects twice
    two = flow.flow_diagram("flow-x-1", steps(), labels, "en", all_steps=steps())  # equal, distinct objects
    assert isinstance(one, Drawn) and one.digest() == two.digest()
    renamed = flow.flow_diagram("flow-y-1", steps(), labels, "en", all_steps=steps())
    changed = flow.flow_diagram("flow-x-1", [steps()[0]], labels, "en", all_steps=steps())
    assert len({one.digest(), renamed.digest(), changed.digest()}) == 3
    back = unpack(one.name, pack(one))
    assert back == one
    assert back.files == flow.draw_flow(steps(), labels, "en", all_steps=steps())
    assert one.get("flow").startswith(b"{") and one.get("png").startswith(b"\x89PNG") and one.get("svg") is None
    key = document_content_key(MARKDOWN, DOCX, PDF, attachments=(one,))
    assert key == document_content_key(MARKDOWN, DOCX, PDF, attachments=(two,))
    assert key != document_content_key(MARKDOWN, DOCX, PDF, attachments=(changed,))


class _Planted:
    """What a hostile cache entry would run if it were unpickled: it leaves a file behind."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_poisoned_render_cache_never_runs_code_and_a_drawn_figure_is_reused_by_reference(tmp_path, monkeypatch):
    """The render cache lies in the output folder, which a CI cache may bring from elsewhere: a stored
    figure recipe is its key, never a pickle. An entry of the old, pickled form (here one that would
    create a file) is never loaded: the document is rendered again, with the same Markdown and figure
    keys. In a new process a document whose figures are drawn in the store is reused, its figures
    by reference with the digests (hence document keys) they had."""
    import hashlib
    import pickle

    from conftest import ROOT
    from dossiergen import attach, depends
    from dossiergen.assemble import assemble_context
    from dossiergen.attach import Drawn, materialize
    from dossiergen.build import _model
    from dossiergen.cache import BLOB_MAGIC, using_store
    from dossiergen.depends import Hashes, render_cached

    model, _ = _model(ROOT / "dossier")
    context = assemble_context(model, "neutral", "marketing")
    document = next(d for d in context.documents if d.number == "3.2.P.8.3")
    renders = []
    real = depends._render_noted
    monkeypatch.setattr(depends, "_render_noted", lambda *args: renders.append(1) or real(*args))
    folder = tmp_path / "blobs"
    with using_store(folder):
        fresh = render_cached(context, document, Hashes(model))
        figures = [a for a in fresh.attachments if isinstance(a, Drawn)]
        assert figures and len(renders) == 1
        digests = [a.digest() for a in fresh.attachments]
        entries = sorted((folder / "attachment").rglob("*"))
        assert all(b"pickle" not in path.read_bytes() and b"\x80\x04" not in path.read_bytes()[:80]
                   for path in entries if path.is_file())

        # a new process (nothing made here yet), figures not drawn: rendered again
        monkeypatch.setattr(attach, "_MADE", {})
        again = render_cached(context, document, Hashes(model))
        assert len(renders) == 2 and again.markdown == fresh.markdown
        assert [a.digest() for a in again.attachments] == digests

        # figures drawn (as the writers do): a new process reuses the document, figures by reference
        for figure in figures:
            materialize(figure)
        monkeypatch.setattr(attach, "_MADE", {})
        reused = render_cached(context, document, Hashes(model))
        assert len(renders) == 2 and reused.markdown == fresh.markdown
        assert [a.digest() for a in reused.attachments] == digests
        assert [a.get("png") for a in reused.attachments] == [a.get("png") for a in fresh.attachments]

        # a hostile entry in the old pickled form, with a valid blob header: never unpickled
        planted = tmp_path / "planted"
        payload = b"dossiergen-drawn-1\n" + pickle.dumps((_Planted(planted), (), "0" * 64), protocol=4)
        for path in (p for p in entries if p.is_file()):
            key = path.name
            path.write_bytes(BLOB_MAGIC + bytes.fromhex(key) + hashlib.sha256(payload).digest() + payload)
        monkeypatch.setattr(attach, "_MADE", {})
        poisoned = render_cached(context, document, Hashes(model))
        assert not planted.exists()
        assert len(renders) == 3 and poisoned.markdown == fresh.markdown
        assert [a.digest() for a in poisoned.attachments] == digests
