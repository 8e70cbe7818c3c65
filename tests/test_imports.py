"""The package's modules import each other without a cycle, counting imports inside functions
(a lazy import hides a cycle from Python but not from a reader: render -> regional -> render was one)."""

from __future__ import annotations

import ast
from pathlib import Path

import dossiergen

PACKAGE = Path(dossiergen.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = ("dossiergen",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Return the package modules a module imports anywhere in its body (top level or lazily)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):  # not its own package
                found.add(target)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_in_the_package():
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    assert graph["dossiergen.render"] and "dossiergen.labels" in graph["dossiergen.render"]  # the walk sees imports
    assert _cycles(graph) == []


def test_the_walk_finds_a_lazy_cycle(tmp_path):
    """The checker itself: a cycle closed by an import inside a function is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": set()}
    assert _cycles(graph) == []
    source = tmp_path / "c.py"
    source.write_text("def f():\n    from .a import x\n", "utf-8")
    graph["c"] = {t.rpartition(".")[2] for t in _imports("pkg.c", source, {"pkg.a", "pkg.b", "pkg.c"})}
    assert graph["c"] == {"a"} and _cycles(graph) == [["a", "b", "c"]]


def test_a_build_with_nothing_to_do_does_not_load_the_pipeline():
    """`dossiergen build` on an up-to-date output answers in a fraction of a second (issue 19): importing
    the build stage loads neither rendering, packaging, the writers (pandoc, typst, python-docx, pikepdf)
    nor the statistics; they are imported where a build that has work uses them."""
    import subprocess
    import sys

    code = ("import sys, dossiergen.build, dossiergen.cli; "
            "print(sorted(m for m in sys.modules if m in ('dossiergen.render', 'dossiergen.package', 'dossiergen.write', "
            "'dossiergen.stats', 'dossiergen.lifecycle', 'pikepdf', 'docx', 'typst', 'jinja2', 'numpy')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
