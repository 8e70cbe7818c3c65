"""The eCTD v3.2.2 draft sequence: index.xml (valid against the ICH DTD), index-md5.txt and
util/dtd/, built from the documents' element chains (which come from the section registry)."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from lxml import etree

from .paths import TEMPLATES

DTD_FILE = TEMPLATES / "ectd" / "ich-ectd-3-2.dtd"
DTD_MD5 = "1d6f631cc6b6357f0f4fe378e5f79a27"
ECTD_NS = "http://www.ich.org/ectd"
XLINK_NS = "http://www.w3c.org/1999/xlink"  # sic: the DTD fixes the w3c.org spelling
FIRST_SEQUENCE = "0000"  # an application's first sequence; the next ones come from lifecycle.History.next_number


def placed_pdf(path: str, sequence: str = FIRST_SEQUENCE) -> str:
    """Return where the PDF of a document (its eCTD path without extension) goes in the build folder:
    in the folder of the sequence when it is in Module 1 or 3 (m1/<region>/, m3/), else beside it."""
    return f"ectd/{sequence}/{path}.pdf" if path.split("/")[0] in ("m1", "m3") else f"{path}.pdf"


def md5_hex(data: bytes) -> str:
    """Return the MD5 checksum eCTD v3.2.2 uses for leaves and index-md5.txt. That of a large file
    (a PDF) is remembered by its SHA-256, which is faster to compute: a PDF shared by markets, placed
    and then checked, is summed once."""
    if len(data) < 65536:
        return hashlib.md5(data).hexdigest()
    key = hashlib.sha256(data).digest()
    found = _MD5.get(key)
    if found is None:
        if len(_MD5) > 20000:
            _MD5.clear()
        found = _MD5[key] = hashlib.md5(data).hexdigest()
    return found


_MD5: dict[bytes, str] = {}


def md5_known(sha256: str, data: bytes) -> str:
    """Return the MD5 of data, whose SHA-256 (hex) the caller has verified is sha256: remembered by this
    process (md5_hex), or kept in the build's store under that SHA-256 (cache.store, kind "md5": content-
    addressed, kept by whoever summed those very bytes: the writer that made the PDF, or an earlier build),
    else summed from data and kept. Never the MD5 a cache entry keeps beside its bytes: the check compares
    the backbones' checksums (from the entries) with this one, computed from bytes with that SHA-256."""
    from .cache import store

    key = bytes.fromhex(sha256)
    found = _MD5.get(key)
    if found is None:
        kept = store().get("md5", sha256)
        if kept is not None and len(kept) == 16:
            found = kept.hex()
        else:
            found = hashlib.md5(data).hexdigest()
            store().put("md5", sha256, bytes.fromhex(found))
        if len(_MD5) > 20000:
            _MD5.clear()
        _MD5[key] = found
    return found


def backbone_xml(leaves: list[dict]) -> bytes:
    """Return index.xml for leaves [{id, title, href, checksum, chain, operation?, modified_file?}] in
    declared order (operation new unless given; a delete leaf has no href)."""
    root = etree.Element(f"{{{ECTD_NS}}}ectd", nsmap={"ectd": ECTD_NS, "xlink": XLINK_NS})
    root.set("dtd-version", "3.2")
    for leaf in _in_dtd_order(leaves):
        parent = root
        for element, attrs in leaf["chain"]:
            parent = _child(parent, element, dict(attrs))
        operation = leaf.get("operation", "new")
        attrs = {"ID": leaf["id"], "operation": operation}
        if leaf.get("modified_file"):
            attrs["modified-file"] = leaf["modified_file"]  # ../0000/index.xml#ID (ICH eCTD 3.2.2)
        attrs.update({"checksum-type": "md5", "checksum": leaf["checksum"], f"{{{XLINK_NS}}}type": "simple"})
        if operation != "delete":
            attrs[f"{{{XLINK_NS}}}href"] = leaf["href"]
        node = etree.SubElement(parent, "leaf", attrs)
        etree.SubElement(node, "title").text = leaf["title"]
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<!DOCTYPE ectd:ectd SYSTEM "util/dtd/ich-ectd-3-2.dtd">\n' + body)


def _in_dtd_order(leaves: list[dict]) -> list[dict]:
    """Return the leaves sorted so that headings follow the DTD's order (the ICH DTD declares its elements
    in tree order); leaves under the same heading, and repeat instances, keep their given order."""
    order = _element_order()
    seen: dict[tuple, int] = {}
    for leaf in leaves:
        chain = tuple((element, tuple(sorted(dict(attrs).items()))) for element, attrs in leaf["chain"])
        for depth in range(1, len(chain) + 1):
            seen.setdefault(chain[:depth], len(seen))

    def key(leaf):
        chain = tuple((element, tuple(sorted(dict(attrs).items()))) for element, attrs in leaf["chain"])
        return [(order.get(chain[depth - 1][0], len(order)), seen[chain[:depth]]) for depth in range(1, len(chain) + 1)]

    return sorted(leaves, key=key)


@functools.cache
def _element_order() -> dict[str, int]:
    return {element.name: index for index, element in enumerate(etree.DTD(str(DTD_FILE)).iterelements())}


def _child(parent, element: str, attrs: dict):
    for child in parent:
        if child.tag == element and dict(child.attrib) == attrs:
            return child
    return etree.SubElement(parent, element, attrs)


def leaf_id(document_id: str) -> str:
    """Return an XML ID for a document id (letters, digits, '-', '.', '_'; starts with a letter)."""
    cleaned = "".join(c if c.isalnum() or c in "-._" else "-" for c in document_id)
    return cleaned if cleaned[:1].isalpha() else f"d-{cleaned}"


def dtd_bytes() -> bytes:
    """Return the official ICH eCTD 3.2 DTD, byte-exact."""
    return DTD_FILE.read_bytes()


def validate_backbone(index_xml: Path) -> list[str]:
    """Return the DTD validation errors of an index.xml against its util/dtd copy."""
    dtd_path = index_xml.parent / "util" / "dtd" / "ich-ectd-3-2.dtd"
    if not dtd_path.is_file():
        return [f"{dtd_path.name} is missing from util/dtd"]
    parser = etree.XMLParser(dtd_validation=False, load_dtd=False, no_network=True, resolve_entities=False)
    tree = etree.parse(str(index_xml), parser)
    dtd = etree.DTD(str(dtd_path))
    if dtd.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in dtd.error_log.filter_from_errors()]
