"""What a document read: dependency recording while it renders, and the content hashes of those reads.

render_document sees the model through a RecordingModel. Every read is noted as a dependency:

- ("entity", id): one entity (Model.get), hashed over its type and data (nested entities included);
- ("type", t): the list of entities of a type (Model.of_type): their ids, order and data;
- ("kind", k): the data of every file of a kind (Model.single, Model.data, batch_rows, stability_rows);
- ("file", rel): one file as written (a location in it: line numbers depend on all of it);
- ("files",): the list of the dossier's files, in order, with their kinds (not their content);
- ("image", rel): the bytes of a figure file of the dossier folder a document embeds;
- ("scope", i): the i-th repeat instance of the document's scope (its data, given to the template);
- ("index", market): the translation index of a Chinese document (where each English text is);
- ("all",): anything else, hashed over every file (reads the recorder cannot tell apart).

A value computed once per model (Model.memo: results per batch, Q1E evaluations) keeps the reads of
its computation, and each later reader is charged with them. The record is kept with the rendered
document in the cache (render_cached), keyed by the hashes of what it lists: a later build renders a
document again only when something it read changed. A read the recorder does not know is ("all",):
never a document reused by mistake.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from typing import Any

from .model import Entity, Model

Dependency = tuple


class Reads:
    """The dependencies noted so far, and the captures open (a memo value being computed)."""

    def __init__(self):
        self.found: dict[Dependency, None] = {}
        self.captures: list[dict[Dependency, None]] = []

    def add(self, dependency: Dependency) -> None:
        self.found[dependency] = None
        for capture in self.captures:
            capture[dependency] = None

    @contextmanager
    def capture(self):
        captured: dict[Dependency, None] = {}
        self.captures.append(captured)
        try:
            yield captured
        finally:
            self.captures.pop()  # captures nest: the last opened closes first

    def sorted(self) -> tuple[Dependency, ...]:
        return tuple(sorted(self.found, key=lambda d: tuple(map(str, d))))


class RecordingDossier:
    """The loaded source seen by a rendering document: file reads and locations are noted."""

    def __init__(self, dossier, reads: Reads):
        self._dossier, self._reads = dossier, reads

    @property
    def unwrapped(self):
        return self._dossier

    @property
    def root(self):
        return self._dossier.root

    @property
    def label(self):
        return self._dossier.label

    def note_index(self, market: str) -> None:
        self._reads.add(("index", market))

    def of_kind(self, kind: str):
        self._reads.add(("kind", kind))
        return self._dossier.of_kind(kind)

    def where(self, obj: Any, *keys: Any):
        rel, path = self._dossier.where(obj, *keys)
        self._reads.add(("file", rel) if rel else ("all",))
        return rel, path

    def location_of(self, obj: Any, *keys: Any):
        self.where(obj, *keys)
        return self._dossier.location_of(obj, *keys)

    def locate(self, rel: str, path=(), key: bool = False):
        self._reads.add(("file", rel))
        return self._dossier.locate(rel, path, key)

    def file(self, rel: str):
        """Return one file of the dossier (SourceFile, or None), noting that file as read."""
        self._reads.add(("file", rel))
        return self._dossier.files.get(rel)

    def names(self) -> list[str]:
        """Return the names of the dossier's files in its order, noting the list (names and kinds) as read,
        not the files' content."""
        self._reads.add(("files",))
        return list(self._dossier.files)

    def note_image(self, rel: str) -> None:
        """Note a figure file of the dossier folder the document embeds (its bytes, not a data file)."""
        self._reads.add(("image", rel))

    def __getattr__(self, name: str):
        self._reads.add(("all",))  # files, origins, problems: anything
        return getattr(self._dossier, name)


