"""The package's shape: no import loops, every module importable on its own, each layer imports only those below it.

The import graph is read statically (``ast``) from ``src/scconcepts``. An edge ``a -> b`` means that executing
module ``a`` executes ``b``: ``import scconcepts.x.y`` and ``from scconcepts.x.y import z`` in ``a`` give an edge to
``scconcepts.x.y``, to every package above it that is not already above ``a`` (importing a submodule runs its
packages' ``__init__``), and to ``scconcepts.x.y.z`` when ``z`` is a module.

Every import counts: at module level, inside functions and under ``if TYPE_CHECKING:``. Only the module-level ones
can leave a module half-initialised in Python, but an import moved into a function or behind ``TYPE_CHECKING`` hides a
loop without removing it: the two modules still need each other, and neither can be read, tested or moved alone.
So a loop is broken by moving the shared piece to the module it belongs to, which this test sees.

- the loop test fails naming each loop (edges in :data:`KNOWN_LOOP_EDGES` aside, each with its reason);
- the layer test fails on an import of a package from a higher layer in :data:`LAYERS` (a package may import its own
  layer, those below and the shared top-level ``scconcepts._*`` modules), :data:`LAYER_EXCEPTIONS` aside;
- the last test imports each module with none of the package imported before it (one interpreter, the package
  dropped from ``sys.modules`` before each), so a module that works only after another was imported fails.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "scconcepts"

#: Layers, lowest first; a package may import from its own layer and the layers below it. ``_``-modules at the top
#: level (``scconcepts._errors``, ...) are below every layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("stats", "distributed"),
    ("ds", "results"),
    ("models",),
    ("sae",),
    ("attribution",),
    ("genesets",),
    ("evaluation", "steering"),
    ("tl",),
    ("pl",),
    ("app",),
    ("report",),
    ("cli",),
)

#: ``(importer, imported)`` packages allowed against the layer order, each with the reason.
LAYER_EXCEPTIONS: dict[tuple[str, str], str] = {}

#: Import edges left out of the loop test, each with the reason: delete an entry once its loop is gone.
KNOWN_LOOP_EDGES: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    """One import statement's target in one module."""

    target: str
    names: tuple[str, ...]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _imports(node: ast.AST, module: str, is_package: bool) -> list[Import]:
    found: list[Import] = []
    for child in ast.walk(node):
        if isinstance(child, ast.Import):
            found += [Import(alias.name, ()) for alias in child.names]
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (child.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append(Import(base, tuple(alias.name for alias in child.names)))
    return found


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """Module -> the package's modules it imports, wherever the import statement is."""
    graph: dict[str, frozenset[str]] = {}
    for name, path in modules().items():
        tree = ast.parse(path.read_text(), filename=str(path))
        own = {*_ancestors(name), name}
        edges: set[str] = set()
        for imp in _imports(tree, name, path.name == "__init__.py"):
            if imp.target != PACKAGE and not imp.target.startswith(PACKAGE + "."):
                continue
            targets = [*_ancestors(imp.target), imp.target]
            submodules = [f"{imp.target}.{n}" for n in imp.names if f"{imp.target}.{n}" in modules()]
            # a name taken from one's own package's __init__ (not a submodule) needs that __init__ to have run
            plain_names = len(submodules) < len(imp.names)
            edges |= {t for t in targets if t not in own or (t == imp.target and plain_names and t != name)}
            edges |= set(submodules)
        graph[name] = frozenset(e for e in edges if e in modules() and e != name)
    return graph


def find_cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Closed paths covering every module that is on a loop (Tarjan's components, then shortest cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for component in components:
        left = set(component)
        while left:
            cycle = _cycle_through(graph, set(component), min(left))
            left -= set(cycle)
            cycles.append(cycle)
    return cycles


def _cycle_through(graph: dict[str, frozenset[str]], component: set[str], start: str) -> list[str]:
    """The shortest closed path from ``start`` back to it inside its strongly connected component."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is on no cycle")


def _layer_of(module: str) -> tuple[str, int] | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1].startswith("_"):
        return None
    for rank, layer in enumerate(LAYERS):
        if parts[1] in layer:
            return parts[1], rank
    raise AssertionError(f"package {parts[1]} has no layer in LAYERS")


def layer_violations(graph: dict[str, frozenset[str]]) -> list[str]:
    """``importer -> imported`` for every import of a package from a higher layer, exceptions aside."""
    found = []
    for importer, targets in sorted(graph.items()):
        mine = _layer_of(importer)
        for target in sorted(targets):
            theirs = _layer_of(target)
            if mine is None or theirs is None or theirs[0] == mine[0]:
                continue
            if theirs[1] > mine[1] and (mine[0], theirs[0]) not in LAYER_EXCEPTIONS:
                found.append(f"{importer} -> {target}")
    return found


def test_finds_a_planted_cycle():
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": frozenset({"b"}), "b": frozenset()}) == []


def test_reads_relative_imports_and_those_in_functions_and_type_checking():
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from scconcepts.tl import x\n"
        "from . import _b\ndef f():\n    import scconcepts.pl\n"
    )
    found = _imports(ast.parse(source), "scconcepts.app._a", is_package=False)
    assert set(found) == {
        Import("typing", ("TYPE_CHECKING",)),
        Import("scconcepts.tl", ("x",)),
        Import("scconcepts.app", ("_b",)),
        Import("scconcepts.pl", ()),
    }


def test_no_import_loops():
    graph = {m: frozenset(t for t in ts if (m, t) not in KNOWN_LOOP_EDGES) for m, ts in import_graph().items()}
    cycles = find_cycles(graph)
    assert not cycles, "import loops:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_layers_import_downwards():
    violations = layer_violations(import_graph())
    assert not violations, "imports against the layer order (ARCHITECTURE.md):\n" + "\n".join(violations)


#: Run in one fresh interpreter with ``package module...``: before each module, every module of ``package`` is dropped
#: from ``sys.modules``, so the module is imported with none of the package imported before it. Third-party packages
#: (torch, anndata, ...) stay cached: the test is about the order in which our own modules import each other, and a
#: fresh interpreter per module (torch imported 180 times) takes half an hour.
_IMPORT_ALONE = """
import contextlib, importlib, io, sys
package, names = sys.argv[1], sys.argv[2:]
failed = []
for name in names:
    for cached in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[cached]
    sys.argv = [package, "--help"]  # a __main__ module runs the command line: let it print its help and exit 0
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            importlib.import_module(name)
    except SystemExit as err:
        if not name.endswith(".__main__") or err.code:
            failed.append(f"{name}: SystemExit({err.code})")
    except BaseException as err:
        failed.append(f"{name}: {type(err).__name__}: {err}".splitlines()[0])
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def modules_failing_alone(src: Path, package: str, names: list[str]) -> list[str]:
    """``module: error`` for each of ``names`` that fails to import with none of ``package`` imported before it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALONE, package, *names], capture_output=True, text=True, env=env
    )
    if run.returncode and not run.stdout.strip():
        raise AssertionError(f"the import check itself failed:\n{run.stderr[-2000:]}")
    return run.stdout.split("\n")[:-1] if run.returncode else []


def test_import_alone_catches_a_module_that_needs_another_imported_first(tmp_path):
    (tmp_path / "planted").mkdir()
    (tmp_path / "planted" / "__init__.py").write_text("")
    (tmp_path / "planted" / "a.py").write_text("X = 1\n")
    (tmp_path / "planted" / "b.py").write_text("import planted\n\nY = planted.a.X\n")  # works only after planted.a
    names = ["planted", "planted.a", "planted.b"]
    assert modules_failing_alone(tmp_path, "planted", names) == [
        "planted.b: AttributeError: module 'planted' has no attribute 'a'"
    ]
    (tmp_path / "planted" / "b.py").write_text("import planted.a\n\nY = planted.a.X\n")
    assert modules_failing_alone(tmp_path, "planted", names) == []


def test_every_module_imports_alone():
    """Each module with none of the package imported before it: one that works only after another was imported fails."""
    failed = modules_failing_alone(SRC, PACKAGE, sorted(modules()))
    assert not failed, "modules that fail to import on their own:\n" + "\n".join(failed)
