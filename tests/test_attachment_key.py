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
