"""Module 1 regional backbones, generated from the market data and the Module 1 documents.

- us: m1/us/us-regional.xml, FDA us-regional DTD 3.3 (admin with applicant, application, submission and
  the Form FDA 356h or 1571 leaf; Module 1 headings of the DTD);
- eu: m1/eu/eu-regional.xml, EU Module 1 DTD 3.1 (envelope with the mandatory related-sequence);
- uk: the same EU format, envelope country `uk` and agency `UK-MHRA` (MHRA: "All modules of the eCTD
  should be in EU format (Modules 1-5), with UK-specific information included in Module 1",
  gov.uk eCTD guidance for IRP MAAs and lifecycle, updated 29 August 2024);
- cn: m1/cn/cn-regional.xml, NMPA cn-regional-1-0.xsd (cn-envelope with codes from the controlled
  vocabularies, in a combination depend-apt-rat-sqt.xml allows).

Each backbone ships with its official DTD or XSD under util/ (byte-exact copies in templates/ectd/),
and index.xml references it by a leaf in m1-administrative-information-and-prescribing-information.
EU and UK clinical-trial applications (stage ind) are not eCTD (EU: CTIS under Regulation (EU)
536/2014; UK: MHRA combined review), so they have no regional backbone: REGIONS[...].stages says so.
Values the data does not give are written as a visible `[missing: …]` marker (a draft); the gap
rules in regional/<market>/requirements.yaml report them.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .paths import TEMPLATES
from .text import pick

SCHEMAS = TEMPLATES / "ectd"
XLINK_NS = "http://www.w3c.org/1999/xlink"   # the ICH, EU and FDA DTDs fix this spelling
W3_XLINK_NS = "http://www.w3.org/1999/xlink"  # the NMPA schema uses the W3C namespace
CN_NS = "cn_ectd"
EU_NS = "http://europa.eu.int"
FDA_NS = "http://www.ich.org/fda"


@dataclass(frozen=True)
class Region:
    """One regional backbone: where it goes, its schema files and the stages it exists at."""

    market: str
    backbone: str                           # path in the sequence
    util: tuple[tuple[str, str, str], ...]  # (path in the sequence, file under templates/ectd, md5)
    schema: str                             # path in the sequence of the DTD/XSD that validates it
    kind: str                               # dtd | xsd
    stages: tuple[str, ...] = ("ind", "marketing")


EU_UTIL = (("util/dtd/eu-regional.dtd", "eu-3.1/eu-regional.dtd", "f8e473246d58499f9ffff8e51a32380d"),
           ("util/dtd/eu-envelope.mod", "eu-3.1/eu-envelope.mod", "cf059a8f48c68fe4ce9ad2947ab854ca"),
           ("util/dtd/eu-leaf.mod", "eu-3.1/eu-leaf.mod", "23b854174e61c68044b9f53c0009af95"),
           ("util/style/eu-regional.xsl", "eu-3.1/eu-regional.xsl", "474f3fe1fdadb31c74477793e060383d"))
REGIONS = {
    "us": Region("us", "m1/us/us-regional.xml",
                 (("util/dtd/us-regional-v3-3.dtd", "us-3.3/us-regional-v3-3.dtd", "bea39be6d3a1716262a30a87657bce2d"),),
                 "util/dtd/us-regional-v3-3.dtd", "dtd"),
    "eu": Region("eu", "m1/eu/eu-regional.xml", EU_UTIL, "util/dtd/eu-regional.dtd", "dtd", ("marketing",)),
    "uk": Region("uk", "m1/eu/eu-regional.xml", EU_UTIL, "util/dtd/eu-regional.dtd", "dtd", ("marketing",)),
    "cn": Region("cn", "m1/cn/cn-regional.xml",
                 (("util/dtd/cn-regional-1-0.xsd", "cn-1.0/cn-regional-1-0.xsd", "2ec24c065397df60d8822becbda3dfde"),
                  ("util/dtd/xlink.xsd", "cn-1.0/xlink.xsd", "52d1a3b8596e4fb61d3ec1cde24be16a"),
                  ("util/dtd/xml.xsd", "cn-1.0/xml.xsd", "382b0a4f7529d2c5f7b0af0aa713b0a5")),
                 "util/dtd/cn-regional-1-0.xsd", "xsd"),
}
BACKBONE_FILES = {r.backbone for r in REGIONS.values()}


def region(market: str, stage: str) -> Region | None:
    """Return the regional backbone of a market at a stage (None: no eCTD sequence carries Module 1)."""
    found = REGIONS.get(market)
    return found if found and stage in found.stages else None


@dataclass(frozen=True)
class Submission:
    """The sequence being built and its place in the lifecycle (envelope values that are not data)."""

    sequence: str = "0000"
    related: str = "0000"        # the first sequence of the regulatory activity
    unit: str = "initial"        # EU submission-unit type: initial, response, additional-info, ...
    first: bool = True           # the first sequence of the application in this market


@dataclass
class Leaf:
    """A Module 1 leaf: where it goes (element), its file (href from the sequence folder) and lifecycle."""

    id: str
    title: str
    href: str
    checksum: str
    element: str
    operation: str = "new"
    modified_file: str | None = None
    attrs: dict = field(default_factory=dict)   # e.g. {"form-type": "fdaft2"} for US forms


def missing(what: str) -> str:
    """Return the visible marker written where the data lacks a value."""
    return f"[missing: {what}]"


# ---------------------------------------------------------------------------------------------------
def util_files(reg: Region) -> list[tuple[str, bytes]]:
    """Return the official schema files of a region, byte-exact, with their paths in the sequence."""
    return [(path, (SCHEMAS / source).read_bytes()) for path, source, _ in reg.util]


def backbone_bytes(context, reg: Region, leaves: list[Leaf], submission: Submission) -> bytes:
    """Return the regional backbone of a market for these Module 1 leaves."""
    builder = {"us": _us, "eu": _eu, "uk": _eu, "cn": _cn}[reg.market]
    return builder(context, reg, leaves, submission)


def _relative(reg: Region, href: str) -> str:
    """Return a sequence path relative to the backbone's folder (m1/eu/12-form/x.pdf -> 12-form/x.pdf)."""
    folder = reg.backbone.rsplit("/", 1)[0] + "/"
    if not href.startswith(folder):
        raise ValueError(f"{href} is outside {folder}, where {reg.backbone} can reference it")
    return href[len(folder):]