class RecordingModel:
    """A Model whose reads are noted in a Reads (see the module docstring)."""

    def __init__(self, model: Model, reads: Reads):
        self._model, self._reads = model, reads
        self.dossier = RecordingDossier(model.dossier, reads)

    @property
    def unwrapped(self) -> Model:
        return self._model

    def get(self, eid: Any, *types: str) -> Entity | None:
        self._reads.add(("entity", eid if isinstance(eid, str) else repr(eid)))
        return self._model.get(eid, *types)

    def of_type(self, etype: str) -> list[Entity]:
        self._reads.add(("type", etype))
        return self._model.of_type(etype)

    def data(self, kind: str) -> list[Any]:
        self._reads.add(("kind", kind))
        return self._model.data(kind)

    def single(self, kind: str) -> dict:
        self._reads.add(("kind", kind))
        return self._model.single(kind)

    @property
    def batch_rows(self) -> list[dict]:
        self._reads.add(("kind", "batch-results"))
        return self._model.batch_rows

    @property
    def stability_rows(self) -> list[dict]:
        self._reads.add(("kind", "stability-results"))
        return self._model.stability_rows

    def genealogy(self):
        """Return the lot genealogy, charging this reader with the batch list it comes from."""
        from .model import Genealogy

        return self.memo("genealogy", lambda: Genealogy.of(self))

    def memo(self, key: str, compute):
        """Return the model's memo of key, charging this reader with the reads of its computation."""
        reads = self._model.results.setdefault("depends.reads", {})
        if key in self._model.results and key in reads:
            for dependency in reads[key]:
                self._reads.add(dependency)
            return self._model.results[key]
        with self._reads.capture() as captured:
            value = compute()
        reads[key] = tuple(captured)
        return self._model.results.setdefault(key, value)

    def __getattr__(self, name: str):
        self._reads.add(("all",))  # entities, results, problems: anything
        return getattr(self._model, name)


class RecordingContext:
    """The build context as a rendering document sees it: reading its market, its list of documents,
    or the documents at a CTD number (a cross-reference) is noted. A document that reads none of them
    is the same for every market of its language and layout: the English core of neutral, us, eu and
    uk renders once (DESIGN.md section 6: their Module 3 core documents are the same bytes)."""

    def __init__(self, context, reads: Reads):
        self._context, self._reads = context, reads
        # read at every turn of a render and part of the document's identity (render_cached): plain attributes
        self.model, self.lang, self.stage, self.layout = context.model, context.lang, context.stage, context.layout

    @property
    def market(self) -> str:
        self._reads.add(("market",))
        return self._context.market

    @property
    def documents(self) -> tuple:
        self._reads.add(("documents",))
        return self._context.documents

    def matching(self, number: str) -> list:
        self._reads.add(("documents", number))
        return self._context.matching(number)

    def __getattr__(self, name: str):
        return getattr(self._context, name)  # model (recording), stage, lang, layout, document_at …


def context_hash(dependency: Dependency, context) -> str:
    """Return the hash of a read of the build context (RecordingContext) in this context."""
    if dependency == ("market",):
        return context.market
    if dependency == ("documents",):
        return documents_digest(context)
    return _digest([[d.id, d.number, d.pdf_path, sorted(d.owners), d.instance.get("chain", "")]
                    for _, d in context.matching(dependency[1])])


def unwrap(model):
    """Return the Model behind a RecordingModel (or the model itself)."""
    return getattr(model, "unwrapped", model)


CONTEXT_READS = ("market", "documents")  # reads of the build context, hashed in each market's context


class Hashes:
    """The content hash of each dependency in one loaded model, each computed once."""

    def __init__(self, model: Model):
        self.model, self.memo = unwrap(model), {}

    def of(self, dependency: Dependency, scope: tuple = (), context=None) -> str:
        if dependency[0] in CONTEXT_READS:  # once per context (market) and read: the context is held, its id stays its own
            key = ("context", id(context), dependency)
            if key not in self.memo or self.memo[key][0] is not context:
                self.memo[key] = (context, context_hash(dependency, context))
            return self.memo[key][1]
        if dependency[0] == "scope":
            if dependency[1] >= len(scope):
                return "absent"
            data = scope[dependency[1]][1]
            key = ("scope-data", id(data))
            if key not in self.memo:
                self.memo[key] = (data, _digest(data))  # data held: its id stays its own
            return self.memo[key][1]
        if dependency not in self.memo:
            self.memo[dependency] = self._compute(dependency)
        return self.memo[dependency]

    def _compute(self, dependency: Dependency) -> str:
        kind, name = dependency[0], (dependency[1] if len(dependency) > 1 else None)
        model, dossier = self.model, self.model.dossier
        if kind == "entity":
            entity = model.entities.get(name)
            return "absent" if entity is None else _digest([entity.type, entity.data])
        if kind == "type":
            return _digest([[e.id, self.of(("entity", e.id))] for e in model.of_type(name)])
        if kind == "kind":
            return _digest([[f.rel, f.digest] for f in dossier.of_kind(name)])
        if kind == "file":
            source = dossier.files.get(name)
            return source.digest if source is not None else "absent"
        if kind == "files":
            return _digest([[rel, f.kind] for rel, f in dossier.files.items()])
        if kind == "image":
            path = dossier.root / name
            return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"
        if kind == "index":
            from .translation import index_for

            return index_for(dossier, name).digest()
        if kind == "all":
            return _digest(sorted([rel, f.digest] for rel, f in dossier.files.items()))
        raise ValueError(f"unknown dependency {dependency!r}")


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, default=repr, separators=(",", ":")).encode()).hexdigest()


