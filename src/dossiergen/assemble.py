"""Stage assemble: Model + market + stage -> Context with the documents that apply.

Expands the section registry over its repeat axes (substance x manufacturer, product, excipient,
analytical procedure), decides applicability by molecule type and stage, and picks the language.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .ectd import FIRST_SEQUENCE, placed_pdf
from .layouts import in_layout, layout_of, placed_path, shown_number
from .model import Entity, Model
from .registry import Section, load_annexes, load_registry
from .text import pick, slugify

LANGUAGE = {"cn": "zh"}


@dataclass(frozen=True)
class Document:
    """One document to render: a section instance at eCTD granularity."""

    id: str
    section: Section
    path: str                      # eCTD path without extension, from the sequence folder
    scope: tuple = ()              # (("substance", data), ("method", data), ...)
    instance: dict = field(default_factory=dict)  # backbone attributes of the repeat instance
    key_label: str = ""            # e.g. the analytical procedure number of a per-method document
    chain: tuple = ()              # eCTD elements from m3-quality down: ((element, ((attr, value), ...)), ...)
    shown: str = ""                # the number a reader sees, when the layout renumbers (2.1.S.1.1 in an IMPD)
    owners: tuple = ()             # ids of the repeat instances it belongs to (substance, product, excipient)

    @property
    def number(self) -> str:
        return self.section.number

    @property
    def heading_number(self) -> str:
        """Return the section number printed in the document (the CTD number unless renumbered)."""
        return self.shown or self.section.number

    @property
    def pdf_path(self) -> str:
        """Where the PDF goes in the build folder, in a first sequence (links between documents are
        relative, so they do not depend on the sequence; package places them in the one built)."""
        return self.pdf_in(FIRST_SEQUENCE)

    def pdf_in(self, sequence: str) -> str:
        """Where the PDF goes in the build folder of a sequence: in it when in Module 1 or 3."""
        return placed_pdf(self.path, sequence)

    def get(self, name: str):
        """Return the data of the scope entry of this name (substance, product, excipient, method)."""
        return dict(self.scope).get(name)


@dataclass(frozen=True)
class Context:
    """What render needs: the model, the market, stage and language, and the documents."""

    model: Model
    market: str
    stage: str
    lang: str
    documents: tuple[Document, ...]
    layout: str = "ectd"

    @property
    def application(self) -> dict:
        return self.model.single("application")

    def matching(self, number: str) -> list[tuple[int, Document]]:
        """Return (index, document) of the documents at a CTD number or below it, in order."""
        below = number + "."
        return [(i, d) for i, d in enumerate(self.documents) if (n := d.section.number) == number or n.startswith(below)]

    def document_at(self, index: int) -> Document:
        """Return the document at an index that matching() gave."""
        return self.documents[index]


def assemble_context(model: Model, market: str, stage: str) -> Context:
    """Return the build context: every applicable Module 3 document in registry order."""
    lang, layout = LANGUAGE.get(market, "en"), layout_of(market, stage)
    root = load_registry()
    core = tuple(_place(d, layout) for d in _expand(model, root, "", (), {}, stage, market=market) if in_layout(d.number, layout))
    return Context(model, market, stage, lang, core + tuple(_regional(model, market, stage)), layout)


def _place(document: Document, layout: str) -> Document:
    """Return a Module 3 document as the layout places and numbers it."""
    if layout == "ectd":
        return document
    return replace(document, path=placed_path(document.path, layout), shown=shown_number(document.number, layout))


def qp_declarations_for(model: Model, market: str) -> list:
    """Return the QP declarations a market's annex prints: the UK QP's own (markets/uk.yaml) unless the UK
    reuses the EU ones (qp_declaration_from_eu true, or no own declarations), else markets/eu.yaml's."""
    if market == "uk":
        uk = model.single("market-uk")
        own = [d for d in uk.get("qp_declarations") or [] if isinstance(d, dict)]
        if own and uk.get("qp_declaration_from_eu") is not True:
            return own
    return [d for d in model.single("market-eu").get("qp_declarations") or [] if isinstance(d, dict)]


def _regional(model: Model, market: str, stage: str):
    """Yield the market's regional annexes (regional/<market>/annexes.yaml): Module 1 documents in the
    sequence (m1/…, each placed by its `element` in the regional backbone), working documents beside it
    (working/…). Where the market has no eCTD sequence at this stage, Module 1 documents go to working/."""
    from .backbones import folder_for

    for section in load_annexes(market):
        if section.stages and stage not in section.stages:
            continue
        folder = folder_for(model, market, stage, section.folder or f"regional/{market}")
        if section.per == "qp_declaration":
            for declaration in qp_declarations_for(model, market):
                substance = model.get(declaration.get("substance"), "substance")
                slug = _substance_slug(substance) if substance else slugify(declaration.get("reference", "x"))
                name = substance.id if substance else slug
                yield Document(f"{market}-{slugify(section.file)}-{name}", section, f"{folder}/{section.file}-{slug}",
                               (("declaration", declaration), ("substance", substance.data if substance else {})))
        else:
            yield Document(f"{market}-{slugify(section.file)}", section, f"{folder}/{section.file}")