def _leaf(parent, leaf: Leaf, reg: Region, xlink: str, checksum_first: bool = False):
    attrs = {"ID": leaf.id, "operation": leaf.operation}
    if leaf.modified_file:
        attrs["modified-file"] = leaf.modified_file
    attrs.update({"checksum-type": "md5", "checksum": leaf.checksum})
    if xlink == W3_XLINK_NS:
        attrs[f"{{{xlink}}}type"] = "simple"
    if leaf.operation != "delete":
        attrs[f"{{{xlink}}}href"] = _relative(reg, leaf.href)
    node = etree.SubElement(parent, "leaf", attrs)
    etree.SubElement(node, "title").text = leaf.title
    return node


def _serialise(root, doctype: str | None) -> bytes:
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n' + (doctype.encode() + b"\n" if doctype else b"")
    return head + body


# headings: parents and order from the official schema ----------------------------------------------
def _number(name: str, prefix: str) -> tuple[int, ...] | None:
    if not name.startswith(prefix):
        return None
    digits = []
    for part in name[len(prefix):].split("-"):
        if not part.isdigit():
            break
        digits.append(int(part))
    return tuple(digits) or None


@functools.cache
def _dtd_elements(source: str) -> tuple[str, ...]:
    return tuple(e.name for e in etree.DTD(str(SCHEMAS / source)).iterelements())


@functools.cache
def _xsd_elements(source: str) -> tuple[str, ...]:
    text = (SCHEMAS / source).read_text("utf-8")
    return tuple(dict.fromkeys(re.findall(r'name="(cn-[0-9-]+)"', text)))


