"""Reuse of evaluations between markets and builds: the problems of each semantic rule (rules/) and the
verdict of each gap rule (gaps.py), kept in the build's store (cache.store) by the content hashes of what
the evaluation read, as rendered documents are (depends.render_cached).

An evaluation runs on the model seen through a recording model (depends.RecordingModel): every read is
noted, plus two reads the rules make beside the model: the market whose rules are evaluated (the role
of a site counts for the markets it serves: checks.market_of) and the dossier folder itself (a rule that
looks for a file named by the data: any file of the folder, by its bytes). The record is kept under the
evaluation's identity (what is evaluated, code, knowledge, day, dossier folder), the outcome under the
identity and the hashes of the recorded reads. A later evaluation with the same identity reuses the
outcome when every read has the same hash; else it evaluates again. So a gap rule of the ICH core is
evaluated once for the five markets of a build unless it reads the market, and a build after one
changed result evaluates again only the rules that read that result. A read the recorder does not
know is ("all",): a change anywhere evaluates again. Outside a build (no store) nothing is kept."""

from __future__ import annotations

import json
import os
from typing import Callable

from .depends import Hashes, Reads, RecordingDossier, RecordingModel, unwrap


class _FolderDossier(RecordingDossier):
    """The dossier as an evaluation sees it: its folder (files named by the data) is a read too."""

    def __init__(self, dossier, reads: Reads, model: "EvaluationModel"):
        super().__init__(dossier, reads)
        self._model = model

    @property
    def root(self):
        self._reads.add(("folder",))
        return self._dossier.root

    def each_file(self, name: str, check: Callable, encode: Callable, decode: Callable) -> list:
        """Return check(dossier, model, source) for every file in order, joined (rules.formats.each_file): each
        file's answer is an evaluation of its own ("file-check", name, file), reused while what it read (that
        file, and what else the check read) is unchanged. The reads are charged to this evaluation as well."""
        found = []
        for rel in self.names():
            found += reused("file-check", [name, rel], self._model,
                            lambda seen: check(seen.dossier, seen, seen.dossier.file(rel)), encode, decode)
        return found


class EvaluationModel(RecordingModel):
    """A recording model for rule evaluations: also notes the dossier folder and the market."""

    def __init__(self, model, reads: Reads):
        super().__init__(model, reads)
        self.dossier = _FolderDossier(unwrap(model).dossier, reads, self)

    def note_market(self) -> None:
        self._reads.add(("market",))


def reused(kind: str, parts: list, model, compute: Callable, encode: Callable, decode: Callable):
    """Return compute(model) (model: a recording view of the model), reused from the store when the
    same evaluation (kind and parts) read the same content last time. encode turns the outcome into
    JSON-able data, decode turns that back (both exact). Called with a model that is itself recording
    (an evaluation inside another), the reads are charged to the outer evaluation as well."""
    from .cache import content_key, engine_fingerprint, knowledge_fingerprint, store
    from .clock import today
    from .markets import MARKET

    outer = model if isinstance(model, RecordingModel) else None
    base = unwrap(model)
    if not store().enabled:
        return compute(model)
    if "reuse.hashes" not in base.results:
        base.results["reuse.hashes"] = Hashes(base)
    hashes = base.results["reuse.hashes"]

    def digest(dependency) -> str:
        if dependency == ("market",):
            return str(MARKET.get())
        if dependency == ("folder",):
            if "reuse.folder" not in base.results:  # once per model (the folder is read once per build)
                base.results["reuse.folder"] = _folder_digest(base.dossier.root)
            return base.results["reuse.folder"]
        if dependency[0] == "documents":  # a build context's read (depends.RecordingContext) a memo passed on:
            return os.urandom(16).hex()    # not hashable here, so never reused (evaluated again)
        return hashes.of(dependency)

    def charge(reads) -> None:
        if outer is not None:
            for dependency in reads:
                outer._reads.add(dependency)

    identity = content_key(f"{kind}-1", engine_fingerprint(), knowledge_fingerprint(), today().isoformat(),
                           str(base.dossier.label), parts)
    # This build's answers (the model is the build's): the reads recorded for an identity, and the outcome
    # (as encoded) for the hashes those reads have here: what the store holds under their content key
    # (a gap rule of the ICH core is looked up once for the five markets, unless it reads the market).
    built = base.results.setdefault("reuse.built", {})
    reads = built.get((kind, identity))
    if reads is None:
        recorded = store().get(f"{kind}-reads", identity)
        try:
            reads = [tuple(d) for d in json.loads(recorded)] if recorded is not None else None
        except (ValueError, TypeError):
            reads = None  # an entry of another version: evaluated again
    if reads is not None:
        built[(kind, identity)] = reads
        seen = (kind, identity, tuple(digest(d) for d in reads))
        try:
            data = built.get(seen)
            if data is None:
                found = store().get(kind, content_key(identity, [[list(d), h] for d, h in zip(reads, seen[2])]))
                data = json.loads(found) if found is not None else None
            if data is not None:
                outcome = decode(data)
                built[seen] = data
                charge(reads)
                return outcome
        except (ValueError, TypeError, KeyError, IndexError):
            pass  # an entry of another version: evaluated again
    noted = Reads()
    outcome = compute(EvaluationModel(base, noted))
    reads = list(noted.sorted())
    charge(reads)
    seen = (kind, identity, tuple(digest(d) for d in reads))
    data = encode(outcome)
    store().put(f"{kind}-reads", identity, json.dumps(reads).encode())
    store().put(kind, content_key(identity, [[list(d), h] for d, h in zip(reads, seen[2])]),
                json.dumps(data, ensure_ascii=False).encode())
    built[(kind, identity)] = reads
    if all(d[0] != "documents" for d in reads):
        built[seen] = json.loads(json.dumps(data, ensure_ascii=False))  # as the store gives it back: decoded anew each time
    return outcome


def _folder_digest(root) -> str:
    """Return a hash of the dossier folder as a rule that looks for files sees it: where it really is, and
    every entry under it, not following links: a file's bytes, a link's target (a file named by the data
    that is a link out of the folder is refused, whatever it holds)."""
    import hashlib

    digest = hashlib.sha256(os.path.realpath(root).encode() + b"\0")
    for folder, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = os.path.join(folder, name)
            rel = os.fsencode(os.path.relpath(path, root))
            if os.path.islink(path):
                kind, data = b"L", os.fsencode(os.readlink(path))
            elif name in filenames:
                with open(path, "rb") as handle:
                    kind, data = b"F", handle.read()
            else:
                kind, data = b"D", b""
            for part in (kind + rel, data):  # each part with its length: no two folders hash alike
                digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()