def _expand(model: Model, node: Section, folder: str, scope: tuple, instance: dict, stage: str, elements: tuple = (),
            ids: tuple = (), market: str = ""):
    """Yield the documents of a node; `ids` are the entity ids of the repeat instances above it,
    which name the documents (a renamed product keeps its documents' identity)."""
    molecule = model.single("application").get("molecule_type")
    if node.molecule_types and molecule not in node.molecule_types:
        return
    if node.repeat:
        for entity, slug, attrs in _instances(model, node.repeat, dict(scope)):
            sub_folder = _join(folder, node.folder.replace("{instance}", slug))
            chain = "-".join(filter(None, [instance.get("chain", ""), slug]))
            here = elements + ((node.element, tuple(attrs.items())),)
            for child in node.children:
                yield from _expand(model, child, sub_folder, scope + ((node.repeat, entity.data),),
                                   {**instance, **attrs, "slug": slug, "chain": chain}, stage, here, ids + (entity.id,), market)
        return
    here = elements + (((node.element, ()),) if node.element else ())
    folder = _join(folder, node.folder)
    if node.is_document:
        yield from _documents(model, node, folder, scope, instance, here, ids, market)
    else:
        for child in node.children:
            yield from _expand(model, child, folder, scope, instance, stage, here, ids, market)


def _documents(model: Model, node: Section, folder: str, scope: tuple, instance: dict, elements: tuple, ids: tuple,
               market: str = ""):
    if node.only_when and not any(FACTS[path](model, market) if path in FACTS else _field(scope, path) for path in node.only_when):
        return  # the heading does not apply to this instance: no document (ICH M4 granularity)
    prefix = "-".join(["m3", *ids, node.number.lower()])  # from entity ids; paths keep the readable slugs
    if node.per != "method":
        yield Document(prefix, node, _join(folder, node.file), scope, instance, chain=elements, owners=ids)
        return
    owner = dict(scope).get("substance") or dict(scope).get("product") or {}
    for method_id in (owner.get("control") or {}).get("methods", []):
        method = model.get(method_id, "method")
        if method is None:
            continue
        key = slugify(method.data.get("number", method.id), 24)
        yield Document(f"{prefix}-{method.id}", node, _join(folder, node.file.replace("{key}", key)),
                       scope + (("method", method.data),), instance, method.data.get("number", ""), elements, owners=ids)


# Facts of the whole dossier (and the market built for) an only_when may name (sections.yaml).
FACTS = {"@novel_excipient": lambda model, market: any(e.data.get("novel") for e in model.of_type("excipient")),
         # 3.2.R holds what the market asks there: FDA (executed batch records, method validation package,
         # comparability protocols) and EU/UK (process validation scheme, medical device, TSE certificates)
         # data given in markets/<market>.yaml; China asks its regional information in Module 1.
         "@regional_information": lambda model, market: bool(
             model.single({"us": "market-us", "eu": "market-eu", "uk": "market-eu"}.get(market, "-")).get("regional"))}


def _field(scope: tuple, path: str):
    """Return the value at 'scope.key' (e.g. 'excipient.novel') of the document's scope, or None."""
    name, _, key = path.partition(".")
    return (dict(scope).get(name) or {}).get(key)


def _instances(model: Model, axis: str, scope: dict) -> list[tuple[Entity, str, dict]]:
    if axis == "substance":
        return [(e, _substance_slug(e), {"substance": pick(e.data.get("substance"), "en"),
                                         "manufacturer": pick(e.data.get("manufacturer"), "en")})
                for e in ordered(model, "substance")]
    if axis == "product":
        return [(e, slugify(pick(e.data.get("name"), "en")), {"product-name": pick(e.data.get("name"), "en"),
                                                             "dosageform": pick(e.data.get("dosage_form"), "en")})
                for e in ordered(model, "product")]
    if axis == "excipient":
        product = scope.get("product", {})
        ids = product.get("excipients") or [c.get("component") for c in product.get("composition", [])]
        found = [model.get(i, "excipient") for i in ids]
        return [(e, slugify(pick(e.data.get("name"), "en")), {"excipient": pick(e.data.get("name"), "en")})
                for e in found if e is not None]
    raise ValueError(f"unknown repeat axis {axis!r} in sections.yaml")


def ordered(model: Model, etype: str) -> list[Entity]:
    """Return the substance or product instances in the order application.yaml's instance_order sets
    (those it lists first, as listed; the others after them in file-name order, the default)."""
    order = (model.single("application").get("instance_order") or {}).get(etype) or []
    rank = {eid: i for i, eid in enumerate(order) if isinstance(eid, str)}
    return sorted(model.of_type(etype), key=lambda e: rank.get(e.id, len(rank)))


def _substance_slug(entity: Entity) -> str:
    name = slugify(pick(entity.data.get("substance"), "en"), 30)
    maker = slugify(pick(entity.data.get("manufacturer"), "en").split()[0], 20)
    return f"{name}-{maker}"


def _join(folder: str, part: str | None) -> str:
    return "/".join(p for p in (folder, part) if p)


def applies_at_stage(section: Section, stage: str) -> bool:
    """Return False when the section's content is not required at this stage."""
    return stage not in section.not_required_at