@functools.cache
def leaf_headings(market: str) -> frozenset[str]:
    """Return the Module 1 headings of a market's regional schema that hold leaves directly (EU: also
    through their `specific` country wrapper; US: also `form`, the admin section's form). Headings that
    need attributes the data do not give (EU pi-doc, US promotional material) are left out."""
    reg = REGIONS[market]
    source = next(src for path, src, _ in reg.util if path == reg.schema)
    text = (SCHEMAS / source).read_text("utf-8", errors="replace").replace("\r\n", "\n")
    if reg.kind == "xsd":
        return frozenset(re.findall(r'name="(cn-[0-9-]+)" type="cn-leaf-ext"', text))
    if market == "us":
        found = set(re.findall(r"<!ELEMENT (m1-[a-z0-9-]+) \(\(leaf \| node-extension\)\*\)>", text))
        return frozenset({n for n in found if not n.startswith("m1-15-")} | {"form"})
    found = set(re.findall(r"<!ELEMENT (m1-[a-z0-9-]+)\s+(?:\(\s*)?%leaf-node;", text))
    return frozenset(found | {n for n in EU_SPECIFIC})


def _path(element: str, names: tuple[str, ...], prefix: str) -> tuple[str, ...]:
    """Return the heading elements from the top of Module 1 down to element (numbered parents)."""
    if element not in names:
        raise ValueError(f"{element} is not a Module 1 heading of the regional schema")
    number = _number(element, prefix)
    if not number:
        return (element,)
    by_number = {_number(n, prefix): n for n in names if _number(n, prefix)}
    chain = [by_number[number[:i]] for i in range(1, len(number)) if number[:i] in by_number]
    return (*chain, element)


def _tree(parent, leaves: list[Leaf], names, prefix: str, order_key, make_container, add_leaf) -> None:
    """Place each leaf under its heading path, creating the headings in the schema's order."""
    nodes: dict[tuple, object] = {}
    paths = sorted(((_path(l.element, names, prefix), l) for l in leaves), key=lambda pl: [order_key(e) for e in pl[0]])
    for path, leaf in paths:
        here = parent
        for depth in range(1, len(path) + 1):
            key = path[:depth]
            if key not in nodes:
                nodes[key] = make_container(here, path[depth - 1])
            here = nodes[key]
        add_leaf(here, leaf)


def _rank(prefix: str, tail: tuple[str, ...] = ()):
    def key(name: str):
        number = _number(name, prefix)
        return (0, number) if number else (1, (tail.index(name) if name in tail else len(tail),))
    return key


# EU and UK --------------------------------------------------------------------------------------------
EU_SPECIFIC = {"m1-0-cover", "m1-2-form", "m1-3-2-mockup", "m1-3-3-specimen", "m1-3-4-consultation", "m1-3-5-approved",
               "m1-responses", "m1-additional-data"}
EU_PROCEDURES = {"centralised": ("ema", "EU-EMA")}


EU_PROCEDURE_TYPES = {"centralised": "centralised", "decentralised": "decentralised",
                      "mutual_recognition": "mutual-recognition", "national": "national"}


