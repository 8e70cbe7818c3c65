"""Small OpenXML helpers on python-docx elements (fields, properties), deterministic zips, and
LeanPackage: a DOCX read and written as python-docx does, for a caller that edits a few parts."""

from __future__ import annotations

import functools
import io
import struct
import sys
import zipfile
import zlib

from docx.opc.oxml import CT_Relationships, serialize_part_xml
from docx.opc.packuri import CONTENT_TYPES_URI, PACKAGE_URI, PackURI
from docx.opc.part import PartFactory, XmlPart
from docx.opc.pkgreader import _ContentTypeMap, _SerializedRelationships
from docx.opc.pkgwriter import PackageWriter, _ContentTypesItem
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def add_field(paragraph, instruction: str, placeholder: str = "1") -> None:
    """Append a complex field (PAGE, NUMPAGES, TOC ...) with placeholder text to a paragraph."""
    def run_with(child):
        run = OxmlElement("w:r")
        run.append(child)
        paragraph._p.append(run)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    text = OxmlElement("w:t")
    text.text = placeholder
    run_with(text)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _field_char(paragraph, kind: str) -> None:
    run = OxmlElement("w:r")
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    run.append(char)
    paragraph._p.append(run)


def add_field_start(paragraph, instruction: str) -> None:
    """Open a field whose result spans the following runs and paragraphs (close with add_field_end)."""
    _field_char(paragraph, "begin")
    run = OxmlElement("w:r")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run.append(instr)
    paragraph._p.append(run)
    _field_char(paragraph, "separate")


def add_field_end(paragraph) -> None:
    """Close a field opened with add_field_start."""
    _field_char(paragraph, "end")


# Child order that the OOXML schema prescribes (sequences), for the elements we add to.
ORDER = {
    "w:pPr": ["w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl", "w:numPr",
              "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
              "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
              "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
              "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr",
              "w:sectPr", "w:pPrChange"],
    "w:tcPr": ["w:cnfStyle", "w:tcW", "w:gridSpan", "w:hMerge", "w:vMerge", "w:tcBorders", "w:shd", "w:noWrap", "w:tcMar",
               "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark"],
    "w:tblPr": ["w:tblStyle", "w:tblpPr", "w:tblOverlap", "w:bidiVisual", "w:tblStyleRowBandSize", "w:tblStyleColBandSize",
                "w:tblW", "w:jc", "w:tblCellSpacing", "w:tblInd", "w:tblBorders", "w:shd", "w:tblLayout", "w:tblCellMar",
                "w:tblLook"],
    "w:tblBorders": ["w:top", "w:left", "w:start", "w:bottom", "w:right", "w:end", "w:insideH", "w:insideV"],
    "w:tblCellMar": ["w:top", "w:left", "w:start", "w:bottom", "w:right", "w:end"],
    "w:rPr": ["w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike", "w:dstrike",
              "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid", "w:vanish", "w:webHidden",
              "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect",
              "w:bdr", "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout",
              "w:specVanish", "w:oMath"],
}


@functools.lru_cache(maxsize=None)
def _qn(tag: str) -> str:
    return qn(tag)


@functools.lru_cache(maxsize=None)
def _later(parent: str, tag: str) -> frozenset[str]:
    """Return the tags (Clark notation) that come after `tag` in a `parent` (Clark notation) by ORDER."""
    order = ORDER.get("w:" + parent.rsplit("}", 1)[-1])
    return frozenset(map(qn, order[order.index(tag) + 1:] if order and tag in order else []))


def set_child(parent, tag: str, **attrs):
    """Return parent's child tag (created if absent, in schema order) with attributes set (w: namespace)."""
    child = parent.find(_qn(tag))
    if child is None:
        child = OxmlElement(tag)
        later = _later(parent.tag, tag)
        follower = next((c for c in parent if c.tag in later), None) if later else None
        if follower is not None:
            follower.addprevious(child)
        else:
            parent.append(child)
    for key, value in attrs.items():
        child.set(_qn(f"w:{key}"), value)
    return child


def save_document(document) -> bytes:
    """Return a python-docx document as DOCX bytes with fixed entry times (same inputs, same bytes).

    Does what Document.save does, through python-docx's PackageWriter (pinned), but into a zip
    whose entries carry a fixed time: cheaper than saving and then rewriting the zip."""
    package = document.part.package
    parts = list(package.iter_parts())
    for part in parts:
        part.before_marshal()
    out = io.BytesIO()
    writer = _FixedTimeZip(out)
    PackageWriter._write_content_types_stream(writer, parts)
    PackageWriter._write_pkg_rels(writer, package.rels)
    PackageWriter._write_parts(writer, parts)
    writer.close()
    return out.getvalue()


