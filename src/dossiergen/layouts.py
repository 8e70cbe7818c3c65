"""Where a market and stage put the quality documents: an eCTD sequence (Module 3), or an IMPD.

An EU clinical trial application goes through CTIS under Regulation (EU) No 536/2014, with the
quality part of the investigational medicinal product dossier (IMPD-Q) in the structure of the
EMA guidelines on the quality documentation of IMPs (EMA/CHMP/QWP/545525/2017 Rev. 2, chemical;
EMA/CHMP/BWP/534898/2008 Rev. 2, biological): sections 2.1.S, 2.1.P and 2.1.A, which follow the
CTD headings of 3.2.S, 3.2.P and 3.2.A. A UK clinical trial application (MHRA, combined review) takes
the same IMPD. Neither is an eCTD sequence. Every other market and stage gets the eCTD sequence."""

from __future__ import annotations

IMPD_MARKETS = ("eu", "uk")
IMPD_PARTS = ("3.2.S", "3.2.P", "3.2.A")  # 3.2.R (regional) and 3.3 (literature) have no IMPD heading


def layout_of(market: str, stage: str) -> str:
    """Return 'impd' for an EU or UK clinical trial application, else 'ectd'."""
    return "impd" if stage == "ind" and market in IMPD_MARKETS else "ectd"


def in_layout(number: str, layout: str) -> bool:
    """Return whether a Module 3 section has a place in the layout."""
    return layout != "impd" or number.startswith(IMPD_PARTS)


def shown_number(number: str, layout: str) -> str:
    """Return the section number a reader sees: 3.2.S.4.1 is 2.1.S.4.1 in an IMPD."""
    if layout == "impd" and number.startswith(IMPD_PARTS):
        return "2.1." + number[len("3.2."):]
    return number


def placed_path(path: str, layout: str) -> str:
    """Return a Module 3 document's path in the layout: in an IMPD, impd/21s-drug-sub/… for
    m3/32-body-data/32s-drug-sub/… (folder names numbered as the IMPD's sections)."""
    prefix = "m3/32-body-data/"
    if layout != "impd" or not path.startswith(prefix):
        return path
    parts = path[len(prefix):].split("/")
    return "impd/" + "/".join("21" + p[2:] if p.startswith("32") else p for p in parts)