def eu_envelope_values(context) -> dict:
    """Return the EU/UK envelope values from the data (markets/<eu|uk>.yaml, application.yaml).

    Raise InputError when the data name no marketing procedure the envelope can carry (a clinical-trial
    procedure, or a national/DCP/MRP procedure without the receiving country and agency)."""
    market, model, app = context.market, context.model, context.application
    data = model.single(f"market-{market}")
    ectd = data.get("ectd") or {}
    source = f"markets/{market}.yaml"
    if market == "uk":
        country, agency, procedure = "uk", "UK-MHRA", "national"
    else:
        named = ectd.get("procedure") or data.get("procedure") or "centralised"
        procedure = EU_PROCEDURE_TYPES.get(named)
        country, agency = EU_PROCEDURES.get(named, (None, None))
        country, agency = ectd.get("country") or country, ectd.get("agency") or agency
        if procedure is None or not country or not agency:
            _envelope_error(context, source, named)
    app_id = str(app.get("id") or "application")
    identifier = ectd.get("identifier") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"dossiergen:{app_id}:{market}:ectd"))
    invented = pick((app.get("proprietary_names") or {}).get(market), "en")
    inn = pick(app.get("inn"), "en")
    applicant = pick((data.get("mah") or {}).get("name"), "en") or pick((app.get("sponsor") or {}).get("name"), "en")
    return {"country": country, "agency": agency, "procedure": procedure,
            "identifier": identifier, "submission_type": ectd.get("submission_type") or "maa",
            "tracking": ectd.get("procedure_number") or missing(f"{source} ectd.procedure_number"),
            "applicant": applicant or missing(f"{source} mah.name"),
            "invented_name": invented or missing(f"application.yaml proprietary_names.{market}"), "inn": inn,
            "description": ectd.get("submission_description")}


def _envelope_error(context, source: str, named: str):
    from .errors import InputError, Location, Problem

    if named not in EU_PROCEDURE_TYPES:
        message = (f"procedure '{named}' has no eCTD marketing-authorisation envelope (EU M1 3.1 procedure types: "
                   "centralised, decentralised, mutual-recognition, national)")
        hint = "give the procedure of the planned application in ectd.procedure"
    else:
        message = f"the {named} procedure needs the receiving member state for the eCTD envelope"
        hint = "give ectd.country (e.g. de) and ectd.agency (e.g. DE-BFARM) as EU M1 3.1 lists them"
    raise InputError("no EU eCTD envelope", (Problem("ectd.envelope", message,
                                                     Location(f"{context.model.dossier.label}/{source}"),
                                                     "$.ectd", hint),))


def _eu(context, reg: Region, leaves: list[Leaf], submission: Submission) -> bytes:
    values = eu_envelope_values(context)
    root = etree.Element(f"{{{EU_NS}}}eu-backbone", nsmap={"eu": EU_NS, "xlink": XLINK_NS})
    root.set("dtd-version", "3.1")
    envelope = etree.SubElement(etree.SubElement(root, "eu-envelope"), "envelope", country=values["country"])
    etree.SubElement(envelope, "identifier").text = values["identifier"]
    sub = etree.SubElement(envelope, "submission", type=values["submission_type"])
    etree.SubElement(etree.SubElement(sub, "procedure-tracking"), "number").text = values["tracking"]
    etree.SubElement(envelope, "submission-unit", type=submission.unit)
    etree.SubElement(envelope, "applicant").text = values["applicant"]
    etree.SubElement(envelope, "agency", code=values["agency"])
    etree.SubElement(envelope, "procedure", type=values["procedure"])
    etree.SubElement(envelope, "invented-name").text = values["invented_name"]
    if values["inn"]:
        etree.SubElement(envelope, "inn").text = values["inn"]
    etree.SubElement(envelope, "sequence").text = submission.sequence
    etree.SubElement(envelope, "related-sequence").text = submission.related
    etree.SubElement(envelope, "submission-description").text = values["description"] or _eu_description(values, submission)
    m1 = etree.SubElement(root, "m1-eu")
    names = _dtd_elements("eu-3.1/eu-regional.dtd")
    country = values["country"]

    def container(parent, name):
        node = etree.SubElement(parent, name)
        return etree.SubElement(node, "specific", country=country) if name in EU_SPECIFIC else node

    cover = [l for l in leaves if l.element == "m1-0-cover"]
    if not cover:  # m1-0-cover is mandatory (DTD); an empty `specific` keeps the backbone valid
        etree.SubElement(etree.SubElement(m1, "m1-0-cover"), "specific", country=country)
    _tree(m1, leaves, names, "m1-", _rank("m1-", ("m1-responses", "m1-additional-data")), container,
          lambda parent, leaf: _leaf(parent, leaf, reg, XLINK_NS))
    doctype = '<!DOCTYPE eu:eu-backbone SYSTEM "../../util/dtd/eu-regional.dtd">'
    pi = b'<?xml-stylesheet type="text/xsl" href="../../util/style/eu-regional.xsl"?>\n'
    data = _serialise(root, doctype)
    head, _, rest = data.partition(b"\n")
    return head + b"\n" + pi + rest