# the rendered documents, by the hashes of what they read ------------------------------------------------
def documents_digest(context) -> str:
    """Return a hash of the documents of a context (links between them depend on their places)."""
    return _digest([[d.id, d.path, d.number, d.heading_number] for d in context.documents])


def render_cached(context, document, hashes: Hashes):
    """Return the rendered document, reused from the store when every input it read last time (for the
    same document, stage, language, code, knowledge and day) is unchanged, the market and the places of
    other documents included where it read them; else rendered with its reads noted."""
    from dataclasses import replace

    from .attach import pack, unpack
    from .cache import content_key, engine_fingerprint, knowledge_fingerprint, store
    from .clock import today
    from .render import Rendered
    from .translation import Untranslated

    common = ("render-identity", id(context))  # the parts every document of the context shares, hashed once
    if common not in hashes.memo or hashes.memo[common][0] is not context:
        hashes.memo[common] = (context, content_key("render-3", engine_fingerprint(), knowledge_fingerprint(),
                                                    today().isoformat(), context.stage, context.lang, context.layout))
    identity = content_key([hashes.memo[common][1], document.id, document.path, repr(document.section),  # one part: one JSON text
                            repr(sorted(document.instance.items())), document.key_label, repr(document.chain),
                            document.shown, [name for name, _ in document.scope]])
    scope = document.scope
    # This build's answers by identity (the English core is the same document in neutral, us, eu and uk):
    # the reads recorded for it, and the rendering for the hashes those reads have here (what the store
    # holds under the content key of the identity and those hashes, which the memo stands for).
    built = hashes.memo.setdefault("rendered", {})
    reads = built.get(("reads", identity))
    if reads is None:
        recorded = store().get("reads", identity)
        reads = [tuple(d) for d in json.loads(recorded)] if recorded is not None else None
    if reads is not None:
        built[("reads", identity)] = reads
        seen = (identity, tuple(hashes.of(d, scope, context) for d in reads))
        if seen in built:
            return replace(built[seen], document=document)
        found = store().get("render", content_key(identity, [[list(d), h] for d, h in zip(reads, seen[1])]))
        pieces = json.loads(found) if found is not None else None
        stored = [store().get("attachment", digest) for _, digest in (pieces or {}).get("attachments", [])]
        attachments = [unpack(name, data) if data is not None else None
                       for (name, _), data in zip((pieces or {}).get("attachments", []), stored)]
        if pieces is not None and None not in attachments:  # else rendered again: the figure is made anew
            built[seen] = Rendered(document, pieces["markdown"], tuple(pieces["missing"]),
                                   tuple(Untranslated(*u) for u in pieces["untranslated"]), tuple(attachments))
            return built[seen]
    noted = Reads()
    for index in range(len(scope)):
        noted.add(("scope", index))
    rendered = _render_noted(context, document, noted)
    reads = list(noted.sorted())
    for attachment in rendered.attachments:
        store().put("attachment", attachment.digest(), pack(attachment))
    store().put("reads", identity, json.dumps(reads).encode())
    seen = (identity, tuple(hashes.of(d, scope, context) for d in reads))
    store().put("render", content_key(identity, [[list(d), h] for d, h in zip(reads, seen[1])]), json.dumps({
        "markdown": rendered.markdown, "missing": list(rendered.missing),
        "untranslated": [[u.section, u.path, u.text, u.kept] for u in rendered.untranslated],
        "attachments": [[a.name, a.digest()] for a in rendered.attachments]}, ensure_ascii=False).encode())
    built[("reads", identity)], built[seen] = reads, rendered
    return rendered


def record_of(context, document) -> tuple[Dependency, ...]:
    """Return what rendering a document reads (its dependency record)."""
    noted = Reads()
    for index in range(len(document.scope)):
        noted.add(("scope", index))
    _render_noted(context, document, noted)
    return noted.sorted()


def _render_noted(context, document, reads: Reads):
    """Render a document with its context's model seen through a RecordingModel."""
    from dataclasses import replace

    from .render import render_document

    return render_document(RecordingContext(replace(context, model=RecordingModel(unwrap(context.model), reads)), reads),
                           document)

