"""Attachments: files a rendered document carries besides its Markdown (figures, diagrams).

A template helper makes an Attachment and puts `figure_markdown(...)` into the Markdown; the
image there points at `attachment:<name>`. The writers resolve that name: the DOCX gets the PNG
variant (embedded by pandoc); the typst PDF draws a figure the project draws itself from its input
("trend", "flow": JSON that the document's source hands to the same typst program as the PNG's,
write/convert.lua), so its text is text; else it embeds the SVG variant when there is one (vector,
in the typst source), else the PNG. An attachment's bytes are part of its document's cache key
(cache.document_key), so a changed figure rewrites its document.

A figure drawn by the project (a trend plot, a flow diagram) is a Drawn attachment: its name, the
function that draws it and that function's inputs. Rendering only records it; the writer processes
draw it when they convert its document (in parallel, beside pandoc and typst; never for a document
found in the cache). Its key hashes the drawing code and the inputs, and stands for its bytes in
the document's cache key: drawing is deterministic, so the same key gives the same bytes.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .text import Markdown, escape_md

SCHEME = "attachment:"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}$")
FORMATS = ("png", "svg", "trend", "flow")  # trend, flow: the input of plots.TREND_FUNCTION, flow.FLOW_FUNCTION
FIGURE_CLASS = "dossiergen-figure"  # a figure and its caption: kept on one page in the PDF


@dataclass(frozen=True)
class Attachment:
    """One named file of a document in one or more formats: ((format, bytes), ...)."""

    name: str
    files: tuple[tuple[str, bytes], ...]

    def __post_init__(self):
        if not NAME.match(self.name):
            raise ValueError(f"attachment name {self.name!r} must be lowercase letters, digits, '.', '_' or '-'")
        if not self.files or any(fmt not in FORMATS for fmt, _ in self.files):
            raise ValueError(f"attachment {self.name!r} needs files in {FORMATS}")

    def get(self, fmt: str) -> bytes | None:
        return dict(self.files).get(fmt)

    def digest(self) -> str:
        """Return a hash of the name and every variant's bytes (for cache keys)."""
        h = hashlib.sha256(self.name.encode())
        for fmt, data in self.files:
            h.update(fmt.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()


@dataclass(frozen=True)
class Drawn:
    """An attachment drawn where its bytes are needed: draw(*args) returns ((format, bytes), ...).

    draw must be a module-level function (it travels to the writer processes by reference) and
    args picklable; key (drawn_key) hashes the drawing code and the inputs."""

    name: str
    draw: Callable[..., tuple[tuple[str, bytes], ...]]
    args: tuple
    key: str

    def __post_init__(self):
        if not NAME.match(self.name):
            raise ValueError(f"attachment name {self.name!r} must be lowercase letters, digits, '.', '_' or '-'")

    @property
    def files(self) -> tuple[tuple[str, bytes], ...]:
        return materialize(self).files

    def get(self, fmt: str) -> bytes | None:
        return dict(self.files).get(fmt)

    def digest(self) -> str:
        """Return a hash of the name and the drawing's key (for cache keys): the bytes follow from it."""
        return hashlib.sha256(b"drawn\0" + self.name.encode() + b"\0" + self.key.encode()).hexdigest()


def drawn(name: str, draw: Callable, *args, code: tuple = ()) -> Drawn:
    """Return the Drawn attachment of draw(*args); code: the source files (beside draw's own module)
    and library versions whose change changes the drawing."""
    import sys

    module = sys.modules[draw.__module__]
    parts = [Path(module.__file__).read_bytes(), *(_code_of(c) for c in code), draw.__qualname__.encode()]
    digest = hashlib.sha256(b"\0".join(parts))
    _canonical(args, digest)
    made = Drawn(name, draw, tuple(args), digest.hexdigest())
    _remember(made)
    return made


# The Drawn attachments this process made, by key: a rendered document reused from the store within
# the build that rendered it (another market of the same language) gets its figures' recipes back from
# here, as the figures may not be drawn yet. Bounded: a long-lived process does not grow.
_MADE: dict[str, Drawn] = {}
MADE_LIMIT = 4096


def _remember(made: Drawn) -> None:
    if len(_MADE) >= MADE_LIMIT:
        del _MADE[next(iter(_MADE))]
    _MADE[made.key] = made


def _canonical(value, digest) -> None:
    """Feed a value into a hash by its content alone: dataclasses by class and fields, sequences,
    mappings (sorted), numbers (repr: exact), strings, numpy arrays (type, shape, bytes). Unlike a
    pickle, it does not depend on which equal objects happen to be one object."""
    import dataclasses

    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    elif dataclasses.is_dataclass(value):
        digest.update(f"<{type(value).__module__}.{type(value).__qualname__}".encode())
        for item in dataclasses.fields(value):
            digest.update(item.name.encode() + b"=")
            _canonical(getattr(value, item.name), digest)
        digest.update(b">")
    elif isinstance(value, (list, tuple)):
        digest.update(b"[")
        for item in value:
            _canonical(item, digest)
        digest.update(b"]")
    elif isinstance(value, dict):
        digest.update(b"{")
        for key in sorted(value, key=repr):
            _canonical(key, digest)
            _canonical(value[key], digest)
        digest.update(b"}")
    elif hasattr(value, "tobytes") and hasattr(value, "dtype"):  # a numpy array or scalar
        digest.update(f"ndarray:{value.dtype.str}:{getattr(value, 'shape', ())};".encode() + value.tobytes())
    else:
        raise TypeError(f"a drawing's input of type {type(value).__name__} has no canonical form")


def _code_of(item) -> bytes:
    return Path(item.__file__).read_bytes() if hasattr(item, "__file__") else str(item).encode()


def materialize(attachment) -> Attachment:
    """Return an attachment with its bytes: a Drawn one is drawn (or taken from the build's store,
    where the drawing is kept by its key for the markets and builds that show the same figure)."""
    if not isinstance(attachment, Drawn):
        return attachment
    from . import stopwatch
    from .cache import store

    found = store().get("figure", attachment.key)
    kept = unpack(attachment.name, found) if found is not None else None
    if isinstance(kept, Attachment):  # else not a drawing's bytes (an entry of another kind): drawn again
        return kept
    started, cpu = time.perf_counter(), stopwatch.cpu_seconds()
    made = Attachment(attachment.name, tuple(attachment.draw(*attachment.args)))
    stopwatch.current().add("draw figures", time.perf_counter() - started, 1, stopwatch.cpu_seconds() - cpu)
    store().put("figure", attachment.key, pack(made))
    return made


def figure_markdown(name: str, alt: str, caption: str) -> Markdown:
    """Return the Markdown of a figure: the image (with alt text) and its numbered caption below it."""
    return Markdown(f":::: {{.{FIGURE_CLASS}}}\n![{escape_md(alt)}]({SCHEME}{name}){{width=100%}}\n\n"
                    f"::: {{custom-style=\"Image Caption\"}}\n{escape_md(caption)}\n:::\n::::\n")


def stored_figure(key: str) -> tuple[tuple[str, bytes], ...]:
    """The drawing of a Drawn attachment reused from the cache (unpack): its figure is in the build's
    store, where materialize finds it before it would call this."""
    raise RuntimeError(f"the figure {key[:12]}… is no longer in the build's cache folder (.cache/figure); build again")


RECIPE = b"dossiergen-drawn-2\n"  # + the drawing's key: a stored Drawn attachment is a reference, never code


def pack(attachment: Attachment | Drawn) -> bytes:
    """Return an attachment's variants as bytes (for the caches; unpack reads them back); a Drawn
    attachment as a reference to its drawing (its key) only.

    Nothing read back from the cache folder is ever code or a pickle: the folder lies in the output
    folder, which a CI cache or a shared drive may bring from elsewhere, and a pickle there would run
    whatever it names on the next build (the first version stored the drawing function and its
    inputs pickled)."""
    if isinstance(attachment, Drawn):
        return RECIPE + attachment.key.encode("ascii")
    return b"".join(fmt.encode().ljust(8) + len(data).to_bytes(8, "big") + data for fmt, data in attachment.files)


def unpack(name: str, data: bytes) -> Attachment | Drawn | None:
    """Return the attachment packed in data, or None when it cannot be had: a drawing referred to that this
    process did not make and that is not drawn in the build's store (the caller then renders its document
    again, which makes it anew), an entry of an older format, or bytes that are not a packed attachment."""
    if data.startswith(RECIPE):
        key = data[len(RECIPE):].decode("ascii", "replace")
        made = _MADE.get(key)
        if made is not None:
            return made if made.name == name else Drawn(name, made.draw, made.args, made.key)
        from .cache import store

        figure = store().get("figure", key) if re.fullmatch("[0-9a-f]{64}", key) else None
        if figure is None or not isinstance(unpack(name, figure), Attachment):
            return None
        # drawn already: the same Drawn (same digest, so its document keeps its key), taken from the store
        return Drawn(name, stored_figure, (key,), key)
    files, at = [], 0
    while at < len(data):
        if at + 16 > len(data):
            return None
        fmt, size = data[at:at + 8].decode("ascii", "replace").strip(), int.from_bytes(data[at + 8:at + 16], "big")
        if fmt not in FORMATS or at + 16 + size > len(data):
            return None  # not a packed attachment (the first format's pickled recipe among them)
        files.append((fmt, data[at + 16:at + 16 + size]))
        at += 16 + size
    return Attachment(name, tuple(files)) if files else None