def _eu_description(values: dict, submission: Submission) -> str:
    what = {"maa": "Marketing authorisation application"}.get(values["submission_type"], values["submission_type"])
    unit = {"initial": "initial submission", "response": "response", "validation-response": "validation response",
            "additional-info": "additional information"}.get(submission.unit, submission.unit)
    return f"{what} for {values['invented_name']} ({values['inn'] or ''}): {unit}, sequence {submission.sequence}"


# US ---------------------------------------------------------------------------------------------------
# FDA code lists (us-regional valid values, as transcribed from FDA's eCTD Backbone Files Specification
# for Module 1 v2.x attribute files): application-type, submission-type, submission-sub-type, form-type,
# applicant-contact-type and telephone-number-type.
US_APPLICATION_TYPE = {"NDA": "fdaat1", "ANDA": "fdaat2", "BLA": "fdaat3", "IND": "fdaat4"}
US_SUBMISSION_TYPE = {"original": "fdast1", "efficacy_supplement": "fdast2", "cmc_supplement": "fdast3",
                      "labeling_supplement": "fdast4", "annual_report": "fdast5"}
US_SUB_TYPE = {"original": "fdasst1", "presubmission": "fdasst2", "application": "fdasst3", "amendment": "fdasst4",
               "resubmission": "fdasst5", "report": "fdasst6", "correspondence": "fdasst7"}
US_FORM_TYPE = {"1571": "fdaft1", "356h": "fdaft2"}
US_CONTACT_REGULATORY, US_CONTACT_AGENT = "fdaact1", "fdaact3"
US_PHONE_BUSINESS = "fdatnt1"


def us_admin_values(context, submission: Submission) -> dict:
    """Return the US admin values: applicant, contacts, application type and number, submission."""
    model, app, stage = context.model, context.application, context.stage
    us = model.single("market-us")
    form, ectd = us.get("form_356h") or {}, us.get("ectd") or {}
    sponsor = app.get("sponsor") or {}
    if stage == "ind":
        kind = "IND"
    else:
        declared = next((m.get("application_type") for m in app.get("markets") or [] if m.get("market") == "us"), None)
        kind = form.get("application_type") or declared
    form_1571 = us.get("form_1571") or {}
    number = ectd.get("application_number") or (form.get("application_number") if stage == "marketing"
                                                 else form_1571.get("ind_number"))
    number = number.zfill(6) if isinstance(number, str) and number.isdigit() else number  # FDA: six digits
    contacts = []
    person = sponsor.get("contact") or {}
    if person:
        contacts.append((US_CONTACT_REGULATORY, person))
    agent = (form.get("us_agent") or {}).get("contact") or {}
    if agent:
        contacts.append((US_CONTACT_AGENT, agent))
    sub_type = ectd.get("submission_sub_type") or ("original" if submission.first else "amendment")
    return {"duns": sponsor.get("duns") or missing("application.yaml sponsor.duns"),
            "company": pick(sponsor.get("name"), "en") or missing("application.yaml sponsor.name"),
            "description": ectd.get("submission_description"),
            "contacts": contacts, "application_type": US_APPLICATION_TYPE.get(kind, missing("markets/us.yaml form_356h.application_type")),
            "application_number": number or missing("markets/us.yaml " + ("form_1571.ind_number" if kind == "IND"
                                                                          else "form_356h.application_number")),
            "submission_type": US_SUBMISSION_TYPE.get(ectd.get("submission_type") or form.get("submission_type") or "original",
                                                      missing("markets/us.yaml ectd.submission_type")),
            "submission_id": ectd.get("submission_id") or submission.related,
            "sub_type": US_SUB_TYPE.get(sub_type, missing("markets/us.yaml ectd.submission_sub_type")),
            "form": "1571" if kind == "IND" else "356h"}


