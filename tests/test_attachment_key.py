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
    assert one.get("svg").startswith(b"<svg") and one.get("png").startswith(b"\x89PNG")
    key = document_content_key(MARKDOWN, DOCX, PDF, attachments=(one,))
    assert key == document_content_key(MARKDOWN, DOCX, PDF, attachments=(two,))
    assert key != document_content_key(MARKDOWN, DOCX, PDF, attachments=(changed,))