class _FixedTimeZip:
    """The physical writer PackageWriter expects (write, close), with fixed entry times."""

    def __init__(self, stream):
        self.stream = stream
        self.members: list[tuple[str, bytes]] = []

    def write(self, pack_uri, blob: bytes) -> None:
        self.members.append((pack_uri.membername, blob))

    def close(self) -> None:
        self.stream.write(fixed_time_zip(self.members))


def fixed_time_zip(members: list[tuple[str, bytes]], shared: frozenset[str] = frozenset()) -> bytes:
    """Return the zip of (name, bytes) members, in that order, as zipfile writes it with
    `ZipInfo(name, FIXED_ZIP_TIME)`, ZIP_DEFLATED, mode 0644 into a seekable stream.

    Writes the zip records itself so that a member's deflated bytes can be reused: members
    named in `shared` (the parts a batch's documents have in common) are compressed once per
    process for the same bytes (_deflate_shared, keyed by the bytes themselves; members up to
    _SHARED_LIMIT, so that what it keeps stays small beside big pictures). A package too
    big for plain zip records (ZIP64) goes through zipfile."""
    if sum(len(blob) for _, blob in members) > _ZIP64_SAFE or len(members) > 0xFFFF:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for name, blob in members:
                info = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                target.writestr(info, blob)
        return out.getvalue()
    local, central, offset = [], [], 0
    for name, blob in members:
        crc, data = _deflate_shared(blob) if name in shared and len(blob) <= _SHARED_LIMIT else _deflate(blob)
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), 0x800
        sizes = (crc, len(data), len(blob), len(encoded))
        local.append(_LOCAL.pack(b"PK\x03\x04", 20, 0, flags, zipfile.ZIP_DEFLATED, _DOS_TIME, _DOS_DATE, *sizes, 0))
        local.append(encoded)
        local.append(data)
        central.append(_CENTRAL.pack(b"PK\x01\x02", 20, _CREATE_SYSTEM, 20, 0, flags, zipfile.ZIP_DEFLATED,
                                     _DOS_TIME, _DOS_DATE, *sizes, 0, 0, 0, 0, 0o644 << 16, offset))
        central.append(encoded)
        offset += _LOCAL.size + len(encoded) + len(data)
    directory = b"".join(central)
    end = _END.pack(b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(local) + directory + end


# zipfile's records (structFileHeader, structCentralDir, structEndArchive) with the magic as bytes
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_DOS_DATE = (FIXED_ZIP_TIME[0] - 1980) << 9 | FIXED_ZIP_TIME[1] << 5 | FIXED_ZIP_TIME[2]
_DOS_TIME = FIXED_ZIP_TIME[3] << 11 | FIXED_ZIP_TIME[4] << 5 | FIXED_ZIP_TIME[5] // 2
_CREATE_SYSTEM = 0 if sys.platform == "win32" else 3  # as zipfile.ZipInfo sets it
_ZIP64_SAFE = 1 << 30  # far below the 4 GiB where zipfile switches to ZIP64 records
_SHARED_LIMIT = 256 * 1024  # _deflate_shared keeps at most 128 members of up to this size


def _deflate(blob: bytes) -> tuple[int, bytes]:
    """Return the CRC-32 and the raw deflate stream zipfile writes for these bytes (level 6)."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return zlib.crc32(blob), compressor.compress(blob) + compressor.flush()


@functools.lru_cache(maxsize=128)
def _deflate_shared(blob: bytes) -> tuple[int, bytes]:
    """_deflate, remembered for the same bytes: the key is the whole member, so an entry can
    only ever be returned for identical input."""
    return _deflate(blob)


def deterministic_zip(data: bytes) -> bytes:
    """Return the same OOXML package with fixed entry times and order (same inputs, same bytes)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = source.namelist()
    ordered = [n for n in names if n == "[Content_Types].xml"] + sorted(n for n in names if n != "[Content_Types].xml")
    return fixed_time_zip([(name, source.read(name)) for name in ordered])


class Rel:
    """One relationship as python-docx's _Relationship holds it: `_target` is the target's
    partname (PackURI) for an internal one, the reference string for an external one."""

    __slots__ = ("rId", "reltype", "_target", "is_external")

    def __init__(self, rId: str, reltype: str, target: str, is_external: bool):
        self.rId, self.reltype, self._target, self.is_external = rId, reltype, target, is_external


class LeanPackage:
    """An OPC package read and written as python-docx 1.2 (pinned) reads and saves it, for a
    caller that edits a few parts' XML itself: the same parts (those reachable through the
    relationships), the same content types, relationship items and part order on saving, and
    the same bytes for every part (an XML part python-docx would load is its XML re-serialized,
    any other part its bytes as read).

    What python-docx spends on the parts nobody edits (parsing them, objects for every part and
    relationship, parsing one small XML string per relationship and content type written) is
    spent once per distinct input: those results are pure functions of bytes or strings and are
    remembered keyed by them (the lru_caches below), so they can never be stale."""

    def __init__(self, data: bytes):
        self._data = data
        self._zip = zipfile.ZipFile(io.BytesIO(data))
        self._types = _content_type_map(self._read(CONTENT_TYPES_URI.membername))
        self.rels: dict[str, dict[str, Rel]] = {}   # source partname ("/" for the package) -> rId -> Rel
        self.content_types: dict[str, str] = {}     # partname -> content type, in python-docx's load order
        self.blobs: dict[str, bytes] = {}
        self.xml_parts: set[str] = set()           # parts python-docx would parse (XmlPart classes)
        self.elements: dict = {}                    # partname -> element, for parts parsed and edited
        self.written: dict[str, bytes] = {}         # partname -> bytes to write, set by the caller
        self.rels[PACKAGE_URI] = self._load_rels(PACKAGE_URI)
        self._walk(PACKAGE_URI)

    def _read(self, name: str) -> bytes | None:
        """Return a member's bytes (None if there is none), as ZipFile.read checks them.

        A stored member (pandoc stores its parts) is cut from the bytes after its local
        header, CRC-checked; others go through zipfile."""
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            return None
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            return self._zip.read(name)
        header = self._data[info.header_offset:info.header_offset + 30]
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            return self._zip.read(name)  # zipfile says what is wrong
        name_end = info.header_offset + 30 + int.from_bytes(header[26:28], "little")
        start = name_end + int.from_bytes(header[28:30], "little")
        end = getattr(info, "_end_offset", None)  # where the next entry starts (zipfile's overlap check)
        blob = self._data[start:start + info.compress_size]
        if (self._data[info.header_offset + 30:name_end] != info.orig_filename.encode("utf-8")
                or (end is not None and start + info.compress_size > end)
                or len(blob) != info.file_size or zlib.crc32(blob) != info.CRC):
            return self._zip.read(name)  # anything unusual: zipfile reads it (or says what is wrong)
        return blob

    def _load_rels(self, source: PackURI) -> dict[str, Rel]:
        serialized = _serialized_rels(_base(source), self._read(_rels_member(source)))
        rels = {rId: Rel(rId, reltype, target, external) for rId, reltype, target, external in serialized}
        if len(rels) != len(serialized):
            raise KeyError(f"a relationship id is used twice in {_rels_member(source)}")
        return rels

    def _walk(self, source: str) -> None:
        """Load the parts reachable from `source`, depth first (PackageReader._walk_phys_parts)."""
        for rel in list(self.rels[source].values()):
            if rel.is_external or rel._target in self.content_types:
                continue
            partname = rel._target
            content_type = self.content_types[partname] = self._types[partname]
            self.rels[partname] = self._load_rels(partname)
            blob = self.blobs[partname] = self._read(partname.membername)
            if blob is None:
                raise KeyError(f"There is no item named '{partname.membername}' in the archive")
            if issubclass(_part_class(content_type, rel.reltype), XmlPart):
                self.xml_parts.add(partname)
            self._walk(partname)

    def related(self, source: str, reltype: str) -> str:
        """Return the partname `source` relates to by `reltype`, its only relationship of that
        type (part_related_by); KeyError if there is none, several or an external one."""
        found = [rel for rel in self.rels[source].values() if rel.reltype == reltype]
        if len(found) != 1 or found[0].is_external:
            raise KeyError(f"{len(found)} relationships of type '{reltype}' from {source}")
        return found[0]._target

    def element(self, partname: str):
        """Return the part's XML element, parsed as python-docx parses it, to edit."""
        if partname not in self.elements:
            self.elements[partname] = parse_xml(self.blobs[partname])
        return self.elements[partname]

    def add_part(self, source: str, template: str, reltype: str, content_type: str, element) -> tuple[str, str]:
        """Add a new XML part named by `template` (next free number, as Package.next_partname)
        related from `source` with the next free rId (Relationships._next_rId); return both."""
        names = set(self.content_types)
        partname = next(PackURI(template % n) for n in range(1, len(names) + 2) if template % n not in names)
        rels = self.rels[source]
        rId = next(f"rId{n}" for n in range(1, len(rels) + 2) if f"rId{n}" not in rels)
        rels[rId] = Rel(rId, reltype, partname, False)
        self.content_types[partname] = content_type
        self.rels[partname] = {}
        self.xml_parts.add(partname)
        self.elements[partname] = element
        return partname, rId

    def _iter_parts(self):
        """Yield each partname once, depth first through the relationships (Package.iter_parts)."""
        visited: set[str] = set()

        def walk(source):
            for rel in self.rels[source].values():
                if rel.is_external or rel._target in visited:
                    continue
                visited.add(rel._target)
                yield rel._target
                yield from walk(rel._target)

        yield from walk(PACKAGE_URI)

    def _rels_xml(self, source: PackURI) -> bytes:
        base = _base(source)
        return _rels_xml(tuple((rel.rId, rel.reltype, rel._target if rel.is_external else _relative(rel._target, base),
                                rel.is_external) for rel in self.rels[source].values()))

    def _blob(self, partname: str) -> bytes:
        if partname in self.written:
            return self.written[partname]
        if partname in self.elements:
            return serialize_part_xml(self.elements[partname])
        if partname in self.xml_parts:
            return _reserialized(self.blobs[partname])
        return self.blobs[partname]

    def save(self, own: frozenset[str] = frozenset()) -> bytes:
        """Return the package's bytes, as save_document writes them. The parts named in `own`
        are this document's own; the others (styles, theme, fonts, relationships ...) are
        mostly the same bytes in every document of a batch (shared, see fixed_time_zip)."""
        parts = list(self._iter_parts())
        members = [(CONTENT_TYPES_URI.membername, _content_types_xml(tuple((p, self.content_types[p]) for p in parts))),
                   (PACKAGE_URI.rels_uri.membername, self._rels_xml(PACKAGE_URI))]
        for partname in parts:
            members.append((partname[1:], self._blob(partname)))  # PackURI.membername
            if self.rels[partname]:
                members.append((_rels_member(partname), self._rels_xml(partname)))
        return fixed_time_zip(members, frozenset(name for name, _ in members if name not in own))


@functools.lru_cache(maxsize=1024)
def _base(partname: PackURI) -> str:
    return partname.baseURI


@functools.lru_cache(maxsize=1024)
def _rels_member(partname: PackURI) -> str:
    return partname.rels_uri.membername


@functools.lru_cache(maxsize=1024)
def _relative(partname: PackURI, base: str) -> str:
    return partname.relative_ref(base)


@functools.lru_cache(maxsize=32)
def _content_type_map(xml: bytes) -> _ContentTypeMap:
    """[Content_Types].xml read as PackageReader reads it (the map is only read from)."""
    return _ContentTypeMap.from_xml(xml)


@functools.lru_cache(maxsize=256)
def _serialized_rels(base: str, xml: bytes | None) -> tuple[tuple[str, str, str, bool], ...]:
    """A relationship item read as PackageReader reads it: (rId, type, target, external), the
    target being the normalized partname (PackURI) of an internal one."""
    return tuple((srel.rId, srel.reltype, srel.target_ref if srel.is_external else srel.target_partname, srel.is_external)
                 for srel in _SerializedRelationships.load_from_xml(base, xml))


def _part_class(content_type: str, reltype: str) -> type:
    """The part class python-docx's PartFactory loads a part of this content type as."""
    chosen = PartFactory.part_class_selector(content_type, reltype) if PartFactory.part_class_selector else None
    return chosen or PartFactory.part_type_for.get(content_type, PartFactory.default_part_type)


@functools.lru_cache(maxsize=128)
def _reserialized(blob: bytes) -> bytes:
    """What python-docx writes for an XML part it loaded and nobody changed."""
    return serialize_part_xml(parse_xml(blob))


@functools.lru_cache(maxsize=256)
def _rels_xml(rels: tuple[tuple[str, str, str, bool], ...]) -> bytes:
    """A relationship item as Relationships.xml writes it."""
    element = CT_Relationships.new()
    for rId, reltype, target, external in rels:
        element.add_rel(rId, reltype, target, external)
    return element.xml


class _Typed:
    __slots__ = ("partname", "content_type")

    def __init__(self, partname: PackURI, content_type: str):
        self.partname, self.content_type = partname, content_type


@functools.lru_cache(maxsize=128)
def _content_types_xml(parts: tuple[tuple[PackURI, str], ...]) -> bytes:
    """[Content_Types].xml as PackageWriter writes it for parts of these names and types."""
    return _ContentTypesItem.from_parts([_Typed(name, content_type) for name, content_type in parts]).blob