def _us(context, reg: Region, leaves: list[Leaf], submission: Submission) -> bytes:
    values = us_admin_values(context, submission)
    root = etree.Element(f"{{{FDA_NS}}}fda-regional", nsmap={"fda-regional": FDA_NS, "xlink": XLINK_NS})
    root.set("dtd-version", "3.3")
    root.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    admin = etree.SubElement(root, "admin")
    info = etree.SubElement(admin, "applicant-info")
    etree.SubElement(info, "id").text = values["duns"]
    etree.SubElement(info, "company-name").text = values["company"]
    if values["description"]:
        etree.SubElement(info, "submission-description").text = values["description"][:128]
    contacts = etree.SubElement(info, "applicant-contacts")
    for kind, person in values["contacts"] or [(US_CONTACT_REGULATORY, {})]:
        contact = etree.SubElement(contacts, "applicant-contact")
        etree.SubElement(contact, "applicant-contact-name", {"applicant-contact-type": kind}).text = (
            person.get("name") or missing("application.yaml sponsor.contact.name"))
        phones = etree.SubElement(contact, "telephones")
        etree.SubElement(phones, "telephone", {"telephone-number-type": US_PHONE_BUSINESS}).text = (
            person.get("phone") or missing("application.yaml sponsor.contact.phone"))
        etree.SubElement(etree.SubElement(contact, "emails"), "email").text = (
            person.get("email") or missing("application.yaml sponsor.contact.email"))
    application = etree.SubElement(etree.SubElement(admin, "application-set"), "application",
                                   {"application-containing-files": "true"})
    etree.SubElement(etree.SubElement(application, "application-information"), "application-number",
                     {"application-type": values["application_type"]}).text = values["application_number"]
    submission_info = etree.SubElement(application, "submission-information")
    etree.SubElement(submission_info, "submission-id", {"submission-type": values["submission_type"]}).text = values["submission_id"]
    etree.SubElement(submission_info, "sequence-number", {"submission-sub-type": values["sub_type"]}).text = submission.sequence
    # FDA M1 specification: the 356h and 1571 forms go in their application's admin section (form element).
    forms = [l for l in leaves if l.element == "form"]
    if forms:
        form = etree.SubElement(submission_info, "form", {"form-type": forms[0].attrs.get("form-type") or US_FORM_TYPE[values["form"]]})
        for leaf in forms:
            _leaf(form, leaf, reg, XLINK_NS)
    others = [l for l in leaves if l.element != "form"]
    if others:
        regional = etree.SubElement(root, "m1-regional")
        names = _dtd_elements("us-3.3/us-regional-v3-3.dtd")
        _tree(regional, others, names, "m1-", _rank("m1-"), lambda parent, name: etree.SubElement(parent, name),
              lambda parent, leaf: _leaf(parent, leaf, reg, XLINK_NS))
    return _serialise(root, '<!DOCTYPE fda-regional:fda-regional SYSTEM "../../util/dtd/us-regional-v3-3.dtd">')


def us_form(context) -> tuple[str, str]:
    """Return the form an application's admin section carries (Form FDA 356h or 1571) and its code."""
    kind = "1571" if context.stage == "ind" else "356h"
    return f"Form FDA {kind}", US_FORM_TYPE[kind]


# China ------------------------------------------------------------------------------------------------
CN_VERSIONS = {"application-type": "1.1", "product-type": "1.0", "regulatory-activity-type": "1.0", "sequence-type": "1.0"}
CN_SEQUENCE_TYPE = {"initial": "cnsqt1", "response": "cnsqt2", "withdrawal": "cnsqt3", "reformat": "cnsqt4"}


@functools.cache
def cn_combinations() -> frozenset[tuple[str, str, str]]:
    """Return the allowed (application type, regulatory activity, sequence type) triples of
    depend-apt-rat-sqt.xml (NMPA BSfileC06, v1.1 of 1 March 2026)."""
    root = etree.parse(str(SCHEMAS / "cn-1.0" / "depend-apt-rat-sqt.xml")).getroot()
    found = set()
    for version in root.iter("version"):
        for apt in version.findall("code"):
            for rat in apt.findall("code"):
                for sqt in rat.findall("code"):
                    found.add((apt.get("name"), rat.get("name"), sqt.get("name")))
    return frozenset(found)


@functools.cache
def cn_titles() -> dict[str, dict[str, str]]:
    """Return the official zh/en titles of the CN Module 1 elements (element-property_CN.xml)."""
    root = etree.parse(str(SCHEMAS / "cn-1.0" / "element-property_CN.xml")).getroot()
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    return {e.get("name"): {d.get(lang): (d.text or "").strip() for d in e.findall("description")}
            for e in root.iter("element")}


def cn_envelope_values(context, submission: Submission) -> dict:
    """Return the cn-envelope values from markets/cn.yaml and the sequence."""
    data = context.model.single("market-cn")
    env = data.get("envelope") or {}
    contact = env.get("contact") or {}
    sqt = CN_SEQUENCE_TYPE.get(submission.unit, "cnsqt2" if not submission.first else "cnsqt1")
    source = "markets/cn.yaml envelope"
    return {"application_id": env.get("application_id") or missing(f"{source}.application_id"),
            "application_type": env.get("application_type") or missing(f"{source}.application_type"),
            "product_type": env.get("product_type") or missing(f"{source}.product_type"),
            "product_number": env.get("product_number") or missing(f"{source}.product_number"),
            "regulatory_activity": env.get("regulatory_activity") or missing(f"{source}.regulatory_activity"),
            "sequence_type": sqt, "description": env.get("sequence_description") or missing(f"{source}.sequence_description"),
            "contact": {k: contact.get(k) or missing(f"{source}.contact.{k}") for k in ("name", "phone", "email")}}


def cn_combination_allowed(values: dict) -> bool:
    """Return True when the envelope's codes are a combination depend-apt-rat-sqt.xml allows."""
    return (values["application_type"], values["regulatory_activity"], values["sequence_type"]) in cn_combinations()


def _cn(context, reg: Region, leaves: list[Leaf], submission: Submission) -> bytes:
    values = cn_envelope_values(context, submission)
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    root = etree.Element(f"{{{CN_NS}}}cn_ectd", nsmap={None: CN_NS, "xlink": W3_XLINK_NS, "xsi": xsi})
    root.set(f"{{{xsi}}}schemaLocation", f"{CN_NS} ../../util/dtd/cn-regional-1-0.xsd")
    root.set("schema-version", "1.0")
    q = lambda name: f"{{{CN_NS}}}{name}"  # noqa: E731
    env = etree.SubElement(root, q("cn-envelope"))
    etree.SubElement(env, q("application-id")).text = values["application_id"]
    etree.SubElement(env, q("application-type"), code=values["application_type"], version=CN_VERSIONS["application-type"])
    etree.SubElement(env, q("product-type"), code=values["product_type"], version=CN_VERSIONS["product-type"])
    etree.SubElement(env, q("product-number")).text = values["product_number"]
    etree.SubElement(env, q("related-sequence")).text = submission.related
    etree.SubElement(env, q("regulatory-activity-type"), code=values["regulatory_activity"],
                     version=CN_VERSIONS["regulatory-activity-type"])
    etree.SubElement(env, q("sequence-number")).text = submission.sequence
    etree.SubElement(env, q("sequence-type"), code=values["sequence_type"], version=CN_VERSIONS["sequence-type"])
    etree.SubElement(env, q("sequence-description")).text = values["description"]
    contact = etree.SubElement(env, q("sequence-contact"))
    for key in ("name", "phone", "email"):
        etree.SubElement(contact, q(key)).text = values["contact"][key]
    content = etree.SubElement(root, q("cn-content"))
    if not any(l.element == "cn-1-0" for l in leaves):
        etree.SubElement(content, q("cn-1-0"))  # mandatory (XSD); the cover letter is supplied by the applicant

    def add_leaf(parent, leaf):
        attrs = {"ID": leaf.id, "operation": leaf.operation}
        if leaf.modified_file:
            attrs["modified-file"] = leaf.modified_file
        attrs.update({f"{{{W3_XLINK_NS}}}type": "simple", "checksum-type": "md5", "checksum": leaf.checksum})
        if leaf.operation != "delete":
            attrs[f"{{{W3_XLINK_NS}}}href"] = _relative(reg, leaf.href)
        node = etree.SubElement(parent, q("leaf"), attrs)
        etree.SubElement(node, q("title")).text = leaf.title

    names = _xsd_elements("cn-1.0/cn-regional-1-0.xsd")
    _tree(content, leaves, names, "cn-1-", _rank("cn-1-"), lambda parent, name: etree.SubElement(parent, q(name)), add_leaf)
    return _serialise(root, None)


def envelope_missing(context) -> list[str]:
    """Return the data places ('markets/eu.yaml ectd.procedure_number') the envelope of the market's
    regional backbone needs and the data do not give (written `[missing: …]` in a draft)."""
    reg = region(context.market, context.stage)
    if reg is None:
        return []
    values = {"us": lambda: us_admin_values(context, Submission()), "eu": lambda: eu_envelope_values(context),
              "uk": lambda: eu_envelope_values(context), "cn": lambda: cn_envelope_values(context, Submission())}[reg.market]()
    return list(dict.fromkeys(re.findall(r"\[missing: ([^\]]+)\]", repr(values))))


# validation -------------------------------------------------------------------------------------------
def validate_regional(sequence: Path, reg: Region) -> list[str]:
    """Return the schema errors of a sequence's regional backbone against its util/ copy of the schema."""
    backbone, schema = sequence / reg.backbone, sequence / reg.schema
    if not schema.is_file():
        return [f"{reg.schema} is missing"]
    parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
    try:
        tree = etree.parse(str(backbone), parser)
        checker = etree.DTD(str(schema)) if reg.kind == "dtd" else etree.XMLSchema(etree.parse(str(schema), parser))
    except (etree.XMLSyntaxError, etree.DTDParseError, etree.XMLSchemaParseError) as exc:
        return [str(exc)]
    if checker.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in checker.error_log.filter_from_errors()]


def regional_hrefs(sequence: Path, reg: Region) -> list[tuple[str, str, str | None]]:
    """Return (leaf ID, href from the sequence folder, checksum) of every leaf in a regional backbone."""
    tree = etree.parse(str(sequence / reg.backbone), etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False))
    folder = reg.backbone.rsplit("/", 1)[0]
    found = []
    for leaf in tree.iter("leaf", f"{{{CN_NS}}}leaf"):
        href = leaf.get(f"{{{XLINK_NS}}}href") or leaf.get(f"{{{W3_XLINK_NS}}}href")
        if href is not None:
            found.append((leaf.get("ID"), f"{folder}/{href}", leaf.get("checksum")))
    return found


def envelope_country(model, market: str) -> str:
    """Return the EU envelope country of a market (the `specific` folder of EU Module 1): `uk` for the
    UK, else from the procedure (centralised: `ema`) or markets/eu.yaml ectd.country."""
    if market == "uk":
        return "uk"
    data = model.single(f"market-{market}")
    return (data.get("ectd") or {}).get("country") or EU_PROCEDURES.get(data.get("procedure") or "centralised", ("common",))[0]


def folder_for(model, market: str, stage: str, folder: str) -> str:
    """Return where a regional document goes: `{country}` filled in, and m1/… moved to working/… when
    the market has no eCTD sequence at this stage."""
    if "{country}" in folder:
        folder = folder.replace("{country}", envelope_country(model, market))
    if folder.startswith("m1/") and region(market, stage) is None:
        return "working"
    return folder
